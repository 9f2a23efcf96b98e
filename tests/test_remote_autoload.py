"""Children get the fakes: ``import sysv_ipc`` in a Python process started with
``IPCSIM_SERVER`` gives ipcsim's fake, through ``ipcsim-autoload.pth`` in site-packages or
the stand-ins on PYTHONPATH; ``ipcsim serve`` runs a server or a command against one."""
import importlib.machinery
import importlib.util
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from ipcsim.remote import autoload

ROOT = Path(__file__).resolve().parent.parent
PTH_SOURCE = ROOT / "ipcsim" / "remote" / autoload.PTH
NOWHERE = "/nonexistent/ipcsim-kernel.sock"     # (importing the fakes makes no call)
SHOW = ("import sys, sysv_ipc, posix_ipc; print(sysv_ipc.__spec__.name, "
        "posix_ipc.__spec__.name, sysv_ipc.__file__)")


def real_packages() -> bool:
    return all((spec := importlib.util.find_spec(name)) is not None
               and spec.origin is not None and not spec.origin.endswith(".py")
               for name in autoload.FAKED)


needs_real = pytest.mark.skipif(not real_packages(), reason="needs the real sysv_ipc and "
                                "posix_ipc installed (pip install 'ipcsim[test]')")


def outer_site_dirs() -> list[str]:
    """Where this interpreter finds its packages (site-packages, and this checkout's
    dependencies wherever they are)."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


@pytest.fixture(scope="module")
def pth_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python (a virtual environment) whose site-packages holds ipcsim and
    ipcsim-autoload.pth beside it, as ``pip install`` leaves them, and that finds the
    packages this one finds (the real sysv_ipc and posix_ipc among them)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    purelib = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    shutil.copy(PTH_SOURCE, purelib / autoload.PTH)
    (purelib / "ipcsim").symlink_to(ROOT / "ipcsim")
    # (plain directories: this interpreter's packages, found after the venv's own)
    (purelib / "outer-site.pth").write_text("\n".join(outer_site_dirs()) + "\n")
    return python


def clean_env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (autoload.ENV, autoload.SWITCH, "PYTHONPATH")}
    for key, value in changes.items():
        if value is not None:
            env[key] = value
    return env


WAYS = ["pth", "stand-ins"]


def way(name: str, pth_python: str, **env: str | None) -> tuple[str, dict[str, str]]:
    """The interpreter and environment of a child that gets the fakes ``name``'s way."""
    if name == "pth":
        return pth_python, clean_env(**env)
    return sys.executable, clean_env(PYTHONPATH=autoload.STAND_INS, **env)


