"""The typed API: static public names, and mypy --strict on the package, the examples and
client code (a misuse of a system call must be flagged by its real signature)."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import ipcsim
from ipcsim import constants
from ipcsim.kernel import signals

ROOT = Path(__file__).resolve().parent.parent


def _exported() -> set[str]:
    """The public names ``ipcsim`` defines: everything but submodules (except ``constants``,
    which is part of the API) and the one helper kept reachable outside ``__all__``."""
    names = {name for name, value in vars(ipcsim).items()
             if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    return (names | {"constants"}) - {"capability_names"}


def test_all_is_what_the_package_exports() -> None:
    assert len(ipcsim.__all__) == len(set(ipcsim.__all__))
    assert set(ipcsim.__all__) == _exported()


def test_all_has_every_constant_and_signal() -> None:
    upper = {name for name in vars(constants) if name.isupper() and not name.startswith("_")}
    assert upper <= set(ipcsim.__all__)
    for name in upper:
        assert getattr(ipcsim, name) == getattr(constants, name), name
    assert set(signals._LINUX) <= set(ipcsim.__all__)
    for name, num in signals._LINUX.items():
        assert getattr(ipcsim, name) == getattr(signals, name) == num, name


def test_the_namespace_declares_every_limit() -> None:
    """The sysctl table sets IpcNamespace's limits by name: each is declared (typed)."""
    from ipcsim.kernel.namespace import IpcNamespace
    from ipcsim.kernel.sysctl import NAMESPACE_FIELDS
    assert set(NAMESPACE_FIELDS) <= set(IpcNamespace.__annotations__)


def test_the_package_is_marked_typed() -> None:
    """py.typed (PEP 561) is in the package and in what pip installs of it."""
    import tomllib
    assert (ROOT / "ipcsim" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["ipcsim"]


def test_the_signal_table_is_the_constants() -> None:
    """signals._LINUX is built from the SIGxxx constants: 1..31 in order, each name once."""
    assert list(signals._LINUX.values()) == list(range(1, 32))
    assert signals.SIGNAMES == {num: name for name, num in signals._LINUX.items()}
    assert ipcsim.SIGUSR1 == 10 and ipcsim.SIGKILL == 9 and ipcsim.SIGCHLD == 17


# --- mypy --strict ---------------------------------------------------------------------------

GOOD_CLIENT = '''\
import os

import ipcsim
from ipcsim import IPC_CREAT, IPC_PRIVATE, IPC_STAT, SIGUSR1


def worker(p: ipcsim.Process, qid: int) -> str:
    mtype, data = p.msgrcv(qid, 100)
    return f"{mtype} {data.decode()}"


def main() -> None:
    handled: list[int] = []
    with ipcsim.Kernel(seed=1) as k:
        init: ipcsim.Process = k.init
        qid: int = init.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
        child = init.fork(target=worker, args=(qid,))
        init.msgsnd(qid, 1, b"hello")
        init.msgsnd(qid, 2, "text is encoded", ipcsim.IPC_NOWAIT)
        k.run()
        ds: ipcsim.MsqidDs = init.msgctl(qid, IPC_STAT)
        qbytes: int = ds.msg_qbytes
        init.signal(SIGUSR1, lambda sig: handled.append(sig))
        init.kill(init.pid, ipcsim.SIGUSR1)
        pid, status = init.wait(child.pid)
        print(child.result, qbytes, pid, os.WEXITSTATUS(status), handled)
        try:
            init.msgrcv(qid, 100, 0, ipcsim.IPC_NOWAIT)
        except OSError as e:
            print(e.errno)
        except ipcsim.SimulationError as e:
            print(e)
        box = init.clone(ipcsim.CLONE_NEWIPC)
        ns: ipcsim.IpcNamespace | None = box.ipc_ns
        print(ns, ipcsim.SIGNAMES[ipcsim.SIGKILL], ipcsim.constants.MSGMAX)
'''

BAD_CLIENT = '''\
import ipcsim

k = ipcsim.Kernel()
p = k.init
p.msgsnd(0, b"oops", 1)
'''


def _mypy_errors(output: str) -> dict[str, list[str]]:
    """mypy's error lines, by file (paths relative to the repository where they are in it)."""
    errors: dict[str, list[str]] = {}
    for line in output.splitlines():
        path, sep, rest = line.partition(":")
        if sep and ": error:" in rest:
            name = Path(path).resolve()
            key = name.relative_to(ROOT).as_posix() if name.is_relative_to(ROOT) else name.name
            errors.setdefault(key, []).append(line)
    return errors


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """One ``mypy --strict`` run over the package, the examples and two client files."""
    pytest.importorskip("mypy", reason="mypy is not installed (it is in the test extra: "
                                       "pip install '.[test]')")
    clients = tmp_path_factory.mktemp("clients")
    (clients / "good_client.py").write_text(GOOD_CLIENT)
    (clients / "bad_client.py").write_text(BAD_CLIENT)
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-color-output", "--no-error-summary",
           "--config-file", str(ROOT / "pyproject.toml"),
           "--cache-dir", str(ROOT / ".mypy_cache"),
           str(ROOT / "ipcsim"), *sorted(str(p) for p in (ROOT / "examples").glob("*.py")),
           str(clients / "good_client.py"), str(clients / "bad_client.py")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode not in (0, 1) or "error: " in done.stderr:
        pytest.fail(f"mypy did not run: {done.stderr or done.stdout}")
    return _mypy_errors(done.stdout)


def test_the_package_and_the_examples_pass_mypy_strict(mypy_report: dict[str, list[str]]) -> None:
    failing = {f: e for f, e in mypy_report.items()
               if f.startswith(("ipcsim/", "examples/"))}
    assert not failing, "\n".join(line for lines in failing.values() for line in lines)


def test_a_client_of_the_public_api_passes_mypy_strict(mypy_report: dict[str, list[str]]) -> None:
    assert not mypy_report.get("good_client.py"), "\n".join(mypy_report["good_client.py"])


def test_mypy_flags_a_system_call_made_against_its_signature(
        mypy_report: dict[str, list[str]]) -> None:
    """msgsnd(msqid, mtype, data, flags): a message passed as the type is caught."""
    errors = mypy_report.get("bad_client.py", [])
    assert any(":5:" in e and '"msgsnd"' in e for e in errors), errors
