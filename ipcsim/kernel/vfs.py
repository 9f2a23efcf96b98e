"""Path lookup and the in-memory file system that every path starts from (fs/namei.c).

A path is walked one component at a time, as Linux's ``link_path_walk`` walks it: each
directory passed must grant search permission (EACCES), each component but the last must
be a directory (ENOTDIR), ``..`` at the root of a mount goes to the directory that holds
the mountpoint, a mountpoint leads to the root of what is mounted on it (the latest mount
on top), and symbolic links (``/proc/self``, ``/proc/PID/ns/*``) are followed. A path is
refused before the walk when it has PATH_MAX bytes or more (with its NUL, ENAMETOOLONG),
and a file system refuses a name of more than NAME_MAX bytes at lookup. The cost of a walk
is linear in the number of components.

The root file system is a tmpfs-like tree of directories and regular files (:class:`TmpDir`,
:class:`TmpFile`) with Linux's ownership and permission rules; /proc (:mod:`.procfs`) and
every ``mount()`` hang off it through the mount table (``Kernel.mounts``).
"""
from __future__ import annotations

import errno
import re
from typing import TYPE_CHECKING, Iterator, Protocol

import attrs

from ..constants import (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
                         CAP_FSETID, NAME_MAX, O_ACCMODE, O_APPEND, O_CREAT, O_EXCL, O_TRUNC,
                         PATH_MAX)
from ..errors import UnsupportedError, oserror
from .files import DirFile, OpenFile

if TYPE_CHECKING:
    from .creds import Creds
    from .process import ProcessState
    from .userns import UserNamespace

S_IFMT = 0o170000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFDIR = 0o040000
S_ISUID = 0o4000
S_ISGID = 0o2000
S_ISVTX = 0o1000
S_IALLUGO = 0o7777
S_IRWXUGO = 0o777
S_IXGRP = 0o010
S_IXUGO = 0o111
MAY_EXEC, MAY_WRITE, MAY_READ = 1, 2, 4
BOGO_DIRENT_SIZE = 20        # what a tmpfs directory's size grows by per entry
O_DIRECTORY = 0o200000

# the kind of a path's last component (nd->last_type)
LAST_NORM, LAST_ROOT, LAST_DOT, LAST_DOTDOT = 0, 1, 2, 3


@attrs.frozen
class Stat:
    """The fields of ``struct stat`` the model keeps."""

    st_mode: int
    st_nlink: int
    st_uid: int
    st_gid: int
    st_size: int


def generic_permission(creds: Creds, mode: int, uid: int, gid: int, mask: int) -> bool:
    """acl_permission_check() then the capability overrides (fs/namei.c), with fsuid/fsgid;
    the overrides hold in the caller's user namespace for a file whose owner and group it
    maps (capable_wrt_inode_uidgid).
    ``mode`` holds the file type: DAC is overridable for directories (CAP_DAC_READ_SEARCH
    for reading and searching, CAP_DAC_OVERRIDE for anything), and for other files
    CAP_DAC_READ_SEARCH reads, CAP_DAC_OVERRIDE reads and writes (and executes where some
    execute bit is set)."""
    if creds.fsuid == uid:
        granted = mode >> 6
    elif creds.in_group_p(gid):
        granted = mode >> 3
    else:
        granted = mode
    if not mask & ~granted & 7:
        return True
    if mode & S_IFMT == S_IFDIR:
        if not mask & MAY_WRITE and creds.capable_wrt_inode_uidgid(uid, gid,
                                                                    CAP_DAC_READ_SEARCH):
            return True
        return creds.capable_wrt_inode_uidgid(uid, gid, CAP_DAC_OVERRIDE)
    mask &= 7
    if mask == MAY_READ and creds.capable_wrt_inode_uidgid(uid, gid, CAP_DAC_READ_SEARCH):
        return True
    if not mask & MAY_EXEC or mode & S_IXUGO:
        return creds.capable_wrt_inode_uidgid(uid, gid, CAP_DAC_OVERRIDE)
    return False


def acc_mode(flags: int) -> int:
    """The permission an open() with ``flags`` asks for (ACC_MODE: O_ACCMODE asks both)."""
    return (MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE, MAY_READ | MAY_WRITE)[flags & O_ACCMODE]


# --- attributes (fs/attr.c) ------------------------------------------------------------
def chmod_mode(creds: Creds, old: int, uid: int, gid: int, mode: int) -> int:
    """chmod(2): the owner or CAP_FOWNER (EPERM); S_ISGID dropped for a group the caller
    is not in, without CAP_FSETID. Returns the new mode (with the old file type)."""
    if creds.fsuid != uid and not creds.capable_wrt_inode_uidgid(uid, gid, CAP_FOWNER):
        raise oserror(errno.EPERM)
    mode &= S_IALLUGO
    if mode & S_ISGID and not creds.in_group_p(gid) \
            and not creds.capable_wrt_inode_uidgid(uid, gid, CAP_FSETID):
        mode &= ~S_ISGID
    return (old & ~S_IALLUGO) | mode


