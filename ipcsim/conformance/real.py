"""The real-kernel backend: each labelled process is a real process running an agent.

:class:`RealBackend` starts ``unshare --ipc --pid --fork --mount-proc --kill-child python -c
AGENT init FD``. The program is :mod:`._agent` (read as text, never imported there): pid 1 of
the new pid namespace is a small init, in an IPC namespace of its own; it forks process "a",
which unshares a fresh IPC namespace of its own and then serves commands. Every other process
is made by a fork or clone step of an agent, and gets its own channel, whose harness end comes
back with the reply (SCM_RIGHTS).

Why a pid namespace: a scenario may say ``kill(-1, SIGKILL)`` or ``kill(999999, SIGTERM)``;
in the namespace that reaches only the scenario's processes. It also makes the process tree
look like ipcsim's: "a" is a child of init (pid 1), orphans are adopted by that init, which
reaps them at once, and killing init ends everything: nothing can be left behind.

Outcomes follow :mod:`.backend`. A call is *blocked* when no reply has come within
``block_grace`` seconds and the process sleeps (state S in /proc/PID/stat, in a system call
other than the agent's own idle poll/recv) or is stopped (T), while every other agent is
quiet. After each step the backend waits until every agent is quiet (sleeping, stopped or
dead), so a signal or an exit a step caused has taken effect before the next step; that is
also how :meth:`completed` knows which blocked calls have finished. Likewise, Linux frees an
IPC namespace asynchronously (20-50 ms after its last reference goes, here); after a step
that may drop one (exit, unshare, setns, close, kill, clone, umount) the backend waits until
every namespace that no process is in, holds a descriptor of (also one opened through a bind
mount) or has bind-mounted has been freed (seen through a "witness" descriptor of its msgmax
sysctl, which reads ENOENT then).

Mounts: ``unshare --mount-proc`` gives the agents a mount namespace of their own; init makes
its propagation private (MS_REC|MS_PRIVATE on "/") and mounts a fresh tmpfs on /run in it, so
scenario mounts (targets strictly under /run, created there when missing) touch nothing of
the host's, and vanish with the namespace when init ends.

Users: with ``open(uid)`` (a scenario's ``uid``), "a" becomes that user once it has its IPC
namespace (no supplementary groups, gid and uid ``uid``, no capabilities, dumpable, as
``setpriv --reuid=UID --regid=UID --clear-groups`` leaves the program it runs); scenarios
that make user namespaces need them enabled for that user (:func:`available_userns`).

Pids: each agent's pid in every PID namespace above it (NSpid in /proc/PID/status) and the
chain of those namespaces (NS_GET_PARENT) are recorded when it says hello, so that
:meth:`RealBackend.pid_seen_by` can tell the number one process has in the namespace of
another, also after either has ended. ``pid(label)`` is the number in the scenario's first
PID namespace (the one ``unshare --pid`` made), whatever namespace the parent that forked it
was in.

Deliberate differences from ipcsim's layout: init (pid 1) sits in an IPC namespace of its
own, not in the host's initial one (so no scenario can reach the host's namespace through
/proc/1/ns/ipc), and it ignores SIGCHLD, so "a" (its child) leaves no zombie when it exits.
Agents run with RLIMIT_NOFILE 1024 (their own descriptors take the top 4-6 slots),
RLIMIT_CORE 0 (so a core-dumping signal's status has no 0x80 bit) and RLIMIT_MEMLOCK 8 MiB
(what ipcsim gives everyone, for SHM_LOCK).

Shared memory: an agent is a Python process, so the address shmat chooses lies among its
own mappings (the harness compares chosen addresses through labels). write_memory and
read_memory touch the agent's own memory; the agent makes them only inside one of its shm
attachments as the kernel lists them (/proc/self/smaps: they follow fork, shmdt, exit and
SHM_REMAP's pieces), writable for a write and not SHM_HUGETLB memory, and refuses anything
else (a SIGSEGV or SIGBUS would kill it; ipcsim raises SegmentationFault there). shmat with
SHM_REMAP is refused when its range holds anything but shm attachments (it would replace
the agent's own memory).

Calls that could change the host are refused with :class:`UnsafeCallError`: clone with
CLONE_VM/VFORK/SETTLS/FILES, opening for writing (or unlinking) anything but the IPC
namespace's own files (/proc/sys/kernel/{msg,sem,shm}*, /proc/sys/fs/mqueue, /proc/sysvipc,
/proc/PID/ns, /proc/sys/user without CAP_SYS_RESOURCE) and paths in the scratch tmpfs on
/run, opening devices, mount and umount on targets not strictly under /run, bind (or move)
mounts of anything but a namespace file (/proc/PID/ns/...) or a path under /run, new
mounts of file system types other than tmpfs, ramfs and mqueue, memory accesses outside the
caller's shm attachments, SHM_REMAP over the agent's own memory, chmod outside /run, and
setrlimit/getrlimit of anything but RLIMIT_MSGQUEUE.

POSIX message queues: mq_* calls go through glibc (mq_getsetattr and mq_notify as raw
system calls); relative timeouts become absolute CLOCK_REALTIME ones. A SIGEV_THREAD
registration names a netlink socket of the agent's own (at the top of its descriptor
table), as glibc's helper does; the cookie it receives is not compared.
"""
from __future__ import annotations

