"""The Kernel: processes, the namespace registry, the clock, and the system call entry.

Nothing is shared between two Kernel objects. A kernel starts with init (pid 1, uid 0, every
capability unless told otherwise) in the initial IPC namespace (``ipc:[4026531839]``).
"""
from __future__ import annotations

import errno
import heapq
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

import attrs
from sortedcontainers import SortedDict

from ..constants import (CAP_FULL_SET, CAP_SYS_ADMIN, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID,
                         CLONE_NEWUSER, CLONE_SYSVSEM, CSIGNAL, INIT_IPC_NS_INUM, INT_MAX,
                         PID_MAX_DEFAULT, PID_MAX_LIMIT,
                         PROC_DYNAMIC_FIRST, RESERVED_PIDS, SI_USER)
from ..errors import DeadlockError, KernelPanic, ProcessGone, oserror
from ..sim.clock import DEFAULT_EPOCH, EPOCH_MAX, KTIME_MAX, seconds_to_ns
from ..sim.executor import enter_program
from ..sim.scheduler import (BLOCKED, NEVER, NO_ADVANCE, RUNNABLE, STOPPED, UNLIMITED,
                             Scheduler)
from . import mqueue, procfs, sem, shm, signals, syscall, vfs
from .creds import Creds
from .files import NullFile
from .mntns import INIT_MNT_NS_INUM, MntNamespace, copy_mnt_ns, init_mnt_ns
from .vfs import MountTable
from .namespace import IpcNamespace
from .pidns import (INIT_PID_NS_INUM, Pid, PidNamespace, alloc_pid, attach_pid, copy_pid_ns,
                    find_pgrp, free_pid, pid_nr_ns)
from .process import Process
from .sysctl import DEFAULT_MAX_IPC_NAMESPACES, user_defaults
from .userns import (INIT_USER_NS_INUM, UCOUNT_IPC, UserNamespace, create_user_ns,
                     dec_ucount, inc_ucount)
from .viewable import Viewable
from . import waitq
from .waitq import KILLED, SIGNAL, Waiter

if TYPE_CHECKING:
    from ..sim.scheduler import Control, Task
    from ..views import WaitFor
    from .vfs import MountSource
    from .process import ProcessState

R = TypeVar("R")


@attrs.frozen
class TraceEvent:
    """One system call in ``Kernel.trace``.

    ``start`` and ``time`` are virtual seconds at entry and at return (they differ when the
    call blocked); ``result`` is the return value (a Process is shown by its pid) or None
    when the call failed with ``errno``.
    """

    time: float
    start: float
    pid: int
    name: str
    args: tuple[Any, ...]
    result: Any
    errno: int | None = None

    @property
    def blocked(self) -> bool:
        return self.time > self.start


@attrs.define
class BlockEvent:
    """One wait in ``Kernel.blocks`` (traced kernels): process ``pid`` blocked in ``what``
    when ``first`` calls had returned (``len(trace)``), at virtual second ``start``; ``last``
    and ``end`` are the same at its return, None while it still waits (as in a deadlock)."""

    pid: int
    what: str
    first: int
    start: float
    last: int | None = None
    end: float | None = None


