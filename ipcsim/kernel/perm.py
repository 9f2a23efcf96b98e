"""``kern_ipc_perm`` and the permission rules of ipc/util.c.

Every System V object (message queue, semaphore set, shared memory segment) *is* a
:class:`KernIpcPerm`: the kinds subclass it, as Linux embeds it first in msg_queue,
sem_array and shmid_kernel. :func:`ipcperms` is Linux's access check; :func:`ipcctl_owner`
the IPC_SET/IPC_RMID ownership rule.
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import attrs

from ..constants import CAP_IPC_OWNER, CAP_SYS_ADMIN
from ..errors import oserror
from .userns import from_kgid_munged, from_kuid_munged
from .viewable import Viewable

if TYPE_CHECKING:
    from .creds import Creds
    from .namespace import IpcNamespace


class KernIpcPerm(Viewable):
    """The kernel's view of an IPC object's identity and permissions."""

    __slots__ = ("id", "key", "uid", "gid", "cuid", "cgid", "mode", "seq", "deleted", "ns")

    def __init__(self, ns: IpcNamespace, key: int, mode: int, creds: Creds):
        self.ns = ns
        self.key = key
        self.mode = mode
        self.uid = self.cuid = creds.euid
        self.gid = self.cgid = creds.egid
        self.id = -1
        self.seq = 0
        self.deleted = False

    def ids_seen_by(self, creds: Creds) -> tuple[int, int, int, int]:
        """uid, gid, cuid and cgid as the user namespace of ``creds`` maps them (65534 for
        an id it does not map), as *_STAT and /proc/sysvipc show them."""
        ns = creds.user_ns
        if ns is None:
            return self.uid, self.gid, self.cuid, self.cgid
        return (from_kuid_munged(ns, self.uid), from_kgid_munged(ns, self.gid),
                from_kuid_munged(ns, self.cuid), from_kgid_munged(ns, self.cgid))

    def to_ipc_perm(self, creds: Creds | None = None) -> "IpcPerm":
        """The ``ipc64_perm`` a *_STAT call copies out, with ids as ``creds`` sees them
        (kernel ids without)."""
        if creds is None:
            uid, gid, cuid, cgid = self.uid, self.gid, self.cuid, self.cgid
        else:
            uid, gid, cuid, cgid = self.ids_seen_by(creds)
        return IpcPerm(key=self.key, uid=uid, gid=gid, cuid=cuid, cgid=cgid, mode=self.mode,
                       seq=self.seq)

    def _ns_exit(self) -> None:
        """Free the object because its namespace is being destroyed (each kind overrides)."""


@attrs.define(slots=True)
class IpcPerm:
    """``struct ipc64_perm`` as IPC_STAT returns it and IPC_SET takes it."""

    key: int = 0
    uid: int = 0
    gid: int = 0
    cuid: int = 0
    cgid: int = 0
    mode: int = 0
    seq: int = 0


def ipcperms(perm: KernIpcPerm, creds: Creds, flag: int) -> bool:
    """ipcperms(): may ``creds`` access ``perm`` with the rwx bits requested in ``flag``?

    The requested bits of the three classes fold into one; the granted class is owner
    (euid is uid or cuid), else group (in gid or cgid), else other. CAP_IPC_OWNER in the
    user namespace that owns the object's IPC namespace overrides.
    """
    requested = ((flag >> 6) | (flag >> 3) | flag) & 7
    granted = perm.mode
    euid = creds.euid
    if euid == perm.cuid or euid == perm.uid:
        granted >>= 6
    elif creds.in_group_p(perm.cgid) or creds.in_group_p(perm.gid):
        granted >>= 3
    if requested & ~granted & 7 and not creds.ns_capable(perm.ns.user_ns, CAP_IPC_OWNER):
        return False
    return True


def check_ipcperms(perm: KernIpcPerm, creds: Creds, flag: int) -> None:
    """ipcperms() that raises EACCES."""
    if not ipcperms(perm, creds, flag):
        raise oserror(errno.EACCES)


def ipcctl_owner(perm: KernIpcPerm, creds: Creds) -> None:
    """IPC_SET/IPC_RMID: the owner, the creator or CAP_SYS_ADMIN in the user namespace that
    owns the IPC namespace, else EPERM."""
    euid = creds.euid
    if euid == perm.cuid or euid == perm.uid or creds.ns_capable(perm.ns.user_ns,
                                                                  CAP_SYS_ADMIN):
        return
    raise oserror(errno.EPERM)
