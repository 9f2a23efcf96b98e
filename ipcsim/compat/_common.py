"""What both fakes share: attributes that refuse writes as the C extension types do, the
buffer protocol of a pure-Python class, and the C conversions of arguments."""
from __future__ import annotations

import ctypes
import errno
import functools
import platform
import sys
from typing import TYPE_CHECKING, Any, Callable, Mapping, NoReturn, Sequence, TypeVar, cast

if TYPE_CHECKING:
    from ..kernel.process import Process

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
# What fail() maps an errno to: the exception class and its message (None: no argument).
ErrorTable = Mapping[int, tuple[type[BaseException], "str | None"]]

LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1
ULONG_MASK = (1 << 64) - 1


class ReadOnly:
    # A read-only attribute computed by ``getter(obj)``, documented by ``doc`` (its
    # ``__doc__``, as a C getset's). Writing it raises the AttributeError a C type's getset
    # without a setter raises: "attribute 'NAME' of 'MODULE.CLASS' objects is not
    # writable", naming the class that defines it.

    __slots__ = ("getter", "name", "owner", "__doc__")

    def __init__(self, getter: Callable[[Any], Any], doc: str = "") -> None:
        self.getter = getter
        self.name = getter.__name__
        self.owner: type | None = None
        self.__doc__ = doc or None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return self.getter(obj)

    def __set__(self, obj: object, value: object) -> None:
        cls = self.owner or type(obj)
        raise AttributeError(f"attribute '{self.name}' of '{cls.__module__}.{cls.__qualname__}' "
                             f"objects is not writable")

    def __delete__(self, obj: object) -> None:
        self.__set__(obj, None)


class ReadOnlyMember(ReadOnly):
    # A read-only struct member (``T_INT``, ``READONLY``): writing it raises
    # AttributeError("readonly attribute"), as CPython's member descriptors do.

    __slots__ = ("__doc__",)          # (else the class's own __doc__ hides the slot)

    def __set__(self, obj: object, value: object) -> None:
        raise AttributeError("readonly attribute")


# --- argument lists, checked as the C argument parser checks them ----------------------------
def c_args(names: str, required: int = 1, keywords: bool = True, method: bool = False,
           converters: tuple[Callable[[Any], object], ...] = ()) -> Callable[[F], F]:
    """Decorate a function whose C original parses ``names`` (space-separated, self not
    counted) with PyArg_ParseTupleAndKeywords (``keywords``) or, taking no keywords, with
    PyArg_ParseTuple: a call with too many arguments, a missing one, an unknown keyword or
    one given twice raises the TypeError that parser raises ("function takes at most 4
    arguments (5 given)", "'foo' is an invalid keyword argument for this function"), not
    Python's; for a missing argument, after converting the ones before it with
    ``converters``, as the parser does. For constructors and module functions (not hot)."""
    params = tuple(names.split())
    count = len(params)
    skip = 1 if method else 0

    def decorate(fn: F) -> F:
        if keywords:
            def wrapper(*args: Any, **kw: Any) -> Any:
                nargs = len(args) - skip
                if kw or not required <= nargs <= count:
                    _check_keywords(params, required, converters, args[skip:], kw)
                return fn(*args, **kw)
        else:
            name = fn.__name__

            def wrapper(*args: Any, **kw: Any) -> Any:
                if kw:
                    raise TypeError(f"{name}() takes no keyword arguments")
                if len(args) != count:
                    raise TypeError(f"function takes exactly {count} argument"
                                    f"{'' if count == 1 else 's'} ({len(args)} given)")
                return fn(*args)
        return cast(F, functools.update_wrapper(wrapper, fn))
    return decorate


def refuse_args(qualname: str, args: tuple[Any, ...], kw: dict[str, Any]) -> NoReturn:
    """What CPython raises for arguments to a C method that takes none (METH_NOARGS), or
    for keywords to one that takes only positional ones (METH_VARARGS)."""
    if kw:
        raise TypeError(f"{qualname}() takes no keyword arguments")
    raise TypeError(f"{qualname}() takes no arguments ({len(args)} given)")


