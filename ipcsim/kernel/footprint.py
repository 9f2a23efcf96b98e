"""What a system call reads and changes, for exploring interleavings.

Two steps of different programs *depend* on each other when swapping them could change
what either does: they touch the same object and at least one changes it. The explorer
(:mod:`ipcsim.explore`) only asks this module, so it needs to know nothing of IPC.

A footprint is a list of ``(key, mode)``, worked out from the call's arguments and from the
state the call starts in (a footprint may look at the objects the call will use: which
semaphores the sleepers of a set wait on, which segment an address lies in, whether a key
exists). What it looks at is itself part of the footprint, so that a step that changes it
depends on the call. Keys name objects with what stays the same from one run of a scenario
to the next (a namespace's inode number, an IPC id's slot, a pid, a name), never a Python
``id()``. Modes:

* ``READ``: reads the object; two reads commute;
* ``WRITE``: changes it; conflicts with any other access;
* ``MEMBER``: changes one member of a family whose whole a rarer call reads (a queue of a
  namespace, whose totals ``MSG_INFO`` reports), or changes the object in a way that
  commutes with other such changes (a time stamp set to the time of the moment, which
  every step between two timer steps sees alike): two MEMBER changes commute, a MEMBER
  change conflicts with the object's ``READ`` and ``WRITE``.

``None`` means "depends on everything" (a barrier): every call not named here, and every
case a rule below does not cover exactly, so that an unknown call can only make the search
larger, never wrong. A step that frees a PID namespace (an IPC object letting go of the last
hold on a pid of one, whose processes are all gone: IPC_RMID, a send or receive naming
another process, a blocked call going on) is made a barrier by the kernel as it happens,
since no footprint can say in advance which step will let go last. Each process's own state (its descriptors, mappings, undo list,
signals, credentials) is the key ``("proc", pid)``, which the explorer adds to every step
of the process itself and to every step that wakes it; the footprint adds it for the
process a call is made on.

The keys, by object (``ns`` is a namespace's inode number, ``idx`` an id's slot):

* System V, for each kind ``k`` of "msg", "sem", "shm": ``(k, ns, idx)`` one object;
  ``(k, ns, "key", key)`` which object a key names; ``(k, ns, "table")`` the id table
  (which slots are used, the sequence numbers, the namespace's usage counters);
  ``(k, ns, "all")`` the family as the ``*_INFO`` commands and ``/proc/sysvipc`` show it.
* A semaphore set is split further: ``("sem", ns, idx)`` is the set itself (existence,
  permissions, ctime, its undo entries) which every call on it reads and SETVAL, SETALL,
  IPC_SET and IPC_RMID change; ``("sem", ns, idx, n)`` semaphore n (its value, sempid, the
  undo adjustments for it, and its own lists of sleeping single operations);
  ``("sem", ns, idx, "queue")`` the set's lists of sleeping multi-op requests (the
  ``complex_count`` that decides where requests go); ``("sem", ns, idx, "otime")``.
* ``("shmmem", ns, idx)`` a segment's memory (``("shm", ns, idx)`` is its bookkeeping).
* POSIX queues: ``("mq", ns, name)`` a queue (messages, waiters, notification; a queue
  unlinked and made again under its name shares the key), ``("mqname", ns, name)`` the
  name, ``("mqcount", ns)`` the namespace's queue count, ``("mqbytes", uid)`` a user's
  RLIMIT_MSGQUEUE charge.
* ``("pids",)`` the process table (the next pid, which pids exist); ``("ipcns",)`` the
  allocation of namespace inode numbers.

:func:`exited` is the footprint of a process's exit (its attachments, undo adjustments,
descriptors, children and parent), for a kernel that reports an exit with its process
rather than as a barrier.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable, Iterable, Sequence

from ..constants import (CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWUSER, CLONE_SYSVSEM, GETALL,
                         GETNCNT, GETPID,
                         GETVAL, GETZCNT, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_NOWAIT,
                         IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, IPCMNI_IDX_MASK,
                         IPCMNI_SHIFT, MSG_INFO, MSG_STAT, MSG_STAT_ANY, O_CREAT, SEM_INFO,
                         SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SEMVMX, SETALL, SETVAL, SHM_DEST,
                         SHM_INFO, SHM_LOCK, SHM_REMAP, SHM_STAT, SHM_STAT_ANY, SHM_UNLOCK,
                         SIGEV_NONE)

READ, WRITE, MEMBER = 1, 2, 3

Key = tuple[Any, ...]
Access = tuple[Key, int]
Footprint = list[Access] | None


def conflict(a: int, b: int) -> bool:
    """Whether two accesses to one key do not commute."""
    return not (a == b and a != WRITE)


def _inum(proc: Any) -> int:
    return int(proc.ipc_ns.inum)


def _int(value: object) -> int | None:
    """An int argument (a pid too: Process.pid is an int subclass), else None."""
    if type(value) is int:
        return value
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _initial_pid_ns(*procs: Any) -> bool:
    """Whether the processes were made in the initial PID namespace and make their children
    there: then no exit or reaping among them kills a namespace or frees one."""
    return all(p.pid_ns.parent is None and (p.pid_ns_for_children is None
                                            or p.pid_ns_for_children.parent is None)
               for p in procs)


def _c_int(value: object) -> int | None:
    """A C int argument as the calls read it (the unsigned view wraps to negative)."""
    if type(value) is not int or not -(1 << 31) <= value < (1 << 32):
        return None
    return value - (1 << 32) if value >= 1 << 31 else value


# --- System V: the id table --------------------------------------------------------------
def _ids(kind: str, ns: Any) -> Any:
    return getattr(ns, f"{kind}_ids")


def _lookup(kind: str, ns: Any, ipc_id: int) -> Any:
    """The object with exactly this id (as obtain_check finds it), or None."""
    objs = _ids(kind, ns).objs
    obj = objs.get(ipc_id & IPCMNI_IDX_MASK) if objs else None
    if obj is None or obj.seq != ipc_id >> IPCMNI_SHIFT:
        return None
    return obj


def _slot(kind: str, ns: int, ipc_id: int) -> Key:
    return (kind, ns, ipc_id & IPCMNI_IDX_MASK)


def _changed(kind: str, ns: int, ipc_id: int) -> list[Access]:
    """One object changed (as /proc/sysvipc and the totals see it)."""
    return [(_slot(kind, ns, ipc_id), WRITE), ((kind, ns, "all"), MEMBER)]


def _removed(kind: str, ns: int, obj: Any) -> list[Access]:
    """An object removed: its slot, its key, the table and the totals."""
    out = [(_slot(kind, ns, obj.id), WRITE), ((kind, ns, "table"), WRITE),
           ((kind, ns, "all"), MEMBER)]
    if obj.key != IPC_PRIVATE:
        out.append(((kind, ns, "key", obj.key), WRITE))
    return out


def _key_arg(value: object) -> int | None:
    if type(value) is not int or not -(1 << 31) <= value < (1 << 32):
        return None
    return value - (1 << 32) if value >= 1 << 31 else value


def _get(kind: str, flags_at: int) -> Callable[[Any, Sequence[Any]], Footprint]:
    """msgget, semget, shmget: a lookup reads the key's entry and the object's permissions;
    a creation changes the key's entry, the table and the totals (the slot it takes comes
    with the result: see :func:`returned`)."""
    def footprint(proc: Any, args: Sequence[Any]) -> Footprint:
        key = _key_arg(args[0])
        flags = _int(args[flags_at])
        if key is None or flags is None:
            return None
        ns = proc.ipc_ns
        inum = int(ns.inum)
        create = [((kind, inum, "table"), WRITE), ((kind, inum, "all"), MEMBER)]
        if key == IPC_PRIVATE:
            return create
        here: list[Access] = [((kind, inum, "key", key), READ)]
        obj = _ids(kind, ns).find_key(key)
        if obj is None:
            return create + [((kind, inum, "key", key), WRITE)] if flags & IPC_CREAT else here
        if flags & IPC_CREAT and flags & IPC_EXCL:
            return here
        return here + [(_slot(kind, inum, obj.id), READ)]
    return footprint


def _common(cmd: int, whole: int, stat_by_index: tuple[int, ...]) -> bool:
    return cmd in (IPC_INFO, whole, IPC_STAT, IPC_SET, IPC_RMID) or cmd in stat_by_index


def _ctl_common(kind: str, proc: Any, ipc_id: int, cmd: int, whole: int,
                stat_by_index: tuple[int, ...]) -> list[Access]:
    """The commands every kind has (see :func:`_common`): the table's and the family's
    readers, the stat of one object, IPC_SET and IPC_RMID."""
    ns = proc.ipc_ns
    inum = int(ns.inum)
    if cmd == IPC_INFO:
        return [((kind, inum, "table"), READ)]
    if cmd == whole:
        return [((kind, inum, "table"), READ), ((kind, inum, "all"), READ)]
    if cmd == IPC_STAT or cmd in stat_by_index:
        return [(_slot(kind, inum, ipc_id), READ)]
    if cmd == IPC_SET:
        return _changed(kind, inum, ipc_id)
    obj = _lookup(kind, ns, ipc_id)               # IPC_RMID
    if obj is None:
        return [(_slot(kind, inum, ipc_id), READ)]
    return _removed(kind, inum, obj)


# --- message queues ------------------------------------------------------------------------
def _msg_op(proc: Any, args: Sequence[Any]) -> Footprint:
    """msgsnd, msgrcv: the queue (its messages, waiters, stats) and the namespace's totals."""
    msqid = _int(args[0])
    if msqid is None:
        return None
    if msqid < 0:
        return []
    return _changed("msg", _inum(proc), msqid)


