"""The interface every conformance backend implements.

A backend plays one scenario: it owns a set of processes, named by labels ("a", "b", ...),
the first of which ("a") starts in a fresh IPC namespace, as root or as the unprivileged
user the scenario names (:meth:`Backend.open`). The harness asks a process to make
one call at a time; the backend answers with an :data:`Outcome`:

* ``("ok", value)``: the call returned ``value`` (raw: the harness normalizes it);
* ``("err", "EINVAL")``: the call failed with that errno name;
* ``("blocked",)``: the call is asleep in the kernel; the process stays blocked, and a later
  step may wake it. :meth:`Backend.completed` then reports its outcome;
* ``("err", "process died")``: the process died during its own call (it killed itself).

A call on a process that has gone (or is still blocked) raises ``RuntimeError``. Arguments a
scenario leaves out take the defaults of the ipcsim.Process method of the same name.

Values cross the boundary as plain data: int, str, bytes, bool, None, and tuples/lists of
those. Arguments are the same plain data (the harness has already turned labels into the
backend's own pids and descriptors).
"""
from __future__ import annotations

from typing import Any, Protocol

Outcome = tuple[Any, ...]  # ("ok", value) | ("err", "ENAME") | ("blocked",)

OK, ERR, BLOCKED = "ok", "err", "blocked"

# The dispositions a scenario may give signal(): "handler" installs a handler that records the
# signal (so a blocked call fails with EINTR), "ignore" is SIG_IGN, "default" is SIG_DFL.
# "siginfo" is a handler (SA_SIGINFO) that records what it reads in its siginfo_t instead of
# the number alone: the tuple (si_signo, si_code, si_pid, si_uid, si_value) (si_pid compared
# by label). Use it for signals that kill() or an mq_notify registration sends.
DISPOSITIONS = ("handler", "ignore", "default", "siginfo")

# The calls a process may make in a scenario, with their argument names. Every backend
# implements each one with the semantics of the ipcsim.Process method of the same name.
CALLS: dict[str, tuple[str, ...]] = {
    "fork": (),
    "clone": ("flags",),
    "exit": ("status",),
    "wait": ("pid", "options"),
    "kill": ("pid", "sig"),
    "signal": ("sig", "disposition"),
    "pause": (),
    "getpid": (),
    "getppid": (),
    "setpgid": ("pid", "pgid"),
    "getpgid": ("pid",),
    "unshare": ("flags",),
    "setns": ("fd", "nstype"),
    "open": ("path", "flags", "mode"),
    "close": ("fd",),
    "dup": ("fd",),
    # ioctl(2) on a namespace descriptor: NS_GET_USERNS and NS_GET_PARENT return a new
    # descriptor (compared as fd<n>), NS_GET_NSTYPE the CLONE_NEW* kind, NS_GET_OWNER_UID
    # the uid. The real backend makes no other request (UnsafeCallError).
    "ioctl": ("fd", "request"),
    "read": ("fd", "size"),
    "write": ("fd", "data"),
    "lseek": ("fd", "offset", "whence"),
    "read_file": ("path",),
    "write_file": ("path", "text"),
    "listdir": ("path",),
    "readlink": ("path",),
    "unlink": ("path",),
    "setuid": ("uid",),
    "setgid": ("gid",),
    "seteuid": ("euid",),
    "setegid": ("egid",),
    "setreuid": ("ruid", "euid"),
    "setresuid": ("ruid", "euid", "suid"),
    "setresgid": ("rgid", "egid", "sgid"),
    "setgroups": ("groups",),
    "getresuid": (),
    "getresgid": (),
    "capget": (),
    "drop_capability": ("cap",),
    "set_dumpable": ("dumpable",),
    "umask": ("mask",),
    "msgget": ("key", "msgflg"),
    "msgsnd": ("msqid", "mtype", "data", "msgflg"),
    "msgrcv": ("msqid", "msgsz", "msgtyp", "msgflg"),
    "msgctl": ("msqid", "cmd", "buf"),
    "semget": ("key", "nsems", "semflg"),
    "semop": ("semid", "sops"),
    "semtimedop": ("semid", "sops", "timeout"),
    "semctl": ("semid", "semnum", "cmd", "arg"),
    # System V shared memory. shmat returns the address as an int (the harness compares an
    # address the kernel chose through labels, see harness.Normalizer.address); IPC_SET
    # takes a shmid_ds(uid=, gid=, mode=) dict or what IPC_STAT returned. write_memory and
    # read_memory access the caller's own memory: the bytes must lie inside one of its
    # attachments (writable for a write). Elsewhere ipcsim raises SegmentationFault and the
    # real backend refuses the call (UnsafeCallError) instead of letting the agent crash:
    # scenarios must not fault.
    "shmget": ("key", "size", "flags"),
    "shmat": ("shmid", "shmaddr", "flags"),
    "shmdt": ("shmaddr",),
    "shmctl": ("shmid", "cmd", "buf"),
    "write_memory": ("addr", "data"),
    "read_memory": ("addr", "n"),
    "sigprocmask": ("how", "sigs"),
    "sigpending_signals": (),
    "sigsuspend": ("sigs",),
    # mount(2) and umount2(2). The use they are here for: a bind mount (flags MS_BIND) of a
    # /proc/PID/ns/ipc file keeps that IPC namespace alive until it is unmounted; a later
    # fstype (such as "mqueue") makes a new mount. ipcsim has no disk, so any absolute path
    # can be a target there; the real backend confines targets to a private, scratch tmpfs
    # on /run (a target elsewhere raises UnsafeCallError) and creates a missing target
    # first (an empty file for a bind mount of a non-directory, else a directory), so
    # scenarios should mount on paths such as "/run/box". Errnos come from the kernel:
    # EPERM without CAP_SYS_ADMIN, ENOENT for a missing source, EINVAL for umount of a
    # path that is not a mount point.
    "mount": ("source", "target", "fstype", "flags"),
    "umount": ("target", "flags"),
    # POSIX message queues. An attribute argument is an mq_attr(...) dict and a
    # notification a sigevent(...) dict (see scenario.py); mq_getattr and mq_setattr return
    # the attributes as such a dict, mq_receive (data, prio). Timeouts are relative, in
    # seconds or as a (tv_sec, tv_nsec) timespec (the real backend adds them to
    # CLOCK_REALTIME; an invalid timespec goes to the kernel as it is). A SIGEV_THREAD
    # registration is made on both sides, but what it runs is not compared. chmod and stat
    # act on mqueue files (the real backend: under /run only); stat gives st_mode,
    # st_nlink, st_uid, st_gid and st_size. setrlimit and getrlimit: RLIMIT_MSGQUEUE.
    "mq_open": ("name", "oflag", "mode", "attr"),
    "mq_close": ("mqdes",),
    "mq_unlink": ("name",),
    "mq_send": ("mqdes", "data", "prio"),
    "mq_timedsend": ("mqdes", "data", "prio", "timeout"),
    "mq_receive": ("mqdes", "bufsize"),
    "mq_timedreceive": ("mqdes", "bufsize", "timeout"),
    "mq_getattr": ("mqdes",),
    "mq_setattr": ("mqdes", "attr"),
    "mq_notify": ("mqdes", "notification"),
    "getrlimit": ("resource",),
    "setrlimit": ("resource", "soft", "hard"),
    "chmod": ("path", "mode"),
    "stat": ("path",),
    # Plain directories and ownership: the real backend makes these under /run only (its
    # private scratch tmpfs, and the mqueue mounts on it).
    "chown": ("path", "uid", "gid"),
    "mkdir": ("path", "mode"),
    "rmdir": ("path",),
}


