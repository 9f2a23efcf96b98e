"""The pytest plugin: fixtures and --ipcsim-fake-modules, in a pytest run of its own."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
    """``-p ipcsim.pytest_plugin`` unless an installed ipcsim registers the plugin already
    (seen with the child's own path, which may hold an ipcsim with its entry point)."""
    probe = ("from importlib import metadata; print(any(ep.name == 'ipcsim' for ep in "
             "metadata.entry_points(group='pytest11')))")
    found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                           text=True, timeout=60).stdout.strip() == "True"
    return [] if found else ["-p", "ipcsim.pytest_plugin"]


def test_fixtures_fake_modules_and_the_readme_examples(tmp_path):
    (tmp_path / "test_uses_sysv_ipc.py").write_text(textwrap.dedent(TESTS))
    module, tests, without_plugin = readme_blocks()
    (tmp_path / "jobs.py").write_text(module)
    (tmp_path / "test_jobs.py").write_text(tests)
    (tmp_path / "without_plugin.py").write_text(
        without_plugin + "\nprint(sorted(w.result for w in workers))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *plugin_args(env), "--ipcsim-fake-modules", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "12 passed" in proc.stdout                 # 10 here, 2 from the README
    proc = subprocess.run([sys.executable, "without_plugin.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.splitlines()[-1] == "['a', 'b']", proc.stdout + proc.stderr


def test_the_option_is_off_by_default(tmp_path):
    (tmp_path / "test_plain.py").write_text(textwrap.dedent('''
        import sys

        def test_nothing_is_faked(ipc_kernel):
            mod = sys.modules.get("sysv_ipc")
            assert mod is None or not mod.__spec__.name.startswith("ipcsim")
    '''))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *plugin_args(env), str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def readme_blocks() -> list[str]:
    """The Python code blocks of the README's section on the fakes, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Testing code that uses `sysv_ipc` or `posix_ipc`")[1]
    section = section.split("\n## ")[0]
    return [block.split("```")[0] for block in section.split("```python\n")[1:]]
