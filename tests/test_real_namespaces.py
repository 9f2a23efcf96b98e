"""IPC namespace identity, lifecycle and errnos of ipcsim, compared with the real kernel.

Each fact is computed twice: by a program run in a fresh real IPC namespace and by the same
steps in ipcsim. Namespace inode numbers are compared by identity (which values are equal),
except the initial namespace's, which is the fixed 4026531839 on both.
Each fact also has its documented value (section 1 of the reference), which ipcsim is
checked against even where the real kernel is not available.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

import ipcsim
from realkernel import available, errname, requires_real, run_real

INIT_LINK = "ipc:[4026531839]"
NOBODY = 65534
MSGMAX = "/proc/sys/kernel/msgmax"


def canon(links):
    """Namespace links by identity: the initial one literally, others as ns#1, ns#2, ...

    Nested lists and dicts are walked; strings that are not namespace links stay as they are.
    """
    seen: dict[str, str] = {}

    def walk(x):
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, str) and x.startswith("ipc:[") and x != INIT_LINK:
            return seen.setdefault(x, f"ns#{len(seen) + 1}")
        return x

    return walk(links)


def sim_try(fn, *args):
    try:
        value = fn(*args)
    except OSError as e:
        return errname(e.errno)
    if value is None:
        return 0
    if isinstance(value, ipcsim.Process):
        return "ok"
    return value


def new_sim():
    k = ipcsim.Kernel()
    return k, k.init.clone(ipcsim.CLONE_NEWIPC)


def mismatch(fact, real, sim) -> str:
    return f"real kernel and ipcsim differ: {fact}\n  real:   {real!r}\n  ipcsim: {sim!r}"


# --- the initial namespace --------------------------------------------------------------
def real_initial_links():
    direct = os.readlink("/proc/self/ns/ipc")
    child = subprocess.run([sys.executable, "-c",
                            "import os; print(os.readlink('/proc/self/ns/ipc'))"],
                           capture_output=True, text=True, timeout=30, check=True)
    return {"self": direct, "child process": child.stdout.strip()}


def sim_initial_links():
    k = ipcsim.Kernel()
    child = k.init.fork()
    return {"self": k.init.readlink("/proc/self/ns/ipc"),
            "child process": child.readlink("/proc/self/ns/ipc")}


@requires_real
def test_initial_namespace_link_matches_real():
    real, sim = real_initial_links(), sim_initial_links()
    assert real == sim, mismatch("readlink /proc/self/ns/ipc in the initial namespace",
                                 real, sim)


def test_initial_namespace_link_model():
    assert sim_initial_links() == {"self": INIT_LINK, "child process": INIT_LINK}


# --- facts computed by one program on each side --------------------------------------------
REAL = {}
SIM = {}
EXPECTED = {}


def fact(name, real_code, expected):
    """Register a fact: the real program (setting ``result``) and its documented value;
    the ipcsim side is the decorated function."""
    def register(fn):
        REAL[name] = real_code
        SIM[name] = fn
        EXPECTED[name] = expected
        return fn
    return register


@fact("a new namespace differs from its parent; children share it", f"""
links = {{"initial namespace": os.readlink("/proc/{os.getpid()}/ns/ipc"),
         "start": os.readlink("/proc/self/ns/ipc"),
         "child before unshare": in_child(lambda: os.readlink("/proc/self/ns/ipc"))}}
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.read(r, 1)
    os._exit(0)
