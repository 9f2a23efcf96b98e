"""Per-namespace limits: /proc/sys/kernel and /proc/sys/fs/mqueue, from one table."""
import errno

import pytest

import ipcsim
from ipcsim.kernel.sysctl import SYSCTLS

DEFAULTS = {
    "/proc/sys/kernel/msgmax": "8192\n",
    "/proc/sys/kernel/msgmnb": "16384\n",
    "/proc/sys/kernel/msgmni": "32000\n",
    "/proc/sys/kernel/sem": "32000\t1024000000\t500\t32000\n",
    "/proc/sys/kernel/shmall": "18446744073692774399\n",
    "/proc/sys/kernel/shmmax": "18446744073692774399\n",
    "/proc/sys/kernel/shmmni": "4096\n",
    "/proc/sys/kernel/shm_rmid_forced": "0\n",
    "/proc/sys/kernel/msg_next_id": "-1\n",
    "/proc/sys/kernel/sem_next_id": "-1\n",
    "/proc/sys/kernel/shm_next_id": "-1\n",
    "/proc/sys/kernel/auto_msgmni": "0\n",
    "/proc/sys/fs/mqueue/msg_default": "10\n",
    "/proc/sys/fs/mqueue/msg_max": "10\n",
    "/proc/sys/fs/mqueue/msgsize_default": "8192\n",
    "/proc/sys/fs/mqueue/msgsize_max": "8192\n",
    "/proc/sys/fs/mqueue/queues_max": "256\n",
}


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return errno.errorcode[e.value.errno]


@pytest.mark.parametrize("path", sorted(DEFAULTS))
def test_defaults(k, path):
    assert k.init.read_file(path) == DEFAULTS[path]
    assert k.init.clone(ipcsim.CLONE_NEWIPC).read_file(path) == DEFAULTS[path]


def test_the_table_serves_every_file():
    assert {"/proc/sys/" + s.path for s in SYSCTLS} == set(DEFAULTS) | {
        "/proc/sys/user/max_ipc_namespaces", "/proc/sys/user/max_mnt_namespaces",
        "/proc/sys/user/max_pid_namespaces", "/proc/sys/user/max_user_namespaces"}


def test_a_new_namespace_starts_from_defaults_not_its_parent(k):
    a = k.init.clone(ipcsim.CLONE_NEWIPC)
    a.write_file("/proc/sys/kernel/msgmax", "100")
    a.write_file("/proc/sys/fs/mqueue/msg_max", "5")
    a.write_file("/proc/sys/kernel/shm_rmid_forced", "1")
    a.write_file("/proc/sys/kernel/sem", "1 2 3 4")
    b = a.clone(ipcsim.CLONE_NEWIPC)
    for path in ("/proc/sys/kernel/msgmax", "/proc/sys/fs/mqueue/msg_max",
                 "/proc/sys/kernel/shm_rmid_forced", "/proc/sys/kernel/sem"):
        assert b.read_file(path) == DEFAULTS[path]
    assert a.read_file("/proc/sys/kernel/msgmax") == "100\n"


def test_containers_have_their_own_values(k):
    a = k.init.clone(ipcsim.CLONE_NEWIPC)
    b = k.init.clone(ipcsim.CLONE_NEWIPC)
    a.write_file("/proc/sys/kernel/msgmni", "64\n")
    assert a.ipc_ns.msg_ctlmni == 64
    assert b.read_file("/proc/sys/kernel/msgmni") == "32000\n"
    assert k.init.read_file("/proc/sys/kernel/msgmni") == "32000\n"


@pytest.mark.parametrize("data,ret,text", [
    ("100", 3, "100\n"), ("0x10", 4, "16\n"), ("010", 3, "8\n"), (" 77 ", 4, "77\n"),
    ("1 2", 2, "1\n"), ("5\n\n", 3, "5\n"), ("2147483647", 10, "2147483647\n"),
    ("", 0, "8192\n"), ("-0", 2, "0\n"),
    (" ", "EINVAL", "8192\n"), ("12abc", "EINVAL", "8192\n"), ("+5", "EINVAL", "8192\n"),
    ("2147483648", "EINVAL", "8192\n"), ("-1", "EINVAL", "8192\n"), ("abc", "EINVAL", "8192\n"),
    ("99999999999999999999999", "EINVAL", "8192\n"),
])
def test_msgmax_writes(k, data, ret, text):
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    if isinstance(ret, int):
        assert p.write_file("/proc/sys/kernel/msgmax", data) == ret
    else:
        assert errno_of(p.write_file, "/proc/sys/kernel/msgmax", data) == ret
    assert p.read_file("/proc/sys/kernel/msgmax") == text