def chown_attrs(creds: Creds, mode: int, uid: int, gid: int, new_uid: int,
                new_gid: int) -> tuple[int, int, int]:
    """chown(2) (chown_common, setattr_prepare): -1 keeps an id. A new owner needs
    CAP_CHOWN unless the caller owns the file and keeps its owner; a new group needs the
    caller to own the file and be in that group, or CAP_CHOWN (EPERM). On anything but a
    directory it clears S_ISUID, and S_ISGID where group execute is set or the caller
    could not have set it. Returns (mode, uid, gid)."""
    def capable(cap: int) -> bool:
        return creds.capable_wrt_inode_uidgid(old_uid, old_gid, cap)

    old_uid, old_gid = uid, gid
    if new_uid != -1 and not ((creds.fsuid == uid and new_uid == uid)
                              or capable(CAP_CHOWN)):
        raise oserror(errno.EPERM)
    if new_gid != -1 and not ((creds.fsuid == uid and (new_gid == gid
                                                       or creds.in_group_p(new_gid)))
                              or capable(CAP_CHOWN)):
        raise oserror(errno.EPERM)
    uid = uid if new_uid == -1 else new_uid
    gid = gid if new_gid == -1 else new_gid
    if mode & S_IFMT != S_IFDIR:
        kill = mode & S_ISUID
        if mode & S_ISGID and (mode & S_IXGRP or not (creds.in_group_p(gid)
                                                      or capable(CAP_FSETID))):
            kill |= S_ISGID
        if kill and creds.fsuid != uid and not capable(CAP_FOWNER):
            raise oserror(errno.EPERM)
        mode &= ~kill
    return mode, uid, gid


# --- nodes -----------------------------------------------------------------------------
class Node:
    """An inode as the walk sees it. Subclasses give ``mode`` (with the file type), ``uid``
    and ``gid``, and the operations their file system has; what it lacks fails as Linux
    fails a missing inode operation."""

    __slots__ = ()

    mode: int
    uid: int
    gid: int
    mounted = 0          # how many mounts sit on it (d_mountpoint)
    immutable = False    # no writing in it, no unlinking or removing it (EPERM)
    has_create = has_mkdir = has_unlink = has_rmdir = False

    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR

    def sb_user_ns(self) -> UserNamespace | None:
        """The user namespace of the node's superblock (s_user_ns): None for the initial
        one, which maps every id."""
        return None

    def permission(self, creds: Creds, mask: int) -> bool:
        """inode_permission(): may ``creds`` read, write or search (``mask``) it?"""
        return generic_permission(creds, self.mode, self.uid, self.gid, mask)

    def lookup(self, proc: ProcessState, name: str) -> Node | None:
        """The entry ``name`` of a directory, None if there is none (a negative dentry)."""
        raise oserror(errno.ENOTDIR)

    def get_link(self, proc: ProcessState) -> Node | None:
        """What following this node gives, or None if it is no symbolic link."""
        return None

    def readlink(self, proc: ProcessState) -> str:
        raise oserror(errno.EINVAL)

    def readdir(self, proc: ProcessState) -> list[str]:
        """The names in a directory, in readdir order."""
        raise oserror(errno.ENOTDIR)

    def may_open(self, proc: ProcessState, flags: int) -> None:
        """may_open(): a directory opens read-only (EISDIR), then the permission (EACCES)."""
        if self.is_dir() and flags & O_ACCMODE != 0:
            raise oserror(errno.EISDIR)
        if not self.permission(proc.creds, acc_mode(flags)):
            raise oserror(errno.EACCES)

    def open(self, proc: ProcessState, mnt: Vfsmount, flags: int) -> OpenFile:
        if self.is_dir():
            return DirFile(flags, self.readdir(proc), mnt.source)
        raise UnsupportedError("opening this file is not modelled")

    def create(self, proc: ProcessState, name: str, mode: int) -> Node:
        raise oserror(errno.EACCES)

    def mkdir(self, proc: ProcessState, name: str, mode: int) -> None:
        raise oserror(errno.EPERM)

    def unlink(self, proc: ProcessState, name: str) -> None:
        raise oserror(errno.EPERM)

    def rmdir(self, proc: ProcessState, name: str) -> None:
        raise oserror(errno.EPERM)

    def getattr(self, proc: ProcessState) -> Stat:
        raise UnsupportedError("stat() of this file is not modelled")

    def set_attrs(self, mode: int, uid: int, gid: int) -> None:
        """Store new attributes (nodes whose file system has setattr)."""
        raise oserror(errno.EPERM)

    def chmod(self, proc: ProcessState, mode: int) -> None:
        self.set_attrs(chmod_mode(proc.creds, self.mode, self.uid, self.gid, mode),
                       self.uid, self.gid)

    def chown(self, proc: ProcessState, uid: int, gid: int) -> None:
        self.set_attrs(*chown_attrs(proc.creds, self.mode, self.uid, self.gid, uid, gid))


