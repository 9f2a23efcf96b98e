"""Exploring interleavings: schedules as data (record, replay, shrink), the dfs search, the
report, and the command's options."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from ipcsim.cli import main
from ipcsim.explore import explore, load_scenario, parse_budget, run_seed
from ipcsim.explore.dfs import Exploration
from ipcsim.explore.schedule import (PCT, Recorder, Replay, ScheduleError, Unsteered, decode,
                                     encode)

ROOT = Path(__file__).resolve().parent.parent
PHILOSOPHERS = str(ROOT / "examples" / "dining_philosophers.py")


# --- the text of a schedule -----------------------------------------------------------------
@given(st.lists(st.sampled_from(["2", "3", "10", "2t1", "h"]), max_size=40))
def test_a_schedule_text_reads_back_as_its_picks(choices):
    text = encode(choices)
    assert decode(text) == choices
    assert " " not in text and text


def test_schedule_text_runs_equal_picks_together():
    assert encode(["2", "2", "2", "3", "2"]) == "2x3.3.2"
    assert encode([]) == "-"
    assert decode("-") == [] and decode(" 4x2.5 ") == ["4", "4", "5"]


@pytest.mark.parametrize("bad", ["2..3", "x3", "2x0", "abc", "2,3", "2x99999999999", "3t"])
def test_what_is_not_a_schedule_is_refused(bad):
    with pytest.raises(ScheduleError):
        decode(bad)


# --- record and replay --------------------------------------------------------------------
def _calls(k):
    return [(e.pid, e.name, e.args, e.result, e.errno) for e in k.trace]


@pytest.mark.parametrize("seed", [0, 5, 33, 55, 97])
def test_a_seeds_recorded_schedule_replays_the_same_run(seed):
    fn = load_scenario(PHILOSOPHERS)
    seen, k1 = run_seed(fn, seed, trace=True, control=Recorder(observe=True))
    again, k2 = run_seed(fn, seed, trace=True, control=Recorder(Replay(decode(seen.schedule))))
    plain, k3 = run_seed(fn, seed, trace=True)
    assert _calls(k1) == _calls(k2) == _calls(k3)
    assert (again.kind, again.outcome, again.detail) == (seen.kind, seen.outcome, seen.detail)
    assert again.schedule == seen.schedule and again.preemptions == seen.preemptions


def test_an_empty_schedule_runs_without_preempting():
    fn = load_scenario(PHILOSOPHERS, "scenario_fixed")
    rec = Recorder(Unsteered())
    result, _k = run_seed(fn, 0, control=rec)
    assert result.kind == "ok" and result.preemptions == 0 and result.schedule == "-"
    assert all(not s.preempt for s in rec.steps)


def test_a_schedule_that_does_not_fit_says_where(tmp_path, capsys):
    fn = load_scenario(PHILOSOPHERS)
    rec = Recorder(Replay(["9"]))
    result, _k = run_seed(fn, 0, control=rec)
    assert result.kind == "pruned"
    assert "pick 1 of the schedule is 9, but the runnable tasks there are 2, 3, 4, 5, 6" in \
        rec.mismatch
    assert main(["run", PHILOSOPHERS, "--schedule", "9", "--quiet"]) == 2
    out = capsys.readouterr().out
    assert "the schedule does not fit: pick 1 of the schedule is 9" in out
    assert "Traceback" not in out


def test_a_schedule_with_picks_left_over_does_not_fit(capsys):
    assert main(["run", PHILOSOPHERS, "--entry", "two_fixed", "--schedule", "2x400",
                 "--quiet"]) == 2
    assert "the schedule does not fit: the run ended with" in capsys.readouterr().out
    assert main(["run", PHILOSOPHERS, "--entry", "two_fixed", "--schedule", "-",
                 "--quiet"]) == 0
    capsys.readouterr()


def test_run_replays_a_schedule_and_says_so(capsys):
    assert main(["run", PHILOSOPHERS, "--entry", "two", "--schedule", "-"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{PHILOSOPHERS} (two) with schedule -:")
    assert out.rstrip().splitlines()[-1].startswith("deadlock: pid 2 waits in semop")
    with pytest.raises(SystemExit) as exit:
        main(["run", PHILOSOPHERS, "--schedule", "2x..3"])
    assert exit.value.code == 2
    assert "not a schedule" in capsys.readouterr().err


# --- dfs ----------------------------------------------------------------------------------
def test_dfs_proves_the_fixed_table_of_two_never_deadlocks():
    report = explore(PHILOSOPHERS, entry="two_fixed", strategy="dfs")
    assert report.complete and not report.interrupted
    assert report.seeds("deadlock") == report.seeds("failed") == []
    assert list(report.outcomes()) == ["[2, 2]"]
    assert report.interleavings == len(report.results) > 1
    text = report.text()
    assert text.startswith(f"explored all {report.interleavings} distinct interleavings "
                           f"({report.schedules} schedules")
    assert "no deadlock, no failure, 1 outcome" in text.splitlines()[0]


def test_dfs_finds_the_deadlock_of_two_and_shrinks_it_to_two_preemptions_or_fewer():
    report = explore(PHILOSOPHERS, entry="two", strategy="dfs")
    assert report.complete and report.seeds("deadlock")
    small = report.shrunk["deadlock"]
    assert small.preemptions <= 2
    assert small.preemptions <= min(r.preemptions for r in report.results
                                    if r.kind == "deadlock")
    # the shrunk schedule replays the deadlock, and the report says how
    fn = load_scenario(PHILOSOPHERS, "two")
    again, _k = run_seed(fn, 0, control=Recorder(Replay(decode(small.schedule))))
    assert again.kind == "deadlock"
    text = report.text()
    assert f"replay it: ipcsim run {PHILOSOPHERS} --entry two --schedule {small.schedule}" \
        in text
    assert "blocked forever: pid 2 in semop" in text          # the timeline


@pytest.mark.parametrize("entry", ["two", "two_fixed"])
def test_reduction_keeps_every_outcome_and_interleaving(entry):
    fn = load_scenario(PHILOSOPHERS, entry)
    found = {}
    for reduction in (True, False):
        search = Exploration(fn, reduction=reduction)
        kinds = {(r.result.kind, r.result.outcome) for r in search
                 if r.result.kind != "pruned"}
        assert search.complete
        found[reduction] = (kinds, search.interleavings, search.runs)
    assert found[True][:2] == found[False][:2]
    assert found[True][2] < found[False][2]            # and it saves runs


def test_a_preemption_bound_keeps_to_schedules_within_it():
    bounded = explore(PHILOSOPHERS, entry="two", strategy="dfs", preemption_bound=1)
    assert bounded.complete and bounded.bound == 1 and not bounded.reduction
    assert max(r.preemptions for r in bounded.results) == 1
    none = explore(PHILOSOPHERS, entry="two", strategy="dfs", preemption_bound=0)
    assert {r.preemptions for r in none.results} == {0}
    assert len(none.results) < len(bounded.results)
    assert "at most 1 preemption of" in bounded.text()
    # a bounded search proves nothing beyond its bound, and says so first
    assert none.text().startswith(f"explored all {none.interleavings} distinct "
                                  f"interleavings ({none.schedules} schedules) with at most "
                                  f"0 preemptions: ")


def test_a_budget_stops_dfs_and_the_report_says_it_did_not_explore_all():
    report = explore(PHILOSOPHERS, strategy="dfs", budget=5, shrink=False)
    assert report.complete is False and report.schedules == 5
    assert "before the budget ran out, not all" in report.text().splitlines()[0]
    assert explore(PHILOSOPHERS, strategy="dfs", budget="0.2s", shrink=False).complete is False


def test_budgets_read_as_schedules_or_seconds():
    assert parse_budget(10) == (10, None) and parse_budget("10") == (10, None)
    assert parse_budget("2.5s") == (None, 2.5) and parse_budget(0.5) == (None, 0.5)
    for bad in (0, "0", "-1s", "ten", True, float("nan")):
        with pytest.raises(ValueError):
            parse_budget(bad)


# --- nondeterminism -----------------------------------------------------------------------
COUNTER = """\
import ipcsim

