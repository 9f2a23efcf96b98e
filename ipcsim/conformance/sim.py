"""The ipcsim backend: each labelled process is a program that takes one step at a time.

Each process runs an agent program that waits for its next command, makes the call as its
process, and posts the outcome. The harness hands a command over and lets the kernel run
until idle: a call that has not posted its outcome by then is blocked. The kernel uses the
FIFO policy, so processes woken by one step finish in the order they were woken.
"""
from __future__ import annotations

import errno
import signal as _signal
from typing import Any, Callable

from ..constants import (CAP_FULL_SET, CLONE_NEWIPC, MS_BIND, MS_REMOUNT, O_CREAT, O_EXCL,
                         O_WRONLY)
from ..errors import SimulationError
from ..kernel.kernel import Kernel
from ..kernel.mqueue import MqAttr, SigEvent
from ..kernel.msg import MsqidDs
from ..kernel.perm import IpcPerm
from ..kernel.process import Process
from ..kernel.shm import ShmidDs
from ..kernel.waitq import Waiter
from ..sim.clock import seconds_to_ns
from .backend import BLOCKED, ERR, OK, Outcome

_DISPOSITION = {"ignore": _signal.SIG_IGN, "default": _signal.SIG_DFL}

# What a "siginfo" handler records: (si_signo, si_code, si_pid, si_uid, si_value).
SigInfoRecord = tuple[int, "int | None", "int | None", "int | None", "int | None"]


def _ignore_notification(value: int) -> None:
    """What a SIGEV_THREAD registration runs (it is not compared with Linux)."""


def _mq_args(method: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """mq_attr and sigevent dicts as the records ipcsim takes."""
    pos = 3 if method == "mq_open" else 1
    if len(args) <= pos or not isinstance(args[pos], dict):
        return args
    d = args[pos]
    obj: SigEvent | MqAttr
    if method == "mq_notify":
        obj = SigEvent(d.get("sigev_notify", 0), d.get("sigev_signo", 0),
                       d.get("sigev_value", 0), _ignore_notification)
    else:
        obj = MqAttr(d.get("mq_flags", 0), d.get("mq_maxmsg", 0), d.get("mq_msgsize", 0),
                     d.get("mq_curmsgs", 0))
    return args[:pos] + (obj,) + args[pos + 1:]


class Mailbox:
    """The channel between the harness and one agent program."""

    __slots__ = ("label", "proc", "command", "outcome", "waiter", "handled", "done_seq")

    def __init__(self, label: str):
        self.label = label
        self.proc: Process | None = None
        self.command: tuple[str, tuple[Any, ...], str | None] | None = None
        self.outcome: Outcome | None = None
        self.waiter: Waiter | None = None
        self.handled: list[int | SigInfoRecord] = []
        self.done_seq = 0


SCRATCH = "/run"               # where the real side's agents make missing mount targets
MS_MOVE = 0x2000
MS_PROPAGATION = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20)


def _make_mount_target(p: Process, source: object = None, target: object = None,
                       fstype: object = None, flags: object = 0, data: object = None) -> None:
    """What the real side's agent does before mount(2) (_agent._make_target): a missing
    target strictly under /run is made as the caller, with its missing parents as
    world-writable sticky directories: an empty file for a bind (or move) of a file, else
    a directory. A remount or a propagation change makes nothing; neither does a target
    that cannot be made (mount(2) then says why)."""
    if not isinstance(target, str) or not isinstance(flags, int) \
            or not target.startswith(SCRATCH + "/") or flags & (MS_REMOUNT | MS_PROPAGATION):
        return
    directory = True
    if flags & (MS_BIND | MS_MOVE):
        try:
            directory = p.stat(source).st_mode & 0o170000 == 0o040000  # type: ignore[arg-type]
        except (OSError, TypeError, ValueError, SimulationError):
            directory = False           # (os.path.isdir of what is not there)
    parts = [c for c in target[len(SCRATCH):].split("/") if c]
    path = SCRATCH
    for i, name in enumerate(parts):
        path = f"{path}/{name}"
        try:
            p.stat(path)
            continue
        except (OSError, SimulationError):
            pass
        try:
            if directory or i < len(parts) - 1:
                p.mkdir(path, 0o700)
                p.chmod(path, 0o1777)
            else:
                p.close(p.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644))
        except OSError:
            return


