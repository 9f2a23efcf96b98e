"""System V message queues (ipc/msg.c).

A queue keeps its messages in arrival order and, beside that, one FIFO per message type (a
type's first message alone needs none: many types never have a second), and, once a receive
by negative type has been asked of it, a min-heap of the types, so that ``msgrcv`` of the
first message, of a type, or of the lowest type up to a bound costs the same however many
messages and types are queued (Linux scans the queue; the results are the same). Every
removal takes the oldest message of its type, so the per-type FIFOs never hold removed
messages; the arrival-order deque drops removed ones lazily. MSG_EXCEPT and MSG_COPY walk
the arrival order as Linux does, in slices rather than one message at a time; MSG_EXCEPT
behind a run of one type without removed messages in it finds the first other message by
bisection.

A send that finds a receiver waiting hands the message over directly (pipelined_send), in
the receivers' FIFO order, exactly as Linux does: a receiver whose buffer is too small gets
E2BIG and the message moves on to the next one.
"""
from __future__ import annotations

import errno
from collections import deque
from heapq import heapify, heappop, heappush
from itertools import islice
from typing import TYPE_CHECKING, Any, Iterator, Literal, Sequence, TypeAlias, overload

import attrs

from ..constants import (CAP_SYS_RESOURCE, INT_MAX, IPC_EXCL, IPC_INFO, IPC_NOWAIT, IPC_RMID,
                         IPC_SET, IPC_STAT, MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR,
                         MSG_STAT, MSG_STAT_ANY, MSGMAP, MSGPOOL, MSGSEG, MSGSSZ, MSGTQL)
from ..errors import oserror
from .perm import IpcPerm, KernIpcPerm, ipcperms
from .pidns import pid_vnr, put_pid, update_pid
from .signals import handler_due
from .syscall import (NOKW, CallsBase, as_bytes, hot_syscall, int_arg, restart_syscall,
                      syscall)
from .util import flags_arg, ipcget, key_arg, obtain_for_ctl, update_perm
from .waitq import SIGNAL, STOPPED, StopEndsWaiter, WaitQueue

if TYPE_CHECKING:
    from ..sim.scheduler import Scheduler
    from .creds import Creds
    from .namespace import IpcNamespace
    from .pidns import Pid, PidNamespace
    from .process import ProcessState
    from .syscall import Data

# A message: [mtype, text]; emptied ([], false) when it leaves from the middle of the arrival
# order, so that the deque, which still holds it, can skip it (filter(None, ...) in C).
Msg = list[Any]

NS = 1_000_000_000

S_IRUGO = 0o444
S_IWUGO = 0o222
LONG_MAX = (1 << 63) - 1
LONG_MIN = -(1 << 63)

# What msgctl returns, by command (see MsgCalls.msgctl).
MsgctlResult: TypeAlias = "MsqidDs | tuple[int, MsqidDs] | tuple[int, Msginfo] | None"

# convert_mode(): how msgrcv picks a message
SEARCH_ANY, SEARCH_EQUAL, SEARCH_NOTEQUAL, SEARCH_LESSEQUAL, SEARCH_NUMBER = range(1, 6)


@attrs.define(slots=True)
class MsqidDs:
    """``struct msqid64_ds`` as IPC_STAT returns it (IPC_SET reads msg_perm.uid, .gid,
    .mode and msg_qbytes)."""

    msg_perm: IpcPerm = attrs.Factory(IpcPerm)
    msg_stime: int = 0
    msg_rtime: int = 0
    msg_ctime: int = 0
    msg_cbytes: int = 0
    msg_qnum: int = 0
    msg_qbytes: int = 0
    msg_lspid: int = 0
    msg_lrpid: int = 0


@attrs.define(slots=True)
class Msginfo:
    """``struct msginfo`` as IPC_INFO and MSG_INFO return it."""

    msgpool: int = 0
    msgmap: int = 0
    msgmax: int = 0
    msgmnb: int = 0
    msgmni: int = 0
    msgssz: int = 0
    msgtql: int = 0
    msgseg: int = 0


