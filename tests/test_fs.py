"""The root file system, path lookup and the permissions of paths, as Linux has them.

The same steps run on ipcsim and, where it can, on the real kernel (in a fresh IPC and mount
namespace, over a private tmpfs on /run), as root or as uid 1000; each outcome is compared.
"""
import errno
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipcsim
from ipcsim import (CLONE_NEWIPC, MS_BIND, O_APPEND, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC,
                    O_WRONLY)
from ipcsim.kernel import vfs

LONG = "/run" + "/." * 2045 + "/"           # 4095 bytes: PATH_MAX with its NUL
TOO_LONG = "/run" + "/." * 2045 + "/x"      # 4096 bytes

STEPS = [
    ("root", "mkdir", "/run/d", 0o755),
    ("root", "mkdir", "/run/d", 0o755),
    ("root", "mount_mqueue", "/run/mq"),
    ("root", "mkdir", "/run/mq", 0o755),
    ("root", "mount_mqueue", "/run/mq"),
    ("root", "creat", "/run/mq/q0", 0o666),
    ("root", "chmod", "/run/mq", 0o600),
    ("user", "read", "/run/mq/q0"),
    ("user", "listdir", "/run/mq"),
    ("user", "creat", "/run/mq/q1", 0o666),
    ("user", "stat", "/run/mq"),
    ("root", "mkdir", "/run/mq2", 0o755),
    ("root", "mount_mqueue", "/run/mq2"),
    ("root", "stat", "/run/mq2"),
    ("root", "umount", "/run/mq2"),
    ("root", "stat", "/run/mq2"),
    ("root", "listdir", "/run/mq/.."),
    ("root", "listdir", "/proc/sys/kernel/msgmni/.."),
    ("root", "listdir", "/proc/self/ns/ipc/.."),
    ("root", "stat", "/run/" + "a" * 255),
    ("root", "stat", "/run/" + "a" * 256),
    ("root", "stat", "/proc/" + "a" * 256),
    ("root", "stat", LONG),
    ("root", "stat", TOO_LONG),
    ("root", "unlink", "/proc/sys/kernel"),
    ("root", "unlink", "/proc/sys/fs/mqueue"),
    ("root", "unlink", "/proc/self/ns"),
    ("root", "unlink", "/proc/sysvipc"),
    ("root", "rmdir", "/run/mq"),
    ("root", "unlink", "/run/mq"),
    ("root", "umount", "/run/mq"),
    ("root", "listdir", "/run/mq"),
    ("root", "mkdir", "/run/d/hidden", 0o700),
    ("root", "mount_mqueue", "/run/d"),
    ("root", "listdir", "/run/d"),
    ("root", "stat", "/run/d/hidden"),
    ("root", "umount", "/run/d"),
    ("root", "listdir", "/run/d"),
    ("root", "rmdir", "/run/d"),
    ("root", "rmdir", "/run/d/hidden"),
    ("root", "bind_ns", "/run/nsf"),
    ("root", "creat", "/run/nsf", 0o644),
    ("root", "bind_ns", "/run/d"),
    ("root", "bind_ns", "/run/nsf"),
    ("root", "stat", "/run/nsf"),
    ("root", "unlink", "/run/nsf"),
    ("root", "umount", "/run/nsf"),
    ("root", "unlink", "/run/nsf"),
    ("user", "mkdir", "/run/d/u", 0o777),
    ("root", "chown", "/run/d", 1000, 1000),
    ("user", "mkdir", "/run/d/u", 0o777),
    ("root", "stat", "/run/d/u"),
    ("user", "chown", "/run/d/u", 0, -1),
    ("user", "chown", "/run/d/u", -1, 1000),
    ("user", "chmod", "/run/d", 0o1777),
    ("root", "mkdir", "/run/d/r", 0o755),
    ("user", "rmdir", "/run/d/r"),              # sticky, but the directory is the user's
    ("user", "rmdir", "/run/d/u"),
    ("root", "creat", "/run/d/f", 0o4755),
    ("root", "chown", "/run/d/f", 1000, -1),
    ("root", "stat", "/run/d/f"),
    ("root", "rmdir", "/run/d/f"),
    ("root", "rmdir", "/run/d/."),
    ("root", "rmdir", "/run/d/.."),
    ("root", "creator_gid", "/run/mq3"),
    # paths the walk shortens (runs of "/", "." and "X/.."): the same checks, in order
    ("root", "mkdir", "/run/p", 0o700),
    ("user", "stat", "/run/p/"),
    ("user", "stat", "/run/p/."),               # a last "." searches p: a trailing / does not
    ("user", "stat", "/run/p/./"),
    ("user", "stat", "/run/p/../run"),
    ("user", "stat", "/run/./p//"),
    ("root", "creat", "/run/p/f", 0o644),
    ("root", "stat", "/run/p/f/."),
    ("root", "stat", "/run/p/f/../f"),
    ("root", "stat", "/run/p/x/../x/../f"),
    ("root", "mkdir", "/run/p/x/../x/../y", 0o755),
    ("root", "rmdir", "/run/p/./."),
    ("root", "stat", "/run/p/f/../f/.."),
    ("user", "stat", "/run/d/../p/../d/../p/../d"),
    ("root", "mkdir", "/run/p/m", 0o755),
    ("root", "mount_mqueue", "/run/p/m"),       # the namespace's superblock: mode 0600 (above)
    ("root", "chmod", "/run/p", 0o711),
    ("user", "stat", "/run/p/m/../m/../m/."),
    ("root", "chmod", "/run/p/m", 0o1777),
    ("user", "stat", "/run/p/m/../m/../m/."),
    ("user", "stat", "/run/p/m/../f/../m/../f"),
    ("root", "chmod", "/run/p/m", 0o700),
    ("user", "stat", "/run/p/m/../f"),
    ("user", "stat", "/run/p/m"),
    ("user", "stat", "/run/p/m/"),
    ("user", "stat", "/run/p/m/./"),
    ("root", "stat", "/run/p/m/../m/../m/../f"),
    ("root", "stat", "/run/p/f//"),
    ("root", "stat", "//run//p//..//p//..//p"),
    ("root", "unlink", "/run/p/f/../f"),
    ("root", "rmdir", "/run/p/m/../m/.."),
    # /proc/PID is immutable: EPERM before its mode, for a user too; /proc/PID/ns is not
    ("user", "unlink", "/proc/self/ns"),
    ("user", "rmdir", "/proc/self/ns"),
    ("user", "unlink", "/proc/1/ns"),
    ("user", "rmdir", "/proc/1/ns"),
    ("root", "rmdir", "/proc/1/ns"),
    ("user", "unlink", "/proc/self/ns/ipc"),
    ("root", "unlink", "/proc/self/ns/ipc"),
    ("user", "unlink", "/proc/1"),
    ("root", "unlink", "/proc/1"),
    ("user", "unlink", "/proc/sysvipc/msg"),
    # /proc directories (the link count of /proc itself counts every process of the machine)
    ("root", "stat", "/proc"),
    ("root", "stat", "/proc/self/.."),
    ("root", "stat_all", "/proc/self"),
    ("root", "stat_all", "/proc/sys"),
    ("root", "stat_all", "/proc/sys/fs/mqueue"),
    ("root", "stat_all", "/proc/sysvipc"),
    ("root", "stat_all", "/proc/sysvipc/msg"),
    ("root", "stat_all", "/proc/1"),
    ("root", "stat_all", "/proc/self/ns"),
    ("root", "stat_all", "/proc/self/ns/.."),
    ("user", "stat", "/proc/sys/.."),
    ("user", "stat_all", "/proc/self"),         # the effective ids, though not dumpable
    ("user", "stat_all", "/proc/self/ns"),      # root's: it is not dumpable
    ("user", "stat_all", "/proc/1"),
    ("user", "stat_all", "/proc/sysvipc"),
]