def run(python: str, code: str, env: dict[str, str], cwd: str | Path | None = None,
        *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, *flags, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# --- the import hook ---------------------------------------------------------------------------
@needs_real
@pytest.mark.parametrize("name", WAYS)
def test_with_the_server_variable_imports_give_the_fakes(name, pth_python, tmp_path):
    python, env = way(name, pth_python, IPCSIM_SERVER=NOWHERE)
    proc = run(python, SHOW, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    sysv, posix, path = proc.stdout.split()
    assert (sysv, posix) == ("ipcsim.compat.sysv_ipc", "ipcsim.compat.posix_ipc")
    # (the checkout's fake, or the installed copy's where ipcsim is installed, not editable)
    assert Path(path).parts[-3:] == ("ipcsim", "compat", "sysv_ipc.py")
    assert proc.stderr == ""


@needs_real
@pytest.mark.parametrize("name", WAYS)
@pytest.mark.parametrize("switch", [None, "0"])
def test_without_it_or_switched_off_the_real_packages(name, switch, pth_python, tmp_path):
    python, env = way(name, pth_python, IPCSIM_AUTOLOAD=switch,
                      IPCSIM_SERVER=None if switch is None else NOWHERE)
    proc = run(python, SHOW, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    sysv, posix, path = proc.stdout.split()
    assert (sysv, posix) == ("sysv_ipc", "posix_ipc")
    assert path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


LOADED = ("import sys; print(sorted(m for m in sys.modules if m == '_ipcsim_autoload' or "
          "m.partition('.')[0] == 'ipcsim'), "
          "[type(f).__name__ for f in sys.meta_path if getattr(f, '_ipcsim_autoload', 0)])")


@pytest.mark.parametrize("switch", [None, "0"])
def test_the_pth_costs_nothing_without_the_variable(switch, pth_python, tmp_path):
    env = clean_env(IPCSIM_AUTOLOAD=switch, IPCSIM_SERVER=None if switch is None else NOWHERE)
    proc = run(pth_python, LOADED, env, tmp_path)
    assert proc.stdout.strip() == "[] []", proc.stderr
    assert proc.stderr == ""


def test_with_it_the_pth_loads_a_finder_and_not_ipcsim(pth_python, tmp_path):
    code = LOADED + "; import sysv_ipc; print(sys.meta_path[0], 'ipcsim' in sys.modules)"
    proc = run(pth_python, code, clean_env(IPCSIM_SERVER=NOWHERE), tmp_path)
    assert proc.stdout.splitlines() == [
        "['_ipcsim_autoload'] ['Finder']",
        "<ipcsim autoload finder: sysv_ipc, posix_ipc> True"], proc.stderr


def test_the_pth_says_why_when_ipcsim_is_not_beside_it(tmp_path):
    # (a site directory with the .pth and no package: one line, and the real packages)
    (tmp_path / autoload.PTH).write_bytes(PTH_SOURCE.read_bytes())
    code = f"import site; site.addsitedir({str(tmp_path)!r}); import sys; print(sys.meta_path[0])"
    # -S: not this interpreter's own site-packages, whose .pth (an installed ipcsim) would act
    proc = run(sys.executable, code, clean_env(IPCSIM_SERVER=NOWHERE), tmp_path, "-S")
    assert proc.returncode == 0
    assert "autoload" not in proc.stdout
    assert re.fullmatch(r"ipcsim-autoload\.pth: sysv_ipc and posix_ipc stay the real "
                        r"packages: FileNotFoundError\(.*\)\n", proc.stderr), proc.stderr


def without_ipcsim_on_the_path() -> tuple[list[str], dict[str, str]]:
    """``python -S`` (no .pth runs, so no editable install) with this interpreter's
    packages as plain PYTHONPATH entries after the stand-ins."""
    path = os.pathsep.join([autoload.STAND_INS, *outer_site_dirs()])
    return ["-S"], clean_env(PYTHONPATH=path)


def test_the_stand_ins_bring_the_package_they_belong_to(tmp_path):
    flags, env = without_ipcsim_on_the_path()
    probe = run(sys.executable, "import importlib.util as u; print(u.find_spec('ipcsim'))",
                env, tmp_path, *flags)
    if probe.stdout.strip() != "None":
        pytest.skip("ipcsim is importable here without the stand-ins (a regular install)")
    env[autoload.ENV] = NOWHERE
    proc = run(sys.executable, "import sysv_ipc, ipcsim; print(sysv_ipc.__spec__.name, "
               "ipcsim.__file__)", env, tmp_path, *flags)
    assert proc.returncode == 0, proc.stderr
    name, path = proc.stdout.split()
    assert name == "ipcsim.compat.sysv_ipc"
    assert Path(path).resolve() == (ROOT / "ipcsim" / "__init__.py").resolve()


def test_the_stand_ins_without_the_real_package_fail_as_it_would(tmp_path):
    env = clean_env(PYTHONPATH=autoload.STAND_INS)
    proc = run(sys.executable, "import sysv_ipc", env, tmp_path, "-S")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == "ModuleNotFoundError: No module named 'sysv_ipc'"


# --- the children's environment ------------------------------------------------------------------
def test_child_environment_puts_the_stand_ins_first_where_the_pth_is_missing(monkeypatch):
    monkeypatch.setattr(autoload, "pth_installed", lambda: False)
    base = {"PYTHONPATH": "/a" + os.pathsep + "/b", "HOME": "/root"}
    env = autoload.child_environment("/x.sock", base)
    assert env == {"PYTHONPATH": os.pathsep.join([autoload.STAND_INS, "/a", "/b"]),
                   "HOME": "/root", autoload.ENV: "/x.sock"}
    assert autoload.child_environment(None, env) == env           # (once only)
    off = autoload.child_environment("/x.sock", {**base, autoload.SWITCH: "0"})
    assert off == {**base, autoload.SWITCH: "0", autoload.ENV: "/x.sock"}


def test_child_environment_has_the_stand_ins_where_the_pth_is_installed_too(monkeypatch):
    # (a child may run another interpreter, one without the .pth)
    monkeypatch.setattr(autoload, "pth_installed", lambda: True)
    assert autoload.child_environment("/x.sock", {"PYTHONPATH": "/a"}) == {
        "PYTHONPATH": os.pathsep.join([autoload.STAND_INS, "/a"]), autoload.ENV: "/x.sock"}


@pytest.mark.parametrize("pth", [False, True])
def test_exported_puts_everything_back(monkeypatch, pth):
    monkeypatch.setattr(autoload, "pth_installed", lambda: pth)
    monkeypatch.delenv(autoload.ENV, raising=False)
    monkeypatch.setenv("PYTHONPATH", "/a")
    path, meta_path = list(sys.path), list(sys.meta_path)
    with autoload.exported("/x.sock") as env:
        assert os.environ[autoload.ENV] == "/x.sock" == env[autoload.ENV]
        assert autoload.installed()
        assert (sys.path[0] == autoload.STAND_INS) is not pth
        # (children may run another interpreter: the stand-ins are on their path either way)
        assert os.environ["PYTHONPATH"].startswith(autoload.STAND_INS)
    assert autoload.ENV not in os.environ and os.environ["PYTHONPATH"] == "/a"
    assert (sys.path, sys.meta_path) == (path, meta_path)


# --- children of every kind, with no ipcsim in their code ----------------------------------------
FAMILY = '''
import multiprocessing, os, subprocess, sys
import sysv_ipc


def child(key):
    import sysv_ipc
    sysv_ipc.MessageQueue(key).send(f"{sysv_ipc.__spec__.name} from a child".encode())


def main():
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    print("parent", sysv_ipc.__spec__.name, flush=True)
    for kind in ("spawn", "forkserver", "fork", "subprocess"):
        if kind == "subprocess":
            p = subprocess.run([sys.executable, "-c", f"import family; family.child({q.key})"],
                               cwd=os.path.dirname(os.path.abspath(__file__)))
            status = p.returncode
        else:
            p = multiprocessing.get_context(kind).Process(target=child, args=(q.key,))
            p.start()
            p.join(60)
            status = p.exitcode
        print(kind, status, q.receive(block=False)[0].decode() if status == 0 else "-",
              flush=True)
    q.remove()


if __name__ == "__main__":
    main()
'''

FAMILY_OUT = ["parent ipcsim.compat.sysv_ipc",
              "spawn 0 ipcsim.compat.sysv_ipc from a child",
              "forkserver 0 ipcsim.compat.sysv_ipc from a child",
              "fork 0 ipcsim.compat.sysv_ipc from a child",
              "subprocess 0 ipcsim.compat.sysv_ipc from a child"]


@pytest.mark.parametrize("name", WAYS)
def test_ipcsim_serve_runs_a_family_that_meets_in_the_served_kernel(name, pth_python,
                                                                    tmp_path):
    (tmp_path / "family.py").write_text(FAMILY)
    python, env = way(name, pth_python)
    env.pop("PYTHONPATH", None)             # (ipcsim serve adds what its children need)
    proc = subprocess.run([python, "-m", "ipcsim", "serve", "--", python, "family.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.stdout.splitlines() == FAMILY_OUT, proc.stdout + proc.stderr
    assert proc.returncode == 0


SCRIPT = '''
from ipcsim.remote.autoload import exported
from ipcsim.remote.launch import served

if __name__ == "__main__":
    with served() as server, exported(server.address):
        import family
        family.main()
'''


@pytest.mark.parametrize("name", WAYS)
def test_a_process_that_serves_its_children_with_served_and_exported(name, pth_python,
                                                                     tmp_path):
    # (started without the variable: exported() makes its imports and its spawned
    # children's what IPCSIM_SERVER would have made them)
    (tmp_path / "family.py").write_text(FAMILY)
    (tmp_path / "script.py").write_text(SCRIPT)
    python, env = way(name, pth_python)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([python, "script.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.stdout.splitlines() == FAMILY_OUT, proc.stdout + proc.stderr
    assert proc.returncode == 0


# --- ipcsim serve --------------------------------------------------------------------------------
def ipcsim(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ipcsim", *args], capture_output=True,
                          text=True, timeout=120, env=clean_env(), **kw)


def test_serve_runs_a_command_against_a_fresh_server_and_returns_its_status(tmp_path):
    code = ("import os, sys, sysv_ipc; q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX); "
            "print(os.environ['IPCSIM_SERVER'], sysv_ipc.__spec__.name, q.id); sys.exit(5)")
    proc = ipcsim("serve", "--socket", str(tmp_path / "k.sock"), "--seed", "3", "--",
                  sys.executable, "-c", code)
    assert proc.returncode == 5, proc.stderr
    assert proc.stdout.split()[:2] == [str(tmp_path / "k.sock"), "ipcsim.compat.sysv_ipc"]
    assert not (tmp_path / "k.sock").exists()
    killed = ipcsim("serve", "--", sys.executable, "-c",
                    "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    assert killed.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("given", [True, False])
def test_serve_prints_the_address_and_stops_cleanly(tmp_path, sig, given):
    args = ["--socket", str(tmp_path / "k.sock")] if given else []
    server = subprocess.Popen([sys.executable, "-m", "ipcsim", "serve", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=clean_env())
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("IPCSIM_SERVER=")
        path = line.strip().partition("=")[2]
        if given:
            assert path == str(tmp_path / "k.sock")
        assert os.path.exists(path)
        client = run(sys.executable, "import sysv_ipc; print(sysv_ipc.MessageQueue("
                     "None, sysv_ipc.IPC_CREX).id >= 0)",
                     autoload.child_environment(path, clean_env()), tmp_path)
        assert client.stdout == "True\n", client.stderr
        server.send_signal(sig)
        assert server.wait(60) == 0
        err = server.stderr.read() if server.stderr else ""
        assert "Traceback" not in err
        assert not os.path.exists(path)
        if not given:
            assert not os.path.exists(os.path.dirname(path))
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()


def one_line_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [text], proc.stderr


@pytest.mark.parametrize("command", [[], ["--", "true"]])
def test_serve_errors_are_one_line(tmp_path, command):
    missing = str(tmp_path / "no" / "k.sock")
    one_line_error(ipcsim("serve", "--socket", missing, *command),
                   f"ipcsim serve: cannot listen on {missing}: No such file or directory")
    from ipcsim.remote.launch import start_server
    busy = str(tmp_path / "busy.sock")
    with start_server(busy):
        one_line_error(ipcsim("serve", "--socket", busy, *command),
                       f"ipcsim serve: cannot listen on {busy}: Address already in use")


def test_serve_a_command_that_is_not_there(tmp_path):
    proc = ipcsim("serve", "--", str(tmp_path / "no-such-command"))
    assert proc.returncode == 127
    one_line_error(proc, f"ipcsim serve: {tmp_path / 'no-such-command'}: "
                         f"No such file or directory")


def test_serve_is_a_subcommand_with_help():
    top = ipcsim("--help")
    assert re.search(r"^\s+serve\s+one simulated kernel", top.stdout, re.M), top.stdout
    proc = ipcsim("serve", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: ipcsim serve [-h] [--socket PATH] [--seed N]")
    assert "IPCSIM_AUTOLOAD=0" in proc.stdout


# --- packaging -----------------------------------------------------------------------------------
OFFLINE = ("Could not find a version", "No matching distribution", "NewConnectionError",
           "Temporary failure in name resolution", "Network is unreachable")


def test_a_wheel_puts_the_pth_at_the_top_of_site_packages(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "ipcsim", src / "ipcsim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path / "dist"), str(src)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and any(text in proc.stderr for text in OFFLINE):
        pytest.skip(f"pip could not fetch the build requirements (offline?): "
                    f"{proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("ipcsim-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert z.read(autoload.PTH) == PTH_SOURCE.read_bytes()
    assert {"ipcsim/remote/autoload.py", "ipcsim/remote/stand_ins/sysv_ipc.py",
            "ipcsim/remote/stand_ins/posix_ipc.py"} <= set(names)
    record = next(n for n in names if n.endswith(".dist-info/RECORD"))
    with zipfile.ZipFile(wheel) as z:      # (so that pip uninstall removes it)
        assert any(line.startswith(autoload.PTH + ",")
                   for line in z.read(record).decode().splitlines())


def test_the_pth_is_one_import_line_after_comments():
    # (site.py runs a line of a .pth only if it starts with "import")
    lines = PTH_SOURCE.read_text().splitlines()
    code = [line for line in lines if not line.startswith("#")]
    assert len(code) == 1 and code[0].startswith("import os; ")


def test_ctrl_c_reaches_the_command_of_serve_once(tmp_path):
    # the terminal gives SIGINT to the whole foreground group: serve must not pass it on too
    script = tmp_path / "count.py"
    script.write_text("import signal, sys, time\n"
                      "n = []\n"
                      "signal.signal(signal.SIGINT, lambda *a: n.append(1))\n"
                      "print('ready', flush=True)\n"
                      "time.sleep(1.5)\n"
                      "print(len(n), flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-m", "ipcsim", "serve", "--", sys.executable,
                             str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert out.split() == ["1"]
    assert proc.returncode == 0


def test_serve_with_an_empty_command_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "ipcsim", "serve", "--"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "ipcsim serve: -- needs a command to run (CMD ARGS...)"
