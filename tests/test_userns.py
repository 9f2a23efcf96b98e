"""User namespaces: creation, the id maps, setgroups, capabilities relative to a namespace,
and the IPC namespace a user namespace owns. The map rules are also compared with the real
kernel, as root and as uid 1000, where this machine allows it."""
import errno
import json

import pytest

import ipcsim
from ipcsim import CLONE_NEWIPC, CLONE_NEWUSER, CLONE_SYSVSEM
from ipcsim.constants import (CAP_SYS_ADMIN, NS_GET_NSTYPE, NS_GET_OWNER_UID, NS_GET_PARENT,
                              NS_GET_USERNS, O_RDONLY, O_WRONLY)
from ipcsim.kernel.userns import OVERFLOW_ID, map_id_up
from ipcsim.conformance.sim import become_user
from realkernel import as_user_unavailable, run_python_as


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return errno.errorcode[e.value.errno]


def user(k, uid, gid=None):
    """A child of init with uid (and gid) ``uid``, dumpable as after an execve."""
    gid = uid if gid is None else gid
    p = k.init.fork()
    if uid:
        p.setresgid(gid, gid, gid)
        p.setresuid(uid, uid, uid)
        p.set_dumpable(True)
    return p


def map_self(p):
    """The unprivileged maps a process writes for its own new namespace: its euid and egid
    as the parent namespace sees them, and setgroups denied."""
    ns = p.creds.user_ns
    uid = map_id_up(ns.parent.uid_map, p.creds.euid)
    gid = map_id_up(ns.parent.gid_map, p.creds.egid)
    assert wr(p, "/proc/self/uid_map", f"0 {uid} 1") == len(f"0 {uid} 1")
    assert wr(p, "/proc/self/setgroups", "deny") == 4
    assert wr(p, "/proc/self/gid_map", f"0 {gid} 1") == len(f"0 {gid} 1")


def wr(p, path, data):
    """open O_WRONLY, one write, close: the bytes written or the errno name."""
    try:
        fd = p.open(path, O_WRONLY)
    except OSError as e:
        return errno.errorcode[e.errno]
    try:
        return p.write(fd, data.encode())
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        p.close(fd)


@pytest.fixture
def k():
    with ipcsim.Kernel() as kernel:
        yield kernel


# --- the initial namespace ------------------------------------------------------------------
def test_the_initial_namespace(k):
    assert k.init.readlink("/proc/self/ns/user") == "user:[4026531837]"
    assert k.init.read_file("/proc/1/uid_map") == "         0          0 4294967295\n"
    assert k.init.read_file("/proc/1/gid_map") == "         0          0 4294967295\n"
    assert k.init.read_file("/proc/1/setgroups") == "allow\n"
    assert k.init_ipc_ns.user_ns is k.init_user_ns and k.init_user_ns.level == 0
    assert k.init.read_file("/proc/sys/user/max_user_namespaces") == "96365\n"
    # its maps cannot be written, not even by root
    assert wr(k.init, "/proc/1/uid_map", "0 0 1") == "EPERM"
    assert "uid_map" in k.init.listdir("/proc/1")


def test_a_kernel_without_user_namespaces_has_no_map_files():
    with ipcsim.Kernel(config_user_ns=False) as k:
        assert errno_of(k.init.stat, "/proc/1/uid_map") == "ENOENT"
        assert k.init.listdir("/proc/1") == ["ns"]


# --- creation ---------------------------------------------------------------------------------
def test_unprivileged_unshare_gives_every_capability_and_overflow_ids(k):
    p = user(k, 1000)
    assert p.capabilities == 0
    p.unshare(CLONE_NEWUSER)
    ns = p.creds.user_ns
    assert (ns.level, ns.owner, ns.group, ns.parent) == (1, 1000, 1000, k.init_user_ns)
    assert p.getresuid() == (OVERFLOW_ID,) * 3 and p.getresgid() == (OVERFLOW_ID,) * 3
    assert p.capabilities == ipcsim.constants.CAP_FULL_SET
    assert p.readlink("/proc/self/ns/user") == f"user:[{ns.inum}]"
    assert p.read_file("/proc/self/uid_map") == ""
    # every capability there, none in the initial namespace
    assert p.creds.ns_capable(ns, CAP_SYS_ADMIN)
    assert not p.creds.ns_capable(k.init_user_ns, CAP_SYS_ADMIN)
    assert not p.has_capability(CAP_SYS_ADMIN)
    assert p.dumpable                       # the owner of the new namespace gained nothing


def test_clone_newuser_newipc_makes_the_user_namespace_first(k):
    p = user(k, 1000)
    assert errno_of(p.clone, CLONE_NEWIPC) == "EPERM"
    c = p.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    assert c.ipc_ns.user_ns is c.creds.user_ns
    assert c.creds.user_ns.parent is k.init_user_ns
    assert p.creds.user_ns is None               # the parent stays where it was
    # inside, CAP_SYS_ADMIN of the namespace is enough for another IPC namespace
    d = c.clone(CLONE_NEWIPC)
    assert d.ipc_ns.user_ns is c.creds.user_ns
    c.unshare(CLONE_NEWIPC)
    assert c.ipc_ns.user_ns is c.creds.user_ns


def test_unshare_newuser_newipc(k):
    p = user(k, 1000)
    p.unshare(CLONE_NEWUSER | CLONE_NEWIPC)
    assert p.ipc_ns is not k.init_ipc_ns and p.ipc_ns.user_ns is p.creds.user_ns


def test_clone_flag_errors(k):
    p = user(k, 1000)
    assert errno_of(p.clone, CLONE_NEWUSER | ipcsim.CLONE_FS) == "EINVAL"
    assert errno_of(p.clone, CLONE_NEWUSER | CLONE_NEWIPC | CLONE_SYSVSEM) == "EINVAL"
    assert len(k.user_namespaces) == 1 and len(k.processes()) == 2
    assert k.init_user_ns.ucounts == {}


def test_nesting_stops_below_level_33(k):
    p = user(k, 1000)
    for level in range(1, 34):
        p.unshare(CLONE_NEWUSER)
        assert p.creds.user_ns.level == level
        map_self(p)
    before = list(k.user_namespaces)
    assert errno_of(p.unshare, CLONE_NEWUSER) == "ENOSPC"
    assert errno_of(p.clone, CLONE_NEWUSER) == "ENOSPC"
    assert k.user_namespaces == before and p.creds.user_ns.level == 33


def test_max_user_namespaces_counts_per_uid_up_the_chain(k):
    k.init.write_file("/proc/sys/user/max_user_namespaces", "2")
    a, b = user(k, 1000), user(k, 1000)
    a.unshare(CLONE_NEWUSER)
    b.unshare(CLONE_NEWUSER)
    c = user(k, 1000)
    assert errno_of(c.unshare, CLONE_NEWUSER) == "ENOSPC"
    assert errno_of(c.clone, CLONE_NEWUSER | CLONE_NEWIPC) == "ENOSPC"
    # a namespace nested inside one of them is charged to uid 1000 up there too
    assert errno_of(a.unshare, CLONE_NEWUSER) == "ENOSPC"
    assert c.creds.user_ns is None and len(k.ipc_namespaces) == 1
    user(k, 2000).unshare(CLONE_NEWUSER)           # another uid has its own count
    # the count falls when a namespace dies
    b.exit(0)
    k.init.wait(b.pid)
    c.unshare(CLONE_NEWUSER)
    assert k.init_user_ns.ucounts == {1000: 2, 2000: 1}


def test_a_user_namespace_lives_while_something_holds_it(k):
    p = user(k, 1000)
    c = p.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    ns = c.creds.user_ns
    fd = p.open(f"/proc/{c.pid}/ns/user", O_RDONLY)
    ipc_fd = p.open(f"/proc/{c.pid}/ns/ipc", O_RDONLY)
    c.exit(0)
    p.wait(c.pid)
    assert ns in k.user_namespaces          # the handles hold it (the IPC one through its owner)
    p.close(fd)
    assert ns in k.user_namespaces
    p.close(ipc_fd)
    assert ns not in k.user_namespaces and k.init_user_ns.ucounts == {}
    assert len(k.ipc_namespaces) == 1


