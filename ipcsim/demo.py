"""A tour of IPC namespaces, as ipc_namespaces(7) tells it, acted out by ipcsim.

Run it:  ipcsim demo   (add --seed N to change the interleaving; --source prints this file)

The story: a machine boots with one IPC namespace. Two "containers" are started, each in
a new namespace of its own, with its own limits. Processes join and leave; a namespace is
kept alive by a handle after its last process is gone; and a namespace vanishes, with
everything in it, the moment nothing refers to it any more.
"""
import argparse
import signal

import ipcsim
from ipcsim import CLONE_NEWIPC, MS_BIND, O_CREAT, O_WRONLY


def show(k: ipcsim.Kernel, title: str) -> None:
    """Print every live namespace with its member processes."""
    print(f"\n--- {title} (virtual time {k.clock.now():g}s)")
    for ns in k.ipc_namespaces:
        members = ", ".join(str(p.pid) for p in ns.members()) or "no processes"
        tag = "initial" if ns.is_initial else f"{ns.refs} reference(s)"
        print(f"    ipc:[{ns.inum}]  {tag:16}  members: {members}")


def web_server(p: ipcsim.Process) -> str:
    """A program that lives in the 'web' container: it reads its limit and waits for work."""
    limit = p.read_file("/proc/sys/kernel/msgmni").strip()
    p.signal(signal.SIGTERM, lambda sig: None)   # handle SIGTERM so we can shut down cleanly
    try:
        p.pause()                                # block until a signal arrives
    except InterruptedError:
        pass
    return f"web server in {p.readlink('/proc/self/ns/ipc')} saw msgmni={limit}, stopping"


def batch_job(p: ipcsim.Process, seconds: float) -> str:
    """A program in the 'batch' container: it works for a while, then exits."""
    p.sleep(seconds)
    return f"batch job in {p.readlink('/proc/self/ns/ipc')} finished after {seconds}s"


def sender(p: ipcsim.Process, qid: int, name: str) -> None:
    """A program that sends two messages to a queue of its namespace."""
    for n in (1, 2):
        p.msgsnd(qid, 2, f"{name}{n}")


def main(seed: int = 0) -> ipcsim.Kernel:
    k = ipcsim.Kernel(seed=seed)
    init = k.init
    print("A new machine: init is pid 1 in the initial IPC namespace,",
          init.readlink("/proc/self/ns/ipc"))

    # 1. Two containers: clone(CLONE_NEWIPC) gives each child a brand-new namespace.
    web = init.clone(CLONE_NEWIPC)
    batch = init.clone(CLONE_NEWIPC)
    print(f"\nContainer 'web' is pid {web.pid} in {web.readlink('/proc/self/ns/ipc')}")
    print(f"Container 'batch' is pid {batch.pid} in {batch.readlink('/proc/self/ns/ipc')}")

    # 2. Each namespace has its own limits; a new one starts from the defaults.
    web.write_file("/proc/sys/kernel/msgmni", "32768\n")   # raise it to IPCMNI, the ceiling
    for name, proc in (("web", web), ("batch", batch), ("host", init)):
        print(f"    {name:5} sees kernel.msgmni = {proc.read_file('/proc/sys/kernel/msgmni').strip()}")
    print("  'web' raised its limit; 'batch' and the host keep the default of 32000.")

    # 2b. The same System V key names a different queue in each namespace.
    web_q = web.msgget(0x1234, ipcsim.IPC_CREAT | 0o600)
    batch_q = batch.msgget(0x1234, ipcsim.IPC_CREAT | 0o600)
    web.msgsnd(web_q, 1, b"only the web container sees this")
    print(f"\nKey 0x1234 is queue {web_q} in 'web' and queue {batch_q} in 'batch'; "
          f"'web' holds {web.msgctl(web_q, ipcsim.IPC_STAT).msg_qnum} message(s), "
          f"'batch' {batch.msgctl(batch_q, ipcsim.IPC_STAT).msg_qnum}")
    try:
        init.msgget(0x1234, 0)
    except FileNotFoundError:
        print("  and on the host, msgget(0x1234) finds nothing: ENOENT")

    # 3. Processes join: children share their parent's namespace; programs run in them.
    server = web.fork(target=web_server)
    job = batch.fork(target=batch_job, args=(5,))
    show(k, "two containers, each with a program running in it")

    # 4. Let the programs run. The batch job sleeps 5s of virtual time: no real waiting.
    k.run_until_idle()
    k.clock.advance(5)
    print("\n" + job.result)

    # 4b. Programs of one namespace share its objects: two senders in 'web' race to its
    #     queue. The seed decides their interleaving (the only thing it changes here).
    senders = [web.fork(target=sender, args=(web_q, name)) for name in ("a", "b")]
    k.run_until_idle()
    for s in senders:
        web.wait(s.pid)
    order = [web.msgrcv(web_q, 64, 2)[1].decode() for _ in range(4)]
    print(f"\nTwo senders in 'web' raced to queue {web_q}: their messages arrived as "
          f"{' '.join(order)} (seed {seed}: another may interleave them otherwise)")

    # 5. A handle keeps a namespace alive: open /proc/PID/ns/ipc and bind-mount it.
    fd = init.open(f"/proc/{batch.pid}/ns/ipc")
    init.mkdir("/run/netns-like")                  # a bind mount needs a file to cover
    init.close(init.open("/run/netns-like/batch", O_CREAT | O_WRONLY, 0o444))
    init.mount(f"/proc/{batch.pid}/ns/ipc", "/run/netns-like/batch", flags=MS_BIND)
    batch_ns = batch.ipc_ns
    batch.exit(0)
    init.wait(batch.pid)        # (the job, batch's child, was reaped by init as an orphan)
    show(k, "the batch container's processes have exited, but init holds a handle")
    print(f"    batch namespace alive? {batch_ns.alive} (an open fd and a bind mount hold it)")

    # 6. Joining through the handle: setns() moves a process into that namespace.
    visitor = init.fork()
    visitor.setns(fd, CLONE_NEWIPC)
    print(f"\nVisitor pid {visitor.pid} joined {visitor.readlink('/proc/self/ns/ipc')}")
    visitor.exit(0)
    init.close(fd)
    print(f"    after the visitor left and the fd closed: alive? {batch_ns.alive} "
          "(the bind mount still holds it)")
    init.umount("/run/netns-like/batch")
    print(f"    after umount: alive? {batch_ns.alive} -- destroyed with everything in it")

    # 7. The last member leaves: the web namespace vanishes too.
    web_ns = web.ipc_ns
    init.kill(server.pid, signal.SIGTERM)
    k.run()
    print("\n" + server.result)
    web.exit(0)
    print(f"    web namespace alive? {web_ns.alive}")

    # 8. Unprivileged processes cannot make namespaces (EPERM), as on Linux.
    user = init.fork()
    user.setuid(1000)
    try:
        user.unshare(CLONE_NEWIPC)
    except PermissionError as e:
        print(f"\nuid 1000 tried unshare(CLONE_NEWIPC): {e.strerror} (needs CAP_SYS_ADMIN)")
    user.exit(0)
    init.wait(user.pid)
    show(k, "the end: only the initial namespace is left")
    return k


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="scheduler seed")
    main(parser.parse_args().seed)
