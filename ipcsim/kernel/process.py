"""Processes and the system calls they make.

A :class:`Process` is ``task_struct`` for one single-threaded process: a pid, credentials,
a reference to its IPC namespace, a descriptor table, a SEM_UNDO list, the shared memory
segments it created, signal handlers, and its children. Every public method that is a
system call goes through :func:`syscall`, which makes it a switch point for the scheduler
when a program calls it, and records it when the kernel traces.

A method called from the caller's own thread acts as that process; if it would block, the
scheduler runs the programs until it can finish.
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..constants import (CAP_DAC_OVERRIDE, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CLONE_FILES,
                         CLONE_FS, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS,
                         CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS,
                         CLONE_PARENT, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM, CSIGNAL,
                         CAP_SYS_RESOURCE, MNT_DETACH, MQ_BYTES_MAX, MS_BIND, MS_PRIVATE, MS_REC,
                         MS_SHARED, MS_SILENT, MS_SLAVE, MS_UNBINDABLE, CAP_SYS_CHROOT, O_ACCMODE, O_CREAT,
                         O_EXCL, O_RDONLY, O_RDWR, O_WRONLY,
                         RLIM_INFINITY, RLIM_NLIMITS,
                         RLIMIT_MSGQUEUE, WNOHANG)
from ..errors import UnsupportedError, oserror
from ..sim.clock import seconds_to_ns
from ..sim.scheduler import ProcessExit
from . import creds as _creds
from . import files, mntns, pidns, procfs, sem, shm, signals, userns, vfs
from .procfs import NsBindMount as NsBindMount
from .mqueue import MqCalls
from .msg import MsgCalls
from .sem import SemCalls
from .shm import ShmCalls
from .syscall import as_bytes, int_arg, syscall
from .viewable import Viewable
from .waitq import SIGNAL, WaitQueue, Waiter

if TYPE_CHECKING:
    from sortedcontainers import SortedDict

    from ..sim.scheduler import Task
    from .creds import Creds
    from .kernel import Kernel
    from .mqueue import SigInfo
    from .vfs import Stat
    from .mntns import MntNamespace
    from .pidns import Pid, PidNamespace
    from .namespace import IpcNamespace
    from .shm import AddressSpace, ShmidKernel

# unshare(2) accepts these bits (check_unshare_flags); anything else is EINVAL.
UNSHARE_VALID = (CLONE_THREAD | CLONE_FS | CLONE_NEWNS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES
                 | CLONE_SYSVSEM | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER
                 | CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)
# Namespace kinds Linux has but the model does not.
UNMODELLED_NS = CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME
# The namespace flags that need CAP_SYS_ADMIN (unshare_nsproxy_namespaces, copy_namespaces).
PRIVILEGED_NS = (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID
                 | CLONE_NEWCGROUP | CLONE_NEWTIME)
# clone flags the model carries out (CSIGNAL: the exit signal).
CLONE_MODELLED = (CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER | CLONE_SYSVSEM
                  | CSIGNAL)
# mount(2)'s propagation types (do_change_type)
MS_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE
CLONE_KNOWN = 0xFFFFFF00 & ~CLONE_NEWTIME | CSIGNAL

# A program: ``target(process, *args)`` runs as the process it was forked for.
Program = Callable[..., object]


if TYPE_CHECKING:
    class ProcessState(Viewable):
        """What a process holds, for type checkers only (at run time Process's slots): the
        IPC call classes (MsgCalls, SemCalls, ShmCalls, MqCalls), parts of Process defined
        beside their kind of object, see a process as this."""

        kernel: Kernel
        pid: int
        thread_pid: Pid
        vpid: int
        pid_ns: PidNamespace
        pid_ns_for_children: PidNamespace   # (None once it has exited)
        unkillable: bool
        parent: Process | None
        children: dict[int, Process]
        creds: Creds
        ipc_ns: IpcNamespace      # (None once it has exited: no call reaches it then)
        mnt_ns: MntNamespace      # (the same)
        fds: list[files.OpenFile | None]
        alive: bool
        exit_status: int | None
        wstatus: int | None
        result: Any
        program: Task | None
        waiter: Waiter | None
        sigpending: list[int]
        sigmask: int
        sighand: dict[int, signals.Handler]
        stopped: bool
        pgid: int
        pgrp: Pid
        dumpable: bool
        mm_user_ns: userns.UserNamespace | None
        sysvsem: sem.UndoList | None
        shm_clist: list[ShmidKernel]
        umask_: int
        child_wait: WaitQueue | None
        comm: str
        exit_signal: int
        adopted: bool
        zombies: SortedDict[int, Process] | None
        sibling_seq: int
        mm: AddressSpace | None
        rlimits: dict[int, tuple[int, int]]
        siginfo: dict[int, list[SigInfo | None]] | None
        last_siginfo: SigInfo | None

        # the descriptor table (Process has them)
        def _file(self, fd: object) -> files.OpenFile: ...

        def _unused_fd(self) -> int: ...

        def _install_at(self, fd: int, file: files.OpenFile) -> int: ...

        def _close(self, fd: int) -> None: ...


def _change_type(nd: vfs.Nameidata, flags: int) -> None:
    """do_change_type(): on the root of a mount, exactly one propagation type (EINVAL).
    Every mount of the model is private and nothing propagates, so MS_PRIVATE and
    MS_UNBINDABLE (nothing but namespace files can be bound) change nothing."""
    if nd.node is not nd.mnt.root:
        raise oserror(errno.EINVAL)
    kind = flags & ~(MS_REC | MS_SILENT)
    if kind & (kind - 1):
        raise oserror(errno.EINVAL)
    if kind & (MS_SHARED | MS_SLAVE):
        raise UnsupportedError("shared and slave mounts are not modelled: every mount of "
                               "ipcsim is private")


class Process(MsgCalls, SemCalls, ShmCalls, MqCalls, Viewable):
    """One simulated process.

    ``pid`` is its number in the initial PID namespace, as the host sees it: what
    ``Kernel.process()`` takes, what ``ps`` on the host shows, what every table of the model
    keys on (``thread_pid`` is its :class:`~ipcsim.kernel.pidns.Pid`, which knows its
    numbers in the namespaces below too). A process in a PID namespace of its own
    knows itself by ``vpid`` (what its getpid() returns); ``pid_in(ns)`` is its number in
    any namespace (0 where it has none) and ``nspid`` all of them, outermost first, as the
    NSpid line of /proc/PID/status shows them. ``pid_ns`` is the namespace it was made in,
    ``pid_ns_for_children`` where its next children go."""

    __slots__ = ("kernel", "pid", "thread_pid", "vpid", "pid_ns", "pid_ns_for_children",
                 "unkillable", "pgrp",
                 "parent", "children", "creds", "ipc_ns", "mnt_ns", "fds", "alive",
                 "exit_status", "wstatus", "result", "program", "waiter", "sigpending", "sigmask",
                 "sighand", "stopped", "pgid", "dumpable", "mm_user_ns", "sysvsem", "shm_clist",
                 "umask_",
                 "child_wait", "comm", "exit_signal", "adopted", "zombies", "sibling_seq", "mm",
                 "rlimits", "siginfo", "last_siginfo", "__weakref__")

    def __init__(self, kernel: Kernel, pid: Pid, parent: Process | None, creds: Creds,
                 ipc_ns: IpcNamespace):
        # (the types: ProcessState)
        self.kernel = kernel
        self.pid = pid.nr
        self.thread_pid = pid
        self.vpid = pid.nrs[-1]   # getpid(): task_tgid_vnr(), fixed for the process's life
        self.pid_ns = pid.nss[-1]
        self.pid_ns_for_children = kernel.init_pid_ns   # (its creator sets it, with a ref)
        self.unkillable = False   # SIGNAL_UNKILLABLE: an init (attach_pid sets it)
        self.parent = parent
        self.children = {}
        self.creds = creds
        self.ipc_ns = ipc_ns
        self.mnt_ns = kernel.init_mnt_ns    # (its creator sets it, with a reference)
        self.fds = []
        self.alive = True
        self.exit_status = None
        self.wstatus = None
        self.result = None
        self.program = None
        self.waiter = None
        self.sigpending = []
        self.sigmask = 0          # blocked signals: bit sig-1
        self.sighand = {}
        self.stopped = False
        self.pgid = pid.nr
        self.pgrp = pid           # the group's Pid (pgid is its number in the initial ns)
        self.dumpable = True
        # mm->user_ns: the user namespace whose CAP_SYS_PTRACE reaches the process while it
        # is not dumpable (None: the initial one); its parent's at fork, the caller's own at
        # execve (exec_mm), unchanged by unshare or setns
        self.mm_user_ns = None
        self.sysvsem = None
        self.shm_clist = []
        self.umask_ = 0o022
        self.child_wait = None    # made by the first wait() that blocks
        self.comm = "init" if pid.nr == 1 else "proc"
        self.exit_signal = signals.SIGCHLD
        self.adopted = False      # an orphan handed to init, which reaps it when it ends
        self.zombies = None       # SortedDict sibling_seq -> ended child, made on first use
        self.sibling_seq = 0      # place in the parent's list of children
        self.mm = None            # every mapping: the program's (made on first use) and the
                                  # shm attachments (shm.py)
        self.rlimits = {RLIMIT_MSGQUEUE: (MQ_BYTES_MAX, MQ_BYTES_MAX)}   # (soft, hard)
        self.siginfo = None       # signal -> the siginfo of each pending instance
        self.last_siginfo = None  # the siginfo of the signal whose handler runs (SigInfo)

    # --- what users read --------------------------------------------------------------
    @property
    def ppid(self) -> int:
        """The parent's pid in the initial PID namespace (0 for init); getppid() gives it
        as the process sees it."""
        return self.parent.pid if self.parent is not None else 0

    def vnr_in(self, reader: Process) -> int:
        """The process's number as ``reader`` sees it (pid_vnr() with ``reader`` current)."""
        ns = reader.pid_ns
        return self.pid if ns.parent is None else pidns.pid_nr_ns(self.thread_pid, ns)

    def pid_in(self, ns: pidns.PidNamespace) -> int:
        """task_pid_nr_ns(): the process's number in PID namespace ``ns``, 0 when it has
        none there (``ns`` is below its own, or unrelated)."""
        return pidns.pid_nr_ns(self.thread_pid, ns)

    @property
    def nspid(self) -> tuple[int, ...]:
        """Its numbers from the initial PID namespace down to its own (/proc/PID/status's
        NSpid)."""
        return self.thread_pid.nrs

    @property
    def uid(self) -> int:
        return self.creds.uid

    @property
    def euid(self) -> int:
        return self.creds.euid

    @property
    def gid(self) -> int:
        return self.creds.gid

    @property
    def egid(self) -> int:
        return self.creds.egid

    @property
    def capabilities(self) -> int:
        """The effective capability set, as a bit mask of CAP_* numbers."""
        return self.creds.cap_effective

    def has_capability(self, cap: int) -> bool:
        return self.creds.capable(_creds.check_cap(cap))

    @property
    def zombie(self) -> bool:
        """Ended but not yet reaped by its parent's wait() (a PID namespace's init is no
        zombie while it waits, exiting, for the namespace's other processes to go)."""
        return (not self.alive and self.kernel._procs.get(self.pid) is self
                and self.pid_ns.zapping is not self)

    def __repr__(self) -> str:
        if self.alive:
            state = f"ipc:[{self.ipc_ns.inum}]"
        else:
            state = f"exited {self.exit_status}" + (" zombie" if self.zombie else "")
        return f"<Process {self.pid} uid={self.creds.euid} {state}>"

    # --- processes --------------------------------------------------------------------
    @syscall
    def fork(self, target: Program | None = None,
             args: tuple[Any, ...] | list[Any] = ()) -> Process:
        """fork(2): a child in the same namespace; with ``target`` it runs
        ``target(child, *args)`` as a scheduled program."""
        return self.kernel._copy_process(self, signals.SIGCHLD, target, args)

    @syscall
    def clone(self, flags: int, target: Program | None = None,
              args: tuple[Any, ...] | list[Any] = ()) -> Process:
        """clone(2) with CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID and/or
        CLONE_SYSVSEM; the low byte is the exit signal (SIGCHLD when 0). CLONE_NEWNS,
        CLONE_NEWIPC and CLONE_NEWPID need CAP_SYS_ADMIN in the caller's user namespace
        (EPERM), or CLONE_NEWUSER with them: the new user namespace is made first and owns
        the new ones; CLONE_NEWNS cannot be combined with CLONE_FS, nor CLONE_NEWIPC with
        CLONE_SYSVSEM, nor CLONE_NEWUSER or CLONE_NEWPID with CLONE_THREAD (EINVAL).
        CLONE_NEWUSER needs no privilege (see :func:`userns.create_user_ns` for its ENOSPC
        and EPERM). With CLONE_NEWPID the child is pid 1 of a new PID namespace below the
        caller's (see :func:`pidns.create_pid_ns` for its EINVAL and ENOSPC; EINVAL too
        after an unshare(CLONE_NEWPID) whose init is not made yet). Without it the child
        goes to the caller's ``pid_ns_for_children`` (ENOMEM once that namespace's init has
        died). An init (pid 1 of any namespace) cannot use CLONE_PARENT (EINVAL). A
        namespace kind the kernel was built without is EINVAL, with no child made and no
        pid used: CLONE_NEWUSER before the EPERM, as copy_creds comes before
        copy_namespaces; CLONE_NEWIPC and CLONE_NEWPID where create_new_namespaces() gets to
        them (after the mount namespace, and the IPC namespace before the PID one, so
        their own errors, ENOSPC, come first), what was made before freed again."""
        flags = int_arg(flags, "flags")
        if flags < 0 or flags > 0xFFFFFFFF or flags & ~CLONE_KNOWN:
            raise oserror(errno.EINVAL)
        if (flags & CSIGNAL) > 64:
            raise oserror(errno.EINVAL)
        if flags & CLONE_NEWNS and flags & CLONE_FS:
            raise oserror(errno.EINVAL)     # copy_process: a new root needs its own fs
        if flags & CLONE_NEWUSER and flags & CLONE_FS:
            raise oserror(errno.EINVAL)     # copy_process: no shared fs
        if flags & CLONE_THREAD and not flags & CLONE_SIGHAND \
                or flags & CLONE_SIGHAND and not flags & CLONE_VM:
            raise oserror(errno.EINVAL)     # a thread shares handlers, handlers share the mm
        if flags & CLONE_PARENT and self.unkillable:
            raise oserror(errno.EINVAL)     # an init makes no siblings (SIGNAL_UNKILLABLE)
        if flags & CLONE_THREAD and (flags & (CLONE_NEWUSER | CLONE_NEWPID)
                                     or self.pid_ns_for_children is not self.pid_ns):
            raise oserror(errno.EINVAL)     # a thread stays in its group's namespaces
        missing = flags & self.kernel._ns_missing
        if missing & CLONE_NEWUSER:
            raise oserror(errno.EINVAL)     # copy_creds: create_user_ns() is a stub
        if flags & PRIVILEGED_NS & ~CSIGNAL and not flags & CLONE_NEWUSER \
                and not self.creds.capable_in_own(CAP_SYS_ADMIN):
            shm.fork_failed(self)           # copy_namespaces fails after copy_mm
            raise oserror(errno.EPERM)
        # (with a kind the kernel lacks, create_new_namespaces() fails before any kind the
        # model does not make could be made, or outlive the failure)
        if flags & ~CLONE_MODELLED and not missing:
            raise UnsupportedError(f"clone flags {flags & ~CLONE_MODELLED:#x} are not "
                                   f"modelled: only CLONE_NEWUSER, CLONE_NEWNS, "
                                   f"CLONE_NEWIPC, CLONE_NEWPID, CLONE_SYSVSEM and an exit "
                                   f"signal are")
        return self.kernel._copy_process(self, flags, target, args)

    @syscall
    def exit(self, status: int = 0) -> None:
        """exit(2): undo SEM_UNDO, detach shared memory, close descriptors, leave the
        namespace (which dies if this was its last reference), become a zombie."""
        status = int_arg(status, "status")
        kernel = self.kernel
        kernel._exit_process(self, (status & 0xFF) << 8)
        if kernel.sched.current.process is self:
            raise ProcessExit

    @syscall
    def wait(self, pid: int = -1, options: int = 0) -> tuple[int, int]:
        """waitpid(2): reap a child that ended; returns ``(pid, wstatus)`` (use
        ``os.WIFEXITED``/``os.WEXITSTATUS``/``os.WTERMSIG``). Blocks until one ends;
        ``WNOHANG`` gives ``(0, 0)`` instead. ECHILD when no child matches. Pids (the
        argument, a process group, the result) are numbers in the caller's PID namespace."""
        pid = int_arg(pid, "pid")
        options = int_arg(options, "options")
        if options & ~0x6000000F:
            raise oserror(errno.EINVAL)
        while True:
            child = self._find_zombie(pid)
            if child is not None:
                wstatus = child.wstatus
                assert wstatus is not None      # set when it ended
                self.kernel._reap(child)
                return child.vnr_in(self), wstatus
            if options & WNOHANG:
                return 0, 0
            w = Waiter(self, ("wait({}) for a child to exit", pid))
            if self.child_wait is None:
                self.child_wait = WaitQueue()
            self.child_wait.add(w)
            if self.kernel.sched.block(w) == SIGNAL:
                # do_wait looks for an ended child before it looks at signals: a child's
                # SIGCHLD handler does not make the wait for that very child fail
                child = self._find_zombie(pid)
                if child is not None:
                    wstatus = child.wstatus
                    assert wstatus is not None
                    self.kernel._reap(child)
                    return child.vnr_in(self), wstatus
                raise oserror(errno.EINTR)

    def _find_zombie(self, pid: int) -> "Process | None":
        """The first ended child that ``pid`` selects, in the order the children were
        attached (do_wait); None if all are running; ECHILD if none matches at all."""
        zombies = self.zombies
        if pid > 0:
            child = self.children.get(pid) if self.pid_ns.parent is None else self._child(pid)
            if child is None:
                raise oserror(errno.ECHILD)
            return child if zombies and zombies.get(child.sibling_seq) is child else None
        if pid == -1:
            if not self.children:
                raise oserror(errno.ECHILD)
            return zombies.peekitem(0)[1] if zombies else None
        pgrp = self.pgid if pid == 0 else pidns.find_pgrp(self.pid_ns, -pid)
        matching = [c for c in self.children.values() if c.pgid == pgrp]
        if not matching or pgrp is None:
            raise oserror(errno.ECHILD)
        return next((c for c in matching
                     if zombies and zombies.get(c.sibling_seq) is c), None)

    def _child(self, pid: int) -> Process | None:
        """The child numbered ``pid`` in this process's PID namespace, or None."""
        ns = self.pid_ns
        if ns.parent is None:
            return self.children.get(pid)
        proc = ns.tasks.get(pid)
        if proc is None or proc.parent is not self:
            return None
        return proc

    @syscall
    def sleep(self, seconds: float) -> None:
        """nanosleep(2) on the virtual clock; EINTR when a handled signal arrives."""
        ns = seconds_to_ns(seconds)
        if ns < 0:
            raise oserror(errno.EINVAL)
        sched = self.kernel.sched
        w = Waiter(self, ("sleep({})", seconds))
        if sched.block(w, sched.clock.now_ns() + ns) == SIGNAL:
            raise oserror(errno.EINTR)

    @syscall
    def pause(self) -> None:
        """pause(2): wait for a signal; always fails with EINTR once a handler ran."""
        w = Waiter(self, "pause() for a signal")
        while self.kernel.sched.block(w) != SIGNAL:
            w = Waiter(self, "pause() for a signal")
        raise oserror(errno.EINTR)

    @syscall
    def getpid(self) -> int:
        """getpid(2): the number in the process's own PID namespace (``vpid``)."""
        return self.vpid

    @syscall
    def getppid(self) -> int:
        """getppid(2): the parent's number in the caller's PID namespace; 0 when the parent
        is not in it (the parent of a namespace's init, outside)."""
        parent = self.parent
        return pidns.pid_nr_ns(parent.thread_pid, self.pid_ns) if parent is not None else 0

    @syscall
    def setpgid(self, pid: int = 0, pgid: int = 0) -> None:
        """setpgid(2) for this process or one of its children, both numbers in the caller's
        PID namespace (a group it does not see: EPERM)."""
        pid, pgid = int_arg(pid, "pid"), int_arg(pgid, "pgid")
        if pgid < 0:
            raise oserror(errno.EINVAL)
        target = self if pid in (0, self.vpid) else self._child(pid)
        if target is None or not target.alive:
            raise oserror(errno.ESRCH)
        ns = self.pid_ns
        if not pgid or pgid == pidns.pid_nr_ns(target.thread_pid, ns):
            group = target.thread_pid
        else:
            found = next((p.pgrp for p in self.kernel.processes()
                          if pidns.pid_nr_ns(p.pgrp, ns) == pgid), None)
            if found is None:
                raise oserror(errno.EPERM)
            group = found
        if group is not target.pgrp:
            pidns.change_pgrp(target, group)

    @syscall
    def getpgid(self, pid: int = 0) -> int:
        """getpgid(2): the group's number in the caller's PID namespace (0 for a group it
        does not see, as that of a namespace's init that kept its parent's)."""
        pid = int_arg(pid, "pid")
        ns = self.pid_ns
        target = self if pid in (0, self.vpid) else ns.tasks.get(pid)
        if target is None:
            raise oserror(errno.ESRCH)
        return pidns.pid_nr_ns(target.pgrp, ns)

    # --- signals ----------------------------------------------------------------------
    @syscall
    def kill(self, pid: int, sig: int) -> None:
        """kill(2): pid > 0 one process, 0 this process group, -1 every process but init
        and the caller, < -1 the group -pid, each a number in the caller's PID namespace
        (-1 reaches the processes it sees, but not the namespace's init). Permission as
        kill_ok_by_cred (EPERM). A namespace's init gets from inside only the signals it
        has a handler for; from an ancestor namespace SIGKILL and SIGSTOP reach it too."""
        pid = int_arg(pid, "pid")
        sig = signals.check_signal(sig)
        self.kernel._kill(self, pid, sig)

    @syscall
    def signal(self, sig: int, handler: signals.Handler) -> signals.Handler:
        """sigaction(2) in the style of ``signal.signal``: ``handler(signum)`` runs in this
        process, or ``SIG_DFL``/``SIG_IGN``; returns the previous disposition. SIGKILL and
        SIGSTOP cannot be caught (EINVAL)."""
        sig = signals.check_signal(sig, allow_zero=False)
        if handler is not signals.SIG_DFL and handler is not signals.SIG_IGN \
                and not callable(handler):
            raise TypeError("handler must be callable, SIG_DFL or SIG_IGN")
        if sig in (signals.SIGKILL, signals.SIGSTOP):
            raise oserror(errno.EINVAL)
        old = self.sighand.get(sig, signals.SIG_DFL)
        if handler is signals.SIG_DFL:
            self.sighand.pop(sig, None)
        else:
            self.sighand[sig] = handler
        if signals.is_ignored(self, sig):
            signals.flush(self, sig)
        return old

    @syscall
    def sigprocmask(self, how: int, sigs: Iterable[int] | None = None) -> set[int]:
        """sigprocmask(2): ``how`` is SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK; ``sigs`` an
        iterable of signal numbers (None only reads). Returns the old mask as a set.
        SIGKILL and SIGSTOP cannot be blocked; signals it unblocks are delivered now."""
        old = self.sigmask
        if sigs is not None:
            mask = signals.mask_of(sigs)
            how = int_arg(how, "how")
            if how == signals.SIG_BLOCK:
                self.sigmask = old | mask
            elif how == signals.SIG_UNBLOCK:
                self.sigmask = old & ~mask
            elif how == signals.SIG_SETMASK:
                self.sigmask = mask
            else:
                raise oserror(errno.EINVAL)
            if self.program is None and self.sigpending:
                self.kernel._deliver_signals(self)
        return signals.set_of(old)

    @syscall
    def sigpending_signals(self) -> set[int]:
        """sigpending(2): the signals raised but not delivered (blocked ones)."""
        return set(self.sigpending)

    @syscall
    def sigsuspend(self, sigs: Iterable[int]) -> None:
        """sigsuspend(2): wait for a signal with ``sigs`` as the mask, atomically; always
        fails with EINTR once a handler ran, then the old mask is back."""
        mask = signals.mask_of(sigs)
        old, self.sigmask = self.sigmask, mask
        kernel = self.kernel
        try:
            while not (self.sigpending and kernel._deliver_signals(self)):
                w = Waiter(self, "sigsuspend() for a signal")
                if kernel.sched.block(w) == SIGNAL:
                    break
        finally:
            self.sigmask = old
        raise oserror(errno.EINTR)

    # --- namespaces -------------------------------------------------------------------
    @syscall
    def unshare(self, flags: int) -> None:
        """unshare(2). CLONE_NEWUSER moves the caller into a new user namespace, where it has
        every capability (its ids show as 65534 until the maps are written); CLONE_NEWNS
        into a new mount namespace with a copy of its mounts (see :mod:`.mntns`; EPERM
        without CAP_SYS_ADMIN in its user namespace, ENOSPC past max_mnt_namespaces);
        CLONE_NEWIPC into a new IPC namespace (EPERM without CAP_SYS_ADMIN in its user
        namespace, the new one when both are asked; ENOSPC past max_ipc_namespaces), owned
        by its user namespace; like CLONE_SYSVSEM alone it first
        applies and drops the caller's SEM_UNDO list, and it orphans (or, with
        shm_rmid_forced, destroys) the shared memory segments the caller created.
        CLONE_NEWPID makes a PID namespace for the caller's children, not for the caller:
        its next child is pid 1 there, the ones after it join it (EPERM as CLONE_NEWIPC;
        EINVAL when the caller's children already go to another namespace than its own,
        as after a first unshare(CLONE_NEWPID); ENOSPC past 32 levels or
        max_pid_namespaces). A namespace kind the kernel was built without is EINVAL, with
        nothing changed: CLONE_NEWUSER before the EPERM, as unshare_userns comes first;
        CLONE_NEWIPC and CLONE_NEWPID where create_new_namespaces() gets to them, as
        :meth:`clone` has it."""
        flags = int_arg(flags, "flags")
        if flags & CLONE_NEWUSER:
            flags |= CLONE_THREAD | CLONE_FS
        if flags & CLONE_VM:
            flags |= CLONE_SIGHAND
        if flags & CLONE_SIGHAND:
            flags |= CLONE_THREAD
        if flags & CLONE_NEWNS:
            flags |= CLONE_FS
        if flags < 0 or flags & ~UNSHARE_VALID:
            raise oserror(errno.EINVAL)
        kernel = self.kernel
        missing = flags & kernel._ns_missing
        if missing & CLONE_NEWUSER:
            raise oserror(errno.EINVAL)     # unshare_userns: create_user_ns() is a stub
        creds = self.creds
        new_user_ns = None
        if flags & CLONE_NEWUSER:
            creds = creds.copy()            # unshare_userns(): the new credentials
            new_user_ns = userns.create_user_ns(kernel, creds, kernel.user_ns_of(self.creds))
            new_user_ns.get()
        try:
            new_mnt_ns, new_ns, new_pid_ns = self._unshare_nsproxy(flags, creds, missing)
        except BaseException:
            if new_user_ns is not None:
                new_user_ns.put()
            raise
        if flags & CLONE_NEWIPC:
            flags |= CLONE_SYSVSEM
        if flags & CLONE_SYSVSEM:
            sem.exit_sem(self)
        if new_user_ns is not None:
            old_user_ns = self.creds.user_ns
            self.creds = creds              # (a subset: the caller owns the new namespace)
            if old_user_ns is not None:
                old_user_ns.put()
        if new_mnt_ns is not None:
            old_mnt, self.mnt_ns = self.mnt_ns, new_mnt_ns
            old_mnt.put()
        if new_ns is not None:
            shm.exit_shm(self)
            old, self.ipc_ns = self.ipc_ns, new_ns
            old.put()
        if new_pid_ns is not None:
            old_pid_ns, self.pid_ns_for_children = self.pid_ns_for_children, new_pid_ns
            old_pid_ns.put()

    def _unshare_nsproxy(self, flags: int, creds: Creds, missing: int
                         ) -> tuple[MntNamespace | None, IpcNamespace | None,
                                    pidns.PidNamespace | None]:
        """unshare_nsproxy_namespaces(): the checks with the new credentials, then the new
        mount, IPC and PID namespaces asked for, in create_new_namespaces()'s order (the
        caller's stay until the unshare commits)."""
        if flags & PRIVILEGED_NS and not creds.capable_in_own(CAP_SYS_ADMIN):
            raise oserror(errno.EPERM)
        # (with a kind the kernel lacks, create_new_namespaces() fails before any kind the
        # model does not make could be made, or outlive the failure)
        if flags & UNMODELLED_NS and not missing:
            raise UnsupportedError(f"unshare of namespaces {flags & UNMODELLED_NS:#x} is not "
                                   f"modelled: ipcsim models user, mount and IPC namespaces")
        kernel = self.kernel
        new_mnt_ns = None
        if flags & CLONE_NEWNS:
            new_mnt_ns = mntns.copy_mnt_ns(kernel, self.mnt_ns, kernel.user_ns_of(creds), creds)
        new_ns = None
        try:
            if flags & CLONE_NEWIPC:
                if missing & CLONE_NEWIPC:
                    raise oserror(errno.EINVAL)     # copy_ipcs(): a stub
                new_ns = kernel._create_ipc_ns(self, creds)
            new_pid_ns = None
            if flags & CLONE_NEWPID:
                if missing & CLONE_NEWPID:
                    raise oserror(errno.EINVAL)     # copy_pid_ns(): a stub
                new_pid_ns = pidns.copy_pid_ns(kernel, flags, kernel.user_ns_of(creds),
                                               self.pid_ns_for_children, self.pid_ns,
                                               creds.euid)
        except BaseException:
            if new_ns is not None:
                new_ns.put()
            if new_mnt_ns is not None:
                new_mnt_ns.put()
            raise
        return new_mnt_ns, new_ns, new_pid_ns

    @syscall
    def setns(self, fd: int, nstype: int = 0) -> None:
        """setns(2) with a namespace handle: EBADF for a bad fd, EINVAL for a file that is no
        namespace or an nstype other than 0 or the namespace's kind. Joining a mount
        namespace needs CAP_SYS_ADMIN in its owner and CAP_SYS_CHROOT and CAP_SYS_ADMIN in
        the caller's own user namespace (EPERM); the caller then walks paths through it.
        Joining an IPC
        namespace needs CAP_SYS_ADMIN both in the user namespace that owns it and in the
        caller's own (EPERM), and drops the SEM_UNDO list (even when joining the namespace
        it is already in). Joining a user namespace needs CAP_SYS_ADMIN in it (EPERM), is
        EINVAL for the caller's own, and gives every capability there. Joining a PID
        namespace needs CAP_SYS_ADMIN in its owner and in the caller's own user namespace
        (EPERM), and a namespace that is the caller's own or below it (EINVAL); only the
        caller's next children go there (:func:`pidns.pidns_install`)."""
        file = self._file(fd)
        nstype = int_arg(nstype, "nstype")
        if isinstance(file, userns.UserNsFile):
            self._setns_user(file.ns, nstype)
            return
        if isinstance(file, files.OtherNsFile):
            # The only namespace of that kind, which the caller is already in.
            if nstype and nstype != file.nstype:
                raise oserror(errno.EINVAL)
            if file.nstype == CLONE_NEWUSER:
                raise oserror(errno.EINVAL)
            if not self.creds.capable(CAP_SYS_ADMIN):
                raise oserror(errno.EPERM)
            return
        if not isinstance(file, files.NsFile):
            raise oserror(errno.EINVAL)
        ns = file.ns
        if nstype and nstype != ns.nstype:
            raise oserror(errno.EINVAL)
        if isinstance(ns, mntns.MntNamespace):
            self._setns_mnt(ns)
            return
        if isinstance(ns, pidns.PidNamespace):
            pidns.pidns_install(self, ns)
            return
        creds = self.creds
        if not (creds.ns_capable(ns.user_ns, CAP_SYS_ADMIN)
                and creds.capable_in_own(CAP_SYS_ADMIN)):
            raise oserror(errno.EPERM)
        sem.exit_sem(self)
        old, self.ipc_ns = self.ipc_ns, ns.get()
        old.put()

    def _setns_mnt(self, ns: MntNamespace) -> None:
        """mntns_install()."""
        creds = self.creds
        if not (creds.ns_capable(ns.user_ns, CAP_SYS_ADMIN)
                and creds.capable_in_own(CAP_SYS_CHROOT)
                and creds.capable_in_own(CAP_SYS_ADMIN)):
            raise oserror(errno.EPERM)
        old, self.mnt_ns = self.mnt_ns, ns.get()
        old.put()

    def _setns_user(self, ns: userns.UserNamespace, nstype: int) -> None:
        """userns_install()."""
        if nstype and nstype != CLONE_NEWUSER:
            raise oserror(errno.EINVAL)
        old = self.kernel.user_ns_of(self.creds)
        if ns is old:
            raise oserror(errno.EINVAL)     # no capabilities gained by re-entering
        if not self.creds.ns_capable(ns, CAP_SYS_ADMIN):
            raise oserror(errno.EPERM)
        new = self.creds.copy()
        new.enter_user_ns(ns.get())
        self._commit_creds(new)
        old.put()

    # --- files ------------------------------------------------------------------------
    def _file(self, fd: object) -> files.OpenFile:
        fd = int_arg(fd, "fd")
        fds = self.fds
        if 0 <= fd < len(fds):
            file = fds[fd]
            if file is not None:
                return file
        raise oserror(errno.EBADF)

    def _install(self, file: files.OpenFile) -> int:
        try:
            fd = self._unused_fd()
        except OSError:
            file.refs -= 1
            if file.refs == 0:
                file.release()
            raise
        return self._install_at(fd, file)

    def _unused_fd(self) -> int:
        """get_unused_fd_flags(): the lowest free descriptor number (EMFILE if none)."""
        fds = self.fds
        if None in fds:                 # (a C-speed search, as Linux's bitmap is)
            return fds.index(None)
        if len(fds) >= files.NR_OPEN_DEFAULT:
            raise oserror(errno.EMFILE)
        return len(fds)

    def _install_at(self, fd: int, file: files.OpenFile) -> int:
        fds = self.fds
        if fd == len(fds):
            fds.append(file)
        else:
            fds[fd] = file
        return fd

    def _close(self, fd: int) -> None:
        file = self._file(fd)
        self.fds[fd] = None
        while self.fds and self.fds[-1] is None:
            self.fds.pop()
        self._fput(file)

    def _fput(self, file: files.OpenFile) -> None:
        """filp_close(): the file's flush at every close, its release at the last."""
        file.flush(self)
        file.refs -= 1
        if file.refs == 0:
            file.release()

    def _may_ptrace_read(self, target: "Process") -> bool:
        """ptrace_may_access(PTRACE_MODE_READ_FSCREDS), as /proc/PID/ns checks it."""
        if target is self:
            return True
        c, t = self.creds, target.creds
        same = (c.fsuid == t.euid == t.suid == t.uid) and (c.fsgid == t.egid == t.sgid == t.gid)
        if not same and not c.capable_over(t, CAP_SYS_PTRACE):
            return False
        # a zombie has no mm, so no dumpable flag to check; else CAP_SYS_PTRACE over the
        # mm's user namespace (not the credentials')
        if target.alive and not target.dumpable:
            mm_ns = target.mm_user_ns
            if not (c.capable(CAP_SYS_PTRACE) if mm_ns is None
                    else c.ns_capable(mm_ns, CAP_SYS_PTRACE)):
                return False
        # cap_ptrace_access_check(): in the same user namespace with every capability the
        # target may have, or CAP_SYS_PTRACE over the target's
        kernel = self.kernel
        if kernel.user_ns_of(c) is kernel.user_ns_of(t) \
                and not t.cap_permitted & ~c.cap_effective:
            return True
        return c.capable_over(t, CAP_SYS_PTRACE)

    def _open(self, path: str | bytes, flags: int, mode: int = 0o666) -> files.OpenFile:
        return vfs.do_open(self, path, int_arg(flags, "flags"), mode)

    @syscall
    def open(self, path: str, flags: int = O_RDONLY, mode: int = 0o666) -> int:
        """open(2): /proc/PID/ns/ipc (a namespace handle that keeps the namespace alive),
        /proc/sys/..., /proc/sysvipc/..., files and directories of the root file system and
        of mounts. O_CREAT makes a missing file (mode bits less the umask), with write and
        search permission on its directory (EACCES); an existing file is opened with its own
        permission checks (O_EXCL: EEXIST)."""
        return self._install(self._open(path, flags, int_arg(mode, "mode")))

    @syscall
    def close(self, fd: int) -> None:
        """close(2): the last descriptor of a namespace handle releases the namespace."""
        self._close(fd)

    @syscall
    def ioctl(self, fd: int, request: int) -> int:
        """ioctl(2) on a namespace descriptor: NS_GET_USERNS and NS_GET_PARENT return a new
        descriptor, NS_GET_NSTYPE the CLONE_NEW* kind, NS_GET_OWNER_UID the uid (see
        :func:`userns.ns_ioctl`); for a PID namespace NS_GET_PARENT gives the parent when
        it is the caller's own PID namespace or below it (EPERM otherwise, and for the
        initial one). ENOTTY for other files."""
        return userns.ns_ioctl(self, self._file(fd), int_arg(request, "request"))

    @syscall
    def dup(self, fd: int) -> int:
        """dup(2): a new descriptor for the same open file."""
        file = self._file(fd)
        file.refs += 1
        return self._install(file)

    @syscall
    def read(self, fd: int, size: int = 65536) -> bytes:
        """read(2): EBADF on a descriptor not open for reading."""
        file = self._file(fd)
        size = int_arg(size, "size")
        if size < 0:
            raise oserror(errno.EINVAL)
        if not file.readable:
            raise oserror(errno.EBADF)
        return file.read(self, size)

    @syscall
    def write(self, fd: int, data: bytes) -> int:
        """write(2): returns the bytes consumed, as Linux counts them."""
        file = self._file(fd)
        data = as_bytes(data)
        if not file.writable:
            raise oserror(errno.EBADF)
        return file.write(self, data)

    @syscall
    def lseek(self, fd: int, offset: int, whence: int = 0) -> int:
        file = self._file(fd)
        return file.lseek(int_arg(offset, "offset"), int_arg(whence, "whence"))

    @syscall
    def read_file(self, path: str) -> str:
        """open, read to the end, close: the text of a file as ``cat`` shows it."""
        file = self._open(path, O_RDONLY)
        try:
            chunks = []
            while True:
                chunk = file.read(self, 131072)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks).decode()
        finally:
            self._fput(file)

    @syscall
    def write_file(self, path: str, text: str | bytes) -> int:
        """open for writing, write once, close (as ``echo VALUE > PATH`` does, without
        adding a newline); returns the bytes the write consumed."""
        data = as_bytes(text, "text")
        file = self._open(path, O_WRONLY)
        try:
            return file.write(self, data)
        finally:
            self._fput(file)

    @syscall
    def listdir(self, path: str) -> list[str]:
        """The names in a directory, in the order readdir gives them; it needs read
        permission on the directory (EACCES), as opening it does."""
        nd = vfs.lookup(self, path, directory=True)
        nd.node.may_open(self, O_RDONLY)
        return nd.node.readdir(self)

    @syscall
    def readlink(self, path: str) -> str:
        """readlink(2): ``/proc/PID/ns/ipc`` gives ``ipc:[INODE]``; ``/proc/self`` the pid;
        anything else (or a link a trailing slash follows) EINVAL."""
        nd = vfs.lookup(self, path, follow=False)
        return nd.node.readlink(self)

    @syscall
    def unlink(self, path: str) -> None:
        """unlink(2): removes a file (a queue through an mqueue mount) with write and
        search permission on its directory (EACCES), the sticky bit respected (EPERM);
        EISDIR for a directory, EBUSY for a mountpoint, EPERM where the file system (most
        of /proc) removes nothing; /proc/sys answers EACCES."""
        vfs.do_unlink(self, path)

    @syscall
    def mkdir(self, path: str, mode: int = 0o777) -> None:
        """mkdir(2): a directory with ``mode`` less the umask (and no set-id bits but
        S_ISVTX), owned by the caller's fsuid and fsgid (the directory's group under a
        set-group-ID one). EEXIST if the name exists, EACCES without write and search
        permission on the parent, ENOENT in /proc, EPERM in an mqueue mount."""
        vfs.do_mkdir(self, path, int_arg(mode, "mode"))

    @syscall
    def rmdir(self, path: str) -> None:
        """rmdir(2): removes an empty directory: ENOTEMPTY if it has entries, EBUSY for a
        mountpoint (or "/"), EINVAL for a last "." and ENOTEMPTY for "..", ENOTDIR for a
        file, with unlink(2)'s permission rules."""
        vfs.do_rmdir(self, path)

    @syscall
    def mount(self, source: str, target: str, fstype: str | None = None, flags: int = 0,
              data: str | None = None) -> None:
        """mount(2) in the caller's mount namespace, seen by every process in it. The target
        must exist (ENOENT, looked up before the permission check); mounting needs
        CAP_SYS_ADMIN in the user namespace that owns the caller's mount namespace (EPERM).
        ``MS_BIND`` of a namespace file (``/proc/PID/ns/ipc`` or ``mnt``) keeps that
        namespace alive until unmounted (a mount namespace not newer than the caller's is
        EINVAL: it could hold itself). An ``mqueue`` filesystem shows the mounter's IPC
        namespace and needs CAP_SYS_ADMIN in the user namespace that owns it too (EPERM);
        mounting it again where it is mounted is EBUSY. A file is mounted on a file, a
        directory on a directory (ENOTDIR). What is mounted hides what the target held
        until it is unmounted. ``MS_PRIVATE`` (with or without ``MS_REC``) on the root of
        a mount is accepted and changes nothing: every mount of the model is private."""
        flags = int_arg(flags, "flags")
        nd = vfs.lookup(self, target)
        if not self.creds.ns_capable(self.mnt_ns.user_ns, CAP_SYS_ADMIN):
            raise oserror(errno.EPERM)      # may_mount()
        if flags & MS_BIND:
            self._bind_mount(source, nd)
        elif flags & MS_PROPAGATION:
            _change_type(nd, flags)
        else:
            self._new_mount(source, nd, fstype, data)

    def _bind_mount(self, source: str, nd: vfs.Nameidata) -> None:
        """do_loopback() of a namespace file."""
        src = vfs.lookup(self, source).node
        if not isinstance(src, procfs.NsfsNode):
            raise UnsupportedError("only namespace files (/proc/PID/ns/ipc, /proc/PID/ns/mnt) "
                                   "can be bind-mounted in ipcsim")
        ns = src.ns
        if isinstance(ns, mntns.MntNamespace) and self.mnt_ns.seq >= ns.seq:
            raise oserror(errno.EINVAL)     # mnt_ns_loop()
        bind = procfs.NsBindMount(ns)
        try:
            self.mnt_ns.mounts.attach(nd.mnt, nd.node, bind.root_node(), bind)
        except BaseException:
            bind.release()
            raise

    def _new_mount(self, source: str, nd: vfs.Nameidata, fstype: str | None,
                   data: str | None) -> None:
        """do_new_mount(): the file system type (the factory checks its permission), then
        the mount (EBUSY where the same superblock is the top mount already)."""
        if fstype is None:
            raise oserror(errno.EINVAL)
        if not isinstance(fstype, str):
            raise TypeError("fstype must be a str")
        factory = self.kernel.filesystems.get(fstype)
        if factory is None:
            raise UnsupportedError(f"filesystem type {fstype!r} is not modelled")
        new = factory(self, source, data)
        try:
            root = new.root_node()
            if nd.node is nd.mnt.root and nd.node is root:
                raise oserror(errno.EBUSY)    # do_add_mount(): that superblock is there already
            self.mnt_ns.mounts.attach(nd.mnt, nd.node, root, new)
        except BaseException:
            new.release()
            raise

    @syscall
    def umount(self, target: str, flags: int = 0) -> None:
        """umount2(2) in the caller's mount namespace: the lookup's errnos (ENOENT...), then
        EPERM without CAP_SYS_ADMIN in the namespace's owner, EINVAL unless the path is the
        root of a mount, or for a mount locked by the copy into a less privileged namespace,
        EBUSY while a file is open through the mount or something is mounted inside it
        (unless MNT_DETACH, which takes the mounts inside too; a namespace file open
        through it keeps its namespace)."""
        flags = int_arg(flags, "flags")
        nd = vfs.lookup(self, target)
        mounts = self.mnt_ns.mounts
        if not self.creds.ns_capable(self.mnt_ns.user_ns, CAP_SYS_ADMIN):
            raise oserror(errno.EPERM)
        mnt = nd.mnt
        if nd.node is not mnt.root or mnt.parent is None or mnt.locked:
            raise oserror(errno.EINVAL)
        if mnt.source is None:
            raise UnsupportedError("unmounting /proc is not modelled")
        if not flags & MNT_DETACH and (mnt.source.users or mounts.has_children(mnt)):
            raise oserror(errno.EBUSY)
        mounts.detach(mnt)

    @syscall
    def chmod(self, path: str, mode: int) -> None:
        """chmod(2): the owner or CAP_FOWNER (EPERM); S_ISGID is dropped for a group the
        caller is not in, without CAP_FSETID. /proc/sys files and namespace files refuse
        (EPERM)."""
        mode = int_arg(mode, "mode")
        vfs.lookup(self, path).node.chmod(self, mode)

    @syscall
    def chown(self, path: str, uid: int, gid: int) -> None:
        """chown(2) (the link followed); -1 keeps an id. A new owner needs CAP_CHOWN (the
        owner may "change" it to itself); a new group needs the owner in that group, or
        CAP_CHOWN (EPERM). It clears S_ISUID (and S_ISGID where group execute is set) on
        anything but a directory."""
        ids = []
        for value, what in ((uid, "uid"), (gid, "gid")):
            value = int_arg(value, what)
            if not -1 <= value <= 0xFFFFFFFF:
                raise OverflowError(f"{what} must fit in a uid_t or be -1")
            ids.append(-1 if value == 0xFFFFFFFF else value)
        vfs.lookup(self, path).node.chown(self, ids[0], ids[1])

    @syscall
    def stat(self, path: str) -> Stat:
        """stat(2) (the link followed): a Stat(st_mode, st_nlink, st_uid, st_gid, st_size)
        of a file or directory of the root file system, an mqueue file or mount, a /proc
        directory, a /proc/sys file (its table's mode, as proc_sys_getattr shows it), a
        /proc/sysvipc file or a namespace file. The owner and group are shown as the
        caller's user namespace maps them (65534 when it does not)."""
        st = vfs.lookup(self, path).node.getattr(self)
        ns = self.creds.user_ns
        if ns is None:
            return st
        return vfs.Stat(st.st_mode, st.st_nlink, userns.from_kuid_munged(ns, st.st_uid),
                        userns.from_kgid_munged(ns, st.st_gid), st.st_size)

    # --- resource limits --------------------------------------------------------------
    @staticmethod
    def _resource(resource: object) -> int:
        resource = int_arg(resource, "resource")
        if not 0 <= resource < RLIM_NLIMITS:
            raise oserror(errno.EINVAL)
        if resource != RLIMIT_MSGQUEUE:
            raise UnsupportedError("only RLIMIT_MSGQUEUE is modelled")
        return resource

    @syscall
    def getrlimit(self, resource: int) -> tuple[int, int]:
        """getrlimit(2): (soft, hard); RLIM_INFINITY is 2**64 - 1."""
        return self.rlimits[self._resource(resource)]

    @syscall
    def setrlimit(self, resource: int, soft: int, hard: int) -> None:
        """setrlimit(2): EINVAL if soft > hard; raising the hard limit needs
        CAP_SYS_RESOURCE (EPERM). -1 means RLIM_INFINITY."""
        values = []
        for value, what in ((soft, "soft"), (hard, "hard")):
            value = int_arg(value, what)
            if not -1 <= value <= RLIM_INFINITY:
                raise OverflowError(f"the {what} limit must be -1 or fit in 64 bits")
            values.append(value & RLIM_INFINITY)
        soft, hard = values
        resource = self._resource(resource)
        if soft > hard:
            raise oserror(errno.EINVAL)
        if hard > self.rlimits[resource][1] and not self.creds.capable(CAP_SYS_RESOURCE):
            raise oserror(errno.EPERM)
        self.rlimits[resource] = (soft, hard)

    # --- credentials ------------------------------------------------------------------
    def _commit_creds(self, new: Creds) -> None:
        """commit_creds(): a change of effective ids or lost capabilities makes the process
        non-dumpable (so other users can no longer open its /proc/PID/ns files)."""
        old = self.creds
        if (old.euid != new.euid or old.egid != new.egid or old.fsuid != new.fsuid
                or old.fsgid != new.fsgid or not _creds.cred_cap_issubset(old, new)):
            self.dumpable = False
        self.creds = new

    @syscall
    def setuid(self, uid: int) -> None:
        """setuid(2): root dropping to a non-zero uid loses its capabilities."""
        self._commit_creds(_creds.setuid(self.creds, uid))

    @syscall
    def setgid(self, gid: int) -> None:
        """setgid(2)."""
        self._commit_creds(_creds.setgid(self.creds, gid))

    @syscall
    def seteuid(self, euid: int) -> None:
        self._commit_creds(_creds.setresuid(self.creds, -1, euid, -1))

    @syscall
    def setegid(self, egid: int) -> None:
        self._commit_creds(_creds.setresgid(self.creds, -1, egid, -1))

    @syscall
    def setreuid(self, ruid: int, euid: int) -> None:
        self._commit_creds(_creds.setreuid(self.creds, ruid, euid))

    @syscall
    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        self._commit_creds(_creds.setresuid(self.creds, ruid, euid, suid))

    @syscall
    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        self._commit_creds(_creds.setresgid(self.creds, rgid, egid, sgid))

    @syscall
    def setgroups(self, groups: Iterable[int]) -> None:
        self._commit_creds(_creds.setgroups(self.creds, groups))

    @syscall
    def getresuid(self) -> tuple[int, int, int]:
        """getresuid(2): the ids as the caller's user namespace maps them (65534 for one
        it does not map)."""
        c = self.creds
        ns = c.user_ns
        if ns is None:
            return c.uid, c.euid, c.suid
        return (userns.from_kuid_munged(ns, c.uid), userns.from_kuid_munged(ns, c.euid),
                userns.from_kuid_munged(ns, c.suid))

    @syscall
    def getresgid(self) -> tuple[int, int, int]:
        """getresgid(2), mapped as getresuid."""
        c = self.creds
        ns = c.user_ns
        if ns is None:
            return c.gid, c.egid, c.sgid
        return (userns.from_kgid_munged(ns, c.gid), userns.from_kgid_munged(ns, c.egid),
                userns.from_kgid_munged(ns, c.sgid))

    @syscall
    def capget(self) -> tuple[int, int, int]:
        """(effective, permitted, inheritable) capability masks."""
        c = self.creds
        return c.cap_effective, c.cap_permitted, c.cap_inheritable

    @syscall
    def capset(self, effective: int, permitted: int, inheritable: int = 0) -> None:
        """capset(2): permitted may only shrink; effective must stay within permitted."""
        self._commit_creds(_creds.capset(self.creds, effective, permitted, inheritable))

    @syscall
    def drop_capability(self, cap: int) -> None:
        """Remove ``cap`` from the effective and permitted sets (as capset would)."""
        cap = _creds.check_cap(cap)
        c = self.creds
        bit = 1 << cap
        self._commit_creds(_creds.capset(c, c.cap_effective & ~bit, c.cap_permitted & ~bit,
                                         c.cap_inheritable & ~bit))

    def exec_mm(self) -> None:
        """What execve(2) does to the process's memory, as far as the model keeps it (a
        program's own execve, for the shell and its wrappers): its shared memory
        attachments go with the old mm; the new mm belongs to the caller's user namespace
        (``mm_user_ns``: CAP_SYS_PTRACE there reaches the process when it is not
        dumpable), and the process is dumpable unless its real and effective ids differ
        (begin_new_exec())."""
        shm.exit_mm(self)
        new = self.creds.user_ns
        if new is not None:
            new.get()
        old, self.mm_user_ns = self.mm_user_ns, new
        if old is not None:
            old.put()
        c = self.creds
        self.dumpable = c.uid == c.euid and c.gid == c.egid

    @syscall
    def set_dumpable(self, dumpable: bool) -> None:
        """prctl(PR_SET_DUMPABLE)."""
        if not isinstance(dumpable, bool) and dumpable not in (0, 1):
            raise oserror(errno.EINVAL)
        self.dumpable = bool(dumpable)

    @syscall
    def umask(self, mask: int) -> int:
        """umask(2): set the file creation mask, return the old one."""
        old, self.umask_ = self.umask_, int_arg(mask, "mask") & 0o777
        return old
