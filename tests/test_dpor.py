"""The exhaustive search's partial-order reduction is sound: on small random scenarios it
finds exactly the outcomes (and the interleavings) the search without reduction finds; and
the footprints of the calls say "depends" wherever swapping two calls could change
something.

An exit adds what it reads and changes (``footprint.exited``) to its step, which makes the
reduction far larger than exits as barriers would; ``exits_as_barriers`` puts barriers in
their place, so that the same scenarios check the footprints of the calls without the
exits' between them too.
"""
from __future__ import annotations

import contextlib
import re
import time
from typing import Any, Iterator

import ipcsim
from ipcsim.constants import (GETALL, GETVAL, IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID,
                              IPC_STAT, MSG_INFO, O_CREAT, O_RDWR, SETVAL)
from ipcsim.explore.dfs import Exploration
from ipcsim.explore.schedule import Recorder, Step, dependent
from ipcsim.kernel import footprint as fp
from ipcsim.kernel.kernel import Kernel
from ipcsim.kernel.signals import SIGSTOP, SIGTERM, SIGUSR1

from dpor_scenarios import Scenario, draw

SCENARIOS = 200
CAP = 1000            # a scenario with more schedules than this is drawn again


@contextlib.contextmanager
def exits_as_barriers() -> Iterator[None]:
    """An exit makes its step a barrier instead of adding ``footprint.exited(proc)``: the
    footprints of the calls, without the exits' between them."""
    exiting = Recorder.exiting

    def _exiting(self: Recorder, proc: Any) -> None:
        self.barrier()

    Recorder.exiting = _exiting                         # type: ignore[method-assign]
    try:
        yield
    finally:
        Recorder.exiting = exiting                      # type: ignore[method-assign]


_CALL = re.compile(r"^(pid \d+ waits in \w+)\(.*?\)( on |: )")


def _detail(text: str) -> str:
    """A deadlock's text without the calls' arguments (which are read from the programs'
    frames for the message, and are not part of what the run did)."""
    return "; ".join(_CALL.sub(r"\1\2", wait) for wait in text.split("; "))


def explore(scenario: Any, reduction: bool, cap: int | None = None
            ) -> tuple[Exploration, set[tuple[str, str, str]]]:
    e = Exploration(scenario, reduction=reduction, max_runs=cap)
    outcomes = {(r.result.kind, r.result.outcome, _detail(r.result.detail))
                for r in e if r.result.kind != "pruned"}
    return e, outcomes


def _differences(name: str, full: set[Any], reduced: set[Any]) -> list[str]:
    return ([f"  {name} misses: {o!r:.600}" for o in sorted(full - reduced)]
            + [f"  {name} alone: {o!r:.600}" for o in sorted(reduced - full)])


def test_reduction_finds_every_outcome_of_random_scenarios() -> None:
    """200 scenarios: the reduced search finds the outcomes and the interleavings of the
    full one; with exits as barriers too (their outcomes; the interleavings are counted
    with the exits' footprints, so only the first pair compares)."""
    failures: list[str] = []
    runs = {"full": 0, "reduced": 0, "exits": 0}
    interleavings = outcomes = redrawn = 0
    seed = 0
    done = 0
    start = time.perf_counter()
    while done < SCENARIOS:
        scenario = draw(seed)
        seed += 1
        full, full_outcomes = explore(scenario, False, CAP)
        if not full.complete:
            redrawn += 1
            continue
        done += 1
        reduced, reduced_outcomes = explore(scenario, True)
        with exits_as_barriers():
            exits, exits_outcomes = explore(scenario, True)
        runs["full"] += full.runs
        runs["reduced"] += reduced.runs
        runs["exits"] += exits.runs
        interleavings += full.interleavings
        outcomes += len(full_outcomes)
        lines = (_differences("reduction", full_outcomes, reduced_outcomes)
                 + _differences("reduction, exits as barriers", full_outcomes,
                                exits_outcomes))
        if reduced.interleavings != full.interleavings:
            lines.append(f"  interleavings: {full.interleavings} without reduction, "
                         f"{reduced.interleavings} with")
        if lines:
            failures.append(f"{scenario!r}\n" + "\n".join(lines))
    print(f"\n{SCENARIOS} scenarios ({redrawn} drawn again: over {CAP} schedules), "
          f"{outcomes} outcomes, {interleavings} interleavings; runs: {runs['full']} without "
          f"reduction, {runs['reduced']} with, {runs['exits']} with exits as barriers; "
          f"{time.perf_counter() - start:.1f} s")
    assert not failures, "\n".join(failures[:5])


