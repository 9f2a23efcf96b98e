"""No input makes the shell or the command show a Python traceback.

Random shell lines (builtins, tools and their options, odd and huge numbers, NUL bytes,
quotes, ``;``, ``&&``, ``||``, ``$$``, unicode) go through the shell in script mode, and
random argument vectors through ``ipcsim.cli.main`` for every subcommand; nothing may raise
out of either, and nothing they print may be a traceback. A few vectors run as real
subprocesses (``python3 -m ipcsim``), Ctrl-C included. The lines the issue found are
compared with bash and util-linux where this machine can run them.

The counts are small by default; ``IPCSIM_FUZZ_COUNT=20000`` runs 20,000 shell lines and
20,000 argument vectors (a few minutes).
"""
import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipcsim.cli import main
from ipcsim.shell import Shell
from realkernel import requires_real
from test_cli import LONG_SCENARIO, processes_running

ROOT = Path(__file__).resolve().parent.parent
COUNT = int(os.environ.get("IPCSIM_FUZZ_COUNT", "0"))
LINES = COUNT or 400                 # shell lines
VECTORS = COUNT or 150               # command-line argument vectors
TRACEBACK = "Traceback (most recent call last)"

# --- shell lines ---------------------------------------------------------------------------
WORDS = {
    "ipcs": ["-q", "-s", "-m", "-a", "-l", "-u", "-c", "-p", "-t", "-i", "-b", "--human",
             "--bytes", "-h", "-V", "--id", "-n"],
    "ipcmk": ["-Q", "-S", "-M", "-p", "-h", "-V", "--shmem", "--semaphore", "--queue",
              "--mode"],
    "ipcrm": ["-q", "-s", "-m", "-Q", "-S", "-M", "-a", "--all", "-h", "-V", "--all=msg",
              "--all=shm"],
    "lsns": ["-t", "ipc", "-p", "-o", "-J", "-r", "-n", "-l", "--output-all", "-u", "NS",
             "PID", "TYPE", "NPROCS"],
    "cat": ["/proc/sysvipc/msg", "/proc/sys/kernel/msgmni", "-n", "/proc/$$/ns/ipc",
            "/nonexistent", "/proc", "-"],
    "ls": ["/proc/sysvipc", "/dev/mqueue", "/", "-l", "/proc/$$", "-a"],
    "readlink": ["/proc/$$/ns/ipc", "-f", "/proc/1/ns/ipc", "/proc/self/ns/ipc"],
    "mount": ["-t", "mqueue", "none", "/dev/mqueue", "--bind", "/proc/$$/ns/ipc", "/tmp/x",
              "/mnt"],
    "umount": ["/dev/mqueue", "/tmp/x", "-l", "/mnt"],
    "sysctl": ["kernel.msgmni", "-w", "kernel.msgmni=5", "kernel.shmmax=", "-a",
               "kernel.sem=1 2 3 4", "kernel.msgmax"],
    "ps": ["-e", "-o", "pid", "aux"],
    "sleep": ["inf", "infinity", "1e400", "0.5", "1m", "-1", "nan", "0x10", "1d", ""],
    "mq": ["open", "send", "receive", "attr", "unlink", "ls", "/q", "/q2", "-m", "-s", "-p",
           "-x", "-n", "hello"],
    "sysv": ["send", "receive", "attach", "lock", "unlock", "setval", "msgget", "semget",
             "shmget", "0", "1", "semop", "msgsnd", "msgrcv", "shmat", "--undo", "--nowait",
             "-1,1", "0,1", "1,0 -1"],
    "jobs": ["-l", "-p", "-r", "-s", "-x", "%1", "%%", "%-", "%+", "%sysv", "%9"],
    "wait": ["%1", "%2", "$!", "99", "-n", "%%", "x"],
    "fg": ["%1", "%2", "%-", "1", "%x"],
    "bg": ["%1", "%+"],
    "cd": ["/proc", "..", "/dev/mqueue", "-", "/nope", "ns", "/proc/$$/ns/ipc", "a b"],
    "pwd": ["-L", "-P", "-x"],
    "grep": ["-i", "-v", "-c", "-n", "-w", "-x", "-E", "-F", "-q", "-o", "-l", "-e", "-m",
             "root", "0x", "^k", "a|b", "\\(", "[", "[a-", "/proc/sysvipc/sem", "(?i)x",
             "a{1}{2}", "[[:digit:]]", "[[:foo:]]", "[:space:]", "x{99999}", "\\(a\\)\\2",
             "*x", "+", "\\", "[]a]", "[z-a]", "a**", "(", ")", "\\{1", "a{,2}", "\\<",
             "[[.a.]]", "[a-[:alpha:]]", "--help"],
    "wc": ["-l", "-w", "-c", "-m", "-L", "/proc/sysvipc/msg", "-"],
    "head": ["-n", "-c", "-2", "-n-1", "-q", "-v", "/proc/sysvipc/shm", "--help", "nosuch"],
    "tail": ["-n", "+2", "-c", "-n+1", "/proc/sysvipc/shm", "-0", "--help", "/proc"],
    "sort": ["-r", "-n", "-u", "-f", "-k", "2", "2,3", "-t", ":", "::", "-k2n", "-k2,2nr",
             "-k0", "1.0", "2.3,2.1b", "-b", "--help", "nosuch"],
    "touch": ["-c", "-a", "--help", "-q", "--", "/tmp/f", "/proc/x"],
    "mkdir": ["-p", "-m", "--help", "/tmp/d/e"],
    "id": ["-u", "-g", "-G", "-n", "-r", "nobody", "nosuch", "root"],
    "whoami": ["x"],
    "clear": ["-x", "-T"],
    "kill": ["-9", "-l", "-s", "-n", "-L", "0", "-1", "$$", "1", "-TERM", "-SIGUSR1", "-0",
             "%1"],
    "echo": ["-n", "-e", "-E", "hi", "\\x41", "\\c", "\\0101"],
    "exit": [],
    "export": ["A=1", "B", "=x", "1A=2"],
    "unshare": ["--ipc", "-i", "-f", "--ipc=/tmp/x", "-m", "--fork", "-h", "ipcs"],
    "nsenter": ["--ipc", "-t", "1", "-a", "-i", "--target", "$$", "-h"],
    "setpriv": ["--reuid=1000", "--regid=1000", "--clear-groups", "--groups", "0,1",
                "--reuid", "nobody", "--keep-groups"],
    "bash": ["-c", "ipcs -q", "exit 3", "kill -9 $$"],
    "sh": ["-c", "kill -9 $$"],
    "true": [], "false": [], "help": [], ":": [],
}
NUMBERS = ["0", "1", "-1", "2", "7", "255", "256", "32768", "2147483647", "2147483648",
           "-2147483649", "4294967295", "4294967296", "9223372036854775807",
           "9223372036854775808", "18446744073709551616", "99999999999999999999999",
           "0x7fffffff", "0x", "08", "1e400", "inf", "-inf", "nan", "1.5", "1K", "1G", "16E",
           "\u0663", "\uff11", "-0", "+5", " 5", "1e9999"]
