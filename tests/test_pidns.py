"""PID namespaces: CLONE_NEWPID in clone, unshare and setns, the numbers a process has at each
level, what a namespace's init does, and the pids IPC shows, translated into the reader's
namespace. The rules are also compared with the real kernel, as root (in a fresh IPC
namespace) and as uid 1000 in a user namespace mapping it to root with an IPC namespace of its
own (what ``unshare -Ur --ipc`` makes), where this machine allows it: the
same scenario runs as a program of its own on Linux and through ipcsim's API, and both give
the same JSON."""
import errno
import json
import os

import pytest

import ipcsim
from ipcsim import (CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWUSER, CLONE_PARENT, CLONE_SIGHAND,
                    CLONE_THREAD, CLONE_VM, GETPID, IPC_CREAT, IPC_PRIVATE, IPC_STAT, WNOHANG)
from ipcsim.constants import (NS_GET_NSTYPE, NS_GET_PARENT, NS_GET_USERNS, O_RDONLY, O_WRONLY,
                              SIGEV_SIGNAL)
from ipcsim.conformance.sim import become_user
from ipcsim.kernel.footprint import footprint
from ipcsim.kernel.pidns import INIT_PID_NS_INUM, pid_nr_ns
from ipcsim.kernel import signals
from ipcsim.kernel.signals import SIGKILL, SIGSTOP, SIGTERM, SIGUSR1
from ipcsim.kernel.userns import UserNsFile
from realkernel import as_user_unavailable, run_python_as


def errname(fn, *args):
    """The call's value (0 for None), or the errno name of the OSError it raised."""
    try:
        value = fn(*args)
    except OSError as e:
        return errno.errorcode[e.errno]
    return 0 if value is None else value


def rl(p, path):
    return errname(p.readlink, path)


def wr(p, path, text):
    fd = p.open(path, O_WRONLY)
    try:
        return p.write(fd, text.encode())
    finally:
        p.close(fd)


def fork_try(p):
    try:
        child = p.fork()
    except OSError as e:
        return errno.errorcode[e.errno]
    child.exit(0)
    p.wait(child.pid_in(p.pid_ns))
    return "forked"


def fd_link(p, fd):
    """What readlink of /proc/self/fd/FD shows for a namespace descriptor (the model has no
    /proc/PID/fd): ``kind:[inode]``; the descriptor is closed."""
    file = p.fds[fd]
    text = (f"user:[{file.ns.inum}]" if isinstance(file, UserNsFile)
            else f"{file.ns.kind}:[{file.ns.inum}]")
    p.close(fd)
    return text


@pytest.fixture
def k():
    with ipcsim.Kernel() as kernel:
        yield kernel


def container(k, uid):
    """The process a scenario starts as: root in a fresh IPC namespace (``unshare --ipc``),
    or uid 1000 that made a user namespace mapping it to root, and an IPC namespace
    (``unshare -Ur --ipc``)."""
    p = k.init.fork()
    if uid:
        become_user(p, uid)
        p.unshare(CLONE_NEWUSER)
        wr(p, "/proc/self/uid_map", f"0 {uid} 1")
        wr(p, "/proc/self/setgroups", "deny")
        wr(p, "/proc/self/gid_map", f"0 {uid} 1")
    p.unshare(CLONE_NEWIPC)
    return p


# --- the scenarios, through ipcsim ------------------------------------------------------------
def m_lifecycle(p):
    out = {"unshare": errname(p.unshare, CLONE_NEWPID),
           "pfc": rl(p, "/proc/self/ns/pid_for_children"),
           "again": errname(p.unshare, CLONE_NEWPID)}
    a = p.fork()
    out["a"] = [a.getpid(), a.getppid(), a.getpgid(0)]
    b = p.fork()
    out["b"] = [b.getpid(), b.getppid()]
    out["a in pfc"] = (rl(p, f"/proc/{a.pid}/ns/pid")
                       == rl(p, "/proc/self/ns/pid_for_children"))
    out["again after"] = errname(p.unshare, CLONE_NEWPID)
    out["TERM"] = errname(p.kill, a.pid, SIGTERM)
    out["a after TERM"] = p.wait(a.pid, WNOHANG)[0] == 0
    out["KILL"] = errname(p.kill, a.pid, SIGKILL)
    out["a before b is reaped"] = p.wait(a.pid, WNOHANG)[0] == a.pid
    out["b status"] = p.wait(b.pid)[1]
    out["a status"] = p.wait(a.pid)[1]
    out["fork"] = fork_try(p)
    out["pfc after"] = (rl(p, "/proc/self/ns/pid_for_children") == out["pfc"]
                        or out["pfc"] == "ENOENT")
    return out


def m_inside(p):
    p.unshare(CLONE_NEWPID)
    a = p.fork()
    got = []
    a.signal(SIGUSR1, lambda sig: got.append(1))
    c = a.fork()
    res = {"pid": c.getpid(), "ppid": c.getppid(), "KILL 1": errname(c.kill, 1, 9),
           "TERM 1": errname(c.kill, 1, 15), "USR1 1": errname(c.kill, 1, SIGUSR1),
           "-1 alone": errname(c.kill, -1, 0)}
    g = c.fork()
    res["-1 with g"] = errname(c.kill, -1, 0)
    c.exit(5)
    out = {"c": res, "wait c": list(a.wait(c.pid_in(a.pid_ns)))}
    out["g"] = {"g pid": g.getpid(), "g ppid": g.getppid()}
    g.exit(0)
    out["wait g"] = list(a.wait(-1))
    out["init"] = [a.getpid(), a.getppid(), len(got)]
    out["-1 init"] = errname(a.kill, -1, 0)
    a.exit(0)
    out["a status"] = p.wait(a.pid)[1]
    return out


def m_nesting(p):
    proc = p.fork()
    for level in range(1, 40):
        err = errname(proc.unshare, CLONE_NEWPID)
        if err:
            return [level, err]
        proc = proc.fork()
    return None


def m_setns_rules(p):
    fd0 = p.open("/proc/self/ns/pid", O_RDONLY)
    out = {"unshare": errname(p.unshare, CLONE_NEWPID)}
    a = p.fork()
    res = {"unshare": errname(a.unshare, CLONE_NEWPID)}
    b = a.fork()
    fdy = a.open("/proc/self/ns/pid_for_children", O_RDONLY)
    y_link = rl(a, "/proc/self/ns/pid_for_children")
    fdx = a.open("/proc/self/ns/pid", O_RDONLY)
    res["initial"] = errname(a.setns, fd0, CLONE_NEWPID)
    res["own, as ipc"] = errname(a.setns, fdx, CLONE_NEWIPC)
    res["own"] = errname(a.setns, fdx, CLONE_NEWPID)
    res["pfc own"] = rl(a, "/proc/self/ns/pid_for_children") == rl(a, "/proc/self/ns/pid")
    res["below"] = errname(a.setns, fdy, 0)
    res["pfc below"] = rl(a, "/proc/self/ns/pid_for_children") == y_link
    res["b"] = [errname(a.kill, b.pid_in(a.pid_ns), 9), a.wait(b.pid_in(a.pid_ns))[1]]
    out["a"] = res
    fdx = p.open(f"/proc/{a.pid}/ns/pid", O_RDONLY)
    out["join x"] = errname(p.setns, fdx, CLONE_NEWPID)
    c = p.fork()
    out["c"] = [c.getpid(), c.getppid()]
    c.exit(0)
    p.wait(c.pid)
    out["back"] = errname(p.setns, fd0, CLONE_NEWPID)
    out["pfc initial"] = rl(p, "/proc/self/ns/pid_for_children") == rl(p, "/proc/self/ns/pid")
    p.kill(a.pid, 9)
    p.wait(a.pid)
    return out


def m_ioctls(p):
    labels = {}

    def label(text):
        if not text.startswith("pid:") and not text.startswith("user:"):
            return text
        return labels.setdefault(text, "%s%d" % (text.split(":")[0], len(labels)))

    def ioctl(q, fd, req):
        got = errname(q.ioctl, fd, req)
        return got if isinstance(got, str) or req == NS_GET_NSTYPE else fd_link(q, got)

    fd0 = p.open("/proc/self/ns/pid", O_RDONLY)
    out = {"mine": label(rl(p, "/proc/self/ns/pid")), "user": label(rl(p, "/proc/self/ns/user")),
           "initial parent": label(str(ioctl(p, fd0, NS_GET_PARENT)))}
    p.unshare(CLONE_NEWPID)
    a = p.fork()
    fd = a.open("/proc/self/ns/pid", O_RDONLY)
    inner = [rl(a, "/proc/self/ns/pid"), str(ioctl(a, fd, NS_GET_PARENT)),
             str(ioctl(a, fd, NS_GET_USERNS))]
    fd = p.open(f"/proc/{a.pid}/ns/pid", O_RDONLY)
    out["child"] = label(rl(p, f"/proc/{a.pid}/ns/pid"))
    out["child parent"] = label(str(ioctl(p, fd, NS_GET_PARENT)))
    out["child userns"] = label(str(ioctl(p, fd, NS_GET_USERNS)))
    out["nstype"] = ioctl(p, fd, NS_GET_NSTYPE)
    out["inside"] = [label(x) for x in inner]
    p.kill(a.pid, 9)
    p.wait(a.pid)
    return out


