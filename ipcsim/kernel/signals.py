"""Signals: Linux's default actions, and who may send what to whom.

Standard signals are not queued twice; handlers run when the process next returns to user
space (for a program: when it next gets the CPU or returns from a call; a blocked call with
a handled signal fails with EINTR after the handler ran).
"""
from __future__ import annotations

import errno
import signal as _signal
from typing import TYPE_CHECKING, Callable, Final, Iterable, Union

from ..constants import CAP_KILL
from ..errors import oserror
from .userns import OVERFLOW_ID, map_id_down, map_id_up

if TYPE_CHECKING:
    from .creds import Creds
    from .userns import UserNamespace
    from .mqueue import SigInfo
    from .process import ProcessState

SIG_DFL: Final = _signal.SIG_DFL
SIG_IGN: Final = _signal.SIG_IGN

# A disposition: SIG_DFL, SIG_IGN, or a handler that runs as ``handler(signum)``.
Handler = Union[Callable[[int], object], _signal.Handlers]

NSIG: Final = 65            # signals 1..64
SIGRTMIN: Final = 34

TERM, CORE, IGNORE, STOP, CONT = "terminate", "core", "ignore", "stop", "continue"

# --- Linux's numbers (x86-64), independent of the host's signal module ------------------
SIGHUP: Final = 1
SIGINT: Final = 2
SIGQUIT: Final = 3
SIGILL: Final = 4
SIGTRAP: Final = 5
SIGABRT: Final = 6
SIGBUS: Final = 7
SIGFPE: Final = 8
SIGKILL: Final = 9
SIGUSR1: Final = 10
SIGSEGV: Final = 11
SIGUSR2: Final = 12
SIGPIPE: Final = 13
SIGALRM: Final = 14
SIGTERM: Final = 15
SIGSTKFLT: Final = 16
SIGCHLD: Final = 17
SIGCONT: Final = 18
SIGSTOP: Final = 19
SIGTSTP: Final = 20
SIGTTIN: Final = 21
SIGTTOU: Final = 22
SIGURG: Final = 23
SIGXCPU: Final = 24
SIGXFSZ: Final = 25
SIGVTALRM: Final = 26
SIGPROF: Final = 27
SIGWINCH: Final = 28
SIGIO: Final = 29
SIGPWR: Final = 30
SIGSYS: Final = 31

# Name -> number of each standard signal: the constants above (every SIGxxx numbered below
# SIGRTMIN), in order.
_LINUX: dict[str, int] = {
    name: num for name, num in globals().items()
    if name.startswith("SIG") and name[3:].isalnum() and type(num) is int and num < SIGRTMIN}
SIGNAMES = {v: k for k, v in _LINUX.items()}

_DEFAULTS = {
    SIGQUIT: CORE, SIGILL: CORE, SIGTRAP: CORE, SIGABRT: CORE, SIGBUS: CORE, SIGFPE: CORE,
    SIGSEGV: CORE, SIGXCPU: CORE, SIGXFSZ: CORE, SIGSYS: CORE,
    SIGCHLD: IGNORE, SIGURG: IGNORE, SIGWINCH: IGNORE,
    SIGCONT: CONT,
    SIGSTOP: STOP, SIGTSTP: STOP, SIGTTIN: STOP, SIGTTOU: STOP,
}


SIG_BLOCK: Final = 0
SIG_UNBLOCK: Final = 1
SIG_SETMASK: Final = 2
_UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


STOP_SIGNALS = (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU)

# Dequeued before the others (next_signal(): SYNCHRONOUS_MASK)
SYNCHRONOUS = frozenset({SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS})


def mask_of(sigs: Iterable[int]) -> int:
    """A blocked-signal mask from an iterable of signal numbers (SIGKILL/SIGSTOP dropped)."""
    mask = 0
    for sig in sigs:
        mask |= 1 << (check_signal(sig, allow_zero=False) - 1)
    return mask & ~_UNBLOCKABLE


def set_of(mask: int) -> set[int]:
    return {sig for sig in range(1, NSIG) if mask >> (sig - 1) & 1}


def default_action(sig: int) -> str:
    """What SIG_DFL does with ``sig`` (signal(7))."""
    return _DEFAULTS.get(sig, TERM)


def signame(sig: int) -> str:
    if sig in SIGNAMES:
        return SIGNAMES[sig]
    if SIGRTMIN <= sig < NSIG:
        return f"SIGRTMIN+{sig - SIGRTMIN}"
    return f"signal {sig}"


