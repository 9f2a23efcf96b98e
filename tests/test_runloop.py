"""The run loop: stopping at a time or after some steps, Ctrl-C, close() that never hangs,
kernels dropped without close(), and Kernel's argument checks; on both executors."""
import _thread
import errno
import gc
import re
import signal
import sys
import threading
import time
import warnings
import weakref

import pytest

import ipcsim
from ipcsim import IPC_PRIVATE

EXECUTORS = ["greenlet", "threads"]


@pytest.fixture(params=EXECUTORS)
def executor(request):
    return request.param


def sleepers(k, times):
    woke = []
    for t in times:
        k.init.fork(target=lambda p, t=t: (p.sleep(t), woke.append((t, k.clock.now()))))
    return woke


# --- run(until=...) ------------------------------------------------------------------------
def test_run_until_stops_at_that_virtual_time_and_goes_on(executor):
    k = ipcsim.Kernel(executor=executor)
    woke = sleepers(k, [1, 5, 3, 10])
    k.run(until=4)
    assert k.clock.now() == 4.0
    assert woke == [(1, 1.0), (3, 3.0)]
    k.run(until=4)                        # the same time again: nothing more is due
    assert woke == [(1, 1.0), (3, 3.0)]
    k.run()
    assert woke == [(1, 1.0), (3, 3.0), (5, 5.0), (10, 10.0)]
    assert k.clock.now() == 10.0


def test_run_until_moves_the_clock_even_when_every_program_has_ended(executor):
    k = ipcsim.Kernel(executor=executor)
    sleepers(k, [1])
    k.run(until=30.5)
    assert k.clock.now() == 30.5 and k.processes() == [k.init]


def test_run_until_with_programs_blocked_for_good_is_no_deadlock(executor):
    k = ipcsim.Kernel(executor=executor)
    p = k.init.fork(target=lambda p: p.pause())
    k.run(until=100)
    assert k.clock.now() == 100 and p.alive
    with pytest.raises(ipcsim.DeadlockError):
        k.run()
    k.close()


def test_run_until_checks_its_argument():
    k = ipcsim.Kernel()
    k.clock.advance(5)
    with pytest.raises(ValueError):
        k.run(until=4)
    with pytest.raises(TypeError):
        k.run(until="6")
    with pytest.raises(OverflowError):
        k.run(until=2 ** 64)
    with pytest.raises(OverflowError):
        k.run(until=300 * 365 * 86400)            # past KTIME_MAX
    with pytest.raises(ValueError):
        k.run(until=float("nan"))
    assert k.clock.now() == 5


# --- run(max_steps=...) ------------------------------------------------------------------
def chatter(p, n):
    for _ in range(n):
        p.getresuid()
    return p.pid


def ring(k, n):
    q = k.init.msgget(IPC_PRIVATE, 0o600)

    def hop(p, i):
        for _ in range(3):
            p.msgrcv(q, 8, i)
            p.msgsnd(q, i % n + 1, b"t")

    procs = [k.init.fork(target=hop, args=(i,)) for i in range(1, n + 1)]
    k.init.msgsnd(q, 1, b"t")
    return procs


def trace_of(k):
    """The trace, with the addresses in reprs of functions left out."""
    return [(e.time, e.pid, e.name, re.sub(" at 0x[0-9a-f]+", "", repr(e.args)), e.result,
             e.errno) for e in k.trace]


@pytest.mark.parametrize("policy", ["random", "fifo"])
def test_stepping_with_max_steps_gives_the_same_run_as_one_run(executor, policy):
    whole = ipcsim.Kernel(seed=11, trace=True, executor=executor, policy=policy)
    ring(whole, 4)
    for _ in range(3):
        whole.init.fork(target=chatter, args=(6,))
    whole.run()
    stepped = ipcsim.Kernel(seed=11, trace=True, executor=executor, policy=policy)
    ring(stepped, 4)
    for _ in range(3):
        stepped.init.fork(target=chatter, args=(6,))
    runs = 0
    while any(p.alive for p in stepped.processes() if p.pid != 1):
        stepped.run(max_steps=3)
        runs += 1
        assert runs < 1000
    assert runs > 10
    assert trace_of(stepped) == trace_of(whole)
    assert stepped.sched.steps == whole.sched.steps