class TmpNode(Node):
    """An inode of the root file system (shmem/tmpfs)."""

    __slots__ = ("mode", "uid", "gid", "parent", "name", "mounted")

    def __init__(self, parent: TmpDir | None, name: str, mode: int, uid: int, gid: int):
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.parent = parent
        self.name = name
        self.mounted = 0

    def set_attrs(self, mode: int, uid: int, gid: int) -> None:
        self.mode, self.uid, self.gid = mode, uid, gid

    def path(self) -> str:
        """The path from the root of its file system."""
        names = []
        node: TmpNode | None = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))


class TmpDir(TmpNode):
    """A tmpfs directory: entries newest first in readdir, as dcache_readdir gives them."""

    __slots__ = ("entries", "nlink")
    has_create = has_mkdir = has_unlink = has_rmdir = True

    def __init__(self, parent: TmpDir | None, name: str, mode: int, uid: int, gid: int):
        super().__init__(parent, name, S_IFDIR | mode, uid, gid)
        self.entries: dict[str, TmpNode] = {}
        self.nlink = 2

    def lookup(self, proc: ProcessState, name: str) -> Node | None:
        if len(name) > NAME_MAX // 4 and len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise oserror(errno.ENAMETOOLONG)         # simple_lookup
        return self.entries.get(name)

    def readdir(self, proc: ProcessState) -> list[str]:
        return list(reversed(self.entries))

    def _owner(self, proc: ProcessState, mode: int) -> tuple[int, int, int]:
        """inode_init_owner(): the caller's fsuid; the directory's group (and, for a
        directory, S_ISGID) under a set-group-ID directory, else the caller's fsgid."""
        creds = proc.creds
        if self.mode & S_ISGID:
            if mode & S_IFMT == S_IFDIR:
                mode |= S_ISGID
            elif mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP \
                    and not (creds.in_group_p(self.gid)
                             or creds.capable_wrt_inode_uidgid(self.uid, self.gid, CAP_FSETID)):
                mode &= ~S_ISGID
            return mode, creds.fsuid, self.gid
        return mode, creds.fsuid, creds.fsgid

    def create(self, proc: ProcessState, name: str, mode: int) -> Node:
        mode, uid, gid = self._owner(proc, S_IFREG | mode)
        node = TmpFile(self, name, mode & ~S_IFMT, uid, gid)
        self.entries[name] = node
        return node

    def mkdir(self, proc: ProcessState, name: str, mode: int) -> None:
        mode, uid, gid = self._owner(proc, S_IFDIR | mode)
        self.entries[name] = TmpDir(self, name, mode & ~S_IFMT, uid, gid)
        self.nlink += 1

    def unlink(self, proc: ProcessState, name: str) -> None:
        del self.entries[name]

    def rmdir(self, proc: ProcessState, name: str) -> None:
        victim = self.entries[name]
        assert isinstance(victim, TmpDir)
        if victim.entries:
            raise oserror(errno.ENOTEMPTY)
        del self.entries[name]
        self.nlink -= 1

    def getattr(self, proc: ProcessState) -> Stat:
        return Stat(self.mode, self.nlink, self.uid, self.gid,
                    BOGO_DIRENT_SIZE * (2 + len(self.entries)))


class TmpFile(TmpNode):
    """A tmpfs regular file: its bytes live in memory."""

    __slots__ = ("data",)

    def __init__(self, parent: TmpDir | None, name: str, mode: int, uid: int, gid: int):
        super().__init__(parent, name, S_IFREG | mode, uid, gid)
        self.data = bytearray()

    def open(self, proc: ProcessState, mnt: Vfsmount, flags: int) -> OpenFile:
        if flags & O_TRUNC and flags & O_ACCMODE:
            del self.data[:]
        return RegularFile(flags, self)

    def getattr(self, proc: ProcessState) -> Stat:
        return Stat(self.mode, 1 if self.parent is not None and
                    self.parent.entries.get(self.name) is self else 0,
                    self.uid, self.gid, len(self.data))


class RegularFile(OpenFile):
    """An open tmpfs file: reads and writes at the shared position; with O_APPEND each
    write first moves it to the end (generic_write_checks)."""

    __slots__ = ("node",)

    def __init__(self, flags: int, node: TmpFile):
        super().__init__(flags)
        self.node = node

    def _size(self) -> int:
        return len(self.node.data)

    def read(self, proc: ProcessState, size: int) -> bytes:
        data = bytes(self.node.data[self.pos:self.pos + size])
        self.pos += len(data)
        return data

    def write(self, proc: ProcessState, data: bytes) -> int:
        buf = self.node.data
        if self.flags & O_APPEND:
            self.pos = len(buf)
        if len(buf) < self.pos:
            buf.extend(bytes(self.pos - len(buf)))
        buf[self.pos:self.pos + len(data)] = data
        self.pos += len(data)
        return len(data)


