"""Running real OS processes against the kernel server and against the real kernel.

* :func:`fetch_sdists`: the source distributions of sysv_ipc 1.2.0 and posix_ipc 1.3.2
  (``pip download``, kept in a cache directory), unpacked.
* :class:`RealNamespace`: a fresh real IPC namespace (and, for POSIX semaphores and shared
  memory, a private tmpfs on /dev/shm in a mount namespace of its own) that several programs
  started one by one can enter (``nsenter``), as programs started in two terminals share
  the machine's namespace.
* :class:`Program`: a process whose output is read as it comes (to wait for a line) and
  which is killed, with its process group, when the test ends.
* :func:`harness_dir`: a ``sitecustomize`` for the demos' processes that refuses the wrong
  kind of ``sysv_ipc``/``posix_ipc`` (the real C extension where the fakes are expected,
  and the other way round) before anything runs, and writes what each process loaded to a
  report file, so a test can tell that the fakes, and only they, served it.
* :func:`python_shim`: a directory with ``python`` (this interpreter), for the demos that
  start ``python child.py``.
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pytest

import realkernel

PACKAGES = {"sysv_ipc": "1.2.0", "posix_ipc": "1.3.2"}
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PATIENCE = 20.0           # seconds before a wait that should end is a failure


# --- the upstream sources ----------------------------------------------------------------------
def fetch_sdists(cache: Path, dest: Path) -> dict[str, Path]:
    """The unpacked source trees, by package name; the archives are downloaded into
    ``cache`` once. Skips the test (with pip's reason) where they cannot be downloaded."""
    cache.mkdir(parents=True, exist_ok=True)
    archives = {name: cache / f"{name}-{version}.tar.gz" for name, version in PACKAGES.items()}
    missing = [f"{name}=={PACKAGES[name]}" for name, path in archives.items()
               if not path.exists()]
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--timeout", "20",
               "--retries", "1", "--no-deps", "--no-binary", ":all:", "--dest", str(cache),
               *missing]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip("the sdists of sysv_ipc 1.2.0 and posix_ipc 1.3.2 could not be "
                        "downloaded (pip download timed out: offline?)")
        if proc.returncode != 0 or not all(p.exists() for p in archives.values()):
            pytest.skip("the sdists of sysv_ipc 1.2.0 and posix_ipc 1.3.2 could not be "
                        f"downloaded (offline?): {proc.stderr.strip()[-400:]}")
    trees = {}
    for name, archive in archives.items():
        tree = dest / f"{name}-{PACKAGES[name]}"
        if not tree.exists():
            with tarfile.open(archive) as tar:
                tar.extractall(dest, filter="data")
        trees[name] = tree
    return trees


def copy_demo(src: Path, dest: Path, **params: int) -> Path:
    """A copy of a demo directory whose params.txt sets ``params`` (NAME=value lines the
    demo has; a name it does not have is an error)."""
    shutil.copytree(src, dest)
    if params:
        path = dest / "params.txt"
        text = path.read_text()
        for name, value in params.items():
            text, n = re.subn(rf"(?m)^{name}=.*$", f"{name}={value}", text)
            assert n == 1, f"{path} has no {name}= line"
        path.write_text(text)
    return dest


# --- the real kernel ---------------------------------------------------------------------------
def real_packages_installed() -> bool:
    import importlib.util
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES)


def require_real(posix: bool = False) -> None:
    """Skip unless the real packages and a fresh real namespace are available here."""
    ok, why = realkernel.mount_namespace() if posix else realkernel.available()
    if not ok:
        pytest.skip(why)
    if not real_packages_installed():
        pytest.skip("the real sysv_ipc and posix_ipc packages are not installed")
    if shutil.which("nsenter") is None:
        pytest.skip("nsenter(1) is needed to start several programs in one real namespace")


