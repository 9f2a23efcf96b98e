"""lsns(8) as util-linux 2.38.1 prints it, over the simulated /proc.

Like the real tool it walks ``/proc``, reads each process's ``/proc/PID/ns/*`` links and
groups the processes by namespace; a namespace is shown under the namespace of its first
process's parent (the default "process" tree) and rows are in inode order. Namespaces that
only a descriptor or a bind mount keeps alive have no process, so, as in 2.38.1, they are
not listed.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .common import PASSWD, Ctx, strtonum_or_err
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
INIT_USER_NS = 4026531837

_LONG = (LongOpt("json", 0, "J"), LongOpt("task", 1, "p"), LongOpt("help", 0, "h"),
         LongOpt("output", 1, "o"), LongOpt("output-all", 0, "output-all"),
         LongOpt("noheadings", 0, "n"), LongOpt("nowrap", 0, "W"), LongOpt("list", 0, "l"),
         LongOpt("raw", 0, "r"), LongOpt("type", 1, "t"), LongOpt("version", 0, "V"),
         LongOpt("notruncate", 0, "u"), LongOpt("tree", 2, "T"))


class _Ns:
    def __init__(self, kind: str, inum: int):
        self.kind = kind
        self.inum = inum
        self.procs: list[Process] = []
        self.children: list[_Ns] = []
        self.parent: _Ns | None = None


def lsns(ctx: Ctx, args: list[str]) -> int:
    """lsns(8): the namespaces of the simulated machine's processes."""
    opts, operands, bad = getopt_until_error(args, "Jlp:o:nruhVt:T::W", _LONG)
    columns: list[str] = []
    kinds: list[str] = []
    task = None
    json_out = list_mode = raw = no_headings = owner_tree = False
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
                ctx.errx(1, f"invalid namespace argument: '{arg}'")
            if arg == "parent":
                ctx.errx(1, f"--tree={arg}: ipcsim models no user namespaces, so there is no "
                            f"{arg} tree to show")
            owner_tree = arg != "process"          # -T alone is the owner tree
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
    namespaces = _collect(ctx, kinds)
    if task is not None:
        inums = {(ns.kind, ns.inum) for ns in namespaces.values()
                 if any(p.pid == task for p in ns.procs)}
        shown = [ns for ns in namespaces.values() if (ns.kind, ns.inum) in inums]
    else:
        shown = list(namespaces.values())
    shown.sort(key=lambda ns: (ns.inum, TYPES.index(ns.kind)))
    if not shown and only_ns is None:
        return 0                          # no namespace: no table, not even its header
    if only_ns is not None:
        return _one_namespace(ctx, namespaces, only_ns, columns, no_headings, raw, json_out,
                              not list_mode)
    tree = not (list_mode or raw or json_out) and "COMMAND" in columns
    rows: list[tuple[list[str], str]] = []
    if owner_tree and not (list_mode or raw or json_out) and "NS" in columns:
        # every namespace of the model is owned by the initial user namespace
        owner = next((ns for ns in shown if ns.kind == "user" and ns.inum == INIT_USER_NS),
                     None)
        head = _cells(ctx, owner, columns) if owner is not None else [
            {"NS": str(INIT_USER_NS), "TYPE": "user", "NPROCS": "0", "USER": "root",
             "UID": "0", "ONS": "0", "PNS": "0"}.get(c, "") for c in columns]
        kids = [ns for ns in shown if ns is not owner]
        rows.append((head, ""))
        for i, ns in enumerate(kids):
            rows.append((_cells(ctx, ns, columns), "└─" if i == len(kids) - 1 else "├─"))
        _table(ctx, columns, rows, no_headings, raw, tree_column="NS")
        return 0
    if tree:
        kept = {id(ns) for ns in shown}
        for ns in shown:
            parent = ns.parent
            if parent is not None and id(parent) in kept:
                parent.children.append(ns)
        roots = [ns for ns in shown if ns.parent is None or id(ns.parent) not in kept]

        def walk(ns: _Ns, prefix: str, branch: str) -> None:
            rows.append((_cells(ctx, ns, columns), branch))
            kids = sorted(ns.children, key=lambda n: n.inum)
            for i, kid in enumerate(kids):
                last = i == len(kids) - 1
                walk(kid, prefix + ("  " if last else "│ "),
                     prefix + ("└─" if last else "├─"))

        for ns in roots:
            walk(ns, "", "")
    else:
        rows = [(_cells(ctx, ns, columns), "") for ns in shown]
    if json_out:
        _json(ctx, columns, [cells for cells, _ in rows])
        return 0
    _table(ctx, columns, rows, no_headings, raw)
    return 0


