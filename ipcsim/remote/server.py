"""The kernel server: one ipcsim kernel served to every OS process of a test.

A :class:`KernelServer` listens on a Unix stream socket. Each thread of a client process
talks to it over a connection of its own (see :mod:`ipcsim.remote.client`); every connection
of one real process acts as one model :class:`~ipcsim.kernel.process.Process` with the real
pid, the real parent (when the parent is a client too) and the real credentials, which the
client sends with a call whenever they changed.

The server is one thread. A call runs in a greenlet of its own; a call that must wait parks
its greenlet on the model's wait queues (:class:`ServedScheduler`) and the loop goes on
serving the other connections. A waker, a deadline on the real monotonic clock, a signal's
handler in the client (``OP_CANCEL``) or the caller's death ends the wait.

A client process that ends, however it ends (exit, ``os._exit``, SIGKILL), leaves the model
as a process leaves Linux: its SEM_UNDO adjustments are applied, its shared memory detached,
its descriptors closed, its namespace reference dropped. The server watches each client
process through a pidfd (or, where there are none, by polling its pid).
"""
from __future__ import annotations

import errno
import heapq
import itertools
import os
import pickle
import random
import selectors
import socket
import struct
import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Sequence

from greenlet import greenlet, GreenletExit

from ..constants import CAP_FULL_SET, PID_MAX_LIMIT
from ..errors import SimulationError
from ..kernel.creds import Creds
from ..kernel.kernel import Kernel
from ..kernel.process import Process
from ..kernel.waitq import KILLED, SIGNAL, TIMEOUT, Waiter
from ..sim.clock import NS
from ..sim.scheduler import Scheduler
from ..compat._context import RealClock
from ..compat._devshm import ShmNode
from . import protocol as P

if TYPE_CHECKING:
    from ..kernel.mqueue import SigInfo
    from ..sim.scheduler import Task

SPIN = 0.0002      # seconds the server polls before it sleeps (see serve_forever)
IDLE_WORKERS = 64  # greenlets kept for the next calls
POLL_INTERVAL = 0.2     # seconds between liveness checks where there are no pidfds
_has_pidfd = hasattr(os, "pidfd_open")
_PassedFd = P.PassedFd
_unpack_header = P.HEADER.unpack_from
# the errors calls raise most (EAGAIN, ENOMSG, EINTR...): they pickle as they are
_PLAIN_ERRORS = frozenset({OSError, BlockingIOError, InterruptedError, PermissionError,
                           FileNotFoundError, FileExistsError, ProcessLookupError})
_Ref = P.Ref
_BY_REFERENCE = (ShmNode,)     # what stays in the server: clients get handles
_BLOCKED_FRAME = P.encode((P.REPLY_BLOCKED, None))


class _Timer:
    """A deadline of a parked call (what ``Scheduler._cancel`` cancels)."""

    __slots__ = ("waiter", "cancelled")

    def __init__(self, waiter: Waiter) -> None:
        self.waiter = waiter
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: "_Timer") -> bool:        # (ties in the heap)
        return id(self) < id(other)


class ServedScheduler(Scheduler):
    """Blocking for the served kernel: a waiting call parks its greenlet; the server's loop
    resumes it when a waker, its deadline, a cancel or its caller's death ends the wait."""

    server: "KernelServer"

    def __init__(self, kernel: Kernel, seed: int, epoch: int, policy: str = "random",
                 executor: str | None = None) -> None:
        super().__init__(kernel, seed, epoch, policy, "threads")
        self.clock = RealClock(self)

    def block(self, w: Waiter, deadline: int | None = None) -> int:
        server = self.server
        conn = server.current
        if conn is None:
            raise SimulationError("the served kernel blocks only in a client's call")
        if deadline is not None:
            if deadline <= self.clock.now_ns():
                self._cancel(w)
                w.reason = TIMEOUT
                return TIMEOUT
            w.timer = server.add_timer(deadline, w)    # type: ignore[assignment]
        w.task = conn                                   # type: ignore[assignment]
        conn.waiter = w
        proc = w.process
        # the caller may be polling for its reply: it can sleep now, and leave the CPU to
        # the process that will wake it
        server.reply(conn, _BLOCKED_FRAME)
        hub = server.hub
        try:
            while w.reason is None:
                hub.switch()
        finally:
            server.current = conn
            conn.waiter = None
            w.task = None
            if proc is not None and getattr(proc, "waiter", None) is w:
                proc.waiter = None
        return w.reason

    def unblock(self, w: Waiter, reason: int, result: object = None) -> bool:
        if w.reason is not None:
            return False
        w.reason = reason
        w.result = result
        self._cancel(w)
        conn = w.task
        if conn is not None:
            self.server.ready.append(conn)             # type: ignore[arg-type]
        return True

    def add_thread(self, task: Task) -> None:
        """A SIGEV_THREAD notification: its owner's client runs it (see OP_LISTEN)."""
        self.server.notify_thread(task)


