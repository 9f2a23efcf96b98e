"""A drop-in fake of the ``posix_ipc`` package (version 1.3.2) over the ipcsim kernel model.

The whole public API is here with the real module's names, defaults, keyword arguments,
attributes, exception classes and messages: ``MessageQueue`` (send, receive, close, unlink,
``request_notification``, ``block``, ``fileno``), ``Semaphore``, ``SharedMemory``,
``unlink_message_queue``, ``unlink_semaphore``, ``unlink_shared_memory``, the constants, and
``Error`` with its subclasses. Calls act as the process :mod:`ipcsim.compat` chooses (a
program's own process in a simulation, the bound process, or the host process).

Message queues are the model's POSIX message queues, in the caller's IPC namespace. Outside a
simulation (the host kernel, a kernel server) ``mqd`` and ``fileno()`` are real descriptors
that ``select``, ``poll`` and ``selectors`` report readable while the queue has a message and
writable while it has room, as Linux's mq descriptors are (see :mod:`ipcsim.remote.mqops`);
in a simulation they are descriptors of the simulated process. Semaphores and shared memory
live in the kernel's /dev/shm, shared by all its IPC namespaces as on Linux (see
:mod:`ipcsim.compat._devshm`); a SharedMemory's ``fd`` is a real descriptor of this Python
process, so ``mmap.mmap(mem.fd, mem.size)`` works as with the real package.

Timeouts are relative to the moment of the call, in the kernel's time (virtual in a
simulation, real on the host kernel).
"""
from __future__ import annotations

import errno as _errno
import os as _os
import random as _random
import weakref as _weakref
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .. import constants as _c
from ..kernel.mqueue import MqAttr as _MqAttr
from ..kernel.mqueue import SigEvent as _SigEvent
from ..kernel.process import Process as _Process
from ..sim.scheduler import ProcessExit as _ProcessExit
from ..sim.scheduler import Terminated as _Terminated
from . import _context, _devshm
from ._context import call as _call
from ._common import (ReadOnly, ReadOnlyMember, as_buffer_bytes, c_args, c_index, c_int,
                      c_long, c_str, c_ulong_mask, check_flags, fail, like_c_type,
                      open_or_create, refuse_args, timeout_arg)

if TYPE_CHECKING:
    from ..remote.notify import Notifier as _Notifier

T = TypeVar("T")

VERSION = "1.3.2"
__version__ = VERSION
__author__ = "Philip Semanchuk"
__license__ = "BSD"
__copyright__ = "Copyright 2008 - 2025 Philip Semanchuk and contributors"

O_CREAT: int = _c.O_CREAT
O_EXCL: int = _c.O_EXCL
O_CREX: int = _c.O_CREAT | _c.O_EXCL
O_TRUNC: int = _c.O_TRUNC
O_RDONLY: int = _c.O_RDONLY
O_WRONLY: int = _c.O_WRONLY
O_RDWR: int = _c.O_RDWR
O_NONBLOCK: int = _c.O_NONBLOCK
PAGE_SIZE: int = 4096
MESSAGE_QUEUES_SUPPORTED: bool = True
QUEUE_MESSAGES_MAX_DEFAULT: int = 10
QUEUE_MESSAGE_SIZE_MAX_DEFAULT: int = 8192
QUEUE_PRIORITY_MAX: int = _c.MQ_PRIO_MAX - 1
USER_SIGNAL_MIN: int = 34          # SIGRTMIN as glibc reports it (two are its own)
USER_SIGNAL_MAX: int = 64
SEMAPHORE_VALUE_MAX: int = _devshm.SEM_VALUE_MAX
SEMAPHORE_TIMEOUT_SUPPORTED: bool = True
SEMAPHORE_VALUE_SUPPORTED: bool = True

_MAX_SAFE_NAME_LENGTH = 14


class Error(Exception):
    """The base of the module's exceptions (``posix_ipc.Error``)."""


class SignalError(Error):
    pass


class PermissionsError(Error):
    pass


class ExistentialError(Error):
    pass


class BusyError(Error):
    pass


