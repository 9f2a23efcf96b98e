"""The simulated shell: a bash-like command line on a simulated machine.

Every shell is a simulated process. A command such as ``ipcmk -Q`` runs as a child process
of the shell (fork, run, exit, wait), as bash runs a program; builtins (``echo``, ``kill``,
``exit``, ``true``, ``false``, ``help``) run in the shell itself. ``unshare --ipc`` starts a
child shell in a new IPC namespace, ``nsenter --ipc -t PID`` one in another process's
namespace and ``setpriv --reuid=U ...`` one with other credentials (or, given a command, runs
it there); ``exit`` ends the innermost shell, and its namespace goes with its last member.

The language is a small part of bash's: words with '...' and "..." quoting and backslashes,
``$$``, ``$?``, ``$NAME`` and ``NAME=value``, ``;``, ``&&``, ``||``, ``#`` comments, and the
redirections ``> FILE``, ``>> FILE``, ``< FILE``, ``2> FILE``, ``2>&1`` and ``>/dev/null``,
pipelines (``cmd | grep x``: the stages run one after the other, each reading what the one
before wrote) and jobs: ``cmd &`` runs in the background, ``jobs``, ``wait``, ``fg`` and
``kill %N`` act on it. A program runs as a scheduled program of the kernel, so a call that
blocks (``sysv semop``, ``mq receive``) really waits: the prompt comes back when the
foreground command ends, and while it waits the background jobs run. When every process is
blocked the shell prints the deadlock and reads on; the blocked command stays, as a job.
"""
from __future__ import annotations

import errno
import fnmatch
import random
import sys
from typing import Any, Callable, TextIO

from ..constants import (CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                         CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS, MS_BIND, MS_NODEV,
                         MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE,
                         O_APPEND, O_CREAT, O_TRUNC, O_WRONLY)
from ..errors import DeadlockError, ProcessGone, SimulationError
from ..kernel.kernel import Kernel
from ..kernel.process import Process
from . import ipcutils, lsns as _lsns, textutils, tools
from .bashhelp import BASH_HELP
from .jobs import Job, JobTable, deadlock_report
from .common import (GROUPS, LOGIN_GID, PASSWD, SIGINT, SIGKILL, SIGPIPE, SIGTERM, Ctx, Exit,
                     c_strtol, strerror, strsignal, strtonum_or_err)
from .getopt import LongOpt, getopt_until_error

Command = Callable[[Ctx, list[str]], int]
# Where a command's output goes.
Write = Callable[[str], object]
# A line's tokens: words (_Word, a tuple of its pieces) and operators (1-tuples).
Tokens = list[Any]
PASSWD_BY_NAME = {name: uid for uid, name in PASSWD.items()}
GROUPS_BY_NAME = {name: gid for gid, name in GROUPS.items()}

#: The programs the shell can run (each runs as a child process of the shell).
PROGRAMS: dict[str, tuple[Command, str]] = {
    "ipcs": (ipcutils.ipcs, "show System V IPC objects (-q -s -m -a; -l -u -c -p -t; -i ID)"),
    "ipcmk": (ipcutils.ipcmk, "make a queue (-Q), semaphore set (-S N) or segment (-M SIZE)"),
    "ipcrm": (ipcutils.ipcrm, "remove IPC objects by id (-q -s -m) or key (-Q -S -M), -a: all"),
    "lsns": (_lsns.lsns, "list namespaces and their processes (lsns -t ipc)"),
    "cat": (tools.cat, "print files, e.g. /proc/sysvipc/msg, /proc/sys/kernel/msgmni"),
    "ls": (tools.ls, "list a directory, e.g. /proc/sysvipc, an mqueue mount"),
    "readlink": (tools.readlink, "where a link points: readlink /proc/$$/ns/ipc"),
    "mount": (tools.mount, "mount -t mqueue none DIR; mount --bind /proc/PID/ns/ipc FILE"),
    "umount": (tools.umount, "unmount"),
    "mkdir": (tools.mkdir, "make directories (-p: with their parents), e.g. mount targets"),
    "touch": (tools.touch, "make empty files, e.g. a target for unshare --ipc=FILE"),
    "sysctl": (tools.sysctl, "read or set limits: sysctl kernel.msgmni; sysctl -w k=v"),
    "ps": (tools.ps, "every process with its IPC namespace"),
    "sleep": (tools.sleep, "let virtual time pass"),
    "mq": (tools.mq, "POSIX message queues: mq open|send|receive|attr|unlink|ls"),
    "sysv": (tools.sysv, "System V calls: semop, msgsnd, msgrcv (they wait), shmat ..."),
    "grep": (textutils.grep, "lines that match: ipcs -q | grep root"),
    "wc": (textutils.wc, "count lines, words, bytes: ipcs -s | wc -l"),
    "head": (textutils.head, "the first lines (-n N)"),
    "tail": (textutils.tail, "the last lines (-n N, -n +N)"),
    "sort": (textutils.sort, "sort lines (-n -r -u -k N -t C)"),
    "id": (textutils.id_, "who this shell runs as: uid, gid, groups"),
    "whoami": (textutils.whoami, "the effective user's name"),
    "clear": (textutils.clear, "clear the terminal"),
}

BUILTINS_HELP = {
    "unshare": "unshare [-Ur] [--ipc] [-m] [-p -f] [CMD]: a child shell (or CMD) in new "
               "namespaces",
    "bash": "bash [-c CMDS]: a child shell (in the same namespace)",
    "nsenter": "nsenter [-U] --ipc -t PID [CMD]: a child shell (or CMD) in PID's namespaces",
    "setpriv": "setpriv --reuid=U --regid=G --clear-groups CMD: run CMD as another user",
    "exit": "exit [N]: end this shell (the namespace dies with its last member)",
    "echo": "echo TEXT [> FILE]: print, or write to a file such as /proc/sys/kernel/msgmax",
    "kill": "kill [-SIG] PID|%N: send a signal",
    "jobs": "jobs [-lp]: the background jobs (cmd &)",
    "wait": "wait [%N|PID]: wait for background jobs",
    "fg": "fg [%N]: bring a job to the foreground (Ctrl-C sends it SIGINT)",
    "cd": "cd DIR, pwd: the working directory",
    "export": "export NAME[=VALUE]: child shells (unshare, nsenter) start with NAME",
    "help": "this list",
}


class _Redirect:
    def __init__(self) -> None:
        self.stdout: tuple[str, str] | None = None     # (path, ">" or ">>")
        self.stderr: tuple[str, str] | None = None     # (path, "2>" ...) or ("&1", "")
        self.stdin: str | None = None


