"""POSIX message queues: every call, flag and errno, blocking and wake-up order, notification,
the mqueue filesystem, limits, and namespaces (ipc/mqueue.c, mq_overview(7))."""
import errno

import pytest

import ipcsim
from ipcsim import (CAP_DAC_OVERRIDE, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CLONE_NEWIPC, MqAttr,
                    O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, RLIMIT_MSGQUEUE,
                    SI_MESGQ, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGUSR1, SIGUSR2, SigEvent)
from ipcsim.kernel.mqueue import mq_charge

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")

MNT = "/dev/mqueue"


def err(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return errno.errorcode[e.value.errno]


@pytest.fixture
def p(k):
    """A root process in a namespace of its own."""
    return k.init.clone(CLONE_NEWIPC)


def small(p, name="/q", maxmsg=4, msgsize=16, flags=O_RDWR, mode=0o600):
    return p.mq_open(name, O_CREAT | flags, mode, MqAttr(mq_maxmsg=maxmsg, mq_msgsize=msgsize))


# --- mq_open -------------------------------------------------------------------------------
def test_default_attributes_come_from_the_namespace(p):
    q = p.mq_open("/d", O_CREAT | O_RDWR)
    assert p.mq_getattr(q) == MqAttr(0, 10, 8192, 0)
    p.write_file("/proc/sys/fs/mqueue/msg_default", "50")      # capped by msg_max
    p.write_file("/proc/sys/fs/mqueue/msgsize_default", "300")
    q = p.mq_open("/d2", O_CREAT | O_RDWR)
    assert p.mq_getattr(q) == MqAttr(0, 10, 300, 0)


def test_flags_and_curmsgs_of_attr_are_ignored_at_creation(p):
    q = p.mq_open("/a", O_CREAT | O_RDWR, 0o600, MqAttr(123, 5, 64, 99))
    assert p.mq_getattr(q) == MqAttr(0, 5, 64, 0)
    q = p.mq_open("/b", O_CREAT | O_RDWR | O_NONBLOCK, 0o600, MqAttr(0, 1, 1, 0))
    assert p.mq_getattr(q).mq_flags == O_NONBLOCK


@pytest.mark.parametrize("name,expected", [
    ("", "EINVAL"), ("q", "EINVAL"), ("/", "ENOENT"), ("/a/b", "EACCES"), ("//a", "EACCES"),
    ("/.", "EACCES"), ("/..", "EACCES"), ("/" + "x" * 256, "ENAMETOOLONG"),
    ("/" + "x" * 300 + "/y", "EACCES"), ("/" + "x" * 4096, "ENAMETOOLONG"),
])
def test_name_rules(p, name, expected):
    assert err(p.mq_open, name, O_CREAT | O_RDWR) == expected
    assert err(p.mq_unlink, name) == expected.replace("EEXIST", "ENOENT")


def test_names_that_are_fine(p):
    for name in ("/" + "x" * 255, "/with space", "/\xff", b"/bytes"):
        p.mq_close(p.mq_open(name, O_CREAT | O_RDWR))
        p.mq_unlink(name)


def test_existing_queue_errnos(p, k):
    q = small(p)
    assert err(p.mq_open, "/missing", O_RDWR) == "ENOENT"
    assert err(p.mq_open, "/q", O_CREAT | O_EXCL | O_RDWR) == "EEXIST"
    assert err(p.mq_open, "/q", O_RDWR | O_WRONLY) == "EINVAL"
    p.mq_close(p.mq_open("/q", O_EXCL | O_RDWR))             # O_EXCL alone is ignored
    again = p.mq_open("/q", O_RDWR, 0o777, MqAttr(0, 0, 0, 0))   # attr ignored: no O_CREAT
    assert p.mq_getattr(again) == p.mq_getattr(q)


@pytest.mark.parametrize("mode,rd,wr", [(0o600, "EACCES", "EACCES"), (0o604, None, "EACCES"),
                                        (0o602, "EACCES", None), (0o606, None, None)])
def test_open_permission_checks(k, mode, rd, wr):
    owner = k.init.fork()
    owner.umask(0)
    owner.mq_open("/perm", O_CREAT | O_RDWR, mode)
    other = owner.fork()
    other.setgid(1000)
    other.setuid(1000)
    for flags, want in ((O_RDONLY, rd), (O_WRONLY, wr)):
        if want is None:
            other.mq_close(other.mq_open("/perm", flags))
        else:
            assert err(other.mq_open, "/perm", flags) == want
    if rd or wr:
        assert err(other.mq_open, "/perm", O_RDWR) == "EACCES"
    else:
        other.mq_close(other.mq_open("/perm", O_RDWR))


def test_group_class_and_dac_override(k):
    owner = k.init.fork()
    owner.setgid(50)
    owner.mq_open("/g", O_CREAT | O_RDWR, 0o640)
    member = k.init.fork()
    member.setgroups([50])
    member.drop_capability(CAP_DAC_OVERRIDE)
    member.setuid(1000)
    member.mq_open("/g", O_RDONLY)
    assert err(member.mq_open, "/g", O_WRONLY) == "EACCES"
    root = k.init.fork()
    root.mq_open("/g", O_RDWR)              # CAP_DAC_OVERRIDE
    root.drop_capability(CAP_DAC_OVERRIDE)
    root.setuid(1000)
    assert err(root.mq_open, "/g", O_RDONLY) == "EACCES"


def test_creating_with_accmode_3_gives_a_descriptor_that_can_neither_send_nor_receive(p):
    q = p.mq_open("/three", O_CREAT | O_RDWR | O_WRONLY)
    assert err(p.mq_send, q, b"x") == "EBADF"
    assert err(p.mq_receive, q, 8192) == "EBADF"
    assert p.mq_getattr(q).mq_maxmsg == 10
    p.mq_notify(q, SigEvent(SIGEV_NONE))


@pytest.mark.parametrize("attr", [MqAttr(0, 0, 10, 0), MqAttr(0, 10, 0, 0), MqAttr(0, -1, 10, 0),
                                  MqAttr(0, 11, 10, 0), MqAttr(0, 10, 8193, 0)])
def test_bad_attributes_without_cap_sys_resource(p, attr):
    p.drop_capability(CAP_SYS_RESOURCE)
    assert err(p.mq_open, "/bad", O_CREAT | O_RDWR, 0o600, attr) == "EINVAL"
    assert p.ipc_ns.mq_queues_count == 0 and not p.kernel.mq_ucounts
    assert err(p.mq_open, "/bad", O_RDWR) == "ENOENT"


def test_cap_sys_resource_allows_up_to_the_hard_limits(p):
    p.setrlimit(RLIMIT_MSGQUEUE, 1 << 40, 1 << 40)
    q = p.mq_open("/big", O_CREAT | O_RDWR, 0o600, MqAttr(0, 65536, 16, 0))
    assert p.mq_getattr(q).mq_maxmsg == 65536
    p.mq_open("/wide", O_CREAT | O_RDWR, 0o600, MqAttr(0, 1, 16 << 20, 0))
    assert err(p.mq_open, "/x", O_CREAT | O_RDWR, 0o600, MqAttr(0, 65537, 16, 0)) == "EINVAL"
    assert err(p.mq_open, "/x", O_CREAT | O_RDWR, 0o600,
               MqAttr(0, 1, (16 << 20) + 1, 0)) == "EINVAL"


def test_sysctls_limit_their_own_namespace_only(k, p):
    other = k.init.clone(CLONE_NEWIPC)
    for proc in (p, other):
        proc.drop_capability(CAP_SYS_RESOURCE)
    p.write_file("/proc/sys/fs/mqueue/msg_max", "3")
    p.write_file("/proc/sys/fs/mqueue/msgsize_max", "128")
    assert err(p.mq_open, "/x", O_CREAT | O_RDWR, 0o600, MqAttr(0, 4, 16, 0)) == "EINVAL"
    assert err(p.mq_open, "/x", O_CREAT | O_RDWR, 0o600, MqAttr(0, 3, 129, 0)) == "EINVAL"
    assert p.mq_getattr(p.mq_open("/x", O_CREAT | O_RDWR)) == MqAttr(0, 3, 128, 0)
    other.mq_open("/x", O_CREAT | O_RDWR, 0o600, MqAttr(0, 10, 8192, 0))
    assert other.read_file("/proc/sys/fs/mqueue/msg_max") == "10\n"


def test_mode_keeps_special_bits_and_drops_the_type(k, p):
    p.mount("none", MNT, "mqueue")
    p.umask(0o022)
    p.mq_open("/m1", O_CREAT | O_RDWR, 0o7777)
    p.mq_open("/m2", O_CREAT | O_RDWR, 0o170777)
    assert p.stat(f"{MNT}/m1").st_mode == 0o107755
    assert p.stat(f"{MNT}/m2").st_mode == 0o100755
    child = p.fork()
    child.setgid(7)
    child.setuid(1000)
    child.mq_open("/mine", O_CREAT | O_WRONLY, 0o640)
    st = p.stat(f"{MNT}/mine")
    assert (st.st_uid, st.st_gid, st.st_mode, st.st_size, st.st_nlink) == \
        (1000, 7, 0o100640, 80, 1)


def test_queues_max_counts_unlinked_open_queues(p):
    p.drop_capability(CAP_SYS_RESOURCE)
    p.write_file("/proc/sys/fs/mqueue/queues_max", "2")
    small(p, "/one")
    two = small(p, "/two")
    assert err(small, p, "/three") == "ENOSPC"
    p.mq_unlink("/two")
    assert err(small, p, "/three") == "ENOSPC"
    p.mq_close(two)
    small(p, "/three")
    assert p.ipc_ns.mq_queues_count == 2
    p.write_file("/proc/sys/fs/mqueue/queues_max", "-1")     # unsigned: no limit
    small(p, "/four")


def test_cap_sys_resource_passes_queues_max(p):
    p.write_file("/proc/sys/fs/mqueue/queues_max", "0")
    small(p, "/root-may")
    p.drop_capability(CAP_SYS_RESOURCE)
    assert err(small, p, "/not-now") == "ENOSPC"


# --- RLIMIT_MSGQUEUE ---------------------------------------------------------------------
def test_the_charge_formula():
    assert mq_charge(1, 128) == 224 and mq_charge(1, 1) == 97
    assert mq_charge(10, 8192) == 82880 and mq_charge(5, 100) == 980
    assert mq_charge(65536, 1) == 65536 * 49 + 32768 * 48     # one tree node per priority


def test_emfile_past_the_soft_limit_and_the_tenth_default_queue(k):
    u = k.init.fork()
    u.setuid(4242)
    assert u.getrlimit(RLIMIT_MSGQUEUE) == (819200, 819200)
    fds = [u.mq_open(f"/d{i}", O_CREAT | O_RDWR) for i in range(9)]
    assert err(u.mq_open, "/d9", O_CREAT | O_RDWR) == "EMFILE"
    assert k.mq_ucounts[4242] == 9 * 82880
    u.mq_unlink("/d0")                    # released at the last close, not at unlink
    assert err(u.mq_open, "/d9", O_CREAT | O_RDWR) == "EMFILE"
    u.mq_close(fds[0])
    u.mq_open("/d9", O_CREAT | O_RDWR)


def test_setrlimit_rules(k):
    u = k.init.fork()
    u.setuid(4242)
    u.setrlimit(RLIMIT_MSGQUEUE, 980, 5000)
    assert u.getrlimit(RLIMIT_MSGQUEUE) == (980, 5000)
    assert err(u.mq_open, "/big", O_CREAT | O_RDWR, 0o600, MqAttr(0, 5, 101, 0)) == "EMFILE"
    u.mq_open("/fits", O_CREAT | O_RDWR, 0o600, MqAttr(0, 5, 100, 0))
    assert err(u.setrlimit, RLIMIT_MSGQUEUE, 2000, 1000) == "EINVAL"
    assert err(u.setrlimit, RLIMIT_MSGQUEUE, 100, 6000) == "EPERM"
    assert err(u.setrlimit, 99, 1, 1) == "EINVAL"
    assert err(u.getrlimit, -1) == "EINVAL"
    assert u.getrlimit(RLIMIT_MSGQUEUE) == (980, 5000)
    child = u.fork()
    assert child.getrlimit(RLIMIT_MSGQUEUE) == (980, 5000)
    k.init.setrlimit(RLIMIT_MSGQUEUE, -1, -1)               # CAP_SYS_RESOURCE may raise
    assert k.init.getrlimit(RLIMIT_MSGQUEUE) == (ipcsim.RLIM_INFINITY,) * 2
    with pytest.raises(ipcsim.UnsupportedError):
        u.getrlimit(ipcsim.RLIMIT_NOFILE)


def test_the_charge_is_per_user_across_namespaces(k):
    a = k.init.fork()
    a.setuid(4242)
    a.setrlimit(RLIMIT_MSGQUEUE, 1000, 1000)
    q = a.mq_open("/q", O_CREAT | O_RDWR, 0o600, MqAttr(0, 5, 100, 0))
    b = k.init.clone(CLONE_NEWIPC)
    b.setuid(4242)
    b.setrlimit(RLIMIT_MSGQUEUE, 1000, 1000)
    assert err(b.mq_open, "/q", O_CREAT | O_RDWR, 0o600, MqAttr(0, 1, 1, 0)) == "EMFILE"
    other = k.init.clone(CLONE_NEWIPC)
    other.setuid(5000)
    other.setrlimit(RLIMIT_MSGQUEUE, 1000, 1000)
    other.mq_open("/q", O_CREAT | O_RDWR, 0o600, MqAttr(0, 5, 100, 0))
    a.mq_close(q)
    a.mq_unlink("/q")
    b.mq_open("/q", O_CREAT | O_RDWR, 0o600, MqAttr(0, 1, 1, 0))


# --- mq_send and mq_receive ------------------------------------------------------------------
def test_highest_priority_first_then_fifo(p):
    q = small(p, maxmsg=10)
    for data, prio in ((b"a1", 1), (b"b5", 5), (b"a1x", 1), (b"c0", 0), (b"b5y", 5),
                       (b"top", 32767)):
        p.mq_send(q, data, prio)
    assert p.mq_getattr(q).mq_curmsgs == 6
    got = [p.mq_receive(q, 16) for _ in range(6)]
    assert got == [(b"top", 32767), (b"b5", 5), (b"b5y", 5), (b"a1", 1), (b"a1x", 1),
                   (b"c0", 0)]


def test_many_priorities_come_out_in_order(p):
    p.write_file("/proc/sys/fs/mqueue/msg_max", "1000")
    q = small(p, maxmsg=1000, msgsize=8)
    prios = [(i * 7919) % 600 for i in range(600)]
    for i, prio in enumerate(prios):
        p.mq_send(q, str(i).encode(), prio)
    got = [p.mq_receive(q, 8)[1] for _ in range(600)]
    assert got == sorted(prios, reverse=True)


def test_send_errnos_in_order(p):
    q = small(p, maxmsg=2)
    r = p.mq_open("/q", O_RDONLY)
    proc_fd = p.open("/proc/sys/fs/mqueue/msg_max")
    assert err(p.mq_send, 99, b"x", 32768) == "EINVAL"       # priority before the descriptor
    assert err(p.mq_send, q, b"x", -1) == "EINVAL"
    assert err(p.mq_send, 99, b"x", 0) == "EBADF"
    assert err(p.mq_send, proc_fd, b"x", 0) == "EBADF"
    assert err(p.mq_send, r, b"x", 0) == "EBADF"
    assert err(p.mq_send, q, b"y" * 17, 0) == "EMSGSIZE"
    p.mq_send(q, b"y" * 16, 32767)
    p.mq_send(q, b"", 0)
    assert err(p.mq_timedsend, q, b"z", 0, 0) == "ETIMEDOUT"     # full, deadline now
    p.mq_setattr(q, MqAttr(mq_flags=O_NONBLOCK))
    assert err(p.mq_send, q, b"z", 0) == "EAGAIN"
    assert p.mq_getattr(q).mq_curmsgs == 2


def test_receive_errnos_in_order(p):
    q = small(p)
    w = p.mq_open("/q", O_WRONLY)
    n = p.mq_open("/q", O_RDONLY | O_NONBLOCK)
    assert err(p.mq_receive, q, 15) == "EMSGSIZE"            # even on an empty queue
    assert err(p.mq_receive, 99, 16) == "EBADF"
    assert err(p.mq_receive, w, 16) == "EBADF"
    assert err(p.mq_receive, n, 1) == "EMSGSIZE"
    assert err(p.mq_receive, n, 16) == "EAGAIN"
    assert err(p.mq_timedreceive, q, 16, 0) == "ETIMEDOUT"
    p.mq_send(w, b"abc", 7)
    assert p.mq_receive(n, 1 << 40) == (b"abc", 7)


@pytest.mark.parametrize("timeout", [-0.5, (-1, 0), (0, -1), (0, 1_000_000_000)])
def test_an_invalid_timeout_is_einval_before_anything_else(p, timeout):
    q = small(p)
    assert err(p.mq_timedsend, 99, b"x", 40000, timeout) == "EINVAL"
    assert err(p.mq_timedsend, q, b"x", 0, timeout) == "EINVAL"       # even with room
    p.mq_send(q, b"x")
    assert err(p.mq_timedreceive, q, 16, timeout) == "EINVAL"         # even with a message
    assert err(p.mq_timedreceive, 99, 16, timeout) == "EINVAL"
    assert p.mq_getattr(q).mq_curmsgs == 1


def test_timeouts_run_on_the_virtual_clock(k, p):
    q = small(p, maxmsg=1)
    start = k.clock.now()
    assert err(p.mq_timedreceive, q, 16, 2.5) == "ETIMEDOUT"
    assert k.clock.now() == start + 2.5
    p.mq_send(q, b"full")
    assert err(p.mq_timedsend, q, b"x", 0, (1, 500_000_000)) == "ETIMEDOUT"
    assert k.clock.now() == start + 4.0
    assert p.mq_timedreceive(q, 16, 5) == (b"full", 0)


def test_a_blocked_receiver_gets_the_message_directly(k, p):
    q = small(p)
    got = []

    def receiver(proc, tag):
        got.append((tag, proc.mq_receive(q, 16)))

    for tag in ("r1", "r2", "r3"):
        p.fork(target=receiver, args=(tag,))
        k.run_until_idle()                        # each blocks before the next starts
    p.mq_send(q, b"one", 1)
    assert p.mq_getattr(q).mq_curmsgs == 0        # handed over, never queued
    p.mq_send(q, b"two", 9)
    p.mq_send(q, b"three", 0)
    p.mq_send(q, b"four", 4)
    k.run()
    assert sorted(got) == [("r1", (b"one", 1)), ("r2", (b"two", 9)), ("r3", (b"three", 0))]
    assert p.mq_receive(q, 16) == (b"four", 4)


def test_blocked_senders_enter_in_arrival_order_at_their_priority(k, p):
    q = small(p, maxmsg=2)
    p.mq_send(q, b"low", 1)
    p.mq_send(q, b"high", 9)
    done = []

    def sender(proc, data, prio):
        proc.mq_send(q, data, prio)
        done.append(data)

    p.fork(target=sender, args=(b"mid", 5))
    k.run_until_idle()
    p.fork(target=sender, args=(b"top", 20))
    k.run_until_idle()
    assert done == []
    assert p.mq_receive(q, 16) == (b"high", 9)
    k.run_until_idle()
    assert done == [b"mid"] and p.mq_getattr(q).mq_curmsgs == 2
    assert [p.mq_receive(q, 16) for _ in range(3)] == [(b"mid", 5), (b"top", 20), (b"low", 1)]
    k.run()
    assert done == [b"mid", b"top"]


def test_a_handled_signal_interrupts_a_blocked_call(k, p):
    q = small(p, maxmsg=1)
    out = []

    def waiter(proc):
        proc.signal(SIGUSR1, lambda sig: out.append("handler"))
        try:
            proc.mq_receive(q, 16)
        except InterruptedError:
            out.append("EINTR")
        proc.mq_send(q, b"x")
        try:
            proc.mq_send(q, b"y")
        except InterruptedError:
            out.append("EINTR")

    w = p.fork(target=waiter)
    k.run_until_idle()
    p.kill(w.pid, SIGUSR1)
    k.run_until_idle()
    p.kill(w.pid, SIGUSR1)
    k.run()
    assert out == ["handler", "EINTR", "handler", "EINTR"]
    assert p.mq_getattr(q).mq_curmsgs == 1


def test_a_killed_waiter_leaves_the_queue_clean(k, p):
    q = small(p)
    w = p.fork(target=lambda proc: proc.mq_receive(q, 16))
    k.run_until_idle()
    p.kill(w.pid, ipcsim.SIGKILL)
    p.mq_send(q, b"kept")
    assert p.mq_getattr(q).mq_curmsgs == 1


def test_deadlock_names_the_queue(p):
    q = small(p)
    with pytest.raises(ipcsim.DeadlockError) as e:
        p.mq_receive(q, 16)
    assert f"mq_receive({q}, 16) on queue /q" in str(e.value)


# --- mq_getattr and mq_setattr --------------------------------------------------------------
def test_setattr_changes_only_o_nonblock_and_returns_the_old_attributes(p):
    q = small(p, flags=O_WRONLY)
    old = p.mq_setattr(q, MqAttr(O_NONBLOCK, 1, 2, 3))
    assert old == MqAttr(0, 4, 16, 0)
    assert p.mq_getattr(q) == MqAttr(O_NONBLOCK, 4, 16, 0)
    assert err(p.mq_setattr, 99, MqAttr(mq_flags=1)) == "EINVAL"      # before the descriptor
    assert err(p.mq_setattr, q, MqAttr(mq_flags=-1)) == "EINVAL"
    assert err(p.mq_setattr, 99, MqAttr(mq_flags=O_NONBLOCK)) == "EBADF"
    assert err(p.mq_getattr, 99) == "EBADF"
    assert err(p.mq_getattr, p.open("/proc/sys/fs/mqueue/msg_max")) == "EBADF"


def test_o_nonblock_belongs_to_the_open_description(p):
    q = small(p)
    d = p.dup(q)
    child = p.fork()
    p.mq_setattr(q, MqAttr(mq_flags=O_NONBLOCK))
    assert p.mq_getattr(d).mq_flags == O_NONBLOCK
    assert child.mq_getattr(q).mq_flags == O_NONBLOCK
    assert err(p.mq_receive, d, 16) == "EAGAIN"
    assert p.mq_getattr(p.mq_open("/q", O_RDWR)).mq_flags == 0


# --- mq_notify --------------------------------------------------------------------------------
def test_notify_errnos(p):
    q = small(p, flags=O_RDONLY)
    assert err(p.mq_notify, 99, SigEvent(3)) == "EINVAL"
    assert err(p.mq_notify, q, SigEvent(-1)) == "EINVAL"
    assert err(p.mq_notify, q, SigEvent(SIGEV_SIGNAL, -1)) == "EINVAL"
    assert err(p.mq_notify, q, SigEvent(SIGEV_SIGNAL, 65)) == "EINVAL"
    assert err(p.mq_notify, 99, SigEvent(SIGEV_SIGNAL, 64)) == "EBADF"
    assert err(p.mq_notify, 99, None) == "EBADF"
    p.mq_notify(q, SigEvent(SIGEV_NONE))
    assert err(p.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"       # the owner too
    child = p.fork()
    assert err(child.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"
    child.mq_notify(q, None)                      # not the owner: silently nothing
    assert err(child.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"
    p.mq_notify(q, None)
    child.mq_notify(q, SigEvent(SIGEV_NONE))


def test_signal_notification_carries_its_siginfo_and_fires_once(k, p):
    q = small(p)
    owner = p.fork()
    owner.setuid(0)
    seen = []
    owner.signal(SIGUSR1, lambda sig: seen.append(owner.last_siginfo))
    owner.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1, 77))
    sender = p.fork()
    sender.setresuid(1234, 0, 0)
    sender.mq_send(q, b"first")
    assert seen == [ipcsim.SigInfo(SIGUSR1, SI_MESGQ, sender.pid, 1234, 77)]
    sender.mq_receive(q, 16)
    sender.mq_send(q, b"again")
    assert len(seen) == 1                          # one-shot
    owner.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1, 1))
    sender.mq_send(q, b"not empty before")
    assert len(seen) == 1                          # only empty -> one message fires
    p.kill(owner.pid, SIGUSR1)
    assert seen[-1].si_code == ipcsim.SI_USER and seen[-1].si_pid == p.pid


