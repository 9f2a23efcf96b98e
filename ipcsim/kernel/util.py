"""What the three System V kinds share (ipc/util.c): finding or creating an object by key,
and the lookups with their checks that every *ctl command starts with."""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Callable, TypeVar

from ..constants import IPC_CREAT, IPC_EXCL, IPC_PRIVATE
from ..errors import oserror
from .perm import IpcPerm, KernIpcPerm, check_ipcperms, ipcctl_owner
from .syscall import int_arg
from .userns import make_kgid, make_kuid

if TYPE_CHECKING:
    from .ids import IpcIds
    from .process import ProcessState

T = TypeVar("T", bound=KernIpcPerm)


def ipcget(proc: ProcessState, ids: IpcIds[T], key: int, flg: int, new: Callable[[], int],
           more_checks: Callable[[T], None] | None = None) -> int:
    """ipcget(): IPC_PRIVATE always creates; otherwise find the key, or create it with
    IPC_CREAT (else ENOENT); an existing object gives EEXIST under IPC_CREAT|IPC_EXCL, then
    the kind's own check (EINVAL), then the permission check of flg's mode bits (EACCES)."""
    if key == IPC_PRIVATE:
        return new()
    obj = ids.find_key(key)
    if obj is None:
        if not flg & IPC_CREAT:
            raise oserror(errno.ENOENT)
        return new()
    if flg & IPC_CREAT and flg & IPC_EXCL:
        raise oserror(errno.EEXIST)
    if more_checks is not None:
        more_checks(obj)
    check_ipcperms(obj, proc.creds, flg)
    return obj.id


def key_arg(key: object) -> int:
    """A key_t: an int that fits in 32 bits (negative values are the signed view)."""
    if type(key) is int and -0x80000000 <= key <= 0x7FFFFFFF:
        return key
    key = int_arg(key, "key")
    if not -(1 << 31) <= key < (1 << 32):
        raise OverflowError("key must fit in 32 bits")
    return key - (1 << 32) if key >= (1 << 31) else key


def flags_arg(flg: object, what: str = "flags") -> int:
    if type(flg) is int and 0 <= flg <= 0xFFFFFFFF:
        return flg
    flg = int_arg(flg, what)
    if not -(1 << 31) <= flg < (1 << 32):
        raise OverflowError(f"{what} must fit in 32 bits")
    return flg & 0xFFFFFFFF


def obtain_for_ctl(proc: ProcessState, ids: IpcIds[T], ipc_id: int) -> T:
    """ipcctl_obtain_check(): the object (EINVAL if none) that the caller owns or is
    CAP_SYS_ADMIN for (EPERM): the lookup of IPC_SET and IPC_RMID."""
    obj = ids.obtain_check(ipc_id)
    ipcctl_owner(obj, proc.creds)
    return obj


def update_perm(proc: ProcessState, obj: KernIpcPerm, perm: IpcPerm) -> None:
    """ipc_update_perm(): IPC_SET's uid, gid (ids of the caller's user namespace: EINVAL for
    one it does not map) and the low nine mode bits."""
    uid, gid = int_arg(perm.uid, "uid"), int_arg(perm.gid, "gid")
    if not (0 <= uid < 0xFFFFFFFF and 0 <= gid < 0xFFFFFFFF):
        raise oserror(errno.EINVAL)
    ns = proc.creds.user_ns
    if ns is not None:
        kuid, kgid = make_kuid(ns, uid), make_kgid(ns, gid)
        if kuid is None or kgid is None:
            raise oserror(errno.EINVAL)
        uid, gid = kuid, kgid
    obj.uid, obj.gid = uid, gid
    obj.mode = (obj.mode & ~0o777) | (int_arg(perm.mode, "mode") & 0o777)


__all__ = ["ipcget", "key_arg", "flags_arg", "obtain_for_ctl", "update_perm"]
