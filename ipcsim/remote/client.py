"""A process's link to the kernel server: the fakes' calls, sent and answered.

While this process is attached (:func:`attach`, or on its own when ``IPCSIM_SERVER`` is in
the environment), every fake call that would have used the in-process host kernel goes to
the server instead and acts there as this real process: same pid, credentials read at each
call, parent known. Calls inside a simulation (programs of an ipcsim.Kernel) and under
:func:`ipcsim.compat.bind` stay in-process, as before.

Each thread has a connection of its own, made at its first call. A call that parks in the
served kernel blocks the calling thread until the server answers. In the main thread, a
signal whose Python handler runs meanwhile interrupts the call as it interrupts the real
system call (EINTR): the client asks the server to end the wait, and the fakes raise what
the real package raises. Ctrl-C ends the wait the same way, then KeyboardInterrupt goes on.

A forked child gets a model process forked from its parent's (same attachments and queue
descriptors) and connections of its own; a child started any other way (subprocess,
multiprocessing's spawn) starts as a new program, a child of its parent when the parent is
a client too.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import sys
import threading
import weakref
from typing import Any, Callable

from ..compat._context import drain_pipe as _drain
from ..compat._context import wakeup_pipe as _wakeup_pipe
from ..errors import SimulationError
from . import protocol as P

ENV = "IPCSIM_SERVER"

_HEADER_PACK = P.HEADER.pack
_dumps = pickle.dumps
_loads = pickle.loads
_PROTOCOL = P.PROTOCOL


class ServerGone(SimulationError):
    """The kernel server this process is attached to has stopped (or cannot be reached)."""


def _read_comm() -> str:
    try:
        with open("/proc/self/comm") as f:
            return f.read().strip()
    except OSError:
        return os.path.basename(sys.executable)[:15]


def _bounding_set() -> int:
    from ..compat._context import _host_capabilities
    from ..constants import CAP_FULL_SET
    return _host_capabilities().get("cap_bset", CAP_FULL_SET)


def _creds_reader() -> Callable[[], tuple[Any, ...]]:
    """What a call sends of this process's credentials, read now: ((ruid, euid, suid),
    (rgid, egid, sgid), groups, capability sets). On Linux the capability sets are capget(2)'s
    raw words (the server decodes them): cheaper to read and to compare."""
    from ..compat._context import _cap_sets, _getgroups, _getresgid, _getresuid
    capget = _raw_capget()
    if capget is None:
        def read() -> tuple[Any, ...]:
            return (_getresuid(), _getresgid(), _getgroups(), _cap_sets())
        return read

    def read_raw() -> tuple[Any, ...]:
        return (_getresuid(), _getresgid(), _getgroups(), capget())
    return read_raw


def _raw_capget() -> Callable[[], bytes] | None:
    """capget(2) of the calling thread as its 24 raw bytes (two 32-bit words each of the
    effective, permitted and inheritable sets), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    try:
        fn = ctypes.CDLL(None, use_errno=True).capget
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    fn.restype = ctypes.c_int
    buffers = threading.local()

    def capget() -> bytes:
        try:
            header, data = buffers.made
        except AttributeError:
            h = (ctypes.c_uint32 * 2)(0x20080522, 0)   # _LINUX_CAPABILITY_VERSION_3
            d = (ctypes.c_uint32 * 6)()
            header, data = buffers.made = ctypes.addressof(h), d
            buffers.keep = h
        fn(header, ctypes.addressof(data))
        return bytes(data)
    return capget


_read_creds = _creds_reader()
_MAIN = threading.main_thread().ident
SPIN = 0.00005     # seconds a caller polls for its reply before it sleeps
_getpid = os.getpid
_poll = select.poll
_POLLIN = select.POLLIN
_perf_counter = __import__("time").perf_counter
_sched_yield = getattr(os, "sched_yield", lambda: None)
_DONTWAIT_FLAG = int(getattr(socket, "MSG_DONTWAIT", 0))
_set_wakeup_fd = signal.set_wakeup_fd
_watching = False      # the main thread is in a watched call (see _exchange_watched)


def _check_signals() -> None:
    """Run the Python handlers of the signals that have arrived (PyErr_CheckSignals: the
    signal module runs it after pthread_kill, and signal 0 sends nothing)."""
    signal.pthread_kill(threading.get_ident(), 0)


