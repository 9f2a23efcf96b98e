"""The timeline of a traced run: one lane per process, a tick per system call, a bar per
blocked call, and arrows from each call blocked at the end to the processes that could
wake it.

``Timeline(k)`` draws a kernel made with ``trace=True``, at any point of its run, from what
the kernel recorded: its calls (``k.trace``) and when each wait began and ended
(``k.blocks``; calls still blocked, as in a deadlock, are drawn up to the end and marked).
By default the x axis counts events (``x="calls"``): each system call that returned, in the
order of ``k.trace``, is one step, so runs where no virtual time passes are as readable as
runs that sleep; the virtual time is written above the steps where it changed.
``x="time"`` draws against virtual time instead. ``pids`` keeps some lanes only; ``title``
heads the picture. Long runs fold into panels stacked one under the other (at least
6 pixels a step), so 500 calls stay readable.

The picture is one :class:`Layout` (rectangles, lines, text and paths in pixels) drawn by
two renderers: :meth:`Layout.svg` (pure Python) and :func:`draw_png` (matplotlib, the
``plot`` extra: ``pip install 'ipcsim[plot]'``), so the SVG and the PNG show the same
header, axes, labels, arrows and legend. A PNG records the SHA-256 of its layout's SVG in
its ``Description``, so a committed picture can be checked without matplotlib. In a
notebook, a Timeline displays itself (``_repr_html_``: the SVG, scrolling if wide).
"""
from __future__ import annotations

import errno as _errno
import hashlib
import html
import math
import re
from typing import TYPE_CHECKING, Iterable, Union

import attrs

from .callargs import format_args
from .kernel.kernel import Kernel, TraceEvent

if TYPE_CHECKING:
    from .views import WaitFor

LANE = 34            # pixels per process lane
LEFT = 150           # the lane labels
RIGHT = 20           # after the plot (and its arrows)
AXIS = 30            # above each panel's lanes: step numbers and times
GAP = 16             # between panels
MIN_DX = 6.0         # pixels a step at least: longer runs fold into more panels
MAX_PANELS = 1000    # a fold= making more is refused (a tiny fold would fill the memory)
CHAR = 0.6           # a monospace character's width, in units of its font size
SLEEPING = "#9ecae1"       # sleep(): waiting for the clock, not for another process
WAITING = "#ff7f0e"        # blocked in IPC (or wait, pause ...) until someone acts
FOREVER = "#d62728"        # still blocked when the run ended: a deadlock
CALL = "#1f77b4"           # a system call that returned
FAILED = "#9467bd"         # one that failed
ARROW = "#333333"          # a blocked call -> a process that could wake it
PNG_FONT = "DejaVu Sans Mono"    # matplotlib's own monospace font: the same on every machine


# --- the layout: what both renderers draw ------------------------------------------------
@attrs.frozen
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    opacity: float = 1.0
    title: str = ""


@attrs.frozen
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0
    title: str = ""


@attrs.frozen
class Text:
    """Text whose baseline starts (``anchor="start"``), is centred ("middle") or ends
    ("end") at (x, y); ``size`` in pixels."""

    x: float
    y: float
    text: str
    size: float = 11
    fill: str = "#000000"
    anchor: str = "start"
    bold: bool = False


@attrs.frozen
class Path:
    """A polyline, or with ``fill`` a closed polygon."""

    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 1.0
    fill: str | None = None
    title: str = ""


Shape = Union[Rect, Line, Text, Path]


def _n(v: float) -> str:
    return f"{v:.1f}"


# characters XML 1.0 forbids (a title typed with a control character): dropped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """``text`` as SVG character data: escaped, without the characters XML forbids."""
    return html.escape(_NOT_XML.sub("", text))


def _title(title: str) -> str:
    return f"<title>{_xml(title)}</title>" if title else ""


