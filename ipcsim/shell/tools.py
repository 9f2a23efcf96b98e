"""The smaller commands of the simulated shell: cat, ls, mount, umount, sysctl, ps, kill,
sleep, ``mq``, a small tool for POSIX message queues, and ``sysv``, one for System V
messages, semaphores and attachments.

Each acts through the process that runs it, so what it sees and may do is that process's
(its namespace, its credentials); messages and exit codes are those of coreutils,
util-linux and procps-ng for the same failures.
"""
from __future__ import annotations

import errno

from ..constants import (IPC_NOWAIT, MS_BIND, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR,
                         O_WRONLY, SETVAL, SHM_LOCK, SHM_UNLOCK)
from ..errors import DeadlockError, UnsupportedError
from ..kernel import files
from ..kernel.mqueue import MqAttr
from ..kernel.signals import SIGNAMES
from .common import PASSWD, Ctx, c_strtol, strerror
from .getopt import GetoptError, LongOpt, getopt_long

_SIGNUMS = {name[3:]: num for num, name in SIGNAMES.items()}     # "USR1" -> 10


# --- cat, ls -------------------------------------------------------------------------------
def cat(ctx: Ctx, args: list[str]) -> int:
    """cat FILE...: print files (no FILE: what was redirected into it)."""
    if not args:
        ctx.write(ctx.stdin)
        return 0
    status = 0
    for path in args:
        if path.startswith("-") and path != "-":
            ctx.warnx(f"option '{path}' is not modelled by ipcsim (cat FILE... only)")
            return 1
        try:
            ctx.write(ctx.proc.read_file(path))
        except OSError as e:
            ctx.warnx(f"{path}: {strerror(e.errno)}")
            status = 1
    return status


def ls(ctx: Ctx, args: list[str]) -> int:
    """ls [-1] [-a] [PATH...]: names one per line, sorted (as ls prints into a pipe or a
    file); the simulated files have no dot files, so -a changes nothing."""
    for a in args:
        if a.startswith("-") and a not in ("-1", "-a", "-1a", "-a1"):
            ctx.warnx(f"option '{a}' is not modelled by ipcsim (only -1 and -a)")
            return 2
    paths = [a for a in args if not a.startswith("-")] or ["."]
    status = 0
    out = []
    for n, path in enumerate(paths):
        target = "/" if path == "." else path
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


# --- mount, umount -------------------------------------------------------------------------
_MOUNT_HINT = "       dmesg(1) may have more information after failed mount system call.\n"


def mount(ctx: Ctx, args: list[str]) -> int:
    """mount [-t TYPE] SOURCE TARGET; mount --bind FILE TARGET; mount [-t TYPE] (list)."""
    try:
        opts, operands = getopt_long(args, "t:o:B", (LongOpt("types", 1, "t"),
                                                     LongOpt("options", 1, "o"),
                                                     LongOpt("bind", 0, "B")))
    except GetoptError as e:
        ctx.bad_option(str(e))
    fstype, bind = None, False
    for key, arg in opts:
        if key == "t":
            fstype = arg
        elif key == "B":
            bind = True
        elif key == "o" and "bind" in arg.split(","):
            bind = True
    k = ctx.proc.kernel
    if not operands:
        for path, m in k.mounts:
            kind = m.describe().split()[0]      # "mqueue", or "nsfs ipc:[N]"
            if fstype is None or kind == fstype:
                source = "nsfs" if kind == "nsfs" else ctx.shell.mount_sources.get(path,
                                                                                   "none")
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
            ctx.shell.mount_sources[files.normalize(target)] = source
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
        opts, operands = getopt_long(args, "l", (LongOpt("lazy", 0, "l"),))
    except GetoptError as e:
        ctx.bad_option(str(e))
    if not operands:
        ctx.warnx("bad usage")
        ctx.errtryhelp(1)
    status = 0
    flags = 2 if opts else 0           # MNT_DETACH
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
def _sysctl_keys(p, base: str = "/proc/sys") -> list[str]:
    out = []
    for name in sorted(p.listdir(base)):
        path = f"{base}/{name}"
        try:
            out.extend(_sysctl_keys(p, path))
        except OSError:
            out.append(path[len("/proc/sys/"):].replace("/", "."))
    return out