# (\udcff: an invalid UTF-8 byte of argv or stdin, as Python's surrogateescape reads it)
ODD = ["\x00", "a\x00b", "/proc/\x00", "\u00e9", "\u65e5\u672c", "\u202e", "'", '"', "\\",
       "$", "$$", "$?", "${X}", "${", "*", "?", "[", "/*", "/proc/*/ns/ipc", "`", "$(x)",
       "#", "~", "-", "--", "---", "=", "a=b", ">", "<", "2>", "2>&1", ">>", "&", "|", "(",
       ")", "{", "}", "\t", "\r", "\udcff"]
OPERATORS = [";", "&&", "||", ";", ";", "&", "|", "|", "& wait;", "&"]


def huge(r: random.Random) -> str:
    """A number past what Python's int() converts from text (4,300 digits) or C holds."""
    return r.choice(["", "-", "+"]) + "9" * r.choice([20, 4301, 5000, 10000])


def word(r: random.Random, command: str) -> str:
    x = r.random()
    if x < 0.45 and WORDS[command]:
        w = r.choice(WORDS[command])
    elif x < 0.7:
        w = r.choice(NUMBERS)
    elif x < 0.78:
        w = huge(r)
    elif x < 0.92:
        w = r.choice(ODD)
    else:
        w = "".join(r.choice("ab-=/.,:1x\x00'\"\u00e9 ") for _ in range(r.randint(0, 6)))
    x = r.random()
    if x < 0.1:
        return "'" + w.replace("'", "") + "'"
    if x < 0.2:
        return '"' + w.replace('"', "") + '"'
    return w