def test_the_creator_must_be_mapped_in_the_parent(k):
    p = user(k, 1000)
    p.unshare(CLONE_NEWUSER)
    # no map yet: uid 1000 has no mapping in the new namespace
    assert errno_of(p.unshare, CLONE_NEWUSER) == "EPERM"
    assert errno_of(p.clone, CLONE_NEWUSER) == "EPERM"
    assert len(k.user_namespaces) == 2 and k.init_user_ns.ucounts == {1000: 1}
    assert wr(p, "/proc/self/uid_map", "0 1000 1") == 8
    assert errno_of(p.unshare, CLONE_NEWUSER) == "EPERM"     # the gid is not mapped yet
    assert wr(p, "/proc/self/setgroups", "deny") == 4
    assert wr(p, "/proc/self/gid_map", "0 1000 1") == 8
    p.unshare(CLONE_NEWUSER)
    assert p.creds.user_ns.level == 2


# --- the maps ---------------------------------------------------------------------------------
def test_the_unprivileged_map(k):
    p = user(k, 1000)
    p.unshare(CLONE_NEWUSER)
    assert wr(p, "/proc/self/uid_map", "0 1001 1") == "EPERM"     # not its own euid
    assert wr(p, "/proc/self/uid_map", "0 1000 2") == "EPERM"     # more than one id
    assert wr(p, "/proc/self/uid_map", "0 1000 1\n5 5 1") == "EPERM"
    assert p.read_file("/proc/self/uid_map") == ""             # nothing changed
    assert wr(p, "/proc/self/uid_map", "0 1000 1\n") == 9
    assert wr(p, "/proc/self/uid_map", "0 1000 1") == "EPERM"     # written once
    assert p.read_file("/proc/self/uid_map") == "         0       1000          1\n"
    assert p.getresuid() == (0, 0, 0)
    assert wr(p, "/proc/self/gid_map", "0 1000 1") == "EPERM"     # setgroups not denied
    assert wr(p, "/proc/self/setgroups", "deny") == 4
    assert wr(p, "/proc/self/gid_map", "0 1000 1") == 8
    assert p.getresgid() == (0, 0, 0)
    assert wr(p, "/proc/self/setgroups", "allow") == "EPERM"
    assert errno_of(p.setgroups, [0]) == "EPERM"                 # denied for good


def test_root_maps_ranges(k):
    p = k.init.clone(CLONE_NEWUSER)
    # inside, only the unprivileged map: CAP_SETUID is needed over the parent
    assert wr(p, "/proc/self/uid_map", "0 100000 65536") == "EPERM"
    assert wr(k.init, f"/proc/{p.pid}/uid_map", "0 100000 65536\n65536 0 1") == 24
    assert p.read_file("/proc/self/uid_map") == (
        "         0     100000      65536\n     65536          0          1\n")
    assert p.getresuid() == (65536,) * 3
    assert wr(k.init, f"/proc/{p.pid}/gid_map", "0 0 10") == 6
    assert p.read_file("/proc/self/setgroups") == "allow\n"
    assert wr(p, "/proc/self/setgroups", "deny") == "EPERM"      # gid_map already written
    assert wr(p, "/proc/self/setgroups", "allow") == 5
    p.setgroups([1, 2])
    assert p.creds.groups == (1, 2)
    assert errno_of(p.setgroups, [10]) == "EINVAL"                # not mapped
    p.setresuid(5, 5, 5)                                          # ids of the namespace
    assert p.creds.euid == 100005 and p.getresuid() == (5, 5, 5)
    assert errno_of(p.setuid, 70000) == "EINVAL"


@pytest.mark.parametrize("text", [
    "", "\n", "0 0", "0 0 0", "0 0 1 x", "x 0 1", "0 x 1", "0 0 1x", "4294967295 0 1",
    "0 4294967295 1", "1 0 4294967295", "0 0 1\n\n", "0 0 1\n0 5 1", "0 0 1\n5 0 1",
    "0 0 5\n3 10 1", "+1 0 1", "0x1 0 1", "0\t0\t1 z",
])
def test_malformed_maps_are_einval(k, text):
    p = k.init.fork()
    p.unshare(CLONE_NEWUSER)
    assert wr(p, "/proc/self/uid_map", text) == "EINVAL"
    assert p.creds.user_ns.uid_map == ()


def test_map_line_limit_and_size(k):
    p = k.init.clone(CLONE_NEWUSER)
    path = f"/proc/{p.pid}/uid_map"
    lines = "".join(f"{i} {i} 1\n" for i in range(341))
    assert wr(k.init, path, lines) == "EINVAL"
    assert wr(k.init, path, " " * 4096 + "0 0 1") == "EINVAL"
    lines = "".join(f"{i} {i} 1\n" for i in range(340))
    assert wr(k.init, path, lines) == len(lines)
    assert len(p.read_file("/proc/self/uid_map").splitlines()) == 340


def test_map_spacing_is_free(k):
    p = k.init.clone(CLONE_NEWUSER)
    assert wr(k.init, f"/proc/{p.pid}/uid_map", "  0\t 7   3 \t") == 12
    assert p.read_file("/proc/self/uid_map") == "         0          7          3\n"


def test_outside_ids_must_be_mapped_in_the_parent(k):
    p = k.init.clone(CLONE_NEWUSER)
    for name in ("uid_map", "gid_map"):
        assert wr(k.init, f"/proc/{p.pid}/{name}", "0 0 1\n1 1000 10") == 15
    q = p.clone(CLONE_NEWUSER)          # p, uid 0 there, has every capability over q's
    # the parent's ids 1..10 are kernel ids 1000..1009; id 11 is not mapped there
    assert wr(p, f"/proc/{q.pid}/uid_map", "0 5 7") == "EPERM"
    assert wr(p, f"/proc/{q.pid}/uid_map", "0 5 5") == 5
    assert q.read_file("/proc/self/uid_map") == "         0          5          5\n"
    assert k.init.read_file(f"/proc/{q.pid}/uid_map") == "         0       1004          5\n"
    assert p.read_file(f"/proc/{q.pid}/uid_map") == "         0          5          5\n"


def test_who_may_write_a_map(k):
    a = user(k, 1000)
    c = a.clone(CLONE_NEWUSER)
    other = user(k, 1001)
    # another user: the file is a's (EACCES at open)
    assert wr(other, f"/proc/{c.pid}/uid_map", "0 1001 1") == "EACCES"
    # the parent, which owns the namespace, may write the unprivileged map for it
    assert wr(a, f"/proc/{c.pid}/uid_map", "0 1000 1") == 8
    # a process two levels up may not (neither the namespace nor its parent)
    map_self_gid = wr(a, f"/proc/{c.pid}/setgroups", "deny"), \
        wr(a, f"/proc/{c.pid}/gid_map", "0 1000 1")
    assert map_self_gid == (4, 8)
    d = c.clone(CLONE_NEWUSER)
    assert wr(k.init, f"/proc/{d.pid}/uid_map", "0 0 1") == "EPERM"
    # root of the initial namespace maps anything for a child namespace
    e = a.clone(CLONE_NEWUSER)
    assert wr(k.init, f"/proc/{e.pid}/uid_map", "0 0 1000") == 8


def test_setgroups_file(k):
    p = k.init.fork()
    p.unshare(CLONE_NEWUSER)
    for text, result in [("foo", "EINVAL"), ("denyx", "EINVAL"), ("allow ", 6), ("deny\n", 5),
                         ("deny", 4), ("allow", "EPERM"), ("deny   x", "EINVAL"),
                         ("allow\n\n\n", "EINVAL")]:
        assert wr(p, "/proc/self/setgroups", text) == result, text
    assert p.read_file("/proc/self/setgroups") == "deny\n"
    # a child namespace inherits "deny"
    assert wr(p, "/proc/self/uid_map", "0 0 1") == 5
    assert wr(p, "/proc/self/gid_map", "0 0 1") == 5
    p.unshare(CLONE_NEWUSER)
    assert p.read_file("/proc/self/setgroups") == "deny\n"


def test_opening_setgroups_for_writing_needs_cap_sys_admin_in_the_namespace(k):
    a = user(k, 1000)
    c = a.clone(CLONE_NEWUSER)
    assert wr(a, f"/proc/{c.pid}/setgroups", "deny") == 4      # the owner: every capability
    d = user(k, 1000).clone(CLONE_NEWUSER)
    d.drop_capability(CAP_SYS_ADMIN)
    assert wr(d, "/proc/self/setgroups", "deny") == "EACCES"   # at open (proc_setgroups_open)
    assert wr(d, "/proc/self/uid_map", "0 1000 1") == "EPERM"


