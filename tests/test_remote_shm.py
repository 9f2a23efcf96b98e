"""Shared memory through a kernel server: every OS process attached to it shares the bytes.

A System V segment that a client attaches lives in a real memory file that the server passes
to it; the client maps it, so ``read``, ``write`` and the buffer protocol touch that mapping
without asking the server, while shmat and shmdt stay calls of the model (nattch, times,
the address space). A POSIX shared memory object's descriptor is a real descriptor of the
server's file. The processes here are this one, children it forks, and Python children that
``subprocess`` starts with ``IPCSIM_SERVER`` in their environment; the scenarios are also
run with the real packages in a fresh real IPC namespace, and must give the same answers.
"""
from __future__ import annotations

import json
import mmap
import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Iterator

import pytest

import realkernel
from realkernel import run_real

pytest.importorskip("greenlet", reason="the kernel server runs its calls in greenlets")
if not hasattr(os, "fork"):
    pytest.skip("needs os.fork", allow_module_level=True)

from ipcsim.compat import _context, posix_ipc, sysv_ipc  # noqa: E402
from ipcsim.constants import IPC_RMID  # noqa: E402
from ipcsim.errors import SegmentationFault  # noqa: E402
from ipcsim.remote import ops  # noqa: E402
from ipcsim.remote.client import ENV  # noqa: E402
from ipcsim.remote.launch import ServerProcess, served  # noqa: E402
from ipcsim.remote.shmops import MemoryFile  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    with served() as s:
        yield s


def child_env() -> dict[str, str]:
    """The environment of a Python child that finds ipcsim and the server (not the fakes'
    import hook: the children import ipcsim.compat themselves)."""
    env = dict(os.environ)
    assert env.get(ENV)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_python(code: str) -> str:
    """Run ``code`` in a new Python process (subprocess) against the server; its stdout."""
    done = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def in_child(fn: Callable[[], Any]) -> Any:
    """``fn()`` in an os.fork child; its JSON-able value (or the child's error, raised)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = json.dumps({"value": fn()})
        except BaseException as e:
            out = json.dumps({"error": f"{type(e).__name__}: {e}"})
        with os.fdopen(w, "w") as f:
            f.write(out)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    got = json.loads(text)
    if "error" in got:
        raise AssertionError("in the child: " + got["error"])
    return got["value"]


class CountedCalls:
    """Every call this process sends to the server while it is installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        remote = _context._remote
        assert remote is not None

        def counted(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
            self.names.append(getattr(fn, "__name__", repr(fn)))
            return remote(fn, args)
        monkeypatch.setattr(_context, "_remote", counted)


# --- System V -------------------------------------------------------------------------------
def test_segment_bytes_cross_fork_and_subprocess(server: ServerProcess) -> None:
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=10000, init_character=b".")
    try:
        mem.write(b"from the parent")

        def child() -> list[Any]:
            seen = mem.read(15).decode()
            mem.write(b"from the fork", 5000)
            return [seen, mem.number_attached]
        assert in_child(child) == ["from the parent", 2]
        assert mem.read(13, 5000) == b"from the fork"
        assert mem.number_attached == 1

        out = run_python(
            "from ipcsim.compat import sysv_ipc\n"
            f"m = sysv_ipc.SharedMemory({mem.key})\n"
            "print(m.read(15).decode(), m.read(13, 5000).decode(), m.number_attached, "
            "sep='|')\n"
            "m.write(b'from the subprocess', 9981)\n"
            "m.detach()\n")
        assert out.strip() == "from the parent|from the fork|2"
        assert mem.read(offset=9981) == b"from the subprocess"
        assert mem.read(4, 9977) == b"...."
        assert mem.number_attached == 1
    finally:
        mem.detach()
        mem.remove()


def test_reads_writes_and_buffers_send_nothing_to_the_server(
        server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=8192)
    calls = CountedCalls(monkeypatch)
    for i in range(100):
        mem.write(i.to_bytes(2, "little"), 2 * i)
    assert [int.from_bytes(mem.read(2, 2 * i), "little") for i in range(100)] == \
        list(range(100))
    view = memoryview(mem)
    view[8000:8003] = b"abc"
    assert bytes(view[:4]) == b"\x00\x00\x01\x00" and len(view) == 8192
    view.release()
    with pytest.raises(ValueError, match="past end"):
        mem.write(b"xy", 8191)
    assert calls.names == []
    mem.detach()
    assert calls.names == ["_shmdt"]
    with pytest.raises(sysv_ipc.NotAttachedError, match="Read attempt"):
        mem.read()
    mem.remove()


