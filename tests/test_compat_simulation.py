"""Code written for the real sysv_ipc/posix_ipc packages, run unchanged in a simulation of
several processes in two IPC namespaces."""
import os
import sys
import textwrap
import types

import pytest

import ipcsim
from ipcsim.compat import bind, current_process
from ipcsim.compat import posix_ipc as fake_posix_ipc
from ipcsim.compat import sysv_ipc as fake_sysv_ipc

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")

# A small "application" written against the real packages: a squaring service over a
# System V queue (requests of type 1, replies of the client's pid as type) and a POSIX
# semaphore in /dev/shm that a container's server posts when it is ready.
APP = '''
import os
import posix_ipc
import sysv_ipc

KEY = 0x5157


def serve(requests):
    q = sysv_ipc.MessageQueue(KEY, sysv_ipc.IPC_CREAT)
    for _ in range(requests):
        data, _ = q.receive(type=1)
        client, number = data.decode().split(":")
        q.send(str(int(number) ** 2), type=int(client))
    return "served"


def ask(pid, number):
    q = sysv_ipc.MessageQueue(KEY, sysv_ipc.IPC_CREAT)
    q.send(f"{pid}:{number}", type=1)
    reply, _ = q.receive(type=pid)
    return int(reply)


def wait_for(name):
    sem = posix_ipc.Semaphore(name, posix_ipc.O_CREAT, initial_value=0)
    sem.acquire()
    sem.close()
    return "released"


def release(name):
    sem = posix_ipc.Semaphore(name, posix_ipc.O_CREAT, initial_value=0)
    sem.release()
    sem.close()
'''


@pytest.fixture
def app(monkeypatch):
    """APP imported with `import sysv_ipc` / `import posix_ipc` giving the fakes."""
    monkeypatch.setitem(sys.modules, "sysv_ipc", fake_sysv_ipc)
    monkeypatch.setitem(sys.modules, "posix_ipc", fake_posix_ipc)
    module = types.ModuleType("squaring_app")
    exec(compile(textwrap.dedent(APP), "squaring_app.py", "exec"), module.__dict__)
    return module


def simulate(app, seed):
    """Two containers, each with a server and three clients; returns what can be compared
    between runs."""
    k = ipcsim.Kernel(seed=seed, trace=True)
    results = {}
    for name in ("red", "blue"):
        box = k.init.clone(ipcsim.CLONE_NEWIPC)
        server = box.fork(target=lambda p: app.serve(3))
        clients = [box.fork(target=lambda p, n=n: app.ask(p.pid, n)) for n in (2, 3, 4)]
        results[name] = (box, server, clients)
    k.run()
    out = {}
    for name, (box, server, clients) in results.items():
        assert server.result == "served"
        out[name] = [c.result for c in clients]
        assert box.read_file("/proc/sysvipc/msg").count("\n") == 2   # header + its one queue
    trace = [(e.pid, e.name, e.errno) for e in k.trace]
    k.close()
    return out, trace


def test_the_same_code_runs_as_many_processes_in_two_namespaces(app):
    out, trace = simulate(app, seed=1)
    assert out == {"red": [4, 9, 16], "blue": [4, 9, 16]}
    names = {name for _, name, _ in trace}
    assert {"msgget", "msgsnd", "msgrcv"} <= names        # the fakes made system calls


def test_the_simulation_is_deterministic(app):
    assert simulate(app, seed=7) == simulate(app, seed=7)
    orders = {tuple(simulate(app, seed)[1]) for seed in range(4)}
    assert len(orders) > 1                                  # other seeds, other interleavings


def test_each_namespace_has_its_own_queue_for_the_key(app):
    k = ipcsim.Kernel(seed=0)
    a = k.init.clone(ipcsim.CLONE_NEWIPC)
    b = k.init.clone(ipcsim.CLONE_NEWIPC)
    with bind(a):
        qa = fake_sysv_ipc.MessageQueue(app.KEY, fake_sysv_ipc.IPC_CREX)
        qa.send(b"only in a")
        assert current_process() is a
    with bind(b):
        with pytest.raises(fake_sysv_ipc.ExistentialError,
                           match="No queue exists with the specified key"):
            fake_sysv_ipc.MessageQueue(app.KEY)
        qb = fake_sysv_ipc.MessageQueue(app.KEY, fake_sysv_ipc.IPC_CREX)
        assert qb.current_messages == 0
    with bind(a):
        assert qa.receive() == (b"only in a", 1)
        assert qa.last_send_pid == a.pid
    k.close()


