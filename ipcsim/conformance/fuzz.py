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
        self.segments: list[str] = []      # names bound to shmget results of "shmfix"
        self.mounted: set[str] = set()     # mqueue mount points made by "mqperm"
        self.waiters: set[str] = set()     # processes made to block by "block"
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def add_child(self, parent: str, child: str) -> None:
        """A fork's child: it holds what its parent holds."""
        self.procs.append(child)
        self.fds[child] = list(self.fds[parent])
        self.addrs[child] = list(self.addrs[parent])
        self.mqds[child] = list(self.mqds[parent])

    def remove(self, label: str) -> None:
        """The process has exited or was killed."""
        if label in self.procs:
            self.procs.remove(label)
            del self.fds[label]
            del self.addrs[label]
            del self.mqds[label]


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 14,
              class_weights: dict[str, int] | None = None) -> Scenario:
    """A random scenario of up to ``max_steps`` steps (a step of the "block", "prio",
    "mqperm" or "shmfix" classes may be several lines), its steps drawn from the classes
    as ``class_weights`` weighs them (default: :func:`weights`)."""
    state = _State()
    kinds_ = kinds(class_weights) if class_weights is not None else KINDS
    lines = []
    for _ in range(draw(st.integers(1, max_steps))):
        line = _step(draw, state, kinds_)
        if line:
            lines.append(line)
    return parse("\n".join(lines), "fuzz", "fuzz")


# The classes of steps, each with the kinds of step it draws from (a kind listed twice is
# drawn twice as often). A class's weight multiplies its share: see weights().
CLASSES: dict[str, list[str]] = {
    "base": ["fork", "clone", "unshare", "open_ns", "setns", "close", "read", "write", "creds",
             "cap", "exit", "kill", "readlink", "open_sysctl", "fd_io", "msg", "msg", "msg",
             "shm", "shm", "shm", "shm", "sem", "sem", "sem", "sem"],
    "mq": ["mq"] * 5,            # POSIX queues, mostly calls that cannot block
    "mqperm": ["mqperm"] * 4,    # mqueue mounts, modes and owners, other users' access
    "path": ["path"] * 4,        # ".", "..", "//", trailing "/", PATH_MAX and NAME_MAX
    "shmfix": ["shmfix"] * 3,    # shmat at fixed addresses: low, near TASK_SIZE, beyond
    "prio": ["prio"] * 2,        # many POSIX priorities, many System V types and receives
    "block": ["block"] * 4,      # several waiters on one object, and what wakes them
}


def weights(spec: str | None = None) -> dict[str, int]:
    """The weight of each class: ``spec`` is ``"class=N,class=N"`` (the classes not named
    get 0, so ``"block=1"`` aims a run at blocking interleavings); without it,
    IPCSIM_FUZZ_WEIGHTS, else every class 1 and "mq" IPCSIM_FUZZ_MQ_WEIGHT (default 1)."""
    if spec is None:
        spec = os.environ.get("IPCSIM_FUZZ_WEIGHTS")
    if not spec:
        out = dict.fromkeys(CLASSES, 1)
        out["mq"] = max(1, int(os.environ.get("IPCSIM_FUZZ_MQ_WEIGHT", "1")))
        return out
    out = dict.fromkeys(CLASSES, 0)
    for item in spec.split(","):
        name, _, value = item.strip().partition("=")
        if name not in CLASSES:
            raise ValueError(f"unknown fuzz class {name!r}; known: {', '.join(CLASSES)}")
        out[name] = int(value or "1")
    if not any(out.values()):
        raise ValueError(f"fuzz weights {spec!r} give every class 0")
    return out


def kinds(class_weights: dict[str, int]) -> list[str]:
    """The kinds of step to draw from, each as often as its class's weight says."""
    return [kind for name, members in CLASSES.items()
            for kind in members * class_weights.get(name, 0)]


KINDS = kinds(weights())


