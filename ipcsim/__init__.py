"""ipcsim: an in-memory model of Linux IPC namespaces.

``Kernel`` holds processes and IPC namespaces; each namespace has its own System V ID tables,
POSIX message queue filesystem and sysctl limits. Flags, commands and capabilities carry the
Linux x86-64 values.

Every public name is listed here, statically (``__all__`` too), so that type checkers see
them; tests/test_typing.py checks that ``__all__`` is every constant of
:mod:`ipcsim.constants`, every standard signal and the classes below.
"""
from . import constants
# The Linux names are the public API: every upper-case name of ipcsim.constants.
from .constants import (CAP_AUDIT_CONTROL, CAP_AUDIT_READ, CAP_AUDIT_WRITE, CAP_BLOCK_SUSPEND,
                        CAP_BPF, CAP_CHECKPOINT_RESTORE, CAP_CHOWN, CAP_DAC_OVERRIDE,
                        CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_FS_MASK, CAP_FULL_SET,
                        CAP_IPC_LOCK, CAP_IPC_OWNER, CAP_KILL, CAP_LAST_CAP, CAP_LEASE,
                        CAP_LINUX_IMMUTABLE, CAP_MAC_ADMIN, CAP_MAC_OVERRIDE, CAP_MKNOD,
                        CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_NET_BROADCAST, CAP_NET_RAW,
                        CAP_PERFMON, CAP_SETFCAP, CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYSLOG,
                        CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_CHROOT, CAP_SYS_MODULE, CAP_SYS_NICE,
                        CAP_SYS_PACCT, CAP_SYS_PTRACE, CAP_SYS_RAWIO, CAP_SYS_RESOURCE,
                        CAP_SYS_TIME, CAP_SYS_TTY_CONFIG, CAP_WAKE_ALARM, CLONE_CHILD_CLEARTID,
                        CLONE_CHILD_SETTID, CLONE_DETACHED, CLONE_FILES, CLONE_FS, CLONE_IO,
                        CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                        CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS, CLONE_NS_TYPES, CLONE_PARENT,
                        CLONE_PARENT_SETTID, CLONE_PIDFD, CLONE_PTRACE, CLONE_SETTLS,
                        CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_UNTRACED, CLONE_VFORK,
                        CLONE_VM, CSIGNAL, DFLT_MSG, DFLT_MSGMAX, DFLT_MSGSIZE, DFLT_MSGSIZEMAX,
                        DFLT_QUEUESMAX, GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, HARD_MSGMAX,
                        HARD_MSGSIZEMAX, HARD_QUEUESMAX, INIT_IPC_NS_INUM, INT_MAX, IPCMNI,
                        IPCMNI_IDX_MASK, IPCMNI_SEQ_MAX, IPCMNI_SHIFT, IPC_64, IPC_CREAT,
                        IPC_EXCL, IPC_INFO, IPC_MIN_CYCLE, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID,
                        IPC_SET, IPC_STAT, MIN_MSGMAX, MIN_MSGSIZEMAX, MNT_DETACH, MNT_FORCE,
                        MQUEUE_MAGIC, MQ_BYTES_MAX, MQ_PRIO_MAX, MSGMAP, MSGMAX, MSGMNB, MSGMNI,
                        MSGPOOL, MSGSEG, MSGSSZ, MSGTQL, MSG_COPY, MSG_EXCEPT, MSG_INFO,
                        NS_GET_NSTYPE, NS_GET_OWNER_UID, NS_GET_PARENT, NS_GET_USERNS,
                        MSG_NOERROR, MSG_STAT, MSG_STAT_ANY, MS_BIND, MS_NODEV, MS_NOEXEC,
                        MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SHARED,
                        MS_SILENT, MS_SLAVE, MS_UNBINDABLE, NAME_MAX, NOTIFY_COOKIE_LEN,
                        OVERFLOWGID, OVERFLOWUID, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_EXCL,
                        O_NOCTTY, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, PAGE_SIZE,
                        PATH_MAX, PID_MAX_DEFAULT, PID_MAX_LIMIT, PROC_DYNAMIC_FIRST,
                        RESERVED_PIDS, RLIMIT_MSGQUEUE, RLIMIT_NOFILE, RLIM_INFINITY,
                        RLIM_NLIMITS, SEEK_CUR, SEEK_END, SEEK_SET, SEMAEM, SEMMAP, SEMMNI,
                        SEMMNS, SEMMNU, SEMMSL, SEMOPM, SEMUME, SEMUSZ, SEMVMX, SEM_INFO,
                        SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SETALL, SETVAL, SHMALL, SHMLBA, SHMMAX,
                        SHMMIN, SHMMNI, SHM_DEST, SHM_EXEC, SHM_HUGETLB, SHM_INFO, SHM_LOCK,
                        SHM_LOCKED, SHM_NORESERVE, SHM_RDONLY, SHM_REMAP, SHM_RND, SHM_STAT,
                        SHM_STAT_ANY, SHM_UNLOCK, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD,
                        SI_MESGQ, SI_USER, ULONG_MAX, WCONTINUED, WNOHANG, WUNTRACED,
                        capability_names)
