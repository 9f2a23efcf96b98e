"""Who the fakes act as, and the host kernel they use outside a simulation.

A fake call acts as one process of one Kernel:

* in a program that a Kernel runs (``fork(target=fn)``), as that program's process, in its
  IPC namespace, through the ordinary system call entry (a switch point, traced, ...);
* in any other thread while :func:`bind` is in effect (the pytest fixture ``ipc_kernel``
  uses it), as the bound process;
* otherwise as the *host process* of the *host kernel*: a Kernel made on first use whose
  process mirrors the real one (its pid, uids, gids and capabilities). Its
  clock is the real clock and any number of real threads may call into it at once: one lock
  (the big kernel lock) serialises every call, and a call that blocks waits on a condition of
  that lock, so that another thread's call can wake it or its timeout can pass in real time.

The simulated paths take no lock: a simulation is driven by one thread at a time.
"""
from __future__ import annotations

import ctypes
import os
import random
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..constants import CAP_FULL_SET, PID_MAX_DEFAULT
from ..errors import SimulationError
from ..kernel.creds import Creds
from ..kernel.kernel import Kernel
from ..kernel.process import Process
from ..kernel.waitq import SIGNAL, TIMEOUT, Waiter
from ..sim.clock import NS, Clock
from ..sim.executor import running
from ..sim.scheduler import Scheduler
from ._binding import Binding

if TYPE_CHECKING:
    from ..kernel.mqueue import SigInfo
    from ..sim.scheduler import Task


# --- the host kernel: real time, real threads ---------------------------------------------
_monotonic_ns = time.monotonic_ns
_time_ns = time.time_ns


class RealClock(Clock):
    """The host kernel's clock: ``now()`` is real monotonic time since the kernel was made,
    ``time()`` and ``wall`` the real wall clock (what IPC timestamps record). Each is read
    when it is asked for, so that only the calls that store a timestamp or compute a
    deadline read the time. It cannot be advanced."""

    __slots__ = ("_base",)

    def __init__(self, sched: Scheduler) -> None:
        super().__init__(sched, 0)
        self._base = _monotonic_ns()

    @property                                   # (over the slot the hot paths read)
    def wall(self) -> int:
        """The real wall clock in whole seconds, read now."""
        return _time_ns() // NS

    @wall.setter
    def wall(self, value: int) -> None:
        pass                                    # (Clock.__init__'s: the real one runs alone)

    def now(self) -> float:
        return (_monotonic_ns() - self._base) / NS

    def now_ns(self) -> int:
        return _monotonic_ns() - self._base

    def time(self) -> int:
        return _time_ns() // NS

    def advance(self, seconds: float) -> None:
        raise SimulationError("the host kernel follows the real clock; it cannot be advanced")


_handler_errors = threading.local()


def handler_error() -> BaseException | None:
    """The exception a Python signal handler raised while this thread's call waited on the
    host kernel (that call then failed with EINTR), taken once."""
    error = getattr(_handler_errors, "error", None)
    _handler_errors.error = None
    return error


_wakeup: tuple[int, int] | None = None
_wakeup_pid = 0                         # (a forked child makes its own pipe)


def wakeup_pipe() -> tuple[int, int]:
    """This process's pipe for the signal module's wakeup bytes (non-blocking), made on
    first use: the host kernel's waits and a kernel server's client (ipcsim.remote) watch
    signals through it."""
    global _wakeup, _wakeup_pid
    pid = os.getpid()
    if _wakeup is None or _wakeup_pid != pid:
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        _wakeup, _wakeup_pid = (r, w), pid
    return _wakeup


def drain_pipe(fd: int) -> bool:
    """Read every byte waiting in ``fd``; whether there were any (a signal came)."""
    got = False
    try:
        while os.read(fd, 512):
            got = True
    except BlockingIOError:
        pass
    return got


