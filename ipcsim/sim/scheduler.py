"""The deterministic scheduler.

Each program (``fork(target=fn)``) runs in a thread of its own, but only one thread ever runs
simulation code at a time: the running task hands the CPU to the next one explicitly (a
release of that task's gate, then a wait on its own). What runs next is chosen only here,
by a ``random.Random(seed)``, at every system call a program makes (a switch point) and
whenever a task blocks or ends. So the same seed and the same programs give the same run,
and different seeds explore different interleavings.

The caller's own thread is the *host* task. It runs programs only while it drives: in
``Kernel.run``, ``run_until_idle``, ``clock.advance``, or a direct call that blocks. When no
task can run, the scheduler either jumps the clock to the next timer (when the host's call
allows it) or hands the CPU back to the host, which then reports idleness or deadlock.
"""
from __future__ import annotations

import random
import threading

from ..errors import DeadlockError, ProcessGone, SimulationError
from ..kernel.waitq import KILLED, SIGNAL, TIMEOUT, WOKEN, Waiter
from .clock import Clock

# task states
RUNNABLE = "runnable"
RUNNING = "running"
BLOCKED = "blocked"
STOPPED = "stopped"
DRIVING = "driving"   # the host, waiting for the programs it lets run to become idle
DONE = "done"

NO_ADVANCE = -1       # Scheduler.limit: the clock may not move
UNLIMITED = None      # Scheduler.limit: the clock may jump to any deadline


class _Running(threading.local):
    """Which task the current thread runs: a program's thread knows its task, any other
    thread (the caller's, or one the user started) sees None."""

    task: "Task | None" = None


running = _Running()


class Terminated(BaseException):
    """Unwinds a program whose process has died (killed, or exit() from another task).

    A BaseException, so that a program's ``except Exception`` does not swallow its death.
    """


class ProcessExit(BaseException):
    """Unwinds a program that called exit() on its own process."""


class Task:
    """One thread of control: a program's, or the host's."""

    __slots__ = ("process", "fn", "args", "thread", "gate", "state", "waiter", "killed",
                 "is_host")

    def __init__(self, process, fn, args, is_host: bool = False):
        self.process = process
        self.fn = fn
        self.args = args
        self.thread: threading.Thread | None = None
        self.gate = threading.Lock()
        self.gate.acquire()
        self.state = RUNNABLE
        self.waiter: Waiter | None = None
        self.killed = False
        self.is_host = is_host

    def __repr__(self) -> str:
        who = "host" if self.is_host else f"pid {self.process.pid}"
        return f"<Task {who} {self.state}>"


