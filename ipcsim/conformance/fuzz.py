"""Random scenarios: a Hypothesis strategy over processes, namespaces, handles and limits.

The strategy keeps track of which processes exist and which descriptors each one holds, so
that what it generates is meaningful on both backends (a descriptor is only used by a process
that has it), while still producing invalid calls: bad flags, bad values, other users'
files, calls by unprivileged processes. Shrinking gives a minimal failing scenario, ready to
go into the catalogue. Needs the ``hypothesis`` package (the ``test`` extra).

Shared memory steps bind shmget's id to a name that later calls mostly use (any process
may: from another namespace it names nothing, or another segment), attach at a few fixed
addresses far from anything else (``SHM_FAR`` and up) or let the kernel choose (the result
is bound to a name that a later shmdt of the same process, or of a child forked after it,
may use). They never touch the memory: whether an
attach succeeded is not known when the scenario is generated, and an access outside an
attachment faults (ipcsim raises SegmentationFault, the real backend refuses the call).

POSIX message queue steps use three names, bind mq_open's descriptor to a name the opener
(and children forked after it) use, mostly send and receive without blocking (a zero
timeout, or O_NONBLOCK), create queues with small attributes (RLIMIT_MSGQUEUE is counted
per user across the machine, and Linux frees a dead namespace's queues asynchronously), and
also mount the mqueue filesystem on /run/mq and work through it.
"""
from __future__ import annotations

import os

from hypothesis import strategies as st

from .scenario import Scenario, parse

SYSCTL_PATHS = ["/proc/sys/kernel/msgmax", "/proc/sys/kernel/msgmni", "/proc/sys/kernel/sem",
                "/proc/sys/kernel/shmmax", "/proc/sys/kernel/shm_rmid_forced",
                "/proc/sys/kernel/msg_next_id", "/proc/sys/fs/mqueue/msg_max",
                "/proc/sys/fs/mqueue/queues_max", "/proc/sys/kernel/auto_msgmni",
                "/proc/sys/kernel/shmall", "/proc/sys/kernel/shmmni",
                "/proc/sys/fs/mqueue/msgsize_max", "/proc/sys/fs/mqueue/msg_default"]
VALUES = ["0", "1", "-1", "7", "100", "0x20", "010", " 5 ", "1 2 3 4", "1 2", "", "x",
          "32768", "32769", "65536", "2147483648", "18446744073709551615", "-5 -6 -7 8"]
UNSHARE_FLAGS = ["CLONE_NEWIPC", "CLONE_SYSVSEM", "CLONE_NEWIPC | CLONE_SYSVSEM", "0",
                 "CLONE_PARENT", "CLONE_NEWIPC | 0x1", "CLONE_FILES"]
CLONE_FLAGS = ["CLONE_NEWIPC", "CLONE_SYSVSEM", "CLONE_NEWIPC | CLONE_SYSVSEM", "0"]
NSTYPES = ["0", "CLONE_NEWIPC", "CLONE_NEWUTS"]
UIDS = ["0", "1000", "65534"]
CAPS = ["CAP_SYS_ADMIN", "CAP_IPC_OWNER", "CAP_CHECKPOINT_RESTORE", "CAP_KILL", "CAP_SETUID"]
SIGNALS = ["SIGUSR1", "SIGCHLD", "0", "SIGTERM"]

MAX_PROCESSES = 6


class _State:
    def __init__(self) -> None:
        self.procs = ["a"]             # live, in creation order
        self.fds: dict[str, list[str]] = {"a": []}
        self.addrs: dict[str, list[str]] = {"a": []}   # addresses it attached at (or names)
        self.shmids: list[str] = []                      # names bound to shmget results
        self.mqds: dict[str, list[str]] = {"a": []}      # mq descriptors it holds (names)
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 14) -> Scenario:
    """A random scenario of up to ``max_steps`` steps."""
    state = _State()
    lines = []
    for _ in range(draw(st.integers(1, max_steps))):
        line = _step(draw, state)
        if line:
            lines.append(line)
    return parse("\n".join(lines), "fuzz", "fuzz")


