"""Small random scenarios for checking the explorer's partial-order reduction.

A scenario is a few programs of a few calls each, drawn (from a seed, always the same way)
from the calls of the conformance catalogue on objects the host makes before the run: a
System V message queue, a set of two semaphores, a shared memory segment and a POSIX queue,
each program holding a descriptor of the queue and, sometimes, an attachment of the
segment. Programs also make objects of their own (another key, IPC_PRIVATE), remove them,
signal each other, sleep, fork and wait.

Each program records what each of its calls returned (a value, or the errno), and the
scenario's outcome is every program's record and exit status, then a snapshot of every
object that the host takes after the run: /proc/sysvipc, the messages left in each queue,
the semaphores' values and pids, each segment's first bytes, the POSIX queues' messages and
status. Two runs with the same outcome did the same thing, as far as anyone can see.
"""
from __future__ import annotations

import errno
import random
from typing import Any, Callable

import ipcsim
from ipcsim.constants import (GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_CREAT,
                              IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, MSG_INFO,
                              O_CREAT, O_NONBLOCK, O_RDWR, SEM_INFO, SEM_UNDO, SETALL, SETVAL,
                              SHM_INFO, SHM_RDONLY, SIGEV_NONE, SIGEV_SIGNAL, WNOHANG)
from ipcsim.kernel.signals import SIGCONT, SIGSTOP, SIGTERM, SIGUSR1

KEY_Q, KEY_S, KEY_M = 0x51, 0x52, 0x53          # the host's objects
KEY_Q2, KEY_S2, KEY_M2 = 0x61, 0x62, 0x63       # objects the programs make
MQ, MQ2 = "/q", "/q2"

Action = tuple[Any, ...]          # (name, *parameters)


# --- what a program's call does ------------------------------------------------------------
def _errno(e: BaseException) -> object:
    if isinstance(e, OSError) and e.errno is not None:
        return errno.errorcode.get(e.errno, e.errno)
    return type(e).__name__


def _stat_msg(ds: Any) -> tuple[int, ...]:
    return (ds.msg_qnum, ds.msg_cbytes, ds.msg_qbytes, ds.msg_lspid, ds.msg_lrpid)


def _act(p: Any, env: dict[str, Any], action: Action) -> object:
    """Make the calls of one action as process ``p``; what they returned."""
    name, *a = action
    q, s, m = env["q"], env["s"], env["m"]
    # message queues
    if name == "msgsnd":
        return p.msgsnd(q, a[0], b"m%d.%d" % (p.pid, a[0]), a[1])
    if name == "msgrcv":
        return p.msgrcv(q, 16, a[0], a[1])
    if name == "msgstat":
        return _stat_msg(p.msgctl(q, IPC_STAT))
    if name == "msginfo":
        idx, info = p.msgctl(0, MSG_INFO)
        return idx, info.msgpool, info.msgmap, info.msgtql
    if name == "msgqbytes":
        ds = p.msgctl(q, IPC_STAT)
        ds.msg_qbytes = a[0]
        return p.msgctl(q, IPC_SET, ds)
    if name == "msgrmid":
        return p.msgctl(q, IPC_RMID)
    if name == "msgget":
        env["q"] = p.msgget(a[0], a[1])
        return env["q"]
    # semaphores
    if name == "semop":
        return p.semop(s, list(a[0]))
    if name == "semtimedop":
        return p.semtimedop(s, list(a[0]), a[1])
    if name == "semctl":
        cmd = a[1]
        if cmd == IPC_STAT:
            return p.semctl(s, 0, IPC_STAT).sem_otime
        if cmd == SEM_INFO:
            idx, info = p.semctl(0, 0, SEM_INFO)
            return idx, info.semusz, info.semaem
        return p.semctl(s, a[0], cmd, *a[2:])
    if name == "semget":
        env["s"] = p.semget(a[0], 2, a[1])
        return env["s"]
    # shared memory
    if name == "shmat":
        env["addr"] = p.shmat(m, None, a[0])
        return "attached"
    if name in ("write", "read", "shmdt") and env.get("addr") is None:
        return "no attachment"
    if name == "write":
        return p.write_memory(env["addr"] + a[0], b"w%d" % p.pid)
    if name == "read":
        return p.read_memory(env["addr"] + a[0], 4)
    if name == "shmdt":
        addr, env["addr"] = env["addr"], None
        return p.shmdt(addr)
    if name == "shmstat":
        ds = p.shmctl(m, IPC_STAT)
        return ds.shm_nattch, ds.shm_lpid, ds.shm_cpid
    if name == "shminfo":
        idx, info = p.shmctl(0, SHM_INFO)
        return idx, info.used_ids, info.shm_tot, info.shm_rss
    if name == "shmrmid":
        return p.shmctl(m, IPC_RMID)
    if name == "shmget":
        env["m"] = p.shmget(a[0], 4096, a[1])
        return env["m"]
    # POSIX queues
    fd = env.get("fd")
    if name == "mq_open":
        attr = ipcsim.MqAttr(mq_maxmsg=2, mq_msgsize=16) if a[1] & O_CREAT else None
        env["fd"] = p.mq_open(a[0], a[1], 0o666, attr)
        return "opened"
    if name == "mq_unlink":
        return p.mq_unlink(a[0])
    if fd is None:
        return "no descriptor"
    if name == "mq_send":
        return p.mq_send(fd, b"s%d" % p.pid, a[0])
    if name == "mq_timedsend":
        return p.mq_timedsend(fd, b"t%d" % p.pid, a[0], a[1])
    if name == "mq_receive":
        return p.mq_receive(fd, 16)
    if name == "mq_timedreceive":
        return p.mq_timedreceive(fd, 16, a[0])
    if name == "mq_getattr":
        return p.mq_getattr(fd).mq_curmsgs
    if name == "mq_notify":
        sev = None if a[0] is None else ipcsim.SigEvent(a[0], SIGUSR1 if a[0] == SIGEV_SIGNAL
                                                        else 0)
        return p.mq_notify(fd, sev)
    if name == "mq_close":
        env["fd"] = None
        return p.mq_close(fd)
    raise AssertionError(name)


