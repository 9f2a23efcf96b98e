"""Kernels built without CONFIG_IPC_NS, CONFIG_USER_NS or CONFIG_PID_NS.

Linux's stubs for a missing kind: copy_ipcs() and copy_pid_ns() return -EINVAL when asked
for a new namespace (after copy_namespaces' CAP_SYS_ADMIN check, at their place in
create_new_namespaces(): after the mount namespace, the IPC one before the PID one),
create_user_ns() returns -EINVAL (from copy_creds / unshare_userns, before that check);
/proc/PID/ns has no entry for the kind (ns_entries[] in fs/proc/namespaces.c), so nothing
can open or setns into one.
"""
import errno

import pytest

import ipcsim
from ipcsim import (CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER,
                    CLONE_SYSVSEM, IPC_CREAT, IPC_STAT, MS_BIND, O_RDONLY)
from ipcsim.pytest_plugin import make_kernel
from ipcsim.shell import Shell

ALL_NS = ["net", "uts", "ipc", "pid", "pid_for_children", "user", "mnt", "cgroup", "time",
          "time_for_children"]


@pytest.fixture
def noipc():
    kernel = ipcsim.Kernel(config_ipc_ns=False)
    yield kernel
    kernel.close()


def unprivileged(k):
    p = k.init.fork()
    p.setgid(65534)
    p.setuid(65534)
    return p


def errno_of(call, *args):
    with pytest.raises(OSError) as info:
        call(*args)
    return info.value.errno


# --- the arguments -------------------------------------------------------------------------
def test_the_flags_default_to_a_kernel_with_every_kind():
    with ipcsim.Kernel() as k:
        assert (k.config_ipc_ns, k.config_user_ns, k.config_pid_ns) == (True, True, True)
        assert "CONFIG" not in repr(k)
        assert k.init.listdir("/proc/1/ns") == ALL_NS


@pytest.mark.parametrize("name", ["config_ipc_ns", "config_user_ns", "config_pid_ns"])
@pytest.mark.parametrize("value", [0, 1, None, "no"])
def test_the_flags_take_bools_only(name, value):
    with pytest.raises(TypeError, match=f"{name} must be a bool, not {type(value).__name__}"):
        ipcsim.Kernel(**{name: value})


def test_repr_names_the_kinds_built_out():
    with ipcsim.Kernel(config_ipc_ns=False, config_pid_ns=False) as k:
        assert repr(k).endswith("CONFIG_IPC_NS=n CONFIG_PID_NS=n>")
        assert (k.config_ipc_ns, k.config_user_ns, k.config_pid_ns) == (False, True, False)


# --- without CONFIG_IPC_NS: clone ------------------------------------------------------------
def test_clone_newipc_is_einval_with_no_child_no_pid_and_no_namespace():
    noipc = ipcsim.Kernel(trace=True, config_ipc_ns=False)
    ran = []
    assert errno_of(noipc.init.clone, CLONE_NEWIPC, lambda p: ran.append(p)) == errno.EINVAL
    assert len(noipc.ipc_namespaces) == 1
    assert [p.pid for p in noipc.processes(include_zombies=True)] == [1]
    assert noipc.init.children == {}
    noipc.run()
    assert ran == []
    assert noipc.init.fork().pid == 2           # copy_namespaces fails before alloc_pid
    assert noipc.trace[0].name == "clone" and noipc.trace[0].errno == errno.EINVAL
    noipc.close()


def test_clone_newipc_needs_cap_sys_admin_first(noipc):
    p = unprivileged(noipc)
    assert errno_of(p.clone, CLONE_NEWIPC) == errno.EPERM     # ns_capable comes first
    assert errno_of(noipc.init.clone, CLONE_NEWIPC | CLONE_SYSVSEM) == errno.EINVAL


def test_clone_newipc_with_an_unmodelled_kind_is_still_einval(noipc):
    # create_new_namespaces fails as a whole: what the other kinds made is freed
    assert errno_of(noipc.init.clone, CLONE_NEWIPC | CLONE_NEWNET) == errno.EINVAL


