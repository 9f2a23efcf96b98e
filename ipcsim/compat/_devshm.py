"""/dev/shm: POSIX named semaphores and shared memory objects (sem_overview(7), shm_open(3)).

On Linux these are files of the tmpfs mounted on /dev/shm (a semaphore ``/name`` is the file
``sem.name``, a shared memory object ``/name`` the file ``name``), so they are not part of
any IPC namespace: every IPC namespace of a machine sees the same ones. The model keeps one
:class:`DevShm` per Kernel, shared by all its namespaces, with glibc's name rules, the
directory's sticky-bit rule for unlinking, and permission checks against the calling
process's credentials.

A semaphore's value lives in the model, and a blocked ``sem_wait`` parks on the kernel's
wait queues like any other call (virtual time in a simulation, real time on the host
kernel). A shared memory object's bytes live in a real file of a private temporary
directory, so that the descriptor ``shm_open`` returns is a real one of the calling process
(``mmap.mmap(fd, size)`` works on it); its name, owner and mode live in the model. A kernel
server keeps those files in its own directory and passes the descriptor to the client that
opens one (``ipcsim.remote``): every client process then shares the object's bytes.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
import weakref
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..constants import CAP_FOWNER, O_ACCMODE, O_CREAT, O_EXCL, O_TRUNC
from ..errors import oserror
from ..kernel.mqueue import MAY_READ, MAY_WRITE, generic_permission
from ..kernel.syscall import NOKW
from ..kernel.waitq import SIGNAL, TIMEOUT, WaitQueue, Waiter

if TYPE_CHECKING:
    from ..kernel.kernel import Kernel
    from ..kernel.process import Process

R = TypeVar("R")

NAME_MAX = 255
SEM_VALUE_MAX = 0x7FFFFFFF
SEM_PREFIX = "sem."


class ShmNode:
    """A file of /dev/shm: owner, group and mode (the model's side of it)."""

    __slots__ = ("name", "uid", "gid", "mode", "linked")

    def __init__(self, name: str, uid: int, gid: int, mode: int):
        self.name = name
        self.uid, self.gid, self.mode = uid, gid, mode
        self.linked = True


class NamedSemaphore(ShmNode):
    """A named semaphore: its value and the callers blocked in sem_wait (FIFO)."""

    __slots__ = ("value", "waiters")

    def __init__(self, name: str, uid: int, gid: int, mode: int, value: int):
        super().__init__(name, uid, gid, mode)
        self.value = value
        self.waiters = WaitQueue()

    def __repr__(self) -> str:
        return f"<NamedSemaphore /{self.name[len(SEM_PREFIX):]} value={self.value}>"


class ShmObject(ShmNode):
    """A shared memory object: its bytes are the real file ``path``."""

    __slots__ = ("path",)

    def __init__(self, name: str, uid: int, gid: int, mode: int, path: str):
        super().__init__(name, uid, gid, mode)
        self.path = path

    def __repr__(self) -> str:
        return f"<ShmObject /{self.name}>"


def _remove_dir(path: str, owner: int) -> None:
    """Remove a /dev/shm's data directory, only in the process that made it: a forked
    child that drops its copy of the kernel (or exits) leaves the parent's files alone."""
    if os.getpid() == owner:
        shutil.rmtree(path, True)


class DevShm:
    """The /dev/shm of one Kernel (mode 1777, owned by root, as on Linux)."""

    def __init__(self) -> None:
        self.files: dict[str, ShmNode] = {}
        self._dir: str | None = None
        self._serial = 0
        self._finalizer: weakref.finalize[[str, int], DevShm] | None = None

    def data_dir(self) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="ipcsim-devshm-")
            self._finalizer = weakref.finalize(self, _remove_dir, self._dir, os.getpid())
        return self._dir

    def names(self) -> list[str]:
        """The files, as ``ls /dev/shm`` sorts them."""
        return sorted(self.files)

    def unlink(self, proc: Process, name: str) -> ShmNode:
        """unlink(2) in a sticky directory: the file's owner, or CAP_FOWNER (EPERM, which
        glibc's sem_unlink and shm_unlink report as EACCES); ENOENT."""
        node = self.files.get(name)
        if node is None:
            raise oserror(errno.ENOENT)
        if proc.creds.fsuid not in (node.uid, 0) and not proc.creds.capable(CAP_FOWNER):
            raise oserror(errno.EACCES)
        del self.files[name]
        node.linked = False
        if isinstance(node, ShmObject):
            os.unlink(node.path)
        return node


_devshms: weakref.WeakKeyDictionary[Kernel, DevShm] = weakref.WeakKeyDictionary()