def _act_proc(p: Any, env: dict[str, Any], action: Action) -> object:
    """The process calls: signals, sleep, fork and wait, /proc."""
    name, *a = action
    pids = env["pids"]
    if name == "kill":
        target = 0 if a[0] is None else pids[a[0] % len(pids)]
        return p.kill(target, a[1])
    if name == "sleep":
        return p.sleep(a[0])
    if name == "getpgid":
        return p.getpgid(pids[a[0] % len(pids)])
    if name == "fork":
        mine = dict(env, out=[], children=[])
        env["children"].append(p.fork(target=program, args=([a[0]], mine)))
        return "forked"
    if name == "wait":
        return p.wait(-1, a[0])
    if name == "read_file":
        return p.read_file(a[0])
    return _act(p, env, action)


def program(p: Any, actions: list[Action], env: dict[str, Any]) -> list[object]:
    """A scenario's program: each action's result, in order, and the signals it handled
    (``env["out"]``, which its handler also appends to)."""
    out: list[object] = env["out"]
    for action in actions:
        try:
            out.append((action[0], _act_proc(p, env, action)))
        except Exception as e:               # (an error is a result: the errno)
            out.append((action[0], _errno(e)))
    return out


# --- drawing -------------------------------------------------------------------------------
KINDS = ("msg", "sem", "shm", "mq")