def m_sysv(p):
    qid = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    shmid = p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    semid = p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)

    def msg_stat(q):
        ds = q.msgctl(qid, IPC_STAT)
        return [ds.msg_lspid, ds.msg_lrpid]

    def shm_stat(q):
        ds = q.shmctl(shmid, IPC_STAT)
        return [ds.shm_cpid, ds.shm_lpid]

    def sysvipc_msg(q):
        row = q.read_file("/proc/sysvipc/msg").splitlines()[1].split()
        return [int(row[5]), int(row[6])]

    p.unshare(CLONE_NEWPID)
    a = p.fork()
    s = a.fork()
    s.semop(semid, [(0, 1, 0)])
    s.msgsnd(qid, 1, b"x")
    s.shmdt(s.shmat(shmid))
    inner = {"s": {"nspid": list(s.nspid[1:]), "msg": msg_stat(s), "shm": shm_stat(s),
                   "sem": s.semctl(semid, 0, GETPID), "sysvipc": sysvipc_msg(s)}}
    s.exit(0)
    a.wait(s.pid_in(a.pid_ns))
    inner["after"] = {"msg": msg_stat(a), "shm": shm_stat(a), "sem": a.semctl(semid, 0, GETPID)}
    names = {p.pid: "P", s.pid: "S", 0: 0}
    out = {"inside": inner, "outside": {
        "msg": [names.get(n, n) for n in msg_stat(p)],
        "shm": [names.get(n, n) for n in shm_stat(p)],
        "sem": names.get(p.semctl(semid, 0, GETPID)),
        "sysvipc": [names.get(n, n) for n in sysvipc_msg(p)]}}
    p.msgrcv(qid, 8, 0)
    out["outside"]["after receive"] = [names.get(n, n) for n in msg_stat(p)]
    out["inside after receive"] = {"msg": msg_stat(a), "sysvipc": sysvipc_msg(a)}
    a.exit(0)
    p.wait(a.pid)
    return out


def m_clone_flags(p):
    out = {"thread": errname(p.clone, CLONE_NEWPID | CLONE_THREAD),
           "thread, sighand, vm": errname(p.clone, CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND
                                          | CLONE_VM)}
    p.unshare(CLONE_NEWPID)
    a = p.fork()
    out["init"] = {"parent": errname(a.clone, CLONE_PARENT | 17)}
    a.exit(0)
    p.wait(a.pid)
    return out


def m_owner(p):
    q = p.fork()
    q.unshare(CLONE_NEWUSER)
    q.unshare(CLONE_NEWPID)
    a = q.fork()
    fdx = p.open(f"/proc/{a.pid}/ns/pid", O_RDONLY)
    out = {"join": errname(p.setns, fdx, CLONE_NEWPID)}
    d = p.fork()
    out["d"] = {"unshare": errname(d.unshare, CLONE_NEWPID), "pid": d.getpid()}
    d.exit(0)
    p.wait(d.pid)
    p.kill(a.pid, 9)
    p.kill(q.pid, 9)
    p.wait(q.pid)
    return out


def m_max_pid(p):
    out = {"userns": errname(p.unshare, CLONE_NEWUSER)}
    out["write"] = errname(wr, p, "/proc/sys/user/max_pid_namespaces", "1")
    out["read"] = p.read_file("/proc/sys/user/max_pid_namespaces")
    out["first"] = errname(p.unshare, CLONE_NEWPID)
    a = p.fork()
    out["below"] = errname(a.unshare, CLONE_NEWPID)
    a.exit(0)
    p.wait(a.pid)
    return out


def m_holds(p):
    from ipcsim.kernel.mqueue import SigEvent
    qid = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    semid = p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)
    mq = p.mq_open("/holds", os.O_CREAT | os.O_RDWR, 0o600)
    p.mq_unlink("/holds")
    sigrt = signals.SIGRTMIN
    p.sigprocmask(ipcsim.SIG_BLOCK, [sigrt])
    out = {"userns": errname(p.unshare, CLONE_NEWUSER),
           "write": errname(wr, p, "/proc/sys/user/max_pid_namespaces", "1")}

    def attempt():
        t = p.fork()
        res = errname(t.unshare, CLONE_NEWPID)
        t.exit(0)
        p.wait(t.pid)
        return res

    def freed():
        return "freed" if attempt() == 0 else "held"

    def held():
        return "held" if attempt() == "ENOSPC" else "freed"

    def in_ns(action, newipc=False):
        h = p.fork()
        if newipc:
            h.unshare(CLONE_NEWIPC)
        h.unshare(CLONE_NEWPID)
        a = h.fork()
        action(a)
        a.exit(0)
        h.wait(a.pid_in(h.pid_ns))
        pid = a.pid_in(p.pid_ns)

        def done():
            h.exit(0)
            p.wait(h.pid)
        return pid, h, done

    def ns_with(action):
        pid, _, done = in_ns(action)
        done()
        return pid

    ns_with(lambda a: None)
    out["control"] = freed()
    ns_with(lambda a: a.msgsnd(qid, 1, b"x"))
    out["msg lspid"] = [held()]
    p.msgsnd(qid, 1, b"y")
    out["msg lspid"].append(freed())
    ns_with(lambda a: a.msgrcv(qid, 8, 0))
    out["msg lrpid"] = [held()]
    p.msgctl(qid, ipcsim.IPC_RMID)
    out["msg lrpid"].append(freed())

    ns_with(lambda a: a.semop(semid, [(0, 1, 0)]))
    out["sem"] = [held()]
    p.semctl(semid, 0, ipcsim.SETVAL, 0)
    out["sem"].append(freed())

    def make_segment(a):
        shmid = a.shmget(0x1717, 4096, IPC_CREAT | 0o600)
        a.shmdt(a.shmat(shmid))

    ns_with(make_segment)
    shmid = p.shmget(0x1717, 0, 0)
    out["shm"] = [held()]
    p.shmdt(p.shmat(shmid))
    out["shm"].append(held())
    p.shmctl(shmid, ipcsim.IPC_RMID)
    out["shm"].append(freed())

    p.mq_notify(mq, SigEvent(SIGEV_SIGNAL, sigrt))
    sender = ns_with(lambda a: a.mq_send(mq, b"x"))
    pending = sigrt in p.sigpending_signals()
    out["siginfo"] = [pending, freed()]
    got = []
    p.signal(sigrt, lambda sig: got.append(p.last_siginfo))
    p.sigprocmask(ipcsim.SIG_UNBLOCK, [sigrt])
    out["siginfo"] += [got[0].si_pid == sender, got[0].si_code]

    def in_own_ipc(a):
        a.msgsnd(a.msgget(IPC_PRIVATE, IPC_CREAT | 0o600), 1, b"x")

    _, h, done = in_ns(in_own_ipc, newipc=True)
    fd = p.open(f"/proc/{h.pid}/ns/ipc", O_RDONLY)
    done()
    out["ipc namespace"] = [held()]
    p.close(fd)
    out["ipc namespace"].append(freed())
    p.semctl(semid, 0, ipcsim.IPC_RMID)
    p.close(mq)
    return out


SCENARIOS = ["lifecycle", "inside", "nesting", "setns_rules", "ioctls", "sysv", "clone_flags",
             "owner", "max_pid", "holds"]


