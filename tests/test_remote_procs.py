"""Children of every kind meet their parent through one served kernel (the ``ipc_server``
fixture), with the real sysv_ipc and posix_ipc installed and never loaded; and what a real
process adds to a call (the real clock, signals, its credentials, its namespace) acts as on
Linux.

* forked (``os.fork``, multiprocessing "fork"), spawned (multiprocessing "spawn" and
  "forkserver") and ``subprocess`` Python children meet the test through a System V queue,
  semaphore and segment, and a POSIX queue, semaphore and shared memory object; each child
  checks that its ``sysv_ipc`` and ``posix_ipc`` are the fakes;
* timeouts run on the real clock (POSIX ``receive(timeout=...)``, ``acquire(timeout=...)``);
  sysv_ipc's semaphores ignore a timeout as the PyPI build does (no semtimedop), unless
  ``SEMAPHORE_TIMEOUT_SUPPORTED`` is set, as the fake documents;
* a signal whose Python handler runs interrupts a blocked call as with the real packages
  (sysv_ipc: its Error, then the handler's exception; posix_ipc: SignalError);
* credentials are read at each call (``os.seteuid(1000)`` then a 0600 object of root:
  PermissionsError, as on Linux; back to root: allowed);
* a client that unshares its IPC namespace (``current_process().unshare(CLONE_NEWIPC)``,
  the real ``unshare(2)`` on Linux) no longer sees its parent's queue by key, and its
  children share its new namespace.

The probes that compare with Linux are written once and run twice: in a client process of
the server, and with the real packages in a fresh real IPC namespace (``remote_helpers``).
"""
from __future__ import annotations

import mmap
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import pytest

from ipcsim.remote import ops
from remote_helpers import TESTS, Child, real_python, until
from remote_helpers import deadline  # noqa: F401  (the fixture, for pytestmark)

pytestmark = pytest.mark.usefixtures("deadline")    # (a hung test fails after a minute)
FAKES = ("sysv_ipc", "posix_ipc")


def assert_fakes_only() -> None:
    """``sysv_ipc`` and ``posix_ipc`` are ipcsim's fakes here, and no real one is loaded."""
    for name in FAKES:
        module = sys.modules[name]
        assert module.__name__ == f"ipcsim.compat.{name}", (name, module)
        # (the checkout's, or an installed copy's: a child started afresh imports ipcsim
        # from wherever its interpreter finds it)
        assert module.__file__ is not None and Path(module.__file__).parts[-3:] == (
            "ipcsim", "compat", f"{name}.py"), module.__file__
    real = [m.__file__ for m in list(sys.modules.values())
            if os.path.basename(getattr(m, "__file__", None) or "").startswith(FAKES)
            and not m.__file__.endswith(".py")]
    assert not real, f"a real package was loaded: {real}"


def expect_modules() -> None:
    """In a probe: the fakes where a server is named, the real packages elsewhere."""
    if os.environ.get("IPCSIM_SERVER"):
        assert_fakes_only()
    else:
        for name in FAKES:
            assert sys.modules[name].__file__.endswith(".so"), sys.modules[name]


# --- children of every kind meet the test ---------------------------------------------------
def meet(names: dict[str, Any]) -> None:
    """A child's side: take the test's request from the System V queue, and answer through
    every object: the segment (under the semaphore), the POSIX shared memory object (mmap
    of its descriptor), the POSIX semaphore and queue, and last the System V queue."""
    import posix_ipc
    import sysv_ipc
    assert_fakes_only()
    q = sysv_ipc.MessageQueue(names["q"])
    sem = sysv_ipc.Semaphore(names["sem"])
    mem = sysv_ipc.SharedMemory(names["shm"])
    pq = posix_ipc.MessageQueue(names["pq"])
    psem = posix_ipc.Semaphore(names["psem"])
    pshm = posix_ipc.SharedMemory(names["pshm"])
    request, _ = q.receive(type=1)
    answer = b"%s:%d" % (request, os.getpid())
    with sem:
        mem.write(answer)
    with mmap.mmap(pshm.fd, pshm.size) as mapped:
        mapped[:len(answer)] = answer
    pshm.close_fd()
    psem.release()
    pq.send(answer, priority=5)
    q.send(answer, type=2)
    mem.detach()
    pq.close()
    psem.close()