def test_signal_zero_registers_but_sends_nothing(p):
    q = small(p)
    p.mq_notify(q, SigEvent(SIGEV_SIGNAL, 0))
    assert err(p.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"
    p.mq_send(q, b"x")
    p.mq_notify(q, SigEvent(SIGEV_NONE))          # fired (and removed) silently


def test_no_notification_while_a_receiver_waits(k, p):
    q = small(p)
    hits = []
    p.signal(SIGUSR2, hits.append)
    p.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR2))
    r = p.fork(target=lambda proc: proc.mq_receive(q, 16))
    k.run_until_idle()
    p.mq_send(q, b"taken")
    k.run()
    assert r.result == (b"taken", 0) and hits == []
    assert err(p.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"     # still registered
    p.mq_send(q, b"kept")
    assert hits == [SIGUSR2]


def test_a_sender_entering_a_one_slot_queue_from_the_wait_list_does_not_notify(k, p):
    q = small(p, maxmsg=1)
    p.mq_send(q, b"first")
    s = p.fork(target=lambda proc: proc.mq_send(q, b"second"))
    k.run_until_idle()
    hits = []
    p.signal(SIGUSR1, hits.append)
    p.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1))
    assert p.mq_receive(q, 16) == (b"first", 0)   # pipelined_receive: no __do_notify
    k.run()
    assert hits == [] and not s.alive
    assert err(p.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"


def test_closing_any_descriptor_of_the_queue_removes_the_owners_registration(k, p):
    q = small(p)
    p.mq_notify(q, SigEvent(SIGEV_NONE))
    p.mq_close(p.mq_open("/q", O_RDONLY))
    p.mq_notify(q, SigEvent(SIGEV_NONE))
    child = p.fork()
    child.mq_close(q)                              # not the owner: stays
    assert err(child.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBADF"
    assert err(p.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"
    owner = p.fork()
    p.mq_notify(q, None)
    owner.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1))
    owner.exit(0)
    p.mq_notify(q, SigEvent(SIGEV_NONE))           # removed at the owner's exit


def test_thread_notification_runs_the_function_in_the_simulation(k, p):
    q = small(p)
    calls = []

    def fn(value):
        calls.append(("called", value, k.sched.current.process.pid))
        calls.append(p.mq_receive(q, 16))          # a thread of p: it may make calls as p

    p.mq_notify(q, SigEvent(SIGEV_THREAD, sigev_value=5, sigev_notify_function=fn))
    other = p.fork()
    other.mq_send(q, b"wake")
    assert calls == []                             # runs when the simulation runs
    k.run()
    assert calls == [("called", 5, None), (b"wake", 0)]
    assert p.mq_getattr(q).mq_curmsgs == 0
    p.mq_notify(q, SigEvent(SIGEV_NONE))           # one-shot


def test_sigev_none_is_one_shot(p):
    q = small(p)
    p.mq_notify(q, SigEvent(SIGEV_NONE))
    p.mq_send(q, b"x")
    p.mq_notify(q, SigEvent(SIGEV_NONE))


# --- mq_unlink, mq_close, descriptors ---------------------------------------------------------
def test_unlink_removes_the_name_but_the_queue_lives_while_open(k, p):
    q = small(p)
    p.mq_send(q, b"kept", 1)
    other = p.fork()
    other.setuid(1000)
    assert err(other.mq_unlink, "/q") == "EACCES"     # the kernel's EPERM, as glibc reports it
    assert err(other.mq_unlink, "/none") == "ENOENT"
    p.mq_unlink("/q")
    assert err(p.mq_unlink, "/q") == "ENOENT"
    assert err(p.mq_open, "/q", O_RDWR) == "ENOENT"
    q2 = small(p)
    assert p.mq_getattr(q2).mq_curmsgs == 0
    assert p.mq_receive(q, 16) == (b"kept", 1)
    charged = k.mq_ucounts[0]
    other.mq_close(q)
    p.mq_close(q)
    assert k.mq_ucounts[0] == charged - mq_charge(4, 16)
    assert err(p.mq_close, q) == "EBADF"


def test_descriptors_are_inherited_and_closed_at_exit(k, p):
    q = small(p)
    child = p.fork()
    child.mq_send(q, b"from child", 2)
    child.mq_close(q)
    assert err(child.mq_send, q, b"x") == "EBADF"
    assert p.mq_receive(q, 16) == (b"from child", 2)
    p.mq_unlink("/q")
    heir = p.fork()
    p.mq_close(q)
    heir.mq_send(q, b"still")
    assert heir.mq_receive(q, 16) == (b"still", 0)
    before = k.mq_ucounts.get(0, 0)
    heir.exit(0)
    assert k.mq_ucounts.get(0, 0) == before - mq_charge(4, 16)


def test_mq_close_closes_any_descriptor(p):
    fd = p.open("/proc/sys/fs/mqueue/msg_max")
    p.mq_close(fd)
    assert err(p.read, fd, 10) == "EBADF"


def test_mq_open_takes_the_lowest_free_descriptor_and_emfile_when_full(p):
    q = small(p)
    assert q == 3
    while len(p.fds) < 1024:
        p.dup(q)
    assert err(p.mq_open, "/q", O_RDWR) == "EMFILE"
    assert err(p.mq_open, "/new", O_CREAT | O_RDWR) == "EMFILE"
    assert err(p.mq_open, "/a/b", O_RDWR) == "EMFILE"          # the descriptor comes first
    assert err(p.mq_open, "/", O_RDWR) == "ENOENT"             # getname comes before it
    assert p.ipc_ns.mq_queues_count == 1


# --- namespaces ----------------------------------------------------------------------------
def test_each_namespace_has_its_own_queues(k, p):
    q = small(p, "/MQ1")
    child = p.clone(CLONE_NEWIPC)
    assert err(child.mq_open, "/MQ1", O_RDONLY) == "ENOENT"
    small(child, "/only-here")
    assert err(p.mq_open, "/only-here", O_RDONLY) == "ENOENT"
    sibling = p.fork()
    sibling.mq_close(sibling.mq_open("/MQ1", O_RDONLY))
    assert child.mq_getattr(q).mq_maxmsg == 4      # an inherited descriptor still works


def test_a_descriptor_works_after_setns_and_after_its_namespace_died(k):
    b = k.init.clone(CLONE_NEWIPC)
    ns = b.ipc_ns
    q = small(b)
    b.mq_send(q, b"before", 1)
    b.unshare(CLONE_NEWIPC)
    assert not ns.alive
    assert err(b.mq_open, "/q", O_RDWR) == "ENOENT"
    b.mq_send(q, b"after", 2)
    assert [b.mq_receive(q, 16) for _ in range(2)] == [(b"after", 2), (b"before", 1)]
    b.mq_notify(q, SigEvent(SIGEV_NONE))
    small(b, "/q")
    joiner = k.init.fork()
    joiner.setns(joiner.open(f"/proc/{b.pid}/ns/ipc"), CLONE_NEWIPC)
    assert joiner.mq_getattr(joiner.mq_open("/q", O_RDONLY)).mq_curmsgs == 0


def test_namespace_death_frees_queues_but_an_open_one_pins_its_filesystem(k):
    b = k.init.fork()
    b.setresuid(4242, 0, 0)
    b.unshare(CLONE_NEWIPC)
    q1 = small(b, "/one", maxmsg=5, msgsize=100)
    b.mq_close(small(b, "/two", maxmsg=5, msgsize=100))
    assert k.mq_ucounts[4242] == 1960
    b.unshare(CLONE_NEWIPC)                        # the old namespace dies; q1 is open
    assert k.mq_ucounts[4242] == 1960              # /two stays charged with the superblock
    b.mq_close(q1)
    assert 4242 not in k.mq_ucounts
    c = k.init.fork()
    c.setresuid(4343, 0, 0)
    c.unshare(CLONE_NEWIPC)
    c.mq_close(small(c, "/gone"))
    c.unshare(CLONE_NEWIPC)
    assert 4343 not in k.mq_ucounts


# --- the mqueue filesystem -----------------------------------------------------------------
def test_a_mount_shows_the_mounters_namespace_newest_first(k, p):
    p.mount("none", MNT, "mqueue")
    for name in ("/first", "/second", "/third"):
        small(p, name)
    assert p.listdir(MNT) == ["third", "second", "first"]
    p.mq_unlink("/second")
    small(p, "/second")
    assert p.listdir(MNT) == ["second", "third", "first"]
    st = p.stat(MNT)
    assert (st.st_mode, st.st_size, st.st_nlink) == (0o41777, 100, 2)
    other = p.clone(CLONE_NEWIPC)
    assert other.listdir(MNT) == ["second", "third", "first"]   # one mount namespace
    p.mkdir("/mnt/other")
    p.mkdir("/mnt/again")
    other.mount("none", "/mnt/other", "mqueue")
    assert other.listdir("/mnt/other") == []
    p.mount("none", "/mnt/again", "mqueue")
    assert p.listdir("/mnt/again") == p.listdir(MNT)
    assert err(p.mount, "none", MNT, "mqueue") == "EBUSY"
    other.mount("none", MNT, "mqueue")             # another namespace's: stacked
    assert p.listdir(MNT) == []
    p.umount(MNT)
    assert p.listdir(MNT) == ["second", "third", "first"]


def test_mounting_needs_cap_sys_admin(k, p):
    p.drop_capability(CAP_SYS_ADMIN)
    assert err(p.mount, "none", MNT, "mqueue") == "EPERM"


def test_the_status_line_byte_for_byte(k, p):
    p.mount("none", MNT, "mqueue")
    q = small(p)
    assert p.read_file(f"{MNT}/q") == \
        "QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n"
    p.mq_send(q, b"0123456789", 1)
    p.mq_send(q, b"abcdefg", 2)
    owner = p.fork()
    owner.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1))
    assert p.read_file(f"{MNT}/q") == \
        f"QSIZE:17         NOTIFY:0     SIGNO:10    NOTIFY_PID:{owner.pid:<6}\n"
    owner.mq_notify(q, None)
    owner.mq_notify(q, SigEvent(SIGEV_NONE))
    assert p.read_file(f"{MNT}/q").startswith("QSIZE:17         NOTIFY:1     SIGNO:0 ")
    owner.mq_notify(q, None)
    owner.mq_notify(q, SigEvent(SIGEV_THREAD, sigev_notify_function=print))
    assert "NOTIFY:2     SIGNO:0 " in p.read_file(f"{MNT}/q")
    fd = p.open(f"{MNT}/q")
    assert p.read(fd, 10) == b"QSIZE:17  "
    assert len(p.read(fd, 100)) == 50
    assert p.read(fd, 100) == b""
    assert p.lseek(fd, 0, 2) == 80
    p.lseek(fd, 6, 0)
    assert p.read(fd, 3) == b"17 "
    assert p.read(q, 8) == b"QSIZE:17"             # an mq descriptor reads the same
    assert err(p.write, fd, b"x") == "EBADF"
    assert err(p.write, q, b"x") == "EINVAL"


