"""Credentials: user and group ids, supplementary groups and capability sets.

The rules are those of kernel/sys.c (setuid, setresuid, ...) and security/commoncap.c
(cap_emulate_setxuid): a process whose uids all leave 0 loses its permitted and effective
capabilities; an effective uid leaving 0 clears the effective set; returning to euid 0
restores the effective set from the permitted one.

Ids are kernel ids. Credentials belong to a user namespace (``user_ns``; None is the
initial one): their capability sets hold there and in the namespaces below it
(:meth:`Creds.ns_capable`), and the ids a process names in set*id calls are ids of that
namespace, mapped to kernel ids (EINVAL for an id with no mapping).
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Iterable

from ..constants import CAP_FULL_SET, CAP_LAST_CAP, CAP_SETGID, CAP_SETUID
from ..errors import oserror
from .userns import map_id_down, map_id_up, may_setgroups

if TYPE_CHECKING:
    from .userns import UserNamespace

ROOT = 0
_ID_MAX = 0xFFFFFFFF  # (uid_t)-1 means "leave unchanged" in setres*id


class Creds:
    """The credentials of a process (``struct cred``). They are not changed in place: a
    change makes new ones (``copy()``, then the process commits them), so processes may
    share one object, as a child shares its parent's after fork."""

    __slots__ = ("uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid", "groups",
                 "cap_effective", "cap_permitted", "cap_inheritable", "cap_bset", "_user_ns")

    def __init__(self, uid: int = 0, gid: int = 0, caps: int = CAP_FULL_SET,
                 groups: tuple[int, ...] = ()):
        self.uid = self.euid = self.suid = self.fsuid = uid
        self.gid = self.egid = self.sgid = self.fsgid = gid
        self.groups = tuple(groups)
        self.cap_effective = caps
        self.cap_permitted = caps
        self.cap_inheritable = 0
        self.cap_bset = CAP_FULL_SET
        self._user_ns: UserNamespace | None = None

    def copy(self) -> "Creds":
        new = Creds.__new__(Creds)
        for name in Creds.__slots__[:-1]:
            setattr(new, name, getattr(self, name))
        new._user_ns = self.user_ns
        return new

    @property
    def user_ns(self) -> UserNamespace | None:
        """The user namespace these credentials belong to; None for the initial one."""
        try:
            return self._user_ns
        except AttributeError:      # (credentials filled in field by field: the initial one)
            return None

    def user_ns_in(self, root: UserNamespace) -> UserNamespace:
        """The user namespace, ``root`` (a kernel's initial one) standing for None."""
        ns = self.user_ns
        return root if ns is None else ns

    def enter_user_ns(self, ns: UserNamespace) -> None:
        """set_cred_user_ns(): these (new, uncommitted) credentials move to ``ns`` with
        every capability there and none inheritable."""
        self._user_ns = ns
        self.cap_inheritable = 0
        self.cap_permitted = self.cap_effective = self.cap_bset = CAP_FULL_SET

    def capable(self, cap: int) -> bool:
        """capable(): ``cap`` over the initial user namespace, which only credentials
        there (with ``cap`` in the effective set) have."""
        ns = self.user_ns
        if ns is not None and ns.parent is not None:
            return False
        return (self.cap_effective >> cap) & 1 == 1

    def capable_in_own(self, cap: int) -> bool:
        """``cap`` in the credentials' own user namespace: the effective set."""
        return (self.cap_effective >> cap) & 1 == 1

    def capable_wrt_inode_uidgid(self, uid: int, gid: int, cap: int) -> bool:
        """capable_wrt_inode_uidgid(): ``cap`` in the credentials' own user namespace, for
        a file whose owner and group that namespace maps (the DAC overrides, CAP_FOWNER,
        CAP_FSETID, CAP_CHOWN)."""
        if not (self.cap_effective >> cap) & 1:
            return False
        ns = self.user_ns
        if ns is None:
            return True
        return map_id_up(ns.uid_map, uid) is not None and map_id_up(ns.gid_map, gid) is not None

    def capable_over(self, other: Creds, cap: int) -> bool:
        """``cap`` over the user namespace of ``other`` (kill_ok_by_cred, ptrace_has_cap)."""
        ns = other.user_ns
        if ns is None:
            return self.capable(cap)
        return self.ns_capable(ns, cap)

    def ns_capable(self, ns: UserNamespace, cap: int) -> bool:
        """ns_capable() (cap_capable()): ``cap`` over user namespace ``ns``. True when the
        credentials belong to ``ns`` or an ancestor of it and have ``cap`` in the effective
        set, or when their euid owns a namespace between theirs and ``ns`` (whose creator
        has every capability in it and below)."""
        mine = self.user_ns_in(ns.root)
        target: UserNamespace | None = ns
        while target is not None:
            if target is mine:
                return (self.cap_effective >> cap) & 1 == 1
            if target.level <= mine.level:
                return False
            if target.parent is mine and target.owner == self.euid:
                return True
            target = target.parent
        return False

    def in_group_p(self, gid: int) -> bool:
        """True when ``gid`` is the fsgid or a supplementary group (kernel/groups.c)."""
        return gid == self.fsgid or gid in self.groups

    def in_egroup_p(self, gid: int) -> bool:
        """True when ``gid`` is the egid or a supplementary group."""
        return gid == self.egid or gid in self.groups

    def __repr__(self) -> str:
        return (f"Creds(uid={self.uid}, euid={self.euid}, suid={self.suid}, gid={self.gid}, "
                f"egid={self.egid}, groups={list(self.groups)}, "
                f"cap_effective={self.cap_effective:#x})")