def sysctl(ctx: Ctx, args: list[str]) -> int:
    """sysctl [-n] [-w] [-a] [-q] KEY[=VALUE]... (procps-ng 4.0.2)."""
    names_only = values_only = quiet = write = show_all = False
    words = []
    for word in args:
        if word.startswith("-") and len(word) > 1 and not words:
            for ch in word[1:]:
                if ch == "n":
                    values_only = True
                elif ch == "N":
                    names_only = True
                elif ch == "q":
                    quiet = True
                elif ch == "w":
                    write = True
                elif ch in "aAX":
                    show_all = True
                else:
                    ctx.warnx(f"option '-{ch}' is not modelled by ipcsim (only -n -N -q -w "
                              f"-a)")
                    return 1
        else:
            words.append(word)
    p = ctx.proc
    if show_all and not words:
        words = _sysctl_keys(p)
    if not words:
        ctx.ewrite("sysctl: no variables specified\nTry `sysctl --help' for more information.\n")
        return 1
    status = 0
    for word in words:
        key, eq, value = word.partition("=")
        if write and not eq:
            ctx.ewrite("sysctl: command line(0): invalid syntax, continuing...\n")
            status = 1
            continue
        path = "/proc/sys/" + key.replace(".", "/")
        if eq:
            try:
                p.write_file(path, value)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    ctx.ewrite(f'sysctl: cannot stat {path}: No such file or directory\n')
                elif e.errno in (errno.EACCES, errno.EPERM):
                    ctx.ewrite(f'sysctl: permission denied on key "{key}"\n')
                else:
                    ctx.ewrite(f'sysctl: setting key "{key}": {strerror(e.errno)}\n')
                status = 1
                continue
            if quiet:
                continue
            shown = value
        else:
            try:
                text = p.read_file(path)
            except IsADirectoryError:
                for sub in _sysctl_keys(p, path):
                    _print_key(ctx, sub, p.read_file("/proc/sys/" + sub.replace(".", "/")),
                               names_only, values_only)
                continue
            except OSError as e:
                if e.errno == errno.ENOENT:
                    ctx.ewrite(f"sysctl: cannot stat {path}: No such file or directory\n")
                else:
                    ctx.ewrite(f'sysctl: reading key "{key}": {strerror(e.errno)}\n')
                status = 1
                continue
            shown = text
        _print_key(ctx, key, shown, names_only, values_only)
    return status


def _print_key(ctx: Ctx, key: str, value: str, names_only: bool, values_only: bool) -> None:
    value = value[:-1] if value.endswith("\n") else value
    if names_only:
        ctx.write(f"{key}\n")
    elif values_only:
        ctx.write(f"{value}\n")
    else:
        ctx.write(f"{key} = {value}\n")


# --- ps, kill, sleep -----------------------------------------------------------------------
def ps(ctx: Ctx, args: list[str]) -> int:
    """ps: every process, as ``ps -eo pid,ppid,ipcns,user,comm`` prints it."""
    p = ctx.proc
    rows = [("PID", "PPID", "IPCNS", "USER", "COMMAND")]
    for q in p.kernel.processes():
        link = p.readlink(f"/proc/{q.pid}/ns/ipc")
        rows.append((str(q.pid), str(q.ppid), link[link.index("[") + 1:-1],
                     PASSWD.get(q.uid, str(q.uid))[:8], ctx.shell.comm(q)))
    ctx.write("".join(f"{a:>5} {b:>5} {c:>10} {d:<8} {e}\n" for a, b, c, d, e in rows))
    return 0


def _signal_number(spec: str) -> int | None:
    if spec.isdigit():
        return int(spec)
    name = spec.upper()
    if name.startswith("SIG"):
        name = name[3:]
    return _SIGNUMS.get(name)


def kill(ctx: Ctx, args: list[str]) -> int:
    """kill [-s SIG | -SIG | -n NUM] PID... ; kill -l (bash's builtin)."""
    sig = 15
    words = list(args)
    usage = ("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... "
             "or kill -l [sigspec]\n")
    if words and words[0] == "-l":
        ctx.write("".join(f"{num:2d}) SIG{name}\n" for name, num in
                          sorted(_SIGNUMS.items(), key=lambda kv: kv[1])))
        return 0
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
        value, rest = c_strtol(word, 10)
        if value is None or rest:
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


