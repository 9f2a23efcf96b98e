"""System V message queues, as msgop(2), msgctl(2) and ipc/msg.c define them."""
import errno
import signal

import pytest

import ipcsim
from ipcsim import (CAP_SYS_RESOURCE, CLONE_NEWIPC, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_NOWAIT,
                    IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, MSG_COPY, MSG_EXCEPT, MSG_INFO,
                    MSG_NOERROR, MSG_STAT, MSG_STAT_ANY)
from ipcsim.kernel.msg import MsqidDs

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return errno.errorcode[e.value.errno]


@pytest.fixture
def p(k):
    return k.init.clone(CLONE_NEWIPC)


# --- msgget ------------------------------------------------------------------------------
def test_msgget_keys(p):
    a = p.msgget(0x42, IPC_CREAT | 0o600)
    assert p.msgget(0x42, 0) == a
    assert p.msgget(0x42, IPC_CREAT) == a
    assert errno_of(p.msgget, 0x42, IPC_CREAT | IPC_EXCL) == "EEXIST"
    assert errno_of(p.msgget, 0x43, 0) == "ENOENT"
    assert p.msgget(IPC_PRIVATE, 0) != p.msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL)


def test_msgget_mode_and_permission(k, p):
    q = p.msgget(0x42, IPC_CREAT | 0o7777)
    assert p.msgctl(q, IPC_STAT).msg_perm.mode == 0o777
    r = p.msgget(0x43, IPC_CREAT | 0o600)
    user = p.fork()
    user.setuid(1000)
    assert user.msgget(0x43, 0) == r             # no mode bits asked: no check
    assert errno_of(user.msgget, 0x43, 0o400) == "EACCES"
    assert errno_of(user.msgget, 0x43, IPC_CREAT | 0o200) == "EACCES"


def test_msgget_limit_and_next_id(p):
    p.write_file("/proc/sys/kernel/msgmni", "2")
    p.msgget(IPC_PRIVATE, 0)
    p.msgget(IPC_PRIVATE, 0)
    p.write_file("/proc/sys/kernel/msg_next_id", "777")
    assert errno_of(p.msgget, 0x99, IPC_CREAT) == "ENOSPC"
    assert p.read_file("/proc/sys/kernel/msg_next_id") == "777\n"   # not used up
    p.write_file("/proc/sys/kernel/msgmni", "10")
    assert p.msgget(0x99, IPC_CREAT) == 777
    assert p.read_file("/proc/sys/kernel/msg_next_id") == "-1\n"


def test_ids_are_not_reused_at_once(p):
    a, b = p.msgget(IPC_PRIVATE, 0), p.msgget(IPC_PRIVATE, 0)
    p.msgctl(a, IPC_RMID)
    assert errno_of(p.msgctl, a, IPC_STAT) == "EINVAL"     # a stale id is EINVAL, not EIDRM
    assert p.msgget(IPC_PRIVATE, 0) == 2


def test_bad_python_input(p):
    q = p.msgget(IPC_PRIVATE, 0)
    with pytest.raises(TypeError):
        p.msgsnd(q, 1, 12)
    with pytest.raises(TypeError):
        p.msgsnd(q, "1", b"x")
    with pytest.raises(OverflowError):
        p.msgsnd(q, 1 << 64, b"x")
    with pytest.raises(TypeError):
        p.msgget("key", 0)
    with pytest.raises(TypeError):
        p.msgctl(q, IPC_SET, {"msg_qbytes": 5})
    assert p.msgctl(q, IPC_STAT).msg_qnum == 0


