"""SIGEV_THREAD notifications of a kernel server, run in the client that asked for them.

A callback cannot travel to the server. ``MessageQueue.request_notification((function,
param))`` in a client keeps the callback in this process under a token (:func:`register`)
and registers a :class:`Notifier` carrying that token as the notification's function. When
the served kernel fires it (a message arrives in the empty queue while nobody waits in
receive), the server sends ``(token, value)`` on this process's listening connection
(``OP_LISTEN``). A daemon thread of this process, started at the first registration with a
connection of its own, reads those events and runs each callback in a new thread, as glibc
runs every SIGEV_THREAD notification in a thread of its own: the callback may call the fakes
(that thread's calls go to the server as this process), and may ask for the next
notification.

A callback runs at most once; :func:`forget` drops one whose notification was cancelled. A
forked child starts with none (a notification belongs to the process that asked for it).
When the connection ends (:func:`ipcsim.remote.detach`, a server reset or stop), the
callbacks it was waiting for are dropped: their notifications can no longer come.
"""
from __future__ import annotations

import itertools
import os
import select
import threading
from typing import TYPE_CHECKING, Any, Callable

from ..errors import SimulationError
from . import protocol as P

if TYPE_CHECKING:
    from .client import Connection, Remote

Callback = Callable[[int], object]


class Notifier:
    """The notification function a served kernel gets for a SIGEV_THREAD request: it
    stands for the callback this process registered under ``token``. Calling it (in the
    process that registered it) runs that callback once."""

    __slots__ = ("token",)

    def __init__(self, token: int) -> None:
        self.token = token

    def __call__(self, value: int) -> None:
        callback = _take(self.token)
        if callback is not None:
            callback(value)

    def __reduce__(self) -> tuple[type["Notifier"], tuple[int]]:
        return Notifier, (self.token,)

    def __repr__(self) -> str:
        return f"<Notifier {self.token}>"


class _Listener:
    """This process's listening connection and the callbacks waiting for its events."""

    POLL = 1.0        # seconds between looks at whether the connection was closed here

    def __init__(self, remote: Remote) -> None:
        from .client import Connection
        self.remote = remote
        self.callbacks: dict[int, Callback] = {}
        self.ended = False
        conn = Connection(remote)
        try:
            conn.request((P.OP_LISTEN,))
        except BaseException:
            conn.close()
            raise
        remote.register(conn)            # (closed with the others: detach, fork)
        self.conn: Connection = conn
        threading.Thread(target=self._serve, name="ipcsim-mq-listener", daemon=True).start()

    def _serve(self) -> None:
        conn = self.conn
        reader = conn.reader
        try:
            while not conn.closed:
                if not reader.pending():
                    # (a socket closed by another thread does not end a read blocked on
                    # it: look at the connection now and then)
                    try:
                        readable = select.select([conn.sock], [], [], self.POLL)[0]
                    except (OSError, ValueError):
                        break
                    if not readable or conn.closed:
                        continue
                try:
                    got = reader.read()
                except OSError:
                    break
                if got is None:
                    break
                status, value = P.decode_reply(*got)
                if status == P.REPLY_EVENT:
                    self._event(*value)
        finally:
            self._end()

    def _event(self, token: Any, value: Any) -> None:
        with _lock:
            callback = self.callbacks.pop(token, None)
        if callback is not None:
            threading.Thread(target=_run, args=(callback, value), name="ipcsim-notify",
                             daemon=True).start()

    def _end(self) -> None:
        global _listener
        with _lock:
            self.ended = True
            self.callbacks.clear()
            if _listener is self:
                _listener = None
        self.conn.close()
        self.remote.forget(self.conn)


_lock = threading.Lock()
_tokens = itertools.count(1)
_listener: _Listener | None = None


def register(callback: Callback) -> Notifier:
    """Keep ``callback`` for a notification of the kernel server this process is attached
    to; the :class:`Notifier` to register with mq_notify. The listening connection is
    made first, so that the notification cannot come before it."""
    global _listener
    from .client import attached
    remote = attached()
    if remote is None:
        raise SimulationError("this process is not attached to a kernel server")
    with _lock:
        listener = _listener
        if listener is None or listener.ended or listener.conn.closed \
                or listener.remote is not remote:
            listener = _listener = _Listener(remote)
        token = next(_tokens)
        listener.callbacks[token] = callback
    return Notifier(token)


def forget(notifier: Notifier) -> None:
    """Drop the callback of a notification that will not come (cancelled, or never
    registered)."""
    _take(notifier.token)


def _take(token: int) -> Callback | None:
    with _lock:
        listener = _listener
        return listener.callbacks.pop(token, None) if listener is not None else None


def _run(callback: Callback, value: int) -> None:
    """A notification's thread: the callback, then this thread's connection goes."""
    try:
        callback(value)
    finally:
        _release_thread_connection()


def _release_thread_connection() -> None:
    """Close the calling thread's connection to the server (it ends now)."""
    from .client import attached
    remote = attached()
    if remote is not None:
        remote.release_thread_connection()


def _forget_after_fork() -> None:
    global _listener, _lock
    _listener = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


__all__ = ["Notifier", "register", "forget"]
