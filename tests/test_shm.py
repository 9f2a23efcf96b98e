"""System V shared memory: shmget, shmat, shmdt, shmctl, the simulated memory, fork and exit,
IPC_RMID while attached, shm_rmid_forced, namespaces, and /proc/sysvipc/shm.

Scripted cases (SCRIPTS) are played by one small interpreter on ipcsim and, where the machine
allows (root, ``unshare --ipc``), on the real kernel: both must give the documented result.
The other tests state the model's behaviour directly, each fact as the real kernel showed it.
"""
from __future__ import annotations

from errno import EINVAL

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipcsim
from ipcsim import (CAP_IPC_LOCK, CAP_IPC_OWNER, CAP_SYS_ADMIN, CAP_SYS_RAWIO, CLONE_NEWIPC,
                    IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT,
                    SHM_DEST, SHM_EXEC, SHM_HUGETLB, SHM_INFO, SHM_LOCK, SHM_LOCKED,
                    SHM_NORESERVE, SHM_RDONLY, SHM_REMAP, SHM_RND, SHM_STAT, SHM_STAT_ANY,
                    SHM_UNLOCK, SegmentationFault)
from ipcsim.kernel import shm as shm_module
from ipcsim.kernel.shm import FixedVma, ShmidDs, ShmInfo, Shminfo
from realkernel import errname, requires_real, run_real

PAGE = 4096
FORCED = "/proc/sys/kernel/shm_rmid_forced"
PROC = "/proc/sysvipc/shm"
HEADER = ("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  "
          "cgid      atime      dtime      ctime                   rss                  swap\n")
FAR = 0x100000000000       # a fixed address that nothing else uses, in ipcsim and in Linux


def err(fn, *args):
    """The errno name a call fails with (the call must fail)."""
    with pytest.raises(OSError) as e:
        fn(*args)
    return errname(e.value.errno)


def nattch(p, shmid):
    return p.shmctl(shmid, IPC_STAT).shm_nattch


@pytest.fixture
def p(k):
    """A root process (every capability) in a fresh IPC namespace."""
    return k.init.clone(CLONE_NEWIPC)


def as_nobody(proc):
    c = proc.fork()
    c.setgroups([])
    c.setgid(65534)
    c.setuid(65534)
    return c


# --- scripts played on both sides ----------------------------------------------------------
# A step is (bind, call, *args). "$name" is a value bound by an earlier step, ("$name", n)
# that value plus n. (None, "child", uid, steps) runs steps in a forked child (as uid, without
# supplementary groups, when uid is not None) that then exits.
RUNNER = r'''
import errno as _errno

_PID_COLS = ((50, 55), (56, 61))
_TIME_COLS = ((93, 103), (104, 114), (115, 125))


def norm_proc(text):
    """/proc/sysvipc/shm with pid and time columns masked (they differ between systems)."""
    out = []
    for n, line in enumerate(text.split("\n")):
        if n and line:
            for (a, b), tag in [(c, "P") for c in _PID_COLS] + [(c, "T") for c in _TIME_COLS]:
                if line[a:b].strip() != "0":
                    line = line[:a] + tag.rjust(b - a) + line[b:]
        out.append(line)
    return "\n".join(out)


def run_script(steps, P, env=None):
    env = dict(env or {})
    me = P.getpid()
    out = []

    def val(x):
        if isinstance(x, str) and x.startswith("$"):
            return env[x[1:]]
        if isinstance(x, (list, tuple)) and x and isinstance(x[0], str) and x[0].startswith("$"):
            return env[x[0][1:]] + x[1]
        return x

    def pid(x):
        return 0 if x == 0 else ("me" if x == me else "other")

    for step in steps:
        bind, name = step[0], step[1]
        args = [val(a) for a in step[2:]] if name != "child" else list(step[2:])
        try:
            if name == "child":
                res = P.child(args[0], lambda Q, sub=args[1]: run_script(sub, Q, env))
            elif name == "shmat":
                got = P.shmat(*args)
                res = "ok" if not args[1] else hex(got)
            elif name in ("stat", "shm_stat", "stat_any"):
                cmd = {"stat": 2, "shm_stat": 13, "stat_any": 15}[name]
                got, d = P.stat(args[0], cmd)
                res = [got, {"key": d["key"], "mode": oct(d["mode"]), "segsz": d["segsz"],
                             "nattch": d["nattch"], "cpid": pid(d["cpid"]),
                             "lpid": pid(d["lpid"]), "ids": [d["uid"], d["gid"], d["cuid"],
                                                              d["cgid"]],
                             "seq": d["seq"], "atime": d["atime"] != 0,
                             "dtime": d["dtime"] != 0, "ctime": d["ctime"] != 0}]
            elif name in ("rd", "pread"):
                got = getattr(P, name)(*args)
                res = norm_proc(got) if name == "pread" or args[0].endswith("sysvipc/shm") \
                    else got
            elif name == "popen":
                got = P.popen(*args)
                res = "fd"
            elif name == "read":
                got = P.read(*args)
                res = got.decode("latin-1")
            else:
                got = getattr(P, name)(*args)
                res = got
            if bind:
                env[bind] = got
        except OSError as e:
            res = _errno.errorcode.get(e.errno, str(e.errno))
        out.append(res)
    return out
'''

REAL_PRIMS = r'''
class _Perm(ctypes.Structure):
    _fields_ = [("key", ctypes.c_int), ("uid", ctypes.c_uint), ("gid", ctypes.c_uint),
                ("cuid", ctypes.c_uint), ("cgid", ctypes.c_uint), ("mode", ctypes.c_ushort),
                ("pad1", ctypes.c_ushort), ("seq", ctypes.c_ushort), ("pad2", ctypes.c_ushort),
                ("unused1", ctypes.c_ulong), ("unused2", ctypes.c_ulong)]


class _Ds(ctypes.Structure):
    _fields_ = [("perm", _Perm), ("segsz", ctypes.c_size_t), ("atime", ctypes.c_long),
                ("dtime", ctypes.c_long), ("ctime", ctypes.c_long), ("cpid", ctypes.c_int),
                ("lpid", ctypes.c_int), ("nattch", ctypes.c_ulong), ("unused4", ctypes.c_ulong),
                ("unused5", ctypes.c_ulong)]


class _ShmInfo(ctypes.Structure):
    _fields_ = [("used_ids", ctypes.c_int)] + [(n, ctypes.c_ulong) for n in (
        "shm_tot", "shm_rss", "shm_swp", "swap_attempts", "swap_successes")]


class _Shminfo(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulong) for n in ("shmmax", "shmmin", "shmmni", "shmseg",
                                              "shmall", "u1", "u2", "u3", "u4")]


def _sc(nr, *args):
    args = [a - (1 << 64) if a >= (1 << 63) else a for a in args]
    r = _libc.syscall(nr, *(args + [0] * (6 - len(args))))
    if r == -1:
        _fail()
    return r


class RealPrims:
    def getpid(self):
        return os.getpid()

    def shmget(self, key, size, flg):
        return _sc(29, key, size, flg)

    def shmat(self, shmid, addr, flg):
        return _sc(30, shmid, addr, flg) % (1 << 64)

    def shmdt(self, addr):
        return _sc(67, addr)

    def stat(self, shmid, cmd):
        ds = _Ds()
        r = _sc(31, shmid, cmd, ctypes.addressof(ds))
        p = ds.perm
        return r, dict(key=p.key, uid=p.uid, gid=p.gid, cuid=p.cuid, cgid=p.cgid, mode=p.mode,
                       seq=p.seq, segsz=ds.segsz, atime=ds.atime, dtime=ds.dtime,
                       ctime=ds.ctime, cpid=ds.cpid, lpid=ds.lpid, nattch=ds.nattch)

    def ctl(self, shmid, cmd):
        return _sc(31, shmid, cmd, 0)

    def set(self, shmid, uid, gid, mode):
        ds = _Ds()
        ds.perm.uid, ds.perm.gid, ds.perm.mode = uid, gid, mode
        return _sc(31, shmid, 1, ctypes.addressof(ds))

    def popen(self, path):
        return os.open(path, os.O_RDONLY)

    def pread(self, fd):
        os.lseek(fd, 0, 0)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks).decode()
            chunks.append(chunk)

    def info(self):
        b = _ShmInfo()
        r = _sc(31, 0, 14, ctypes.addressof(b))
        return [r, b.used_ids, b.shm_tot, b.shm_rss, b.shm_swp]

    def ipcinfo(self):
        b = _Shminfo()
        r = _sc(31, 0, 3, ctypes.addressof(b))
        return [r, b.shmmax, b.shmmin, b.shmmni, b.shmseg, b.shmall]

    def write(self, addr, data):
        data = data.encode("latin-1")
        ctypes.memmove(addr, data, len(data))
        return 0

    def read(self, addr, n):
        return ctypes.string_at(addr, n)

    def rd(self, path):
        with open(path) as f:
            return f.read()

    def wr(self, path, text):
        fd = os.open(path, os.O_WRONLY)
        try:
            return os.write(fd, text.encode())
        finally:
            os.close(fd)

    def unshare(self):
        return unshare(CLONE_NEWIPC)

    def child(self, uid, fn):
        def body():
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            return fn(self)
        return in_child(body)


result = run_script(STEPS, RealPrims())
'''


class SimPrims:
    """The same primitives on an ipcsim process."""

    def __init__(self, proc):
        self.p = proc

    def getpid(self):
        return self.p.pid

    def shmget(self, key, size, flg):
        return self.p.shmget(key, size, flg)

    def shmat(self, shmid, addr, flg):
        return self.p.shmat(shmid, addr, flg)

    def shmdt(self, addr):
        self.p.shmdt(addr)
        return 0

    def stat(self, shmid, cmd):
        got = self.p.shmctl(shmid, cmd)
        ret, ds = (0, got) if cmd == IPC_STAT else got
        perm = ds.shm_perm
        return ret, dict(key=perm.key, uid=perm.uid, gid=perm.gid, cuid=perm.cuid,
                         cgid=perm.cgid, mode=perm.mode, seq=perm.seq, segsz=ds.shm_segsz,
                         atime=ds.shm_atime, dtime=ds.shm_dtime, ctime=ds.shm_ctime,
                         cpid=ds.shm_cpid, lpid=ds.shm_lpid, nattch=ds.shm_nattch)

    def ctl(self, shmid, cmd):
        got = self.p.shmctl(shmid, cmd)
        return 0 if got is None else got[0]

    def set(self, shmid, uid, gid, mode):
        self.p.shmctl(shmid, IPC_SET, ShmidDs(ipcsim.IpcPerm(uid=uid, gid=gid, mode=mode)))
        return 0

    def popen(self, path):
        return self.p.open(path)

    def pread(self, fd):
        self.p.lseek(fd, 0, 0)
        chunks = []
        while True:
            chunk = self.p.read(fd, 65536)
            if not chunk:
                return b"".join(chunks).decode()
            chunks.append(chunk)

    def info(self):
        ret, i = self.p.shmctl(0, SHM_INFO)
        return [ret, i.used_ids, i.shm_tot, i.shm_rss, i.shm_swp]

    def ipcinfo(self):
        ret, i = self.p.shmctl(0, IPC_INFO)
        return [ret, i.shmmax, i.shmmin, i.shmmni, i.shmseg, i.shmall]

    def write(self, addr, data):
        self.p.write_memory(addr, data.encode("latin-1"))
        return 0

    def read(self, addr, n):
        return self.p.read_memory(addr, n)

    def rd(self, path):
        return self.p.read_file(path)

    def wr(self, path, text):
        return self.p.write_file(path, text)

    def unshare(self):
        self.p.unshare(CLONE_NEWIPC)
        return 0

    def child(self, uid, fn):
        c = self.p.fork()
        if uid is not None:
            c.setgroups([])
            c.setgid(uid)
            c.setuid(uid)
        try:
            return fn(SimPrims(c))
        finally:
            c.exit(0)
            self.p.wait(c.pid)


