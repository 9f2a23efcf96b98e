"""System V IPC costs: ipcsim next to the real kernel (through the sysv_ipc binding).

    python3 benchmarks/bench_sysv.py            # full sizes
    python3 benchmarks/bench_sysv.py --quick    # a smoke run of a few seconds
    python3 benchmarks/bench_sysv.py --no-real  # ipcsim only

Figures (microseconds per operation, best of several repeats):
  msgsnd+msgrcv of 64 bytes, semop down+up, a 64-byte shm write+read, msgget+IPC_RMID;
and how costs grow: msgget by key with 30,000 queues present against 10, and msgrcv of a
type whose first message stands behind 30,000 messages of other types against behind 10
(Linux scans the queue; ipcsim keeps a FIFO per type). The real column runs in a child
process in a fresh IPC namespace (``unshare --ipc``) and needs root on Linux and the
``sysv_ipc`` package; otherwise it says why it was skipped.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

import ipcsim  # noqa: E402
from _common import best, options, print_side_by_side, run_real  # noqa: E402
from ipcsim import IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID  # noqa: E402

DATA = b"x" * 64


# --- ipcsim --------------------------------------------------------------------------------
def sim_figures(n: int, repeat: int, grow: int) -> dict:
    k = ipcsim.Kernel()
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    out = {}
    q = p.msgget(IPC_PRIVATE, 0o600)
    out["msg pair"] = best(lambda: (p.msgsnd(q, 1, DATA), p.msgrcv(q, 100)), n, repeat)
    if hasattr(p, "semop"):
        s = p.semget(IPC_PRIVATE, 1, 0o600)
        p.semctl(s, 0, ipcsim.SETVAL, 1)
        down, up = [(0, -1, 0)], [(0, 1, 0)]
        out["sem pair"] = best(lambda: (p.semop(s, down), p.semop(s, up)), n, repeat)
    if hasattr(p, "shmat"):
        m = p.shmget(IPC_PRIVATE, 4096, 0o600)
        addr = p.shmat(m)
        out["shm 64B"] = best(lambda: (p.write_memory(addr, DATA), p.read_memory(addr, 64)),
                              n, repeat)
    out["msgget+rmid"] = best(lambda: p.msgctl(p.msgget(IPC_PRIVATE, 0o600), IPC_RMID),
                              n // 2, repeat)
    out.update(_growth(p, grow, n, repeat))
    return out


def _growth(p, grow: int, n: int, repeat: int) -> dict:
    """The cost ratios: many queues or messages present against few."""
    out = {}
    for count, tag in ((10, "few"), (grow, "many")):
        c = p.clone(ipcsim.CLONE_NEWIPC)
        for key in range(1, count + 1):
            c.msgget(0x10000 + key, IPC_CREAT | 0o600)
        key = 0x10000 + count // 2
        out[f"msgget key, {tag}"] = best(lambda: c.msgget(key, 0), n, repeat)
        c.write_file("/proc/sys/kernel/msgmnb", str(1 << 30))
        q = c.msgget(IPC_PRIVATE, 0o600)
        for _ in range(count):
            c.msgsnd(q, 1, b"")
        out[f"msgrcv behind, {tag}"] = best(
            lambda: (c.msgsnd(q, 2, b"t"), c.msgrcv(q, 10, 2, IPC_NOWAIT)), n, repeat)
        c.exit(0)
    return out


# --- the real kernel -----------------------------------------------------------------------
REAL_SCRIPT = r"""
import json, sys, timeit
import sysv_ipc
n, repeat, grow = map(int, sys.argv[1:4])
DATA = b"x" * 64
def best(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6
out = {}
q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
out["msg pair"] = best(lambda: (q.send(DATA, type=1), q.receive()), n)
s = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
out["sem pair"] = best(lambda: (s.acquire(), s.release()), n)
m = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096)
out["shm 64B"] = best(lambda: (m.write(DATA, 0), m.read(64, 0)), n)
out["msgget+rmid"] = best(lambda: sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX).remove(),
                          n // 2)
for count, tag in ((10, "few"), (grow, "many")):
    queues = [sysv_ipc.MessageQueue(0x10000 + k, sysv_ipc.IPC_CREAT) for k in range(1, count + 1)]
    key = 0x10000 + count // 2
    out[f"msgget key, {tag}"] = best(lambda: sysv_ipc.MessageQueue(key), n)
    with open("/proc/sys/kernel/msgmnb", "w") as f:   # room for every message (no
        f.write(str(1 << 30))                           # CAP_SYS_RESOURCE needed)
    big = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX, max_message_size=8192)
    for _ in range(count):
        big.send(b"", type=1)
    out[f"msgrcv behind, {tag}"] = best(
        lambda: (big.send(b"t", type=2), big.receive(type=2, block=False)), n)
    for x in queues + [big]:
        x.remove()
print(json.dumps(out))
"""


def real_figures(n: int, repeat: int, grow: int) -> tuple[dict | None, str]:
    return run_real(REAL_SCRIPT, [n, repeat, grow], "sysv_ipc")


def main(argv: list[str] | None = None) -> dict:
    opts = options(__doc__, argv)
    n, repeat, grow = (2000, 3, 3000) if opts.quick else (50000, 5, 30000)
    sim = sim_figures(n, repeat, grow)
    real, why = (None, "--no-real") if opts.no_real else real_figures(n, repeat, grow)
    print(f"System V IPC, microseconds per operation (best of {repeat} x {n}); "
          f"growth measured with {grow:,} present")
    print_side_by_side(sim, real)
    for label, src in (("ipcsim", sim), ("real", real)):
        if not src:
            continue
        for fig in ("msgget key", "msgrcv behind"):
            few, many = src.get(f"{fig}, few"), src.get(f"{fig}, many")
            if few and many:
                print(f"growth {label:6} {fig:16}: {many / few:5.2f} (many/few; target < 1.5)")
    if not real:
        print(f"real column skipped: {why}")
    return {"ipcsim": sim, "real": real}


if __name__ == "__main__":
    main()
