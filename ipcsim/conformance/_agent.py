"""The agent program of the real-kernel backend (:mod:`ipcsim.conformance.real`).

This file is not imported by the harness: ``real.py`` reads its text and runs it as
``python -I -S -c SOURCE init FD MNTNS UID`` under ``unshare --ipc --pid --fork --mount-proc``
(MNTNS: the inode of the harness's mount namespace; UID: the user process "a" runs as, 0 for
root). It imports only the standard library
(never ipcsim).

Two roles:

* **init** (pid 1 of the new pid namespace, in an IPC namespace of its own): makes the
  mount namespace that ``--mount-proc`` gave it private (MS_REC|MS_PRIVATE on "/") and
  mounts a fresh tmpfs on /run in it, the scratch area of scenario mounts (see
  :func:`call_mount`); receives the channel of process "a" over the bootstrap socket, says
  hello (so the harness learns its host pid), forks "a", then waits on the bootstrap
  socket. SIGCHLD is ignored, so the
  orphans it adopts are reaped at once, as ipcsim's init does. When the harness closes
  the bootstrap socket (or dies), init exits and the kernel kills every process of the pid
  namespace.
* **agent** (every labelled process): loops reading one command from its channel, making
  the call, and writing one reply. fork and clone make a child agent with a channel of its
  own, whose harness end travels back with the reply (SCM_RIGHTS).

Messages are SOCK_SEQPACKET datagrams: one byte, ``+`` (more follows) or ``.`` (last),
then a piece of UTF-8 JSON. Command: ``{"m": method, "a": [args]}``. Messages from the
agent: ``{"k": "hello", "pid", "caps", "err"}``, ``{"k": "r", "s": "ok"|"err"|"exc"|
"refused", "v": value, "t": CLOCK_MONOTONIC ns after the call, "h": [signals handled]}``
and ``{"k": "sig", "h": [...]}`` (sent from the idle loop when a recording handler ran).
Bytes travel as ``{"b": hex}``, tuples as ``{"t": [...]}``, lists as lists. Descriptors
ride on the last piece; ``"fdk"`` names them in order: ``"chan"`` (the harness end of a new
child's channel) or ``"witness"`` (see :func:`_witness`; ``"ns"`` is then the inode of the
agent's new IPC namespace).

The agent keeps its own descriptors (channel, stderr, signal wake-up pipe) at the top of
the descriptor table and closes 0, 1 and 2, so a scenario's open() starts at 0 as in
ipcsim; calls naming one of these descriptors fail with EBADF.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import resource
import select
import signal
import socket
import stat
import struct
import sys
import time

TYPE_CHECKING = False    # (typing is not imported at run time: the agent starts fast)
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Callable, Iterable, NoReturn, Sequence

C = ctypes
LIBC = C.CDLL(None, use_errno=True)
PYLIBC = C.PyDLL(None, use_errno=True)      # a call that keeps the GIL (the raw clone)
PYAPI = C.pythonapi

SIGCHLD = 17
CSIGNAL = 0xFF
CLONE_NEWIPC = 0x08000000
SYS_CLONE = 56
SYS_UNSHARE = 272
PR_SET_DUMPABLE = 4
O_ACCMODE = 0o3
O_CREAT = 0o100
O_TRUNC = 0o1000
O_TMPFILE_BIT = 0o20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 0x2, 0x4, 0x8, 0x20
MS_BIND, MS_MOVE, MS_REC = 0x1000, 0x2000, 0x4000
MS_PRIVATE = 1 << 18
MS_PROPAGATION = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20)   # UNBINDABLE..SHARED
TMPFS_MAGIC, RAMFS_MAGIC = 0x01021994, 0x858458F6
SCRATCH = "/run"        # the private tmpfs that scenario mounts go under
# File system types a scenario may mount anew (under SCRATCH): none reaches the host.
MOUNTABLE = frozenset({"tmpfs", "ramfs", "mqueue"})
NOFILE = 1024          # RLIMIT_NOFILE's usual soft limit (ipcsim's NR_OPEN_DEFAULT)
CHUNK = 32768
MEMLOCK = 8 << 20      # ipcsim's RLIMIT_MEMLOCK (8 MiB, Linux's default since 5.16)


def _fn(name: str, restype: Any, *argtypes: Any, lib: C.CDLL = LIBC) -> Any:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


I, U, L, SZ = C.c_int, C.c_uint, C.c_long, C.c_size_t
_syscall = _fn("syscall", L, L, L, L, L, L, L)
_pysyscall = _fn("syscall", L, L, L, L, L, L, L, lib=PYLIBC)
_pause = _fn("pause", I)
_waitpid = _fn("waitpid", I, I, C.POINTER(I), I)
_kill = _fn("kill", I, I, I)
_setpgid = _fn("setpgid", I, I, I)
_getpgid = _fn("getpgid", I, I)
_setns = _fn("setns", I, I, I)
_open = _fn("open", I, C.c_char_p, I, U)
_close = _fn("close", I, I)
_dup = _fn("dup", I, I)
_read = _fn("read", C.c_ssize_t, I, C.c_void_p, SZ)
_write = _fn("write", C.c_ssize_t, I, C.c_char_p, SZ)
_lseek = _fn("lseek", L, I, L, I)
_setuid = _fn("setuid", I, U)
_setgid = _fn("setgid", I, U)
_seteuid = _fn("seteuid", I, U)
_setegid = _fn("setegid", I, U)
_setreuid = _fn("setreuid", I, U, U)
_setresuid = _fn("setresuid", I, U, U, U)
_setresgid = _fn("setresgid", I, U, U, U)
_setgroups = _fn("setgroups", I, SZ, C.POINTER(U))
_prctl = _fn("prctl", I, I, C.c_ulong, C.c_ulong, C.c_ulong, C.c_ulong)
_umask = _fn("umask", U, U)
_nanosleep = _fn("nanosleep", I, C.c_void_p, C.c_void_p)
_mount = _fn("mount", I, C.c_char_p, C.c_char_p, C.c_char_p, C.c_ulong, C.c_void_p)
_umount2 = _fn("umount2", I, C.c_char_p, I)
_statfs = _fn("statfs", I, C.c_char_p, C.c_void_p)
_sys_capget = LIBC.capget
_sys_capset = LIBC.capset
_check_signals = PYAPI.PyErr_CheckSignals


class _CapHeader(C.Structure):
    _fields_ = [("version", C.c_uint32), ("pid", C.c_int)]


class _CapData(C.Structure):
    _fields_ = [("effective", C.c_uint32), ("permitted", C.c_uint32),
                ("inheritable", C.c_uint32)]


class _Timespec(C.Structure):
    _fields_ = [("tv_sec", C.c_long), ("tv_nsec", C.c_long)]


class Refused(Exception):
    """A call the agent will not make on a real machine (it could harm the host)."""


def _fail() -> NoReturn:
    """Raise the OSError of the libc call that just failed."""
    err = C.get_errno()
    raise OSError(err, os.strerror(err))


def _ok(res: int) -> int:
    if res == -1:
        _fail()
    return res


def _none(res: int) -> None:
    if res == -1:
        _fail()


# --- state of this agent ----------------------------------------------------------------
chan: socket.socket = None  # type: ignore[assignment]  # the channel to the harness (set first)
handled: list[Any] = []  # signals the recording handler ran for, in order
sent_handled = 0         # len(handled) last reported to the harness
reported_ns: int | None = None   # the IPC namespace inode last reported to the harness
internal: set[int] = set()       # this agent's own descriptors
err_fd = -1
wake_r = wake_w = -1
high_base = NOFILE - 16
cap_last = 40
scratch_err: str | None = "init did not set up the scratch tmpfs"   # None once /run is ours


def _record(signum: int, frame: FrameType | None) -> None:
    handled.append(signum)


def _high(fd: int) -> int:
    """Move a descriptor of the agent's own to the top of the table."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, high_base)
    os.close(fd)
    return new


def _new_wake_pipe() -> None:
    global wake_r, wake_w
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    wake_r, wake_w = _high(r), _high(w)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)