import atexit
import errno
import fcntl
import functools
import json
import math
import os
import platform
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import IO, Any, Iterable

from ..errors import UnsupportedError
from .backend import BLOCKED, ERR, OK, Outcome
from .scenario import Scenario

REASON = "needs root on Linux with unshare(1) (ipc, pid and mount namespaces)"
UNSHARE_ARGS = ("--ipc", "--pid", "--fork", "--mount-proc", "--kill-child")
AGENT_SOURCE = (Path(__file__).with_name("_agent.py")).read_text()

# clone flags the backend refuses: the child would share the agent's memory (CLONE_VM),
# stall its parent (CLONE_VFORK), crash on a null TLS (CLONE_SETTLS) or share the agent's
# descriptor table (CLONE_FILES), which the agents' channels cannot survive.
UNSAFE_CLONE = 0x00000100 | 0x00004000 | 0x00080000 | 0x00000400
# The system calls an agent sleeps in between commands (x86_64 numbers): poll, ppoll,
# select, pselect6, recvfrom, recvmsg, sendto, sendmsg, epoll_wait, epoll_pwait(2).
IDLE_SYSCALLS = frozenset({7, 271, 23, 270, 45, 47, 44, 46, 232, 281, 441})
QUIET_STATES = frozenset("STtZX")
RUNNING = -2        # what _syscall_nr says of a process that is not asleep
# Calls after which an IPC namespace may have lost its last reference (a shm attachment
# holds the namespace of its segment: shmdt, or shmat with SHM_REMAP over one, can drop it).
NS_RELEASING = frozenset({"exit", "unshare", "setns", "close", "kill", "clone", "umount",
                          "shmdt", "shmat"})
_CHUNK = 32768
_ANC = socket.CMSG_SPACE(12) + socket.CMSG_SPACE(4 * 8)


def _unsafe_clone(flags: object) -> bool:
    """clone flags that would break the agent, unless copy_process rejects them (EINVAL)
    before it creates anything: CLONE_NEWNS|CLONE_FS, CLONE_NEWUSER|CLONE_FS, CLONE_THREAD
    without CLONE_SIGHAND, CLONE_SIGHAND without CLONE_VM."""
    if isinstance(flags, bool) or not isinstance(flags, int):
        return False            # the agent reports the TypeError
    f = flags & 0xFFFFFFFF      # the legacy clone uses the low 32 bits
    if not f & UNSAFE_CLONE:
        return False
    rejected = (f & 0x20200 == 0x20200 or f & 0x10000200 == 0x10000200
                or (f & 0x10000 and not f & 0x800) or (f & 0x800 and not f & 0x100))
    return not rejected


class RealBackendError(Exception):
    """The real-kernel backend itself failed (start-up, a protocol error, a timeout)."""


class ProcessGoneError(RuntimeError):
    """A call was made as a process that has exited or was killed."""


class ProcessBlockedError(RuntimeError):
    """A call was made as a process that is still blocked in an earlier call."""


class UnsafeCallError(UnsupportedError):
    """A call the real backend will not make because it could harm the host or the agent
    (clone with CLONE_VM/VFORK/SETTLS/FILES, writing outside the IPC namespace's files,
    mounting outside /run)."""


@functools.lru_cache(maxsize=None)
def available() -> tuple[bool, str]:
    """(True, "") when this machine can run the real backend, else (False, why not)."""
    if not sys.platform.startswith("linux"):
        return False, f"{REASON} (this is {sys.platform})"
    if platform.machine() != "x86_64":
        return False, f"{REASON} (the agent uses x86_64 system call numbers, this is " \
                      f"{platform.machine()})"
    if os.geteuid() != 0:
        return False, f"{REASON} (not running as root)"
    unshare = shutil.which("unshare")
    if unshare is None:
        return False, f"{REASON} (unshare(1) is not installed)"
    for name in ("SOCK_SEQPACKET", "SO_PASSCRED", "SCM_CREDENTIALS"):
        if not hasattr(socket, name):
            return False, f"{REASON} (socket.{name} is missing)"
    try:
        probe = subprocess.run([unshare, *UNSHARE_ARGS, "true"], capture_output=True,
                               timeout=30, env={}, start_new_session=True)
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"{REASON} (unshare {' '.join(UNSHARE_ARGS)} true failed: {e})"
    if probe.returncode != 0:
        err = probe.stderr.decode(errors="replace").strip()
        return False, (f"{REASON} (unshare {' '.join(UNSHARE_ARGS)} true failed: "
                       f"{err or probe.returncode})")
    return True, ""


UNPRIVILEGED_UID = 1000        # the user that scenarios run as unprivileged (issue 17)
_USERNS_PROBE = r"""
import ctypes, os, sys
uid = int(sys.argv[1])
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) == -1:
    print(os.strerror(ctypes.get_errno()))
    sys.exit(1)
"""
# The knobs that disable unprivileged user namespaces on some distributions, and the value
# that does it.
_USERNS_KNOBS = (("/proc/sys/kernel/unprivileged_userns_clone", "0"),
                 ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"),
                 ("/proc/sys/user/max_user_namespaces", "0"))