for _cls in (Error, SignalError, PermissionsError, ExistentialError, BusyError):
    _cls.__module__ = "posix_ipc"
    _cls.__doc__ = None


# --- helpers ----------------------------------------------------------------------------------
def _name_arg(name: object) -> str | None:
    """convert_name_param(): None, str (encoded as a file name) or bytes."""
    if name is None:
        return None
    if isinstance(name, str):
        raw = _os.fsencode(str.__str__(name))         # (a subclass's encode() is not used)
        if b"\0" in raw:
            raise ValueError("embedded null byte")      # (the real module crashes)
    elif isinstance(name, bytes):
        raw = name.split(b"\0", 1)[0]                   # strcpy() stops at a NUL
    else:
        raise TypeError("Name must be None or a string")
    return _os.fsdecode(raw)


def _c_string(name: str | None) -> str | None:
    """The name as the real module shows it (T_STRING, PyUnicode_FromString of the C
    string): bytes that are not UTF-8 raise UnicodeDecodeError."""
    if name is None or name.isascii():
        return name
    return _os.fsencode(name).decode()


def _c_format(name: str | None) -> str:
    """The name as PyUnicode_FromFormat's %s shows it in a repr: bytes that are not UTF-8
    replaced by U+FFFD; "(null)" for no name."""
    if name is None:
        return "(null)"
    return _os.fsencode(name).decode("utf-8", "replace")


def _unsigned_int(value: object) -> int:
    """PyArg_Parse's "I": any int (or object with __index__), taken modulo 2**32."""
    if value.__class__ is int:
        return value & 0xFFFFFFFF
    return c_index(value) & 0xFFFFFFFF


_rngs: "_weakref.WeakKeyDictionary[Any, _random.Random]" = _weakref.WeakKeyDictionary()


def _random_name(proc: _Process) -> str:
    """create_random_name(): "/" and 5 to 12 lowercase letters, from the kernel's own
    generator (seeded by its seed, so a simulation stays reproducible)."""
    kernel = proc.kernel
    rng = _rngs.get(kernel)
    if rng is None:
        rng = _rngs[kernel] = _random.Random(f"posix_ipc names {kernel.seed}")
    length = rng.randint(6, _MAX_SAFE_NAME_LENGTH - 1)
    return "/" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(length - 1))


def _open_named(proc: _Process, opener: Callable[..., T], name: str | None,
                *args: Any) -> tuple[str, T]:
    return open_or_create(proc, opener, name, _random_name, *args)


def _check_flags(flags: int, name: str | None) -> None:
    check_flags(flags, name, O_CREAT, O_EXCL, "O", "Name")


_OPEN_FILES = {
    _errno.EMFILE: (OSError, "This process already has the maximum number of files open"),
    _errno.ENFILE: (OSError, "The system limit on the total number of open files has been "
                             "reached"),
    _errno.ENAMETOOLONG: (ValueError, "The name is too long"),
    _errno.ENOMEM: (MemoryError, "Not enough memory"),
}
_SIGNALED = (SignalError, "The wait was interrupted by a signal")


# --- semaphores -------------------------------------------------------------------------------
_SEM_OPEN_ERRORS = {
    _errno.EACCES: (PermissionsError, "Permission denied"),
    _errno.EEXIST: (ExistentialError, "A semaphore with the specified name already exists"),
    _errno.ENOENT: (ExistentialError, "No semaphore exists with the specified name"),
    _errno.EINVAL: (ValueError, "Invalid parameter(s)"),
    **_OPEN_FILES,
}
_SEM_GONE = (ExistentialError, "The semaphore does not exist")
_SEM_WAIT_ERRORS = {_errno.EBADF: _SEM_GONE, _errno.EINVAL: _SEM_GONE, _errno.EINTR: _SIGNALED,
                    _errno.EAGAIN: (BusyError, "Semaphore is busy"),
                    _errno.ETIMEDOUT: (BusyError, "Semaphore is busy")}