RUNS = [0]

def writer(p, q):
    p.msgsnd(q, 1, b"run %d" % RUNS[0])

def scenario(k):
    RUNS[0] += 1
    q = k.init.msgget(ipcsim.IPC_PRIVATE, ipcsim.IPC_CREAT | 0o600)
    k.init.fork(target=writer, args=(q,))
    k.init.fork(target=writer, args=(q,))
    return lambda: k.init.msgrcv(q, 10, 0, ipcsim.IPC_NOWAIT)[1]
"""


@pytest.mark.parametrize("strategy", ["random", "pct", "dfs"])
def test_state_kept_between_runs_is_flagged_as_nondeterminism(tmp_path, strategy):
    path = tmp_path / "counter.py"
    path.write_text(COUNTER)
    report = explore(str(path), range(4), strategy=strategy)
    assert report.nondeterminism
    text = report.text()
    assert "NONDETERMINISM" in text
    assert "something besides the schedule decides" in text or \
        "ran differently on the same picks" in text
    assert report.findings() > 0


def test_a_deterministic_scenario_has_no_nondeterminism():
    for strategy in ("random", "pct", "dfs"):
        report = explore(PHILOSOPHERS, range(20), entry="two", strategy=strategy)
        assert report.nondeterminism == []


# --- pct ----------------------------------------------------------------------------------
def test_pct_runs_record_their_schedules_and_the_report_names_the_depth():
    report = explore(PHILOSOPHERS, range(30), strategy="pct", depth=2)
    assert all(r.schedule for r in report.results)
    assert "(pct, depth 2)" in report.text().splitlines()[0]
    fn = load_scenario(PHILOSOPHERS)
    first = report.results[0]
    rec = Recorder(PCT(first.seed, 2, _unsteered_steps(fn)))
    again, _k = run_seed(fn, first.seed, control=rec)
    assert again == first


def _unsteered_steps(fn):
    rec = Recorder(Unsteered())
    run_seed(fn, 0, control=rec)
    return len(rec.steps)


# --- the report as data -------------------------------------------------------------------
def test_the_runs_are_records_for_a_data_frame():
    report = explore(PHILOSOPHERS, range(10), strategy="pct")
    rows = report.records()
    assert len(rows) == 10
    assert set(rows[0]) == {"seed", "kind", "outcome", "detail", "schedule", "preemptions",
                            "steps"}
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="Report.records"):
            report.to_frame()
    else:
        frame = report.to_frame()
        assert list(frame["seed"]) == list(range(10))


# --- the command ----------------------------------------------------------------------------
def test_the_command_explores_with_each_strategy(capsys):
    assert main(["explore", PHILOSOPHERS, "--entry", "two_fixed", "--strategy", "dfs",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("explored all ") and "no deadlock, no failure" in out
    assert main(["explore", PHILOSOPHERS, "--entry", "two", "--strategy", "dfs",
                 "--no-progress"]) == 1
    assert "shrunk to" in capsys.readouterr().out
    assert main(["explore", PHILOSOPHERS, "--strategy", "pct", "--depth", "2", "--seeds",
                 "20", "--no-progress"]) in (0, 1)
    assert "(pct, depth 2)" in capsys.readouterr().out
    assert main(["explore", PHILOSOPHERS, "--strategy", "dfs", "--budget", "3",
                 "--no-progress", "--no-shrink"]) == 0
    assert "before the budget ran out" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--strategy", "dfs", "--seeds", "5"], "--seeds is for random and pct"),
    (["--depth", "2"], "--depth is for --strategy pct"),
    (["--preemption-bound", "1"], "are for --strategy dfs"),
    (["--no-reduction"], "are for --strategy dfs"),
    (["--strategy", "dfs", "--cluster", "tcp://127.0.0.1:1"], "dfs runs in one process"),
])
def test_options_that_do_not_go_together_are_refused(capsys, argv, message):
    assert main(["explore", PHILOSOPHERS, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--budget", "0"], ["--budget", "ten"], ["--depth", "0"],
                                  ["--preemption-bound", "-1"], ["--strategy", "bfs"],
                                  ["--seeds", "3", "--budget", "4"]])
def test_bad_values_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as exit:
        main(["explore", PHILOSOPHERS, *argv])
    assert exit.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_seconds_budget_bounds_random_seeds(capsys):
    assert main(["explore", PHILOSOPHERS, "--entry", "scenario_fixed", "--budget", "0.3s",
                 "--no-progress"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("explored ") and "seeds of" in first


HOST_WAITS = """\
from ipcsim import IPC_CREAT, IPC_PRIVATE, IPC_NOWAIT