# --- mounts ----------------------------------------------------------------------------
class MountSource(Protocol):
    """What ``mount()`` attaches (an mqueue filesystem, a bind-mounted namespace file):
    its root node, the files open through it (``users``: umount is EBUSY while there are
    any), what to drop when it is unmounted, and a copy of it for a new mount namespace
    (``clone``: the same root node, a reference of its own; None where the copy leaves
    it out)."""

    users: int

    def root_node(self) -> Node: ...

    def release(self) -> None: ...

    def clone(self) -> MountSource | None: ...

    def describe(self) -> str: ...


class Vfsmount:
    """One mount: the root node it shows, where it is mounted (``parent`` mount and
    ``mountpoint`` node in it) and, for a user mount, its ``source``. A ``locked`` one
    was copied into a less privileged mount namespace (MNT_LOCKED): it cannot be
    unmounted there."""

    __slots__ = ("root", "source", "parent", "mountpoint", "path", "seq", "locked")

    def __init__(self, root: Node, source: MountSource | None, parent: Vfsmount | None,
                 mountpoint: Node | None, path: str, seq: int, locked: bool = False):
        self.root = root
        self.source = source
        self.parent = parent
        self.mountpoint = mountpoint
        self.path = path
        self.seq = seq
        self.locked = locked


class Nameidata:
    """Where a walk stands: a mount and a node in it, and the last component once the walk
    has stopped before it. ``stack`` holds where the walk came from for the nodes ``..``
    cannot find from the node itself (see :func:`follow_dotdot`)."""

    __slots__ = ("mnt", "node", "stack", "last", "last_type", "trailing")

    def __init__(self, mnt: Vfsmount, node: Node, stack: list[tuple[Vfsmount, Node]],
                 last: str = "", last_type: int = LAST_ROOT, trailing: bool = False):
        self.mnt = mnt
        self.node = node
        self.stack = stack
        self.last = last
        self.last_type = last_type
        self.trailing = trailing     # the path ends in "/": the last must be a directory


def getname(path: object) -> str:
    """getname(): the path as a str (bytes decoded as the file system encoding does);
    ValueError for an embedded NUL, ENOENT for "", ENAMETOOLONG from PATH_MAX bytes on
    (the terminating NUL counts)."""
    if type(path) is not str:
        if isinstance(path, bytes):
            path = path.decode("utf-8", "surrogateescape")
        elif not isinstance(path, str):
            raise TypeError(f"a path must be str or bytes, not {type(path).__name__}")
    assert isinstance(path, str)
    if "\0" in path:
        raise ValueError("embedded null byte")
    if not path:
        raise oserror(errno.ENOENT)
    if len(path) >= PATH_MAX // 4 and (len(path) >= PATH_MAX or not path.isascii()) \
            and len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        raise oserror(errno.ENAMETOOLONG)
    return path


WALK_PIECE = 1 << 16          # bytes of a path split at once
_SLASH2 = re.compile("//")
_SLASHES = re.compile("//+")
_DOTS = re.compile(r"/(?:\./)+")
_PAIRS = re.compile(r"(?:/[^/]+/\.\.(?=/|$)){2,}")           # a run of "/X/.."


def normalize(name: str) -> tuple[str, bool]:
    """The components a walk of ``name`` takes, as "/" or "/C1/C2/.../Cn", and whether
    ``name`` ends in "/". The walk gives the same answer (node or errno) as a walk of
    every component of ``name``:

    * Empty components are dropped (Linux skips runs of slashes).
    * So is every "." but a last one: a "." that is not last looks up nothing and asks only
      for search permission on the directory the walk stands on, which the component
      after it asks for again (and that is a directory: the walk checked it when it got
      there). A last "." stays: it asks for that permission where a trailing slash would
      not, and makes LAST_DOT.
    * In a run of "X/.." (X not ".."), each X is taken once (see :func:`_pairs_once`).

    The model has no working directory: a relative path is walked from /."""
    trailing = name[-1] == "/"
    if trailing:
        name = name.rstrip("/")
    if name[:1] != "/":
        name = "/" + name
    # (a regex finds "//" faster than str.__contains__ in a long path, slower in a short one)
    if ("//" in name) if len(name) < 256 else (_SLASH2.search(name) is not None):
        name = _SLASHES.sub("/", name)
    if "." in name:
        if "/./" in name:
            name = _DOTS.sub("/", name)
        if "/../" in name:
            name = _PAIRS.sub(_pairs_once, name)
    return name, trailing


def _pairs_once(run: re.Match[str]) -> str:
    """A run of "/X/.." with each X after its first one left out. Each "X/.." starts
    where the one before it started and comes back there (``..`` returns where the walk
    came from), so a repeated X asks the same questions (search permission, lookup,
    mounts, links, a directory) of the same directory and gets the answers it got the
    first time, within one walk; the first X that fails is kept. An X that is ".." climbs:
    the pairs after it are a run of their own."""
    names = run.group().split("/")[1::2]
    if ".." not in names:
        return "/" + "/../".join(dict.fromkeys(names)) + "/.."
    out: list[str] = []
    seen: dict[str, None] = {}
    for x in names:
        if x == "..":
            seen = {}
            out.append("/../..")
        elif x not in seen:
            seen[x] = None
            out.append(f"/{x}/..")
    return "".join(out)


