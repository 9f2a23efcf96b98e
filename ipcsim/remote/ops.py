"""Kernel-side calls that clients of the kernel server may ask for by name (besides the
fakes' own): each takes the caller's model process (``OP_CALL``) or the kernel
(``OP_KCALL``) first."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..kernel.kernel import Kernel


def processes(kernel: Kernel) -> list[tuple[int, int, str]]:
    """(pid, parent pid, comm) of every live process of the served kernel, by pid."""
    return [(p.pid, p.parent.pid if p.parent is not None else 0, p.comm)
            for p in kernel.processes()]


def read_file(kernel: Kernel, path: str) -> str:
    """A file of the served kernel's /proc as init reads it (``/proc/sysvipc/msg``, ...)."""
    text: Any = kernel.init.read_file(path)
    return str(text)


def connections(kernel: Kernel, pid: int) -> int:
    """How many connections the real process ``pid`` has open to the server (one per
    thread that has called, while it lives)."""
    server = getattr(kernel, "server", None)
    client = server.clients.get(pid) if server is not None else None
    return len(client.conns) if client is not None else 0
