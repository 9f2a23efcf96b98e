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
(microseconds per message). The real column uses ``sysv_ipc`` and ``posix_ipc`` (Linux only);
the served one ``ipcsim.compat``'s fakes attached to a server started for the run
(``ipcsim.remote.launch.served``). The issue's target: served at most 3x real.
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


def _child(body: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
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


def msg_pair(sysv: Any, n: int) -> float:
    q1 = sysv.MessageQueue(None, sysv.IPC_CREX)
    q2 = sysv.MessageQueue(None, sysv.IPC_CREX)
    try:
        def child() -> None:
            for _ in range(n):
                q2.send(q1.receive()[0])

        def parent() -> None:
            for _ in range(n):
                q1.send(DATA)
                q2.receive()
        return _timed(parent, child, n)
    finally:
        q1.remove()
        q2.remove()


def sem_pair(sysv: Any, n: int) -> float:
    s1 = sysv.Semaphore(None, sysv.IPC_CREX)
    s2 = sysv.Semaphore(None, sysv.IPC_CREX)
    try:
        def child() -> None:
            for _ in range(n):
                s1.acquire()
                s2.release()

        def parent() -> None:
            for _ in range(n):
                s1.release()
                s2.acquire()
        return _timed(parent, child, n)
    finally:
        s1.remove()
        s2.remove()


def mq_pair(posix: Any, n: int) -> float:
    tag = f"/bench-remote-{os.getpid()}"
    q1 = posix.MessageQueue(tag + "-1", posix.O_CREX)
    q2 = posix.MessageQueue(tag + "-2", posix.O_CREX)
    try:
        def child() -> None:
            for _ in range(n):
                q2.send(q1.receive()[0])

        def parent() -> None:
            for _ in range(n):
                q1.send(DATA)
                q2.receive()
        return _timed(parent, child, n)
    finally:
        for q in (q1, q2):
            q.close()
            q.unlink()


def posix_sem_pair(posix: Any, n: int) -> float:
    tag = f"/bench-remote-{os.getpid()}"
    s1 = posix.Semaphore(tag + "-s1", posix.O_CREX)
    s2 = posix.Semaphore(tag + "-s2", posix.O_CREX)
    try:
        def child() -> None:
            for _ in range(n):
                s1.acquire()
                s2.release()

        def parent() -> None:
            for _ in range(n):
                s1.release()
                s2.acquire()
        return _timed(parent, child, n)
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


def main(argv: list[str] | None = None) -> int:
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
    figures: dict[str, dict[str, list[float]]] = {name: {"real": [], "served": []}
                                                  for name, _, _ in CASES}
    with served():
        for _ in range(rounds):
            for name, family, fn in CASES:
                if real:
                    figures[name]["real"].append(fn(real[family], n))
                figures[name]["served"].append(fn(fake[family], n))
    print(f"two OS processes, {n} round trips x {rounds} rounds (median; best in brackets), "
          f"microseconds")
    print(f"{'case':<26} {'real':>16} {'served':>16} {'ratio':>7}")
    for name, _, _ in CASES:
        r, s = figures[name]["real"], figures[name]["served"]
        served_text = f"{statistics.median(s):8.1f} ({min(s):5.1f})"
        if r:
            real_text = f"{statistics.median(r):8.1f} ({min(r):5.1f})"
            ratio = f"{statistics.median(s) / statistics.median(r):6.2f}x"
        else:
            real_text, ratio = "-", "-"
        print(f"{name:<26} {real_text:>16} {served_text:>16} {ratio:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