def sender(p, q):
    p.msgsnd(q, 1, b"x")
    p.msgsnd(q, 1, b"y")

def scenario(k):
    q = k.init.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    k.init.fork(target=sender, args=(q,))
    first = k.init.msgrcv(q, 16, 0, 0)          # the scenario's own call waits
    try:
        second = k.init.msgrcv(q, 16, 0, IPC_NOWAIT)
    except OSError as e:
        second = e.strerror
    return lambda: (first, second)
"""


def test_the_scenarios_own_calls_after_a_wait_are_ordered_with_every_step(tmp_path):
    path = _write(tmp_path, "host.py", HOST_WAITS)
    reduced = explore(path, strategy="dfs")
    full = explore(path, strategy="dfs", reduction=False)
    assert set(reduced.outcomes()) == set(full.outcomes()) == {
        "((1, b'x'), (1, b'y'))", "((1, b'x'), 'No message of desired type')"}
    assert reduced.interleavings == full.interleavings


SHARED = """\
from ipcsim import IPC_CREAT, IPC_PRIVATE

LOG = []

def prog(p, sem, name):
    p.semop(sem, [(0, 1, 0)])
    LOG.append(name)           # shared behind the kernel's back

def scenario(k):
    LOG.clear()
    sem = k.init.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)
    sem2 = k.init.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)
    k.init.fork(target=prog, args=(sem, "a"))
    k.init.fork(target=prog, args=(sem2, "b"))
    return lambda: list(LOG)