# --- encoding ---------------------------------------------------------------------------
def enc(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return {"b": bytes(v).hex()}
    if isinstance(v, tuple):
        return {"t": [enc(x) for x in v]}
    if isinstance(v, list):
        return [enc(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return {"s": sorted(enc(x) for x in v)}
    if isinstance(v, dict):
        return {"d": {k: enc(x) for k, x in v.items()}}
    return v


def dec(v: Any) -> Any:
    if isinstance(v, dict):
        if "d" in v:
            return {k: dec(x) for k, x in v["d"].items()}
        if "b" in v:
            return bytes.fromhex(v["b"])
        if "s" in v:
            return {dec(x) for x in v["s"]}
        return tuple(dec(x) for x in v["t"])
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v


def send(obj: Any, fds: Sequence[int] = ()) -> None:
    data = json.dumps(obj, separators=(",", ":")).encode()
    pieces = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                struct.pack(f"{len(fds)}i", *fds))] if last and fds else []
        chan.sendmsg([(b"." if last else b"+") + piece], anc)


def _report_signals() -> None:
    global sent_handled
    if len(handled) != sent_handled:
        sent_handled = len(handled)
        send({"k": "sig", "h": handled})


def receive() -> Any:
    """The next command, or None at EOF. While idle, report handled signals."""
    poller = select.poll()
    poller.register(chan.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    parts = []
    while True:
        _check_signals()
        _report_signals()
        events = dict(poller.poll())
        if wake_r in events:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        if chan.fileno() not in events:
            continue
        data = chan.recv(CHUNK + 16)
        if not data:
            return None
        parts.append(data[1:])
        if data[:1] == b".":
            return json.loads(b"".join(parts))


# --- path safety ------------------------------------------------------------------------
_IPC_SYSCTLS = {"msgmax", "msgmnb", "msgmni", "sem", "shmmax", "shmall", "shmmni",
                "shm_rmid_forced", "auto_msgmni", "msg_next_id", "sem_next_id",
                "shm_next_id"}
_PID_NS = re.compile(r"^/proc/(\d+|self|thread-self)/(task/\d+/)?ns/")
# A process's user namespace maps and setgroups switch: only the scenario's processes have
# /proc entries here (a procfs of the scenario's pid namespace), and the maps of the initial
# user namespace are written once already (any write is EPERM).
_PID_IDMAP = re.compile(r"^/proc/(\d+|self|thread-self)/(task/\d+/)?"
                        r"(uid_map|gid_map|setgroups)$")


def _real(path: object) -> str:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be str, not {type(path).__name__}")
    if "\0" in path:
        raise ValueError("embedded null byte")
    return os.path.realpath(path)


def _in_scratch(real: str) -> bool:
    """``real`` (a resolved path) lies strictly inside the scratch tmpfs on /run, which is
    private to the scenario's mount namespace: nothing under it is the host's."""
    return scratch_err is None and real.startswith(SCRATCH + "/")


def _may_write(path: object) -> None:
    """Opening ``path`` for writing cannot change the host: an IPC-namespace sysctl, a
    /proc/sysvipc file, a namespace file, a path in the scratch tmpfs on /run (scenario
    mounts), or (without CAP_SYS_RESOURCE, or outside the initial user namespace)
    /proc/sys/user."""
    real = _real(path)
    if _in_scratch(real):
        return
    parts = real.split("/")
    if real.startswith("/proc/sys/kernel/") and len(parts) == 5 and parts[4] in _IPC_SYSCTLS:
        return
    if real.startswith("/proc/sys/fs/mqueue/") or real.startswith("/proc/sysvipc/"):
        return
    if _PID_NS.match(real) or _PID_IDMAP.match(real):
        return
    if real.startswith("/proc/sys/user/"):
        try:
            init_userns = os.readlink("/proc/self/ns/user") == "user:[4026531837]"
        except OSError:
            init_userns = False
        if not (init_userns and capget()[0] >> 24 & 1):
            return
    raise Refused(f"writing {path!r} ({real}) could change the host")


def _may_read(path: object) -> None:
    real = _real(path)
    if real in ("/proc/kmsg",):
        raise Refused(f"reading {path!r} would consume the host's kernel log")
    try:
        st = os.stat(real)
    except OSError:
        return
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        if real not in ("/dev/null", "/dev/zero", "/dev/full"):
            raise Refused(f"opening the device {path!r} could have effects on the host")


def _check_fd(fd: int) -> int:
    if fd in internal:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    return fd


def _path_bytes(path: str | bytes) -> bytes:
    return os.fsencode(path)


# --- the calls --------------------------------------------------------------------------
def capget() -> tuple[int, ...]:
    hdr = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _ok(_sys_capget(C.byref(hdr), data))
    return tuple(getattr(data[0], f) | getattr(data[1], f) << 32
                 for f in ("effective", "permitted", "inheritable"))


def _capset(eff: int, perm: int, inh: int) -> None:
    hdr = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    for i in range(2):
        data[i].effective = (eff >> (32 * i)) & 0xFFFFFFFF
        data[i].permitted = (perm >> (32 * i)) & 0xFFFFFFFF
        data[i].inheritable = (inh >> (32 * i)) & 0xFFFFFFFF
    _ok(_sys_capset(C.byref(hdr), data))


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what} must be an int, not {type(v).__name__}")
    return v


def call_fork(flags: int | None = None) -> tuple[int, int]:
    """fork(), or the raw clone syscall with ``flags``: a child agent on a new channel."""
    hs, cs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    hs.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    hfd, cfd = _high(hs.detach()), _high(cs.detach())
    internal.update((hfd, cfd))
    try:
        if flags is None:
            pid = os.fork()
        else:
            if flags & CSIGNAL == 0:
                flags |= SIGCHLD
            PYAPI.PyOS_BeforeFork()
            pid = _pysyscall(SYS_CLONE, flags, 0, 0, 0, 0)
            err = C.get_errno()
            if pid == 0:
                PYAPI.PyOS_AfterFork_Child()
            else:
                PYAPI.PyOS_AfterFork_Parent()
            if pid == -1:
                raise OSError(err, os.strerror(err))
    except BaseException:
        internal.difference_update((hfd, cfd))
        os.close(hfd)
        os.close(cfd)
        raise
    if pid == 0:
        try:
            _become_child(cfd, hfd)      # never returns
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(1)
    internal.discard(cfd)
    os.close(cfd)
    return pid, hfd


def _become_child(cfd: int, hfd: int) -> NoReturn:
    global chan, handled, sent_handled
    old = chan
    chan = socket.socket(fileno=cfd)
    old.close()
    os.close(hfd)
    os.close(wake_r)
    os.close(wake_w)
    _new_wake_pipe()
    handled = []
    sent_handled = 0
    internal.clear()
    internal.update((cfd, err_fd, wake_r, wake_w))
    hello()
    serve()
    os._exit(0)


def call_wait(pid: int = -1, options: int = 0) -> tuple[int, int]:
    status = C.c_int(0)
    got = _waitpid(pid, C.byref(status), options)
    if got == -1:
        _fail()
    return (got, status.value)


class _Sigaction(C.Structure):
    _fields_ = [("sa_handler", C.c_void_p), ("sa_mask", C.c_ulong * 16),
                ("sa_flags", C.c_int), ("sa_restorer", C.c_void_p)]


SA_SIGINFO = 4
_SIGINFO_HANDLER = C.CFUNCTYPE(None, C.c_int, C.c_void_p, C.c_void_p)
_sigaction = _fn("sigaction", I, I, C.c_void_p, C.c_void_p)


def _record_info(signum: int, info: int, context: int) -> None:
    """The "siginfo" handler (SA_SIGINFO): records (si_signo, si_code, si_pid, si_uid,
    si_value) and wakes the idle loop, which reports it. It runs when the agent sleeps in a
    system call (its idle poll, or a blocked call), where the GIL is free."""
    signo, _, code, pid, uid, value = struct.unpack("iii4xiiq", C.string_at(info, 32))
    handled.append([signo, code, pid, uid, value])
    try:
        os.write(wake_w, b"\0")
    except OSError:
        pass


_record_info_c = _SIGINFO_HANDLER(_record_info)


def _old_disposition(sig: int) -> str | None:
    old = _Sigaction()
    if _sigaction(sig, None, C.byref(old)) == -1:
        return None
    if not old.sa_handler:
        return "default"
    return "ignore" if old.sa_handler == 1 else "handler"


def call_signal(sig: int, disposition: str) -> str | None:
    if disposition == "siginfo":
        sig = _int(sig, "sig")
        if sig in (signal.SIGKILL, signal.SIGSTOP) or not 0 < sig < 65:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        before = _old_disposition(sig)
        act = _Sigaction()
        act.sa_handler = C.cast(_record_info_c, C.c_void_p).value
        act.sa_flags = SA_SIGINFO
        _none(_sigaction(sig, C.byref(act), None))
        return before
    before = _old_disposition(sig) if isinstance(sig, int) and 0 < sig < 65 else None
    new: signal.Handlers | Callable[[int, FrameType | None], None]
    if disposition == "handler":
        new = _record
    elif disposition == "ignore":
        new = signal.SIG_IGN
    elif disposition == "default":
        new = signal.SIG_DFL
    else:
        raise ValueError(f"disposition must be handler, ignore or default: {disposition!r}")
    _int(sig, "sig")
    try:
        old = signal.signal(sig, new)
    except ValueError:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL)) from None
    if before is not None:
        return before
    if old is signal.SIG_IGN:
        return "ignore"
    if old is signal.SIG_DFL or old is None:
        return "default"
    return "handler"