unshare(CLONE_NEWIPC)
links["after unshare"] = os.readlink("/proc/self/ns/ipc")
links["child after unshare"] = in_child(lambda: os.readlink("/proc/self/ns/ipc"))
links["older child after parent's unshare"] = os.readlink(f"/proc/{{pid}}/ns/ipc")
os.write(w, b"x")
os.waitpid(pid, 0)
result = links
""", {"initial namespace": INIT_LINK, "start": "ns#1", "child before unshare": "ns#1",
      "after unshare": "ns#2", "child after unshare": "ns#2",
      "older child after parent's unshare": "ns#1"})
def sim_new_namespace(k, p):
    links = {"initial namespace": p.readlink("/proc/1/ns/ipc"),
             "start": p.readlink("/proc/self/ns/ipc"),
             "child before unshare": p.fork().readlink("/proc/self/ns/ipc")}
    older = p.fork()
    p.unshare(ipcsim.CLONE_NEWIPC)
    links["after unshare"] = p.readlink("/proc/self/ns/ipc")
    links["child after unshare"] = p.fork().readlink("/proc/self/ns/ipc")
    links["older child after parent's unshare"] = p.readlink(f"/proc/{older.pid}/ns/ipc")
    return links


@fact("setns through an fd of another namespace joins it", """
fd = os.open("/proc/self/ns/ipc", os.O_RDONLY)
out = {"start": os.readlink("/proc/self/ns/ipc")}
unshare(CLONE_NEWIPC)
out["after unshare"] = os.readlink("/proc/self/ns/ipc")
out["setns(fd, CLONE_NEWIPC)"] = try_(setns, fd, CLONE_NEWIPC)
out["after setns"] = os.readlink("/proc/self/ns/ipc")
out["setns(fd, 0) again"] = try_(setns, fd, 0)
out["after second setns"] = os.readlink("/proc/self/ns/ipc")
result = out
""", {"start": "ns#1", "after unshare": "ns#2", "setns(fd, CLONE_NEWIPC)": 0,
      "after setns": "ns#1", "setns(fd, 0) again": 0, "after second setns": "ns#1"})
def sim_setns_back(k, p):
    fd = p.open("/proc/self/ns/ipc")
    out = {"start": p.readlink("/proc/self/ns/ipc")}
    p.unshare(ipcsim.CLONE_NEWIPC)
    out["after unshare"] = p.readlink("/proc/self/ns/ipc")
    out["setns(fd, CLONE_NEWIPC)"] = sim_try(p.setns, fd, ipcsim.CLONE_NEWIPC)
    out["after setns"] = p.readlink("/proc/self/ns/ipc")
    out["setns(fd, 0) again"] = sim_try(p.setns, fd, 0)
    out["after second setns"] = p.readlink("/proc/self/ns/ipc")
    return out


SETNS_EXPECTED = {
    "setns(999, 0)": "EBADF",
    "setns(999, CLONE_NEWIPC)": "EBADF",
    "setns(999, CLONE_NEWUTS)": "EBADF",
    "setns(closed fd, CLONE_NEWIPC)": "EBADF",
    "setns(msgmax fd, 0)": "EINVAL",
    "setns(msgmax fd, CLONE_NEWIPC)": "EINVAL",
    "setns(sysvipc/msg fd, CLONE_NEWIPC)": "EINVAL",
    "setns(ns fd, CLONE_NEWUTS)": "EINVAL",
    "setns(ns fd, CLONE_NEWNET)": "EINVAL",
    "setns(ns fd, CLONE_NEWIPC|CLONE_NEWUTS)": "EINVAL",
    "setns(ns fd, -1)": "EINVAL",
    "setns(ns fd, 0)": 0,
    "setns(ns fd, CLONE_NEWIPC)": 0,
    "setns(own ns fd, CLONE_NEWIPC)": 0,
    "namespace after the setns calls": "ns#1",
}


@fact("setns errnos", """
out = {}
out["setns(999, 0)"] = try_(setns, 999, 0)
out["setns(999, CLONE_NEWIPC)"] = try_(setns, 999, CLONE_NEWIPC)
out["setns(999, CLONE_NEWUTS)"] = try_(setns, 999, CLONE_NEWUTS)
fd = os.open("/proc/self/ns/ipc", os.O_RDONLY)
os.close(fd)
out["setns(closed fd, CLONE_NEWIPC)"] = try_(setns, fd, CLONE_NEWIPC)
sysfd = os.open("/proc/sys/kernel/msgmax", os.O_RDONLY)
out["setns(msgmax fd, 0)"] = try_(setns, sysfd, 0)
out["setns(msgmax fd, CLONE_NEWIPC)"] = try_(setns, sysfd, CLONE_NEWIPC)
vfd = os.open("/proc/sysvipc/msg", os.O_RDONLY)
out["setns(sysvipc/msg fd, CLONE_NEWIPC)"] = try_(setns, vfd, CLONE_NEWIPC)
nsfd = os.open("/proc/self/ns/ipc", os.O_RDONLY)
unshare(CLONE_NEWIPC)
own = os.open("/proc/self/ns/ipc", os.O_RDONLY)
out["setns(ns fd, CLONE_NEWUTS)"] = try_(setns, nsfd, CLONE_NEWUTS)
out["setns(ns fd, CLONE_NEWNET)"] = try_(setns, nsfd, CLONE_NEWNET)
out["setns(ns fd, CLONE_NEWIPC|CLONE_NEWUTS)"] = try_(setns, nsfd, CLONE_NEWIPC | CLONE_NEWUTS)
out["setns(ns fd, -1)"] = try_(setns, nsfd, -1)
out["setns(ns fd, 0)"] = try_(setns, nsfd, 0)
out["setns(ns fd, CLONE_NEWIPC)"] = try_(setns, nsfd, CLONE_NEWIPC)
out["setns(own ns fd, CLONE_NEWIPC)"] = try_(setns, own, CLONE_NEWIPC)
out["namespace after the setns calls"] = os.readlink("/proc/self/ns/ipc")
result = out
""", SETNS_EXPECTED)
def sim_setns_errnos(k, p):
    NEWIPC, NEWUTS, NEWNET = ipcsim.CLONE_NEWIPC, ipcsim.CLONE_NEWUTS, ipcsim.CLONE_NEWNET
    out = {}
    out["setns(999, 0)"] = sim_try(p.setns, 999, 0)
    out["setns(999, CLONE_NEWIPC)"] = sim_try(p.setns, 999, NEWIPC)
    out["setns(999, CLONE_NEWUTS)"] = sim_try(p.setns, 999, NEWUTS)
    fd = p.open("/proc/self/ns/ipc")
    p.close(fd)
    out["setns(closed fd, CLONE_NEWIPC)"] = sim_try(p.setns, fd, NEWIPC)
    sysfd = p.open("/proc/sys/kernel/msgmax")
    out["setns(msgmax fd, 0)"] = sim_try(p.setns, sysfd, 0)
    out["setns(msgmax fd, CLONE_NEWIPC)"] = sim_try(p.setns, sysfd, NEWIPC)
    vfd = p.open("/proc/sysvipc/msg")
    out["setns(sysvipc/msg fd, CLONE_NEWIPC)"] = sim_try(p.setns, vfd, NEWIPC)
    nsfd = p.open("/proc/self/ns/ipc")
    p.unshare(NEWIPC)
    own = p.open("/proc/self/ns/ipc")
    out["setns(ns fd, CLONE_NEWUTS)"] = sim_try(p.setns, nsfd, NEWUTS)
    out["setns(ns fd, CLONE_NEWNET)"] = sim_try(p.setns, nsfd, NEWNET)
    out["setns(ns fd, CLONE_NEWIPC|CLONE_NEWUTS)"] = sim_try(p.setns, nsfd, NEWIPC | NEWUTS)
    out["setns(ns fd, -1)"] = sim_try(p.setns, nsfd, -1)
    out["setns(ns fd, 0)"] = sim_try(p.setns, nsfd, 0)
    out["setns(ns fd, CLONE_NEWIPC)"] = sim_try(p.setns, nsfd, NEWIPC)
    out["setns(own ns fd, CLONE_NEWIPC)"] = sim_try(p.setns, own, NEWIPC)
    out["namespace after the setns calls"] = p.readlink("/proc/self/ns/ipc")
    return out


ROOT_FLAGS_EXPECTED = {
    "unshare(0)": 0,
    "unshare(CLONE_NEWIPC)": 0,
    "unshare(CLONE_SYSVSEM)": 0,
    "unshare(CLONE_NEWIPC|CLONE_SYSVSEM)": 0,
    "unshare(CLONE_PIDFD)": "EINVAL",
    "unshare(CLONE_PARENT)": "EINVAL",
    "unshare(CLONE_NEWIPC|CLONE_PARENT)": "EINVAL",
    "unshare(CLONE_NEWIPC|CLONE_PIDFD)": "EINVAL",
    "unshare(0x2)": "EINVAL",
    "unshare(CLONE_NEWIPC|CLONE_IO)": "EINVAL",
    "clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD)": "EINVAL",
    "clone(CLONE_NEWIPC|SIGCHLD)": "ok",
    "clone(CLONE_SYSVSEM|SIGCHLD)": "ok",
    "namespaces": ["ns#1", "ns#2", "ns#2", "ns#3", "ns#3"],
}


@fact("unshare and clone flags as root", """
link = lambda: os.readlink("/proc/self/ns/ipc")
ok = lambda r: "ok" if isinstance(r, int) and r > 0 else r
out = {}
links = [link()]
held = [os.open("/proc/self/ns/ipc", os.O_RDONLY)]
out["unshare(0)"] = try_(unshare, 0)
out["unshare(CLONE_NEWIPC)"] = try_(unshare, CLONE_NEWIPC)
links.append(link())
out["unshare(CLONE_SYSVSEM)"] = try_(unshare, CLONE_SYSVSEM)
links.append(link())
held.append(os.open("/proc/self/ns/ipc", os.O_RDONLY))
out["unshare(CLONE_NEWIPC|CLONE_SYSVSEM)"] = try_(unshare, CLONE_NEWIPC | CLONE_SYSVSEM)
links.append(link())
out["unshare(CLONE_PIDFD)"] = try_(unshare, CLONE_PIDFD)
out["unshare(CLONE_PARENT)"] = try_(unshare, CLONE_PARENT)
out["unshare(CLONE_NEWIPC|CLONE_PARENT)"] = try_(unshare, CLONE_NEWIPC | CLONE_PARENT)
out["unshare(CLONE_NEWIPC|CLONE_PIDFD)"] = try_(unshare, CLONE_NEWIPC | CLONE_PIDFD)
out["unshare(0x2)"] = try_(unshare, 0x2)
out["unshare(CLONE_NEWIPC|CLONE_IO)"] = try_(unshare, CLONE_NEWIPC | CLONE_IO)
out["clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD)"] = ok(
    try_(clone, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD))
