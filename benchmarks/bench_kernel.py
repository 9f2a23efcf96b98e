"""How fast and how small ipcsim is, side by side with the real Linux kernel.

Run it:   python3 benchmarks/bench_kernel.py            (full sizes, under a minute)
          python3 benchmarks/bench_kernel.py --quick    (small sizes, a smoke run of ~2 s)
          python3 benchmarks/bench_kernel.py --no-real  (ipcsim only)

It prints one table:

1. IPC namespaces created and destroyed per second: a process that unshares
   CLONE_NEWIPC over and over (each unshare makes a namespace, and the one it leaves dies,
   since the process was its only member); and clone(CLONE_NEWIPC) + exit + wait.
2. Memory per idle namespace beyond its member process (tracemalloc): N processes each in a
   namespace of its own against N processes sharing one.
3. The cost of one scheduler switch (programs making cheap system calls, each call a switch
   point), against a direct call from the caller's thread.
4. 1,000 programs passing a token round a ring with signals, and a chain of 1,000 programs
   each forking the next and waiting for it.

The "real" column runs the same loops on this machine's kernel, each in a child Python process
(so this process' own namespace never changes). Namespace rows need root (CAP_SYS_ADMIN) on
Linux; the process rows need Linux. Where a figure cannot be taken, the cell says "skipped"
and a note below the table says why.

What the script does is deterministic (fixed seeds and sizes); the timings are of course not.
Each rate is the median of a few timed repeats after a warm-up. ``main()`` returns the figures
as a dict, so a test can smoke-run ``main(["--quick"])``.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

try:
    import ipcsim
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import ipcsim

from ipcsim import CLONE_NEWIPC
from ipcsim.kernel.signals import SIGUSR1

SEED = 0


class Sizes:
    """Every size the benchmark uses; --quick shrinks them."""

    def __init__(self, quick: bool):
        self.quick = quick
        self.repeats = 3
        self.ns_iters = 2_000 if quick else 20_000         # ipcsim namespace churn
        self.ns_warmup = 200 if quick else 2_000
        self.prog_ns_iters = 1_000 if quick else 10_000    # unshare loop inside a program
        self.real_ns_iters = 500 if quick else 10_000      # real unshare / clone loops
        self.real_warmup = 50 if quick else 500
        self.mem_n = 200 if quick else 2_000               # processes for the memory figure
        # Slab growth under-counts small N (free objects already in slab pages absorb them):
        # 6.2 KiB at 500, 9.5 at 1,000, 11.7 at 2,000, 13.5 KiB at 8,000 on a 2-CPU VM.
        self.real_mem_n = 1_000 if quick else 8_000
        self.sw_programs = 8
        self.sw_calls = 250 if quick else 6_000            # calls per program
        self.solo_calls = 5_000 if quick else 100_000      # one program, nothing to switch to
        self.host_calls = 20_000 if quick else 500_000     # direct calls from the host
        self.pingpong = 2_000 if quick else 50_000         # real pipe round trips
        self.ring_n = 1_000                                # the 1,000 programs
        self.ring_laps = 1
        self.chain_n = 200 if quick else 1_000
        self.real_ring_n = 50 if quick else 1_000
        # Nested forks of a Python process slow down faster than linearly with depth on Linux
        # (0.2 s at 100, 0.9 s at 200, 6 s at 400, 74 s at 1,000 on a 2-CPU VM), so the
        # side-by-side chain is shorter; ipcsim also runs the 1,000-deep one alone.
        self.short_chain_n = 50 if quick else 200
        self.settle = 0.1 if quick else 0.5                # seconds for deferred frees


# --------------------------------------------------------------------------------------------
# timing helpers

def timed(fn, repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``fn()`` (gc'd before each)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# --------------------------------------------------------------------------------------------
# 1. namespaces per second (ipcsim)

def sim_unshare_rate(sz: Sizes) -> float:
    """Namespaces/s: the host drives one process that unshares CLONE_NEWIPC in a loop."""
    k = ipcsim.Kernel(seed=SEED)
    p = k.init.fork()
    unshare = p.unshare
    for _ in range(sz.ns_warmup):
        unshare(CLONE_NEWIPC)

    def loop():
        for _ in range(sz.ns_iters):
            unshare(CLONE_NEWIPC)

    dt = timed(loop, sz.repeats)
    # Each unshare must have killed the namespace it left: only init's and p's remain.
    assert len(k.ipc_namespaces) == 2, k.ipc_namespaces
    k.close()
    return sz.ns_iters / dt


def sim_clone_rate(sz: Sizes, flags: int) -> float:
    """Processes/s for clone(flags) + exit + wait, driven from the host."""
    k = ipcsim.Kernel(seed=SEED)
    init = k.init
    clone, wait = init.clone, init.wait

    def loop(n=sz.ns_iters):
        for _ in range(n):
            c = clone(flags)
            c.exit(0)
            wait(c.pid)

    loop(sz.ns_warmup)
    dt = timed(loop, sz.repeats)
    assert len(k.ipc_namespaces) == 1 and k.processes(include_zombies=True) == [init]
    k.close()
    return sz.ns_iters / dt


def sim_program_unshare_rate(sz: Sizes) -> float:
    """Namespaces/s when a program (its own thread, the system call slow path) unshares."""
    n = sz.prog_ns_iters

    def program(p):
        for _ in range(sz.ns_warmup):
            p.unshare(CLONE_NEWIPC)
        t = time.perf_counter()
        for _ in range(n):
            p.unshare(CLONE_NEWIPC)
        return time.perf_counter() - t

    times = []
    for _ in range(sz.repeats):
        k = ipcsim.Kernel(seed=SEED)
        proc = k.init.fork(target=program)
        gc.collect()
        k.run()
        times.append(proc.result)
        k.close()
    return n / statistics.median(times)


# --------------------------------------------------------------------------------------------
# 2. memory per namespace (ipcsim)

def _sim_mem_per_process(n: int, new_ns: bool) -> float:
    """Bytes per process that init creates (clone(CLONE_NEWIPC) or fork), by tracemalloc."""
    k = ipcsim.Kernel(seed=SEED)
    init = k.init

    def make():
        return init.clone(CLONE_NEWIPC) if new_ns else init.fork()

    # Warm up: the code paths, the attribute caches and the free lists are all in use once.
    warm = [make() for _ in range(64)]
    for c in warm:
        c.exit(0)
        init.wait(c.pid)
    del warm, c
    procs = [None] * n            # the list that keeps them exists before measuring
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            procs[i] = make()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(k.ipc_namespaces) == (n + 1 if new_ns else 1)
    del procs
    k.close()
    return (after - before) / n


def sim_memory(sz: Sizes) -> dict:
    with_ns = _sim_mem_per_process(sz.mem_n, True)
    without = _sim_mem_per_process(sz.mem_n, False)
    return {"per_ns": with_ns - without, "proc_own_ns": with_ns, "proc_shared_ns": without}


# --------------------------------------------------------------------------------------------
# 3. scheduler switches (ipcsim)

def sim_switch_cost(sz: Sizes) -> dict:
    """µs per switch: sw_programs programs each calling getresuid() sw_calls times."""

    def program(p, calls):
        for _ in range(calls):
            p.getresuid()

    runs = []
    for _ in range(sz.repeats):
        k = ipcsim.Kernel(seed=SEED)
        for _ in range(sz.sw_programs):
            k.init.fork(target=program, args=(sz.sw_calls,))
        gc.collect()
        s0 = k.sched.switches
        t = time.perf_counter()
        k.run()
        dt = time.perf_counter() - t
        runs.append((dt, k.sched.switches - s0))
        k.close()
    dt, switches = sorted(runs)[len(runs) // 2]
    calls = sz.sw_programs * sz.sw_calls
    return {"us_per_switch": dt / switches * 1e6, "switches": switches, "calls": calls,
            "switched_fraction": switches / calls}


def sim_solo_call_cost(sz: Sizes) -> float:
    """µs per system call by a lone program (a switch point with nothing to switch to)."""

    def program(p, calls):
        g = p.getresuid
        t = time.perf_counter()
        for _ in range(calls):
            g()
        return time.perf_counter() - t

    times = []
    for _ in range(sz.repeats):
        k = ipcsim.Kernel(seed=SEED)
        proc = k.init.fork(target=program, args=(sz.solo_calls,))
        k.run()
        times.append(proc.result)
        k.close()
    return statistics.median(times) / sz.solo_calls * 1e6


def sim_host_call_cost(sz: Sizes) -> float:
    """µs per direct call from the caller's thread (the fast path, never a switch)."""
    k = ipcsim.Kernel(seed=SEED)
    g = k.init.fork().getresuid

    def loop():
        for _ in range(sz.host_calls):
            g()

    dt = timed(loop, sz.repeats)
    k.close()
    return dt / sz.host_calls * 1e6


