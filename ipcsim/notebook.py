"""Run a notebook's code cells without Jupyter and keep what they show, as Jupyter keeps it.

    python3 -m ipcsim.notebook NOTEBOOK.ipynb            # run it, save its outputs in it
    python3 -m ipcsim.notebook --check NOTEBOOK.ipynb    # run it, compare with the saved ones

The cells run in order in one namespace, in the notebook's directory, as "Run All" does in
Jupyter. Each cell's outputs are what Jupyter records: what it printed (a ``stream`` per
run of stdout or stderr writes), then the value of a last bare expression unless it is
None (an ``execute_result`` whose data are ``text/plain``, from ``_repr_pretty_`` or
``repr()``, and ``text/html`` / ``image/svg+xml`` from ``_repr_html_`` / ``_repr_svg_``).
A cell that raises records an ``error`` and the run stops there. The file is written as
nbformat 4 writes it (one-space indent, sorted keys, text as lists of lines), so a
notebook filled here opens in Jupyter, and shows its outputs on a repository page.

``--check`` exits 1, naming the first cell that differs and how, when the saved outputs
are not what running the notebook gives now: the outputs must depend only on the
notebook (seeds, no timings or addresses).
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import io
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

Cell = dict[str, Any]
Output = dict[str, Any]


class _Printer:
    """What ``_repr_pretty_`` writes to (IPython's pretty printer, its ``text`` only)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, obj: str) -> None:
        self.parts.append(obj)


class _Writer(io.TextIOBase):
    """A cell's sys.stdout or sys.stderr: its writes go to the cell's list."""

    def __init__(self, chunks: list[tuple[str, str]], name: str):
        super().__init__()
        self.chunks, self.name = chunks, name

    def write(self, s: str) -> int:
        if s:
            self.chunks.append((self.name, s))
        return len(s)


class _Streams:
    """stdout and stderr of a cell, in the order they were written."""

    def __init__(self) -> None:
        self.chunks: list[tuple[str, str]] = []

    def writer(self, name: str) -> _Writer:
        return _Writer(self.chunks, name)

    def outputs(self) -> list[Output]:
        """One ``stream`` output per run of writes to the same stream."""
        merged: list[list[str]] = []
        for name, text in self.chunks:
            if merged and merged[-1][0] == name:
                merged[-1][1] += text
            else:
                merged.append([name, text])
        return [{"name": name, "output_type": "stream", "text": lines(text)}
                for name, text in merged]


def lines(text: str) -> list[str]:
    """Text as nbformat stores it: its lines, each with its newline."""
    return text.splitlines(keepends=True)


def mime_bundle(value: object) -> dict[str, list[str]]:
    """What Jupyter's display records of ``value``."""
    pretty = getattr(value, "_repr_pretty_", None)
    if callable(pretty) and not isinstance(value, type):
        printer = _Printer()
        pretty(printer, False)
        plain = "".join(printer.parts)
    else:
        plain = repr(value)
    data = {"text/plain": lines(plain)}
    for mime, method in (("text/html", "_repr_html_"), ("image/svg+xml", "_repr_svg_")):
        fn = getattr(value, method, None)
        if callable(fn) and not isinstance(value, type):
            shown = fn()
            if shown is not None:
                data[mime] = lines(shown)
    return data


def run_cell(source: str, namespace: dict[str, Any], count: int) -> tuple[list[Output], bool]:
    """Run one code cell: its outputs, and whether it ended without an exception."""
    streams = _Streams()
    name = f"<cell {count}>"
    value: object = None
    ok = True
    try:
        tree = ast.parse(source, name)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            tree.body.pop()
        else:
            last = None
        with contextlib.redirect_stdout(streams.writer("stdout")), \
                contextlib.redirect_stderr(streams.writer("stderr")):
            exec(compile(tree, name, "exec"), namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), name, "eval"), namespace)
    except Exception as e:
        ok = False
        error: Output = {"ename": type(e).__name__, "evalue": str(e),
                         "output_type": "error",
                         "traceback": traceback.format_exception(e)}
    outputs = streams.outputs()
    if not ok:
        outputs.append(error)
    elif value is not None:
        namespace["_"] = value
        outputs.append({"data": mime_bundle(value), "execution_count": count,
                        "metadata": {}, "output_type": "execute_result"})
    return outputs, ok


