"""Per-namespace limits: defaults, writes, permissions, descriptors bound at open."""
from . import scenario

AREA = "sysctl"
K = "/proc/sys/kernel/"
MQ = "/proc/sys/fs/mqueue/"
FILES = [K + n for n in ("msgmax", "msgmnb", "msgmni", "sem", "shmall", "shmmax", "shmmni",
                         "shm_rmid_forced", "msg_next_id", "sem_next_id", "shm_next_id",
                         "auto_msgmni")] + \
        [MQ + n for n in ("msg_default", "msg_max", "msgsize_default", "msgsize_max",
                          "queues_max")]

# Writes tried on every single-number file: boundaries come from each file's own range.
COMMON = ["0", "1", "-1", "100", "0x10", "010", "08", "  77  \n", "1 2", "", " ", "12abc",
          "+5", "-0", "2147483647", "2147483648", "-2147483648", "-2147483649",
          "18446744073709551615", "18446744073709551616", "123456789012345678901",
          "65536", "65537", "32768", "32769", "127", "128", "16777216", "16777217"]
SEM = ["1 2 3", "1 2 3 4 5", "250 32000 32 32769", "1 2 3 -1", "5 x 7", " 9\t8\n7 6",
       "-5 -6 -7 8", "4294967296 1 1 1", "-2147483648 1 1 1", "1,2,3,4", "", " ", "7",
       "1 2 3 32768", "0 0 0 0"]


def _writes(path: str, values: list[str]) -> str:
    lines = []
    for v in values:
        lines.append(f"a.write_file({path!r}, {v!r})")
        lines.append(f"a.read_file({path!r})")
    return "\n".join(lines)


def _name(path: str) -> str:
    return path.rsplit("/", 1)[1]


SCENARIOS = [
    scenario(AREA, "defaults", "\n".join(f"a.read_file({p!r})" for p in FILES)),
    scenario(AREA, "listing", """
a.listdir("/proc/sys/fs/mqueue")
a.listdir("/proc/sysvipc")
a.read_file("/proc/sys/kernel")
a.listdir("/proc/sys/kernel/msgmax")
a.read_file("/proc/sys/kernel/no_such_limit")
a.readlink("/proc/sys/kernel/msgmax")
a.unlink("/proc/sys/kernel/msgmax")
"""),
]
SCENARIOS += [scenario(AREA, f"writes-{_name(p)}", _writes(p, COMMON))
              for p in FILES if not p.endswith("/sem")]
SCENARIOS += [scenario(AREA, "writes-sem", _writes(K + "sem", SEM))]
SCENARIOS += [
    scenario(AREA, "new-namespace-starts-from-defaults", """
a.write_file("/proc/sys/kernel/msgmax", "100")
a.write_file("/proc/sys/fs/mqueue/msg_max", "5")
a.write_file("/proc/sys/kernel/shm_rmid_forced", "1")
a.write_file("/proc/sys/kernel/sem", "1 2 3 4")
a.write_file("/proc/sys/kernel/msg_next_id", "77")
b = a.clone(CLONE_NEWIPC)
b.read_file("/proc/sys/kernel/msgmax")
b.read_file("/proc/sys/fs/mqueue/msg_max")
b.read_file("/proc/sys/kernel/shm_rmid_forced")
b.read_file("/proc/sys/kernel/sem")
b.read_file("/proc/sys/kernel/msg_next_id")
a.unshare(CLONE_NEWIPC)
a.read_file("/proc/sys/kernel/msgmax")
"""),
    scenario(AREA, "unprivileged-writers", """
a.setgid(65534)
a.setuid(65534)
a.read_file("/proc/sys/kernel/msgmax")
a.write_file("/proc/sys/kernel/msgmax", "5")
a.open("/proc/sys/kernel/msgmax", O_RDWR)
a.write_file("/proc/sys/fs/mqueue/msg_max", "5")
a.write_file("/proc/sys/kernel/msg_next_id", "5")
a.write_file("/proc/sys/kernel/sem", "1 2 3 4")
a.read_file("/proc/sys/kernel/sem")
"""),
    scenario(AREA, "root-without-sys-admin-and-checkpoint-restore", """
a.drop_capability(CAP_SYS_ADMIN)
a.write_file("/proc/sys/kernel/msg_next_id", "5")
a.drop_capability(CAP_CHECKPOINT_RESTORE)
a.write_file("/proc/sys/kernel/msg_next_id", "6")
a.read_file("/proc/sys/kernel/msg_next_id")
a.write_file("/proc/sys/kernel/msgmax", "99")
a.read_file("/proc/sys/kernel/msgmax")
"""),
    scenario(AREA, "group-root-only", """
a.setresgid(0, 0, 0)
a.setuid(1000)
a.write_file("/proc/sys/kernel/msgmax", "5")
a.read_file("/proc/sys/kernel/msgmax")
"""),
    scenario(AREA, "descriptor-bound-at-open", """
fd = a.open("/proc/sys/kernel/msgmax", O_RDWR)
keep = a.open("/proc/self/ns/ipc")
a.unshare(CLONE_NEWIPC)
a.write(fd, b"222")
a.read_file("/proc/sys/kernel/msgmax")
a.setns(keep, CLONE_NEWIPC)
a.read_file("/proc/sys/kernel/msgmax")
"""),
    scenario(AREA, "descriptor-of-a-dead-namespace", """
b = a.clone(CLONE_NEWIPC)
fd = b.open("/proc/sys/kernel/msgmax", O_RDWR)
b.read(fd, 100)
b.unshare(CLONE_NEWIPC)
b.lseek(fd, 0, SEEK_SET)
b.read(fd, 100)
b.write(fd, b"5")
"""),
    scenario(AREA, "reads-and-writes-at-offsets", """
fd = a.open("/proc/sys/kernel/msgmax", O_RDWR)
a.read(fd, 2)
a.read(fd, 2)
a.lseek(fd, 0, SEEK_SET)
a.write(fd, b"300")
a.write(fd, b"400")
a.read_file("/proc/sys/kernel/msgmax")
a.lseek(fd, 0, SEEK_END)
ro = a.open("/proc/sys/kernel/msgmax", O_RDONLY)
a.write(ro, b"1")
wo = a.open("/proc/sys/kernel/msgmax", O_WRONLY)
a.read(wo, 10)
"""),
    scenario(AREA, "containers-have-their-own-values", """
b = a.clone(CLONE_NEWIPC)
c = a.clone(CLONE_NEWIPC)
b.write_file("/proc/sys/kernel/msgmni", "64")
c.write_file("/proc/sys/kernel/msgmni", "32768")
b.read_file("/proc/sys/kernel/msgmni")
c.read_file("/proc/sys/kernel/msgmni")
a.read_file("/proc/sys/kernel/msgmni")
d = b.fork()
d.read_file("/proc/sys/kernel/msgmni")
"""),
]

# Found by random scenarios: a sysctl descriptor is checked again at each read and write.
SCENARIOS += [
    scenario(AREA, "permission-checked-again-at-write", """
fd = a.open("/proc/sys/kernel/msgmax", O_RDWR)
a.setuid(1000)
a.write(fd, b"0")
a.read(fd, 10)
a.read_file("/proc/sys/kernel/msgmax")
"""),
    scenario(AREA, "next-id-descriptor-after-dropping-capabilities", """
fd = a.open("/proc/sys/kernel/msg_next_id", O_RDWR)
a.drop_capability(CAP_SYS_ADMIN)
a.drop_capability(CAP_CHECKPOINT_RESTORE)
a.write(fd, b"5")
a.read(fd, 10)
"""),
]
