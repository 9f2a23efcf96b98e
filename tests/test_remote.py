"""The kernel server's core: calls as real processes, blocking, timeouts, signals, fork,
credentials, namespaces, death and the wire itself (ipcsim.remote)."""
from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
import threading
import time

import pytest

from ipcsim import CLONE_NEWIPC
from ipcsim.compat import posix_ipc, sysv_ipc
from ipcsim.remote import ServerGone, attach, attached, detach, launch, ops
from ipcsim.remote import protocol as P

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX") or not hasattr(os, "fork"),
                                reason="the kernel server needs Unix sockets and fork")


from remote_helpers import fork_child as _fork, wait_child as _wait  # noqa: E402
from remote_helpers import server, served  # noqa: E402,F401  (fixtures)


def _until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.005)


# --- calls act as the real process ---------------------------------------------------------
def test_calls_act_as_the_real_pid(served):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    q.send(b"hello")
    assert q.last_send_pid == os.getpid()
    assert q.receive() == (b"hello", 1)
    assert q.last_receive_pid == os.getpid()
    # this process's parent is not a client: the model makes it a child of init
    procs = {p: pp for p, pp, _ in served.call(ops.processes)}
    assert procs[os.getpid()] == 1
    q.remove()


def test_proc_text_is_the_served_kernels(served):
    q = sysv_ipc.MessageQueue(4242, sysv_ipc.IPC_CREAT, mode=0o640)
    q.send(b"abc")
    text = served.call(ops.read_file, "/proc/sysvipc/msg")
    line = next(ln for ln in text.splitlines()[1:] if ln.split()[0] == "4242")
    fields = line.split()
    assert fields[1] == str(q.id) and fields[2] == "640"
    assert fields[3:6] == ["3", "1", str(os.getpid())]
    q.remove()


def test_a_forked_child_is_woken_by_the_parent(served):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    reply = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)

    def child():
        data, kind = q.receive(type=7)
        reply.send(data[::-1], type=kind)
    pid = _fork(child)
    # the child is blocked in msgrcv: Linux counts it nowhere visible; wait for its call
    time.sleep(0.2)
    q.send(b"first", type=3)            # not the type it waits for
    q.send(b"ping", type=7)
    assert reply.receive() == (b"gnip", 7)
    assert _wait(pid) == 0
    assert q.receive() == (b"first", 3)
    assert q.last_receive_pid == os.getpid()
    q.remove()
    reply.remove()


def test_a_semaphore_wait_across_processes(served):
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=0)

    def child():
        sem.acquire()
    pid = _fork(child)
    _until(lambda: sem.waiting_for_nonzero == 1)
    sem.release()
    assert _wait(pid) == 0
    assert sem.value == 0 and sem.waiting_for_nonzero == 0
    assert sem.last_pid == pid
    sem.remove()


def test_threads_of_one_process_each_have_a_connection(served):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    got = []
    t = threading.Thread(target=lambda: got.append(q.receive()))
    t.start()
    time.sleep(0.1)
    q.send(b"to the thread", type=5)
    t.join(10)
    assert got == [(b"to the thread", 5)]
    assert q.last_receive_pid == os.getpid()        # a thread of this process
    q.remove()


# --- time ----------------------------------------------------------------------------------
def test_timeouts_run_on_the_real_clock(served):
    mq = posix_ipc.MessageQueue("/remote-timeout", posix_ipc.O_CREX)
    start = time.monotonic()
    with pytest.raises(posix_ipc.BusyError):
        mq.receive(timeout=0.2)
    assert 0.19 <= time.monotonic() - start < 5
    mq.send(b"now")
    assert mq.receive(timeout=0.2) == (b"now", 0)
    mq.close()
    mq.unlink()


def test_a_zero_timeout_does_not_block(served):
    sem = posix_ipc.Semaphore("/remote-zero", posix_ipc.O_CREX, initial_value=0)
    with pytest.raises(posix_ipc.BusyError):
        sem.acquire(0)
    sem.release()
    sem.acquire(0)
    sem.unlink()
    sem.close()


# --- signals -------------------------------------------------------------------------------
class _Alarm(Exception):
    pass


def _with_alarm(handler, seconds: float):
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return old


def _end_alarm(old) -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_a_handler_that_returns_ends_a_posix_wait_with_signal_error(served):
    mq = posix_ipc.MessageQueue("/remote-eintr", posix_ipc.O_CREX)
    calls = []
    old = _with_alarm(lambda *a: calls.append(1), 0.1)
    try:
        with pytest.raises(posix_ipc.SignalError):
            mq.receive()
    finally:
        _end_alarm(old)
    assert calls == [1]
    # the wait is gone: a message sent now stays for the next receive
    mq.send(b"kept")
    assert mq.current_messages == 1
    assert mq.receive() == (b"kept", 0)
    mq.close()
    mq.unlink()


