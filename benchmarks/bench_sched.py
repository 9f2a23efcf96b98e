"""The scheduler: ipcsim's two executors (greenlet, threads) next to the real kernel.

    python3 benchmarks/bench_sched.py            # full sizes, about half a minute
    python3 benchmarks/bench_sched.py --quick    # a smoke run of a few seconds
    python3 benchmarks/bench_sched.py --no-real  # ipcsim only

One table, a column per executor (``Kernel(executor="greenlet")`` and
``Kernel(executor="threads")``) and one for this machine's kernel:

1. ping-pong (us per round trip): two programs on one System V queue, one msgsnd type 1
   then msgrcv type 2, the other the reverse. Real: a parent and a forked child doing the
   same on a ``sysv_ipc.MessageQueue``.
2. sem 2 / sem 8 / sem 32 (us per turn): that many programs on one System V semaphore of
   value 1, each looping semop down, semop up (a turn: one down+up pair); the same total of
   turns spread evenly, the random policy. Real: that many forked processes on a
   ``sysv_ipc.Semaphore(initial_value=1)`` doing acquire/release, from a common start to
   the last one done, divided by the turns.
3. full mq (us per message): a POSIX queue of mq_maxmsg 10, a producer sending 64-byte
   messages and a consumer receiving them, so the producer finds the queue full again and
   again (the default, random, policy). Real: ``posix_ipc.MessageQueue(max_messages=10)``
   with a forked consumer.
4. getresuid, random (us per call): 2 programs each calling getresuid() in a loop under
   the random policy, where every call is a switch point. Real: os.getresuid() in a loop.
5. explore seeds/s: ``ipcsim.explore.explore("examples/dining_philosophers.py", seeds,
   jobs=1, executor=...)`` (Report.seeds_per_second). No real column.
6. parked programs, bytes per parked program, us to start a program: P programs that each
   block at once in pause(), started by P forks and ``k.run_until_idle()``. Bytes per
   parked program: the growth of the resident set (/proc/self/statm) with the P parked
   programs, less its growth with P processes made by ``init.fork()`` without a program,
   over P; each measured in a forked child of its own, so the two do not disturb each
   other. us to start: the time of the P forks and the run_until_idle, over P. Then
   ``k.close()`` must end them all. The threads executor holds an OS thread per program,
   so it parks at most 2,000. No real column.

Run-based figures are the best of a few runs on a fresh kernel (fixed seeds and sizes);
timings vary from run to run and with the load of the machine. The real column runs in a
child Python process in a fresh IPC namespace (``unshare --ipc``) and needs root on Linux and
the ``sysv_ipc`` and ``posix_ipc`` packages; otherwise it says why it was skipped. A targets
block at the end says which of the scheduler's targets are met. ``main()`` returns
``{"greenlet": {...}, "threads": {...}, "real": {...} or None}``.
"""
from __future__ import annotations

import gc
import json
import os
import select
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # _common

import ipcsim  # noqa: E402
from _common import options, run_real  # noqa: E402
from ipcsim import IPC_PRIVATE, O_CREAT, O_RDWR, MqAttr  # noqa: E402
from ipcsim.explore import explore  # noqa: E402

SEED = 0
DATA = b"x" * 64
EXECUTORS = ("greenlet", "threads")
SCENARIO = str(Path(__file__).resolve().parent.parent / "examples" / "dining_philosophers.py")
SEM_PROGRAMS = (2, 8, 32)


class Sizes:
    """Every size the benchmark uses, per executor where they differ (a switch between
    threads costs some ten times one between greenlets); --quick shrinks them."""

    def __init__(self, quick: bool):
        self.repeat = 1 if quick else 3
        q = quick
        self.rounds = {"greenlet": 1_000 if q else 20_000, "threads": 200 if q else 4_000}
        self.turns = {"greenlet": 1_000 if q else 20_000, "threads": 200 if q else 4_000}
        self.msgs = {"greenlet": 1_000 if q else 20_000, "threads": 200 if q else 4_000}
        self.calls = {"greenlet": 2_000 if q else 50_000, "threads": 300 if q else 5_000}
        self.seeds = {"greenlet": 200 if q else 3_000, "threads": 20 if q else 300}
        self.parked = {"greenlet": 5_000 if q else 100_000, "threads": 200 if q else 2_000}
        self.real_rounds = 1_000 if q else 20_000
        self.real_turns = 1_000 if q else 20_000
        self.real_msgs = 1_000 if q else 20_000
        self.real_calls = 20_000 if q else 500_000
        self.real_limit = 60 if q else 300     # seconds before the real run gives up


