"""Timelines for slides: one layout as SVG and PNG, labels, wait-for arrows, panels, the
README's PNG; who waits for whom in the kernel's state; the notebook views of runs."""
import hashlib
import re
import runpy
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import ipcsim
from ipcsim import IPC_CREAT, IPC_NOWAIT, IPC_SET, IPC_STAT, O_CREAT, O_RDONLY, O_WRONLY
from ipcsim.timeline import (CHAR, FOREVER, LEFT, RIGHT, Layout, Line, Path as ArrowPath,
                             Rect, Text, Timeline, png_description)
from ipcsim.views import (BLOCKED_ROW, DEADLOCKED_ROW, deadlocked, kernel_html, process_html,
                          wait_for)

ROOT = Path(__file__).resolve().parent.parent
PHILOSOPHERS = ROOT / "examples" / "dining_philosophers.py"
SVG = "{http://www.w3.org/2000/svg}"


def philosophers(seed):
    k = ipcsim.Kernel(seed=seed, trace=True)
    runpy.run_path(str(PHILOSOPHERS))["scenario"](k)
    try:
        k.run()
    except ipcsim.DeadlockError:
        pass
    return k


def png_chunks(data):
    """(type, body) of each chunk of a PNG file."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = [], 8
    while i < len(data):
        n, = struct.unpack(">I", data[i:i + 4])
        out.append((data[i + 4:i + 8], data[i + 8:i + 8 + n]))
        i += 12 + n
    return out


def png_text(data):
    return dict(body.decode("latin-1").split("\0", 1) for kind, body in png_chunks(data)
                if kind == b"tEXt")


def png_size(data):
    body = dict(png_chunks(data))[b"IHDR"]
    return struct.unpack(">II", body[:8])


# --- the deadlock: arrows from each blocked call to who could wake it ----------------------
def test_a_deadlock_is_a_cycle_of_waits_and_the_picture_draws_it():
    k = philosophers(33)
    graph = wait_for(k)
    assert [(w.pid, w.wakers) for w in graph] == [(2, (3,)), (3, (4,)), (4, (5,)), (5, (6,)),
                                                  (6, (2,))]
    assert graph[0].why == "sem 1 last changed by pid 3" and not graph[0].timed
    assert deadlocked(graph) == {2, 3, 4, 5, 6}
    tl = Timeline(k)
    root = ET.fromstring(tl.svg())
    arrows = [el for el in root.iter(SVG + "polyline")]
    titles = sorted(el.find(SVG + "title").text for el in arrows)
    assert titles == [f"pid {a} waits for pid {b}: sem {b - 2} last changed by pid {b}"
                      for a, b in ((2, 3), (3, 4), (4, 5), (5, 6))] + \
        ["pid 6 waits for pid 2: sem 0 last changed by pid 2"]
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "waits for: a process that could wake it" in texts          # in the legend
    assert any(t.startswith("seed 33: 12 system calls by 6 processes") and
               t.endswith("5 blocked forever (deadlock)") for t in texts)
    before = tl.svg()
    k.close()                               # the waits end; the picture keeps them
    assert [(w.pid, w.wakers) for w in tl.waits()] == [(w.pid, w.wakers) for w in graph]
    assert tl.svg() == before
    from ipcsim.explore import load_scenario, run_seed
    _, closed = run_seed(load_scenario(str(PHILOSOPHERS)), 33, trace=True)
    assert Timeline(closed).svg() == before


def _receiver(p, q, msgtyp):
    p.msgrcv(q, 100, msgtyp)


def _sender(p, q):
    p.msgsnd(q, 1, b"123456")


def _mq_receiver(p):
    fd = p.mq_open("/box", O_RDONLY)
    p.mq_receive(fd, 8192)


def _pauser(p):
    p.pause()


def _parent(p):
    p.fork(target=_pauser)
    p.wait()


def _timed(p, s):
    p.semtimedop(s, [(0, -1, 0)], 100)


def test_who_could_wake_each_kind_of_wait():
    k = ipcsim.Kernel(seed=0)
    q = k.init.msgget(0x1, IPC_CREAT | 0o600)
    full = k.init.msgget(0x2, IPC_CREAT | 0o600)
    ds = k.init.msgctl(full, IPC_STAT)
    ds.msg_qbytes = 6
    k.init.msgctl(full, IPC_SET, ds)
    teller = k.init.fork()
    teller.msgsnd(q, 1, b"x")                         # the last sender of q
    teller.msgsnd(full, 1, b"abcdef")                 # full now
    reader = k.init.fork()
    reader.msgsnd(full, 2, b"")
    reader.msgrcv(full, 10, 2)                        # the last receiver of full
    waiter = k.init.fork(target=_receiver, args=(q, 7))       # no message of type 7
    stuffer = k.init.fork(target=_sender, args=(full,))
    writer = k.init.fork()
    writer.mq_open("/box", O_CREAT | O_WRONLY, 0o600)
    k.init.mq_open("/box", O_RDONLY)                  # a reader can't wake a receiver
    mq = k.init.fork(target=_mq_receiver)
    parent = k.init.fork(target=_parent)
    s = k.init.semget(0x3, 1, IPC_CREAT | 0o600)
    timed = k.init.fork(target=_timed, args=(s,))
    k.run_until_idle()
    child = max(parent.children)
    graph = {w.pid: w for w in wait_for(k)}
    assert graph[waiter.pid].wakers == (teller.pid,)
    assert graph[waiter.pid].why == f"queue {q} last sent to by pid {teller.pid}"
    assert graph[stuffer.pid].wakers == (reader.pid,)
    assert graph[stuffer.pid].why == f"queue {full} last received from by pid {reader.pid}"
    assert graph[mq.pid].wakers == (writer.pid,)
    assert graph[mq.pid].why == "has /box open for writing"
    assert graph[parent.pid].wakers == (child,)
    assert graph[child].wakers == ()                      # pause: any signal ends it
    assert graph[timed.pid].timed and graph[timed.pid].wakers == ()    # semval never set
    assert list(graph) == sorted(graph)
    # nobody is deadlocked: each has a live waker outside any cycle, a deadline or none
    assert deadlocked(list(graph.values())) == set()
    html = kernel_html(k)
    assert html.count(BLOCKED_ROW) == len(graph) and DEADLOCKED_ROW not in html
    assert f"(waits for pid {teller.pid})" in html
    k.close()


def _take(p, s, first, second):
    p.semop(s, [(first, -1, 0)])
    p.sleep(1)
    p.semop(s, [(second, -1, 0)])


def _on_stuck(p, q):
    p.msgrcv(q, 10)


def test_html_views_highlight_deadlocked_and_blocked_processes():
    k = ipcsim.Kernel(seed=1)
    s = k.init.semget(0x9, 2, IPC_CREAT | 0o600)
    k.init.semctl(s, 0, ipcsim.SETALL, [1, 1])
    a = k.init.fork(target=_take, args=(s, 0, 1))
    b = k.init.fork(target=_take, args=(s, 1, 0))
    q = k.init.msgget(0x8, IPC_CREAT | 0o600)
    a_msg = k.init.fork()
    a_msg.msgsnd(q, 1, b"x")
    k.init.msgrcv(q, 10)                               # the host received it
    a_msg.exit(0)                                      # its last sender is gone
    loner = k.init.fork(target=_on_stuck, args=(q,))
    with pytest.raises(ipcsim.DeadlockError):
        k.run()
    graph = wait_for(k)
    assert [(w.pid, w.wakers) for w in graph] == [(a.pid, (b.pid,)), (b.pid, (a.pid,)),
                                                  (loner.pid, ())]
    assert deadlocked(graph) == {a.pid, b.pid}
    html = kernel_html(k)
    ET.fromstring(html)
    assert html.count(f"<tr style='{DEADLOCKED_ROW}'>") == 2
    assert html.count(f"<tr style='{BLOCKED_ROW}'>") == 1
    assert f"(deadlocked: waits for pid {b.pid})" in html
    row = process_html(a)
    assert f"<tr style='{DEADLOCKED_ROW}'><td style='padding:0 8px'>state</td>" in row
    assert f"<tr style='{BLOCKED_ROW}'><td style='padding:0 8px'>state</td>" in \
        process_html(loner)
    assert "<tr style" not in process_html(k.init)
    k.close()


# --- one layout, two renderers -------------------------------------------------------------
def test_svg_and_png_draw_one_layout(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    from matplotlib.image import imread
    k = philosophers(33)
    tl = Timeline(k, title="five philosophers")
    layout = tl.layout()
    assert tl.svg() == layout.svg()
    tl.png(str(tmp_path / "a.png"))
    tl.png(str(tmp_path / "b.png"), dpi=200)
    a, b = (tmp_path / "a.png").read_bytes(), (tmp_path / "b.png").read_bytes()
    assert png_size(a) == (layout.width, layout.height)
    assert png_size(b) == (2 * layout.width, 2 * layout.height)
    meta = png_text(a)
    assert meta["Title"] == "five philosophers"
    assert meta["Description"] == png_description(layout) == \
        f"ipcsim timeline, layout sha256 {hashlib.sha256(tl.svg().encode()).hexdigest()}"
    # the bars are where the layout puts them, in their colour (75% over white)
    pixels = imread(str(tmp_path / "a.png"))
    bars = [s for s in layout.shapes if isinstance(s, Rect) and s.fill == FOREVER and s.title]
    assert len(bars) == 5
    want = [round(0.75 * int(FOREVER[i:i + 2], 16) + 0.25 * 255) for i in (1, 3, 5)]
    for bar in bars:
        r, g, b_ = (pixels[int(bar.y + 3), int(bar.x + bar.w - 3)][:3] * 255).round()
        assert max(abs(r - want[0]), abs(g - want[1]), abs(b_ - want[2])) <= 2
    (tmp_path / "c.png").unlink(missing_ok=True)
    tl.png(str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").read_bytes() == a          # the same bytes every time
    with pytest.raises(ValueError):
        tl.png(str(tmp_path / "d.png"), dpi=0)
    k.close()


def test_the_readme_shows_the_png_its_command_draws(tmp_path, capsys):
    """The README's deadlock picture: the command next to it draws exactly its layout (the
    PNG records the layout's digest), with the legend and the arrows."""
    from ipcsim.cli import main
    readme = (ROOT / "README.md").read_text()
    assert "![" in readme and "](docs/deadlock.png)" in readme
    m = re.search(r"^ipcsim run (\S+) --seed (\d+) --quiet --png docs/deadlock\.png$", readme,
                  re.M)
    assert m, "the README shows the command that draws docs/deadlock.png"
    svg = tmp_path / "same.svg"
    main(["run", str(ROOT / m[1]), "--seed", m[2], "--quiet", "--svg", str(svg)])
    capsys.readouterr()
    committed = (ROOT / "docs" / "deadlock.png").read_bytes()
    digest = hashlib.sha256(svg.read_bytes()).hexdigest()
    assert png_text(committed)["Description"] == f"ipcsim timeline, layout sha256 {digest}"
    root = ET.fromstring(svg.read_text())
    assert png_size(committed) == (int(root.get("width")), int(root.get("height")))
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "blocked forever" in texts and "waits for: a process that could wake it" in texts
    assert len(list(root.iter(SVG + "polyline"))) == 5