def _fork_child(names: dict[str, Any]) -> tuple[int, Callable[[], int | None]]:
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            meet(names)
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)

    ended: list[int] = []

    def poll() -> int | None:
        if not ended:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                ended.append(os.waitstatus_to_exitcode(status))
        return ended[0] if ended else None
    return pid, poll


def _mp_child(kind: str, names: dict[str, Any]) -> tuple[int, Callable[[], int | None]]:
    if kind == "forkserver":
        # a fork server started by an earlier test has that test's environment; its
        # children would not know this test's server (see the README's limits)
        multiprocessing.forkserver._forkserver._stop()
    p = multiprocessing.get_context(kind).Process(target=meet, args=(names,))
    p.start()
    assert p.pid is not None

    def poll() -> int | None:
        return p.exitcode
    return p.pid, poll


def _subprocess_child(names: dict[str, Any]) -> tuple[int, Callable[[], int | None]]:
    code = f"import test_remote_procs as t; t.meet({names!r})"
    popen = subprocess.Popen([sys.executable, "-c", code], cwd=TESTS)
    return popen.pid, popen.poll


def start(kind: str, names: dict[str, Any]) -> tuple[int, Callable[[], int | None]]:
    """A child of ``kind`` running :func:`meet`: its pid, and a poll for its exit status."""
    if kind == "os.fork":
        return _fork_child(names)
    if kind == "subprocess":
        return _subprocess_child(names)
    return _mp_child(kind, names)