# --- capabilities relative to a namespace ------------------------------------------------
def test_ns_capable_follows_has_ns_capability(k):
    a = user(k, 1000)
    a.unshare(CLONE_NEWUSER)
    ns1 = a.creds.user_ns
    map_self(a)
    c = a.clone(CLONE_NEWUSER)
    ns2 = c.creds.user_ns
    root = k.init
    # capabilities hold in one's namespace and below it
    assert root.creds.ns_capable(ns2, CAP_SYS_ADMIN) and a.creds.ns_capable(ns2, CAP_SYS_ADMIN)
    assert not c.creds.ns_capable(ns1, CAP_SYS_ADMIN)
    # the owner of a namespace, in its parent, has every capability in it
    b = user(k, 1000)
    assert b.creds.ns_capable(ns1, CAP_SYS_ADMIN)
    assert not user(k, 1001).creds.ns_capable(ns1, CAP_SYS_ADMIN)
    a.drop_capability(CAP_SYS_ADMIN)
    assert not a.creds.ns_capable(ns1, CAP_SYS_ADMIN)
    # (a's euid, kernel uid 1000, owns no namespace below ns1 but ns2, made by a)
    assert a.creds.ns_capable(ns2, CAP_SYS_ADMIN)


def test_setns_into_a_user_namespace(k):
    a = user(k, 1000)
    c = a.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    fd = a.open(f"/proc/{c.pid}/ns/user", O_RDONLY)
    b = a.fork()
    assert errno_of(b.setns, fd, CLONE_NEWIPC) == "EINVAL"
    b.setns(fd, CLONE_NEWUSER)                  # the owner may
    assert b.creds.user_ns is c.creds.user_ns
    assert b.capabilities == ipcsim.constants.CAP_FULL_SET
    fd2 = b.open("/proc/self/ns/user", O_RDONLY)
    assert errno_of(b.setns, fd2, 0) == "EINVAL"     # its own namespace
    ipc_fd = a.open(f"/proc/{c.pid}/ns/ipc", O_RDONLY)
    assert errno_of(a.setns, ipc_fd, CLONE_NEWIPC) == "EPERM"   # no CAP_SYS_ADMIN of its own
    b2 = a.fork()
    b2.setns(fd, CLONE_NEWUSER)
    b2.setns(ipc_fd, CLONE_NEWIPC)      # CAP_SYS_ADMIN in its own and in the owner
    assert b2.ipc_ns is c.ipc_ns


def test_a_user_namespace_root_cannot_join_the_hosts_ipc_namespace(k):
    c = k.init.fork()
    fd = c.open("/proc/1/ns/ipc", O_RDONLY)
    c.unshare(CLONE_NEWUSER | CLONE_NEWIPC)
    assert errno_of(c.setns, fd, CLONE_NEWIPC) == "EPERM"


def test_initial_namespace_root_is_unchanged(k):
    p = k.init.fork()
    c = p.clone(CLONE_NEWIPC)
    assert c.ipc_ns.user_ns is k.init_user_ns
    assert p.has_capability(CAP_SYS_ADMIN)


# --- the real kernel --------------------------------------------------------------------------

_REAL_SCRIPT = r'''
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
steps = json.loads(sys.argv[1])
if libc.unshare(0x10000000) != 0:
    print(json.dumps("unshare:" + errno.errorcode[ctypes.get_errno()]))
    sys.exit(0)
out = []
prev = [int(sys.argv[2]), int(sys.argv[2])]   # the creator's euid and egid

def write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.write(fd, text.encode())
    finally:
        os.close(fd)

for op, *args in steps:
    try:
        if op == "unshare":
            ids = [os.geteuid(), os.getegid()]
            if libc.unshare(args[0]) != 0:
                raise OSError(ctypes.get_errno(), "unshare")
            prev = ids
            out.append(0)
        elif op == "mapself":
            out.append([write("/proc/self/uid_map", "0 %d 1" % prev[0]),
                        write("/proc/self/setgroups", "deny"),
                        write("/proc/self/gid_map", "0 %d 1" % prev[1])])
        elif op == "msgget":
            qid = libc.msgget(0, 0o1000 | args[0])      # IPC_PRIVATE, IPC_CREAT | mode
            if qid < 0:
                raise OSError(ctypes.get_errno(), "msgget")
            out.append(qid)
        elif op == "sysvipc":
            with open("/proc/sysvipc/msg") as f:
                out.append([line.split()[7:11] for line in f.read().splitlines()[1:]])
        elif op == "stat":
            st = os.stat(args[0])
            out.append([st.st_uid, st.st_gid, oct(st.st_mode & 0o777)])
        elif op == "rewrite":
            with open(args[0]) as f:
                text = f.read()
            out.append(write(args[0], text))
        elif op == "w":
            fd = os.open(args[0], os.O_WRONLY)
            try:
                out.append(os.write(fd, args[1].encode()))
            finally:
                os.close(fd)
        elif op == "r":
            with open(args[0]) as f:
                out.append(f.read())
        elif op == "ids":
            out.append([list(os.getresuid()), list(os.getresgid())])
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(json.dumps(out))
'''


def run_real(uid, steps):
    out = run_python_as(uid, _REAL_SCRIPT, [json.dumps(steps), str(uid)])
    if out.returncode != 0:
        pytest.skip(f"the real run failed: {out.stderr.strip()[-200:]}")
    result = json.loads(out.stdout)
    if isinstance(result, str):
        pytest.skip(f"this machine refuses a user namespace to uid {uid}: {result}")
    return result


def run_model(uid, steps):
    with ipcsim.Kernel() as k:
        p = k.init.fork()
        if uid:
            become_user(p, uid)
        p.unshare(CLONE_NEWUSER)
        prev = [uid, uid]
        out = []
        for op, *args in steps:
            if op == "unshare":
                ids = [p.getresuid()[1], p.getresgid()[1]]
                try:
                    p.unshare(args[0])
                    prev = ids
                    out.append(0)
                except OSError as e:
                    out.append(errno.errorcode[e.errno])
            elif op == "mapself":
                done = []
                for path, text in (("/proc/self/uid_map", f"0 {prev[0]} 1"),
                                   ("/proc/self/setgroups", "deny"),
                                   ("/proc/self/gid_map", f"0 {prev[1]} 1")):
                    done.append(wr(p, path, text))
                    if isinstance(done[-1], str):
                        break
                out.append(done[-1] if isinstance(done[-1], str) else done)
            elif op == "w":
                out.append(wr(p, args[0], args[1]))
            elif op == "r":
                try:
                    out.append(p.read_file(args[0]))
                except OSError as e:
                    out.append(errno.errorcode[e.errno])
            elif op == "ids":
                out.append([list(p.getresuid()), list(p.getresgid())])
            elif op == "msgget":
                out.append(p.msgget(ipcsim.IPC_PRIVATE, ipcsim.IPC_CREAT | args[0]))
            elif op == "sysvipc":
                out.append([line.split()[7:11] for line in
                            p.read_file("/proc/sysvipc/msg").splitlines()[1:]])
            elif op == "stat":
                st = p.stat(args[0])
                out.append([st.st_uid, st.st_gid, oct(st.st_mode & 0o777)])
            elif op == "rewrite":
                out.append(wr(p, args[0], p.read_file(args[0])))
        return out


U, G, S = "/proc/self/uid_map", "/proc/self/gid_map", "/proc/self/setgroups"
MSGMNI, MQ_MAX = "/proc/sys/kernel/msgmni", "/proc/sys/fs/mqueue/msg_max"
MAX_IPC = "/proc/sys/user/max_ipc_namespaces"
MAX_USER = "/proc/sys/user/max_user_namespaces"

