"""``ipcsim shell`` prints what util-linux prints on the real kernel for the same commands.

Each script runs twice: through bash in a fresh ``unshare --ipc`` namespace (root on Linux;
elsewhere these tests skip and say why) and through the ipcsim shell. Stdout, stderr and the
exit status are compared after mapping what cannot be equal: keys (random in ipcmk) are
numbered by first appearance, times become a token of the same width, and pids are numbered
by first appearance (lines that show a pid are then compared with runs of blanks folded,
since a pid's width differs).
"""
import ast
import atexit
import functools
import grp
import os
import pwd
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import pytest

from ipcsim.shell import Shell
from ipcsim.shell.common import GROUPS, PASSWD
from realkernel import available, requires_real

CTIME24 = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                     r"Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}")
CTIME16 = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d "
                     r"\d\d:\d\d:\d\d ")
KEY = re.compile(r"0x[0-9a-f]{8}\b")
PID_FIELD = re.compile(r"\b(cpid|lpid|lspid|lrpid|pid)=(\d+)")
# bash's report of a command a signal ended: "bash: line 3: 17797 Segmentation fault  ..."
NS_LINK = re.compile(r"\b(ipc|mnt|net|pid|user|uts|cgroup|time):\[(\d+)\]")
PROC_PID = re.compile(r"/proc/(\d+)/")
BASH_JOB = re.compile(r"^(-?bash: (?:line \d+: )?) *(\d+) ")


def _host_names() -> list[tuple[str, str]]:
    """(name, number) of the user and group 1000 where this machine names them and the
    simulated machine does not: the tests run commands as uid 1000, which the simulated
    /etc/passwd leaves unnamed."""
    names = []
    for lookup, known in ((pwd.getpwuid, PASSWD), (grp.getgrgid, GROUPS)):
        try:
            name = lookup(1000)[0]
        except KeyError:
            continue
        if 1000 not in known:
            names.append((name, "1000"))
    return names


def _unname(text: str) -> str:
    """Host user and group names of uid/gid 1000 as numbers, columns kept aligned."""
    for name, number in _host_names():
        def sub(m, name=name, number=number):
            width = len(m.group(0))
            return number + " " * max(width - len(number), 1 if m.group(1) else 0)
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])( *)", sub, text)
    return text


def _sysvipc_field(column: str, word: str, key, pid) -> str:
    """One field of a /proc/sysvipc row: keys as ipcs shows them (then numbered), pids
    numbered, times a token (the blanks between fields are not compared)."""
    if column == "key":
        return key(re.match(KEY, f"0x{int(word) & 0xFFFFFFFF:08x}"))
    if column in ("lspid", "lrpid", "cpid", "lpid"):
        return pid(word)
    if column.endswith("time") and word != "0":
        return "T"
    return word


def normalize(text: str) -> str:
    keys: dict[str, str] = {}
    pids: dict[str, str] = {"0": "0"}

    def key(m):
        if m.group(0) == "0x00000000":
            return m.group(0)
        return keys.setdefault(m.group(0), f"0x{len(keys) + 1:08x}")

    inodes: dict[str, str] = {}

    def nsid(value: str) -> str:
        return inodes.setdefault(value, f"N{len(inodes) + 1}")

    def pid(value: str) -> str:
        return pids.setdefault(value, f"P{len(pids)}")

    text = _unname(text)
    text = NS_LINK.sub(lambda m: f"{m.group(1)}:[{nsid(m.group(2))}]", text)
    text = CTIME24.sub("T" * 24, text)
    text = CTIME16.sub("T" * 16, text)
    text = KEY.sub(key, text)
    lines = []
    section = ""
    sysvipc: list[str] = []
    for line in text.split("\n"):
        if line.startswith("------"):
            section = line
        words = line.split()
        if words[:1] == ["key"] and len(words) > 8:
            sysvipc = words                # a /proc/sysvipc header: its rows follow
        elif sysvipc and len(words) == len(sysvipc):
            line = " ".join(_sysvipc_field(col, word, key, pid)
                            for col, word in zip(sysvipc, words))
        else:
            sysvipc = []
        line = PROC_PID.sub(lambda m: f"/proc/{pid(m.group(1))}/", line)
        if BASH_JOB.match(line):
            m = BASH_JOB.match(line)
            line = f"{m.group(1)}{pid(m.group(2))} " + " ".join(line[m.end():].split())
        elif PID_FIELD.search(line):
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