def _forget_wakeup_fd() -> None:
    """Take this process's pipe off the signal module, if it is there (at detach, and in
    a forked child: the parent's pipe must not get the child's signals)."""
    from ..compat import _context
    pipe = _context._wakeup              # (this process's, or in a child its parent's)
    if pipe is None:
        return
    try:
        old = _set_wakeup_fd(-1)
    except ValueError:
        return
    if old not in (-1, pipe[1]):
        _set_wakeup_fd(old)


class Connection:
    """One thread's connection to the server."""

    __slots__ = ("remote", "sock", "reader", "creds", "closed", "busy", "awaiting",
                 "poller", "poller_pipe", "__weakref__")

    def __init__(self, remote: "Remote") -> None:
        self.remote = remote
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(remote.address)
        except OSError as e:
            sock.close()
            raise ServerGone(f"cannot reach the ipcsim kernel server at {remote.address} "
                             f"({e.strerror or e}): is `ipcsim serve` running, and is "
                             f"{ENV} right?") from None
        self.sock = sock
        self.reader = P.FrameReader(sock)
        self.closed = False
        self.busy = False          # a call is under way (a handler's call takes another)
        self.awaiting = False      # a request was sent whose reply is not read yet
        self.poller: Any = None    # poll object of the socket and the signals' pipe
        self.poller_pipe = -1
        creds = _read_creds()
        self.creds = creds
        self.request((P.OP_HELLO, os.getpid(), os.getppid(), remote.forked,
                      creds, remote.comm, remote.bset))

    # --- a call -----------------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        __tracebackhide__ = True     # (pytest: the client's frames are not the test's)
        creds = _read_creds()
        if creds == self.creds:
            body = _dumps((P.OP_CALL, fn, args, None), _PROTOCOL)
        else:
            self.creds = creds
            body = _dumps((P.OP_CALL, fn, args, creds), _PROTOCOL)
        return self._exchange(_HEADER_PACK(len(body)) + body)

    def request(self, req: tuple[Any, ...]) -> Any:
        body = _dumps(req, _PROTOCOL)
        return self._exchange(_HEADER_PACK(len(body)) + body)

    def _exchange(self, frame: bytes) -> Any:
        __tracebackhide__ = True     # (pytest: the client's frames are not the test's)
        global _watching
        self.busy = True
        try:
            if not _watching and threading.get_ident() == _MAIN and \
                    self.remote.pid == _getpid():
                # (a call a signal's handler makes in the middle of a watched one is not
                # watched itself: the pipe's bytes are the outer call's)
                _watching = True
                try:
                    status, value = self._exchange_watched(frame)
                finally:
                    _watching = False
            else:
                self.awaiting = True
                try:
                    self.sock.sendall(frame)
                except OSError as e:
                    raise self._gone(e) from None
                status, value = self._read()
                if status == P.REPLY_BLOCKED:
                    status, value = self._read()
        except BaseException:
            if self.awaiting:
                # a signal's handler raised with the reply unread: this connection is
                # out of step; the server ends the call when it goes (as an interrupt)
                self.close()
            raise
        finally:
            self.busy = False
        if status == P.REPLY_OK:
            return value
        raise value

    def _gone(self, e: OSError | None) -> ServerGone:
        self.close()
        why = f" ({e.strerror or e})" if e is not None else ""
        return ServerGone(f"the ipcsim kernel server at {self.remote.address} has gone "
                          f"away{why}: the call's outcome is unknown. Was the server "
                          f"stopped (start it again: `ipcsim serve`), or reset by a new "
                          f"test (this process belongs to the kernel before)?")

    def _read(self) -> tuple[int, Any]:
        try:
            got = self.reader.read()
        except OSError as e:
            raise self._gone(e) from None
        if got is None:
            raise self._gone(None)
        reply: tuple[int, Any] = P.decode_reply(*got)
        if reply[0] != P.REPLY_BLOCKED:
            self.awaiting = False
        return reply

    def _exchange_watched(self, frame: bytes) -> tuple[int, Any]:
        """A call of the main thread: while it waits, a signal whose Python handler runs
        ends it (OP_CANCEL), as the signal ends the real system call with EINTR. The signal
        module's wakeup descriptor tells: this process's pipe, left in place between calls
        (a byte found when a call begins came between calls, and is dropped), unless
        someone else uses it (asyncio): then the call is not watched."""
        __tracebackhide__ = True
        pipe_r, pipe_w = _wakeup_pipe()
        try:
            old = _set_wakeup_fd(pipe_w, warn_on_full_buffer=False)
        except ValueError:
            old = None                      # (a subinterpreter: no signals here)
        self.awaiting = True
        if old != -1 and old != pipe_w:
            if old is not None:
                _set_wakeup_fd(old)         # (someone else's: theirs)
            try:
                self.sock.sendall(frame)
            except OSError as e:
                raise self._gone(e) from None
            reply = self._read()
            return self._read() if reply[0] == P.REPLY_BLOCKED else reply
        poller = self.poller
        if poller is None or self.poller_pipe != pipe_r:
            poller = self.poller = _poll()
            poller.register(self.sock.fileno(), _POLLIN)
            poller.register(pipe_r, _POLLIN)
            self.poller_pipe = pipe_r
        if poller.poll(0):                  # (only the pipe can be ready now: stale bytes)
            _drain(pipe_r)
        reader = self.reader
        try:
            self.sock.sendall(frame)
        except OSError as e:
            raise self._gone(e) from None
        # Poll a moment before sleeping (yielding the CPU at each look): most replies come
        # at once, and then cost no sleep and wake-up
        spin_until = _perf_counter() + SPIN if SPIN else 0.0
        while True:
            if reader.pending():
                reply = self._read()
                if reply[0] != P.REPLY_BLOCKED:
                    return reply
                spin_until = 0.0            # parked: sleep until the server answers
                continue
            try:
                if spin_until:
                    events = poller.poll(0)
                    if not events:
                        if _perf_counter() > spin_until:
                            spin_until = 0.0
                        else:
                            _sched_yield()
                        continue
                else:
                    events = poller.poll()
            except BaseException as e:
                return self._cancelled(e)
            for fd, _ in events:
                if fd == pipe_r and _drain(pipe_r):
                    # a signal came: its Python handler runs now, not at some later
                    # bytecode (it may raise)
                    try:
                        _check_signals()
                    except BaseException as e:
                        return self._cancelled(e)
                    from ..compat._context import _handler_errors
                    _handler_errors.error = None
                    self._send_cancel()
                    return self._read_after_cancel()
            try:
                if not reader._fill(_DONTWAIT_FLAG):
                    raise self._gone(None)
            except BlockingIOError:
                pass
            except OSError as e:
                raise self._gone(e) from None

    def _send_cancel(self) -> None:
        body = _dumps((P.OP_CANCEL,), _PROTOCOL)
        try:
            self.sock.sendall(_HEADER_PACK(len(body)) + body)
        except OSError as e:
            raise self._gone(e) from None

    def _read_after_cancel(self) -> tuple[int, Any]:
        """The reply to a cancelled call (it comes at once). Ctrl-C meanwhile waits for it,
        then goes on."""
        __tracebackhide__ = True     # (pytest: the client's frames are not the test's)
        interrupted: KeyboardInterrupt | None = None
        while True:
            try:
                reply = self._read()
            except KeyboardInterrupt as e:
                interrupted = e
                continue
            if reply[0] != P.REPLY_BLOCKED:
                break
        if interrupted is not None:
            raise interrupted
        return reply

    def _cancelled(self, e: BaseException) -> tuple[int, Any]:
        """A signal's handler raised ``e`` while the call waited: the call ends (EINTR,
        or what it got first). Ctrl-C goes on at once; another exception follows the
        fakes' rules (see ``_common.fail``)."""
        __tracebackhide__ = True
        from ..compat._context import _handler_errors
        self._send_cancel()
        status, value = self._read_after_cancel()
        if isinstance(e, KeyboardInterrupt) or status == P.REPLY_OK:
            raise e
        _handler_errors.error = e
        return status, value

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __del__(self) -> None:
        # a thread that ended drops its connection: the server sees it go at once
        if not getattr(self, "closed", True):
            self.close()