def path_parentat(proc: ProcessState, name: str) -> Nameidata:
    """link_path_walk(): walk every component but the last, which is left in ``last``
    (the model has no working directory: a relative path starts at /). The directory the
    last would be looked up in has been checked for search permission."""
    name, trailing = normalize(name)
    root = proc.mnt_ns.mounts.root
    mnt, node = root, root.root
    if len(name) == 1:
        return Nameidata(mnt, node, [])          # "/": LAST_ROOT
    cut = name.rfind("/")
    last = name[cut + 1:]
    stack: list[tuple[Vfsmount, Node]] = []
    start = 1
    while start < cut:
        # a piece at a time: a walk far past PATH_MAX keeps its components in the cache
        stop = name.find("/", start + WALK_PIECE, cut) if cut - start > WALK_PIECE else -1
        if stop < 0:
            stop = cut
        mnt, node = link_path_walk(proc, mnt, node, stack, name[start:stop].split("/"))
        start = stop + 1
    if (type(node) is not TmpDir or node.mode & S_IXUGO != S_IXUGO) \
            and not node.permission(proc.creds, MAY_EXEC):
        raise oserror(errno.EACCES)             # may_lookup() before the last
    return Nameidata(mnt, node, stack, last,
                     LAST_DOT if last == "." else LAST_DOTDOT if last == ".." else LAST_NORM,
                     trailing)


def link_path_walk(proc: ProcessState, mnt: Vfsmount, node: Node,
                   stack: list[tuple[Vfsmount, Node]], comps: list[str]) -> tuple[Vfsmount, Node]:
    """Walk ``comps`` (no empty ones, no "."; see :func:`normalize`) from directory
    ``node`` of ``mnt``, as link_path_walk() does: before each component, search
    permission on the directory (EACCES); then the lookup (ENOENT, ENAMETOOLONG), mounts
    crossed and links followed; and a directory is needed to go on (ENOTDIR). Returns
    where the walk ends; ``stack`` keeps where it came from (see :func:`follow_dotdot`).

    Nothing a lookup answers changes during one walk, so once the walk has gone back up
    (before that it only goes down and meets each directory once), a directory's
    permission is asked once and a step other than from a tmpfs directory to a tmpfs
    directory (through /proc, into a mount) is taken once: later ones are one dict lookup.
    The common step, tmpfs directory to tmpfs directory, is walked inline."""
    creds = proc.creds
    push, pop = stack.append, stack.pop
    searchable: set[Node] | None = None
    steps: dict[tuple[Vfsmount, Node, str], tuple[Vfsmount, Node]] | None = None
    for comp in comps:
        if type(node) is TmpDir:
            # may_lookup(): a directory with every execute bit is searchable by anyone
            if node.mode & S_IXUGO != S_IXUGO and not node.permission(creds, MAY_EXEC):
                raise oserror(errno.EACCES)
            if comp == "..":
                if steps is None:
                    searchable, steps = set(), {}
                parent = node.parent
                if parent is not None and node is not mnt.root:
                    node = parent
                elif stack:
                    mnt, node = pop()
                continue
            child = node.entries.get(comp)
            if type(child) is TmpDir and not child.mounted:
                node = child
                continue
        else:
            child = None
            if searchable is None or node not in searchable:
                if not node.permission(creds, MAY_EXEC):
                    raise oserror(errno.EACCES)
                if searchable is not None:
                    searchable.add(node)
            if comp == "..":
                if steps is None:
                    searchable, steps = set(), {}
                if stack:
                    mnt, node = pop()
                continue
        if steps is None:
            step = step_to_dir(proc, mnt, node, comp, child)
        else:
            key = (mnt, node, comp)
            known = steps.get(key)
            if known is None:
                known = steps[key] = step_to_dir(proc, mnt, node, comp, child)
            step = known
        push((mnt, node))
        mnt, node = step
    return mnt, node


def step_to_dir(proc: ProcessState, mnt: Vfsmount, node: Node, comp: str,
                child: Node | None) -> tuple[Vfsmount, Node]:
    """Where the entry ``comp`` of ``node`` (not the last component; ``child`` if already
    found) leads: ENOENT if there is none, ENOTDIR unless it is a directory once mounts
    and links are followed."""
    if child is None:
        child = node.lookup(proc, comp)
        if child is None:
            raise oserror(errno.ENOENT)
    if child.mounted:                           # enter(), its common case inline
        mnt, child = proc.mnt_ns.mounts.cross(mnt, child)
    target = child.get_link(proc)
    if target is not None:
        mnt, child = enter(proc, mnt, target, False)
    if child.mode & S_IFMT != S_IFDIR:
        raise oserror(errno.ENOTDIR)
    return mnt, child


