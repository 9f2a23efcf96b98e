"""lsns(8) as util-linux 2.38.1 prints it, over the simulated /proc.

Like the real tool it walks ``/proc``, reads each process's ``/proc/PID/ns/*`` links (a
process whose links the reader may not follow, another user's or one in a user namespace
above the reader's, counts in none) and groups the processes by namespace, in inode order.
The default "process" tree puts a namespace's line under the line last shown for its lowest
process's parent; ``-T owner`` and ``-T parent`` put each under the user namespace that owns
it or its parent, found with the NS_GET_USERNS and NS_GET_PARENT ioctls (and shown, without
process, where no process showed it). Namespaces that only a descriptor or a bind mount
keeps alive have no process, so, as in 2.38.1, they are not listed.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

from ..constants import NS_GET_OWNER_UID, NS_GET_PARENT, NS_GET_USERNS
from .common import PASSWD, Ctx, proc_pids, strtonum_or_err
from .getopt import LongOpt, getopt_until_error

if TYPE_CHECKING:
    from ..kernel.process import Process

LSNS_HELP = """
Usage:
 lsns [options] [<namespace>]

List system namespaces.

Options:
 -J, --json             use JSON output format
 -l, --list             use list format output
 -n, --noheadings       don't print headings
 -o, --output <list>    define which output columns to use
     --output-all       output all columns
 -p, --task <pid>       print process namespaces
 -r, --raw              use the raw output format
 -u, --notruncate       don't truncate text in columns
 -W, --nowrap           don't use multi-line representation
 -t, --type <name>      namespace type (mnt, net, ipc, user, pid, uts, cgroup, time)
 -T, --tree <rel>       use tree format (parent, owner, or process)

 -h, --help             display this help
 -V, --version          display version

Available output columns:
          NS  namespace identifier (inode number)
        TYPE  kind of namespace
        PATH  path to the namespace
      NPROCS  number of processes in the namespace
         PID  lowest PID in the namespace
        PPID  PPID of the PID
     COMMAND  command line of the PID
         UID  UID of the PID
        USER  username of the PID
     NETNSID  namespace ID as used by network subsystem
        NSFS  nsfs mountpoint (usually used network subsystem)
         PNS  parent namespace identifier (inode number)
         ONS  owner namespace identifier (inode number)

