"""System V semaphore sets (ipc/sem.c): semget, semop, semtimedop, semctl, SEM_UNDO.

The model follows sem.c's data structures, because the order in which sleeping operations
are served is observable and follows from them:

* a sleeping operation (``struct sem_queue``, here :class:`SemQueue`, carried by the
  sleeper's :class:`Waiter`) waits in one of four kinds of list: a single-op *alter*
  (decrement) request in its semaphore's ``pending_alter`` list, a single-op wait-for-zero
  in its semaphore's ``pending_const``, a multi-op ("complex") request in the set's
  ``pending_alter`` or ``pending_const``;
* while a complex request sleeps (``complex_count > 0``) new single-op alter requests go
  to the set's list. When the first complex request goes to sleep, every semaphore's alter
  list is spliced to the *front* of the set's list, in ascending semaphore order, so the
  set's list then holds the highest-numbered semaphore's requests first (merge_queues);
  when the last complex request leaves, the single-op requests move back to their
  semaphores' lists in the set-list order (unmerge_queues);
* after every change the waker completes what it can (do_smart_update): first the
  wait-for-zero requests of semaphores that are zero, then the alter requests: the set's
  list in order, restarting from its head after each completion, or, when that list is
  empty, the lists of the semaphores that were increased, each until its value is 0. A
  request whose retry ends in an error (ERANGE, or EAGAIN for an IPC_NOWAIT op) is woken
  with that error. Sleepers are woken in the order sem.c queues its wake-ups (the set's
  list reaches that order without walking every request: see SemArray._watch).

A SEM_UNDO adjustment (:class:`SemUndo`) is kept per (undo list, semid); undo lists are
shared by CLONE_SYSVSEM and applied when the last sharer leaves (exit, unshare, setns):
the adjustments are added and clamped to [0, SEMVMX], sempid becomes the leaver's pid,
otime is set even when nothing changed, and waiters are served.

semctl returns, by command: IPC_STAT a :class:`SemidDs`; SEM_STAT and SEM_STAT_ANY a
tuple ``(full id, SemidDs)``; IPC_INFO and SEM_INFO ``(highest index in use, Seminfo)``;
GETVAL, GETPID, GETNCNT, GETZCNT an int; GETALL a list of ints; SETVAL, SETALL, IPC_SET
and IPC_RMID None.
"""
from __future__ import annotations

import errno
from heapq import heappop, heappush
from operator import le as _le
from typing import TYPE_CHECKING, Any, Literal, Sequence, TypeAlias, cast, overload

import attrs

from ..constants import (GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_INFO, IPC_NOWAIT,
                         IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, SEM_INFO, SEM_STAT,
                         SEM_STAT_ANY, SEM_UNDO, SEMAEM, SEMMAP, SEMMNU, SEMUME, SEMUSZ, SEMVMX,
                         SETALL, SETVAL)
from ..errors import oserror
from ..sim.clock import NS, seconds_to_ns
from .perm import IpcPerm, KernIpcPerm, ipcperms
from .pidns import pid_nr_ns, pid_vnr, update_pid
from .syscall import NOKW, CallsBase, hot_syscall, int_arg, syscall
from .util import flags_arg, ipcget, key_arg, obtain_for_ctl, update_perm
from .waitq import TIMEOUT, StopEndsWaiter, WaitQueue, Waiter

if TYPE_CHECKING:
    from .creds import Creds
    from .namespace import IpcNamespace
    from .pidns import Pid
    from .process import ProcessState

# One operation of semop: (sem_num, sem_op, sem_flg).
Sop: TypeAlias = "tuple[int, int, int]"
# The sleepers an update completed, with the errno each returns with (0: done).
Wakes: TypeAlias = "list[tuple[Waiter, int]]"
# Per semaphore, the lowest and the highest value of a range (see SemArray._narrow).
Ranges: TypeAlias = "tuple[list[int], list[int]]"
# A semtimedop timeout: seconds, or a timespec (tv_sec, tv_nsec).
Timeout: TypeAlias = "float | tuple[int, int]"
# What semctl returns, by command (see SemCalls.semctl).
SemctlResult: TypeAlias = \
    "SemidDs | tuple[int, SemidDs] | tuple[int, Seminfo] | int | list[int] | None"

S_IRUGO = 0o444
S_IWUGO = 0o222
SEMADJ_MIN = -SEMAEM - 1     # a semadj is a short
SEMADJ_MAX = SEMAEM
ULONG = 1 << 64
LONG_MIN = -(1 << 63)

_EAGAIN = errno.EAGAIN
_ERANGE = errno.ERANGE
_BLOCK = -1                  # _try(): the op at index i would block -> -(i + 1)
_NO_NEED = SEMVMX + 1        # PendingList.min_need of a list with no request


@attrs.define(slots=True)
class SemidDs:
    """``struct semid64_ds`` as IPC_STAT returns it (IPC_SET reads sem_perm.uid, .gid and
    .mode). ``sem_otime`` is the time of the last semop (0 until one succeeded)."""

    sem_perm: IpcPerm = attrs.Factory(IpcPerm)
    sem_otime: int = 0
    sem_ctime: int = 0
    sem_nsems: int = 0


@attrs.define(slots=True)
class Seminfo:
    """``struct seminfo`` as IPC_INFO and SEM_INFO return it. SEM_INFO puts the number of
    sets in ``semusz`` and the number of semaphores in ``semaem``."""

    semmap: int = 0
    semmni: int = 0
    semmns: int = 0
    semmnu: int = 0
    semmsl: int = 0
    semopm: int = 0
    semume: int = 0
    semusz: int = 0
    semvmx: int = 0
    semaem: int = 0


# --- the per-process undo list ---------------------------------------------------------
class UndoList:
    """``struct sem_undo_list``: the undo entries shared by a group of processes."""

    __slots__ = ("refcnt", "entries")

    def __init__(self) -> None:
        self.refcnt = 1
        # semid -> SemUndo; the most recently used last (sem.c keeps it at the list head)
        self.entries: dict[int, SemUndo] = {}

    def share(self) -> "UndoList":
        """copy_semundo() with CLONE_SYSVSEM: one more sharer."""
        self.refcnt += 1
        return self


class SemUndo:
    """``struct sem_undo``: one undo list's adjustments for one semaphore set."""

    __slots__ = ("ulp", "semid", "sma", "semadj")

    def __init__(self, ulp: UndoList, semid: int, sma: SemArray):
        self.ulp = ulp
        self.semid = semid
        self.sma: SemArray | None = sma       # None once the set is gone
        self.semadj = [0] * sma.sem_nsems

    def apply_at_exit(self, proc: ProcessState, ns: IpcNamespace) -> None:
        """exit_sem() for this entry: look the set up by id in ``ns`` (the leaver's
        namespace now); add each adjustment, clamped to [0, SEMVMX], making the leaver the
        sempid of each semaphore that had one; set otime; serve the waiters."""
        semid = self.semid
        if semid == -1:
            return                    # the set was removed
        sma = None
        objs = ns.sem_ids.objs
        if objs:
            sma = objs.get(semid & 0x7FFF)
        if sma is None or sma.seq != semid >> 15 or sma is not self.sma:
            return
        del sma.undos[self]
        self.semid = -1
        self.sma = None
        semval, sempid, pid = sma.semval, sma.sempid_ref, proc.thread_pid
        for i, adj in enumerate(self.semadj):
            if adj:
                v = semval[i] + adj
                if v < 0:
                    v = 0
                elif v > SEMVMX:
                    v = SEMVMX
                semval[i] = v
                if sempid[i] is not pid:
                    sempid[i] = update_pid(sempid[i], pid)
        wakes: Wakes = []
        sma.do_smart_update(None, True, wakes)
        sma.finish(wakes)

    def __repr__(self) -> str:
        return f"<SemUndo semid={self.semid} semadj={self.semadj}>"


