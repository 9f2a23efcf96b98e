"""IPC namespaces: creation, joining, handles, lifetime, errnos."""
import errno

import pytest

import ipcsim
from ipcsim import (CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUTS, CLONE_SYSVSEM, MS_BIND, O_CREAT,
                    O_WRONLY)


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return errno.errorcode[e.value.errno]


def test_initial_namespace_inode(k):
    assert k.init.readlink("/proc/self/ns/ipc") == "ipc:[4026531839]"
    assert k.init.readlink("/proc/1/ns/ipc") == "ipc:[4026531839]"
    assert k.init_ipc_ns.inum == 4026531839 and k.init_ipc_ns.is_initial
    assert k.ipc_namespaces == [k.init_ipc_ns]


def test_fork_shares_clone_creates(k):
    child = k.init.fork()
    iso = k.init.clone(CLONE_NEWIPC)
    assert child.ipc_ns is k.init_ipc_ns
    assert iso.ipc_ns is not k.init_ipc_ns
    assert iso.readlink("/proc/self/ns/ipc") == f"ipc:[{iso.ipc_ns.inum}]"
    assert iso.fork().ipc_ns is iso.ipc_ns
    assert k.ipc_namespaces == [k.init_ipc_ns, iso.ipc_ns]


def test_clone_with_target_runs_in_the_new_namespace(k):
    def prog(p, tag):
        return tag, p.readlink("/proc/self/ns/ipc")

    box = k.init.clone(CLONE_NEWIPC, target=prog, args=("x",))
    k.run()
    assert box.result == ("x", f"ipc:[{box.result[1][5:-1]}]")
    assert box.result[1] != "ipc:[4026531839]"


def test_clone_errors(k, nobody):
    assert errno_of(k.init.clone, CLONE_NEWIPC | CLONE_SYSVSEM) == "EINVAL"
    assert errno_of(nobody.clone, CLONE_NEWIPC) == "EPERM"
    # privilege is checked before the NEWIPC|SYSVSEM combination (copy_namespaces)
    assert errno_of(nobody.clone, CLONE_NEWIPC | CLONE_SYSVSEM) == "EPERM"
    with pytest.raises(ipcsim.UnsupportedError):
        k.init.clone(CLONE_NEWNET)
    with pytest.raises(TypeError):
        k.init.clone("CLONE_NEWIPC")
    with pytest.raises(TypeError):
        k.init.clone(0, target=5)
    assert k.ipc_namespaces == [k.init_ipc_ns]
    assert len(k.processes()) == 2


def test_unshare_moves_the_caller(k):
    p = k.init.fork()
    p.unshare(CLONE_NEWIPC)
    assert p.ipc_ns is not k.init_ipc_ns
    p.unshare(CLONE_NEWIPC | CLONE_SYSVSEM)
    p.unshare(0)
    assert len(k.ipc_namespaces) == 2     # the first new one died when p left it


def test_unshare_errors_change_nothing(k, nobody):
    assert errno_of(nobody.unshare, CLONE_NEWIPC) == "EPERM"
    assert errno_of(k.init.unshare, 0x1) == "EINVAL"          # not an unshare flag
    assert errno_of(k.init.unshare, ipcsim.CLONE_PARENT) == "EINVAL"
    assert errno_of(k.init.unshare, -1) == "EINVAL"
    with pytest.raises(ipcsim.UnsupportedError):
        k.init.unshare(CLONE_NEWUTS)
    assert nobody.ipc_ns is k.init_ipc_ns and k.ipc_namespaces == [k.init_ipc_ns]


def test_unshare_sysvsem_alone_needs_no_privilege(k, nobody):
    nobody.unshare(CLONE_SYSVSEM)
    assert nobody.ipc_ns is k.init_ipc_ns


def test_max_ipc_namespaces_per_user_gives_enospc():
    k = ipcsim.Kernel(max_ipc_namespaces=2)
    a = k.init.clone(CLONE_NEWIPC)
    b = k.init.clone(CLONE_NEWIPC)
    assert errno_of(k.init.clone, CLONE_NEWIPC) == "ENOSPC"
    assert errno_of(k.init.fork().unshare, CLONE_NEWIPC) == "ENOSPC"
    a.exit(0)                                     # its namespace dies: the charge returns
    c = k.init.clone(CLONE_NEWIPC)
    assert c.ipc_ns.alive and b.ipc_ns.alive
    assert k.init.read_file("/proc/sys/user/max_ipc_namespaces") == "2\n"