class _ShellDies(Exception):
    """The innermost shell ends in the middle of a line (a fork it could not make)."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class ShellExit(Exception):
    """The outermost shell ended (``exit`` at the top)."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class Shell:
    """A shell session on a simulated machine.

    ``Shell(kernel=None, seed=0, out=print-like, err=...)``: the first shell is a child of
    init (pid 2 on a fresh kernel), uid 0. ``run(line)`` runs one command line and returns
    its exit status; ``run_script(text)`` runs lines until ``exit`` at the top; ``proc`` is
    the innermost shell's process. Keys that ``ipcmk`` makes come from ``random.Random(seed)``,
    so the same seed and commands give the same output.
    """

    def __init__(self, kernel: Kernel | None = None, *, seed: int = 0,
                 out: Callable[[str], object] | None = None,
                 err: Callable[[str], object] | None = None, interactive: bool = False):
        self.kernel = kernel if kernel is not None else Kernel(seed=seed)
        self.rng = random.Random(seed)
        self.out = out if out is not None else sys.stdout.write
        self.err = err if err is not None else sys.stderr.write
        self.interactive = interactive
        self.status = 0
        self.lineno = 0                 # lines the innermost shell has read
        self._shells: dict[int, list[Any]] = {}   # shell pid -> [name, lineno, command typed]
        self._typed = ""                # the command running, as bash shows it
        # each shell's variables and the names it exports (a child shell starts from those)
        self._vars: dict[int, tuple[dict[str, str], set[str]]] = {}
        self._cmdlines: dict[int, str] = {}
        # what `mount` lists as the source of the file system mounted on a path
        self.mount_sources: dict[object, str] = {}
        login = self.kernel.init.fork()
        login.comm = "bash"
        self._cmdlines[login.pid] = "-bash"
        self.levels: list[Process] = [login]
        self.ended = False
        self.holders: dict[int, list[Process]] = {}   # shell pid -> its `sysv attach` holders
        self._jobs: dict[int, JobTable] = {}      # shell pid -> its jobs
        self._last_bg: dict[int, int] = {}        # shell pid -> $! (its last background job)
        self._cwd: dict[int, str] = {}            # shell pid -> its working directory
        # a shell that `unshare --fork` or `nsenter` forked -> the wrapper process waiting
        # for it (the wrapper then ends as its child did), and the wrappers' names
        self._relays: dict[int, Process] = {}
        self._waiters: dict[int, str] = {}

    # --- what users read ------------------------------------------------------------------
    @property
    def proc(self) -> Process:
        """The innermost shell's process."""
        return self.levels[-1]

    def prompt(self) -> str:
        """``[pid 2 ipc:[4026531839]]# ``: who runs the next command, and where (``[pid 2]# ``
        on a kernel without CONFIG_IPC_NS, which has no /proc/PID/ns/ipc)."""
        p = self.proc
        if not p.kernel.config_ipc_ns:
            return f"[pid {p.vpid}]# "
        return f"[pid {p.vpid} {p.readlink('/proc/self/ns/ipc')}]# "

    def cmdline(self, proc: Process) -> str:
        """What lsns shows as COMMAND."""
        return self._cmdlines.get(proc.pid, proc.comm)

    def comm(self, proc: Process) -> str:
        """What ps shows as COMMAND."""
        return proc.comm

    def random_key(self) -> int:
        """A key for ipcmk (a random key_t, as util-linux draws one)."""
        key = self.rng.getrandbits(32)
        return key - 2 ** 32 if key >= 2 ** 31 else key

    @property
    def vars(self) -> dict[str, str]:
        """The innermost shell's variables."""
        return self._vars.setdefault(self.proc.pid, ({}, set()))[0]

    def _export(self, args: list[str], out: Write, err: Write) -> int:
        """export NAME[=VALUE]...: child shells start with these variables."""
        values, exported = self._vars.setdefault(self.proc.pid, ({}, set()))
        status = 0
        for arg in args:
            name, eq, value = arg.partition("=")
            if not name.isidentifier() or not name.isascii():
                err(f"{self.where()}export: `{arg}': not a valid identifier\n")
                status = 1
                continue
            if eq:
                values[name] = value
            exported.add(name)
        return status

    def hold(self, holder: Process) -> None:
        """Keep ``holder`` (a process that ``sysv attach`` left attached) alive until the
        innermost shell ends, as a holder on Linux waits for its shell to exit."""
        self.holders.setdefault(self.proc.pid, []).append(holder)

    def _end_holders(self, shell: Process) -> None:
        for holder in self.holders.pop(shell.pid, []):
            if holder.alive:
                holder.exit(0)

    def where(self) -> str:
        """bash's prefix for its own messages: its name ("-bash" for the login shells that
        unshare and nsenter start) and, reading a script, the number of the line it read
        (each shell counts the lines it reads itself)."""
        name = self._shells.get(self.proc.pid, ["bash"])[0]
        if name == "sh":                  # Debian's sh is dash
            return f"sh: {self.lineno}: "
        return f"{name}: " if self.interactive else f"{name}: line {self.lineno}: "

    def _where_parse(self) -> str:
        """The prefix of a parse error: ``bash -c`` names its string ``-c``."""
        state = self._shells.get(self.proc.pid, ["bash"])
        if state[3:4] == ["-c"] and not self.interactive:
            return f"{state[0]}: -c: line {self.lineno}: "
        return self.where()

    # --- running --------------------------------------------------------------------------
    def run_script(self, text: str) -> int:
        """Run ``text`` line by line, as ``bash < script`` does; returns the last status.
        A command goes on over the next lines while a quote is open or a line ends with
        ``&&``, ``||`` or ``|``."""
        lines = text.splitlines()
        i = 0
        while i < len(lines) and not self.ended:
            chunk, i = lines[i], i + 1
            count = 1
            while i < len(lines) and _incomplete(chunk):
                chunk, i, count = chunk + "\n" + lines[i], i + 1, count + 1
            self.run(chunk, count, at_eof=i >= len(lines))
        return self.status

    def run(self, line: str, lines: int = 1, at_eof: bool = False) -> int:
        """Run one command line (of ``lines`` lines); returns its exit status (also in
        ``$?``). A syntax error ends a shell that reads a script, as it ends bash."""
        if self.ended:
            raise SimulationError("this shell has exited")
        state = self._shells.setdefault(self.proc.pid, ["bash", 0])
        state[1] += lines
        self.lineno = state[1]
        line = line.replace("\0", "")           # bash drops NUL bytes from what it reads
        self._run_line(line, at_eof)
        self._reap_dead_levels()                # shells a signal ended meanwhile
        self.notify()
        return self.status

    def _run_line(self, line: str, at_eof: bool) -> None:
        try:
            tokens = lex(line)
            problem = _syntax_error(tokens)
        except ValueError as e:
            self.err(f"{self._where_parse()}{e}\n")
            if not self.interactive and at_eof:
                self._end_reading_shell(2)
            self.status = 2
            return
        what = _unmodelled(tokens) if problem is None else None
        if what is not None:
            self.err(f"{self.where()}{what} are not modelled by the ipcsim shell\n")
            self.status = 2
            return
        if problem is not None:
            where = self._where_parse()
            self.err(f"{where}syntax error near unexpected token `{problem}'\n")
            self.status = 2
            if not self.interactive:
                self.err(f"{where}`{line}'\n")
                self._end_reading_shell(2)
            return
        try:
            self._run_list(tokens)
        except ShellExit as e:
            self.status = e.status
            self.ended = True
        except _ShellDies as e:
            self._end_reading_shell(e.status)

    def _end_reading_shell(self, status: int) -> None:
        """The innermost shell exits with ``status`` (a syntax error in what it read)."""
        self.status = status
        if len(self.levels) == 1:
            self._end_holders(self.proc)
            self.ended = True
            return
        typed = (self._shells.get(self.proc.pid, []) + ["", 0, None])[2]
        shell = self._pop_level()
        self.status = self._end_shell(self.proc, shell, status, typed)

    def _glob(self, word: "Field") -> list[str]:
        """Pathname expansion of an absolute pattern over what the shell's process sees:
        the matching paths in order, or the word itself when none matches (a name that
        starts with a dot matches only a pattern that does)."""
        if not word.startswith("/"):
            return [str(word)]
        assert word.pattern is not None     # (only a word with a pattern is globbed)
        found = [""]
        texts, patterns = word.split("/")[1:], word.pattern.split("/")[1:]
        for n, (text, pattern) in enumerate(zip(texts, patterns)):
            if not pattern:                  # "//" or a trailing slash
                found = [f + "/" for f in found]
                continue
            literal = pattern == "".join(f"[{c}]" if c in "*?[" else c for c in text)
            matched = []
            for prefix in found:
                try:
                    names = self.proc.listdir(prefix or "/")
                except (OSError, SimulationError):
                    continue
                for name in sorted(names):
                    if (name == text if literal else fnmatch.fnmatchcase(name, pattern)
                            and (not name.startswith(".") or pattern.startswith("."))):
                        matched.append(f"{prefix}/{name}")
            found = matched
        return sorted(found) or [str(word)]

    def _expand(self, name: str) -> str:
        if name == "$":
            return str(self.proc.vpid)
        if name == "0":
            shell_name: str = self._shells.get(self.proc.pid, ["bash"])[0]
            return shell_name
        if name == "?":
            return str(self.status)
        if name == "!":
            last = self._last_bg.get(self.proc.pid)
            return "" if last is None else str(last)
        if name == "PWD":
            return self.cwd
        return self.vars.get(name, "")

    def _run_list(self, tokens: Tokens) -> None:
        """Run a line: its and-or lists in turn, each ended by ``;`` or ``&`` (the whole
        list in the background, as bash runs ``a && b &``)."""
        start = 0
        for n, tok in enumerate(tokens + [None]):
            if tok is not None and not (type(tok) is tuple and tok[0] in (";", "&")):
                continue
            part = tokens[start:n]
            start = n + 1
            if tok is not None and tok[0] == "&" and any(
                    type(t) is tuple and t[0] in ("&&", "||", "|") for t in part):
                self.status = self._background_list(part)
            else:
                self._run_and_or(part + ([tok] if tok is not None else []))
            if self.ended or not self.proc.alive:
                return

    def _background_list(self, tokens: Tokens) -> int:
        """``a && b | c &``: a subshell runs the list while this shell reads on."""
        parent = self.proc
        child = parent.fork(target=_list_main, args=(self, tokens))
        child.comm = "bash"
        return self._announce(parent, child, self._typed_text(tokens), _keep)

    def _announce(self, parent: Process, child: Process, typed: str,
                  finish: Callable[[int], int]) -> int:
        """A background job starts: with job control (an interactive shell) it leads a
        process group of its own, which ``kill %N`` signals; ``[N] PID`` is printed."""
        job = self._table().add(child, typed, finish)
        self._last_bg[parent.pid] = job.pid
        if self.interactive:
            if child.alive:
                parent.setpgid(job.pid, job.pid)
            self.err(f"[{job.number}] {job.pid}\n")
        return 0

    def _run_and_or(self, tokens: Tokens) -> None:
        command: Tokens = []
        stages: list[Tokens] = []          # the pipeline's commands before ``command``
        connector = None
        for n, tok in enumerate(tokens + [None]):
            if tok is not None and not (type(tok) is tuple
                                        and tok[0] in (";", "&&", "||", "|", "&")):
                command.append(tok)
                continue
            op = tok[0] if tok is not None else None
            if op == "|" and command:
                stages.append(command)
                command = []
                continue
            if not command:
                if op is None and connector in (None, ";"):
                    return
                self.err(f"{self.where()}syntax error near unexpected token "
                         f"`{op or 'newline'}'\n")
                self.status = 2
                return
            skip = ((connector == "&&" and self.status != 0)
                    or (connector == "||" and self.status == 0))
            if not skip:
                stages.append(command)
                if op == "&":
                    self.status = self._background(stages)
                elif len(stages) > 1:
                    self.status = self._run_pipeline(stages)
                else:
                    self.status = self._run_simple(command)
                if self.ended or not self.proc.alive:    # (a signal ended this shell)
                    return
            command, stages = [], []
            connector = ";" if op == "&" else op

    def _run_simple(self, words: Tokens, pipe_in: str | None = None,
                    sink: list[str] | None = None) -> int:
        """Run one simple command; ``pipe_in`` is what a pipe brings to its stdin, and
        ``sink`` collects its stdout for the next stage of a pipeline."""
        prepared = self._prepare(words)
        if isinstance(prepared, int):
            return prepared
        argv, redir = prepared
        return self._execute(argv, redir, pipe_in, sink)

    @staticmethod
    def _typed_text(words: Tokens) -> str:
        """What bash shows of a command (a job report): its words as typed."""
        return " ".join(w.raw if isinstance(w, _Word) else w[0] for w in words)

    def _prepare(self, words: Tokens) -> tuple[list[str], _Redirect] | int:
        """The argv and redirections of a simple command (its words expanded and globbed,
        leading assignments made); a status when there is nothing to run."""
        self._typed = self._typed_text(words)
        words = [f for w in words
                 for f in (w.fields(self._expand) if isinstance(w, _Word) else [w])]
        words = [g for w in words
                 for g in (self._glob(w) if isinstance(w, Field) and w.pattern else [w])]
        redir = _Redirect()
        argv: list[str] = []
        i = 0
        while i < len(words):
            w = words[i]
            if isinstance(w, tuple):
                op = w[0]
                if op == "2>&1":
                    redir.stderr = ("&1", "")
                    i += 1
                    continue
                if i + 1 >= len(words) or isinstance(words[i + 1], tuple):
                    self.err(f"{self.where()}syntax error near unexpected token `newline'\n")
                    return 2
                target = words[i + 1]
                if op in (">", ">>"):
                    redir.stdout = (target, op)
                elif op in ("2>", "2>>"):
                    redir.stderr = (target, op)
                elif op == "<":
                    redir.stdin = target
                i += 2
                continue
            argv.append(w)
            i += 1
        while argv and "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
            name, value = argv.pop(0).split("=", 1)
            self.vars[name] = value
        if not argv:
            return 0
        return argv, redir

    def _run_pipeline(self, stages: list[Tokens]) -> int:
        """``a | b | c`` in the foreground: each stage runs when the one before has ended,
        reading what it wrote; the status is the last stage's."""
        typed = " | ".join(self._typed_text(words) for words in stages)
        piped: str | None = None
        status = 0
        for n, words in enumerate(stages):
            sink: list[str] | None = [] if n < len(stages) - 1 else None
            status = self._run_simple(words, piped if n else None, sink)
            self._typed = typed
            if self.ended or not self.proc.alive:
                return status
            piped = "".join(sink) if sink is not None else None
        return status

    # --- output plumbing ------------------------------------------------------------------
    def _streams(self, redir: _Redirect, name: str, sink: list[str] | None = None,
                 live: bool = False) -> tuple[Write, Write, Callable[[int], int]] | None:
        """(out, err, finish) for a command: writes collect and go where redirected (into
        ``sink``, a pipe, when given); with ``live`` (a background job) what is not
        redirected goes out as it is written. The files are opened first, as bash opens
        them before the command runs: None (the error said) if one cannot be."""
        p = self.proc
        fds: list[int] = []
        for target in (redir.stdout, redir.stderr):
            if target is None or target[0] in ("/dev/null", "&1"):
                fds.append(-1)
                continue
            fd = self._open_redirect(p, *target)
            if fd is None:
                for opened in fds:
                    if opened >= 0:
                        p.close(opened)
                return None
            fds.append(fd)
        out_buf: list[str] = []
        err_buf: list[str] = []
        to_out: Write = out_buf.append
        to_err: Write = err_buf.append
        if live and redir.stdout is None and sink is None:
            to_out = self.out
        if live and redir.stderr is None:
            to_err = self.err
        if redir.stderr == ("&1", ""):
            to_err = to_out

        def finish(status: int) -> int:
            text = "".join(out_buf)
            if redir.stdout is None:
                (sink.append if sink is not None else self.out)(text)
            elif fds[0] >= 0:
                status = self._write_fd(p, fds[0], text, name) or status
            etext = "".join(err_buf)
            if redir.stderr is None or redir.stderr == ("&1", ""):
                self.err(etext)
            elif fds[1] >= 0:
                status = self._write_fd(p, fds[1], etext, name) or status
            return status

        return to_out, to_err, finish

    def _open_redirect(self, p: Process, path: str, op: str) -> int | None:
        """What ``> FILE`` opens: open(O_WRONLY|O_CREAT|O_TRUNC, 0666 less the umask);
        ``>>`` opens with O_APPEND in place of O_TRUNC. None (the error said) on failure."""
        try:
            return p.open(self.abspath(path), O_WRONLY | O_CREAT | _REDIRECT_FLAGS[op], 0o666)
        except OSError as e:
            self.err(f"{self.where()}{path}: {strerror(e.errno)}\n")
            return None

    def _write_fd(self, p: Process, fd: int, text: str, name: str) -> int:
        """The command's output into the redirected file, in one write; then close."""
        if not p.alive:           # the command's signal ended this shell: no one writes
            return 0
        try:
            if text:
                p.write(fd, text.encode())
        except OSError as e:
            self.err(f"{self.where()}{name}: write error: {strerror(e.errno)}\n")
            return 1
        finally:
            p.close(fd)
        return 0

    def _stdin(self, redir: _Redirect, pipe_in: str | None = None) -> str | None:
        if redir.stdin is None:
            return pipe_in or ""
        try:
            return self.proc.read_file(self.abspath(redir.stdin))
        except OSError as e:
            self.err(f"{self.where()}{redir.stdin}: {strerror(e.errno)}\n")
            return None

    # --- commands -------------------------------------------------------------------------
    def _execute(self, argv: list[str], redir: _Redirect, pipe_in: str | None = None,
                 sink: list[str] | None = None) -> int:
        name = argv[0]
        stdin = self._stdin(redir, pipe_in)
        if stdin is None:
            return 1
        streams = self._streams(redir, name, sink)
        if streams is None:
            return 1
        out, err, finish = streams
        if argv[1:2] == ["--help"] and name in BASH_HELP:    # before the builtin's options
            out(BASH_HELP[name])
            return finish(2)
        if name in ("unshare", "nsenter", "setpriv", "bash", "sh"):
            status = self._enter(argv, out, err, stdin)
            return finish(status)
        if name == "exit":
            return self._exit(argv)
        builtin: dict[str, Callable[[list[str], Write, Write], int] | None] = {
            "echo": self._echo, "help": self._help, "export": self._export,
            "true": lambda a, o, e: 0, ":": lambda a, o, e: 0,
            "false": lambda a, o, e: 1, "kill": None, "jobs": self._jobs_builtin,
            "wait": self._wait_builtin, "fg": self._fg, "bg": self._bg, "cd": self._cd,
            "pwd": self._pwd}
        if name in builtin:
            run = builtin[name]
            if run is None:           # kill
                ctx = Ctx(self, self.proc, "kill", out, err, stdin)
                status = self._call(tools.kill, ctx, argv[1:])
            else:
                status = run(argv[1:], out, err)
            return finish(status)
        if name not in PROGRAMS:
            finish(0)
            dash = self._shells.get(self.proc.pid, ["bash"])[0] == "sh"
            self.err(f"{self.where()}{name}: {'not found' if dash else 'command not found'}\n")
            return 127
        status = self._spawn(self.proc, argv, out, err, stdin, finish)
        return status

    def _call(self, fn: Command, ctx: Ctx, args: list[str]) -> int:
        try:
            return fn(ctx, args)
        except Exit as e:
            return e.status
        except DeadlockError as e:
            waits = "; ".join(f"pid {pid} in {what}" for pid, what in e.blocked)
            ctx.ewrite(f"{ctx.prog}: would block forever (nothing can wake {waits})\n")
            return 1
        except SimulationError as e:       # a request the model does not cover
            ctx.ewrite(f"{ctx.prog}: {e}\n")
            return 1
        except OSError as e:               # a failure the tool forgot: the shell lives on
            ctx.ewrite(f"{ctx.prog}: {strerror(e.errno)}\n")
            return 1
        except OverflowError:              # a number no C type of the call holds
            ctx.ewrite(f"{ctx.prog}: {strerror(34)}\n")
            return 1
        except Exception as e:             # a bug in the tool: one line, and the shell lives on
            ctx.ewrite(f"ipcsim: {ctx.prog}: internal error: {type(e).__name__}: {e}\n")
            return 2

    def _fork_program(self, parent: Process, argv: list[str], out: Write, err: Write,
                      stdin: str) -> Process:
        """fork a child that runs ``argv`` as a scheduled program and exits with its status."""
        name = argv[0]
        child = parent.fork(target=_program_main,
                            args=(self, PROGRAMS[name][0], name, out, err, stdin, argv[1:]))
        child.comm = name[:15]
        self._cmdlines[child.pid] = " ".join(argv)
        return child

    def _spawn(self, parent: Process, argv: list[str], out: Write, err: Write,
               stdin: str, finish: Callable[[int], int]) -> int:
        """fork, run the program in the child, wait: as a shell runs a command. While it
        runs, so do the background jobs; if every process blocks, it becomes a job."""
        try:
            child = self._fork_program(parent, argv, out, err, stdin)
        except OSError as e:
            finish(0)
            return self._fork_failed(e)
        return self._wait_foreground(parent, child, self._typed, finish)

    def _fork_failed(self, e: OSError) -> int:
        """What bash does when fork(2) fails (ENOMEM once the init of the PID namespace its
        children go to has died): it says so; a shell reading a script then exits with
        254, an interactive one reads on."""
        name = self._shells.get(self.proc.pid, ["bash"])[0]
        self.err(f"{name}: fork: {strerror(e.errno)}\n")
        if not self.interactive:
            raise _ShellDies(254)
        return 254

    def _wait_foreground(self, parent: Process, child: Process, typed: str,
                         finish: Callable[[int], int], job: Job | None = None) -> int:
        """Wait for a foreground program: Ctrl-C sends it SIGINT (as the terminal sends it
        to the foreground job); if every process is blocked, the deadlock is reported and
        the program stays, as job [N] (``job``, the one ``fg`` took, keeps its number)."""
        interrupted = False
        while True:
            try:
                parent.wait(_nr(parent, child))
                break
            except KeyboardInterrupt:
                interrupted = True
                if child.alive and parent.alive:
                    parent.kill(_nr(parent, child), SIGINT)
            except ProcessGone:          # the shell itself was killed meanwhile
                return finish(0)
            except DeadlockError as e:
                self.err(self._deadlock_text(e))
                if job is None:
                    job = self._table().add(child, typed, finish)
                else:
                    self._table().put_back(job)
                self.err(job.line("+"))
                return 1
        status = finish(self._status_of(parent, child, typed))
        if not self.interactive:
            self._forget_signalled()
        if status == 128 + SIGINT and self.interactive:
            self.out("\n")
        elif status == 128 + SIGINT and interrupted:
            # a script's bash that sees its command die of the SIGINT it got too ends
            # itself (wait_sigint_handler): the script stops there
            raise KeyboardInterrupt
        return status

    # --- jobs ---------------------------------------------------------------------------
    def _table(self) -> JobTable:
        """The innermost shell's jobs."""
        return self._jobs.setdefault(self.proc.pid, JobTable(self.interactive))

    def _deadlock_text(self, e: DeadlockError) -> str:
        return deadlock_report(self.kernel, e, self._name_of, {p.pid for p in self.levels})

    def _name_of(self, pid: int) -> str:
        p = self.kernel.process(pid)
        return p.comm if p is not None else "?"

    def _background(self, stages: list[Tokens]) -> int:
        """``cmd &``: a child runs it (a pipeline: a subshell runs its stages in turn)
        while the shell reads on. An interactive shell prints ``[N] PID``; $! is PID."""
        typed = " | ".join(self._typed_text(words) for words in stages)
        parent = self.proc
        if len(stages) == 1:
            prepared = self._prepare(stages[0])
            if isinstance(prepared, int):
                return prepared
            argv, redir = prepared
            stdin = self._stdin(redir)
            if stdin is None:
                return 1
            if argv[0] in _FOREGROUND_ONLY:
                self.err(f"{self.where()}{argv[0]} in the background is not modelled by the "
                         f"ipcsim shell (run it in the foreground)\n")
                return 2
            streams = self._streams(redir, argv[0], live=True) if argv[0] in PROGRAMS else None
            if streams is not None:
                out, err, finish = streams
                child = self._fork_program(parent, argv, out, err, stdin)
            elif argv[0] in PROGRAMS:       # its redirection failed: the job ends at once
                child = parent.fork()
                child.comm = "bash"
                child.exit(1)
                finish = _keep
            else:
                # a builtin in the background runs in a subshell: it is done at once
                child = parent.fork()
                child.comm = "bash"
                saved, self._typed = self._typed, typed
                status = self._execute(argv, redir)
                self._typed = saved
                if child.alive:             # (kill 0 may have ended it)
                    child.exit(status & 0xFF)
                finish = _keep
        else:
            child = parent.fork(target=_pipeline_main, args=(self, stages))
            child.comm = "bash"
            finish = _keep
        return self._announce(parent, child, typed, finish)

    def _reap_jobs(self) -> None:
        """Collect the jobs of the innermost shell that have ended (their redirected output
        is written now)."""
        for job in self._table().jobs:
            if job.wstatus is None and not job.proc.alive:
                self._collect(job)

    def _collect(self, job: Job) -> None:
        p = self.proc
        if job.proc.wstatus is not None and job.proc.pid in p.children:
            p.wait(job.pid)
        job.wstatus = job.proc.wstatus if job.proc.wstatus is not None else 0
        job.finish(job.status())

    def _forget_signalled(self) -> None:
        """What a script's bash does once a foreground command has ended: it forgets,
        without a word, the jobs a signal ended (until then ``wait %N`` gives their
        status)."""
        self._reap_jobs()
        table = self._table()
        for job in [j for j in table.jobs if j.quiet_end()]:
            table.remove(job)

    def notify(self) -> None:
        """What bash does before a prompt: let the programs run until each has ended or is
        blocked, then (interactive) report each job that ended since, and forget it; a
        script's shell keeps them until waited for (see :meth:`_forget_signalled`)."""
        if self.ended or not self.kernel.sched.programs and not self._table().jobs:
            return
        self.kernel.run_until_idle()
        self._reap_jobs()
        table = self._table()
        lines = []
        for job in list(table.jobs):
            if job.wstatus is None:
                continue
            if self.interactive:
                lines.append(job.line(table.mark(job)))
                table.remove(job)
        if lines:
            self.err("".join(lines))

    def job_pid(self, spec: str) -> int | None:
        """What ``kill %N`` signals: the job's process group (-PGID) under job control,
        else its process; None when there is no such job."""
        job = self._table().find(spec)
        if job is None:
            return None
        if self.interactive and job.proc.alive and job.proc.pgid == job.pid:
            return -job.pid
        return job.pid

    def _jobs_builtin(self, args: list[str], out: Write, err: Write) -> int:
        """jobs [-lp] [%N...]: each job with its state; ended ones are then forgotten."""
        self._reap_jobs()
        table = self._table()
        flags = ""
        while args and args[0].startswith("-") and len(args[0]) > 1 and args[0] != "--":
            bad = next((c for c in args[0][1:] if c not in "lprsn"), None)
            if bad is not None:
                err(f"{self.where()}jobs: -{bad}: invalid option\n"
                    f"jobs: usage: jobs [-lnprs] [jobspec ...] or jobs -x command [args]\n")
                return 2
            flags += args.pop(0)[1:]
        args = args[1:] if args[:1] == ["--"] else args
        chosen: list[Job] = []
        status = 0
        for spec in args:
            job = table.find(spec) if spec.startswith("%") else None
            if job is None:
                err(f"{self.where()}jobs: {spec}: no such job\n")
                status = 1
            else:
                chosen.append(job)
        if not args:
            chosen = list(table.jobs)
        if "s" in flags:
            chosen = [j for j in chosen if j.stopped()]
        if "r" in flags:
            chosen = [j for j in chosen if j.wstatus is None and not j.stopped()]
        for job in chosen:
            if "p" in flags:
                out(f"{job.pid}\n")
            else:
                out(job.line(table.mark(job), "l" in flags))
        for job in dict.fromkeys(chosen):
            if job.wstatus is not None:
                table.remove(job)
        return status

    def _wait_builtin(self, args: list[str], out: Write, err: Write) -> int:
        """wait [%N|PID...]: wait for those jobs (all, without operands); the status is the
        last one's. Ctrl-C ends the wait (130), not the jobs."""
        table = self._table()
        targets: list[Job | int] = []     # (the status of a job already forgotten)
        status = 0
        for word in args:
            job = None
            if word.startswith("%"):
                job = table.find(word)
                if job is None:
                    err(f"{self.where()}wait: {word}: no such job\n")
                    status = 127
                    continue
            else:
                value, rest = c_strtol(word, 10)
                if value is None or rest or not word.isascii():
                    err(f"{self.where()}wait: `{word}': not a pid or valid job spec\n")
                    status = 2
                    continue
                job = table.by_pid(value)
                if job is None and value in table.bgpids:
                    targets.append(table.bgpids[value])
                    continue
                if job is None:
                    err(f"{self.where()}wait: pid {word} is not a child of this shell\n")
                    status = 127
                    continue
            targets.append(job)
        if not args:
            targets = list(table.jobs)
        for target in targets:
            if isinstance(target, int):
                status = target
                continue
            job = target
            try:
                if job.wstatus is None:
                    self.proc.wait(job.pid)
                    self._collect(job)
            except KeyboardInterrupt:
                if not self.interactive:       # SIGINT ends a script's bash in `wait` too
                    raise
                return 128 + SIGINT
            except DeadlockError as e:
                err(self._deadlock_text(e))
                return 1
            status = job.status()
            if job in table.jobs:
                table.remove(job)
        return 0 if not args else status

    def _fg(self, args: list[str], out: Write, err: Write) -> int:
        """fg [%N]: the job comes to the foreground: its command is printed, then waited
        for (a script's shell has no job control)."""
        if not self.interactive:
            err(f"{self.where()}fg: no job control\n")
            return 1
        table = self._table()
        self._reap_jobs()
        spec = args[0] if args else "%+"
        job = table.find(spec) if spec.startswith("%") or not args else None
        if job is None and args and not spec.startswith("%"):
            value, rest = c_strtol(spec, 10)
            job = table.by_pid(value) if value is not None and not rest else None
        if job is None:
            err(f"{self.where()}fg: {'current' if not args else spec}: no such job\n")
            return 1
        table.remove(job)
        out(job.typed + "\n")
        if job.wstatus is not None:
            return job.status()
        return self._wait_foreground(self.proc, job.proc, job.typed, job.finish, job)

    def _bg(self, args: list[str], out: Write, err: Write) -> int:
        """bg [%N]: every job here is already running (none is ever stopped)."""
        if not self.interactive:
            err(f"{self.where()}bg: no job control\n")
            return 1
        spec = args[0] if args else "%+"
        job = self._table().find(spec) if spec.startswith("%") else None
        if job is None:
            err(f"{self.where()}bg: {'current' if not args else spec}: no such job\n")
            return 1
        err(f"{self.where()}bg: job {job.number} already in background\n")
        return 0

    def _finish_child(self, parent: Process, child: Process, status: int,
                      typed: str | None = None) -> int:
        if child.alive:
            child.exit(status & 0xFF)
        self._cmdlines.pop(child.pid, None)
        if not parent.alive:        # the command killed its shell: init reaps the child
            return status
        parent.wait(_nr(parent, child))
        return self._status_of(parent, child, typed)

    def _status_of(self, parent: Process, child: Process, typed: str | None) -> int:
        """$? for a reaped foreground child; a signal that ended it is reported as bash
        reports it."""
        assert child.wstatus is not None and child.exit_status is not None    # (reaped)
        sig = child.wstatus & 0x7F
        if sig and sig not in (SIGINT, SIGPIPE) and parent.pid not in self._waiters:
            # what a non-interactive bash says of a foreground command a signal ended
            # (bash is built with DONT_REPORT_SIGPIPE and DONT_REPORT_SIGTERM: a SIGTERM
            # gets the short form only)
            text = strsignal(sig)
            self.err(f"{self.where()}{_nr(parent, child):5d} {text:<24}{typed or self._typed}\n"
                     if not self.interactive and sig != SIGTERM else f"{text}\n")
        return 128 + sig if sig else child.exit_status

    def _echo(self, args: list[str], out: Write, err: Write) -> int:
        """bash's echo: leading words of -n, -e and -E letters are options; -e reads
        backslash escapes (\\c ends the output)."""
        newline, escapes = True, False
        while args and len(args[0]) > 1 and args[0][0] == "-" \
                and set(args[0][1:]) <= set("neE"):
            for ch in args[0][1:]:
                if ch == "n":
                    newline = False
                else:
                    escapes = ch == "e"
            args = args[1:]
        text = " ".join(args)
        if escapes:
            text, stop = _echo_escapes(text)
            if stop:
                out(text)
                return 0
        out(text + ("\n" if newline else ""))
        return 0

    def _help(self, args: list[str], out: Write, err: Write) -> int:
        lines = ["Commands of the ipcsim shell (each acts in the IPC namespace of this shell):\n"]
        for name, (_fn, text) in PROGRAMS.items():
            lines.append(f"  {name:<9} {text}\n")
        for name, text in BUILTINS_HELP.items():
            lines.append(f"  {name:<9} {text}\n")
        lines.append("Most take --help. Redirections: > >> < 2> 2>&1; lists: ; && ||\n")
        out("".join(lines))
        return 0

    def _exit(self, argv: list[str]) -> int:
        status = self.status
        if len(argv) > 1:
            value, rest = c_strtol(argv[1], 10)
            if value is None or rest.strip(" \t\n") or not -2 ** 63 <= value < 2 ** 63:
                self.err(f"{self.where()}exit: {argv[1]}: numeric argument required\n")
                status = 2
            elif len(argv) > 2:
                self.err(f"{self.where()}exit: too many arguments\n")
                return 1                      # bash stays
            else:
                status = value & 0xFF
        if self.interactive:
            name = self._shells.get(self.proc.pid, ["bash"])[0]
            self.err("logout\n" if name.startswith("-") else "exit\n")
        if len(self.levels) == 1:
            self._end_holders(self.proc)
            raise ShellExit(status)
        shell = self._pop_level()
        return self._end_shell(self.proc, shell, status)

    def _pop_level(self) -> Process:
        """The innermost shell ends: its holders end with it, and the shell it was started
        from reads on."""
        shell = self.levels.pop()
        self._end_holders(shell)
        self._shells.pop(shell.pid, None)
        self._vars.pop(shell.pid, None)
        self._jobs.pop(shell.pid, None)
        self._last_bg.pop(shell.pid, None)
        self._cwd.pop(shell.pid, None)
        if self.levels:
            self.lineno = self._shells.get(self.proc.pid, ["bash", 0])[1]
        return shell

    def _reap_dead_levels(self) -> None:
        while self.levels and not self.levels[-1].alive:
            typed = (self._shells.get(self.proc.pid, []) + ["", 0, None])[2]
            dead = self._pop_level()
            if not self.levels:
                self.ended = True
                sig = (dead.wstatus or 0) & 0x7F
                self.status = 128 + sig if sig else (dead.exit_status or 0) & 0xFF
                return
            if self.proc.alive:             # (else its own turn comes next)
                self.status = self._end_shell(self.proc, dead, 0, typed)

    # --- unshare and nsenter --------------------------------------------------------------
    _UNSHARE_LONG = (LongOpt("help", 0, "h"), LongOpt("version", 0, "V"),
                     LongOpt("mount", 2, "m"), LongOpt("uts", 2, "u"), LongOpt("ipc", 2, "i"),
                     LongOpt("net", 2, "n"), LongOpt("pid", 2, "p"), LongOpt("user", 2, "U"),
                     LongOpt("cgroup", 2, "C"), LongOpt("time", 2, "T"),
                     LongOpt("fork", 0, "f"), LongOpt("kill-child", 2, "kill-child"),
                     LongOpt("mount-proc", 2, "mount-proc"), LongOpt("map-user", 1, "map-user"),
                     LongOpt("map-users", 1, "map-users"), LongOpt("map-group", 1, "map-group"),
                     LongOpt("map-groups", 1, "map-groups"), LongOpt("map-root-user", 0, "r"),
                     LongOpt("map-current-user", 0, "c"), LongOpt("map-auto", 0, "map-auto"),
                     LongOpt("propagation", 1, "propagation"),
                     LongOpt("setgroups", 1, "setgroups"), LongOpt("keep-caps", 0, "keep-caps"),
                     LongOpt("setuid", 1, "S"), LongOpt("setgid", 1, "G"),
                     LongOpt("root", 1, "R"), LongOpt("wd", 1, "w"),
                     LongOpt("monotonic", 1, "monotonic"), LongOpt("boottime", 1, "boottime"))
    _NSENTER_LONG = (LongOpt("all", 0, "a"), LongOpt("help", 0, "h"),
                     LongOpt("version", 0, "V"), LongOpt("target", 1, "t"),
                     LongOpt("mount", 2, "m"), LongOpt("uts", 2, "u"), LongOpt("ipc", 2, "i"),
                     LongOpt("net", 2, "n"), LongOpt("pid", 2, "p"), LongOpt("user", 2, "U"),
                     LongOpt("cgroup", 2, "C"), LongOpt("time", 2, "T"),
                     LongOpt("setuid", 1, "S"), LongOpt("setgid", 1, "G"),
                     LongOpt("root", 2, "r"), LongOpt("wd", 2, "w"),
                     LongOpt("no-fork", 0, "F"), LongOpt("preserve-credentials", 0, "pc"),
                     LongOpt("follow-context", 0, "Z"))

    def _enter(self, argv: list[str], out: Write, err: Write, stdin: str) -> int:
        """unshare(1), nsenter(1), setpriv(1): a child that changes its namespace or
        credentials, then becomes CMD (or a shell); bash: a child shell."""
        parent = self.proc
        try:
            child = parent.fork()
        except OSError as e:
            return self._fork_failed(e)
        return self._exec(parent, child, argv, out, err, stdin)

    def _exec(self, parent: Process, child: Process, argv: list[str], out: Write, err: Write,
              stdin: str) -> int:
        """The child runs argv (as after execve): a wrapper acts and execs the rest, itself
        or (``unshare --fork``, ``nsenter`` into a PID namespace) in a child it waits for."""
        name = argv[0]
        child.comm = name[:15]
        self._cmdlines[child.pid] = " ".join(argv)
        _execve(child)
        ctx = Ctx(self, child, name, out, err, stdin)
        if name in ("bash", "sh"):
            return self._run_command(parent, child, argv, out, err, stdin, name)
        wrapper = {"unshare": self._unshare, "nsenter": self._nsenter,
                   "setpriv": self._setpriv}[name]
        try:
            command, runner = wrapper(ctx, argv[1:])
        except Exit as e:
            return self._finish_child(parent, child, e.status)
        if runner is child:
            return self._run_command(parent, child, command, out, err, stdin, name)
        self._waiters[child.pid] = name
        self._relays[runner.pid] = child
        status = self._run_command(child, runner, command, out, err, stdin, name)
        if runner in self.levels:          # a shell: the wrapper waits until it ends
            return 0
        if self._relays.pop(runner.pid, None) is None:
            return status                  # (a shell that ended the wrapper as it exited)
        return self._relay_end(parent, child, runner)

    def _run_command(self, parent: Process, child: Process, command: list[str], out: Write,
                     err: Write, stdin: str, prog: str) -> int:
        """The child becomes ``command``: a shell (none given: a login shell, as util-linux
        runs $SHELL), a wrapper again, or a program; returns its status once it has ended
        (a shell's: 0 at once, the shell reads on)."""
        if child is not parent:
            _execve(child)
        if not command or command[0] in ("bash", "sh"):
            child.comm = "bash"
            # as util-linux's exec_shell() runs $SHELL: argv[0] "-bash"
            self._cmdlines[child.pid] = "-bash" if not command else " ".join(command)
            self._shells[child.pid] = ["-bash" if not command else command[0], 0,
                                     self._typed]
            values, exported = self._vars.get(parent.pid, ({}, set()))
            self._vars[child.pid] = ({k: v for k, v in values.items() if k in exported},
                                     set(exported))
            self.levels.append(child)
            if command[1:2] == ["-c"] and len(command) > 2:
                return self._run_c(parent, child, command)
            if command[1:] == ["-c"]:
                self.levels.pop()
                self.err(f"{command[0]}: -c: option requires an argument\n")
                return self._finish_child(parent, child, 2)
            if command[1:]:
                self.levels.pop()
                self.err(f"{command[0]}: {command[1]}: No such file or directory\n")
                return self._finish_child(parent, child, 127)
            return 0
        target = command[0]
        if target in ("unshare", "nsenter", "setpriv"):
            return self._exec(parent, child, command, out, err, stdin)
        simple = {"true": 0, "false": 1}
        if target not in PROGRAMS and target not in simple and target != "echo":
            Ctx(self, child, prog, out, err, stdin).warn(f"failed to execute {target}", 2)
            return self._finish_child(parent, child, 127)
        child.comm = target[:15]
        self._cmdlines[child.pid] = " ".join(command)
        if target in simple:
            status = simple[target]
        elif target == "echo":
            status = self._echo(command[1:], out, err)
        else:
            status = self._call(PROGRAMS[target][0],
                                Ctx(self, child, target, out, err, stdin), command[1:])
        return self._finish_child(parent, child, status)

    def _end_shell(self, outer: Process, shell: Process, status: int,
                   typed: str | None = None) -> int:
        """A shell level ended with ``status``: the shell it was started from collects it,
        through the wrapper that forked it, if one waits for it."""
        waiter = self._relays.pop(shell.pid, None)
        if waiter is None:
            return self._finish_child(outer, shell, status, typed)
        self._finish_child(waiter, shell, status)
        return self._relay_end(outer, waiter, shell, typed)

    def _relay_end(self, parent: Process, waiter: Process, runner: Process,
                   typed: str | None = None) -> int:
        """The wrapper's end once its child ``runner`` has ended (and been reaped): it exits
        with the child's exit status, or raises the signal that ended the child on itself
        (unshare cannot unblock SIGKILL: it says so and exits 1)."""
        name = self._waiters.pop(waiter.pid, "unshare")
        wstatus = runner.wstatus if runner.wstatus is not None else 0
        sig = wstatus & 0x7F
        if not waiter.alive or not sig:
            return self._finish_child(parent, waiter, runner.exit_status or 0, typed)
        if sig == SIGKILL and name == "unshare":
            self.err("unshare: sigprocmask unblock failed: Invalid argument\n")
            return self._finish_child(parent, waiter, 1, typed)
        try:
            waiter.kill(waiter.vpid, sig)
        except (OSError, ProcessGone):
            pass
        return self._finish_child(parent, waiter, 1, typed)

    def _run_c(self, parent: Process, child: Process, command: list[str]) -> int:
        """``bash -c CMDS``: the child shell reads CMDS as its script (from line 1) and
        exits with the status of the last command, or with what its ``exit`` says."""
        self._shells[child.pid].append("-c")       # parse errors say "bash: -c: line N:"
        lines = command[2].split("\n")
        i = 0
        while i < len(lines) and child in self.levels and not self.ended:
            chunk, i = lines[i], i + 1
            count = 1
            while i < len(lines) and _incomplete(chunk):
                chunk, i, count = chunk + "\n" + lines[i], i + 1, count + 1
            self.run(chunk, count, at_eof=i >= len(lines))
        if child in self.levels:
            while self.levels[-1] is not child:
                self._end_shell(self.levels[-2], self._pop_level(), 0)
            self._pop_level()
            return self._finish_child(parent, child, self.status)
        return self.status

    def _unshare(self, ctx: Ctx, args: list[str]) -> tuple[list[str], Process]:
        """unshare(1) of util-linux 2.38.1: the namespaces asked for (-U -i -m -p, and -r,
        -c, --map-user, --map-group, --mount-proc that imply one), made by one unshare(2);
        then, in a child when --fork (or --kill-child) asks for one, the id maps written as
        unshare writes them (``setgroups`` denied before ``gid_map``), --setgroups, the
        propagation of a new mount namespace, --mount-proc, -G and -S; and --user=FILE,
        --ipc=FILE ... bind-mounted. Returns the command and the process that runs it."""
        opts, command, bad = getopt_until_error(args, "+fhVmuinpCTUrR:w:S:G:c",
                                                self._UNSHARE_LONG)
        p = ctx.proc
        real_euid, real_egid = p.getresuid()[1], p.getresgid()[1]
        flags = 0
        persist: dict[int, str] = {}
        forkit = False
        procmnt: str | None = None
        mapuser = mapgroup = _NO_ID
        setgroups: str | None = None
        propagation = "private"
        uid: int | None = None
        gid: int | None = None
        for key, arg in opts:
            if key == "h":
                ctx.usage(UNSHARE_HELP)
            if key == "V":
                ctx.print_version()
            if key in _KINDS:
                flag, long = _KINDS[key]
                if not flag:
                    ctx.errx(1, f"--{long}: not modelled by ipcsim (it models user, IPC, "
                                f"mount and PID namespaces)")
                flags |= flag
                if arg:
                    persist[flag] = arg
            elif key == "f":
                forkit = True
            elif key == "mount-proc":
                flags |= CLONE_NEWNS
                procmnt = arg or "/proc"
            elif key == "map-user":
                assert arg is not None   # (these take one)
                flags |= CLONE_NEWUSER
                mapuser = _get_id(ctx, arg, PASSWD_BY_NAME, "uid")
            elif key == "map-group":
                assert arg is not None
                flags |= CLONE_NEWUSER
                mapgroup = _get_id(ctx, arg, GROUPS_BY_NAME, "gid")
            elif key == "r":
                flags |= CLONE_NEWUSER
                mapuser = mapgroup = 0
            elif key == "c":
                flags |= CLONE_NEWUSER
                mapuser, mapgroup = real_euid, real_egid
            elif key == "setgroups":
                if arg not in ("allow", "deny"):
                    ctx.errx(1, f"unsupported --setgroups argument '{arg}'")
                setgroups = arg
            elif key == "propagation":
                if arg not in ("slave", "private", "shared", "unchanged"):
                    ctx.errx(1, f"unsupported propagation mode: {arg}")
                propagation = arg
            elif key == "kill-child":
                forkit = True
                if arg is not None and _signame_to_signum(arg) is None:
                    ctx.errx(1, f"unknown signal: {arg}")
            elif key in ("S", "G"):
                uid, gid = _id_option(ctx, key, arg, uid, gid)
            elif key in ("map-users", "map-groups", "map-auto", "R", "w", "monotonic",
                         "boottime"):
                ctx.errx(1, f"{_long_name(key)}: not modelled by ipcsim")
            # --keep-caps: the capabilities a process has in its user namespace stay across
            # the model's exec anyway
        if bad:
            ctx.bad_option(str(bad))
        binder = p.fork() if persist and flags & CLONE_NEWNS else None
        try:
            p.unshare(flags)
        except OSError as e:
            self._quiet_end(binder)
            ctx.err(1, "unshare failed", e.errno)
        except SimulationError as e:
            self._quiet_end(binder)
            ctx.errx(1, str(e))
        runner = p
        if forkit:
            try:
                runner = p.fork()
            except OSError as e:
                self._quiet_end(binder)
                ctx.err(1, "fork failed", e.errno)
        try:
            if persist:
                self._bind_ns_files(ctx, binder if binder is not None else p, p.pid, persist)
            if runner is not p:
                self._waiters[p.pid] = "unshare"
            rctx = Ctx(self, runner, "unshare", ctx.write, ctx.ewrite, ctx.stdin)
            _unshare_setup(rctx, flags, mapuser, mapgroup, real_euid, real_egid, setgroups,
                           propagation, procmnt, uid, gid)
        except Exit as e:
            if runner is not p:          # the child's failure is its parent's exit status
                self._finish_child(p, runner, e.status)
                self._waiters.pop(p.pid, None)
            raise
        return command, runner

    def _quiet_end(self, proc: Process | None) -> None:
        """A helper child that has nothing left to do exits (and is reaped)."""
        if proc is not None and proc.alive:
            proc.exit(0)
            if proc.parent is not None and proc.parent.alive:
                proc.parent.wait(_nr(proc.parent, proc))

    def _bind_ns_files(self, ctx: Ctx, binder: Process, pid: int,
                       persist: dict[int, str]) -> None:
        """bind_ns_files(): each namespace kept by a file is bind-mounted on it, in
        util-linux's order, by ``binder``: unshare itself, or (with a new mount namespace) a
        child forked before unshare(2) that stayed in the old one, whose failure is
        unshare's exit status."""
        status = 0
        bctx = Ctx(self, binder, "unshare", ctx.write, ctx.ewrite, ctx.stdin)
        try:
            for flag, name in _PERSIST_ORDER:
                if flag in persist:
                    src = f"/proc/{pid}/{name}"
                    try:
                        binder.mount(src, persist[flag], flags=MS_BIND)
                    except OSError as e:
                        bctx.err(1, f"mount {src} on {persist[flag]} failed", e.errno)
        except Exit as e:
            if binder is ctx.proc:
                raise
            status = e.status
        if binder is not ctx.proc:
            self._finish_child(ctx.proc, binder, status)
            if status:
                raise Exit(status)

    def _nsenter(self, ctx: Ctx, args: list[str]) -> tuple[list[str], Process]:
        """nsenter(1) of util-linux 2.38.1: the namespaces asked for (or, -a, every one the
        target has that the caller may enter: not its own user namespace) opened from
        /proc/PID/ns or the file given, entered in two passes (the user namespace last in
        the first, whose failures are ignored, first in the second), then, in a child when
        a PID namespace was entered (unless -F), the credentials: uid and gid 0 (or -S, -G)
        and no supplementary groups in a user namespace entered without
        --preserve-credentials."""
        opts, command, bad = getopt_until_error(
            args, "+ahVt:m::u::i::n::p::C::U::T::S:G:r::w::FZ", self._NSENTER_LONG)
        p = ctx.proc
        target: int | None = None
        fds: dict[int, int] = {}
        wanted = 0
        do_all = preserve = False
        do_fork: bool | None = None
        uid: int | None = None
        gid: int | None = None
        for key, arg in opts:
            if key == "h":
                ctx.usage(NSENTER_HELP)
            if key == "V":
                ctx.print_version()
            if key == "t":
                assert arg is not None   # (-t takes one)
                target = strtonum_or_err(ctx, arg, "failed to parse pid", -2 ** 31, 2 ** 31 - 1)
            elif key in _KINDS:
                flag = _NSENTER_FLAG[key]
                if arg:
                    fds[flag] = _open_target_fd(ctx, fds.get(flag), _NSFILE[flag], arg, None)
                else:
                    wanted |= flag
            elif key == "a":
                do_all = True
            elif key in ("S", "G"):
                uid, gid = _id_option(ctx, key, arg, uid, gid)
            elif key == "F":
                do_fork = False
            elif key == "pc":
                preserve = True
            elif key in ("r", "w"):
                ctx.errx(1, f"{_long_name(key, nsenter=True)}: not modelled by ipcsim")
            # -Z: SELinux is not enabled on the simulated machine, so it changes nothing
        if bad:
            ctx.bad_option(str(bad))
        if do_all:
            if target is None:
                ctx.errx(1, "no target PID specified for --all")
            for flag, name in _NSENTER_ORDER:
                if flag not in fds and _is_usable_namespace(ctx, target, flag, name):
                    wanted |= flag
        for flag, name in _NSENTER_ORDER:
            if wanted & flag:
                fds[flag] = _open_target_fd(ctx, fds.get(flag), name, None, target)
        setgroups_failed = False
        if CLONE_NEWUSER in fds and not preserve:
            uid = 0 if uid is None else uid
            gid = 0 if gid is None else gid
            try:
                p.setgroups([])          # before and after entering: complain if both fail
            except OSError:
                setgroups_failed = True
        for report in (False, True):
            for flag, name in (_NSENTER_ORDER if report else _NSENTER_ORDER[1:]):
                if flag not in fds:
                    continue
                if flag == CLONE_NEWPID and do_fork is None:
                    do_fork = True
                try:
                    p.setns(fds[flag], flag)
                except OSError as e:
                    if report:
                        ctx.err(1, f"reassociate to namespace '{name}' failed", e.errno)
                    continue
                except SimulationError as e:
                    ctx.errx(1, str(e))
                p.close(fds.pop(flag))
        runner = p
        if do_fork:
            runner = p.fork()
            self._waiters[p.pid] = "nsenter"
        rctx = Ctx(self, runner, "nsenter", ctx.write, ctx.ewrite, ctx.stdin)
        try:
            _set_credentials(rctx, uid, gid, setgroups_failed)
        except Exit as e:
            if runner is not p:
                self._finish_child(p, runner, e.status)
                self._waiters.pop(p.pid, None)
            raise
        return command, runner

    _SETPRIV_LONG = (LongOpt("reuid", 1, "reuid"), LongOpt("regid", 1, "regid"),
                     LongOpt("ruid", 1, "ruid"), LongOpt("euid", 1, "euid"),
                     LongOpt("rgid", 1, "rgid"), LongOpt("egid", 1, "egid"),
                     LongOpt("clear-groups", 0, "clear-groups"),
                     LongOpt("keep-groups", 0, "keep-groups"),
                     LongOpt("init-groups", 0, "init-groups"), LongOpt("groups", 1, "groups"),
                     LongOpt("help", 0, "h"), LongOpt("version", 0, "V"),
                     LongOpt("dump", 0, "d"), LongOpt("nnp", 0, "nnp"),
                     LongOpt("no-new-privs", 0, "nnp"))

    def _setpriv(self, ctx: Ctx, args: list[str]) -> tuple[list[str], Process]:
        """setpriv(1) with the credential options: --reuid/--regid (and the r/e halves),
        --clear-groups, --keep-groups, --init-groups (the user's login group of the
        simulated /etc/passwd), --groups."""
        opts, command, bad = getopt_until_error(args, "+dhV", self._SETPRIV_LONG)
        ids: dict[str, int] = {}
        groups: list[int] | None = None
        group_opt = init_groups = False
        for key, arg in opts:
            if key == "h":
                ctx.usage(SETPRIV_HELP)
            if key == "V":
                ctx.print_version()
            if key in ("d", "nnp"):
                ctx.errx(1, f"--{'dump' if key == 'd' else 'nnp'}: not modelled by ipcsim "
                            f"(only the uid, gid and group options are)")
            if key in ("reuid", "ruid", "euid"):
                assert arg is not None   # (these take one)
                ids[key] = self._id_arg(ctx, arg, key, PASSWD_BY_NAME)
            elif key in ("regid", "rgid", "egid"):
                assert arg is not None
                ids[key] = self._id_arg(ctx, arg, key, GROUPS_BY_NAME)
            elif key in ("clear-groups", "keep-groups", "init-groups", "groups"):
                if group_opt:
                    ctx.errx(1, "mutually exclusive arguments: --clear-groups --keep-groups "
                                "--init-groups --groups")
                group_opt = True
                if key == "clear-groups":
                    groups = []
                elif key == "init-groups":
                    init_groups = True
                elif key == "groups":
                    assert arg is not None
                    groups = [self._id_arg(ctx, g, None, GROUPS_BY_NAME)
                              for g in arg.split(",")]
        if bad:
            ctx.bad_option(str(bad))
        if {"regid", "rgid", "egid"} & set(ids) and not group_opt:
            ctx.errx(1, "--[re]gid requires --keep-groups, --clear-groups, --init-groups, "
                        "or --groups")
        if not command:
            ctx.errx(1, "No program specified")
        if init_groups:
            ruid = ids.get("reuid", ids.get("ruid"))
            if ruid is None:
                ctx.errx(1, "--init-groups requires --ruid or --reuid")
            if ruid not in LOGIN_GID:
                ctx.errx(1, f"uid {ruid} not found, --init-groups requires an user that can "
                            f"be found on the system")
            groups = [LOGIN_GID[ruid]]     # initgroups(name, pw_gid): no group lists it
        p = ctx.proc
        priverr = 127                      # SETPRIV_EXIT_PRIVERR
        try:
            if groups is not None:
                p.setgroups(groups)
        except OSError as e:
            ctx.err(priverr, "setgroups failed", e.errno)
        # do_setresgid/do_setresuid: the saved id becomes the effective one too
        if {"regid", "rgid", "egid"} & set(ids):
            rgid, egid, _sgid = p.getresgid()
            rgid = ids.get("regid", ids.get("rgid", rgid))
            egid = ids.get("regid", ids.get("egid", egid))
            try:
                p.setresgid(rgid, egid, egid)
            except OSError as e:
                ctx.err(priverr, "setresgid failed", e.errno)
        if {"reuid", "ruid", "euid"} & set(ids):
            ruid, euid, _suid = p.getresuid()
            ruid = ids.get("reuid", ids.get("ruid", ruid))
            euid = ids.get("reuid", ids.get("euid", euid))
            try:
                p.setresuid(ruid, euid, euid)
            except OSError as e:
                ctx.err(priverr, "setresuid failed", e.errno)
        return command, p

    @staticmethod
    def _id_arg(ctx: Ctx, text: str, what: str | None, names: dict[str, int]) -> int:
        if text in names:
            return names[text]
        value, rest = c_strtol(text, 10)
        if value is None or rest or not 0 <= value < 2 ** 32 - 1:
            ctx.errx(1, f"failed to parse {what}: '{text}'" if what is not None
                     else f"Invalid supplementary group id: '{text}'")
        return value

    # --- the working directory -----------------------------------------------------------
    @property
    def cwd(self) -> str:
        """The innermost shell's working directory (``cd``, ``pwd``, $PWD): the shell
        makes relative paths absolute with it (the model's processes have no cwd)."""
        return self._cwd.get(self.proc.pid) or self._cwd.get(self.levels[0].pid, "/")

    def abspath(self, path: str) -> str:
        """``path`` as seen from the working directory."""
        if path.startswith("/") or not path:
            return path
        base = self.cwd
        return (base.rstrip("/") + "/" + path) if base != "/" else "/" + path

    def _cd(self, args: list[str], out: Write, err: Write) -> int:
        """cd [DIR]: DIR (/root without one: root's home; ``-``: the previous one) must be
        a directory this shell may search; the path is kept as typed, ``..`` taken off."""
        if len(args) > 1:
            err(f"{self.where()}cd: too many arguments\n")
            return 1
        target = args[0] if args else self.vars.get("HOME", "/root")
        if target == "-":
            target = self.vars.get("OLDPWD", "")
            if not target:
                err(f"{self.where()}cd: OLDPWD not set\n")
                return 1
            out(target + "\n")
        path = _normpath(self.abspath(target))
        try:
            st = self.proc.stat(path)
        except OSError as e:
            err(f"{self.where()}cd: {target}: {strerror(e.errno)}\n")
            return 1
        except SimulationError:
            st = None                  # (a directory the model has only in part: /proc)
        if st is not None and st.st_mode & 0o170000 != 0o040000:
            err(f"{self.where()}cd: {target}: Not a directory\n")
            return 1
        try:
            self.proc.listdir(path)
        except OSError as e:
            err(f"{self.where()}cd: {target}: {strerror(e.errno)}\n")
            return 1
        except SimulationError:
            pass
        self.vars["OLDPWD"] = self.cwd
        self._cwd[self.proc.pid] = path
        return 0

    def _pwd(self, args: list[str], out: Write, err: Write) -> int:
        """pwd: the working directory."""
        bad = next((a for a in args if a.startswith("-") and a not in ("-L", "-P", "--")), None)
        if bad is not None:
            err(f"{self.where()}pwd: {bad[:2]}: invalid option\npwd: usage: pwd [-LP]\n")
            return 2
        out(self.cwd + "\n")
        return 0

    # --- interactive use ------------------------------------------------------------------
    def eof(self) -> None:
        """End of input on a terminal (Ctrl-D): the innermost shell says ``logout`` (a
        login shell, as unshare and nsenter start) or ``exit`` and ends; the shell it was
        started from reads on."""
        name = self._shells.get(self.proc.pid, ["bash"])[0]
        self.err("logout\n" if name.startswith("-") else "exit\n")
        if len(self.levels) == 1:
            self._end_holders(self.proc)
            self.ended = True
            return
        shell = self._pop_level()
        self.status = self._end_shell(self.proc, shell, self.status)
        self.notify()

    def interact(self, stdin: TextIO | None = None) -> int:
        """Read commands until ``exit`` at the top or end of input; with a terminal, a
        prompt, line editing, history and completion (readline); there Ctrl-D ends only
        the innermost shell, Ctrl-C a running command (SIGINT) or the line being typed."""
        stdin = stdin if stdin is not None else sys.stdin
        tty = stdin.isatty()
        if tty:
            self._setup_readline()
        while not self.ended:
            try:
                line = input(self.prompt()) if tty else stdin.readline()
            except EOFError:
                self.out("\n")
                self.eof()
                continue
            except KeyboardInterrupt:
                if not tty:
                    return self._interrupted()
                self.out("\n")
                self.status = 128 + SIGINT
                continue
            if not tty and not line:
                break
            try:
                self.run(line.rstrip("\n"))
            except KeyboardInterrupt:      # Ctrl-C during a command: bash's new prompt
                if not tty:
                    return self._interrupted()
                self.out("\n")
                self.status = 130
        return self.status

    def _interrupted(self) -> int:
        """SIGINT to a bash reading a script (not a terminal): it stops reading, 130."""
        self.ended = True
        self.status = 128 + SIGINT
        return self.status

    def close(self) -> None:
        """End every program still running (background jobs, blocked commands)."""
        self.kernel.close()

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:       # no line editing on this platform
            return
        names = sorted(list(PROGRAMS) + list(BUILTINS_HELP) + ["true", "false"])

        def complete(text: str, state: int) -> str | None:
            buf = readline.get_line_buffer()
            if " " not in buf.lstrip():
                options = [n + " " for n in names if n.startswith(text)]
            else:
                options = self._complete_path(text)
            return options[state] if state < len(options) else None

        readline.set_completer_delims(" \t\n;&|<>")
        readline.set_completer(complete)
        readline.parse_and_bind("tab: complete")

    def _complete_path(self, text: str) -> list[str]:
        head, _, tail = text.rpartition("/")
        base = head or "/"
        try:
            entries = self.proc.listdir(base)
        except (OSError, SimulationError):
            return []
        out = []
        for name in sorted(entries):
            if name.startswith(tail):
                full = f"{head}/{name}"
                try:
                    self.proc.listdir(full)
                    out.append(full + "/")
                except (OSError, SimulationError):
                    out.append(full + " ")
        return out