def test_the_readme_png_is_byte_for_byte_what_this_matplotlib_draws(tmp_path, capsys):
    matplotlib = pytest.importorskip("matplotlib",
                                     reason="the plot extra (matplotlib) is not installed")
    from ipcsim.cli import main
    committed = (ROOT / "docs" / "deadlock.png").read_bytes()
    software = png_text(committed).get("Software", "")
    if f"version{matplotlib.__version__}," not in software:
        pytest.skip(f"docs/deadlock.png was drawn by {software!r}, this is matplotlib "
                    f"{matplotlib.__version__} (the layout is checked without matplotlib)")
    out = tmp_path / "deadlock.png"
    main(["run", str(PHILOSOPHERS), "--seed", "33", "--quiet", "--png", str(out)])
    capsys.readouterr()
    assert out.read_bytes() == committed


# --- what the picture says -----------------------------------------------------------------
def test_bars_and_calls_carry_labels_where_they_fit():
    k = philosophers(5)
    layout = Timeline(k).layout()
    bars = [s for s in layout.shapes if isinstance(s, Rect) and s.title]
    labels = [s for s in layout.shapes if isinstance(s, Text) and s.size == 9
              and s.fill in ("#000000", "#ffffff")]
    assert len(labels) >= 10
    for label in labels:                      # inside a bar, and narrower than it
        bar = next(b for b in bars if b.x < label.x < b.x + b.w and b.y < label.y < b.y + b.h)
        assert len(label.text) * label.size * CHAR + 6 <= bar.w
        what = bar.title.split(" blocked in ")[1].rsplit(": steps", 1)[0]
        short = re.sub(r" of ipc:\[\d+\]", "", what)           # without its namespace
        call = short.split(" ")[0]
        detail = short.rsplit("(", 1)[-1].rstrip(")")
        assert label.text in (short, f"{call} ({detail})", detail, call)
    assert {"semop (sem 1 -1)", "sleep(1)"} <= {t.text for t in labels}
    names = [s for s in layout.shapes if isinstance(s, Text) and s.size == 8]
    assert names == []                        # 52 calls: a step is too narrow for a name
    k.close()
    k = philosophers(33)                      # 12 calls: each is named above its tick
    layout = Timeline(k).layout()
    names = [s.text for s in layout.shapes if isinstance(s, Text) and s.size == 8]
    assert names == [e.name for e in k.trace]
    k.close()


