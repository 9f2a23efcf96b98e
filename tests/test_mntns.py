"""Mount namespaces: each has its own mounts, copied at creation; the rules of mount,
umount, setns and mqueue mounts in them, compared step by step with the real kernel (as
root and as uid 1000 in a user namespace of its own)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import uuid

import pytest

import ipcsim
from ipcsim import (CLONE_FS, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWUSER, MNT_DETACH, O_CREAT,
                    O_RDONLY, O_RDWR)
from ipcsim.constants import MS_BIND, MS_PRIVATE, MS_REC, MS_SHARED, NS_GET_NSTYPE
from ipcsim.conformance.sim import become_user
from realkernel import as_user_unavailable, run_python_as



def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return errno.errorcode[e.value.errno]


# --- the model alone -----------------------------------------------------------------------
@pytest.fixture
def k():
    with ipcsim.Kernel() as kernel:
        yield kernel


def test_the_initial_mount_namespace(k):
    assert k.init.readlink("/proc/self/ns/mnt") == "mnt:[4026531832]"
    assert k.mount_namespaces == [k.init_mnt_ns]
    assert k.init.mnt_ns is k.init_mnt_ns and k.mounts is k.init_mnt_ns.mounts


def test_a_child_shares_its_parents_mount_namespace_and_clone_copies_it(k):
    a = k.init.fork()
    a.mkdir("/tmp/mq")
    a.mount("mqueue", "/tmp/mq", "mqueue")
    b = a.fork()
    c = a.clone(CLONE_NEWNS)
    assert b.mnt_ns is a.mnt_ns and c.mnt_ns is not a.mnt_ns
    assert [p for p, _ in c.mnt_ns.mounts] == ["/tmp/mq"]
    c.umount("/tmp/mq")
    assert [p for p, _ in c.mnt_ns.mounts] == [] and [p for p, _ in a.mnt_ns.mounts] == ["/tmp/mq"]
    c.mkdir("/tmp/only-c")
    c.mount("mqueue", "/tmp/only-c", "mqueue")
    b.mq_open("/seen", O_CREAT | O_RDWR)
    assert b.listdir("/tmp/mq") == ["seen"] and c.listdir("/tmp/only-c") == ["seen"]
    assert b.listdir("/tmp/only-c") == []        # c's mount is c's namespace's alone


def test_clone_newns_with_clone_fs_is_einval_and_needs_cap_sys_admin(k):
    assert errno_of(k.init.clone, CLONE_NEWNS | CLONE_FS) == "EINVAL"
    u = k.init.fork()
    u.setresuid(1000, 1000, 1000)
    assert errno_of(u.clone, CLONE_NEWNS) == "EPERM"
    assert errno_of(u.unshare, CLONE_NEWNS) == "EPERM"
    assert len(k.processes()) == 2 and len(k.mount_namespaces) == 1


def test_the_last_reference_frees_the_namespace_and_its_mounts(k):
    a = k.init.fork()
    a.unshare(CLONE_NEWNS | CLONE_NEWIPC)
    ipc = a.ipc_ns
    a.mkdir("/tmp/m")
    a.mount("mqueue", "/tmp/m", "mqueue")
    ipc_file = k.init.open(f"/proc/{a.pid}/ns/ipc", O_RDONLY)
    fd = k.init.open(f"/proc/{a.pid}/ns/mnt", O_RDONLY)
    ns = a.mnt_ns
    a.exit(0)
    k.init.wait(a.pid)
    assert ns.alive and ipc.mq_fs.refs >= 2          # the file holds the namespace...
    k.init.close(fd)
    assert not ns.alive and ns not in k.mount_namespaces
    assert ipc.mq_fs.refs == 1                        # ...and the mount went with it
    k.init.close(ipc_file)
    assert not ipc.alive


def test_a_bind_mounted_namespace_file_holds_the_namespace(k):
    older = k.init.clone(CLONE_NEWNS)
    k.init.close(k.init.open("/tmp/holder", O_CREAT | O_RDWR, 0o600))
    k.init.unshare(CLONE_NEWNS)
    # a namespace not newer than the mounter's could come to hold itself (mnt_ns_loop)
    assert errno_of(k.init.mount, f"/proc/{older.pid}/ns/mnt", "/tmp/holder", None,
                    MS_BIND) == "EINVAL"
    a = k.init.clone(CLONE_NEWNS)
    k.init.mount(f"/proc/{a.pid}/ns/mnt", "/tmp/holder", None, MS_BIND)
    ns = a.mnt_ns
    a.exit(0)
    k.init.wait(a.pid)
    assert ns.alive
    fd = k.init.open("/tmp/holder", O_RDONLY)
    assert k.init.ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNS
    k.init.close(fd)
    k.init.umount("/tmp/holder")
    assert not ns.alive


def test_a_copy_leaves_out_binds_of_mount_namespace_files(k):
    """copy_mnt_ns() copies without CL_COPY_MNT_NS_FILE: a bind of an IPC namespace's file
    is copied, one of a mount namespace's is not, so no cycle of mount namespaces holding
    each other can form (probed on Linux 6.18: the copy's setns through the path is
    EINVAL)."""
    x = k.init.clone(CLONE_NEWNS)
    y = k.init.clone(CLONE_NEWNS | CLONE_NEWIPC)
    for name in ("m", "i"):
        x.close(x.open(f"/tmp/{name}", O_CREAT | O_RDWR, 0o600))
    x.mount(f"/proc/{y.pid}/ns/mnt", "/tmp/m", None, MS_BIND)
    x.mount(f"/proc/{y.pid}/ns/ipc", "/tmp/i", None, MS_BIND)
    z = x.clone(CLONE_NEWNS)
    assert [p for p, _ in z.mnt_ns.mounts] == ["/tmp/i"]
    fd = z.open("/tmp/m", O_RDONLY)
    assert errno_of(z.setns, fd, CLONE_NEWNS) == "EINVAL"     # a plain file there
    y_mnt = y.mnt_ns
    z.exit(0)
    x.wait(z.pid)
    y.exit(0)
    k.init.wait(y.pid)
    assert y_mnt.alive                        # x's bind, in x's namespace, holds it
    x.exit(0)
    k.init.wait(x.pid)
    assert not y_mnt.alive and k.mount_namespaces == [k.init_mnt_ns]
    assert k.init_user_ns.mnt_ucounts == {}


def test_max_mnt_namespaces_is_counted_up_the_user_namespace_chain(k):
    k.init.write_file("/proc/sys/user/max_mnt_namespaces", "1")
    a = k.init.fork()
    a.unshare(CLONE_NEWNS)
    b = k.init.fork()
    assert errno_of(b.unshare, CLONE_NEWNS) == "ENOSPC"
    b.unshare(CLONE_NEWUSER)
    assert b.read_file("/proc/sys/user/max_mnt_namespaces") == "2147483647\n"
    assert errno_of(b.unshare, CLONE_NEWNS) == "ENOSPC"   # the parent's count is full
    a.exit(0)
    k.init.wait(a.pid)
    b.unshare(CLONE_NEWNS)
    assert k.init_user_ns.mnt_ucounts == {0: 1} and b.mnt_ns.user_ns is b.creds.user_ns


def test_removing_a_mountpoint_of_another_namespace_takes_its_mount(k):
    a = k.init.fork()
    a.mkdir("/tmp/d")
    b = a.clone(CLONE_NEWNS)
    b.mount("mqueue", "/tmp/d", "mqueue")
    assert errno_of(b.rmdir, "/tmp/d") == "EBUSY"       # a mountpoint here
    a.rmdir("/tmp/d")                                     # not one in a's namespace
    assert [p for p, _ in b.mnt_ns.mounts] == []
    assert errno_of(b.stat, "/tmp/d") == "ENOENT"


def test_mount_proc_shows_the_mounters_pid_namespace(k):
    """unshare -pf --mount-proc: the child, pid 1 of a new PID namespace, mounts proc."""
    p = k.init.fork()
    p.unshare(ipcsim.CLONE_NEWPID | CLONE_NEWNS)
    c = p.fork()
    c.mount(None, "/", None, MS_REC | MS_PRIVATE)
    assert "2" in c.listdir("/proc")               # the host's /proc, copied
    c.mount("proc", "/proc", "proc")
    assert sorted(c.listdir("/proc")) == ["1", "self", "sys", "sysvipc"]
    assert c.readlink("/proc/self") == "1"
    c.mount("proc", "/proc", "proc")               # a superblock per mount, since 5.8
    c.umount("/proc")
    d = c.fork()
    assert d.getpid() == 2 and "2" in c.listdir("/proc")
    assert "2" in k.init.listdir("/proc") and str(d.pid) in k.init.listdir("/proc")
    pid_ns = c.pid_ns
    c.umount("/proc")
    assert c.readlink("/proc/self") == str(c.pid)  # the host's again
    assert pid_ns.alive


def test_mounting_proc_needs_cap_sys_admin_over_the_pid_namespaces_owner(k):
    u = k.init.fork()
    u.setresuid(1000, 1000, 1000)
    u.unshare(CLONE_NEWUSER | CLONE_NEWNS)
    assert errno_of(u.mount, "proc", "/proc", "proc") == "EPERM"
    u.unshare(ipcsim.CLONE_NEWPID)
    c = u.fork()
    c.mount("proc", "/proc", "proc")
    assert c.readlink("/proc/self") == "1"


# --- compared with the real kernel ------------------------------------------------------------
_REAL_SCRIPT = r'''
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]
steps, uid, base = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
host = os.readlink("/proc/self/ns/mnt")
fds, out, prev = {}, [], [uid, uid]

def check(r, what):
    if r != 0:
        raise OSError(ctypes.get_errno(), what)

def path(p):
    return p if p.startswith("/proc") or p == "/" else base + "/" + p

def wr(p, text):
    fd = os.open(p, os.O_WRONLY)
    try:
        return os.write(fd, text.encode())
    finally:
        os.close(fd)

for op, *args in steps:
    try:
        if op == "unshare":
            ids = [os.geteuid(), os.getegid()]
            check(libc.unshare(args[0]), "unshare")
            if args[0] & 0x10000000:
                prev = ids
            out.append(0)
        elif op == "mapself":
            wr("/proc/self/uid_map", "0 %d 1" % prev[0])
            wr("/proc/self/setgroups", "deny")
            wr("/proc/self/gid_map", "0 %d 1" % prev[1])
            out.append(0)
        elif op == "mount":
            if os.readlink("/proc/self/ns/mnt") == host:
                raise SystemExit("refusing to mount in the host's mount namespace")
            src, tgt, fstype, flags = args
            check(libc.mount(src.encode() if src else None, path(tgt).encode(),
                             fstype.encode() if fstype else None, flags, None), "mount")
            out.append(0)
        elif op == "umount":
            check(libc.umount2(path(args[0]).encode(), args[1]), "umount")
            out.append(0)
        elif op == "mkdir":
            os.mkdir(path(args[0]), 0o755)
            out.append(0)
        elif op == "rmdir":
            os.rmdir(path(args[0]))
            out.append(0)
        elif op == "ls":
            out.append(sorted(os.listdir(path(args[0]))))
        elif op == "create":
            os.close(os.open(path(args[0]), os.O_CREAT | os.O_RDWR, 0o600))
            out.append(0)
        elif op == "open":
            fds[args[0]] = os.open(path(args[1]), os.O_RDONLY)
            out.append(0)
        elif op == "close":
            os.close(fds.pop(args[0]))
            out.append(0)
        elif op == "setns":
            check(libc.setns(fds[args[0]], args[1]), "setns")
            out.append(0)
        elif op == "ns":
            out.append(os.readlink("/proc/self/ns/" + args[0]))
        elif op == "w":
            out.append(wr(path(args[0]), args[1]))
        elif op == "r":
            with open(path(args[0])) as f:
                out.append(f.read())
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(json.dumps(out))
'''


def run_real(uid, steps, base):
    os.mkdir(base)
    os.chown(base, uid, uid)
    try:
        out = run_python_as(uid, _REAL_SCRIPT, [json.dumps(steps), str(uid), base])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if out.returncode != 0:
        pytest.fail(f"the real run failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout)


def run_model(uid, steps, base):
    with ipcsim.Kernel() as k:
        k.init.mkdir("/tmp/" + base.rsplit("/", 2)[1])
        k.init.mkdir(base, 0o755)
        k.init.chown(base, uid, uid)
        p = k.init.fork()
        if uid:
            become_user(p, uid)
        fds, out, prev = {}, [], [uid, uid]

        def path(x):
            return x if x.startswith("/proc") or x == "/" else base + "/" + x

        for op, *args in steps:
            try:
                if op == "unshare":
                    ids = [p.getresuid()[1], p.getresgid()[1]]
                    p.unshare(args[0])
                    if args[0] & CLONE_NEWUSER:
                        prev = ids
                    out.append(0)
                elif op == "mapself":
                    p.write_file("/proc/self/uid_map", f"0 {prev[0]} 1")
                    p.write_file("/proc/self/setgroups", "deny")
                    p.write_file("/proc/self/gid_map", f"0 {prev[1]} 1")
                    out.append(0)
                elif op == "mount":
                    src, tgt, fstype, flags = args
                    p.mount(src, path(tgt), fstype, flags)
                    out.append(0)
                elif op == "umount":
                    p.umount(path(args[0]), args[1])
                    out.append(0)
                elif op == "mkdir":
                    p.mkdir(path(args[0]), 0o755)
                    out.append(0)
                elif op == "rmdir":
                    p.rmdir(path(args[0]))
                    out.append(0)
                elif op == "ls":
                    out.append(sorted(p.listdir(path(args[0]))))
                elif op == "create":
                    p.close(p.open(path(args[0]), O_CREAT | O_RDWR, 0o600))
                    out.append(0)
                elif op == "open":
                    fds[args[0]] = p.open(path(args[1]), O_RDONLY)
                    out.append(0)
                elif op == "close":
                    p.close(fds.pop(args[0]))
                    out.append(0)
                elif op == "setns":
                    p.setns(fds[args[0]], args[1])
                    out.append(0)
                elif op == "ns":
                    out.append(p.readlink("/proc/self/ns/" + args[0]))
                elif op == "w":
                    out.append(p.write_file(path(args[0]), args[1]))
                elif op == "r":
                    out.append(p.read_file(path(args[0])))
            except OSError as e:
                out.append(errno.errorcode[e.errno])
        return out


def _normalized(out):
    """Namespace links as "kind:#N", N by first appearance (inode numbers vary by run)."""
    seen: dict[str, int] = {}
    fixed = []
    for item in out:
        if isinstance(item, str) and item.endswith("]") and ":[" in item:
            kind = item.split(":[")[0]
            fixed.append(f"{kind}:#{seen.setdefault(item, len(seen))}")
        else:
            fixed.append(item)
    return fixed


NS, IPC, USER = CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER
PRIVATE = ("mount", None, "/", None, MS_REC | MS_PRIVATE)
MQ = "mqueue"

ROOT_SCENARIOS = {
    "copied at unshare, then apart": [
        ("open", "host", "/proc/self/ns/mnt"), ("unshare", NS | IPC), PRIVATE, ("mkdir", "a"),
        ("mount", MQ, "a", MQ, 0), ("create", "a/q"), ("ls", "a"),
        ("open", "one", "/proc/self/ns/mnt"), ("unshare", NS), PRIVATE, ("ns", "mnt"),
        ("ls", "a"), ("umount", "a", 0), ("ls", "a"), ("setns", "one", NS), ("ns", "mnt"),
        ("ls", "a"), ("setns", "one", 0), ("setns", "one", IPC), ("umount", "a", 0),
        ("ls", "a"), ("setns", "host", NS), ("ns", "mnt")],
    "umount's errors": [
        ("unshare", NS | IPC), PRIVATE, ("mkdir", "a"), ("mkdir", "a/b"),
        ("umount", "a", 0), ("umount", "nowhere", 0), ("mount", MQ, "a", MQ, 0),
        ("open", "q", "a"), ("umount", "a", 0), ("close", "q"), ("create", "a/q"),
        ("open", "q", "a/q"), ("umount", "a", 0), ("umount", "a", MNT_DETACH), ("ls", "a"),
        ("close", "q")],
    "mqueue twice": [
        ("unshare", NS | IPC), PRIVATE, ("mkdir", "a"), ("mkdir", "b"),
        ("mount", MQ, "a", MQ, 0), ("mount", MQ, "a", MQ, 0), ("mount", MQ, "b", MQ, 0),
        ("create", "a/x"), ("ls", "b"), ("mkdir", "a/sub")],
    "propagation flags": [
        ("unshare", NS), PRIVATE, ("mkdir", "a"), ("mount", None, "a", None, MS_PRIVATE),
        ("mount", None, "/", None, MS_PRIVATE | MS_SHARED), ("mount", None, "/", None, MS_PRIVATE)],
    "a mountpoint of another namespace": [
        ("mkdir", "a"), ("open", "host", "/proc/self/ns/mnt"), ("unshare", NS | IPC), PRIVATE,
        ("open", "mine", "/proc/self/ns/mnt"), ("mount", MQ, "a", MQ, 0), ("rmdir", "a"),
        ("setns", "host", NS), ("rmdir", "a"), ("setns", "mine", NS), ("ls", "a"),
        ("mkdir", "a"), ("ls", "a")],
    "bind-mounted namespace files": [
        ("open", "host", "/proc/self/ns/mnt"), ("unshare", NS), PRIVATE, ("create", "f"),
        ("create", "g"), ("mount", "/proc/self/ns/mnt", "f", None, MS_BIND),
        ("open", "old", "/proc/self/ns/mnt"), ("unshare", NS), PRIVATE,
        ("open", "new", "/proc/self/ns/mnt"), ("setns", "old", NS),
        ("mount", "/proc/self/ns/ipc", "g", None, MS_BIND), ("close", "new")],
}
ROOT_SCENARIOS["proc mounts"] = [
    ("unshare", NS), PRIVATE, ("mkdir", "a"), ("mount", "proc", "a", "proc", 0),
    ("mount", "proc", "a", "proc", 0), ("ns", "mnt"), ("umount", "a", 0), ("umount", "a", 0),
    ("ls", "a"), ("umount", "a", 0)]
USER_SCENARIOS = {
    "proc of a PID namespace another user namespace owns": [
        ("unshare", USER), ("mapself",), ("unshare", NS), PRIVATE, ("mkdir", "a"),
        ("mount", "proc", "a", "proc", 0), ("ls", "a")],
    "a rootless mount namespace": [
        ("open", "host", "/proc/self/ns/mnt"), ("unshare", USER), ("mapself",),
        ("unshare", NS), PRIVATE, ("umount", "/proc", 0), ("umount", "/proc", MNT_DETACH),
        ("mkdir", "a"), ("mount", MQ, "a", MQ, 0), ("unshare", IPC),
        ("mount", MQ, "a", MQ, 0), ("create", "a/q"), ("ls", "a"), ("umount", "a", 0),
        ("setns", "host", NS), ("setns", "host", 0)],
    "no new mount namespace without privilege": [
        ("unshare", NS), ("unshare", NS | IPC), ("unshare", USER | NS), ("mapself",),
        ("ns", "user")],
    "max_mnt_namespaces in a user namespace": [
        ("unshare", USER), ("mapself",), ("w", "/proc/sys/user/max_mnt_namespaces", "2"),
        ("unshare", NS), ("unshare", NS), ("open", "keep", "/proc/self/ns/mnt"),
        ("unshare", NS), ("unshare", NS), ("close", "keep"), ("unshare", NS)],
}


def _steps(steps):
    return [list(s) for s in steps]


def _compare(uid, name, steps):
    reason = as_user_unavailable(uid)
    if reason:
        pytest.skip(reason)
    base = f"/tmp/ipcsim-mntns-{uuid.uuid4().hex[:8]}/{uid}"
    parent = base.rsplit("/", 1)[0]
    os.mkdir(parent)
    os.chmod(parent, 0o755)
    try:
        real = run_real(uid, _steps(steps), base)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    model = run_model(uid, _steps(steps), base)
    assert _normalized(model) == _normalized(real), name


@pytest.mark.parametrize("name", sorted(ROOT_SCENARIOS))
def test_as_root_like_the_real_kernel(name):
    _compare(0, name, ROOT_SCENARIOS[name])


@pytest.mark.parametrize("uid", [0, 1000])
@pytest.mark.parametrize("name", sorted(USER_SCENARIOS))
def test_in_a_user_namespace_like_the_real_kernel(uid, name):
    _compare(uid, name, USER_SCENARIOS[name])
