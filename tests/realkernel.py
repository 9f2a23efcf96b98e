"""Run small Python programs in a fresh real IPC namespace, to compare ipcsim with Linux.

``run_real(code)`` runs ``PRELUDE + code`` with ``unshare --ipc python3 -c`` and returns the
JSON-decoded value of the variable ``result`` that ``code`` sets. The prelude gives the code
raw system calls through ctypes (libc with ``use_errno=True``) and helpers that turn errors
into errno names, so results can be compared with what ipcsim raises:

* ``unshare(flags)``, ``setns(fd, nstype)``: the libc calls; raise OSError on failure.
* ``clone(flags)``: the raw clone syscall (``syscall(56, flags, 0, 0, 0, 0)``), for error
  cases only. If it ever succeeds, the child exits at once and the parent reaps it.
* ``capget()`` -> ``(effective, permitted, inheritable)``; ``capset(eff, perm, inh)``.
* ``try_(fn, *args)``: the value of ``fn(*args)``, or the errno name (``"EINVAL"``) of the
  OSError it raised.
* ``wr(path, data)``: open O_WRONLY, one write, close: the bytes written or ``"E..."``.
* ``rd(path)``: the whole text of a file, or ``"E..."``.
* ``in_child(fn)``: run ``fn()`` in a forked child and return its (JSON-able) value.
* ``CLONE_*`` constants.

``available()`` says whether this machine can do it; tests use ``requires_real``.
"""
from __future__ import annotations

import errno
import functools
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from ipcsim import constants as _constants

_MARKER = "@@ipcsim-realkernel-result@@"

PRELUDE_TEMPLATE = r'''
import ctypes, errno, json, os, sys, time

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.syscall.argtypes = [ctypes.c_long] * 6

{CLONE_CONSTANTS}
SIGCHLD = 17
_WALL = 0x40000000


def _fail():
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err))


def unshare(flags):
    if _libc.unshare(ctypes.c_int(flags)) == -1:
        _fail()
    return 0


def setns(fd, nstype):
    if _libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)) == -1:
        _fail()
    return 0


def clone(flags):
    pid = _libc.syscall(56, flags, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid == -1:
        _fail()
    os.waitpid(pid, _WALL)
    return pid


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def capget():
    hdr = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    if _libc.capget(ctypes.byref(hdr), data) == -1:
        _fail()
    return tuple(getattr(data[0], f) | getattr(data[1], f) << 32
                 for f in ("effective", "permitted", "inheritable"))


def capset(eff, perm, inh):
    hdr = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    for i in range(2):
        data[i].effective = (eff >> (32 * i)) & 0xffffffff
        data[i].permitted = (perm >> (32 * i)) & 0xffffffff
        data[i].inheritable = (inh >> (32 * i)) & 0xffffffff
    if _libc.capset(ctypes.byref(hdr), data) == -1:
        _fail()
    return 0


def ename(err):
    return errno.errorcode.get(err, "E%d" % err)


def try_(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        return ename(e.errno)


def _wr(path, data):
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def wr(path, data):
    return try_(_wr, path, data)


def _rd(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 131072)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(fd)


def rd(path):
    return try_(_rd, path)


def in_child(fn):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = json.dumps({"value": fn()})
        except BaseException as e:
            out = json.dumps({"error": "%s: %s" % (type(e).__name__, e)})
        with os.fdopen(w, "w") as f:
            f.write(out)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    got = json.loads(text)
    if "error" in got:
        raise RuntimeError("in_child: " + got["error"])
    return got["value"]


result = None
'''
# The clone flags come from ipcsim's one table of Linux constants (the prelude runs without
# ipcsim, in a child process, so they are written into its text).
PRELUDE = PRELUDE_TEMPLATE.replace("{CLONE_CONSTANTS}", "\n".join(
    f"{name} = {value:#x}" for name, value in sorted(vars(_constants).items())
    if name == "CSIGNAL" or name.startswith("CLONE_")))


_EPILOGUE = f'''
import json as _json, sys as _sys
_sys.stdout.flush()
_sys.stdout.write("\\n{_MARKER}" + _json.dumps(result) + "\\n")
_sys.stdout.flush()
'''

