"""The benchmark script runs (figures are read by people, never asserted on time)."""
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_kernel.py"


def test_bench_kernel_quick_smoke(capsys):
    spec = importlib.util.spec_from_file_location("bench_kernel", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--quick", "--no-real"])
    out = capsys.readouterr().out
    assert "IPC namespaces created" in out and "per idle namespace" in out
    assert figures


def test_bench_mqueue_quick_smoke(capsys):
    path = SCRIPT.with_name("bench_mqueue.py")
    spec = importlib.util.spec_from_file_location("bench_mqueue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--quick", "--no-real"])
    out = capsys.readouterr().out
    assert "send+receive" in out and "growth ipcsim send+receive" in out
    assert figures["real"] is None and figures["ipcsim"]["pair, full"] > 0