class RealNamespace:
    """A fresh real IPC namespace, held open by a sleeping process; with ``shm``, a mount
    namespace too whose /dev/shm is a tmpfs of its own (POSIX semaphores and shared memory
    are files there). :meth:`argv` prefixes a command so that it runs inside."""

    def __init__(self, shm: bool = False) -> None:
        require_real(posix=shm)
        self.shm = shm
        script = ("mount -t tmpfs -o mode=1777 tmpfs /dev/shm && " if shm else "") + \
            "echo $$ && exec sleep 3600"
        argv = ["unshare", "--ipc"]
        if shm:
            argv += ["--mount", "--propagation", "private"]
        self.holder = subprocess.Popen([*argv, "sh", "-c", script], stdout=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL, text=True,
                                       start_new_session=True)
        assert self.holder.stdout is not None
        line = self.holder.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"could not make a real namespace with {argv}: {line!r}")
        self.pid = int(line)

    def argv(self, argv: Sequence[str], cwd: str | os.PathLike[str]) -> list[str]:
        spaces = ["--ipc"] + (["--mount"] if self.shm else [])
        return ["nsenter", "-t", str(self.pid), *spaces, f"--wd={os.fspath(cwd)}", "--",
                *argv]

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        if self.holder.stdout is not None:
            self.holder.stdout.close()

    def __enter__(self) -> "RealNamespace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- processes ---------------------------------------------------------------------------------
class ProgramFailed(AssertionError):
    pass


