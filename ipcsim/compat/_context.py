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

import os
import random
import signal
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from ..constants import CAP_FULL_SET, PID_MAX_DEFAULT
from ..errors import SimulationError
from ..kernel.creds import Creds
from ..kernel.kernel import Kernel
from ..kernel.process import Process
from ..kernel.waitq import SIGNAL, TIMEOUT, Waiter
from ..sim.clock import NS, Clock
from ..sim.executor import running
from ..sim.scheduler import Scheduler


# --- the host kernel: real time, real threads ---------------------------------------------
class RealClock(Clock):
    """The host kernel's clock: ``now()`` is real monotonic time since the kernel was made,
    ``time()`` the real wall clock (what IPC timestamps record). It cannot be advanced."""

    __slots__ = ("_base",)

    def __init__(self, sched):
        super().__init__(sched, 0)
        self._base = time.monotonic_ns()
        self.sync()

    def sync(self) -> None:
        """Bring the cached readings the hot paths use up to the present."""
        self._ns = time.monotonic_ns() - self._base
        self.wall = time.time_ns() // NS

    def now(self) -> float:
        self.sync()
        return self._ns / NS

    def now_ns(self) -> int:
        self.sync()
        return self._ns

    def time(self) -> int:
        self.sync()
        return self.wall

    def advance(self, seconds: float) -> None:
        raise SimulationError("the host kernel follows the real clock; it cannot be advanced")


_handler_errors = threading.local()


def handler_error() -> BaseException | None:
    """The exception a Python signal handler raised while this thread's call waited on the
    host kernel (that call then failed with EINTR), taken once."""
    error = getattr(_handler_errors, "error", None)
    _handler_errors.error = None
    return error


class _SignalWatch:
    """Whether a signal with a Python handler arrived while the main thread waits in a
    blocked call: through the wakeup fd of the signal module (a byte for each such signal),
    set for the wait when nobody else uses it (asyncio's loop does; then no watch)."""

    SLICE = 0.05                        # how soon a handled signal ends the wait (seconds)
    _pipe: tuple[int, int] | None = None
    _pid = 0                            # (a forked child makes its own pipe)

    @classmethod
    def start(cls) -> "_SignalWatch | None":
        if threading.current_thread() is not threading.main_thread():
            return None                 # the kernel gives a signal to the main thread
        try:
            if cls._pipe is None or cls._pid != os.getpid():
                r, w = os.pipe()
                os.set_blocking(r, False)
                os.set_blocking(w, False)
                cls._pipe, cls._pid = (r, w), os.getpid()
            old = signal.set_wakeup_fd(cls._pipe[1], warn_on_full_buffer=False)
        except (ValueError, OSError):       # (not where the signal module allows it)
            return None
        if old != -1:                   # someone else's: leave it
            signal.set_wakeup_fd(old)
            return None
        watch = cls()
        watch.drain()
        return watch

    def drain(self) -> bool:
        got = False
        try:
            while os.read(self._pipe[0], 512):
                got = True
        except BlockingIOError:
            pass
        return got

    def fired(self) -> bool:
        return self.drain()

    def stop(self) -> None:
        signal.set_wakeup_fd(-1)
        self.drain()


class RealTimeScheduler(Scheduler):
    """Blocking for the host kernel: a blocked call waits on a condition of the big kernel
    lock (released meanwhile) until a waker, or its real-time deadline, ends the wait."""

    def __init__(self, kernel, seed: int, epoch: int, policy: str = "random",
                 executor: str | None = None):
        super().__init__(kernel, seed, epoch, policy, "threads")
        self.clock = RealClock(self)
        self.lock = threading.Lock()

    def add_thread(self, task) -> None:
        """A SIGEV_THREAD notification starts at once, in a real thread of its own, as
        glibc's helper thread would."""
        def body():
            running.task = None          # the callback's fake calls act as the host process
            task.fn(task.process, *task.args)

        threading.Thread(target=body, daemon=True, name="ipcsim-notify").start()

    def block(self, w: Waiter, deadline: int | None = None) -> int:
        cond = threading.Condition(self.lock)
        w.task = cond
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
        clock.sync()
        return w.reason

    def unblock(self, w: Waiter, reason: int, result=None) -> bool:
        if w.reason is not None:
            return False
        w.reason = reason
        w.result = result
        self._cancel(w)
        cond = w.task
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


class HostKernel(Kernel):
    """The kernel the fakes use outside a simulation; see the module docstring. Its host
    process has this process's pid, uids, gids and capabilities. Signals for
    the host process (an mq notification by signal) go to the real process, once the call
    that raised them has let go of the kernel lock."""

    _scheduler_class = RealTimeScheduler

    def __init__(self):
        pid = os.getpid()
        super().__init__(seed=random.SystemRandom().randrange(1 << 32),
                         pid_max=max(PID_MAX_DEFAULT, pid + 1))
        self.lock: threading.Lock = self.sched.lock
        self.pending_signals: list[int] = []
        euid = os.geteuid()
        creds = Creds(os.getuid(), os.getgid(), CAP_FULL_SET if euid == 0 else 0,
                      tuple(sorted(set(os.getgroups()))))
        creds.euid = creds.suid = creds.fsuid = euid
        creds.egid = creds.sgid = creds.fsgid = os.getegid()
        for field, value in _host_capabilities().items():
            setattr(creds, field, value & CAP_FULL_SET)
        if pid == 1:
            self.host_process = self.init
        else:
            self._last_pid = pid - 1
            self.host_process = self.init.fork()
        self.host_process.creds = creds
        self.host_process.comm = "python3"

    def _copy_process(self, parent: Process, flags: int, target, args) -> Process:
        if target is not None:
            raise SimulationError("the host kernel runs no programs: make an ipcsim.Kernel "
                                  "to simulate several processes")
        return super()._copy_process(parent, flags, target, args)

    def _send_signal(self, t: Process, sig: int, info=None) -> None:
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
_bound: Process | None = None


@contextmanager
def bind(process: Process) -> Iterator[Process]:
    """Make the fakes act as ``process`` in every thread that is not a program (the caller's
    thread, mostly) until the block ends; programs of ``process.kernel`` still act as
    themselves. Bindings nest. Only one thread at a time may drive a simulated kernel."""
    global _bound
    if not isinstance(process, Process):
        raise TypeError(f"bind() needs an ipcsim Process, not {type(process).__name__}")
    saved, _bound = _bound, process
    try:
        yield process
    finally:
        _bound = saved


def current_process() -> Process:
    """The process the fakes act as in the calling thread."""
    task = running.task
    if task is not None:
        proc = task.process
        return getattr(proc, "owner", proc)      # a notification thread acts as its owner
    if _bound is not None:
        return _bound
    return host_kernel().host_process


def current_kernel() -> Kernel:
    """The kernel the fakes use in the calling thread."""
    return current_process().kernel


def call(fn: Callable, *args):
    """Run ``fn(process, *args)`` as the process the fakes act as; on the host kernel, under
    its lock, with the clock brought up to date."""
    task = running.task
    if task is not None:
        proc = task.process
        return fn(getattr(proc, "owner", proc), *args)
    if _bound is not None:
        return fn(_bound, *args)
    host = _host or host_kernel()
    try:
        with host.lock:
            host.clock.sync()
            return fn(host.host_process, *args)
    finally:
        if host.pending_signals:
            host.raise_pending_signals()
