"""A rootless container gets its own IPC limits.

An unprivileged user (uid 1000, "alice") does what ``unshare -Ur --ipc`` does: one
unshare(2) call makes a new user namespace and a new IPC namespace, then the process maps
uid 0 and gid 0 of the new user namespace to its own 1000 (``/proc/self/uid_map``, "deny"
in ``/proc/self/setgroups``, ``/proc/self/gid_map``). It is root there, with every
capability, but only over what its user namespace owns: its own IPC namespace. There it
sets ``kernel.msgmni`` and raises ``kernel.msgmnb``, and the limits hold inside while the
host's stay as they were.

The same write from a user namespace that kept the host's IPC namespace is refused
(EACCES): the host's sysctls belong to root of the initial user namespace. Ids cross the
boundary mapped: the host sees what the container's root made as uid 1000, and the
container sees what the host's root made as nobody (65534), as ipcs(1) shows from each
side.

    python3 examples/rootless_container.py
"""
import errno
import os
from typing import Any

import ipcsim
from ipcsim import CLONE_NEWIPC, CLONE_NEWUSER, IPC_CREAT, IPC_NOWAIT, IPC_RMID, O_RDONLY

# The simulated machine's /etc/passwd, for the tables (ipcs prints names).
PASSWD = {0: "root", 1000: "alice", 65534: "nobody"}
MSGMNI = "/proc/sys/kernel/msgmni"
MSGMNB = "/proc/sys/kernel/msgmnb"


def login(k: ipcsim.Kernel, uid: int, name: str) -> ipcsim.Process:
    """A process of user ``uid``, as a login makes one: a child of init that drops to the
    user's ids (and is dumpable again, as after its execve)."""
    p = k.init.fork()
    p.setgroups([])
    p.setresgid(uid, uid, uid)
    p.setresuid(uid, uid, uid)
    p.set_dumpable(True)
    p.comm = name
    return p


def unshare_map_root(p: ipcsim.Process, flags: int = CLONE_NEWIPC) -> None:
    """``unshare -Ur``: a new user namespace (and whatever ``flags`` add), with root there
    mapped to the caller's own uid and gid; setgroups is denied first, as an unprivileged
    gid_map needs."""
    uid, gid = p.getresuid()[1], p.getresgid()[1]
    p.unshare(CLONE_NEWUSER | flags)
    p.write_file("/proc/self/uid_map", f"0 {uid} 1")
    p.write_file("/proc/self/setgroups", "deny")
    p.write_file("/proc/self/gid_map", f"0 {gid} 1")


def write_sysctl(p: ipcsim.Process, path: str, value: str) -> str:
    """``sysctl -w``: "ok", or the errno's name (open or write refused)."""
    try:
        p.write_file(path, value)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno or 0, str(e))


def msg_owners(p: ipcsim.Process) -> dict[int, int]:
    """msqid -> owner uid, as /proc/sysvipc/msg shows them to ``p`` (mapped into its user
    namespace; 65534 for a uid it does not map)."""
    rows = p.read_file("/proc/sysvipc/msg").splitlines()[1:]
    return {int(f[1]): int(f[7]) for f in (row.split() for row in rows)}


def ipcs_q(p: ipcsim.Process) -> str:
    """What ``ipcs -q`` prints for ``p``: it reads /proc/sysvipc/msg, which maps the ids
    into the reader's user namespace, and names each uid from /etc/passwd."""
    lines = ["------ Message Queues --------",
             "key        msqid      owner      perms      used-bytes   messages"]
    for row in p.read_file("/proc/sysvipc/msg").splitlines()[1:]:
        key, msqid, perms, cbytes, qnum, _lspid, _lrpid, uid = row.split()[:8]
        owner = PASSWD.get(int(uid), uid)
        lines.append(f"0x{int(key) & 0xFFFFFFFF:08x} {msqid:<10} {owner:<10} {perms:<10} "
                     f"{cbytes:<12} {qnum}")
    return "\n".join(lines)


