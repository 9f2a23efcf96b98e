"""Exploring: seeds per second here, in two processes and on a Dask cluster; dfs with and
without reduction.

    python3 benchmarks/bench_explore.py               # full sizes, under a minute
    python3 benchmarks/bench_explore.py --quick       # a smoke run of a few seconds
    python3 benchmarks/bench_explore.py --seeds 10000 # more seeds per run
    python3 benchmarks/bench_explore.py --no-cluster  # without the Dask column

1. seeds/s of ``explore("examples/dining_philosophers.py", range(seeds), strategy=...)``
   for random and pct (depth 3), with ``jobs=1``, ``jobs=2`` (two worker processes) and
   ``client=`` a ``distributed.LocalCluster`` of 2 worker processes of one thread each
   (skipped, with the reason, without distributed: ``pip install 'ipcsim[cluster]'``).
   Each figure is the best of 3 runs (``Report.seeds_per_second``, shrinking off: the runs
   only); the process pool's start is in the figure, the cluster's start is not (it is
   printed apart, and one run warms the workers first). A last column says whether the
   three gave the same results, as they must.
2. dfs on a table of 2 philosophers eating twice and one of 3 eating once (the example's
   naive philosophers at smaller tables; --quick: the first only), with reduction
   (source-DPOR and sleep sets) and without: the schedules run to explore them all, the
   distinct interleavings among them, the seconds it took and schedules/s (the best of 3
   runs, or of those made in the first 2 seconds). Both find every interleaving; reduction
   runs far fewer schedules to do it.

Timings vary from run to run and with the load of the machine; the machine's CPUs bound
what two processes can gain. There is no real-kernel column (``--no-real`` is accepted, for
the smoke test's sake). ``main()`` returns ``{"seeds/s": {strategy: {column: figure}},
"same": {strategy: bool}, "dfs": {table: {"reduction"|"none": {...}}}, "cluster": why
skipped or None}``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ipcsim.explore import explore  # noqa: E402

SCENARIO = str(Path(__file__).resolve().parent.parent / "examples" / "dining_philosophers.py")
STRATEGIES = ("random", "pct")
COLUMNS = ("1 job", "2 jobs", "cluster")

# A table of N philosophers each eating MEALS times, for dfs (small enough to run every
# schedule without reduction).
TABLE = '''\
from ipcsim import IPC_CREAT, IPC_PRIVATE, SETALL

N = {n}
MEALS = {meals}


def philosopher(p, forks, i):
    left, right = i, (i + 1) % N
    for _ in range(MEALS):
        p.semop(forks, [(left, -1, 0)])
        p.semop(forks, [(right, -1, 0)])
        p.sleep(1)
        p.semop(forks, [(left, 1, 0), (right, 1, 0)])
    return MEALS


def scenario(k):
    forks = k.init.semget(IPC_PRIVATE, N, IPC_CREAT | 0o600)
    k.init.semctl(forks, 0, SETALL, [1] * N)
    diners = [k.init.fork(target=philosopher, args=(forks, i)) for i in range(N)]
    return lambda: [p.result for p in diners]
'''
TABLES = {"2 philosophers, 2 meals": (2, 2), "3 philosophers, 1 meal": (3, 1)}


def options(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--no-real", action="store_true",
                    help="accepted for the other benchmarks' sake: there is no real column")
    ap.add_argument("--seeds", type=int, default=None, metavar="N",
                    help="seeds per run (default 2,000; --quick: 200)")
    ap.add_argument("--no-cluster", action="store_true", help="skip the Dask column")
    return ap.parse_args(argv)


def start_cluster() -> tuple[Any, Any, float, str | None]:
    """(cluster, client, seconds to start them, None), or (None, None, 0, why not)."""
    try:
        import distributed
    except ImportError:
        return None, None, 0.0, "distributed is not installed (pip install 'ipcsim[cluster]')"
    t = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(2)
    return cluster, client, time.perf_counter() - t, None


def seeds_per_second(strategy: str, seeds: int, repeat: int, client: Any) -> dict:
    """Column -> (best seeds/s, the results of the runs)."""
    runs = {"1 job": dict(jobs=1), "2 jobs": dict(jobs=2)}
    if client is not None:
        explore(SCENARIO, range(seeds // 10 or 1), strategy=strategy, client=client,
                progress=False, shrink=False)                  # the workers load ipcsim
        runs["cluster"] = dict(client=client)
    out = {}
    for column, how in runs.items():
        reports = [explore(SCENARIO, range(seeds), strategy=strategy, progress=False,
                           shrink=False, **how) for _ in range(repeat)]
        out[column] = (max(r.seeds_per_second for r in reports), reports[0].results)
    return out


def dfs_figures(repeat: int, tables: dict) -> dict:
    """Table -> "reduction"/"none" -> schedules, interleavings, complete, seconds,
    schedules/s (the best of ``repeat`` runs, or of those made in the first 2 s)."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (n, meals) in tables.items():
            path = Path(tmp) / f"table_{n}_{meals}.py"
            path.write_text(TABLE.format(n=n, meals=meals))
            out[name] = {}
            for label, reduction in (("reduction", True), ("none", False)):
                reports = []
                while len(reports) < repeat and sum(r.seconds for r in reports) < 2:
                    reports.append(explore(str(path), strategy="dfs", reduction=reduction,
                                           progress=False, shrink=False))
                best = min(reports, key=lambda r: r.seconds)
                out[name][label] = {"schedules": best.schedules,
                                    "interleavings": best.interleavings,
                                    "complete": bool(best.complete),
                                    "seconds": best.seconds,
                                    "schedules/s": best.seeds_per_second}
    return out