def _element(s: Shape) -> str:
    if isinstance(s, Rect):
        opacity = f' fill-opacity="{s.opacity:g}"' if s.opacity != 1.0 else ""
        head = (f'<rect x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.w)}" height="{_n(s.h)}" '
                f'fill="{s.fill}"{opacity}')
        return f"{head}>{_title(s.title)}</rect>" if s.title else head + "/>"
    if isinstance(s, Line):
        head = (f'<line x1="{_n(s.x1)}" y1="{_n(s.y1)}" x2="{_n(s.x2)}" y2="{_n(s.y2)}" '
                f'stroke="{s.stroke}" stroke-width="{s.width:.1f}"')
        return f"{head}>{_title(s.title)}</line>" if s.title else head + "/>"
    if isinstance(s, Text):
        attrs_ = "".join((f' font-size="{s.size:g}"' if s.size != 11 else "",
                          f' fill="{s.fill}"' if s.fill != "#000000" else "",
                          f' text-anchor="{s.anchor}"' if s.anchor != "start" else "",
                          ' font-weight="bold"' if s.bold else ""))
        return f'<text x="{_n(s.x)}" y="{_n(s.y)}"{attrs_}>{_xml(s.text)}</text>'
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in s.points)
    tag = "polygon" if s.fill is not None else "polyline"
    head = (f'<{tag} points="{points}" fill="{s.fill or "none"}" stroke="{s.stroke}" '
            f'stroke-width="{s.width:.1f}"')
    return f"{head}>{_title(s.title)}</{tag}>" if s.title else head + "/>"


@attrs.frozen
class Layout:
    """A picture: ``width`` x ``height`` pixels of shapes, drawn in order."""

    width: int
    height: int
    shapes: tuple[Shape, ...]
    title: str = ""

    def svg(self) -> str:
        """The picture as an SVG document (tooltips, ``<title>``, on bars, ticks and
        arrows)."""
        w, h = self.width, self.height
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
               f'viewBox="0 0 {w} {h}" font-family="monospace" font-size="11">',
               f'<rect width="{w}" height="{h}" fill="white"/>']
        out.extend(map(_element, self.shapes))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def digest(self) -> str:
        """SHA-256 of :meth:`svg`: what a PNG of this layout records (``Description``)."""
        return hashlib.sha256(self.svg().encode()).hexdigest()


def png_description(layout: Layout) -> str:
    """The ``Description`` text of a PNG drawn from ``layout``."""
    return f"ipcsim timeline, layout sha256 {layout.digest()}"