def _step(draw: st.DrawFn, s: _State, kinds_: list[str] | None = None) -> str | None:
    who = draw(st.sampled_from(s.procs))
    kind = draw(st.sampled_from(kinds_ or KINDS))
    if kind in _CLASS_STEPS:
        return _CLASS_STEPS[kind](draw, s, who)
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
        s.add_child(who, new)
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
        s.remove(who)
        return f"{who}.exit({draw(st.integers(0, 3))})"
    if kind == "kill":
        target = draw(st.sampled_from(s.procs))
        sig = draw(st.sampled_from(SIGNALS))
        if target == "a" and sig == "SIGTERM":
            return None
        if sig == "SIGTERM":
            s.remove(target)
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


# --- mqueue mounts: modes, owners and other users ------------------------------------------
MQ_ROOTS = ["/run/mq", "/run/mq", "/run/mq2"]
PERM_CREDS = ["setuid(1000)", "seteuid(1000)", "seteuid(65534)", "seteuid(0)", "setgid(1000)",
              "setegid(1000)", "setegid(0)", "setgroups([])", "setgroups([1000])",
              "setresuid(1000, 1000, 0)"]
PERM_CAPS = ["CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_CHOWN",
             "CAP_SYS_ADMIN", "CAP_SETUID"]
ROOT_MODES = ["0o1777", "0o777", "0o755", "0o700", "0o1733", "0o333", "0o0", "0o4777",
              "0o770", "0o1770", "0o710", "0o705"]
FILE_MODES = ["0o600", "0o644", "0o666", "0o400", "0o200", "0o0", "0o2777", "0o060", "0o040",
              "0o606"]
OWNERS = ["0, 0", "1000, 1000", "1000, -1", "-1, 1000", "65534, 65534", "-1, -1"]


def _optional(name: str) -> bool:
    """The model has the call (calls being added to ipcsim are drawn once they land)."""
    from ..kernel.process import Process
    return hasattr(Process, name)


def _mqperm_step(draw: st.DrawFn, s: _State, who: str) -> str:
    """Who may do what in an mqueue mount: the mount (once), queue files made with some
    modes, chmod (and chown, where the model has it) of the mount's root and of the files,
    a process with other uids/gids or fewer capabilities (a fork that changes them, or one
    that exists), then its accesses: reading a queue file, listing, creating through
    open(O_CREAT) or mq_open, unlinking through the file system or mq_unlink, stat."""
    lines = []
    if "/run/mq" not in s.mounted:
        s.mounted.add("/run/mq")
        lines.append(f'{who}.mount("none", "/run/mq", "mqueue", 0)')
    elif draw(st.integers(0, 7)) == 0:
        target = draw(st.sampled_from(MQ_ROOTS))
        s.mounted.add(target)
        lines.append(f'{who}.mount("none", {target!r}, "mqueue", 0)')
    root = draw(st.sampled_from(sorted(s.mounted)))
    for _ in range(draw(st.integers(0, 2))):          # the owner's setup
        name = draw(st.sampled_from(["f1", "f2", "f3"]))
        op = draw(st.sampled_from(["create", "mq_create", "chmod_file", "chmod_root",
                                   "chown"]))
        lines.append(_mqperm_setup(draw, s, who, root, name, op))
    actor = who
    if len(s.procs) < MAX_PROCESSES and draw(st.integers(0, 2)):
        actor = s.fresh("p")
        s.add_child(who, actor)
        lines.append(f"{actor} = {who}.fork()")
    elif len(s.procs) > 1:
        actor = draw(st.sampled_from(s.procs))
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.integers(0, 3)):
            lines.append(f"{actor}.{draw(st.sampled_from(PERM_CREDS))}")
        else:
            lines.append(f"{actor}.drop_capability({draw(st.sampled_from(PERM_CAPS))})")
    for _ in range(draw(st.integers(1, 4))):
        lines.append(_mqperm_access(draw, s, actor, root))
    return "\n".join(lines)


