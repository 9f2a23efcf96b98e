"""The ipcsim pytest plugin (entry point ``ipcsim`` in the ``pytest11`` group).

Fixtures:

* ``ipc_kernel``: a fresh :class:`ipcsim.Kernel` per test, configured by the ``ipcsim``
  marker (seed 0, virtual time, by default); during the test ``import sysv_ipc`` and
  ``import posix_ipc`` give the fakes, and their calls act as the bound process (the
  kernel's init, or a process with the marker's credentials), from the test's thread and
  from threads it starts (each a thread of that process). Closed after the test.
* ``ipc_process``: that bound process.
* ``ipcsim_seed``: the seed of the test's kernel.
* ``ipc_kernel_factory``: makes more kernels, ``factory(seed=..., uid=..., sysctls=...,
  bind=False)``, each closed after the test.
* ``ipc_kernel_module`` / ``ipc_kernel_session``: one kernel for a module / the session,
  bound during each test that asks for it by name.
* ``ipc_server``: a kernel served to every OS process of the test (:mod:`ipcsim.remote`).
  One server process for the session, started at the first test that asks for it and
  stopped at the end; each test starts from a fresh served kernel (seeded as the marker
  says). During the test ``IPCSIM_SERVER`` names it in ``os.environ``, so that children
  started by ``subprocess``, multiprocessing ("fork", "spawn", "forkserver") or
  ``os.fork`` use it, with the fakes as their ``sysv_ipc`` and ``posix_ipc`` (see
  :mod:`ipcsim.remote.autoload`); this process's fakes act there as this real process
  (its pid and credentials); ``import sysv_ipc`` gives the fakes. All of it is undone
  after the test. Its value is the :class:`ipcsim.remote.launch.ServerProcess`:
  ``.address``, ``.call(ipcsim.remote.ops.read_file, "/proc/sysvipc/msg")``, ``.pid``.
  Of the marker's options only ``seed``/``seeds`` apply: the served kernel's processes
  are the real ones, with their real credentials.

The marker: ``@pytest.mark.ipcsim(seed=7, uid=1000, gid=1000, groups=(), capabilities=...,
sysctls={"kernel.msgmni": 8}, policy="random", executor=None, epoch=...,
config_ipc_ns=False)`` (the ``config_*`` flags as ``Kernel`` takes them), and
``seeds=range(200)`` to run the test once per seed (``test[seed=17]``); a failing seed is
reported with the command that runs it again.

Every test is isolated: the host kernel (what the fakes use outside the fixtures) is made
afresh for each test. ``--ipcsim-fake-modules`` or the ini option ``ipcsim_fake_modules =
true`` make the fakes what ``import sysv_ipc`` gives for the whole run; where the real
packages are not installed, the fakes are what it gives anyway.
"""
from __future__ import annotations

import shlex
import sys
from collections.abc import Generator, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, Callable

import pytest

from . import Kernel, constants
from .compat import _context, bind
from .compat._modules import (RealPackageInUse, fake_modules, fakes,
                              install_fake_modules, install_fallback, remove_fallback)
from .constants import CAP_FULL_SET
from .kernel.creds import Creds
from .kernel.process import Process

if TYPE_CHECKING:
    from .remote.launch import ServerProcess

__all__ = ["make_kernel", "MARKER_OPTIONS"]

#: what the ``ipcsim`` marker (and ``ipc_kernel_factory``) accept, with their defaults
MARKER_OPTIONS: dict[str, Any] = {
    "seed": 0, "seeds": None, "uid": None, "gid": None, "groups": None,
    "capabilities": None, "sysctls": None, "policy": "random", "executor": None,
    "epoch": None, "trace": False, "config_ipc_ns": None, "config_user_ns": None,
    "config_pid_ns": None,
}
KERNEL_ARGS = ("policy", "executor", "epoch", "trace", "config_ipc_ns", "config_user_ns",
               "config_pid_ns")
SEED_KEY = pytest.StashKey[int]()


