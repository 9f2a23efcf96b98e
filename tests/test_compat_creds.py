"""The fakes on the host kernel act with the credentials the process has at each call.

A process that drops its privileges with ``os.seteuid``/``os.setegid``/``os.setgroups``, or
its capabilities with capset(2), is refused what the real packages refuse it, and allowed
again once it takes them back. Each sequence runs in a child process of its own (the test
runner keeps root): the fakes on the host kernel, and, where root, ``unshare --ipc`` and the
real packages are at hand, the same sequence with the real packages in a fresh real IPC
namespace, step for step.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINUX_ROOT = sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0
HAVE_REAL = all(importlib.util.find_spec(m) is not None for m in ("sysv_ipc", "posix_ipc"))
CAN_UNSHARE = LINUX_ROOT and shutil.which("unshare") is not None

needs_root = pytest.mark.skipif(not LINUX_ROOT, reason="dropping and taking back privileges "
                                "with os.seteuid needs root on Linux")

# The steps, the same text for the fakes and for the real packages: argv[1] says which,
# argv[2] is a token that makes the /dev/shm names (the machine's own, for the real
# packages) this run's.
SEQUENCE = r'''
import ctypes, json, os, sys
if sys.argv[1] == "fake":
    sys.path.insert(0, sys.argv[3])
    from ipcsim.compat import posix_ipc, sysv_ipc
else:
    import posix_ipc, sysv_ipc
s, p = sysv_ipc, posix_ipc
TOKEN = sys.argv[2]
CAP_IPC_OWNER, CAP_SYS_ADMIN = 15, 21

libc = ctypes.CDLL(None, use_errno=True)


class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def capget():
    data = (Data * 2)()
    if libc.capget(ctypes.byref(Header(0x20080522, 0)), data):
        raise OSError(ctypes.get_errno(), "capget")
    return [(getattr(data[0], f) | getattr(data[1], f) << 32)
            for f in ("effective", "permitted", "inheritable")]


def capset(effective, permitted, inheritable):
    data = (Data * 2)()
    for i in range(2):
        data[i].effective = (effective >> 32 * i) & 0xFFFFFFFF
        data[i].permitted = (permitted >> 32 * i) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> 32 * i) & 0xFFFFFFFF
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), data):
        raise OSError(ctypes.get_errno(), "capset")


def drop_effective(cap):
    eff, perm, inh = capget()
    capset(eff & ~(1 << cap), perm, inh)


def raise_effective(cap):
    eff, perm, inh = capget()
    capset(eff | 1 << cap, perm, inh)


out = {}


def step(label, fn):
    try:
        result = fn()
    except BaseException as e:  # noqa: BLE001 - the exception is the outcome
        detail = e.errno if isinstance(e, OSError) and e.errno is not None else str(e)
        out[label] = [type(e).__name__, detail]
    else:
        out[label] = ["ok", repr(result)]


def user(groups=()):
    os.setgroups(list(groups))
    os.setegid(1000)
    os.seteuid(1000)


def root():
    os.seteuid(0)
    os.setegid(0)
    os.setgroups([])


names = {kind: f"/ipcsim-creds-{TOKEN}-{kind}" for kind in ("sem", "shm", "mq", "sem2")}
q = s.MessageQueue(None, s.IPC_CREX, mode=0o600)
qg = s.MessageQueue(None, s.IPC_CREX, mode=0o660)
qg.gid = 2000
sem = s.Semaphore(None, s.IPC_CREX, mode=0o600, initial_value=1)
sem.block = False
m = s.SharedMemory(None, s.IPC_CREX, mode=0o600, size=4096)
psem = p.Semaphore(names["sem"], p.O_CREX, mode=0o600, initial_value=1)
pshm = p.SharedMemory(names["shm"], p.O_CREX, mode=0o600, size=4096)
pmq = p.MessageQueue(names["mq"], p.O_CREX, mode=0o600, max_messages=4,
                     max_message_size=64)
try:
    step("root: q send", lambda: q.send(b"a", False))
    step("root: q receive", lambda: q.receive(False))

    user()
    step("user: ids", lambda: (os.getresuid(), os.getresgid(), os.getgroups()))
    step("user: q send", lambda: q.send(b"x", False))
    step("user: q receive", lambda: q.receive(False))
    step("user: q open", lambda: s.MessageQueue(q.key).id == q.id)
    step("user: q open mode 0", lambda: s.MessageQueue(q.key, mode=0).id == q.id)
    step("user: q current_messages", lambda: q.current_messages)
    step("user: q set mode", lambda: setattr(q, "mode", 0o666))
    step("user: q remove", lambda: q.remove())
    step("user: remove_message_queue", lambda: s.remove_message_queue(q.id))
    step("user: qg send (not in group 2000)", lambda: qg.send(b"x", False))
    step("user: sem acquire", lambda: sem.acquire())
    step("user: sem release", lambda: sem.release())
    step("user: sem value", lambda: sem.value)
    step("user: sem set value", lambda: setattr(sem, "value", 3))
    step("user: sem remove", lambda: sem.remove())
    step("user: shm attach", lambda: s.attach(m.id).size)
    step("user: shm size", lambda: m.size)
    step("user: shm set mode", lambda: setattr(m, "mode", 0o666))
    step("user: shm remove", lambda: m.remove())
    step("user: posix sem open", lambda: p.Semaphore(names["sem"]).name)
    step("user: posix sem acquire+release (opened as root)",
         lambda: (psem.acquire(0), psem.release()))
    step("user: posix sem unlink", lambda: p.unlink_semaphore(names["sem"]))
    step("user: posix shm open", lambda: p.SharedMemory(names["shm"]).size)
    step("user: posix shm open read-only", lambda: p.SharedMemory(names["shm"],
                                                                  read_only=True).size)
    step("user: posix shm unlink", lambda: p.unlink_shared_memory(names["shm"]))
    step("user: posix mq open", lambda: p.MessageQueue(names["mq"]).mode)
    step("user: posix mq send+receive (opened as root)",
         lambda: (pmq.send(b"m", 0), pmq.receive(0)))
    step("user: posix mq unlink", lambda: p.unlink_message_queue(names["mq"]))
    mine = s.MessageQueue(None, s.IPC_CREX, mode=0o600)
    step("user: own queue", lambda: (mine.cuid, mine.cgid, mine.uid, mine.gid))
    step("user: own posix sem", lambda: (lambda x: (x.value, x.unlink(), x.close()))(
        p.Semaphore(names["sem2"], p.O_CREX, mode=0o600, initial_value=2)))

    root()
    user(groups=[2000])
    step("member: qg send (group 2000)", lambda: qg.send(b"g", False))
    step("member: qg receive", lambda: qg.receive(False))
    root()
    user(groups=[])
    step("no longer a member: qg send", lambda: qg.send(b"g", False))

    root()
    step("root again: ids", lambda: (os.getresuid(), os.getresgid(), os.getgroups()))
    step("root again: q send", lambda: q.send(b"y", False))
    step("root again: q receive", lambda: q.receive(False))
    step("root again: q set mode", lambda: setattr(q, "mode", 0o640))
    step("root again: sem acquire", lambda: sem.acquire())
    step("root again: sem release", lambda: sem.release())
    step("root again: shm size", lambda: m.size)

    os.setegid(3000)
    step("egid 3000: new queue", lambda: (lambda x: (x.cuid, x.cgid, x.gid, x.remove()))(
        s.MessageQueue(None, s.IPC_CREX)))
    os.setegid(0)
    step("egid 0: new queue", lambda: (lambda x: (x.cuid, x.cgid, x.gid, x.remove()))(
        s.MessageQueue(None, s.IPC_CREX)))

    drop_effective(CAP_IPC_OWNER)
    step("without CAP_IPC_OWNER: another user's queue, send", lambda: mine.send(b"z", False))
    step("without CAP_IPC_OWNER: stat", lambda: mine.current_messages)
    raise_effective(CAP_IPC_OWNER)
    step("with CAP_IPC_OWNER: send", lambda: mine.send(b"z", False))
    step("with CAP_IPC_OWNER: stat", lambda: mine.current_messages)
    drop_effective(CAP_SYS_ADMIN)
    step("without CAP_SYS_ADMIN: remove another user's queue", lambda: mine.remove())
    raise_effective(CAP_SYS_ADMIN)
    step("with CAP_SYS_ADMIN: remove", lambda: mine.remove())

    step("root again: q remove", lambda: q.remove())
    step("root again: qg remove", lambda: qg.remove())
    step("root again: sem remove", lambda: sem.remove())
    step("root again: shm detach and remove", lambda: (m.detach(), m.remove()))
    step("root again: posix sem unlink", lambda: p.unlink_semaphore(names["sem"]))
    step("root again: posix shm unlink", lambda: p.unlink_shared_memory(names["shm"]))
    step("root again: posix mq unlink", lambda: p.unlink_message_queue(names["mq"]))
finally:
    os.seteuid(0)
    os.setegid(0)
    for unlink, name in ((p.unlink_semaphore, names["sem"]), (p.unlink_semaphore, names["sem2"]),
                         (p.unlink_shared_memory, names["shm"])):
        try:
            unlink(name)
        except p.ExistentialError:
            pass
print(json.dumps(out))
'''


def run_sequence(side: str) -> dict:
    cmd = [sys.executable, "-c", SEQUENCE, side, uuid.uuid4().hex[:12], str(ROOT)]
    if side == "real":
        cmd = ["unshare", "--ipc"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


DENIED = ["PermissionsError", "Permission denied"]
OK_NONE = ["ok", "None"]


@needs_root
def test_a_process_that_drops_its_privileges_is_refused_and_allowed_again():
    fake = run_sequence("fake")
    assert fake["user: ids"] == ["ok", "((0, 1000, 0), (0, 1000, 0), [])"]
    for label in ("user: q send", "user: q receive", "user: q open", "user: q remove",
                  "user: qg send (not in group 2000)", "user: sem acquire",
                  "user: posix sem open", "user: posix mq open",
                  "no longer a member: qg send",
                  "without CAP_IPC_OWNER: another user's queue, send"):
        assert fake[label] == DENIED, label
    assert fake["user: sem remove"] == ["PermissionError", 1]         # (EPERM, as there)
    for label in ("user: shm remove", "without CAP_SYS_ADMIN: remove another user's queue"):
        assert fake[label][0] == "PermissionsError", label
    assert fake["user: posix sem unlink"] == ["PermissionsError",
                                              "Denied permission to unlink this semaphore"]
    assert fake["user: own queue"] == ["ok", "(1000, 1000, 1000, 1000)"]
    assert fake["member: qg send (group 2000)"] == OK_NONE
    assert fake["egid 3000: new queue"] == ["ok", "(0, 3000, 3000, None)"]
    assert fake["egid 0: new queue"] == ["ok", "(0, 0, 0, None)"]
    for label in ("root again: q send", "root again: q remove", "root again: sem remove",
                  "root again: posix sem unlink", "with CAP_IPC_OWNER: send",
                  "with CAP_SYS_ADMIN: remove"):
        assert fake[label] == OK_NONE, label


@needs_root
@pytest.mark.skipif(not (HAVE_REAL and CAN_UNSHARE), reason="needs the real sysv_ipc and "
                    "posix_ipc packages and unshare(1) to compare with them")
def test_dropping_and_taking_back_privileges_goes_as_with_the_real_packages():
    real = run_sequence("real")
    fake = run_sequence("fake")
    assert list(fake) == list(real)
    assert {k: (fake[k], real[k]) for k in fake if fake[k] != real[k]} == {}


FOLLOW = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])
from ipcsim import CAP_FULL_SET
from ipcsim.compat import current_process, host_kernel


def status():
    with open("/proc/self/status") as f:
        fields = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    return {"uids": [int(v) for v in fields["Uid"].split()[:3]],
            "gids": [int(v) for v in fields["Gid"].split()[:3]],
            "groups": sorted(int(v) for v in fields["Groups"].split()),
            "caps": [int(fields[k], 16) & CAP_FULL_SET for k in ("CapEff", "CapPrm", "CapInh")]}


def model():
    c = current_process().creds
    return {"uids": [c.uid, c.euid, c.suid], "gids": [c.gid, c.egid, c.sgid],
            "groups": list(c.groups),
            "caps": [c.cap_effective, c.cap_permitted, c.cap_inheritable]}


out = []
out.append([model(), status()])
child = host_kernel().host_process.fork()          # a simulated child keeps its own copy
os.setgroups([5, 7])
os.setegid(2000)
os.seteuid(1000)
out.append([model(), status()])
out.append([child.creds.euid, child.creds.egid, list(child.creds.groups)])
os.seteuid(0)
out.append([model(), status()])
os.setresgid(3000, 3000, 3000)
os.setresuid(1000, 1000, 1000)                      # for good: no capability left
out.append([model(), status()])
print(json.dumps(out))
'''


@needs_root
def test_the_host_process_has_the_ids_groups_and_capabilities_of_the_moment():
    proc = subprocess.run([sys.executable, "-c", FOLLOW, str(ROOT)], capture_output=True,
                          text=True, timeout=60, cwd="/")
    assert proc.returncode == 0, proc.stderr
    first, dropped, child, back, gone = json.loads(proc.stdout)
    for model, status in (first, dropped, back, gone):
        assert model == status
    assert dropped[0]["uids"] == [0, 1000, 0] and dropped[0]["groups"] == [5, 7]
    assert dropped[0]["caps"][0] == 0                 # euid 0 -> 1000 clears the effective set
    assert back[0]["caps"][0] == back[0]["caps"][1] != 0      # and euid 0 restores it
    assert gone[0]["caps"][:2] == [0, 0]
    assert child == [0, first[0]["gids"][1], first[0]["groups"]]
