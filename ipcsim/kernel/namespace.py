"""IPC namespaces: what each one owns, who keeps it alive, and how it dies.

A namespace is alive while anything holds a reference (section 1.7 of the reference): each
member process, each open ``/proc/PID/ns/ipc`` handle and each bind mount of one, each open
``/proc/sysvipc/*`` file, each attached shared memory segment. An open POSIX queue descriptor
and a mount of the namespace's mqueue filesystem do *not* hold one. When the count reaches
zero, :meth:`IpcNamespace.destroy` frees everything, in Linux's order (free_ipc_ns).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, cast

from ..constants import CLONE_NEWIPC, INIT_IPC_NS_INUM
from .ids import IpcIds
from .sysctl import NAMESPACE_FIELDS, namespace_defaults
from .viewable import Viewable

if TYPE_CHECKING:
    from .kernel import Kernel
    from .mqueue import MqueueSb
    from .msg import MsgQueue
    from .process import Process
    from .sem import SemArray
    from .shm import ShmidKernel
    from .userns import UserNamespace

def _defaults_setter() -> Callable[[IpcNamespace], None]:
    """A function that gives a new namespace every limit's default, one assignment each
    (made from the sysctl table: a loop of setattr calls costs most of a namespace's
    creation)."""
    body = "".join(f"    ns.{field} = {default!r}\n" for field, default in namespace_defaults())
    scope: dict[str, Any] = {}
    exec(f"def set_defaults(ns):\n{body or '    pass'}\n", scope)
    return cast("Callable[[IpcNamespace], None]", scope["set_defaults"])


_set_defaults = _defaults_setter()


class IpcNamespace(Viewable):
    """One IPC namespace: three ID tables, an mqueue filesystem, its own limits."""

    kind = "ipc"
    nstype = CLONE_NEWIPC

    __slots__ = ("kernel", "inum", "refs", "alive", "msg_ids", "sem_ids", "shm_ids",
                 "used_sems", "msg_bytes", "msg_hdrs", "shm_tot", "mq_queues_count",
                 "mq_fs", "mq_owner", "ucount_uid", "user_ns", "__weakref__") + NAMESPACE_FIELDS

    # The limits (sysctl.NAMESPACE_FIELDS), set from their table's defaults.
    shm_ctlmax: int
    shm_ctlall: int
    shm_ctlmni: int
    shm_rmid_forced: int
    msg_ctlmax: int
    msg_ctlmni: int
    msg_ctlmnb: int
    sc_semmsl: int
    sc_semmns: int
    sc_semopm: int
    sc_semmni: int
    mq_queues_max: int
    mq_msg_max: int
    mq_msgsize_max: int
    mq_msg_default: int
    mq_msgsize_default: int

    def __init__(self, kernel: Kernel, inum: int, owner: tuple[int, int] = (0, 0)):
        """``owner``: the fsuid and fsgid of the process that creates the namespace, whose
        the root directory of its mqueue filesystem is (mq_init_ns)."""
        self.kernel = kernel
        self.inum = inum
        self.refs = 0
        self.alive = True
        self.msg_ids: IpcIds[MsgQueue] = IpcIds()
        self.sem_ids: IpcIds[SemArray] = IpcIds()
        self.shm_ids: IpcIds[ShmidKernel] = IpcIds()
        # usage counters, so that every limit is an O(1) check
        self.used_sems = 0
        self.msg_bytes = 0
        self.msg_hdrs = 0
        self.shm_tot = 0
        self.mq_queues_count = 0
        self.mq_fs: MqueueSb | None = None
        self.mq_owner = owner
        self.ucount_uid = 0
        self.user_ns: UserNamespace     # the owner, set by whoever makes the namespace
        _set_defaults(self)

    @property
    def is_initial(self) -> bool:
        """True for the initial namespace (inode 4026531839), which never dies."""
        return self.inum == INIT_IPC_NS_INUM

    def get(self) -> "IpcNamespace":
        """Take a reference (get_ipc_ns)."""
        self.refs += 1
        return self

    def put(self) -> None:
        """Drop a reference (put_ipc_ns); the last one destroys the namespace."""
        self.refs -= 1
        if self.refs == 0 and not self.is_initial:
            self.destroy()

    def destroy(self) -> None:
        """free_ipc_ns(): the mqueue filesystem, then semaphores, messages, shared memory.

        The one place that frees what a namespace holds. Each object frees itself as its
        IPC_RMID would (``_ns_exit``); then the namespace's inode number and its charge
        against max_ipc_namespaces are returned.
        """
        if not self.alive:
            return
        self.alive = False
        if self.mq_fs is not None:
            self.mq_fs.detach_namespace()
        ids: IpcIds[SemArray] | IpcIds[MsgQueue] | IpcIds[ShmidKernel]
        for ids in (self.sem_ids, self.msg_ids, self.shm_ids):
            if ids.in_use:
                for obj in ids:
                    obj._ns_exit()
        self.kernel._namespace_freed(self)

    def members(self) -> list[Process]:
        """The live processes in this namespace, in pid order."""
        return [p for p in self.kernel.processes() if p.ipc_ns is self]

    def __repr__(self) -> str:
        state = "" if self.alive else " dead"
        return f"<IpcNamespace ipc:[{self.inum}]{state}>"
