"""The deterministic scheduler.

Each program (``fork(target=fn)``) has a stack of its own (a greenlet, or an OS thread with
``Kernel(executor="threads")``, see :mod:`ipcsim.sim.executor`), but exactly one task runs
simulation code at a time and hands the CPU on explicitly. What runs next is chosen only
here, from a ``random.Random(seed)``, so the same seed and the same programs give the same
run on either executor, and different seeds explore different interleavings.

The switch points, where the running program may lose the CPU, are:

* every system call a program makes, on entry (under the ``"random"`` policy: the seed picks
  the caller or any other runnable task; under ``"fifo"`` the caller keeps the CPU);
* a program blocking, stopping (SIGSTOP) or ending: the next runnable task is picked.

A pick costs one draw from the seed's generator and no allocation, and none is made where
there is no choice (nothing else runnable). Code between two system calls runs without a
switch, so a program's Python code behaves as one atomic step. ``Scheduler.steps`` counts the
switch points passed; ``Kernel.run(max_steps=n)`` stops after n of them.

The caller's own thread is the *host* task. It runs programs only while it drives: in
``Kernel.run``, ``run_until_idle``, ``clock.advance``, or a direct call that blocks. When no
task can run, the scheduler either jumps the clock to the next timer (when the host's call
allows it) or hands the CPU back to the host, which then reports idleness or deadlock.

While the host drives from the main thread, the Python handlers of real signals run at once,
but what they raise (Ctrl-C's KeyboardInterrupt above all) is held back: the running program
is parked at its next switch point, and the exception then comes out of the host's call, so
an interrupted ``run()`` leaves the model consistent and can simply be called again.
"""
from __future__ import annotations

import _signal
import random
import signal
import sys
import threading
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Protocol, cast

from ..errors import DeadlockError, ProcessGone, SimulationError, resource_warning
from ..kernel.waitq import KILLED, SIGNAL, TIMEOUT, WOKEN, Waiter
from .clock import Clock
from . import reaper
from .executor import check_executor, enter_program, make_executor

if TYPE_CHECKING:
    from ..kernel.kernel import Kernel
    from ..kernel.mqueue import NotifyThread
    from ..kernel.process import Process

# task states
RUNNABLE = "runnable"
RUNNING = "running"
BLOCKED = "blocked"
STOPPED = "stopped"
DRIVING = "driving"   # the host, waiting for the programs it lets run to become idle
DONE = "done"

NO_ADVANCE = -1       # Scheduler.limit: the clock may not move
UNLIMITED = None      # Scheduler.limit: the clock may jump to any deadline
NEVER = 1 << 62       # Scheduler.stop_at when no stop is due

POLICIES = ("random", "fifo")


class Terminated(BaseException):
    """Unwinds a program whose process has died (killed, or exit() from another task).

    A BaseException, so that a program's ``except Exception`` does not swallow its death.
    """


class ProcessExit(BaseException):
    """Unwinds a program that called exit() on its own process."""


class Task:
    """One thread of control: a program's, or the host's."""

    __slots__ = ("process", "fn", "args", "ctx", "state", "waiter", "killed", "kill_sent",
                 "is_host", "queued", "outer", "sched", "started", "ident", "label", "order")

    def __init__(self, process: Process | NotifyThread | None, fn: Callable[..., object] | None,
                 args: tuple[Any, ...], is_host: bool = False):
        # The process it runs as: None only for the host, and for a program until spawn()
        # gives it its process; a NotifyThread stands in for the process it is a thread of.
        self.process: Process = process  # type: ignore[assignment]
        self.fn: Callable[..., object] = fn  # type: ignore[assignment]  # (None: the host)
        self.args = args
        self.ctx: Any = None     # the executor's context: a greenlet, or a thread's gate
        self.state = RUNNABLE
        self.waiter: Waiter | None = None
        self.killed = False
        self.kill_sent = False   # Terminated has been raised in it
        self.is_host = is_host
        self.queued = False      # it has an entry in the run queue (or the resume slot)
        self.outer: Task | None = None   # the host: what ``running.task`` was when it drove
        self.sched: Scheduler = None  # type: ignore[assignment]  # (set by the one that made it)
        self.started = False     # it has run (a program that never ran has nothing to unwind)
        self.ident: int | None = None    # the thread's id (executor="threads")
        # how a schedule names it ("2": pid 2's program; "2t1": its first notify thread;
        # "h": the host), and where it sorts among the candidates of a controlled pick
        self.label = "h" if is_host else "?"
        self.order: tuple[int, int] = (-1, 0)

    def __repr__(self) -> str:
        who = "host" if self.is_host else f"pid {self.process.pid}"
        return f"<Task {who} {self.state}>"