def draw_png(layout: Layout, path: str, dpi: int = 100) -> None:
    """Draw ``layout`` into the PNG file ``path`` with matplotlib's Agg renderer: a layout
    pixel is 1/100 inch, so ``dpi=100`` gives the SVG's size and ``dpi=200`` twice as many
    pixels each way (for slides). It writes ``path`` itself as PNG, whatever its name ends
    with. Needs the ``plot`` extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Polygon, Rectangle
    except ImportError as e:
        raise ImportError("Timeline.png needs matplotlib: pip install 'ipcsim[plot]'") from e
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 1200:
        raise ValueError(f"dpi must be an int from 10 to 1200, not {dpi!r}")
    fig = Figure(figsize=(layout.width / 100, layout.height / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, layout.width)
    ax.set_ylim(layout.height, 0)
    ax.set_axis_off()
    pt = 0.72                  # a layout pixel in points, at 100 pixels an inch
    align = {"start": "left", "middle": "center", "end": "right"}
    for z, s in enumerate(layout.shapes):      # z: in the layout's order, as SVG paints
        if isinstance(s, Rect):
            ax.add_patch(Rectangle((s.x, s.y), s.w, s.h, facecolor=s.fill, alpha=s.opacity,
                                   linewidth=0, zorder=z))
        elif isinstance(s, Line):
            ax.add_line(Line2D([s.x1, s.x2], [s.y1, s.y2], color=s.stroke,
                               linewidth=s.width * pt, solid_capstyle="butt", zorder=z))
        elif isinstance(s, Text):
            ax.text(s.x, s.y, s.text, fontsize=s.size * pt, color=s.fill,
                    ha=align[s.anchor], va="baseline", fontfamily=PNG_FONT,
                    fontweight="bold" if s.bold else "normal", zorder=z)
        elif s.fill is not None:
            ax.add_patch(Polygon(list(s.points), closed=True, facecolor=s.fill,
                                 edgecolor=s.stroke, linewidth=s.width * pt, zorder=z))
        else:
            ax.add_line(Line2D([x for x, _ in s.points], [y for _, y in s.points],
                               color=s.stroke, linewidth=s.width * pt,
                               solid_capstyle="butt", solid_joinstyle="miter", zorder=z))
    fig.savefig(path, format="png", dpi=dpi, facecolor="white",
                metadata={"Title": layout.title or "ipcsim timeline",
                          "Description": png_description(layout)})


# --- the run's data ----------------------------------------------------------------------
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
    """Draws a traced kernel's run: its calls (``k.trace``) and its waits (``k.blocks``).

    ``title`` heads the picture; ``pids`` (any iterable of pids) keeps only their lanes and
    calls (pids that made no call are not an error, as a run may not have made them yet:
    with none of them, the picture has no lane and says so); ``x`` is ``"calls"`` (a step per call, the default) or ``"time"`` (virtual
    seconds)."""

    def __init__(self, k: Kernel, title: str | None = None, pids: Iterable[int] | None = None,
                 x: str = "calls"):
        if not k.tracing:
            raise ValueError("Timeline needs a kernel made with trace=True")
        if x not in ("calls", "time"):
            raise ValueError(f"x must be 'calls' or 'time', not {x!r}")
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be a str, not {type(title).__name__}")
        chosen = None
        if pids is not None:
            chosen = frozenset(pids)
            if any(isinstance(p, bool) or not isinstance(p, int) for p in chosen):
                raise TypeError("pids must be ints")
        self.k = k
        self.title = title
        self.pids = chosen
        self.x = x

    def __repr__(self) -> str:
        """One line: the calls, processes and calls blocked forever it draws (of ``pids``
        only, if given)."""
        calls = sum(self.pids is None or e.pid in self.pids for e in self.trace)
        forever = sum(b.forever for b in self.intervals()
                      if self.pids is None or b.pid in self.pids)
        end = f", {forever} blocked forever" if forever else ""
        procs = len(self.lanes())
        return (f"<Timeline of {calls} call{'s' if calls != 1 else ''} by {procs} "
                f"process{'es' if procs != 1 else ''}, t=0s..{self._end_time():g}s{end}>")

    @property
    def trace(self) -> list[TraceEvent]:
        """The calls of the run: ``k.trace`` up to ``k.close()`` if it was closed (the exits
        close() forces are not part of the run, and the waits they end were still blocked
        when the run ended)."""
        trace = self.k.trace
        cut = getattr(self.k, "closed_at", None)
        return trace if cut is None else trace[:cut]

    def _end_time(self) -> float:
        return self.k.clock.now()

    # --- what the picture is made of ---------------------------------------------------
    def lanes(self) -> list[tuple[int, str]]:
        """(pid, label) of every process that made a call (of ``pids`` if given), in pid
        order. A process already reaped keeps the name it had: its program's, as the trace
        of its fork tells."""
        pids = sorted({e.pid for e in self.trace} | {b.pid for b in self.k.blocks})
        if self.pids is not None:
            pids = [pid for pid in pids if pid in self.pids]
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
        end, now = len(trace), self._end_time()
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

    def waits(self) -> list[WaitFor]:
        """The calls blocked at the end of the run, each with the processes that could
        wake it (see :func:`ipcsim.views.wait_for`): the kernel's state now, or as it was
        when ``k.close()`` was first called. The arrows of the picture."""
        from .views import wait_for
        if getattr(self.k, "closed_at", None) is None:
            return wait_for(self.k)
        return list(getattr(self.k, "wait_for_at_close", ()))

    def _edges(self, row: dict[int, int], intervals: list[Blocked]) -> list[WaitFor]:
        """One WaitFor per arrow (a single waker each): blocked at the end, both lanes
        shown; in the order of the waits, then of the wakers."""
        forever = {b.pid for b in intervals if b.forever}
        return [attrs.evolve(w, wakers=(waker,)) for w in self.waits()
                if w.pid in forever and w.pid in row for waker in w.wakers if waker in row]

    # --- text ----------------------------------------------------------------------------
    def text(self, limit: int | None = None, at_limit: bool = False) -> str:
        """The run as lines: each call with its step, time, pid, result; then the blocked
        calls, and who could wake those blocked at the end (of ``pids`` only, if given).
        ``limit``: only the last ``limit`` calls. ``at_limit``: the run was stopped by
        ``run(until=...)`` or ``max_steps`` (not a deadlock), so the calls blocked at the
        end are "still blocked at the limit", not "blocked forever"."""
        trace = self.trace
        chosen = self.pids
        lines = []
        shown = trace if limit is None or len(trace) <= limit else trace[-limit:]
        skip = len(trace) - len(shown)
        if skip:
            lines.append(f"... {skip} earlier calls")
        for i, e in enumerate(shown, start=skip):
            if chosen is not None and e.pid not in chosen:
                continue
            args = format_args(e.name, e.args, _arg)
            res = "-> " + _result(e)
            mark = f" (blocked {e.start:g}s..{e.time:g}s)" if e.blocked else ""
            lines.append(f"{i:5d} t={e.time:<8g} pid {e.pid:<4d} {e.name}({args}) {res}{mark}")
        if not trace:
            lines.append("(no system calls traced yet)")
        elif chosen is not None and not any(e.pid in chosen for e in trace):
            lines.append(f"(no system calls by pids {', '.join(map(str, sorted(chosen)))})")
        intervals = [b for b in self.intervals() if chosen is None or b.pid in chosen]
        for b in intervals:
            if b.killed:
                lines.append(f"      exited while blocked: pid {b.pid} in {b.what} (blocked "
                             f"{_after(b.first)}, exited at step {b.last}, "
                             f"t={b.start:g}s..{b.end:g}s)")
        state = "still blocked at the limit" if at_limit else "blocked forever"
        for b in intervals:
            if b.forever:
                lines.append(f"      {state}: pid {b.pid} in {b.what} (blocked "
                             f"{_after(b.first)}, t={b.start:g}s)")
        return "\n".join(lines)

    # --- the picture ---------------------------------------------------------------------
    def layout(self, width: int = 960, fold: float | None = None) -> Layout:
        """The picture, ``width`` pixels wide (at least 640), as shapes. ``fold``: steps
        (``x="calls"``) or seconds (``x="time"``) a panel; by default a run of calls folds
        where a step would get narrower than 6 pixels, and a time axis does not fold. A
        ``fold`` making more than :data:`MAX_PANELS` panels is a ValueError naming the
        smallest fold allowed."""
        return _Drawing(self, max(int(width), 640), fold).layout()

    def svg(self, width: int = 960, fold: float | None = None) -> str:
        """The picture as an SVG document (a str)."""
        return self.layout(width, fold).svg()

    def png(self, path: str, dpi: int = 100, width: int = 960,
            fold: float | None = None) -> None:
        """Draw the same picture into the PNG file ``path`` (needs the ``plot`` extra);
        ``dpi=200`` doubles its pixels each way, for slides."""
        draw_png(self.layout(width, fold), path, dpi)

    def save_svg(self, path: str, width: int = 960, fold: float | None = None) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg(width, fold))

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        return f'<div style="overflow-x:auto;max-width:100%">{self.svg()}</div>'


_NICE = (1, 2, 5)


def _nice(minimum: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50 ... (or of 0.1, 0.2, 0.5 ...) at least
    ``minimum``."""
    exp = math.floor(math.log10(minimum)) if minimum > 0 else 0
    for e in (exp, exp + 1):
        for m in _NICE:
            step = m * 10.0 ** e
            if step >= minimum * (1 - 1e-9):
                return step
    return 10.0 ** (exp + 1)


