"""The deterministic scheduler and the virtual clock."""
import errno
import os
import signal

import pytest

import ipcsim
from ipcsim.sim.clock import DEFAULT_EPOCH

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")


def chatter(p, n):
    for _ in range(n):
        p.getresuid()
    return p.pid


def run_trace(seed):
    k = ipcsim.Kernel(seed=seed, trace=True)
    for _ in range(3):
        k.init.fork(target=chatter, args=(5,))
    k.run()
    return [(e.time, e.pid, e.name, e.result) for e in k.trace]


def test_same_seed_same_trace():
    assert run_trace(7) == run_trace(7)


def test_different_seeds_explore_different_interleavings():
    orders = {tuple(pid for _, pid, name, _ in run_trace(seed) if name == "getresuid")
              for seed in range(8)}
    assert len(orders) > 1


def test_every_program_call_is_a_switch_point():
    k = ipcsim.Kernel(seed=1, trace=True)
    for _ in range(2):
        k.init.fork(target=chatter, args=(20,))
    k.run()
    pids = [e.pid for e in k.trace if e.name == "getresuid"]
    changes = sum(1 for a, b in zip(pids, pids[1:]) if a != b)
    assert changes > 5


def test_run_jumps_the_clock_to_the_next_deadline():
    k = ipcsim.Kernel()
    done = []

    def sleeper(p, t):
        p.sleep(t)
        done.append((t, k.clock.now()))

    for t in (60, 5, 30):
        k.init.fork(target=sleeper, args=(t,))
    k.run()
    assert done == [(5, 5.0), (30, 30.0), (60, 60.0)]
    assert k.clock.now() == 60.0


def test_wall_clock_starts_at_a_fixed_epoch_and_follows_virtual_time():
    k = ipcsim.Kernel()
    assert k.clock.time() == DEFAULT_EPOCH > 0
    k.clock.advance(90.5)
    assert k.clock.time() == DEFAULT_EPOCH + 90
    assert ipcsim.Kernel(epoch=1000).clock.time() == 1000


def test_run_until_idle_does_not_move_the_clock():
    k = ipcsim.Kernel()
    p = k.init.fork(target=lambda p: p.sleep(10))
    k.run_until_idle()
    assert k.clock.now() == 0 and p.alive
    k.run()
    assert k.clock.now() == 10 and not p.alive


