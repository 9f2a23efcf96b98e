"""The system call entry, and the argument checks every call shares."""
from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Concatenate, ParamSpec, TypeAlias, TypeVar, cast

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
