"""How the scheduler hands the CPU from one task to another.

The scheduler decides *who* runs; an executor only carries the decision out. Both executors
give each program a stack of its own and run exactly one task at a time, so they produce the
same run for the same seed:

* :class:`GreenletExecutor` (the default when ``greenlet`` imports): every program is a
  greenlet on the caller's thread. A switch is a greenlet switch (well under a microsecond);
  a parked program costs a few KiB of saved stack and no OS thread.
* :class:`ThreadExecutor` (``Kernel(executor="threads")``, or where greenlet is missing): every
  program is an OS thread that waits on a lock of its own while it does not hold the CPU.

The interface is small: ``switch(cur, nxt)`` returns when ``cur`` is given the CPU again;
``abandon(task, nxt)`` hands the CPU on and leaves ``task`` parked for good; a program's
context runs ``sched.main(task)``, which returns the task to hand the CPU to once the
program has ended; ``check_thread()`` says why the calling thread may not drive.
"""
from __future__ import annotations

import errno
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..errors import oserror

if TYPE_CHECKING:
    from .scheduler import Scheduler, Task

R = TypeVar("R")

try:
    import greenlet as _greenlet
except ImportError:            # pragma: no cover - greenlet has wheels for CPython's platforms
    _greenlet = None

EXECUTORS = ("greenlet", "threads")


class Running(threading.local):
    """Which task the calling code runs as: a program's task, or None for any code that is
    not a program (the caller's own thread, or a thread the user started)."""

    task: Task | None = None
    # the binding this thread made (ipcsim.compat.bind), while no other thread shares it:
    # its calls need no lock (see ipcsim.compat._context.call)
    bound: Any = None


running = Running()


def _initial_default() -> str:
    name = os.environ.get("IPCSIM_EXECUTOR", "")
    if name in EXECUTORS and (name == "threads" or _greenlet is not None):
        return name
    return "greenlet" if _greenlet is not None else "threads"


#: The executor a Kernel uses when none is named: greenlet when it can be imported, unless
#: the environment variable IPCSIM_EXECUTOR names the other one (to run a whole test suite
#: on threads, say). Assigning it changes the default for kernels made from then on.
DEFAULT = _initial_default()


def check_executor(name: object) -> str:
    """The executor name ``Kernel(executor=...)`` was given, checked (None: the default)."""
    if name is None:
        return DEFAULT
    if not isinstance(name, str):
        raise TypeError(f"executor must be a str, not {type(name).__name__}")
    if name not in EXECUTORS:
        raise ValueError(f'executor must be "greenlet" or "threads", not {name!r}')
    if name == "greenlet" and _greenlet is None:
        raise ValueError('executor="greenlet" needs the greenlet package (pip install '
                         'greenlet); executor="threads" runs without it')
    return name


def make_executor(name: str, sched: Scheduler) -> GreenletExecutor | ThreadExecutor:
    """The executor ``name`` for ``sched``: its programs run ``sched.main(task)``, which
    returns the task to run next once the program has ended."""
    return (GreenletExecutor if name == "greenlet" else ThreadExecutor)(sched)


def enter_program(fn: Callable[..., R], proc: object, args: tuple[Any, ...]) -> R:
    """``fn(proc, *args)`` (a program's body, or a call it makes), made as a plain call for
    up to three arguments: a call through ``*args`` holds its arguments where Python's
    reference counts cannot be traced to them, which would make the reaper
    (:mod:`ipcsim.sim.reaper`) think a parked program's process is held from outside."""
    __tracebackhide__ = True      # pytest: not the user's frame
    n = len(args)
    if n == 0:
        return fn(proc)
    if n == 1:
        return fn(proc, args[0])
    if n == 2:
        return fn(proc, args[0], args[1])
    if n == 3:
        return fn(proc, args[0], args[1], args[2])
    return fn(proc, *args)