def enter(proc: ProcessState, mnt: Vfsmount, child: Node,
          follow: bool) -> tuple[Vfsmount, Node]:
    """step_into(): where an entry ``child`` of a directory in ``mnt`` leads: down through
    the mounts on it, then (if ``follow``) its link and the mounts on what that leads to."""
    if child.mounted:
        mnt, child = proc.mnt_ns.mounts.cross(mnt, child)
    if follow:
        target = child.get_link(proc)
        if target is not None:
            child = target
            if child.mounted:
                mnt, child = proc.mnt_ns.mounts.cross(mnt, child)
    return mnt, child


def follow_dotdot(nd: Nameidata) -> None:
    """``..``: the parent directory; at the root of a mount, the one that holds the
    mountpoint (follow_dotdot climbs it); at / it stays. A tmpfs node knows its parent;
    for the others (/proc, mount roots) it is where the walk came from, which ``stack``
    keeps (every step to a node other than a tmpfs one with nothing mounted on it is
    pushed there, and tmpfs nodes live only in the root mount, so at one the stack is
    empty)."""
    node = nd.node
    if isinstance(node, TmpNode) and node.parent is not None and node is not nd.mnt.root:
        nd.node = node.parent
    elif nd.stack:
        nd.mnt, nd.node = nd.stack.pop()


def step_into(proc: ProcessState, nd: Nameidata, child: Node, follow: bool) -> None:
    """Move ``nd`` to the entry ``child`` of the directory it stands on (see
    :func:`enter`), keeping where it came from unless ``..`` can find that itself."""
    if not child.mounted and isinstance(child, TmpNode):
        nd.node = child                         # (tmpfs has no links)
        return
    nd.stack.append((nd.mnt, nd.node))
    nd.mnt, nd.node = enter(proc, nd.mnt, child, follow)


def path_lookupat(proc: ProcessState, name: str, follow: bool = True,
                  directory: bool = False) -> Nameidata:
    """The node a path names (``nd.mnt``, ``nd.node``): ENOENT, ENOTDIR, EACCES from the
    walk; a trailing slash (or ``directory``) asks for a directory (ENOTDIR) and follows a
    last link even when ``follow`` is False."""
    nd = path_parentat(proc, name)
    if nd.last_type == LAST_NORM:
        child = nd.node.lookup(proc, nd.last)
        if child is None:
            raise oserror(errno.ENOENT)
        step_into(proc, nd, child, follow or nd.trailing)
    elif nd.last_type == LAST_DOTDOT:
        follow_dotdot(nd)
    if (directory or nd.trailing) and not nd.node.is_dir():
        raise oserror(errno.ENOTDIR)
    return nd


def lookup(proc: ProcessState, path: object, follow: bool = True,
           directory: bool = False) -> Nameidata:
    """user_path_at(): getname() then path_lookupat()."""
    return path_lookupat(proc, getname(path), follow, directory)


# --- the calls -------------------------------------------------------------------------
def do_open(proc: ProcessState, path: object, flags: int, mode: int) -> OpenFile:
    """path_openat(): the walk, then open_last_lookups() (O_CREAT makes a missing last
    entry, with write and search permission on its directory), then do_open()."""
    nd = path_parentat(proc, getname(path))
    creat = flags & O_CREAT
    created = False
    if nd.last_type != LAST_NORM:
        if nd.last_type == LAST_DOTDOT:
            follow_dotdot(nd)
    else:
        if creat and nd.trailing:
            raise oserror(errno.EISDIR)
        child = nd.node.lookup(proc, nd.last)
        if child is None:
            if not creat:
                raise oserror(errno.ENOENT)
            parent = nd.node
            if not fsuidgid_has_mapping(parent.sb_user_ns(), proc.creds):
                raise oserror(errno.EOVERFLOW)      # may_o_create(), before the permission
            if not parent.permission(proc.creds, MAY_WRITE | MAY_EXEC):
                raise oserror(errno.EACCES)
            if not parent.has_create:
                raise oserror(errno.EACCES)
            nd.node = parent.create(proc, nd.last, mode & S_IALLUGO & ~proc.umask_)
            created = True
        else:
            step_into(proc, nd, child, True)
    node = nd.node
    if creat:
        if flags & O_EXCL and not created:
            raise oserror(errno.EEXIST)
        if node.is_dir():
            raise oserror(errno.EISDIR)
    if (nd.trailing or flags & O_DIRECTORY) and not node.is_dir():
        raise oserror(errno.ENOTDIR)
    if not created:
        node.may_open(proc, flags)
    return node.open(proc, nd.mnt, flags & ~(O_CREAT | O_EXCL))


def do_mkdir(proc: ProcessState, path: object, mode: int) -> None:
    """mkdirat(): EEXIST for an existing name (or ".", "..", "/"), then EACCES without
    write and search permission on the directory, EPERM where the file system makes no
    directories."""
    nd = path_parentat(proc, getname(path))
    if nd.last_type != LAST_NORM:
        raise oserror(errno.EEXIST)
    parent = nd.node
    if parent.lookup(proc, nd.last) is not None:
        raise oserror(errno.EEXIST)
    if not fsuidgid_has_mapping(parent.sb_user_ns(), proc.creds):
        raise oserror(errno.EOVERFLOW)
    if not parent.permission(proc.creds, MAY_WRITE | MAY_EXEC):
        raise oserror(errno.EACCES)
    if not parent.has_mkdir:
        raise oserror(errno.EPERM)
    parent.mkdir(proc, nd.last, mode & (S_IRWXUGO | S_ISVTX) & ~proc.umask_)