def _mqperm_setup(draw: st.DrawFn, s: _State, who: str, root: str, name: str,
                  op: str) -> str:
    path = f"{root}/{name}"
    mode = draw(st.sampled_from(FILE_MODES))
    if op == "chown" and _optional("chown"):
        target = draw(st.sampled_from([root, path]))
        return f"{who}.chown({target!r}, {draw(st.sampled_from(OWNERS))})"
    if op == "chmod_root":
        return f"{who}.chmod({root!r}, {draw(st.sampled_from(ROOT_MODES))})"
    if op == "chmod_file":
        return f"{who}.chmod({path!r}, {mode})"
    fd = s.fresh("m")
    s.mqds[who].append(fd)
    if op == "mq_create":
        return f'{fd} = {who}.mq_open("/{name}", O_CREAT | O_RDWR, {mode}, None)'
    return f"{fd} = {who}.open({path!r}, O_CREAT | O_RDWR, {mode})"


def _mqperm_access(draw: st.DrawFn, s: _State, who: str, root: str) -> str:
    name = draw(st.sampled_from(["f1", "f2", "f3"]))
    path = f"{root}/{name}"
    op = draw(st.sampled_from(["read", "list", "create", "open", "mq_open", "mq_open",
                               "unlink", "mq_unlink", "stat", "chmod"]))
    if op == "read":
        return f"{who}.read_file({path!r})"
    if op == "list":
        return f"{who}.listdir({root!r})"
    if op == "stat":
        return f"{who}.stat({draw(st.sampled_from([root, path]))!r})"
    if op == "unlink":
        return f"{who}.unlink({path!r})"
    if op == "mq_unlink":
        return f'{who}.mq_unlink("/{name}")'
    if op == "chmod":
        return f"{who}.chmod({path!r}, {draw(st.sampled_from(FILE_MODES))})"
    fd = s.fresh("m")
    s.mqds[who].append(fd)
    mode = draw(st.sampled_from(FILE_MODES))
    if op == "create":
        flags = draw(st.sampled_from(["O_CREAT | O_RDWR", "O_CREAT | O_EXCL | O_WRONLY"]))
        return f"{fd} = {who}.open({path!r}, {flags}, {mode})"
    flags = draw(st.sampled_from(["O_CREAT | O_RDWR", "O_CREAT | O_EXCL | O_RDWR", "O_RDONLY",
                                  "O_WRONLY", "O_RDWR"]))
    if op == "open":
        return f"{fd} = {who}.open({path!r}, {flags.replace('O_CREAT | ', '')}, {mode})"
    return f'{fd} = {who}.mq_open("/{name}", {flags}, {mode}, None)'


# --- paths --------------------------------------------------------------------------------
# (components, what it is): "w" a file the real backend may write (an IPC sysctl), "f" a
# file, "d" a directory, "l" a symbolic link, "q" a file in an mqueue mount, "m" the mount.
PATH_BASES: list[tuple[tuple[str, ...], str]] = [
    (("proc", "sys", "kernel", "msgmax"), "w"), (("proc", "sys", "kernel", "sem"), "w"),
    (("proc", "sys", "fs", "mqueue", "msg_max"), "w"), (("proc", "sysvipc", "shm"), "f"),
    (("proc", "sys", "fs", "mqueue"), "d"), (("proc", "sysvipc"), "d"),
    (("proc", "self", "ns"), "d"), (("proc", "self", "ns", "ipc"), "l"),
    (("run", "mq"), "m"), (("run", "mq", "f1"), "q"),
]
PLAIN_DIRS: list[tuple[tuple[str, ...], str]] = [(("run", "d1"), "d"),
                                                 (("run", "d1", "d2"), "d")]
# The directories whose whole listing the model has (it has no other sysctls than the IPC
# ones, and no /proc/PID files but ns): a listing of any other is not drawn.
LISTABLE = frozenset({"/proc/sys/fs/mqueue", "/proc/sysvipc", "/proc/self/ns", "/run/mq",
                      "/run/mq2", "/run/d1", "/run/d1/d2"})
PATH_MAX = 4096                    # with its NUL
NAME_MAX = 255


def _lexical(path: str) -> str:
    """``path`` with ".", ".." and repeated slashes resolved as names (the paths drawn here
    pass through no symbolic link but /proc/self, whose ".." is /proc either way): what the
    real backend's safety check makes of it."""
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return "/" + "/".join(out)