def exit_sem(proc: ProcessState) -> None:
    """Leave the process's undo list; the last sharer applies every adjustment in it, the
    most recently used entry first, in the namespace the process is in now.

    A process killed while it sleeps in semop first leaves the queue it sleeps on (in Linux
    the task unlinks itself before do_exit runs exit_sem)."""
    w = proc.waiter
    if w is not None and w.queue is not None and isinstance(w.data, SemQueue):
        w.queue.discard(w)
    ulp = proc.sysvsem
    if ulp is None:
        return
    proc.sysvsem = None
    ulp.refcnt -= 1
    if ulp.refcnt > 0:
        return
    ns = proc.ipc_ns
    for entry in reversed(list(ulp.entries.values())):
        entry.apply_at_exit(proc, ns)
    ulp.entries.clear()


# --- sleeping operations ---------------------------------------------------------------
class SemQueue:
    """``struct sem_queue``: a sleeping semop, as its Waiter's ``data``."""

    __slots__ = ("sops", "nsops", "undo", "pid", "alter", "_blocking", "dupsop", "values",
                 "seq", "watch")

    def __init__(self, sops: list[Sop], undo: SemUndo | None, pid: Pid, alter: bool,
                 blocking: int):
        self.sops = sops
        self.nsops = len(sops)
        self.undo = undo
        self.pid = pid
        self.alter = alter
        self._blocking = blocking
        # an op sees the values the earlier ops of the same semaphore left (sem.c's dupsop)
        self.dupsop = len({sop[0] for sop in sops}) < len(sops)
        # in the set's alter list: the set's values (see blocking), its place in the list
        # and the watch lists that hold it (see SemArray._watch)
        self.values: list[int] | None = None
        self.seq = 0
        self.watch: list[dict[Waiter, int]] = []

    @property
    def blocking(self) -> int:
        """The index of the op it sleeps on (GETNCNT/GETZCNT). In the set's alter list, sem.c
        retries every request after each change, so it is the first op that fails with the
        values as they are; it is computed when asked."""
        semval = self.values
        if semval is None:
            return self._blocking
        seen: dict[int, int] = {}
        for j, (num, op, _) in enumerate(self.sops):
            v = seen.get(num, semval[num]) if self.dupsop else semval[num]
            if (v != 0) if op == 0 else (v + op < 0):
                return j
            seen[num] = v + op
        return self._blocking

    @blocking.setter
    def blocking(self, value: int) -> None:
        self._blocking = value

    def need(self) -> int:
        """A single decrement's need: the value its semaphore must reach."""
        return -self.sops[0][1]


class PendingList(WaitQueue):
    """One of a set's lists of sleeping operations, in FIFO order.

    ``discard`` is what the scheduler calls when a sleeper's wait ends by itself (timeout,
    signal, death, deadlock): like the sleeper's own unlink_queue + sem_unlock, it keeps
    ``complex_count`` right and moves single-op requests back to their semaphores when the
    last complex one left."""

    __slots__ = ("sma", "min_need")

    def __init__(self, sma: SemArray):
        super().__init__()
        self.sma = sma
        # a semaphore's list of single decrements: no request in it can proceed while the
        # value is below this (a lower bound of their needs; exact after a full scan)
        self.min_need = _NO_NEED

    def discard(self, waiter: Waiter) -> None:
        if self.pop(waiter, 0) is None:
            waiter.queue = None
            sma = self.sma
            if self is sma.pending_alter:
                sma._unwatch(waiter, waiter.data)
            sma.nwait -= 1
            if waiter.data.nsops > 1:
                sma.complex_count -= 1
            if not sma.complex_count and sma.pending_alter:
                sma.unmerge_queues()


class _NoSleepers(PendingList):
    """The lists of a set nobody has slept on: empty, shared by every such set (a set makes
    its own at its first sleeper, SemArray._make_lists), never added to."""

    __slots__ = ()

    def __setitem__(self, waiter: Waiter, value: None) -> None:
        raise AssertionError("a semaphore set makes its lists before its first sleeper")


