"""After the runs of an exploration: a shortest schedule per outcome, failing schedules
shrunk, and the check that the schedule alone decides what a run does.

A failing schedule is shrunk the way Hypothesis shrinks an example: candidate schedules
are made from the smallest one so far (cut after its first picks, one pick left out, one
preemption replaced by letting the running task go on), each is replayed (a pick that no
longer fits is replaced by the unsteered one), and one that still fails the same way with
fewer preemptions, or as many and fewer steps, becomes the smallest. It stops when no
candidate is smaller, or after ``max_runs`` replays.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterator

import attrs

from .schedule import Recorder, Replay, decode, encode

if TYPE_CHECKING:
    from . import Limits, SeedResult

_PIDS = re.compile(r"\bpid \d+")


@attrs.frozen
class Shrunk:
    """A failing run's smallest schedule found: ``schedule`` (replay it with
    ``ipcsim run FILE --schedule S``, and ``--seed`` if ``seed`` is not 0), how many
    ``preemptions`` and ``steps`` it has, the run it came from (``original``, with its
    preemptions), the replays tried, and the replayed run's ``timeline`` (text)."""

    kind: str
    detail: str
    seed: int
    schedule: str
    preemptions: int
    steps: int
    original: str
    original_preemptions: int
    original_steps: int
    tried: int
    timeline: str = ""

    def replay(self, path: str, entry: str = "scenario", options: str = "") -> str:
        """The command that replays it (``options``: see :func:`replay_command`)."""
        return replay_command(path, entry, self.seed, self.schedule, options)


def replay_command(path: str, entry: str, seed: int, schedule: str | None,
                   options: str = "") -> str:
    """``ipcsim run`` of a run: its seed, its schedule (None: the seed's own picks), and
    ``options`` (the limits the exploration ran with, " --max-steps 10")."""
    return (f"ipcsim run {path}" + (f" --entry {entry}" if entry != "scenario" else "")
            + (f" --seed {seed}" if seed or schedule is None else "")
            + (f" --schedule {schedule}" if schedule is not None else "") + options)


def same_failure(a: SeedResult, b: SeedResult) -> bool:
    """Whether two runs end the same way: the same kind and, for a failure, the same error
    at the same place whatever the pids."""
    if a.kind != b.kind:
        return False
    if a.kind == "failed":
        return _PIDS.sub("pid", a.detail) == _PIDS.sub("pid", b.detail)
    if a.kind == "ok":
        return a.outcome == b.outcome
    return True


Runner = Callable[[list[str], bool], "tuple[SeedResult, Recorder]"]


def shrink(run: Runner, found: SeedResult, max_runs: int = 400) -> Shrunk:
    """The smallest schedule that ends like ``found`` (whose schedule is recorded); ``run``
    replays a list of picks (strictly or not) and returns the result and its recorder."""
    best, first = run(decode(found.schedule), True)
    rec: Recorder | None = first
    if not same_failure(best, found):       # (the check of the replay says why)
        best, rec = found, None
    tried = 1
    improved = True
    while improved and tried < max_runs:
        improved = False
        for candidate in _candidates(decode(best.schedule), rec):
            if tried >= max_runs:
                break
            result, trial = run(candidate, False)
            tried += 1
            if same_failure(result, found) and \
                    (result.preemptions, result.steps) < (best.preemptions, best.steps):
                best, rec = result, trial
                improved = True
                break
    return Shrunk(found.kind, best.detail, found.seed, best.schedule, best.preemptions,
                  best.steps, found.schedule, found.preemptions, found.steps, tried)


def _candidates(choices: list[str], rec: Recorder | None) -> Iterator[list[str]]:
    """Smaller schedules to try, the likeliest first: cut short, then each preemption
    undone (the running task goes on there), then each pick left out."""
    for i in range(len(choices)):
        yield choices[:i]
    if rec is not None:
        points = [s for s in rec.steps if s.n > 1]
        for j, step in enumerate(points[:len(choices)]):
            if step.preempt and step.cur is not None:
                yield choices[:j] + [step.cur] + choices[j + 1:]
    for j in range(len(choices)):
        yield choices[:j] + choices[j + 1:]


def replayer(fn: Callable[..., object], seed: int, executor: str | None,
             limits: Limits) -> Runner:
    """A :data:`Runner` of the scenario ``fn`` with ``seed``."""
    from . import run_seed

    def run(choices: list[str], strict: bool) -> tuple[SeedResult, Recorder]:
        rec = Recorder(Replay(choices, strict=strict))
        result, _k = run_seed(fn, seed, executor=executor, limits=limits, control=rec)
        return result, rec
    return run


def record(fn: Callable[..., object], seed: int, executor: str | None,
           limits: Limits) -> SeedResult:
    """A seed's run again, its schedule recorded (the seed still picks)."""
    from . import run_seed
    rec = Recorder(observe=True)
    return run_seed(fn, seed, executor=executor, limits=limits, control=rec)[0]


def timeline(fn: Callable[..., object], seed: int, schedule: str, executor: str | None,
             limits: Limits) -> str:
    """The timeline of a schedule's run, as ``ipcsim run`` prints it."""
    from . import run_seed
    from ..timeline import Timeline
    rec = Recorder(Replay(decode(schedule)))
    _result, k = run_seed(fn, seed, trace=True, executor=executor, limits=limits,
                          control=rec)
    return Timeline(k).text()


def check_replay(run: Runner, result: SeedResult) -> str | None:
    """Replay ``result``'s schedule: None if the run ends the same way, else what differed
    (the scenario depends on something besides the schedule)."""
    again, rec = run(decode(result.schedule), True)
    if rec.mismatch is not None:
        return f"schedule {result.schedule}: {rec.mismatch}"
    if not same_failure(again, result):
        return differed(f"schedule {result.schedule}", result, again)
    return None


def differed(what: str, first: SeedResult, second: SeedResult) -> str:
    """The words for a run that went two ways."""
    def ended(r: SeedResult) -> str:
        return _short(r.outcome if r.kind == "ok" else f"{r.kind}: {r.detail}")
    return (f"{what} gave {ended(first)} and then {ended(second)}: something besides the "
            f"schedule decides (real time, random, id(), hash order, or state kept from run "
            f"to run)")


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


__all__ = ["Shrunk", "shrink", "replayer", "record", "timeline", "check_replay",
           "replay_command", "same_failure", "encode"]