def devshm(kernel: Kernel) -> DevShm:
    """The kernel's /dev/shm (made on first use)."""
    fs = _devshms.get(kernel)
    if fs is None:
        fs = _devshms[kernel] = DevShm()
    return fs


def _syscall(proc: Process, fn: Callable[..., R], name: str, *args: Any) -> R:
    """Enter ``fn`` as a system call of ``proc``: a switch point (and traced) in a program."""
    kernel = proc.kernel
    if kernel._slow or not proc.alive:
        return kernel._syscall(proc, fn, name, args, NOKW)
    return fn(proc, *args)


def _name_arg(name: str, prefix: str = "") -> str:
    """glibc's __shm_get_name(): leading slashes dropped; EINVAL for an empty name or one
    with another slash; ENAMETOOLONG past NAME_MAX with the prefix."""
    stripped = name.lstrip("/")
    if not stripped or "/" in stripped:
        raise oserror(errno.EINVAL)
    if len((prefix + stripped).encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise oserror(errno.ENAMETOOLONG)
    return prefix + stripped


def _may(proc: Process, node: ShmNode, want: int) -> None:
    if not generic_permission(proc.creds, node.mode, node.uid, node.gid, want):
        raise oserror(errno.EACCES)


def _want(oflag: int) -> int:
    # open(2): access mode 3 asks for read and write permission (and gives neither)
    want = (MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE, MAY_READ | MAY_WRITE)[oflag & O_ACCMODE]
    if oflag & O_TRUNC:
        want |= MAY_WRITE
    return want


# --- semaphores --------------------------------------------------------------------------------
def _sem_open(proc: Process, name: str, oflag: int, mode: int, value: int) -> NamedSemaphore:
    fs = devshm(proc.kernel)
    fname = _name_arg(name, SEM_PREFIX)
    node = fs.files.get(fname)
    if node is not None:
        if oflag & O_CREAT and oflag & O_EXCL:
            raise oserror(errno.EEXIST)
        _may(proc, node, MAY_READ | MAY_WRITE)          # glibc opens it O_RDWR
        if not isinstance(node, NamedSemaphore):
            raise oserror(errno.EINVAL)                 # not a semaphore's file
        return node
    if not oflag & O_CREAT:
        raise oserror(errno.ENOENT)
    if not 0 <= value <= SEM_VALUE_MAX:
        raise oserror(errno.EINVAL)
    node = NamedSemaphore(fname, proc.creds.fsuid, proc.creds.fsgid,
                          mode & 0o7777 & ~proc.umask_, value)
    fs.files[fname] = node
    return node


def sem_open(proc: Process, name: str, oflag: int, mode: int, value: int) -> NamedSemaphore:
    """sem_open(3): the named semaphore ``name`` ("/something"), created with O_CREAT
    (mode less the umask, ``value`` at most SEM_VALUE_MAX else EINVAL). EEXIST, ENOENT,
    EACCES (read and write permission are needed), EINVAL, ENAMETOOLONG."""
    return _syscall(proc, _sem_open, "sem_open", name, oflag, mode, value)


def _sem_wait(proc: Process, sem: NamedSemaphore, timeout: float | None,
              trywait: bool) -> None:
    if sem.value > 0:
        sem.value -= 1
        return
    if trywait:
        raise oserror(errno.EAGAIN)
    sched = proc.kernel.sched
    deadline = None
    if timeout is not None:
        deadline = sched.clock.now_ns() + max(0, round(timeout * 1_000_000_000))
    w = Waiter(proc, f"sem_wait on /{sem.name[len(SEM_PREFIX):]} (value 0)")
    sem.waiters.add(w)
    reason = sched.block(w, deadline)
    if w.result is not None:
        return                      # sem_post handed its unit over
    if reason == TIMEOUT:
        raise oserror(errno.ETIMEDOUT)
    if reason == SIGNAL:
        raise oserror(errno.EINTR)
    raise oserror(errno.EINTR)


def sem_wait(proc: Process, sem: NamedSemaphore, timeout: float | None = None,
             trywait: bool = False) -> None:
    """sem_wait(3), sem_trywait (EAGAIN) and sem_timedwait (``timeout`` seconds from now;
    ETIMEDOUT). A waiting caller is woken by sem_post in FIFO order; EINTR on a signal."""
    kernel = proc.kernel
    if kernel._slow or not proc.alive:          # (_syscall's test, inline: the hot path)
        return kernel._syscall(proc, _sem_wait, "sem_wait", (sem, timeout, trywait), NOKW)
    if sem.value > 0:                           # (_sem_wait's first step)
        sem.value -= 1
        return None
    return _sem_wait(proc, sem, timeout, trywait)


def _sem_post(proc: Process, sem: NamedSemaphore) -> None:
    waiters = sem.waiters
    while waiters:
        w = waiters.first()
        assert w is not None                    # (a queue that is not empty has a first)
        waiters.discard(w)
        if proc.kernel.sched.wake(w, True):
            return
    if sem.value >= SEM_VALUE_MAX:
        raise oserror(errno.EOVERFLOW)
    sem.value += 1


def sem_post(proc: Process, sem: NamedSemaphore) -> None:
    """sem_post(3): wake the first waiter (it takes the unit), or add one (EOVERFLOW at
    SEM_VALUE_MAX)."""
    kernel = proc.kernel
    if kernel._slow or not proc.alive:          # (_syscall's test, inline: the hot path)
        return kernel._syscall(proc, _sem_post, "sem_post", (sem,), NOKW)
    if not sem.waiters and sem.value < SEM_VALUE_MAX:      # (_sem_post with nobody waiting)
        sem.value += 1
        return None
    return _sem_post(proc, sem)


def _sem_getvalue(proc: Process, sem: NamedSemaphore) -> int:
    return sem.value


def sem_getvalue(proc: Process, sem: NamedSemaphore) -> int:
    """sem_getvalue(3): the value (0 while callers wait, as glibc reports it)."""
    return _syscall(proc, _sem_getvalue, "sem_getvalue", sem)


def _unlink_name(name: str, prefix: str = "") -> str:
    """The file name sem_unlink and shm_unlink unlink: glibc reports any fault of the name
    (EINVAL, ENAMETOOLONG) as ENOENT there."""
    try:
        return _name_arg(name, prefix)
    except OSError:
        raise oserror(errno.ENOENT) from None


def _sem_unlink(proc: Process, name: str) -> None:
    devshm(proc.kernel).unlink(proc, _unlink_name(name, SEM_PREFIX))


def sem_unlink(proc: Process, name: str) -> None:
    """sem_unlink(3): the name goes now; the semaphore lives on for those who opened it.
    ENOENT (also for a malformed or too long name), EACCES."""
    return _syscall(proc, _sem_unlink, "sem_unlink", name)


# --- shared memory -----------------------------------------------------------------------------
def _shm_open(proc: Process, name: str, oflag: int, mode: int) -> int:
    fs = devshm(proc.kernel)
    fname = _name_arg(name)
    want = _want(oflag)
    node = fs.files.get(fname)
    if node is not None:
        if oflag & O_CREAT and oflag & O_EXCL:
            raise oserror(errno.EEXIST)
        _may(proc, node, want)
        if not isinstance(node, ShmObject):
            raise oserror(errno.EINVAL)
        flags = oflag & (O_ACCMODE | O_TRUNC)
        return _passed(proc, os.open(node.path, flags | os.O_CLOEXEC))
    if not oflag & O_CREAT:
        raise oserror(errno.ENOENT)
    fs._serial += 1
    path = os.path.join(fs.data_dir(), str(fs._serial))
    fd = os.open(path, (oflag & O_ACCMODE) | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fs.files[fname] = ShmObject(fname, proc.creds.fsuid, proc.creds.fsgid,
                                mode & 0o7777 & ~proc.umask_, path)
    return _passed(proc, fd)


def _passed(proc: Process, fd: int) -> int:
    """``fd`` as shm_open returns it: this process's own descriptor; for a client of a
    kernel server, one the reply hands over (the server keeps no copy)."""
    if not proc.kernel.served:
        return fd
    from ..remote.protocol import PassedFd
    return PassedFd(fd, close=True)


def shm_open(proc: Process, name: str, oflag: int, mode: int) -> int:
    """shm_open(3): a real descriptor of the calling process for the object ``name``
    (O_RDONLY or O_RDWR, O_CREAT, O_EXCL, O_TRUNC). EEXIST, ENOENT, EACCES, EINVAL,
    ENAMETOOLONG. In a kernel server the file lives in the server's directory and the
    descriptor travels to the client, so every client process maps the same bytes."""
    return _syscall(proc, _shm_open, "shm_open", name, oflag, mode)


def _shm_unlink(proc: Process, name: str) -> None:
    devshm(proc.kernel).unlink(proc, _unlink_name(name))


def shm_unlink(proc: Process, name: str) -> None:
    """shm_unlink(3): the name goes now; open descriptors and mappings keep the bytes.
    ENOENT (also for a malformed or too long name), EACCES."""
    return _syscall(proc, _shm_unlink, "shm_unlink", name)