# Finished programs' greenlets, kept per thread for the next program: a new greenlet costs
# a fresh frame stack (an mmap), about 8 µs, where a reused one costs nothing.
POOL_MAX = 128


class _ThreadGreenlets(threading.local):
    """Per thread: the pool of idle program greenlets, and the starter."""

    pool: list[Any]               # greenlets
    starter: Any = None


_here = _ThreadGreenlets()


def _program_body() -> None:
    """The run function of every program greenlet: run the task ``running`` names, hand the
    CPU on, and wait in the pool for the next program (or end, when the pool is full).

    While it waits it holds no reference to the kernel it last ran (only the greenlet it
    switched to), so a pooled greenlet never keeps a closed kernel alive."""
    me = _greenlet.getcurrent()
    task: Task | None
    executor: Any
    nxt: Any
    ctx: Any
    pool: Any
    while True:
        task = running.task
        assert task is not None        # (set for it by the switch that started it)
        task.ctx = me
        me.gr_context = None           # each program starts with fresh context variables
        executor = task.sched.executor
        nxt = task.sched.main(task)
        task = None
        ctx = executor._enter(nxt)
        executor = nxt = None
        pool = _here.pool
        if len(pool) >= POOL_MAX:
            me.parent = ctx            # returning hands the CPU to the next task
            return
        pool.append(me)
        ctx.switch()
        ctx = pool = None


def _starter(first: Any, root: Any) -> None:
    """Starts program greenlets. A greenlet inherits the recursion depth of the code that
    first switches to it, so new ones are started here, at the depth of the first drive,
    and not from deep inside the program that forked them."""
    first.switch()
    del first
    me = _greenlet.getcurrent()
    sched: Any
    nxt: Any
    ctx: Any
    while True:
        try:
            # the starter is its parent, so that one that cannot even begin (no memory for
            # its frame stack) comes back here
            _greenlet.greenlet(_program_body, me).switch()
        except MemoryError as e:
            task = running.task
            if task is None or task.ctx is not None:
                raise              # not a program that failed to start
            sched = task.sched
            nxt = sched.start_failed(task, e)
            ctx = sched.executor._enter(nxt)
            task = nxt = sched = None
            ctx.switch()           # (a no-op when the next one is new too: it is made here)
            ctx = None


class GreenletExecutor:
    """Programs as greenlets on one thread (the thread that first runs one of them)."""

    name = "greenlet"
    __slots__ = ("sched", "thread")

    def __init__(self, sched: Scheduler):
        self.sched = sched
        self.thread: int | None = None

    def prepare(self, task: Task) -> None:
        """Nothing: a program's greenlet is taken or made when it first runs."""

    def discard(self, task: Task) -> None:
        """Nothing to release for a program that never ran."""

    def check_thread(self) -> str | None:
        """Why the calling thread cannot drive these programs, or None if it can."""
        if self.thread is not None and self.thread != threading.get_ident() \
                and any(t.started for t in self.sched.programs.values()):
            return ("this kernel's programs are greenlets of another thread: drive a Kernel "
                    "from the thread that started its programs, or make it with "
                    "Kernel(executor=\"threads\")")
        return None

    def _enter(self, nxt: Task) -> Any:
        """The greenlet to give the CPU to, with ``running`` set for it: a program's own, a
        pooled one, or the starter, which starts a new one."""
        if nxt.is_host:
            running.task = nxt.outer
            return nxt.ctx
        running.task = nxt
        ctx = nxt.ctx
        if ctx is None:
            pool = _here.pool
            ctx = pool.pop() if pool else _here.starter
        return ctx

    def switch(self, cur: Task, nxt: Task) -> None:
        if cur.is_host:
            here = cur.ctx = _greenlet.getcurrent()
            cur.outer = running.task
            if _here.starter is None:
                self._first_drive(here)
            self.thread = threading.get_ident()
        elif not nxt.is_host:
            # one program to another, the common case (what _enter does, inline)
            running.task = nxt
            ctx = nxt.ctx
            if ctx is None:
                pool = _here.pool
                ctx = pool.pop() if pool else _here.starter
            ctx.switch()
            return
        self._enter(nxt).switch()

    @staticmethod
    def _first_drive(here: Any) -> None:
        """Set up this thread: its pool, and its starter (started here, at the host's depth;
        program greenlets get the thread's main greenlet as parent)."""
        root = here
        while root.parent is not None:
            root = root.parent
        _here.pool = []
        starter = _greenlet.greenlet(_starter, root)
        starter.switch(here, root)
        _here.starter = starter

    def abandon(self, task: Task, nxt: Task) -> None:
        """Leave ``task`` parked for good: it never gets the CPU from the scheduler again.
        Should its greenlet ever be resumed (greenlet kills a suspended greenlet that is
        collected), it goes straight back to whoever resumed it."""
        self.switch(task, nxt)
        while True:                # pragma: no cover - only a collected greenlet gets here
            try:
                _greenlet.getcurrent().parent.switch()
            except BaseException:
                pass