PROBE = r"""
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)

def check(r):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def stat(path):
    st = os.stat(path)
    return [st.st_mode, st.st_uid, st.st_gid]

def op(call, *args):
    if call == "mkdir":
        os.mkdir(*args)
    elif call == "rmdir":
        os.rmdir(*args)
    elif call == "unlink":
        os.unlink(*args)
    elif call == "chmod":
        os.chmod(*args)
    elif call == "chown":
        os.chown(*args)
    elif call == "stat":
        return stat(args[0])
    elif call == "stat_all":
        st = os.stat(args[0])
        return [st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size]
    elif call == "listdir":
        return os.listdir(args[0])
    elif call == "read":
        with open(args[0]) as f:
            f.read()
    elif call == "creat":
        os.close(os.open(args[0], os.O_CREAT | os.O_RDWR, args[1]))
    elif call == "mount_mqueue":
        check(libc.mount(b"none", args[0].encode(), b"mqueue", 0, None))
    elif call == "umount":
        check(libc.umount2(args[0].encode(), 0))
    elif call == "bind_ns":
        check(libc.mount(b"/proc/self/ns/ipc", args[0].encode(), None, 4096, None))
    elif call == "creator_gid":
        os.setgid(1001)
        check(libc.unshare(0x08000000))
        os.mkdir(args[0])
        check(libc.mount(b"none", args[0].encode(), b"mqueue", 0, None))
        return stat(args[0])[1:]

def outcome(call, args):
    try:
        r = op(call, *args)
        return "ok" if r is None else r
    except OSError as e:
        return errno.errorcode[e.errno]

def in_child(call, args, user):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        if user:
            os.setgroups([])
            os.setgid(1000)
            os.setuid(1000)
        os.write(w, json.dumps(outcome(call, args)).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data)

os.umask(0o022)
out = []
for who, call, *args in json.loads(sys.argv[1]):
    if who == "user" or call == "creator_gid":
        out.append(in_child(call, args, who == "user"))
    else:
        out.append(outcome(call, args))
print(json.dumps(out))
"""


