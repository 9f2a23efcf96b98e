"""Play a scenario on a backend, normalize what it answered, and compare two backends.

Pids, descriptors and namespace inode numbers differ between ipcsim and a real kernel, so
they are compared through a mapping: a pid becomes the label of its process, the n-th
namespace inode a backend shows (of any kind: ``ipc:[...]``, ``user:[...]``, ``mnt:[...]``,
``pid:[...]``...) becomes ``ns<n>``, the n-th descriptor number ``fd<n>``. The initial IPC
and user namespaces keep their numbers (4026531839 and 4026531837, fixed in Linux): the
real backend's processes start in the initial user namespace, as ipcsim's do, but never in
the initial IPC namespace. The mount and PID namespaces the real backend's processes start
in are not the initial ones (it runs them under ``unshare --pid --mount-proc``), while
ipcsim's are: their numbers are mapped like any other.

Shared memory addresses (shmat's result): where shmat chooses the address (``shmaddr``
None or 0), ipcsim places it below a fixed base and Linux below a randomized one, among the
agent's own mappings, so the n-th such address a backend returns becomes ``addr<n>`` (by
first appearance: the same address again is the same label). Where the scenario wrote the
address as a constant (nonzero, even one that SHM_RND rounds down to 0), it is the same
number on both sides, and so is the result: it is compared as it is. A scenario that binds
a result (``x = a.shmat(...)``) and passes ``x`` on gets each backend's own raw value; a
fixed address computed from such a name (``a.shmat(t, x + 4096, SHM_REMAP)``) differs
between the backends, so the result is compared relative to it: ``"shmaddr"`` when it is
the address passed, ``"shmaddr-0x..."`` when SHM_RND rounded it down.
"""
from __future__ import annotations

import ast
import re
from typing import Any, Callable

import attrs

from ..constants import INIT_IPC_NS_INUM
from .backend import BLOCKED, OK, Backend, Outcome, describe
from .scenario import ADVANCE, Scenario, Step, evaluate

SKIP = "skip"
PROC_FILES = ("/proc/sysvipc/msg", "/proc/sysvipc/sem", "/proc/sysvipc/shm")
_NS_LINK = re.compile(r"\b(ipc|user|mnt|pid|uts|net|cgroup|time):\[(\d+)\]")
INIT_USER_NS_INUM = 4026531837
_FIXED_NS = frozenset({INIT_IPC_NS_INUM, INIT_USER_NS_INUM})
NS_GET_USERNS, NS_GET_PARENT = 0xB701, 0xB702
_SYSVIPC_HEADER = re.compile(r" *key +(msqid|semid|shmid) ")   # a /proc/sysvipc table
_NOTIFY_PID = re.compile(r"NOTIFY_PID:([1-9]\d*)")
_NOTIFY_PID_B = re.compile(rb"NOTIFY_PID:([1-9]\d*)")
_PID_RESULTS = ("fork", "clone", "getpid", "getppid", "getpgid")
_FD_RESULTS = ("open", "dup", "mq_open")
_ADDR_RESULTS = ("shmat",)