def receive_from(q: Any, mtype: int, poll: Callable[[], int | None]) -> bytes:
    """The next message of ``mtype``, unless the child ends without sending it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            got: bytes = q.receive(block=False, type=mtype)[0]
            return got
        except Exception as e:
            if type(e).__name__ != "BusyError":
                raise
        status = poll()
        if status is not None:
            raise AssertionError(f"the child ended (status {status}) without answering")
        time.sleep(0.01)
    raise AssertionError("the child did not answer within 60s")


@pytest.mark.parametrize("kind", ["os.fork", "fork", "spawn", "forkserver", "subprocess"])
def test_children_meet_the_test(ipc_server: Any, kind: str) -> None:
    import posix_ipc
    import sysv_ipc
    assert_fakes_only()
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096)
    pq = posix_ipc.MessageQueue("/meet_q", posix_ipc.O_CREX)
    psem = posix_ipc.Semaphore("/meet_sem", posix_ipc.O_CREX)
    pshm = posix_ipc.SharedMemory("/meet_shm", posix_ipc.O_CREX, size=4096)
    names = {"q": q.key, "sem": sem.key, "shm": mem.key, "pq": pq.name, "psem": psem.name,
             "pshm": pshm.name}
    try:
        pid, poll = start(kind, names)
        q.send(b"hello from the test to a " + kind.encode(), type=1)
        answer = receive_from(q, 2, poll)
        assert answer == b"hello from the test to a %s:%d" % (kind.encode(), pid)
        assert mem.read(len(answer)) == answer
        with mmap.mmap(pshm.fd, pshm.size) as mapped:
            assert mapped[:len(answer)] == answer
        psem.acquire(10)
        assert pq.receive(10) == (answer, 5)
        until(lambda: poll() is not None, f"the {kind} child's exit")
        assert poll() == 0
        assert mem.number_attached == 1
        assert sem.value == 1 and sem.last_pid == pid
        assert q.current_messages == 0 and pq.current_messages == 0
        served = {p for p, _, _ in ipc_server.call(ops.processes)}
        until(lambda: pid not in {p for p, _, _ in ipc_server.call(ops.processes)},
              f"the {kind} child leaving the served kernel")
        assert os.getpid() in served
    finally:
        q.remove()
        sem.remove()
        mem.detach()
        mem.remove()
        pq.close()
        pq.unlink()
        psem.unlink()
        psem.close()
        pshm.close_fd()
        pshm.unlink()


# --- probes run in a client of the server and on Linux ------------------------------------------
def client_python(code: str) -> object:
    """Run ``code`` (which sets ``result``) in a Python child of this test, a client of the
    test's server; the JSON value of ``result``."""
    import json
    script = (f"import json, sys; sys.path[:0] = [{str(TESTS)!r}]\n"
              "import sysv_ipc, posix_ipc\n"
              "result = None\n" + code + "\nprint('@@' + json.dumps(result))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
    assert proc.returncode == 0 and lines, (
        f"the client failed (exit status {proc.returncode})\n--- code ---\n{code}\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][2:])


def both(ipc_server: Any, probe: str, posix: bool = True) -> tuple[object, object]:
    """``probe()`` (a function of this module) in a client of the server and on Linux."""
    code = f"import test_remote_procs as t\nresult = t.{probe}()\n"
    fake = client_python(code)
    real = real_python(code, posix=posix)
    return fake, real


def _outcome(fn: Callable[[], object]) -> list[str]:
    """What a call did: ``["returned"]``, or its exception and the ones it happened while
    handling, as a traceback shows them (``module.Class('message')``, innermost last)."""
    try:
        try:
            fn()
            return ["returned"]
        except BaseException as e:
            return _chain(e)
    except BaseException as e:       # (a handler's exception raised while handling)
        return _chain(e)


def _chain(err: BaseException | None) -> list[str]:
    chain: list[str] = []
    while err is not None:
        chain.append(f"{type(err).__module__}.{type(err).__name__}({str(err)!r})")
        err = None if err.__suppress_context__ else err.__context__
    return chain


class Interrupted(Exception):
    pass


def signal_probe() -> dict[str, list[str]]:
    """Each blocking call, interrupted by SIGUSR1 from another process while it waits, with
    a handler that returns and with one that raises."""
    import posix_ipc
    import sysv_ipc
    expect_modules()
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
    zero = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    pq = posix_ipc.MessageQueue("/signal_q", posix_ipc.O_CREX)
    psem = posix_ipc.Semaphore("/signal_sem", posix_ipc.O_CREX)
    calls: dict[str, Callable[[], object]] = {
        "msgrcv": q.receive, "semop": sem.acquire, "semop wait for zero": zero.Z,
        "mq_receive": pq.receive, "mq_timedreceive": lambda: pq.receive(30),
        "sem_wait": psem.acquire, "sem_timedwait": lambda: psem.acquire(30)}

    def quiet(_sig: int, _frame: object) -> None:
        pass

    def raising(_sig: int, _frame: object) -> None:
        raise Interrupted("from the handler")
    seen: dict[str, list[str]] = {}
    me = os.getpid()
    try:
        for hname, handler in (("returning", quiet), ("raising", raising)):
            signal.signal(signal.SIGUSR1, handler)
            for name, call in calls.items():
                # the signal comes from another process, as kill(1) would send it
                sender = subprocess.Popen([sys.executable, "-c", f"import os, time; "
                                           f"time.sleep(0.3); os.kill({me}, {int(signal.SIGUSR1)})"],
                                          env={k: v for k, v in os.environ.items()
                                               if k != "IPCSIM_SERVER"})
                seen[f"{name}, handler {hname}"] = _outcome(call)
                sender.wait()
        seen["values after"] = [str(sem.value), str(zero.value), str(psem.value),
                                str(q.current_messages), str(pq.current_messages)]
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        q.remove()
        sem.remove()
        zero.remove()
        pq.close()
        pq.unlink()
        psem.unlink()
        psem.close()
    return seen


def test_a_signal_interrupts_a_blocked_call_as_with_the_real_packages(ipc_server: Any) -> None:
    fake, real = both(ipc_server, "signal_probe")
    assert isinstance(real, dict)
    assert real["msgrcv, handler raising"][0] == "test_remote_procs.Interrupted('from the handler')"
    assert real["sem_wait, handler returning"] == [
        "posix_ipc.SignalError('The wait was interrupted by a signal')"]
    assert fake == real


def timeout_probe() -> dict[str, object]:
    """Timeouts on the real clock: what each call gives, and whether it took at least its
    timeout (never less)."""
    import posix_ipc
    import sysv_ipc
    expect_modules()
    pq = posix_ipc.MessageQueue("/timeout_q", posix_ipc.O_CREX, max_messages=1)
    psem = posix_ipc.Semaphore("/timeout_sem", posix_ipc.O_CREX)
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
    seen: dict[str, object] = {"semtimedop": sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED}

    def timed(name: str, fn: Callable[[], object], at_least: float) -> None:
        began = time.monotonic()
        seen[name] = _outcome(fn)
        seen[name + ": not early"] = time.monotonic() - began >= at_least

    try:
        timed("mq_receive 0.2s", lambda: pq.receive(0.2), 0.2)
        timed("mq_receive 0s", lambda: pq.receive(0), 0)
        pq.send(b"fills the queue")
        timed("mq_send 0.2s on a full queue", lambda: pq.send(b"more", 0.2), 0.2)
        timed("sem_timedwait 0.2s", lambda: psem.acquire(0.2), 0.2)
        timed("sem_timedwait 0s", lambda: psem.acquire(0), 0)
        # without semtimedop the timeout is ignored: the wait ends when another process
        # releases the semaphore, after longer than the timeout
        releaser = threading.Timer(0.6, sem.release)
        releaser.start()
        timed("sysv acquire(timeout=0.2)", lambda: sem.acquire(timeout=0.2), 0.6)
        releaser.join()
    finally:
        pq.close()
        pq.unlink()
        psem.unlink()
        psem.close()
        sem.remove()
    return seen


def test_timeouts_run_on_the_real_clock(ipc_server: Any) -> None:
    fake, real = both(ipc_server, "timeout_probe")
    assert isinstance(real, dict)
    assert real["mq_receive 0.2s"] == ["posix_ipc.BusyError('The queue is empty')"], real
    assert all(v for k, v in real.items() if k.endswith("not early")), real
    assert fake == real


def test_sysv_semaphore_timeouts_with_semtimedop(ipc_server: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake as a build with semtimedop (its documented switch): acquire and Z time out
    with BusyError on the real clock."""
    import sysv_ipc
    monkeypatch.setattr(sysv_ipc, "SEMAPHORE_TIMEOUT_SUPPORTED", True)
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=0)
    try:
        for call in (lambda: sem.acquire(timeout=0.2), lambda: (sem.release(),
                                                                sem.Z(timeout=0.2))):
            began = time.monotonic()
            with pytest.raises(sysv_ipc.BusyError):
                call()
            assert time.monotonic() - began >= 0.2
        assert sem.waiting_for_nonzero == 0 and sem.waiting_for_zero == 0
    finally:
        sem.remove()


def credentials_probe() -> dict[str, object]:
    """A forked child sets its effective uid to 1000 and opens its parent's 0600 objects
    (PermissionsError), creates one of its own (owned by uid 1000), then is root again and
    opens them (allowed): the credentials of each call are the process's at that call."""
    import posix_ipc
    import sysv_ipc
    expect_modules()
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX, mode=0o600)
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, mode=0o600)
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, mode=0o600, size=4096)
    pq = posix_ipc.MessageQueue("/creds_q", posix_ipc.O_CREX, mode=0o600)
    psem = posix_ipc.Semaphore("/creds_sem", posix_ipc.O_CREX, mode=0o600)
    pshm = posix_ipc.SharedMemory("/creds_shm", posix_ipc.O_CREX, mode=0o600, size=4096)
    opens: dict[str, Callable[[], object]] = {
        "msgget": lambda: sysv_ipc.MessageQueue(q.key),
        "semget": lambda: sysv_ipc.Semaphore(sem.key),
        "shmget+shmat": lambda: sysv_ipc.SharedMemory(mem.key),
        "mq_open": lambda: posix_ipc.MessageQueue("/creds_q").close(),
        "sem_open": lambda: posix_ipc.Semaphore("/creds_sem").close(),
        "shm_open": lambda: posix_ipc.SharedMemory("/creds_shm").close_fd()}

    def child(me: Child) -> int:
        seen: dict[str, object] = {}
        os.seteuid(1000)
        for name, fn in opens.items():
            seen[f"{name} as euid 1000"] = _outcome(fn)
        own = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
        seen["own queue uid, cuid"] = [own.uid, own.cuid]
        os.seteuid(0)
        for name, fn in opens.items():
            seen[f"{name} as root again"] = _outcome(fn)
        own.remove()
        me.say(repr(seen).encode())
        return 0
    import ast
    kid = Child(child)
    try:
        result: dict[str, object] = ast.literal_eval(kid.hear().decode())
        result["ended"] = kid.wait()
    finally:
        kid.reap()
        q.remove()
        sem.remove()
        mem.detach()
        mem.remove()
        pq.close()
        pq.unlink()
        psem.unlink()
        psem.close()
        pshm.close_fd()
        pshm.unlink()
    return result


