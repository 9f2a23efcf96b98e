"""ONE table of every IPC limit: its file, default, range, text format and permission rule.

A new namespace takes its values from :data:`SYSCTLS` (defaults, never the parent's). Reads and
writes follow proc_dointvec_minmax / proc_doulongvec_minmax byte for byte: base-0 numbers
("0x10", "010"), whitespace rules, partial vectors, writes at a non-zero offset ignored
(sysctl_writes_strict), reads at a non-zero offset at end of file, EINVAL with the old value
kept. The special handlers (``sem``, ``auto_msgmni``, ``shm_rmid_forced``) are Linux's.
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any, Callable, Union

import attrs

from ..constants import (CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, DFLT_MSG,
                         DFLT_MSGMAX, DFLT_MSGSIZE, DFLT_MSGSIZEMAX, DFLT_QUEUESMAX,
                         HARD_MSGMAX, HARD_MSGSIZEMAX, INT_MAX, IPCMNI, MIN_MSGMAX,
                         MIN_MSGSIZEMAX, MSGMAX, MSGMNB, MSGMNI, SEMMNI, SEMMNS, SEMMSL,
                         SEMOPM, SHMALL, SHMMAX, SHMMNI, ULONG_MAX)
from ..errors import oserror

if TYPE_CHECKING:
    from .creds import Creds
    from .kernel import Kernel
    from .namespace import IpcNamespace
    from .userns import UserNamespace

# What holds a sysctl's values: the IPC namespace (IPC, MQ scopes) or the user namespace
# (USER); the kernel for a caller that passes it (its USER values are the initial user
# namespace's).
Owner = Union["IpcNamespace", "UserNamespace", "Kernel"]

IPC = "ipc"    # per IPC namespace, /proc/sys/kernel (ipc_permissions)
MQ = "mq"      # per IPC namespace, /proc/sys/fs/mqueue (mq_permissions)
USER = "user"  # per user namespace, /proc/sys/user (set_permissions)

# The largest max_ipc_namespaces default Linux computes is max_threads/2; it depends on the
# machine's memory, so the model fixes one value (a Kernel argument can change it).
DEFAULT_MAX_IPC_NAMESPACES = 96365
DEFAULT_MAX_USER_NAMESPACES = DEFAULT_MAX_IPC_NAMESPACES   # the same max_threads/2


@attrs.frozen
class Sysctl:
    """One /proc/sys file."""

    path: str                      # under /proc/sys, e.g. "kernel/msgmax"
    fields: tuple[str, ...]        # attribute paths on the owner (namespace or kernel)
    defaults: tuple[int, ...]
    kind: str = "int"              # "int" (proc_dointvec) or "ulong" (proc_doulongvec)
    lo: int | None = None          # inclusive range checked on write (None: any)
    hi: int | None = None
    mode: int = 0o644
    scope: str = IPC
    handler: str | None = None     # "sem", "auto_msgmni", "rmid_forced", "next_id"

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]


SYSCTLS: tuple[Sysctl, ...] = (
    Sysctl("kernel/shmmax", ("shm_ctlmax",), (SHMMAX,), kind="ulong"),
    Sysctl("kernel/shmall", ("shm_ctlall",), (SHMALL,), kind="ulong"),
    Sysctl("kernel/shmmni", ("shm_ctlmni",), (SHMMNI,), lo=0, hi=IPCMNI),
    Sysctl("kernel/shm_rmid_forced", ("shm_rmid_forced",), (0,), lo=0, hi=1,
           handler="rmid_forced"),
    Sysctl("kernel/msgmax", ("msg_ctlmax",), (MSGMAX,), lo=0, hi=INT_MAX),
    Sysctl("kernel/msgmni", ("msg_ctlmni",), (MSGMNI,), lo=0, hi=IPCMNI),
    Sysctl("kernel/auto_msgmni", (), (0,), lo=0, hi=1, handler="auto_msgmni"),
    Sysctl("kernel/msgmnb", ("msg_ctlmnb",), (MSGMNB,), lo=0, hi=INT_MAX),
    Sysctl("kernel/sem", ("sc_semmsl", "sc_semmns", "sc_semopm", "sc_semmni"),
           (SEMMSL, SEMMNS, SEMOPM, SEMMNI), handler="sem"),
    Sysctl("kernel/sem_next_id", ("sem_ids.next_id",), (-1,), lo=0, hi=INT_MAX, mode=0o444,
           handler="next_id"),
    Sysctl("kernel/msg_next_id", ("msg_ids.next_id",), (-1,), lo=0, hi=INT_MAX, mode=0o444,
           handler="next_id"),
    Sysctl("kernel/shm_next_id", ("shm_ids.next_id",), (-1,), lo=0, hi=INT_MAX, mode=0o444,
           handler="next_id"),
    Sysctl("fs/mqueue/queues_max", ("mq_queues_max",), (DFLT_QUEUESMAX,), scope=MQ),
    Sysctl("fs/mqueue/msg_max", ("mq_msg_max",), (DFLT_MSGMAX,), lo=MIN_MSGMAX,
           hi=HARD_MSGMAX, scope=MQ),
    Sysctl("fs/mqueue/msgsize_max", ("mq_msgsize_max",), (DFLT_MSGSIZEMAX,),
           lo=MIN_MSGSIZEMAX, hi=HARD_MSGSIZEMAX, scope=MQ),
    Sysctl("fs/mqueue/msg_default", ("mq_msg_default",), (DFLT_MSG,), lo=MIN_MSGMAX,
           hi=HARD_MSGMAX, scope=MQ),
    Sysctl("fs/mqueue/msgsize_default", ("mq_msgsize_default",), (DFLT_MSGSIZE,),
           lo=MIN_MSGSIZEMAX, hi=HARD_MSGSIZEMAX, scope=MQ),
    Sysctl("user/max_ipc_namespaces", ("max_ipc_namespaces",), (DEFAULT_MAX_IPC_NAMESPACES,),
           lo=0, hi=INT_MAX, scope=USER),
    Sysctl("user/max_mnt_namespaces", ("max_mnt_namespaces",),
           (DEFAULT_MAX_USER_NAMESPACES,), lo=0, hi=INT_MAX, scope=USER),
    Sysctl("user/max_pid_namespaces", ("max_pid_namespaces",),
           (DEFAULT_MAX_USER_NAMESPACES,), lo=0, hi=INT_MAX, scope=USER),
    Sysctl("user/max_user_namespaces", ("max_user_namespaces",),
           (DEFAULT_MAX_USER_NAMESPACES,), lo=0, hi=INT_MAX, scope=USER),
)

BY_PATH: dict[str, Sysctl] = {s.path: s for s in SYSCTLS}

# The plain attributes each IpcNamespace stores (the next_id ones live in its ID tables).
NAMESPACE_FIELDS: tuple[str, ...] = tuple(
    f for s in SYSCTLS if s.scope != USER for f in s.fields if "." not in f)


def namespace_defaults() -> list[tuple[str, int]]:
    """(attribute, default) for every value a new namespace starts with."""
    return [(f, d) for s in SYSCTLS if s.scope != USER
            for f, d in zip(s.fields, s.defaults) if "." not in f]


def user_defaults() -> list[tuple[str, int]]:
    """(attribute, default) for every /proc/sys/user limit of the initial user namespace."""
    return [(f, d) for s in SYSCTLS if s.scope == USER for f, d in zip(s.fields, s.defaults)]


def directories() -> dict[str, list[str]]:
    """Each /proc/sys directory the model serves, with its entries in readdir order."""
    dirs: dict[str, set[str]] = {"": set()}
    for s in SYSCTLS:
        parts = s.path.split("/")
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth])
            dirs.setdefault(parent, set()).add(parts[depth])
    return {d: sorted(names) for d, names in sorted(dirs.items())}


# --- values --------------------------------------------------------------------------
def _get(owner: Owner, field: str) -> int:
    obj: Any = owner
    for part in field.split("."):
        obj = getattr(obj, part)
    value: int = obj
    return value


def _set(owner: Owner, field: str, value: int) -> None:
    *path, last = field.split(".")
    obj: object = owner
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def values(entry: Sysctl, owner: Owner) -> list[int]:
    """The current values of a sysctl (auto_msgmni always reads 0)."""
    if entry.handler == "auto_msgmni":
        return [0]
    return [_get(owner, f) for f in entry.fields]


def render(entry: Sysctl, owner: Owner) -> bytes:
    """The text a read at offset 0 returns: values joined by TABs, then a newline."""
    return ("\t".join(str(v) for v in values(entry, owner)) + "\n").encode()


# --- permissions -----------------------------------------------------------------------
def _user_ns(owner: Owner) -> UserNamespace:
    """The user namespace whose capabilities and root rule a file of ``owner``."""
    from .namespace import IpcNamespace
    from .userns import UserNamespace
    if isinstance(owner, UserNamespace):
        return owner
    if isinstance(owner, IpcNamespace):
        return owner.user_ns
    return owner.init_user_ns


def ownership(entry: Sysctl, owner: Owner) -> tuple[int, int]:
    """The kernel uid and gid that own the file (ipc_set_ownership, mq_set_ownership): root
    of the user namespace that owns the IPC namespace, or the global root when that one
    has no mapping for 0; /proc/sys/user files belong to the global root."""
    if entry.scope == USER:
        return 0, 0
    from .userns import make_kgid, make_kuid
    user_ns = _user_ns(owner)
    uid, gid = make_kuid(user_ns, 0), make_kgid(user_ns, 0)
    return (0 if uid is None else uid), (0 if gid is None else gid)


def permissions(entry: Sysctl, creds: Creds, owner: Owner) -> int:
    """The effective mode of the file of ``owner`` for ``creds`` (ipc/mq/set_permissions):
    /proc/sys/user files are writable with CAP_SYS_RESOURCE in their user namespace and
    readable by everyone; the IPC files give the owner's bits to the euid that is root of
    the user namespace owning the IPC namespace, the group's to its gid, and capabilities
    do not count (but CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE there opens the next_id
    files)."""
    mode = entry.mode
    user_ns = _user_ns(owner)
    if entry.scope == USER:
        # Only CAP_SYS_RESOURCE may write; everyone else reads.
        mode = (mode >> 6) & 7 if creds.ns_capable(user_ns, CAP_SYS_RESOURCE) else mode & 4
        return (mode << 6) | (mode << 3) | mode
    if entry.handler == "next_id" and (creds.ns_capable(user_ns, CAP_SYS_ADMIN)
                                       or creds.ns_capable(user_ns, CAP_CHECKPOINT_RESTORE)):
        mode = 0o666
    else:
        root_uid, root_gid = ownership(entry, owner)
        if creds.euid == root_uid:
            mode >>= 6
        elif creds.in_egroup_p(root_gid):
            mode >>= 3
    mode &= 7
    return (mode << 6) | (mode << 3) | mode


def check_open(entry: Sysctl, creds: Creds, owner: Owner, want_read: bool,
               want_write: bool) -> None:
    """EACCES unless the effective mode grants what the open asks for."""
    mode = permissions(entry, creds, owner)
    if (want_read and not mode & 4) or (want_write and not mode & 2):
        raise oserror(errno.EACCES)


# --- parsing (proc_get_long and __do_proc_dointvec) -------------------------------------
_SEP = b" \t\n"              # proc_wspace_sep: what may follow a number
_SPACE = b" \t\n\v\f\r"      # isspace(): what proc_skip_spaces skips
_TMPBUFLEN = 22
_PAGE_SIZE = 4096
_HEX = b"0123456789abcdefABCDEF"


class _Invalid(Exception):
    pass


def _skip_spaces(data: bytes, p: int) -> int:
    n = len(data)
    while p < n and data[p] in _SPACE:
        p += 1
    return p


def _get_long(data: bytes, p: int) -> tuple[bool, int, int]:
    """proc_get_long: one (possibly negative) base-0 number at ``p``; returns the new p."""
    left = len(data) - p
    tmp = data[p:p + min(left, _TMPBUFLEN - 1)]
    i = 0
    neg = False
    if tmp[:1] == b"-" and left > 1:
        neg, i = True, 1
    if not tmp[i:i + 1].isdigit():
        raise _Invalid
    base = 10
    if tmp[i:i + 1] == b"0":
        if tmp[i + 1:i + 2] in (b"x", b"X") and tmp[i + 2:i + 3] and tmp[i + 2] in _HEX:
            base, i = 16, i + 2
        else:
            base = 8
    value = 0
    while i < len(tmp):
        c = tmp[i]
        digit = int(chr(c), 16) if c in _HEX else 99
        if digit >= base:
            break
        value = value * base + digit
        i += 1
    if value > ULONG_MAX or i == _TMPBUFLEN - 1:
        raise _Invalid
    if i < left and data[p + i] not in _SEP:
        raise _Invalid
    return neg, value, p + i


def _convert(entry: Sysctl, neg: bool, value: int) -> int:
    """do_proc_dointvec(_minmax)_conv / doulongvec: the stored value, or _Invalid."""
    if entry.kind == "ulong":
        if neg:
            raise _Invalid
    elif neg:
        if value > INT_MAX + 1:
            raise _Invalid
        value = -value
    elif value > INT_MAX:
        raise _Invalid
    if (entry.lo is not None and value < entry.lo) or (entry.hi is not None and value > entry.hi):
        raise _Invalid
    return value


def parse(entry: Sysctl, data: bytes) -> tuple[list[int], int, int | None]:
    """Parse a write: (values converted before any error, bytes consumed, errno or None).

    Linux stores each value as it converts it, so a later bad value leaves the earlier ones
    written; a write that converts nothing is EINVAL. Only the first 4095 bytes are parsed,
    and what lies beyond them counts as consumed.
    """
    count = len(entry.defaults)
    total = len(data)
    data = data[:_PAGE_SIZE - 1]   # the handler looks at the first 4095 bytes only
    out: list[int] = []
    p = 0
    err = None
    first = True
    while p < len(data) and len(out) < count:
        p = _skip_spaces(data, p)
        if p == len(data):
            break
        try:
            neg, value, p = _get_long(data, p)
            out.append(_convert(entry, neg, value))
        except _Invalid:
            err = errno.EINVAL
            break
        first = False
    if err is None:
        p = _skip_spaces(data, p)
    if first:
        return out, 0, err or errno.EINVAL
    return out, total - (len(data) - p), err


def write(entry: Sysctl, owner: Owner, data: bytes,
          on_rmid_forced: Callable[[Owner], None] | None = None) -> int:
    """Write ``data`` (at offset 0) to a sysctl; returns the bytes consumed or raises."""
    if not data:
        return 0
    new, consumed, err = parse(entry, data)
    if entry.handler == "auto_msgmni":
        new = []                     # "writing to auto_msgmni has no effect"
    if entry.handler == "sem":      # (a namespace's)
        semmni = _get(owner, "sc_semmni")
    for field, value in zip(entry.fields, new):
        _set(owner, field, value)
    if entry.handler == "sem":
        if err is None and not 0 <= _get(owner, "sc_semmni") <= IPCMNI:
            err = errno.ERANGE
        if err is not None:
            _set(owner, "sc_semmni", semmni)
    if err is not None:
        raise oserror(err)
    if entry.handler == "rmid_forced" and on_rmid_forced is not None:
        on_rmid_forced(owner)
    return consumed
