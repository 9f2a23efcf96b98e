"""What the sysv_ipc and posix_ipc fakes cost, next to the real packages on the real kernel.

    python3 benchmarks/bench_compat.py            # full sizes, about 10 s
    python3 benchmarks/bench_compat.py --quick    # a smoke run of a second or two
    python3 benchmarks/bench_compat.py --no-real  # the fakes only

Microseconds per send+receive of 64 bytes on an empty queue (sysv_ipc.MessageQueue and
posix_ipc.MessageQueue) and per acquire+release of a semaphore (both modules), through:

* the fakes on the host kernel (the mode outside a simulation: real clock, the big kernel
  lock taken per call);
* the fakes bound to a simulated Kernel (``ipcsim.compat.bind``, as under the pytest
  fixture ``ipc_kernel``);
* the real packages on this machine's kernel, in a child process in a fresh IPC namespace
  (``unshare --ipc``; needs root on Linux and the packages, otherwise the column says why it
  was skipped).

Each figure is the best of many short runs (a shared machine's other work lands in a few of
them). The last two columns set the fakes against the real packages; the targets are the
host kernel at most 1.5 times the real package's time and the simulated kernel at most as
slow as it (a POSIX semaphore's uncontended acquire+release costs the real package no system
call at all: an atomic operation in user space, out of reach of a Python call).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

import ipcsim  # noqa: E402
from _common import best, options, run_real  # noqa: E402
from ipcsim.compat import bind  # noqa: E402
from ipcsim.compat import posix_ipc as fake_posix  # noqa: E402
from ipcsim.compat import sysv_ipc as fake_sysv  # noqa: E402

DATA = b"x" * 64
TARGETS = {"host": 1.5, "simulated": 1.0}       # most times the real package's time

# The loops, the same text for the fakes and for the real packages.
LOOPS = '''
def figures(sysv_ipc, posix_ipc, number, repeat, best):
    out = {}
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    out["sysv msg send+receive"] = best(lambda: (q.send(DATA), q.receive()), number, repeat)
    q.remove()
    s = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    out["sysv sem acquire+release"] = best(lambda: (s.acquire(), s.release()), number, repeat)
    s.remove()
    mq = posix_ipc.MessageQueue(None, posix_ipc.O_CREX, max_messages=8, max_message_size=128)
    out["posix mq send+receive"] = best(lambda: (mq.send(DATA), mq.receive()), number, repeat)
    mq.close()
    mq.unlink()
    ps = posix_ipc.Semaphore(None, posix_ipc.O_CREX, initial_value=1)
    out["posix sem acquire+release"] = best(lambda: (ps.acquire(), ps.release()), number,
                                            repeat)
    ps.unlink()
    ps.close()
    return out
'''

REAL_SCRIPT = '''
import json, sys, timeit
import sysv_ipc, posix_ipc
DATA = b"x" * 64
def best(fn, number, repeat):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6
''' + LOOPS + '''
print(json.dumps(figures(sysv_ipc, posix_ipc, int(sys.argv[1]), int(sys.argv[2]), best)))
'''

scope: dict = {"DATA": DATA}
exec(compile(LOOPS, "<bench_compat loops>", "exec"), scope)  # noqa: S102 (shared with the child)
figures = scope["figures"]


def host_figures(number: int, repeat: int) -> dict:
    return figures(fake_sysv, fake_posix, number, repeat, best)


def simulated_figures(number: int, repeat: int) -> dict:
    with ipcsim.Kernel(seed=0) as k:
        with bind(k.init):
            return figures(fake_sysv, fake_posix, number, repeat, best)


def real_figures(number: int, repeat: int) -> tuple[dict | None, str]:
    return run_real(REAL_SCRIPT, [number, repeat], "sysv_ipc")


def main(argv: list[str] | None = None) -> dict:
    args = options(__doc__, argv)
    number, repeat = (500, 2) if args.quick else (2000, 40)
    host = host_figures(number, repeat)
    sim = simulated_figures(number, repeat)
    real, why = (None, "--no-real") if args.no_real else real_figures(number, repeat)
    print(f"sysv_ipc/posix_ipc fakes, microseconds per pair (best of {repeat} x {number})")
    print(f"{'figure':28s} {'host kernel':>11s} {'simulated':>10s} {'real':>8s} "
          f"{'host/real':>9s} {'sim/real':>9s}")
    for name in host:
        r = real.get(name) if real else None
        ratios = (f"{host[name] / r:9.2f} {sim[name] / r:9.2f}" if r
                  else f"{'-':>9s} {'-':>9s}")
        rtext = f"{r:8.3f}" if r else f"{'-':>8s}"
        print(f"{name:28s} {host[name]:11.3f} {sim[name]:10.3f} {rtext} {ratios}")
    print(f"targets: host/real <= {TARGETS['host']}, sim/real <= {TARGETS['simulated']}")
    if real is None:
        print(f"real column skipped: {why}")
    return {"host": host, "simulated": sim, "real": real}


if __name__ == "__main__":
    main()