_scope: dict = {}
exec(compile(RUNNER, "<shm script runner>", "exec"), _scope)   # noqa: S102 (test helper)
run_script = _scope["run_script"]
norm_proc = _scope["norm_proc"]


def sim_script(steps):
    k = ipcsim.Kernel()
    try:
        return run_script(steps, SimPrims(k.init.clone(CLONE_NEWIPC)))
    finally:
        k.close()


@functools.cache
def real_script(name):
    return run_real(f"STEPS = {SCRIPTS[name][0]!r}\n" + RUNNER + REAL_PRIMS)


def row(key, shmid, perms, size, nattch, uid=0, rss=0, cpid="P", lpid="P", times="T0T"):
    """An expected /proc/sysvipc/shm row, masked as norm_proc masks it."""
    t = [("T" if c == "T" else "0").rjust(10) for c in times]
    return (f"{key:10d} {shmid:10d}  {perms:4o} {size:21d} {cpid:>5} {lpid:>5}  {nattch:5d} "
            f"{uid:5d} {uid:5d} {uid:5d} {uid:5d} {t[0]} {t[1]} {t[2]} {rss:21d} {0:21d}")


def S(key=0, mode="0o600", segsz=PAGE, nattch=0, cpid="me", lpid=0, ids=(0, 0, 0, 0), seq=0,
      atime=False, dtime=False, ctime=True, ret=0):
    """An expected stat step result."""
    return [ret, {"key": key, "mode": mode, "segsz": segsz, "nattch": nattch, "cpid": cpid,
                  "lpid": lpid, "ids": list(ids), "seq": seq, "atime": atime, "dtime": dtime,
                  "ctime": ctime}]


SCRIPTS: dict = {}


def script(name, steps, expected):
    SCRIPTS[name] = (steps, expected)


NOBODY = 65534
SHMMAX_FILE = "/proc/sys/kernel/shmmax"
SHMALL_FILE = "/proc/sys/kernel/shmall"
SHMMNI_FILE = "/proc/sys/kernel/shmmni"
ULONG_MAX = (1 << 64) - 1

script("shmget", [
    ("A", "shmget", 0x51, 5000, IPC_CREAT | 0o640),
    (None, "shmget", 0x51, 5000, 0),
    (None, "shmget", 0x51, 0, 0),
    (None, "shmget", 0x51, 5001, 0),                 # exact bytes, not pages
    (None, "shmget", 0x51, 8192, 0),
    (None, "shmget", 0x51, 5001, IPC_CREAT | IPC_EXCL),
    (None, "shmget", 0x52, 100, 0),
    (None, "shmget", 0x52, 0, IPC_CREAT),
    (None, "shmget", IPC_PRIVATE, 0, 0o600),
    (None, "shmget", 0x53, 100, IPC_CREAT | 0o7777),   # 0o4000 is SHM_HUGETLB
    ("B", "shmget", 0x53, 100, IPC_CREAT | 0o13777),
    (None, "stat", "$B"),
    (None, "child", NOBODY, [
        (None, "shmget", 0x51, 0, 0),                # no mode bits asked: no check
        (None, "shmget", 0x51, 0, 0o400),
        (None, "shmget", 0x51, 6000, 0o400),         # EINVAL before EACCES
        (None, "shmget", 0x53, 0, 0o666),
    ]),
    (None, "wr", SHMMAX_FILE, "10000"),
    (None, "shmget", IPC_PRIVATE, 10001, 0o600),
    (None, "shmget", IPC_PRIVATE, 10000, 0o600),
    (None, "wr", SHMALL_FILE, "5"),
    (None, "shmget", IPC_PRIVATE, 1, 0o600),
    (None, "wr", SHMALL_FILE, "7"),
    (None, "shmget", IPC_PRIVATE, 4097, 0o600),
    (None, "shmget", IPC_PRIVATE, 4096, 0o600),
    (None, "wr", SHMMNI_FILE, "4"),
    (None, "shmget", IPC_PRIVATE, 1, 0o600),         # shmall is checked before shmmni
    (None, "wr", SHMALL_FILE, "100"),
    (None, "shmget", IPC_PRIVATE, 1, 0o600),
    (None, "shmget", 0x51, 0, 0),
    (None, "info"),
    (None, "ipcinfo"),
], [
    0, 0, 0, "EINVAL", "EINVAL", "EEXIST", "ENOENT", "EINVAL", "EINVAL", "ENOMEM", 1,
    S(key=0x53, mode="0o777", segsz=100),
    [0, "EACCES", "EINVAL", 1],
    5, "EINVAL", 2, 1, "ENOSPC", 1, "ENOSPC", 3, 1, "ENOSPC", 3, "ENOSPC", 0,
    [3, 4, 7, 0, 0], [3, 10000, 1, 4, 4, 100],
])