# IPCSIM_FUZZ_MQ_WEIGHT=N draws a POSIX queue step N times as often as by default (5 of 31
# kinds), for a run aimed at mqueue.
MQ_WEIGHT = max(1, int(os.environ.get("IPCSIM_FUZZ_MQ_WEIGHT", "1")))
KINDS = ["fork", "clone", "unshare", "open_ns", "setns", "close", "read", "write", "creds",
         "cap", "exit", "kill", "readlink", "open_sysctl", "fd_io", "msg", "msg", "msg",
         "shm", "shm", "shm", "shm", "sem", "sem", "sem", "sem"] + ["mq"] * (5 * MQ_WEIGHT)


def _step(draw: st.DrawFn, s: _State) -> str | None:
    who = draw(st.sampled_from(s.procs))
    kind = draw(st.sampled_from(KINDS))
    if kind == "mq":
        return _mq_step(draw, s, who)
    if kind == "sem":
        return _sem_step(draw, who)
    if kind == "msg":
        return _msg_step(draw, who)
    if kind == "shm":
        return _shm_step(draw, s, who)
    if kind in ("fork", "clone"):
        if len(s.procs) >= MAX_PROCESSES:
            return None
        new = s.fresh("p")
        call = "fork()" if kind == "fork" else f"clone({draw(st.sampled_from(CLONE_FLAGS))})"
        s.procs.append(new)
        s.fds[new] = list(s.fds[who])
        s.addrs[new] = list(s.addrs[who])
        s.mqds[new] = list(s.mqds[who])
        return f"{new} = {who}.{call}"
    if kind == "unshare":
        return f"{who}.unshare({draw(st.sampled_from(UNSHARE_FLAGS))})"
    if kind == "open_ns":
        target = draw(st.sampled_from(s.procs))
        fd = s.fresh("fd")
        s.fds[who].append(fd)
        return f"{fd} = {who}.open(f\"/proc/{{pid({target})}}/ns/ipc\")"
    if kind == "open_sysctl":
        fd = s.fresh("fd")
        s.fds[who].append(fd)
        path = draw(st.sampled_from(SYSCTL_PATHS))
        return f"{fd} = {who}.open({path!r}, {draw(st.sampled_from(['O_RDONLY', 'O_RDWR']))})"
    if kind in ("setns", "close", "fd_io"):
        if not s.fds[who]:
            return None
        fd = draw(st.sampled_from(s.fds[who]))
        if kind == "setns":
            return f"{who}.setns({fd}, {draw(st.sampled_from(NSTYPES))})"
        if kind == "close":
            s.fds[who].remove(fd)
            return f"{who}.close({fd})"
        op = draw(st.sampled_from(["read", "write", "seek"]))
        if op == "read":
            return f"{who}.read({fd}, {draw(st.sampled_from([2, 100]))})"
        if op == "seek":
            return f"{who}.lseek({fd}, 0, SEEK_SET)"
        return f"{who}.write({fd}, {draw(st.sampled_from(VALUES)).encode()!r})"
    if kind == "read":
        return f"{who}.read_file({draw(st.sampled_from(SYSCTL_PATHS))!r})"
    if kind == "write":
        path, value = draw(st.sampled_from(SYSCTL_PATHS)), draw(st.sampled_from(VALUES))
        return f"{who}.write_file({path!r}, {value!r})"
    if kind == "creds":
        call = draw(st.sampled_from(["setuid", "setgid", "seteuid"]))
        return f"{who}.{call}({draw(st.sampled_from(UIDS))})"
    if kind == "cap":
        return f"{who}.drop_capability({draw(st.sampled_from(CAPS))})"
    if kind == "exit":
        if who == "a":
            return None
        s.procs.remove(who)
        del s.fds[who]
        del s.addrs[who]
        del s.mqds[who]
        return f"{who}.exit({draw(st.integers(0, 3))})"
    if kind == "kill":
        target = draw(st.sampled_from(s.procs))
        sig = draw(st.sampled_from(SIGNALS))
        if target == "a" and sig == "SIGTERM":
            return None
        if sig == "SIGTERM" and target in s.procs:
            s.procs.remove(target)
            del s.fds[target]
            del s.addrs[target]
            del s.mqds[target]
        return f"{who}.kill(pid({target}), {sig})"
    target = draw(st.sampled_from(s.procs))
    return f"{who}.readlink(f\"/proc/{{pid({target})}}/ns/ipc\")"