class _NoTable(dict[Any, Any]):
    """A set's per-semaphore tables before its first sleeper (and its undo entries before the
    first): empty, shared, never added to."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        raise AssertionError("a semaphore set makes its tables before their first entry")


_keys = dict.keys


class SemWatch:
    """The sleepers of a set's alter list whose sleep a change of one semaphore could end
    (see SemArray._watch), each map keyed by sleeper."""

    __slots__ = ("dec", "zero", "inc", "adj", "any", "min_need", "max_ok")

    def __init__(self) -> None:
        self.dec: dict[Waiter, int] = {}      # its witness decrements it: -> the value needed
        self.zero: dict[Waiter, int] = {}     # its witness waits for it to be zero
        self.inc: dict[Waiter, int] = {}      # an earlier op adds to it: -> the highest
        #                                       value at which that op does not overflow
        self.adj: dict[Waiter, int] = {}      # an earlier op has SEM_UNDO: semadj matters
        self.any: dict[Waiter, int] = {}      # any change of it may matter
        self.min_need = _NO_NEED              # a lower bound of dec's needs
        self.max_ok = SEMVMX                  # a lower bound of inc's highest values


class SemArray(KernIpcPerm):
    """``struct sem_array``: a set of semaphores, its sleepers and its undo entries.
    ``sempid_ref[n]`` is the :class:`~ipcsim.kernel.pidns.Pid` of the last process that
    changed semaphore n (None for none), kept as Linux keeps its struct pid so that GETPID
    numbers it in the caller's PID namespace (each holds its pid, and so the PID namespace
    it was made in, until replaced or the set is removed); ``sempid`` lists those numbers in
    the initial namespace (0 for none)."""

    __slots__ = ("sem_nsems", "semval", "sempid_ref", "sem_otime", "sem_ctime", "pending_alter",
                 "pending_const", "sem_alter", "sem_const", "complex_count", "nwait",
                 "undos", "const_range", "watchers", "alter_head", "alter_tail")

    def __init__(self, ns: IpcNamespace, key: int, mode: int, creds: Creds, nsems: int,
                 now: int):
        # kern_ipc_perm, set here rather than through super().__init__ (semget's path)
        self.ns, self.key, self.mode = ns, key, mode
        self.uid = self.cuid = creds.euid
        self.gid = self.cgid = creds.egid
        self.deleted = False          # id and seq: set by addid, before anyone sees the set
        self.sem_nsems = nsems
        self.semval = [0] * nsems
        self.sempid_ref: list[Pid | None] = [None] * nsems
        # Linux keeps an otime per semaphore and shows their maximum; the clock never goes
        # back, so the last one set is the maximum.
        self.sem_otime = 0
        self.sem_ctime = now
        # The lists and tables of sleepers are the shared empty ones until the first sleeper
        # (_make_lists): most sets never have one.
        self.pending_alter: PendingList = _NO_SLEEPERS   # complex alter ops (+ merged single ones)
        self.pending_const: PendingList = _NO_SLEEPERS   # complex wait-for-zero ops
        self.sem_alter: dict[int, PendingList] = _NO_TABLE   # semnum -> single-op decrements
        self.sem_const: dict[int, PendingList] = _NO_TABLE   # semnum -> single-op wait-for-zero
        self.complex_count = 0
        self.nwait = 0                                # sleepers in all the lists
        # list_id: the undo entries for the set (its own dict from the first, add_undo)
        self.undos: dict[SemUndo, None] = _NO_TABLE
        # the values within which no request of pending_const would change (see _narrow)
        self.const_range: Ranges | None = None
        # semnum -> the sleepers of pending_alter that watch it (see _watch)
        self.watchers: dict[int, SemWatch] = _NO_TABLE
        # the places in pending_alter before its head and after its tail (SemQueue.seq)
        self.alter_head = 0
        self.alter_tail = 0

    def _make_lists(self) -> None:
        """The set's own lists and tables of sleepers, made at its first sleeper."""
        self.pending_alter = PendingList(self)
        self.pending_const = PendingList(self)
        self.sem_alter = {}
        self.sem_const = {}
        self.watchers = {}

    def add_undo(self, un: SemUndo) -> None:
        """list_add(&un->list_id, &sma->list_id): one more undo entry for the set."""
        undos = self.undos
        if undos is _NO_TABLE:
            undos = self.undos = {}
        undos[un] = None

    # --- trying operations -------------------------------------------------------------
    def _try(self, sops: Sequence[Sop], un: SemUndo | None, pid: Pid) -> int:
        """perform_atomic_semop(): apply every op of ``sops`` in order, or none (``un``:
        the caller's undo entry for the set, there when an op has SEM_UNDO).

        Returns 0 (done: values, semadj and sempid updated), ERANGE, EAGAIN (the first op
        that cannot proceed has IPC_NOWAIT), or -(i + 1) when op i would block."""
        semval = self.semval
        if len(sops) == 1:
            num, op, flg = sops[0]
            v = semval[num]
            if op == 0:
                if v:
                    return _EAGAIN if flg & IPC_NOWAIT else _BLOCK
            else:
                v += op
                if v < 0:
                    return _EAGAIN if flg & IPC_NOWAIT else _BLOCK
                if v > SEMVMX:
                    return _ERANGE
                if flg & SEM_UNDO:
                    assert un is not None
                    adj = un.semadj[num] - op
                    if adj < SEMADJ_MIN or adj > SEMADJ_MAX:
                        return _ERANGE
                    un.semadj[num] = adj
                semval[num] = v
            sempid = self.sempid_ref
            last = sempid[num]
            if last is not pid:
                # (a hold is counted only below the initial PID namespace)
                if pid.level or last is not None and last.level:
                    update_pid(last, pid)
                sempid[num] = pid
            return 0
        result = 0
        i = 0
        for num, op, flg in sops:
            v = semval[num]
            if op == 0:
                if v:
                    result = _EAGAIN if flg & IPC_NOWAIT else -(i + 1)
                    break
            else:
                v += op
                if v < 0:
                    result = _EAGAIN if flg & IPC_NOWAIT else -(i + 1)
                    break
                if v > SEMVMX:
                    result = _ERANGE
                    break
                if flg & SEM_UNDO:
                    assert un is not None
                    adj = un.semadj[num] - op
                    if adj < SEMADJ_MIN or adj > SEMADJ_MAX:
                        result = _ERANGE
                        break
                    un.semadj[num] = adj
                semval[num] = v
            i += 1
        if result == 0:
            sempid = self.sempid_ref
            for num, _, _ in sops:
                if sempid[num] is not pid:
                    sempid[num] = update_pid(sempid[num], pid)
            return 0
        for j in range(i - 1, -1, -1):      # undo the ops applied so far
            num, op, flg = sops[j]
            if op:
                semval[num] -= op
                if flg & SEM_UNDO:
                    assert un is not None
                    un.semadj[num] += op
        return result

    def _retry(self, q: SemQueue) -> int:
        """A sleeping operation's retry: 0, an errno (ERANGE, EAGAIN), or -1: it still
        blocks, now on the op q.blocking (which GETNCNT/GETZCNT look at)."""
        r = self._try(q.sops, q.undo, q.pid)
        if r < 0:
            q.blocking = -r - 1
            return -1
        return r

    # --- what a change cannot affect -----------------------------------------------------
    # sem.c retries every request of pending_const whenever a semaphore reaches zero; most
    # retries block again on the same op. For that list the array keeps, per semaphore, a
    # range of values (lo[n]..hi[n]): while every value stays in its range, every request of
    # the list would block again on the op it blocks on now, so a scan would change nothing
    # (no wake-up, no GETZCNT count) and is skipped. A scan that runs rebuilds the ranges
    # from the retries it makes; a request added narrows them; one that leaves does not
    # widen them (they stay safe, only narrower than they need be).

    def _fresh_ranges(self) -> Ranges:
        n = self.sem_nsems
        return [0] * n, [SEMVMX] * n

    def _narrow(self, q: SemQueue, lo: list[int], hi: list[int]) -> None:
        """Narrow the ranges to the values for which ``q``, which blocks now on op
        q.blocking, would block there again: each op before it still passes, it does not.
        An earlier op with SEM_UNDO also checks its semadj, which changes with any op on its
        semaphore: that semaphore's range is then empty (any change of it rescans)."""
        semval = self.semval
        sops = q.sops
        seen: dict[int, int] = {}       # the dupsop case: what earlier ops added
        dupsop = q.dupsop
        for j in range(q.blocking):
            num, op, flg = sops[j]
            a = seen.get(num, 0) if dupsop else 0
            if op == 0:
                if lo[num] < -a:
                    lo[num] = -a
                if hi[num] > -a:
                    hi[num] = -a
                continue
            if flg & SEM_UNDO:
                lo[num], hi[num] = _NO_NEED, -1
            elif op < 0:
                if lo[num] < -a - op:
                    lo[num] = -a - op
            elif hi[num] > SEMVMX - a - op:
                hi[num] = SEMVMX - a - op
            if dupsop:
                seen[num] = a + op
        num, op, _ = sops[q.blocking]
        t = -(seen.get(num, 0) if dupsop else 0) - op    # the value it waits for (op 0) or
        if op or semval[num] < t:                        # needs at least (a decrement)
            if hi[num] >= t:
                hi[num] = t - 1
        elif lo[num] <= t:
            lo[num] = t + 1

    def _retry_narrow(self, q: SemQueue, lo: list[int], hi: list[int]) -> int:
        """_retry() for a request of pending_const, narrowing the list's ranges
        to the values for which it would block where it blocks now (see _narrow). Without
        dupsop this is perform_atomic_semop()'s fast path: every op checked against the
        values as they are, then all applied; the ranges narrow as the ops pass (for a
        request that then completes, they end up narrower than they need be)."""
        if q.dupsop:
            err = self._retry(q)
            if err < 0:
                self._narrow(q, lo, hi)
            return err
        semval = self.semval
        sops = q.sops
        j = 0
        for num, op, flg in sops:
            v = semval[num]
            if op == 0:
                if v:
                    if flg & IPC_NOWAIT:
                        return _EAGAIN
                    if lo[num] < 1:
                        lo[num] = 1
                    q.blocking = j
                    return -1
                if hi[num] > 0:
                    hi[num] = 0
            elif op < 0:
                if v + op < 0:
                    if flg & IPC_NOWAIT:
                        return _EAGAIN
                    if hi[num] >= -op:
                        hi[num] = -op - 1
                    q.blocking = j
                    return -1
                if flg & SEM_UNDO:
                    lo[num], hi[num] = _NO_NEED, -1
                elif lo[num] < -op:
                    lo[num] = -op
            else:
                if v + op > SEMVMX:
                    return _ERANGE
                if flg & SEM_UNDO:
                    lo[num], hi[num] = _NO_NEED, -1
                elif hi[num] > SEMVMX - op:
                    hi[num] = SEMVMX - op
            if op and flg & SEM_UNDO:
                adj = q.undo.semadj[num] - op       # type: ignore[union-attr]
                if adj < SEMADJ_MIN or adj > SEMADJ_MAX:
                    return _ERANGE
            j += 1
        un, sempid, pid = q.undo, self.sempid_ref, q.pid
        for num, op, flg in sops:
            if op:
                semval[num] += op
                if flg & SEM_UNDO:
                    un.semadj[num] -= op            # type: ignore[union-attr]
            if sempid[num] is not pid:
                sempid[num] = update_pid(sempid[num], pid)
        return 0

    def _const_may_change(self) -> bool:
        """Whether a scan of pending_const could change anything: its requests are retried
        only when a semaphore reaches zero, so every value is checked against its range
        (unless there are many more semaphores than requests to scan)."""
        r = self.const_range
        if r is None or self.sem_nsems > 16 * len(self.pending_const):
            return True
        lo, hi = r
        semval = self.semval
        return not (all(map(_le, lo, semval)) and all(map(_le, semval, hi)))

    # --- serving sleepers ---------------------------------------------------------------
    def _unlink(self, w: Waiter) -> None:
        """unlink_queue() during a scan: the waiter stays in the dict until the scan ends."""
        w.queue = None
        self.nwait -= 1
        if w.data.nsops > 1:
            self.complex_count -= 1

    def wake_const_ops(self, lst: PendingList, wakes: Wakes) -> bool:
        """Retry the wait-for-zero requests of ``lst`` in order; True if one completed."""
        completed = False
        gone = None
        ranges = self._fresh_ranges() if lst is self.pending_const else None
        for w in _keys(lst):
            q = w.data
            err = self._retry(q) if ranges is None else self._retry_narrow(q, *ranges)
            if err < 0:
                continue
            self._unlink(w)
            if gone is None:
                gone = [w]
            else:
                gone.append(w)
            wakes.append((w, err))
            if err == 0:
                completed = True
        if gone:
            for w in gone:
                del lst[w]
        if ranges is not None:
            self.const_range = ranges
        return completed

    def wakeup_zero(self, sops: Sequence[Sop] | None, wakes: Wakes) -> bool:
        """do_smart_wakeup_zero(): the zero-waiters of each semaphore that ``sops`` named
        (every semaphore when None) and that is now 0; then, if any was 0, the complex
        zero-waiters."""
        semval = self.semval
        completed = False
        got_zero = False
        sem_const = self.sem_const
        if sops is not None:
            for num, _, _ in sops:
                if semval[num] == 0:
                    got_zero = True
                    lst = sem_const.get(num) if sem_const else None
                    if lst:
                        completed |= self.wake_const_ops(lst, wakes)
        else:
            got_zero = 0 in semval
            if got_zero and sem_const:
                for num in sorted(sem_const):
                    lst = sem_const[num]
                    if lst and semval[num] == 0:
                        completed |= self.wake_const_ops(lst, wakes)
        if got_zero and self.pending_const and self._const_may_change():
            completed |= self.wake_const_ops(self.pending_const, wakes)
        return completed

    def update_queue(self, lst: PendingList, semnum: int, wakes: Wakes) -> bool:
        """update_queue(): retry the alter requests of ``lst`` in order, completing each
        that can proceed. On the set's list (``semnum`` -1) the scan restarts from the head
        after each completion while requests remain; on a semaphore's list it stops once
        that semaphore is 0. True if one completed."""
        if semnum >= 0:
            return self._update_sem_queue(lst, semnum, wakes)
        return self._update_set_queue(None, wakes)

    # --- the set's alter list ------------------------------------------------------------
    # sem.c retries every request of pending_alter after each change, in order, restarting
    # from the head after each completion. So between changes every request blocks on the
    # first op that fails with the values as they are, and a change completes (or fails with
    # ERANGE/EAGAIN) the earliest request that no longer blocks, then the earliest one under
    # the new values, and so on. A request blocks as long as one op fails and no earlier op
    # turns into an error: each request keeps a *witness*, an op that fails now, and is
    # listed under the semaphores that could change that: the witness's, and those of the
    # earlier ops that could end in ERANGE or EAGAIN (an increment, SEM_UNDO, IPC_NOWAIT).
    # A change looks only at the requests listed under the semaphores it changed.

    def _watch(self, w: Waiter, q: SemQueue) -> int:
        """List a request of pending_alter under the semaphores whose change could end its
        sleep, if it blocks with the values as they are (-1). Otherwise it is not listed,
        and the result its retry would have is returned (0, ERANGE, EAGAIN).

        Each op is judged as if the earlier ones had passed (with dupsop it sees what the
        earlier ops of its semaphore added): whether it fails, or ends in an error, then
        depends on its own semaphore's value (and semadj) alone."""
        semval = self.semval
        sops = q.sops
        dupsop = q.dupsop
        added: dict[int, int] = {}          # dupsop: what the earlier ops of a semaphore add
        witness = -1
        j = 0
        for num, op, flg in sops:
            v = semval[num] + added.get(num, 0) if dupsop else semval[num]
            if (v != 0) if op == 0 else (v + op < 0):
                if flg & IPC_NOWAIT:
                    if witness < 0:
                        return _EAGAIN
                    break
                witness = j        # the last failing op: often on a semaphore that rests
            elif op and (v + op > SEMVMX or flg & SEM_UNDO and not SEMADJ_MIN <= (
                    self._semadj_before(q, j) - op) <= SEMADJ_MAX):
                if witness < 0:
                    return _ERANGE
                break
            if dupsop:
                added[num] = added.get(num, 0) + op
            j += 1
        if witness < 0:
            return 0
        watchers = self.watchers
        watch = q.watch
        num, op, _ = sops[witness]
        sw = watchers.get(num)
        if sw is None:
            sw = watchers[num] = SemWatch()
        a = sum(sop[1] for sop in sops[:witness] if sop[0] == num) if dupsop else 0
        if op:
            need = -a - op                  # it fails while the value is below this
            sw.dec[w] = need
            if need < sw.min_need:
                sw.min_need = need
            watch.append(sw.dec)
        elif not a:
            sw.zero[w] = 0
            watch.append(sw.zero)
        else:
            sw.any[w] = 0
            watch.append(sw.any)
        added.clear()
        for num, op, flg in sops[:witness]:
            a = added.get(num, 0) if dupsop else 0
            if dupsop:
                added[num] = a + op
            if not (op > 0 or flg & (IPC_NOWAIT | SEM_UNDO)):
                continue
            sw = watchers.get(num)
            if sw is None:
                sw = watchers[num] = SemWatch()
            if flg & SEM_UNDO and w not in sw.adj:
                sw.adj[w] = 0
                watch.append(sw.adj)
            if op < 0 and not flg & IPC_NOWAIT:
                continue        # a decrement can only block (or, with SEM_UNDO, see adj)
            if op > 0:
                # an increment can only overflow (IPC_NOWAIT changes nothing for it)
                top = SEMVMX - a - op
                if top < sw.inc.get(w, SEMVMX + 1):
                    if w not in sw.inc:
                        watch.append(sw.inc)
                    sw.inc[w] = top
                    if top < sw.max_ok:
                        sw.max_ok = top
            elif w not in sw.any:
                sw.any[w] = 0
                watch.append(sw.any)
        return -1

    @staticmethod
    def _semadj_before(q: SemQueue, j: int) -> int:
        """The semadj op j of ``q`` sees, its earlier SEM_UNDO ops of the same semaphore
        applied (they are, when it is reached)."""
        num = q.sops[j][0]
        adj = q.undo.semadj[num]            # type: ignore[union-attr]
        if q.dupsop:
            for n, op, flg in q.sops[:j]:
                if n == num and flg & SEM_UNDO:
                    adj -= op
        return adj

    @staticmethod
    def _unwatch(w: Waiter, q: SemQueue) -> None:
        for lst in q.watch:
            del lst[w]
        q.watch = []

    def _changed(self, sops: Sequence[Sop] | None, ready: list[tuple[int, Waiter]]) -> None:
        """Move the requests of pending_alter whose sleep the ops ``sops`` (None: a change
        of any value or semadj) may have ended to ``ready``, a heap by place in the list."""
        cands: dict[Waiter, int] | list[Waiter]
        if sops is None:
            cands = list(_keys(self.pending_alter))
        else:
            cands = {}
            watchers, semval = self.watchers, self.semval
            for num, op, flg in sops:
                sw = watchers.get(num) if op else None
                if sw is None:
                    continue
                if sw.any:
                    cands.update(sw.any)
                if flg & SEM_UNDO and sw.adj:
                    cands.update(sw.adj)
                v = semval[num]
                if v == 0 and sw.zero:
                    cands.update(sw.zero)
                if v >= sw.min_need:
                    least = _NO_NEED
                    for w, need in sw.dec.items():
                        if need <= v:
                            cands[w] = 0
                        elif need < least:
                            least = need
                    sw.min_need = least
                if v > sw.max_ok:
                    least = SEMVMX
                    for w, top in sw.inc.items():
                        if v > top:
                            cands[w] = 0
                        elif top < least:
                            least = top
                    sw.max_ok = least
        for w in cands:
            q = w.data
            self._unwatch(w, q)
            if self._watch(w, q) >= 0:
                heappush(ready, (q.seq, w))

    def _update_set_queue(self, sops: Sequence[Sop] | None, wakes: Wakes) -> bool:
        """update_queue() on pending_alter after the ops ``sops`` (None: any value or
        semadj may have changed): complete, in the order sem.c does, the requests that no longer block. True
        if one completed."""
        ready: list[tuple[int, Waiter]] = []
        self._changed(sops, ready)
        completed = False
        glob = self.pending_alter
        while ready:
            w = heappop(ready)[1]
            q = w.data
            err = self._try(q.sops, q.undo, q.pid)
            if err < 0:
                self._watch(w, q)
                continue
            self._unlink(w)
            del glob[w]
            q.values = None
            if err == 0:
                completed = True
                self.wakeup_zero(q.sops, wakes)
                wakes.append((w, 0))
                self._changed(q.sops, ready)
            else:
                wakes.append((w, err))
        return completed

    def _update_sem_queue(self, lst: PendingList, semnum: int, wakes: Wakes) -> bool:
        """update_queue() on a semaphore's list of single decrements: none can proceed
        below the list's min_need, so that scan is skipped. (A completion never restarts
        the scan: the set's list is empty, and a single op is not complex.)"""
        semval = self.semval
        if semval[semnum] < lst.min_need:
            return False
        completed = False
        gone = None
        min_need = _NO_NEED
        for w in _keys(lst):
            v = semval[semnum]
            if v == 0:
                min_need = lst.min_need        # the rest was not looked at
                break
            q = w.data
            op = q.sops[0][1]
            if v + op < 0:                     # still blocks (the op is a decrement)
                if -op < min_need:
                    min_need = -op
                continue
            err = self._retry(q)
            self._unlink(w)
            if gone is None:
                gone = [w]
            else:
                gone.append(w)
            if err == 0:
                completed = True
                self.wakeup_zero(q.sops, wakes)
            wakes.append((w, err))
        if gone:
            for w in gone:
                del lst[w]
        lst.min_need = min_need
        return completed

    def do_smart_update(self, sops: Sequence[Sop] | None, otime: bool, wakes: Wakes) -> None:
        """do_smart_update() after the values changed (``sops`` None: any may have)."""
        lst: PendingList | None
        if self.wakeup_zero(sops, wakes):
            otime = True
        glob = self.pending_alter
        if glob:
            if self._update_set_queue(sops, wakes):
                otime = True
        elif self.sem_alter:
            sem_alter = self.sem_alter
            if sops is None:
                for num in sorted(sem_alter):
                    lst = sem_alter[num]
                    if lst and self.update_queue(lst, num, wakes):
                        otime = True
            else:
                for num, op, _ in sops:
                    if op > 0:
                        lst = sem_alter.get(num)
                        if lst and self.update_queue(lst, num, wakes):
                            otime = True
        if otime:
            self.sem_otime = self.ns.kernel.clock.wall

    def finish(self, wakes: Wakes) -> None:
        """sem_unlock() + wake_up_q(): unmerge if no complex op is left, then wake."""
        if not self.complex_count and self.pending_alter:
            self.unmerge_queues()
        if wakes:
            sched = self.ns.kernel.sched
            for w, err in wakes:
                sched.wake(w, err)

    def merge_queues(self) -> None:
        """merge_queues(): each semaphore's alter list, in ascending order, is spliced to
        the front of the set's list."""
        merged: list[Waiter] = []
        sem_alter = self.sem_alter
        for num in sorted(sem_alter, reverse=True):
            lst = sem_alter[num]
            if lst:
                merged.extend(_keys(lst))
                dict.clear(lst)
                lst.min_need = _NO_NEED
        if not merged:
            return
        glob = self.pending_alter
        rest = list(_keys(glob))
        dict.clear(glob)
        seq = self.alter_head = self.alter_head - len(merged)
        semval = self.semval
        for w in merged:
            glob[w] = None
            w.queue = glob
            q = w.data
            q.seq = seq
            seq += 1
            q.values = semval
            self._watch(w, q)
        for w in rest:
            glob[w] = None

    def unmerge_queues(self) -> None:
        """unmerge_queues(): with no complex op left, the single-op requests of the set's
        list go back to the tails of their semaphores' lists, in order."""
        glob = self.pending_alter
        sem_alter = self.sem_alter
        for w in _keys(glob):
            num, op, _ = w.data.sops[0]
            lst = sem_alter.get(num)
            if lst is None:
                lst = sem_alter[num] = PendingList(self)
            lst[w] = None
            w.queue = lst
            if -op < lst.min_need:
                lst.min_need = -op
            q = w.data
            q.values = None
            q.watch = []
        dict.clear(glob)
        self.watchers.clear()

    def enqueue(self, w: Waiter, q: SemQueue) -> None:
        """Put a sleeper on the list sem.c puts it on (it has just blocked on op
        q.blocking with the values as they are)."""
        if self.pending_alter is _NO_SLEEPERS:
            self._make_lists()
        self.nwait += 1
        if q.nsops == 1:
            num, op, _ = q.sops[0]
            if q.alter and self.complex_count:
                self._enqueue_set(self.pending_alter, w, q)
                return
            table = self.sem_alter if q.alter else self.sem_const
            pending = table.get(num)
            if pending is None:
                pending = table[num] = PendingList(self)
            pending.add(w)
            if -op < pending.min_need:       # (a decrement; 0 for a wait-for-zero list)
                pending.min_need = -op
            return
        if not self.complex_count:
            self.merge_queues()
        self._enqueue_set(self.pending_alter if q.alter else self.pending_const, w, q)
        self.complex_count += 1

    def _enqueue_set(self, lst: PendingList, w: Waiter, q: SemQueue) -> None:
        """Add a sleeper to one of the set's lists: pending_alter's watch lists (see
        _watch), or pending_const's ranges (see _narrow)."""
        if lst is self.pending_alter:
            lst.add(w)
            q.seq = self.alter_tail
            self.alter_tail += 1
            q.values = self.semval
            self._watch(w, q)
            return
        r = self.const_range
        if r is None or not lst:
            r = self.const_range = self._fresh_ranges()
        lst.add(w)
        self._narrow(q, *r)

    def count_semcnt(self, semnum: int, count_zero: bool) -> int:
        """count_semcnt(): the sleepers whose blocking op is a decrement (GETNCNT) or a
        wait-for-zero (GETZCNT) of ``semnum``."""
        lst = (self.sem_const if count_zero else self.sem_alter).get(semnum)
        n = len(lst) if lst else 0
        lists = (self.pending_alter, self.pending_const) if count_zero else (self.pending_alter,)
        for glob in lists:
            for w in _keys(glob):
                q = w.data
                num, op, _ = q.sops[q.blocking]
                if num == semnum and (op == 0 if count_zero else op < 0):
                    n += 1
        return n

    def _sleepers(self) -> list[Waiter]:
        """Every sleeper, in the order freeary wakes them."""
        out = list(_keys(self.pending_const)) + list(_keys(self.pending_alter))
        sem_const, sem_alter = self.sem_const, self.sem_alter
        for num in sorted(set(sem_const) | set(sem_alter)):
            for table in (sem_const, sem_alter):
                lst = table.get(num)
                if lst:
                    out.extend(_keys(lst))
        return out

    # --- removal -----------------------------------------------------------------------
    def freeary(self) -> None:
        """IPC_RMID (and namespace death): undo entries die, every sleeper gets EIDRM, the
        id goes, the semaphores are returned to the namespace's count, and their last
        changers' pids are let go (which may free their PID namespace)."""
        undos = self.undos
        if undos:
            for un in undos:
                ulp = un.ulp
                if ulp.entries.get(un.semid) is un:
                    del ulp.entries[un.semid]
                un.semid = -1
                un.sma = None
            undos.clear()
        sleepers = None
        if self.pending_alter is not _NO_SLEEPERS:       # it has had sleepers
            sleepers = self._sleepers()
            for w in sleepers:
                w.queue = None
            for lst in (self.pending_const, self.pending_alter):
                dict.clear(lst)
            self.sem_const.clear()
            self.sem_alter.clear()
            self.complex_count = self.nwait = 0
            self.const_range = None
            self.watchers.clear()
        ns = self.ns
        ns.sem_ids.rmid(self)
        ns.used_sems -= self.sem_nsems
        sempid = self.sempid_ref
        if sempid.count(None) != len(sempid):
            for num, pid in enumerate(sempid):
                if pid is not None:
                    sempid[num] = update_pid(pid, None)
        if sleepers:
            sched = ns.kernel.sched
            for w in sleepers:
                sched.wake(w, errno.EIDRM)

    _ns_exit = freeary            # the namespace dies: as IPC_RMID (no call of its own)

    def set_sempid(self, num: int, pid: Pid | None) -> None:
        """ipc_update_pid() of semaphore ``num``'s sempid."""
        sempid = self.sempid_ref
        if sempid[num] is not pid:
            sempid[num] = update_pid(sempid[num], pid)

    # --- what semctl and /proc see -----------------------------------------------------
    @property
    def sempid(self) -> list[int]:
        """The pid of the last process that changed each semaphore, in the initial PID
        namespace (0 for none)."""
        return [pid_vnr(pid, None) for pid in self.sempid_ref]

    def stat(self, creds: Creds | None = None) -> SemidDs:
        """IPC_STAT's copy, ids as ``creds`` sees them (kernel ids without)."""
        return SemidDs(self.to_ipc_perm(creds), self.sem_otime, self.sem_ctime, self.sem_nsems)

    def _proc_row(self, reader: ProcessState) -> str:
        uid, gid, cuid, cgid = self.ids_seen_by(reader.creds)
        return (f"{self.key:10d} {self.id:10d}  {self.mode:4o} {self.sem_nsems:10d} "
                f"{uid:5d} {gid:5d} {cuid:5d} {cgid:5d} "
                f"{self.sem_otime:10d} {self.sem_ctime:10d}\n")

    def __repr__(self) -> str:
        return f"<SemArray id={self.id} key={self.key:#x} semval={self.semval}>"