def _writable(path: str) -> bool:
    """The real backend writes ``path`` (an IPC sysctl), instead of refusing the call."""
    real = _lexical(path)
    return (real.startswith("/proc/sys/kernel/") and real.count("/") == 4
            and real.rsplit("/", 1)[1] in ("msgmax", "sem")) or \
        real.startswith("/proc/sys/fs/mqueue/")


def _path(draw: st.DrawFn, parts: tuple[str, ...]) -> str:
    """A spelling of ``/parts...``: "." and "x/.." inserted, repeated and trailing slashes,
    a missing or over-long name on the way, a file's "/..", and lengths around PATH_MAX."""
    comps = list(parts)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(comps)))
        edit = draw(st.sampled_from(["dot", "updown", "slash", "missing", "long", "root"]))
        if edit == "dot":
            comps[at:at] = ["."]
        elif edit == "updown" and at > 0:
            comps[at:at] = ["..", comps[at - 1]]
        elif edit == "slash":
            comps[at:at] = [""]
        elif edit == "missing":
            comps[at:at] = ["nope", ".."]
        elif edit == "long":
            comps[at:at] = ["x" * draw(st.sampled_from([NAME_MAX, NAME_MAX + 1])), ".."]
        elif edit == "root" and at == 0:
            comps[0:0] = [".."]
    tail = draw(st.sampled_from(["", "", "", "/", "/.", "/..", "//"]))
    path = "/" + "/".join(comps) + tail
    if draw(st.integers(0, 5)) == 0:       # pad to a length around PATH_MAX
        length = PATH_MAX + draw(st.sampled_from([-2, -1, 0, 1]))
        pad = length - len(path)
        if pad > 0:
            path = "/" + "./" * (pad // 2) + "/" * (pad % 2) + path[1:]
    return path


def _path_expr(path: str) -> str:
    """``path`` as scenario text: long runs written as repetitions, so a failing scenario
    stays readable."""
    for unit in ("./", "x"):
        run = unit * 16
        i = path.find(run)
        if i >= 0:
            n = 0
            while path.startswith(unit, i + n * len(unit)):
                n += 1
            head, rest = path[:i], path[i + n * len(unit):]
            return f"{head!r} + {unit!r} * {n} + {_path_expr(rest)}" if rest else \
                f"{head!r} + {unit!r} * {n}"
    return repr(path)


def _path_step(draw: st.DrawFn, s: _State, who: str) -> str:
    """A call on a path spelled in one of many ways: through /proc/sys, /proc/self/ns,
    /proc/sysvipc, an mqueue mount, and plain directories where the model has them."""
    bases = PATH_BASES + (PLAIN_DIRS if _optional("mkdir") else [])
    parts, what = draw(st.sampled_from(bases))
    if what in ("m", "q") and "/run/mq" not in s.mounted:
        s.mounted.add("/run/mq")
        return f'{who}.mount("none", "/run/mq", "mqueue", 0)'
    path = _path(draw, parts)
    text = _path_expr(path)
    ops = ["read_file", "listdir", "open"]
    if what == "w" and _writable(path):
        ops += ["write_file", "write_file"]
    if what in ("w", "q", "m", "l") or (what == "d" and parts[0] == "run"):
        ops.append("stat")          # (the model stats no /proc directory)
    if what == "l":
        ops += ["readlink", "readlink"]
    if what in ("q", "m"):
        ops += ["unlink", "mq_open"]
    if what == "d" and parts[0] == "run":
        ops += ["mkdir", "mkdir", "rmdir", "chmod", "chown"]
    op = draw(st.sampled_from(ops))
    if op == "listdir" and what in ("d", "m") and _lexical(path) not in LISTABLE:
        op = "read_file"             # (a trailing "/.." left the directories listed above)
    if op == "write_file":
        return f"{who}.write_file({text}, {draw(st.sampled_from(['100', '8192']))!r})"
    if op == "open":
        fd = s.fresh("fd")
        s.fds[who].append(fd)
        return f"{fd} = {who}.open({text}, O_RDONLY)"
    if op == "mq_open":
        name = "/" + draw(st.sampled_from(["f1", "x" * NAME_MAX, "x" * (NAME_MAX + 1), ".",
                                            "..", "/f1", "f1/", ""]))
        fd = s.fresh("m")
        s.mqds[who].append(fd)
        return f"{fd} = {who}.mq_open({_path_expr(name)}, O_CREAT | O_RDWR, 0o600, None)"
    if op in ("mkdir", "rmdir", "unlink", "chmod", "chown") and \
            not _lexical(path).startswith("/run/"):
        op = "stat"                   # (the real backend changes nothing but under /run)
    if op == "mkdir":
        return f"{who}.mkdir({text}, {draw(st.sampled_from(['0o755', '0o700', '0o777']))})"
    if op == "chmod":
        return f"{who}.chmod({text}, {draw(st.sampled_from(ROOT_MODES))})"
    if op == "chown":
        return f"{who}.chown({text}, {draw(st.sampled_from(OWNERS))})"
    return f"{who}.{op}({text})"


# --- shared memory at fixed addresses -------------------------------------------------------
TASK_SIZE = 0x7FFFFFFFF000
# Where nothing of the real agents' lies (the low pages, the top pages of the address space,
# which the randomized stack reaches with a chance of about one in 2**22), or where nothing
# can lie (at and past TASK_SIZE, the vsyscall page, addresses that wrap).
FIXED_LOW = ["0x1000", "0x2000", "0x10000", "0x400000", "0x1fff"]
FIXED_HIGH = [f"{TASK_SIZE - 0x1000:#x}", f"{TASK_SIZE - 0x2000:#x}", f"{TASK_SIZE:#x}",
              f"{TASK_SIZE - 0x200000:#x}", "0x800000000000", "0xfffffffffffff000",
              "0xffffffffff600000", f"{TASK_SIZE - 1:#x}", "0xffffffffffffffff"]
FIXED_SIZES = ["4096", "8192", "5000", "2 << 20", "1"]
# Ranges that meet what every process has, wherever randomization put it (the same rules
# place ipcsim's mappings): the program (PIE, within 1 TiB above 2/3 of TASK_SIZE), the
# libraries and vDSO below mmap_base, the stack (within 16 GiB of TASK_SIZE).
OVER_MAPPINGS = [("0x550000000000", "0x20000000000"), ("0x7e0000000000", "0x1f0000000000"),
                 ("0x7ff000000000", "0xffffff000"), ("0x7ff000001000", "0xffffff000")]


def _shmfix_step(draw: st.DrawFn, s: _State, who: str) -> str:
    """shmget, then shmat at fixed addresses (with SHM_RND for the unaligned ones, and
    SHM_REMAP only low, where no agent has memory of its own), shmdt, and fork of
    processes that hold attachments."""
    if not s.segments or draw(st.integers(0, 5)) == 0:
        seg = s.fresh("g")
        s.segments.append(seg)
        return (f"{seg} = {who}.shmget(IPC_PRIVATE, {draw(st.sampled_from(FIXED_SIZES))}, "
                f"IPC_CREAT | 0o600)")
    seg = draw(st.sampled_from(s.segments))
    op = draw(st.sampled_from(["low", "low", "high", "high", "dt", "fork", "rmid", "over"]))
    if op == "over":                  # a huge segment (no memory reserved) over the mappings
        addr, size = draw(st.sampled_from(OVER_MAPPINGS))
        seg = s.fresh("g")
        s.segments.append(seg)
        return (f"{seg} = {who}.shmget(IPC_PRIVATE, {size}, IPC_CREAT | SHM_NORESERVE | "
                f"0o600)\n{who}.shmat({seg}, {addr}, "
                f"{draw(st.sampled_from(['0', 'SHM_RDONLY', 'SHM_RND']))})")
    if op == "fork" and len(s.procs) < MAX_PROCESSES:
        new = s.fresh("p")
        s.add_child(who, new)
        return f"{new} = {who}.fork()"
    if op == "rmid":
        return f"{who}.shmctl({seg}, IPC_RMID)"
    if op == "dt":
        return f"{who}.shmdt({draw(st.sampled_from(FIXED_LOW + FIXED_HIGH))})"
    if op == "high":
        addr = draw(st.sampled_from(FIXED_HIGH))
        flags = draw(st.sampled_from(["0", "SHM_RDONLY", "SHM_RND", "SHM_EXEC"]))
    else:
        addr = draw(st.sampled_from(FIXED_LOW))
        flags = draw(st.sampled_from(["0", "SHM_RDONLY", "SHM_RND", "SHM_REMAP",
                                      "SHM_RND | SHM_REMAP"]))
    if int(addr, 16) & ~0xFFF == 0 and "SHM_RND" in flags:
        flags = "0"              # (rounded down to 0, the kernel would choose the address)
    return f"{who}.shmat({seg}, {addr}, {flags})"


# --- many priorities and types ---------------------------------------------------------------
def _prio_step(draw: st.DrawFn, s: _State, who: str) -> str:
    """A queue filled with messages of many priorities (POSIX) or types (System V), then
    received without blocking: in priority order, by exact or negative type, MSG_EXCEPT,
    MSG_COPY by index, too small a buffer."""
    lines = []
    n = draw(st.integers(1, 8))
    if draw(st.booleans()):
        m = s.fresh("m")
        s.mqds[who].append(m)
        lines.append(f'{m} = {who}.mq_open("/{m}", O_CREAT | O_RDWR, 0o600, mq_attr(8, 16))')
        for i in range(n):
            prio = draw(st.one_of(st.integers(0, 32767),
                                  st.sampled_from([0, 1, 31, 32, 32767, 32768, 2**31])))
            lines.append(f"{who}.mq_timedsend({m}, b'm{i}', {prio}, 0)")
        for _ in range(draw(st.integers(1, n + 1))):
            size = draw(st.sampled_from([16, 16, 16, 15]))
            lines.append(f"{who}.mq_timedreceive({m}, {size}, 0)")
        return "\n".join(lines)
    q = s.fresh("q")
    lines.append(f"{q} = {who}.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)")
    for i in range(n):
        mtype = draw(st.one_of(st.integers(1, 12),
                               st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 0, -1])))
        lines.append(f"{who}.msgsnd({q}, {mtype}, b't{i}', IPC_NOWAIT)")
    for _ in range(draw(st.integers(1, n + 1))):
        msgtyp = draw(st.one_of(st.integers(-13, 13),
                                st.sampled_from([2**31 - 1, -(2**31), 2**63 - 1, -(2**63 - 1),
                                                 -(2**63)])))
        flags = draw(st.sampled_from(["IPC_NOWAIT", "IPC_NOWAIT", "IPC_NOWAIT | MSG_EXCEPT",
                                      "IPC_NOWAIT | MSG_COPY", "IPC_NOWAIT | MSG_NOERROR"]))
        size = draw(st.sampled_from([64, 64, 1]))
        lines.append(f"{who}.msgrcv({q}, {size}, {msgtyp}, {flags})")
    if draw(st.booleans()):
        lines.append(f"{who}.msgctl({q}, IPC_STAT)")
    return "\n".join(lines)