# --- scenarios that once went wrong ---------------------------------------------------------
def _same(scenario: Any, exits: bool = False) -> tuple[int, int]:
    """The reduced search finds the outcomes and interleavings of the full one: (how many
    outcomes, how many runs it took)."""
    with contextlib.nullcontext() if exits else exits_as_barriers():
        full, full_outcomes = explore(scenario, False)
        reduced, reduced_outcomes = explore(scenario, True)
    assert reduced_outcomes == full_outcomes
    assert reduced.interleavings == full.interleavings
    return len(full_outcomes), reduced.runs


def test_a_task_killed_before_it_ran_is_tried_before_the_kill() -> None:
    """The killed task's next step never shows in the run: it is tried first anyway."""
    def scenario(k: Kernel) -> Any:
        out: list[object] = []
        k.init.fork(target=lambda p: p.kill(3, SIGTERM))
        victim = k.init.fork(target=lambda p: (out.append(p.getpid()), out.append(p.getpid())))
        return lambda: (out, victim.exit_status)
    assert _same(scenario)[0] == 3


def test_a_task_stopped_by_another_is_tried_before_the_stop() -> None:
    """Pid 3 stops pid 2: pid 4's read must be tried before pid 2's increment, with pid 3's
    stop after pid 2's exit (a stop hides pid 2's later steps from the race analysis)."""
    scenario = Scenario(0, [[("semop", ((0, 1, IPC_NOWAIT),)), ("kill", 0, SIGUSR1)],
                            [("kill", 0, SIGSTOP)], [("semctl", 0, GETVAL)]],
                        (1, 1), [], [False] * 3, 0)
    assert _same(scenario, exits=True)[0] == 3


def test_a_task_killed_in_a_run_cut_short_is_still_tried() -> None:
    """The run where pid 3 kills pid 4 before it runs ends with every task asleep: pid 4
    is still tried before the kill."""
    scenario = Scenario(0, [[("semtimedop", ((1, 1, 0), (0, -1, 0), (1, 1, 0)), 1)],
                            [("kill", 2, SIGTERM)],
                            [("semtimedop", ((1, -1, 0x1000), (0, -2, 0)), 1),
                             ("kill", 0, SIGUSR1)]],
                        (0, 0), [], [False] * 3, 0)
    _same(scenario, exits=True)


def test_a_complex_sleeper_orders_changes_of_its_semaphores() -> None:
    """Pid 2 sleeps on semaphores 0 and 1; pid 3's decrement of 0 and pid 4's increment of 1
    do not commute (which of pid 2 and pid 3 gets semaphore 0 depends on their order)."""
    scenario = Scenario(0, [[("semtimedop", ((0, -1, 0), (1, -1, 0)), 1)],
                            [("semtimedop", ((0, -1, 0),), 1)], [("semop", ((1, 1, 0),))]],
                        (1, 0), [], [False] * 3, 0)
    assert _same(scenario, exits=True)[0] == 2


def test_two_receivers_of_one_queue_race() -> None:
    scenario = Scenario(0, [[("msgrcv", 0, IPC_NOWAIT)], [("msgrcv", 0, IPC_NOWAIT)]],
                        (0, 0), [1, 2], [False] * 2, 0)
    assert _same(scenario, exits=True) == (2, 2)


def test_a_signal_ends_a_wait_that_a_send_would_end() -> None:
    scenario = Scenario(0, [[("msgrcv", 0, 0)], [("kill", 0, SIGUSR1)],
                            [("msgsnd", 1, IPC_NOWAIT)]], (0, 0), [], [False] * 3, 0)
    assert _same(scenario, exits=True)[0] == 3