@pytest.mark.parametrize("data,ret,text", [
    ("1 2 3", 5, "1\t2\t3\t32000\n"),
    ("1 2 3 4 5", 8, "1\t2\t3\t4\n"),
    ("250 32000 32 32769", "ERANGE", "250\t32000\t32\t32000\n"),
    ("1 2 3 -1", "ERANGE", "1\t2\t3\t32000\n"),
    ("5 x 7", "EINVAL", "5\t1024000000\t500\t32000\n"),
    (" 9\t8\n7 6", 8, "9\t8\t7\t6\n"),
    ("-5 -6 -7 8", 10, "-5\t-6\t-7\t8\n"),
    ("4294967296 1 1 1", "EINVAL", "32000\t1024000000\t500\t32000\n"),
    ("-2147483648 1 1 1", 17, "-2147483648\t1\t1\t1\n"),
    ("1,2,3,4", "EINVAL", "32000\t1024000000\t500\t32000\n"),
])
def test_sem_partial_writes(k, data, ret, text):
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    path = "/proc/sys/kernel/sem"
    if isinstance(ret, int):
        assert p.write_file(path, data) == ret
    else:
        assert errno_of(p.write_file, path, data) == ret
    assert p.read_file(path) == text


@pytest.mark.parametrize("path,good,bad", [
    ("kernel/msgmni", ["0", "32768"], ["32769", "-1"]),
    ("kernel/shmmni", ["0", "32768"], ["32769", "-1"]),
    ("kernel/shm_rmid_forced", ["1", "0"], ["2", "-1"]),
    ("kernel/shmmax", ["0", "18446744073709551615"], ["-1", "18446744073709551616", "-0"]),
    ("kernel/msg_next_id", ["0", "2147483647"], ["-1", "2147483648"]),
    ("kernel/auto_msgmni", ["0", "1"], ["2", "-1"]),
    ("fs/mqueue/queues_max", ["-5", "-2147483648", "2147483647"], ["2147483648"]),
    ("fs/mqueue/msg_max", ["1", "65536"], ["0", "65537"]),
    ("fs/mqueue/msgsize_max", ["128", "16777216"], ["127", "16777217"]),
    ("fs/mqueue/msg_default", ["1", "65536"], ["0", "65537"]),
    ("fs/mqueue/msgsize_default", ["128", "16777216"], ["127", "16777217"]),
])
def test_ranges(k, path, good, bad):
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    full = "/proc/sys/" + path
    for value in bad:
        before = p.read_file(full)
        assert errno_of(p.write_file, full, value) == "EINVAL"
        assert p.read_file(full) == before
    for value in good:
        p.write_file(full, value)
        expected = "0" if path.endswith("auto_msgmni") else value
        assert p.read_file(full) == expected + "\n"


def test_auto_msgmni_accepts_writes_but_always_reads_zero(k):
    k.init.write_file("/proc/sys/kernel/auto_msgmni", "1")
    assert k.init.read_file("/proc/sys/kernel/auto_msgmni") == "0\n"


def test_unprivileged_writers_get_eacces(k, nobody):
    for path in DEFAULTS:
        assert nobody.read_file(path) == DEFAULTS[path]
        assert errno_of(nobody.write_file, path, "1") == "EACCES"
        assert errno_of(nobody.open, path, ipcsim.O_RDWR) == "EACCES"


def test_next_id_needs_checkpoint_restore_or_sys_admin(k):
    p = k.init.fork()
    p.write_file("/proc/sys/kernel/msg_next_id", "5")
    assert p.ipc_ns.msg_ids.next_id == 5
    p.drop_capability(ipcsim.CAP_SYS_ADMIN)
    p.write_file("/proc/sys/kernel/msg_next_id", "6")           # CAP_CHECKPOINT_RESTORE
    p.drop_capability(ipcsim.CAP_CHECKPOINT_RESTORE)
    assert errno_of(p.write_file, "/proc/sys/kernel/msg_next_id", "7") == "EACCES"
    p.write_file("/proc/sys/kernel/msgmax", "99")               # root still owns the rest


