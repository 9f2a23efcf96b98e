"""Drop-in fakes of the ``sysv_ipc`` and ``posix_ipc`` packages over the ipcsim model.

``ipcsim.compat.sysv_ipc`` and ``ipcsim.compat.posix_ipc`` have the public API of sysv_ipc
1.2.0 and posix_ipc 1.3.2. Which process their calls act as:

* inside a program that a :class:`~ipcsim.Kernel` runs, that program's process, in its IPC
  namespace (so code written for the real packages runs unchanged in a simulation);
* in other threads while :func:`bind` is in effect (the pytest fixture ``ipc_kernel``), the
  bound process;
* otherwise the host process of :func:`host_kernel`, a kernel that mirrors the real process
  (pid, uids, gids), follows the real clock, and lets any number of threads call at once.

POSIX named semaphores and shared memory live in ``/dev/shm`` on Linux, outside the IPC
namespace: the fakes keep them per Kernel, shared by every IPC namespace of that kernel
(``devshm(kernel).names()`` lists them as ``ls /dev/shm`` would).
"""
from ._context import bind, current_kernel, current_process, host_kernel
from ._devshm import devshm
from ._modules import RealPackageInUse, fake_modules, install_fake_modules

__all__ = ["bind", "current_kernel", "current_process", "host_kernel", "devshm",
           "fake_modules", "install_fake_modules", "RealPackageInUse"]