def _check_int(name: str, value: object, lo: int | None = None, hi: int | None = None,
               message: str = "") -> None:
    """A Kernel argument that must be an int (not a bool), within [lo, hi] when given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(message or f"{name} is out of range")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


class Kernel(Viewable):
    """A simulated machine: processes, IPC namespaces and a deterministic scheduler.

    ``seed`` picks the interleaving of programs; ``trace=True`` records every system call in
    ``k.trace``. ``capabilities`` is init's capability set (a CAP_* bit mask; the default is
    every capability). ``epoch`` is the wall-clock second at boot that IPC timestamps count
    from; ``max_ipc_namespaces`` the per-uid limit of /proc/sys/user/max_ipc_namespaces in
    the initial user namespace (each user namespace has its own, checked up the chain).
    ``policy="fifo"`` runs woken programs in the order they were woken and never switches at
    a system call (what a lightly loaded machine does); the default ``"random"`` lets the seed
    choose at every switch point.

    ``config_ipc_ns=False`` is a kernel built without CONFIG_IPC_NS: clone and unshare with
    CLONE_NEWIPC fail with EINVAL, /proc/PID/ns/ipc does not exist, and every process shares
    the initial IPC namespace. ``config_user_ns=False`` and ``config_pid_ns=False`` do the
    same for CLONE_NEWUSER (/proc/PID/ns/user) and CLONE_NEWPID (/proc/PID/ns/pid and
    pid_for_children).
    """

    # a subclass may run its calls another way (compat's host kernel)
    _scheduler_class: type[Scheduler] = Scheduler
    #: whether the processes are real OS processes served by ipcsim.remote's kernel server
    #: (calls may then hand them real descriptors)
    served: bool = False

    def __init__(self, seed: int = 0, trace: bool = False, *, capabilities: int = CAP_FULL_SET,
                 epoch: int = DEFAULT_EPOCH,
                 max_ipc_namespaces: int = DEFAULT_MAX_IPC_NAMESPACES,
                 pid_max: int = PID_MAX_DEFAULT, policy: str = "random",
                 executor: str | None = None, config_ipc_ns: bool = True,
                 config_user_ns: bool = True, config_pid_ns: bool = True):
        _check_int("seed", seed)
        if not isinstance(trace, (bool, int)):
            raise TypeError(f"trace must be a bool, not {type(trace).__name__}")
        _check_int("capabilities", capabilities)
        if capabilities & ~CAP_FULL_SET or capabilities < 0:
            raise ValueError("capabilities must be a bit mask of CAP_* numbers")
        _check_int("epoch", epoch, 0, EPOCH_MAX,
                   "epoch must be a wall-clock second from 0 (1970) on")
        _check_int("max_ipc_namespaces", max_ipc_namespaces, 0, INT_MAX,
                   f"max_ipc_namespaces must be from 0 to {INT_MAX}, as the sysctl takes")
        _check_int("pid_max", pid_max, RESERVED_PIDS + 1, PID_MAX_LIMIT,
                   f"pid_max must be above {RESERVED_PIDS} and at most {PID_MAX_LIMIT}")
        if not isinstance(policy, str):
            raise TypeError(f"policy must be a str, not {type(policy).__name__}")
        _check_bool("config_ipc_ns", config_ipc_ns)
        _check_bool("config_user_ns", config_user_ns)
        _check_bool("config_pid_ns", config_pid_ns)
        self.seed = seed
        self.config_ipc_ns = config_ipc_ns
        self.config_user_ns = config_user_ns
        self.config_pid_ns = config_pid_ns
        # the CLONE_NEW* kinds this kernel was built without (their copy_* stubs: EINVAL)
        self._ns_missing = ((0 if config_ipc_ns else CLONE_NEWIPC)
                            | (0 if config_user_ns else CLONE_NEWUSER)
                            | (0 if config_pid_ns else CLONE_NEWPID))
        self._proc_ns_names = procfs.ns_names(self._ns_missing)
        self.tracing = bool(trace)
        self._slow = self.tracing
        self._prog: Task | None = None   # the running program's task, in an untraced run
        self.trace: list[TraceEvent] = []
        self.blocks: list[BlockEvent] = []     # every wait of a traced run, in order
        self.closed_at: int | None = None      # len(trace) when close() was first called
        # the waits open then, with who could have ended them (views.wait_for; traced runs)
        self.wait_for_at_close: list[WaitFor] = []
        self.sched = self._scheduler_class(self, seed, epoch, policy, executor)
        self.clock = self.sched.clock
        self.pid_max = pid_max
        self.init_user_ns = UserNamespace(self, INIT_USER_NS_INUM, None)
        for field, default in user_defaults():
            setattr(self.init_user_ns, field, default)
        self.init_user_ns.max_ipc_namespaces = max_ipc_namespaces
        tree = vfs.boot_tree()
        self.init_mnt_ns = init_mnt_ns(self, tree, self.init_user_ns)
        self._mnt_namespaces: dict[int, MntNamespace] = {INIT_MNT_NS_INUM: self.init_mnt_ns}
        self._mnt_seq = 1
        self.filesystems: dict[str, Callable[[Process, str, str | None], MountSource]] = {
            "mqueue": mqueue.mount_mqueue, "proc": procfs.mount_proc}
        self.mq_ucounts: dict[int, int] = {}      # RLIMIT_MSGQUEUE bytes per real uid
        self._procs: dict[int, Process] = {}
        self._sibling_seq = 0
        self._namespaces: dict[int, IpcNamespace] = {}
        self._free_inums: list[int] = []
        self._next_inum = PROC_DYNAMIC_FIRST
        self._user_namespaces: dict[int, UserNamespace] = {INIT_USER_NS_INUM: self.init_user_ns}
        self.init_ipc_ns = IpcNamespace(self, INIT_IPC_NS_INUM)
        self.init_ipc_ns.user_ns = self.init_user_ns
        self._namespaces[INIT_IPC_NS_INUM] = self.init_ipc_ns
        # the initial PID namespace's numbers are the process table itself
        self.init_pid_ns = PidNamespace(self, INIT_PID_NS_INUM, None, self.init_user_ns.get(),
                                        self._procs)
        self._pid_namespaces: dict[int, PidNamespace] = {INIT_PID_NS_INUM: self.init_pid_ns}
        self.init_pid_ns.last_pid = 1
        self.init = Process(self, Pid((self.init_pid_ns,), (1,)), None,
                            Creds(0, 0, capabilities), self.init_ipc_ns.get())
        self.init.fds = [NullFile(0), NullFile(1), NullFile(1)]
        self.init.mnt_ns = self.init_mnt_ns.get()
        self.init.pid_ns_for_children = self.init_pid_ns.get()
        attach_pid(self.init)
        mounts = self.init_mnt_ns.mounts
        mounts.attach(mounts.root, tree.entries["proc"], procfs.ProcRoot(self), None)

    @property
    def executor(self) -> str:
        """How programs run: ``"greenlet"`` or ``"threads"``."""
        return self.sched.executor.name

    # --- what users read --------------------------------------------------------------
    @property
    def ipc_namespaces(self) -> list[IpcNamespace]:
        """The live IPC namespaces, oldest first."""
        return list(self._namespaces.values())

    @property
    def mounts(self) -> MountTable:
        """The initial mount namespace's mounts (each namespace's: ``MntNamespace.mounts``)."""
        return self.init_mnt_ns.mounts

    @property
    def mount_namespaces(self) -> list[MntNamespace]:
        """The live mount namespaces, oldest first."""
        return list(self._mnt_namespaces.values())

    @property
    def pid_namespaces(self) -> list[PidNamespace]:
        """The live PID namespaces, oldest first (the initial one, ``pid:[4026531836]``,
        first). Each has ``level``, ``parent``, ``user_ns`` (its owner), ``inum``,
        ``child_reaper`` (its init) and ``processes()``/``members()``; a process's own is
        ``Process.pid_ns``, and ``Process.pid_in(ns)`` its number in any of them."""
        return list(self._pid_namespaces.values())

    @property
    def _last_pid(self) -> int:
        """The last pid given in the initial namespace: the next search starts after it."""
        return self.init_pid_ns.last_pid

    @_last_pid.setter
    def _last_pid(self, value: int) -> None:
        self.init_pid_ns.last_pid = value

    @property
    def user_namespaces(self) -> list[UserNamespace]:
        """The live user namespaces, oldest first."""
        return list(self._user_namespaces.values())

    @property
    def max_user_namespaces(self) -> int:
        """/proc/sys/user/max_user_namespaces of the initial user namespace."""
        return self.init_user_ns.max_user_namespaces

    @max_user_namespaces.setter
    def max_user_namespaces(self, value: int) -> None:
        self.init_user_ns.max_user_namespaces = value

    @property
    def max_ipc_namespaces(self) -> int:
        """/proc/sys/user/max_ipc_namespaces of the initial user namespace."""
        return self.init_user_ns.max_ipc_namespaces

    @max_ipc_namespaces.setter
    def max_ipc_namespaces(self, value: int) -> None:
        self.init_user_ns.max_ipc_namespaces = value

    def processes(self, include_zombies: bool = False) -> list[Process]:
        """Every process in pid order (zombies only when asked): the pids of the initial
        PID namespace, as the host sees them (a namespace's own view:
        ``PidNamespace.processes()``)."""
        procs = self._procs
        return [procs[pid] for pid in sorted(procs)
                if include_zombies or procs[pid].alive]

    def process(self, pid: int) -> Process | None:
        """The process (or zombie) with ``pid`` in the initial PID namespace, or None."""
        return self._procs.get(pid)

    def process_by_pid_str(self, text: str) -> Process | None:
        if not text.isdigit() or text != str(int(text)):
            return None
        return self._procs.get(int(text))

    def __repr__(self) -> str:
        return (f"<Kernel seed={self.seed} processes={len(self.processes())} "
                f"ipc_namespaces={len(self._namespaces)} t={self.clock.now()}"
                f"{self._config_text()}>")

    def _config_text(self) -> str:
        """The namespace kinds built out, as a .config says it ("" when none is)."""
        off = [name for name, on in (("IPC_NS", self.config_ipc_ns),
                                     ("USER_NS", self.config_user_ns),
                                     ("PID_NS", self.config_pid_ns)) if not on]
        return "".join(f" CONFIG_{name}=n" for name in off)

    # --- running programs -------------------------------------------------------------
    def run(self, until: float | None = None, max_steps: int | None = None) -> None:
        """Run the programs until all have ended, jumping the clock to timers as needed.

        Raises DeadlockError (naming each blocked pid and what it waits on) when some are
        blocked and nothing can wake them, and re-raises a program's uncaught exception.

        ``until`` (seconds of virtual time since boot) stops the run when the clock reaches
        it: timers due by then fire, the clock is left at ``until``, and blocked programs are
        no deadlock (like SimPy's ``env.run(until=...)``). ``max_steps`` stops the run after
        that many switch points (see :mod:`ipcsim.sim.scheduler`), the program at the last
        one parked there. Either way the next ``run()`` goes on where this one stopped, as
        the same seed would have gone on without the stop.

        An exception raised in the caller meanwhile (Ctrl-C's KeyboardInterrupt) comes out of
        ``run()`` once the running program has reached its next switch point; the kernel is
        then consistent, and ``run()`` or ``close()`` may be called again.
        """
        __tracebackhide__ = True      # pytest: show the caller's line, not the run loop's
        sched = self.sched
        sched.check_host("Kernel.run()")
        target = None
        if until is not None:
            target = seconds_to_ns(until)
            if target < self.clock.now_ns():
                raise ValueError(f"until={until!r} is before the clock ({self.clock.now()} s)")
            if target > KTIME_MAX:
                raise OverflowError("the clock cannot pass KTIME_MAX (about 292 years of "
                                    "uptime)")
        if max_steps is not None:
            _check_int("max_steps", max_steps, 0, None, "max_steps must not be negative")
            sched.step_limit = sched.stop_at = sched.steps + max_steps
        try:
            sched.drive(UNLIMITED if target is None else target)
        finally:
            sched.step_limit = sched.stop_at = NEVER
        if sched.resume is not None:
            return               # stopped at max_steps: a program is parked, ready to go on
        if target is not None:
            self.clock._set(target)
            return
        blocked = sched.blocked()
        if blocked:
            raise DeadlockError(blocked)

    def run_until_idle(self) -> None:
        """Run the programs until each has ended or is blocked; the clock does not move."""
        self.sched.check_host("Kernel.run_until_idle()")
        self.sched.drive(NO_ADVANCE)

    def snapshot(self) -> dict[str, Any]:
        """The kernel's state as plain data (dicts and lists of str, int and None) that
        pandas can load: see :func:`ipcsim.views.snapshot`."""
        from ..views import snapshot
        return snapshot(self)

    def close(self) -> None:
        """End every program still running or blocked (their processes exit) and free what
        runs them. The kernel stays readable afterwards; ``closed_at`` marks where in
        ``trace`` the run ended (what follows are close's own exits).

        It never hangs: a program that swallows its kill (a bare ``except:`` around a call)
        and enters the kernel again is abandoned there, with a ResourceWarning naming it.
        An exception that a program's cleanup (``finally:``) raises while it unwinds is
        raised once every program has ended. Calling it again, or after a
        KeyboardInterrupt, is safe."""
        sched = self.sched
        sched.check_host("Kernel.close()")
        if self.closed_at is None:
            self.closed_at = len(self.trace)
            if self.tracing:
                from ..views import wait_for
                self.wait_for_at_close = wait_for(self)
        for task in list(sched.programs.values()):
            if task.process.alive:
                self._exit_process(task.process, signals.SIGKILL)
            sched.kill_task(task)
        sched.crash = None
        first = None
        while sched.runq or sched.resume is not None:
            try:
                sched.drive(NO_ADVANCE)       # the killed programs unwind
            except BaseException as e:      # a program's finally: raised; the others go on
                if first is None:
                    first = e
        sched.crash = None
        if first is not None:
            raise first

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the system call entry --------------------------------------------------------
    def _syscall(self, proc: ProcessState, fn: Callable[..., R], name: str,
                 args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        """The slow path of a system call: switch point, liveness, trace, signals on return."""
        task = self._prog
        if task is not None and task.process is proc and not kwargs and proc.alive:
            return self._program_call(task, proc, fn, args)
        sched = self.sched
        task = sched.current
        host = task.is_host
        if not host:
            sched.preempt(task)
        if not proc.alive:
            if not host and task.process is proc:
                raise sched.dying(task)
            raise ProcessGone(f"{syscall.call_text(name, args)}: process {proc.pid} has exited "
                              f"(status {proc.exit_status}); it can make no more calls")
        control = sched.control
        if control is not None and not host:
            return self._watched_call(control, proc, fn, name, args, kwargs, task)
        try:
            if not self.tracing:
                return fn(proc, *args, **kwargs)
            return self._traced_call(proc, fn, name, args, kwargs)
        finally:
            if not host:
                self._after_call(task)

    def _traced_call(self, proc: ProcessState, fn: Callable[..., R], name: str,
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        """The call, recorded in the trace with its result or errno."""
        start = self.clock.now()
        try:
            result = fn(proc, *args, **kwargs)
        except OSError as e:
            self._record(start, proc.pid, name, args, kwargs, None, e.errno)
            raise
        self._record(start, proc.pid, name, args, kwargs, result, None)
        return result

    def _watched_call(self, control: Control, proc: ProcessState, fn: Callable[..., R],
                      name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                      task: Task) -> R:
        """A program's call under an exploration: the control hears what the call is
        about to touch, and what it returned (an id it created, a child it forked)."""
        control.call(proc, name, args, kwargs)
        try:
            if not self.tracing:
                result = fn(proc, *args, **kwargs)
            else:
                result = self._traced_call(proc, fn, name, args, kwargs)
        except BaseException:
            control.returned(proc, name, args, kwargs, None)
            self._after_call(task)
            raise
        control.returned(proc, name, args, kwargs, result)
        self._after_call(task)
        return result

    def _program_call(self, task: Task, proc: ProcessState, fn: Callable[..., R],
                      args: tuple[Any, ...]) -> R:
        """A program's own call in an untraced run: the switch point, the call, and the
        return to user space, for the hot calls. The generated wrappers (``syscall``) make
        the same steps inline: calling this from them costs 12-15% of a program's ping-pong."""
        sched = self.sched
        sched.preempt(task)
        if not proc.alive:
            raise sched.dying(task)
        try:
            result = enter_program(fn, proc, args)
        except BaseException:
            self._after_call(task)
            raise
        if task.killed or proc.sigpending or proc.stopped or not proc.alive:
            self._after_call(task)
        return result

    def _record(self, start: float, pid: int, name: str, args: tuple[Any, ...],
                kwargs: dict[str, Any], result: object, err: int | None) -> None:
        if isinstance(result, Process):
            result = result.pid
        if kwargs:
            args = args + tuple(sorted(kwargs.items()))
        self.trace.append(TraceEvent(self.clock.now(), start, pid, name, args, result, err))

    def record_block(self, w: Waiter) -> BlockEvent:
        """Note in ``blocks`` that ``w``'s process begins to wait (traced kernels)."""
        proc = w.process
        rec = BlockEvent(proc.pid if proc is not None else 0, w.what, len(self.trace),
                         self.clock.now())
        self.blocks.append(rec)
        return rec

    def _after_call(self, task: Task) -> None:
        """A program returning to user space: die if killed, run handlers, honour SIGSTOP."""
        proc = task.process
        if not proc.alive or task.killed:
            raise self.sched.dying(task)
        if proc.sigpending:
            self._deliver_signals(proc)
            if not proc.alive:
                raise self.sched.dying(task)
        while proc.stopped:
            task.state = STOPPED
            self.sched.yield_now(task)
            self.sched.resume_checks(task)

    # --- processes --------------------------------------------------------------------
    def _alloc_pid(self) -> int:
        """The next free pid of the initial namespace after the last one, wrapping to 300
        at pid_max (see :meth:`PidNamespace.alloc_nr`)."""
        return self.init_pid_ns.alloc_nr()

    def _copy_process(self, parent: Process, flags: int,
                      target: Callable[..., object] | None, args: Sequence[Any]) -> Process:
        """copy_process() for fork and clone."""
        if target is not None and not callable(target):
            raise TypeError("target must be callable: it runs as target(process, *args)")
        if not isinstance(args, (tuple, list)):
            raise TypeError("args must be a tuple")
        # what runs the program is made first (dup_task_struct): EAGAIN with nothing changed
        task = self.sched.prepare(target, tuple(args)) if target is not None else None
        new_ns = None
        new_mnt_ns = None
        pid_ns = None
        creds = parent.creds
        new_user_ns = None
        try:
            if flags & CLONE_NEWUSER:
                # copy_creds(): the new user namespace, with the child's own credentials
                creds = creds.copy()
                new_user_ns = create_user_ns(self, creds, self.user_ns_of(parent.creds))
            # copy_namespaces and alloc_pid come after copy_mm in copy_process
            if flags & (CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWPID):
                if not creds.capable_in_own(CAP_SYS_ADMIN):
                    raise oserror(errno.EPERM)
                if flags & CLONE_NEWIPC and flags & CLONE_SYSVSEM:
                    raise oserror(errno.EINVAL)
            # create_new_namespaces(): the mount namespace first; a kind the kernel lacks
            # fails at its place (copy_ipcs(), copy_pid_ns(): stubs)
            if flags & CLONE_NEWNS:
                new_mnt_ns = copy_mnt_ns(self, parent.mnt_ns, self.user_ns_of(creds), creds)
            if flags & CLONE_NEWIPC:
                if self._ns_missing & CLONE_NEWIPC:
                    raise oserror(errno.EINVAL)
                new_ns = self._create_ipc_ns(parent, creds)
            # the child's pid_ns_for_children, where its pid is allocated
            if flags & CLONE_NEWPID:
                if self._ns_missing & CLONE_NEWPID:
                    raise oserror(errno.EINVAL)
                pid_ns = copy_pid_ns(self, flags, self.user_ns_of(creds),
                                     parent.pid_ns_for_children, parent.pid_ns, creds.euid)
            else:
                pid_ns = parent.pid_ns_for_children.get()
            pid = alloc_pid(pid_ns)
        except OSError:
            if pid_ns is not None:
                pid_ns.put()
            if new_ns is not None:
                new_ns.put()
            if new_mnt_ns is not None:
                new_mnt_ns.put()
            if new_user_ns is not None:
                new_user_ns.get().put()
            if task is not None:
                self.sched.discard(task)
            shm.fork_failed(parent)
            raise
        # Credentials are never changed in place (a change commits new ones), so the child
        # shares its parent's until either changes them.
        child = Process(self, pid, parent, creds,
                        new_ns if new_ns is not None else parent.ipc_ns.get())
        child.mnt_ns = new_mnt_ns if new_mnt_ns is not None else parent.mnt_ns.get()
        child.pid_ns_for_children = pid_ns
        user_ns = creds.user_ns
        if user_ns is not None:
            user_ns.get()
        child.exit_signal = flags & CSIGNAL or signals.SIGCHLD
        child.pgid, child.pgrp = parent.pgid, parent.pgrp
        child.umask_ = parent.umask_
        child.dumpable = parent.dumpable
        mm_user_ns = child.mm_user_ns = parent.mm_user_ns     # (dup_mm())
        if mm_user_ns is not None:
            mm_user_ns.get()
        child.sighand = dict(parent.sighand)
        child.sigmask = parent.sigmask
        child.comm = parent.comm
        child.rlimits = dict(parent.rlimits)
        for file in parent.fds:
            if file is not None:
                file.refs += 1
        child.fds = list(parent.fds)
        if flags & CLONE_SYSVSEM:
            if parent.sysvsem is None:
                parent.sysvsem = sem.UndoList()
            child.sysvsem = parent.sysvsem.share()
        shm.fork_mm(parent, child)
        self._attach_child(parent, child)
        attach_pid(child)
        if task is not None:
            child.comm = getattr(target, "__name__", "program")[:15]
            child.program = self.sched.spawn(task, child)
        return child

    def _exit_process(self, proc: Process, wstatus: int) -> None:
        """do_exit(): release everything the process holds, then become a zombie."""
        if proc.pid == 1:
            raise KernelPanic("Kernel panic - not syncing: Attempted to kill init! "
                              "(init cannot exit; end the other processes instead)")
        if not proc.alive:
            return
        if self.sched.control is not None:
            self.sched.control.exiting(proc)
        proc.alive = False
        proc.stopped = False
        proc.sigpending.clear()
        proc.siginfo = None
        proc.wstatus = wstatus
        sig = wstatus & 0x7F
        proc.exit_status = -sig if sig else wstatus >> 8
        shm.exit_mm(proc)
        mm_user_ns = proc.mm_user_ns
        if mm_user_ns is not None:
            proc.mm_user_ns = None
            mm_user_ns.put()
        sem.exit_sem(proc)
        shm.exit_shm(proc)
        while proc.fds:
            fd = len(proc.fds) - 1
            if proc.fds[fd] is None:
                proc.fds.pop()
            else:
                proc._close(fd)
        ns, proc.ipc_ns = proc.ipc_ns, None  # type: ignore[assignment]  # (it has exited)
        ns.put()
        mnt_ns, proc.mnt_ns = proc.mnt_ns, None  # type: ignore[assignment]  # (the same)
        mnt_ns.put()
        pid_ns = proc.pid_ns_for_children
        proc.pid_ns_for_children = None  # type: ignore[assignment]  # (the same)
        pid_ns.put()
        sched = self.sched
        if proc.program is not None and proc.program is not sched.current:
            sched.kill_task(proc.program)
        if proc.waiter is not None:
            sched.unblock(proc.waiter, KILLED)
        if self.tracing:
            self._record(self.clock.now(), proc.pid, "exit", (), {}, proc.exit_status, None)
        self._exit_notify(proc)

    def _exit_notify(self, proc: Process) -> None:
        """exit_notify(): the init of a PID namespace first kills the namespace's other
        processes and reaps its children (zap_pid_ns_processes), and is no zombie until the
        last of the namespace's other pids is freed (a zombie its parent, outside, has not
        reaped yet holds it); then :meth:`_exit_notify_parent`."""
        ns = proc.pid_ns
        if ns.child_reaper is proc and ns.parent is not None:
            self._zap_pid_ns_processes(proc, ns)
            if ns.pid_allocated > 1:
                ns.zapping = proc            # free_pid() goes on when they are freed
                return
        self._exit_notify_parent(proc)

    def _zap_pid_ns_processes(self, init: Process, ns: PidNamespace) -> None:
        """zap_pid_ns_processes(): SIGCHLD ignored (so ended children go at once), no more
        processes made in the namespace (ENOMEM), SIGKILL to every other process with a
        number there, in the order of those numbers, then the zombie children reaped."""
        init.sighand[signals.SIGCHLD] = signals.SIG_IGN
        ns.adding = False
        tasks = ns.tasks
        for nr in sorted(tasks):
            target = tasks.get(nr)
            if nr > 1 and target is not None and target.alive:
                self._continue(target)
                self._exit_process(target, signals.SIGKILL)
        zombies = init.zombies
        while zombies:
            self._reap(zombies.peekitem(0)[1])

    def _exit_notify_parent(self, proc: Process) -> None:
        """Reparent the children to the reaper of the process's PID namespace (init, or the
        namespace's init: forget_original_parent); notify the parent (or reap at once if it
        ignores SIGCHLD, or if it is init and the process an orphan it adopted); wake a
        parent blocked in wait()."""
        if proc.children:
            self._forget_original_parent(proc)
        self._notify_parent(proc)

    def _forget_original_parent(self, proc: Process) -> None:
        """Init reaps a zombie orphan at once and adopts the others (reaping each when it
        ends, as a real init does); a namespace's init gets them as children of its own,
        told of each zombie as a parent is (it reaps them with wait())."""
        reaper = proc.pid_ns.child_reaper
        init = self._procs[1]
        if reaper is None or reaper is proc:
            reaper = init
        for child in list(proc.children.values()):
            zombie = self._is_zombie(child)
            if reaper is init:
                if zombie:
                    self._reap(child)          # init reaps an orphaned zombie at once
                    continue
                if child.alive:
                    child.adopted = True
            del proc.children[child.pid]
            if proc.zombies:
                proc.zombies.pop(child.sibling_seq, None)
            child.parent = reaper
            child.exit_signal = signals.SIGCHLD     # reparent_leader(): no one slays init
            self._attach_child(reaper, child)
            if zombie:
                self._notify_parent(child)

    @staticmethod
    def _is_zombie(proc: Process) -> bool:
        """Ended, and not an init still waiting for its namespace to empty."""
        return not proc.alive and proc.pid_ns.zapping is not proc

    def _notify_parent(self, proc: Process) -> None:
        """do_notify_parent() and the wake-up of a parent in wait()."""
        parent = proc.parent
        assert parent is not None                # (init never exits)
        if proc.adopted or parent.sighand.get(signals.SIGCHLD) is signals.SIG_IGN:
            # init reaps the orphans it adopted, as a real init does
            self._reap(proc)
            self._wake_waiters(parent)
            return
        if parent.zombies is None:
            parent.zombies = SortedDict()
        parent.zombies[proc.sibling_seq] = proc
        if proc.exit_signal and parent.alive:
            self._send_signal(parent, proc.exit_signal)
        self._wake_waiters(parent)

    def _wake_waiters(self, parent: Process) -> None:
        if not parent.child_wait:
            return
        for w in parent.child_wait:
            self.sched.wake(w)

    def _attach_child(self, parent: Process, child: Process) -> None:
        self._sibling_seq += 1
        child.sibling_seq = self._sibling_seq
        parent.children[child.pid] = child

    def _reap(self, child: Process) -> int:
        """release_task(): the zombie's pid becomes free, and its credentials go (with
        their hold on its user namespace, which a zombie's /proc/PID/ns/user still shows)."""
        parent = child.parent
        assert parent is not None                # (init is never reaped)
        user_ns = child.creds.user_ns
        if user_ns is not None:
            user_ns.put()
        del parent.children[child.pid]
        if parent.zombies:
            parent.zombies.pop(child.sibling_seq, None)
        free_pid(child)     # (every namespace's number: it may let an init end, a namespace go)
        return child.pid

    # --- namespaces -------------------------------------------------------------------
    def user_ns_of(self, creds: Creds) -> UserNamespace:
        """The user namespace of ``creds`` (the initial one for None)."""
        ns = creds.user_ns
        return self.init_user_ns if ns is None else ns

    def _alloc_inum(self) -> int:
        """ns_alloc_inum(): the lowest free namespace inode number (every kind shares them)."""
        if self._free_inums:
            return heapq.heappop(self._free_inums)
        inum = self._next_inum
        self._next_inum += 1
        return inum

    def _pid_ns_freed(self, ns: PidNamespace) -> None:
        """A PID namespace's last reference went: its inode number is free again. Under an
        exploration the step doing it depends on every other: a put that frees a namespace
        (the last hold on a pid of it let go by an IPC object, maybe in a blocked call that
        goes on) changes what no call's footprint names."""
        del self._pid_namespaces[ns.inum]
        heapq.heappush(self._free_inums, ns.inum)
        control = self.sched.control
        if control is not None:
            control.barrier()

    def _user_ns_freed(self, ns: UserNamespace) -> None:
        del self._user_namespaces[ns.inum]
        heapq.heappush(self._free_inums, ns.inum)

    def _next_mnt_seq(self) -> int:
        self._mnt_seq += 1
        return self._mnt_seq

    def _mnt_ns_freed(self, ns: MntNamespace) -> None:
        del self._mnt_namespaces[ns.inum]
        heapq.heappush(self._free_inums, ns.inum)

    def _detach_mounts(self, node: vfs.Node) -> None:
        """detach_mounts(): ``node`` was removed; what other mount namespaces have mounted
        on it goes too."""
        for ns in list(self._mnt_namespaces.values()):
            if node.mounted:
                ns.mounts.detach_node(node)

    def _create_ipc_ns(self, creator: Process, creds: Creds | None = None) -> IpcNamespace:
        """create_ipc_ns(): the new namespace is owned by the user namespace of ``creds``
        (the creator's new credentials when it made a user namespace with it, else its
        own); ENOSPC past max_ipc_namespaces for the creator's euid there, or for the owner
        of a namespace below in any ancestor (inc_ipc_namespaces)."""
        if creds is None:
            creds = creator.creds
        uid = creds.euid
        user_ns = self.user_ns_of(creds)
        inc_ucount(user_ns, uid, UCOUNT_IPC)
        inum = self._alloc_inum()
        ns = IpcNamespace(self, inum, (creds.fsuid, creds.fsgid))
        ns.user_ns = user_ns.get()
        ns.ucount_uid = uid
        ns.refs = 1
        self._namespaces[inum] = ns
        return ns

    def _namespace_freed(self, ns: IpcNamespace) -> None:
        del self._namespaces[ns.inum]
        heapq.heappush(self._free_inums, ns.inum)
        dec_ucount(ns.user_ns, ns.ucount_uid, UCOUNT_IPC)
        ns.user_ns.put()

    def _rmid_forced_hook(self, ns: IpcNamespace | UserNamespace | Kernel) -> None:
        """After any access to shm_rmid_forced: with it set, destroy orphaned segments."""
        if isinstance(ns, IpcNamespace) and ns.shm_rmid_forced:
            shm.destroy_orphaned(ns)

    # --- signals ----------------------------------------------------------------------
    def _kill(self, sender: Process, pid: int, sig: int) -> None:
        """kill_something_info(), the pids in the sender's PID namespace: -1 is every
        process it sees but its init and the sender, a process group one it sees."""
        ns = sender.pid_ns
        if pid > 0:
            target = ns.tasks.get(pid)
            if target is None:
                raise oserror(errno.ESRCH)
            err = self._signal_one(sender, target, sig)
            if err:
                raise oserror(err)
            return
        if pid == -1:
            count, retval = 0, 0
            for target in self.processes(include_zombies=True):
                if pid_nr_ns(target.thread_pid, ns) > 1 and target is not sender:
                    err = self._signal_one(sender, target, sig)
                    count += 1
                    if err != errno.EPERM:
                        retval = err
            if not count:
                raise oserror(errno.ESRCH)
            if retval:
                raise oserror(retval)
            return
        pgrp = sender.pgid if pid == 0 else find_pgrp(ns, -pid)
        success, retval = False, errno.ESRCH
        for target in reversed(self.processes(include_zombies=True) if pgrp is not None else []):
            if target.pgid == pgrp:
                err = self._signal_one(sender, target, sig)
                success |= not err
                retval = err
        if not success:
            raise oserror(retval)

    def _signal_one(self, sender: Process, target: Process, sig: int) -> int:
        """Permission check and generation; returns 0 or an errno. The siginfo's si_pid is
        the sender's own pid (task_tgid_vnr), 0 when the target's PID namespace does not
        see the sender, whose signal then is forced (SIGKILL and SIGSTOP reach a namespace's
        init from an ancestor namespace); its si_uid the sender's uid as the target's user
        namespace sees it (:func:`signals.kill_si_uid`)."""
        creds, tcreds = sender.creds, target.creds
        if not signals.kill_ok(creds, tcreds):
            return errno.EPERM
        if sig and target.alive:
            ns = target.pid_ns
            uid = creds.uid if creds is tcreds and creds.user_ns is None \
                else signals.kill_si_uid(creds, tcreds)
            if ns is sender.pid_ns or pid_nr_ns(sender.thread_pid, ns):
                self._send_signal(target, sig, mqueue.SigInfo(sig, SI_USER, sender.vpid, uid))
            else:
                self._send_forced(target, sig, mqueue.SigInfo(sig, SI_USER, 0, uid))
        return 0

    def _send_forced(self, t: Process, sig: int, info: mqueue.SigInfo) -> None:
        """A signal from an ancestor PID namespace: SIGKILL and SIGSTOP reach a namespace's
        init as anyone (sig_task_ignored()'s force); neither can be caught or blocked, so
        they do what prepare_signal() and the default action do."""
        if t.unkillable and sig == signals.SIGKILL:
            self._continue(t)
            self._exit_process(t, sig)
        elif t.unkillable and sig == signals.SIGSTOP:
            signals.flush(t, signals.SIGCONT)
            self._stop(t)
        else:
            self._send_signal(t, sig, info)

    def _send_signal(self, t: Process, sig: int, info: mqueue.SigInfo | None = None) -> None:
        """Generate ``sig`` for ``t``: default actions happen now; handled signals are
        queued (with their siginfo ``info``), interrupt a blocked call, or run at once in a
        process that is idle. An init (the initial one, or a PID namespace's) is spared the
        signals it has no handler for (see :meth:`_send_forced`)."""
        if not t.alive:
            return
        handler = t.sighand.get(sig, signals.SIG_DFL)
        if t.unkillable and handler is signals.SIG_DFL:
            # init is protected from signals it does not handle; a SIGCONT still continues
            # it (prepare_signal() runs before the signal is found ignored)
            if sig == signals.SIGCONT:
                for stop in signals.STOP_SIGNALS:
                    signals.flush(t, stop)
                self._continue(t)
            return
        if sig in (signals.SIGCONT, signals.SIGKILL):
            self._continue(t)
        # prepare_signal(): SIGCONT discards the pending stop signals, a stop signal a
        # pending SIGCONT
        if sig == signals.SIGCONT:
            for stop in signals.STOP_SIGNALS:
                signals.flush(t, stop)
        elif signals.default_action(sig) == signals.STOP:
            signals.flush(t, signals.SIGCONT)
        blocked = t.sigmask >> (sig - 1) & 1
        if blocked:
            # A blocked signal waits, even one that is ignored or would kill (sig_ignored).
            signals.queue(t, sig, info)
            return
        if signals.is_ignored(t, sig):
            return
        if handler is signals.SIG_DFL:
            self._default_action(t, sig)
            return
        signals.queue(t, sig, info)
        if t.waiter is not None:
            self.sched.unblock(t.waiter, SIGNAL)
        elif t.program is None:
            self._deliver_signals(t)

    def _default_action(self, t: Process, sig: int) -> None:
        action = signals.default_action(sig)
        if action in (signals.TERM, signals.CORE):
            # No core is written (RLIMIT_CORE is 0), so the status has no core-dump bit.
            self._exit_process(t, sig)
        elif action == signals.STOP:
            if sig != signals.SIGSTOP and self._orphaned_pgrp(t.pgid):
                return   # get_signal(): the terminal stop signals of an orphaned group
            self._stop(t)

    def _orphaned_pgrp(self, pgid: int) -> bool:
        """is_orphaned_pgrp(): no member has a parent in another group of its session (the
        model has one session, so any parent outside the group counts). Only the rare
        default stop of SIGTSTP, SIGTTIN and SIGTTOU asks, so a walk over processes is fine."""
        for p in self._procs.values():
            if p.alive and p.pgid == pgid:
                parent = p.parent
                if parent is not None and parent.alive and parent.pgid != pgid:
                    return False
        return True

    def _stop(self, t: Process) -> None:
        if t.stopped:
            return
        t.stopped = True
        task = t.program
        if task is not None and task.state == RUNNABLE:
            task.state = STOPPED       # its run queue entry is skipped while it is stopped
        elif task is not None and task.state == BLOCKED:
            w = task.waiter
            if w is not None and getattr(w, "ends_on_stop", False):
                # The sleep ends with signal_pending(); once continued, the call starts
                # again or fails with EINTR, as each decides (StopEndsWaiter).
                self.sched.unblock(w, waitq.STOPPED)

    def _continue(self, t: Process) -> None:
        if not t.stopped:
            return
        t.stopped = False
        task = t.program
        if task is not None and task.state == STOPPED:
            self.sched.make_runnable(task)

    def _deliver_signals(self, proc: Process) -> bool:
        """Deliver every pending signal that is not blocked, as Linux does on the way back to
        user space; True if any was delivered.

        Signals are taken as get_signal() dequeues them: the synchronous ones (SIGSEGV,
        SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS) first, then the lowest number. A default
        action or SIG_IGN is done at once; a handler gets a frame, and its signal is blocked
        from then on. The frames stack up, so the handlers run last set up first, each with
        the mask of its frame (its signal blocked) and the mask before it restored on return
        (sigreturn), after which what that mask held back is delivered before the next
        frame runs."""
        delivered = False
        frames = []
        mask = proc.sigmask
        while proc.alive:
            ready = [sig for sig in proc.sigpending if not mask >> (sig - 1) & 1]
            if not ready:
                break
            sync = [sig for sig in ready if sig in signals.SYNCHRONOUS]
            sig = min(sync or ready)
            info = signals.dequeue(proc, sig)
            delivered = True
            handler = proc.sighand.get(sig, signals.SIG_DFL)
            if handler is signals.SIG_IGN:
                continue
            if handler is signals.SIG_DFL:
                if not proc.unkillable:     # (get_signal(): SIGNAL_UNKILLABLE)
                    self._default_action(proc, sig)
                continue
            frames.append((sig, handler, info, mask))
            mask |= 1 << (sig - 1)
        for sig, handler, info, saved in reversed(frames):
            if not proc.alive:
                break
            proc.sigmask = saved | 1 << (sig - 1)
            proc.last_siginfo = info
            try:
                handler(sig)
            finally:
                proc.sigmask = saved
            if proc.sigpending:
                # sigreturn goes back to user space, where what the frame's mask held back
                # (another instance of a real-time signal ...) is delivered first
                self._deliver_signals(proc)
        return delivered
