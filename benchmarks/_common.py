"""What the IPC benchmarks share: timing, the real-kernel run in a fresh IPC namespace, and
the side-by-side table."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import timeit


def best(fn, number: int, repeat: int) -> float:
    """Microseconds per call, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def run_real(script: str, args: list, needs: str) -> tuple[dict | None, str]:
    """Run ``script`` (which prints its figures as JSON) in a child Python process in a fresh
    IPC namespace: ``(figures, "")``, or ``(None, why it could not run)``. ``needs`` is the
    binding the script imports."""
    if sys.platform != "linux" or os.geteuid() != 0 or not shutil.which("unshare"):
        return None, "needs root on Linux with unshare(1)"
    try:
        __import__(needs)
    except ImportError:
        return None, f"the {needs} package is not installed (pip install {needs})"
    proc = subprocess.run(["unshare", "--ipc", sys.executable, "-c", script,
                           *map(str, args)], capture_output=True, text=True, timeout=900,
                          cwd="/")
    if proc.returncode != 0:
        return None, f"the real run failed: {proc.stderr.strip()[-300:]}"
    return json.loads(proc.stdout), ""


def options(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """--quick (a smoke run) and --no-real (ipcsim only)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--no-real", action="store_true", help="skip the real-kernel column")
    return ap.parse_args(argv)


def print_side_by_side(sim: dict, real: dict | None, width: int = 28) -> None:
    """One row per figure: ipcsim, the real kernel, and their ratio."""
    print(f"{'figure':{width}} {'ipcsim':>9} {'real':>9} {'ipcsim/real':>12}")
    for name, value in sim.items():
        r = real.get(name) if real else None
        if r is None:
            print(f"{name:{width}} {value:9.3f} {'-':>9}")
        else:
            print(f"{name:{width}} {value:9.3f} {r:9.3f} {value / r:11.2f}x")