def _execve(p: Process) -> None:
    """What execve(2) does to the process that runs a new program, as far as the shell's
    programs can tell: a new mm, of its own user namespace, and it is dumpable again (its
    /proc/PID files its own) unless its real and effective ids differ (Process.exec_mm)."""
    p.exec_mm()


def _nr(parent: Process, child: Process) -> int:
    """``child``'s number in ``parent``'s PID namespace: what wait(2) and kill(2) take there
    (a child is always seen from its parent's namespace)."""
    return child.pid_in(parent.pid_ns)


def _has_ns_file(p: Process, name: str) -> bool:
    """Whether /proc/PID/ns/NAME of ``p`` exists (a kernel built without that kind has none)."""
    try:
        p.stat(f"/proc/self/ns/{name}")
    except FileNotFoundError:
        return False
    return True



# --- unshare(1) and nsenter(1) helpers (util-linux 2.38.1) ----------------------------------
_NO_ID = 0xFFFFFFFF                 # (uid_t) -1: no map asked for
# option letter -> (CLONE_NEW* of unshare, 0 where ipcsim cannot make one; long option)
_KINDS = {"m": (CLONE_NEWNS, "mount"), "u": (0, "uts"), "i": (CLONE_NEWIPC, "ipc"),
          "n": (0, "net"), "p": (CLONE_NEWPID, "pid"), "U": (CLONE_NEWUSER, "user"),
          "C": (0, "cgroup"), "T": (0, "time")}
