"""POSIX message queues and the mqueue filesystem (ipc/mqueue.c).

Each IPC namespace has an mqueue superblock (:class:`MqueueSb`): the queues by name, and the
mode of its root directory. ``mq_open`` and ``mq_unlink`` act on the caller's current
namespace; a ``mount(..., "mqueue")`` shows the mounter's. A superblock lives while its
namespace does, or a mount of it, or a descriptor of one of its queues; when the last of
those goes, every queue still linked in it is freed (kill_litter_super). A queue
(:class:`MqueueInode`) lives while it is linked or open; its RLIMIT_MSGQUEUE charge is
returned when it is freed, and the namespace's queue count too if the namespace still exists
(mqueue_evict_inode).

Messages wait in one FIFO per priority (a lone message without a deque of its own); the
highest priority with messages is kept, and a two-level bitmap holds the others (512 words of
64 bits, MQ_PRIO_MAX in all, and a word of the words in use), so a send or a receive costs
the same however many messages and priorities are queued. Blocked senders and receivers wait FIFO (every simulated task has the same
scheduling priority). A stop signal ends a wait as Linux's -ERESTARTSYS does: the stopped
process is not waiting, and after SIGCONT its call starts again (at the back of the line,
with the same deadline), or fails with EINTR if a handler is due by then. A send that finds a receiver waiting hands its message over
(pipelined_send) and does not notify; a receive that makes room takes the first blocked
sender's message into the queue (pipelined_receive).

Names follow glibc's mq_open(3): a leading slash, which glibc strips (EINVAL without it); the
kernel then refuses another slash (EACCES), "" (ENOENT: the name "/") and more than NAME_MAX
bytes (ENAMETOOLONG). glibc's mq_unlink reports the kernel's EPERM as EACCES; unlink(2)
through a mount does not.
"""
from __future__ import annotations

import errno
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Protocol, TypeAlias, cast

import attrs

from ..constants import (CAP_FOWNER, CAP_SYS_ADMIN,
                         CAP_SYS_RESOURCE, HARD_MSGMAX, HARD_MSGSIZEMAX, MQ_PRIO_MAX, NAME_MAX,
                         O_ACCMODE, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_TRUNC, PATH_MAX,
                         RLIMIT_MSGQUEUE, SI_MESGQ, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD)
from ..errors import ProcessGone, oserror
from ..sim.clock import seconds_to_ns
from ..sim.scheduler import Task
from .files import OpenFile
from .pidns import get_pid, pid_nr_ns, put_pid
from .vfs import MAY_EXEC, S_IFDIR, S_IFREG, S_IALLUGO, S_ISVTX, Node
from .vfs import MAY_READ as MAY_READ, MAY_WRITE as MAY_WRITE, Stat as Stat
from .vfs import fsuidgid_has_mapping, generic_permission as generic_permission
from .signals import NSIG, handler_due, map_si_uid
from .userns import from_kuid_munged
from .viewable import Viewable
from .syscall import CallsBase, as_bytes, int_arg, syscall
from .waitq import NO_WAITERS, STOPPED, TIMEOUT, StopEndsWaiter, WaitQueue, Waiter, What

if TYPE_CHECKING:
    from .creds import Creds
    from .kernel import Kernel
    from .namespace import IpcNamespace
    from .process import Process, ProcessState
    from .sem import Timeout
    from .syscall import Data
    from .userns import UserNamespace

NS = 1_000_000_000
DIRENT_SIZE = 20
FILENT_SIZE = 80
FMODE_READ, FMODE_WRITE = 1, 2
SIZEOF_MSG_MSG = 48                 # struct msg_msg
SIZEOF_TREE_NODE = 48               # struct posix_msg_tree_node
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1
O_PATH = 0o10000000

# The messages of one priority, oldest first: a lone one as a 1-tuple (no deque to make).
Fifo: TypeAlias = "tuple[bytes] | deque[bytes]"


@attrs.define(slots=True)
class MqAttr:
    """``struct mq_attr``: what mq_getattr returns; mq_open reads mq_maxmsg and
    mq_msgsize, mq_setattr only mq_flags (O_NONBLOCK)."""

    mq_flags: int = 0
    mq_maxmsg: int = 0
    mq_msgsize: int = 0
    mq_curmsgs: int = 0


@attrs.define(slots=True)
class SigEvent:
    """``struct sigevent`` for mq_notify: SIGEV_NONE; SIGEV_SIGNAL (``sigev_signo`` is sent
    to the registered process, ``sigev_value`` goes in its siginfo); SIGEV_THREAD
    (``sigev_notify_function(sigev_value)`` runs as a new thread of the registered process,
    as glibc's helper thread would run it)."""

    sigev_notify: int = SIGEV_SIGNAL
    sigev_signo: int = 0
    sigev_value: int = 0
    sigev_notify_function: Callable[[int], object] | None = None


@attrs.frozen
class SigInfo:
    """What a handler can read as ``process.last_siginfo``: the ``siginfo_t`` of the signal
    being handled (si_code SI_USER for kill, SI_MESGQ for an mq notification). ``si_pid``
    is the sender as the receiver's PID namespace numbers it, 0 when the sender is outside
    it (for kill, as Linux has it, the sender's own number when both see it)."""

    si_signo: int
    si_code: int
    si_pid: int
    si_uid: int
    si_value: int = 0


class ReadyHook(Protocol):
    """What follows a queue's readiness for select/poll outside the model (the real
    descriptors of :mod:`ipcsim.remote.mqops`): ``changed`` is called after every send and
    receive that changes the number of messages (it compares the number with empty and
    full itself), ``close`` once no description of the queue is open any more."""

    def changed(self, inode: MqueueInode) -> None: ...

    def close(self) -> None: ...