_NO_SLEEPERS: PendingList = _NoSleepers(cast("SemArray", None))
_NO_TABLE: Any = _NoTable()


# --- argument conversion ---------------------------------------------------------------
def _c_int(value: object, what: str) -> int:
    """A C int argument: an int that fits in 32 bits; the unsigned view wraps to negative."""
    value = int_arg(value, what)
    if not -(1 << 31) <= value < (1 << 32):
        raise OverflowError(f"{what} must fit in 32 bits")
    return value - (1 << 32) if value >= (1 << 31) else value


def _sops_arg(sops: Sequence[Sop]) -> list[Sop]:
    """The sembuf array: a sequence of (sem_num, sem_op, sem_flg) with sem_num an unsigned
    short, sem_op and sem_flg shorts (sem_flg may also be given as its unsigned view)."""
    if isinstance(sops, (str, bytes, bytearray)) or not hasattr(sops, "__len__"):
        raise TypeError("sops must be a sequence of (sem_num, sem_op, sem_flg) tuples")
    out = []
    for sop in sops:
        if not isinstance(sop, (tuple, list)):
            raise TypeError("each operation must be a (sem_num, sem_op, sem_flg) tuple")
        if len(sop) != 3:
            raise ValueError("each operation must be a (sem_num, sem_op, sem_flg) tuple")
        num, op, flg = sop
        if type(num) is not int or type(op) is not int or type(flg) is not int:
            int_arg(num, "sem_num"), int_arg(op, "sem_op"), int_arg(flg, "sem_flg")
        if not 0 <= num <= 0xFFFF:
            raise OverflowError("sem_num must fit in an unsigned short")
        if not -0x8000 <= op <= 0x7FFF:
            raise OverflowError("sem_op must fit in a short")
        if not -0x8000 <= flg <= 0xFFFF:
            raise OverflowError("sem_flg must fit in a short")
        out.append((num, op, flg & 0xFFFF))
    return out


