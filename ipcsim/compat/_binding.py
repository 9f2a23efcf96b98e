"""A process bound for the fakes, and the real threads that share it.

While :func:`ipcsim.compat.bind` is in effect, every thread that is not a program acts as the
bound process: the thread that bound it (the *owner*: a test's own thread, under the pytest
fixture) and any thread started meanwhile, each as a thread of that process (same pid, same
credentials, same IPC namespace).

The rules, which hold on either executor:

* Calls are serialised: each takes the binding's lock (re-entrant), as does the owner's
  ``Kernel.run()``. A call that does not block runs at once, as it would on Linux.
* Only the owner runs programs (greenlets belong to the thread that made them): while it
  is inside a call or ``run()``. A program that another thread's call makes runnable waits
  for the owner's next call.
* A blocked call waits on the binding's condition until a call of another thread, a program
  or a timer ends the wait. Virtual time jumps to the next timer when every live thread of
  the test is blocked in the kernel, or when the kernel has been left alone (no call began
  or ended) for ``IDLE`` seconds of real time while a thread waits: a thread that polls with
  a timeout while the owner joins it therefore ends its waits, a few milliseconds each.
* When every live thread of the test is blocked in the kernel, no program can run and no
  timer is set, each of them raises :class:`~ipcsim.DeadlockError` (on Linux they would all
  wait for ever). A thread that waits outside the kernel (``join``, a lock, a socket) keeps
  the others waiting as it would on Linux.

A test without threads sees none of this: its blocking calls behave exactly as unbound
kernel calls do (same seed, same run).
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..kernel.waitq import TIMEOUT, Waiter
from ..sim.scheduler import BLOCKED, RUNNABLE

if TYPE_CHECKING:
    from ..kernel.process import Process
    from ..sim.scheduler import Scheduler

IDLE = 0.01     # seconds of real time with no call before a waiting thread moves the clock


class Binding:
    """The process the fakes act as outside the programs, and its threads."""

    __slots__ = ("process", "owner", "baseline", "lock", "cond", "blocked", "deadlocked",
                 "outer", "solo", "inside", "owner_locked")

    def __init__(self, process: Process, outer: Binding | None) -> None:
        self.process = process
        self.owner = threading.get_ident()
        # threads alive now belong to someone else (pytest's, a session's): only those
        # started from here on are the test's, and the owner itself
        self.baseline = {t.ident for t in threading.enumerate()} - {self.owner}
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.blocked: dict[int, Waiter] = {}   # threads of the test blocked in the kernel
        self.deadlocked = False
        self.outer = outer
        # Until a second thread calls, the owner's calls take no lock (see call()): it
        # counts the calls it is inside, so that the first other thread can wait for them
        self.solo = True
        self.inside = 0
        self.owner_locked = False   # the owner took the lock inside such a call (to wait)

    # --- calls -------------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """A call of any thread once the binding is shared, under the lock."""
        if self.solo:
            self._share()
        lock = self.lock
        lock.acquire()
        try:
            return fn(self.process, *args)
        finally:
            if self.blocked:
                self.cond.notify_all()
            lock.release()

    def _share(self) -> None:
        """The first call of a thread other than the owner: from now on every call takes
        the lock. The owner may be inside a call it began without it: wait until it has
        left it, or has taken the lock to wait in it."""
        self.solo = False
        if threading.get_ident() == self.owner:
            return
        while self.inside and not self.owner_locked:
            time.sleep(0.0002)

    def lock_owner(self) -> None:
        """The owner, inside calls it began without the lock, is about to wait for other
        threads: it takes the lock until it leaves the outermost of them."""
        if self.inside and not self.owner_locked and \
                threading.get_ident() == self.owner:
            self.solo = False
            self.lock.acquire()
            self.owner_locked = True

    def unlock_owner(self) -> None:
        self.owner_locked = False
        self.lock.release()

    # --- what the scheduler asks -------------------------------------------------------
    def shared(self) -> bool:
        """Whether a blocking call of this thread must wait as one of several threads:
        it is not the owner's, or the owner has started threads that are still alive."""
        if threading.get_ident() != self.owner:
            return True
        if self.blocked:
            return True
        skip = self.baseline
        return any(t.ident not in skip and t.ident != self.owner and t.is_alive()
                   for t in threading.enumerate())

    def notify(self) -> None:
        """Something may have ended a wait (a call or a drive is over): wake the waiters.
        The caller holds the lock."""
        if self.blocked:
            self.cond.notify_all()

    def block(self, sched: Scheduler, w: Waiter, deadline: int | None) -> int:
        """Wait on ``w`` as a thread of the bound process; the owner runs the programs
        meanwhile. The caller holds the lock (every bound call does)."""
        __tracebackhide__ = True
        self.lock_owner()
        me = threading.get_ident()
        host = sched.host if me == self.owner else None
        if not sched._park(host, w, deadline):
            return TIMEOUT
        self.blocked[me] = w
        try:
            while w.reason is None:
                if host is not None:
                    # programs first, with the clock held: other threads may act sooner
                    sched._host_wait(host, w, sched.clock.now_ns())
                    sched._to_host()             # (a wake-up leaves the host queued)
                    if w.reason is not None:
                        break
                    host.state = BLOCKED
                if not self._wait_turn(sched, me, host is not None):
                    break                        # a deadlock: _finish says so
        except BaseException:
            sched.interrupted(host, w)
            raise
        finally:
            if host is not None:
                sched._to_host()                 # no stale run-queue entry of the host
            del self.blocked[me]
            if not self.blocked:
                self.deadlocked = False
            self.cond.notify_all()
        return sched._finish(host, w)

    # --- waiting -----------------------------------------------------------------------
    def _others(self, me: int) -> list[threading.Thread]:
        """The test's live threads, other than ``me``, that are not blocked in the kernel
        (or whose wait has ended, and will go on once they get the lock): any of them may
        still end a wait."""
        skip = self.baseline
        blocked = self.blocked
        return [t for t in threading.enumerate()
                if t.ident != me and t.ident not in skip and t.is_alive() and
                (t.ident not in blocked or blocked[t.ident].reason is not None)]

    def _wait_turn(self, sched: Scheduler, me: int, owner: bool) -> bool:
        """One round of a blocked thread's wait; False when the test is deadlocked."""
        if self.deadlocked:
            return False
        runnable = _runnable(sched)
        if owner and runnable:
            return True                          # the owner drives them
        if not runnable and not self._others(me):
            # every thread of the test is blocked in the kernel: time may jump
            if sched.clock.fire_next(None):
                self.cond.notify_all()
                return True
            self.deadlocked = True
            self.cond.notify_all()
            return False
        if not self.cond.wait(IDLE) and not _runnable(sched):
            # nobody called for a while: the others wait outside the kernel
            if sched.clock.fire_next(None):
                self.cond.notify_all()
        return True


def _runnable(sched: Scheduler) -> bool:
    """Whether a program can run (the run queue keeps stale entries: they do not count)."""
    resume = sched.resume
    if resume is not None and resume.state == RUNNABLE and not resume.is_host:
        return True
    return any(t.state == RUNNABLE and not t.is_host for t in sched.runq)