# Signals whose Python handlers are guarded while programs run on the main thread: the
# classic ones (a real-time signal's handler that raises is not held back).
_GUARDED = tuple(int(s) for s in signal.valid_signals()
                    if s not in (signal.SIGKILL, signal.SIGSTOP) and s < 32)


class Binding(Protocol):
    """What the scheduler uses of the threads of a test bound to its kernel (compat)."""

    @property
    def lock(self) -> ContextManager[Any]: ...

    def shared(self) -> bool: ...

    def block(self, sched: Scheduler, w: Waiter, deadline: int | None) -> int: ...

    def notify(self) -> None: ...


class Control(Protocol):
    """What drives or watches the picks of an exploration (see :mod:`ipcsim.explore`).

    With ``observe`` set, the seed still picks and the control is told of each pick;
    otherwise the control makes every pick. Either way it hears of what the running task
    does that another task's step could depend on: the system calls it makes, the tasks
    it wakes, the processes that exit, the timers firing (a step of their own), and the
    changes no footprint names (``barrier``: the current step depends on every step)."""

    observe: bool

    def pick(self, cur: Task | None, cands: list[Task]) -> Task | None: ...

    def observed(self, cur: Task | None, chosen: Task, n: int,
                 lowest: Task | None = None) -> None: ...

    def woke(self, task: Task) -> None: ...

    def exiting(self, proc: Any) -> None: ...

    def barrier(self) -> None: ...

    def timer(self) -> bool: ...

    def call(self, proc: Any, name: str, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> None: ...

    def returned(self, proc: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 result: object) -> None: ...


class Scheduler:
    """Chooses what runs; owns the clock; parks and wakes tasks."""

    def __init__(self, kernel: Kernel, seed: int, epoch: int, policy: str = "random",
                 executor: str | None = None):
        if policy not in POLICIES:
            raise ValueError('policy must be "random" or "fifo"')
        self.kernel = kernel
        self.rng = random.Random(seed)
        self._random = self.rng.random
        self.fifo = policy == "fifo"
        self.executor = make_executor(check_executor(executor), self)
        self.clock = Clock(self, epoch)
        self.host = Task(None, None, (), is_host=True)
        self.host.sched = self
        self.host.state = RUNNING
        self.current: Task = self.host
        self.runq: deque[Task] | list[Task] = deque() if self.fifo else []
        self.resume: Task | None = None   # the pick made at the switch point a stop came at
        self.programs: dict[int, Task] = {}   # pid -> live program task
        self.limit: int | None = NO_ADVANCE
        self.crash: tuple[Task, BaseException] | None = None
        self.switches = 0
        self.steps = 0               # switch points passed by programs
        self.step_limit = NEVER      # where run(max_steps=n) stops
        self.stop_at = NEVER         # hand the CPU to the host once steps reach this
        self.deferred: list[BaseException] = []   # what signal handlers raised meanwhile
        self.abandoned: list[Task] = []  # programs that ignored their kill (parked for good)
        self.binding: Binding | None = None   # the threads of a test bound to it (compat)
        self.control: Control | None = None   # an exploration's (see set_control)
        self._threads = 0            # notify threads started (their labels)

    def set_control(self, control: Control | None) -> None:
        """Let ``control`` make (or watch) the picks from now on; programs' calls then
        take the slow path, where the control hears of them."""
        self.control = control
        if control is not None and not control.observe:
            self.runq = list(self.runq)
            self.fifo = False

    # --- creating and ending programs ------------------------------------------------
    def prepare(self, fn: Callable[..., object], args: tuple[Any, ...]) -> Task:
        """A task for a program about to be forked: what the executor needs is made now, so
        that fork fails (EAGAIN) before anything changed if it cannot be."""
        task = Task(None, fn, args)
        task.sched = self
        self.executor.prepare(task)
        return task

    def spawn(self, task: Task, process: Process) -> Task:
        """Make ``task`` (from :meth:`prepare`) the program of ``process``, runnable."""
        task.process = process
        task.label = str(process.pid)
        task.order = (process.pid, 0)
        self.programs[process.pid] = task
        self.make_runnable(task)
        return task

    def discard(self, task: Task) -> None:
        """Forget a prepared task that will not run (its fork failed)."""
        task.state = DONE
        self.executor.discard(task)

    def add_thread(self, task: Task) -> None:
        """Start an extra thread of a process (a SIGEV_THREAD notification)."""
        task.sched = self
        self._threads += 1
        pid = task.process.owner.pid if task.process.pid is None else task.process.pid
        task.label = f"{pid}t{self._threads}"
        task.order = (pid, self._threads)
        self.make_runnable(task)

    def main(self, task: Task) -> Task:
        """The body of a program (entered holding the CPU); returns the task to run next."""
        __tracebackhide__ = True
        proc = task.process
        status = 0
        task.started = True
        try:
            self.resume_checks(task)
            proc.result = enter_program(task.fn, proc, task.args)
        except (ProcessExit, Terminated):
            pass
        except BaseException as exc:  # a program's bug: re-raised by the host's run()
            self.crash = (task, exc)
            status = 1
        try:
            if proc.alive:
                self.kernel._exit_process(proc, (status & 0xFF) << 8)
        except BaseException as exc:   # pragma: no cover - a model bug surfaces in run()
            self.crash = (task, exc)
        task.state = DONE
        self.programs.pop(task.process.pid, None)
        self.steps += 1
        nxt = self._choose()
        self._handoff(nxt)
        return nxt

    def kill_task(self, task: Task) -> None:
        """Make a program whose process died unwind the next time it runs."""
        if task.state == DONE or task.killed:
            return
        task.killed = True
        if not task.started:
            # Never ran: nothing to unwind (its run queue entry is skipped).
            self.programs.pop(task.process.pid, None)
            self.discard(task)
            return
        if task.state == BLOCKED:
            assert task.waiter is not None
            self.unblock(task.waiter, KILLED)
        elif task.state == STOPPED:
            self.make_runnable(task)

    def start_failed(self, task: Task, exc: BaseException) -> Task:
        """A program that could not be started (no memory for its stack): its process is
        killed with SIGKILL, as the OOM killer would, a ResourceWarning says why, and the
        kernel goes on. Returns the task to run next."""
        proc = task.process
        resource_warning(f"ipcsim: no memory to start pid {proc.pid}'s program ({exc!r}); "
                         f"it was killed with SIGKILL, as the OOM killer would")
        task.started = True
        if proc.alive:
            self.kernel._exit_process(proc, int(signal.SIGKILL))
        task.state = DONE
        self.programs.pop(proc.pid, None)
        self.steps += 1
        nxt = self._choose()
        self._handoff(nxt)
        return nxt

    def dying(self, task: Task) -> BaseException:
        """What a killed program gets on entering the kernel: Terminated, or, when it has
        already been told and has swallowed it (no Terminated is being handled: a bare
        ``except:`` went on), nothing ever again: it is abandoned."""
        if task.kill_sent and not isinstance(sys.exc_info()[1], Terminated):
            self._abandon(task)
        task.kill_sent = True
        return Terminated()

    def _abandon(self, task: Task) -> None:
        proc = task.process
        resource_warning(f"ipcsim: pid {proc.pid} ({getattr(proc, 'comm', '?')}) went on "
                         f"after its process was killed (a bare 'except:' swallowed the "
                         f"kill?); its program is abandoned and never runs again")
        task.state = DONE
        self.programs.pop(proc.pid, None)
        self.abandoned.append(task)
        self.steps += 1
        nxt = self._choose()
        self._handoff(nxt)
        self.executor.abandon(task, nxt)

    # --- running -----------------------------------------------------------------------
    def make_runnable(self, task: Task) -> None:
        if task.state == DONE:
            return
        proc = task.process
        if proc is not None and proc.stopped and not task.killed:
            task.state = STOPPED
            return
        task.state = RUNNABLE
        if not task.queued:
            task.queued = True
            self.runq.append(task)

    def _pop(self) -> Task | None:
        """Take the next runnable task: the parked pick first, then one the seed picks
        (FIFO under the fifo policy); entries of tasks that stopped or died are dropped."""
        task = self.resume
        if task is not None:
            self.resume = None
            task.queued = False
            if task.state == RUNNABLE:
                return task
        runq = self.runq
        control = self.control
        if control is not None:
            if not control.observe:
                return self._pop_controlled(control, None)
            if runq:
                live = [t for t in runq if t.state == RUNNABLE]
                task = self._pop_policy()
                if task is not None:
                    control.observed(None, task, len(live),
                                     min(live, key=_order) if live else None)
                return task
            return None
        return self._pop_policy()

    def _pop_policy(self) -> Task | None:
        """The pick of the seed (or FIFO), dropping stale entries."""
        runq = self.runq
        while runq:
            if self.fifo:
                task = runq.popleft()  # type: ignore[union-attr]  # (a deque under fifo)
            else:
                n = len(runq)
                last = runq.pop()
                if n > 1:
                    i = int(self._random() * n)
                    if i < n - 1:
                        task, runq[i] = runq[i], last
                    else:
                        task = last
                else:
                    task = last
            task.queued = False
            if task.state == RUNNABLE:
                return task
        return None

    def _runnable(self) -> list[Task]:
        """The runnable tasks of the run queue (stale entries dropped from it)."""
        runq = self.runq
        live = [t for t in runq if t.state == RUNNABLE]
        if len(live) != len(runq):
            for t in runq:
                if t.state != RUNNABLE:
                    t.queued = False
            self.runq = live[:]
        return live

    def _pop_controlled(self, control: Control, cur: Task | None) -> Task | None:
        """The control's pick among the runnable tasks (None: none, or it stops the run)."""
        cands = self._runnable()
        if not cands:
            return None
        task = control.pick(cur, cands)
        if task is None:
            self.stop_at = -1            # the control ends the run here
            return None
        self.runq.remove(task)
        task.queued = False
        return task

    def _choose(self) -> Task:
        """The task to run next: the host when a program crashed, when a stop is due
        (``max_steps``, a deferred signal: the pick is parked for the next drive), or when
        nothing can run and no timer may fire."""
        if self.crash is not None:
            return self._to_host()
        while True:
            task = self._pop()
            if task is None:
                if self.steps < self.stop_at and self._may_fire() and \
                        self.clock.fire_next(self.limit):
                    continue
                return self._to_host()
            if self.steps >= self.stop_at and not task.is_host:
                task.queued = True
                self.resume = task
                return self._to_host()
            return task

    def _may_fire(self) -> bool:
        """Whether the clock may jump to the next timer: under an exploration's control
        the timers firing is a step of its own (the control may end the run instead)."""
        control = self.control
        if control is None:
            return True
        deadline = self.clock.next_deadline()
        if deadline is None or (self.limit is not None and deadline > self.limit):
            return False
        if control.timer():
            return True
        self.stop_at = -1
        return False

    def _to_host(self) -> Task:
        host = self.host
        if host.queued:
            if self.resume is host:
                self.resume = None
            else:
                self.runq.remove(host)
            host.queued = False
        return host

    def _handoff(self, nxt: Task) -> None:
        """Bookkeeping of a switch to ``nxt`` (the executor carries it out)."""
        self.switches += 1
        self.current = nxt
        nxt.state = RUNNING
        kernel = self.kernel
        if nxt.is_host:
            kernel._slow = kernel.tracing
            kernel._prog = None
        else:
            kernel._slow = True
            kernel._prog = None if kernel.tracing or self.control is not None else nxt

    def _switch(self, cur: Task, nxt: Task) -> None:
        """Give the CPU from ``cur`` to ``nxt``; return when ``cur`` is scheduled again."""
        if nxt is cur:
            cur.state = RUNNING
            return
        self._handoff(nxt)
        self.executor.switch(cur, nxt)

    def resume_checks(self, task: Task) -> None:
        """What a program does on getting the CPU back: die if killed, run signal handlers."""
        if task.killed:
            raise self.dying(task)
        proc = task.process
        if proc.sigpending:
            self.kernel._deliver_signals(proc)
        if task.killed:
            raise self.dying(task)

    def preempt(self, task: Task) -> None:
        """A switch point: a program entering a system call may lose the CPU here."""
        steps = self.steps = self.steps + 1
        runq = self.runq
        if steps >= self.stop_at:
            self._stop_here(task)
        elif self.control is not None:
            self._preempt_controlled(task, self.control)
        elif runq and not self.fifo:
            # The seed picks among the runnable tasks and the caller (slot n: it goes on).
            n = len(runq)
            i = int(self._random() * (n + 1))
            if i < n:
                nxt = runq[i]
                runq[i] = task
                task.state = RUNNABLE
                task.queued = True
                nxt.queued = False
                if nxt.state != RUNNABLE:     # a stale entry: pick again among the rest
                    nxt = self._choose()
                self._switch(task, nxt)
        if task.killed or task.process.sigpending:
            self.resume_checks(task)

    def _preempt_controlled(self, task: Task, control: Control) -> None:
        """A switch point under an exploration's control: it picks among the runnable tasks
        and the caller (or, observing, is told of the seed's pick)."""
        if control.observe:
            runq = self.runq
            n = sum(t.state == RUNNABLE for t in runq) + 1
            nxt = task
            if runq and not self.fifo:
                i = int(self._random() * (len(runq) + 1))
                if i < len(runq):
                    nxt = runq[i]
                    runq[i] = task
                    task.state = RUNNABLE
                    task.queued = True
                    nxt.queued = False
                    if nxt.state != RUNNABLE:    # a stale entry: pick again among the rest
                        nxt = self._choose()     # (the pick is told from _pop)
                        self._switch(task, nxt)
                        return
            control.observed(task, nxt, n)
            self._switch(task, nxt)
            return
        cands = self._runnable()
        cands.append(task)
        pick = control.pick(task, cands)
        if pick is None:             # the control ends the run here
            self.stop_at = -1
            self._stop_here(task)
            return
        if pick is not task:
            nxt = pick
            self.runq.remove(nxt)
            nxt.queued = False
            task.state = RUNNABLE
            task.queued = True
            self.runq.append(task)
            self._switch(task, nxt)

    def _stop_here(self, task: Task) -> None:
        """A stop is due at this switch point: make the pick as usual, park it, and hand
        the CPU to the host."""
        task.state = RUNNABLE
        if self.fifo:
            # fifo never switches at a system call: the caller is the pick
            task.queued = True
            self.resume = task
            self._switch(task, self._to_host())
            return
        if not task.queued:
            task.queued = True
            self.runq.append(task)
        self._switch(task, self._choose())

    def yield_now(self, task: Task) -> None:
        """Give up the CPU (a stopped program, or a program that wants others to run)."""
        self.steps += 1
        self._switch(task, self._choose())

    def request_host(self) -> None:
        """Ask for the CPU back for the host at the next switch point."""
        self.stop_at = -1

    # --- blocking ----------------------------------------------------------------------
    def block(self, w: Waiter, deadline: int | None = None) -> int:
        """Park the current task on ``w`` until it is woken, times out, or is interrupted.

        Returns the reason (WOKEN, TIMEOUT, SIGNAL). A program whose process dies meanwhile
        unwinds instead. The host raises DeadlockError when nothing can ever wake it. A
        traced kernel records the wait in ``kernel.blocks``.
        """
        __tracebackhide__ = True      # pytest: the scheduler's frames are not the user's
        kernel = self.kernel
        if not kernel.tracing:
            return self._block(w, deadline)
        rec = kernel.record_block(w)
        try:
            return self._block(w, deadline)
        finally:
            rec.last, rec.end = len(kernel.trace), self.clock.now()

    def _block(self, w: Waiter, deadline: int | None) -> int:
        __tracebackhide__ = True
        task = self.current
        if task is self.host:
            binding = self.binding
            if binding is not None and binding.shared():
                # threads of a test share the bound process: see ipcsim.compat.bind
                return binding.block(self, w, deadline)
            if not self._park(task, w, deadline):
                return TIMEOUT
            self._host_wait(task, w, UNLIMITED)
        else:
            proc = w.process
            if deadline is None:        # a program's plain sleep: parked inline (hot)
                w.task = task
                task.waiter = w
                if proc is not None:
                    proc.waiter = w
                task.state = BLOCKED
            elif not self._park(task, w, deadline):
                return TIMEOUT
            self.steps += 1
            self._switch(task, self._choose())
            if w.reason == WOKEN and not task.killed:   # the common end, inline (hot)
                task.state = RUNNING
                task.waiter = None
                if proc is not None and proc.waiter is w:
                    proc.waiter = None
                return WOKEN
        return self._finish(task, w)

    def _park(self, task: Task | None, w: Waiter, deadline: int | None) -> bool:
        """Put ``task`` (None: a real thread that waits on its own) to sleep on ``w`` until
        ``deadline``; False if the deadline has passed already (the wait is then over,
        timed out)."""
        proc = w.process
        w.task = task
        if task is not None:
            task.waiter = w
        if proc is not None:
            proc.waiter = w
        if deadline is not None:
            if deadline <= self.clock.now_ns():
                self._cancel(w)
                w.reason = TIMEOUT
                self._unpark(task, w)
                return False
            # a partial, not a closure: a closure would make ``self`` and ``w`` cells of this
            # frame, which the reaper cannot count (see ipcsim.sim.reaper)
            w.timer = self.clock.call_at(deadline, partial(self.unblock, w, TIMEOUT))
        if task is not None:
            task.state = BLOCKED
        return True

    def _host_wait(self, host: Task, w: Waiter, limit: int | None) -> None:
        """The host, blocked on ``w``, lets the programs run (the clock may move up to
        ``limit``) until it is woken or nothing can run."""
        __tracebackhide__ = True
        saved, self.limit = self.limit, limit
        try:
            self._host_switch()
        except BaseException:
            self.interrupted(host, w)     # a deferred signal's handler raised (Ctrl-C)
            raise
        finally:
            self.limit = saved

    def interrupted(self, task: Task | None, w: Waiter) -> None:
        """An exception (Ctrl-C, a signal handler's) ends the wait on ``w`` here: it leaves
        every queue, so that no waker hands it anything, and the exception goes on."""
        if w.reason is None:
            self._cancel(w)
            w.reason = SIGNAL
        self._unpark(task, w)

    def _finish(self, task: Task | None, w: Waiter) -> int:
        """The end of a wait: the reason it ended, or what a wait that nothing can end, a
        death or a crash raises; signals that interrupted it are delivered."""
        __tracebackhide__ = True
        self._unpark(task, w)
        reason = w.reason
        proc = w.process
        if reason is None:
            # Only the host gets here: every program is blocked, or one crashed.
            self._cancel(w)
            if self.crash is not None:
                raise self.take_crash()
            what = _with_call(w.what, _host_call())
            raise DeadlockError(self.blocked() + [(getattr(proc, "pid", 0), what)],
                                caller=what)
        if reason == KILLED:
            if task is None or task.is_host:
                raise ProcessGone(f"process {proc.pid} died while blocked in "
                                  f"{_with_call(w.what, _host_call())}")
            raise self.dying(task)
        if task is not None and task.killed:
            raise self.dying(task)
        if reason == SIGNAL and proc is not None and proc.sigpending:
            self.kernel._deliver_signals(cast("Process", proc))
        return reason

    def _unpark(self, task: Task | None, w: Waiter) -> None:
        if task is not None:
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

    def unblock(self, w: Waiter, reason: int, result: object = None) -> bool:
        """End a wait with ``reason``; False if it had already ended."""
        if w.reason is not None:
            return False
        w.reason = reason
        w.result = result
        self._cancel(w)
        task = w.task
        if self.control is not None and task is not None:
            self.control.woke(task)
        if task is not None and task.state == BLOCKED:
            self.make_runnable(task)
        return True

    def wake(self, w: Waiter, result: object = None) -> bool:
        """Wake a waiter (optionally completing its operation with ``result``)."""
        return self.unblock(w, WOKEN, result)

    # --- the host drives -------------------------------------------------------------
    def check_host(self, what: str) -> None:
        if self.current is not self.host:
            raise SimulationError(f"{what} can only be called from outside the programs "
                                  f"(the caller's own thread), not from a running program")
        why = self.executor.check_thread()
        if why is not None:
            raise SimulationError(f"{what}: {why}")

    def drive(self, limit: int | None) -> None:
        """Let the programs run until none can (the clock may move up to ``limit``), a stop
        is due (``max_steps``), or a real signal's handler raised meanwhile."""
        __tracebackhide__ = True
        binding = self.binding
        if binding is None:
            self._drive(limit)
            return
        with binding.lock:           # the test's threads wait meanwhile
            try:
                self._drive(limit)
            finally:
                binding.notify()

    def _drive(self, limit: int | None) -> None:
        __tracebackhide__ = True
        host = self.host
        saved, self.limit = self.limit, limit
        host.state = DRIVING
        try:
            self._host_switch()
        finally:
            host.state = RUNNING
            self.limit = saved
        if self.crash is not None:
            raise self.take_crash()

    def _host_switch(self) -> None:
        """The host gives the CPU to the programs until it is handed back. Meanwhile an
        exception raised by a real signal's Python handler is held back, and raised here
        once the running program is parked."""
        __tracebackhide__ = True
        why = self.executor.check_thread()
        if why is not None:
            raise SimulationError(why)
        saved = self._guard_signals()
        try:
            self._switch(self.host, self._choose())
        finally:
            if self.programs:
                reaper.remember(self.kernel)
            if self.stop_at < 0:         # the host asked for the CPU back
                self.stop_at = self.step_limit
            if saved is not None:
                setsignal = _signal.signal
                for sig, handler in saved:
                    setsignal(sig, handler)
            if self.deferred:
                errors, self.deferred = self.deferred, []
                raise errors[0]

    def _guard_signals(self) -> list[tuple[int, Any]] | None:
        """Wrap the Python handlers of real signals so that what they raise while a program
        runs waits for the program's next switch point (main thread only: no other thread
        runs handlers). The handlers themselves still run at once."""
        if threading.current_thread() is not threading.main_thread():
            return None
        saved = []
        getsignal, setsignal = _signal.getsignal, _signal.signal
        for sig in _GUARDED:      # (about 1 µs: the drive's only fixed cost)
            handler = getsignal(sig)
            if callable(handler) and getattr(handler, "ipcsim_guard", None) is not self:
                saved.append((sig, handler))
                setsignal(sig, self._guarded(handler))
        return saved

    def _guarded(self, handler: Callable[[int, Any], object]) -> Callable[[int, Any], None]:
        def guard(signum: int, frame: Any) -> None:
            if self.current is self.host:
                handler(signum, frame)
                return
            try:
                handler(signum, frame)
            except BaseException as exc:
                if self.deferred:
                    # A second one before the program reached a switch point (it loops
                    # without system calls): it goes off now, in the program, which
                    # ends with it (Ctrl-C twice stops such a program).
                    self.deferred.clear()
                    raise
                self.deferred.append(exc)
                self.request_host()
        setattr(guard, "ipcsim_guard", self)
        return guard

    def advance_to(self, target: int) -> None:
        self.check_host("clock.advance()")
        self.drive(target)
        self.clock._set(target)

    def take_crash(self) -> BaseException:
        assert self.crash is not None
        task, exc = self.crash
        self.crash = None
        return exc

    def blocked(self) -> list[tuple[int, str]]:
        """(pid, what it waits on) for every program that cannot run, in pid order; a wait
        in a system call begins with the call as strace writes it (``msgrcv(0, 100, 0, 0)
        on queue 0 of ipc:[4026531839] (type 0)``)."""
        out = []
        for pid in sorted(self.programs):
            task = self.programs[pid]
            if task.state == BLOCKED and task.waiter is not None:
                out.append((pid, _with_call(task.waiter.what, reaper.program_call(task))))
            elif task.state == STOPPED:
                out.append((pid, "stopped by a signal (send SIGCONT)"))
        return out


def _order(task: Task) -> tuple[int, int]:
    return task.order


def _with_call(what: str, call: str | None) -> str:
    """A wait's description with the call it is in written out: ``semop on set 0 (sem 3
    -1)`` becomes ``semop(0, [(3, -1, 0)]) on set 0 (sem 3 -1)``."""
    if call is None:
        return what
    name = call.split("(", 1)[0]
    if what == name or what.startswith(name + " "):
        return call + what[len(name):]
    if what.startswith(name + "("):          # (sleep(5), wait(-1) for a child to exit)
        depth = 0
        for i in range(len(name), len(what)):
            depth += {"(": 1, ")": -1}.get(what[i], 0)
            if not depth:
                return call + what[i + 1:]
    return f"{call}: {what}"


def _host_call() -> str | None:
    """The system call the calling thread is in (its outermost), as strace writes it."""
    from ..kernel import syscall
    found = syscall.outermost_call(syscall.frames_out(sys._getframe(1)))
    return None if found is None else syscall.call_text(found[1], found[2])

