"""System V shared memory (ipc/shm.c), and the simulated address space it maps into.

A segment (:class:`ShmidKernel`) owns its memory as 4 KiB pages made on first touch, read or
write, as shmem's page cache does; the pages ever touched are its resident set (the ``rss``
of /proc/sysvipc/shm and SHM_INFO). A kernel server backs a segment that a client process
attaches with a real memory file instead (:meth:`ShmidKernel.back`): its pages are then views
of the server's mapping of that file, and the resident set is the file's. A process's
:class:`AddressSpace` is its list of mappings (``vm_area_struct``), sorted by address, so
that an access finds its mapping with one bisection. Each attach is a mapping that holds a
reference on the segment's namespace, so a namespace lives as long as some process has its
memory attached.

Addresses: every process has the mappings of a small dynamically linked x86-64 program (see
:class:`Layout`): its program and heap near 0x555555554000, the loader, vDSO and libc just below
``mmap_base``, and its stack near ``TASK_SIZE`` (0x7ffffffff000, 4-level paging), placed with
the randomness Linux's exec draws (ASLR), drawn from the kernel's seed: the same seed gives the
same addresses, and processes inherit them across fork (nothing in the model execs). They count
in ``vm.max_map_count``; a fixed shmat over them is EINVAL, with SHM_REMAP it replaces them as
MAP_FIXED would (the vDSO's and vvar's only whole: splitting one is EINVAL). ``shmat`` without an address picks, as arch_get_unmapped_area_topdown does, the
highest free range below ``mmap_base`` that fits the page-rounded size (plus the huge page
size less a page, for SHM_HUGETLB, to align it); if none fits, the lowest one above
``mmap_legacy_base``, keeping the stack guard gap below the stack. A fixed address may be
anything below ``TASK_SIZE``; below ``MMAP_MIN_ADDR`` (4096) it needs CAP_SYS_RAWIO.

Each segment remembers the process that created it (on the creator's ``shm_clist``); that
list drives ``shm_rmid_forced`` at exit and at unshare(CLONE_NEWIPC) (exit_shm).

The simulated machine: 16 GiB of RAM and no swap (``RAM_PAGES``; shmget of more than that
without SHM_NORESERVE is ENOMEM, as Linux's heuristic overcommit says); no huge pages reserved
(SHM_HUGETLB without SHM_NORESERVE is ENOMEM; with it, the segment exists and maps, but
touching it is SIGBUS); RLIMIT_MEMLOCK is 8 MiB for everyone.
"""
from __future__ import annotations

import errno
import random
import weakref
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, ClassVar, Iterator, Literal, Protocol, TypeAlias, overload

import attrs

from ..constants import (CAP_IPC_LOCK, CAP_SYS_RAWIO, IPC_INFO, IPC_PRIVATE, IPC_RMID,
                         IPC_SET, IPC_STAT, PAGE_SIZE, SHM_DEST, SHM_EXEC, SHM_HUGETLB,
                         SHM_INFO, SHM_LOCK, SHM_LOCKED, SHM_NORESERVE, SHM_RDONLY, SHM_REMAP,
                         SHM_RND, SHM_STAT, SHM_STAT_ANY, SHM_UNLOCK, SHMLBA, SHMMIN)
from ..errors import SegmentationFault, UnsupportedError, oserror
from .perm import IpcPerm, KernIpcPerm, ipcperms
from .pidns import get_pid, pid_vnr, update_pid
from .syscall import NOKW, CallsBase, as_bytes, hot_syscall, int_arg, syscall
from .util import flags_arg, ipcget, key_arg, obtain_for_ctl, update_perm

if TYPE_CHECKING:
    from .creds import Creds
    from .kernel import Kernel
    from .namespace import IpcNamespace
    from .pidns import Pid, PidNamespace
    from .process import Process, ProcessState
    from .syscall import Data

# What shmctl returns, by command (see ShmCalls.shmctl).
ShmctlResult: TypeAlias = \
    "ShmidDs | tuple[int, ShmidDs] | tuple[int, Shminfo] | tuple[int, ShmInfo] | None"