def test_the_model_reads_and_writes_the_same_bytes(server: ServerProcess) -> None:
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=3 * 4096, init_character=b"-")
    proc = _context.current_process()       # this process, as the served kernel runs it
    try:
        mem.write(b"client", 4096)
        assert proc.read_memory(mem.address + 4096, 6) == b"client"
        proc.write_memory(mem.address + 8190, b"model")
        assert mem.read(5, 8190) == b"model"
        row = server.call(ops.read_file, "/proc/sysvipc/shm").splitlines()[1].split()
        assert row[1] == str(mem.id) and row[-2] == str(3 * 4096)     # rss: every page
        # a segment that a client never attached keeps its pages in the model
        other = proc.shmget(0, 4096, 0o600)
        at = proc.shmat(other)
        proc.write_memory(at, b"model only")
        assert proc.read_memory(at, 10) == b"model only"
        proc.shmdt(at)
        proc.shmctl(other, IPC_RMID)
    finally:
        mem.detach()
        mem.remove()


def test_rss_counts_the_pages_any_process_touched(server: ServerProcess) -> None:
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREAT | sysv_ipc.IPC_EXCL, mode=0o600,
                                size=10 * 4096, init_character=b" ")
    try:
        def rss() -> int:
            text = server.call(ops.read_file, "/proc/sysvipc/shm")
            return int(text.splitlines()[1].split()[-2]) // 4096
        assert rss() == 10                   # (the init character fills every page)
        mem.remove()
        fresh = sysv_ipc.attach(mem.id)
        assert rss() == 10
        fresh.detach()
    finally:
        mem.detach()
    other = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, mode=0o400, size=10 * 4096)
    try:
        # read-only for its creator: not filled; reading a page makes it resident, as on Linux
        text = server.call(ops.read_file, "/proc/sysvipc/shm")
        assert int(text.splitlines()[1].split()[-2]) == 0
        other.read(1, 3 * 4096)
        in_child(lambda: len(other.read(1, 7 * 4096)))
        text = server.call(ops.read_file, "/proc/sysvipc/shm")
        assert int(text.splitlines()[1].split()[-2]) == 2 * 4096
    finally:
        other.detach()
        other.remove()


def test_numpy_array_on_the_segment_is_shared(server: ServerProcess) -> None:
    np = pytest.importorskip("numpy")
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=8 * 1000)
    try:
        arr = np.frombuffer(mem, dtype=np.int64)
        arr[:] = np.arange(1000)

        def child() -> int:
            mine = np.frombuffer(mem, dtype=np.int64)
            total = int(mine.sum())
            mine *= 2
            return total
        assert in_child(child) == sum(range(1000))
        assert arr[999] == 1998
        out = run_python(
            "import numpy as np\n"
            "from ipcsim.compat import sysv_ipc\n"
            f"m = sysv_ipc.SharedMemory({mem.key})\n"
            "a = np.frombuffer(m, dtype=np.int64)\n"
            "print(int(a.sum()))\n"
            "a[0] = -7\n"
            "del a\n"
            "m.detach()\n")
        assert int(out) == 2 * sum(range(1000))
        assert arr[0] == -7
        del arr
    finally:
        mem.detach()
        mem.remove()


def test_sigkill_of_an_attached_child_detaches_it(server: ServerProcess) -> None:
    mem = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            extra = sysv_ipc.attach(mem.id)
            extra.write(b"last words")
            os.write(w, str(mem.number_attached).encode())
            time.sleep(60)
        finally:
            os._exit(1)
    try:
        os.close(w)
        assert os.read(r, 16) == b"3"
    finally:
        os.close(r)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert mem.number_attached == 1
    assert mem.last_pid == pid                # (exit detached its two attachments)
    assert mem.read(10) == b"last words"
    mem.remove()
    mem.detach()
    with pytest.raises(ValueError, match="Invalid id"):
        sysv_ipc.attach(mem.id)


def test_hugetlb_memory_is_not_mapped_and_faults_as_in_the_model(
        server: ServerProcess) -> None:
    if os.geteuid() != 0:
        pytest.skip("SHM_HUGETLB needs CAP_IPC_LOCK (or vm.hugetlb_shm_group)")
    flags = sysv_ipc.IPC_CREX | sysv_ipc.SHM_HUGETLB | sysv_ipc.SHM_NORESERVE
    mem = sysv_ipc.SharedMemory(None, flags, mode=0o400, size=4096)   # (0o400: no fill)
    try:
        assert mem.number_attached == 1
        with pytest.raises(SegmentationFault, match="SIGBUS"):
            mem.read(1)
    finally:
        mem.detach()
        mem.remove()


