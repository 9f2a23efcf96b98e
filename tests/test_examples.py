"""Every example runs, and tells the story it claims to."""
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_namespaces_tour_runs_and_leaves_only_the_initial_namespace(capsys):
    tour = runpy.run_path(str(EXAMPLES / "namespaces_tour.py"))
    k = tour["main"](seed=3)
    out = capsys.readouterr().out
    assert [ns.is_initial for ns in k.ipc_namespaces] == [True]
    assert "web   sees kernel.msgmni = 32768" in out
    assert "batch sees kernel.msgmni = 32000" in out
    assert "alive? True (an open fd and a bind mount hold it)" in out
    assert "after umount: alive? False" in out
    assert "Operation not permitted" in out
    assert k.processes() == [k.init]


def test_namespaces_tour_as_a_script():
    out = subprocess.run([sys.executable, str(EXAMPLES / "namespaces_tour.py"), "--seed", "1"],
                         capture_output=True, text=True, check=True, cwd=EXAMPLES.parent,
                         env={**os.environ, "PYTHONPATH": str(EXAMPLES.parent)}).stdout
    assert out.startswith("A new machine: init is pid 1")


def _example(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / name))


def test_producer_consumer_gets_every_job_in_order_and_waits(capsys):
    jobs = _example("producer_consumer.py")["main"](seed=4)
    assert jobs == [f"job {n:02d}" for n in range(8)]
    assert "calls had to wait" in capsys.readouterr().out


def test_producer_consumer_outcome_is_the_same_under_every_seed():
    from ipcsim.explore import explore
    report = explore(str(EXAMPLES / "producer_consumer.py"), range(40))
    assert not report.seeds("deadlock") and not report.seeds("failed")
    assert len(report.outcomes()) == 1


def test_dining_philosophers_deadlock_is_found_within_1000_seeds_and_the_fix_holds():
    from ipcsim.explore import explore
    path = str(EXAMPLES / "dining_philosophers.py")
    example = _example("dining_philosophers.py")
    naive = explore(path, range(1000), jobs=2)
    deadlocks = naive.seeds("deadlock")
    assert example["DEADLOCK_SEED"] in deadlocks
    assert naive.seeds_per_second > 0
    fixed = explore(path, range(200), entry="scenario_fixed")
    assert not fixed.seeds("deadlock") and not fixed.seeds("failed")
    assert list(fixed.outcomes()) == [repr([2] * 5)]


def test_pct_ordering_bug_is_found_by_pct_in_most_seeds_and_not_by_random(capsys):
    found = _example("pct_ordering.py")["compare"](seeds=100)
    assert found == {"random": 0, "pct": 56}        # (pct: two runs in three, on average)
    out = capsys.readouterr().out
    assert "TimeoutError: no configuration after 5 s (loaded = 1)" in out
    assert "pct (depth 1)    found the bug in   56 of 100 runs (56%)" in out
    from ipcsim.explore import explore
    fixed = explore(str(EXAMPLES / "pct_ordering.py"), entry="scenario_fixed", strategy="dfs")
    assert fixed.complete and not fixed.findings()


def test_shm_ring_buffer_reader_gets_every_item_in_order(capsys):
    items = _example("shm_ring_buffer.py")["main"](seed=2)
    assert items == [f"item {n:02d}" for n in range(10)]
    assert "Semaphore Arrays" in capsys.readouterr().out


def test_posix_queues_priorities_and_notification(capsys):
    mail = _example("posix_queues.py")["main"](seed=1)
    assert mail[0].startswith("notified by pid ")
    assert [prio for prio, _ in mail[1:]] == [9, 5, 5, 0, 0]
    assert mail[2:4] == [(5, "invoice"), (5, "second invoice")]


def test_containers_isolation_handles_and_last_member(capsys):
    k = _example("containers.py")["main"](seed=0)
    out = capsys.readouterr().out
    assert "queue 0 in red holds 1 message, queue 0 in blue 0" in out
    assert "│  └─ pid 2 red (uid 0): idle" in out and "   └─ pid 3 blue (uid 0): idle" in out
    assert "alive? True (init holds a handle)" in out
    assert "read: 'only red can read this'" in out
    assert "handle closed; red's namespace alive? False" in out
    assert [ns.is_initial for ns in k.ipc_namespaces] == [True]


def _run_cell(source: str, namespace: dict):
    """Run a code cell as Jupyter does: its statements, then the value of a last bare
    expression, which is what the notebook displays (None when there is none)."""
    import ast
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "tour.ipynb", "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "tour.ipynb", "eval"), namespace)