# --- ipcsim --------------------------------------------------------------------------------
def timed_run(executor: str, build, repeat: int, policy: str = "random") -> tuple[float, int]:
    """(seconds, switches) of the fastest of ``repeat`` runs: each a fresh kernel on which
    ``build(k)`` forks the programs, then ``k.run()`` to the end."""
    runs = []
    for _ in range(repeat):
        k = ipcsim.Kernel(seed=SEED, executor=executor, policy=policy)
        try:
            build(k)
            gc.collect()
            s0 = k.sched.switches
            t = time.perf_counter()
            k.run()
            runs.append((time.perf_counter() - t, k.sched.switches - s0))
        finally:
            k.close()
    return min(runs)


def sim_ping_pong(executor: str, rounds: int, repeat: int) -> tuple[float, int]:
    def ping(p, q):
        snd, rcv = p.msgsnd, p.msgrcv
        for _ in range(rounds):
            snd(q, 1, DATA)
            rcv(q, 100, 2)

    def pong(p, q):
        snd, rcv = p.msgsnd, p.msgrcv
        for _ in range(rounds):
            rcv(q, 100, 1)
            snd(q, 2, DATA)

    def build(k):
        q = k.init.msgget(IPC_PRIVATE, 0o600)
        k.init.fork(target=ping, args=(q,))
        k.init.fork(target=pong, args=(q,))

    return timed_run(executor, build, repeat)


def sim_sem(executor: str, programs: int, turns: int, repeat: int) -> tuple[float, int]:
    """(seconds, switches) for ``turns`` (rounded down to a multiple of ``programs``)."""
    per = turns // programs
    down, up = [(0, -1, 0)], [(0, 1, 0)]

    def worker(p, s):
        semop = p.semop
        for _ in range(per):
            semop(s, down)
            semop(s, up)

    def build(k):
        s = k.init.semget(IPC_PRIVATE, 1, 0o600)
        k.init.semctl(s, 0, ipcsim.SETVAL, 1)
        for _ in range(programs):
            k.init.fork(target=worker, args=(s,))

    return timed_run(executor, build, repeat)


def sim_full_mq(executor: str, msgs: int, repeat: int) -> tuple[float, int]:
    def producer(p, q):
        send = p.mq_send
        for _ in range(msgs):
            send(q, DATA, 0)

    def consumer(p, q):
        receive = p.mq_receive
        for _ in range(msgs):
            receive(q, 64)

    def build(k):
        q = k.init.mq_open("/bench-full", O_CREAT | O_RDWR, 0o600,
                           MqAttr(mq_maxmsg=10, mq_msgsize=64))
        k.init.fork(target=producer, args=(q,))   # the descriptor is inherited
        k.init.fork(target=consumer, args=(q,))

    return timed_run(executor, build, repeat)


def sim_getresuid(executor: str, calls: int, repeat: int) -> tuple[float, int]:
    def caller(p):
        g = p.getresuid
        for _ in range(calls):
            g()

    def build(k):
        for _ in range(2):
            k.init.fork(target=caller)

    return timed_run(executor, build, repeat)


def sim_explore(executor: str, seeds: int, repeat: int) -> tuple[float, dict]:
    """Seeds/s of explore() with ``executor``, best of ``repeat``; and the kinds of results
    (a check that the runs did something)."""
    reports = [explore(SCENARIO, range(seeds), jobs=1, progress=False, executor=executor)
               for _ in range(repeat)]
    r = reports[0]
    return (max(x.seeds_per_second for x in reports),
            {kind: len(r.seeds(kind)) for kind in ("ok", "deadlock", "failed")})


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _parked(executor: str, n: int) -> dict:
    """In a forked child: the resident set's growth with ``n`` programs parked in pause(),
    the time to start them, and whether close() ended them."""
    started = [0]

    def program(p):
        started[0] += 1
        p.pause()

    k = ipcsim.Kernel(seed=SEED, executor=executor)
    k.init.fork(target=program)         # the code paths and the executor set up
    k.run_until_idle()
    gc.collect()
    before = _rss()
    t = time.perf_counter()
    fork = k.init.fork
    for _ in range(n):
        fork(target=program)
    forks = time.perf_counter() - t
    k.run_until_idle()
    start = time.perf_counter() - t
    gc.collect()
    grown = _rss() - before
    # the programs that started and are still alive (besides init and the first one) can
    # only be in pause()
    parked = min(started[0] - 1, len(k.processes()) - 2)
    t = time.perf_counter()
    k.close()
    close = time.perf_counter() - t
    return {"grown": grown, "start": start, "forks": forks, "parked": parked, "close": close,
            "closed": k.processes() == [k.init]}