def test_max_steps_counts_switch_points(executor):
    k = ipcsim.Kernel(seed=3, trace=True, executor=executor)
    k.init.fork(target=chatter, args=(10,))
    k.run(max_steps=4)
    # the program's first four calls are its switch points; it is parked at the fourth,
    # whose call has not been made yet
    assert [e.name for e in k.trace] == ["fork"] + ["getresuid"] * 3
    assert k.sched.steps == 4
    k.run(max_steps=0)
    assert len(k.trace) == 4
    k.run()
    assert [e.name for e in k.trace].count("getresuid") == 10


def test_max_steps_checks_its_argument():
    k = ipcsim.Kernel()
    with pytest.raises(ValueError):
        k.run(max_steps=-1)
    with pytest.raises(TypeError):
        k.run(max_steps=2.5)
    with pytest.raises(TypeError):
        k.run(max_steps=True)


def test_a_program_stopped_while_parked_at_max_steps_waits_for_sigcont(executor):
    k = ipcsim.Kernel(seed=1, executor=executor)
    p = k.init.fork(target=chatter, args=(5,))
    k.run(max_steps=2)
    k.init.kill(p.pid, signal.SIGSTOP)
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert "stopped by a signal" in str(e.value)
    k.init.kill(p.pid, signal.SIGCONT)
    k.run()
    assert p.result == p.pid


# --- Ctrl-C --------------------------------------------------------------------------------
ROUNDS = 20_000


def busy_world(k, fire=None, at=500):
    """Two programs taking turns on a semaphore set for a long while, counting turns; at
    turn ``at`` the first calls ``fire()`` (which sets off a Ctrl-C: a timer, a signal),
    so that the run is well under way and far from its end when it comes."""
    sem = k.init.semget(IPC_PRIVATE, 2, 0o600)
    count = [0]

    def a(p):
        for _ in range(ROUNDS):
            p.semop(sem, [(0, -1, 0)])
            count[0] += 1
            if count[0] == at and fire is not None:
                fire()
            p.semop(sem, [(1, 1, 0)])

    def b(p):
        for _ in range(ROUNDS):
            p.semop(sem, [(0, 1, 0)])
            p.semop(sem, [(1, -1, 0)])

    procs = [k.init.fork(target=a), k.init.fork(target=b)]
    return sem, count, procs


def assert_parked(k):
    """Nothing runs: the host holds the CPU, every program is parked somewhere."""
    sched = k.sched
    assert sched.current is sched.host
    states = {t.state for t in sched.programs.values()}
    assert "running" not in states
    if executor_of(k) == "threads":
        # no program thread runs simulation code behind the caller
        before = (sched.switches, sched.steps)
        time.sleep(0.05)
        assert (sched.switches, sched.steps) == before


def executor_of(k):
    return k.executor


def interrupt_soon():
    """Ctrl-C a millisecond from now, from another thread (as a terminal's would come)."""
    threading.Timer(0.001, _thread.interrupt_main).start()


@pytest.mark.parametrize("how", ["signal handler", "timer", "interrupt_main"])
def test_ctrl_c_during_run_leaves_the_kernel_consistent_and_resumable(executor, how):
    k = ipcsim.Kernel(seed=2, executor=executor)
    old = None
    if how == "signal handler":
        def handler(signum, frame):
            raise KeyboardInterrupt
        old = signal.signal(signal.SIGALRM, handler)
        fire = lambda: signal.setitimer(signal.ITIMER_REAL, 0.001)  # noqa: E731
    else:
        fire = interrupt_soon if how == "timer" else _thread.interrupt_main
    sem, count, procs = busy_world(k, fire)
    try:
        with pytest.raises(KeyboardInterrupt):
            k.run()
    finally:
        if old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    assert_parked(k)
    assert 500 <= count[0] < ROUNDS
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # the model is consistent: the semaphores say where the two programs are
    values = k.init.semctl(sem, 0, ipcsim.GETALL)
    assert all(v in (0, 1) for v in values)
    # run() goes on to the end
    k.run()
    assert count[0] == ROUNDS
    assert [p.exit_status for p in procs] == [0, 0]
    assert k.processes() == [k.init]


