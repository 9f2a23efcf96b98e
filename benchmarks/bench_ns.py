"""Namespace create+destroy: ipcsim against this machine's kernel, CLONE_NEWIPC alone and
CLONE_NEWUSER|CLONE_NEWIPC (the issue's target: ipcsim at least 2x the kernel's rate).

Run it:   python3 benchmarks/bench_ns.py             (full sizes, a minute or two)
          python3 benchmarks/bench_ns.py --quick     (a smoke run of seconds)
          python3 benchmarks/bench_ns.py --no-real   (ipcsim only)
          python3 benchmarks/bench_ns.py --profile   (and where ipcsim's time goes)

Each row is one cycle, done the same way on both sides:

* ``unshare(CLONE_NEWIPC)`` in a loop: each call makes a namespace, and the one the caller
  leaves dies (it was its only member). Also with each namespace holding objects before it
  goes (a System V queue with a 64-byte message, a set of 4 semaphores, a 4 KiB segment, a
  POSIX queue of one 64-byte message), and with 1,000 other IPC namespaces alive (held by
  descriptors). (The POSIX queue is that small because the queues of namespaces waiting
  for their deferred free, below, still count against RLIMIT_MSGQUEUE: with the default
  attributes, about 80 KiB each, a quick loop on Linux fails mq_open with EMFILE within
  ten namespaces, and root here cannot lift the limit without CAP_SYS_RESOURCE.)
* a process per namespace: fork, the child unshares (CLONE_NEWIPC as root;
  CLONE_NEWUSER|CLONE_NEWIPC as uid 1000, the rootless case) and exits, the parent waits.
  Repeated unshare(CLONE_NEWUSER) would nest (33 levels, then ENOSPC), so a user namespace
  needs a process of its own. Also: the child writing uid_map, setgroups and gid_map as
  ``unshare -Ur`` does; with objects; with 1,000 user+IPC namespace pairs alive; with the
  parent 32 levels down (the deepest a new namespace can be); clone(flags) instead of
  fork+unshare; and, for ipcsim, the parent and child as programs (the scheduler runs
  them) rather than calls from the host.

The real side runs each loop in a child process (as root, or as uid 1000 through setpriv):
a C program compiled here with ``cc`` when there is one (the kernel's own rate: a small
process forks cheaply), and the same loops in Python through ctypes (Python 3.11 has no
os.unshare), whose forks copy a ~10 MB interpreter. The verdict is taken against the faster
of the two.

Linux frees an IPC namespace in a workqueue after an RCU grace period (free_ipc_work), and
a user namespace in a workqueue too (free_user_ns), so a plain loop's time does not include
the frees: they happen later, on another CPU. The rows "frees waited for" include them:
the loop runs in a user namespace of its own, and after it, its max_ipc_namespaces (and
max_user_namespaces) are lowered until a new namespace can be made again, which is when
every namespace of the loop has been freed. ipcsim frees a namespace in the call that drops
its last reference, so its figures always include the free.

Rates are the median of 3 timed repeats after a warm-up. ``main()`` returns the figures, so
a test can smoke-run ``main(["--quick", "--no-real"])``.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

try:
    import ipcsim
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import ipcsim

from ipcsim import (CLONE_NEWIPC, CLONE_NEWUSER, IPC_CREAT, IPC_PRIVATE, O_CREAT, O_RDONLY,
                    O_RDWR, MqAttr)
from ipcsim.conformance.sim import become_user

USER = 1000                   # the unprivileged user of the rootless rows
REPEATS = 3
LIVE = 1_000                  # namespaces alive around the "many live" rows
DEPTH = 32                    # user namespaces above the parent of the "deep" row


class Sizes:
    def __init__(self, quick: bool):
        self.quick = quick
        self.live = 50 if quick else LIVE
        self.sim = {"loop": 1_000 if quick else 20_000, "cycle": 300 if quick else 5_000}
        self.c = {"loop": 1_000 if quick else 20_000, "cycle": 200 if quick else 3_000}
        self.py = {"loop": 500 if quick else 10_000, "cycle": 50 if quick else 600}


# --------------------------------------------------------------------------------------------
# the cases

class Case:
    """One row: ``how`` is "loop" (one process unshares over and over), "fork" (fork, the
    child unshares and exits, the parent waits) or "clone" (clone(flags), the child exits);
    ``maps``: the child writes uid_map, setgroups and gid_map; ``objects``: each namespace
    gets four IPC objects; ``live``: other namespaces kept alive around; ``depth``: user
    namespaces the parent sits below; ``drain``: the real figure waits for the frees;
    ``programs``: ipcsim runs the cycle as programs (no real counterpart of its own)."""

    def __init__(self, key: str, label: str, flags: int, how: str, uid: int = 0,
                 maps: bool = False, objects: bool = False, live: bool = False,
                 depth: int = 0, drain: bool = False, programs: bool = False,
                 real: bool = True, sim: bool = True, same_as: str = ""):
        self.key, self.label, self.flags, self.how, self.uid = key, label, flags, how, uid
        self.maps, self.objects, self.live, self.depth = maps, objects, live, depth
        self.drain, self.programs, self.real, self.sim = drain, programs, real, sim
        self.same_as = same_as        # a real-only row: the ipcsim row it is compared with

    @property
    def size(self) -> str:
        return "loop" if self.how == "loop" else "cycle"


NEWUI = CLONE_NEWUSER | CLONE_NEWIPC
CASES = [
    Case("ipc loop", "unshare(NEWIPC) loop", CLONE_NEWIPC, "loop"),
    Case("ipc loop, frees waited for", "  the same, frees waited for", CLONE_NEWIPC, "loop",
         drain=True, sim=False, same_as="ipc loop"),
    Case("ipc loop, objects", "  each ns holding 4 objects", CLONE_NEWIPC, "loop",
         objects=True),
    Case("ipc loop, objects, frees waited for", "  4 objects, frees waited for", CLONE_NEWIPC,
         "loop", objects=True, drain=True, sim=False, same_as="ipc loop, objects"),
    Case("ipc loop, live", "  1,000 other IPC ns alive", CLONE_NEWIPC, "loop", live=True),
    Case("ipc fork", "fork+unshare(NEWIPC)+exit+wait", CLONE_NEWIPC, "fork"),
    Case("ipc fork, programs", "  as programs", CLONE_NEWIPC, "fork", programs=True,
         real=False),
    Case("ipc clone", "clone(NEWIPC)+exit+wait", CLONE_NEWIPC, "clone"),
    Case("user fork", "fork+unshare(NEWUSER|NEWIPC), uid 1000", NEWUI, "fork", uid=USER),
    Case("user fork, frees waited for", "  the same, frees waited for", NEWUI, "fork",
         uid=USER, drain=True, sim=False, same_as="user fork"),
    Case("user fork, maps", "  + uid_map, setgroups, gid_map", NEWUI, "fork", uid=USER,
         maps=True),
    Case("user fork, maps, objects", "  + maps, 4 objects", NEWUI, "fork", uid=USER,
         maps=True, objects=True),
    Case("user fork, live", "  1,000 other user+IPC ns alive", NEWUI, "fork", uid=USER,
         live=True),
    Case("user fork, deep", "  parent 32 user ns down", NEWUI, "fork", uid=USER,
         depth=DEPTH),
    Case("user fork, programs", "  as programs", NEWUI, "fork", uid=USER, programs=True,
         real=False),
    Case("user clone", "clone(NEWUSER|NEWIPC)+exit+wait, uid 1000", NEWUI, "clone",
         uid=USER),
    Case("fork", "(context) fork+exit+wait, uid 1000", 0, "fork", uid=USER),
]


# --------------------------------------------------------------------------------------------
# ipcsim

def _login(k: ipcsim.Kernel, uid: int) -> ipcsim.Process:
    p = k.init.fork()
    if uid:
        become_user(p, uid)
    return p


def _map_self(p: ipcsim.Process, uid: int, gid: int) -> None:
    p.write_file("/proc/self/uid_map", f"0 {uid} 1")
    p.write_file("/proc/self/setgroups", "deny")
    p.write_file("/proc/self/gid_map", f"0 {gid} 1")


def _objects(p: ipcsim.Process) -> None:
    """A queue with a 64-byte message, 4 semaphores, a 4 KiB segment and a POSIX queue
    (room for one 64-byte message)."""
    q = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    p.msgsnd(q, 1, b"m" * 64)
    p.semget(IPC_PRIVATE, 4, IPC_CREAT | 0o600)
    p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    p.mq_close(p.mq_open("/q", O_CREAT | O_RDWR, 0o600, MqAttr(mq_maxmsg=1, mq_msgsize=64)))


def _hold_live(k: ipcsim.Kernel, parent: ipcsim.Process, flags: int, n: int) -> None:
    """``n`` namespaces (of each kind in ``flags``) kept alive by descriptors of holder
    processes, 500 to each (ipcsim gives a process 1,024 descriptors), as on the real side
    (one holder there), so that the forks timed copy none of them."""
    kinds = ["ipc"] + (["user"] if flags & CLONE_NEWUSER else [])
    for i in range(n):
        if i % 500 == 0:
            holder = parent.fork()
        c = holder.clone(flags)
        for kind in kinds:
            holder.open(f"/proc/{c.pid}/ns/{kind}", O_RDONLY)
        c.exit(0)
        holder.wait(c.pid)


def sim_parent(case: Case, live_n: int) -> tuple[ipcsim.Kernel, ipcsim.Process]:
    """A fresh kernel and the process that runs the case's cycle."""
    k = ipcsim.Kernel(seed=0)
    p = _login(k, case.uid)
    if case.live:
        _hold_live(k, p, case.flags, live_n)
    for _ in range(case.depth):
        uid, gid = p.getresuid()[1], p.getresgid()[1]
        p.unshare(CLONE_NEWUSER)
        _map_self(p, uid, gid)
    if case.how == "loop":
        p = p.fork()
    return k, p