@functools.lru_cache(maxsize=None)
def available_userns(uid: int = UNPRIVILEGED_UID) -> tuple[bool, str]:
    """(True, "") when the real backend can run here scenarios that make user namespaces
    as ``uid`` (unshare(CLONE_NEWUSER) as that user succeeds: for a nonzero uid, when
    unprivileged user namespaces are enabled), else (False, why not)."""
    ok, why = available()
    if not ok:
        return ok, why
    try:
        probe = subprocess.run([sys.executable, "-I", "-S", "-c", _USERNS_PROBE, str(uid)],
                               capture_output=True, timeout=30, env={},
                               start_new_session=True)
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"cannot probe user namespaces as uid {uid}: {e}"
    if probe.returncode == 0:
        return True, ""
    err = (probe.stdout + probe.stderr).decode(errors="replace").strip().splitlines()
    knobs = []
    for path, bad in _USERNS_KNOBS:
        try:
            with open(path) as f:
                if f.read().strip() == bad:
                    knobs.append(f"{path} is {bad}")
        except OSError:
            pass
    what = "unprivileged user namespaces are" if uid else "user namespaces are"
    return False, (f"{what} disabled here: unshare(CLONE_NEWUSER) as uid {uid} failed "
                   f"({err[-1] if err else probe.returncode})"
                   + (f"; {', '.join(knobs)}" if knobs else ""))


def available_for(scenario: Scenario) -> tuple[bool, str]:
    """(True, "") when ``scenario`` can be played on the real kernel here: :func:`available`,
    and for one that makes user namespaces (it names CLONE_NEWUSER) or starts as an
    unprivileged user, :func:`available_userns` for its uid."""
    ok, why = available()
    if ok and (scenario.uid or "CLONE_NEWUSER" in scenario.text):
        ok, why = available_userns(scenario.uid)
    return ok, why


NS_GET_PARENT = 0xB702