_SEM_UNLINK_ERRORS = {
    _errno.EACCES: (PermissionsError, "Denied permission to unlink this semaphore"),
    _errno.ENOENT: (ExistentialError, "No semaphore exists with the specified name"),
    _errno.EINVAL: (ExistentialError, "No semaphore exists with the specified name"),
    _errno.ENAMETOOLONG: (ValueError, "The name is too long"),
}


_sem_wait = _devshm.sem_wait
_sem_post = _devshm.sem_post


class Semaphore:
    """POSIX semaphore object"""

    __slots__ = ("_name", "_mode", "_sem")

    @c_args("name flags mode initial_value", method=True)
    def __init__(self, name: str | bytes | None, flags: int = 0, mode: int = 0o600,
                 initial_value: int = 0) -> None:
        name = _name_arg(name)
        flags, mode = c_int(flags), c_int(mode)
        initial_value = _unsigned_int(initial_value)
        self._sem = None
        self._name = None
        self._mode = mode & 0xFFFFFFFF        # an int stored in a C long
        _check_flags(flags, name)
        try:
            self._name, self._sem = _context.call(_open_named, _devshm.sem_open, name, flags,
                                                  mode, initial_value)
        except OSError as e:
            raise fail(e, _SEM_OPEN_ERRORS) from None

    name = ReadOnlyMember(lambda self: _c_string(self._name),
                          "The name specified in the constructor")
    mode = ReadOnlyMember(lambda self: self._mode, "The mode specified in the constructor")

    def _valid(self) -> _devshm.NamedSemaphore:
        sem: _devshm.NamedSemaphore | None = self._sem
        if sem is None:
            raise ExistentialError("The semaphore has been closed")
        return sem

    def acquire(self, timeout: float | None = None) -> None:
        """Acquire (grab) the semaphore, waiting if necessary: forever (``timeout`` None),
        not at all (0: BusyError if it is taken), or up to ``timeout`` seconds."""
        sem = self._sem
        if sem is None:
            raise ExistentialError("The semaphore has been closed")
        try:
            if timeout is None:
                _call(_sem_wait, sem)
            else:
                timeout = timeout_arg(timeout)
                _call(_sem_wait, sem, timeout, timeout == 0)
        except OSError as e:
            raise fail(e, _SEM_WAIT_ERRORS) from None

    def release(self, *args: Any, **kw: Any) -> None:
        """Release the semaphore"""
        if args or kw:
            refuse_args("Semaphore.release", args, kw)
        sem = self._sem
        if sem is None:
            raise ExistentialError("The semaphore has been closed")
        try:
            _call(_sem_post, sem)
        except OSError as e:
            raise fail(e, {_errno.EINVAL: _SEM_GONE, _errno.EBADF: _SEM_GONE}) from None

    def close(self, *args: Any, **kw: Any) -> None:
        """Close the semaphore for this process."""
        if args or kw:
            refuse_args("Semaphore.close", args, kw)
        self._valid()
        self._sem = None

    def unlink(self, *args: Any, **kw: Any) -> None:
        """Unlink (remove) the semaphore."""
        if args or kw:
            refuse_args("Semaphore.unlink", args, kw)
        self._valid()
        _unlink_semaphore(self._name)

    def _getvalue(self) -> int:
        got: int = _context.call(_devshm.sem_getvalue, self._valid())
        return got

    value = ReadOnly(_getvalue, "value")

    def __enter__(self, *args: Any, **kw: Any) -> "Semaphore":
        if args or kw:
            refuse_args("Semaphore.__enter__", args, kw)
        self.acquire()
        return self

    def __exit__(self, *exc: Any, **kw: Any) -> None:
        if kw:
            refuse_args("Semaphore.__exit__", exc, kw)
        self.release()

    def __str__(self) -> str:
        return _c_string(self._name) or "(no name)"

    def __repr__(self) -> str:
        return f'posix_ipc.Semaphore("{_c_format(self._name)}", mode=0{self._mode:o})'


@c_args("name", keywords=False)
def unlink_semaphore(name: str) -> None:
    """Unlink a semaphore"""
    _unlink_semaphore(c_str(name))