def sim_cycle(case: Case, p: ipcsim.Process) -> Callable[[int], None]:
    """The loop of ``n`` cycles, called from the host."""
    flags, maps, objects = case.flags, case.maps, case.objects
    uid, gid = p.getresuid()[1], p.getresgid()[1]
    if case.how == "loop":
        unshare = p.unshare

        def loop(n: int) -> None:
            for _ in range(n):
                unshare(flags)
                if objects:
                    _objects(p)
        return loop
    fork, clone, wait = p.fork, p.clone, p.wait

    def cycles(n: int) -> None:
        for _ in range(n):
            if case.how == "clone":
                c = clone(flags)
            else:
                c = fork()
                if flags:
                    c.unshare(flags)
            if maps:
                _map_self(c, uid, gid)
            if objects:
                _objects(c)
            c.exit(0)
            wait(c.pid)
    return cycles


def _child_program(c: ipcsim.Process, flags: int, maps: bool, objects: bool,
                   ids: tuple[int, int]) -> None:
    c.unshare(flags)
    if maps:
        _map_self(c, *ids)
    if objects:
        _objects(c)


def sim_program_rate(case: Case, n: int, warm: int, live_n: int) -> float:
    """Cycles/s when the parent is a program forking child programs, timed inside it."""
    k, p = sim_parent(case, live_n)
    ids = (p.getresuid()[1], p.getresgid()[1])

    def parent(me: ipcsim.Process) -> list[float]:
        args = (case.flags, case.maps, case.objects, ids)
        times = []
        for count in [warm] + [n] * REPEATS:
            gc.collect()
            t = time.perf_counter()
            for _ in range(count):
                c = me.fork(target=_child_program, args=args)
                me.wait(c.pid)
            times.append(time.perf_counter() - t)
        return times[1:]

    runner = p.fork(target=parent)
    k.run()
    times = runner.result
    _check_clean(k, case, live_n)
    k.close()
    return n / statistics.median(times)


