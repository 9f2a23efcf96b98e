"""System V semaphores, as semget(2), semop(2), semctl(2) and ipc/sem.c define them.

The tests marked ``requires_real`` run the same situation in a fresh real IPC namespace
(root only) and compare; the others encode what those probes showed.
"""
import errno
import json
import os
import random
import signal

import pytest

import ipcsim
from ipcsim import (CLONE_NEWIPC, CLONE_SYSVSEM, GETALL, GETNCNT, GETPID, GETVAL, GETZCNT,
                    IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET,
                    IPC_STAT, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SETALL, SETVAL)
from ipcsim.kernel.perm import IpcPerm
from ipcsim.kernel.sem import SemidDs, Seminfo

from realkernel import requires_real, run_real

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")

UNDO = SEM_UNDO
NOWAIT = IPC_NOWAIT


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return errno.errorcode[e.value.errno]


def outcome(fn, *args):
    """fn(*args), or the errno name it failed with."""
    try:
        return fn(*args)
    except OSError as e:
        return errno.errorcode[e.errno]


@pytest.fixture
def p(k):
    """A process in a fresh namespace (the initial one stays empty)."""
    return k.init.clone(CLONE_NEWIPC)


def sleeper(k, parent, sid, ops, timeout="none", setup=None):
    """A child that makes one semop (or semtimedop) and returns None or the errno name;
    the kernel runs until it is blocked or done."""
    def prog(proc):
        if setup is not None:
            setup(proc)
        if timeout == "none":
            return outcome(proc.semop, sid, ops)
        return outcome(proc.semtimedop, sid, ops, timeout)
    child = parent.fork(target=prog)
    k.run_until_idle()
    return child


def vals(p, sid):
    return p.semctl(sid, 0, GETALL)


def counts(p, sid, nsems):
    return ([p.semctl(sid, i, GETNCNT) for i in range(nsems)],
            [p.semctl(sid, i, GETZCNT) for i in range(nsems)])


# --- semget ------------------------------------------------------------------------------
def test_semget_keys(p):
    a = p.semget(0x42, 3, IPC_CREAT | 0o600)
    assert p.semget(0x42, 3, 0) == a
    assert p.semget(0x42, 0, 0) == a                    # 0: any size is fine
    assert p.semget(0x42, 2, IPC_CREAT) == a
    assert errno_of(p.semget, 0x42, 4, 0) == "EINVAL"   # more than it has
    assert errno_of(p.semget, 0x42, 4, IPC_CREAT | IPC_EXCL) == "EEXIST"
    assert errno_of(p.semget, 0x42, 1, IPC_CREAT | IPC_EXCL) == "EEXIST"
    assert errno_of(p.semget, 0x43, 1, 0) == "ENOENT"
    assert p.semget(IPC_PRIVATE, 1, 0) != p.semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL)


def test_semget_nsems_is_checked_first(p):
    p.semget(0x42, 3, IPC_CREAT | 0o600)
    for key in (0x42, 0x43, IPC_PRIVATE):
        assert errno_of(p.semget, key, -1, IPC_CREAT) == "EINVAL"
        assert errno_of(p.semget, key, 32001, IPC_CREAT) == "EINVAL"
    assert errno_of(p.semget, IPC_PRIVATE, 0, 0) == "EINVAL"           # creating 0
    assert errno_of(p.semget, 0x44, 0, IPC_CREAT) == "EINVAL"
    assert len(p.ipc_ns.sem_ids) == 1


def test_semget_mode_owner_and_times(k, p):
    k.clock.advance(5)
    p.setgid(7)
    sid = p.semget(0x42, 2, IPC_CREAT | 0o7777)
    ds = p.semctl(sid, 0, IPC_STAT)
    assert ds == SemidDs(IpcPerm(key=0x42, uid=0, gid=7, cuid=0, cgid=7, mode=0o777, seq=0),
                         sem_otime=0, sem_ctime=k.clock.time(), sem_nsems=2)
    assert vals(p, sid) == [0, 0] and p.semctl(sid, 1, GETPID) == 0


def test_semget_permission_after_the_size_check(k, p):
    sid = p.semget(0x42, 3, IPC_CREAT | 0o600)
    user = p.fork()
    user.setuid(1000)
    assert user.semget(0x42, 3, 0) == sid                # no mode bits asked: no check
    assert errno_of(user.semget, 0x42, 3, 0o400) == "EACCES"
    assert errno_of(user.semget, 0x42, 4, 0o400) == "EINVAL"   # size before permission
    assert errno_of(user.semget, 0x42, 1, IPC_CREAT | 0o200) == "EACCES"


def test_semget_limits_in_linux_order(p):
    p.write_file("/proc/sys/kernel/sem", "10 12 5 2")
    assert errno_of(p.semget, IPC_PRIVATE, 11, 0) == "EINVAL"        # semmsl
    a = p.semget(IPC_PRIVATE, 10, 0)
    assert errno_of(p.semget, IPC_PRIVATE, 3, 0) == "ENOSPC"         # semmns
    assert errno_of(p.semget, IPC_PRIVATE, 0, 0) == "EINVAL"         # nsems 0 before
    b = p.semget(IPC_PRIVATE, 2, 0)
    assert p.ipc_ns.used_sems == 12
    p.write_file("/proc/sys/kernel/sem", "10 100 5 2")
    assert errno_of(p.semget, IPC_PRIVATE, 1, 0) == "ENOSPC"         # semmni
    p.semctl(a, 0, IPC_RMID)
    assert p.ipc_ns.used_sems == 2
    assert p.semget(0x42, 10, IPC_CREAT) not in (a, b)
    assert p.semctl(0, 0, SEM_INFO)[1].semaem == 12


def test_semget_negative_limits(p):
    p.write_file("/proc/sys/kernel/sem", "-1 1024000000 500 32000")
    assert errno_of(p.semget, IPC_PRIVATE, 1, 0) == "EINVAL"
    assert errno_of(p.semget, IPC_PRIVATE, 0, 0) == "EINVAL"
    p.write_file("/proc/sys/kernel/sem", "32000 -5 500 32000")
    assert errno_of(p.semget, IPC_PRIVATE, 1, 0) == "ENOSPC"
    assert errno_of(p.semget, IPC_PRIVATE, 0, 0) == "EINVAL"


def test_sem_next_id(p):
    p.write_file("/proc/sys/kernel/sem_next_id", "98307")      # seq 3, idx 3
    assert p.semget(IPC_PRIVATE, 1, 0) == 98307
    assert p.read_file("/proc/sys/kernel/sem_next_id") == "-1\n"
    assert p.semget(IPC_PRIVATE, 1, 0) == 0


# --- semop: checks ----------------------------------------------------------------------
def test_semop_basics(k, p):
    k.clock.advance(2)
    sid = p.semget(IPC_PRIVATE, 3, 0o600)
    assert p.semop(sid, [(0, 2, 0), (2, 5, 0)]) is None
    assert vals(p, sid) == [2, 0, 5]
    assert [p.semctl(sid, i, GETPID) for i in range(3)] == [p.pid, 0, p.pid]
    assert p.semctl(sid, 0, IPC_STAT).sem_otime == k.clock.time()
    p.semop(sid, [(0, -2, 0)])
    assert vals(p, sid) == [0, 0, 5]


def test_semop_order_of_checks(p):
    sid = p.semget(IPC_PRIVATE, 3, 0o600)
    many = [(0, 1, 0)] * 501
    assert errno_of(p.semop, -1, many) == "E2BIG"               # before the id
    assert errno_of(p.semop, 12345, many) == "E2BIG"
    assert errno_of(p.semtimedop, sid, many, (0, -1)) == "E2BIG"
    assert errno_of(p.semop, sid, []) == "EINVAL"
    assert errno_of(p.semop, -1, [(0, 1, 0)]) == "EINVAL"
    assert errno_of(p.semtimedop, sid, [(5, 1, 0)], (0, 2000000000)) == "EINVAL"   # timeout first
    assert errno_of(p.semtimedop, 99999, [(0, 1, 0)], (0, -1)) == "EINVAL"
    assert errno_of(p.semtimedop, sid, [(0, 1, 0)], -1) == "EINVAL"       # even if it'd pass
    assert errno_of(p.semop, 99999, [(5, 1, UNDO)]) == "EINVAL"
    assert errno_of(p.semop, sid, [(0, 1, 0), (3, 1, 0)]) == "EFBIG"
    assert vals(p, sid) == [0, 0, 0]
    assert p.semop(sid, [(0, 1, 0)] * 500) is None
    assert vals(p, sid) == [500, 0, 0]


def test_semop_permission_alter_or_read(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o644)
    user = p.fork()
    user.setuid(1000)
    assert user.semop(sid, [(0, 0, 0)]) is None                   # wait-for-zero reads
    assert errno_of(user.semop, sid, [(0, 1, 0)]) == "EACCES"
    assert errno_of(user.semop, sid, [(0, 0, 0), (0, 1, 0)]) == "EACCES"
    assert errno_of(user.semop, sid, [(1, 1, 0)]) == "EFBIG"      # EFBIG before EACCES
    p.semctl(sid, 0, IPC_SET, SemidDs(IpcPerm(uid=0, gid=0, mode=0o600)))
    assert errno_of(user.semop, sid, [(0, 0, 0)]) == "EACCES"


