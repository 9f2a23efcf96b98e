"""Linux x86-64 values of every flag, command and limit that ipcsim models.

The names and numbers are those of the uapi headers (``linux/ipc.h``, ``msg.h``, ``sem.h``,
``shm.h``, ``sched.h``, ``capability.h``), so code written against the C API reads the same.
"""
from typing import Final

# --- clone/unshare flags (linux/sched.h) -------------------------------------------------
CSIGNAL: Final = 0x000000FF
CLONE_VM: Final = 0x00000100
CLONE_FS: Final = 0x00000200
CLONE_FILES: Final = 0x00000400
CLONE_SIGHAND: Final = 0x00000800
CLONE_PIDFD: Final = 0x00001000
CLONE_PTRACE: Final = 0x00002000
CLONE_VFORK: Final = 0x00004000
CLONE_PARENT: Final = 0x00008000
CLONE_THREAD: Final = 0x00010000
CLONE_NEWNS: Final = 0x00020000
CLONE_SYSVSEM: Final = 0x00040000
CLONE_SETTLS: Final = 0x00080000
CLONE_PARENT_SETTID: Final = 0x00100000
CLONE_CHILD_CLEARTID: Final = 0x00200000
CLONE_DETACHED: Final = 0x00400000
CLONE_UNTRACED: Final = 0x00800000
CLONE_CHILD_SETTID: Final = 0x01000000
CLONE_NEWCGROUP: Final = 0x02000000
CLONE_NEWUTS: Final = 0x04000000
CLONE_NEWIPC: Final = 0x08000000
CLONE_NEWUSER: Final = 0x10000000
CLONE_NEWPID: Final = 0x20000000
CLONE_NEWNET: Final = 0x40000000
CLONE_IO: Final = 0x80000000
CLONE_NEWTIME: Final = 0x00000080  # shares its bit with CSIGNAL; valid for unshare/clone3 only

# Every namespace type bit, as setns(2) knows them.
CLONE_NS_TYPES: Final = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC
                         | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

# --- mount(2) flags --------------------------------------------------------------------
MS_RDONLY: Final = 1
MS_NOSUID: Final = 2
MS_NODEV: Final = 4
MS_NOEXEC: Final = 8
MS_REMOUNT: Final = 32
MS_BIND: Final = 4096
MS_REC: Final = 16384
MS_SILENT: Final = 32768
MS_UNBINDABLE: Final = 1 << 17
MS_PRIVATE: Final = 1 << 18
MS_SLAVE: Final = 1 << 19
MS_SHARED: Final = 1 << 20
MNT_FORCE: Final = 1
MNT_DETACH: Final = 2

# --- open(2) flags ---------------------------------------------------------------------
O_RDONLY: Final = 0o0
O_WRONLY: Final = 0o1
O_RDWR: Final = 0o2
O_ACCMODE: Final = 0o3
O_CREAT: Final = 0o100
O_EXCL: Final = 0o200
O_NOCTTY: Final = 0o400
O_TRUNC: Final = 0o1000
O_APPEND: Final = 0o2000
O_NONBLOCK: Final = 0o4000
O_CLOEXEC: Final = 0o2000000

SEEK_SET: Final = 0
SEEK_CUR: Final = 1
SEEK_END: Final = 2

# --- wait(2) options -------------------------------------------------------------------
WNOHANG: Final = 1
WUNTRACED: Final = 2
WCONTINUED: Final = 8

# --- System V IPC (linux/ipc.h) --------------------------------------------------------
IPC_PRIVATE: Final = 0
IPC_CREAT: Final = 0o1000
IPC_EXCL: Final = 0o2000
IPC_NOWAIT: Final = 0o4000
IPC_RMID: Final = 0
IPC_SET: Final = 1
IPC_STAT: Final = 2
IPC_INFO: Final = 3
IPC_64: Final = 0x0100