def _msgctl(proc: Any, args: Sequence[Any]) -> Footprint:
    msqid, cmd = _int(args[0]), _int(args[1])
    if msqid is None or cmd is None:
        return None
    if msqid < 0 or cmd < 0:
        return []
    if _common(cmd, MSG_INFO, (MSG_STAT, MSG_STAT_ANY)):
        return _ctl_common("msg", proc, msqid, cmd, MSG_INFO, (MSG_STAT, MSG_STAT_ANY))
    return []                                           # any other command: EINVAL


# --- semaphores ----------------------------------------------------------------------------
def _sops(value: object) -> list[tuple[int, int, int]] | None:
    if not isinstance(value, (list, tuple)):
        return None
    out = []
    for sop in value:
        if not isinstance(sop, (list, tuple)) or len(sop) != 3 \
                or not all(type(v) is int for v in sop):
            return None
        out.append((sop[0], sop[1], sop[2] & 0xFFFF))
    return out


def _may_block(sma: Any, sops: list[tuple[int, int, int]]) -> bool:
    """Whether the operations could sleep with the values as they are (true when in
    doubt)."""
    values: dict[int, int] = {}
    for num, op, flg in sops:
        v = values.get(num, sma.semval[num])
        if op == 0:
            if v:
                return not flg & IPC_NOWAIT
            continue
        v += op
        if v < 0:
            return not flg & IPC_NOWAIT
        if v > SEMVMX:
            return False                     # ERANGE
        values[num] = v
    return False


