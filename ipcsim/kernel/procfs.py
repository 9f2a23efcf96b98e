"""What /proc shows: the nodes a path walk finds there, and the text of /proc/sysvipc.

Which namespace a file shows is the opener's at open(): /proc/sys files stay bound to it,
and an open /proc/sysvipc file also holds it alive (sysvipc_proc_open takes a reference).
Lookups in /proc never leave negative entries: a missing name is ENOENT at once, so
nothing can be created there (ENOENT too).
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, cast

from .. import constants
from ..constants import CAP_SYS_ADMIN, O_ACCMODE, O_RDONLY
from ..errors import UnsupportedError, oserror
from . import files, sysctl, userns, vfs
from .pidns import pid_nr_ns
from .vfs import S_IFDIR, S_IFLNK, S_IFREG

if TYPE_CHECKING:
    from .creds import Creds
    from .kernel import Kernel
    from .files import Namespace
    from .namespace import IpcNamespace
    from .pidns import PidNamespace
    from .process import Process, ProcessState

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
class ProcNode(vfs.Node):
    """A /proc node: made afresh at each lookup, owned by root unless it says otherwise.
    stat() shows its mode, owner and link count, and size 0."""

    __slots__ = ()
    mode = S_IFDIR | 0o555
    uid = 0
    gid = 0
    nlink = 1

    def getattr(self, proc: ProcessState) -> vfs.Stat:
        return vfs.Stat(self.mode, self.nlink, self.uid, self.gid, 0)

    def set_attrs(self, mode: int, uid: int, gid: int) -> None:
        raise UnsupportedError("changing the mode or owner of /proc files is not modelled")


class ProcRoot(ProcNode):
    """/proc of one PID namespace: self, sys, sysvipc and a directory per process that
    namespace sees (zombies too), named by its number there. The kernel's /proc is the
    initial namespace's; ``ProcRoot(kernel, pid_ns)`` is what ``mount -t proc`` by a
    process of ``pid_ns`` shows (it holds the namespace until :meth:`release`, as a proc
    superblock does)."""

    __slots__ = ("kernel", "pid_ns", "mounted")

    def __init__(self, kernel: Kernel, pid_ns: PidNamespace | None = None):
        self.kernel = kernel
        self.mounted = 0
        self.pid_ns = (kernel.init_pid_ns if pid_ns is None else pid_ns).get()

    def release(self) -> None:
        """The superblock goes: drop its hold on the PID namespace."""
        self.pid_ns.put()

    def lookup(self, proc: ProcessState, name: str) -> vfs.Node | None:
        if name == "self":
            return SelfLink(self.pid_ns)
        if name == "sys":
            return SysDir("")
        if name == "sysvipc":
            return SysvipcDir()
        ns = self.pid_ns
        if ns.parent is None:
            target = self.kernel.process_by_pid_str(name)
        else:
            target = ns.tasks.get(int(name)) if name.isdigit() and name == str(int(name)) \
                else None
        if target is None:
            raise oserror(errno.ENOENT)     # proc_pid_lookup: no negative entries
        return PidDir(target)

    def readdir(self, proc: ProcessState) -> list[str]:
        ns = self.pid_ns
        if ns.parent is None:
            pids = [str(p.pid) for p in self.kernel.processes(include_zombies=True)]
        else:
            pids = [str(nr) for nr in sorted(ns.tasks)]
        return ["self", "sys", "sysvipc"] + pids

    def getattr(self, proc: ProcessState) -> vfs.Stat:
        """proc_root_getattr(): two links, one per directory registered in /proc (here sys
        and sysvipc) and one per process, zombies too (nr_processes()). Linux counts more:
        its other directories (fs, bus, driver, ...) and every process of the machine."""
        nlink = 2 + 2 + len(self.kernel.processes(include_zombies=True))
        return vfs.Stat(self.mode, nlink, 0, 0, 0)


class SelfLink(ProcNode):
    """/proc/self: a link to the caller's own /proc/PID, named by its number in the PID
    namespace of the /proc it is in (ENOENT for a caller that namespace does not see)."""

    __slots__ = ("pid_ns",)
    mode = S_IFLNK | 0o777

    def __init__(self, pid_ns: PidNamespace | None = None):
        self.pid_ns = pid_ns

    def _nr(self, proc: ProcessState) -> int:
        ns = self.pid_ns
        nr = proc.pid if ns is None else pid_nr_ns(proc.thread_pid, ns)
        if not nr:
            raise oserror(errno.ENOENT)
        return nr

    def get_link(self, proc: ProcessState) -> vfs.Node:
        self._nr(proc)
        return PidDir(cast("Process", proc))

    def readlink(self, proc: ProcessState) -> str:
        return str(self._nr(proc))


class SysDir(ProcNode):
    """A /proc/sys directory: readable and searchable by everyone, writable by no one
    (proc_sys_permission has no capability override), so nothing in it can be removed
    (EACCES)."""

    __slots__ = ("key",)

    def __init__(self, key: str):
        self.key = key

    def permission(self, creds: Creds, mask: int) -> bool:
        return not mask & vfs.MAY_WRITE

    def lookup(self, proc: ProcessState, name: str) -> vfs.Node | None:
        key = f"{self.key}/{name}" if self.key else name
        if key in _SYS_DIRS:
            return SysDir(key)
        entry = sysctl.BY_PATH.get(key)
        if entry is None:
            raise oserror(errno.ENOENT)
        return SysctlNode(entry)

    def readdir(self, proc: ProcessState) -> list[str]:
        return list(_SYS_DIRS[self.key])


class SysctlNode(ProcNode):
    """A /proc/sys file: its permission is the table's, for the caller (sysctl.permissions);
    it shows the namespace of whoever opens it."""

    __slots__ = ("entry",)

    def __init__(self, entry: sysctl.Sysctl):
        self.entry = entry

    @property
    def mode(self) -> int:  # type: ignore[override]
        return S_IFREG | self.entry.mode

    def _owner(self, proc: ProcessState) -> sysctl.Owner:
        """The caller's user namespace for /proc/sys/user, else its IPC namespace."""
        if self.entry.scope == sysctl.USER:
            return proc.kernel.user_ns_of(proc.creds)
        return proc.ipc_ns

    def may_open(self, proc: ProcessState, flags: int) -> None:
        acc = vfs.acc_mode(flags)
        sysctl.check_open(self.entry, proc.creds, self._owner(proc), bool(acc & vfs.MAY_READ),
                          bool(acc & vfs.MAY_WRITE))

    def open(self, proc: ProcessState, mnt: vfs.Vfsmount, flags: int) -> files.OpenFile:
        return files.SysctlFile(flags, self.entry, self._owner(proc))

    def getattr(self, proc: ProcessState) -> vfs.Stat:
        """The table's mode (proc_sys_getattr); the owner is root of the user namespace
        that owns the IPC namespace (sysctl.ownership)."""
        uid, gid = sysctl.ownership(self.entry, self._owner(proc))
        return vfs.Stat(self.mode, 1, uid, gid, 0)

    def set_attrs(self, mode: int, uid: int, gid: int) -> None:
        raise oserror(errno.EPERM)                # proc_sys_setattr refuses ATTR_MODE/UID/GID

    def chown(self, proc: ProcessState, uid: int, gid: int) -> None:
        raise oserror(errno.EPERM)