# message queues (linux/msg.h)
MSG_STAT: Final = 11
MSG_INFO: Final = 12
MSG_STAT_ANY: Final = 13
MSG_NOERROR: Final = 0o10000
MSG_EXCEPT: Final = 0o20000
MSG_COPY: Final = 0o40000
MSGMNI: Final = 32000
MSGMAX: Final = 8192
MSGMNB: Final = 16384
MSGPOOL: Final = MSGMNI * MSGMNB // 1024
MSGTQL: Final = MSGMNB
MSGMAP: Final = MSGMNB
MSGSSZ: Final = 16
MSGSEG: Final = 0xFFFF

# semaphores (linux/sem.h)
SEM_UNDO: Final = 0x1000
GETPID: Final = 11
GETVAL: Final = 12
GETALL: Final = 13
GETNCNT: Final = 14
GETZCNT: Final = 15
SETVAL: Final = 16
SETALL: Final = 17
SEM_STAT: Final = 18
SEM_INFO: Final = 19
SEM_STAT_ANY: Final = 20
SEMMNI: Final = 32000
SEMMSL: Final = 32000
SEMMNS: Final = SEMMNI * SEMMSL
SEMOPM: Final = 500
SEMVMX: Final = 32767
SEMAEM: Final = SEMVMX
SEMUME: Final = SEMOPM
SEMMNU: Final = SEMMNS
SEMMAP: Final = SEMMNS
SEMUSZ: Final = 20

# shared memory (linux/shm.h)
SHMMIN: Final = 1
SHMMNI: Final = 4096
SHMMAX: Final = (1 << 64) - 1 - (1 << 24)
SHMALL: Final = SHMMAX
SHMLBA: Final = 4096
PAGE_SIZE: Final = 4096
SHM_RDONLY: Final = 0o10000
SHM_RND: Final = 0o20000
SHM_REMAP: Final = 0o40000
SHM_EXEC: Final = 0o100000
SHM_HUGETLB: Final = 0o4000
SHM_NORESERVE: Final = 0o10000
SHM_LOCK: Final = 11
SHM_UNLOCK: Final = 12
SHM_STAT: Final = 13
SHM_INFO: Final = 14
SHM_STAT_ANY: Final = 15
SHM_DEST: Final = 0o1000
SHM_LOCKED: Final = 0o2000

# the id table (ipc/util.h)
IPCMNI_SHIFT: Final = 15
IPCMNI: Final = 1 << IPCMNI_SHIFT
IPCMNI_IDX_MASK: Final = IPCMNI - 1
IPCMNI_SEQ_MAX: Final = 0x7FFFFFFF >> IPCMNI_SHIFT
IPC_MIN_CYCLE: Final = 64  # RADIX_TREE_MAP_SIZE

# --- POSIX message queues (include/linux/ipc_namespace.h, linux/mqueue.h) --------------
MQ_PRIO_MAX: Final = 32768
MQ_BYTES_MAX: Final = 819200
DFLT_QUEUESMAX: Final = 256
DFLT_MSGMAX: Final = 10
DFLT_MSG: Final = 10
DFLT_MSGSIZEMAX: Final = 8192
DFLT_MSGSIZE: Final = 8192
MIN_MSGMAX: Final = 1
HARD_MSGMAX: Final = 65536
MIN_MSGSIZEMAX: Final = 128
HARD_MSGSIZEMAX: Final = 16 * 1024 * 1024
HARD_QUEUESMAX: Final = 1024
NAME_MAX: Final = 255
PATH_MAX: Final = 4096
NOTIFY_COOKIE_LEN: Final = 32
MQUEUE_MAGIC: Final = 0x19800202
# struct sigevent's sigev_notify (asm-generic/siginfo.h)
SIGEV_SIGNAL: Final = 0
SIGEV_NONE: Final = 1
SIGEV_THREAD: Final = 2
# si_code values the model generates (asm-generic/siginfo.h)
SI_USER: Final = 0
SI_MESGQ: Final = -3

# --- resource limits (asm-generic/resource.h) ------------------------------------------
RLIMIT_NOFILE: Final = 7
RLIMIT_MSGQUEUE: Final = 12
RLIM_NLIMITS: Final = 16
RLIM_INFINITY: Final = (1 << 64) - 1