out["clone(CLONE_NEWIPC|SIGCHLD)"] = ok(try_(clone, CLONE_NEWIPC | SIGCHLD))
out["clone(CLONE_SYSVSEM|SIGCHLD)"] = ok(try_(clone, CLONE_SYSVSEM | SIGCHLD))
links.append(link())
out["namespaces"] = links
result = out
""", ROOT_FLAGS_EXPECTED)
def sim_root_flags(k, p):
    C = ipcsim
    SIGCHLD = 17

    def link():
        return p.readlink("/proc/self/ns/ipc")

    def clone(flags):
        child = p.clone(flags)
        child.exit(0)
        p.wait(child.pid)
        return child

    out = {}
    links = [link()]
    p.open("/proc/self/ns/ipc")
    out["unshare(0)"] = sim_try(p.unshare, 0)
    out["unshare(CLONE_NEWIPC)"] = sim_try(p.unshare, C.CLONE_NEWIPC)
    links.append(link())
    out["unshare(CLONE_SYSVSEM)"] = sim_try(p.unshare, C.CLONE_SYSVSEM)
    links.append(link())
    p.open("/proc/self/ns/ipc")
    out["unshare(CLONE_NEWIPC|CLONE_SYSVSEM)"] = sim_try(p.unshare,
                                                        C.CLONE_NEWIPC | C.CLONE_SYSVSEM)
    links.append(link())
    out["unshare(CLONE_PIDFD)"] = sim_try(p.unshare, C.CLONE_PIDFD)
    out["unshare(CLONE_PARENT)"] = sim_try(p.unshare, C.CLONE_PARENT)
    out["unshare(CLONE_NEWIPC|CLONE_PARENT)"] = sim_try(p.unshare,
                                                       C.CLONE_NEWIPC | C.CLONE_PARENT)
    out["unshare(CLONE_NEWIPC|CLONE_PIDFD)"] = sim_try(p.unshare, C.CLONE_NEWIPC | C.CLONE_PIDFD)
    out["unshare(0x2)"] = sim_try(p.unshare, 0x2)
    out["unshare(CLONE_NEWIPC|CLONE_IO)"] = sim_try(p.unshare, C.CLONE_NEWIPC | C.CLONE_IO)
    out["clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD)"] = sim_try(
        clone, C.CLONE_NEWIPC | C.CLONE_SYSVSEM | SIGCHLD)
    out["clone(CLONE_NEWIPC|SIGCHLD)"] = sim_try(clone, C.CLONE_NEWIPC | SIGCHLD)
    out["clone(CLONE_SYSVSEM|SIGCHLD)"] = sim_try(clone, C.CLONE_SYSVSEM | SIGCHLD)
    links.append(link())
    out["namespaces"] = links
    return out


NOBODY_EXPECTED = {
    "unshare(CLONE_NEWIPC)": "EPERM",
    "unshare(CLONE_NEWIPC|CLONE_SYSVSEM)": "EPERM",
    "unshare(CLONE_NEWIPC|CLONE_PIDFD)": "EINVAL",
    "unshare(CLONE_SYSVSEM)": 0,
    "unshare(0)": 0,
    "clone(CLONE_NEWIPC|SIGCHLD)": "EPERM",
    "clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD)": "EPERM",
    "open /proc/1/ns/ipc": "EACCES",
    "readlink /proc/1/ns/ipc": "EACCES",
    "open /proc/<root parent>/ns/ipc": "EACCES",
    "open /proc/self/ns/ipc": "ok",
    "setns(own ns fd, CLONE_NEWIPC)": "EPERM",
    "readlink /proc/self/ns/ipc": "ns#1",
    "namespace of the root parent": "ns#1",
}


@fact(f"namespace calls as uid {NOBODY}", f"""
ok = lambda r: "ok" if isinstance(r, int) and r >= 0 else r
parent = os.getpid()
def nobody():
    os.setresgid({NOBODY}, {NOBODY}, {NOBODY})
    os.setresuid({NOBODY}, {NOBODY}, {NOBODY})
    out = {{}}
    out["unshare(CLONE_NEWIPC)"] = try_(unshare, CLONE_NEWIPC)
    out["unshare(CLONE_NEWIPC|CLONE_SYSVSEM)"] = try_(unshare, CLONE_NEWIPC | CLONE_SYSVSEM)
    out["unshare(CLONE_NEWIPC|CLONE_PIDFD)"] = try_(unshare, CLONE_NEWIPC | CLONE_PIDFD)
    out["unshare(CLONE_SYSVSEM)"] = try_(unshare, CLONE_SYSVSEM)
    out["unshare(0)"] = try_(unshare, 0)
    out["clone(CLONE_NEWIPC|SIGCHLD)"] = ok(try_(clone, CLONE_NEWIPC | SIGCHLD))
    out["clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD)"] = ok(
        try_(clone, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD))
    out["open /proc/1/ns/ipc"] = ok(try_(os.open, "/proc/1/ns/ipc", os.O_RDONLY))
    out["readlink /proc/1/ns/ipc"] = try_(os.readlink, "/proc/1/ns/ipc")
    out["open /proc/<root parent>/ns/ipc"] = ok(
        try_(os.open, f"/proc/{{parent}}/ns/ipc", os.O_RDONLY))
    fd = try_(os.open, "/proc/self/ns/ipc", os.O_RDONLY)
    out["open /proc/self/ns/ipc"] = ok(fd)
    out["setns(own ns fd, CLONE_NEWIPC)"] = try_(setns, fd, CLONE_NEWIPC)
    out["readlink /proc/self/ns/ipc"] = try_(os.readlink, "/proc/self/ns/ipc")
    return out
