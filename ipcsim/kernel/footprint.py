"""What a system call reads and changes, for exploring interleavings.

Two steps of different programs *depend* on each other when swapping them could change
what either does: they touch the same object and at least one changes it. The explorer
(:mod:`ipcsim.explore`) only asks this module, so it needs to know nothing of IPC.

A footprint is a list of ``(key, mode)``. Keys name objects with what stays the same from
one run of a scenario to the next (a namespace's inode number, an IPC id's slot, a pid),
never a Python ``id()``. Modes:

* ``READ``: reads the object; two reads commute;
* ``WRITE``: changes it; conflicts with any other access;
* ``MEMBER``: changes one member of a family whose whole a rarer call reads (a queue of a
  namespace, whose totals ``MSG_INFO`` reports): two members' changes commute, a change
  conflicts with the whole's ``READ`` and ``WRITE``.

``None`` means "depends on everything" (a barrier): every call not named here, so that an
unknown call can only make the search larger, never wrong. Each process's own state is
the key ``("proc", pid)``, which the explorer adds to every step of the process itself.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..constants import IPC_RMID, IPCMNI_IDX_MASK

READ, WRITE, MEMBER = 1, 2, 3

Key = tuple[Any, ...]
Access = tuple[Key, int]
Footprint = list[Access] | None


def conflict(a: int, b: int) -> bool:
    """Whether two accesses to one key do not commute."""
    return not (a == b and a != WRITE)


def _ns(proc: Any) -> int:
    ns = getattr(proc, "ipc_ns", None)
    return ns.inum if ns is not None else 0


def _int(value: object) -> int | None:
    return value if type(value) is int else None


# --- System V ---------------------------------------------------------------------------
# The commands of each *ctl call that read the whole table (IPC_INFO, *_INFO, *_STAT by
# index), and those that only read one object; every other command changes its object.
_MSG = ({3, 12, 11, 13}, {2})
_SHM = ({3, 14, 13, 15}, {2})
_SEM = ({3, 19, 18, 20}, {2, 11, 12, 13, 14, 15})


def _sysv_object(kind: str, proc: Any, ipc_id: object, mode: int) -> list[Access]:
    """An object of a namespace's ID table by id: its slot, and the table's totals."""
    ns = _ns(proc)
    n = _int(ipc_id)
    if n is None or n < 0:
        return [((kind, ns, "table"), READ)]       # (EINVAL before anything)
    return [((kind, ns, n & IPCMNI_IDX_MASK), mode), ((kind, ns, "all"), MEMBER)]


def _whole(kind: str, proc: Any) -> list[Access]:
    """Every object of the table read (the *_INFO and *_STAT commands)."""
    ns = _ns(proc)
    return [((kind, ns, "table"), READ), ((kind, ns, "all"), READ)]


def _table(kind: str, proc: Any) -> list[Access]:
    """The table changed (an object made or removed, a key looked up for that)."""
    ns = _ns(proc)
    return [((kind, ns, "table"), WRITE), ((kind, ns, "all"), MEMBER)]


def _get(kind: str) -> Callable[..., Footprint]:
    def footprint(proc: Any, args: Sequence[Any]) -> Footprint:
        return _table(kind, proc)
    return footprint


def _ctl(kind: str, cmd_at: int, cmds: tuple[set[int], set[int]]) -> Callable[..., Footprint]:
    whole_reads, object_reads = cmds

    def footprint(proc: Any, args: Sequence[Any]) -> Footprint:
        if len(args) <= cmd_at:
            return None
        ipc_id, cmd = args[0], args[cmd_at]
        if cmd in whole_reads:
            return _whole(kind, proc)
        if cmd == IPC_RMID:
            return _sysv_object(kind, proc, ipc_id, WRITE) + _table(kind, proc)
        return _sysv_object(kind, proc, ipc_id, READ if cmd in object_reads else WRITE)
    return footprint


def _op(kind: str) -> Callable[..., Footprint]:
    def footprint(proc: Any, args: Sequence[Any]) -> Footprint:
        if not args:
            return None
        return _sysv_object(kind, proc, args[0], WRITE)
    return footprint


def _shmat(proc: Any, args: Sequence[Any]) -> Footprint:
    if not args:
        return None
    return _sysv_object("shm", proc, args[0], WRITE) + [(("memory",), WRITE)]


def _memory(mode: int) -> Callable[..., Footprint]:
    def footprint(proc: Any, args: Sequence[Any]) -> Footprint:
        return [(("memory",), mode)]
    return footprint


# --- POSIX message queues ------------------------------------------------------------------
def _mq_by_name(proc: Any, args: Sequence[Any]) -> Footprint:
    return [(("mqueue", _ns(proc)), WRITE)]


def _mq_by_fd(proc: Any, args: Sequence[Any]) -> Footprint:
    fds = getattr(proc, "fds", None)
    fd = _int(args[0]) if args else None
    file = fds[fd] if fds is not None and fd is not None and 0 <= fd < len(fds) else None
    inode = getattr(file, "inode", None)
    sb = getattr(inode, "sb", None)
    if inode is None or sb is None or not getattr(inode, "name", ""):
        return [(("mqueue", _ns(proc)), WRITE)]
    return [(("mq", getattr(sb, "ns_inum", _ns(proc)), inode.name), WRITE),
            (("mqueue", _ns(proc)), MEMBER)]


# --- processes ----------------------------------------------------------------------------
def _own(proc: Any, args: Sequence[Any]) -> Footprint:
    return []


def _kill(proc: Any, args: Sequence[Any]) -> Footprint:
    pid = _int(args[0]) if args else None
    if pid is None or pid <= 0:
        return None
    return [(("proc", pid), WRITE)]


def _fork(proc: Any, args: Sequence[Any]) -> Footprint:
    return [(("pids",), WRITE)]


_OWN = ("capget", "capset", "drop_capability", "getpid", "getppid", "getresgid",
        "getresuid", "getrlimit", "setrlimit", "set_dumpable", "setegid", "seteuid", "setgid",
        "setgroups", "setresgid", "setresuid", "setreuid", "setuid", "signal",
        "sigpending_signals", "sigprocmask", "sleep", "umask", "pause", "sigsuspend")

_TABLE: dict[str, Callable[[Any, Sequence[Any]], Footprint]] = {
    "msgget": _get("msg"), "semget": _get("sem"), "shmget": _get("shm"),
    "msgsnd": _op("msg"), "msgrcv": _op("msg"),
    "semop": _op("sem"), "semtimedop": _op("sem"),
    "msgctl": _ctl("msg", 1, _MSG), "shmctl": _ctl("shm", 1, _SHM),
    "semctl": _ctl("sem", 2, _SEM),
    "shmat": _shmat,
    "read_memory": _memory(READ), "write_memory": _memory(WRITE),
    "mq_open": _mq_by_name, "mq_unlink": _mq_by_name,
    "mq_send": _mq_by_fd, "mq_timedsend": _mq_by_fd, "mq_receive": _mq_by_fd,
    "mq_timedreceive": _mq_by_fd, "mq_getattr": _mq_by_fd, "mq_setattr": _mq_by_fd,
    "mq_notify": _mq_by_fd,
    "kill": _kill, "fork": _fork,
    **{name: _own for name in _OWN},
}

def footprint(proc: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Footprint:
    """What the call ``name(*args)`` by ``proc`` may read and change (see the module's
    text); None: treat it as depending on every other step."""
    fn = _TABLE.get(name)
    if fn is None or kwargs:
        return None
    try:
        return fn(proc, args)
    except Exception:        # odd arguments: the call itself will say what is wrong
        return None


def returned(proc: Any, name: str, result: object) -> list[Access]:
    """What a call's result adds to its footprint: the slot an id it created is in, the
    process it forked."""
    if name in ("msgget", "semget", "shmget") and type(result) is int:
        kind = name[:3]
        return [((kind, _ns(proc), result & IPCMNI_IDX_MASK), WRITE)]
    if name in ("fork", "clone"):
        pid = getattr(result, "pid", None)
        if pid is not None:
            return [(("proc", pid), WRITE)]
    return []