def test_ctrl_c_then_close_ends_everything(executor):
    k = ipcsim.Kernel(seed=2, executor=executor)
    _, count, procs = busy_world(k, interrupt_soon)
    with pytest.raises(KeyboardInterrupt):
        k.run()
    k.close()
    assert not any(p.alive for p in procs)
    assert k.sched.programs == {}
    assert k.processes() == [k.init]


def test_a_signal_handler_that_returns_does_not_stop_the_run(executor):
    k = ipcsim.Kernel(seed=2, executor=executor)
    _, count, _ = busy_world(k, lambda: signal.setitimer(signal.ITIMER_REAL, 0.001, 0.005))
    seen = []
    old = signal.signal(signal.SIGALRM, lambda s, f: seen.append(s))
    try:
        k.run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert count[0] == ROUNDS
    assert seen                         # the handler ran, and the run went on


def test_ctrl_c_in_a_blocking_direct_call_ends_that_call(executor):
    k = ipcsim.Kernel(seed=2, executor=executor)
    _, count, _ = busy_world(k, interrupt_soon)
    q = k.init.msgget(IPC_PRIVATE, 0o600)
    with pytest.raises(KeyboardInterrupt):
        k.init.msgrcv(q, 10)              # blocks: the programs run meanwhile
    assert_parked(k)
    assert k.init.msgctl(q, ipcsim.IPC_STAT).msg_qnum == 0
    k.init.msgsnd(q, 1, b"later")
    assert k.init.msgrcv(q, 10) == (1, b"later")   # no waiter left behind to steal it
    k.run()
    assert count[0] == ROUNDS


# --- close() never hangs ---------------------------------------------------------------
def stubborn(p):
    while True:
        try:
            p.sleep(1)
        except:  # noqa: E722 (what the test is about)
            pass


def test_close_abandons_a_program_that_swallows_its_kill(executor):
    k = ipcsim.Kernel(executor=executor)
    bad = k.init.fork(target=stubborn)
    good = k.init.fork(target=lambda p: p.pause())
    k.run_until_idle()
    with pytest.warns(ResourceWarning, match=f"pid {bad.pid} \\(stubborn\\)"):
        k.close()
    assert not bad.alive and not good.alive
    assert k.sched.programs == {}
    k.close()                             # again: nothing left to do
    assert k.init.getpid() == 1           # the kernel stays usable


def test_a_swallowed_kill_during_run_abandons_that_program_only(executor):
    k = ipcsim.Kernel(executor=executor)
    bad = k.init.fork(target=stubborn)
    k.init.fork(target=lambda p: (p.sleep(3), p.kill(bad.pid, signal.SIGKILL)))
    out = []
    k.init.fork(target=lambda p: (p.sleep(10), out.append(k.clock.now())))
    with pytest.warns(ResourceWarning, match="abandoned"):
        k.run()
    assert out == [10.0] and not bad.alive


def test_cleanup_in_finally_after_a_kill_is_not_abandoned(executor):
    k = ipcsim.Kernel(executor=executor)
    ran = []

    def tidy(p):
        try:
            p.pause()
        finally:
            ran.append("finally")
            try:
                p.getpid()                # the process is dead: this call ends it again
            finally:
                ran.append("inner")

    k.init.fork(target=tidy)
    k.run_until_idle()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k.close()
    assert ran == ["finally", "inner"]


# --- kernels dropped without close() -----------------------------------------------------
def blocked_in(how, k):
    """A program body that blocks for good in ``how``."""
    if how == "msgrcv":
        q = k.init.msgget(IPC_PRIVATE, 0o600)
        return lambda p: p.msgrcv(q, 10)
    if how == "semop":
        s = k.init.semget(IPC_PRIVATE, 1, 0o600)
        return lambda p: p.semop(s, [(0, -1, 0)])
    if how == "mq_receive":
        def body(p):
            mqd = p.mq_open("/q", ipcsim.O_RDWR | ipcsim.O_CREAT, 0o600, None)
            p.mq_receive(mqd, 8192)
        return body
    if how == "wait":
        def parent(p):
            p.fork(target=lambda c: c.pause())
            p.wait()
        return parent
    return lambda p: p.pause()