def _ping(p, q, r, n):
    for _ in range(n):
        p.msgsnd(q, 1, b"x")
        p.msgrcv(r, 10)


def _pong(p, q, r, n):
    for i in range(n):
        p.msgrcv(q, 10)
        if i % 10 == 0:
            p.sleep(1)
        p.msgsnd(r, 1, b"y")


def ping_pong(rounds=124):
    k = ipcsim.Kernel(seed=1, trace=True)
    q = k.init.msgget(1, IPC_CREAT | 0o600)
    r = k.init.msgget(2, IPC_CREAT | 0o600)
    k.init.fork(target=_ping, args=(q, r, rounds))
    k.init.fork(target=_pong, args=(q, r, rounds))
    k.run()
    return k


def test_500_calls_fold_into_panels_a_step_at_least_6_pixels_wide():
    k = ping_pong()
    assert len(k.trace) >= 500
    layout = Timeline(k).layout()
    labels = [s for s in layout.shapes if isinstance(s, Text) and s.text == "pid 2 _ping"]
    panels = len(labels)
    assert panels == 4
    ticks = [s for s in layout.shapes if isinstance(s, Line) and s.title.startswith("step ")]
    assert len(ticks) == len(k.trace)
    rows: dict[float, list[float]] = {}
    for t in ticks:
        assert LEFT <= t.x1 <= layout.width - RIGHT
        rows.setdefault(t.y1, []).append(t.x1)
    assert len(rows) == 2 * panels + 1              # init calls in the first panel only
    step = min(b - a for xs in rows.values() for a, b in zip(sorted(xs), sorted(xs)[1:])
               if b > a)
    assert step >= 6 - 1e-6
    header = [s.text for s in layout.shapes if isinstance(s, Text) and "panels of" in s.text]
    assert header and header[0].endswith("; 4 panels of 129 steps")
    assert layout.height > 4 * 3 * 34
    # fold= chooses; the lanes end and start again at the panels' edges
    two = Timeline(k).layout(fold=300)
    assert len([s for s in two.shapes if isinstance(s, Text) and s.text == "pid 2 _ping"]) == 2
    k.close()