def call_pause() -> NoReturn:
    _pause()
    _fail()


def call_open(path: str, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
    _int(flags, "flags")
    if flags & O_ACCMODE != os.O_RDONLY or flags & (O_CREAT | O_TRUNC | O_TMPFILE_BIT):
        _may_write(path)
    else:
        _may_read(path)
    return _ok(_open(_path_bytes(path), flags, _int(mode, "mode")))


def call_read(fd: int, size: int = 65536) -> bytes:
    """read(2); a negative size goes to the kernel as the huge size_t it is."""
    _check_fd(_int(fd, "fd"))
    _int(size, "size")
    count = min(size, 1 << 24) if size >= 0 else size & 0xFFFFFFFFFFFFFFFF
    buf = C.create_string_buffer(max(1, min(size, 1 << 24)))
    n = _read(fd, buf, count)
    if n == -1:
        _fail()
    return buf.raw[:n]


def call_write(fd: int, data: str | bytes) -> int:
    _check_fd(_int(fd, "fd"))
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be str or bytes-like, not {type(data).__name__}")
    return _ok(_write(fd, bytes(data), len(data)))


def call_read_file(path: str) -> str:
    _may_read(path)
    fd = _ok(_open(_path_bytes(path), os.O_RDONLY, 0))
    try:
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 131072)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > 1 << 24:
                raise Refused(f"{path!r} is longer than 16 MiB")
        return b"".join(chunks).decode()
    finally:
        os.close(fd)


def call_write_file(path: str, text: str | bytes) -> int:
    if isinstance(text, str):
        text = text.encode()
    if not isinstance(text, (bytes, bytearray)):
        raise TypeError(f"text must be str or bytes-like, not {type(text).__name__}")
    _may_write(path)
    fd = _ok(_open(_path_bytes(path), os.O_WRONLY, 0))
    try:
        return _ok(_write(fd, bytes(text), len(text)))
    finally:
        os.close(fd)


def call_unlink(path: str) -> None:
    real = _real(path)
    if real != "/proc" and not real.startswith("/proc/") and not _in_scratch(real) \
            and os.path.lexists(real):
        raise Refused(f"unlinking {path!r} would change the host")
    os.unlink(path)


def _cstr(v: object, what: str, none: bool = True) -> bytes | None:
    if v is None and none:
        return None
    if isinstance(v, str):
        v = os.fsencode(v)
    if not isinstance(v, (bytes, bytearray)):
        raise TypeError(f"{what} must be str{' or None' if none else ''}, "
                        f"not {type(v).__name__}")
    if b"\0" in v:
        raise ValueError(f"{what}: embedded null byte")
    return bytes(v)


def _resolved(path: str) -> str:
    """``path`` with its symbolic links resolved; where a link cannot be read (a /proc/PID/ns
    link of a process the caller may not trace: EACCES), the path as written, made absolute
    and normalized (the kernel's lookup of it then fails in its own way)."""
    try:
        return _real(path)
    except OSError:
        return os.path.abspath(os.fsdecode(path))


def _scratch_target(path: str, what: str) -> str:
    """The resolved ``path``; Refused unless it lies strictly inside the scratch tmpfs."""
    real = _resolved(path)
    if scratch_err is not None:
        raise Refused(f"{what} {path!r}: no scratch tmpfs on {SCRATCH} ({scratch_err})")
    if not _in_scratch(real):
        raise Refused(f"{what} {path!r} ({real}): scenario mount targets must be under "
                      f"{SCRATCH}/ (a private tmpfs)")
    return real


def _on_scratch_fs(directory: str) -> bool:
    """``directory`` is on a tmpfs or ramfs (so creating in it cannot add a message queue
    to an mqueue mount or reach anything else)."""
    buf = C.create_string_buffer(256)
    if _statfs(os.fsencode(directory), buf) == -1:
        return False
    return C.c_long.from_buffer(buf).value in (TMPFS_MAGIC, RAMFS_MAGIC)


def _make_target(real: str, directory: bool) -> None:
    """Create a missing mount target under the scratch tmpfs (its missing parents as
    directories), as the caller: an empty file, or a directory. New directories are
    world-writable and sticky, as /run itself, so that a target can be made whatever the
    caller's ids (then mount(2) itself decides: EPERM without CAP_SYS_ADMIN). A target
    that cannot be made is left missing: mount(2) then fails with ENOENT."""
    if os.path.lexists(real):
        return
    parent = os.path.dirname(real)
    try:
        if parent != SCRATCH:
            _make_target(parent, True)
        if not _on_scratch_fs(parent):
            return
        if directory:
            os.mkdir(real, 0o700)
            os.chmod(real, 0o1777)
        else:
            os.close(os.open(real, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                             0o644))
    except OSError:
        pass


def call_mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0,
               data: str | None = None) -> None:
    """mount(2), for targets strictly under /run only (the scratch tmpfs of the scenario's
    mount namespace). As ipcsim has no disk (any path can be a target), a missing target is
    created first: for a bind (or move) an empty file if the source is not a directory (a
    namespace file needs a file target), else a directory; for a new mount a directory. A
    remount or a propagation change creates nothing. A bind or move source must be a
    namespace file (/proc/PID/ns/...) or lie under /run; a new mount must be of a file
    system type in MOUNTABLE (or None: EINVAL from the kernel)."""
    flags = _int(flags, "flags") & 0xFFFFFFFFFFFFFFFF
    csource = _cstr(source, "source")
    ctarget = _cstr(target, "target", none=False)
    cfstype = _cstr(fstype, "fstype")
    cdata = _cstr(data, "data")
    real = _scratch_target(target, "mounting on")
    if flags & (MS_REMOUNT | MS_PROPAGATION):
        pass                            # changes an existing mount: only the target counts
    elif flags & (MS_BIND | MS_MOVE):
        src = _resolved(source) if source is not None else None
        if src is not None and not (_PID_NS.match(src) or _in_scratch(src)):
            raise Refused(f"mounting {source!r} ({src}): a bind or move source must be a "
                          f"namespace file (/proc/PID/ns/...) or lie under {SCRATCH}/")
        if src is not None:
            _make_target(real, os.path.isdir(src))
    else:
        if fstype is not None and fstype not in MOUNTABLE:
            raise Refused(f"mounting a {fstype!r} file system could reach the host; "
                          f"scenarios may mount {sorted(MOUNTABLE)}")
        _make_target(real, True)
    _none(_mount(csource, ctarget, cfstype, flags, cdata))


def call_umount(target: str, flags: int = 0) -> None:
    """umount2(2), for targets strictly under /run only (so the scratch tmpfs itself, and
    every mount of the host's, stays)."""
    flags = _int(flags, "flags")
    ctarget = _cstr(target, "target", none=False)
    _scratch_target(target, "unmounting")
    _none(_umount2(ctarget, flags))


NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE, NS_GET_OWNER_UID = 0xB701, 0xB702, 0xB703, 0xB704
_ioctl = _fn("ioctl", I, I, C.c_ulong, C.c_void_p)


