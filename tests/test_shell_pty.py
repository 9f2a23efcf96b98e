"""``ipcsim shell`` on a terminal: Ctrl-D ends only the innermost shell, Ctrl-C interrupts
the foreground command (SIGINT) or the line being typed, jobs are announced and reported as
an interactive bash does, and Tab completes commands and paths."""
import os
import re
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="needs a pseudo-terminal (Linux)")

ROOT = Path(__file__).resolve().parent.parent
CTRL_C, CTRL_D, TAB = "\x03", "\x04", "\t"


class Terminal:
    """``ipcsim shell`` in a child process on a pseudo-terminal."""

    def __init__(self) -> None:
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:        # the child: the shell on the terminal
            os.environ["PYTHONPATH"] = str(ROOT)
            os.environ["TERM"] = "dumb"
            os.environ["INPUTRC"] = "/dev/null"
            os.execv(sys.executable, [sys.executable, "-m", "ipcsim.cli", "shell"])
        self.seen = ""

    def read(self, until: str, timeout: float = 20.0) -> str:
        """What the terminal showed up to and with ``until`` (from where the last read
        stopped)."""
        import select
        end = time.monotonic() + timeout
        while until not in self.seen and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                self.seen = (self.seen + data.decode(errors="replace")).replace("\r\n", "\n")
        assert until in self.seen, f"{until!r} not in {self.seen!r}"
        head, _, self.seen = self.seen.partition(until)
        return head + until

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def close(self) -> int:
        """The shell's exit status (it must end by itself)."""
        for _ in range(200):
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise AssertionError("the shell did not end")


@pytest.fixture
def term():
    t = Terminal()
    yield t
    try:
        os.kill(t.pid, 9)
        os.waitpid(t.pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


PROMPT = re.compile(r"\[pid (\d+) ipc:\[(\d+)\]\]# $")


def prompt_of(shown: str) -> tuple[int, int]:
    """(pid, namespace inode) of the prompt that ends ``shown``."""
    m = PROMPT.search(shown)
    assert m is not None, shown
    return int(m.group(1)), int(m.group(2))


def test_ctrl_d_ends_the_innermost_shell_only(term):
    top = prompt_of(term.read("]# "))
    term.type("unshare --ipc\n")
    login = prompt_of(term.read("]# "))
    assert login[1] != top[1]
    term.type("bash\n")
    inner = prompt_of(term.read("]# "))
    assert inner[1] == login[1] and inner[0] != login[0]
    term.type(CTRL_D)                      # a shell bash started says "exit"
    shown = term.read("]# ")
    assert shown.endswith("exit\n" + f"[pid {login[0]} ipc:[{login[1]}]]# ")
    term.type(CTRL_D)                      # the login shell unshare started: "logout"
    shown = term.read("]# ")
    assert shown.endswith("logout\n" + f"[pid {top[0]} ipc:[{top[1]}]]# ")
    term.type("lsns -t ipc -n -o NS\n")    # the new namespace died with its last member
    assert str(login[1]) not in term.read("]# ")
    term.type("exit 3\n")
    term.read("exit\n")
    assert term.close() == 3


def test_ctrl_c_at_the_prompt_is_a_fresh_prompt_and_status_130(term):
    term.read("]# ")
    term.type("sleep 100 &\n")
    shown = term.read("]# ")
    job = prompt_of(shown)[0] + 1          # the shell's next child
    assert f"[1] {job}\n" in shown
    term.type("echo half-typed" + CTRL_C)  # the line is dropped
    term.read("]# ")
    term.type("echo $?\n")
    assert term.read("]# ").split("\n")[1] == "130"
    term.type("jobs\n")
    assert "[1]+  Running                 sleep 100 &" in term.read("]# ")
    term.type("kill %1\n")
    assert "[1]+  Terminated              sleep 100" in term.read("]# ")
    term.type(CTRL_D)
    term.read("exit")
    assert term.close() == 0


def test_a_deadlock_comes_back_to_the_prompt_with_the_state_kept(term):
    term.read("]# ")
    for line in ("ipcmk -S 2", "sysv setval 0 0 1", "sysv setval 0 1 1",
                 "sysv semop 0 0 -1 && sysv semop 0 1 -1", "sysv semop 0 0 -1 &"):
        term.type(line + "\n")
        term.read("]# ")
    term.type("sysv semop 0 1 -1\n")
    shown = term.read("]# ")
    assert "ipcsim: deadlock: every program is blocked" in shown
    assert "[2]+  Running                 sysv semop 0 1 -1 &" in shown
    term.type("ipcs -s -i 0 | tail -n 3\n")
    rows = term.read("]# ").split("\n")[1:3]
    assert [r.split()[:4] for r in rows] == [["0", "0", "1", "0"], ["1", "0", "1", "0"]]
    term.type("sysv setval 0 1 1\n")       # one of them can go on now: bash's notice
    assert "\n[2]+  Done                    sysv semop 0 1 -1\n" in term.read("]# ")
    term.type("jobs\n")
    assert term.read("]# ").split("\n")[1] == "[1]+  Running                 sysv semop 0 0 -1 &"
    term.type("kill %1\n")
    term.read("]# ")
    term.type(CTRL_D)
    assert term.close() == 0


def test_tab_completes_the_new_commands_and_paths(term):
    term.read("]# ")
    term.type("who" + TAB)
    term.read("whoami ")
    term.type("\n")
    assert "root" in term.read("]# ")
    term.type("ls -l /proc/self/n" + TAB)
    term.read("ns/")
    term.type("i" + TAB + "\n")
    assert "lrwxrwxrwx 1 root root 0 Jan  1 00:00 /proc/self/ns/ipc -> ipc:[4026531839]" \
        in term.read("]# ")
    term.type("exit\n")
    assert term.close() == 0