def test_reading_the_status_as_the_owner_drops_the_registration(p):
    p.mount("none", MNT, "mqueue")
    q = small(p)
    p.mq_notify(q, SigEvent(SIGEV_NONE))
    assert f"NOTIFY_PID:{p.pid}" in p.read_file(f"{MNT}/q")
    assert "NOTIFY_PID:0 " in p.read_file(f"{MNT}/q")
    p.mq_notify(q, SigEvent(SIGEV_NONE))


def test_unlink_chmod_and_create_through_the_mount(k, p):
    p.mount("none", MNT, "mqueue")
    p.umask(0o022)
    q = small(p, "/f")
    other = p.fork()
    other.setuid(1000)
    assert err(other.unlink, f"{MNT}/f") == "EPERM"      # unlink(2): no glibc mapping
    assert err(other.chmod, f"{MNT}/f", 0o666) == "EPERM"
    p.chmod(f"{MNT}/f", 0o2666)
    assert p.stat(f"{MNT}/f").st_mode == 0o102666
    other.mq_close(other.mq_open("/f", O_RDWR))
    fd = p.open(f"{MNT}/made", O_CREAT | O_RDWR, 0o666)
    assert p.stat(f"{MNT}/made").st_mode == 0o100644
    assert p.mq_getattr(fd) == MqAttr(0, 10, 8192, 0)
    p.mq_send(fd, b"via open")
    assert p.mq_receive(p.mq_open("/made", O_RDONLY), 8192) == (b"via open", 0)
    assert err(p.open, f"{MNT}/made", O_CREAT | O_EXCL | O_RDWR) == "EEXIST"
    assert err(p.open, f"{MNT}/absent") == "ENOENT"
    assert err(p.open, f"{MNT}/absent/x") == "ENOENT"
    assert err(p.open, f"{MNT}/made/x") == "ENOTDIR"
    assert err(p.open, MNT, O_RDWR) == "EISDIR"
    assert err(p.open, MNT, O_CREAT | O_RDONLY) == "EISDIR"         # probed
    assert err(p.open, MNT, O_CREAT | O_EXCL | O_RDONLY) == "EEXIST"
    assert err(p.open, f"{MNT}/" + "n" * 256, O_CREAT | O_RDWR) == "ENAMETOOLONG"
    p.unlink(f"{MNT}/f")
    assert err(p.unlink, f"{MNT}/f") == "ENOENT"
    assert err(p.unlink, MNT) == "EISDIR"
    assert err(p.chmod, f"{MNT}/f", 0o600) == "ENOENT"
    p.mq_send(q, b"unlinked, open")
    assert p.listdir(MNT) == ["made"]
    sub = p.fork()
    sub.setgid(9)
    sub.setuid(1000)
    assert err(sub.chmod, MNT, 0o777) == "EPERM"
    assert err(p.chmod, "/proc/sys/fs/mqueue/msg_max", 0o600) == "EPERM"