def _unlink_semaphore(name: str | None) -> None:
    try:
        _context.call(_devshm.sem_unlink, name)
    except OSError as e:
        raise fail(e, _SEM_UNLINK_ERRORS) from None


# --- shared memory ----------------------------------------------------------------------------
_SHM_UNLINK_ERRORS = {
    _errno.EACCES: (PermissionsError, "Permission denied"),
    _errno.ENOENT: (ExistentialError, "No shared memory exists with the specified name"),
    _errno.ENAMETOOLONG: (ValueError, "The name is too long"),
}


class SharedMemory:
    """POSIX shared memory object"""

    __slots__ = ("_name", "_mode", "_fd")

    @c_args("name flags mode size read_only", method=True)
    def __init__(self, name: str | bytes | None, flags: int = 0, mode: int = 0o600,
                 size: int = 0, read_only: bool = False) -> None:
        name = _name_arg(name)
        flags, mode = _unsigned_int(flags), c_int(mode)
        size = c_ulong_mask(size, 4)
        readonly = c_int(read_only)
        self._name = None
        self._fd = -1
        self._mode = mode & 0xFFFFFFFF        # an int stored in a C long
        _check_flags(flags, name)
        flags |= O_RDONLY if readonly else O_RDWR
        errors = {
            _errno.EACCES: (PermissionsError, f"No permission to "
                            f"{'truncate' if flags & O_TRUNC else 'access'} this segment"),
            _errno.EEXIST: (ExistentialError, "Shared memory with the specified name already "
                                              "exists"),
            _errno.ENOENT: (ExistentialError, "No shared memory exists with the specified name"),
            _errno.EINVAL: (ValueError, "Invalid parameter(s)"),
            **_OPEN_FILES,
        }
        try:
            self._name, self._fd = _context.call(_open_named, _devshm.shm_open, name, flags,
                                                 mode)
        except OSError as e:
            raise fail(e, errors) from None
        if size:
            try:
                _os.ftruncate(self._fd, size - (1 << 64) if size >> 63 else size)  # off_t
            except OSError as e:
                _os.close(self._fd)
                self._fd = -1
                try:
                    _context.call(_devshm.shm_unlink, self._name)
                except OSError:
                    pass
                err = _errno.EINVAL if e.errno == _errno.EBADF else e.errno or 0  # O_RDONLY
                raise fail(OSError(err, _os.strerror(err)), {
                    _errno.EINVAL: (ValueError, "The size is invalid or the memory is "
                                                "read-only"),
                    _errno.EFBIG: (ValueError, "The size is too large"),
                    _errno.EROFS: (PermissionsError, "The memory is read-only"),
                    _errno.EACCES: (PermissionsError, "The memory is read-only")}) from None

    name = ReadOnlyMember(lambda self: _c_string(self._name),
                          "The name specified in the constructor")
    mode = ReadOnlyMember(lambda self: self._mode, "The mode specified in the constructor")
    fd = ReadOnlyMember(lambda self: self._fd, "Shared memory segment file descriptor")

    def _size(self) -> int:
        try:
            return _os.fstat(self._fd).st_size
        except OSError as e:
            if e.errno in (_errno.EBADF, _errno.EINVAL):
                raise ExistentialError("The segment does not exist") from None
            raise

    size = ReadOnly(_size, "size")

    def fileno(self, *args: Any, **kw: Any) -> int:
        """Returns the shared memory's file descriptor (same as the fd property)."""
        if args or kw:
            refuse_args("SharedMemory.fileno", args, kw)
        return self._fd

    def close_fd(self, *args: Any, **kw: Any) -> None:
        """Closes the file descriptor associated with the shared memory."""
        if args or kw:
            refuse_args("SharedMemory.close_fd", args, kw)
        if self._fd != -1:
            try:
                _os.close(self._fd)
            except OSError as e:
                if e.errno == _errno.EBADF:
                    raise ValueError("The file descriptor is invalid") from None
                raise
            self._fd = -1

    def unlink(self, *args: Any, **kw: Any) -> None:
        """Unlink (remove) the shared memory."""
        if args or kw:
            refuse_args("SharedMemory.unlink", args, kw)
        _unlink_shared_memory(self._name)

    def __str__(self) -> str:
        return _c_string(self._name) or "(no name)"

    def __repr__(self) -> str:
        return f'posix_ipc.SharedMemory("{_c_format(self._name)}", mode=0{self._mode:o})'