def command(r: random.Random) -> str:
    name = r.choice(list(WORDS))
    return " ".join([name] + [word(r, name) for _ in range(r.choice([0, 1, 1, 2, 2, 3, 4, 6]))])


def shell_line(r: random.Random) -> str:
    parts = [command(r)]
    for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
        parts += [r.choice(OPERATORS), command(r)]
    return " ".join(parts)


def test_the_shell_shows_no_traceback_for_random_lines():
    """Scripts of 20 random lines each, through run_script as ``ipcsim shell < script``."""
    r = random.Random(15)
    done = 0
    while done < LINES:
        lines = [shell_line(r) for _ in range(min(20, LINES - done))]
        out, err = io.StringIO(), io.StringIO()
        sh = Shell(seed=done, out=out.write, err=err.write)
        try:
            status = sh.run_script("\n".join(lines))
        except BaseException as e:            # the script, to replay it
            raise AssertionError(f"{type(e).__name__}: {e} from the script {lines!r}") from e
        assert 0 <= status <= 255
        assert TRACEBACK not in out.getvalue() + err.getvalue(), lines
        assert "internal error" not in err.getvalue(), lines
        done += len(lines)
    assert done == LINES


def test_the_shell_lines_the_issue_found_end_as_bash_ends_them():
    big = "9" * 5000
    cases = {
        "kill -9 $$; ipcs": (137, "", ""),
        "kill 0; echo not here": (143, "", ""),
        f"kill -l {big}": (1, "", f"bash: line 1: kill: {big}: invalid signal specification\n"),
        f"kill {big}": (1, "", f"bash: line 1: kill: {big}: arguments must be process or job "
                               f"IDs\n"),
        f"ipcmk -M {big}": (1, "", f"ipcmk: failed to parse size: '{big}': Numerical result "
                                   f"out of range\n"),
        "echo a\x00b": (0, "ab\n", ""),
        "cat /proc/sys/kernel/msg\x00mni": (0, "32000\n", ""),
    }
    for line, (status, stdout, stderr) in cases.items():
        out, err = io.StringIO(), io.StringIO()
        sh = Shell(out=out.write, err=err.write)
        got = sh.run_script(line)
        assert (got, out.getvalue(), err.getvalue()) == (status, stdout, stderr), line[:40]
    out, err = io.StringIO(), io.StringIO()
    sh = Shell(out=out.write, err=err.write)
    assert sh.run_script("sleep inf; echo $?; sleep 1e400; sleep 9e9; echo $?") == 0
    assert out.getvalue() == "1\n0\n"
    assert err.getvalue() == 2 * ("sleep: an infinite sleep outlasts the simulated clock (it "
                                  "stops at 9223372036 s of uptime)\n")


def test_a_command_that_kills_the_shell_above_it_ends_both():
    out, err = io.StringIO(), io.StringIO()
    sh = Shell(out=out.write, err=err.write)
    assert sh.run_script("unshare --ipc\nbash -c 'kill -9 3'\nps\nexit 4\nps\n") == 4
    # the killed shell (pid 3) read the second line; the login shell reads on, and its
    # exit ends the session
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["PID", "1", "2", "5"]
    assert err.getvalue() == "bash: line 1:     3 Killed                  unshare --ipc\n"
    assert sh.ended


# --- the same lines against bash and util-linux ---------------------------------------------
REAL = ["kill -9 $$; ipcs", "kill -l " + "9" * 5000, "kill " + "9" * 5000,
        "kill -" + "9" * 5000 + " 1", "kill -s 65 1", "kill -n 99999999999999999999 1",
        "kill -l \u0663", "kill 2147483648", "ipcmk -M " + "9" * 5000, "ipcmk -S " + "9" * 5000,
        "ipcs -i " + "9" * 5000, "ipcrm -q " + "9" * 5000, "exit " + "9" * 5000,
        "echo a\x00b", "sleep -1", "sleep nan", "sleep", "sleep 1x",
        "bash -c 'kill -9 $$'; echo after"]