_NAMESPACE = re.compile(r" of ipc:\[\d+\]")
_DETAIL = re.compile(r"^(\w+) .*\((.+)\)$")


def _bar_labels(what: str) -> list[str]:
    """What a bar may say, longest first: the wait without its namespace ("semop on
    semaphore set 0 (sem 1 -1)"), the call and its detail ("semop (sem 1 -1)"), the
    detail ("sem 1 -1"), the call."""
    short = _NAMESPACE.sub("", what)
    out = [short]
    m = _DETAIL.match(short)
    if m:
        out += [f"{m[1]} ({m[2]})", m[2]]
    out.append(short.split(" ")[0])
    return out


def _fits(text: str, pixels: float, size: float) -> bool:
    return len(text) * size * CHAR + 6 <= pixels


def smallest_fold(total: float, calls: bool) -> float:
    """The smallest ``fold`` that makes at most :data:`MAX_PANELS` panels of ``total``
    positions: whole steps, or seconds rounded up to three significant digits."""
    exact = total / MAX_PANELS
    if calls:
        return float(math.ceil(exact))
    unit = 10.0 ** (math.floor(math.log10(exact)) - 2)
    return math.ceil(exact / unit) * unit


def _check_panels(per: float, total: float, calls: bool) -> None:
    if total / per - 1e-9 > MAX_PANELS:         # (compared as floats: it may be inf)
        unit = "steps" if calls else "s"
        raise ValueError(f"fold {per:g} would make more than {MAX_PANELS} panels: "
                         f"the smallest fold for this run is "
                         f"{smallest_fold(total, calls):g} {unit}")


