"""The smaller commands of the simulated shell: cat, ls, mount, umount, sysctl, ps, kill,
sleep, ``mq``, a small tool for POSIX message queues, and ``sysv``, one for System V
messages, semaphores and attachments.

Each acts through the process that runs it, so what it sees and may do is that process's
(its namespace, its credentials); messages and exit codes are those of coreutils,
util-linux and procps-ng for the same failures.
"""
from __future__ import annotations

import errno
import posixpath
from typing import TYPE_CHECKING, Any

from ..constants import (IPC_CREAT, IPC_NOWAIT, MS_BIND, O_CREAT, O_EXCL, O_NONBLOCK,
                         O_RDONLY, O_RDWR, O_WRONLY, SEM_UNDO, SETVAL, SHM_LOCK, SHM_UNLOCK)
from ..errors import DeadlockError, UnsupportedError
from ..kernel.mqueue import MqAttr
from ..kernel.signals import SIGNAMES
from ..sim.clock import KTIME_MAX, NS
from .common import PASSWD, Ctx, c_strtol, proc_pids, strerror
from .getopt import GetoptError, LongOpt, getopt_long, getopt_until_error

if TYPE_CHECKING:
    from ..kernel.process import Process

_SIGNUMS = {name[3:]: num for num, name in SIGNAMES.items()}     # "USR1" -> 10


# --- cat, ls -------------------------------------------------------------------------------
_COREUTILS_VERSION = """{prog} (GNU coreutils) 9.1
Copyright (C) 2022 Free Software Foundation, Inc.
License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.
This is free software: you are free to change and redistribute it.
There is NO WARRANTY, to the extent permitted by law.

Written by {authors}.
"""
_AUTHORS = {"cat": "Torbjorn Granlund and Richard M. Stallman",
            "ls": "Richard M. Stallman and David MacKenzie",
            "mkdir": "David MacKenzie",
            "touch": "Paul Rubin, Arnold Robbins, Jim Kingdon,\nDavid MacKenzie, and Randy Smith"}
_LIBMOUNT = " (libmount 2.38.1: selinux, smack, btrfs, verity, namespaces, assert, debug)"


_COREUTILS_HELP = {
    "mkdir": """Usage: mkdir [OPTION]... DIRECTORY...
Create the DIRECTORY(ies), if they do not already exist.

Mandatory arguments to long options are mandatory for short options too.
  -m, --mode=MODE   set file mode (as in chmod), not a=rwx - umask
  -p, --parents     no error if existing, make parent directories as needed,
                    with their file modes unaffected by any -m option.
""",
    "touch": """Usage: touch [OPTION]... FILE...
Update the access and modification times of each FILE to the current time.

A FILE argument that does not exist is created empty, unless -c or -h
is supplied.

  -c, --no-create        do not create any files
""",
}


def _coreutils_version(ctx: Ctx, args: list[str]) -> bool:
    """--version (or, for a tool with a help text here, --help) as the first option
    (coreutils parses it before any file is read)."""
    for a in args:
        if a == "--":
            return False
        if a.startswith("--v") and "--version".startswith(a):     # (a unique prefix)
            ctx.write(_COREUTILS_VERSION.format(prog=ctx.prog, authors=_AUTHORS[ctx.prog]))
            return True
        if a.startswith("--h") and "--help".startswith(a) and ctx.prog in _COREUTILS_HELP:
            ctx.write(_COREUTILS_HELP[ctx.prog]
                      + "\nThe ipcsim shell models the options above only.\n")
            return True
    return False


def cat(ctx: Ctx, args: list[str]) -> int:
    """cat [-n] FILE...: print files ("-" or no FILE: what was redirected into it)."""
    if _coreutils_version(ctx, args):
        return 0
    if not args:
        ctx.write(ctx.stdin)
        return 0
    number, done, mid = False, 0, False     # -n: lines numbered, one ending mid-line
    if args and args[0] == "-n":
        number, args = True, args[1:]
        if not args:
            args = ["-"]
    status = 0
    for path in args:
        if path.startswith("-") and path != "-":
            letter = next((c for c in path[1:] if c not in "AbeEnstTuv"), None)
            if letter is not None and not path.startswith("--"):
                ctx.warnx(f"invalid option -- '{letter}'")
                ctx.errtryhelp(1)
            ctx.warnx(f"option '{path}' is not modelled by ipcsim (cat [-n] FILE... only)")
            return 1
        try:
            text = ctx.stdin if path == "-" else ctx.proc.read_file(ctx.shell.abspath(path))
        except OSError as e:
            ctx.warnx(f"{path}: {strerror(e.errno)}")
            status = 1
            continue
        if number:                        # -n: lines numbered on, across the files
            lines = text.split("\n")
            out = []
            for i, line in enumerate(lines):
                if i == len(lines) - 1 and not line:
                    break
                if i or not mid:
                    done += 1
                    out.append(f"{done:6d}\t")
                out.append(line + ("\n" if i < len(lines) - 1 else ""))
            mid = not text.endswith("\n") and bool(text) or mid and not text
            text = "".join(out)
        ctx.write(text)
    return status


def ls(ctx: Ctx, args: list[str]) -> int:
    """ls [-1] [-a] [-l] [PATH...]: names one per line, sorted (as ls prints into a pipe or
    a file); -l: the long format (mode, links, owner, group, size, time, name, and where a
    link such as /proc/PID/ns/ipc points). The simulated files have no dot files, so -a
    changes nothing."""
    if _coreutils_version(ctx, args):
        return 0
    long = False
    for a in args:
        if a.startswith("-") and len(a) > 1 and set(a[1:]) <= set("1al") \
                and not a.startswith("--"):
            long = long or "l" in a
        elif a.startswith("-") and len(a) > 1:
            letter = next((c for c in a[1:] if c not in
                           "abcdfghiklmnopqrstuvwxABCDFGHILNQRSTUXZ1"), None)
            if letter is not None and not a.startswith("--"):
                ctx.warnx(f"invalid option -- '{letter}'")
                ctx.errtryhelp(2)
            ctx.warnx(f"option '{a}' is not modelled by ipcsim (only -1, -a and -l)")
            return 2
    paths = [a for a in args if not (a.startswith("-") and len(a) > 1)] or ["."]
    if long:
        return _ls_long(ctx, paths)
    status = 0
    out = []
    for n, path in enumerate(paths):
        target = ctx.shell.abspath(ctx.shell.cwd if path == "." else path)
        try:
            names = ctx.proc.listdir(target)
        except NotADirectoryError:
            out.append(path + "\n")
            continue
        except OSError as e:
            if e.errno == errno.ENOTDIR:
                out.append(path + "\n")
                continue
            ctx.write("".join(out))
            out.clear()
            ctx.ewrite(f"ls: cannot access '{path}': {strerror(e.errno)}\n")
            status = 2
            continue
        if len(paths) > 1:
            out.append(("\n" if n else "") + f"{path}:\n")
        out.extend(name + "\n" for name in sorted(names))
    ctx.write("".join(out))
    return status


