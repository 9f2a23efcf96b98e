"""Views of the model for terminals and notebooks: text, HTML, plain data and timelines.

* ``str(k)`` and, in Jupyter, the display of a Kernel: the tree of live IPC namespaces
  with their member processes and what each namespace holds, and the user namespaces
  below the initial one (who made each, its id maps, the IPC namespaces it owns).
* ``str(ns)`` / display of an IpcNamespace: its objects as ipcs-like tables (plus its POSIX
  queues); of a Process: pid, parent, credentials, namespace, state, attachments; of each
  IPC object (message queue, semaphore set, shared memory segment, POSIX queue): its fields.
* ``k.snapshot()``: the same state as plain data (dicts of lists of dicts of str/int/None),
  e.g. ``pandas.DataFrame(k.snapshot()["processes"])``.
* :class:`Timeline`: a traced run drawn with one lane per process, each system call a tick
  and each blocked call a bar (to SVG, pure Python; to PNG with the ``plot`` extra).

The model classes keep no presentation code: they inherit
:class:`ipcsim.kernel.viewable.Viewable`, whose ``__str__``, ``_repr_pretty_`` and
``_repr_html_`` call :func:`text` and :func:`html` here; ``repr()`` stays the short one-line
form.
"""
from __future__ import annotations

import html as _html
from typing import TYPE_CHECKING, Any, Callable, Union

import attrs

from .kernel.files import OpenFile
from .kernel.kernel import Kernel
from .kernel.mqueue import MqueueInode
from .kernel.msg import MsgQueue
from .kernel.namespace import IpcNamespace
from .kernel.perm import KernIpcPerm
from .kernel.process import Process
from .kernel.sem import SemArray
from .kernel.shm import ShmidKernel
from .kernel.userns import OVERFLOW_ID, UserNamespace, from_kgid_munged, from_kuid_munged
from .kernel.viewable import Viewable
from .kernel.waitq import Waiter, WaitQueue

if TYPE_CHECKING:
    from .explore import Report, SeedResult
    from .explore.shrink import Shrunk

# The IPC objects that have a view of their own.
IpcObject = Union[MsgQueue, SemArray, ShmidKernel, MqueueInode]

SHM_DEST = 0o1000
SHM_LOCKED = 0o2000
_USERS = {0: "root", OVERFLOW_ID: "nobody"}

_CSS = ("font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; "
        "font-size: 12px;")


def _user(uid: int) -> str:
    return _USERS.get(uid, str(uid))


def _esc(value: object) -> str:
    return _html.escape(str(value))


# Row backgrounds of the HTML views: a process blocked in a call, one deadlocked (the
# colours of the timeline's bars, lighter).
BLOCKED_ROW = "background:#ffe8d1"
DEADLOCKED_ROW = "background:#f9d0d0"


def _table_html(headers: list[str], rows: list[list[object]], caption: str = "",
                styles: list[str] | None = None) -> str:
    """A table; ``styles`` gives each row's style ("" for none)."""
    head = "".join(f"<th style='text-align:left;padding:0 8px'>{_esc(h)}</th>" for h in headers)
    body = "".join(("<tr>" if not style else f"<tr style='{style}'>")
                   + "".join(f"<td style='padding:0 8px'>{_esc(c)}</td>" for c in row)
                   + "</tr>" for row, style in zip(rows, styles or [""] * len(rows)))
    cap = f"<caption style='text-align:left'><b>{_esc(caption)}</b></caption>" if caption else ""
    head_row = f"<tr>{head}</tr>" if any(headers) else ""      # field lists have none
    return f"<table style='{_CSS}border-collapse:collapse'>{cap}{head_row}{body}</table>"