out = in_child(nobody)
out["namespace of the root parent"] = os.readlink("/proc/self/ns/ipc")
result = out
""", NOBODY_EXPECTED)
def sim_nobody(k, p):
    C = ipcsim
    SIGCHLD = 17
    nobody = p.fork()
    nobody.setgid(NOBODY)
    nobody.setuid(NOBODY)

    def ok(r):
        return "ok" if isinstance(r, int) and not isinstance(r, bool) and r >= 0 else r

    def clone(flags):
        child = nobody.clone(flags)
        child.exit(0)
        nobody.wait(child.pid)
        return child

    out = {}
    out["unshare(CLONE_NEWIPC)"] = sim_try(nobody.unshare, C.CLONE_NEWIPC)
    out["unshare(CLONE_NEWIPC|CLONE_SYSVSEM)"] = sim_try(nobody.unshare,
                                                        C.CLONE_NEWIPC | C.CLONE_SYSVSEM)
    out["unshare(CLONE_NEWIPC|CLONE_PIDFD)"] = sim_try(nobody.unshare,
                                                      C.CLONE_NEWIPC | C.CLONE_PIDFD)
    out["unshare(CLONE_SYSVSEM)"] = sim_try(nobody.unshare, C.CLONE_SYSVSEM)
    out["unshare(0)"] = sim_try(nobody.unshare, 0)
    out["clone(CLONE_NEWIPC|SIGCHLD)"] = sim_try(clone, C.CLONE_NEWIPC | SIGCHLD)
    out["clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD)"] = sim_try(
        clone, C.CLONE_NEWIPC | C.CLONE_SYSVSEM | SIGCHLD)
    out["open /proc/1/ns/ipc"] = ok(sim_try(nobody.open, "/proc/1/ns/ipc"))
    out["readlink /proc/1/ns/ipc"] = sim_try(nobody.readlink, "/proc/1/ns/ipc")
    out["open /proc/<root parent>/ns/ipc"] = ok(sim_try(nobody.open, f"/proc/{p.pid}/ns/ipc"))
    fd = sim_try(nobody.open, "/proc/self/ns/ipc")
    out["open /proc/self/ns/ipc"] = ok(fd)
    out["setns(own ns fd, CLONE_NEWIPC)"] = sim_try(nobody.setns, fd, C.CLONE_NEWIPC)
    out["readlink /proc/self/ns/ipc"] = sim_try(nobody.readlink, "/proc/self/ns/ipc")
    out["namespace of the root parent"] = p.readlink("/proc/self/ns/ipc")
    return out


NSFD_EXPECTED = {
    "open O_RDWR": "EPERM",
    "open O_WRONLY": "EPERM",
    "read(fd, 10)": "EINVAL",
    "read(fd, 0)": "EINVAL",
    "write(fd, b'x')": "EBADF",
    "lseek(fd, 0, SEEK_SET)": "ESPIPE",
    "read /proc/self/ns/ipc as a file": "EINVAL",
}


@fact("file operations on a namespace file", """
out = {}
out["open O_RDWR"] = try_(os.open, "/proc/self/ns/ipc", os.O_RDWR)
out["open O_WRONLY"] = try_(os.open, "/proc/self/ns/ipc", os.O_WRONLY)
fd = os.open("/proc/self/ns/ipc", os.O_RDONLY)
out["read(fd, 10)"] = try_(os.read, fd, 10)
out["read(fd, 0)"] = try_(os.read, fd, 0)
out["write(fd, b'x')"] = try_(os.write, fd, b"x")
out["lseek(fd, 0, SEEK_SET)"] = try_(os.lseek, fd, 0, os.SEEK_SET)
out["read /proc/self/ns/ipc as a file"] = rd("/proc/self/ns/ipc")
result = out
""", NSFD_EXPECTED)
def sim_nsfd_ops(k, p):
    out = {}
    out["open O_RDWR"] = sim_try(p.open, "/proc/self/ns/ipc", ipcsim.O_RDWR)
    out["open O_WRONLY"] = sim_try(p.open, "/proc/self/ns/ipc", ipcsim.O_WRONLY)
    fd = p.open("/proc/self/ns/ipc", ipcsim.O_RDONLY)
    out["read(fd, 10)"] = sim_try(p.read, fd, 10)
    out["read(fd, 0)"] = sim_try(p.read, fd, 0)
    out["write(fd, b'x')"] = sim_try(p.write, fd, b"x")
    out["lseek(fd, 0, SEEK_SET)"] = sim_try(p.lseek, fd, 0, ipcsim.SEEK_SET)
    out["read /proc/self/ns/ipc as a file"] = sim_try(p.read_file, "/proc/self/ns/ipc")
    return out


KEPT_ALIVE_EXPECTED = {
    "child's namespace": "ns#1",
    "mine before": "ns#2",
    "readlink after the child was reaped": "ENOENT",
    "setns(fd, CLONE_NEWIPC)": 0,
    "mine after setns": "ns#1",
    "msgmax after setns": "111\n",
    "msgmnb after setns": "16384\n",
}


@fact("an open namespace fd keeps a namespace alive after its last process exits", """
r1, w1 = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    unshare(CLONE_NEWIPC)
    wr("/proc/sys/kernel/msgmax", b"111")
    os.write(w1, b"x")
    os.read(r2, 1)
    os._exit(0)
