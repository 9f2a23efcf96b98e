"""The benchmark scripts run (figures are read by people, never asserted on time)."""
import importlib.util
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