def test_group_root_gets_the_group_bits(k):
    p = k.init.fork()
    p.setresgid(0, 0, 0)
    p.setuid(1000)
    assert errno_of(p.write_file, "/proc/sys/kernel/msgmax", "5") == "EACCES"
    assert p.read_file("/proc/sys/kernel/msgmax") == "8192\n"


def test_a_descriptor_stays_bound_to_the_namespace_it_was_opened_in(k):
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    old_ns = p.ipc_ns
    fd = p.open("/proc/sys/kernel/msgmax", ipcsim.O_RDWR)
    keep = p.open("/proc/self/ns/ipc")
    p.unshare(ipcsim.CLONE_NEWIPC)
    assert p.write(fd, b"222") == 3
    assert old_ns.msg_ctlmax == 222
    assert p.read_file("/proc/sys/kernel/msgmax") == "8192\n"
    p.close(keep)                                   # the old namespace dies
    assert not old_ns.alive
    assert errno_of(p.read, fd, 10) == "ENOENT"
    assert errno_of(p.write, fd, b"1") == "ENOENT"


def test_reads_at_an_offset_end_the_file_and_later_writes_are_ignored(k):
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    fd = p.open("/proc/sys/kernel/msgmax", ipcsim.O_RDWR)
    assert p.read(fd, 2) == b"81"
    assert p.read(fd, 10) == b""
    assert p.lseek(fd, 0, 0) == 0
    assert p.write(fd, b"300") == 3
    assert p.write(fd, b"400") == 3                 # offset 3: ignored (writes_strict)
    assert p.read_file("/proc/sys/kernel/msgmax") == "300\n"
    assert errno_of(p.write, p.open("/proc/sys/kernel/msgmax"), b"1") == "EBADF"


def test_listing(k):
    assert k.init.listdir("/proc/sys/fs/mqueue") == [
        "msg_default", "msg_max", "msgsize_default", "msgsize_max", "queues_max"]
    assert "msgmax" in k.init.listdir("/proc/sys/kernel")
    assert errno_of(k.init.listdir, "/proc/sys/kernel/msgmax") == "ENOTDIR"
    assert errno_of(k.init.read_file, "/proc/sys/kernel") == "EISDIR"
    assert errno_of(k.init.read_file, "/proc/sys/kernel/nope") == "ENOENT"
    assert errno_of(k.init.unlink, "/proc/sys/kernel/msgmax") == "EACCES"
    assert errno_of(k.init.readlink, "/proc/sys/kernel/msgmax") == "EINVAL"


def test_bad_python_input(k):
    with pytest.raises(TypeError):
        k.init.write_file("/proc/sys/kernel/msgmax", 5)
    with pytest.raises(TypeError):
        k.init.read_file(None)
    assert k.init.read_file("/proc/sys/kernel/msgmax") == "8192\n"


def test_permission_is_checked_again_at_each_read_and_write(k):
    p = k.init.fork()
    fd = p.open("/proc/sys/kernel/msgmax", ipcsim.O_RDWR)
    p.setuid(1000)
    assert errno_of(p.write, fd, b"5") == "EPERM"      # not open()'s EACCES
    assert p.read(fd, 10) == b"8192\n"
    assert k.init.read_file("/proc/sys/kernel/msgmax") == "8192\n"


def test_stat_shows_the_table_mode_whatever_the_caller_may_do(k, nobody):
    # proc_sys_getattr: S_IFREG | table->mode; root may write msg_next_id all the same
    assert k.init.stat("/proc/sys/kernel/msg_next_id").st_mode == 0o100444
    assert k.init.stat("/proc/sys/kernel/msgmni").st_mode == 0o100644
    assert nobody.stat("/proc/sys/kernel/msgmni").st_mode == 0o100644
    k.init.write_file("/proc/sys/kernel/msg_next_id", "5")