class _SignalWatch:
    """Whether a signal with a Python handler arrived while the main thread waits in a
    blocked call: through the wakeup fd of the signal module (a byte for each such signal),
    set for the wait when nobody else uses it (asyncio's loop does; then no watch)."""

    SLICE = 0.05                        # how soon a handled signal ends the wait (seconds)

    def __init__(self, pipe: tuple[int, int]) -> None:
        self._pipe = pipe

    @classmethod
    def start(cls) -> "_SignalWatch | None":
        if threading.current_thread() is not threading.main_thread():
            return None                 # the kernel gives a signal to the main thread
        try:
            pipe = wakeup_pipe()
            old = signal.set_wakeup_fd(pipe[1], warn_on_full_buffer=False)
        except (ValueError, OSError):       # (not where the signal module allows it)
            return None
        if old != -1:                   # someone else's: leave it
            signal.set_wakeup_fd(old)
            return None
        watch = cls(pipe)
        watch.drain()
        return watch

    def drain(self) -> bool:
        return drain_pipe(self._pipe[0])

    def fired(self) -> bool:
        return self.drain()

    def stop(self) -> None:
        signal.set_wakeup_fd(-1)
        self.drain()


class RealTimeScheduler(Scheduler):
    """Blocking for the host kernel: a blocked call waits on a condition of the big kernel
    lock (released meanwhile) until a waker, or its real-time deadline, ends the wait."""

    def __init__(self, kernel: Kernel, seed: int, epoch: int, policy: str = "random",
                 executor: str | None = None) -> None:
        super().__init__(kernel, seed, epoch, policy, "threads")
        self.clock = RealClock(self)
        self.lock = threading.Lock()

    def add_thread(self, task: Task) -> None:
        """A SIGEV_THREAD notification starts at once, in a real thread of its own, as
        glibc's helper thread would."""
        def body() -> None:
            running.task = None          # the callback's fake calls act as the host process
            task.fn(task.process, *task.args)

        threading.Thread(target=body, daemon=True, name="ipcsim-notify").start()

    def block(self, w: Waiter, deadline: int | None = None) -> int:
        cond = threading.Condition(self.lock)
        w.task = cond                   # type: ignore[assignment]  # (this scheduler's use)
        clock = self.clock
        watch = _SignalWatch.start()
        _handler_errors.error = None
        try:
            while w.reason is None:
                if watch is not None and watch.fired():
                    # a signal's Python handler ran and returned: EINTR, as the system
                    # call of the real package would fail
                    self._cancel(w)
                    w.reason = SIGNAL
                    break
                if deadline is None:
                    cond.wait(None if watch is None else _SignalWatch.SLICE)
                    continue
                left = deadline - clock.now_ns()
                if left <= 0:
                    self._cancel(w)
                    w.reason = TIMEOUT
                    break
                cond.wait(left / NS if watch is None else min(left / NS, _SignalWatch.SLICE))
        except KeyboardInterrupt:
            # Ctrl-C (or a handler that raised it): the call ends as if interrupted, off
            # every queue, so that no waker hands it a message, and the exception goes on
            if w.reason is None:
                self._cancel(w)
                w.reason = SIGNAL
            raise
        except BaseException as e:
            # A Python signal handler raised something else: the call fails with EINTR and
            # the fakes decide what becomes of the exception (see handler_error)
            if w.reason is None:
                self._cancel(w)
                w.reason = SIGNAL
            _handler_errors.error = e
        finally:
            w.task = None
            if watch is not None:
                watch.stop()
        return w.reason

    def unblock(self, w: Waiter, reason: int, result: object = None) -> bool:
        if w.reason is not None:
            return False
        w.reason = reason
        w.result = result
        self._cancel(w)
        cond: threading.Condition | None = w.task     # type: ignore[assignment]  # (block's)
        if cond is not None:
            cond.notify()
        return True


def _host_capabilities() -> dict[str, int]:
    """This process's capability sets where Linux shows them (/proc/self/status): a
    container's root may lack some (CAP_SYS_RESOURCE, say). Empty elsewhere."""
    names = {"CapInh": "cap_inheritable", "CapPrm": "cap_permitted",
             "CapEff": "cap_effective", "CapBnd": "cap_bset"}
    try:
        with open("/proc/self/status") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    sets = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in names:
            sets[names[key]] = int(value.strip(), 16)
    return sets if len(sets) == len(names) else {}


