"""Threads started while a kernel is bound act in it, as threads of the bound process."""
import threading
import time

import pytest

import ipcsim
from ipcsim.compat import bind, current_process, posix_ipc, sysv_ipc

JOIN = 30          # seconds: a thread still alive after this is a hang, reported as such


@pytest.fixture(params=["greenlet", "threads"])
def kernel(request):
    k = ipcsim.Kernel(seed=0, executor=request.param)
    with bind(k.init):
        yield k
    k.close()


def start(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def join(t):
    t.join(JOIN)
    assert not t.is_alive(), "the thread is still waiting"


def test_a_thread_acts_as_the_bound_process(kernel):
    seen = []
    join(start(lambda: seen.append((current_process(), sysv_ipc.MessageQueue(
        None, sysv_ipc.IPC_CREX).id))))
    assert seen[0][0] is kernel.init
    rows = kernel.init.read_file("/proc/sysvipc/msg").splitlines()[1:]
    assert [int(r.split()[1]) for r in rows] == [seen[0][1]]


def test_a_consumer_thread_gets_every_message_in_order(kernel):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    got = []

    def consumer():
        while (m := q.receive()[0]) != b"stop":
            got.append(m)

    t = start(consumer)
    for i in range(200):
        q.send(b"m%d" % i)
    q.send(b"stop")
    join(t)
    assert got == [b"m%d" % i for i in range(200)]


def test_the_test_blocks_until_a_thread_sends(kernel):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    t = start(lambda: (time.sleep(0.05), q.send(b"late")))
    assert q.receive() == (b"late", 1)
    join(t)
    assert kernel.clock.now() == 0.0            # virtual time did not move


def test_a_polling_thread_times_out_while_the_test_joins_it(kernel):
    mq = posix_ipc.MessageQueue("/poll", posix_ipc.O_CREX)
    timeouts = []

    def poller():
        for _ in range(3):
            try:
                mq.receive(timeout=1)
            except posix_ipc.BusyError:
                timeouts.append(kernel.clock.now())

    join(start(poller))
    assert timeouts == [1.0, 2.0, 3.0]


def test_threads_all_blocked_with_a_timer_move_the_clock(kernel):
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
    sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED = True
    try:
        results = []

        def waiter():
            try:
                sem.acquire(timeout=5)
            except sysv_ipc.BusyError:
                results.append(kernel.clock.now())

        t = start(waiter)
        mq = posix_ipc.MessageQueue("/t", posix_ipc.O_CREX)
        with pytest.raises(posix_ipc.BusyError):
            mq.receive(timeout=10)
        join(t)
        assert results == [5.0] and kernel.clock.now() == 10.0
    finally:
        sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED = False


def test_every_thread_blocked_for_ever_is_a_deadlock_in_each(kernel):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    errors = []

    def receive():
        try:
            q.receive()
        except ipcsim.DeadlockError as e:
            errors.append(e)

    t = start(receive)
    while not kernel.sched.binding.blocked:       # the thread waits in the kernel first
        time.sleep(0.001)
    with pytest.raises(ipcsim.DeadlockError):
        q.receive()
    join(t)
    assert len(errors) == 1


def test_programs_run_when_the_test_is_in_the_kernel(kernel):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)

    def echo(p):
        data, _ = q.receive(type=1)
        q.send(data.upper(), type=2)

    child = kernel.init.fork(target=echo)
    join(start(lambda: q.send(b"hello", type=1)))
    kernel.run()
    assert q.receive(type=2) == (b"HELLO", 2)
    assert q.last_send_pid == child.pid


def test_a_thread_waits_while_the_test_runs_programs(kernel):
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)

    def producer(p):
        for i in range(5):
            p.sleep(1)
            q.send(b"%d" % i)

    kernel.init.fork(target=producer)
    got = []
    t = start(lambda: got.extend(q.receive()[0] for _ in range(5)))
    while not kernel.sched.binding.blocked:
        time.sleep(0.001)
    kernel.run()
    join(t)
    assert got == [b"0", b"1", b"2", b"3", b"4"] and kernel.clock.now() == 5.0


def test_without_threads_a_run_is_the_same_as_unbound():
    def run(bound):
        k = ipcsim.Kernel(seed=11)
        q = k.init.msgget(ipcsim.IPC_PRIVATE, 0o600)

        def worker(p, n):
            for i in range(3):
                p.msgsnd(q, 1, b"%d" % n)
                p.sleep(0.5)

        for n in range(3):
            k.init.fork(target=worker, args=(n,))
        if bound:
            with bind(k.init):
                got = [k.init.msgrcv(q, 10)[1] for _ in range(9)]
        else:
            got = [k.init.msgrcv(q, 10)[1] for _ in range(9)]
        k.close()
        return got, k.clock.now(), k.sched.switches

    assert run(True) == run(False)


def test_after_the_binding_threads_use_the_host_kernel():
    k = ipcsim.Kernel(seed=0)
    with bind(k.init):
        pass
    seen = []
    join(start(lambda: seen.append(current_process())))
    assert seen[0].kernel is not k
    k.close()


def test_ctrl_c_while_the_test_waits_for_a_thread_leaves_the_kernel_usable(kernel):
    import _thread
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    hold = threading.Event()
    t = start(lambda: (hold.wait(JOIN), q.send(b"after")))
    timer = threading.Timer(0.05, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        q.receive()                 # waits for the thread, which waits for the event
    assert not kernel.sched.binding.blocked
    hold.set()
    join(t)
    assert q.receive() == (b"after", 1)     # the message went to no one meanwhile


def test_a_thread_that_calls_while_the_test_is_inside_a_call_waits_for_it(kernel):
    """The test's calls take no lock until another thread calls: that first call waits
    until the test has left the call it is in. Here the test's receive runs a program,
    which starts the thread, lets it try for a while, then answers."""
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    seen, threads = [], []

    def program(p):
        threads.append(start(lambda: q.send(b"from the thread", type=2)))
        time.sleep(0.1)                      # the thread tries to call meanwhile
        seen.append(p.msgctl(q.id, ipcsim.IPC_STAT).msg_qnum)
        q.send(b"from the program", type=1)

    kernel.init.fork(target=program)
    assert q.receive(type=1) == (b"from the program", 1)   # runs the program
    join(threads[0])
    assert seen == [0]                       # the thread's send waited for the call's end
    assert q.receive() == (b"from the thread", 2)