class ServedKernel(Kernel):
    """The kernel a server serves: real clock, processes that are real OS processes."""

    _scheduler_class = ServedScheduler
    sched: ServedScheduler
    served = True

    def __init__(self, server: "KernelServer", seed: int | None = None) -> None:
        super().__init__(seed=random.SystemRandom().randrange(1 << 32) if seed is None
                         else seed, pid_max=PID_MAX_LIMIT)
        self.sched.server = server
        self.server = server

    def _copy_process(self, parent: Process, flags: int,
                      target: Callable[..., object] | None, args: Sequence[Any]) -> Process:
        if target is not None:
            raise SimulationError("the served kernel runs no programs: its processes are "
                                  "real ones (fork them with os.fork)")
        return super()._copy_process(parent, flags, target, args)

    def _send_signal(self, t: Process, sig: int, info: SigInfo | None = None) -> None:
        if t.pid in self.server.clients:
            self.server.pending_signals.append((t.pid, sig))    # the real process gets it
            return
        super()._send_signal(t, sig, info)

    def make_process(self, parent: Process, pid: int) -> Process:
        """A child of ``parent`` with the pid ``pid`` (a real process's)."""
        stale = self._procs.get(pid)
        if stale is not None:
            self._bury(stale)
        self._last_pid = pid - 1
        child = self._copy_process(parent, 17, None, ())        # SIGCHLD
        if child.pid != pid:
            raise SimulationError(f"pid {pid} is taken in the served kernel")
        return child

    def _bury(self, proc: Process) -> None:
        """A process that ended: exit (if it had not) and reaped."""
        if proc.alive:
            self._exit_process(proc, 0)
        if self._procs.get(proc.pid) is proc and not proc.alive:
            parent = proc.parent
            if parent is not None and proc.pid in parent.children:
                self._reap(proc)
            else:
                self._procs.pop(proc.pid, None)


class Conn:
    """One connection: one thread of a client process."""

    __slots__ = ("sock", "buf", "client", "greenlet", "waiter", "closed", "listening")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.client: Client | None = None
        self.greenlet: greenlet | None = None
        self.waiter: Waiter | None = None
        self.closed = False
        self.listening = False


class Client:
    """One real process: its model process and its connections."""

    __slots__ = ("pid", "proc", "conns", "pidfd", "listener", "bset", "forked_unseen")

    def __init__(self, pid: int, proc: Process) -> None:
        self.pid = pid
        self.forked_unseen = False   # made at its parent's fork; not heard from itself yet
        self.proc = proc
        self.conns: list[Conn] = []
        self.pidfd: int | None = None
        self.listener: Conn | None = None
        self.bset = CAP_FULL_SET


def apply_creds(client: Client, creds: tuple[Any, ...]) -> None:
    """The credentials a client read of itself: ((ruid, euid, suid), (rgid, egid, sgid),
    groups, capability sets), the sets as capget(2)'s 24 raw bytes or as (effective,
    permitted, inheritable)."""
    c = Creds.__new__(Creds)
    (c.uid, c.euid, c.suid), (c.gid, c.egid, c.sgid), groups, caps = creds
    c.fsuid, c.fsgid = c.euid, c.egid
    c.groups = tuple(sorted(set(groups)))
    if type(caps) is bytes:
        w = struct.unpack("6I", caps)
        caps = (w[0] | w[3] << 32, w[1] | w[4] << 32, w[2] | w[5] << 32)
    c.cap_effective, c.cap_permitted, c.cap_inheritable = (
        caps[0] & CAP_FULL_SET, caps[1] & CAP_FULL_SET, caps[2] & CAP_FULL_SET)
    c.cap_bset = client.bset
    c._user_ns = None              # (the initial user namespace: a client's are not modelled)
    client.proc.creds = c


