"""POSIX message queue costs: ipcsim next to the real kernel (through the posix_ipc binding).

    python3 benchmarks/bench_mqueue.py            # full sizes
    python3 benchmarks/bench_mqueue.py --quick    # a smoke run of a few seconds
    python3 benchmarks/bench_mqueue.py --no-real  # ipcsim only

Figures (microseconds per operation, best of several repeats): mq_send+mq_receive of 64
bytes on an empty queue, and mq_open+mq_close of an existing queue; and how the cost grows:
a send+receive pair with 60,000 messages queued against an empty queue (the messages wait
in one FIFO per priority, so neither call scans). The real column runs in a child process in
a fresh IPC namespace (``unshare --ipc``) and needs root on Linux and the ``posix_ipc``
package; otherwise it says why it was skipped.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

import ipcsim  # noqa: E402
from _common import best, options, print_side_by_side, run_real  # noqa: E402
from ipcsim import CLONE_NEWIPC, O_CREAT, O_RDWR, MqAttr  # noqa: E402

DATA = b"x" * 64


# --- ipcsim --------------------------------------------------------------------------------
def sim_figures(n: int, repeat: int, grow: int) -> dict:
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)
    out = {}
    q = p.mq_open("/bench", O_CREAT | O_RDWR, 0o600, MqAttr(mq_maxmsg=10, mq_msgsize=64))
    send, receive = p.mq_send, p.mq_receive
    out["send+receive"] = best(lambda: (send(q, DATA, 1), receive(q, 64)), n, repeat)
    out["open+close"] = best(lambda: p.mq_close(p.mq_open("/bench", O_RDWR)), n // 2, repeat)
    # growth: the same pair with `grow` messages queued (at the same priority, behind which
    # each new message waits) against none
    p.write_file("/proc/sys/fs/mqueue/msg_max", str(grow + 1))
    p.setrlimit(ipcsim.RLIMIT_MSGQUEUE, ipcsim.RLIM_INFINITY, ipcsim.RLIM_INFINITY)
    for count, tag in ((0, "empty"), (grow, "full")):
        big = p.mq_open(f"/grow-{tag}", O_CREAT | O_RDWR, 0o600,
                        MqAttr(mq_maxmsg=grow + 1, mq_msgsize=64))
        for i in range(count):
            send(big, DATA, i % 4)
        out[f"pair, {tag}"] = best(lambda: (send(big, DATA, 2), receive(big, 64)), n, repeat)
    k.close()
    return out


# --- the real kernel -----------------------------------------------------------------------
REAL_SCRIPT = r"""
import json, sys, timeit
import posix_ipc
n, repeat = map(int, sys.argv[1:3])
DATA = b"x" * 64
def best(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6
out = {}
q = posix_ipc.MessageQueue("/bench", posix_ipc.O_CREX, max_messages=10, max_message_size=64)
out["send+receive"] = best(lambda: (q.send(DATA, priority=1), q.receive()), n)
out["open+close"] = best(lambda: posix_ipc.MessageQueue("/bench").close(), n // 2)
q.close()
q.unlink()
print(json.dumps(out))
"""


def real_figures(n: int, repeat: int) -> tuple[dict | None, str]:
    return run_real(REAL_SCRIPT, [n, repeat], "posix_ipc")


def main(argv: list[str] | None = None) -> dict:
    opts = options(__doc__, argv)
    n, repeat, grow = (2000, 3, 6000) if opts.quick else (50000, 5, 60000)
    sim = sim_figures(n, repeat, grow)
    real, why = (None, "--no-real") if opts.no_real else real_figures(n, repeat)
    print(f"POSIX message queues, microseconds per operation (best of {repeat} x {n}); "
          f"growth measured with {grow:,} messages queued")
    print_side_by_side(sim, real, 20)
    empty, full = sim["pair, empty"], sim["pair, full"]
    print(f"growth ipcsim send+receive: {full / empty:5.2f} (with {grow:,} queued / empty; "
          f"target < 1.5)")
    if not real:
        print(f"real column skipped: {why}")
    return {"ipcsim": sim, "real": real}


if __name__ == "__main__":
    main()