def _check_clean(k: ipcsim.Kernel, case: Case, live_n: int) -> None:
    """Every namespace a cycle made is gone again (the model frees at once)."""
    live = live_n if case.live else 0
    want_ipc = 1 + live + (case.how == "loop")
    want_user = 1 + case.depth + (live if case.flags & CLONE_NEWUSER else 0)
    assert len(k.ipc_namespaces) == want_ipc, (case.key, len(k.ipc_namespaces), want_ipc)
    assert len(k.user_namespaces) == want_user, (case.key, len(k.user_namespaces), want_user)


def sim_rate(case: Case, n: int, warm: int, live_n: int) -> float:
    if case.programs:
        return sim_program_rate(case, n, warm, live_n)
    k, p = sim_parent(case, live_n)
    loop = sim_cycle(case, p)
    loop(warm)
    times = []
    for _ in range(REPEATS):
        gc.collect()
        t = time.perf_counter()
        loop(n)
        times.append(time.perf_counter() - t)
    _check_clean(k, case, live_n)
    k.close()
    return n / statistics.median(times)


def sim_profile(case: Case, n: int, live_n: int) -> str:
    """The top of a cProfile of ``n`` cycles of ``case`` (host-driven), by own time."""
    k, p = sim_parent(case, live_n)
    loop = sim_cycle(case, p)
    loop(min(n, 200))
    prof = cProfile.Profile()
    prof.enable()
    loop(n)
    prof.disable()
    k.close()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(14)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return "\n".join(lines[start:])


