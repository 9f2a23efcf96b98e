"""Exploring interleavings: run one scenario under many seeds and sort the runs.

A *scenario* is a Python file with a function ``scenario(k)`` that sets up programs on a
fresh kernel ``k`` (``k.init.fork(target=...)`` and so on) and does not run them. It may
return what the run's *outcome* is: a function called after the run (its value is the
outcome), or a list of processes (their ``result`` values are the outcome). Each seed gives
one interleaving; :func:`explore` runs ``k.run()`` for each and sorts the seeds into

* **deadlock**: ``k.run()`` raised DeadlockError (every remaining program blocked forever),
* **failed**: a program raised an exception (or the scenario did),
* **ok**: the run ended; seeds are grouped by outcome, so differing outcomes show.

Every seed is reproducible: ``ipcsim run FILE --seed N`` replays it with its timeline.
For that, and for results that do not depend on ``jobs``, ``scenario(k)`` must depend only
on ``k``: each process running seeds loads the file once and calls it for many seeds, so
state kept between calls (a module-level list, a counter) would leak from seed to seed.
"""
from __future__ import annotations

import os
import re
import runpy
import signal
import sys
import time
import traceback
from typing import Callable, Iterable, TextIO

import attrs

from .errors import DeadlockError
from .kernel.kernel import Kernel
from .kernel.viewable import PrettyPrinter
from .sim.executor import check_executor

DEADLOCK, FAILED, OK = "deadlock", "failed", "ok"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@attrs.frozen
class SeedResult:
    """What one seed did: ``kind`` is "ok", "deadlock" or "failed"; ``outcome`` the
    scenario's outcome (its repr, for ok runs); ``detail`` the error text otherwise."""

    seed: int
    kind: str
    outcome: str = ""
    detail: str = ""


@attrs.define
class Report:
    """The seeds of an exploration by kind, and how fast they ran."""

    path: str
    entry: str
    results: list[SeedResult]
    seconds: float
    jobs: int

    @property
    def seeds_per_second(self) -> float:
        return len(self.results) / self.seconds if self.seconds > 0 else float("inf")

    def seeds(self, kind: str) -> list[int]:
        """The seeds of one kind, in increasing order."""
        return sorted(r.seed for r in self.results if r.kind == kind)

    def outcomes(self) -> dict[str, list[int]]:
        """Outcome (repr) -> its seeds, for the runs that ended; in order of first seed."""
        groups: dict[str, list[int]] = {}
        for r in sorted(self.results, key=lambda r: r.seed):
            if r.kind == OK:
                groups.setdefault(r.outcome, []).append(r.seed)
        return groups

    def _repr_html_(self) -> str:
        from .views import report_html
        return report_html(self)

    def _repr_svg_(self) -> str:
        from .views import report_svg
        return report_svg(self)

    def _repr_pretty_(self, printer: PrettyPrinter, cycle: bool) -> None:
        from .views import report_summary
        printer.text(report_summary(self))

    def first(self, kind: str) -> SeedResult | None:
        found = [r for r in self.results if r.kind == kind]
        return min(found, key=lambda r: r.seed) if found else None

    def text(self, limit: int = 12) -> str:
        """The report as ``ipcsim explore`` prints it."""
        n = len(self.results)
        lines = [f"explored {n} seed{'s' if n != 1 else ''} of {self.path} ({self.entry}) in "
                 f"{self.seconds:.2f} s: {self.seeds_per_second:,.0f} seeds/s with "
                 f"{self.jobs} job{'s' if self.jobs != 1 else ''}"]
        outcomes = self.outcomes()
        ok = sum(len(s) for s in outcomes.values())
        lines.append(f"  ok        {ok:6d} seed{'s' if ok != 1 else ''}, "
                     f"{len(outcomes)} distinct outcome{'s' if len(outcomes) != 1 else ''}")
        if len(outcomes) > 1:
            for outcome, seeds in list(outcomes.items())[:limit]:
                shown = outcome if len(outcome) <= 100 else outcome[:97] + "..."
                lines.append(f"    {len(seeds):6d} x {shown}  (first seed {seeds[0]})")
            if any(_ADDRESS.search(outcome) for outcome in outcomes):
                lines.append("    (outcomes show memory addresses, which differ from run to "
                             "run: return values with a stable repr)")
            if len(outcomes) > limit:
                rest = list(outcomes.values())[limit:]
                lines.append(f"    ... {len(rest)} more outcomes "
                             f"({sum(map(len, rest))} seeds): Report.outcomes() has them all")
        for kind in (DEADLOCK, FAILED):
            seeds = self.seeds(kind)
            shown = ", ".join(map(str, seeds[:limit])) + (", ..." if len(seeds) > limit else "")
            lines.append(f"  {kind:9} {len(seeds):6d} seed{'s' if len(seeds) != 1 else ''}"
                         + (f": {shown}" if seeds else ""))
            first = self.first(kind)
            if first is not None:
                lines.append(f"    seed {first.seed}: {first.detail}")
                lines.append(f"    replay it: ipcsim run {self.path} --seed {first.seed}")
        return "\n".join(lines)


