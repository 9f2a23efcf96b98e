"""System V shared memory: every errno of shmget(2), shmat(2), shmdt(2) and shmctl(2) that a
call can reach without faulting memory, IPC_RMID while attached, shm_rmid_forced, fork and
exit, and the namespace an attachment keeps alive.

A scenario is played only when every call it makes is in :data:`..backend.CALLS` (shmget,
shmat, shmdt, shmctl, and for some write_memory and read_memory); the texts are in
:data:`PENDING` (the name is historical: all of them play now). The harness compares an
address shmat chose through labels (``addr1``, ...); these scenarios pass fixed addresses
(0x100000000000 and up: the same on both sides, far from the real agent's own mappings),
compared as numbers. The times and pids of a ShmidDs and of /proc/sysvipc/shm rows are
compared as set or not, and by label. Memory accesses must stay inside the caller's
attachments: ipcsim raises SegmentationFault elsewhere, and the real backend refuses them.

The comments give what Linux 6.18 answered (see tests/test_shm.py, which plays the same
facts on both sides).

Every errno of shmop(2) and shmctl(2) (and shmget(2)) has a scenario, except these,
deliberately:

* EFAULT (shmctl's buffer): needs a bad pointer; the scenario calls take Python values.
* EIDRM (shmat, shmctl): Linux gives EINVAL for an id already destroyed, and a segment
  marked for destruction can still be attached; EIDRM only in a race with its destruction.
* EOVERFLOW (shmctl IPC_STAT): only for the old IPC_OLD layout with 16-bit ids, which
  x86-64 does not have.
* ENFILE (shmget): needs the machine's whole file table exhausted. (shmat's ENOMEM is
  covered through addresses above TASK_SIZE, not through an address space run out of room.)

The scenarios at the end carry the ideas of LTP's testcases/kernel/syscalls/ipc/shm* and
of gVisor's test/syscalls/linux/shm.cc; each comment names the test it comes from. LTP
shmat04 (mprotect must not leak shm_nattch) needs mprotect, which the scenario form lacks.
"""
import re

from ..backend import CALLS
from . import scenario

AREA = "shm"
FAR = 0x100000000000
NOBODY = """
b = a.fork()
b.setgroups([])
b.setgid(65534)
b.setuid(65534)
"""