def _check_keywords(params: tuple[str, ...], required: int,
                    converters: tuple[Callable[[Any], object], ...], args: tuple[Any, ...],
                    kw: dict[str, Any]) -> None:
    """vgetargskeywords()'s checks of the shape of a call (CPython 3.11)."""
    count, nargs, left = len(params), len(args), len(kw)
    if nargs + left > count:
        raise TypeError(f"function takes at most {count} {'' if nargs else 'keyword '}"
                        f"argument{'' if count == 1 else 's'} ({nargs + left} given)")
    for i, param in enumerate(params):
        if i < nargs:
            continue
        if left and param in kw:
            left -= 1
            continue
        if i < required:
            for j, convert in enumerate(converters[:i]):   # the ones before, converted first
                convert(args[j] if j < nargs else kw[params[j]])
            raise TypeError(f"function missing required argument '{param}' (pos {i + 1})")
        if not left:
            return
    for i in range(nargs):
        if params[i] in kw:
            raise TypeError(f"argument for function given by name ('{params[i]}') and "
                            f"position ({i + 1})")
    for key in kw:
        if key not in params:
            raise TypeError(unknown_keyword(key, params))


def unknown_keyword(key: str, params: Sequence[str]) -> str:
    """The C argument parser's message for a keyword it does not know: its wording changed
    in CPython 3.13, which also suggests the closest known keyword."""
    if sys.version_info < (3, 13):
        return f"'{key}' is an invalid keyword argument for this function"
    suggestion = _closest(key, params)
    if suggestion is None:
        return f"this function got an unexpected keyword argument '{key}'"
    return (f"this function got an unexpected keyword argument '{key}'. "
            f"Did you mean '{suggestion}'?")


# Python/suggestions.c, which CPython 3.13's argument parser asks for a suggestion (on
# UTF-8 bytes; a case change is an ASCII one)
_MOVE_COST, _CASE_COST, _MAX_STRING_SIZE, _MAX_CANDIDATES = 2, 1, 40, 750


