"""Exploring interleavings: run one scenario under many seeds and sort the runs.

A *scenario* is a Python file with a function ``scenario(k)`` that sets up programs on a
fresh kernel ``k`` (``k.init.fork(target=...)`` and so on) and does not run them. It may
return what the run's *outcome* is: a function called after the run (its value is the
outcome), or a list of processes (their ``result`` values are the outcome). Each seed gives
one interleaving; :func:`explore` runs ``k.run()`` for each and sorts the seeds into

* **deadlock**: ``k.run()`` raised DeadlockError (every remaining program blocked forever),
* **failed**: a program raised an exception (or the scenario did),
* **ok**: the run ended; seeds are grouped by outcome, so differing outcomes show;
* **did not finish**: programs were still running when ``max_steps`` or ``until`` stopped
  the run (a livelock, or a run longer than the limit).

A failure names the process, the line of the program and, for a failed system call, the call
as strace shows it: ``pid 2 at phil.py:14 (philosopher): semop(99, [(0, -1, 0)]) = -1 EINVAL
(Invalid argument)``. Ctrl-C stops an exploration at any ``jobs``: the report then holds the
seeds done so far (``Report.interrupted``).

Every seed is reproducible: ``ipcsim run FILE --seed N`` replays it with its timeline.
For that, and for results that do not depend on ``jobs``, ``scenario(k)`` must depend only
on ``k``: each process running seeds loads the file once and calls it for many seeds, so
state kept between calls (a module-level list, a counter) would leak from seed to seed.
"""
from __future__ import annotations

import collections
import contextlib
import errno as _errno
import itertools
import os
import re
import runpy
import signal
import sys
import threading
import time
import traceback
from types import FrameType, TracebackType
from typing import Any, Callable, Iterable, Iterator, TextIO

import attrs

from ..errors import DeadlockError
from ..kernel import syscall
from ..kernel.kernel import Kernel
from ..kernel.viewable import PrettyPrinter
from ..sim.executor import check_executor
from .schedule import PCT, Recorder, encode

DEADLOCK, FAILED, OK, UNFINISHED = "deadlock", "failed", "ok", "unfinished"
PRUNED = "pruned"     # a run the exploration ended early (covered by another run)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@attrs.frozen
class SeedResult:
    """What one seed did: ``kind`` is "ok", "deadlock", "failed" or "unfinished" (it did
    not finish);
    ``outcome`` the scenario's outcome (its repr, for ok runs); ``detail`` what went wrong
    otherwise (for a failure: the process, the program's line and the error)."""

    seed: int
    kind: str
    outcome: str = ""
    detail: str = ""
    schedule: str = ""      # the run's schedule (see ipcsim.explore.schedule), if recorded
    preemptions: int = 0
    steps: int = 0