class MsgQueue(KernIpcPerm):
    """``struct msg_queue``. ``q_lspid_ref`` and ``q_lrpid_ref`` are the last sender's and
    receiver's :class:`~ipcsim.kernel.pidns.Pid` (None before the first), kept as Linux
    keeps their struct pid so that a reader in any PID namespace can number them (each
    holds its pid, and so the PID namespace it was made in, until replaced or the queue is
    removed); ``q_lspid`` and ``q_lrpid`` are their numbers in the initial namespace (0 for
    none)."""

    __slots__ = ("q_stime", "q_rtime", "q_ctime", "q_cbytes", "q_qnum", "q_qbytes",
                 "q_lspid_ref", "q_lrpid_ref", "q_messages", "q_bytype", "q_lone", "q_types", "q_dead",
                 "q_receivers", "q_senders")

    def __init__(self, ns: IpcNamespace, key: int, mode: int, creds: Creds, now: int):
        # kern_ipc_perm, set here rather than through super().__init__ (msgget's hot path)
        self.ns, self.key, self.mode = ns, key, mode
        self.uid = self.cuid = creds.euid
        self.gid = self.cgid = creds.egid
        self.deleted = False          # id and seq: set by addid, before anyone sees the queue
        self.q_stime = self.q_rtime = 0
        self.q_ctime = now
        self.q_cbytes = self.q_qnum = 0
        self.q_qbytes = ns.msg_ctlmnb
        self.q_lspid_ref: Pid | None = None
        self.q_lrpid_ref: Pid | None = None
        self.q_messages: deque[Msg] = deque()
        # A type's messages: in q_bytype once it has had two at a time, or a message after
        # its first left (the deque stays when it empties: a type that comes and goes
        # allocates nothing); before that, in q_lone: its only message, or None once that
        # has left. Types without messages go once they outnumber the messages.
        self.q_bytype: dict[int, deque[Msg]] = {}
        self.q_lone: dict[int, Msg | None] = {}
        self.q_types: list[int] | None = None   # heap of the types of both: made by the
        #   first receive by negative type
        self.q_dead = 0          # removed messages still in q_messages
        self.q_receivers: WaitQueue | None = None     # made when the first one waits
        self.q_senders: WaitQueue | None = None

    # --- the queue ---------------------------------------------------------------------
    def fits(self, size: int) -> bool:
        """msg_fits_inqueue(): bytes and the message count are both bounded by qbytes."""
        return self.q_cbytes + size <= self.q_qbytes and self.q_qnum + 1 <= self.q_qbytes

    def first(self) -> Msg | None:
        """The oldest message (removed ones at the front are dropped on the way)."""
        messages = self.q_messages
        while messages and not messages[0]:
            messages.popleft()
            self.q_dead -= 1
        return messages[0] if messages else None

    def find(self, msgtyp: int, mode: int) -> Msg | None:
        """find_msg(): the message msgrcv takes, or None."""
        if mode == SEARCH_ANY:
            return self.first()
        if mode == SEARCH_EQUAL:
            fifo = self.q_bytype.get(msgtyp)
            return fifo[0] if fifo else self.q_lone.get(msgtyp)
        if mode == SEARCH_LESSEQUAL:
            return self.lowest(msgtyp)
        if mode == SEARCH_NOTEQUAL:
            return self.first_other(msgtyp)
        return self.nth(msgtyp)

    def lowest(self, msgtyp: int) -> Msg | None:
        """SEARCH_LESSEQUAL: the oldest message of the lowest type, if that type is at most
        ``msgtyp``. The heap is made the first time; types without messages leave it (and
        the queue) when they reach its top."""
        types, bytype, lone = self.q_types, self.q_bytype, self.q_lone
        if types is None:
            types = self.q_types = [*bytype, *lone]
            heapify(types)
        while types:
            mtype = types[0]
            fifo = bytype.get(mtype)
            if fifo:
                return fifo[0] if mtype <= msgtyp else None
            if fifo is None:
                msg = lone[mtype]
                if msg is not None:
                    return msg if mtype <= msgtyp else None
                del lone[mtype]
            else:
                del bytype[mtype]
            heappop(types)
        return None

    def fifo(self, mtype: int) -> Sequence[Msg]:
        """The messages of ``mtype``, oldest first."""
        fifo = self.q_bytype.get(mtype)
        if fifo is not None:
            return fifo
        msg = self.q_lone.get(mtype)
        return (msg,) if msg is not None else ()

    def first_other(self, msgtyp: int) -> Msg | None:
        """SEARCH_NOTEQUAL: the oldest message whose type is not ``msgtyp``. Before it, the
        arrival order holds the oldest messages of ``msgtyp``, in their FIFO's order (and
        removed ones)."""
        first = self.first()
        if first is None or first[0] != msgtyp:
            return first
        fifo = self.fifo(msgtyp)
        messages = self.q_messages
        if not self.q_dead:
            i = _common_prefix(messages, fifo)
            return messages[i] if i < len(messages) else None
        same = iter(fifo)
        passed = 0                      # messages of msgtyp walked over
        for start, chunk in self._chunks():
            live = list(filter(None, chunk))
            theirs = list(islice(same, len(live)))
            if live == theirs:        # (identical lists compare equal without a look inside)
                passed += len(live)
                continue
            self._walked(start + len(chunk), passed + len(live))
            return live[_common_prefix(live, theirs)]
        return None

    def nth(self, number: int) -> Msg | None:
        """SEARCH_NUMBER (MSG_COPY): the message at position ``number``, counting from 0."""
        messages = self.q_messages
        if number < 0:
            return None
        if not self.q_dead:
            return messages[number] if number < len(messages) else None
        left = number
        for start, chunk in self._chunks():
            live = list(filter(None, chunk))
            if left < len(live):
                self._walked(start + len(chunk), number - left + len(live))
                return live[left]
            left -= len(live)
        return None

    def _chunks(self) -> Iterator[tuple[int, list[Msg]]]:
        """The arrival order, removed messages included, in growing slices: (position of
        the slice's first message, the slice)."""
        rest = iter(self.q_messages)
        start, size = 0, 16
        while chunk := list(islice(rest, size)):
            yield start, chunk
            start += len(chunk)
            size = min(2 * size, 4096)

    def _walked(self, stop: int, live: int) -> None:
        """A search walked the first ``stop`` messages, ``live`` of them not removed: if
        the removed ones were more than a third (steps Linux would not make), drop them, so
        that walks stay within a constant of Linux's and each removed one is dropped once."""
        dead = stop - live
        if dead <= live // 2 + 64:
            return
        messages = self.q_messages
        head = [messages.popleft() for _ in range(stop)]
        messages.extendleft(reversed([m for m in head if m]))
        self.q_dead -= dead

    def new_type(self, mtype: int, msg: Msg) -> None:
        """``msg`` is of a type without a deque: its lone message, or the start of its deque
        if it has had one."""
        lone = self.q_lone
        if mtype in lone:
            first = lone.pop(mtype)
            self.q_bytype[mtype] = deque((msg,) if first is None else (first, msg))
            return
        if len(lone) + len(self.q_bytype) >= 2 * self.q_qnum + 64:
            self.forget_types()
        lone[mtype] = msg
        if self.q_types is not None:
            heappush(self.q_types, mtype)

    def forget_types(self) -> None:
        """Drop the types without messages (and make the heap again, if there is one)."""
        bytype, lone = self.q_bytype, self.q_lone
        for t in [t for t, fifo in bytype.items() if not fifo]:
            del bytype[t]
        for t in [t for t, msg in lone.items() if msg is None]:
            del lone[t]
        if self.q_types is not None:
            self.q_types = [*bytype, *lone]
            heapify(self.q_types)

    def dead_in_middle(self, msg: Msg) -> None:
        """``msg`` left, not from the front of the arrival order: from the back it is
        popped; otherwise it is emptied and dropped lazily, compacting when removed ones
        outnumber the live."""
        messages = self.q_messages
        if messages[-1] is msg:
            messages.pop()
            return
        msg.clear()
        self.q_dead += 1
        if self.q_dead > 64 and self.q_dead > len(messages) // 2:
            self.q_messages = deque(filter(None, messages))
            self.q_dead = 0

    # --- waking ------------------------------------------------------------------------
    def pipelined_send(self, sched: Scheduler, msg: Msg, now: int) -> bool:
        """Hand ``msg`` to the first waiting receiver that matches; too small a buffer gets
        E2BIG and the walk goes on. True if a receiver took it (called while one waits)."""
        mtype, text = msg
        receivers: WaitQueue = self.q_receivers  # type: ignore[assignment]  # (one waits)
        # The common case, the first receiver takes it: no copy of the list to walk.
        for w in receivers.keys():
            break
        mode, want, maxsize = w.data
        if (mode == SEARCH_ANY or mtype == want and mode == SEARCH_EQUAL) \
                and maxsize >= len(text):
            pid = w.process.thread_pid
            if self.q_lrpid_ref is not pid:
                self.q_lrpid_ref = update_pid(self.q_lrpid_ref, pid)
            self.q_rtime = now
            sched.wake(w, ("msg", msg))
            return True
        for w in receivers:
            mode, want, maxsize = w.data
            if not _matches(mtype, want, mode):
                continue
            if maxsize < len(text):
                sched.wake(w, ("err", errno.E2BIG))
                continue
            pid = w.process.thread_pid
            if self.q_lrpid_ref is not pid:
                self.q_lrpid_ref = update_pid(self.q_lrpid_ref, pid)
            self.q_rtime = now
            sched.wake(w, ("msg", msg))
            return True
        return False

    def ss_wakeup(self, sched: Scheduler, kill: bool = False) -> None:
        """Wake the blocked senders whose message now fits (all of them on removal);
        those that still do not fit go to the tail, in order."""
        senders = self.q_senders
        if not senders:
            return
        stop = None
        for w in senders:
            if w is stop:
                break
            if not kill and not self.fits(w.data):
                if stop is None:
                    stop = w
                senders.discard(w)
                senders.add(w)
                continue
            sched.wake(w)

    def expunge_all(self, sched: Scheduler, err: int | None) -> None:
        """Wake every blocked receiver: with ``err`` (EIDRM), or to re-check (IPC_SET)."""
        receivers = self.q_receivers
        if not receivers:
            return
        for w in receivers:
            sched.wake(w, None if err is None else ("err", err))

    # --- what the namespace and /proc see ----------------------------------------------
    def freeque(self) -> None:
        """IPC_RMID: waiters get EIDRM, messages are freed, the id goes, and the last
        sender's and receiver's pids are let go (which may free their PID namespace)."""
        ns = self.ns
        if self.q_receivers or self.q_senders:
            sched = ns.kernel.sched
            self.expunge_all(sched, errno.EIDRM)
            self.ss_wakeup(sched, kill=True)
        ns.msg_ids.rmid(self)
        if self.q_qnum:
            ns.msg_bytes -= self.q_cbytes
            ns.msg_hdrs -= self.q_qnum
            self.q_messages.clear()
            self.q_bytype.clear()
            self.q_lone.clear()
            self.q_types = None
            self.q_cbytes = self.q_qnum = self.q_dead = 0
        pid = self.q_lspid_ref
        if pid is not None:
            self.q_lspid_ref = None
            if pid.level:
                put_pid(pid)
        pid = self.q_lrpid_ref
        if pid is not None:
            self.q_lrpid_ref = None
            if pid.level:
                put_pid(pid)

    _ns_exit = freeque            # the namespace dies: as IPC_RMID (no call of its own)

    @property
    def q_lspid(self) -> int:
        """The last sender's pid in the initial PID namespace (0 before the first send)."""
        return pid_vnr(self.q_lspid_ref, None)

    @property
    def q_lrpid(self) -> int:
        """The last receiver's pid in the initial PID namespace (0 before the first)."""
        return pid_vnr(self.q_lrpid_ref, None)

    def stat(self, creds: Creds | None = None, pid_ns: PidNamespace | None = None) -> MsqidDs:
        """IPC_STAT's copy, ids as ``creds`` sees them (kernel ids without), the last
        sender's and receiver's pids as PID namespace ``pid_ns`` numbers them (0 for one it
        does not see; the initial namespace's numbers without)."""
        return MsqidDs(self.to_ipc_perm(creds), self.q_stime, self.q_rtime, self.q_ctime,
                       self.q_cbytes, self.q_qnum, self.q_qbytes, pid_vnr(self.q_lspid_ref, pid_ns),
                       pid_vnr(self.q_lrpid_ref, pid_ns))

    def _proc_row(self, reader: ProcessState) -> str:
        uid, gid, cuid, cgid = self.ids_seen_by(reader.creds)
        ns = reader.pid_ns
        return (f"{self.key:10d} {self.id:10d}  {self.mode:4o}  {self.q_cbytes:10d} "
                f"{self.q_qnum:10d} {pid_vnr(self.q_lspid_ref, ns):5d} "
                f"{pid_vnr(self.q_lrpid_ref, ns):5d} {uid:5d} "
                f"{gid:5d} {cuid:5d} {cgid:5d} {self.q_stime:10d} "
                f"{self.q_rtime:10d} {self.q_ctime:10d}\n")

    def __repr__(self) -> str:
        return f"<MsgQueue id={self.id} key={self.key:#x} qnum={self.q_qnum}>"