# --- the same scenarios on Linux ----------------------------------------------------------------
REAL_SCRIPT = r'''
import ctypes, errno, json, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
NEWPID, NEWIPC = 0x20000000, 0x08000000
NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE = 0xB701, 0xB702, 0xB703
IPC_CREAT, IPC_RMID, IPC_STAT, GETPID = 0o1000, 0, 2, 11


def err():
    return errno.errorcode[ctypes.get_errno()]


def unshare(flags):
    return 0 if libc.unshare(flags) == 0 else err()


def setns(fd, nstype=0):
    return 0 if libc.setns(fd, nstype) == 0 else err()


def kill(pid, sig):
    return 0 if libc.kill(pid, sig) == 0 else err()


def rl(path):
    try:
        return os.readlink(path)
    except OSError as e:
        return errno.errorcode[e.errno]


def ioctl(fd, req):
    r = libc.ioctl(fd, req)
    if r < 0:
        return err()
    if req == NS_GET_NSTYPE:
        return r
    text = os.readlink("/proc/self/fd/%d" % r)
    os.close(r)
    return text


def fork_try():
    try:
        pid = os.fork()
    except OSError as e:
        return errno.errorcode[e.errno]
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return "forked"


def send(w, value):
    os.write(w, (json.dumps(value) + "\n").encode())


def recv(r):
    line = b""
    while not line.endswith(b"\n"):
        line += os.read(r, 1)
    return json.loads(line)


def lifecycle():
    out = {"unshare": unshare(NEWPID), "pfc": rl("/proc/self/ns/pid_for_children"),
           "again": unshare(NEWPID)}
    r, w = os.pipe()
    a = os.fork()
    if a == 0:
        send(w, [os.getpid(), os.getppid(), os.getpgid(0)])
        while True:
            signal.pause()
    out["a"] = recv(r)
    b = os.fork()
    if b == 0:
        send(w, [os.getpid(), os.getppid()])
        while True:
            signal.pause()
    out["b"] = recv(r)
    out["a in pfc"] = rl("/proc/%d/ns/pid" % a) == rl("/proc/self/ns/pid_for_children")
    out["again after"] = unshare(NEWPID)
    out["TERM"] = kill(a, signal.SIGTERM)
    time.sleep(0.1)
    out["a after TERM"] = os.waitpid(a, os.WNOHANG)[0] == 0
    out["KILL"] = kill(a, signal.SIGKILL)
    time.sleep(0.2)
    out["a before b is reaped"] = os.waitpid(a, os.WNOHANG)[0] == a
    out["b status"] = os.waitpid(b, 0)[1]
    out["a status"] = os.waitpid(a, 0)[1]
    out["fork"] = fork_try()
    out["pfc after"] = rl("/proc/self/ns/pid_for_children") == out["pfc"] or out["pfc"] == "ENOENT"
    return out


def inside():
    unshare(NEWPID)
    r, w = os.pipe()
    r2, w2 = os.pipe()
    a = os.fork()
    if a == 0:
        got = []
        signal.signal(signal.SIGUSR1, lambda *_: got.append(1))
        c = os.fork()
        if c == 0:
            res = {"pid": os.getpid(), "ppid": os.getppid(), "KILL 1": kill(1, 9),
                   "TERM 1": kill(1, 15), "USR1 1": kill(1, signal.SIGUSR1),
                   "-1 alone": kill(-1, 0)}
            g = os.fork()
            if g == 0:
                while os.getppid() != 1:
                    time.sleep(0.01)
                send(w, {"g pid": os.getpid(), "g ppid": os.getppid()})
                os._exit(0)
            res["-1 with g"] = kill(-1, 0)
            send(w, res)
            os._exit(5)
        res = {"c": recv(r)}
        res["wait c"] = list(os.waitpid(c, 0))
        res["g"] = recv(r)
        res["wait g"] = list(os.waitpid(-1, 0))
        res["init"] = [os.getpid(), os.getppid(), len(got)]
        res["-1 init"] = kill(-1, 0)
        send(w2, res)
        os._exit(0)
    out = recv(r2)
    out["a status"] = os.waitpid(a, 0)[1]
    return out


def nesting():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for level in range(1, 40):
            e = unshare(NEWPID)
            if e:
                send(w, [level, e])
                os._exit(0)
            c = os.fork()
            if c:
                os.waitpid(c, 0)
                os._exit(0)
    out = recv(r)
    os.waitpid(pid, 0)
    return out


def setns_rules():
    fd0 = os.open("/proc/self/ns/pid", os.O_RDONLY)
    out = {"unshare": unshare(NEWPID)}
    r, w = os.pipe()
    a = os.fork()
    if a == 0:
        res = {"unshare": unshare(NEWPID)}
        b = os.fork()
        if b == 0:
            while True:
                signal.pause()
        fdy = os.open("/proc/self/ns/pid_for_children", os.O_RDONLY)
        y_link = rl("/proc/self/ns/pid_for_children")
        fdx = os.open("/proc/self/ns/pid", os.O_RDONLY)
        res["initial"] = setns(fd0, NEWPID)
        res["own, as ipc"] = setns(fdx, NEWIPC)
        res["own"] = setns(fdx, NEWPID)
        res["pfc own"] = rl("/proc/self/ns/pid_for_children") == rl("/proc/self/ns/pid")
        res["below"] = setns(fdy, 0)
        res["pfc below"] = rl("/proc/self/ns/pid_for_children") == y_link
        res["b"] = [kill(b, 9), os.waitpid(b, 0)[1]]
        send(w, res)
        while True:
            signal.pause()
    out["a"] = recv(r)
    fdx = os.open("/proc/%d/ns/pid" % a, os.O_RDONLY)
    out["join x"] = setns(fdx, NEWPID)
    c = os.fork()
    if c == 0:
        send(w, [os.getpid(), os.getppid()])
        os._exit(0)
    out["c"] = recv(r)
    os.waitpid(c, 0)
    out["back"] = setns(fd0, NEWPID)
    out["pfc initial"] = rl("/proc/self/ns/pid_for_children") == rl("/proc/self/ns/pid")
    kill(a, 9)
    os.waitpid(a, 0)
    return out


def ioctls():
    labels = {}

    def label(text):
        if not text.startswith("pid:") and not text.startswith("user:"):
            return text
        return labels.setdefault(text, "%s%d" % (text.split(":")[0], len(labels)))

    fd0 = os.open("/proc/self/ns/pid", os.O_RDONLY)
    mine = label(rl("/proc/self/ns/pid"))
    user = label(rl("/proc/self/ns/user"))
    out = {"mine": mine, "user": user, "initial parent": label(str(ioctl(fd0, NS_GET_PARENT)))}
    unshare(NEWPID)
    r, w = os.pipe()
    a = os.fork()
    if a == 0:
        fd = os.open("/proc/self/ns/pid", os.O_RDONLY)
        send(w, [rl("/proc/self/ns/pid"), str(ioctl(fd, NS_GET_PARENT)),
                 str(ioctl(fd, NS_GET_USERNS))])
        while True:
            signal.pause()
    inner = recv(r)
    fd = os.open("/proc/%d/ns/pid" % a, os.O_RDONLY)
    out["child"] = label(rl("/proc/%d/ns/pid" % a))
    out["child parent"] = label(str(ioctl(fd, NS_GET_PARENT)))
    out["child userns"] = label(str(ioctl(fd, NS_GET_USERNS)))
    out["nstype"] = ioctl(fd, NS_GET_NSTYPE)
    out["inside"] = [label(x) for x in inner]
    kill(a, 9)
    os.waitpid(a, 0)
    return out


def sysv():
    """The pids System V IPC shows, from inside a PID namespace and from its parent."""
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    buf = ctypes.create_string_buffer(256)
    qid = libc.msgget(0, IPC_CREAT | 0o600)
    shmid = libc.shmget(0, 4096, IPC_CREAT | 0o600)
    semid = libc.semget(0, 1, IPC_CREAT | 0o600)

    def msg_stat():
        # struct msqid_ds (x86-64): ipc_perm 48, stime 8, rtime 8, ctime 8, cbytes 8,
        # qnum 8, qbytes 8, lspid 4, lrpid 4
        assert libc.msgctl(qid, IPC_STAT, buf) == 0
        return list(int.from_bytes(buf.raw[o:o + 4], "little") for o in (96, 100))

    def shm_stat():
        # struct shmid_ds: ipc_perm 48, segsz 8, atime 8, dtime 8, ctime 8, cpid 4, lpid 4
        assert libc.shmctl(shmid, IPC_STAT, buf) == 0
        return list(int.from_bytes(buf.raw[o:o + 4], "little") for o in (80, 84))

    def sysvipc_msg():
        with open("/proc/sysvipc/msg") as f:
            row = f.read().splitlines()[1].split()
        return [int(row[5]), int(row[6])]

    me = os.getpid()
    unshare(NEWPID)
    r, w = os.pipe()          # S -> A
    r2, w2 = os.pipe()        # A -> P
    r3, w3 = os.pipe()        # P -> A
    a = os.fork()
    if a == 0:
        s = os.fork()
        if s == 0:
            sop = (ctypes.c_short * 3)(0, 1, 0)
            libc.semop(semid, sop, 1)
            libc.msgsnd(qid, b"\x01\0\0\0\0\0\0\0x", 1, 0)
            addr = libc.shmat(shmid, None, 0)
            libc.shmdt(ctypes.c_void_p(addr))
            with open("/proc/self/status") as f:
                nspid = [l.split()[1:] for l in f if l.startswith("NSpid")][0]
            send(w, {"nspid": [int(n) for n in nspid], "msg": msg_stat(), "shm": shm_stat(),
                     "sem": libc.semctl(semid, 0, GETPID), "sysvipc": sysvipc_msg()})
            os._exit(0)
        res = {"s": recv(r)}
        os.waitpid(s, 0)
        res["after"] = {"msg": msg_stat(), "shm": shm_stat(), "sem": libc.semctl(semid, 0, GETPID)}
        send(w2, res)
        recv(r3)                      # until the parent has received
        res = {"msg": msg_stat(), "sysvipc": sysvipc_msg()}
        send(w2, res)
        os._exit(0)
    inner = recv(r2)
    s_global = inner["s"]["nspid"][0]
    names = {me: "P", s_global: "S", 0: 0}
    out = {"inside": inner, "outside": {
        "msg": [names.get(n, n) for n in msg_stat()], "shm": [names.get(n, n) for n in shm_stat()],
        "sem": names.get(libc.semctl(semid, 0, GETPID)),
        "sysvipc": [names.get(n, n) for n in sysvipc_msg()]}}
    libc.msgrcv(qid, buf, 8, 0, 0)
    out["outside"]["after receive"] = [names.get(n, n) for n in msg_stat()]
    send(w3, "go")
    out["inside after receive"] = recv(r2)
    os.waitpid(a, 0)
    inner["s"]["nspid"] = inner["s"]["nspid"][1:]
    libc.msgctl(qid, IPC_RMID, None)
    libc.shmctl(shmid, IPC_RMID, None)
    libc.semctl(semid, 0, IPC_RMID)
    return out


def rawclone(flags):
    libc.syscall.restype = ctypes.c_long
    libc.syscall.argtypes = [ctypes.c_long] * 6
    pid = libc.syscall(56, flags, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid == -1:
        return err()
    os.waitpid(pid, 0x40000000)
    return "cloned"


def clone_flags():
    out = {"thread": rawclone(NEWPID | 0x10000),
           "thread, sighand, vm": rawclone(NEWPID | 0x10000 | 0x800 | 0x100)}
    unshare(NEWPID)
    r, w = os.pipe()
    a = os.fork()
    if a == 0:
        send(w, {"parent": rawclone(0x8000 | signal.SIGCHLD)})
        os._exit(0)
    out["init"] = recv(r)
    os.waitpid(a, 0)
    return out


def owner():
    r, w = os.pipe()
    q = os.fork()
    if q == 0:
        unshare(0x10000000)
        unshare(NEWPID)
        a = os.fork()
        if a == 0:
            while True:
                signal.pause()
        send(w, a)
        while True:
            signal.pause()
    a = recv(r)
    fdx = os.open("/proc/%d/ns/pid" % a, os.O_RDONLY)
    out = {"join": setns(fdx, NEWPID)}
    d = os.fork()
    if d == 0:
        send(w, {"unshare": unshare(NEWPID), "pid": os.getpid()})
        os._exit(0)
    out["d"] = recv(r)
    os.waitpid(d, 0)
    kill(a, 9)
    kill(q, 9)
    os.waitpid(q, 0)
    return out


def max_pid():
    def wr(path, text):
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                return os.write(fd, text.encode())
            finally:
                os.close(fd)
        except OSError as e:
            return errno.errorcode[e.errno]

    out = {"userns": unshare(0x10000000)}
    out["write"] = wr("/proc/sys/user/max_pid_namespaces", "1")
    with open("/proc/sys/user/max_pid_namespaces") as f:
        out["read"] = f.read()
    out["first"] = unshare(NEWPID)
    r, w = os.pipe()
    a = os.fork()
    if a == 0:
        send(w, unshare(NEWPID))
        os._exit(0)
    out["below"] = recv(r)
    os.waitpid(a, 0)
    return out


def holds():
    """What keeps a PID namespace whose processes have all been reaped: IPC objects naming
    one of its pids do, a pending siginfo from one of them does not. max_pid_namespaces is
    1 in a user namespace of our own, so a namespace that lives on makes unshare(NEWPID)
    ENOSPC. Linux frees a namespace some RCU grace periods after its last reference goes:
    "freed" waits up to 5 s for unshare to work again; "held" waits ten times as long as
    the first namespace took to go (at least 0.3 s) before it tries."""
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    buf = ctypes.create_string_buffer(64)
    SETVAL, SIGRT, KEY = 16, signal.SIGRTMIN, 0x1717

    class SigEvent(ctypes.Structure):
        _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int),
                    ("notify", ctypes.c_int), ("pad", ctypes.c_char * 48)]

    qid = libc.msgget(0, IPC_CREAT | 0o600)
    semid = libc.semget(0, 1, IPC_CREAT | 0o600)
    mq = libc.mq_open(b"/holds", os.O_CREAT | os.O_RDWR, 0o600, None)
    libc.mq_unlink(b"/holds")
    signal.pthread_sigmask(signal.SIG_BLOCK, [SIGRT])
    out = {"userns": unshare(0x10000000)}
    with open("/proc/sys/user/max_pid_namespaces", "w") as f:
        out["write"] = f.write("1")

    def attempt():
        r, w = os.pipe()
        t = os.fork()
        if t == 0:
            send(w, unshare(NEWPID))
            os._exit(0)
        res = recv(r)
        os.waitpid(t, 0)
        os.close(r)
        os.close(w)
        return res

    def freed():
        end = time.monotonic() + 5
        while attempt() != 0:
            if time.monotonic() > end:
                return "held"
            time.sleep(0.01)
        return "freed"

    def in_ns(action, newipc=False):
        """A helper makes a PID namespace (once the last one has gone) whose init runs
        action() and exits; the helper reaps it, tells its pid and waits for a word before
        it exits in turn; we reap the helper."""
        r, w = os.pipe()
        r2, w2 = os.pipe()
        h = os.fork()
        if h == 0:
            if newipc:
                unshare(NEWIPC)
            end = time.monotonic() + 5
            while unshare(NEWPID) != 0 and time.monotonic() < end:
                time.sleep(0.01)
            a = os.fork()
            if a == 0:
                action()
                os._exit(0)
            os.waitpid(a, 0)
            send(w, a)
            recv(r2)
            os._exit(0)
        a = recv(r)
        return a, h, lambda: (send(w2, "go"), os.waitpid(h, 0))

    def ns_with(action):
        a, _, done = in_ns(action)
        done()
        return a

    start = time.monotonic()
    ns_with(lambda: None)
    out["control"] = freed()
    settle = max(0.3, 10 * (time.monotonic() - start))

    def held():
        time.sleep(settle)
        return "held" if attempt() == "ENOSPC" else "freed"

    ns_with(lambda: libc.msgsnd(qid, b"\x01\0\0\0\0\0\0\0x", 1, 0))
    out["msg lspid"] = [held()]
    libc.msgsnd(qid, b"\x01\0\0\0\0\0\0\0y", 1, 0)          # the last sender is us now
    out["msg lspid"].append(freed())
    ns_with(lambda: libc.msgrcv(qid, buf, 8, 0, 0))
    out["msg lrpid"] = [held()]
    libc.msgctl(qid, IPC_RMID, None)
    out["msg lrpid"].append(freed())

    ns_with(lambda: libc.semop(semid, (ctypes.c_short * 3)(0, 1, 0), 1))
    out["sem"] = [held()]
    libc.semctl(semid, 0, SETVAL, ctypes.c_int(0))        # sempid is us now
    out["sem"].append(freed())

    def make_segment():
        shmid = libc.shmget(KEY, 4096, IPC_CREAT | 0o600)
        libc.shmdt(ctypes.c_void_p(libc.shmat(shmid, None, 0)))

    ns_with(make_segment)
    shmid = libc.shmget(KEY, 0, 0)
    out["shm"] = [held()]
    libc.shmdt(ctypes.c_void_p(libc.shmat(shmid, None, 0)))  # lpid is us; cpid the creator
    out["shm"].append(held())
    libc.shmctl(shmid, IPC_RMID, None)
    out["shm"].append(freed())

    ev = SigEvent(None, SIGRT, 0)                          # SIGEV_SIGNAL
    libc.mq_notify(mq, ctypes.byref(ev))
    sender = ns_with(lambda: libc.mq_send(mq, b"x", 1, 0))
    pending = SIGRT in signal.sigpending()
    out["siginfo"] = [pending, freed()]
    info = signal.sigtimedwait([SIGRT], 0)
    out["siginfo"] += [info.si_pid == sender, info.si_code]

    def in_own_ipc():
        q = libc.msgget(0, IPC_CREAT | 0o600)
        libc.msgsnd(q, b"\x01\0\0\0\0\0\0\0x", 1, 0)

    _, h, done = in_ns(in_own_ipc, newipc=True)
    fd = os.open("/proc/%d/ns/ipc" % h, os.O_RDONLY)
    done()
    out["ipc namespace"] = [held()]
    os.close(fd)
    out["ipc namespace"].append(freed())
    libc.semctl(semid, 0, IPC_RMID)
    os.close(mq)
    return out


def enter(uid):
    """What the model's container() does: as root a new IPC namespace (unshare --ipc), as
    another uid first a user namespace mapping it to root (unshare -Ur --ipc)."""
    if uid:
        if libc.unshare(0x10000000) != 0:
            print(json.dumps("unshare: " + err()))
            sys.exit(0)
        for name, text in (("uid_map", "0 %d 1" % uid), ("setgroups", "deny"),
                           ("gid_map", "0 %d 1" % uid)):
            with open("/proc/self/" + name, "w") as f:
                f.write(text)
    if libc.unshare(NEWIPC) != 0:
        print(json.dumps("unshare: " + err()))
        sys.exit(0)


enter(int(sys.argv[2]))
print(json.dumps(globals()[sys.argv[1]]()))
'''