class Scheduler:
    """Chooses what runs; owns the clock; parks and wakes tasks."""

    def __init__(self, kernel, seed: int, epoch: int, policy: str = "random"):
        if policy not in ("random", "fifo"):
            raise ValueError('policy must be "random" or "fifo"')
        self.kernel = kernel
        self.rng = random.Random(seed)
        self.fifo = policy == "fifo"
        self.clock = Clock(self, epoch)
        self.host = Task(None, None, (), is_host=True)
        self.host.state = RUNNING
        self.current: Task = self.host
        self.runq: list[Task] = []
        self.programs: dict[int, Task] = {}   # pid -> live program task
        self.limit: int | None = NO_ADVANCE
        self.crash: tuple[Task, BaseException] | None = None
        self.switches = 0

    # --- creating and ending programs ------------------------------------------------
    def spawn(self, process, fn, args) -> Task:
        task = Task(process, fn, args)
        self.programs[process.pid] = task
        self.runq.append(task)
        return task

    def _main(self, task: Task) -> None:
        """The body of a program's thread (entered holding the CPU)."""
        proc = task.process
        kernel = self.kernel
        status = 0
        running.task = task
        try:
            self.resume_checks(task)
            proc.result = task.fn(proc, *task.args)
        except (ProcessExit, Terminated):
            pass
        except BaseException as exc:  # a program's bug: re-raised by the host's run()
            self.crash = (task, exc)
            status = 1
        if proc.alive:
            kernel._exit_process(proc, (status & 0xFF) << 8)
        self._finish(task)

    def _finish(self, task: Task) -> None:
        task.state = DONE
        self.programs.pop(task.process.pid, None)
        self._switch(task, self._choose())

    def kill_task(self, task: Task) -> None:
        """Make a program whose process died unwind the next time it runs."""
        if task.state == DONE or task.killed:
            return
        task.killed = True
        if task.thread is None:
            # Never started: nothing to unwind.
            if task in self.runq:
                self.runq.remove(task)
            task.state = DONE
            self.programs.pop(task.process.pid, None)
            return
        if task.state == BLOCKED:
            self.unblock(task.waiter, KILLED)
        elif task.state == STOPPED:
            task.state = RUNNABLE
            self.runq.append(task)

    # --- running -----------------------------------------------------------------------
    def make_runnable(self, task: Task) -> None:
        if task.state == DONE:
            return
        proc = task.process
        if proc is not None and proc.stopped and not task.killed:
            task.state = STOPPED
            return
        task.state = RUNNABLE
        self.runq.append(task)

    def _choose(self) -> Task:
        runq = self.runq
        while True:
            if self.crash is not None:
                if self.host.state == RUNNABLE:
                    runq.remove(self.host)
                return self.host
            n = len(runq)
            if n == 1:
                return runq.pop()
            if n:
                return runq.pop(0 if self.fifo else self.rng.randrange(n))
            if not self.clock.fire_next(self.limit):
                return self.host

    def _switch(self, cur: Task, nxt: Task) -> None:
        """Give the CPU from ``cur`` to ``nxt``; return when ``cur`` is scheduled again."""
        if nxt is cur:
            cur.state = RUNNING
            return
        self.switches += 1
        self.current = nxt
        nxt.state = RUNNING
        self.kernel._slow = self.kernel.tracing or nxt is not self.host
        if nxt.thread is None and nxt is not self.host:
            nxt.thread = threading.Thread(target=self._main, args=(nxt,), daemon=True,
                                          name=f"ipcsim-pid{nxt.process.pid}")
            nxt.thread.start()
        else:
            nxt.gate.release()
        if cur.state != DONE:
            cur.gate.acquire()

    def resume_checks(self, task: Task) -> None:
        """What a program does on getting the CPU back: die if killed, run signal handlers."""
        if task.killed:
            raise Terminated
        proc = task.process
        if proc.sigpending:
            self.kernel._deliver_signals(proc)
        if task.killed:
            raise Terminated

    def preempt(self, task: Task) -> None:
        """A switch point: a program entering a system call may lose the CPU here."""
        if self.runq and not self.fifo:
            task.state = RUNNABLE
            self.runq.append(task)
            self._switch(task, self._choose())
        self.resume_checks(task)

    def yield_now(self, task: Task) -> None:
        """Give up the CPU (a stopped program, or a program that wants others to run)."""
        self._switch(task, self._choose())

    # --- blocking ----------------------------------------------------------------------
    def block(self, w: Waiter, deadline: int | None = None) -> int:
        """Park the current task on ``w`` until it is woken, times out, or is interrupted.

        Returns the reason (WOKEN, TIMEOUT, SIGNAL). A program whose process dies meanwhile
        unwinds instead. The host raises DeadlockError when nothing can ever wake it. A
        traced kernel records the wait in ``kernel.blocks``.
        """
        kernel = self.kernel
        if not kernel.tracing:
            return self._block(w, deadline)
        rec = kernel.record_block(w)
        try:
            return self._block(w, deadline)
        finally:
            rec.last, rec.end = len(kernel.trace), self.clock.now()

    def _block(self, w: Waiter, deadline: int | None) -> int:
        task = self.current
        proc = w.process
        w.task = task
        task.waiter = w
        if proc is not None:
            proc.waiter = w
        if deadline is not None:
            if deadline <= self.clock.now_ns():
                self._cancel(w)
                w.reason = TIMEOUT
                self._unpark(task, w)
                return TIMEOUT
            w.timer = self.clock.call_at(deadline, lambda: self.unblock(w, TIMEOUT))
        task.state = BLOCKED
        if task is self.host:
            saved, self.limit = self.limit, UNLIMITED
            try:
                self._switch(task, self._choose())
            finally:
                self.limit = saved
        else:
            self._switch(task, self._choose())
        self._unpark(task, w)
        reason = w.reason
        if reason is None:
            # Only the host gets here: every program is blocked, or one crashed.
            self._cancel(w)
            if self.crash is not None:
                raise self.take_crash()
            raise DeadlockError(self.blocked() + [(getattr(proc, "pid", 0), w.what)],
                                caller=w.what)
        if reason == KILLED:
            if task.is_host:
                raise ProcessGone(f"process {proc.pid} died while blocked in {w.what}")
            raise Terminated
        if task.killed:
            raise Terminated
        if reason == SIGNAL and proc is not None and proc.sigpending:
            self.kernel._deliver_signals(proc)
        return reason

    def _unpark(self, task: Task, w: Waiter) -> None:
        task.state = RUNNING
        task.waiter = None
        if w.process is not None and w.process.waiter is w:
            w.process.waiter = None

    def _cancel(self, w: Waiter) -> None:
        if w.queue is not None:
            w.queue.discard(w)
        if w.timer is not None:
            w.timer.cancel()
            w.timer = None

    def unblock(self, w: Waiter, reason: int, result=None) -> bool:
        """End a wait with ``reason``; False if it had already ended."""
        if w.reason is not None:
            return False
        w.reason = reason
        w.result = result
        self._cancel(w)
        task = w.task
        if task is not None and task.state == BLOCKED:
            self.make_runnable(task)
        return True

    def wake(self, w: Waiter, result=None) -> bool:
        """Wake a waiter (optionally completing its operation with ``result``)."""
        return self.unblock(w, WOKEN, result)

    # --- the host drives -------------------------------------------------------------
    def check_host(self, what: str) -> None:
        if self.current is not self.host:
            raise SimulationError(f"{what} can only be called from outside the programs "
                                  f"(the caller's own thread), not from a running program")

    def drive(self, limit: int | None) -> None:
        """Let the programs run until none can (the clock may move up to ``limit``)."""
        host = self.host
        saved, self.limit = self.limit, limit
        host.state = DRIVING
        try:
            self._switch(host, self._choose())
        finally:
            host.state = RUNNING
            self.limit = saved
        if self.crash is not None:
            raise self.take_crash()

    def advance_to(self, target: int) -> None:
        self.check_host("clock.advance()")
        self.drive(target)
        self.clock._set(target)

    def take_crash(self) -> BaseException:
        task, exc = self.crash
        self.crash = None
        return exc

    def blocked(self) -> list[tuple[int, str]]:
        """(pid, what it waits on) for every program that cannot run, in pid order."""
        out = []
        for pid in sorted(self.programs):
            task = self.programs[pid]
            if task.state == BLOCKED and task.waiter is not None:
                out.append((pid, task.waiter.what))
            elif task.state == STOPPED:
                out.append((pid, "stopped by a signal (send SIGCONT)"))
        return out