def _closest(name: str, candidates: Sequence[str]) -> str | None:
    """calculate_suggestions(): the candidate nearest ``name`` by a Levenshtein distance
    (a case change costs half a move), if no more than a third of the characters differ."""
    if len(candidates) >= _MAX_CANDIDATES:
        return None
    best: str | None = None
    best_distance = sys.maxsize
    wanted = name.encode("utf-8", "surrogatepass")      # (C compares UTF-8 bytes)
    for item in candidates:
        if item == name:
            continue
        other = item.encode("utf-8", "surrogatepass")
        limit = min((len(wanted) + len(other) + 3) * _MOVE_COST // 6, best_distance - 1)
        distance = _levenshtein(wanted, other, limit)
        if distance > limit:
            continue
        if best is None or distance < best_distance:
            best, best_distance = item, distance
    return best


def _lower(byte: int) -> int:
    return byte + 32 if 65 <= byte <= 90 else byte


def _levenshtein(a: bytes, b: bytes, max_cost: int) -> int:
    if a == b:
        return 0
    pre = 0
    while pre < len(a) and pre < len(b) and a[pre] == b[pre]:
        pre += 1
    a, b = a[pre:], b[pre:]
    post = 0
    while post < len(a) and post < len(b) and a[-1 - post] == b[-1 - post]:
        post += 1
    if post:
        a, b = a[:-post], b[:-post]
    if not a or not b:
        return _MOVE_COST * (len(a) + len(b))
    if len(a) > _MAX_STRING_SIZE or len(b) > _MAX_STRING_SIZE:
        return max_cost + 1
    if len(b) < len(a):
        a, b = b, a
    if (len(b) - len(a)) * _MOVE_COST > max_cost:
        return max_cost + 1
    row = list(range(_MOVE_COST, _MOVE_COST * (len(a) + 1), _MOVE_COST))
    result = 0
    for bindex, bchar in enumerate(b):
        distance = result = bindex * _MOVE_COST
        minimum = sys.maxsize
        for index, achar in enumerate(a):
            cost = 0 if bchar == achar else \
                _CASE_COST if _lower(bchar) == _lower(achar) else _MOVE_COST
            substitute = distance + cost
            distance = row[index]
            result = min(min(result, distance) + _MOVE_COST, substitute)
            row[index] = result
            minimum = min(minimum, result)
        if minimum > max_cost:
            return max_cost + 1
    return result


def c_index(value: object) -> int:
    """The int of an argument that PyArg_Parse reads as a C integer (not a float)."""
    if isinstance(value, float):
        raise TypeError("'float' object cannot be interpreted as an integer")
    try:
        return value.__index__()          # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer") \
            from None


def c_int(value: object) -> int:
    """PyArg_Parse's "i": an int that fits in a C int."""
    if value.__class__ is int and -0x80000000 <= value <= 0x7FFFFFFF:
        return value
    value = c_index(value)
    if value > 0x7FFFFFFF:
        raise OverflowError("signed integer is greater than maximum")
    if value < -0x80000000:
        raise OverflowError("signed integer is less than minimum")
    return value


def c_long(value: object) -> int:
    """PyArg_Parse's "l"."""
    if value.__class__ is int and LONG_MIN <= value <= LONG_MAX:
        return value
    value = c_index(value)
    if not LONG_MIN <= value <= LONG_MAX:
        raise OverflowError("Python int too large to convert to C long")
    return value


_HEAPTYPE = 1 << 9


def type_name(value: object) -> str:
    """What PyArg_Parse's messages call the type of ``value`` ("None" for None, else the
    type's tp_name: "module.Name" for a C type outside builtins)."""
    if value is None:
        return "None"
    t = type(value)
    if t.__flags__ & _HEAPTYPE or t.__module__ == "builtins":
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def c_ulong_mask(value: object, argno: int) -> int:
    """PyArg_Parse's "k" for argument number ``argno``: an int (not an object with
    __index__), taken modulo 2**64 with no overflow check."""
    if isinstance(value, int):
        return value & ULONG_MASK
    raise TypeError(f"argument {argno} must be int, not {type_name(value)}")


def c_str(value: object, argno: int = 1) -> str:
    """PyArg_Parse's "s": a str without NUL characters (encodable as UTF-8)."""
    if not isinstance(value, str):
        raise TypeError(f"argument {argno} must be str, not {type_name(value)}")
    if "\0" in value:
        raise ValueError("embedded null character")
    str.encode(value)                                 # UnicodeEncodeError for surrogates
    return value


def as_buffer_bytes(data: object) -> bytes:
    """PyArg_Parse's "s*": str (as UTF-8) or any C-contiguous bytes-like object."""
    if isinstance(data, str):
        return str.encode(data)
    if isinstance(data, bytes):
        return data
    try:
        view = memoryview(data)          # type: ignore[arg-type]  # (TypeError: below)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") \
            from None
    if not view.c_contiguous:
        raise BufferError("memoryview: underlying buffer is not C-contiguous")
    return view.tobytes()


def fail(e: OSError, table: ErrorTable) -> BaseException:
    """The exception a real module raises for ``e.errno``: ``table`` maps an errno to
    (class, message or None); an errno it does not name keeps its OSError, as
    PyErr_SetFromErrno would make it.

    A wait on the host kernel that a Python signal handler ended by raising (EINTR): posix_ipc
    raises its SignalError and drops the handler's exception (PyErr_Clear); with sysv_ipc the
    handler's exception follows the call's Error (raised while that one is handled)."""
    entry = table.get(e.errno) if e.errno is not None else None
    if entry is None:
        return e
    cls, message = entry
    exc = cls(message) if message is not None else cls()
    if e.errno == errno.EINTR:
        from ._context import handler_error
        pending = handler_error()
        if pending is not None and cls.__module__ == "sysv_ipc":
            # raised while the Error is handled, so that the handler's exception shows
            # after it, as when the real call's Error meets the handler still due
            try:
                raise exc
            except BaseException:
                exc.__suppress_context__ = True       # (not the model's OSError)
                raise pending
    return exc


def timeout_arg(timeout: object) -> float | None:
    """convert_timeout() of both modules: None, or a non-negative int or float (seconds)."""
    if timeout is None:
        return None
    if isinstance(timeout, float):
        value = timeout
    elif isinstance(timeout, int):
        # PyLong_AsLong: -1 (so "negative") for an int that a C long cannot hold
        value = float(timeout) if LONG_MIN <= timeout <= LONG_MAX else -1.0
    else:
        raise TypeError("The timeout must be None or a non-negative number")
    if value < 0:
        raise TypeError("The timeout must be None or a non-negative number")
    return value


def open_or_create(proc: Process, opener: Callable[..., T], name: Any,
                   fresh: Callable[[Process], Any], *args: Any) -> tuple[Any, T]:
    """``(name, opener(proc, name, *args))``; for a name of None, a fresh one from
    ``fresh(proc)``, drawn again while it is taken (EEXIST), as both modules do."""
    if name is not None:
        return name, opener(proc, name, *args)
    while True:
        name = fresh(proc)
        try:
            return name, opener(proc, name, *args)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise


def check_flags(flags: int, name: object, creat: int, excl: int, prefix: str,
                what: str) -> None:
    """The constructors' check of their flags: EXCL needs CREAT; no name needs EXCL."""
    if not flags & creat and flags & excl:
        raise ValueError(f"{prefix}_EXCL must be combined with {prefix}_CREAT")
    if name is None and flags & excl != excl:
        raise ValueError(f"{what} can only be None if {prefix}_EXCL is set")


# --- classes that look like C extension types ----------------------------------------------
_tp_names: list[ctypes.Array[ctypes.c_char]] = []


def _set_tp_name(cls: type, name: str) -> bool:
    """Point the C-level name of the heap type ``cls`` (``tp_name``, what CPython's own
    messages print: "'sysv_ipc.MessageQueue' object has no attribute 'x'", "cannot create
    weak reference to ...") at ``name``, as a static C type's is, while ``__name__`` stays
    the bare class name. CPython only; False where the field cannot be found."""
    if platform.python_implementation() != "CPython":
        return False
    # tp_name follows the PyVarObject header, whose size is a bare tuple's basic size
    field = ctypes.c_char_p.from_address(id(cls) + tuple.__basicsize__)
    if field.value != cls.__name__.encode():
        return False
    buf = ctypes.create_string_buffer(name.encode())
    _tp_names.append(buf)                      # lives as long as the class
    ctypes.c_void_p.from_address(id(cls) + tuple.__basicsize__).value = ctypes.addressof(buf)
    return True


def like_c_type(cls: type, module: str) -> None:
    """Make the pure-Python ``cls`` present itself as the C type ``module.Name``: its
    ``__module__``, the name CPython's messages use, and no pickling or copying ("cannot
    pickle 'module.Name' object", as for a C type with no __reduce__)."""
    cls.__module__ = module
    full = f"{module}.{cls.__name__}"
    _set_tp_name(cls, full)

    def __reduce_ex__(self: object, protocol: int) -> NoReturn:
        t = type(self)
        if protocol < 2:                        # copyreg._reduce_ex
            raise TypeError(f"cannot pickle {t.__name__!r} object")
        raise TypeError(f"cannot pickle '{full if t is cls else t.__name__}' object")

    setattr(cls, "__reduce_ex__", __reduce_ex__)


# --- the buffer protocol -------------------------------------------------------------------
_getbuffer_callbacks: list[Any] = []


def install_buffer_protocol(cls: type) -> bool:
    """Give ``cls`` the buffer protocol through its ``__buffer__(flags)`` method, which
    returns a memoryview to export. Python 3.12 does that by itself (PEP 688); on CPython
    3.11 the class's ``bf_getbuffer`` slot is set with ctypes to a function that exports that
    memoryview. Returns False where neither is possible (then memoryview(obj) fails)."""
    if sys.version_info >= (3, 12):
        return True
    if platform.python_implementation() != "CPython" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    # PyTypeObject: tp_as_buffer is its 21st pointer-sized field in every CPython 3 build
    # without Py_TRACE_REFS; a heap type's points at its own PyBufferProcs.
    offset = 20 * ctypes.sizeof(ctypes.c_void_p)

    def procs_of(t: type) -> int:
        return ctypes.c_void_p.from_address(id(t) + offset).value or 0

    if not procs_of(bytearray) or procs_of(int) or not procs_of(cls):
        return False
    get_buffer = ctypes.pythonapi.PyObject_GetBuffer
    get_buffer.argtypes = (ctypes.py_object, ctypes.c_void_p, ctypes.c_int)
    get_buffer.restype = ctypes.c_int

    def getbuffer(obj: Any, view: int, flags: int) -> int:
        # A ctypes callback cannot raise: where the export fails, export an empty buffer.
        result: int
        try:
            result = get_buffer(obj.__buffer__(flags), view, flags)
        except Exception:
            result = get_buffer(memoryview(bytearray()), view, flags)
        return result

    proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_void_p, ctypes.c_int)
    callback = proto(getbuffer)
    _getbuffer_callbacks.append(callback)            # lives as long as the class
    slot = ctypes.c_void_p.from_address(procs_of(cls))
    slot.value = ctypes.cast(callback, ctypes.c_void_p).value
    return True