For more details see lsns(8).
"""

# /proc/PID/ns link names in lsns's order of types
TYPES = ("mnt", "net", "ipc", "user", "pid", "uts", "cgroup", "time")
COLUMNS = ("NS", "TYPE", "PATH", "NPROCS", "PID", "PPID", "COMMAND", "UID", "USER", "NETNSID",
           "NSFS", "PNS", "ONS")
RIGHT = {"NS", "NPROCS", "PID", "PPID", "UID", "NETNSID", "PNS", "ONS"}
NUMBER = {"NS", "NPROCS", "PID", "PPID", "UID", "NETNSID", "PNS", "ONS"}
DEFAULT = ("NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND")
HINTS = {"NS": 10, "TYPE": 5, "NPROCS": 5, "PID": 5, "PPID": 5, "PNS": 10, "ONS": 10}

_LONG = (LongOpt("json", 0, "J"), LongOpt("task", 1, "p"), LongOpt("help", 0, "h"),
         LongOpt("output", 1, "o"), LongOpt("output-all", 0, "output-all"),
         LongOpt("noheadings", 0, "n"), LongOpt("nowrap", 0, "W"), LongOpt("list", 0, "l"),
         LongOpt("raw", 0, "r"), LongOpt("type", 1, "t"), LongOpt("version", 0, "V"),
         LongOpt("notruncate", 0, "u"), LongOpt("tree", 2, "T"))


class _Proc:
    """A process as lsns reads it from /proc: its pid, parent, owner and namespaces."""

    def __init__(self, proc: Process, pid: int, ppid: int, uid: int):
        self.proc = proc
        self.pid = pid          # as /proc numbers them (its mounter's PID namespace)
        self.ppid = ppid
        self.uid = uid
        self.parent: _Proc | None = None
        self.outline: _Line | None = None


class _Ns:
    """A namespace lsns found: through its processes, or (trees) as the owner or parent of
    one it found, through NS_GET_USERNS and NS_GET_PARENT."""

    def __init__(self, kind: str, inum: int, parent: int = 0, owner: int = 0):
        self.kind = kind
        self.inum = inum
        self.related = {"parent": parent, "owner": owner}   # inode numbers, 0: not visible
        self.procs: list[_Proc] = []
        self.proc: _Proc | None = None        # the lowest pid
        self.owner_uid: int | None = None     # NS_GET_OWNER_UID, for one found without process
        self.outline: _Line | None = None


class _Line:
    def __init__(self, cells: list[str], parent: _Line | None):
        self.cells = cells
        self.children: list[_Line] = []
        if parent is not None:
            parent.children.append(self)


def lsns(ctx: Ctx, args: list[str]) -> int:
    """lsns(8): the namespaces of the simulated machine's processes that the caller may see
    (a process whose /proc/PID/ns it may not read counts in none), with the owner and
    parent namespaces the NS_GET_* ioctls show it (-T owner, -T parent)."""
    opts, operands, bad = getopt_until_error(args, "Jlp:o:nruhVt:T::W", _LONG)
    columns: list[str] = []
    kinds: list[str] = []
    task = None
    json_out = list_mode = raw = no_headings = False
    tree = "process"
    for key, arg in opts:
        if key == "J":
            json_out = True
        elif key == "l":
            list_mode = True
        elif key == "r":
            raw = True
        elif key == "n":
            no_headings = True
        elif key == "p":
            assert arg is not None       # (-p, -o and -t take one)
            task = strtonum_or_err(ctx, arg, "invalid PID argument", -2 ** 31, 2 ** 31 - 1)
        elif key == "o":
            assert arg is not None
            add = arg.startswith("+")
            names = (arg[1:] if add else arg).split(",")
            if not add:
                columns = []
            for name in names:
                if name.upper() not in COLUMNS:
                    ctx.errx(1, f"unknown column: {name}")
                columns.append(name.upper())
            if add:
                columns = list(DEFAULT) + columns
        elif key == "output-all":
            columns = list(COLUMNS)
        elif key == "t":
            assert arg is not None
            if arg not in TYPES:
                ctx.errx(1, f"unknown namespace type: {arg}")
            kinds.append(arg)
        elif key == "T":
            if arg not in (None, "process", "parent", "owner"):
                ctx.errx(1, f"unknown tree type: {arg}")
            tree = arg or "owner"                  # -T alone is the owner tree
        elif key == "h":
            ctx.usage(LSNS_HELP)
        elif key == "V":
            ctx.print_version()
        # -u and -W change nothing here: no column is ever truncated or wrapped
    if bad:
        ctx.bad_option(str(bad))
    only_ns = None
    if operands:
        if task is not None:
            ctx.errx(1, "--task is mutually exclusive with <namespace>")
        only_ns = strtonum_or_err(ctx, operands[0], "invalid namespace argument", 0, 2 ** 64)
    if not kinds:
        kinds = list(TYPES)
    if not columns:
        columns = list(DEFAULT)
        if only_ns is not None:
            columns = ["PID", "PPID", "USER", "COMMAND"]
    namespaces = _collect(ctx, kinds, tree in ("owner", "parent") and only_ns is None)
    if only_ns is not None:
        return _one_namespace(ctx, namespaces, only_ns, columns, no_headings, raw, json_out,
                              not list_mode)
    shown = [ns for ns in namespaces
             if task is None or any(q.pid == task for q in ns.procs)]
    if not shown:
        return 0                          # no namespace: no table, not even its header
    if tree in ("owner", "parent"):
        return _related_tree(ctx, namespaces, shown, tree, columns, no_headings, raw,
                             json_out)
    process_tree = not (list_mode or raw or json_out) and "COMMAND" in columns
    roots: list[_Line] = []
    for ns in shown:
        assert ns.proc is not None        # (found through its processes)
        parent = ns.proc.parent.outline if process_tree and ns.proc.parent else None
        line = _Line(_cells(ctx, ns, ns.proc, columns), parent)
        if parent is None:
            roots.append(line)
        ns.proc.outline = line
    if json_out:
        _json(ctx, columns, [line.cells for line in roots])
        return 0
    _table(ctx, columns, _flatten(roots), no_headings, raw)
    return 0


def _related_tree(ctx: Ctx, namespaces: list[_Ns], shown: list[_Ns], rela: str,
                  columns: list[str], no_headings: bool, raw: bool, json_out: bool) -> int:
    """-T owner, -T parent: each namespace under the one that owns it (or its parent; a
    namespace that has none under its owner), which is shown first where it is not yet; one
    lsns found only through the ioctls has no process."""
    by_inum = {ns.inum: ns for ns in namespaces}
    tree = "NS" in columns
    roots: list[_Line] = []

    def show(ns: _Ns) -> None:
        up = by_inum.get(ns.related[rela]) if ns.related[rela] else None
        first = up
        if rela == "parent" and first is None and ns.related["owner"]:
            first = by_inum.get(ns.related["owner"])     # (a kind without parents)
        if first is not None and first.outline is None:
            show(first)
        parent = up.outline if tree and up is not None else None
        ns.outline = _Line(_cells(ctx, ns, ns.proc, columns), parent)
        if parent is None:
            roots.append(ns.outline)
        if ns.proc is not None:
            ns.proc.outline = ns.outline

    for ns in shown:
        if ns.outline is None:
            show(ns)
    if json_out:
        _json(ctx, columns, roots)
        return 0
    _table(ctx, columns, _flatten(roots), no_headings, raw, tree_column="NS")
    return 0


def _flatten(roots: list[_Line]) -> list[tuple[list[str], str]]:
    """The lines in libsmartcols' order, each with its branch: children after their
    parent, in the order they were added."""
    rows: list[tuple[list[str], str]] = []

    def walk(line: _Line, prefix: str, branch: str) -> None:
        rows.append((line.cells, branch))
        for i, kid in enumerate(line.children):
            last = i == len(line.children) - 1
            walk(kid, prefix + ("  " if last else "│ "), prefix + ("└─" if last else "├─"))

    for line in roots:
        walk(line, "", "")
    return rows


def _ns_inum(p: Process, fd: int) -> int:
    """fstat(2)'s st_ino of a namespace descriptor (the model has no fstat: the
    namespace's number)."""
    file = p.fds[fd]
    return int(getattr(file, "ns").inum)