def _plain(n: int) -> dict:
    """In a forked child: the resident set's growth with ``n`` processes without programs."""
    k = ipcsim.Kernel(seed=SEED)
    k.init.fork()
    gc.collect()
    before = _rss()
    fork = k.init.fork
    t = time.perf_counter()
    for _ in range(n):
        fork()
    plain = time.perf_counter() - t
    gc.collect()
    grown = _rss() - before
    k.close()
    return {"grown": grown, "start": plain}


def in_child(fn, *args, timeout: float = 600) -> dict:
    """``fn(*args)`` (a dict) in a forked child process, its answer sent through a pipe."""
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: never returns
        code = 1
        try:
            os.close(r)
            data = json.dumps(fn(*args)).encode()
            while data:
                data = data[os.write(w, data):]
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    chunks, done, status = [], False, None
    try:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                raise TimeoutError(f"{fn.__name__} took over {timeout:.0f} s")
            chunk = os.read(r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        done = True
    finally:
        os.close(r)
        if not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if status != 0 or not chunks:
        raise RuntimeError(f"{fn.__name__} failed in its child process (status {status})")
    return json.loads(b"".join(chunks))


def sim_parked(executor: str, n: int) -> dict:
    """Figure 6 for one executor: parked programs, bytes per parked program, us to start."""
    if not hasattr(os, "fork") or not os.path.exists("/proc/self/statm"):
        return {"parked programs": None, "bytes per parked program": None,
                "us to start a program": None, "closed": None}
    parked = in_child(_parked, executor, n)
    plain = in_child(_plain, n)
    return {"parked programs": parked["parked"] if parked["closed"] else 0,
            "bytes per parked program": (parked["grown"] - plain["grown"]) / n,
            "us to start a program": parked["start"] / n * 1e6,
            "closed": parked["closed"], "close s": parked["close"],
            "us per fork": parked["forks"] / n * 1e6,
            "us per plain fork": plain["start"] / n * 1e6}


def sim_figures(executor: str, sz: Sizes) -> tuple[dict, dict]:
    """The figures of one executor, and notes (switch counts, details)."""
    out, switches = {}, {}
    notes = {"switches": switches}
    rounds, rep = sz.rounds[executor], sz.repeat
    dt, sw = sim_ping_pong(executor, rounds, rep)
    out["ping-pong"] = dt / rounds * 1e6
    switches["ping-pong"] = sw / rounds
    for n in SEM_PROGRAMS:
        turns = sz.turns[executor] // n * n
        dt, sw = sim_sem(executor, n, turns, rep)
        out[f"sem {n}"] = dt / turns * 1e6
        switches[f"sem {n}"] = sw / turns
    msgs = sz.msgs[executor]
    dt, sw = sim_full_mq(executor, msgs, rep)
    out["full mq"] = dt / msgs * 1e6
    switches["full mq"] = sw / msgs
    calls = sz.calls[executor]
    dt, sw = sim_getresuid(executor, calls, rep)
    out["getresuid, random"] = dt / (2 * calls) * 1e6
    switches["getresuid, random"] = sw / (2 * calls)
    out["explore seeds/s"], notes["explore kinds"] = sim_explore(executor, sz.seeds[executor],
                                                                 rep)
    parked = sim_parked(executor, sz.parked[executor])
    for key in ("parked programs", "bytes per parked program", "us to start a program"):
        out[key] = parked.pop(key)
    notes["parked"] = parked
    return out, notes


# --- the real kernel -----------------------------------------------------------------------
REAL_SCRIPT = r"""
import ctypes, json, os, signal, struct, sys, time, timeit, traceback
import posix_ipc, sysv_ipc
rounds, turns, msgs, calls, repeat, limit = map(int, sys.argv[1:7])
counts = [int(x) for x in sys.argv[7].split(",")]
DATA = b"x" * 64
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
ME = os.getpid()
children = set()
cleaning = False

class ChildFailed(Exception):
    pass

def on_sigchld(signum, frame):
    # a child that failed or was killed ends the run at once (whatever this process waits
    # in is interrupted), rather than leaving the others blocked for ever
    if cleaning:
        return
    for pid in list(children):
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            continue
        if info is not None and (info.si_code != os.CLD_EXITED or info.si_status != 0):
            raise ChildFailed("child %d ended with status %d" % (pid, info.si_status))

def on_alarm(signum, frame):
    raise TimeoutError("the real run took over %d s" % limit)

signal.signal(signal.SIGCHLD, on_sigchld)
signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(limit)

def spawn(fn, close=()):
    # fork a child running fn(); it dies with this process and never returns here
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(0)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            children.clear()
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != ME:
                os._exit(1)
            for fd in close:
                os.close(fd)
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    children.add(pid)
    return pid

def reap(pid):
    _, status = os.waitpid(pid, 0)
    children.discard(pid)
    if status != 0:
        raise RuntimeError("child %d failed (status %d)" % (pid, status))

def group(workers, here=None):
    # fork one child per worker, start them together (a byte each on a pipe), run here()
    # in this process meanwhile: seconds from the start to the last one done (each child
    # sends the time its loop ended)
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    pids = []
    def child(work):
        def run():
            os.read(go_r, 1)
            work()
            os.write(done_w, struct.pack("d", time.perf_counter()))
        return run
    try:
        for work in workers:
            pids.append(spawn(child(work), close=(go_w, done_r)))
        os.close(done_w)
        done_w = -1
        t0 = time.perf_counter()
        os.write(go_w, b"g" * len(pids))
        end = t0
        if here is not None:
            here()
            end = time.perf_counter()
        data = b""
        while len(data) < 8 * len(pids):
            chunk = os.read(done_r, 4096)
            if not chunk:
                raise RuntimeError("a child ended without reporting")
            data += chunk
        ends = struct.unpack("%dd" % len(pids), data)
        for pid in pids:
            reap(pid)
        return max(end, *ends) - t0
    finally:
        for fd in (go_r, go_w, done_r, done_w):
            if fd >= 0:
                os.close(fd)

out = {}
q = sem = mq = None
try:
    # 1. ping-pong: the parent times `rounds` round trips after a warm-up
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    warm = min(1000, rounds)
    def pong():
        for _ in range(warm + rounds):
            q.receive(type=1)
            q.send(DATA, type=2)
    times = []
    for _ in range(repeat):
        pid = spawn(pong)
        for _ in range(warm):
            q.send(DATA, type=1)
            q.receive(type=2)
        t = time.perf_counter()
        for _ in range(rounds):
            q.send(DATA, type=1)
            q.receive(type=2)
        times.append(time.perf_counter() - t)
        reap(pid)
    out["ping-pong"] = min(times) / rounds * 1e6
    # 2. n processes on one semaphore of value 1, acquire + release
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    for n in counts:
        per = turns // n
        def turn():
            for _ in range(per):
                sem.acquire()
                sem.release()
        dt = min(group([turn] * n) for _ in range(repeat))
        out["sem %d" % n] = dt / (per * n) * 1e6
    # 3. a full queue: this process produces, a forked one consumes
    mq = posix_ipc.MessageQueue("/bench-full", posix_ipc.O_CREX, max_messages=10,
                                max_message_size=64)
    def consume():
        for _ in range(msgs):
            mq.receive()
    def produce():
        for _ in range(msgs):
            mq.send(DATA, priority=0)
    out["full mq"] = min(group([consume], produce) for _ in range(repeat)) / msgs * 1e6
    # 4. getresuid
    out["getresuid, random"] = min(timeit.repeat(os.getresuid, number=calls,
                                                 repeat=repeat)) / calls * 1e6
finally:
    cleaning = True
    signal.alarm(0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
    if q is not None:
        q.remove()
    if sem is not None:
        sem.remove()
    if mq is not None:
        mq.close()
        mq.unlink()
print(json.dumps(out))
"""


def real_figures(sz: Sizes) -> tuple[dict | None, str]:
    try:
        __import__("sysv_ipc")
    except ImportError:
        return None, "the sysv_ipc package is not installed (pip install sysv_ipc)"
    return run_real(REAL_SCRIPT, [sz.real_rounds, sz.real_turns, sz.real_msgs, sz.real_calls,
                                  sz.repeat, sz.real_limit, ",".join(map(str, SEM_PROGRAMS))],
                    "posix_ipc")


# --- the table -----------------------------------------------------------------------------
UNITS = {"ping-pong": "us/round trip", **{f"sem {n}": "us/turn" for n in SEM_PROGRAMS},
         "full mq": "us/message", "getresuid, random": "us/call", "explore seeds/s": "seeds/s",
         "parked programs": "programs", "bytes per parked program": "B",
         "us to start a program": "us"}


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, int) or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.3f}"