# The program is sent on stdin: a single argument may not exceed 128 KiB.
_BOOTSTRAP = "import sys; exec(compile(sys.stdin.read(), '<real-kernel>', 'exec'))"

REASON = "needs root on Linux with unshare(1) to compare with the real kernel"


@functools.lru_cache(maxsize=None)
def available() -> tuple[bool, str]:
    """(True, "") when real IPC namespaces can be made here, else (False, why not)."""
    if not sys.platform.startswith("linux"):
        return False, f"{REASON} (this is {sys.platform})"
    if os.geteuid() != 0:
        return False, f"{REASON} (not running as root)"
    unshare = shutil.which("unshare")
    if unshare is None:
        return False, f"{REASON} (unshare(1) is not installed)"
    try:
        probe = subprocess.run([unshare, "--ipc", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"{REASON} (unshare --ipc true failed: {e})"
    if probe.returncode != 0:
        err = probe.stderr.decode(errors="replace").strip()
        return False, f"{REASON} (unshare --ipc true failed: {err or probe.returncode})"
    return True, ""


@functools.lru_cache(maxsize=None)
def mount_namespace() -> tuple[bool, str]:
    """(True, "") when a fresh IPC and mount namespace can be made (to mount an mqueue
    filesystem of its own), else (False, why not): a plain chroot, whose / is no mount
    point, refuses to change the root's propagation."""
    ok, why = available()
    if not ok:
        return ok, why
    probe = subprocess.run(["unshare", "--ipc", "--mount", "--propagation", "private", "true"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        err = probe.stderr.decode(errors="replace").strip()
        return False, (f"needs a mount namespace of its own (unshare --ipc --mount failed: "
                       f"{err or probe.returncode})")
    return True, ""


skip_reason = available()[1]
requires_real = pytest.mark.skipif(not available()[0], reason=skip_reason or REASON)


class RealKernelError(AssertionError):
    """The program run in the real namespace failed or gave no result."""


def run_real(code: str, timeout: float = 30):
    """Run ``code`` (after the prelude) in a fresh IPC namespace; return its ``result``."""
    ok, why = available()
    if not ok:
        pytest.skip(why)
    script = PRELUDE + "\n" + code + "\n" + _EPILOGUE
    argv = [shutil.which("unshare"), "--ipc", sys.executable, "-c", _BOOTSTRAP]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(script.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        raise RealKernelError(
            f"the real-kernel program did not finish within {timeout}s\n"
            f"--- code ---\n{code}\n--- stdout ---\n{out.decode(errors='replace')}\n"
            f"--- stderr ---\n{err.decode(errors='replace')}") from None
    stdout = out.decode(errors="replace")
    stderr = err.decode(errors="replace")
    if proc.returncode != 0 or _MARKER not in stdout:
        raise RealKernelError(
            f"the real-kernel program failed (exit status {proc.returncode})\n"
            f"--- code ---\n{code}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")
    return json.loads(stdout.rsplit(_MARKER, 1)[1].strip())


def errname(err: int) -> str:
    """The errno name that the prelude's ``try_`` gives for ``err``."""
    return errno.errorcode.get(err, f"E{err}")


# A Python that every user can run (root's may live under /root), for programs run as
# another uid.
REAL_PYTHON = "/usr/bin/python3"


def as_user_unavailable(uid: int) -> str | None:
    """None when a program can run on the real kernel as ``uid`` here (root on Linux, with
    setpriv for another uid and a Python that uid can run), else why not."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if os.geteuid() != 0:
        return "the comparison runs as root (and as uid 1000 through setpriv)"
    if not os.path.exists(REAL_PYTHON):
        return f"{REAL_PYTHON} is missing (uid 1000 must be able to run a Python)"
    if uid and shutil.which("setpriv") is None:
        return "setpriv is missing"
    return None


def run_python_as(uid: int, code: str, args: list[str],
                  timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``args`` in REAL_PYTHON, as ``uid`` (setpriv, gid ``uid``, no
    supplementary groups) unless 0, from /; its output as text."""
    cmd = [REAL_PYTHON, "-c", code, *args]
    if uid:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