def threads_left(before, wait=5.0):
    """The threads started since ``before`` (a set of threads) still alive after up to
    ``wait`` seconds; threads of earlier tests that end meanwhile do not count."""
    deadline = time.monotonic() + wait
    while True:
        left = [t for t in threading.enumerate() if t not in before]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def deadlocked_kernel(executor, how="msgrcv"):
    k = ipcsim.Kernel(executor=executor)
    body = blocked_in(how, k)
    for _ in range(3):
        k.init.fork(target=body)
    with pytest.raises(ipcsim.DeadlockError):
        k.run()
    return weakref.ref(k)


def test_with_closes_the_kernel_on_exit(executor):
    before = set(threading.enumerate())
    with ipcsim.Kernel(executor=executor) as k:
        procs = [k.init.fork(target=lambda p: p.pause()) for _ in range(5)]
        k.run_until_idle()
    assert not any(p.alive for p in procs)
    assert not threads_left(before)


def test_with_closes_the_kernel_when_the_block_raises(executor):
    with pytest.raises(ipcsim.DeadlockError):
        with ipcsim.Kernel(executor=executor) as k:
            p = k.init.fork(target=lambda p: p.pause())
            k.run()
    assert not p.alive


# --- Kernel's arguments ------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error", [
    ({"seed": 1.5}, TypeError),
    ({"seed": "1"}, TypeError),
    ({"seed": True}, TypeError),
    ({"epoch": 1.5}, TypeError),
    ({"epoch": -1}, ValueError),
    ({"epoch": 2 ** 64}, ValueError),
    ({"max_ipc_namespaces": "10"}, TypeError),
    ({"max_ipc_namespaces": -1}, ValueError),
    ({"max_ipc_namespaces": 2 ** 31}, ValueError),
    ({"pid_max": 300}, ValueError),
    ({"pid_max": 2 ** 23}, ValueError),
    ({"pid_max": 1000.0}, TypeError),
    ({"capabilities": -1}, ValueError),
    ({"capabilities": 1 << 60}, ValueError),
    ({"capabilities": "all"}, TypeError),
    ({"policy": "lifo"}, ValueError),
    ({"policy": 1}, TypeError),
    ({"executor": "fibers"}, ValueError),
    ({"executor": 1}, TypeError),
    ({"trace": "yes"}, TypeError),
])
def test_kernel_checks_every_argument(kwargs, error):
    with pytest.raises(error) as e:
        ipcsim.Kernel(**kwargs)
    (name,) = kwargs
    assert name in str(e.value)


def test_kernel_arguments_at_their_limits_are_taken():
    k = ipcsim.Kernel(epoch=0, max_ipc_namespaces=0, pid_max=301, seed=-5)
    assert k.clock.time() == 0
    with pytest.raises(OSError) as e:
        k.init.clone(ipcsim.CLONE_NEWIPC)
    assert e.value.errno == errno.ENOSPC
    assert ipcsim.Kernel(max_ipc_namespaces=2 ** 31 - 1).max_ipc_namespaces == 2 ** 31 - 1


def test_the_executor_is_named_and_greenlet_is_the_default(monkeypatch):
    from ipcsim.sim import executor
    assert ipcsim.Kernel(executor="threads").executor == "threads"
    assert ipcsim.Kernel(executor="greenlet").executor == "greenlet"
    assert ipcsim.Kernel().executor == executor.DEFAULT
    monkeypatch.delenv("IPCSIM_EXECUTOR", raising=False)
    assert executor._initial_default() == "greenlet"
    monkeypatch.setenv("IPCSIM_EXECUTOR", "threads")
    assert executor._initial_default() == "threads"
    monkeypatch.setenv("IPCSIM_EXECUTOR", "nonsense")
    assert executor._initial_default() == "greenlet"


# --- durations ---------------------------------------------------------------------------
@pytest.mark.parametrize("seconds, error", [
    (2 ** 1000, OverflowError),
    (2 ** 63, OverflowError),
    (float("inf"), OverflowError),
    (1e300, OverflowError),
    (float("nan"), ValueError),
    ("1", TypeError),
])
def test_durations_a_timespec_cannot_hold_are_refused_as_time_sleep_does(seconds, error):
    k = ipcsim.Kernel()
    with pytest.raises(error):
        k.init.sleep(seconds)
    with pytest.raises(error):
        k.clock.advance(seconds)
    assert k.clock.now() == 0