def test_semopm_is_compared_unsigned(p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    p.write_file("/proc/sys/kernel/sem", "32000 1024000000 -1 32000")
    assert p.semop(sid, [(0, 1, 0)] * 600) is None
    assert errno_of(p.semop, sid, []) == "EINVAL"
    p.write_file("/proc/sys/kernel/sem", "32000 1024000000 2 32000")
    assert errno_of(p.semop, sid, [(0, 1, 0)] * 3) == "E2BIG"


def test_all_or_nothing_in_array_order(p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    p.semctl(sid, 0, SETVAL, 1)
    p.semop(sid, [(0, 1, 0), (0, -2, 0)])                         # as if one by one
    assert vals(p, sid) == [0, 0]
    p.semctl(sid, 0, SETALL, [1, 0])
    assert errno_of(p.semop, sid, [(0, -1, 0), (1, -1, NOWAIT)]) == "EAGAIN"
    assert vals(p, sid) == [1, 0] and p.semctl(sid, 0, GETPID) == p.pid
    assert errno_of(p.semop, sid, [(0, 1, 0), (0, 0, NOWAIT)]) == "EAGAIN"
    assert vals(p, sid) == [1, 0]


def test_the_first_failing_op_decides(p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    # ERANGE never blocks; it wins when it comes first
    p.semctl(sid, 0, SETVAL, 1)
    assert errno_of(p.semop, sid, [(0, 32767, 0), (1, -1, NOWAIT)]) == "ERANGE"
    assert errno_of(p.semop, sid, [(1, -1, NOWAIT), (0, 32767, 0)]) == "EAGAIN"
    # the IPC_NOWAIT bit of the op that fails is the one that counts
    assert errno_of(p.semop, sid, [(1, -1, NOWAIT), (1, -1, 0)]) == "EAGAIN"
    p.semctl(sid, 0, SETVAL, 32767)
    assert errno_of(p.semop, sid, [(0, 1, NOWAIT)]) == "ERANGE"
    assert vals(p, sid) == [32767, 0]


def test_wait_for_zero_sets_sempid_and_otime(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    c = p.fork()
    k.clock.advance(3)
    c.semop(sid, [(0, 0, 0)])
    assert p.semctl(sid, 0, GETPID) == c.pid
    assert p.semctl(sid, 0, IPC_STAT).sem_otime == k.clock.time()


def test_semadj_range(p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    for _ in range(32768):
        p.semop(sid, [(0, 1, UNDO)])
        p.semop(sid, [(0, -1, 0)])
    assert errno_of(p.semop, sid, [(0, 1, UNDO)]) == "ERANGE"        # semadj -32769
    p.semop(sid, [(0, 5, 0)])
    p.semop(sid, [(0, -1, UNDO)])
    p.semctl(sid, 0, SETVAL, 32767)
    assert p.semop(sid, [(0, -1, UNDO)]) is None


def test_the_one_op_hot_path_agrees_with_the_full_path(k, p):
    """semop's hot path trusts only the very tuple it checked before: an equal tuple of
    other types, a bool id, a stale id, a sem_num past the set and a caller without the
    owner's bits all get the full path's answer, and a waiter is still served."""
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    up, down = (0, 1, 0), (0, -1, 0)
    p.semop(sid, [up])                      # checks `up` once; the hot path takes it now
    p.semop(sid, [up])
    assert vals(p, sid) == [2, 0]
    with pytest.raises(TypeError):
        p.semop(sid, [(0, 1.0, 0)])         # equal to `up`, but not an int op
    with pytest.raises(TypeError):
        p.semop(True, [up])
    with pytest.raises(TypeError):
        p.semop(sid, ((x for x in [up])))   # a generator is not a sembuf array
    assert errno_of(p.semop, sid + 32768, [up]) == "EINVAL"          # stale sequence
    assert errno_of(p.semop, -1, [up]) == "EINVAL"
    far = (5, 1, 0)
    assert errno_of(p.semop, sid, [far]) == "EFBIG"
    assert errno_of(p.semop, sid, [far]) == "EFBIG"
    p.write_file("/proc/sys/kernel/sem", "250 32000 0 128")
    assert errno_of(p.semop, sid, [up]) == "E2BIG"                   # semopm 0
    p.write_file("/proc/sys/kernel/sem", "250 32000 32 128")
    other = p.fork()
    other.setresuid(1000, 1000, 1000)
    assert errno_of(other.semop, sid, [up]) == "EACCES"
    assert vals(p, sid) == [2, 0]
    p.semop(sid, [down])
    p.semop(sid, [down])
    assert errno_of(p.semop, sid, [(0, -1, IPC_NOWAIT)]) == "EAGAIN"
    got = []
    p.fork(target=lambda q: (q.semop(sid, [down]), got.append(q.pid)))
    k.run_until_idle()
    assert counts(p, sid, 1) == ([1], [0])
    p.semop(sid, [up])                      # the hot path hands the unit to the sleeper
    k.run_until_idle()
    assert got and vals(p, sid) == [0, 0]
    p.semctl(sid, 0, IPC_RMID)
    assert errno_of(p.semop, sid, [up]) == "EINVAL"


def test_semadj_upper_bound_and_exit(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    p.semctl(sid, 0, SETVAL, 32767)
    c = p.fork()
    for _ in range(32767):
        c.semop(sid, [(0, -1, UNDO)])
    c.semop(sid, [(0, 5, 0)])
    assert errno_of(c.semop, sid, [(0, -1, UNDO)]) == "ERANGE"
    c.exit(0)
    assert p.semctl(sid, 0, GETVAL) == 32767                        # clamped


def test_bad_python_input_changes_nothing(p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    for ops, exc in [([(0, 1)], ValueError), ([(0, 1, 0, 0)], ValueError),
                     ([[0, "1", 0]], TypeError), ([(0, True, 0)], TypeError),
                     ([(-1, 1, 0)], OverflowError), ([(65536, 1, 0)], OverflowError),
                     ([(0, 32768, 0)], OverflowError), ([(0, -32769, 0)], OverflowError),
                     ([(0, 1, 65536)], OverflowError), ("abc", TypeError), (5, TypeError),
                     ([(0, 1, 0), 3], TypeError)]:
        with pytest.raises(exc):
            p.semop(sid, ops)
    with pytest.raises(TypeError):
        p.semop("0", [(0, 1, 0)])
    with pytest.raises(OverflowError):
        p.semop(1 << 40, [(0, 1, 0)])
    with pytest.raises(TypeError):
        p.semtimedop(sid, [(0, 1, 0)], "1")
    with pytest.raises(ValueError):
        p.semtimedop(sid, [(0, 1, 0)], float("nan"))
    with pytest.raises(TypeError):
        p.semctl(sid, 0, SETVAL, "3")
    with pytest.raises(OverflowError):
        p.semctl(sid, 0, SETVAL, 1 << 64)
    with pytest.raises(TypeError):
        p.semctl(sid, 0, SETALL, None)
    with pytest.raises(ValueError):
        p.semctl(sid, 0, SETALL, [1])
    with pytest.raises(OverflowError):
        p.semctl(sid, 0, SETALL, [1, -1])
    with pytest.raises(TypeError):
        p.semctl(sid, 0, IPC_SET, {"mode": 0o600})
    with pytest.raises(TypeError):
        p.semget("key", 1, 0)
    with pytest.raises(OverflowError):
        p.semget(IPC_PRIVATE, 1 << 33, 0)
    assert vals(p, sid) == [0, 0] and p.semctl(sid, 0, IPC_STAT).sem_otime == 0
    assert p.sysvsem is None


def test_timespec_and_float_timeouts(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    assert p.semtimedop(sid, [(0, 1, 0)], 0) is None                # no wait needed
    assert p.semtimedop(sid, [(0, 1, 0)], (3, 999999999)) is None
    assert p.semtimedop(sid, [(0, 1, 0)], None) is None
    for bad in (-0.5, (-1, 0), (0, -1), (0, 10**9)):
        assert errno_of(p.semtimedop, sid, [(0, 1, 0)], bad) == "EINVAL"
    assert vals(p, sid) == [3]
    assert errno_of(p.semtimedop, sid, [(0, 0, 0)], 0) == "EAGAIN"   # 0: fails at once
    assert k.clock.now() == 0


# --- blocking and wake-up order --------------------------------------------------------
def test_a_later_request_that_fits_overtakes(k, p):
    """The probed case: W1 (-2) and W2 (-1) wait at 0; +1 serves W2; +3 then serves W1."""
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    w1 = sleeper(k, p, sid, [(0, -2, 0)])
    w2 = sleeper(k, p, sid, [(0, -1, 0)])
    assert p.semctl(sid, 0, GETNCNT) == 2
    p.semop(sid, [(0, 1, 0)])
    k.run_until_idle()
    assert (w1.alive, w2.alive, w2.result) == (True, False, None)
    p.semop(sid, [(0, 3, 0)])
    k.run()
    assert w1.result is None and vals(p, sid) == [1]
    assert p.semctl(sid, 0, GETPID) == w1.pid       # the sleeper's pid, set by the waker


def test_fifo_among_equal_requests_and_wake_order():
    k = ipcsim.Kernel(policy="fifo")
    p = k.init
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    done = []

    def waiter(proc, tag):
        proc.semop(sid, [(0, -1, 0)])
        done.append(tag)

    for tag in "ABCD":
        p.fork(target=waiter, args=(tag,))
        k.run_until_idle()
    p.semop(sid, [(0, 3, 0)])
    k.run_until_idle()
    assert done == ["A", "B", "C"] and p.semctl(sid, 0, GETNCNT) == 1
    p.semop(sid, [(0, 1, 0)])
    k.run()
    assert done == ["A", "B", "C", "D"]
    k.close()


def test_zero_waiters_are_woken_when_the_value_reaches_zero(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    p.semctl(sid, 0, SETALL, [2, 1])
    z = [sleeper(k, p, sid, [(0, 0, 0)]) for _ in range(2)]
    zz = sleeper(k, p, sid, [(0, 0, 0), (1, 0, 0)])
    assert counts(p, sid, 2) == ([0, 0], [3, 0])
    p.semop(sid, [(0, -1, 0)])
    k.run_until_idle()
    assert all(w.alive for w in z + [zz])
    p.semop(sid, [(0, -1, 0)])
    k.run_until_idle()
    assert [w.alive for w in z] == [False, False] and zz.alive
    assert counts(p, sid, 2) == ([0, 0], [0, 1])          # zz now waits on sem 1
    assert p.semctl(sid, 0, GETPID) in (z[0].pid, z[1].pid)
    p.semctl(sid, 1, SETVAL, 0)
    k.run()
    assert zz.result is None


def test_zero_waiters_are_served_before_alter_requests(k, p):
    """[(0,-1),(1,+1)] brings sem 0 to 0 and raises sem 1: the zero-waiter Z of sem 0 is
    served first, then W, which takes sem 1 and raises sem 0 again. Served the other way
    round, Z would find 1 and keep waiting."""
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    p.semctl(sid, 0, SETVAL, 1)
    z = sleeper(k, p, sid, [(0, 0, 0)])
    w = sleeper(k, p, sid, [(1, -1, 0), (0, 1, 0)])
    p.semop(sid, [(0, -1, 0), (1, 1, 0)])
    k.run()
    assert (z.result, w.result) == (None, None) and vals(p, sid) == [1, 0]


def test_complex_requests_count_where_they_block(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    w = sleeper(k, p, sid, [(0, -1, 0), (1, -1, 0)])
    assert counts(p, sid, 2) == ([1, 0], [0, 0])
    p.semctl(sid, 0, SETVAL, 1)
    k.run_until_idle()
    assert counts(p, sid, 2) == ([0, 1], [0, 0])          # it now blocks on sem 1
    p.semctl(sid, 1, SETVAL, 1)
    k.run()
    assert w.result is None and vals(p, sid) == [0, 0]
    assert [p.semctl(sid, i, GETPID) for i in range(2)] == [w.pid, w.pid]


def test_a_retry_can_fail_with_eagain_or_erange(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    w = sleeper(k, p, sid, [(0, -1, 0), (1, -1, NOWAIT)])
    p.semctl(sid, 0, SETVAL, 1)
    k.run()
    assert w.result == "EAGAIN" and vals(p, sid) == [1, 0]
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    w = sleeper(k, p, sid, [(0, -1, 0), (1, 32767, 0)])
    p.semctl(sid, 1, SETVAL, 1)
    k.run_until_idle()
    assert w.alive and counts(p, sid, 2) == ([1, 0], [0, 0])
    p.semctl(sid, 0, SETVAL, 1)
    k.run()
    assert w.result == "ERANGE" and vals(p, sid) == [1, 1]


def test_merged_requests_are_served_highest_semaphore_first(k, p):
    """When a complex request sleeps, the per-semaphore queues are merged into the set's
    queue highest semaphore first: W2 (sem 1) is served before W1 (sem 0), so Y's
    IPC_NOWAIT op on sem 1 finds 0 and Y completes (in FIFO order it would get EAGAIN)."""
    for first, second in ((0, 1), (1, 0)):
        sid = p.semget(IPC_PRIVATE, 2, 0o600)
        p.semctl(sid, 0, SETALL, [1, 1])
        w1 = sleeper(k, p, sid, [(first, -2, 0)])
        w2 = sleeper(k, p, sid, [(second, -2, 0)])
        y = sleeper(k, p, sid, [(0, 0, 0), (1, 0, NOWAIT)])
        assert counts(p, sid, 2) == ([1, 1], [1, 0])
        p.semctl(sid, 0, SETALL, [2, 2])
        k.run()
        assert (w1.result, w2.result, y.result) == (None, None, None)
        assert vals(p, sid) == [0, 0]


def wake_order(setup_steps, change):
    """Programs woken by one change, in the order they finished (FIFO policy: the order
    they were woken)."""
    k = ipcsim.Kernel(policy="fifo")
    p = k.init.clone(CLONE_NEWIPC)
    done = []

    def waiter(proc, tag, sid, ops):
        done.append((tag, outcome(proc.semop, sid, ops)))

    sids = setup_steps(p)
    for tag, sid, ops in sids:
        p.fork(target=waiter, args=(tag, sid, ops))
        k.run_until_idle()
    change(p)
    k.run_until_idle()
    k.close()
    return done


def test_single_requests_go_back_to_their_semaphores_when_complex_ones_leave():
    """While c (complex) sleeps, a0 and a1 sit in the set's list, a1 first (merged highest
    semaphore first). c times out; the single requests go back to their semaphores, and
    SETALL serves them semaphore by semaphore: a0 before a1."""
    state = {}

    def setup(p):
        state["sid"] = sid = p.semget(IPC_PRIVATE, 2, 0o600)
        return [("a0", sid, [(0, -1, 0)]), ("a1", sid, [(1, -1, 0)])]

    def complex_then_setall(p):
        sid = state["sid"]
        assert errno_of(p.semtimedop, sid, [(0, -1, 0), (1, -1, 0)], 0.5) == "EAGAIN"
        p.semctl(sid, 0, SETALL, [1, 1])

    assert wake_order(setup, complex_then_setall) == [("a0", None), ("a1", None)]

    def complex_sleeps_on(p):
        sid = state["sid"]
        p.fork(target=lambda c: c.semop(sid, [(0, -2, 0), (1, -2, 0)]))
        p.kernel.run_until_idle()
        p.semctl(sid, 0, SETALL, [1, 1])

    assert [t for t, _ in wake_order(setup, complex_sleeps_on)] == ["a1", "a0"]


def test_undo_entries_apply_newest_used_first_and_wake_in_that_order():
    state = {}

    def setup(p):
        a = p.semget(IPC_PRIVATE, 1, 0o600)
        b = p.semget(IPC_PRIVATE, 1, 0o600)
        c = state["c"] = p.fork()
        for sid in (a, b, a, b):
            c.semop(sid, [(0, 1, 0)])
            c.semop(sid, [(0, -1, UNDO)])
        return [("on a", a, [(0, -1, 0)]), ("on b", b, [(0, -1, 0)])]

    assert wake_order(setup, lambda p: state["c"].exit(0)) == [("on b", None), ("on a", None)]


def test_setval_wakes_and_sets_otime_only_then(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    k.clock.advance(1)
    p.semctl(sid, 0, SETVAL, 3)
    assert p.semctl(sid, 0, IPC_STAT).sem_otime == 0
    w = sleeper(k, p, sid, [(0, -5, 0)])
    k.clock.advance(1)
    p.semctl(sid, 0, SETVAL, 7)
    k.run()
    ds = p.semctl(sid, 0, IPC_STAT)
    assert w.result is None and ds.sem_otime == ds.sem_ctime == k.clock.time()
    assert vals(p, sid) == [2] and p.semctl(sid, 0, GETPID) == w.pid


def test_sleepers_keep_the_permission_they_had(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o666)
    w = sleeper(k, p, sid, [(0, -1, 0)], setup=lambda proc: proc.setuid(1000))
    p.semctl(sid, 0, IPC_SET, SemidDs(IpcPerm(uid=0, gid=0, mode=0o600)))
    p.semop(sid, [(0, 1, 0)])
    k.run()
    assert w.result is None


def test_rmid_wakes_every_sleeper_with_eidrm(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    p.semctl(sid, 1, SETVAL, 1)
    sleepers = [sleeper(k, p, sid, ops) for ops in
                ([(0, -1, 0)], [(1, 0, 0)], [(0, -1, UNDO), (1, -1, 0)], [(1, 0, 0), (0, 0, 0)])]
    assert counts(p, sid, 2) == ([2, 0], [0, 2])
    p.semctl(sid, 0, IPC_RMID)
    k.run()
    assert [w.result for w in sleepers] == ["EIDRM"] * 4
    assert p.ipc_ns.used_sems == 0 and len(p.ipc_ns.sem_ids) == 0
    assert errno_of(p.semop, sid, [(0, 1, 0)]) == "EINVAL"          # a stale id
    assert errno_of(p.semctl, sid, 0, GETVAL) == "EINVAL"


def test_rmid_wake_order_follows_freeary():
    k = ipcsim.Kernel(policy="fifo")
    p = k.init
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    p.semctl(sid, 0, SETVAL, 1)
    order = []

    def waiter(proc, tag, ops):
        order.append(outcome(proc.semop, sid, ops) and tag)

    for tag, ops in [("z0", [(0, 0, 0)]), ("a1", [(1, -1, 0)]), ("a0", [(0, -2, 0)]),
                     ("c", [(0, -2, 0), (1, -1, 0)]), ("cz", [(0, 0, 0), (1, 0, 0)])]:
        p.fork(target=waiter, args=(tag, ops))
        k.run_until_idle()
    p.semctl(sid, 0, IPC_RMID)
    k.run()
    # merged when c slept: the set's alter list is a1 (sem 1), a0 (sem 0), c
    assert order == ["cz", "a1", "a0", "c", "z0"]
    k.close()


def test_a_handled_signal_interrupts_semop(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)

    def setup(proc):
        proc.signal(signal.SIGUSR1, lambda s: None)

    w = sleeper(k, p, sid, [(0, -1, 0), (1, -1, 0)], setup=setup)
    assert p.ipc_ns.sem_ids.objs[sid].complex_count == 1
    p.kill(w.pid, signal.SIGUSR1)
    k.run()
    assert w.result == "EINTR"
    assert p.ipc_ns.sem_ids.objs[sid].complex_count == 0
    p.semctl(sid, 0, SETALL, [1, 1])                   # nobody takes them now
    assert vals(p, sid) == [1, 1] and counts(p, sid, 2) == ([0, 0], [0, 0])


def test_timeouts_on_the_virtual_clock(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    w = sleeper(k, p, sid, [(0, -1, 0)], timeout=2.5)
    k.clock.advance(2)
    assert w.alive
    k.run()
    assert w.result == "EAGAIN" and k.clock.now() == 2.5
    assert p.semctl(sid, 0, GETNCNT) == 0
    w = sleeper(k, p, sid, [(0, -1, 0)], timeout=(10, 0))
    k.clock.advance(1)
    p.semop(sid, [(0, 1, 0)])
    k.run()
    assert w.result is None and vals(p, sid) == [0] and k.clock.now() == 3.5


def test_a_direct_call_blocks_until_a_program_posts(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)

    def poster(proc):
        proc.sleep(4)
        proc.semop(sid, [(0, 1, 0)])

    p.fork(target=poster)
    p.semop(sid, [(0, -1, 0)])
    assert k.clock.now() == 4


def test_deadlock_names_the_set(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    p.fork(target=lambda c: c.semop(sid, [(1, -1, 0)]))
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert f"semop({sid}, [(1, -1, 0)]) on semaphore set {sid}" in str(e.value) \
        and "sem 1 -1" in str(e.value)
    with pytest.raises(ipcsim.DeadlockError):
        p.semop(sid, [(0, -1, 0), (1, 0, 0)])
    obj = p.ipc_ns.sem_ids.objs[sid]
    assert obj.complex_count == 0 and p.semctl(sid, 0, GETNCNT) == 0   # nothing left


# --- SEM_UNDO ----------------------------------------------------------------------------
def test_undo_at_exit_clamps_and_sets_pid_and_otime(k, p):
    sid = p.semget(IPC_PRIVATE, 3, 0o600)
    c = p.fork()
    c.semop(sid, [(0, 5, UNDO), (1, 2, UNDO), (2, 1, 0)])
    p.semctl(sid, 1, SETVAL, 32767)       # clears c's semadj of sem 1
    p.semop(sid, [(0, -4, 0)])
    k.clock.advance(7)
    c.exit(0)
    assert vals(p, sid) == [0, 32767, 1]                       # 1 - 5 clamped at 0
    assert [p.semctl(sid, i, GETPID) for i in range(3)] == [c.pid, p.pid, c.pid]
    assert p.semctl(sid, 0, IPC_STAT).sem_otime == k.clock.time()


def test_undo_clamps_at_semvmx(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    p.semctl(sid, 0, SETVAL, 10)
    c = p.fork()
    c.semop(sid, [(0, -10, UNDO)])
    p.semctl(sid, 0, SETALL, [32760])            # clears the semadj...
    c.semop(sid, [(0, -5, UNDO)])                # ...which is 5 now
    p.semop(sid, [(0, 10, 0)])
    c.exit(0)
    assert vals(p, sid) == [32767]


def test_a_failed_undo_semop_still_makes_an_entry(k, p):
    """find_alloc_undo runs before the set's checks: the entry it makes stays, and at exit
    its (empty) set is "applied", which sets otime (probed for EAGAIN, EFBIG, EACCES)."""
    for ops, err in [([(0, -1, UNDO | NOWAIT)], "EAGAIN"), ([(5, -1, UNDO)], "EFBIG")]:
        sid = p.semget(IPC_PRIVATE, 2, 0o600)
        c = p.fork()
        assert errno_of(c.semop, sid, ops) == err
        assert p.semctl(sid, 0, IPC_STAT).sem_otime == 0
        k.clock.advance(1)
        c.exit(0)
        assert p.semctl(sid, 0, IPC_STAT).sem_otime == k.clock.time()
    c = p.fork()
    errno_of(c.semop, sid, [(0, -1, NOWAIT)])
    k.clock.advance(1)
    c.exit(0)
    assert p.semctl(sid, 0, IPC_STAT).sem_otime == k.clock.time() - 1   # no entry: no otime


def test_undo_at_exit_wakes_waiters(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    holder = p.fork()
    holder.semop(sid, [(0, 1, 0)])
    holder.semop(sid, [(0, -1, UNDO)])               # takes it, with undo
    w = sleeper(k, p, sid, [(0, -1, 0)])
    p.kill(holder.pid, signal.SIGKILL)
    k.run()
    assert w.result is None and vals(p, sid) == [0]
    assert p.semctl(sid, 0, GETPID) == w.pid


def test_a_killed_sleeper_leaves_its_queue_before_its_undo(k, p):
    """Probed: a process holding +3 (undo) and sleeping on sem 1 is killed: sem 0 goes back
    to 0 and nothing waits on sem 1."""
    sid = p.semget(IPC_PRIVATE, 2, 0o600)

    def setup(proc):
        proc.semop(sid, [(0, 3, UNDO)])

    w = sleeper(k, p, sid, [(1, -1, 0), (0, -3, 0)], setup=setup)
    assert vals(p, sid) == [3, 0] and counts(p, sid, 2) == ([0, 1], [0, 0])
    p.kill(w.pid, signal.SIGKILL)
    k.run()
    assert vals(p, sid) == [0, 0] and counts(p, sid, 2) == ([0, 0], [0, 0])
    assert p.semctl(sid, 0, GETPID) == w.pid
    assert p.ipc_ns.sem_ids.objs[sid].complex_count == 0


def test_a_killed_sleepers_undo_does_not_serve_its_own_request(k, p):
    """The sleeper's own request leaves before its undo is applied: the +1 it gets back
    stays on the semaphore."""
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    p.semctl(sid, 0, SETVAL, 1)
    w = sleeper(k, p, sid, [(0, -1, 0)], setup=lambda c: c.semop(sid, [(0, -1, UNDO)]))
    assert vals(p, sid) == [0] and w.alive
    p.kill(w.pid, signal.SIGKILL)
    k.run()
    assert vals(p, sid) == [1] and p.semctl(sid, 0, GETNCNT) == 0


def test_setval_and_setall_clear_semadj_everywhere(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    a, b = p.fork(), p.fork()
    a.semop(sid, [(0, 1, UNDO), (1, 1, UNDO)])
    b.semop(sid, [(0, 1, UNDO), (1, 1, UNDO)])
    p.semctl(sid, 0, SETVAL, 2)
    a.exit(0)
    assert vals(p, sid) == [2, 1]
    p.semctl(sid, 0, SETALL, [2, 2])
    b.exit(0)
    assert vals(p, sid) == [2, 2]


def test_unshare_and_setns_apply_the_undo_list(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    c = p.fork()
    c.semop(sid, [(0, 4, UNDO)])
    c.unshare(0)
    assert vals(p, sid) == [4]                         # other flags: untouched
    c.unshare(CLONE_SYSVSEM)
    assert vals(p, sid) == [0] and c.sysvsem is None
    c.semop(sid, [(0, 4, UNDO)])
    fd = c.open(f"/proc/{c.pid}/ns/ipc")
    c.setns(fd, CLONE_NEWIPC)                          # the same namespace: still applied
    assert vals(p, sid) == [0]
    c.semop(sid, [(0, 4, UNDO)])
    c.unshare(CLONE_NEWIPC)                            # applied in the old namespace
    assert vals(p, sid) == [0]
    c.exit(0)
    assert vals(p, sid) == [0]


def test_clone_sysvsem_shares_the_undo_list(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    child = p.clone(CLONE_SYSVSEM)
    assert child.sysvsem is p.sysvsem and p.sysvsem.refcnt == 2
    child.semop(sid, [(0, 2, UNDO)])
    child.exit(0)
    assert vals(p, sid) == [2]                         # not the last sharer
    p.semop(sid, [(0, 1, UNDO)])
    assert vals(p, sid) == [3]
    forked = p.fork()
    assert forked.sysvsem is None
    forked.exit(0)
    p.unshare(CLONE_SYSVSEM)                           # the last sharer applies both
    assert vals(p, sid) == [0] and p.semctl(sid, 0, GETPID) == p.pid


def test_a_removed_set_takes_its_undo_entries_with_it(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    c = p.fork()
    c.semop(sid, [(0, 5, UNDO)])
    assert list(c.sysvsem.entries) == [sid]
    p.semctl(sid, 0, IPC_RMID)
    assert c.sysvsem.entries == {}
    p.write_file("/proc/sys/kernel/sem_next_id", str(sid))
    again = p.semget(IPC_PRIVATE, 1, 0o600)
    assert again == sid                                 # the very same id
    p.semctl(again, 0, SETVAL, 1)
    c.exit(0)
    assert vals(p, again) == [1]                        # the old semadj did not apply


def test_undo_entries_are_applied_newest_used_first(k, p):
    a = p.semget(IPC_PRIVATE, 1, 0o600)
    b = p.semget(IPC_PRIVATE, 1, 0o600)
    c = p.fork()
    c.semop(a, [(0, 1, UNDO)])
    c.semop(b, [(0, 1, UNDO)])
    c.semop(a, [(0, 1, UNDO)])
    assert list(c.sysvsem.entries) == [b, a]           # a was used last: applied first
    c.exit(0)
    assert vals(p, a) == vals(p, b) == [0]


# --- semctl ------------------------------------------------------------------------------
def test_getval_getall_getpid(p):
    sid = p.semget(IPC_PRIVATE, 3, 0o600)
    p.semctl(sid, 0, SETALL, [1, 2, 3])
    assert [p.semctl(sid, i, GETVAL) for i in range(3)] == [1, 2, 3]
    assert p.semctl(sid, 99, GETALL) == [1, 2, 3]
    assert p.semctl(sid, 2, GETPID) == p.pid
    for cmd in (GETVAL, GETPID, GETNCNT, GETZCNT):
        assert errno_of(p.semctl, sid, 3, cmd) == "EINVAL"
        assert errno_of(p.semctl, sid, -1, cmd) == "EINVAL"
        assert errno_of(p.semctl, 99999, 0, cmd) == "EINVAL"


def test_semctl_order_of_checks(p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    user = p.fork()
    user.setuid(1000)
    assert errno_of(user.semctl, sid, 5, GETVAL) == "EACCES"       # permission first
    assert errno_of(user.semctl, sid, 5, SETVAL, 1) == "EINVAL"    # semnum first
    assert errno_of(user.semctl, sid, 0, SETVAL, 1) == "EACCES"
    assert errno_of(p.semctl, 99999, 0, SETVAL, -1) == "ERANGE"    # value before the id
    assert errno_of(p.semctl, sid, 0, SETVAL, 32768) == "ERANGE"
    assert errno_of(p.semctl, sid, 0, SETVAL, 1 << 31) == "ERANGE"
    p.semctl(sid, 0, SETVAL, (1 << 32) + 5)                       # low 32 bits
    assert p.semctl(sid, 0, GETVAL) == 5
    assert errno_of(user.semctl, sid, 0, SETALL, [1, 99999 - 65536]) == "EACCES"
    assert errno_of(p.semctl, sid, 0, SETALL, [1, 32768]) == "ERANGE"
    assert vals(p, sid) == [5, 0]
    assert errno_of(user.semctl, sid, 0, GETALL) == "EACCES"
    for cmd in (99, -1, IPC_STAT | 0x100):
        assert errno_of(p.semctl, sid, 0, cmd) == "EINVAL"
    for cmd in (IPC_INFO, SEM_INFO, IPC_STAT, GETVAL, IPC_RMID):
        assert errno_of(p.semctl, -1, 0, cmd) == "EINVAL"


def test_setall_sets_pids_and_ctime(k, p):
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    c = p.fork()
    k.clock.advance(9)
    assert c.semctl(sid, 0, SETALL, (3, 4)) is None
    assert vals(p, sid) == [3, 4]
    assert [p.semctl(sid, i, GETPID) for i in range(2)] == [c.pid, c.pid]
    ds = p.semctl(sid, 0, IPC_STAT)
    assert ds.sem_ctime == k.clock.time() and ds.sem_otime == 0


def test_stat_commands(k, p):
    a = p.semget(IPC_PRIVATE, 1, 0o600)
    p.semctl(a, 0, IPC_RMID)
    b = p.semget(0x42, 4, IPC_CREAT | 0o640)          # idx 1
    ds = p.semctl(b, 0, IPC_STAT)
    assert ds.sem_nsems == 4 and ds.sem_perm.mode == 0o640 and ds.sem_perm.key == 0x42
    assert p.semctl(1, 0, SEM_STAT) == (b, ds)
    assert p.semctl(1 + 5 * 32768, 0, SEM_STAT_ANY) == (b, ds)   # only the index counts
    assert errno_of(p.semctl, 0, 0, SEM_STAT) == "EINVAL"
    assert errno_of(p.semctl, a, 0, IPC_STAT) == "EINVAL"      # removed: EINVAL
    user = p.fork()
    user.setgid(1000)
    user.setuid(1000)
    assert errno_of(user.semctl, b, 0, IPC_STAT) == "EACCES"
    assert errno_of(user.semctl, 1, 0, SEM_STAT) == "EACCES"
    assert user.semctl(1, 0, SEM_STAT_ANY) == (b, ds)


def test_info_commands(k, p):
    assert p.semctl(0, 0, IPC_INFO) == (0, Seminfo(
        semmap=1024000000, semmni=32000, semmns=1024000000, semmnu=1024000000, semmsl=32000,
        semopm=500, semume=500, semusz=20, semvmx=32767, semaem=32767))
    p.semget(IPC_PRIVATE, 3, 0)
    p.write_file("/proc/sys/kernel/sem_next_id", "40")
    p.semget(IPC_PRIVATE, 32000, 0)
    p.write_file("/proc/sys/kernel/sem", "250 1024000000 32 128")
    idx, info = p.semctl(123, 7, SEM_INFO)
    assert idx == 40 and (info.semusz, info.semaem) == (2, 32003)
    assert (info.semmsl, info.semopm, info.semmni) == (250, 32, 128)
    idx, info = p.semctl(0, 0, IPC_INFO)
    assert idx == 40 and (info.semusz, info.semaem) == (20, 32767)
    assert k.init.semctl(0, 0, SEM_INFO)[1].semusz == 0          # the initial namespace


def test_ipc_set_rules(k, p):
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    ds = p.semctl(sid, 0, IPC_STAT)
    k.clock.advance(3)
    ds.sem_perm.mode = 0o7640
    ds.sem_perm.uid = 1000
    ds.sem_perm.gid = 50
    ds.sem_perm.cuid = 77                              # ignored
    assert p.semctl(sid, 0, IPC_SET, ds) is None
    new = p.semctl(sid, 0, IPC_STAT)
    assert (new.sem_perm.mode, new.sem_perm.uid, new.sem_perm.gid, new.sem_perm.cuid) == \
        (0o640, 1000, 50, 0)
    assert new.sem_ctime == k.clock.time()
    other = p.fork()
    other.setuid(2000)
    assert errno_of(other.semctl, sid, 0, IPC_SET, ds) == "EPERM"
    assert errno_of(other.semctl, sid, 0, IPC_RMID) == "EPERM"
    assert errno_of(other.semctl, 99999, 0, IPC_SET, ds) == "EINVAL"
    owner = p.fork()
    owner.setuid(1000)                                 # the owner (uid) may
    ds.sem_perm.uid = 0xFFFFFFFF
    assert errno_of(owner.semctl, sid, 0, IPC_SET, ds) == "EINVAL"
    assert p.semctl(sid, 0, IPC_STAT).sem_perm.uid == 1000
    owner.semctl(sid, 0, IPC_RMID)
    assert len(p.ipc_ns.sem_ids) == 0


# --- namespaces and /proc ----------------------------------------------------------------
def test_the_same_key_names_different_sets_in_two_namespaces(k):
    a = k.init.clone(CLONE_NEWIPC)
    b = k.init.clone(CLONE_NEWIPC)
    sa = a.semget(0x42, 2, IPC_CREAT | 0o600)
    sb = b.semget(0x42, 5, IPC_CREAT | 0o600)
    assert sa == sb == 0
    a.semop(sa, [(1, 7, 0)])
    assert b.semctl(sb, 0, GETALL) == [0] * 5 and a.semctl(sa, 0, GETALL) == [0, 7]
    assert a.semctl(0, 0, SEM_INFO)[1].semaem == 2 and b.semctl(0, 0, SEM_INFO)[1].semaem == 5
    assert k.init.semctl(0, 0, SEM_INFO)[1].semaem == 0
    assert errno_of(k.init.semop, 0, [(0, 1, 0)]) == "EINVAL"


def test_namespace_death_frees_its_sets(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    sid = a.semget(0x42, 3, IPC_CREAT | 0o600)
    a.semop(sid, [(0, 1, UNDO)])
    a.exit(0)
    assert not ns.alive and len(ns.sem_ids) == 0 and ns.used_sems == 0


def test_proc_sysvipc_sem_text(k, p):
    k.clock.advance(100)
    s1 = p.semget(-1 & 0xFFFFFFFF, 3, IPC_CREAT | 0o644)
    p.write_file("/proc/sys/kernel/sem_next_id", "163847")     # seq 5, idx 7
    s2 = p.semget(0x12345678, 250, IPC_CREAT | 0o600)
    k.clock.advance(1)
    p.semop(s2, [(0, 1, 0)])
    text = p.read_file("/proc/sysvipc/sem")
    header, r1, r2 = text.splitlines()
    t = k.clock.time()
    assert header == ("       key      semid perms      nsems   uid   gid  cuid  cgid      otime"
                      "      ctime")
    assert r1 == (f"        -1          0   644          3     0     0     0     0          0"
                  f" {t - 1}")
    assert r2 == f" 305419896     163847   600        250     0     0     0     0 {t} {t - 1}"
    assert len(header) == len(r1) == len(r2) == 84 and text.endswith("\n")
    assert k.init.read_file("/proc/sysvipc/sem") == header + "\n"


# --- the real kernel ---------------------------------------------------------------------
SEM_PRELUDE = r'''
import struct
_libc.syscall.argtypes = [ctypes.c_long] * 6
IPC_CREAT, IPC_NOWAIT, SEM_UNDO = 0o1000, 0o4000, 0x1000
IPC_RMID, IPC_STAT = 0, 2
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17

class _Sembuf(ctypes.Structure):
    _fields_ = [("n", ctypes.c_ushort), ("o", ctypes.c_short), ("f", ctypes.c_short)]

class _TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]

def _sc(*a):
    a = list(a) + [0] * (6 - len(a))
    r = _libc.syscall(*a)
    return ename(ctypes.get_errno()) if r == -1 else r

def semget(key, n, flg): return _sc(64, key, n, flg)

def _ops(ops):
    arr = (_Sembuf * max(len(ops), 1))()
    for i, (n, o, f) in enumerate(ops):
        arr[i].n, arr[i].o, arr[i].f = n, o, f
    return arr

def semop(sid, ops):
    arr = _ops(ops)
    r = _sc(65, sid, ctypes.addressof(arr), len(ops))
    return None if r == 0 else r

def semtimedop(sid, ops, s, ns):
    arr, ts = _ops(ops), _TS(s, ns)
    r = _sc(220, sid, ctypes.addressof(arr), len(ops), ctypes.addressof(ts))
    return None if r == 0 else r

def semctl(sid, num, cmd, arg=0): return _sc(66, sid, num, cmd, arg)

def getall(sid, n):
    arr = (ctypes.c_ushort * n)()
    r = _sc(66, sid, 0, GETALL, ctypes.addressof(arr))
    return r if isinstance(r, str) else list(arr)

def setall(sid, v):
    arr = (ctypes.c_ushort * len(v))(*v)
    return _sc(66, sid, 0, SETALL, ctypes.addressof(arr))

def otime(sid):
    buf = ctypes.create_string_buffer(104)
    _sc(66, sid, 0, IPC_STAT, ctypes.addressof(buf))
    return struct.unpack_from("q", buf.raw, 48)[0]

def stat_fields(sid):
    buf = ctypes.create_string_buffer(104)
    _sc(66, sid, 0, IPC_STAT, ctypes.addressof(buf))
    key, uid, gid, cuid, cgid, mode = struct.unpack_from("iIIIIH", buf.raw, 0)
    ot, _, ct, _, n = struct.unpack_from("qqqqQ", buf.raw, 48)
    return [key, uid, gid, cuid, cgid, mode, ot, ct, n]

def spawn(fn):
    """fork a child running fn(); returns a function that waits and gives its result"""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, json.dumps(fn()).encode())
        os._exit(0)
    os.close(w)
    def join():
        data = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        return json.loads(data)
    join.pid = pid
    return join

def wait_count(sid, num, cmd, n):
    for _ in range(2000):
        if semctl(sid, num, cmd) == n:
            return
        time.sleep(0.005)
    raise RuntimeError("the child never blocked")
'''


def real(code):
    return run_real(SEM_PRELUDE + code)


@requires_real
def test_real_order_of_checks():
    got = real('''
sid = semget(0, 3, 0o600)
many = [(0, 1, 0)] * 501
result = [semop(-1, many), semop(sid, []), semop(-1, [(0, 1, 0)]),
          semtimedop(sid, [(5, 1, 0)], 0, 2000000000), semtimedop(sid, [(0, 1, 0)], -1, 0),
          semtimedop(sid, many, 0, -1), semop(99999, [(5, 1, SEM_UNDO)]),
          semop(sid, [(0, 1, 0), (3, 1, 0)]),
          semop(sid, [(0, 32767, 0), (1, -1, IPC_NOWAIT)]),
          semop(sid, [(1, -1, IPC_NOWAIT), (0, 32767, 0)]),
          semctl(99999, 0, SETVAL, -1), semctl(sid, 7, SETVAL, 1), semctl(sid, -1, GETVAL),
          semctl(sid, 0, SETVAL, 2**31), semctl(sid, 0, SETVAL, 2**32 + 5),
          semctl(sid, 0, GETVAL), semctl(sid, 0, 99), semctl(-1, 0, 3),
          semtimedop(sid, [(1, -1, 0)], 0, 0), getall(sid, 3)]
''')
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)
    sid = p.semget(IPC_PRIVATE, 3, 0o600)
    many = [(0, 1, 0)] * 501
    mine = [outcome(p.semop, -1, many), outcome(p.semop, sid, []),
            outcome(p.semop, -1, [(0, 1, 0)]),
            outcome(p.semtimedop, sid, [(5, 1, 0)], (0, 2000000000)),
            outcome(p.semtimedop, sid, [(0, 1, 0)], (-1, 0)),
            outcome(p.semtimedop, sid, many, (0, -1)),
            outcome(p.semop, 99999, [(5, 1, UNDO)]),
            outcome(p.semop, sid, [(0, 1, 0), (3, 1, 0)]),
            outcome(p.semop, sid, [(0, 32767, 0), (1, -1, NOWAIT)]),
            outcome(p.semop, sid, [(1, -1, NOWAIT), (0, 32767, 0)]),
            outcome(p.semctl, 99999, 0, SETVAL, -1), outcome(p.semctl, sid, 7, SETVAL, 1),
            outcome(p.semctl, sid, -1, GETVAL), outcome(p.semctl, sid, 0, SETVAL, 2**31),
            outcome(p.semctl, sid, 0, SETVAL, 2**32 + 5) or 0, p.semctl(sid, 0, GETVAL),
            outcome(p.semctl, sid, 0, 99), outcome(p.semctl, -1, 0, IPC_INFO),
            outcome(p.semtimedop, sid, [(1, -1, 0)], 0), vals(p, sid)]
    k.close()
    assert mine == got


@requires_real
def test_real_merge_order_and_retry_errors():
    got = real('''
def merged(first, second):
    sid = semget(0, 2, 0o600)
    setall(sid, [1, 1])
    w1 = spawn(lambda: semop(sid, [(first, -2, 0)]))
    wait_count(sid, first, GETNCNT, 1)
    w2 = spawn(lambda: semop(sid, [(second, -2, 0)]))
    wait_count(sid, second, GETNCNT, 1)
    y = spawn(lambda: semop(sid, [(0, 0, 0), (1, 0, IPC_NOWAIT)]))
    wait_count(sid, 0, GETZCNT, 1)
    setall(sid, [2, 2])
    return [w1(), w2(), y(), getall(sid, 2)]

def retry(ops, first, then):
    sid = semget(0, 2, 0o600)
    w = spawn(lambda: semop(sid, ops))
    wait_count(sid, 0, GETNCNT, 1)
    semctl(sid, first[0], SETVAL, first[1])
    time.sleep(0.05)
    mid = [semctl(sid, i, c) for c in (GETNCNT, GETZCNT) for i in (0, 1)]
    semctl(sid, then[0], SETVAL, then[1])
    return [mid, w(), getall(sid, 2)]

def zero_first():
    sid = semget(0, 2, 0o600)
    semctl(sid, 0, SETVAL, 1)
    z = spawn(lambda: semop(sid, [(0, 0, 0)]))
    wait_count(sid, 0, GETZCNT, 1)
    w = spawn(lambda: semop(sid, [(1, -1, 0), (0, 1, 0)]))
    wait_count(sid, 1, GETNCNT, 1)
    semop(sid, [(0, -1, 0), (1, 1, 0)])
    return [z(), w(), getall(sid, 2)]

result = [zero_first(), merged(0, 1), merged(1, 0),
          retry([(0, -1, 0), (1, -1, IPC_NOWAIT)], (1, 0), (0, 1)),
          retry([(0, -1, 0), (1, 32767, 0)], (1, 1), (0, 1)),
          retry([(0, -1, 0), (1, -1, 0)], (0, 1), (1, 1))]
''')
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)

    def merged(first, second):
        sid = p.semget(IPC_PRIVATE, 2, 0o600)
        p.semctl(sid, 0, SETALL, [1, 1])
        w1 = sleeper(k, p, sid, [(first, -2, 0)])
        w2 = sleeper(k, p, sid, [(second, -2, 0)])
        y = sleeper(k, p, sid, [(0, 0, 0), (1, 0, NOWAIT)])
        p.semctl(sid, 0, SETALL, [2, 2])
        k.run()
        return [w1.result, w2.result, y.result, vals(p, sid)]

    def retry(ops, first, then):
        sid = p.semget(IPC_PRIVATE, 2, 0o600)
        w = sleeper(k, p, sid, ops)
        p.semctl(sid, first[0], SETVAL, first[1])
        k.run_until_idle()
        mid = [p.semctl(sid, i, c) for c in (GETNCNT, GETZCNT) for i in (0, 1)]
        p.semctl(sid, then[0], SETVAL, then[1])
        k.run()
        return [mid, w.result, vals(p, sid)]

    def zero_first():
        sid = p.semget(IPC_PRIVATE, 2, 0o600)
        p.semctl(sid, 0, SETVAL, 1)
        z = sleeper(k, p, sid, [(0, 0, 0)])
        w = sleeper(k, p, sid, [(1, -1, 0), (0, 1, 0)])
        p.semop(sid, [(0, -1, 0), (1, 1, 0)])
        k.run()
        return [z.result, w.result, vals(p, sid)]

    mine = [zero_first(), merged(0, 1), merged(1, 0),
            retry([(0, -1, 0), (1, -1, NOWAIT)], (1, 0), (0, 1)),
            retry([(0, -1, 0), (1, 32767, 0)], (1, 1), (0, 1)),
            retry([(0, -1, 0), (1, -1, 0)], (0, 1), (1, 1))]
    k.close()
    assert mine == got


@requires_real
def test_real_undo_rules():
    got = real('''
out = []
for ops in ([(0, -1, SEM_UNDO | IPC_NOWAIT)], [(5, -1, SEM_UNDO)], [(0, -1, IPC_NOWAIT)]):
    sid = semget(0, 2, 0o600)
    r = spawn(lambda: semop(sid, ops))()
    out.append([r, otime(sid) != 0])
sid = semget(0, 2, 0o600)
def holder():
    semop(sid, [(0, 3, SEM_UNDO)])
    return semop(sid, [(1, -1, 0), (0, -3, 0)])
j = spawn(holder)
wait_count(sid, 1, GETNCNT, 1)
os.kill(j.pid, 9)
os.waitpid(j.pid, 0)
out.append([getall(sid, 2), semctl(sid, 1, GETNCNT), semctl(sid, 0, GETPID) == j.pid])
sid = semget(0, 1, 0o600)
semctl(sid, 0, SETVAL, 1)
def own():
    semop(sid, [(0, -1, SEM_UNDO)])
    return semop(sid, [(0, -1, 0)])
j = spawn(own)
wait_count(sid, 0, GETNCNT, 1)
os.kill(j.pid, 9)
os.waitpid(j.pid, 0)
out.append([getall(sid, 1), semctl(sid, 0, GETNCNT)])
sid = semget(0, 3, 0o600)
def undoer():
    semop(sid, [(0, 5, SEM_UNDO), (1, 2, SEM_UNDO), (2, 1, 0)])
    time.sleep(0.3)             # exit after the parent's SETVAL and semop
j = spawn(undoer)
time.sleep(0.1)
semctl(sid, 1, SETVAL, 32767)
semop(sid, [(0, -4, 0)])
j()
out.append([getall(sid, 3), semctl(sid, 0, GETPID) == j.pid, semctl(sid, 1, GETPID) == os.getpid()])
sid = semget(0, 1, 0o600)
CLONE_SYSVSEM = 0x00040000
pid = _libc.syscall(56, CLONE_SYSVSEM | 17, 0, 0, 0, 0)
if pid == 0:
    semop(sid, [(0, 2, SEM_UNDO)])
    os._exit(0)
os.waitpid(pid, 0)
out.append(getall(sid, 1))
semop(sid, [(0, 1, SEM_UNDO)])
unshare(CLONE_SYSVSEM)
out.append([getall(sid, 1), semctl(sid, 0, GETPID) == os.getpid()])
result = out
''')
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)
    out = []
    for ops in ([(0, -1, UNDO | NOWAIT)], [(5, -1, UNDO)], [(0, -1, NOWAIT)]):
        sid = p.semget(IPC_PRIVATE, 2, 0o600)
        c = p.fork()
        r = outcome(c.semop, sid, ops)
        c.exit(0)
        out.append([r, p.semctl(sid, 0, IPC_STAT).sem_otime != 0])
    sid = p.semget(IPC_PRIVATE, 2, 0o600)
    w = sleeper(k, p, sid, [(1, -1, 0), (0, -3, 0)],
                setup=lambda proc: proc.semop(sid, [(0, 3, UNDO)]))
    p.kill(w.pid, signal.SIGKILL)
    k.run()
    out.append([vals(p, sid), p.semctl(sid, 1, GETNCNT), p.semctl(sid, 0, GETPID) == w.pid])
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    p.semctl(sid, 0, SETVAL, 1)
    w = sleeper(k, p, sid, [(0, -1, 0)], setup=lambda c: c.semop(sid, [(0, -1, UNDO)]))
    p.kill(w.pid, signal.SIGKILL)
    k.run()
    out.append([vals(p, sid), p.semctl(sid, 0, GETNCNT)])
    sid = p.semget(IPC_PRIVATE, 3, 0o600)
    c = p.fork()
    c.semop(sid, [(0, 5, UNDO), (1, 2, UNDO), (2, 1, 0)])
    p.semctl(sid, 1, SETVAL, 32767)
    p.semop(sid, [(0, -4, 0)])
    c.exit(0)
    out.append([vals(p, sid), p.semctl(sid, 0, GETPID) == c.pid,
                p.semctl(sid, 1, GETPID) == p.pid])
    sid = p.semget(IPC_PRIVATE, 1, 0o600)
    c = p.clone(CLONE_SYSVSEM)
    c.semop(sid, [(0, 2, UNDO)])
    c.exit(0)
    out.append(vals(p, sid))
    p.semop(sid, [(0, 1, UNDO)])
    p.unshare(CLONE_SYSVSEM)
    out.append([vals(p, sid), p.semctl(sid, 0, GETPID) == p.pid])
    k.close()
    assert out == got


@requires_real
def test_real_proc_row_format():
    got = real('''
sid = semget(-1, 3, IPC_CREAT | 0o644)
semop(sid, [(1, 1, 0)])
rows = open("/proc/sysvipc/sem").read()
result = [rows, [sid] + stat_fields(sid)]
''')
    text, (sid, key, uid, gid, cuid, cgid, mode, ot, ct, nsems) = got
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)
    mine = p.semget(-1, 3, IPC_CREAT | 0o644)
    p.semop(mine, [(1, 1, 0)])
    obj = p.ipc_ns.sem_ids.objs[mine]
    obj.uid, obj.gid, obj.cuid, obj.cgid = uid, gid, cuid, cgid
    obj.sem_otime, obj.sem_ctime = ot, ct
    assert mine == sid and p.read_file("/proc/sysvipc/sem") == text
    k.close()


# --- random programs against the real kernel --------------------------------------------
REAL_DRIVER = r'''
import select
prog = PROG
nsems = prog["nsems"]
sid = semget(0, nsems, 0o600)

def child_loop(cmd_r, res_w):
    f = os.fdopen(cmd_r, "r")
    while True:
        line = f.readline()
        if not line:
            os._exit(0)
        cmd = json.loads(line)
        if cmd[0] == "exit":
            os._exit(0)
        if cmd[0] == "semop":
            r = semop(sid, [tuple(o) for o in cmd[1]])
        elif cmd[0] == "setval":
            r = semctl(sid, cmd[1], SETVAL, cmd[2]) or None
        else:
            r = setall(sid, cmd[1]) or None
        os.write(res_w, (json.dumps(r) + "\n").encode())

procs = []
for i in range(prog["nprocs"]):
    cr, cw = os.pipe()
    rr, rw = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(cw); os.close(rr)
        child_loop(cr, rw)
    os.close(cr); os.close(rw)
    procs.append({"pid": pid, "cw": cw, "rr": rr, "busy": False, "alive": True, "buf": b""})

def answer(p):
    if select.select([p["rr"]], [], [], 0)[0]:
        p["buf"] += os.read(p["rr"], 4096)
    if b"\n" in p["buf"]:
        line, p["buf"] = p["buf"].split(b"\n", 1)
        return [json.loads(line)]
    return None

def sleeping_in_semop(p):
    st = open("/proc/%d/stat" % p["pid"]).read()
    return st[st.rindex(")") + 2] == "S" and "sem" in open("/proc/%d/wchan" % p["pid"]).read()

def settle(events):
    stable = 0
    for _ in range(5000):
        unsettled = False
        for i, p in enumerate(procs):
            if p["busy"]:
                got = answer(p)
                if got is not None:
                    p["busy"] = False
                    events.append([i, got[0]])
                    unsettled = True
                elif not sleeping_in_semop(p):
                    unsettled = True
        stable = 0 if unsettled else stable + 1
        if stable == 3:
            return
        time.sleep(0.003)
    raise RuntimeError("settle timeout")

def snapshot():
    return [getall(sid, nsems), [semctl(sid, i, c) for c in (GETNCNT, GETZCNT)
                                 for i in range(nsems)], otime(sid) != 0]

out = []
for who, kind, args in prog["steps"]:
    events = []
    if who == -1:
        r = (semctl(sid, args[0], SETVAL, args[1]) if kind == "setval"
             else setall(sid, args[0])) or None
        events.append([-1, r])
        settle(events)
    else:
        p = procs[who]
        if kind == "exit":
            os.write(p["cw"], b'["exit"]\n')
            os.waitpid(p["pid"], 0)
            p["alive"] = False
        else:
            os.write(p["cw"], (json.dumps([kind] + args) + "\n").encode())
            p["busy"] = True
        settle(events)
    out.append([sorted(events), snapshot()])
semctl(sid, 0, IPC_RMID)
for p in procs:
    if p["alive"]:
        os.write(p["cw"], b'["exit"]\n')
        os.waitpid(p["pid"], 0)
result = out
'''


def random_program(rng, nsems, nprocs, nsteps):
    """Steps for idle processes only: the program is simulated as it is made."""
    prog = {"nsems": nsems, "nprocs": nprocs, "steps": []}
    for _ in range(nsteps):
        busy, dead = _busy_and_dead(prog)
        idle = [i for i in range(nprocs) if i not in busy and i not in dead]
        if rng.random() < 0.3 or not idle:
            if rng.random() < 0.7:
                step = [-1, "setall", [[rng.choice([0, 1, 1, 2, 3]) for _ in range(nsems)]]]
            else:
                step = [-1, "setval", [rng.randrange(nsems), rng.randint(0, 3)]]
        else:
            who, r = rng.choice(idle), rng.random()
            if r < 0.35:
                step = [who, "semop", [[[rng.randrange(nsems), rng.choice([-1, -1, -2, 0]),
                                         UNDO if rng.random() < 0.3 else 0]]]]
            elif r < 0.8:
                ops = [[rng.randrange(nsems), rng.choice([-2, -1, -1, 0, 0, 1, 2]),
                        (NOWAIT if rng.random() < 0.25 else 0)
                        | (UNDO if rng.random() < 0.2 else 0)]
                       for _ in range(rng.choice([2, 2, 3]))]
                step = [who, "semop", [ops]]
            elif r < 0.92:
                step = [who, "semop", [[[rng.randrange(nsems), rng.choice([1, 2]),
                                         rng.choice([0, UNDO])]]]]
            else:
                step = [who, "exit", []]
        prog["steps"].append(step)
    return prog


def _busy_and_dead(prog):
    busy, dead = set(), set()
    for step, (events, _) in zip(prog["steps"], play_on_ipcsim(prog)):
        who, kind = step[0], step[1]
        if kind == "exit":
            dead.add(who)
        elif who >= 0:
            busy.add(who)
        for i, _ in events:
            busy.discard(i)
    return busy, dead


def play_on_ipcsim(prog):
    """The program on ipcsim: per step, the calls that finished and the set's state."""
    from ipcsim.conformance.sim import SimBackend
    b = SimBackend()
    b.open()
    try:
        nsems = prog["nsems"]
        sid = b.call("a", "semget", (IPC_PRIVATE, nsems, 0o600))[1]
        labels = [f"c{i}" for i in range(prog["nprocs"])]
        for label in labels:
            b.call("a", "fork", (), label)
        out = []
        for who, kind, args in prog["steps"]:
            events = []
            if kind == "exit":
                b.call(labels[who], "exit", (0,))
                b.call("a", "wait", (-1, 0))
            else:
                if kind == "semop":
                    call = ("semop", (sid, [tuple(o) for o in args[0]]))
                elif kind == "setval":
                    call = ("semctl", (sid, args[0], SETVAL, args[1]))
                else:
                    call = ("semctl", (sid, 0, SETALL, args[0]))
                res = b.call("a" if who == -1 else labels[who], *call)
                if res[0] != "blocked":
                    events.append([who, res[1]])
            for label, oc in b.completed():
                events.append([labels.index(label), oc[1]])

            def get(*args):
                return b.call("a", "semctl", (sid,) + args)[1]
            snap = [get(0, GETALL), [get(i, c) for c in (GETNCNT, GETZCNT) for i in range(nsems)],
                    get(0, IPC_STAT).sem_otime != 0]
            out.append([sorted(events), snap])
        return out
    finally:
        b.close()


@requires_real
@pytest.mark.parametrize("seed", [18, 53, 4, 45])
def test_random_programs_agree_with_the_real_kernel(seed):
    rng = random.Random(seed)
    prog = random_program(rng, rng.randint(2, 4), rng.randint(5, 8), rng.randint(15, 30))
    got = real(REAL_DRIVER.replace("PROG", json.dumps(prog)))
    assert play_on_ipcsim(prog) == json.loads(json.dumps(got))


# --- the wake-up scans against a plain walk ----------------------------------------------
# SemArray skips the scans that could change nothing (see SemArray._narrow) and checks the
# requests of the set's lists with a fast path. RefSet is ipc/sem.c written plainly: every
# scan retries every request, with perform_atomic_semop_slow's rules. Random sleepers and
# changes must give the same wake-ups, in the same order, and the same counts.
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ipcsim.kernel.sem import SemArray  # noqa: E402

SEMVMX_, SEMAEM_ = 32767, 32767


class RefQ:
    def __init__(self, who, sops, adj):
        self.who, self.sops, self.adj, self.blocking = who, sops, adj, 0
        self.alter = any(op for _, op, _ in sops)


class RefSet:
    def __init__(self, nsems):
        self.n = nsems
        self.val, self.pid = [0] * nsems, [None] * nsems
        self.sem_alter = [[] for _ in range(nsems)]
        self.sem_const = [[] for _ in range(nsems)]
        self.alter, self.const, self.complex = [], [], 0
        self.wakes = []

    def perform(self, q):
        vals, adj = list(self.val), list(q.adj)
        for j, (num, op, flg) in enumerate(q.sops):
            v = vals[num]
            if (op == 0 and v) or v + op < 0:
                q.blocking = j
                return "EAGAIN" if flg & NOWAIT else "block"
            v += op
            if v > SEMVMX_:
                return "ERANGE"
            if flg & UNDO:
                a = adj[num] - op
                if not -SEMAEM_ - 1 <= a <= SEMAEM_:
                    return "ERANGE"
                adj[num] = a
            vals[num] = v
        self.val, q.adj[:] = vals, adj
        for num, _, _ in q.sops:
            self.pid[num] = q.who
        return None

    def lst(self, q):
        if len(q.sops) == 1:
            num = q.sops[0][0]
            if q.alter:
                return self.alter if q in self.alter else self.sem_alter[num]
            return self.sem_const[num]
        return self.alter if q.alter else self.const

    def unlink(self, q):
        self.lst(q).remove(q)
        self.complex -= len(q.sops) > 1

    def wake_const_ops(self, lst):
        done = False
        for q in list(lst):
            r = self.perform(q)
            if r != "block":
                self.unlink(q)
                self.wakes.append([q.who, r])
                done |= r is None
        return done

    def wakeup_zero(self, nums):
        done = got_zero = False
        for num in nums:
            if self.val[num] == 0:
                got_zero = True
                done |= self.wake_const_ops(self.sem_const[num])
        if got_zero:
            done |= self.wake_const_ops(self.const)
        return done

    def update_queue(self, semnum):
        done = False
        lst = self.alter if semnum < 0 else self.sem_alter[semnum]
        again = True
        while again:
            again = False
            for q in list(lst):
                if semnum >= 0 and self.val[semnum] == 0:
                    break
                r = self.perform(q)
                if r == "block":
                    continue
                self.unlink(q)
                if r is None:
                    done = True
                    self.wakeup_zero([num for num, _, _ in q.sops])   # woken first
                    again = bool(self.alter) or len(q.sops) > 1
                self.wakes.append([q.who, r])
                if again:
                    break
        return done

    def do_smart_update(self, sops):
        nums = range(self.n) if sops is None else [num for num, _, _ in sops]
        self.wakeup_zero(nums)
        if self.alter:
            self.update_queue(-1)
        elif sops is None:
            for num in range(self.n):
                self.update_queue(num)
        else:
            for num, op, _ in sops:
                if op > 0:
                    self.update_queue(num)

    def unlock(self):
        if not self.complex:
            for q in self.alter:
                self.sem_alter[q.sops[0][0]].append(q)
            self.alter = []

    def semop(self, who, sops, adj):
        q = RefQ(who, sops, adj)
        r = self.perform(q)
        if r is None:
            if q.alter:
                self.do_smart_update(sops)
        elif r == "block":
            if len(sops) == 1:
                if not q.alter:
                    self.sem_const[sops[0][0]].append(q)
                else:
                    (self.alter if self.complex else self.sem_alter[sops[0][0]]).append(q)
            else:
                if not self.complex:
                    for num in range(self.n):
                        self.alter[:0] = self.sem_alter[num]
                        self.sem_alter[num] = []
                (self.alter if q.alter else self.const).append(q)
                self.complex += 1
        self.unlock()
        return r

    def set_values(self, who, nums, values, adjs):
        for num, v in zip(nums, values):
            self.val[num], self.pid[num] = v, who
            for adj in adjs:
                adj[num] = 0
        self.do_smart_update(None)
        self.unlock()

    def counts(self):
        ncnt = [len(lst) for lst in self.sem_alter]
        zcnt = [len(lst) for lst in self.sem_const]
        for glob, zero in ((self.alter, False), (self.alter, True), (self.const, True)):
            for q in glob:
                num, op, _ = q.sops[q.blocking]
                if zero and op == 0:
                    zcnt[num] += 1
                elif not zero and op < 0:
                    ncnt[num] += 1
        return ncnt, zcnt


def _sops(nsems, most):
    op = st.tuples(st.integers(0, nsems - 1),
                   st.sampled_from([-2, -1, -1, 0, 0, 1, 1, 2, SEMVMX_, -SEMVMX_ - 1]),
                   st.sampled_from([0, 0, 0, NOWAIT, UNDO]))
    return st.lists(op, min_size=1, max_size=most)


@st.composite
def _scenarios(draw):
    nsems = draw(st.integers(1, 4))
    step = st.one_of(
        st.tuples(st.just("wait"), _sops(nsems, 4), st.booleans()),
        st.tuples(st.just("wait"), _sops(nsems, 1), st.booleans()),
        st.tuples(st.just("op"), _sops(nsems, 3)),
        st.tuples(st.just("op"), _sops(nsems, 1)),
        st.tuples(st.just("setval"), st.integers(0, nsems - 1),
                  st.sampled_from([0, 1, 2, 3, SEMVMX_ - 1, SEMVMX_])),
        st.tuples(st.just("setall"), st.lists(st.integers(0, 3), min_size=nsems,
                                                max_size=nsems)))
    return nsems, draw(st.lists(step, min_size=1, max_size=30))


# IPCSIM_SEM_EXAMPLES: more examples for a longer search
@settings(max_examples=int(os.environ.get("IPCSIM_SEM_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(scenario=_scenarios())
# a sleeper sharing the driver's undo list (CLONE_SYSVSEM): the driver's op leaves the value
# as it was but moves the shared semadj to its limit, so the sleeper's retry is ERANGE
@example(scenario=(2, [("setval", 0, SEMVMX_), ("op", [(0, -SEMVMX_ + 1, UNDO)]),
                       ("wait", [(0, -1, UNDO), (1, -1, 0)], True),
                       ("op", [(0, -1, UNDO), (0, 1, 0)])]))
# a wait for zero behind a decrement of the same semaphore waits for the value 1
@example(scenario=(2, [("wait", [(1, 1, 0), (0, -1, 0), (0, 0, 0)], False),
                       ("op", [(0, 1, 0)])]))
def test_wake_ups_agree_with_a_plain_walk(scenario):
    nsems, steps = scenario
    ref = RefSet(nsems)
    woken = []

    def finish(sma, wakes, _orig=SemArray.finish):
        woken.extend([label[w.process.pid], errno.errorcode.get(e)] for w, e in wakes)
        _orig(sma, wakes)

    with ipcsim.Kernel(seed=0) as k, pytest.MonkeyPatch.context() as mp:
        mp.setattr(SemArray, "finish", finish)
        p = k.init.clone(CLONE_NEWIPC)
        sid = p.semget(IPC_PRIVATE, nsems, 0o600)
        label = {p.pid: "driver", 0: None}
        adjs = {"driver": [0] * nsems}
        done = {}
        for i, step in enumerate(steps):
            woken.clear()
            ref.wakes = []
            if step[0] == "wait":
                sops = [tuple(o) for o in step[1]]
                adjs[i] = adjs["driver"] if step[2] else [0] * nsems
                ref_now = ref.semop(i, sops, adjs[i])

                def prog(proc, i=i, sops=sops):
                    done[i] = outcome(proc.semop, sid, sops)
                    proc.pause()        # alive: no undo applied at exit
                child = p.clone(CLONE_SYSVSEM, target=prog) if step[2] else p.fork(target=prog)
                label[child.pid] = i
                k.run_until_idle()
                assert done.get(i, "block") == ref_now, (i, step)
            elif step[0] == "op":
                sops = [(n, o, f | NOWAIT) for n, o, f in step[1]]
                assert outcome(p.semop, sid, sops) == ref.semop("driver", sops,
                                                                adjs["driver"]), (i, step)
            elif step[0] == "setval":
                p.semctl(sid, step[1], SETVAL, step[2])
                ref.set_values("driver", [step[1]], [step[2]], adjs.values())
            else:
                p.semctl(sid, 0, SETALL, step[1])
                ref.set_values("driver", range(nsems), step[1], adjs.values())
            k.run_until_idle()
            assert woken == ref.wakes, (i, step)
            assert vals(p, sid) == ref.val, (i, step)
            assert counts(p, sid, nsems) == ref.counts(), (i, step)
            assert [label[p.semctl(sid, n, GETPID)] for n in range(nsems)] == ref.pid


MANY_WAITERS = r'''
import select
rng_sops, changes, nsems = SPEC
sid = semget(0, nsems, 0o600)

def total():
    return sum(semctl(sid, i, c) for i in range(nsems) for c in (GETNCNT, GETZCNT))

def snapshot():
    return [getall(sid, nsems), [semctl(sid, i, c) for c in (GETNCNT, GETZCNT)
                                 for i in range(nsems)]]

pipes = []
go_r, go_w = os.pipe()          # the sleepers stay alive (no undo at exit) until it closes
for sops in rng_sops:
    before = total()
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)
        os.close(go_w)
        os.write(w, json.dumps(semop(sid, [tuple(o) for o in sops])).encode())
        os.close(w)
        os.read(go_r, 1)
        os._exit(0)
    os.close(w)
    pipes.append(r)
    for _ in range(2000):
        if total() > before or select.select([r], [], [], 0)[0]:
            break
        time.sleep(0.002)
out = [snapshot()]
for kind, a, b in changes:
    if kind == "setval":
        semctl(sid, a, SETVAL, b)
    else:
        semop(sid, [(a, b, IPC_NOWAIT)])
    out.append(snapshot())
semctl(sid, 0, IPC_RMID)
os.close(go_w)
results = []
for r in pipes:
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    results.append(json.loads(data))
    os.wait()
result = [out, results]
'''


@requires_real
def test_many_waiters_agree_with_the_real_kernel():
    """80 sleepers of every kind on one set, then changes that wake some: after each, the
    values and GETNCNT/GETZCNT; at the end, what each call returned (EIDRM if it was still
    asleep when the set was removed)."""
    rng = random.Random(7)
    nsems = 5
    sleepers = []
    for _ in range(80):
        sleepers.append([[rng.randrange(nsems), rng.choice([-3, -2, -1, -1, 0, 1]),
                          rng.choice([0, 0, 0, UNDO])] for _ in range(rng.choice([1, 2, 3]))])
    changes = [["op", rng.randrange(nsems), rng.choice([1, 1, 2, -1])] for _ in range(40)]
    changes += [["setval", n, 3] for n in range(nsems)]
    got = real(MANY_WAITERS.replace("SPEC", json.dumps([sleepers, changes, nsems])))
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)
    sid = p.semget(IPC_PRIVATE, nsems, 0o600)
    results = {}

    def prog(proc, i, sops):
        results[i] = outcome(proc.semop, sid, sops)
        proc.pause()                 # alive (no undo at exit) until the end
    for i, sops in enumerate(sleepers):
        p.fork(target=prog, args=(i, [tuple(o) for o in sops]))
        k.run_until_idle()

    def snapshot():
        k.run_until_idle()
        ncnt, zcnt = counts(p, sid, nsems)
        return [vals(p, sid), ncnt + zcnt]
    out = [snapshot()]
    for kind, a, b in changes:
        if kind == "setval":
            p.semctl(sid, a, SETVAL, b)
        else:
            outcome(p.semop, sid, [(a, b, NOWAIT)])
        out.append(snapshot())
    p.semctl(sid, 0, IPC_RMID)
    k.run_until_idle()
    mine = [out, [results[i] for i in range(len(sleepers))]]
    k.close()
    assert mine == json.loads(json.dumps(got))


def test_sets_made_without_sleepers_share_nothing_once_one_has_some(k, p):
    """A set makes its sleeper lists and undo table at first use; before that every set
    points at the same empty ones, so a sleeper or an undo entry of one set must never show
    in another (made before or after it)."""
    a = p.semget(IPC_PRIVATE, 2, 0o600)
    b = p.semget(IPC_PRIVATE, 2, 0o600)
    one = sleeper(k, p, a, [(0, -1, 0)])
    two = sleeper(k, p, a, [(1, 0, 0), (0, -1, 0)])
    undoer = p.fork()
    undoer.semop(b, [(1, 1, SEM_UNDO)])
    c = p.semget(IPC_PRIVATE, 2, 0o600)
    assert counts(p, a, 2) == ([2, 0], [0, 0])
    assert counts(p, b, 2) == counts(p, c, 2) == ([0, 0], [0, 0])
    p.semctl(c, 0, SETVAL, 1)
    p.semctl(b, 0, SETVAL, 1)
    k.run_until_idle()
    assert one.alive and two.alive and counts(p, a, 2) == ([2, 0], [0, 0])
    p.semctl(a, 0, SETVAL, 2)
    k.run_until_idle()
    assert not one.alive and not two.alive and vals(p, a) == [0, 0]
    p.semop(c, [(1, 1, 0)])
    undoer.exit(0)                      # undoes b's +1 only
    assert vals(p, b) == [1, 0] and vals(p, c) == [1, 1]
