"""User namespaces: who owns a namespace, how ids map, and where capabilities hold.

A user namespace (kernel/user_namespace.c) has a parent (the initial one has none), a level
(0 for the initial one, at most 33 below it), an owner (the effective uid and gid of its
creator, as kernel ids) and two maps, ``uid_map`` and ``gid_map``: extents ``(first,
lower_first, count)`` that send ids ``first .. first+count-1`` inside the namespace to kernel
ids ``lower_first ..`` (stored as kernel ids, as Linux stores them once a map is written).
Credentials hold kernel ids; what a process sees (getresuid, /proc/PID/uid_map) is mapped
into its own namespace, and an id with no mapping shows as the overflow id 65534.

A new namespace's maps are empty until written once through /proc/PID/uid_map and gid_map
(:func:`write_map`), with Linux's parsing, limits and permission rules; /proc/PID/setgroups
(:func:`write_setgroups`) says whether setgroups(2) may ever be allowed in it.
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..constants import (CAP_SETFCAP, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN,
                         CLONE_NEWPID, CLONE_NEWUSER, INT_MAX, NS_GET_NSTYPE, NS_GET_OWNER_UID,
                         NS_GET_PARENT, NS_GET_USERNS, O_RDONLY)
from ..errors import oserror
from .files import NsFile, OpenFile, OtherNsFile
from .nstree import Nested

if TYPE_CHECKING:
    from .creds import Creds
    from .kernel import Kernel
    from .process import Process

INIT_USER_NS_INUM = 4026531837
OVERFLOW_ID = 65534               # /proc/sys/kernel/overflowuid and overflowgid
MAX_PARENT_LEVEL = 32             # create_user_ns(): a parent deeper than this is ENOSPC
UID_GID_MAP_MAX_EXTENTS = 340
PAGE_SIZE = 4096
_U32 = 0xFFFFFFFF

Extent = tuple[int, int, int]     # (first, lower_first, count)
IdMap = tuple[Extent, ...]

# The initial namespace maps every id but (u32)-1 to itself: "0 0 4294967295".
IDENTITY_MAP: IdMap = ((0, 0, _U32),)


class UserNamespace(Nested):
    """One user namespace. ``ucounts`` counts, per kernel uid, the user namespaces charged
    to this one (inc_ucount(): each new namespace is charged to its parent for its
    creator's euid, then to each ancestor for the owner of the namespace below it), and
    ``ipc_ucounts`` the same for IPC namespaces (charged to the user namespace that owns
    each), ``mnt_ucounts`` and ``pid_ucounts`` for mount and PID namespaces;
    ``max_user_namespaces``, ``max_ipc_namespaces``, ``max_mnt_namespaces`` and
    ``max_pid_namespaces`` are this namespace's limits for such counts, its /proc/sys/user
    files (the Kernel's values in the initial namespace, INT_MAX in the others)."""

    __slots__ = ("kernel", "inum", "parent", "level", "owner", "group", "uid_map", "gid_map",
                 "setgroups_allowed", "parent_could_setfcap", "ucounts", "max_user_namespaces",
                 "ipc_ucounts", "max_ipc_namespaces", "mnt_ucounts", "max_mnt_namespaces",
                 "pid_ucounts", "max_pid_namespaces", "refs", "alive", "__weakref__")
    parent: UserNamespace | None

    def __init__(self, kernel: Kernel, inum: int, parent: UserNamespace | None,
                 owner: int = 0, group: int = 0):
        self.kernel = kernel
        self.inum = inum
        self.parent = parent
        self.level: int = 0 if parent is None else parent.level + 1
        self.owner = owner
        self.group = group
        self.uid_map: IdMap = IDENTITY_MAP if parent is None else ()
        self.gid_map: IdMap = IDENTITY_MAP if parent is None else ()
        # USERNS_SETGROUPS_ALLOWED: inherited from the parent at creation
        self.setgroups_allowed: bool = True if parent is None else parent.setgroups_allowed
        self.parent_could_setfcap = True
        self.ucounts: dict[int, int] = {}
        self.max_user_namespaces = INT_MAX
        self.ipc_ucounts: dict[int, int] = {}
        self.max_ipc_namespaces = INT_MAX
        self.mnt_ucounts: dict[int, int] = {}
        self.max_mnt_namespaces = INT_MAX
        self.pid_ucounts: dict[int, int] = {}
        self.max_pid_namespaces = INT_MAX
        self.refs = 0
        self.alive = True

    @property
    def is_initial(self) -> bool:
        return self.parent is None

    @property
    def root(self) -> UserNamespace:
        """The initial user namespace, at the top of this one's chain."""
        ns = self
        while ns.parent is not None:
            ns = ns.parent
        return ns

    def get(self) -> UserNamespace:
        self.refs += 1
        return self

    def put(self) -> None:
        """Drop a reference; the last one frees the namespace (free_user_ns), which then
        drops its charge and its reference to its parent."""
        self.refs -= 1
        if self.refs == 0 and self.parent is not None and self.alive:
            self.alive = False
            self.kernel._user_ns_freed(self)
            parent = self.parent
            dec_ucount(parent, self.owner, UCOUNT_USER)
            parent.put()

    def __repr__(self) -> str:
        return f"<UserNamespace user:[{self.inum}] level={self.level} owner={self.owner}>"


# --- id maps --------------------------------------------------------------------------
def map_id_down(idmap: IdMap, id_: int, count: int = 1) -> int | None:
    """map_id_range_down(): the kernel id of ``id_`` (inside), when the whole range
    ``id_ .. id_+count-1`` lies in one extent; else None."""
    last = id_ + count - 1
    for first, lower, n in idmap:
        if first <= id_ and last <= first + n - 1:
            return id_ - first + lower
    return None


def map_id_up(idmap: IdMap, kid: int) -> int | None:
    """The id inside a namespace of kernel id ``kid``, or None when it has no mapping."""
    for first, lower, n in idmap:
        if lower <= kid <= lower + n - 1:
            return kid - lower + first
    return None


def from_kuid_munged(ns: UserNamespace, kid: int) -> int:
    """What a process in ``ns`` sees for kernel uid ``kid``: 65534 when unmapped."""
    inside = map_id_up(ns.uid_map, kid)
    return OVERFLOW_ID if inside is None else inside


def from_kgid_munged(ns: UserNamespace, kid: int) -> int:
    inside = map_id_up(ns.gid_map, kid)
    return OVERFLOW_ID if inside is None else inside


def make_kuid(ns: UserNamespace, uid: int) -> int | None:
    return map_id_down(ns.uid_map, uid)


def make_kgid(ns: UserNamespace, gid: int) -> int | None:
    return map_id_down(ns.gid_map, gid)


def map_text(idmap: IdMap, reader: UserNamespace, target: UserNamespace, gid: bool) -> bytes:
    """The text of /proc/PID/uid_map (gid_map): ``%10u %10u %10u`` per extent, the lower
    ids shown in the reader's namespace, or in the parent when the reader reads its own
    namespace's map; an id the reader cannot see is 4294967295 (uid_m_show)."""
    lower_ns = reader
    if lower_ns is target and lower_ns.parent is not None:
        lower_ns = lower_ns.parent
    rows = []
    for first, lower, count in idmap:
        seen = map_id_up(lower_ns.gid_map if gid else lower_ns.uid_map, lower)
        rows.append(f"{first:10d} {_U32 if seen is None else seen:10d} {count:10d}\n")
    return "".join(rows).encode()


# --- creation -------------------------------------------------------------------------
# The kinds of namespace counted per user namespace and uid (enum ucount_type), each
# with its counter and its limit's attribute.
UCOUNT_USER = "user"
UCOUNT_IPC = "ipc"
UCOUNT_MNT = "mnt"
UCOUNT_PID = "pid"
_UCOUNT_ATTRS = {kind: (f"{kind}_ucounts" if kind != UCOUNT_USER else "ucounts",
                        f"max_{kind}_namespaces")
                 for kind in (UCOUNT_USER, UCOUNT_IPC, UCOUNT_MNT, UCOUNT_PID)}


def _counts(ns: UserNamespace, kind: str) -> tuple[dict[int, int], int]:
    counts, limit = _UCOUNT_ATTRS[kind]
    return getattr(ns, counts), getattr(ns, limit)


def inc_ucount(user_ns: UserNamespace, uid: int, kind: str) -> None:
    """inc_ucount(user_ns, uid, UCOUNT_*_NAMESPACES): charge ``uid`` in ``user_ns``, then
    the owner of each namespace in its parent, up to the initial one. ENOSPC when any of
    them is at its limit, with nothing charged."""
    charged: list[tuple[UserNamespace, int]] = []
    ns: UserNamespace | None = user_ns
    while ns is not None:
        counts, limit = _counts(ns, kind)
        count = counts.get(uid, 0)
        if count >= limit:
            for done, who in charged:
                _dec(done, who, kind)
            raise oserror(errno.ENOSPC)
        counts[uid] = count + 1
        charged.append((ns, uid))
        uid = ns.owner
        ns = ns.parent


def _dec(ns: UserNamespace, uid: int, kind: str) -> None:
    counts = _counts(ns, kind)[0]
    left = counts[uid] - 1
    if left:
        counts[uid] = left
    else:
        del counts[uid]


def dec_ucount(user_ns: UserNamespace, uid: int, kind: str) -> None:
    """dec_ucount(): undo :func:`inc_ucount`."""
    ns: UserNamespace | None = user_ns
    while ns is not None:
        _dec(ns, uid, kind)
        uid = ns.owner
        ns = ns.parent


def create_user_ns(kernel: Kernel, new: Creds, parent: UserNamespace) -> UserNamespace:
    """create_user_ns(): a namespace below ``parent`` owned by ``new``'s euid and egid, which
    ``new`` (the creator's credentials, changed in place) then belongs to with every
    capability there (set_cred_user_ns). ENOSPC below level 32 or past
    max_user_namespaces; EPERM when the creator's euid or egid has no mapping in
    ``parent``. Nothing is changed on failure."""
    owner, group = new.euid, new.egid
    if parent.level > MAX_PARENT_LEVEL:
        raise oserror(errno.ENOSPC)
    inc_ucount(parent, owner, UCOUNT_USER)
    if map_id_up(parent.uid_map, owner) is None or map_id_up(parent.gid_map, group) is None:
        dec_ucount(parent, owner, UCOUNT_USER)
        raise oserror(errno.EPERM)
    ns = UserNamespace(kernel, kernel._alloc_inum(), parent.get(), owner, group)
    ns.parent_could_setfcap = new.capable_in_own(CAP_SETFCAP)
    kernel._user_namespaces[ns.inum] = ns
    new.enter_user_ns(ns)
    return ns


# --- /proc/PID/uid_map, gid_map, setgroups ---------------------------------------------
def _is_space(ch: str) -> bool:
    return ch in " \t\n\v\f\r"


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and _is_space(text[pos]):
        pos += 1
    return pos


def _strtoul(text: str, pos: int) -> tuple[int, int]:
    """simple_strtoul(text, &end, 10) stored in a u32: (value, end)."""
    end = pos
    while end < len(text) and text[end].isdigit() and text[end].isascii():
        end += 1
    value = int(text[pos:end]) if end > pos else 0
    return value & 0xFFFFFFFFFFFFFFFF & _U32, end


def _at(text: str, pos: int) -> str:
    return text[pos] if pos < len(text) else "\0"


def parse_map(data: bytes) -> list[Extent]:
    """The extents of a map write, as map_write() parses them: EINVAL for a malformed line,
    a start of 4294967295, a count of 0 or one that wraps, overlapping extents, more than
    340 lines, or no line at all."""
    text = data.split(b"\0", 1)[0].decode("latin-1")
    extents: list[Extent] = []
    pos: int | None = 0
    while pos is not None:
        nl = text.find("\n", pos)
        if nl >= 0:
            line, pos = text[pos:nl], nl + 1
            if pos == len(text):
                pos = None
        else:
            line, pos = text[pos:], None
        values = []
        at = 0
        for i in range(3):
            at = _skip_spaces(line, at)
            value, at = _strtoul(line, at)
            ch = _at(line, at)
            if (i < 2 and not _is_space(ch)) or (i == 2 and ch != "\0" and not _is_space(ch)):
                raise oserror(errno.EINVAL)
            values.append(value)
        if _skip_spaces(line, at) != len(line):
            raise oserror(errno.EINVAL)
        first, lower, count = values
        if first == _U32 or lower == _U32:
            raise oserror(errno.EINVAL)
        if (first + count) & _U32 <= first or (lower + count) & _U32 <= lower:
            raise oserror(errno.EINVAL)
        if _overlaps(extents, first, lower, count):
            raise oserror(errno.EINVAL)
        if len(extents) + 1 == UID_GID_MAP_MAX_EXTENTS and pos is not None:
            raise oserror(errno.EINVAL)
        extents.append((first, lower, count))
    return extents


def _overlaps(extents: list[Extent], first: int, lower: int, count: int) -> bool:
    """mappings_overlap(): the new extent meets an earlier one, inside or outside."""
    last, lower_last = first + count - 1, lower + count - 1
    for pf, pl, pc in extents:
        if pf <= last and pf + pc - 1 >= first:
            return True
        if pl <= lower_last and pl + pc - 1 >= lower:
            return True
    return False


def _verify_root_map(ns: UserNamespace, opener: Creds, extents: list[Extent]) -> bool:
    """verify_root_map(): mapping the parent's uid 0 needs CAP_SETFCAP over the parent (the
    opener's, or the creator's at creation when the namespace writes its own map)."""
    if not any(lower == 0 for _, lower, _ in extents):
        return True
    assert ns.parent is not None
    if opener.user_ns_in(ns.root) is ns:
        return ns.parent_could_setfcap
    return opener.ns_capable(ns.parent, CAP_SETFCAP)


def _new_idmap_permitted(ns: UserNamespace, writer: Creds, opener: Creds, cap: int,
                         extents: list[Extent]) -> bool:
    """new_idmap_permitted(): the unprivileged map (one line, count 1, the opener owns the
    namespace and maps its own euid, or egid once setgroups is denied), or CAP_SETUID
    (CAP_SETGID) over the parent for both the writer and the opener."""
    assert ns.parent is not None
    if cap == CAP_SETUID and not _verify_root_map(ns, opener, extents):
        return False
    if len(extents) == 1 and extents[0][2] == 1 and ns.owner == opener.euid:
        lower = extents[0][1]
        if cap == CAP_SETUID:
            if make_kuid(ns.parent, lower) == opener.euid:
                return True
        elif not ns.setgroups_allowed and make_kgid(ns.parent, lower) == opener.egid:
            return True
    return writer.ns_capable(ns.parent, cap) and opener.ns_capable(ns.parent, cap)


def write_map(ns: UserNamespace, writer: Creds, opener: Creds, data: bytes, offset: int,
              gid: bool) -> int:
    """A write of /proc/PID/uid_map (``gid=False``) or gid_map of namespace ``ns``, opened
    with ``opener``'s credentials; returns the bytes taken.

    In map_write()'s order: EPERM for the initial namespace or an opener in neither ``ns``
    nor its parent; EINVAL for a write past offset 0 or of a page or more; EPERM for a map
    already written or an opener without CAP_SYS_ADMIN in ``ns``; EINVAL for text that does
    not parse; EPERM for ids the writer may not map or outside ids that have no mapping in
    the parent. The map is set only whole.
    """
    parent = ns.parent
    if parent is None:
        raise oserror(errno.EPERM)
    opener_ns = opener.user_ns_in(ns.root)
    if opener_ns is not ns and opener_ns is not parent:
        raise oserror(errno.EPERM)
    if offset != 0 or len(data) >= PAGE_SIZE:
        raise oserror(errno.EINVAL)
    if (ns.gid_map if gid else ns.uid_map):
        raise oserror(errno.EPERM)
    if not opener.ns_capable(ns, CAP_SYS_ADMIN):
        raise oserror(errno.EPERM)
    extents = parse_map(data)
    if not extents:
        raise oserror(errno.EINVAL)
    cap = CAP_SETGID if gid else CAP_SETUID
    if not _new_idmap_permitted(ns, writer, opener, cap, extents):
        raise oserror(errno.EPERM)
    parent_map = parent.gid_map if gid else parent.uid_map
    kernel_extents = []
    for first, lower, count in extents:
        klower = map_id_down(parent_map, lower, count)
        if klower is None:
            raise oserror(errno.EPERM)
        kernel_extents.append((first, klower, count))
    kernel_extents.sort()
    if gid:
        ns.gid_map = tuple(kernel_extents)
    else:
        ns.uid_map = tuple(kernel_extents)
    return len(data)


def setgroups_text(ns: UserNamespace) -> bytes:
    return b"allow\n" if ns.setgroups_allowed else b"deny\n"


def check_setgroups_open(ns: UserNamespace, creds: Creds, write: bool) -> None:
    """proc_setgroups_open(): writing needs CAP_SYS_ADMIN in the namespace (EACCES)."""
    if write and not creds.ns_capable(ns, CAP_SYS_ADMIN):
        raise oserror(errno.EACCES)


def write_setgroups(ns: UserNamespace, data: bytes, offset: int) -> int:
    """proc_setgroups_write(): "allow" or "deny", then only spaces (EINVAL otherwise, or at
    a non-zero offset, or for 8 bytes or more). "allow" once denied is EPERM, and so is
    "deny" once the gid_map is written."""
    if offset != 0 or len(data) >= 8:
        raise oserror(errno.EINVAL)
    text = data.split(b"\0", 1)[0].decode("latin-1")
    if text.startswith("allow"):
        allowed, rest = True, text[5:]
    elif text.startswith("deny"):
        allowed, rest = False, text[4:]
    else:
        raise oserror(errno.EINVAL)
    if _skip_spaces(rest, 0) != len(rest):
        raise oserror(errno.EINVAL)
    if allowed:
        if not ns.setgroups_allowed:
            raise oserror(errno.EPERM)
    else:
        if ns.gid_map:
            raise oserror(errno.EPERM)
        ns.setgroups_allowed = False
    return len(data)


def may_setgroups(ns: UserNamespace) -> bool:
    """userns_may_setgroups(): a gid_map is written and setgroups is not denied."""
    return bool(ns.gid_map) and ns.setgroups_allowed


# --- open files ------------------------------------------------------------------------
class IdMapFile(OpenFile):
    """An open /proc/PID/uid_map or gid_map: the namespace of the process at open(), and
    the opener's credentials (the file's f_cred, which the write's checks use)."""

    __slots__ = ("ns", "opener", "gid")

    def __init__(self, flags: int, ns: UserNamespace, opener: Creds, gid: bool):
        super().__init__(flags)
        self.ns: UserNamespace = ns.get()
        self.opener = opener
        self.gid = gid

    def _content(self) -> bytes:
        ns = self.ns
        reader = self.opener.user_ns_in(ns.root)
        return map_text(ns.gid_map if self.gid else ns.uid_map, reader, ns, self.gid)

    def read(self, proc: Process, size: int) -> bytes:
        data = self._content()[self.pos:self.pos + size]
        self.pos += len(data)
        return data

    def write(self, proc: Process, data: bytes) -> int:
        done = write_map(self.ns, proc.creds, self.opener, data, self.pos, self.gid)
        self.pos = done
        return done

    def release(self) -> None:
        ns, self.ns = self.ns, None  # type: ignore[assignment]  # (released: never used again)
        ns.put()


class SetgroupsFile(OpenFile):
    """An open /proc/PID/setgroups."""

    __slots__ = ("ns",)

    def __init__(self, flags: int, ns: UserNamespace):
        super().__init__(flags)
        self.ns: UserNamespace = ns.get()

    def _content(self) -> bytes:
        return setgroups_text(self.ns)

    def read(self, proc: Process, size: int) -> bytes:
        data = self._content()[self.pos:self.pos + size]
        self.pos += len(data)
        return data

    def write(self, proc: Process, data: bytes) -> int:
        done = write_setgroups(self.ns, data, self.pos)
        self.pos = done
        return done

    def release(self) -> None:
        ns, self.ns = self.ns, None  # type: ignore[assignment]
        ns.put()


class UserNsFile(OpenFile):
    """An open /proc/PID/ns/user: holds the user namespace."""

    __slots__ = ("ns",)

    def __init__(self, flags: int, ns: UserNamespace):
        super().__init__(flags)
        self.ns: UserNamespace = ns.get()

    def lseek(self, offset: int, whence: int) -> int:
        raise oserror(errno.ESPIPE)

    def release(self) -> None:
        ns, self.ns = self.ns, None  # type: ignore[assignment]
        ns.put()


# --- ioctls of namespace descriptors (fs/nsfs.c) -----------------------------------------------
def _related(owner: UserNamespace | None, mine: UserNamespace) -> UserNamespace:
    """ns_get_owner(): ``owner`` when it is the caller's user namespace or lies below it;
    EPERM otherwise (or when there is none)."""
    ns = owner
    while ns is not None:
        if ns is mine:
            assert owner is not None
            return owner
        ns = ns.parent
    raise oserror(errno.EPERM)


def ns_ioctl(proc: Process, file: OpenFile, request: int) -> int:
    """ns_ioctl(): NS_GET_USERNS (a new descriptor of the user namespace that owns the
    namespace; for a user namespace, its parent), NS_GET_PARENT (user namespaces only: the
    parent; for a PID namespace, its parent when that is the caller's PID namespace or
    below it, EPERM otherwise and for the initial one; EINVAL for an IPC or mount
    namespace), both EPERM unless the result is the caller's
    user namespace or below it; NS_GET_NSTYPE; NS_GET_OWNER_UID (user namespaces only,
    EINVAL otherwise: the creator's euid as the caller sees it). ENOTTY for any other file
    or request."""
    kernel = proc.kernel
    mine = kernel.user_ns_of(proc.creds)
    owner: UserNamespace | None
    parent: UserNamespace | None = None
    if isinstance(file, UserNsFile):
        nstype, owner, parent = CLONE_NEWUSER, file.ns.parent, file.ns.parent
    elif isinstance(file, NsFile):
        nstype, owner = file.ns.nstype, file.ns.user_ns
    elif isinstance(file, OtherNsFile):
        nstype, owner = file.nstype, kernel.init_user_ns
    else:
        raise oserror(errno.ENOTTY)
    if request == NS_GET_NSTYPE:
        return nstype
    if request == NS_GET_OWNER_UID:
        if not isinstance(file, UserNsFile):
            raise oserror(errno.EINVAL)
        return from_kuid_munged(mine, file.ns.owner)
    if request == NS_GET_USERNS:
        return proc._install(UserNsFile(O_RDONLY, _related(owner, mine)))
    if request == NS_GET_PARENT:
        if nstype == CLONE_NEWUSER:
            return proc._install(UserNsFile(O_RDONLY, _related(parent, mine)))
        if isinstance(file, NsFile) and file.ns.nstype == CLONE_NEWPID:
            from .pidns import PidNamespace, get_parent    # (pidns imports this module)
            assert isinstance(file.ns, PidNamespace)
            return proc._install(NsFile(O_RDONLY, get_parent(proc, file.ns)))
        raise oserror(errno.EINVAL)         # a kind without parents (IPC, mount)
    raise oserror(errno.ENOTTY)
