"""Path lookup: the cost of the walk per component, and of a call on the longest path.

    python3 benchmarks/bench_paths.py            # full sizes, about 10 s
    python3 benchmarks/bench_paths.py --quick    # a smoke run of a second or two
    python3 benchmarks/bench_paths.py --no-real  # ipcsim only

The walk (ipcsim.kernel.vfs.path_lookupat, which stat(2) and every other path call use after
getname()) is timed on paths of 100 to 80,000 components, beyond what PATH_MAX lets a call
pass, in two shapes: "/./././..." and "/tmp/a/../a/../...". Its cost per component should
not grow with the length (target: the largest per-component figure within 1.5x of the
smallest). Then stat() of a path just under PATH_MAX (4095 bytes) is timed through the
public call, next to os.stat of the same path on this machine's kernel.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

from _common import best, options  # noqa: E402

import ipcsim  # noqa: E402
from ipcsim.kernel import vfs  # noqa: E402

SIZES = (100, 1_000, 10_000, 80_000)
QUICK_SIZES = (100, 1_000, 10_000)


def shapes(n: int) -> dict[str, str]:
    """Paths of ``n`` components after "/tmp" that all name /tmp/a."""
    return {"/./././...": "/tmp" + "/." * (n - 1) + "/a",
            "a/../a/../...": "/tmp/a" + "/../a" * ((n - 1) // 2)}


def walk_figures(sizes: tuple[int, ...], quick: bool) -> dict[str, dict[int, float]]:
    """Microseconds per component of the walk, by shape and number of components."""
    k = ipcsim.Kernel()
    p = k.init
    p.mkdir("/tmp/a")
    out: dict[str, dict[int, float]] = {}
    for n in sizes:
        for shape, path in shapes(n).items():
            components = len([c for c in path.split("/") if c])
            number = max(1, 20_000 // n) if quick else max(1, 200_000 // n)
            us = best(lambda: vfs.path_lookupat(p, path), number, 3 if quick else 5)
            out.setdefault(shape, {})[n] = us / components
    k.close()
    return out


def longest_path() -> str:
    """A path of 4095 bytes (PATH_MAX with its NUL) naming /tmp: "/./././.../tmp"."""
    tail = "/tmp"
    return "/." * ((4095 - len(tail)) // 2) + "/" * ((4095 - len(tail)) % 2) + tail


def call_figures(quick: bool, real: bool) -> dict[str, float | None]:
    path = longest_path()
    assert len(path) == 4095
    k = ipcsim.Kernel()
    p = k.init
    number, repeat = (20, 3) if quick else (200, 5)
    figures: dict[str, float | None] = {
        "stat, 4095-byte path": best(lambda: p.stat(path), number, repeat),
        "stat, /tmp": best(lambda: p.stat("/tmp"), number * 50, repeat),
    }
    try:
        p.stat(path + "/")
    except OSError as e:
        assert e.errno == 36                  # ENAMETOOLONG: 4097 bytes with the NUL
    k.close()
    real_figures: dict[str, float | None] = {name: None for name in figures}
    if real and sys.platform == "linux":
        real_figures = {"stat, 4095-byte path": best(lambda: os.stat(path), number, repeat),
                        "stat, /tmp": best(lambda: os.stat("/tmp"), number * 50, repeat)}
    return {**{f"ipcsim {k}": v for k, v in figures.items()},
            **{f"real {k}": v for k, v in real_figures.items()}}


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = options(__doc__ or "", argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    walk = walk_figures(sizes, args.quick)
    print("µs per component of the walk (vfs.path_lookupat)")
    print(f"{'components':>12} " + " ".join(f"{shape:>16}" for shape in walk))
    for n in sizes:
        print(f"{n:>12,} " + " ".join(f"{walk[shape][n]:16.3f}" for shape in walk))
    spread = {shape: max(v.values()) / min(v.values()) for shape, v in walk.items()}
    for shape, ratio in spread.items():
        verdict = "flat" if ratio <= 1.5 else "NOT flat"
        print(f"  {shape}: largest/smallest per component {ratio:.2f} ({verdict}; target 1.5)")
    calls = call_figures(args.quick, not args.no_real)
    print("\nµs per call")
    for name, value in calls.items():
        print(f"  {name:34} {'-' if value is None else f'{value:10.1f}'}")
    return {"walk": walk, "spread": spread, "calls": calls}


if __name__ == "__main__":
    main()