def fsuidgid_has_mapping(ns: UserNamespace | None, creds: Creds) -> bool:
    """may_create()'s check: the caller's fsuid and fsgid have ids in the file system's
    user namespace (else EOVERFLOW: the new inode's owner could not be stored)."""
    if ns is None or ns.parent is None:
        return creds.fsuid != 0xFFFFFFFF and creds.fsgid != 0xFFFFFFFF
    from .userns import map_id_up
    return map_id_up(ns.uid_map, creds.fsuid) is not None \
        and map_id_up(ns.gid_map, creds.fsgid) is not None


def may_delete(proc: ProcessState, parent: Node, victim: Node, isdir: bool) -> None:
    """may_delete(): write and search permission on the directory (EPERM for an immutable
    one, for root too, else EACCES); the sticky bit, or an immutable victim (EPERM); then
    the kind of the victim (ENOTDIR/EISDIR)."""
    creds = proc.creds
    if parent.immutable:            # inode_permission() refuses MAY_WRITE before the mode
        raise oserror(errno.EPERM)
    if not parent.permission(creds, MAY_WRITE | MAY_EXEC):
        raise oserror(errno.EACCES)
    if parent.mode & S_ISVTX and creds.fsuid != victim.uid and creds.fsuid != parent.uid \
            and not creds.capable_wrt_inode_uidgid(victim.uid, victim.gid, CAP_FOWNER):
        raise oserror(errno.EPERM)
    if victim.immutable:
        raise oserror(errno.EPERM)
    if isdir:
        if not victim.is_dir():
            raise oserror(errno.ENOTDIR)
    elif victim.is_dir():
        raise oserror(errno.EISDIR)


def do_unlink(proc: ProcessState, path: object) -> None:
    """unlinkat(): EISDIR for ".", ".." and "/"; a trailing slash after a file ENOTDIR;
    may_delete(); EPERM where the file system unlinks nothing; EBUSY for a mountpoint."""
    nd = path_parentat(proc, getname(path))
    if nd.last_type != LAST_NORM:
        raise oserror(errno.EISDIR)
    parent = nd.node
    victim = parent.lookup(proc, nd.last)
    if victim is None:
        raise oserror(errno.ENOENT)
    if nd.trailing:
        raise oserror(errno.EISDIR if victim.is_dir() else errno.ENOTDIR)
    may_delete(proc, parent, victim, False)
    if not parent.has_unlink:
        raise oserror(errno.EPERM)
    _not_mountpoint(proc, victim)
    parent.unlink(proc, nd.last)
    if victim.mounted:
        proc.kernel._detach_mounts(victim)


def do_rmdir(proc: ProcessState, path: object) -> None:
    """rmdir(): EINVAL for ".", ENOTEMPTY for "..", EBUSY for "/"; may_delete(); EPERM
    where the file system removes no directories; EBUSY for a mountpoint; ENOTEMPTY."""
    nd = path_parentat(proc, getname(path))
    if nd.last_type != LAST_NORM:
        raise oserror({LAST_DOT: errno.EINVAL, LAST_DOTDOT: errno.ENOTEMPTY,
                       LAST_ROOT: errno.EBUSY}[nd.last_type])
    parent = nd.node
    victim = parent.lookup(proc, nd.last)
    if victim is None:
        raise oserror(errno.ENOENT)
    may_delete(proc, parent, victim, True)
    if not parent.has_rmdir:
        raise oserror(errno.EPERM)
    _not_mountpoint(proc, victim)
    parent.rmdir(proc, nd.last)
    if victim.mounted:
        proc.kernel._detach_mounts(victim)


def _not_mountpoint(proc: ProcessState, victim: Node) -> None:
    """EBUSY for what is mounted on in the caller's mount namespace; a mount on it in
    another namespace goes with it instead (detach_mounts)."""
    if victim.mounted and proc.mnt_ns.mounts.is_mountpoint(victim):
        raise oserror(errno.EBUSY)


def mount_path(mnt: Vfsmount, node: Node) -> str:
    """The path of ``node`` (a mount's root, or a node of the root file system)."""
    if node is mnt.root:
        return mnt.path
    if not isinstance(node, TmpNode):
        raise UnsupportedError("ipcsim can mount only on directories and files of its "
                               "root file system (and on mounts)")
    base = mnt.path.rstrip("/")
    return base + node.path() if base else node.path()