def run_real(scenario, uid):
    """The scenario's JSON on Linux: as root in a new IPC namespace, or as ``uid`` in a user
    namespace mapping it to root and an IPC namespace (its IPC objects go with that
    namespace)."""
    reason = as_user_unavailable(uid)
    if reason:
        pytest.skip(reason)
    out = run_python_as(uid, REAL_SCRIPT, [scenario, str(uid)])
    if out.returncode != 0:
        raise AssertionError(f"the real run of {scenario} failed: {out.stderr.strip()[-300:]}")
    result = json.loads(out.stdout)
    if isinstance(result, str) and result.startswith("unshare: "):
        pytest.skip(f"this machine refuses the namespaces to uid {uid}: {result}")
    return result


def run_model(scenario, uid):
    with ipcsim.Kernel() as k:
        return json.loads(json.dumps(globals()["m_" + scenario](container(k, uid))))


@pytest.mark.parametrize("uid", [0, 1000])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_as_the_real_kernel(scenario, uid):
    assert run_model(scenario, uid) == run_real(scenario, uid)


# --- scenarios with a PID namespace of their own, as its pid 1 ------------------------------------
# Each runs as pid 1 of a PID namespace owned by a user namespace of its own (root there), so
# that a pid_max it writes (Linux 6.14 on: each namespace has one) can only be that
# namespace's. The model's side plays it in the initial namespace, as its init.
_OWN_NS_SCRIPT = r"""
import ctypes, errno, json, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
scenario, uid = sys.argv[1], int(sys.argv[2])
NEWPID = 0x20000000


def err(fn, *args):
    try:
        value = fn(*args)
    except OSError as e:
        return errno.errorcode[e.errno]
    return 0 if value is None else value


def nspid():
    with open("/proc/self/status") as f:
        return [int(n) for n in next(l for l in f if l.startswith("NSpid:")).split()[1:]]


def pid_max(n):
    with open("/proc/sys/kernel/pid_max", "w") as f:
        f.write(str(n))


def child(fn):
    pid = os.fork()
    if pid == 0:
        fn()
        os._exit(0)
    return pid


def exhausted():
    out = {"me": os.getpid()}
    pid_max(301)
    kids = []
    while True:
        try:
            kids.append(child(signal.pause))
        except OSError as e:
            out["fill"] = [errno.errorcode[e.errno], len(kids)]
            break
    libc.unshare(NEWPID)
    try:
        os.waitpid(child(lambda: None), 0)
        out["first"] = "forked"
    except OSError as e:
        out["first"] = errno.errorcode[e.errno]
    os.kill(kids.pop(), signal.SIGKILL)
    os.wait()
    r, w = os.pipe()
    os.waitpid(child(lambda: os.write(w, str(os.getpid()).encode())), 0)
    out["next"] = int(os.read(r, 20))
    for pid in kids:
        os.kill(pid, signal.SIGKILL)
    return out


def reap_until(last):
    while True:
        pid = child(lambda: None)
        os.waitpid(pid, 0)
        if pid >= last:
            return


def group_keeps_number():
    pid_max(400)
    reap_until(320)
    r, w = os.pipe()

    def leader():
        os.setpgid(0, 0)
        os.write(w, str(child(signal.pause)).encode())

    leader_pid = child(leader)
    member = int(os.read(r, 20))
    os.waitpid(leader_pid, 0)
    out = {"leader": leader_pid, "member's group": os.getpgid(member),
           "kill leader": err(os.kill, leader_pid, 0),
           "kill group": err(os.kill, -leader_pid, 0)}
    seen = set()
    for _ in range(200):
        pid = child(lambda: None)
        os.waitpid(pid, 0)
        seen.add(pid)
    out["numbers"] = [len(seen), leader_pid in seen]
    os.kill(member, signal.SIGKILL)
    os.waitpid(member, 0)
    out["kill group after"] = err(os.kill, -leader_pid, 0)
    for _ in range(200):
        pid = child(lambda: None)
        os.waitpid(pid, 0)
        if pid == leader_pid:
            out["reused after"] = True
            break
    return out


def group_keeps_init():
    libc.unshare(NEWPID)
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()

    def init():
        os.write(w1, ("%-20d" % nspid()[0]).encode())
        r3, w3 = os.pipe()

        def leader():
            os.setpgid(0, 0)
            os.write(w3, str(nspid()[-2]).encode())
            signal.pause()

        pid = child(leader)
        os.write(w1, os.read(r3, 20))
        os.read(r2, 1)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.write(w1, b"r")
        os.read(r2, 1)
        os._exit(7)

    init_pid = child(init)
    host_pid = int(os.read(r1, 20))
    leader = int(os.read(r1, 20))
    out = {"join": err(os.setpgid, 0, leader)}
    os.write(w2, b"r")
    os.read(r1, 1)
    out.update({"kill leader": err(os.kill, leader, 0), "kill group": err(os.kill, -leader, 0),
                "group": os.getpgid(0) == leader})
    os.write(w2, b"x")
    for _ in range(1000):                        # until the init is exiting (PF_EXITING)
        with open("/proc/%d/stat" % host_pid) as f:
            if int(f.read().rsplit(")", 1)[1].split()[6]) & 0x4:
                break
        time.sleep(0.01)
    time.sleep(0.2)                              # (it would be a zombie long before)
    out["init reaped while the group lives"] = os.waitpid(init_pid, os.WNOHANG)[0] != 0
    out["leave"] = err(os.setpgid, 0, 0)
    out["init status"] = os.WEXITSTATUS(os.waitpid(init_pid, 0)[1])
    return out


if libc.unshare(0x10000000 | NEWPID) != 0:                  # CLONE_NEWUSER | CLONE_NEWPID
    print(json.dumps("unshare: " + errno.errorcode[ctypes.get_errno()]))
    sys.exit(0)
for name, text in (("uid_map", "0 %d 1" % uid), ("setgroups", "deny"),
                   ("gid_map", "0 %d 1" % uid)):
    with open("/proc/self/" + name, "w") as f:
        f.write(text)
r, w = os.pipe()
if os.fork():
    os.close(w)
    print(os.read(r, 65536).decode())
    os.wait()
    sys.exit(0)
libc.prctl(1, signal.SIGKILL)          # PR_SET_PDEATHSIG: the namespace goes with the runner
os.write(w, json.dumps(globals()[scenario]()).encode())
"""