PENDING = [
    ("shmget-create-and-find", """
s = a.shmget(0x51, 5000, IPC_CREAT | 0o640)
a.shmget(0x51, 5000, 0)                     # the same id
a.shmget(0x51, 0, 0)                        # size 0 is fine for an existing key
a.shmget(0x51, 5001, 0)                     # EINVAL: exact bytes, not pages
a.shmget(0x51, 100, IPC_CREAT | IPC_EXCL)   # EEXIST
a.shmget(0x52, 100, 0)                      # ENOENT
a.shmget(0x52, 0, IPC_CREAT | 0o600)        # EINVAL: below SHMMIN
a.shmget(IPC_PRIVATE, 100, 0o600)           # always a new one
a.shmget(IPC_PRIVATE, 100, 0o600)
a.shmget(0x53, 100, IPC_CREAT | 0o7777)     # ENOMEM: 0o4000 is SHM_HUGETLB
""" + NOBODY + """
b.shmget(0x51, 0, 0)                        # no mode bits asked: no check
b.shmget(0x51, 0, 0o400)                    # EACCES
b.shmget(0x51, 6000, 0o400)                 # EINVAL before EACCES
a.shmctl(s, IPC_RMID)
a.shmctl(1, IPC_RMID)
a.shmctl(2, IPC_RMID)
"""),
    ("shmget-limits", """
a.write_file("/proc/sys/kernel/shmmax", "10000")
a.shmget(IPC_PRIVATE, 10001, 0o600)         # EINVAL: above shmmax
s = a.shmget(IPC_PRIVATE, 10000, 0o600)
a.write_file("/proc/sys/kernel/shmall", "3")
a.shmget(IPC_PRIVATE, 1, 0o600)             # ENOSPC: shm_tot + pages > shmall
a.write_file("/proc/sys/kernel/shmall", "100")
a.write_file("/proc/sys/kernel/shmmni", "1")
a.shmget(IPC_PRIVATE, 1, 0o600)             # ENOSPC: shmmni segments
a.shmctl(0, IPC_INFO)
a.shmctl(0, SHM_INFO)
a.shmctl(s, IPC_RMID)
a.write_file("/proc/sys/kernel/shmmax", "18446744073709551615")
a.write_file("/proc/sys/kernel/shmall", "18446744073692774399")
a.write_file("/proc/sys/kernel/shmmni", "4096")
a.shmget(IPC_PRIVATE, 18446744073709551615, 0o600)   # ENOSPC: the page count overflows
a.shmget(IPC_PRIVATE, 1 << 63, SHM_NORESERVE | 0o600)  # EINVAL: past MAX_LFS_FILESIZE
a.shmget(IPC_PRIVATE, 1 << 50, 0o600)       # ENOMEM: more than the machine has
t = a.shmget(IPC_PRIVATE, 1 << 50, SHM_NORESERVE | 0o600)
a.shmctl(0, SHM_INFO)
a.shmget(IPC_PRIVATE, 4096, SHM_HUGETLB | (13 << 26) | 0o600)   # EINVAL: no such page size
""" + NOBODY + """
b.shmget(IPC_PRIVATE, 4096, SHM_HUGETLB | SHM_NORESERVE | 0o600)   # EPERM
a.shmctl(t, IPC_RMID)
"""),
    ("shmat-and-shmdt-addresses", f"""
s = a.shmget(IPC_PRIVATE, 5000, 0o600)
a.shmat(s, {FAR + 1}, 0)                    # EINVAL: not page-aligned
a.shmat(s, {FAR + 1}, SHM_RND)              # rounded down
a.shmat(s, {FAR}, 0)                        # EINVAL: overlaps
a.shmat(s, {FAR + 4096}, 0)                 # EINVAL: overlaps (the second page)
a.shmat(s, {FAR + 8192}, 0)
a.shmat(s, 0, SHM_REMAP)                    # EINVAL: SHM_REMAP needs an address
a.shmat(s, 100, SHM_RND | SHM_REMAP)        # EINVAL: rounds to 0
a.shmat(s, {FAR}, SHM_REMAP)                # replaces the mapping there
a.shmat(s, 0xfffffffffffff000, 0)           # EINVAL: the end wraps around
a.shmat(s, 0xfffffffffffff000, SHM_REMAP)   # ENOMEM
a.shmat(s, 0x800000000000, 0)               # ENOMEM: above TASK_SIZE
a.shmat(12345, 0, 0)                        # EINVAL: no such id
a.shmat(-1, 0, 0)                           # EINVAL
a.shmat(s + 32768, 0, 0)                    # EINVAL: wrong sequence number
a.shmdt({FAR + 1})                          # EINVAL: not page-aligned
a.shmdt({FAR + 4096})                       # EINVAL: no attachment starts there
a.shmdt({FAR})
a.shmdt({FAR})                              # EINVAL: already detached
a.shmdt({FAR + 8192})
a.shmctl(0, SHM_INFO)
a.shmctl(s, IPC_RMID)
"""),
    ("shmat-permissions", """
s = a.shmget(IPC_PRIVATE, 4096, 0o644)
""" + NOBODY + f"""
b.shmat(s, {FAR}, 0)                        # EACCES: read-write wanted
b.shmat(s, {FAR}, SHM_RDONLY)
b.shmat(s, {FAR + 0x10000}, SHM_RDONLY | SHM_EXEC)   # EACCES: no x bit
b.shmat(s, 100, SHM_RND | SHM_RDONLY)       # EPERM: address 0 needs CAP_SYS_RAWIO
b.shmat(12345, 100, SHM_RND)                # EINVAL: the lookup comes first
b.shmdt({FAR})
a.shmat(s, {FAR}, SHM_EXEC)                 # CAP_IPC_OWNER
a.shmdt({FAR})
a.shmctl(s, IPC_RMID)
"""),
    ("shmctl-commands", """
s = a.shmget(0x51, 4096, IPC_CREAT | 0o600)
a.shmctl(s, 16)                             # EINVAL: no such command
a.shmctl(s, -1)                             # EINVAL
a.shmctl(-1, IPC_INFO)                      # EINVAL: a negative id, even for IPC_INFO
a.shmctl(s, IPC_STAT | IPC_64)              # EINVAL: x86-64 takes no IPC_64
a.shmctl(s + 32768, IPC_STAT)               # EINVAL: IPC_STAT checks the sequence
a.shmctl(s + 5 * 32768, SHM_STAT)           # SHM_STAT takes a slot: the full id
a.shmctl(7, SHM_STAT)                       # EINVAL: an empty slot
ds = a.shmctl(s, IPC_STAT)
""" + NOBODY + """
b.shmctl(s, IPC_STAT)                       # EACCES
b.shmctl(s, SHM_STAT)                       # EACCES
b.shmctl(s, SHM_STAT_ANY)                   # no permission check
b.shmctl(s, IPC_SET, ds)                    # EPERM: not the owner
b.shmctl(s, IPC_RMID)                       # EPERM
b.shmctl(s, SHM_LOCK)                       # EPERM
b.shmctl(s, SHM_UNLOCK)                     # EPERM
b.shmctl(12345, SHM_LOCK)                   # EINVAL: the lookup comes first
b.shmctl(0, IPC_INFO)
b.shmctl(0, SHM_INFO)
a.shmctl(s, SHM_LOCK)
a.read_file("/proc/sysvipc/shm")            # perms 2600
a.shmctl(s, SHM_UNLOCK)
a.shmctl(s, SHM_UNLOCK)                     # unlocking twice is fine
a.shmctl(s, IPC_SET, ds)
a.shmctl(s, IPC_RMID)
a.shmctl(s, IPC_STAT)                       # EINVAL: gone
"""),
    ("shm-lock-limit", """
""" + NOBODY + """
m = b.shmget(IPC_PRIVATE, 4 << 20, 0o600)
b.shmctl(m, SHM_LOCK)                       # the owner, within RLIMIT_MEMLOCK (8 MiB)
n = b.shmget(IPC_PRIVATE, 5 << 20, 0o600)
b.shmctl(n, SHM_LOCK)                       # ENOMEM: 9 MiB locked by this user
b.shmctl(m, SHM_UNLOCK)
b.shmctl(n, SHM_LOCK)
b.shmctl(n, IPC_RMID)                       # destroying a locked segment unlocks it
b.shmctl(m, SHM_LOCK)
b.shmctl(m, IPC_RMID)
"""),
    ("shm-rmid-while-attached", f"""
s = a.shmget(0x61, 5000, IPC_CREAT | 0o640)
a.shmat(s, {FAR}, 0)
a.write_memory({FAR}, b"data")
a.shmctl(s, IPC_RMID)                       # marked SHM_DEST, key now IPC_PRIVATE
a.read_file("/proc/sysvipc/shm")
a.shmget(0x61, 0, 0)                        # ENOENT: the key is free
t = a.shmget(0x61, 100, IPC_CREAT | 0o600)
a.shmat(s, {FAR + 0x10000}, 0)              # a removed segment can still be attached
a.read_memory({FAR + 0x10000}, 4)
a.shmctl(s, IPC_RMID)                       # again: 0
a.shmdt({FAR})
a.shmctl(0, SHM_INFO)
a.shmdt({FAR + 0x10000})                    # the last detach destroys it
a.shmctl(s, IPC_STAT)                       # EINVAL
a.shmctl(0, SHM_INFO)
a.shmctl(t, IPC_RMID)
"""),
    ("shm-memory-and-fork", f"""
s = a.shmget(IPC_PRIVATE, 3 * 4096 + 1, 0o600)
a.shmat(s, {FAR}, 0)
a.shmat(s, {FAR + 0x10000}, SHM_RDONLY)
a.write_memory({FAR}, b"abc")
a.read_memory({FAR + 2 * 4096}, 1)          # a read makes a page resident too
a.shmctl(0, SHM_INFO)
c = a.fork()                                # two more attachments, made by a
c.read_memory({FAR + 0x10000}, 3)
c.write_memory({FAR + 4 * 4096 - 1}, b"z")  # the tail of the last page
c.shmdt({FAR})
c.exit(0)
a.wait(-1, 0)
a.read_memory({FAR + 4 * 4096 - 1}, 1)
a.shmctl(0, SHM_INFO)
a.shmdt({FAR})
a.shmdt({FAR + 0x10000})
a.shmctl(s, IPC_RMID)
"""),
    ("shm-remap-pieces", f"""
s = a.shmget(IPC_PRIVATE, 3 * 4096, 0o600)
t = a.shmget(IPC_PRIVATE, 4096, 0o600)
a.shmat(s, {FAR}, 0)
a.shmat(t, {FAR + 4096}, SHM_REMAP)         # s's mapping is now two pieces
a.shmctl(0, SHM_INFO)
a.shmdt({FAR + 2 * 4096})                   # EINVAL: a piece, not a start
a.shmdt({FAR})                              # both pieces of s go
a.shmdt({FAR + 4096})
a.shmat(s, {FAR}, 0)
a.shmat(t, {FAR}, SHM_REMAP)                # over s's first page
a.shmdt({FAR + 4096})                       # EINVAL
a.shmdt({FAR})                              # only t: s's piece stays
a.read_memory({FAR + 2 * 4096}, 1)
a.shmctl(s, IPC_RMID)
a.shmctl(t, IPC_RMID)
"""),
    ("shm-rmid-forced", f"""
a.write_file("/proc/sys/kernel/shm_rmid_forced", "1")
s = a.shmget(IPC_PRIVATE, 4096, 0o600)
a.shmat(s, {FAR}, 0)
a.shmdt({FAR})                              # gone at the last detach, creator alive
a.shmctl(s, IPC_STAT)                       # EINVAL
t = a.shmget(IPC_PRIVATE, 4096, 0o600)
a.read_file("/proc/sys/kernel/shm_rmid_forced")   # a live creator's segment stays
a.shmctl(t, SHM_STAT_ANY)
u = a.shmget(IPC_PRIVATE, 4096, 0o600)
a.shmat(t, {FAR}, 0)
a.shmat(u, {FAR}, 0)                        # EINVAL, and u (unattached) is destroyed
a.shmctl(u, IPC_STAT)                       # EINVAL
c = a.fork()
c.shmget(IPC_PRIVATE, 4096, 0o600)
c.exit(0)                                   # its unattached segment goes with it
a.wait(-1, 0)
a.shmctl(0, SHM_INFO)
a.shmdt({FAR})
a.shmctl(0, SHM_INFO)
"""),
    ("shm-orphans", f"""
c = a.fork()
c.shmget(IPC_PRIVATE, 4096, 0o600)
c.shmget(IPC_PRIVATE, 4096, 0o600)
c.shmat(1, {FAR}, 0)
c.exit(0)                                   # rmid_forced 0: orphans
a.wait(-1, 0)
a.shmctl(0, SHM_INFO)
a.shmat(1, {FAR}, 0)
mine = a.shmget(IPC_PRIVATE, 4096, 0o600)
a.write_file("/proc/sys/kernel/shm_rmid_forced", "1")   # unattached orphans go
a.shmctl(0, SHM_INFO)
a.shmctl(0, IPC_STAT)                       # EINVAL
a.shmdt({FAR})                              # the attached orphan goes at its last detach
a.shmctl(1, IPC_STAT)                       # EINVAL
a.write_file("/proc/sys/kernel/shm_rmid_forced", "0")
a.shmctl(mine, IPC_RMID)
"""),
    ("shm-unshare-orphans", f"""
a.write_file("/proc/sys/kernel/shm_rmid_forced", "1")
k = a.fork()
c = a.fork()
s = c.shmget(IPC_PRIVATE, 4096, 0o600)
t = c.shmget(IPC_PRIVATE, 4096, 0o600)
c.shmat(t, {FAR}, 0)
c.write_memory({FAR}, b"kept")
c.unshare(CLONE_NEWIPC)                     # exit_shm: s destroyed, t orphaned
k.shmctl(0, SHM_INFO)
k.shmctl(s, IPC_STAT)                       # EINVAL
c.read_memory({FAR}, 4)                     # the memory is still there
c.shmdt({FAR})
k.shmctl(t, IPC_STAT)                       # EINVAL: gone at the last detach
k.shmctl(0, SHM_INFO)
"""),
    ("shm-attachment-keeps-namespace", f"""
b = a.clone(CLONE_NEWIPC)
b.readlink("/proc/self/ns/ipc")
s = b.shmget(IPC_PRIVATE, 4096, 0o600)
b.shmat(s, {FAR}, 0)
b.write_memory({FAR}, b"alive")
b.unshare(CLONE_NEWIPC)                     # the attachment holds the old namespace
b.readlink("/proc/self/ns/ipc")
c = a.clone(CLONE_NEWIPC)
c.readlink("/proc/self/ns/ipc")             # a third number: the first is still in use
b.read_memory({FAR}, 5)
b.shmdt({FAR})                              # the old namespace dies here
"""),
    # Every process has its stack within 16 GiB of TASK_SIZE (ipcsim's processes have the
    # mappings of a small program too): a fixed range that meets it is EINVAL, found before
    # mmap's ENOMEM for a range that runs past TASK_SIZE. (SHM_REMAP there is ENOMEM on both
    # sides; the real agent refuses it, as a range holding its own stack.)
    ("shmat-over-the-stack", """
s = a.shmget(IPC_PRIVATE, 0x420000000000, SHM_NORESERVE | 0o600)
a.shmat(s, 0x3e0000000000, 0)               # EINVAL: it crosses the stack, ends past TASK_SIZE
t = a.shmget(IPC_PRIVATE, 0xffffff000, SHM_NORESERVE | 0o600)
a.shmat(t, 0x7ff000000000, 0)               # EINVAL: the top 64 GiB hold the stack
a.shmat(t, 0x7ff000001000, 0)               # EINVAL: the same, ending past TASK_SIZE
a.shmctl(s, IPC_STAT)                       # nothing attached
a.shmctl(t, IPC_STAT)
a.shmctl(s, IPC_RMID)
a.shmctl(t, IPC_RMID)
"""),
]