def test_a_handler_that_raises_ends_a_sysv_wait_with_its_exception(served):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)

    def handler(*_):
        raise _Alarm()
    old = _with_alarm(handler, 0.1)
    try:
        with pytest.raises(_Alarm) as info:
            q.receive()
    finally:
        _end_alarm(old)
    # as the real sysv_ipc: the call's Error first, the handler's exception after it
    assert isinstance(info.value.__context__, sysv_ipc.Error)
    q.send(b"after")
    assert q.receive() == (b"after", 1)
    q.remove()


def test_ctrl_c_ends_a_wait_and_leaves_no_waiter(served):
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=0)
    old = _with_alarm(signal.default_int_handler, 0.1)
    try:
        with pytest.raises(KeyboardInterrupt):
            sem.acquire()
    finally:
        _end_alarm(old)
    assert sem.waiting_for_nonzero == 0
    sem.release()
    assert sem.value == 1                 # nobody took it
    sem.remove()


# --- processes -----------------------------------------------------------------------------
def test_a_forked_child_is_a_child_in_the_model(served):
    r, w = os.pipe()

    def child():
        os.write(w, repr(served.call(ops.processes)).encode())
        sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX).remove()   # (a call of its own)
    sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX).remove()       # this one is known
    pid = _fork(child)
    assert _wait(pid) == 0
    os.close(w)
    seen = eval(os.read(r, 65536).decode())
    os.close(r)
    assert (pid, os.getpid()) in [(p, pp) for p, pp, _ in seen]


def test_a_dead_processs_undo_is_applied(served):
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    r, w = os.pipe()

    def child():
        sem.undo = True
        sem.acquire()
        os.write(w, b"x")
        time.sleep(60)
    pid = _fork(child)
    assert os.read(r, 1) == b"x"
    assert sem.value == 0
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    _until(lambda: sem.value == 1)
    assert pid not in [p for p, _, _ in served.call(ops.processes)]
    sem.remove()
    os.close(r)
    os.close(w)


def test_a_process_killed_while_blocked_leaves_no_waiter(served):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    pid = _fork(lambda: q.receive())
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    _until(lambda: pid not in [p for p, _, _ in served.call(ops.processes)])
    q.send(b"for whoever is alive")
    assert q.current_messages == 1       # not handed to the dead receiver
    q.remove()


def test_credentials_are_read_at_each_call(served):
    if os.geteuid() != 0:
        pytest.skip("needs root to change the effective uid")
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX, mode=0o600)

    def child():
        os.seteuid(1000)
        try:
            sysv_ipc.MessageQueue(q.key)
        except sysv_ipc.PermissionsError:
            pass
        else:
            raise AssertionError("uid 1000 opened a 0600 queue of root")
        os.seteuid(0)
        sysv_ipc.MessageQueue(q.key).send(b"root again")
    assert _wait(_fork(child)) == 0
    assert q.receive() == (b"root again", 1)
    q.remove()


def test_unshare_through_the_remote_process(served):
    from ipcsim.compat import current_process
    q = sysv_ipc.MessageQueue(0x5151, sysv_ipc.IPC_CREX)
    r, w = os.pipe()

    def child():
        me = current_process()
        me.unshare(CLONE_NEWIPC)
        try:
            sysv_ipc.MessageQueue(0x5151)
        except sysv_ipc.ExistentialError:
            pass
        else:
            raise AssertionError("the parent's queue is visible in a new namespace")
        mine = sysv_ipc.MessageQueue(0x5151, sysv_ipc.IPC_CREX)

        def grandchild():
            sysv_ipc.MessageQueue(0x5151).send(b"same namespace")
        assert _wait(_fork(grandchild)) == 0
        os.write(w, mine.receive()[0])
    assert _wait(_fork(child)) == 0
    assert os.read(r, 100) == b"same namespace"
    assert q.current_messages == 0
    q.remove()
    os.close(r)
    os.close(w)


def test_a_subprocess_child_reaches_the_parents_queue(served):
    import subprocess
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    code = ("from ipcsim.compat import sysv_ipc\n"
            f"q = sysv_ipc.MessageQueue({q.key})\n"
            "q.send(b'from a new program')\n")
    env = dict(os.environ, IPCSIM_SERVER=served.address)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert q.receive() == (b"from a new program", 1)
    assert q.last_send_pid != os.getpid()
    q.remove()


# --- the server and the wire ---------------------------------------------------------------
def test_a_stopped_server_is_named_not_waited_for():
    srv = launch.start_server()
    try:
        attach(srv.address)
        q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
        srv.stop()
        with pytest.raises(ServerGone, match=srv.address):
            q.send(b"x")
    finally:
        detach()
        srv.stop()


def test_reset_gives_a_fresh_kernel(served):
    sysv_ipc.MessageQueue(777, sysv_ipc.IPC_CREX)
    served.reset()
    with pytest.raises(sysv_ipc.ExistentialError):
        sysv_ipc.MessageQueue(777)


def test_the_server_runs_only_what_clients_may_ask(served):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(served.address)
    try:
        evil = pickle.dumps((P.OP_KCALL, os.system, ("true",)), P.PROTOCOL)
        sock.sendall(P.HEADER.pack(len(evil)) + evil)
        status, value = P.decode_reply(*P.FrameReader(sock).read())
    finally:
        sock.close()
    assert status == P.REPLY_ERROR
    assert "may not be sent" in str(value)