def run_real_own_ns(scenario, uid):
    """The scenario's JSON on Linux, as pid 1 of a PID namespace of its own."""
    reason = as_user_unavailable(uid)
    if reason:
        pytest.skip(reason)
    out = run_python_as(uid, _OWN_NS_SCRIPT, [scenario, str(uid)])
    if out.returncode != 0:
        raise AssertionError(f"the real run of {scenario} failed: {out.stderr.strip()[-300:]}")
    real = json.loads(out.stdout)
    if isinstance(real, str):
        pytest.skip(f"this machine refuses the namespaces to uid {uid}: {real}")
    return real


def m_exhausted(k):
    me = k.init
    out = {"me": me.getpid()}
    kids = []
    while True:
        try:
            kids.append(me.fork())
        except OSError as e:
            out["fill"] = [errno.errorcode[e.errno], len(kids)]
            break
    me.unshare(CLONE_NEWPID)
    out["first"] = fork_try(me)
    kids.pop().exit(0)
    me.wait()
    out["next"] = me.fork().getpid()
    return out


def reap_until(me, last):
    while True:
        c = me.fork()
        c.exit(0)
        me.wait(c.pid)
        if c.pid >= last:
            return


def m_group_keeps_number(k):
    me = k.init
    reap_until(me, 320)
    leader = me.fork()
    leader.setpgid(0, 0)
    member = leader.fork()
    leader.exit(0)
    me.wait(leader.pid)
    out = {"leader": leader.pid, "member's group": me.getpgid(member.pid),
           "kill leader": errname(me.kill, leader.pid, 0),
           "kill group": errname(me.kill, -leader.pid, 0)}
    seen = set()
    for _ in range(200):
        c = me.fork()
        c.exit(0)
        me.wait(c.pid)
        seen.add(c.pid)
    out["numbers"] = [len(seen), leader.pid in seen]
    member.exit(-SIGKILL & 0xFF)        # (an orphan: the init reaps it)
    out["kill group after"] = errname(me.kill, -leader.pid, 0)
    for _ in range(200):
        c = me.fork()
        c.exit(0)
        me.wait(c.pid)
        if c.pid == leader.pid:
            out["reused after"] = True
            break
    return out


def m_group_keeps_init(k):
    me = k.init
    me.unshare(CLONE_NEWPID)
    init = me.fork()
    leader = init.fork()
    leader.setpgid(0, 0)
    number = leader.pid_in(me.pid_ns)
    out = {"join": errname(me.setpgid, 0, number)}
    inside = leader.getpid()
    init.kill(inside, SIGKILL)
    init.wait(inside)
    out.update({"kill leader": errname(me.kill, number, 0),
                "kill group": errname(me.kill, -number, 0), "group": me.getpgid(0) == number})
    init.exit(7)
    out["init reaped while the group lives"] = me.wait(init.pid, WNOHANG)[0] != 0
    out["leave"] = errname(me.setpgid, 0, 0)
    out["init status"] = os.WEXITSTATUS(me.wait(init.pid)[1])
    return out


OWN_NS = {
    # (pid_max, what Linux 6.18 gave)
    "exhausted": (301, {"me": 1, "fill": ["EAGAIN", 299], "first": "EAGAIN", "next": 1}),
    "group_keeps_number": (400, {
        "leader": 321, "member's group": 321, "kill leader": "ESRCH", "kill group": 0,
        "numbers": [98, False], "kill group after": "ESRCH", "reused after": True}),
    "group_keeps_init": (400, {
        "join": 0, "kill leader": "ESRCH", "kill group": 0, "group": True,
        "init reaped while the group lives": False, "leave": 0, "init status": 7}),
}


@pytest.mark.parametrize("uid", [0, 1000])
@pytest.mark.parametrize("scenario", sorted(OWN_NS))
def test_own_namespace_scenarios_as_the_real_kernel(scenario, uid):
    """exhausted: alloc_pid() resets the cursor of a namespace that has never held a pid when
    the fork fails higher up (EAGAIN: the namespace above has no number free), so the next
    child is still pid 1, the namespace's init. group_keeps_number: a reaped leader's number
    stays taken (no new process gets it; kill(-pgid) still finds the group) until the
    group's last process is reaped. group_keeps_init: that pid is still allocated in its
    namespace, so the namespace's init, exiting, waits for it as for a process."""
    pid_max, expected = OWN_NS[scenario]
    with ipcsim.Kernel(pid_max=pid_max) as k:
        model = globals()["m_" + scenario](k)
    assert model == expected
    assert run_real_own_ns(scenario, uid) == expected


def test_a_process_group_holds_its_reaped_leaders_pid_and_namespace(k):
    """The model's own check of what the group holds: the leader's numbers at every level
    (pgrp_held), its Pid's hold on its namespace, and the namespace's init kept exiting;
    all of it goes with the group's last process."""
    me = k.init.fork()
    init = me.clone(CLONE_NEWPID)
    ns = init.pid_ns
    leader = init.fork()
    leader.setpgid(0, 0)
    inside, outside = leader.getpid(), leader.pid
    me.setpgid(0, outside)
    pid = leader.thread_pid
    init.kill(inside, SIGKILL)
    init.wait(inside)
    assert ns.pgrp_held == {inside: pid} and k.init_pid_ns.pgrp_held == {outside: pid}
    assert pid.count == 1 and ns.pid_allocated == 2
    init.exit(0)
    assert me.wait(init.pid, WNOHANG) == (0, 0) and ns.alive
    me.setpgid(0, 0)
    assert ns.pgrp_held == {} == k.init_pid_ns.pgrp_held and pid.count == 0
    assert me.wait(init.pid)[0] == init.pid
    assert not ns.alive and ns not in k.pid_namespaces