def test_a_fold_making_more_than_1000_panels_is_refused_naming_the_smallest_allowed():
    k = philosophers(5)                   # 52 calls, t=0s..8s
    calls, time = Timeline(k), Timeline(k, x="time")
    with pytest.raises(ValueError, match=r"^fold 1e-09 would make more than 1000 panels: "
                                         r"the smallest fold for this run is 0\.008 s$"):
        time.layout(fold=1e-9)
    with pytest.raises(ValueError, match=r"more than 1000 panels.* is 0\.008 s$"):
        time.png("/nonexistent/never-written.png", fold=5e-324)
    with pytest.raises(ValueError, match=r"fold 0\.01 would make .* is 1 steps$"):
        calls.svg(fold=0.01)
    # the smallest fold it names is allowed, and makes 1,000 panels at most
    labels = [s for s in time.layout(fold=0.008).shapes
              if isinstance(s, Text) and s.text == "pid 2 philosopher"]
    assert len(labels) == 1000
    assert len(calls.layout(fold=1).shapes) > 53
    k.close()


def test_time_axis_title_and_pid_filter():
    k = philosophers(5)
    tl = Timeline(k, title="seed 5 <by time>", pids=[2, 3], x="time")
    assert tl.lanes() == [(2, "pid 2 philosopher"), (3, "pid 3 philosopher")]
    root = ET.fromstring(tl.svg())
    texts = [t.text for t in root.iter(SVG + "text")]
    assert texts[0] == "seed 5 <by time>"
    assert texts[1] == "seed 5: 52 system calls by 6 processes (pids 2, 3 shown), t=0s..8s"
    assert "x axis: virtual time (s); calls made at the same time overlap" in texts
    assert [t for t in texts if re.fullmatch(r"\d+s", t)] == [f"{n}s" for n in range(9)]
    layout = tl.layout()
    ticks = [s for s in layout.shapes if isinstance(s, Line) and s.title.startswith("step ")]
    assert len(ticks) == sum(e.pid in (2, 3) for e in k.trace)
    x0 = [t.x1 for t in ticks if t.title.startswith("step ") and ", t=0s:" in t.title]
    x8 = [t.x1 for t in ticks if ", t=8s:" in t.title]
    per_second = (layout.width - LEFT - RIGHT) / 8
    assert not x8 or abs(x8[0] - LEFT - 8 * per_second) < 0.2
    assert all(abs(x - LEFT) < 0.2 for x in x0)
    text = tl.text()
    assert all(" pid 2 " in line or " pid 3 " in line for line in text.splitlines())
    with pytest.raises(ValueError):
        Timeline(k, x="steps")
    with pytest.raises(TypeError):
        Timeline(k, pids=["2"])
    with pytest.raises(ValueError):
        tl.layout(fold=0)
    k.close()