SCENARIOS = {
    "own uid, then again": [("ids",), ("w", U, "0 {uid} 1"), ("w", U, "0 {uid} 1"),
                            ("r", U), ("ids",)],
    "another uid": [("w", U, "0 {other} 1"), ("r", U)],
    "two ids": [("w", U, "0 {uid} 2"), ("r", U)],
    "gid_map before deny": [("w", G, "0 {uid} 1"), ("r", S), ("w", S, "deny"), ("r", S),
                            ("w", G, "0 {uid} 1"), ("w", S, "allow"), ("w", S, "deny"),
                            ("r", G), ("ids",)],
    "deny, then allow": [("w", S, "deny\n"), ("w", S, "allow"), ("r", S)],
    "setgroups junk": [("w", S, "foo"), ("w", S, "deny x"), ("w", S, "allow  \t"),
                       ("w", S, "denyallow"), ("w", S, "deny\n\n\n\n")],
    "malformed": [("w", U, ""), ("w", U, "0 {uid}"), ("w", U, "0 {uid} 0"),
                  ("w", U, "4294967295 {uid} 1"), ("w", U, "0 {uid} 1 x"),
                  ("w", U, "0 {uid} 1\n\n"), ("w", U, "+0 {uid} 1"), ("w", U, "0x0 {uid} 1"),
                  ("w", U, "0 {uid} 1\n1 {uid} 1"), ("w", U, "0 {uid} 4294967295"),
                  ("r", U)],
    "341 lines": [("w", U, "".join(f"{i} {i} 1\n" for i in range(341)))],
    "340 lines": [("w", U, "".join(f"{i} {i} 1\n" for i in range(340))), ("ids",)],
    "nested, unmapped creator": [("unshare", CLONE_NEWUSER), ("w", U, "0 {uid} 1"),
                                 ("unshare", CLONE_NEWUSER), ("unshare", CLONE_NEWIPC),
                                 ("w", S, "deny"), ("w", G, "0 {uid} 1"),
                                 ("unshare", CLONE_NEWUSER | CLONE_NEWIPC), ("ids",)],
    "nested 40 deep": [step for _ in range(40)
                       for step in (("mapself",), ("unshare", CLONE_NEWUSER))],
    "rootless IPC limits": [("mapself",), ("unshare", CLONE_NEWIPC), ("stat", MSGMNI),
                            ("w", MSGMNI, "64"), ("r", MSGMNI), ("stat", MQ_MAX),
                            ("w", MQ_MAX, "20"), ("r", MQ_MAX)],
    "the host's IPC namespace kept": [("mapself",), ("stat", MSGMNI), ("rewrite", MSGMNI),
                                      ("stat", MQ_MAX), ("rewrite", MQ_MAX),
                                      ("unshare", CLONE_NEWIPC), ("stat", MSGMNI)],
    "the host's IPC namespace kept, unmapped": [("stat", MSGMNI), ("rewrite", MSGMNI),
                                                ("r", MSGMNI)],
    "user sysctls of a new namespace": [
        ("mapself",), ("r", MAX_IPC), ("r", MAX_USER), ("stat", MAX_IPC), ("w", MAX_IPC, "-1"),
        ("w", MAX_IPC, "2147483648"), ("w", MAX_IPC, "abc"), ("w", MAX_IPC, "1"),
        ("r", MAX_IPC), ("unshare", CLONE_NEWIPC), ("unshare", CLONE_NEWIPC),
        ("w", MAX_IPC, "0"), ("unshare", CLONE_NEWIPC), ("unshare", CLONE_NEWUSER),
        ("r", MAX_IPC), ("stat", MAX_IPC), ("unshare", CLONE_NEWIPC)],
    "max_user_namespaces 2 below": [("w", MAX_USER, "2")] + [
        step for _ in range(4) for step in (("mapself",), ("unshare", CLONE_NEWUSER))],
    "ids in /proc/sysvipc": [("mapself",), ("unshare", CLONE_NEWIPC), ("msgget", 0o600),
                             ("sysvipc",), ("unshare", CLONE_NEWUSER), ("sysvipc",),
                             ("mapself",), ("sysvipc",)],
    "a page": [("w", U, " " * 4096 + "0 {uid} 1")],
    "a page once written": [("w", U, "0 {uid} 1"), ("w", U, " " * 4096 + "0 {uid} 1"),
                            ("w", U, "junk")],
    "ranges": [("w", U, "0 {uid} 1\n1 100000 1000"), ("r", U), ("w", G, "0 {uid} 5"),
               ("r", G), ("ids",)],
}


@pytest.mark.parametrize("uid", [0, 1000])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_maps_as_the_real_kernel(uid, name):
    reason = as_user_unavailable(uid)
    if reason:
        pytest.skip(reason)
    steps = [tuple(a.replace("{uid}", str(uid)).replace("{other}", str(uid + 1))
                   if isinstance(a, str) else a for a in step) for step in SCENARIOS[name]]
    steps = [list(s) for s in steps]
    assert run_model(uid, steps) == run_real(uid, steps)


# --- the IPC checks in the owning user namespace ----------------------------------------------
def test_a_user_namespace_keeping_the_hosts_ipc_namespace_has_no_ipc_privilege(k):
    qid = user(k, 2000).msgget(ipcsim.IPC_PRIVATE, 0o600)
    guest = user(k, 1000)
    guest.unshare(CLONE_NEWUSER)
    assert guest.capabilities == ipcsim.constants.CAP_FULL_SET
    assert errno_of(guest.msgsnd, qid, 1, b"x") == "EACCES"      # no CAP_IPC_OWNER there
    assert errno_of(guest.msgctl, qid, ipcsim.IPC_RMID) == "EPERM"   # nor CAP_SYS_ADMIN
    k.init.msgctl(qid, ipcsim.IPC_STAT)                             # root is unchanged


def test_cap_ipc_owner_in_the_owner_namespace_overrides_modes(k):
    box = user(k, 1000).clone(CLONE_NEWUSER | CLONE_NEWIPC)
    host_root = k.init.fork()
    fd = host_root.open(f"/proc/{box.pid}/ns/ipc", O_RDONLY)
    host_root.setns(fd, CLONE_NEWIPC)            # root of the initial namespace may join
    qid = host_root.msgget(ipcsim.IPC_PRIVATE, 0o600)
    # box has CAP_IPC_OWNER and CAP_SYS_ADMIN in the namespace that owns this IPC namespace
    box.msgsnd(qid, 1, b"x")
    box.msgctl(qid, ipcsim.IPC_RMID)
    qid = host_root.msgget(ipcsim.IPC_PRIVATE, 0o600)
    box.drop_capability(ipcsim.constants.CAP_IPC_OWNER)
    assert errno_of(box.msgsnd, qid, 1, b"x") == "EACCES"
    box.drop_capability(CAP_SYS_ADMIN)
    assert errno_of(box.msgctl, qid, ipcsim.IPC_RMID) == "EPERM"
    assert host_root.msgctl(qid, ipcsim.IPC_STAT) is not None


def test_cap_kill_and_ptrace_hold_over_the_targets_namespace(k):
    c = k.init.clone(CLONE_NEWUSER)
    for name in ("uid_map", "gid_map"):
        assert wr(k.init, f"/proc/{c.pid}/{name}", "0 100000 1000") == 13
    c.setresuid(5, 5, 5)                      # (kernel uid 0 has no mapping: not root there)
    assert c.creds.euid == 100005 and c.capabilities == ipcsim.constants.CAP_FULL_SET
    c.exec_mm()               # a program of the namespace: its mm (and its children's) is
    inside = c.fork()         # the namespace's, so CAP_SYS_PTRACE there reaches them
    inside.setresuid(7, 7, 7)
    host = user(k, 3000)
    host_fd_target = f"/proc/{host.pid}/ns/ipc"
    c.kill(inside.pid, 0)                     # CAP_KILL in inside's namespace
    assert errno_of(c.kill, host.pid, 0) == "EPERM"      # none in the initial one
    assert errno_of(c.readlink, host_fd_target) == "EACCES"   # nor CAP_SYS_PTRACE
    assert c.readlink(f"/proc/{inside.pid}/ns/ipc") == "ipc:[4026531839]"
    k.init.kill(inside.pid, 0)


# --- sysctls and counts in user namespaces ----------------------------------------------------
def test_rootless_container_sets_its_own_ipc_limits(k):
    p = user(k, 1000)
    p.unshare(CLONE_NEWUSER | CLONE_NEWIPC)
    map_self(p)
    st = p.stat(MSGMNI)
    assert (st.st_uid, st.st_gid) == (0, 0)
    p.write_file(MSGMNI, "64")
    assert p.read_file(MSGMNI) == "64\n" and k.init.read_file(MSGMNI) == "32000\n"
    # from the host the files belong to uid 1000, and root may not write them: the rule is
    # the euid of the namespace's root, capabilities do not count
    host = k.init.fork()
    host.setns(host.open(f"/proc/{p.pid}/ns/ipc", O_RDONLY), CLONE_NEWIPC)
    st = host.stat(MSGMNI)
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    assert wr(host, MSGMNI, "100") == "EACCES"
    assert p.read_file(MSGMNI) == "64\n"