# --- footprints -----------------------------------------------------------------------------
def _step(proc: Any, name: str, *args: Any) -> Step:
    """A step of ``proc`` that makes the call (its footprint as the explorer takes it)."""
    step = Step(str(proc.pid), (), 1, None)
    step.access[("proc", proc.pid)] = fp.WRITE
    step.add(fp.footprint(proc, name, args, {}))
    return step


def _call(proc: Any, name: str, *args: Any) -> Step:
    """The step of a call that also returns something the footprint adds (an id made)."""
    step = _step(proc, name, *args)
    step.add(fp.returned(proc, name, getattr(proc, name)(*args)))
    return step


class _World:
    """Two processes and one object of each kind, made by the host."""

    def __init__(self) -> None:
        k = self.k = Kernel()
        self.a, self.b = k.init.fork(), k.init.fork()
        self.q = k.init.msgget(0x71, IPC_CREAT | 0o666)
        self.q2 = k.init.msgget(0x72, IPC_CREAT | 0o666)
        self.s = k.init.semget(0x73, 3, IPC_CREAT | 0o666)
        self.m = k.init.shmget(0x74, 4096, IPC_CREAT | 0o666)
        self.m2 = k.init.shmget(0x75, 4096, IPC_CREAT | 0o666)
        self.fd = self.a.mq_open("/x", O_CREAT | O_RDWR, 0o666,
                                 ipcsim.MqAttr(mq_maxmsg=2, mq_msgsize=8))
        self.fd2 = self.b.mq_open("/y", O_CREAT | O_RDWR, 0o666,
                                  ipcsim.MqAttr(mq_maxmsg=2, mq_msgsize=8))
        self.fdx = self.b.mq_open("/x", O_RDWR)


def test_semops_on_different_semaphores_of_a_set_commute() -> None:
    w = _World()
    up0 = _step(w.a, "semop", w.s, [(0, 1, 0)])
    assert not dependent(up0, _step(w.b, "semop", w.s, [(1, -1, IPC_NOWAIT)]))
    assert not dependent(up0, _step(w.b, "semop", w.s, [(1, 1, 0), (2, 1, 0)]))
    assert not dependent(up0, _step(w.b, "semctl", w.s, 1, GETVAL))


def test_semops_on_one_semaphore_depend() -> None:
    w = _World()
    up0 = _step(w.a, "semop", w.s, [(0, 1, 0)])
    assert dependent(up0, _step(w.b, "semop", w.s, [(0, -1, IPC_NOWAIT)]))
    assert dependent(up0, _step(w.b, "semop", w.s, [(0, 0, IPC_NOWAIT)]))   # sempid
    assert dependent(up0, _step(w.b, "semop", w.s, [(1, 1, 0), (0, -1, 0)]))
    assert dependent(up0, _step(w.b, "semctl", w.s, 0, GETVAL))
    for cmd in (GETALL, IPC_STAT, SETVAL, IPC_RMID):
        assert dependent(up0, _step(w.b, "semctl", w.s, 2, cmd, 1)), cmd


def test_a_multi_op_request_that_may_sleep_meets_every_semop_of_the_set() -> None:
    """The set's list orders the sleepers, and a change retries every one of them: a
    multi-op request that may sleep depends on every semop of its set, and while one
    sleeps on semaphores 0 and 1, a change of either depends on a change of the other."""
    w = _World()
    w.a.semctl(w.s, 0, SETVAL, 1)
    request = [(0, -1, 0), (1, -1, 0)]
    may_sleep = _step(w.b, "semop", w.s, request)
    assert dependent(may_sleep, _step(w.a, "semop", w.s, [(2, -1, IPC_NOWAIT)]))
    assert dependent(may_sleep, _step(w.a, "semctl", w.s, 2, 14))      # GETNCNT
    w.b.fork(target=lambda p: p.semop(w.s, request))
    w.k.run_until_idle()
    down0 = _step(w.a, "semop", w.s, [(0, -1, 0)])
    up1 = _step(w.b, "semop", w.s, [(1, 1, 0)])
    assert dependent(down0, up1)
    assert dependent(down0, _step(w.b, "semop", w.s, [(2, 1, 0)]))