class SysvipcDir(ProcNode):
    __slots__ = ()
    nlink = 2

    def lookup(self, proc: ProcessState, name: str) -> vfs.Node | None:
        if name in _KIND_IDS:
            return SysvipcNode(name)
        raise oserror(errno.ENOENT)

    def readdir(self, proc: ProcessState) -> list[str]:
        return sorted(_KIND_IDS)


class SysvipcNode(ProcNode):
    """/proc/sysvipc/<kind>: read-only for everyone but CAP_DAC_OVERRIDE (mode 0444)."""

    __slots__ = ("kind",)
    mode = S_IFREG | 0o444

    def __init__(self, kind: str):
        self.kind = kind

    def open(self, proc: ProcessState, mnt: vfs.Vfsmount, flags: int) -> files.OpenFile:
        kind, ns = self.kind, proc.ipc_ns
        return files.TextFile(flags, lambda: sysvipc_text(kind, ns, cast("Process", proc)), ns)


def _task_owner(target: Process) -> tuple[int, int]:
    """task_dump_owner() for the files of /proc/PID other than the directory itself: a
    dumpable task's effective ids; a non-dumpable one's are root of the user namespace its
    memory was made in (global root where that maps none); a zombie (no memory) is
    global root's."""
    if not target.alive:
        return 0, 0
    if target.dumpable:
        return target.creds.euid, target.creds.egid
    ns = target.mm_user_ns
    if ns is None:
        return 0, 0
    uid, gid = userns.make_kuid(ns, 0), userns.make_kgid(ns, 0)
    return (0 if uid is None else uid), (0 if gid is None else gid)


