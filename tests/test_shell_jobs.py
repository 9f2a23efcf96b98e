"""The shell's jobs and signals as bash has them: a script's bash stops at SIGINT, a job's
status stays until it is waited for, a stopped job shows as ``Stopped``, and a job keeps
its number."""
import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ipcsim.shell import Shell

ROOT = Path(__file__).resolve().parent.parent


def shell(interactive=False):
    out, err = [], []
    sh = Shell(seed=0, out=out.append, err=err.append, interactive=interactive)

    def run(line):
        del out[:], err[:]
        status = sh.run(line)
        return status, "".join(out), "".join(err)
    return sh, run


def real_bash(script):
    """What bash itself prints for ``script`` read from its standard input."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    done = subprocess.run(["bash"], input=script, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


# --- SIGINT to a shell reading a script ------------------------------------------------------
class _Interrupting(io.StringIO):
    """A script whose reading is interrupted (SIGINT) when it reaches line ``at``."""

    def __init__(self, text, at):
        super().__init__(text)
        self.left = at

    def readline(self, *args):
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt
        return super().readline(*args)


def test_sigint_between_commands_stops_a_script():
    sh, run = shell()
    status = sh.interact(_Interrupting("echo one\necho two\necho three\n", at=2))
    assert status == 130 and sh.ended


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sends a real SIGINT")
def test_sigint_to_ipcsim_shell_reading_a_script_ends_it_with_130(tmp_path):
    script = tmp_path / "long.sh"
    script.write_text("echo start\n" + "ipcs -q > /dev/null\n" * 200_000 + "echo end\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with script.open() as stdin:
        p = subprocess.Popen([sys.executable, "-u", "-m", "ipcsim", "shell"], env=env,
                             stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        assert p.stdout is not None
        assert p.stdout.readline() == "start\n"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 130
    assert "end" not in out and "Traceback" not in err


# --- a job's status until it is waited for ---------------------------------------------------
SIGNALLED_SCRIPTS = [
    # the status of a job a signal ended stays until `wait` takes it...
    "sleep 5 &\nkill %1\nwait %1\necho $?\n",
    "sleep 5 &\nkill %1; wait %1; echo $?\n",
    "sleep 5 &\nkill %1; true; wait %1; echo $?\n",
    # (with lines of builtins between, bash may or may not have forgotten it: a race with
    # the SIGCHLD; the model keeps it)
    # ...or until a foreground command has ended: then the job is forgotten without a word
    "sleep 5 &\nkill %1\nsleep 0.5\nwait %1\necho $?\nwait $!\necho $?\n",
]


@pytest.mark.parametrize("script", SIGNALLED_SCRIPTS)
def test_a_signalled_job_is_kept_until_waited_for_as_bash_keeps_it(script):
    sh = Shell(seed=0, out=(out := []).append, err=(err := []).append)
    status = sh.run_script(script)
    assert (status, "".join(out), "".join(err)) == real_bash(script)


def test_a_stopped_job_shows_as_stopped_and_jobs_s_r_filter():
    sh, run = shell(interactive=True)
    run("sleep 5 &")
    run("sleep 9 &")
    run("kill -STOP %1")
    # (a stopped job is the current one, as bash makes it)
    assert run("jobs")[1] == ("[1]+  Stopped                 sleep 5\n"
                              "[2]-  Running                 sleep 9 &\n")
    assert run("jobs -s")[1] == "[1]+  Stopped                 sleep 5\n"
    assert run("jobs -r")[1] == "[2]-  Running                 sleep 9 &\n"
    run("kill -CONT %1")
    assert run("jobs -s")[1] == ""
    assert run("jobs -r")[1] == ("[1]+  Running                 sleep 5 &\n"
                                 "[2]-  Running                 sleep 9 &\n")


def test_a_script_s_bash_does_not_see_a_job_stop():
    sh, run = shell()
    run("sleep 5 &")
    run("kill -STOP %1")
    assert run("jobs")[1] == "[1]+  Running                 sleep 5 &\n"
    assert run("jobs -s")[1] == ""


# --- a job keeps its number -------------------------------------------------------------------
def test_fg_of_a_job_that_blocks_again_keeps_its_number():
    sh, run = shell(interactive=True)
    run("mq open /q -m 1 -s 32")
    run("mq send /q one")
    assert run("mq send /q two")[2].endswith("[1]+  Running                 mq send /q two &\n")
    assert run("mq send /q three")[2].endswith("[2]+  Running                 mq send /q three &\n")
    status, out, err = run("fg %1")
    assert status == 1 and out == "mq send /q two\n"
    assert err.endswith("[1]+  Running                 mq send /q two &\n")
    assert run("jobs")[1] == ("[1]+  Running                 mq send /q two &\n"
                              "[2]-  Running                 mq send /q three &\n")
    assert run("kill %1")[0] == 0
    assert run("kill %1")[2] == "bash: kill: %1: no such job\n"


def test_sysv_usage_lists_every_verb():
    sh, run = shell()
    usage = run("sysv semop 0 0")[2]
    assert usage.startswith("sysv: usage: sysv send ID")
    for verb in ("send", "receive", "attach", "lock", "unlock", "setval", "msgget", "semget",
                 "shmget", "semop", "msgsnd", "msgrcv", "shmat"):
        assert f" {verb} " in usage
    assert run("sysv send 0") == (2, "", usage)


# --- redirections open before the command runs -------------------------------------------------
def test_a_redirection_is_opened_before_the_command_runs_as_bash_opens_it(tmp_path):
    body = ("nosuch > made\nls\necho data > g\ncat g > g\ncat g | wc -c\n"
            "echo a > x 2> /nodir/y\necho $?\ncat x\necho b >> x\ncat x\n")
    sh = Shell(seed=0, out=(out := []).append, err=(err := []).append)
    status = sh.run_script("cd /run\n" + body)
    real = tmp_path / "run"
    real.mkdir()
    assert (status, "".join(out), "".join(err)) == real_bash(f"cd {real}\n" + body)


def test_a_failed_redirection_keeps_the_command_from_running():
    sh, run = shell()
    assert run("ipcmk -Q > /nodir/f") == (1, "", "bash: line 1: /nodir/f: No such file or "
                                                  "directory\n")
    assert run("ipcs -q | grep -c 0x")[1] == "0\n"