def test_removal_depends_on_everything_on_the_object() -> None:
    w = _World()
    rmid = _step(w.a, "msgctl", w.q, IPC_RMID)
    for name, args in [("msgsnd", (w.q, 1, b"x", IPC_NOWAIT)), ("msgrcv", (w.q, 8, 0, 0)),
                       ("msgctl", (w.q, IPC_STAT)), ("msgctl", (w.q, MSG_INFO)),
                       ("msgget", (0x71, 0)), ("msgget", (0x71, IPC_CREAT | 0o666)),
                       ("read_file", ("/proc/sysvipc/msg",))]:
        assert dependent(rmid, _step(w.b, name, *args)), name
    assert not dependent(rmid, _step(w.b, "msgsnd", w.q2, 1, b"x", IPC_NOWAIT))
    srm = _step(w.a, "semctl", w.s, 0, IPC_RMID)
    for args in [(w.s, [(2, 1, 0)]), (w.s, [(0, -1, IPC_NOWAIT)])]:
        assert dependent(srm, _step(w.b, "semop", *args))
    assert dependent(srm, _step(w.b, "semctl", w.s, 1, GETVAL))
    mrm = _step(w.a, "shmctl", w.m, IPC_RMID)
    assert dependent(mrm, _step(w.b, "shmat", w.m, None, 0))
    assert dependent(mrm, _step(w.b, "shmctl", w.m, IPC_STAT))
    assert not dependent(mrm, _step(w.b, "shmat", w.m2, None, 0))


def test_the_totals_depend_on_every_change_they_count() -> None:
    w = _World()
    send = _step(w.a, "msgsnd", w.q, 1, b"x", IPC_NOWAIT)
    assert dependent(send, _step(w.b, "msgctl", 0, MSG_INFO))
    assert dependent(send, _step(w.b, "read_file", "/proc/sysvipc/msg"))
    assert not dependent(send, _step(w.b, "msgsnd", w.q2, 1, b"x", IPC_NOWAIT))
    assert not dependent(send, _step(w.b, "msgctl", w.q2, IPC_STAT))
    assert not dependent(send, _step(w.b, "msgctl", 0, 3))          # IPC_INFO: limits only
    made = _step(w.b, "msgget", IPC_PRIVATE, 0o666)
    qid = w.b.msgget(IPC_PRIVATE, 0o666)
    made.add(fp.returned(w.b, "msgget", qid))
    assert dependent(made, _step(w.a, "msgctl", 0, 3))                 # the highest index
    assert dependent(made, _step(w.a, "msgctl", qid, IPC_STAT))


def test_keys_are_looked_up_and_made_one_by_one() -> None:
    w = _World()
    look = _step(w.a, "msgget", 0x99, 0)
    assert not dependent(look, _step(w.b, "msgget", 0x99, 0))
    assert dependent(look, _step(w.b, "msgget", 0x99, IPC_CREAT | 0o666))
    assert not dependent(look, _step(w.b, "msgget", 0x98, IPC_CREAT | 0o666))
    assert dependent(_step(w.a, "msgget", IPC_PRIVATE, 0o666),
                     _step(w.b, "msgget", 0x98, IPC_CREAT | 0o666))     # the next slot


def test_memory_accesses_meet_in_their_segment_only() -> None:
    w = _World()
    x, y = w.a.shmat(w.m, None, 0), w.b.shmat(w.m, None, 0)
    z = w.b.shmat(w.m2, None, 0)
    write = _step(w.a, "write_memory", x, b"hi")
    assert dependent(write, _step(w.b, "read_memory", y, 2))
    assert not dependent(write, _step(w.b, "write_memory", z, b"hi"))
    assert not dependent(_step(w.a, "read_memory", x, 2), _step(w.b, "read_memory", y, 2))
    assert not dependent(write, _step(w.b, "shmdt", z))
    assert dependent(_step(w.a, "shmdt", x), _step(w.b, "shmctl", w.m, IPC_STAT))
    assert dependent(_step(w.a, "fork"), _step(w.b, "shmctl", w.m, IPC_STAT))   # attaches
    assert dependent(write, _step(w.b, "shmctl", 0, 14))            # SHM_INFO: resident