class Remote:
    """This process's attachment to a server: its address and its threads' connections."""

    def __init__(self, address: str, forked: bool = False) -> None:
        self.address = address
        self.forked = forked
        self.comm = _read_comm()
        self.bset = _bounding_set()
        self.local = threading.local()
        # every connection of this process's threads (a thread's goes when the thread ends)
        self.conns: weakref.WeakSet[Connection] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def connection(self) -> Connection:
        """The calling thread's connection; while it carries a call (a signal's handler
        calls the fakes in the middle of one), another of the thread's own."""
        local = self.local
        conn: Connection | None = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = self._connect()
        if not conn.busy:
            return conn
        spares: list[Connection] = local.__dict__.setdefault("spares", [])
        for spare in spares:
            if not spare.busy and not spare.closed:
                return spare
        spares[:] = [c for c in spares if not c.closed]
        spare = self._connect()
        spares.append(spare)
        return spare

    def _connect(self) -> Connection:
        conn = Connection(self)
        self.register(conn)
        return conn

    def register(self, conn: Connection) -> None:
        """Count ``conn`` among this process's connections (closed by ``close()`` and, in a
        forked child, as the parent's)."""
        with self.lock:
            self.conns.add(conn)

    def forget(self, conn: Connection) -> None:
        with self.lock:
            self.conns.discard(conn)

    def release_thread_connection(self) -> None:
        """Close the calling thread's connection now (a thread about to end: the server
        would otherwise see it go only when the thread's locals do)."""
        local = self.local
        conn: Connection | None = getattr(local, "conn", None)
        local.conn = None
        for c in [conn, *local.__dict__.pop("spares", [])]:
            if c is not None:
                c.close()
                self.forget(c)

    def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        __tracebackhide__ = True     # (pytest: the client's frames are not the test's)
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed or conn.busy:
            conn = self.connection()
        return conn.call(fn, args)

    def request(self, req: tuple[Any, ...]) -> Any:
        return self.connection().request(req)

    def close(self) -> None:
        with self.lock:
            conns = list(self.conns)
            self.conns = weakref.WeakSet()
        for conn in conns:
            conn.close()


