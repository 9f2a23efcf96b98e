"""semop's cost with many sleepers on the set: ipcsim next to the real kernel.

    python3 benchmarks/bench_semwaiters.py            # full sizes (up to 3,000 sleepers)
    python3 benchmarks/bench_semwaiters.py --quick    # a smoke run of a few seconds
    python3 benchmarks/bench_semwaiters.py --no-real  # ipcsim only

Each row is a kind of sleepers, blocked in semop on one set of 16 semaphores, and a pair of
semops by another process that completes none of them (microseconds per pair, best of a few
repeats). Every sleeper's sops differ from every other's (k, m and z below are semaphores 1-15
that follow the sleeper's index i; j is i // 15, which makes the needs distinct):

* ``complex``: [(k, +1), (z, 0), (m, -(3 + j))]; the pair is +1/-1 on semaphore 0;
* ``complex on 0``: [(k, +1), (m, +1), (0, -(2 + j))]: each blocked on a decrement of
  semaphore 0 that the pair's +1 does not satisfy;
* ``complex past 0``: [(k, +1), (z, 0), (0, -1), (m, -(3 + j))]: the pair's +1 lets the op on
  semaphore 0 pass, so each sleeper's first failing op moves to the last and back;
* ``shifting``: [(0, -1), (k, -(1 + j))] with both at 0: the same move with two ops
  (GETNCNT changes);
* ``one semaphore``: single decrements of 2 + i on semaphore 0, the pair +1/-1 on it;
* ``other semaphores``: single decrements of 2 + j of semaphores 1-15;
* ``zero``: wait-for-zero sleepers, each on its own sequence of four of semaphores 2-15 (all
  1) and then semaphore 1; the pair -1/+1 on semaphore 1 takes it to zero, which makes Linux
  retry them all;
* ``mix``: a quarter each of complex, one semaphore, other semaphores and zero.

Linux walks its lists of sleepers on each semop (update_queue, wake_const_ops), so its cost
grows with their number. ipcsim looks, for the multi-op sleepers, only at those listed under
a semaphore the pair changed (each sleeper is listed under the semaphore of one op that fails
and those of earlier ops that could turn into an error), and skips the single-op and
wait-for-zero scans that could change nothing (a least need per semaphore, a range of values
per semaphore). The real column runs the same sleepers as threads (ctypes semop) in a child
process under ``unshare --ipc``: root on Linux is needed, otherwise it says why it was
skipped. The growth lines give the cost per sleeper beyond the first: (pair with N - pair
with 1) / (N - 1).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

import ipcsim  # noqa: E402
from _common import best, options  # noqa: E402
from ipcsim import CLONE_NEWIPC, IPC_PRIVATE, IPC_RMID, SETALL  # noqa: E402

NSEMS = 16
KINDS = ("complex", "complex on 0", "complex past 0", "shifting", "one semaphore",
         "other semaphores", "zero", "mix")

Sops = list[tuple[int, int, int]]


def _sleeper(kind: str, i: int) -> Sops:
    """The sops of sleeper ``i`` of ``kind`` (see the module docstring)."""
    k = 1 + i % (NSEMS - 1)
    j = i // (NSEMS - 1)
    m = 1 + (i * 7 + 3) % (NSEMS - 1)
    z = 1 + (i * 3 + 1) % (NSEMS - 1)
    if kind == "complex":
        return [(k, 1, 0), (z, 0, 0) if z not in (k, m) else (z, 1, 0), (m, -3 - j, 0)]
    if kind == "complex on 0":
        return [(k, 1, 0), (m, 1, 0), (0, -2 - j, 0)]
    if kind == "complex past 0":
        return [(k, 1, 0), (z, 0, 0) if z != k else (z, 1, 0), (0, -1, 0), (m, -3 - j, 0)]
    if kind == "shifting":
        return [(0, -1, 0), (k, -1 - j, 0)]
    if kind == "one semaphore":
        return [(0, -2 - i, 0)]
    if kind == "other semaphores":
        return [(k, -2 - j, 0)]
    if kind == "zero":
        return [(num, 0, 0) for num in _four_of(i)] + [(1, 0, 0)]
    sub = ("complex", "one semaphore", "other semaphores", "zero")[i % 4]
    return _sleeper(sub, i)


def _four_of(i: int) -> list[int]:
    """The i-th sequence of four distinct semaphores of 2-15 (24,024 of them)."""
    left = list(range(2, NSEMS))
    out = []
    for _ in range(4):
        i, d = divmod(i, len(left))
        out.append(left.pop(d))
    return out


def scenario(kind: str, n: int) -> dict:
    """Initial values, the sleepers' sops and the pair (as JSON-able lists)."""
    values = [0] * NSEMS
    pair: list[Sops] = [[(0, 1, 0)], [(0, -1, 0)]]
    if kind in ("zero", "mix"):
        values = [0, 1] + [1] * (NSEMS - 2)
        if kind == "zero":
            pair = [[(1, -1, 0)], [(1, 1, 0)]]
    sleepers = [_sleeper(kind, i) for i in range(n)]
    assert len({tuple(sops) for sops in sleepers}) == n, f"{kind}: sleepers repeat"
    return {"values": values, "sleepers": sleepers, "pair": pair}


