"""A drop-in fake of the ``sysv_ipc`` package (version 1.2.0) over the ipcsim kernel model.

The whole public API is here with the real module's names, defaults, keyword arguments,
attribute types, exception classes and messages, and its mapping of each errno to an
exception: ``MessageQueue``, ``Semaphore``, ``SharedMemory``, ``attach``, ``ftok``,
``remove_message_queue``, ``remove_semaphore``, ``remove_shared_memory``, the constants and
``Error`` with its subclasses. Calls act as the process that :mod:`ipcsim.compat` chooses: a
program's own process inside a simulation, the bound process under
``ipcsim.compat.bind`` (the pytest fixture ``ipc_kernel``), or else the host process of a
real-time kernel shared by every thread.

Attached to a kernel server (:mod:`ipcsim.remote`), a ``SharedMemory`` maps the memory file
the server passes for its segment: ``read``, ``write`` and the buffer protocol (``memoryview``,
numpy) then work on that mapping, shared with every other process that attaches the segment,
with no call to the server; attaching and detaching are still calls of the model, which keeps
nattch, the times and the address space. One difference from the real module remains there:
it asks the kernel for the segment's size (IPC_STAT) at each read and write, so those fail
once the caller may no longer read the segment's attributes (its mode changed, or the caller
moved to another IPC namespace); the mapping does not ask.

``SEMAPHORE_TIMEOUT_SUPPORTED`` is False, as in the Linux wheels of sysv_ipc 1.2.0 on PyPI,
which were built without semtimedop: a timeout given to ``acquire``/``P``/``Z`` is then
ignored, as there. Set it to True to get a build with semtimedop (the timeout is honoured;
timing out raises BusyError).
"""
from __future__ import annotations

import errno as _errno
import sys as _sys
import mmap as _mmap
import os as _os
import random as _random
import warnings as _warnings
import weakref as _weakref
from typing import TYPE_CHECKING, Any, Callable

from .. import constants as _c
from ..errors import UnsupportedError as _UnsupportedError
from ..kernel.process import Process as _Process
from ..sim.executor import running as _running
from ..constants import PAGE_SIZE as _MODEL_PAGE_SIZE
from . import _context
from ._context import call as _call
from ._common import (ReadOnly, ReadOnlyMember, as_buffer_bytes, c_args, c_int, c_long,
                      c_ulong_mask, c_str, check_flags, fail,
                      install_buffer_protocol, like_c_type, open_or_create, refuse_args,
                      timeout_arg, type_name)

if TYPE_CHECKING:
    from ..kernel.msg import MsqidDs
    from ..kernel.sem import SemidDs
    from ..kernel.shm import ShmidDs
    from ._common import ErrorTable

VERSION = "1.2.0"
__version__ = VERSION
__author__ = "Philip Semanchuk"
__license__ = "BSD"
__copyright__ = "Copyright 2008 - 2026, Philip Semanchuk and contributors"

PAGE_SIZE: int = _MODEL_PAGE_SIZE
KEY_MIN: int = -(1 << 63)
KEY_MAX: int = (1 << 63) - 1
SEMAPHORE_VALUE_MAX: int = _c.SEMVMX
SEMAPHORE_TIMEOUT_SUPPORTED: bool = False
IPC_CREAT: int = _c.IPC_CREAT
IPC_EXCL: int = _c.IPC_EXCL
IPC_CREX: int = _c.IPC_CREAT | _c.IPC_EXCL
IPC_PRIVATE: int = _c.IPC_PRIVATE
SHM_RND: int = _c.SHM_RND
SHM_RDONLY: int = _c.SHM_RDONLY
SHM_HUGETLB: int = _c.SHM_HUGETLB
SHM_NORESERVE: int = _c.SHM_NORESERVE
SHM_REMAP: int = _c.SHM_REMAP

QUEUE_MESSAGE_SIZE_MAX_DEFAULT = 2048
_QUEUE_MESSAGE_SIZE_MAX = (1 << 63) - 1      # MIN(SSIZE_MAX, PY_SSIZE_T_MAX)
_SHRT_MAX = 32767


class Error(Exception):
    """The base of the module's exceptions (``sysv_ipc.Error``)."""


class InternalError(Error):
    pass


class PermissionsError(Error):
    pass


class ExistentialError(Error):
    pass


class BusyError(Error):
    pass


class NotAttachedError(Error):
    pass


for _cls in (Error, InternalError, PermissionsError, ExistentialError, BusyError,
             NotAttachedError):
    _cls.__module__ = "sysv_ipc"
    _cls.__doc__ = None


# --- helpers --------------------------------------------------------------------------------
def _key_arg(key: object) -> int | None:
    """convert_key_param(): None, or an int in [KEY_MIN, KEY_MAX], kept as a key_t (the low
    32 bits, signed)."""
    if key is None:
        return None
    if not isinstance(key, int):
        raise TypeError("Key must be an integer or None")
    if not KEY_MIN <= key <= KEY_MAX:
        raise TypeError("Key must be an integer or None")
    key &= 0xFFFFFFFF
    return key - (1 << 32) if key >= 1 << 31 else key


_rngs: "_weakref.WeakKeyDictionary[Any, _random.Random]" = _weakref.WeakKeyDictionary()


def _random_key(proc: _Process) -> int:
    """get_random_key(): 1 <= key <= SHRT_MAX - 1, from the kernel's own generator (seeded
    by the kernel's seed, so a simulation stays reproducible)."""
    kernel = proc.kernel
    rng = _rngs.get(kernel)
    if rng is None:
        rng = _rngs[kernel] = _random.Random(f"sysv_ipc keys {kernel.seed}")
    return int(rng.random() * (_SHRT_MAX - 1)) + 1