"""


def test_state_shared_outside_the_kernel_is_flagged_by_dfs(tmp_path):
    path = _write(tmp_path, "shared.py", SHARED)
    report = explore(path, strategy="dfs", reduction=False)
    assert report.interleavings == 1 and len(report.outcomes()) == 2
    assert report.nondeterminism and "share something the kernel does not see" in \
        report.nondeterminism[0]
    assert "NONDETERMINISM" in report.text() and report.findings()


def test_the_replay_command_repeats_the_limits(tmp_path, capsys):
    path = _write(tmp_path, "spin.py", """\
        def spin(p):
            while True:
                p.getpid()

        def scenario(k):
            k.init.fork(target=spin)
        """)
    report = explore(path, strategy="dfs", max_steps=10, budget=3)
    small = report.shrunk["unfinished"]
    command = small.replay(report.path, report.entry, report.options)
    assert command.endswith(" --max-steps 10")
    assert f"replay it: {command}" in report.text()
    assert main(command.split()[1:] + ["--quiet"]) == 1
    assert "did not finish by 10 steps" in capsys.readouterr().out


def test_dfs_refuses_jobs_and_clusters(capsys):
    with pytest.raises(ValueError, match="dfs runs in one process"):
        explore(PHILOSOPHERS, strategy="dfs", jobs=2)
    assert main(["explore", PHILOSOPHERS, "--strategy", "dfs", "--jobs", "2"]) == 2
    assert "dfs runs in one process" in capsys.readouterr().err


def test_api_refuses_bad_strategy_values():
    with pytest.raises(ValueError, match="strategy must be one of"):
        explore(PHILOSOPHERS, strategy="bfs")
    with pytest.raises(ValueError, match="depth"):
        explore(PHILOSOPHERS, strategy="pct", depth=0)
    with pytest.raises(ValueError, match="preemption_bound"):
        explore(PHILOSOPHERS, strategy="dfs", preemption_bound=-1)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


CTRL_C_AT_RUN_6 = """\
import os, signal
import ipcsim

RUNS = [0]

def prog(p, sem):
    for _ in range(3):
        p.semop(sem, [(0, 1, 0)])

def scenario(k):
    RUNS[0] += 1
    if RUNS[0] == 6:
        os.kill(os.getpid(), signal.SIGINT)      # as if Ctrl-C came during the sixth run
    sem = k.init.semget(ipcsim.IPC_PRIVATE, 1, ipcsim.IPC_CREAT | 0o600)
    k.init.fork(target=prog, args=(sem,))
    k.init.fork(target=prog, args=(sem,))
"""


def test_ctrl_c_stops_dfs_with_the_runs_so_far(tmp_path):
    path = _write(tmp_path, "ctrl_c.py", CTRL_C_AT_RUN_6)
    report = explore(path, strategy="dfs")
    assert report.interrupted and report.complete is False
    assert len(report.results) + report.pruned == 5
    assert report.text().startswith("interrupted (Ctrl-C): explored ")
    assert ", not all: no deadlock, no failure, 1 outcome so far" in report.text()
