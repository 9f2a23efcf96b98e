"""The fakes' public API and corner cases, compared with the real packages on a real kernel."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ipcsim
from ipcsim.compat import bind
from ipcsim.compat import posix_ipc as fake_posix
from ipcsim.compat import sysv_ipc as fake_sysv

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compat_scenarios  # noqa: E402

HERE = Path(__file__).resolve().parent
HAVE_REAL = all(importlib.util.find_spec(m) is not None for m in ("sysv_ipc", "posix_ipc"))
CAN_UNSHARE = sys.platform == "linux" and os.geteuid() == 0 and shutil.which("unshare")

REAL_RUN = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
import compat_scenarios, sysv_ipc, posix_ipc
print(json.dumps(compat_scenarios.run_all(sysv_ipc, posix_ipc)))
"""


def fake_outcomes() -> dict:
    with ipcsim.Kernel(seed=0) as k:
        with bind(k.init.fork()):
            return compat_scenarios.run_all(fake_sysv, fake_posix)


@pytest.fixture(scope="module")
def real_outcomes():
    if not HAVE_REAL:
        pytest.skip("the real sysv_ipc and posix_ipc packages are not installed")
    if not CAN_UNSHARE:
        pytest.skip("the real side needs root on Linux with unshare(1)")
    proc = subprocess.run(["unshare", "--ipc", sys.executable, "-c", REAL_RUN],
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


THREADED_RUN = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
sys.path.insert(0, {str(HERE.parent)!r})
import compat_scenarios
if sys.argv[1] == "fake":
    from ipcsim.compat import posix_ipc, sysv_ipc
else:
    import posix_ipc, sysv_ipc
if sys.argv[2] == "notification_steps":
    steps = compat_scenarios.notification_steps(posix_ipc)
else:
    steps = getattr(compat_scenarios, sys.argv[2])(sysv_ipc, posix_ipc)
print(json.dumps({{label: compat_scenarios.outcome(fn) for label, fn in steps.items()}}))
"""


def threaded_outcomes(steps: str = "notification_steps") -> tuple[tuple, tuple]:
    """((outcomes, stderr) of the real package, the same of the fakes on the host kernel),
    the two run at once in processes of their own."""
    procs = []
    for side in ("real", "fake"):
        cmd = [sys.executable, "-c", THREADED_RUN, side, steps]
        if side == "real":
            cmd = ["unshare", "--ipc"] + cmd
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, cwd="/"))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append((json.loads(out), err))
    return tuple(results)


@pytest.mark.skipif(not (HAVE_REAL and CAN_UNSHARE), reason="needs the real packages, root "
                    "and unshare(1)")
def test_notifications_with_real_threads_and_signals_behave_as_the_real_package():
    (real, real_stderr), (fake, fake_stderr) = threaded_outcomes()
    assert list(fake) == list(real)
    assert {k: (fake[k], real[k]) for k in fake if fake[k] != real[k]} == {}
    assert fake_stderr == real_stderr == ""               # a failing callback says nothing


@pytest.mark.skipif(not (HAVE_REAL and CAN_UNSHARE), reason="needs the real packages, root "
                    "and unshare(1)")
def test_calls_blocked_in_real_threads_end_as_with_the_real_packages():
    (real, _), (fake, _) = threaded_outcomes("blocking_steps")
    assert list(fake) == list(real)
    assert {k: (fake[k], real[k]) for k in fake if fake[k] != real[k]} == {}


PERM_REAL = f"""
import json, os, sys
sys.path.insert(0, {str(HERE)!r})
import compat_scenarios, posix_ipc, sysv_ipc
compat_scenarios.permission_objects(posix_ipc)
compat_scenarios.sysv_permission_objects(sysv_ipc)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setgroups([])
    os.setresgid(1000, 1000, 1000)
    os.setresuid(1000, 1000, 1000)
    steps = compat_scenarios.permission_steps(posix_ipc)
    steps.update(compat_scenarios.sysv_permission_steps(sysv_ipc))
    os.write(w, json.dumps({{k: compat_scenarios.outcome(fn) for k, fn in steps.items()}})
             .encode())
    os._exit(0)
os.close(w)
with os.fdopen(r) as f:
    out = f.read()
os.waitpid(pid, 0)
compat_scenarios.permission_objects(posix_ipc, make=False)
print(out)
"""


@pytest.mark.skipif(not (HAVE_REAL and CAN_UNSHARE), reason="needs the real packages, root "
                    "and unshare(1)")
def test_a_user_process_is_refused_as_with_the_real_packages():
    real = subprocess.run(["unshare", "--ipc", sys.executable, "-c", PERM_REAL],
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert real.returncode == 0, real.stderr
    real = json.loads(real.stdout)
    with ipcsim.Kernel(seed=0) as k:
        with bind(k.init):
            compat_scenarios.permission_objects(fake_posix)
            compat_scenarios.sysv_permission_objects(fake_sysv)

        def user(p):
            p.setgroups([])
            p.setgid(1000)
            p.setuid(1000)
            steps = compat_scenarios.permission_steps(fake_posix)
            steps.update(compat_scenarios.sysv_permission_steps(fake_sysv))
            return {label: compat_scenarios.outcome(fn) for label, fn in steps.items()}
        child = k.init.fork(target=user)
        k.run()
        fake = child.result
    assert list(fake) == list(real)
    assert {k: (fake[k], real[k]) for k in fake if fake[k] != real[k]} == {}
    assert sum(v[0] == "PermissionsError" for v in real.values()) > 100


LIMITS_REAL = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
import compat_scenarios, posix_ipc, sysv_ipc

def write(path, text):
    with open(path, "w") as f:
        f.write(text)

steps = compat_scenarios.limit_steps(sysv_ipc, posix_ipc, write)
print(json.dumps({{label: compat_scenarios.outcome(fn) for label, fn in steps.items()}}))
"""


@pytest.mark.skipif(not (HAVE_REAL and CAN_UNSHARE), reason="needs the real packages, root "
                    "and unshare(1)")
def test_limits_are_reached_as_with_the_real_packages():
    from ipcsim.compat._context import _host_capabilities
    real = subprocess.run(["unshare", "--ipc", sys.executable, "-c", LIMITS_REAL],
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert real.returncode == 0, real.stderr
    real = json.loads(real.stdout)
    with ipcsim.Kernel(seed=0) as k:
        for field, value in _host_capabilities().items():   # (CAP_SYS_RESOURCE matters)
            setattr(k.init.creds, field, value & ipcsim.CAP_FULL_SET)

        def write(path, text):
            k.init.write_file(path, text)
        with bind(k.init):
            steps = compat_scenarios.limit_steps(fake_sysv, fake_posix, write)
            fake = {label: compat_scenarios.outcome(fn) for label, fn in steps.items()}
    assert list(fake) == list(real)
    assert {k: (fake[k], real[k]) for k in fake if fake[k] != real[k]} == {}


def test_every_corner_case_behaves_as_the_real_packages(real_outcomes):
    fake = fake_outcomes()
    assert list(fake) == list(real_outcomes)
    differences = {step: (fake[step], real_outcomes[step]) for step in fake
                   if fake[step] != real_outcomes[step]}
    assert not differences


HOST_RUN = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
sys.path.insert(0, {str(HERE.parent)!r})
import compat_scenarios
from ipcsim.compat import posix_ipc, sysv_ipc
print(json.dumps(compat_scenarios.run_all(sysv_ipc, posix_ipc)))
"""


def test_every_corner_case_on_the_host_kernel_too(real_outcomes):
    # the fakes outside a simulation: real time, the host kernel's locks and conditions
    proc = subprocess.run([sys.executable, "-c", HOST_RUN], capture_output=True, text=True,
                          timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    fake = json.loads(proc.stdout)
    assert list(fake) == list(real_outcomes)
    assert {k: (fake[k], real_outcomes[k]) for k in fake if fake[k] != real_outcomes[k]} == {}


def test_corner_cases_are_reproducible():
    assert fake_outcomes() == fake_outcomes()


@pytest.mark.skipif(not HAVE_REAL, reason="the real packages are not installed")
@pytest.mark.parametrize("name", ["sysv_ipc", "posix_ipc"])
def test_the_public_names_and_constants_are_the_real_ones(name):
    real = importlib.import_module(name)
    fake = {"sysv_ipc": fake_sysv, "posix_ipc": fake_posix}[name]
    public = {n for n in dir(real) if not n.startswith("_")}
    assert public <= set(dir(fake))
    for n in sorted(public):
        value = getattr(real, n)
        if isinstance(value, (int, str, bool)):
            assert getattr(fake, n) == value, n
        elif isinstance(value, type):
            members = {m for m in vars(value) if not m.startswith("_")}
            assert members <= set(dir(getattr(fake, n))), n
            assert str(getattr(fake, n)) == str(value)          # <class 'sysv_ipc.X'>
    for dunder in ("__version__", "__author__", "__license__"):
        assert getattr(fake, dunder, None) == getattr(real, dunder, None)


@pytest.mark.skipif(not HAVE_REAL, reason="the real packages are not installed")
@pytest.mark.parametrize("name", ["sysv_ipc", "posix_ipc"])
def test_constants_exceptions_and_attribute_docs_are_the_real_ones(name):
    real = importlib.import_module(name)
    fake = {"sysv_ipc": fake_sysv, "posix_ipc": fake_posix}[name]
    for n in [n for n in dir(real) if not n.startswith("_")] + ["__copyright__"]:
        value = getattr(real, n)
        if isinstance(value, (int, str, bool)):
            assert type(getattr(fake, n)) is type(value), n         # True is not 1
            assert getattr(fake, n) == value, n
    errors = [n for n in dir(real) if isinstance(getattr(real, n), type)
              and issubclass(getattr(real, n), BaseException)]
    bases = [(n, getattr(real, n), getattr(fake, n)) for n in errors] + [
        (b.__name__, b, b) for b in (BaseException, Exception, OSError, ValueError)]
    for n in errors:
        r, f = getattr(real, n), getattr(fake, n)
        assert [c.__name__ for c in f.__mro__] == [c.__name__ for c in r.__mro__], n
        assert (f.__module__, f.__qualname__, f.__doc__) == (r.__module__, r.__qualname__,
                                                             r.__doc__), n
        assert (str(f("m")), repr(f("m")), str(f())) == (str(r("m")), repr(r("m")), str(r()))
        for other, r_base, f_base in bases:
            assert issubclass(f, f_base) == issubclass(r, r_base), (n, other)
    for cls in ("MessageQueue", "Semaphore", "SharedMemory"):
        r, f = getattr(real, cls), getattr(fake, cls)
        assert (f.__module__, f.__name__, f.__qualname__, f.__doc__) == (
            r.__module__, r.__name__, r.__qualname__, r.__doc__)
        for attr, descr in vars(r).items():
            if type(descr).__name__ in ("getset_descriptor", "member_descriptor"):
                assert getattr(f, attr).__doc__ == descr.__doc__, (cls, attr)


def test_exception_classes_look_like_the_real_ones():
    assert fake_sysv.ExistentialError.__mro__[1:3] == (fake_sysv.Error, Exception)
    assert str(fake_sysv.BusyError) == "<class 'sysv_ipc.BusyError'>"
    assert issubclass(fake_posix.SignalError, fake_posix.Error)


def test_shared_memory_exports_its_memory_as_a_buffer():
    with ipcsim.Kernel(seed=0) as k:
        with bind(k.init):
            mem = fake_sysv.SharedMemory(None, fake_sysv.IPC_CREX, size=5000)
            other = fake_sysv.attach(mem.id)
            view = memoryview(mem)
            assert (view.format, view.shape, view.readonly) == ("B", (5000,), False)
            view[4095:4098] = b"abc"                    # across a page boundary
            assert other.read(3, 4095) == b"abc"
            other.write(b"xyz", 10)
            assert bytes(view[10:13]) == b"xyz" and bytearray(mem)[10:13] == b"xyz"
            view.release()
            other.detach()
            mem.detach()
            mem.remove()


def test_posix_shared_memory_is_a_real_descriptor_for_mmap():
    import mmap
    with ipcsim.Kernel(seed=0) as k:
        with bind(k.init):
            mem = fake_posix.SharedMemory("/mapped", fake_posix.O_CREX, size=4096)
            with mmap.mmap(mem.fd, mem.size) as a:
                a[:5] = b"hello"
            again = fake_posix.SharedMemory("/mapped")
            with mmap.mmap(again.fd, again.size) as b:
                assert b[:5] == b"hello"
            mem.unlink()
            mem.close_fd()
            again.close_fd()
