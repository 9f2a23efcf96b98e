"""The ipcsim command: demo, shell, run, explore, --seed and --help."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipcsim.cli import main

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")

ROOT = Path(__file__).resolve().parent.parent
PHILOSOPHERS = str(ROOT / "examples" / "dining_philosophers.py")


def test_demo_tells_the_tour(capsys):
    assert main(["demo", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("A new machine: init is pid 1")
    assert "after umount: alive? False" in out


def test_demo_seed_changes_the_interleaving(capsys):
    orders = set()
    for seed in range(4):
        assert main(["demo", "--seed", str(seed)]) == 0
        [line] = [x for x in capsys.readouterr().out.splitlines() if " raced to queue " in x]
        orders.add(line.split("arrived as ")[1].split(" (")[0])
    assert len(orders) > 1
    assert all(sorted(o.split()) == ["a1", "a2", "b1", "b2"] for o in orders)


def test_demo_source_is_the_tour(capsys):
    assert main(["demo", "--source"]) == 0
    assert "def main(seed: int = 0)" in capsys.readouterr().out


def test_run_shows_the_timeline_and_the_deadlock(capsys, tmp_path):
    svg = tmp_path / "run.svg"
    assert main(["run", PHILOSOPHERS, "--seed", "33", "--svg", str(svg)]) == 1
    out = capsys.readouterr().out
    assert "blocked forever: pid 2 in semop" in out
    assert out.rstrip().splitlines()[-1].startswith("deadlock: pid 2 waits in semop")
    assert svg.read_text().startswith("<svg")


def test_run_draws_the_timeline_with_the_options_given(capsys, tmp_path):
    from ipcsim.kernel.kernel import Kernel
    from ipcsim.timeline import Timeline
    import runpy
    svg = tmp_path / "run.svg"
    assert main(["run", PHILOSOPHERS, "--seed", "33", "--svg", str(svg), "--quiet",
                 "--title", "Two of them", "--pids", "2,3", "--x", "time",
                 "--width", "1400", "--fold", "2"]) == 1
    # the same picture as Timeline(k, title=, pids=, x=).svg(width, fold) draws
    k = Kernel(seed=33, trace=True)
    tl = Timeline(k, title="Two of them", pids=[2, 3], x="time")
    runpy.run_path(PHILOSOPHERS)["scenario"](k)
    with pytest.raises(Exception):
        k.run()
    assert svg.read_text() == tl.svg(1400, 2.0)
    k.close()
    for bad in (["--dpi", "5"], ["--width", "10"], ["--fold", "0"], ["--pids", "2,x"],
                ["--x", "steps"]):
        with pytest.raises(SystemExit):
            main(["run", PHILOSOPHERS] + bad)
        assert "error: argument" in capsys.readouterr().err


def test_run_is_the_same_for_the_same_seed(capsys):
    main(["run", PHILOSOPHERS, "--seed", "5"])
    first = capsys.readouterr().out
    main(["run", PHILOSOPHERS, "--seed", "5"])
    assert capsys.readouterr().out == first
    assert first.rstrip().endswith("outcome: [2, 2, 2, 2, 2]")


def test_explore_reports_deadlocks_and_rate(capsys):
    assert main(["explore", PHILOSOPHERS, "--seeds", "40", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "seeds/s" in out and "deadlock" in out
    assert "replay it: ipcsim run" in out


def test_explore_fixed_version_is_clean_with_jobs(capsys):
    assert main(["explore", PHILOSOPHERS, "--entry", "scenario_fixed", "--seeds", "30",
                 "--jobs", "2", "--seed", "100"]) == 0
    assert "ok            30 seeds, 1 distinct outcome" in capsys.readouterr().out


def test_explore_results_do_not_depend_on_jobs():
    from ipcsim.explore import explore
    one = explore(PHILOSOPHERS, range(60), jobs=1)
    two = explore(PHILOSOPHERS, range(60), jobs=2)
    assert one.results == two.results


def test_shell_script_mode_from_stdin():
    script = "ipcmk -Q\nunshare --ipc ipcs -q\nipcs -q\nexit 3\n"
    proc = subprocess.run([sys.executable, "-m", "ipcsim.cli", "shell", "--seed", "1"],
                          input=script, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 3
    assert proc.stdout.count("------ Message Queues --------") == 2
    assert proc.stdout.count("0          root       644") == 1


def test_shell_echo_and_commands(capsys, monkeypatch):
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("ipcmk -S 2\nipcs -s\n"))
    assert main(["shell", "--echo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[pid 2 ipc:[4026531839]]# ipcmk -S 2\nSemaphore id: 0\n")
    assert main(["shell", "-c", "ipcmk -Q; ipcs -q -i 0 >/dev/null; echo $?"]) == 0
    assert capsys.readouterr().out.endswith("0\n")


@pytest.mark.parametrize("command", ["demo", "shell", "run", "explore"])
def test_help_teaches_and_offers_seed(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--seed" in out
    assert f"Examples:\n  ipcsim {command}" in out


def test_top_level_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "ipcsim explore examples/dining_philosophers.py" in out
    assert main([]) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a pty (Linux)")
def test_interactive_shell_has_a_prompt_completion_and_history():
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:        # the child: the shell on a terminal
        os.environ["PYTHONPATH"] = str(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "ipcsim.cli", "shell"])

    def read(until: str, timeout: float = 10.0) -> str:
        out, end = "", time.monotonic() + timeout
        while until not in out and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    out += os.read(fd, 4096).decode(errors="replace")
                except OSError:
                    break
        return out

    try:
        assert "[pid 2 ipc:[4026531839]]# " in read("# ")
        os.write(fd, b"ipcm\t -Q\n")                      # completes to "ipcmk "
        assert "Message queue id: 0" in read("id: 0")
        os.write(fd, b"unshare --ipc\n")
        assert "ipc:[4026531840]]# " in read("40]]# ")
        os.write(fd, b"\x1b[A")                           # history: the last command
        assert "unshare --ipc" in read("--ipc")
        os.write(fd, b"\x15exit\n")
        read("39]]# ")
        os.write(fd, b"\x04")                             # end of input at the top
        assert "exit" in read("exit")
    finally:
        os.close(fd)
        os.waitpid(pid, 0)


def test_progress_bar_draws_on_a_terminal_only():
    import io
    from ipcsim.explore import Progress, explore
    stream = io.StringIO()
    bar = Progress(20, stream=stream, enabled=True)
    report = explore(PHILOSOPHERS, range(20), progress=bar)
    assert "\r[" in stream.getvalue() and "20/20 seeds" in stream.getvalue()
    assert len(report.results) == 20
    quiet = io.StringIO()
    assert not Progress(5, stream=quiet).enabled        # StringIO is not a terminal


RACE = '''
import ipcsim

def writer(p, qid, tag):
    p.msgsnd(qid, 1, tag)

def scenario(k):
    qid = k.init.msgget(ipcsim.IPC_PRIVATE, ipcsim.IPC_CREAT | 0o600)
    for tag in (b"a", b"b"):
        k.init.fork(target=writer, args=(qid, tag))
    def outcome():
        first = k.init.msgrcv(qid, 10, 0, ipcsim.IPC_NOWAIT)[1]
        if first == b"b" and k.seed % 7 == 0:
            raise RuntimeError("b first on a multiple of 7")
        return first
    return outcome
'''


def test_explore_reports_differing_outcomes_and_failures(tmp_path, capsys):
    race = tmp_path / "race.py"
    race.write_text(RACE)
    from ipcsim.explore import explore
    report = explore(str(race), range(60))
    outcomes = report.outcomes()
    assert set(outcomes) == {"b'a'", "b'b'"}
    failed = report.seeds("failed")
    assert failed and all(seed % 7 == 0 for seed in failed)
    # the outcome function runs after the run, in no program: the line, no pid
    assert report.first("failed").detail == \
        f"at {race}:14 (outcome): RuntimeError: b first on a multiple of 7"
    text = report.text()
    assert "2 distinct outcomes" in text and "(first seed" in text
    assert main(["explore", str(race), "--seeds", "60"]) == 1
    assert main(["run", str(race), "--seed", str(failed[0]), "--quiet"]) == 1
    assert capsys.readouterr().out.rstrip().endswith(
        f"failed: at {race}:14 (outcome): RuntimeError: b first on a multiple of 7")


def test_python_dash_m_ipcsim_is_the_command():
    """Where pip's scripts directory is not on PATH, ``python3 -m ipcsim`` does the same."""
    proc = subprocess.run([sys.executable, "-m", "ipcsim", "demo"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "only the initial namespace is left" in proc.stdout


def test_explore_results_with_differing_outcomes_do_not_depend_on_jobs(tmp_path, capsys):
    race = tmp_path / "race.py"
    race.write_text(RACE)
    from ipcsim.explore import explore
    one = explore(str(race), range(10, 70), jobs=1)
    three = explore(str(race), range(10, 70), jobs=3)
    assert one.results == three.results and len(one.outcomes()) == 2
    assert one.results == explore(str(race), range(10, 70)).results     # by seed, again
    assert main(["explore", str(race), "--seeds", "30", "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""            # no progress bar: stderr is not a terminal
    assert "with 2 jobs" in captured.out


def test_explore_and_run_explain_a_file_that_cannot_be_loaded(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import ipcsim\n\ndef scenario(k)\n    pass\n")
    for argv in (["explore", str(bad)], ["run", str(bad)]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert str(e.value) == (f"ipcsim: {bad}:3: SyntaxError: expected ':'\n"
                                f"    def scenario(k)")
    broken = tmp_path / "broken.py"
    broken.write_text("import ipcsim\nimport no_such_module_here\n")
    with pytest.raises(SystemExit) as e:
        main(["explore", str(broken)])
    assert str(e.value) == (f"ipcsim: {broken}:2: loading it raised ModuleNotFoundError: "
                            f"No module named 'no_such_module_here'")
    for path, why in ((tmp_path, "Is a directory"),
                      (tmp_path / "missing.py", "No such file or directory")):
        for command in ("run", "explore"):
            with pytest.raises(SystemExit) as e:
                main([command, str(path)])
            assert str(e.value) == f"ipcsim: cannot run {path}: {why}"
    empty = tmp_path / "empty.py"
    empty.write_text("scenario = 3\n")
    with pytest.raises(SystemExit) as e:
        main(["explore", str(empty)])
    assert str(e.value) == f"ipcsim: {empty} defines no function scenario(k)"
    with pytest.raises(SystemExit) as e:
        main(["explore", str(empty), "--seeds", "0"])
    assert e.value.code == 2
    assert "argument --seeds: must be at least 1, not 0" in capsys.readouterr().err


def test_a_scenario_that_raises_or_exits_fails_its_seeds_without_ending_the_exploration(
        tmp_path):
    from ipcsim.explore import explore
    raises = tmp_path / "raises.py"
    raises.write_text("import sys\n\ndef scenario(k):\n    if k.seed % 2:\n"
                      "        sys.exit(3)\n    raise ValueError('no table')\n")
    for jobs in (1, 2):
        report = explore(str(raises), range(6), jobs=jobs)
        assert report.seeds("failed") == list(range(6))
        assert {r.detail for r in report.results} == {f"at {raises}:5 (scenario): SystemExit: 3",
                                                       f"at {raises}:6 (scenario): ValueError: no table"}


def test_a_worker_that_dies_fails_its_chunk_and_the_exploration_goes_on(tmp_path):
    from ipcsim.explore import explore
    dies = tmp_path / "dies.py"
    dies.write_text("import os, signal\n\ndef scenario(k):\n"
                    "    if k.seed == 3:\n        os._exit(5)\n"
                    "    if k.seed == 41:\n        os.kill(os.getpid(), signal.SIGKILL)\n"
                    "    return lambda: k.seed % 2\n")
    report = explore(str(dies), range(60), jobs=2)      # chunks of 3 seeds: 3-5, 39-41
    assert [r.seed for r in report.results] == list(range(60))
    assert report.seeds("failed") == [3, 4, 5, 39, 40, 41]
    details = {r.seed: r.detail for r in report.results if r.kind == "failed"}
    assert details[4] == "the worker running it died (exit status 5)"
    assert details[40] == "the worker running it died (killed by SIGKILL)"
    assert [r.outcome for r in report.results if r.kind == "ok"] == \
        [repr(seed % 2) for seed in range(60) if seed not in details]


def test_many_outcomes_are_summarised(tmp_path):
    from ipcsim.explore import explore
    many = tmp_path / "many.py"
    many.write_text("def scenario(k):\n    return lambda: 'x' * 200 + str(k.seed)\n")
    text = explore(str(many), range(20)).text()
    assert "20 distinct outcomes" in text
    assert "... 8 more outcomes (8 seeds): Report.outcomes() has them all" in text
    assert max(len(line) for line in text.splitlines()) < 160


def test_outcomes_with_addresses_get_a_hint(tmp_path):
    from ipcsim.explore import explore
    addr = tmp_path / "addr.py"
    # Every plate is kept: a freed one's address may be the next one's (how soon depends
    # on the allocations between), and equal reprs would be one outcome.
    addr.write_text("class Plate:\n    pass\n\n\nKEPT = []\n\n\ndef scenario(k):\n"
                    "    plate = Plate()\n    KEPT.append(plate)\n    return lambda: plate\n")
    text = explore(str(addr), range(3)).text()
    assert "3 distinct outcomes" in text and "outcomes show memory addresses" in text


def test_run_and_explore_give_the_same_answers_with_either_executor(capsys):
    outs = []
    for executor in ("greenlet", "threads"):
        main(["run", PHILOSOPHERS, "--seed", "33", "--executor", executor])
        main(["explore", PHILOSOPHERS, "--seeds", "60", "--executor", executor,
              "--no-progress"])
        out = capsys.readouterr().out
        outs.append([line for line in out.splitlines() if "seeds/s" not in line])
    assert outs[0] == outs[1]
    assert any("deadlock" in line for line in outs[0])


LONG_SCENARIO = '''
def spin(p, sem):
    for _ in range(10_000_000):
        p.semop(sem, [(0, -1, 0)])
        p.semop(sem, [(0, 1, 0)])

def scenario(k):
    sem = k.init.semget(0, 1, 0o600)
    k.init.semctl(sem, 0, 16, 1)          # SETVAL
    for _ in range(3):
        k.init.fork(target=spin, args=(sem,))
'''


def interrupted(tmp_path, args):
    """Run the command on LONG_SCENARIO in a child Python, Ctrl-C it after half a second."""
    path = tmp_path / "long.py"
    path.write_text(LONG_SCENARIO)
    code = ("import _thread, sys, threading\n"
            "from ipcsim.cli import main\n"
            "threading.Timer(0.5, _thread.interrupt_main).start()\n"
            f"sys.exit(main([{args[0]!r}, {str(path)!r}, *{args[1:]!r}]))\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=str(ROOT))


def test_ctrl_c_during_run_prints_the_timeline_so_far_and_no_traceback(tmp_path):
    proc = interrupted(tmp_path, ["run", "--quiet"])
    assert proc.returncode == 130
    assert proc.stdout.startswith("interrupted (Ctrl-C) after ")
    assert "Traceback" not in proc.stderr


def test_ctrl_c_during_explore_prints_the_partial_report_and_no_traceback(tmp_path):
    proc = interrupted(tmp_path, ["explore", "--seeds", "3", "--no-progress"])
    assert proc.returncode == 130
    assert proc.stderr == ""
    assert proc.stdout.startswith("interrupted (Ctrl-C): explored 0 seeds of ")


def processes_running(text: str) -> list[str]:
    """The pids of the processes whose command line holds ``text``: from /proc where there
    is one (pgrep is procps's, which a minimal Linux may lack), else pgrep's answer."""
    if not os.path.isdir("/proc/self"):
        found = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True)
        return found.stdout.split()
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    pids.append(pid)
        except OSError:
            continue                # gone meanwhile
    return pids


def test_png_writes_exactly_the_path_given_as_png_and_says_why_it_cannot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    named_svg = tmp_path / "x.svg"
    assert main(["run", PHILOSOPHERS, "--quiet", "--png", str(named_svg)]) == 0
    assert named_svg.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.svg"]
    for option in ("--png", "--svg"):
        assert main(["run", PHILOSOPHERS, "--quiet", option, str(tmp_path)]) == 1
        assert capsys.readouterr().err == f"ipcsim: cannot write {tmp_path}: Is a directory\n"
        with pytest.raises(SystemExit) as exit_:
            main(["run", PHILOSOPHERS, option, ""])
        assert exit_.value.code == 2
        assert f"error: argument {option}: an empty file name" in capsys.readouterr().err
    assert main(["run", PHILOSOPHERS, "--quiet", "--png", "/dev/full"]) == 1
    assert capsys.readouterr().err == "ipcsim: cannot write /dev/full: No space left on device\n"
    assert not os.path.exists("/dev/full.png")


def test_a_fold_making_too_many_panels_is_an_error_of_the_option(tmp_path, capsys):
    svg = tmp_path / "o.svg"
    assert main(["run", PHILOSOPHERS, "--quiet", "--svg", str(svg), "--x", "time",
                 "--fold", "1e-9"]) == 2
    assert capsys.readouterr().err == (
        "ipcsim run: error: argument --fold: fold 1e-09 would make more than 1000 panels: "
        "the smallest fold for this run is 0.01 s\n")
    assert not svg.exists()
    assert main(["run", PHILOSOPHERS, "--quiet", "--svg", str(svg), "--x", "time",
                 "--fold", "0.01"]) == 0
    assert svg.read_text().count(">pid 2 philosopher</text>") <= 1000


def test_ctrl_c_during_the_demo_says_interrupted_with_status_130(monkeypatch, capsys):
    import signal
    from ipcsim import demo
    from ipcsim.kernel.kernel import Kernel

    def interrupted(seed: int) -> None:
        # SIGINT arrives while a program of the demo runs: that program fails of it
        k = Kernel(seed=seed)
        k.init.fork(target=lambda p: os.kill(os.getpid(), signal.SIGINT))
        k.run()
        k.close()
        print("the demo went on")
    monkeypatch.setattr(demo, "main", interrupted)
    assert main(["demo"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "ipcsim: interrupted\n"
    assert "Traceback" not in captured.out + captured.err


PING_PONG = """\
from ipcsim import IPC_CREAT

def ping(p, q):
    while True:
        p.msgsnd(q, 1, b"x")
        p.msgrcv(q, 100, 2)

def pong(p, q):
    while True:
        p.msgrcv(q, 100, 1)
        p.msgsnd(q, 2, b"y")

def waiter(p, q):
    p.msgrcv(q, 100, 9)

def sleeper(p, q):
    p.sleep(60)

def scenario(k):
    q = k.init.msgget(1, IPC_CREAT | 0o600)
    for fn in (waiter, ping, pong):
        k.init.fork(target=fn, args=(q,))

def scenario_sleeping(k):
    q = k.init.msgget(1, IPC_CREAT | 0o600)
    for fn in (waiter, sleeper):
        k.init.fork(target=fn, args=(q,))
"""


def test_a_run_stopped_by_a_limit_shows_calls_still_blocked_at_the_limit(tmp_path, capsys):
    scenario = tmp_path / "ping_pong.py"
    scenario.write_text(PING_PONG)
    for options in (["--max-steps", "50"], ["--entry", "scenario_sleeping", "--until", "5"]):
        assert main(["run", str(scenario)] + options) == 1
        out = capsys.readouterr().out
        assert "      still blocked at the limit: pid 2 in msgrcv on queue 0 of " \
               "ipc:[4026531839] (type 9) (blocked after step " in out
        assert "blocked forever" not in out
        assert out.splitlines()[-1].startswith("did not finish by ")
    # a deadlock's waits are blocked forever
    assert main(["run", PHILOSOPHERS, "--seed", "33"]) == 1
    assert "      blocked forever: pid 2 in semop" in capsys.readouterr().out


def test_the_readme_explore_transcripts_are_what_the_command_prints(capsys):
    import re
    import shlex
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^\$ (ipcsim explore .*)\n((?:[^$`].*\n)+)", readme, re.M)
    assert len(blocks) >= 2
    for command, transcript in blocks:
        argv = shlex.split(command)[1:]
        argv[1] = str(ROOT / argv[1])
        main(argv + ["--no-progress"])
        out = capsys.readouterr().out.replace(str(ROOT) + "/", "")
        # the line with the timing varies: the rest is the same, line by line
        timing = re.compile(r" in \d+\.\d+ s: [\d,]+ (seeds|schedules)/s")
        assert [line for line in out.splitlines() if not timing.search(line)] == \
            [line for line in transcript.splitlines() if not timing.search(line)], command
        assert all(len(line) <= 125 for line in out.splitlines())


def test_repr_of_a_report_is_one_line():
    from ipcsim.explore import explore
    report = explore(PHILOSOPHERS, range(100))
    assert repr(report) == (f"<Report of {PHILOSOPHERS} (scenario): 100 seeds, 95 ok "
                            f"(1 outcome), 5 deadlock, 0 failed>")
