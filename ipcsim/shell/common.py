"""What every simulated command shares: its context, exits, messages, users and times.

A command is a function ``fn(ctx, args) -> exit status``. It acts only through ``ctx.proc``,
the simulated process that runs it (its system calls and the files it reads), as the real
tool acts through the kernel; so it sees that process's IPC namespace and credentials.
Messages follow util-linux's ``warnx``/``err``/``errtryhelp``: ``prog: message`` on stderr.
"""
from __future__ import annotations

import errno
import os
from typing import Callable

from ..kernel.process import Process

# Linux's strerror() texts for the errnos the tools can meet (os.strerror differs by OS).
_STRERROR = {
    0: "Success",
    errno.EPERM: "Operation not permitted",
    errno.ENOENT: "No such file or directory",
    errno.ESRCH: "No such process",
    errno.EINTR: "Interrupted system call",
    errno.EBADF: "Bad file descriptor",
    errno.EAGAIN: "Resource temporarily unavailable",
    errno.ENOMEM: "Cannot allocate memory",
    errno.EACCES: "Permission denied",
    errno.EBUSY: "Device or resource busy",
    errno.EEXIST: "File exists",
    errno.ENOTDIR: "Not a directory",
    errno.EISDIR: "Is a directory",
    errno.EINVAL: "Invalid argument",
    errno.ENFILE: "Too many open files in system",
    errno.EMFILE: "Too many open files",
    errno.ENOSPC: "No space left on device",
    errno.ERANGE: "Numerical result out of range",
    errno.ENAMETOOLONG: "File name too long",
    errno.ENOSYS: "Function not implemented",
    errno.EIDRM: "Identifier removed",
    errno.ENOMSG: "No message of desired type",
    errno.EMSGSIZE: "Message too long",
    errno.E2BIG: "Argument list too long",
    errno.ETIMEDOUT: "Connection timed out",
}


def strerror(err: int | None) -> str:
    """Linux's text for ``err``."""
    if err is None:
        err = 0
    return _STRERROR.get(err) or os.strerror(err)


# The simulated machine's /etc/passwd and /etc/group (as on Debian).
PASSWD = {0: "root", 1: "daemon", 2: "bin", 3: "sys", 65534: "nobody"}
GROUPS = {0: "root", 1: "daemon", 2: "bin", 3: "sys", 65534: "nogroup"}

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ctime(t: int) -> str:
    """ctime(3) without its newline, in UTC (the simulated machine's time zone)."""
    import time
    tm = time.gmtime(t)
    return (f"{_DAYS[tm.tm_wday]} {_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {tm.tm_year}")


class Exit(Exception):
    """Ends a command (exit(3)) with ``status``."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class Ctx:
    """What a running command sees: its process, its output streams and its shell."""

    def __init__(self, shell, proc: Process, prog: str, out: Callable[[str], object],
                 err: Callable[[str], object], stdin: str = ""):
        self.shell = shell
        self.proc = proc
        self.prog = prog
        self.write = out
        self.ewrite = err
        self.stdin = stdin

    # util-linux's c.h helpers
    def warnx(self, msg: str) -> None:
        self.ewrite(f"{self.prog}: {msg}\n")

    def warn(self, msg: str, err: int | None) -> None:
        self.ewrite(f"{self.prog}: {msg}: {strerror(err)}\n")

    def errx(self, status: int, msg: str):
        self.warnx(msg)
        raise Exit(status)

    def err(self, status: int, msg: str, err: int | None):
        self.warn(msg, err)
        raise Exit(status)

    def errtryhelp(self, status: int = 1):
        self.ewrite(f"Try '{self.prog} --help' for more information.\n")
        raise Exit(status)

    def usage(self, text: str):
        """--help: the tool's help on stdout, exit 0."""
        self.write(text)
        raise Exit(0)

    def print_version(self):
        """--version, as util-linux 2.38.1 prints it."""
        self.write(f"{self.prog} from util-linux 2.38.1\n")
        raise Exit(0)

    def bad_option(self, message: str):
        """What a tool does when getopt_long returns '?'."""
        self.warnx(message)
        self.errtryhelp(1)


# --- util-linux's strutils --------------------------------------------------------------
def c_strtol(text: str, base: int = 10, unsigned: bool = False) -> tuple[int | None, str]:
    """strtol/strtoul: (value, rest). value None when no digits were read (end == str).
    Leading white space and a sign are accepted, as in C; base 0 reads 0x and 0 prefixes."""
    s = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if base in (0, 16) and s[:2].lower() == "0x" and len(s) > 2 and _digit(s[2], 16):
        s, base = s[2:], 16
    elif base == 0:
        base = 8 if s[:1] == "0" else 10
    n = 0
    while n < len(s) and _digit(s[n], base):
        n += 1
    if n == 0:
        return None, text
    value = sign * int(s[:n], base)
    return value, s[n:]


def _digit(ch: str, base: int) -> bool:
    try:
        return int(ch, 36) < base
    except ValueError:
        return False


def strtonum_or_err(ctx: Ctx, text: str, msg: str, lo: int, hi: int, base: int = 10) -> int:
    """strtos32_or_err & co.: the whole word a number in [lo, hi], else the tool's error."""
    value, rest = c_strtol(text, base)
    if value is None or rest or not text:
        ctx.errx(1, f"{msg}: '{text}'")
    if not lo <= value <= hi:
        ctx.err(1, f"{msg}: '{text}'", errno.ERANGE)
    return value


_SUFFIXES = "KMGTPEZY"


def parse_size(text: str) -> int | None:
    """strtosize(): a number with an optional K/M/G/T/P/E/Z/Y suffix (KiB = K = 1024,
    KB = 1000) and an optional decimal fraction; None when it is not a size."""
    s = text.strip()
    if not s or s[0] == "-":
        return None
    n = 0
    while n < len(s) and s[n].isdigit():
        n += 1
    if n == 0:
        return None
    whole = int(s[:n])
    frac = ""
    rest = s[n:]
    if rest[:1] == ".":
        m = 1
        while m < len(rest) and rest[m].isdigit():
            m += 1
        frac, rest = rest[1:m], rest[m:]
    if not rest:
        return whole if not frac else None
    unit = rest[0].upper()
    if unit not in _SUFFIXES:
        return None
    tail = rest[1:]
    if tail in ("", "iB", "ib"):
        base = 1024
    elif tail in ("B", "b"):
        base = 1000
    else:
        return None
    mult = base ** (_SUFFIXES.index(unit) + 1)
    value = whole * mult
    if frac:
        value += int(frac) * mult // 10 ** len(frac)
    return value


def size_to_human(size: int) -> str:
    """size_to_human_string(SIZE_SUFFIX_1LETTER): 4.9K, 16E, 0B."""
    exp = 0
    for shift in range(10, 70, 10):
        if size < (1 << shift):
            exp = shift - 10
            break
    else:
        exp = 60
    letter = "BKMGTPE"[exp // 10]
    dec = size >> exp if exp else size
    frac = size % (1 << exp) if exp else 0
    if frac:
        if frac >= (2 ** 64 - 1) // 1000:
            frac = ((frac // 1024) * 1000) // (1 << (exp - 10))
        else:
            frac = (frac * 1000) // (1 << exp)
        frac = ((frac + 50) // 100) * 10
        if frac == 100:
            dec += 1
            frac = 0
    if frac:
        text = f"{dec}.{frac:02d}"
        if text.endswith("0"):
            text = text[:-1]
        return text + letter
    return f"{dec}{letter}"