# nsenter enters every kind: the model has a namespace file of each
_NSENTER_FLAG = {"m": CLONE_NEWNS, "u": CLONE_NEWUTS, "i": CLONE_NEWIPC, "n": CLONE_NEWNET,
                 "p": CLONE_NEWPID, "U": CLONE_NEWUSER, "C": CLONE_NEWCGROUP,
                 "T": CLONE_NEWTIME}
# nsenter's namespace_files[]: the order they are entered in
_NSENTER_ORDER = ((CLONE_NEWUSER, "ns/user"), (CLONE_NEWCGROUP, "ns/cgroup"),
                  (CLONE_NEWIPC, "ns/ipc"), (CLONE_NEWUTS, "ns/uts"), (CLONE_NEWNET, "ns/net"),
                  (CLONE_NEWPID, "ns/pid"), (CLONE_NEWNS, "ns/mnt"), (CLONE_NEWTIME, "ns/time"))
_NSFILE = dict(_NSENTER_ORDER)
# unshare's namespace_files[]: the order --user=FILE ... are bind-mounted in
_PERSIST_ORDER = ((CLONE_NEWUSER, "ns/user"), (CLONE_NEWIPC, "ns/ipc"),
                  (CLONE_NEWPID, "ns/pid_for_children"), (CLONE_NEWNS, "ns/mnt"))