@attrs.define
class Report:
    """The runs of an exploration by kind, and how fast they ran.

    For ``random`` and ``pct`` each result is a seed's run; for ``dfs`` a schedule's, its
    ``seed`` field numbering the runs (all on the kernel seed ``seed``). ``complete`` (dfs)
    says the search ran out of schedules: every interleaving was run, a proof for that
    scenario; ``interleavings`` counts the distinct ones, ``pruned`` the runs sleep sets cut
    short. ``shortest`` maps each outcome (and each kind of finding) to its run with the
    fewest preemptions, then steps; ``shrunk`` each kind of finding to its smallest schedule
    (see :class:`~ipcsim.explore.shrink.Shrunk`); ``nondeterminism`` lists the schedules
    that ran two ways."""

    path: str
    entry: str
    results: list[SeedResult]
    seconds: float
    jobs: int
    interrupted: bool = False      # Ctrl-C stopped it: results holds the seeds done
    strategy: str = "random"
    depth: int = 3
    bound: int | None = None
    reduction: bool = True
    seed: int = 0
    complete: bool | None = None
    interleavings: int | None = None
    pruned: int = 0
    shortest: dict[str, SeedResult] = attrs.Factory(dict)
    shrunk: dict[str, Any] = attrs.Factory(dict)
    nondeterminism: list[str] = attrs.Factory(list)
    options: str = ""          # what a replay command repeats (" --max-steps 10")
    cluster: bool = False      # the seeds ran on a Dask cluster (jobs: its threads)

    def __repr__(self) -> str:
        from ..views import report_summary
        return report_summary(self)

    @property
    def seeds_per_second(self) -> float:
        runs = len(self.results) + self.pruned
        return runs / self.seconds if self.seconds > 0 else float("inf")

    @property
    def schedules(self) -> int:
        """The runs made (the pruned ones too)."""
        return len(self.results) + self.pruned

    def seeds(self, kind: str) -> list[int]:
        """The seeds (dfs: run numbers) of one kind, in increasing order."""
        return sorted(r.seed for r in self.results if r.kind == kind)

    def outcomes(self) -> dict[str, list[int]]:
        """Outcome (repr) -> its seeds, for the runs that ended; in order of first seed."""
        groups: dict[str, list[int]] = {}
        for r in sorted(self.results, key=lambda r: r.seed):
            if r.kind == OK:
                groups.setdefault(r.outcome, []).append(r.seed)
        return groups

    def records(self) -> list[dict[str, object]]:
        """One dict per run (seed, kind, outcome, detail, schedule, preemptions, steps):
        ``pandas.DataFrame(report.records())`` makes a table of them."""
        return [attrs.asdict(r) for r in self.results]

    def to_frame(self) -> Any:
        """The runs as a ``pandas.DataFrame`` (see :meth:`records`); needs pandas."""
        try:
            import pandas  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise ImportError("Report.to_frame() needs pandas (pip install pandas); "
                              "Report.records() gives the same rows as dicts") from None
        return pandas.DataFrame(self.records(), columns=[f.name for f in
                                                         attrs.fields(SeedResult)])

    def _repr_html_(self) -> str:
        from ..views import report_html
        return report_html(self)

    def _repr_svg_(self) -> str:
        from ..views import report_svg
        return report_svg(self)

    def _repr_pretty_(self, printer: PrettyPrinter, cycle: bool) -> None:
        from ..views import report_summary
        printer.text(report_summary(self))

    def first(self, kind: str) -> SeedResult | None:
        found = [r for r in self.results if r.kind == kind]
        return min(found, key=lambda r: r.seed) if found else None

    def replay(self, result: SeedResult) -> str:
        """The command that replays a run of the report."""
        from .shrink import replay_command
        if self.strategy == "random" and not result.schedule:
            return replay_command(self.path, self.entry, result.seed, None, self.options)
        seed = self.seed if self.strategy == "dfs" else result.seed
        return replay_command(self.path, self.entry, seed, result.schedule or "-",
                              self.options)

    def headline(self) -> str:
        """The first line of :meth:`text`."""
        n = len(self.results)
        if self.strategy == "dfs":
            how = (f"dfs{'' if self.reduction else ' without reduction'}"
                   + (f", at most {self.bound} preemption{'s' if self.bound != 1 else ''}"
                      if self.bound is not None else ""))
            kinds = {r.kind for r in self.results}
            found = [("no deadlock" if DEADLOCK not in kinds else
                      f"{len(self.seeds(DEADLOCK))} deadlocking"),
                     ("no failure" if FAILED not in kinds else
                      f"{len(self.seeds(FAILED))} failing"),
                     _plural(len(self.outcomes()), "outcome")]
            if UNFINISHED in kinds:
                found.insert(2, f"{len(self.seeds(UNFINISHED))} not finished")
            counted = (f"{self.interleavings:,} distinct interleaving"
                       f"{'s' if self.interleavings != 1 else ''} ({self.schedules:,} "
                       f"schedule{'s' if self.schedules != 1 else ''}"
                       + (f", {self.pruned:,} cut short by sleep sets" if self.pruned else "")
                       + ")")
            if self.bound is not None:
                counted += (f" with at most {self.bound} preemption"
                            f"{'s' if self.bound != 1 else ''}")
            if self.complete:
                line = f"explored all {counted}: {', '.join(found)}"
            elif self.interrupted:
                line = (f"interrupted (Ctrl-C): explored {counted}, not all: "
                        f"{', '.join(found)} so far")
            else:
                why = ("the scenario ran two ways" if self.nondeterminism else
                       "the budget ran out")
                line = (f"explored {counted} before {why}, not all: {', '.join(found)} so "
                        f"far")
            return (f"{line}\n  {how} of {self.path} ({self.entry}) in {self.seconds:.2f} s: "
                    f"{self.seeds_per_second:,.0f} schedules/s")
        line = (f"explored {n:,} seed{'s' if n != 1 else ''} of {self.path} ({self.entry}) in "
                f"{self.seconds:.2f} s: {self.seeds_per_second:,.0f} seeds/s "
                + (f"on a Dask cluster of {self.jobs} thread{'s' if self.jobs != 1 else ''}"
                   if self.cluster else
                   f"with {self.jobs} job{'s' if self.jobs != 1 else ''}")
                + (f" (pct, depth {self.depth})" if self.strategy == "pct" else ""))
        return ("interrupted (Ctrl-C): " if self.interrupted else "") + line

    def text(self, limit: int = 12) -> str:
        """The report as ``ipcsim explore`` prints it."""
        dfs = self.strategy == "dfs"
        unit = "run" if dfs else "seed"
        lines = [self.headline()]
        outcomes = self.outcomes()
        ok = sum(len(s) for s in outcomes.values())
        lines.append(f"  ok        {ok:6,d} {unit}{'s' if ok != 1 else ''}, "
                     f"{len(outcomes)} distinct outcome{'s' if len(outcomes) != 1 else ''}")
        shown_outcomes = outcomes if len(outcomes) > 1 or \
            (self.shortest and self.strategy != "random") else {}
        for outcome, seeds in list(shown_outcomes.items())[:limit]:
            shown = outcome if len(outcome) <= 100 else outcome[:97] + "..."
            best = self.shortest.get(outcome)
            if best is None or not best.schedule or self.strategy == "random":
                where = f"first {unit} {seeds[0]}"      # (--seed replays it)
            elif dfs:
                where = f"shortest schedule {best.schedule}"
            else:
                where = f"shortest schedule {best.schedule}, seed {best.seed}"
            if shown_outcomes:
                lines.append(f"    {len(seeds):6,d} x {shown}  ({where})")
        if len(outcomes) > 1:
            if any(_ADDRESS.search(outcome) for outcome in outcomes):
                lines.append("    (outcomes show memory addresses, which differ from run to "
                             "run: return values with a stable repr)")
            if len(outcomes) > limit:
                rest = list(outcomes.values())[limit:]
                lines.append(f"    ... {len(rest)} more outcomes "
                             f"({sum(map(len, rest))} {unit}s): Report.outcomes() has them all")
        for kind in (DEADLOCK, FAILED, UNFINISHED):
            seeds = self.seeds(kind)
            if kind == UNFINISHED and not seeds:
                continue                 # (only where a limit was given and reached)
            shown = ", ".join(map(str, seeds[:limit])) + (", ..." if len(seeds) > limit else "")
            label = f"{kind:9} {len(seeds):6,d}" if kind != UNFINISHED else \
                f"did not finish: {len(seeds)}"
            lines.append(f"  {label} {unit}{'s' if len(seeds) != 1 else ''}"
                         + (f": {shown}" if seeds and not dfs else ""))
            first = self.first(kind)
            if first is None:
                continue
            small = self.shrunk.get(kind)
            if small is not None:
                lines.append(f"    {unit} {first.seed}: {_failure_text(kind, first.detail)}")
                lines.append(f"    shrunk to {_plural(small.preemptions, 'preemption')} and "
                             f"{_plural(small.steps, 'step')} (from "
                             f"{_plural(small.original_preemptions, 'preemption')} and "
                             f"{_plural(small.original_steps, 'step')}; "
                             f"{_plural(small.tried, 'replay')})")
                lines.append(f"    replay it: "
                             f"{small.replay(self.path, self.entry, self.options)}")
                if small.timeline:
                    lines.extend("      " + line for line in small.timeline.splitlines())
            else:
                lines.append(f"    {unit} {first.seed}: {_failure_text(kind, first.detail)}")
                lines.append(f"    replay it: {self.replay(first)}")
        for problem in self.nondeterminism[:limit]:
            lines.append(f"  NONDETERMINISM: {problem}")
        return "\n".join(lines)

    def findings(self) -> int:
        """How many runs deadlocked, failed or did not finish (or ran two ways)."""
        return sum(r.kind != OK for r in self.results) + len(self.nondeterminism)