def execute(notebook: dict[str, Any], directory: str | Path) -> dict[str, Any]:
    """The notebook with its code cells run in order in ``directory`` and their outputs
    and execution counts filled in (cells after a failing one are left unrun: no outputs,
    no count)."""
    result: dict[str, Any] = json.loads(json.dumps(notebook))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    count = 0
    failed = False
    cwd = os.getcwd()
    os.chdir(directory)
    sys.path.insert(0, str(directory))
    try:
        for cell in result["cells"]:
            if cell["cell_type"] != "code":
                continue
            if failed:
                cell["outputs"], cell["execution_count"] = [], None
                continue
            count += 1
            cell["outputs"], ok = run_cell("".join(cell["source"]), namespace, count)
            cell["execution_count"] = count
            failed = not ok
    finally:
        os.chdir(cwd)
        sys.path.remove(str(directory))
    return result


def dumps(notebook: dict[str, Any]) -> str:
    """The notebook as nbformat writes it."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def differences(saved: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """How the code cells' saved outputs differ from fresh ones: one entry per cell that
    differs (its number, then a diff of the two as JSON), empty when they agree."""
    out = []
    cells = [(a, b) for a, b in zip(saved["cells"], fresh["cells"])
             if a["cell_type"] == "code"]
    for n, (a, b) in enumerate(cells, start=1):
        want = {"execution_count": a.get("execution_count"), "outputs": a.get("outputs")}
        got = {"execution_count": b.get("execution_count"), "outputs": b.get("outputs")}
        if want != got:
            diff = difflib.unified_diff(dumps(want).splitlines(), dumps(got).splitlines(),
                                        "saved", "now", lineterm="", n=2)
            out.append(f"code cell {n}:\n" + "\n".join(diff))
    return out


PROG = "python3 -m ipcsim.notebook"


def _load(path: Path) -> dict[str, Any]:
    """The notebook in ``path``: OSError if it cannot be read, ValueError (saying why) if
    it is not JSON of an nbformat 4 notebook."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        notebook = json.loads(data)
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list) \
            or not all(isinstance(c, dict) for c in notebook["cells"]):
        raise ValueError("no list of cells (nbformat 4)")
    return notebook


def main(argv: list[str] | None = None) -> int:
    """The command's entry point: exit status 0, 1 if a cell failed, the outputs differ
    (``--check``) or the file is not a notebook, 2 if it cannot be read."""
    parser = argparse.ArgumentParser(prog=PROG,
                                     description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("notebook", help="an .ipynb file (nbformat 4)")
    parser.add_argument("--check", action="store_true",
                        help="do not write: exit 1 if the saved outputs differ from a run")
    args = parser.parse_args(argv)
    path = Path(args.notebook).resolve()
    try:
        saved = _load(path)
    except OSError as e:
        print(f"{PROG}: cannot read {args.notebook}: {e.strerror or e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"{PROG}: {args.notebook} is not a notebook: {e}", file=sys.stderr)
        return 1
    fresh = execute(saved, path.parent)
    errors = [c for c in fresh["cells"] if any(o["output_type"] == "error"
                                                 for o in c.get("outputs", ()))]
    if args.check:
        found = differences(saved, fresh)
        for text in found:
            print(text)
        if found:
            print(f"{args.notebook}: {len(found)} code cell(s) differ from a run: "
                  f"python3 -m ipcsim.notebook {args.notebook} saves a run's outputs")
            return 1
        print(f"{args.notebook}: the saved outputs are what a run gives")
        return 0
    try:
        path.write_text(dumps(fresh), encoding="utf-8")
    except OSError as e:
        print(f"{PROG}: cannot write {args.notebook}: {e.strerror or e}", file=sys.stderr)
        return 1
    if errors:
        print("".join(errors[0]["outputs"][-1]["traceback"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
