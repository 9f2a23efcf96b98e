"""Jobs: what bash's job table holds and how ``jobs``, ``wait``, ``fg`` and its notices
show them.

A job is a command line's last pipeline run with ``&`` (or a foreground one that every
process being blocked left waiting: see :func:`deadlock_report`). Each shell has its own
table; job numbers count up from one above the highest in use. The *current* job (``+``)
is the latest one, the *previous* (``-``) the one before, as bash marks them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Container

from .common import strsignal

if TYPE_CHECKING:
    from ..errors import DeadlockError
    from ..kernel.kernel import Kernel
    from ..kernel.process import Process

# bash's width for a job's state in ``jobs`` and its notices
STATE_WIDTH = 24
# how many statuses of forgotten jobs bash keeps (its bgpids list holds CHILD_MAX of them)
BGPIDS_MAX = 4096


class Job:
    """One job: its number, its process (the one ``wait`` and ``kill %N`` act on), the
    command as typed, and what ``finish`` does with its status once it is reaped (writes
    its redirected output)."""

    def __init__(self, number: int, proc: Process, typed: str,
                 finish: Callable[[int], int], job_control: bool = False):
        self.number = number
        self.job_control = job_control       # (only then does bash see a job stop)
        self.proc = proc
        self.typed = typed
        self.finish = finish
        self.wstatus: int | None = None      # set when reaped
        # its number in its shell's PID namespace: what the shell prints, waits for and kills
        parent = proc.parent
        self.pid = proc.pid_in(parent.pid_ns) if parent is not None else proc.pid

    def stopped(self) -> bool:
        """A signal stopped it (SIGSTOP) and none has continued it: bash sees that only
        with job control (it waits with WUNTRACED)."""
        return self.job_control and self.wstatus is None and self.proc.stopped

    def state(self) -> str:
        """``Running``, ``Stopped``, ``Done``, ``Exit N`` or the text of the signal that
        ended it."""
        w = self.wstatus
        if w is None:
            return "Stopped" if self.stopped() else "Running"
        if w & 0x7F:
            return strsignal(w & 0x7F)
        return f"Exit {w >> 8}" if w >> 8 else "Done"

    def status(self) -> int:
        """$? for this job: its exit status, or 128 + the signal that ended it."""
        w = self.wstatus or 0
        return 128 + (w & 0x7F) if w & 0x7F else w >> 8

    def line(self, mark: str, with_pid: bool = False) -> str:
        """bash's line for the job: ``[1]+  Running                 sleep 5 &``."""
        pid = f"{self.pid:5d}" if with_pid else ""
        tail = " &" if self.wstatus is None and not self.stopped() else ""
        return f"[{self.number}]{mark} {pid} {self.state():<{STATE_WIDTH}}{self.typed}{tail}\n"

    def quiet_end(self) -> bool:
        """A job a non-interactive bash drops without a word: one a signal ended."""
        return self.wstatus is not None and bool(self.wstatus & 0x7F)


class JobTable:
    """One shell's jobs, in the order they were started."""

    def __init__(self, job_control: bool = False) -> None:
        self.jobs: list[Job] = []
        self.job_control = job_control
        self.bgpids: dict[int, int] = {}     # pid -> $? of the jobs forgotten once ended
        self._current: Job | None = None     # one stopped or put back, else the latest

    def add(self, proc: Process, typed: str, finish: Callable[[int], int]) -> Job:
        number = max((j.number for j in self.jobs), default=0) + 1
        job = Job(number, proc, typed, finish, self.job_control)
        self.jobs.append(job)
        self._current = None
        return job

    def put_back(self, job: Job) -> None:
        """A job ``fg`` took that is left waiting again: it keeps its number (and its place
        in ``jobs``) and becomes the current job."""
        at = next((i for i, j in enumerate(self.jobs) if j.number > job.number), len(self.jobs))
        self.jobs.insert(at, job)
        self._current = job

    def _ranked(self) -> tuple[Job | None, Job | None]:
        """The current and the previous job: stopped jobs come first, as bash makes a job
        that stops the current one; then the latest."""
        if not self.jobs:
            return None, None
        stopped = [j for j in self.jobs if j.stopped()]
        if stopped and self._current not in stopped:
            self._current = stopped[-1]      # (and stays current once continued)
        cur = self._current if self._current in self.jobs else self.jobs[-1]
        prev = next((j for j in reversed(stopped) if j is not cur), None) or \
            next((j for j in reversed(self.jobs) if j is not cur), None)
        return cur, prev

    def mark(self, job: Job) -> str:
        """``+`` for the current job, ``-`` for the previous one, else a blank."""
        cur, prev = self._ranked()
        return "+" if job is cur else "-" if job is prev else " "

    def current(self) -> Job | None:
        return self._ranked()[0]

    def find(self, spec: str) -> Job | None:
        """The job of a jobspec: %N, %%, %+, %-, or %STRING (the command starts with it)."""
        body = spec[1:]
        if body in ("", "%", "+"):
            return self.current()
        if body == "-":
            cur, prev = self._ranked()
            return prev or cur
        if body.isascii() and body.isdigit():
            return next((j for j in self.jobs if j.number == int(body)), None)
        found = [j for j in self.jobs if j.typed.startswith(body)]
        return found[-1] if found else None

    def by_pid(self, pid: int) -> Job | None:
        return next((j for j in self.jobs if j.pid == pid), None)

    def remove(self, job: Job) -> None:
        """Forget a job; if it has ended, ``wait PID`` still gives its status (bash's
        bgpids list, which keeps the latest BGPIDS_MAX)."""
        self.jobs.remove(job)
        if job.wstatus is not None:
            self.bgpids.pop(job.pid, None)
            self.bgpids[job.pid] = job.status()
            if len(self.bgpids) > BGPIDS_MAX:
                del self.bgpids[next(iter(self.bgpids))]


def deadlock_report(k: Kernel, e: DeadlockError, names: Callable[[int], str],
                    shells: Container[int]) -> str:
    """What the shell prints when every process is blocked: the kernel's deadlock line,
    then each blocked program (the shells waiting for them left out), what it waits in and
    who could wake it (``views.wait_for``), the ones only each other could wake marked as
    the deadlock's."""
    from ..errors import DeadlockError
    from ..views import deadlocked, wait_for
    graph = {w.pid: w for w in wait_for(k)}
    stuck = deadlocked(list(graph.values()))
    blocked = [(pid, what) for pid, what in e.blocked if pid not in shells]
    head = str(DeadlockError(blocked)).split(":\n", 1)[0]
    lines = [f"ipcsim: {head}:\n"]
    for pid, what in blocked:
        w = graph.get(pid)
        wakers = ""
        if w is not None and w.wakers:
            wakers = " (could be woken by " + ", ".join(f"pid {p}" for p in w.wakers) + ")"
        star = "*" if pid in stuck else " "
        lines.append(f" {star}pid {pid} ({names(pid)}): {what}{wakers}\n")
    if stuck:
        lines.append("  (*: a cycle of waits that only its own members could end)\n")
    return "".join(lines)