MSG_KEYS = ["0x42", "0x43", "IPC_PRIVATE"]
MSG_IDS = ["0", "1", "2", "32768", "-1"]
MSG_FLAGS = ["0", "IPC_NOWAIT", "IPC_NOWAIT | MSG_NOERROR", "IPC_NOWAIT | MSG_EXCEPT",
             "IPC_NOWAIT | MSG_COPY", "MSG_COPY"]
MSG_CMDS = ["IPC_STAT", "IPC_RMID", "IPC_INFO", "MSG_INFO", "MSG_STAT", "MSG_STAT_ANY", "99"]


def _msg_step(draw: st.DrawFn, who: str) -> str:
    """A message-queue call on one of a few keys and ids (mostly non-blocking)."""
    op = draw(st.sampled_from(["get", "get", "snd", "snd", "rcv", "rcv", "ctl", "set"]))
    qid = draw(st.sampled_from(MSG_IDS))
    if op == "get":
        flags = draw(st.sampled_from(["IPC_CREAT | 0o600", "IPC_CREAT | 0o666", "0",
                                      "IPC_CREAT | IPC_EXCL | 0o600", "0o400"]))
        return f"{who}.msgget({draw(st.sampled_from(MSG_KEYS))}, {flags})"
    if op == "snd":
        mtype = draw(st.sampled_from([1, 2, 3, 0]))
        size = draw(st.sampled_from([0, 1, 5, 100, 9000]))
        flags = draw(st.sampled_from(["IPC_NOWAIT", "IPC_NOWAIT", "0"]))
        return f"{who}.msgsnd({qid}, {mtype}, b'x' * {size}, {flags})"
    if op == "rcv":
        size = draw(st.sampled_from([0, 2, 100, -1]))
        msgtyp = draw(st.sampled_from([0, 1, 2, -2, 0]))
        return f"{who}.msgrcv({qid}, {size}, {msgtyp}, {draw(st.sampled_from(MSG_FLAGS))})"
    if op == "set":
        qbytes = draw(st.sampled_from([0, 5, 100, 16384, 16385]))
        mode = draw(st.sampled_from(["0o600", "0o666", "0o400"]))
        return f"{who}.msgctl({qid}, IPC_SET, msqid_ds(mode={mode}, qbytes={qbytes}))"
    return f"{who}.msgctl({qid}, {draw(st.sampled_from(MSG_CMDS))})"


SHM_FAR = 0x100000000000          # far above the heap and below the agents' own mappings
SHM_KEYS = ["0x51", "0x52", "IPC_PRIVATE"]
SHM_SIZES = ["1", "4096", "5000", "3 * 4096", "0", "2 << 20"]
SHM_GET_FLAGS = ["IPC_CREAT | 0o600", "IPC_CREAT | 0o644", "IPC_CREAT | IPC_EXCL | 0o600",
                 "IPC_CREAT | 0o600", "0", "0o400", "0o600", "IPC_CREAT | SHM_NORESERVE | 0o666"]
