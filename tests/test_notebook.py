"""The notebook runner (python3 -m ipcsim.notebook) and the tour notebook's saved outputs."""
import json
from pathlib import Path

import pytest

from ipcsim import notebook
from ipcsim.views import DEADLOCKED_ROW

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TOUR = EXAMPLES / "tour.ipynb"


def _code_outputs(nb):
    return [c["outputs"] for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.usefixtures("both_executors")
def test_the_tour_notebook_is_saved_with_the_outputs_a_run_gives():
    saved = json.loads(TOUR.read_text(encoding="utf-8"))
    fresh = notebook.execute(saved, EXAMPLES)
    assert notebook.differences(saved, fresh) == []
    # and it is saved as the runner writes it (so a refill changes nothing else)
    assert notebook.dumps(saved) == TOUR.read_text(encoding="utf-8")


def test_the_tour_shows_the_deadlock_with_arrows_and_highlighted_rows():
    outputs = _code_outputs(json.loads(TOUR.read_text(encoding="utf-8")))
    assert all(outputs), "every code cell of the tour shows something"
    results = [o["data"] for cell in outputs for o in cell if o["output_type"] == "execute_result"]
    timeline = next(d for d in results if "<Timeline" in "".join(d["text/plain"]))
    svg = "".join(timeline["image/svg+xml"])
    assert svg.count("<polyline") == 5 and "waits for pid" in svg     # a cycle of five
    assert "dining philosophers, seed 33: a deadlock" in svg
    assert "".join(timeline["text/html"]).count("<svg") == 1
    kernel = next(d for d in results if "".join(d["text/plain"]).startswith("Kernel seed=33"))
    assert "".join(kernel["text/html"]).count(DEADLOCKED_ROW) == 5
    reports = [d for d in results if "".join(d["text/plain"]).startswith("<Report of")]
    assert len(reports) == 2 and "image/svg+xml" in reports[0]
    assert "replay the first deadlock: <code>ipcsim run dining_philosophers.py --seed 33" \
        in "".join(reports[0]["text/html"])
    assert not any(o["output_type"] == "error" for cell in outputs for o in cell)


def test_the_tour_has_a_rootless_container_with_its_own_limits():
    cells = json.loads(TOUR.read_text(encoding="utf-8"))["cells"]
    titles = [c["source"][0] for c in cells if c["cell_type"] == "markdown"]
    assert "## A rootless container gets its own IPC limits\n" in titles
    start = next(i for i, c in enumerate(cells)
                 if c["source"][:1] == ["## A rootless container gets its own IPC limits\n"])
    section = [c for c in cells[start:] if c["cell_type"] == "code"]
    text = "".join("".join(o.get("text", ())) + "".join(o.get("data", {}).get("text/plain", ()))
                   for c in section for o in c["outputs"])
    assert "kernel.msgmni: 64 in the container, 32000 on the host" in text
    assert "sysctl -w kernel.msgmni=64: [Errno 13] Permission denied" in text
    assert "0x00003000 32770      nobody     600" in text
    html = "".join("".join(o["data"].get("text/html", ())) for c in section
                   for o in c["outputs"] if o["output_type"] == "execute_result")
    assert "<b>user namespaces below the initial one</b>: 2" in html
    assert "owned by user:[4026531840] (level 1, owner uid 1000)</b>" in html
    assert not any(o["output_type"] == "error" for c in section for o in c["outputs"])


SHOWN = """\
class Shown:
    def _repr_pretty_(self, printer, cycle):
        printer.text("pretty\\ntext")

    def _repr_html_(self):
        return "<b>html</b>"

    def _repr_svg_(self):
        return "<svg/>"

Shown()"""


def _nb(*sources):
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]}] +
            [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": notebook.lines(s)} for s in sources],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 4}


def test_cells_record_streams_and_the_last_value_as_jupyter_does(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    nb = _nb("import sys\nprint('a')\nprint('b')\nsys.stderr.write('c\\n')\nprint('d')",
             "from helper import VALUE\nVALUE",
             "x = 1\nNone",
             "_ + 1",
             SHOWN)
    out = notebook.execute(nb, tmp_path)
    assert nb["cells"][1]["outputs"] == []                       # the input is left alone
    cells = [c for c in out["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in cells] == [1, 2, 3, 4, 5]
    assert cells[0]["outputs"] == [
        {"name": "stdout", "output_type": "stream", "text": ["a\n", "b\n"]},
        {"name": "stderr", "output_type": "stream", "text": ["c\n"]},
        {"name": "stdout", "output_type": "stream", "text": ["d\n"]}]
    assert cells[1]["outputs"] == [{"data": {"text/plain": ["42"]}, "execution_count": 2,
                                    "metadata": {}, "output_type": "execute_result"}]
    assert cells[2]["outputs"] == []                             # a None value shows nothing
    assert cells[3]["outputs"][0]["data"]["text/plain"] == ["43"]    # _ is the last value
    assert cells[4]["outputs"][0]["data"] == {"text/plain": ["pretty\n", "text"],
                                              "text/html": ["<b>html</b>"],
                                              "image/svg+xml": ["<svg/>"]}
    text = notebook.dumps(out)
    assert text.endswith("}\n") and text.startswith('{\n "cells": [\n  {\n')
    assert json.loads(text) == out


def test_an_error_stops_the_run_and_is_recorded(tmp_path):
    out = notebook.execute(_nb("print('before')\n1 / 0", "print('never')"), tmp_path)
    first, second = [c for c in out["cells"] if c["cell_type"] == "code"]
    assert first["outputs"][0]["text"] == ["before\n"]
    error = first["outputs"][1]
    assert error["output_type"] == "error" and error["ename"] == "ZeroDivisionError"
    assert error["evalue"] == "division by zero" and "ZeroDivisionError" in error["traceback"][-1]
    assert second["outputs"] == [] and second["execution_count"] is None


def test_the_command_fills_a_notebook_and_checks_it(tmp_path, capsys):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(_nb("print(6 * 7)")))
    assert notebook.main(["--check", str(path)]) == 1
    assert "code cell 1:" in capsys.readouterr().out
    assert notebook.main([str(path)]) == 0
    saved = json.loads(path.read_text())
    assert _code_outputs(saved) == [[{"name": "stdout", "output_type": "stream",
                                      "text": ["42\n"]}]]
    assert notebook.main(["--check", str(path)]) == 0
    assert "the saved outputs are what a run gives" in capsys.readouterr().out
    saved["cells"][1]["outputs"][0]["text"] = ["41\n"]
    path.write_text(notebook.dumps(saved))
    assert notebook.main(["--check", str(path)]) == 1
    out = capsys.readouterr().out
    assert '-    "41\\n"' in out and '+    "42\\n"' in out
    path.write_text(json.dumps(_nb("raise ValueError('no')")))
    assert notebook.main([str(path)]) == 1
    assert "ValueError: no" in capsys.readouterr().err


def test_the_command_says_why_a_file_is_not_a_notebook_it_can_run(tmp_path, capsys):
    prog = "python3 -m ipcsim.notebook"
    cases = [(tmp_path / "missing.ipynb", None, 2, "cannot read {}: No such file or directory"),
             (tmp_path, None, 2, "cannot read {}: Is a directory"),
             (tmp_path / "broken.ipynb", b'{"cells": [\n', 1,
              "{} is not a notebook: invalid JSON at line 2 column 1: Expecting value"),
             (tmp_path / "list.ipynb", b"[1]", 1,
              "{} is not a notebook: no list of cells (nbformat 4)"),
             (tmp_path / "binary.ipynb", b"\xff", 1,
              "{} is not a notebook: not UTF-8 text (invalid start byte at byte 0)")]
    for path, content, status, message in cases:
        if content is not None:
            path.write_bytes(content)
        for check in ([], ["--check"]):
            assert notebook.main([str(path)] + check) == status
            assert capsys.readouterr().err == f"{prog}: {message.format(path)}\n"
        if content is not None:
            assert path.read_bytes() == content        # left as it was