def test_memory_file_without_memfd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there is no memfd_create, a file of a private directory, unlinked at once."""
    monkeypatch.delattr(os, "memfd_create", raising=False)
    memory = MemoryFile("SYSV00000001", 3 * 4096)
    try:
        assert os.fstat(memory.fd).st_nlink == 0
        holes = memory.resident() == 0      # (a file system that can tell holes: most)
        memory.page(2)[:5] = b"model"
        other = mmap.mmap(memory.fd, 3 * 4096)
        assert other[2 * 4096:2 * 4096 + 5] == b"model"
        other[0:6] = b"mapped"
        assert bytes(memory.page(0)[:6]) == b"mapped"
        assert memory.resident() == (2 if holes else 3)
        other.close()
    finally:
        memory.close()
    assert memory.fd == -1


# The same steps with the real sysv_ipc on Linux and with the fakes through a server.
SYSV_SCENARIO = r'''
import signal
obs = {}
def err(fn, *a, **kw):
    try:
        got = fn(*a, **kw)
        return ["ok", got.decode() if isinstance(got, bytes) else got]
    except Exception as e:
        return [type(e).__name__, str(e)]

m = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=5000, init_character=b"x")
obs["created"] = [m.number_attached, m.read(3).decode(), m.size, m.last_pid == os.getpid()]
m.write(b"hello")
m2 = sysv_ipc.attach(m.id)
obs["second"] = [m.number_attached, m2.read(5).decode(), m2.address != m.address]
m2.write(b"HE")
obs["seen"] = m.read(5).decode()
m2.detach()
obs["second gone"] = [m.number_attached, err(m2.read), err(m2.write, b"a"), err(m2.detach),
                      m2.attached]

def child():
    out = [m.number_attached, m.read(5).decode()]
    m.write(b"child", 100)
    return out
obs["forked child"] = in_child(child)
obs["after child"] = [m.number_attached, m.read(5, 100).decode()]

ro = sysv_ipc.attach(m.id, None, sysv_ipc.SHM_RDONLY)
obs["read-only"] = [m.number_attached, ro.read(5).decode(), err(ro.write, b"no"),
                    err(ro.write, b"no", 10**6)]
ro.detach()
obs["bounds"] = [err(m.read, 0, 5000), err(m.read, -1), len(m.read(0, 4999)),
                 len(m.read(10**6)), err(m.write, b"ab", 4999), err(m.write, b"a", 5000),
                 err(m.write, b"", 5000), err(m.write, b"", 5001), len(m.read(10, 4990))]
view = memoryview(m)
obs["buffer"] = [len(view), bytes(view[:5]).decode(), view.readonly]
view[0:2] = b"BU"
view.release()
obs["after buffer"] = m.read(5).decode()

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    extra = sysv_ipc.attach(m.id)
    os.write(w, str(m.number_attached).encode())
    time.sleep(60)
    os._exit(0)
os.close(w)
obs["killed child saw"] = int(os.read(r, 10))
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
os.close(r)
obs["after kill"] = [m.number_attached, m.last_pid == pid]

mine = sysv_ipc.SharedMemory(m.key, mode=0o400)
obs["opened read-only"] = [m.number_attached, mine.read(2).decode(), err(mine.write, b"x"),
                           bytes(memoryview(mine)[:2]).decode()]
mine.detach()

a = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=5000, init_character=b"a")
b = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096, init_character=b"b")
b.detach()
over = sysv_ipc.attach(b.id, a.address, sysv_ipc.SHM_REMAP)
obs["remapped"] = [over.address == a.address, a.number_attached, over.number_attached,
                   a.read(3).decode(), a.read(3, 4096).decode()]
over.write(b"B")
a.write(b"A", 4096)
obs["remapped writes"] = [a.read(2).decode(), over.read(2).decode(), a.read(2, 4096).decode()]
a.detach()
again = sysv_ipc.attach(a.id)
obs["first shmdt"] = [over.number_attached, a.number_attached, again.read(2, 4096).decode()]
again.detach()
over.detach()
obs["second shmdt"] = [over.number_attached, a.number_attached]
a.remove()
over.remove()

c = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096, init_character=b"c")
d = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096, init_character=b"d")
d.detach()
d.attach(c.address, sysv_ipc.SHM_REMAP)
view = memoryview(c)
view[1:2] = b"D"
obs["buffer after remap"] = [bytes(view[:3]).decode(), d.read(3).decode(), c.number_attached]
view.release()
d.detach()
obs["remap detached"] = [c.number_attached, d.number_attached]
c.remove()
d.remove()

shmid, key = m.id, m.key
m.remove()
obs["removed"] = [m.number_attached, m.mode & 0o1000 != 0, m.read(5).decode(),
                  err(sysv_ipc.SharedMemory, key)[0]]
m.detach()
obs["destroyed"] = [err(sysv_ipc.attach, shmid), err(lambda: m.size)]
result = obs
'''

POSIX_SCENARIO = r'''
import mmap
obs = {}
name = "/ipcsim-remote-shm-%d" % os.getpid()
mem = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, size=5000)
st = os.fstat(mem.fd)
obs["created"] = [mem.size, st.st_size, st.st_nlink]
m = mmap.mmap(mem.fd, mem.size)
m[:6] = b"parent"

def child():
    again = posix_ipc.SharedMemory(name)
    mine = mmap.mmap(again.fd, again.size)
    seen = mine[:6].decode()
    mine[10:15] = b"child"
    inherited = mmap.mmap(mem.fd, 5000)
    inherited[20:25] = b"fd of"
    os.ftruncate(again.fd, 8192)
    return [seen, again.size]
obs["child"] = in_child(child)
obs["after child"] = [m[10:15].decode(), m[20:25].decode(), mem.size]

ro = posix_ipc.SharedMemory(name, read_only=True)
try:
    mmap.mmap(ro.fd, 4096)
    obs["read-only mapped"] = "writable"
except OSError as e:
    obs["read-only mapped"] = type(e).__name__
obs["read-only"] = mmap.mmap(ro.fd, 4096, access=mmap.ACCESS_READ)[:6].decode()
ro.close_fd()

mem.unlink()
obs["unlinked"] = [os.fstat(mem.fd).st_nlink, m[:6].decode()]
try:
    posix_ipc.SharedMemory(name)
    obs["reopen"] = "opened"
except posix_ipc.ExistentialError as e:
    obs["reopen"] = str(e)
m.close()
mem.close_fd()
result = obs
'''


def run_served(code: str) -> Any:
    """``code`` (after the real-kernel prelude) in a Python child of the server, with the
    fakes under the real packages' names; its ``result``."""
    script = (realkernel.PRELUDE + "\nfrom ipcsim.compat import posix_ipc, sysv_ipc\n" + code
              + realkernel._EPILOGUE)
    done = subprocess.run([sys.executable, "-c", realkernel._BOOTSTRAP], input=script,
                          env=child_env(), capture_output=True, text=True, timeout=60)
    marker = realkernel._MARKER
    assert done.returncode == 0 and marker in done.stdout, done.stderr
    return json.loads(done.stdout.rsplit(marker, 1)[1])


