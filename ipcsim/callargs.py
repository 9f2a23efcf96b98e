"""System call arguments as a man page writes them: ``msgget(IPC_PRIVATE, IPC_CREAT|0o600)``
rather than ``msgget(0, 896)``. Used where a run is shown to people (the timeline's text and
tooltips); the trace itself keeps the plain values."""
from __future__ import annotations

from typing import Callable

from . import constants as c
from .kernel.signals import signame


def _names(*names: str) -> dict[object, str]:
    return {getattr(c, n): n for n in names}


_CTL_COMMON = _names("IPC_RMID", "IPC_SET", "IPC_STAT", "IPC_INFO")
_CTL = {
    "msgctl": {**_CTL_COMMON, **_names("MSG_STAT", "MSG_INFO", "MSG_STAT_ANY")},
    "semctl": {**_CTL_COMMON, **_names("GETPID", "GETVAL", "GETALL", "GETNCNT", "GETZCNT",
                                       "SETVAL", "SETALL", "SEM_STAT", "SEM_INFO",
                                       "SEM_STAT_ANY")},
    "shmctl": {**_CTL_COMMON, **_names("SHM_LOCK", "SHM_UNLOCK", "SHM_STAT", "SHM_INFO",
                                       "SHM_STAT_ANY")},
}
_GET_FLAGS = ("IPC_CREAT", "IPC_EXCL", "SHM_HUGETLB", "SHM_NORESERVE")
_CLONE_FLAGS = tuple(n for n in dir(c) if n.startswith("CLONE_") and n != "CLONE_NS_TYPES")


def _bits(value: object, names: tuple[str, ...], rest: Callable[[int], str] | None = None) -> str:
    """``A|B|rest``: the named bits of ``value`` in the order given, then what is left."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return repr(value)
    parts = []
    for name in names:
        bit: int = getattr(c, name)
        if bit and value & bit == bit:
            parts.append(name)
            value &= ~bit
    if value or not parts:
        parts.append("0" if not value else rest(value) if rest else hex(value))
    return "|".join(parts)


def _mode(value: int) -> str:
    return f"0o{value:o}"


def key(value: object) -> str:
    """A key_t as ipcs shows it: hex, a negative one as its unsigned 32 bits."""
    if value == c.IPC_PRIVATE and isinstance(value, int):
        return "IPC_PRIVATE"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value & 0xFFFFFFFF:#x}" if -(1 << 31) <= value < 0 else hex(value)
    return repr(value)


def get_flags(value: object) -> str:
    return _bits(value, _GET_FLAGS, _mode)


def nowait_flags(value: object) -> str:
    return _bits(value, ("IPC_NOWAIT",))


def msgrcv_flags(value: object) -> str:
    return _bits(value, ("IPC_NOWAIT", "MSG_NOERROR", "MSG_EXCEPT", "MSG_COPY"))


def shmat_flags(value: object) -> str:
    return _bits(value, ("SHM_RDONLY", "SHM_RND", "SHM_REMAP", "SHM_EXEC"))


def sops(value: object) -> str:
    if not isinstance(value, (list, tuple)):
        return repr(value)
    out = []
    for op in value:
        if isinstance(op, (list, tuple)) and len(op) == 3:
            num, delta, flg = op
            out.append(f"({num!r}, {delta!r}, {_bits(flg, ('IPC_NOWAIT', 'SEM_UNDO'))})"
                       if flg else f"({num!r}, {delta!r}, 0)")
        else:
            out.append(repr(op))
    return "[" + ", ".join(out) + "]"


def clone_flags(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return repr(value)
    low = value & 0xFF
    text = _bits(value & ~0xFF, _CLONE_FLAGS) if value & ~0xFF else ""
    if low:
        text = f"{text}|{signame(low)}" if text else signame(low)
    return text or "0"


def signal(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65:
        return signame(value)
    return repr(value)


def oflag(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return repr(value)
    acc = {c.O_RDONLY: "O_RDONLY", c.O_WRONLY: "O_WRONLY", c.O_RDWR: "O_RDWR"}.get(
        value & c.O_ACCMODE, hex(value & c.O_ACCMODE))
    rest = value & ~c.O_ACCMODE
    return acc if not rest else f"{acc}|{_bits(rest, ('O_CREAT', 'O_EXCL', 'O_NONBLOCK'))}"


def _ctl(call: str) -> Callable[[object], str]:
    table = _CTL[call]
    return lambda value: table.get(value, repr(value))


def _mode_arg(value: object) -> str:
    return _mode(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)


# call -> a decoder per position (None: as it is)
DECODERS: dict[str, tuple[Callable[[object], str] | None, ...]] = {
    "msgget": (key, get_flags),
    "msgsnd": (None, None, None, nowait_flags),
    "msgrcv": (None, None, None, msgrcv_flags),
    "msgctl": (None, _ctl("msgctl")),
    "semget": (key, None, get_flags),
    "semop": (None, sops),
    "semtimedop": (None, sops),
    "semctl": (None, None, _ctl("semctl")),
    "shmget": (key, None, get_flags),
    "shmat": (None, None, shmat_flags),
    "shmctl": (None, _ctl("shmctl")),
    "clone": (clone_flags,),
    "unshare": (clone_flags,),
    "setns": (None, clone_flags),
    "kill": (None, signal),
    "signal": (signal,),
    "mq_open": (None, oflag, _mode_arg),
    "mkdir": (None, _mode_arg),
    "chmod": (None, _mode_arg),
}


def format_args(name: str, args: tuple[object, ...], plain: Callable[[object], str] = repr) -> str:
    """The arguments of a call to ``name``, decoded where the call has a decoder for that
    position; ``plain`` shows the rest."""
    decoders = DECODERS.get(name, ())
    out = []
    for i, value in enumerate(args):
        decode = decoders[i] if i < len(decoders) else None
        out.append(decode(value) if decode is not None else plain(value))
    return ", ".join(out)