# --- the host process's credentials: this process's own, read when the model reads them ----
if hasattr(os, "getresuid"):
    _getresuid, _getresgid = os.getresuid, os.getresgid
elif hasattr(os, "geteuid"):                # (no saved ids to read: the effective ones)
    def _getresuid() -> tuple[int, int, int]:
        euid = os.geteuid()
        return os.getuid(), euid, euid

    def _getresgid() -> tuple[int, int, int]:
        egid = os.getegid()
        return os.getgid(), egid, egid
else:                                       # no user ids at all: root
    def _getresuid() -> tuple[int, int, int]:
        return 0, 0, 0

    _getresgid = _getresuid
_getuid: Callable[[], int] = getattr(os, "getuid", lambda: 0)
_geteuid: Callable[[], int] = getattr(os, "geteuid", lambda: 0)
_getgid: Callable[[], int] = getattr(os, "getgid", lambda: 0)
_getegid: Callable[[], int] = getattr(os, "getegid", lambda: 0)
_getgroups: Callable[[], list[int]] = getattr(os, "getgroups", lambda: [])


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _libc_capget() -> Callable[[], Any] | None:
    """capget(2) of the calling thread through libc: its two ``_CapData`` words (low and
    high 32 capabilities; a buffer of the thread's, valid until its next capget), or None
    on a failure; None where libc has no capget (elsewhere than Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).capget
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    fn.restype = ctypes.c_int
    buffers = threading.local()                 # (each thread's own, made once)

    def capget() -> Any:
        try:
            header, ref, data = buffers.made
        except AttributeError:
            header, data = _CapHeader(), (_CapData * 2)()
            ref = ctypes.byref(header)
            buffers.made = header, ref, data
        header.version, header.pid = 0x20080522, 0  # _LINUX_CAPABILITY_VERSION_3: 2 words
        return data if fn(ref, data) == 0 else None
    return capget


_capget = _libc_capget()


def _cap_sets() -> tuple[int, int, int]:
    """This process's (effective, permitted, inheritable) capability sets now: capget(2),
    else /proc/self/status, else every capability for euid 0 (permitted: for a uid 0 among
    the real, effective and saved ones) and none for others."""
    data = _capget() if _capget is not None else None
    if data is not None:
        lo, hi = data[0], data[1]
        sets = (lo.effective | hi.effective << 32, lo.permitted | hi.permitted << 32,
                lo.inheritable | hi.inheritable << 32)
    else:
        status = _host_capabilities()
        if status:
            sets = (status["cap_effective"], status["cap_permitted"],
                    status["cap_inheritable"])
        else:
            ids = _getresuid()
            sets = (CAP_FULL_SET if ids[1] == 0 else 0, CAP_FULL_SET if 0 in ids else 0, 0)
    return sets[0] & CAP_FULL_SET, sets[1] & CAP_FULL_SET, sets[2] & CAP_FULL_SET


def _cap_effective() -> int:
    """The effective set alone (what a capability check reads), as _cap_sets() finds it."""
    data = _capget() if _capget is not None else None
    if data is None:
        return _cap_sets()[0]
    effective: int = data[0].effective | data[1].effective << 32
    return effective & CAP_FULL_SET


def _live(read: Callable[[], int | tuple[int, ...]], name: str) -> Any:
    """A field of HostCreds: ``read()`` at each read; a write raises AttributeError."""
    def get(self: Creds) -> int | tuple[int, ...]:
        return read()

    def refuse(self: Creds, value: object) -> None:
        raise AttributeError(f"{name} of the host process is this process's own: change it "
                             f"with the os module (os.setresuid, os.setgroups, ...)")
    return property(get, refuse, doc=f"This process's {name}, read now.")


class HostCreds(Creds):
    """The host process's credentials: each field the model reads is this process's own at
    that moment (uids and gids from getuid(2), geteuid(2), getresuid(2) and their gid twins,
    the supplementary groups from getgroups(2), the capability sets from capget(2), the
    bounding set from /proc/self/status), so that every check of a fake call is made with
    what the process has then, whatever changed it: os.seteuid and its kin, os.setgroups,
    capset(2) or prctl(2) through ctypes, Linux's own rules for capabilities on a change of
    uid. Nothing is cached, and nothing is read that the model does not look at: the hot
    System V calls read the effective uid (one geteuid(2) for the owner's check), the POSIX
    queue and semaphore calls read nothing. The filesystem ids are the effective ones
    (setfsuid(2), which the os module does not offer, is not followed).

    ``copy()`` gives ordinary Creds holding the values of the moment: a process forked from
    the host process has those, and a credential call of the model made on the host process
    itself (``setuid``, ``capset``, ...) gives it credentials of its own from then on."""

    __slots__ = ()

    def __init__(self) -> None:           # (nothing to store)
        pass

    uid = _live(_getuid, "real uid")
    euid = _live(_geteuid, "effective uid")
    suid = _live(lambda: _getresuid()[2], "saved uid")
    fsuid = _live(_geteuid, "filesystem uid")
    gid = _live(_getgid, "real gid")
    egid = _live(_getegid, "effective gid")
    sgid = _live(lambda: _getresgid()[2], "saved gid")
    fsgid = _live(_getegid, "filesystem gid")
    groups = _live(lambda: tuple(sorted(set(_getgroups()))), "supplementary groups")
    cap_effective = _live(_cap_effective, "effective capability set")
    cap_permitted = _live(lambda: _cap_sets()[1], "permitted capability set")
    cap_inheritable = _live(lambda: _cap_sets()[2], "inheritable capability set")
    cap_bset = _live(lambda: _host_capabilities().get("cap_bset", CAP_FULL_SET) & CAP_FULL_SET,
                     "capability bounding set")

    def capable(self, cap: int) -> bool:
        return (_cap_effective() >> cap) & 1 == 1


class HostKernel(Kernel):
    """The kernel the fakes use outside a simulation; see the module docstring. Its host
    process has this process's pid, and its credentials as they are at each moment
    (:class:`HostCreds`). Signals for the host process (an mq notification by signal) go to the real process, once the call
    that raised them has let go of the kernel lock."""

    _scheduler_class = RealTimeScheduler
    sched: RealTimeScheduler

    def __init__(self) -> None:
        pid = os.getpid()
        super().__init__(seed=random.SystemRandom().randrange(1 << 32),
                         pid_max=max(PID_MAX_DEFAULT, pid + 1))
        self.lock: threading.Lock = self.sched.lock
        self.pending_signals: list[int] = []
        if pid == 1:
            self.host_process = self.init
        else:
            self._last_pid = pid - 1
            self.host_process = self.init.fork()
        self.host_process.creds = HostCreds()
        self.host_process.comm = "python3"

    def _copy_process(self, parent: Process, flags: int,
                      target: Callable[..., object] | None, args: Sequence[Any]) -> Process:
        if target is not None:
            raise SimulationError("the host kernel runs no programs: make an ipcsim.Kernel "
                                  "to simulate several processes")
        child = super()._copy_process(parent, flags, target, args)
        if isinstance(child.creds, HostCreds):      # the parent's of the moment, kept
            child.creds = child.creds.copy()
        return child

    def _send_signal(self, t: Process, sig: int, info: SigInfo | None = None) -> None:
        if t is self.host_process:
            self.pending_signals.append(sig)
            return
        super()._send_signal(t, sig, info)

    def raise_pending_signals(self) -> None:
        """Send the signals queued for the host process to the real process (called
        without the kernel lock, so that a handler may use the fakes)."""
        while self.pending_signals:
            with self.lock:
                sigs, self.pending_signals = self.pending_signals, []
            for sig in sigs:
                os.kill(os.getpid(), sig)


_host: HostKernel | None = None
_host_lock = threading.Lock()


def host_kernel() -> HostKernel:
    """The host kernel (made on first use; a forked child makes its own). The fakes take its
    ``lock`` around every call; code that calls its processes' methods directly must hold
    that lock too when other threads use the fakes."""
    global _host
    host = _host
    if host is None:
        with _host_lock:
            if _host is None:
                _host = HostKernel()
            host = _host
    return host


def _forget_host() -> None:
    """In a forked child: a host kernel of its own on first use (and a fresh lock for
    making it, in case another thread of the parent held that one at the fork)."""
    global _host, _host_lock
    _host = None
    _host_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_host)


# --- binding -------------------------------------------------------------------------------
_bound: Binding | None = None


# --- a kernel server (ipcsim.remote): the fakes' calls go there instead of the host kernel --
def _attach_lazily(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """The first call of a process started with ``IPCSIM_SERVER`` in its environment:
    attach to that server, then call there."""
    from ..remote.client import attach_from_environment
    remote = attach_from_environment()
    if remote is None:                          # (the variable went away meanwhile)
        global _remote
        _remote = None
        return call(fn, *args)
    return remote(fn, args)


_remote: Callable[[Callable[..., Any], tuple[Any, ...]], Any] | None = (
    _attach_lazily if os.environ.get("IPCSIM_SERVER") else None)


@contextmanager
def bind(process: Process) -> Iterator[Process]:
    """Make the fakes act as ``process`` in every thread that is not a program until the
    block ends: the caller's thread, and threads started meanwhile, each as a thread of
    ``process`` (the rules: :mod:`ipcsim.compat._binding`). Programs of ``process.kernel``
    still act as themselves. Bindings nest."""
    global _bound
    if not isinstance(process, Process):
        raise TypeError(f"bind() needs an ipcsim Process, not {type(process).__name__}")
    binding = Binding(process, _bound)
    sched = process.kernel.sched
    saved_sched, saved_here = sched.binding, running.bound
    _bound = sched.binding = running.bound = binding
    try:
        yield process
    finally:
        _bound = binding.outer
        sched.binding = saved_sched
        running.bound = saved_here


def current_process() -> Process:
    """The process the fakes act as in the calling thread (attached to a kernel server:
    an :class:`ipcsim.remote.RemoteProcess`, which runs each call in the server)."""
    task = running.task
    if task is not None:
        proc = task.process
        return getattr(proc, "owner", proc)      # a notification thread acts as its owner
    if _bound is not None:
        return _bound.process
    if _remote is not None:
        from ..remote.client import RemoteProcess, attach_from_environment
        remote = attach_from_environment() if _remote is _attach_lazily else _remote
        return RemoteProcess(remote)            # type: ignore[arg-type, return-value]
    return host_kernel().host_process


def current_kernel() -> Kernel:
    """The kernel the fakes use in the calling thread."""
    return current_process().kernel


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(process, *args)`` as the process the fakes act as: a program's own process;
    the bound process, under the binding's lock (threads of a test take turns); or the host
    process, under the host kernel's lock."""
    here = running
    task = here.task
    if task is not None:
        proc = task.process
        return fn(getattr(proc, "owner", proc), *args)
    bound = here.bound                  # set in the thread that made the binding only
    if bound is not None:
        # The owner alone (no other thread has called): no lock, a count of the calls it
        # is inside instead, set before ``solo`` is read again (see Binding._share)
        if bound.solo:
            bound.inside += 1
            if bound.solo:
                try:
                    return fn(bound.process, *args)
                finally:
                    bound.inside -= 1
                    if bound.owner_locked and not bound.inside:
                        bound.unlock_owner()
            bound.inside -= 1
        return bound.call(fn, args)
    bound = _bound
    if bound is not None:
        return bound.call(fn, args)
    remote = _remote
    if remote is not None:              # attached to a kernel server (ipcsim.remote)
        return remote(fn, args)
    # the host kernel: its lock (acquire and release, cheaper than a with statement); the
    # clock is read where the call stores a timestamp, the credentials where it checks them
    host = _host or host_kernel()
    host_lock = host.lock
    host_lock.acquire()
    try:
        return fn(host.host_process, *args)
    finally:
        host_lock.release()
        if host.pending_signals:
            host.raise_pending_signals()