def _timeout_arg(timeout: Timeout) -> tuple[int, bool]:
    """(nanoseconds, valid): seconds as int/float, or a timespec (tv_sec, tv_nsec)."""
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError("a timespec timeout is (tv_sec, tv_nsec)")
        sec, nsec = int_arg(timeout[0], "tv_sec"), int_arg(timeout[1], "tv_nsec")
        for v in (sec, nsec):
            if not LONG_MIN <= v < (1 << 63):
                raise OverflowError("tv_sec and tv_nsec must fit in a C long")
        return sec * NS + nsec, sec >= 0 and 0 <= nsec < NS
    ns = seconds_to_ns(timeout)
    return ns, timeout >= 0


# One-op tuples that passed _semtimedop's checks (a valid sembuf, no SEM_UNDO), each
# mapped to itself: semop's hot path trusts a tuple only if it is the very object checked
# (tuples are immutable, and one that compares equal may hold floats).
_CHECKED_SOPS: dict[Sop, Sop] = {}


def _check_in(sop: Sop) -> None:
    if len(_CHECKED_SOPS) >= 512:
        _CHECKED_SOPS.clear()
    _CHECKED_SOPS[sop] = sop


def _semop(proc: ProcessState, semid: int, sops: Sequence[Sop]) -> None:
    return _semtimedop(proc, semid, sops, None, False)