SHM_IDS = ["0", "1", "2", "32768", "-1"]
SHM_ADDRS = [f"{SHM_FAR:#x}", f"{SHM_FAR + 0x1000:#x}", f"{SHM_FAR + 0x10000:#x}",
             f"{SHM_FAR + 1:#x}", f"{SHM_FAR + 0x200000:#x}"]
SHM_AT_FLAGS = ["0", "0", "SHM_RDONLY", "SHM_RND", "SHM_REMAP", "SHM_RDONLY | SHM_REMAP",
                "SHM_RND | SHM_REMAP", "SHM_EXEC", "SHM_RDONLY | SHM_EXEC"]
SHM_CMDS = ["IPC_STAT", "IPC_RMID", "IPC_RMID", "IPC_INFO", "SHM_INFO", "SHM_STAT",
            "SHM_STAT_ANY", "SHM_LOCK", "SHM_UNLOCK", "99"]


def _shm_step(draw: st.DrawFn, s: _State, who: str) -> str:
    """A shared memory call on a few keys, ids and fixed addresses (never a memory access);
    the first one of a scenario makes a segment (else nearly every call is EINVAL)."""
    if not s.shmids:
        op = "get"
    else:
        op = draw(st.sampled_from(["get", "at", "at", "at", "at_chosen", "dt", "dt", "ctl",
                                   "ctl", "set", "rmid_attached", "proc"]))
    if s.shmids and draw(st.integers(0, 3)) > 0:
        shmid = draw(st.sampled_from(s.shmids))
    else:
        shmid = draw(st.sampled_from(SHM_IDS))
    addr = draw(st.sampled_from(SHM_ADDRS))
    if op == "dt" and not s.addrs[who] and draw(st.integers(0, 3)):
        op = "at"                        # mostly detach what is attached
    if op == "get":
        name = s.fresh("s")
        s.shmids.append(name)
        return (f"{name} = {who}.shmget({draw(st.sampled_from(SHM_KEYS))}, "
                f"{draw(st.sampled_from(SHM_SIZES))}, {draw(st.sampled_from(SHM_GET_FLAGS))})")
    if op == "at":
        flags = draw(st.sampled_from(SHM_AT_FLAGS))
        where = _attach_address(addr, flags)
        if where is not None and where not in s.addrs[who]:
            s.addrs[who].append(where)
        return f"{who}.shmat({shmid}, {addr}, {flags})"
    if op == "at_chosen":
        name = s.fresh("x")
        s.addrs[who].append(name)
        flags = draw(st.sampled_from(["0", "SHM_RDONLY", "SHM_EXEC"]))
        return f"{name} = {who}.shmat({shmid}, None, {flags})"
    if op == "dt":
        if s.addrs[who] and draw(st.integers(0, 3)) > 0:
            return f"{who}.shmdt({draw(st.sampled_from(s.addrs[who]))})"
        return f"{who}.shmdt({addr})"
    if op == "set":
        mode = draw(st.sampled_from(["0o600", "0o666", "0o400", "0o1777"]))
        uid = draw(st.sampled_from(UIDS))
        return f"{who}.shmctl({shmid}, IPC_SET, shmid_ds(uid={uid}, gid={uid}, mode={mode}))"
    if op == "rmid_attached":
        where = _attach_address(addr, "0")
        if where is not None and where not in s.addrs[who]:
            s.addrs[who].append(where)
        return (f"{who}.shmat({shmid}, {addr}, 0)\n"
                f"{who}.shmctl({shmid}, IPC_RMID)")
    if op == "proc":
        return f"{who}.read_file(\"/proc/sysvipc/shm\")"
    return f"{who}.shmctl({shmid}, {draw(st.sampled_from(SHM_CMDS))})"


def _attach_address(addr: str, flags: str) -> str | None:
    """Where shmat(.., addr, flags) would attach (SHM_RND rounds down to SHMLBA, a page on
    x86-64), or None when the address is not aligned (EINVAL)."""
    value = int(addr, 16)
    if value % 4096:
        if "SHM_RND" not in flags:
            return None
        value -= value % 4096
    return f"{value:#x}"