def test_a_failed_first_fork_leaves_the_namespace_without_a_reaper_until_the_next():
    """The model's own check, two levels down: the child after the failure is the new
    namespace's init; only that namespace's cursor goes back."""
    k2 = ipcsim.Kernel(pid_max=400)
    a = k2.init.fork()
    a.unshare(CLONE_NEWPID)
    inner = a.fork()                   # the first namespace's init
    inner.unshare(CLONE_NEWPID)
    while True:
        try:
            k2.init.fork()
        except OSError:
            break
    assert errname(inner.fork) == "EAGAIN"
    ns = inner.pid_ns_for_children
    assert ns.child_reaper is None and ns.last_pid == 0
    victim = k2.processes()[-1]
    victim.exit(0)
    k2.init.wait(victim.pid)
    c = inner.fork()
    # (the namespace between, which holds pids, keeps its cursor moved on: 3, not 2)
    assert c.nspid[1:] == (3, 1) and ns.child_reaper is c
    k2.close()


def test_the_real_kernel_scenarios_say_what_they_check():
    """The results the comparison above checks, as Linux 6.18 gave them (so that a model
    bug shared by both sides of a broken comparison would still show)."""
    assert run_model("lifecycle", 0) == {
        "unshare": 0, "pfc": "ENOENT", "again": "EINVAL", "a": [1, 0, 0], "b": [2, 0],
        "a in pfc": True, "again after": "EINVAL", "TERM": 0, "a after TERM": True, "KILL": 0,
        "a before b is reaped": False, "b status": 9, "a status": 9, "fork": "ENOMEM",
        "pfc after": True}
    assert run_model("nesting", 1000) == [33, "ENOSPC"]
    assert run_model("setns_rules", 1000)["a"]["initial"] == "EPERM"     # before EINVAL
    assert run_model("setns_rules", 0)["a"]["initial"] == "EINVAL"
    sysv = run_model("sysv", 0)
    assert sysv["outside"] == {"msg": ["S", 0], "shm": ["P", "S"], "sem": "S",
                               "sysvipc": ["S", 0], "after receive": ["S", "P"]}
    assert sysv["inside after receive"] == {"msg": [2, 0], "sysvipc": [2, 0]}
    # a namespace whose processes are gone lives on while IPC names one of its pids (and
    # its max_pid_namespaces charge with it), not for a pending siginfo
    assert run_model("holds", 1000) == {
        "userns": 0, "write": 1, "control": "freed", "msg lspid": ["held", "freed"],
        "msg lrpid": ["held", "freed"], "sem": ["held", "freed"],
        "shm": ["held", "held", "freed"], "siginfo": [True, "freed", True, -3],
        "ipc namespace": ["held", "freed"]}


# --- the model's own checks ---------------------------------------------------------------------
def test_the_initial_namespace(k):
    ns = k.init_pid_ns
    assert k.pid_namespaces == [ns] and ns.inum == INIT_PID_NS_INUM and ns.level == 0
    assert k.init.readlink("/proc/self/ns/pid") == "pid:[4026531836]"
    assert k.init.readlink("/proc/self/ns/pid_for_children") == "pid:[4026531836]"
    assert ns.child_reaper is k.init and ns.user_ns is k.init_user_ns
    p = k.init.fork()
    assert (p.pid, p.vpid, p.nspid, p.pid_in(ns), p.getpid()) == (2, 2, (2,), 2, 2)
    assert p.pid_ns is ns and p.pid_ns_for_children is ns


def test_clone_newpid_makes_an_init_and_its_numbers(k):
    p = k.init.fork()
    a = p.clone(CLONE_NEWPID)
    ns = a.pid_ns
    assert ns is not k.init_pid_ns and ns.parent is k.init_pid_ns and ns.level == 1
    assert ns.user_ns is k.init_user_ns and ns.child_reaper is a
    assert (a.getpid(), a.getppid(), a.nspid) == (1, 0, (a.pid, 1))
    assert p.pid_ns_for_children is k.init_pid_ns          # the caller's stays
    b = a.fork()
    c = b.fork()
    assert (b.getpid(), c.getpid(), c.getppid()) == (2, 3, 2)
    assert c.pid_in(k.init_pid_ns) == c.pid and c.pid_in(ns) == 3
    assert p.pid_in(ns) == 0                               # an ancestor is not seen
    assert [q.pid_in(ns) for q in ns.processes()] == [1, 2, 3]
    assert ns.members() == [a, b, c]
    assert rl(a, "/proc/self/ns/pid") == f"pid:[{ns.inum}]" == rl(p, f"/proc/{c.pid}/ns/pid")


def test_numbers_in_a_namespace_are_allocated_cyclically(k):
    a = k.init.clone(CLONE_NEWPID)
    kids = [a.fork() for _ in range(3)]
    assert [q.getpid() for q in kids] == [2, 3, 4]
    kids[0].exit(0)
    a.wait(2)
    assert a.fork().getpid() == 5                           # 2 is free, but not next
    assert a.pid_ns.last_pid == 5


def test_wait_and_kill_take_numbers_of_the_callers_namespace(k):
    a = k.init.clone(CLONE_NEWPID)
    b = a.fork()
    assert errname(a.kill, b.pid, 0) == "ESRCH" or b.pid == 2   # (its global number)
    assert errname(a.kill, 2, 0) == 0
    b.exit(3)
    assert a.wait(2) == (2, 3 << 8)
    c = a.fork()
    c.exit(0)
    assert a.wait(-1) == (3, 0)
    assert errname(a.wait, -1) == "ECHILD"


def test_a_process_group_outside_is_zero_inside(k):
    p = k.init.fork()
    p.setpgid(0, 0)
    a = p.clone(CLONE_NEWPID)
    assert a.pgid == p.pid and a.getpgid(0) == 0       # kept its parent's group, unseen
    b = a.fork()
    b.setpgid(0, 0)
    assert b.getpgid(0) == 2 and p.getpgid(b.pid) == b.pid
    c = b.fork()
    assert a.getpgid(c.pid_in(a.pid_ns)) == 2
    assert errname(a.kill, -2, 0) == 0                  # the group as the init numbers it
    assert errname(a.kill, -7, 0) == "ESRCH"
    assert errname(a.setpgid, 0, 9) == "EPERM"          # no group 9 there


def test_the_init_of_a_namespace_and_signals(k):
    p = k.init.fork()
    a = p.clone(CLONE_NEWPID)
    b = a.fork()
    for sig in (SIGKILL, SIGSTOP, SIGTERM):
        assert errname(b.kill, 1, sig) == 0
    assert a.alive and not a.stopped
    seen = []
    a.signal(SIGUSR1, lambda sig: seen.append(a.last_siginfo.si_pid))
    b.kill(1, SIGUSR1)
    p.kill(a.pid, SIGUSR1)
    assert seen == [2, 0]             # si_pid: the sender as the init sees it; 0 from outside
    p.kill(a.pid, SIGTERM)            # no handler: ignored, from outside too
    assert a.alive
    p.kill(a.pid, SIGSTOP)            # SIGSTOP and SIGKILL from an ancestor act
    assert a.stopped
    p.kill(a.pid, 18)                 # SIGCONT
    assert not a.stopped
    p.kill(a.pid, SIGKILL)
    assert not a.alive and not b.alive


def test_si_pid_of_kill_from_inside_is_the_senders_own_number(k):
    """kill() fills si_pid with task_tgid_vnr(current): a sender in a namespace below the
    receiver's is seen there, but the number is the sender's own."""
    p = k.init.fork()
    p.setpgid(0, 0)
    seen = []
    p.signal(SIGUSR1, lambda sig: seen.append(p.last_siginfo.si_pid))
    a = p.clone(CLONE_NEWPID)
    b = a.fork()
    b.signal(SIGUSR1, signals.SIG_IGN)
    a.signal(SIGUSR1, signals.SIG_IGN)
    b.kill(0, SIGUSR1)                # its group is p's, kept from outside: it reaches p
    assert seen == [2]


def test_orphans_go_to_the_namespaces_init_which_reaps_them(k):
    a = k.init.clone(CLONE_NEWPID)
    b = a.fork()
    c = b.fork()
    b.exit(0)
    assert c.parent is a and c.getppid() == 1 and not c.adopted
    c.exit(4)
    assert c.zombie                                   # the namespace's init must wait
    assert a.wait(-1) == (2, 0) and a.wait(-1) == (3, 4 << 8)


def test_the_death_of_an_init_kills_the_namespace_nested_ones_too(k):
    p = k.init.fork()
    a = p.clone(CLONE_NEWPID)
    b = a.fork()
    inner = b.clone(CLONE_NEWPID)
    d = inner.fork()
    outer_child = p.fork()
    x, y = a.pid_ns, inner.pid_ns
    assert len(k.pid_namespaces) == 3
    p.kill(a.pid, SIGKILL)
    assert not any(q.alive for q in (a, b, inner, d)) and outer_child.alive
    assert not x.adding and not y.adding
    assert p.wait(a.pid) == (a.pid, SIGKILL)
    assert k.pid_namespaces == [k.init_pid_ns]         # freed with their last process
    assert not x.alive and not y.alive
    # their numbers go back to the pool: the next namespace takes the lowest inode
    e = p.clone(CLONE_NEWPID)
    assert e.pid_ns.inum == min(x.inum, y.inum)


def test_an_init_waits_exiting_until_the_others_are_reaped(k):
    p = k.init.fork()
    p.unshare(CLONE_NEWPID)
    a = p.fork()
    b = p.fork()                    # pid 2 there, its parent outside
    a.exit(0)
    assert not b.alive and b.zombie and not a.alive and not a.zombie
    assert p.wait(a.pid, WNOHANG) == (0, 0)
    assert p.wait(b.pid) == (b.pid, SIGKILL)
    assert p.wait(a.pid, WNOHANG) == (a.pid, 0)
    assert errname(p.fork) == "ENOMEM"
    ns = a.pid_ns
    assert ns.alive and rl(p, "/proc/self/ns/pid_for_children") == f"pid:[{ns.inum}]"
    p.exit(0)
    k.init.wait(p.pid)
    assert not ns.alive