_PROPAGATION = {"slave": MS_REC | MS_SLAVE, "private": MS_REC | MS_PRIVATE,
                "shared": MS_REC | MS_SHARED, "unchanged": 0}


def _long_name(key: str, nsenter: bool = False) -> str:
    """How an option is named in a message: its long form."""
    names = {"R": "--root", "w": "--wd", "r": "--root", "map-users": "--map-users",
             "map-groups": "--map-groups", "map-auto": "--map-auto",
             "monotonic": "--monotonic", "boottime": "--boottime"}
    return names.get(key, f"-{key}")


def _strtoul_or_err(ctx: Ctx, text: str, msg: str) -> int:
    """util-linux's strtoul_or_err() stored in a uid_t or gid_t: leading blanks and a sign
    as strtoul reads them (-1 is 4294967295), then truncated to 32 bits; ERANGE past 64
    bits; ``msg: 'TEXT'`` for anything that is not wholly a number."""
    value, rest = c_strtol(text, 10)
    if value is None or rest or not text:
        ctx.errx(1, f"{msg}: '{text}'")
    if value >= 2 ** 64 or value <= -2 ** 64:
        ctx.err(1, f"{msg}: '{text}'", errno.ERANGE)
    return value % 2 ** 64 & 0xFFFFFFFF


