"""The scenario form: a few lines of Python-like calls that a person can read and write.

A scenario is a list of steps, one per line. Process ``a`` exists from the start, in a
fresh IPC namespace; every other process is made by a step::

    b = a.fork()                                  # b: a child of a
    c = a.clone(CLONE_NEWIPC)                     # c: a child in a new namespace
    a.write_file("/proc/sys/kernel/msgmax", "100")
    c.read_file("/proc/sys/kernel/msgmax")        # each result is compared
    fd = a.open(f"/proc/{pid(c)}/ns/ipc")         # bind a result to a name
    b.setns(fd, CLONE_NEWIPC)
    a.signal(SIGUSR1, "handler")
    a.pause()                                     # blocks: both sides must agree
    b.kill(pid(a), SIGUSR1)                       # wakes a: its EINTR is compared too
    advance(0.05)                                 # let 50 ms pass (timeouts)

Arguments are Python expressions over the Linux constants (``IPC_CREAT | 0o600``), the names
bound by earlier steps, ``pid(label)`` (the process's pid on the backend at hand), ``UID``
and ``GID`` (the ids ``a`` started with) and f-strings. A ``#`` starts a comment.

A scenario has a ``uid``: 0 (the default) starts ``a`` as root with the capabilities the
real kernel gives root here; any other uid starts it as an unprivileged user, as ``setpriv
--reuid=UID --regid=UID --clear-groups`` would: uid and gid ``UID``, no supplementary groups,
no capabilities, dumpable (as after an execve), still in a fresh IPC namespace (which root
made, so it is owned by the initial user namespace).
"""
from __future__ import annotations

import ast
from typing import Any

import attrs

from .. import constants
from ..kernel import signals
from .backend import CALLS

ADVANCE = "advance"


class ScenarioError(ValueError):
    """A scenario line that is not a step."""


@attrs.frozen
class Step:
    """One line: ``label.method(args)``, optionally bound to a name, or ``advance(s)``."""

    lineno: int
    text: str
    label: str | None
    method: str
    args: tuple[ast.expr, ...] = ()
    bind: str | None = None

    @property
    def creates_process(self) -> bool:
        return self.method in ("fork", "clone")


@attrs.frozen
class Scenario:
    name: str
    steps: tuple[Step, ...]
    area: str = "misc"
    text: str = ""
    uid: int = 0


def constants_env() -> dict[str, Any]:
    """The names a scenario may use: every Linux constant and signal name."""
    env = {n: getattr(constants, n) for n in dir(constants) if n.isupper()}
    env.update({name: num for name, num in signals._LINUX.items()})
    env.update(SIG_BLOCK=signals.SIG_BLOCK, SIG_UNBLOCK=signals.SIG_UNBLOCK,
               SIG_SETMASK=signals.SIG_SETMASK)
    return env


def msqid_ds(uid: int = 0, gid: int = 0, mode: int = 0o600, qbytes: int = 16384) -> dict[str, Any]:
    """What IPC_SET reads from a msqid_ds, as plain data both backends understand."""
    return {"msg_perm": {"uid": uid, "gid": gid, "mode": mode}, "msg_qbytes": qbytes}


def shmid_ds(uid: int = 0, gid: int = 0, mode: int = 0o600) -> dict[str, Any]:
    """What IPC_SET reads from a shmid_ds (shm_perm's uid, gid and mode), as plain data both
    backends understand (the shape of the dict the real backend's IPC_STAT returns)."""
    return {"shm_perm": {"uid": uid, "gid": gid, "mode": mode}}


_CONSTANTS = constants_env()
_CONSTANTS["msqid_ds"] = msqid_ds
_CONSTANTS["shmid_ds"] = shmid_ds


def semid_ds(uid: int = 0, gid: int = 0, mode: int = 0o600) -> dict[str, Any]:
    return {"sem_perm": {"uid": uid, "gid": gid, "mode": mode}}


_CONSTANTS["semid_ds"] = semid_ds