def _failure_text(kind: str, detail: str) -> str:
    return detail if kind == FAILED else _waits_text(detail)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _waits_text(detail: str, width: int = 100) -> str:
    """A deadlock's or an unfinished run's waits ("pid 2 waits in ...; pid 3 ...") on about
    one line: the first, those that still fit in ``width``, and how many more (a replay of
    the seed shows them all)."""
    waits = detail.split("; ")
    shown = waits[:1]
    for wait in waits[1:]:
        if len("; ".join(shown + [wait])) > width:
            break
        shown.append(wait)
    more = len(waits) - len(shown)
    return "; ".join(shown) + (f"; ... ({more} more)" if more else "")


# A scenario: ``fn(k)`` forks the programs of a run on the kernel ``k``; what it returns
# (a value, a callable, or processes whose results count) is the run's outcome.
Scenario = Callable[[Kernel], object]


def load_scenario(path: str, entry: str = "scenario") -> Scenario:
    """The function ``entry`` of the Python file ``path`` (SystemExit with a message if the
    file or the function is missing, or the path is not a file it can read)."""
    try:
        with open(path, "rb"):      # (run_path would run a directory's __main__.py)
            pass
    except OSError as e:
        raise SystemExit(f"ipcsim: cannot run {path}: {e.strerror or e}") from None
    with loading(path):
        namespace = runpy.run_path(path, run_name="__ipcsim_scenario__")
    return entry_of(namespace, path, entry)


@contextlib.contextmanager
def loading(path: str) -> Iterator[None]:
    """Running the code of the scenario file ``path``: what it raises (but Ctrl-C and
    SystemExit) becomes a SystemExit whose one line says where and what."""
    try:
        yield
    except SyntaxError as e:
        where = f"{path}:{e.lineno}" if e.lineno else path
        line = (e.text or "").rstrip("\n")
        shown = f"\n    {line.strip()}" if line.strip() else ""
        raise SystemExit(f"ipcsim: {where}: SyntaxError: {e.msg}{shown}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        raise SystemExit(f"ipcsim: {path}{_where(e, path)}: loading it raised "
                         f"{type(e).__name__}: {e}") from None


