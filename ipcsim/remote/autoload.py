"""Children get the fakes: ``import sysv_ipc`` and ``import posix_ipc`` load ipcsim's fakes in
every Python process started with ``IPCSIM_SERVER`` in its environment (``subprocess``
children, multiprocessing's "spawn" and "forkserver" children, programs a shell script
runs), with no change to their code, even where the real packages are installed. Their
calls then go to that kernel server (the fakes attach at their first call). A forked child
has the fakes already: its parent's modules.

Two ways in. Both do nothing unless ``IPCSIM_SERVER`` is set, and nothing when
``IPCSIM_AUTOLOAD=0`` is set too:

``ipcsim-autoload.pth``
    ``pip install`` puts it into site-packages, beside the ``ipcsim`` package. Python runs
    its line at start-up, as it runs coverage.py's for measuring subprocesses. Without
    ``IPCSIM_SERVER`` the line reads the environment and stops. With it, the line loads
    this file by its path (the ``ipcsim`` package is not imported) and calls
    :func:`install`: a finder first on ``sys.meta_path`` that answers for ``sysv_ipc``
    and ``posix_ipc`` only, and imports ipcsim only when one of them is imported.

The stand-ins directory (``ipcsim/remote/stand_ins``)
    for a Python whose site-packages does not hold the .pth: a source checkout run in place,
    an editable install (setuptools maps only the packages of an editable install), a
    virtual environment that sees ipcsim through ``PYTHONPATH``.
    :func:`child_environment` (and the pytest plugin's ``ipc_server``, ``ipcsim serve --
    CMD``) put this directory first on the children's ``PYTHONPATH``; its ``sysv_ipc.py``
    and ``posix_ipc.py`` hand the import over to the fakes, or to the real packages further
    on the path when the switch is off. Chosen over the alternatives because it costs
    nothing at start-up and changes nothing outside the process tree: a
    ``sitecustomize`` module would hide a distribution's own (Debian and Ubuntu ship one),
    and writing the .pth into site-packages at run time would change an installation
    nobody asked to change (and needs write permission there). Its limit: a child started
    with ``python -E`` or ``-I``, or given a ``PYTHONPATH`` of its own, does not see it.

To turn it off: ``IPCSIM_AUTOLOAD=0`` in the environment (children inherit it), or remove
``ipcsim-autoload.pth`` from site-packages (``pip uninstall ipcsim`` does).

This module imports only the standard library at the top: the .pth loads it before
anything else, under the name ``_ipcsim_autoload``.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType

ENV = "IPCSIM_SERVER"            # the server's address (ipcsim.remote.client.ENV)
SWITCH = "IPCSIM_AUTOLOAD"       # "0": neither way gives the fakes
FAKED = ("sysv_ipc", "posix_ipc")
PTH = "ipcsim-autoload.pth"

_HERE = os.path.dirname(os.path.abspath(__file__))
#: the directory whose ``sysv_ipc.py`` and ``posix_ipc.py`` stand in for the real packages
STAND_INS = os.path.join(_HERE, "stand_ins")


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``import sysv_ipc`` should give the fake in a process with this environment
    (default: this process's): ``IPCSIM_SERVER`` set and ``IPCSIM_AUTOLOAD`` not ``0``."""
    env = os.environ if environ is None else environ
    return bool(env.get(ENV)) and env.get(SWITCH) != "0"


# --- the import hook -------------------------------------------------------------------------
class Finder:
    """First on ``sys.meta_path``: ``sysv_ipc`` and ``posix_ipc`` are ipcsim's fakes while
    :func:`enabled`; every other name, and these when not enabled, go to the finders after
    it. The fake is the module ``ipcsim.compat.sysv_ipc`` itself (one module under two
    names), imported at the first import of either name."""

    _ipcsim_autoload = True              # (what install() and installed() look for)

    def __init__(self) -> None:
        self._importing: set[int] = set()   # threads importing ipcsim through this finder

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in FAKED or not enabled():
            return None
        import _thread
        me = _thread.get_ident()
        if me in self._importing:
            return None                  # (ipcsim's own imports: not the fakes)
        self._importing.add(me)
        try:
            from ipcsim.compat._modules import fake_spec
        finally:
            self._importing.discard(me)
        return fake_spec(fullname)

    def __repr__(self) -> str:
        return "<ipcsim autoload finder: sysv_ipc, posix_ipc>"


def _ours(finder: object) -> bool:
    # (this file may be loaded twice, by path and as ipcsim.remote.autoload: both kinds count)
    return getattr(finder, "_ipcsim_autoload", False) is True


def install() -> bool:
    """Put the finder first on ``sys.meta_path`` (once); False if it was there already."""
    if installed():
        return False
    sys.meta_path.insert(0, Finder())
    return True


