"""POSIX queue descriptors that select, poll and selectors watch, as on Linux: the fake on
the host kernel (no server) next to the real posix_ipc on the real kernel, which runs the
same steps in a fresh IPC namespace (``unshare --ipc``)."""
import importlib.util
import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import ipcsim
from ipcsim.compat import bind, fake_modules
from ipcsim.compat import posix_ipc as fake
from ipcsim.remote import mqops

import realkernel

ROOT = Path(__file__).resolve().parent.parent
HAVE_REAL = importlib.util.find_spec("posix_ipc") is not None
LINUX_PIPES = mqops._SUPPORT is not None

pytestmark = pytest.mark.skipif(not LINUX_PIPES, reason="real queue descriptors need Linux "
                                "pipes (/proc, F_SETPIPE_SZ, packet mode)")

# What both sides run: ``steps(posix_ipc, prefix)`` gives, for each state of a queue, what
# poll, select and each selector report for its descriptors (by name, not number).
STEPS = r'''
import errno, fcntl, os, select, selectors, threading

ALL = (select.POLLIN | select.POLLOUT | select.POLLRDNORM | select.POLLWRNORM
       | select.POLLRDBAND | select.POLLWRBAND | select.POLLPRI)
SELECTORS = {name: getattr(selectors, name) for name in
             ("SelectSelector", "PollSelector", "EpollSelector", "DefaultSelector")}


def poll_bits(fd):
    p = select.poll()
    p.register(fd, ALL)
    return [mask for _, mask in p.poll(0)]


def look(queues):
    objs = list(queues.values())
    r, w, x = select.select(objs, objs, objs, 0)
    seen = {"poll": {k: poll_bits(q.fileno()) for k, q in queues.items()},
            "select": [[k for k, q in queues.items() if q in got] for got in (r, w, x)]}
    for name, cls in SELECTORS.items():
        sel = cls()
        for k, q in queues.items():
            sel.register(q, selectors.EVENT_READ | selectors.EVENT_WRITE, k)
        seen[name] = sorted((key.data, mask) for key, mask in sel.select(0))
        sel.close()
    return seen


def outcome(fn):
    try:
        return ["ok", repr(fn())]
    except Exception as e:
        return [type(e).__name__, str(e)]


def steps(posix_ipc, prefix):
    out = {}
    name, lone = prefix + "q", prefix + "lone"
    q = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, max_messages=2, max_message_size=16)
    w = posix_ipc.MessageQueue(name, read=False)
    r = posix_ipc.MessageQueue(name, write=False)
    one = posix_ipc.MessageQueue(lone, posix_ipc.O_CREX, max_messages=1, max_message_size=16)
    both = {"rdwr": q, "wronly": w, "rdonly": r, "one slot": one}
    out["descriptors"] = {k: [o.mqd == o.fileno() >= 0,
                              fcntl.fcntl(o.mqd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC]
                          for k, o in both.items()}
    out["distinct"] = len({o.mqd for o in both.values()})
    out["empty"] = look(both)
    q.send(b"a")
    one.send(b"x")
    out["one message"] = look(both)
    w.send(b"b", priority=3)
    out["full"] = look(both)
    w.block = False
    out["send to a full queue"] = outcome(lambda: w.send(b"c"))
    out["still full"] = look(both)
    out["receive"] = outcome(r.receive)
    one.receive()
    out["after a receive"] = look(both)
    q.unlink()
    out["unlinked"] = look(both)
    out["receive again"] = outcome(r.receive)
    out["drained"] = look(both)
    # a send that a waiting receiver takes (or that it takes at once) leaves the queue
    # empty: nothing to read
    got = []
    t = threading.Thread(target=lambda: got.append(r.receive()))
    t.start()
    w.block = True
    w.send(b"handed over")
    t.join(10)
    out["handed over"] = [repr(got), look(both)]
    # a closed queue: no descriptor
    w.close()
    out["closed"] = [w.mqd, w.fileno(), outcome(lambda: select.select([w], [], [], 0)),
                     outcome(lambda: selectors.DefaultSelector().register(w,
                                                                           selectors.EVENT_READ))]
    del both["wronly"]
    out["after a close"] = look(both)
    for o in (q, r, one):
        o.close()
    posix_ipc.unlink_message_queue(lone)
    return out


def wakeups(posix_ipc, prefix):
    """A selector that waits is woken by another thread's send (readable) and receive
    (writable)."""
    name = prefix + "wake"
    q = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, max_messages=1, max_message_size=16)
    out = []
    sel = selectors.DefaultSelector()
    sel.register(q, selectors.EVENT_READ)
    t = threading.Timer(0.1, lambda: q.send(b"wake up"))
    t.start()
    out.append([mask for _, mask in sel.select(30)])
    t.join()
    sel.modify(q, selectors.EVENT_WRITE)
    out.append([mask for _, mask in sel.select(0)])        # full: not writable
    t = threading.Timer(0.1, q.receive)
    t.start()
    out.append([mask for _, mask in sel.select(30)])
    t.join()
    sel.close()
    q.close()
    q.unlink()
    return out
'''