class TaskOwned(ProcNode):
    """A /proc/PID file or directory (other than /proc/PID itself) of process ``target``:
    owned as task_dump_owner() says."""

    __slots__ = ()
    target: Process

    @property
    def uid(self) -> int:  # type: ignore[override]
        return _task_owner(self.target)[0]

    @property
    def gid(self) -> int:  # type: ignore[override]
        return _task_owner(self.target)[1]


class PidDir(ProcNode):
    """/proc/PID (only ``ns`` is modelled in it): an immutable directory, so neither it
    nor anything in it can be unlinked or removed, by root or anyone else (EPERM). It is
    owned by the process's effective ids, dumpable or not (task_dump_owner() keeps them for
    a dr-xr-xr-x directory); its link count is Linux's, for the directories it has there
    (task, fd, map_files, fdinfo, ns, net, attr)."""

    __slots__ = ("target",)
    immutable = True
    nlink = 9

    def __init__(self, target: Process):
        self.target = target

    @property
    def uid(self) -> int:  # type: ignore[override]
        return self.target.creds.euid

    @property
    def gid(self) -> int:  # type: ignore[override]
        return self.target.creds.egid

    def lookup(self, proc: ProcessState, name: str) -> vfs.Node | None:
        if name == "ns":
            return NsDir(self.target)
        if name in _USERNS_FILES and self.target.kernel.config_user_ns:
            return UsernsNode(self.target, name)
        raise oserror(errno.ENOENT)

    def readdir(self, proc: ProcessState) -> list[str]:
        if self.target.kernel.config_user_ns:
            return ["ns", *_USERNS_FILES]
        return ["ns"]


class NsDir(TaskOwned, PidDir):
    """/proc/PID/ns: dr-x--x--x, owned as task_dump_owner() says (the process's
    effective ids while it is dumpable); not immutable, so removing a link in it is EACCES
    for others, EPERM (no unlink) for root."""

    __slots__ = ()
    mode = S_IFDIR | 0o511
    immutable = False
    nlink = 2

    def lookup(self, proc: ProcessState, name: str) -> vfs.Node | None:
        if name not in self.target.kernel._proc_ns_names:
            raise oserror(errno.ENOENT)     # (a kind the kernel was built without too)
        if name in ("pid", "pid_for_children"):
            return PidNsLink(self.target, name)
        if name in NS_ATTRS:
            return NsLink(self.target, name)
        if name == "user":
            return UserNsLink(self.target)
        return OtherNsLink(name, self.target)

    def readdir(self, proc: ProcessState) -> list[str]:
        return list(self.target.kernel._proc_ns_names)


class NsLink(ProcNode):
    """/proc/PID/ns/ipc, mnt, ...: a magic link to one of a process's namespaces
    (``name``, an entry of NS_ATTRS). Following or reading it needs PTRACE_MODE_READ
    access to the process (EACCES); an exited one has none (ENOENT)."""

    __slots__ = ("target", "name")
    mode = S_IFLNK | 0o777

    def __init__(self, target: Process, name: str = "ipc"):
        self.target = target
        self.name = name

    def _check(self, proc: ProcessState) -> None:
        if not cast("Process", proc)._may_ptrace_read(self.target):
            raise oserror(errno.EACCES)

    def _ns(self, proc: ProcessState) -> Namespace:
        self._check(proc)
        # (None once the process has exited: a zombie has no nsproxy)
        ns: Namespace | None = getattr(self.target, NS_ATTRS[self.name])
        if ns is None:
            raise oserror(errno.ENOENT)
        return ns

    def get_link(self, proc: ProcessState) -> vfs.Node:
        return NsfsNode(self._ns(proc))

    def readlink(self, proc: ProcessState) -> str:
        ns = self._ns(proc)
        return f"{ns.kind}:[{ns.inum}]"


class PidNsLink(NsLink):
    """/proc/PID/ns/pid: ``pid:[INUM]`` of the namespace the process was made in (a
    zombie's too: its struct pid stays until it is reaped); /proc/PID/ns/pid_for_children:
    the namespace its next children go to, ENOENT until that namespace has its init
    (pidns_for_children_get()) and once the process has exited."""

    __slots__ = ()

    def _ns(self, proc: ProcessState) -> Namespace:
        self._check(proc)
        target = self.target
        if self.name == "pid":
            return target.pid_ns
        ns = target.pid_ns_for_children
        if ns is None or ns.child_reaper is None:
            raise oserror(errno.ENOENT)
        return ns


