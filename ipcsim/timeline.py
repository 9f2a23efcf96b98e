"""The timeline of a traced run: one lane per process, a tick per system call, a bar per
blocked call.

``Timeline(k)`` draws a kernel made with ``trace=True``, at any point of its run, from what
the kernel recorded: its calls (``k.trace``) and when each wait began and ended
(``k.blocks``; calls still blocked, as in a deadlock, are drawn up to the end and marked). The x axis counts events: each system call
that returned, in the order of ``k.trace``, is one step, so runs where no virtual time
passes are as readable as runs that sleep; the virtual time is written above the steps where
it changed.

``svg()`` is pure Python; ``png(path)`` needs matplotlib (``pip install 'ipcsim[plot]'``).
In a notebook, a Timeline displays itself as its SVG.
"""
from __future__ import annotations

import errno as _errno
import html
from typing import Callable

import attrs

from .callargs import format_args
from .kernel.kernel import Kernel, TraceEvent

LANE = 30            # pixels per process lane
LEFT = 150           # the lane labels
TOP = 52             # the time axis
SLEEPING = "#9ecae1"       # sleep(): waiting for the clock, not for another process
WAITING = "#ff7f0e"        # blocked in IPC (or wait, pause ...) until someone acts
FOREVER = "#d62728"        # still blocked when the run ended: a deadlock


@attrs.define
class Blocked:
    """One call that blocked: from step ``first`` (virtual time ``start``) to step ``last``
    (time ``end``); ``forever`` if it never returned, ``killed`` if its process exited
    while it waited (the interval ends at the exit)."""

    pid: int
    what: str
    first: int
    start: float
    last: int = -1
    end: float = 0.0
    forever: bool = False
    killed: bool = False

    @property
    def sleeping(self) -> bool:
        """A sleep(): waiting for virtual time only."""
        return self.what.startswith("sleep(")