# --- options -------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipcsim")
    group.addoption("--ipcsim-fake-modules", action="store_true", default=False,
                    help="make `import sysv_ipc` and `import posix_ipc` load ipcsim's fakes "
                         "for the whole run (ini: ipcsim_fake_modules = true)")
    group.addoption("--ipcsim-seed", type=int, default=None, metavar="N",
                    help="run every ipcsim test with seed N (a seeds= sweep runs only N)")
    parser.addini("ipcsim_fake_modules", type="bool", default=False,
                  help="make `import sysv_ipc` and `import posix_ipc` load ipcsim's fakes "
                       "for the whole run")


def _whole_run(config: pytest.Config) -> bool:
    return bool(config.getoption("ipcsim_fake_modules", False)
                or config.getini("ipcsim_fake_modules"))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    # before any conftest.py can import the real packages
    if getattr(early_config.known_args_namespace, "ipcsim_fake_modules", False) or \
            early_config.getini("ipcsim_fake_modules"):
        install_fake_modules()
    _fallback(early_config)


FALLBACK_KEY = pytest.StashKey[bool]()


def _fallback(config: pytest.Config) -> None:
    """The fakes where the real packages are missing, once per session, from before the
    conftests load (or from configure, for a plugin a conftest asked for)."""
    if not config.stash.get(FALLBACK_KEY, False):
        config.stash[FALLBACK_KEY] = True
        install_fallback()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ipcsim(seed=0, seeds=None, uid=None, gid=None, groups=None, capabilities=None, "
        "sysctls=None, policy='random', executor=None, epoch=None, trace=False): how the "
        "test's ipcsim kernel is made; seeds=range(n) runs the test once per seed")
    if _whole_run(config):
        install_fake_modules()
    _fallback(config)


ISOLATION_KEY = pytest.StashKey[list[tuple[dict[str, Any], dict[str, Any]]]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test starts with a fresh host kernel (made on first use), and what it sets in
    the fakes' modules (``sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED = True``) is undone after it
    (hooks, not a fixture: this runs for every test of every project that has ipcsim)."""
    _context._forget_host()
    item.stash[ISOLATION_KEY] = [(vars(m), vars(m).copy()) for m in fakes().values()]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    _context._forget_host()
    for namespace, before in item.stash.get(ISOLATION_KEY, ()):
        if namespace == before:         # (C's comparison: the common case, unchanged)
            continue
        for name in [k for k in namespace if not k.startswith("_") and k not in before]:
            del namespace[name]
        for name, value in before.items():
            if not name.startswith("_") and namespace.get(name, _MISSING) is not value:
                namespace[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(FALLBACK_KEY, False):
        config.stash[FALLBACK_KEY] = False
        remove_fallback()


def pytest_report_header(config: pytest.Config) -> str | None:
    if _whole_run(config):
        return "ipcsim: sysv_ipc and posix_ipc are ipcsim's fakes for the whole run"
    return None


# --- seeds ---------------------------------------------------------------------------------
def _marker_options(node: pytest.Item | pytest.Function | Any) -> dict[str, Any]:
    """The test's ``ipcsim`` marker keywords (the closest marker wins), checked."""
    marker = node.get_closest_marker("ipcsim")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"{node.nodeid}: @pytest.mark.ipcsim takes keywords only "
                                f"({', '.join(MARKER_OPTIONS)})")
    unknown = sorted(set(marker.kwargs) - set(MARKER_OPTIONS))
    if unknown:
        raise pytest.UsageError(f"{node.nodeid}: @pytest.mark.ipcsim does not know "
                                f"{', '.join(unknown)}; it takes {', '.join(MARKER_OPTIONS)}")
    return dict(marker.kwargs)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ipcsim_seed" not in metafunc.fixturenames:
        return
    options = _marker_options(metafunc.definition)
    seeds = options.get("seeds")
    if seeds is None:
        return
    if "seed" in options:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: give seed= or seeds=, "
                                f"not both")
    chosen = metafunc.config.getoption("ipcsim_seed")
    values = [_seed(s) for s in seeds]
    if chosen is not None:
        values = [v for v in values if v == chosen] or [chosen]
    if not values:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: seeds= is empty")
    metafunc.parametrize("ipcsim_seed", values, indirect=True,
                         ids=[f"seed={v}" for v in values])


