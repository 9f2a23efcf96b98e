"""Virtual time.

Time is kept in integer nanoseconds, so timeouts add up exactly and a run is reproducible.
It moves only when every program is blocked and a timer is due (the scheduler jumps to the
next deadline, as trio's MockClock does), or when the caller advances it.
"""
from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .scheduler import Scheduler

NS = 1_000_000_000
# 2026-01-01 00:00:00 UTC: object timestamps start here, fixed so that runs are reproducible.
DEFAULT_EPOCH = 1_767_225_600


# The largest ktime_t (about 292 years): a timer set beyond it never fires, and the clock
# cannot pass it.
KTIME_MAX = (1 << 63) - 1
# The latest boot time Kernel(epoch=...) takes: the wall clock (epoch + uptime) fits a time_t.
EPOCH_MAX = (1 << 63) - 1 - KTIME_MAX // NS
_TIME_T_LIMIT = 1 << 63


def seconds_to_ns(seconds: object) -> int:
    """Convert a duration in seconds (int or float) to nanoseconds.

    What a ``struct timespec`` cannot hold is refused as Python's ``time.sleep`` refuses it:
    TypeError for other types, ValueError for NaN, OverflowError for infinities and for
    seconds beyond a 64-bit ``time_t``. Negative values are returned as they are: each call
    chooses its errno for them (EINVAL, mostly)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"a duration in seconds must be an int or float, "
                        f"not {type(seconds).__name__}")
    if isinstance(seconds, int):
        if not -_TIME_T_LIMIT <= seconds < _TIME_T_LIMIT:
            raise OverflowError("timestamp too large to convert to C time_t")
        return seconds * NS
    if seconds != seconds:
        raise ValueError("Invalid value NaN (not a number)")
    if not -_TIME_T_LIMIT <= seconds < _TIME_T_LIMIT:
        raise OverflowError("timestamp out of range for platform time_t")
    return round(seconds * NS)


class Timer:
    """A pending callback at a deadline; ``cancel()`` makes it a no-op."""

    __slots__ = ("deadline", "fn")

    def __init__(self, deadline: int, fn: Callable[[], object]):
        self.deadline = deadline
        self.fn: Callable[[], object] | None = fn

    def cancel(self) -> None:
        self.fn = None


class Clock:
    """The kernel's clock: monotonic virtual time plus a virtual wall clock.

    ``now()`` is seconds since the kernel booted (a float); ``time()`` the wall-clock
    seconds (an int, ``epoch + now``) that object timestamps record.
    """

    __slots__ = ("_ns", "_heap", "_seq", "epoch", "_sched", "wall")

    def __init__(self, sched: Scheduler, epoch: int = DEFAULT_EPOCH):
        self._ns = 0
        self.wall = epoch          # time(), kept up to date for the hot paths
        self._heap: list[tuple[int, int, Timer]] = []
        self._seq = 0
        self.epoch = epoch
        self._sched = sched

    def now(self) -> float:
        """Seconds of virtual time since boot."""
        return self._ns / NS

    def now_ns(self) -> int:
        """Nanoseconds of virtual time since boot."""
        return self._ns

    def time(self) -> int:
        """The virtual wall clock in whole seconds (what IPC timestamps record)."""
        return self.wall

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running every program that wakes on the way.

        Timers fire in deadline order, each at its own time, and the programs they wake run
        before the clock moves on. Only the caller's thread (not a program) may advance.
        """
        ns = seconds_to_ns(seconds)
        if ns < 0:
            raise ValueError("time cannot go backwards")
        if self._ns + ns > KTIME_MAX:
            raise OverflowError("the clock cannot pass KTIME_MAX (about 292 years of uptime)")
        self._sched.advance_to(self._ns + ns)

    # --- timers, used by the scheduler -----------------------------------------------
    def call_at(self, deadline: int, fn: Callable[[], object]) -> Timer:
        """Call ``fn`` at ``deadline`` (ns). One beyond KTIME_MAX never fires, as an hrtimer
        clamped to KTIME_MAX does not."""
        timer = Timer(deadline, fn)
        if deadline > KTIME_MAX:
            return timer
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, timer))
        return timer

    def next_deadline(self) -> int | None:
        heap = self._heap
        while heap and heap[0][2].fn is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def fire_next(self, limit: int | None) -> bool:
        """Jump to the next deadline (if it is <= limit) and fire every timer due then."""
        deadline = self.next_deadline()
        if deadline is None or (limit is not None and deadline > limit):
            return False
        self._set(deadline)
        heap = self._heap
        while heap and heap[0][0] <= deadline:
            timer = heapq.heappop(heap)[2]
            fn = timer.fn
            if fn is not None:
                timer.fn = None
                fn()
        return True

    def _set(self, ns: int) -> None:
        if ns > self._ns:
            self._ns = ns
            self.wall = self.epoch + ns // NS

    def __repr__(self) -> str:
        return f"Clock(now={self.now()!r}, time={self.time()})"