# --------------------------------------------------------------------------------------------
# the real kernel: one program in C, the same in Python (ctypes)

C_SOURCE = r'''
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int flags, maps, objects, drain;
static unsigned uid0, gid0;          /* the ids to map: the caller's, before its unshare */
static char stack[1 << 16];

static void die(const char *what) { perror(what); exit(2); }
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9;
}
static int wr(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int n = write(fd, text, strlen(text));
    close(fd);
    return n < 0 ? -1 : 0;
}
static void map_self(unsigned uid, unsigned gid) {
    char buf[64];
    snprintf(buf, sizeof buf, "0 %u 1", uid);
    if (wr("/proc/self/uid_map", buf)) die("uid_map");
    if (wr("/proc/self/setgroups", "deny")) die("setgroups");
    snprintf(buf, sizeof buf, "0 %u 1", gid);
    if (wr("/proc/self/gid_map", buf)) die("gid_map");
}
static void make_objects(void) {
    struct { long t; char d[64]; } m = {1, {0}};
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (q < 0 || msgsnd(q, &m, 64, 0)) die("msg");
    if (semget(IPC_PRIVATE, 4, IPC_CREAT | 0600) < 0) die("semget");
    if (shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600) < 0) die("shmget");
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 64};
    mqd_t mq = mq_open("/q", O_CREAT | O_RDWR, 0600, &attr);
    if (mq == (mqd_t)-1) die("mq_open");
    mq_close(mq);
}
static int in_child(void *arg) {
    if (maps) map_self(uid0, gid0);
    if (objects) make_objects();
    return 0;
}
static void reap(pid_t pid) {
    int st;
    if (waitpid(pid, &st, __WALL) < 0) die("waitpid");
    if (st) { fprintf(stderr, "child status %d\n", st); exit(2); }
}
static void one_fork(void) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        if (flags && unshare(flags)) _exit(3);
        _exit(in_child(0));
    }
    reap(pid);
}
static void one_clone(void) {
    pid_t pid = clone(in_child, stack + sizeof stack, flags | SIGCHLD, 0);
    if (pid < 0) die("clone");
    reap(pid);
}
static void run(const char *how, long n) {
    for (long i = 0; i < n; i++) {
        if (how[0] == 'l') {
            if (unshare(flags)) die("unshare");
            if (objects) make_objects();
        } else if (how[0] == 'f') one_fork();
        else one_clone();
    }
}
static void set_limits(const char *value) {
    if (wr("/proc/sys/user/max_ipc_namespaces", value)) die("max_ipc_namespaces");
    if (wr("/proc/sys/user/max_user_namespaces", value)) die("max_user_namespaces");
}
/* Wait until every namespace made so far is freed: with the limits at what is alive now
   (the loop's own IPC namespace, or none), a new one can be made only then. */
static void wait_for_frees(const char *how) {
    struct timespec pause = {0, 20000};
    if (how[0] == 'l') {
        set_limits("2");
        while (unshare(flags)) {
            if (errno != ENOSPC) die("unshare (drain)");
            nanosleep(&pause, 0);
        }
    } else {
        set_limits("1");
        for (;;) {
            pid_t pid = fork();
            if (pid == 0) _exit(unshare(flags) ? 1 : 0);
            int st;
            waitpid(pid, &st, 0);
            if (st == 0) break;
            nanosleep(&pause, 0);
        }
    }
    set_limits("2147483647");
}
/* n namespaces alive, each held by descriptors of /proc/PID/ns/ipc (and user) of a child
   that made it and then exits; the descriptors are a holder process's, so that the forks
   timed do not copy them */
static void make_live(long n) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)(2 * n + 64)) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)(2 * n + 64) ? rl.rlim_max : (rlim_t)(2 * n + 64);
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (long i = 0; i < n; i++) {
        int up[2], go[2];
        char c, path[64];
        if (pipe(up) || pipe(go)) die("pipe");
        pid_t pid = fork();
        if (pid == 0) {
            if (unshare(flags)) _exit(3);
            write(up[1], "x", 1);
            read(go[0], &c, 1);
            _exit(0);
        }
        if (read(up[0], &c, 1) != 1) die("live child");
        snprintf(path, sizeof path, "/proc/%d/ns/ipc", pid);
        if (open(path, O_RDONLY) < 0) die("open ns/ipc");
        if (flags & CLONE_NEWUSER) {
            snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
            if (open(path, O_RDONLY) < 0) die("open ns/user");
        }
        write(go[1], "x", 1);
        reap(pid);
        close(up[0]); close(up[1]); close(go[0]); close(go[1]);
    }
}
static pid_t hold_live(long n) {
    int ready[2];
    char c;
    if (pipe(ready)) die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        make_live(n);
        write(ready[1], "x", 1);
        for (;;) pause();
    }
    if (read(ready[0], &c, 1) != 1) die("holder");
    close(ready[0]); close(ready[1]);
    return pid;
}
int main(int argc, char **argv) {
    if (argc != 11) { fprintf(stderr, "usage\n"); return 2; }
    const char *how = argv[1];
    long n = atol(argv[2]), warm = atol(argv[3]), repeats = atol(argv[4]);
    flags = strtol(argv[5], 0, 0); maps = atoi(argv[6]); objects = atoi(argv[7]);
    long live = atol(argv[8]), depth = atol(argv[9]); drain = atoi(argv[10]);
    uid0 = geteuid(); gid0 = getegid();
    for (long i = 0; i < depth + drain; i++) {      /* the parent's own user namespaces */
        if (unshare(CLONE_NEWUSER)) die("unshare (depth)");
        map_self(uid0, gid0);
        uid0 = gid0 = 0;
    }
    pid_t holder = live ? hold_live(live) : 0;
    run(how, warm);
    if (drain) wait_for_frees(how);
    double times[16];
    for (long r = 0; r < repeats && r < 16; r++) {
        double t = now();
        run(how, n);
        if (drain) wait_for_frees(how);
        times[r] = now() - t;
    }
    for (long i = 1; i < repeats; i++)          /* the median */
        for (long j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double x = times[j]; times[j] = times[j - 1]; times[j - 1] = x;
        }
    if (holder) { kill(holder, SIGKILL); waitpid(holder, 0, 0); }
    printf("%.1f\n", n / times[repeats / 2]);
    return 0;
}
'''

