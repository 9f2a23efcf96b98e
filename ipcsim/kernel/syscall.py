"""The system call entry, and the argument checks every call shares."""
from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from types import FrameType
from typing import (TYPE_CHECKING, Any, Callable, Concatenate, Iterable, Iterator, ParamSpec, TypeAlias,
                    TypeVar, cast)

if TYPE_CHECKING:
    from .process import ProcessState
    CallsBase = ProcessState
else:
    # The base of MsgCalls, SemCalls, ShmCalls and MqCalls: for type checkers the state of
    # the process they are part of; at run time nothing.
    CallsBase = object

# What a call that takes message or memory contents accepts (str is encoded as UTF-8).
Data: TypeAlias = "str | bytes | bytearray | memoryview"

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="ProcessState")


def syscall(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a Process method as a system call.

    The fast path (the caller's own thread, no tracing) is a plain call. Otherwise the kernel's
    slow path makes it a switch point, records it in the trace, and runs pending signal
    handlers on return. The wrapper is generated with the method's own parameter list, so
    that the fast path packs no ``*args``/``**kwargs``. Type checkers see the method's own
    signature (the casts cost nothing at call time).
    """
    name = fn.__name__
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[1:]
    simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
    if not simple:
        return cast("Callable[P, R]", _generic(cast("Callable[..., R]", fn), name))
    defaults = {f"_d{i}": p.default for i, p in enumerate(params)
                if p.default is not inspect.Parameter.empty}
    decl, names = [], []
    for i, p in enumerate(params):
        decl.append(f"{p.name}=_d{i}" if f"_d{i}" in defaults else p.name)
        names.append(p.name)
    args = ", ".join(names)
    packed = f"({args},)" if names else "()"
    call = f"_fn(self{', ' if names else ''}{args})"
    # Three paths: the caller's own thread (a plain call); a program's call in an untraced
    # run (the switch point, the call, and the return to user space, inline); and the rest
    # (traced, a process that has exited, a call on another process) through _syscall.
    src = (f"def {name}(self{', ' if decl else ''}{', '.join(decl)}):\n"
           f"    kernel = self.kernel\n"
           f"    if kernel._slow or not self.alive:\n"
           f"        task = kernel._prog\n"
           f"        if task is None or task.process is not self or not self.alive:\n"
           f"            return kernel._syscall(self, _fn, {name!r}, {packed}, NOKW)\n"
           f"        kernel.sched.preempt(task)\n"
           f"        if not self.alive:\n"
           f"            raise kernel.sched.dying(task)\n"
           f"        try:\n"
           f"            result = {call}\n"
           f"        except BaseException:\n"
           f"            kernel._after_call(task)\n"
           f"            raise\n"
           f"        if task.killed or self.sigpending or self.stopped or not self.alive:\n"
           f"            kernel._after_call(task)\n"
           f"        return result\n"
           f"    return {call}\n")
    scope: dict[str, Any] = {"_fn": fn, "NOKW": NOKW, **defaults}
    exec(compile(src, f"<syscall {name}>", "exec"), scope)  # noqa: S102 (generated wrapper)
    wrapper = functools.update_wrapper(scope[name], fn)
    setattr(wrapper, "is_syscall", True)
    return cast("Callable[P, R]", wrapper)


NOKW: dict[str, Any] = {}


def hot_syscall(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a method that makes the fast-path test itself (the hottest calls, which cannot
    afford the wrapper's extra call): it must begin with ``if kernel._slow or not
    self.alive:`` and then hand its full implementation to ``kernel._syscall``."""
    setattr(fn, "is_syscall", True)
    return fn


def _generic(fn: Callable[Concatenate[S, P], R], name: str) -> Callable[Concatenate[S, P], R]:
    @functools.wraps(fn)
    def call(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        kernel = self.kernel
        if kernel._slow or not self.alive:
            return kernel._syscall(self, fn, name, args, kwargs)
        return fn(self, *args, **kwargs)

    setattr(call, "is_syscall", True)
    return cast("Callable[Concatenate[S, P], R]", call)


_CALL_CODES: dict[Any, str] = {}


def _syscall_codes() -> dict[Any, str]:
    """The code object of each system call's entry (the generated wrapper, or the hot
    call itself) -> the call's name; made at the first use (a report, never a call)."""
    if not _CALL_CODES:
        from .process import Process
        for name in dir(Process):
            fn = getattr(Process, name, None)
            code = getattr(fn, "__code__", None)
            if getattr(fn, "is_syscall", False) and code is not None:
                _CALL_CODES[code] = name
    return _CALL_CODES


def outermost_call(frames: Iterable[FrameType]) -> tuple[int, str, tuple[Any, ...], int] | None:
    """``(pid, call, args, index)`` of the first system call's frame among ``frames``
    (outermost first: what the program called), read from the frame's arguments at the
    time of a report, so that the calls themselves carry nothing for it."""
    codes = _syscall_codes()
    generic = _generic.__code__.co_consts
    for n, frame in enumerate(frames):
        code = frame.f_code
        if code in codes:
            names = code.co_varnames[1:code.co_argcount]
            with _locals(frame) as local:
                args = tuple(local[a] for a in names if a in local)
                return getattr(local.get("self"), "pid", 0), codes[code], args, n
        if code in generic:                       # a call with *args (see _generic)
            with _locals(frame) as local:
                return (getattr(local.get("self"), "pid", 0), str(local.get("name")),
                        tuple(local.get("args", ())), n)
    return None


@contextmanager
def _locals(frame: FrameType) -> Iterator[Any]:
    """A frame's locals, read without keeping them: before Python 3.13 reading f_locals
    leaves a snapshot dict on a live frame, which would hold what it refers to (the kernel
    of a parked program) for as long as the frame lives; Python makes a fresh one when it
    needs one, so it is emptied after. From 3.13 it is a proxy (PEP 667), nothing to empty."""
    local = frame.f_locals
    try:
        yield local
    finally:
        if type(local) is dict:
            local.clear()


def frames_out(frame: FrameType | None) -> list[FrameType]:
    """``frame`` and its callers, outermost first."""
    out = []
    while frame is not None:
        out.append(frame)
        frame = frame.f_back
    out.reverse()
    return out


def call_text(name: str, args: tuple[Any, ...]) -> str:
    """``semop(99, [(0, -1, 0)])``: a call as strace writes it."""
    from ..callargs import format_args
    return f"{name}({format_args(name, args)})"


def restart_syscall(proc: ProcessState, name: str, *args: object) -> Any:
    """A call that a stop signal interrupted, with no handler due (ERESTARTNOHAND): it starts
    again from its first check once the process is continued, as the real kernel's restart
    re-executes it (the object may be gone meanwhile: then the lookup's errno)."""
    return getattr(type(proc), name).__wrapped__(proc, *args)


def int_arg(value: object, what: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def as_bytes(data: object, what: str = "data") -> bytes:
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be str or bytes-like, not {type(data).__name__}")