def entry_of(namespace: dict[str, Any], path: str, entry: str) -> Scenario:
    """The function ``entry`` the scenario file ``path`` defined (SystemExit if none)."""
    fn: Scenario | None = namespace.get(entry)
    if not callable(fn):
        raise SystemExit(f"ipcsim: {path} defines no function {entry}(k)")
    return fn


def _where(e: BaseException, path: str) -> str:
    """``:LINE`` of the deepest frame of ``e``'s traceback in the file ``path``."""
    line = None
    for frame in traceback.extract_tb(e.__traceback__):
        if os.path.abspath(frame.filename) == os.path.abspath(path):
            line = frame.lineno
    return f":{line}" if line else ""


def _outcome(value: object) -> object:
    if callable(value):
        return value()
    if isinstance(value, (list, tuple)) and value and all(hasattr(v, "result") for v in value):
        return [v.result for v in value]
    return value


@attrs.frozen
class Limits:
    """Where a run stops though programs still run: after ``max_steps`` switch points,
    or at ``until`` seconds of virtual time (None: no such limit)."""

    max_steps: int | None = None
    until: float | None = None

    def options(self) -> str:
        """The options of ``ipcsim run`` that set these limits."""
        return ((f" --max-steps {self.max_steps}" if self.max_steps is not None else "")
                + (f" --until {self.until:g}" if self.until is not None else ""))

    def text(self) -> str:
        parts = ([f"{self.max_steps} steps"] if self.max_steps is not None else []) + \
            ([f"t={self.until:g}s"] if self.until is not None else [])
        return " or ".join(parts)


NO_LIMITS = Limits()


def run_seed(fn: Scenario, seed: int, trace: bool = False, executor: str | None = None,
             limits: Limits = NO_LIMITS,
             control: Recorder | None = None) -> tuple[SeedResult, Kernel]:
    """Run the scenario ``fn`` once with ``seed`` (and ``executor``, the default if None;
    ``limits`` stop a run that goes on too long; ``control`` records the run, and steers it
    unless it only observes); the kernel is closed afterwards but stays readable (its
    trace, its processes). Ctrl-C (see :func:`catching_ctrl_c`) comes out as
    KeyboardInterrupt; everything the scenario raises, KeyboardInterrupt included, is its
    failure. A run that ``control`` ended early is PRUNED."""
    k = Kernel(seed=seed, trace=trace, executor=executor)
    if control is not None:
        k.sched.set_control(control)
    try:
        result = _run(k, fn, seed, limits, control)
    finally:
        if control is not None:
            control.finish()
        k.close()
    if control is not None:
        result = attrs.evolve(result, schedule=encode(control.schedule()),
                              preemptions=control.preemptions, steps=len(control.steps))
    return result, k


def _run(k: Kernel, fn: Scenario, seed: int, limits: Limits,
         control: Recorder | None) -> SeedResult:
    try:
        value = fn(k)
        k.run(until=limits.until, max_steps=limits.max_steps)
        if control is not None and control.stopped:
            return SeedResult(seed, PRUNED, detail=control.mismatch or "")
        running = unfinished(k) if limits != NO_LIMITS else ""   # (else none runs on)
        if running:
            return SeedResult(seed, UNFINISHED, detail=f"still running at {limits.text()}: "
                                                       f"{running}")
        return SeedResult(seed, OK, repr(_outcome(value)))
    except DeadlockError as e:
        if control is not None and control.stopped:
            return SeedResult(seed, PRUNED, detail=control.mismatch or "")
        return SeedResult(seed, DEADLOCK, detail="; ".join(
            f"pid {pid} waits in {what}" for pid, what in e.blocked))
    except BaseException as e:  # a program's (or the scenario's) error
        if isinstance(e, KeyboardInterrupt) and ctrl_c_pressed():
            raise
        return SeedResult(seed, FAILED, detail=describe_failure(e))


def unfinished(k: Kernel) -> str:
    """The programs still running after a run that a limit stopped ("" if none): each
    with what it waits in, or "runnable"."""
    sched = k.sched
    waits = dict(sched.blocked())
    return "; ".join(f"pid {pid} " + (f"waits in {waits[pid]}" if pid in waits else "runnable")
                     for pid in sorted(sched.programs))


# --- what a failure says ---------------------------------------------------------------------
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _user_frame(frame: FrameType) -> bool:
    """A frame of the user's code: not ipcsim's, not a generated wrapper, not the stdlib's
    runpy."""
    name = frame.f_code.co_filename
    return not name.startswith("<") and not os.path.abspath(name).startswith(_PACKAGE)


def _frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    out = []
    while tb is not None:
        out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return out


def failed_call(e: BaseException) -> tuple[int, str, tuple[Any, ...], int] | None:
    """``(pid, call, args, index of its frame)`` of the system call that raised ``e`` (the
    outermost call: what the program called), found in the traceback's frames at the time
    of the report, so that the calls themselves carry nothing for it."""
    return syscall.outermost_call(frame for frame, _line in _frames(e.__traceback__))