def _waiting_in(semid: int, inum: int, sops: Sequence[Sop]) -> str:
    return f"semop on semaphore set {semid} of ipc:[{inum}] ({_describe(sops)})"


def _describe(sops: Sequence[Sop]) -> str:
    return ", ".join(f"sem {num} {op:+d}" if op else f"sem {num} 0" for num, op, _ in sops)


def _semtimedop(proc: ProcessState, semid: int, sops: Sequence[Sop], timeout: Timeout | None,
                timed: bool) -> None:
    """do_semtimedop(), with the checks in the order Linux 6 makes them."""
    if type(semid) is not int:
        semid = int_arg(semid, "semid")
    sop = sops[0] if type(sops) is list and len(sops) == 1 else None
    if type(sop) is tuple and len(sop) == 3:
        # the common case: one operation, already in shape
        num, op, flg = sop
        if not (type(num) is int and type(op) is int and type(flg) is int
                and 0 <= num <= 0xFFFF and -0x8000 <= op <= 0x7FFF and 0 <= flg <= 0x7FFF):
            sops = _sops_arg(sops)
            num, op, flg = sops[0]
        maxnum, alter, undos = num, op != 0, flg & SEM_UNDO
        if not undos and sops[0] is sop:
            _check_in(sop)
    else:
        sops = _sops_arg(sops)
        alter = undos = False
        maxnum = 0
        for num, op, flg in sops:
            if num > maxnum:
                maxnum = num
            if op:
                alter = True
            if flg & SEM_UNDO:
                undos = True
    if not 0 <= semid < (1 << 31):
        if not -(1 << 31) <= semid < (1 << 32):
            raise OverflowError("semid must fit in 32 bits")
        if semid >= (1 << 31):
            semid -= 1 << 32
    deadline_ns = None
    valid = True
    if timed and timeout is not None:
        deadline_ns, valid = _timeout_arg(timeout)
    ns = proc.ipc_ns
    nsops = len(sops)
    if nsops > (ns.sc_semopm & 0xFFFFFFFF):    # nsops is unsigned: compared as unsigned
        raise oserror(errno.E2BIG)
    if nsops < 1 or semid < 0:
        raise oserror(errno.EINVAL)
    if not valid:
        raise oserror(errno.EINVAL)
    ids = ns.sem_ids
    un = None
    sma: SemArray | None
    if undos:
        # find_alloc_undo(): before the set's own checks, and kept even if the call fails
        ulp = proc.sysvsem
        if ulp is None:
            ulp = proc.sysvsem = UndoList()
        entries = ulp.entries
        un = entries.pop(semid, None)
        if un is None:
            sma = ids.obtain_check(semid)
            un = SemUndo(ulp, semid, sma)
            sma.add_undo(un)
        entries[semid] = un
    objs = ids.objs
    sma = objs.get(semid & 0x7FFF) if objs else None
    if sma is None or sma.seq != semid >> 15:
        raise oserror(errno.EINVAL)
    if maxnum >= sma.sem_nsems:
        raise oserror(errno.EFBIG)
    creds = proc.creds
    if not (creds.euid == sma.cuid or creds.euid == sma.uid) \
            or not sma.mode & (0o200 if alter else 0o400):
        if not ipcperms(sma, creds, S_IWUGO if alter else S_IRUGO):
            raise oserror(errno.EACCES)
    pid = proc.thread_pid
    r = sma._try(sops, un, pid)
    if r == 0:
        if alter and sma.nwait:
            wakes: Wakes = []
            sma.do_smart_update(sops, True, wakes)
            sma.finish(wakes)
        else:
            sma.sem_otime = proc.kernel.clock.wall
        return None
    if r > 0:
        raise oserror(r)
    # sleep until another task completes the operation (or a timeout, signal, RMID)
    kernel = proc.kernel
    q = SemQueue(list(sops), un, pid, alter, -r - 1)
    # a stop signal ends the sleep too, and the call then fails with EINTR once continued
    # (do_semtimedop returns -EINTR, which is not restarted; signal(7))
    w = StopEndsWaiter(proc, (_waiting_in, semid, ns.inum, sops), q)
    sma.enqueue(w, q)
    deadline = None
    if deadline_ns is not None:
        deadline = kernel.clock.now_ns() + deadline_ns
    reason = kernel.sched.block(w, deadline)
    result = w.result
    if result is not None:
        if result:
            raise oserror(result)
        return None
    # a wait that ended by itself: the sleeper has left its list (PendingList.discard)
    raise oserror(errno.EAGAIN if reason == TIMEOUT else errno.EINTR)