PAGE_SHIFT = 12
PAGE_MASK = PAGE_SIZE - 1
ULONG = 1 << 64
LLONG_MAX = (1 << 63) - 1          # MAX_LFS_FILESIZE: the largest shmem file
TASK_SIZE = 0x7FFFFFFFF000         # x86-64, 4-level paging (also STACK_TOP)
TASK_UNMAPPED_BASE = (TASK_SIZE // 3 + PAGE_MASK) & ~PAGE_MASK   # bottom-up, before ASLR
ELF_ET_DYN_BASE = TASK_SIZE // 3 * 2   # where a PIE program goes, before ASLR
STACK_RLIMIT = 8 << 20             # RLIMIT_STACK of the process that exec'd (ulimit -s 8192)
STACK_GUARD_GAP = 256 << PAGE_SHIFT   # kept free below the stack (stack_guard_gap)
STACK_RND_MASK = 0x3FFFFF          # pages of stack randomization (x86-64)
MMAP_RND_BITS = 28                 # vm.mmap_rnd_bits
MMAP_MIN_ADDR = 4096               # vm.mmap_min_addr
MAX_MAP_COUNT = 65530              # vm.max_map_count
RAM_PAGES = 16 << (30 - PAGE_SHIFT)   # totalram_pages() + total_swap_pages
MEMLOCK_LIMIT_PAGES = (8 << 20) >> PAGE_SHIFT   # RLIMIT_MEMLOCK (8 MiB)
HUGETLB_SHM_GROUP = 0              # vm.hugetlb_shm_group
SHM_HUGE_SHIFT, SHM_HUGE_MASK = 26, 0x3F
HUGE_PAGE_SIZES = {0: 2 << 20, 21: 2 << 20, 30: 1 << 30}   # by log2 (0: the default)
S_IRUGO, S_IWUGO, S_IXUGO = 0o444, 0o222, 0o111

# Pages locked with SHM_LOCK, per kernel and real uid (the ucounts RLIMIT_MEMLOCK counter).
_mlocked: weakref.WeakKeyDictionary[Kernel, dict[int, int]] = weakref.WeakKeyDictionary()


# --- what shmctl returns ----------------------------------------------------------------
@attrs.define(slots=True)
class ShmidDs:
    """``struct shmid64_ds`` as IPC_STAT, SHM_STAT and SHM_STAT_ANY return it (IPC_SET reads
    shm_perm.uid, .gid and .mode). shm_perm.mode shows SHM_DEST (0o1000) after IPC_RMID of an
    attached segment and SHM_LOCKED (0o2000) while locked."""

    shm_perm: IpcPerm = attrs.Factory(IpcPerm)
    shm_segsz: int = 0
    shm_atime: int = 0
    shm_dtime: int = 0
    shm_ctime: int = 0
    shm_cpid: int = 0
    shm_lpid: int = 0
    shm_nattch: int = 0


@attrs.define(slots=True)
class Shminfo:
    """``struct shminfo64`` as IPC_INFO returns it (the limits of the caller's namespace)."""

    shmmax: int = 0
    shmmin: int = 0
    shmmni: int = 0
    shmseg: int = 0
    shmall: int = 0


@attrs.define(slots=True)
class ShmInfo:
    """``struct shm_info`` as SHM_INFO returns it: usage, in pages."""

    used_ids: int = 0
    shm_tot: int = 0
    shm_rss: int = 0
    shm_swp: int = 0
    swap_attempts: int = 0
    swap_successes: int = 0


# --- the segment ------------------------------------------------------------------------
class SegmentMemory(Protocol):
    """Memory a segment's pages can live in instead of the model's own (see
    :meth:`ShmidKernel.back`): a kernel server gives each segment a real memory file that its
    client processes map too."""

    def page(self, index: int) -> memoryview:
        """The page at ``index`` (PAGE_SIZE bytes, writable)."""

    def resident(self) -> int:
        """How many of its pages hold memory (touched by anyone: the model or a mapping)."""

    def close(self) -> None:
        """The segment is gone: let the memory go."""


class ShmidKernel(KernIpcPerm):
    """``struct shmid_kernel``: one segment and its memory. ``cpid_ref`` and ``lpid_ref``
    are the creator's and the last attacher's or detacher's
    :class:`~ipcsim.kernel.pidns.Pid` (kept as Linux keeps their struct pid, so that a
    reader in any PID namespace can number them; each holds its pid, and so the PID
    namespace it was made in, until replaced or the segment is destroyed: the creator's
    from the moment the segment has its id); ``cpid`` and ``lpid`` their numbers in the
    initial namespace (0 for none)."""

    __slots__ = ("segsz", "atime", "dtime", "ctime", "cpid_ref", "lpid_ref", "nattch",
                 "creator",
                 "pages", "npages", "huge", "mlock_uid", "backing")

    def __init__(self, ns: IpcNamespace, key: int, mode: int, creds: Creds, size: int,
                 npages: int, huge: int, pid: Pid, now: int, creator: ProcessState):
        # kern_ipc_perm, set here rather than through super().__init__ (shmget's path)
        self.ns, self.key, self.mode = ns, key, mode
        self.uid = self.cuid = creds.euid
        self.gid = self.cgid = creds.egid
        self.deleted = False          # id and seq: set by addid, before anyone sees it
        self.segsz = size
        self.npages = npages              # what it counts in shm_tot
        self.huge = huge                  # huge page size, 0 for normal memory
        self.atime = self.dtime = 0
        self.ctime = now
        self.cpid_ref: Pid | None = pid
        self.lpid_ref: Pid | None = None
        self.nattch = 0
        # None once the creator exited or unshared
        self.creator: ProcessState | None = creator
        # page index -> contents (a memoryview of a bytearray, or of the backing), made on
        # first touch
        self.pages: dict[int, memoryview] = {}
        self.mlock_uid: int | None = None       # whose RLIMIT_MEMLOCK a SHM_LOCK charged
        self.backing: SegmentMemory | None = None   # where pages live, if not in the model

    def page(self, index: int) -> memoryview:
        """The page at ``index``, made resident (zero-filled) on first touch."""
        page = self.pages.get(index)
        if page is None:
            backing = self.backing
            page = self.pages[index] = (memoryview(bytearray(PAGE_SIZE)) if backing is None
                                        else backing.page(index))
        return page

    def back(self, memory: SegmentMemory) -> None:
        """Keep the segment's bytes in ``memory`` from now on (until it is destroyed): the
        pages made so far are copied there, and every page is a view of it. Reads and writes
        of the model and whoever else maps that memory then see the same bytes."""
        if self.backing is not None:
            raise ValueError(f"shmid {self.id} has its memory already")
        pages = self.pages
        for index, old in pages.items():
            new = memory.page(index)
            new[:] = old
            pages[index] = new
        self.backing = memory

    @property
    def cpid(self) -> int:
        """The creator's pid in the initial PID namespace (0 once destroyed)."""
        return pid_vnr(self.cpid_ref, None)

    @property
    def lpid(self) -> int:
        """The last attacher's or detacher's pid in the initial PID namespace (0 for none)."""
        return pid_vnr(self.lpid_ref, None)

    @property
    def i_size(self) -> int:
        """The size of the segment's file: segsz, rounded to the huge page for hugetlb."""
        huge = self.huge
        return (self.segsz + huge - 1) // huge * huge % ULONG if huge else self.segsz

    # --- attach bookkeeping (shm_open / shm_close) ---------------------------------------
    def opened(self, pid: Pid) -> None:
        """__shm_open(): a new mapping (shmat, fork, a split)."""
        self.atime = self.ns.kernel.clock.time()
        if self.lpid_ref is not pid:
            self.lpid_ref = update_pid(self.lpid_ref, pid)
        self.nattch += 1
        self.ns.get()

    def closed(self, pid: Pid) -> None:
        """__shm_close(): a mapping went (shmdt, exit, replaced by SHM_REMAP)."""
        if self.lpid_ref is not pid:
            self.lpid_ref = update_pid(self.lpid_ref, pid)
        self.dtime = self.ns.kernel.clock.time()
        self.nattch -= 1
        ns = self.ns
        if self.may_destroy():
            self.destroy()
        ns.put()

    def may_destroy(self) -> bool:
        """shm_may_destroy(): unattached, and removed or shm_rmid_forced."""
        return self.nattch == 0 and (self.ns.shm_rmid_forced != 0 or self.mode & SHM_DEST != 0)

    # --- removal -------------------------------------------------------------------------
    def destroy(self) -> None:
        """shm_destroy(): the id, the key, the shm_tot pages, the lock charge, the memory,
        and the creator's and last user's pids (letting go of them may free their PID
        namespace)."""
        ns = self.ns
        ns.shm_tot -= self.npages
        self.creator = None               # shm_clist_rm(): the creator's list drops it lazily
        ns.shm_ids.rmid(self)
        if self.mlock_uid is not None:
            self._unlock_memory()
        if self.pages:
            self.pages = {}
        backing = self.backing
        if backing is not None:
            self.backing = None
            backing.close()
        if self.cpid_ref is not None:
            self.cpid_ref = update_pid(self.cpid_ref, None)
        if self.lpid_ref is not None:
            self.lpid_ref = update_pid(self.lpid_ref, None)

    def rmid(self) -> None:
        """do_shm_rmid(): destroy now, or when the last attachment goes (SHM_DEST, and the key
        becomes IPC_PRIVATE so that it can name a new segment)."""
        if self.nattch:
            self.mode |= SHM_DEST
            self.ns.shm_ids.unkey(self)
            self.key = IPC_PRIVATE
        else:
            self.destroy()

    _ns_exit = rmid            # the namespace dies: as IPC_RMID (no call of its own)

    def creator_left(self) -> None:
        """exit_shm() for one segment: it becomes an orphan, destroyed now when unattached
        and its namespace has shm_rmid_forced."""
        self.creator = None
        ns = self.ns
        if ns.shm_rmid_forced and ns.alive and not self.deleted and self.may_destroy():
            self.destroy()

    def destroy_if_orphaned(self) -> None:
        """shm_try_destroy_orphaned(): segments whose creator is still there are kept."""
        if self.creator is None and self.may_destroy():
            self.destroy()

    # --- SHM_LOCK ------------------------------------------------------------------------
    def _unlock_memory(self) -> None:
        uid = self.mlock_uid
        if uid is not None:
            counts = _mlocked[self.ns.kernel]
            counts[uid] -= self._lock_pages()
            if not counts[uid]:
                del counts[uid]
            self.mlock_uid = None
            self.mode &= ~SHM_LOCKED

    def _lock_pages(self) -> int:
        return (self.segsz + PAGE_MASK) >> PAGE_SHIFT

    # --- what shmctl and /proc see -------------------------------------------------------
    def rss_pages(self) -> int:
        """The pages that hold memory (the model's touches, or its backing's count)."""
        backing = self.backing
        return len(self.pages) if backing is None else backing.resident()

    def stat(self, creds: Creds | None = None, pid_ns: PidNamespace | None = None) -> ShmidDs:
        """IPC_STAT's copy, ids as ``creds`` sees them (kernel ids without), the creator's
        and the last attacher's pids as PID namespace ``pid_ns`` numbers them (0 for one it
        does not see; the initial namespace's numbers without)."""
        return ShmidDs(self.to_ipc_perm(creds), self.segsz, self.atime, self.dtime, self.ctime,
                       pid_vnr(self.cpid_ref, pid_ns), pid_vnr(self.lpid_ref, pid_ns), self.nattch)

    def _proc_row(self, reader: ProcessState) -> str:
        """A row of /proc/sysvipc/shm (64-bit layout); rss and swap in bytes."""
        uid, gid, cuid, cgid = self.ids_seen_by(reader.creds)
        ns = reader.pid_ns
        return (f"{self.key:10d} {self.id:10d}  {self.mode:4o} {self.segsz:21d} "
                f"{pid_vnr(self.cpid_ref, ns):5d} {pid_vnr(self.lpid_ref, ns):5d}  {self.nattch:5d} "
                f"{uid:5d} {gid:5d} "
                f"{cuid:5d} {cgid:5d} {self.atime:10d} {self.dtime:10d} "
                f"{self.ctime:10d} {self.rss_pages() * PAGE_SIZE:21d} {0:21d}\n")

    def __repr__(self) -> str:
        state = " removed" if self.mode & SHM_DEST else ""
        return (f"<ShmidKernel id={self.id} key={self.key:#x} size={self.segsz} "
                f"nattch={self.nattch}{state}>")


# --- mappings and address spaces -----------------------------------------------------------
class ShmFile:
    """``shm_file_data``: what one shmat mapped. Its mappings (fork copies, pieces left by
    SHM_REMAP) share it; shmdt unmaps the pieces of one file only."""

    __slots__ = ("seg", "writable", "prot")

    def __init__(self, seg: ShmidKernel, writable: bool, prot: str):
        self.seg = seg
        self.writable = writable
        self.prot = prot


class Vma:
    """``vm_area_struct`` of an attachment: [start, end) maps the segment from page
    ``pgoff`` on."""

    __slots__ = ("start", "end", "pgoff", "file", "seg", "writable", "delta")
    guard: ClassVar[int] = 0            # vm_start_gap(): only a stack keeps room below it

    def __init__(self, start: int, end: int, pgoff: int, file: ShmFile):
        self.start = start
        self.end = end
        self.pgoff = pgoff
        self.delta = (pgoff << PAGE_SHIFT) - start    # address + delta: offset in the segment
        self.file = file
        self.seg = file.seg
        self.writable = file.writable

    def may_split(self, at: int) -> bool:
        """vm_ops->may_split: a huge page mapping splits only on a huge page boundary
        (hugetlb_vm_op_split)."""
        huge = self.seg.huge
        return not huge or not at & (huge - 1)

    def describe(self) -> str:
        seg = self.seg
        what = f"shmid {seg.id}" + (", removed" if seg.deleted or seg.mode & SHM_DEST else "")
        off = f" from page {self.pgoff}" if self.pgoff else ""
        return f"{self.start:#x}-{self.end:#x} {self.file.prot} ({what}{off})"


class FixedVma:
    """``vm_area_struct`` of one of the mappings every process has (its program, heap,
    loader, vDSO, libc and stack), with the permissions and name /proc/PID/maps shows. The
    model keeps no contents for them. ``guard`` is the stack's guard gap (VM_GROWSDOWN):
    the free-area search leaves that much free below it."""

    __slots__ = ("start", "end", "prot", "name", "guard")

    def __init__(self, start: int, end: int, prot: str, name: str, guard: int = 0):
        self.start = start
        self.end = end
        self.prot = prot
        self.name = name
        self.guard = guard

    def may_split(self, at: int) -> bool:
        """vm_ops->may_split: the kernel's special mappings never split
        (special_mapping_split); replacing one whole is allowed."""
        return self.name not in SPECIAL_MAPPINGS

    def piece(self, start: int, end: int) -> FixedVma:
        """What is left of it over [start, end) after an unmap of the rest."""
        return FixedVma(start, end, self.prot, self.name, self.guard)

    def describe(self) -> str:
        return f"{self.start:#x}-{self.end:#x} {self.prot} {self.name or '(anonymous)'}"


AnyVma: TypeAlias = "Vma | FixedVma"

# _install_special_mapping()'s mappings (arch/x86/entry/vdso/vma.c)
SPECIAL_MAPPINGS = frozenset({"[vdso]", "[vvar]", "[vvar_vclock]"})

PROGRAM = "/sbin/init"             # init's program: every process is a fork of it
LD_SO = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
HEAP_SIZE = 0x21000                # malloc's first brk (132 KiB)
STACK_SIZE = 0x21000               # a page of arguments and 128 KiB (setup_arg_pages)
# A small dynamically linked program (gcc -O2, glibc 2.41) as /proc/self/maps shows it on
# Linux 6.18. Its segments, from the load address up:
PROGRAM_MAPS = [(0x1000, "r--p"), (0x1000, "r-xp"), (0x1000, "r--p"), (0x1000, "r--p"),
                (0x1000, "rw-p")]
# What exec and the loader map top-down from mmap_base, from the top: (size, perms, name),
# "" for anonymous memory, None for a hole (something the loader mapped and unmapped).
MMAP_AREA_MAPS = [
    (0x2000, "rw-p", LD_SO), (0x2000, "r--p", LD_SO), (0xA000, "r--p", LD_SO),
    (0x26000, "r-xp", LD_SO), (0x1000, "r--p", LD_SO),
    (0x2000, "r-xp", "[vdso]"), (0x2000, "r--p", "[vvar_vclock]"), (0x4000, "r--p", "[vvar]"),
    (0x2000, "rw-p", ""), (0x9000, "", None), (0xD000, "rw-p", ""),
    (0x2000, "rw-p", LIBC), (0x4000, "r--p", LIBC), (0x53000, "r--p", LIBC),
    (0x156000, "r-xp", LIBC), (0x26000, "r--p", LIBC), (0x3000, "rw-p", ""),
]


def mmap_base(rnd: int, rlim_stack: int = STACK_RLIMIT) -> int:
    """mmap_base(): below the stack by its rlimit, its randomization and its guard gap
    (at least 128 MiB, at most 5/6 of TASK_SIZE), and by ``rnd``."""
    gap = rlim_stack
    pad = (STACK_RND_MASK << PAGE_SHIFT) + STACK_GUARD_GAP
    if gap + pad < ULONG:
        gap += pad
    gap = min(max(gap, 128 << 20), TASK_SIZE // 6 * 5)
    return (TASK_SIZE - gap - rnd + PAGE_MASK) & ~PAGE_MASK


class Layout:
    """Where the mappings every process has are, as exec placed them with address space
    randomization: ``mmap_base`` (top-down placement starts there), ``mmap_legacy_base``
    (the bottom-up fallback's floor), and the mappings, sorted. The random numbers come
    from the kernel's seed, so a seed always gives the same layout."""

    __slots__ = ("mmap_base", "mmap_legacy_base", "vmas", "starts")

    def __init__(self, seed: int):
        rng = random.Random(f"ipcsim exec layout {seed}")
        rnd = rng.getrandbits(MMAP_RND_BITS) << PAGE_SHIFT           # arch_mmap_rnd()
        self.mmap_legacy_base = TASK_UNMAPPED_BASE + rnd
        self.mmap_base = top = mmap_base(rnd)
        stack_top = TASK_SIZE - (rng.getrandbits(32) & STACK_RND_MASK << PAGE_SHIFT)
        stack_top = ((stack_top - rng.randrange(8192)) & ~0xF) + PAGE_MASK & ~PAGE_MASK
        load_bias = (ELF_ET_DYN_BASE + (rng.getrandbits(MMAP_RND_BITS) << PAGE_SHIFT)) \
            & ~PAGE_MASK
        vmas = []
        addr = load_bias
        for size, prot in PROGRAM_MAPS:
            vmas.append(FixedVma(addr, addr + size, prot, PROGRAM))
            addr += size
        brk = addr + (rng.randrange(0x2000000 >> PAGE_SHIFT) << PAGE_SHIFT)
        vmas.append(FixedVma(brk, brk + HEAP_SIZE, "rw-p", "[heap]"))
        mmapped = []
        for size, prot, name in MMAP_AREA_MAPS:
            if name is not None:
                mmapped.append(FixedVma(top - size, top, prot, name))
            top -= size
        vmas += reversed(mmapped)
        vmas.append(FixedVma(stack_top - STACK_SIZE, stack_top, "rw-p", "[stack]",
                             STACK_GUARD_GAP))
        self.vmas = tuple(vmas)
        self.starts = tuple(vma.start for vma in vmas)


_layouts: weakref.WeakKeyDictionary[Kernel, Layout] = weakref.WeakKeyDictionary()


def layout(kernel: Kernel) -> Layout:
    """The layout of every process of ``kernel`` (init's: nothing in the model execs)."""
    got = _layouts.get(kernel)
    if got is None:
        got = _layouts[kernel] = Layout(kernel.seed)
    return got


class AddressSpace:
    """``mm_struct``: a process's mappings, sorted by start address: those every process
    has (:class:`FixedVma`) and its shm attachments (:class:`Vma`).

    The top-down search keeps a free-area cache, as Linux once did: ``fc`` is where the last
    search ended and ``fc_hole`` bounds the size of every free range that lies wholly
    between ``fc`` and mmap_base, so that a search for more than that starts at the free
    range holding ``fc`` (attaching many segments one after the other, or attaching and
    detaching in a loop, costs a bisection each, not a walk over all mappings). The answer
    is the same as a full top-down search's.
    """

    __slots__ = ("pid", "layout", "mmap_base", "starts", "vmas", "nfrag", "fc", "fc_hole",
                 "hot")

    def __init__(self, pid: Pid, layout: Layout, vmas: list[AnyVma] | None = None,
                 starts: list[int] | None = None):
        self.pid = pid                    # the owner's tgid (shm_lpid of the copies at fork)
        self.layout = layout
        self.mmap_base = layout.mmap_base
        self.hot: Vma | None = None       # the attachment accessed last (a one-entry vmacache)
        self.vmas: list[AnyVma] = list(layout.vmas) if vmas is None else vmas
        self.starts: list[int] = list(layout.starts) if starts is None else starts
        self.nfrag = 0                    # attachments that begin inside their segment
        self.fc = layout.mmap_base
        self.fc_hole = 0

    @property
    def map_count(self) -> int:
        """mm->map_count: every mapping, the fixed ones included (vm.max_map_count)."""
        return len(self.vmas)

    def __iter__(self) -> Iterator[Vma]:
        """The shm attachments (and pieces of them), lowest first."""
        return iter([vma for vma in self.vmas if isinstance(vma, Vma)])

    def mappings(self) -> list[AnyVma]:
        """Every mapping, lowest first."""
        return list(self.vmas)

    # --- the list ------------------------------------------------------------------------
    def _insert(self, vma: AnyVma) -> None:
        starts = self.starts
        i = bisect_left(starts, vma.start)
        starts.insert(i, vma.start)
        self.vmas.insert(i, vma)
        if isinstance(vma, Vma) and vma.pgoff:
            self.nfrag += 1
        if vma.end >= self.fc:
            # a mapping placed above fc can cut a free range that lies wholly above it
            top = min(starts[i + 1] if i + 1 < len(starts) else TASK_SIZE, self.mmap_base)
            if top - vma.end > self.fc_hole:
                self.fc_hole = top - vma.end

    def _remove_at(self, i: int, freed: bool = True) -> AnyVma:
        starts = self.starts
        del starts[i]
        vma = self.vmas.pop(i)
        self.hot = None
        if isinstance(vma, Vma) and vma.pgoff:
            self.nfrag -= 1
        if freed:
            # the free range the removal leaves: a search from fc sees it unless it lies
            # wholly above fc
            floor = self.vmas[i - 1].end if i else PAGE_SIZE
            if floor >= self.fc:
                top = min(starts[i] if i < len(starts) else TASK_SIZE, self.mmap_base)
                if top - floor > self.fc_hole:
                    self.fc_hole = top - floor
        return vma

    def find(self, addr: int) -> Vma | None:
        """The attachment that contains ``addr``."""
        vma = self.find_any(addr)
        return vma if isinstance(vma, Vma) else None

    def find_any(self, addr: int) -> AnyVma | None:
        """The mapping that contains ``addr`` (find_vma, when it holds addr)."""
        i = bisect_right(self.starts, addr) - 1
        if i >= 0:
            vma = self.vmas[i]
            if addr < vma.end:
                return vma
        return None

    def find_span(self, addr: int, n: int) -> Vma | None:
        """The attachment that holds all of [addr, addr + n)."""
        vma = self.find(addr)
        return vma if vma is not None and addr + n <= vma.end else None

    def intersects(self, lo: int, hi: int) -> bool:
        """find_vma_intersection(): does any mapping meet [lo, hi)?"""
        i = bisect_left(self.starts, hi)
        return i > 0 and self.vmas[i - 1].end > lo

    # --- placement -----------------------------------------------------------------------
    def unmapped_area(self, length: int, align: int) -> int | None:
        """arch_get_unmapped_area_topdown(): the top of the highest free range below
        mmap_base that holds ``length`` plus ``align`` less a page (the worst case of
        aligning), aligned down; else (the bottom-up fallback) the bottom of the lowest
        such range above mmap_legacy_base, aligned up. A free range ends ``guard`` below
        the mapping above it (the stack guard gap)."""
        need = length + align - PAGE_SIZE
        starts, vmas = self.starts, self.vmas
        base = self.mmap_base
        if need <= self.fc_hole:
            top, largest = base, 0
            i = bisect_left(starts, top)
        else:
            # start at the top of the free range that holds fc (or the mapping just above)
            top, largest = base, self.fc_hole
            i = bisect_right(starts, self.fc)
        if i < len(vmas):
            vma = vmas[i]
            top = min(top, vma.start - vma.guard)
        while True:
            floor = vmas[i - 1].end if i else PAGE_SIZE
            gap = top - floor
            if gap >= need:
                addr = (top - length) & ~(align - 1)
                self.fc = addr
                self.fc_hole = max(largest, top - addr - length)
                return addr
            if gap > largest:
                largest = gap
            if not i:
                break
            i -= 1
            vma = vmas[i]
            top = min(top, vma.start - vma.guard)
        return self._unmapped_area_bottom_up(length, align, need)

    def _unmapped_area_bottom_up(self, length: int, align: int, need: int) -> int | None:
        """arch_get_unmapped_area(): the lowest free range above mmap_legacy_base (up to
        TASK_SIZE) that holds ``need``."""
        starts, vmas = self.starts, self.vmas
        low = self.layout.mmap_legacy_base
        i = bisect_right(starts, low)
        if i and vmas[i - 1].end > low:
            low = vmas[i - 1].end
        while True:
            if i < len(vmas):
                vma = vmas[i]
                ceiling = vma.start - vma.guard
            else:
                ceiling = TASK_SIZE
            if ceiling - low >= need:
                return (low + align - 1) & ~(align - 1)
            if i >= len(vmas):
                return None
            low = max(low, vmas[i].end)
            i += 1

    # --- changes -------------------------------------------------------------------------
    def map(self, file: ShmFile, addr: int, length: int) -> None:
        """mmap_region() of a shm file at a free or MAP_FIXED address: what was there is
        unmapped first (split pieces are opened, removed ones closed, as Linux orders it)."""
        self._unmap_range(addr, addr + length)
        vma = Vma(addr, addr + length, 0, file)
        file.seg.opened(self.pid)
        self._insert(vma)

    def _unmap_range(self, lo: int, hi: int) -> None:
        starts, vmas = self.starts, self.vmas
        first = bisect_right(starts, lo) - 1
        if first < 0 or vmas[first].end <= lo:
            first += 1
        last = bisect_left(starts, hi)          # vmas[first:last] meet [lo, hi)
        if first >= last:
            return
        head, tail = vmas[first], vmas[last - 1]
        # checks that can fail come before any change (vms_gather_munmap_vmas)
        if head.start < lo and head.end > hi and len(vmas) >= MAX_MAP_COUNT:
            raise oserror(errno.ENOMEM)
        for vma, at in ((head, lo), (tail, hi)):
            if vma.start < at < vma.end and not vma.may_split(at):
                raise oserror(errno.EINVAL)
        pid = self.pid
        if head.start < lo:
            self._split(first, lo, pid)
            first += 1
            last += 1
        tail = vmas[last - 1]
        if tail.end > hi:
            self._split(last - 1, hi, pid)
        for _ in range(first, last):
            vma = self._remove_at(first)
            if isinstance(vma, Vma):
                vma.seg.closed(pid)

    def _split(self, i: int, at: int, pid: Pid) -> None:
        """__split_vma(): two mappings where there was one; a segment sees an open."""
        vma = self._remove_at(i, freed=False)
        lower: AnyVma
        upper: AnyVma
        if isinstance(vma, Vma):
            lower = Vma(vma.start, at, vma.pgoff, vma.file)
            upper = Vma(at, vma.end, vma.pgoff + ((at - vma.start) >> PAGE_SHIFT), vma.file)
            vma.seg.opened(pid)
        else:
            lower, upper = vma.piece(vma.start, at), vma.piece(at, vma.end)
        self._insert(upper)
        self._insert(lower)

    def shmdt(self, addr: int, pid: Pid) -> None:
        """ksys_shmdt(): unmap the shm mapping that starts at ``addr`` (or the piece of one
        whose offset says it would have), then the pieces of the same attach within its
        size. EINVAL when there is none."""
        starts, vmas = self.starts, self.vmas
        i = bisect_left(starts, addr)
        n = len(vmas)
        while i < n:
            vma = vmas[i]
            if isinstance(vma, Vma) and vma.start - addr == vma.pgoff << PAGE_SHIFT:
                break
            if not self.nfrag:
                raise oserror(errno.EINVAL)      # only one starting at addr could match
            i += 1
        else:
            raise oserror(errno.EINVAL)
        file = vma.file
        size = (file.seg.i_size + PAGE_MASK) & ~PAGE_MASK
        self._remove_at(i)
        file.seg.closed(pid)
        while i < len(vmas):
            vma = vmas[i]
            if vma.end - addr > size:
                break
            if isinstance(vma, Vma) and vma.file is file \
                    and vma.start - addr == vma.pgoff << PAGE_SHIFT:
                self._remove_at(i)
                vma.seg.closed(pid)
            else:
                i += 1

    def fork(self, child: ProcessState) -> AddressSpace:
        """dup_mmap(): the child has the same mappings at the same places; each attachment
        copied is an open run by the parent (so shm_lpid is the parent's)."""
        vmas = list(self.vmas)
        for i, vma in enumerate(vmas):
            if isinstance(vma, Vma):
                vma.seg.opened(self.pid)
                vmas[i] = Vma(vma.start, vma.end, vma.pgoff, vma.file)
        new = AddressSpace(child.thread_pid, self.layout, vmas, list(self.starts))
        new.nfrag, new.fc, new.fc_hole = self.nfrag, self.fc, self.fc_hole
        return new

    def release(self, proc: ProcessState) -> None:
        """exit_mmap(): every mapping goes; attachments are closed by the exiting process,
        lowest first."""
        vmas, self.vmas, self.starts, self.nfrag = self.vmas, [], [], 0
        self.hot = None
        self.fc, self.fc_hole = self.mmap_base, 0
        for vma in vmas:
            if isinstance(vma, Vma):
                vma.seg.closed(proc.thread_pid)

    def describe_near(self, addr: int) -> str:
        """The mappings around ``addr``, for a fault's message."""
        i = bisect_right(self.starts, addr)
        near = []
        if i:
            near.append("below: " + self.vmas[i - 1].describe())
        if i < len(self.vmas):
            near.append("above: " + self.vmas[i].describe())
        return "nearest mappings: " + "; ".join(near) if near else "the process has no mappings"


# --- the hooks the kernel calls ----------------------------------------------------------
def mm_of(proc: ProcessState) -> AddressSpace:
    """The process's address space, made on first use: until it maps or unmaps something,
    a process has exactly the mappings of the kernel's layout."""
    mm = proc.mm
    if mm is None:
        mm = proc.mm = AddressSpace(proc.thread_pid, layout(proc.kernel))
    return mm


def fork_mm(parent: ProcessState, child: ProcessState) -> None:
    """fork(): the child gets the parent's attachments at the same addresses (each one a new
    attach: shm_nattch goes up)."""
    if parent.mm is not None:
        child.mm = parent.mm.fork(child)


def fork_failed(parent: ProcessState) -> None:
    """copy_process() failing after copy_mm (a namespace check, the namespace count, no
    free pid): each attachment was copied for the child and torn down again, so each segment
    records an attach and a detach by the parent (atime, dtime, lpid); nattch is unchanged."""
    mm = parent.mm
    if mm is None:
        return
    for vma in mm:
        vma.seg.opened(parent.thread_pid)
        vma.seg.closed(parent.thread_pid)


def exit_mm(proc: ProcessState) -> None:
    """exit_mm(): every attachment is detached, as munmap would."""
    mm, proc.mm = proc.mm, None
    if mm is not None:
        mm.release(proc)


def exit_shm(proc: ProcessState) -> None:
    """exit_shm(): the caller's segments are destroyed (rmid_forced, unattached) or orphaned,
    each by the rule of its own namespace."""
    clist = proc.shm_clist
    if not clist:
        return
    proc.shm_clist = []
    for seg in reversed(clist):           # Linux adds at the head: newest first
        if seg.creator is proc:
            seg.creator_left()


def destroy_orphaned(ns: IpcNamespace) -> None:
    """shm_destroy_orphaned(): with shm_rmid_forced set, destroy unattached orphans."""
    for seg in list(ns.shm_ids):
        seg.destroy_if_orphaned()


# --- argument conversion -----------------------------------------------------------------
def _c_int(value: object, what: str) -> int:
    value = int_arg(value, what)
    if not -(1 << 31) <= value < (1 << 31):
        raise OverflowError(f"{what} must fit in a C int")
    return value


def _ulong(value: object, what: str) -> int:
    """An unsigned long (size_t, an address): negative values are the two's complement."""
    value = int_arg(value, what)
    if not -(1 << 63) <= value < ULONG:
        raise OverflowError(f"{what} must fit in 64 bits")
    return value % ULONG


def _uid32(value: object, what: str) -> int:
    value = int_arg(value, what)
    if not -(1 << 31) <= value < (1 << 32):
        raise OverflowError(f"{what} must fit in 32 bits")
    return value % (1 << 32)


def _fault(proc: ProcessState, kind: str, addr: int, n: int, why: str) -> SegmentationFault:
    near = mm_of(proc).describe_near(addr)
    return SegmentationFault(f"pid {proc.pid}: {kind} of {n} byte{'s' if n != 1 else ''} "
                             f"at {addr:#x}: {why} ({near})")


def _newseg(proc: ProcessState, ns: IpcNamespace, key: int, size: int, flags: int) -> int:
    """newseg(): a segment of ``size`` bytes (EINVAL outside [SHMMIN, shmmax], ENOSPC past
    shmall pages or shmmni segments, ENOMEM beyond the machine's memory; hugetlb's own)."""
    if size < SHMMIN or size > ns.shm_ctlmax:
        raise oserror(errno.EINVAL)
    npages = ((size + PAGE_MASK) % ULONG) >> PAGE_SHIFT
    if npages << PAGE_SHIFT < size:
        raise oserror(errno.ENOSPC)
    if ns.shm_tot + npages >= ULONG or ns.shm_tot + npages > ns.shm_ctlall:
        raise oserror(errno.ENOSPC)
    creds = proc.creds
    huge = 0
    if flags & SHM_HUGETLB:
        huge = HUGE_PAGE_SIZES.get((flags >> SHM_HUGE_SHIFT) & SHM_HUGE_MASK, 0)
        if not huge:
            raise oserror(errno.EINVAL)     # no such huge page size
        if not (creds.capable(CAP_IPC_LOCK) or creds.in_group_p(HUGETLB_SHM_GROUP)):
            raise oserror(errno.EPERM)      # can_do_hugetlb_shm()
        if not flags & SHM_NORESERVE:
            raise oserror(errno.ENOMEM)     # no huge pages to reserve
    else:
        if size > LLONG_MAX:
            raise oserror(errno.EINVAL)
        if not flags & SHM_NORESERVE and npages > RAM_PAGES:
            raise oserror(errno.ENOMEM)     # __vm_enough_memory(), heuristic
    seg = ShmidKernel(ns, key, flags & 0o777, creds, size, npages, huge, proc.thread_pid,
                      proc.kernel.clock.wall, proc)
    shmid = ns.shm_ids.addid(seg, ns.shm_ctlmni)
    get_pid(proc.thread_pid)          # cpid's hold, once there is nothing to undo
    ns.shm_tot += npages
    clist = proc.shm_clist
    clist.append(seg)
    count = len(clist)
    if count >= 64 and not count & (count - 1):
        clist[:] = [s for s in clist if s.creator is proc]
    return shmid


class ShmCalls(CallsBase):
    """shmget, shmat, shmdt, shmctl and the memory access methods Process gets from here."""

    __slots__ = ()

    @syscall
    def shmget(self, key: int, size: int, flags: int = 0) -> int:
        """shmget(2): the id of the segment with ``key``, made with IPC_CREAT (or always for
        IPC_PRIVATE) with ``size`` bytes and mode ``flags & 0o777``. An existing segment
        smaller than ``size`` is EINVAL (before EACCES); new ones: EINVAL outside
        [SHMMIN, shmmax], ENOSPC past shmall pages or shmmni segments, ENOMEM beyond the
        machine's memory (without SHM_NORESERVE)."""
        if not (type(key) is int and type(size) is int and type(flags) is int
                and -0x80000000 <= key <= 0x7FFFFFFF and 0 <= size < ULONG
                and 0 <= flags <= 0xFFFFFFFF):
            key, size = key_arg(key), _ulong(size, "size")
            flags = flags_arg(flags, "flags")
        ns = self.ipc_ns
        if key == IPC_PRIVATE:
            return _newseg(self, ns, key, size, flags)

        def more_checks(seg: ShmidKernel) -> None:
            if seg.segsz < size:
                raise oserror(errno.EINVAL)

        return ipcget(self, ns.shm_ids, key, flags, lambda: _newseg(self, ns, key, size, flags),
                      more_checks)

    @syscall
    def shmat(self, shmid: int, shmaddr: int | None = None, flags: int = 0) -> int:
        """shmat(2): attach the segment and return its address. ``shmaddr`` None (or 0) lets
        the kernel choose; otherwise it must be page-aligned unless SHM_RND rounds it down.
        SHM_RDONLY maps read-only; SHM_EXEC asks for execute permission too; SHM_REMAP
        replaces whatever is mapped there (else an overlap is EINVAL)."""
        shmid = _c_int(shmid, "shmid")
        addr = 0 if shmaddr is None else _ulong(shmaddr, "shmaddr")
        flags = flags_arg(flags, "flags")
        if shmid < 0:
            raise oserror(errno.EINVAL)
        fixed = False
        if addr:
            if addr & (SHMLBA - 1):
                if not flags & SHM_RND:
                    raise oserror(errno.EINVAL)
                addr &= ~(SHMLBA - 1)
                if not addr and flags & SHM_REMAP:
                    raise oserror(errno.EINVAL)
            fixed = True
        elif flags & SHM_REMAP:
            raise oserror(errno.EINVAL)
        if flags & SHM_RDONLY:
            acc, prot = S_IRUGO, "r-"
        else:
            acc, prot = S_IRUGO | S_IWUGO, "rw"
        if flags & SHM_EXEC:
            acc |= S_IXUGO
            prot += "x"
        else:
            prot += "-"
        seg = self.ipc_ns.shm_ids.obtain_check(shmid)
        if not ipcperms(seg, self.creds, acc):
            raise oserror(errno.EACCES)
        mm = mm_of(self)
        seg.nattch += 1                   # held across the mapping, as do_shmat does
        try:
            size = seg.i_size
            if fixed and addr and not flags & SHM_REMAP:
                if addr + size >= ULONG or mm.intersects(addr, addr + size):
                    raise oserror(errno.EINVAL)
            addr = self._do_mmap(mm, seg, addr, fixed, size)
            mm.map(ShmFile(seg, not flags & SHM_RDONLY, prot + "s"), addr,
                   (size + PAGE_MASK) & ~PAGE_MASK)
            return addr
        finally:
            seg.nattch -= 1
            if seg.may_destroy():
                seg.destroy()             # a failed attach can end an unattached segment

    def _do_mmap(self, mm: AddressSpace, seg: ShmidKernel, addr: int, fixed: bool,
                 size: int) -> int:
        """do_mmap()'s checks and the choice of address for a shm file."""
        length = (size + PAGE_MASK) & ~PAGE_MASK
        if not length:
            raise oserror(errno.EINVAL if not size else errno.ENOMEM)
        if len(mm.vmas) > MAX_MAP_COUNT or length > TASK_SIZE:
            raise oserror(errno.ENOMEM)
        huge = seg.huge
        if fixed:
            if huge and addr & (huge - 1):
                raise oserror(errno.EINVAL)
        else:
            found = mm.unmapped_area(length, huge or PAGE_SIZE)
            if found is None:
                raise oserror(errno.ENOMEM)
            addr = found
        if addr > TASK_SIZE - length:
            raise oserror(errno.ENOMEM)
        if addr < MMAP_MIN_ADDR and not self.creds.capable(CAP_SYS_RAWIO):
            raise oserror(errno.EPERM)
        return addr

    @syscall
    def shmdt(self, shmaddr: int) -> None:
        """shmdt(2): detach the attachment that starts at ``shmaddr`` (EINVAL if none)."""
        addr = _ulong(shmaddr, "shmaddr")
        mm = self.mm
        if addr & PAGE_MASK or mm is None:
            raise oserror(errno.EINVAL)
        mm.shmdt(addr, self.thread_pid)

    @overload
    def shmctl(self, shmid: int, cmd: Literal[2], buf: None = None) -> ShmidDs: ...  # IPC_STAT

    @overload   # SHM_STAT, SHM_STAT_ANY
    def shmctl(self, shmid: int, cmd: Literal[13, 15], buf: None = None) -> tuple[int, ShmidDs]:
        ...

    @overload   # IPC_INFO
    def shmctl(self, shmid: int, cmd: Literal[3], buf: None = None) -> tuple[int, Shminfo]: ...

    @overload   # SHM_INFO
    def shmctl(self, shmid: int, cmd: Literal[14], buf: None = None) -> tuple[int, ShmInfo]: ...

    @overload   # IPC_RMID, IPC_SET, SHM_LOCK, SHM_UNLOCK
    def shmctl(self, shmid: int, cmd: Literal[0, 1, 11, 12], buf: ShmidDs | None = None) -> None:
        ...

    @overload
    def shmctl(self, shmid: int, cmd: int, buf: ShmidDs | None = None) -> ShmctlResult: ...

    @syscall
    def shmctl(self, shmid: int, cmd: int, buf: ShmidDs | None = None) -> ShmctlResult:
        """shmctl(2). IPC_STAT: a ShmidDs. SHM_STAT, SHM_STAT_ANY: (full id, ShmidDs) of the
        segment in slot ``shmid``. IPC_INFO: (highest slot in use, Shminfo); SHM_INFO:
        (highest slot in use, ShmInfo). IPC_SET: uid, gid and mode from ``buf`` (a ShmidDs).
        IPC_RMID: destroy now, or at the last detach. SHM_LOCK, SHM_UNLOCK: the SHM_LOCKED
        mode bit (owner or CAP_IPC_LOCK; locking counts against RLIMIT_MEMLOCK)."""
        shmid, cmd = _c_int(shmid, "shmid"), _c_int(cmd, "cmd")
        if shmid < 0 or cmd < 0:
            raise oserror(errno.EINVAL)
        ns = self.ipc_ns
        ids = ns.shm_ids
        if cmd == IPC_INFO:
            return max(ids.get_maxidx(), 0), Shminfo(ns.shm_ctlmax, SHMMIN, ns.shm_ctlmni,
                                                     ns.shm_ctlmni, ns.shm_ctlall)
        if cmd == SHM_INFO:
            rss = sum(seg.rss_pages() for seg in ids)
            return max(ids.get_maxidx(), 0), ShmInfo(ids.in_use, ns.shm_tot, rss)
        if cmd in (IPC_STAT, SHM_STAT, SHM_STAT_ANY):
            seg = ids.obtain_check(shmid) if cmd == IPC_STAT else ids.obtain_idx(shmid)
            if cmd != SHM_STAT_ANY and not ipcperms(seg, self.creds, S_IRUGO):
                raise oserror(errno.EACCES)
            ds = seg.stat(self.creds, self.pid_ns)
            return ds if cmd == IPC_STAT else (seg.id, ds)
        if cmd == IPC_SET:
            if not isinstance(buf, ShmidDs):
                raise TypeError("IPC_SET takes a ShmidDs (as IPC_STAT returns)")
            perm = buf.shm_perm
            new = IpcPerm(uid=_uid32(perm.uid, "uid"), gid=_uid32(perm.gid, "gid"),
                          mode=int_arg(perm.mode, "mode"))
            seg = obtain_for_ctl(self, ids, shmid)
            update_perm(self, seg, new)
            seg.ctime = self.kernel.clock.time()
            return None
        if cmd == IPC_RMID:
            obtain_for_ctl(self, ids, shmid).rmid()
            return None
        if cmd in (SHM_LOCK, SHM_UNLOCK):
            self._shm_lock(ids.obtain_check(shmid), cmd == SHM_LOCK)
            return None
        raise oserror(errno.EINVAL)

    def _shm_lock(self, seg: ShmidKernel, lock: bool) -> None:
        """shmctl_do_lock(): no ipcperms check; the owner or creator, or CAP_IPC_LOCK in the
        user namespace that owns the IPC namespace."""
        creds = self.creds
        capable = creds.ns_capable(seg.ns.user_ns, CAP_IPC_LOCK)
        if not capable and creds.euid != seg.uid and creds.euid != seg.cuid:
            raise oserror(errno.EPERM)
        if seg.huge:
            return                        # hugetlb memory is never swapped: nothing to do
        if not lock:
            seg._unlock_memory()
            return
        if seg.mlock_uid is not None:
            return
        # user_shm_lock(): the pages count against the real uid's RLIMIT_MEMLOCK
        counts = _mlocked.setdefault(self.kernel, {})
        uid = creds.uid
        locked = counts.get(uid, 0) + seg._lock_pages()
        if locked > MEMLOCK_LIMIT_PAGES and not creds.capable(CAP_IPC_LOCK):   # capable()
            raise oserror(errno.ENOMEM)
        counts[uid] = locked
        seg.mlock_uid = uid
        seg.mode |= SHM_LOCKED

    # --- memory ----------------------------------------------------------------------------
    @hot_syscall
    def write_memory(self, addr: int, data: Data) -> None:
        """Store ``data`` at ``addr``: every process that has the segment attached sees it.
        The bytes must lie in one attachment, writable; else SegmentationFault."""
        kernel = self.kernel
        if kernel._slow or not self.alive:
            return kernel._syscall(self, _write_memory, "write_memory", (addr, data), NOKW)
        # the hot path: bytes within one resident page of the attachment used last
        mm = self.mm
        if mm is not None:
            vma = mm.hot
            if vma is not None and data.__class__ is bytes and addr.__class__ is int:
                n = len(data)
                if vma.start <= addr and addr + n <= vma.end and n and vma.writable:
                    off = addr + vma.delta
                    start = off & PAGE_MASK
                    if start + n <= PAGE_SIZE:
                        page = vma.seg.pages.get(off >> PAGE_SHIFT)
                        if page is not None:
                            page[start:start + n] = data
                            return None
        return _write_memory(self, addr, data)

    @hot_syscall
    def read_memory(self, addr: int, n: int) -> bytes:
        """The ``n`` bytes at ``addr``, which must lie in one attachment (else
        SegmentationFault). Reading a page makes it resident, as a fault does."""
        kernel = self.kernel
        if kernel._slow or not self.alive:
            return kernel._syscall(self, _read_memory, "read_memory", (addr, n), NOKW)
        mm = self.mm
        if mm is not None:
            vma = mm.hot
            if vma is not None and addr.__class__ is int and n.__class__ is int \
                    and vma.start <= addr and addr + n <= vma.end and n > 0:
                off = addr + vma.delta
                start = off & PAGE_MASK
                if start + n <= PAGE_SIZE:
                    page = vma.seg.pages.get(off >> PAGE_SHIFT)
                    if page is not None:
                        return page[start:start + n].tobytes()
        return _read_memory(self, addr, n)


def _write_memory(proc: ProcessState, addr: int, data: Data) -> None:
    """write_memory's full path: any data, any span of pages, and the faults."""
    buf = data if type(data) is bytes else as_bytes(data)
    if addr.__class__ is not int:
        addr = int_arg(addr, "addr")
    n = len(buf)
    pos = 0
    for page, start, chunk in _pieces(proc, "write", addr, n):
        page[start:start + chunk] = buf[pos:pos + chunk] if chunk != n else buf
        pos += chunk


def _read_memory(proc: ProcessState, addr: int, n: int) -> bytes:
    """read_memory's full path: any span of pages, and the faults."""
    if addr.__class__ is not int:
        addr = int_arg(addr, "addr")
    if n.__class__ is not int:
        n = int_arg(n, "n")
    if n < 0:
        raise ValueError("n must not be negative")
    out = bytearray()
    for page, start, chunk in _pieces(proc, "read", addr, n):
        out += page[start:start + chunk]
    return bytes(out)


def _pieces(proc: ProcessState, kind: str, addr: int,
            n: int) -> list[tuple[memoryview, int, int]]:
    """The (page, offset in page, length) pieces of an access of ``n`` bytes at ``addr``,
    which must lie in one attachment (writable for a write, not hugetlb); else the fault.
    Touching a page makes it resident. The attachment becomes the hot path's."""
    mm = proc.mm
    vma = mm.find_span(addr, n) if mm is not None and addr >= 0 and n else None
    if vma is None:
        exc = _stray(proc, mm, kind, addr, n)
        if exc is not None:
            raise exc
        return []
    if kind == "write" and not vma.writable:
        raise _fault(proc, kind, addr, n, "the attachment is read-only (SHM_RDONLY)")
    assert mm is not None           # (the span was found in it)
    seg = vma.seg
    if seg.huge:
        raise _fault(proc, kind, addr, n, "SIGBUS: no huge page to back it "
                     "(SHM_HUGETLB memory cannot be touched)")
    mm.hot = vma
    off = addr + vma.delta
    end = off + n
    pieces: list[tuple[memoryview, int, int]] = []
    while off < end:
        start = off & PAGE_MASK
        chunk = min(end - off, PAGE_SIZE - start)
        pieces.append((seg.page(off >> PAGE_SHIFT), start, chunk))
        off += chunk
    return pieces


def _stray(proc: ProcessState, mm: AddressSpace | None, kind: str, addr: int,
           n: int) -> Exception | None:
    """The fault of an access that is not inside one attachment (None for an empty
    access, which touches nothing)."""
    if addr < 0 or addr + n > ULONG:
        return OverflowError("addr must be an address in [0, 2**64)")
    if not n:
        return None
    vma = mm_of(proc).find_any(addr)
    if isinstance(vma, FixedVma):
        return UnsupportedError(f"pid {proc.pid}: {kind} at {addr:#x}: it lies in the "
                                f"process's own mapping {vma.describe()}, whose memory ipcsim "
                                f"does not simulate (only shared memory's)")
    if vma is not None:
        return _fault(proc, kind, addr, n,
                      f"it runs past the end of the attachment {vma.describe()}")
    return _fault(proc, kind, addr, n, "nothing is mapped there")


__all__ = ["ShmCalls", "ShmidKernel", "SegmentMemory", "ShmidDs", "Shminfo", "ShmInfo",
           "AddressSpace", "Layout", "Vma", "FixedVma", "layout", "mm_of", "fork_mm", "exit_mm",
           "exit_shm", "destroy_orphaned"]