def sim_outcomes(steps=STEPS):
    k = ipcsim.Kernel()
    root = k.init.clone(CLONE_NEWIPC)
    user = root.fork()
    user.setgroups([])
    user.setgid(1000)
    user.setuid(1000)

    def op(p, call, *args):
        if call == "stat":
            st = p.stat(args[0])
            return [st.st_mode, st.st_uid, st.st_gid]
        if call == "stat_all":
            st = p.stat(args[0])
            return [st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size]
        if call == "read":
            p.read_file(args[0])
        elif call == "creat":
            p.close(p.open(args[0], O_CREAT | O_RDWR, args[1]))
        elif call == "mount_mqueue":
            p.mount("none", args[0], "mqueue")
        elif call == "bind_ns":
            p.mount("/proc/self/ns/ipc", args[0], None, MS_BIND)
        elif call == "creator_gid":
            c = p.fork()
            c.setgid(1001)
            c.unshare(CLONE_NEWIPC)
            c.mkdir(args[0])
            c.mount("none", args[0], "mqueue")
            st = c.stat(args[0])
            return [st.st_uid, st.st_gid]
        else:
            return getattr(p, call)(*args)

    out = []
    for who, call, *args in steps:
        try:
            r = op(user if who == "user" else root, call, *args)
            out.append("ok" if r is None else r)
        except OSError as e:
            out.append(errno.errorcode[e.errno])
    k.close()
    return out


EXPECTED = [
    "ok", "EEXIST", "ENOENT", "ok", "ok", "ok", "ok",
    "EACCES", "EACCES", "EACCES", [0o40600, 0, 0],
    "ok", "ok", [0o40600, 0, 0], "ok", [0o40755, 0, 0],
    ["mq2", "mq", "d"], "ENOTDIR", "ENOTDIR",
    "ENOENT", "ENAMETOOLONG", "ENOENT", [0o40755, 0, 0], "ENAMETOOLONG",
    "EACCES", "EACCES", "EPERM", "EISDIR",
    "EBUSY", "EISDIR", "ok", [],
    "ok", "ok", ["q0"], "ENOENT", "ok", ["hidden"], "ENOTEMPTY", "ok",
    "ENOENT", "ok", "ENOTDIR", "ok", [0o100444, 0, 0], "EBUSY", "ok", "ok",
    "EACCES", "ok", "ok", [0o40755, 1000, 1000], "EPERM", "ok", "ok",
    "ok", "ok", "ok",
    "ok", "ok", [0o100755, 1000, 0], "ENOTDIR", "EINVAL", "ENOTEMPTY",
    [0, 1001],
    "ok", [0o40700, 0, 0], "EACCES", "EACCES", "EACCES", [0o40700, 0, 0],
    "ok", "ENOTDIR", "ENOTDIR", "ENOENT", "ENOENT", "EINVAL", "ENOTDIR", "EACCES",
    "ok", "ok", "ok", "EACCES", "ok", [0o41777, 0, 0], "ENOTDIR",
    "ok", "EACCES", [0o40700, 0, 0], [0o40700, 0, 0], "EACCES",
    [0o100644, 0, 0], "ENOTDIR", [0o40711, 0, 0], "ENOTDIR", "ENOTEMPTY",
    "EPERM", "EPERM", "EPERM", "EPERM", "EPERM", "EACCES", "EPERM", "EACCES", "EPERM",
    "EACCES",
    [0o40555, 0, 0], [0o40555, 0, 0], [0o40555, 9, 0, 0, 0], [0o40555, 1, 0, 0, 0],
    [0o40555, 1, 0, 0, 0], [0o40555, 2, 0, 0, 0], [0o100444, 1, 0, 0, 0],
    [0o40555, 9, 0, 0, 0], [0o40511, 2, 0, 0, 0], [0o40555, 9, 0, 0, 0],
    [0o40555, 0, 0], [0o40555, 9, 1000, 1000, 0], [0o40511, 2, 0, 0, 0],
    [0o40555, 9, 0, 0, 0], [0o40555, 2, 0, 0, 0],
]