from .constants import capability_names  # noqa: F401 (reachable here as before; not in __all__)
from .errors import (DeadlockError, KernelPanic, ProcessGone, SegmentationFault,
                     SimulationError, UnsupportedError)
from .kernel.kernel import Kernel, TraceEvent
from .kernel.mqueue import MqAttr, SigEvent, SigInfo, Stat
from .kernel.msg import Msginfo, MsqidDs
from .kernel.sem import SemidDs, Seminfo
from .kernel.shm import ShmidDs, ShmInfo, Shminfo
from .kernel.namespace import IpcNamespace
from .kernel.perm import IpcPerm
from .kernel.process import Process
from .kernel.signals import SIG_BLOCK, SIG_DFL, SIG_IGN, SIG_SETMASK, SIG_UNBLOCK, SIGNAMES
# SIGHUP ... SIGSYS with their Linux numbers
from .kernel.signals import (SIGABRT, SIGALRM, SIGBUS, SIGCHLD, SIGCONT, SIGFPE, SIGHUP, SIGILL,
                             SIGINT, SIGIO, SIGKILL, SIGPIPE, SIGPROF, SIGPWR, SIGQUIT, SIGSEGV,
                             SIGSTKFLT, SIGSTOP, SIGSYS, SIGTERM, SIGTRAP, SIGTSTP, SIGTTIN,
                             SIGTTOU, SIGURG, SIGUSR1, SIGUSR2, SIGVTALRM, SIGWINCH, SIGXCPU,
                             SIGXFSZ)

__version__ = "0.1.0"