def call_ioctl(fd: int, request: int) -> int:
    """ioctl(2) with one of the namespace requests (fs/nsfs.c), which change nothing:
    NS_GET_USERNS and NS_GET_PARENT return a new descriptor, NS_GET_NSTYPE the kind,
    NS_GET_OWNER_UID the uid it writes. Any other request is refused."""
    fd, request = _check_fd(_int(fd, "fd")), _int(request, "request")
    if request not in (NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE, NS_GET_OWNER_UID):
        raise Refused(f"ioctl request {request:#x}: only NS_GET_USERNS, NS_GET_PARENT, "
                      f"NS_GET_NSTYPE and NS_GET_OWNER_UID are made for real")
    if request == NS_GET_OWNER_UID:
        uid = U(0)
        _ok(_ioctl(fd, request, C.addressof(uid)))
        return uid.value
    return _ok(_ioctl(fd, request, None))


def call_setgroups(groups: Iterable[int]) -> None:
    groups = list(groups)
    arr = (U * max(1, len(groups)))(*groups)
    _ok(_setgroups(len(groups), arr))


def call_drop_capability(cap: int) -> None:
    _int(cap, "cap")
    if not 0 <= cap <= cap_last:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    eff, perm, inh = capget()
    bit = 1 << cap
    _capset(eff & ~bit, perm & ~bit, inh & ~bit)


def call_set_dumpable(dumpable: int) -> None:
    _ok(_prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0))


def call_sleep(seconds: float) -> None:
    """nanosleep(2): EINTR when a handled signal arrives."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    ns = round(seconds * 1_000_000_000)
    ts = _Timespec(ns // 1_000_000_000, ns % 1_000_000_000)
    _none(_nanosleep(C.byref(ts), None))


def _sigset(sigs: Iterable[int]) -> Any:
    mask = C.create_string_buffer(128)
    LIBC.sigemptyset(mask)
    for sig in sigs:
        if LIBC.sigaddset(mask, _int(sig, "signal")) == -1:
            _fail()
    return mask


def call_sigprocmask(how: int, sigs: Iterable[int] | None = None) -> set[int]:
    """sigprocmask(2) in ipcsim's form: the old mask as a set."""
    if sigs is None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    else:
        try:
            old = signal.pthread_sigmask(_int(how, "how"), [_int(x, "signal") for x in sigs])
        except ValueError:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL)) from None
    return {int(x) for x in old}


def call_sigsuspend(sigs: Iterable[int]) -> NoReturn:
    """sigsuspend(2): EINTR once a handler ran."""
    LIBC.sigsuspend(_sigset(sigs))
    _fail()


def call_unshare(flags: int) -> None:
    _ok(_syscall(SYS_UNSHARE, _int(flags, "flags"), 0, 0, 0, 0))


# --- System V message queues -------------------------------------------------------------
_msgget = _fn("msgget", I, I, I)
_msgsnd = _fn("msgsnd", I, I, C.c_void_p, SZ, I)
_msgrcv = _fn("msgrcv", C.c_ssize_t, I, C.c_void_p, SZ, L, I)
_msgctl = _fn("msgctl", I, I, I, C.c_void_p)
IPC_SET_CMD, IPC_STAT_CMD, IPC_INFO_CMD = 1, 2, 3
MSG_STAT_CMD, MSG_INFO_CMD, MSG_STAT_ANY_CMD = 11, 12, 13
_PERM = struct.Struct("=iIIIIIH6x16x")              # ipc64_perm: 48 bytes on x86-64
_MSQID_DS = struct.Struct("=48sQQQQQQii16x")         # msqid64_ds: 120 bytes
_MSGINFO = struct.Struct("=iiiiiiiH2x")
_PERM_FIELDS = ("key", "uid", "gid", "cuid", "cgid", "mode", "seq")
_MSQID_FIELDS = ("msg_stime", "msg_rtime", "msg_ctime", "msg_cbytes", "msg_qnum",
                 "msg_qbytes", "msg_lspid", "msg_lrpid")
_MSGINFO_FIELDS = ("msgpool", "msgmap", "msgmax", "msgmnb", "msgmni", "msgssz", "msgtql",
                   "msgseg")


def _perm(raw: bytes) -> dict[str, int]:
    return dict(zip(_PERM_FIELDS, _PERM.unpack(raw)))


def _key(key: int) -> int:
    key = _int(key, "key")
    return key - (1 << 32) if key >= 1 << 31 else key


def call_msgget(key: int, msgflg: int = 0) -> int:
    return _ok(_msgget(_key(key), _int(msgflg, "msgflg") & 0xFFFFFFFF))


def call_msgsnd(msqid: int, mtype: int, data: str | bytes, msgflg: int = 0) -> None:
    data = data.encode() if isinstance(data, str) else bytes(data)
    buf = C.create_string_buffer(struct.pack("=q", mtype) + data, 8 + len(data))
    _none(_msgsnd(msqid, buf, len(data), msgflg))


def call_msgrcv(msqid: int, msgsz: int, msgtyp: int = 0, msgflg: int = 0) -> tuple[int, bytes]:
    buf = C.create_string_buffer(8 + max(0, min(msgsz, 1 << 24)))
    n = _ok(_msgrcv(msqid, buf, msgsz, msgtyp, msgflg))
    return struct.unpack_from("=q", buf.raw)[0], buf.raw[8:8 + n]


def call_msgctl(msqid: int, cmd: int, ds: Any = None) -> Any:
    buf = C.create_string_buffer(_MSQID_DS.size)
    if cmd == IPC_SET_CMD:
        perm = ds["msg_perm"]
        raw_perm = _PERM.pack(0, perm["uid"] & 0xFFFFFFFF, perm["gid"] & 0xFFFFFFFF, 0, 0,
                              perm["mode"] & 0xFFFFFFFF, 0)
        C.memmove(buf, _MSQID_DS.pack(raw_perm, 0, 0, 0, 0, 0,
                                      ds["msg_qbytes"] & 0xFFFFFFFFFFFFFFFF, 0, 0),
                  _MSQID_DS.size)
    ret = _ok(_msgctl(msqid, cmd, buf))
    if cmd in (IPC_INFO_CMD, MSG_INFO_CMD):
        return ret, dict(zip(_MSGINFO_FIELDS, _MSGINFO.unpack_from(buf.raw)))
    if cmd in (IPC_STAT_CMD, MSG_STAT_CMD, MSG_STAT_ANY_CMD):
        raw_perm, *rest = _MSQID_DS.unpack(buf.raw)
        ds = {"msg_perm": _perm(raw_perm), **dict(zip(_MSQID_FIELDS, rest))}
        return ds if cmd == IPC_STAT_CMD else (ret, ds)
    return None



# --- System V shared memory --------------------------------------------------------------
_shmget = _fn("shmget", I, I, SZ, I)
_shmat = _fn("shmat", C.c_void_p, I, C.c_void_p, I)
_shmdt = _fn("shmdt", I, C.c_void_p)
_shmctl = _fn("shmctl", I, I, I, C.c_void_p)
SHM_RDONLY, SHM_RND, SHM_REMAP = 0o10000, 0o20000, 0o40000
SHM_STAT_CMD, SHM_INFO_CMD, SHM_STAT_ANY_CMD = 13, 14, 15
PAGE_SIZE = 4096
ULONG = 1 << 64
HUGE_PAGES = (2 << 20, 1 << 30)                      # x86-64's huge page sizes
_SHMID_DS = struct.Struct("=48sQqqqiiQ16x")          # shmid64_ds: 112 bytes
_SHMINFO = struct.Struct("=QQQQQ32x")                # shminfo64: 72 bytes
_SHM_INFO = struct.Struct("=i4xQQQQQ")               # shm_info: 48 bytes
_SHMID_FIELDS = ("shm_segsz", "shm_atime", "shm_dtime", "shm_ctime", "shm_cpid",
                 "shm_lpid", "shm_nattch")
_SHMINFO_FIELDS = ("shmmax", "shmmin", "shmmni", "shmseg", "shmall")
_SHM_INFO_FIELDS = ("used_ids", "shm_tot", "shm_rss", "shm_swp", "swap_attempts",
                    "swap_successes")
_MAPS_LINE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+ *(.*)$")


def _ulong(v: object, what: str) -> int:
    """An unsigned long (size_t, an address), as ipcsim takes it: negative values are the
    two's complement."""
    v = _int(v, what)
    if not -(1 << 63) <= v < ULONG:
        raise OverflowError(f"{what} must fit in 64 bits")
    return v % ULONG