def _get_id(ctx: Ctx, text: str, names: dict[str, int], what: str) -> int:
    """unshare's get_user()/get_group(): a name of /etc/passwd (/etc/group), or a number."""
    if text in names:
        return names[text]
    return _strtoul_or_err(ctx, text, f"failed to parse {what}")


def _signame_to_signum(name: str) -> int | None:
    """util-linux's signame_to_signum(): a name, with or without SIG, in any case (RTMIN+N
    too); not a number."""
    if name.isdigit():
        return None
    num = tools._signal_number(name)
    return num


def _map_id(ctx: Ctx, path: str, inside: int, outside: int) -> None:
    """map_id(): one line, ``INSIDE OUTSIDE 1``, written to /proc/self/uid_map (gid_map)."""
    p = ctx.proc
    try:
        fd = p.open(path, O_WRONLY)
    except OSError as e:
        ctx.err(1, f"cannot open {path}", e.errno)
    try:
        p.write(fd, f"{inside} {outside} 1".encode())
    except OSError as e:
        ctx.err(1, f"write failed {path}", e.errno)
    finally:
        p.close(fd)


def _setgroups_control(ctx: Ctx, action: str) -> None:
    """setgroups_control(): ``allow`` or ``deny`` written to /proc/self/setgroups (a kernel
    without the file is left alone)."""
    p, path = ctx.proc, "/proc/self/setgroups"
    try:
        fd = p.open(path, O_WRONLY)
    except FileNotFoundError:
        return
    except OSError as e:
        ctx.err(1, f"cannot open {path}", e.errno)
    try:
        p.write(fd, action.encode())
    except OSError as e:
        ctx.err(1, f"write failed {path}", e.errno)
    finally:
        p.close(fd)


