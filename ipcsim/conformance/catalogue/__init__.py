"""The conformance catalogue: scenarios by area, each played on ipcsim and on Linux.

Later capabilities add a module here with a ``SCENARIOS`` list; :func:`all_scenarios` finds it.
"""
from __future__ import annotations

import importlib
import pkgutil

from ..scenario import Scenario, parse


def scenario(area: str, name: str, text: str) -> Scenario:
    """A catalogue entry: ``area/name`` with its steps."""
    return parse(text, f"{area}/{name}", area)


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