class MountTable:
    """The mounts of one mount namespace: the root file system, what is mounted on which
    (mount, node), and the user mounts in the order made. A mount on a path that already
    has one goes on top of it (on its root), so it hides it until unmounted. A node's
    ``mounted`` counts the mounts on it in every namespace (a fast "nothing here" test)."""

    def __init__(self, root: Node):
        self._seq = 0
        self.root = Vfsmount(root, None, None, None, "/", 0)
        self._children: dict[tuple[Vfsmount, Node], Vfsmount] = {}
        self._user: list[Vfsmount] = []

    def cross(self, mnt: Vfsmount, node: Node) -> tuple[Vfsmount, Node]:
        """__follow_mount(): down through every mount on (mnt, node), to the top one."""
        children = self._children
        while node.mounted:
            child = children.get((mnt, node))
            if child is None:
                break
            mnt, node = child, child.root
        return mnt, node

    def attach(self, parent: Vfsmount, mountpoint: Node, root: Node,
               source: MountSource | None) -> Vfsmount:
        """graft_tree(): a directory mounts on a directory, a file on a file (ENOTDIR)."""
        if mountpoint.is_dir() != root.is_dir():
            raise oserror(errno.ENOTDIR)
        path = mount_path(parent, mountpoint)
        self._seq += 1
        mnt = Vfsmount(root, source, parent, mountpoint, path, self._seq)
        self._children[(parent, mountpoint)] = mnt
        mountpoint.mounted += 1     # type: ignore[misc]  # (a node that can be a mountpoint)
        if source is not None:
            self._user.append(mnt)
        return mnt

    def has_children(self, mnt: Vfsmount) -> bool:
        return any(m.parent is mnt for m in self._user)

    def is_mountpoint(self, node: Node) -> bool:
        """is_local_mountpoint(): something in this table is mounted on ``node``."""
        return bool(node.mounted) and any(mp is node for _, mp in self._children)

    def copy(self, locked: bool) -> MountTable:
        """copy_tree() for copy_mnt_ns(): the same mounts, each with a reference of its
        own to what it shows, in the order they were made; ``locked`` marks every copy
        MNT_LOCKED. A bind mount of a mount namespace's file is left out, with what is
        mounted inside it (no CL_COPY_MNT_NS_FILE: a copy could come to hold itself)."""
        new = MountTable(self.root.root)
        new._seq = self._seq
        mine = {self.root: new.root}
        for (parent, mountpoint), mnt in self._children.items():
            if parent not in mine:
                continue                # inside a mount left out
            source = None
            if mnt.source is not None:
                source = mnt.source.clone()
                if source is None:
                    continue            # a bind of a mount namespace's file is not copied
            copy = Vfsmount(mnt.root, source, mine[parent], mountpoint, mnt.path, mnt.seq,
                            locked or mnt.locked)
            new._children[(copy.parent, mountpoint)] = copy     # type: ignore[index]
            mountpoint.mounted += 1     # type: ignore[misc]
            if source is not None:
                new._user.append(copy)
            mine[mnt] = copy
        new._user.sort(key=lambda m: m.seq)
        return new

    def detach_node(self, node: Node) -> None:
        """detach_mounts(): take away what is mounted on ``node`` here (it was removed in
        another mount namespace), with everything inside."""
        for mnt in [m for (_, mp), m in self._children.items() if mp is node]:
            if mnt.parent is not None and (mnt.parent, node) in self._children:
                self.detach(mnt)

    def detach_all(self) -> None:
        """umount_tree() of a dying namespace: every mount goes, in reverse order."""
        for mnt in reversed(list(self._children.values())):
            if (mnt.parent, mnt.mountpoint) in self._children:
                self.detach(mnt)

    def detach(self, mnt: Vfsmount) -> None:
        """Take ``mnt`` and everything mounted inside it away, releasing each source."""
        for child in [m for m in self._user if m.parent is mnt]:
            self.detach(child)
        parent, mountpoint = mnt.parent, mnt.mountpoint
        assert parent is not None and mountpoint is not None
        del self._children[(parent, mountpoint)]
        mountpoint.mounted -= 1     # type: ignore[misc]
        if mnt in self._user:
            self._user.remove(mnt)
        if mnt.source is not None:
            mnt.source.release()

    def __iter__(self) -> Iterator[tuple[str, MountSource]]:
        """The user mounts as (path, source), by path, stacked ones in mount order."""
        for mnt in sorted(self._user, key=lambda m: (m.path, m.seq)):
            assert mnt.source is not None
            yield mnt.path, mnt.source


def boot_tree() -> TmpDir:
    """The root file system at boot: the directories a typical machine has."""
    root = TmpDir(None, "", 0o755, 0, 0)
    for name, mode in (("dev", 0o755), ("mnt", 0o755), ("proc", 0o555), ("run", 0o755),
                       ("tmp", 0o1777)):
        root.entries[name] = TmpDir(root, name, mode, 0, 0)
        root.nlink += 1
    dev = root.entries["dev"]
    assert isinstance(dev, TmpDir)
    for name, mode in (("mqueue", 0o1777), ("shm", 0o1777)):
        dev.entries[name] = TmpDir(dev, name, mode, 0, 0)
        dev.nlink += 1
    return root