class Normalizer:
    """Turns one backend's raw values into backend-independent ones."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.labels: list[str] = []
        self._ns: dict[int, str] = {}
        self._fds: dict[int, str] = {}
        self._addrs: dict[int, str] = {}
        self.reader: str | None = None     # whose view the values being normalized are

    def pid(self, pid: object) -> object:
        """A pid as the label of its process: ``<b>``. The pid is read in the PID namespace
        of the reader (the process that made the call): a label matches when its process
        has that number there (:meth:`.Backend.pid_seen_by`); a reader in a namespace
        below the scenario's first adds the number, ``<b:1>`` (the same on every backend:
        a new namespace numbers from 1)."""
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            return pid                  # (0: a process the reader's namespace cannot see)
        reader = self.reader
        seen = getattr(self.backend, "pid_seen_by", None)
        if reader is None or seen is None:
            for label in self.labels:
                if self.backend.pid(label) == pid:
                    return f"<{label}>"
            return "<pid>" if pid > 0 else pid
        nested = seen(reader, reader) != self.backend.pid(reader)
        for label in self.labels:
            if seen(label, reader) == pid:
                return f"<{label}:{pid}>" if nested else f"<{label}>"
        return "<pid>" if pid > 0 else pid

    def ns(self, text: str) -> str:
        def name(m: re.Match[str]) -> str:
            inum = int(m.group(2))
            if inum in _FIXED_NS:
                return m.group(0)
            return f"{m.group(1)}:[{self._ns.setdefault(inum, f'ns{len(self._ns) + 1}')}]"
        return _NS_LINK.sub(name, text)

    def fd(self, fd: object) -> object:
        if not isinstance(fd, int):
            return fd
        return self._fds.setdefault(fd, f"fd{len(self._fds) + 1}")

    def address(self, addr: object, args: tuple[Any, ...] = (),
                per_backend: frozenset[int] = frozenset()) -> object:
        """A shmat result: a label for an address the kernel chose; relative to the address
        passed when that was computed from a per-backend value (argument 1 in
        ``per_backend``); else the number."""
        shmaddr = args[1] if len(args) > 1 else None
        if not isinstance(addr, int):
            return addr
        if not shmaddr:
            return self._addrs.setdefault(addr, f"addr{len(self._addrs) + 1}")
        if 1 in per_backend and isinstance(shmaddr, int):
            delta = shmaddr - addr
            return "shmaddr" if not delta else f"shmaddr{'-' if delta > 0 else '+'}" \
                f"{abs(delta):#x}"
        return addr

    def plain(self, value: Any) -> Any:
        """Records (IPC_STAT results) as dicts; pid fields by label; times as set or not
        (real and virtual clocks differ)."""
        if attrs.has(type(value)):
            value = attrs.asdict(value, recurse=False)
        if isinstance(value, dict):
            out = {}
            for key, v in value.items():
                v = self.plain(v)
                if key.endswith("pid"):
                    v = self.pid(v) if v else 0
                elif key.endswith("time") and isinstance(v, int):
                    v = "T" if v else 0
                out[key] = v
            return out
        if isinstance(value, tuple):
            return tuple(self.plain(v) for v in value)
        if isinstance(value, list):
            return [self.plain(v) for v in value]
        return value

    def proc_text(self, text: str, reader: str | None = None) -> str:
        """A /proc/sysvipc text (as ``reader`` read it) with pids as labels and times as
        set or not, in place."""
        self.reader = reader
        lines = text.split("\n")
        if not lines or not lines[0].strip():
            return text
        header = lines[0].split()
        out = [lines[0]]
        for line in lines[1:]:
            tokens = list(re.finditer(r"\S+", line))
            new = line
            for name, m in reversed(list(zip(header, tokens))):
                tok = m.group(0)
                if name.endswith("pid"):
                    rep = str(self.pid(int(tok))) if tok != "0" else tok
                elif name.endswith("time"):
                    rep = "T" if tok != "0" else tok
                else:
                    continue
                new = new[:m.start()] + rep.rjust(len(tok)) + new[m.end():]
            out.append(new)
        return "\n".join(out)

    def notify_pid(self, text: str | bytes) -> str | bytes:
        """An mqueue status line: the NOTIFY_PID by label."""
        if isinstance(text, bytes):
            return _NOTIFY_PID_B.sub(lambda m: b"NOTIFY_PID:" + str(
                self.pid(int(m.group(1)))).encode(), text)
        return _NOTIFY_PID.sub(lambda m: f"NOTIFY_PID:{self.pid(int(m.group(1)))}", text)

    def outcome(self, method: str, outcome: Outcome, args: tuple[Any, ...] = (),
                per_backend: frozenset[int] = frozenset(),
                reader: str | None = None) -> Outcome:
        """The normalized outcome of ``method(*args)`` that process ``reader`` made (pids
        are read in its PID namespace); ``per_backend``: the positions of the arguments
        computed from values that earlier steps bound (raw, per backend)."""
        if outcome[0] != OK:
            return outcome
        self.reader = reader
        value = self.plain(outcome[1])
        if method == "read_file" and isinstance(value, str) and _SYSVIPC_HEADER.match(value):
            return (OK, self.proc_text(value, reader))  # (the path may be spelled any way)
        if method in _PID_RESULTS:
            value = self.pid(value)
        elif method in _FD_RESULTS or (method == "ioctl" and len(args) > 1
                                       and args[1] in (NS_GET_USERNS, NS_GET_PARENT)):
            value = self.fd(value)
        elif method == "semctl" and len(args) > 2 and args[2] == 11:
            value = self.pid(value) if value else 0
        elif method in _ADDR_RESULTS:
            value = self.address(value, args, per_backend)
        elif method == "wait" and isinstance(value, tuple) and len(value) == 2:
            value = (self.pid(value[0]) if value[0] else 0, value[1])
        elif method in ("read_file", "read") and isinstance(value, (str, bytes)):
            value = self.notify_pid(value)
        elif method == "readlink" and isinstance(value, str):
            value = self.ns(value)
            if value.isdigit():         # /proc/self: a pid of the procfs's namespace
                self.reader = None
                value = self.pid(int(value))
        return (OK, value)


@attrs.frozen
class StepRecord:
    """What one step gave: its outcome, and the blocked calls that finished after it."""

    step: Step
    outcome: Outcome
    wakes: tuple[tuple[str, Outcome], ...] = ()

    def show(self) -> str:
        text = f"{self.step.text}  {describe(self.outcome)}"
        for label, outcome in self.wakes:
            text += f"\n        then {label}'s blocked call {describe(outcome)}"
        return text


@attrs.frozen
class Play:
    """A scenario as one backend played it."""

    backend: str
    records: tuple[StepRecord, ...]
    texts: dict[str, str]
    handled: dict[str, tuple[Any, ...]]


def play(scenario: Scenario, backend: Backend) -> Play:
    """Run every step of ``scenario`` on a backend opened for it (``open(scenario.uid)``);
    the caller closes it."""
    norm = Normalizer(backend)
    norm.labels.append("a")
    env: dict[str, Any] = {"pid": _pid_function(backend), "a": "a", "UID": scenario.uid,
                           "GID": scenario.uid}
    alive = {"a"}
    pending: dict[str, str] = {}
    records = []
    for step in scenario.steps:
        outcome = _run_step(step, backend, env, alive, pending, norm)
        wakes: list[tuple[str, Outcome]] = []
        for label, done in backend.completed():
            method = pending.pop(label, "")
            wakes.append((label, norm.outcome(method, done, reader=label)))
        for label in list(pending):
            if label not in backend.blocked():
                pending.pop(label)
        records.append(StepRecord(step, outcome, tuple(wakes)))
    texts = _snapshot(backend, alive, pending, norm)
    handled = {label: tuple(_siginfo(h, norm, label) for h in backend.signals_handled(label))
               for label in sorted(alive) if label not in pending}
    return Play(backend.name, tuple(records), texts, handled)


def _pid_function(backend: Backend) -> Callable[..., int]:
    """The scenario's ``pid(label)``: the process's pid in the scenario's first PID
    namespace; ``pid(label, reader)``: its pid as process ``reader`` sees it (0 when its
    namespace cannot see it)."""
    def pid(label: str, reader: str | None = None) -> int:
        if reader is None:
            return backend.pid(label)
        return backend.pid_seen_by(label, reader)
    return pid


def _siginfo(entry: Any, norm: Normalizer, label: str) -> Any:
    """A "siginfo" handler's record with its si_pid by label (as ``label``, whose handler
    recorded it, sees it); a signal number as it is."""
    norm.reader = label
    if isinstance(entry, tuple) and len(entry) == 5:
        return entry[:2] + (norm.pid(entry[2]) if entry[2] else entry[2],) + entry[3:]
    return entry


def _run_step(step: Step, backend: Backend, env: dict[str, Any], alive: set[str],
              pending: dict[str, str], norm: Normalizer) -> Outcome:
    if step.method == ADVANCE:
        (seconds,) = evaluate(step.args, env)
        backend.advance(seconds)
        return (OK, None)
    label = step.label
    if label not in alive:
        return (SKIP, "no such process")
    if label in pending:
        return (SKIP, "process is blocked")
    try:
        args = evaluate(step.args, env)
    except (KeyError, NameError) as e:
        return (SKIP, f"argument not available: {e}")
    try:
        raw = backend.call(label, step.method, args,
                           step.bind if step.creates_process else None)
    except RuntimeError:
        alive.discard(label)
        return (SKIP, "process is gone")
    per_backend = frozenset(i for i, node in enumerate(step.args)
                            if _uses_bound_values(node, env, norm.labels))
    if raw[0] == BLOCKED:
        pending[label] = step.method
    elif raw[0] == OK:
        if step.creates_process:     # (then it binds a label: see scenario.parse)
            alive.add(step.bind)  # type: ignore[arg-type]
            norm.labels.append(step.bind)  # type: ignore[arg-type]
            env[step.bind] = step.bind  # type: ignore[index]  # a label names its process
        elif step.bind:
            env[step.bind] = raw[1]
        if step.method == "exit":
            alive.discard(label)
    return norm.outcome(step.method, raw, args, per_backend, reader=label)


def _uses_bound_values(node: ast.AST, env: dict[str, Any], labels: list[str]) -> bool:
    """The argument expression names a value an earlier step bound (raw, so it may differ
    between backends); process labels and pid() do not count."""
    return any(isinstance(n, ast.Name) and n.id in env and n.id != "pid"
               and n.id not in labels for n in ast.walk(node))


def _snapshot(backend: Backend, alive: set[str], pending: dict[str, str],
              norm: Normalizer) -> dict[str, str]:
    """The /proc texts as a live, unblocked process of the scenario sees them."""
    for label in sorted(alive):
        if label in pending:
            continue
        texts: dict[str, str] = {}
        try:
            for path in PROC_FILES:
                out = backend.call(label, "read_file", (path,))
                if out[0] == BLOCKED:           # a stopped process: ask another one
                    pending[label] = "read_file"
                    break
                texts[path] = norm.proc_text(out[1], label) if out[0] == OK \
                    else f"({out[1]})"
            else:
                return texts
        except RuntimeError:
            continue
    return {}


@attrs.frozen
class Difference:
    """The first step at which two plays disagree."""

    index: int
    left: Play
    right: Play

    def __str__(self) -> str:
        lines = [f"step {self.index + 1} differs:"]
        for play_ in (self.left, self.right):
            rec = play_.records[self.index] if self.index < len(play_.records) else None
            lines.append(f"  {play_.backend:7}: {rec.show() if rec else '(no such step)'}")
        lines.append("  steps before it (both agreed):")
        for rec in self.left.records[:self.index]:
            lines.append(f"    {rec.show()}")
        for play_ in (self.left, self.right):
            for path, text in play_.texts.items():
                lines.append(f"  {play_.backend} {path}:")
                lines.extend("    | " + t for t in str(text).splitlines())
        return "\n".join(lines)


def diff(left: Play, right: Play) -> Difference | None:
    """The first differing step (its outcome, or which blocked calls it completed and with
    what), or the final texts, or None."""
    for i, (a, b) in enumerate(zip(left.records, right.records)):
        if a.outcome != b.outcome or _woken(a) != _woken(b):
            return Difference(i, left, right)
    if left.texts != right.texts or left.handled != right.handled:
        return Difference(len(left.records) - 1, left, right)
    return None


def _woken(record: StepRecord) -> list[tuple[str, Outcome]]:
    """The calls one step completed, with their outcomes, in label order. Which calls a
    step wakes, and what each gets, is the kernel's doing; the order in which woken
    processes return to user space is the CPU scheduler's (on a real machine the last woken
    often runs first), so within one step it is not compared."""
    return sorted(record.wakes, key=lambda w: (w[0], repr(w[1])))


def _open(backend: Backend, scenario: Scenario) -> None:
    """Open ``backend`` with ``a`` as the scenario's user (root's scenarios call plain
    ``open()``, which every backend has)."""
    if scenario.uid:
        backend.open(scenario.uid)
    else:
        backend.open()


def run_on(scenario: Scenario, make_backend: Callable[[], Backend]) -> Play:
    backend = make_backend()
    _open(backend, scenario)
    try:
        return play(scenario, backend)
    finally:
        backend.close()


def compare(scenario: Scenario, real_factory: Callable[[], Backend],
            sim_factory: Callable[[int], Backend]) -> tuple[Play, Play, Difference | None]:
    """Play ``scenario`` on the real kernel, then on ipcsim with the same capabilities."""
    real = real_factory()
    _open(real, scenario)
    try:
        caps = real.capabilities()
        real_play = play(scenario, real)
    finally:
        real.close()
    sim_play = run_on(scenario, lambda: sim_factory(caps))
    return sim_play, real_play, diff(sim_play, real_play)


__all__ = ["play", "compare", "diff", "Play", "StepRecord", "Difference", "Normalizer", "SKIP"]