def test_a_user_namespace_keeping_the_hosts_ipc_namespace_cannot_set_its_limits(k):
    p = user(k, 1000)
    p.unshare(CLONE_NEWUSER)
    map_self(p)
    st = p.stat(MSGMNI)
    assert (st.st_uid, st.st_gid) == (OVERFLOW_ID, OVERFLOW_ID)
    assert wr(p, MSGMNI, "64") == "EACCES"
    assert wr(p, MQ_MAX, "20") == "EACCES"
    assert k.init.read_file(MSGMNI) == "32000\n"


def test_ipc_namespaces_are_counted_in_each_user_namespace_up_the_chain(k):
    a = user(k, 1000)
    a.unshare(CLONE_NEWUSER)
    map_self(a)
    assert a.read_file(MAX_IPC) == "2147483647\n"
    a.write_file(MAX_IPC, "2")
    assert k.init.read_file(MAX_IPC) == "96365\n"
    results = []
    children = [a.fork() for _ in range(4)]
    for c in children:
        try:
            c.unshare(CLONE_NEWIPC)
            results.append("ok")
        except OSError as e:
            results.append(errno.errorcode[e.errno])
    assert results == ["ok", "ok", "ENOSPC", "ENOSPC"]
    for c in children:
        c.exit(0)
        a.wait(c.pid)
    a.unshare(CLONE_NEWIPC)
    a.write_file(MAX_IPC, "0")
    b = a.fork()
    b.unshare(CLONE_NEWUSER)
    assert b.read_file(MAX_IPC) == "2147483647\n"
    assert errno_of(b.unshare, CLONE_NEWIPC) == "ENOSPC"      # a's limit, up the chain
    # the host's limit counts each uid's namespaces in the initial user namespace too
    assert k.init_user_ns.ipc_ucounts == {1000: 1}


def test_the_kernel_argument_is_the_initial_namespaces_limit():
    with ipcsim.Kernel(max_ipc_namespaces=1) as k:
        assert k.init_user_ns.max_ipc_namespaces == 1 == k.max_ipc_namespaces
        k.init.fork().unshare(CLONE_NEWIPC)
        assert errno_of(k.init.fork().unshare, CLONE_NEWIPC) == "ENOSPC"
        # a user namespace's own limit is no way around it
        assert errno_of(user(k, 0).unshare, CLONE_NEWUSER | CLONE_NEWIPC) == "ENOSPC"
        assert len(k.user_namespaces) == 1


# --- ids as the reader's user namespace sees them ---------------------------------------------
def test_ipc_stat_and_sysvipc_show_ids_of_the_readers_namespace(k):
    box = k.init.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    for name in ("uid_map", "gid_map"):
        wr(k.init, f"/proc/{box.pid}/{name}", "0 1000 1\n1 100001 10")
    box.setresgid(1, 1, 1)
    box.setresuid(1, 1, 1)
    qid = box.msgget(ipcsim.IPC_PRIVATE, 0o600)
    root_in_box = k.init.fork()
    ipc_fd = root_in_box.open(f"/proc/{box.pid}/ns/ipc", O_RDONLY)
    root_in_box.setns(root_in_box.open(f"/proc/{box.pid}/ns/user", O_RDONLY), CLONE_NEWUSER)
    root_in_box.setns(ipc_fd, CLONE_NEWIPC)
    root_in_box.setresuid(0, 0, 0)
    perm = root_in_box.msgctl(qid, ipcsim.IPC_STAT).msg_perm
    assert (perm.uid, perm.gid, perm.cuid, perm.cgid) == (1, 1, 1, 1)   # CAP_IPC_OWNER there
    # IPC_SET takes ids of the caller's namespace: one it does not map is EINVAL
    perm.uid = 50
    assert errno_of(root_in_box.msgctl, qid, ipcsim.IPC_SET, ipcsim.MsqidDs(msg_perm=perm)) \
        == "EINVAL"
    perm.uid = 3
    root_in_box.msgctl(qid, ipcsim.IPC_SET, ipcsim.MsqidDs(msg_perm=perm))
    perm = root_in_box.msgctl(qid, ipcsim.IPC_STAT).msg_perm
    assert (perm.uid, perm.gid, perm.cuid, perm.cgid) == (3, 1, 1, 1)
    # the host sees kernel ids
    host = k.init.fork()
    host.setns(host.open(f"/proc/{box.pid}/ns/ipc", O_RDONLY), CLONE_NEWIPC)
    perm = host.msgctl(qid, ipcsim.IPC_STAT).msg_perm
    assert (perm.uid, perm.gid, perm.cuid, perm.cgid) == (100003, 100001, 100001, 100001)
    row = host.read_file("/proc/sysvipc/msg").splitlines()[1].split()
    assert row[7:11] == ["100003", "100001", "100001", "100001"]
    row = box.read_file("/proc/sysvipc/msg").splitlines()[1].split()
    assert row[7:11] == ["3", "1", "1", "1"]
    # a reader whose namespace maps none of them sees 65534 (the creator may still look)
    nested = box.fork()
    nested.unshare(CLONE_NEWUSER)
    row = nested.read_file("/proc/sysvipc/msg").splitlines()[1].split()
    assert row[7:11] == ["65534"] * 4
    perm = nested.msgctl(qid, ipcsim.IPC_STAT).msg_perm
    assert (perm.uid, perm.gid, perm.cuid, perm.cgid) == (OVERFLOW_ID,) * 4


# --- footprints (explore) -----------------------------------------------------------------------
def test_footprints_of_user_namespace_calls_are_conservative(k):
    from ipcsim.kernel import footprint
    p = user(k, 1000)
    # a new user namespace takes a namespace inode number, as a new IPC namespace does
    assert (("ipcns",), footprint.WRITE) in footprint.footprint(p, "clone", (CLONE_NEWUSER,), {})
    c = p.clone(CLONE_NEWUSER)
    fd = p.open(f"/proc/{c.pid}/ns/user", O_RDONLY)
    q = p.fork()
    assert footprint.footprint(q, "setns", (fd, CLONE_NEWUSER), {}) is None
    assert footprint.footprint(q, "unshare", (CLONE_NEWUSER,), {}) is None
    p.close(fd)
    q.close(fd)
    # the exit of a user namespace's last process frees it: a barrier
    assert footprint.exited(c) is None


# --- ioctls of namespace descriptors ------------------------------------------------------------
def ns_of(p, fd):
    return p.fds[fd].ns


def test_ns_ioctls_from_the_initial_namespace(k):
    p = user(k, 1000)
    c = p.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    fds = {name: p.open(path, O_RDONLY) for name, path in (
        ("init user", "/proc/self/ns/user"), ("init ipc", "/proc/self/ns/ipc"),
        ("child user", f"/proc/{c.pid}/ns/user"), ("child ipc", f"/proc/{c.pid}/ns/ipc"))}
    regular = p.open("/proc/sys/kernel/msgmni", O_RDONLY)
    for request in (NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE, NS_GET_OWNER_UID):
        assert errno_of(p.ioctl, regular, request) == "ENOTTY"
    assert errno_of(p.ioctl, fds["init user"], NS_GET_USERNS) == "EPERM"
    assert errno_of(p.ioctl, fds["init user"], NS_GET_PARENT) == "EPERM"
    assert p.ioctl(fds["init user"], NS_GET_NSTYPE) == CLONE_NEWUSER
    assert p.ioctl(fds["init user"], NS_GET_OWNER_UID) == 0
    assert ns_of(p, p.ioctl(fds["init ipc"], NS_GET_USERNS)) is k.init_user_ns
    assert errno_of(p.ioctl, fds["init ipc"], NS_GET_PARENT) == "EINVAL"
    assert p.ioctl(fds["init ipc"], NS_GET_NSTYPE) == CLONE_NEWIPC
    assert errno_of(p.ioctl, fds["init ipc"], NS_GET_OWNER_UID) == "EINVAL"
    assert ns_of(p, p.ioctl(fds["child user"], NS_GET_USERNS)) is k.init_user_ns
    assert ns_of(p, p.ioctl(fds["child user"], NS_GET_PARENT)) is k.init_user_ns
    assert p.ioctl(fds["child user"], NS_GET_OWNER_UID) == 1000
    new = p.ioctl(fds["child ipc"], NS_GET_USERNS)
    assert ns_of(p, new) is c.creds.user_ns
    assert errno_of(p.ioctl, fds["child ipc"], NS_GET_PARENT) == "EINVAL"
    # the new descriptor is a namespace descriptor like the others: setns takes it
    q = p.fork()
    q.setns(new, CLONE_NEWUSER)
    assert q.creds.user_ns is c.creds.user_ns