__all__ = [
    # the model and the structs its calls return
    "Kernel", "Process", "IpcNamespace", "IpcPerm", "TraceEvent", "MsqidDs", "Msginfo", "MqAttr",
    "SigEvent", "SigInfo", "Stat", "ShmidDs", "Shminfo", "ShmInfo", "SemidDs", "Seminfo",
    # errors
    "SimulationError", "DeadlockError", "SegmentationFault", "ProcessGone", "UnsupportedError",
    "KernelPanic",
    # signal dispositions, sigprocmask's how, the names of the signals
    "SIG_DFL", "SIG_IGN", "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK", "SIGNAMES",
    # the module of the Linux values
    "constants",
    # every upper-case name of ipcsim.constants
    "CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER", "CAP_FSETID", "CAP_FS_MASK", "CAP_FULL_SET", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_KILL", "CAP_LAST_CAP", "CAP_LEASE", "CAP_LINUX_IMMUTABLE", "CAP_MAC_ADMIN",
    "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYSLOG", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE",
    "CAP_SYS_NICE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_WAKE_ALARM", "CLONE_CHILD_CLEARTID",
    "CLONE_CHILD_SETTID", "CLONE_DETACHED", "CLONE_FILES", "CLONE_FS", "CLONE_IO",
    "CLONE_NEWCGROUP", "CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID",
    "CLONE_NEWTIME", "CLONE_NEWUSER", "CLONE_NEWUTS", "CLONE_NS_TYPES", "CLONE_PARENT",
    "CLONE_PARENT_SETTID", "CLONE_PIDFD", "CLONE_PTRACE", "CLONE_SETTLS", "CLONE_SIGHAND",
    "CLONE_SYSVSEM", "CLONE_THREAD", "CLONE_UNTRACED", "CLONE_VFORK", "CLONE_VM", "CSIGNAL",
    "DFLT_MSG", "DFLT_MSGMAX", "DFLT_MSGSIZE", "DFLT_MSGSIZEMAX", "DFLT_QUEUESMAX", "GETALL",
    "GETNCNT", "GETPID", "GETVAL", "GETZCNT", "HARD_MSGMAX", "HARD_MSGSIZEMAX", "HARD_QUEUESMAX",
    "INIT_IPC_NS_INUM", "INT_MAX", "IPCMNI", "IPCMNI_IDX_MASK", "IPCMNI_SEQ_MAX", "IPCMNI_SHIFT",
    "IPC_64", "IPC_CREAT", "IPC_EXCL", "IPC_INFO", "IPC_MIN_CYCLE", "IPC_NOWAIT", "IPC_PRIVATE",
    "IPC_RMID", "IPC_SET", "IPC_STAT", "MIN_MSGMAX", "MIN_MSGSIZEMAX", "MNT_DETACH", "MNT_FORCE",
    "MQUEUE_MAGIC", "MQ_BYTES_MAX", "MQ_PRIO_MAX", "MSGMAP", "MSGMAX", "MSGMNB", "MSGMNI",
    "MSGPOOL", "MSGSEG", "MSGSSZ", "MSGTQL", "MSG_COPY", "MSG_EXCEPT", "MSG_INFO", "MSG_NOERROR",
    "MSG_STAT", "MSG_STAT_ANY", "MS_BIND", "MS_NODEV", "MS_NOEXEC", "MS_NOSUID", "MS_RDONLY",
    "MS_PRIVATE", "MS_REC", "MS_REMOUNT", "MS_SHARED", "MS_SILENT", "MS_SLAVE", "MS_UNBINDABLE",
    "NAME_MAX", "NS_GET_NSTYPE", "NS_GET_OWNER_UID", "NS_GET_PARENT",
    "NS_GET_USERNS", "NOTIFY_COOKIE_LEN", "OVERFLOWGID", "OVERFLOWUID",
    "O_ACCMODE", "O_APPEND", "O_CLOEXEC", "O_CREAT", "O_EXCL", "O_NOCTTY", "O_NONBLOCK",
    "O_RDONLY", "O_RDWR", "O_TRUNC", "O_WRONLY", "PAGE_SIZE", "PATH_MAX", "PID_MAX_DEFAULT",
    "PID_MAX_LIMIT", "PROC_DYNAMIC_FIRST", "RESERVED_PIDS", "RLIMIT_MSGQUEUE", "RLIMIT_NOFILE",
    "RLIM_INFINITY", "RLIM_NLIMITS", "SEEK_CUR", "SEEK_END", "SEEK_SET", "SEMAEM", "SEMMAP",
    "SEMMNI", "SEMMNS", "SEMMNU", "SEMMSL", "SEMOPM", "SEMUME", "SEMUSZ", "SEMVMX", "SEM_INFO",
    "SEM_STAT", "SEM_STAT_ANY", "SEM_UNDO", "SETALL", "SETVAL", "SHMALL", "SHMLBA", "SHMMAX",
    "SHMMIN", "SHMMNI", "SHM_DEST", "SHM_EXEC", "SHM_HUGETLB", "SHM_INFO", "SHM_LOCK",
    "SHM_LOCKED", "SHM_NORESERVE", "SHM_RDONLY", "SHM_REMAP", "SHM_RND", "SHM_STAT",
    "SHM_STAT_ANY", "SHM_UNLOCK", "SIGEV_NONE", "SIGEV_SIGNAL", "SIGEV_THREAD", "SI_MESGQ",
    "SI_USER", "ULONG_MAX", "WCONTINUED", "WNOHANG", "WUNTRACED",
    # the standard signals
    "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCONT", "SIGFPE", "SIGHUP", "SIGILL", "SIGINT",
    "SIGIO", "SIGKILL", "SIGPIPE", "SIGPROF", "SIGPWR", "SIGQUIT", "SIGSEGV", "SIGSTKFLT",
    "SIGSTOP", "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
    "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ",
]