def _related_inum(p: Process, fd: int, request: int) -> int:
    """The inode of the namespace an NS_GET_* ioctl on ``fd`` gives; 0 where the caller
    may not see it (EPERM) or the kind has none (EINVAL)."""
    try:
        related = p.ioctl(fd, request)
    except OSError:
        return 0
    try:
        return _ns_inum(p, related)
    finally:
        p.close(related)


def _collect(ctx: Ctx, kinds: list[str], related: bool) -> list[_Ns]:
    """Every namespace of every process, in inode order, as lsns finds them by reading
    /proc: a namespace file the caller may not read (EACCES) leaves the process out of that
    namespace. In a tree, the owner or parent of one found is looked up too."""
    p = ctx.proc
    found: dict[int, _Ns] = {}
    procs: list[_Proc] = []
    for nr, ppid, q in proc_pids(p):
        name = str(nr)
        try:
            uid = p.stat(f"/proc/{name}").st_uid
        except OSError:
            continue
        proc = _Proc(q, nr, ppid, uid)
        procs.append(proc)
        for kind in TYPES:
            if kind not in kinds:
                continue
            try:
                link = p.readlink(f"/proc/{name}/ns/{kind}")
            except OSError:
                continue
            inum = int(link[link.index("[") + 1:-1])
            ns = found.get(inum)
            if ns is None:
                ns = found[inum] = _Ns(kind, inum, *_related_of(p, f"/proc/{name}/ns/{kind}",
                                                                 kind))
            ns.procs.append(proc)
            if ns.proc is None or proc.pid < ns.proc.pid:
                ns.proc = proc
    by_pid = {proc.pid: proc for proc in procs}
    for proc in procs:
        proc.parent = by_pid.get(proc.ppid)
    namespaces = sorted(found.values(), key=lambda ns: ns.inum)
    if related:
        _add_related(p, found, namespaces)
    return namespaces