def check_id(value: object, what: str) -> int:
    """Validate a uid/gid argument: an int in [0, 2**32-1]; -1 means 'unchanged'."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value == -1:
        return _ID_MAX
    if not 0 <= value <= _ID_MAX:
        raise oserror(errno.EINVAL)
    return value


def _kid(creds: Creds, value: int, gid: bool) -> int:
    """make_kuid()/make_kgid() in the credentials' user namespace: EINVAL when ``value``
    (not -1) has no mapping there."""
    ns = creds.user_ns
    if ns is None or value == _ID_MAX:
        return value
    kid = map_id_down(ns.gid_map if gid else ns.uid_map, value)
    if kid is None:
        raise oserror(errno.EINVAL)
    return kid


def _root_kuid(creds: Creds) -> int | None:
    """The kernel uid of uid 0 in the credentials' user namespace (None: unmapped)."""
    ns = creds.user_ns
    if ns is None:
        return ROOT
    return map_id_down(ns.uid_map, 0)


def _emulate_setxuid(new: Creds, old: Creds) -> None:
    """cap_emulate_setxuid(): what a change of uids does to the capability sets (root is
    uid 0 of the user namespace)."""
    root = _root_kuid(old)
    was_root = root in (old.uid, old.euid, old.suid)
    is_root = root in (new.uid, new.euid, new.suid)
    if was_root and not is_root:
        new.cap_permitted = 0
        new.cap_effective = 0
    if old.euid == root and new.euid != root:
        new.cap_effective = 0
    if old.euid != root and new.euid == root:
        new.cap_effective = new.cap_permitted


def setuid(old: Creds, uid: int) -> Creds:
    """setuid(2): with CAP_SETUID all of ruid, euid, suid; else euid to ruid or suid."""
    uid = check_id(uid, "uid")
    if uid == _ID_MAX:
        raise oserror(errno.EINVAL)
    uid = _kid(old, uid, False)
    new = old.copy()
    if old.capable_in_own(CAP_SETUID):
        new.uid = new.suid = uid
    elif uid != old.uid and uid != old.suid:
        raise oserror(errno.EPERM)
    new.euid = new.fsuid = uid
    _emulate_setxuid(new, old)
    return new


def _setres(old: Creds, values: tuple[int, int, int], fields: tuple[str, str, str], cap: int,
            what: str) -> Creds:
    """setres[ug]id(): unprivileged callers may only pick among their current three ids."""
    checked = tuple(_kid(old, check_id(v, what), what == "gid") for v in values)
    allowed = tuple(getattr(old, f) for f in fields)
    if not old.capable_in_own(cap):
        for v in checked:
            if v != _ID_MAX and v not in allowed:
                raise oserror(errno.EPERM)
    new = old.copy()
    for field, v in zip(fields, checked):
        if v != _ID_MAX:
            setattr(new, field, v)
    return new


def setresuid(old: Creds, ruid: int, euid: int, suid: int) -> Creds:
    """setresuid(2); the fsuid follows the effective uid."""
    new = _setres(old, (ruid, euid, suid), ("uid", "euid", "suid"), CAP_SETUID, "uid")
    new.fsuid = new.euid
    _emulate_setxuid(new, old)
    return new