@c_args("name", keywords=False)
def unlink_shared_memory(name: str) -> None:
    """Unlink shared memory"""
    _unlink_shared_memory(c_str(name))


def _unlink_shared_memory(name: str | None) -> None:
    try:
        _context.call(_devshm.shm_unlink, name)
    except OSError as e:
        raise fail(e, _SHM_UNLINK_ERRORS) from None


# --- message queues ---------------------------------------------------------------------------
_MQ_OPEN_ERRORS = {
    _errno.EINVAL: (ValueError, "Invalid parameter(s)"),
    _errno.ENOSPC: (OSError, "Insufficient space for a new queue"),
    _errno.EACCES: (PermissionsError, "Permission denied"),
    _errno.EEXIST: (ExistentialError, "A queue with the specified name already exists"),
    _errno.ENOENT: (ExistentialError, "No queue exists with the specified name"),
    **_OPEN_FILES,
}
_MQ_GONE = (ExistentialError, "The queue does not exist")
_MQ_UNLINK_ERRORS = {
    _errno.EACCES: (PermissionsError, "Permission denied"),
    _errno.ENOENT: (ExistentialError, "No queue exists with the specified name"),
    _errno.EINVAL: (ExistentialError, "No queue exists with the specified name"),
    _errno.ENAMETOOLONG: (ValueError, "The name is too long"),
}
_MQ_SEND_GONE = (ExistentialError, "The message queue does not exist or is not open for "
                                   "writing")
_MQ_SEND_ERRORS = {_errno.EBADF: _MQ_SEND_GONE, _errno.EINVAL: _MQ_SEND_GONE,
                   _errno.EINTR: _SIGNALED,
                   _errno.EAGAIN: (BusyError, "The queue is full"),
                   _errno.ETIMEDOUT: (BusyError, "The queue is full"),
                   _errno.EMSGSIZE: (ValueError, "The message is too long")}
_MQ_RECV_GONE = (ExistentialError, "The message queue does not exist or is not open for "
                                   "reading")
_MQ_RECV_ERRORS = {_errno.EBADF: _MQ_RECV_GONE, _errno.EINVAL: _MQ_RECV_GONE,
                   _errno.EINTR: _SIGNALED,
                   _errno.EAGAIN: (BusyError, "The queue is empty"),
                   _errno.ETIMEDOUT: (BusyError, "The queue is empty")}


def _mq_open(proc: _Process, name: str, flags: int, mode: int, attr: _MqAttr | None
             ) -> tuple[int, _MqAttr | None, bool, bool]:
    """``(mqd, attributes, real, served)``: the model's descriptor, what mq_getattr gives for
    it (None if it cannot), whether the caller is a real process (the host kernel's, or a
    kernel server's client: its mqd is then a real descriptor, see
    :mod:`ipcsim.remote.mqops`) and whether the kernel is a server's."""
    mqd = proc.mq_open(name, flags, mode, attr)
    try:
        got = proc.mq_getattr(mqd)
    except OSError:
        return mqd, None, False, False
    kernel = proc.kernel
    return mqd, got, kernel.served or isinstance(kernel, _context.HostKernel), kernel.served


_mq_send_call = _Process.mq_send
_mq_timedsend_call = _Process.mq_timedsend
_mq_receive_call = _Process.mq_receive
_mq_timedreceive_call = _Process.mq_timedreceive


def _mq_close(proc: _Process, mqd: int) -> None:
    proc.mq_close(mqd)


def _mq_unlink(proc: _Process, name: str) -> None:
    proc.mq_unlink(name)


def _mq_getattr(proc: _Process, mqd: int) -> _MqAttr:
    return proc.mq_getattr(mqd)


