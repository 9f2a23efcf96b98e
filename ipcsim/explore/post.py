"""What an exploration does once its runs are made: a shortest schedule for each outcome
and each kind of finding, the findings' schedules shrunk (with a timeline), and a replay
of each shortest schedule to check that the schedule alone decides the run."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import attrs

from . import DEADLOCK, FAILED, OK, UNFINISHED
from .shrink import (check_replay, differed as _differed, record, replayer, same_failure,
                     shrink, timeline)

if TYPE_CHECKING:
    from . import Limits, Report, SeedResult

MAX_OUTCOMES = 20        # outcomes given a shortest schedule (and a replay check)
FINDINGS = (DEADLOCK, FAILED, UNFINISHED)
WORKER_DIED = "the worker running it died"


def finish(report: Report, fn: Callable[..., object], executor: str | None,
           limits: Limits) -> None:
    """Fill ``report.shortest``, ``report.shrunk`` and ``report.nondeterminism``."""
    seed_of = (lambda r: report.seed) if report.strategy == "dfs" else (lambda r: r.seed)
    report.shortest = _shortest(report, fn, executor, limits)
    for kind in FINDINGS:
        found = report.shortest.get(kind)
        if found is None or not found.schedule:
            continue
        seed = seed_of(found)
        small = shrink(replayer(fn, seed, executor, limits), found)
        text = timeline(fn, seed, small.schedule, executor, limits)
        report.shrunk[kind] = attrs.evolve(small, timeline=text, seed=seed)
    for key, result in list(report.shortest.items())[:MAX_OUTCOMES + len(FINDINGS)]:
        if not result.schedule:
            continue
        problem = check_replay(replayer(fn, seed_of(result), executor, limits), result)
        if problem is not None:
            report.nondeterminism.append(problem)


def finish_apart(report: Report, path: str, entry: str, executor: str | None,
                 limits: Limits) -> None:
    """:func:`finish` in a worker process, as the runs themselves were (``jobs`` > 1): a
    scenario that ends its process (``os._exit``, a signal) under some schedule ends the
    worker, not the exploration. If the worker dies, the report stays without them."""
    import multiprocessing
    import sys
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    ctx: Any = multiprocessing.get_context(method)
    mine, theirs = ctx.Pipe()
    worker = ctx.Process(target=_finish_worker,
                         args=(theirs, report, path, entry, executor, limits), daemon=True)
    worker.start()
    theirs.close()
    try:
        got = mine.recv()
    except (EOFError, OSError):
        got = None
    finally:
        worker.join()
        mine.close()
    if isinstance(got, BaseException):
        raise got
    if got is not None:
        report.shortest, report.shrunk, report.nondeterminism = got


def _finish_worker(conn: object, report: Report, path: str, entry: str,
                   executor: str | None, limits: Limits) -> None:
    import signal
    from . import load_scenario
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the parent answers Ctrl-C
    try:
        finish(report, load_scenario(path, entry), executor, limits)
        answer: object = (report.shortest, report.shrunk, report.nondeterminism)
    except BaseException as e:  # noqa: B036 (the parent raises it)
        answer = RuntimeError(f"{type(e).__name__}: {e}")
    conn.send(answer)  # type: ignore[attr-defined]


def _shortest(report: Report, fn: Callable[..., object], executor: str | None,
              limits: Limits) -> dict[str, SeedResult]:
    """Outcome (and kind of finding) -> its run with the fewest preemptions, then steps.
    Random runs record no schedule: the first seed of each is run again, recorded."""
    best: dict[str, SeedResult] = {}
    for r in report.results:
        if r.detail.startswith(WORKER_DIED):
            continue                 # (its run left nothing to replay)
        key = r.outcome if r.kind == OK else r.kind
        old = best.get(key)
        if old is None or (r.preemptions, r.steps, r.seed) < \
                (old.preemptions, old.steps, old.seed):
            best[key] = r
    if report.strategy == "random":
        best = {key: r for key, r in best.items()}
        firsts: dict[str, SeedResult] = {}
        for r in sorted(report.results, key=lambda r: r.seed):
            if r.detail.startswith(WORKER_DIED):
                continue
            key = r.outcome if r.kind == OK else r.kind
            firsts.setdefault(key, r)
        ok = [k for k, r in firsts.items() if r.kind == OK][:MAX_OUTCOMES]
        wanted = ok + [k for k, r in firsts.items() if r.kind != OK]
        best = {}
        for key in wanted:
            again = best[key] = record(fn, firsts[key].seed, executor, limits)
            if not same_failure(again, firsts[key]):
                report.nondeterminism.append(_differed(f"seed {again.seed}", firsts[key],
                                                       again))
    ok_keys = [k for k in report.outcomes() if k in best][:MAX_OUTCOMES]
    return {**{k: best[k] for k in ok_keys}, **{k: best[k] for k in FINDINGS if k in best}}
