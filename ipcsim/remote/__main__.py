"""``python -m ipcsim.remote``: what ``ipcsim serve`` runs.

    ipcsim serve [--socket PATH] [--seed N]        serve until stopped (Ctrl-C, SIGTERM)
    ipcsim serve [--socket PATH] -- CMD ARGS...     run CMD against a fresh server

The first prints ``IPCSIM_SERVER=PATH`` once it listens: put that in the environment of the
processes that should share the kernel.
"""
from __future__ import annotations

import argparse
import os
import selectors
import signal
import sys
import tempfile


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog, description="Serve one simulated kernel to every process that imports "
        "the fakes with IPCSIM_SERVER in its environment.")
    p.add_argument("--socket", metavar="PATH", help="the Unix socket to listen on "
                   "(default: a new one in a private temporary directory)")
    p.add_argument("--seed", type=int, default=None, help="the kernel's seed")
    p.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--own-dir", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="-- CMD ARGS...: run CMD against a fresh server, then stop it")
    return p


def main(argv: list[str] | None = None, prog: str = "ipcsim serve") -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
        if not command:
            parser.error("-- needs a command to run (CMD ARGS...)")
    if args.socket is not None:
        args.socket = os.path.abspath(args.socket)   # (children may run elsewhere)
    if command:
        from ..errors import SimulationError
        from .launch import run_command
        try:
            return run_command(command, args.socket, seed=args.seed)
        except SimulationError as e:
            sys.stderr.write(f"{prog}: {e}\n")
            return 1
    return _serve(args.socket, args.seed, args.parent, prog, args.own_dir)


def _serve(path: str | None, seed: int | None, parent: int | None, prog: str,
           own_dir: bool = False) -> int:
    from .server import KernelServer
    tmpdir = None
    if path is None:
        tmpdir = tempfile.mkdtemp(prefix="ipcsim-server-")
        os.chmod(tmpdir, 0o711)
        path = os.path.join(tmpdir, "kernel.sock")
    elif own_dir:
        tmpdir = os.path.dirname(path)
    _remove_stale(path)
    try:
        server = KernelServer(path, seed=seed)
    except OSError as e:
        sys.stderr.write(f"{prog}: cannot listen on {path}: {e.strerror}\n")
        return 1

    _stop_on_signals(server)
    if parent is not None:
        _watch_parent(server, parent)
    print(f"IPCSIM_SERVER={path}", flush=True)
    try:
        server.serve_forever()
    finally:
        if tmpdir is not None:
            try:
                os.rmdir(tmpdir)
            except OSError:
                pass
    return 0


def _remove_stale(path: str) -> None:
    """A socket file nobody listens on (a server that was killed): removed, so that a new
    server can listen there."""
    import socket
    import stat
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return
    except OSError:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        try:
            os.unlink(path)
        except OSError:
            pass
    except OSError:
        pass
    finally:
        probe.close()


def _stop_on_signals(server: object) -> None:
    """SIGTERM and SIGINT end the loop between two requests (a handler only writes a byte
    that the loop reads: nothing is raised in the middle of a call)."""
    from .server import KernelServer
    assert isinstance(server, KernelServer)
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: None)
    server.sel.register(r, selectors.EVENT_READ, lambda _f: server.stop())


def _watch_parent(server: object, pid: int) -> None:
    """End the server when the process that started it ends."""
    from .server import KernelServer
    assert isinstance(server, KernelServer)
    if hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            server.stop()
            return
        server.sel.register(fd, selectors.EVENT_READ, lambda _f: server.stop())


if __name__ == "__main__":
    sys.exit(main(prog="python -m ipcsim.remote"))