def become_user(p: Process, uid: int) -> None:
    """What the real side's "a" does before its first step when a scenario runs as ``uid``
    (_agent.become_user): no supplementary groups, gid and then uid ``uid`` (which clears
    every capability), dumpable again as after an execve."""
    p.setgroups([])
    p.setresgid(uid, uid, uid)
    p.setresuid(uid, uid, uid)
    p.set_dumpable(True)


class SimBackend:
    """Plays scenarios on a fresh ipcsim Kernel."""

    name = "ipcsim"

    def __init__(self, capabilities: int = CAP_FULL_SET, seed: int = 0):
        self._caps = capabilities
        self._seed = seed
        self.kernel: Kernel | None = None
        self._boxes: dict[str, Mailbox] = {}
        self._pending: set[str] = set()
        self._seq = 0

    # --- the agent program --------------------------------------------------------------
    def _kernel(self) -> Kernel:
        kernel = self.kernel
        assert kernel is not None             # (open() made it)
        return kernel

    def _agent(self, p: Process, box: Mailbox) -> None:
        box.proc = p
        sched = self._kernel().sched
        while True:
            while box.command is None:
                box.waiter = Waiter(p, "waiting for its next scenario step")
                sched.block(box.waiter)
                box.waiter = None
            method, args, new_label = box.command
            box.command = None
            if method == "exit":
                self._post(box, (OK, None))
                p.exit(*args)
            try:
                value = self._dispatch(p, box, method, args, new_label)
                outcome = (OK, value)
            except OSError as e:
                outcome = (ERR, errno.errorcode.get(e.errno or 0, str(e.errno)))
            except (TypeError, ValueError, OverflowError, SimulationError) as e:
                # ipcsim refused the Python input, or the model has no errno for it: a
                # difference the report shows, not a crash of the whole run
                outcome = (ERR, f"{type(e).__name__}: {e}")
            self._post(box, outcome)

    def _post(self, box: Mailbox, outcome: Outcome) -> None:
        self._seq += 1
        box.done_seq = self._seq
        box.outcome = outcome

    def _dispatch(self, p: Process, box: Mailbox, method: str, args: tuple[Any, ...],
                  new_label: str | None) -> Any:
        if method in ("fork", "clone"):
            assert new_label is not None
            child = Mailbox(new_label)
            self._boxes[new_label] = child
            if method == "fork":
                proc = p.fork(target=self._agent, args=(child,))
            else:
                proc = p.clone(args[0], target=self._agent, args=(child,))
            child.proc = proc
            return proc.pid_in(p.pid_ns)      # what fork(2) returns: the caller's view
        if method == "signal":
            sig, disposition = args
            handler: _signal.Handlers | Callable[[int], None]
            if disposition == "handler":
                handler = self._record
            elif disposition == "siginfo":
                handler = self._record_info
            else:
                handler = _DISPOSITION[disposition]
            old = p.signal(sig, handler)
            if old is _signal.SIG_IGN:
                return "ignore"
            return "default" if old is _signal.SIG_DFL else "handler"
        if method == "msgctl" and len(args) > 2 and isinstance(args[2], dict):
            perm = args[2]["msg_perm"]
            msg_ds = MsqidDs(IpcPerm(uid=perm["uid"], gid=perm["gid"], mode=perm["mode"]),
                             msg_qbytes=args[2]["msg_qbytes"])
            args = (args[0], args[1], msg_ds)
        if method == "shmctl" and len(args) > 2 and isinstance(args[2], dict):
            perm = args[2]["shm_perm"]
            shm_ds = ShmidDs(IpcPerm(uid=perm["uid"], gid=perm["gid"], mode=perm["mode"]))
            args = (args[0], args[1], shm_ds)
        if method == "semctl" and len(args) > 3 and isinstance(args[3], dict):
            from ..kernel.sem import SemidDs
            perm = args[3]["sem_perm"]
            args = args[:3] + (SemidDs(IpcPerm(uid=perm["uid"], gid=perm["gid"],
                                               mode=perm["mode"])),)
        if method in ("mq_open", "mq_setattr", "mq_notify"):
            args = _mq_args(method, args)
        if method == "mount":
            _make_mount_target(p, *args)
        return getattr(p, method)(*args)

    def _record(self, sig: int) -> None:
        """The recording handler: a forked child inherits it, and records in its own list
        (handlers run in the thread of the process that receives the signal)."""
        proc = self._kernel().sched.current.process
        for box in self._boxes.values():
            if box.proc is proc:
                box.handled.append(sig)
                return

    def _record_info(self, sig: int) -> None:
        """The "siginfo" handler: records (si_signo, si_code, si_pid, si_uid, si_value)."""
        proc = self._kernel().sched.current.process
        info = proc.last_siginfo
        entry: SigInfoRecord = (sig, None, None, None, None) if info is None else \
            (info.si_signo, info.si_code, info.si_pid, info.si_uid, info.si_value)
        for box in self._boxes.values():
            if box.proc is proc:
                box.handled.append(entry)
                return

    # --- the Backend interface ---------------------------------------------------------
    def open(self, uid: int = 0) -> None:
        kernel = self.kernel = Kernel(seed=self._seed, capabilities=self._caps, policy="fifo")
        kernel.init.chmod(SCRATCH, 0o1777)      # the real side's fresh tmpfs on /run
        # As on the real side, "a" is a child of an init that ignores SIGCHLD: when "a"
        # exits it leaves no zombie.
        kernel.init.signal(_signal.SIGCHLD, _signal.SIG_IGN)
        box = Mailbox("a")
        self._boxes["a"] = box
        proc = box.proc = kernel.init.clone(CLONE_NEWIPC, target=self._agent, args=(box,))
        proc.signal(_signal.SIGCHLD, _signal.SIG_DFL)
        if uid:
            become_user(proc, uid)
        kernel.run_until_idle()

    def _proc(self, label: str) -> Process:
        proc = self._boxes[label].proc
        assert proc is not None               # (each box gets its process when made)
        return proc

    def capabilities(self) -> int:
        return self._proc("a").capabilities

    def pid(self, label: str) -> int:
        return self._proc(label).pid

    def pid_seen_by(self, label: str, reader: str) -> int:
        return self._proc(label).pid_in(self._proc(reader).pid_ns)

    def call(self, label: str, method: str, args: tuple[Any, ...],
             new_label: str | None = None) -> Outcome:
        box = self._boxes[label]
        proc = self._proc(label)
        if label in self._pending:
            raise RuntimeError(f"process {label} is still blocked in a call")
        if not proc.alive:
            raise RuntimeError(f"process {label} is gone")
        box.outcome = None
        box.command = (method, tuple(args), new_label)
        kernel = self._kernel()
        assert box.waiter is not None         # (its agent waits for the command)
        kernel.sched.wake(box.waiter)
        kernel.run_until_idle()
        if box.outcome is None:
            if not proc.alive:
                return (ERR, "process died")
            self._pending.add(label)
            return (BLOCKED,)
        outcome, box.outcome = box.outcome, None
        return outcome

    def advance(self, seconds: float) -> None:
        self._kernel().clock.advance(seconds)
        seconds_to_ns(seconds)

    def completed(self) -> list[tuple[str, Outcome]]:
        done = []
        for label in list(self._pending):
            box = self._boxes[label]
            if box.outcome is not None:
                done.append((box.done_seq, label, box.outcome))
                box.outcome = None
                self._pending.discard(label)
            elif not self._proc(label).alive:
                self._pending.discard(label)
        return [(label, outcome) for _, label, outcome in sorted(done)]

    def blocked(self) -> list[str]:
        return sorted(self._pending)

    def signals_handled(self, label: str) -> list[int | SigInfoRecord]:
        return list(self._boxes[label].handled)

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()

    def __enter__(self) -> SimBackend:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