def check_signal(sig: object, allow_zero: bool = True) -> int:
    """A valid signal number (0 only where kill's existence check allows it), else EINVAL."""
    if isinstance(sig, bool) or not isinstance(sig, int):
        raise TypeError(f"a signal must be an int, not {type(sig).__name__}")
    if sig < 0 or sig >= NSIG or (sig == 0 and not allow_zero):
        raise oserror(errno.EINVAL)
    return int(sig)


def kill_ok(sender_creds: Creds, target_creds: Creds) -> bool:
    """kill_ok_by_cred(): matching real/effective uid against real/saved, or CAP_KILL in
    the target's user namespace."""
    s, t = sender_creds, target_creds
    if s.euid in (t.suid, t.uid) or s.uid in (t.suid, t.uid):
        return True
    return s.capable_over(t, CAP_KILL)


def kill_si_uid(sender: Creds, target: Creds) -> int:
    """The si_uid of a signal ``sender`` sends ``target`` with kill(2): the sender's uid as
    its own user namespace sees it (prepare_kill_siginfo), then as the target's does
    (:func:`map_si_uid`)."""
    ns = sender.user_ns
    uid: int | None = sender.uid if ns is None else map_id_up(ns.uid_map, sender.uid)
    return map_si_uid(ns, OVERFLOW_ID if uid is None else uid, target.user_ns)


def map_si_uid(sender_ns: UserNamespace | None, si_uid: int,
               target_ns: UserNamespace | None) -> int:
    """send_signal_locked(): ``si_uid``, a uid of the sending task's user namespace
    (``sender_ns``), as the target's user namespace sees it: unchanged in the same one;
    else the kernel uid it names there, mapped into the target's (65534 when either
    namespace has no mapping for it). The user namespaces are the credentials' (None: the
    initial one)."""
    if sender_ns is target_ns:
        return si_uid
    kuid = si_uid if sender_ns is None else map_id_down(sender_ns.uid_map, si_uid)
    if kuid is None:
        return OVERFLOW_ID
    if target_ns is None:
        return kuid
    uid = map_id_up(target_ns.uid_map, kuid)
    return OVERFLOW_ID if uid is None else uid


def is_ignored(proc: ProcessState, sig: int) -> bool:
    """sig_ignored(): dropped at generation time (handler SIG_IGN, or SIG_DFL that ignores)."""
    handler = proc.sighand.get(sig, SIG_DFL)
    if handler is SIG_IGN:
        return True
    return handler is SIG_DFL and default_action(sig) == IGNORE


def handler_due(proc: ProcessState) -> bool:
    """A pending, unblocked signal has a handler: it runs on the way out of the system call,
    which then fails with EINTR instead of restarting (ERESTARTNOHAND, ERESTARTSYS)."""
    for sig in proc.sigpending:
        if not proc.sigmask >> (sig - 1) & 1 and callable(proc.sighand.get(sig)):
            return True
    return False


# --- the pending list ------------------------------------------------------------------
def queue(t: ProcessState, sig: int, info: SigInfo | None = None) -> None:
    """Make ``sig`` pending for ``t`` with its siginfo: a standard signal is pending once
    (a second one is lost, siginfo too); a real-time signal queues every instance, each
    with its own siginfo (``t.siginfo``: signal -> the siginfo of each pending instance, in
    order, kept only for signals that have one)."""
    if sig < SIGRTMIN and sig in t.sigpending:
        return
    infos = t.siginfo.get(sig) if t.siginfo else None
    if info is not None and infos is None:
        if t.siginfo is None:
            t.siginfo = {}
        infos = t.siginfo[sig] = [None] * t.sigpending.count(sig)
    t.sigpending.append(sig)
    if infos is not None:
        infos.append(info)


def dequeue(t: ProcessState, sig: int) -> SigInfo | None:
    """Take the oldest pending instance of ``sig``; its siginfo, or None."""
    t.sigpending.remove(sig)
    siginfo = t.siginfo
    if not siginfo:
        return None
    infos = siginfo.get(sig)
    if not infos:
        return None
    info = infos.pop(0)
    if not infos:
        del siginfo[sig]
    return info


def flush(t: ProcessState, sig: int) -> None:
    """Drop every pending instance of ``sig`` (an ignored signal, SIGCONT against stops)."""
    if sig in t.sigpending:
        t.sigpending[:] = [s for s in t.sigpending if s != sig]
        if t.siginfo:
            t.siginfo.pop(sig, None)