@pytest.mark.parametrize("scenario", ["sysv", "posix"])
def test_scenario_as_on_linux(scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code = SYSV_SCENARIO if scenario == "sysv" else POSIX_SCENARIO
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("IPCSIM_AUTOLOAD", "0")        # (the real packages, not the fakes)
    real = run_real(f"import {scenario}_ipc\n" + code)
    with served():
        fake = run_served(code)
    assert fake == real


# --- POSIX ------------------------------------------------------------------------------------
def test_posix_object_bytes_cross_fork_and_subprocess(server: ServerProcess) -> None:
    name = f"/ipcsim-test-{os.getpid()}"
    mem = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, size=4096)
    try:
        m = mmap.mmap(mem.fd, mem.size)
        m[:6] = b"parent"

        def child() -> str:
            mine = mmap.mmap(mem.fd, 4096)
            mine[100:104] = b"fork"
            return mine[:6].decode()
        assert in_child(child) == "parent"
        out = run_python(
            "import mmap, os\n"
            "from ipcsim.compat import posix_ipc\n"
            f"mem = posix_ipc.SharedMemory({name!r})\n"
            "m = mmap.mmap(mem.fd, mem.size)\n"
            "print(m[:6].decode(), m[100:104].decode(), sep='|')\n"
            "m[200:210] = b'subprocess'\n"
            "os.ftruncate(mem.fd, 3 * 4096)\n")
        assert out.strip() == "parent|fork"
        assert m[200:210] == b"subprocess"
        assert mem.size == 3 * 4096 == os.fstat(mem.fd).st_size
        m.close()
    finally:
        mem.unlink()
    assert os.fstat(mem.fd).st_nlink == 0       # the server's file went with the name
    with pytest.raises(posix_ipc.ExistentialError):
        posix_ipc.SharedMemory(name)
    mem.close_fd()