def test_the_sticky_root_directory(p):
    p.mount("none", MNT, "mqueue")
    b = p.fork()
    b.setuid(1000)
    b.mq_open("/bq", O_CREAT | O_RDWR, 0o666)
    p.chmod(MNT, 0o755)
    assert err(b.mq_open, "/bq2", O_CREAT | O_RDWR) == "EACCES"
    assert err(b.mq_unlink, "/bq") == "EACCES"
    p.chmod(MNT, 0o1777)
    b.mq_unlink("/bq")


def test_a_mount_outlives_its_namespace(k):
    b = k.init.clone(CLONE_NEWIPC)
    q = small(b, "/MQ1")
    b.mq_send(q, b"hello", 3)
    b.mount("none", MNT, "mqueue")
    b.exit(0)
    k.init.wait(b.pid)
    a = k.init
    assert a.listdir(MNT) == ["MQ1"]
    assert a.read_file(f"{MNT}/MQ1").startswith("QSIZE:5 ")
    fd = a.open(f"{MNT}/MQ1", O_RDWR)
    assert a.mq_receive(fd, 8192) == (b"hello", 3)
    assert err(a.open, f"{MNT}/new", O_CREAT | O_RDWR) == "EACCES"
    assert err(a.umount, MNT) == "EBUSY"
    a.close(fd)
    a.unlink(f"{MNT}/MQ1")
    assert a.listdir(MNT) == []
    a.umount(MNT)
    assert 0 not in a.kernel.mq_ucounts