class Program:
    """``argv`` started at once in a process group of its own, stdout and stderr read by
    threads as they come (so a test can wait for a line); ``stdin`` a pipe when asked."""

    def __init__(self, argv: Sequence[str], *, cwd: str | os.PathLike[str],
                 env: dict[str, str], stdin: bool = False, name: str = "") -> None:
        self.argv = list(argv)
        self.name = name or " ".join(self.argv)
        self.popen = subprocess.Popen(
            self.argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, start_new_session=True)
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                         for stream, into in ((self.popen.stdout, self.out),
                                              (self.popen.stderr, self.err))]
        for t in self._readers:
            t.start()

    def _read(self, stream: object, into: list[bytes]) -> None:
        for line in iter(stream.readline, b""):          # type: ignore[attr-defined]
            with self._changed:
                into.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stdout(self) -> str:
        with self._changed:
            return b"".join(self.out).decode(errors="replace")

    @property
    def stderr(self) -> str:
        with self._changed:
            return b"".join(self.err).decode(errors="replace")

    def describe(self) -> str:
        return (f"--- {self.name} (exit status {self.popen.returncode}) stdout (last lines):\n"
                f"{self.stdout[-3000:]}\n--- stderr:\n{self.stderr[-3000:]}")

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60.0,
                 what: str = "") -> None:
        """Until ``predicate(stdout so far)``; fails (and says what came) if the program
        ends first or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                text = b"".join(self.out).decode(errors="replace")
                if predicate(text):
                    return
                ended = self.popen.poll() is not None and not any(
                    t.is_alive() for t in self._readers)
                left = deadline - time.monotonic()
                if ended or left <= 0:
                    break
                self._changed.wait(min(left, 0.2))
        raise ProgramFailed(f"{self.name} did not print {what or 'what was awaited'} "
                            f"({'it ended' if ended else f'{timeout}s passed'})\n"
                            + self.describe())

    def wait_line(self, pattern: str, count: int = 1, timeout: float = 60.0) -> None:
        rx = re.compile(pattern, re.M)
        self.wait_for(lambda text: len(rx.findall(text)) >= count, timeout,
                      f"{count} line(s) matching {pattern!r}")

    def send(self, text: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(text.encode())
        self.popen.stdin.flush()

    def finish(self, timeout: float = 60.0) -> "Program":
        """Wait for the program (and for every process holding its output open: the
        children it started); kill its process group if that takes longer than
        ``timeout``, and fail."""
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            self.popen.stdin.close()
        try:
            self.popen.wait(timeout)
            for t in self._readers:
                t.join(timeout)
            if any(t.is_alive() for t in self._readers):
                raise subprocess.TimeoutExpired(self.argv, timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ProgramFailed(f"{self.name} did not finish within {timeout}s\n"
                                + self.describe()) from None
        return self

    def kill(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.popen.wait()
        for t in self._readers:
            t.join(5)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.kill()
        else:
            try:                                         # (children it left running)
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


# --- what the demos' processes load ------------------------------------------------------------
SITECUSTOMIZE = r'''
"""Loaded by every Python process of a demo run (tests/remote_helpers.py)."""
import atexit, json, os, sys

_EXPECT = os.environ.get("IPCSIM_DEMO_EXPECT")
_NAMES = ("sysv_ipc", "posix_ipc")


class _Guard:
    """Refuse the wrong kind of module before it runs: the real packages are C extensions."""

    def find_spec(self, name, path=None, target=None):
        if name not in _NAMES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        real = (spec.origin or "").endswith((".so", ".pyd"))
        if real != (_EXPECT == "real"):
            raise ImportError(f"{name} would be loaded from {spec.origin}: this run "
                              f"expects the {_EXPECT} module")
        return None


def _report():
    got = {}
    for name in _NAMES:
        module = sys.modules.get(name)
        if module is not None:
            got[name] = [getattr(module, "__name__", None), getattr(module, "__file__", None)]
    path = os.path.join(os.environ["IPCSIM_DEMO_REPORTS"], "%d.json" % os.getpid())
    with open(path, "w") as f:
        json.dump({"argv": sys.argv, "modules": got}, f)


if _EXPECT:
    sys.meta_path.insert(0, _Guard())
if os.environ.get("IPCSIM_DEMO_REPORTS"):
    atexit.register(_report)

_COIN = os.environ.get("IPCSIM_DEMO_COIN")
if _COIN is not None and os.path.basename(sys.argv[0] if sys.argv else "") == "child.py":
    # the demos' child flips a coin (random.randint(0, 1)) to pick one of two endings
    import random
    _randint = random.randint

    def randint(a, b):
        return int(_COIN) if (a, b) == (0, 1) else _randint(a, b)
    random.randint = randint


def _next_sitecustomize():
    """The sitecustomize this one hides (a distribution's), run as Python would have."""
    from importlib.machinery import PathFinder
    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        from importlib.util import module_from_spec
        spec.loader.exec_module(module_from_spec(spec))


_next_sitecustomize()
'''


def harness_dir(where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return where


def python_shim(where: Path) -> Path:
    """A directory holding ``python``: this interpreter. A script that runs it by its own
    path, not a symlink: Python finds its virtual environment (pyvenv.cfg) beside the path
    it was started by, and a symlink elsewhere would start the base interpreter instead."""
    where.mkdir(parents=True, exist_ok=True)
    shim = where / "python"
    if not shim.exists():
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        shim.chmod(0o755)
    return where


def demo_env(base: Path, expect: str, server: str | None = None,
             coin: int | None = None) -> dict[str, str]:
    """The environment of a demo's programs: ``python`` on PATH, the harness loaded,
    output unbuffered (so a test can wait for a line); with ``server``, what children
    need to get the fakes from that kernel server (``IPCSIM_SERVER``, and the stand-ins
    on ``PYTHONPATH`` where this Python has no ipcsim-autoload.pth)."""
    reports = base / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("IPCSIM_SERVER", None)
    env.pop("IPCSIM_AUTOLOAD", None)
    env["PATH"] = str(python_shim(base / "bin")) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(harness_dir(base / "harness")), str(ROOT)]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"
    env["IPCSIM_DEMO_EXPECT"] = expect
    env["IPCSIM_DEMO_REPORTS"] = str(reports)
    if coin is not None:
        env["IPCSIM_DEMO_COIN"] = str(coin)
    if server is not None:
        from ipcsim.remote.autoload import child_environment
        env = child_environment(server, env)
    return env


def loaded_modules(env: dict[str, str]) -> list[dict[str, object]]:
    """What each process of a run loaded (its report), in no particular order."""
    reports = Path(env["IPCSIM_DEMO_REPORTS"])
    return [json.loads(p.read_text()) for p in sorted(reports.glob("*.json"))]


def check_modules(env: dict[str, str], programs: Sequence[str]) -> None:
    """Each of ``programs`` (script names) ran in a process that loaded the kind of module
    the run expects: the fakes (``ipcsim.compat.*``) or the real C extensions."""
    expect = env["IPCSIM_DEMO_EXPECT"]
    reports = loaded_modules(env)
    for program in programs:
        mine = [r for r in reports if r["argv"] and os.path.basename(str(r["argv"][0]))
                == program]
        assert mine, f"no process of {program} reported what it loaded: {reports}"
        for report in mine:
            modules = report["modules"]
            assert modules, f"{program} loaded neither sysv_ipc nor posix_ipc: {report}"
            for name, (modname, path) in modules.items():   # type: ignore[attr-defined]
                if expect == "fake":
                    assert modname == f"ipcsim.compat.{name}", (program, name, modname, path)
                    assert path is not None and Path(path).is_relative_to(ROOT / "ipcsim")
                else:
                    assert modname == name and str(path).endswith(".so"), (program, path)


# --- forked children and the real kernel, for scenarios written once for both -------------------
class Child:
    """A forked child running ``body(child)``; it talks with the parent over two pipes."""

    def __init__(self, body: Callable[["Child"], int | None]) -> None:
        to_child = os.pipe()
        to_parent = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 70
            try:
                os.close(to_child[1])
                os.close(to_parent[0])
                self.rfd, self.wfd = to_child[0], to_parent[1]
                status = body(self) or 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(status)
        os.close(to_child[0])
        os.close(to_parent[1])
        self.pid = pid
        self.rfd, self.wfd = to_parent[0], to_child[1]
        self.status: str | None = None

    # (both sides)
    def say(self, what: bytes) -> None:
        os.write(self.wfd, what + b"\n")

    def hear(self, timeout: float = PATIENCE) -> bytes:
        """The next line from the other side (b"" if it closed its end)."""
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.rfd], [], [], left)[0]:
                raise AssertionError(f"nothing came from the other side within {timeout}s "
                                     f"(so far {data!r})")
            chunk = os.read(self.rfd, 1)
            if not chunk:
                return data
            data += chunk
        return data[:-1]

    # (the parent)
    def kill(self, sig: int = signal.SIGKILL) -> None:
        os.kill(self.pid, sig)

    def wait(self) -> str:
        """How the child ended: ``exit N`` or ``signal N``."""
        if self.status is None:
            _, status = os.waitpid(self.pid, 0)
            os.close(self.rfd)
            os.close(self.wfd)
            self.status = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                           else f"exit {os.WEXITSTATUS(status)}")
        return self.status

    def reap(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait()


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {PATIENCE}s")
        time.sleep(0.005)


@pytest.fixture
def deadline() -> Iterator[None]:
    """A test that hangs fails after a minute instead (SIGALRM interrupts the wait)."""
    class Hung(Exception):
        pass

    def alarm(_sig: int, _frame: object) -> None:
        raise Hung("the test did not finish within 60s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 60)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)



def real_python(code: str, posix: bool = False, timeout: float = 120) -> object:
    """Run ``code`` with the real packages in a fresh real IPC namespace (with ``posix``, a
    private tmpfs on /dev/shm too, in a mount namespace of its own) and return the JSON
    value of its variable ``result``. The tests directory and the checkout come first on
    its path; ``IPCSIM_SERVER`` is not in its environment."""
    require_real(posix=posix)
    script = (f"import json, sys; sys.path[:0] = [{str(TESTS)!r}, {str(ROOT)!r}]\n"
              "import sysv_ipc, posix_ipc\n"
              "assert sysv_ipc.__file__.endswith('.so') and posix_ipc.__file__.endswith('.so')\n"
              "result = None\n"
              + code +
              "\nprint('@@' + json.dumps(result))\n")
    shell = ("mount -t tmpfs tmpfs /dev/shm && " if posix else "") + 'exec "$0" -c "$1"'
    argv = ["unshare", "--ipc"] + (["--mount", "--propagation", "private"] if posix else [])
    env = {k: v for k, v in os.environ.items() if k not in ("IPCSIM_SERVER", "PYTHONPATH")}
    proc = subprocess.run([*argv, "sh", "-c", shell, sys.executable, script], env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
    assert proc.returncode == 0 and lines, (
        f"the real-kernel run failed (exit status {proc.returncode})\n--- code ---\n{code}\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][2:])


# --- a module's kernel server, and this process attached to a fresh kernel of it ----------
@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from ipcsim.remote import launch
    srv = launch.start_server()
    yield srv
    srv.stop()


@pytest.fixture
def served(server: Any) -> Iterator[Any]:
    """This process attached to a fresh kernel of the module's server."""
    from ipcsim.remote import attach, detach
    server.reset()
    saved = os.environ.get("IPCSIM_SERVER")
    os.environ["IPCSIM_SERVER"] = server.address
    attach(server.address)
    yield server
    detach()
    if saved is None:
        os.environ.pop("IPCSIM_SERVER", None)
    else:
        os.environ["IPCSIM_SERVER"] = saved


def fork_child(body: Callable[[], object]) -> int:
    """A child that runs ``body`` and exits 0, or 1 with the traceback on stderr."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        os._exit(code)
    return pid


def wait_child(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