def test_ns_ioctls_from_inside_a_user_namespace(k):
    s = user(k, 1000)
    sibling = user(k, 1000).clone(CLONE_NEWUSER | CLONE_NEWIPC)
    # (before the unshare: from inside, the sibling's files need CAP_SYS_PTRACE over its
    # user namespace, which s would not have)
    fds = {name: s.open(path, O_RDONLY) for name, path in (
        ("init user", "/proc/self/ns/user"), ("sibling user", f"/proc/{sibling.pid}/ns/user"),
        ("sibling ipc", f"/proc/{sibling.pid}/ns/ipc"))}
    s.unshare(CLONE_NEWUSER)
    map_self(s)
    assert errno_of(s.open, f"/proc/{sibling.pid}/ns/user", O_RDONLY) == "EACCES"
    fds.update({name: s.open(path, O_RDONLY) for name, path in (
        ("own user", "/proc/self/ns/user"), ("init ipc", "/proc/self/ns/ipc"))})
    for name in ("own user", "init user", "sibling user"):
        assert errno_of(s.ioctl, fds[name], NS_GET_USERNS) == "EPERM"
        assert errno_of(s.ioctl, fds[name], NS_GET_PARENT) == "EPERM"
    for name in ("init ipc", "sibling ipc"):
        assert errno_of(s.ioctl, fds[name], NS_GET_USERNS) == "EPERM"
        assert errno_of(s.ioctl, fds[name], NS_GET_PARENT) == "EINVAL"
    assert s.ioctl(fds["own user"], NS_GET_OWNER_UID) == 0
    assert s.ioctl(fds["init user"], NS_GET_OWNER_UID) == OVERFLOW_ID
    assert s.ioctl(fds["sibling user"], NS_GET_OWNER_UID) == 0     # 1000 is 0 in s
    s.unshare(CLONE_NEWIPC)
    own_ipc = s.open("/proc/self/ns/ipc", O_RDONLY)
    assert ns_of(s, s.ioctl(own_ipc, NS_GET_USERNS)) is s.creds.user_ns


# --- file capabilities hold for files the namespace maps ----------------------------------------
def test_dac_override_in_a_user_namespace_needs_the_files_owner_mapped(k):
    box = k.init.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    for name in ("uid_map", "gid_map"):
        wr(k.init, f"/proc/{box.pid}/{name}", "0 1000 1\n1 100001 10")
    box.setresgid(1, 1, 1)
    box.setresuid(1, 1, 1)
    fd = box.mq_open("/q", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600)
    box.close(fd)
    root = box.fork()
    root.setresuid(0, 0, 0)
    root.setresgid(0, 0, 0)
    root.close(root.mq_open("/q", ipcsim.O_RDWR))         # CAP_DAC_OVERRIDE there
    nested = root.fork()
    nested.set_dumpable(True)       # (as an execve would: setresuid made it non-dumpable)
    nested.unshare(CLONE_NEWUSER)
    map_self(nested)                                      # maps only kernel uid 1000
    assert nested.capabilities == ipcsim.constants.CAP_FULL_SET
    assert errno_of(nested.mq_open, "/q", ipcsim.O_RDWR) == "EACCES"
    # and a user namespace's root has no override for the host's files
    host_fd = k.init.mq_open("/hostq", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600)
    k.init.close(host_fd)
    guest = user(k, 1000)
    guest.unshare(CLONE_NEWUSER)
    map_self(guest)
    assert errno_of(guest.mq_open, "/hostq", ipcsim.O_RDWR) == "EACCES"


def test_stat_shows_owners_as_the_callers_namespace_maps_them(k):
    k.init.mount("none", "/dev/mqueue", "mqueue")
    k.init.close(k.init.mq_open("/hostq", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o644))
    guest = user(k, 1000)
    guest.close(guest.mq_open("/mine", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o644))
    guest.unshare(CLONE_NEWUSER)
    assert (guest.stat("/dev/mqueue/mine").st_uid, guest.stat("/dev/mqueue/mine").st_gid) \
        == (OVERFLOW_ID, OVERFLOW_ID)                     # no map yet
    map_self(guest)
    st = guest.stat("/dev/mqueue/mine")
    assert (st.st_uid, st.st_gid) == (0, 0)
    st = guest.stat("/dev/mqueue/hostq")
    assert (st.st_uid, st.st_gid) == (OVERFLOW_ID, OVERFLOW_ID)
    st = k.init.stat("/dev/mqueue/mine")
    assert (st.st_uid, st.st_gid) == (1000, 1000)


def test_setns_rules_measured_on_linux(k):
    # the rows of setns(2) measured on Linux 6.18 (uid 1000 and root, see the issue)
    init_user = k.init.open("/proc/self/ns/user", O_RDONLY)
    a = user(k, 1000)
    a_init_user = a.open("/proc/self/ns/user", O_RDONLY)
    a_init_ipc = a.open("/proc/self/ns/ipc", O_RDONLY)
    sibling = user(k, 1000).clone(CLONE_NEWUSER | CLONE_NEWIPC)
    sib_user = a.open(f"/proc/{sibling.pid}/ns/user", O_RDONLY)
    sib_ipc = a.open(f"/proc/{sibling.pid}/ns/ipc", O_RDONLY)
    assert errno_of(a.setns, a_init_user, CLONE_NEWUSER) == "EINVAL"   # its own
    assert errno_of(a.setns, a_init_ipc, CLONE_NEWIPC) == "EPERM"      # no no-op
    assert errno_of(a.setns, sib_ipc, CLONE_NEWUSER) == "EINVAL"       # wrong kind
    a.unshare(CLONE_NEWUSER | CLONE_NEWIPC)
    map_self(a)
    own_ipc = a.open("/proc/self/ns/ipc", O_RDONLY)
    a.setns(own_ipc, CLONE_NEWIPC)
    assert errno_of(a.setns, a_init_ipc, CLONE_NEWIPC) == "EPERM"
    assert errno_of(a.setns, sib_ipc, CLONE_NEWIPC) == "EPERM"
    assert errno_of(a.setns, sib_user, CLONE_NEWUSER) == "EPERM"
    assert errno_of(a.setns, a_init_user, CLONE_NEWUSER) == "EPERM"
    c = a.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    c_user = a.open(f"/proc/{c.pid}/ns/user", O_RDONLY)
    c_ipc = a.open(f"/proc/{c.pid}/ns/ipc", O_RDONLY)
    a_user = a.open("/proc/self/ns/user", O_RDONLY)
    b = a.fork()
    b.setns(c_ipc, CLONE_NEWIPC)
    b.setns(c_user, CLONE_NEWUSER)
    assert errno_of(b.setns, a_user, CLONE_NEWUSER) == "EPERM"          # the parent
    assert errno_of(b.setns, own_ipc, CLONE_NEWIPC) == "EPERM"
    # root joins a namespace that does not map uid 0: its ids show as 65534
    root = k.init.fork()
    root.setns(root.open(f"/proc/{sibling.pid}/ns/user", O_RDONLY), CLONE_NEWUSER)
    assert root.getresuid() == (OVERFLOW_ID,) * 3
    assert errno_of(root.setns, init_user, CLONE_NEWUSER) == "EPERM"    # no way back


def test_credentials_filled_in_field_by_field_are_of_the_initial_namespace():
    # (as a kernel server fills in what a client read of itself)
    from ipcsim.kernel.creds import Creds
    c = Creds.__new__(Creds)
    c.cap_effective = 1 << CAP_SYS_ADMIN
    assert c.user_ns is None and c.capable(CAP_SYS_ADMIN)
    with ipcsim.Kernel() as k:
        assert c.ns_capable(k.init_user_ns, CAP_SYS_ADMIN)


def test_a_zombie_keeps_its_user_namespace_until_reaped(k):
    """As Linux (probed on 6.18): a zombie's /proc/PID/ns/user and uid_map still work (its
    credentials stay until release_task), its ns/ipc and ns/mnt are gone (ENOENT)."""
    p = user(k, 1000)
    p.unshare(CLONE_NEWUSER)
    p.write_file("/proc/self/uid_map", "0 1000 1")
    ns = p.creds.user_ns
    p.exit(0)
    assert p.zombie and ns.alive
    assert k.init.readlink(f"/proc/{p.pid}/ns/user") == f"user:[{ns.inum}]"
    assert k.init.read_file(f"/proc/{p.pid}/uid_map") == "         0       1000          1\n"
    assert errno_of(k.init.readlink, f"/proc/{p.pid}/ns/ipc") == "ENOENT"
    assert errno_of(k.init.readlink, f"/proc/{p.pid}/ns/mnt") == "ENOENT"
    assert errno_of(k.init.readlink, f"/proc/{p.pid}/ns/net") == "ENOENT"
    k.init.wait(p.pid)
    assert not ns.alive and ns not in k.user_namespaces


