"""The conformance harness: the same scenario on ipcsim and on the real kernel, compared.

* :mod:`.scenario`: the scenario form (``b = a.clone(CLONE_NEWIPC)`` ...);
* :mod:`.sim` and :mod:`.real`: the two backends;
* :mod:`.harness`: playing, normalizing and comparing;
* :mod:`.catalogue`: the scenarios, by area; :mod:`.fuzz`: random ones (needs Hypothesis);
* ``python -m ipcsim.conformance``: the report.
"""
from .harness import Difference, Play, compare, diff, play
from .scenario import Scenario, ScenarioError, Step, parse

__all__ = ["Scenario", "Step", "ScenarioError", "parse", "play", "compare", "diff", "Play",
           "Difference"]
