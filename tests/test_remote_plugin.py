"""The pytest plugin's ``ipc_server``: a served kernel that the test's forked, spawned and
subprocess children meet it in, with the real packages installed and without them."""
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

INNER = '''
import importlib.machinery
import multiprocessing
import os
import subprocess
import sys

import pytest

from ipcsim.remote import ops

KINDS = ["fork", "spawn", "forkserver", "subprocess"]
REAL_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def loaded():
    """What this process holds under the packages' names, and whether a real one is loaded."""
    import sysv_ipc, posix_ipc
    real = [name for name, m in list(sys.modules.items())
            if ("sysv_ipc" in name or "posix_ipc" in name)
            and (getattr(m, "__file__", None) or "").endswith(REAL_SUFFIXES)]
    return f"{sysv_ipc.__spec__.name} {posix_ipc.__spec__.name} real={real}"


def child(key, semaphore):
    """Wait for the parent's semaphore, then send it what this process loaded."""
    import sysv_ipc
    sysv_ipc.Semaphore(semaphore).acquire()
    sysv_ipc.MessageQueue(key).send(f"{os.getpid()} {loaded()}".encode())


CHILD = "import sys, test_served; test_served.child(int(sys.argv[1]), int(sys.argv[2]))"


@pytest.mark.parametrize("kind", KINDS)
def test_children_meet_the_parent(ipc_server, kind):
    import sysv_ipc, posix_ipc
    assert loaded() == "ipcsim.compat.sysv_ipc ipcsim.compat.posix_ipc real=[]"
    assert os.environ["IPCSIM_SERVER"] == ipc_server.address
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    s = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
    if kind == "subprocess":
        p = subprocess.Popen([sys.executable, "-c", CHILD, str(q.key), str(s.key)],
                             cwd=os.path.dirname(__file__))
    else:
        p = multiprocessing.get_context(kind).Process(target=child, args=(q.key, s.key))
        p.start()
    try:
        # the served kernel has this process, as itself, and the queue it made
        assert os.getpid() in [pid for pid, _ppid, _comm in ipc_server.call(ops.processes)]
        msg = ipc_server.call(ops.read_file, "/proc/sysvipc/msg")
        assert str(q.id) in [line.split()[1] for line in msg.splitlines()[1:]], msg
        s.release()
    finally:
        if kind == "subprocess":
            status = p.wait(60)
        else:
            p.join(60)
            status = p.exitcode
    assert status == 0
    text, _ = q.receive(block=False)
    pid, fakes = text.decode().split(" ", 1)
    assert int(pid) != os.getpid()
    assert fakes == "ipcsim.compat.sysv_ipc ipcsim.compat.posix_ipc real=[]"
    q.remove()
    s.remove()


def test_each_test_has_a_fresh_kernel_1(ipc_server):
    import sysv_ipc
    sysv_ipc.MessageQueue(4242, sysv_ipc.IPC_CREX)
    msg = ipc_server.call(ops.read_file, "/proc/sysvipc/msg")
    assert ["4242"] == [line.split()[0] for line in msg.splitlines()[1:]], msg


def test_each_test_has_a_fresh_kernel_2(ipc_server):
    import sysv_ipc
    sysv_ipc.MessageQueue(4242, sysv_ipc.IPC_CREX).remove()     # (no FileExistsError)
    assert ipc_server.call(ops.read_file, "/proc/sysvipc/msg").count("\\n") == 1


def test_afterwards_nothing_is_served():
    assert "IPCSIM_SERVER" not in os.environ
    from ipcsim.remote import attached
    assert attached() is None
'''

HIDE_REAL = '''
import importlib.machinery
import sys


class NotInstalled:
    """The real packages are not installed: the path finder does not find them."""
    def find_spec(self, name, path=None, target=None):
        if name not in ("sysv_ipc", "posix_ipc"):
            return None
        for finder in sys.meta_path:
            if finder is self or finder is importlib.machinery.PathFinder:
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                return spec
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)


for name in ("sysv_ipc", "posix_ipc"):
    sys.modules.pop(name, None)
sys.meta_path.insert(0, NotInstalled())
'''

# for the children: a directory on PYTHONPATH whose modules of the packages' names fail
# as a missing package does
MISSING = 'raise ModuleNotFoundError("No module named {0!r}", name={0!r})\n'


def real_packages() -> bool:
    return all((spec := importlib.util.find_spec(name)) is not None
               and not spec.name.startswith("ipcsim") and spec.origin is not None
               and not spec.origin.endswith(".py")
               for name in ("sysv_ipc", "posix_ipc"))


def run_inner(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.makepyfile(test_served=INNER)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)


def test_children_meet_the_parent_with_the_real_packages_installed(pytester):
    if not real_packages():
        pytest.skip("needs the real sysv_ipc and posix_ipc installed (pip install "
                    "'ipcsim[test]')")
    result = run_inner(pytester)
    result.assert_outcomes(passed=7)


def test_children_meet_the_parent_without_the_real_packages(pytester, monkeypatch):
    pytester.makeconftest(HIDE_REAL)
    missing = pytester.mkdir("missing")
    for name in ("sysv_ipc", "posix_ipc"):
        (missing / f"{name}.py").write_text(MISSING.format(name))
    monkeypatch.setenv("PYTHONPATH", str(missing))
    # (the conftest and the directory hide them indeed: without a server, none is found)
    probe = pytester.run(sys.executable, "-c", "import sysv_ipc")
    assert "No module named 'sysv_ipc'" in probe.stderr.str()
    result = run_inner(pytester)
    result.assert_outcomes(passed=7)


def test_marker_options_other_than_the_seed_are_refused(pytester):
    pytester.makepyfile(test_marker=textwrap.dedent('''
        import pytest

        @pytest.mark.ipcsim(uid=1000)
        def test_uid(ipc_server):
            pass

        @pytest.mark.ipcsim(seeds=range(2))
        def test_seeds(ipc_server, ipcsim_seed):
            assert ipcsim_seed in (0, 1)
    '''))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*a served kernel takes only seed= or seeds=*not uid*"])


def readme_example() -> str:
    """The README's ``test_served.py``."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text.split("## One kernel for many OS processes: `ipcsim serve`")[1]
    block = section.split("```python\n# test_served.py\n")[1].split("```")[0]
    return block


def test_the_readme_example_runs_as_written(pytester):
    pytester.makepyfile(test_served=readme_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=1)