# --- si_uid of a signal, mapped between user namespaces ------------------------------------------
# kill(2): prepare_kill_siginfo() takes the sender's uid as its own user namespace sees it;
# send_signal_locked() maps that, through the sender's namespace, into the target's. An mq
# notification (__do_notify) starts from the registering process's namespace at mq_notify
# time instead, then the same second step: so a uid may become 65534 on the way.
_SIGNAL_SCRIPT = r'''
import ctypes, json, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.mq_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint]
uid = int(sys.argv[1])
NEWUSER, SIG = 0x10000000, signal.SIGUSR1


class SigEvent(ctypes.Structure):
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int),
                ("notify", ctypes.c_int), ("pad", ctypes.c_char * 48)]


def write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def userns(uid_map=None):
    """unshare(CLONE_NEWUSER); the maps of the caller's euid and egid to 0 unless told."""
    ids = os.geteuid(), os.getegid()
    if libc.unshare(NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    if uid_map == "none":
        return
    write("/proc/self/uid_map", uid_map or "0 %d 1" % ids[0])
    if uid_map is None:
        write("/proc/self/setgroups", "deny")
        write("/proc/self/gid_map", "0 %d 1" % ids[1])


def receiver(setup=lambda: None):
    """A child that runs setup, then waits for SIG; returns (pid, ready(), si_uid())."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, [SIG])
        setup()
        os.write(w, b"r")
        info = signal.sigwaitinfo([SIG])
        os.write(w, ("%-20d" % info.si_uid).encode())
        os._exit(0)
    return pid, lambda: os.read(r, 1), lambda: (int(os.read(r, 20)), os.waitpid(pid, 0))[0]


def in_child(fn):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, json.dumps(fn()).encode())
        os._exit(0)
    value = json.loads(os.read(r, 4096))
    os.waitpid(pid, 0)
    return value


out = {}
pid, ready, si_uid = receiver(userns)
ready(); os.kill(pid, SIG); out["host kills inside"] = si_uid()


def neighbour():
    userns()
    pid, ready, si_uid = receiver()
    ready(); os.kill(pid, SIG)
    return si_uid()


out["inside kills a neighbour"] = in_child(neighbour)
signal.pthread_sigmask(signal.SIG_BLOCK, [SIG])
for name, maps in (("inside kills the host", None), ("unmapped kills the host", "none")):
    pid = os.fork()
    if pid == 0:
        userns(maps)
        os.kill(os.getppid(), SIG)
        os._exit(0)
    os.waitpid(pid, 0)
    out[name] = signal.sigwaitinfo([SIG]).si_uid
if uid == 0:
    def drop():
        os.setresgid(1000, 1000, 1000)
        os.setresuid(1000, 1000, 1000)
        libc.prctl(4, 1, 0, 0, 0)                   # PR_SET_DUMPABLE, as an execve would
        userns()
    pid, ready, si_uid = receiver(drop)
    ready(); os.kill(pid, SIG); out["root kills a user's namespace"] = si_uid()

name = b"/ipcsim-siuid-%d" % os.getpid()
mq = libc.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, None)
assert mq >= 0
libc.mq_unlink(name)
ev = SigEvent(None, SIG, 0)                         # SIGEV_SIGNAL
buf = ctypes.create_string_buffer(8192)


def mq_case(setup):
    pid, ready, si_uid = receiver(setup)
    ready()
    assert libc.mq_send(mq, b"x", 1, 0) == 0
    value = si_uid()
    libc.mq_receive(mq, buf, 8192, None)
    return value


def notify():
    assert libc.mq_notify(mq, ctypes.byref(ev)) == 0


out["mq: registered inside"] = mq_case(lambda: (userns(), notify()))
out["mq: registered, then inside"] = mq_case(lambda: (notify(), userns()))
out["mq: registered inside, then deeper"] = mq_case(lambda: (userns(), notify(),
                                                             userns("5 0 1")))
os.close(mq)
print(json.dumps(out))
'''


def m_si_uid(uid):
    """The same cases through ipcsim."""
    from ipcsim.kernel.mqueue import SigEvent
    from ipcsim.kernel.signals import SIGUSR1 as SIG

    with ipcsim.Kernel() as k:
        runner = k.init.fork()
        if uid:                                  # (as setpriv --clear-groups and an execve)
            runner.setgroups([])
            runner.setresgid(uid, uid, uid)
            runner.setresuid(uid, uid, uid)
            runner.set_dumpable(True)

        def receiver(parent, setup=lambda p: None):
            got = []
            t = parent.fork()
            setup(t)
            t.signal(SIG, lambda sig: got.append(t.last_siginfo.si_uid))
            return t, got

        def userns(p, uid_map=None):
            p.unshare(CLONE_NEWUSER)
            if uid_map is None:
                map_self(p)
            elif uid_map != "none":
                assert wr(p, "/proc/self/uid_map", uid_map) == len(uid_map)

        out = {}
        t, got = receiver(runner, userns)
        runner.kill(t.pid, SIG)
        out["host kills inside"] = got[0]
        a = runner.fork()
        userns(a)
        t, got = receiver(a)
        a.kill(t.pid, SIG)
        out["inside kills a neighbour"] = got[0]
        for name, maps in (("inside kills the host", None), ("unmapped kills the host", "none")):
            got = []
            runner.signal(SIG, lambda sig: got.append(runner.last_siginfo.si_uid))
            a = runner.fork()
            userns(a, maps)
            a.kill(runner.pid, SIG)
            out[name] = got[0]
        if uid == 0:
            def drop(p):
                p.setresgid(1000, 1000, 1000)
                p.setresuid(1000, 1000, 1000)
                p.set_dumpable(True)
                userns(p)
            t, got = receiver(runner, drop)
            runner.kill(t.pid, SIG)
            out["root kills a user's namespace"] = got[0]

        mq = runner.mq_open("/siuid", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600)
        runner.mq_unlink("/siuid")

        def mq_case(*steps):
            def setup(p):
                for step in steps:
                    if step == "notify":
                        p.mq_notify(mq, SigEvent(ipcsim.SIGEV_SIGNAL, SIG))
                    else:
                        userns(p, step)
            t, got = receiver(runner, setup)
            runner.mq_send(mq, b"x")
            runner.mq_receive(mq, 8192)
            return got[0]

        out["mq: registered inside"] = mq_case(None, "notify")
        out["mq: registered, then inside"] = mq_case("notify", None)
        out["mq: registered inside, then deeper"] = mq_case(None, "notify", "5 0 1")
        return out


SI_UID = {   # what Linux 6.18 gave
    0: {"host kills inside": 0, "inside kills a neighbour": 0, "inside kills the host": 0,
        "unmapped kills the host": OVERFLOW_ID, "root kills a user's namespace": OVERFLOW_ID,
        "mq: registered inside": 0, "mq: registered, then inside": 0,
        "mq: registered inside, then deeper": 5},
    1000: {"host kills inside": 0, "inside kills a neighbour": 0, "inside kills the host": 1000,
           "unmapped kills the host": OVERFLOW_ID, "mq: registered inside": OVERFLOW_ID,
           "mq: registered, then inside": 0,
           "mq: registered inside, then deeper": OVERFLOW_ID},
}


@pytest.mark.parametrize("uid", [0, 1000])
def test_si_uid_is_mapped_into_the_targets_user_namespace(uid):
    assert m_si_uid(uid) == SI_UID[uid]
    reason = as_user_unavailable(uid)
    if reason:
        pytest.skip(reason)
    out = run_python_as(uid, _SIGNAL_SCRIPT, [str(uid)])
    if out.returncode != 0:
        if "unshare" in out.stderr:
            pytest.skip(f"this machine refuses a user namespace to uid {uid}")
        raise AssertionError(f"the real run failed: {out.stderr.strip()[-400:]}")
    assert json.loads(out.stdout) == SI_UID[uid]