class ThreadExecutor:
    """Programs as OS threads, each waiting on a lock of its own while it does not run."""

    name = "threads"
    __slots__ = ("sched",)

    def __init__(self, sched: Scheduler):
        self.sched = sched

    def check_thread(self) -> str | None:
        return None

    def prepare(self, task: Task) -> None:
        """Start the thread that will run ``task``, waiting for its first turn. EAGAIN (as
        clone gives past RLIMIT_NPROC) when no thread can be started, and nothing changed."""
        gate = threading.Lock()
        gate.acquire()
        # The Thread object (which threading keeps in a module-level table) holds only the
        # box, emptied once the thread has taken what it runs: so it does not keep the
        # kernel alive (see ipcsim.sim.reaper).
        box = [self, task, gate]
        try:
            threading.Thread(target=_thread_main, args=(box,), daemon=True,
                             name="ipcsim-program").start()
        except RuntimeError as e:       # "can't start new thread"
            raise oserror(errno.EAGAIN, f"no thread for the program ({e}); "
                                        f"Kernel(executor=\"greenlet\") needs none") from None
        task.ctx = gate

    def discard(self, task: Task) -> None:
        """Let the thread of a task that will never run end."""
        gate, task.ctx = task.ctx, None
        if gate is not None:
            gate.release()

    def _run(self, task: Task, gate: threading.Lock) -> None:
        task.ident = threading.get_ident()
        gate.acquire()
        if task.ctx is not gate:
            return                      # discarded before it ever ran
        running.task = task
        nxt = self.sched.main(task)
        self._enter(nxt)

    def _enter(self, nxt: Task) -> None:
        if nxt.ctx is None:
            self.prepare(nxt)
        nxt.ctx.release()

    def switch(self, cur: Task, nxt: Task) -> None:
        gate = cur.ctx
        if gate is None:           # the host's first switch
            gate = cur.ctx = threading.Lock()
            gate.acquire()
        self._enter(nxt)
        if not cur.is_host:
            gate.acquire()
            return
        try:
            # In slices, so that the main thread runs the Python handlers of signals that
            # arrive meanwhile (a blocked lock wait would not see _thread.interrupt_main()
            # or a signal that another thread took).
            while not gate.acquire(timeout=0.05):
                pass
        except BaseException:
            # An exception in the caller while a program runs (a signal handler's, off the
            # main thread's guard): the program still holds the CPU, so ask for it back and
            # wait for the program to park at its next switch point, then let it go on.
            self.sched.request_host()
            while not gate.acquire(timeout=0.05):
                pass
            raise

    def abandon(self, task: Task, nxt: Task) -> None:
        """Leave ``task``'s thread waiting for good (it is a daemon thread)."""
        self._enter(nxt)
        threading.Event().wait()


def _thread_main(box: list[Any]) -> None:
    executor, task, gate = box
    box.clear()
    executor._run(task, gate)
