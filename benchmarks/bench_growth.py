"""How queue costs grow with adversarial priorities and types: ipcsim next to the real kernel.

    python3 benchmarks/bench_growth.py            # full sizes, a few minutes
    python3 benchmarks/bench_growth.py --quick    # a smoke run of a few seconds
    python3 benchmarks/bench_growth.py --no-real  # ipcsim only

Each scenario runs at three sizes (messages queued) and prints microseconds per operation,
best of a few samples, for ipcsim and for this machine's kernel (the same scenario code, run in
a child process under ``unshare --ipc`` through ``posix_ipc`` and ctypes; it needs root on
Linux and ``posix_ipc``, otherwise the column says why it was skipped). A POSIX queue of the
real kernel holds only what RLIMIT_MSGQUEUE allows (819,200 bytes by default: 5,120 messages
of 64 bytes; raising it needs CAP_SYS_RESOURCE), so larger sizes are skipped there:

* POSIX queues: sending and then receiving messages whose priorities are all distinct
  (``(i * 7919) % 32768``: every priority once there are 32,768 messages), four messages per
  priority, and every priority present with a send+receive pair at the top.
* System V queues: sending messages of all-distinct types, then receiving them by exact type
  (another order), by negative type (lowest first), and a mix of receivers by exact type,
  negative type, MSG_EXCEPT and type 0 over 64 interleaved types.
* Walks Linux makes too: MSG_EXCEPT behind a run of one type, MSG_COPY of the last message,
  and both with removed messages among the walked ones (ipcsim drops them lazily).

The target of the issue: the cost per operation grows by at most 1.5x from the small size
to the large, except where Linux's grows too (by more than 1.5x); there ipcsim's cost is at
most 3x Linux's at Linux's largest size: per message walked where Linux walks its list
(MSG_EXCEPT, MSG_COPY, receives by type), per operation elsewhere. Each row says ``ok`` or
``MISSED``. ``main()`` returns the figures.

So that load on the machine does not decide a verdict, times are the process's CPU time
(user and system), a scenario's sizes take turns (each round samples it at every size), a
sample at a small size runs its scenario as many times as make the timed operations of one
run at the largest, and the best sample counts; timed parts run with the cyclic garbage
collector off, as timeit runs them.
"""
from __future__ import annotations

import gc
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

DATA = b"x" * 64
LONG_MAX = (1 << 63) - 1
IPC_NOWAIT, MSG_EXCEPT, MSG_COPY = 0o4000, 0o20000, 0o40000
TYPES = 64          # the interleaved types of the mixed scenario


