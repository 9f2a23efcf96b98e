"""The ID table shared by the three System V kinds (Linux 6 ipc_addid / ipc_idr_alloc)."""
import errno

import pytest

from ipcsim.kernel.creds import Creds
from ipcsim.kernel.ids import IpcIds
from ipcsim.kernel.perm import KernIpcPerm

ROOT = Creds()


def new(ids, key=0, limit=32000):
    obj = KernIpcPerm(None, key, 0o600, ROOT)
    ids.addid(obj, limit)
    return obj


def test_fresh_table_counts_up_from_zero():
    ids = IpcIds()
    assert [new(ids).id for _ in range(3)] == [0, 1, 2]
    assert ids.in_use == 3 and ids.get_maxidx() == 2


def test_freed_slots_are_not_reused_at_once():
    ids = IpcIds()
    objs = [new(ids) for _ in range(4)]
    ids.rmid(objs[1])
    ids.rmid(objs[0])
    assert [new(ids).id for _ in range(3)] == [4, 5, 6]


def test_create_remove_loop_wraps_at_64_and_bumps_seq():
    ids = IpcIds()
    seen = []
    for _ in range(66):
        obj = new(ids)
        seen.append(obj.id)
        ids.rmid(obj)
    assert seen[:64] == list(range(64))
    assert seen[64:] == [32768, 32769]
    assert ids.in_use == 0 and ids.get_maxidx() == -1


def test_window_shrinks_with_in_use_and_wraps_to_a_new_seq():
    # The probed case: 100 objects at idx 6..105 with seq 1; remove 50; 10 new ones wrap
    # to idx 0 (window max(50*3//2, 64) = 75 < cursor 106) and take seq 2.
    ids = IpcIds()
    for _ in range(64 + 6):
        ids.rmid(new(ids))
    objs = [new(ids) for _ in range(100)]
    assert [o.id for o in objs] == list(range(32774, 32874))
    for obj in objs[:50]:
        ids.rmid(obj)
    fresh = [new(ids).id for _ in range(10)]
    assert fresh == list(range(65536, 65546))


def test_next_id_is_used_once_and_takes_the_next_free_slot():
    ids = IpcIds()
    for _ in range(2):
        ids.rmid(new(ids))
    kept = [new(ids) for _ in range(5)]          # idx 2..6, cursor at 7, last_idx 6
    assert [o.id for o in kept] == [2, 3, 4, 5, 6]
    ids.next_id = 5 * 32768 + 3
    assert new(ids).id == 163847                 # idx 3..6 busy: idx 7, seq 5
    assert ids.next_id == -1
    assert new(ids).id == 8                      # cursor slot 7 taken; seq stays 0


def test_next_id_skips_a_taken_index():
    ids = IpcIds()
    ids.next_id = 777
    assert new(ids).id == 777
    ids.next_id = 777
    assert new(ids).id == 778


def test_limit_gives_enospc_and_keeps_next_id():
    ids = IpcIds()
    new(ids, limit=1)
    ids.next_id = 50
    with pytest.raises(OSError) as e:
        new(ids, limit=1)
    assert e.value.errno == errno.ENOSPC
    assert ids.next_id == 50 and ids.in_use == 1


def test_lookup_by_id_checks_the_sequence():
    ids = IpcIds()
    obj = new(ids)
    ids.rmid(obj)
    for _ in range(63):
        ids.rmid(new(ids))
    again = new(ids)
    assert again.id == 32768
    with pytest.raises(OSError) as e:
        ids.obtain_check(0)                      # same slot, stale seq
    assert e.value.errno == errno.EINVAL
    assert ids.obtain_check(32768) is again
    assert ids.obtain_idx(0) is again            # *_STAT ignores the seq
    assert ids.obtain_idx(32768 * 5) is again


def test_keys_are_found_and_freed():
    ids = IpcIds()
    a = new(ids, key=0x42)
    private = new(ids, key=0)
    assert ids.find_key(0x42) is a
    assert ids.find_key(0) is None
    ids.rmid(a)
    assert ids.find_key(0x42) is None
    assert list(ids) == [private]


def test_maxidx_recomputed_when_the_highest_goes():
    ids = IpcIds()
    objs = [new(ids) for _ in range(5)]
    ids.rmid(objs[4])
    assert ids.get_maxidx() == 3
    ids.rmid(objs[2])
    assert ids.get_maxidx() == 3
    ids.rmid(objs[3])
    assert ids.get_maxidx() == 1


def test_iteration_is_in_slot_order_not_creation_order():
    ids = IpcIds()
    for _ in range(10):
        ids.rmid(new(ids))
    late = new(ids)                               # idx 10
    ids.next_id = 3
    early = new(ids)                              # idx 3
    assert [o.id for o in ids] == [early.id, late.id]