def test_a_mount_keeps_the_queues_of_a_dead_namespace_charged_until_unmounted(k):
    b = k.init.fork()
    b.setresuid(4242, 0, 0)
    b.unshare(CLONE_NEWIPC)
    b.mq_close(small(b, "/x"))
    b.mount("none", MNT, "mqueue")
    b.unshare(CLONE_NEWIPC)
    assert k.mq_ucounts[4242] == mq_charge(4, 16)
    b.umount(MNT)
    assert 4242 not in k.mq_ucounts


# --- bad Python input ---------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda p, q: p.mq_open(5, O_RDWR),
    lambda p, q: p.mq_open("/n\0", O_CREAT | O_RDWR),
    lambda p, q: p.mq_open("/new", "O_CREAT"),
    lambda p, q: p.mq_open("/new", O_CREAT | O_RDWR, 0o600, (4, 16)),
    lambda p, q: p.mq_open("/new", O_CREAT | O_RDWR, 0o600, MqAttr(0, 1 << 70, 1, 0)),
    lambda p, q: p.mq_send(q, 12345),
    lambda p, q: p.mq_send(q, b"x", 1 << 40),
    lambda p, q: p.mq_send("3", b"x"),
    lambda p, q: p.mq_send(q, b"x", 1.5),
    lambda p, q: p.mq_timedsend(q, b"x", 0, "soon"),
    lambda p, q: p.mq_timedsend(q, b"x", 0, (1, 2, 3)),
    lambda p, q: p.mq_receive(q, -1),
    lambda p, q: p.mq_receive(q, "16"),
    lambda p, q: p.mq_timedreceive(q, 16, object()),
    lambda p, q: p.mq_setattr(q, {"mq_flags": 0}),
    lambda p, q: p.mq_notify(q, SIGUSR1),
    lambda p, q: p.mq_notify(q, SigEvent(SIGEV_THREAD)),
    lambda p, q: p.mq_notify(q, SigEvent(SIGEV_SIGNAL, "SIGUSR1")),
    lambda p, q: p.mq_unlink(None),
    lambda p, q: p.setrlimit(RLIMIT_MSGQUEUE, -2, 10),
    lambda p, q: p.setrlimit(RLIMIT_MSGQUEUE, 1, 1 << 64),
])
def test_bad_python_input_is_rejected_without_a_change(p, call):
    q = small(p)
    p.mq_send(q, b"keep")
    before = (p.mq_getattr(q), list(p.listdir("/proc/sys/fs/mqueue")), len(p.fds),
              p.getrlimit(RLIMIT_MSGQUEUE), dict(p.kernel.mq_ucounts), p.ipc_ns.mq_queues_count)
    with pytest.raises((TypeError, ValueError, OverflowError)):
        call(p, q)
    assert (p.mq_getattr(q), list(p.listdir("/proc/sys/fs/mqueue")), len(p.fds),
            p.getrlimit(RLIMIT_MSGQUEUE), dict(p.kernel.mq_ucounts),
            p.ipc_ns.mq_queues_count) == before
    assert err(p.mq_open, "/new", O_RDWR) == "ENOENT"
    p.mq_notify(q, SigEvent(SIGEV_NONE))           # nothing was registered


