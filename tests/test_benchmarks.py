"""The benchmark scripts run (figures are read by people, never asserted on time)."""
import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_quick(name: str) -> dict:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--quick", "--no-real"])


def test_bench_kernel_quick_smoke(capsys):
    figures = run_quick("bench_kernel")
    out = capsys.readouterr().out
    assert "IPC namespaces created" in out and "per idle namespace" in out
    assert figures


def test_bench_mqueue_quick_smoke(capsys):
    figures = run_quick("bench_mqueue")
    out = capsys.readouterr().out
    assert "send+receive" in out and "growth ipcsim send+receive" in out
    assert figures["real"] is None and figures["ipcsim"]["pair, full"] > 0


def test_bench_compat_quick_smoke(capsys):
    figures = run_quick("bench_compat")
    out = capsys.readouterr().out
    assert "sysv msg send+receive" in out and "posix mq send+receive" in out
    assert figures["real"] is None
    assert all(v > 0 for v in figures["host"].values())
    assert set(figures["simulated"]) == set(figures["host"])


def test_bench_sysv_quick_smoke(capsys):
    figures = run_quick("bench_sysv")
    out = capsys.readouterr().out
    assert "msg pair" in out and "growth ipcsim msgrcv behind" in out
    assert figures["real"] is None
    assert {"msg pair", "sem pair", "shm 64B", "msgget+rmid"} <= set(figures["ipcsim"])


def test_bench_sched_quick_smoke(capsys):
    figures = run_quick("bench_sched")
    out = capsys.readouterr().out
    assert "ping-pong" in out and "sem 32" in out and "parked programs" in out
    assert "targets:" in out
    assert figures["real"] is None
    for executor in ("greenlet", "threads"):
        got = figures[executor]
        for key in ("ping-pong", "sem 2", "sem 8", "sem 32", "full mq", "getresuid, random",
                    "explore seeds/s"):
            assert got[key] > 0, (executor, key)
        if sys.platform.startswith("linux"):     # fork and /proc/self/statm
            assert got["parked programs"] > 0 and got["us to start a program"] > 0


def test_bench_paths_quick_smoke(capsys):
    figures = run_quick("bench_paths")
    out = capsys.readouterr().out
    assert "per component of the walk" in out and "4095-byte path" in out
    assert {"/./././...", "a/../a/../...", "d/d/d/...", "mqueue mount"} <= set(figures["walk"])


def test_bench_semwaiters_quick_smoke(capsys):
    figures = run_quick("bench_semwaiters")
    out = capsys.readouterr().out
    assert "complex" in out and "shifting" in out and "growth" in out
    assert figures["real"] is None
    assert all(v > 0 for v in figures["ipcsim"].values())


def test_bench_remote_quick_smoke(capsys):
    import os
    import pytest
    if not hasattr(os, "fork"):
        pytest.skip("the kernel server's benchmark forks")
    figures = run_quick("bench_remote")
    out = capsys.readouterr().out
    assert "msg pair" in out and "posix sem pair" in out and "msg stream" in out
    assert list(figures) == ["served"]
    assert all(v > 0 for v in figures["served"].values())


def test_bench_explore_quick_smoke(capsys):
    figures = run_quick("bench_explore")
    out = capsys.readouterr().out
    assert "seeds/s" in out and "dfs: every interleaving" in out
    for strategy in ("random", "pct"):
        rates = figures["seeds/s"][strategy]
        assert rates["1 job"] > 0 and rates["2 jobs"] > 0
        assert ("cluster" in rates) == (figures["cluster"] is None)
        assert figures["same"][strategy]
    [table] = figures["dfs"].values()
    assert table["reduction"]["complete"] and table["none"]["complete"]
    assert table["reduction"]["interleavings"] == table["none"]["interleavings"]
    assert table["reduction"]["schedules"] < table["none"]["schedules"]


def test_bench_ns_quick_smoke(capsys):
    figures = run_quick("bench_ns")
    out = capsys.readouterr().out
    assert "unshare(NEWIPC) loop" in out and "fork+unshare(NEWUSER|NEWIPC), uid 1000" in out
    assert "frees waited for" in out and "workqueue" in out
    sim = figures["ipcsim"]
    assert {"ipc loop", "ipc fork", "user fork", "user fork, deep", "user fork, programs",
            "ipc loop, objects", "user fork, live"} <= set(sim)
    assert all(v > 0 for v in sim.values())
    assert not any(figures["real c"].values()) and not any(figures["real python"].values())
    assert figures["skipped"]["ipc loop"] == ["--no-real given"]