def _c_int(v: object, what: str) -> int:
    v = _int(v, what)
    if not -(1 << 31) <= v < (1 << 31):
        raise OverflowError(f"{what} must fit in a C int")
    return v


def _flags32(v: object, what: str) -> int:
    v = _int(v, what)
    if not -(1 << 31) <= v < (1 << 32):
        raise OverflowError(f"{what} must fit in 32 bits")
    return v & 0xFFFFFFFF


def _mappings(smaps: bool = False) -> list[list[Any]]:
    """This process's mappings, from the kernel: [(start, end, perms, path, kernel page
    size in kB or None)]. /proc/self/smaps only walks the page tables: it faults nothing in
    and changes no segment's times, attach count or resident pages."""
    with open("/proc/self/smaps" if smaps else "/proc/self/maps", "rb") as f:
        text = f.read().decode("utf-8", "replace")
    out = []
    for line in text.splitlines():
        m = _MAPS_LINE.match(line)
        if m:
            out.append([int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4),
                        None])
        elif line.startswith("KernelPageSize:") and out:
            out[-1][4] = int(line.split()[1])
    return out


def _is_shm(mapping: list[Any]) -> bool:
    """A System V shared memory attachment (a shared mapping of a /SYSVkkkkkkkk file): the
    only mappings of an agent that a scenario's shmat made (Python itself makes none)."""
    return mapping[3].startswith("/SYSV") and mapping[2][3] == "s"  # type: ignore[no-any-return]