def test_a_failed_clone_copied_the_attachments_first(noipc):
    # copy_namespaces runs after copy_mm: each attachment was copied and torn down again
    init = noipc.init
    shmid = init.shmget(0x51, 4096, IPC_CREAT | 0o600)
    init.shmat(shmid)
    noipc.run(until=10)
    errno_of(init.clone, CLONE_NEWIPC)
    ds = init.shmctl(shmid, IPC_STAT)
    assert ds.shm_nattch == 1
    assert ds.shm_atime == ds.shm_dtime == noipc.clock.time()


def test_fork_and_children_share_the_initial_namespace(noipc):
    child = noipc.init.fork()
    grandchild = child.clone(0)
    assert child.ipc_ns is grandchild.ipc_ns is noipc.init_ipc_ns


# --- without CONFIG_IPC_NS: unshare ----------------------------------------------------------
def test_unshare_newipc_is_einval_and_changes_nothing(noipc):
    init = noipc.init
    semid = init.semget(0x5E, 1, IPC_CREAT | 0o600)
    init.semop(semid, [(0, 1, ipcsim.SEM_UNDO)])
    undo = init.sysvsem
    shmid = init.shmget(0x51, 4096, IPC_CREAT | 0o600)
    assert errno_of(init.unshare, CLONE_NEWIPC) == errno.EINVAL
    assert init.ipc_ns is noipc.init_ipc_ns and len(noipc.ipc_namespaces) == 1
    assert init.sysvsem is undo                        # exit_sem did not run
    assert init.semctl(semid, 0, ipcsim.GETVAL) == 1
    assert init.shmctl(shmid, IPC_STAT).shm_cpid == 1  # not orphaned (exit_shm did not run)


def test_unshare_checks_the_flags_then_the_capability(noipc):
    p = unprivileged(noipc)
    assert errno_of(p.unshare, CLONE_NEWIPC | 0x1) == errno.EINVAL    # check_unshare_flags
    assert errno_of(p.unshare, CLONE_NEWIPC) == errno.EPERM
    assert errno_of(noipc.init.unshare, CLONE_NEWIPC | CLONE_NEWNET) == errno.EINVAL
    noipc.init.unshare(CLONE_SYSVSEM)                                  # still fine


# --- without CONFIG_IPC_NS: /proc/PID/ns/ipc and setns ---------------------------------------
@pytest.mark.parametrize("path", ["/proc/1/ns/ipc", "/proc/self/ns/ipc"])
def test_there_is_no_ipc_namespace_file(noipc, path):
    init = noipc.init
    assert errno_of(init.readlink, path) == errno.ENOENT
    assert errno_of(init.open, path, O_RDONLY) == errno.ENOENT
    assert errno_of(init.stat, path) == errno.ENOENT
    init.mkdir("/run/ns")
    init.open("/run/ns/ipc", ipcsim.O_CREAT)
    assert errno_of(init.mount, path, "/run/ns/ipc", None, MS_BIND) == errno.ENOENT


def test_the_ns_directory_lists_every_other_kind_in_linux_order(noipc):
    child = noipc.init.fork()
    expected = [name for name in ALL_NS if name != "ipc"]
    assert noipc.init.listdir("/proc/1/ns") == expected
    assert noipc.init.listdir(f"/proc/{child.pid}/ns") == expected
    assert noipc.init.readlink("/proc/1/ns/net") == "net:[4026531833]"


def test_setns_cannot_reach_an_ipc_namespace(noipc):
    init = noipc.init
    fd = init.open("/proc/1/ns/net")
    assert errno_of(init.setns, fd, CLONE_NEWIPC) == errno.EINVAL   # the fd's type differs
    init.setns(fd, 0)
    assert init.ipc_ns is noipc.init_ipc_ns


# --- without CONFIG_IPC_NS: IPC itself works -------------------------------------------------
def test_system_v_and_posix_ipc_work_in_the_one_namespace(noipc):
    init = noipc.init
    child = init.fork()
    msqid = init.msgget(0x10, IPC_CREAT | 0o600)
    init.msgsnd(msqid, 1, b"hello")
    assert child.msgrcv(msqid, 100) == (1, b"hello")
    init.write_file("/proc/sys/kernel/msgmni", "8")
    assert child.read_file("/proc/sys/kernel/msgmni") == "8\n"
    assert len(init.read_file("/proc/sysvipc/msg").splitlines()) == 2
    mqd = init.mq_open("/q", ipcsim.O_CREAT | ipcsim.O_RDWR)
    init.mq_send(mqd, b"x")
    init.mount("none", "/dev/mqueue", "mqueue")
    assert child.listdir("/dev/mqueue") == ["q"]