def _newary(proc: ProcessState, ns: IpcNamespace, key: int, nsems: int, flags: int) -> int:
    """newary(): a set of ``nsems`` semaphores (EINVAL for none, ENOSPC past semmns
    semaphores or semmni sets)."""
    if not nsems:
        raise oserror(errno.EINVAL)
    if ns.used_sems + nsems > ns.sc_semmns:
        raise oserror(errno.ENOSPC)
    sma = SemArray(ns, key, flags & 0o777, proc.creds, nsems, proc.kernel.clock.wall)
    semid = ns.sem_ids.addid(sma, ns.sc_semmni)
    ns.used_sems += nsems
    return semid


class SemCalls(CallsBase):
    """semget, semop, semtimedop, semctl: the methods Process gets from this module."""

    __slots__ = ()

    @syscall
    def semget(self, key: int, nsems: int = 0, flags: int = 0) -> int:
        """semget(2): the id of the set with ``key`` (IPC_PRIVATE: always a new one).
        EINVAL for nsems < 0 or > semmsl (checked first, even for an existing key), for
        nsems above an existing set's size, and for creating a set of 0; ENOENT without
        IPC_CREAT, EEXIST with IPC_CREAT|IPC_EXCL, EACCES for mode bits the caller lacks,
        ENOSPC past semmns semaphores or semmni sets."""
        if not (type(key) is int and type(nsems) is int and type(flags) is int
                and -0x80000000 <= key <= 0x7FFFFFFF and 0 <= nsems <= 0x7FFFFFFF
                and 0 <= flags <= 0xFFFFFFFF):
            key, nsems = key_arg(key), _c_int(nsems, "nsems")
            flags = flags_arg(flags, "flags")
        ns = self.ipc_ns
        if nsems < 0 or nsems > ns.sc_semmsl:
            raise oserror(errno.EINVAL)
        if key == IPC_PRIVATE:
            return _newary(self, ns, key, nsems, flags)

        def more_checks(sma: SemArray) -> None:
            if nsems > sma.sem_nsems:
                raise oserror(errno.EINVAL)

        return ipcget(self, ns.sem_ids, key, flags,
                      lambda: _newary(self, ns, key, nsems, flags), more_checks)

    @hot_syscall
    def semop(self, semid: int, sops: Sequence[Sop]) -> None:
        """semop(2): ``sops`` is a sequence of ``(sem_num, sem_op, sem_flg)``; all are
        applied, in order, or none. Blocks until that is possible unless the first op that
        cannot proceed has IPC_NOWAIT (EAGAIN). E2BIG past semopm ops, EINVAL for none,
        EFBIG for a sem_num past the set, EACCES, ERANGE past SEMVMX or past the SEM_UNDO
        range; a sleeper gets EIDRM when the set is removed, EINTR on a signal."""
        kernel = self.kernel
        if kernel._slow or not self.alive:
            return kernel._syscall(self, _semop, "semop", (semid, sops), NOKW)
        # The hot path: one operation, already validated once, that succeeds at once and
        # needs no undo entry. Anything else (and any doubt) takes the full path, which
        # makes every check again in Linux's order; nothing here changes state before the
        # operation is known to succeed.
        try:
            # (ValueError unless one op; TypeError if no set was ever made: the full path)
            [sop] = sops if sops.__class__ is list else ()  # type: ignore[misc]
            if _CHECKED_SOPS.get(sop) is not sop or type(semid) is not int:
                sma = None
            else:
                sma = self.ipc_ns.sem_ids.objs[semid & 0x7FFF]  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            sma = None
        if sma is not None:
            num, op, flg = sop
            creds = self.creds
            if sma.seq == semid >> 15 and num < sma.sem_nsems and self.ipc_ns.sc_semopm \
                    and (creds.euid == sma.cuid or creds.euid == sma.uid) \
                    and sma.mode & (0o200 if op else 0o400):
                semval = sma.semval
                v = semval[num] + op
                if op:
                    if 0 <= v <= SEMVMX:
                        semval[num] = v
                        sempid, pid = sma.sempid_ref, self.thread_pid
                        last = sempid[num]
                        if last is not pid:
                            sempid[num] = pid
                            if pid.level or last is not None and last.level:
                                update_pid(last, pid)
                        if sma.nwait:
                            wakes: Wakes = []
                            sma.do_smart_update([sop], True, wakes)
                            sma.finish(wakes)
                        else:
                            sma.sem_otime = kernel.clock.wall
                        return None
                elif not v:
                    sempid, pid = sma.sempid_ref, self.thread_pid
                    last = sempid[num]
                    if last is not pid:
                        sempid[num] = pid
                        if pid.level or last is not None and last.level:
                            update_pid(last, pid)
                    sma.sem_otime = kernel.clock.wall
                    return None
        return _semtimedop(self, semid, sops, None, False)

    @syscall
    def semtimedop(self, semid: int, sops: Sequence[Sop], timeout: Timeout | None = None) -> None:
        """semtimedop(2): semop with a timeout in seconds of virtual time (an int or float,
        or a timespec tuple ``(tv_sec, tv_nsec)``; None waits forever). EAGAIN when it
        expires; an invalid timeout is EINVAL even when the call would not block."""
        return _semtimedop(self, semid, sops, timeout, True)

    @overload
    def semctl(self, semid: int, semnum: int, cmd: Literal[2], arg: None = None) -> SemidDs: ...

    @overload   # SEM_STAT, SEM_STAT_ANY
    def semctl(self, semid: int, semnum: int, cmd: Literal[18, 20],
               arg: None = None) -> tuple[int, SemidDs]: ...

    @overload   # IPC_INFO, SEM_INFO
    def semctl(self, semid: int, semnum: int, cmd: Literal[3, 19],
               arg: None = None) -> tuple[int, Seminfo]: ...

    @overload   # GETPID, GETVAL, GETNCNT, GETZCNT
    def semctl(self, semid: int, semnum: int, cmd: Literal[11, 12, 14, 15],
               arg: None = None) -> int: ...

    @overload   # GETALL
    def semctl(self, semid: int, semnum: int, cmd: Literal[13], arg: None = None) -> list[int]:
        ...

    @overload   # SETVAL
    def semctl(self, semid: int, semnum: int, cmd: Literal[16], arg: int) -> None: ...

    @overload   # SETALL
    def semctl(self, semid: int, semnum: int, cmd: Literal[17], arg: Sequence[int]) -> None: ...

    @overload   # IPC_SET
    def semctl(self, semid: int, semnum: int, cmd: Literal[1], arg: SemidDs) -> None: ...

    @overload   # IPC_RMID
    def semctl(self, semid: int, semnum: int, cmd: Literal[0], arg: None = None) -> None: ...

    @overload
    def semctl(self, semid: int, semnum: int, cmd: int,
               arg: int | Sequence[int] | SemidDs | None = None) -> SemctlResult: ...

    @syscall
    def semctl(self, semid: int, semnum: int, cmd: int, arg: Any = None) -> SemctlResult:
        """semctl(2). ``arg``: SETVAL an int (its low 32 bits, as Linux reads the union),
        SETALL a sequence of one value per semaphore, IPC_SET a SemidDs (sem_perm.uid, .gid,
        .mode). Returns: IPC_STAT a SemidDs; SEM_STAT, SEM_STAT_ANY ``(full id, SemidDs)``
        of the set in slot ``semid``; IPC_INFO, SEM_INFO ``(highest index in use,
        Seminfo)``; GETVAL, GETPID, GETNCNT, GETZCNT an int; GETALL a list; the others
        None."""
        if not (type(semid) is int and type(semnum) is int and type(cmd) is int
                and -0x80000000 <= semid <= 0x7FFFFFFF and -0x80000000 <= semnum <= 0x7FFFFFFF
                and -0x80000000 <= cmd <= 0x7FFFFFFF):
            semid = _c_int(semid, "semid")
            semnum = _c_int(semnum, "semnum")
            cmd = _c_int(cmd, "cmd")
        if cmd == SETVAL:
            arg = int_arg(arg, "arg")
            if not LONG_MIN <= arg < ULONG:
                raise OverflowError("arg must fit in an unsigned long")
        elif cmd == SETALL:
            arg = _setall_arg(arg)
        elif cmd == IPC_SET:
            if not isinstance(arg, SemidDs) or not isinstance(arg.sem_perm, IpcPerm):
                raise TypeError("IPC_SET takes a SemidDs (as IPC_STAT returns)")
            perm = arg.sem_perm
            int_arg(perm.uid, "uid"), int_arg(perm.gid, "gid"), int_arg(perm.mode, "mode")
        if semid < 0:
            raise oserror(errno.EINVAL)
        ns = self.ipc_ns
        ids = ns.sem_ids
        creds = self.creds
        if cmd == IPC_INFO or cmd == SEM_INFO:
            info = Seminfo(semmap=SEMMAP, semmni=ns.sc_semmni, semmns=ns.sc_semmns,
                           semmnu=SEMMNU, semmsl=ns.sc_semmsl, semopm=ns.sc_semopm,
                           semume=SEMUME, semvmx=SEMVMX)
            if cmd == SEM_INFO:
                info.semusz, info.semaem = ids.in_use, ns.used_sems
            else:
                info.semusz, info.semaem = SEMUSZ, SEMAEM
            return max(ids.get_maxidx(), 0), info
        if cmd == IPC_STAT or cmd == SEM_STAT or cmd == SEM_STAT_ANY:
            sma = ids.obtain_check(semid) if cmd == IPC_STAT else ids.obtain_idx(semid)
            if cmd != SEM_STAT_ANY and not ipcperms(sma, creds, S_IRUGO):
                raise oserror(errno.EACCES)
            return sma.stat(creds) if cmd == IPC_STAT else (sma.id, sma.stat(creds))
        if cmd == SETVAL:
            val = arg & 0xFFFFFFFF
            if val >= 1 << 31:
                val -= 1 << 32
            if val < 0 or val > SEMVMX:
                raise oserror(errno.ERANGE)
            sma = ids.obtain_check(semid)
            if semnum < 0 or semnum >= sma.sem_nsems:
                raise oserror(errno.EINVAL)
            if not ipcperms(sma, creds, S_IWUGO):
                raise oserror(errno.EACCES)
            for un in sma.undos:
                un.semadj[semnum] = 0
            sma.semval[semnum] = val
            sma.set_sempid(semnum, self.thread_pid)
            sma.sem_ctime = self.kernel.clock.time()
            wakes: Wakes = []
            sma.do_smart_update(None, False, wakes)
            sma.finish(wakes)
            return None
        if cmd in (GETALL, GETVAL, GETPID, GETNCNT, GETZCNT, SETALL):
            sma = ids.obtain_check(semid)
            if not ipcperms(sma, creds, S_IWUGO if cmd == SETALL else S_IRUGO):
                raise oserror(errno.EACCES)
            nsems = sma.sem_nsems
            if cmd == GETALL:
                return list(sma.semval)
            if cmd == SETALL:
                if len(arg) != nsems:
                    raise ValueError(f"SETALL needs {nsems} values, one per semaphore "
                                     f"(got {len(arg)})")
                if any(v > SEMVMX for v in arg):
                    raise oserror(errno.ERANGE)
                sma.semval[:] = arg
                for num in range(nsems):
                    sma.set_sempid(num, self.thread_pid)
                for un in sma.undos:
                    un.semadj[:] = [0] * nsems
                sma.sem_ctime = self.kernel.clock.time()
                wakes = []
                sma.do_smart_update(None, False, wakes)
                sma.finish(wakes)
                return None
            if semnum < 0 or semnum >= nsems:
                raise oserror(errno.EINVAL)
            if cmd == GETVAL:
                return sma.semval[semnum]
            if cmd == GETPID:
                return pid_nr_ns(sma.sempid_ref[semnum], self.pid_ns)   # pid_vnr()
            return sma.count_semcnt(semnum, cmd == GETZCNT)
        if cmd == IPC_SET:
            sma = obtain_for_ctl(self, ids, semid)
            update_perm(self, sma, arg.sem_perm)
            sma.sem_ctime = self.kernel.clock.time()
            return None
        if cmd == IPC_RMID:
            obtain_for_ctl(self, ids, semid).freeary()
            return None
        raise oserror(errno.EINVAL)


def _setall_arg(arg: Sequence[int]) -> list[int]:
    """SETALL's array of unsigned shorts."""
    if arg is None or isinstance(arg, (str, bytes, bytearray)) or not hasattr(arg, "__len__"):
        raise TypeError("SETALL takes a sequence of values, one per semaphore")
    values = []
    for v in arg:
        v = int_arg(v, "semaphore value")
        if not 0 <= v <= 0xFFFF:
            raise OverflowError("semaphore values must fit in an unsigned short")
        values.append(v)
    return values


__all__ = ["SemidDs", "Seminfo", "SemArray", "SemUndo", "UndoList", "exit_sem", "SemCalls"]