def test_proc_of_a_namespace(k):
    from ipcsim.kernel.procfs import ProcRoot
    a = k.init.clone(CLONE_NEWPID)
    b = a.fork()
    root = ProcRoot(k, a.pid_ns)
    assert a.pid_ns.refs >= 3 and root.readdir(b)[3:] == ["1", "2"]
    assert root.lookup(b, "2").target is b and errname(root.lookup, b, str(b.pid)) == "ENOENT"
    assert root.lookup(b, "self").readlink(b) == "2"
    assert errname(root.lookup(k.init, "self").readlink, k.init) == "ENOENT"
    root.release()
    # the kernel's /proc is the initial namespace's, whoever looks
    assert b.readlink("/proc/self") == str(b.pid)
    assert str(b.pid) in b.listdir("/proc") and "1" in b.listdir("/proc")


def test_namespace_links_of_zombies_and_of_a_namespace_without_its_init(k):
    p = k.init.fork()
    c = p.fork()
    c.exit(0)
    assert rl(p, f"/proc/{c.pid}/ns/pid") == "pid:[4026531836]"       # the struct pid stays
    assert rl(p, f"/proc/{c.pid}/ns/pid_for_children") == "ENOENT"    # the nsproxy is gone
    p.unshare(CLONE_NEWPID)
    assert rl(p, "/proc/self/ns/pid_for_children") == "ENOENT"         # no init yet
    assert errname(p.open, "/proc/self/ns/pid_for_children", O_RDONLY) == "ENOENT"


def test_a_namespace_file_keeps_the_namespace(k):
    p = k.init.fork()
    a = p.clone(CLONE_NEWPID)
    fd = p.open(f"/proc/{a.pid}/ns/pid", O_RDONLY)
    ns = a.pid_ns
    a.exit(0)
    p.wait(a.pid)
    assert ns.alive and ns in k.pid_namespaces
    assert errname(p.setns, fd, CLONE_NEWPID) == 0            # joinable, but dead
    assert errname(p.fork) == "ENOMEM"
    p.setns(p.open("/proc/1/ns/pid", O_RDONLY), 0)
    p.close(fd)
    assert not ns.alive


def test_max_pid_namespaces_is_counted_up_the_chain(k):
    p = k.init.fork()
    p.setresuid(1000, 1000, 1000)
    p.unshare(CLONE_NEWUSER)
    wr(p, "/proc/sys/user/max_pid_namespaces", "2")
    p.unshare(CLONE_NEWPID)
    a = p.fork()
    a.unshare(CLONE_NEWPID)
    b = a.fork()
    assert errname(b.unshare, CLONE_NEWPID) == "ENOSPC"
    assert errname(b.clone, CLONE_NEWPID) == "ENOSPC"
    b.exit(0)
    assert a.wait(b.pid_in(a.pid_ns)) == (2, 0)


def test_unprivileged_needs_a_user_namespace(k):
    p = k.init.fork()
    p.setresuid(1000, 1000, 1000)
    assert errname(p.unshare, CLONE_NEWPID) == "EPERM"
    assert errname(p.clone, CLONE_NEWPID) == "EPERM"
    child = p.clone(CLONE_NEWUSER | CLONE_NEWPID)
    assert child.getpid() == 1 and child.pid_ns.user_ns is child.creds.user_ns


def test_mq_notification_si_pid_and_notify_pid_in_each_namespace(k):
    from ipcsim.kernel.mqueue import SigEvent
    p = k.init.fork()
    a = p.clone(CLONE_NEWPID)
    b = a.fork()
    seen = []
    p.signal(SIGUSR1, lambda sig: seen.append(p.last_siginfo.si_pid))
    b.signal(SIGUSR1, lambda sig: seen.append(b.last_siginfo.si_pid))
    c = a.fork()                      # reads the queue's file from inside (an owner's close
    k.init.mount("mqueue", "/dev/mqueue", "mqueue")   # of it would end its registration)

    def notify_pid(reader):
        return reader.read_file("/dev/mqueue/q").split("NOTIFY_PID:")[1].strip()

    q = p.mq_open("/q", os.O_CREAT | os.O_RDWR)
    qb = b.mq_open("/q", os.O_RDWR)
    p.mq_notify(q, SigEvent(SIGEV_SIGNAL, SIGUSR1))
    assert (notify_pid(k.init), notify_pid(c)) == (str(p.pid), "0")    # the owner unseen
    b.mq_send(qb, b"x")
    p.mq_receive(q, 8192)
    b.mq_notify(qb, SigEvent(SIGEV_SIGNAL, SIGUSR1))
    assert (notify_pid(k.init), notify_pid(c)) == (str(b.pid), "2")
    p.mq_send(q, b"y")
    assert seen == [b.pid, 0]         # the sender as each owner's namespace numbers it


def test_ipc_pids_stay_translatable_after_the_process_is_gone(k):
    p = k.init.fork()
    a = p.clone(CLONE_NEWPID)
    s = a.fork()
    qid = s.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    s.msgsnd(qid, 1, b"x")
    global_pid = s.pid
    s.exit(0)
    a.wait(2)
    a.fork()                          # 3: the number 2 is not reused yet
    assert a.msgctl(qid, IPC_STAT).msg_lspid == 2
    assert p.msgctl(qid, IPC_STAT).msg_lspid == global_pid
    q = k.process(global_pid)
    assert q is None
    # views and snapshots keep seeing numbers of the initial namespace, as plain ints
    queue = k.init_ipc_ns.msg_ids.find_key(IPC_PRIVATE) or next(iter(k.init_ipc_ns.msg_ids))
    assert type(queue.q_lspid) is int and queue.q_lspid == global_pid


def test_setns_needs_privilege_in_the_owner_and_an_own_or_lower_namespace(k):
    p = k.init.fork()
    fd0 = p.open("/proc/self/ns/pid", O_RDONLY)
    a = p.clone(CLONE_NEWUSER | CLONE_NEWPID)       # owned by a user namespace, inherits fd0
    fd = a.open("/proc/self/ns/pid", O_RDONLY)
    assert errname(a.setns, fd0, CLONE_NEWPID) == "EPERM"      # no CAP_SYS_ADMIN over it
    assert errname(a.setns, fd, CLONE_NEWPID) == 0
    assert errname(a.setns, fd, CLONE_NEWUSER) == "EINVAL"
    u = k.init.fork()
    u.setresuid(1000, 1000, 1000)
    assert errname(u.setns, u.open(f"/proc/{u.pid}/ns/pid", O_RDONLY), 0) == "EPERM"


def test_kernels_without_pid_namespaces_still_refuse(k):
    with ipcsim.Kernel(config_pid_ns=False) as kk:
        assert errname(kk.init.clone, CLONE_NEWPID) == "EINVAL"
        assert errname(kk.init.unshare, CLONE_NEWPID) == "EINVAL"
        assert kk.pid_namespaces == [kk.init_pid_ns]
        assert kk.init.fork().getpid() == 2


def test_footprints_are_conservative_around_pid_namespaces(k):
    from ipcsim.kernel import footprint as fp
    p = k.init.fork()
    assert (("ipcns",), fp.WRITE) in footprint(p, "clone", (CLONE_NEWPID,), {})
    assert footprint(p, "fork", (), {}) is not None
    a = p.clone(CLONE_NEWPID)
    b = a.fork()
    assert footprint(b, "kill", (1, 0), {}) is None            # numbers of a namespace
    assert footprint(p, "wait", (), {}) is None                 # a child there
    assert fp.exited(a) is None and fp.exited(b) is None
    fd = p.open(f"/proc/{a.pid}/ns/pid", O_RDONLY)
    assert footprint(p, "setns", (fd, 0), {}) is None
    q = k.init.fork()
    assert footprint(q, "kill", (q.pid, 0), {}) is not None     # unchanged outside
    assert fp.exited(q) is not None


def test_pid_nr_ns_of_numbers_and_of_nothing(k):
    a = k.init.clone(CLONE_NEWPID)
    assert pid_nr_ns(None, a.pid_ns) == 0
    assert pid_nr_ns(a.pid, a.pid_ns) == 1 and pid_nr_ns(a.pid, k.init_pid_ns) == a.pid
    assert pid_nr_ns(k.init.pid, a.pid_ns) == 0


# --- what holds a PID namespace whose processes are gone -----------------------------------
def _gone_ns(p, action):
    """A namespace below ``p``'s, whose init ran ``action(init)`` and which every process
    has left (exited and reaped): the namespace and the init's Pid."""
    h = p.fork()
    h.unshare(CLONE_NEWPID)
    a = h.fork()
    action(a)
    ns, pid = a.pid_ns, a.thread_pid
    a.exit(0)
    h.wait(a.pid_in(h.pid_ns))
    h.exit(0)
    p.wait(h.pid)
    return ns, pid


def _alive(k, ns):
    return ns in k.pid_namespaces


def test_a_namespace_without_processes_goes_at_once(k):
    p = k.init.fork()
    ns, pid = _gone_ns(p, lambda a: None)
    assert not _alive(k, ns) and pid.count == 0