def sim_switch_cost_pinned(sz: Sizes, quick: bool) -> tuple[float | None, str]:
    """The switch figure again, in a child process pinned to one CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return None, "no sched_setaffinity on this platform"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-switch"]
    if quick:
        cmd.append("--quick")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                        os.environ.get("PYTHONPATH")]))}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    if out.returncode != 0:
        return None, _last_line(out.stderr) or f"exit status {out.returncode}"
    return json.loads(out.stdout.strip().splitlines()[-1])["us_per_switch"], ""


def _child_switch(quick: bool) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(json.dumps(sim_switch_cost(Sizes(quick))))


# --------------------------------------------------------------------------------------------
# 4. a ring of 1,000 programs, and a chain of fork + wait (ipcsim)

def sim_signal_ring(n: int, laps: int) -> dict:
    """Programs 0..n-1; program i waits for SIGUSR1, then sends it to program i+1 (mod n).

    Program 0 starts with the token. Waiting is ``sleep(3600)`` until the handler has counted
    a token, rather than ``pause()``: a signal that arrives just before the call (the handler
    runs at the switch point on entry) would leave pause() waiting for ever, as in Linux
    without sigsuspend. A timed-out sleep is counted (``lost_wakeups``); the virtual clock
    then moves, but the run still ends. Timed from fork of the first program to the last reap.
    """
    got = [0] * n
    lost = [0]
    nxt = [0] * n
    k = ipcsim.Kernel(seed=SEED)
    init = k.init

    def program(p, i):
        if i == 0:
            got[0] += 1
        passed = 0
        while passed < laps:
            while got[i] <= passed:
                try:
                    p.sleep(3600)
                    lost[0] += 1
                except InterruptedError:
                    pass
            passed += 1
            if not (i == n - 1 and passed == laps):
                p.kill(nxt[i], SIGUSR1)

    gc.collect()
    t = time.perf_counter()
    procs = []
    for i in range(n):
        c = init.fork(target=program, args=(i,))
        c.signal(SIGUSR1, lambda sig, i=i: got.__setitem__(i, got[i] + 1))
        procs.append(c)
    for i in range(n):
        nxt[i] = procs[(i + 1) % n].pid
    s0 = k.sched.switches
    k.run()
    switches = k.sched.switches - s0
    for c in procs:
        init.wait(c.pid)
    dt = time.perf_counter() - t
    assert got == [laps] * n, "the token did not go round"
    vt = k.clock.now()
    k.close()
    return {"seconds": dt, "hops": n * laps, "switches": switches, "lost_wakeups": lost[0],
            "virtual_seconds": vt}


def sim_wait_chain(n: int) -> dict:
    """Program 1 forks program 2 and waits for it, ... down to program n, which just exits."""
    k = ipcsim.Kernel(seed=SEED)

    def program(p, depth):
        if depth > 1:
            c = p.fork(target=program, args=(depth - 1,))
            _, status = p.wait(c.pid)
            if status != 0:
                p.exit(1)

    gc.collect()
    t = time.perf_counter()
    top = k.init.fork(target=program, args=(n,))
    k.run()
    _, status = k.init.wait(top.pid)
    dt = time.perf_counter() - t
    assert status == 0 and k.processes(include_zombies=True) == [k.init]
    k.close()
    return {"seconds": dt}


# --------------------------------------------------------------------------------------------
# the real kernel: the same loops in a child Python, each printing one JSON line

REAL_CODE = r'''
import ctypes, json, os, platform, resource, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long] * 6
CLONE_NEWIPC, SIGCHLD = 0x08000000, 17
SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220}.get(platform.machine())

def fail(what):
    e = ctypes.get_errno()
    raise OSError(e, "%s: %s" % (what, os.strerror(e)))

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

def unshare_loop(n):
    u = libc.unshare
    for _ in range(n):
        if u(CLONE_NEWIPC) != 0:
            fail("unshare(CLONE_NEWIPC)")

def clone_loop(n, flags):
    if SYS_CLONE is None:
        raise OSError(0, "no clone syscall number for " + platform.machine())
    sc, waitpid, _exit = libc.syscall, os.waitpid, os._exit
    for _ in range(n):
        pid = sc(SYS_CLONE, flags, 0, 0, 0, 0)
        if pid == 0:
            _exit(0)
        if pid < 0:
            fail("clone")
        waitpid(pid, 0)

def rate(loop, n, warm, repeats, *a):
    loop(warm, *a)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        loop(n, *a)
        times.append(time.perf_counter() - t)
    return n / median(times)

def meminfo():
    d = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            d[k] = int(v.split()[0]) * 1024
    return d

def ns_memory(n, settle):
    # n namespaces, each kept alive by an open /proc/self/ns/ipc: the growth of Slab
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
    time.sleep(settle)            # let frees deferred by earlier runs finish
    before = meminfo()["Slab"]
    fds = []
    for _ in range(n):
        if libc.unshare(CLONE_NEWIPC) != 0:
            fail("unshare(CLONE_NEWIPC)")
        fds.append(os.open("/proc/self/ns/ipc", os.O_RDONLY))
    after = meminfo()["Slab"]
    for fd in fds:
        os.close(fd)
    return (after - before) / n

def pingpong(m, pin):
    if pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            for _ in range(m):
                os.read(r1, 1)
                os.write(w2, b"x")
        finally:
            os._exit(0)
    for _ in range(200):
        os.write(w1, b"x"); os.read(r2, 1)
    t = time.perf_counter()
    for _ in range(m - 200):
        os.write(w1, b"x"); os.read(r2, 1)
    dt = time.perf_counter() - t
    os.waitpid(pid, 0)
    return dt / (2 * (m - 200)) * 1e6      # two switches per round trip

def getresuid_cost(n):
    g = os.getresuid
    t = time.perf_counter()
    for _ in range(n):
        g()
    return (time.perf_counter() - t) / n * 1e6

def signal_ring(n, laps):
    # the parent and n children in a ring; SIGUSR1 blocked and taken with sigwait (no race)
    S = {signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, S)
    t = time.perf_counter()
    pids, prev = [], os.getpid()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                for _ in range(laps):
                    signal.sigwait(S)
                    os.kill(prev, signal.SIGUSR1)
            finally:
                os._exit(0)
        pids.append(pid)
        prev = pid
    for _ in range(laps):
        os.kill(pids[-1], signal.SIGUSR1)
        signal.sigwait(S)
    for pid in pids:
        os.waitpid(pid, 0)
    return time.perf_counter() - t

def wait_chain(n):
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        depth = n
        while depth > 1:
            c = os.fork()
            if c:
                _, st = os.waitpid(c, 0)
                os._exit(1 if st else 0)
            depth -= 1
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    if st:
        raise OSError(0, "chain failed")
    return time.perf_counter() - t

what, args = sys.argv[1], [float(a) if "." in a else int(a) for a in sys.argv[2:]]
if what == "probe":
    libc.unshare(0) == 0 or fail("unshare(0)")
    unshare_loop(1)
    out = platform.release()
elif what == "unshare":
    out = rate(unshare_loop, *args)
elif what == "clone_newipc":
    out = rate(clone_loop, *args, CLONE_NEWIPC | SIGCHLD)
elif what == "fork":
    out = rate(clone_loop, *args, SIGCHLD)
else:
    out = globals()[what](*args)
print(json.dumps(out))
'''


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def real(what: str, *args, timeout: float = 600):
    """Run one REAL_CODE figure in a child Python: (value, "") or (None, reason)."""
    try:
        out = subprocess.run([sys.executable, "-c", REAL_CODE, what, *map(str, args)],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"{what}: timed out after {timeout:g} s"
    except OSError as e:
        return None, f"{what}: {e}"
    if out.returncode != 0:
        return None, f"{what}: {_last_line(out.stderr) or f'exit status {out.returncode}'}"
    return json.loads(_last_line(out.stdout)), ""


def real_availability(no_real: bool) -> tuple[str, str]:
    """(why process rows are skipped, why namespace rows are skipped); "" when they run."""
    if no_real:
        return "--no-real given", "--no-real given"
    if not sys.platform.startswith("linux"):
        why = f"not Linux ({sys.platform})"
        return why, why
    if os.geteuid() != 0:
        return "", "not root: unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN"
    value, why = real("probe", timeout=60)
    return "", ("" if value is not None else f"unshare(CLONE_NEWIPC) unusable here ({why})")


# --------------------------------------------------------------------------------------------
# the table

class Table:
    def __init__(self):
        self.rows: list[tuple] = []
        self.notes: list[str] = []

    def section(self, title: str) -> None:
        self.rows.append((title,))

    def note(self, text: str) -> int:
        if text not in self.notes:
            self.notes.append(text)
        return self.notes.index(text) + 1

    def row(self, label, unit, sim, real_value, real_why="", fmt="{:,.0f}", ratio=True,
            target="") -> None:
        sim_s = fmt.format(sim) if sim is not None else "-"
        if real_value is not None:
            real_s = fmt.format(real_value)
        elif real_why:
            real_s = f"skipped [{self.note(real_why)}]"
        else:
            real_s = "-"
        ratio_s = (f"{sim / real_value:.2f}x" if ratio and sim is not None and real_value
                   else "")
        self.rows.append((label, unit, sim_s, real_s, ratio_s, target))

    def render(self) -> str:
        head = ("figure", "unit", "ipcsim", "real kernel", "ipcsim/real", "target")
        body = [r for r in self.rows if len(r) > 1]
        widths = [max(len(str(r[i])) for r in body + [head]) for i in range(6)]
        right = {2, 3, 4}

        def fmt(r):
            cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                     for i, (c, w) in enumerate(zip(r, widths))]
            return "  ".join(cells).rstrip()

        rule = "-" * len(fmt(head))
        lines = [fmt(head), rule]
        for r in self.rows:
            lines.append(f"{r[0]}" if len(r) == 1 else fmt(r))
        lines.append(rule)
        lines += [f"[{i}] {n}" for i, n in enumerate(self.notes, 1)]
        return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of seconds")
    ap.add_argument("--no-real", action="store_true", help="skip the real-kernel column")
    ap.add_argument("--child-switch", action="store_true", help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child_switch:
        _child_switch(opts.quick)
        return {}

    sz = Sizes(opts.quick)
    t_start = time.perf_counter()
    proc_why, ns_why = real_availability(opts.no_real)
    print(f"ipcsim {ipcsim.__version__} benchmark ({'quick' if sz.quick else 'full'} sizes); "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()} "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    print("rates: median of", sz.repeats, "timed repeats after a warm-up\n", flush=True)

    def real_if(why, what, *args):
        return (None, why) if why else real(what, *args)

    res: dict = {"quick": sz.quick, "sim": {}, "real": {}, "skipped": {}}
    sim, rl = res["sim"], res["real"]

    def keep(name, pair):
        value, why = pair
        rl[name] = value
        if value is None:
            res["skipped"][name] = why
        return value, why

    tab = Table()

    # 1. churn
    tab.section(f"1. IPC namespaces created + destroyed ({sz.ns_iters:,} per repeat; "
                f"real: {sz.real_ns_iters:,})")
    sim["unshare"] = sim_unshare_rate(sz)
    r, why = keep("unshare", real_if(ns_why, "unshare", sz.real_ns_iters, sz.real_warmup,
                                     sz.repeats))
    target = "" if r is None else f">=2x {verdict(sim['unshare'] >= 2 * r)}"
    tab.row("  unshare(CLONE_NEWIPC) loop, host-driven", "ns/s", sim["unshare"], r, why,
            target=target)
    sim["unshare_in_program"] = sim_program_unshare_rate(sz)
    target = "" if r is None else f">=2x {verdict(sim['unshare_in_program'] >= 2 * r)}"
    tab.row("  unshare loop inside a program", "ns/s", sim["unshare_in_program"], r, why,
            target=target)
    sim["clone_newipc"] = sim_clone_rate(sz, CLONE_NEWIPC)
    r, why = keep("clone_newipc", real_if(ns_why, "clone_newipc", sz.real_ns_iters,
                                          sz.real_warmup, sz.repeats))
    target = "" if r is None else f">=2x {verdict(sim['clone_newipc'] >= 2 * r)}"
    tab.row("  clone(CLONE_NEWIPC) + exit + wait", "ns/s", sim["clone_newipc"], r, why,
            target=target)
    sim["fork"] = sim_clone_rate(sz, 0)
    r, why = keep("fork", real_if(proc_why, "fork", sz.real_ns_iters, sz.real_warmup,
                                  sz.repeats))
    tab.row("  (context) fork + exit + wait, no new ns", "proc/s", sim["fork"], r, why)
    if r is not None:
        tab.note("real clone/fork loops run in a Python process (~10 MB mapped): each child "
                 "copies its page tables, so Linux's own clone path is a part of that time")

    # 2. memory
    tab.section(f"2. memory (ipcsim: tracemalloc, {sz.mem_n:,} processes each way)")
    mem = sim_memory(sz)
    sim.update({f"mem_{k}": v for k, v in mem.items()})
    r, why = keep("mem_per_ns", real_if(ns_why, "ns_memory", sz.real_mem_n, sz.settle))
    if r is not None:
        tab.note(f"real: growth of Slab in /proc/meminfo over {sz.real_mem_n:,} namespaces, "
                 f"each held by an open /proc/self/ns/ipc (with that fd's struct file, "
                 f"~0.25 KiB); approximate, and low for small counts")
    tab.row("  per idle namespace, beyond its process", "B", mem["per_ns"], r, why,
            target=f"<2 KiB {verdict(mem['per_ns'] < 2048)}")
    tab.row("  per process, in a namespace of its own", "B", mem["proc_own_ns"], None)
    tab.row("  per process, sharing its parent's namespace", "B", mem["proc_shared_ns"], None)

    # 3. scheduler
    tab.section(f"3. scheduler ({sz.sw_programs} programs x {sz.sw_calls:,} getresuid() "
                f"calls; real: pipe ping-pong between 2 processes)")
    sw = sim_switch_cost(sz)
    sim["switch"] = sw
    r, why = keep("switch", real_if(proc_why, "pingpong", sz.pingpong, 0))
    tab.row("  one switch, any CPU", "us", sw["us_per_switch"], r, why, fmt="{:,.2f}")
    pinned = sim_switch_cost_pinned(sz, sz.quick)
    sim["switch_pinned"] = pinned[0]
    r, why = keep("switch_pinned", real_if(proc_why, "pingpong", sz.pingpong, 1))
    if pinned[0] is None and pinned[1]:
        tab.note(f"ipcsim pinned run: {pinned[1]}")
    tab.row("  one switch, process pinned to one CPU", "us", pinned[0], r, why,
            fmt="{:,.2f}")
    sim["solo_call"] = sim_solo_call_cost(sz)
    tab.row("  call by a lone program (no switch)", "us", sim["solo_call"], None,
            fmt="{:,.3f}")
    sim["host_call"] = sim_host_call_cost(sz)
    r, why = keep("host_call", real_if(proc_why, "getresuid_cost", sz.host_calls))
    tab.row("  direct getresuid() from the caller", "us", sim["host_call"], r, why,
            fmt="{:,.3f}")

    # 4. many programs
    tab.section(f"4. many programs (ring: {sz.ring_n:,} ipcsim programs, {sz.real_ring_n:,} "
                f"real processes)")
    ring = sim_signal_ring(sz.ring_n, sz.ring_laps)
    sim["ring"] = ring
    r, why = keep("ring", real_if(proc_why, "signal_ring", sz.real_ring_n, sz.ring_laps))
    same = sz.real_ring_n == sz.ring_n
    tab.row(f"  signal token ring, {sz.ring_laps} lap(s), fork to reap", "s", ring["seconds"], r,
            why, fmt="{:,.3f}", ratio=same, target=f"seconds {verdict(ring['seconds'] < 10)}")
    tab.row("  ... per hop (incl. spawn and reap)", "us", ring["seconds"] / ring["hops"] * 1e6,
            r / sz.real_ring_n / sz.ring_laps * 1e6 if r else None, why, fmt="{:,.1f}")
    short = sim_wait_chain(sz.short_chain_n)
    sim["short_chain"] = short
    r, why = keep("short_chain", real_if(proc_why, "wait_chain", sz.short_chain_n))
    tab.row(f"  chain: fork the next + wait, {sz.short_chain_n:,} deep", "s", short["seconds"],
            r, why, fmt="{:,.3f}")
    chain = sim_wait_chain(sz.chain_n)
    sim["chain"] = chain
    tab.row(f"  chain: fork the next + wait, {sz.chain_n:,} deep", "s", chain["seconds"], None,
            fmt="{:,.3f}", target=f"seconds {verdict(chain['seconds'] < 10)}")

    print(tab.render())
    print("ipcsim/real is the plain ratio: above 1 is better for ipcsim on rates (/s), worse on "
          "times (s, us) and bytes (B).")
    print(f"\nring: {ring['switches']:,} switches, {ring['lost_wakeups']} lost wake-up(s) "
          f"(a signal handled just before sleep(): woken by its timeout), virtual time "
          f"{ring['virtual_seconds']:g} s")
    print(f"switch run: {sw['switches']:,} switches in {sw['calls']:,} calls "
          f"({sw['switched_fraction']:.0%} of calls switched)")
    res["seconds"] = time.perf_counter() - t_start
    print(f"total benchmark time {res['seconds']:.1f} s")
    return res


if __name__ == "__main__":
    main()
