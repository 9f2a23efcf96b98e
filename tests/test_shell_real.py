"""``ipcsim shell`` prints what util-linux prints on the real kernel for the same commands.

Each script runs twice: through bash in a fresh ``unshare --ipc`` namespace (root on Linux;
elsewhere these tests skip and say why) and through the ipcsim shell. Stdout, stderr and the
exit status are compared after mapping what cannot be equal: keys (random in ipcmk) are
numbered by first appearance, times become a token of the same width, and pids are numbered
by first appearance (lines that show a pid are then compared with runs of blanks folded,
since a pid's width differs).
"""
import re
import shutil
import subprocess

import pytest

from ipcsim.shell import Shell
from realkernel import available, requires_real

CTIME24 = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                     r"Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}")
CTIME16 = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d "
                     r"\d\d:\d\d:\d\d ")
KEY = re.compile(r"0x[0-9a-f]{8}\b")
PID_FIELD = re.compile(r"\b(cpid|lpid|lspid|lrpid|pid)=(\d+)")


def normalize(text: str) -> str:
    keys: dict[str, str] = {}
    pids: dict[str, str] = {"0": "0"}

    def key(m):
        if m.group(0) == "0x00000000":
            return m.group(0)
        return keys.setdefault(m.group(0), f"0x{len(keys) + 1:08x}")

    def pid(value: str) -> str:
        return pids.setdefault(value, f"P{len(pids)}")

    text = CTIME24.sub("T" * 24, text)
    text = CTIME16.sub("T" * 16, text)
    text = KEY.sub(key, text)
    lines = []
    section = ""
    for line in text.split("\n"):
        if line.startswith("------"):
            section = line
        if PID_FIELD.search(line):
            line = PID_FIELD.sub(lambda m: f"{m.group(1)}={pid(m.group(2))}", line)
        elif "PIDs" in section and line[:1].isdigit():
            f = line.split()
            line = " ".join(f[:2] + [pid(x) for x in f[2:]])
        elif "semnum" in section and line[:1].isdigit():
            f = line.split()
            line = " ".join(f[:4] + [pid(x) for x in f[4:]])
        if line.startswith("Semaphore Array"):
            section = "semnum"
        lines.append(line)
    return "\n".join(lines)


def run_bash(script: str) -> tuple[str, str, int]:
    proc = subprocess.run([shutil.which("unshare"), "--ipc", "bash", "-s"], input=script,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
                               "TZ": "UTC", "SHELL": "/bin/bash"})
    return proc.stdout, proc.stderr, proc.returncode


def run_sim(script: str) -> tuple[str, str, int]:
    out, err = [], []
    sh = Shell(seed=7, out=out.append, err=err.append)
    status = sh.run_script(script)
    return "".join(out), "".join(err), status