def _timespec(timeout: object) -> tuple[int, int] | None:
    """convert_timeout(), as the (tv_sec, tv_nsec) semtimedop takes."""
    value = timeout_arg(timeout)
    if value is None:
        return None
    sec = int(value // 1)
    return sec, int((value - sec) * 1_000_000_000)


def _short(value: object) -> int:
    value = c_long(value)
    if value > 32767:
        raise OverflowError("signed short integer is greater than maximum")
    if value < -32768:
        raise OverflowError("signed short integer is less than minimum")
    return value


def _perm_int(value: object, message: str) -> int:
    if not isinstance(value, int):
        raise TypeError(message)
    return c_long(value) & 0xFFFFFFFF


def _private_or_create(proc: _Process, get: Callable[..., int], key: int | None,
                       *args: Any) -> tuple[int, int]:
    """Get ``key``, or create with a random key (drawn again while it is taken)."""
    return open_or_create(proc, get, key, _random_key, *args)


def _check_flags(flags: int, key: int | None) -> None:
    check_flags(flags, key, IPC_CREAT, IPC_EXCL, "IPC", "Key")


# --- message queues -------------------------------------------------------------------------
_MQ_GONE = (ExistentialError, "The queue no longer exists")
_MQ_DENIED = (PermissionsError, "Permission denied")
_MSGGET_ERRORS = {
    _errno.EACCES: _MQ_DENIED,
    _errno.EEXIST: (ExistentialError, "A queue with the specified key already exists"),
    _errno.ENOENT: (ExistentialError, "No queue exists with the specified key"),
    _errno.ENOMEM: (MemoryError, "Not enough memory"),
    _errno.ENOSPC: (OSError, "The system limit for message queues has been reached"),
}
_MSGSND_ERRORS = {
    _errno.EACCES: _MQ_DENIED,
    _errno.EAGAIN: (BusyError, "The queue is full, or a system-wide limit on the number of "
                               "queue messages has been reached"),
    _errno.EIDRM: _MQ_GONE,
    _errno.EINTR: (Error, "Signaled while waiting"),
}
_MSGRCV_ERRORS = {
    _errno.EACCES: _MQ_DENIED,
    _errno.EIDRM: _MQ_GONE,
    _errno.EINVAL: _MQ_GONE,
    _errno.EINTR: (Error, "Signaled while waiting"),
    _errno.ENOMSG: (BusyError, "No available messages of the specified type"),
}
_MSG_STAT_ERRORS = {_errno.EIDRM: _MQ_GONE, _errno.EINVAL: _MQ_GONE,
                    _errno.EACCES: _MQ_DENIED}
_MSG_SET_ERRORS = {_errno.EACCES: _MQ_DENIED, _errno.EPERM: _MQ_DENIED,
                   _errno.EINVAL: _MQ_GONE}
_MSG_RMID_ERRORS = {_errno.EIDRM: _MQ_GONE, _errno.EINVAL: _MQ_GONE,
                    _errno.EPERM: _MQ_DENIED}


_BIG_BUFFER = 1 << 24
_IPC_NOWAIT = _c.IPC_NOWAIT
_msgsnd = _Process.msgsnd
_msgrcv = _Process.msgrcv


def _check_malloc(size: int) -> None:
    """The real module mallocs its receive buffer: MemoryError("Out of memory") where this
    machine would refuse that much (an anonymous mapping of that size, never touched)."""
    try:
        _mmap.mmap(-1, size).close()
    except (OSError, OverflowError, ValueError):
        raise MemoryError("Out of memory") from None


def _msgget(proc: _Process, key: int, flags: int) -> int:
    return proc.msgget(key, flags)


def _msgstat(proc: _Process, qid: int) -> MsqidDs:
    return proc.msgctl(qid, _c.IPC_STAT)


def _msgset(proc: _Process, qid: int, field: str, value: int) -> None:
    try:
        ds = proc.msgctl(qid, _c.IPC_STAT)
    except OSError as e:
        raise fail(e, _MSG_SET_ERRORS) from None
    if field == "msg_qbytes":
        ds.msg_qbytes = value
    else:
        setattr(ds.msg_perm, field, value)
    try:
        proc.msgctl(qid, _c.IPC_SET, ds)
    except OSError as e:
        raise fail(e, _MSG_SET_ERRORS) from None


def _msgrmid(proc: _Process, qid: int) -> None:
    proc.msgctl(qid, _c.IPC_RMID)


class MessageQueue:
    """System V message queue object"""

    __slots__ = ("_id", "_key", "_max_message_size")

    @c_args("key flags mode max_message_size", method=True)
    def __init__(self, key: int | None, flags: int = 0, mode: int = 0o600,
                 max_message_size: int = QUEUE_MESSAGE_SIZE_MAX_DEFAULT) -> None:
        key = _key_arg(key)
        flags, mode = c_int(flags), c_int(mode)
        max_message_size = c_ulong_mask(max_message_size, 4)
        if max_message_size > _QUEUE_MESSAGE_SIZE_MAX:
            raise ValueError(f"The message length must be <= {_QUEUE_MESSAGE_SIZE_MAX}\n")
        _check_flags(flags, key)
        self._key, self._id = key, -1
        self._max_message_size = max_message_size
        flags &= IPC_CREX
        mode &= 0o777
        try:
            self._key, self._id = _context.call(_private_or_create, _msgget, key, mode | flags)
        except OSError as e:
            raise fail(e, _MSGGET_ERRORS) from None

    id = ReadOnlyMember(lambda self: self._id, "Message queue id")
    key = ReadOnly(lambda self: self._key, "The key passed to the constructor.")

    def send(self, message: str | bytes, block: bool = True, type: int = 1) -> None:
        """Place a message on the queue: ``message`` (bytes, or str sent as UTF-8) with the
        message type ``type`` (> 0). A full queue blocks, or raises BusyError when
        ``block`` is false."""
        # (the common case, bytes and a C int above 0, is checked inline; the converters
        # give every other case its exception, in the real module's order)
        data = message if message.__class__ is bytes else as_buffer_bytes(message)
        if type.__class__ is not int or not 0 < type <= 0x7FFFFFFF:
            type = c_int(type)
            if type <= 0:
                raise ValueError("The type must be > 0")
        if len(data) > self._max_message_size:
            raise ValueError(f"The message length exceeds queue's max_message_size "
                             f"({self._max_message_size})")
        try:
            _call(_msgsnd, self._id, type, data, 0 if block else _IPC_NOWAIT)
        except OSError as e:
            raise fail(e, _MSGSND_ERRORS) from None

    def receive(self, block: bool = True, type: int = 0) -> tuple[bytes, int]:
        """Receive ``(message, type)``: the first message (``type`` 0), the first of that
        type (> 0), or the first of the lowest type <= -type (< 0). An empty queue blocks, or
        raises BusyError when ``block`` is false."""
        if type.__class__ is not int or not -0x80000000 <= type <= 0x7FFFFFFF:
            type = c_int(type)
        flags = 0 if block else _IPC_NOWAIT
        size = self._max_message_size
        if size >= _BIG_BUFFER:
            _check_malloc(size + 16)
        try:
            got, data = _call(_msgrcv, self._id, size, type, flags)
        except OSError as e:
            raise fail(e, _MSGRCV_ERRORS) from None
        return data, got

    def remove(self, *args: Any, **kw: Any) -> None:
        """Removes (deletes) the queue from the system"""
        if args or kw:
            refuse_args("MessageQueue.remove", args, kw)
        try:
            _context.call(_msgrmid, self._id)
        except OSError as e:
            raise fail(e, _MSG_RMID_ERRORS) from None

    def _stat(self) -> MsqidDs:
        try:
            ds: MsqidDs = _context.call(_msgstat, self._id)
            return ds
        except OSError as e:
            raise fail(e, _MSG_STAT_ERRORS) from None

    def _set(self, field: str, value: int) -> None:
        _context.call(_msgset, self._id, field, value)

    last_send_time = ReadOnly(lambda self: self._stat().msg_stime,
                              "A Unix timestamp representing the last time a message was sent.")
    last_receive_time = ReadOnly(lambda self: self._stat().msg_rtime,
                                 "A Unix timestamp representing the last time a message was "
                                 "received.")
    last_change_time = ReadOnly(lambda self: self._stat().msg_ctime,
                                "A Unix timestamp representing the last time the queue was "
                                "changed.")
    current_messages = ReadOnly(lambda self: self._stat().msg_qnum,
                                "The number of messages currently in the queue")
    last_send_pid = ReadOnly(lambda self: self._stat().msg_lspid,
                             "The id of the last process which sent via the queue")
    last_receive_pid = ReadOnly(lambda self: self._stat().msg_lrpid,
                                "The id of the last process which received from the queue")
    cuid = ReadOnly(lambda self: self._stat().msg_perm.cuid,
                    "The UID of the queue's creator. Read only.")
    cgid = ReadOnly(lambda self: self._stat().msg_perm.cgid,
                    "The GID of the queue's creator. Read only.")

    @property
    def max_size(self) -> int:
        ("The maximum size of the queue (in bytes). Read-write if you have sufficient "
         "privileges.")
        return self._stat().msg_qbytes

    @max_size.setter
    def max_size(self, value: int) -> None:
        if not isinstance(value, int):
            raise TypeError("The attribute must be an integer")
        self._set("msg_qbytes", value & 0xFFFFFFFFFFFFFFFF)

    @property
    def mode(self) -> int:
        """Permissions"""
        return self._stat().msg_perm.mode

    @mode.setter
    def mode(self, value: int) -> None:
        self._set("mode", _perm_int(value, "The attribute must be an integer"))

    @property
    def uid(self) -> int:
        """The queue's UID."""
        return self._stat().msg_perm.uid

    @uid.setter
    def uid(self, value: int) -> None:
        self._set("uid", _perm_int(value, "The attribute must be an integer"))

    @property
    def gid(self) -> int:
        """The queue's GID."""
        return self._stat().msg_perm.gid

    @gid.setter
    def gid(self, value: int) -> None:
        self._set("gid", _perm_int(value, "The attribute must be an integer"))

    def __str__(self) -> str:
        return f"Key={self._key}, id={self._id}"

    def __repr__(self) -> str:
        return f"sysv_ipc.MessageQueue({self._key})"


# --- semaphores -----------------------------------------------------------------------------
_SEM_ERRORS = {
    _errno.ENOENT: (ExistentialError, "No semaphore exists with the specified key"),
    _errno.EINVAL: (ExistentialError, "No semaphore exists with the specified key"),
    _errno.EEXIST: (ExistentialError, "A semaphore with the specified key already exists"),
    _errno.EACCES: (PermissionsError, "Permission denied"),
    _errno.ERANGE: (ValueError, "The semaphore's value must remain between 0 and SEMVMX"),
    _errno.EAGAIN: (BusyError, "The semaphore is busy"),
    _errno.EIDRM: (ExistentialError, "The semaphore was removed"),
    _errno.EINTR: (Error, "Signaled while waiting"),
    _errno.ENOMEM: (MemoryError, "Not enough memory"),
}


def _semget(proc: _Process, key: int, flags: int) -> int:
    return proc.semget(key, 1, flags)


def _sem_create(proc: _Process, key: int | None, flags: int, set_value: bool,
                value: int) -> tuple[int, int]:
    key, semid = _private_or_create(proc, _semget, key, flags)
    if set_value:
        proc.semctl(semid, 0, _c.SETVAL, value)
    return key, semid


# The one-operation list of each (sem_op, sem_flg), the same objects each time: the
# kernel's semop trusts a sembuf it checked once (and neither changes the list).
_SOPS: dict[int, list[tuple[int, int, int]]] = {}
_semop = _Process.semop
_semtimedop = _Process.semtimedop


def _sops(op: int, flg: int) -> list[tuple[int, int, int]]:
    key = op << 16 | flg
    sops = _SOPS.get(key)
    if sops is None:
        sops = _SOPS[key] = [(0, op, flg)]
    return sops


def _semctl(proc: _Process, semid: int, cmd: int, arg: Any = None) -> Any:
    return proc.semctl(semid, 0, cmd, arg)


def _semset(proc: _Process, semid: int, field: str, value: int) -> None:
    ds = proc.semctl(semid, 0, _c.IPC_STAT)
    setattr(ds.sem_perm, field, value)
    proc.semctl(semid, 0, _c.IPC_SET, ds)


class Semaphore:
    """System V semaphore object"""

    # _down, _up: the operation lists of acquire() and release() by 1 with the flags of
    # the moment (block, undo), for their hot path
    __slots__ = ("_id", "_key", "_op_flags", "_down", "_up")

    @c_args("key flags mode initial_value", method=True)
    def __init__(self, key: int | None, flags: int = 0, mode: int = 0o600,
                 initial_value: int = 0) -> None:
        key = _key_arg(key)
        flags, mode, initial_value = c_int(flags), c_int(mode), c_int(initial_value)
        _check_flags(flags, key)
        self._key, self._id = key, -1
        self._flags(0)
        flags &= IPC_CREX
        set_value = bool(flags & IPC_CREX and mode & 0o200)
        try:
            self._key, self._id = _context.call(_sem_create, key, (mode | flags) & 0xFFFFFFFF,
                                                set_value, initial_value)
        except OSError as e:
            raise fail(e, _SEM_ERRORS) from None

    id = ReadOnlyMember(lambda self: self._id, "The id assigned by the system")
    key = ReadOnly(lambda self: self._key, "The key passed to the constructor")

    def _flags(self, flags: int) -> None:
        self._op_flags = flags
        self._down, self._up = _sops(-1, flags), _sops(1, flags)

    def _op(self, delta: int, timeout: tuple[int, int] | None) -> None:
        sops = _SOPS.get(delta << 16 | self._op_flags) or _sops(delta, self._op_flags)
        try:
            if timeout is None or not SEMAPHORE_TIMEOUT_SUPPORTED:
                _call(_semop, self._id, sops)
            else:
                _call(_semtimedop, self._id, sops, timeout)
        except OSError as e:
            raise fail(e, _SEM_ERRORS) from None

    def acquire(self, timeout: float | None = None, delta: int = 1) -> None:
        """Acquire (decrement) the semaphore, waiting if necessary"""
        if timeout is None and delta.__class__ is int and delta == 1:     # the hot path
            try:
                _call(_semop, self._id, self._down)
            except OSError as e:
                raise fail(e, _SEM_ERRORS) from None
            return
        timespec = _timespec(timeout)
        delta = _short(delta)
        if not delta:
            raise ValueError("The delta must be non-zero")
        self._op(-abs(delta), timespec)

    def release(self, delta: int = 1) -> None:
        """Release (increment) the semaphore"""
        if delta.__class__ is int and delta == 1:                           # the hot path
            try:
                _call(_semop, self._id, self._up)
            except OSError as e:
                raise fail(e, _SEM_ERRORS) from None
            return
        delta = _short(delta)
        if not delta:
            raise ValueError("The delta must be non-zero")
        # abs() into a C short: release(-32768) is an operation of -32768, as there
        self._op(abs(delta) if delta != -32768 else delta, None)

    def Z(self, timeout: float | None = None) -> None:
        """Waits until zee zemaphore is zero"""
        self._op(0, _timespec(timeout))

    P = acquire
    V = release

    def remove(self, *args: Any, **kw: Any) -> None:
        """Removes (deletes) the semaphore from the system"""
        if args or kw:
            refuse_args("Semaphore.remove", args, kw)
        self._ctl(_c.IPC_RMID)

    def __enter__(self, *args: Any, **kw: Any) -> "Semaphore":
        if args or kw:
            refuse_args("Semaphore.__enter__", args, kw)
        self.acquire()
        return self

    def __exit__(self, *exc: Any, **kw: Any) -> None:
        if kw:
            refuse_args("Semaphore.__exit__", exc, kw)
        self.release()

    def _ctl(self, cmd: int, arg: Any = None) -> Any:
        try:
            return _context.call(_semctl, self._id, cmd, arg)
        except OSError as e:
            raise fail(e, _SEM_ERRORS) from None

    def _stat(self) -> SemidDs:
        ds: SemidDs = self._ctl(_c.IPC_STAT)
        return ds

    def _set(self, field: str, value: object) -> None:
        value = _perm_int(value, "The attribute must be an integer")
        try:
            _context.call(_semset, self._id, field, value)
        except OSError as e:
            raise fail(e, _SEM_ERRORS) from None

    @property
    def value(self) -> int:
        """The semaphore's current value"""
        got: int = self._ctl(_c.GETVAL)
        return got

    @value.setter
    def value(self, value: int) -> None:
        if not isinstance(value, int):
            raise TypeError("Attribute 'value' must be an integer")
        value = c_long(value)
        self._ctl(_c.SETVAL, value & 0xFFFFFFFF)

    @property
    def block(self) -> bool:
        ("When True (the default), calls to acquire/release/P/V/Z will wait (block) if the "
         "semaphore is busy")
        return not self._op_flags & _c.IPC_NOWAIT

    @block.setter
    def block(self, value: Any) -> None:
        if value:
            self._flags(self._op_flags & ~_c.IPC_NOWAIT)
        else:
            self._flags(self._op_flags | _c.IPC_NOWAIT)

    @property
    def undo(self) -> bool:
        ("When True, acquire/release operations will be undone when the process exits. "
         "Non-portable.")
        return bool(self._op_flags & _c.SEM_UNDO)

    @undo.setter
    def undo(self, value: Any) -> None:
        if value:
            self._flags(self._op_flags | _c.SEM_UNDO)
        else:
            self._flags(self._op_flags & ~_c.SEM_UNDO)

    @property
    def mode(self) -> int:
        """Permissions"""
        return self._stat().sem_perm.mode

    @mode.setter
    def mode(self, value: int) -> None:
        self._set("mode", value)

    @property
    def uid(self) -> int:
        """The semaphore's UID"""
        return self._stat().sem_perm.uid

    @uid.setter
    def uid(self, value: int) -> None:
        self._set("uid", value)

    @property
    def gid(self) -> int:
        """The semaphore's GID"""
        return self._stat().sem_perm.gid

    @gid.setter
    def gid(self, value: int) -> None:
        self._set("gid", value)

    cuid = ReadOnly(lambda self: self._ctl(_c.IPC_STAT).sem_perm.cuid,
                    "The semaphore creator's UID. Read only.")
    cgid = ReadOnly(lambda self: self._ctl(_c.IPC_STAT).sem_perm.cgid,
                    "The semaphore creator's GID. Read only.")
    last_pid = ReadOnly(lambda self: self._ctl(_c.GETPID),
                        "The id of the last process to call acquire()/release()/Z() on this "
                        "semaphore. Read only.")
    waiting_for_nonzero = ReadOnly(lambda self: self._ctl(_c.GETNCNT),
                                   "The number of processes waiting for the semaphore to "
                                   "become non-zero. Read only.")
    waiting_for_zero = ReadOnly(lambda self: self._ctl(_c.GETZCNT),
                                "The number of processes waiting for the semaphore to become "
                                "zero. Read only.")
    o_time = ReadOnly(lambda self: self._ctl(_c.IPC_STAT).sem_otime,
                      "The last time semop (acquire/release/P/V/Z) was called on this "
                      "semaphore. Initialized to zero. Read only.")

    def __str__(self) -> str:
        return f"Key={self._key}, id={self._id}"

    def __repr__(self) -> str:
        return f"sysv_ipc.Semaphore({self._key})"


# --- shared memory --------------------------------------------------------------------------
def _shm_gone(shmid: int) -> tuple[type[BaseException], str]:
    return ExistentialError, f"No shared memory with id {shmid} exists"


def _shm_stat_errors(shmid: int) -> ErrorTable:
    gone = _shm_gone(shmid)
    return {_errno.EIDRM: gone, _errno.EINVAL: gone,
            _errno.EACCES: (PermissionsError, "You do not have permission to read the shared "
                                              "memory attribute")}


_SHMAT_ERRORS = {
    _errno.EACCES: (PermissionsError, "No permission to attach"),
    _errno.ENOMEM: (MemoryError, "Not enough memory"),
    _errno.EINVAL: (ValueError, "Invalid id, address, or flags"),
}


def _shmget(proc: _Process, key: int, size: int, flags: int) -> int:
    return proc.shmget(key, size, flags)


def _shm_create(proc: _Process, key: int | None, size: int, flags: int, shmat_flags: int,
                fill: bytes | None) -> tuple[int, int, int]:
    key, shmid = _private_or_create(proc, _shmget, key, size, flags)
    try:
        address = proc.shmat(shmid, None, shmat_flags)
    except OSError as e:
        raise fail(e, _SHMAT_ERRORS) from None
    if fill is not None:
        _shm_fill(proc, shmid, address, fill)
    return key, shmid, address


def _shm_fill(proc: _Process, shmid: int, address: int, fill: bytes) -> None:
    """A new segment's memset with the init character, through the model."""
    segsz = proc.shmctl(shmid, _c.IPC_STAT).shm_segsz
    if segsz:
        proc.write_memory(address, fill * segsz)


def _shmat(proc: _Process, shmid: int, address: int | None, flags: int) -> int:
    return proc.shmat(shmid, address, flags)


def _shmdt(proc: _Process, address: int) -> None:
    proc.shmdt(address)


def _shmctl(proc: _Process, shmid: int, cmd: int, arg: Any = None) -> Any:
    return proc.shmctl(shmid, cmd, arg)


def _shm_size(proc: _Process, shmid: int) -> int:
    return proc.shmctl(shmid, _c.IPC_STAT).shm_segsz


def _shm_read(proc: _Process, shmid: int, address: int, byte_count: int, offset: int) -> bytes:
    try:
        size = proc.shmctl(shmid, _c.IPC_STAT).shm_segsz
    except OSError as e:
        raise fail(e, _shm_stat_errors(shmid)) from None
    if offset >= size:
        raise ValueError("The offset must be less than the segment size")
    if byte_count < 0:
        raise ValueError("The byte_count cannot be negative")
    if not byte_count or byte_count > size - offset:
        byte_count = size - offset
    return proc.read_memory(address + offset, byte_count)


def _shm_write(proc: _Process, shmid: int, address: int, data: bytes, offset: int) -> None:
    try:
        size = proc.shmctl(shmid, _c.IPC_STAT).shm_segsz
    except OSError as e:
        raise fail(e, _shm_stat_errors(shmid)) from None
    if offset > size or len(data) > size - offset:
        raise ValueError("Attempt to write past end of memory segment")
    if data:
        proc.write_memory(address + offset, data)


def _shm_view(proc: _Process, shmid: int, address: int) -> memoryview:
    """The attachment's memory as one buffer (the segment's pages become views of it)."""
    vma = proc.mm.find(address) if proc.mm is not None else None
    if vma is None:
        raise NotAttachedError("the segment is not attached")
    seg = vma.seg
    if seg.backing is not None:          # (its pages are views of a memory file's mapping)
        raise _UnsupportedError(f"shmid {seg.id} lives in a memory file of a kernel server: "
                                f"a client maps that file to get a buffer of it")
    npages = -(-seg.segsz // PAGE_SIZE)
    pages = seg.pages
    first = pages.get(0)
    base = first.obj if first is not None else None
    if not (isinstance(base, bytearray) and len(base) == npages * PAGE_SIZE
            and len(pages) == npages):
        buf = bytearray(npages * PAGE_SIZE)
        view = memoryview(buf)
        for index, page in pages.items():
            view[index * PAGE_SIZE:(index + 1) * PAGE_SIZE] = page
        for index in range(npages):
            pages[index] = view[index * PAGE_SIZE:(index + 1) * PAGE_SIZE]
        base = buf
    return memoryview(base)[:seg.segsz]


def _shm_set(proc: _Process, shmid: int, field: str, value: int) -> None:
    # IPC_STAT first, whose errors are the attribute reads' (EACCES: "... to read ...")
    try:
        ds = proc.shmctl(shmid, _c.IPC_STAT)
    except OSError as e:
        raise fail(e, _shm_stat_errors(shmid)) from None
    setattr(ds.shm_perm, field, value)
    try:
        proc.shmctl(shmid, _c.IPC_SET, ds)
    except OSError as e:
        raise fail(e, {_errno.EIDRM: _shm_gone(shmid), _errno.EINVAL: _shm_gone(shmid),
                       _errno.EPERM: (PermissionsError, "You do not have permission to "
                                                        "change the shared memory's "
                                                        "attributes")}) from None


def _octal(mode: int) -> str:
    """What PyErr_Format makes of ``%o`` with ``mode``: octal digits from CPython 3.12 on,
    ``%o`` itself before."""
    return f"{mode:o}" if _sys.version_info >= (3, 12) else "%o"


def _address_arg(address: object) -> int | None:
    if address is None:
        return None
    if not isinstance(address, int):
        raise TypeError("address must be a long")
    return address


# --- memory mapped here, from a kernel server ---------------------------------------------
class _Mapping:
    """This process's mapping of a segment's memory file for one attachment (attached to a
    kernel server): the segment's ``size`` bytes. ``live`` goes False when the attachment
    goes; the memory stays mapped while a buffer exported from it lives (where Linux would
    unmap it under a numpy array, and the next access would be SIGSEGV). The mapping holds
    a descriptor of the file (Python's mmap keeps a copy of the one it maps)."""

    __slots__ = ("map", "size", "live")

    def __init__(self, m: _mmap.mmap, size: int) -> None:
        self.map = m
        self.size = size
        self.live = True

    def drop(self) -> None:
        self.live = False
        try:
            self.map.close()
        except BufferError:
            pass            # (a memoryview or an array still uses it: it goes with them)


# This process's mappings, by the address of their attachment in the served model (inherited
# by a forked child, as its attachments are).
_mappings: dict[int, _Mapping] = {}
_PROT_RW = getattr(_mmap, "PROT_READ", 1) | getattr(_mmap, "PROT_WRITE", 2)
_PROT_EXEC = getattr(_mmap, "PROT_EXEC", 4)


def _served() -> bool:
    """Whether a fake call made now goes to a kernel server (as ``_context.call`` decides:
    not inside a simulation's program, not under ``bind``)."""
    if _context._remote is None:
        return False
    here = _running
    return here.task is None and here.bound is None and _context._bound is None


def _shmops() -> Any:
    from ..remote import shmops
    return shmops


def _drop_mappings(lo: int, hi: int) -> None:
    """The attachments whose mappings meet [lo, hi) are gone (a new attach there)."""
    for address in [a for a, m in _mappings.items() if a < hi and lo < a + len(m.map)]:
        _mappings.pop(address).drop()


def _map_attachment(address: int, got: tuple[int, int, int, bool] | None,
                    read_only: bool) -> _Mapping | None:
    """Map the memory file a kernel server passed for the attachment at ``address`` (with
    the access shmat gives: read-only for SHM_RDONLY, executable too for SHM_EXEC); None
    without one, or where it cannot be mapped (reads and writes then go to the server)."""
    if got is None:
        return None
    fd, length, size, executable = got
    try:
        _drop_mappings(address, address + length)
        try:
            if read_only:
                m = _mmap.mmap(fd, length, access=_mmap.ACCESS_READ)
            elif executable:
                try:
                    m = _mmap.mmap(fd, length, prot=_PROT_RW | _PROT_EXEC)
                except PermissionError:          # (a file system mounted noexec)
                    m = _mmap.mmap(fd, length, prot=_PROT_RW)
            else:
                m = _mmap.mmap(fd, length, prot=_PROT_RW)
        except (OSError, OverflowError, ValueError):
            return None
    finally:
        _os.close(fd)
    mapping = _mappings[address] = _Mapping(m, size)
    return mapping


def _fill_mapping(mapping: _Mapping, fill: bytes) -> None:
    """The real module's memset of a new segment, on this process's mapping."""
    m, size = mapping.map, mapping.size
    step = min(size, 1 << 20)
    chunk = fill * step
    for offset in range(0, size, step):
        n = min(step, size - offset)
        m[offset:offset + n] = chunk if n == step else chunk[:n]


class SharedMemory:
    """System V shared memory object"""

    __slots__ = ("_id", "_key", "_address", "_read_only", "_local")

    @c_args("key flags mode size init_character", method=True)
    def __init__(self, key: int | None, flags: int = 0, mode: int = 0o600, size: int = 0,
                 init_character: bytes = b" ") -> None:
        key = _key_arg(key)
        flags, mode = c_int(flags), c_int(mode)
        size = c_ulong_mask(size, 4)
        if not isinstance(init_character, (bytes, bytearray)) or len(init_character) != 1:
            raise TypeError(f"argument 5 must be a byte string of length 1, not "
                            f"{type_name(init_character)}")
        mode &= 0o777
        flags &= ~0o777
        _check_flags(flags, key)
        crex = flags & IPC_CREX == IPC_CREX
        if crex and not size:
            size = PAGE_SIZE
        shmat_flags = 0 if mode & 0o200 else SHM_RDONLY
        fill = bytes(init_character) if crex and not shmat_flags else None
        self._key, self._id = key, -1
        self._address = None
        self._read_only = bool(shmat_flags)
        self._local: _Mapping | None = None
        errors = {
            # (PyErr_Format knows %o from CPython 3.12 on; before, the message keeps it)
            _errno.EACCES: (PermissionsError,
                            f"Permission {_octal(mode)} cannot be granted on the existing "
                            f"segment"),
            _errno.EINVAL: (ValueError, "The size is invalid"),
            _errno.ENOMEM: (MemoryError, "Not enough memory"),
            _errno.ENOSPC: (OSError, "Not enough shared memory identifiers available (ENOSPC)"),
        }
        served = _served()
        got = None
        try:
            if served:
                self._key, self._id, self._address, got = _context.call(
                    _shmops().shm_create, key, size, (mode | flags) & 0xFFFFFFFF,
                    shmat_flags, fill)
            else:
                self._key, self._id, self._address = _context.call(
                    _shm_create, key, size, (mode | flags) & 0xFFFFFFFF, shmat_flags, fill)
        except OSError as e:
            if e.errno == _errno.EEXIST:
                raise ExistentialError(f"Shared memory with the key {key} already exists") \
                    from None
            if e.errno == _errno.ENOENT:
                raise ExistentialError(f"No shared memory exists with the key {key}") from None
            raise fail(e, errors) from None
        if served and self._address is not None:
            self._local = local = _map_attachment(self._address, got, bool(shmat_flags))
            if fill is not None and got is not None:     # (the server left the fill to us)
                if local is not None:
                    _fill_mapping(local, fill)
                else:
                    _context.call(_shm_fill, self._id, self._address, fill)

    id = ReadOnlyMember(lambda self: self._id, "The id assigned by the system")
    key = ReadOnly(lambda self: self._key, "The key passed to the constructor. Read only.")

    def attach(self, address: int | None = None, flags: int = 0) -> None:
        """Attaches the shared memory (at ``address``, or where the kernel chooses);
        SHM_RDONLY attaches it read-only."""
        address = _address_arg(address)
        flags = c_int(flags)
        self._attach(address, flags)

    def _attach(self, address: int | None, flags: int) -> None:
        if _served():
            try:
                self._address, got = _context.call(_shmops().shmat, self._id, address, flags)
            except OSError as e:
                self._address = self._local = None
                raise fail(e, _SHMAT_ERRORS) from None
            self._read_only = read_only = bool(flags & SHM_RDONLY)
            self._local = _map_attachment(self._address, got, read_only)
            return
        try:
            self._address = _context.call(_shmat, self._id, address, flags)
        except OSError as e:
            self._address = None
            raise fail(e, _SHMAT_ERRORS) from None
        self._read_only = bool(flags & SHM_RDONLY)

    def detach(self, *args: Any, **kw: Any) -> None:
        """Detaches the shared memory"""
        if args or kw:
            refuse_args("SharedMemory.detach", args, kw)
        address, self._address = self._address, None
        if address is None:
            raise NotAttachedError()
        self._local = None
        try:
            _context.call(_shmdt, address)
        except OSError as e:
            raise fail(e, {_errno.EINVAL: (NotAttachedError, None)}) from None
        finally:
            if _mappings:
                mapping = _mappings.pop(address, None)   # (whichever object mapped it)
                if mapping is not None:
                    mapping.drop()

    def read(self, byte_count: int = 0, offset: int = 0) -> bytes:
        """Read ``byte_count`` bytes (0: to the end of the segment) at ``offset``; a count
        past the end reads to the end."""
        byte_count = c_long(byte_count)
        offset = c_ulong_mask(offset, 2)
        if self._address is None:
            raise NotAttachedError("Read attempt on unattached memory segment")
        local = self._local
        if local is not None and local.live:
            size = local.size
            if offset >= size:
                raise ValueError("The offset must be less than the segment size")
            if byte_count < 0:
                raise ValueError("The byte_count cannot be negative")
            if not byte_count or byte_count > size - offset:
                byte_count = size - offset
            return local.map[offset:offset + byte_count]
        got: bytes = _context.call(_shm_read, self._id, self._address, byte_count, offset)
        return got

    def write(self, s: str | bytes, offset: int = 0) -> None:
        """Write ``s`` (bytes, or str as UTF-8) at ``offset``."""
        data = as_buffer_bytes(s)
        offset = c_ulong_mask(offset, 2)
        if self._read_only:
            raise OSError("Write attempt on read-only memory segment")
        if self._address is None:
            raise NotAttachedError("Write attempt on unattached memory segment")
        local = self._local
        if local is not None and local.live:
            size = local.size
            if offset > size or len(data) > size - offset:
                raise ValueError("Attempt to write past end of memory segment")
            local.map[offset:offset + len(data)] = data
            return
        _context.call(_shm_write, self._id, self._address, data, offset)

    def remove(self, *args: Any, **kw: Any) -> None:
        """Removes (deletes) the shared memory from the system"""
        if args or kw:
            refuse_args("SharedMemory.remove", args, kw)
        shmid = self._id
        try:
            _context.call(_shmctl, shmid, _c.IPC_RMID)
        except OSError as e:
            raise fail(e, {_errno.EIDRM: _shm_gone(shmid), _errno.EINVAL: _shm_gone(shmid),
                            _errno.EPERM: (PermissionsError, "You do not have permission to "
                                                             "remove the shared memory")}) \
                from None

    def __buffer__(self, flags: int) -> memoryview:
        """The attached segment as a writable buffer of ``size`` bytes (format 'B'), so that
        ``memoryview(mem)`` and ``bytearray(mem)`` work as with the real module."""
        if self._address is None:
            raise NotAttachedError("The segment is not attached")
        local = self._local
        if local is not None and local.live:
            view = memoryview(local.map)[:local.size]
        elif _served():
            view = self._span_view()
        else:
            view = _context.call(_shm_view, self._id, self._address)
        return view.toreadonly() if self._read_only else view

    def _span_view(self) -> memoryview:
        """A buffer over the memory at this object's address when it has no mapping of its
        own (another attach replaced it): the memory file there, mapped for this object
        (which keeps it while attached, as the memory stays while the real one is)."""
        address = self._address
        assert address is not None
        size = self._stat().shm_segsz
        old = _mappings.get(address)
        if old is not None and old.live and len(old.map) >= size:
            mapping = old                        # (the attachment now at this address)
        else:
            fd, offset = _context.call(_shmops().span, address, size)
            try:
                access = _mmap.ACCESS_READ if self._read_only else _mmap.ACCESS_WRITE
                mapping = _Mapping(_mmap.mmap(fd, size, offset=offset, access=access), size)
            finally:
                _os.close(fd)
            if old is None or not old.live:
                _mappings[address] = mapping
        self._local = mapping
        return memoryview(mapping.map)[:size]

    def __release_buffer__(self, view: memoryview) -> None:
        pass

    def _stat(self) -> ShmidDs:
        try:
            ds: ShmidDs = _context.call(_shmctl, self._id, _c.IPC_STAT)
            return ds
        except OSError as e:
            raise fail(e, _shm_stat_errors(self._id)) from None

    size = ReadOnly(lambda self: self._stat().shm_segsz,
                    "The size of the segment in bytes. Read only.")
    address = ReadOnly(lambda self: self._address or 0,
                       "The memory address of the segment. Read only.")
    attached = ReadOnly(lambda self: self._address is not None,
                        "True if the segment is attached. Read only.")
    last_attach_time = ReadOnly(lambda self: self._stat().shm_atime,
                                "The most recent time this segment was attached. Read only.")
    last_detach_time = ReadOnly(lambda self: self._stat().shm_dtime,
                                "The most recent time this segment was detached. Read only.")
    last_change_time = ReadOnly(lambda self: self._stat().shm_ctime,
                                "The time of the most recent change to this segment's uid, gid, "
                                "mode, or the time the segment was removed. Read only.")
    creator_pid = ReadOnly(lambda self: self._stat().shm_cpid,
                           "The process id of the creator. Read only.")
    last_pid = ReadOnly(lambda self: self._stat().shm_lpid,
                        "The id of the process that performed the most recent attach or "
                        "detach. Read only.")
    number_attached = ReadOnly(lambda self: self._stat().shm_nattch,
                               "The current number of attached processes. Read only.")
    cuid = ReadOnly(lambda self: self._stat().shm_perm.cuid,
                    "The UID of the segment's creator. Read only.")
    cgid = ReadOnly(lambda self: self._stat().shm_perm.cgid,
                    "The GID of the segment's creator. Read only.")

    @property
    def uid(self) -> int:
        """The segment's UID."""
        return self._stat().shm_perm.uid

    @uid.setter
    def uid(self, value: int) -> None:
        value = _perm_int(value, "Attribute 'uid' must be an integer")
        _context.call(_shm_set, self._id, "uid", value)

    @property
    def gid(self) -> int:
        """The segment's GID."""
        return self._stat().shm_perm.gid

    @gid.setter
    def gid(self, value: int) -> None:
        value = _perm_int(value, "attribute 'gid' must be an integer")
        _context.call(_shm_set, self._id, "gid", value)

    @property
    def mode(self) -> int:
        """Permissions."""
        return self._stat().shm_perm.mode

    @mode.setter
    def mode(self, value: int) -> None:
        value = _perm_int(value, "attribute 'mode' must be an integer")
        _context.call(_shm_set, self._id, "mode", value)

    def __str__(self) -> str:
        return f"Key={self._key}, id={self._id}"

    def __repr__(self) -> str:
        return f"sysv_ipc.SharedMemory({self._key})"


for _type in (MessageQueue, Semaphore, SharedMemory):
    like_c_type(_type, "sysv_ipc")
install_buffer_protocol(SharedMemory)


# --- module functions -------------------------------------------------------------------------
@c_args("id address flags")
def attach(id: int, address: int | None = None, flags: int = 0) -> SharedMemory:
    """Attaches the memory identified by the id and returns a new SharedMemory object."""
    shmid = c_int(id)
    address = _address_arg(address)
    flags = c_int(flags)
    mem = SharedMemory.__new__(SharedMemory)
    mem._id = shmid
    mem._key = 0
    mem._address = None
    mem._read_only = False
    mem._local = None
    mem._attach(address, flags)
    return mem


@c_args("path id silence_warning", required=2, converters=(c_str,))
def ftok(path: str, id: int, silence_warning: bool = False) -> int:
    """Calls ftok(). Not recommended; see sysv_ipc documentation. The path is one of the
    host's files (the model has no file system)."""
    path = c_str(path)
    proj = c_int(id)
    if not c_int(silence_warning):
        _warnings.warn("Use of ftok() is not recommended; see sysv_ipc documentation",
                       Warning, stacklevel=2)
    try:
        st = _os.stat(path)
    except OSError as e:                     # PyErr_SetFromErrno: no file name
        err = e.errno or 0
        raise OSError(err, _os.strerror(err)) from None
    key = ((proj & 0xFF) << 24 | (st.st_dev & 0xFF) << 16 | (st.st_ino & 0xFFFF))
    return key - (1 << 32) if key >= 1 << 31 else key


@c_args("id", keywords=False)
def remove_semaphore(id: int) -> None:
    """Remove (delete) the semaphore identified by id"""
    semid = c_int(id)
    try:
        _context.call(_semctl, semid, _c.IPC_RMID)
    except OSError as e:
        raise fail(e, _SEM_ERRORS) from None


@c_args("id", keywords=False)
def remove_shared_memory(id: int) -> None:
    """Remove shared memory identified by id"""
    shmid = c_int(id)
    try:
        _context.call(_shmctl, shmid, _c.IPC_RMID)
    except OSError as e:
        raise fail(e, {_errno.EIDRM: _shm_gone(shmid), _errno.EINVAL: _shm_gone(shmid),
                        _errno.EPERM: (PermissionsError, "You do not have permission to "
                                                         "remove the shared memory")}) from None


@c_args("id", keywords=False)
def remove_message_queue(id: int) -> None:
    """Remove the message queue identified by id"""
    qid = c_int(id)
    try:
        _context.call(_msgrmid, qid)
    except OSError as e:
        raise fail(e, _MSG_RMID_ERRORS) from None


__all__ = ["MessageQueue", "Semaphore", "SharedMemory", "attach", "ftok", "remove_semaphore",
           "remove_shared_memory", "remove_message_queue", "Error", "InternalError",
           "PermissionsError", "ExistentialError", "BusyError", "NotAttachedError",
           "VERSION", "PAGE_SIZE", "KEY_MIN", "KEY_MAX", "SEMAPHORE_VALUE_MAX",
           "SEMAPHORE_TIMEOUT_SUPPORTED", "IPC_CREAT", "IPC_EXCL", "IPC_CREX", "IPC_PRIVATE",
           "SHM_RND", "SHM_RDONLY", "SHM_HUGETLB", "SHM_NORESERVE", "SHM_REMAP"]
