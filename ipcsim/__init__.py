"""ipcsim: an in-memory model of Linux IPC namespaces.

``Kernel`` holds processes and IPC namespaces; each namespace has its own System V ID tables,
POSIX message queue filesystem and sysctl limits. Flags, commands and capabilities carry the
Linux x86-64 values.
"""
from . import constants
from .constants import *  # noqa: F401,F403  (the Linux names are the public API)
from .errors import (DeadlockError, KernelPanic, ProcessGone, SegmentationFault,
                     SimulationError, UnsupportedError)
from .kernel.kernel import Kernel, TraceEvent
from .kernel.mqueue import MqAttr, SigEvent, SigInfo, Stat
from .kernel.msg import Msginfo, MsqidDs
from .kernel.sem import SemidDs, Seminfo
from .kernel.shm import ShmidDs, ShmInfo, Shminfo
from .kernel.namespace import IpcNamespace
from .kernel.perm import IpcPerm
from .kernel.process import Process
from .kernel.signals import SIG_BLOCK, SIG_DFL, SIG_IGN, SIG_SETMASK, SIG_UNBLOCK, SIGNAMES
from .kernel.signals import _LINUX as _SIGNALS

globals().update(_SIGNALS)   # SIGUSR1 ... with their Linux numbers

__version__ = "0.1.0"

__all__ = ["Kernel", "Process", "IpcNamespace", "IpcPerm", "TraceEvent", "MsqidDs", "Msginfo",
           "MqAttr", "SigEvent", "SigInfo", "Stat",
           "ShmidDs", "Shminfo", "ShmInfo", "SemidDs", "Seminfo", "SimulationError",
           "DeadlockError", "SegmentationFault", "ProcessGone", "UnsupportedError",
           "KernelPanic", "SIG_DFL", "SIG_IGN", "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK",
           "SIGNAMES", "constants"] + [
    n for n in dir(constants) if n.isupper()] + sorted(_SIGNALS)
