"""The wire between the kernel server and its clients: frames over a Unix stream socket.

A frame is a 4-byte little-endian length and a pickle. Requests are tuples whose first item
is one of the ``OP_*`` numbers; every request but ``OP_CANCEL`` gets exactly one reply, a
tuple ``(status, value)``: ``REPLY_OK`` with the call's result, ``REPLY_ERROR`` with the
exception it raised. A call that parks in the kernel first gets ``(REPLY_BLOCKED, None)``, so
that the client knows a signal may now interrupt it.

Descriptors travel beside a reply (``SCM_RIGHTS``): a value the server wraps in
:class:`PassedFd` arrives in the client as the number of its own new descriptor.

The server unpickles what clients send with :class:`RequestUnpickler`, which loads only
plain data, ipcsim's own classes and the calls the fakes make (see ``CALLABLE_MODULES``).
That keeps a confused or outdated client from running arbitrary code by accident; it is not
a security boundary against a hostile one (an ipcsim class may be built with any
arguments), which is why the server takes only peers of its own user (see
``KernelServer._allowed``).
"""
from __future__ import annotations

import io
import os
import pickle
import socket
import struct
import time
from typing import Any

OP_CALL = 1        # (OP_CALL, fn, args, creds | None): fn(process, *args) as the caller
OP_HELLO = 2       # (OP_HELLO, pid, ppid, forked, creds, comm): who this connection is
OP_FORK = 3        # (OP_FORK, child_pid): the caller forked; its child is that pid
OP_CANCEL = 4      # (OP_CANCEL,): a signal's handler ran: end the parked call (EINTR)
OP_KCALL = 5       # (OP_KCALL, fn, args): fn(kernel, *args), for tools and tests
OP_RESET = 6       # (OP_RESET,): a fresh kernel; every other client is dropped
OP_LISTEN = 7      # (OP_LISTEN,): this connection carries the process's notifications
OP_STOP = 8        # (OP_STOP,): the server ends
OP_PROC = 9        # (OP_PROC, name, args, kwargs, creds | None): process.name(*args)

REPLY_OK = 0
REPLY_ERROR = 1
REPLY_BLOCKED = 2
REPLY_EVENT = 3    # on a LISTEN connection: (REPLY_EVENT, (token, value))

HEADER = struct.Struct("<I")
MAX_FDS = 16
PROTOCOL = pickle.HIGHEST_PROTOCOL

# Where the calls a client may ask for live: module -> names (empty: every function whose
# name starts with "_", the fakes' kernel-side helpers).
CALLABLE_MODULES = frozenset({
    "ipcsim.compat.sysv_ipc", "ipcsim.compat.posix_ipc", "ipcsim.compat._devshm",
    "ipcsim.compat._common", "ipcsim.remote.ops", "ipcsim.remote.shmops",
    "ipcsim.remote.mqops",
})
SAFE_BUILTINS = frozenset({
    "bytearray", "bytes", "complex", "dict", "frozenset", "list", "range", "set", "slice",
    "tuple", "int", "float", "str", "bool",
})


class PassedFd(int):
    """A descriptor of the server's that the reply hands to the client (it gets a copy, as
    a new descriptor of its own). ``close`` says whether the server closes its own after
    sending."""

    close: bool = False
    #: set when one is made: the server looks for them in the next reply only then
    made = False

    def __new__(cls, fd: int, close: bool = False) -> "PassedFd":
        self = super().__new__(cls, fd)
        self.close = close
        PassedFd.made = True
        return self


_allowed: dict[tuple[str, str], Any] = {}     # what find_class let through, by name