def _common_prefix(a: Sequence[Msg], b: Sequence[Msg]) -> int:
    """How many leading messages ``a`` and ``b`` share (the same objects), found by galloping
    then bisecting: O(log n) lookups. Past the shared part they must differ at every
    position (true of the arrival order against a FIFO of one type, with nothing removed:
    past the first message of another type, each of that FIFO's stands further back)."""
    n = min(len(a), len(b))
    lo, step = 0, 1                  # a[:lo] is b[:lo]
    while lo + step <= n and a[lo + step - 1] is b[lo + step - 1]:
        lo += step
        step *= 2
    hi = min(lo + step, n + 1)       # a[hi - 1] is not b[hi - 1], or hi == n + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[mid - 1] is b[mid - 1]:
            lo = mid
        else:
            hi = mid
    return lo


def _matches(mtype: int, want: int, mode: int) -> bool:
    """testmsg()."""
    if mode == SEARCH_ANY or mode == SEARCH_NUMBER:
        return True
    if mode == SEARCH_EQUAL:
        return mtype == want
    if mode == SEARCH_NOTEQUAL:
        return mtype != want
    return mtype <= want


def convert_mode(msgtyp: int, msgflg: int) -> tuple[int, int]:
    """convert_mode(): (search mode, the type it compares with)."""
    if msgflg & MSG_COPY:
        return SEARCH_NUMBER, msgtyp
    if msgtyp == 0:
        return SEARCH_ANY, 0
    if msgtyp < 0:
        return SEARCH_LESSEQUAL, LONG_MAX if msgtyp == LONG_MIN else -msgtyp
    if msgflg & MSG_EXCEPT:
        return SEARCH_NOTEQUAL, msgtyp
    return SEARCH_EQUAL, msgtyp


