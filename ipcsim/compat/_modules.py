"""The fakes under the real packages' names: ``import sysv_ipc`` and ``import posix_ipc``.

:func:`fake_modules` puts ``ipcsim.compat.sysv_ipc`` and ``ipcsim.compat.posix_ipc`` in
``sys.modules`` under the names ``sysv_ipc`` and ``posix_ipc`` for the length of a block
(a test, under the pytest plugin), whether or not the real packages are installed and
whatever was imported before, and puts back what was there after.

A module imported *before* the block may hold the real package: ``import sysv_ipc`` or
``from sysv_ipc import MessageQueue, ExistentialError`` at its top. Those globals are
pointed at the fakes for the block (and back after it, unless the module changed them
meanwhile), so that its calls do not reach the machine's kernel. What cannot be pointed
elsewhere, an object the real package made at import time (``QUEUE =
sysv_ipc.MessageQueue(...)``, a live object of the machine's kernel) or a subclass of a real
class, makes the block refuse to start with :class:`RealPackageInUse`, which names the
module and says what to do. A module that sets ``__ipcsim_keep_real__ = True`` keeps the
real package (to compare the two, say). References held elsewhere than a module's globals
(in a class, a closure, a container) are not seen: load the fakes for the whole run then.

:func:`install_fake_modules` puts the fakes in place for good (the plugin's
``--ipcsim-fake-modules``), and :func:`install_fallback` makes the fakes what ``import
sysv_ipc`` gives where the real package is not installed at all.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Iterator, Sequence

from ..errors import SimulationError

FAKED = ("sysv_ipc", "posix_ipc")

HOW_TO_FIX = (
    "Load the fakes for the whole run, before anything imports the real package: add "
    "`ipcsim_fake_modules = true` to the pytest configuration ([pytest] in pytest.ini, or "
    "[tool.pytest.ini_options] in pyproject.toml) or run pytest with --ipcsim-fake-modules. "
    "Or import that module inside the test, once the fixture has put the fakes in place.")


class RealPackageInUse(SimulationError):
    """A loaded module holds the real ``sysv_ipc`` or ``posix_ipc`` (or something taken
    from it) where the fakes were asked for: its calls would reach the machine's kernel."""


def fakes() -> dict[str, ModuleType]:
    """The fake modules, by the real packages' names (imported on first use)."""
    global _fakes
    if _fakes is None:
        from . import posix_ipc, sysv_ipc
        _fakes = {"sysv_ipc": sysv_ipc, "posix_ipc": posix_ipc}
    return _fakes


_fakes: dict[str, ModuleType] | None = None


def install_fake_modules() -> None:
    """Put the fakes in ``sys.modules`` under the real packages' names for good (replacing
    the real modules if they were imported already)."""
    sys.modules.update(fakes())


def is_fake(module: object) -> bool:
    return getattr(getattr(module, "__spec__", None), "name", "").startswith("ipcsim.")


@contextmanager
def fake_modules(swap: bool = True) -> Iterator[None]:
    """``import sysv_ipc`` / ``import posix_ipc`` give the fakes until the block ends, and
    modules loaded before hold the fakes instead of the real packages meanwhile.

    Raises :class:`RealPackageInUse`, with nothing changed, where a loaded module holds
    what cannot be replaced (see the module docstring). Blocks nest. With ``swap`` false
    only ``sys.modules`` changes."""
    swaps = find_real_references() if swap else []
    saved = {name: sys.modules.get(name) for name in FAKED}
    sys.modules.update(fakes())
    for namespace, attr, _real, fake in swaps:
        namespace[attr] = fake
    try:
        yield
    finally:
        for namespace, attr, real, fake in swaps:
            if namespace.get(attr) is fake:
                namespace[attr] = real
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


# --- finding modules that hold a real package ------------------------------------------
Swap = tuple[dict[str, Any], str, object, object]
_clean: dict[str, tuple[int, int]] = {}   # module name -> (id of its dict, len) found clean


