"""A fuzzing campaign: N random scenarios of a given class mix and seed, each played on
ipcsim and on Linux, and the figures of the run (``python -m ipcsim.conformance --fuzz N``).

The same N, seed, weights and maximum length give the same scenarios (with the same
version of Hypothesis). Every scenario is compared; a difference does not stop the run:
the figures count it, and the scenario and the difference are kept for triage. Needs the
``hypothesis`` package (the ``test`` extra) and, for the comparison, the real backend.
"""
from __future__ import annotations

import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Callable, TextIO

import attrs

from .backend import BLOCKED, ERR, Outcome
from .harness import Difference, Play, compare, run_on
from .scenario import Scenario
from .sim import SimBackend


@attrs.define
class Figures:
    """What a campaign played and saw (the real kernel's side, where it ran)."""

    programs: int = 0
    texts: set[int] = attrs.field(factory=set)   # hashes of the scenarios' texts
    steps: int = 0
    blocked: int = 0                 # calls that went to sleep
    wakeups: int = 0                 # blocked calls that a later step completed
    errnos: Counter[str] = attrs.field(factory=Counter)
    differences: int = 0
    unsupported: int = 0             # differences where ipcsim says "not modelled"
    refused: int = 0                 # scenarios the real backend would not play (unsafe)
    failed: int = 0                  # scenarios the real backend failed to play
    crashed: int = 0                 # scenarios ipcsim failed to play (an exception)
    compared: bool = True

    def add(self, play_: Play) -> None:
        self.programs += 1
        for rec in play_.records:
            self.steps += 1
            self._outcome(rec.outcome)
            self.blocked += rec.outcome[0] == BLOCKED
            for _, outcome in rec.wakes:
                self.wakeups += 1
                self._outcome(outcome)

    def _outcome(self, outcome: Outcome) -> None:
        if outcome[0] == ERR and str(outcome[1]).startswith("E"):
            self.errnos[str(outcome[1])] += 1

    def report(self) -> str:
        errnos = " ".join(f"{name}:{n}" for name, n in sorted(self.errnos.items()))
        lines = [f"programs {self.programs} ({len(self.texts)} distinct)", f"steps {self.steps}",
                 f"blocked calls {self.blocked}", f"wake-ups {self.wakeups}",
                 f"errnos seen {len(self.errnos)}: {errnos}"]
        if self.compared:
            lines += [f"differences {self.differences} (of which ipcsim unsupported "
                      f"{self.unsupported})", f"refused as unsafe {self.refused}",
                      f"real backend failures {self.failed}", f"ipcsim crashes {self.crashed}"]
        else:
            lines.append("differences - (real kernel not available: ipcsim side only)")
        return "\n".join(lines)


def _unsupported(difference: Difference) -> bool:
    rec = difference.left.records[difference.index] \
        if difference.index < len(difference.left.records) else None
    return rec is not None and rec.outcome[0] == ERR and \
        str(rec.outcome[1]).startswith("UnsupportedError")


def run(n: int, seed: int, class_weights: dict[str, int], max_steps: int = 14,
        save: Path | None = None, out: TextIO = sys.stdout, show: int = 3,
        progress: int = 0) -> Figures:
    """Play ``n`` random scenarios (see the module docstring); differences go to ``save``
    (a directory: one file per differing scenario, its text and the difference) and the
    first ``show`` of them to ``out``; every ``progress`` programs, the figures so far."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    from . import real
    from .fuzz import scenarios

    ok, _ = real.available()
    figures = Figures(compared=ok)
    shown = [0]
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)

    def play_one(scenario: Scenario) -> None:
        figures.texts.add(hash(scenario.text))
        if not ok:
            figures.add(run_on(scenario, SimBackend))
            return
        sim: Callable[[int], SimBackend] = lambda caps: SimBackend(caps)  # noqa: E731
        try:
            _, real_play, difference = compare(scenario, real.RealBackend, sim)
        except real.UnsafeCallError as e:
            figures.programs += 1
            figures.refused += 1
            _keep(save, f"refused-{figures.refused}", scenario, str(e))
            return
        except (real.RealBackendError, RuntimeError) as e:
            figures.programs += 1
            figures.failed += 1
            _keep(save, f"failed-{figures.failed}", scenario, f"{type(e).__name__}: {e}")
            return
        except Exception as e:          # noqa: BLE001 - ipcsim crashed: a finding, not the end
            figures.programs += 1
            figures.crashed += 1
            _keep(save, f"crash-{figures.crashed}", scenario, traceback.format_exc())
            print(f"=== ipcsim crashed ({type(e).__name__}: {e}) on\n{scenario.text}\n",
                  file=out)
            return
        figures.add(real_play)
        if difference is not None:
            figures.differences += 1
            figures.unsupported += _unsupported(difference)
            _keep(save, f"diff-{figures.differences}", scenario, str(difference))
            if shown[0] < show:
                shown[0] += 1
                print(f"=== difference {figures.differences}\n{scenario.text}\n{difference}\n",
                      file=out)

    @with_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(scenarios(max_steps, class_weights))
    def campaign(scenario: Scenario) -> None:
        play_one(scenario)
        if progress and figures.programs % progress == 0:
            print(f"... {figures.programs} programs, {figures.differences} differences",
                  file=out, flush=True)

    campaign()
    return figures


def _keep(save: Path | None, name: str, scenario: Scenario, text: str) -> None:
    if save is not None:
        (save / f"{name}.txt").write_text(f"{scenario.text}\n\n{text}\n")


__all__ = ["Figures", "run"]