# The shell's `sysv` tool on Linux: the same System V calls through libc, the same messages.
SYSV_TOOL = r'''"""The shell's `sysv` tool on Linux: the same calls through libc, the same messages."""
import ctypes
import os
import select
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
USAGE = ("usage: sysv send ID TEXT [TYPE] | receive ID [TYPE] | attach ID | lock ID | "
         "unlock ID | setval ID NUM VALUE | msgget KEY [MODE] | semget KEY NSEMS [MODE] | "
         "shmget KEY SIZE [MODE] | semop ID NUM OP[,NUM OP...] [--undo] [--nowait] | "
         "msgsnd ID TEXT [TYPE] [--nowait] | msgrcv ID [TYPE] [--nowait] | "
         "shmat ID [SECONDS]\n")
ARGS = {"send": ("id text", "long"), "receive": ("id", "long"), "attach": ("id", ""),
        "lock": ("id", ""), "unlock": ("id", ""), "setval": ("id int int", ""),
        "msgget": ("key", "mode"), "semget": ("key int", "mode"),
        "shmget": ("key size", "mode")}
RANGE = {"id": (-2 ** 31, 2 ** 31), "int": (-2 ** 31, 2 ** 31), "long": (-2 ** 63, 2 ** 63),
         "size": (0, 2 ** 64), "key": (-2 ** 31, 2 ** 32), "mode": (0, 2 ** 32)}
IPC_CREAT, IPC_NOWAIT, SETVAL, SHM_LOCK, SHM_UNLOCK = 0o1000, 0o4000, 16, 11, 12


def operands(verb, words):
    need, optional = (x.split() for x in ARGS[verb])
    if not len(need) <= len(words) <= len(need) + len(optional):
        return None, (2, "sysv: " + USAGE)
    values = []
    for kind, word in zip(need + optional, words):
        if kind == "text":
            values.append(word)
            continue
        try:
            value = int(word, {"key": 0, "mode": 8}.get(kind, 10))
        except ValueError:
            return None, (2, f"sysv: invalid number: '{word}'\n")
        lo, hi = RANGE[kind]
        if not lo <= value < hi:
            return None, (1, f"sysv: {verb} {words[0]}: Numerical result out of range\n")
        if kind == "key" and value >= 2 ** 31:
            value -= 2 ** 32
        values.append(value)
    return values, None


def main(args):
    verb = args[0] if args else ""
    if verb not in ARGS:
        sys.stderr.write("sysv: " + USAGE)
        return 2
    values, problem = operands(verb, args[1:])
    if problem is not None:
        sys.stderr.write(problem[1])
        return problem[0]

    def fail(err):
        sys.stderr.write(f"sysv: {verb} {args[1]}: {os.strerror(err)}\n")
        return 1

    if verb == "send":
        text = values[1].encode()
        mtype = values[2] if len(values) > 2 else 1
        buf = ctypes.create_string_buffer(mtype.to_bytes(8, "little", signed=True) + text)
        if libc.msgsnd(values[0], buf, ctypes.c_size_t(len(text)), IPC_NOWAIT) < 0:
            return fail(ctypes.get_errno())
    elif verb == "receive":
        buf = ctypes.create_string_buffer(8 + 65536)
        mtype = values[1] if len(values) > 1 else 0
        n = libc.msgrcv(values[0], buf, ctypes.c_size_t(65536), ctypes.c_long(mtype),
                        IPC_NOWAIT)
        if n < 0:
            return fail(ctypes.get_errno())
        got = int.from_bytes(buf.raw[:8], "little", signed=True)
        sys.stdout.write(f"{buf.raw[8:8 + n].decode(errors='replace')}\t(type {got})\n")
    elif verb == "attach":
        shell = os.getppid()
        r, w = os.pipe()
        if os.fork() == 0:                 # the holder: attach, stay until the shell exits
            os.close(r)
            addr = libc.shmat(values[0], None, 0)
            err = ctypes.get_errno() if addr in (None, 2 ** 64 - 1) else 0
            os.write(w, err.to_bytes(4, "little"))
            if err:
                os._exit(1)
            pidfd = os.pidfd_open(shell)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            select.select([pidfd], [], [])
            os._exit(0)
        os.close(w)
        err = int.from_bytes(os.read(r, 4), "little")
        if err:
            os.wait()
            return fail(err)
    elif verb in ("lock", "unlock"):
        if libc.shmctl(values[0], SHM_LOCK if verb == "lock" else SHM_UNLOCK, None) < 0:
            return fail(ctypes.get_errno())
    elif verb == "setval":
        if libc.semctl(values[0], values[1], SETVAL, ctypes.c_int(values[2])) < 0:
            return fail(ctypes.get_errno())
    else:
        mode = values[-1] if len(values) > len(ARGS[verb][0].split()) else 0o644
        flags = ctypes.c_int((IPC_CREAT | mode) & 0xFFFFFFFF).value
        if verb == "msgget":
            ident = libc.msgget(values[0], flags)
        elif verb == "semget":
            ident = libc.semget(values[0], values[1], flags)
        else:
            ident = libc.shmget(values[0], ctypes.c_size_t(values[1]), flags)
        if ident < 0:
            return fail(ctypes.get_errno())
        sys.stdout.write(f"{ident}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# The programs the scripts run on the real side (bash's builtins aside), where a distribution
# may leave one out (sysctl is procps's, mount and umount have a package of their own).
REAL_TOOLS = ("bash", "ipcs", "ipcmk", "ipcrm", "lsns", "nsenter", "setpriv", "unshare",
              "sysctl", "mount", "umount", "cat", "ls", "readlink", "sleep")
# The users the scripts run `sysv` as, besides root (setpriv --reuid=...).
TOOL_UIDS = (1000, 4242, 65534)
_TOOL_IMPORTS = "import ctypes, os, select, sys; ctypes.CDLL(None, use_errno=True).msgget"


def _missing_tools(script: str) -> list[str]:
    words = set(re.findall(r"[\w.-]+", script))
    return [t for t in REAL_TOOLS if t in words and shutil.which(t, path=SYSTEM_PATH) is None]


_RELEASE = re.compile(r"(?:from |\(GNU )([\w-]+)\)? (\d[\w.]*)")


def _release(version_line: str) -> str:
    """'util-linux 2.38.1' of 'ipcs from util-linux 2.38.1', 'coreutils 9.1' of 'cat (GNU
    coreutils) 9.1'."""
    m = _RELEASE.search(version_line)
    return f"{m.group(1)} {m.group(2)}" if m else version_line


@functools.cache
def _releases(tool: str) -> tuple[str, str]:
    """(the release whose output ipcsim's shell prints for ``tool``, this machine's)."""
    sim = run_sim(f"{tool} --version")[0].split("\n")[0]
    try:
        real = subprocess.run([shutil.which(tool, path=SYSTEM_PATH), "--version"],
                              capture_output=True, text=True, timeout=30,
                              env={"PATH": SYSTEM_PATH, "LC_ALL": "C"}).stdout.split("\n")[0]
    except (OSError, subprocess.SubprocessError) as e:
        real = str(e)
    return _release(sim), _release(real) if real else f"a {tool} with no --version"


def _other_releases(script: str) -> str:
    """Why the script's programs here cannot be compared (another release than the one
    ipcsim's shell prints the output of), or ''."""
    words = set(re.findall(r"[\w.-]+", script))
    pairs = dict.fromkeys(_releases(t) for t in REAL_TOOLS if t in words and t != "bash")
    differ = [(sim, real) for sim, real in pairs if sim != real]
    if not differ:
        return ""
    return (f"ipcsim's shell prints what {' and '.join(dict.fromkeys(s for s, _ in differ))} "
            f"print; this machine has {' and '.join(dict.fromkeys(r for _, r in differ))}")


def _python_line(python: str, libdirs: tuple[str, ...] = ()) -> str:
    """The sh command that starts ``python -IS`` (with ``libdirs`` searched first for its
    shared libraries)."""
    env = f"env LD_LIBRARY_PATH={shlex.quote(':'.join(libdirs))} " if libdirs else ""
    return f"exec {env}{shlex.quote(python)} -IS"


def _probe(line: str) -> str:
    """'' when root and every uid of TOOL_UIDS can run the tool's imports with ``line``;
    else what went wrong."""
    setpriv = shutil.which("setpriv", path=SYSTEM_PATH)
    for uid in (0,) + (TOOL_UIDS if setpriv else ()):
        argv = ["/bin/sh", "-c", line + ' -c "$1"', "sh", _TOOL_IMPORTS]
        if uid:
            argv = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/",
                                  env={"PATH": SYSTEM_PATH, "LC_ALL": "C"})
        except (OSError, subprocess.SubprocessError) as e:
            return f"uid {uid}: {e}"
        if proc.returncode != 0:
            last = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            return f"uid {uid}: {last[0]}"
    return ""


# Run by the interpreter to copy: the files it needs for the tool, under its prefix.
_LIST_FILES = r'''
import ctypes, os, select, sys
ctypes.CDLL(None, use_errno=True).msgget
stdlib = os.path.dirname(os.path.dirname(ctypes.__file__))
files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
files.add(os.path.join(stdlib, "os.py"))          # the landmark of the standard library
for name in os.listdir(os.path.join(stdlib, "encodings")):
    files.add(os.path.join(stdlib, "encodings", name))