script("shmget-sizes-and-hugetlb", [
    (None, "shmget", IPC_PRIVATE, 1 << 50, 0o600),                  # more than the machine
    (None, "shmget", IPC_PRIVATE, 1 << 50, SHM_NORESERVE | 0o600),
    (None, "shmget", IPC_PRIVATE, 1 << 63, SHM_NORESERVE | 0o600),  # past MAX_LFS_FILESIZE
    (None, "shmget", IPC_PRIVATE, ULONG_MAX, 0o600),                # past shmmax
    (None, "wr", SHMMAX_FILE, str(ULONG_MAX)),
    (None, "shmget", IPC_PRIVATE, ULONG_MAX, 0o600),                # page count overflows
    (None, "info"),
    (None, "shmget", IPC_PRIVATE, PAGE, SHM_HUGETLB | 0o600),       # no huge pages
    (None, "shmget", IPC_PRIVATE, PAGE, SHM_HUGETLB | (21 << 26) | 0o600),
    (None, "shmget", IPC_PRIVATE, PAGE, SHM_HUGETLB | (13 << 26) | 0o600),
    (None, "shmget", IPC_PRIVATE, PAGE, (13 << 26) | 0o600),        # ignored without HUGETLB
    (None, "child", NOBODY, [
        (None, "shmget", IPC_PRIVATE, PAGE, SHM_HUGETLB | 0o600),
        (None, "shmget", IPC_PRIVATE, PAGE, SHM_HUGETLB | SHM_NORESERVE | 0o600),
        (None, "shmget", IPC_PRIVATE, PAGE, SHM_HUGETLB | (13 << 26) | 0o600),
    ]),
    ("H", "shmget", IPC_PRIVATE, PAGE, SHM_HUGETLB | SHM_NORESERVE | 0o600),
    (None, "stat", "$H"),
    (None, "shmat", "$H", FAR + PAGE, 0),                           # not huge-page aligned
    (None, "shmat", "$H", FAR, 0),
    (None, "shmat", "$H", 0, 0),
    (None, "shmat", "$H", FAR + (1 << 21), SHM_REMAP),
    ("N", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shmat", "$N", FAR + PAGE, SHM_REMAP),                   # would split a huge page
    (None, "ctl", "$H", SHM_LOCK),                                  # a no-op for hugetlb
    (None, "stat", "$H"),
    (None, "info"),
], [
    "ENOMEM", 0, "EINVAL", "EINVAL", 20, "ENOSPC", [0, 1, 1 << 38, 0, 0],
    "ENOMEM", "ENOMEM", "EINVAL", 1,
    ["EPERM", "EPERM", "EINVAL"],
    2, S(),
    "EINVAL", hex(FAR), "ok", hex(FAR + (1 << 21)), 3, "EINVAL", 0,
    S(nattch=3, atime=True, lpid="me"),
    [3, 4, (1 << 38) + 3, 0, 0],
])

script("shmat-and-shmdt", [
    ("A", "shmget", IPC_PRIVATE, 5000, 0o600),
    (None, "shmat", "$A", FAR + 1, 0),
    (None, "shmat", "$A", FAR + 1, SHM_RND),
    (None, "shmat", "$A", FAR, 0),
    (None, "shmat", "$A", FAR + PAGE, 0),
    (None, "shmat", "$A", FAR + 2 * PAGE, 0),
    (None, "shmat", "$A", 0, SHM_REMAP),
    (None, "shmat", "$A", 100, SHM_RND | SHM_REMAP),
    (None, "shmat", "$A", FAR, SHM_REMAP),
    (None, "stat", "$A"),
    (None, "shmat", "$A", 0xFFFFFFFFFFFFF000, 0),
    (None, "shmat", "$A", 0xFFFFFFFFFFFFF000, SHM_REMAP),
    (None, "shmat", "$A", 0x800000000000, 0),
    (None, "shmat", "$A", 0x7FFFFFFFF000 - 2 * PAGE, 0),
    (None, "shmat", 12345, FAR + 1, 0),
    (None, "shmat", -1, 0, 0),
    (None, "shmat", ("$A", 32768), 0, 0),
    (None, "shmdt", FAR + 1),
    (None, "shmdt", FAR + PAGE),
    (None, "shmdt", FAR),
    (None, "shmdt", FAR),
    (None, "shmdt", 0),
    (None, "stat", "$A"),
    (None, "shmat", "$A", 100, SHM_RND),               # rounds to 0: a fixed map at 0
    (None, "shmat", "$A", 100, SHM_RND),               # ... which replaces the first
    (None, "stat", "$A"),
    (None, "shmdt", 0),
    ("B", "shmget", IPC_PRIVATE, PAGE, 0o644),
    (None, "child", NOBODY, [
        (None, "shmat", "$B", 0, 0),
        (None, "shmat", "$B", 0, SHM_RDONLY),
        (None, "shmat", "$B", 0, SHM_RDONLY | SHM_EXEC),
        (None, "shmat", "$B", 100, SHM_RND | SHM_RDONLY),   # address 0 needs CAP_SYS_RAWIO
        (None, "shmat", 12345, 100, SHM_RND),
        (None, "shmat", "$B", PAGE, SHM_RDONLY),
        (None, "stat", "$B"),
    ]),
    (None, "stat", "$B"),
    (None, "shmat", "$B", 0, SHM_EXEC),
], [
    0, "EINVAL", hex(FAR), "EINVAL", "EINVAL", hex(FAR + 2 * PAGE), "EINVAL", "EINVAL",
    hex(FAR), S(segsz=5000, nattch=2, lpid="me", atime=True, dtime=True),
    "EINVAL", "ENOMEM", "ENOMEM", hex(0x7FFFFFFFF000 - 2 * PAGE),
    "EINVAL", "EINVAL", "EINVAL",
    "EINVAL", "EINVAL", 0, "EINVAL", "EINVAL",
    S(segsz=5000, nattch=2, lpid="me", atime=True, dtime=True),
    "0x0", "0x0", S(segsz=5000, nattch=3, lpid="me", atime=True, dtime=True), 0,
    1,
    ["EACCES", "ok", "EACCES", "EPERM", "EINVAL", hex(PAGE),
     S(mode="0o644", nattch=2, cpid="other", lpid="me", atime=True)],
    S(mode="0o644", nattch=0, lpid="other", atime=True, dtime=True),
    "ok",
])

script("shm-remap-pieces", [
    ("A", "shmget", IPC_PRIVATE, 3 * PAGE, 0o600),
    ("B", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shmat", "$A", FAR, 0),
    (None, "write", FAR, "A0"),
    (None, "write", FAR + 2 * PAGE, "A2"),
    (None, "shmat", "$B", FAR + PAGE, SHM_REMAP),      # splits A's mapping in three
    (None, "stat", "$A"),
    (None, "stat", "$B"),
    (None, "read", FAR + 2 * PAGE, 2),
    (None, "shmdt", FAR + 2 * PAGE),                   # a piece: not where it would start
    (None, "shmdt", FAR),                              # both of A's pieces go
    (None, "stat", "$A"),
    (None, "stat", "$B"),
    (None, "shmdt", FAR + PAGE),
    ("G", "shmget", IPC_PRIVATE, 3 * PAGE, 0o600),
    ("H", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shmat", "$G", FAR, 0),
    (None, "shmat", "$H", FAR, SHM_REMAP),             # over G's first page
    (None, "stat", "$G"),
    (None, "shmdt", FAR + PAGE),
    (None, "shmdt", FAR),                              # H only: G's piece stays
    (None, "stat", "$G"),
    (None, "read", FAR + 2 * PAGE, 1),
    ("C", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shmat", "$C", FAR + 0x100000, 0),
    (None, "shmat", "$C", FAR + 0x100000, SHM_REMAP),  # over itself
    (None, "stat", "$C"),
    ("D", "shmget", IPC_PRIVATE, PAGE, 0o600),
    ("E", "shmget", IPC_PRIVATE, PAGE, 0o600),
    ("F", "shmget", IPC_PRIVATE, 2 * PAGE, 0o600),
    (None, "shmat", "$D", FAR + 0x200000, 0),
    (None, "shmat", "$E", FAR + 0x201000, 0),
    (None, "wr", FORCED, "1"),
    (None, "shmat", "$F", FAR + 0x200000, SHM_REMAP),  # D and E lose their last mapping
    (None, "stat", "$D"),
    (None, "stat", "$E"),
    (None, "stat", "$F"),
    (None, "shmat", "$H", FAR + 0x200000, 0),          # fails, and H had no attachment
    (None, "stat", "$H"),
    (None, "shmat", "$C", FAR + 0x200000, 0),          # fails; C is still attached
    (None, "stat", "$C"),
], [
    0, 1, hex(FAR), 0, 0, hex(FAR + PAGE),
    S(segsz=3 * PAGE, nattch=2, lpid="me", atime=True, dtime=True),
    S(nattch=1, lpid="me", atime=True),
    "A2", "EINVAL", 0,
    S(segsz=3 * PAGE, nattch=0, lpid="me", atime=True, dtime=True),
    S(nattch=1, lpid="me", atime=True),
    0, 2, 3, hex(FAR), hex(FAR),
    S(segsz=3 * PAGE, nattch=1, lpid="me", atime=True, dtime=True),
    "EINVAL", 0,
    S(segsz=3 * PAGE, nattch=1, lpid="me", atime=True, dtime=True),
    "\x00", 4, hex(FAR + 0x100000), hex(FAR + 0x100000),
    S(nattch=1, lpid="me", atime=True, dtime=True),
    5, 6, 7, hex(FAR + 0x200000), hex(FAR + 0x201000), 1, hex(FAR + 0x200000),
    "EINVAL", "EINVAL", S(segsz=2 * PAGE, nattch=1, lpid="me", atime=True),
    "EINVAL", "EINVAL", "EINVAL", S(nattch=1, lpid="me", atime=True, dtime=True),
])

script("shm-rmid-while-attached", [
    ("A", "shmget", 0x61, 5000, IPC_CREAT | 0o640),
    (None, "shmat", "$A", FAR, 0),
    (None, "write", FAR, "data"),
    (None, "ctl", "$A", IPC_RMID),
    (None, "stat", "$A"),
    (None, "shmget", 0x61, 0, 0),
    ("B", "shmget", 0x61, 100, IPC_CREAT | 0o600),
    (None, "shmat", "$A", FAR + 0x10000, 0),           # a removed segment can be attached
    (None, "read", FAR + 0x10000, 4),
    (None, "set", "$A", 0, 0, 0o600),
    (None, "ctl", "$A", IPC_RMID),
    (None, "ctl", "$A", SHM_LOCK),
    (None, "stat", "$A"),
    (None, "rd", PROC),
    (None, "ctl", "$A", SHM_UNLOCK),
    (None, "shmdt", FAR),
    (None, "stat", "$A"),
    (None, "read", FAR + 0x10000, 4),
    (None, "shmdt", FAR + 0x10000),
    (None, "stat", "$A"),
    (None, "info"),
    (None, "ctl", "$B", IPC_RMID),
    (None, "info"),
], [
    0, hex(FAR), 0, 0,
    S(mode="0o1640", segsz=5000, nattch=1, lpid="me", atime=True),
    "ENOENT", 1, hex(FAR + 0x10000), "data", 0, 0, 0,
    S(mode="0o3600", segsz=5000, nattch=2, lpid="me", atime=True),
    HEADER + row(0, 0, 0o3600, 5000, 2, rss=PAGE, times="T0T") + "\n"
    + row(0x61, 1, 0o600, 100, 0, rss=0, lpid="0", times="00T") + "\n",
    0, 0,
    S(mode="0o1600", segsz=5000, nattch=1, lpid="me", atime=True, dtime=True),
    "data", 0, "EINVAL", [1, 1, 1, 0, 0], 0, [0, 0, 0, 0, 0],
])

script("shm-fork-and-exit", [
    ("A", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shmat", "$A", FAR, 0),
    (None, "shmat", "$A", FAR + 0x10000, SHM_RDONLY),
    (None, "stat", "$A"),
    (None, "child", None, [
        (None, "stat", "$A"),                          # the parent did the copies
        (None, "read", FAR + 0x10000, 1),
        (None, "write", FAR, "child"),
        (None, "shmdt", FAR + 0x10000),
        (None, "stat", "$A"),
    ]),
    (None, "stat", "$A"),                              # the child's exit detached the rest
    (None, "read", FAR + 0x10000, 5),
], [
    0, hex(FAR), hex(FAR + 0x10000),
    S(nattch=2, lpid="me", atime=True),
    [S(nattch=4, cpid="other", lpid="other", atime=True), "\x00", 0, 0,
     S(nattch=3, cpid="other", lpid="me", atime=True, dtime=True)],
    S(nattch=2, lpid="other", atime=True, dtime=True),
    "child",
])

script("shm-rmid-forced", [
    (None, "wr", FORCED, "1"),
    ("A", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shmat", "$A", FAR, 0),
    (None, "shmdt", FAR),                              # the creator is alive: gone anyway
    (None, "stat", "$A"),
    ("B", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "rd", FORCED),                              # reading 1 spares live creators
    (None, "stat", "$B"),
    (None, "child", None, [                            # with 1, the creator's exit
        ("C", "shmget", IPC_PRIVATE, PAGE, 0o600),     # destroys its unattached segments
        ("D", "shmget", IPC_PRIVATE, PAGE, 0o600),
        (None, "shmat", "$D", FAR, 0),
    ]),
    (None, "info"),
    (None, "wr", FORCED, "0"),
    (None, "child", None, [                            # with 0, they become orphans
        ("E", "shmget", IPC_PRIVATE, PAGE, 0o600),
        ("F", "shmget", IPC_PRIVATE, PAGE, 0o600),
        ("G", "shmget", IPC_PRIVATE, PAGE, 0o600),
        (None, "shmat", "$G", FAR, 0),
    ]),
    (None, "info"),
    (None, "shmat", 5, FAR, 0),                        # an orphan, attached again
    (None, "wr", FORCED, "1"),                         # destroys the unattached orphans
    (None, "info"),
    (None, "stat", 5),
    (None, "stat", "$B"),
    (None, "shmdt", FAR),
    (None, "stat", 5),
    ("H", "shmget", IPC_PRIVATE, PAGE, 0o600),
    ("I", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shmat", "$I", FAR, 0),
    (None, "write", FAR, "kept"),
    ("fd", "popen", PROC),
    (None, "unshare"),                                 # exit_shm: H goes, I is orphaned
    (None, "pread", "$fd"),
    (None, "read", FAR, 4),
    (None, "shmdt", FAR),
    (None, "pread", "$fd"),
    (None, "info"),
], [
    1, 0, hex(FAR), 0, "EINVAL", 1, "1\n", S(), [2, 3, hex(FAR)], [1, 1, 1, 0, 0], 1,
    [4, 5, 6, hex(FAR)], [6, 4, 4, 0, 0],
    hex(FAR), 1, [5, 2, 2, 0, 0], S(nattch=1, cpid="other", lpid="me", atime=True), S(),
    0, "EINVAL",
    7, 8, hex(FAR), 0, "fd", 0,
    HEADER + row(0, 8, 0o600, PAGE, 1, rss=PAGE, times="T0T") + "\n",
    "kept", 0, HEADER, [0, 0, 0, 0, 0],
])

script("shmctl", [
    ("A", "shmget", 0x51, PAGE, IPC_CREAT | 0o600),
    (None, "ctl", "$A", 16),
    (None, "ctl", "$A", -1),
    (None, "ctl", -1, IPC_RMID),
    (None, "ctl", "$A", IPC_STAT | 0x100),             # IPC_64 is not accepted on x86-64
    (None, "stat", ("$A", 32768)),                     # IPC_STAT checks the sequence
    (None, "shm_stat", ("$A", 5 * 32768)),             # SHM_STAT takes a slot
    (None, "shm_stat", 5),
    (None, "ctl", "$A", IPC_RMID),
    ("B", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "shm_stat", 1),
    (None, "child", NOBODY, [
        (None, "stat", "$B"),
        (None, "stat_any", 1),
        (None, "shm_stat", 1),
        (None, "ctl", "$B", IPC_RMID),
        (None, "set", "$B", NOBODY, NOBODY, 0o666),
        (None, "ctl", "$B", SHM_LOCK),
        (None, "ctl", "$B", SHM_UNLOCK),
        (None, "ctl", 77, SHM_LOCK),
        (None, "ipcinfo"),
        (None, "info"),
    ]),
    (None, "set", "$B", NOBODY, NOBODY, 0o7604),
    (None, "stat", "$B"),
    (None, "child", NOBODY, [
        (None, "stat", "$B"),
        (None, "ctl", "$B", SHM_LOCK),                 # the owner may lock
        (None, "stat", "$B"),
        (None, "ctl", "$B", SHM_UNLOCK),
        (None, "set", "$B", NOBODY, NOBODY, 0o600),
        (None, "ctl", "$B", IPC_RMID),
    ]),
    (None, "stat", "$B"),
    ("C", "shmget", IPC_PRIVATE, PAGE, 0o600),
    (None, "set", "$C", 0xFFFFFFFF, 0, 0o666),
    (None, "set", "$C", 0, 0xFFFFFFFF, 0o666),
    (None, "set", "$C", 0xFFFFFFFE, 7, 0o666),
    (None, "stat", "$C"),
    (None, "ctl", "$C", SHM_LOCK),
    (None, "ctl", "$C", SHM_LOCK),
    (None, "stat", "$C"),
    (None, "ctl", "$C", SHM_UNLOCK),
    (None, "ctl", "$C", SHM_UNLOCK),
    (None, "stat", "$C"),
    (None, "child", NOBODY, [                          # RLIMIT_MEMLOCK (8 MiB) per user
        ("M", "shmget", IPC_PRIVATE, 4 << 20, 0o600),
        (None, "ctl", "$M", SHM_LOCK),
        (None, "ctl", "$M", SHM_LOCK),                 # already locked: no new charge
        ("N", "shmget", IPC_PRIVATE, 5 << 20, 0o600),
        (None, "ctl", "$N", SHM_LOCK),
        (None, "stat", "$N"),
        (None, "ctl", "$M", SHM_UNLOCK),
        (None, "ctl", "$N", SHM_LOCK),
        (None, "ctl", "$N", IPC_RMID),                 # destroying a locked segment unlocks
        (None, "ctl", "$M", SHM_LOCK),
        ("O", "shmget", IPC_PRIVATE, 9 << 20, 0o600),
        (None, "ctl", "$O", SHM_LOCK),
        (None, "ctl", "$M", IPC_RMID),
        (None, "ctl", "$O", IPC_RMID),
    ]),
    ("BIG", "shmget", IPC_PRIVATE, 100 << 20, 0o600),
    (None, "ctl", "$BIG", SHM_LOCK),                   # CAP_IPC_LOCK: no limit
    (None, "stat", "$BIG"),
], [
    0, "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", S(key=0x51, ret=0), "EINVAL", 0, 1,
    S(ret=1),
    ["EACCES", S(ret=1, cpid="other"), "EACCES", "EPERM", "EPERM", "EPERM", "EPERM", "EINVAL",
     [1, 18446744073692774399, 1, 4096, 4096, 18446744073692774399], [1, 1, 1, 0, 0]],
    0, S(mode="0o604", ids=(NOBODY, NOBODY, 0, 0)),
    [S(mode="0o604", cpid="other", ids=(NOBODY, NOBODY, 0, 0)), 0,
     S(mode="0o2604", cpid="other", ids=(NOBODY, NOBODY, 0, 0)), 0, 0, 0],
    "EINVAL", 2, "EINVAL", "EINVAL", 0, S(mode="0o666", ids=(0xFFFFFFFE, 7, 0, 0)),
    0, 0, S(mode="0o2666", ids=(0xFFFFFFFE, 7, 0, 0)), 0, 0,
    S(mode="0o666", ids=(0xFFFFFFFE, 7, 0, 0)),
    [3, 0, 0, 4, "ENOMEM", S(segsz=5 << 20, ids=(NOBODY,) * 4), 0, 0, 0, 0, 5, "ENOMEM", 0,
     0],
    6, 0, S(mode="0o2600", segsz=100 << 20),
])

script("shm-memory", [
    ("A", "shmget", IPC_PRIVATE, 3 * PAGE + 1, 0o600),
    (None, "shmat", "$A", FAR, 0),
    (None, "info"),
    (None, "write", FAR, "abc"),
    (None, "read", FAR + 2 * PAGE, 1),                 # a read makes a page resident too
    (None, "info"),
    (None, "child", None, [
        (None, "read", FAR, 3),
        (None, "write", FAR + 3 * PAGE, "z"),
        (None, "write", FAR + 4 * PAGE - 1, "q"),      # the tail of the last page
    ]),
    (None, "read", FAR + 3 * PAGE, 1),
    (None, "read", FAR + 4 * PAGE - 1, 1),
    (None, "info"),
    (None, "shmat", "$A", FAR + 0x10000, SHM_RDONLY),
    (None, "read", FAR + 0x10000, 3),
    (None, "shmdt", FAR),
    (None, "ctl", "$A", IPC_RMID),
    (None, "read", FAR + 0x10000, 3),                  # removed, still attached: still there
    (None, "info"),
    (None, "rd", PROC),
    (None, "shmdt", FAR + 0x10000),
    (None, "info"),
], [
    0, hex(FAR), [0, 1, 4, 0, 0], 0, "\x00", [0, 1, 4, 2, 0], ["abc", 0, 0], "z", "q",
    [0, 1, 4, 3, 0], hex(FAR + 0x10000), "abc", 0, 0, "abc", [0, 1, 4, 3, 0],
    HEADER + row(0, 0, 0o1600, 3 * PAGE + 1, 1, rss=3 * PAGE, times="TTT") + "\n",
    0, [0, 0, 0, 0, 0],
])

script("shm-proc-text", [
    ("A", "shmget", 0x51, 5000, IPC_CREAT | 0o640),
    (None, "shmat", "$A", FAR, 0),
    (None, "write", FAR, "x" * 5000),
    ("B", "shmget", IPC_PRIVATE, 8192, 0o640),
    (None, "shmat", "$B", FAR + 0x10000, 0),
    (None, "read", FAR + 0x10000, 1),
    (None, "ctl", "$B", IPC_RMID),
    ("C", "shmget", 0x53, PAGE, IPC_CREAT | 0o600),
    (None, "ctl", "$C", SHM_LOCK),
    ("D", "shmget", 0xFFFFFFFF, 100, IPC_CREAT | 0o666),
    ("E", "shmget", 0x7FFFFFFF, PAGE, IPC_CREAT | 0o644),
    (None, "set", "$E", 1000, 2000, 0o444),
    ("F", "shmget", IPC_PRIVATE, 1 << 40, SHM_NORESERVE | 0o600),
    (None, "rd", PROC),
], [
    0, hex(FAR), 0, 1, hex(FAR + 0x10000), "\x00", 0, 2, 0, 3, 4, 0, 5,
    HEADER
    + "        81          0   640                  5000     P     P      1     0     0     0"
      "     0          T          0          T                  8192                     0\n"
    + "         0          1  1640                  8192     P     P      1     0     0     0"
      "     0          T          0          T                  4096                     0\n"
    + "        83          2  2600                  4096     P     0      0     0     0     0"
      "     0          0          0          T                     0                     0\n"
    + "        -1          3   666                   100     P     0      0     0     0     0"
      "     0          0          0          T                     0                     0\n"
    + "2147483647          4   444                  4096     P     0      0  1000  2000     0"
      "     0          0          0          T                     0                     0\n"
    + "         0          5   600         1099511627776     P     0      0     0     0     0"
      "     0          0          0          T                     0                     0\n",
])


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_script_model(name):
    steps, expected = SCRIPTS[name]
    assert sim_script(steps) == expected


@requires_real
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_script_matches_real(name):
    steps, expected = SCRIPTS[name]
    real = real_script(name)
    assert real == expected, "\n".join(
        f"step {i + 1} {steps[i][:3]}: real {r!r}, documented {e!r}"
        for i, (r, e) in enumerate(zip(real, expected)) if r != e)


# --- shapes of what the calls return ------------------------------------------------------
def test_return_shapes(p):
    shmid = p.shmget(0x51, 5000, IPC_CREAT | 0o640)
    ds = p.shmctl(shmid, IPC_STAT)
    assert isinstance(ds, ShmidDs) and ds.shm_segsz == 5000 and ds.shm_cpid == p.pid
    assert ds.shm_perm == ipcsim.IpcPerm(key=0x51, uid=0, gid=0, cuid=0, cgid=0, mode=0o640)
    assert ds.shm_ctime == p.kernel.clock.time() and ds.shm_atime == ds.shm_dtime == 0
    assert p.shmctl(shmid, SHM_STAT) == (shmid, ds)
    assert p.shmctl(shmid, SHM_STAT_ANY) == (shmid, ds)
    maxidx, info = p.shmctl(0, IPC_INFO)
    assert (maxidx, info) == (0, Shminfo(shmmax=ipcsim.SHMMAX, shmmin=1, shmmni=4096,
                                         shmseg=4096, shmall=ipcsim.SHMALL))
    assert p.shmctl(0, SHM_INFO) == (0, ShmInfo(used_ids=1, shm_tot=2))
    addr = p.shmat(shmid)
    assert isinstance(addr, int)
    assert p.write_memory(addr, b"x") is None and p.read_memory(addr, 1) == b"x"
    ro = p.shmat(shmid, flags=SHM_RDONLY)
    assert p.read_memory(ro, 1) == b"x" and p.shmdt(ro) is None
    assert p.shmdt(addr) is None
    assert p.shmctl(shmid, SHM_LOCK) is None and p.shmctl(shmid, SHM_UNLOCK) is None
    assert p.shmctl(shmid, IPC_SET, ds) is None
    assert p.shmctl(shmid, IPC_RMID) is None


def test_info_of_an_empty_namespace(p):
    assert p.shmctl(0, IPC_INFO)[0] == 0
    assert p.shmctl(12345, SHM_INFO) == (0, ShmInfo())


# --- addresses ------------------------------------------------------------------------------
GUARD = shm_module.STACK_GUARD_GAP
TASK_SIZE = shm_module.TASK_SIZE
HUGE_2M = 2 << 20


def mappings(p):
    """(start, end, name) of every mapping of ``p``, lowest first ("/SYSV" for shm)."""
    return [(v.start, v.end, v.name if isinstance(v, FixedVma) else "/SYSV")
            for v in shm_module.mm_of(p).mappings()]


def stack_of(maps):
    return next((lo, hi) for lo, hi, name in maps if name == "[stack]")


def naive_unmapped_area(mm, length, align):
    """Where Linux puts a mapping of ``length`` bytes aligned to ``align``, found by walking
    every gap: the top of the highest gap below mmap_base that holds length + align - PAGE,
    else the bottom of the lowest one between mmap_legacy_base and TASK_SIZE; a gap ends a
    guard gap below the stack; None when nothing fits."""
    need = length + align - PAGE
    vmas = mm.mappings()
    gaps = []                                  # (floor, ceiling) of each free range
    floor = PAGE
    for v in vmas:
        gaps.append((floor, v.start - (GUARD if isinstance(v, FixedVma) and v.guard else 0)))
        floor = max(floor, v.end)
    gaps.append((floor, TASK_SIZE))
    for lo, hi in reversed(gaps):
        hi = min(hi, mm.mmap_base)
        if hi - lo >= need:
            return (hi - length) & ~(align - 1)
    for lo, hi in gaps:
        lo = max(lo, mm.layout.mmap_legacy_base)
        if hi - lo >= need:
            return (lo + align - 1) & ~(align - 1)
    return None


def test_every_process_has_the_mappings_of_a_small_program(k, p):
    """Program, heap, libc, vDSO, loader and stack, where Linux 6.18's exec puts them: the
    loader ends at mmap_base, the stack lies within 16 GiB (and a page) of TASK_SIZE."""
    maps = mappings(p)
    names = [name for _, _, name in maps]
    assert names[:6] == ["/sbin/init"] * 5 + ["[heap]"] and names[-1] == "[stack]"
    assert names.count(shm_module.LIBC) == 5 and names.count(shm_module.LD_SO) == 5
    assert {"[vdso]", "[vvar]", "[vvar_vclock]"} <= set(names)
    mm = shm_module.mm_of(p)
    loader_end = max(hi for _, hi, name in maps if name == shm_module.LD_SO)
    assert loader_end == mm.mmap_base
    lo, hi = stack_of(maps)
    assert hi - lo == 0x21000 and TASK_SIZE - hi <= (0x3FFFFF << 12) + PAGE
    gap = (8 << 20) + (0x3FFFFF << 12) + GUARD
    assert TASK_SIZE - gap - (1 << 40) < mm.mmap_base <= TASK_SIZE - gap
    assert 0x555555554000 <= maps[0][0] < 0x555555554000 + (1 << 40)
    assert mm.map_count == len(maps) == 23 and list(mm) == []
    # a child has the same ones; a kernel with another seed has others
    assert mappings(p.fork()) == maps == mappings(k.init)
    k2 = ipcsim.Kernel(seed=k.seed + 1)
    try:
        other = mappings(k2.init)
        assert [n for _, _, n in other] == names and other != maps
        k3 = ipcsim.Kernel(seed=k.seed)
        assert mappings(k3.init) == maps
        k3.close()
    finally:
        k2.close()


def test_addresses_are_chosen_top_down_below_the_base(p):
    """As a small C program showed on Linux 6.18: a one-page attach fills the top of the
    nine-page hole the loader leaves below the vDSO, a ten-page one goes below libc."""
    maps = mappings(p)
    mm = shm_module.mm_of(p)
    hole = [(a[1], b[0]) for a, b in zip(maps, maps[1:]) if a[1] < b[0] < mm.mmap_base][-1]
    assert hole[1] - hole[0] == 9 * PAGE
    one = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    ten = p.shmget(IPC_PRIVATE, 10 * PAGE, 0o600)
    a, b = p.shmat(one), p.shmat(one)
    assert (a, b) == (hole[1] - PAGE, hole[1] - 2 * PAGE)
    lowest = min(lo for lo, _, _ in maps if lo > maps[5][1])
    assert p.shmat(ten) == lowest - 10 * PAGE
    p.shmdt(a)
    assert p.shmat(ten) == lowest - 20 * PAGE
    assert p.shmat(one) == a                       # the highest free range that fits


@pytest.mark.parametrize("seed", range(12))
def test_address_search_matches_a_plain_top_down_search(seed):
    """The free-area cache never changes the answer: after any mix of attaches, detaches
    and fixed maps (replacing or not, over the fixed mappings too), the address chosen is
    the naive search's."""
    import random

    rng = random.Random(seed)
    k = ipcsim.Kernel(seed=seed)
    p = k.init.clone(CLONE_NEWIPC)
    mm = shm_module.mm_of(p)
    kinds = [(p.shmget(IPC_PRIVATE, n * PAGE, 0o600), n * PAGE, PAGE) for n in (1, 2, 3, 9, 40)]
    kinds.append((p.shmget(IPC_PRIVATE, 5000, SHM_HUGETLB | SHM_NORESERVE | 0o600),
                  HUGE_2M, HUGE_2M))
    fixed_share = rng.choice([0.05, 0.2, 0.5])
    attached = []
    for _ in range(300):
        if attached and rng.random() < 0.45:
            p.shmdt(attached.pop(rng.randrange(len(attached))))
            continue
        shmid, length, align = rng.choice(kinds)
        if rng.random() < fixed_share:
            addr = (mm.mmap_base + rng.randrange(-400, 40) * PAGE) & ~(align - 1)
            try:
                attached.append(p.shmat(shmid, addr, rng.choice([0, SHM_REMAP])))
            except OSError:
                pass
            attached = [v.start for v in p.mm if v.pgoff == 0 and v.start in attached]
            continue
        want = naive_unmapped_area(mm, length, align)
        assert p.shmat(shmid) == want
        attached.append(want)
    k.close()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2 ** 32), st.lists(st.tuples(
    st.sampled_from(["chosen", "chosen", "chosen", "fixed", "remap", "detach", "fill"]),
    st.sampled_from([PAGE, 2 * PAGE, 9 * PAGE, HUGE_2M, 1 << 30, 1 << 40, 20 << 40, 60 << 40]),
    st.booleans(),
    st.sampled_from(["base", "stack", "legacy", "low", "loader"]),
    st.integers(-600, 600)), max_size=40))
def test_free_area_search_against_a_naive_one(seed, steps):
    """Over random sets of mappings (chosen and fixed attaches of sizes from a page to 60
    TiB, some over the process's own mappings, near mmap_base, the stack, the bottom-up
    floor and the bottom of the address space, and fills of every free range below
    mmap_base above some size, which send searches bottom-up), shmat(NULL) answers what a
    walk over every gap answers, ENOMEM when it finds nothing."""
    k = ipcsim.Kernel(seed=seed)
    try:
        p = k.init.clone(CLONE_NEWIPC)
        mm = shm_module.mm_of(p)
        segs = {}
        attached = []
        stack = stack_of(mappings(p))
        for op, size, huge, where, pages in steps:
            align = HUGE_2M if huge else PAGE
            key = (size, huge)
            if key not in segs:
                flags = SHM_NORESERVE | 0o600 | (SHM_HUGETLB if huge else 0)
                segs[key] = p.shmget(IPC_PRIVATE, size, flags)
            length = (size + align - 1) & ~(align - 1)
            if op == "detach":
                if attached:
                    p.shmdt(attached.pop(pages % len(attached)))
            elif op == "fill":
                floor = PAGE
                for v in mm.mappings():
                    if v.start - floor >= 1 << (12 + pages % 34) and v.start <= mm.mmap_base:
                        fill = p.shmget(IPC_PRIVATE, v.start - floor, SHM_NORESERVE | 0o600)
                        attached.append(p.shmat(fill, floor))
                    floor = max(floor, v.end)
            elif op == "chosen":
                want = naive_unmapped_area(mm, length, align)
                if want is None:
                    assert err(p.shmat, segs[key]) == "ENOMEM"
                else:
                    assert p.shmat(segs[key]) == want
                    attached.append(want)
            else:
                near = {"base": mm.mmap_base, "stack": stack[0] - GUARD,
                        "legacy": mm.layout.mmap_legacy_base, "low": 1 << 30,
                        "loader": mm.mmap_base - 0x40000}[where]
                addr = (near + pages * PAGE) & ~(align - 1)
                try:
                    attached.append(p.shmat(segs[key], addr,
                                            SHM_REMAP if op == "remap" else 0))
                except OSError:
                    pass
                attached = [v.start for v in p.mm if v.pgoff == 0 and v.start in attached]
    finally:
        k.close()


def test_no_room_is_enomem(p):
    mm = shm_module.mm_of(p)
    below_program = mappings(p)[0][0] - PAGE
    huge = p.shmget(IPC_PRIVATE, below_program, SHM_NORESERVE | 0o600)
    assert p.shmat(huge) == PAGE                   # the largest free range, below the program
    assert err(p.shmat, huge) == "ENOMEM"          # neither below the base nor above
    too_big = p.shmget(IPC_PRIVATE, 1 << 47, SHM_NORESERVE | 0o600)
    assert err(p.shmat, too_big) == "ENOMEM"       # longer than the address space
    assert nattch(p, too_big) == 0 and mm.map_count == 24


def test_bottom_up_when_nothing_fits_below_the_base(p):
    """With every free range below mmap_base too small, a mapping goes just above it (the
    loader's end), and no closer to the stack than its guard gap; what does not fit there
    goes above the stack or is ENOMEM."""
    maps = mappings(p)
    lo = PAGE
    for start, end, _ in maps[:-1]:                # (all but the stack)
        if start - lo >= 1 << 20:                  # fill every range of a MiB or more
            fill = p.shmget(IPC_PRIVATE, start - lo, SHM_NORESERVE | 0o600)
            assert p.shmat(fill, lo) == lo
        lo = max(lo, end)
    mm = shm_module.mm_of(p)
    stack = stack_of(maps)
    room = stack[0] - GUARD - mm.mmap_base
    fits = p.shmget(IPC_PRIVATE, room, SHM_NORESERVE | 0o600)
    more = p.shmget(IPC_PRIVATE, room + PAGE, SHM_NORESERVE | 0o600)
    small = p.shmget(IPC_PRIVATE, 1 << 20, SHM_NORESERVE | 0o600)
    assert p.shmat(small) == mm.mmap_base
    p.shmdt(mm.mmap_base)
    assert p.shmat(fits) == mm.mmap_base
    above = TASK_SIZE - stack[1]
    if room + PAGE <= above:
        assert p.shmat(more) == stack[1]
    else:
        assert err(p.shmat, more) == "ENOMEM"
    assert p.shmat(small) == stack[1]              # above the stack, up to TASK_SIZE


def test_fixed_attaches_over_the_stack(p):
    """Without SHM_REMAP, a range that meets the stack is EINVAL (before any mmap check:
    even one that runs past TASK_SIZE); with it, the stack gives way as to MAP_FIXED, and
    ENOMEM past TASK_SIZE."""
    lo, hi = stack_of(mappings(p))
    two = p.shmget(IPC_PRIVATE, 2 * PAGE, 0o600)
    huge = p.shmget(IPC_PRIVATE, 0x420000000000, SHM_NORESERVE | 0o600)
    assert err(p.shmat, two, lo - PAGE, 0) == "EINVAL"
    assert err(p.shmat, two, hi - PAGE, 0) == "EINVAL"
    assert err(p.shmat, huge, 0x3E0000000000, 0) == "EINVAL"
    assert err(p.shmat, huge, 0x3E0000000000, SHM_REMAP) == "ENOMEM"
    assert nattch(p, two) == nattch(p, huge) == 0 and stack_of(mappings(p)) == (lo, hi)
    assert p.shmat(two, lo + 4 * PAGE, SHM_REMAP) == lo + 4 * PAGE
    maps = mappings(p)
    assert [m for m in maps if m[0] >= lo] == [
        (lo, lo + 4 * PAGE, "[stack]"), (lo + 4 * PAGE, lo + 6 * PAGE, "/SYSV"),
        (lo + 6 * PAGE, hi, "[stack]")]
    c = p.fork()                                   # the child has the same pieces
    assert mappings(c) == maps and nattch(p, two) == 2
    p.shmdt(lo + 4 * PAGE)
    assert [m for m in mappings(p) if m[0] >= lo] == [
        (lo, lo + 4 * PAGE, "[stack]"), (lo + 6 * PAGE, hi, "[stack]")]
    with pytest.raises(ipcsim.UnsupportedError, match=r"\[stack\]"):
        p.read_memory(lo, 1)
    with pytest.raises(SegmentationFault, match="nothing is mapped there"):
        p.read_memory(lo + 4 * PAGE, 1)


def test_the_fixed_mappings_count_toward_the_map_count_limit(p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    fixed = shm_module.mm_of(p).map_count
    for _ in range(shm_module.MAX_MAP_COUNT + 1 - fixed):
        p.shmat(shmid)
    assert err(p.shmat, shmid) == "ENOMEM"
    assert nattch(p, shmid) == shm_module.MAX_MAP_COUNT + 1 - fixed


def test_hugetlb_placement_and_touching(p):
    two_mb = p.shmget(IPC_PRIVATE, 5000, SHM_HUGETLB | SHM_NORESERVE | 0o600)
    one_gb = p.shmget(IPC_PRIVATE, 5000, SHM_HUGETLB | SHM_NORESERVE | (30 << 26) | 0o600)
    a = p.shmat(two_mb)
    b = p.shmat(one_gb)
    assert a % (2 << 20) == 0 and b % (1 << 30) == 0 and b + (1 << 30) <= a
    assert p.shmctl(0, SHM_INFO)[1].shm_tot == 4      # counted in small pages of segsz
    with pytest.raises(SegmentationFault, match="SIGBUS"):
        p.write_memory(a, b"x")
    with pytest.raises(SegmentationFault, match="SIGBUS"):
        p.read_memory(a + (1 << 20), 1)
    assert p.shmctl(0, SHM_INFO)[1].shm_rss == 0
    p.shmctl(two_mb, SHM_LOCK)
    assert p.shmctl(two_mb, IPC_STAT).shm_perm.mode == 0o600


def test_hugetlb_needs_cap_ipc_lock_or_the_hugetlb_group(p):
    c = p.fork()
    c.setgid(1000)
    c.setgroups([])
    c.drop_capability(CAP_IPC_LOCK)
    assert err(c.shmget, IPC_PRIVATE, PAGE, SHM_HUGETLB | SHM_NORESERVE | 0o600) == "EPERM"
    c.setgroups([0])                               # vm.hugetlb_shm_group is 0
    assert c.shmget(IPC_PRIVATE, PAGE, SHM_HUGETLB | SHM_NORESERVE | 0o600) >= 0


def test_a_fixed_address_below_mmap_min_addr_needs_cap_sys_rawio(p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    c = p.fork()
    c.drop_capability(CAP_SYS_RAWIO)
    assert err(c.shmat, shmid, 100, SHM_RND) == "EPERM"
    assert c.shmat(shmid, PAGE) == PAGE
    assert p.shmat(shmid, 1, SHM_RND) == 0


# The same layout facts on both sides, each side reading its own mappings (a real Python
# process has many more than ipcsim's small program, so every expected answer is computed
# from the mappings it has: the stack near the top, the loader's end at mmap_base).
LAYOUT_PROBE = r'''
import errno as _errno


def layout_probe(P):
    PAGE, GUARD, TASK_SIZE = 4096, 1 << 20, 0x7FFFFFFFF000
    NORESERVE, REMAP = 0o10000, 0o40000

    def at(shmid, addr, flags):
        try:
            return P.shmat(shmid, addr, flags)
        except OSError as e:
            return _errno.errorcode[e.errno]

    def stack():
        return next((lo, hi) for lo, hi, name in P.maps() if name == "[stack]")

    out = []
    lo, hi = stack()
    huge = P.shmget(0, 0x420000000000, NORESERVE | 0o600)
    out.append(at(huge, 0x3E0000000000, 0))           # EINVAL: it crosses the stack
    out.append(at(huge, 0x3E0000000000, REMAP))       # ENOMEM: past TASK_SIZE
    two = P.shmget(0, 2 * PAGE, 0o600)
    out.append(at(two, lo - PAGE, 0))                 # EINVAL: the stack's first page
    out.append(at(two, hi - PAGE, 0))                 # EINVAL: its last page
    one = P.shmget(0, PAGE, 0o600)
    out.append(at(one, lo, REMAP) == lo)              # replaces the stack's lowest page
    out.append(stack() == (lo + PAGE, hi))
    out.append(P.shmdt(lo))
    out.append(stack() == (lo + PAGE, hi))            # the stack stays shorter
    # fill every free range of 64 MiB or more below the loader's end (mmap_base): then a
    # 64 MiB attach goes bottom-up, just above it, keeping the guard gap below the stack
    lo, hi = stack()
    maps = [m for m in P.maps() if m[1] <= lo]
    top = maps[-1][1]
    floor, ok = PAGE, True
    for start, end, _ in maps:
        if start - floor >= 64 << 20:
            fill = P.shmget(0, start - floor, NORESERVE | 0o600)
            ok = ok and at(fill, floor, 0) == floor
        floor = end
    out.append(ok)
    size = 64 << 20
    want = top if lo - GUARD - top >= size else hi if TASK_SIZE - hi >= size else "ENOMEM"
    out.append(at(P.shmget(0, size, NORESERVE | 0o600), 0, 0) == want)
    room = lo - GUARD - top - size
    if room > 0:
        out.append(at(P.shmget(0, room, NORESERVE | 0o600), 0, 0) == top + size)
        big = P.shmget(0, room + PAGE, NORESERVE | 0o600)
        out.append(at(big, 0, 0) == (hi if TASK_SIZE - hi >= room + PAGE else "ENOMEM"))
    else:
        out += [True, True]
    # the vDSO and vvar never split (EINVAL), but SHM_REMAP replaces one whole (not
    # the vDSO here: the real process would crash at its next call into it)
    for name in ("[vdso]", "[vvar]", "[vvar_vclock]"):
        lo, hi = next((lo, hi) for lo, hi, n in P.maps() if n == name)
        out.append(at(one, lo, REMAP))
        out.append(at(one, hi - PAGE, REMAP))
        out.append(at(two, hi - PAGE, REMAP))
        if name != "[vdso]":
            out.append(at(P.shmget(0, hi - lo, 0o600), lo, REMAP) == lo)
            out.append(name in [n for _, _, n in P.maps()])
    return out
'''

REAL_LAYOUT = r'''
def _maps():
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if hi <= 0x7FFFFFFFF000:
                out.append((lo, hi, fields[5] if len(fields) > 5 else ""))
    return out


RealPrims.maps = staticmethod(_maps)
result = layout_probe(RealPrims())
'''

LAYOUT_EXPECTED = ["EINVAL", "ENOMEM", "EINVAL", "EINVAL", True, True, 0, True, True, True,
                   True, True] + ["EINVAL"] * 3 + ["EINVAL", "EINVAL", "EINVAL", True, False] * 2
_scope_layout: dict = {}
exec(compile(LAYOUT_PROBE, "<shm layout probe>", "exec"), _scope_layout)   # noqa: S102


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_layout_probe_model(seed):
    k = ipcsim.Kernel(seed=seed)
    try:
        prims = SimPrims(k.init.clone(CLONE_NEWIPC))
        prims.maps = lambda: mappings(prims.p)
        assert _scope_layout["layout_probe"](prims) == LAYOUT_EXPECTED
    finally:
        k.close()


@requires_real
def test_layout_probe_matches_real():
    code = (REAL_PRIMS.replace("result = run_script(STEPS, RealPrims())", "")
            + LAYOUT_PROBE + REAL_LAYOUT)
    assert run_real("STEPS = []\n" + RUNNER + code) == LAYOUT_EXPECTED


# --- memory ---------------------------------------------------------------------------------
def test_memory_is_shared_between_processes(p):
    shmid = p.shmget(0x77, 2 * PAGE, IPC_CREAT | 0o600)
    q = p.fork()
    a = p.shmat(shmid)
    b = q.shmat(shmid, 0x100000000000)
    p.write_memory(a + 100, b"hello")
    assert q.read_memory(b + 100, 5) == b"hello"
    q.write_memory(b + PAGE - 2, bytearray(b"span"))     # across a page boundary
    assert p.read_memory(a + PAGE - 2, 4) == b"span"
    q.write_memory(b, memoryview(b"mv"))
    p.write_memory(a + 2, "str")                         # text is stored as UTF-8
    assert p.read_memory(a, 5) == b"mvstr"
    p.shmdt(a)
    q.shmdt(b)
    assert p.read_memory(p.shmat(shmid) + 100, 5) == b"hello"   # kept while it exists


def test_a_new_segment_is_zero_and_memory_goes_with_the_segment(p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    a = p.shmat(shmid)
    assert p.read_memory(a, 16) == bytes(16)
    p.write_memory(a, b"old")
    p.shmctl(shmid, IPC_RMID)
    p.shmdt(a)
    again = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    assert p.read_memory(p.shmat(again), 3) == bytes(3)


def test_faults(p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    with pytest.raises(SegmentationFault, match="nothing is mapped there"):
        p.read_memory(0x1000, 1)
    a = p.shmat(shmid, FAR)
    ro = p.shmat(shmid, FAR - PAGE, SHM_RDONLY)           # adjacent mappings
    with pytest.raises(SegmentationFault) as e:
        p.write_memory(ro, b"x")
    assert f"pid {p.pid}" in str(e.value) and hex(ro) in str(e.value)
    assert "read-only" in str(e.value)
    assert p.read_memory(ro, 1) == b"\0"
    with pytest.raises(SegmentationFault, match="runs past the end"):
        p.read_memory(ro + PAGE - 1, 2)                   # one access, one mapping
    with pytest.raises(SegmentationFault, match="runs past the end"):
        p.write_memory(a + PAGE - 1, b"xy")
    with pytest.raises(SegmentationFault) as e:
        p.read_memory(a + PAGE, 1)
    assert "nothing is mapped there" in str(e.value)
    assert f"below: {a:#x}-{a + PAGE:#x} rw-s (shmid {shmid})" in str(e.value)
    with pytest.raises(SegmentationFault):
        p.read_memory(a - 2 * PAGE, 1)
    assert p.read_memory(0x1000, 0) == b"" and p.write_memory(0x1000, b"") is None
    p.shmdt(a)
    with pytest.raises(SegmentationFault):
        p.write_memory(a, b"x")
    assert p.shmctl(0, SHM_INFO)[1].shm_rss == 1          # only the read touched a page


def test_memory_argument_errors(p):
    a = p.shmat(p.shmget(IPC_PRIVATE, PAGE, 0o600))
    with pytest.raises(TypeError):
        p.write_memory(a, 5)
    with pytest.raises(TypeError):
        p.write_memory(str(a), b"x")
    with pytest.raises(TypeError):
        p.read_memory(a, 1.0)
    with pytest.raises(ValueError):
        p.read_memory(a, -1)
    with pytest.raises(OverflowError):
        p.read_memory(-PAGE, 1)
    with pytest.raises(OverflowError):
        p.write_memory(1 << 64, b"x")
    assert p.shmctl(0, SHM_INFO)[1].shm_rss == 0


def test_the_mapping_used_last_is_forgotten_when_it_changes(p):
    """Accesses go fast through the mapping used last; detaching it, replacing it with
    SHM_REMAP, or its being read-only must still give the full path's answer."""
    one = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    two = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    a = p.shmat(one)
    p.write_memory(a + 8, b"one")
    assert p.read_memory(a + 8, 3) == b"one"
    p.shmdt(a)
    with pytest.raises(SegmentationFault):
        p.read_memory(a + 8, 3)
    assert p.shmat(two, a) == a                       # the same address, another segment
    assert p.read_memory(a + 8, 3) == bytes(3)
    p.write_memory(a + 8, b"two")
    p.shmat(one, a, SHM_REMAP | SHM_RDONLY)           # replaces the mapping used last
    assert p.read_memory(a + 8, 3) == b"one"
    with pytest.raises(SegmentationFault, match="read-only"):
        p.write_memory(a + 8, b"x")
    c = p.fork()                                      # the child starts with no cache
    assert c.read_memory(a + 8, 3) == b"one"
    b = p.shmat(two)
    assert p.read_memory(b + 8, 3) == b"two"
    with pytest.raises(SegmentationFault, match="runs past the end"):
        p.write_memory(b + PAGE - 1, b"xy")
    with pytest.raises(ValueError):
        p.read_memory(b, -1)
    with pytest.raises(TypeError):
        p.read_memory(b, 1.0)


# --- fork, exit, namespaces -----------------------------------------------------------------
def test_fork_inherits_attachments_and_exit_detaches(k, p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    a = p.shmat(shmid)
    k.clock.advance(5)
    child = p.fork()
    ds = p.shmctl(shmid, IPC_STAT)
    assert (ds.shm_nattch, ds.shm_lpid, ds.shm_atime) == (2, p.pid, k.clock.time())
    child.write_memory(a, b"from child")
    assert p.read_memory(a, 10) == b"from child"
    k.clock.advance(5)
    child.exit(0)
    ds = p.shmctl(shmid, IPC_STAT)
    assert (ds.shm_nattch, ds.shm_lpid, ds.shm_dtime) == (1, child.pid, k.clock.time())
    assert child.mm is None
    with pytest.raises(ipcsim.ProcessGone):
        child.read_memory(a, 1)


def test_shmat_and_shmdt_update_times_and_pids(k, p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    created = k.clock.time()
    q = p.fork()
    k.clock.advance(10)
    a = q.shmat(shmid)
    ds = p.shmctl(shmid, IPC_STAT)
    assert (ds.shm_atime, ds.shm_dtime, ds.shm_ctime, ds.shm_lpid, ds.shm_cpid) == (
        created + 10, 0, created, q.pid, p.pid)
    k.clock.advance(10)
    q.shmdt(a)
    ds = p.shmctl(shmid, IPC_STAT)
    assert (ds.shm_atime, ds.shm_dtime, ds.shm_lpid) == (created + 10, created + 20, q.pid)


def test_ctime_changes_only_with_ipc_set(k, p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    created = k.clock.time()
    p.shmat(shmid)
    k.clock.advance(3)
    p.shmctl(shmid, SHM_LOCK)
    p.shmctl(shmid, SHM_UNLOCK)
    p.shmctl(shmid, IPC_RMID)
    ds = p.shmctl(shmid, IPC_STAT)
    assert ds.shm_ctime == created
    ds.shm_perm.mode = 0o640
    p.shmctl(shmid, IPC_SET, ds)
    ds = p.shmctl(shmid, IPC_STAT)
    assert ds.shm_ctime == created + 3 and ds.shm_perm.mode == 0o640 | SHM_DEST
    assert (ds.shm_perm.cuid, ds.shm_perm.cgid) == (0, 0)


def test_an_attachment_keeps_its_namespace_alive(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    shmid = a.shmget(0x10, PAGE, IPC_CREAT | 0o600)
    addr = a.shmat(shmid)
    a.write_memory(addr, b"still here")
    a.unshare(CLONE_NEWIPC)                         # a no longer belongs to ns
    assert ns.alive and ns in k.ipc_namespaces and ns.refs == 1
    assert a.read_memory(addr, 10) == b"still here"
    assert err(a.shmctl, shmid, IPC_STAT) == "EINVAL"   # ids are looked up in a's new ns
    b = a.fork()                                    # b's copy holds ns too
    a.shmdt(addr)
    assert ns.alive
    assert b.read_memory(addr, 10) == b"still here"
    b.exit(0)
    assert not ns.alive and ns not in k.ipc_namespaces
    assert ns.shm_tot == 0 and len(ns.shm_ids) == 0


def test_namespace_death_frees_its_segments(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    a.shmget(IPC_PRIVATE, PAGE, 0o600)
    a.shmget(0x20, 3 * PAGE, IPC_CREAT | 0o600)
    fd = k.init.open(f"/proc/{a.pid}/ns/ipc")
    a.exit(0)
    assert ns.alive and ns.shm_tot == 4             # orphans, kept by the handle
    q = k.init.fork()
    q.setns(fd, CLONE_NEWIPC)
    assert q.shmget(0x20, 0, 0) == 1
    q.exit(0)
    k.init.close(fd)
    assert not ns.alive and ns.shm_tot == 0 and len(ns.shm_ids) == 0


def test_a_namespace_dying_with_memory_attached_marks_it_removed(k):
    """shm_exit_ns() on an attached segment (which the references make impossible in
    practice): SHM_DEST and the key freed; the memory stays until the last detach."""
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    shmid = a.shmget(0x30, PAGE, IPC_CREAT | 0o600)
    addr = a.shmat(shmid)
    a.write_memory(addr, b"x")
    seg = ns.shm_ids.obtain_check(shmid)
    ns.destroy()
    assert seg.mode & SHM_DEST and seg.key == IPC_PRIVATE and not seg.deleted
    assert a.read_memory(addr, 1) == b"x"
    a.shmdt(addr)
    assert seg.deleted and ns.shm_tot == 0


def test_setns_keeps_the_creator_list_and_exit_uses_each_segments_namespace(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns_a = a.ipc_ns
    creator = a.fork()
    shmid = creator.shmget(IPC_PRIVATE, PAGE, 0o600)
    b = k.init.clone(CLONE_NEWIPC)
    fd = creator.open(f"/proc/{b.pid}/ns/ipc")
    creator.setns(fd, CLONE_NEWIPC)
    creator.close(fd)
    mine = creator.shmget(IPC_PRIVATE, PAGE, 0o600)     # in b's namespace
    a.write_file(FORCED, "1")                           # the creator is alive: kept
    assert a.shmctl(shmid, IPC_STAT).shm_nattch == 0
    creator.exit(0)                                     # destroyed in a's namespace
    assert err(a.shmctl, shmid, IPC_STAT) == "EINVAL" and ns_a.shm_tot == 0
    assert b.shmctl(mine, IPC_STAT).shm_cpid == creator.pid   # b's has rmid_forced 0


def test_unshare_orphans_or_destroys_the_callers_segments(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    keeper = a.fork()
    a.write_file(FORCED, "1")
    gone = a.shmget(IPC_PRIVATE, PAGE, 0o600)
    attached = a.shmget(IPC_PRIVATE, PAGE, 0o600)
    addr = a.shmat(attached)
    a.unshare(CLONE_NEWIPC)
    assert a.shm_clist == []
    assert err(keeper.shmctl, gone, IPC_STAT) == "EINVAL"
    assert keeper.shmctl(attached, IPC_STAT).shm_nattch == 1
    a.shmdt(addr)                                       # last detach, rmid_forced
    assert err(keeper.shmctl, attached, IPC_STAT) == "EINVAL" and ns.shm_tot == 0


def test_orphans_wait_for_the_sysctl(k):
    a = k.init.clone(CLONE_NEWIPC)
    c = a.fork()
    orphan = c.shmget(IPC_PRIVATE, PAGE, 0o600)
    c.exit(0)
    own = a.shmget(IPC_PRIVATE, PAGE, 0o600)
    a.write_file(FORCED, "0")                           # 0: nothing happens
    assert a.shmctl(orphan, IPC_STAT).shm_nattch == 0
    fd = a.open(FORCED, ipcsim.O_WRONLY)
    a.write(fd, b"1")
    assert err(a.shmctl, orphan, IPC_STAT) == "EINVAL"
    assert a.shmctl(own, IPC_STAT).shm_cpid == a.pid
    a.write_file(FORCED, "0")
    assert a.shmctl(own, IPC_STAT)                      # 0 brings nothing back, ends nothing


def test_the_creator_list_stays_small(p):
    for _ in range(1000):
        p.shmctl(p.shmget(IPC_PRIVATE, PAGE, 0o600), IPC_RMID)
    assert len(p.shm_clist) <= 64
    keep = [p.shmget(IPC_PRIVATE, PAGE, 0o600) for _ in range(100)]
    assert sorted(s.id for s in p.shm_clist if s.creator is p) == keep


# --- checks and errors ----------------------------------------------------------------------
def test_bad_python_input_changes_nothing(p):
    shmid = p.shmget(0x51, PAGE, IPC_CREAT | 0o600)
    p.write_file("/proc/sys/kernel/shm_next_id", "100")
    before = (p.read_file(PROC), p.read_file("/proc/sys/kernel/shm_next_id"))
    cases = [
        (TypeError, p.shmget, "0x51", PAGE, 0),
        (TypeError, p.shmget, 1, 1.5, 0),
        (TypeError, p.shmget, 1, PAGE, None),
        (OverflowError, p.shmget, 1, 1 << 64, IPC_CREAT),
        (OverflowError, p.shmget, 1 << 32, PAGE, IPC_CREAT),
        (TypeError, p.shmat, "0", None, 0),
        (TypeError, p.shmat, shmid, "0x1000", 0),
        (OverflowError, p.shmat, 1 << 31, None, 0),
        (OverflowError, p.shmat, shmid, 1 << 64, 0),
        (TypeError, p.shmdt, None),
        (TypeError, p.shmctl, shmid, "IPC_STAT"),
        (OverflowError, p.shmctl, shmid, 1 << 40),
        (TypeError, p.shmctl, shmid, IPC_SET, None),
        (TypeError, p.shmctl, shmid, IPC_SET, ipcsim.IpcPerm(mode=0o666)),
        (TypeError, p.shmctl, shmid, IPC_SET, ShmidDs(ipcsim.IpcPerm(uid="0"))),
        (OverflowError, p.shmctl, shmid, IPC_SET, ShmidDs(ipcsim.IpcPerm(gid=1 << 32))),
        (TypeError, p.shmctl, shmid, IPC_SET, ShmidDs(ipcsim.IpcPerm(mode=None))),
    ]
    for exc, fn, *args in cases:
        with pytest.raises(exc):
            fn(*args)
    assert (p.read_file(PROC), p.read_file("/proc/sys/kernel/shm_next_id")) == before
    assert err(p.shmget, IPC_PRIVATE, -1, 0o600) == "EINVAL"      # size_t: 2**64 - 1
    assert err(p.shmat, shmid, -PAGE, 0) == "EINVAL"               # wraps past the end



def test_failed_calls_change_nothing(k, p):
    shmid = p.shmget(0x51, PAGE, IPC_CREAT | 0o600)
    a = p.shmat(shmid)
    nob = as_nobody(p)
    k.clock.advance(7)
    before = p.read_file(PROC)
    for fn, *args in [(nob.shmat, shmid, None, 0), (p.shmat, shmid, a, 0),
                      (p.shmat, shmid, a + 1, 0), (p.shmat, shmid, None, SHM_REMAP),
                      (p.shmget, 0x51, PAGE + 1, 0), (nob.shmget, 0x51, 0, 0o400),
                      (p.shmctl, shmid, IPC_SET, ShmidDs(ipcsim.IpcPerm(uid=0xFFFFFFFF))),
                      (nob.shmctl, shmid, IPC_RMID), (nob.shmctl, shmid, SHM_LOCK),
                      (p.shmdt, a + PAGE)]:
        with pytest.raises(OSError):
            fn(*args)
    assert p.read_file(PROC) == before


def test_the_lock_charge_follows_the_locker(p):
    big = p.shmget(IPC_PRIVATE, 100 << 20, 0o600)
    small = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    p.shmctl(big, SHM_LOCK)                      # uid 0 now has 100 MiB locked
    c = p.fork()
    c.drop_capability(CAP_IPC_LOCK)
    assert err(c.shmctl, small, SHM_LOCK) == "ENOMEM"
    c.shmctl(big, SHM_UNLOCK)                    # the charge goes back to its owner
    c.shmctl(small, SHM_LOCK)
    assert c.shmctl(small, IPC_STAT).shm_perm.mode == 0o600 | SHM_LOCKED


def test_lock_needs_ownership_not_permission(p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o000)
    nob = as_nobody(p)
    p.shmctl(shmid, IPC_SET, ShmidDs(ipcsim.IpcPerm(uid=65534, gid=0, mode=0)))
    nob.shmctl(shmid, SHM_LOCK)                  # uid matches: no rwx needed
    assert err(nob.shmctl, shmid, IPC_STAT) == "EACCES"
    assert nob.shmctl(shmid, SHM_STAT_ANY)[1].shm_perm.mode == SHM_LOCKED


def test_cap_ipc_owner_and_cap_sys_admin(p):
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o000)
    c = p.fork()
    c.setresuid(1000, 1000, 0)                   # keeps the permitted set
    c.capset(1 << CAP_IPC_OWNER, c.capget()[1])
    assert isinstance(c.shmat(shmid), int)
    assert c.shmctl(shmid, IPC_STAT).shm_nattch == 1
    assert err(c.shmctl, shmid, IPC_RMID) == "EPERM"
    c.capset(1 << CAP_SYS_ADMIN, c.capget()[1])
    assert err(c.shmctl, shmid, IPC_STAT) == "EACCES"
    c.shmctl(shmid, IPC_RMID)


def test_shm_stat_returns_the_full_id(p):
    for _ in range(64):
        p.shmctl(p.shmget(IPC_PRIVATE, PAGE, 0o600), IPC_RMID)
    shmid = p.shmget(IPC_PRIVATE, PAGE, 0o600)
    assert shmid == 32768
    assert p.shmctl(0, SHM_STAT)[0] == 32768
    assert err(p.shmctl, 0, IPC_STAT) == "EINVAL"
    assert p.shmctl(0, IPC_INFO)[0] == 0 and p.shmctl(0, SHM_INFO)[0] == 0
    assert p.shmctl(shmid, IPC_STAT).shm_perm.seq == 1


def test_proc_text_exactly(k, p):
    a = p.shmget(0x51, 5000, IPC_CREAT | 0o640)
    addr = p.shmat(a)
    p.write_memory(addr + 4000, b"x" * 200)      # two pages touched
    k.clock.advance(2)
    q = p.fork()                                 # an attach: atime and lpid
    q.shmctl(a, IPC_RMID)
    b = p.shmget(-1, 1 << 40, IPC_CREAT | SHM_NORESERVE | 0o666)
    p.shmctl(b, IPC_SET, ShmidDs(ipcsim.IpcPerm(uid=1000, gid=100000, mode=0o444)))
    p.shmctl(b, SHM_LOCK)
    t = k.clock.time()
    assert p.read_file(PROC) == HEADER + (
        f"         0          0  1640                  5000     2     2      2     0     0"
        f"     0     0 {t}          0 {t - 2}                  8192                     0\n"
        f"        -1          1  2444         1099511627776     2     0      0  1000 100000"
        f"     0     0          0          0 {t}                     0                     0\n")
    assert len(p.read_file(PROC).splitlines()[1]) == 169


def test_programs_share_memory_under_the_scheduler():
    k = ipcsim.Kernel(seed=3, trace=True)
    parent = k.init.clone(CLONE_NEWIPC)
    shmid = parent.shmget(0x99, PAGE, IPC_CREAT | 0o600)

    def writer(me):
        addr = me.shmat(shmid)
        for i in range(5):
            me.write_memory(addr, bytes([i + 1]))
            me.sleep(1)
        me.shmdt(addr)

    def reader(me):
        addr = me.shmat(shmid, None, SHM_RDONLY)
        seen = []
        while len(seen) < 5:
            value = me.read_memory(addr, 1)[0]
            if value and (not seen or seen[-1] != value):
                seen.append(value)
            me.sleep(0.25)
        return seen

    parent.fork(target=writer)
    r = parent.fork(target=reader)
    k.run()
    assert r.result == [1, 2, 3, 4, 5]
    assert parent.shmctl(shmid, IPC_STAT).shm_nattch == 0
    names = {e.name for e in k.trace}
    assert {"shmget", "shmat", "write_memory", "read_memory", "shmdt"} <= names
    k.close()


# --- the conformance catalogue ----------------------------------------------------------------
SHM_CALLS = ("shmget", "shmat", "shmdt", "shmctl", "write_memory", "read_memory")


def test_catalogue_waits_for_the_backend():
    from ipcsim.conformance import backend
    from ipcsim.conformance.catalogue import shm as catalogue
    assert catalogue.PENDING
    if "shmget" not in backend.CALLS:
        assert catalogue.SCENARIOS == []


@pytest.mark.parametrize("name", [name for name, _ in
                                  __import__("ipcsim.conformance.catalogue.shm",
                                             fromlist=["PENDING"]).PENDING])
def test_catalogue_scenario_plays_on_ipcsim_as_its_comments_say(monkeypatch, name):
    """Each pending scenario parses once the calls exist, plays on ipcsim without a skipped
    step, and every step fails with the errno its comment names (others succeed)."""
    import re

    from ipcsim.conformance import backend, harness
    from ipcsim.conformance import scenario as scenario_form
    from ipcsim.conformance.catalogue import shm as catalogue
    from ipcsim.conformance.sim import SimBackend

    for call in SHM_CALLS:
        monkeypatch.setitem(backend.CALLS, call, ())
    text = dict(catalogue.PENDING)[name]
    play = harness.run_on(scenario_form.parse(text, f"shm/{name}", "shm"), SimBackend)
    lines = text.splitlines()
    for record in play.records:
        comment = lines[record.step.lineno - 1].partition("#")[2].strip()
        want = re.match(r"(E[A-Z]+)\b", comment)
        expected = ("err", want.group(1)) if want else "ok"
        got = record.outcome if want else record.outcome[0]
        assert got == expected, f"{name} line {record.step.lineno}: {record.show()}"


def test_a_failed_clone_has_copied_and_dropped_the_attachments(k):
    """copy_process copies the address space before the namespace checks: a clone that
    fails there leaves an attach and a detach by the caller on each segment."""
    p = k.init.fork()
    shmid = p.shmget(ipcsim.IPC_PRIVATE, 4096, 0o600)
    p.shmat(shmid)
    k.clock.advance(7)
    with pytest.raises(OSError) as e:
        p.clone(ipcsim.CLONE_NEWIPC | ipcsim.CLONE_SYSVSEM)
    assert e.value.errno == EINVAL
    ds = p.shmctl(shmid, ipcsim.IPC_STAT)
    assert (ds.shm_nattch, ds.shm_atime, ds.shm_dtime, ds.shm_lpid) == \
        (1, k.clock.time(), k.clock.time(), p.pid)