def strace_text(name: str, args: tuple[Any, ...], e: BaseException) -> str:
    """``semop(99, [(0, -1, 0)]) = -1 EINVAL (Invalid argument)``: a failed call as strace
    shows it (a call that raised something else than OSError: ``= ? TypeError: ...``)."""
    call = syscall.call_text(name, args)
    if isinstance(e, OSError) and e.errno is not None:
        code = _errno.errorcode.get(e.errno, str(e.errno))
        return f"{call} = -1 {code} ({e.strerror or os.strerror(e.errno)})"
    return f"{call} = ? {_error_text(e)}"


def _error_text(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _program_pid(e: BaseException) -> int | None:
    """The pid of the program whose body raised ``e`` (the scheduler's frame that ran it)."""
    from ..sim.scheduler import Scheduler
    main = Scheduler.main.__code__
    for frame, _line in _frames(e.__traceback__):
        if frame.f_code is main:
            return getattr(frame.f_locals.get("proc"), "pid", None)
    return None


def describe_failure(e: BaseException) -> str:
    """What went wrong, in one line: the process, the program's line, and the error (a
    failed system call as strace shows it), e.g. ``pid 2 at phil.py:14 (philosopher):
    semop(99, [(0, -1, 0)]) = -1 EINVAL (Invalid argument)``."""
    frames = _frames(e.__traceback__)
    call = failed_call(e)
    stop = call[3] if call is not None else len(frames)
    user = [(f, line) for f, line in frames[:stop] if _user_frame(f)]
    pid = call[0] if call is not None else _program_pid(e)
    where = []
    if pid:
        where.append(f"pid {pid}")
    if user:
        frame, line = user[-1]
        where.append(f"at {frame.f_code.co_filename}:{line} ({frame.f_code.co_name})")
    error = strace_text(call[1], call[2], e) if call is not None else _error_text(e)
    return f"{' '.join(where)}: {error}" if where else error


def failure_traceback(e: BaseException) -> str:
    """The frames of the user's code that led to ``e`` (ipcsim's own frames left out),
    then the error as :func:`describe_failure` words it."""
    frames = _frames(e.__traceback__)
    call = failed_call(e)
    stop = call[3] if call is not None else len(frames)
    summary = traceback.StackSummary.extract(
        ((f, line) for f, line in frames[:stop] if _user_frame(f)), capture_locals=False)
    error = strace_text(call[1], call[2], e) if call is not None else _error_text(e)
    return "Traceback (most recent call last):\n" + "".join(summary.format()) + error + "\n"


# --- Ctrl-C --------------------------------------------------------------------------------
_pressed = threading.Event()


def ctrl_c_pressed() -> bool:
    """Whether Ctrl-C (SIGINT) came while :func:`catching_ctrl_c` was in effect; a
    KeyboardInterrupt that a scenario raises itself is its failure, not a stop."""
    return _pressed.is_set()


@contextlib.contextmanager
def catching_ctrl_c() -> Iterator[None]:
    """Tell Ctrl-C (a real SIGINT) from a KeyboardInterrupt a scenario raises: while in
    effect, SIGINT still raises KeyboardInterrupt, and marks it as pressed (main thread
    only: elsewhere the process's handler stays)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _pressed.clear()

    def pressed(signum: int, frame: object) -> None:
        _pressed.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, pressed)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --- many seeds ----------------------------------------------------------------------------
@attrs.frozen
class Strategy:
    """How the runs of an exploration are picked: ``name`` "random" (each seed's own
    picks), "pct" (see :class:`~ipcsim.explore.schedule.PCT`: ``depth``, and ``length``, the
    steps of an unsteered run) or "dfs" (see :mod:`ipcsim.explore.dfs`: ``reduction``,
    ``bound`` on preemptions)."""

    name: str = "random"
    depth: int = 3
    length: int = 0
    bound: int | None = None
    reduction: bool = True

    def control(self, seed: int) -> Recorder | None:
        """The control of a seed's run (None: the seed's own picks, unrecorded)."""
        if self.name == "pct":
            return Recorder(PCT(seed, self.depth, self.length))
        return None


RANDOM = Strategy()
STRATEGIES = ("random", "pct", "dfs")


def _run_chunk(path: str, entry: str, seeds: list[int], executor: str | None,
               limits: Limits, strategy: Strategy = RANDOM) -> list[SeedResult]:
    fn = load_scenario(path, entry)
    return [run_seed(fn, s, executor=executor, limits=limits, control=strategy.control(s))[0]
            for s in seeds]


class Progress:
    """A one-line progress bar on a terminal (nothing elsewhere); ``total`` None: a count
    of unknown end."""

    def __init__(self, total: int | None, stream: TextIO | None = None,
                 enabled: bool | None = None):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.done = 0

    def update(self, n: int, bad: int) -> None:
        self.done += n
        if not self.enabled:
            return
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        if self.total is None:
            bar = f"{self.done}"
        else:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
        self.stream.write(f"\r{bar} seeds, {bad} deadlocked, failed or unfinished, "
                          f"{rate:,.0f} seeds/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _count(seeds: Iterable[int]) -> int | None:
    """How many seeds there are, where that is known without going through them."""
    try:
        return len(seeds)  # type: ignore[arg-type]
    except (TypeError, OverflowError):     # an iterator; a range past sys.maxsize
        return None


def _chunks(seeds: Iterable[int], size: int) -> Iterator[list[int]]:
    it = iter(seeds)
    while True:
        part = list(itertools.islice(it, size))
        if not part:
            return
        yield part


def parse_budget(budget: int | float | str | None) -> tuple[int | None, float | None]:
    """``(runs, seconds)`` of a budget: an int is a number of schedules (runs), a float or
    a text ending in "s" ("30s", "2.5s") seconds; a text of digits is runs. ValueError for
    anything else or a budget that is not positive."""
    if budget is None:
        return None, None
    if isinstance(budget, bool):
        raise ValueError(f"not a budget: {budget!r}")
    if isinstance(budget, str):
        text = budget.strip()
        try:
            if text.endswith("s"):
                budget = float(text[:-1])
            else:
                budget = int(text)
        except ValueError:
            raise ValueError(f"not a budget: {budget!r} (a number of schedules, or seconds "
                             f"like 30s)") from None
    if isinstance(budget, int):
        if budget < 1:
            raise ValueError(f"the budget must be at least 1 schedule, not {budget}")
        return budget, None
    if isinstance(budget, float):
        if not budget > 0 or budget == float("inf"):
            raise ValueError(f"the budget must be a positive, finite number of seconds, not "
                             f"{budget}")
        return None, budget
    raise ValueError(f"not a budget: {budget!r}")


def explore(path: str, seeds: Iterable[int] | None = None, *, entry: str = "scenario",
            strategy: str = "random", depth: int = 3, preemption_bound: int | None = None,
            reduction: bool = True, budget: int | float | str | None = None, jobs: int = 1,
            client: Any = None, progress: Progress | bool | None = None,
            executor: str | None = None, max_steps: int | None = None,
            until: float | None = None, shrink: bool = True) -> Report:
    """Explore the interleavings of the scenario of ``path`` (the function ``entry``).

    ``strategy``:

    * ``"random"``: one run per seed, the seed picking at every switch point (``ipcsim run
      FILE --seed N`` replays seed N);
    * ``"pct"``: one run per seed under probabilistic concurrency testing of ``depth`` (see
      :class:`~ipcsim.explore.schedule.PCT`);
    * ``"dfs"``: every schedule, depth first; with ``reduction`` (the default) only one per
      interleaving or little more (see :mod:`ipcsim.explore.dfs`). ``preemption_bound``
      keeps to schedules with at most that many preemptions (without reduction). Runs on
      the kernel seed ``seeds[0]`` (0 if no seeds are given).

    ``seeds`` (random, pct; default ``range(100)``) is read as the runs go (a huge range, or
    an endless iterator, is fine: Ctrl-C then ends it). ``budget`` caps the runs: an int is
    a number of schedules, a float (or "30s") seconds. ``jobs`` processes share the seeds
    (0: one per core); ``client`` (a ``distributed.Client``) spreads them over a Dask
    cluster instead. ``max_steps`` and ``until`` stop each run (see :meth:`Kernel.run`); a
    run whose programs still run then "did not finish". Ctrl-C stops the exploration: the
    report has the runs done so far and ``interrupted`` set.

    Every run's schedule is recorded (for random, that of the first run of each outcome);
    with ``shrink``, each kind of failure's first schedule is shrunk (see
    :mod:`ipcsim.explore.shrink`) and each outcome's shortest schedule is replayed once to
    check that the schedule alone decides the run. Results do not depend on ``jobs``,
    ``client`` nor ``executor``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if type(depth) is not int or depth < 1:
        raise ValueError(f"depth must be an int of at least 1, not {depth!r}")
    if preemption_bound is not None and (type(preemption_bound) is not int
                                         or preemption_bound < 0):
        raise ValueError(f"preemption_bound must be an int of at least 0, not "
                         f"{preemption_bound!r}")
    if strategy == "dfs" and (client is not None or jobs != 1):
        raise ValueError("dfs runs in one process: jobs and client spread the seeds of "
                         "random and pct")
    executor = check_executor(executor)
    limits = Limits(max_steps, until)
    runs, seconds = parse_budget(budget)
    fn = load_scenario(path, entry)          # a missing file or function fails here, once
    start = time.perf_counter()
    deadline = start + seconds if seconds is not None else None
    if strategy == "dfs":
        first = next(iter(seeds), 0) if seeds is not None else 0
        spec = Strategy("dfs", depth, bound=preemption_bound,
                        reduction=reduction and preemption_bound is None)
        report = _explore_dfs(fn, path, entry, first, spec, runs, deadline, progress,
                              executor, limits)
    else:
        if seeds is None:
            seeds = range(runs or 100) if seconds is None else itertools.count()
        elif runs is not None:
            total = _count(seeds)
            seeds = range(seeds[0], seeds[0] + min(total, runs)) \
                if isinstance(seeds, range) and seeds.step == 1 and total is not None \
                else itertools.islice(seeds, runs)
        spec = Strategy(strategy, depth)
        if strategy == "pct":
            spec = attrs.evolve(spec, length=_unsteered_length(fn, seeds, executor, limits))
        report = _explore_seeds(path, entry, seeds, spec, jobs, client, deadline, progress,
                                executor, limits)
    report.seconds = time.perf_counter() - start
    report.options = limits.options()
    report.cluster = client is not None
    if shrink and not report.interrupted:
        from .post import finish, finish_apart
        with catching_ctrl_c():
            try:
                if report.jobs > 1 or client is not None:
                    finish_apart(report, path, entry, executor, limits)
                else:
                    finish(report, fn, executor, limits)
            except KeyboardInterrupt:
                if not ctrl_c_pressed():
                    raise
                report.interrupted = True
    return report


