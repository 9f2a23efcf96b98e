"""Linux x86-64 values of every flag, command and limit that ipcsim models.

The names and numbers are those of the uapi headers (``linux/ipc.h``, ``msg.h``, ``sem.h``,
``shm.h``, ``sched.h``, ``capability.h``), so code written against the C API reads the same.
"""

# --- clone/unshare flags (linux/sched.h) -------------------------------------------------
CSIGNAL = 0x000000FF
CLONE_VM = 0x00000100
CLONE_FS = 0x00000200
CLONE_FILES = 0x00000400
CLONE_SIGHAND = 0x00000800
CLONE_PIDFD = 0x00001000
CLONE_PTRACE = 0x00002000
CLONE_VFORK = 0x00004000
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_SYSVSEM = 0x00040000
CLONE_SETTLS = 0x00080000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_CLEARTID = 0x00200000
CLONE_DETACHED = 0x00400000
CLONE_UNTRACED = 0x00800000
CLONE_CHILD_SETTID = 0x01000000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_IO = 0x80000000
CLONE_NEWTIME = 0x00000080  # shares its bit with CSIGNAL; valid for unshare/clone3 only

# Every namespace type bit, as setns(2) knows them.
CLONE_NS_TYPES = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
                  | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

# --- mount(2) flags --------------------------------------------------------------------
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MNT_FORCE = 1
MNT_DETACH = 2

# --- open(2) flags ---------------------------------------------------------------------
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_ACCMODE = 0o3
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_CLOEXEC = 0o2000000

SEEK_SET = 0
SEEK_CUR = 1
SEEK_END = 2

# --- wait(2) options -------------------------------------------------------------------
WNOHANG = 1
WUNTRACED = 2
WCONTINUED = 8

# --- System V IPC (linux/ipc.h) --------------------------------------------------------
IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_NOWAIT = 0o4000
IPC_RMID = 0
IPC_SET = 1
IPC_STAT = 2
IPC_INFO = 3
IPC_64 = 0x0100

# message queues (linux/msg.h)
MSG_STAT = 11
MSG_INFO = 12
MSG_STAT_ANY = 13
MSG_NOERROR = 0o10000
MSG_EXCEPT = 0o20000
MSG_COPY = 0o40000
MSGMNI = 32000
MSGMAX = 8192
MSGMNB = 16384
MSGPOOL = MSGMNI * MSGMNB // 1024
MSGTQL = MSGMNB
MSGMAP = MSGMNB
MSGSSZ = 16
MSGSEG = 0xFFFF

# semaphores (linux/sem.h)
SEM_UNDO = 0x1000
GETPID = 11
GETVAL = 12
GETALL = 13
GETNCNT = 14
GETZCNT = 15
SETVAL = 16
SETALL = 17
SEM_STAT = 18
SEM_INFO = 19
SEM_STAT_ANY = 20
SEMMNI = 32000
SEMMSL = 32000
SEMMNS = SEMMNI * SEMMSL
SEMOPM = 500
SEMVMX = 32767
SEMAEM = SEMVMX
SEMUME = SEMOPM
SEMMNU = SEMMNS
SEMMAP = SEMMNS
SEMUSZ = 20

# shared memory (linux/shm.h)
SHMMIN = 1
SHMMNI = 4096
SHMMAX = (1 << 64) - 1 - (1 << 24)
SHMALL = SHMMAX
SHMLBA = 4096
PAGE_SIZE = 4096
SHM_RDONLY = 0o10000
SHM_RND = 0o20000
SHM_REMAP = 0o40000
SHM_EXEC = 0o100000
SHM_HUGETLB = 0o4000
SHM_NORESERVE = 0o10000
SHM_LOCK = 11
SHM_UNLOCK = 12
SHM_STAT = 13
SHM_INFO = 14
SHM_STAT_ANY = 15
SHM_DEST = 0o1000
SHM_LOCKED = 0o2000

# the id table (ipc/util.h)
IPCMNI_SHIFT = 15
IPCMNI = 1 << IPCMNI_SHIFT
IPCMNI_IDX_MASK = IPCMNI - 1
IPCMNI_SEQ_MAX = 0x7FFFFFFF >> IPCMNI_SHIFT
IPC_MIN_CYCLE = 64  # RADIX_TREE_MAP_SIZE