# --- without CONFIG_USER_NS ------------------------------------------------------------------
def test_newuser_is_einval_before_the_capability_check():
    with ipcsim.Kernel(config_user_ns=False) as k:
        p = unprivileged(k)
        for proc in (k.init, p):
            assert errno_of(proc.clone, CLONE_NEWUSER) == errno.EINVAL     # copy_creds
            assert errno_of(proc.unshare, CLONE_NEWUSER) == errno.EINVAL   # unshare_userns
            assert errno_of(proc.clone, CLONE_NEWUSER | CLONE_NEWIPC) == errno.EINVAL
        assert k.init.fork().pid == p.pid + 1
        assert errno_of(k.init.readlink, "/proc/1/ns/user") == errno.ENOENT
        assert "user" not in k.init.listdir("/proc/1/ns")
        child = k.init.clone(CLONE_NEWIPC)                 # IPC namespaces still work
        assert child.ipc_ns is not k.init_ipc_ns


# --- without CONFIG_PID_NS -------------------------------------------------------------------
def test_newpid_is_einval_after_the_capability_check():
    with ipcsim.Kernel(config_pid_ns=False) as k:
        p = unprivileged(k)
        assert errno_of(k.init.clone, CLONE_NEWPID) == errno.EINVAL       # copy_pid_ns
        assert errno_of(k.init.unshare, CLONE_NEWPID) == errno.EINVAL
        assert errno_of(p.clone, CLONE_NEWPID) == errno.EPERM
        assert errno_of(p.unshare, CLONE_NEWPID) == errno.EPERM
        # a new IPC namespace made first is freed again
        assert errno_of(k.init.clone, CLONE_NEWIPC | CLONE_NEWPID) == errno.EINVAL
        assert errno_of(k.init.unshare, CLONE_NEWIPC | CLONE_NEWPID) == errno.EINVAL
        assert len(k.ipc_namespaces) == 1 and k.init.ipc_ns is k.init_ipc_ns
        for name in ("pid", "pid_for_children"):
            assert errno_of(k.init.stat, f"/proc/1/ns/{name}") == errno.ENOENT
        assert k.init.listdir("/proc/1/ns") == [n for n in ALL_NS if not n.startswith("pid")]


# --- a missing kind fails at its place in create_new_namespaces() ----------------------------
@pytest.mark.parametrize("call", ["clone", "unshare"])
def test_the_mount_namespace_comes_before_a_missing_ipc_namespace(noipc, call):
    """copy_mnt_ns() runs before the copy_ipcs() stub: past max_mnt_namespaces the answer is
    the mount namespace's ENOSPC; within it the stub's EINVAL, the mount namespace freed."""
    init = noipc.init
    init.write_file("/proc/sys/user/max_mnt_namespaces", "1")
    p = init.fork()
    assert errno_of(getattr(p, call), CLONE_NEWNS | CLONE_NEWIPC) == errno.EINVAL
    assert len(noipc.mount_namespaces) == 1 and p.mnt_ns is noipc.init_mnt_ns
    init.write_file("/proc/sys/user/max_mnt_namespaces", "0")
    assert errno_of(getattr(p, call), CLONE_NEWNS | CLONE_NEWIPC) == errno.ENOSPC
    init.write_file("/proc/sys/user/max_mnt_namespaces", "1")
    p.unshare(CLONE_NEWNS)                      # the count went back: one is allowed
    assert len(noipc.mount_namespaces) == 2


@pytest.mark.parametrize("call", ["clone", "unshare"])
def test_the_ipc_namespace_comes_before_a_missing_pid_namespace(call):
    with ipcsim.Kernel(config_pid_ns=False) as k:
        init = k.init
        inums = (k.init_mnt_ns.inum, k.init_ipc_ns.inum)
        init.write_file("/proc/sys/user/max_ipc_namespaces", "0")
        p = init.fork()
        assert errno_of(getattr(p, call), CLONE_NEWIPC | CLONE_NEWPID) == errno.ENOSPC
        init.write_file("/proc/sys/user/max_ipc_namespaces", "1")
        assert errno_of(getattr(p, call), CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID) \
            == errno.EINVAL
        # what was made (a mount and an IPC namespace) is freed: counts and inode numbers
        assert [len(k.mount_namespaces), len(k.ipc_namespaces)] == [1, 1]
        assert (p.mnt_ns.inum, p.ipc_ns.inum) == inums
        p.unshare(CLONE_NEWIPC)                 # the first inode number is free again
        assert p.ipc_ns.inum == ipcsim.constants.PROC_DYNAMIC_FIRST