def main(seed: int = 0) -> dict[str, Any]:
    """Tell the story; return what happened, for a test to check."""
    k = ipcsim.Kernel(seed=seed)
    host = k.init
    facts: dict[str, Any] = {}
    host.msgget(0x1000, IPC_CREAT | 0o644)                     # the host's own queue
    alice = login(k, 1000, "alice")
    print(f"On the host, kernel.msgmni = {host.read_file(MSGMNI).strip()} and kernel.msgmnb "
          f"= {host.read_file(MSGMNB).strip()}; alice (uid 1000) may not change them: "
          f"{write_sysctl(alice, MSGMNI, '64')}")

    # unshare -Ur --ipc, as alice
    box = alice.fork()
    box.comm = "container"
    unshare_map_root(box)
    userns, ipc = box.creds.user_ns, box.ipc_ns
    assert userns is not None                   # (a new one: not the initial)
    st = box.stat(MSGMNI)
    print(f"\nalice runs `unshare -Ur --ipc`: {box.readlink('/proc/self/ns/user')} (level "
          f"{userns.level}, made by uid {userns.owner}) and {box.readlink('/proc/self/ns/ipc')}")
    print(f"  inside, getresuid() = {box.getresuid()}; capabilities {box.capabilities:#x} "
          f"in its own user namespace only")
    print(f"  kernel.msgmni there belongs to {st.st_uid}:{st.st_gid} (root of the container) "
          f"and starts at the default, {box.read_file(MSGMNI).strip()}")

    # the container's own limits
    facts["set msgmni"] = write_sysctl(box, MSGMNI, "64")
    facts["set msgmnb"] = write_sysctl(box, MSGMNB, "65536")
    print(f"  sysctl -w kernel.msgmni=64: {facts['set msgmni']}; "
          f"sysctl -w kernel.msgmnb=65536: {facts['set msgmnb']}")
    made: list[int] = []
    while True:
        try:
            made.append(box.msgget(0x2000 + len(made), IPC_CREAT | 0o644))
        except OSError as e:
            facts["past msgmni"] = errno.errorcode.get(e.errno or 0, str(e))
            break
    facts["queues made"] = len(made)
    print(f"  it makes queues until msgget fails: {len(made)} made, then "
          f"{facts['past msgmni']} ({os.strerror(errno.ENOSPC)})")
    for qid in made[2:]:
        box.msgctl(qid, IPC_RMID)
    facts["bytes queued"] = fill(box, made[0])
    print(f"  one queue now takes {facts['bytes queued']} bytes before a send would block "
          f"(msgmnb 65536)")
    facts["container limits"] = (box.read_file(MSGMNI).strip(), box.read_file(MSGMNB).strip())
    facts["host limits"] = (host.read_file(MSGMNI).strip(), host.read_file(MSGMNB).strip())
    print(f"  limits: {'/'.join(facts['container limits'])} in the container, "
          f"{'/'.join(facts['host limits'])} on the host (msgmni/msgmnb)")
    facts["host queue bytes"] = fill(host, host.msgget(0x1000, 0))
    print(f"  a host queue still takes only {facts['host queue bytes']} bytes")

    # a user namespace that kept the host's IPC namespace owns none of it
    guest = alice.fork()
    guest.comm = "guest"
    unshare_map_root(guest, flags=0)
    st = guest.stat(MSGMNI)
    facts["guest write"] = write_sysctl(guest, MSGMNI, "64")
    facts["guest sees sysctl owner"] = (st.st_uid, st.st_gid)
    print(f"\nalice runs `unshare -Ur` (no --ipc): root in {guest.readlink('/proc/self/ns/user')}"
          f", still in {guest.readlink('/proc/self/ns/ipc')}")
    print(f"  kernel.msgmni there belongs to {st.st_uid}:{st.st_gid} (nobody: the host's root "
          f"has no id in this namespace); sysctl -w kernel.msgmni=64: {facts['guest write']}")

    # ids across the boundary: the host's root puts a queue in the container's namespace
    helper = host.fork()
    helper.comm = "nsenter"
    fd = helper.open(f"/proc/{box.pid}/ns/ipc", O_RDONLY)
    helper.setns(fd, CLONE_NEWIPC)                       # nsenter -t PID --ipc
    helper.close(fd)
    from_host = helper.msgget(0x3000, IPC_CREAT | 0o600)
    facts["host root writes container sysctl"] = write_sysctl(helper, MSGMNI, "100")
    facts["host sees"] = msg_owners(helper)
    facts["container sees"] = msg_owners(box)
    facts["guest sees"] = msg_owners(guest)
    print(f"\nThe host's root joins the container's IPC namespace (nsenter --ipc) and makes "
          f"queue {from_host}.")
    print(f"  Its own sysctl -w kernel.msgmni=100 there: "
          f"{facts['host root writes container sysctl']} (only the container's root may)")
    print("\nipcs -q, the host's root in the container's namespace: the container's root is "
          "uid 1000")
    print(ipcs_q(helper))
    print("\nipcs -q, inside the container: the host's root is nobody")
    print(ipcs_q(box))
    print("\nipcs -q, in the user namespace that kept the host's IPC namespace")
    print(ipcs_q(guest))

    print()
    print(k)
    facts["ipc owner"] = (ipc.user_ns.inum, ipc.user_ns.level, ipc.user_ns.owner)
    for p in (helper, guest, box):
        p.exit(0)
        assert p.parent is not None
        p.parent.wait(p.pid)
    facts["left"] = (len(k.ipc_namespaces), len(k.user_namespaces))
    print(f"\nThe container exits: {facts['left'][0]} IPC namespace and "
          f"{facts['left'][1]} user namespace left, the host's; kernel.msgmni there is "
          f"still {host.read_file(MSGMNI).strip()}")
    k.close()
    return facts


def fill(p: ipcsim.Process, qid: int) -> int:
    """Send 1 KiB messages without waiting until the queue is full: the bytes it took."""
    sent = 0
    while True:
        try:
            p.msgsnd(qid, 1, b"x" * 1024, IPC_NOWAIT)
        except OSError as e:
            assert e.errno == errno.EAGAIN
            return sent
        sent += 1024


if __name__ == "__main__":
    main()