def _id_option(ctx: Ctx, key: str, arg: str | None, uid: int | None,
               gid: int | None) -> tuple[int | None, int | None]:
    """unshare's and nsenter's -S UID / -G GID: (uid, gid) with the one given parsed as
    util-linux does (its message and exit status 1 for what is no number)."""
    assert arg is not None
    value = _strtoul_or_err(ctx, arg, f"failed to parse {'uid' if key == 'S' else 'gid'}")
    return (value, gid) if key == "S" else (uid, value)


def _set_credentials(ctx: Ctx, uid: int | None, gid: int | None, report_setgroups: bool) -> None:
    """-G: no supplementary groups (a failure reported when ``report_setgroups``), then
    setgid(2); -S: setuid(2)."""
    p = ctx.proc
    if gid is not None:
        try:
            p.setgroups([])
        except OSError as e:
            if report_setgroups:
                ctx.err(1, "setgroups failed", e.errno)
        try:
            p.setgid(gid)
        except OSError as e:
            ctx.err(1, "setgid failed", e.errno)
    if uid is not None:
        try:
            p.setuid(uid)
        except OSError as e:
            ctx.err(1, "setuid failed", e.errno)


def _unshare_setup(ctx: Ctx, flags: int, mapuser: int, mapgroup: int, real_euid: int,
                   real_egid: int, setgroups: str | None, propagation: str,
                   procmnt: str | None, uid: int | None, gid: int | None) -> None:
    """What unshare does once the namespaces exist, in the process that will run the
    command: the maps (``setgroups`` denied before ``gid_map``, as an unprivileged writer
    must), --setgroups, the new mount namespace's propagation, /proc, -G and -S."""
    if mapuser != _NO_ID:
        _map_id(ctx, "/proc/self/uid_map", mapuser, real_euid)
    if mapgroup != _NO_ID:
        if setgroups == "allow":
            ctx.errx(1, "options --setgroups=allow and --map-group are mutually exclusive")
        _setgroups_control(ctx, "deny")
        _map_id(ctx, "/proc/self/gid_map", mapgroup, real_egid)
    if setgroups is not None:
        _setgroups_control(ctx, setgroups)
    p = ctx.proc
    if flags & CLONE_NEWNS and _PROPAGATION[propagation]:
        try:
            p.mount("none", "/", None, _PROPAGATION[propagation])
        except OSError as e:
            ctx.err(1, "cannot change root filesystem propagation", e.errno)
    if procmnt is not None:
        try:
            p.mount("proc", procmnt, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV)
        except OSError as e:
            ctx.err(1, f"mount {procmnt} failed", e.errno)
        except SimulationError as e:
            ctx.errx(1, f"mount {procmnt} failed: {e}")
    _set_credentials(ctx, uid, gid, True)


def _open_target_fd(ctx: Ctx, old: int | None, name: str, path: str | None,
                    target: int | None) -> int:
    """nsenter's open_target_fd(): FILE, else /proc/PID/NAME of the target."""
    if path is None and target:
        path = f"/proc/{target}/{name}"
    if path is None:
        ctx.errx(1, f"neither filename nor target pid supplied for {name}")
    p = ctx.proc
    if old is not None:
        p.close(old)
    try:
        return p.open(path)
    except OSError as e:
        ctx.err(1, f"cannot open {path}", e.errno)


def _is_usable_namespace(ctx: Ctx, target: int, flag: int, name: str) -> bool:
    """nsenter -a: a kind whose namespace file the caller lacks (a kernel built without
    it) is left out, and so is the target's user namespace when it is the caller's own
    (setns(2) would refuse it)."""
    p = ctx.proc
    try:
        mine = p.readlink(f"/proc/self/{name}")
    except FileNotFoundError:
        return False
    if flag != CLONE_NEWUSER:
        return True
    path = f"/proc/{target}/{name}"
    try:
        theirs = p.readlink(path)
    except OSError as e:
        ctx.err(1, f"stat of {path} failed", e.errno)
    return mine != theirs

UNSHARE_HELP = """
Usage:
 unshare [options] [<program> [<argument>...]]

Run a program with some namespaces unshared from the parent.

Options:
 -m, --mount[=<file>]      unshare mounts namespace
 -i, --ipc[=<file>]        unshare System V IPC namespace
 -p, --pid[=<file>]        unshare pid namespace
 -U, --user[=<file>]       unshare user namespace

 -f, --fork                fork before launching <program>
 --map-user=<uid>|<name>   map current user to uid (implies --user)
 --map-group=<gid>|<name>  map current group to gid (implies --user)
 -r, --map-root-user       map current user to root (implies --user)
 -c, --map-current-user    map current user to itself (implies --user)

 --kill-child[=<signame>]  when dying, kill the forked child (implies --fork)
                             defaults to SIGKILL
 --mount-proc[=<dir>]      mount proc filesystem first (implies --mount)
 --propagation slave|shared|private|unchanged
                           modify mount propagation in mount namespace
 --setgroups allow|deny    control the setgroups syscall in user namespaces
 --keep-caps               retain capabilities granted in user namespaces

 -S, --setuid <uid>        set uid in entered namespace
 -G, --setgid <gid>        set gid in entered namespace

 -h, --help                display this help
 -V, --version             display version

ipcsim models user, IPC, mount and PID namespaces; -u, -n, -C, -T, --map-users,
--map-groups, --map-auto, -R, -w, --monotonic and --boottime of unshare(1) are refused.

For more details see unshare(1).
"""

SETPRIV_HELP = """
Usage:
 setpriv [options] <program> [<argument>...]

Run a program with different privilege settings.

Options:
     --ruid <uid|user>           set real uid
     --euid <uid|user>           set effective uid
     --rgid <gid|user>           set real gid
     --egid <gid|group>          set effective gid
     --reuid <uid|user>          set real and effective uid
     --regid <gid|group>         set real and effective gid
     --clear-groups              clear supplementary groups
     --keep-groups               keep supplementary groups
     --init-groups               initialize supplementary groups
     --groups <group,...>        set supplementary groups by UID or name

 -h, --help                      display this help
 -V, --version                   display version

ipcsim models the uid, gid and group options; the others of setpriv(1) are refused.

For more details see setpriv(1).
"""

NSENTER_HELP = """
Usage:
 nsenter [options] [<program> [<argument>...]]

Run a program with namespaces of other processes.

Options:
 -a, --all              enter all namespaces
 -t, --target <pid>     target process to get namespaces from
 -m, --mount[=<file>]   enter mount namespace
 -u, --uts[=<file>]     enter UTS namespace (hostname etc)
 -i, --ipc[=<file>]     enter System V IPC namespace
 -n, --net[=<file>]     enter network namespace
 -p, --pid[=<file>]     enter pid namespace
 -C, --cgroup[=<file>]  enter cgroup namespace
 -U, --user[=<file>]    enter user namespace
 -T, --time[=<file>]    enter time namespace
 -S, --setuid <uid>     set uid in entered namespace
 -G, --setgid <gid>     set gid in entered namespace
     --preserve-credentials do not touch uids or gids
 -F, --no-fork          do not fork before exec'ing <program>

 -h, --help             display this help
 -V, --version          display version

ipcsim has one UTS, network, cgroup and time namespace (every process is in it);
-r and -w of nsenter(1) are refused.

For more details see nsenter(1).
"""


