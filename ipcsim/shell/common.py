"""What every simulated command shares: its context, exits, messages, users and times.

A command is a function ``fn(ctx, args) -> exit status``. It acts only through ``ctx.proc``,
the simulated process that runs it (its system calls and the files it reads), as the real
tool acts through the kernel; so it sees that process's IPC namespace and credentials.
Messages follow util-linux's ``warnx``/``err``/``errtryhelp``: ``prog: message`` on stderr.
"""
from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Callable, NoReturn

from ..kernel import vfs
from ..kernel.process import Process
from ..kernel.procfs import ProcRoot

if TYPE_CHECKING:
    from .shell import Shell

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


SIGINT, SIGKILL, SIGSEGV, SIGPIPE, SIGTERM = 2, 9, 11, 13, 15

# Linux's strsignal() texts (glibc).
_STRSIGNAL = {
    1: "Hangup", 2: "Interrupt", 3: "Quit", 4: "Illegal instruction",
    5: "Trace/breakpoint trap", 6: "Aborted", 7: "Bus error", 8: "Floating point exception",
    9: "Killed", 10: "User defined signal 1", 11: "Segmentation fault",
    12: "User defined signal 2", 13: "Broken pipe", 14: "Alarm clock", 15: "Terminated",
    16: "Stack fault", 17: "Child exited", 18: "Continued", 19: "Stopped (signal)",
    20: "Stopped", 21: "Stopped (tty input)", 22: "Stopped (tty output)",
    23: "Urgent I/O condition", 24: "CPU time limit exceeded",
    25: "File size limit exceeded", 26: "Virtual timer expired",
    27: "Profiling timer expired", 28: "Window changed", 29: "I/O possible",
    30: "Power failure", 31: "Bad system call",
}


def strsignal(sig: int) -> str:
    """Linux's text for ``sig``."""
    if sig in _STRSIGNAL:
        return _STRSIGNAL[sig]
    if 34 <= sig <= 64:
        return f"Real-time signal {sig - 34}"
    return f"Unknown signal {sig}"


# The simulated machine's /etc/passwd and /etc/group: a fresh Debian 12's (base-passwd, and
# apt's _apt). Each user's login group, as /etc/passwd gives it, is in LOGIN_GID.
_USERS = ((0, "root", 0), (1, "daemon", 1), (2, "bin", 2), (3, "sys", 3), (4, "sync", 65534),
          (5, "games", 60), (6, "man", 12), (7, "lp", 7), (8, "mail", 8), (9, "news", 9),
          (10, "uucp", 10), (13, "proxy", 13), (33, "www-data", 33), (34, "backup", 34),
          (38, "list", 38), (39, "irc", 39), (42, "_apt", 65534), (65534, "nobody", 65534))