def _mq_setattr(proc: _Process, mqd: int, flags: int) -> None:
    proc.mq_setattr(mqd, _MqAttr(mq_flags=flags))


def _mq_notify(proc: _Process, mqd: int, sev: _SigEvent | None) -> None:
    proc.mq_notify(mqd, sev)


class MessageQueue:
    """POSIX message queue object"""

    # _mqd is the model's descriptor (what the calls name), _fd what mqd and fileno() show:
    # a real descriptor of this process that it closes (_real), made when first asked for
    # (None until then), or _mqd in a simulation; _served: the queue is a kernel server's;
    # _notifier: the token of a thread notification asked for there
    __slots__ = ("_name", "_mode", "_mqd", "_fd", "_real", "_served", "_notifier",
                 "_max_messages", "_max_message_size", "_send_permitted",
                 "_receive_permitted", "_callback", "_callback_param")

    @c_args("name flags mode max_messages max_message_size read write", method=True)
    def __init__(self, name: str | bytes | None, flags: int = 0, mode: int = 0o600,
                 max_messages: int = QUEUE_MESSAGES_MAX_DEFAULT,
                 max_message_size: int = QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
                 read: bool = True, write: bool = True) -> None:
        name = _name_arg(name)
        flags, mode = _unsigned_int(flags), c_int(mode)
        max_messages, max_message_size = c_long(max_messages), c_long(max_message_size)
        self._mqd = -1
        self._fd: int | None = -1
        self._real = self._served = False
        self._notifier: _Notifier | None = None
        self._name = None
        self._mode = mode & 0xFFFFFFFF        # an int stored in a C long
        self._callback = self._callback_param = None
        self._max_messages = self._max_message_size = 0
        _check_flags(flags, name)
        if read and write:
            flags |= O_RDWR
            self._send_permitted = self._receive_permitted = True
        elif read:
            flags |= O_RDONLY
            self._send_permitted, self._receive_permitted = False, True
        elif write:
            flags |= O_WRONLY
            self._send_permitted, self._receive_permitted = True, False
        else:
            raise ValueError("At least one of read or write must be True")
        attr = None
        if flags & O_CREAT:
            attr = _MqAttr(flags & O_NONBLOCK, max_messages, max_message_size, 0)
        try:
            self._name, (self._mqd, got, real, self._served) = _context.call(
                _open_named, _mq_open, name, flags, mode, attr)
        except OSError as e:
            raise fail(e, _MQ_OPEN_ERRORS) from None
        self._fd = None if real else self._mqd
        if got is None:
            raise Error("Unable to initialize object")
        self._max_messages, self._max_message_size = got.mq_maxmsg, got.mq_msgsize

    name = ReadOnlyMember(lambda self: _c_string(self._name),
                          "The name specified in the constructor")
    mode = ReadOnlyMember(lambda self: self._mode, "The mode specified in the constructor")
    max_messages = ReadOnlyMember(lambda self: self._max_messages, "Queue slots")
    max_message_size = ReadOnlyMember(lambda self: self._max_message_size,
                                      "Maximum number of bytes per message")

    def send(self, message: str | bytes, timeout: float | None = None,
             priority: int = 0) -> None:
        """Send a message via the queue: ``message`` (bytes, or str as UTF-8) at
        ``priority`` (0 to QUEUE_PRIORITY_MAX). A full queue waits forever (``timeout``
        None), not at all (0), or up to ``timeout`` seconds, then raises BusyError."""
        # (bytes, no timeout and a priority in range are checked inline; the converters
        # give every other case its exception, in the real module's order)
        data = message if message.__class__ is bytes else as_buffer_bytes(message)
        if timeout is not None:
            timeout = timeout_arg(timeout)
        if priority.__class__ is not int or not 0 <= priority <= QUEUE_PRIORITY_MAX:
            priority = c_long(priority)
        if not self._send_permitted:
            raise PermissionsError("The queue is not open for writing")
        # (the real module's own length check falls through to mq_send, whose EMSGSIZE
        # gives the message users see)
        if not 0 <= priority <= QUEUE_PRIORITY_MAX:
            raise ValueError(f"The priority must be a positive number no greater than "
                             f"QUEUE_PRIORITY_MAX ({QUEUE_PRIORITY_MAX})")
        try:
            if timeout is None:
                _call(_mq_send_call, self._mqd, data, priority)
            else:
                _call(_mq_timedsend_call, self._mqd, data, priority, timeout)
        except OSError as e:
            raise fail(e, _MQ_SEND_ERRORS) from None

    def receive(self, timeout: float | None = None) -> tuple[bytes, int]:
        """Receive ``(message, priority)``: the oldest message of the highest priority. An
        empty queue waits as ``send`` does on a full one."""
        if timeout is not None:
            timeout = timeout_arg(timeout)
        if not self._receive_permitted:
            raise PermissionsError("The queue is not open for reading")
        try:
            got: tuple[bytes, int]
            if timeout is None:
                got = _call(_mq_receive_call, self._mqd, self._max_message_size)
            else:
                got = _call(_mq_timedreceive_call, self._mqd, self._max_message_size, timeout)
            return got
        except OSError as e:
            raise fail(e, _MQ_RECV_ERRORS) from None

    def request_notification(self, notification: Any = None) -> None:
        """Request notification of the queue becoming non-empty (while nobody waits in
        receive): by the signal ``notification`` (an int), by a call of ``function(param)``
        in a new thread (a tuple ``(function, param)``), or cancel (None). One-shot."""
        if notification is None:
            sev = None
        elif isinstance(notification, int):
            sev = _SigEvent(_c.SIGEV_SIGNAL, c_long(notification) & 0xFFFFFFFF, 0)
            if sev.sigev_signo >= 1 << 31:
                sev.sigev_signo -= 1 << 32
        elif (isinstance(notification, tuple) and len(notification) == 2
              and callable(notification[0])):
            sev = _SigEvent(_c.SIGEV_THREAD, 0, 0, self._notified)   # (in this process)
        else:
            raise ValueError("The notification must be None, an integer, or a tuple of "
                             "(function, parameter)")
        # mq_cancel_notification() first, as the real module does
        try:
            _context.call(_mq_notify, self._mqd, None)
        except OSError:
            pass
        self._drop_callback()
        if sev is None:
            return
        if sev.sigev_notify == _c.SIGEV_THREAD:
            if self._served:
                # the server tells this process's listener to run it (the callback stays
                # here): see ipcsim.remote.notify
                from ..remote import notify
                self._notifier = sev.sigev_notify_function = notify.register(self._notified)
            self._callback, self._callback_param = notification
        try:
            _context.call(_mq_notify, self._mqd, sev)
        except BaseException as e:
            self._drop_callback()
            if not isinstance(e, OSError):
                raise
            raise fail(e, {_errno.EBUSY: (BusyError, "The queue is already delivering "
                                                      "notifications elsewhere")}) from None

    def _drop_callback(self) -> None:
        self._callback = self._callback_param = None
        notifier, self._notifier = self._notifier, None
        if notifier is not None:
            from ..remote import notify
            notify.forget(notifier)

    def _notified(self, _value: int) -> None:
        """process_notification(): the callback runs once; it may request another. What it
        raises is dropped without a word, as the real module drops it."""
        callback, param = self._callback, self._callback_param
        self._callback = self._callback_param = None
        self._notifier = None
        if callback is not None:
            try:
                callback(param)
            except (_ProcessExit, _Terminated):
                raise                       # the simulation ending the thread's process
            except BaseException:           # noqa: BLE001 - as the real module does
                pass

    def close(self, *args: Any, **kw: Any) -> None:
        """Close the queue's descriptor"""
        if args or kw:
            refuse_args("MessageQueue.close", args, kw)
        try:
            _context.call(_mq_close, self._mqd)
        except OSError as e:
            raise fail(e, {_errno.EINVAL: _MQ_GONE, _errno.EBADF: _MQ_GONE}) from None
        fd, real = self._fd, self._real
        self._mqd = self._fd = -1
        self._real = False
        if real and fd is not None:
            try:
                _os.close(fd)
            except OSError:
                pass                        # (closed behind the queue's back)
        if self._notifier is not None:
            # the close removed this process's registration
            self._drop_callback()

    def unlink(self, *args: Any, **kw: Any) -> None:
        """Unlink the queue"""
        if args or kw:
            refuse_args("MessageQueue.unlink", args, kw)
        _unlink_message_queue(self._name)

    def fileno(self, *args: Any, **kw: Any) -> int:
        """Returns the queue's descriptor (same as the mqd property)."""
        if args or kw:
            refuse_args("MessageQueue.fileno", args, kw)
        return self._descriptor()

    def _descriptor(self) -> int:
        fd = self._fd
        if fd is not None:
            return fd
        # the real descriptor, at the first look (until then the queue's sends and
        # receives cost nothing for it): close-on-exec, as glibc's mq_open makes it
        from ..remote import mqops
        try:
            made: int | None = _context.call(mqops.descriptor, self._mqd)
        except OSError as e:
            raise fail(e, {_errno.EBADF: _MQ_GONE}) from None
        if made is None:                    # (no pipes for it here: the model's number)
            self._fd = self._mqd
            return self._mqd
        self._fd, self._real = made, True
        return made

    mqd = ReadOnly(_descriptor, "Message queue descriptor")

    def _attr(self) -> _MqAttr:
        try:
            attr: _MqAttr = _context.call(_mq_getattr, self._mqd)
            return attr
        except OSError as e:
            raise fail(e, {_errno.EBADF: _MQ_GONE, _errno.EINVAL: _MQ_GONE}) from None

    @property
    def block(self) -> bool:
        """block"""
        return not self._attr().mq_flags & O_NONBLOCK

    @block.setter
    def block(self, value: Any) -> None:
        try:
            _context.call(_mq_setattr, self._mqd, 0 if value else O_NONBLOCK)
        except OSError as e:
            raise fail(e, {_errno.EBADF: _MQ_GONE}) from None

    current_messages = ReadOnly(lambda self: self._attr().mq_curmsgs, "current_message_count")

    def __str__(self) -> str:
        return _c_string(self._name) or "(no name)"

    def __repr__(self) -> str:
        return (f'posix_ipc.MessageQueue("{_c_format(self._name)}", mode=0{self._mode:o}, '
                f'max_message_size={self._max_message_size}, '
                f'max_messages={self._max_messages}, read={self._receive_permitted}, '
                f'write={self._send_permitted})')