def _table_text(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join(" ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


# --- what a namespace holds -------------------------------------------------------------
def _mqueues(ns: IpcNamespace) -> list[MqueueInode]:
    """The POSIX queues of the namespace's mqueue filesystem, by name. A destroyed
    namespace's queues stay while a mount of its filesystem does (and go with it)."""
    sb = ns.mq_fs
    if sb is None:
        return []
    return [sb.entries[name] for name in sorted(sb.names())]


def _counts(ns: IpcNamespace) -> str:
    parts = [(len(ns.msg_ids), "message queue"), (len(ns.sem_ids), "semaphore set"),
             (len(ns.shm_ids), "shm segment"), (len(_mqueues(ns)), "POSIX queue")]
    return ", ".join(f"{n} {what}{'s' if n != 1 else ''}" for n, what in parts)


def _state(p: Process) -> str:
    if not p.alive:
        return "zombie" if p.zombie else f"exited ({p.exit_status})"
    if p.stopped:
        return "stopped" + (f" (in {p.waiter.what})" if p.waiter is not None else "")
    if p.waiter is not None:
        return f"blocked in {p.waiter.what}"
    task = p.program
    if task is not None:
        if task.state == "runnable":
            return "runnable (its program waits for the CPU: k.run() runs it)"
        return task.state
    return "idle"


def _namespaces(k: Kernel) -> list[IpcNamespace]:
    """The live IPC namespaces by inode number (as lsns lists them; the initial one first).
    Inode numbers of dead namespaces are reused, so age order would not be sorted."""
    return sorted(k.ipc_namespaces, key=lambda ns: ns.inum)


def _zombies(k: Kernel) -> list[Process]:
    return [p for p in k.processes(include_zombies=True) if p.zombie]


def _zombie_line(p: Process) -> str:
    return (f"pid {p.pid} {p.comm} (exit status {p.exit_status}): not yet reaped by its "
            f"parent, pid {p.ppid}")


def _mount_lines(k: Kernel) -> list[str]:
    """The mounts that hold IPC state: namespace files bound somewhere (each holds its
    namespace) and mqueue filesystems (each holds its queues, even once its namespace
    died), by path."""
    from .kernel.mqueue import MqueueMount
    from .kernel.process import NsBindMount
    out = []
    for path, m in k.mounts:
        if isinstance(m, NsBindMount) and m.ns is not None:
            out.append(f"{path}: bind mount of ipc:[{m.ns.inum}] (holds it)")
        elif isinstance(m, MqueueMount) and m.sb is not None:
            ns = m.sb.ns
            owner = f"ipc:[{ns.inum}]" if ns is not None else "a destroyed namespace"
            out.append(f"{path}: mqueue of {owner}, "
                       f"{_plural(len(m.sb.entries), 'POSIX queue')}")
    return out


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _ns_label(ns: IpcNamespace) -> str:
    if ns.is_initial:
        return f"ipc:[{ns.inum}] (initial)"
    label = f"ipc:[{ns.inum}] ({ns.refs} reference{'s' if ns.refs != 1 else ''})"
    owner = ns.user_ns
    if owner.parent is None:
        return label
    return f"{label}, owned by {_userns_label(owner)}"


# --- user namespaces --------------------------------------------------------------------
# Ids in these views are kernel ids: what the initial user namespace sees.
def _userns_label(u: UserNamespace) -> str:
    """``user:[INODE] (level N, owner uid U)``: where it sits and who made it."""
    return f"user:[{u.inum}] (level {u.level}, owner uid {u.owner})"


def _user_namespaces(k: Kernel) -> list[UserNamespace]:
    """The live user namespaces by inode number, the initial one first."""
    return sorted(k.user_namespaces, key=lambda u: u.inum)


def _map_text(idmap: tuple[tuple[int, int, int], ...]) -> str:
    """A written id map as /proc/PID/uid_map has it, seen from the initial namespace,
    extents joined by "; " ("not written" for an empty map)."""
    return "; ".join(f"{first} {lower} {count}" for first, lower, count in idmap) \
        or "not written"


def _userns_members(k: Kernel, u: UserNamespace) -> list[Process]:
    root = k.init_user_ns
    return [p for p in k.processes() if p.creds.user_ns_in(root) is u]


def _owned_ipc(k: Kernel, u: UserNamespace) -> list[IpcNamespace]:
    return [ns for ns in _namespaces(k) if ns.user_ns is u]


def _userns_line(k: Kernel, u: UserNamespace) -> str:
    """One user namespace below the initial one: its label, parent, maps, members and the
    IPC namespaces it owns."""
    parent = u.parent
    assert parent is not None
    where = "" if parent.parent is None else f", below user:[{parent.inum}]"
    owned = ", ".join(f"ipc:[{ns.inum}]" for ns in _owned_ipc(k, u)) or "no IPC namespace"
    procs = _userns_members(k, u)
    return (f"{_userns_label(u)}{where}: uid_map {_map_text(u.uid_map)}, gid_map "
            f"{_map_text(u.gid_map)}; {_plural(len(procs), 'process', 'processes')}; "
            f"owns {owned}")


def _process_userns_fields(p: Process) -> list[tuple[str, object]]:
    """For a process outside the initial user namespace: which one it is in, and its ids
    as that namespace sees them (65534 for an id it does not map)."""
    u = p.creds.user_ns
    if u is None or u.parent is None:
        return []
    c = p.creds
    return [("user namespace", _userns_label(u)),
            ("ids there", f"uid/euid {from_kuid_munged(u, c.uid)}/{from_kuid_munged(u, c.euid)}"
                          f", gid/egid {from_kgid_munged(u, c.gid)}/{from_kgid_munged(u, c.egid)}")]


# --- who waits for whom -----------------------------------------------------------------
@attrs.frozen
class WaitFor:
    """A blocked process and the processes that could wake it, as the kernel's state tells:
    ``why`` says how they were found (``"sem 1 last changed by pid 3"``; empty when none
    was); ``timed`` if the call has a deadline (time alone ends it)."""

    pid: int
    what: str
    wakers: tuple[int, ...]
    why: str
    timed: bool


def wait_for(k: Kernel) -> list[WaitFor]:
    """Every process blocked in a call (pid order; stopped ones are waiting for SIGCONT, not
    for a process) with the processes that could wake it:

    * semop: the last process to change the semaphore its blocking operation needs
      (``sempid``, what GETPID reports);
    * msgrcv / msgsnd on a System V queue: its last sender / last receiver
      (``msg_lspid`` / ``msg_lrpid``);
    * mq_receive / mq_send: the processes holding the queue open for writing / reading;
    * wait(): its live children.

    Nobody for the rest (pause, sigsuspend, sleep: a signal or the clock ends them). The
    waiter itself and processes that have exited are never among the wakers."""
    out = []
    for p in k.processes():
        w = p.waiter
        if w is None or p.stopped:
            continue
        found = _wakers(k, p, w)
        wakers = tuple(sorted(pid for pid in found
                              if pid != p.pid and _alive(k, pid)))
        why = found.get(wakers[0], "") if len(wakers) == 1 else \
            "; ".join(f"pid {pid}: {found[pid]}" for pid in wakers)
        out.append(WaitFor(p.pid, w.what, wakers, why, w.timer is not None))
    return out


def _alive(k: Kernel, pid: int) -> bool:
    p = k.process(pid)
    return p is not None and p.alive


def _wakers(k: Kernel, p: Process, w: Waiter) -> dict[int, str]:
    """pid -> why it could wake the wait ``w`` of ``p`` (see :func:`wait_for`)."""
    from .kernel.mqueue import MqFile
    from .kernel.sem import PendingList, SemArray as _Sem, SemQueue
    queue = w.queue
    if isinstance(queue, PendingList) and isinstance(w.data, SemQueue):
        sma: _Sem = queue.sma
        num = w.data.sops[w.data.blocking][0]
        pid = sma.sempid[num]
        return {pid: f"sem {num} last changed by pid {pid}"} if pid else {}
    if queue is None:
        return {}
    if queue is p.child_wait:
        return {c: "its child" for c in p.children}
    ns = p.ipc_ns
    for q in ns.msg_ids if ns is not None else ():
        if queue is q.q_receivers and q.q_lspid:
            return {q.q_lspid: f"queue {q.id} last sent to by pid {q.q_lspid}"}
        if queue is q.q_senders and q.q_lrpid:
            return {q.q_lrpid: f"queue {q.id} last received from by pid {q.q_lrpid}"}
    found: dict[int, str] = {}
    for other in k.processes():
        for f in other.fds:
            if isinstance(f, MqFile):
                inode = f.inode
                if queue is inode.receivers and f.fmode & 2:
                    found[other.pid] = f"has /{inode.name} open for writing"
                elif queue is inode.senders and f.fmode & 1:
                    found[other.pid] = f"has /{inode.name} open for reading"
    return found


def deadlocked(graph: list[WaitFor]) -> set[int]:
    """The processes of ``graph`` that only deadlocked processes could wake: each waits
    with no deadline, for at least one process, and every process that could wake it is
    in the set too (a cycle of waits, and whatever waits on one). The largest such set:
    a process left out has a way out (a deadline, a waker that can run, or no known
    waker at all: then anyone may end its wait)."""
    waits = {w.pid: w.wakers for w in graph if not w.timed and w.wakers}
    stuck = set(waits)
    changed = True
    while changed:
        changed = False
        for pid in sorted(stuck):
            if any(waker not in stuck for waker in waits[pid]):
                stuck.discard(pid)
                changed = True
    return stuck


# --- Kernel -----------------------------------------------------------------------------
def kernel_text(k: Kernel) -> str:
    """The tree: the kernel, its live IPC namespaces and their processes; then, when there
    are any, the user namespaces below the initial one, zombies and mounts that hold IPC
    state."""
    procs = k.processes()
    nss = _namespaces(k)
    sections: list[tuple[str, list[str]]] = []
    for ns in nss:
        members = ns.members()
        sections.append((f"{_ns_label(ns)}: {_counts(ns)}",
                         [f"pid {p.pid} {p.comm} (uid {p.euid}): {_state(p)}" for p in members]
                         or ["no processes (kept alive by a handle, mount or attachment)"]))
    users = _user_namespaces(k)[1:]
    if users:
        sections.append((f"user namespaces below the initial one: {len(users)}",
                         [_userns_line(k, u) for u in users]))
    zombies = _zombies(k)
    if zombies:
        sections.append((f"zombies (in no namespace any more): {len(zombies)}",
                         [_zombie_line(p) for p in zombies]))
    mounts = _mount_lines(k)
    if mounts:
        sections.append((f"mounts holding IPC state: {len(mounts)}", mounts))
    lines = [f"Kernel seed={k.seed} t={k.clock.now():g}s: "
             f"{_plural(len(procs), 'process', 'processes')} in "
             f"{_plural(len(nss), 'IPC namespace')}"]
    for i, (head, items) in enumerate(sections):
        last = i == len(sections) - 1
        lines.append(f"{'└─' if last else '├─'} {head}")
        stem = "   " if last else "│  "
        lines.extend(f"{stem}{'└─' if j == len(items) - 1 else '├─'} {item}"
                     for j, item in enumerate(items))
    return "\n".join(lines)


def kernel_html(k: Kernel) -> str:
    procs = k.processes()
    nss = _namespaces(k)
    parts = [f"<div style='{_CSS}'><b>Kernel</b> seed={k.seed}, t={k.clock.now():g}s: "
             f"{_plural(len(procs), 'process', 'processes')} in "
             f"{_plural(len(nss), 'IPC namespace')}<ul>"]
    graph = {w.pid: w for w in wait_for(k)}
    stuck = deadlocked(list(graph.values()))
    for ns in nss:
        members = ns.members()
        rows = [[p.pid, p.ppid, p.comm, _user(p.euid), _state(p) + _waits_html(graph, stuck,
                                                                                 p.pid)]
                for p in members]
        styles = [DEADLOCKED_ROW if p.pid in stuck else BLOCKED_ROW if p.pid in graph else ""
                  for p in members]
        parts.append(f"<li><b>{_esc(_ns_label(ns))}</b>: {_esc(_counts(ns))}")
        if rows:
            parts.append(_table_html(["PID", "PPID", "COMMAND", "USER", "STATE"], rows,
                                     styles=styles))
        else:
            parts.append("<br/><i>no processes (kept alive by a handle, mount or "
                         "attachment)</i>")
        parts.append("</li>")
    zombies = _zombies(k)
    if zombies:
        parts.append(f"<li><b>zombies</b> (in no namespace any more): {len(zombies)}<ul>")
        parts.extend(f"<li>{_esc(_zombie_line(p))}</li>" for p in zombies)
        parts.append("</ul></li>")
    users = _user_namespaces(k)[1:]
    if users:
        parts.append(f"<li><b>user namespaces below the initial one</b>: {len(users)}")
        parts.append(_table_html(
            ["NS", "LEVEL", "PARENT", "OWNER UID", "UID_MAP", "GID_MAP", "PROCESSES",
             "OWNS"],
            [[f"user:[{u.inum}]", u.level, f"user:[{u.parent.inum}]" if u.parent else "-",
              u.owner, _map_text(u.uid_map), _map_text(u.gid_map),
              ", ".join(str(p.pid) for p in _userns_members(k, u)) or "none",
              ", ".join(f"ipc:[{ns.inum}]" for ns in _owned_ipc(k, u)) or "-"]
             for u in users]))
        parts.append("</li>")
    mounts = _mount_lines(k)
    if mounts:
        parts.append(f"<li><b>mounts holding IPC state</b>: {len(mounts)}<ul>")
        parts.extend(f"<li>{_esc(line)}</li>" for line in mounts)
        parts.append("</ul></li>")
    parts.append("</ul></div>")
    return "".join(parts)


def _waits_html(graph: dict[int, WaitFor], stuck: set[int], pid: int) -> str:
    """What the state column adds for a blocked process: who could wake it, and whether
    it is deadlocked."""
    w = graph.get(pid)
    if w is None or not w.wakers:
        return ""
    who = ", ".join(f"pid {p}" for p in w.wakers)
    return f" (deadlocked: waits for {who})" if pid in stuck else f" (waits for {who})"


# --- IpcNamespace -----------------------------------------------------------------------
def _msg_rows(ns: IpcNamespace) -> list[list[object]]:
    return [[f"0x{q.key & 0xFFFFFFFF:08x}", q.id, _user(q.uid), f"{q.mode & 0o777:o}",
             q.q_cbytes, q.q_qnum] for q in ns.msg_ids]


def _shm_rows(ns: IpcNamespace) -> list[list[object]]:
    return [[f"0x{s.key & 0xFFFFFFFF:08x}", s.id, _user(s.uid), f"{s.mode & 0o777:o}",
             s.segsz, s.nattch, " ".join(w for w, bit in (("dest", SHM_DEST),
                                                            ("locked", SHM_LOCKED))
                                         if s.mode & bit)] for s in ns.shm_ids]


def _sem_rows(ns: IpcNamespace) -> list[list[object]]:
    return [[f"0x{s.key & 0xFFFFFFFF:08x}", s.id, _user(s.uid), f"{s.mode & 0o777:o}",
             s.sem_nsems, " ".join(map(str, s.semval))] for s in ns.sem_ids]


def _mq_rows(ns: IpcNamespace) -> list[list[object]]:
    return [[f"/{q.name}", _user(q.uid), f"{q.mode & 0o777:o}", q.curmsgs, q.maxmsg,
             q.msgsize] for q in _mqueues(ns)]


_NS_TABLES = (
    ("Message Queues", ["key", "msqid", "owner", "perms", "used-bytes", "messages"], _msg_rows),
    ("Shared Memory Segments", ["key", "shmid", "owner", "perms", "bytes", "nattch", "status"],
     _shm_rows),
    ("Semaphore Arrays", ["key", "semid", "owner", "perms", "nsems", "values"], _sem_rows),
    ("POSIX Message Queues", ["name", "owner", "perms", "messages", "maxmsg", "msgsize"],
     _mq_rows),
)


_DESTROYED = (" (destroyed: its System V objects are gone; POSIX queues listed stay "
              "while a mount of its mqueue filesystem does)")


def _ns_heading(ns: IpcNamespace) -> str:
    if not ns.alive:
        return f"ipc:[{ns.inum}]{_DESTROYED}, members: none"
    members = ", ".join(str(p.pid) for p in ns.members())
    return f"{_ns_label(ns)}, members: {members or 'none'}"


def namespace_text(ns: IpcNamespace) -> str:
    """ipcs-like tables of everything the namespace holds."""
    out = [_ns_heading(ns)]
    for title, headers, rows in _NS_TABLES:
        out.append(f"------ {title} --------")
        out.append(_table_text(headers, rows(ns)))
    return "\n".join(out)


def namespace_html(ns: IpcNamespace) -> str:
    parts = [f"<div style='{_CSS}'><b>{_esc(_ns_heading(ns))}</b>"]
    for title, headers, rows in _NS_TABLES:
        parts.append(_table_html(headers, rows(ns), title))
    parts.append("</div>")
    return "".join(parts)


# --- Process ----------------------------------------------------------------------------
def _describe_fd(fd: int, f: OpenFile) -> str:
    """A descriptor and what it is open on (as ``ls -l /proc/PID/fd`` hints)."""
    from .kernel import files, userns
    from .kernel.mqueue import MqFile
    if isinstance(f, MqFile):
        what = f"POSIX queue /{f.inode.name}"
    elif isinstance(f, files.NsFile):
        what = f"ipc:[{f.ns.inum}]"
    elif isinstance(f, userns.UserNsFile):
        what = f"user:[{f.ns.inum}]"
    elif isinstance(f, userns.IdMapFile):
        what = f"{'gid' if f.gid else 'uid'}_map of user:[{f.ns.inum}]"
    elif isinstance(f, userns.SetgroupsFile):
        what = f"setgroups of user:[{f.ns.inum}]"
    elif isinstance(f, files.NullFile):
        what = "/dev/null"
    elif isinstance(f, files.SysctlFile):
        what = f"/proc/sys/{f.entry.path}"
    else:
        what = type(f).__name__.removesuffix("File").lower() or "file"
    return f"{fd} ({what})"


def _ipc_of(p: Process) -> str:
    """The process's IPC namespace, and its owner when that is not the initial user
    namespace."""
    ns = p.ipc_ns
    if ns is None:
        return "-"
    owner = ns.user_ns
    return f"ipc:[{ns.inum}]" + ("" if owner.parent is None
                                 else f", owned by {_userns_label(owner)}")


def _process_fields(p: Process) -> list[tuple[str, object]]:
    fields = [("pid", p.pid), ("parent", p.ppid), ("command", p.comm),
              ("uid/euid", f"{p.uid}/{p.euid}"), ("gid/egid", f"{p.gid}/{p.egid}"),
              *_process_userns_fields(p),
              ("capabilities", f"{p.capabilities:#x}"),
              ("ipc namespace", _ipc_of(p)),
              ("state", _state(p))]
    if p.alive:
        fds = [_describe_fd(i, f) for i, f in enumerate(p.fds) if f is not None]
        fields.append(("open descriptors", ", ".join(fds) or "none"))
        if p.mm is not None:
            maps = [f"{v.start:#x}-{v.end:#x} shmid {v.file.seg.id}" for v in p.mm]
            fields.append(("shm attachments", "; ".join(maps) or "none"))
    children = sorted(p.children)
    fields.append(("children", ", ".join(map(str, children)) or "none"))
    if p.result is not None:
        fields.append(("result", repr(p.result)))
    return fields


def process_text(p: Process) -> str:
    return "\n".join(f"{k:16} {v}" for k, v in _process_fields(p))


def process_html(p: Process) -> str:
    """The fields; the state's row highlighted while the process is blocked (deadlocked:
    in a cycle of waits, see :func:`deadlocked`)."""
    fields = _process_fields(p)
    style = ""
    if p.alive and p.waiter is not None and not p.stopped:
        graph = {w.pid: w for w in wait_for(p.kernel)}
        stuck = deadlocked(list(graph.values()))
        style = DEADLOCKED_ROW if p.pid in stuck else BLOCKED_ROW
        fields = [(k, f"{v}{_waits_html(graph, stuck, p.pid)}" if k == "state" else v)
                  for k, v in fields]
    return _table_html(["", ""], [[k, v] for k, v in fields], f"Process {p.pid}",
                       [style if k == "state" else "" for k, _ in fields])


# --- IPC objects ------------------------------------------------------------------------
def _perm_fields(o: KernIpcPerm) -> list[tuple[str, object]]:
    ns = f"ipc:[{o.ns.inum}]" + ("" if o.ns.alive else " (destroyed)")
    fields: list[tuple[str, object]] = [("key", f"0x{o.key & 0xFFFFFFFF:08x}"), ("id", o.id),
              ("owner", f"{o.uid}:{o.gid}"), ("creator", f"{o.cuid}:{o.cgid}"),
              ("perms", f"{o.mode & 0o777:o}"), ("namespace", ns)]
    if o.deleted:
        fields.insert(0, ("state", "removed: no longer in its namespace's table"))
    return fields


def _shm_status(s: ShmidKernel) -> str:
    words = [w for w, bit in (("dest", SHM_DEST), ("locked", SHM_LOCKED)) if s.mode & bit]
    if s.deleted:
        return "removed"
    if s.mode & SHM_DEST:
        words[0] = "dest (marked for destruction: goes with the last detach)"
    return ", ".join(words) or "-"


def _waiting(kernel: Kernel, queues: dict[str, WaitQueue | None]) -> str:
    """The processes blocked on the given wait queues (role -> queue), by pid."""
    out = []
    for p in kernel.processes():
        w = p.waiter
        if w is None:
            continue
        for role, queue in queues.items():
            if queue is not None and w.queue is queue:
                out.append(f"pid {p.pid} ({role})")
    return ", ".join(out) or "none"


def _sem_waiting(o: SemArray) -> str:
    prefix = f"semop on semaphore set {o.id} of ipc:[{o.ns.inum}] "
    found = [f"pid {p.pid} {p.waiter.what[len(prefix):]}" for p in o.ns.kernel.processes()
             if p.waiter is not None and p.waiter.what.startswith(prefix)]
    return ", ".join(found) or "none"


def _object_fields(o: IpcObject) -> tuple[str, list[tuple[str, object]]]:
    if isinstance(o, MsgQueue):
        return "Message queue", _perm_fields(o) + [
            ("messages", o.q_qnum), ("bytes", o.q_cbytes), ("max bytes", o.q_qbytes),
            ("last sender", o.q_lspid), ("last receiver", o.q_lrpid),
            ("waiting", _waiting(o.ns.kernel, {"to receive": o.q_receivers,
                                                "to send": o.q_senders}))]
    if isinstance(o, SemArray):
        return "Semaphore set", _perm_fields(o) + [
            ("values", list(o.semval)), ("last pids", list(o.sempid)),
            ("waiting", _sem_waiting(o))]
    if isinstance(o, ShmidKernel):
        return "Shared memory segment", _perm_fields(o) + [
            ("size", o.segsz), ("attached", o.nattch), ("creator pid", o.cpid),
            ("last pid", o.lpid), ("status", _shm_status(o))]
    queued = [(prio, len(o.tree[prio])) for prio in sorted(o.tree, reverse=True) if o.tree[prio]]
    sb = o.sb
    assert sb is not None                  # (a queue that is shown is on a filesystem)
    return "POSIX message queue", [
        ("name", f"/{o.name}" + ("" if o.linked else " (unlinked: gone with its last "
                                                     "descriptor)")),
        ("namespace", f"ipc:[{sb.inum}]" + ("" if sb.ns is not None else " (destroyed)")),
        ("owner", f"{o.uid}:{o.gid}"), ("perms", f"{o.mode & 0o7777:o}"),
        ("messages", f"{o.curmsgs} of {o.maxmsg}"), ("message size", o.msgsize),
        ("by priority", ", ".join(f"{p}: {n}" for p, n in queued) or "empty"),
        ("notification", f"registered by pid {o.notify_owner.pid}"
         if o.notify_owner is not None else "none"),
        ("waiting", _waiting(o.kernel, {"to receive": o.receivers, "to send": o.senders}))]


def object_text(o: IpcObject) -> str:
    title, fields = _object_fields(o)
    return title + "\n" + "\n".join(f"  {k:14} {v}" for k, v in fields)


def object_html(o: IpcObject) -> str:
    title, fields = _object_fields(o)
    return _table_html(["", ""], [[k, v] for k, v in fields], title)


# --- snapshot ---------------------------------------------------------------------------
def snapshot(k: Kernel) -> dict[str, Any]:
    """The kernel's state as plain data: ``{"time", "seed", "namespaces", "processes",
    "msg_queues", "semaphore_sets", "shm_segments", "posix_queues", "user_namespaces"}``.

    Each table is a list of dicts with the same keys (str, int, bool or None values), in a
    stable order: namespaces by inode number, processes by pid (zombies included), objects
    by namespace then id (POSIX queues by name), user namespaces by inode number (the
    initial one first). ``ipc_ns`` is an IPC namespace's inode number and ``user_ns`` a
    user namespace's in every table, so tables join on them: each IPC namespace names the
    user namespace that owns it, each process the user namespace it is in. ``perms`` are
    the permission bits (print them with ``oct``), ``*_count`` columns count the rows of
    the other tables. Ids are kernel ids, as the initial user namespace sees them (a user
    namespace's ``uid_map`` and ``gid_map`` say how its own ids map to them).
    ``pandas.DataFrame(table)`` loads any of the tables."""
    snap: dict[str, Any] = {"time": k.clock.now(), "seed": k.seed, "namespaces": [],
                            "processes": [], "msg_queues": [], "semaphore_sets": [],
                            "shm_segments": [], "posix_queues": [], "user_namespaces": []}
    root = k.init_user_ns
    for ns in _namespaces(k):
        mqueues = _mqueues(ns)
        snap["namespaces"].append({
            "ipc_ns": ns.inum, "initial": ns.is_initial, "refs": ns.refs,
            "user_ns": ns.user_ns.inum, "user_ns_level": ns.user_ns.level,
            "user_ns_owner_uid": ns.user_ns.owner,
            "member_count": len(ns.members()), "msg_queue_count": len(ns.msg_ids),
            "semaphore_set_count": len(ns.sem_ids), "shm_segment_count": len(ns.shm_ids),
            "posix_queue_count": len(mqueues), "msgmni": ns.msg_ctlmni,
            "msgmax": ns.msg_ctlmax, "msgmnb": ns.msg_ctlmnb, "shmmni": ns.shm_ctlmni,
            "semmni": ns.sc_semmni, "queues_max": ns.mq_queues_max})
        for q in ns.msg_ids:
            snap["msg_queues"].append({
                "ipc_ns": ns.inum, "key": q.key, "msqid": q.id, "owner_uid": q.uid,
                "perms": q.mode & 0o777, "messages": q.q_qnum, "used_bytes": q.q_cbytes,
                "max_bytes": q.q_qbytes, "last_send_pid": q.q_lspid,
                "last_receive_pid": q.q_lrpid})
        for s in ns.sem_ids:
            snap["semaphore_sets"].append({
                "ipc_ns": ns.inum, "key": s.key, "semid": s.id, "owner_uid": s.uid,
                "perms": s.mode & 0o777, "nsems": s.sem_nsems,
                "values": " ".join(map(str, s.semval)), "waiting_calls": s.nwait})
        for m in ns.shm_ids:
            snap["shm_segments"].append({
                "ipc_ns": ns.inum, "key": m.key, "shmid": m.id, "owner_uid": m.uid,
                "perms": m.mode & 0o777, "size_bytes": m.segsz, "attached": m.nattch,
                "creator_pid": m.cpid, "last_pid": m.lpid,
                "marked_for_destruction": bool(m.mode & SHM_DEST),
                "locked": bool(m.mode & SHM_LOCKED)})
        for mq in mqueues:
            snap["posix_queues"].append({
                "ipc_ns": ns.inum, "name": f"/{mq.name}", "owner_uid": mq.uid,
                "perms": mq.mode & 0o777, "messages": mq.curmsgs, "maxmsg": mq.maxmsg,
                "msgsize": mq.msgsize})
    for p in k.processes(include_zombies=True):
        snap["processes"].append({
            "pid": p.pid, "ppid": p.ppid, "command": p.comm, "uid": p.uid, "euid": p.euid,
            "ipc_ns": p.ipc_ns.inum if p.ipc_ns is not None else None,
            "user_ns": p.creds.user_ns_in(root).inum, "alive": p.alive,
            "zombie": p.zombie, "stopped": p.stopped,
            "waiting_in": p.waiter.what if p.alive and p.waiter is not None else None,
            "state": _state(p), "exit_status": p.exit_status})
    for u in _user_namespaces(k):
        snap["user_namespaces"].append({
            "user_ns": u.inum, "level": u.level,
            "parent": u.parent.inum if u.parent is not None else None,
            "owner_uid": u.owner, "owner_gid": u.group,
            "uid_map": _map_text(u.uid_map) if u.uid_map else "",
            "gid_map": _map_text(u.gid_map) if u.gid_map else "",
            "setgroups": "allow" if u.setgroups_allowed else "deny", "refs": u.refs,
            "member_count": len(_userns_members(k, u)),
            "ipc_ns_count": len(_owned_ipc(k, u)),
            "max_user_namespaces": u.max_user_namespaces,
            "max_ipc_namespaces": u.max_ipc_namespaces})
    return snap


# --- explorations ------------------------------------------------------------------------
# A run's cell in the picture of an exploration: the ok runs by outcome (the first outcome
# of the list first), deadlocks in the timeline's red, failures in its purple.
_OUTCOME_COLOURS = ("#74c476", "#6baed6", "#fdd0a2", "#bcbddc", "#c7e9c0", "#9ecae1",
                    "#fdae6b", "#dadaeb")
_KIND_COLOURS = {"deadlock": "#d62728", "failed": "#9467bd", "unfinished": "#7f7f7f"}
_OTHER_COLOUR = "#7f7f7f"
_REPORT_CELLS = 10_000        # runs drawn at most: past that the picture says how many
_FINDINGS = (("deadlock", DEADLOCKED_ROW), ("failed", BLOCKED_ROW),
             ("unfinished", BLOCKED_ROW))
_FINDING_NAMES = {"deadlock": "deadlock", "failed": "failure",
                  "unfinished": "run that did not finish"}
_NONDETERMINISM_STYLE = "color:#d62728;border-left:6px solid #d62728;padding-left:4px"
_TIMELINE_STYLE = "max-height:24em;overflow:auto;margin:2px 0 6px 0;padding:4px;" \
                  "background:#f7f7f7"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def _unit(r: Report) -> str:
    """What a result of the report is: a seed's run, or (dfs) a numbered run."""
    return "run" if r.strategy == "dfs" else "seed"


def _how(r: Report) -> str:
    """How the runs were picked, for the one-line summary ("" for random seeds)."""
    if r.strategy == "pct":
        return f" (pct, depth {r.depth})"
    if r.strategy == "dfs":
        n = r.interleavings if r.interleavings is not None else len(r.results)
        counted = f"{n:,} interleaving{'s' if n != 1 else ''}"
        return f" (dfs: all {counted})" if r.complete else f" (dfs: {counted}, not all)"
    return ""


def report_summary(r: Report) -> str:
    """One line: what an exploration found (no timings, so the same runs give the same
    line). A dfs report counts runs and says whether they were every interleaving; a
    nondeterministic scenario says so at the end."""
    outcomes = r.outcomes()
    ok = sum(len(s) for s in outcomes.values())
    unfinished = len(r.seeds("unfinished"))
    odd = len(r.nondeterminism)
    return (f"<{'Interrupted (Ctrl-C): ' if r.interrupted else ''}Report of {r.path} "
            f"({r.entry}): {_plural(len(r.results), _unit(r))}{_how(r)}, {ok} ok "
            f"({_plural(len(outcomes), 'outcome')}), {len(r.seeds('deadlock'))} deadlock, "
            f"{len(r.seeds('failed'))} failed"
            + (f", {unfinished} did not finish" if unfinished else "")
            + (f", {_plural(odd, 'schedule')} ran two ways" if odd else "") + ">")


class _Html(str):
    """A table cell that is HTML already (it is not escaped again)."""


def _code(text: str) -> _Html:
    return _Html(f"<code>{_esc(text)}</code>")


def _cell(value: object) -> str:
    return value if isinstance(value, _Html) else _esc(value)


def _report_table(headers: list[str], rows: list[list[object]], styles: list[str]) -> str:
    """:func:`_table_html`, with cells of :class:`_Html` left as they are."""
    head = "".join(f"<th style='text-align:left;padding:0 8px'>{_esc(h)}</th>" for h in headers)
    body = "".join(("<tr>" if not style else f"<tr style='{style}'>")
                   + "".join(f"<td style='padding:0 8px'>{_cell(c)}</td>" for c in row)
                   + "</tr>" for row, style in zip(rows, styles))
    return f"<table style='{_CSS}border-collapse:collapse'><tr>{head}</tr>{body}</table>"


def _schedule_text(res: SeedResult | None) -> str:
    """A run's schedule with its preemptions and steps ("" when it has none recorded)."""
    if res is None or not res.schedule:
        return ""
    return (f"{_short(res.schedule, 60)} ({_plural(res.preemptions, 'preemption')}, "
            f"{_plural(res.steps, 'step')})")


def _replay_cell(r: Report, res: SeedResult | None) -> object:
    return "" if res is None else _code(r.replay(res))


def _report_rows(r: Report, limit: int) -> tuple[list[list[object]], list[str]]:
    """The rows of the report's table (kind, runs, first run, outcome or what happened,
    the shortest schedule, the command replaying it) and their styles: each outcome (the
    first ``limit``), then deadlocks, failures and runs that did not finish."""
    rows: list[list[object]] = []
    styles = []
    firsts: dict[str, SeedResult] = {}       # outcome -> its first run
    for res in sorted(r.results, key=lambda res: res.seed):
        if res.kind == "ok":
            firsts.setdefault(res.outcome, res)
    outcomes = list(r.outcomes().items())
    for n, (outcome, seeds) in enumerate(outcomes[:limit]):
        best = r.shortest.get(outcome)
        rows.append(["ok", len(seeds), seeds[0], _short(outcome, 100), _schedule_text(best),
                     _replay_cell(r, best or firsts[outcome])])
        styles.append(f"border-left:6px solid {_OUTCOME_COLOURS[n % len(_OUTCOME_COLOURS)]}")
    if len(outcomes) > limit:
        rest = [s for _, s in outcomes[limit:]]
        rows.append(["ok", sum(map(len, rest)), min(min(s) for s in rest),
                     f"{len(rest)} more outcomes: Report.outcomes() has them all", "", ""])
        styles.append("")
    if not outcomes:
        rows.append(["ok", 0, "", "", "", ""])
        styles.append("")
    for kind, style in _FINDINGS:
        first = r.first(kind)
        seeds = r.seeds(kind)
        if kind == "unfinished" and not seeds:
            continue                     # (only where a limit was given and reached)
        best = r.shortest.get(kind)
        rows.append([kind, len(seeds), "" if first is None else first.seed,
                     "" if first is None else first.detail, _schedule_text(best),
                     _replay_cell(r, best or first)])
        styles.append(style if seeds else "")
    return rows, styles


def _shrunk_html(r: Report, kind: str, small: Shrunk) -> str:
    """A finding's smallest schedule: what went wrong, how small it got, the command that
    replays it, and the replay's timeline."""
    from .explore.shrink import replay_command
    seed = r.seed if r.strategy == "dfs" else small.seed    # (dfs runs share one seed)
    colour = _KIND_COLOURS.get(kind, _OTHER_COLOUR)
    name = _FINDING_NAMES.get(kind, kind)
    parts = [f"<div style='border-left:6px solid {colour};padding-left:4px;margin-top:6px'>"
             f"<b>the {_esc(name)}, shrunk</b> to {_plural(small.preemptions, 'preemption')} "
             f"and {_plural(small.steps, 'step')} (from "
             f"{_plural(small.original_preemptions, 'preemption')} and "
             f"{_plural(small.original_steps, 'step')}; {small.tried} replays): "
             f"schedule <code>{_esc(small.schedule)}</code><br/>{_esc(small.detail)}<br/>"
             f"replay it: <code>{_esc(replay_command(r.path, r.entry, seed, small.schedule, r.options))}"
             f"</code></div>"]
    if small.timeline:
        parts.append(f"<pre style='{_TIMELINE_STYLE}'>{_esc(small.timeline.rstrip())}</pre>")
    return "".join(parts)


def report_html(r: Report, limit: int = 12) -> str:
    """The exploration as a notebook shows it: the summary (and, for dfs, how many
    interleavings it ran and whether that was all of them), a table of the kinds of runs
    (each outcome, deadlocks, failures; the rows with any highlighted) with each one's
    shortest schedule and the command that replays it, the command replaying the first run
    of each finding, each finding's shrunk schedule with its timeline, schedules that ran
    two ways (in red), and the picture of the runs (:func:`report_svg`). Everything in it
    is escaped, and nothing depends on timings."""
    unit = _unit(r)
    rows, styles = _report_rows(r, limit)
    parts = [f"<div style='{_CSS}'><b>{_esc(report_summary(r)[1:-1])}</b>"]
    if r.strategy == "dfs":
        parts.append(f"<div>{_esc(r.headline().splitlines()[0])}</div>")
    schedule = "schedule" if r.strategy == "random" else "shortest schedule"
    parts.append(_report_table(["kind", f"{unit}s", f"first {unit}", "outcome or what happened",
                                schedule, "replay it"], rows, styles))
    for kind, _style in _FINDINGS:
        first = r.first(kind)
        if first is not None:
            parts.append(f"<div>replay the first {_FINDING_NAMES[kind]}: "
                         f"<code>{_esc(r.replay(first))}</code></div>")
    for kind, _style in _FINDINGS:
        small = r.shrunk.get(kind)
        if small is not None:
            parts.append(_shrunk_html(r, kind, small))
    for problem in r.nondeterminism:
        parts.append(f"<div style='{_NONDETERMINISM_STYLE}'><b>nondeterminism</b>: "
                     f"{_esc(problem)}</div>")
    parts.append(report_svg(r))
    parts.append("</div>")
    return "".join(parts)


def report_svg(r: Report) -> str:
    """The runs as a grid of cells, in order (seeds; dfs: run numbers), coloured by what
    each did (each outcome a colour of its own, deadlocks red, failures purple, runs that
    did not finish grey); the tooltips name the runs (neighbours with the same outcome share
    a cell, and a tooltip). At most 10,000 runs are drawn."""
    unit = _unit(r)
    results = sorted(r.results, key=lambda res: res.seed)
    shown = results[:_REPORT_CELLS]
    cols, cell = (50, 12) if len(shown) <= 1000 else (100, 8)
    rows = max(1, -(-len(shown) // cols))
    colour = {outcome: _OUTCOME_COLOURS[n % len(_OUTCOME_COLOURS)]
              for n, outcome in enumerate(r.outcomes())}
    w, h = cols * cell + 2, rows * cell + 22
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="monospace" font-size="11">']
    for start in range(0, len(shown), cols):          # a row: runs of one colour each
        row = shown[start:start + cols]
        n = 0
        while n < len(row):
            res = row[n]
            fill = colour[res.outcome] if res.kind == "ok" else \
                _KIND_COLOURS.get(res.kind, _OTHER_COLOUR)
            end = n + 1
            while end < len(row) and row[end].kind == res.kind == "ok" \
                    and row[end].outcome == res.outcome:
                end += 1
            what = (f"ok, {_short(res.outcome, 60)}" if res.kind == "ok"
                    else f"{res.kind}: {_short(res.detail, 80)}")
            which = (f"{unit} {res.seed}" if end == n + 1
                     else f"{unit}s {res.seed}-{row[end - 1].seed}")
            out.append(f'<rect x="{1 + n * cell}" y="{1 + start // cols * cell}" '
                       f'width="{(end - n) * cell - 1}" height="{cell - 1}" fill="{fill}">'
                       f'<title>{_esc(f"{which}: {what}")}</title></rect>')
            n = end
    more = len(results) - len(shown)
    note = (f"{unit}s {results[0].seed}-{shown[-1].seed} in order, {cols} a row" if results
            else f"no {unit}s")
    if more:
        note += f"; {more:,} more not drawn"
    out.append(f'<text x="1" y="{h - 6}">{_esc(note)}</text></svg>')
    return "\n".join(out) + "\n"


# --- installing the views on the model classes ------------------------------------------
_VIEWS = ((Kernel, kernel_text, kernel_html),
          (IpcNamespace, namespace_text, namespace_html),
          (Process, process_text, process_html),
          (MsgQueue, object_text, object_html),
          (SemArray, object_text, object_html),
          (ShmidKernel, object_text, object_html),
          (MqueueInode, object_text, object_html))


def _views_of(obj: Viewable) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    for cls, text_fn, html_fn in _VIEWS:
        if isinstance(obj, cls):
            return text_fn, html_fn
    raise TypeError(f"no view for {type(obj).__name__}")


def text(obj: Viewable) -> str:
    """The text view of a Kernel, IpcNamespace, Process or IPC object (its ``str()``)."""
    return _views_of(obj)[0](obj)


def html(obj: Viewable) -> str:
    """The HTML view (what a notebook shows)."""
    return _views_of(obj)[1](obj)
