"""Schedules as data: what an exploration records of a run, and how a run is steered.

A run is a sequence of *steps*. A step begins where the scheduler picks a task (at a
system call's entry, or when the running task blocks, stops or ends) and lasts until the
next pick: the call the task was about to make, and the program's own code up to its
next call. The :class:`Recorder` is the scheduler's control (see
:class:`ipcsim.sim.scheduler.Control`): it asks a :class:`Chooser` for each pick, or, in
observe mode, is told of the seed's pick, and it notes what each step touched (see
:mod:`ipcsim.kernel.footprint`).

A *schedule* is the list of the picks that had a choice (two runnable tasks or more), each
the label of the task picked: ``"2"`` for pid 2's program, ``"2t1"`` for a notification
thread of pid 2, ``"h"`` for the caller's own thread. Its text runs equal labels together:
``2x3.3.2`` is "2, 2, 2, 3, 2"; ``-`` is the empty schedule. After its last pick a run goes
on without preempting: the running task keeps the CPU, and when it blocks or ends the
lowest pid runs. A recorded schedule ends at its last pick that differs from that rule, so
a schedule says exactly where a run was steered, and replays the same run.
"""
from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from ..errors import SimulationError
from ..kernel import footprint as fp

if TYPE_CHECKING:
    from ..sim.scheduler import Task

CLOCK = ("clock",)     # the candidates of a timer's step: the clock alone
_TOKEN = re.compile(r"(h|[0-9]+(?:t[0-9]+)?)(?:x([0-9]+))?")


class ScheduleError(SimulationError, ValueError):
    """A schedule that cannot be read, or that does not fit the scenario it is replayed
    on (it names a task that is not runnable at that pick)."""


def encode(choices: Sequence[str]) -> str:
    """The text of a schedule: equal labels run together (``2x3.3.2``), ``-`` if empty."""
    if not choices:
        return "-"
    out = []
    i = 0
    while i < len(choices):
        j = i
        while j < len(choices) and choices[j] == choices[i]:
            j += 1
        out.append(choices[i] if j - i == 1 else f"{choices[i]}x{j - i}")
        i = j
    return ".".join(out)


def decode(text: str) -> list[str]:
    """The picks of a schedule's text (:func:`encode`'s inverse); ScheduleError if it is
    not one."""
    text = text.strip()
    if text in ("-", ""):
        return []
    choices: list[str] = []
    for token in text.split("."):
        m = _TOKEN.fullmatch(token)
        if m is None:
            raise ScheduleError(f"not a schedule: {text!r} (expected picks like 2x3.3.2: "
                                f"pids, 'x' and a count to repeat one, '.' between)")
        count = int(m.group(2) or 1)
        if count < 1 or count > 10_000_000 or len(choices) + count > 10_000_000:
            raise ScheduleError(f"not a schedule: {text!r} (a count of {count})")
        choices.extend([m.group(1)] * count)
    return choices


class Step:
    """One step of a run: the task that took it (``label``), the runnable tasks it was
    picked among (``cands``; in observe mode only their number, ``n``), the task at whose
    system call the pick was made (``cur``, None after a block or an end), and what the step
    touched: ``access`` (key -> mode) or ``barrier`` (it depends on every step)."""

    __slots__ = ("label", "cands", "n", "cur", "access", "barrier", "preempt")

    def __init__(self, label: str, cands: tuple[str, ...], n: int, cur: str | None):
        self.label = label
        self.cands = cands
        self.n = n
        self.cur = cur
        self.access: dict[fp.Key, int] = {}
        self.barrier = False
        self.preempt = cur is not None and cur != label and n > 1

    def add(self, accesses: fp.Footprint) -> None:
        if accesses is None:
            self.barrier = True
            return
        access = self.access
        for key, mode in accesses:
            old = access.get(key)
            if old is None or old == mode:
                access[key] = mode
            else:
                access[key] = fp.WRITE      # read and member change, or either and write

    def __repr__(self) -> str:
        what = "all" if self.barrier else ", ".join(f"{k}:{m}" for k, m in self.access.items())
        return f"<Step {self.label} of {self.cands or self.n} [{what}]>"


