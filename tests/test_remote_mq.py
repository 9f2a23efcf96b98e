"""POSIX message queues of a kernel server across OS processes: descriptors that a select
loop in one process watches while others send and receive, signal and thread notifications
that reach the process that asked, and what a killed process leaves (ipcsim.remote)."""
from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from ipcsim.compat import _context
from ipcsim.compat import posix_ipc
from ipcsim.remote import launch, mqops, notify, ops

pytestmark = [
    pytest.mark.skipif(not hasattr(socket, "AF_UNIX") or not hasattr(os, "fork"),
                       reason="the kernel server needs Unix sockets and fork"),
    pytest.mark.skipif(mqops._SUPPORT is None, reason="real queue descriptors need Linux "
                       "pipes (/proc, F_SETPIPE_SZ, packet mode)"),
]

TIMEOUT = 30.0


from remote_helpers import fork_child as _fork, wait_child as _wait  # noqa: E402
from remote_helpers import server, served  # noqa: E402,F401  (fixtures)


def _until(predicate, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.005)


def _waiters(name: str) -> tuple[int, int]:
    return _context.call(mqops.queue_waiters, name)


def _server_pipes(server) -> int:
    """How many pipes the server process has open (queues' readiness pipes among them)."""
    count = 0
    for fd in os.listdir(f"/proc/{server.pid}/fd"):
        try:
            count += os.readlink(f"/proc/{server.pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return count


def _gone(server, pid: int) -> None:
    """Wait until the server has let the dead process ``pid`` go."""
    _until(lambda: pid not in [p for p, _, _ in server.call(ops.processes)])


# --- descriptors ---------------------------------------------------------------------------
def test_a_select_loop_is_woken_by_a_forked_child(served):
    q = posix_ipc.MessageQueue("/loop", posix_ipc.O_CREX, max_messages=2)
    q.block = False
    go_r, go_w = os.pipe()

    def child():
        os.read(go_r, 1)
        q.send(b"from the child")
        os.read(go_r, 1)
        q.receive()                         # room again: the parent may send
    pid = _fork(child)
    sel = selectors.DefaultSelector()
    sel.register(q, selectors.EVENT_READ)
    assert sel.select(0) == []
    os.write(go_w, b"1")
    assert [mask for _, mask in sel.select(TIMEOUT)] == [selectors.EVENT_READ]
    q.send(b"second")                        # full now
    sel.modify(q, selectors.EVENT_WRITE)
    assert sel.select(0) == []
    os.write(go_w, b"1")
    assert [mask for _, mask in sel.select(TIMEOUT)] == [selectors.EVENT_WRITE]
    assert _wait(pid) == 0
    assert q.receive() == (b"second", 0)
    sel.close()
    q.close()
    q.unlink()
    os.close(go_r)
    os.close(go_w)


def test_a_subprocess_that_imports_the_fake_wakes_and_watches(served):
    """A new program with IPCSIM_SERVER in its environment: its send wakes this process's
    select loop, and its own select loop is woken by this process's send."""
    q = posix_ipc.MessageQueue("/prog", posix_ipc.O_CREX)
    replies = posix_ipc.MessageQueue("/prog-replies", posix_ipc.O_CREX)
    code = (
        "import selectors\n"
        "from ipcsim.compat import posix_ipc\n"
        "q = posix_ipc.MessageQueue('/prog')\n"
        "replies = posix_ipc.MessageQueue('/prog-replies')\n"
        "sel = selectors.DefaultSelector()\n"
        "sel.register(replies, selectors.EVENT_READ)\n"
        "q.send(b'ping')\n"
        "for key, mask in sel.select(60):\n"
        "    print(key.fileobj.receive()[0].decode(), mask, flush=True)\n")
    env = dict(os.environ, IPCSIM_SERVER=served.address)
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        sel = selectors.DefaultSelector()
        sel.register(q, selectors.EVENT_READ)
        assert [mask for _, mask in sel.select(TIMEOUT)] == [selectors.EVENT_READ]
        assert q.receive() == (b"ping", 0)
        replies.send(b"pong")
        out, err = child.communicate(timeout=TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert (child.returncode, out, err) == (0, "pong 1\n", "")
    sel.close()
    for mq in (q, replies):
        mq.close()
        mq.unlink()


def test_a_forked_child_shares_the_descriptor_and_closes_its_own(served):
    q = posix_ipc.MessageQueue("/shared", posix_ipc.O_CREX)
    q.send(b"waiting")
    mqd = q.mqd

    def child():
        sel = selectors.DefaultSelector()
        sel.register(q, selectors.EVENT_READ | selectors.EVENT_WRITE)
        assert [mask for _, mask in sel.select(0)] == [3]
        assert q.mqd == mqd
        q.close()
        assert q.mqd == -1
    assert _wait(_fork(child)) == 0
    sel = selectors.DefaultSelector()
    sel.register(q, selectors.EVENT_READ)
    assert [mask for _, mask in sel.select(0)] == [selectors.EVENT_READ]
    assert q.receive() == (b"waiting", 0)
    assert sel.select(0) == []
    sel.close()
    q.close()
    q.unlink()


def test_the_server_keeps_no_pipe_of_a_queue_nobody_has_open():
    """The readiness pipe goes with the last open description: closes, a killed holder,
    a namespace that dies with the queues still linked in it. (The server closes its copy
    of a descriptor it passes once sent: a count may lag a moment behind.)"""
    from ipcsim import CLONE_NEWIPC
    from ipcsim.compat import current_process
    with launch.served() as server:             # (a server of its own: nothing left over)
        before = _server_pipes(server)
        q = posix_ipc.MessageQueue("/kept", posix_ipc.O_CREX)
        assert _server_pipes(server) == before          # (made when first asked for)
        q.fileno()
        _until(lambda: _server_pipes(server) == before + 1)
        r, w = os.pipe()

        def holder():
            current_process().unshare(CLONE_NEWIPC)
            posix_ipc.MessageQueue("/theirs", posix_ipc.O_CREX).fileno()
            theirs = posix_ipc.MessageQueue("/theirs-too", posix_ipc.O_CREX)
            theirs.send(b"left behind")
            theirs.fileno()
            os.write(w, b"1")
            time.sleep(3600)
        pid = _fork(holder)
        try:
            os.read(r, 1)
            _until(lambda: _server_pipes(server) == before + 3)
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        _gone(server, pid)
        _until(lambda: _server_pipes(server) == before + 1)
        q.close()
        _until(lambda: _server_pipes(server) == before)   # (linked still: reopened, one again)
        q = posix_ipc.MessageQueue("/kept")
        q.fileno()
        _until(lambda: _server_pipes(server) == before + 1)
        q.unlink()
        q.close()
        _until(lambda: _server_pipes(server) == before)
        os.close(r)
        os.close(w)


# --- a killed process --------------------------------------------------------------------
@pytest.mark.parametrize("blocked_in", ["receive", "send"])
def test_a_child_killed_while_blocked_leaves_no_waiter(served, blocked_in):
    q = posix_ipc.MessageQueue("/killed", posix_ipc.O_CREX, max_messages=1)
    if blocked_in == "send":
        q.send(b"full")
    pid = _fork(lambda: q.receive() if blocked_in == "receive" else q.send(b"never"))
    want = (1, 0) if blocked_in == "receive" else (0, 1)
    _until(lambda: _waiters("/killed") == want)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    _gone(served, pid)
    assert _waiters("/killed") == (0, 0)
    if blocked_in == "receive":
        q.send(b"for whoever is alive")
        assert q.current_messages == 1           # not handed to the dead receiver
        assert q.receive() == (b"for whoever is alive", 0)
    else:
        assert q.receive() == (b"full", 0)
        assert q.current_messages == 0           # the dead sender's message did not come
    q.close()
    q.unlink()


# --- notifications -----------------------------------------------------------------------
def test_a_signal_notification_reaches_the_real_process(served):
    q = posix_ipc.MessageQueue("/signal", posix_ipc.O_CREX)
    got = []

    def handler(signum, frame):
        got.append((signum, q.receive()))
    old = signal.signal(signal.SIGUSR1, handler)
    try:
        q.request_notification(signal.SIGUSR1)
        assert _wait(_fork(lambda: q.send(b"from the child"))) == 0
        _until(lambda: got)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert got == [(signal.SIGUSR1, (b"from the child", 0))]
    q.close()
    q.unlink()


def test_thread_notifications_run_in_a_new_thread_each(served):
    """The callback of a notification another process fires runs in this process, in a
    thread of its own each time; it may ask for the next one (repeating_thread.py)."""
    q = posix_ipc.MessageQueue("/thread", posix_ipc.O_CREX)
    acks = posix_ipc.MessageQueue("/thread-acks", posix_ipc.O_CREX)
    seen = []

    def notified(param):
        message = q.receive()
        seen.append((param, message, threading.current_thread()))
        q.request_notification((notified, param + 1))
        acks.send(b"ok")

    q.request_notification((notified, 1))
    code = (
        "from ipcsim.compat import posix_ipc\n"
        "q = posix_ipc.MessageQueue('/thread')\n"
        "acks = posix_ipc.MessageQueue('/thread-acks')\n"
        "for text in (b'one', b'two', b'three'):\n"
        "    q.send(text)\n"
        "    acks.receive(60)\n")
    env = dict(os.environ, IPCSIM_SERVER=served.address)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=TIMEOUT * 2)
    assert [(p, m) for p, m, _ in seen] == [(1, (b"one", 0)), (2, (b"two", 0)),
                                           (3, (b"three", 0))]
    threads = [t for _, _, t in seen]
    assert len(set(map(id, threads))) == 3
    assert threading.main_thread() not in threads
    assert all(t.name == "ipcsim-notify" for t in threads)
    q.close()                                   # (the fourth request goes with the close)
    assert not notify._listener or not notify._listener.callbacks
    acks.close()
    for name in ("/thread", "/thread-acks"):
        posix_ipc.unlink_message_queue(name)


def test_a_cancelled_thread_notification_frees_the_queue_for_others(served):
    q = posix_ipc.MessageQueue("/cancel", posix_ipc.O_CREX)
    q.request_notification((lambda param: None, None))

    def other():
        try:
            q.request_notification(signal.SIGUSR2)
        except posix_ipc.BusyError:
            return
        raise AssertionError("another process registered while this one was")
    assert _wait(_fork(other)) == 0
    q.request_notification(None)
    assert not notify._listener or not notify._listener.callbacks

    def now_free():
        q.request_notification(signal.SIGUSR2)
        q.request_notification(None)
    assert _wait(_fork(now_free)) == 0
    q.close()
    q.unlink()


def test_a_forked_child_asks_for_its_own_thread_notification(served):
    """The child's callback runs in the child (its own listener), not in the parent."""
    q = posix_ipc.MessageQueue("/child-note", posix_ipc.O_CREX)
    r, w = os.pipe()

    def child():
        done = threading.Event()

        def notified(param):
            os.write(w, b"%d %s" % (os.getpid(), q.receive()[0]))
            done.set()
        q.request_notification((notified, None))
        os.write(w, b"ready")
        assert done.wait(TIMEOUT)
    pid = _fork(child)
    assert os.read(r, 100) == b"ready"
    q.send(b"to the child")
    assert os.read(r, 100) == b"%d to the child" % pid
    assert _wait(pid) == 0
    q.close()
    q.unlink()
    os.close(r)
    os.close(w)


def _notified_once(q, param):
    """Ask for a thread notification, send, and wait for the callback's report."""
    got = []
    done = threading.Event()

    def notified(param):
        got.append((param, q.receive()))
        done.set()
    q.request_notification((notified, param))
    q.send(b"ding")
    assert done.wait(TIMEOUT)
    return got


def test_thread_notifications_after_a_reset_of_the_server(served):
    """A reset closes this process's listening connection with the others; the next
    request makes a new one."""
    q = posix_ipc.MessageQueue("/reset", posix_ipc.O_CREX)
    assert _notified_once(q, 1) == [(1, (b"ding", 0))]
    served.reset()
    q = posix_ipc.MessageQueue("/reset", posix_ipc.O_CREX)      # (a fresh kernel)
    assert _notified_once(q, 2) == [(2, (b"ding", 0))]
    q.close()
    q.unlink()


def test_the_listener_ends_with_the_served_block():
    def listeners():
        return [t for t in threading.enumerate()
                if t.name == "ipcsim-mq-listener" and t.is_alive()]
    _until(lambda: not listeners())            # (those of earlier tests)
    with launch.served():
        q = posix_ipc.MessageQueue("/block", posix_ipc.O_CREX)
        assert _notified_once(q, "x") == [("x", (b"ding", 0))]
        assert len(listeners()) == 1
        q.close()
        q.unlink()
    _until(lambda: not listeners())
