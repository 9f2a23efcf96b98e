"""Containers: isolation, handles, and the last member leaving.

Two "containers" are two processes, each cloned into a new IPC namespace. They use the
same System V key and get different queues: namespaces isolate. A handle (an open
/proc/PID/ns/ipc) keeps a namespace alive after its last process exits, and lets another
process join it with setns(). When the handle closes too, the namespace is destroyed with
everything in it: the queue and its message are gone.

    python3 examples/containers.py
"""
import ipcsim
from ipcsim import CLONE_NEWIPC, IPC_CREAT, IPC_STAT

KEY = 0x1234


def main(seed: int = 0) -> ipcsim.Kernel:
    k = ipcsim.Kernel(seed=seed)
    init = k.init
    red = init.clone(CLONE_NEWIPC)                  # container "red"
    blue = init.clone(CLONE_NEWIPC)                 # container "blue"
    red.comm, blue.comm = "red", "blue"             # their names in the tree (a clone
                                                    # without a program keeps "init")

    # Isolation: one key, two queues, one message.
    red_q = red.msgget(KEY, IPC_CREAT | 0o600)
    blue_q = blue.msgget(KEY, IPC_CREAT | 0o600)
    red.msgsnd(red_q, 1, b"only red can read this")
    print(f"key {KEY:#x}: queue {red_q} in red holds "
          f"{red.msgctl(red_q, IPC_STAT).msg_qnum} message, queue {blue_q} in blue "
          f"{blue.msgctl(blue_q, IPC_STAT).msg_qnum}")
    print(k)                                        # the tree of namespaces

    # A handle keeps red's namespace alive after red exits ...
    red_ns = red.ipc_ns
    fd = init.open(f"/proc/{red.pid}/ns/ipc")
    red.exit(0)
    init.wait(red.pid)
    print(f"\nred exited; its namespace alive? {red_ns.alive} (init holds a handle)")

    # ... and lets a newcomer join it and find the message still there.
    visitor = init.fork()
    visitor.setns(fd, CLONE_NEWIPC)
    mtype, data = visitor.msgrcv(visitor.msgget(KEY, 0), 100)
    print(f"a visitor joined with setns() and read: {data.decode()!r}")
    visitor.exit(0)
    init.wait(visitor.pid)

    # The last reference goes: the namespace dies, and everything in it.
    init.close(fd)
    print(f"handle closed; red's namespace alive? {red_ns.alive}")
    blue.exit(0)
    init.wait(blue.pid)
    print(f"blue exited too: {len(k.ipc_namespaces)} namespace left, the initial one")
    return k


if __name__ == "__main__":
    main()
