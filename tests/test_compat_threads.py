"""The fakes outside a simulation: the host kernel, real time, several real threads."""
import os
import sys
import threading
import time

import pytest

import ipcsim

from ipcsim.compat import current_process, host_kernel
from ipcsim.compat import posix_ipc
from ipcsim.compat import sysv_ipc


def run_threads(*targets):
    threads = [threading.Thread(target=fn, args=args) for fn, args in targets]
    for t in threads:
        t.start()
    return threads


def test_eight_threads_send_and_receive_100000_messages_none_lost_or_duplicated():
    messages, senders, receivers = 100_000, 4, 4
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    got = [[] for _ in range(receivers)]
    errors = []

    def send(i):
        try:
            for j in range(messages // senders):
                q.send(f"{i}:{j}")
        except BaseException as e:          # pragma: no cover - reported below
            errors.append(e)

    def receive(i):
        try:
            while True:
                data, mtype = q.receive()
                if mtype == 2:
                    return
                got[i].append(data)
        except BaseException as e:          # pragma: no cover - reported below
            errors.append(e)

    try:
        sending = run_threads(*[(send, (i,)) for i in range(senders)])
        receiving = run_threads(*[(receive, (i,)) for i in range(receivers)])
        for t in sending:
            t.join(120)
        for _ in receiving:
            q.send(b"stop", type=2)        # queued after every data message: FIFO
        for t in receiving:
            t.join(120)
        assert not errors
        assert not any(t.is_alive() for t in sending + receiving)
        received = [m for part in got for m in part]
        assert len(received) == messages
        assert set(received) == {f"{i}:{j}".encode() for i in range(senders)
                                 for j in range(messages // senders)}
        for part in got:                    # one queue: each sender's messages stay in order
            last = {}
            for m in part:
                i, j = map(int, m.split(b":"))
                assert j > last.get(i, -1)
                last[i] = j
        assert q.current_messages == 0
    finally:
        q.remove()


def test_threads_share_a_semaphore_as_a_mutex():
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=8)
    mem.write(b"0".rjust(8))

    def work():
        for _ in range(300):
            with sem:
                value = int(mem.read(8))
                mem.write(str(value + 1).rjust(8))

    try:
        for t in run_threads(*[(work, ()) for _ in range(8)]):
            t.join(60)
        assert int(mem.read(8)) == 2400
        assert sem.value == 1
    finally:
        mem.detach()
        mem.remove()
        sem.remove()


def test_a_blocked_receive_is_woken_by_another_thread():
    mq = posix_ipc.MessageQueue(None, posix_ipc.O_CREX, max_messages=2, max_message_size=16)
    out = []
    try:
        t = run_threads((lambda: out.append(mq.receive()), ()))[0]
        time.sleep(0.05)
        assert not out
        mq.send(b"wake up", priority=3)
        t.join(10)
        assert out == [(b"wake up", 3)]
    finally:
        mq.close()
        mq.unlink()


def test_timeouts_follow_the_real_clock():
    sem = posix_ipc.Semaphore(None, posix_ipc.O_CREX)
    try:
        start = time.monotonic()
        with pytest.raises(posix_ipc.BusyError, match="Semaphore is busy"):
            sem.acquire(0.2)
        assert 0.19 <= time.monotonic() - start < 2
        released = run_threads((lambda: (time.sleep(0.05), sem.release()), ()))[0]
        sem.acquire(10)                     # woken by the other thread, long before 10 s
        released.join()
    finally:
        sem.unlink()
        sem.close()


def test_the_host_process_mirrors_this_process():
    proc = current_process()
    assert proc is host_kernel().host_process
    assert proc.pid == os.getpid()
    assert (proc.uid, proc.euid, proc.gid, proc.egid) == (os.getuid(), os.geteuid(),
                                                         os.getgid(), os.getegid())
    if os.path.exists("/proc/self/status"):            # and its capabilities, as Linux shows
        with open("/proc/self/status") as f:
            status = dict(line.split(":\t") for line in f.read().splitlines() if ":\t" in line)
        assert proc.creds.cap_effective == int(status["CapEff"], 16) & ipcsim.CAP_FULL_SET
        assert proc.creds.cap_permitted == int(status["CapPrm"], 16) & ipcsim.CAP_FULL_SET
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    try:
        before = int(time.time())
        q.send(b"x")
        assert q.last_send_pid == os.getpid()
        assert before <= q.last_send_time <= time.time() + 1
        assert q.cuid == os.geteuid()
    finally:
        q.remove()


def test_a_thread_notification_runs_in_a_real_thread():
    mq = posix_ipc.MessageQueue(None, posix_ipc.O_CREX)
    seen = []
    done = threading.Event()

    def notified(param):
        seen.append((param, threading.current_thread() is not threading.main_thread()))
        done.set()

    try:
        mq.request_notification((notified, "param"))
        mq.send(b"first")
        assert done.wait(10)
        assert seen == [("param", True)]
    finally:
        mq.close()
        mq.unlink()


def test_an_exception_from_a_signal_handler_leaves_no_waiter_behind():
    import signal

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted

    old = signal.signal(signal.SIGUSR1, handler)
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    try:
        kicker = run_threads((lambda: (time.sleep(0.1), os.kill(os.getpid(),
                                                                signal.SIGUSR1)), ()))[0]
        with pytest.raises(Interrupted):
            q.receive()                     # blocked in the main thread, then interrupted
        kicker.join()
        q.send(b"kept")                     # not handed to the abandoned wait
        assert q.receive(block=False) == (b"kept", 1)
    finally:
        signal.signal(signal.SIGUSR1, old)
        q.remove()


def test_the_host_kernel_runs_no_programs():
    before = threading.active_count()
    with pytest.raises(ipcsim.SimulationError, match="runs no programs"):
        host_kernel().init.fork(target=lambda p: None)
    assert threading.active_count() == before       # and starts no thread for one


@pytest.mark.parametrize("module", ["sysv", "posix"])
def test_two_threads_ping_pong_semaphores_10000_times(module):
    rounds = 10_000
    if module == "sysv":
        ping, pong = (sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX) for _ in range(2))
    else:
        ping, pong = (posix_ipc.Semaphore(None, posix_ipc.O_CREX) for _ in range(2))
    turns, errors = [], []

    def player(mine, theirs, name):
        try:
            for _ in range(rounds):
                mine.acquire()
                turns.append(name)
                theirs.release()
        except BaseException as e:          # pragma: no cover - reported below
            errors.append(e)

    try:
        threads = run_threads((player, (ping, pong, "a")), (player, (pong, ping, "b")))
        ping.release()                      # a plays first
        for t in threads:
            t.join(120)
        assert not errors and not any(t.is_alive() for t in threads)
        assert turns == ["a", "b"] * rounds  # strictly alternating: nothing lost or doubled
        assert (ping.value, pong.value) == (1, 0)
    finally:
        for sem in (ping, pong):
            if module == "sysv":
                sem.remove()
            else:
                sem.unlink()
                sem.close()


def test_blocked_calls_of_every_kind_are_woken_by_other_threads():
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX, max_message_size=8)
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    psem = posix_ipc.Semaphore(None, posix_ipc.O_CREX)
    out = []
    try:
        q.max_size = 8                      # one 8-byte message fills the queue
        q.send(b"12345678")
        waiters = run_threads(
            (lambda: out.append(("typed", q.receive(type=7))), ()),
            (lambda: out.append(("send", q.send(b"abcdefgh"))), ()),
            (lambda: out.append(("Z", sem.Z())), ()),
            (lambda: out.append(("posix", psem.acquire())), ()))
        time.sleep(0.1)
        assert out == []                    # all four wait
        assert (sem.waiting_for_zero, q.current_messages) == (1, 1)
        assert q.receive() == (b"12345678", 1)  # room: the blocked send goes through
        sem.acquire()                       # zero: Z returns
        psem.release()
        q.send(b"seven", type=7)
        for t in waiters:
            t.join(10)
        assert sorted(out) == [("Z", None), ("posix", None), ("send", None),
                               ("typed", (b"seven", 7))]
        assert q.receive(block=False) == (b"abcdefgh", 1)
    finally:
        q.remove()
        sem.remove()
        psem.unlink()
        psem.close()