_CALL = re.compile(r"\b[a-z]\w*\.(\w+)\(")


def _playable(text: str) -> bool:
    return all(call in CALLS for call in _CALL.findall(text))


SCENARIOS = [scenario(AREA, name, text) for name, text in PENDING
             if _playable(text)] if "shmget" in CALLS else []

# Found by random scenarios: a clone that fails in copy_namespaces has already copied the
# caller's attachments (an attach and a detach of each segment, by the caller).
SCENARIOS += [
    scenario(AREA, "a-failed-clone-touches-attachments", """
s1 = a.shmget(0x51, 1, IPC_CREAT | 0o600)
a.shmat(s1, 0x100000000000, 0)
p2 = a.clone(CLONE_NEWIPC | CLONE_SYSVSEM)
a.shmctl(s1, IPC_STAT)
b = a.fork()
b.drop_capability(CAP_SYS_ADMIN)
c = b.clone(CLONE_NEWIPC)
a.shmctl(s1, IPC_STAT)
a.read_file("/proc/sysvipc/shm")
"""),
]

SCENARIOS += [
    # gVisor AttachDetach, DetachedSegmentsPersist, MultipleDetachFails and IpcStat (LTP
    # shmat01, shmdt02 and shmctl01): addresses the kernel chooses, nattch, the times, cpid
    # and lpid, and the memory surviving a detach.
    scenario(AREA, "attach-detach-counts", """
s = a.shmget(IPC_PRIVATE, 128 * 4096, IPC_CREAT | 0o777)
a.shmctl(s, IPC_STAT)
x = a.shmat(s, 0, 0)
a.shmctl(s, IPC_STAT)
y = a.shmat(s, 0, 0)
a.shmctl(s, IPC_STAT)
a.write_memory(x, b"x")
a.read_memory(y, 1)
a.shmdt(x)
a.shmctl(s, IPC_STAT)
a.shmdt(y)
a.shmctl(s, IPC_STAT)
a.shmdt(y)                                  # EINVAL: already detached
z = a.shmat(s, 0, 0)
a.read_memory(z, 1)                         # the data stayed
a.shmdt(z)
a.shmctl(s, IPC_RMID)
"""),
    # gVisor NoDestructionOfAttachedSegmentWithMultipleRmid, RemovedSegmentsAreMarkedDeleted
    # and ShmCtlSet: IPC_RMID again and again while attached only marks SHM_DEST; IPC_SET
    # keeps that bit; the last detach destroys.
    scenario(AREA, "rmid-many-times-while-attached", """
s = a.shmget(IPC_PRIVATE, 128 * 4096, IPC_CREAT | 0o777)
x = a.shmat(s, 0, 0)
y = a.shmat(s, 0, 0)
a.shmctl(s, IPC_RMID)
a.shmctl(s, IPC_RMID)
a.shmctl(s, IPC_RMID)
a.shmctl(s, IPC_RMID)
a.shmctl(s, IPC_RMID)
a.shmctl(s, IPC_RMID)
a.shmctl(s, IPC_STAT)                       # mode 01777: SHM_DEST
a.write_memory(x, b"x")
a.shmdt(x)
a.write_memory(y, b"y")
a.shmctl(s, IPC_STAT)
a.shmctl(s, IPC_SET, shmid_ds(mode=0o600))
a.shmctl(s, IPC_STAT)
a.shmdt(y)
a.shmctl(s, IPC_STAT)                       # EINVAL
a.shmctl(s, IPC_RMID)                       # EINVAL
"""),
    # gVisor SegmentsSizeFixedOnCreation, GracefullyFailOnZeroLenSegmentCreation,
    # RequestingDuplicateCreationFails, NonExistentSegmentsAreNotFound and
    # RemovedSegmentsAreNotDiscoverable (LTP shmget02): a smaller size finds the same
    # segment, whole; a larger one is EINVAL.
    scenario(AREA, "size-fixed-at-creation", """
s = a.shmget(0x61, 128 * 4096, IPC_CREAT | 0o777)
t = a.shmget(0x61, 64 * 4096, 0o777)        # the same id
a.shmget(0x61, 256 * 4096, 0o777)           # EINVAL
a.shmget(IPC_PRIVATE, 0, 0)                 # EINVAL
a.shmget(0x62, 128 * 4096, 0o777)           # ENOENT
a.shmget(0x61, 128 * 4096, IPC_CREAT | IPC_EXCL | 0o777)   # EEXIST
x = a.shmat(s, 0, 0)
y = a.shmat(t, 0, 0)
a.write_memory(x + 128 * 4096 - 1, b"x")
a.read_memory(y + 128 * 4096 - 1, 1)
a.write_memory(y + 128 * 4096 - 1, b"y")
a.read_memory(x + 128 * 4096 - 1, 1)
a.shmctl(s, IPC_STAT)
a.shmdt(x)
a.shmdt(y)
a.shmctl(s, IPC_RMID)
a.shmget(0x61, 128 * 4096, 0o777)           # ENOENT: removed
"""),
    # LTP shmctl02: with only its effective uid changed (seteuid), a process is checked as
    # that user: EACCES on its own mode-0 segment and on root's, EPERM for root's IPC_RMID,
    # IPC_SET, SHM_LOCK and SHM_UNLOCK; EINVAL for a bad command and a removed segment.
    scenario(AREA, "effective-uid-decides", """
r = a.shmget(IPC_PRIVATE, 2048, IPC_CREAT | 0o600)
a.seteuid(65534)
s = a.shmget(0x71, 2048, IPC_CREAT | IPC_EXCL)
t = a.shmget(0x72, 2048, IPC_CREAT | IPC_EXCL | 0o600)
u = a.shmget(IPC_PRIVATE, 2048, IPC_CREAT | 0o600)
a.shmctl(u, IPC_RMID)
a.shmctl(s, IPC_STAT)                       # EACCES
a.shmctl(t, -1)                             # EINVAL
a.shmctl(u, IPC_STAT)                       # EINVAL: removed
a.shmctl(r, IPC_STAT)                       # EACCES
a.shmctl(r, IPC_RMID)                       # EPERM
a.shmctl(r, IPC_SET, shmid_ds(mode=0o600))  # EPERM
a.shmctl(r, SHM_LOCK)                       # EPERM
a.shmctl(r, SHM_UNLOCK)                     # EPERM
a.shmctl(t, IPC_STAT)
a.shmctl(t, SHM_LOCK)
a.shmctl(t, SHM_UNLOCK)
a.seteuid(0)
a.shmctl(s, IPC_STAT)
a.shmctl(s, IPC_RMID)
a.shmctl(t, IPC_RMID)
a.shmctl(r, IPC_RMID)
"""),
    # LTP shmget05 and shmget06: shm_next_id asks for the next id and goes back to -1; an
    # id in use gives another.
    scenario(AREA, "shm-next-id", """
a.write_file("/proc/sys/kernel/shm_next_id", "12345")
s = a.shmget(0x42, 4096, IPC_CREAT | 0o600)
a.read_file("/proc/sys/kernel/shm_next_id")
a.write_file("/proc/sys/kernel/shm_next_id", "12345")
t = a.shmget(0x43, 4096, IPC_CREAT | 0o600)
a.read_file("/proc/sys/kernel/shm_next_id")
a.shmctl(0, SHM_INFO)
a.shmctl(12345 % 32768, SHM_STAT)
a.read_file("/proc/sysvipc/shm")
a.shmctl(s, IPC_RMID)
a.shmctl(t, IPC_RMID)
"""),
    # LTP shmctl01 (nattch and lpid across children): fork's copy counts as an attach by
    # the parent; a detach at exit is the exiting child's.
    scenario(AREA, "stat-after-fork-and-exit", f"""
s = a.shmget(IPC_PRIVATE, 4096, 0o600)
b = a.fork()
b.shmat(s, {FAR}, 0)
a.shmctl(s, IPC_STAT)
c = b.fork()
a.shmctl(s, IPC_STAT)                       # nattch 2, lpid still b
d = a.fork()
d.shmat(s, {FAR + 0x10000}, SHM_RDONLY)
a.shmctl(s, IPC_STAT)
c.exit(0)
b.wait(-1, 0)
a.shmctl(s, IPC_STAT)                       # lpid c
b.shmdt({FAR})
a.shmctl(s, IPC_STAT)
d.exit(0)
a.wait(-1, 0)
a.shmctl(s, IPC_STAT)
a.shmctl(s, IPC_RMID)
"""),
]