def _may_remap(shmid: int, base: int) -> None:
    """shmat with SHM_REMAP replaces whatever is mapped in its range: refuse it unless that
    range holds nothing but shm attachments (never the agent's own memory). The range is
    the segment's size from ``base``, rounded up to a page, or to the largest huge page
    size that divides ``base`` (a SHM_HUGETLB segment, which IPC_STAT does not reveal, maps
    only at an address aligned to its page size: EINVAL elsewhere). An id that IPC_STAT
    cannot see maps nothing (shmat looks it up the same way and needs read permission
    too), so it goes to the kernel unchecked."""
    buf = C.create_string_buffer(_SHMID_DS.size)
    if _shmctl(shmid, IPC_STAT_CMD, buf) == -1:
        return
    segsz = _SHMID_DS.unpack(buf.raw)[1]
    unit = PAGE_SIZE
    for huge in HUGE_PAGES:
        if base % huge == 0:
            unit = huge
    end = min(base + (segsz + unit - 1) // unit * unit, ULONG)
    for m in _mappings():
        if m[0] < end and m[1] > base and not _is_shm(m):
            raise Refused(f"shmat({shmid}, {base:#x}, SHM_REMAP) would replace the agent's "
                          f"own memory ({m[0]:#x}-{m[1]:#x} {m[2]} {m[3] or '[anon]'})")


def _attachment(addr: int, n: int, write: bool) -> None:
    """Refuse an access of ``n`` bytes at ``addr`` unless it lies inside one of this
    process's shm attachments (with write permission for a write) whose memory can be
    touched: anything else would kill the agent with SIGSEGV (ipcsim raises
    SegmentationFault there), or SIGBUS for SHM_HUGETLB memory with no huge pages. The
    attachments are the kernel's own list of this process's mappings (/proc/self/smaps), so
    they follow fork (inherited), shmdt, exit and the pieces SHM_REMAP leaves."""
    for m in _mappings(smaps=True):
        if m[0] <= addr < m[1]:
            kind = "write" if write else "read"
            if not _is_shm(m):
                break
            if addr + n > m[1]:
                raise Refused(f"a {kind} of {n} bytes at {addr:#x} runs past the end of the "
                              f"attachment {m[0]:#x}-{m[1]:#x}")
            if m[2][1 if write else 0] == "-":
                raise Refused(f"a {kind} at {addr:#x}: the attachment {m[0]:#x}-{m[1]:#x} "
                              f"is {m[2]} (SIGSEGV)")
            if m[4] != 4:
                raise Refused(f"a {kind} at {addr:#x}: the attachment {m[0]:#x}-{m[1]:#x} "
                              f"is SHM_HUGETLB memory (SIGBUS)")
            return
    raise Refused(f"no shm attachment of this process holds the {n} bytes at {addr:#x} "
                  f"(the access would be a SIGSEGV)")


def _access_range(addr: object, n: int) -> int:
    addr = _int(addr, "addr")
    if addr < 0 or addr + n > ULONG:
        raise OverflowError("addr must be an address in [0, 2**64)")
    return addr


def call_shmget(key: int, size: int, flags: int = 0) -> int:
    return _ok(_shmget(_key(key), _ulong(size, "size"), _flags32(flags, "flags")))


def call_shmat(shmid: int, shmaddr: int | None = None, flags: int = 0) -> int:
    """shmat(2); the address as an int. None (or 0) lets the kernel choose. SHM_REMAP over
    anything but shm attachments is refused (see _may_remap)."""
    shmid = _c_int(shmid, "shmid")
    addr = 0 if shmaddr is None else _ulong(shmaddr, "shmaddr")
    flags = _flags32(flags, "flags")
    if addr & ~(PAGE_SIZE - 1) and flags & SHM_REMAP:   # below one page: EINVAL, no mapping
        _may_remap(shmid, addr & ~(PAGE_SIZE - 1))
    got = _shmat(shmid, addr or None, flags) or 0
    if got == ULONG - 1:
        _fail()
    return got


def call_shmdt(shmaddr: int) -> None:
    _none(_shmdt(_ulong(shmaddr, "shmaddr") or None))


def call_shmctl(shmid: int, cmd: int, buf: Any = None) -> Any:
    """shmctl(2) in ipcsim's forms: IPC_STAT a dict of shmid64_ds; SHM_STAT, SHM_STAT_ANY
    (id, dict); IPC_INFO, SHM_INFO (highest index, dict of shminfo64 or shm_info); IPC_SET
    reads shm_perm's uid, gid and mode from ``buf`` (a dict as shmid_ds() or IPC_STAT gives);
    the rest None."""
    shmid, cmd = _c_int(shmid, "shmid"), _c_int(cmd, "cmd")
    raw = C.create_string_buffer(_SHMID_DS.size)
    if cmd == IPC_SET_CMD and shmid >= 0:      # (a negative id is EINVAL first)
        if not isinstance(buf, dict) or not isinstance(buf.get("shm_perm"), dict):
            raise TypeError("IPC_SET takes a shmid_ds (as IPC_STAT returns)")
        perm = buf["shm_perm"]
        raw_perm = _PERM.pack(0, _flags32(perm["uid"], "uid"), _flags32(perm["gid"], "gid"),
                              0, 0, _flags32(perm["mode"], "mode"), 0)
        C.memmove(raw, _SHMID_DS.pack(raw_perm, 0, 0, 0, 0, 0, 0, 0), _SHMID_DS.size)
    ret = _ok(_shmctl(shmid, cmd, raw))
    if cmd == IPC_INFO_CMD:
        return ret, dict(zip(_SHMINFO_FIELDS, _SHMINFO.unpack_from(raw.raw)))
    if cmd == SHM_INFO_CMD:
        return ret, dict(zip(_SHM_INFO_FIELDS, _SHM_INFO.unpack_from(raw.raw)))
    if cmd in (IPC_STAT_CMD, SHM_STAT_CMD, SHM_STAT_ANY_CMD):
        raw_perm, *rest = _SHMID_DS.unpack(raw.raw)
        ds = {"shm_perm": _perm(raw_perm), **dict(zip(_SHMID_FIELDS, rest))}
        return ds if cmd == IPC_STAT_CMD else (ret, ds)
    return None


def call_write_memory(addr: int, data: str | bytes) -> None:
    """Store ``data`` at ``addr`` of this process, inside one of its shm attachments."""
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be str or bytes-like, not {type(data).__name__}")
    data = bytes(data)
    addr = _access_range(addr, len(data))
    if data:
        _attachment(addr, len(data), True)
        C.memmove(addr, data, len(data))


def call_read_memory(addr: int, n: int) -> bytes:
    """The ``n`` bytes at ``addr`` of this process, inside one of its shm attachments."""
    n = _int(n, "n")
    if n < 0:
        raise ValueError("n must not be negative")
    addr = _access_range(addr, n)
    if not n:
        return b""
    _attachment(addr, n, False)
    return C.string_at(addr, n)


# --- System V semaphores -------------------------------------------------------------------
class _Sembuf(C.Structure):
    _fields_ = [("sem_num", C.c_ushort), ("sem_op", C.c_short), ("sem_flg", C.c_short)]



_SEMID_DS = struct.Struct("=48sQQQQQ16x")
_SEMINFO = struct.Struct("=10i")
_SEMINFO_FIELDS = ("semmap", "semmni", "semmns", "semmnu", "semmsl", "semopm", "semume",
                   "semusz", "semvmx", "semaem")


def _sc(nr: int, *a: int) -> int:
    a = list(a) + [0] * (5 - len(a))  # type: ignore[assignment]  # (five arguments)
    return _ok(_syscall(nr, *a))


def call_semget(key: int, nsems: int, semflg: int = 0) -> int:
    return _sc(64, _key(key), nsems, semflg & 0xFFFFFFFF)


def _sops(sops: Sequence[tuple[int, int, int]]) -> Any:
    arr = (_Sembuf * max(len(sops), 1))()
    for i, (n, o, f) in enumerate(sops):
        arr[i].sem_num, arr[i].sem_op, arr[i].sem_flg = n, o, f
    return arr


def call_semop(semid: int, sops: Sequence[tuple[int, int, int]]) -> None:
    arr = _sops(sops)
    _sc(65, semid, C.addressof(arr), len(sops))


def call_semtimedop(semid: int, sops: Sequence[tuple[int, int, int]],
                    timeout: float | tuple[int, int] | None = None) -> None:
    arr = _sops(sops)
    if timeout is None:
        _sc(220, semid, C.addressof(arr), len(sops), 0)
        return None
    if isinstance(timeout, tuple):
        ts = _Timespec(*timeout)
    else:
        sec = int(timeout // 1) if timeout >= 0 else -1
        ts = _Timespec(sec, int(round((timeout - sec) * 1e9)) if timeout >= 0 else 0)
    _sc(220, semid, C.addressof(arr), len(sops), C.addressof(ts))


def call_semctl(semid: int, semnum: int, cmd: int, arg: Any = None) -> Any:
    if cmd == 16:
        _sc(66, semid, semnum, cmd, arg & 0xFFFFFFFFFFFFFFFF)
        return None
    buf = C.create_string_buffer(max(_SEMID_DS.size, 2 * 32000))
    if cmd == 17:
        vals = (C.c_ushort * len(arg))(*arg)
        _sc(66, semid, semnum, cmd, C.addressof(vals))
        return None
    if cmd == 1:
        perm = arg["sem_perm"]
        raw_perm = _PERM.pack(0, perm["uid"] & 0xFFFFFFFF, perm["gid"] & 0xFFFFFFFF, 0, 0,
                              perm["mode"] & 0xFFFFFFFF, 0)
        C.memmove(buf, _SEMID_DS.pack(raw_perm, 0, 0, 0, 0, 0), _SEMID_DS.size)
    ret = _sc(66, semid, semnum, cmd & 0xFFFFFFFF, C.addressof(buf))
    if cmd in (3, 19):
        return ret, dict(zip(_SEMINFO_FIELDS, _SEMINFO.unpack_from(buf.raw)))
    if cmd in (2, 18, 20):
        raw_perm, otime, _, ctime, _, nsems = _SEMID_DS.unpack_from(buf.raw)
        ds = {"sem_perm": _perm(raw_perm), "sem_otime": otime, "sem_ctime": ctime,
              "sem_nsems": nsems}
        return ds if cmd == 2 else (ret, ds)
    if cmd == 13:
        st = C.create_string_buffer(_SEMID_DS.size)
        _sc(66, semid, 0, 2, C.addressof(st))
        n = _SEMID_DS.unpack_from(st.raw)[5]
        return list(struct.unpack_from("=%dH" % n, buf.raw))
    if cmd in (11, 12, 14, 15):
        return ret
    return None


# --- POSIX message queues ------------------------------------------------------------------
class _MqAttr(C.Structure):
    _fields_ = [("mq_flags", C.c_long), ("mq_maxmsg", C.c_long), ("mq_msgsize", C.c_long),
                ("mq_curmsgs", C.c_long), ("reserved", C.c_long * 4)]


class _Sigevent(C.Structure):
    _fields_ = [("sigev_value", C.c_void_p), ("sigev_signo", C.c_int),
                ("sigev_notify", C.c_int), ("pad", C.c_char * 48)]


class _Rlimit(C.Structure):
    _fields_ = [("rlim_cur", C.c_ulong), ("rlim_max", C.c_ulong)]


_mq_open = _fn("mq_open", I, C.c_char_p, I, U, C.c_void_p)
_mq_unlink = _fn("mq_unlink", I, C.c_char_p)
_mq_timedsend = _fn("mq_timedsend", I, I, C.c_char_p, SZ, U, C.c_void_p)
_mq_timedreceive = _fn("mq_timedreceive", C.c_ssize_t, I, C.c_void_p, SZ, C.POINTER(U),
                       C.c_void_p)
_mq_getsetattr_nr = 245
_mq_notify_nr = 244
_getrlimit = _fn("getrlimit", I, I, C.POINTER(_Rlimit))
_setrlimit = _fn("setrlimit", I, I, C.POINTER(_Rlimit))
RLIMIT_MSGQUEUE = 12
SIGEV_THREAD = 2
MQ_MSGSIZE_MAX = 16 << 20       # HARD_MSGSIZEMAX: no message is longer
netlink_fd = -1                 # the socket SIGEV_THREAD notifications go to
_cookie = C.create_string_buffer(32)


def _mq_name(name: object) -> bytes:
    if isinstance(name, str):
        name = name.encode("utf-8", "surrogateescape")
    if not isinstance(name, (bytes, bytearray)):
        raise TypeError(f"a queue name must be str or bytes, not {type(name).__name__}")
    if b"\0" in name:
        raise ValueError("embedded null byte")
    return bytes(name)


def _long(v: object, what: str) -> int:
    v = _int(v, what)
    if not -(1 << 63) <= v < (1 << 63):
        raise OverflowError(f"{what} must fit in a C long")
    return v


def _mq_attr(attr: object) -> _MqAttr:
    if not isinstance(attr, dict):
        raise TypeError("attr must be an mq_attr dict")
    return _MqAttr(_long(attr.get("mq_flags", 0), "mq_flags"),
                   _long(attr.get("mq_maxmsg", 0), "mq_maxmsg"),
                   _long(attr.get("mq_msgsize", 0), "mq_msgsize"),
                   _long(attr.get("mq_curmsgs", 0), "mq_curmsgs"))


def _attr_dict(a: _MqAttr) -> dict[str, int]:
    return {"mq_flags": a.mq_flags, "mq_maxmsg": a.mq_maxmsg, "mq_msgsize": a.mq_msgsize,
            "mq_curmsgs": a.mq_curmsgs}


def _abs_timeout(timeout: object) -> _Timespec:
    """ipcsim's relative timeout (seconds, or a timespec tuple) as the absolute
    CLOCK_REALTIME timespec the call takes; an invalid one is passed on as it is."""
    if isinstance(timeout, tuple):
        sec, nsec = _long(timeout[0], "tv_sec"), _long(timeout[1], "tv_nsec")
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            return _Timespec(sec, nsec)
        rel = sec * 1_000_000_000 + nsec
    else:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number, not {type(timeout).__name__}")
        if timeout < 0:
            return _Timespec(0, -1)
        rel = round(timeout * 1_000_000_000)
    when = time.clock_gettime_ns(time.CLOCK_REALTIME) + rel
    return _Timespec(when // 1_000_000_000, when % 1_000_000_000)


def _prio(prio: object) -> int:
    prio = _int(prio, "msg_prio")
    if not -(1 << 31) <= prio < (1 << 32):
        raise OverflowError("msg_prio must fit in an unsigned int")
    return prio & 0xFFFFFFFF


def call_mq_open(name: str, oflag: int, mode: int = 0o600, attr: object = None) -> int:
    oflag, mode = _int(oflag, "oflag"), _int(mode, "mode")
    raw = None
    if attr is not None and oflag & O_CREAT:
        raw = _mq_attr(attr)
    return _ok(_mq_open(_mq_name(name), oflag, mode & 0xFFFFFFFF,
                        C.byref(raw) if raw is not None else None))


def call_mq_unlink(name: str) -> None:
    _none(_mq_unlink(_mq_name(name)))


def _mq_send(mqdes: int, data: str | bytes, prio: int, timeout: object) -> None:
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be str or bytes-like, not {type(data).__name__}")
    ts = _abs_timeout(timeout) if timeout is not None else None
    prio = _prio(prio)
    _none(_mq_timedsend(_check_fd(_int(mqdes, "mqdes")), bytes(data), len(data), prio,
                        C.byref(ts) if ts is not None else None))


def _mq_receive(mqdes: int, msg_len: int, timeout: object) -> tuple[bytes, int]:
    msg_len = _int(msg_len, "msg_len")
    if not 0 <= msg_len < (1 << 64):
        raise OverflowError("msg_len must fit in a size_t")
    ts = _abs_timeout(timeout) if timeout is not None else None
    buf = C.create_string_buffer(max(1, min(msg_len, MQ_MSGSIZE_MAX)))
    prio = U(0)
    n = _mq_timedreceive(_check_fd(_int(mqdes, "mqdes")), buf, msg_len, C.byref(prio),
                         C.byref(ts) if ts is not None else None)
    if n == -1:
        _fail()
    return buf.raw[:n], prio.value


def _getsetattr(mqdes: int, new: _MqAttr | None) -> dict[str, int]:
    old = _MqAttr()
    _ok(_syscall(_mq_getsetattr_nr, _check_fd(_int(mqdes, "mqdes")),
                 C.addressof(new) if new is not None else 0, C.addressof(old), 0, 0))
    return _attr_dict(old)


def _netlink() -> int:
    """The netlink socket SIGEV_THREAD registrations name (glibc makes one the same way)."""
    global netlink_fd
    if netlink_fd < 0 or netlink_fd not in internal:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, 0)
        netlink_fd = _high(s.detach())
        internal.add(netlink_fd)
    return netlink_fd


def call_mq_notify(mqdes: int, sev: object) -> None:
    """mq_notify(2); SIGEV_THREAD as glibc registers it (a netlink socket and a cookie);
    the notification itself is not observed."""
    mqdes = _int(mqdes, "mqdes")
    if sev is None:
        _ok(_syscall(_mq_notify_nr, _check_fd(mqdes), 0, 0, 0, 0))
        return None
    if not isinstance(sev, dict):
        raise TypeError("notification must be a sigevent dict or None")
    raw = _Sigevent()
    raw.sigev_notify = _int(sev.get("sigev_notify", 0), "sigev_notify")
    raw.sigev_signo = _int(sev.get("sigev_signo", 0), "sigev_signo")
    raw.sigev_value = _int(sev.get("sigev_value", 0), "sigev_value") or None
    if raw.sigev_notify == SIGEV_THREAD:
        raw.sigev_signo = _netlink()
        raw.sigev_value = C.addressof(_cookie)
    _ok(_syscall(_mq_notify_nr, _check_fd(mqdes), C.addressof(raw), 0, 0, 0))
    return None


def _rlimit_resource(resource: object) -> int:
    resource = _int(resource, "resource")
    if resource != RLIMIT_MSGQUEUE and 0 <= resource < 16:
        raise Refused("only RLIMIT_MSGQUEUE may be changed (others could break the agent)")
    return resource


def call_getrlimit(resource: int) -> tuple[int, int]:
    rl = _Rlimit()
    _none(_getrlimit(_rlimit_resource(resource), C.byref(rl)))
    return (rl.rlim_cur, rl.rlim_max)


def call_setrlimit(resource: int, soft: int, hard: int) -> None:
    values = []
    for v, what in ((soft, "soft"), (hard, "hard")):
        v = _int(v, what)
        if not -1 <= v < (1 << 64):
            raise OverflowError(f"the {what} limit must be -1 or fit in 64 bits")
        values.append(v & 0xFFFFFFFFFFFFFFFF)
    rl = _Rlimit(*values)
    _none(_setrlimit(_rlimit_resource(resource), C.byref(rl)))


def call_chmod(path: str, mode: int) -> None:
    real = _real(path)
    if not _in_scratch(real):
        raise Refused(f"chmod of {path!r} ({real}) could change the host")
    os.chmod(path, _int(mode, "mode"))


def _scratch_only(path: object, what: str) -> None:
    """Refused unless ``path`` (resolved) lies strictly inside the scratch tmpfs on /run."""
    real = _real(path)
    if not _in_scratch(real):
        raise Refused(f"{what} of {path!r} ({real}) could change the host")


def call_chown(path: str, uid: int, gid: int) -> None:
    _scratch_only(path, "chown")
    os.chown(path, _int(uid, "uid"), _int(gid, "gid"))


def call_mkdir(path: str, mode: int = 0o777) -> None:
    _scratch_only(path, "mkdir")
    os.mkdir(path, _int(mode, "mode"))


def call_rmdir(path: str) -> None:
    _scratch_only(path, "rmdir")
    os.rmdir(path)


def call_stat(path: str) -> dict[str, int]:
    st = os.stat(path)
    return {"st_mode": st.st_mode, "st_nlink": st.st_nlink, "st_uid": st.st_uid,
            "st_gid": st.st_gid, "st_size": st.st_size}


CALLS: dict[str, Callable[..., Any]] = {
    "mq_open": call_mq_open,
    "mq_close": lambda mqdes: _none(_close(_check_fd(_int(mqdes, "mqdes")))),
    "mq_unlink": call_mq_unlink,
    "mq_send": lambda mqdes, data, prio=0: _mq_send(mqdes, data, prio, None),
    "mq_timedsend": lambda mqdes, data, prio, timeout: _mq_send(mqdes, data, prio, timeout),
    "mq_receive": lambda mqdes, msg_len: _mq_receive(mqdes, msg_len, None),
    "mq_timedreceive": lambda mqdes, msg_len, timeout: _mq_receive(mqdes, msg_len, timeout),
    "mq_getattr": lambda mqdes: _getsetattr(mqdes, None),
    "mq_setattr": lambda mqdes, attr: _getsetattr(mqdes, _mq_attr(attr)),
    "mq_notify": call_mq_notify,
    "getrlimit": call_getrlimit,
    "setrlimit": call_setrlimit,
    "chmod": call_chmod,
    "chown": call_chown,
    "mkdir": call_mkdir,
    "rmdir": call_rmdir,
    "stat": call_stat,
    "semget": call_semget,
    "semop": call_semop,
    "semtimedop": call_semtimedop,
    "semctl": call_semctl,
    "msgget": call_msgget,
    "msgsnd": call_msgsnd,
    "msgrcv": call_msgrcv,
    "msgctl": call_msgctl,
    "shmget": call_shmget,
    "shmat": call_shmat,
    "shmdt": call_shmdt,
    "shmctl": call_shmctl,
    "write_memory": call_write_memory,
    "read_memory": call_read_memory,
    "wait": call_wait,
    "kill": lambda pid, sig: _none(_kill(pid, sig)),
    "signal": call_signal,
    "pause": call_pause,
    "getpid": os.getpid,
    "getppid": os.getppid,
    "setpgid": lambda pid=0, pgid=0: _none(_setpgid(pid, pgid)),
    "getpgid": lambda pid=0: _ok(_getpgid(pid)),
    "unshare": call_unshare,
    "setns": lambda fd, nstype=0: _none(_setns(_check_fd(fd), nstype)),
    "open": call_open,
    "close": lambda fd: _none(_close(_check_fd(fd))),
    "dup": lambda fd: _ok(_dup(_check_fd(fd))),
    "ioctl": call_ioctl,
    "read": call_read,
    "write": call_write,
    "lseek": lambda fd, offset, whence=0: _ok(_lseek(_check_fd(fd), offset, whence)),
    "read_file": call_read_file,
    "write_file": call_write_file,
    "listdir": lambda path: (
        _may_read(path),  # type: ignore[func-returns-value]  # (None: the check)
        os.listdir(path))[1],
    "readlink": os.readlink,
    "unlink": call_unlink,
    "setuid": lambda uid: _none(_setuid(uid)),
    "setgid": lambda gid: _none(_setgid(gid)),
    "seteuid": lambda euid: _none(_seteuid(euid)),
    "setegid": lambda egid: _none(_setegid(egid)),
    "setreuid": lambda ruid, euid: _none(_setreuid(ruid, euid)),
    "setresuid": lambda r, e, s: _none(_setresuid(r, e, s)),
    "setresgid": lambda r, e, s: _none(_setresgid(r, e, s)),
    "setgroups": call_setgroups,
    "getresuid": os.getresuid,
    "getresgid": os.getresgid,
    "capget": capget,
    "drop_capability": call_drop_capability,
    "set_dumpable": call_set_dumpable,
    "umask": lambda mask: _umask(_int(mask, "mask")),
    "sleep": call_sleep,
    "sigprocmask": call_sigprocmask,
    "sigpending_signals": lambda: {int(x) for x in signal.sigpending()},
    "sigsuspend": call_sigsuspend,
    "mount": call_mount,
    "umount": call_umount,
}


def _witness(msg: dict[str, Any], fds: list[int], kinds: list[str]) -> None:
    """If this process's IPC namespace is not the one it last reported, add the namespace's
    inode number and a witness: a descriptor of its msgmax sysctl, which holds no reference
    on the namespace and reads ENOENT once the namespace is freed (the harness keeps it to
    wait for the kernel's asynchronous namespace teardown)."""
    global reported_ns
    try:
        inum = os.stat("/proc/self/ns/ipc").st_ino
    except OSError:
        return
    if inum == reported_ns:
        return
    try:
        fd = os.open("/proc/sys/kernel/msgmax", os.O_RDONLY)
    except OSError:
        return
    reported_ns = inum
    msg["ns"] = inum
    fds.append(fd)
    kinds.append("witness")


def hello(err: str | None = None, caps: int | None = None) -> None:
    msg = {"k": "hello", "pid": os.getpid(), "caps": capget()[0] if caps is None else caps,
           "err": err}
    fds: list[int]
    kinds: list[str]
    fds, kinds = [], []
    _witness(msg, fds, kinds)
    msg["fdk"] = kinds
    try:
        send(msg, fds)
    finally:
        for fd in fds:
            os.close(fd)


def handle(cmd: dict[str, Any]) -> None:
    method, args = cmd["m"], dec(cmd["a"])
    fds, kinds = [], []
    stamp = None
    try:
        if method == "fork":
            value, hfd = call_fork()
            fds.append(hfd)
            kinds.append("chan")
        elif method == "clone":
            value, hfd = call_fork(_int(args[0], "flags"))
            fds.append(hfd)
            kinds.append("chan")
        elif method == "exit":
            status = _int(args[0] if args else 0, "status")
            _check_signals()
            send({"k": "r", "s": "ok", "v": None, "t": time.monotonic_ns(), "h": handled})
            os._exit(status & 0xFF)
        elif method == "_ping":
            value = None
        else:
            value = CALLS[method](*args)
        stamp = time.monotonic_ns()
        reply = {"s": "ok", "v": enc(value)}
    except OSError as e:
        stamp = stamp or time.monotonic_ns()
        reply = {"s": "err",
                 "v": errno.errorcode.get(e.errno, f"E{e.errno}")}  # type: ignore[arg-type]
    except Refused as e:
        reply = {"s": "refused", "v": str(e)}
    except Exception as e:            # a wrong argument: the harness raises it
        name = "TypeError" if isinstance(e, C.ArgumentError) else type(e).__name__
        reply = {"s": "exc", "v": f"{name}: {e}", "type": name}
    _check_signals()
    reply.update(k="r", t=stamp or time.monotonic_ns(), h=handled)
    if method in ("unshare", "setns") and reply["s"] == "ok":
        _witness(reply, fds, kinds)
    reply["fdk"] = kinds
    global sent_handled
    sent_handled = len(handled)
    try:
        send(reply, fds)
    finally:
        for fd in fds:
            internal.discard(fd)
            os.close(fd)


def serve() -> NoReturn:
    while True:
        cmd = receive()
        if cmd is None:
            os._exit(0)
        handle(cmd)


# --- start-up ---------------------------------------------------------------------------
def _reset_signals() -> None:
    for sig in range(1, 65):
        if sig in (signal.SIGKILL, signal.SIGSTOP, 32, 33):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def become_user(uid: int) -> None:
    """Process "a" of a scenario run as ``uid``: what ``setpriv --reuid=UID --regid=UID
    --clear-groups`` leaves to the program it runs: no supplementary groups, gid then uid
    ``uid`` (the kernel clears every capability), dumpable (an execve would make it so:
    else /proc/PID files are root's, and the process cannot write its own uid_map)."""
    _none(_setgroups(0, None))
    _none(_setresgid(uid, uid, uid))
    _none(_setresuid(uid, uid, uid))
    _ok(_prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))


def agent_main(cfd: int, uid: int = 0) -> NoReturn:
    """Process "a": a fresh IPC namespace, a clean process state, the scenario's user, then
    the loop. Its hello carries root's capabilities (the model starts from the same)."""
    global chan, err_fd, high_base, cap_last
    _reset_signals()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= NOFILE:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, hard))
        high_base = NOFILE - 16
    else:
        high_base = max(hard - 16, 3)
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    try:        # ipcsim's RLIMIT_MEMLOCK (SHM_LOCK counts against it), whatever the host's
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (MEMLOCK, MEMLOCK))
    except (OSError, ValueError):
        pass
    with open("/proc/sys/kernel/cap_last_cap") as f:
        cap_last = int(f.read())
    err_fd = _high(os.dup(2))
    sys.stderr = sys.stdout = os.fdopen(err_fd, "w", buffering=1, closefd=False)
    sys.stdin = None
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    chan = socket.socket(fileno=_high(cfd))
    _new_wake_pipe()
    internal.update((chan.fileno(), err_fd, wake_r, wake_w))
    err = None
    if _syscall(SYS_UNSHARE, CLONE_NEWIPC, 0, 0, 0, 0) == -1:
        err = "unshare(CLONE_NEWIPC): " + os.strerror(C.get_errno())
    _umask(0o022)
    caps = capget()[0]
    if uid and not err:
        try:
            become_user(uid)
        except OSError as e:
            err = f"becoming uid {uid}: {e}"
    hello(err, caps)
    if err:
        os._exit(1)
    serve()
    os._exit(0)