os.read(r1, 1)
out = {"child's namespace": os.readlink(f"/proc/{pid}/ns/ipc"),
       "mine before": os.readlink("/proc/self/ns/ipc")}
fd = os.open(f"/proc/{pid}/ns/ipc", os.O_RDONLY)
os.write(w2, b"x")
os.waitpid(pid, 0)
out["readlink after the child was reaped"] = try_(os.readlink, f"/proc/{pid}/ns/ipc")
out["setns(fd, CLONE_NEWIPC)"] = try_(setns, fd, CLONE_NEWIPC)
out["mine after setns"] = os.readlink("/proc/self/ns/ipc")
out["msgmax after setns"] = rd("/proc/sys/kernel/msgmax")
out["msgmnb after setns"] = rd("/proc/sys/kernel/msgmnb")
result = out
""", KEPT_ALIVE_EXPECTED)
def sim_kept_alive(k, p):
    child = p.fork()
    child.unshare(ipcsim.CLONE_NEWIPC)
    child.write_file(MSGMAX, b"111")
    out = {"child's namespace": p.readlink(f"/proc/{child.pid}/ns/ipc"),
           "mine before": p.readlink("/proc/self/ns/ipc")}
    fd = p.open(f"/proc/{child.pid}/ns/ipc")
    child.exit(0)
    p.wait(child.pid)
    out["readlink after the child was reaped"] = sim_try(p.readlink,
                                                         f"/proc/{child.pid}/ns/ipc")
    out["setns(fd, CLONE_NEWIPC)"] = sim_try(p.setns, fd, ipcsim.CLONE_NEWIPC)
    out["mine after setns"] = p.readlink("/proc/self/ns/ipc")
    out["msgmax after setns"] = sim_try(p.read_file, MSGMAX)
    out["msgmnb after setns"] = sim_try(p.read_file, "/proc/sys/kernel/msgmnb")
    return out


SYSCTL_FD_EXPECTED = {
    "write 111 in the first namespace": 3,
    "path after unshare": "8192\n",
    "old fd after unshare": "111\n",
    "write 222 through the old fd": 3,
    "path after writing through the old fd": "8192\n",
    "setns back": 0,
    "path after setns back": "222\n",
}


@fact("a /proc/sys fd stays bound to the namespace it was opened in", """
out = {"write 111 in the first namespace": wr("/proc/sys/kernel/msgmax", b"111")}
nsfd = os.open("/proc/self/ns/ipc", os.O_RDONLY)
fd = os.open("/proc/sys/kernel/msgmax", os.O_RDWR)
unshare(CLONE_NEWIPC)
out["path after unshare"] = rd("/proc/sys/kernel/msgmax")
out["old fd after unshare"] = os.read(fd, 100).decode()
os.lseek(fd, 0, os.SEEK_SET)
out["write 222 through the old fd"] = try_(os.write, fd, b"222")
out["path after writing through the old fd"] = rd("/proc/sys/kernel/msgmax")
out["setns back"] = try_(setns, nsfd, CLONE_NEWIPC)
out["path after setns back"] = rd("/proc/sys/kernel/msgmax")
result = out
""", SYSCTL_FD_EXPECTED)
def sim_sysctl_fd(k, p):
    out = {"write 111 in the first namespace": sim_try(p.write_file, MSGMAX, b"111")}
    nsfd = p.open("/proc/self/ns/ipc")
    fd = p.open(MSGMAX, ipcsim.O_RDWR)
    p.unshare(ipcsim.CLONE_NEWIPC)
    out["path after unshare"] = sim_try(p.read_file, MSGMAX)
    out["old fd after unshare"] = p.read(fd, 100).decode()
    p.lseek(fd, 0, ipcsim.SEEK_SET)
    out["write 222 through the old fd"] = sim_try(p.write, fd, b"222")
    out["path after writing through the old fd"] = sim_try(p.read_file, MSGMAX)
    out["setns back"] = sim_try(p.setns, nsfd, ipcsim.CLONE_NEWIPC)
    out["path after setns back"] = sim_try(p.read_file, MSGMAX)
    return out


DEAD_NS_EXPECTED = {
    "read before": "8192\n",
    "read after the namespace died": "ENOENT",
    "write after the namespace died": "ENOENT",
}


@fact("a /proc/sys fd of a dead namespace gives ENOENT", """
rfd = os.open("/proc/sys/kernel/msgmax", os.O_RDONLY)
wfd = os.open("/proc/sys/kernel/msgmax", os.O_WRONLY)
out = {"read before": os.read(rfd, 100).decode()}
unshare(CLONE_NEWIPC)   # the first namespace had no other member: it is freed (later)
deadline = time.monotonic() + 10
while True:
    os.lseek(rfd, 0, os.SEEK_SET)
    got = try_(os.read, rfd, 100)
    if isinstance(got, str) or time.monotonic() > deadline:
        break
    time.sleep(0.01)