def _nspid(hostpid: int) -> tuple[int, ...]:
    """The NSpid line of /proc/PID/status: the pid in the harness's namespace, then in each
    namespace below down to the process's own (empty if it has gone)."""
    try:
        with open(f"/proc/{hostpid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return tuple(int(x) for x in line.split()[1:])
    except (OSError, ValueError):
        pass
    return ()


def _pidns_chain(hostpid: int) -> tuple[int, ...]:
    """The inode of the process's PID namespace, then of each ancestor up to the harness's
    (NS_GET_PARENT stops there with EPERM); empty if it has gone."""
    try:
        fd = os.open(f"/proc/{hostpid}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ()
    chain = []
    try:
        while True:
            chain.append(os.fstat(fd).st_ino)
            try:
                parent = fcntl.ioctl(fd, NS_GET_PARENT)
            except OSError:
                return tuple(chain)
            os.close(fd)
            fd = parent
    finally:
        os.close(fd)


# --- values across the channel ----------------------------------------------------------
def _enc(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"b": bytes(v).hex()}
    if isinstance(v, tuple):
        return {"t": [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return {"s": sorted(_enc(x) for x in v)}
    if isinstance(v, dict):
        return {"d": {k: _enc(x) for k, x in v.items()}}
    return v


def _dec(v: Any) -> Any:
    if isinstance(v, dict):
        if "d" in v:
            return {k: _dec(x) for k, x in v["d"].items()}
        if "b" in v:
            return bytes.fromhex(v["b"])
        if "s" in v:
            return {_dec(x) for x in v["s"]}
        return tuple(_dec(x) for x in v["t"])
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


class _Agent:
    """The harness's view of one agent process."""

    __slots__ = ("label", "sock", "hostpid", "pid", "handled", "pending", "held", "gone",
                 "dead", "parts", "fds", "creds", "last_method", "start", "nspid", "pidns")

    def __init__(self, label: str, sock: socket.socket):
        self.label = label
        self.sock = sock
        self.hostpid = 0                    # its pid as the harness sees it (for /proc)
        self.pid = 0                        # its pid in the scenario's pid namespace
        self.handled: list[int] = []        # as last reported by the agent
        self.pending: str | None = None     # the method of a blocked call not yet reported
        self.held: dict[str, Any] | None = None   # the reply of that call, once read
        self.gone = False                   # its channel reached EOF
        self.dead = False                   # gone from /proc (fully released)
        self.parts: list[bytes] = []        # pieces of a message being read
        self.fds: list[int] = []            # descriptors received, not yet used
        self.creds = 0                      # sender pid of the message being read
        self.last_method = ""
        self.start = 0                      # its start time (guards against pid reuse)
        self.nspid: tuple[int, ...] = ()    # its pid in each PID namespace, the host's first
        self.pidns: tuple[int, ...] = ()    # its PID namespace and the ancestors (inodes)


class _Eof(Exception):
    pass


_OPEN: "weakref.WeakSet[RealBackend]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for backend in list(_OPEN):
        try:
            backend.close()
        except Exception:       # noqa: BLE001 - best effort at interpreter exit
            pass


class RealBackend:
    """Plays scenarios on the running Linux kernel (see the module docstring).

    ``block_grace``: how long a call may take before it can count as blocked (seconds);
    ``call_timeout``: how long a call that is not blocked may take before RealBackendError;
    ``settle_timeout``: the longest wait for the agents to become quiet after a step;
    ``ns_free_timeout``/``ns_unsure_timeout``: the longest wait for the kernel to free an
    IPC namespace that nothing holds (or that only an open /proc/sysvipc file might hold).
    """

    name = "linux"

    def __init__(self, block_grace: float = 0.025, call_timeout: float = 10.0,
                 settle_timeout: float = 5.0, start_timeout: float = 20.0,
                 ns_free_timeout: float = 1.0, ns_unsure_timeout: float = 0.15):
        self.block_grace = block_grace
        self.ns_free_timeout = ns_free_timeout
        self.ns_unsure_timeout = ns_unsure_timeout
        self.call_timeout = call_timeout
        self.settle_timeout = settle_timeout
        self.start_timeout = start_timeout
        self._agents: dict[str, _Agent] = {}
        self._boot: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._init_hostpid = 0
        self._top = -1                           # the level of the scenario's PID namespace
        self._caps = 0
        self._stderr: IO[bytes] | None = None
        self._closed = False
        self._witnesses: dict[int, int] = {}     # namespace inode -> its msgmax descriptor
        self._ns_waited: tuple[frozenset[int], frozenset[int], bool] | None = None
        self._nsfs_dev: int | None = None        # st_dev of namespace files (nsfs)
        self.scratch_error: str | None = None    # why init has no tmpfs on /run, if so

    # --- start and end -----------------------------------------------------------------
    def open(self, uid: int = 0) -> None:
        """Start the agents; process "a" runs as ``uid`` (see :meth:`.Backend.open`),
        which needs unprivileged user namespaces only for what the scenario does."""
        ok, why = available()
        if not ok:
            raise RealBackendError(why)
        if isinstance(uid, bool) or not isinstance(uid, int) or not 0 <= uid < 0xFFFFFFFF:
            raise ValueError("uid must be an int in [0, 4294967295)")
        _OPEN.add(self)
        try:
            self._start(uid)
        except BaseException:
            self.close()
            raise

    def _start(self, uid: int) -> None:
        boot_h, boot_c = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        chan_h, chan_c = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for s in (boot_h, chan_h):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._boot = boot_h
        self._stderr = tempfile.TemporaryFile()
        self._nsfs_dev = os.stat("/proc/self/ns/ipc").st_dev
        host_mntns = os.stat("/proc/self/ns/mnt").st_ino
        argv = [shutil.which("unshare"), *UNSHARE_ARGS, sys.executable, "-I", "-S", "-c",
                AGENT_SOURCE, "init", str(boot_c.fileno()), str(host_mntns), str(uid)]
        try:
            self._proc = subprocess.Popen(
                argv,  # type: ignore[arg-type]  # (available() found unshare)
                pass_fds=(boot_c.fileno(),), env={}, cwd="/", stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True)
        finally:
            boot_c.close()
        try:
            boot_h.sendmsg([b".{}"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                       struct.pack("i", chan_c.fileno()))])
        finally:
            chan_c.close()
        deadline = time.monotonic() + self.start_timeout
        boot = _Agent("init", boot_h)
        hello = self._read_msg(boot, deadline, what="init's hello")
        self._init_hostpid = hello["_hostpid"]
        self.scratch_error = hello.get("scratch")    # mount/umount are refused if set
        a = _Agent("a", chan_h)
        self._agents["a"] = a
        hello = self._read_msg(a, deadline, what="process a's hello")
        if hello.get("err"):
            raise RealBackendError(f"process a could not start: {hello['err']}")
        a.pid, a.hostpid, self._caps = hello["pid"], hello["_hostpid"], hello["caps"]
        self._top = len(_nspid(self._init_hostpid)) - 1
        self._identify(a)
        self._state(a)

    def close(self) -> None:
        """Kill every process (by ending the pid namespace's init) and release everything."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._boot is not None:
                self._boot.close()          # init exits when the bootstrap socket closes
            init = self._read_stat(self._init_hostpid) if self._init_hostpid else None
            if init is not None and self._proc is not None and init[1] == self._proc.pid:
                try:        # killing the pid namespace's init kills every process in it
                    os.kill(self._init_hostpid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if self._proc is not None:
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(self._proc.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                    self._proc.wait(timeout=10)
        finally:
            for agent in self._agents.values():
                self._drop(agent)
            for fd in self._witnesses.values():
                os.close(fd)
            self._witnesses.clear()
            if self._stderr is not None:
                self._stderr.close()
            _OPEN.discard(self)

    def __enter__(self) -> "RealBackend":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stderr(self) -> str:
        """What the agents wrote to stderr so far (tracebacks of agent failures)."""
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    # --- the Backend interface -------------------------------------------------------------
    def capabilities(self) -> int:
        return self._caps

    def pid(self, label: str) -> int:
        return self._agents[label].pid

    def pid_seen_by(self, label: str, reader: str) -> int:
        """The label's number at the reader's level (NSpid), when its PID namespace at that
        level is the reader's own (found through NS_GET_PARENT); else 0."""
        target, viewer = self._agents[label], self._agents[reader]
        level = len(viewer.nspid) - 1
        if level < 0 or not target.pidns:
            return target.pid if label == reader or level < 0 else 0
        below = len(target.nspid) - 1 - level
        if below < 0 or below >= len(target.pidns) or target.pidns[below] != viewer.pidns[0]:
            return 0
        return target.nspid[level]

    def _identify(self, agent: _Agent) -> None:
        """Record the agent's pid in every PID namespace above it, and those namespaces,
        while it lives (pid_seen_by needs them after it ends too); its pid is the one in
        the scenario's first namespace (its parent's fork returned one in the parent's)."""
        agent.nspid = _nspid(agent.hostpid)
        agent.pidns = _pidns_chain(agent.hostpid)
        if len(agent.nspid) > self._top >= 0:
            agent.pid = agent.nspid[self._top]

    def call(self, label: str, method: str, args: tuple[Any, ...],
             new_label: str | None = None) -> Outcome:
        agent = self._agents[label]
        self._poll_messages(agent)
        if agent.pending is not None:
            raise ProcessBlockedError(f"process {label} is still blocked in {agent.pending}()")
        if agent.gone:
            raise ProcessGoneError(f"process {label} is gone")
        if method in ("fork", "clone"):
            if not new_label:
                raise ValueError(f"{method} needs a label for the new process")
            if method == "clone" and args and _unsafe_clone(args[0]):
                raise UnsafeCallError(f"clone flags {args[0] & UNSAFE_CLONE:#x} "
                                      f"(CLONE_VM/VFORK/SETTLS/FILES) are not run for real")
        agent.last_method = method
        try:
            self._send(agent, {"m": method, "a": _enc(tuple(args))})
        except OSError:
            self._drop(agent)
            raise ProcessGoneError(f"process {label} is gone") from None
        try:
            outcome = self._await_reply(agent, method)
            if outcome[0] == OK and method in ("fork", "clone"):
                self._adopt(agent, new_label, outcome[1])  # type: ignore[arg-type]  # (checked)
        finally:
            self._settle()
        if method in NS_RELEASING or outcome == (ERR, "process died"):
            self._await_namespace_deaths()
        return outcome

    def completed(self) -> list[tuple[str, Outcome]]:
        self._settle()
        done = []
        for agent in self._agents.values():
            if agent.pending is None:
                continue
            self._poll_messages(agent)
            if agent.held is None and not agent.gone:
                self._await_blocked_or_reply(agent)
            if agent.held is not None:
                reply, agent.held, agent.pending = agent.held, None, None
                done.append((reply["t"], agent.label, self._outcome(agent, reply)))
            elif agent.gone:
                agent.pending = None        # killed while blocked: nothing to report
        return [(label, outcome) for _, label, outcome in sorted(done)]

    def _await_blocked_or_reply(self, agent: _Agent) -> None:
        """A blocked call whose reply has not come must still be asleep in the call; one
        that is not is on its way back (this step woke it): wait for its reply (or its
        end), at most call_timeout."""
        deadline = time.monotonic() + self.call_timeout
        poller = select.poll()
        poller.register(agent.sock.fileno(), select.POLLIN)
        while not self._is_blocked(agent) and time.monotonic() < deadline:
            poller.poll(2)
            self._poll_messages(agent)
            if agent.held is not None or agent.gone:
                return

    def blocked(self) -> list[str]:
        for agent in self._agents.values():
            if agent.pending is not None:
                self._poll_messages(agent)
                if agent.gone and agent.held is None:
                    agent.pending = None
        return sorted(a.label for a in self._agents.values() if a.pending is not None)

    def signals_handled(self, label: str) -> list[int]:
        """The agent reports its list with every reply, and from its idle loop whenever a
        recording handler ran; this is the latest report (a dead process keeps its last)."""
        agent = self._agents[label]
        if not agent.gone:
            self._settle()
            self._poll_messages(agent)
        return [tuple(h) if isinstance(h, list) else h for h in agent.handled]

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of real time pass (no call in CALLS has a timeout yet)."""
        time.sleep(max(0.0, seconds))
        self._settle()

    # --- replies -----------------------------------------------------------------------------
    def _outcome(self, agent: _Agent, reply: dict[str, Any]) -> Outcome:
        status, value = reply["s"], reply.get("v")
        if status == "ok":
            return (OK, _dec(value))
        if status == "err":
            return (ERR, value)
        if status == "refused":
            raise UnsafeCallError(f"process {agent.label}: {value}")
        kind = reply.get("type", "")
        where = f"process {agent.label}.{agent.last_method}()"
        if kind == "TypeError":
            raise TypeError(f"{where}: {value}")
        if kind in ("ValueError", "OverflowError"):
            raise ValueError(f"{where}: {value}")
        raise RealBackendError(f"{where} failed in the agent: {value}")

    def _await_reply(self, agent: _Agent, method: str) -> Outcome:
        start = time.monotonic()
        deadline = start + self.call_timeout
        while True:
            try:
                reply = self._read_reply(agent, 0.002)
            except _Eof:
                self._drop(agent)
                return (ERR, "process died")
            if reply is not None:
                return self._outcome(agent, reply)
            now = time.monotonic()
            if now - start >= self.block_grace and self._is_blocked(agent) \
                    and self._quiet(exclude=agent):
                try:
                    reply = self._read_reply(agent, 0)    # it may have come meanwhile
                except _Eof:
                    self._drop(agent)
                    return (ERR, "process died")
                if reply is not None:
                    return self._outcome(agent, reply)
                agent.pending = method
                return (BLOCKED,)
            if now >= deadline:
                raise RealBackendError(
                    f"process {agent.label} (pid {agent.pid}, host pid {agent.hostpid}) did "
                    f"not answer {method}() within {self.call_timeout}s and is not blocked "
                    f"(state {self._state(agent)})\n{self.stderr()}")

    def _adopt(self, parent: _Agent, label: str, pid: int) -> None:
        if not parent.fds:
            raise RealBackendError(f"{parent.label}'s fork/clone reply carried no channel")
        fd = parent.fds.pop(0)
        child = _Agent(label, socket.socket(fileno=fd))
        child.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        child.pid = pid
        old = self._agents.pop(label, None)
        if old is not None:         # the label is bound again: keep watching the old one
            old.label = f"{label}#{old.hostpid}"
            self._agents[old.label] = old
        self._agents[label] = child
        try:
            hello = self._read_msg(child, time.monotonic() + self.call_timeout,
                                   what=f"process {label}'s hello")
        except _Eof:
            self._drop(child)       # it died before it said hello
            child.dead = True
            return
        child.hostpid = hello["_hostpid"]
        self._identify(child)
        self._state(child)

    # --- the channel ------------------------------------------------------------------------
    def _send(self, agent: _Agent, obj: dict[str, Any]) -> None:
        data = json.dumps(obj, separators=(",", ":")).encode()
        pieces = [data[i:i + _CHUNK] for i in range(0, len(data), _CHUNK)] or [b""]
        for i, piece in enumerate(pieces):
            flag = b"." if i == len(pieces) - 1 else b"+"
            agent.sock.sendmsg([flag + piece], [], socket.MSG_NOSIGNAL)

    def _recv_datagram(self, agent: _Agent, timeout: float) -> bool:
        """Read one datagram into agent.parts; False if none came within ``timeout``.
        Raises _Eof at end of file."""
        poller = select.poll()
        poller.register(agent.sock.fileno(), select.POLLIN)
        if not poller.poll(math.ceil(timeout * 1000) if timeout > 0 else 0):
            return False
        try:
            data, anc, flags, _ = agent.sock.recvmsg(_CHUNK + 64, _ANC,
                                                     socket.MSG_CMSG_CLOEXEC)
        except (ConnectionResetError, BrokenPipeError):
            raise _Eof from None
        for level, kind, payload in anc:
            if level != socket.SOL_SOCKET:
                continue
            if kind == socket.SCM_RIGHTS:
                n = len(payload) // 4
                agent.fds.extend(struct.unpack(f"{n}i", payload[:4 * n]))
            elif kind == socket.SCM_CREDENTIALS:
                agent.creds = struct.unpack("iII", payload[:12])[0]
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            raise RealBackendError(f"truncated message from process {agent.label}")
        if not data:
            raise _Eof
        agent.parts.append(data)
        return True

    def _read_one(self, agent: _Agent, timeout: float) -> dict[str, Any] | None:
        """One whole message (joining its pieces), or None if none started in time."""
        if not agent.parts and not self._recv_datagram(agent, timeout):
            return None
        while agent.parts[-1][:1] != b".":
            if not self._recv_datagram(agent, self.call_timeout):
                raise RealBackendError(f"process {agent.label} stopped in mid-message")
        msg: dict[str, Any] = json.loads(b"".join(p[1:] for p in agent.parts))
        agent.parts.clear()
        msg["_hostpid"] = agent.creds
        kinds = msg.get("fdk") or []
        if kinds:
            got = agent.fds[-len(kinds):]
            del agent.fds[-len(kinds):]
            for kind, fd in zip(kinds, got):
                if kind == "witness":
                    self._add_witness(msg["ns"], fd)
                else:
                    agent.fds.append(fd)
        if "h" in msg:
            agent.handled = list(msg["h"])
        return msg

    def _read_msg(self, agent: _Agent, deadline: float, what: str) -> dict[str, Any]:
        """The next message (a hello), waiting until ``deadline``."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RealBackendError(f"no {what} within the time allowed\n{self.stderr()}")
            try:
                msg = self._read_one(agent, min(remaining, 0.5))
            except _Eof:
                if agent.label in ("a", "init"):
                    raise RealBackendError(f"{what}: the process ended\n{self.stderr()}") \
                        from None
                raise
            if msg is not None:
                return msg

    def _read_reply(self, agent: _Agent, timeout: float) -> dict[str, Any] | None:
        """The reply to the current command, taking signal reports on the way."""
        end = time.monotonic() + timeout
        while True:
            msg = self._read_one(agent, max(0.0, end - time.monotonic()))
            if msg is None:
                return None
            if msg.get("k") == "r":
                return msg

    def _poll_messages(self, agent: _Agent) -> None:
        """Read what the agent has sent, without waiting: signal reports, and the reply of
        a blocked call (kept in agent.held). Marks the agent gone at EOF."""
        if agent.gone:
            return
        try:
            while True:
                msg = self._read_one(agent, 0)
                if msg is None:
                    return
                if msg.get("k") == "r":
                    if agent.pending is None:
                        raise RealBackendError(f"process {agent.label} answered a call that "
                                               f"was not blocked: {msg}")
                    agent.held = msg
        except _Eof:
            self._drop(agent)

    def _drop(self, agent: _Agent) -> None:
        agent.gone = True
        for fd in agent.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        agent.fds.clear()
        try:
            agent.sock.close()
        except OSError:
            pass

    # --- namespaces ------------------------------------------------------------------------
    def _add_witness(self, inum: int, fd: int) -> None:
        old = self._witnesses.get(inum)
        if old is not None and self._witness_alive(old):
            os.close(fd)
            return
        if old is not None:
            os.close(old)
        self._witnesses[inum] = fd

    @staticmethod
    def _witness_alive(fd: int) -> bool:
        try:
            os.pread(fd, 16, 0)
            return True
        except OSError as e:
            return e.errno != errno.ENOENT

    def _namespace_references(self) -> tuple[set[int], bool]:
        """The IPC namespaces that a process is in, holds a namespace descriptor of, or
        that a mount namespace a process is in has bind-mounted; and whether some
        reference cannot be told from outside: a /proc/sysvipc file held open (it pins its
        namespace), a shm attachment (it pins the namespace of its segment, which its
        mapping does not name), or a mount namespace no process is in, held by a descriptor
        or a bind mount (its own bind mounts cannot be listed)."""
        refs: set[int] = set()
        unsure = False
        mnt_in: set[int] = set()          # mount namespaces a process is in (listed)
        mnt_held: set[int] = set()        # mount namespaces a descriptor or mount holds
        hostpids = [self._init_hostpid] + [a.hostpid for a in self._agents.values()
                                            if not a.dead and a.hostpid > 0]
        for hostpid in hostpids:
            try:
                refs.add(os.stat(f"/proc/{hostpid}/ns/ipc").st_ino)
                mnt = os.stat(f"/proc/{hostpid}/ns/mnt").st_ino
                names = os.listdir(f"/proc/{hostpid}/fd")
            except OSError:
                continue
            if mnt not in mnt_in and self._bind_mounted(hostpid, refs, mnt_held):
                mnt_in.add(mnt)
            if not unsure and self._shm_attached(hostpid):
                unsure = True
            for name in names:
                try:
                    link = os.readlink(f"/proc/{hostpid}/fd/{name}")
                except OSError:
                    continue
                if link.startswith("ipc:["):
                    refs.add(int(link[5:-1]))
                elif link.startswith("mnt:["):
                    mnt_held.add(int(link[5:-1]))
                elif link.startswith("/proc/sysvipc/"):
                    unsure = True
                elif link.startswith("/") and not link.startswith("/proc/"):
                    # A namespace file opened through a bind mount: its link shows the
                    # mount's path. Its inode number is the namespace's.
                    try:
                        st = os.stat(f"/proc/{hostpid}/fd/{name}")
                    except OSError:
                        continue
                    if st.st_dev == self._nsfs_dev:
                        refs.add(st.st_ino)
        return refs, unsure or bool(mnt_held - mnt_in)

    @staticmethod
    def _shm_attached(hostpid: int) -> bool:
        """The process has a System V shared memory segment attached."""
        try:
            with open(f"/proc/{hostpid}/maps", "rb") as f:
                return b" /SYSV" in f.read()
        except OSError:
            return False

    @staticmethod
    def _bind_mounted(hostpid: int, refs: set[int], mnt_held: set[int]) -> bool:
        """Add the namespaces bind-mounted in the process's mount namespace (an nsfs mount
        whose root is ``ipc:[N]`` or ``mnt:[N]`` in /proc/PID/mountinfo). False if its
        mountinfo could not be read."""
        try:
            with open(f"/proc/{hostpid}/mountinfo", "rb") as f:
                lines = f.read().splitlines()
        except OSError:
            return False
        for line in lines:
            fields = line.split(b" ")
            if len(fields) < 5 or b" - nsfs " not in line:
                continue
            root = fields[3]
            if root.startswith(b"ipc:[") and root.endswith(b"]"):
                refs.add(int(root[5:-1]))
            elif root.startswith(b"mnt:[") and root.endswith(b"]"):
                mnt_held.add(int(root[5:-1]))
        return True

    def _await_namespace_deaths(self) -> None:
        """Linux frees an IPC namespace asynchronously (a work item after an RCU grace
        period: some 20-50 ms here); ipcsim at once. Wait until every namespace that no
        process is in or holds a descriptor of, and no bind mount holds, has been freed, as
        its witness shows."""
        for inum, fd in list(self._witnesses.items()):
            if not self._witness_alive(fd):
                os.close(fd)
                del self._witnesses[inum]
        if not self._witnesses:
            return
        refs, unsure = self._namespace_references()
        dying = {inum for inum in self._witnesses if inum not in refs}
        if not dying:
            return
        key = (frozenset(dying), frozenset(refs), unsure)
        if key == self._ns_waited:
            return          # waited for these already: something else holds them
        deadline = time.monotonic() + (self.ns_unsure_timeout if unsure else
                                       self.ns_free_timeout)
        while dying and time.monotonic() < deadline:
            time.sleep(0.002)
            for inum in list(dying):
                fd = self._witnesses[inum]
                if not self._witness_alive(fd):
                    os.close(fd)
                    del self._witnesses[inum]
                    dying.discard(inum)
        self._ns_waited = key if dying else None

    # --- process states ---------------------------------------------------------------------
    @staticmethod
    def _read_stat(hostpid: int) -> tuple[str, int, int] | None:
        """(state, host ppid, start time) from /proc/PID/stat, or None if it is gone."""
        if hostpid <= 0:
            return None
        try:
            fd = os.open(f"/proc/{hostpid}/stat", os.O_RDONLY)
        except OSError:
            return None
        try:
            data = os.read(fd, 4096)
        except OSError:
            return None
        finally:
            os.close(fd)
        fields = data[data.rfind(b")") + 2:].split()
        try:
            return chr(fields[0][0]), int(fields[1]), int(fields[19])
        except (IndexError, ValueError):
            return None

    def _state(self, agent: _Agent) -> str:
        """The agent's state letter (as in /proc/PID/stat); "X" once it is gone from /proc,
        and "~" while it is being released (EXIT_DEAD, or a zombie whose parent is init,
        which reaps at once): not quiet yet. Once gone, its pid is never read again (a start
        time check guards against a reused pid)."""
        if agent.dead:
            return "X"
        stat = self._read_stat(agent.hostpid)
        if stat is None or (agent.start and stat[2] != agent.start):
            agent.dead = True
            return "X"
        agent.start = stat[2]
        if stat[0] in "Xx" or (stat[0] == "Z" and stat[1] == self._init_hostpid):
            return "~"      # being released: it still counts for kill() and getpgid()
        return stat[0]

    @staticmethod
    def _syscall_nr(hostpid: int) -> int | None:
        """The system call the process sleeps in (-1: asleep outside one), RUNNING when it
        is not asleep, None when /proc/PID/syscall cannot be read. Reading that file waits
        until the process is off the CPU and off the run queue in the state it shows, or
        has left that state ("running"): a process preempted between setting its sleeping
        state and sleeping is not taken for asleep."""
        try:
            fd = os.open(f"/proc/{hostpid}/syscall", os.O_RDONLY)
        except OSError:
            return None
        try:
            first = os.read(fd, 256).split(None, 1)[0]
        except (OSError, IndexError):
            return None
        finally:
            os.close(fd)
        if first == b"running":
            return RUNNING
        try:
            return int(first)
        except ValueError:
            return None

    def _is_blocked(self, agent: _Agent) -> bool:
        """Asleep in the call (not in the agent's idle wait), or stopped."""
        state = self._state(agent)
        if state in ("T", "t"):
            return True
        if state != "S":
            return False
        nr = self._syscall_nr(agent.hostpid)
        if nr == RUNNING or (nr is not None and nr in IDLE_SYSCALLS):
            return False
        return self._state(agent) == "S"

    def _quiet(self, exclude: _Agent | None = None) -> bool:
        """Every agent sleeps, is stopped or has ended; two passes, in both orders, so that
        a process woken by one checked earlier in the pass is seen.

        The state letter alone is not enough: a process shows S (or T) from the moment it
        sets that state, also while it still runs or waits for a CPU (wait4 reaps a child
        in state S, then returns: under load it may be preempted there, and its reply is
        still to come), so a sleeping state is confirmed through /proc/PID/syscall. Between
        the passes, a read of init's children list takes the kernel's tasklist lock, under
        which an exiting process becomes a zombie and wakes its parent's wait: a zombie the
        first pass saw has then woken its parent."""
        agents = [a for a in self._agents.values() if a is not exclude and not a.dead]
        if not self._all_quiet(agents):
            return False
        self._tasklist_barrier()
        return self._all_quiet(reversed(agents))

    def _all_quiet(self, agents: Iterable[_Agent]) -> bool:
        for agent in agents:
            state = self._state(agent)
            if state not in QUIET_STATES:
                return False
            if state in "STt" and self._syscall_nr(agent.hostpid) == RUNNING:
                return False
        return True

    def _tasklist_barrier(self) -> None:
        """Wait for the exits and reaps that hold the tasklist lock (see :meth:`_quiet`)."""
        pid = self._init_hostpid
        try:
            fd = os.open(f"/proc/{pid}/task/{pid}/children", os.O_RDONLY)
        except OSError:
            return
        try:
            os.read(fd, 4096)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _settle(self) -> None:
        """Wait until every agent is quiet (at most settle_timeout)."""
        deadline = time.monotonic() + self.settle_timeout
        pause = 0.0001
        while not self._quiet():
            if time.monotonic() >= deadline:
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.002)


__all__ = ["RealBackend", "available", "available_userns", "available_for", "UNPRIVILEGED_UID", "RealBackendError", "ProcessGoneError",
           "ProcessBlockedError", "UnsafeCallError", "AGENT_SOURCE"]