def test_a_negative_sleep_is_einval():
    k = ipcsim.Kernel()
    with pytest.raises(OSError) as e:
        k.init.sleep(-1)
    assert e.value.errno == errno.EINVAL


def test_a_sleep_past_ktime_max_never_ends_and_moves_no_clock(executor):
    k = ipcsim.Kernel(executor=executor)
    p = k.init.fork(target=lambda p: p.sleep(2 ** 62))
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert f"sleep({2 ** 62})" in str(e.value)
    assert k.clock.now() == 0
    k.close()
    assert not p.alive


def test_the_clock_cannot_pass_ktime_max():
    k = ipcsim.Kernel()
    years_200 = 200 * 365 * 86400
    k.clock.advance(years_200)
    with pytest.raises(OverflowError):
        k.clock.advance(years_200)
    assert k.clock.now() == years_200


# --- a program that cannot be started ----------------------------------------------------
def test_a_program_whose_thread_cannot_start_fails_the_fork_with_eagain(monkeypatch):
    k = ipcsim.Kernel(executor="threads")
    k.init.fork(target=lambda p: p.pause())
    before = [p.pid for p in k.processes()]

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    with pytest.raises(OSError) as e:
        k.init.fork(target=lambda p: p.pause())
    assert e.value.errno == errno.EAGAIN
    assert "can't start new thread" in e.value.filename and "greenlet" in e.value.filename
    assert [p.pid for p in k.processes()] == before      # nothing was made
    monkeypatch.undo()
    late = k.init.fork(target=lambda p: 7)               # the kernel goes on
    k.run_until_idle()
    assert late.result == 7
    k.close()


def test_programs_killed_before_they_ran_leave_no_thread_behind(executor):
    before = set(threading.enumerate())
    k = ipcsim.Kernel(executor=executor)
    procs = [k.init.fork(target=lambda p: p.pause()) for _ in range(20)]
    for p in procs:
        k.init.kill(p.pid, signal.SIGKILL)
    k.run()
    assert all(p.exit_status == -signal.SIGKILL for p in procs)
    assert k.sched.programs == {}
    assert not threads_left(before)


@pytest.mark.parametrize("how", ["msgrcv", "semop", "mq_receive", "wait", "pause"])
def test_dropped_kernels_end_their_programs_and_are_freed(executor, how):
    """The pattern ``with pytest.raises(DeadlockError): k.run()`` and nothing more, many
    times: no thread, no greenlet and no kernel is left behind."""
    before = set(threading.enumerate())
    earlier = {id(o) for o in gc.get_objects() if isinstance(o, ipcsim.Kernel)}
    refs = []
    with pytest.warns(ResourceWarning, match="dropped without close"):
        for _ in range(30):
            refs.append(deadlocked_kernel(executor, how))
        gc.collect()
    kept = [r() for r in refs if r() is not None]
    assert not kept, f"{len(kept)} of {len(refs)} kernels kept alive: {gc.get_referrers(kept[0])}"
    assert not [o for o in gc.get_objects() if isinstance(o, ipcsim.Kernel)
                and id(o) not in earlier and o.executor == executor and o.sched.programs]
    left = threads_left(before)
    assert not left, f"threads left: {left}"


def test_a_dropped_kernel_whose_programs_close_over_it_is_freed(executor):
    def make():
        k = ipcsim.Kernel(executor=executor)
        seen = []

        def prog(p):
            seen.append(k.clock.now())
            p.pause()

        k.init.fork(target=prog)
        k.run_until_idle()
        return weakref.ref(k)

    with pytest.warns(ResourceWarning):
        ref = make()
        gc.collect()
    assert ref() is None


