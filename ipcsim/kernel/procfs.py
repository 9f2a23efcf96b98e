"""What /proc shows: the tree a process can walk, and the text of /proc/sysvipc.

Which namespace a file shows is the opener's at open(): /proc/sys files stay bound to it,
and an open /proc/sysvipc file also holds it alive (sysvipc_proc_open takes a reference).
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Union

import attrs

from .. import constants
from ..errors import oserror
from . import files, sysctl

if TYPE_CHECKING:
    from .kernel import Kernel
    from .namespace import IpcNamespace
    from .process import Process

# /proc/sysvipc headers (ipc/msg.c, sem.c, shm.c; 64-bit kernels)
SYSVIPC_HEADERS = {
    "msg": "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  "
           "cgid      stime      rtime      ctime\n",
    "sem": "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      "
           "ctime\n",
    "shm": "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  "
           "cuid  cgid      atime      dtime      ctime                   rss                  "
           "swap\n",
}
_KIND_IDS = {"msg": "msg_ids", "sem": "sem_ids", "shm": "shm_ids"}


def sysvipc_text(kind: str, ns: IpcNamespace, reader: Process) -> bytes:
    """/proc/sysvipc/<kind>: the header, then one row per object in slot order."""
    ids = getattr(ns, _KIND_IDS[kind])
    rows: list[str] = [SYSVIPC_HEADERS[kind]]
    rows.extend(obj._proc_row(reader) for obj in ids)
    return "".join(rows).encode()


# --- the tree --------------------------------------------------------------------------
@attrs.frozen
class Dir:
    names: tuple[str, ...]


@attrs.frozen
class NsLink:
    """/proc/PID/ns/ipc: a magic link to a process's namespace."""
    target: Process


@attrs.frozen
class OtherNsLink:
    """/proc/PID/ns/<kind> for a namespace kind the model does not split: every process is
    in the initial namespace of that kind."""
    kind: str
    target: Process

    @property
    def text(self) -> str:
        return f"{OTHER_NS[self.kind][0]}:[{OTHER_NS[self.kind][1]}]"

    @property
    def nstype(self) -> int:
        return OTHER_NS[self.kind][2]


@attrs.frozen
class SysctlNode:
    entry: sysctl.Sysctl


@attrs.frozen
class SysvipcNode:
    kind: str


@attrs.frozen
class MountNode:
    mount: files.Mount


@attrs.frozen
class MountEntry:
    """A name directly inside a mounted directory (an mqueue mount), existing or not."""
    mount: files.DirMount
    name: str


Node = Union[Dir, NsLink, OtherNsLink, SysctlNode, SysvipcNode, MountNode, MountEntry]


_SYS_DIRS = sysctl.directories()

# /proc/PID/ns in Linux's readdir order, and the initial namespaces of the kinds the model
# does not split: (link name, inode of the initial namespace, CLONE_NEW* flag).
NS_NAMES = ("net", "uts", "ipc", "pid", "pid_for_children", "user", "mnt", "cgroup", "time",
            "time_for_children")
OTHER_NS = {
    "net": ("net", 4026531833, constants.CLONE_NEWNET),
    "uts": ("uts", 4026531838, constants.CLONE_NEWUTS),
    "pid": ("pid", 4026531836, constants.CLONE_NEWPID),
    "pid_for_children": ("pid", 4026531836, constants.CLONE_NEWPID),
    "user": ("user", 4026531837, constants.CLONE_NEWUSER),
    "mnt": ("mnt", 4026531832, constants.CLONE_NEWNS),
    "cgroup": ("cgroup", 4026531835, constants.CLONE_NEWCGROUP),
    "time": ("time", 4026531834, constants.CLONE_NEWTIME),
    "time_for_children": ("time", 4026531834, constants.CLONE_NEWTIME),
}


def resolve(kernel: Kernel, proc: Process, path: str | bytes,
            creating: bool = False) -> Node:
    """``lookup()`` of a path as the caller wrote it: a trailing slash (or "/.") means the
    path must name a directory: ENOTDIR for a file; for a missing entry ENOENT, or EISDIR
    when the call would create it (open_last_lookups)."""
    node = lookup(kernel, proc, files.normalize(path))
    if files.trailing_slash(path) and not _is_dir(node):
        if isinstance(node, MountEntry) and not node.mount.has_entry(node.name):
            raise oserror(errno.EISDIR if creating else errno.ENOENT)
        raise oserror(errno.ENOTDIR)
    return node


def _is_dir(node: Node) -> bool:
    return isinstance(node, Dir) or (isinstance(node, MountNode)
                                     and files.is_dir_mount(node.mount))


def lookup(kernel: Kernel, proc: Process, path: str) -> Node:
    """Resolve a normalized absolute path to a node, or raise ENOENT/ENOTDIR."""
    mount = kernel.mounts.top(path)
    if mount is not None:
        return MountNode(mount)
    parts = [p for p in path.split("/") if p]
    for depth in range(len(parts) - 1, 0, -1):
        mount = kernel.mounts.top("/" + "/".join(parts[:depth]))
        if mount is None:
            continue
        if not files.is_dir_mount(mount):
            raise oserror(errno.ENOTDIR)       # a file (a bind-mounted namespace file)
        if depth == len(parts) - 1:
            return MountEntry(mount, parts[-1])
        # deeper: the entry would have to be a directory, and queues are files
        raise oserror(errno.ENOTDIR if mount.has_entry(parts[depth]) else errno.ENOENT)
    if not parts:
        return Dir(("proc",))
    if parts[0] != "proc":
        raise oserror(errno.ENOENT)
    rest = parts[1:]
    if not rest:
        pids = tuple(str(p.pid) for p in kernel.processes(include_zombies=True))
        return Dir(("self", "sys", "sysvipc") + pids)
    head, rest = rest[0], rest[1:]
    if head == "sys":
        key = "/".join(rest)
        if key in _SYS_DIRS:
            return Dir(tuple(_SYS_DIRS[key]))
        entry = sysctl.BY_PATH.get(key)
        if entry is None:
            raise oserror(errno.ENOENT)
        return SysctlNode(entry)
    if head == "sysvipc":
        if not rest:
            return Dir(tuple(sorted(_KIND_IDS)))
        if len(rest) == 1 and rest[0] in _KIND_IDS:
            return SysvipcNode(rest[0])
        raise oserror(errno.ENOENT)
    target = proc if head == "self" else kernel.process_by_pid_str(head)
    if target is None:
        raise oserror(errno.ENOENT)
    if not rest:
        return Dir(("ns",))
    if rest == ["ns"]:
        return Dir(NS_NAMES)
    if rest == ["ns", "ipc"]:
        return NsLink(target)
    if len(rest) == 2 and rest[0] == "ns" and rest[1] in OTHER_NS:
        return OtherNsLink(rest[1], target)
    raise oserror(errno.ENOENT)