@requires_real
@pytest.mark.parametrize("line", REAL, ids=lambda line: line[:24])
def test_lines_the_issue_found_print_what_bash_and_util_linux_print(line):
    from test_shell_real import normalize, run_bash, run_sim
    real_out, real_err, real_status = run_bash(line + "\n")
    sim_out, sim_err, sim_status = run_sim(line + "\n")
    assert normalize(sim_out) == normalize(real_out)
    assert normalize(sim_err) == normalize(real_err)
    assert sim_status == real_status


# --- argument vectors ----------------------------------------------------------------------
SCENARIOS = {
    "ok.py": "def scenario(k):\n    p = k.init.fork(target=lambda p: p.getpid())\n"
             "    return [p]\n",
    "fails.py": "def spin(p):\n    p.semop(99, [(0, -1, 0)])\n\n"
                "def scenario(k):\n    k.init.fork(target=spin)\n",
    "deadlock.py": "import ipcsim\n\ndef wait(p, q):\n    p.msgrcv(q, 10, 0)\n\n"
                   "def scenario(k):\n    q = k.init.msgget(0, ipcsim.IPC_CREAT | 0o600)\n"
                   "    k.init.fork(target=wait, args=(q,))\n",
    "interrupt.py": "def boom(p):\n    raise KeyboardInterrupt('from the program')\n\n"
                    "def scenario(k):\n    k.init.fork(target=boom)\n",
    "exits.py": "import sys\n\ndef scenario(k):\n    sys.exit('no')\n",
    "base.py": "def scenario(k):\n    raise BaseException('base')\n",
    "loops.py": "def spin(p):\n    while True:\n        p.getpid()\n\n"
                "def scenario(k):\n    k.init.fork(target=spin)\n",
    "sleeps.py": "def nap(p):\n    p.sleep(100)\n\ndef scenario(k):\n    k.init.fork(target=nap)\n",
    "syntax.py": "def scenario(k)\n",
    "imports.py": "import no_such_module_anywhere\n",
    "noentry.py": "x = 1\n",
}
# a run that a limit does not stop: only with one of these
ENDLESS = {"loops.py", "sleeps.py"}


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    d = tmp_path_factory.mktemp("scenarios")
    for name, text in SCENARIOS.items():
        (d / name).write_text(text)
    (d / "adir").mkdir()
    return d


def value(r: random.Random) -> str:
    return r.choice(NUMBERS + ["", "x", "1" * 30, "-5", "3", "0"] + [huge(r)])


def argv_for(r: random.Random, d: Path) -> list[str]:
    """A random command line for one subcommand (or none), with valid and invalid options."""
    sub = r.choice(["demo", "shell", "run", "run", "explore", "explore", "", "--help",
                    "--version", "nope", "\x00"])
    argv = [sub] if sub else []
    files = [str(d / n) for n in SCENARIOS] + [str(d / "adir"), str(d / "missing.py"),
                                               "", "a\x00b", "-", "/proc"]
    file = r.choice(files)
    endless = Path(file).name in ENDLESS
    if sub in ("run", "explore") and r.random() < 0.95:
        argv.append(file)
    options = {
        "demo": ["--seed", "--source", "--help", "-h", "--bogus"],
        "shell": ["--seed", "-c", "--echo", "--help", "--bogus"],
        "run": ["--seed", "--entry", "--svg", "--png", "--quiet", "--traceback",
                "--max-steps", "--until", "--executor", "--help", "--bogus"],
        "explore": ["--seed", "--seeds", "--jobs", "--entry", "--max-steps", "--until",
                    "--executor", "--no-progress", "--help", "--bogus"],
    }.get(sub, ["--bogus", "--seed"])
    for _ in range(r.randint(0, 5)):
        opt = r.choice(options)
        argv.append(opt)
        if opt == "--seed":
            argv.append(value(r))
        elif opt == "-c":
            argv.append(shell_line(r))
        elif opt == "--seeds":
            argv.append(r.choice(["1", "2", "3", "0", "-1", "x", huge(r)]))
        elif opt == "--jobs":
            argv.append(r.choice(["1", "1", "1", "2", "-1", "5000", "x", huge(r)]))
        elif opt == "--entry":
            argv.append(r.choice(["scenario", "spin", "x", "", "\x00"]))
        elif opt in ("--svg", "--png"):
            argv.append(r.choice([str(d / "out.svg"), str(d / "adir"), "/proc/nope/x",
                                  "a\x00b", str(d)]))
        elif opt == "--max-steps":
            argv.append(r.choice(["100", "0", "5", "-1", "x", "1e3", huge(r)]))
        elif opt == "--until":
            argv.append(r.choice(["1", "0", "0.5", "-1", "nan", "inf", "1e400", "9e9", "x"]))
        elif opt == "--executor":
            argv.append(r.choice(["greenlet", "threads", "nope"]))
    if endless and sub in ("run", "explore"):
        argv += ["--max-steps", "50"]           # (a loop without end would run for ever)
    if sub == "explore":
        # a valid huge number of seeds runs until Ctrl-C (tested below, in a subprocess)
        argv = [a if b != "--seeds" else few(a) for b, a in zip([""] + argv, argv)]
        if "--seeds" not in argv:
            argv += ["--seeds", "2"]
    return argv