def _draw_action(rng: random.Random, kinds: list[str], child: bool = False) -> Action:
    kind = rng.choice(kinds)
    if kind == "msg":
        what = rng.choice(["msgsnd", "msgsnd", "msgrcv", "msgrcv", "msgstat", "msginfo",
                           "msgrmid", "msgget", "msgqbytes"])
        if what == "msgsnd":
            return (what, rng.choice([1, 2]), rng.choice([IPC_NOWAIT, IPC_NOWAIT, 0]))
        if what == "msgrcv":
            return (what, rng.choice([0, 1, 2, -1]), rng.choice([IPC_NOWAIT, 0]))
        if what == "msgget":
            return (what, rng.choice([KEY_Q2, KEY_Q2, KEY_Q, IPC_PRIVATE]),
                    rng.choice([IPC_CREAT | 0o666, 0]))
        if what == "msgqbytes":
            return (what, rng.choice([8, 16384]))
        return (what,)
    if kind == "sem":
        what = rng.choice(["semop", "semop", "semop", "semtimedop", "semtimedop", "semctl",
                           "semctl", "semget"])
        if what in ("semop", "semtimedop"):
            n = rng.choice([1, 1, 2])
            sops = tuple((num, rng.choice([-1, -1, -1, 1, 1, 0, 2]),
                          rng.choice([0, 0, IPC_NOWAIT, SEM_UNDO]))
                         for num in rng.sample([0, 1], n))
            return (what, sops) if what == "semop" else (what, sops, rng.choice([0, 1, 1]))
        if what == "semget":
            return (what, rng.choice([KEY_S2, KEY_S2, IPC_PRIVATE]), IPC_CREAT | 0o666)
        cmd = rng.choice([GETVAL, GETVAL, GETALL, SETVAL, SETVAL, GETNCNT, GETZCNT, GETPID,
                          IPC_STAT, SEM_INFO, IPC_RMID, SETALL])
        num = rng.choice([0, 1])
        if cmd == SETVAL:
            return ("semctl", num, cmd, rng.choice([0, 1, 2]))
        if cmd == SETALL:
            return ("semctl", 0, cmd, [rng.choice([0, 1]), rng.choice([0, 1])])
        return ("semctl", num, cmd)
    if kind == "shm":
        what = rng.choice(["write", "write", "read", "read", "shmat", "shmdt", "shmstat",
                           "shminfo", "shmrmid", "shmget"])
        if what in ("write", "read"):
            return (what, rng.choice([0, 0, 4096]))
        if what == "shmat":
            return (what, rng.choice([0, 0, SHM_RDONLY]))
        if what == "shmget":
            return (what, rng.choice([KEY_M2, IPC_PRIVATE]), IPC_CREAT | 0o666)
        return (what,)
    if kind == "mq":
        what = rng.choice(["mq_send", "mq_timedsend", "mq_timedsend", "mq_receive",
                           "mq_timedreceive", "mq_timedreceive", "mq_getattr", "mq_notify",
                           "mq_unlink", "mq_open", "mq_close"])
        if what == "mq_send":
            return (what, rng.choice([0, 1]))
        if what == "mq_timedsend":
            return (what, rng.choice([0, 1]), rng.choice([0, 0, 1]))
        if what == "mq_timedreceive":
            return (what, rng.choice([0, 0, 1]))
        if what == "mq_notify":
            return (what, rng.choice([None, SIGEV_NONE, SIGEV_SIGNAL]))
        if what == "mq_unlink":
            return (what, rng.choice([MQ, MQ2]))
        if what == "mq_open":
            return (what, rng.choice([MQ, MQ, MQ2]),
                    rng.choice([O_RDWR, O_RDWR | O_CREAT, O_RDWR | O_NONBLOCK]))
        return (what,)
    what = rng.choice(["kill", "kill", "kill", "sleep", "getpgid", "read_file", "fork",
                       "wait"])
    if what == "fork" and child:
        what = "sleep"
    if what == "kill":
        target = rng.choice([0, 1, 2, 2, None])
        return (what, target, rng.choice([SIGUSR1, SIGUSR1, SIGTERM, 0, SIGSTOP, SIGCONT]))
    if what == "sleep":
        return (what, rng.choice([0, 1]))
    if what == "getpgid":
        return (what, rng.choice([0, 1, 2]))
    if what == "fork":
        return (what, _draw_action(rng, kinds, child=True))
    if what == "wait":
        return (what, rng.choice([WNOHANG, 0]))
    return (what, rng.choice(["/proc/sysvipc/msg", "/proc/sysvipc/sem", "/proc/sysvipc/shm",
                              "/proc/sys/kernel/msg_next_id", "/proc/sys/kernel/msgmni"]))