# --- determinism ------------------------------------------------------------------------
def _run(seed):
    k = ipcsim.Kernel(seed=seed, trace=True)
    p = k.init.clone(CLONE_NEWIPC)
    q = small(p, maxmsg=2)

    def producer(proc, tag):
        for i in range(4):
            proc.mq_send(q, f"{tag}{i}".encode(), i % 3)

    def consumer(proc):
        return [proc.mq_receive(q, 16) for _ in range(8)]

    p.fork(target=producer, args=("a",))
    p.fork(target=producer, args=("b",))
    c = p.fork(target=consumer)
    k.run()
    out = (c.result, [(e.pid, e.name, e.result) for e in k.trace])
    k.close()
    return out


def test_same_seed_same_run_other_seeds_other_interleavings():
    assert _run(3) == _run(3)
    assert len({repr(_run(s)[0]) for s in range(6)}) > 1


def test_a_thread_notification_ends_with_its_process(k, p):
    q = small(p)
    owner = p.fork()
    calls = []

    def fn(value):
        calls.append(value)
        owner.exit(3)                       # exit_group from the thread
        calls.append(owner.mq_receive(q, 16))

    owner.mq_notify(q, SigEvent(SIGEV_THREAD, sigev_value=1, sigev_notify_function=fn))
    p.mq_send(q, b"x")
    k.run()
    assert calls == [1] and owner.exit_status == 3 and p.mq_getattr(q).mq_curmsgs == 1
    gone = p.fork()
    gone.mq_notify(q, SigEvent(SIGEV_THREAD, sigev_notify_function=calls.append))
    p.mq_receive(q, 16)
    p.mq_send(q, b"y")
    gone.exit(0)                            # before the thread ever ran: it never runs
    k.run()
    assert calls == [1]