PY_SOURCE = r'''
import ctypes, errno, os, platform, resource, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long] * 6
CLONE_NEWUSER, SIGCHLD, ENOSPC = 0x10000000, 17, errno.ENOSPC
SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220}.get(platform.machine())
how, n, warm, repeats, flags, maps, objects, live, depth, drain = (
    sys.argv[1], *map(lambda a: int(a, 0), sys.argv[2:]))
ids = [os.geteuid(), os.getegid()]

def die(what):
    e = ctypes.get_errno()
    raise OSError(e, "%s: %s" % (what, os.strerror(e)))

def wr(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)

def map_self(uid, gid):
    wr("/proc/self/uid_map", "0 %d 1" % uid)
    wr("/proc/self/setgroups", "deny")
    wr("/proc/self/gid_map", "0 %d 1" % gid)

class Msg(ctypes.Structure):
    _fields_ = [("t", ctypes.c_long), ("d", ctypes.c_char * 64)]

MSG = Msg(1, b"m" * 64)
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]

class MqAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long),
                ("msgsize", ctypes.c_long), ("curmsgs", ctypes.c_long),
                ("pad", ctypes.c_long * 4)]

ATTR = MqAttr(0, 1, 64, 0)

def make_objects():
    q = libc.msgget(0, 0o1000 | 0o600)
    if q < 0 or libc.msgsnd(q, ctypes.byref(MSG), 64, 0):
        die("msg")
    if libc.semget(0, 4, 0o1000 | 0o600) < 0:
        die("semget")
    if libc.shmget(0, 4096, 0o1000 | 0o600) < 0:
        die("shmget")
    mq = libc.mq_open(b"/q", os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(ATTR))
    if mq < 0:
        die("mq_open")
    libc.mq_close(mq)

def in_child():
    if maps:
        map_self(*ids)
    if objects:
        make_objects()

def reap(pid):
    _, st = os.waitpid(pid, 0x40000000)
    if st:
        raise OSError(0, "child status %d" % st)

def child_body(unshare_first):
    try:
        if unshare_first and flags and libc.unshare(flags):
            os._exit(3)
        in_child()
        os._exit(0)
    except BaseException:
        os._exit(4)

def run(count):
    for _ in range(count):
        if how == "loop":
            if libc.unshare(flags):
                die("unshare")
            if objects:
                make_objects()
        elif how == "fork":
            pid = os.fork()
            if pid == 0:
                child_body(True)
            reap(pid)
        else:
            pid = libc.syscall(SYS_CLONE, flags | SIGCHLD, 0, 0, 0, 0)
            if pid == 0:
                child_body(False)
            if pid < 0:
                die("clone")
            reap(pid)

def set_limits(value):
    wr("/proc/sys/user/max_ipc_namespaces", value)
    wr("/proc/sys/user/max_user_namespaces", value)

def wait_for_frees():
    if how == "loop":
        set_limits("2")
        while libc.unshare(flags):
            if ctypes.get_errno() != ENOSPC:
                die("unshare (drain)")
            time.sleep(2e-5)
    else:
        set_limits("1")
        while True:
            pid = os.fork()
            if pid == 0:
                os._exit(1 if libc.unshare(flags) else 0)
            _, st = os.waitpid(pid, 0)
            if st == 0:
                break
            time.sleep(2e-5)
    set_limits("2147483647")

def hold_live(count):
    # the descriptors are a holder process's, so that the forks timed do not copy them
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            make_live(count)
            os.write(w, b"x")
            while True:
                time.sleep(3600)
        finally:
            os._exit(0)
    os.read(r, 1)
    return pid

def make_live(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * count + 64
    if hard != resource.RLIM_INFINITY:
        need = min(need, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    for _ in range(count):
        up, go = os.pipe(), os.pipe()
        pid = os.fork()
        if pid == 0:
            if libc.unshare(flags):
                os._exit(3)
            os.write(up[1], b"x")
            os.read(go[0], 1)
            os._exit(0)
        os.read(up[0], 1)
        os.open("/proc/%d/ns/ipc" % pid, os.O_RDONLY)
        if flags & CLONE_NEWUSER:
            os.open("/proc/%d/ns/user" % pid, os.O_RDONLY)
        os.write(go[1], b"x")
        reap(pid)
        for fd in up + go:
            os.close(fd)

for _ in range(depth + drain):
    if libc.unshare(CLONE_NEWUSER):
        die("unshare (depth)")
    map_self(*ids)
    ids = [0, 0]
holder = hold_live(live) if live else 0
run(warm)
if drain:
    wait_for_frees()
times = []
for _ in range(repeats):
    t = time.perf_counter()
    run(n)
    if drain:
        wait_for_frees()
    times.append(time.perf_counter() - t)
if holder:
    os.kill(holder, 9)
    os.waitpid(holder, 0)
print(n / sorted(times)[len(times) // 2])
'''