class Scenario:
    """A drawn scenario: the host's setup and each program's actions; calling it on a
    kernel sets it up and returns the outcome function (the explorer's scenario)."""

    def __init__(self, seed: int, programs: list[list[Action]], semvals: tuple[int, int],
                 messages: list[int], attached: list[bool], mq_messages: int):
        self.seed = seed
        self.programs = programs
        self.semvals = semvals
        self.messages = messages          # the types of the messages queued at the start
        self.attached = attached          # which programs start with the segment attached
        self.mq_messages = mq_messages

    def __repr__(self) -> str:
        lines = [f"scenario {self.seed}: semaphores {self.semvals}, messages "
                 f"{self.messages}, {self.mq_messages} in {MQ}"]
        for i, actions in enumerate(self.programs):
            att = " (attached)" if self.attached[i] else ""
            lines.append(f"  pid {i + 2}{att}: " + "; ".join(map(repr, actions)))
        return "\n".join(lines)

    def __call__(self, k: Any) -> Callable[[], object]:
        init = k.init
        q = init.msgget(KEY_Q, IPC_CREAT | 0o666)
        for mtype in self.messages:
            init.msgsnd(q, mtype, b"h%d" % mtype)
        s = init.semget(KEY_S, 2, IPC_CREAT | 0o666)
        init.semctl(s, 0, SETALL, list(self.semvals))
        m = init.shmget(KEY_M, 4096 * 2, IPC_CREAT | 0o666)
        fd = init.mq_open(MQ, O_CREAT | O_RDWR, 0o666, ipcsim.MqAttr(mq_maxmsg=2,
                                                                     mq_msgsize=16))
        for i in range(self.mq_messages):
            init.mq_send(fd, b"h%d" % i, 0)
        init.mq_close(fd)
        pids = [2 + i for i in range(len(self.programs))]
        envs: list[dict[str, Any]] = []
        procs = []
        for actions in self.programs:
            env = {"q": q, "s": s, "m": m, "pids": pids, "out": [], "children": []}
            envs.append(env)
            procs.append(init.fork(target=program, args=(actions, env)))
        # before the run, as the host: a handler of SIGUSR1 that records it, a descriptor
        # of the queue, and the segment attached
        for p, env, attached in zip(procs, envs, self.attached):
            p.signal(SIGUSR1, lambda sig, out=env["out"]: out.append(("signal", sig)))
            env["fd"] = p.mq_open(MQ, O_RDWR)
            env["addr"] = p.shmat(m, None, 0) if attached else None
        return lambda: outcome(k, procs, envs)


def outcome(k: Any, procs: list[Any], envs: list[dict[str, Any]]) -> object:
    """Each program's record and exit status (and its children's), then what the host
    finds in every object."""
    init = k.init
    ns = init.ipc_ns
    out: list[object] = []
    for p, env in zip(procs, envs):
        out.append((p.pid, p.exit_status, env["out"]))
        out.extend(("child", c.pid, c.exit_status, c.result) for c in env["children"])
    for kind in ("msg", "sem", "shm"):
        out.append(init.read_file(f"/proc/sysvipc/{kind}"))
    for q in list(ns.msg_ids):
        left = []
        while True:
            try:
                left.append(init.msgrcv(q.id, 64, 0, IPC_NOWAIT))
            except OSError:
                break
        out.append(("msg", q.id, left))
    for sma in list(ns.sem_ids):
        out.append(("sem", sma.id, init.semctl(sma.id, 0, GETALL),
                    [init.semctl(sma.id, n, GETPID) for n in range(sma.sem_nsems)]))
    for seg in list(ns.shm_ids):
        page = seg.pages.get(0)
        out.append(("shm", seg.id, bytes(page[:8]) if page is not None else None,
                    bytes(seg.pages[1][:8]) if 1 in seg.pages else None))
    sb = ns.mq_fs
    for name in sorted(sb.entries) if sb is not None else []:
        inode = sb.entries[name]
        status = inode.status()
        fd = init.mq_open("/" + name, O_RDWR | O_NONBLOCK)
        left = []
        while True:
            try:
                left.append(init.mq_receive(fd, 64))
            except OSError:
                break
        init.mq_close(fd)
        out.append(("mq", name, status, left))
    return out


def draw(seed: int) -> Scenario:
    """The scenario of ``seed``: 1 to 3 programs of 1 to 4 actions (fewer when there are
    three programs, so that the unreduced search stays small)."""
    rng = random.Random(f"dpor {seed}")
    n = rng.choice([1, 2, 2, 2, 3, 3, 3])
    most = {1: 4, 2: 4, 3: 2}[n]
    # a scenario is about one kind of object, sometimes two, and the process calls, so
    # that its programs meet on the same objects
    kinds = rng.sample(KINDS, rng.choice([1, 1, 2])) * 3 + ["proc"]
    programs = [[_draw_action(rng, kinds) for _ in range(rng.randint(1, most))]
                for _ in range(n)]
    semvals = (rng.choice([0, 0, 1, 2]), rng.choice([0, 1]))
    messages = rng.sample([1, 2, 1], rng.choice([0, 0, 1, 2]))
    attached = [rng.random() < 0.5 for _ in range(n)]
    return Scenario(seed, programs, semvals, messages, attached, rng.choice([0, 1, 2]))
