"""``ipcsim shell``: util-linux's IPC tools on a simulated machine.

``Shell`` runs command lines such as ``unshare --ipc``, ``ipcmk -Q`` and ``ipcs -q`` as
simulated processes; their output is what util-linux 2.38.1 prints for the same state.
"""
from .shell import PROGRAMS, Shell, tokenize

__all__ = ["Shell", "PROGRAMS", "tokenize"]