# --- blocking interleavings -------------------------------------------------------------------
# A timed wait, and an advance() past its end. Linux's clock runs while the steps are
# played (ipcsim's does not), so a timed wait is drawn only for the last waiter of a
# segment, with at most one step between it and the advance: the steps in between must
# take less than TIMEOUT of real time, even on a loaded machine.
TIMEOUT, PAST_TIMEOUT = 0.5, 0.8
BLOCK_SOPS = ["[(0, -1, 0)]", "[(0, -2, 0)]", "[(0, 0, 0)]", "[(1, -1, 0)]",
              "[(0, -1, 0), (1, -1, 0)]", "[(1, 0, 0), (0, -1, 0)]", "[(0, -1, SEM_UNDO)]",
              "[(1, 1, 0), (0, -1, 0)]"]
WAKE_SOPS = ["[(0, 1, 0)]", "[(0, 2, 0)]", "[(1, 1, 0)]", "[(0, 1, 0), (1, 1, 0)]",
             "[(0, -1, IPC_NOWAIT)]", "[(0, 3, 0)]"]


def _block_step(draw: st.DrawFn, s: _State, who: str) -> str:
    """One object (a System V queue or semaphore set, or a POSIX queue), one to four
    forked waiters blocked on it in different ways (some with a SIGUSR1 handler, some with
    a timeout), then steps that may wake them: sends, receives, semaphore operations and
    SETVAL/SETALL, IPC_RMID (EIDRM), IPC_SET of a queue's size, signals (EINTR, or death)
    and the passing of time."""
    kind = draw(st.sampled_from(["msg", "sem", "mq"]))
    free = [p for p in s.procs if p not in s.waiters]
    if who in s.waiters and free:       # (a waiter may still be asleep)
        who = draw(st.sampled_from(free))
    obj = s.fresh({"msg": "q", "sem": "s", "mq": "m"}[kind])
    lines = _block_setup(draw, kind, obj, who)
    if kind == "mq":
        s.mqds[who].append(obj)
    waiters = []
    count = min(draw(st.integers(1, 4)), MAX_PROCESSES - len(s.procs))
    timed = count > 0 and draw(st.integers(0, 3)) == 0
    senders = 0
    for i in range(count):
        w = s.fresh("w")
        s.add_child(who, w)
        s.waiters.add(w)
        waiters.append(w)
        lines.append(f"{w} = {who}.fork()")
        if draw(st.booleans()):
            lines.append(f'{w}.signal(SIGUSR1, "handler")')
        call = _block_call(draw, kind, obj, timed and i == count - 1, senders == 0)
        senders += call.startswith("msgsnd(")
        lines.append(f"{w}.{call}")
    wakes = [_wake(draw, s, kind, obj, who, waiters) for _ in range(draw(st.integers(1, 4)))]
    if timed:
        wakes = [w for w in wakes if not w.startswith("advance(")]
        wakes.insert(min(len(wakes), draw(st.integers(0, 1))), f"advance({PAST_TIMEOUT})")
    return "\n".join(lines + wakes)