def test_credentials_are_read_at_each_call(ipc_server: Any) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to set the effective uid to 1000 and back")
    fake, real = both(ipc_server, "credentials_probe")
    assert isinstance(real, dict)
    assert real["msgget as euid 1000"] == [
        "sysv_ipc.PermissionsError('Permission denied')"], real
    assert real["msgget as root again"] == ["returned"], real
    assert fake == real


def unshare_ipc() -> None:
    """This process into a new IPC namespace: the fake's process (a RemoteProcess of the
    server) where a server is named, else the real unshare(2)."""
    if os.environ.get("IPCSIM_SERVER"):
        from ipcsim.compat import current_process
        from ipcsim.constants import CLONE_NEWIPC
        current_process().unshare(CLONE_NEWIPC)
    else:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x08000000) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


KEY = 0x5eed


def namespace_probe() -> dict[str, object]:
    """The parent has a System V queue of key KEY, a POSIX queue and a POSIX semaphore. A
    child unshares its IPC namespace: the queues are not there for it (the semaphore is:
    /dev/shm is no part of an IPC namespace); it makes a queue of key KEY of its own, which
    its forked child and a ``subprocess`` child find and write to."""
    import posix_ipc
    import sysv_ipc
    expect_modules()
    q = sysv_ipc.MessageQueue(KEY, sysv_ipc.IPC_CREX)
    q.send(b"the parent's")
    pq = posix_ipc.MessageQueue("/ns_q", posix_ipc.O_CREX)
    psem = posix_ipc.Semaphore("/ns_sem", posix_ipc.O_CREX)

    def child(me: Child) -> int:
        seen: dict[str, object] = {}
        unshare_ipc()
        seen["the parent's queue by key"] = _outcome(lambda: sysv_ipc.MessageQueue(KEY))
        seen["the parent's POSIX queue"] = _outcome(lambda: posix_ipc.MessageQueue("/ns_q"))
        seen["the POSIX semaphore"] = _outcome(lambda: posix_ipc.Semaphore("/ns_sem"))
        mine = sysv_ipc.MessageQueue(KEY, sysv_ipc.IPC_CREX)
        grandchild = os.fork()
        if grandchild == 0:
            try:
                sysv_ipc.MessageQueue(KEY).send(b"from the forked grandchild")
            finally:
                os._exit(0)
        os.waitpid(grandchild, 0)
        code = ("import sysv_ipc; sysv_ipc.MessageQueue(%d).send(b'from the subprocess "
                "grandchild')" % KEY)
        seen["subprocess grandchild"] = subprocess.run([sys.executable, "-c", code],
                                                       capture_output=True).returncode
        seen["messages of the child's queue"] = [
            mine.receive(block=False)[0].decode() for _ in range(mine.current_messages)]
        mine.remove()
        me.say(repr(seen).encode())
        return 0
    import ast
    kid = Child(child)
    try:
        result: dict[str, object] = ast.literal_eval(kid.hear().decode())
        result["ended"] = kid.wait()
        result["the parent's queue after"] = [q.current_messages, q.receive()[0].decode()]
    finally:
        kid.reap()
        q.remove()
        pq.close()
        pq.unlink()
        psem.unlink()
        psem.close()
    return result


def test_an_unshared_client_and_its_children_have_a_namespace_of_their_own(
        ipc_server: Any) -> None:
    fake, real = both(ipc_server, "namespace_probe")
    assert isinstance(real, dict)
    assert real["the parent's queue by key"] == [
        "sysv_ipc.ExistentialError('No queue exists with the specified key')"], real
    assert real["messages of the child's queue"] == [
        "from the forked grandchild", "from the subprocess grandchild"], real
    assert fake == real


def test_the_fixture_left_this_process_the_fakes(ipc_server: Any) -> None:
    import posix_ipc
    import sysv_ipc
    assert_fakes_only()
    q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    pq = posix_ipc.MessageQueue("/here", posix_ipc.O_CREX)
    try:
        assert q.id in [int(line.split()[1]) for line in
                        ipc_server.call(ops.read_file, "/proc/sysvipc/msg").splitlines()[1:]]
        assert os.fstat(pq.mqd) is not None       # (a real descriptor of this process)
    finally:
        q.remove()
        pq.close()
        pq.unlink()