def _sleepers_sems(sma: Any) -> set[int]:
    """The semaphores the requests in the set's lists name."""
    out: set[int] = set()
    for lst in (sma.pending_alter, sma.pending_const):
        for w in list(lst):
            out.update(num for num, _, _ in w.data.sops)
    return out


def _semop(proc: Any, args: Sequence[Any]) -> Footprint:
    """semop, semtimedop. The semaphores operated on; the set is read (it exists, the
    permissions, the undo entry made for SEM_UNDO). Where a multi-op request sleeps (or
    would go to sleep), the set's lists order the sleepers and a change retries every one
    of them: the queue key, and the semaphores every request there names."""
    semid, sops = _c_int(args[0]), _sops(args[1])
    if semid is None or sops is None:
        return None
    if semid < 0 or not sops:
        return []                                        # EINVAL before anything
    if any(flg & SEM_UNDO for _, _, flg in sops):        # the caller's undo list
        ulp = proc.sysvsem
        if ulp is not None and ulp.refcnt > 1:
            return None                                  # shared with CLONE_SYSVSEM
    ns = proc.ipc_ns
    inum = int(ns.inum)
    idx = semid & IPCMNI_IDX_MASK
    out: list[Access] = [(("sem", inum, idx), READ)]
    sma = _lookup("sem", ns, semid)
    if sma is None or len(sops) > (ns.sc_semopm & 0xFFFFFFFF) \
            or any(not 0 <= num < sma.sem_nsems for num, _, _ in sops):
        return out                                       # EINVAL, E2BIG, EFBIG
    nums = {num for num, _, _ in sops}
    queue = ("sem", inum, idx, "queue")
    if sma.complex_count or sma.pending_alter or sma.pending_const:
        out.append((queue, WRITE))
        nums |= _sleepers_sems(sma)
    elif len(sops) > 1 and _may_block(sma, sops):
        out.append((queue, WRITE))                       # the first complex sleeper:
        nums |= {n for n, lst in sma.sem_alter.items() if lst}   # merge_queues
    else:
        out.append((queue, READ))
    out.extend((("sem", inum, idx, n), WRITE) for n in sorted(nums))
    out += [(("sem", inum, idx, "otime"), MEMBER), (("sem", inum, "all"), MEMBER)]
    return out


