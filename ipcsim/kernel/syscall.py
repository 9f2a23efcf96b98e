"""The system call entry, and the argument checks every call shares."""
from __future__ import annotations

import functools
from typing import Callable


def syscall(fn: Callable) -> Callable:
    """Mark a Process method as a system call.

    The fast path (the caller's own thread, no tracing) is a plain call. Otherwise the kernel's
    slow path makes it a switch point, records it in the trace, and runs pending signal
    handlers on return.
    """
    name = fn.__name__

    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        kernel = self.kernel
        if kernel._slow or not self.alive:
            return kernel._syscall(self, fn, name, args, kwargs)
        return fn(self, *args, **kwargs)

    call.is_syscall = True
    return call


def int_arg(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def as_bytes(data: object, what: str = "data") -> bytes:
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be str or bytes-like, not {type(data).__name__}")