out["read after the namespace died"] = got.decode() if isinstance(got, bytes) else got
out["write after the namespace died"] = try_(os.write, wfd, b"5")
result = out
""", DEAD_NS_EXPECTED)
def sim_dead_ns_sysctl_fd(k, p):
    rfd = p.open(MSGMAX)
    wfd = p.open(MSGMAX, ipcsim.O_WRONLY)
    out = {"read before": p.read(rfd, 100).decode()}
    p.unshare(ipcsim.CLONE_NEWIPC)
    p.lseek(rfd, 0, ipcsim.SEEK_SET)
    got = sim_try(p.read, rfd, 100)
    out["read after the namespace died"] = got.decode() if isinstance(got, bytes) else got
    out["write after the namespace died"] = sim_try(p.write, wfd, b"5")
    return out


FACTS = list(REAL)


def sim_fact(name):
    k, p = new_sim()
    return canon(SIM[name](k, p))


@functools.cache
def real_fact(name):
    return canon(run_real(REAL[name]))


def fact_cases():
    """(fact, key) pairs, so that each checked value is a test of its own."""
    return [(name, key) for name in FACTS for key in EXPECTED[name]]


CASES = fact_cases()
CASE_IDS = [f"{name} | {key}" for name, key in CASES]


@requires_real
@pytest.mark.parametrize("name,key", CASES, ids=CASE_IDS)
def test_matches_real(name, key):
    real, sim = real_fact(name), sim_fact(name)
    assert real.get(key, "<missing>") == sim.get(key, "<missing>"), mismatch(
        f"{name}: {key}\n  (all real values:   {real})\n  (all ipcsim values: {sim})",
        real.get(key, "<missing>"), sim.get(key, "<missing>"))


@pytest.mark.parametrize("name,key", CASES, ids=CASE_IDS)
def test_model(name, key):
    sim = sim_fact(name)
    assert sim.get(key, "<missing>") == EXPECTED[name][key], (name, key, sim)


def test_every_fact_checks_every_value():
    if available()[0]:
        for name in FACTS:
            assert set(real_fact(name)) == set(EXPECTED[name]), name
    for name in FACTS:
        assert set(sim_fact(name)) == set(EXPECTED[name]), name