@pytest.mark.parametrize("hold", ["kernel", "process", "namespace", "list", "closure"])
def test_a_kernel_still_referred_to_is_not_closed(executor, hold):
    k = ipcsim.Kernel(executor=executor)
    q = k.init.msgget(IPC_PRIVATE, 0o600)
    p = k.init.fork(target=lambda p: p.msgrcv(q, 10))
    k.run_until_idle()
    held = {"kernel": k, "process": p, "namespace": k.init.ipc_ns, "list": [[p]],
            "closure": (lambda kk: (lambda: kk))(k)}[hold]
    ref = weakref.ref(k)
    del k, p
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.collect()
        gc.collect()
    k = ref()
    assert k is not None and held is not None
    (prog,) = [x for x in k.processes() if x.pid != 1]
    assert prog.alive                             # still parked in msgrcv
    k.init.msgsnd(q, 1, b"go")
    k.run()
    assert prog.result == (1, b"go")


# --- where a kernel is driven from ----------------------------------------------------------
def test_a_program_may_run_a_kernel_of_its_own(executor):
    outer = ipcsim.Kernel(seed=4, executor=executor)
    q = outer.init.msgget(IPC_PRIVATE, 0o600)

    def simulation_in_a_program(p):
        inner = ipcsim.Kernel(seed=5, executor=executor)
        iq = inner.init.msgget(IPC_PRIVATE, 0o600)
        for i in range(3):
            inner.init.fork(target=lambda c, i=i: c.msgsnd(iq, i + 1, b"x"))
        inner.run()
        got = [inner.init.msgrcv(iq, 8)[0] for _ in range(3)]
        inner.close()
        p.msgsnd(q, 1, repr(sorted(got)).encode())
        return got

    prog = outer.init.fork(target=simulation_in_a_program)
    other = outer.init.fork(target=lambda p: p.msgrcv(q, 64))
    outer.run()
    assert sorted(prog.result) == [1, 2, 3]
    assert other.result == (1, b"[1, 2, 3]")


def test_greenlet_programs_are_driven_from_the_thread_that_started_them():
    k = ipcsim.Kernel(executor="greenlet")
    p = k.init.fork(target=lambda p: p.sleep(5))
    k.run_until_idle()
    errors = []

    def elsewhere():
        try:
            k.run()
        except ipcsim.SimulationError as e:
            errors.append(str(e))

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join()
    assert errors and 'executor="threads"' in errors[0]
    k.run()                                   # the starting thread still drives it
    assert p.exit_status == 0


def test_thread_programs_may_be_driven_from_any_thread():
    k = ipcsim.Kernel(executor="threads")
    p = k.init.fork(target=lambda p: p.sleep(5))
    k.run_until_idle()
    t = threading.Thread(target=k.run)
    t.start()
    t.join()
    assert p.exit_status == 0


def test_ctrl_c_twice_stops_a_program_that_makes_no_system_call():
    k = ipcsim.Kernel(executor="greenlet")

    def spin(p):
        while True:
            pass

    p = k.init.fork(target=spin)
    timers = [threading.Timer(t, _thread.interrupt_main) for t in (0.05, 0.2)]
    for t in timers:
        t.start()
    with pytest.raises(KeyboardInterrupt):
        k.run()
    for t in timers:
        t.join()
    assert not p.alive and p.exit_status == 1      # it ended with the interrupt
    assert_parked(k)
    k.close()


def mixed_world(k):
    """Programs that send, receive, take turns on a semaphore, sleep, signal and fork."""
    ring(k, 3)
    s = k.init.semget(IPC_PRIVATE, 1, 0o600)
    k.init.semctl(s, 0, ipcsim.SETVAL, 1)

    def turns(p):
        for _ in range(4):
            p.semop(s, [(0, -1, 0)])
            p.sleep(0.5)
            p.semop(s, [(0, 1, 0)])

    def signaller(p, target):
        p.sleep(1)
        p.kill(target.pid, signal.SIGUSR1)
        c = p.fork(target=chatter, args=(3,))
        return p.wait(c.pid)

    def patient(p):
        p.signal(signal.SIGUSR1, lambda sig: None)
        try:
            p.pause()
        except InterruptedError:
            return "interrupted"

    for _ in range(3):
        k.init.fork(target=turns)
    target = k.init.fork(target=patient)
    k.init.fork(target=signaller, args=(target,))