# --- POSIX message queues (include/linux/ipc_namespace.h, linux/mqueue.h) --------------
MQ_PRIO_MAX = 32768
MQ_BYTES_MAX = 819200
DFLT_QUEUESMAX = 256
DFLT_MSGMAX = 10
DFLT_MSG = 10
DFLT_MSGSIZEMAX = 8192
DFLT_MSGSIZE = 8192
MIN_MSGMAX = 1
HARD_MSGMAX = 65536
MIN_MSGSIZEMAX = 128
HARD_MSGSIZEMAX = 16 * 1024 * 1024
HARD_QUEUESMAX = 1024
NAME_MAX = 255
PATH_MAX = 4096
NOTIFY_COOKIE_LEN = 32
MQUEUE_MAGIC = 0x19800202
# struct sigevent's sigev_notify (asm-generic/siginfo.h)
SIGEV_SIGNAL = 0
SIGEV_NONE = 1
SIGEV_THREAD = 2
# si_code values the model generates (asm-generic/siginfo.h)
SI_USER = 0
SI_MESGQ = -3

# --- resource limits (asm-generic/resource.h) ------------------------------------------
RLIMIT_NOFILE = 7
RLIMIT_MSGQUEUE = 12
RLIM_NLIMITS = 16
RLIM_INFINITY = (1 << 64) - 1

# --- namespaces ------------------------------------------------------------------------
INIT_IPC_NS_INUM = 0xEFFFFFFF  # PROC_IPC_INIT_INO: ipc:[4026531839]
PROC_DYNAMIC_FIRST = 0xF0000000
INT_MAX = 0x7FFFFFFF
ULONG_MAX = (1 << 64) - 1

# --- capabilities (linux/capability.h) -------------------------------------------------
CAP_CHOWN = 0
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2
CAP_FOWNER = 3
CAP_FSETID = 4
CAP_KILL = 5
CAP_SETGID = 6
CAP_SETUID = 7
CAP_SETPCAP = 8
CAP_LINUX_IMMUTABLE = 9
CAP_NET_BIND_SERVICE = 10
CAP_NET_BROADCAST = 11
CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
CAP_IPC_LOCK = 14
CAP_IPC_OWNER = 15
CAP_SYS_MODULE = 16
CAP_SYS_RAWIO = 17
CAP_SYS_CHROOT = 18
CAP_SYS_PTRACE = 19
CAP_SYS_PACCT = 20
CAP_SYS_ADMIN = 21
CAP_SYS_BOOT = 22
CAP_SYS_NICE = 23
CAP_SYS_RESOURCE = 24
CAP_SYS_TIME = 25
CAP_SYS_TTY_CONFIG = 26
CAP_MKNOD = 27
CAP_LEASE = 28
CAP_AUDIT_WRITE = 29
CAP_AUDIT_CONTROL = 30
CAP_SETFCAP = 31
CAP_MAC_OVERRIDE = 32
CAP_MAC_ADMIN = 33
CAP_SYSLOG = 34
CAP_WAKE_ALARM = 35
CAP_BLOCK_SUSPEND = 36
CAP_AUDIT_READ = 37
CAP_PERFMON = 38
CAP_BPF = 39
CAP_CHECKPOINT_RESTORE = 40
CAP_LAST_CAP = CAP_CHECKPOINT_RESTORE
CAP_FULL_SET = (1 << (CAP_LAST_CAP + 1)) - 1

# The effective capabilities a change of fsuid from 0 takes away (CAP_FS_MASK).
CAP_FS_MASK = ((1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)
               | (1 << CAP_FOWNER) | (1 << CAP_FSETID) | (1 << CAP_LINUX_IMMUTABLE)
               | (1 << CAP_MKNOD) | (1 << CAP_MAC_OVERRIDE))

# The overflow uid/gid shown for ids that do not map.
OVERFLOWUID = 65534
OVERFLOWGID = 65534

PID_MAX_DEFAULT = 4194304  # 64-bit pid_max
PID_MAX_LIMIT = 4194304    # the most /proc/sys/kernel/pid_max takes on 64-bit
RESERVED_PIDS = 300


def capability_names() -> dict[int, str]:
    """CAP_* numbers to names, in number order."""
    skip = ("CAP_LAST_CAP", "CAP_FULL_SET", "CAP_FS_MASK")
    caps = {v: k for k, v in globals().items() if k.startswith("CAP_") and k not in skip}
    return dict(sorted(caps.items()))