def _timed(ops: Callable[[], Any], count: int) -> float:
    """Microseconds per operation of ``ops``, which makes ``count`` of them: the CPU time of
    the process (user and system: the kernel's work for its calls counts), so that time
    spent waiting for a CPU on a loaded machine does not; with the cyclic garbage collector
    off, as timeit runs."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        t = time.process_time_ns()
        ops()
        return (time.process_time_ns() - t) / 1e3 / count
    finally:
        if enabled:
            gc.enable()


# --- the scenarios (``api``: SimApi or RealApi) ------------------------------------------------
def mq_distinct(api: Any, n: int, per_prio: int) -> tuple[float, float]:
    """Send ``n`` messages, ``per_prio`` to a priority, in a scattered order; then receive
    them all. (µs per send, µs per receive)."""
    prios = max(1, min(32768, n // per_prio))
    order = [(i * 7919) % prios for i in range(n)]
    send, receive, close = api.mq(n)
    s = _timed(lambda: [send(p) for p in order], n)
    r = _timed(lambda: [receive() for _ in range(n)], n)
    close()
    return s, r


def mq_top_pairs(api: Any, n: int, pairs: int) -> float:
    """``n`` messages at distinct priorities queued; µs per send+receive pair, the send at a
    priority among them (the receive takes the highest)."""
    prios = min(32768, n)
    send, receive, close = api.mq(n + 1)
    for i in range(n):
        send((i * 7919) % prios)
    order = [(i * 7919 + 3) % prios for i in range(pairs)]
    t = _timed(lambda: [(send(p), receive()) for p in order], pairs)
    close()
    return t


def msg_distinct(api: Any, n: int) -> tuple[float, float, float]:
    """Messages of ``n`` distinct types: µs per send (scattered order), per receive by exact
    type (another order), and, filled again, per receive by negative type."""
    q = api.msgq()
    types = [(i * 7919) % n + 1 for i in range(n)]
    s = _timed(lambda: [api.msgsnd(q, t) for t in types], n)
    again = [(i * 104729) % n + 1 for i in range(n)]
    r = _timed(lambda: [api.msgrcv(q, t, 0) for t in again], n)
    for t in types:
        api.msgsnd(q, t)
    neg = _timed(lambda: [api.msgrcv(q, -LONG_MAX, 0) for _ in range(n)], n)
    api.rmid(q)
    return s, r, neg


def msg_mixed(api: Any, n: int, rounds: int) -> float:
    """``n`` messages of TYPES interleaved types queued; µs per operation of rounds of: send,
    receive by exact type, send, receive by negative type, send, receive with MSG_EXCEPT,
    send, receive the first."""
    q = api.msgq()
    for i in range(n):
        api.msgsnd(q, i % TYPES + 1)
    snd, rcv = api.msgsnd, api.msgrcv

    def ops() -> None:
        for i in range(rounds):
            t = (i * 7) % TYPES + 1
            snd(q, t)
            rcv(q, t, 0)                  # the oldest of t: (at least) one is queued
            snd(q, t)
            rcv(q, -TYPES, 0)
            snd(q, t)
            rcv(q, (i * 5) % TYPES + 1, MSG_EXCEPT)
            snd(q, t)
            rcv(q, 0, 0)
    t = _timed(ops, 8 * rounds)
    api.rmid(q)
    return t


def msg_walks(api: Any, n: int, calls: int) -> dict[str, float]:
    """µs per call of the walks: MSG_EXCEPT of a type behind ``n`` messages of it (a send of
    another type + the receive), MSG_COPY of message n - 1; then the same with as many
    removed messages (of a third type, taken by exact type) interleaved among the walked."""
    out = {}
    q = api.msgq()
    for _ in range(n):
        api.msgsnd(q, 1)
    out["except"] = _timed(lambda: [(api.msgsnd(q, 2), api.msgrcv(q, 1, MSG_EXCEPT))
                                    for _ in range(calls)], calls)
    out["copy"] = _timed(lambda: [api.msgrcv(q, n - 1, MSG_COPY) for _ in range(calls)], calls)
    api.rmid(q)
    q = api.msgq()
    for _ in range(n):
        api.msgsnd(q, 1)
        api.msgsnd(q, 3)
    for _ in range(n):
        api.msgrcv(q, 3, 0)
    out["except, removed"] = _timed(lambda: [(api.msgsnd(q, 2), api.msgrcv(q, 1, MSG_EXCEPT))
                                             for _ in range(calls)], calls)
    out["copy, removed"] = _timed(lambda: [api.msgrcv(q, n - 1, MSG_COPY)
                                           for _ in range(calls)], calls)
    api.rmid(q)
    return out


class Unavailable(Exception):
    """The kernel cannot run this scenario at this size."""


# Each scenario: (its figures' names, timed operations per run at size n (calls given), one
# run at size n, returning µs per operation: a float, a tuple in the names' order, or a dict).
SCENARIOS: list[tuple[str, Callable[[int, int], int], Callable[[Any, int, int], Any]]] = [
    ("mq_send distinct prios|mq_receive distinct prios", lambda n, calls: n,
     lambda api, n, calls: mq_distinct(api, n, 1)),
    ("mq_send 4 per prio|mq_receive 4 per prio", lambda n, calls: n,
     lambda api, n, calls: mq_distinct(api, n, 4)),
    ("mq pair, top of all prios", lambda n, calls: calls,
     lambda api, n, calls: mq_top_pairs(api, n, calls)),
    ("msgsnd distinct types|msgrcv exact type|msgrcv negative type", lambda n, calls: n,
     lambda api, n, calls: msg_distinct(api, n)),
    ("msg mixed receivers", lambda n, calls: 8 * (calls // 4),
     lambda api, n, calls: msg_mixed(api, n, calls // 4)),
    ("walk", lambda n, calls: max(10, calls // 20),
     lambda api, n, calls: msg_walks(api, n, max(10, calls // 20))),
]


def _named(names: str, result: Any) -> dict[str, float]:
    """A run's result as {figure name: µs per operation}."""
    if isinstance(result, dict):
        return {f"{names} {key}": value for key, value in result.items()}
    if isinstance(result, tuple):
        return dict(zip(names.split("|"), result))
    return {names: result}