_S_IFLNK = 0o120000
_FILE_TYPES = {0o040000: "d", 0o120000: "l", 0o100000: "-", 0o020000: "c", 0o060000: "b",
               0o010000: "p", 0o140000: "s"}


def _mode_text(mode: int) -> str:
    """``drwxrwxrwt``: the type letter and the permission bits, as ls -l shows them."""
    out = [_FILE_TYPES.get(mode & 0o170000, "?")]
    for shift, special, letter in ((6, 0o4000, "s"), (3, 0o2000, "s"), (0, 0o1000, "t")):
        bits = mode >> shift
        out.append("r" if bits & 4 else "-")
        out.append("w" if bits & 2 else "-")
        x = bool(bits & 1)
        if mode & special:
            out.append(letter if x else letter.upper())
        else:
            out.append("x" if x else "-")
    return "".join(out)


def _ls_entry(ctx: Ctx, path: str) -> tuple[int, int, int, int, int, str] | None:
    """(mode, links, uid, gid, size, link target) of ``path`` as lstat and readlink see it
    (a /proc/PID/ns entry is a link), or None when the model keeps no stat of it."""
    p = ctx.proc
    try:
        return (_S_IFLNK | 0o777, 1, 0, 0, 0, p.readlink(path))
    except OSError as e:
        if e.errno != errno.EINVAL:
            raise
    try:
        st = p.stat(path)
    except UnsupportedError:
        return None
    return (st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size, "")


def _ls_long(ctx: Ctx, paths: list[str]) -> int:
    """ls -l: for a directory, ``total 0`` (the model's files take no blocks) and a line
    per entry; for any other operand, its line."""
    from .common import GROUPS
    import time
    tm = time.gmtime(ctx.proc.kernel.clock.wall)
    stamp = time.strftime("%b ", tm) + f"{tm.tm_mday:2d} " + time.strftime("%H:%M", tm)
    status = 0
    out: list[str] = []
    for n, path in enumerate(paths):
        target = ctx.shell.abspath(ctx.shell.cwd if path == "." else path)
        try:
            entries = [(name, target.rstrip("/") + "/" + name)
                       for name in sorted(ctx.proc.listdir(target))]
            is_dir = True
        except OSError as e:
            if e.errno != errno.ENOTDIR:
                ctx.write("".join(out))
                out.clear()
                ctx.ewrite(f"ls: cannot access '{path}': {strerror(e.errno)}\n")
                status = 2
                continue
            entries, is_dir = [(path, target)], False
        rows = []
        for name, full in entries:
            try:
                entry = _ls_entry(ctx, full)
            except OSError as e:
                ctx.ewrite(f"ls: cannot access '{full}': {strerror(e.errno)}\n")
                status = 1
                continue
            if entry is None:
                ctx.ewrite(f"ls: {full}: ipcsim keeps no stat of this file\n")
                status = 1
                continue
            mode, links, uid, gid, size, link = entry
            rows.append((_mode_text(mode), str(links), PASSWD.get(uid, str(uid)),
                         GROUPS.get(gid, str(gid)), str(size),
                         name + (f" -> {link}" if link else "")))
        if len(paths) > 1 and is_dir:
            out.append(("\n" if n else "") + f"{path}:\n")
        if is_dir:
            out.append("total 0\n")
        widths = [max((len(r[i]) for r in rows), default=0) for i in range(5)]
        for r in rows:
            out.append(f"{r[0]} {r[1]:>{widths[1]}} {r[2]:<{widths[2]}} {r[3]:<{widths[3]}} "
                       f"{r[4]:>{widths[4]}} {stamp} {r[5]}\n")
    ctx.write("".join(out))
    return status


_AUTHORS["readlink"] = "Dmitry V. Levin"


def readlink(ctx: Ctx, args: list[str]) -> int:
    """readlink [-n] [-v] LINK...: where symbolic links such as /proc/PID/ns/ipc point."""
    if _coreutils_version(ctx, args):
        return 0
    try:
        opts, operands = getopt_long(args, "nvqsz", (LongOpt("no-newline", 0, "n"),
                                                     LongOpt("verbose", 0, "v"),
                                                     LongOpt("quiet", 0, "q"),
                                                     LongOpt("silent", 0, "s"),
                                                     LongOpt("zero", 0, "z")))
    except GetoptError as e:
        ctx.warnx(str(e) + " (ipcsim models readlink's -n -v -q -s -z)")
        ctx.errtryhelp(1)
    keys = {k for k, _ in opts}
    if not operands:
        ctx.warnx("missing operand")
        ctx.errtryhelp(1)
    end = "\0" if "z" in keys else "\n"
    if "n" in keys and len(operands) == 1:
        end = ""
    status = 0
    for path in operands:
        try:
            ctx.write(ctx.proc.readlink(ctx.shell.abspath(path)) + end)
        except OSError as e:
            if "v" in keys and not keys & {"q", "s"}:
                ctx.warnx(f"{path}: {strerror(e.errno)}")
            status = 1
    return status


