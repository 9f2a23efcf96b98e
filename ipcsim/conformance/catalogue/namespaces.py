"""IPC namespaces: creation, joining, isolation, handles and lifetime, and their errnos."""
from . import scenario

AREA = "namespaces"

SCENARIOS = [
    scenario(AREA, "fork-shares-clone-creates", """
b = a.fork()
c = a.clone(CLONE_NEWIPC)
a.readlink("/proc/self/ns/ipc")
b.readlink("/proc/self/ns/ipc")
c.readlink("/proc/self/ns/ipc")
d = c.fork()
d.readlink("/proc/self/ns/ipc")
a.readlink(f"/proc/{pid(c)}/ns/ipc")
"""),
    scenario(AREA, "unshare-moves-only-the-caller", """
b = a.fork()
b.unshare(CLONE_NEWIPC)
a.readlink("/proc/self/ns/ipc")
b.readlink("/proc/self/ns/ipc")
b.unshare(CLONE_NEWIPC | CLONE_SYSVSEM)
b.readlink("/proc/self/ns/ipc")
b.unshare(0)
b.readlink("/proc/self/ns/ipc")
b.unshare(CLONE_SYSVSEM)
b.readlink("/proc/self/ns/ipc")
"""),
    scenario(AREA, "setns-joins-through-a-handle", """
b = a.clone(CLONE_NEWIPC)
b.write_file("/proc/sys/kernel/msgmax", "111")
fd = a.open(f"/proc/{pid(b)}/ns/ipc")
c = a.fork()
c.setns(fd, CLONE_NEWIPC)
c.readlink("/proc/self/ns/ipc")
c.read_file("/proc/sys/kernel/msgmax")
a.setns(fd, 0)
a.read_file("/proc/sys/kernel/msgmax")
"""),
    scenario(AREA, "isolation-matrix", """
a.write_file("/proc/sys/kernel/msgmni", "11")
b = a.fork()
b.read_file("/proc/sys/kernel/msgmni")
c = a.clone(CLONE_NEWIPC)
c.read_file("/proc/sys/kernel/msgmni")
d = a.fork()
d.unshare(CLONE_NEWIPC)
d.read_file("/proc/sys/kernel/msgmni")
d.write_file("/proc/sys/kernel/msgmni", "22")
fd = a.open(f"/proc/{pid(d)}/ns/ipc")
e = a.fork()
e.setns(fd, CLONE_NEWIPC)
e.read_file("/proc/sys/kernel/msgmni")
a.read_file("/proc/sys/kernel/msgmni")
c.read_file("/proc/sys/kernel/msgmni")
"""),
    scenario(AREA, "a-handle-keeps-a-namespace-alive", """
b = a.clone(CLONE_NEWIPC)
b.write_file("/proc/sys/kernel/msgmax", "111")
fd = a.open(f"/proc/{pid(b)}/ns/ipc")
b.exit(0)
a.wait(-1, 0)
c = a.fork()
c.setns(fd, CLONE_NEWIPC)
c.read_file("/proc/sys/kernel/msgmax")
"""),
    scenario(AREA, "the-last-reference-destroys", """
b = a.clone(CLONE_NEWIPC)
probe = b.open("/proc/sys/kernel/msgmax")
b.read(probe, 10)
fd = a.open(f"/proc/{pid(b)}/ns/ipc")
b.close(probe)
probe = a.open(f"/proc/{pid(b)}/ns/ipc")
b.exit(0)
a.wait(-1, 0)
c = a.fork()
c.setns(fd, 0)
watch = c.open("/proc/sys/kernel/msgmax")
c.setns(probe, 0)
a.close(fd)
a.close(probe)
c.lseek(watch, 0, SEEK_SET)
c.read(watch, 10)
c.exit(0)
a.wait(-1, 0)
a.lseek(watch, 0, SEEK_SET)
"""),
    scenario(AREA, "a-sysctl-fd-does-not-keep-it-alive", """
b = a.clone(CLONE_NEWIPC)
fd = b.open("/proc/sys/kernel/msgmni")
c = b.fork()
b.exit(0)
a.wait(-1, 0)
c.read(fd, 10)
c.lseek(fd, 0, SEEK_SET)
c.unshare(CLONE_NEWIPC)
c.read(fd, 10)
"""),
    scenario(AREA, "an-open-sysvipc-file-keeps-it-alive", """
b = a.clone(CLONE_NEWIPC)
s = b.open("/proc/sysvipc/msg")
m = b.open("/proc/sys/kernel/msgmni")
b.unshare(CLONE_NEWIPC)
b.read(m, 10)
b.read(s, 10)
b.close(s)
b.lseek(m, 0, SEEK_SET)
b.read(m, 10)
"""),
    scenario(AREA, "zombies-hold-no-reference", """
b = a.clone(CLONE_NEWIPC)
m = b.open("/proc/sys/kernel/msgmni")
c = b.fork()
c.exit(0)
b.unshare(CLONE_NEWIPC)
b.read(m, 10)
"""),
    scenario(AREA, "setns-errors", """
fd = a.open("/proc/self/ns/ipc")
m = a.open("/proc/sys/kernel/msgmax")
a.setns(999, 0)
a.setns(m, 0)
a.setns(fd, CLONE_NEWUTS)
a.setns(fd, CLONE_NEWNET)
a.setns(fd, 0)
a.setns(fd, CLONE_NEWIPC)
b = a.fork()
b.setuid(65534)
b.setns(fd, 0)
"""),
    scenario(AREA, "unshare-errors", """
a.unshare(CLONE_PARENT)
a.unshare(0x1)
a.unshare(CLONE_NEWIPC | 0x1)
a.unshare(CLONE_FILES)
a.unshare(CLONE_FS)
a.readlink("/proc/self/ns/ipc")
b = a.fork()
b.setuid(65534)
b.unshare(CLONE_NEWIPC)
b.unshare(CLONE_NEWUTS)
b.unshare(CLONE_SYSVSEM)
b.readlink("/proc/self/ns/ipc")
"""),
    scenario(AREA, "clone-errors", """
x = a.clone(CLONE_NEWIPC | CLONE_SYSVSEM)
y = a.clone(CLONE_SYSVSEM)
y.readlink("/proc/self/ns/ipc")
b = a.fork()
b.setuid(65534)
z = b.clone(CLONE_NEWIPC)
w = b.clone(CLONE_NEWIPC | CLONE_SYSVSEM)
"""),
    scenario(AREA, "unshare-without-sys-admin", """
a.drop_capability(CAP_SYS_ADMIN)
a.unshare(CLONE_NEWIPC)
x = a.clone(CLONE_NEWIPC)
a.unshare(CLONE_SYSVSEM)
fd = a.open("/proc/self/ns/ipc")
a.setns(fd, 0)
"""),
    scenario(AREA, "namespace-files", """
b = a.fork()
fd = a.open("/proc/self/ns/ipc")
a.read(fd, 10)
a.lseek(fd, 0, SEEK_SET)
a.open("/proc/self/ns/ipc", O_RDWR)
a.open("/proc/self/ns/ipc", O_WRONLY)
a.open("/proc/999999/ns/ipc")
a.readlink("/proc/999999/ns/ipc")
a.listdir(f"/proc/{pid(b)}/ns")
a.unlink("/proc/self/ns/ipc")
b.exit(0)
a.open(f"/proc/{pid(b)}/ns/ipc")
a.readlink(f"/proc/{pid(b)}/ns/ipc")
"""),
    scenario(AREA, "other-users-namespace-files", """
b = a.fork()
c = a.fork()
c.setgid(65534)
c.setuid(65534)
c.open(f"/proc/{pid(b)}/ns/ipc")
c.readlink(f"/proc/{pid(b)}/ns/ipc")
c.readlink("/proc/self/ns/ipc")
d = c.fork()
c.readlink(f"/proc/{pid(d)}/ns/ipc")
d.set_dumpable(1)
c.readlink(f"/proc/{pid(d)}/ns/ipc")
c.open(f"/proc/{pid(d)}/ns/ipc")
"""),
    scenario(AREA, "nested-containers", """
b = a.clone(CLONE_NEWIPC)
c = b.clone(CLONE_NEWIPC)
d = c.clone(CLONE_NEWIPC)
d.write_file("/proc/sys/kernel/msgmnb", "1")
c.read_file("/proc/sys/kernel/msgmnb")
d.read_file("/proc/sys/kernel/msgmnb")
fd = a.open(f"/proc/{pid(d)}/ns/ipc")
a.setns(fd, 0)
a.read_file("/proc/sys/kernel/msgmnb")
"""),
]