def _picklable(e: BaseException) -> BaseException:
    """``e`` if it survives pickling, else a RuntimeError that names it."""
    if type(e) in _PLAIN_ERRORS:
        return e
    try:
        pickle.loads(pickle.dumps(e, P.PROTOCOL))
        return e
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")


class KernelServer:
    """Serves one :class:`ServedKernel` on the Unix socket ``path``."""

    def __init__(self, path: str, *, seed: int | None = None) -> None:
        self.path = path
        self.seed = seed
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        os.chmod(path, 0o666)            # (who may connect is checked at accept)
        self.listener.listen(128)
        self.sel.register(self.listener, selectors.EVENT_READ, self._accept)
        self.hub: greenlet = greenlet.getcurrent()
        self.ready: deque[Conn] = deque()
        self.current: Conn | None = None
        self.timers: list[tuple[int, _Timer]] = []
        self.clients: dict[int, Client] = {}
        self.conns: set[Conn] = set()
        self.pending_signals: list[tuple[int, int]] = []
        self.stopping = False
        self.uid = os.geteuid() if hasattr(os, "geteuid") else 0
        self.kernel = ServedKernel(self, seed)
        self._next_poll = 0.0
        self.idle: list[greenlet] = []     # greenlets waiting for a call to run
        self.refs: list[Any] = []          # model objects clients hold handles of
        self.retired: dict[int, int | None] = {}   # pid -> start time, before a reset
        self.ref_numbers: dict[int, int] = {}
        self.spin = float(os.environ.get("IPCSIM_SERVER_SPIN", SPIN))
        self._chunk = bytearray(65536)   # (one buffer for every read)
        self._view = memoryview(self._chunk)

    # --- the loop --------------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Serve until a client sends OP_STOP (or ``stop()`` is called from a handler)."""
        self.hub = greenlet.getcurrent()
        select = self.sel.select
        spin = self.spin
        sched_yield = getattr(os, "sched_yield", lambda: None)
        perf_counter = time.perf_counter
        idle_since = perf_counter()
        try:
            while not self.stopping:
                if self.ready:
                    self._run_ready()
                # Busy for a moment after each request: a client's next request (the
                # other half of a pair) then finds the server awake instead of waking it
                events = select(0)
                if events:
                    idle_since = 0.0
                elif not idle_since:
                    idle_since = perf_counter()
                elif perf_counter() - idle_since > spin:
                    events = select(self._timeout(self.kernel.clock.now_ns()))
                    idle_since = 0.0
                else:
                    sched_yield()                # (a client waiting for a CPU goes first)
                for key, _mask in events:
                    try:
                        key.data(key.fileobj)
                    except Exception as e:       # (a bug must not end every client's kernel)
                        _report(e)
                if self.timers:
                    self._fire_timers(self.kernel.clock.now_ns())
                if not _has_pidfd:
                    self._poll_clients()
        finally:
            self.close()

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        for conn in list(self.conns):
            self._close_conn(conn)
        for client in self.clients.values():
            if client.pidfd is not None:
                os.close(client.pidfd)
        self.clients.clear()
        self.sel.close()
        self.listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _timeout(self, now: int) -> float | None:
        if self.ready or self.pending_signals:
            return 0
        timeout: float | None = None
        if self.timers:
            timeout = max(0.0, (self.timers[0][0] - now) / NS)
        if not _has_pidfd and self.clients:
            timeout = POLL_INTERVAL if timeout is None else min(timeout, POLL_INTERVAL)
        return timeout

    def _run_ready(self) -> None:
        ready = self.ready
        while ready:
            conn = ready.popleft()
            g = conn.greenlet
            if g is None or g.dead or conn.waiter is None:
                continue
            self.current = conn
            g.switch()
        self.current = None
        self._flush_signals()

    def add_timer(self, deadline: int, w: Waiter) -> _Timer:
        timer = _Timer(w)
        heapq.heappush(self.timers, (deadline, timer))
        return timer

    def _fire_timers(self, now: int) -> None:
        timers = self.timers
        sched = self.kernel.sched
        while timers and timers[0][0] <= now:
            _deadline, timer = heapq.heappop(timers)
            if not timer.cancelled:
                timer.waiter.timer = None
                sched.unblock(timer.waiter, TIMEOUT)
        if self.ready:
            self._run_ready()

    def _flush_signals(self) -> None:
        signals, self.pending_signals = self.pending_signals, []
        for pid, sig in signals:
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    # --- connections ---------------------------------------------------------------------
    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        if not self._allowed(sock):
            sock.close()
            return
        conn = Conn(sock)
        self.conns.add(conn)
        self.sel.register(sock, selectors.EVENT_READ, lambda s, c=conn: self._readable(c))

    def _allowed(self, sock: socket.socket) -> bool:
        """A peer of the server's own user, or a process whose real uid is the server's
        (a client that changed its effective uid, as tests that drop privileges do)."""
        if not hasattr(socket, "SO_PEERCRED"):
            return True
        pid, uid, _gid = struct.unpack("3i", sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        if uid == self.uid or _real_uid(pid) == self.uid:
            return True
        # a client's own process or child that dropped its privileges for good (setuid)
        return pid in self.clients or _parent_pid(pid) in self.clients

    def _readable(self, conn: Conn) -> None:
        try:
            n = conn.sock.recv_into(self._chunk)
        except OSError:
            n = 0
        if not n:
            self._lost(conn)
            return
        buf = conn.buf
        if not buf and n >= 4:
            # the usual case: one whole request in one read, parsed where it lies
            size = _unpack_header(self._chunk)[0]
            if n == 4 + size:
                self._request(conn, bytes(self._view[4:n]))
                return
        buf += self._view[:n]
        while len(buf) >= 4:
            size = P.HEADER.unpack_from(buf)[0]
            if len(buf) < 4 + size:
                break
            body = bytes(buf[4:4 + size])
            del buf[:4 + size]
            self._request(conn, body)
            if conn.closed:
                return

    def reply(self, conn: Conn, value: Any) -> None:
        """Send ``value`` to the client (dropped when it is gone). Descriptors it passes
        and the server need not keep are closed here, sent or not."""
        if conn.closed:
            if _PassedFd.made and value is not _BLOCKED_FRAME:
                _close_passed(value)
            return
        try:
            if value is _BLOCKED_FRAME:
                conn.sock.sendall(value)
            elif _PassedFd.made and value[0] == P.REPLY_OK and _has_passed_fd(value[1]):
                _PassedFd.made = False
                try:
                    frame, fds = P.encode_with_fds(value)
                    P.send_frame(conn.sock, frame, fds)
                finally:
                    _close_passed(value)
            else:
                try:
                    body = pickle.dumps(value, P.PROTOCOL)
                except Exception as e:          # (a result that cannot travel)
                    body = pickle.dumps((P.REPLY_ERROR, SimulationError(
                        f"the result of the call cannot be sent to the client: {e}")),
                        P.PROTOCOL)
                conn.sock.sendall(P.HEADER.pack(len(body)) + body)
        except OSError:
            self._lost(conn)

    # --- requests ------------------------------------------------------------------------
    def _request(self, conn: Conn, body: bytes) -> None:
        try:
            req = P.load_request(body)
            op = req[0]
        except Exception as e:
            self.reply(conn, (P.REPLY_ERROR, _picklable(
                SimulationError(f"the kernel server could not read a request: {e}"))))
            return
        if op == P.OP_CANCEL:
            w = conn.waiter
            if w is not None and w.reason is None:
                self.kernel.sched.unblock(w, SIGNAL)
            return
        if conn.greenlet is not None:
            self.reply(conn, (P.REPLY_ERROR, SimulationError(
                "a connection sent a request while its call was still running")))
            return
        client = conn.client
        if op == P.OP_CALL:
            if client is None:
                self.reply(conn, (P.REPLY_ERROR, SimulationError("OP_HELLO must come first")))
                return
            if req[3] is not None:
                apply_creds(client, req[3])
            args = req[2]
            for a in args:
                if type(a) is _Ref:
                    try:
                        args = self._resolve(args)
                    except SimulationError as e:
                        self.reply(conn, (P.REPLY_ERROR, e))
                        return
                    break
            self._start(conn, req[1], args)
        elif op == P.OP_PROC:
            if client is None:
                self.reply(conn, (P.REPLY_ERROR, SimulationError("OP_HELLO must come first")))
                return
            if req[4] is not None:
                apply_creds(client, req[4])
            self._start(conn, _process_method, (req[1], req[2], req[3]))
        elif op == P.OP_HELLO:
            self._hello(conn, *req[1:])
        elif op == P.OP_FORK:
            if client is not None:
                self._run(conn, lambda: self._forked(req[1], client.pid))
        elif op == P.OP_KCALL:
            fn, args = req[1], req[2]
            self._run(conn, lambda: fn(self.kernel, *args))
        elif op == P.OP_RESET:
            self._reset(conn, req[1] if len(req) > 1 else None,
                        req[2] if len(req) > 2 else None)
        elif op == P.OP_LISTEN:
            if client is None:
                self.reply(conn, (P.REPLY_ERROR, SimulationError("OP_HELLO must come first")))
                return
            conn.listening = True
            client.listener = conn
            self.reply(conn, (P.REPLY_OK, None))
        elif op == P.OP_STOP:
            self.reply(conn, (P.REPLY_OK, None))
            self.stopping = True
        else:
            self.reply(conn, (P.REPLY_ERROR, SimulationError(f"unknown request {op!r}")))

    def _run(self, conn: Conn, fn: Callable[[], Any]) -> None:
        """A request that does not block: its result or its exception."""
        try:
            value = (P.REPLY_OK, fn())
        except Exception as e:
            value = (P.REPLY_ERROR, _picklable(e))
        self.reply(conn, value)

    def _start(self, conn: Conn, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        idle = self.idle
        g = idle.pop() if idle else greenlet(self._worker, self.hub)
        conn.greenlet = g
        self.current = conn
        try:
            g.switch(conn, fn, args)
        finally:
            self.current = None
        if self.ready:
            self._run_ready()
        elif self.pending_signals:
            self._flush_signals()

    def _worker(self, conn: Conn, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """A greenlet that runs calls one after another (making one per call costs more
        than the call): between calls it waits in the pool of idle ones."""
        idle = self.idle
        while True:
            self._call_body(conn, fn, args)
            if len(idle) >= IDLE_WORKERS:
                return
            idle.append(greenlet.getcurrent())
            conn, fn, args = self.hub.switch()

    def _call_body(self, conn: Conn, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        client = conn.client
        assert client is not None
        try:
            value = (P.REPLY_OK, fn(client.proc, *args))
        except GreenletExit:
            conn.greenlet = None
            return
        except BaseException as e:
            value = (P.REPLY_ERROR, _picklable(e))
        conn.greenlet = None
        if self.pending_signals:
            # a signal the call raised for its own caller (an mq notification, say)
            # arrives before the call returns, as Linux delivers it on the way out
            self._flush_signals()
        result = value[1]
        if isinstance(result, _BY_REFERENCE) or (type(result) is tuple and any(
                isinstance(v, _BY_REFERENCE) for v in result)):
            value = (value[0], self._refer(result))
        self.reply(conn, value)

    def _refer(self, value: Any) -> Any:
        """``value`` with the model objects that stay here replaced by handles (one per
        object, made on first sight, kept until the kernel is reset)."""
        if isinstance(value, _BY_REFERENCE):
            n = self.ref_numbers.get(id(value))
            if n is None:
                n = self.ref_numbers[id(value)] = len(self.refs)
                self.refs.append(value)
            return _Ref(n)
        if type(value) is tuple:
            return tuple(self._refer(v) for v in value)
        return value

    def _resolve(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        refs = self.refs
        out = []
        for a in args:
            if type(a) is _Ref:
                if not 0 <= a.n < len(refs):
                    raise SimulationError(f"{a!r} is not an object of this kernel (was the "
                                          f"server reset since it was made?)")
                a = refs[a.n]
            out.append(a)
        return tuple(out)

    # --- processes -----------------------------------------------------------------------
    def _hello(self, conn: Conn, pid: int, ppid: int, forked: bool, creds: tuple[Any, ...],
               comm: str, bset: int = CAP_FULL_SET) -> None:
        try:
            client = self._client(pid, ppid, forked)
        except Exception as e:
            self.reply(conn, (P.REPLY_ERROR, _picklable(e)))
            return
        if client.forked_unseen and not forked:
            # registered at its fork, and now a fresh interpreter says hello: it has
            # exec'd (its inherited attachments and descriptors went with the old image)
            _exec(client.proc)
        client.forked_unseen = False
        conn.client = client
        client.conns.append(conn)
        client.bset = bset & CAP_FULL_SET
        if creds is not None:
            apply_creds(client, creds)
        if comm:
            client.proc.comm = comm[:15]
        self.reply(conn, (P.REPLY_OK, {"pid": pid, "server": os.getpid()}))

    def _client(self, pid: int, ppid: int, forked: bool) -> Client:
        """The client for the real process ``pid``, made on first sight: a fork of its
        parent's model process when it was forked from a client (same attachments,
        descriptors, namespace), else a new program in its parent's namespace (or init's).
        A process of a kernel that was reset since, or its child, is refused."""
        client = self.clients.get(pid)
        if client is not None:
            return client
        for old in (pid, ppid):
            if old in self.retired:
                if self.retired[old] == _start_time(old):
                    raise SimulationError(
                        f"process {pid} belongs to the kernel this server had before it "
                        f"was reset (a test's process still running?): it may not act in "
                        f"the fresh one")
                del self.retired[old]
        parent_client = self.clients.get(ppid)
        kernel = self.kernel
        parent = parent_client.proc if parent_client is not None else kernel.init
        proc = kernel.make_process(parent, pid)
        if not forked or parent_client is None:
            _exec(proc)
        client = Client(pid, proc)
        self.clients[pid] = client
        self._watch(client)
        return client

    def _forked(self, pid: int, ppid: int) -> None:
        """A client forked the real process ``pid``: its model process, a copy of the
        parent's as it is now."""
        known = pid in self.clients
        client = self._client(pid, ppid, True)
        if not known:
            client.forked_unseen = True

    def _watch(self, client: Client) -> None:
        if not _has_pidfd:
            return
        try:
            fd = os.pidfd_open(client.pid)
        except OSError:                     # it has ended already
            self._gone(client)
            return
        client.pidfd = fd
        self.sel.register(fd, selectors.EVENT_READ, lambda _fd, c=client: self._gone(c))

    def _poll_clients(self) -> None:
        now = self.kernel.clock.now()
        if now < self._next_poll:
            return
        self._next_poll = now + POLL_INTERVAL
        for client in list(self.clients.values()):
            try:
                os.kill(client.pid, 0)
            except ProcessLookupError:
                self._gone(client)
            except OSError:
                pass

    def _gone(self, client: Client) -> None:
        """The real process ended: its calls end, and it leaves the model as at exit."""
        if self.clients.get(client.pid) is not client:
            return
        del self.clients[client.pid]
        if client.pidfd is not None:
            try:
                self.sel.unregister(client.pidfd)
            except (KeyError, ValueError):
                pass
            os.close(client.pidfd)
            client.pidfd = None
        sched = self.kernel.sched
        for conn in list(client.conns):
            self._close_conn(conn)
            w = conn.waiter
            if w is not None:
                sched.unblock(w, KILLED)
        self._run_ready()
        self.kernel._bury(client.proc)
        self._run_ready()

    def _lost(self, conn: Conn) -> None:
        """A connection ended (its thread or process ended, or the client let it go). A
        call still parked ends as if interrupted; when the process itself is gone, it
        leaves the model."""
        if conn.closed:
            return
        self._close_conn(conn)
        w = conn.waiter
        if w is not None:
            self.kernel.sched.unblock(w, SIGNAL)
            self._run_ready()
        client = conn.client
        if client is not None and not client.conns and not _alive(client.pid):
            self._gone(client)

    def _close_conn(self, conn: Conn) -> None:
        if conn.closed:
            return
        conn.closed = True
        self.conns.discard(conn)
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        client = conn.client
        if client is not None:
            if conn in client.conns:
                client.conns.remove(conn)
            if client.listener is conn:
                client.listener = None

    def _reset(self, conn: Conn, seed: int | None, asker: int | None = None) -> None:
        """A fresh kernel: every client but the asking process (this connection's, or the
        pid the request names) is forgotten: their connections are closed, and they may not
        come back (their calls would act in a kernel they were never part of)."""
        keep = conn.client.pid if conn.client is not None else asker
        for other in list(self.conns):
            if other is not conn and (other.client is None or other.client.pid != keep):
                self._close_conn(other)
        for client in list(self.clients.values()):
            if client.pidfd is not None:
                try:
                    self.sel.unregister(client.pidfd)
                except (KeyError, ValueError):
                    pass
                os.close(client.pidfd)
            if client.pid != keep:
                # a process of the kernel before (a test's child still running): it may
                # not come back into the fresh one
                self.retired[client.pid] = _start_time(client.pid)
        self.clients.clear()
        self.ready.clear()
        self.timers.clear()
        try:
            self.kernel.close()
        except Exception:
            pass
        self.kernel = ServedKernel(self, seed if seed is not None else self.seed)
        self.refs.clear()
        self.ref_numbers.clear()
        mine = [c for c in self.conns if c.client is not None and c.client.pid == keep]
        conn.client = None
        for c in mine:
            c.client = None
        self.reply(conn, (P.REPLY_OK, None))

    def notify_thread(self, task: Task) -> None:
        """A SIGEV_THREAD notification for a client: sent on its OP_LISTEN connection as
        ``(token, value)`` (the client's notification thread runs its callback)."""
        proc = getattr(task.process, "owner", task.process)
        client = self.clients.get(getattr(proc, "pid", -1))
        if client is None or client.listener is None:
            return
        token = getattr(task.fn, "token", None)
        self.reply(client.listener, (P.REPLY_EVENT, (token, task.args[0] if task.args
                                                      else 0)))


def _report(e: BaseException) -> None:
    """An error of the server's own (not of a call, whose errors go to its caller)."""
    import traceback
    sys.stderr.write("ipcsim kernel server: internal error (the server goes on):\n")
    traceback.print_exception(e, file=sys.stderr)


def _process_method(proc: Process, name: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
    """A public method of the caller's model process (``RemoteProcess``'s calls)."""
    if not isinstance(name, str) or name.startswith("_"):
        raise AttributeError(f"no public process call {name!r}")
    method = getattr(proc, name)
    if not callable(method):
        return method
    return method(*args, **kwargs)


def _exec(proc: Process) -> None:
    """What exec leaves of a forked model process: no attachments, no queue descriptors
    beyond the standard three."""
    from ..kernel import shm
    shm.exit_mm(proc)
    for fd in range(len(proc.fds) - 1, 2, -1):
        if proc.fds[fd] is not None:
            proc._close(fd)


def _close_passed(value: Any) -> None:
    """Close the descriptors in a reply that the server does not keep."""
    if type(value) is P.PassedFd:
        if value.close:
            try:
                os.close(value)
            except OSError:
                pass
    elif type(value) is tuple:
        for v in value:
            _close_passed(v)


def _has_passed_fd(value: Any) -> bool:
    if type(value) is P.PassedFd:
        return True
    if type(value) is tuple:
        return any(_has_passed_fd(v) for v in value)
    return False


def _stat_field(pid: int, index: int) -> str | None:
    """Field ``index`` of /proc/PID/stat after the command name (0: the state, 1: the
    parent's pid, 19: the start time), or None where there is none to read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[index]
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return _stat_field(pid, 0) != "Z"          # (a zombie has ended too)


def _parent_pid(pid: int) -> int | None:
    field = _stat_field(pid, 1)
    return int(field) if field is not None else None


def _start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot): tells a process from a later one that
    got its pid again."""
    field = _stat_field(pid, 19)
    return int(field) if field is not None else None


def _real_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def serve(path: str, *, seed: int | None = None, ready: Callable[[], None] | None = None
          ) -> None:
    """Serve a fresh kernel on ``path`` until stopped."""
    server = KernelServer(path, seed=seed)
    if ready is not None:
        ready()
    server.serve_forever()