def _related_of(p: Process, path: str, kind: str) -> tuple[int, int]:
    """(parent, owner) of the namespace at ``path``: NS_GET_PARENT for a user or PID
    namespace, NS_GET_USERNS for any."""
    try:
        fd = p.open(path)
    except OSError:
        return 0, 0
    try:
        parent = _related_inum(p, fd, NS_GET_PARENT) if kind in ("user", "pid") else 0
        return parent, _related_inum(p, fd, NS_GET_USERNS)
    finally:
        p.close(fd)


def _add_related(p: Process, found: dict[int, _Ns], namespaces: list[_Ns]) -> None:
    """The owners and parents of the namespaces found that no process showed: each found
    through the ioctls of a descriptor of the one it relates to (appended, as lsns appends
    them)."""
    i = 0
    while i < len(namespaces):
        ns = namespaces[i]
        i += 1
        for rela, request in (("owner", NS_GET_USERNS), ("parent", NS_GET_PARENT)):
            inum = ns.related[rela]
            if not inum or inum in found:
                continue
            fd = _open_ns(p, ns)
            if fd is None:
                continue
            try:
                try:
                    up = p.ioctl(fd, request)
                except OSError:
                    continue
                try:
                    kind = "user" if rela == "owner" else ns.kind
                    new = _Ns(kind, _ns_inum(p, up),
                              _related_inum(p, up, NS_GET_PARENT) if kind in ("user", "pid")
                              else 0, _related_inum(p, up, NS_GET_USERNS))
                    if kind == "user":
                        new.owner_uid = p.ioctl(up, NS_GET_OWNER_UID)
                finally:
                    p.close(up)
            finally:
                p.close(fd)
            found[new.inum] = new
            namespaces.append(new)


def _open_ns(p: Process, ns: _Ns) -> int | None:
    """A descriptor of ``ns``: its lowest process's namespace file (or, for one found
    through the ioctls, none: lsns keeps the descriptor it found it by)."""
    if ns.proc is None:
        return None
    try:
        return p.open(f"/proc/{ns.proc.pid}/ns/{ns.kind}")
    except OSError:
        return None


def _command(ctx: Ctx, proc: Process) -> str:
    return ctx.shell.cmdline(proc) if ctx.shell is not None else proc.comm


def _cells(ctx: Ctx, ns: _Ns, proc: _Proc | None, columns: list[str]) -> list[str]:
    """A namespace's line; one found without process shows its owner's name (a user
    namespace) and no pid or command."""
    if proc is None:
        uid = ns.owner_uid
        values = {"NS": str(ns.inum), "TYPE": ns.kind, "NPROCS": "0",
                  "UID": "" if uid is None else str(uid),
                  "USER": "" if uid is None else PASSWD.get(uid, str(uid)),
                  "PNS": str(ns.related["parent"]), "ONS": str(ns.related["owner"])}
        return [values.get(c, "") for c in columns]
    values = {
        "NS": str(ns.inum), "TYPE": ns.kind, "PATH": f"/proc/{proc.pid}/ns/{ns.kind}",
        "NPROCS": str(len(ns.procs)), "PID": str(proc.pid), "PPID": str(proc.ppid),
        "COMMAND": _command(ctx, proc.proc), "UID": str(proc.uid),
        "USER": PASSWD.get(proc.uid, str(proc.uid)), "NETNSID": "", "NSFS": "",
        "PNS": str(ns.related["parent"]), "ONS": str(ns.related["owner"]),
    }
    if ns.kind == "net":
        values["NETNSID"] = "unassigned"
    return [values[c] for c in columns]