SEM_IDS = ["0", "1", "32768", "-1"]
SEM_OPS = ["[(0, -1, IPC_NOWAIT)]", "[(0, 1, 0)]", "[(0, 1, SEM_UNDO)]",
           "[(0, -1, SEM_UNDO | IPC_NOWAIT)]", "[(0, 0, IPC_NOWAIT)]", "[(1, 1, 0), (0, -1, 0)]",
           "[(5, 1, 0)]", "[(0, 32767, 0), (0, 1, 0)]", "[]", "[(0, -2, 0)]"]
SEM_CMDS = ["GETVAL", "GETALL", "GETPID", "GETNCNT", "GETZCNT", "IPC_STAT", "IPC_RMID",
            "IPC_INFO", "SEM_INFO", "SEM_STAT", "SEM_STAT_ANY", "99"]


def _sem_step(draw: st.DrawFn, who: str) -> str:
    """A semaphore call on one of a few keys and ids; operations may block."""
    op = draw(st.sampled_from(["get", "get", "op", "op", "op", "ctl", "set"]))
    semid = draw(st.sampled_from(SEM_IDS))
    if op == "get":
        key = draw(st.sampled_from(["0x61", "0x62", "IPC_PRIVATE"]))
        nsems = draw(st.sampled_from([0, 1, 2, 32001]))
        flags = draw(st.sampled_from(["IPC_CREAT | 0o600", "IPC_CREAT | 0o666", "0",
                                      "IPC_CREAT | IPC_EXCL | 0o600", "0o400"]))
        return f"{who}.semget({key}, {nsems}, {flags})"
    if op == "op":
        return f"{who}.semop({semid}, {draw(st.sampled_from(SEM_OPS))})"
    if op == "set":
        semnum = draw(st.sampled_from([0, 1, 3]))
        value = draw(st.sampled_from([0, 1, 5, 32768, -1]))
        return f"{who}.semctl({semid}, {semnum}, SETVAL, {value})"
    semnum = draw(st.sampled_from([0, 1, 3]))
    return f"{who}.semctl({semid}, {semnum}, {draw(st.sampled_from(SEM_CMDS))})"


MQ_NAMES = ['"/f1"', '"/f2"', '"/f3"', '"/f1"', '""', '"/a/b"', '"f1"']
MQ_OPEN_FLAGS = ["O_CREAT | O_RDWR", "O_CREAT | O_RDWR", "O_RDWR", "O_RDONLY", "O_WRONLY",
                 "O_CREAT | O_EXCL | O_RDWR", "O_CREAT | O_RDWR | O_NONBLOCK",
                 "O_RDWR | O_NONBLOCK", "O_RDWR | O_WRONLY", "O_CREAT | O_WRONLY",
                 "O_RDWR | 0o10000000"]      # O_PATH
MQ_ATTRS = ["mq_attr(4, 64)", "mq_attr(4, 64)", "mq_attr(1, 16)", "mq_attr(2, 8192)", "None",
            "mq_attr(0, 5)", "mq_attr(11, 16)", "mq_attr(3, 8193)"]
MQ_SIGEVENTS = ["None", "sigevent(SIGEV_NONE)", "sigevent(SIGEV_SIGNAL, SIGCHLD)",
                "sigevent(SIGEV_SIGNAL, SIGUSR1)", "sigevent(SIGEV_SIGNAL, 0)",
                "sigevent(SIGEV_THREAD)", "sigevent(5)", "sigevent(SIGEV_SIGNAL, 65)"]
MQ_FILES = ["/run/mq/f1", "/run/mq/f2", "/run/mq/f3"]