def test_a_missing_kind_after_a_new_user_namespace_frees_it(noipc):
    p = unprivileged(noipc)
    assert errno_of(p.clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC) == errno.EINVAL
    assert errno_of(p.unshare, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC) == errno.EINVAL
    assert len(noipc.user_namespaces) == 1 and len(noipc.mount_namespaces) == 1
    assert p.creds.user_ns is None


# --- the defaults are unchanged --------------------------------------------------------------
def test_with_every_kind_pid_namespaces_work(k):
    child = k.init.clone(CLONE_NEWPID)
    assert child.getpid() == 1 and child.pid_ns is not k.init_pid_ns
    p = k.init.fork()
    p.unshare(CLONE_NEWPID)
    assert p.pid_ns is k.init_pid_ns and p.fork().getpid() == 1
    p = unprivileged(k)
    assert errno_of(p.unshare, CLONE_NEWPID) == errno.EPERM
    assert k.init.clone(CLONE_NEWIPC).ipc_ns is not k.init_ipc_ns


# --- the shell -------------------------------------------------------------------------------
def shell(kernel):
    out, err = [], []
    sh = Shell(kernel=kernel, out=out.append, err=err.append)

    def run(line):
        del out[:], err[:]
        status = sh.run(line)
        return status, "".join(out), "".join(err)
    return sh, run


@pytest.mark.parametrize("line", ["unshare --ipc", "unshare -i", "unshare -i ipcs -q"])
def test_shell_unshare_ipc_fails_as_util_linux_reports_einval(noipc, line):
    sh, run = shell(noipc)
    assert run(line) == (1, "", "unshare: unshare failed: Invalid argument\n")
    assert sh.proc.pid == 2 and sh.prompt() == "[pid 2]# "


def test_shell_lsns_shows_no_ipc_namespace(noipc):
    sh, run = shell(noipc)
    assert run("lsns -t ipc") == (0, "", "")
    status, out, _ = run("lsns -o TYPE -n")
    assert status == 0 and "ipc" not in out.split() and "net" in out.split()


def test_shell_nsenter_ipc_cannot_open_the_file_and_all_skips_it(noipc):
    sh, run = shell(noipc)
    assert run("nsenter -t 1 --ipc true") == (
        1, "", "nsenter: cannot open /proc/1/ns/ipc: No such file or directory\n")
    assert run("nsenter -a -t 1 echo in") == (0, "in\n", "")   # is_usable_namespace


def test_shell_ps_shows_a_dash_for_the_missing_ipc_namespace(noipc):
    sh, run = shell(noipc)
    status, out, err = run("ps")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["PID", "PPID", "IPCNS", "USER", "COMMAND"]
    assert all(line.split()[2] == "-" for line in lines[1:]) and len(lines) >= 3


def test_shell_defaults_unchanged(k):
    sh, run = shell(k)
    assert sh.prompt() == "[pid 2 ipc:[4026531839]]# "
    assert run("lsns -t ipc -n -o NS")[1] == "4026531839\n"


# --- the pytest marker -----------------------------------------------------------------------
@pytest.mark.ipcsim(config_ipc_ns=False)
def test_the_marker_passes_the_flags(ipc_kernel):
    assert not ipc_kernel.config_ipc_ns
    assert errno_of(ipc_kernel.init.unshare, CLONE_NEWIPC) == errno.EINVAL


def test_make_kernel_checks_the_flags():
    kernel, _ = make_kernel(config_pid_ns=False, config_user_ns=False)
    with kernel:
        assert (kernel.config_ipc_ns, kernel.config_user_ns, kernel.config_pid_ns) == \
            (True, False, False)
    with pytest.raises(TypeError, match="config_ipc_ns must be a bool"):
        make_kernel(config_ipc_ns="no")