def mq_attr(maxmsg: int = 0, msgsize: int = 0, flags: int = 0, curmsgs: int = 0) -> dict[str, Any]:
    """A struct mq_attr for mq_open (maxmsg, msgsize) and mq_setattr (flags), as plain data."""
    return {"mq_flags": flags, "mq_maxmsg": maxmsg, "mq_msgsize": msgsize,
            "mq_curmsgs": curmsgs}


def sigevent(notify: int, signo: int = 0, value: int = 0) -> dict[str, Any]:
    """A struct sigevent for mq_notify, as plain data."""
    return {"sigev_notify": notify, "sigev_signo": signo, "sigev_value": value}


_CONSTANTS["mq_attr"] = mq_attr
_CONSTANTS["sigevent"] = sigevent


def parse(text: str, name: str = "scenario", area: str = "misc", uid: int = 0) -> Scenario:
    """Parse scenario text into steps; raises ScenarioError with the line at fault. ``uid``:
    the user ``a`` starts as (see the module docstring)."""
    if isinstance(uid, bool) or not isinstance(uid, int) or not 0 <= uid < 0xFFFFFFFF:
        raise ScenarioError(f"{name}: uid must be an int in [0, 4294967295)")
    steps = []
    labels = {"a"}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line:
            continue
        try:
            tree = ast.parse(line, mode="exec")
        except SyntaxError as e:
            raise ScenarioError(f"{name}:{lineno}: not a step: {raw.strip()!r} ({e.msg})")
        if len(tree.body) != 1:
            raise ScenarioError(f"{name}:{lineno}: one step per line")
        steps.append(_step(tree.body[0], lineno, line, labels, name))
    return Scenario(name=name, steps=tuple(steps), area=area, text=text, uid=uid)


def _strip_comment(raw: str) -> str:
    """Drop a trailing comment, but not a '#' inside a string literal."""
    out, quote = [], None
    for ch in raw:
        if quote:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "#":
            break
        else:
            out.append(ch)
    return "".join(out).strip()


def _step(node: ast.stmt, lineno: int, line: str, labels: set[str], name: str) -> Step:
    where = f"{name}:{lineno}"
    bind = None
    if isinstance(node, ast.Assign):
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            raise ScenarioError(f"{where}: bind one name: {line!r}")
        bind = node.targets[0].id
        call = node.value
    elif isinstance(node, ast.Expr):
        call = node.value
    else:
        raise ScenarioError(f"{where}: not a call: {line!r}")
    if not isinstance(call, ast.Call) or call.keywords:
        raise ScenarioError(f"{where}: a step is a call with positional arguments: {line!r}")
    func = call.func
    if isinstance(func, ast.Name) and func.id == ADVANCE:
        if bind or len(call.args) != 1:
            raise ScenarioError(f"{where}: advance(seconds) takes one argument")
        return Step(lineno, line, None, ADVANCE, tuple(call.args))
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        raise ScenarioError(f"{where}: a step is label.call(...): {line!r}")
    label, method = func.value.id, func.attr
    if label not in labels:
        raise ScenarioError(f"{where}: no process {label!r} yet (a exists; fork/clone make "
                            f"others)")
    if method not in CALLS:
        raise ScenarioError(f"{where}: unknown call {method!r}; known: {sorted(CALLS)}")
    if method in ("fork", "clone"):
        if bind is None:
            raise ScenarioError(f"{where}: name the new process: x = {label}.{method}(...)")
        labels.add(bind)
    return Step(lineno, line, label, method, tuple(call.args), bind)


def evaluate(args: tuple[ast.expr, ...], env: dict[str, Any]) -> tuple[Any, ...]:
    """Evaluate a step's argument expressions in a backend's environment."""
    scope = dict(_CONSTANTS)
    scope.update(env)
    out = []
    for node in args:
        code = compile(ast.Expression(body=node), "<scenario>", "eval")
        out.append(eval(code, {"__builtins__": {}}, scope))  # noqa: S307 (trusted test text)
    return tuple(out)