def _block_setup(draw: st.DrawFn, kind: str, obj: str, who: str) -> list[str]:
    if kind == "msg":
        lines = [f"{obj} = {who}.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)"]
        if draw(st.booleans()):         # a small queue, filled: senders block
            lines.append(f"{who}.msgctl({obj}, IPC_SET, msqid_ds(mode=0o600, qbytes=16))")
            lines.append(f"{who}.msgsnd({obj}, {draw(st.integers(1, 3))}, b'x' * "
                         f"{draw(st.sampled_from([8, 16]))}, IPC_NOWAIT)")
        return lines
    if kind == "sem":
        lines = [f"{obj} = {who}.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600)"]
        if draw(st.booleans()):
            values = draw(st.sampled_from(["[0, 1]", "[1, 0]", "[2, 2]", "[1, 1]"]))
            lines.append(f"{who}.semctl({obj}, 0, SETALL, {values})")
        return lines
    lines = [f'{obj} = {who}.mq_open("/{obj}", O_CREAT | O_RDWR, 0o600, mq_attr(2, 16))']
    for i in range(draw(st.integers(0, 2))):      # two fill it: senders block
        lines.append(f"{who}.mq_timedsend({obj}, b'f{i}', {draw(st.integers(0, 3))}, 0)")
    return lines