libs = set()
with open("/proc/self/maps") as f:
    for line in f:
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].startswith("/"):
            libs.add(fields[5].strip())
print(repr((os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix),
            sorted(os.path.realpath(f) for f in files if f and os.path.isfile(f)),
            sorted(os.path.realpath(f) for f in libs if os.path.isfile(f)))))
'''


def _python_copy(python: str, dest: str) -> str:
    """Copy ``python`` (the executable, its shared libraries and the standard library
    modules the tool imports, from under its prefix) to ``dest``, which every user can
    read: an interpreter kept in root's home (pyenv's, a venv's) cannot be run by others.
    Returns the sh command that starts the copy."""
    out = subprocess.run([python, "-IS", "-c", _LIST_FILES], capture_output=True, text=True,
                         timeout=60, check=True, cwd="/").stdout
    exe, prefix, files, libs = ast.literal_eval(out)
    under = [f for f in (exe, *files, *libs) if os.path.commonpath([f, prefix]) == prefix]
    libdirs = set()
    for f in under:
        target = os.path.join(dest, os.path.relpath(f, prefix))
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        shutil.copy2(f, target)
        os.chmod(target, 0o755 if f == exe or f in libs else 0o644)
        if f in libs and f != exe and f not in files:
            libdirs.add(os.path.dirname(target))
    for root, dirs, _ in os.walk(dest):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    if exe not in under:
        raise OSError(f"{exe} is not under its prefix {prefix}")
    return _python_line(os.path.join(dest, os.path.relpath(exe, prefix)), tuple(sorted(libdirs)))


@functools.cache
def tool_python() -> tuple[str, str]:
    """(the sh command that starts the tool's Python, '') or ('', why there is none).

    The tool runs as root and as other users: it needs an interpreter they can all run.
    This one is tried first (a venv's, its base); where another user cannot run it (kept
    under /root, as pyenv's is, or needing a shared library from there), a copy of what the
    tool needs in a directory every user can read."""
    tried = []
    candidates = [sys.executable, os.path.realpath(sys.executable),
                  getattr(sys, "_base_executable", sys.executable)]
    for python in dict.fromkeys(candidates):
        line = _python_line(python)
        problem = _probe(line)
        if not problem:
            return line, ""
        tried.append(f"{python}: {problem}")
    dest = tempfile.mkdtemp(prefix="ipcsim-python-")
    os.chmod(dest, 0o755)
    atexit.register(shutil.rmtree, dest, True)
    try:
        line = _python_copy(os.path.realpath(sys.executable), dest)
    except (OSError, subprocess.SubprocessError, ValueError, SyntaxError) as e:
        tried.append(f"a copy in {dest}: {e}")
    else:
        problem = _probe(line)
        if not problem:
            return line, ""
        tried.append(f"a copy in {dest}: {problem}")
    return "", ("no Python that root and uids " + ", ".join(map(str, TOOL_UIDS))
                + " can all run for the real side's sysv tool (" + "; ".join(tried) + ")")


@functools.cache
def tool_dir() -> str:
    """A directory holding the Linux `sysv` tool, put first in the real side's PATH. It is
    also HOME, whose .bash_profile keeps it first in the login shells unshare starts (their
    /etc/profile resets PATH)."""
    path = tempfile.mkdtemp(prefix="ipcsim-tools-")
    os.chmod(path, 0o755)              # other users run it too (setpriv)
    atexit.register(shutil.rmtree, path, True)
    with open(os.path.join(path, ".bash_profile"), "w") as f:
        f.write(f'PATH="{path}:$PATH"\n')
    with open(os.path.join(path, "sysv.py"), "w") as f:
        f.write(SYSV_TOOL)
    line = tool_python()[0] or "exec false"
    with open(os.path.join(path, "sysv"), "w") as f:    # exec: the tool keeps the pid
        f.write(f'#!/bin/sh\n{line} {shlex.quote(os.path.join(path, "sysv.py"))} "$@"\n')
    os.chmod(os.path.join(path, "sysv"), 0o755)
    return path


def run_bash(script: str) -> tuple[str, str, int]:
    """Run ``script`` with bash in a fresh IPC namespace; skip the test where this machine
    lacks a program the script runs or has another release of it than the one whose output
    ipcsim's shell prints, or has no Python for the `sysv` tool."""
    missing = _missing_tools(script)
    if missing:
        pytest.skip(f"the real side runs {', '.join(missing)}, not installed here")
    other = _other_releases(script)
    if other:
        pytest.skip(other)
    if re.search(r"\bsysv\b", script) and tool_python()[1]:
        pytest.skip(tool_python()[1])
    proc = subprocess.run([shutil.which("unshare"), "--ipc", "bash", "-s"], input=script,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": tool_dir() + ":" + SYSTEM_PATH,
                               "LC_ALL": "C", "TZ": "UTC", "SHELL": "/bin/bash",
                               "HOME": tool_dir()})
    status = proc.returncode
    return proc.stdout, proc.stderr, 128 - status if status < 0 else status   # as $? says


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
    "ipcs options alone and combined": """
ipcmk -Q
ipcmk -S 3
ipcmk -M 4096
ipcs -q -c
ipcs -q -p
ipcs -q -t
ipcs -q -l
ipcs -q -u
ipcs -q -b
ipcs -q --human
ipcs -s -c
ipcs -s -p
ipcs -s -t
ipcs -s -l
ipcs -s -u
ipcs -s -b
ipcs -s --human
ipcs -m -c
ipcs -m -p
ipcs -m -t
ipcs -m -l
ipcs -m -u
ipcs -m -b
ipcs -m --human
ipcs -a -c
ipcs -a -t -p
ipcs -c -p
ipcs -p -c
ipcs -l -u
ipcs -u -l
ipcs -t -b
ipcs -c --human
ipcs -l -b -m
ipcs -l --human -s
ipcs -m -s
ipcs -q -m
ipcs --queues --shmems --semaphores
ipcs --all --limits
ipcs --summary --bytes
ipcs --creator
ipcs --time
ipcs --pid
ipcs --hum
ipcs --h
ipcs --version
echo $?
ipcs -V
ipcs -h
echo $?
ipcs --help extra
""",
    "ipcs -i": """
ipcmk -Q
ipcmk -S 3
ipcmk -M 4096
ipcmk -M 1000000
ipcs -q -i 0
ipcs -q -i 0 -c
ipcs -q -i 0 -l
ipcs -q -i 0 -u
ipcs -q -i 0 --human
ipcs -q -i 0 -t
ipcs -s -i 0 -b
ipcs -s -i 0 --human
ipcs -m -i 1 --human
ipcs -m -i 1 -b
ipcs -m -i 1 -p
ipcs -m --id 1
ipcs --id=1 -m
ipcs -mi1
ipcs -i 1 -m -q
echo $?
ipcs -i 1 -a
echo $?
ipcs -q -i 99
echo $?
ipcs -s -i 99
echo $?
ipcs -m -i 99
echo $?
ipcs -m -i -1
ipcs -m -i 0x1
ipcs -m -i 99999999999
echo $?
ipcs -m -i ''
ipcs -q -i 0 -i 5
ipcs -q -i 5 -i 0
ipcs -s -i 0 -s
ipcs -i 0 -q -q
ipcs -i 0 -q -m -s
ipcmk -S 2
ipcmk -Q
ipcs -s -i -1
echo $?
ipcs -q -i -1
echo $?
ipcs -m -i -1
echo $?
ipcs -q -i -2147483648
""",
    "ipcmk sizes, counts and modes": """
ipcmk -M 0
echo $?
ipcmk -M 1K
ipcmk -M 1M
ipcmk -M 1KiB
ipcmk -M 1KB
ipcmk -M 2k
ipcmk -M 1.5K
ipcmk -M 0x10
ipcmk -M 010
ipcmk -M " 5"
ipcmk -M 5x
ipcmk -M 1E
ipcmk -M 99999999999999999999999
ipcmk -M ''
ipcs -m -b
ipcmk -S 0
echo $?
ipcmk -S -1
ipcmk -S 1 -S 2
ipcmk -S 0x3
ipcmk -S 3x
ipcmk -S 99999999999
ipcmk -S ''
ipcmk -Q -p 999
echo $?
ipcmk -Q -p 0
ipcmk -Q -p 7777
ipcmk -Q -p 0x1ff
ipcmk -Q -p -1
ipcmk -Q -p 01234567
ipcmk -Q -p 400 -p 600
ipcmk -Q -p ''
ipcmk -p 600
ipcmk -M
ipcmk -p
ipcmk --shmem
ipcmk --shmem=100 --queue --semaphore=1 --mode=600
ipcmk --sh 10
ipcmk --q
ipcmk --m 600 -Q
ipcmk --mode
ipcmk -QQ
ipcmk -Q -Q
ipcmk -QS2
ipcmk -QM10
ipcmk -Q foo bar
ipcmk -- -Q
ipcmk -h
echo $?
ipcmk --version
ipcmk --hel
ipcmk -Q --help
ipcmk -V -Q
ipcmk -Q -V
ipcs
""",
    "ipcrm forms": """
ipcmk -Q
ipcmk -Q
ipcmk -S 1
ipcmk -S 2
ipcmk -M 10
ipcmk -M 20
ipcs
ipcrm -q 0 -q 1
echo $?
ipcrm -s 0 1
echo $?
ipcrm -m 0 -m 0
echo $?
ipcrm -Q 0x0
ipcrm -Q -1
ipcrm -M 0xffffffff
ipcrm -S 4294967296
ipcrm -S 99999999999999999999
ipcrm -Q ''
ipcrm -q ''
ipcrm -q -1
ipcrm -q 2147483648
ipcrm -q 0x1
ipcrm -q 1x
ipcrm -m
ipcrm -M
ipcrm --shmem-key
ipcrm --semaphore-id 1 --shmem-id 1
echo $?
ipcrm -a=msg
ipcrm --all=shm
ipcrm -ashm -asem
echo $?
ipcrm -a -a
ipcs
ipcrm shm
ipcrm shm 0 x
echo $?
ipcrm sem 1 2 3
ipcrm msg -1
ipcrm msg 99999999999999999999
ipcrm msg ''
ipcrm foo 1
ipcrm -V
ipcrm --version
ipcrm -h
ipcrm -v
echo $?
ipcrm extra
ipcrm -v extra
ipcrm -- -q 1
""",
    "messages, attachments, locks": """
ipcmk -Q
ipcmk -M 4096
ipcmk -S 3
sysv send 0 hello
sysv send 0 "two words" 5
sysv send 0 x 2
ipcs -q
ipcs -q -b
ipcs -q --human
ipcs -q -p
ipcs -q -t
ipcs -q -i 0
ipcs -q -u
ipcs -u
sysv receive 0 5
sysv receive 0
sysv receive 0 9
echo $?
sysv receive 7
sysv send 0
echo $?
sysv send abc x
sysv attach 0
ipcs -m
ipcs -m -p
ipcs -m -t
ipcs -m -i 0
ipcs -m -u
sysv lock 0
ipcs -m
sysv unlock 0
ipcs -m
sysv lock 0
ipcrm -m 0
ipcs -m
ipcs -m -c
ipcs -m -i 0
ipcs -a
sysv setval 0 1 7
sysv setval 0 5 7
sysv setval 0 1 40000
ipcs -s -i 0
sysv attach 9
echo $?
unshare --ipc
ipcmk -M 10
sysv attach 0
ipcs -m
exit
ipcs -m
""",
    "nested shells: line numbers, signals": """
nosuch
unshare --ipc
nosuch
echo $?
ipcs -z
exit 3
echo $?
nosuch
unshare --ipc
kill -9 $$
echo $?
unshare --ipc
kill -USR1 $$
unshare --ipc
kill $$
echo $?
unshare --ipc
kill -PIPE $$
echo $?
""",
    "owners other than root (uid 1000, unnamed 4242)": """
setpriv --reuid=1000 --regid=1000 --clear-groups ipcmk -Q
setpriv --reuid=1000 --regid=1000 --clear-groups ipcmk -M 100 -p 600
setpriv --reuid=1000 --regid=1000 --clear-groups ipcmk -S 2 -p 640
setpriv --reuid=4242 --regid=4243 --clear-groups ipcmk -Q -p 666
ipcmk -Q -p 600
ipcs
ipcs -c
ipcs -t
ipcs -p
ipcs -q -i 0
ipcs -m -i 0
ipcs -s -i 0
setpriv --reuid=1000 --regid=1000 --clear-groups ipcs
setpriv --reuid=1000 --regid=1000 --clear-groups ipcs -q -i 2
setpriv --reuid=1000 --regid=1000 --clear-groups ipcs -s -i 0
setpriv --reuid=4242 --regid=4242 --clear-groups ipcs -s -i 0
echo $?
setpriv --reuid=4242 --regid=4242 --clear-groups ipcrm -q 0
echo $?
setpriv --reuid=4242 --regid=4242 --clear-groups ipcrm -m 0 -s 0
setpriv --reuid=4242 --regid=4242 --clear-groups ipcrm -a
echo $?
setpriv --reuid=4242 --regid=4242 --clear-groups ipcrm -v -a
setpriv --reuid=4242 --regid=4242 --clear-groups ipcrm -Q 0x1
setpriv --reuid=4242 --regid=4242 --clear-groups ipcrm msg 0 1 2
setpriv --reuid=1000 --regid=1000 --clear-groups sysv send 0 hi
setpriv --reuid=4242 --regid=4242 --clear-groups sysv send 0 hi
setpriv --reuid=4242 --regid=4242 --clear-groups sysv send 1 hi
setpriv --reuid=4242 --regid=4242 --clear-groups sysv attach 0
setpriv --reuid=1000 --regid=1000 --clear-groups sysv attach 0
setpriv --reuid=1000 --regid=1000 --clear-groups sysv lock 0
setpriv --reuid=4242 --regid=4242 --clear-groups sysv lock 0
setpriv --reuid=4242 --regid=4242 --clear-groups sysv setval 0 0 1
setpriv --reuid=1000 --regid=1000 --clear-groups sysv setval 0 0 1
ipcs -m
setpriv --reuid=1000 --regid=1000 --clear-groups ipcrm -v -a
ipcs
setpriv --reuid=1000 --regid=1000 --clear-groups ipcs -u
setpriv --reuid=1000 --regid=1000 --clear-groups ipcs -l
ipcmk -Q
ipcmk -Q
ipcmk -Q
ipcrm -q 4
ipcmk -M 5
ipcmk -M 6
ipcrm -m 1
ipcs -q
ipcs -q -i 5
ipcs -m
""",
    "sysctl as procps-ng": """
sysctl kernel.msgmni
sysctl kernel.msgmnb kernel.msgmax
sysctl kernel/msgmni
sysctl -w kernel.msgmni=64
echo $?
sysctl -w kernel.msgmni=64 kernel.msgmax=4096
sysctl -w kernel.sem="10 20 30 40"
sysctl kernel.sem
sysctl -w kernel.sem=1
echo $?
sysctl -w kernel.shmmax=1024
sysctl -w kernel.shmall=2
sysctl -w kernel.shmmni=3
sysctl -w kernel.msgmnb=100
ipcs -l
ipcs -l --human
ipcs -l -b
echo 5 > /proc/sys/kernel/msgmni
echo 7000 > /proc/sys/kernel/msgmax
echo "1 2 3 4" > /proc/sys/kernel/sem
ipcs -l
sysctl -n kernel.msgmni kernel.msgmax
sysctl -q -w kernel.msgmni=9
sysctl -N kernel.msgmni
sysctl -w kernel.msgmni=2147483648
echo $?
sysctl -w kernel.msgmni=-1
echo $?
sysctl -w kernel.msgmni=" 12"
sysctl kernel.msgmni
sysctl -w kernel.msgmni=0x10
sysctl kernel.msgmni
sysctl -w kernel.nosuch=1
echo $?
sysctl -w fs.mqueue.msg_max=20
sysctl fs.mqueue.msg_max
sysctl fs.mqueue.queues_max fs.mqueue.msgsize_max fs.mqueue.msg_default fs.mqueue.msgsize_default
sysctl kernel.shm_rmid_forced
sysctl -w kernel.shm_rmid_forced=1
sysctl kernel.msg_next_id kernel.sem_next_id kernel.shm_next_id
sysctl -w kernel.msg_next_id=42
ipcmk -Q
sysctl kernel.msg_next_id
sysctl kernel.auto_msgmni
sysctl
echo $?
sysctl -z
echo $?
sysctl -N -q kernel.msgmni
echo $?
sysctl -b kernel.msgmni
echo
sysctl -e kernel.nosuch
echo $?
sysctl -e -w kernel.nosuch=1
echo $?
sysctl -w -- -kernel.nosuch=1
echo $?
sysctl -w a
echo $?
sysctl -w kernel
echo $?
sysctl -w kernel=1
echo $?
sysctl kernel.msgmni = 5
echo $?
sysctl -w " kernel.msgmni = 33 "
sysctl kernel.msgmni
sysctl --values kernel.msgmni
sysctl --names kernel.msgmni
sysctl --quiet --write kernel.msgmni=34
sysctl -nN kernel.msgmni
sysctl -N kernel.msgmni=77
sysctl -N -w kernel.shmmni=4000
sysctl -w kernel.msgmni=1 -q
sysctl --dry-run -w kernel.msgmni=2
sysctl kernel.msgmni
sysctl -p /nonexistent
echo $?
sysctl -r msgmni -a
sysctl kernel.msgmni kernel.nosuch kernel.msgmax
echo $?
sysctl kernel..msgmni
sysctl .kernel.msgmni
sysctl fs.mqueue.
""",
    "help and version": """
ipcs --help
ipcs --version
ipcmk --help
ipcrm --help
lsns --help
echo $?
lsns --version
lsns -V
unshare --version
nsenter --version
setpriv --version
sysctl --version
sysctl -V
cat --version
ls --version
mount --version
umount --version
""",
    "/proc/sysvipc and limits written through /proc/sys": """
ls /proc/sysvipc
cat /proc/sysvipc/msg
cat /proc/sysvipc/sem
cat /proc/sysvipc/shm
ipcmk -Q
ipcmk -S 4
ipcmk -M 8192
sysv send 0 hello 3
sysv attach 0
cat /proc/sysvipc/msg /proc/sysvipc/sem
cat /proc/sysvipc/shm
cat /proc/sysvipc
echo $?
cat /proc/sysvipc/nosuch
echo $?
cat < /proc/sysvipc/msg
ls /proc/sys/kernel/msgmni
ls /proc/sys/fs/mqueue
ls /nonexistent
echo $?
echo 5 > /proc/sys/kernel/msgmni
echo 1000 > /proc/sys/kernel/msgmax
echo 2000 > /proc/sys/kernel/msgmnb
echo 4096 > /proc/sys/kernel/shmmax
echo 3 > /proc/sys/kernel/shmmni
echo 10 > /proc/sys/kernel/shmall
ipcs -l
ipcs -l -b
ipcs -l --human
cat /proc/sys/kernel/msgmni /proc/sys/kernel/msgmax
echo 40000 > /proc/sys/kernel/msgmni
echo $?
echo -1 > /proc/sys/kernel/msgmni
echo $?
echo 18446744073709551615 > /proc/sys/kernel/shmmax
echo 0 > /proc/sys/kernel/shmall
ipcs -l
ipcs -m -l
echo 18446744073709551615 > /proc/sys/kernel/shmall
ipcs -m -l
ipcs -m -l -b
ipcs -m -l --human
echo 4611686018427387904 > /proc/sys/kernel/shmall
ipcs -m -l
ipcs -m -l -b
echo "250 32000 32 128" > /proc/sys/kernel/sem
ipcmk -M 100000
ipcmk -Q
echo $?
echo 1 > /proc/sys/kernel/msgmni
ipcmk -Q
echo 10 > /proc/sys/kernel/msgmax
sysv send 0 01234567890
echo 1 > /proc/sys/kernel/sem
ipcmk -S 2
cat /proc/sys/kernel/sem
echo "1 1 1 1" > /proc/sys/kernel/sem
ipcmk -S 2
ipcmk -S 1
""",
    "nesting: unshare, nsenter, bash -c, exported variables": """
P=$$
export Q=$$
ipcmk -Q
unshare --ipc
nsenter --ipc -t $P ipcs -q
ipcs -q
ipcmk -S 1
R=$$
unshare --ipc
ipcs
nsenter --ipc -t $Q ipcs -q
nsenter --ipc -t $R ipcs -s
nsenter -t $Q --ipc
ipcs -q
exit
exit 4
echo $?
ipcs -s
exit
ipcs -q
nsenter --ipc -t 99999 ipcs
echo $?
nsenter --ipc ipcs
echo $?
nsenter -t $$ ipcs
echo $?
nsenter --ipc=/proc/$$/ns/ipc ipcs -q
nsenter --ipc=/nonexistent true
echo $?
unshare -i ipcs -q
unshare --ipc --fork ipcs -q
unshare --ipc nosuch
echo $?
unshare --ipc -- ipcs -q
unshare -x
echo $?
unshare --ipc false
echo $?
unshare --ipc sh -c 'exit 3'
echo $?
unshare --ipc bash
ipcs -q
nosuch
exit
unshare --ipc unshare --ipc ipcs -q
unshare --ipc nsenter --ipc -t $$ ipcs -q
unshare --ipc bash -c 'ipcmk -Q; ipcs -q; exit 5'
echo $?
unshare --ipc bash -c 'ipcmk -Q; nosuch'
echo $?
bash -c 'ipcs -q'
setpriv --reuid=1000 --regid=1000 --clear-groups bash -c 'ipcmk -Q; ipcs -q'
X=
ipcs $X -q
ipcs "$X" -q
Y="-q -c"
ipcs $Y
ipcs "$Y"
""",
    "options acted on in order until a bad one": """
ipcs -i abc -z
ipcs -h -z
ipcs -z -h
ipcs -V --bogus
ipcmk -M abc -x
ipcmk -x -M abc
ipcmk -V -x
ipcrm -q abc -x
ipcrm -x -q abc
lsns -t foo -x
lsns -x -t foo
lsns -V -x
unshare --ipc -x true
nsenter -t abc -x
setpriv --reuid=abc --bogus true
sysctl -V -z
sysctl -z -V
""",
    "times, pids and sizes of used objects": """
ipcmk -Q
ipcmk -M 5000
ipcmk -S 2
ipcmk -M 3000000000
echo $?
ipcmk -M 18446744073709551615
ipcmk -M 1T
sysv send 0 abc
sysv send 0 defgh 2
sysv receive 0 2
ipcs -q -t
ipcs -q -p
ipcs -q -i 0
ipcs -q -i 0 --human
ipcs -q -u
ipcs -q -u -b
ipcs -q -u --human
sysv receive 0 -5
sysv receive 0 -5
sysv send 0 x 0
sysv send 0 x -1
sysv send 0 x 9223372036854775807
sysv send 0 x 9223372036854775808
sysv receive 0 9223372036854775807
sysv attach 0
sysv attach 0
ipcs -m -i 0
ipcs -m -t
ipcs -m -p
ipcs -m -u
ipcrm -m 0
ipcs -m -i 0
ipcs -m -c
ipcrm -m 0
ipcrm -M 0x0
sysv attach 0
sysv lock 0
sysv unlock 0
ipcs -m -i 0
sysv setval 0 0 5
sysv setval 0 1 32767
sysv setval 0 1 32768
sysv setval 0 1 -1
sysv setval 0 2 1
ipcs -s -t
ipcs -s -i 0
ipcs -s -u
ipcs -u --human
ipcs -a -b
ipcs --human -m
ipcrm -a
ipcs -m
ipcs > /dev/null
echo $?
ipcs -z 2>&1
ipcs -z 2>/dev/null
echo $?
ipcs -z > /dev/null 2>&1
echo $?
""",
    "bash: exit, lists, echo, redirections, syntax errors": r"""
unshare --ipc
exit 300
echo $?
unshare --ipc
exit -1
echo $?
unshare --ipc
exit abc
echo $?
unshare --ipc
exit 1 2
echo $?
exit
echo $?
unshare --ipc
false
exit
echo $?
true; false; echo $?
false || echo or
true && echo and
false && echo no; echo $?
nosuch; echo $?
ipcs -z; echo $?
echo "a  b" 'c  d' e\ f
echo -n x; echo y
echo -e 'a\tb'
echo $NOPE.
X=5; echo $X ${X} "$X" '$X'
echo $$ > /dev/null
cat /proc/sys/kernel/msgmni > /dev/null; echo $?
echo 7 >> /proc/sys/kernel/msgmni; cat /proc/sys/kernel/msgmni
cat < /nonexistent
echo $?
echo x > /nonexistent/y
echo $?
echo x > /proc/sys/kernel/nosuch
echo $?
echo after
exit 1 2
echo still
exit ' 3'
echo -e 'x\ny' "\x41\0101\c" never
echo -neE 'a\tb'; echo
echo -en 'q\tr\n'
echo -x -n y
echo - -n
echo -e 'bad \q end'
echo ok ;
echo 'two
lines'
true &&
  echo continued
echo ';' '&&' '>'
ipcs -q >
echo never
;
""",
    "a syntax error ends the shell that read it": """
echo a
unshare --ipc
echo in
&& x
echo out
exit
echo top
echo "open
""",
    "kill, setpriv's ids and exit codes, nsenter's forms": """
kill
echo $?
kill -9
kill abc
echo $?
kill -s
kill -s FOO 1
kill -FOO 1
kill 99999
echo $?
kill -0 $$
echo $?
kill -n 0 $$
kill -s 0 $$
kill -SIGZERO $$
setpriv --ruid=1000 ipcs -q
setpriv --euid=1000 ipcmk -Q
setpriv --reuid=1000 --rgid=1000 ipcmk -Q
setpriv --reuid=1000 --regid=1000 --keep-groups ipcmk -Q
setpriv --reuid=1000 --regid=1000 --groups=1,2 ipcmk -Q
setpriv --reuid=1000 --regid=1000 --groups=abc ipcmk -Q
setpriv --reuid=nobody --regid=1000 --clear-groups ipcs -c
setpriv --reuid=1000 --regid=1000 --clear-groups setpriv --reuid=0 true
echo $?
setpriv --reuid=1000 --regid=1000 --clear-groups unshare --ipc true
echo $?
setpriv --reuid=1000 --regid=1000 --clear-groups nsenter --ipc -t $$ true
echo $?
setpriv --reuid=1000
setpriv --regid=1000 true
nsenter --ipc=/proc/$$/ns/ipc ipcs -q
nsenter -i/proc/$$/ns/ipc ipcs -q
nsenter -a -t $$ ipcs -q
nsenter --ipc -t $$
nsenter
echo $?
ipcs -c
""",
    "readlink of namespace links": """
readlink /proc/$$/ns/ipc
readlink /proc/self/ns/ipc
readlink -n /proc/self/ns/ipc; echo
unshare --ipc
readlink /proc/$$/ns/ipc
exit
readlink /proc/$$/ns/ipc
readlink /proc/sys/kernel/msgmni
echo $?
readlink -v /proc/sys/kernel/msgmni
readlink -v /nonexistent
readlink
readlink --version
""",
    "ls of /proc": """
ls /proc/$$/ns
ls /proc/self/ns
ls /proc/sys/fs/mqueue /proc/sysvipc
ls /run/no-such-mqueue
""",
    "keys chosen with sysv msgget/semget/shmget, large ones, ipcrm by key": """
sysv msgget 0xdeadbeef
sysv msgget 0x7fffffff 600
sysv msgget 0x80000000
sysv msgget -1
sysv msgget 4294967295
sysv msgget 4294967296
sysv msgget 0
sysv msgget 0
sysv semget 0xcafe 3
sysv semget 0xcafe 4
sysv semget 0xcafe 0
sysv semget 0xbeef 0
sysv shmget 0x12345678 4096 640
sysv shmget 0x12345678 8192
sysv shmget 0x12345678 100
sysv shmget 0xfeedface 0
sysv msgget 0x1 9999
sysv msgget 0x2 777777777777
sysv msgget 0x3 abc
sysv msgget zz
sysv msgget
sysv nosuch
ipcs
ipcs -c
ipcrm -Q 0xdeadbeef
ipcrm -Q 0xDEADBEEF
ipcrm -Q -559038737
ipcrm -Q 0x80000000 -Q 0x7fffffff
ipcrm -Q 4294967295
ipcrm -S 0xcafe -M 0x12345678
ipcrm -M 0x12345678
ipcs
setpriv --reuid=1000 --regid=1000 --clear-groups sysv msgget 0x77 600
setpriv --reuid=4242 --regid=4242 --clear-groups ipcrm -Q 0x77
setpriv --reuid=4242 --regid=4242 --clear-groups sysv msgget 0x77
setpriv --reuid=4242 --regid=4242 --clear-groups sysv send 5 x
ipcrm -Q 0x77
ipcs -q
""",
    "pathname expansion": r"""
cat /proc/sysvipc/*
ls /proc/sys/kernel/msg*
ls /proc/sys/fs/mqueue/msg?max
ls /proc/sys/kernel/sem*
echo /proc/sysvipc/*
echo "/proc/sysvipc/*"
echo /nonexistent/*
ls /proc/sys/kernel/[ms]hm*
sysctl kernel.msg*
cat /proc/sys/fs/mqueue/*
ipcmk -Q
echo /proc/sysvipc/[ms]*
echo /proc/sysvipc/\*
echo /proc/sysvipc/"*"
X="/proc/sysvipc/m*"
echo $X "$X"
""",
    "shm_rmid_forced and segments their creator left": """
sysctl -w kernel.shm_rmid_forced=1
ipcmk -M 10
ipcs -m
sysv shmget 0x42 100
ipcs -m
sysv shmget 0x43 100
sysv attach 0
ipcs -m
sysctl -w kernel.shm_rmid_forced=0
ipcmk -M 20
ipcs -m
unshare --ipc
ipcmk -M 30
sysv attach 0
sysctl -w kernel.shm_rmid_forced=1
ipcs -m
exit
ipcs -m
""",
    "bash -c: as another user, $0, parse errors": """
setpriv --reuid=1000 --regid=1000 --clear-groups bash -c 'echo 5 > /proc/sys/kernel/msgmni'
echo $?
setpriv --reuid=1000 --regid=1000 --clear-groups bash -c 'ipcmk -Q -p 01777; ipcs -q'
setpriv --reuid=1000 --regid=1000 --clear-groups bash -c 'ipcs -q -i 0'
setpriv --reuid=1000 --regid=1000 --clear-groups bash -c 'sysctl -w kernel.msgmni=5'
echo $?
setpriv --reuid=1000 --regid=1000 --clear-groups bash -c 'nosuch; exit 7'
echo $?
bash -c 'echo $0'
bash -c 'echo "a b" > /proc/sys/kernel/msgmni'
echo $?
bash -c 'exit 300'
echo $?
bash -c
echo $?
bash -c 'echo unterminated "quote'
echo $?
bash -c 'ipcs -q; ;'
echo $?
""",
    "sh -c is dash": """
sh -c 'nosuch'
echo $?
sh -c 'ipcmk -Q; ipcs -q; exit 4'
echo $?
unshare --ipc sh -c 'nosuch; ipcs -z'
echo $?
sh -c 'echo $0'
""",
    "kill -l": """
kill -l
kill -l 9
kill -l KILL
kill -l 137
kill -L
kill -l 200
kill -l FOO
kill -l sigterm
kill -l 0
""",
    "sleep, cat and ls: operands, options, errors": """
sleep
echo $?
sleep x
echo $?
sleep 0.1
sleep 0.1s
sleep 1m x
sleep -1
sleep --version
cat -n /proc/sys/kernel/sem
ls -z
cat nosuch1 nosuch2
echo $?
ls /proc/sysvipc/msg /proc/sysvipc
cat -n /proc/sys/kernel/msgmni /proc/sys/kernel/sem
cat -n < /proc/sysvipc/msg
cat -z
cat -n nosuch /proc/sys/kernel/msgmax
""",
    "a shell killed by a signal": """
ipcmk -Q
unshare --ipc
kill -USR1 $$
echo $?
kill -9 $$
echo never
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
            # tree branches: ASCII in the C locale, as the shell draws them otherwise
            word = re.sub(r"^`-", "└─", re.sub(r"^\|-", "├─", word))
            branch = re.match(r"^(?:[└├]─)*", word).group(0)
            if col == "NS":
                word = branch + ns.setdefault(word[len(branch):], f"ns{len(ns)}")
            elif col in ("PID", "PPID"):
                word = pids.setdefault(word, f"p{len(pids)}")
            elif col == "PATH":
                word = "/proc/PID/ns/ipc"
            out.append(word)
        rows.append(out + words[len(out):])
    return rows


LSNS_SCRIPTS = {
    "basic": ("unshare --ipc\nlsns -t ipc -p $$\n"
              "lsns -t ipc -p $$ -o NS,TYPE,NPROCS,PID,PPID,UID,USER,PATH,COMMAND\n"
              "lsns -t ipc -p $$ -r -n\nexit\n"),
    "formats, trees and errors": """
unshare --ipc
lsns -t ipc -p $$ -l
lsns -t ipc -p $$ --output-all
lsns -p $$ -t ipc -o +PATH
lsns -t ipc -p $$ -o NS,NPROCS -n
lsns -t ipc -p $$ -r
lsns -t ipc -p $$ -T
lsns -t ipc -p $$ --tree
lsns -t ipc -p $$ -Towner
lsns -t ipc -p $$ -T process
lsns -t ipc -p $$ -Tprocess
lsns -t ipc -p $$ -o NETNSID
lsns -t ipc -p $$ -o FOO
lsns -t foo
lsns -p abc
lsns -p 99999 -t ipc
echo $?
lsns -p 99999
lsns 12345
echo $?
ipcmk -Q
lsns -t ipc -p $$ -o NS,TYPE,NPROCS
exit
""",
}


@requires_real
@pytest.mark.parametrize("name", sorted(LSNS_SCRIPTS))
def test_lsns_of_a_shell_in_its_own_namespace(name):
    script = LSNS_SCRIPTS[name]
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


def random_script(seed: int, length: int = 30) -> str:
    """A random sequence of what a student types: objects made, used, removed and listed,
    limits read and written, shells nested, commands run as uid 1000, statuses echoed."""
    r = random.Random(seed)
    ids = ["0", "1", "32768", "-1", "x", "99"]

    def command() -> str:
        kind = r.choice(["ipcs", "ipcmk", "ipcrm", "sysv", "sysctl", "proc", "nest", "exit",
                         "priv", "status"])
        if kind == "ipcs":
            opts = r.sample(["-q", "-s", "-m", "-a", "-c", "-p", "-t", "-l", "-u", "-b",
                             "--human", "-i " + r.choice(ids)], r.randint(0, 3))
            return " ".join(["ipcs"] + opts)
        if kind == "ipcmk":
            opts = r.sample(["-Q", "-S " + r.choice(["1", "3", "0", "300"]),
                             "-M " + r.choice(["1", "4096", "1K", "0", "10M"]),
                             "-p " + r.choice(["600", "644", "0", "400"])], r.randint(1, 3))
            return " ".join(["ipcmk"] + opts)
        if kind == "ipcrm":
            form = r.choice(["-q", "-s", "-m", "-Q", "-S", "-M", "-a", "msg", "sem", "-v -a",
                             "--all=shm"])
            if "a" in form:
                return f"ipcrm {form}"
            return f"ipcrm {form} {r.choice(ids + ['0x1', '0x2'])}"
        if kind == "sysv":
            return r.choice([f"sysv send {r.choice(ids[:3])} hi {r.choice(['1', '2', ''])}",
                             f"sysv receive {r.choice(ids[:3])} {r.choice(['', '2', '-2'])}",
                             f"sysv attach {r.choice(ids[:3])}", f"sysv lock {r.choice(ids[:2])}",
                             f"sysv setval {r.choice(ids[:2])} {r.choice(['0', '1'])} 3",
                             "sysv msgget 0x55", "sysv shmget 0x56 100 600"])
        if kind == "sysctl":
            key = r.choice(["kernel.msgmni", "kernel.msgmax", "kernel.shmmni", "kernel.sem",
                            "fs.mqueue.msg_max", "kernel.shm_rmid_forced", "kernel/msgmnb"])
            value = r.choice(["5", "0", "-1", "abc", "2147483648", " 7", "0x10", ""])
            return (f"sysctl {r.choice(['', '-n ', '-w ', '-q -w ', '-N '])}{key}"
                    + (f"={value}" if r.random() < 0.6 else ""))
        if kind == "proc":
            name = r.choice(["msgmni", "msgmax", "shmmni", "sem", "msg_next_id"])
            return r.choice([f"cat /proc/sys/kernel/{name}", "ipcs -l",
                             f"echo {r.choice(['5', '0', '-3', '1 2 3 4', 'x'])} > "
                             f"/proc/sys/kernel/{name}"])
        if kind == "nest":
            return r.choice(["unshare --ipc", "unshare --ipc ipcs -q", "unshare --ipc ipcmk -Q",
                             "bash -c 'ipcmk -Q; ipcs -q'"])
        if kind == "exit":
            return "exit " + r.choice(["", "3", "0"])
        if kind == "priv":
            return ("setpriv --reuid=1000 --regid=1000 --clear-groups "
                    + r.choice(["ipcmk -Q", "ipcs", "ipcrm -a", "sysv send 0 x", "ipcrm -q 0",
                                "sysctl -w kernel.msgmni=9"]))
        return "echo $?"

    return "".join(command() + "\n" for _ in range(length))


@requires_real
@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_print_what_util_linux_prints(seed):
    script = random_script(seed)
    real_out, real_err, real_status = run_bash(script)
    sim_out, sim_err, sim_status = run_sim(script)
    assert normalize(sim_out) == normalize(real_out), script
    assert normalize(sim_err) == normalize(real_err), script
    assert sim_status == real_status, script


def test_real_comparison_reason_is_stated():
    ok, why = available()
    assert ok or why