# LTP testcases/kernel/containers/sysvipc: mesgq_nstest, sem_nstest and shmnstest (a key
# made in the parent: found after a plain fork, not after clone or unshare of
# CLONE_NEWIPC, where the same key can be made anew).
SCENARIOS += [
    scenario(AREA, "sysv-keys-fork-finds-clone-and-unshare-do-not", """
q = a.msgget(124426, IPC_CREAT | 0o600)
s = a.semget(124326, 1, IPC_CREAT | 0o600)
m = a.shmget(124526, 4096, IPC_CREAT | 0o600)
b = a.fork()
b.msgget(124426, 0)
b.semget(124326, 1, 0)
b.shmget(124526, 4096, 0)
c = a.clone(CLONE_NEWIPC)
c.msgget(124426, 0)                         # ENOENT
c.semget(124326, 1, 0)                      # ENOENT
c.shmget(124526, 4096, 0)                   # ENOENT
c.msgctl(q, IPC_STAT)                       # EINVAL: no such id here
c.semctl(s, 0, GETVAL)                      # EINVAL
c.shmctl(m, IPC_STAT)                       # EINVAL
d = a.fork()
d.unshare(CLONE_NEWIPC)
d.msgget(124426, 0)                         # ENOENT
d.semget(124326, 1, 0)                      # ENOENT
d.shmget(124526, 4096, 0)                   # ENOENT
d.msgget(124426, IPC_CREAT | IPC_EXCL | 0o600)
d.semget(124326, 1, IPC_CREAT | IPC_EXCL | 0o600)
d.shmget(124526, 4096, IPC_CREAT | IPC_EXCL | 0o600)
a.msgget(124426, IPC_CREAT | IPC_EXCL)      # EEXIST: the parent's are still there
a.semget(124326, 1, IPC_CREAT | IPC_EXCL)   # EEXIST
a.shmget(124526, 4096, IPC_CREAT | IPC_EXCL)   # EEXIST
b.msgctl(0, MSG_INFO)
d.msgctl(0, MSG_INFO)
c.msgctl(0, MSG_INFO)
"""),
    # LTP msg_comm, sem_comm, shm_comm, semtest_2ns and shmem_2nstest: two sibling
    # namespaces make the same key for each kind and use it without disturbing each other;
    # a child of one shares its namespace's objects.
    scenario(AREA, "sibling-namespaces-same-keys-do-not-interfere", """
c1 = a.clone(CLONE_NEWIPC)
c2 = a.clone(CLONE_NEWIPC)
q1 = c1.msgget(124426, IPC_CREAT | IPC_EXCL | 0o600)
q2 = c2.msgget(124426, IPC_CREAT | IPC_EXCL | 0o600)
c1.msgsnd(q1, 1, b"A", 0)
c2.msgsnd(q2, 2, b"B", 0)
c1.msgrcv(q1, 50, 2, IPC_NOWAIT)            # ENOMSG: c2's message is elsewhere
c2.msgrcv(q2, 50, 1, IPC_NOWAIT)            # ENOMSG
s1 = c1.semget(124326, 1, IPC_CREAT | IPC_EXCL | 0o666)
s2 = c2.semget(124326, 1, IPC_CREAT | IPC_EXCL | 0o666)
c1.semop(s1, [(0, 0, 0), (0, 1, SEM_UNDO)])
c2.semop(s2, [(0, 0, IPC_NOWAIT), (0, 1, SEM_UNDO)])   # c1's lock is not c2's
c1.semctl(s1, 0, GETALL)
m1 = c1.shmget(124526, 4096, IPC_CREAT | IPC_EXCL | 0o600)
m2 = c2.shmget(124526, 4096, IPC_CREAT | IPC_EXCL | 0o600)
c1.shmat(m1, 0x100000000000, 0)
c2.shmat(m2, 0x100000000000, 0)
c1.write_memory(0x100000000000, b"A")
c2.read_memory(0x100000000000, 1)
c2.write_memory(0x100000000000, b"B")
c1.read_memory(0x100000000000, 1)
d = c1.fork()
d.msgrcv(q1, 50, 0, IPC_NOWAIT)
d.semop(s1, [(0, -1, IPC_NOWAIT)])
d.read_memory(0x100000000000, 1)
a.msgget(124426, 0)                         # ENOENT: neither is the parent's
a.semget(124326, 0, 0)                      # ENOENT
a.shmget(124526, 0, 0)                      # ENOENT
c1.read_file("/proc/sysvipc/msg")
"""),
]