def test_the_model_gives_linux_outcomes():
    assert sim_outcomes() == EXPECTED


def test_the_real_kernel_agrees():
    from realkernel import mount_namespace
    ok, why = mount_namespace()
    if not ok:
        pytest.skip(why)
    script = (f"mount -t tmpfs -o mode=755 none /run && "
              f"{_quote(sys.executable)} -c {_quote(PROBE)} {_quote(json.dumps(STEPS))}")
    proc = subprocess.run(["unshare", "--ipc", "--mount", "--propagation", "private", "--fork",
                           "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    real = json.loads(proc.stdout)
    sim = sim_outcomes()
    diffs = [(step, r, s) for step, r, s in zip(STEPS, real, sim) if r != s]
    assert not diffs
    assert real == EXPECTED


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


# --- the model alone ---------------------------------------------------------------------
def test_proc_counts_a_link_per_process():
    """/proc's link count: itself and its ".", one per directory of /proc (sys, sysvipc),
    one per process, zombies included, as proc_root_getattr() counts them."""
    k = ipcsim.Kernel()
    try:
        base = k.init.stat("/proc").st_nlink
        assert base == 4 + 1
        child = k.init.fork()
        assert k.init.stat("/proc").st_nlink == base + 1
        child.exit(0)
        assert k.init.stat("/proc").st_nlink == base + 1      # a zombie still counts
        k.init.wait(child.pid)
        assert k.init.stat("/proc").st_nlink == base
    finally:
        k.close()


def test_boot_tree_has_the_usual_directories():
    k = ipcsim.Kernel()
    assert k.init.listdir("/") == ["tmp", "run", "proc", "mnt", "dev"]
    assert k.init.stat("/tmp").st_mode == 0o41777
    assert k.init.listdir("/dev") == ["shm", "mqueue"]
    assert k.init.listdir("/proc")[:3] == ["self", "sys", "sysvipc"]


def test_a_tmpfs_file_keeps_what_is_written():
    k = ipcsim.Kernel()
    p = k.init
    fd = p.open("/tmp/f", O_CREAT | O_WRONLY, 0o644)
    assert p.write(fd, b"hello") == 5
    p.close(fd)
    assert p.read_file("/tmp/f") == "hello"
    assert p.stat("/tmp/f").st_size == 5
    assert p.stat("/tmp").st_size == 60          # 2 + 1 entries of BOGO_DIRENT_SIZE
    fd = p.open("/tmp/f", O_RDONLY)
    assert p.read(fd, 2) == b"he"
    p.close(fd)


def test_o_trunc_empties_and_o_append_writes_at_the_end():
    k = ipcsim.Kernel()
    p = k.init
    fd = p.open("/tmp/f", O_CREAT | O_WRONLY)
    p.write(fd, b"hello\n")
    p.close(fd)
    fd = p.open("/tmp/f", O_WRONLY | O_APPEND)
    p.lseek(fd, 0, 0)                           # O_APPEND: every write goes to the end
    p.write(fd, b"more\n")
    p.close(fd)
    assert p.read_file("/tmp/f") == "hello\nmore\n"
    fd = p.open("/tmp/f", O_RDONLY | O_TRUNC)   # O_TRUNC needs write access to act
    p.close(fd)
    assert p.stat("/tmp/f").st_size == 11
    fd = p.open("/tmp/f", O_CREAT | O_WRONLY | O_TRUNC)
    p.write(fd, b"a\n")
    p.close(fd)
    assert p.read_file("/tmp/f") == "a\n"


def test_umask_and_sticky_tmp():
    k = ipcsim.Kernel()
    a = k.init.fork()
    a.setuid(1000)
    b = k.init.fork()
    b.setuid(1001)
    a.umask(0o077)
    a.mkdir("/tmp/a", 0o777)
    assert a.stat("/tmp/a").st_mode == 0o40700
    a.close(a.open("/tmp/af", O_CREAT | O_WRONLY, 0o666))
    with pytest.raises(PermissionError):
        b.unlink("/tmp/af")                     # sticky /tmp: not b's file
    with pytest.raises(PermissionError):
        b.listdir("/tmp/a")
    k.init.unlink("/tmp/af")                    # CAP_FOWNER


def test_dotdot_at_a_mount_root_and_relative_paths():
    k = ipcsim.Kernel()
    p = k.init
    p.mount("none", "/dev/mqueue", "mqueue")
    assert "mqueue" in p.listdir("/dev/mqueue/..")
    assert p.listdir("/..") == p.listdir("/")
    assert p.listdir("proc/sysvipc") == ["msg", "sem", "shm"]    # the model's cwd is /


def test_bytes_paths_and_nul():
    k = ipcsim.Kernel()
    assert k.init.listdir(b"/proc/sysvipc") == ["msg", "sem", "shm"]
    with pytest.raises(ValueError):
        k.init.stat("/tmp\0x")
    with pytest.raises(FileNotFoundError):
        k.init.stat("")


def test_the_walk_is_linear_in_components():
    """Not a timing: the walk visits each component once, so a path 80,000 components long
    finishes (a quadratic walk would not within the test's time)."""
    k = ipcsim.Kernel()
    k.init.mkdir("/tmp/a")
    nd = vfs.path_lookupat(k.init, "/tmp/a" + "/../a" * 40_000)
    assert nd.node.getattr(k.init).st_mode == 0o40755


def test_mount_needs_an_existing_target_of_the_same_kind():
    k = ipcsim.Kernel()
    p = k.init
    with pytest.raises(FileNotFoundError):
        p.mount("none", "/run/nothing", "mqueue")
    p.close(p.open("/run/file", O_CREAT | O_WRONLY))
    with pytest.raises(NotADirectoryError):
        p.mount("none", "/run/file", "mqueue")
    with pytest.raises(NotADirectoryError):
        p.mount("/proc/1/ns/ipc", "/run", None, MS_BIND)


# --- the walk's shortcuts against a plain walk ---------------------------------------------
def reference_walk(proc, name, follow=True, directory=False, parent=False):
    """fs/namei.c's walk with nothing skipped: every component, "." and empty ones
    included, with search permission asked before each and ".." going back where the walk
    came from. Returns (mnt, node) or, with ``parent``, (mnt, node, last, trailing)."""
    mounts = proc.kernel.mounts
    mnt, node = mounts.root, mounts.root.root
    stack = []
    comps = [c for c in name.split("/") if c]
    trailing = name.endswith("/")
    if not comps:
        return (mnt, node, "", False) if parent else (mnt, node)
    for i, comp in enumerate(comps):
        last = i == len(comps) - 1
        if not node.permission(proc.creds, vfs.MAY_EXEC):
            raise OSError(errno.EACCES, "search")
        if last and parent:
            return mnt, node, comp, trailing
        if comp == "..":
            if stack:
                mnt, node = stack.pop()
        elif comp != ".":
            child = node.lookup(proc, comp)
            if child is None:
                raise OSError(errno.ENOENT, "lookup")
            stack.append((mnt, node))
            mnt, child = mounts.cross(mnt, child)
            if not last or follow or trailing:
                target = child.get_link(proc)
                if target is not None:
                    mnt, child = mounts.cross(mnt, target)
            node = child
        if not last and not node.is_dir():
            raise OSError(errno.ENOTDIR, "not last")
    if (directory or trailing) and not node.is_dir():
        raise OSError(errno.ENOTDIR, "trailing")
    return mnt, node


def _same(node):
    """What identifies a node: itself, or for /proc nodes (made afresh at each lookup)
    their class and fields."""
    slots = [s for cls in type(node).__mro__ for s in getattr(cls, "__slots__", ())]
    if isinstance(node, vfs.TmpNode) or not slots:
        return node
    return (type(node),) + tuple(getattr(node, s) for s in slots)


def _outcome(fn):
    try:
        got = fn()
    except OSError as e:
        return errno.errorcode[e.errno]
    return tuple(_same(x) for x in got)


def _walk_world():
    """/tmp/a/b, a file /tmp/f, /tmp/nx (root's, 0700) with /tmp/nx/in, an mqueue mount on
    /tmp/m (0711, queue q) and two stacked on /tmp/a/s, a namespace file bound on /tmp/ns;
    processes as root and as uid 1000."""
    k = ipcsim.Kernel()
    root = k.init.clone(CLONE_NEWIPC)
    for d in ("/tmp/a", "/tmp/a/b", "/tmp/nx", "/tmp/nx/in", "/tmp/m", "/tmp/a/s"):
        root.mkdir(d, 0o755)
    root.chmod("/tmp/nx", 0o700)
    root.close(root.open("/tmp/f", O_CREAT | O_WRONLY, 0o644))
    root.close(root.open("/tmp/ns", O_CREAT | O_WRONLY, 0o644))
    root.mount("none", "/tmp/m", "mqueue")
    root.close(root.open("/tmp/m/q", O_CREAT | O_RDWR, 0o600))
    root.chmod("/tmp/m", 0o711)
    root.mount("none", "/tmp/a/s", "mqueue")
    other = root.fork()
    other.unshare(CLONE_NEWIPC)
    other.mount("none", "/tmp/a/s", "mqueue")
    other.chmod("/tmp/a/s", 0o700)
    root.mount("/proc/self/ns/ipc", "/tmp/ns", None, MS_BIND)
    user = root.fork()
    user.setgroups([])
    user.setgid(1000)
    user.setuid(1000)
    return k, root, user


_WORLD = _walk_world()
_NAMES = ["", ".", "..", "tmp", "a", "b", "s", "f", "nx", "in", "m", "q", "ns", "missing",
          "proc", "self", "sys", "kernel", "fs", "msgmni", "1", "ns", "ipc", "dev", "mqueue",
          "L" * 255, "L" * 256]


_PLACES = ["", "tmp", "tmp/a", "tmp/a/b", "tmp/a/s", "tmp/m", "tmp/m/q", "tmp/nx/in",
           "tmp/f", "tmp/ns", "proc/sys/kernel/msgmni", "proc/self/ns/ipc", "proc/1/ns",
           "dev/mqueue", "proc/sys/fs/mqueue"]


@st.composite
def walk_paths(draw):
    """A path to one of the world's places (or past it), with on the way empty components,
    ".", names, runs of "X/.." (repeated, and alternating), leading and trailing slashes."""
    def pair_run(near):
        x = st.one_of(st.just(near), st.just(near), st.sampled_from(_NAMES))
        xs = st.lists(x, min_size=1, max_size=3)
        return xs.flatmap(lambda xs: st.integers(1, 4).map(
            lambda n: "/".join(f"{x}/.." for x in xs * n)))

    def noise(near):
        dots = st.sampled_from(["", ".", "./.", ".."])
        return st.lists(st.one_of(dots, dots, dots, pair_run(near), pair_run(near),
                                  st.sampled_from(_NAMES)), max_size=2)

    parts = []
    for comp in draw(st.sampled_from(_PLACES)).split("/"):
        parts += draw(noise(comp)) + [comp]
    parts += draw(noise("."))
    lead = draw(st.sampled_from(["/", "//", "", "./"]))
    tail = draw(st.sampled_from(["", "", "/", "//", "/.", "/./", "/.."]))
    return lead + "/".join(parts) + tail or "/"      # (getname() refuses "": ENOENT)


@given(walk_paths(), st.booleans(), st.booleans(), st.booleans())
@settings(max_examples=800, deadline=None)
def test_the_walk_answers_as_a_plain_walk(path, as_user, follow, directory):
    k, root, user = _WORLD
    p = user if as_user else root

    def fast():
        nd = vfs.path_lookupat(p, path, follow, directory)
        return nd.mnt, nd.node

    def fast_parent():
        nd = vfs.path_parentat(p, path)
        return nd.mnt, nd.node, nd.last, nd.trailing

    assert _outcome(fast) == _outcome(lambda: reference_walk(p, path, follow, directory))
    assert _outcome(fast_parent) == _outcome(lambda: reference_walk(p, path, parent=True))