# Commands that change which shell reads on: only in the foreground.
_FOREGROUND_ONLY = ("unshare", "nsenter", "setpriv", "bash", "sh", "exit", "fg", "wait")


def _program_main(proc: Process, shell: Shell, fn: Command, name: str, out: Write,
                  err: Write, stdin: str, args: list[str]) -> None:
    """The body of a command's process: the tool runs, and its status is the exit status."""
    status = shell._call(fn, Ctx(shell, proc, name, out, err, stdin), args)
    proc.exit(status & 0xFF)


def _list_main(proc: Process, shell: Shell, tokens: Tokens) -> None:
    """A background list's subshell: its pipelines in turn, ``&&`` and ``||`` as bash reads
    them; the exit status is the last pipeline's. (Redirections are not read here.)"""
    status, connector = 0, None
    stages: list[Tokens] = [[]]
    for tok in tokens + [None]:
        if tok is not None and not (type(tok) is tuple and tok[0] in ("&&", "||", "|")):
            stages[-1].append(tok)
            continue
        op = tok[0] if tok is not None else None
        if op == "|":
            stages.append([])
            continue
        if not ((connector == "&&" and status != 0) or (connector == "||" and status == 0)):
            status = _pipeline_in(proc, shell, stages)
        stages, connector = [[]], op
    proc.exit(status & 0xFF)


def _pipeline_main(proc: Process, shell: Shell, stages: list[Tokens]) -> None:
    """A background pipeline's subshell (see :func:`_pipeline_in`)."""
    proc.exit(_pipeline_in(proc, shell, stages) & 0xFF)


def _pipeline_in(proc: Process, shell: Shell, stages: list[Tokens]) -> int:
    """A pipeline run by a subshell: each stage a child of its own, run in turn, the
    output of one the input of the next; the status is the last stage's."""
    piped = ""
    status = 0
    for n, words in enumerate(stages):
        argv = [str(f) for w in words if isinstance(w, _Word)
                for f in w.fields(shell._expand)]
        sink: list[str] = []
        last = n == len(stages) - 1
        out: Write = shell.out if last else sink.append
        if not argv:
            continue
        if argv[0] not in PROGRAMS:
            if argv[0] == "echo":
                status = shell._echo(argv[1:], out, shell.err)
            else:
                shell.err(f"bash: {argv[0]}: command not found\n")
                status = 127
        else:
            child = shell._fork_program(proc, argv, out, shell.err, piped)
            proc.wait(_nr(proc, child))
            shell._cmdlines.pop(child.pid, None)
            status = (child.exit_status or 0) if not (child.wstatus or 0) & 0x7F \
                else 128 + ((child.wstatus or 0) & 0x7F)
        piped = "".join(sink)
    return status


def _keep(status: int) -> int:
    """A job's ``finish`` when it has nothing left to write."""
    return status


# --- the tokenizer -------------------------------------------------------------------------
_REDIRECT_FLAGS = {">": O_TRUNC, "2>": O_TRUNC, ">>": O_APPEND, "2>>": O_APPEND}
_OPERATORS = ("2>&1", "2>>", "&&", "||", ">>", "2>", ";", "|", "&", ">", "<")


class Var(str):
    """A ``$NAME`` inside a word, expanded when its command runs (so ``$?`` is fresh)."""


def lex(line: str) -> Tokens:
    """Words (tuples of literal ``str`` and :class:`Var` pieces) and operators (1-tuples
    holding the operator), quotes removed. Raises ValueError on an unterminated quote."""
    out: Tokens = []
    i, n = 0, len(line)
    word: list[str] | None = None
    start = 0

    def end_word() -> None:
        nonlocal word
        if word is not None:
            token = _Word(word)
            token.raw = line[start:i]
            out.append(token)
            word = None

    while i < n:
        ch = line[i]
        if ch in " \t\n":
            end_word()
            i += 1
            continue
        if ch == "#" and word is None:
            break
        op = next((o for o in _OPERATORS if line.startswith(o, i)), None)
        if op is not None and (op[0] != "2" or word is None):
            end_word()
            out.append((op,))
            i += len(op)
            continue
        if word is None:
            word, start = [], i
        if ch == "\\" and i + 1 < n:
            word.append(line[i + 1])
            i += 2
        elif ch == "'":
            j = line.find("'", i + 1)
            if j < 0:
                raise ValueError("unexpected EOF while looking for matching `''")
            word.append(line[i + 1:j])
            i = j + 1
        elif ch == '"':
            i += 1
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n and line[i + 1] in '"\\$`':
                    word.append(line[i + 1])
                    i += 2
                elif line[i] == "$":
                    piece, i = _dollar(line, i)
                    word.append(QVar(piece) if isinstance(piece, Var) else piece)
                else:
                    word.append(Subst("`") if line[i] == "`" else line[i])
                    i += 1
            if i >= n:
                raise ValueError('unexpected EOF while looking for matching `"\'')
            i += 1
        elif ch == "$":
            piece, i = _dollar(line, i)
            word.append(piece)
        else:
            word.append(Glob(ch) if ch in "*?[" else Subst(ch) if ch == "`" else ch)
            i += 1
    end_word()
    return out


_ECHO_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n",
                 "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _echo_escapes(text: str) -> tuple[str, bool]:
    """echo -e: (the text with its escapes read, whether \\c stopped it)."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ECHO_ESCAPES:
            out.append(_ECHO_ESCAPES[nxt])
            i += 2
        elif nxt == "c":
            return "".join(out), True
        elif nxt == "0":
            j = i + 2
            while j < len(text) and j < i + 5 and text[j] in "01234567":
                j += 1
            out.append(chr(int(text[i + 2:j] or "0", 8) & 0xFF))
            i = j
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            j = i + 2
            while j < len(text) and j < i + 2 + width and text[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 2:
                out.append(text[i:i + 2])
            else:
                out.append(chr(int(text[i + 2:j], 16)))
            i = j
        else:
            out.append(text[i:i + 2])
            i += 2
    return "".join(out), False


_CONTINUE = ("&&", "||", "|")


def _normpath(path: str) -> str:
    """``path`` with ``.``, ``..`` and repeated slashes taken off, as bash's cd does."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def _incomplete(text: str) -> bool:
    """Whether bash reads another line for this command: an open quote, or a last
    operator that needs a command after it."""
    try:
        tokens = lex(text)
    except ValueError:
        return True
    return bool(tokens) and type(tokens[-1]) is tuple and tokens[-1][0] in _CONTINUE


def _syntax_error(tokens: Tokens) -> str | None:
    """The token bash's parser stops at, or None: an operator with no command before it,
    a redirection with no word after it."""
    empty = True
    for n, tok in enumerate(tokens):
        if type(tok) is not tuple:          # a word (_Word is a tuple of its pieces)
            empty = False
            continue
        op: str = tok[0]
        if op in (";", "&&", "||", "|", "&"):
            if empty:
                return op
            empty = True
            continue
        empty = False                       # a redirection: a word must follow
        if op != "2>&1":
            nxt = tokens[n + 1] if n + 1 < len(tokens) else None
            if nxt is None:
                return "newline"
            if type(nxt) is tuple:
                after: str = nxt[0]
                return after
    if empty and tokens and type(tokens[-1]) is tuple and tokens[-1][0] in _CONTINUE:
        return "newline"
    return None


_COMPOUND = {"for", "while", "until", "if", "case", "select", "function", "{", "[[", "(("}


def _unmodelled(tokens: Tokens) -> str | None:
    """What bash would run that this shell does not model: compound commands (loops,
    conditionals, groups, subshells) and command substitution."""
    first = True
    for tok in tokens:
        if type(tok) is tuple:
            first = tok[0] in (";", "&&", "||", "|", "&")
            continue
        literal = "".join(p for p in tok if not isinstance(p, Var))
        if first and (literal in _COMPOUND or literal.startswith("(")) \
                and all(not isinstance(p, Var) for p in tok):
            return "compound commands (for, while, if, case, { }, ( ))"
        if any(isinstance(p, Subst) for p in tok):
            return "command substitutions ($(...), `...`)"
        first = False
    return None


class QVar(Var):
    """A ``$NAME`` inside double quotes: its value is never split or dropped."""


class _Word(tuple[str, ...]):
    """The pieces of one word; ``raw`` its text as typed (quotes kept)."""

    raw = ""

    def expand(self, expand: Callable[[str], str]) -> str:
        return "".join(expand(p) if isinstance(p, Var) else p for p in self)

    def fields(self, expand: Callable[[str], str]) -> list["Field"]:
        """The words this one becomes: the value of an unquoted ``$NAME`` is split at
        blanks, and a word made only of such values that are empty is no word at all. A
        word with an unquoted ``*``, ``?`` or ``[`` carries its pattern (for pathname
        expansion)."""
        if not self:
            return [Field("")]                # "" (quotes around nothing)
        fields: list[Field] = []
        text: list[str] | None = None
        pattern: list[str] = []
        globbing = False

        def add(piece: str, active: bool) -> None:
            nonlocal text, globbing
            if text is None:
                text = []
            text.append(piece)
            if active:
                pattern.append(piece)
                globbing = globbing or any(c in "*?[" for c in piece)
            else:
                pattern.append("".join(f"[{c}]" if c in "*?[" else c for c in piece))

        def end() -> None:
            nonlocal text, globbing
            if text is not None:
                fields.append(Field("".join(text), "".join(pattern) if globbing else None))
            text, globbing = None, False
            pattern.clear()

        for p in self:
            if isinstance(p, Var) and not isinstance(p, QVar):
                value = expand(p)
                parts = value.split()
                if not parts:
                    if value:                 # blanks end the field
                        end()
                    continue
                if value[:1].isspace():
                    end()
                for n, part in enumerate(parts):
                    if n:
                        end()
                    add(part, True)
                if value[-1:].isspace():
                    end()
            elif isinstance(p, Var):
                add(expand(p), False)
            else:
                add(p, isinstance(p, Glob))
        end()
        return fields


class Subst(str):
    """An unquoted (or double-quoted) ``$(`` or backquote: a command substitution."""


class Glob(str):
    """An unquoted ``*``, ``?`` or ``[`` of a word."""


class Field(str):
    """A word after expansion; ``pattern`` is its glob pattern (quoted glob characters
    bracketed, as fnmatch reads them) when it has unquoted glob characters, else None."""

    pattern: str | None

    def __new__(cls, text: str, pattern: str | None = None) -> Field:
        self = super().__new__(cls, text)
        self.pattern = pattern
        return self


def tokenize(line: str, expand: Callable[[str], str]) -> Tokens:
    """The words (expanded with ``expand(name)``) and operators (1-tuples) of a line."""
    return [t.expand(expand) if isinstance(t, _Word) else t for t in lex(line)]


def _dollar(line: str, i: int) -> tuple[str, int]:
    nxt = line[i + 1:i + 2]
    if nxt == "(":
        return Subst("$("), i + 2
    if nxt in ("$", "?", "!"):
        return Var(nxt), i + 2
    if nxt == "{":
        j = line.find("}", i)
        if j > 0:
            return Var(line[i + 2:j]), j + 1
    j = i + 1
    while j < len(line) and (line[j].isalnum() or line[j] == "_"):
        j += 1
    if j == i + 1:
        return "$", i + 1
    return Var(line[i + 1:j]), j