def sample(api: Any, n: int, calls: int, names: str, ops: Callable[[int, int], int],
           run: Callable[[Any, int, int], Any], largest: int) -> dict[str, float]:
    """One sample of a scenario at size ``n``: as many runs as make about the timed
    operations of one run at the ``largest`` size (a short sample's best is luckier than a
    long one's), averaged."""
    runs = max(1, round(ops(largest, calls) / ops(n, calls)))
    total: dict[str, float] = {}
    for _ in range(runs):
        for key, value in _named(names, run(api, n, calls)).items():
            total[key] = total.get(key, 0.0) + value
    return {key: value / runs for key, value in total.items()}


def figures(api: Any, sizes: tuple[int, ...], repeat: int, calls: int) -> dict[str, float]:
    """Every figure at every size: ``{"name @ size": µs per operation}``, the best of
    ``repeat`` samples. A scenario's sizes take turns (``repeat`` rounds of a sample at
    every size), so that load on the machine falls on the small and the large alike."""
    best: dict[str, float] = {}
    for names, ops, run in SCENARIOS:
        ran = list(sizes)
        for _ in range(repeat):
            for n in list(ran):
                try:
                    got = sample(api, n, calls, names, ops, run, sizes[-1])
                except Unavailable:
                    ran.remove(n)
                    continue
                for key, value in got.items():
                    figure = f"{key} @ {n}"
                    best[figure] = min(value, best.get(figure, value))
    # by size, then scenario
    return {figure: best[figure] for n in sizes for figure in best
            if figure.endswith(f" @ {n}")}


# --- ipcsim --------------------------------------------------------------------------------
class SimApi:
    """The scenarios' calls on ipcsim: one process in a new IPC namespace with room for
    every message (msg_max 65536, msgmnb 1 GiB, no RLIMIT_MSGQUEUE)."""

    def __init__(self) -> None:
        import ipcsim
        self.k = ipcsim.Kernel()
        p = self.p = self.k.init.clone(ipcsim.CLONE_NEWIPC)
        p.write_file("/proc/sys/fs/mqueue/msg_max", "65536")
        p.write_file("/proc/sys/kernel/msgmnb", str(1 << 30))
        p.setrlimit(ipcsim.RLIMIT_MSGQUEUE, ipcsim.RLIM_INFINITY, ipcsim.RLIM_INFINITY)
        self.count = 0

    def mq(self, n: int) -> tuple[Callable[[int], None], Callable[[], Any], Callable[[], None]]:
        import ipcsim
        p = self.p
        self.count += 1
        name = f"/growth{self.count}"
        q = p.mq_open(name, ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600,
                      ipcsim.MqAttr(mq_maxmsg=max(n, 10), mq_msgsize=64))
        send, receive = p.mq_send, p.mq_receive

        def close() -> None:
            p.mq_close(q)
            p.mq_unlink(name)
        return (lambda prio: send(q, DATA, prio)), (lambda: receive(q, 64)), close

    def msgq(self) -> int:
        return self.p.msgget(0, 0o600)

    def msgsnd(self, q: int, mtype: int) -> None:
        self.p.msgsnd(q, mtype, DATA, IPC_NOWAIT)

    def msgrcv(self, q: int, msgtyp: int, flags: int) -> Any:
        return self.p.msgrcv(q, 64, msgtyp, flags | IPC_NOWAIT)

    def rmid(self, q: int) -> None:
        self.p.msgctl(q, 0)


