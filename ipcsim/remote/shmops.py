"""Shared memory between the kernel server's clients: the memory files behind System V
segments, and the calls that hand them to the processes that attach them.

A segment that a client process attaches gets a real memory file (``memfd_create`` where
there is one, else a file of a private temporary directory, unlinked at once), as big as the
segment's pages, made at the first attach by a client. The server maps it, and the segment's
pages become views of that mapping (:meth:`ipcsim.kernel.shm.ShmidKernel.back`): the model's
own reads and writes of the segment (``read_memory``, /proc, the shell's tools) and every
client's mapping of the file see the same bytes. The resident set the model reports is the
file's (pages any process touched).

The calls below run in the server as the calling process. Each attaches as the model does
(``shmat`` is still one call, with its accounting: nattch, times, lpid, the address space) and
returns the memory file as a :class:`~ipcsim.remote.protocol.PassedFd`, which arrives in the
client as its own descriptor: the client maps it, then reads and writes without asking the
server. A segment the server cannot give a file to (SHM_HUGETLB memory, which the model
cannot touch; a size no file or mapping can have) gets None instead: the client then reads
and writes through the model's calls, as outside a server.
"""
from __future__ import annotations

import errno
import mmap
import os
import resource
import tempfile
import weakref
from typing import TYPE_CHECKING, Tuple

from ..compat.sysv_ipc import _shm_create, _shm_fill
from ..constants import PAGE_SIZE
from ..errors import UnsupportedError
from .protocol import PassedFd

if TYPE_CHECKING:
    from ..kernel.process import Process
    from ..kernel.shm import ShmidKernel

PAGE_MASK = PAGE_SIZE - 1

# What an attach hands over: (the memory file, the length to map, the segment's size in
# bytes, whether the attachment may execute (SHM_EXEC)).
Attachment = Tuple[PassedFd, int, int, bool]