def _collect(ctx: Ctx, kinds: list[str]) -> dict[tuple[str, int], _Ns]:
    """Every namespace of every process, as lsns finds them by reading /proc."""
    p = ctx.proc
    found: dict[tuple[str, int], _Ns] = {}
    by_pid: dict[tuple[str, int], _Ns] = {}
    procs = [q for q in p.kernel.processes()]
    for q in procs:
        for kind in kinds:
            try:
                link = p.readlink(f"/proc/{q.pid}/ns/{kind}")
            except OSError:
                continue
            inum = int(link[link.index("[") + 1:-1])
            ns = found.get((kind, inum))
            if ns is None:
                ns = found[(kind, inum)] = _Ns(kind, inum)
            ns.procs.append(q)
            by_pid[(kind, q.pid)] = ns
    for (kind, inum), ns in found.items():
        first = ns.procs[0]
        parent = first.parent
        if parent is not None and parent.alive:
            pns = by_pid.get((kind, parent.pid))
            if pns is not None and pns is not ns:
                ns.parent = pns
    return found


def _command(ctx: Ctx, proc: Process) -> str:
    return ctx.shell.cmdline(proc) if ctx.shell is not None else proc.comm


def _cells(ctx: Ctx, ns: _Ns, columns: list[str]) -> list[str]:
    first = ns.procs[0]
    values = {
        "NS": str(ns.inum), "TYPE": ns.kind, "PATH": f"/proc/{first.pid}/ns/{ns.kind}",
        "NPROCS": str(len(ns.procs)), "PID": str(first.pid), "PPID": str(first.ppid),
        "COMMAND": _command(ctx, first), "UID": str(first.uid),
        "USER": PASSWD.get(first.uid, str(first.uid)), "NETNSID": "", "NSFS": "",
        "PNS": "0", "ONS": str(INIT_USER_NS),
    }
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


def _json(ctx: Ctx, columns: list[str], rows: list[list[str]]) -> None:
    lines = ["{", '   "namespaces": [']
    for r, cells in enumerate(rows):
        lines.append("      {")
        for n, (col, cell) in enumerate(zip(columns, cells)):
            if col in NUMBER:
                value = cell if cell else "null"
            else:
                value = json.dumps(cell, ensure_ascii=False) if cell else "null"
            comma = "," if n < len(columns) - 1 else ""
            lines.append(f'         "{col.lower()}": {value}{comma}')
        lines.append("      }" + ("," if r < len(rows) - 1 else ""))
    lines.append("   ]")
    lines.append("}")
    ctx.write("\n".join(lines) + "\n")


def _one_namespace(ctx: Ctx, namespaces: dict[tuple[str, int], _Ns], inum: int,
                   columns: list[str], no_headings: bool, raw: bool, json_out: bool,
                   tree: bool) -> int:
    """``lsns <namespace>``: the processes of one namespace, as a tree of parents and
    children (unless a list is asked for)."""
    match = [ns for (kind, n), ns in sorted(namespaces.items()) if n == inum]
    if not match:
        ctx.errx(1, f"not found namespace: {inum}")
    ns = match[0]

    def cells(q: Process) -> list[str]:
        values = {"PID": str(q.pid), "PPID": str(q.ppid),
                  "USER": PASSWD.get(q.uid, str(q.uid)), "COMMAND": _command(ctx, q),
                  "UID": str(q.uid), "NS": str(ns.inum), "TYPE": ns.kind,
                  "PATH": f"/proc/{q.pid}/ns/{ns.kind}", "NPROCS": str(len(ns.procs)),
                  "NETNSID": "", "NSFS": "", "PNS": "0", "ONS": str(INIT_USER_NS)}
        return [values[c] for c in columns]

    rows: list[tuple[list[str], str]] = []
    if tree and not (raw or json_out) and "COMMAND" in columns:
        members = {q.pid for q in ns.procs}

        def walk(q: Process, prefix: str, branch: str) -> None:
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