def setreuid(old: Creds, ruid: int, euid: int) -> Creds:
    """setreuid(2), including its rule for when the saved uid follows the effective one."""
    ruid = _kid(old, check_id(ruid, "uid"), False)
    euid = _kid(old, check_id(euid, "uid"), False)
    privileged = old.capable_in_own(CAP_SETUID)
    new = old.copy()
    if ruid != _ID_MAX:
        if not privileged and ruid not in (old.uid, old.euid):
            raise oserror(errno.EPERM)
        new.uid = ruid
    if euid != _ID_MAX:
        if not privileged and euid not in (old.uid, old.euid, old.suid):
            raise oserror(errno.EPERM)
        new.euid = euid
    if ruid != _ID_MAX or (euid != _ID_MAX and euid != old.uid):
        new.suid = new.euid
    new.fsuid = new.euid
    _emulate_setxuid(new, old)
    return new


def setgid(old: Creds, gid: int) -> Creds:
    """setgid(2): with CAP_SETGID all of rgid, egid, sgid; else egid to rgid or sgid."""
    gid = check_id(gid, "gid")
    if gid == _ID_MAX:
        raise oserror(errno.EINVAL)
    gid = _kid(old, gid, True)
    new = old.copy()
    if old.capable_in_own(CAP_SETGID):
        new.gid = new.sgid = gid
    elif gid != old.gid and gid != old.sgid:
        raise oserror(errno.EPERM)
    new.egid = new.fsgid = gid
    return new


def setresgid(old: Creds, rgid: int, egid: int, sgid: int) -> Creds:
    """setresgid(2); the fsgid follows the effective gid."""
    new = _setres(old, (rgid, egid, sgid), ("gid", "egid", "sgid"), CAP_SETGID, "gid")
    new.fsgid = new.egid
    return new


def setgroups(old: Creds, groups: Iterable[int]) -> Creds:
    """setgroups(2): needs CAP_SETGID; at most NGROUPS_MAX (65536) groups. In a user
    namespace other than the initial one, also a written gid_map and setgroups not denied
    (EPERM), and a mapping for each group (EINVAL)."""
    gids = tuple(check_id(g, "gid") for g in groups)
    if len(gids) > 65536:
        raise oserror(errno.EINVAL)
    ns = old.user_ns
    if not old.capable_in_own(CAP_SETGID):
        raise oserror(errno.EPERM)
    if ns is not None:
        if not may_setgroups(ns):
            raise oserror(errno.EPERM)
        gids = tuple(_kid(old, g, True) for g in gids)
    new = old.copy()
    new.groups = tuple(sorted(set(gids)))
    return new


def cred_cap_issubset(old: Creds, new: Creds) -> bool:
    """cred_cap_issubset(): ``new``'s capabilities grant nothing ``old``'s did not: the same
    user namespace and a permitted subset, or a namespace below ``old``'s that ``old``'s
    euid owns (or an ancestor of it below ``old``'s namespace)."""
    old_ns, ns = old.user_ns, new.user_ns
    if old_ns is ns:
        return new.cap_permitted & ~old.cap_permitted == 0
    while ns is not None and ns.parent is not None:
        if (ns.parent is old_ns or (old_ns is None and ns.parent.parent is None)) \
                and ns.owner == old.euid:
            return True
        ns = ns.parent
    return False


def check_cap(cap: object) -> int:
    """Validate a capability number."""
    if not isinstance(cap, int) or isinstance(cap, bool):
        raise TypeError(f"capability must be an int CAP_* constant, not {type(cap).__name__}")
    if not 0 <= cap <= CAP_LAST_CAP:
        raise oserror(errno.EINVAL)
    return cap


def capset(old: Creds, effective: int, permitted: int, inheritable: int) -> Creds:
    """capset(2): permitted may only shrink; effective must lie within the new permitted."""
    for v in (effective, permitted, inheritable):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise TypeError("capability sets are non-negative int bit masks")
    if effective & ~CAP_FULL_SET or permitted & ~CAP_FULL_SET or inheritable & ~CAP_FULL_SET:
        raise oserror(errno.EINVAL)
    if permitted & ~old.cap_permitted:
        raise oserror(errno.EPERM)
    if inheritable & ~(old.cap_inheritable | old.cap_permitted):
        raise oserror(errno.EPERM)
    if effective & ~permitted:
        raise oserror(errno.EPERM)
    new = old.copy()
    new.cap_effective, new.cap_permitted, new.cap_inheritable = effective, permitted, inheritable
    return new
