"""One simulated kernel served to many OS processes: :mod:`ipcsim.remote.server` runs it,
:mod:`ipcsim.remote.client` sends each process's fake calls there."""
from .client import (ENV, RemoteProcess, ServerGone, attach, attach_from_environment,
                     attached, detach, kernel_call)

__all__ = ["ENV", "RemoteProcess", "ServerGone", "attach", "attach_from_environment",
           "attached", "detach", "kernel_call"]
