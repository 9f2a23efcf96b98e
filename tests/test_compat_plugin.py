"""The pytest plugin: fixtures and --ipcsim-fake-modules, in a pytest run of its own."""
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TESTS = '''
import sysv_ipc
import ipcsim


def test_imports_give_the_fakes():
    import posix_ipc
    assert sysv_ipc.__spec__.name == "ipcsim.compat.sysv_ipc"
    assert posix_ipc.__spec__.name == "ipcsim.compat.posix_ipc"


def test_ipc_kernel_is_fresh_and_the_fakes_act_on_it(ipc_kernel):
    q = sysv_ipc.MessageQueue(42, sysv_ipc.IPC_CREX)
    q.send(b"x")
    assert q.last_send_pid == 1                    # the test acts as the kernel's init
    assert q.last_send_time == ipc_kernel.clock.time()
    rows = ipc_kernel.init.read_file("/proc/sysvipc/msg").splitlines()[1:]
    assert [int(row.split()[0]) for row in rows] == [42]


def test_a_second_test_gets_another_kernel(ipc_kernel):
    q = sysv_ipc.MessageQueue(42, sysv_ipc.IPC_CREX)   # no EEXIST: a fresh kernel
    assert q.current_messages == 0


def test_programs_act_as_themselves(ipc_kernel):
    def worker(p):
        sysv_ipc.MessageQueue(7, sysv_ipc.IPC_CREAT).send(b"from a program")
    child = ipc_kernel.init.fork(target=worker)
    ipc_kernel.run()
    q = sysv_ipc.MessageQueue(7)
    assert q.last_send_pid == child.pid
    assert q.receive() == (b"from a program", 1)


def test_isolation_1_leaves_objects_of_every_kind(ipc_kernel):
    import posix_ipc
    sysv_ipc.MessageQueue(42, sysv_ipc.IPC_CREX).send(b"left behind")
    sysv_ipc.Semaphore(43, sysv_ipc.IPC_CREX, initial_value=3)
    sysv_ipc.SharedMemory(44, sysv_ipc.IPC_CREX, size=10).write(b"left")
    posix_ipc.MessageQueue("/left", posix_ipc.O_CREX).send(b"behind")
    posix_ipc.Semaphore("/left", posix_ipc.O_CREX, initial_value=3)
    posix_ipc.SharedMemory("/left", posix_ipc.O_CREX, size=10)
    blocked = ipc_kernel.init.fork(target=lambda p: sysv_ipc.MessageQueue(42).receive(type=9))
    ipc_kernel.run_until_idle()                      # a program still blocked at the end
    assert blocked.alive


def test_isolation_2_sees_none_of_them(ipc_kernel):
    import posix_ipc
    for make in (lambda: sysv_ipc.MessageQueue(42), lambda: sysv_ipc.Semaphore(43),
                 lambda: sysv_ipc.SharedMemory(44),
                 lambda: posix_ipc.MessageQueue("/left"), lambda: posix_ipc.Semaphore("/left"),
                 lambda: posix_ipc.SharedMemory("/left")):
        try:
            make()
        except (sysv_ipc.ExistentialError, posix_ipc.ExistentialError):
            continue
        raise AssertionError("an object of the previous test is visible")
    assert [p.pid for p in ipc_kernel.processes()] == [1]


def test_isolation_3_after_the_fixture_the_host_kernel_again():
    import os
    from ipcsim.compat import current_process
    assert current_process().pid == os.getpid()
    try:
        sysv_ipc.MessageQueue(42)
    except sysv_ipc.ExistentialError:
        pass
    else:
        raise AssertionError("the fixture's kernel leaked into a test without it")


def test_session_kernel_keeps_state_1(ipc_kernel_session):
    sysv_ipc.MessageQueue(99, sysv_ipc.IPC_CREX)


def test_session_kernel_keeps_state_2(ipc_kernel_session):
    assert sysv_ipc.MessageQueue(99).current_messages == 0


def test_without_a_fixture_the_host_kernel_mirrors_this_process():
    import os
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    q.send(b"x")
    assert q.last_send_pid == os.getpid()
    q.remove()
'''