class Timeline:
    """Draws a traced kernel's run: its calls (``k.trace``) and its waits (``k.blocks``)."""

    def __init__(self, k: Kernel):
        if not k.tracing:
            raise ValueError("Timeline needs a kernel made with trace=True")
        self.k = k

    @property
    def trace(self) -> list[TraceEvent]:
        """The calls of the run: ``k.trace`` up to ``k.close()`` if it was closed (the exits
        close() forces are not part of the run, and the waits they end were still blocked
        when the run ended)."""
        trace = self.k.trace
        cut = getattr(self.k, "closed_at", None)
        return trace if cut is None else trace[:cut]

    # --- what the picture is made of ---------------------------------------------------
    def lanes(self) -> list[tuple[int, str]]:
        """(pid, label) of every process that made a call, in pid order. A process already
        reaped keeps the name it had: its program's, as the trace of its fork tells."""
        pids = sorted({e.pid for e in self.trace} | {b.pid for b in self.k.blocks})
        names = self._names()
        out = []
        for pid in pids:
            p = self.k.process(pid)
            name = p.comm if p is not None else names.get(pid, "")
            out.append((pid, f"pid {pid} {name}".rstrip()))
        return out

    def _names(self) -> dict[int, str]:
        """pid -> command name from the trace: a fork or clone with a program names the
        child after it (as the kernel does), one without gives it its parent's name."""
        names = {1: "init"}
        for e in self.trace:
            if e.name in ("fork", "clone") and e.errno is None and isinstance(e.result, int):
                target = next((a for a in e.args if callable(a)), None)
                if target is None:     # given by keyword: recorded as ("target", fn)
                    target = next((a[1] for a in e.args if isinstance(a, tuple) and len(a) == 2
                                   and a[0] == "target" and callable(a[1])), None)
                if target is not None:
                    names[e.result] = getattr(target, "__name__", "program")[:15]
                else:
                    parent = self.k.process(e.pid)
                    names[e.result] = parent.comm if parent is not None else names.get(e.pid, "")
        return names

    def intervals(self) -> list[Blocked]:
        """Every call that blocked, in the order they blocked; those still blocked run to
        the end (``forever``). A call during which no other call returned has
        ``last == first`` (it is drawn narrow). A wait its process's exit ended (a kill)
        ends at that exit (``killed``): the kernel records its end only when the dead
        program unwinds, which may be later. The run ends where ``k.close()`` was called,
        so the waits it ended were still blocked then (``forever``)."""
        k, trace = self.k, self.trace
        end, now = len(trace), k.clock.now()
        exits = self.exits()
        out: list[Blocked] = []
        for b in k.blocks:
            died = exits.get(b.pid)
            if died is not None and b.first <= died and (b.last is None or died < b.last):
                # its process exited while it waited: the wait ends there
                out.append(Blocked(b.pid, b.what, b.first, b.start, died, trace[died].time,
                                   False, True))
            elif b.last is None or b.last > end:          # still blocked when the run ended
                out.append(Blocked(b.pid, b.what, b.first, b.start, end, now, True))
            else:
                assert b.end is not None           # (set with last)
                out.append(Blocked(b.pid, b.what, b.first, b.start, b.last, b.end))
        return out

    def exits(self) -> dict[int, int]:
        """pid -> the step of its exit, for the processes that exited."""
        return {e.pid: i for i, e in enumerate(self.trace) if e.name == "exit"}

    # --- text ----------------------------------------------------------------------------
    def text(self, limit: int | None = None) -> str:
        """The run as lines: each call with its step, time, pid, result; then the blocked
        calls."""
        trace = self.trace
        lines = []
        shown = trace if limit is None or len(trace) <= limit else trace[-limit:]
        skip = len(trace) - len(shown)
        if skip:
            lines.append(f"... {skip} earlier calls")
        for i, e in enumerate(shown, start=skip):
            args = format_args(e.name, e.args, _arg)
            res = "-> " + _result(e)
            mark = f" (blocked {e.start:g}s..{e.time:g}s)" if e.blocked else ""
            lines.append(f"{i:5d} t={e.time:<8g} pid {e.pid:<4d} {e.name}({args}) {res}{mark}")
        if not trace:
            lines.append("(no system calls traced yet)")
        intervals = self.intervals()
        for b in intervals:
            if b.killed:
                lines.append(f"      exited while blocked: pid {b.pid} in {b.what} (steps "
                             f"{b.first}-{b.last}, t={b.start:g}s..{b.end:g}s)")
        for b in intervals:
            if b.forever:
                lines.append(f"      blocked forever: pid {b.pid} in {b.what} (since step "
                             f"{b.first}, t={b.start:g}s)")
        return "\n".join(lines)

    # --- SVG ------------------------------------------------------------------------------
    def svg(self, width: int = 960) -> str:
        """The picture as an SVG document (a str)."""
        trace = self.trace
        steps = len(trace) + 1                     # one more: calls blocked at the end
        lanes = self.lanes()
        row = {pid: n for n, (pid, _) in enumerate(lanes)}
        dx = max(0.5, (max(width, 640) - LEFT - 20) / steps)
        plot_w = dx * steps
        w = int(LEFT + plot_w + 20)
        h = TOP + LANE * max(len(lanes), 1) + 40
        x: Callable[[float], float] = lambda step: LEFT + step * dx      # noqa: E731
        y: Callable[[int], int] = lambda pid: TOP + row[pid] * LANE      # noqa: E731
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
               f'viewBox="0 0 {w} {h}" font-family="monospace" font-size="11">',
               f'<rect width="{w}" height="{h}" fill="white"/>',
               f'<text x="6" y="16" font-size="12">x axis: the {len(trace)} system calls in '
               f'order; above the lanes: the virtual time (s) where it changes</text>']
        last_t, last_x = None, -100.0
        for i, e in enumerate(trace):
            if e.time != last_t and x(i) - last_x > 40:
                out.append(f'<line x1="{x(i):.1f}" y1="{TOP - 12}" x2="{x(i):.1f}" '
                           f'y2="{h - 30}" stroke="#ddd"/>')
                out.append(f'<text x="{x(i):.1f}" y="{TOP - 16}">{e.time:g}s</text>')
                last_x = x(i)
            last_t = e.time
        exits = self.exits()
        first_seen: dict[int, int] = {}
        for i, e in enumerate(trace):
            if e.name in ("fork", "clone") and isinstance(e.result, int):
                first_seen.setdefault(e.result, i)     # a lane starts where it was made
            first_seen.setdefault(e.pid, i)
        for pid, label in lanes:
            cy = y(pid) + LANE / 2
            out.append(f'<text x="6" y="{cy + 4:.1f}">{html.escape(label)}</text>')
            start = first_seen.get(pid, 0)
            stop = exits.get(pid, steps)
            out.append(f'<line x1="{x(start):.1f}" y1="{cy:.1f}" x2="{x(stop):.1f}" '
                       f'y2="{cy:.1f}" stroke="#888" stroke-width="1"/>')
        for b in self.intervals():
            if b.pid not in row:
                continue
            color = FOREVER if b.forever else SLEEPING if b.sleeping else WAITING
            x0 = x(b.first)
            x1 = x(steps) if b.forever else max(x(b.last), x0 + 0.8 * dx)
            title = (f"pid {b.pid} blocked in {b.what}: steps {b.first}-{b.last}, "
                     f"t={b.start:g}s..{b.end:g}s")
            if b.forever:
                title += " (forever)"
            elif b.killed:
                title += ", until its process exited"
            elif (b.last < len(trace) and trace[b.last].pid == b.pid
                  and trace[b.last].errno is not None):             # e.g. EAGAIN: timed out
                title += f", then failed: {_result(trace[b.last])}"
            out.append(f'<rect x="{x0:.1f}" y="{y(b.pid) + 7}" width="{x1 - x0:.1f}" '
                       f'height="{LANE - 14}" fill="{color}" fill-opacity="0.75">'
                       f'<title>{html.escape(title)}</title></rect>')
        for i, e in enumerate(trace):
            if e.pid not in row:
                continue
            color = "#1f77b4" if e.errno is None else "#9467bd"
            cy = y(e.pid) + LANE / 2
            out.append(f'<line x1="{x(i) + dx / 2:.1f}" y1="{cy - 6:.1f}" '
                       f'x2="{x(i) + dx / 2:.1f}" y2="{cy + 6:.1f}" stroke="{color}" '
                       f'stroke-width="{max(1.0, min(dx / 2, 3)):.1f}">'
                       f'<title>{html.escape(_describe(i, e))}</title></line>')
        ly = h - 14
        out.append(f'<line x1="{LEFT}" y1="{ly - 4}" x2="{LEFT}" y2="{ly + 4}" stroke="#1f77b4" '
                   f'stroke-width="3"/><text x="{LEFT + 6}" y="{ly + 4}">system call</text>')
        legend = ((110, SLEEPING, "sleeping"), (200, WAITING, "blocked"),
                  (280, FOREVER, "blocked forever (deadlock)"))
        for dxl, color, text in legend:
            out.append(f'<rect x="{LEFT + dxl}" y="{ly - 6}" width="18" height="12" '
                       f'fill="{color}"/><text x="{LEFT + dxl + 22}" y="{ly + 4}">{text}</text>')
        out.append('<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#9467bd" stroke-width="3"/>'
                   '<text x="{3}" y="{4}">failed call</text>'.format(
                       LEFT + 490, ly - 4, ly + 4, LEFT + 496, ly + 4))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def _repr_svg_(self) -> str:
        return self.svg()

    def save_svg(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg())

    # --- PNG (matplotlib) -----------------------------------------------------------------
    def png(self, path: str) -> None:
        """Draw with matplotlib into ``path`` (needs the ``plot`` extra)."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("Timeline.png needs matplotlib: pip install 'ipcsim[plot]'") from e
        lanes = self.lanes()
        row = {pid: n for n, (pid, _) in enumerate(lanes)}
        fig, ax = plt.subplots(figsize=(10, 0.5 * len(lanes) + 1.2))
        for b in self.intervals():
            if b.pid in row:
                ax.broken_barh([(b.first, max(b.last - b.first, 1))], (row[b.pid] - 0.3, 0.6),
                               color=FOREVER if b.forever else SLEEPING if b.sleeping
                               else WAITING)
        for i, call in enumerate(self.trace):
            if call.pid in row:
                ax.vlines(i + 0.5, row[call.pid] - 0.2, row[call.pid] + 0.2,
                          color="#1f77b4" if call.errno is None else "#9467bd")
        ax.set_yticks(range(len(lanes)), [label for _, label in lanes])
        ax.invert_yaxis()
        ax.set_xlabel("system calls in order")
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def _arg(value: object) -> str:
    """An argument as the timeline shows it: functions by name (no addresses, so the same
    seed gives the same text), tuples and lists element by element."""
    if callable(value) and hasattr(value, "__name__"):
        name: str = value.__name__
        return name
    if isinstance(value, tuple):
        inner = ", ".join(map(_arg, value))
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        return "[" + ", ".join(map(_arg, value)) + "]"
    return repr(value)


def _result(e: TraceEvent) -> str:
    """What a call returned: its value, or the error by name (``error EAGAIN``)."""
    if e.errno is None:
        return repr(e.result)
    return f"error {_errno.errorcode.get(e.errno, e.errno)}"


def _describe(i: int, e: TraceEvent) -> str:
    args = format_args(e.name, e.args, _arg)
    return f"step {i}, t={e.time:g}s: pid {e.pid} {e.name}({args}) -> {_result(e)}"