# --- msgsnd / msgrcv ---------------------------------------------------------------------
def test_send_and_receive_update_the_queue(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    k.clock.advance(10)
    p.msgsnd(q, 1, b"hello")
    ds = p.msgctl(q, IPC_STAT)
    assert (ds.msg_qnum, ds.msg_cbytes, ds.msg_lspid, ds.msg_stime) == \
        (1, 5, p.pid, k.clock.time())
    assert ds.msg_rtime == 0 and ds.msg_lrpid == 0
    other = p.fork()
    assert other.msgrcv(q, 100) == (1, b"hello")
    ds = p.msgctl(q, IPC_STAT)
    assert (ds.msg_qnum, ds.msg_cbytes, ds.msg_lrpid) == (0, 0, other.pid)


def test_send_errors(p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    assert errno_of(p.msgsnd, q, 1, b"x" * 8193) == "EINVAL"
    p.msgsnd(q, 1, b"x" * 8192)
    assert errno_of(p.msgsnd, q, 0, b"x") == "EINVAL"
    assert errno_of(p.msgsnd, q, -1, b"x") == "EINVAL"
    assert errno_of(p.msgsnd, -1, 1, b"x") == "EINVAL"
    assert errno_of(p.msgsnd, q + 1, 1, b"x") == "EINVAL"
    user = p.fork()
    user.setuid(1000)
    assert errno_of(user.msgsnd, q, 1, b"x") == "EACCES"


def test_the_message_count_is_bounded_by_qbytes(p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    ds = p.msgctl(q, IPC_STAT)
    ds.msg_qbytes = 100
    p.msgctl(q, IPC_SET, ds)
    for _ in range(100):
        p.msgsnd(q, 1, b"")
    assert errno_of(p.msgsnd, q, 1, b"", IPC_NOWAIT) == "EAGAIN"
    ds.msg_qbytes = 0
    p.msgctl(q, IPC_SET, ds)
    r = p.msgget(IPC_PRIVATE, 0o600)
    p.msgctl(r, IPC_SET, ds)
    assert errno_of(p.msgsnd, r, 1, b"", IPC_NOWAIT) == "EAGAIN"


def test_receive_order(p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    for t, text in [(5, b"five"), (3, b"three"), (7, b"seven"), (3, b"three2"), (1, b"one")]:
        p.msgsnd(q, t, text)
    assert p.msgrcv(q, 100, 2, MSG_COPY | IPC_NOWAIT) == (7, b"seven")
    assert p.msgrcv(q, 100, -4) == (1, b"one")
    assert p.msgrcv(q, 100, 5, MSG_EXCEPT) == (3, b"three")
    assert p.msgrcv(q, 100, 3) == (3, b"three2")
    assert errno_of(p.msgrcv, q, 100, 99, IPC_NOWAIT) == "ENOMSG"
    assert p.msgrcv(q, 100, -100) == (5, b"five")
    assert p.msgrcv(q, 100, -100) == (7, b"seven")
    assert errno_of(p.msgrcv, q, 100, -100, IPC_NOWAIT) == "ENOMSG"


def test_e2big_leaves_the_message_and_noerror_truncates(p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    p.msgsnd(q, 1, b"hello")
    assert errno_of(p.msgrcv, q, 3) == "E2BIG"
    assert p.msgctl(q, IPC_STAT).msg_qnum == 1
    assert p.msgrcv(q, 3, 0, MSG_NOERROR) == (1, b"hel")
    assert p.msgctl(q, IPC_STAT).msg_cbytes == 0


def test_msg_copy_rules(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    p.msgsnd(q, 4, b"hello")
    before = p.msgctl(q, IPC_STAT)
    k.clock.advance(5)
    assert errno_of(p.msgrcv, q, 100, 0, MSG_COPY) == "EINVAL"
    assert errno_of(p.msgrcv, q, 100, 0, MSG_COPY | IPC_NOWAIT | MSG_EXCEPT) == "EINVAL"
    assert errno_of(p.msgrcv, q, 3, 0, MSG_COPY | IPC_NOWAIT) == "E2BIG"
    assert errno_of(p.msgrcv, q, 3, 0, MSG_COPY | IPC_NOWAIT | MSG_NOERROR) == "EINVAL"
    assert errno_of(p.msgrcv, q, 100, 1, MSG_COPY | IPC_NOWAIT) == "ENOMSG"
    assert p.msgrcv(q, 100, 0, MSG_COPY | IPC_NOWAIT) == (4, b"hello")
    assert p.msgctl(q, IPC_STAT) == before      # a copy changes nothing
    p.write_file("/proc/sys/kernel/msgmax", "3")
    assert errno_of(p.msgrcv, q, 100, 0, MSG_COPY | IPC_NOWAIT) == "EINVAL"


def test_receive_errors(p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    assert errno_of(p.msgrcv, -1, 10) == "EINVAL"
    assert errno_of(p.msgrcv, q, -1) == "EINVAL"
    assert errno_of(p.msgrcv, q + 32768, 10, 0, IPC_NOWAIT) == "EINVAL"
    user = p.fork()
    user.setuid(1000)
    assert errno_of(user.msgrcv, q, 10, 0, IPC_NOWAIT) == "EACCES"


# --- blocking ----------------------------------------------------------------------------
def test_pipelined_send_in_receiver_order(k, p):
    """The probed case: receivers A(any, buffer 2), B(type 7), C(any), D(any)."""
    q = p.msgget(IPC_PRIVATE, 0o600)

    def receiver(proc, msgtyp, size):
        try:
            return proc.msgrcv(q, size, msgtyp)
        except OSError as e:
            return errno.errorcode[e.errno]

    procs = {}
    for name, msgtyp, size in [("A", 0, 2), ("B", 7, 100), ("C", 0, 100), ("D", 0, 100)]:
        procs[name] = p.fork(target=receiver, args=(msgtyp, size))
        k.run_until_idle()
    p.msgsnd(q, 7, b"hello")
    p.msgsnd(q, 3, b"three")
    p.msgsnd(q, 9, b"nine")
    k.run()
    assert {n: pr.result for n, pr in procs.items()} == {
        "A": "E2BIG", "B": (7, b"hello"), "C": (3, b"three"), "D": (9, b"nine")}
    ds = p.msgctl(q, IPC_STAT)
    assert ds.msg_qnum == 0 and ds.msg_lrpid == procs["D"].pid and ds.msg_lspid == p.pid


def test_a_blocked_sender_waits_for_room(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    ds = p.msgctl(q, IPC_STAT)
    ds.msg_qbytes = 10
    p.msgctl(q, IPC_SET, ds)
    p.msgsnd(q, 1, b"x" * 10)
    sender = p.fork(target=lambda s: s.msgsnd(q, 2, b"y" * 4))
    k.run_until_idle()
    assert sender.alive
    assert p.msgrcv(q, 100) == (1, b"x" * 10)
    k.run()
    assert p.msgrcv(q, 100) == (2, b"yyyy")


def test_raising_qbytes_wakes_senders(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    ds = p.msgctl(q, IPC_STAT)
    ds.msg_qbytes = 4
    p.msgctl(q, IPC_SET, ds)
    p.fork(target=lambda s: s.msgsnd(q, 2, b"y" * 8))
    k.run_until_idle()
    ds.msg_qbytes = 16
    p.msgctl(q, IPC_SET, ds)
    k.run()
    assert p.msgctl(q, IPC_STAT).msg_qnum == 1


def test_ipc_set_makes_receivers_check_permission_again(k, p):
    q = p.msgget(IPC_PRIVATE, 0o666)

    def receiver(proc):
        proc.setuid(1000)
        try:
            return proc.msgrcv(q, 10)
        except OSError as e:
            return errno.errorcode[e.errno]

    r = p.fork(target=receiver)
    k.run_until_idle()
    ds = p.msgctl(q, IPC_STAT)
    ds.msg_perm.mode = 0o600
    p.msgctl(q, IPC_SET, ds)
    k.run()
    assert r.result == "EACCES"


def test_rmid_wakes_every_waiter_with_eidrm(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    ds = p.msgctl(q, IPC_STAT)
    ds.msg_qbytes = 1
    p.msgctl(q, IPC_SET, ds)
    p.msgsnd(q, 1, b"x")

    def call(proc, what):
        try:
            if what == "send":
                proc.msgsnd(q, 1, b"y")
            else:
                proc.msgrcv(q, 10, 5)
        except OSError as e:
            return errno.errorcode[e.errno]

    waiters = [p.fork(target=call, args=(w,)) for w in ("send", "recv", "send")]
    k.run_until_idle()
    p.msgctl(q, IPC_RMID)
    k.run()
    assert [w.result for w in waiters] == ["EIDRM"] * 3
    assert p.ipc_ns.msg_bytes == 0 and p.ipc_ns.msg_hdrs == 0


def test_a_handled_signal_interrupts_msgrcv(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)

    def receiver(proc):
        proc.signal(signal.SIGUSR1, lambda s: None)
        try:
            proc.msgrcv(q, 10)
        except InterruptedError:
            return "EINTR"

    r = p.fork(target=receiver)
    k.run_until_idle()
    p.kill(r.pid, signal.SIGUSR1)
    k.run()
    assert r.result == "EINTR"
    p.msgsnd(q, 1, b"kept")                        # the interrupted receiver took nothing
    assert p.msgctl(q, IPC_STAT).msg_qnum == 1


def test_deadlock_names_the_queue(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    p.fork(target=lambda r: r.msgrcv(q, 10, 3))
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert f"msgrcv({q}, 10, 3, 0) on queue {q}" in str(e.value)


# --- msgctl ------------------------------------------------------------------------------
def test_ipc_set_rules(k, p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    ds = p.msgctl(q, IPC_STAT)
    k.clock.advance(3)
    ds.msg_perm.mode = 0o7640
    ds.msg_perm.uid = 1000
    p.msgctl(q, IPC_SET, ds)
    new = p.msgctl(q, IPC_STAT)
    assert (new.msg_perm.mode, new.msg_perm.uid, new.msg_perm.cuid) == (0o640, 1000, 0)
    assert new.msg_ctime == k.clock.time()
    ds = p.msgctl(q, IPC_STAT)
    ds.msg_perm.uid = 0xFFFFFFFF
    assert errno_of(p.msgctl, q, IPC_SET, ds) == "EINVAL"
    stranger = p.fork()
    stranger.setuid(2000)
    assert errno_of(stranger.msgctl, q, IPC_SET, new) == "EPERM"
    assert errno_of(stranger.msgctl, q, IPC_RMID) == "EPERM"
    owner = p.fork()
    owner.setuid(1000)                            # the new owner may
    owner.msgctl(q, IPC_SET, new)


def test_qbytes_above_msgmnb_needs_cap_sys_resource(p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    user = p.fork()
    user.drop_capability(CAP_SYS_RESOURCE)
    ds = user.msgctl(q, IPC_STAT)
    for value, result in [(16385, "EPERM"), (1 << 31, "EPERM"), ((1 << 32) - 1, "EPERM"),
                          ((1 << 32) + 7, 7), (16384, 16384)]:
        ds.msg_qbytes = value
        if result == "EPERM":
            assert errno_of(user.msgctl, q, IPC_SET, ds) == "EPERM"
        else:
            user.msgctl(q, IPC_SET, ds)
            assert user.msgctl(q, IPC_STAT).msg_qbytes == result
    ds.msg_qbytes = 1 << 20
    p.msgctl(q, IPC_SET, ds)                      # root with CAP_SYS_RESOURCE may
    assert p.msgctl(q, IPC_STAT).msg_qbytes == 1 << 20


def test_info_and_stat_commands(p):
    ids = [p.msgget(IPC_PRIVATE, 0o600) for _ in range(3)]
    p.msgsnd(ids[0], 1, b"abc")
    p.msgsnd(ids[1], 1, b"de")
    maxidx, info = p.msgctl(0, IPC_INFO)
    assert maxidx == 2
    assert (info.msgpool, info.msgmap, info.msgmax, info.msgmnb, info.msgmni, info.msgssz,
            info.msgtql, info.msgseg) == (512000, 16384, 8192, 16384, 32000, 16, 16384, 65535)
    maxidx, info = p.msgctl(0, MSG_INFO)
    assert (info.msgpool, info.msgmap, info.msgtql) == (3, 2, 5)
    p.msgctl(ids[0], IPC_RMID)
    for _ in range(61):
        p.msgctl(p.msgget(IPC_PRIVATE, 0), IPC_RMID)
    late = p.msgget(IPC_PRIVATE, 0o600)                    # wraps: idx 0, seq 1
    assert late == 32768
    assert p.msgctl(32768 * 7, MSG_STAT)[0] == late        # the index, whatever the seq
    assert p.msgctl(1, MSG_STAT)[0] == ids[1]
    assert errno_of(p.msgctl, 5, MSG_STAT) == "EINVAL"
    user = p.fork()
    user.setuid(1000)
    assert errno_of(user.msgctl, 1, MSG_STAT) == "EACCES"
    assert user.msgctl(1, MSG_STAT_ANY)[0] == ids[1]
    assert errno_of(user.msgctl, ids[1], IPC_STAT) == "EACCES"
    assert errno_of(p.msgctl, ids[1], 99) == "EINVAL"
    assert errno_of(p.msgctl, -1, IPC_STAT) == "EINVAL"
    assert errno_of(p.msgctl, ids[1], -1) == "EINVAL"
    assert p.msgctl(0, IPC_INFO)[0] == 2


def test_empty_table_info_gives_zero(p):
    assert p.msgctl(0, MSG_INFO)[0] == 0


# --- namespaces and /proc ----------------------------------------------------------------
def test_the_same_key_names_different_queues_in_two_containers(k):
    a = k.init.clone(CLONE_NEWIPC)
    b = k.init.clone(CLONE_NEWIPC)
    qa = a.msgget(0x42, IPC_CREAT | 0o600)
    qb = b.msgget(0x42, IPC_CREAT | 0o600)
    a.msgsnd(qa, 1, b"for a")
    assert errno_of(b.msgrcv, qb, 10, 0, IPC_NOWAIT) == "ENOMSG"
    assert a.msgctl(0, MSG_INFO)[1].msgpool == 1
    assert k.init.msgctl(0, MSG_INFO)[1].msgpool == 0
    assert errno_of(k.init.msgget, 0x42, 0) == "ENOENT"


def test_namespace_death_frees_its_queues(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    q = a.msgget(0x42, IPC_CREAT | 0o600)
    a.msgsnd(q, 1, b"lost")
    a.exit(0)
    assert not ns.alive and len(ns.msg_ids) == 0 and ns.msg_bytes == 0


def test_proc_sysvipc_msg_text(k, p):
    k.clock.advance(100)
    q = p.msgget(-1 & 0xFFFFFFFF, IPC_CREAT | 0o644)
    p.msgsnd(q, 1, b"abc")
    text = p.read_file("/proc/sysvipc/msg")
    header, row = text.splitlines()
    t = k.clock.time()
    assert row == (f"        -1          0   644           3          1 {p.pid:5d}     0     0"
                   f"     0     0     0 {t} {0:10d} {t}")
    assert len(header) == 119 and len(row) == 119


def test_a_type_behind_thirty_thousand_others(p):
    q = p.msgget(IPC_PRIVATE, 0o600)
    ds = p.msgctl(q, IPC_STAT)
    ds.msg_qbytes = 1 << 20
    p.msgctl(q, IPC_SET, ds)
    for _ in range(30000):
        p.msgsnd(q, 1, b"")
    p.msgsnd(q, 2, b"target")
    assert p.msgrcv(q, 10, 2) == (2, b"target")
    assert p.msgctl(q, IPC_STAT).msg_qnum == 30000
    assert p.msgrcv(q, 10, -1) == (1, b"")
    assert errno_of(p.msgrcv, q, 10, 1, MSG_EXCEPT | IPC_NOWAIT) == "ENOMSG"


def test_the_keyword_names_of_the_api(p):
    """api.md's spelling: msgget(key, flags), msgsnd(..., flags=0), msgrcv(..., msgtyp=0,
    flags=0)."""
    q = p.msgget(IPC_PRIVATE, flags=0o600)
    p.msgsnd(q, 3, b"kw", flags=IPC_NOWAIT)
    assert p.msgrcv(q, 10, msgtyp=3, flags=IPC_NOWAIT) == (3, b"kw")
    assert errno_of(p.msgrcv, q, 10, 0, IPC_NOWAIT) == "ENOMSG"
