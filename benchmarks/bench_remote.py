"""Two OS processes meeting through the kernel server, next to the real packages on the real
kernel.

    python3 benchmarks/bench_remote.py            # 5 rounds of 4,000 round trips per case
    python3 benchmarks/bench_remote.py --quick    # a smoke run of a few seconds
    python3 benchmarks/bench_remote.py --no-real  # the served kernel only

Each case is a ping-pong between a parent and its forked child (microseconds per round
trip, the median of the rounds, real and served rounds alternating so that both see the
same machine):

* msg pair: the parent sends on one System V queue, the child receives it and sends it back
  on another, the parent receives it (two msgsnd and two msgrcv per round trip);
* sem pair: the same with two System V semaphores (semop +1 / -1);
* mq pair: the same with two POSIX queues;
* posix sem pair: the same with two POSIX named semaphores;

and one stream: the parent sends 64-byte messages that the child receives as fast as it can
(microseconds per message). The real columns use ``sysv_ipc`` and ``posix_ipc`` (Linux only),
once with parent and child pinned to two CPUs (each wake-up then crosses CPUs, as between
busy processes of a real program) and once pinned to one CPU (a wake-up is a direct switch:
the cheapest case the kernel has); the served one uses ``ipcsim.compat``'s fakes attached to a
server started for the run (``ipcsim.remote.launch.served``), three processes placed by the
scheduler. The issue's target: served at most 3x real.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ipcsim.remote.launch import served  # noqa: E402

DATA = b"x" * 64


# Where the two processes run: None (the scheduler decides), or (parent CPU, child CPU)
PLACEMENT: tuple[int, int] | None = None


def _pin(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


def _child(body: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        if PLACEMENT is not None:
            _pin(PLACEMENT[1])
        code = 0
        try:
            body()
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        os._exit(code)
    return pid


def _timed(parent: Callable[[], None], child: Callable[[], None], n: int) -> float:
    pid = _child(child)
    start = time.perf_counter()
    parent()
    elapsed = time.perf_counter() - start
    _, status = os.waitpid(pid, 0)
    if status:
        raise RuntimeError(f"the benchmark's child failed ({status:#x})")
    return elapsed / n * 1e6


def _ping_pong(one: Any, two: Any, give: Callable[[Any], object],
               take: Callable[[Any], object], n: int) -> float:
    """``n`` round trips: the parent gives on ``one`` and takes from ``two``; the child
    takes from ``one`` and gives on ``two``."""
    def child() -> None:
        for _ in range(n):
            take(one)
            give(two)

    def parent() -> None:
        for _ in range(n):
            give(one)
            take(two)
    return _timed(parent, child, n)


def _send(q: Any) -> None:
    q.send(DATA)


def _receive(q: Any) -> None:
    q.receive()


def _release(s: Any) -> None:
    s.release()


def _acquire(s: Any) -> None:
    s.acquire()


def msg_pair(sysv: Any, n: int) -> float:
    q1 = sysv.MessageQueue(None, sysv.IPC_CREX)
    q2 = sysv.MessageQueue(None, sysv.IPC_CREX)
    try:
        return _ping_pong(q1, q2, _send, _receive, n)
    finally:
        q1.remove()
        q2.remove()


def sem_pair(sysv: Any, n: int) -> float:
    s1 = sysv.Semaphore(None, sysv.IPC_CREX)
    s2 = sysv.Semaphore(None, sysv.IPC_CREX)
    try:
        return _ping_pong(s1, s2, _release, _acquire, n)
    finally:
        s1.remove()
        s2.remove()


def mq_pair(posix: Any, n: int) -> float:
    tag = f"/bench-remote-{os.getpid()}"
    q1 = posix.MessageQueue(tag + "-1", posix.O_CREX)
    q2 = posix.MessageQueue(tag + "-2", posix.O_CREX)
    try:
        return _ping_pong(q1, q2, _send, _receive, n)
    finally:
        for q in (q1, q2):
            q.close()
            q.unlink()


def posix_sem_pair(posix: Any, n: int) -> float:
    tag = f"/bench-remote-{os.getpid()}"
    s1 = posix.Semaphore(tag + "-s1", posix.O_CREX)
    s2 = posix.Semaphore(tag + "-s2", posix.O_CREX)
    try:
        return _ping_pong(s1, s2, _release, _acquire, n)
    finally:
        for s in (s1, s2):
            s.unlink()
            s.close()


def msg_stream(sysv: Any, n: int) -> float:
    q = sysv.MessageQueue(None, sysv.IPC_CREX)
    try:
        def child() -> None:
            for _ in range(n):
                q.receive()

        def parent() -> None:
            for _ in range(n):
                q.send(DATA)
            while q.current_messages:       # (until the child has taken them all)
                time.sleep(0.0001)
        return _timed(parent, child, n)
    finally:
        q.remove()


CASES: list[tuple[str, str, Callable[[Any, int], float]]] = [
    ("msg pair", "sysv", msg_pair),
    ("sem pair", "sysv", sem_pair),
    ("mq pair", "posix", mq_pair),
    ("posix sem pair", "posix", posix_sem_pair),
    ("msg stream (per message)", "sysv", msg_stream),
]


def _real_modules() -> dict[str, Any] | str:
    if not sys.platform.startswith("linux"):
        return "not Linux"
    try:
        import posix_ipc
        import sysv_ipc
    except ImportError as e:
        return f"the real packages are not installed ({e})"
    if getattr(sysv_ipc, "__file__", "").startswith(str(Path(__file__).parent.parent /
                                                        "ipcsim")):
        return "sysv_ipc is ipcsim's fake here"
    return {"sysv": sysv_ipc, "posix": posix_ipc}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Print the figures; return them: column -> case -> median microseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--no-real", action="store_true", help="the served kernel only")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("-n", type=int, default=None, help="round trips per round")
    args = parser.parse_args(argv)
    n = args.n or (300 if args.quick else 4000)
    rounds = args.rounds or (1 if args.quick else 5)
    real = {} if args.no_real else _real_modules()
    if isinstance(real, str):
        print(f"real column skipped: {real}")
        real = {}
    from ipcsim.compat import posix_ipc as fake_posix
    from ipcsim.compat import sysv_ipc as fake_sysv
    fake = {"sysv": fake_sysv, "posix": fake_posix}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    placements: dict[str, tuple[int, int] | None] = {}
    if real:
        if len(cpus) >= 2:
            placements["real, 2 CPUs"] = (cpus[0], cpus[1])
        if cpus:
            placements["real, 1 CPU"] = (cpus[0], cpus[0])
        if not placements:
            placements["real"] = None
    columns = [*placements, "served"]
    figures: dict[str, dict[str, list[float]]] = {name: {c: [] for c in columns}
                                                  for name, _, _ in CASES}
    global PLACEMENT
    with served():
        for _ in range(rounds):
            for name, family, fn in CASES:
                for column, where in placements.items():
                    PLACEMENT = where
                    saved = os.sched_getaffinity(0) if where is not None else None
                    if where is not None:
                        _pin(where[0])
                    try:
                        figures[name][column].append(fn(real[family], n))
                    finally:
                        PLACEMENT = None
                        if saved is not None:
                            os.sched_setaffinity(0, saved)
                figures[name]["served"].append(fn(fake[family], n))
    print(f"two OS processes, {n} round trips x {rounds} rounds (median; best in brackets), "
          f"microseconds; the served kernel's processes are placed by the scheduler")
    header = "".join(f"{c:>18}" for c in columns)
    ratios = "".join(f"{'served/' + c.split(', ')[-1]:>16}" for c in placements)
    print(f"{'case':<26}{header}{ratios}")
    for name, _, _ in CASES:
        cells = ""
        for c in columns:
            v = figures[name][c]
            cells += f"{statistics.median(v):10.1f} ({min(v):5.1f})"
        served_median = statistics.median(figures[name]["served"])
        cells += "".join(f"{served_median / statistics.median(figures[name][c]):15.2f}x"
                         for c in placements)
        print(f"{name:<26}{cells}")
    return {c: {name: statistics.median(figures[name][c]) for name, _, _ in CASES}
            for c in columns}


if __name__ == "__main__":
    main()