class _Drawing:
    """One layout of a timeline: where each position (a step or a second) goes."""

    def __init__(self, tl: Timeline, width: int, fold: float | None):
        self.tl, self.width = tl, width
        self.trace = tl.trace
        self.lanes = tl.lanes()
        self.row = {pid: n for n, (pid, _) in enumerate(self.lanes)}
        self.intervals = [b for b in tl.intervals() if b.pid in self.row]
        self.edges = tl._edges(self.row, self.intervals)
        self.calls = tl.x == "calls"
        end_time = tl._end_time()
        self.total = float(len(self.trace) + 1) if self.calls else (end_time or 1.0)
        arrows = 14 + 10 * len(self.edges) if self.edges else 0
        self.plot_w = width - LEFT - RIGHT - arrows
        if fold is not None:
            if isinstance(fold, bool) or not isinstance(fold, (int, float)) or not fold > 0:
                raise ValueError(f"fold must be a positive number, not {fold!r}")
            per = float(fold)
            _check_panels(per, self.total, self.calls)
        elif self.calls:
            panels = max(1, math.ceil(self.total * MIN_DX / self.plot_w))
            per = float(math.ceil(self.total / panels))
        else:
            per = self.total
        self.per = per
        self.panels = max(1, math.ceil(self.total / per - 1e-9))
        self.dx = self.plot_w / per
        self.head = (26 if tl.title else 0) + 46
        self.panel_h = AXIS + LANE * max(len(self.lanes), 1)

    # --- geometry ------------------------------------------------------------------------
    def top(self, panel: int) -> float:
        """The y of a panel's axis strip."""
        return self.head + panel * (self.panel_h + GAP)

    def lane_top(self, panel: int, pid: int) -> float:
        return self.top(panel) + AXIS + self.row[pid] * LANE

    def mid(self, panel: int, pid: int) -> float:
        """The y of a lane's line, through the middle of its bars."""
        return self.lane_top(panel, pid) + LANE - 13

    def at(self, pos: float) -> tuple[int, float]:
        """(panel, x) of a position."""
        panel = min(max(int(pos // self.per), 0), self.panels - 1)
        return panel, LEFT + (pos - panel * self.per) * self.dx

    def pieces(self, a: float, b: float) -> list[tuple[int, float, float]]:
        """(panel, x0, x1) of each panel's part of the positions a..b."""
        out = []
        first = self.at(a)[0]
        last = self.at(b)[0] if b > a else first
        for panel in range(first, last + 1):
            lo, hi = panel * self.per, (panel + 1) * self.per
            x0 = LEFT + (max(a, lo) - lo) * self.dx
            x1 = LEFT + (min(b, hi) - lo) * self.dx
            if x1 > x0 or a == b:
                out.append((panel, x0, x1))
        return out

    def call_pos(self, i: int) -> float:
        return i + 0.5 if self.calls else self.trace[i].time

    def step_pos(self, i: int) -> float:
        """Where step ``i`` begins (a lane's start, a process's exit, a wait's ends)."""
        if self.calls:
            return float(i)
        return self.trace[i].time if i < len(self.trace) else self.total

    # --- the parts -------------------------------------------------------------------------
    def layout(self) -> Layout:
        out: list[Shape] = []
        self.header(out)
        for panel in range(self.panels):
            self.axis(out, panel)
        self.lane_lines(out)
        self.bars(out)
        self.ticks(out)
        self.arrows(out)
        bottom = self.top(self.panels) - GAP + 8
        height = self.legend(out, bottom)
        return Layout(self.width, int(math.ceil(height)), tuple(out), self.tl.title or "")

    def header(self, out: list[Shape]) -> None:
        tl, trace = self.tl, self.trace
        y = 20.0
        if tl.title:
            out.append(Text(6, y, tl.title, 15, bold=True))
            y += 26
        forever = sum(b.forever for b in self.intervals)
        procs = len({e.pid for e in trace} | {b.pid for b in tl.k.blocks})
        shown = "" if tl.pids is None else \
            f" (pids {', '.join(str(p) for p, _ in self.lanes)} shown)" if self.lanes else \
            f" (none by pids {', '.join(map(str, sorted(tl.pids)))}: no lane shown)"
        summary = (f"seed {tl.k.seed}: {len(trace)} system calls by {procs} processes{shown}, "
                   f"t=0s..{tl._end_time():g}s")
        if forever:
            summary += f"; {forever} blocked forever" + (" (deadlock)" if self.edges else "")
        out.append(Text(6, y, summary, 12))
        if self.calls:
            axis = ("x axis: the system calls in order, a step each; above the lanes: step "
                    "numbers, and the virtual time (s) where it changes")
        else:
            axis = "x axis: virtual time (s); calls made at the same time overlap"
        if self.panels > 1:
            axis += f"; {self.panels} panels of {self.per:g} {'steps' if self.calls else 's'}"
        out.append(Text(6, y + 18, axis, 10, "#555555"))

    def axis(self, out: list[Shape], panel: int) -> None:
        top = self.top(panel)
        bottom = top + self.panel_h
        lo, hi = panel * self.per, min((panel + 1) * self.per, self.total)
        if self.calls:
            every = max(1, int(_nice(36 / self.dx)))
            for step in range(int(math.ceil(lo / every)) * every, int(hi) + 1, every):
                x = self.at(step)[1] if step < hi else LEFT + (step - lo) * self.dx
                out.append(Text(x, top + 10, str(step), 9, "#777777", "middle"))
            last_t: float | None = None
            last_x = -100.0
            for i in range(int(lo), min(int(math.ceil(hi)), len(self.trace))):
                e = self.trace[i]
                x = LEFT + (i - lo) * self.dx
                if e.time != last_t and x - last_x > 40:
                    out.append(Line(x, top + 14, x, bottom, "#dddddd"))
                    out.append(Text(x, top + 25, f"{e.time:g}s", 10))
                    last_x = x
                last_t = e.time
        else:
            span = _nice(60 / self.dx)
            n = math.ceil(lo / span - 1e-9)
            while n * span <= hi + 1e-9:
                x = LEFT + (n * span - lo) * self.dx
                out.append(Line(x, top + 14, x, bottom, "#dddddd"))
                out.append(Text(x, top + 25, f"{round(n * span, 9):g}s", 10, anchor="middle"))
                n += 1
        for pid, label in self.lanes:
            out.append(Text(6, self.mid(panel, pid) + 4, label))

    def lane_lines(self, out: list[Shape]) -> None:
        exits = self.tl.exits()
        first_seen: dict[int, int] = {}
        for i, e in enumerate(self.trace):
            if e.name in ("fork", "clone") and isinstance(e.result, int):
                first_seen.setdefault(e.result, i)     # a lane starts where it was made
            first_seen.setdefault(e.pid, i)
        for pid, _ in self.lanes:
            start = self.step_pos(first_seen.get(pid, 0))
            stop = self.step_pos(exits[pid]) if pid in exits else self.total
            for panel, x0, x1 in self.pieces(start, stop):
                cy = self.mid(panel, pid)
                out.append(Line(x0, cy, x1, cy, "#888"))

    def bars(self, out: list[Shape]) -> None:
        trace = self.trace
        for b in self.intervals:
            color = FOREVER if b.forever else SLEEPING if b.sleeping else WAITING
            a = self.step_pos(b.first) if self.calls else b.start
            if b.forever:
                z = self.total
            elif self.calls:
                z = max(float(b.last), a + 0.8)
            else:
                z = b.end
            title = (f"pid {b.pid} blocked in {b.what}: steps {b.first}-{b.last}, "
                     f"t={b.start:g}s..{b.end:g}s")
            if b.forever:
                title += " (forever)"
            elif b.killed:
                title += ", until its process exited"
            elif (b.last < len(trace) and trace[b.last].pid == b.pid
                  and trace[b.last].errno is not None):             # e.g. EAGAIN: timed out
                title += f", then failed: {_result(trace[b.last])}"
            pieces = self.pieces(a, z)
            widest = max(pieces, key=lambda p: p[2] - p[1])
            for panel, x0, x1 in pieces:
                x1 = max(x1, x0 + 2)
                y = self.mid(panel, b.pid) - 9
                out.append(Rect(x0, y, x1 - x0, 18, color, 0.75, title))
                if (panel, x0) == widest[:2]:
                    label = next((t for t in _bar_labels(b.what) if _fits(t, x1 - x0, 9)),
                                 None)
                    if label is not None:
                        out.append(Text(x0 + 3, y + 13, label, 9,
                                        "#ffffff" if b.forever else "#000000"))

    def ticks(self, out: list[Shape]) -> None:
        width = max(1.0, min(self.dx / 2, 3)) if self.calls else 1.5
        for i, e in enumerate(self.trace):
            if e.pid not in self.row:
                continue
            panel, x = self.at(self.call_pos(i))
            cy = self.mid(panel, e.pid)
            out.append(Line(x, cy - 7, x, cy + 7, CALL if e.errno is None else FAILED, width,
                            _describe(i, e)))
            if self.calls and _fits(e.name, self.dx + 6, 8):
                out.append(Text(x, cy - 12, e.name, 8, "#555555", "middle"))

    def arrows(self, out: list[Shape]) -> None:
        """From the end of each call blocked at the end, through the margin, to the lane
        of a process that could wake it."""
        if not self.edges:
            return
        panel, x_end = self.at(self.total)
        for j, w in enumerate(self.edges):
            waker = w.wakers[0]
            ya = self.mid(panel, w.pid) - 3
            yb = self.mid(panel, waker) + 4
            cx = x_end + 10 + 10 * j
            title = f"pid {w.pid} waits for pid {waker}" + (f": {w.why}" if w.why else "")
            out.append(Path(((x_end, ya), (cx, ya), (cx, yb), (x_end + 7, yb)), ARROW, 1.5,
                            None, title))
            out.append(Path(((x_end + 1, yb), (x_end + 8, yb - 3.5), (x_end + 8, yb + 3.5)),
                            ARROW, 1.0, ARROW))

    def legend(self, out: list[Shape], y: float) -> float:
        """The key, wrapped to the width; returns the picture's height."""
        items: list[tuple[str, str, str]] = [
            ("tick", CALL, "system call"), ("tick", FAILED, "failed call"),
            ("box", SLEEPING, "sleeping"), ("box", WAITING, "blocked"),
            ("box", FOREVER, "blocked forever")]
        if self.edges:
            items.append(("arrow", ARROW, "waits for: a process that could wake it"))
        x, y = 6.0, y + 14
        for kind, color, text in items:
            w = 24 + len(text) * 11 * CHAR
            if x + w > self.width - 6 and x > 6:
                x, y = 6.0, y + 18
            if kind == "tick":
                out.append(Line(x + 9, y - 9, x + 9, y + 3, color, 3))
            elif kind == "box":
                out.append(Rect(x, y - 10, 18, 12, color, 0.75))
            else:
                out.append(Line(x, y - 4, x + 12, y - 4, color, 1.5))
                out.append(Path(((x + 18, y - 4), (x + 11, y - 7.5), (x + 11, y - 0.5)),
                                color, 1.0, color))
            out.append(Text(x + 22, y, text))
            x += w + 14
        return y + 10


def _after(first: int) -> str:
    """Where a wait began, in steps the text shows: a call that blocked is not a step
    until it returns, so its wait began after the step before ``first``."""
    return f"after step {first - 1}" if first else "before step 0"


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