# demo5 of posix_ipc 1.3.2 (demos/demo5), verbatim
LISTENER = '''import posix_ipc
import selectors

# This program uses `posix_ipc` together with the `selectors`library from the
# Python standard library. `selectors` provides "high-level I/O multiplexing" akin to having an
# event library.

# The message queue is created as usual
mq = posix_ipc.MessageQueue("/python_ipc_test", flags=posix_ipc.O_CREAT)
mq.block = False

# Function is defined to handle events on the queue

def accept(message_queue, mask):
    (msg, prio) = message_queue.receive()
    print("Message: ", msg)
    print("Priority: ", prio)

# The selector can now be created...

sel = selectors.DefaultSelector()

# ... and the message queue is registered. Other event sources could also be
# registered simultaneously, but for now we stick to the queue

sel.register(mq, selectors.EVENT_READ, accept)

# `.select()` will block until an event is triggered

print("Listening...")

events = sel.select()
for key, mask in events:
    # `.data` contains the third argument from `.register` above -- we use it for the callback.
    callback = key.data
    callback(key.fileobj, mask)

# With the message successfully received, we can unlink and close.

mq.unlink()
mq.close()
'''
TRANSMITTER = '''import posix_ipc

# This program opens the message queue and sends a message

mq = posix_ipc.MessageQueue("/python_ipc_test")
mq.block = False

mq.send("From transmitter")
'''

# The two programs of demo5 in one process: the listener in a thread, the transmitter in
# the caller's once the listener says it listens. Their prints are collected.
DEMO5 = r'''
import threading


def demo5(listener, transmitter):
    lines, errors = [], []
    listening = threading.Event()

    def out(*args):
        lines.append(" ".join(str(a) for a in args))
        if lines[-1] == "Listening...":
            listening.set()

    def listen():
        try:
            exec(compile(listener, "listener.py", "exec"), {"__name__": "__main__", "print": out})
        except BaseException as e:
            errors.append(f"{type(e).__name__}: {e}")
            listening.set()

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    listening.wait(30)
    if not errors:
        exec(compile(transmitter, "transmitter.py", "exec"), {"__name__": "__main__", "print": out})
    t.join(30)
    return {"lines": lines, "errors": errors, "listener still waits": t.is_alive()}
'''

REAL_RUN = STEPS + DEMO5 + r'''
import json, sys
import posix_ipc
what = sys.argv[1]
if what == "demo5":
    print(json.dumps(demo5(sys.argv[2], sys.argv[3])))
else:
    print(json.dumps(globals()[what](posix_ipc, "/")))
'''