# --- mkdir, touch --------------------------------------------------------------------------
def mkdir(ctx: Ctx, args: list[str]) -> int:
    """mkdir [-p] [-m MODE] DIR...: make directories (-p: with their missing parents, and no
    error for one that exists)."""
    if _coreutils_version(ctx, args):
        return 0
    try:
        opts, operands = getopt_long(args, "pm:", (LongOpt("parents", 0, "p"),
                                                   LongOpt("mode", 1, "m")))
    except GetoptError as e:
        ctx.bad_option(str(e))
    parents = ("p", None) in opts
    mode = 0o777
    for key, arg in opts:
        if key == "m":
            try:
                mode = int(arg or "", 8)
            except ValueError:
                ctx.errx(1, f"invalid mode '{arg}'")
    if not operands:
        ctx.warnx("missing operand")
        ctx.errtryhelp(1)
    status = 0
    p = ctx.proc
    for path in operands:
        steps = [path]
        if parents:
            parts = [c for c in path.split("/") if c]
            lead = "/" if path.startswith("/") else ""
            steps = [lead + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        for i, step in enumerate(steps):
            last = i == len(steps) - 1
            try:
                p.mkdir(ctx.shell.abspath(step), mode if last else 0o777)
            except OSError as e:
                if parents and e.errno == errno.EEXIST:
                    continue
                ctx.ewrite(f"mkdir: cannot create directory '{step}': {strerror(e.errno)}\n")
                status = 1
                break
    return status


def touch(ctx: Ctx, args: list[str]) -> int:
    """touch [-c] FILE...: make each missing file, empty (the model keeps no times, so
    -a, -m, -f, -h, -d, -r and -t are read and change nothing)."""
    if _coreutils_version(ctx, args):
        return 0
    try:
        opts, operands = getopt_long(args, "acfhmd:r:t:", (
            LongOpt("no-create", 0, "c"), LongOpt("date", 1, "d"),
            LongOpt("reference", 1, "r"), LongOpt("no-dereference", 0, "h"),
            LongOpt("time", 1, "T")))
    except GetoptError as e:
        ctx.bad_option(str(e))
    create = not any(key in "ch" for key, _ in opts)
    if not operands:
        ctx.warnx("missing file operand")
        ctx.errtryhelp(1)
    status = 0
    p = ctx.proc
    for path in operands:
        try:
            p.close(p.open(ctx.shell.abspath(path),
                           (O_CREAT if create else 0) | O_WRONLY | O_NONBLOCK, 0o666))
        except IsADirectoryError:
            pass
        except OSError as e:
            if e.errno == errno.ENOENT and not create:
                continue
            ctx.ewrite(f"touch: cannot touch '{path}': {strerror(e.errno)}\n")
            status = 1
    return status


# --- mount, umount -------------------------------------------------------------------------
_MOUNT_HINT = "       dmesg(1) may have more information after failed mount system call.\n"


def mount(ctx: Ctx, args: list[str]) -> int:
    """mount [-t TYPE] SOURCE TARGET; mount --bind FILE TARGET; mount [-t TYPE] (list)."""
    try:
        opts, operands = getopt_long(args, "t:o:BV", (LongOpt("types", 1, "t"),
                                                      LongOpt("options", 1, "o"),
                                                      LongOpt("bind", 0, "B"),
                                                      LongOpt("version", 0, "V")))
    except GetoptError as e:
        ctx.bad_option(str(e))
    fstype, bind = None, False
    for key, arg in opts:
        if key == "V":
            ctx.write(f"mount from util-linux 2.38.1{_LIBMOUNT}\n")
            return 0
        if key == "t":
            fstype = arg
        elif key == "B":
            bind = True
        elif key == "o" and "bind" in (arg or "").split(","):
            bind = True
    if not operands:
        for path, m in ctx.proc.mnt_ns.mounts:
            kind = m.describe().split()[0]      # "mqueue", or "nsfs ipc:[N]"
            if fstype is None or kind == fstype:
                names = ctx.shell.mount_sources
                source = "nsfs" if kind == "nsfs" else names.get(m) or names.get(
                    (path, m.root_node()), "proc" if kind == "proc" else "none")
                opts_text = "rw" if kind == "nsfs" else "rw,relatime"
                ctx.write(f"{source} on {path} type {kind} ({opts_text})\n")
        return 0
    if len(operands) == 1:
        ctx.errx(1, f"{operands[0]}: can't find in /etc/fstab.")
    source, target = operands[0], operands[1]
    if len(operands) > 2:
        ctx.warnx("bad usage")
        ctx.errtryhelp(1)
    p = ctx.proc
    try:
        if bind:
            p.mount(source, target, flags=MS_BIND)
        else:
            if fstype is None:
                ctx.ewrite(f"mount: {target}: ipcsim can only mount mqueue filesystems "
                           f"(use -t mqueue).\n")
                return 32
            p.mount(source, target, fstype)
            where = posixpath.normpath("/" + target.lstrip("/"))
            mounted = [m for path, m in p.mnt_ns.mounts if path == where]
            if mounted:     # (a copy in a later mount namespace: the first name given there)
                ctx.shell.mount_sources[mounted[-1]] = source
                ctx.shell.mount_sources.setdefault((where, mounted[-1].root_node()), source)
    except UnsupportedError as e:
        if bind:
            ctx.ewrite(f"mount: {target}: {e}.\n")
        else:
            ctx.ewrite(f"mount: {target}: unknown filesystem type '{fstype}'.\n" + _MOUNT_HINT)
        return 32
    except OSError as e:
        if e.errno == errno.EPERM:
            ctx.ewrite(f"mount: {target}: must be superuser to use mount.\n")
        else:
            ctx.ewrite(f"mount: {target}: {strerror(e.errno)}.\n" + _MOUNT_HINT)
        return 32
    return 0


def umount(ctx: Ctx, args: list[str]) -> int:
    """umount [-l] TARGET."""
    try:
        opts, operands = getopt_long(args, "lV", (LongOpt("lazy", 0, "l"),
                                                  LongOpt("version", 0, "V")))
    except GetoptError as e:
        ctx.bad_option(str(e))
    if ("V", None) in opts:
        ctx.write(f"umount from util-linux 2.38.1{_LIBMOUNT}\n")
        return 0
    if not operands:
        ctx.warnx("bad usage")
        ctx.errtryhelp(1)
    status = 0
    flags = 2 if ("l", None) in opts else 0           # MNT_DETACH
    for target in operands:
        try:
            ctx.proc.umount(target, flags)
        except OSError as e:
            if e.errno == errno.EINVAL:
                ctx.ewrite(f"umount: {target}: not mounted.\n")
            elif e.errno == errno.ENOENT:
                ctx.ewrite(f"umount: {target}: no mount point specified.\n")
            elif e.errno == errno.EPERM:
                ctx.ewrite(f"umount: {target}: must be superuser to unmount.\n")
            elif e.errno == errno.EBUSY:
                ctx.ewrite(f"umount: {target}: target is busy.\n")
            else:
                ctx.ewrite(f"umount: {target}: {strerror(e.errno)}.\n")
            status = 32
    return status


# --- sysctl --------------------------------------------------------------------------------
SYSCTL_HELP = """
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
"""
_SYSCTL_LONG = (LongOpt("all", 0, "a"), LongOpt("deprecated", 0, "deprecated"),
                LongOpt("dry-run", 0, "dry-run"), LongOpt("binary", 0, "b"),
                LongOpt("ignore", 0, "e"), LongOpt("names", 0, "N"),
                LongOpt("values", 0, "n"), LongOpt("load", 2, "p"), LongOpt("quiet", 0, "q"),
                LongOpt("write", 0, "w"), LongOpt("system", 0, "system"),
                LongOpt("pattern", 1, "r"), LongOpt("help", 0, "h"),
                LongOpt("version", 0, "V"))
_PROC_SYS = "/proc/sys/"
_S_IFMT, _S_IFDIR = 0o170000, 0o040000
_S_IRUSR, _S_IWUSR = 0o400, 0o200


class _Sysctl:
    """procps-ng 4.0.2's sysctl: its options, and ReadSetting, WriteSetting, DisplayAll."""

    def __init__(self, ctx: Ctx):
        self.ctx, self.p = ctx, ctx.proc
        self.print_name = self.print_newline = True
        self.ignore_error = self.quiet = self.name_only = self.dry_run = False
        self.ignore_deprecated = True
        self.pattern: str | None = None

    def slashdot(self, text: str, old: str, new: str) -> str:
        """Turn separators ``old`` into ``new`` (and ``new`` into ``old``) unless the first
        one already is ``new``; warn once of a repeated separator."""
        chars = list(text)
        seps = [i for i, c in enumerate(chars) if c in "/."]
        if not seps or chars[seps[0]] == new:
            return text
        warned = False
        for i in seps:
            if text[i + 1:i + 2] in ("/", ".") and text[i + 1:i + 2] and not warned:
                self.ctx.warnx(f"separators should not be repeated: {''.join(chars[i:])}")
                warned = True
            chars[i] = new if chars[i] == old else old
        return "".join(chars)

    def stat_mode(self, path: str) -> int:
        """st_mode of a /proc/sys path (a directory when it lists)."""
        try:
            return self.p.stat(path).st_mode
        except UnsupportedError:
            self.p.listdir(path)
            return _S_IFDIR | 0o555

    def stat_or_warn(self, path: str) -> int:
        """stat_mode(), or -1 after procps's "cannot stat" warning (none with -e)."""
        try:
            return self.stat_mode(path)
        except OSError as e:
            if not self.ignore_error:
                self.ctx.warn(f"cannot stat {path}", e.errno)
            return -1

    def read_setting(self, name: str) -> int:
        ctx = self.ctx
        if not name:
            ctx.warnx(f'"{name}" is an unknown key')
            return -1
        path = _PROC_SYS + self.slashdot(name, ".", "/")
        outname = self.slashdot(name, "/", ".")
        self.slashdot(name, "/", ".")      # 4.0.2 converts the name twice (and warns twice)
        mode = self.stat_or_warn(path)
        if mode < 0:
            return 0 if self.ignore_error else 1
        if not mode & _S_IRUSR:
            return 0
        if mode & _S_IFMT == _S_IFDIR:
            return self.display_all(path + "/")
        if self.pattern is not None and not self.matches(outname):
            return 0
        if self.name_only:
            ctx.write(f"{outname}\n")
            return 0
        try:
            text = self.p.read_file(path)
        except OSError as e:
            if e.errno == errno.ENOENT:
                if self.ignore_error:
                    return 0
                ctx.warnx(f'"{outname}" is an unknown key')
            elif e.errno == errno.EACCES:
                ctx.warnx(f"permission denied on key '{outname}'")
            else:
                ctx.warn(f'reading key "{outname}"', e.errno)
            return 1
        if not text:
            return 0
        if self.print_name:
            ctx.write(f"{outname} = {text}" + ("" if text.endswith("\n") else "\n"))
        elif not self.print_newline:
            ctx.write(text.replace("\n", "", 1))
        else:
            ctx.write(text)
        return 0

    def display_all(self, path: str) -> int:
        rc = 0
        try:
            names = self.p.listdir(path)
        except OSError:
            self.ctx.warnx(f'unable to open directory "{path}"')
            return 1
        for name in names:
            if (self.ignore_deprecated and name in ("base_reachable_time", "retrans_time")) \
                    or name == "stat_refresh":
                continue
            sub = path + name
            try:
                mode = self.stat_mode(sub)
            except OSError as e:
                self.ctx.warn(f"cannot stat {sub}", e.errno)
                rc |= 1
                continue
            if mode & _S_IFMT == _S_IFDIR:
                rc |= self.display_all(sub + "/")
            else:
                rc |= self.read_setting(sub[len(_PROC_SYS):])
        return rc

    def matches(self, name: str) -> bool:
        import re
        try:
            return re.search(self.pattern or "", name) is not None
        except re.error:
            return False

    def parse_setting(self, where: str, lineno: int,
                      line: str) -> tuple[str, str, str, bool] | None:
        """parse_setting_line(): (key, path, value, ignore_failure), or None."""
        key = line.lstrip(" \t\n\v\f\r")
        if len(key) < 2 or key[0] in "#;":
            return None
        if self.pattern is not None and not self.matches(key):
            return None
        if "=" not in key:
            if key[0] != "-":
                self.ctx.warnx(f"{where}({lineno}): invalid syntax, continuing...")
            return None                   # (an exclusion: nothing to write here)
        key, _, value = key.partition("=")
        ignore = key.startswith("-")
        if ignore:
            key = key[1:]
        value = value.strip(" \t\n\v\f\r")
        key = key.rstrip(" \t\n\v\f\r")
        path = _PROC_SYS + self.slashdot(key[1:] if key[:1] == "-" else key, ".", "/")
        return key, path, value, ignore

    def write_setting(self, key: str, path: str, value: str, ignore: bool) -> int:
        ctx = self.ctx
        mode = self.stat_or_warn(path)
        if mode < 0:
            return 0 if self.ignore_error else 1
        dotted = self.slashdot(path[len(_PROC_SYS):], "/", ".")
        if not mode & _S_IWUSR:
            # procps-ng 4.0.2 sets no errno here (warn() shows the one setlocale() left) and
            # goes on with success
            ctx.warn(f'setting key "{dotted}"', errno.EINVAL)
            return 0
        rc = 0
        suffix = ", ignoring" if ignore else ""
        if not self.dry_run:
            try:
                fd = self.p.open(path, O_WRONLY)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    if not self.ignore_error:
                        ctx.warnx(f'"{dotted}" is an unknown key{suffix}')
                        rc = 0 if ignore else 1
                elif e.errno in (errno.EPERM, errno.EROFS, errno.EACCES):
                    ctx.warnx(f'permission denied on key "{dotted}"{suffix}')
                else:
                    ctx.warn(f'setting key "{dotted}"{suffix}', e.errno)
                if not ignore and e.errno != errno.ENOENT:
                    rc = 1
            else:
                try:
                    self.p.write(fd, (value + "\n").encode())
                except OSError as e:           # fclose() flushes: close_stream() fails
                    ctx.warn(f'setting key "{dotted}"', e.errno)
                    return 1
                finally:
                    self.p.close(fd)
        if (rc == 0 and not self.quiet) or self.dry_run:
            if self.name_only:
                ctx.write(f"{value}\n")           # (4.0.2 prints the value here)
            elif self.print_name:
                ctx.write(f"{dotted} = {value}\n")
            else:
                ctx.write(value + ("\n" if self.print_newline else ""))
        return rc


def sysctl(ctx: Ctx, args: list[str]) -> int:
    """sysctl [-n] [-N] [-b] [-e] [-q] [-w] [-a] [-r PATTERN] [-p FILE] [--dry-run]
    KEY[=VALUE]... (procps-ng 4.0.2)."""
    if not args:
        ctx.ewrite(SYSCTL_HELP)
        return 1
    s = _Sysctl(ctx)
    opts, words, bad = getopt_until_error(args, "bneNwfp::qoxaAXr:Vdh", _SYSCTL_LONG)
    write = display_all = preload = False
    files_: list[str] = []
    for key, arg in opts:
        if key == "b":
            s.print_newline = False
            s.print_name = False
        elif key == "n":
            s.print_name = False
        elif key == "e":
            s.ignore_error = True
        elif key == "N":
            s.name_only = True
        elif key == "w":
            write = True
        elif key in "fp" and len(key) == 1:
            preload = True
            if arg:
                files_.append(arg)
        elif key == "q":
            s.quiet = True
        elif key in "aAX" and len(key) == 1:
            display_all = True
        elif key == "deprecated":
            s.ignore_deprecated = False
        elif key == "system":
            ctx.warnx("--system is not modelled by ipcsim (the simulated machine has no "
                      "/etc/sysctl.d)")
            return 1
        elif key == "dry-run":
            s.dry_run = True
        elif key == "r":
            s.pattern = arg
        elif key == "V":
            ctx.write("sysctl from procps-ng 4.0.2\n")
            return 0
        elif key in "dh" and len(key) == 1:
            ctx.write(SYSCTL_HELP)
            return 0
    if bad:                               # getopt's '?': the usage, on stdout, and success
        ctx.warnx(str(bad))
        ctx.write(SYSCTL_HELP)
        return 0
    if display_all:
        return s.display_all(_PROC_SYS)
    if preload:
        rc = 0
        settings = []
        if not files_ and not words:
            files_.append("/etc/sysctl.conf")
        for path in files_ + words:
            try:
                text = ctx.proc.read_file(path)
            except OSError as e:
                ctx.warn(f'cannot open "{path}"', e.errno)
                return 1
            for n, line in enumerate(text.splitlines(True), 1):
                if len(line) < 2:
                    continue
                setting = s.parse_setting(path, n, line)
                if setting is not None:
                    settings.append(setting)
        for setting in settings:
            rc |= s.write_setting(*setting)
        return rc
    if not words:
        ctx.errx(1, "no variables specified\nTry `sysctl --help' for more information.")
    if s.name_only and s.quiet:
        ctx.errx(1, "options -N and -q cannot coexist\nTry `sysctl --help' for more "
                    "information.")
    rc = 0
    for word in words:
        if write or "=" in word:
            setting = s.parse_setting("command line", 0, word)
            rc |= s.write_setting(*setting) if setting is not None else 1
        else:
            rc += s.read_setting(word)
    return rc & 0xFF


# --- ps, kill, sleep -----------------------------------------------------------------------
def ps(ctx: Ctx, args: list[str]) -> int:
    """ps: every process, as ``ps -eo pid,ppid,ipcns,user,comm`` prints it: those /proc
    shows, numbered as it numbers them (in a PID namespace with its own /proc mounted, from
    1; a parent outside it, 0)."""
    p = ctx.proc
    rows = [("PID", "PPID", "IPCNS", "USER", "COMMAND")]
    for nr, ppid, q in proc_pids(p):
        if not q.alive:
            continue
        try:
            link = p.readlink(f"/proc/{nr}/ns/ipc")
            ns = link[link.index("[") + 1:-1]
        except OSError:      # no IPC namespaces (procps's "-"), or a link it may not follow
            ns = "-"
        rows.append((str(nr), str(ppid), ns, PASSWD.get(q.uid, str(q.uid))[:8],
                     ctx.shell.comm(q)))
    ctx.write("".join(f"{a:>5} {b:>5} {c:>10} {d:<8} {e}\n" for a, b, c, d, e in rows))
    return 0


def _signal_number(spec: str) -> int | None:
    """bash's decode_signal(): a number below NSIG (65) or a name, with or without SIG."""
    if spec.isascii() and spec.isdigit():
        num = c_strtol(spec)[0]
        return num if num is not None and num <= 64 else None
    name = spec.upper()
    if name.startswith("SIG"):
        name = name[3:]
    return _SIGNUMS.get(name)


def _bash_signame(num: int) -> str:
    """bash's name of a signal, without SIG: HUP ... SYS, RTMIN, RTMIN+1 ... RTMAX-1, RTMAX."""
    if num == 34:
        return "RTMIN"
    if num == 64:
        return "RTMAX"
    if 35 <= num <= 49:
        return f"RTMIN+{num - 34}"
    if 50 <= num <= 63:
        return f"RTMAX-{64 - num}"
    return SIGNAMES.get(num, f"SIG{num}")[3:]


def kill(ctx: Ctx, args: list[str]) -> int:
    """kill [-s SIG | -SIG | -n NUM] PID... ; kill -l (bash's builtin)."""
    sig = 15
    num: int | None
    words = list(args)
    usage = ("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... "
             "or kill -l [sigspec]\n")
    if words and words[0] in ("-l", "-L"):
        if len(words) == 1:
            out, column = [], 0
            for num in range(1, 65):
                if num in (32, 33):
                    continue              # (glibc keeps these)
                column += 1
                out.append(f"{num:2d}) SIG{_bash_signame(num)}"
                           + ("\t" if column < 5 else "\n"))
                column %= 5
            ctx.write("".join(out) + ("\n" if column else ""))
            return 0
        status = 0
        for spec in words[1:]:
            if spec.isascii() and spec.isdigit():
                num = c_strtol(spec)[0] or 0
                num = num - 128 if num > 128 else num
                if num == 0:
                    ctx.write("EXIT\n")          # (the trap pseudo-signal)
                    continue
                if 1 <= num <= 64 and num not in (32, 33):
                    ctx.write(_bash_signame(num) + "\n")
                    continue
            else:
                num = _signal_number(spec)
                if num is not None:
                    ctx.write(f"{num}\n")
                    continue
            ctx.ewrite(f"{ctx.shell.where()}kill: {spec}: invalid signal specification\n")
            status = 1
        return status
    if words and words[0] in ("-s", "-n"):
        if len(words) < 2:
            ctx.ewrite(f"{ctx.shell.where()}kill: {words[0]}: option requires an argument\n")
            return 2
        spec = words[1]
        words = words[2:]
        num = _signal_number(spec)
        if num is None:
            ctx.ewrite(f"{ctx.shell.where()}kill: {spec}: invalid signal specification\n")
            return 1
        sig = num
    elif words and words[0].startswith("-") and len(words[0]) > 1:
        spec = words.pop(0)[1:]
        num = _signal_number(spec)
        if num is None:
            ctx.ewrite(f"{ctx.shell.where()}kill: {spec}: invalid signal specification\n")
            return 1
        sig = num
    if not words:
        ctx.ewrite(usage)
        return 2
    status = 0
    for word in words:
        if word.startswith("%"):             # a jobspec: the job's process
            value = ctx.shell.job_pid(word)
            if value is None:
                ctx.ewrite(f"{ctx.shell.where()}kill: {word}: no such job\n")
                status = 1
                continue
            word = str(value)
        value, rest = c_strtol(word, 10)
        if value is None or rest or not -2 ** 31 <= value < 2 ** 31:     # (a pid_t)
            ctx.ewrite(f"{ctx.shell.where()}kill: {word}: arguments must be process or job "
                       f"IDs\n")
            status = 1
            continue
        try:
            ctx.proc.kill(value, sig)
        except OSError as e:
            ctx.ewrite(f"{ctx.shell.where()}kill: ({word}) - {strerror(e.errno)}\n")
            status = 1
    return status


_AUTHORS["sleep"] = "Jim Meyering and Paul Eggert"
_SLEEP_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def sleep(ctx: Ctx, args: list[str]) -> int:
    """sleep NUMBER[smhd]...: the virtual clock moves on by their sum (programs due
    meanwhile run), as coreutils' sleep reads its operands."""
    if _coreutils_version(ctx, args):
        return 0
    words = args[1:] if args[:1] == ["--"] else args
    for word in words if args[:1] != ["--"] else []:
        if word.startswith("-") and len(word) > 1:
            ctx.warnx(f"invalid option -- '{word[1]}'" if word[1] != "-"
                      else f"unrecognized option '{word}'")
            ctx.ewrite("Try 'sleep --help' for more information.\n")
            return 1
    if not words:
        ctx.warnx("missing operand")
        ctx.ewrite("Try 'sleep --help' for more information.\n")
        return 1
    total, bad = 0.0, False
    for word in words:
        number, unit = (word[:-1], word[-1]) if word[-1:] in "smhd" and word[-1:] else \
            (word, "")
        try:
            if not number or number != number.lstrip():
                raise ValueError
            value = float(number)
            if value < 0 or value != value:
                raise ValueError
        except ValueError:
            ctx.warnx(f"invalid time interval '{word}'")
            bad = True
            continue
        total += value * _SLEEP_UNITS[unit]
    if bad:
        ctx.ewrite("Try 'sleep --help' for more information.\n")
        return 1
    p = ctx.proc
    if total * NS >= KTIME_MAX - p.kernel.clock.now_ns():
        # coreutils sleeps on (TYPE_MAXIMUM(time_t) at a time) until a signal; here no
        # signal could come, and the virtual clock ends sooner
        ctx.warnx(f"{_seconds(total)} outlasts the simulated clock (it stops at "
                  f"{KTIME_MAX // NS} s of uptime)")
        return 1
    p.sleep(total)
    return 0


def _seconds(total: float) -> str:
    return "an infinite sleep" if total == float("inf") else f"a sleep of {total:g} s"


# --- mq: POSIX message queues --------------------------------------------------------------
MQ_HELP = """Usage:
 mq open NAME [-m MAXMSG] [-s MSGSIZE] [-p MODE] [-x]   create NAME (O_CREAT; -x adds O_EXCL)
 mq send NAME MESSAGE [PRIO]                            mq_send, priority 0 by default
 mq receive NAME [-n]                                   mq_receive the oldest message of the
                                                        highest priority (-n: O_NONBLOCK)
 mq attr NAME                                           mq_getattr
 mq unlink NAME                                         mq_unlink
 mq ls                                                  the queues of this IPC namespace

Each call opens NAME, acts and closes it, as a small program would. NAME starts with '/'.
"""


def mq(ctx: Ctx, args: list[str]) -> int:
    """mq open|send|receive|attr|unlink|ls: POSIX message queues of the caller's namespace."""
    if not args or args[0] in ("-h", "--help", "help"):
        (ctx.write if args else ctx.ewrite)(MQ_HELP)
        return 0 if args else 1
    verb, rest = args[0], args[1:]
    p = ctx.proc
    if verb == "ls":
        for name in _mq_names(p):
            ctx.write(f"/{name}\n")
        return 0
    if not rest:
        ctx.warnx(f"{verb}: a queue NAME is needed")
        return 1
    name = rest[0]
    try:
        if verb == "open":
            opts, extra = getopt_long(rest[1:], "m:s:p:x")
            attr = MqAttr(mq_maxmsg=10, mq_msgsize=8192)
            mode, flags = 0o644, O_RDWR | O_CREAT
            attr_arg: MqAttr | None = attr
            for key, arg in opts:
                if key == "x":
                    flags |= O_EXCL
                    continue
                assert arg is not None       # (-m, -s and -p take one)
                value, tail = c_strtol(arg, 8 if key == "p" else 10)
                if value is None or tail or not -2 ** 63 <= value < 2 ** 63:
                    ctx.errx(1, f"invalid number: '{arg}'")
                if key == "m":
                    attr.mq_maxmsg = value
                elif key == "s":
                    attr.mq_msgsize = value
                elif key == "p":
                    mode = value
            if "m" not in dict(opts) and "s" not in dict(opts):
                attr_arg = None
            fd = p.mq_open(name, flags, mode, attr_arg)
            p.mq_close(fd)
            return 0
        if verb == "send":
            if len(rest) < 2:
                ctx.warnx("send: a MESSAGE is needed")
                return 1
            prio: int | None = 0
            if len(rest) > 2:
                prio, tail = c_strtol(rest[2], 10)
                if prio is None or tail or not -2 ** 31 <= prio < 2 ** 32:
                    ctx.errx(1, f"invalid priority: '{rest[2]}'")
            assert prio is not None
            fd = p.mq_open(name, O_WRONLY)
            try:
                p.mq_send(fd, rest[1].encode(), prio)
            finally:
                p.mq_close(fd)
            return 0
        if verb == "receive":
            flags = O_RDONLY | (O_NONBLOCK if "-n" in rest[1:] else 0)
            fd = p.mq_open(name, flags)
            try:
                size = p.mq_getattr(fd).mq_msgsize
                data, prio = p.mq_receive(fd, size)
            finally:
                if p.alive:
                    p.mq_close(fd)
            ctx.write(f"{data.decode(errors='replace')}\t(priority {prio})\n")
            return 0
        if verb == "attr":
            fd = p.mq_open(name, O_RDONLY)
            attr = p.mq_getattr(fd)
            p.mq_close(fd)
            ctx.write(f"flags={attr.mq_flags} maxmsg={attr.mq_maxmsg} "
                      f"msgsize={attr.mq_msgsize} curmsgs={attr.mq_curmsgs}\n")
            return 0
        if verb == "unlink":
            p.mq_unlink(name)
            return 0
    except GetoptError as e:
        ctx.warnx(str(e))
        return 1
    except DeadlockError:
        ctx.warnx(f"{verb} {name}: would wait forever (no other process can "
                  f"{'send to' if verb == 'receive' else 'receive from'} it)")
        return 1
    except OSError as e:
        ctx.warnx(f"{verb} {name}: {strerror(e.errno)}")
        return 1
    ctx.warnx(f"unknown command: {verb}")
    ctx.ewrite(MQ_HELP)
    return 1


def _mq_names(p: Process) -> list[str]:
    from ..kernel.mqueue import mq_sb
    return sorted(mq_sb(p.ipc_ns).names())


# --- sysv: System V messages, semaphores and attachments -----------------------------------
SYSV_USAGE = ("usage: sysv send ID TEXT [TYPE] | receive ID [TYPE] | attach ID | lock ID | "
              "unlock ID | setval ID NUM VALUE | msgget KEY [MODE] | semget KEY NSEMS [MODE] | "
              "shmget KEY SIZE [MODE] | semop ID NUM OP[,NUM OP...] [--undo] [--nowait] | "
              "msgsnd ID TEXT [TYPE] [--nowait] | msgrcv ID [TYPE] [--nowait] | "
              "shmat ID [SECONDS]\n")
SYSV_HELP = """Usage:
 sysv send ID TEXT [TYPE]     msgsnd TEXT as a message of TYPE (1 by default), IPC_NOWAIT
 sysv receive ID [TYPE]       msgrcv the first message (of TYPE), IPC_NOWAIT; prints it
 sysv attach ID               shmat in a new process that stays attached until this
                              shell exits (as a program holding the segment would)
 sysv lock ID, unlock ID      shmctl SHM_LOCK, SHM_UNLOCK
 sysv setval ID NUM VALUE     semctl SETVAL
 sysv msgget KEY [MODE]       msgget(KEY, IPC_CREAT | MODE), MODE 644 by default; prints
 sysv semget KEY NSEMS [MODE] the id (KEY as C reads it: 0x1234, 0755, 42; IPC_PRIVATE is
 sysv shmget KEY SIZE [MODE]  0)

 sysv semop ID NUM OP[,NUM OP...] [--undo] [--nowait]
                              semop: all the operations at once, waiting until they can
                              be done (--undo: SEM_UNDO, --nowait: IPC_NOWAIT)
 sysv msgsnd ID TEXT [TYPE] [--nowait]
                              msgsnd, waiting while the queue is full
 sysv msgrcv ID [TYPE] [--nowait]
                              msgrcv, waiting for a message (of TYPE); prints it
 sysv shmat ID [SECONDS]      shmat, print the address, stay attached until a signal
                              ends the process (or SECONDS pass: then shmdt)

ID is the id ipcmk printed (see ipcs). send, receive, attach and the rest never wait: a full
queue or a missing message is an error (EAGAIN, ENOMSG); semop, msgsnd and msgrcv wait, as
the calls do (run them with & to go on meanwhile: jobs, wait, kill %N). An attachment
belongs to the process that made it and ends when that process detaches or exits: `attach`
holds it until this shell exits, `shmat ID &` until `kill %N` (or SECONDS); no other process
can shmdt it, so there is no separate detaching command. The test suite runs
the same commands on Linux through a small Python script of the same name, so both print
the same.
"""
# each verb's operands: "id" and "int" (C int), "long", "size" (size_t), "key" (key_t, C's
# base 0), "mode" (octal), "text"; those after the slash are optional
_SYSV_ARGS = {"send": ("id text", "long"), "receive": ("id", "long"), "attach": ("id", ""),
              "lock": ("id", ""), "unlock": ("id", ""), "setval": ("id int int", ""),
              "msgget": ("key", "mode"), "semget": ("key int", "mode"),
              "shmget": ("key size", "mode")}
_SYSV_RANGE = {"id": (-2 ** 31, 2 ** 31), "int": (-2 ** 31, 2 ** 31),
               "long": (-2 ** 63, 2 ** 63), "size": (0, 2 ** 64), "key": (-2 ** 31, 2 ** 32),
               "mode": (0, 2 ** 32)}


def _sysv_operands(verb: str, words: list[str], shown: str | None = None
                   ) -> tuple[list[Any], None] | tuple[None, tuple[int, str]]:
    """(values, None) or (None, (status, message)): the operands of ``verb``; a message
    names the verb as ``shown`` (a waiting verb that takes another verb's operands)."""
    need, optional = (x.split() for x in _SYSV_ARGS[verb])
    if not len(need) <= len(words) <= len(need) + len(optional):
        return None, (2, "sysv: " + SYSV_USAGE)
    values: list[Any] = []           # a str for "text", else an int
    for kind, word in zip(need + optional, words):
        if kind == "text":
            values.append(word)
            continue
        try:
            value = int(word, {"key": 0, "mode": 8}.get(kind, 10))
        except ValueError:
            return None, (2, f"sysv: invalid number: '{word}'\n")
        lo, hi = _SYSV_RANGE[kind]
        if not lo <= value < hi:
            return None, (1, f"sysv: {shown or verb} {words[0]}: Numerical result out of "
                             f"range\n")
        if kind == "key" and value >= 2 ** 31:
            value -= 2 ** 32
        values.append(value)
    return values, None


def sysv(ctx: Ctx, args: list[str]) -> int:
    """sysv send|receive|attach|lock|unlock|setval|msgget|semget|shmget: System V IPC calls
    from the shell."""
    if args[:1] in (["-h"], ["--help"]):
        ctx.write(SYSV_HELP)
        return 0
    verb = args[0] if args else ""
    if verb in _SYSV_WAITING:
        return _SYSV_WAITING[verb](ctx, args[1:])
    if verb not in _SYSV_ARGS:
        ctx.ewrite("sysv: " + SYSV_USAGE)
        return 2
    values, problem = _sysv_operands(verb, args[1:])
    if problem is not None:
        ctx.ewrite(problem[1])
        return problem[0]
    assert values is not None
    p = ctx.proc
    try:
        if verb == "send":
            p.msgsnd(values[0], values[2] if len(values) > 2 else 1, values[1].encode(),
                     IPC_NOWAIT)
        elif verb == "receive":
            got, data = p.msgrcv(values[0], 65536, values[1] if len(values) > 1 else 0,
                                 IPC_NOWAIT)
            ctx.write(f"{data.decode(errors='replace')}\t(type {got})\n")
        elif verb == "attach":
            holder = p.fork()
            holder.comm = "sysv"
            try:
                holder.shmat(values[0])
            except OSError:
                holder.exit(1)
                p.wait(holder.pid)
                raise
            ctx.shell.hold(holder)
        elif verb in ("lock", "unlock"):
            p.shmctl(values[0], SHM_LOCK if verb == "lock" else SHM_UNLOCK)
        elif verb == "setval":
            p.semctl(values[0], values[1], SETVAL, values[2])
        else:
            mode = values[-1] if len(values) > len(_SYSV_ARGS[verb][0].split()) else 0o644
            flags = IPC_CREAT | mode
            flags = flags - 2 ** 32 if flags >= 2 ** 31 else flags
            if verb == "msgget":
                ident = p.msgget(values[0], flags)
            elif verb == "semget":
                ident = p.semget(values[0], values[1], flags)
            else:
                ident = p.shmget(values[0], values[1], flags)
            ctx.write(f"{ident}\n")
    except OSError as e:
        ctx.warnx(f"{verb} {args[1]}: {strerror(e.errno)}")
        return 1
    return 0


# --- sysv: the calls that wait ---------------------------------------------------------------
def _sysv_flags(words: list[str], allowed: tuple[str, ...]) -> tuple[list[str], set[str]]:
    """The operands, and which of the ``allowed`` options (--undo, --nowait) were given."""
    return [w for w in words if w not in allowed], {w for w in words if w in allowed}


def _sysv_fail(ctx: Ctx, verb: str, ident: str, e: OSError) -> int:
    ctx.warnx(f"{verb} {ident}: {strerror(e.errno)}")
    return 1


def _sysv_values(ctx: Ctx, verb: str, words: list[str], shown: str) -> list[Any] | int:
    """The operands of ``verb`` for the waiting verb ``shown``, or the status after saying
    what is wrong with them."""
    values, problem = _sysv_operands(verb, words, shown)
    if problem is not None:
        ctx.ewrite(problem[1])
        return problem[0]
    assert values is not None
    return values


def _sysv_semop(ctx: Ctx, words: list[str]) -> int:
    """sysv semop ID NUM OP[,NUM OP...] [--undo] [--nowait]: one semop(2) of those
    operations, all or none, waiting as long as they cannot be done."""
    operands, flags = _sysv_flags(words, ("--undo", "--nowait"))
    if len(operands) < 3:
        ctx.ewrite("sysv: " + SYSV_USAGE)
        return 2
    flg = (SEM_UNDO if "--undo" in flags else 0) | (IPC_NOWAIT if "--nowait" in flags else 0)
    values = _sysv_values(ctx, "setval", operands[:1] + ["0", "0"], "semop")
    if isinstance(values, int):
        return values
    sops = []
    for group in " ".join(operands[1:]).split(","):
        pair = group.split()
        if len(pair) != 2:
            ctx.ewrite("sysv: " + SYSV_USAGE)
            return 2
        try:
            num, op = int(pair[0]), int(pair[1])
        except ValueError:
            bad = next(w for w in pair if not _is_int(w))
            ctx.ewrite(f"sysv: invalid number: '{bad}'\n")
            return 2
        if not (0 <= num < 2 ** 16 and -2 ** 15 <= op < 2 ** 15):   # sembuf's shorts
            ctx.ewrite(f"sysv: semop {operands[0]}: Numerical result out of range\n")
            return 1
        sops.append((num, op, flg))
    try:
        ctx.proc.semop(values[0], sops)
    except OSError as e:
        return _sysv_fail(ctx, "semop", operands[0], e)
    return 0


def _is_int(word: str) -> bool:
    try:
        int(word)
    except ValueError:
        return False
    return True


def _sysv_msgsnd(ctx: Ctx, words: list[str]) -> int:
    """sysv msgsnd ID TEXT [TYPE] [--nowait]: msgsnd(2), waiting while the queue is full."""
    operands, flags = _sysv_flags(words, ("--nowait",))
    values = _sysv_values(ctx, "send", operands, "msgsnd")
    if isinstance(values, int):
        return values
    try:
        ctx.proc.msgsnd(values[0], values[2] if len(values) > 2 else 1, values[1].encode(),
                        IPC_NOWAIT if flags else 0)
    except OSError as e:
        return _sysv_fail(ctx, "msgsnd", operands[0], e)
    return 0


def _sysv_msgrcv(ctx: Ctx, words: list[str]) -> int:
    """sysv msgrcv ID [TYPE] [--nowait]: msgrcv(2), waiting for a message; prints it."""
    operands, flags = _sysv_flags(words, ("--nowait",))
    values = _sysv_values(ctx, "receive", operands, "msgrcv")
    if isinstance(values, int):
        return values
    try:
        got, data = ctx.proc.msgrcv(values[0], 65536, values[1] if len(values) > 1 else 0,
                                    IPC_NOWAIT if flags else 0)
    except OSError as e:
        return _sysv_fail(ctx, "msgrcv", operands[0], e)
    ctx.write(f"{data.decode(errors='replace')}\t(type {got})\n")
    return 0


def _sysv_shmat(ctx: Ctx, words: list[str]) -> int:
    """sysv shmat ID [SECONDS]: attach, print the address, and hold the attachment until a
    signal ends the process (its exit detaches), or for SECONDS and then shmdt."""
    if not 1 <= len(words) <= 2:
        ctx.ewrite("sysv: " + SYSV_USAGE)
        return 2
    values = _sysv_values(ctx, "attach", words[:1], "shmat")
    if isinstance(values, int):
        return values
    seconds = None
    if len(words) > 1:
        try:
            seconds = float(words[1])
            if not 0 <= seconds < KTIME_MAX / NS:
                raise ValueError
        except ValueError:
            ctx.ewrite(f"sysv: invalid number: '{words[1]}'\n")
            return 2
    p = ctx.proc
    try:
        addr = p.shmat(values[0])
    except OSError as e:
        return _sysv_fail(ctx, "shmat", words[0], e)
    ctx.write(f"attached {values[0]} at {addr:#x}\n")
    if seconds is None:
        while True:
            try:
                p.pause()
            except OSError:          # a handled signal: hold on
                continue
    p.sleep(seconds)
    p.shmdt(addr)
    return 0


_SYSV_WAITING = {"semop": _sysv_semop, "msgsnd": _sysv_msgsnd, "msgrcv": _sysv_msgrcv,
                 "shmat": _sysv_shmat}