@pytest.mark.parametrize("policy", ["random", "fifo"])
def test_the_same_seed_gives_the_same_run_on_both_executors(policy):
    for seed in range(12):
        traces = []
        for executor in EXECUTORS:
            k = ipcsim.Kernel(seed=seed, trace=True, executor=executor, policy=policy)
            mixed_world(k)
            k.run()
            traces.append((trace_of(k), k.sched.steps, k.sched.switches, k.clock.now()))
        assert traces[0] == traces[1], seed


def test_close_ends_every_program_even_when_a_cleanup_raises(executor):
    k = ipcsim.Kernel(executor=executor)

    def messy(p):
        try:
            p.pause()
        finally:
            raise RuntimeError("cleanup failed")

    procs = [k.init.fork(target=messy) for _ in range(3)]
    procs.append(k.init.fork(target=lambda p: p.pause()))
    k.run_until_idle()
    with pytest.raises(RuntimeError, match="cleanup failed"):
        k.close()
    assert not any(p.alive for p in procs)
    assert k.sched.programs == {} and not k.sched.runq
    k.close()                                  # nothing left: no error


def test_a_greenlet_kernel_with_no_program_running_may_change_threads():
    k = ipcsim.Kernel(executor="greenlet")
    k.init.fork(target=lambda p: None)
    k.run()                                   # the program ran and ended on this thread
    p = k.init.fork(target=lambda p: p.sleep(1))
    t = threading.Thread(target=k.run)
    t.start()
    t.join()
    assert p.exit_status == 0


# --- what pytest shows ------------------------------------------------------------------
FAILING_TESTS = '''
import ipcsim

def test_deadlock():
    k = ipcsim.Kernel()
    q = k.init.msgget(ipcsim.IPC_PRIVATE, 0o600)
    k.init.fork(target=lambda p: p.msgrcv(q, 10))
    k.init.msgrcv(q, 10)

def test_program_bug():
    k = ipcsim.Kernel()
    def prog(p):
        p.getpid()
        raise ValueError("bug in the program")
    k.init.fork(target=prog)
    k.run()
'''


def test_pytest_tracebacks_show_no_scheduler_frames(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    (tmp_path / "test_failing.py").write_text(FAILING_TESTS)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "test_failing.py")], capture_output=True, text=True,
                          timeout=120, cwd=str(tmp_path),
                          env={**__import__("os").environ, "PYTHONPATH": str(root)})
    out = proc.stdout
    assert "2 failed" in out
    assert "DeadlockError" in out and "bug in the program" in out
    assert "scheduler.py" not in out and "executor.py" not in out and "kernel.py" not in out


def test_a_program_with_no_memory_to_start_is_killed_and_the_kernel_goes_on(monkeypatch):
    from ipcsim.sim import executor as ex
    real = ex._greenlet.greenlet
    made = [0]

    def greenlet_or_no_memory(run=None, parent=None):
        if run is ex._program_body:
            made[0] += 1
            if made[0] == 3:
                raise MemoryError("no memory for a frame stack")
        return real(run, parent)

    monkeypatch.setattr(ex._greenlet, "greenlet", greenlet_or_no_memory)
    out = {}

    def scenario():              # a thread of its own: its pool of greenlets starts empty
        k = ipcsim.Kernel(seed=0, policy="fifo", executor="greenlet")
        procs = [k.init.fork(target=lambda p, i=i: (p.sleep(1), i)[1]) for i in range(5)]
        with pytest.warns(ResourceWarning, match="no memory to start pid 4"):
            k.run()
        out["status"] = [p.exit_status for p in procs]
        out["result"] = [p.result for p in procs]
        late = k.init.fork(target=lambda p: "late")
        k.run()
        out["late"] = late.result
        k.close()

    t = threading.Thread(target=scenario)
    t.start()
    t.join()
    assert out["status"] == [0, 0, -signal.SIGKILL, 0, 0]
    assert out["result"] == [0, 1, None, 3, 4]
    assert out["late"] == "late"


def test_close_never_hangs_even_with_warnings_made_errors(executor, capsys):
    k = ipcsim.Kernel(executor=executor)
    bad = k.init.fork(target=stubborn)
    k.run_until_idle()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k.close()                                 # the warning cannot stop it
    assert not bad.alive and k.sched.programs == {}
    assert f"pid {bad.pid} (stubborn)" in capsys.readouterr().err