def real(what: str, *args: str) -> object:
    if not HAVE_REAL:
        pytest.skip("the real posix_ipc package is not installed")
    ok, why = realkernel.available()
    if not ok:
        pytest.skip(why)
    proc = subprocess.run(["unshare", "--ipc", sys.executable, "-c", REAL_RUN, what, *args],
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def here(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<steps>", "exec"), namespace)
    return namespace


def json_round(value: object) -> object:
    return json.loads(json.dumps(value))


def test_descriptors_report_what_mq_receive_and_mq_send_would_do():
    """Readable while a message waits, writable while there is room, whatever the access
    mode: POLLIN|POLLRDNORM and POLLOUT|POLLWRNORM, as select, poll and every selector see
    them; -1 and ValueError once closed."""
    prefix = f"/sel{os.getpid()}-"
    fake_out = json_round(here(STEPS)["steps"](fake, prefix))
    empty = fake_out["empty"]["poll"]
    assert empty["rdwr"] == [select.POLLOUT | select.POLLWRNORM]
    assert fake_out["full"]["poll"]["wronly"] == [select.POLLIN | select.POLLRDNORM]
    assert fake_out["one message"]["poll"]["rdonly"] == [
        select.POLLIN | select.POLLRDNORM | select.POLLOUT | select.POLLWRNORM]
    assert fake_out == real("steps")
    # (what differs: Linux's descriptor has the queue's access mode, O_WRONLY say, yet
    # reports POLLIN; a pipe reports both ways only when open for both)


def test_a_waiting_selector_wakes_when_the_queue_changes():
    prefix = f"/sel{os.getpid()}-"
    got = here(STEPS)["wakeups"](fake, prefix)
    assert got == [[1], [], [2]]
    assert got == real("wakeups")


def test_demo5_runs_in_process_with_the_fake():
    """posix_ipc's demo5, a selectors loop on the queue, with the fake as ``posix_ipc``."""
    run = here(DEMO5)["demo5"]
    with fake_modules():
        got = run(LISTENER, TRANSMITTER)
    assert got == {"lines": ["Listening...", "Message:  b'From transmitter'", "Priority:  0"],
                   "errors": [], "listener still waits": False}
    assert got == real("demo5", LISTENER, TRANSMITTER)


def open_fds() -> set[tuple[str, str]]:
    """This process's descriptors and what they are (not the one that lists them)."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:
            pass
    return out


def test_no_descriptor_outlives_its_queue():
    """A queue object gets its descriptor when first asked for it; the host kernel's pipe
    for a queue goes with the last open description of it (linked or not)."""
    name = f"/sel{os.getpid()}-leak"
    before = open_fds()
    a = fake.MessageQueue(name, fake.O_CREX)
    b = fake.MessageQueue(name)
    a.send(b"x")
    assert open_fds() == before                 # nobody has looked: no pipe
    assert a.mqd != b.fileno()
    assert len(open_fds() - before) == 3        # a's, b's and the kernel side's
    a.close()
    b.close()
    assert open_fds() == before                 # (still linked, and nobody has it open)
    c = fake.MessageQueue(name)
    assert select.select([c], [], [], 0)[0] == [c]     # a new pipe, in the queue's state
    c.unlink()
    c.close()
    assert open_fds() == before


def test_the_hook_follows_a_one_slot_queue():
    """maxmsg 1: empty and full are the only states (no packet, then two)."""
    k = ipcsim.Kernel(seed=0)
    p = k.init.fork()
    mqd = p.mq_open("/one", ipcsim.O_CREAT | ipcsim.O_RDWR, 0o600,
                    ipcsim.MqAttr(mq_maxmsg=1, mq_msgsize=8))
    inode = p.fds[mqd].inode
    ready = mqops.QueueReady(inode)
    inode.ready = ready
    fd = ready.open_descriptor()
    try:
        assert select.select([fd], [fd], [], 0)[:2] == ([], [fd])
        p.mq_send(mqd, b"x", 0)
        assert ready.tokens == 2
        assert select.select([fd], [fd], [], 0)[:2] == ([fd], [])
        p.mq_receive(mqd, 8)
        assert select.select([fd], [fd], [], 0)[:2] == ([], [fd])
        p.mq_close(mqd)
        assert ready.fd == -1 and inode.ready is None     # the last description went
    finally:
        os.close(fd)
        k.close()


def test_a_simulation_keeps_the_model_s_descriptor_numbers():
    """Programs of a Kernel (virtual time) and processes bound with ``bind`` get the
    simulated process's descriptors, not real ones."""
    k = ipcsim.Kernel(seed=0)
    seen = []

    def program(p):
        q = fake.MessageQueue("/sim", fake.O_CREX)
        seen.append((q.mqd, type(p.fds[q.mqd]).__name__))
        q.close()

    before = open_fds()
    k.init.fork(target=program)
    k.run()
    with bind(k.init.fork()) as p:
        q = fake.MessageQueue("/sim")
        seen.append((q.mqd, type(p.fds[q.mqd]).__name__))
        q.close()
    assert seen == [(3, "MqFile"), (3, "MqFile")]
    assert open_fds() == before
    k.close()


def test_thread_notification_on_the_host_kernel_runs_in_a_thread_of_its_own():
    name = f"/sel{os.getpid()}-note"
    q = fake.MessageQueue(name, fake.O_CREX)
    got = []
    done = threading.Event()

    def notified(param):
        got.append((param, q.receive(), threading.current_thread() is threading.main_thread()))
        done.set()

    try:
        q.request_notification((notified, "param"))
        q.send(b"hello")
        assert done.wait(10)
        assert got == [("param", (b"hello", 0), False)]
    finally:
        q.close()
        q.unlink()
