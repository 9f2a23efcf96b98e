"""POSIX message queue descriptors that select, poll and epoll can watch, and the
kernel-side call of the fakes that gives them.

On Linux an mq descriptor is a file: ``select``/``poll``/``selectors`` report it readable
(POLLIN|POLLRDNORM) while the queue holds a message, writable (POLLOUT|POLLWRNORM) while it
has room for one, whatever the descriptor's access mode (mqueue_poll_file). A real process
using the fakes (the host kernel's process, or a client of a kernel server) gets a real
descriptor that behaves so: ``MessageQueue.mqd`` and ``fileno()``, made when first asked for
(a queue nobody watches costs nothing). Programs of a simulation keep the model's descriptor
numbers.

How: a queue whose descriptor was asked for gets a pipe of two slots (:class:`QueueReady`),
which the kernel side keeps in the state of the queue: no packet while the queue is empty,
one while it has messages and room, two while it is full (the pipe writes through a
descriptor in packet mode, O_DIRECT, so that each one-byte write fills a slot of its own).
Every descriptor handed out is an O_RDWR open of that pipe (through /proc/self/fd), which
poll reports readable while a packet waits and writable while a slot is free, with the very
bits of an mq descriptor. Only a change between empty, partly filled and full costs a system
call (a write or a read of one byte); the pipe is closed when no description of the queue
is open any more.

What differs from Linux: the descriptors are for watching. Reading or writing one takes
or adds bytes of the pipe (Linux gives the queue's status line, or EINVAL), and what it
reports is wrong from then on. F_GETFL shows O_RDWR whatever the queue's access mode (a pipe
reports both ways only when open both ways). Edge-triggered epoll (EPOLLET) sees the changes
of state only, where Linux wakes it at every send and receive; level-triggered watching
(select, poll, selectors, epoll without EPOLLET) sees exactly what Linux shows. Where the
system has no such pipes (no /proc, no F_SETPIPE_SZ, no packet mode), the fakes keep the
model's descriptor numbers.
"""
from __future__ import annotations

import errno
import os
import sys
from typing import TYPE_CHECKING

from ..kernel.mqueue import MqFile, MqueueInode, mq_sb
from . import protocol as P

if TYPE_CHECKING:
    from ..kernel.process import Process

FULL = 2                      # packets in the pipe of a full queue (and slots of the pipe)
_TOKEN = b"\0"


def _pipe_support() -> tuple[int, int] | None:
    """(F_SETPIPE_SZ, O_DIRECT) where a pipe of two slots in packet mode can be made and
    reopened through /proc; None elsewhere."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self/fd"):
        return None
    import fcntl
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    direct = getattr(os, "O_DIRECT", None)
    if setpipe is None or direct is None:
        return None
    return setpipe, direct


_SUPPORT = _pipe_support()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class QueueReady:
    """A queue's readiness pipe (a :class:`~ipcsim.kernel.mqueue.ReadyHook`): the kernel
    side's own descriptor of it, in packet mode and non-blocking, and how many packets it
    holds (0 empty, 1 neither empty nor full, 2 full)."""

    __slots__ = ("fd", "tokens")

    def __init__(self, inode: MqueueInode) -> None:
        assert _SUPPORT is not None
        import fcntl
        setpipe, direct = _SUPPORT
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            fcntl.fcntl(w, setpipe, FULL * _PAGE)
            fd = os.open(f"/proc/self/fd/{r}", os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK)
        finally:
            os.close(r)
            os.close(w)
        try:
            fcntl.fcntl(fd, fcntl.F_SETFL, direct | os.O_NONBLOCK)
        except OSError:
            os.close(fd)
            raise
        self.fd = fd
        self.tokens = 0
        self.changed(inode)

    def changed(self, inode: MqueueInode) -> None:
        """Bring the packets to the queue's state (nothing to do unless it crossed empty or
        full)."""
        n = inode.curmsgs
        want = 0 if not n else FULL if n >= inode.maxmsg else 1
        have = self.tokens
        if want == have:
            return
        fd = self.fd
        try:
            while have < want:
                os.write(fd, _TOKEN)
                have += 1
            while have > want:
                os.read(fd, 1)
                have -= 1
        except OSError:
            pass            # (the pipe was read or written through a descriptor: see above)
        self.tokens = have

    def open_descriptor(self) -> int:
        """A new descriptor of this queue for select/poll (O_RDWR, close-on-exec)."""
        return os.open(f"/proc/self/fd/{self.fd}", os.O_RDWR | os.O_CLOEXEC)

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        # (a kernel dropped with queues still open: a server's reset, say)
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except Exception:       # (at interpreter exit the os module may be half gone)
                pass
            self.fd = -1


def descriptor(proc: Process, mqd: int) -> int | None:
    """A new real descriptor (close-on-exec) for the queue of ``proc``'s mq descriptor
    ``mqd``, its pipe made on first need: the number in the kernel's own process, or, for a
    kernel server's client, a :class:`~ipcsim.remote.protocol.PassedFd` that the client
    gets as a descriptor of its own. None where the system has no such pipes. EBADF for a
    descriptor that is not an mq one; EMFILE, ENFILE when the kernel's process has no
    descriptor left."""
    file = proc.fds[mqd] if type(mqd) is int and 0 <= mqd < len(proc.fds) else None
    if type(file) is not MqFile:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    if _SUPPORT is None:
        return None
    inode = file.inode
    ready = inode.ready
    if not isinstance(ready, QueueReady):
        ready = QueueReady(inode)
        inode.ready = ready
    fd = ready.open_descriptor()
    return P.PassedFd(fd, close=True) if proc.kernel.served else fd


def queue_waiters(proc: Process, name: str) -> tuple[int, int]:
    """``(receivers, senders)``: how many wait in mq_receive and in mq_send on the queue
    ``name`` ("/something") of the caller's namespace (Linux shows it nowhere; for tests and
    tools). ENOENT if there is no such queue."""
    inode = mq_sb(proc.ipc_ns).lookup(name[1:]) if name[:1] == "/" else None
    if inode is None:
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
    return len(inode.receivers), len(inode.senders)


__all__ = ["QueueReady", "descriptor", "queue_waiters"]
