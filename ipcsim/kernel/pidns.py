"""PID namespaces: the numbers a process has, and who sees which.

A PID namespace (kernel/pid_namespace.c) has a parent (the initial one has none), a level
(0 for the initial one, at most 32 below it), an owner (the user namespace of its creator)
and its own numbers: a process made in a namespace gets a number there and one in every
ancestor (``struct pid``'s ``numbers[]``, :class:`Pid`). The first process made in a new
namespace is number 1 there, its init (``child_reaper``): orphans of the namespace go to it,
it gets from inside only the signals it has handlers for, and when it dies every other
process of the namespace is killed (:func:`zap_pid_ns_processes`) and no process can be
made there any more (ENOMEM).

What a process sees of a pid is its number in its own namespace (``pid_vnr()``), 0 when
the pid has none there (:func:`pid_nr_ns`): getpid(), getppid(), wait(), kill(), /proc, and
the pids that IPC shows (``msg_lspid``, ``shm_cpid``, GETPID, ``/proc/sysvipc``, an mq
notification's ``si_pid`` and a queue's ``NOTIFY_PID``). IPC keeps the :class:`Pid` itself,
as Linux keeps ``struct pid``, so a number stays translatable after its process is gone.

A :class:`Pid` is counted as Linux counts ``struct pid``: its process holds it until it is
reaped, each process using it as its process group holds it (``pgrp_users``: a reaped
leader's numbers stay taken, given to no new process, while its group lives on, as the idr
keeps a pid while any task is attached to it), and so does each IPC field that names it (a
queue's last sender and receiver, a segment's creator and last attacher, each semaphore's
last changer, a queue's registered notification). The pid holds its namespace (and so every
ancestor) until the last of those holds goes (:func:`put_pid`): a namespace every process of
which has been reaped lives on, its inode number and its max_pid_namespaces charge kept,
while an IPC object still names one of its pids. A pending signal's siginfo holds no pid
(``si_pid`` is a number, made when the signal is sent), as on Linux. Only pids made below
the initial namespace are counted (``level`` > 0): the initial namespace never dies, and
Python frees a pid nobody names, so holds on its pids would change nothing.

``Process.pid`` stays what it always was, the number in the initial namespace (an int),
which every table of the kernel keys on; ``Process.thread_pid`` is its :class:`Pid`.
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..constants import CAP_SYS_ADMIN, CLONE_NEWPID, PID_MAX_LIMIT, RESERVED_PIDS
from ..errors import oserror
from .nstree import Nested
from .userns import UCOUNT_PID, dec_ucount, inc_ucount

if TYPE_CHECKING:
    from .kernel import Kernel
    from .process import Process
    from .userns import UserNamespace

INIT_PID_NS_INUM = 4026531836     # PROC_PID_INIT_INO: pid:[4026531836]
MAX_PID_NS_LEVEL = 32             # create_pid_namespace(): a level deeper than this is ENOSPC


class Pid:
    """``struct pid``: ``nrs[i]`` is the number in ``nss[i]``, for each level ``i`` from 0
    (the initial namespace: ``nr``, what ``Process.pid`` is) to the namespace the process
    was made in (``level``: its index). Its numbers never change; IPC objects keep it, so
    it outlives its process. ``pgrp_users`` counts the processes, not yet reaped, whose
    process group it is (``tasks[PIDTYPE_PGID]``): its numbers are taken until its process
    is reaped and that count is 0. ``count`` is what holds a pid of a namespace below the
    initial one (``level`` > 0): its numbers while taken, and each IPC field naming it
    (:func:`get_pid`, :func:`put_pid`, :func:`update_pid`)."""

    __slots__ = ("nss", "nrs", "nr", "level", "count", "pgrp_users")

    def __init__(self, nss: tuple[PidNamespace, ...], nrs: tuple[int, ...]):
        self.nss = nss
        self.nrs = nrs
        self.nr = nrs[0]
        self.level = len(nrs) - 1
        self.count = 1                # its numbers' (alloc_pid; put when they are freed)
        self.pgrp_users = 0

    @property
    def ns(self) -> PidNamespace:
        """ns_of_pid(): the namespace it was made in."""
        return self.nss[-1]

    def __repr__(self) -> str:
        return f"<Pid {'/'.join(map(str, self.nrs))}>"


def get_pid(pid: Pid) -> Pid:
    """get_pid(): one more hold on ``pid``."""
    if pid.level:
        pid.count += 1
    return pid


def put_pid(pid: Pid | None) -> None:
    """put_pid(): drop a hold on ``pid`` (nothing for None); the last one drops the pid's
    hold on the namespace it was made in, which may free it (:meth:`PidNamespace.put`)."""
    if pid is not None and pid.level:
        pid.count -= 1
        if not pid.count:
            pid.nss[-1].put()


def update_pid(old: Pid | None, new: Pid | None) -> Pid | None:
    """ipc_update_pid() past its test: an IPC field that named ``old`` names ``new`` (None:
    nothing) now, and holds it; returns ``new``. Callers test ``field is not new`` first,
    inline, so that the common case (the same process again) costs one identity test; the
    hottest (msgsnd, msgrcv, semop) store the field themselves and call this only when a
    pid below the initial namespace is involved (``new.level or old is not None and
    old.level``)."""
    if new is not None and new.level:
        new.count += 1
    if old is not None and old.level:
        old.count -= 1
        if not old.count:
            old.nss[-1].put()
    return new


def pid_nr_ns(pid: Pid | int | None, ns: PidNamespace) -> int:
    """pid_nr_ns(): the number of ``pid`` in ``ns``, 0 when it has none there (a process of
    an ancestor or unrelated namespace) or for no pid (None). An int is taken as a number
    in the initial namespace (``Process.pid``): that of a process not yet reaped."""
    if pid is None:
        return 0
    if isinstance(pid, int):
        proc = ns.kernel._procs.get(pid)
        if proc is None:
            return 0 if ns.level else pid
        pid = proc.thread_pid
    level = ns.level
    nss = pid.nss
    if level < len(nss) and nss[level] is ns:
        return pid.nrs[level]
    return 0


class PidNamespace(Nested):
    """One PID namespace. ``tasks`` maps each number in use here to its process, live or
    zombie (the namespace's idr; for the initial namespace it is the kernel's process
    table); ``last_pid`` is where the next search starts (the idr's cursor) and ``pid_max``
    the end of the numbers (the Kernel's ``pid_max`` for the initial namespace, 4194304 in
    a new one, as Linux 6.14 on gives each namespace its own). ``pgrp_held`` maps the
    numbers still taken by a process group whose leader has been reaped to their
    :class:`Pid` (no process has them; no new process gets them). ``adding`` is false once the
    namespace's init has begun to exit (PIDNS_ADDING cleared). ``refs`` counts what holds
    the namespace: each :class:`Pid` made in it (until its last hold goes: its process's
    when reaped, or an IPC object's), each ``pid_ns_for_children`` naming it, each open
    namespace file and bind mount, each child namespace."""

    kind = "pid"
    nstype = CLONE_NEWPID

    __slots__ = ("kernel", "inum", "level", "parent", "user_ns", "ucount_uid", "child_reaper",
                 "tasks", "pgrp_held", "last_pid", "pid_max", "adding", "zapping", "refs",
                 "alive", "own",
                 "__weakref__")
    parent: PidNamespace | None

    def __init__(self, kernel: Kernel, inum: int, parent: PidNamespace | None,
                 user_ns: UserNamespace, tasks: dict[int, Process] | None = None):
        self.kernel = kernel
        self.inum = inum
        self.parent = parent
        self.level: int = 0 if parent is None else parent.level + 1
        self.user_ns = user_ns
        self.ucount_uid = 0
        self.child_reaper: Process | None = None
        self.tasks: dict[int, Process] = {} if tasks is None else tasks
        self.pgrp_held: dict[int, Pid] = {}
        self.last_pid = 0
        self.pid_max = PID_MAX_LIMIT
        self.adding = True
        # the init, exited, waiting for the namespace's other pids to be freed (its parent
        # cannot reap it until then: zap_pid_ns_processes)
        self.zapping: Process | None = None
        self.refs = 0
        self.alive = True
        self.own = (self,)          # the namespaces of a pid made in the initial namespace

    @property
    def is_initial(self) -> bool:
        return self.parent is None

    @property
    def pid_allocated(self) -> int:
        """The numbers taken here: by processes (live or zombie), and by process groups
        whose leaders have been reaped."""
        return len(self.tasks) + len(self.pgrp_held)

    def get(self) -> PidNamespace:
        self.refs += 1
        return self

    def put(self) -> None:
        """Drop a reference; the last one frees the namespace (put_pid_ns): its inode
        number, its charge against max_pid_namespaces, its owner and its parent."""
        self.refs -= 1
        if self.refs == 0 and self.parent is not None and self.alive:
            self.alive = False
            self.kernel._pid_ns_freed(self)
            dec_ucount(self.user_ns, self.ucount_uid, UCOUNT_PID)
            self.user_ns.put()
            self.parent.put()

    def find(self, nr: int) -> Process | None:
        """find_task_by_pid_ns(): the process (or zombie) numbered ``nr`` here."""
        return self.tasks.get(nr)

    def processes(self, include_zombies: bool = False) -> list[Process]:
        """Every process with a number here (those of namespaces below too), in the order
        of those numbers, as /proc of this namespace lists them."""
        tasks = self.tasks
        return [tasks[nr] for nr in sorted(tasks) if include_zombies or tasks[nr].alive]

    def members(self) -> list[Process]:
        """The live processes made in this namespace itself, in pid order (lsns's)."""
        return [p for p in self.processes() if p.pid_ns is self]

    def alloc_nr(self) -> int:
        """idr_alloc_cyclic() as alloc_pid() calls it: the first free number after the last
        one given (a process's, or a process group's: ``pgrp_held``), from 1 in a new
        namespace, wrapping to 300 at pid_max (once past 300); EAGAIN when every number is
        taken."""
        tasks, held = self.tasks, self.pgrp_held
        pid_max = self.kernel.pid_max if self.parent is None else self.pid_max
        nr = self.last_pid
        for _ in range(pid_max):
            nr += 1
            if nr >= pid_max:
                nr = RESERVED_PIDS
            if nr not in tasks and nr not in held:
                self.last_pid = nr
                return nr
        raise oserror(errno.EAGAIN)

    def __repr__(self) -> str:
        state = "" if self.alive else " dead"
        return f"<PidNamespace pid:[{self.inum}] level={self.level}{state}>"


# --- creation -------------------------------------------------------------------------------
def create_pid_ns(kernel: Kernel, user_ns: UserNamespace, parent: PidNamespace,
                  euid: int) -> PidNamespace:
    """create_pid_namespace(): a namespace below ``parent`` owned by ``user_ns``, returned
    with one reference. EINVAL when ``user_ns`` is not ``parent``'s owner or below it;
    ENOSPC below level 32, or past max_pid_namespaces for ``euid`` in ``user_ns`` or any
    ancestor. Nothing is changed on failure."""
    if not parent.user_ns.is_ancestor_of(user_ns):
        raise oserror(errno.EINVAL)
    if parent.level + 1 > MAX_PID_NS_LEVEL:
        raise oserror(errno.ENOSPC)
    inc_ucount(user_ns, euid, UCOUNT_PID)
    ns = PidNamespace(kernel, kernel._alloc_inum(), parent.get(), user_ns.get())
    ns.ucount_uid = euid
    kernel._pid_namespaces[ns.inum] = ns
    return ns.get()


def copy_pid_ns(kernel: Kernel, flags: int, user_ns: UserNamespace, old: PidNamespace,
                active: PidNamespace, euid: int) -> PidNamespace:
    """copy_pid_ns(): ``old`` (a new reference) without CLONE_NEWPID; with it a new
    namespace below ``old``, EINVAL unless ``old`` is the caller's ``active`` namespace (a
    caller that unshared or joined a namespace its next child has not been made in yet)."""
    if not flags & CLONE_NEWPID:
        return old.get()
    if active is not old:
        raise oserror(errno.EINVAL)
    return create_pid_ns(kernel, user_ns, old, euid)


def alloc_pid(ns: PidNamespace) -> Pid:
    """alloc_pid(): a number in ``ns`` and in each ancestor, the deepest first (EAGAIN when
    a namespace has none free); ENOMEM once ``ns``'s init has begun to exit. Either way the
    searches that succeeded have moved on, as the idr cursors do, but for ``ns``'s own while
    it has no pid at all: its next process is still its init, number 1. The numbers are
    taken when the process is attached (:func:`attach_pid`)."""
    if ns.parent is None:                 # (the common case: one number, and it always adds)
        return Pid(ns.own, (ns.alloc_nr(),))
    chain = ns.ancestors()
    try:
        nrs = [ns_.alloc_nr() for ns_ in chain]
    except OSError:
        if ns.adding and not ns.pid_allocated:
            ns.last_pid = 0               # (pid_allocated == PIDNS_ADDING: idr_set_cursor)
        raise
    if not ns.adding:
        raise oserror(errno.ENOMEM)
    chain.reverse()
    nrs.reverse()
    return Pid(tuple(chain), tuple(nrs))


def attach_pid(proc: Process) -> None:
    """The new process takes its numbers, and its pid a reference to its namespace (held
    until the pid's last hold goes: :func:`put_pid`); it joins its process group (set by its
    creator). Number 1 of a namespace is its init, unkillable from inside."""
    pid = proc.thread_pid
    proc.pgrp.pgrp_users += 1
    nss = pid.nss
    if len(nss) == 1:
        ns = nss[0]
        ns.tasks[pid.nr] = proc
    else:
        for ns, nr in zip(nss, pid.nrs):
            ns.tasks[nr] = proc
    ns.refs += 1                          # (get())
    if pid.nrs[-1] == 1:
        ns.child_reaper = proc
        proc.unkillable = True


def free_pid(proc: Process) -> None:
    """release_task(): the process leaves its process group and its numbers; a number a
    group still uses stays taken until the group's last process leaves it (reaped, or
    moved by setpgid: :func:`change_pgrp`). Freeing numbers may let an init waiting for
    the last of its namespace's other pids finish its exit, and drops the pid's hold (with
    the last hold, the pid's on its namespace: an IPC object naming the pid keeps the
    namespace)."""
    pid = proc.thread_pid
    group = proc.pgrp
    group.pgrp_users -= 1
    nss = pid.nss
    if len(nss) == 1:                     # (the initial namespace: it never goes)
        ns = nss[0]
        del ns.tasks[pid.nr]
        if pid.pgrp_users:
            ns.pgrp_held[pid.nr] = pid
        else:
            ns.refs -= 1
    else:
        for ns, nr in zip(nss, pid.nrs):
            del ns.tasks[nr]
        if pid.pgrp_users:
            for ns, nr in zip(nss, pid.nrs):
                ns.pgrp_held[nr] = pid
        else:
            _freed(pid)
    if not group.pgrp_users and group is not pid:
        _group_left(group)


def change_pgrp(proc: Process, group: Pid) -> None:
    """change_pid(PIDTYPE_PGID) for setpgid(): ``proc`` leaves its group for ``group``; the
    group it left goes if it was a reaped leader's and ``proc`` its last process."""
    old = proc.pgrp
    group.pgrp_users += 1
    proc.pgid, proc.pgrp = group.nr, group
    old.pgrp_users -= 1
    if not old.pgrp_users:
        _group_left(old)


def _group_left(group: Pid) -> None:
    """The last process left ``group``: if its leader was reaped, its numbers are free."""
    held = group.nss[0].pgrp_held
    if held.get(group.nr) is not group:
        return                            # (its process is not reaped: its numbers stay)
    for ns, nr in zip(group.nss, group.nrs):
        del ns.pgrp_held[nr]
    if group.level:
        _freed(group)
    else:
        group.nss[0].refs -= 1


def _freed(pid: Pid) -> None:
    """free_pid() of a pid below the initial namespace, its numbers gone: an init waiting
    for the last of its namespace's other pids finishes its exit; the numbers' hold on the
    pid goes."""
    done = [ns for ns in pid.nss if ns.zapping is not None and ns.pid_allocated == 1]
    for ns in reversed(done):
        waiting, ns.zapping = ns.zapping, None
        if waiting is not None:
            ns.kernel._exit_notify_parent(waiting)
    put_pid(pid)


def pidns_install(proc: Process, ns: PidNamespace) -> None:
    """pidns_install(): CAP_SYS_ADMIN in the namespace's owner and in the caller's own user
    namespace (EPERM); the namespace must be the caller's active one or below it (EINVAL).
    Only the caller's next children go there."""
    creds = proc.creds
    if not (creds.ns_capable(ns.user_ns, CAP_SYS_ADMIN) and creds.capable_in_own(CAP_SYS_ADMIN)):
        raise oserror(errno.EPERM)
    if not proc.pid_ns.is_ancestor_of(ns):
        raise oserror(errno.EINVAL)
    old, proc.pid_ns_for_children = proc.pid_ns_for_children, ns.get()
    old.put()


def get_parent(proc: Process, ns: PidNamespace) -> PidNamespace:
    """pidns_get_parent() (NS_GET_PARENT): the parent, when it is the caller's active
    namespace or below it; EPERM otherwise (and for the initial namespace)."""
    parent = ns.parent
    if parent is None or not proc.pid_ns.is_ancestor_of(parent):
        raise oserror(errno.EPERM)
    return parent



def find_pgrp(ns: PidNamespace, nr: int) -> int | None:
    """find_vpid() of a process group: the group numbered ``nr`` in ``ns`` (its number in
    the initial namespace, as ``Process.pgid`` holds it), or None when ``ns`` sees no such
    group."""
    if ns.parent is None:
        return nr
    tasks = ns.tasks
    for key in sorted(tasks):
        proc = tasks[key]
        if pid_nr_ns(proc.pgrp, ns) == nr:
            return proc.pgid
    return None


def pid_vnr(pid: Pid | None, ns: PidNamespace | None) -> int:
    """What a reader in ``ns`` sees of a pid that IPC kept (:func:`pid_nr_ns`); without a
    namespace, the number in the initial one (0 for none)."""
    if ns is None:
        return 0 if pid is None else pid.nr
    return pid_nr_ns(pid, ns)