# A scenario: ``fn(k)`` forks the programs of a run on the kernel ``k``; what it returns
# (a value, a callable, or processes whose results count) is the run's outcome.
Scenario = Callable[[Kernel], object]


def load_scenario(path: str, entry: str = "scenario") -> Scenario:
    """The function ``entry`` of the Python file ``path`` (SystemExit with a message if the
    file or the function is missing)."""
    try:
        namespace = runpy.run_path(path, run_name="__ipcsim_scenario__")
    except FileNotFoundError:
        raise SystemExit(f"ipcsim: {path}: no such file") from None
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


def run_seed(fn: Scenario, seed: int, trace: bool = False,
             executor: str | None = None) -> tuple[SeedResult, Kernel]:
    """Run the scenario ``fn`` once with ``seed`` (and ``executor``, the default if None);
    the kernel is closed afterwards but stays readable (its trace, its processes)."""
    k = Kernel(seed=seed, trace=trace, executor=executor)
    try:
        value = fn(k)
        k.run()
        return SeedResult(seed, OK, repr(_outcome(value))), k
    except DeadlockError as e:
        return SeedResult(seed, DEADLOCK, detail="; ".join(
            f"pid {pid} waits in {what}" for pid, what in e.blocked)), k
    except (Exception, SystemExit) as e:  # a program's (or the scenario's) error
        return SeedResult(seed, FAILED, detail=f"{type(e).__name__}: {e}"), k
    finally:
        k.close()


def _run_chunk_args(args: tuple[str, str, list[int], str | None]) -> list[SeedResult]:
    return _run_chunk(*args)


def _run_chunk(path: str, entry: str, seeds: list[int],
               executor: str | None) -> list[SeedResult]:
    fn = load_scenario(path, entry)
    return [run_seed(fn, s, executor=executor)[0] for s in seeds]


class Progress:
    """A one-line progress bar on a terminal (nothing elsewhere)."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool | None = None):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.done = 0

    def update(self, n: int, bad: int) -> None:
        self.done += n
        if not self.enabled:
            return
        width = 30
        filled = width * self.done // max(self.total, 1)
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
                          f" seeds, {bad} deadlocked or failed, {rate:,.0f} seeds/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def explore(path: str, seeds: Iterable[int], *, entry: str = "scenario", jobs: int = 1,
            progress: Progress | bool | None = None, executor: str | None = None) -> Report:
    """Run the scenario of ``path`` once per seed (``jobs`` processes; 0: one per core).

    Results do not depend on ``jobs`` nor on ``executor`` (how programs run: see
    :class:`~ipcsim.Kernel`): each seed's run is the same wherever it runs.
    """
    executor = check_executor(executor)
    seeds = list(seeds)
    if jobs <= 0:
        jobs = os.cpu_count() or 1
    jobs = max(1, min(jobs, len(seeds) or 1))
    bar = progress if isinstance(progress, Progress) else Progress(len(seeds),
                                                                     enabled=progress)
    start = time.perf_counter()
    results: list[SeedResult] = []
    chunk = max(1, min(200, len(seeds) // (jobs * 8) or 1))
    chunks = [seeds[i:i + chunk] for i in range(0, len(seeds), chunk)]
    fn = load_scenario(path, entry)          # a missing file or function fails here, once
    if jobs == 1:
        for part in chunks:
            got = [run_seed(fn, s, executor=executor)[0] for s in part]
            results.extend(got)
            bar.update(len(got), sum(r.kind != OK for r in results))
    else:
        import multiprocessing
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        ctx = multiprocessing.get_context(method)
        # The workers ignore SIGINT: Ctrl-C reaches the whole process group, and only this
        # process answers it, by ending them (a pool that waited for its queued chunks
        # would run on after Ctrl-C).
        pool = ctx.Pool(jobs, initializer=signal.signal,
                        initargs=(signal.SIGINT, signal.SIG_IGN))
        try:
            for got in pool.imap_unordered(_run_chunk_args,
                                           [(path, entry, part, executor) for part in chunks]):
                results.extend(got)
                bar.update(len(got), sum(r.kind != OK for r in results))
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    bar.close()
    results.sort(key=lambda r: r.seed)
    return Report(path, entry, results, time.perf_counter() - start, jobs)
