"""ipcs, ipcmk and ipcrm as util-linux 2.38.1 prints them.

Like the real tools, they read ``/proc/sysvipc/*`` and ``/proc/sys/kernel/*`` of the
process that runs them and make the same ``*ctl`` calls (IPC_STAT, SEM_STAT, MSG_INFO ...),
so they see that process's namespace, with its permissions.
"""
from __future__ import annotations

import errno

from ..constants import (GETNCNT, GETPID, GETVAL, GETZCNT, IPC_CREAT, IPC_RMID, IPC_STAT,
                         MSG_INFO, MSG_STAT, SEM_INFO, SEM_STAT, SHM_INFO, SHM_STAT)
from .common import (GROUPS, PASSWD, SIGSEGV, Ctx, c_strtol, ctime, parse_size_err,
                     size_to_human, strtonum_or_err)
from .getopt import GetoptError, LongOpt, Options, getopt_long, getopt_until_error

SHM_DEST = 0o1000
SHM_LOCKED = 0o2000
INT_MIN, INT_MAX = -2 ** 31, 2 ** 31 - 1
UINT64_MAX = 2 ** 64 - 1
PAGE_SIZE = 4096
SEMVMX = 32767

UNIT_DEFAULT, UNIT_BYTES, UNIT_KB, UNIT_HUMAN = range(4)


def _user(uid: int) -> str:
    return PASSWD.get(uid, str(uid))


def _group(gid: int) -> str:
    return GROUPS.get(gid, str(gid))


def _owner(ident: int, uid: int, width: int) -> str:
    """``%-Nd %-10.10s``: the id and the owner's name (or number)."""
    return f"{ident:<{width}d} {_user(uid)[:10]:<10}"


