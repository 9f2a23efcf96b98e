"""Mount namespaces: each one has its own table of mounts.

A process walks paths through its mount namespace's table (``Process.mnt_ns``). The
initial namespace holds the root file system, /proc, and what is mounted at run time.
``unshare(CLONE_NEWNS)`` and ``clone(CLONE_NEWNS)`` copy the caller's table: every mount,
with a reference to what it shows (an mqueue superblock, a bind-mounted namespace file).
Later mounts and unmounts stay in the namespace that made them. Every mount is private:
the model has no shared subtrees, so it behaves as ``unshare -m`` does with
``--propagation private``, util-linux's default. A copy made for a namespace owned by
another user namespace locks the mounts it copies (MNT_LOCKED): they cannot be unmounted
there (EINVAL), so nothing they hide can be revealed.

A mount namespace is alive while a process is in it, or an open ``/proc/PID/ns/mnt``
file or a bind mount of one holds it. When the last reference goes, every mount in it is
taken away (which drops what each held) and its charge against ``max_mnt_namespaces``
is returned.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..constants import CLONE_NEWNS
from .userns import UCOUNT_MNT, dec_ucount, inc_ucount
from .vfs import MountTable, Node

if TYPE_CHECKING:
    from .creds import Creds
    from .kernel import Kernel
    from .process import Process
    from .userns import UserNamespace

# The initial mount namespace's inode number (MNT_NS_INIT_INO in Linux 6.18).
INIT_MNT_NS_INUM = 0xEFFFFFF8


class MntNamespace:
    """One mount namespace: its mounts, its owner (a user namespace), its references."""

    kind = "mnt"
    nstype = CLONE_NEWNS

    __slots__ = ("kernel", "inum", "seq", "user_ns", "ucount_uid", "mounts", "refs", "alive",
                 "__weakref__")

    def __init__(self, kernel: Kernel, inum: int, seq: int, user_ns: UserNamespace,
                 mounts: MountTable):
        self.kernel = kernel
        self.inum = inum
        self.seq = seq              # creation order (mnt_ns->seq), for mnt_ns_loop()
        self.user_ns = user_ns
        self.ucount_uid = 0
        self.mounts = mounts
        self.refs = 0
        self.alive = True

    @property
    def is_initial(self) -> bool:
        return self.inum == INIT_MNT_NS_INUM

    def get(self) -> MntNamespace:
        self.refs += 1
        return self

    def put(self) -> None:
        """Drop a reference; the last one frees the namespace (put_mnt_ns): its mounts go
        (umount_tree), then its inode number, its charge and its owner."""
        self.refs -= 1
        if self.refs == 0 and not self.is_initial and self.alive:
            self.alive = False
            self.mounts.detach_all()
            self.kernel._mnt_ns_freed(self)
            dec_ucount(self.user_ns, self.ucount_uid, UCOUNT_MNT)
            self.user_ns.put()

    def members(self) -> list[Process]:
        """The live processes in this namespace, in pid order."""
        return [p for p in self.kernel.processes() if p.mnt_ns is self]

    def __repr__(self) -> str:
        state = "" if self.alive else " dead"
        return f"<MntNamespace mnt:[{self.inum}]{state}>"


def init_mnt_ns(kernel: Kernel, root: Node, user_ns: UserNamespace) -> MntNamespace:
    """The namespace the kernel boots with: the root file system and nothing on it yet."""
    return MntNamespace(kernel, INIT_MNT_NS_INUM, 1, user_ns.get(), MountTable(root))


def copy_mnt_ns(kernel: Kernel, old: MntNamespace, user_ns: UserNamespace,
                creds: Creds) -> MntNamespace:
    """copy_mnt_ns(): a new namespace owned by ``user_ns`` with a copy of ``old``'s mounts
    (locked when ``user_ns`` is not ``old``'s owner); ENOSPC past max_mnt_namespaces for
    the creator's euid in ``user_ns`` or any ancestor, with nothing made."""
    uid = creds.euid
    inc_ucount(user_ns, uid, UCOUNT_MNT)
    mounts = old.mounts.copy(locked=user_ns is not old.user_ns)
    ns = MntNamespace(kernel, kernel._alloc_inum(), kernel._next_mnt_seq(), user_ns.get(),
                      mounts)
    ns.ucount_uid = uid
    kernel._mnt_namespaces[ns.inum] = ns
    return ns.get()