def test_repr_and_notebook_displays():
    k = philosophers(33)
    tl = Timeline(k)
    assert repr(tl) == "<Timeline of 12 calls by 6 processes, t=0s..0s, 5 blocked forever>"
    assert tl._repr_svg_() == tl.svg()
    html = tl._repr_html_()
    assert html.startswith('<div style="overflow-x:auto') and tl.svg() in html
    empty = Timeline(ipcsim.Kernel(trace=True))
    assert repr(empty) == "<Timeline of 0 calls by 0 processes, t=0s..0s>"
    ET.fromstring(empty.svg())
    # pids: only their calls, lanes and waits count
    assert repr(Timeline(k, pids=[2, 3])) == \
        "<Timeline of 2 calls by 2 processes, t=0s..0s, 2 blocked forever>"
    assert repr(Timeline(k, pids=[1])) == "<Timeline of 7 calls by 1 process, t=0s..0s>"
    k.close()


def test_pids_that_made_no_call_draw_no_lane_and_say_so():
    k = philosophers(33)
    tl = Timeline(k, pids=[99, 98])
    assert repr(tl) == "<Timeline of 0 calls by 0 processes, t=0s..0s>"
    assert tl.text() == "(no system calls by pids 98, 99)"
    texts = [t.text for t in ET.fromstring(tl.svg()).iter(SVG + "text")]
    assert texts[0] == ("seed 33: 12 system calls by 6 processes (none by pids 98, 99: no lane "
                        "shown), t=0s..0s")
    k.close()


def test_a_title_with_control_characters_makes_valid_svg():
    k = philosophers(33)
    tl = Timeline(k, title="a\x01b\x1b[31mc\td\ufffe")
    root = ET.fromstring(tl.svg())
    assert [t.text for t in root.iter(SVG + "text")][0] == "ab[31mc\td"
    k.close()


def test_layout_shapes_render_to_svg_elements():
    layout = Layout(100, 50, (Rect(1, 2, 3, 4, "#fff", 0.5, "a<b"), Line(0, 0, 1, 1, "#000"),
                              Text(5, 6, "x&y", 9, "#111", "middle", True),
                              ArrowPath(((0, 0), (1, 1)), "#222", 1.5, None, "t"),
                              ArrowPath(((0, 0), (1, 1), (0, 1)), "#222", 1.0, "#222")))
    root = ET.fromstring(layout.svg())
    kinds = [el.tag.replace(SVG, "") for el in root]
    assert kinds == ["rect", "rect", "line", "text", "polyline", "polygon"]
    assert root[1].get("fill-opacity") == "0.5" and root[1][0].text == "a<b"
    assert root[3].text == "x&y" and root[3].get("text-anchor") == "middle"
    assert root[3].get("font-weight") == "bold" and root[4].get("fill") == "none"