class Backend(Protocol):
    """One side of a comparison."""

    name: str

    def open(self, uid: int = 0) -> None:
        """Start: create process "a" in a fresh IPC namespace. With a nonzero ``uid``, "a"
        then becomes that user (uid and gid ``uid``, no supplementary groups, no
        capabilities, dumpable: what an unprivileged program that root started through
        ``setpriv --reuid=UID --regid=UID --clear-groups`` has)."""

    def capabilities(self) -> int:
        """The effective capability mask of root as process "a" starts (before it becomes
        the scenario's user, if any)."""

    def pid(self, label: str) -> int:
        """The backend's pid of a labelled process, in the scenario's first PID namespace
        (the one "a" starts in)."""

    def pid_seen_by(self, label: str, reader: str) -> int:
        """The pid of process ``label`` in the PID namespace of process ``reader`` (0 when
        it has none there: a process of an ancestor or unrelated namespace), also after
        either has ended."""

    def call(self, label: str, method: str, args: tuple[Any, ...],
             new_label: str | None = None) -> Outcome:
        """Process ``label`` calls ``method(*args)``. For fork and clone, ``new_label`` names
        the child, and the value is the child's pid. ``exit`` ends the process (its outcome is
        ``("ok", None)``); it stays a zombie until its parent waits for it."""

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (virtual time for ipcsim, a real sleep for Linux), so that
        calls with timeouts can finish."""

    def completed(self) -> list[tuple[str, Outcome]]:
        """Calls that were blocked and have finished since the last check, oldest first."""

    def blocked(self) -> list[str]:
        """Labels of the processes blocked in a call now."""

    def signals_handled(self, label: str) -> list[Any]:
        """The signals the process's recording handler has run for, in order (a siginfo
        tuple for those a "siginfo" handler recorded)."""

    def close(self) -> None:
        """End every process and remove everything the scenario created."""


def describe(outcome: Outcome) -> str:
    if outcome[0] == OK:
        return f"-> {outcome[1]!r}"
    if outcome[0] == ERR:
        return f"-> {outcome[1]}"
    if outcome[0] == BLOCKED:
        return "-> (blocked)"
    return f"-> (not run: {outcome[1]})"


__all__ = ["Backend", "Outcome", "OK", "ERR", "BLOCKED", "CALLS", "DISPOSITIONS", "describe"]
