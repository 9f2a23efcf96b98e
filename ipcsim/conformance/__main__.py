"""``python -m ipcsim.conformance``: play the catalogue on ipcsim and on Linux, report by area.

Options: ``--area NAME`` (only that area), ``--show N`` (differences shown in full, default 3).
Exit status 1 when any scenario differs.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from .catalogue import all_scenarios
from .harness import compare, run_on
from .sim import SimBackend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipcsim.conformance",
                                     description="Compare ipcsim with the real kernel.")
    parser.add_argument("--area", help="only the scenarios of this area")
    parser.add_argument("--show", type=int, default=3, help="differences shown in full")
    args = parser.parse_args(argv)
    from . import real
    ok, reason = real.available()
    scenarios = [s for s in all_scenarios() if not args.area or s.area == args.area]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    differences = []
    for sc in scenarios:
        row = counts[sc.area]
        row[0] += 1
        if not ok:
            run_on(sc, SimBackend)
            continue
        _, _, difference = compare(sc, real.RealBackend, lambda caps: SimBackend(caps))
        if difference is None:
            row[1] += 1
        else:
            row[2] += 1
            differences.append((sc, difference))
    if not ok:
        print(f"real kernel: not available ({reason}); ipcsim side only")
    print(f"{'area':16} {'run':>5} {'agree':>6} {'differ':>7}")
    total = [0, 0, 0]
    for area in sorted(counts):
        run, agree, differ = counts[area]
        total = [t + c for t, c in zip(total, counts[area])]
        agree_s = str(agree) if ok else "-"
        differ_s = str(differ) if ok else "-"
        print(f"{area:16} {run:>5} {agree_s:>6} {differ_s:>7}")
    print(f"{'total':16} {total[0]:>5} {total[1] if ok else '-':>6} {total[2] if ok else '-':>7}")
    for sc, difference in differences[:args.show]:
        print(f"\n=== {sc.name}\n{difference}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