PASSWD = {uid: name for uid, name, _gid in _USERS}
LOGIN_GID = {uid: gid for uid, _name, gid in _USERS}
GROUPS = {0: "root", 1: "daemon", 2: "bin", 3: "sys", 4: "adm", 5: "tty", 6: "disk", 7: "lp",
          8: "mail", 9: "news", 10: "uucp", 12: "man", 13: "proxy", 15: "kmem", 20: "dialout",
          21: "fax", 22: "voice", 24: "cdrom", 25: "floppy", 26: "tape", 27: "sudo",
          29: "audio", 30: "dip", 33: "www-data", 34: "backup", 37: "operator", 38: "list",
          39: "irc", 40: "src", 42: "shadow", 43: "utmp", 44: "video", 45: "sasl",
          46: "plugdev", 50: "staff", 60: "games", 100: "users", 65534: "nogroup"}

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

    def __init__(self, shell: Shell, proc: Process, prog: str, out: Callable[[str], object],
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

    def errx(self, status: int, msg: str) -> NoReturn:
        self.warnx(msg)
        raise Exit(status)

    def err(self, status: int, msg: str, err: int | None) -> NoReturn:
        self.warn(msg, err)
        raise Exit(status)

    def errtryhelp(self, status: int = 1) -> NoReturn:
        self.ewrite(f"Try '{self.prog} --help' for more information.\n")
        raise Exit(status)

    def usage(self, text: str) -> NoReturn:
        """--help: the tool's help on stdout, exit 0."""
        self.write(text)
        raise Exit(0)

    def print_version(self) -> NoReturn:
        """--version, as util-linux 2.38.1 prints it."""
        self.write(f"{self.prog} from util-linux 2.38.1\n")
        raise Exit(0)

    def bad_option(self, message: str) -> NoReturn:
        """What a tool does when getopt_long returns '?'."""
        self.warnx(message)
        self.errtryhelp(1)


# --- util-linux's strutils --------------------------------------------------------------
def c_strtol(text: str, base: int = 10, unsigned: bool = False) -> tuple[int | None, str]:
    """strtol/strtoul: (value, rest). value None when no digits were read (end == str).
    Leading white space and a sign are accepted, as in C; base 0 reads 0x and 0 prefixes."""
    s = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if s and s[0] in "+-":
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
    digits = s[:n].lstrip("0")
    if len(digits) > _MAX_DIGITS:
        # beyond every C integer type (where strtol saturates with ERANGE) and beyond
        # what int() converts: one number out of every range stands for them all
        return sign * base ** _MAX_DIGITS, s[n:]
    value = sign * int(digits or "0", base)
    return value, s[n:]


# More digits than any C integer type holds in any base (2**128 has 39 decimal digits).
_MAX_DIGITS = 130


def _digit(ch: str, base: int) -> bool:
    """An ASCII digit of ``base`` (C's isdigit/isalpha know no other script)."""
    return ch in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" and \
        int(ch, 36) < base


def strtonum_or_err(ctx: Ctx, text: str, msg: str, lo: int, hi: int, base: int = 10) -> int:
    """strtos32_or_err & co.: the whole word a number in [lo, hi], else the tool's error."""
    value, rest = c_strtol(text, base)
    if value is None or rest or not text:
        ctx.errx(1, f"{msg}: '{text}'")
    if not lo <= value <= hi:
        ctx.err(1, f"{msg}: '{text}'", errno.ERANGE)
    return value


_SUFFIXES = "KMGTPEZY"
_UINTMAX = 2 ** 64 - 1


def _strtoumax0(s: str) -> tuple[int | None, str, int]:
    """strtoumax(s, &end, 0): (value or None when no digits, rest, errno)."""
    value, rest = c_strtol(s, 0)
    if value is None:
        return None, s, 0
    if value < 0:                     # strtoumax negates in unsigned arithmetic
        if -value > _UINTMAX:
            return _UINTMAX, rest, errno.ERANGE
        return (value + 2 ** 64) & _UINTMAX, rest, 0
    if value > _UINTMAX:
        return _UINTMAX, rest, errno.ERANGE
    return value, rest, 0


def parse_size_err(text: str) -> tuple[int, int]:
    """util-linux's parse_size(): ``(value, errno)``, errno 0 on success. A number (C's
    base 0: 0x.. hexadecimal, 0.. octal) with an optional K/M/G/T/P/E/Z/Y suffix (KiB = K =
    1024, KB = 1000, lower case letters too) and an optional decimal fraction before it."""
    if not text or text.lstrip(" \t\n\r\f\v")[:1] == "-":
        return 0, errno.EINVAL
    x, p, err = _strtoumax0(text)
    if x is None or (err and x in (_UINTMAX, 0)):
        return 0, err or errno.EINVAL
    if not p:
        return x, 0
    frac, frac_zeros, base = 0, 0, 1024
    while True:                       # check_suffix
        if p[1:2] == "i" and p[2:3] in ("B", "b") and not p[3:]:
            base = 1024
        elif p[1:2] in ("B", "b") and not p[2:]:
            base = 1000
        elif p[1:]:
            if frac == 0 and p[:1] == ".":
                q = p[1:]
                while q[:1] == "0":
                    frac_zeros += 1
                    q = q[1:]
                if q[:1].isascii() and q[:1].isdigit():
                    got, end, err = _strtoumax0(q)
                    if got is None or (err and got in (_UINTMAX, 0)):
                        return 0, err or errno.EINVAL
                    frac = got
                else:
                    end = q
                if frac and not end:
                    return 0, errno.EINVAL
                p = end
                continue
            return 0, errno.EINVAL
        break
    if p[:1] in _SUFFIXES and p[:1]:
        pwr = _SUFFIXES.index(p[0]) + 1
    elif p[:1] in _SUFFIXES.lower() and p[:1]:
        pwr = _SUFFIXES.lower().index(p[0]) + 1
    else:
        return 0, errno.EINVAL
    x, rc = _scale(x, base, pwr)
    if frac and pwr:
        frac_div, frac_poz = 10, 1
        frac_base, _ = _scale(1, base, pwr)
        while frac_div < frac:
            if frac_div <= _UINTMAX // 10:
                frac_div *= 10
            else:
                frac //= 10
        for _ in range(frac_zeros):
            if frac_div <= _UINTMAX // 10:
                frac_div *= 10
            else:
                frac //= 10
        while True:
            seg = frac % 10
            seg_div = frac_div // frac_poz
            frac //= 10
            frac_poz *= 10
            if seg and seg_div // seg:
                x = (x + frac_base // (seg_div // seg)) & _UINTMAX
            if not frac:
                break
    return x, rc


def _scale(x: int, base: int, power: int) -> tuple[int, int]:
    """do_scale_by_power(): x * base**power, or ERANGE and the last value that fit."""
    for _ in range(power):
        if _UINTMAX // base < x:
            return x, errno.ERANGE
        x *= base
    return x, 0


def parse_size(text: str) -> int | None:
    """strtosize(): the size, or None when it is not one (see :func:`parse_size_err`)."""
    value, err = parse_size_err(text)
    return None if err else value


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


def proc_pids(p: Process) -> list[tuple[int, int, Process]]:
    """What ps and lsns find in /proc as ``p`` sees it: each process there (zombies too), as
    (its number, its parent's number, the process), numbered in the PID namespace of that
    /proc (the mounter's: after ``unshare -pf --mount-proc``, the new namespace's), the
    parent's 0 when that namespace does not see it (/proc/PID/stat's ppid). Empty when
    /proc is not a proc mount."""
    try:
        root = vfs.lookup(p, "/proc").node
        names = p.listdir("/proc")
    except OSError:
        return []
    if not isinstance(root, ProcRoot):
        return []
    ns = root.pid_ns
    found = []
    for name in sorted((n for n in names if n.isdigit()), key=int):
        q = ns.find(int(name))
        if q is not None:
            parent = q.parent
            found.append((int(name), parent.pid_in(ns) if parent is not None else 0, q))
    return found