# --- the real kernel -----------------------------------------------------------------------
class RealApi:
    """The same calls on this machine's kernel: posix_ipc for the POSIX queues, ctypes for
    msgsnd/msgrcv (MSG_EXCEPT and MSG_COPY included). Run only in a fresh IPC namespace."""

    def __init__(self) -> None:
        import ctypes

        import posix_ipc
        self.posix_ipc = posix_ipc
        for path, value in (("/proc/sys/fs/mqueue/msg_max", "65536"),
                            ("/proc/sys/kernel/msgmnb", str(1 << 30))):
            with open(path, "w") as f:
                f.write(value)
        try:
            resource.setrlimit(resource.RLIMIT_MSGQUEUE,
                               (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        except (OSError, ValueError):
            pass                     # (without CAP_SYS_RESOURCE: mq() skips what won't fit)
        libc = ctypes.CDLL(None, use_errno=True)

        class Buf(ctypes.Structure):
            _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 64)]
        self.buf = Buf(1, DATA)
        self.ref = ctypes.byref(self.buf)
        self._msgget, self._msgctl = libc.msgget, libc.msgctl
        self._msgsnd, self._msgrcv = libc.msgsnd, libc.msgrcv
        self._msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self._msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.c_long, ctypes.c_int]
        self._msgrcv.restype = ctypes.c_ssize_t
        self._msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
        self.get_errno = ctypes.get_errno
        self.count = 0

    def mq(self, n: int) -> tuple[Callable[[int], None], Callable[[], Any], Callable[[], None]]:
        posix_ipc = self.posix_ipc
        maxmsg = max(n, 10)
        charge = maxmsg * (64 + 48) + min(maxmsg, 32768) * 48     # mqueue_get_inode()
        if charge > resource.getrlimit(resource.RLIMIT_MSGQUEUE)[0]:
            raise Unavailable(f"{n} messages need RLIMIT_MSGQUEUE >= {charge}")
        self.count += 1
        q = posix_ipc.MessageQueue(f"/growth{self.count}", posix_ipc.O_CREX,
                                   max_messages=maxmsg, max_message_size=64)
        send, receive = q.send, q.receive

        def close() -> None:
            q.close()
            q.unlink()
        return (lambda prio: send(DATA, priority=prio)), receive, close

    def msgq(self) -> int:
        q: int = self._msgget(0, 0o600)
        return q

    def msgsnd(self, q: int, mtype: int) -> None:
        self.buf.mtype = mtype
        if self._msgsnd(q, self.ref, 64, IPC_NOWAIT) < 0:
            raise OSError(self.get_errno(), "msgsnd")

    def msgrcv(self, q: int, msgtyp: int, flags: int) -> int:
        if self._msgrcv(q, self.ref, 64, msgtyp, flags | IPC_NOWAIT) < 0:
            raise OSError(self.get_errno(), "msgrcv")
        mtype: int = self.buf.mtype
        return mtype

    def rmid(self, q: int) -> None:
        self._msgctl(q, 0, None)