def _semctl(proc: Any, args: Sequence[Any]) -> Footprint:
    semid, semnum, cmd = _c_int(args[0]), _c_int(args[1]), _c_int(args[2])
    if semid is None or semnum is None or cmd is None:
        return None
    if semid < 0:
        return []
    ns = proc.ipc_ns
    inum = int(ns.inum)
    idx = semid & IPCMNI_IDX_MASK
    if cmd in (IPC_STAT, SEM_STAT, SEM_STAT_ANY):
        return [(("sem", inum, idx), READ), (("sem", inum, idx, "otime"), READ)]
    if _common(cmd, SEM_INFO, ()):
        return _ctl_common("sem", proc, semid, cmd, SEM_INFO, ())
    if cmd in (SETVAL, SETALL):
        # values, undo adjustments, ctime, and a retry of every sleeper: the set's key,
        # which every call on the set reads
        return _changed("sem", inum, semid)
    set_read: list[Access] = [(("sem", inum, idx), READ)]
    sma = _lookup("sem", ns, semid)
    if sma is None:
        return set_read
    if cmd in (GETVAL, GETPID):
        if not 0 <= semnum < sma.sem_nsems:
            return set_read
        return set_read + [(("sem", inum, idx, semnum), READ)]
    if cmd in (GETALL, GETNCNT, GETZCNT):
        out = set_read + [(("sem", inum, idx, n), READ) for n in range(sma.sem_nsems)]
        if cmd != GETALL:
            out.append((("sem", inum, idx, "queue"), READ))
        return out
    return []                                            # any other command: EINVAL


# --- shared memory -------------------------------------------------------------------------
def _shm_close(proc: Any, seg: Any) -> Footprint:
    """A detach (shm_close): the segment's bookkeeping, and its end when it goes."""
    ns = seg.ns
    if ns is not proc.ipc_ns:
        return None          # the attachment's reference may be its namespace's last
    inum = int(ns.inum)
    out = _changed("shm", inum, seg.id)
    if seg.mode & SHM_DEST or ns.shm_rmid_forced:
        out += _removed("shm", inum, seg)             # (its last detach ends it)
    return out


def _shmat(proc: Any, args: Sequence[Any]) -> Footprint:
    shmid, flags = _c_int(args[0]), _int(args[2])
    if shmid is None or flags is None:
        return None
    if flags & SHM_REMAP:
        return None          # what it replaces is detached
    ns = proc.ipc_ns
    inum = int(ns.inum)
    if shmid < 0:
        return []
    seg = _lookup("shm", ns, shmid)
    if seg is None:
        return [(_slot("shm", inum, shmid), READ)]
    out = _changed("shm", inum, shmid)
    if ns.shm_rmid_forced:
        out += _removed("shm", inum, seg)               # a failed attach can end it
    return out


def _attached(proc: Any) -> list[Any]:
    """The segments the process has attached, in address order."""
    mm = proc.mm
    return [vma.seg for vma in mm] if mm is not None else []


def _shmdt(proc: Any, args: Sequence[Any]) -> Footprint:
    addr = _int(args[0])
    mm = proc.mm
    if addr is None:
        return None
    if mm is None or addr & 0xFFF or not 0 <= addr < 1 << 64:
        return []
    if mm.nfrag:
        segs = _attached(proc)             # pieces: the one detached is found by a walk
    else:
        i = bisect_left(mm.starts, addr)
        vma = mm.vmas[i] if i < len(mm.vmas) else None
        seg = getattr(vma, "seg", None)
        if vma is None or seg is None or vma.start != addr:
            return []                      # EINVAL
        segs = [seg]
    out: list[Access] = []
    for seg in _unique(segs):
        part = _shm_close(proc, seg)
        if part is None:
            return None
        out += part
    return out