def test_detach_goes_back_to_the_host_kernel(served):
    q = sysv_ipc.MessageQueue(31337, sysv_ipc.IPC_CREX)
    detach()
    assert attached() is None
    with pytest.raises(sysv_ipc.ExistentialError):
        sysv_ipc.MessageQueue(31337)                  # the host kernel has no such queue
    attach(served.address)
    sysv_ipc.MessageQueue(31337).remove()
    assert q.id is not None


def test_a_handler_that_calls_the_fakes_mid_call_gets_its_own_answer(served):
    # the notification's signal may reach this process before the send's reply does: the
    # handler's receive must not read the send's reply (on Linux it runs after send returns)
    mq = posix_ipc.MessageQueue("/remote-nested", posix_ipc.O_CREX)
    got = []
    old = signal.signal(signal.SIGUSR1, lambda *a: got.append(mq.receive()))
    try:
        for i in range(20):
            mq.request_notification(signal.SIGUSR1)
            mq.send(b"n%d" % i)
            _until(lambda: len(got) == i + 1)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert got == [(b"n%d" % i, 0) for i in range(20)]
    assert mq.current_messages == 0
    mq.close()
    mq.unlink()


def test_an_exception_mid_exchange_leaves_the_next_call_in_step(served):
    # a handler that raises while the reply is still unread: the next call gets its own
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    for i in range(30):
        old = _with_alarm(lambda *a: (_ for _ in ()).throw(_Alarm()), 0.0005 * (i % 5 + 1))
        try:
            for _ in range(50):
                q.send(b"m")
                assert q.receive() == (b"m", 1)
        except _Alarm:
            pass
        finally:
            _end_alarm(old)
        while q.current_messages:
            q.receive()
        q.send(b"check %d" % i)
        assert q.receive() == (b"check %d" % i, 1)
    q.remove()


def test_a_thread_that_ends_lets_its_connection_go(served):
    import gc
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    threads = [threading.Thread(target=q.send, args=(b"t",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    del threads, t
    gc.collect()
    _until(lambda: served.call(ops.connections, os.getpid()) == 1)   # this thread's
    assert q.current_messages == 8
    q.remove()


def test_a_handler_that_calls_the_fakes_while_a_call_waits(served):
    # the handler's own call must not take the signal's byte: the waiting call ends (EINTR)
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    q2 = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    old = _with_alarm(lambda *a: q2.send(b"from the handler"), 0.2)
    try:
        with pytest.raises(sysv_ipc.Error, match="Signaled while waiting"):
            q.receive()
    finally:
        _end_alarm(old)
    assert q2.receive() == (b"from the handler", 1)
    q.remove()
    q2.remove()


def test_a_process_of_the_kernel_before_a_reset_is_refused(served):
    import subprocess
    code = ("import time\nfrom ipcsim.compat import sysv_ipc\n"
            "sysv_ipc.MessageQueue(0x66, sysv_ipc.IPC_CREAT)\n"
            "print('ready', flush=True)\ntime.sleep(1)\n"
            "try:\n    sysv_ipc.MessageQueue(0x67, sysv_ipc.IPC_CREAT)\n"
            "except Exception as e:\n    print(type(e).__name__)\n"
            "try:\n    sysv_ipc.MessageQueue(0x67, sysv_ipc.IPC_CREAT)\n"
            "except Exception as e:\n    print(type(e).__name__, 'reset' in str(e))\n")
    env = dict(os.environ, IPCSIM_SERVER=served.address)
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline() == "ready\n"
    served.reset()                       # (as the fixture does between two tests)
    out, _ = child.communicate(timeout=60)
    assert out.splitlines() == ["ServerGone", "SimulationError True"]
    with pytest.raises(sysv_ipc.ExistentialError):
        sysv_ipc.MessageQueue(0x67)      # nothing of it reached the fresh kernel


def test_exec_after_fork_drops_what_the_old_image_had(served):
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096)
    code = ("from ipcsim.compat import sysv_ipc\n"
            f"m = sysv_ipc.SharedMemory({mem.key})\n"
            "print(m.number_attached)\n")
    env = dict(os.environ, IPCSIM_SERVER=served.address)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.execve(sys.executable, [sys.executable, "-c", code], env)
    os.close(w)
    _wait(pid)
    with os.fdopen(r) as f:
        # this process's attachment and the new program's: the one inherited at fork went
        # with the exec (Linux: 2)
        assert f.read().split() == ["2"]
    mem.detach()
    mem.remove()


def test_a_child_that_gives_up_root_for_good_still_reaches_the_server(served):
    if os.geteuid() != 0:
        pytest.skip("needs root to change uids")
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX, mode=0o666)

    def child():
        os.setgid(1000)
        os.setuid(1000)
        sysv_ipc.MessageQueue(q.key).send(b"as uid 1000")
    assert _wait(_fork(child)) == 0
    assert q.receive() == (b"as uid 1000", 1)
    q.remove()