def test_advance_runs_programs_at_each_deadline_on_the_way():
    k = ipcsim.Kernel()
    seen = []

    def ticker(p):
        for _ in range(5):
            p.sleep(1)
            seen.append(k.clock.now())

    k.init.fork(target=ticker)
    k.clock.advance(3.5)
    assert seen == [1.0, 2.0, 3.0]
    assert k.clock.now() == 3.5
    k.clock.advance(10)
    assert seen == [1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.raises(ValueError):
        k.clock.advance(-1)
    with pytest.raises(TypeError):
        k.clock.advance("1")


def test_deadlock_names_each_blocked_pid_and_keeps_state():
    k = ipcsim.Kernel()
    a = k.init.fork(target=lambda p: p.pause())
    b = k.init.fork(target=lambda p: p.fork() and p.wait())
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert [pid for pid, _ in e.value.blocked] == [a.pid, b.pid]
    assert f"pid {a.pid}" in str(e.value) and "pause" in str(e.value)
    assert "wait" in e.value.blocked[1][1]
    assert a.alive
    # waking the blocked ones lets the run finish
    k.init.kill(a.pid, signal.SIGTERM)
    k.run_until_idle()
    assert not a.alive and a.exit_status == -signal.SIGTERM and b.alive
    (grandchild,) = b.children.values()
    grandchild.exit(4)
    k.run()
    assert b.exit_status == 0


def test_deadlock_lists_waits_in_pid_order():
    k = ipcsim.Kernel()
    procs = [k.init.fork(target=lambda p: p.pause()) for _ in range(3)]
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert [pid for pid, _ in e.value.blocked] == [p.pid for p in procs]
    assert all("pause" in what for _, what in e.value.blocked)


def test_a_direct_call_that_blocks_runs_the_programs():
    k = ipcsim.Kernel()

    def child(p):
        p.sleep(5)
        p.exit(3)

    c = k.init.fork(target=child)
    pid, status = k.init.wait(c.pid)
    assert pid == c.pid and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3
    assert k.clock.now() == 5


def test_a_direct_call_that_can_never_finish_raises_deadlock_and_changes_nothing():
    k = ipcsim.Kernel()
    c = k.init.fork(target=lambda p: p.pause())
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.init.wait(c.pid)
    assert "wait" in str(e.value) and f"pid {c.pid}" in str(e.value)
    assert len(k.init.child_wait) == 0           # the caller's wait was withdrawn
    k.init.kill(c.pid, signal.SIGKILL)
    assert k.init.wait(c.pid) == (c.pid, signal.SIGKILL)


def test_direct_sleep_moves_virtual_time_only():
    k = ipcsim.Kernel()
    k.init.sleep(3600)
    assert k.clock.now() == 3600


def test_program_exception_is_reraised_by_run():
    k = ipcsim.Kernel()
    boom = ValueError("boom")

    def bad(p):
        raise boom

    p = k.init.fork(target=bad)
    with pytest.raises(ValueError) as e:
        k.run()
    assert e.value is boom
    assert not p.alive and p.exit_status == 1


def test_program_exception_during_a_blocking_direct_call_is_raised_there():
    k = ipcsim.Kernel()

    def bad(p):
        p.sleep(1)
        raise KeyError("late")

    k.init.fork(target=bad)
    other = k.init.fork(target=lambda p: p.sleep(10))
    with pytest.raises(KeyError):
        k.init.wait(other.pid)
    assert len(k.init.child_wait) == 0


def test_run_from_inside_a_program_is_refused():
    k = ipcsim.Kernel()
    errors = []

    def nested(p):
        try:
            k.run()
        except ipcsim.SimulationError as e:
            errors.append(e)

    k.init.fork(target=nested)
    k.run()
    assert len(errors) == 1 and "program" in str(errors[0])


def test_programs_start_only_when_the_caller_lets_them_run():
    k = ipcsim.Kernel()
    started = []
    k.init.fork(target=lambda p: started.append(p.pid))
    assert started == []
    k.run()
    assert started == [2]


def test_trace_records_time_pid_name_result_and_errno():
    k = ipcsim.Kernel(trace=True)
    p = k.init.fork()
    with pytest.raises(OSError):
        p.wait()
    p.sleep(2)
    names = [(e.pid, e.name, e.result, e.errno) for e in k.trace]
    assert names == [(1, "fork", 2, None), (2, "wait", None, errno.ECHILD),
                     (2, "sleep", None, None)]
    sleep = k.trace[-1]
    assert (sleep.start, sleep.time, sleep.blocked) == (0.0, 2.0, True)


def test_close_ends_blocked_programs():
    k = ipcsim.Kernel()
    ps = [k.init.fork(target=lambda p: p.pause()) for _ in range(3)]
    k.run_until_idle()
    k.close()
    assert not any(p.alive for p in ps)
    assert all(p.exit_status == -signal.SIGKILL for p in ps)
    assert k.sched.programs == {}


def test_a_thousand_programs_pass_a_token_around_a_ring():
    k = ipcsim.Kernel(seed=5)
    n = 1000
    order = []

    def member(p, i):
        p.signal(signal.SIGUSR1, lambda s: None)
        try:
            p.pause()
        except InterruptedError:
            pass
        order.append(i)
        if i + 1 < n:
            p.kill(p.pid + 1, signal.SIGUSR1)

    procs = [k.init.fork(target=member, args=(i,)) for i in range(n)]
    k.run_until_idle()
    k.init.kill(procs[0].pid, signal.SIGUSR1)
    k.run()
    assert order == list(range(n))
    assert sorted(k.init.wait()[0] for _ in range(n)) == [p.pid for p in procs]


def test_fifo_policy_runs_woken_programs_in_wake_order():
    k = ipcsim.Kernel(policy="fifo", trace=True)
    for _ in range(3):
        k.init.fork(target=chatter, args=(3,))
    k.run()
    pids = [e.pid for e in k.trace if e.name == "getresuid"]
    assert pids == [2, 2, 2, 3, 3, 3, 4, 4, 4]
    with pytest.raises(ValueError):
        ipcsim.Kernel(policy="lifo")


def test_a_traced_kernel_records_every_wait_with_its_steps():
    k = ipcsim.Kernel(seed=3, trace=True)
    q = k.init.msgget(ipcsim.IPC_PRIVATE, 0o600)
    k.init.fork(target=lambda p: p.msgrcv(q, 10))
    k.init.fork(target=lambda p: (p.sleep(2), p.msgsnd(q, 1, b"x")))
    k.init.fork(target=lambda p: p.msgrcv(q, 10, 7))       # never served
    with pytest.raises(ipcsim.DeadlockError):
        k.run()
    sleep = next(b for b in k.blocks if b.what.startswith("sleep("))
    assert (sleep.pid, sleep.start, sleep.end) == (3, 0, 2.0) and sleep.last >= sleep.first
    served, forever = [b for b in k.blocks if b.what.startswith("msgrcv")]
    assert served.end == 2.0 and served.last is not None
    assert forever.last is None and forever.end is None      # still waiting: the deadlock
    assert not ipcsim.Kernel().blocks                         # untraced kernels keep none
    k.close()