def _real_nanosleep(seconds: int) -> str:
    """What Linux's nanosleep does with ``seconds`` (interrupted after 0.2 s by SIGALRM)."""
    import ctypes

    class Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

    libc = ctypes.CDLL(None, use_errno=True)
    old = signal.signal(signal.SIGALRM, lambda *a: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        failed = libc.nanosleep(ctypes.byref(Timespec(seconds, 0)), None) != 0
        return errno.errorcode[ctypes.get_errno()] if failed else "ok"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("seconds", [2 ** 62, 2 ** 63 - 1, -1])
def test_huge_and_negative_sleeps_end_as_on_linux(executor, seconds):
    k = ipcsim.Kernel(executor=executor)
    got = []

    def sleeper(p):
        p.signal(signal.SIGUSR1, lambda sig: None)
        try:
            p.sleep(seconds)
            got.append("ok")
        except OSError as e:
            got.append(errno.errorcode[e.errno])

    s = k.init.fork(target=sleeper)
    k.init.fork(target=lambda p: (p.sleep(1), p.kill(s.pid, signal.SIGUSR1)))
    k.run()
    # a sleep past KTIME_MAX sleeps until a signal ends it; a negative one is EINVAL
    assert got == (["EINVAL"] if seconds < 0 else ["EINTR"])
    if sys.platform.startswith("linux"):
        assert _real_nanosleep(seconds) == got[0]


def test_a_deadlock_names_each_blocked_call_as_strace_writes_it(executor):
    k = ipcsim.Kernel(seed=1, executor=executor)
    q = k.init.msgget(IPC_PRIVATE, ipcsim.IPC_CREAT | 0o600)
    s = k.init.semget(IPC_PRIVATE, 2, ipcsim.IPC_CREAT | 0o600)
    k.init.fork(target=lambda p: p.msgrcv(q, 100, -5))
    k.init.fork(target=lambda p: p.semop(s, [(1, -1, ipcsim.SEM_UNDO)]))
    k.init.fork(target=lambda p: p.pause())
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert e.value.blocked == [
        (2, f"msgrcv({q}, 100, -5, 0) on queue {q} of ipc:[4026531839] (type -5)"),
        (3, f"semop({s}, [(1, -1, SEM_UNDO)]) on semaphore set {s} of ipc:[4026531839] "
            f"(sem 1 -1)"),
        (4, "pause() for a signal")]
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.init.msgrcv(q, 10, 7)
    assert f"(the caller's msgrcv({q}, 10, 7, 0) on queue {q} " in str(e.value)
    assert e.value.blocked[-1] == (1, f"msgrcv({q}, 10, 7, 0) on queue {q} of "
                                      f"ipc:[4026531839] (type 7)")
    k.close()


def test_a_call_as_a_dead_process_names_the_call(executor):
    k = ipcsim.Kernel(executor=executor)
    child = k.init.fork(target=lambda p: None)
    k.run()
    with pytest.raises(ipcsim.ProcessGone, match=re.escape(
            f"semop(0, [(0, -1, 0)]): process {child.pid} has exited (status 0)")):
        child.semop(0, [(0, -1, 0)])
    k.close()


def test_the_trace_logs_one_exit_per_process(executor):
    """However a program ends: returning, exit(), exit() caught by a bare except, killed
    while blocked (its finally: calls nothing more), or killing itself."""
    def swallowed(p):
        try:
            p.exit(3)
        except BaseException:
            pass
        return 5

    def cleanup(p):
        try:
            p.pause()
        finally:
            p.getpid()

    k = ipcsim.Kernel(trace=True, executor=executor)
    procs = [k.init.fork(target=body) for body in (
        lambda p: 1, lambda p: p.exit(2), swallowed, cleanup,
        lambda p: p.kill(p.pid, signal.SIGKILL))]
    k.run_until_idle()
    k.init.kill(procs[3].pid, signal.SIGTERM)
    k.run()
    exits = [e.pid for e in k.trace if e.name == "exit"]
    assert sorted(exits) == [p.pid for p in procs]
    assert [p.exit_status for p in procs] == [0, 2, 3, -signal.SIGTERM, -signal.SIGKILL]
    k.close()