def _long(value: object, what: str) -> int:
    value = int_arg(value, what)
    if not LONG_MIN <= value <= LONG_MAX:
        raise OverflowError(f"{what} must fit in a C long")
    return value


class MsgCalls(CallsBase):
    """msgget, msgsnd, msgrcv, msgctl: the methods Process gets from this module."""

    __slots__ = ()

    @hot_syscall
    def msgget(self, key: int, flags: int = 0) -> int:
        """msgget(2): the id of the queue with ``key`` (IPC_PRIVATE: always a new one).
        ENOENT without IPC_CREAT, EEXIST with IPC_CREAT|IPC_EXCL, EACCES for mode bits the
        caller lacks, ENOSPC past msgmni."""
        kernel = self.kernel
        if kernel._slow or not self.alive:
            return kernel._syscall(self, _msgget, "msgget", (key, flags), NOKW)
        if type(key) is int and type(flags) is int and 0 <= flags <= 0xFFFFFFFF:
            ns = self.ipc_ns
            ids = ns.msg_ids
            if key == 0:        # the hot paths: IPC_PRIVATE always creates (ipcget) ...
                return ids.addid(MsgQueue(ns, 0, flags & 0o777, self.creds,
                                          kernel.clock.wall), ns.msg_ctlmni)
            keys = ids.keys     # ... and a key that exists, without IPC_EXCL, allowed
            q = keys.get(key) if keys else None
            if q is not None and not flags & IPC_EXCL and ipcperms(q, self.creds, flags):
                return q.id
        return _msgget(self, key, flags)

    @syscall
    def msgsnd(self, msqid: int, mtype: int, data: Data, flags: int = 0) -> None:
        """msgsnd(2): queue ``data`` as a message of type ``mtype`` (>= 1). Blocks while the
        queue is full (bytes, and the message count, against msg_qbytes) unless IPC_NOWAIT
        (EAGAIN); a waiting receiver that matches takes the message directly."""
        if not (type(msqid) is int and type(mtype) is int and type(flags) is int
                and 0 <= flags <= 0xFFFFFFFF and mtype <= LONG_MAX):
            msqid, mtype = int_arg(msqid, "msqid"), _long(mtype, "mtype")
            flags = flags_arg(flags, "flags")
        text = data if type(data) is bytes else as_bytes(data)
        ns = self.ipc_ns
        size = len(text)
        if size > ns.msg_ctlmax or msqid < 0:
            raise oserror(errno.EINVAL)
        if mtype < 1:
            raise oserror(errno.EINVAL)
        objs = ns.msg_ids.objs
        q = objs.get(msqid & 0x7FFF) if objs else None
        if q is None or q.seq != msqid >> 15:
            q = ns.msg_ids.obtain_check(msqid)
        kernel = self.kernel
        creds = self.creds
        while True:
            if not (q.mode & 0o200 and (creds.euid == q.cuid or creds.euid == q.uid)) \
                    and not ipcperms(q, creds, S_IWUGO):
                raise oserror(errno.EACCES)
            if q.deleted:
                raise oserror(errno.EIDRM)
            if q.q_cbytes + size <= q.q_qbytes and q.q_qnum < q.q_qbytes:
                break
            if flags & IPC_NOWAIT:
                raise oserror(errno.EAGAIN)
            w = StopEndsWaiter(self, ("msgsnd on queue {} of ipc:[{}] (queue full)", msqid,
                                       ns.inum), size)
            if q.q_senders is None:
                q.q_senders = WaitQueue()
            q.q_senders.add(w)
            reason = kernel.sched.block(w)
            if q.deleted:
                raise oserror(errno.EIDRM)
            if reason == STOPPED and not handler_due(self):
                restart_syscall(self, "msgsnd", msqid, mtype, text, flags)
                return
            if reason == SIGNAL or reason == STOPPED:
                raise oserror(errno.EINTR)
        now = kernel.clock.wall
        if q.q_lspid_ref is not self.thread_pid:
            # (a client and a server on one queue change it each call: the store is inline)
            old, pid = q.q_lspid_ref, self.thread_pid
            q.q_lspid_ref = pid
            if pid.level or old is not None and old.level:
                update_pid(old, pid)
        q.q_stime = now
        msg = [mtype, text]
        if q.q_receivers and q.pipelined_send(kernel.sched, msg, now):
            return
        # enqueue (inline: the hot path)
        q.q_messages.append(msg)
        fifo = q.q_bytype.get(mtype)
        if fifo is None:
            q.new_type(mtype, msg)
        else:
            fifo.append(msg)
        q.q_cbytes += size
        q.q_qnum += 1
        ns.msg_bytes += size
        ns.msg_hdrs += 1

    @syscall
    def msgrcv(self, msqid: int, msgsz: int, msgtyp: int = 0, flags: int = 0) -> tuple[int, bytes]:
        """msgrcv(2): ``(mtype, data)`` of the message ``msgtyp`` selects (0: the first; > 0:
        the first of that type, or with MSG_EXCEPT the first of another; < 0: the first of
        the lowest type <= -msgtyp; with MSG_COPY, a copy of the one at position msgtyp).
        E2BIG if longer than ``msgsz`` (MSG_NOERROR truncates); blocks while none matches
        unless IPC_NOWAIT (ENOMSG)."""
        if not (type(msqid) is int and type(msgsz) is int and type(msgtyp) is int
                and type(flags) is int and 0 <= flags <= 0xFFFFFFFF
                and msgsz <= LONG_MAX and LONG_MIN <= msgtyp <= LONG_MAX):
            msqid, msgsz = int_arg(msqid, "msqid"), _long(msgsz, "msgsz")
            msgtyp, flags = _long(msgtyp, "msgtyp"), flags_arg(flags, "flags")
        if msqid < 0 or msgsz < 0:
            raise oserror(errno.EINVAL)
        ns = self.ipc_ns
        copy_size = None
        if flags & MSG_COPY:
            if flags & MSG_EXCEPT or not flags & IPC_NOWAIT:
                raise oserror(errno.EINVAL)
            copy_size = min(msgsz, ns.msg_ctlmax)
            mode, want = SEARCH_NUMBER, msgtyp
        elif msgtyp == 0:
            mode, want = SEARCH_ANY, 0
        elif msgtyp > 0 and not flags & MSG_EXCEPT:
            mode, want = SEARCH_EQUAL, msgtyp
        else:
            mode, want = convert_mode(msgtyp, flags)
        objs = ns.msg_ids.objs
        q = objs.get(msqid & 0x7FFF) if objs else None
        if q is None or q.seq != msqid >> 15:
            q = ns.msg_ids.obtain_check(msqid)
        kernel = self.kernel
        creds = self.creds
        while True:
            if not (q.mode & 0o400 and (creds.euid == q.cuid or creds.euid == q.uid)) \
                    and not ipcperms(q, creds, S_IRUGO):
                raise oserror(errno.EACCES)
            if q.deleted:
                raise oserror(errno.EIDRM)
            if mode == SEARCH_ANY:
                messages = q.q_messages
                msg = messages[0] if messages else None
                if msg is not None and not msg:
                    msg = q.first()
            elif mode == SEARCH_EQUAL:
                fifo = q.q_bytype.get(want)
                msg = fifo[0] if fifo else q.q_lone.get(want)
            else:
                msg = q.find(want, mode)
            if msg is not None:
                mtype, text = msg
                if msgsz < len(text) and not flags & MSG_NOERROR:
                    raise oserror(errno.E2BIG)
                if copy_size is not None:
                    if len(text) > copy_size:
                        raise oserror(errno.EINVAL)
                    return mtype, text
                # unlink (inline for the hot path): msg is the oldest of its type
                if mode != SEARCH_EQUAL:      # (else fifo is the type's, from above)
                    fifo = q.q_bytype.get(mtype)
                if fifo:
                    fifo.popleft()
                else:
                    q.q_lone[mtype] = None
                if q.q_messages[0] is msg:
                    q.q_messages.popleft()
                else:
                    q.dead_in_middle(msg)
                size = len(text)
                q.q_cbytes -= size
                q.q_qnum -= 1
                ns.msg_bytes -= size
                ns.msg_hdrs -= 1
                q.q_rtime = kernel.clock.wall
                if q.q_lrpid_ref is not self.thread_pid:
                    old, pid = q.q_lrpid_ref, self.thread_pid
                    q.q_lrpid_ref = pid                 # (inline, as in msgsnd)
                    if pid.level or old is not None and old.level:
                        update_pid(old, pid)
                if q.q_senders:
                    q.ss_wakeup(kernel.sched)
                return mtype, text[:msgsz] if len(text) > msgsz else text
            if flags & IPC_NOWAIT:
                raise oserror(errno.ENOMSG)
            maxsize = INT_MAX if flags & MSG_NOERROR else msgsz
            w = StopEndsWaiter(self, ("msgrcv on queue {} of ipc:[{}] (type {})", msqid,
                                       ns.inum, msgtyp), (mode, want, maxsize))
            if q.q_receivers is None:
                q.q_receivers = WaitQueue()
            q.q_receivers.add(w)
            reason = kernel.sched.block(w)
            if w.result is not None:
                kind, value = w.result
                if kind == "err":
                    raise oserror(value)
                mtype, text = value[0], value[1]
                return mtype, text[:msgsz] if len(text) > msgsz else text
            if reason == STOPPED and not handler_due(self):
                again: tuple[int, bytes] = restart_syscall(self, "msgrcv", msqid, msgsz, msgtyp,
                                                           flags)
                return again
            if reason == SIGNAL or reason == STOPPED:
                raise oserror(errno.EINTR)
            # woken by IPC_SET: start again from the permission check

    @overload
    def msgctl(self, msqid: int, cmd: Literal[2], buf: None = None) -> MsqidDs: ...  # IPC_STAT

    @overload   # MSG_STAT, MSG_STAT_ANY
    def msgctl(self, msqid: int, cmd: Literal[11, 13], buf: None = None) -> tuple[int, MsqidDs]:
        ...

    @overload   # IPC_INFO, MSG_INFO
    def msgctl(self, msqid: int, cmd: Literal[3, 12], buf: None = None) -> tuple[int, Msginfo]:
        ...

    @overload   # IPC_RMID, IPC_SET
    def msgctl(self, msqid: int, cmd: Literal[0, 1], buf: MsqidDs | None = None) -> None: ...

    @overload
    def msgctl(self, msqid: int, cmd: int, buf: MsqidDs | None = None) -> MsgctlResult: ...

    @hot_syscall
    def msgctl(self, msqid: int, cmd: int, buf: MsqidDs | None = None) -> MsgctlResult:
        """msgctl(2). IPC_STAT: a MsqidDs. MSG_STAT, MSG_STAT_ANY: (full id, MsqidDs) of the
        queue in slot ``msqid``. IPC_INFO, MSG_INFO: (highest slot in use, Msginfo).
        IPC_SET: from ``buf`` (uid, gid, mode, msg_qbytes; raising msg_qbytes past msgmnb
        needs CAP_SYS_RESOURCE). IPC_RMID: wakes every waiter with EIDRM."""
        kernel = self.kernel
        if kernel._slow or not self.alive:
            return kernel._syscall(self, _msgctl, "msgctl", (msqid, cmd, buf), NOKW)
        if cmd == IPC_RMID and type(cmd) is int and type(msqid) is int and msqid >= 0:
            # the hot path of IPC_RMID: ipcctl_obtain_check() inline, for the owner
            objs = self.ipc_ns.msg_ids.objs
            q = objs.get(msqid & 0x7FFF) if objs else None
            if q is not None and q.seq == msqid >> 15:
                euid = self.creds.euid
                if euid == q.cuid or euid == q.uid:
                    q.freeque()
                    return None
        return _msgctl(self, msqid, cmd, buf)