def _setup_scratch(host_mntns: int) -> str | None:
    """Make this mount namespace's propagation private and mount a fresh tmpfs on /run in
    it; None, or why not. Never in the harness's own mount namespace."""
    try:
        own = os.stat("/proc/self/ns/mnt").st_ino
    except OSError as e:
        return f"cannot tell the mount namespace: {e}"
    if own == host_mntns:
        return "not in a mount namespace of its own"
    if _mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == -1:
        return "making / private: " + os.strerror(C.get_errno())
    if not os.path.isdir(SCRATCH) or os.path.islink(SCRATCH):
        return f"{SCRATCH} is not a directory"
    if _mount(b"ipcsim-scratch", SCRATCH.encode(), b"tmpfs",
              MS_NOSUID | MS_NODEV | MS_NOEXEC, b"mode=1777,size=1m,nr_inodes=4096") == -1:
        return f"mounting a tmpfs on {SCRATCH}: " + os.strerror(C.get_errno())
    return None


def init_main(bfd: int, host_mntns: int, uid: int = 0) -> NoReturn:
    """pid 1 of the pid namespace: set up the scratch tmpfs, fork "a", then wait for the
    harness to go away."""
    global scratch_err
    os.setsid()
    scratch_err = _setup_scratch(host_mntns)
    boot = socket.socket(fileno=bfd)
    data, anc, flags, _ = boot.recvmsg(4096, socket.CMSG_SPACE(4 * 4))
    cfd: Any = None          # the channel of process "a" (SCM_RIGHTS)
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            cfd = int.from_bytes(payload[:4], sys.byteorder, signed=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)     # adopted orphans are reaped at once
    pid = os.fork()
    if pid == 0:
        boot.close()
        try:
            agent_main(cfd, uid)
        finally:
            os._exit(1)
    os.close(cfd)
    boot.sendmsg([b"." + json.dumps({"k": "hello", "pid": os.getpid(), "a": pid,
                                     "scratch": scratch_err}).encode()])
    while True:
        try:
            if not boot.recv(4096):
                os._exit(0)
        except OSError:
            os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["init"]:
        init_main(int(sys.argv[2]), int(sys.argv[3]),
                  int(sys.argv[4]) if len(sys.argv) > 4 else 0)
