"""The errors users see.

A failed system call raises :class:`OSError` whose ``errno`` is the one Linux returns for the
same call, built by :func:`oserror`, so Python picks the usual subclass (``FileNotFoundError``,
``PermissionError``, ...). Errno numbers are the host's values for the Linux names, so
``e.errno == errno.EIDRM`` holds on every OS. Situations that have no kernel equivalent raise a
:class:`SimulationError` subclass whose message says what happened and what to do.
"""
from __future__ import annotations

import os


def oserror(err: int, detail: str | None = None) -> OSError:
    """The OSError a failing system call raises: ``OSError(err, strerror(err))``."""
    if detail is None:
        return OSError(err, os.strerror(err))
    return OSError(err, os.strerror(err), detail)


def resource_warning(message: str) -> None:
    """A ResourceWarning from where an exception cannot be let through (the scheduler
    abandoning a program, the collector closing a kernel): with warnings made errors
    (``-W error``), it is printed to stderr instead of raised."""
    import sys
    import warnings
    try:
        warnings.warn(message, ResourceWarning, stacklevel=3)
    except Warning as w:
        print(f"{type(w).__name__}: {w}", file=sys.stderr)


class SimulationError(Exception):
    """A situation of the simulation itself, with no errno in Linux."""


class DeadlockError(SimulationError):
    """Every live program is blocked and no timer can wake any of them.

    ``blocked`` lists ``(pid, description)`` for each blocked task, in pid order.
    """

    def __init__(self, blocked: list[tuple[int, str]], caller: str | None = None):
        self.blocked = blocked
        lines = [f"  pid {pid}: {what}" for pid, what in blocked]
        head = "deadlock: every program is blocked and no timer can wake any"
        if caller:
            head += f" (the caller's {caller} can never finish)"
        super().__init__(head + ":\n" + "\n".join(lines) +
                         "\nThe state is kept for inspection: wake one of them from the caller "
                         "(send, post, kill ...) and run again, or end them with Kernel.close().")


class SegmentationFault(SimulationError):
    """A simulated memory access to an unmapped address, or a write to a read-only mapping."""


class ProcessGone(SimulationError):
    """A call was made as a process that has already exited."""


class UnsupportedError(SimulationError):
    """A valid Linux request that ipcsim does not model (for example CLONE_NEWNET)."""


class KernelPanic(SimulationError):
    """What Linux would answer with a kernel panic (for example init exiting)."""