class Real:
    """Runs the real loops: ``why_not`` says why they cannot run here ("" when they can)."""

    def __init__(self, no_real: bool, workdir: str):
        self.why_not = self._why_not(no_real)
        self.c_why_not = self.why_not or self._compile(workdir)
        self.python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else \
            sys.executable
        self.py_path = os.path.join(workdir, "ns_loop.py")
        with open(self.py_path, "w") as f:
            f.write(PY_SOURCE)
        os.chmod(self.py_path, 0o644)

    @staticmethod
    def _why_not(no_real: bool) -> str:
        if no_real:
            return "--no-real given"
        if not sys.platform.startswith("linux"):
            return f"not Linux ({sys.platform})"
        if os.geteuid() != 0:
            return "not root: unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN"
        if shutil.which("setpriv") is None:
            return "setpriv(1) is missing (the rootless rows run as uid 1000 through it)"
        return ""

    def _compile(self, workdir: str) -> str:
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            return "no C compiler (cc): the C column needs one"
        src = os.path.join(workdir, "ns_loop.c")
        self.c_path = os.path.join(workdir, "ns_loop")
        with open(src, "w") as f:
            f.write(C_SOURCE)
        out = subprocess.run([cc, "-O2", "-o", self.c_path, src], capture_output=True,
                             text=True)
        if out.returncode != 0:
            return f"cc failed: {out.stderr.strip()[-200:]}"
        os.chmod(self.c_path, 0o755)
        return ""

    def rate(self, case: Case, lang: str, n: int, live_n: int) -> tuple[float | None, str]:
        """(cycles/s, "") or (None, why not)."""
        why = self.why_not if lang == "py" else self.c_why_not
        if why:
            return None, why
        warm = max(n // 10, 10)
        args = [case.how, n, warm, REPEATS, hex(case.flags), int(case.maps),
                int(case.objects), live_n if case.live else 0, case.depth,
                int(case.drain)]
        cmd = ([self.c_path] if lang == "c" else [self.python, self.py_path]) + \
            [str(a) for a in args]
        if case.uid:
            cmd = ["setpriv", f"--reuid={case.uid}", f"--regid={case.uid}", "--clear-groups"] \
                + cmd
        try:
            # a new IPC namespace for the run, so its objects never touch the host's
            out = subprocess.run(["unshare", "--ipc"] + cmd, capture_output=True, text=True,
                                 timeout=600, cwd="/")
        except subprocess.TimeoutExpired:
            return None, f"{case.key}: timed out"
        if out.returncode != 0:
            err = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
            return None, f"{case.key} ({lang}): {err}"
        return float(out.stdout.strip().splitlines()[-1]), ""


# --------------------------------------------------------------------------------------------
# the table

def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--no-real", action="store_true", help="skip the real-kernel columns")
    ap.add_argument("--profile", action="store_true",
                    help="also print where ipcsim's time goes in each kind of cycle")
    ap.add_argument("--only", help="run only the rows whose key contains this text")
    opts = ap.parse_args(argv)
    sz = Sizes(opts.quick)
    cases = [c for c in CASES if not opts.only or opts.only in c.key]
    print(f"ipcsim {ipcsim.__version__}: namespace create+destroy per second "
          f"({'quick' if sz.quick else 'full'} sizes); Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {_load()}")
    print(f"median of {REPEATS} repeats after a warm-up; ipcsim {sz.sim['loop']:,} loop "
          f"iterations or {sz.sim['cycle']:,} cycles, real C {sz.c['loop']:,}/{sz.c['cycle']:,}, "
          f"real Python {sz.py['loop']:,}/{sz.py['cycle']:,}; 'live' rows: "
          f"{sz.live:,} namespaces alive\n", flush=True)
    figures: dict = {"ipcsim": {}, "real c": {}, "real python": {}, "ratio": {},
                     "skipped": {}, "load": _load()}
    head = ("case", "ipcsim", "real C", "real Py", "ipcsim/real", "target")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o755)                   # uid 1000 runs the programs in it
        real = Real(opts.no_real, work)
        for case in cases:
            sim = None
            if case.sim:
                sim = sim_rate(case, sz.sim[case.size], max(sz.sim[case.size] // 10, 10),
                               sz.live)
                figures["ipcsim"][case.key] = sim
            c = py = None
            if case.real:
                c, why_c = real.rate(case, "c", sz.c[case.size], sz.live)
                py, why_py = real.rate(case, "py", sz.py[case.size], sz.live)
                figures["real c"][case.key], figures["real python"][case.key] = c, py
                for why in {why_c, why_py} - {""}:
                    figures["skipped"].setdefault(case.key, []).append(why)
            compared = sim if case.sim else figures["ipcsim"].get(case.same_as)
            best = max((v for v in (c, py) if v is not None), default=None)
            ratio = verdict = ""
            if compared is not None and best:
                figures["ratio"][case.key] = compared / best
                ratio = f"{compared / best:.1f}x"
                if case.flags:
                    verdict = ">=2x " + ("PASS" if compared >= 2 * best else "FAIL")
            rows.append((case.label, _fmt(sim) if case.sim else f"({case.same_as})",
                         _fmt(c), _fmt(py), ratio, verdict))
            print(f"  {case.key}: " + ", ".join(str(x) for x in rows[-1][1:] if x),
                  file=sys.stderr, flush=True)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    print("\nnamespaces (or cycles) per second. ipcsim frees a namespace in the call that "
          "drops its last reference; Linux frees IPC and user namespaces later, in a "
          "workqueue, so its plain rows leave the frees out and the 'frees waited for' rows "
          "put them in (those run one user namespace further down, whose limits are lowered "
          "to see when every namespace is gone).")
    for key, whys in figures["skipped"].items():
        print(f"  not measured, {key}: {'; '.join(sorted(set(whys)))}")
    failing = [k for k, r in figures["ratio"].items() if r < 2 and
               next(c for c in CASES if c.key == k).flags]
    if opts.profile or failing:
        for case in [c for c in cases if c.sim and not c.programs
                     and (opts.profile or c.key in failing)]:
            print(f"\nwhere ipcsim's time goes: {case.key} ({sz.sim[case.size]:,} cycles, "
                  f"by own time)")
            print(sim_profile(case, sz.sim[case.size], sz.live))
    return figures


if __name__ == "__main__":
    main()