def test_notebook_code_cells_run_in_order(monkeypatch, capsys):
    import json
    import xml.etree.ElementTree as ET
    monkeypatch.chdir(EXAMPLES)
    notebook = json.loads((EXAMPLES / "tour.ipynb").read_text())
    namespace = {"__name__": "__notebook__"}
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 6
    shown, printed, texts = [], [], []
    for cell in cells:
        shown.append(_run_cell("".join(cell["source"]), namespace))
        printed.append(capsys.readouterr().out)
        texts.append(str(shown[-1]))         # as displayed then (a later cell closes run)
    # what each cell displays or prints is what its markdown promises
    tree = shown[0]._repr_html_()
    ET.fromstring(tree)
    assert "ipc:[4026531840] (1 reference)</b>: 1 message queue" in tree
    box = shown[1]._repr_html_()
    assert "<td style='padding:0 8px'>0x00001234</td>" in box and "members: 2" in box
    assert "ipc namespace    ipc:[4026531840]" in printed[2]
    assert "command          box" in printed[2]
    assert "lsns -t ipc" in printed[3] and "root └─box" in printed[3]
    assert "4026531841 ipc       2   6 root -bash" in printed[3]
    assert printed[3].rstrip().endswith("key        semid      owner      perms      nsems")
    report = namespace["report"]
    assert shown[4] is report and report.seeds("deadlock")
    assert "deadlock" in report._repr_html_()
    svg = shown[5]._repr_svg_()
    assert shown[5] is namespace["timeline"] and svg.count('fill="#d62728"') >= 5
    ET.fromstring(svg)
    assert printed[5].startswith("deadlock: every program is blocked")
    assert shown[6] is namespace["run"]
    assert "└─ pid 6 philosopher (uid 0): blocked in semop on semaphore set 0" in texts[6]
    assert "0x00000000 0     root  600   5     0 0 0 0 0" in printed[6]
    assert shown[7].seeds("deadlock") == [] and len(shown[7].seeds("ok")) == 200
    assert "'values': '0 0 0 0 0'" in printed[8] and "'waiting_in': 'semop on" in printed[8]
    # a rootless container gets its own IPC limits
    assert "inside, as uid 0: 64 queues, then [Errno 28] No space left on device" in printed[9]
    assert "kernel.msgmni: 64 in the container, 32000 on the host" in printed[9]
    assert "kernel.msgmnb: 65536 in the container, 16384 on the host" in printed[9]
    assert "kernel.msgmni belongs to 65534:65534" in printed[10]
    assert "sysctl -w kernel.msgmni=64: [Errno 13] Permission denied" in printed[10]
    host_view, inside_view = printed[11].split("\nthe container:\n")
    assert "0x00003000 32770      root       600" in host_view
    assert host_view.count(" alice ") == 2 and " nobody " not in host_view
    assert "0x00003000 32770      nobody     600" in inside_view
    assert inside_view.count(" root ") == 2 and " alice " not in inside_view
    rk = shown[12]
    assert rk is namespace["rk"] and "owned by user:[4026531840] (level 1, owner uid 1000)" \
        in texts[12] and "└─ user namespaces below the initial one: 2" in texts[12]
    assert "'user_ns': 4026531840, 'level': 1, 'parent': 4026531837, 'owner_uid': 1000" \
        in printed[13] and "(4026531841, 4026531840, 64)" in printed[13]
    assert all(value is None for value in shown[2:4] + shown[8:12] + shown[13:])


def test_rootless_container_gets_its_own_ipc_limits(capsys):
    facts = _example("rootless_container.py")["main"](seed=0)
    out = capsys.readouterr().out
    # root of its own user namespace sets the limits of the IPC namespace it owns ...
    assert (facts["set msgmni"], facts["set msgmnb"]) == ("ok", "ok")
    assert facts["queues made"] == 64 and facts["past msgmni"] == "ENOSPC"
    assert facts["bytes queued"] == 65536 and facts["container limits"] == ("64", "65536")
    # ... and the host's stay, for its queues too
    assert facts["host limits"] == ("32000", "16384") and facts["host queue bytes"] == 16384
    assert "alice (uid 1000) may not change them: EACCES" in out
    # a user namespace that kept the host's IPC namespace owns none of its sysctls; nor does
    # the host's root own the container's
    assert facts["guest write"] == "EACCES" and facts["guest sees sysctl owner"] == (65534,) * 2
    assert facts["host root writes container sysctl"] == "EACCES"
    # ids across the boundary: 1000 from the host, 65534 (nobody) from inside
    assert facts["host sees"] == {0: 1000, 1: 1000, 32770: 0}
    assert facts["container sees"] == {0: 0, 1: 0, 32770: 65534}
    assert facts["guest sees"] == {0: 65534}
    assert "0x00003000 32770      nobody     600        0            0" in out
    assert "0x00002000 0          alice      644        65536        64" in out
    # the views name the owner of the container's IPC namespace
    assert facts["ipc owner"] == (4026531840, 1, 1000)
    assert ("├─ ipc:[4026531841] (2 references), owned by user:[4026531840] (level 1, owner "
            "uid 1000)") in out
    assert facts["left"] == (1, 1)


def test_rootless_container_prints_the_same_every_time():
    def run():
        out = subprocess.run([sys.executable, str(EXAMPLES / "rootless_container.py")],
                             capture_output=True, text=True, check=True, cwd=EXAMPLES.parent,
                             env={**os.environ, "PYTHONPATH": str(EXAMPLES.parent)}).stdout
        return out
    first = run()
    assert first == run() and first.startswith("On the host, kernel.msgmni = 32000")