def _table(ctx: Ctx, columns: list[str], rows: list[tuple[list[str], str]], no_headings: bool,
           raw: bool,
           tree_column: str = "COMMAND") -> None:
    lines = []
    if raw:
        if not no_headings:
            lines.append(" ".join(columns))
        for cells, _branch in rows:
            lines.append(" ".join(_raw_escape(c) for c in cells))
        ctx.write("".join(line + "\n" for line in lines))
        return
    shown = []
    for cells, branch in rows:
        cells = list(cells)
        if tree_column in columns and branch:
            i = columns.index(tree_column)
            cells[i] = branch + cells[i]
        shown.append(cells)
    widths = [0] * len(columns)
    for cells in shown:
        widths = [max(w, len(c)) for w, c in zip(widths, cells)]
    # libsmartcols: a column narrower than its heading takes the heading's width; one at
    # least that wide but under its width hint takes the hint
    heads = [len(c) for c in columns]          # (hidden headings count all the same)
    widths = [head if w < head else HINTS.get(col, 0) if w < HINTS.get(col, 0) and
              head < HINTS.get(col, 0) else w
              for w, head, col in zip(widths, heads, columns)]
    table = ([] if no_headings else [list(columns)]) + shown
    for cells in table:
        parts = []
        for n, (col, cell) in enumerate(zip(columns, cells)):
            last = n == len(columns) - 1
            if col in RIGHT and col != tree_column:     # (a tree column is left-aligned)
                parts.append(cell.rjust(widths[n]))
            elif last:
                parts.append(cell)
            else:
                parts.append(cell.ljust(widths[n]))
        lines.append(" ".join(parts))
    ctx.write("".join(line + "\n" for line in lines))


def _raw_escape(text: str) -> str:
    """libsmartcols' raw output: blanks, backslashes and non-ASCII bytes as \\xHH."""
    out = []
    for byte in text.encode():
        ch = chr(byte)
        if byte > 126 or byte <= 32 or ch == "\\":
            out.append(f"\\x{byte:02x}")
        else:
            out.append(ch)
    return "".join(out)


def _json(ctx: Ctx, columns: list[str], rows: Sequence[list[str] | _Line]) -> None:
    """libsmartcols' JSON: one object per line; a tree's children nested in theirs."""
    lines = ["{", '   "namespaces": [']

    def obj(cells: list[str], kids: list[_Line], indent: str) -> list[str]:
        out = []
        fields = []
        for col, cell in zip(columns, cells):
            if col in NUMBER:
                value = cell if cell else "null"
            else:
                value = json.dumps(cell, ensure_ascii=False) if cell else "null"
            fields.append(f'{indent}   "{col.lower()}": {value}')
        if kids:
            fields.append(f'{indent}   "children": [')
        out.append(",\n".join(fields))
        if kids:
            parts = [obj(k.cells, k.children, indent + "      ") for k in kids]
            out.append(f"{indent}      {{\n" + f"\n{indent}      }},{{\n".join(
                "\n".join(p) for p in parts) + f"\n{indent}      }}")
            out.append(f"{indent}   ]")
        return out

    for r, row in enumerate(rows):
        if isinstance(row, _Line):
            cells, kids = row.cells, row.children
        else:
            cells, kids = row, []
        lines.append("      {")
        lines.extend(obj(cells, kids, "      "))
        lines.append("      }" + ("," if r < len(rows) - 1 else ""))
    lines.append("   ]")
    lines.append("}")
    ctx.write("\n".join(lines) + "\n")


def _one_namespace(ctx: Ctx, namespaces: list[_Ns], inum: int, columns: list[str],
                   no_headings: bool, raw: bool, json_out: bool, tree: bool) -> int:
    """``lsns <namespace>``: the processes of one namespace, as a tree of parents and
    children (unless a list is asked for)."""
    match = [ns for ns in namespaces if ns.inum == inum and ns.procs]
    if not match:
        ctx.errx(1, f"not found namespace: {inum}")
    ns = match[0]

    def cells(q: _Proc) -> list[str]:
        return _cells(ctx, ns, q, columns)

    rows: list[tuple[list[str], str]] = []
    if tree and not (raw or json_out) and "COMMAND" in columns:
        members = {q.pid for q in ns.procs}

        def walk(q: _Proc, prefix: str, branch: str) -> None:
            rows.append((cells(q), branch))
            kids = [c for c in ns.procs if c.parent is q]
            for n, kid in enumerate(kids):
                last = n == len(kids) - 1
                walk(kid, prefix + ("  " if last else "│ "),
                     prefix + ("└─" if last else "├─"))

        for q in ns.procs:
            if q.parent is None or q.parent.pid not in members:
                walk(q, "", "")
    else:
        rows = [(cells(q), "") for q in ns.procs]
    if json_out:
        _json(ctx, columns, [c for c, _ in rows])
    else:
        _table(ctx, columns, rows, no_headings, raw)
    return 0
