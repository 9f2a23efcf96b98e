"""The ipcsim pytest plugin (entry point ``ipcsim`` in the ``pytest11`` group).

Fixtures:

* ``ipc_kernel``: a fresh :class:`ipcsim.Kernel` (seed 0, virtual time) per test; during the
  test the ``sysv_ipc``/``posix_ipc`` fakes called from the test's thread act as its init
  process (pid 1, root), and programs it runs act as themselves. Closed after the test.
* ``ipc_kernel_session``: the same, one kernel for the whole session.

Option ``--ipcsim-fake-modules``: ``import sysv_ipc`` and ``import posix_ipc`` load
``ipcsim.compat.sysv_ipc`` and ``ipcsim.compat.posix_ipc`` for the whole session, even where
the real packages are installed. Outside the fixtures the fakes then act as the host process
of a real-time kernel that mirrors this process.
"""
from __future__ import annotations

import sys
from typing import Iterator

import pytest

from . import Kernel
from .compat import bind

FAKED = ("sysv_ipc", "posix_ipc")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipcsim")
    group.addoption("--ipcsim-fake-modules", action="store_true", default=False,
                    help="make `import sysv_ipc` and `import posix_ipc` load ipcsim's fakes "
                         "for the whole session")


def install_fake_modules() -> None:
    """Put the fakes in ``sys.modules`` under the real packages' names (replacing the real
    modules if they were imported already)."""
    from .compat import posix_ipc, sysv_ipc
    sys.modules["sysv_ipc"] = sysv_ipc
    sys.modules["posix_ipc"] = posix_ipc


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    # before any conftest.py can import the real packages
    if getattr(early_config.known_args_namespace, "ipcsim_fake_modules", False):
        install_fake_modules()


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("ipcsim_fake_modules"):
        install_fake_modules()


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("ipcsim_fake_modules"):
        return "ipcsim: sysv_ipc and posix_ipc are ipcsim's fakes"
    return None


@pytest.fixture
def ipc_kernel() -> Iterator[Kernel]:
    """A fresh Kernel (seed 0) that the fakes act on during the test, as its init."""
    kernel = Kernel(seed=0)
    try:
        with bind(kernel.init):
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
def _ipcsim_bind_session_kernel(request: pytest.FixtureRequest) -> Iterator[None]:
    """Bind the fakes to the session kernel during each test that uses it (only those)."""
    if "ipc_kernel_session" not in request.fixturenames:
        yield
        return
    kernel = request.getfixturevalue("ipc_kernel_session")
    with bind(kernel.init):
        yield