def _unique(objs: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for obj in objs:
        if not any(obj is s for s in seen):
            seen.append(obj)
    return seen


def _memory(mode: int) -> Callable[[Any, Sequence[Any]], Footprint]:
    """read_memory, write_memory: the memory of the segment the address lies in (an access
    outside one attachment faults, touching nothing); a page touched the first time counts
    in the resident sizes SHM_INFO and /proc/sysvipc/shm show."""
    def footprint(proc: Any, args: Sequence[Any]) -> Footprint:
        addr = _int(args[0])
        if addr is None:
            return None
        mm = proc.mm
        vma = mm.find(addr) if mm is not None and addr >= 0 else None
        if vma is None:
            return []
        seg = vma.seg
        inum = int(seg.ns.inum)
        idx = seg.id & IPCMNI_IDX_MASK
        return [(("shmmem", inum, idx), mode), (("shm", inum, "all"), MEMBER)]
    return footprint


def _shmctl(proc: Any, args: Sequence[Any]) -> Footprint:
    shmid, cmd = _c_int(args[0]), _c_int(args[1])
    if shmid is None or cmd is None:
        return None
    if shmid < 0 or cmd < 0:
        return []
    if _common(cmd, SHM_INFO, (SHM_STAT, SHM_STAT_ANY)):
        return _ctl_common("shm", proc, shmid, cmd, SHM_INFO, (SHM_STAT, SHM_STAT_ANY))
    if cmd in (SHM_LOCK, SHM_UNLOCK):
        return _changed("shm", _inum(proc), shmid) + [(("mlock",), WRITE)]
    return []                                            # any other command: EINVAL


# --- POSIX message queues ------------------------------------------------------------------
def _mq_name(value: object) -> str | None:
    """The queue name mq_open and mq_unlink look up, or None if the call fails before."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    if not isinstance(value, str) or "\0" in value or value[:1] != "/":
        return None
    name = value[1:]
    if not name or "/" in name or name in (".", "..") or len(name.encode("utf-8",
                                                                        "surrogateescape")) > 255:
        return None
    return name


def _mq_open(proc: Any, args: Sequence[Any]) -> Footprint:
    oflag = _int(args[1])
    if oflag is None:
        return None
    name = _mq_name(args[0])
    if name is None:
        return []
    ns = proc.ipc_ns
    inum = int(ns.inum)
    sb = ns.mq_fs
    inode = sb.entries.get(name) if sb is not None else None
    if inode is None and oflag & O_CREAT:
        return [(("mqname", inum, name), WRITE), (("mq", inum, name), WRITE),
                (("mqcount", inum), WRITE), (("mqbytes", proc.creds.uid), WRITE)]
    # an open of a linked queue: its open count only matters once it is unlinked, which
    # changes the name
    return [(("mqname", inum, name), READ)]


def _evict(inode: Any) -> list[Access]:
    """A queue freed: its charge, and its namespace's count."""
    out: list[Access] = [(("mqbytes", inode.ucount_uid), WRITE)]
    sb = inode.sb
    if sb is not None and sb.ns is not None:
        out.append((("mqcount", sb.ns.inum), WRITE))
    return out


def _mq_unlink(proc: Any, args: Sequence[Any]) -> Footprint:
    name = _mq_name(args[0])
    if name is None:
        return []
    ns = proc.ipc_ns
    inum = int(ns.inum)
    sb = ns.mq_fs
    inode = sb.entries.get(name) if sb is not None else None
    if inode is None:
        return [(("mqname", inum, name), READ)]
    return [(("mqname", inum, name), WRITE), (("mq", inum, name), WRITE)] + _evict(inode)


def _mq_file(proc: Any, fd: object) -> Any:
    """The mq descriptor's open file, or None (EBADF)."""
    from .mqueue import MqFile
    fds = proc.fds
    n = _int(fd)
    file = fds[n] if n is not None and 0 <= n < len(fds) else None
    return file if type(file) is MqFile else None


def _mq_key(inode: Any) -> Key:
    return ("mq", inode.sb.inum, inode.name)


def _mq_op(mode: int) -> Callable[[Any, Sequence[Any]], Footprint]:
    """A call on a queue by descriptor."""
    def footprint(proc: Any, args: Sequence[Any]) -> Footprint:
        if _int(args[0]) is None:
            return None
        file = _mq_file(proc, args[0])
        if file is None:
            return []
        return [(_mq_key(file.inode), mode)]
    return footprint


def _mq_send(proc: Any, args: Sequence[Any]) -> Footprint:
    """mq_send, mq_timedsend: a message into an empty queue nobody waits on notifies the
    registered process (a signal, or a thread that starts): a barrier."""
    if _int(args[0]) is None:
        return None
    file = _mq_file(proc, args[0])
    if file is None:
        return []
    inode = file.inode
    sev = inode.notify
    if inode.notify_owner is not None and sev is not None \
            and sev.sigev_notify != SIGEV_NONE and not inode.curmsgs and not inode.receivers:
        return None
    return [(_mq_key(inode), WRITE)]


def _mq_setattr(proc: Any, args: Sequence[Any]) -> Footprint:
    """The descriptor's O_NONBLOCK: the open file's, shared by the processes forked since
    it was opened (a barrier then)."""
    if _int(args[0]) is None:
        return None
    file = _mq_file(proc, args[0])
    if file is None:
        return []
    if file.refs > 1:
        return None
    return [(_mq_key(file.inode), READ)]


def _inert(file: object) -> bool:
    """An open file whose close changes nothing anyone sees (/dev/null, a directory, a
    sysctl, a namespace file of a kind not modelled)."""
    from .files import DirFile, NullFile, OtherNsFile, SysctlFile
    return type(file) in (NullFile, DirFile, OtherNsFile, SysctlFile)


def _close(proc: Any, args: Sequence[Any]) -> Footprint:
    """close, mq_close of an mq descriptor: the notification it may remove, and the queue
    freed with its last open file when it is unlinked. Other files: a barrier."""
    if _int(args[0]) is None:
        return None
    fds = proc.fds
    fd = args[0]
    if not 0 <= fd < len(fds) or fds[fd] is None:
        return []                                       # EBADF
    if _inert(fds[fd]):
        return []
    file = _mq_file(proc, fd)
    if file is None or file.mount is not None:
        return None
    inode = file.inode
    if file.refs == 1 and (inode.sb is None or inode.sb.refs <= 1):
        return None                                     # the superblock goes with it
    return _mq_closed(proc, file)


def _mq_closed(proc: Any, file: Any) -> list[Access]:
    """An mq open file closed: the notification it removes (its owner's), the open count
    (one less: closes commute), the queue freed with its last open file once unlinked."""
    inode = file.inode
    if inode.notify_owner is proc or (file.refs == 1 and not inode.linked):
        return [(_mq_key(inode), WRITE)] + ([] if inode.linked else _evict(inode))
    return [(_mq_key(inode), MEMBER)]


# --- processes -----------------------------------------------------------------------------
_JOB_STOPS = (20, 21, 22)     # SIGTSTP, SIGTTIN, SIGTTOU: their stop asks about the group


def _signal_target(target: Any, sig: int) -> Footprint:
    """What a signal does to one process: its state. A handler run at once (a process
    without a program) and a wait in an IPC object that the signal ends (the sleeper leaves
    the object's queue) are barriers; so are the default actions that exit (the exit is
    one) and the job-control stops (they look at the process group)."""
    out: list[Access] = [(("proc", target.pid), WRITE)]
    if not sig or not target.alive:
        return out
    if target.program is None or sig in _JOB_STOPS:
        return None
    w = target.waiter
    if w is not None and w.queue is not None and w.queue is not target.child_wait:
        return None
    return out


def _kill(proc: Any, args: Sequence[Any]) -> Footprint:
    """kill by a process of the initial PID namespace (the pids it names are those of the
    kernel's table); from inside a namespace: a barrier."""
    pid, sig = _int(args[0]), _int(args[1])
    if pid is None or sig is None or not 0 <= sig <= 64 or not _initial_pid_ns(proc):
        return None
    kernel = proc.kernel
    if pid > 0:
        target = kernel.process(pid)
        if target is None:
            return [(("proc", pid), WRITE)]              # ESRCH until a fork makes it
        return _signal_target(target, sig)
    if pid == -1:
        targets = [t for t in kernel.processes(include_zombies=True)
                   if t.pid > 1 and t is not proc]
    else:
        pgrp = proc.pgid if pid == 0 else -pid
        targets = [t for t in kernel.processes(include_zombies=True) if t.pgid == pgrp]
    out: list[Access] = [(("pids",), READ)]
    for target in targets:
        part = _signal_target(target, sig)
        if part is None:
            return None
        out += part
    return out


def _fork(proc: Any, flags: int) -> Footprint:
    """fork, clone: the next pid; the attachments the child inherits (each one an attach
    of its segment); a new namespace's inode number (user namespaces take theirs from the
    same numbers) and its charge; the child itself comes with the result."""
    out: list[Access] = [(("pids",), WRITE)]
    if flags & (CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID):
        out.append((("ipcns",), WRITE))
    for seg in _unique(_attached(proc)):
        out += _changed("shm", int(seg.ns.inum), seg.id)
    return out


def _clone(proc: Any, args: Sequence[Any]) -> Footprint:
    flags = _int(args[0])
    if flags is None:
        return None
    return _fork(proc, flags)


def _wait(proc: Any, args: Sequence[Any]) -> Footprint:
    """wait: the children it may reap (each a pid that goes), which are the caller's. A
    barrier where reaping one would free its user namespace, or where a child is in a PID
    namespace of its own (reaping it may free the namespace or end its init's exit)."""
    if not _initial_pid_ns(proc, *proc.children.values()):
        return None
    for child in proc.children.values():
        user_ns = child.creds.user_ns
        if not child.alive and user_ns is not None and user_ns.refs <= 1:
            return None
    out: list[Access] = [(("pids",), WRITE)]
    out += [(("proc", pid), WRITE) for pid in sorted(proc.children)]
    return out


def _undo_dropped(proc: Any) -> bool:
    """Whether leaving the undo list (unshare, setns) changes nothing outside the process."""
    ulp = proc.sysvsem
    return ulp is None or (ulp.refcnt == 1 and not ulp.entries)


def _unshare(proc: Any, args: Sequence[Any]) -> Footprint:
    """unshare of CLONE_SYSVSEM or CLONE_NEWIPC alone, by a process with no undo entries
    (and, for a new namespace, no segment it created still there, and not the last
    reference to its namespace): the new namespace's number. Anything else: a barrier."""
    flags = _int(args[0])
    if flags not in (CLONE_SYSVSEM, CLONE_NEWIPC) or not _undo_dropped(proc):
        return None
    if flags == CLONE_SYSVSEM:
        return []
    if any(seg.creator is proc for seg in proc.shm_clist) or proc.ipc_ns.refs <= 1:
        return None
    return [(("ipcns",), WRITE)]


def _setns(proc: Any, args: Sequence[Any]) -> Footprint:
    """setns by a process with no undo entries that is not the last reference to its
    namespace nor to its mount namespace: its own state only (the descriptor holds the
    namespace it joins). Joining a user namespace: a barrier (it may free the one it
    leaves)."""
    if not _undo_dropped(proc) or proc.ipc_ns.refs <= 1 or proc.mnt_ns.refs <= 1:
        return None
    from .files import NsFile
    from .pidns import PidNamespace
    from .userns import UserNsFile
    fd = _int(args[0]) if args else None
    if fd is not None and 0 <= fd < len(proc.fds):
        file = proc.fds[fd]
        if type(file) is UserNsFile:
            return None
        if isinstance(file, NsFile) and isinstance(file.ns, PidNamespace):
            return None                     # it may free the namespace it leaves
    return []


def _getpgid(proc: Any, args: Sequence[Any]) -> Footprint:
    pid = _int(args[0])
    if pid is None or not _initial_pid_ns(proc):
        return None
    return [] if pid in (0, proc.pid) else [(("proc", pid), READ)]


# /proc files whose text only a barrier (write_file) changes, and those that show a table.
_STATIC_SYSCTLS = frozenset(
    "/proc/sys/" + p for p in (
        "kernel/msgmax", "kernel/msgmni", "kernel/msgmnb", "kernel/sem", "kernel/shmmax",
        "kernel/shmall", "kernel/shmmni", "kernel/auto_msgmni", "fs/mqueue/msg_max",
        "fs/mqueue/msgsize_max", "fs/mqueue/msg_default", "fs/mqueue/msgsize_default",
        "fs/mqueue/queues_max"))
_NEXT_ID = {f"/proc/sys/kernel/{kind}_next_id": kind for kind in ("msg", "sem", "shm")}
_SYSVIPC = {f"/proc/sysvipc/{kind}": kind for kind in ("msg", "sem", "shm")}


def _read_file(proc: Any, args: Sequence[Any]) -> Footprint:
    """read_file of a /proc/sysvipc table (every object of the kind), of a *_next_id (the
    id table), or of a limit of the namespace; any other file: a barrier."""
    path = args[0]
    if not isinstance(path, str):
        return None
    inum = _inum(proc)
    kind = _SYSVIPC.get(path)
    if kind is not None:
        return [((kind, inum, "table"), READ), ((kind, inum, "all"), READ)]
    kind = _NEXT_ID.get(path)
    if kind is not None:
        return [((kind, inum, "table"), READ)]
    return [] if path in _STATIC_SYSCTLS else None


def _own(proc: Any, args: Sequence[Any]) -> Footprint:
    return []


# Calls that touch only the calling process (its credentials, limits, signal state, the
# timer of its own sleep).
_OWN = ("capget", "capset", "drop_capability", "getpid", "getppid", "getresgid",
        "getresuid", "getrlimit", "setrlimit", "set_dumpable", "setegid", "seteuid", "setgid",
        "setgroups", "setresgid", "setresuid", "setreuid", "setuid", "signal",
        "sigpending_signals", "sigprocmask", "sleep", "umask", "pause", "sigsuspend")

_TABLE: dict[str, Callable[[Any, Sequence[Any]], Footprint]] = {
    "msgget": _get("msg", 1), "semget": _get("sem", 2), "shmget": _get("shm", 2),
    "msgsnd": _msg_op, "msgrcv": _msg_op, "msgctl": _msgctl,
    "semop": _semop, "semtimedop": _semop, "semctl": _semctl,
    "shmat": _shmat, "shmdt": _shmdt, "shmctl": _shmctl,
    "read_memory": _memory(READ), "write_memory": _memory(WRITE),
    "mq_open": _mq_open, "mq_unlink": _mq_unlink,
    "mq_send": _mq_send, "mq_timedsend": _mq_send,
    "mq_receive": _mq_op(WRITE), "mq_timedreceive": _mq_op(WRITE),
    "mq_getattr": _mq_op(READ), "mq_notify": _mq_op(WRITE), "mq_setattr": _mq_setattr,
    "mq_close": _close, "close": _close,
    "kill": _kill, "fork": lambda proc, args: _fork(proc, 0), "clone": _clone,
    "wait": _wait, "unshare": _unshare, "setns": _setns, "getpgid": _getpgid,
    "read_file": _read_file,
    **{name: _own for name in _OWN},
}


def footprint(proc: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Footprint:
    """What the call ``name(*args)`` by ``proc`` may read and change (see the module's
    text); None: treat it as depending on every other step."""
    fn = _TABLE.get(name)
    pid = _int(getattr(proc, "pid", None))
    if fn is None or kwargs or pid is None or not getattr(proc, "alive", False):
        return None
    try:
        accesses = fn(proc, args)
    except Exception:        # odd arguments: the call itself will say what is wrong
        return None
    if accesses is None:
        return None
    return accesses + [(("proc", pid), WRITE)]


def exited(proc: Any) -> Footprint:
    """What the exit of ``proc`` (do_exit, about to run) may read and change: its
    attachments detached, the undo adjustments applied to their sets, the segments it
    created orphaned, its queue descriptors closed, its children handed to init, itself a
    zombie of its parent (who may be signalled and woken). None (a barrier) where it could
    end a namespace or a superblock, where its undo list is shared, where it sleeps in an
    IPC object (it leaves the object's queue), where it holds a descriptor of another kind
    or its parent has a SIGCHLD handler that would run or interrupt a call."""
    try:
        return _exited(proc)
    except Exception:
        return None


def _exited(proc: Any) -> Footprint:
    from .mqueue import MqFile
    from .signals import SIG_DFL, SIG_IGN, SIGCHLD
    pid, ns = _int(proc.pid), proc.ipc_ns
    if pid is None or pid == 1 or not proc.alive:
        return None
    if not _initial_pid_ns(proc, *proc.children.values()):
        return None                          # it may kill a PID namespace, or free one
    out: list[Access] = [(("proc", pid), WRITE)]
    w = proc.waiter
    if w is not None and w.queue is not None and w.queue is not proc.child_wait:
        return None
    # the namespace reference of each attachment, then the process's own
    held = 1
    for seg in _unique(_attached(proc)):
        if seg.ns is not ns:
            return None
        held += sum(1 for s in _attached(proc) if s is seg)
        out += _changed("shm", int(ns.inum), seg.id)
        if seg.mode & SHM_DEST or ns.shm_rmid_forced:
            out += _removed("shm", int(ns.inum), seg)
    if not ns.is_initial and ns.refs <= held:
        return None
    user_ns = proc.creds.user_ns
    if user_ns is not None and user_ns.refs <= 1:
        return None                          # it frees a user namespace
    mnt_ns = proc.mnt_ns
    if mnt_ns is None or (not mnt_ns.is_initial and mnt_ns.refs <= 1):
        return None                          # it frees a mount namespace and its mounts
    ulp = proc.sysvsem
    if ulp is not None:
        if ulp.refcnt > 1:
            return None
        for semid in ulp.entries:
            out += _changed("sem", int(ns.inum), semid)
    for seg in proc.shm_clist:
        if seg.creator is proc:
            inum = int(seg.ns.inum)
            out += _changed("shm", inum, seg.id)
            if seg.ns.shm_rmid_forced:
                out += _removed("shm", inum, seg)
    released: dict[int, int] = {}            # superblock -> its open files released
    sbs: dict[int, Any] = {}
    for file in proc.fds:
        if file is None or _inert(file):
            continue
        if type(file) is not MqFile or file.mount is not None:
            return None
        inode = file.inode
        out += _mq_closed(proc, file)
        if not inode.linked:
            out += _evict(inode)           # (its other descriptors close too)
        if file.refs == 1:
            sb = inode.sb
            sbs[id(sb)] = sb
            released[id(sb)] = released.get(id(sb), 0) + 1
    if any(sb.refs <= released[key] for key, sb in sbs.items()):
        return None                                     # a superblock goes
    for child in proc.children.values():
        out.append((("proc", child.pid), WRITE))
        if child.alive:
            out.append((("proc", 1), WRITE))           # adopted by init
        else:
            out.append((("pids",), WRITE))              # reaped by init
    parent = proc.parent
    handler = parent.sighand.get(SIGCHLD, SIG_DFL)
    if proc.adopted or handler is SIG_IGN:
        out.append((("pids",), WRITE))                  # reaped at once
    elif handler is not SIG_DFL and parent.alive and proc.exit_signal == SIGCHLD:
        pw = parent.waiter
        if parent.program is None or (pw is not None and pw.queue is not None
                                      and pw.queue is not parent.child_wait):
            return None
    elif proc.exit_signal not in (0, SIGCHLD):
        return None
    # the parent's zombies and pending SIGCHLD: every child's exit adds to them alike
    out.append((("proc", parent.pid), MEMBER))
    return out


def returned(proc: Any, name: str, result: object) -> list[Access]:
    """What a call's result adds to its footprint: the slot an id it created (or found) is
    in, the process it forked."""
    if name in ("msgget", "semget", "shmget") and type(result) is int:
        return [(_slot(name[:3], _inum(proc), result), WRITE)]
    if name in ("fork", "clone"):
        pid = getattr(result, "pid", None)
        if pid is not None:
            return [(("proc", pid), WRITE)]
    return []