def _unsteered_length(fn: Scenario, seeds: Iterable[int], executor: str | None,
                      limits: Limits) -> int:
    """PCT's k: the steps of the scenario's run without preemption (on the first seed)."""
    from .schedule import Unsteered
    first = seeds[0] if isinstance(seeds, range) and len(seeds) else 0
    rec = Recorder(Unsteered())
    run_seed(fn, first, executor=executor, limits=limits, control=rec)
    return len(rec.steps)


def _explore_seeds(path: str, entry: str, seeds: Iterable[int], spec: Strategy, jobs: int,
                   client: Any, deadline: float | None, progress: Progress | bool | None,
                   executor: str | None, limits: Limits) -> Report:
    """The runs of random and pct: one per seed, in chunks, here or in workers."""
    total = _count(seeds)
    if client is not None:
        jobs = max(1, sum(client.nthreads().values()))    # (the chunks' size)
    elif jobs <= 0:
        jobs = os.cpu_count() or 1
    jobs = max(1, min(jobs, total or 1) if total is not None else jobs)
    bar = progress if isinstance(progress, Progress) else Progress(total, enabled=progress)
    results: list[SeedResult] = []
    size = max(1, min(200, (total or 0) // (jobs * 8) or (1 if total else 50)))
    chunks = _until(_chunks(seeds, size), deadline)
    interrupted = False
    fn = load_scenario(path, entry)
    with catching_ctrl_c():
        try:
            if client is not None:
                from .cluster import run_on_cluster
                jobs = run_on_cluster(client, path, entry, chunks, executor, limits, spec,
                                      results, bar)
            elif jobs == 1:
                for part in chunks:
                    for seed in part:
                        results.append(run_seed(fn, seed, executor=executor, limits=limits,
                                                control=spec.control(seed))[0])
                    bar.update(len(part), sum(r.kind != OK for r in results))
            else:
                _explore_in_pool(path, entry, chunks, jobs, executor, limits, results, bar,
                                 spec)
        except KeyboardInterrupt:
            if not ctrl_c_pressed():
                raise
            interrupted = True
    bar.close()
    results.sort(key=lambda r: r.seed)
    return Report(path, entry, results, 0.0, jobs, interrupted, strategy=spec.name,
                  depth=spec.depth)


def _same_end(ends: dict[int, SeedResult], signature: int | None, result: SeedResult,
              problems: list[str]) -> None:
    """Two schedules of one interleaving must end alike: if not, the programs share what
    the kernel does not see (a Python object, a file outside it), and the reduction, which
    runs one schedule per interleaving, cannot be trusted with them."""
    from .shrink import same_failure
    if signature is None:
        return
    first = ends.setdefault(signature, result)
    if first is not result and not same_failure(first, result) and len(problems) < 20:
        def ended(r: SeedResult) -> str:
            text = r.outcome if r.kind == OK else f"{r.kind}: {r.detail}"
            return text if len(text) <= 80 else text[:77] + "..."
        problems.append(
            f"schedules {first.schedule} and {result.schedule} are one interleaving of the "
            f"system calls but ended differently ({ended(first)}; {ended(result)}): the "
            f"programs share something the kernel does not see (a Python object, a file "
            f"outside it), which dfs cannot order; share it through IPC, or use "
            f"--no-reduction and random or pct seeds")


def _until(chunks: Iterator[list[int]], deadline: float | None) -> Iterator[list[int]]:
    """The chunks, until the deadline (if any) has passed."""
    for chunk in chunks:
        if deadline is not None and time.perf_counter() >= deadline:
            return
        yield chunk


def _explore_dfs(fn: Scenario, path: str, entry: str, seed: int, spec: Strategy,
                 runs: int | None, deadline: float | None, progress: Progress | bool | None,
                 executor: str | None, limits: Limits) -> Report:
    from .dfs import Exploration, Nondeterminism
    search = Exploration(fn, seed=seed, reduction=spec.reduction, bound=spec.bound,
                         max_runs=runs, deadline=deadline, executor=executor, limits=limits)
    bar = progress if isinstance(progress, Progress) else Progress(None, enabled=progress)
    results: list[SeedResult] = []
    pruned = 0
    interrupted = False
    problems: list[str] = []
    ends: dict[int, SeedResult] = {}      # interleaving -> how its first run ended
    with catching_ctrl_c():
        try:
            for run in search:
                if run.result.kind == PRUNED:
                    pruned += 1
                else:
                    results.append(run.result)
                    _same_end(ends, run.signature, run.result, problems)
                if search.runs % 50 == 0:
                    bar.update(50, sum(r.kind != OK for r in results))
        except Nondeterminism as e:
            problems.append(str(e))
        except KeyboardInterrupt:
            if not ctrl_c_pressed():
                raise
            interrupted = True
    bar.close()
    return Report(path, entry, results, 0.0, 1, interrupted, strategy="dfs", depth=spec.depth,
                  bound=spec.bound, reduction=spec.reduction, seed=seed,
                  complete=search.complete and not interrupted and not problems,
                  interleavings=search.interleavings, pruned=pruned, nondeterminism=problems)


def _explore_in_pool(path: str, entry: str, chunks: Iterator[list[int]], jobs: int,
                     executor: str | None, limits: Limits, results: list[SeedResult],
                     bar: Progress, strategy: Strategy = RANDOM) -> None:
    """Run the chunks in ``jobs`` worker processes, two chunks queued for each (the seeds
    are read as they are needed); results are appended as chunks end. A worker that dies (a
    scenario calling ``os._exit``, a signal) fails the seeds of the chunk it ran; a new
    worker takes the chunks queued behind it."""
    import multiprocessing
    from multiprocessing.connection import wait
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    ctx = multiprocessing.get_context(method)
    workers: list[_Worker] = []

    def give(w: _Worker) -> None:
        """Queue the next chunk for ``w``, or end it when none is left and it has ended."""
        chunk = next(chunks, None)
        if chunk is not None:
            w.send(chunk)
        elif not w.chunks:
            w.end()

    try:
        for _ in range(jobs):
            workers.append(_Worker(ctx, path, entry, executor, limits, strategy))
            give(workers[-1])
            give(workers[-1])
        while True:
            busy = [w for w in workers if w.chunks]
            if not busy:
                break
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for w in busy:
                if w.conn not in ready and w.process.sentinel not in ready:
                    continue
                try:
                    got: list[SeedResult] | BaseException = w.conn.recv()
                    w.chunks.popleft()
                except (EOFError, OSError):   # it died: a new worker takes what it had left
                    got = w.died()
                    new = _Worker(ctx, path, entry, executor, limits, strategy)
                    for chunk in w.chunks:
                        new.send(chunk)
                    workers[workers.index(w)] = w = new
                if isinstance(got, BaseException):
                    raise got
                results.extend(got)
                bar.update(len(got), sum(r.kind != OK for r in results))
                give(w)
    except BaseException:
        # a second Ctrl-C while the workers are ended would interrupt the ending
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) \
            if threading.current_thread() is threading.main_thread() else None
        try:
            for w in workers:
                w.process.terminate()
            for w in workers:
                w.process.join()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        raise
    for w in workers:
        w.process.join()


class _Worker:
    """A process running the chunks of seeds it is sent, in order; ``chunks`` are those it
    has not answered yet, the one it runs first."""

    def __init__(self, ctx: Any, path: str, entry: str, executor: str | None,
                 limits: Limits, strategy: Strategy = RANDOM):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_work,
                                   args=(child, path, entry, executor, limits, strategy),
                                   daemon=True)
        self.process.start()
        child.close()
        self.chunks: collections.deque[list[int]] = collections.deque()

    def send(self, chunk: list[int]) -> None:
        self.chunks.append(chunk)
        with contextlib.suppress(OSError):    # it died: its pipe's end tells, when read
            self.conn.send(chunk)

    def died(self) -> list[SeedResult]:
        """The seeds of the chunk it ran, failed (its chunk is taken off ``chunks``)."""
        self.process.join()
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit status {code}"
        self.conn.close()
        detail = f"the worker running it died ({how})"     # (see post.WORKER_DIED)
        return [SeedResult(seed, FAILED, detail=detail) for seed in self.chunks.popleft()]

    def end(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()


def _work(conn: Any, path: str, entry: str, executor: str | None, limits: Limits,
          strategy: Strategy = RANDOM) -> None:
    """A worker's life: run each chunk it receives, send back its results (or the error
    that stopped it), until it receives None. Ctrl-C reaches the whole process group: only
    the parent answers it, by ending the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        part = conn.recv()
        if part is None:
            return
        answer: list[SeedResult] | BaseException
        try:
            answer = _run_chunk(path, entry, part, executor, limits, strategy)
        except BaseException as e:   # noqa: B036 (the parent raises it)
            answer = e
        try:
            conn.send(answer)
        except Exception as e:       # an error that does not pickle: its text goes instead
            conn.send(RuntimeError(f"{type(e).__name__}: {e}"))