def plugin_args(env: dict) -> list[str]:
    """``-p ipcsim.pytest_plugin``: loads this checkout's plugin, and is harmless where an
    installed ipcsim registers it too (the entry point has the module's name)."""
    return ["-p", "ipcsim.pytest_plugin"]

def real_packages() -> bool:
    import importlib.util
    return all(importlib.util.find_spec(name) is not None and
               not importlib.util.find_spec(name).name.startswith("ipcsim")
               for name in ("sysv_ipc", "posix_ipc"))


def run_pytest(where: Path, *args: str, prefix: tuple[str, ...] = (),
               timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """A pytest run of its own in ``where``, with this checkout's ipcsim and its plugin."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([*prefix, sys.executable, "-m", "pytest", "-q", "-p",
                           "no:cacheprovider", *plugin_args(env), *args],
                          cwd=where, env=env, capture_output=True, text=True, timeout=timeout)


def write_readme_files(where: Path) -> list[str]:
    """Write the README's named snippets (a first line ``# name``) into ``where``."""
    names = []
    for block in readme_blocks():
        first, _, rest = block.partition("\n")
        if first.startswith("# ") and first[2:].strip().endswith((".py", ".toml")):
            name = first[2:].strip()
            (where / name).write_text(block if name.endswith(".py") else rest)
            names.append(name)
    return names


README_TESTS = 2 + 2 + 50 + 1      # test_jobs, test_marker, test_seeds, test_threads


def test_the_readme_testing_section_runs_as_written(tmp_path):
    names = write_readme_files(tmp_path)
    assert names == ["jobs.py", "test_jobs.py", "pyproject.toml", "test_marker.py",
                     "test_seeds.py", "test_threads.py"]
    (tmp_path / "pyproject.toml").unlink()             # the ini option: its own test
    proc = run_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{README_TESTS} passed" in proc.stdout, proc.stdout


def test_fixtures_fake_modules_and_the_readme_examples(tmp_path):
    (tmp_path / "test_uses_sysv_ipc.py").write_text(textwrap.dedent(TESTS))
    write_readme_files(tmp_path)
    for name in ("pyproject.toml", "test_marker.py", "test_seeds.py", "test_threads.py"):
        (tmp_path / name).unlink()
    without_plugin = readme_blocks()[-1]
    (tmp_path / "without_plugin.py").write_text(
        without_plugin + "\nprint(sorted(w.result for w in workers))\n")
    proc = run_pytest(tmp_path, "--ipcsim-fake-modules", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "12 passed" in proc.stdout                 # 10 here, 2 from the README
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "without_plugin.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.splitlines()[-1] == "['a', 'b']", proc.stdout + proc.stderr


def readme_blocks() -> list[str]:
    """The Python and TOML code blocks of the README's section on the fakes, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Testing code that uses `sysv_ipc` or `posix_ipc`")[1]
    section = section.split("\n## ")[0]
    pieces = section.split("```")
    return [piece.partition("\n")[2] for piece in pieces[1::2]
            if piece.startswith(("python\n", "toml\n"))]


def _needs_real_namespace() -> None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs root on Linux to make a fresh IPC namespace with unshare")
    if shutil.which("unshare") is None:
        pytest.skip("needs the unshare command (util-linux)")
    if not real_packages():
        pytest.skip("needs the real sysv_ipc and posix_ipc packages installed")
    from realkernel import mount_namespace
    ok, why = mount_namespace()
    if not ok:
        pytest.skip(why)


SHOW_NAMESPACE = ("import os; print(sorted(open(f'/proc/sysvipc/{k}').read().splitlines()[1:] "
                  "for k in ('msg', 'sem', 'shm')), sorted(os.listdir('mq')), "
                  "sorted(n for n in os.listdir('/dev/shm') if n.startswith('sem.ipcsimprobe') "
                  "or n.startswith('ipcsimprobe')))")


def test_with_the_real_packages_and_no_flag_a_real_namespace_stays_empty(tmp_path):
    """The code under test imports the real packages at collection (no flag, no ini option):
    under the fixtures it gets the fakes all the same, and nothing reaches the kernel."""
    _needs_real_namespace()
    write_readme_files(tmp_path)
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "test_posix.py").write_text(textwrap.dedent('''
        import posix_ipc, sysv_ipc                  # the real ones, at collection
        from posix_ipc import MessageQueue, O_CREX

        def test_every_kind(ipc_kernel):
            import sys
            assert sys.modules["posix_ipc"].__spec__.name == "ipcsim.compat.posix_ipc"
            assert posix_ipc.__spec__.name == "ipcsim.compat.posix_ipc"
            MessageQueue("/ipcsimprobe", O_CREX).send(b"x")
            posix_ipc.Semaphore("/ipcsimprobe", O_CREX)
            posix_ipc.SharedMemory("/ipcsimprobe", O_CREX, size=10)
            sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
            sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=10)
    '''))
    (tmp_path / "mq").mkdir()
    python = shlex.quote(sys.executable)
    script = (f"mount -t mqueue none mq && {python} -m pytest -q -p "
              f"no:cacheprovider . ; echo EXIT=$?; {python} -c \"{SHOW_NAMESPACE}\"")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    plugin = plugin_args(env)
    if plugin:
        script = script.replace("-p no:cacheprovider", "-p no:cacheprovider -p " + plugin[1])
    proc = subprocess.run(["unshare", "--ipc", "--mount", "--propagation", "private", "sh", "-c",
                           script], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert f"{README_TESTS + 1} passed" in out and "EXIT=0" in out, out + proc.stderr
    assert out.splitlines()[-1] == "[[], [], []] [] []", out


def test_a_module_holding_what_cannot_be_swapped_fails_the_test_saying_how_to_fix(tmp_path):
    if not real_packages():
        pytest.skip("needs the real sysv_ipc package installed (the fakes replace a missing one)")
    (tmp_path / "store.py").write_text(textwrap.dedent('''
        import sysv_ipc

        class Queue(sysv_ipc.MessageQueue):     # a subclass of the real class
            pass
    '''))
    (tmp_path / "test_store.py").write_text(textwrap.dedent('''
        import store

        def test_uses_the_store(ipc_kernel):
            raise AssertionError("the body must not run")

        def test_without_a_fixture_is_not_concerned():
            pass
    '''))
    proc = run_pytest(tmp_path)
    out = proc.stdout
    assert "1 failed, 1 passed" in out, out + proc.stderr
    assert "module 'store'" in out and "store.Queue" in out
    assert "ipcsim_fake_modules = true" in out and "--ipcsim-fake-modules" in out
    assert "the body must not run" not in out
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n"
                                             "ipcsim_fake_modules = true\n")
    proc = run_pytest(tmp_path)
    assert "1 failed, 1 passed" in proc.stdout and "the body must not run" in proc.stdout, \
        proc.stdout


def test_the_ini_option_loads_the_fakes_before_any_conftest(tmp_path):
    write_readme_files(tmp_path)
    (tmp_path / "conftest.py").write_text("import sysv_ipc\nFIRST = sysv_ipc\n")
    (tmp_path / "test_ini.py").write_text(textwrap.dedent('''
        import conftest, sys

        def test_the_conftest_got_the_fakes():
            assert conftest.FIRST.__spec__.name == "ipcsim.compat.sysv_ipc"
            assert sys.modules["posix_ipc"].__spec__.name == "ipcsim.compat.posix_ipc"
    '''))
    proc = run_pytest(tmp_path, "test_ini.py", "test_jobs.py")
    assert proc.returncode == 0 and "3 passed" in proc.stdout, proc.stdout + proc.stderr


HIDE_REAL = '''
import importlib.machinery, sys

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


def test_without_the_real_packages_import_gives_the_fakes(tmp_path):
    (tmp_path / "conftest.py").write_text(HIDE_REAL)
    write_readme_files(tmp_path)
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "test_missing.py").write_text(textwrap.dedent('''
        import jobs, sysv_ipc

        def test_the_fakes_without_a_fixture():
            assert sysv_ipc.__spec__.name == "ipcsim.compat.sysv_ipc"
            jobs.submit("on the host kernel")
            assert jobs.take() == "on the host kernel"
    '''))
    proc = run_pytest(tmp_path, "test_missing.py", "test_jobs.py")
    assert proc.returncode == 0 and "3 passed" in proc.stdout, proc.stdout + proc.stderr


def test_tests_without_a_fixture_do_not_share_the_host_kernel(tmp_path):
    (tmp_path / "test_leak.py").write_text(textwrap.dedent('''
        import sysv_ipc, posix_ipc, pytest

        def test_1_leaves_a_job_behind():
            sysv_ipc.MessageQueue(0x4A0B, sysv_ipc.IPC_CREAT).send(b"job")
            posix_ipc.MessageQueue("/jobs", posix_ipc.O_CREAT).send(b"job")
            posix_ipc.Semaphore("/left", posix_ipc.O_CREAT)

        def test_2_sees_none_of_it():
            with pytest.raises(sysv_ipc.ExistentialError):
                sysv_ipc.MessageQueue(0x4A0B)
            with pytest.raises(posix_ipc.ExistentialError):
                posix_ipc.MessageQueue("/jobs")
            with pytest.raises(posix_ipc.ExistentialError):
                posix_ipc.Semaphore("/left")

        def test_3_module_kernel_is_shared_by_name_1(ipc_kernel_module):
            sysv_ipc.MessageQueue(5, sysv_ipc.IPC_CREX)

        def test_3_module_kernel_is_shared_by_name_2(ipc_kernel_module):
            sysv_ipc.MessageQueue(5)

        def test_4_but_not_with_others(ipc_kernel):
            with pytest.raises(sysv_ipc.ExistentialError):
                sysv_ipc.MessageQueue(5)

        def test_5_changes_a_setting_of_the_fakes():
            sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED = True
            sysv_ipc.EXTRA = 1

        def test_6_sees_it_undone():
            assert sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED is False
            assert not hasattr(sysv_ipc, "EXTRA")
    '''))
    proc = run_pytest(tmp_path, "--ipcsim-fake-modules", "-p", "no:randomly")
    assert proc.returncode == 0 and "7 passed" in proc.stdout, proc.stdout + proc.stderr


SWEEP = '''
import pytest

@pytest.mark.ipcsim(seeds=range(10))
def test_some_seeds_fail(ipc_kernel, ipcsim_seed):
    assert ipc_kernel.sched.rng.random() is not None
    assert ipcsim_seed not in (3, 7), "unlucky"

@pytest.mark.ipcsim(seed=5)
def test_one_seed(ipcsim_seed, ipc_kernel):
    assert ipcsim_seed == 5
'''


def test_a_seed_sweep_names_the_failing_seeds_and_how_to_rerun_one(tmp_path):
    (tmp_path / "test_sweep.py").write_text(SWEEP)
    proc = run_pytest(tmp_path)
    out = proc.stdout
    assert "2 failed, 9 passed" in out, out + proc.stderr
    assert "test_sweep.py::test_some_seeds_fail: 2 failing seed(s): 3, 7" in out
    command = "python3 -m pytest 'test_sweep.py::test_some_seeds_fail[seed=3]'"
    assert f"seed 3; run it again with: {command}" in out
    proc = run_pytest(tmp_path, "test_sweep.py::test_some_seeds_fail[seed=3]")
    assert "1 failed" in proc.stdout and "passed" not in proc.stdout, proc.stdout
    proc = run_pytest(tmp_path, "--ipcsim-seed=7")    # every ipcsim test, with seed 7 only
    assert "FAILED test_sweep.py::test_some_seeds_fail[seed=7]" in proc.stdout, proc.stdout
    assert "FAILED test_sweep.py::test_one_seed - assert 7 == 5" in proc.stdout
    assert "2 failed in" in proc.stdout and "seed=3" not in proc.stdout


def test_marker_mistakes_are_usage_errors(tmp_path):
    (tmp_path / "test_bad.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.ipcsim(sed=3)
        def test_typo(ipc_kernel):
            pass
    '''))
    proc = run_pytest(tmp_path)
    assert proc.returncode != 0
    assert "@pytest.mark.ipcsim does not know sed" in proc.stdout + proc.stderr


def test_documented_errors_are_shown_at_the_users_lines(tmp_path):
    (tmp_path / "test_tb.py").write_text(textwrap.dedent('''
        import sysv_ipc

        def test_deadlock(ipc_kernel):
            sysv_ipc.MessageQueue(5, sysv_ipc.IPC_CREAT).receive()
    '''))
    proc = run_pytest(tmp_path, "--ipcsim-fake-modules")
    out = proc.stdout
    assert "DeadlockError" in out and "test_tb.py:5" in out, out
    for internal in ("scheduler.py", "ipcsim/kernel/", "_context.py", "<syscall"):
        assert internal not in out, out
    proc = run_pytest(tmp_path, "--ipcsim-fake-modules", "--full-trace")
    assert "scheduler.py" in proc.stdout and "ipcsim/kernel/msg.py" in proc.stdout


def test_the_factory_and_the_bound_process(tmp_path):
    (tmp_path / "test_factory.py").write_text(textwrap.dedent('''
        import ipcsim, pytest, sysv_ipc

        def test_factory(ipc_kernel_factory):
            a = ipc_kernel_factory(seed=3, sysctls={"kernel.msgmax": 100})
            assert a.sched.rng is not None and a.init.read_file("/proc/sys/kernel/msgmax") == "100\\n"
            b = ipc_kernel_factory(uid=1000, bind=True)
            q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
            assert q.uid == 1000
            assert [p.pid for p in b.processes()] == [1, 2]
            assert a is not b

        @pytest.mark.ipcsim(uid=1000, gid=100, groups=[5, 6], capabilities=0)
        def test_credentials(ipc_process, ipc_kernel):
            assert ipc_process.getresuid() == (1000, 1000, 1000)
            assert ipc_process.getresgid() == (100, 100, 100)
            q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
            assert (q.uid, q.gid, q.cuid) == (1000, 100, 1000)

        @pytest.mark.ipcsim(uid=1000, capabilities=["CAP_IPC_OWNER", "sys_resource"],
                            sysctls={"/proc/sys/kernel/msgmnb": 100})
        def test_capability_names_and_sysctl_paths(ipc_process, ipc_kernel):
            assert ipc_process.has_capability(ipcsim.CAP_IPC_OWNER)
            assert ipc_process.has_capability(ipcsim.CAP_SYS_RESOURCE)
            assert not ipc_process.has_capability(ipcsim.CAP_SYS_ADMIN)
            assert ipc_kernel.init.read_file("/proc/sys/kernel/msgmnb") == "100\\n"

        def test_bad_capability(ipc_kernel_factory):
            with pytest.raises(ValueError, match="CAP_NOPE"):
                ipc_kernel_factory(uid=5, capabilities=["CAP_NOPE"])

        def test_bad_sysctl(ipc_kernel_factory):
            with pytest.raises(ValueError, match="kernel.nosuch"):
                ipc_kernel_factory(sysctls={"kernel.nosuch": 1})
    '''))
    proc = run_pytest(tmp_path, "--ipcsim-fake-modules")
    assert proc.returncode == 0 and "5 passed" in proc.stdout, proc.stdout + proc.stderr


def test_in_process_with_pytester_the_code_under_test_gets_the_fakes(pytester):
    """pytester's own run, in this process: jobs.py imports the real package at collection
    (when it is installed), no flag; under the fixture it acts on the test's kernel."""
    pytester.makepyfile(jobs=readme_blocks()[0])
    pytester.makepyfile(test_jobs=textwrap.dedent('''
        import jobs, sysv_ipc

        def test_goes_through(ipc_kernel):
            jobs.submit("x")
            assert ipc_kernel.init.read_file("/proc/sysvipc/msg").count("\\n") == 2
            assert jobs.take() == "x"
            assert jobs.sysv_ipc.__spec__.name == "ipcsim.compat.sysv_ipc"

        def test_after_the_test_the_module_holds_what_it_held():
            assert jobs.sysv_ipc is sysv_ipc
    '''))
    result = pytester.runpytest("-p", "ipcsim.pytest_plugin")
    result.assert_outcomes(passed=2)