class MemoryFile:
    """A segment's memory file, and the server's mapping of it (see the module docstring).
    The descriptor is the one the server passes; the mapping holds a copy of its own."""

    __slots__ = ("fd", "size", "map", "view", "__weakref__")

    def __init__(self, name: str, size: int) -> None:
        fd = _memory_fd(name)
        try:
            os.ftruncate(fd, size)
            self.map = mmap.mmap(fd, size)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.size = size
        self.view = memoryview(self.map)
        weakref.finalize(self, _close_fd, fd)

    def page(self, index: int) -> memoryview:
        """The page at ``index``: a view of the server's mapping."""
        start = index * PAGE_SIZE
        return self.view[start:start + PAGE_SIZE]

    def resident(self) -> int:
        """The pages of the file that hold memory (SEEK_DATA and SEEK_HOLE: shmem allocates a
        page at the first touch of any process, read or write)."""
        fd, size = self.fd, self.size
        pages = 0
        pos = 0
        try:
            while pos < size:
                data = os.lseek(fd, pos, os.SEEK_DATA)
                hole = min(os.lseek(fd, data, os.SEEK_HOLE), size)
                pages += (hole - data + PAGE_MASK) // PAGE_SIZE
                pos = hole
        except OSError as e:
            if e.errno != errno.ENXIO:          # (no data at or after pos: the end)
                return -(-size // PAGE_SIZE)     # no holes to look for: count every page
        except AttributeError:
            return -(-size // PAGE_SIZE)
        return pages

    def close(self) -> None:
        """The segment was destroyed: the server's mapping and descriptor go (a view still
        held keeps the mapping until it goes; clients' mappings are theirs)."""
        try:
            self.view.release()
            self.map.close()
        except BufferError:
            pass
        fd, self.fd = self.fd, -1
        if fd >= 0:
            _close_fd(fd)


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _memory_fd(name: str) -> int:
    """A new, empty memory file: a memfd (its name shows in /proc/PID/maps as
    ``/memfd:NAME (deleted)``), else a file of a private temporary directory, unlinked."""
    for attempt in (0, 1):
        try:
            return _new_memory_fd(name)
        except OSError as e:
            if e.errno != errno.EMFILE or attempt or not _raise_nofile():
                raise
    raise AssertionError("unreachable")


def _new_memory_fd(name: str) -> int:
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        try:
            fd: int = memfd_create(name, os.MFD_CLOEXEC)
            return fd
        except OSError as e:
            if e.errno not in (errno.ENOSYS, errno.EPERM, errno.EINVAL):
                raise
    folder = tempfile.mkdtemp(prefix="ipcsim-shm-")
    try:
        fd, path = tempfile.mkstemp(prefix=name, dir=folder)
        os.unlink(path)
    finally:
        os.rmdir(folder)
    return fd


def _raise_nofile() -> bool:
    """Let the server hold as many descriptors as its hard limit allows (each segment a
    client attached holds two); whether that raised the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return False
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        return False
    return True


def memory_of(seg: ShmidKernel) -> MemoryFile | None:
    """The segment's memory file, made (and the segment moved into it) on first use; None
    for memory no file can back here (SHM_HUGETLB, or a size no file or mapping takes)."""
    memory = seg.backing
    if memory is not None:
        return memory if isinstance(memory, MemoryFile) else None
    if seg.huge:
        return None
    length = (seg.segsz + PAGE_MASK) & ~PAGE_MASK
    try:
        memory = MemoryFile(f"SYSV{seg.key & 0xFFFFFFFF:08x}", length)
    except (OSError, OverflowError, ValueError):
        return None
    seg.back(memory)
    return memory


def attachment(proc: Process, address: int) -> Attachment | None:
    """What a client maps for its attachment that starts at ``address``: the segment's
    memory file (made on the first attach by a client), or None outside a served kernel and
    for memory no file backs."""
    if not proc.kernel.served:
        return None
    mm = proc.mm
    vma = mm.find(address) if mm is not None else None
    if vma is None or vma.start != address or vma.pgoff:
        return None
    seg = vma.seg
    memory = memory_of(seg)
    if memory is None:
        return None
    return PassedFd(memory.fd), memory.size, seg.segsz, vma.file.prot[2] == "x"


# --- the calls clients make -------------------------------------------------------------------
def shm_create(proc: Process, key: int | None, size: int, flags: int, shmat_flags: int,
               fill: bytes | None) -> tuple[int, int, int, Attachment | None]:
    """sysv_ipc.SharedMemory(): shmget (a random key for None), shmat, and the memory file
    to map: ``(key, shmid, address, attachment)``. With a file, the client fills a new
    segment with ``fill`` itself (as the real module memsets it); without one, the model
    does it here."""
    key, shmid, address = _shm_create(proc, key, size, flags, shmat_flags, None)
    got = attachment(proc, address)
    if got is None and fill is not None:
        _shm_fill(proc, shmid, address, fill)
    return key, shmid, address, got


def shmat(proc: Process, shmid: int, address: int | None,
          flags: int) -> tuple[int, Attachment | None]:
    """shmat(2) as the model does it, and the memory file to map: ``(address,
    attachment)``."""
    addr = proc.shmat(shmid, address, flags)
    return addr, attachment(proc, addr)


def span(proc: Process, address: int, size: int) -> tuple[PassedFd, int]:
    """The memory file behind the caller's ``size`` bytes at ``address`` and where they
    start in it (page-aligned), for a buffer over them; the fault the model raises for an
    access there when they are not all in one attachment that a file backs."""
    mm = proc.mm
    vma = mm.find_span(address, size) if mm is not None else None
    memory = memory_of(vma.seg) if vma is not None and proc.kernel.served else None
    if vma is None or memory is None:
        proc.read_memory(address, size)          # (the fault: SEGV, or SIGBUS for hugetlb)
        raise UnsupportedError(f"the memory at {address:#x} has no memory file to map")
    return PassedFd(memory.fd), address + vma.delta