def _block_call(draw: st.DrawFn, kind: str, obj: str, timed: bool, send: bool) -> str:
    """A call that blocks (or not: then it answers at once, which is compared too); with a
    timeout if ``timed`` (else none: a msgrcv or msgsnd has none anyway). A System V
    msgsnd only if ``send``: Linux wakes every blocked sender whose message would fit
    (ss_wakeup) and they race for the room, so which of two gets it is the CPU scheduler's
    choice; one blocked sender per queue keeps the outcome the kernel's."""
    if kind == "msg":
        if send and draw(st.integers(0, 2)) == 0:
            mtype, size = draw(st.integers(1, 3)), draw(st.sampled_from([8, 16]))
            return f"msgsnd({obj}, {mtype}, b'w' * {size}, 0)"
        msgtyp = draw(st.sampled_from([0, 1, 2, 3, -1, -2, -3]))
        flags = draw(st.sampled_from(["0", "0", "MSG_EXCEPT", "MSG_NOERROR"]))
        size = draw(st.sampled_from([64, 64, 4]))
        return f"msgrcv({obj}, {size}, {msgtyp}, {flags})"
    if kind == "sem":
        sops = draw(st.sampled_from(BLOCK_SOPS))
        return f"semtimedop({obj}, {sops}, {TIMEOUT})" if timed else f"semop({obj}, {sops})"
    if draw(st.booleans()):
        return f"mq_timedreceive({obj}, 16, {TIMEOUT})" if timed else \
            f"mq_receive({obj}, 16)"
    prio = draw(st.integers(0, 5))
    return f"mq_timedsend({obj}, b'w', {prio}, {TIMEOUT})" if timed else \
        f"mq_send({obj}, b'w', {prio})"