_remote: Remote | None = None


def attach(address: str) -> Remote:
    """Send this process's fake calls to the server at ``address`` (until :func:`detach`)."""
    global _remote
    from ..compat import _context
    detach()
    remote = Remote(address)
    _remote = remote
    _context._remote = remote
    return remote


def detach() -> None:
    """Back to the in-process host kernel; this process's connections are closed."""
    global _remote
    from ..compat import _context
    remote, _remote = _remote, None
    _context._remote = None
    if remote is not None:
        if threading.current_thread() is threading.main_thread():
            _forget_wakeup_fd()
        remote.close()


def attached() -> Remote | None:
    """This process's attachment, if any."""
    return _remote


def attach_from_environment() -> Remote | None:
    """Attach to the server named by ``IPCSIM_SERVER`` (unless attached already)."""
    if _remote is not None:
        return _remote
    address = os.environ.get(ENV)
    if not address:
        return None
    return attach(address)


# --- fork ----------------------------------------------------------------------------------
def _children_of_this_thread() -> list[int]:
    try:
        tid = threading.get_native_id()
        with open(f"/proc/self/task/{tid}/children") as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def _after_fork_in_parent() -> None:
    """Tell the server of the child at once, so that its model process is a copy of this
    one as it is now (same attachments and descriptors), whatever this one does next."""
    remote = _remote
    if remote is None or remote.pid != os.getpid():
        return
    children = _children_of_this_thread()
    if not children:
        return
    try:
        remote.request((P.OP_FORK, children[-1]))
    except Exception:
        pass                               # (the child says who it is when it calls)


def _after_fork_in_child() -> None:
    """The parent's connections are not this process's: close this copy of them; new ones
    are made at the first call, as a child forked from the parent."""
    global _remote
    from ..compat import _context
    remote = _remote
    if remote is None:
        return
    _forget_wakeup_fd()
    for conn in remote.conns:
        try:
            conn.sock.close()
        except OSError:
            pass
        conn.closed = True
    child = Remote.__new__(Remote)
    child.address = remote.address
    child.forked = True
    child.comm = remote.comm
    child.bset = remote.bset
    child.local = threading.local()
    child.conns = weakref.WeakSet()
    child.lock = threading.Lock()
    child.pid = os.getpid()
    _remote = child
    _context._remote = child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


# --- the process and the kernel, seen from a client --------------------------------------
class RemoteProcess:
    """This real process as the served kernel sees it: ``proc.unshare(...)``,
    ``proc.read_file("/proc/sysvipc/msg")``, any public call of
    :class:`ipcsim.kernel.process.Process`, run there as this process."""

    def __init__(self, remote: Remote) -> None:
        self._remote = remote

    @property
    def pid(self) -> int:
        return os.getpid()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        remote = self._remote

        def method(*args: Any, **kwargs: Any) -> Any:
            conn = remote.connection()
            return conn.request((P.OP_PROC, name, args, kwargs, _read_creds()))
        method.__name__ = name
        return method

    def __repr__(self) -> str:
        return f"<RemoteProcess {os.getpid()} of the kernel server at {self._remote.address}>"


def kernel_call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(kernel, *args)`` in the server (``fn`` one of ``ipcsim.remote.ops``')."""
    remote = _remote
    if remote is None:
        raise SimulationError("this process is not attached to a kernel server")
    return remote.request((P.OP_KCALL, fn, args))
