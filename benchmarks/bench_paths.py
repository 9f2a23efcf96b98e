"""Path lookup: the cost of the walk per component, beside the real kernel's.

    python3 benchmarks/bench_paths.py            # full sizes, about 20-30 s
    python3 benchmarks/bench_paths.py --quick    # a smoke run of a few seconds
    python3 benchmarks/bench_paths.py --no-real  # ipcsim only

Each shape is a path ``head + unit * k + tail`` whose components all exist (a component is
what lies between two slashes, an empty one included, so a path has as many as slashes):
"/./././...", "a/../a/../..." and "a/../b/../...", "//////", nested directories
"d/d/d/...", nested 255-byte names, "kernel/../kernel/..." and "kernel/../fs/../..."
through /proc/sys, and "mq/../mq/..." and "mq/../mq2/../..." in and out of mqueue mounts
(ending at a queue in one).

First the walk alone (ipcsim.kernel.vfs.path_lookupat, which stat(2) and every other path
call use after getname()) is timed on paths of 100 to 80,000 components, beyond what
PATH_MAX lets a call pass: its cost per component must not grow with the length (target:
no size above 1.5x the smallest size's figure). Then stat() of each shape at 4095 bytes
(PATH_MAX with its NUL) is timed through the public call, next to os.stat of the same path
on this machine's kernel: ipcsim's cost per component must be within 3x Linux's. The real
side runs in a child process in fresh IPC and mount namespaces (root and unshare(1)), on a
private tmpfs mounted on /run with mqueue filesystems mounted in it; the two sides take
turns (three rounds, best of each). Times are the thread's CPU time (time.thread_time),
which a loaded machine disturbs less than wall time.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Callable, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

from _common import options  # noqa: E402

import ipcsim  # noqa: E402
from ipcsim import O_CREAT, O_RDWR  # noqa: E402
from ipcsim.kernel import vfs  # noqa: E402

BASE = "/run/bench"           # a private tmpfs on the real side
LONG = "L" * 255              # NAME_MAX bytes
SIZES = (100, 1_000, 10_000, 80_000)
QUICK_SIZES = (100, 1_000)
PATH_BYTES = 4095             # PATH_MAX with its NUL


def best(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Microseconds of this thread's CPU time per call, best of ``repeat`` runs of
    ``number`` calls (the real side times os.stat the same way): steadier than wall time
    on a loaded machine, and a system call's time in the kernel counts."""
    return min(timeit.repeat(fn, number=number, repeat=repeat,
                             timer=time.thread_time)) / number * 1e6