def main(argv: list[str] | None = None) -> dict:
    opts = options(argv)
    seeds = opts.seeds or (200 if opts.quick else 2_000)
    repeat = 1 if opts.quick else 3
    t_start = time.perf_counter()
    cluster, client, started, why = (None, None, 0.0, "--no-cluster") if opts.no_cluster \
        else start_cluster()
    figures: dict = {"seeds/s": {}, "same": {}, "dfs": {}, "cluster": why}
    try:
        for strategy in STRATEGIES:
            got = seeds_per_second(strategy, seeds, repeat, client)
            figures["seeds/s"][strategy] = {column: rate for column, (rate, _) in got.items()}
            results = [r for _, r in got.values()]
            figures["same"][strategy] = all(r == results[0] for r in results)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    tables = dict(list(TABLES.items())[:1]) if opts.quick else TABLES
    figures["dfs"] = dfs_figures(repeat, tables)

    print(f"Exploring {Path(SCENARIO).name}: seeds/s, best of {repeat} "
          f"run{'s' if repeat != 1 else ''} of {seeds:,} seeds")
    print(f"{'strategy':10}" + "".join(f"{c:>10}" for c in COLUMNS) + "  same results")
    for strategy, row in figures["seeds/s"].items():
        cells = "".join(f"{row[c]:10,.0f}" if c in row else f"{'-':>10}" for c in COLUMNS)
        print(f"{strategy:10}{cells}  {'yes' if figures['same'][strategy] else 'NO'}")
    if why is None:
        print(f"cluster: a LocalCluster of 2 worker processes of 1 thread, started in "
              f"{started:.2f} s (not counted)")
    else:
        print(f"cluster column skipped: {why}")
    print()
    print("dfs: every interleaving, with and without reduction")
    print(f"{'table':26} {'':9} {'schedules':>10} {'interleavings':>14} {'complete':>9} "
          f"{'seconds':>8} {'schedules/s':>12}")
    for table, row in figures["dfs"].items():
        for label, f in row.items():
            print(f"{table:26} {label:9} {f['schedules']:10,} {f['interleavings']:14,} "
                  f"{'yes' if f['complete'] else 'no':>9} {f['seconds']:8.2f} "
                  f"{f['schedules/s']:12,.0f}")
        ratio = row["none"]["schedules"] / row["reduction"]["schedules"]
        print(f"{'':26} reduction runs {ratio:,.0f}x fewer schedules")
    print(f"total benchmark time {time.perf_counter() - t_start:.1f} s")
    return figures


if __name__ == "__main__":
    main()