def test_timeouts_of_message_queues_expire_in_real_time():
    mq = posix_ipc.MessageQueue(None, posix_ipc.O_CREX, max_messages=1)
    try:
        for call in (lambda: mq.receive(0.2), lambda: (mq.send(b"full"), mq.send(b"x", 0.2))):
            start = time.monotonic()
            with pytest.raises(posix_ipc.BusyError):
                call()
            assert 0.19 <= time.monotonic() - start < 2
    finally:
        mq.close()
        mq.unlink()


FORK_SCRIPT = r"""
import gc, os, sys, threading, time
sys.path.insert(0, ROOT)
from ipcsim.compat import current_process, posix_ipc, sysv_ipc

q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
mem = posix_ipc.SharedMemory(None, posix_ipc.O_CREX, size=16)
q.send(b"parent's")
got = []
blocked = threading.Thread(target=lambda: got.append(q.receive(type=9)))
blocked.start()                     # blocked in a call when the fork happens
time.sleep(0.05)
pid = os.fork()
if pid == 0:
    gc.collect()                    # the child drops its copy of the parent's kernel
    child_q = sysv_ipc.MessageQueue(q.key, sysv_ipc.IPC_CREX)      # not the parent's
    child_q.send(b"child's")
    assert current_process().pid == os.getpid()
    assert child_q.receive() == (b"child's", 1) and child_q.current_messages == 0
    sys.exit(0)                     # a normal exit: finalizers run
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
assert q.current_messages == 1 and q.receive() == (b"parent's", 1)
again = posix_ipc.SharedMemory(mem.name)            # its file survived the child
assert again.size == 16
q.send(b"nine", type=9)
blocked.join(10)
assert got == [(b"nine", 9)]
q.remove()
mem.unlink()
print("ok")
"""


def test_a_forked_child_has_its_own_host_kernel_and_leaves_the_parents_alone():
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", f"ROOT = {root!r}\n" + FORK_SCRIPT],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"