def _mq_step(draw: st.DrawFn, s: _State, who: str) -> str:
    """A POSIX message queue call, mostly one that cannot block."""
    op = draw(st.sampled_from(["open", "open", "open", "send", "send", "send", "recv", "recv",
                               "recv", "attr", "notify", "unlink", "close", "fs", "sig"]))
    if op == "sig":
        # handlers that record the notification's siginfo, and stops of blocked waiters
        how = draw(st.sampled_from(["siginfo", "siginfo", "handler", "SIGSTOP", "SIGCONT"]))
        if how in ("SIGSTOP", "SIGCONT"):
            return f"{who}.kill(pid({draw(st.sampled_from(s.procs))}), {how})"
        # (ipcsim keeps no siginfo for SIGCHLD: only SIGUSR1, from kill or a notification,
        # gets a "siginfo" handler)
        sig = "SIGUSR1" if how == "siginfo" else draw(st.sampled_from(["SIGUSR1", "SIGCHLD"]))
        return f'{who}.signal({sig}, "{how}")'
    mine = s.mqds[who]
    if op != "open" and op != "unlink" and op != "fs" and mine and draw(st.integers(0, 5)):
        m = draw(st.sampled_from(mine))
    else:
        m = "99"          # (0-2 are /dev/null in ipcsim, closed in the agents)
    if op == "open":
        name = s.fresh("m")
        mine.append(name)
        return (f"{name} = {who}.mq_open({draw(st.sampled_from(MQ_NAMES))}, "
                f"{draw(st.sampled_from(MQ_OPEN_FLAGS))}, "
                f"{draw(st.sampled_from(['0o600', '0o644', '0o666']))}, "
                f"{draw(st.sampled_from(MQ_ATTRS))})")
    if op == "send":
        data = f"b'x' * {draw(st.sampled_from([0, 1, 16, 65]))}"
        prio = draw(st.sampled_from([0, 1, 5, 5, 32767, 32768]))
        how = draw(st.sampled_from(["timed", "timed", "timed", "block", "bad"]))
        if how == "block":
            return f"{who}.mq_send({m}, {data}, {prio})"
        timeout = "(0, 1000000000)" if how == "bad" else "0"
        return f"{who}.mq_timedsend({m}, {data}, {prio}, {timeout})"
    if op == "recv":
        size = draw(st.sampled_from([64, 64, 8192, 16, 15]))
        if draw(st.integers(0, 4)):
            return f"{who}.mq_timedreceive({m}, {size}, 0)"
        return f"{who}.mq_receive({m}, {size})"
    if op == "attr":
        if draw(st.booleans()):
            return f"{who}.mq_getattr({m})"
        flags = draw(st.sampled_from(["0", "O_NONBLOCK", "1"]))
        return f"{who}.mq_setattr({m}, mq_attr(flags={flags}))"
    if op == "notify":
        return f"{who}.mq_notify({m}, {draw(st.sampled_from(MQ_SIGEVENTS))})"
    if op == "unlink":
        return f"{who}.mq_unlink({draw(st.sampled_from(MQ_NAMES))})"
    if op == "close":
        if m in mine:
            mine.remove(m)
        return f"{who}.mq_close({m})"
    fs = draw(st.sampled_from(["mount", "list", "read", "unlink", "open", "chmod"]))
    path = draw(st.sampled_from(MQ_FILES))
    if fs == "mount":
        return f'{who}.mount("none", "/run/mq", "mqueue", 0)'
    if fs == "list":
        return f'{who}.listdir("/run/mq")'
    if fs == "read":
        return f"{who}.read_file({path!r})"
    if fs == "unlink":
        return f"{who}.unlink({path!r})"
    if fs == "chmod":
        return f"{who}.chmod({path!r}, {draw(st.sampled_from(['0o600', '0o666']))})"
    name = s.fresh("m")
    mine.append(name)
    flags = draw(st.sampled_from(["O_CREAT | O_RDWR", "O_RDWR", "O_RDONLY"]))
    return f"{name} = {who}.open({path!r}, {flags}, 0o644)"
