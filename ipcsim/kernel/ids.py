"""The ID table shared by message queues, semaphore sets and shared memory (``ipc_ids``).

Linux 6's allocation, exactly: ids are ``seq * 32768 + idx``; a new object takes the lowest
free idx at or after a cyclic cursor, within ``max(in_use * 3 / 2, 64)`` slots (wrapping to
0 when none is free there); the sequence number goes up whenever the new idx is not above the
last one allocated; a ``*_next_id`` request is used once and reset to -1. Lookups by id check
the sequence number (a stale id is EINVAL); lookups by index (the *_STAT commands) do not.
Every table starts empty and costs a few words until its first object. Creating and
removing an object are dict operations; the slot order (for /proc) and the highest slot in use
(for *_INFO) are worked out when asked for, since only those rarer calls need them.
"""
from __future__ import annotations

import errno
from typing import Generic, Iterator, TypeVar

from ..constants import (IPC_MIN_CYCLE, IPC_PRIVATE, IPCMNI, IPCMNI_IDX_MASK, IPCMNI_SEQ_MAX,
                         IPCMNI_SHIFT)
from ..errors import oserror
from .perm import KernIpcPerm

T = TypeVar("T", bound=KernIpcPerm)


class IpcIds(Generic[T]):
    """One ``struct ipc_ids``: the objects of one kind in one namespace."""

    __slots__ = ("in_use", "seq", "last_idx", "max_idx", "next_id", "cursor", "objs", "keys")

    # The allocation state, set by the first addid (read only once there is an object).
    seq: int
    last_idx: int
    max_idx: int | None      # None: the highest was removed, not yet looked for
    cursor: int              # the idr's cyclic position (idr_next)

    def __init__(self) -> None:
        self.in_use = 0
        self.next_id = -1
        self.objs: dict[int, T] | None = None     # idx -> object
        self.keys: dict[int, T] | None = None     # key -> object, IPC_PRIVATE ones left out
        #                                           (made at the first object with a key)

    # --- lookups ---------------------------------------------------------------------
    def find_key(self, key: int) -> T | None:
        """The object with ``key``, or None (ipc_findkey)."""
        keys = self.keys
        return keys.get(key) if keys else None

    def obtain_check(self, ipc_id: int) -> T:
        """The object with exactly this id; EINVAL for a free slot or a stale sequence."""
        objs = self.objs
        if objs:
            obj = objs.get(ipc_id & IPCMNI_IDX_MASK)
            if obj is not None and obj.seq == ipc_id >> IPCMNI_SHIFT:
                return obj
        raise oserror(errno.EINVAL)

    def obtain_idx(self, ipc_id: int) -> T:
        """The object in slot ``ipc_id & 0x7fff`` whatever its sequence (*_STAT); EINVAL."""
        objs = self.objs
        obj = objs.get(ipc_id & IPCMNI_IDX_MASK) if objs else None
        if obj is None:
            raise oserror(errno.EINVAL)
        return obj

    def get_maxidx(self) -> int:
        """ipc_get_maxidx(): -1 when empty, IPCMNI-1 when full, else the highest idx used."""
        if self.in_use == 0:
            return -1
        if self.in_use == IPCMNI:
            return IPCMNI - 1
        max_idx = self.max_idx
        if max_idx is None:       # the highest was removed: find the next one down
            assert self.objs
            max_idx = self.max_idx = max(self.objs)
        return max_idx

    def __len__(self) -> int:
        return self.in_use

    def __iter__(self) -> Iterator[T]:
        """The objects in slot order (as /proc/sysvipc lists them), as they are now (the
        caller may remove them as it goes)."""
        objs = self.objs
        if not objs:
            return iter(())
        if len(objs) == 1:
            return iter(list(objs.values()))
        return iter(list(map(objs.__getitem__, sorted(objs))))

    # --- changes ---------------------------------------------------------------------
    def addid(self, obj: T, limit: int) -> int:
        """ipc_addid(): give ``obj`` an id and enter it; ENOSPC past ``limit`` objects."""
        in_use = self.in_use
        if in_use >= limit or in_use >= IPCMNI:
            raise oserror(errno.ENOSPC)
        objs = self.objs
        if objs is None:                 # the first object: the allocation state starts
            if self.next_id < 0:         # (the cyclic allocation's first: slot 0, sequence 0)
                self.objs = {0: obj}
                self.seq = self.last_idx = self.max_idx = 0
                self.cursor = 1
                obj.seq = obj.id = 0
                key = obj.key
                if key != IPC_PRIVATE:
                    self.keys = {key: obj}
                self.in_use = 1
                return 0
            objs = self.objs = {}
            self.seq, self.last_idx, self.max_idx, self.cursor = 0, -1, -1, 0
        if self.next_id < 0:
            # idr_alloc_cyclic(): the lowest free slot from the cursor to the end of the
            # window, else from 0 (a free cursor below IPC_MIN_CYCLE is in every window)
            idx = self.cursor
            if idx >= IPC_MIN_CYCLE or idx in objs:
                end = in_use * 3 // 2
                if end < IPC_MIN_CYCLE:
                    end = IPC_MIN_CYCLE
                elif end > IPCMNI:
                    end = IPCMNI
                if idx >= end or idx in objs:
                    free = self._lowest_free(objs, idx, end)
                    if free is None:
                        free = self._lowest_free(objs, 0, end)
                        if free is None:
                            raise oserror(errno.ENOSPC)
                    idx = free
            self.cursor = idx + 1
            if idx <= self.last_idx:
                self.seq += 1
                if self.seq >= IPCMNI_SEQ_MAX:
                    self.seq = 0
            self.last_idx = idx
            seq = obj.seq = self.seq
        else:
            next_id, self.next_id = self.next_id, -1
            seq = obj.seq = next_id >> IPCMNI_SHIFT
            idx = next_id & IPCMNI_IDX_MASK
            while idx in objs:
                idx += 1
        ipc_id = obj.id = (seq << IPCMNI_SHIFT) + idx
        objs[idx] = obj
        key = obj.key
        if key != IPC_PRIVATE:
            keys = self.keys
            if keys is None:
                keys = self.keys = {}
            keys[key] = obj
        self.in_use = in_use + 1
        max_idx = self.max_idx
        if max_idx is not None and idx > max_idx:
            self.max_idx = idx
        return ipc_id

    @staticmethod
    def _lowest_free(objs: dict[int, T], start: int, end: int) -> int | None:
        """The lowest free slot of ``objs`` in [start, end), or None."""
        idx = start
        while idx in objs:
            idx += 1
        return idx if idx < end else None

    def rmid(self, obj: T) -> None:
        """ipc_rmid(): free the slot and the key; seq, last_idx and the cursor stay."""
        idx = obj.id & IPCMNI_IDX_MASK
        objs = self.objs
        assert objs is not None      # obj is in the table
        del objs[idx]
        key = obj.key
        if key != IPC_PRIVATE:
            keys = self.keys
            if keys is not None and keys.get(key) is obj:
                del keys[key]
        self.in_use -= 1
        obj.deleted = True
        if idx == self.max_idx:
            self.max_idx = None if objs else -1

    def unkey(self, obj: T) -> None:
        """Take the object's key out of the key table (shm IPC_RMID while attached)."""
        keys = self.keys
        if obj.key != IPC_PRIVATE and keys is not None and keys.get(obj.key) is obj:
            del keys[obj.key]