def test_max_ipc_namespaces_is_writable_only_with_cap_sys_resource():
    k = ipcsim.Kernel(max_ipc_namespaces=5)
    k.init.write_file("/proc/sys/user/max_ipc_namespaces", "1")
    assert k.max_ipc_namespaces == 1
    p = k.init.fork()
    p.drop_capability(ipcsim.CAP_SYS_RESOURCE)
    assert errno_of(p.write_file, "/proc/sys/user/max_ipc_namespaces", "3") == "EACCES"


def test_a_namespace_dies_when_its_last_member_exits(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    b = a.fork()
    a.exit(0)
    assert ns.alive and ns in k.ipc_namespaces
    b.exit(0)
    assert not ns.alive and ns not in k.ipc_namespaces


def test_a_zombie_holds_no_reference(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    a.exit(0)
    assert a.zombie and not ns.alive


def test_a_handle_keeps_a_namespace_alive_and_setns_joins_it(k):
    a = k.init.clone(CLONE_NEWIPC)
    a.write_file("/proc/sys/kernel/msgmax", "111")
    ns = a.ipc_ns
    fd = k.init.open(f"/proc/{a.pid}/ns/ipc")
    a.exit(0)
    assert ns.alive
    joiner = k.init.fork()
    joiner.setns(fd, CLONE_NEWIPC)
    assert joiner.ipc_ns is ns and joiner.read_file("/proc/sys/kernel/msgmax") == "111\n"
    k.init.close(fd)
    assert ns.alive                               # joiner is a member now
    joiner.exit(0)
    assert not ns.alive


def test_handles_survive_fork_and_die_with_the_last_descriptor(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    holder = k.init.fork()
    fd = holder.open(f"/proc/{a.pid}/ns/ipc")
    copy = holder.fork()
    a.exit(0)
    holder.close(fd)
    assert ns.alive
    copy.exit(0)
    assert not ns.alive


def test_a_bind_mount_keeps_a_namespace_alive(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    k.init.mkdir("/run/ipcns")
    k.init.close(k.init.open("/run/ipcns/box", O_CREAT | O_WRONLY))   # a file to bind onto
    k.init.mount(f"/proc/{a.pid}/ns/ipc", "/run/ipcns/box", flags=MS_BIND)
    a.exit(0)
    assert ns.alive
    fd = k.init.open("/run/ipcns/box")
    p = k.init.fork()
    p.setns(fd, 0)
    assert p.ipc_ns is ns
    p.exit(0)
    k.init.close(fd)
    assert ns.alive
    k.init.umount("/run/ipcns/box")
    assert not ns.alive
    assert errno_of(k.init.umount, "/run/ipcns/box") == "EINVAL"


def test_mount_needs_cap_sys_admin(k, nobody):
    k.init.close(k.init.open("/x", O_CREAT | O_WRONLY))
    assert errno_of(nobody.mount, "/proc/1/ns/ipc", "/x", None, MS_BIND) == "EPERM"
    k.init.mount("/proc/1/ns/ipc", "/x", flags=MS_BIND)
    assert errno_of(nobody.umount, "/x") == "EPERM"


def test_an_open_sysvipc_file_keeps_a_namespace_alive(k):
    a = k.init.clone(CLONE_NEWIPC)
    ns = a.ipc_ns
    fd = a.open("/proc/sysvipc/msg")
    keeper = a.fork()
    a.exit(0)
    assert ns.alive
    text = keeper.read(fd, 4096).decode()
    assert text.startswith("       key      msqid perms")
    keeper.exit(0)                                # closes the file: the last reference
    assert not ns.alive


def test_setns_errors(k, nobody):
    fd = k.init.open("/proc/self/ns/ipc")
    sysctl_fd = k.init.open("/proc/sys/kernel/msgmax")
    assert errno_of(k.init.setns, 999, 0) == "EBADF"
    assert errno_of(k.init.setns, sysctl_fd, 0) == "EINVAL"
    assert errno_of(k.init.setns, fd, CLONE_NEWUTS) == "EINVAL"
    k.init.setns(fd, 0)
    k.init.setns(fd, CLONE_NEWIPC)
    nfd = nobody.open("/proc/self/ns/ipc")
    assert errno_of(nobody.setns, nfd, 0) == "EPERM"


def test_setns_drops_the_undo_list_even_for_the_same_namespace(k):
    p = k.init.fork()
    p.sysvsem = ipcsim.kernel.sem.UndoList()
    fd = p.open("/proc/self/ns/ipc")
    p.setns(fd, 0)
    assert p.sysvsem is None


def test_clone_sysvsem_shares_the_undo_list_until_the_last_sharer(k):
    p = k.init.fork()
    c = p.clone(CLONE_SYSVSEM)
    assert p.sysvsem is c.sysvsem and p.sysvsem.refcnt == 2
    c.exit(0)
    assert p.sysvsem.refcnt == 1
    assert k.init.fork().sysvsem is None            # fork does not inherit it


def test_opening_namespace_files(k, nobody):
    victim = k.init.fork()
    assert errno_of(nobody.open, f"/proc/{victim.pid}/ns/ipc") == "EACCES"
    assert errno_of(nobody.readlink, f"/proc/{victim.pid}/ns/ipc") == "EACCES"
    assert errno_of(k.init.open, "/proc/999/ns/ipc") == "ENOENT"
    assert errno_of(k.init.open, "/proc/self/ns/ipc", ipcsim.O_RDWR) == "EPERM"
    fd = k.init.open("/proc/self/ns/ipc")
    assert errno_of(k.init.read, fd, 10) == "EINVAL"
    assert errno_of(k.init.lseek, fd, 0, 0) == "ESPIPE"
    sibling = nobody.fork()
    # a child of a process that dropped privileges inherits its non-dumpable state
    assert errno_of(nobody.readlink, f"/proc/{sibling.pid}/ns/ipc") == "EACCES"
    sibling.set_dumpable(True)
    assert nobody.readlink(f"/proc/{sibling.pid}/ns/ipc") == "ipc:[4026531839]"
    zombie = k.init.fork()
    zombie.exit(0)
    assert errno_of(k.init.open, f"/proc/{zombie.pid}/ns/ipc") == "ENOENT"


def test_a_process_that_changed_uid_is_not_dumpable(k):
    p = k.init.fork()
    p.setuid(1000)
    peer = k.init.fork()
    peer.setuid(1000)
    # same uid, but p dropped privileges: other users of uid 1000 cannot open its ns file
    assert errno_of(peer.open, f"/proc/{p.pid}/ns/ipc") == "EACCES"
    p.set_dumpable(True)
    peer.close(peer.open(f"/proc/{p.pid}/ns/ipc"))


def test_inode_numbers_are_lowest_free_and_reused(k):
    a = k.init.clone(CLONE_NEWIPC)
    b = k.init.clone(CLONE_NEWIPC)
    first, second = a.ipc_ns.inum, b.ipc_ns.inum
    assert second == first + 1
    a.exit(0)
    c = k.init.clone(CLONE_NEWIPC)
    assert c.ipc_ns.inum == first


def test_unshare_drops_undo_list_and_orphans_shm_bookkeeping(k):
    p = k.init.fork()
    p.sysvsem = ipcsim.kernel.sem.UndoList()
    p.unshare(CLONE_NEWIPC)
    assert p.sysvsem is None and p.shm_clist == []


def test_members(k):
    a = k.init.clone(CLONE_NEWIPC)
    b = a.fork()
    assert a.ipc_ns.members() == [a, b]
    assert k.init_ipc_ns.members() == [k.init]


def test_privilege_is_checked_before_a_namespace_kind_is_found_unmodelled(k, nobody):
    # Linux answers EPERM to an unprivileged caller whatever the namespace kind.
    assert errno_of(nobody.unshare, CLONE_NEWUTS) == "EPERM"
    assert errno_of(nobody.clone, CLONE_NEWNET) == "EPERM"
    assert errno_of(nobody.unshare, CLONE_NEWIPC | 0x1) == "EINVAL"


def test_other_namespace_kinds_are_listed_and_shared_by_all(k):
    p = k.init.clone(CLONE_NEWIPC)
    assert p.listdir("/proc/self/ns") == ["net", "uts", "ipc", "pid", "pid_for_children",
                                          "user", "mnt", "cgroup", "time", "time_for_children"]
    assert p.readlink("/proc/self/ns/uts") == "uts:[4026531838]"
    assert p.readlink("/proc/self/ns/pid_for_children") == "pid:[4026531836]"
    assert p.readlink("/proc/self/ns/ipc") != "ipc:[4026531839]"
    fd = p.open("/proc/1/ns/net")
    p.setns(fd, 0)                                  # the only one: nothing changes
    assert errno_of(p.setns, fd, CLONE_NEWIPC) == "EINVAL"
    user = p.open("/proc/self/ns/user")
    assert errno_of(p.setns, user, 0) == "EINVAL"   # already in that user namespace
