"""Closing kernels that were dropped without close().

A program parked in a blocking call keeps its kernel alive: its frames (a suspended greenlet's,
or a waiting thread's) reference the kernel, and Python's collector never looks into them (a
suspended greenlet is not collectable, a thread's stack is a root). So a kernel whose last
user reference is gone, with programs still parked, would hold their greenlets or threads
forever.

The reaper finds such kernels. Each kernel that is left with parked programs when its host
stops driving is remembered (weakly). At the start of each full collection, for each of them
that nobody drives, it works out whether anything outside the kernel's own objects and its
programs' frames still refers to them: it gathers what the kernel reaches (stopping at
modules, classes and functions' globals), counts the references found inside, and compares
with each object's reference count; an object with more references than found inside is
held from outside, and so is what it reaches. If the kernel is not among those, it is
closed there (its programs unwind as on ``close()``, with a ResourceWarning), and the
collection that follows frees it. A kernel found held is not looked at again until its
reference counts or its run change; one with more than ``MAX_PROGRAMS`` parked programs is
not looked at (close it, or use ``with``).

References that cannot be seen from Python (a C function's arguments, an expression's
temporaries in a suspended frame) count as held from outside: a kernel is then kept, never
closed while in use. Past ``LIMIT`` objects a kernel is kept without looking.
"""
from __future__ import annotations

import gc
import sys
import threading
import types
import weakref
from typing import TYPE_CHECKING, Any

from .executor import _program_body, _thread_main, enter_program
from ..errors import resource_warning

if TYPE_CHECKING:
    from ..kernel.kernel import Kernel

LIMIT = 100_000          # objects a kernel may reach for the reaper to look at it
MAX_PROGRAMS = 2_000     # parked programs a kernel may have for the reaper to look at it

_suspects: weakref.WeakSet[Kernel] = weakref.WeakSet()
# What each kernel found held looked like then: it is not looked at again until that changes.
_held: weakref.WeakKeyDictionary[Kernel, tuple[int, ...]] = weakref.WeakKeyDictionary()
_busy = threading.Lock()


def remember(kernel: Kernel) -> None:
    """Note that ``kernel`` has parked programs (called when its host stops driving)."""
    _suspects.add(kernel)


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase != "start" or info.get("generation") != 2 or not _suspects:
        return
    if sys.is_finalizing() or not _busy.acquire(blocking=False):
        return
    try:
        refs = [weakref.ref(k) for k in list(_suspects)]
        kernel: Kernel | None
        for ref in refs:
            kernel = ref()
            if kernel is None:
                continue
            if len(kernel.sched.programs) > MAX_PROGRAMS:
                continue               # not looked at (nor walked through to find out)
            if not _parked(kernel):
                _suspects.discard(kernel)
            elif _idle(kernel):
                mark = _signature(kernel)
                if _held.get(kernel) == mark:
                    continue
                kernel = None          # only the walk's own references while it counts
                if _dropped(ref):
                    kernel = ref()
                    assert kernel is not None    # (held by the walk's caller's frames)
                    _suspects.discard(kernel)
                    _close(kernel)
                else:
                    _held[ref()] = mark  # type: ignore[index]  # (alive: it is held)
            kernel = None
    except Exception:        # pragma: no cover - never break the collector
        pass
    finally:
        _busy.release()


def _signature(kernel: Kernel) -> tuple[int, ...]:
    """What changes when a user lets go of the kernel or one of its processes, or the
    kernel runs: a kernel found held is looked at again only once this has changed."""
    getrefcount = sys.getrefcount
    return (getrefcount(kernel), sum(getrefcount(p) for p in kernel._procs.values()),
            kernel.sched.switches, len(kernel._procs))


def _parked(kernel: Kernel) -> bool:
    return any(task.started for task in kernel.sched.programs.values())


def _idle(kernel: Kernel) -> bool:
    """Nobody drives it, and the calling thread may."""
    sched = kernel.sched
    host = sched.host
    return (sched.current is host and host.state == "running"
            and sched.executor.check_thread() is None)


def _close(kernel: Kernel) -> None:
    n = len(kernel.sched.programs)
    resource_warning(f"ipcsim: {kernel!r} was dropped without close() while {n} program"
                     f"{'s' if n != 1 else ''} still ran; they were ended (use "
                     f"'with ipcsim.Kernel() as k:' or k.close())")
    kernel.close()


# --- is anything outside holding the kernel? ----------------------------------------------
def _stops() -> set[int]:
    """Where the walk stops: modules and their dicts (everything is reachable from them)."""
    out: set[int] = set()
    for module in list(sys.modules.values()):
        out.add(id(module))
        d = getattr(module, "__dict__", None)
        if d is not None:
            out.add(id(d))
    return out


_STOP_TYPES = (type, types.ModuleType, types.CodeType, types.BuiltinFunctionType,
               types.FrameType, weakref.ref)


def _program_frames(kernel: Kernel) -> list[tuple[types.FrameType, Any]]:
    """The frames of every started program, innermost first (greenlets or threads), each
    with the function it runs where that is known (a frame holds its function)."""
    frames: list[tuple[types.FrameType, Any]] = []
    tasks = list(kernel.sched.programs.values())
    # sys._current_frames() holds this very frame too: cleared below, or the cycle would
    # keep what this frame refers to alive
    current = sys._current_frames() if any(t.ident is not None for t in tasks) else {}
    for task in tasks:
        frame = None
        ctx = task.ctx
        if hasattr(ctx, "gr_frame"):
            frame = ctx.gr_frame
        elif task.ident is not None:
            frame = current.get(task.ident)
        while frame is not None and frame.f_code.co_flags & _CO_OPTIMIZED:
            back = frame.f_back
            runs = task.fn if back is not None and back.f_code is _CALL_CODE \
                and getattr(task.fn, "__code__", None) is frame.f_code else None
            frames.append((frame, runs))
            if frame.f_code in _BOTTOM_CODES:
                break        # below: whoever started the greenlet or the thread
            frame = back
    current.clear()
    return frames