def _msg_lrpid_piped(k, p):
    """The receiver, in the namespace, sleeps in msgrcv; the sender hands it the message
    (pipelined_send), naming it the last receiver."""
    qid = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)

    def receive(a):
        a.fork(target=lambda r: r.msgrcv(qid, 8, 0))
        k.run_until_idle()
        p.msgsnd(qid, 1, b"x")
        k.run_until_idle()
        a.wait(-1)
    return receive, lambda: p.msgctl(qid, ipcsim.IPC_RMID)


def _holders(k, p):
    """Each way IPC comes to name a pid, and a way to let it go: (what a process of the
    namespace does, what lets go of its pid)."""
    qid = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    qid2 = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    p.msgsnd(qid2, 1, b"x")
    semid = p.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600)
    shmid = p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    undo = p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)
    shmid2 = p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    x = p.fork()
    x.shmat(shmid2)                   # attached, as p (and so the namespace) is not
    return {
        "msgsnd, replaced": (lambda a: a.msgsnd(qid, 1, b"x"), lambda: p.msgsnd(qid, 1, b"y")),
        "msgsnd, IPC_RMID": (lambda a: a.msgsnd(qid, 1, b"x"),
                             lambda: p.msgctl(qid, ipcsim.IPC_RMID)),
        "msgrcv, replaced": (lambda a: a.msgrcv(qid2, 8, 0),
                             lambda: (p.msgsnd(qid2, 1, b"y"), p.msgrcv(qid2, 8, 0))),
        "msgrcv piped, IPC_RMID": _msg_lrpid_piped(k, p),
        "semop, SETALL": (lambda a: a.semop(semid, [(1, 1, 0)]),
                          lambda: p.semctl(semid, 0, ipcsim.SETALL, [0, 0])),
        "semop, IPC_RMID": (lambda a: a.semop(semid, [(0, 1, 0), (1, 1, 0)]),
                            lambda: p.semctl(semid, 0, ipcsim.IPC_RMID)),
        "undo at exit, semop": (lambda a: a.semop(undo, [(0, 1, ipcsim.SEM_UNDO)]),
                                lambda: p.semop(undo, [(0, 1, 0)])),
        "shmat, shmat": (lambda a: a.shmdt(a.shmat(shmid)), lambda: p.shmdt(p.shmat(shmid))),
        # a fork copies each attachment as an open by the parent: shm_lpid is the parent's
        "shmat, fork": (lambda a: a.shmdt(a.shmat(shmid2)), lambda: x.fork()),
        "shmget, IPC_RMID": (
            lambda a: a.shmget(0x4711, 4096, IPC_CREAT | 0o600),
            lambda: p.shmctl(p.shmget(0x4711, 0, 0), ipcsim.IPC_RMID)),
    }


HOLDERS = ["msgsnd, replaced", "msgsnd, IPC_RMID", "msgrcv, replaced",
           "msgrcv piped, IPC_RMID", "semop, SETALL", "semop, IPC_RMID",
           "undo at exit, semop", "shmat, shmat", "shmat, fork", "shmget, IPC_RMID"]


@pytest.mark.parametrize("holder", HOLDERS)
def test_an_ipc_object_naming_a_pid_keeps_its_namespace(k, holder):
    """The namespace lives on, its inode number not given to the next one, until the
    object lets go of the pid (replaced by another process's, or the object removed)."""
    p = k.init.fork()
    act, let_go = _holders(k, p)[holder]
    ns, pid = _gone_ns(p, act)
    assert _alive(k, ns)
    other = p.clone(CLONE_NEWPID)
    assert other.pid_ns.inum != ns.inum
    other.exit(0)
    p.wait(other.pid)
    let_go()
    assert not _alive(k, ns) and pid.count == 0
    assert p.clone(CLONE_NEWPID).pid_ns.inum == ns.inum     # the number is free again


def test_the_list_of_holders_is_complete(k):
    assert sorted(_holders(k, k.init.fork())) == sorted(HOLDERS)


def test_a_pid_named_by_two_objects_holds_until_both_let_go(k):
    p = k.init.fork()
    qid = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    semid = p.semget(IPC_PRIVATE, 3, IPC_CREAT | 0o600)

    def act(a):
        a.msgsnd(qid, 1, b"x")
        a.msgrcv(qid, 8, 0)               # the last sender and the last receiver
        a.semop(semid, [(0, 1, 0), (2, 1, 0)])
    ns, pid = _gone_ns(p, act)
    assert pid.count == 4
    p.semctl(semid, 0, ipcsim.IPC_RMID)
    assert _alive(k, ns) and pid.count == 2
    p.msgsnd(qid, 1, b"y")
    assert _alive(k, ns) and pid.count == 1
    p.msgrcv(qid, 8, 0)
    assert not _alive(k, ns)


def test_the_same_process_again_takes_no_new_hold(k):
    p = k.init.fork()
    a = p.clone(CLONE_NEWPID)
    qid = a.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    semid = a.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)
    for _ in range(3):
        a.msgsnd(qid, 1, b"x")
        a.msgrcv(qid, 8, 0)
        a.semop(semid, [(0, 1, 0)])
    assert a.thread_pid.count == 1 + 3          # its process, lspid, lrpid, sempid
    a.msgctl(qid, ipcsim.IPC_RMID)
    a.semctl(semid, 0, ipcsim.IPC_RMID)
    assert a.thread_pid.count == 1


def test_pids_of_the_initial_namespace_are_not_counted(k):
    p = k.init.fork()
    qid = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    p.msgsnd(qid, 1, b"x")
    assert p.thread_pid.level == 0 and p.thread_pid.count == 1


def test_a_failed_shmget_takes_no_hold(k):
    p = k.init.fork()
    wr(p, "/proc/sys/kernel/shmmni", "1")
    p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    a = p.clone(CLONE_NEWPID)
    assert errname(a.shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0o600) == "ENOSPC"
    assert a.thread_pid.count == 1


def test_the_destruction_of_an_ipc_namespace_lets_its_objects_pids_go(k):
    p = k.init.fork()

    def act(a):
        a.unshare(CLONE_NEWIPC)
        qid = a.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
        a.msgsnd(qid, 1, b"x")
        semid = a.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)
        a.semop(semid, [(0, 1, 0)])
        a.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
        fds.append(p.open(f"/proc/{a.pid}/ns/ipc", O_RDONLY))
    fds = []
    ns, pid = _gone_ns(p, act)
    assert _alive(k, ns) and pid.count == 3
    p.close(fds[0])                          # the IPC namespace goes, and its objects
    assert not _alive(k, ns) and pid.count == 0


def test_an_mq_notification_holds_its_owners_pid_until_it_goes(k):
    """Sent, removed by mq_notify(None), or removed as the owner closes its descriptor at
    exit: each lets the owner's pid go, and the namespace goes with its processes."""
    from ipcsim.kernel.mqueue import SigEvent
    p = k.init.fork()
    mq = p.mq_open("/n", os.O_CREAT | os.O_RDWR, 0o600)
    ends = {"sent": lambda a: p.mq_send(mq, b"x"),
            "removed": lambda a: a.mq_notify(mq, None),
            "exit": lambda a: None}
    for how, end in ends.items():
        def act(a):
            a.signal(SIGUSR1, lambda sig: None)
            a.mq_notify(mq, SigEvent(SIGEV_SIGNAL, SIGUSR1))
            assert a.thread_pid.count == 2
            end(a)
            assert a.thread_pid.count == (2 if how == "exit" else 1)
        ns, pid = _gone_ns(p, act)
        assert not _alive(k, ns) and pid.count == 0, how
        if how == "sent":
            p.mq_receive(mq, 8192)


def test_a_pending_siginfo_holds_no_pid(k):
    """si_pid is a number made when the signal is sent: the sender's namespace goes with its
    processes while the signal is still pending (as Linux does)."""
    from ipcsim.kernel.mqueue import SigEvent
    p = k.init.fork()
    mq = p.mq_open("/s", os.O_CREAT | os.O_RDWR, 0o600)
    p.sigprocmask(ipcsim.SIG_BLOCK, [SIGUSR1])
    p.mq_notify(mq, SigEvent(SIGEV_SIGNAL, SIGUSR1))
    ns, pid = _gone_ns(p, lambda a: a.mq_send(mq, b"x"))
    assert SIGUSR1 in p.sigpending_signals()
    assert not _alive(k, ns)
    got = []
    p.signal(SIGUSR1, lambda sig: got.append(p.last_siginfo.si_pid))
    p.sigprocmask(ipcsim.SIG_UNBLOCK, [SIGUSR1])
    assert got == [pid.nr]


def test_freeing_a_namespace_orders_the_step_with_every_other(k):
    """Removing the queue that held the namespace frees it (its max_pid_namespaces charge
    with it): a clone(CLONE_NEWPID) elsewhere fails before and works after, though their
    footprints share nothing. The reduced search finds both."""
    from ipcsim.explore.dfs import Exploration

    def scenario(kk):
        p = kk.init.fork()
        p.unshare(CLONE_NEWUSER)
        wr(p, "/proc/sys/user/max_pid_namespaces", "1")
        qid = p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
        _gone_ns(p, lambda a: a.msgsnd(qid, 1, b"x"))
        out = []
        p.fork(target=lambda c: c.msgctl(qid, ipcsim.IPC_RMID))
        p.fork(target=lambda c: out.append(errname(lambda: c.clone(CLONE_NEWPID) and 0)))
        return lambda: out

    outcomes = {}
    for reduction in (False, True):
        outcomes[reduction] = {r.result.outcome for r in Exploration(scenario,
                                                                     reduction=reduction)
                               if r.result.kind != "pruned"}
    assert outcomes[True] == outcomes[False] == {"[0]", "['ENOSPC']"}