def test_posix_queues_meet_by_queue_and_by_name() -> None:
    w = _World()
    send = _step(w.a, "mq_send", w.fd, b"x", 0)
    assert dependent(send, _step(w.b, "mq_receive", w.fdx, 8))
    assert dependent(send, _step(w.b, "mq_getattr", w.fdx))
    assert not dependent(send, _step(w.b, "mq_send", w.fd2, b"x", 0))
    assert dependent(_step(w.a, "mq_unlink", "/x"), _step(w.b, "mq_open", "/x", O_RDWR))
    assert dependent(_step(w.a, "mq_unlink", "/x"), _step(w.b, "mq_receive", w.fdx, 8))
    assert not dependent(_step(w.a, "mq_unlink", "/y"), _step(w.b, "mq_open", "/x", O_RDWR))
    assert not dependent(_step(w.a, "mq_open", "/x", O_RDWR),
                         _step(w.b, "mq_open", "/x", O_RDWR))
    assert dependent(send, _step(w.b, "mq_notify", w.fdx, None))
    assert dependent(_step(w.a, "mq_receive", w.fd, 8), _step(w.b, "mq_timedreceive", w.fdx,
                                                              8, 0))


def test_a_signal_to_a_sleeper_in_an_object_depends_on_everything() -> None:
    """The sleeper leaves the object's queue: the signal is a barrier."""
    w = _World()
    w.b.fork(target=lambda p: p.msgrcv(w.q, 8, 0, 0))
    w.k.run_until_idle()
    sleeper = max(p.pid for p in w.k.processes())
    assert _step(w.a, "kill", sleeper, SIGUSR1).barrier
    runnable = w.b.fork(target=lambda p: None)                   # (it has not run yet)
    assert not _step(w.a, "kill", runnable.pid, SIGUSR1).barrier
    assert _step(w.a, "kill", w.b.pid, SIGUSR1).barrier     # no program: the handler runs now
    assert _step(w.a, "kill", 0, SIGUSR1).barrier           # the group holds init


def test_processes_meet_where_they_share() -> None:
    w = _World()
    assert dependent(_step(w.a, "fork"), _step(w.b, "fork"))    # the next pid
    assert dependent(_step(w.a, "kill", w.b.pid, 0), _step(w.b, "getpid"))
    assert not dependent(_step(w.a, "sleep", 1), _step(w.b, "sleep", 1))
    assert dependent(_step(w.a, "kill", 4, SIGUSR1), _call(w.b, "fork"))   # ESRCH, or not
    child = w.a.fork()
    assert dependent(_step(w.a, "wait", -1, 0), _step(w.b, "kill", child.pid, 0))


def test_calls_not_known_are_barriers() -> None:
    w = _World()
    assert _step(w.a, "write_file", "/proc/sys/kernel/msgmni", "5").barrier
    assert _step(w.a, "open", "/proc/sysvipc/msg").barrier
    assert _step(w.a, "read_file", "/proc/sys/kernel/shm_rmid_forced").barrier
    assert not _step(w.a, "read_file", "/proc/sys/kernel/msgmni").barrier


def test_exits_of_siblings_commute() -> None:
    w = _World()
    a, b = Step("2", (), 1, None), Step("3", (), 1, None)
    a.add(fp.exited(w.a))
    b.add(fp.exited(w.b))
    assert not a.barrier and not b.barrier
    assert not dependent(a, b)
    assert dependent(a, _step(w.b, "kill", w.a.pid, 0))
    w.a.shmat(w.m, None, 0)
    c = Step("2", (), 1, None)
    c.add(fp.exited(w.a))
    assert dependent(c, _step(w.b, "shmctl", w.m, IPC_STAT))      # its detach