SCRIPTS = {
    "empty": "ipcs\nipcs -a\nipcs -q\nipcs -s\nipcs -m\n",
    "create and list": """
ipcmk -Q
ipcmk -S 3
ipcmk -M 4096
ipcmk -M 100 -p 0600
ipcmk -Q -S 2 -M 10
ipcs
ipcs -b
ipcs --human
ipcs -c
ipcs -p
ipcs -t
ipcs -u
ipcs -u -b
ipcs -u --human
""",
    "limits": "ipcs -l\nipcs -l -b\nipcs -l --human\nipcs -q -l\nipcs -s -u\n",
    "details": """
ipcmk -Q
ipcmk -S 2
ipcmk -M 5000
ipcs -q -i 0
ipcs -s -i 0
ipcs -m -i 0
ipcs -m -i 0 --human
ipcs -q -i 0 -b
ipcs -q -i 7
echo $?
ipcs -i 0
echo $?
ipcs -i abc -q
echo $?
ipcs -i
ipcs -z
ipcs extra
""",
    "ipcmk errors": """
ipcmk
ipcmk -x
ipcmk -S
ipcmk -S 0
ipcmk -S abc
ipcmk -M abc
ipcmk -M 1K
ipcmk -M 0
ipcmk -M -5
ipcmk -Q -p 999
ipcmk -Q -p abc
ipcmk -S 40000
ipcmk -M 1G
ipcmk -Q -p 0600 extra
ipcmk --help
ipcmk -V
echo $?
ipcs -m
""",
    "ipcrm": """
ipcrm
echo $?
ipcmk -Q
ipcmk -Q
ipcmk -S 1
ipcmk -M 10
ipcrm -q 5
ipcrm -q abc
ipcrm -Q 0x1234
ipcrm -Q 0
ipcrm -Q zz
ipcrm -s 0
ipcrm -m 0
ipcrm -q 0 -q 0
ipcrm -a foo
ipcrm -a msg
ipcs
ipcmk -Q
ipcmk -Q
ipcrm msg 0 1 2
echo $?
ipcrm msg
ipcrm -v -a
ipcrm -x
ipcrm --help
ipcmk -Q
ipcrm -q 4 -x
ipcrm --queue-id=4
ipcrm --q 4
ipcrm --all=sem --verbose
ipcs
""",
    "namespaces": """
ipcmk -Q
unshare --ipc ipcs -q
unshare --ipc ipcmk -S 4
ipcs -s
unshare --ipc
ipcmk -M 64
ipcs -m
sysctl -w kernel.msgmni=7
exit
ipcs -m
sysctl kernel.msgmni
""",
    "setpriv and permissions": """
ipcmk -Q -p 600
ipcmk -M 10 -p 600
ipcmk -S 2 -p 600
setpriv --reuid=65534 --regid=65534 --clear-groups ipcrm -q 0
setpriv --reuid=65534 --regid=65534 --clear-groups ipcrm -Q 0x1
setpriv --reuid=65534 --regid=65534 --clear-groups ipcs -q -i 0
setpriv --reuid=65534 --regid=65534 --clear-groups ipcs -s -i 0
setpriv --reuid=65534 --regid=65534 --clear-groups ipcs
setpriv --reuid=65534 --regid=65534 --clear-groups ipcmk -Q
setpriv --reuid=65534 ipcs -q
setpriv --reuid=65534 --regid=65534 --clear-groups unshare --ipc true
setpriv --reuid=nobody --regid=nogroup --clear-groups ipcrm -a
ipcs
setpriv --reuid=nobody --regid=nogroup --clear-groups ipcs -u
setpriv --reuid=65534 --regid=65534 --clear-groups sysctl -w kernel.msgmni=5
setpriv --reuid=65534 --regid=65534 --clear-groups cat /proc/sys/kernel/msgmni
setpriv
setpriv --reuid=abc true
setpriv --foo
setpriv --reuid=65534 --regid=65534 --clear-groups nosuch
setpriv --reuid=65534 --regid=65534 true
unshare --ipc setpriv --reuid=65534 ipcmk -S 1
unshare --ipc echo hi
""",
    "sysctls and files": """
cat /proc/sys/kernel/msgmni
echo 100 > /proc/sys/kernel/msgmax
echo $?
cat /proc/sys/kernel/msgmax
echo hi > /proc/sys/kernel/msgmni
echo $?
sysctl kernel.msgmni
sysctl -w kernel.msgmni=100
sysctl kernel.msgmni=50
sysctl -n kernel.msgmni
sysctl kernel.foo
sysctl -w kernel.msgmni=abc
sysctl -w kernel.msgmni=-5
sysctl -w kernel.msgmni
sysctl fs.mqueue
sysctl kernel.sem
cat /proc/nonexist
ls /proc/sysvipc
ipcmk -Q
ipcs -l
""",
}


def _columns(text: str) -> list[list[str]]:
    """lsns tables as words, with namespace inodes and pids numbered by first appearance
    (their widths differ between machines, so blanks are not compared here)."""
    ns: dict[str, str] = {}
    pids: dict[str, str] = {}
    rows, header = [], None
    for line in text.splitlines():
        words = line.split()
        if words and words[0] == "NS":
            header = words
            rows.append(words)
            continue
        out = []
        for col, word in zip(header or [], words):
            if col == "NS":
                word = ns.setdefault(word, f"ns{len(ns)}")
            elif col in ("PID", "PPID"):
                word = pids.setdefault(word, f"p{len(pids)}")
            elif col == "PATH":
                word = "/proc/PID/ns/ipc"
            out.append(word)
        rows.append(out + words[len(out):])
    return rows


@requires_real
def test_lsns_of_a_shell_in_its_own_namespace():
    script = ("unshare --ipc\nlsns -t ipc -p $$\n"
              "lsns -t ipc -p $$ -o NS,TYPE,NPROCS,PID,PPID,UID,USER,PATH,COMMAND\n"
              "lsns -t ipc -p $$ -r -n\nexit\n")
    real_out, real_err, real_status = run_bash(script)
    sim_out, sim_err, sim_status = run_sim(script)
    assert _columns(sim_out) == _columns(real_out)
    assert (sim_err, sim_status) == (real_err, real_status)


@requires_real
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_shell_prints_what_util_linux_prints(name):
    script = SCRIPTS[name]
    real_out, real_err, real_status = run_bash(script)
    sim_out, sim_err, sim_status = run_sim(script)
    assert normalize(sim_out) == normalize(real_out)
    assert normalize(sim_err) == normalize(real_err)
    assert sim_status == real_status


def test_real_comparison_reason_is_stated():
    ok, why = available()
    assert ok or why