# --- the dumpable check of /proc/PID/ns: CAP_SYS_PTRACE over the mm's user namespace ------------
# __ptrace_may_access(): a target that is not dumpable needs CAP_SYS_PTRACE in mm->user_ns,
# which fork copies and execve sets to the caller's user namespace, unshare and setns leave.
_PTRACE_SCRIPT = r'''
import ctypes, errno, json, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
# this program's own text (python3 -c TEXT ...), for the target's execve
with open("/proc/self/cmdline", "rb") as f:
    SELF = f.read().split(b"\0")[2].decode()


def target(w, steps):
    """Runs in the child: each step, then tells the parent the pid to read and waits."""
    for step in steps:
        if step == "unshare":
            if libc.unshare(0x10000000) != 0:
                raise OSError(ctypes.get_errno(), "unshare")
        elif step == "execve":
            rest = json.dumps(steps[steps.index(step) + 1:])
            os.set_inheritable(w, True)
            os.execv(sys.executable, [sys.executable, "-c", SELF, "child", str(w), rest])
        elif step == "fork":
            if os.fork():
                signal.pause()
    libc.prctl(4, 0, 0, 0, 0)
    os.write(w, ("%-20d" % os.getpid()).encode())
    signal.pause()


def case(steps):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        target(w, steps)
    os.close(w)
    t = int(os.read(r, 20))
    out = []
    for name in ("ipc", "user", "mnt", "pid"):
        try:
            os.readlink("/proc/%d/ns/%s" % (t, name))
            out.append("ok")
        except OSError as e:
            out.append(errno.errorcode[e.errno])
    for p in {t, pid}:
        os.kill(p, signal.SIGKILL)
    os.waitpid(pid, 0)
    return out


if sys.argv[1] == "child":
    target(int(sys.argv[2]), json.loads(sys.argv[3]))
cases = json.loads(sys.argv[1])
print(json.dumps({name: case(steps) for name, steps in cases}))
'''

PTRACE_CASES = [["plain", []], ["unshare", ["unshare"]], ["unshare, execve", ["unshare", "execve"]],
                ["unshare, execve, fork", ["unshare", "execve", "fork"]],
                ["unshare, fork", ["unshare", "fork"]], ["execve, unshare", ["execve", "unshare"]]]


def m_ptrace(uid):
    out = {}
    for name, steps in PTRACE_CASES:
        with ipcsim.Kernel() as k:
            runner = user(k, uid)
            t = runner.fork()
            for step in steps:
                if step == "unshare":
                    t.unshare(CLONE_NEWUSER)
                elif step == "execve":
                    t.exec_mm()
                else:
                    t = t.fork()
            t.set_dumpable(False)
            out[name] = []
            for kind in ("ipc", "user", "mnt", "pid"):
                try:
                    runner.readlink(f"/proc/{t.pid}/ns/{kind}")
                    out[name].append("ok")
                except OSError as e:
                    out[name].append(errno.errorcode[e.errno])
    return out


@pytest.mark.parametrize("uid", [0, 1000])
def test_a_non_dumpable_process_needs_cap_sys_ptrace_over_its_mms_user_namespace(uid):
    """As uid 1000, the owner of the target's user namespace reads its namespace files only
    when the target's mm belongs to that namespace (made by an execve inside it, or copied
    by fork from such a process); root always can."""
    denied, ok = ["EACCES"] * 4, ["ok"] * 4
    expected = {name: ok if uid == 0 or name in ("unshare, execve", "unshare, execve, fork")
                else denied for name, _ in PTRACE_CASES}
    assert m_ptrace(uid) == expected
    reason = as_user_unavailable(uid)
    if reason:
        pytest.skip(reason)
    out = run_python_as(uid, _PTRACE_SCRIPT, [json.dumps(PTRACE_CASES)])
    if out.returncode != 0:
        if "unshare" in out.stderr:
            pytest.skip(f"this machine refuses a user namespace to uid {uid}")
        raise AssertionError(f"the real run failed: {out.stderr.strip()[-400:]}")
    assert json.loads(out.stdout) == expected


def test_the_mm_holds_its_user_namespace_until_the_process_exits(k):
    """mm->user_ns is a reference: the namespace an execve gave the mm lives while the
    process (and a child that copied the mm) does, wherever their credentials go."""
    p = user(k, 1000)
    p.unshare(CLONE_NEWUSER)
    map_self(p)
    ns = p.creds.user_ns
    p.exec_mm()
    assert p.mm_user_ns is ns and p.dumpable
    child = p.fork()
    assert child.mm_user_ns is ns
    p.unshare(CLONE_NEWUSER)                 # the credentials move; the mm does not
    child.unshare(CLONE_NEWUSER)
    assert p.mm_user_ns is child.mm_user_ns is ns
    refs = ns.refs
    child.exit(0)
    p.wait(child.pid)
    assert ns.refs < refs and ns.alive
    p.exit(0)
    k.init.wait(p.pid)
    assert not ns.alive and ns not in k.user_namespaces


def test_a_notification_holds_its_owners_user_namespace_until_sent_or_removed(k):
    """notify_user_ns is a reference, let go when the notification is sent or removed."""
    from ipcsim.kernel.mqueue import SigEvent
    p = user(k, 1000)
    mq = p.mq_open("/held", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600)
    t = p.fork()
    t.unshare(CLONE_NEWUSER)
    map_self(t)
    ns = t.creds.user_ns
    before = ns.refs
    t.mq_notify(mq, SigEvent(ipcsim.SIGEV_NONE))
    assert ns.refs == before + 1
    p.mq_send(mq, b"x")                      # sent: the registration goes
    assert ns.refs == before
    t.mq_notify(mq, SigEvent(ipcsim.SIGEV_NONE))
    t.exit(0)                                # its descriptor's close removes it
    p.wait(t.pid)
    assert not ns.alive


def test_proc_pid_files_of_a_non_dumpable_or_ended_process_belong_to_some_root(k):
    """task_dump_owner(), probed on Linux 6.18 as uid 1000: a non-dumpable process's
    /proc/PID/ns is owned by root of the user namespace its memory was made in (1000:0 after
    unshare -U, a map of 0 to 1000 and an execve; 0:0 without the execve), a zombie's by
    global root; /proc/PID itself keeps the effective ids."""
    a = user(k, 1000)
    a.unshare(CLONE_NEWUSER)
    a.write_file("/proc/self/uid_map", "0 1000 1")
    execed = a.fork()
    execed.exec_mm()
    execed.set_dumpable(False)
    plain = a.fork()
    plain.set_dumpable(False)
    ended = a.fork()
    ended.exit(0)
    owner = {name: (k.init.stat(f"/proc/{p.pid}/ns").st_uid, k.init.stat(f"/proc/{p.pid}/ns").st_gid)
             for name, p in (("execed", execed), ("plain", plain), ("ended", ended))}
    assert owner == {"execed": (1000, 0), "plain": (0, 0), "ended": (0, 0)}
    assert k.init.stat(f"/proc/{ended.pid}/uid_map").st_uid == 0
    assert k.init.stat(f"/proc/{ended.pid}").st_uid == 1000


def test_creating_through_an_mqueue_mount_checks_the_ids_mapping_before_the_mode(k):
    """may_o_create() and may_create(): EOVERFLOW for a creator whose ids the file
    system's user namespace does not map comes before the directory's permission (probed on
    Linux 6.18: the mqueue root of a rootless container's IPC namespace, chmod 0711 by host
    root, gives uid 2000 EOVERFLOW for open(O_CREAT) and for mkdir)."""
    box = k.init.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    for name, text in (("uid_map", "0 1000 1"), ("setgroups", "deny"), ("gid_map", "0 1000 1")):
        wr(k.init, f"/proc/{box.pid}/{name}", text)
    host = k.init.fork()
    host.setns(host.open(f"/proc/{box.pid}/ns/ipc", O_RDONLY), CLONE_NEWIPC)
    host.unshare(ipcsim.CLONE_NEWNS)
    host.mkdir("/tmp/mq")
    host.mount("mqueue", "/tmp/mq", "mqueue")
    host.chmod("/tmp/mq", 0o711)
    u = host.fork()
    u.setresgid(2000, 2000, 2000)
    u.setresuid(2000, 2000, 2000)
    assert errno_of(u.open, "/tmp/mq/x", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600) == "EOVERFLOW"
    assert errno_of(u.mkdir, "/tmp/mq/d") == "EOVERFLOW"
    assert errno_of(u.mq_open, "/y", ipcsim.O_CREAT | ipcsim.O_RDWR) == "EOVERFLOW"
    host.chmod("/tmp/mq", 0o700)
    assert errno_of(u.open, "/tmp/mq/x", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600) == "EACCES"
