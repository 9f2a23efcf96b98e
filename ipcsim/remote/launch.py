"""Starting and stopping a kernel server, for scripts, the pytest plugin and the command.

``with ipcsim.remote.served() as server:`` starts a server in a process of its own, puts
its address in ``IPCSIM_SERVER`` (so that every child started meanwhile finds it), attaches
this process, and undoes all of that at the end. :func:`start_server` does the first part
alone.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator

from ..errors import SimulationError
from . import protocol as P
from .client import ENV, attach, attached, detach, kernel_call

READY = "IPCSIM_SERVER="


class ServerProcess:
    """A kernel server running in a process of its own (``python -m ipcsim serve``)."""

    def __init__(self, address: str, popen: subprocess.Popen[str], tmpdir: str | None):
        self.address = address
        self.popen = popen
        self._tmpdir = tmpdir
        self._errors: IO[str] | None = None

    def errors(self) -> str:
        """What the server wrote of its own errors so far (internal errors it survived)."""
        if self._errors is None or self._errors.closed:
            return ""
        self._errors.seek(0)
        return self._errors.read()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def reset(self, seed: int | None = None) -> None:
        """A fresh kernel: every client but this process is dropped, and may not come
        back (a call of a process left running from before raises ServerGone, then
        SimulationError); this process acts in the fresh kernel at its next call."""
        remote = attached()
        if remote is not None and remote.address == self.address:
            remote.request((P.OP_RESET, seed, os.getpid()))
            remote.close()
            return
        _one_request(self.address, (P.OP_RESET, seed, os.getpid()))

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(kernel, *args)`` in the server, ``fn`` a function of ``ipcsim.remote.ops``."""
        remote = attached()
        if remote is not None and remote.address == self.address:
            return kernel_call(fn, *args)
        return _one_request(self.address, (P.OP_KCALL, fn, args))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and wait for it."""
        if self.popen.poll() is None:
            try:
                _one_request(self.address, (P.OP_STOP,))
            except (OSError, SimulationError):
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        if self._errors is not None:
            self._errors.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ipcsim kernel server {self.address} pid={self.pid}>"


def _one_request(address: str, req: tuple[Any, ...]) -> Any:
    """A request on a connection of its own, outside any client process's link."""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
        if req[0] not in (P.OP_STOP, P.OP_KCALL, P.OP_RESET):
            raise SimulationError("only OP_STOP, OP_KCALL and OP_RESET go alone")
        sock.sendall(P.encode(req))
        reader = P.FrameReader(sock)
        got = reader.read()
        if got is None:
            raise SimulationError(f"the kernel server at {address} closed the connection")
        status, value = P.decode_reply(*got)
        if status != P.REPLY_OK:
            raise value
        return value
    finally:
        sock.close()


def start_server(path: str | None = None, *, seed: int | None = None,
                 watch_parent: bool = True, python: str | None = None) -> ServerProcess:
    """Start ``python -m ipcsim serve`` and wait until it listens. Its socket is ``path``,
    or a fresh one in a private temporary directory (removed by ``stop()``). With
    ``watch_parent`` the server ends when this process does."""
    tmpdir = None
    if path is None:
        tmpdir = tempfile.mkdtemp(prefix="ipcsim-server-")
        os.chmod(tmpdir, 0o711)          # (clients that dropped privileges reach it too)
        path = os.path.join(tmpdir, "kernel.sock")
    cmd = [python or sys.executable, "-m", "ipcsim.remote", "--socket", path]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if watch_parent:
        cmd += ["--parent", str(os.getpid())]
    if tmpdir is not None:
        cmd += ["--own-dir"]            # (removed by the server too, if this process dies)
    env = dict(os.environ)
    env.pop(ENV, None)
    env["IPCSIM_AUTOLOAD"] = "0"       # (the server itself uses no fakes)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"]
                                        if env.get("PYTHONPATH") else "")
    errors = tempfile.TemporaryFile("w+")     # what the server says of itself
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             stderr=errors, text=True, env=env, start_new_session=True)
    assert popen.stdout is not None
    line = popen.stdout.readline()
    if not line.startswith(READY):
        popen.kill()
        popen.wait()
        errors.seek(0)
        said = errors.read().strip().splitlines()
        errors.close()
        popen.stdout.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        why = said[-1] if said else (line.strip() or "it ended at once")
        raise SimulationError(f"the kernel server did not start: {why}")
    server = ServerProcess(line[len(READY):].strip(), popen, tmpdir)
    server._errors = errors
    return server


@contextmanager
def served(path: str | None = None, *, seed: int | None = None,
           attach_self: bool = True) -> Iterator[ServerProcess]:
    """A kernel server for the block: ``IPCSIM_SERVER`` names it and the import hook is in
    place (children started meanwhile use it with the fakes: see
    :func:`ipcsim.remote.autoload.exported`) and, with ``attach_self``, this process's
    fakes use it too. Everything is put back and the server stopped at the end."""
    from .autoload import exported
    server = start_server(path, seed=seed)
    saved_remote = attached()
    try:
        with exported(server.address):
            if attach_self:
                attach(server.address)
            try:
                yield server
            finally:
                if attach_self:
                    detach()
                    if saved_remote is not None:
                        attach(saved_remote.address)
    finally:
        server.stop()


def run_command(argv: list[str], path: str | None = None, *, seed: int | None = None) -> int:
    """Run ``argv`` against a fresh server (its address in ``IPCSIM_SERVER``, the import
    hook in place for its Python processes) and stop the server when the command ends; the
    command's exit status (128+N for a signal N). While the command runs, SIGINT and SIGQUIT
    are ignored here (the terminal gives them to the command too, as system(3) does), and
    SIGTERM and SIGHUP go on to the command, which decides when it ends."""
    from .autoload import child_environment
    server = start_server(path, seed=seed)
    forwarded = (signal.SIGTERM, signal.SIGHUP)
    saved: dict[int, Any] = {}
    child: subprocess.Popen[bytes] | None = None

    def forward(sig: int, _frame: object) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(sig)

    try:
        try:
            child = subprocess.Popen(argv, env=child_environment(server.address))
        except OSError as e:
            sys.stderr.write(f"ipcsim serve: {argv[0]}: {e.strerror}\n")
            return 127 if isinstance(e, FileNotFoundError) else 126
        for sig in forwarded:
            saved[sig] = signal.signal(sig, forward)
        for sig in (signal.SIGINT, signal.SIGQUIT):
            saved[sig] = signal.signal(sig, signal.SIG_IGN)
        status = child.wait()
        return status if status >= 0 else 128 - status
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
        server.stop()