# LTP shmctl07 and shmctl08: SHM_LOCK shows as SHM_LOCKED (0o2000) in shm_perm.mode; IPC_SET
# takes only the low nine bits and keeps SHM_LOCKED and SHM_DEST.
SCENARIOS += [
    scenario(AREA, "lock-bit-and-ipc-set-mode", f"""
s = a.shmget(IPC_PRIVATE, 2048, IPC_CREAT | 0o666)
a.shmctl(s, SHM_LOCK)
ds = a.shmctl(s, IPC_STAT)                  # mode 02666
a.shmctl(s, IPC_SET, shmid_ds(mode=0o7600))
a.shmctl(s, IPC_STAT)                       # mode 02600
a.shmctl(s, IPC_SET, ds)
a.shmctl(s, IPC_STAT)
a.shmctl(s, SHM_UNLOCK)
a.shmctl(s, IPC_STAT)                       # mode 0666
a.shmat(s, {FAR}, 0)
a.shmctl(s, IPC_RMID)
a.shmctl(s, SHM_LOCK)
a.shmctl(s, IPC_STAT)                       # mode 03666: SHM_DEST and SHM_LOCKED
a.read_file("/proc/sysvipc/shm")
a.shmctl(s, SHM_UNLOCK)
a.shmctl(s, IPC_SET, shmid_ds(uid=1000, gid=1000, mode=0o640))
a.shmctl(s, IPC_STAT)
a.shmdt({FAR})
a.shmctl(s, IPC_STAT)                       # EINVAL
"""),
]