def test_name_length_counts_utf8_bytes(p):
    p.mq_close(p.mq_open("/" + "\U0001f600" * 63 + "abc", O_CREAT | O_RDWR))     # 255 bytes
    assert err(p.mq_open, "/" + "\U0001f600" * 63 + "abcd", O_CREAT | O_RDWR) == "ENAMETOOLONG"
    assert err(p.mq_open, "/" + "\U0001f600" * 1024, O_CREAT | O_RDWR) == "ENAMETOOLONG"


def test_a_handler_may_register_again_for_the_next_notification(k, p):
    """The registration is gone before the signal is sent, so the handler can renew it (and
    a second registration is EBUSY); as Linux does."""
    q = small(p)
    seen = []

    def handler(sig):
        seen.append(p.last_siginfo.si_value)
        p.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1, len(seen) + 1))
        seen.append(err(p.mq_notify, q, SigEvent(SIGEV_SIGNAL, SIGUSR1)))

    p.signal(SIGUSR1, handler)
    p.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1, 1))
    p.mq_send(q, b"a")
    assert seen == [1, "EBUSY"]
    p.mq_send(q, b"b")                      # not empty before: nothing
    assert seen == [1, "EBUSY"]
    p.mq_receive(q, 16), p.mq_receive(q, 16)
    p.mq_send(q, b"c")
    assert seen == [1, "EBUSY", 2, "EBUSY"]
    assert err(p.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"     # the third one stands


def test_a_stopped_waiter_leaves_the_queue_and_starts_again_when_continued(k, p):
    """wq_sleep() ends with -ERESTARTSYS when a stop signal arrives: while stopped the
    process is not waiting (a send queues its message and may notify), and after SIGCONT
    the call starts again, at the back of the list, with the same deadline."""
    q = small(p, maxmsg=1)
    got = []

    def receiver(proc, tag, timeout=None):
        if timeout is None:
            got.append((tag, proc.mq_receive(q, 16)))
        else:
            got.append((tag, proc.mq_timedreceive(q, 16, timeout)))

    b = p.fork(target=receiver, args=("b",))
    k.run_until_idle()
    p.kill(b.pid, ipcsim.SIGSTOP)
    seen = []
    p.signal(SIGUSR1, lambda sig: seen.append(p.last_siginfo.si_code))
    p.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1))
    p.mq_send(q, b"while stopped")
    assert p.mq_getattr(q).mq_curmsgs == 1 and seen == [SI_MESGQ]
    p.kill(b.pid, ipcsim.SIGCONT)
    k.run_until_idle()
    assert got == [("b", (b"while stopped", 0))]
    # order: c waits, d waits, c is stopped and continued: d is now first
    c = p.fork(target=receiver, args=("c",))
    k.run_until_idle()
    d = p.fork(target=receiver, args=("d",))
    k.run_until_idle()
    p.kill(c.pid, ipcsim.SIGSTOP)
    p.kill(c.pid, ipcsim.SIGCONT)
    k.run_until_idle()
    p.mq_send(q, b"first")
    k.run_until_idle()
    assert got[-1] == ("d", (b"first", 0))
    p.mq_send(q, b"second")
    k.run_until_idle()
    assert got[-1] == ("c", (b"second", 0))
    # the deadline stays: a message that came while stopped is taken even after it
    e = p.fork(target=receiver, args=("e", 0.2))
    k.run_until_idle()
    p.kill(e.pid, ipcsim.SIGSTOP)
    k.clock.advance(0.5)
    p.mq_send(q, b"late")
    p.kill(e.pid, ipcsim.SIGCONT)
    k.run()
    assert got[-1] == ("e", (b"late", 0))


