"""System V semaphores: the per-process SEM_UNDO list (``sem_undo_list``).

A process's undo list is shared by the processes cloned with CLONE_SYSVSEM and counted;
when the last sharer leaves it (exit, unshare(CLONE_NEWIPC or CLONE_SYSVSEM), setns into
an IPC namespace), its adjustments are applied in the namespace the process is in then
(exit_sem). Entries are made by semop with SEM_UNDO.
"""
from __future__ import annotations


class UndoList:
    """``struct sem_undo_list``: the undo entries shared by a group of processes."""

    __slots__ = ("refcnt", "entries")

    def __init__(self):
        self.refcnt = 1
        self.entries: dict = {}   # semid -> undo entry, in the order they were made

    def share(self) -> "UndoList":
        """copy_semundo() with CLONE_SYSVSEM: one more sharer."""
        self.refcnt += 1
        return self


def exit_sem(proc) -> None:
    """Leave the process's undo list; the last sharer applies every adjustment in it."""
    ulp = proc.sysvsem
    if ulp is None:
        return
    proc.sysvsem = None
    ulp.refcnt -= 1
    if ulp.refcnt > 0:
        return
    ns = proc.ipc_ns
    for entry in list(ulp.entries.values()):
        entry.apply_at_exit(proc, ns)
    ulp.entries.clear()


class SemCalls:
    """semget, semop, semtimedop, semctl: the methods Process gets from this module."""

    __slots__ = ()