REAL_SCRIPT = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("bench_growth", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
*sizes, repeat, calls = map(int, sys.argv[2:])
print(json.dumps(bench.figures(bench.RealApi(), tuple(sizes), repeat, calls)))
"""


def real_figures(sizes: tuple[int, ...], repeat: int, calls: int) -> tuple[dict | None, str]:
    from _common import run_real
    return run_real(REAL_SCRIPT, [Path(__file__).resolve(), *sizes, repeat, calls],
                    "posix_ipc")


# --- the report ----------------------------------------------------------------------------
# The figures whose cost grows in Linux because find_msg walks the list: messages walked per
# operation at size n (on average for the receives by type over all-distinct types).
WALKS = {"walk except": lambda n: n, "walk copy": lambda n: n,
         "walk except, removed": lambda n: 2 * n, "walk copy, removed": lambda n: 2 * n,
         "msgrcv exact type": lambda n: n / 2, "msgrcv negative type": lambda n: n / 2}


def verdicts(sim: dict[str, float], real: dict[str, float] | None,
             sizes: tuple[int, ...]) -> list[tuple[str, float, float | None, str]]:
    """Per figure: (name, ipcsim's growth from the smallest size to the largest, Linux's to
    the largest it ran, verdict). Flat if ipcsim grows at most 1.5x. Where Linux grows more
    than that, ok too if ipcsim is within 3x of Linux at Linux's largest size: per message
    walked (the growth in µs over the growth in messages walked) for Linux's walks, per
    operation for the others."""
    small, large = sizes[0], sizes[-1]
    rows = []
    for key in sim:
        name, _, size = key.rpartition(" @ ")
        if int(size) != small:
            continue
        grow = sim[f"{name} @ {large}"] / sim[key]
        verdict = "ok" if grow <= 1.5 else "MISSED"
        rgrow = None
        ran = [n for n in sizes if real and f"{name} @ {n}" in real]
        if real and len(ran) > 1:
            rlarge = ran[-1]
            rgrow = real[f"{name} @ {rlarge}"] / real[key]
            if verdict != "ok" and rgrow > 1.5:
                verdict = _beside_linux(name, sim, real, small, large, rlarge)
        rows.append((name, grow, rgrow, verdict))
    return rows


def _beside_linux(name: str, sim: dict[str, float], real: dict[str, float], small: int,
                  large: int, rlarge: int) -> str:
    """The verdict of a figure that grows in both: ipcsim's cost within 3x of Linux's."""
    if name in WALKS:
        walked = WALKS[name]
        mine = (sim[f"{name} @ {large}"] - sim[f"{name} @ {small}"]) \
            / (walked(large) - walked(small))
        theirs = (real[f"{name} @ {rlarge}"] - real[f"{name} @ {small}"]) \
            / (walked(rlarge) - walked(small))
        return (f"{'ok' if mine <= 3 * theirs else 'MISSED'} (per message walked: "
                f"{mine * 1000:.1f} ns, Linux {theirs * 1000:.1f} ns)")
    mine, theirs = sim[f"{name} @ {rlarge}"], real[f"{name} @ {rlarge}"]
    return (f"{'ok' if mine <= 3 * theirs else 'MISSED'} (per operation at {rlarge:,}: "
            f"{mine:.2f} us, Linux {theirs:.2f} us)")


def main(argv: list[str] | None = None) -> dict:
    from _common import options, print_side_by_side
    opts = options(__doc__, argv)
    sizes, repeat, calls = ((100, 2000), 2, 400) if opts.quick else ((100, 5000, 32768), 7, 4000)
    sim = figures(SimApi(), sizes, repeat, calls)
    real, why = (None, "--no-real") if opts.no_real else real_figures(sizes, repeat, calls)
    print(f"Queue costs by size, microseconds per operation (best of {repeat}); sizes "
          f"{', '.join(f'{n:,}' for n in sizes)} messages")
    print_side_by_side(sim, real, 40)
    print(f"\ngrowth, {sizes[-1]:,} / {sizes[0]:,} (real: its largest size; target: ipcsim "
          f"<= 1.5, or where Linux grows, within 3x of Linux: per message walked, or per "
          f"operation)")
    for name, grow, rgrow, verdict in verdicts(sim, real, sizes):
        rtext = f"{rgrow:7.2f}" if rgrow is not None else "      -"
        print(f"  {name:34} ipcsim {grow:6.2f}  real {rtext}  {verdict}")
    if not real:
        print(f"real column skipped: {why}")
    return {"ipcsim": sim, "real": real}


if __name__ == "__main__":
    main()