def test_posix_semaphores_are_shared_across_namespaces_but_queues_are_not(app):
    k = ipcsim.Kernel(seed=3)
    red = k.init.clone(ipcsim.CLONE_NEWIPC)
    blue = k.init.clone(ipcsim.CLONE_NEWIPC)
    waiter = red.fork(target=lambda p: app.wait_for("/ready"))
    k.run_until_idle()
    assert waiter.alive                                     # blocked in sem_wait
    blue.fork(target=lambda p: app.release("/ready"))
    k.run()
    assert waiter.result == "released"
    with bind(red):
        mq = fake_posix_ipc.MessageQueue("/jobs", fake_posix_ipc.O_CREX)
    with bind(blue):
        with pytest.raises(fake_posix_ipc.ExistentialError,
                           match="No queue exists with the specified name"):
            fake_posix_ipc.MessageQueue("/jobs")
        fake_posix_ipc.unlink_semaphore("/ready")          # /dev/shm: one for the kernel
    with bind(red):
        mq.close()
        mq.unlink()
    k.close()


def test_a_blocked_fake_call_with_nothing_to_wake_it_is_a_deadlock():
    k = ipcsim.Kernel(seed=0)
    with bind(k.init):
        q = fake_sysv_ipc.MessageQueue(None, fake_sysv_ipc.IPC_CREX)
        with pytest.raises(ipcsim.DeadlockError):
            q.receive()
        with pytest.raises(fake_sysv_ipc.BusyError):
            q.receive(block=False)
    k.close()


def test_timeouts_take_no_real_time_in_a_simulation():
    k = ipcsim.Kernel(seed=0)

    def waits(p):
        sem = fake_posix_ipc.Semaphore("/s", fake_posix_ipc.O_CREAT)
        with pytest.raises(fake_posix_ipc.BusyError):
            sem.acquire(3600)
        return k.clock.now()

    p = k.init.fork(target=waits)
    k.run()
    assert p.result == 3600.0
    k.close()


def test_sysv_semaphore_timeouts_when_built_with_semtimedop(monkeypatch):
    monkeypatch.setattr(fake_sysv_ipc, "SEMAPHORE_TIMEOUT_SUPPORTED", True)
    k = ipcsim.Kernel(seed=0)
    with bind(k.init):
        sem = fake_sysv_ipc.Semaphore(None, fake_sysv_ipc.IPC_CREX)
        with pytest.raises(fake_sysv_ipc.BusyError, match="The semaphore is busy"):
            sem.acquire(1.5)
        assert k.clock.now() == 1.5
        sem.remove()
    k.close()


def test_a_thread_notification_in_a_simulation_acts_as_the_registered_process():
    k = ipcsim.Kernel(seed=0)
    seen = []

    def reader(p):
        mq = fake_posix_ipc.MessageQueue("/n", fake_posix_ipc.O_CREAT)

        def notified(param):
            seen.append((param, current_process().pid, mq.current_messages))

        mq.request_notification((notified, "hello"))
        p.sleep(5)

    def writer(p):
        p.sleep(1)
        mq = fake_posix_ipc.MessageQueue("/n")
        mq.send(b"x")

    r = k.init.fork(target=reader)
    k.init.fork(target=writer)
    k.run()
    assert seen == [("hello", r.pid, 1)]
    k.close()


def test_shared_memory_between_programs_and_its_buffer():
    k = ipcsim.Kernel(seed=0)

    def writer(p):
        mem = fake_sysv_ipc.SharedMemory(77, fake_sysv_ipc.IPC_CREX, size=100)
        memoryview(mem)[:5] = b"hello"
        mem.detach()

    def reader(p):
        p.sleep(1)
        mem = fake_sysv_ipc.SharedMemory(77)
        data = mem.read(5)
        mem.detach()
        mem.remove()
        return data

    k.init.fork(target=writer)
    r = k.init.fork(target=reader)
    k.run()
    assert r.result == b"hello"
    k.close()


UNDO_REAL = '''
import os
import sysv_ipc as s
out = []
for undo in (False, True):
    sem = s.Semaphore(None, s.IPC_CREX, initial_value=2)
    pid = os.fork()
    if pid == 0:
        sem.undo = undo
        sem.acquire(delta=2)
        sem.release()
        os._exit(0)
    os.waitpid(pid, 0)
    out.append((undo, sem.value))
    sem.remove()
print(out)
'''


def test_undo_is_applied_when_a_program_exits_as_when_a_real_child_exits():
    out = []
    with ipcsim.Kernel(seed=0) as k, bind(k.init):
        for undo in (False, True):
            sem = fake_sysv_ipc.Semaphore(None, fake_sysv_ipc.IPC_CREX, initial_value=2)

            def child(p, sem=sem, undo=undo):
                sem.undo = undo
                sem.acquire(delta=2)
                sem.release()
            k.init.fork(target=child)
            k.run()
            out.append((undo, sem.value))
            sem.remove()
    assert out == [(False, 1), (True, 2)]            # the exit undoes -2 + 1
    import importlib.util
    import shutil
    import subprocess
    if (importlib.util.find_spec("sysv_ipc") and shutil.which("unshare")
            and sys.platform == "linux" and os.geteuid() == 0):
        real = subprocess.run(["unshare", "--ipc", sys.executable, "-c", UNDO_REAL],
                              capture_output=True, text=True, timeout=60, cwd="/")
        assert real.stdout.strip() == str(out), real.stderr