# --- explorations in a notebook ------------------------------------------------------------
def test_an_exploration_displays_its_kinds_and_seeds_without_timings():
    from ipcsim.explore import explore
    report = explore(str(PHILOSOPHERS), range(60))
    deadlocks = report.seeds("deadlock")
    assert deadlocks == [33, 55]
    html = report._repr_html_()
    root = ET.fromstring(html)
    assert f"<tr style='{DEADLOCKED_ROW}'><td style='padding:0 8px'>deadlock</td>" in html
    assert f"ipcsim run {PHILOSOPHERS} --seed 33</code>" in html
    assert "seeds/s" not in html and " s:" not in html
    svg = ET.fromstring(report._repr_svg_())
    cells = [el for el in svg.iter(SVG + "rect")]
    covered = []
    for cell in cells:
        title = cell.find(SVG + "title").text
        m = re.match(r"seeds? (\d+)(?:-(\d+))?: (\w+)", title)
        first, last = int(m[1]), int(m[2] or m[1])
        covered += range(first, last + 1)
        assert (m[3] == "deadlock") == (cell.get("fill") == FOREVER)
        assert float(cell.get("width")) == (last - first + 1) * 12 - 1
    assert covered == list(range(60))
    assert root.find("svg") is not None or "<svg" in html
    from ipcsim.notebook import mime_bundle
    bundle = mime_bundle(report)
    assert bundle["text/plain"] == [f"<Report of {PHILOSOPHERS} (scenario): 60 seeds, 58 ok "
                                    f"(1 outcome), 2 deadlock, 0 failed>"]
    assert set(bundle) == {"text/plain", "text/html", "image/svg+xml"}


def test_the_example_pictures_exist_in_svg_for_the_readme():
    for seed in (33, 5):
        ET.fromstring((ROOT / "docs" / f"dining-philosophers-seed{seed}.svg").read_text())


def test_a_blocked_call_with_no_deadlock_draws_no_arrow():
    k = ipcsim.Kernel(seed=0, trace=True)
    q = k.init.msgget(0x1, IPC_CREAT | 0o600)
    k.init.fork(target=_on_stuck, args=(q,))
    k.run_until_idle()
    tl = Timeline(k)
    assert [w.wakers for w in tl.waits()] == [()]
    root = ET.fromstring(tl.svg())
    assert not list(root.iter(SVG + "polyline"))
    assert "waits for: a process that could wake it" not in [t.text for t in
                                                          root.iter(SVG + "text")]
    k.init.msgsnd(q, 1, b"go", IPC_NOWAIT)
    k.run()
    assert not any(b.forever for b in tl.intervals())
    k.close()


def test_the_text_names_only_steps_it_printed():
    """A wait began after a printed step: the blocked call itself is not a step until it
    returns, so the text never points at a step it did not show."""
    for seed in (33,):                    # a seed that deadlocks
        k = philosophers(seed)
        text = Timeline(k).text()
        printed = {int(m) for m in re.findall(r"^\s*(\d+) t=", text, re.M)}
        named = [int(m) for m in re.findall(r"after step (\d+)", text)]
        assert named and set(named) <= printed
        assert "since step" not in text


def test_a_wait_ended_by_exit_names_where_it_began_and_the_exit():
    k = ipcsim.Kernel(seed=1, trace=True)
    qid = k.init.msgget(ipcsim.IPC_PRIVATE, IPC_CREAT | 0o600)
    child = k.init.fork(lambda p: p.msgrcv(qid, 100, 0))
    with pytest.raises(ipcsim.DeadlockError):
        k.run()
    k.init.kill(child.pid, ipcsim.SIGKILL)
    k.init.wait()
    text = Timeline(k).text()
    exit_step = next(i for i, e in enumerate(k.trace) if e.name == "exit" and e.pid == child.pid)
    assert f"in msgrcv on queue {qid} " in text
    began = Timeline(k).intervals()[0].first - 1
    assert k.trace[began].pid == k.init.pid and began < exit_step
    assert f"(blocked after step {began}, exited at step {exit_step}," in text


def test_runs_that_did_not_finish_and_an_interrupted_exploration_display():
    import attrs

    from ipcsim.explore import explore
    report = explore(str(PHILOSOPHERS), range(6), max_steps=5)
    assert report.seeds("unfinished") == list(range(6))
    html = report._repr_html_()
    ET.fromstring(html)
    assert "<td style='padding:0 8px'>unfinished</td><td style='padding:0 8px'>6</td>" in html
    assert f"ipcsim run {PHILOSOPHERS} --seed 0 --max-steps 5</code>" in html
    svg = ET.fromstring(report._repr_svg_())
    titles = [cell.find(SVG + "title").text for cell in svg.iter(SVG + "rect")]
    assert titles and all(": unfinished: " in t for t in titles)
    stopped = attrs.evolve(report, interrupted=True)
    assert repr_text(stopped).startswith("<Interrupted (Ctrl-C): Report of ")
    assert repr_text(stopped).endswith(", 6 did not finish>")


def repr_text(report):
    from ipcsim.notebook import mime_bundle
    return mime_bundle(report)["text/plain"][0]
