"""``python -m ipcsim.conformance``: play the catalogue on ipcsim and on Linux, report by area.

Options: ``--area NAME`` (only that area), ``--show N`` (differences shown in full, default 3).
Exit status 1 when any scenario differs. Scenarios that make user namespaces, or run as an
unprivileged user, are played on ipcsim only where this machine cannot make them (the report
says why).

``--fuzz N`` plays N random scenarios instead (see :mod:`.campaign`): ``--seed S`` (default
0), ``--weights CLASS=W,...`` (the classes of :data:`.fuzz.CLASSES`; those not named get 0;
default: IPCSIM_FUZZ_WEIGHTS, else all), ``--max-steps M`` (default 14), ``--save DIR``
(each differing scenario, with its difference, in a file there). It prints the figures:
programs, steps, blocked calls, wake-ups, errnos seen, differences.
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
    parser.add_argument("--fuzz", type=int, metavar="N", help="play N random scenarios")
    parser.add_argument("--seed", type=int, default=0, help="the random scenarios' seed")
    parser.add_argument("--weights", help="class mix of the random scenarios: CLASS=W,...")
    parser.add_argument("--max-steps", type=int, default=14, help="steps per random scenario")
    parser.add_argument("--save", help="a directory for the differing random scenarios")
    parser.add_argument("--progress", type=int, default=0, help="print figures every N")
    args = parser.parse_args(argv)
    if args.fuzz is not None:
        return _fuzz(args)
    from . import real
    ok, reason = real.available()
    scenarios = [s for s in all_scenarios() if not args.area or s.area == args.area]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    differences = []
    skipped: dict[str, int] = defaultdict(int)      # reason -> scenarios not compared
    for sc in scenarios:
        row = counts[sc.area]
        row[0] += 1
        if not ok:
            run_on(sc, SimBackend)
            continue
        playable, why = real.available_for(sc)
        if not playable:
            run_on(sc, SimBackend)
            skipped[why] += 1
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
    for why, n in sorted(skipped.items()):
        print(f"not compared ({n}, ipcsim side only): {why}")
    for sc, difference in differences[:args.show]:
        print(f"\n=== {sc.name}\n{difference}")
    return 1 if differences else 0


def _fuzz(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import campaign
    from .fuzz import weights
    try:
        mix = weights(args.weights)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    print(f"fuzz: {args.fuzz} programs, seed {args.seed}, at most {args.max_steps} steps, "
          f"classes {','.join(f'{k}={v}' for k, v in mix.items() if v)}", flush=True)
    figures = campaign.run(args.fuzz, args.seed, mix, args.max_steps,
                           Path(args.save) if args.save else None, show=args.show,
                           progress=args.progress)
    print(figures.report())
    return 1 if figures.differences or figures.failed or figures.crashed else 0


if __name__ == "__main__":
    sys.exit(main())