class Ref:
    """A model object that stays in the server (a named semaphore, say): the client holds
    this handle and sends it back; the server puts the object in its place."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self) -> tuple[Any, ...]:
        return (Ref, (self.n,))

    def __eq__(self, other: object) -> bool:
        return type(other) is Ref and other.n == self.n

    def __hash__(self) -> int:
        return hash(("ipcsim-ref", self.n))

    def __repr__(self) -> str:
        return f"<object {self.n} of the kernel server>"


class RequestUnpickler(pickle.Unpickler):
    """Loads a client's request: plain data, classes of ipcsim, the fakes' functions."""

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        obj = _allowed.get(key)
        if obj is None:
            obj = _allowed[key] = self._find_class(module, name)
        return obj

    def _find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in SAFE_BUILTINS:
            return super().find_class(module, name)
        if module.startswith("ipcsim.") and not name.startswith("__"):
            if "." not in name:
                obj = super().find_class(module, name)
                if isinstance(obj, type) or (module in CALLABLE_MODULES and callable(obj)):
                    return obj
            elif module.startswith("ipcsim.kernel.") and name.count(".") == 1:
                # a system call of the model's processes (Process.msgsnd is MsgCalls.msgsnd)
                owner, method = name.split(".")
                if not method.startswith("_"):
                    cls = super().find_class(module, owner)
                    obj = getattr(cls, method, None) if isinstance(cls, type) else None
                    if callable(obj):
                        return obj
        raise pickle.UnpicklingError(f"{module}.{name} may not be sent to the kernel server")


def load_request(data: bytes | memoryview) -> Any:
    return RequestUnpickler(io.BytesIO(data)).load()


def encode(value: Any) -> bytes:
    """A frame: the header and the pickle of ``value``."""
    body = pickle.dumps(value, PROTOCOL)
    return HEADER.pack(len(body)) + body


def encode_with_fds(value: Any) -> tuple[bytes, list[PassedFd]]:
    """A frame whose :class:`PassedFd` values go as descriptors (by their place in the
    list that goes with it)."""
    fds: list[PassedFd] = []
    buf = io.BytesIO()

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            if type(obj) is PassedFd:
                fds.append(obj)
                return len(fds) - 1
            return None

    _Pickler(buf, PROTOCOL).dump(value)
    body = buf.getvalue()
    return HEADER.pack(len(body)) + body, fds


def decode_reply(body: bytes | memoryview, fds: list[int]) -> Any:
    """A reply's value; the descriptors that came with it stand where the server put them."""
    if not fds:
        return pickle.loads(body)

    class _Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            return fds[pid]

    return _Unpickler(io.BytesIO(body)).load()


def send_frame(sock: socket.socket, frame: bytes, fds: list[PassedFd] | None = None) -> None:
    """Send a whole frame (with descriptors, in its first bytes)."""
    if fds:
        sent = socket.send_fds(sock, [frame], [int(fd) for fd in fds])
        if sent < len(frame):
            sock.sendall(frame[sent:])
    else:
        sock.sendall(frame)


class FrameReader:
    """Reads whole frames (and the descriptors that came with them) from a socket."""

    __slots__ = ("sock", "buf", "fds", "chunk", "view")

    CHUNK = 65536

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.fds: list[int] = []
        # one buffer for every read: a fresh large one each time would cost more than
        # the read (it is mapped and unmapped)
        self.chunk = bytearray(self.CHUNK)
        self.view = memoryview(self.chunk)

    def _fill(self, flags: int = 0) -> bool:
        """Read what has come (waiting for it unless ``flags`` say not to); False at the
        end of the stream."""
        n, ancdata, _flags, _addr = self.sock.recvmsg_into(
            (self.chunk,), _ANCILLARY, flags | _CLOEXEC)
        if ancdata:
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % 4
                    self.fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
        if not n:
            return False
        self.buf += self.view[:n]
        return True

    def read(self) -> tuple[bytes, list[int]] | None:
        """The next frame's body and its descriptors; None at the end of the stream."""
        buf = self.buf
        while len(buf) < 4:
            if not self._fill():
                return None
        size = HEADER.unpack_from(buf)[0]
        while len(buf) < 4 + size:
            if not self._fill():
                return None
        body = bytes(buf[4:4 + size])
        del buf[:4 + size]
        if self.fds:
            fds, self.fds = self.fds, []
            return body, fds
        return body, _NO_FDS

    def spin(self, seconds: float) -> bool:
        """Poll for up to ``seconds`` for a whole frame (a reply that comes at once costs
        no sleep and wake-up then); whether one is buffered. Raises EOFError at the end
        of the stream."""
        deadline = _perf_counter() + seconds
        fill = self._fill
        while True:
            try:
                if not fill(_DONTWAIT):
                    raise EOFError
            except BlockingIOError:
                if _perf_counter() > deadline:
                    return False
                _sched_yield()           # (another process waiting for a CPU goes first)
                continue
            if self.pending():
                return True

    def pending(self) -> bool:
        """Whether a whole frame is already buffered."""
        buf = self.buf
        return len(buf) >= 4 and len(buf) >= 4 + HEADER.unpack_from(buf)[0]


_ANCILLARY = socket.CMSG_SPACE(MAX_FDS * 4)
_NO_FDS: list[int] = []
_DONTWAIT = int(getattr(socket, "MSG_DONTWAIT", 0))     # (ints: enum arithmetic is slow)
# descriptors that come are close-on-exec, as shm_open(3) and mq_open(3) make theirs
_CLOEXEC = int(getattr(socket, "MSG_CMSG_CLOEXEC", 0))
_perf_counter = time.perf_counter
_sched_yield = getattr(os, "sched_yield", lambda: None)