def test_a_stopped_waiter_with_a_handler_due_gets_eintr(k, p):
    q = small(p, maxmsg=1)
    p.mq_send(q, b"full")
    out = []

    def sender(proc):
        proc.signal(SIGUSR2, lambda sig: out.append("handler"))
        try:
            proc.mq_send(q, b"x")
        except InterruptedError:
            out.append("EINTR")

    s = p.fork(target=sender)
    k.run_until_idle()
    p.kill(s.pid, ipcsim.SIGSTOP)
    p.kill(s.pid, SIGUSR2)                       # waits while stopped
    assert p.mq_receive(q, 16) == (b"full", 0)   # the stopped sender is not waiting
    assert p.mq_getattr(q).mq_curmsgs == 0
    p.kill(s.pid, ipcsim.SIGCONT)
    k.run()
    assert out == ["handler", "EINTR"] and p.mq_getattr(q).mq_curmsgs == 0


def test_mq_open_with_o_path_keeps_the_queue_but_is_no_mq_descriptor(p):
    O_PATH = 0o10000000
    q = small(p)
    path = p.mq_open("/q", O_RDWR | O_PATH)
    for call, args in ((p.mq_getattr, ()), (p.mq_send, (b"x",)), (p.mq_receive, (16,)),
                       (p.mq_notify, (SigEvent(SIGEV_NONE),)), (p.read, (10,)),
                       (p.mq_setattr, (MqAttr(),))):
        assert err(call, path, *args) == "EBADF"
    p.mq_notify(q, SigEvent(SIGEV_NONE))
    p.close(path)                                   # no flush: the registration stays
    assert err(p.mq_notify, q, SigEvent(SIGEV_NONE)) == "EBUSY"
    kept = p.mq_open("/gone", O_CREAT | O_RDONLY | O_PATH, 0o600, MqAttr(0, 1, 16, 0))
    p.mq_unlink("/gone")
    assert p.ipc_ns.mq_queues_count == 2            # the O_PATH file keeps it
    p.close(kept)
    assert p.ipc_ns.mq_queues_count == 1


def test_queues_made_without_waiters_share_nothing_once_one_has_some(k, p):
    """A queue shares one empty wait queue until its first waiter: a receiver blocked on
    one queue must not be woken, or counted, by another, made before or after it."""
    q1 = small(p, "/one")
    q2 = small(p, "/two")
    got = []
    reader = p.fork(target=lambda r: got.append(r.mq_receive(q1, 16)))
    k.run_until_idle()
    q3 = small(p, "/three", maxmsg=1)
    p.mq_send(q2, b"two")
    p.mq_send(q3, b"three")
    k.run_until_idle()
    assert reader.alive and got == []
    assert p.mq_getattr(q2).mq_curmsgs == 1 and p.mq_getattr(q3).mq_curmsgs == 1
    p.mq_send(q1, b"one")
    k.run_until_idle()
    assert got == [(b"one", 0)] and p.mq_getattr(q1).mq_curmsgs == 0
    assert p.mq_receive(q2, 16) == (b"two", 0) and p.mq_receive(q3, 16) == (b"three", 0)