def _msgget(proc: ProcessState, key: int, msgflg: int) -> int:
    if not (type(key) is int and type(msgflg) is int and -0x80000000 <= key <= 0x7FFFFFFF
            and 0 <= msgflg <= 0xFFFFFFFF):
        key, msgflg = key_arg(key), flags_arg(msgflg, "msgflg")
    ns = proc.ipc_ns
    if key == 0:     # IPC_PRIVATE always creates (ipcget)
        q = MsgQueue(ns, 0, msgflg & 0o777, proc.creds, proc.kernel.clock.wall)
        return ns.msg_ids.addid(q, ns.msg_ctlmni)

    def newque() -> int:
        q = MsgQueue(ns, key, msgflg & 0o777, proc.creds, proc.kernel.clock.wall)
        return ns.msg_ids.addid(q, ns.msg_ctlmni)

    return ipcget(proc, ns.msg_ids, key, msgflg, newque)


def _msgctl(proc: ProcessState, msqid: int, cmd: int, buf: object) -> MsgctlResult:
    if type(msqid) is not int or type(cmd) is not int:
        msqid, cmd = int_arg(msqid, "msqid"), int_arg(cmd, "cmd")
    if msqid < 0 or cmd < 0:
        raise oserror(errno.EINVAL)
    ns = proc.ipc_ns
    ids = ns.msg_ids
    if cmd == IPC_RMID:
        obtain_for_ctl(proc, ids, msqid).freeque()
        return None
    if cmd in (IPC_INFO, MSG_INFO):
        info = Msginfo(msgmni=ns.msg_ctlmni, msgmax=ns.msg_ctlmax, msgmnb=ns.msg_ctlmnb,
                       msgssz=MSGSSZ, msgseg=MSGSEG)
        if cmd == MSG_INFO:
            info.msgpool = ids.in_use
            info.msgmap = min(ns.msg_hdrs, INT_MAX)
            info.msgtql = min(ns.msg_bytes, INT_MAX)
        else:
            info.msgmap, info.msgpool, info.msgtql = MSGMAP, MSGPOOL, MSGTQL
        return max(ids.get_maxidx(), 0), info
    if cmd in (IPC_STAT, MSG_STAT, MSG_STAT_ANY):
        q = ids.obtain_check(msqid) if cmd == IPC_STAT else ids.obtain_idx(msqid)
        if cmd != MSG_STAT_ANY and not ipcperms(q, proc.creds, S_IRUGO):
            raise oserror(errno.EACCES)
        ds = q.stat(proc.creds, proc.pid_ns)
        return ds if cmd == IPC_STAT else (q.id, ds)
    if cmd == IPC_SET:
        if not isinstance(buf, MsqidDs):
            raise TypeError("IPC_SET takes a MsqidDs (as IPC_STAT returns)")
        qbytes32 = int_arg(buf.msg_qbytes, "msg_qbytes") & 0xFFFFFFFF
        q = obtain_for_ctl(proc, ids, msqid)
        if qbytes32 > ns.msg_ctlmnb and not proc.creds.capable(CAP_SYS_RESOURCE):
            raise oserror(errno.EPERM)
        update_perm(proc, q, buf.msg_perm)
        # stored as the int it was passed through, sign-extended to unsigned long
        q.q_qbytes = (qbytes32 - (1 << 32) if qbytes32 >= 1 << 31 else qbytes32) \
            % (1 << 64)
        q.q_ctime = proc.kernel.clock.time()
        sched = proc.kernel.sched
        q.expunge_all(sched, None)
        q.ss_wakeup(sched)
        return None
    raise oserror(errno.EINVAL)