def _seed(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise pytest.UsageError(f"ipcsim seeds must be ints, not {value!r}")
    return value


@pytest.fixture
def ipcsim_seed(request: pytest.FixtureRequest) -> int:
    """The seed of this test's kernel: the sweep's (``seeds=``), else ``--ipcsim-seed``,
    else the marker's ``seed``, else 0."""
    if hasattr(request, "param"):
        seed = request.param
    else:
        chosen = request.config.getoption("ipcsim_seed")
        seed = chosen if chosen is not None else \
            _marker_options(request.node).get("seed", 0)
    request.node.stash[SEED_KEY] = seed
    return _seed(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    if call.excinfo is not None:
        _hide_internal_frames()         # (only when there is a traceback to show)
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    seed = item.stash.get(SEED_KEY, None)
    if seed is None or not report.failed:
        return
    report.sections.append(("ipcsim", f"seed {seed}; run it again with: "
                                      f"{reproduce_command(item, seed)}"))
    if isinstance(item, pytest.Function) and item.name != item.originalname:
        failed = item.config.stash.setdefault(FAILED_KEY, {})
        failed.setdefault(item.nodeid.rpartition("[")[0], (item, []))[1].append(seed)


def _documented(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """Whether the error is one ipcsim documents (an OSError, a SimulationError such as
    DeadlockError, an exception class of the fakes): then the frames of the fakes, the
    kernel and the scheduler are left out of pytest's report (``--full-trace`` shows them).
    Any other exception from inside ipcsim keeps them: it is a bug to report."""
    error = excinfo.value
    return isinstance(error, OSError) or \
        type(error).__module__.startswith(("ipcsim.", "sysv_ipc", "posix_ipc"))


_marked: set[str] = set()


def _hide_internal_frames() -> None:
    """Give ipcsim's modules (and the generated system call wrappers) a pytest
    ``__tracebackhide__`` that hides their frames for documented errors."""
    for name in [n for n in sys.modules if n.startswith("ipcsim.") and n not in _marked]:
        module = sys.modules[name]
        if module is None or name == __name__:
            continue
        _marked.add(name)
        vars(module).setdefault("__tracebackhide__", _documented)
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == name:
                for attr in vars(value).values():
                    if getattr(attr, "is_syscall", False) and hasattr(attr, "__globals__"):
                        attr.__globals__.setdefault("__tracebackhide__", _documented)


FAILED_KEY = pytest.StashKey[dict[str, tuple[pytest.Item, list[int]]]]()


def reproduce_command(item: pytest.Item, seed: int) -> str:
    """The command that runs this test (with this seed: a sweep's tests are named by it)."""
    return f"python3 -m pytest {shlex.quote(item.nodeid)}"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    failed = config.stash.get(FAILED_KEY, {})
    if not failed:
        return
    terminalreporter.section("ipcsim: failing seeds")
    for name, (item, seeds) in failed.items():
        seeds = sorted(set(seeds))
        shown = ", ".join(map(str, seeds[:20])) + (" ..." if len(seeds) > 20 else "")
        terminalreporter.line(f"{name}: {len(seeds)} failing seed(s): {shown}")
        terminalreporter.line(f"    run one again: {reproduce_command(item, seeds[0])}")


# --- making kernels --------------------------------------------------------------------------
def make_kernel(seed: int = 0, **options: Any) -> tuple[Kernel, Process]:
    """A kernel made as the marker says, and the process the fakes should act as: its init,
    or (given ``uid``, ``gid``, ``groups`` or ``capabilities``) a child of init with those
    credentials (capabilities: a mask or CAP_* numbers; by default every one for uid 0 and
    none otherwise). ``sysctls`` are written to init's /proc/sys first."""
    unknown = sorted(set(options) - set(MARKER_OPTIONS) - {"seeds"})
    if unknown:
        raise TypeError(f"unknown ipcsim kernel option(s): {', '.join(unknown)}")
    kwargs = {name: options[name] for name in KERNEL_ARGS if options.get(name) is not None}
    kernel = Kernel(seed=seed, **kwargs)
    try:
        _write_sysctls(kernel, options.get("sysctls") or {})
        process = _bound_process(kernel, options)
    except BaseException:
        kernel.close()
        raise
    return kernel, process


def _write_sysctls(kernel: Kernel, sysctls: dict[str, object]) -> None:
    if not isinstance(sysctls, dict):
        raise TypeError("sysctls must be a dict such as {'kernel.msgmni': 8}")
    for name, value in sysctls.items():
        name = str(name)
        path = name if name.startswith("/proc/sys/") else "/proc/sys/" + name.replace(".", "/")
        try:
            kernel.init.write_file(path, str(value))
        except OSError as e:
            raise ValueError(f"sysctl {name}={value!r}: {e.strerror}") from None


def _bound_process(kernel: Kernel, options: dict[str, Any]) -> Process:
    uid, gid = options.get("uid"), options.get("gid")
    groups, caps = options.get("groups"), options.get("capabilities")
    if uid is None and gid is None and groups is None and caps is None:
        return kernel.init
    uid = 0 if uid is None else uid
    gid = uid if gid is None else gid
    for what, value in (("uid", uid), ("gid", gid)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32 - 1:
            raise ValueError(f"{what} must be an int from 0 to 4294967294, not {value!r}")
    mask = _capability_mask(caps, uid)
    group_ids = tuple(sorted(set(groups or ())))
    process = kernel.init.fork()
    process.creds = Creds(uid, gid, mask, group_ids)
    return process


def _capability_mask(caps: int | Iterable[int | str] | None, uid: int) -> int:
    """A mask from a mask, or from CAP_* numbers or names (``"CAP_IPC_OWNER"``,
    ``"ipc_owner"``)."""
    if caps is None:
        return CAP_FULL_SET if uid == 0 else 0
    if isinstance(caps, bool) or isinstance(caps, str):
        raise ValueError("capabilities must be a mask of CAP_* bits or a list of CAP_* "
                         "numbers or names")
    if isinstance(caps, int):
        mask = caps
    else:
        mask = 0
        for cap in caps:
            mask |= 1 << _capability_number(cap)
    if mask < 0 or mask & ~CAP_FULL_SET:
        raise ValueError("capabilities must be a mask of CAP_* bits or a list of CAP_* "
                         "numbers or names")
    return mask


def _capability_number(cap: object) -> int:
    if isinstance(cap, str):
        name = cap.upper()
        name = name if name.startswith("CAP_") else "CAP_" + name
        number = getattr(constants, name, None)
        if isinstance(number, int) and (1 << number) & CAP_FULL_SET:
            return number
    elif isinstance(cap, int) and not isinstance(cap, bool) and 0 <= cap < 64 and \
            (1 << cap) & CAP_FULL_SET:
        return cap
    raise ValueError(f"capabilities: {cap!r} is not a CAP_* number or name")


# --- fixtures --------------------------------------------------------------------------------
_MISSING = object()


@pytest.fixture
def _ipcsim_fakes(request: pytest.FixtureRequest) -> Iterator[None]:
    """The fakes under the real packages' names for this test, and in the modules loaded
    before that hold the real ones; a module holding what cannot be replaced makes the test
    fail (see pytest_runtest_call)."""
    with ExitStack() as stack:
        try:
            stack.enter_context(fake_modules())
        except RealPackageInUse as e:
            request.node.stash[PROBLEM_KEY] = str(e)
            stack.enter_context(fake_modules(swap=False))
        yield


PROBLEM_KEY = pytest.StashKey[str]()


@pytest.fixture
def ipc_kernel(_ipcsim_fakes: None, ipcsim_seed: int,
               request: pytest.FixtureRequest) -> Iterator[Kernel]:
    """A fresh Kernel, made as the test's ``ipcsim`` marker says, that the fakes act on
    during the test (as its init, or the marker's user: see ``ipc_process``)."""
    options = _marker_options(request.node)
    options.pop("seed", None)
    kernel, process = make_kernel(ipcsim_seed, **options)
    request.node.stash[PROCESS_KEY] = process
    try:
        with bind(process):
            yield kernel
    finally:
        kernel.close()


PROCESS_KEY = pytest.StashKey[Process]()


@pytest.fixture
def ipc_process(ipc_kernel: Kernel, request: pytest.FixtureRequest) -> Process:
    """The process the fakes act as in this test (``ipc_kernel``'s init, or the child of
    init with the marker's credentials)."""
    process: Process = request.node.stash[PROCESS_KEY]
    return process


@pytest.fixture
def ipc_kernel_factory(_ipcsim_fakes: None, ipcsim_seed: int) -> Iterator[
        Callable[..., Kernel]]:
    """``factory(seed=<the test's>, **marker options, bind=False)``: a new Kernel, closed
    after the test; with ``bind=True`` the fakes act on it (as the process the options
    give) for the rest of the test."""
    with ExitStack() as stack:
        def factory(seed: int | None = None, *, bind: bool = False,
                    **options: Any) -> Kernel:
            kernel, process = make_kernel(ipcsim_seed if seed is None else seed, **options)
            stack.callback(kernel.close)
            if bind:
                stack.enter_context(_bind(process))
            return kernel
        yield factory


_bind = bind


@pytest.fixture(scope="module")
def ipc_kernel_module() -> Iterator[Kernel]:
    """One Kernel for the module; the fakes act on it (as its init) in every test that
    asks for this fixture."""
    kernel = Kernel(seed=0)
    try:
        yield kernel
    finally:
        kernel.close()


@pytest.fixture(scope="session")
def ipc_kernel_session() -> Iterator[Kernel]:
    """One Kernel for the whole session; the fakes act on it (as its init) in every test
    that asks for this fixture."""
    kernel = Kernel(seed=0)
    try:
        yield kernel
    finally:
        kernel.close()


@pytest.fixture(autouse=True)
def _ipcsim_bind_shared_kernel(request: pytest.FixtureRequest) -> Iterator[None]:
    """Bind the module's or the session's kernel during each test that asks for it."""
    for name in ("ipc_kernel_module", "ipc_kernel_session"):
        if name in request.fixturenames:
            break
    else:
        yield
        return
    request.getfixturevalue("_ipcsim_fakes")
    kernel = request.getfixturevalue(name)
    with bind(kernel.init):
        yield


# --- a served kernel (ipcsim.remote) -----------------------------------------------------------
@pytest.fixture(scope="session")
def _ipcsim_server_process() -> Iterator[ServerProcess]:
    """The session's kernel server, started on first use."""
    from .remote.launch import start_server
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


SERVER_OPTIONS = ("seed", "seeds")


@pytest.fixture
def ipc_server(_ipcsim_fakes: None, _ipcsim_server_process: ServerProcess,
               ipcsim_seed: int, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """The session's kernel server, its kernel fresh for this test, named by
    ``IPCSIM_SERVER`` for the children the test starts, and this process attached to it
    (its fakes act there as this real process) until the test ends."""
    options = set(_marker_options(request.node)) - set(SERVER_OPTIONS)
    if options:
        raise pytest.UsageError(
            f"{request.node.nodeid}: a served kernel takes only seed= or seeds= from "
            f"@pytest.mark.ipcsim, not {', '.join(sorted(options))} (its processes are the "
            f"real ones, with their real credentials)")
    server = _ipcsim_server_process
    if not server.alive():
        pytest.fail(f"the ipcsim kernel server {server.address} (pid {server.pid}) has "
                    f"stopped: {server.popen.returncode}", pytrace=False)
    server.reset(ipcsim_seed)
    with _served_here(server.address):
        yield server


@contextmanager
def _served_here(address: str) -> Iterator[None]:
    """``IPCSIM_SERVER`` (and what children need to load the fakes) in ``os.environ``,
    and this process attached to the server, for the block; as before after it."""
    from .remote import autoload, client
    saved = _context._remote        # (attached, attaching at its first call, or neither)
    with autoload.exported(address):
        client.attach(address)
        try:
            yield
        finally:
            client.detach()
            if isinstance(saved, client.Remote):
                client.attach(saved.address)
            else:
                _context._remote = saved


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # a module that held the real package when the fixture put the fakes in place: the test
    # fails here, before its body runs (its setup ran with the fakes)
    problem = item.stash.get(PROBLEM_KEY, None)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
