"""A client of the kernel server that dies mid-call leaves the served kernel as Linux leaves
its own: SEM_UNDO applied, no waiter left behind, attachments gone; other clients blocked
meanwhile go on; the server lives and answers. And a server that dies makes its clients'
next call fail with ServerGone, naming the server, instead of hanging.

Each scenario below is written once, over a pair of modules (``sysv_ipc``, ``posix_ipc``),
and run twice: with the fakes in this process attached to a server (``served()``), and with
the real packages in a fresh real IPC namespace. Its children are forked OS processes that
die by ``os._exit`` (told to over a pipe, or from a signal handler while blocked) or by
SIGKILL from the parent. The scenario checks what Linux guarantees on its own (a live waiter
gets what a dead one waited for) and returns what it saw, which must be the same in both
runs (values, GETNCNT/GETZCNT, nattch, last pids, how each child ended).

A child said to be "blocked" in msgrcv or mq_receive is one that said it was about to call
and had a while (a third of a second) to get there: nothing outside the process shows that
wait. Blocked semop waiters are seen through GETNCNT/GETZCNT, as on Linux.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest

import ipcsim.remote
from ipcsim.errors import SimulationError
from ipcsim.remote import ServerGone, ops
from ipcsim.remote.launch import served
from remote_helpers import Child, real_python, until
from remote_helpers import deadline  # noqa: F401  (the fixture, for pytestmark)

pytestmark = pytest.mark.usefixtures("deadline")    # (a hung test fails after a minute)
SETTLE = 0.3              # seconds a child is given to enter a wait nothing can observe


def end(child: Child, how: str) -> str:
    """End a child the way the scenario asks: ``exit`` (it is told to call os._exit),
    ``sigkill``, ``handler_exit`` (SIGUSR1, whose handler calls os._exit(3) in the middle
    of the child's blocked call)."""
    if how == "exit":
        child.say(b"exit")
    elif how == "sigkill":
        child.kill(signal.SIGKILL)
    elif how == "handler_exit":
        child.kill(signal.SIGUSR1)
    else:
        raise ValueError(how)
    return child.wait()


def dies_as_told(child: Child, how: str) -> None:
    """In the child: get ready to die ``how`` (see :func:`end`)."""
    if how == "handler_exit":
        signal.signal(signal.SIGUSR1, lambda *_: os._exit(3))


def wait_to_exit(child: Child) -> int:
    """In the child: wait for the parent's word, then os._exit."""
    child.hear(3600)
    os._exit(0)


# --- the scenarios -------------------------------------------------------------------------
def sem_undo_on_exit(m: Any, how: str) -> dict[str, object]:
    """A child that holds a semaphore (one decrement with SEM_UNDO, one without) dies: the
    undo is applied, the other decrement stays, and the semaphore's last pid is the child."""
    sysv = m.sysv_ipc
    sem = sysv.Semaphore(None, sysv.IPC_CREX, initial_value=2)
    children: list[Child] = []
    try:
        def holder(me: Child) -> int:
            sem.undo = True
            sem.acquire()
            sem.undo = False
            sem.acquire()
            me.say(b"held")
            return wait_to_exit(me)
        a = Child(holder)
        children.append(a)
        assert a.hear() == b"held"
        seen: dict[str, object] = {"held": sem.value}
        seen["ended"] = end(a, how)
        seen["after"] = sem.value
        seen["last pid is the holder's"] = sem.last_pid == a.pid
        return seen
    finally:
        for c in children:
            c.reap()
        sem.remove()


def sem_waiter_behind_dead_holder(m: Any, how: str) -> dict[str, object]:
    """A holder (SEM_UNDO) dies while another child waits for the semaphore: the undo
    wakes the live waiter, which gets the semaphore."""
    sysv = m.sysv_ipc
    sem = sysv.Semaphore(None, sysv.IPC_CREX, initial_value=1)
    children: list[Child] = []
    try:
        def holder(me: Child) -> int:
            sem.undo = True
            sem.acquire()
            me.say(b"held")
            return wait_to_exit(me)

        def waiter(me: Child) -> int:
            me.say(b"waiting")
            sem.acquire()
            me.say(b"got it")
            return wait_to_exit(me)
        a = Child(holder)
        children.append(a)
        assert a.hear() == b"held"
        b = Child(waiter)
        children.append(b)
        assert b.hear() == b"waiting"
        until(lambda: sem.waiting_for_nonzero == 1, "the waiter's semop")
        seen: dict[str, object] = {"ncnt while held": sem.waiting_for_nonzero}
        seen["holder ended"] = end(a, how)
        seen["waiter"] = b.hear().decode()
        seen["value"] = sem.value
        seen["ncnt"] = sem.waiting_for_nonzero
        seen["waiter ended"] = end(b, "exit")
        seen["value after the waiter"] = sem.value
        return seen
    finally:
        for c in children:
            c.reap()
        sem.remove()


def sem_killed_in_semop(m: Any, how: str) -> dict[str, object]:
    """A child holding one semaphore (SEM_UNDO) is blocked decrementing another when it
    dies: the first is given back, the second forgets the waiter (GETNCNT), and a later
    increment goes to a live waiter, not to the dead one."""
    sysv = m.sysv_ipc
    held = sysv.Semaphore(None, sysv.IPC_CREX, initial_value=1)
    awaited = sysv.Semaphore(None, sysv.IPC_CREX, initial_value=0)
    children: list[Child] = []
    try:
        def doomed(me: Child) -> int:
            dies_as_told(me, how)
            held.undo = True
            held.acquire()
            me.say(b"holding")
            awaited.acquire()
            me.say(b"the dead one got it")
            return 0

        def live(me: Child) -> int:
            me.say(b"waiting")
            awaited.acquire()
            me.say(b"the live one got it")
            return 0
        a = Child(doomed)
        children.append(a)
        assert a.hear() == b"holding"
        until(lambda: awaited.waiting_for_nonzero == 1, "the doomed child's semop")
        seen: dict[str, object] = {"held": held.value, "ncnt": awaited.waiting_for_nonzero}
        seen["ended"] = end(a, how)
        seen["held after"] = held.value
        seen["ncnt after"] = awaited.waiting_for_nonzero
        seen["held last pid is the dead child's"] = held.last_pid == a.pid
        b = Child(live)
        children.append(b)
        assert b.hear() == b"waiting"
        until(lambda: awaited.waiting_for_nonzero == 1, "the live child's semop")
        awaited.release()
        seen["who got it"] = b.hear().decode()
        seen["live child ended"] = b.wait()
        seen["awaited after"] = awaited.value
        seen["ncnt at the end"] = awaited.waiting_for_nonzero
        return seen
    finally:
        for c in children:
            c.reap()
        held.remove()
        awaited.remove()


def sem_killed_waiting_for_zero(m: Any, how: str) -> dict[str, object]:
    """A child waiting for a semaphore to become zero dies: GETZCNT forgets it; a live
    child waiting for zero meanwhile wakes when the value reaches zero."""
    sysv = m.sysv_ipc
    sem = sysv.Semaphore(None, sysv.IPC_CREX, initial_value=1)
    children: list[Child] = []
    try:
        def doomed(me: Child) -> int:
            dies_as_told(me, how)
            me.say(b"waiting")
            sem.Z()
            me.say(b"the dead one saw zero")
            return 0

        def live(me: Child) -> int:
            me.say(b"waiting")
            sem.Z()
            me.say(b"the live one saw zero")
            return 0
        a = Child(doomed)
        children.append(a)
        b = Child(live)
        children.append(b)
        assert a.hear() == b"waiting" and b.hear() == b"waiting"
        until(lambda: sem.waiting_for_zero == 2, "both children's wait for zero")
        seen: dict[str, object] = {"zcnt": sem.waiting_for_zero}
        seen["ended"] = end(a, how)
        seen["zcnt after"] = sem.waiting_for_zero
        sem.acquire()
        seen["live child"] = b.hear().decode()
        seen["live child ended"] = b.wait()
        seen["zcnt at the end"] = sem.waiting_for_zero
        return seen
    finally:
        for c in children:
            c.reap()
        sem.remove()


def msg_killed_in_msgrcv(m: Any, how: str) -> dict[str, object]:
    """Two children wait in msgrcv, the first dies: a message sent then goes to the live
    one, and nothing is left on the queue."""
    sysv = m.sysv_ipc
    q = sysv.MessageQueue(None, sysv.IPC_CREX)
    children: list[Child] = []
    try:
        def receiver(name: bytes) -> Callable[[Child], int]:
            def body(me: Child) -> int:
                dies_as_told(me, how)
                me.say(b"waiting")
                got, mtype = q.receive()
                me.say(name + b" got " + got)
                return 0
            return body
        a = Child(receiver(b"the dead one"))
        children.append(a)
        assert a.hear() == b"waiting"
        time.sleep(SETTLE)
        b = Child(receiver(b"the live one"))
        children.append(b)
        assert b.hear() == b"waiting"
        time.sleep(SETTLE)
        seen: dict[str, object] = {"ended": end(a, how)}
        q.send(b"a message")
        seen["who got it"] = b.hear().decode()
        seen["live child ended"] = b.wait()
        seen["messages left"] = q.current_messages
        seen["last receiver is the live one"] = q.last_receive_pid == b.pid
        return seen
    finally:
        for c in children:
            c.reap()
        q.remove()


def shm_attached_when_killed(m: Any, how: str) -> dict[str, object]:
    """A child attached to a segment (by fork, and once more on its own) dies: nattch goes
    down by both. A segment removed while a child still has it attached lasts until that
    child dies."""
    sysv = m.sysv_ipc
    mem = sysv.SharedMemory(None, sysv.IPC_CREX, size=4096)
    children: list[Child] = []
    seen: dict[str, object] = {"nattch": mem.number_attached}
    try:
        def attacher(me: Child) -> int:
            again = sysv.SharedMemory(mem.key)
            again.write(b"written by the child")
            me.say(b"attached")
            return wait_to_exit(me)
        a = Child(attacher)
        children.append(a)
        assert a.hear() == b"attached"
        seen["nattch with the child"] = mem.number_attached
        seen["the child's bytes"] = mem.read(20).decode()
        seen["ended"] = end(a, how)
        seen["nattch after"] = mem.number_attached
        seen["last pid is the child's"] = mem.last_pid == a.pid

        b = Child(attacher)
        children.append(b)
        assert b.hear() == b"attached"
        ident = mem.id
        mem.detach()
        mem.remove()
        seen["attach while the child has it"] = _try(lambda: sysv.attach(ident).detach())
        seen["ended (second child)"] = end(b, how)
        seen["attach after"] = _try(lambda: sysv.attach(ident).detach())
        return seen
    finally:
        for c in children:
            c.reap()
        try:
            sysv.remove_shared_memory(mem.id)
        except sysv.Error:
            pass


def _try(fn: Callable[[], object]) -> str:
    try:
        fn()
    except Exception as e:
        return type(e).__name__
    return "ok"


def posix_killed_in_mq_receive(m: Any, how: str) -> dict[str, object]:
    """Two children wait in mq_receive, the first dies: a message sent then goes to the
    live one."""
    posix = m.posix_ipc
    q = posix.MessageQueue("/crash_q", posix.O_CREX)
    children: list[Child] = []
    try:
        def receiver(name: bytes) -> Callable[[Child], int]:
            def body(me: Child) -> int:
                dies_as_told(me, how)
                me.say(b"waiting")
                got, priority = q.receive()
                me.say(name + b" got " + got)
                return 0
            return body
        a = Child(receiver(b"the dead one"))
        children.append(a)
        assert a.hear() == b"waiting"
        time.sleep(SETTLE)
        b = Child(receiver(b"the live one"))
        children.append(b)
        assert b.hear() == b"waiting"
        time.sleep(SETTLE)
        seen: dict[str, object] = {"ended": end(a, how)}
        q.send(b"a message", priority=3)
        seen["who got it"] = b.hear().decode()
        seen["live child ended"] = b.wait()
        seen["messages left"] = q.current_messages
        return seen
    finally:
        for c in children:
            c.reap()
        q.close()
        q.unlink()


def posix_killed_in_sem_wait(m: Any, how: str) -> dict[str, object]:
    """Two children wait in sem_wait on a named semaphore, the first dies: a post then
    goes to the live one. That one dies holding it, and it stays taken (POSIX semaphores
    have no undo)."""
    posix = m.posix_ipc
    sem = posix.Semaphore("/crash_sem", posix.O_CREX, initial_value=0)
    children: list[Child] = []
    try:
        def waiter(name: bytes) -> Callable[[Child], int]:
            def body(me: Child) -> int:
                dies_as_told(me, how)
                me.say(b"waiting")
                sem.acquire()
                me.say(name + b" got it")
                return wait_to_exit(me)
            return body
        a = Child(waiter(b"the dead one"))
        children.append(a)
        assert a.hear() == b"waiting"
        time.sleep(SETTLE)
        b = Child(waiter(b"the live one"))
        children.append(b)
        assert b.hear() == b"waiting"
        time.sleep(SETTLE)
        seen: dict[str, object] = {"ended": end(a, how)}
        sem.release()
        seen["who got it"] = b.hear().decode()
        seen["value"] = sem.value
        seen["holder ended"] = end(b, "sigkill")
        seen["value after the holder died"] = sem.value
        return seen
    finally:
        for c in children:
            c.reap()
        sem.unlink()
        sem.close()


SYSV = [sem_undo_on_exit, sem_waiter_behind_dead_holder, sem_killed_in_semop,
        sem_killed_waiting_for_zero, msg_killed_in_msgrcv, shm_attached_when_killed]
POSIX = [posix_killed_in_mq_receive, posix_killed_in_sem_wait]
HOWS = {sem_undo_on_exit: ("exit", "sigkill"),
        sem_waiter_behind_dead_holder: ("exit", "sigkill"),
        sem_killed_in_semop: ("sigkill", "handler_exit"),
        sem_killed_waiting_for_zero: ("sigkill", "handler_exit"),
        msg_killed_in_msgrcv: ("sigkill", "handler_exit"),
        shm_attached_when_killed: ("exit", "sigkill"),
        posix_killed_in_mq_receive: ("sigkill", "handler_exit"),
        posix_killed_in_sem_wait: ("sigkill", "handler_exit")}
CASES = [pytest.param(fn.__name__, how, id=f"{fn.__name__}-{how}")
         for fn in SYSV + POSIX for how in HOWS[fn]]


# --- running them --------------------------------------------------------------------------
def fakes() -> SimpleNamespace:
    from ipcsim.compat import posix_ipc, sysv_ipc
    return SimpleNamespace(sysv_ipc=sysv_ipc, posix_ipc=posix_ipc)


def on_server(name: str, how: str) -> dict[str, object]:
    """The scenario with the fakes against a fresh server; then the server is alive,
    answers, and knows no process but init and this one."""
    with served() as server:
        seen = globals()[name](fakes(), how)
        assert server.alive(), "the kernel server died"
        me = os.getpid()
        until(lambda: {pid for pid, _, _ in server.call(ops.processes)} <= {1, me},
              "the dead children leaving the served kernel")
        assert {pid for pid, _, _ in server.call(ops.processes)} == {1, me}
        return seen


def on_linux(name: str, how: str) -> dict[str, object]:
    """The scenario with the real packages in a fresh real IPC namespace (and a private
    /dev/shm for the POSIX ones)."""
    seen: dict[str, object] = real_python(
        "from types import SimpleNamespace\n"
        "import sysv_ipc, posix_ipc\n"
        "import test_remote_crash as t\n"
        f"result = t.{name}(SimpleNamespace(sysv_ipc=sysv_ipc, posix_ipc=posix_ipc), "
        f"{how!r})\n", posix=name.startswith("posix_"))
    return seen


@pytest.mark.parametrize("name,how", CASES)
def test_a_dead_client_leaves_the_server_consistent(name: str, how: str) -> None:
    on_server(name, how)


@pytest.mark.parametrize("name,how", CASES)
def test_a_dead_client_leaves_what_linux_leaves(name: str, how: str) -> None:
    real = on_linux(name, how)
    fake = on_server(name, how)
    assert fake == real, f"\nserver: {fake}\nLinux:  {real}"


def test_the_scenarios_see_what_they_describe_on_linux() -> None:
    """The values the scenarios compare are the ones their docstrings promise (on Linux)."""
    seen = on_linux("sem_undo_on_exit", "sigkill")
    assert seen == {"held": 0, "ended": "signal 9", "after": 1,
                    "last pid is the holder's": True}
    seen = on_linux("sem_killed_in_semop", "handler_exit")
    assert seen["ended"] == "exit 3" and seen["held after"] == 1 and seen["ncnt after"] == 0
    assert seen["who got it"] == "the live one got it"


# --- the server dies -------------------------------------------------------------------------
def test_server_gone_is_a_documented_simulation_error() -> None:
    assert issubclass(ServerGone, SimulationError)
    assert ipcsim.remote.ServerGone is ServerGone
    assert ServerGone.__doc__ and "server" in ServerGone.__doc__


def test_a_call_after_the_server_was_killed_raises_server_gone() -> None:
    from ipcsim.compat import sysv_ipc
    with served() as server:
        q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
        q.send(b"before")
        os.kill(server.pid, signal.SIGKILL)
        server.popen.wait()
        with pytest.raises(ServerGone) as info:
            q.send(b"after")
        assert server.address in str(info.value)
        with pytest.raises(ServerGone) as info:
            sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
        assert server.address in str(info.value)


def test_a_call_blocked_when_the_server_is_killed_raises_server_gone() -> None:
    from ipcsim.compat import posix_ipc, sysv_ipc
    with served() as server:
        q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
        pq = posix_ipc.MessageQueue("/gone", posix_ipc.O_CREX)
        killer = threading.Timer(SETTLE, os.kill, (server.pid, signal.SIGKILL))
        killer.start()
        try:
            with pytest.raises(ServerGone) as info:
                q.receive()
        finally:
            killer.join()
        assert server.address in str(info.value)
        with pytest.raises(ServerGone):
            pq.receive(timeout=5)


def test_a_blocked_child_of_a_killed_server_raises_server_gone() -> None:
    """A child blocked in msgrcv when the server dies ends its call with ServerGone and can
    say so (it does not hang)."""
    from ipcsim.compat import sysv_ipc
    with served() as server:
        q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)

        def receiver(me: Child) -> int:
            me.say(b"waiting")
            try:
                q.receive()
            except ServerGone as e:
                me.say(b"ServerGone " + str(e).encode())
                return 0
            me.say(b"received")
            return 1
        child = Child(receiver)
        try:
            assert child.hear() == b"waiting"
            time.sleep(SETTLE)
            os.kill(server.pid, signal.SIGKILL)
            said = child.hear().decode()
            assert said.startswith("ServerGone ") and server.address in said, said
            assert child.wait() == "exit 0"
        finally:
            child.reap()


def test_a_new_process_pointed_at_a_dead_server_raises_server_gone(tmp_path: Path) -> None:
    from ipcsim.remote.autoload import child_environment
    with served() as server:
        address = server.address
        env = child_environment(address)
    code = ("import sysv_ipc\n"
            "try:\n"
            "    sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)\n"
            "except Exception as e:\n"
            "    print(type(e).__module__, type(e).__name__, e)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ipcsim.remote.client ServerGone "), proc.stdout
    assert address in proc.stdout