def _wake(draw: st.DrawFn, s: _State, kind: str, obj: str, who: str,
          waiters: list[str]) -> str:
    """A step that may wake some of the waiters."""
    how = draw(st.sampled_from(["op", "op", "op", "rmid", "signal", "kill", "advance",
                                "look"]))
    live = [w for w in waiters if w in s.procs]
    if how in ("signal", "kill") and live:
        w = draw(st.sampled_from(live))
        if how == "kill":
            s.remove(w)
            return f"{who}.kill(pid({w}), SIGKILL)"
        return f"{who}.kill(pid({w}), SIGUSR1)"
    if how == "advance":
        return "advance(0.05)"          # (no timed wait of this segment ends in it)
    if kind == "msg":
        if how == "rmid":
            return f"{who}.msgctl({obj}, IPC_RMID)"
        if how == "look":
            return f"{who}.msgctl({obj}, IPC_STAT)"
        op = draw(st.sampled_from(["snd", "snd", "rcv", "set"]))
        if op == "snd":
            return (f"{who}.msgsnd({obj}, {draw(st.integers(1, 3))}, b'y' * "
                    f"{draw(st.sampled_from([2, 8, 16]))}, IPC_NOWAIT)")
        if op == "rcv":
            return f"{who}.msgrcv({obj}, 64, {draw(st.integers(-3, 3))}, IPC_NOWAIT)"
        qbytes = draw(st.sampled_from([16, 64, 8]))
        return f"{who}.msgctl({obj}, IPC_SET, msqid_ds(mode=0o600, qbytes={qbytes}))"
    if kind == "sem":
        if how == "rmid":
            return f"{who}.semctl({obj}, 0, IPC_RMID)"
        if how == "look":
            cmd = draw(st.sampled_from(["GETNCNT", "GETZCNT", "GETALL"]))
            return f"{who}.semctl({obj}, {draw(st.integers(0, 1))}, {cmd})"
        op = draw(st.sampled_from(["op", "op", "op", "setval", "setall"]))
        if op == "setval":
            return f"{who}.semctl({obj}, {draw(st.integers(0, 1))}, SETVAL, " \
                f"{draw(st.integers(0, 3))})"
        if op == "setall":
            return f"{who}.semctl({obj}, 0, SETALL, " \
                f"{draw(st.sampled_from(['[1, 1]', '[2, 0]', '[0, 0]', '[3, 1]']))})"
        return f"{who}.semop({obj}, {draw(st.sampled_from(WAKE_SOPS))})"
    if how == "rmid":
        return f'{who}.mq_unlink("/{obj}")'
    if how == "look":
        return f"{who}.mq_getattr({obj})"
    if draw(st.booleans()):
        return f"{who}.mq_timedsend({obj}, b'y', {draw(st.integers(0, 5))}, 0)"
    return f"{who}.mq_timedreceive({obj}, 16, 0)"


_CLASS_STEPS = {"mqperm": _mqperm_step, "path": _path_step, "shmfix": _shmfix_step,
                "prio": _prio_step, "block": _block_step}