def uninstall() -> None:
    """Take the finder off ``sys.meta_path``. Modules imported meanwhile stay what they are."""
    sys.meta_path[:] = [f for f in sys.meta_path if not _ours(f)]


def installed() -> bool:
    """Whether the finder is on ``sys.meta_path``."""
    return any(_ours(f) for f in sys.meta_path)


# --- the stand-ins -------------------------------------------------------------------------
def stand_in(name: str) -> ModuleType:
    """What ``import sysv_ipc`` (``posix_ipc``) gives through the stand-ins directory: the
    fake while :func:`enabled`, else the real package found on ``sys.path`` after the
    stand-ins (ModuleNotFoundError, as without them, if there is none)."""
    if name not in FAKED:
        raise ValueError(f"ipcsim has no stand-in for {name!r}")
    if enabled():
        _importable()
        import importlib
        module: ModuleType = importlib.import_module("ipcsim.compat." + name)
        return module
    return _real(name)


def _importable() -> None:
    """Make ``ipcsim`` importable: a process whose path does not lead to it (a child
    started elsewhere than the source checkout) gets the package these stand-ins belong
    to."""
    if "ipcsim" in sys.modules:
        return
    from importlib.util import find_spec
    if find_spec("ipcsim") is not None:
        return
    from importlib.util import module_from_spec, spec_from_file_location
    package = os.path.dirname(_HERE)
    spec = spec_from_file_location("ipcsim", os.path.join(package, "__init__.py"),
                                   submodule_search_locations=[package])
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    sys.modules["ipcsim"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["ipcsim"]
        raise


def _real(name: str) -> ModuleType:
    """The real package ``name``, from the entries of ``sys.path`` other than the
    stand-ins directory."""
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec
    path = [p for p in sys.path if not _same_dir(p, STAND_INS)]
    spec = PathFinder.find_spec(name, path)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    module = module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _same_dir(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a or ".", b)
    except OSError:
        return False


# --- the environment of children -------------------------------------------------------------
def pth_installed() -> bool:
    """Whether this Python's site-packages (or the user's, where Python reads it) holds
    ``ipcsim-autoload.pth``: then a child run by this same interpreter gets the fakes from
    ``IPCSIM_SERVER`` alone."""
    import site
    if sys.flags.no_site:
        return False
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return any(os.path.isfile(os.path.join(d, PTH)) for d in dirs)


def child_environment(address: str | None = None,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment (a copy of ``environ``, default this process's) whose Python
    processes use the kernel server at ``address`` with the fakes: ``IPCSIM_SERVER`` set
    (``None``: left as it is, for the caller to set) and the stand-ins directory first on
    ``PYTHONPATH`` (they give the real packages while ``IPCSIM_SERVER`` is unset), for the
    children that run an interpreter without ``ipcsim-autoload.pth``. With
    ``IPCSIM_AUTOLOAD=0`` only ``IPCSIM_SERVER`` is set."""
    env = dict(os.environ if environ is None else environ)
    if address is not None:
        env[ENV] = address
    # (even where this interpreter has the .pth: a child may run another interpreter, one
    # without it, which would otherwise import the real packages and use the real kernel)
    if env.get(SWITCH) != "0":
        entries = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if not any(_same_dir(p, STAND_INS) for p in entries):
            env["PYTHONPATH"] = os.pathsep.join([STAND_INS, *entries])
    return env


def _stand_ins_needed(environ: Mapping[str, str]) -> bool:
    return environ.get(SWITCH) != "0" and not pth_installed()


@contextmanager
def exported(address: str | None = None) -> Iterator[dict[str, str]]:
    """For the block, this process's environment is :func:`child_environment` (children
    started meanwhile inherit it), and this process imports as its children do: the
    finder is installed (``import sysv_ipc`` gives the fake, unless it was imported
    before) and, where the stand-ins are needed, they are first on ``sys.path`` too, for
    multiprocessing's "spawn" and "forkserver" children start with their parent's
    ``sys.path``, not with what ``PYTHONPATH`` gave them. Everything is as before after
    the block. With ``IPCSIM_AUTOLOAD=0`` only ``IPCSIM_SERVER`` is set."""
    keys = (ENV, "PYTHONPATH")
    saved = {key: os.environ.get(key) for key in keys}
    env = child_environment(address)
    for key in keys:
        if key in env:
            os.environ[key] = env[key]
    switched_on = env.get(SWITCH) != "0"
    finder = switched_on and install()
    on_path = _stand_ins_needed(env) and not any(_same_dir(p, STAND_INS) for p in sys.path)
    if on_path:
        sys.path.insert(0, STAND_INS)
    try:
        yield env
    finally:
        if on_path:
            try:
                sys.path.remove(STAND_INS)
            except ValueError:
                pass
        if finder:
            uninstall()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
