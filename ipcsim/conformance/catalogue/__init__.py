"""The conformance catalogue: scenarios by area, each played on ipcsim and on Linux.

Later capabilities add a module here with a ``SCENARIOS`` list; :func:`all_scenarios` finds it.
"""
from __future__ import annotations

import importlib
import pkgutil

from ..scenario import Scenario, parse


UNPRIVILEGED = 1000     # the unprivileged user of the catalogue's "@uid1000" scenarios


def scenario(area: str, name: str, text: str, uid: int = 0) -> Scenario:
    """A catalogue entry: ``area/name`` with its steps, ``a`` starting as root; with a
    nonzero ``uid``, ``area/name@uid<uid>``, ``a`` starting as that unprivileged user."""
    full = f"{area}/{name}" + (f"@uid{uid}" if uid else "")
    return parse(text, full, area, uid)


def for_both(area: str, name: str, text: str) -> list[Scenario]:
    """The same steps twice: ``a`` starting as root, then as uid 1000 (``UID`` and ``GID``
    in the text name the ids ``a`` started with)."""
    return [scenario(area, name, text), scenario(area, name, text, UNPRIVILEGED)]


def all_scenarios() -> list[Scenario]:
    """Every scenario of every area module, in module then definition order."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        out.extend(module.SCENARIOS)
    names = [s.name for s in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate scenario names: {sorted(dupes)}")
    return out