def print_table(cols: dict, real: dict | None, width: int = 26) -> None:
    """One row per figure: each executor, the real kernel, and each executor over real."""
    names = list(cols)
    head = "".join(f" {n:>11}" for n in names) + f" {'real':>9}"
    head += "".join(f" {n + '/real':>14}" for n in names)
    print(f"{'figure':{width}} {'unit':14}{head}")
    for fig in UNITS:
        r = real.get(fig) if real else None
        line = f"{fig:{width}} {UNITS[fig]:14}"
        line += "".join(f" {_cell(cols[n].get(fig)):>11}" for n in names)
        line += f" {_cell(r):>9}"
        for n in names:
            v = cols[n].get(fig)
            if r and v is not None:
                line += f" {v / r:13.2f}x"
        print(line)


def check_targets(g: dict, real: dict | None, sz: Sizes) -> list[tuple[str, str, str]]:
    """(status, target, figure) for each target: "ok", "MISSED", or "skipped (why)"."""
    rows = []

    def verdict(ok):
        return "ok" if ok else "MISSED"

    for fig, limit in (("ping-pong", 0.5), *((f"sem {n}", 1.0) for n in SEM_PROGRAMS)):
        target = f"{fig}: greenlet <= {limit:g}x real"
        r = real.get(fig) if real else None
        if not r:
            rows.append(("skipped (no real column)", target, f"{g[fig]:.2f} us"))
        else:
            rows.append((verdict(g[fig] <= limit * r), target,
                         f"{g[fig] / r:.2f}x ({g[fig]:.2f} us vs {r:.2f} us)"))
    rate = g["explore seeds/s"]
    rows.append((verdict(rate >= 3000), "explore: >= 3,000 seeds/s with greenlets",
                 f"{rate:,.0f} seeds/s"))
    parked, size, start = (g["parked programs"], g["bytes per parked program"],
                           g["us to start a program"])
    if parked is None:
        rows.append(("skipped (needs Linux: fork and /proc)", "parked programs", "-"))
        return rows
    want = sz.parked["greenlet"]
    status = verdict(parked == want) if want >= 100_000 else \
        f"skipped (--quick parks {want:,})" if parked == want else "MISSED"
    rows.append((status, "100,000 parked greenlet programs, then close()",
                 f"{parked:,} parked"))
    rows.append((verdict(size <= 8192), "<= 8 KiB per parked greenlet program",
                 f"{size / 1024:.2f} KiB"))
    rows.append((verdict(start <= 20), "<= 20 us to start a greenlet program",
                 f"{start:.2f} us"))
    return rows


