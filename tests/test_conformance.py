"""The conformance harness: every catalogue scenario, and random ones, on ipcsim and Linux.

Where the real kernel is available (root on Linux with unshare), each scenario is played on
both and must agree step by step. Elsewhere the ipcsim side still plays every scenario.
Set IPCSIM_FUZZ_EXAMPLES=N for a long random run.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings

from ipcsim.conformance import harness
from ipcsim.conformance.backend import OK
from ipcsim.conformance.catalogue import all_scenarios
from ipcsim.conformance.fuzz import scenarios
from ipcsim.conformance.scenario import ScenarioError, parse
from ipcsim.conformance.sim import SimBackend

try:
    from ipcsim.conformance import real
    REAL, WHY = real.available()
except ImportError as e:          # pragma: no cover
    REAL, WHY = False, str(e)

CATALOGUE = all_scenarios()
FUZZ_EXAMPLES = int(os.environ.get("IPCSIM_FUZZ_EXAMPLES", "20"))


def check(scenario):
    if not REAL:
        harness.run_on(scenario, SimBackend)
        pytest.skip(f"real kernel not available ({WHY}); the ipcsim side ran")
    sim_play, real_play, difference = harness.compare(
        scenario, real.RealBackend, lambda caps: SimBackend(caps))
    assert difference is None, f"{scenario.name}\n{difference}"


def test_the_catalogue_covers_the_current_capabilities():
    assert len(CATALOGUE) >= 60
    assert {s.area for s in CATALOGUE} >= {"namespaces", "processes", "sysctl"}


@pytest.mark.parametrize("scenario", CATALOGUE, ids=[s.name for s in CATALOGUE])
def test_catalogue(scenario):
    check(scenario)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_random_scenarios_agree(scenario):
    if not REAL:
        harness.run_on(scenario, SimBackend)
        return
    _, _, difference = harness.compare(scenario, real.RealBackend,
                                       lambda caps: SimBackend(caps))
    assert difference is None, f"random scenario:\n{scenario.text}\n{difference}"


class _SkewedSim(SimBackend):
    """An ipcsim that answers one call wrongly, to show what a difference looks like."""

    name = "skewed"

    def call(self, label, method, args, new_label=None):
        outcome = super().call(label, method, args, new_label)
        if method == "read_file" and args[0] == "/proc/sys/kernel/msgmax":
            return (OK, "8193\n")
        return outcome


def test_a_difference_shows_the_step_both_results_and_both_proc_texts():
    sc = parse('b = a.clone(CLONE_NEWIPC)\nb.read_file("/proc/sys/kernel/msgmax")', "skew")
    left = harness.run_on(sc, SimBackend)
    right = harness.run_on(sc, _SkewedSim)
    difference = harness.diff(left, right)
    text = str(difference)
    assert difference.index == 1
    assert "step 2 differs" in text
    assert "'8192\\n'" in text and "'8193\\n'" in text
    assert "ipcsim /proc/sysvipc/msg" in text and "skewed /proc/sysvipc/shm" in text
    assert "b = a.clone(CLONE_NEWIPC)" in text


def test_normalization_maps_pids_namespaces_and_descriptors():
    sc = parse("""
b = a.clone(CLONE_NEWIPC)
a.readlink(f"/proc/{pid(b)}/ns/ipc")
fd = a.open("/proc/self/ns/ipc")
b.exit(4)
a.wait(-1, 0)
""", "norm")
    play = harness.run_on(sc, SimBackend)
    values = [r.outcome[1] for r in play.records]
    assert values == ["<b>", "ipc:[ns1]", "fd1", None, ("<b>", 4 << 8)]


def test_blocked_calls_and_their_wake_ups_are_recorded():
    sc = parse("""
b = a.fork()
b.signal(SIGUSR1, "handler")
b.pause()
a.kill(pid(b), SIGUSR1)
b.getpid()
""", "wake")
    play = harness.run_on(sc, SimBackend)
    assert play.records[2].outcome == ("blocked",)
    assert play.records[3].wakes == (("b", ("err", "EINTR")),)
    assert play.records[4].outcome == ("ok", "<b>")
    assert play.handled["b"] == (10,)


@pytest.mark.parametrize("text,message", [
    ("a.fork()", "name the new process"),
    ("b.getpid()", "no process 'b'"),
    ("a.frobnicate()", "unknown call"),
    ("x = 1", "a step is a call"),
    ("a.getpid(", "not a step"),
    ("advance()", "advance(seconds)"),
])
def test_scenario_errors_name_the_line(text, message):
    with pytest.raises(ScenarioError) as e:
        parse(text, "bad")
    assert message in str(e.value) and "bad:1" in str(e.value)


def test_comments_and_hashes_in_strings():
    sc = parse('a.write_file("/proc/sys/kernel/msgmax", "5 # not a comment")  # comment')
    assert len(sc.steps) == 1 and "not a comment" in sc.steps[0].text


def test_input_ipcsim_refuses_is_an_outcome_not_a_crash():
    """A value C would convert silently (-1 as an unsigned short) but ipcsim refuses ends
    that step with the Python error as its result; the run goes on."""
    sc = parse("s = a.semget(IPC_PRIVATE, 2, 0o600)\na.semctl(s, 0, SETALL, [1, -1])\n"
               "a.semctl(s, 0, GETVAL)", "refused")
    play = harness.run_on(sc, SimBackend)
    outcomes = [r.outcome for r in play.records]
    assert outcomes[1][1].startswith("OverflowError")
    assert outcomes[2] == (OK, 0)                  # nothing changed, and the run went on


@pytest.mark.parametrize("scenario", CATALOGUE, ids=[s.name for s in CATALOGUE])
def test_catalogue_plays_the_same_with_both_executors(scenario, monkeypatch):
    """The catalogue is compared with Linux under the default executor (greenlet); the
    thread executor must play every scenario step for step the same."""
    from ipcsim.sim import executor
    plays = {}
    for name in ("greenlet", "threads"):
        monkeypatch.setattr(executor, "DEFAULT", name)
        plays[name] = harness.run_on(scenario, SimBackend)
    difference = harness.diff(plays["greenlet"], plays["threads"])
    assert difference is None, f"{scenario.name}\n{difference}"