def _print_size(out: list[str], unit: int, msg: str | None, size: int, end: str | None,
                width: int) -> None:
    """ipc_print_size()."""
    if msg is None:
        pass
    elif msg.endswith("="):
        out.append(msg)
    elif unit == UNIT_BYTES:
        out.append(f"{msg} (bytes) = ")
    elif unit == UNIT_KB:
        out.append(f"{msg} (kbytes) = ")
    else:
        out.append(f"{msg} = ")
    if unit == UNIT_KB:
        text = str(size // 1024)
    elif unit == UNIT_HUMAN:
        text = size_to_human(size)
    else:
        text = str(size)
    out.append(text.ljust(-width) if width < 0 else text.rjust(width))
    if end:
        out.append(end)


def _rows(ctx: Ctx, kind: str) -> list[list[int]]:
    """The rows of /proc/sysvipc/<kind> as numbers (as ipc_*_get_info scans them)."""
    text = ctx.proc.read_file(f"/proc/sysvipc/{kind}")
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        fields[2] = str(int(fields[2], 8))
        rows.append([int(f) for f in fields])
    return rows


def _header(title: str, *columns: tuple[str, int]) -> str:
    """A section title and its column headings, each ``%-Ns``."""
    return (f"------ {title} --------\n"
            + " ".join(f"{name:<{width}}" for name, width in columns) + "\n")


def _perms_row(ident: int, mode: int, cuid: int, cgid: int, uid: int, gid: int) -> str:
    """ipc_print_perms()."""
    return (f"{ident:<10d} {mode & 0o777:<10o} {_user(cuid):<10} {_group(cgid):<10} "
            f"{_user(uid):<10} {_group(gid):<10}\n")


def _octal(n: int) -> str:
    """printf's %#o."""
    return f"0{n:o}" if n else "0"


def _time16(t: int) -> str:
    return (ctime(t)[4:20] if t else "Not set")


def _time24(t: int) -> str:
    return ctime(t) if t else "Not set"


# --- ipcs ----------------------------------------------------------------------------------
IPCS_HELP = """
Usage:
 ipcs [resource-option...] [output-option]
 ipcs -m|-q|-s -i <id>

Show information on IPC facilities.

Options:
 -i, --id <id>  print details on resource identified by <id>
 -h, --help     display this help
 -V, --version  display version

Resource options:
 -m, --shmems      shared memory segments
 -q, --queues      message queues
 -s, --semaphores  semaphores
 -a, --all         all (default)

Output options:
 -t, --time        show attach, detach and change times
 -p, --pid         show PIDs of creator and last operator
 -c, --creator     show creator and owner
 -l, --limits      show resource limits
 -u, --summary     show status summary
     --human       show sizes in human-readable format
 -b, --bytes       show sizes in bytes

For more details see ipcs(1).
"""

_IPCS_LONG = (LongOpt("id", 1, "i"), LongOpt("queues", 0, "q"), LongOpt("shmems", 0, "m"),
              LongOpt("semaphores", 0, "s"), LongOpt("all", 0, "a"), LongOpt("time", 0, "t"),
              LongOpt("pid", 0, "p"), LongOpt("creator", 0, "c"), LongOpt("limits", 0, "l"),
              LongOpt("summary", 0, "u"), LongOpt("human", 0, "human"),
              LongOpt("bytes", 0, "b"), LongOpt("version", 0, "V"), LongOpt("help", 0, "h"))


def ipcs(ctx: Ctx, args: list[str]) -> int:
    """ipcs(1): System V IPC objects of the caller's namespace."""
    opts, _operands, bad = getopt_until_error(args, "i:qmsatpclubVh", _IPCS_LONG)
    msg = shm = sem = False
    ident, specific, fmt, unit = 0, False, None, UNIT_DEFAULT
    for key, arg in opts:
        if key == "i":
            assert arg is not None       # (-i takes one)
            ident = strtonum_or_err(ctx, arg, "failed to parse id argument", INT_MIN, INT_MAX)
            specific = True
        elif key == "a":
            msg = shm = sem = True
        elif key == "q":
            msg = True
        elif key == "m":
            shm = True
        elif key == "s":
            sem = True
        elif key in "tcplu":
            fmt = key
        elif key == "human":
            unit = UNIT_HUMAN
        elif key == "b":
            unit = UNIT_BYTES
        elif key == "h":
            ctx.usage(IPCS_HELP)
        elif key == "V":
            ctx.print_version()
    if bad:
        ctx.bad_option(str(bad))
    if specific and msg + shm + sem != 1:
        ctx.errx(1, "when using an ID, a single resource must be specified")
    out: list[str] = []
    try:
        if specific:
            if msg:
                _print_msg(ctx, out, ident, unit)
            if shm:
                _print_shm(ctx, out, ident, unit)
            if sem:
                try:
                    _print_sem(ctx, out, ident)
                except _Segfault:
                    out.clear()          # stdout is a pipe: its buffer dies unwritten
                    ctx.proc.kill(ctx.proc.pid, SIGSEGV)
                    return 128 + SIGSEGV
            return 0
        if not (msg or shm or sem):
            msg = shm = sem = True
        out.append("\n")
        if msg:
            _do_msg(ctx, out, fmt, unit)
            out.append("\n")
        if shm:
            _do_shm(ctx, out, fmt, unit)
            out.append("\n")
        if sem:
            _do_sem(ctx, out, fmt)
            out.append("\n")
        return 0
    finally:
        ctx.write("".join(out))


def _do_msg(ctx: Ctx, out: list[str], fmt: str | None, unit: int) -> None:
    if fmt == "l":
        p = ctx.proc
        msgmni = int(p.read_file("/proc/sys/kernel/msgmni"))
        msgmnb = int(p.read_file("/proc/sys/kernel/msgmnb"))
        msgmax = int(p.read_file("/proc/sys/kernel/msgmax"))
        lim_unit = UNIT_BYTES if unit == UNIT_DEFAULT else unit
        out.append("------ Messages Limits --------\n")
        out.append(f"max queues system wide = {msgmni}\n")
        _print_size(out, lim_unit, "max size of message", msgmax, "\n", 0)
        _print_size(out, lim_unit, "default max size of queue", msgmnb, "\n", 0)
        return
    if fmt == "u":
        _, info = ctx.proc.msgctl(0, MSG_INFO)
        out.append("------ Messages Status --------\n")
        out.append(f"allocated queues = {info.msgpool}\n")
        out.append(f"used headers = {info.msgmap}\n")
        _print_size(out, unit, "used space", info.msgtql,
                    " bytes\n" if unit == UNIT_DEFAULT else "\n", 0)
        return
    if fmt == "c":
        out.append(_header("Message Queues Creators/Owners", ('msqid', 10), ('perms', 10),
                           ('cuid', 10), ('cgid', 10), ('uid', 10), ('gid', 10)))
    elif fmt == "t":
        out.append(_header("Message Queues Send/Recv/Change Times", ('msqid', 8), ('owner', 10),
                           ('send', 20), ('recv', 20), ('change', 20)))
    elif fmt == "p":
        out.append(_header("Message Queues PIDs", ('msqid', 10), ('owner', 10), ('lspid', 10),
                           ('lrpid', 10)))
    else:
        out.append(_header("Message Queues", ('key', 10), ('msqid', 10), ('owner', 10),
                           ('perms', 10), ('size' if unit == UNIT_HUMAN else 'used-bytes', 12),
                           ('messages', 12)))
    for (key, msqid, mode, cbytes, qnum, lspid, lrpid, uid, gid, cuid, cgid, stime, rtime,
         ctime_) in _rows(ctx, "msg"):
        if fmt == "c":
            out.append(_perms_row(msqid, mode, cuid, cgid, uid, gid))
        elif fmt == "t":
            out.append(f"{_owner(msqid, uid, 8)} {_time16(stime):<20} {_time16(rtime):<20} "
                       f"{_time16(ctime_):<20}\n")
        elif fmt == "p":
            out.append(f"{_owner(msqid, uid, 8)}  {lspid:5d}     {lrpid:5d}\n")
        else:
            out.append(f"0x{key & 0xFFFFFFFF:08x} {_owner(msqid, uid, 10)} {mode & 0o777:<10o} ")
            if unit == UNIT_HUMAN:
                _print_size(out, unit, None, cbytes, "      ", 6)
            else:
                _print_size(out, unit, None, cbytes, None, -12)
            out.append(f" {qnum:<12d}\n")


def _do_shm(ctx: Ctx, out: list[str], fmt: str | None, unit: int) -> None:
    if fmt == "l":
        p = ctx.proc
        shmall = int(p.read_file("/proc/sys/kernel/shmall"))
        shmmax = int(p.read_file("/proc/sys/kernel/shmmax"))
        shmmni = int(p.read_file("/proc/sys/kernel/shmmni"))
        out.append("------ Shared Memory Limits --------\n")
        out.append(f"max number of segments = {shmmni}\n")
        _print_size(out, UNIT_KB if unit == UNIT_DEFAULT else unit, "max seg size", shmmax,
                    "\n", 0)
        if unit in (UNIT_KB, UNIT_DEFAULT):
            tmp = (shmall * (PAGE_SIZE // 1024)) & UINT64_MAX
            if shmall and tmp // shmall != PAGE_SIZE // 1024:
                tmp = UINT64_MAX - UINT64_MAX % (PAGE_SIZE // 1024)
            _print_size(out, UNIT_DEFAULT, "max total shared memory (kbytes)", tmp, "\n", 0)
        else:
            tmp = (shmall * PAGE_SIZE) & UINT64_MAX
            if shmall and tmp // shmall != PAGE_SIZE:
                tmp = UINT64_MAX - UINT64_MAX % PAGE_SIZE
            _print_size(out, unit, "max total shared memory", tmp, "\n", 0)
        _print_size(out, UNIT_BYTES if unit == UNIT_DEFAULT else unit, "min seg size", 1,
                    "\n", 0)
        return
    if fmt == "u":
        _, info = ctx.proc.shmctl(0, SHM_INFO)
        out.append("------ Shared Memory Status --------\n")
        out.append(f"segments allocated {info.used_ids}\npages allocated {info.shm_tot}\n"
                   f"pages resident  {info.shm_rss}\npages swapped   {info.shm_swp}\n"
                   f"Swap performance: {info.swap_attempts} attempts\t "
                   f"{info.swap_successes} successes\n")
        return
    if fmt == "c":
        out.append(_header("Shared Memory Segment Creators/Owners", ('shmid', 10), ('perms', 10),
                           ('cuid', 10), ('cgid', 10), ('uid', 10), ('gid', 10)))
    elif fmt == "t":
        out.append(_header("Shared Memory Attach/Detach/Change Times", ('shmid', 10),
                           ('owner', 10), ('attached', 20), ('detached', 20), ('changed', 20)))
    elif fmt == "p":
        out.append(_header("Shared Memory Creator/Last-op PIDs", ('shmid', 10), ('owner', 10),
                           ('cpid', 10), ('lpid', 10)))
    else:
        out.append(_header("Shared Memory Segments", ('key', 10), ('shmid', 10), ('owner', 10),
                           ('perms', 10), ('size' if unit == UNIT_HUMAN else 'bytes', 10),
                           ('nattch', 10), ('status', 12)))
    for row in _rows(ctx, "shm"):
        (key, shmid, mode, size, cpid, lpid, nattch, uid, gid, cuid, cgid, atime, dtime,
         ctime_) = row[:14]
        if fmt == "c":
            out.append(_perms_row(shmid, mode, cuid, cgid, uid, gid))
        elif fmt == "t":
            out.append(f"{_owner(shmid, uid, 10)} {_time16(atime):<20} {_time16(dtime):<20} "
                       f"{_time16(ctime_):<20}\n")
        elif fmt == "p":
            out.append(f"{_owner(shmid, uid, 10)} {cpid:<10d} {lpid:<10d}\n")
        else:
            out.append(f"0x{key & 0xFFFFFFFF:08x} {_owner(shmid, uid, 10)} {mode & 0o777:<10o} ")
            if unit == UNIT_HUMAN:
                _print_size(out, unit, None, size, "    ", 6)
            else:
                _print_size(out, unit, None, size, None, -10)
            dest = "dest" if mode & SHM_DEST else " "
            locked = "locked" if mode & SHM_LOCKED else " "
            out.append(f" {nattch:<10d} {dest:<6} {locked:<6}\n")


def _do_sem(ctx: Ctx, out: list[str], fmt: str | None) -> None:
    if fmt == "l":
        semmsl, semmns, semopm, semmni = (int(x) for x in
                                          ctx.proc.read_file("/proc/sys/kernel/sem").split())
        out.append("------ Semaphore Limits --------\n")
        out.append(f"max number of arrays = {semmni}\nmax semaphores per array = {semmsl}\n"
                   f"max semaphores system wide = {semmns}\nmax ops per semop call = {semopm}\n"
                   f"semaphore max value = {SEMVMX}\n")
        return
    if fmt == "u":
        _, info = ctx.proc.semctl(0, 0, SEM_INFO)
        out.append("------ Semaphore Status --------\n")
        out.append(f"used arrays = {info.semusz}\nallocated semaphores = {info.semaem}\n")
        return
    if fmt == "p":
        return
    if fmt == "c":
        out.append(_header("Semaphore Arrays Creators/Owners", ('semid', 10), ('perms', 10),
                           ('cuid', 10), ('cgid', 10), ('uid', 10), ('gid', 10)))
    elif fmt == "t":
        out.append(_header("Semaphore Operation/Change Times", ('semid', 8), ('owner', 10),
                           ('last-op', 26), ('last-changed', 26)))
    else:
        out.append(_header("Semaphore Arrays", ('key', 10), ('semid', 10), ('owner', 10),
                           ('perms', 10), ('nsems', 10)))
    for key, semid, mode, nsems, uid, gid, cuid, cgid, otime, ctime_ in _rows(ctx, "sem"):
        if fmt == "c":
            out.append(_perms_row(semid, mode, cuid, cgid, uid, gid))
        elif fmt == "t":
            out.append(f"{_owner(semid, uid, 8)}  {_time24(otime):<26} {_time24(ctime_):<26}\n")
        else:
            out.append(f"0x{key & 0xFFFFFFFF:08x} {_owner(semid, uid, 10)} {mode & 0o777:<10o} "
                       f"{nsems:<10d}\n")


class _Segfault(Exception):
    """ipcs reads past a NULL pointer (``ipcs -s -i`` with a negative id)."""


def _find(ctx: Ctx, kind: str, ident: int) -> list[int] | None:
    """The row of ``ident``; for a negative id, as ipc_*_get_info() reads it (every row,
    the first printed), the first row."""
    for row in _rows(ctx, kind):
        if row[1] == ident or ident < 0:
            return row
    return None


def _print_msg(ctx: Ctx, out: list[str], ident: int, unit: int) -> None:
    row = _find(ctx, "msg", ident)
    if row is None:
        ctx.warnx(f"id {ident} not found")
        return
    key, msqid, mode, cbytes, qnum, lspid, lrpid, uid, gid, cuid, cgid, stime, rtime, ct = row
    qbytes = 0
    try:
        if ident >= 0:                   # (all rows are read for a negative id, unstated)
            qbytes = ctx.proc.msgctl(ident, IPC_STAT).msg_qbytes
    except OSError:
        pass
    out.append(f"\nMessage Queue msqid={ident}\n")
    out.append(f"uid={uid}\tgid={gid}\tcuid={cuid}\tcgid={cgid}\tmode={_octal(mode)}\n")
    _print_size(out, unit, "csize=" if unit == UNIT_HUMAN else "cbytes=", cbytes, "\t", 0)
    _print_size(out, unit, "qsize=" if unit == UNIT_HUMAN else "qbytes=", qbytes, "\t", 0)
    out.append(f"qnum={qnum}\tlspid={lspid}\tlrpid={lrpid}\n")
    out.append(f"send_time={_time24(stime):<26}\n")
    out.append(f"rcv_time={_time24(rtime):<26}\n")
    out.append(f"change_time={_time24(ct):<26}\n\n")


def _print_shm(ctx: Ctx, out: list[str], ident: int, unit: int) -> None:
    row = _find(ctx, "shm", ident)
    if row is None:
        ctx.warnx(f"id {ident} not found")
        return
    key, shmid, mode, size, cpid, lpid, nattch, uid, gid, cuid, cgid, at, dt, ct = row[:14]
    out.append(f"\nShared memory Segment shmid={ident}\n")
    out.append(f"uid={uid}\tgid={gid}\tcuid={cuid}\tcgid={cgid}\n")
    out.append(f"mode={_octal(mode)}\taccess_perms={_octal(mode & 0o777)}\n")
    _print_size(out, unit, "size=" if unit == UNIT_HUMAN else "bytes=", size, "\t", 0)
    out.append(f"lpid={lpid}\tcpid={cpid}\tnattch={nattch}\n")
    out.append(f"att_time={_time24(at):<26}\n")
    out.append(f"det_time={_time24(dt):<26}\n")
    out.append(f"change_time={ctime(ct):<26}\n\n")


def _print_sem(ctx: Ctx, out: list[str], ident: int) -> None:
    row = _find(ctx, "sem", ident)
    if row is None:
        ctx.warnx(f"id {ident} not found")
        return
    key, semid, mode, nsems, uid, gid, cuid, cgid, otime, ct = row
    if ident < 0:
        # every row was read and none has its elements: print_sem() reads them from NULL
        raise _Segfault
    p = ctx.proc
    elements = []
    for i in range(nsems):
        values = []
        for cmd, name in ((GETVAL, "GETVAL"), (GETNCNT, "GETNCNT"), (GETZCNT, "GETZCNT"),
                          (GETPID, "GETPID")):
            try:
                values.append(p.semctl(semid, i, cmd))
            except OSError as e:
                ctx.write("".join(out))
                out.clear()
                ctx.err(1, f"semctl({name}) failed", e.errno)
        elements.append(values)
    out.append(f"\nSemaphore Array semid={ident}\n")
    out.append(f"uid={uid}\t gid={gid}\t cuid={cuid}\t cgid={cgid}\n")
    out.append(f"mode={_octal(mode)}, access_perms={_octal(mode & 0o777)}\n")
    out.append(f"nsems = {nsems}\n")
    out.append(f"otime = {_time24(otime):<26}\n")
    out.append(f"ctime = {ctime(ct):<26}\n")
    out.append(f"{'semnum':<10} {'value':<10} {'ncount':<10} {'zcount':<10} {'pid':<10}\n")
    for i, (val, ncnt, zcnt, pid) in enumerate(elements):
        out.append(f"{i:<10d} {val:<10d} {ncnt:<10d} {zcnt:<10d} {pid:<10d}\n")
    out.append("\n")


# --- ipcmk ---------------------------------------------------------------------------------
IPCMK_HELP = """
Usage:
 ipcmk [options]

Create various IPC resources.

Options:
 -M, --shmem <size>       create shared memory segment of size <size>
 -S, --semaphore <number> create semaphore array with <number> elements
 -Q, --queue              create message queue
 -p, --mode <mode>        permission for the resource (default is 0644)

 -h, --help               display this help
 -V, --version            display version

Arguments:
 <size> arguments may be followed by the suffixes for
   GiB, TiB, PiB, EiB, ZiB, and YiB (the "iB" is optional)

For more details see ipcmk(1).
"""

_IPCMK_LONG = (LongOpt("shmem", 1, "M"), LongOpt("semaphore", 1, "S"),
               LongOpt("queue", 0, "Q"), LongOpt("mode", 1, "p"),
               LongOpt("version", 0, "V"), LongOpt("help", 0, "h"))


def ipcmk(ctx: Ctx, args: list[str]) -> int:
    """ipcmk(1): create a queue, a semaphore set and/or a segment under a random key."""
    opts, _operands, bad = getopt_until_error(args, "hM:QS:p:Vh", _IPCMK_LONG)
    permission, size, nsems = 0o644, 0, 0
    ask_shm = ask_msg = ask_sem = False
    for key, arg in opts:
        if key == "M":
            assert arg is not None       # (-M, -S and -p take one)
            size, err = parse_size_err(arg)
            if err:
                ctx.err(1, f"failed to parse size: '{arg}'", err)
            ask_shm = True
        elif key == "Q":
            ask_msg = True
        elif key == "S":
            assert arg is not None
            nsems = strtonum_or_err(ctx, arg, "failed to parse elements", INT_MIN, INT_MAX)
            ask_sem = True
        elif key == "p":
            assert arg is not None
            value, rest = c_strtol(arg, 8, unsigned=True)
            if value is None or rest:
                ctx.err(1, "failed to parse mode", 0)
            if not -(2 ** 64) < value < 2 ** 64:
                ctx.err(1, "failed to parse mode", errno.ERANGE)
            permission = value & 0xFFFFFFFF
        elif key == "h":
            ctx.usage(IPCMK_HELP)
        elif key == "V":
            ctx.print_version()
    if bad:
        ctx.bad_option(str(bad))
    if not (ask_shm or ask_msg or ask_sem):
        ctx.warnx("bad usage")
        ctx.errtryhelp(1)
    p = ctx.proc
    perm = permission - 2 ** 32 if permission >= 2 ** 31 else permission
    if ask_shm:
        try:
            ident = p.shmget(ctx.shell.random_key(), size, perm | IPC_CREAT)
        except OSError as e:
            ctx.err(1, "create share memory failed", e.errno)
        ctx.write(f"Shared memory id: {ident}\n")
    if ask_msg:
        try:
            ident = p.msgget(ctx.shell.random_key(), perm | IPC_CREAT)
        except OSError as e:
            ctx.err(1, "create message queue failed", e.errno)
        ctx.write(f"Message queue id: {ident}\n")
    if ask_sem:
        try:
            ident = p.semget(ctx.shell.random_key(), nsems, perm | IPC_CREAT)
        except OSError as e:
            ctx.err(1, "create semaphore failed", e.errno)
        ctx.write(f"Semaphore id: {ident}\n")
    return 0


# --- ipcrm ---------------------------------------------------------------------------------
IPCRM_HELP = """
Usage:
 ipcrm [options]
 ipcrm shm|msg|sem <id>...

Remove certain IPC resources.

Options:
 -m, --shmem-id <id>        remove shared memory segment by id
 -M, --shmem-key <key>      remove shared memory segment by key
 -q, --queue-id <id>        remove message queue by id
 -Q, --queue-key <key>      remove message queue by key
 -s, --semaphore-id <id>    remove semaphore by id
 -S, --semaphore-key <key>  remove semaphore by key
 -a, --all[=shm|msg|sem]    remove all (in the specified category)
 -v, --verbose              explain what is being done

 -h, --help                 display this help
 -V, --version              display version

For more details see ipcrm(1).
"""

_IPCRM_LONG = (LongOpt("shmem-id", 1, "m"), LongOpt("shmem-key", 1, "M"),
               LongOpt("queue-id", 1, "q"), LongOpt("queue-key", 1, "Q"),
               LongOpt("semaphore-id", 1, "s"), LongOpt("semaphore-key", 1, "S"),
               LongOpt("all", 2, "a"), LongOpt("verbose", 0, "v"),
               LongOpt("version", 0, "V"), LongOpt("help", 0, "h"))


class _Ipcrm:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.verbose = False

    def remove_id(self, kind: str, iskey: bool, ident: int) -> int:
        ctx, p = self.ctx, self.ctx.proc
        try:
            if kind == "shm":
                if self.verbose:
                    ctx.write(f"removing shared memory segment id `{ident}'\n")
                p.shmctl(ident, IPC_RMID)
            elif kind == "msg":
                if self.verbose:
                    ctx.write(f"removing message queue id `{ident}'\n")
                p.msgctl(ident, IPC_RMID)
            else:
                if self.verbose:
                    ctx.write(f"removing semaphore id `{ident}'\n")
                p.semctl(ident, 0, IPC_RMID)
        except OSError as e:
            what = "key" if iskey else "id"
            if e.errno in (errno.EACCES, errno.EPERM):
                msg = f"permission denied for {what}"
            elif e.errno == errno.EINVAL:
                msg = f"invalid {what}"
            elif e.errno == errno.EIDRM:
                msg = f"already removed {what}"
            else:
                ctx.err(1, f"{what} failed", e.errno)
            ctx.warnx(f"{msg} ({ident})")
            return 1
        return 0

    def key_to_id(self, kind: str, text: str) -> int:
        ctx, p = self.ctx, self.ctx.proc
        value, rest = c_strtol(text, 0, unsigned=True) if text else (None, "")
        if value is None or rest:
            ctx.errx(1, f"failed to parse argument: '{text}'")
        if not -(2 ** 64) < value < 2 ** 64:
            ctx.err(1, f"failed to parse argument: '{text}'", errno.ERANGE)
        key = value & 0xFFFFFFFF
        key = key - 2 ** 32 if key >= 2 ** 31 else key
        if key == 0:
            ctx.warnx(f"illegal key ({text})")
            return -1
        try:
            if kind == "shm":
                return p.shmget(key, 0, 0)
            if kind == "msg":
                return p.msgget(key, 0)
            return p.semget(key, 0, 0)
        except OSError as e:
            if e.errno == errno.EACCES:
                msg = "permission denied for key"
            elif e.errno == errno.EIDRM:
                msg = "already removed key"
            elif e.errno == errno.ENOENT:
                msg = "invalid key"
            else:
                ctx.err(1, "key failed", e.errno)
            ctx.warnx(f"{msg} ({text})")
            return -1

    def remove_all(self, what: str) -> int:
        p, ret = self.ctx.proc, 0
        _ds: object
        if what in ("shm", "all"):
            maxid, _ = p.shmctl(0, SHM_INFO)
            for i in range(maxid + 1):
                try:
                    rm_me, _ds = p.shmctl(i, SHM_STAT)
                except OSError:
                    continue
                ret |= self.remove_id("shm", False, rm_me)
        if what in ("sem", "all"):
            maxid, _ = p.semctl(0, 0, SEM_INFO)
            for i in range(maxid + 1):
                try:
                    rm_me, _ds = p.semctl(i, 0, SEM_STAT)
                except OSError:
                    continue
                ret |= self.remove_id("sem", False, rm_me)
        if what in ("msg", "all"):
            maxid, _ = p.msgctl(0, MSG_INFO)
            for i in range(maxid + 1):
                try:
                    rm_me, _ds = p.msgctl(i, MSG_STAT)
                except OSError:
                    continue
                ret |= self.remove_id("msg", False, rm_me)
        return ret


def ipcrm(ctx: Ctx, args: list[str]) -> int:
    """ipcrm(1): remove System V objects by id or key, or all of them."""
    if not args:
        return 0
    rm = _Ipcrm(ctx)
    if args[0] in ("shm", "msg", "sem"):
        if len(args) < 2:
            ctx.warnx("not enough arguments")
            ctx.errtryhelp(1)
        errors = 0
        for word in args[1:]:
            value, rest = c_strtol(word, 10, unsigned=True)
            if value is None and not word:
                value = 0                   # strtoul("") is 0, its end the empty rest
            if value is None or rest or not -(2 ** 64) < value < 2 ** 64:
                ctx.warnx(f"invalid id: {word}")
                errors += 1
                continue
            ident = value & 0xFFFFFFFF
            ident = ident - 2 ** 32 if ident >= 2 ** 31 else ident
            errors += rm.remove_id(args[0], False, ident)
        if errors:
            return 1
        ctx.write("resource(s) deleted\n")
        return 0
    try:
        opts, operands = getopt_long(args, "q:m:s:Q:M:S:a::vhV", _IPCRM_LONG)
    except GetoptError as e:
        _ipcrm_actions(ctx, rm, e.options)       # ipcrm acts on each option as it comes
        ctx.bad_option(str(e))
    rm_all, what = False, "all"
    ret = _ipcrm_actions(ctx, rm, opts)
    for key, arg in opts:
        if key == "a":
            rm_all = True
            what = arg if arg is not None else "all"
    if rm_all and rm.remove_all(what):
        ret += 1
    if operands:
        ctx.warnx(f"unknown argument: {operands[0]}")
        ctx.errtryhelp(1)
    return 0 if ret == 0 else 1


def _ipcrm_actions(ctx: Ctx, rm: _Ipcrm, opts: Options) -> int:
    """The per-option actions of ipcrm's getopt loop, in order."""
    ret = 0
    for key, arg in opts:
        if key in "MQS" and len(key) == 1:
            kind = {"M": "shm", "Q": "msg", "S": "sem"}[key]
            assert arg is not None       # (each of these takes one)
            ident = rm.key_to_id(kind, arg)
            if ident < 0:
                ret += 1
            elif rm.remove_id(kind, True, ident):
                ret += 1
        elif key in "mqs" and len(key) == 1:
            kind = {"m": "shm", "q": "msg", "s": "sem"}[key]
            assert arg is not None
            ident = strtonum_or_err(ctx, arg, "failed to parse argument", INT_MIN, INT_MAX)
            if rm.remove_id(kind, False, ident):
                ret += 1
        elif key == "a":
            if arg is not None and arg not in ("shm", "msg", "sem"):
                ctx.errx(1, f"unknown argument: {arg}")
        elif key == "v":
            rm.verbose = True
        elif key == "h":
            ctx.usage(IPCRM_HELP)
        elif key == "V":
            ctx.print_version()
    return ret
