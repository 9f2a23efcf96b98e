"""Every example runs, and tells the story it claims to."""
import os
import runpy
import subprocess
import sys
from pathlib import Path

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