def main(argv: list[str] | None = None) -> dict:
    opts = options(__doc__, argv)
    sz = Sizes(opts.quick)
    t_start = time.perf_counter()
    cols, notes = {}, {}
    for ex in EXECUTORS:
        cols[ex], notes[ex] = sim_figures(ex, sz)
    real, why = (None, "--no-real") if opts.no_real else real_figures(sz)
    print(f"The scheduler: ipcsim's executors next to the real kernel (best of {sz.repeat}; "
          f"parked: {sz.parked['greenlet']:,} greenlet / {sz.parked['threads']:,} thread "
          f"programs)")
    print_table(cols, real)
    for ex in EXECUTORS:
        sw = ", ".join(f"{k} {v:.2f}" for k, v in notes[ex]["switches"].items())
        print(f"switches per operation, {ex}: {sw}")
    kinds = notes["greenlet"]["explore kinds"]
    if kinds:
        print(f"explore of {Path(SCENARIO).name}: " + ", ".join(f"{v} {k}"
                                                                 for k, v in kinds.items()))
    for ex in EXECUTORS:
        p = notes[ex]["parked"]
        if p.get("closed") is not None:
            print(f"parked, {ex}: to start = fork {p['us per fork']:.2f} us + run_until_idle "
                  f"{cols[ex]['us to start a program'] - p['us per fork']:.2f} us; a fork "
                  f"without a program {p['us per plain fork']:.2f} us; close() of "
                  f"{sz.parked[ex]:,} took {p['close s']:.2f} s "
                  f"({'every program ended' if p['closed'] else 'PROGRAMS LEFT'})")
    if not real:
        print(f"real column skipped: {why}")
    print("targets:")
    for status, target, figure in check_targets(cols["greenlet"], real, sz):
        print(f"  {target:46} {figure:36} {status}")
    print(f"total benchmark time {time.perf_counter() - t_start:.1f} s")
    return {"greenlet": cols["greenlet"], "threads": cols["threads"], "real": real}


if __name__ == "__main__":
    main()