class OtherNsLink(NsLink):
    """/proc/PID/ns/<kind> for a namespace kind the model does not split: every process is
    in the initial namespace of that kind."""

    __slots__ = ("kind",)

    def __init__(self, kind: str, target: Process):
        super().__init__(target, kind)
        self.kind = kind

    @property
    def text(self) -> str:
        return f"{OTHER_NS[self.kind][0]}:[{OTHER_NS[self.kind][1]}]"

    @property
    def nstype(self) -> int:
        return OTHER_NS[self.kind][2]

    def _check(self, proc: ProcessState) -> None:
        super()._check(proc)
        if not self.target.alive and self.kind != "pid":
            raise oserror(errno.ENOENT)     # a zombie has no nsproxy; its struct pid stays

    def get_link(self, proc: ProcessState) -> vfs.Node:
        self._check(proc)
        return OtherNsfsNode(self.nstype)

    def readlink(self, proc: ProcessState) -> str:
        self._check(proc)
        return self.text


class UserNsLink(NsLink):
    """/proc/PID/ns/user: ``user:[INUM]`` of the process's user namespace."""

    __slots__ = ()

    def _user_ns(self, proc: ProcessState) -> userns.UserNamespace:
        self._check(proc)
        return self.target.kernel.user_ns_of(self.target.creds)

    def get_link(self, proc: ProcessState) -> vfs.Node:
        return UserNsfsNode(self._user_ns(proc))

    def readlink(self, proc: ProcessState) -> str:
        return f"user:[{self._user_ns(proc).inum}]"


class NsfsBase(vfs.Node):
    """What every namespace file (nsfs) shares: a read-only regular file of root's (an
    open for writing is EPERM) whose attributes cannot change."""

    __slots__ = ()
    mode = S_IFREG | 0o444
    uid = 0
    gid = 0

    def may_open(self, proc: ProcessState, flags: int) -> None:
        if flags & O_ACCMODE != O_RDONLY:
            raise oserror(errno.EPERM)

    def getattr(self, proc: ProcessState) -> vfs.Stat:
        return vfs.Stat(self.mode, 1, 0, 0, 0)


class UserNsfsNode(NsfsBase):
    """The namespace file of a user namespace: opens read-only (EPERM otherwise)."""

    __slots__ = ("ns",)

    def __init__(self, ns: userns.UserNamespace):
        self.ns = ns

    def open(self, proc: ProcessState, mnt: vfs.Vfsmount, flags: int) -> files.OpenFile:
        return userns.UserNsFile(flags, self.ns)


# /proc/PID files of a user namespace, in readdir order (tgid_base_stuff)
_USERNS_FILES = ("uid_map", "gid_map", "setgroups")


class UsernsNode(TaskOwned):
    """/proc/PID/uid_map, gid_map and setgroups: rw-r--r--, owned as /proc/PID/ns is.
    Opening one takes the process's user namespace of that moment (a zombie's too: its
    credentials stay until it is reaped); writing setgroups needs CAP_SYS_ADMIN in it
    (EPERM at open)."""

    __slots__ = ("target", "name")
    mode = S_IFREG | 0o644

    def __init__(self, target: Process, name: str):
        self.target = target
        self.name = name

    def open(self, proc: ProcessState, mnt: vfs.Vfsmount, flags: int) -> files.OpenFile:
        target = self.target
        ns = target.kernel.user_ns_of(target.creds)
        if self.name == "setgroups":
            userns.check_setgroups_open(ns, proc.creds, bool(vfs.acc_mode(flags) & vfs.MAY_WRITE))
            return userns.SetgroupsFile(flags, ns)
        return userns.IdMapFile(flags, ns, proc.creds, self.name == "gid_map")

    def getattr(self, proc: ProcessState) -> vfs.Stat:
        return vfs.Stat(self.mode, 1, self.uid, self.gid, 0)