# --- namespaces ------------------------------------------------------------------------
INIT_IPC_NS_INUM: Final = 0xEFFFFFFF  # PROC_IPC_INIT_INO: ipc:[4026531839]
PROC_DYNAMIC_FIRST: Final = 0xF0000000
# ioctls of a namespace descriptor (linux/nsfs.h)
NS_GET_USERNS: Final = 0xB701
NS_GET_PARENT: Final = 0xB702
NS_GET_NSTYPE: Final = 0xB703
NS_GET_OWNER_UID: Final = 0xB704
INT_MAX: Final = 0x7FFFFFFF
ULONG_MAX: Final = (1 << 64) - 1

# --- capabilities (linux/capability.h) -------------------------------------------------
CAP_CHOWN: Final = 0
CAP_DAC_OVERRIDE: Final = 1
CAP_DAC_READ_SEARCH: Final = 2
CAP_FOWNER: Final = 3
CAP_FSETID: Final = 4
CAP_KILL: Final = 5
CAP_SETGID: Final = 6
CAP_SETUID: Final = 7
CAP_SETPCAP: Final = 8
CAP_LINUX_IMMUTABLE: Final = 9
CAP_NET_BIND_SERVICE: Final = 10
CAP_NET_BROADCAST: Final = 11
CAP_NET_ADMIN: Final = 12
CAP_NET_RAW: Final = 13
CAP_IPC_LOCK: Final = 14
CAP_IPC_OWNER: Final = 15
CAP_SYS_MODULE: Final = 16
CAP_SYS_RAWIO: Final = 17
CAP_SYS_CHROOT: Final = 18
CAP_SYS_PTRACE: Final = 19
CAP_SYS_PACCT: Final = 20
CAP_SYS_ADMIN: Final = 21
CAP_SYS_BOOT: Final = 22
CAP_SYS_NICE: Final = 23
CAP_SYS_RESOURCE: Final = 24
CAP_SYS_TIME: Final = 25
CAP_SYS_TTY_CONFIG: Final = 26
CAP_MKNOD: Final = 27
CAP_LEASE: Final = 28
CAP_AUDIT_WRITE: Final = 29
CAP_AUDIT_CONTROL: Final = 30
CAP_SETFCAP: Final = 31
CAP_MAC_OVERRIDE: Final = 32
CAP_MAC_ADMIN: Final = 33
CAP_SYSLOG: Final = 34
CAP_WAKE_ALARM: Final = 35
CAP_BLOCK_SUSPEND: Final = 36
CAP_AUDIT_READ: Final = 37
CAP_PERFMON: Final = 38
CAP_BPF: Final = 39
CAP_CHECKPOINT_RESTORE: Final = 40
CAP_LAST_CAP: Final = CAP_CHECKPOINT_RESTORE
CAP_FULL_SET: Final = (1 << (CAP_LAST_CAP + 1)) - 1

# The effective capabilities a change of fsuid from 0 takes away (CAP_FS_MASK).
CAP_FS_MASK: Final = ((1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)
               | (1 << CAP_FOWNER) | (1 << CAP_FSETID) | (1 << CAP_LINUX_IMMUTABLE)
               | (1 << CAP_MKNOD) | (1 << CAP_MAC_OVERRIDE))

# The overflow uid/gid shown for ids that do not map.
OVERFLOWUID: Final = 65534
OVERFLOWGID: Final = 65534

PID_MAX_DEFAULT: Final = 4194304  # 64-bit pid_max
PID_MAX_LIMIT: Final = 4194304    # the most /proc/sys/kernel/pid_max takes on 64-bit
RESERVED_PIDS: Final = 300


def capability_names() -> dict[int, str]:
    """CAP_* numbers to names, in number order."""
    skip = ("CAP_LAST_CAP", "CAP_FULL_SET", "CAP_FS_MASK")
    caps = {v: k for k, v in globals().items() if k.startswith("CAP_") and k not in skip}
    return dict(sorted(caps.items()))
