"""System V shared memory: the per-process bookkeeping that namespaces act on.

Each segment remembers the process that created it (the creator's ``shm_clist``); that list
drives ``shm_rmid_forced`` at exit and at unshare(CLONE_NEWIPC) (exit_shm).
"""
from __future__ import annotations


def fork_mm(parent, child) -> None:
    """fork(): the child gets the parent's attachments at the same addresses (each one a new
    attach: shm_nattch goes up)."""
    if parent.mm is not None:
        child.mm = parent.mm.fork(child)


def exit_mm(proc) -> None:
    """exit_mm(): every attachment is detached, as munmap would."""
    mm, proc.mm = proc.mm, None
    if mm is not None:
        mm.release(proc)


def exit_shm(proc) -> None:
    """exit_shm(): the caller's segments are destroyed (rmid_forced, unattached) or orphaned."""
    clist, proc.shm_clist = proc.shm_clist, []
    for seg in clist:
        seg.creator_left()


def destroy_orphaned(ns) -> None:
    """shm_destroy_orphaned(): with shm_rmid_forced set, destroy unattached orphans."""
    for seg in list(ns.shm_ids):
        seg.destroy_if_orphaned()


class ShmCalls:
    """shmget, shmat, shmdt, shmctl and the memory access methods Process gets from here."""

    __slots__ = ()