def sleep(ctx: Ctx, args: list[str]) -> int:
    """sleep SECONDS: the virtual clock moves on (programs due meanwhile run)."""
    if not args:
        ctx.warnx("missing operand")
        ctx.ewrite("Try 'sleep --help' for more information.\n")
        return 1
    total = 0.0
    for word in args:
        try:
            total += float(word.rstrip("s"))
        except ValueError:
            ctx.warnx(f"invalid time interval ‘{word}’")
            ctx.ewrite("Try 'sleep --help' for more information.\n")
            return 1
    ctx.proc.sleep(total)
    return 0


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
            for key, arg in opts:
                value, tail = c_strtol(arg, 8 if key == "p" else 10)
                if value is None or tail:
                    ctx.errx(1, f"invalid number: '{arg}'")
                if key == "m":
                    attr.mq_maxmsg = value
                elif key == "s":
                    attr.mq_msgsize = value
                elif key == "p":
                    mode = value
                elif key == "x":
                    flags |= O_EXCL
            if "m" not in dict(opts) and "s" not in dict(opts):
                attr = None
            fd = p.mq_open(name, flags, mode, attr)
            p.mq_close(fd)
            return 0
        if verb == "send":
            if len(rest) < 2:
                ctx.warnx("send: a MESSAGE is needed")
                return 1
            prio = 0
            if len(rest) > 2:
                prio, tail = c_strtol(rest[2], 10)
                if prio is None or tail:
                    ctx.errx(1, f"invalid priority: '{rest[2]}'")
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


def _mq_names(p) -> list[str]:
    from ..kernel.mqueue import mq_sb
    return sorted(mq_sb(p.ipc_ns).names())


# --- sysv: System V messages, semaphores and attachments -----------------------------------
SYSV_USAGE = ("usage: sysv send ID TEXT [TYPE] | receive ID [TYPE] | attach ID | lock ID | "
              "unlock ID | setval ID NUM VALUE\n")
SYSV_HELP = """Usage:
 sysv send ID TEXT [TYPE]     msgsnd TEXT as a message of TYPE (1 by default), IPC_NOWAIT
 sysv receive ID [TYPE]       msgrcv the first message (of TYPE), IPC_NOWAIT; prints it
 sysv attach ID               shmat in a new process that stays attached until this
                              shell exits (as a program holding the segment would)
 sysv lock ID, unlock ID      shmctl SHM_LOCK, SHM_UNLOCK
 sysv setval ID NUM VALUE     semctl SETVAL

ID is the id ipcmk printed (see ipcs). Nothing waits: a full queue or a missing message
is an error (EAGAIN, ENOMSG). The test suite runs the same commands on Linux through a small
Python script of the same name, so both print the same.
"""
_SYSV_ARGS = {"send": (2, 3), "receive": (1, 2), "attach": (1, 1), "lock": (1, 1),
              "unlock": (1, 1), "setval": (3, 3)}


def sysv(ctx: Ctx, args: list[str]) -> int:
    """sysv send|receive|attach|lock|unlock|setval: System V IPC calls from the shell."""
    if args[:1] in (["-h"], ["--help"]):
        ctx.write(SYSV_HELP)
        return 0
    verb = args[0] if args else ""
    if verb not in _SYSV_ARGS or not (_SYSV_ARGS[verb][0] <= len(args) - 1
                                      <= _SYSV_ARGS[verb][1]):
        ctx.ewrite("sysv: " + SYSV_USAGE)
        return 2
    numbers = []
    for n, word in enumerate(args[1:]):
        if verb == "send" and n == 1:
            numbers.append(word)          # the text
            continue
        try:
            numbers.append(int(word))
        except ValueError:
            ctx.warnx(f"invalid number: '{word}'")
            return 2
    ident, p = numbers[0], ctx.proc
    try:
        if not -2 ** 31 <= ident < 2 ** 31:
            raise OSError(errno.ERANGE, "")
        if verb == "send":
            mtype = numbers[2] if len(numbers) > 2 else 1
            if not -2 ** 63 <= mtype < 2 ** 63:
                raise OSError(errno.ERANGE, "")
            p.msgsnd(ident, mtype, numbers[1].encode(), IPC_NOWAIT)
        elif verb == "receive":
            mtype = numbers[1] if len(numbers) > 1 else 0
            if not -2 ** 63 <= mtype < 2 ** 63:
                raise OSError(errno.ERANGE, "")
            got, data = p.msgrcv(ident, 65536, mtype, IPC_NOWAIT)
            ctx.write(f"{data.decode(errors='replace')}\t(type {got})\n")
        elif verb == "attach":
            holder = p.fork()
            holder.comm = "sysv"
            try:
                holder.shmat(ident)
            except OSError:
                holder.exit(1)
                p.wait(holder.pid)
                raise
            ctx.shell.hold(holder)
        elif verb in ("lock", "unlock"):
            p.shmctl(ident, SHM_LOCK if verb == "lock" else SHM_UNLOCK)
        else:
            if not (-2 ** 31 <= numbers[1] < 2 ** 31 and -2 ** 31 <= numbers[2] < 2 ** 31):
                raise OSError(errno.ERANGE, "")
            p.semctl(ident, numbers[1], SETVAL, numbers[2])
    except OSError as e:
        ctx.warnx(f"{verb} {args[1]}: {strerror(e.errno)}")
        return 1
    return 0