# --- the filesystem ------------------------------------------------------------------------
class MqueueSb:
    """One namespace's mqueue superblock: the name table and the root directory."""

    __slots__ = ("ns", "inum", "refs", "entries", "mode", "uid", "gid", "_root")

    def __init__(self, ns: IpcNamespace):
        self.ns: IpcNamespace | None = ns     # None once the namespace died (mq_clear_sbinfo)
        self.inum = ns.inum          # whose it was (for views, after it died)
        self.refs = 1                # the namespace's internal mount
        self.entries: dict[str, MqueueInode] = {}   # oldest first; readdir shows newest first
        self.mode = S_IFDIR | S_ISVTX | 0o777
        # mq_init_ns() fills the superblock as the namespace is made: the root belongs to
        # the fsuid/fsgid of the process that made the namespace
        self.uid, self.gid = ns.mq_owner
        self._root: MqueueDir | None = None

    @property
    def root(self) -> MqueueDir:
        """The root directory: the same one for every mount (made at the first)."""
        root = self._root
        if root is None:
            root = self._root = MqueueDir(self)
        return root

    def get(self) -> "MqueueSb":
        self.refs += 1
        return self

    def put(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            # kill_litter_super(): every queue still linked goes
            entries, self.entries = self.entries, {}
            for inode in entries.values():
                inode.linked = False
                if not inode.opens:
                    inode.evict()

    def detach_namespace(self) -> None:
        """free_ipc_ns(): the superblock forgets the namespace; the internal mount goes."""
        self.ns = None
        self.put()

    @property
    def size(self) -> int:
        return 2 * DIRENT_SIZE + DIRENT_SIZE * len(self.entries)

    def names(self) -> list[str]:
        return list(reversed(self.entries))

    def lookup(self, name: str) -> "MqueueInode | None":
        return self.entries.get(name)

    def create(self, proc: ProcessState, name: str, mode: int,
               attr: tuple[int, int] | None) -> MqueueInode:
        """vfs_mkobj()/vfs_create() then mqueue_create_attr() (``attr``: mq_maxmsg and
        mq_msgsize, None for the defaults): EOVERFLOW when the
        namespace's owner does not map the caller's fsuid or fsgid (may_create), EACCES
        (directory permission, or a dead namespace), ENOSPC, then mqueue_get_inode's
        errnos."""
        creds = proc.creds
        if self.ns is not None and not fsuidgid_has_mapping(self.ns.user_ns, creds):
            raise oserror(errno.EOVERFLOW)
        if self.mode & 0o333 != 0o333 and not generic_permission(   # (wx for all: anyone)
                creds, self.mode, self.uid, self.gid, MAY_WRITE | MAY_EXEC):
            raise oserror(errno.EACCES)
        ns = self.ns
        if ns is None:
            raise oserror(errno.EACCES)
        if ns.mq_queues_count >= ns.mq_queues_max & 0xFFFFFFFF \
                and not creds.capable(CAP_SYS_RESOURCE):
            raise oserror(errno.ENOSPC)
        inode = mqueue_get_inode(proc, ns, mode, attr)
        ns.mq_queues_count += 1
        inode.sb = self
        inode.name = name
        inode.linked = True
        self.entries[name] = inode
        return inode

    def unlink(self, proc: ProcessState, name: str) -> None:
        """vfs_unlink() through may_delete(): EACCES without write and search permission on
        the directory, EPERM for the sticky bit; then mqueue_unlink()."""
        inode = self.entries.get(name)
        if inode is None:
            raise oserror(errno.ENOENT)
        creds = proc.creds
        if not generic_permission(creds, self.mode, self.uid, self.gid, MAY_WRITE | MAY_EXEC):
            raise oserror(errno.EACCES)
        if self.mode & S_ISVTX and creds.fsuid != inode.uid and creds.fsuid != self.uid \
                and not creds.capable_wrt_inode_uidgid(inode.uid, inode.gid, CAP_FOWNER):
            raise oserror(errno.EPERM)
        del self.entries[name]
        inode.linked = False
        if not inode.opens:
            inode.evict()


def mqueue_get_inode(proc: ProcessState, ns: IpcNamespace, mode: int,
                     attr: tuple[int, int] | None) -> MqueueInode:
    """The attribute checks and the RLIMIT_MSGQUEUE charge of a new queue (``attr``:
    mq_maxmsg and mq_msgsize, or None for the namespace's defaults)."""
    if attr is None:
        maxmsg = min(ns.mq_msg_max, ns.mq_msg_default)
        msgsize = min(ns.mq_msgsize_max, ns.mq_msgsize_default)
    else:
        maxmsg, msgsize = attr
    creds = proc.creds
    if maxmsg <= 0 or msgsize <= 0:
        raise oserror(errno.EINVAL)
    if not (maxmsg <= ns.mq_msg_max and msgsize <= ns.mq_msgsize_max
            and maxmsg <= HARD_MSGMAX and msgsize <= HARD_MSGSIZEMAX):
        # which limits apply depends on CAP_SYS_RESOURCE (within both, either will do)
        if creds.capable(CAP_SYS_RESOURCE):
            if maxmsg > HARD_MSGMAX or msgsize > HARD_MSGSIZEMAX:
                raise oserror(errno.EINVAL)
        elif maxmsg > ns.mq_msg_max or msgsize > ns.mq_msgsize_max:
            raise oserror(errno.EINVAL)
    # (EOVERFLOW cannot happen within the hard limits: 65536 * 16 MiB fits an unsigned long)
    mq_bytes = mq_charge(maxmsg, msgsize)
    ucounts = proc.kernel.mq_ucounts
    uid = creds.uid
    total = ucounts.get(uid, 0) + mq_bytes
    if total > proc.rlimits[RLIMIT_MSGQUEUE][0]:
        raise oserror(errno.EMFILE)
    ucounts[uid] = total
    return MqueueInode(proc.kernel, mode, creds, maxmsg, msgsize, uid, mq_bytes)


def mq_charge(maxmsg: int, msgsize: int) -> int:
    """What a queue counts against RLIMIT_MSGQUEUE (mqueue_get_inode)."""
    return maxmsg * (msgsize + SIZEOF_MSG_MSG) \
        + (maxmsg if maxmsg < MQ_PRIO_MAX else MQ_PRIO_MAX) * SIZEOF_TREE_NODE


class MqueueInode(Viewable):
    """``struct mqueue_inode_info``: one queue."""

    __slots__ = ("kernel", "sb", "name", "linked", "opens", "mode", "uid", "gid", "size",
                 "maxmsg", "msgsize", "curmsgs", "qsize", "tree", "top", "bitmap",
                 "bitmap_summary", "spare", "receivers", "senders", "notify_owner", "notify",
                 "notify_user_ns",
                 "ucount_uid", "mq_bytes", "ready", "__weakref__")

    def __init__(self, kernel: Kernel, mode: int, creds: Creds, maxmsg: int, msgsize: int,
                 uid: int, mq_bytes: int):
        self.kernel = kernel
        self.sb: MqueueSb | None = None
        self.name = ""
        self.linked = False
        self.opens = 0
        self.mode = mode
        self.uid, self.gid = creds.fsuid, creds.fsgid
        self.size = FILENT_SIZE
        self.maxmsg, self.msgsize = maxmsg, msgsize
        self.curmsgs = 0
        self.qsize = 0
        self.tree: dict[int, Fifo] = {}      # priority -> its messages, FIFO
        self.top = -1                        # the highest priority with a message, or -1
        self.bitmap: list[int] | None = None  # the others with messages: bit prio & 63 of
        self.bitmap_summary = 0              # word prio >> 6; bit w: word w is not 0
        self.spare = -1                      # the one priority whose deque may be empty
        # e_wait_q[RECV] and e_wait_q[SEND]: the shared empty queue until the first waiter
        self.receivers: WaitQueue = NO_WAITERS
        self.senders: WaitQueue = NO_WAITERS
        self.notify_owner: Process | None = None   # the registered process (its pid held)
        self.notify: SigEvent | None = None
        # the registering process's user namespace at mq_notify (None: the initial one)
        self.notify_user_ns: UserNamespace | None = None
        self.ucount_uid = uid
        self.mq_bytes = mq_bytes
        self.ready: ReadyHook | None = None   # real descriptors watch it (while it is open)

    def __repr__(self) -> str:
        return f"<MqueueInode {self.name!r} {self.curmsgs}/{self.maxmsg} msgs>"

    # --- messages (msg_insert; msg_get is inline in mq_receive) -----------------------------
    # A priority's messages are a 1-tuple while there is one, a deque from the second on. The
    # last FIFO emptied stays as a spare deque, so that a queue used at one priority, one
    # message at a time, allocates nothing.
    def msg_insert(self, data: bytes, prio: int) -> None:
        """Queue ``data`` behind the messages of ``prio``."""
        tree = self.tree
        fifo = tree.get(prio)
        if fifo is None:
            tree[prio] = (data,)
            self.prio_filled(prio)
        elif type(fifo) is deque:
            if not fifo:
                self.prio_filled(prio)
            fifo.append(data)
        else:
            tree[prio] = deque((fifo[0], data))
        self.curmsgs += 1
        self.qsize += len(data)

    def prio_filled(self, prio: int) -> None:
        """``prio`` has got its first message: it becomes the top (the top it replaces goes
        into the bitmap), or goes into the bitmap."""
        top = self.top
        if top < 0:
            self.top = prio
            return
        if prio > top:
            self.top, prio = prio, top
        bitmap = self.bitmap
        if bitmap is None:
            bitmap = self.bitmap = [0] * (MQ_PRIO_MAX >> 6)
        w = prio >> 6
        word = bitmap[w]
        if not word:
            self.bitmap_summary |= 1 << w
        bitmap[w] = word | 1 << (prio & 63)

    def prio_emptied(self) -> None:
        """The top priority has no message left: the highest in the bitmap leaves it and
        becomes the top (-1 if there is none)."""
        summary = self.bitmap_summary
        if not summary:
            self.top = -1
            return
        bitmap: list[int] = self.bitmap  # type: ignore[assignment]  # (made with the first bit)
        w = summary.bit_length() - 1
        word = bitmap[w]
        bit = word.bit_length() - 1
        self.top = w << 6 | bit
        word ^= 1 << bit
        bitmap[w] = word
        if not word:
            self.bitmap_summary = summary ^ 1 << w

    def deque_emptied(self, prio: int) -> None:
        """The deque of the top priority ``prio`` has emptied: it becomes the spare (the
        previous spare goes, if still empty), and the next priority the top."""
        spare = self.spare
        if spare != prio:
            if spare >= 0 and not self.tree[spare]:
                del self.tree[spare]
            self.spare = prio
        self.prio_emptied()

    def lone_taken(self, prio: int) -> None:
        """The lone message of the top priority ``prio`` has been taken. If it was the last
        message of the queue, the spare deque moves to ``prio``."""
        tree = self.tree
        if self.curmsgs > 1:
            del tree[prio]
            self.prio_emptied()
            return
        spare = self.spare
        tree[prio] = tree.pop(spare) if spare >= 0 else deque()
        self.spare = prio
        self.top = -1

    # --- notification (__do_notify, remove_notification) -------------------------------
    def do_notify(self, sender: ProcessState) -> None:
        """The queue went from empty to one message with nobody waiting to receive."""
        owner = self.notify_owner
        sev = self.notify
        if owner is None or sev is None or self.curmsgs != 1:
            return
        self.notify_owner = self.notify = None
        user_ns, self.notify_user_ns = self.notify_user_ns, None
        kernel = self.kernel
        if sev.sigev_notify == SIGEV_SIGNAL:
            if sev.sigev_signo and owner.alive:
                # the sender as the owner's PID namespace numbers it (0 if it is not there),
                # its uid as the owner's user namespace at mq_notify saw it, then as
                # send_signal_locked() maps it from the sender's into the owner's
                creds = sender.creds
                uid = creds.uid if user_ns is None else from_kuid_munged(user_ns, creds.uid)
                uid = map_si_uid(creds.user_ns, uid, owner.creds.user_ns)
                info = SigInfo(sev.sigev_signo, SI_MESGQ, pid_nr_ns(sender.thread_pid, owner.pid_ns),
                               uid, sev.sigev_value)
                kernel._send_signal(owner, sev.sigev_signo, info)
        elif sev.sigev_notify == SIGEV_THREAD and owner.alive:
            start_notify_thread(kernel, owner, sev.sigev_notify_function, sev.sigev_value)
        put_pid(owner.thread_pid)
        if user_ns is not None:
            user_ns.put()

    def add_notification(self, owner: Process, sev: SigEvent) -> None:
        """mq_notify()'s registration: the queue holds the owner's pid, and its user
        namespace (notify_user_ns, which a SIGEV_SIGNAL's si_uid is first mapped into),
        until the notification is sent or removed."""
        self.notify_owner = owner
        self.notify = sev
        get_pid(owner.thread_pid)
        user_ns = owner.creds.user_ns
        if user_ns is not None:
            self.notify_user_ns = user_ns.get()

    def remove_notification(self) -> None:
        owner = self.notify_owner
        self.notify_owner = self.notify = None
        if owner is not None:
            put_pid(owner.thread_pid)
        user_ns, self.notify_user_ns = self.notify_user_ns, None
        if user_ns is not None:
            user_ns.put()

    # --- what the filesystem shows ---------------------------------------------------------
    def status(self, reader: ProcessState | None = None) -> bytes:
        """mqueue_read_file(): one line, as snprintf into an 80-byte buffer makes it; the
        NOTIFY_PID as the ``reader``'s PID namespace numbers it (0 for a process it does not
        see; the initial namespace's number without a reader)."""
        owner, sev = self.notify_owner, self.notify
        notify = sev.sigev_notify if owner is not None and sev is not None else 0
        signo = sev.sigev_signo if sev is not None and owner is not None \
            and notify == SIGEV_SIGNAL else 0
        pid = 0 if owner is None else \
            owner.pid if reader is None else pid_nr_ns(owner.thread_pid, reader.pid_ns)
        text = f"QSIZE:{self.qsize:<10} NOTIFY:{notify:<5} SIGNO:{signo:<5} NOTIFY_PID:{pid:<6}\n"
        return text.encode()[:FILENT_SIZE - 1]

    def stat(self) -> Stat:
        return Stat(S_IFREG | self.mode, 1 if self.linked else 0, self.uid, self.gid, self.size)

    # --- lifetime ------------------------------------------------------------------------
    def evict(self) -> None:
        """mqueue_evict_inode(): messages freed; the rlimit charge returned; the namespace's
        queue count too, if the namespace still exists."""
        if self.tree:                 # (a queue that never had a message has nothing to free)
            self.tree.clear()
            self.bitmap = None
            self.bitmap_summary = 0
            self.top = self.spare = -1
            self.curmsgs = self.qsize = 0
        ucounts = self.kernel.mq_ucounts
        left = ucounts[self.ucount_uid] - self.mq_bytes
        if left:
            ucounts[self.ucount_uid] = left
        else:
            del ucounts[self.ucount_uid]
        sb = self.sb
        if sb is not None and sb.ns is not None:
            sb.ns.mq_queues_count -= 1


class NotifyThread:
    """The process a SIGEV_THREAD function runs as: a thread of the registered process (it
    shares the process's pid, credentials, descriptors and namespace; once the process has
    died, its next system call ends it)."""

    __slots__ = ("owner", "done", "sigpending", "stopped", "pid", "result")

    def __init__(self, owner: Process):
        self.owner = owner
        self.done = False
        self.sigpending: list[int] = []
        self.stopped = False
        self.pid = None           # not a process of its own: nothing to reap
        self.result: object = None

    @property
    def alive(self) -> bool:
        return not self.done and self.owner.alive

    def __getattr__(self, name: str) -> Any:
        return getattr(self.owner, name)


def start_notify_thread(kernel: Kernel, owner: Process, fn: Callable[[int], object] | None,
                        value: int) -> None:
    """Run ``fn(value)`` as a new thread of ``owner`` under the scheduler."""
    thread = NotifyThread(owner)
    assert fn is not None                  # (SIGEV_THREAD has one: mq_notify checks)

    def body(_thread: NotifyThread, value: int) -> None:
        try:
            if owner.alive:
                fn(value)
        except ProcessGone:
            if owner.alive:
                raise
        finally:
            thread.done = True

    # a kernel server does not run the function: it tells the owner's client which of its
    # callbacks to run, by the function's token (ipcsim.remote.notify)
    body.token = getattr(fn, "token", None)         # type: ignore[attr-defined]
    kernel.sched.add_thread(Task(thread, body, (value,)))


def mount_mqueue(proc: ProcessState, source: str, data: str | None) -> MqueueMount:
    """The ``mqueue`` file system type: a mount shows the mounter's current IPC namespace,
    and needs CAP_SYS_ADMIN in the user namespace that owns it (mount_capable(): mqueue
    is FS_USERNS_MOUNT, its context's user namespace the IPC namespace's owner; EPERM)."""
    ns = proc.ipc_ns
    if not proc.creds.ns_capable(ns.user_ns, CAP_SYS_ADMIN):
        raise oserror(errno.EPERM)
    return MqueueMount(mq_sb(ns))


def mq_sb(ns: IpcNamespace) -> MqueueSb:
    sb = ns.mq_fs
    if sb is None:
        sb = ns.mq_fs = MqueueSb(ns)
    return sb


class MqueueMount:
    """A user mount of a namespace's mqueue filesystem; it outlives the namespace (creating
    through it then fails with EACCES). ``users`` counts files open through it. Every mount
    of one superblock shows the same root directory."""

    __slots__ = ("sb", "users")

    def __init__(self, sb: MqueueSb):
        self.sb = sb.get()
        self.users = 0

    def root_node(self) -> Node:
        return self.sb.root

    def clone(self) -> MqueueMount:
        return MqueueMount(self.sb)

    def release(self) -> None:
        sb, self.sb = self.sb, None  # type: ignore[assignment]  # (released: never used again)
        sb.put()

    def describe(self) -> str:
        return "mqueue"


class MqueueDir(Node):
    """The root directory of an mqueue superblock, as path lookup sees it: its queues are
    its entries (simple_lookup: ENAMETOOLONG past NAME_MAX); O_CREAT makes a queue with the
    default attributes; it has no subdirectories (mkdir: EPERM)."""

    __slots__ = ("sb", "mounted")
    has_create = has_unlink = True

    def __init__(self, sb: MqueueSb):
        self.sb = sb
        self.mounted = 0

    @property
    def mode(self) -> int:  # type: ignore[override]
        return self.sb.mode

    @property
    def uid(self) -> int:  # type: ignore[override]
        return self.sb.uid

    @property
    def gid(self) -> int:  # type: ignore[override]
        return self.sb.gid

    def set_attrs(self, mode: int, uid: int, gid: int) -> None:
        sb = self.sb
        sb.mode, sb.uid, sb.gid = mode, uid, gid

    def lookup(self, proc: ProcessState, name: str) -> Node | None:
        _check_name_len(name)
        inode = self.sb.lookup(name)
        return MqueueFileNode(inode) if inode is not None else None

    def readdir(self, proc: ProcessState) -> list[str]:
        return self.sb.names()

    def create(self, proc: ProcessState, name: str, mode: int) -> Node:
        return MqueueFileNode(self.sb.create(proc, name, mode, None))

    def sb_user_ns(self) -> UserNamespace | None:
        ns = self.sb.ns
        return ns.user_ns if ns is not None else None

    def unlink(self, proc: ProcessState, name: str) -> None:
        self.sb.unlink(proc, name)

    def getattr(self, proc: ProcessState) -> Stat:
        sb = self.sb
        return Stat(sb.mode, 2, sb.uid, sb.gid, sb.size)


class MqueueFileNode(Node):
    """A queue file in an mqueue directory: reading it gives the status line."""

    __slots__ = ("inode", "mounted")

    def __init__(self, inode: MqueueInode):
        self.inode = inode
        self.mounted = 0

    @property
    def mode(self) -> int:  # type: ignore[override]
        return S_IFREG | self.inode.mode

    @property
    def uid(self) -> int:  # type: ignore[override]
        return self.inode.uid

    @property
    def gid(self) -> int:  # type: ignore[override]
        return self.inode.gid

    def set_attrs(self, mode: int, uid: int, gid: int) -> None:
        inode = self.inode
        inode.mode, inode.uid, inode.gid = mode & S_IALLUGO, uid, gid

    def open(self, proc: ProcessState, mnt: Any, flags: int) -> OpenFile:
        inode = self.inode
        if flags & O_TRUNC and flags & O_ACCMODE:
            inode.size = 0
        return MqFile(flags & ~O_TRUNC, inode, mnt.source)

    def getattr(self, proc: ProcessState) -> Stat:
        return self.inode.stat()


def _check_name_len(name: str) -> None:
    if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise oserror(errno.ENAMETOOLONG)


class MqFile(OpenFile):
    """An open queue: an mq descriptor (mq_open) or a queue file opened through a mount.
    Reading it gives the status line; closing it as the registered process removes the
    notification (mqueue_flush_file)."""

    __slots__ = ("inode", "mount", "fmode")

    def __init__(self, flags: int, inode: MqueueInode, mount: MqueueMount | None = None):
        # the OpenFile, set here rather than through super().__init__ (mq_open's path)
        self.refs = 1
        self.flags = flags
        self.pos = 0
        self.fmode = (flags + 1) & O_ACCMODE     # OPEN_FMODE(): FMODE_READ 1, FMODE_WRITE 2
        self.inode = inode
        inode.opens += 1
        inode.sb.refs += 1  # type: ignore[union-attr]  # (sb.get(): a queue one can open is on one)
        self.mount = mount
        if mount is not None:
            mount.users += 1

    def read(self, proc: ProcessState, size: int) -> bytes:
        text = self.inode.status(proc)
        data = text[self.pos:self.pos + size]
        self.pos += len(data)
        return data

    def _size(self) -> int:
        return self.inode.size          # default_llseek: SEEK_END is relative to i_size (80)

    def flush(self, proc: ProcessState) -> None:
        inode = self.inode
        if inode.notify_owner is proc:
            inode.remove_notification()

    def release(self) -> None:
        inode = self.inode
        if self.mount is not None:
            self.mount.users -= 1
        inode.opens -= 1
        sb = inode.sb
        if not inode.opens:
            ready = inode.ready
            if ready is not None:         # nobody can poll it any more
                inode.ready = None
                ready.close()
            if not inode.linked:
                inode.evict()
        sb.put()  # type: ignore[union-attr]  # (MqFile.__init__ took it)


class MqPathFile(MqFile):
    """What mq_open with O_PATH gives (do_dentry_open: FMODE_PATH and empty_fops): it keeps
    the queue alive like any open file, but it is no mq descriptor (EBADF for every mq call,
    read and lseek) and its close removes no notification (empty_fops has no flush)."""

    __slots__ = ()

    def read(self, proc: ProcessState, size: int) -> bytes:
        raise oserror(errno.EBADF)

    def write(self, proc: ProcessState, data: bytes) -> int:
        raise oserror(errno.EBADF)

    def lseek(self, offset: int, whence: int) -> int:
        raise oserror(errno.EBADF)

    def flush(self, proc: ProcessState) -> None:
        pass


# --- argument checks ------------------------------------------------------------------------
def _name_arg(name: object) -> str:
    """glibc's check (a leading slash, stripped) and getname()'s (ENOENT for "",
    ENAMETOOLONG from PATH_MAX); the lookup checks come later."""
    if type(name) is not str:
        if isinstance(name, bytes):
            name = name.decode("utf-8", "surrogateescape")
        if not isinstance(name, str):
            raise TypeError(f"a queue name must be str or bytes, not {type(name).__name__}")
    if "\0" in name:
        raise ValueError("embedded null byte")
    if name[:1] != "/":
        raise oserror(errno.EINVAL)
    name = name[1:]
    if not name:
        raise oserror(errno.ENOENT)
    if len(name) >= PATH_MAX // 4 and len(name.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        raise oserror(errno.ENAMETOOLONG)
    return name


def _lookup_name(name: str) -> None:
    """lookup_noperm() and simple_lookup(): EACCES for "/" inside, "." and ".."; then
    ENAMETOOLONG past NAME_MAX."""
    if "/" in name or name in (".", ".."):
        raise oserror(errno.EACCES)
    if len(name) > NAME_MAX // 4 and len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise oserror(errno.ENAMETOOLONG)


def _long(value: object, what: str) -> int:
    value = int_arg(value, what)
    if not LONG_MIN <= value <= LONG_MAX:
        raise OverflowError(f"{what} must fit in a C long")
    return value


def _open_attr_arg(attr: object) -> tuple[int, int]:
    """mq_open's attributes: every field checked as _attr_arg does; mq_maxmsg and
    mq_msgsize."""
    if type(attr) is MqAttr:
        flags, maxmsg, msgsize, curmsgs = attr.mq_flags, attr.mq_maxmsg, attr.mq_msgsize, \
            attr.mq_curmsgs
        if type(flags) is int and type(maxmsg) is int and type(msgsize) is int \
                and type(curmsgs) is int and LONG_MIN <= flags <= LONG_MAX \
                and LONG_MIN <= maxmsg <= LONG_MAX and LONG_MIN <= msgsize <= LONG_MAX \
                and LONG_MIN <= curmsgs <= LONG_MAX:
            return maxmsg, msgsize
    checked = _attr_arg(attr)
    return checked.mq_maxmsg, checked.mq_msgsize


def _attr_arg(attr: object) -> MqAttr:
    if not isinstance(attr, MqAttr):
        raise TypeError(f"attr must be an MqAttr, not {type(attr).__name__}")
    return MqAttr(_long(attr.mq_flags, "mq_flags"), _long(attr.mq_maxmsg, "mq_maxmsg"),
                  _long(attr.mq_msgsize, "mq_msgsize"), _long(attr.mq_curmsgs, "mq_curmsgs"))


def _prio_arg(prio: object) -> int:
    prio = int_arg(prio, "msg_prio")
    if not -(1 << 31) <= prio < (1 << 32):
        raise OverflowError("msg_prio must fit in an unsigned int")
    return prio & 0xFFFFFFFF


def _timeout_arg(timeout: Timeout, now_ns: int) -> int:
    """The deadline (virtual ns) of a relative timeout in seconds, or of a relative timespec
    ``(tv_sec, tv_nsec)``; EINVAL for a negative or malformed one (prepare_timeout)."""
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError("a timespec timeout is (tv_sec, tv_nsec)")
        sec, nsec = _long(timeout[0], "tv_sec"), _long(timeout[1], "tv_nsec")
        if sec < 0 or not 0 <= nsec < NS:
            raise oserror(errno.EINVAL)
        return now_ns + sec * NS + nsec
    ns = seconds_to_ns(timeout)
    if ns < 0:
        raise oserror(errno.EINVAL)
    return now_ns + ns


def _sigevent_arg(sev: object) -> SigEvent:
    if not isinstance(sev, SigEvent):
        raise TypeError(f"notification must be a SigEvent or None, not {type(sev).__name__}")
    notify = int_arg(sev.sigev_notify, "sigev_notify")
    signo = int_arg(sev.sigev_signo, "sigev_signo")
    value = int_arg(sev.sigev_value, "sigev_value")
    if not -(1 << 31) <= notify < (1 << 31) or not -(1 << 31) <= signo < (1 << 31):
        raise OverflowError("sigev_notify and sigev_signo must fit in an int")
    fn = sev.sigev_notify_function
    if notify == SIGEV_THREAD and not callable(fn):
        raise TypeError("SIGEV_THREAD needs a callable sigev_notify_function")
    return SigEvent(notify, signo, value, fn)


def _mqfile(proc: ProcessState, mqdes: int) -> MqFile:
    """fdget() and the f_op check: EBADF for a closed descriptor or one of another kind."""
    if type(mqdes) is not int:
        mqdes = int_arg(mqdes, "mqdes")
    fds = proc.fds
    if 0 <= mqdes < len(fds):
        file = fds[mqdes]
        if type(file) is MqFile:
            return file
    raise oserror(errno.EBADF)


RESTART = object()       # what _wq_sleep returns when the call must start again


def _wq_sleep(proc: ProcessState, inode: MqueueInode, queue: WaitQueue, what: What,
              data: object, deadline: int | None) -> Any:
    """wq_sleep(): park on the queue's SEND or RECV list; the result a waker set, or
    ETIMEDOUT, or EINTR, or RESTART: a stop signal ended the sleep (-ERESTARTSYS, the waiter
    left the list) and no handler is due once continued, so the system call starts again
    with the same deadline, at the back of the list (a handler due makes it EINTR)."""
    w = StopEndsWaiter(proc, what, data)
    queue.add(w)
    reason = proc.kernel.sched.block(w, deadline)
    if w.result is not None:
        return w.result
    if reason == TIMEOUT:
        raise oserror(errno.ETIMEDOUT)
    if reason == STOPPED and not handler_due(proc):
        return RESTART
    raise oserror(errno.EINTR)


def _waiting_in(call: str, inode: MqueueInode, state: str) -> str:
    return f"{call} on {_describe(inode)} (queue {state})"


def _describe(inode: MqueueInode) -> str:
    where = f"queue /{inode.name}" if inode.name else "queue"
    ns = inode.sb.ns if inode.sb is not None else None
    return f"{where} of ipc:[{ns.inum}]" if ns is not None else where


# --- the calls --------------------------------------------------------------------------------
class MqCalls(CallsBase):
    """mq_open, mq_close, mq_unlink, mq_send, mq_timedsend, mq_receive, mq_timedreceive,
    mq_getattr, mq_setattr, mq_notify: the methods Process gets from this module."""

    __slots__ = ()

    @syscall
    def mq_open(self, name: str, oflag: int, mode: int = 0o600, attr: MqAttr | None = None) -> int:
        """mq_open(3): a descriptor of the queue ``name`` ("/something") in the caller's
        namespace. O_CREAT creates it (mode bits less the umask; ``attr`` gives mq_maxmsg and
        mq_msgsize, else the namespace's defaults), O_EXCL insists on creating; O_RDONLY,
        O_WRONLY, O_RDWR; O_NONBLOCK. EINVAL for a name without the leading slash or bad
        attributes, EACCES for another slash or missing permission, ENOENT, EEXIST,
        ENAMETOOLONG, ENOSPC past queues_max, EMFILE past RLIMIT_MSGQUEUE."""
        if type(oflag) is not int or type(mode) is not int:
            oflag, mode = int_arg(oflag, "oflag"), int_arg(mode, "mode")
        if not -(1 << 31) <= oflag < (1 << 32):
            raise OverflowError("oflag must fit in an int")
        sizes = None                      # glibc passes attr only with O_CREAT
        if attr is not None and oflag & O_CREAT:
            sizes = _open_attr_arg(attr)
        # getname() and the lookup's checks come before and after the descriptor is taken;
        # a short name that passes both (the usual one) is checked once
        base = name[1:] if type(name) is str and name[:1] == "/" else ""
        if 0 < len(base) <= NAME_MAX // 4 and "/" not in base and "\0" not in base \
                and base != "." and base != "..":
            name = base
            fd = self._unused_fd()
        else:
            name = _name_arg(name)
            fd = self._unused_fd()
            _lookup_name(name)
        ns = self.ipc_ns
        sb = ns.mq_fs
        if sb is None:
            sb = ns.mq_fs = MqueueSb(ns)
        inode = sb.entries.get(name)
        if inode is None:
            if not oflag & O_CREAT:
                raise oserror(errno.ENOENT)
            inode = sb.create(self, name, mode & S_IALLUGO & ~self.umask_, sizes)
        else:
            if oflag & O_CREAT and oflag & O_EXCL:
                raise oserror(errno.EEXIST)
            acc = oflag & O_ACCMODE
            if acc == O_ACCMODE:
                raise oserror(errno.EINVAL)
            want = (MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE)[acc]
            if not generic_permission(self.creds, inode.mode, inode.uid, inode.gid, want):
                raise oserror(errno.EACCES)
        cls = MqPathFile if oflag & O_PATH else MqFile
        return self._install_at(fd, cls(oflag & ~(O_CREAT | O_EXCL), inode))

    @syscall
    def mq_close(self, mqdes: int) -> None:
        """mq_close(3): close the descriptor (glibc's mq_close is close(2))."""
        self._close(mqdes if type(mqdes) is int else int_arg(mqdes, "mqdes"))

    @syscall
    def mq_unlink(self, name: str) -> None:
        """mq_unlink(3): remove the name at once; the queue lives on while it is open.
        ENOENT, EACCES (also where the kernel says EPERM: glibc reports EACCES)."""
        name = _name_arg(name)
        _lookup_name(name)
        try:
            mq_sb(self.ipc_ns).unlink(self, name)
        except OSError as e:
            if e.errno == errno.EPERM:
                raise oserror(errno.EACCES) from None
            raise

    @syscall
    def mq_send(self, mqdes: int, data: Data, prio: int = 0) -> None:
        """mq_send(3): queue ``data`` at priority ``prio`` (< 32768, else EINVAL). EBADF for a
        descriptor not open for writing, EMSGSIZE past mq_msgsize; a full queue blocks, or
        EAGAIN with O_NONBLOCK. A waiting receiver takes the message directly."""
        return _do_mq_timedsend(self, mqdes, data, prio, None)

    @syscall
    def mq_timedsend(self, mqdes: int, data: Data, prio: int, timeout: Timeout) -> None:
        """mq_timedsend(3) with a timeout relative to now, in seconds of virtual time or as a
        timespec ``(tv_sec, tv_nsec)``: ETIMEDOUT when it passes while the queue stays full;
        EINVAL for a negative or malformed timeout, checked first."""
        return _do_mq_timedsend(self, mqdes, data, prio, timeout)

    @syscall
    def mq_receive(self, mqdes: int, bufsize: int) -> tuple[bytes, int]:
        """mq_receive(3): ``(data, prio)`` of the oldest message of the highest priority.
        EMSGSIZE if ``bufsize`` (msg_len) is below mq_msgsize (even on an empty queue),
        EBADF for a descriptor not open for reading; an empty queue blocks, or EAGAIN with
        O_NONBLOCK."""
        return _do_mq_timedreceive(self, mqdes, bufsize, None)

    @syscall
    def mq_timedreceive(self, mqdes: int, bufsize: int, timeout: Timeout) -> tuple[bytes, int]:
        """mq_timedreceive(3): as mq_receive, with a timeout as mq_timedsend takes it."""
        return _do_mq_timedreceive(self, mqdes, bufsize, timeout)

    @syscall
    def mq_getattr(self, mqdes: int) -> MqAttr:
        """mq_getattr(3): MqAttr(mq_flags (O_NONBLOCK of this descriptor), mq_maxmsg,
        mq_msgsize, mq_curmsgs). Any access mode will do."""
        inode = (file := _mqfile(self, mqdes)).inode
        return MqAttr(file.flags & O_NONBLOCK, inode.maxmsg, inode.msgsize, inode.curmsgs)

    @syscall
    def mq_setattr(self, mqdes: int, attr: MqAttr) -> MqAttr:
        """mq_setattr(3): set this descriptor's O_NONBLOCK from ``attr.mq_flags`` (any other
        bit: EINVAL, before the descriptor is looked at); returns the old attributes."""
        attr = _attr_arg(attr)
        if attr.mq_flags & ~O_NONBLOCK:
            raise oserror(errno.EINVAL)
        file = _mqfile(self, mqdes)
        inode = file.inode
        old = MqAttr(file.flags & O_NONBLOCK, inode.maxmsg, inode.msgsize, inode.curmsgs)
        if attr.mq_flags & O_NONBLOCK:
            file.flags |= O_NONBLOCK
        else:
            file.flags &= ~O_NONBLOCK
        return old

    @syscall
    def mq_notify(self, mqdes: int, notification: SigEvent | None) -> None:
        """mq_notify(3): register this process to be told when a message arrives in the
        empty queue while no receiver waits (once); None unregisters (silently nothing if
        another process is registered). EINVAL for a bad sigev_notify or signal (before the
        descriptor), EBADF, EBUSY when any process (this one too) is registered."""
        sev = None
        if notification is not None:
            sev = _sigevent_arg(notification)
            if sev.sigev_notify not in (SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD):
                raise oserror(errno.EINVAL)
            if sev.sigev_notify == SIGEV_SIGNAL and not 0 <= sev.sigev_signo < NSIG:
                raise oserror(errno.EINVAL)
        inode = _mqfile(self, mqdes).inode
        if sev is None:
            if inode.notify_owner is self:
                inode.remove_notification()
            return
        if inode.notify_owner is not None:
            raise oserror(errno.EBUSY)
        inode.add_notification(cast("Process", self), sev)


def _do_mq_timedsend(proc: ProcessState, mqdes: int, data: Data, prio: int,
                     timeout: Timeout | None, deadline: int | None = None) -> None:
    """do_mq_timedsend(), with the hot path inline (``deadline``: of a restarted call)."""
    if timeout is not None:
        deadline = _timeout_arg(timeout, proc.kernel.clock.now_ns())
    if type(prio) is not int or not 0 <= prio < MQ_PRIO_MAX:
        if _prio_arg(prio) >= MQ_PRIO_MAX:
            raise oserror(errno.EINVAL)
    text = data if type(data) is bytes else as_bytes(data)
    if type(mqdes) is not int:
        mqdes = int_arg(mqdes, "mqdes")
    fds = proc.fds
    file = fds[mqdes] if 0 <= mqdes < len(fds) else None
    if type(file) is not MqFile or not file.fmode & FMODE_WRITE:
        raise oserror(errno.EBADF)
    inode = file.inode
    if len(text) > inode.msgsize:
        raise oserror(errno.EMSGSIZE)
    if inode.curmsgs == inode.maxmsg:
        if file.flags & O_NONBLOCK:
            raise oserror(errno.EAGAIN)
        senders = inode.senders
        if senders is NO_WAITERS:
            senders = inode.senders = WaitQueue()
        if _wq_sleep(proc, inode, senders, (_waiting_in, "mq_send", inode, "full"),
                     (text, prio), deadline) is RESTART:
            return _do_mq_timedsend(proc, mqdes, text, prio, None, deadline)
        return None
    receivers = inode.receivers
    if receivers:
        # pipelined_send(): straight to the first waiting receiver; no notification
        w: Waiter = receivers.first()  # type: ignore[assignment]  # (there is one)
        receivers.discard(w)
        proc.kernel.sched.wake(w, (text, prio))
        return None
    # msg_insert (inline: the hot path)
    fifo = inode.tree.get(prio)
    if type(fifo) is deque:
        if not fifo:
            if inode.top < 0:
                inode.top = prio          # the first message of an empty queue
            else:
                inode.prio_filled(prio)
        fifo.append(text)
        inode.curmsgs += 1
        inode.qsize += len(text)
    else:
        inode.msg_insert(text, prio)
    if inode.notify_owner is not None:
        inode.do_notify(proc)
    if inode.ready is not None:
        inode.ready.changed(inode)
    return None


def _do_mq_timedreceive(proc: ProcessState, mqdes: int, msg_len: int, timeout: Timeout | None,
                        deadline: int | None = None) -> tuple[bytes, int]:
    """do_mq_timedreceive(), with the hot path inline (``deadline``: of a restarted call)."""
    if timeout is not None:
        deadline = _timeout_arg(timeout, proc.kernel.clock.now_ns())
    if type(msg_len) is not int or msg_len < 0:
        msg_len = int_arg(msg_len, "msg_len")
        if not 0 <= msg_len < (1 << 64):
            raise OverflowError("msg_len must fit in a size_t")
    if type(mqdes) is not int:
        mqdes = int_arg(mqdes, "mqdes")
    fds = proc.fds
    file = fds[mqdes] if 0 <= mqdes < len(fds) else None
    if type(file) is not MqFile or not file.fmode & FMODE_READ:
        raise oserror(errno.EBADF)
    inode = file.inode
    if msg_len < inode.msgsize:
        raise oserror(errno.EMSGSIZE)
    if not inode.curmsgs:
        if file.flags & O_NONBLOCK:
            raise oserror(errno.EAGAIN)
        receivers = inode.receivers
        if receivers is NO_WAITERS:
            receivers = inode.receivers = WaitQueue()
        got: tuple[bytes, int] = _wq_sleep(proc, inode, receivers,
                                           (_waiting_in, "mq_receive", inode, "empty"), None,
                                           deadline)
        if got is RESTART:
            return _do_mq_timedreceive(proc, mqdes, msg_len, None, deadline)
        return got
    # msg_get (inline: the hot path)
    prio = inode.top
    fifo = inode.tree[prio]
    if type(fifo) is deque:
        text = fifo.popleft()
        if not fifo:
            if inode.curmsgs == 1 and inode.spare == prio:
                inode.top = -1            # the queue is empty again
            else:
                inode.deque_emptied(prio)
    else:
        text = fifo[0]
        inode.lone_taken(prio)
    inode.curmsgs -= 1
    inode.qsize -= len(text)
    senders = inode.senders
    if senders:
        # pipelined_receive(): the first blocked sender's message takes the free place
        w: Waiter = senders.first()  # type: ignore[assignment]  # (there is one)
        senders.discard(w)
        inode.msg_insert(*w.data)
        proc.kernel.sched.wake(w, True)
    elif inode.ready is not None:          # (a pipelined receive leaves it as full as it was)
        inode.ready.changed(inode)
    return text, prio


__all__ = ["MqAttr", "SigEvent", "SigInfo", "Stat", "MqCalls", "MqueueSb", "MqueueInode",
           "ReadyHook", "MqueueMount", "MqFile", "mount_mqueue", "mq_charge"]