# --- ipcsim --------------------------------------------------------------------------------
def sim_pair(spec: dict, number: int, repeat: int) -> float:
    k = ipcsim.Kernel(seed=0)
    try:
        p = k.init.clone(CLONE_NEWIPC)
        sid = p.semget(IPC_PRIVATE, NSEMS, 0o600)
        p.semctl(sid, 0, SETALL, spec["values"])
        for sops in spec["sleepers"]:
            p.fork(target=lambda proc, sops=sops: proc.semop(sid, sops))
        k.run_until_idle()
        first, second = spec["pair"]
        return best(lambda: (p.semop(sid, first), p.semop(sid, second)), number, repeat)
    finally:
        k.close()


# --- the real kernel -----------------------------------------------------------------------
REAL_SCRIPT = r"""
import ctypes, json, sys, threading, time, timeit
libc = ctypes.CDLL(None, use_errno=True)
class Sembuf(ctypes.Structure):
    _fields_ = [("n", ctypes.c_ushort), ("o", ctypes.c_short), ("f", ctypes.c_short)]
semop = libc.semop
semop.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
semctl = libc.semctl
def arr(ops):
    a = (Sembuf * len(ops))()
    for i, (n, o, f) in enumerate(ops):
        a[i].n, a[i].o, a[i].f = n, o, f
    return a
threading.stack_size(65536)
jobs, repeat = json.loads(sys.stdin.read()), int(sys.argv[1])
out = []
for spec, number in jobs:
    nsems = len(spec["values"])
    sid = libc.semget(0, nsems, 0o600)
    vals = (ctypes.c_ushort * nsems)(*spec["values"])
    if semctl(sid, 0, 17, ctypes.c_void_p(ctypes.addressof(vals))) != 0:     # SETALL
        raise SystemExit(f"SETALL failed: errno {ctypes.get_errno()}")
    keep, threads = [], []
    for ops in spec["sleepers"]:
        a = arr(ops)
        keep.append(a)
        t = threading.Thread(target=semop, args=(sid, ctypes.addressof(a), len(ops)),
                             daemon=True)
        t.start()
        threads.append(t)
    want = len(spec["sleepers"])
    for _ in range(6000):
        got = sum(semctl(sid, i, c) for i in range(nsems) for c in (14, 15))
        if got >= want:
            break
        time.sleep(0.005)
    else:
        raise SystemExit(f"only {got} of {want} sleepers blocked")
    first, second = (arr(ops) for ops in spec["pair"])
    pf, ps = ctypes.addressof(first), ctypes.addressof(second)
    nf, ns = len(spec["pair"][0]), len(spec["pair"][1])
    t = min(timeit.repeat(lambda: (semop(sid, pf, nf), semop(sid, ps, ns)), number=number,
                          repeat=repeat)) / number * 1e6
    out.append(t)
    semctl(sid, 0, 0)              # IPC_RMID: the sleepers return EIDRM
    for t_ in threads:
        t_.join()
print(json.dumps(out))
"""


def real_pairs(jobs: list[tuple[dict, int]], repeat: int) -> tuple[list[float] | None, str]:
    if sys.platform != "linux" or os.geteuid() != 0 or not shutil.which("unshare"):
        return None, "needs root on Linux with unshare(1)"
    proc = subprocess.run(["unshare", "--ipc", sys.executable, "-c", REAL_SCRIPT,
                           str(repeat)], input=json.dumps(jobs), capture_output=True,
                          text=True, timeout=1800, cwd="/")
    if proc.returncode != 0:
        return None, f"the real run failed: {proc.stderr.strip()[-300:]}"
    return json.loads(proc.stdout), ""


def main(argv: list[str] | None = None) -> dict:
    opts = options(__doc__, argv)
    sizes = (1, 10, 100) if opts.quick else (1, 10, 100, 1000, 3000)
    repeat = 3
    kinds = KINDS[:4] + KINDS[6:] if opts.quick else KINDS
    jobs = []
    for kind in kinds:
        for n in sizes:
            number = max(10, (2000 if opts.quick else 20000) // max(n, 10))
            jobs.append((kind, n, number))
    sim = {f"{kind}, {n}": sim_pair(scenario(kind, n), number, repeat)
           for kind, n, number in jobs}
    real_list, why = (None, "--no-real") if opts.no_real else real_pairs(
        [(scenario(kind, n), number * 10) for kind, n, number in jobs], repeat)
    real = dict(zip(sim, real_list)) if real_list else None
    print(f"semop pair with N sleepers, microseconds per pair (best of {repeat})")
    print(f"{'kind':18} {'N':>6} {'ipcsim':>10} {'real':>9} {'ipcsim/real':>12}")
    for kind, n, _ in jobs:
        key = f"{kind}, {n}"
        r = real.get(key) if real else None
        extra = f"{r:9.2f} {sim[key] / r:11.1f}x" if r else f"{'-':>9}"
        print(f"{kind:18} {n:6,} {sim[key]:10.2f} {extra}")
    print("growth, microseconds per sleeper beyond the first (ipcsim / real):")
    for kind in kinds:
        top = sizes[-1]
        per = [(src[f"{kind}, {top}"] - src[f"{kind}, 1"]) / (top - 1)
               for src in (sim, real) if src]
        print(f"  {kind:18} " + " / ".join(f"{x:7.4f}" for x in per))
    if not real:
        print(f"real column skipped: {why}")
    return {"ipcsim": sim, "real": real}


if __name__ == "__main__":
    main()
