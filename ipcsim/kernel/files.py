"""Open files.

A path names a node (see :mod:`.vfs`); opening a node gives an :class:`OpenFile`, shared by
every descriptor that refers to it (fork, dup) and released when the last one closes.
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Callable, Iterable

from ..constants import O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR, SEEK_END, SEEK_SET
from ..errors import oserror
from . import sysctl

if TYPE_CHECKING:
    from typing import TypeAlias

    from .mntns import MntNamespace
    from .namespace import IpcNamespace
    from .pidns import PidNamespace

    # a namespace an nsfs file can hold (user namespaces have files of their own)
    Namespace: TypeAlias = "IpcNamespace | MntNamespace | PidNamespace"
    from .process import Process
    from .procfs import NsBindMount
    from .vfs import MountSource

NR_OPEN_DEFAULT = 1024   # RLIMIT_NOFILE's soft default


class OpenFile:
    """An open file description: a position and flags, shared across dup and fork."""

    __slots__ = ("refs", "flags", "pos")

    def __init__(self, flags: int):
        self.refs = 1
        self.flags = flags
        self.pos = 0

    @property
    def readable(self) -> bool:
        return (self.flags & O_ACCMODE) in (O_RDONLY, O_RDWR)

    @property
    def writable(self) -> bool:
        return (self.flags & O_ACCMODE) in (O_WRONLY, O_RDWR)

    def read(self, proc: Process, size: int) -> bytes:
        raise oserror(errno.EINVAL)

    def write(self, proc: Process, data: bytes) -> int:
        raise oserror(errno.EINVAL)

    def lseek(self, offset: int, whence: int) -> int:
        if whence == SEEK_SET:
            new = offset
        elif whence == SEEK_CUR:
            new = self.pos + offset
        elif whence == SEEK_END:
            new = self._size() + offset
        else:
            raise oserror(errno.EINVAL)
        if new < 0:
            raise oserror(errno.EINVAL)
        self.pos = new
        return new

    def _content(self) -> bytes:
        return b""

    def _size(self) -> int:
        return len(self._content())

    def flush(self, proc: Process) -> None:
        """A descriptor of it was closed by ``proc`` (f_op->flush)."""

    def release(self) -> None:
        """The last descriptor closed."""


class NullFile(OpenFile):
    """/dev/null: what a simulated process has as stdin, stdout and stderr."""

    __slots__ = ()

    def read(self, proc: Process, size: int) -> bytes:
        return b""

    def write(self, proc: Process, data: bytes) -> int:
        return len(data)


class DirFile(OpenFile):
    """An open directory: reading it as a file is EISDIR. One open through a user mount
    keeps that mount busy (umount: EBUSY) until closed."""

    __slots__ = ("names", "mount")

    def __init__(self, flags: int, names: Iterable[str], mount: MountSource | None = None):
        super().__init__(flags)
        self.names = tuple(names)
        self.mount = mount
        if mount is not None:
            mount.users += 1

    def read(self, proc: Process, size: int) -> bytes:
        raise oserror(errno.EISDIR)

    def release(self) -> None:
        if self.mount is not None:
            self.mount.users -= 1
            self.mount = None


class NsFile(OpenFile):
    """An open nsfs file (``/proc/PID/ns/ipc``, ``mnt``, ``pid`` or ``pid_for_children``,
    or a bind mount of one): holds the namespace."""

    __slots__ = ("ns", "mount")

    def __init__(self, flags: int, ns: Namespace, mount: NsBindMount | None = None):
        super().__init__(flags)
        self.ns: Namespace = ns.get()      # None once released
        self.mount = mount            # the bind mount it was opened through, if any
        if mount is not None:
            mount.users += 1

    def lseek(self, offset: int, whence: int) -> int:
        raise oserror(errno.ESPIPE)

    def release(self) -> None:
        ns, self.ns = self.ns, None  # type: ignore[assignment]  # (released: never used again)
        if self.mount is not None:
            self.mount.users -= 1
        ns.put()


class OtherNsFile(OpenFile):
    """An open namespace file of a kind the model does not split (every process shares the
    initial one): setns() with it is a permitted no-op."""

    __slots__ = ("nstype",)

    def __init__(self, flags: int, nstype: int):
        super().__init__(flags)
        self.nstype = nstype

    def lseek(self, offset: int, whence: int) -> int:
        raise oserror(errno.ESPIPE)


class SysctlFile(OpenFile):
    """A /proc/sys file, bound to the namespace current at open() (it holds no reference)."""

    __slots__ = ("entry", "owner")

    def __init__(self, flags: int, entry: sysctl.Sysctl, owner: sysctl.Owner):
        super().__init__(flags)
        self.entry = entry
        self.owner = owner

    def _owner(self) -> sysctl.Owner:
        owner = self.owner
        if getattr(owner, "alive", True) is False:
            raise oserror(errno.ENOENT)
        return owner

    def _content(self) -> bytes:
        return b""   # proc files have size 0: SEEK_END is relative to 0

    def _check(self, proc: Process, write: bool) -> None:
        """proc_sys_call_handler checks the permission again at every read and write, with
        the caller's credentials of that moment: EPERM, not open()'s EACCES."""
        mode = sysctl.permissions(self.entry, proc.creds, self.owner)
        if not mode & (2 if write else 4):
            raise oserror(errno.EPERM)

    def read(self, proc: Process, size: int) -> bytes:
        owner = self._owner()
        self._check(proc, False)
        if self.pos != 0:
            return b""   # proc_dointvec: a read at a non-zero offset is end of file
        data = sysctl.render(self.entry, owner)[:size]
        if self.entry.handler == "rmid_forced":
            proc.kernel._rmid_forced_hook(owner)
        self.pos += len(data)
        return data

    def write(self, proc: Process, data: bytes) -> int:
        owner = self._owner()
        self._check(proc, True)
        if self.pos != 0:
            self.pos += len(data)   # sysctl_writes_strict: ignored, but "written"
            return len(data)
        done = sysctl.write(self.entry, owner, data, proc.kernel._rmid_forced_hook)
        self.pos += done
        return done


class TextFile(OpenFile):
    """A generated text file (seq_file): regenerated when read from offset 0."""

    __slots__ = ("_render", "_text", "ns")

    def __init__(self, flags: int, render: Callable[[], bytes], ns: IpcNamespace | None = None):
        super().__init__(flags)
        self._render = render
        self._text = b""
        self.ns = ns.get() if ns is not None else None

    def lseek(self, offset: int, whence: int) -> int:
        if whence == SEEK_END:
            raise oserror(errno.EINVAL)   # seq_file has no end to seek from
        return super().lseek(offset, whence)

    def read(self, proc: Process, size: int) -> bytes:
        if self.pos == 0 or not self._text:
            self._text = self._render()
        data = self._text[self.pos:self.pos + size]
        self.pos += len(data)
        return data

    def release(self) -> None:
        if self.ns is not None:
            ns, self.ns = self.ns, None
            ns.put()