def dependent(a: Step, b: Step) -> bool:
    """Whether two steps may not commute: one is a barrier, or both touch one object and
    not both only read it (or only change members of it)."""
    if a.barrier or b.barrier:
        return True
    x, y = a.access, b.access
    if len(x) > len(y):
        x, y = y, x
    for key, mode in x.items():
        other = y.get(key)
        if other is not None and (mode != other or mode == fp.WRITE):
            return True
    return False


def default_pick(cur: str | None, labels: Sequence[str]) -> str:
    """The pick of a run that is not steered: no preemption; the lowest pid after a block."""
    return cur if cur is not None and cur in labels else labels[0]


class Chooser(Protocol):
    def choose(self, rec: "Recorder", cur: str | None, labels: tuple[str, ...]) -> str | None:
        """The label to run among ``labels`` (sorted by pid), ``cur`` the caller's at a
        system call's entry; None ends the run here."""
        ...


class Recorder:
    """The scheduler's control during one run of an exploration: makes (or, with
    ``observe``, watches) every pick, and records the steps and the schedule."""

    def __init__(self, chooser: Chooser | None = None, observe: bool = False):
        self.chooser = chooser
        self.observe = observe
        self.steps: list[Step] = []
        self.choices: list[str] = []      # the picks that had a choice
        self.defaults: list[bool] = []    # whether each was the unsteered pick
        self.preemptions = 0
        self.current: Step | None = None
        self.calls: dict[str, fp.Footprint] = {}   # a task's call in progress (blocked)
        self.stopped = False      # the chooser ended the run
        self.finished = False     # the run is over: close()'s picks are not recorded
        self.mismatch: str | None = None

    # --- picks ---------------------------------------------------------------------------
    def pick(self, cur: Task | None, cands: list[Task]) -> Task | None:
        if self.finished:
            return min(cands, key=_order)
        if self.stopped:
            return None
        cands = sorted(cands, key=_order)
        labels = tuple(t.label for t in cands)
        cur_label = cur.label if cur is not None else None
        assert self.chooser is not None
        label = self.chooser.choose(self, cur_label, labels)
        if label is None:
            self.stopped = True
            self.current = None
            return None
        task = cands[labels.index(label)]
        self._open(task, labels, len(labels), cur_label)
        return task

    def timer(self) -> bool:
        """Every task is blocked and a timer is due: its firing is a step of its own, by
        the clock (label ``clock``), which depends on every step (all see the time).
        False if the chooser ends the run here instead."""
        if self.finished:
            return True
        if self.stopped:
            return False
        if self.chooser is not None and self.chooser.choose(self, None, CLOCK) is None:
            self.stopped = True
            self.current = None
            return False
        step = Step(CLOCK[0], CLOCK, 1, None)
        step.barrier = True
        self.steps.append(step)
        self.current = step
        return True

    def observed(self, cur: Task | None, chosen: Task, n: int,
                 lowest: Task | None = None) -> None:
        if self.finished:
            return
        self._open(chosen, (), n, cur.label if cur is not None else None,
                   lowest.label if lowest is not None else None)

    def _open(self, task: Task, labels: tuple[str, ...], n: int, cur: str | None,
              lowest: str | None = None) -> None:
        label = task.label
        step = Step(label, labels, n, cur)
        pid = task.order[0]
        if pid > 0:
            step.access[("proc", pid)] = fp.WRITE
        elif task.is_host:
            # the scenario's own code going on after a call of its own that blocked: what
            # it does and calls is not recorded, so it depends on every step
            step.barrier = True
        if label in self.calls:      # a blocked call goes on: it touches the same again
            step.add(self.calls[label])
        if n > 1:
            self.choices.append(label)
            if cur is not None:
                unsteered = label == cur
            else:
                unsteered = label == (labels[0] if labels else lowest)
            self.defaults.append(unsteered)
            if step.preempt:
                self.preemptions += 1
        self.steps.append(step)
        self.current = step

    # --- what steps touch ----------------------------------------------------------------
    def woke(self, task: Task) -> None:
        step = self.current
        if step is not None and not self.finished:
            pid = task.order[0]
            if pid > 0:
                step.add([(("proc", pid), fp.WRITE)])

    def barrier(self) -> None:
        """Make the current step depend on every step."""
        if self.current is not None and not self.finished:
            self.current.barrier = True

    def exiting(self, proc: Any) -> None:
        """``proc`` exits in the current step: what that reads and changes (see
        :func:`ipcsim.kernel.footprint.exited`)."""
        if self.current is not None and not self.finished:
            self.current.add(fp.exited(proc))

    def call(self, proc: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        step = self.current
        if step is None or self.finished:
            return
        accesses = fp.footprint(proc, name, args, kwargs)
        step.add(accesses)
        self.calls[step.label] = accesses

    def returned(self, proc: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 result: object) -> None:
        step = self.current
        if step is None or self.finished:
            return
        self.calls.pop(step.label, None)
        step.add(fp.returned(proc, name, result))

    def finish(self) -> None:
        """The run is over (what closing the kernel does is not part of it). A strict
        replay with picks left over did not fit: ``mismatch`` says so."""
        left = getattr(self.chooser, "left", None)
        if left is not None and not self.finished and self.mismatch is None:
            n = left()
            if n:
                self.mismatch = (f"the run ended with {n} pick{'s' if n != 1 else ''} of "
                                 f"the schedule left over: the schedule is not one of this "
                                 f"scenario (or the scenario does not run the same way "
                                 f"twice)")
        self.finished = True
        self.current = None

    # --- the schedule ----------------------------------------------------------------------
    def schedule(self) -> list[str]:
        """The picks that had a choice, without the unsteered ones at the end."""
        end = len(self.choices)
        while end and self.defaults[end - 1]:
            end -= 1
        return self.choices[:end]


def _order(task: Task) -> tuple[int, int]:
    return task.order


# --- choosers ------------------------------------------------------------------------------
class Unsteered:
    """No preemption: the caller goes on; after a block or an end, the lowest pid."""

    def choose(self, rec: Recorder, cur: str | None, labels: tuple[str, ...]) -> str | None:
        return default_pick(cur, labels)


class Replay:
    """Follow a schedule's picks, then run unsteered. ``strict``: a pick the schedule names
    that is not runnable ends the run, with ``Recorder.mismatch`` saying where, and so do
    picks left over at the run's end (see :meth:`Recorder.finish`); otherwise the
    unsteered pick is taken instead (what shrinking wants)."""

    def __init__(self, choices: Sequence[str], strict: bool = True):
        self.choices = list(choices)
        self.pos = 0
        self.strict = strict

    def choose(self, rec: Recorder, cur: str | None, labels: tuple[str, ...]) -> str | None:
        if len(labels) < 2 or self.pos >= len(self.choices):
            return default_pick(cur, labels)
        want = self.choices[self.pos]
        self.pos += 1
        if want in labels:
            return want
        if self.strict:
            rec.mismatch = (f"pick {self.pos} of the schedule is {want}, but the runnable "
                            f"tasks there are {', '.join(labels)}: the schedule is not one "
                            f"of this scenario (or the scenario does not run the same way "
                            f"twice)")
            return None
        return default_pick(cur, labels)

    def left(self) -> int:
        """The schedule's picks not used (a strict replay's run must use them all)."""
        return len(self.choices) - self.pos if self.strict else 0


class PCT:
    """Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each task gets a
    random priority when first seen (``depth`` and above), the highest-priority runnable
    task runs, and at ``depth - 1`` random steps among the first ``length`` the running
    task's priority drops below all others (to 1, 2, ...). A bug of depth d among n tasks and
    k steps is found with probability at least 1/(n k^(d-1)) per run."""

    def __init__(self, seed: int, depth: int, length: int):
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.rng = random.Random(f"ipcsim pct {seed}")
        self.depth = depth
        points = min(depth - 1, max(length, 1))
        self.changes = {step: i + 1 for i, step in
                        enumerate(sorted(self.rng.sample(range(1, max(length, 1) + 1),
                                                         points)))}
        self.prio: dict[str, float] = {}

    def choose(self, rec: Recorder, cur: str | None, labels: tuple[str, ...]) -> str | None:
        prio = self.prio
        change = self.changes.get(len(rec.steps))
        if change is not None and rec.steps:
            prio[rec.steps[-1].label] = change
        if len(labels) == 1:
            return labels[0]
        for label in labels:
            if label not in prio:
                prio[label] = self.depth + self.rng.random()
        return max(labels, key=prio.__getitem__)