def few(seeds: str) -> str:
    """--seeds N as the fuzz test gives it: at most 3 seeds where N is a valid number."""
    try:
        return "3" if int(seeds) > 3 else seeds
    except ValueError:          # not a number, or past int()'s digits: argparse says so
        return seeds


def run_main(argv: list[str], stdin: str = "") -> tuple[object, str, str]:
    """main(argv) as the console script runs it: (status or SystemExit's code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status: object = main(argv)
            except SystemExit as e:            # argparse's errors, a scenario that
                status = e.code                # cannot be loaded: a message, no traceback
    finally:
        sys.stdin = saved
    return status, out.getvalue(), err.getvalue()


def test_the_command_shows_no_traceback_for_random_argument_vectors(scenarios, monkeypatch):
    monkeypatch.chdir(scenarios)
    r = random.Random(16)
    for n in range(VECTORS):
        argv = argv_for(r, scenarios)
        try:
            status, out, err = run_main(argv, stdin=shell_line(r))
        except BaseException as e:
            raise AssertionError(f"{type(e).__name__}: {e} from main({argv!r})") from e
        assert isinstance(status, (int, str)) or status is None, argv
        if "--traceback" not in argv:
            assert TRACEBACK not in out + err, argv


def test_seeds_are_read_lazily(scenarios):
    """An iterator of seeds is read as the runs go: an endless one would be fine."""
    import itertools
    from ipcsim.explore import explore
    read = []
    seeds = (read.append(s) or s for s in itertools.count(10 ** 22))
    report = explore(str(scenarios / "ok.py"), itertools.islice(seeds, 5))
    assert [r.seed for r in report.results] == read == list(range(10 ** 22, 10 ** 22 + 5))


def test_run_names_the_call_the_program_and_the_line(scenarios):
    path = scenarios / "fails.py"
    status, out, err = run_main(["run", str(path), "--quiet"])
    assert status == 1 and err == ""
    assert out == (f"failed: pid 2 at {path}:2 (spin): semop(99, [(0, -1, 0)]) = -1 EINVAL "
                   f"(Invalid argument)\n")
    status, out, err = run_main(["run", str(path), "--quiet", "--traceback"])
    assert out.splitlines()[:4] == ["Traceback (most recent call last):",
                                    f'  File "{path}", line 2, in spin',
                                    "    p.semop(99, [(0, -1, 0)])",
                                    "semop(99, [(0, -1, 0)]) = -1 EINVAL (Invalid argument)"]


def test_a_scenario_that_raises_keyboard_interrupt_fails_its_seeds(scenarios):
    path = scenarios / "interrupt.py"
    status, out, err = run_main(["explore", str(path), "--seeds", "3"])
    assert status == 1
    assert "failed         3 seeds: 0, 1, 2" in out
    assert f"seed 0: pid 2 at {path}:2 (boom): KeyboardInterrupt: from the program" in out
    status, out, err = run_main(["run", str(path), "--quiet"])
    assert (status, out) == (1, f"failed: pid 2 at {path}:2 (boom): KeyboardInterrupt: "
                                f"from the program\n")


def test_runs_past_the_limits_did_not_finish(scenarios):
    status, out, err = run_main(["run", str(scenarios / "sleeps.py"), "--until", "5",
                                 "--quiet"])
    assert (status, out) == (1, "did not finish by t=5s: pid 2 waits in sleep(100)\n")
    status, out, err = run_main(["explore", str(scenarios / "loops.py"), "--seeds", "3",
                                 "--max-steps", "40"])
    assert status == 1
    assert "  did not finish: 3 seeds: 0, 1, 2" in out
    assert "seed 0: still running at 40 steps: pid 2 runnable" in out
    status, out, err = run_main(["explore", str(scenarios / "sleeps.py"), "--seeds", "2",
                                 "--until", "200"])
    assert status == 0 and "ok             2 seeds" in out


def test_drawing_into_a_directory_or_nowhere_is_a_message(scenarios):
    for target, why in ((scenarios / "adir", "Is a directory"),
                        (Path("/proc/nope/x"), "No such file or directory")):
        status, out, err = run_main(["run", str(scenarios / "ok.py"), "--quiet", "--svg",
                                     str(target)])
        assert (status, err) == (1, f"ipcsim: cannot write {target}: {why}\n")
    status, out, err = run_main(["run", str(scenarios / "ok.py"), "--quiet", "--svg",
                                 "a\x00b"])
    assert status == 1 and err.startswith("ipcsim: cannot write 'a\\x00b': ")


@pytest.mark.parametrize("argv, message", [
    (["explore", "x.py", "--seeds", "0"], "argument --seeds: must be at least 1, not 0"),
    (["explore", "x.py", "--jobs", "5000"],
     "argument --jobs/-j: must be between 0 (one per CPU) and 1024, not 5000"),
    (["run", "x.py", "--until", "inf"], "argument --until: must be between 0 and 9223372036 "
                                        "seconds (the end of the virtual clock), not inf"),
    (["run", "x.py", "--max-steps", "-1"], "argument --max-steps: must not be negative: -1"),
    (["run", "x.py", "--seed", "9" * 5000], "argument --seed: too large: 5000 digits"),
    (["run", "x.py", "--seed", "1.5"], "argument --seed: not a whole number: '1.5'"),
])
def test_bad_numbers_are_argparse_errors(argv, message):
    status, out, err = run_main(argv)
    assert status == 2 and message in err and TRACEBACK not in err


# --- real processes --------------------------------------------------------------------------
def ipcsim(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipcsim", *args], capture_output=True,
                          text=True, timeout=120, cwd=str(ROOT),
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, **kw)


def test_the_console_command_shows_no_traceback(scenarios):
    big = "9" * 5000
    for args, status in ((["shell", "-c", f"kill -9 $$; ipcs; kill -l {big}"], 137),
                         (["shell"], 2),
                         (["run", str(scenarios / "fails.py"), "--svg", str(scenarios)], 1),
                         (["run", "a\x01b"], 1),
                         (["explore", str(scenarios / "syntax.py")], 1),
                         (["explore", "x", "--seeds", big], 2)):
        proc = ipcsim(*args, input="ipcmk -M " + big + "\necho \x00\nsleep inf\nexit 2\n")
        assert proc.returncode == status, (args, proc.stderr)
        assert TRACEBACK not in proc.stdout + proc.stderr, args


# seeds 0-3 end at once; from seed 4 on, two programs spin for minutes
SLOW_AFTER_4 = LONG_SCENARIO.replace("range(3)", "range(2 if k.seed >= 4 else 0)")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups (POSIX)")
@pytest.mark.parametrize("jobs, seeds", [("1", "9" * 23), ("2", "10")])
def test_one_ctrl_c_stops_explore_with_the_partial_report(tmp_path, jobs, seeds):
    """Seeds 0-3 end at once, the others run for minutes: one SIGINT to the process group
    (what Ctrl-C at a terminal sends) prints what the first four found, and exits 130; the
    workers ignore it (no traceback from them), and the command ends them, not waiting for
    the chunks still queued. (With jobs, a chunk of seeds is reported once it ends: 10
    seeds make chunks of one.)"""
    path = tmp_path / "slow_after_4.py"
    path.write_text(SLOW_AFTER_4)
    proc = subprocess.Popen([sys.executable, "-m", "ipcsim", "explore", str(path), "--seeds",
                             seeds, "--jobs", jobs, "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    time.sleep(2.5)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err == ""
    first = out.splitlines()[0]
    assert first.startswith("interrupted (Ctrl-C): explored 4 seeds of "), out
    assert first.endswith(f"with {jobs} job{'s' if jobs != '1' else ''}")
    assert "ok             4 seeds, 1 distinct outcome" in out
    assert processes_running(str(path)) == []