def find_real_references() -> list[Swap]:
    """The module globals that hold a real package or an object of it, each with its fake
    counterpart; RealPackageInUse if one has none. Modules found clean are not looked at
    again until their globals change in number."""
    real = {name: mod for name in FAKED
            if (mod := sys.modules.get(name)) is not None and not is_fake(mod)}
    if not real:
        return []
    held = _real_objects(real)
    swaps: list[Swap] = []
    for name, mod in list(sys.modules.items()):
        top = name.partition(".")[0]
        if mod is None or top in FAKED or top == "ipcsim":
            continue
        try:
            namespace = vars(mod)
        except TypeError:
            continue
        stamp = (id(namespace), len(namespace))
        if _clean.get(name) == stamp or namespace.get("__ipcsim_keep_real__") is True:
            continue
        found = [(attr, value) for attr, value in list(namespace.items())
                 if _is_real(value, held)]
        if not found:
            _clean[name] = stamp
            continue
        bad = []
        for attr, value in found:
            fake = held.get(id(value), (None, None, None))[2]
            if fake is None:
                bad.append((attr, value))
            else:
                swaps.append((namespace, attr, value, fake))
        if bad:
            raise RealPackageInUse(_message(name, bad))
    return swaps


def _is_real(value: object, held: dict[int, tuple[str, object, object]]) -> bool:
    entry = held.get(id(value))
    if entry is not None and entry[1] is value:
        return True
    # an object made by the real package, or a class derived from one of its classes
    cls = value if isinstance(value, type) else type(value)
    return any(getattr(c, "__module__", None) in FAKED and id(c) in held for c in cls.__mro__)


def _real_objects(real: dict[str, ModuleType]) -> dict[int, tuple[str, object, object]]:
    """id -> (what it is, the object, its fake counterpart or None) for each real module
    and the objects it exports that could carry a call to the kernel (not numbers or
    strings)."""
    fake = fakes()
    held: dict[int, tuple[str, object, object]] = {}
    for name, mod in real.items():
        held[id(mod)] = (f"the real {name} package", mod, fake[name])
        for attr, value in vars(mod).items():
            if isinstance(value, (int, float, str, bytes, tuple, type(None))) or \
                    attr.startswith("__"):
                continue
            held.setdefault(id(value), (f"{name}.{attr}", value,
                                        getattr(fake[name], attr, None)))
    return held


def _message(module: str, found: Sequence[tuple[str, object]]) -> str:
    what = ", ".join(f"{module}.{attr} ({_describe(value)})" for attr, value in found[:3])
    return (f"module {module!r} was imported before the fakes were in place and holds what "
            f"the real package made: {what}. Its calls would reach this machine's kernel. "
            + HOW_TO_FIX)


def _describe(value: object) -> str:
    if isinstance(value, type):
        return f"a subclass of the real {value.__mro__[1].__module__}.{value.__mro__[1].__name__}"
    cls = type(value)
    return f"a real {cls.__module__}.{cls.__name__}"


# --- the fakes where the real package is missing -----------------------------------------
class FallbackFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on ``sys.meta_path``: ``import sysv_ipc`` finds the fake when nothing before it
    found the real package."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in FAKED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return fakes()[spec.name]

    def exec_module(self, module: ModuleType) -> None:
        # the fake is loaded already; the import system has just given it this finder's
        # spec: its own goes back, so that it still says what it is
        module.__spec__ = _OWN_SPECS[module.__name__]


_OWN_SPECS = {mod.__name__: mod.__spec__ for mod in fakes().values()}
_finder = FallbackFinder()
_users = 0                   # pytest sessions in this process (pytester runs nest)


def fake_spec(name: str) -> importlib.machinery.ModuleSpec:
    """A spec that loads the fake ``name`` (``"sysv_ipc"`` or ``"posix_ipc"``): what a finder
    returns to make ``import sysv_ipc`` give the fake (the import hook of
    :mod:`ipcsim.remote.autoload`)."""
    if name not in FAKED:
        raise ValueError(f"ipcsim has no fake of {name!r}")
    return importlib.machinery.ModuleSpec(name, _finder)


def install_fallback() -> None:
    """Put the fallback finder last on ``sys.meta_path`` (counted: each call wants one
    :func:`remove_fallback`)."""
    global _users
    _users += 1
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)


def remove_fallback() -> None:
    global _users
    _users = max(0, _users - 1)
    if not _users:
        while _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
