"""Wait queues: the one mechanism every blocking call parks on.

A blocking call makes a :class:`Waiter`, adds it to the wait queue of what it waits for, and
asks the scheduler to block. A waker either completes the operation for the waiter (it sets
``waiter.result``, as Linux's pipelined msgsnd and semop's update_queue do) or just wakes it
as a hint, after which the call re-checks its whole condition. Timeouts, signals and kills
end a wait with their own reason. Queues keep FIFO order (Linux's add-tail), and removal
from the middle is O(1).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from ..sim.clock import Timer
    from ..sim.scheduler import Task
    from .process import ProcessState

# What a blocked call waits for: text, or ``(format, *args)`` / ``(function, *args)`` that
# make it (see Waiter.what).
What = str | tuple[Any, ...]

# Why a wait ended.
WOKEN = 1       # a waker woke it (result set, or a hint to re-check)
TIMEOUT = 2     # its deadline passed
SIGNAL = 3      # a signal with a handler arrived: the call fails with EINTR
KILLED = 4      # its process died
STOPPED = 5     # a stop signal ended it (see StopEndsWaiter)

REASON_NAMES = {WOKEN: "woken", TIMEOUT: "timeout", SIGNAL: "signal", KILLED: "killed",
                STOPPED: "stopped"}


class Waiter:
    """One blocked call: which task, as which process, on which queue, and how it ended."""

    __slots__ = ("task", "process", "queue", "reason", "result", "timer", "_what", "data")

    def __init__(self, process: ProcessState, what: What, data: Any = None):
        self.task: Task | None = None
        self.process = process
        self.queue: WaitQueue | None = None
        self.reason: int | None = None
        self.result: Any = None
        self.timer: Timer | None = None
        self._what = what     # see ``what``
        self.data = data      # what the waker needs to know (a wanted type, a sem op, ...)

    @property
    def what(self) -> str:
        """What the call waits for, as DeadlockError and the views say it: "msgrcv on queue 3
        of ipc:[...]". Blocking calls give it as a string, or, to spare the formatting on
        the hot path, as ``(format, *args)`` or ``(function, *args)``, made into text on
        first use."""
        what = self._what
        if isinstance(what, str):
            return what
        make, *args = what
        text: str = make.format(*args) if type(make) is str else make(*args)
        self._what = text
        return text

    def __repr__(self) -> str:
        pid = getattr(self.process, "pid", None)
        reason = REASON_NAMES.get(self.reason) if self.reason is not None else None
        return f"<Waiter pid={pid} {self.what} reason={reason}>"


class StopEndsWaiter(Waiter):
    """A wait that a stop signal ends, as signal_pending() ends Linux's interruptible sleeps:
    the sleeper leaves its queue while stopped (a waker passes it by), and once continued
    its call decides: start again (msgsnd, msgrcv, mq_timedsend, mq_timedreceive:
    ERESTARTNOHAND / ERESTARTSYS with no handler due) or fail with EINTR (semop)."""

    __slots__ = ()
    ends_on_stop = True


class WaitQueue(dict[Waiter, None]):
    """An ordered set of waiters (FIFO): a dict of waiter -> None, so that emptiness and
    length are C-level checks on the hot path."""

    __slots__ = ()

    def add(self, waiter: Waiter) -> None:
        self[waiter] = None
        waiter.queue = self

    def discard(self, waiter: Waiter) -> None:
        if self.pop(waiter, 0) is None:
            waiter.queue = None

    def __iter__(self) -> Iterator[Waiter]:
        """Iterate over a snapshot, so wakers may remove waiters as they go."""
        return iter(list(self.keys()))

    def first(self) -> Waiter | None:
        for w in self.keys():
            return w
        return None

    def __repr__(self) -> str:
        return f"<WaitQueue {list(self.keys())}>"


class _NoWaiters(WaitQueue):
    """The wait queue of an object nobody has waited on: empty, shared by every such object
    (each makes its own before its first waiter), never added to."""

    __slots__ = ()

    def __setitem__(self, waiter: Waiter, value: None) -> None:
        raise AssertionError("an object makes its own wait queue before its first waiter")


# What an object holds in place of a wait queue until its first waiter: an empty queue, so
# that the hot paths' emptiness tests need no other case.
NO_WAITERS: WaitQueue = _NoWaiters()
