"""The typed API: static public names, and mypy --strict on the package, the examples and
client code (a misuse of a system call must be flagged by its real signature)."""
from __future__ import annotations

import types

import ipcsim
from ipcsim import constants
from ipcsim.kernel import signals


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


def test_the_signal_table_is_the_constants() -> None:
    """signals._LINUX is built from the SIGxxx constants: 1..31 in order, each name once."""
    assert list(signals._LINUX.values()) == list(range(1, 32))
    assert signals.SIGNAMES == {num: name for name, num in signals._LINUX.items()}
    assert ipcsim.SIGUSR1 == 10 and ipcsim.SIGKILL == 9 and ipcsim.SIGCHLD == 17