class NsfsNode(NsfsBase):
    """A namespace file (nsfs): what /proc/PID/ns/ipc or mnt leads to, and the root of a
    bind mount of one. It opens read-only (EPERM otherwise); attributes cannot change."""

    __slots__ = ("ns", "mounted")

    def __init__(self, ns: Namespace):
        self.ns = ns
        self.mounted = 0

    def open(self, proc: ProcessState, mnt: vfs.Vfsmount, flags: int) -> files.OpenFile:
        source = mnt.source
        return files.NsFile(flags, self.ns, source if isinstance(source, NsBindMount) else None)


class OtherNsfsNode(NsfsBase):
    """The namespace file of a kind the model does not split."""

    __slots__ = ("nstype",)

    def __init__(self, nstype: int):
        self.nstype = nstype

    def open(self, proc: ProcessState, mnt: vfs.Vfsmount, flags: int) -> files.OpenFile:
        return files.OtherNsFile(flags, self.nstype)


def mount_proc(proc: ProcessState, source: str, data: str | None) -> ProcMount:
    """The ``proc`` file system type: a mount shows the mounter's PID namespace and needs
    CAP_SYS_ADMIN over the user namespace that owns it (proc is FS_USERNS_MOUNT, its
    context's user namespace the PID namespace's owner; EPERM)."""
    pid_ns = proc.pid_ns
    if not proc.creds.ns_capable(pid_ns.user_ns, CAP_SYS_ADMIN):
        raise oserror(errno.EPERM)
    return ProcMount(ProcRoot(proc.kernel, pid_ns))


class ProcMount:
    """A mount of proc (``mount -t proc proc DIR``): its PID namespace's processes. Each
    mount is a superblock of its own (as since Linux 5.8), holding the namespace; a copy
    for a new mount namespace shares it. ``users`` counts the files open through it."""

    __slots__ = ("root", "users", "refs")

    def __init__(self, root: ProcRoot, refs: list[int] | None = None):
        self.root = root
        self.users = 0
        self.refs = [0] if refs is None else refs    # shared by the copies
        self.refs[0] += 1

    def root_node(self) -> vfs.Node:
        return self.root

    def release(self) -> None:
        self.refs[0] -= 1
        if self.refs[0] == 0:
            self.root.release()

    def clone(self) -> ProcMount:
        return ProcMount(self.root, self.refs)

    def describe(self) -> str:
        return f"proc pid:[{self.root.pid_ns.inum}]"


class NsBindMount:
    """A bind mount of a namespace file: holds the namespace until unmounted. ``users``
    counts the files open through it (umount gives EBUSY while there are any)."""

    __slots__ = ("ns", "users", "root")

    def __init__(self, ns: Namespace, root: NsfsNode | None = None):
        self.ns: Namespace = ns.get()
        self.users = 0
        self.root = NsfsNode(ns) if root is None else root

    def root_node(self) -> vfs.Node:
        return self.root

    def clone(self) -> NsBindMount | None:
        """The copy for a new mount namespace: none of a mount namespace's file."""
        if self.ns.nstype == constants.CLONE_NEWNS:
            return None
        return NsBindMount(self.ns, self.root)

    def release(self) -> None:
        ns, self.ns = self.ns, None  # type: ignore[assignment]  # (released: never used again)
        ns.put()

    def describe(self) -> str:
        return f"nsfs {self.ns.kind}:[{self.ns.inum}]"


_SYS_DIRS = sysctl.directories()

# /proc/PID/ns entries of the namespace kinds the model splits (besides user), with the
# Process attribute each shows.
NS_ATTRS = {"ipc": "ipc_ns", "mnt": "mnt_ns"}

# /proc/PID/ns in Linux's readdir order, and the initial namespaces of the kinds the model
# does not split: (link name, inode of the initial namespace, CLONE_NEW* flag).
NS_NAMES = ("net", "uts", "ipc", "pid", "pid_for_children", "user", "mnt", "cgroup", "time",
            "time_for_children")
# the kind each entry needs the kernel to be built with (ns_entries[] in fs/proc/namespaces.c)
_NS_CONFIG = {"ipc": constants.CLONE_NEWIPC, "user": constants.CLONE_NEWUSER,
              "pid": constants.CLONE_NEWPID, "pid_for_children": constants.CLONE_NEWPID}
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


def ns_names(missing: int) -> tuple[str, ...]:
    """The names in /proc/PID/ns of a kernel built without the CLONE_NEW* kinds in
    ``missing``."""
    return tuple(name for name in NS_NAMES if not _NS_CONFIG.get(name, 0) & missing)