@c_args("name", keywords=False)
def unlink_message_queue(name: str) -> None:
    """Unlink a message queue"""
    _unlink_message_queue(c_str(name))


def _unlink_message_queue(name: str | None) -> None:
    try:
        _context.call(_mq_unlink, name)
    except OSError as e:
        raise fail(e, _MQ_UNLINK_ERRORS) from None


for _type in (MessageQueue, Semaphore, SharedMemory):
    like_c_type(_type, "posix_ipc")


__all__ = ["MessageQueue", "Semaphore", "SharedMemory", "unlink_message_queue",
           "unlink_semaphore", "unlink_shared_memory", "Error", "SignalError",
           "PermissionsError", "ExistentialError", "BusyError", "VERSION", "O_CREAT", "O_EXCL",
           "O_CREX", "O_TRUNC", "O_RDONLY", "O_WRONLY", "O_RDWR", "O_NONBLOCK", "PAGE_SIZE",
           "MESSAGE_QUEUES_SUPPORTED", "QUEUE_MESSAGES_MAX_DEFAULT",
           "QUEUE_MESSAGE_SIZE_MAX_DEFAULT", "QUEUE_PRIORITY_MAX", "USER_SIGNAL_MIN",
           "USER_SIGNAL_MAX", "SEMAPHORE_VALUE_MAX", "SEMAPHORE_TIMEOUT_SUPPORTED",
           "SEMAPHORE_VALUE_SUPPORTED"]