class Shape(NamedTuple):
    head: str
    unit: str
    tail: str
    nested: str = ""          # the unit is a directory inside the previous one, from head

    def path(self, k: int) -> str:
        return self.head + self.unit * k + self.tail

    def repeats_for(self, components: int) -> int:
        fixed = self.head.count("/") + self.tail.count("/")
        return max(1, -(-(components - fixed) // self.unit.count("/")))

    def longest(self) -> str:
        """The path of this shape with the most repeats that fits in PATH_BYTES."""
        return self.path((PATH_BYTES - len(self.head) - len(self.tail)) // len(self.unit))


SHAPES = {
    "/./././...": Shape(BASE, "/.", "/a"),
    "a/../a/../...": Shape(BASE + "/a", "/../a", ""),
    "a/../b/../...": Shape(BASE + "/a", "/../b/../a", ""),
    "//////": Shape(BASE, "/", "a"),
    "d/d/d/...": Shape(BASE + "/deep", "/d", "", nested="d"),
    "255-byte names": Shape(BASE + "/long", "/" + LONG, "", nested=LONG),
    "/proc/sys": Shape("/proc/sys/kernel", "/../kernel", "/msgmni"),
    "/proc/sys, two": Shape("/proc/sys/kernel", "/../fs/../kernel", "/msgmni"),
    "mqueue mount": Shape(BASE + "/mq", "/../mq", "/q"),
    "two mqueue": Shape(BASE + "/mq", "/../mq2/../mq", "/q"),
}


def depth_needed(shape: Shape, path: str) -> int:
    return (len(path) - len(shape.head)) // len(shape.unit) if shape.nested else 0


def model(depths: dict[str, int]) -> ipcsim.Kernel:
    """A kernel whose root file system has every shape's directories (nested ones to the
    depth asked), an mqueue mount at BASE/mq and a queue q in it."""
    k = ipcsim.Kernel()
    p = k.init
    for d in ("", "/a", "/b", "/deep", "/long", "/mq", "/mq2"):
        p.mkdir(BASE + d)
    p.mount("none", BASE + "/mq", "mqueue")
    p.mount("none", BASE + "/mq2", "mqueue")
    p.close(p.open(BASE + "/mq/q", O_CREAT | O_RDWR, 0o600))
    for name, shape in SHAPES.items():
        if shape.nested:
            # built node by node: mkdir(2) of each level would walk all those above it
            node = vfs.path_lookupat(p, shape.head).node
            for _ in range(depths.get(name, 0)):
                assert isinstance(node, vfs.TmpDir)
                node.mkdir(p, shape.nested, 0o755)
                node = node.entries[shape.nested]
    return k


def walk_figures(sizes: tuple[int, ...], quick: bool) -> dict[str, dict[int, float]]:
    """Microseconds per component of the walk, by shape and number of components."""
    paths = {name: {n: shape.path(shape.repeats_for(n)) for n in sizes}
             for name, shape in SHAPES.items()}
    k = model({name: max(depth_needed(shape, path) for path in paths[name].values())
               for name, shape in SHAPES.items()})
    p = k.init
    out: dict[str, dict[int, float]] = {}
    for name in SHAPES:
        for n, path in paths[name].items():
            number = max(1, (20_000 if quick else 200_000) // n)
            us = best(lambda: vfs.path_lookupat(p, path), number, 3 if quick else 5)
            out.setdefault(name, {})[n] = us / path.count("/")
    k.close()
    return out


def call_figures(quick: bool) -> dict[str, float]:
    """Microseconds per stat() of each shape's longest path, through the public call."""
    k = model({name: depth_needed(shape, shape.longest()) for name, shape in SHAPES.items()})
    p = k.init
    number, repeat = (20, 3) if quick else (200, 5)
    figures = {}
    for name, shape in SHAPES.items():
        path = shape.longest()
        p.stat(path)
        figures[name] = best(lambda: p.stat(path), number, repeat)
    try:
        p.stat("/" * (PATH_BYTES + 1))
    except OSError as e:
        assert e.errno == 36                  # ENAMETOOLONG: 4097 bytes with the NUL
    k.close()
    return figures


REAL = r"""
import json, os, sys, time, timeit
shapes, number, repeat = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
base = sys.argv[4]
for d in ("", "/a", "/b", "/deep", "/long", "/mq", "/mq2"):
    os.mkdir(base + d)
for d in ("/mq", "/mq2"):
    if os.system(f"mount -t mqueue none {base}{d}") != 0:
        sys.exit("mount -t mqueue failed")
os.close(os.open(base + "/mq/q", os.O_CREAT | os.O_RDWR, 0o600))
out = {}
for name, (path, head, nested, depth) in shapes.items():
    if nested:
        os.chdir(head)
        for _ in range(depth):
            os.mkdir(nested)
            os.chdir(nested)
        os.chdir("/")
    os.stat(path)
    out[name] = min(timeit.repeat(lambda: os.stat(path), number=number, repeat=repeat,
                                  timer=time.thread_time)) / number * 1e6
print(json.dumps(out))
"""


def real_figures(quick: bool) -> tuple[dict[str, float] | None, str]:
    """os.stat of each shape's longest path on this machine's kernel, in fresh IPC and
    mount namespaces over a private tmpfs on /run: (figures, "") or (None, why not)."""
    if sys.platform != "linux" or os.geteuid() != 0 or not shutil.which("unshare"):
        return None, "needs root on Linux with unshare(1)"
    shapes = {name: (shape.longest(), shape.head, shape.nested,
                     depth_needed(shape, shape.longest())) for name, shape in SHAPES.items()}
    number, repeat = (20, 3) if quick else (200, 5)
    script = ('mount -t tmpfs -o mode=755 none /run && exec "$0" -c "$1" "$2" "$3" "$4" "$5"')
    proc = subprocess.run(["unshare", "--ipc", "--mount", "--propagation", "private", "--fork",
                           "sh", "-c", script, sys.executable, REAL, json.dumps(shapes),
                           str(number), str(repeat), BASE],
                          capture_output=True, text=True, timeout=600, cwd="/")
    if proc.returncode != 0:
        return None, f"the real run failed: {proc.stderr.strip()[-300:]}"
    return json.loads(proc.stdout), ""


def side_by_side(quick: bool, no_real: bool) -> tuple[dict[str, float],
                                                     dict[str, float] | None, str]:
    """ipcsim's and the real kernel's stat() figures, taken in alternate rounds (best of
    each), so that a change in the machine's load between the two sides weighs less."""
    calls: dict[str, float] = {}
    real: dict[str, float] | None = None
    why = "--no-real" if no_real else ""
    for _ in range(1 if quick else 3):
        for name, us in call_figures(quick).items():
            calls[name] = min(us, calls.get(name, us))
        if not why:
            got, why = real_figures(quick)
            if got is not None:
                real = {name: min(us, (real or got)[name]) for name, us in got.items()}
    return calls, real, why


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = options(__doc__ or "", argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    walk = walk_figures(sizes, args.quick)
    print("µs per component of the walk (vfs.path_lookupat)")
    print(f"{'components':>16} " + " ".join(f"{n:>9,}" for n in sizes) + "   largest/first")
    growth = {}
    for name, by_size in walk.items():
        growth[name] = max(by_size.values()) / by_size[sizes[0]]
        verdict = "flat" if growth[name] <= 1.5 else "GROWS"
        print(f"{name:>16} " + " ".join(f"{by_size[n]:9.3f}" for n in sizes)
              + f"   {growth[name]:5.2f} ({verdict}; target 1.5)")
    calls, real, why = side_by_side(args.quick, args.no_real)
    print(f"\nstat() of a {PATH_BYTES}-byte path: µs per call, and per component")
    print(f"{'shape':>16} {'components':>10} {'ipcsim':>9} {'real':>9} "
          f"{'ipcsim/comp':>12} {'real/comp':>10} {'ratio':>7}")
    ratios: dict[str, float] = {}
    for name, shape in SHAPES.items():
        comps = shape.longest().count("/")
        sim = calls[name]
        row = f"{name:>16} {comps:>10,} {sim:9.1f} "
        if real is None:
            row += f"{'-':>9} {sim / comps:12.4f} {'-':>10}"
        else:
            ratios[name] = sim / real[name]
            row += (f"{real[name]:9.1f} {sim / comps:12.4f} {real[name] / comps:10.4f} "
                    f"{ratios[name]:6.2f}x")
        print(row)
    if real is None:
        print(f"  (no real-kernel column: {why})")
    else:
        worst = max(ratios.values())
        print(f"  largest ipcsim/real per component {worst:.2f} "
              f"({'within' if worst <= 3 else 'NOT within'} the 3x target)")
    return {"walk": walk, "growth": growth, "calls": calls, "real": real, "ratios": ratios}


if __name__ == "__main__":
    main()