def program_call(task: Any) -> str | None:
    """The system call a parked program is in, as strace writes it (``msgrcv(0, 100, 0,
    0)``), read from its frames; None if none is found."""
    from ..kernel import syscall
    frame = None
    ctx = task.ctx
    if hasattr(ctx, "gr_frame"):
        frame = ctx.gr_frame
    elif task.ident is not None:
        frame = sys._current_frames().get(task.ident)
    frames = []
    while frame is not None and frame.f_code not in _BOTTOM_CODES:
        frames.append(frame)
        frame = frame.f_back
    frame = None
    frames.reverse()
    found = syscall.outermost_call(frames)
    return None if found is None else syscall.call_text(found[1], found[2])


def _dropped(ref: weakref.ref[Kernel]) -> bool:
    """True when nothing outside the kernel's objects and its programs' frames refers to
    any object from which the kernel (``ref()``) can be reached."""
    snapshots: list[Any] = []
    collecting = gc.isenabled()
    gc.disable()             # a collection meanwhile would change what is being counted
    try:
        return _walk(ref, snapshots)
    finally:
        if collecting:
            gc.enable()
        # Reading f_locals (before Python 3.13) leaves a snapshot of the frame's locals on
        # it, which would keep them alive after the frame moved on. Python makes a fresh
        # one whenever it needs one, so emptying it is safe. From 3.13 on, f_locals is a
        # proxy of the frame itself (PEP 667): nothing is left behind, nothing to empty.
        for d in snapshots:
            if type(d) is dict:
                d.clear()


def _walk(ref: Any, snapshots: list[Any]) -> bool:
    # (``ref``: the weak reference to the kernel, then each referent of the walk)
    kernel = ref()
    f_locals: Any
    value: Any
    obj: Any
    frame: Any
    runs: Any
    f_locals = value = obj = frame = runs = None
    stops = _stops()
    frames = _program_frames(kernel)
    hidden = {id(f) for f, _ in frames}      # frames, and the f_locals dicts they keep
    world: dict[int, object] = {}
    edges: dict[int, list[int]] = {}
    inside: dict[int, int] = {}
    todo = [kernel]
    world[id(kernel)] = kernel
    for task in kernel.sched.programs.values():
        if task.ident is not None:
            # a program thread's ``running.task``, in a thread-local dict Python code
            # cannot reach from another thread
            inside[id(task)] = inside.get(id(task), 0) + 1
    task = None
    for frame, runs in frames:
        if runs is not None:
            # the frame holds its function, and the function's closure cells
            inside[id(runs)] = inside.get(id(runs), 0) + 1
            for cell in getattr(runs, "__closure__", None) or ():
                inside[id(cell)] = inside.get(id(cell), 0) + 1
            cell = None
        f_locals = frame.f_locals
        snapshots.append(f_locals)
        hidden.add(id(f_locals))
        world[id(f_locals)] = f_locals
        todo.append(f_locals)
        code = frame.f_code
        cells = set(code.co_cellvars) | set(code.co_freevars)
        for name, value in f_locals.items():
            if name not in cells and gc.is_tracked(value):
                # the frame's own slot holds it too (the dict holds it once more)
                inside[id(value)] = inside.get(id(value), 0) + 1
                if id(value) not in world and id(value) not in stops \
                        and not isinstance(value, _STOP_TYPES):
                    world[id(value)] = value
                    todo.append(value)
    while todo:
        obj = todo.pop()
        out: list[int] = []
        if id(obj) not in hidden and _is_greenlet(obj):
            edges[id(obj)] = out
            continue
        for ref in gc.get_referents(obj):
            if not gc.is_tracked(ref) or id(ref) in stops or isinstance(ref, _STOP_TYPES):
                continue
            out.append(id(ref))
            if id(ref) not in world:
                if len(world) >= LIMIT:
                    return False
                world[id(ref)] = ref
                todo.append(ref)
        edges[id(obj)] = out
    for targets in edges.values():
        for t in targets:
            inside[t] = inside.get(t, 0) + 1
    target = id(kernel)
    del kernel, obj, ref, frames, f_locals, value, frame, runs
    # Held from outside: more references than found inside (3: ``world``'s, ``held``'s and
    # getrefcount's argument). Frames, their locals dicts and greenlets are held by what
    # runs them.
    roots: list[int] = []
    held: object
    for i in world:
        if i in hidden:
            continue
        held = world[i]
        if not _is_greenlet(held) and sys.getrefcount(held) - 3 > inside.get(i, 0):
            roots.append(i)
    held = None
    seen = set(roots)
    while roots:
        for t in edges.get(roots.pop(), ()):
            if t not in seen:
                seen.add(t)
                roots.append(t)
    return target not in seen


def _is_greenlet(obj: object) -> bool:
    return type(obj).__name__ == "greenlet" and type(obj).__module__ == "greenlet"


_CALL_CODE = enter_program.__code__
_BOTTOM_CODES = (_program_body.__code__, _thread_main.__code__)
_CO_OPTIMIZED = 0x1        # a function's frame (not a module's or a class body's)
gc.callbacks.append(_on_gc)
