"""The two-program demos of sysv_ipc 1.2.0 and posix_ipc 1.3.2, run as separate OS processes,
print against the kernel server what they print with the real packages on the real kernel.

Each demo comes from the package's source distribution (downloaded once with ``pip
download``; the test skips, saying so, where that cannot be done) and runs twice at the
same time, from a copy of its directory whose params.txt asks for a few iterations:

* real: the real packages, each program entering one fresh real IPC namespace (with a tmpfs
  of its own on /dev/shm for POSIX semaphores and shared memory), as a user would start them
  in two terminals;
* fake: the same commands with ``IPCSIM_SERVER`` in their environment (a server started for
  the test, or ``ipcsim serve -- python parent.py``), so that ``import sysv_ipc`` gives the
  fake through the import hook. Every process reports what it loaded: the fakes there, the
  real C extensions in the real run.

The outputs are then compared line by line once what differs from run to run is
normalised, narrowly and per demo: the timestamps of ``utils.say``, the time string a chat
starts with and the md5 chain that follows it (each value named by its first appearance),
the random key or name of a semaphore, the address shared memory is attached at, the
polls that found a program's own message still there (how many there are is timing), and
the order of lines two processes write to one pipe where the demo leaves it to chance.
"""
from __future__ import annotations

import difflib
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import pytest

from remote_helpers import (Program, RealNamespace, check_modules, copy_demo, demo_env,
                            fetch_sdists, require_real)

TIMEOUT = 90.0


# --- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def upstream(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cache_provider = getattr(request.config, "cache", None)
    cache = (Path(cache_provider.mkdir("ipcsim-upstream-sdists")) if cache_provider
             else tmp_path_factory.mktemp("sdists"))
    trees = fetch_sdists(cache, tmp_path_factory.mktemp("upstream"))
    return {name: tree / "demos" for name, tree in trees.items()}


class World:
    """Where one run of a demo happens: ``real`` (a fresh real namespace) or ``fake`` (a
    kernel server). Programs started here are killed when the world closes."""

    def __init__(self, kind: str, base: Path, posix_shm: bool, coin: int | None) -> None:
        self.kind = kind
        self.base = base
        self.programs: list[Program] = []
        self.ns: RealNamespace | None = None
        self.server = None
        address = None
        if kind == "real":
            self.ns = RealNamespace(shm=posix_shm)
        else:
            from ipcsim.remote.launch import start_server
            self.server = start_server()
            address = self.server.address
        self.env = demo_env(base, kind, server=address, coin=coin)

    def start(self, argv: list[str], cwd: Path, *, stdin: bool = False,
              own_server: bool = False) -> Program:
        """``argv`` in this world. With ``own_server`` (fake world), it runs as
        ``ipcsim serve -- argv``: a server of its own for the command's tree."""
        env = self.env
        if self.ns is not None:
            argv = self.ns.argv(argv, cwd)
        elif own_server:
            env = {k: v for k, v in env.items() if k != "IPCSIM_SERVER"}
            argv = [sys.executable, "-m", "ipcsim", "serve", "--", *argv]
        program = Program(argv, cwd=cwd, env=env, stdin=stdin,
                          name=f"{self.kind}: {' '.join(argv)}")
        self.programs.append(program)
        return program

    def check_modules(self, *programs: str) -> None:
        check_modules(self.env, programs)

    def close(self) -> None:
        for program in self.programs:
            program.close()
        if self.ns is not None:
            self.ns.close()
        if self.server is not None:
            self.server.stop()


def in_both_worlds(tmp_path: Path, run: Callable[[World], object], *, posix_shm: bool = False,
                   coin: int | None = None) -> tuple[object, object]:
    """``run(world)`` in the real world and the fake one at the same time: (real, fake)."""
    require_real(posix=posix_shm)

    def one(kind: str) -> object:
        world = World(kind, tmp_path / kind, posix_shm, coin)
        try:
            return run(world)
        finally:
            world.close()

    with ThreadPoolExecutor(2) as pool:
        real = pool.submit(one, "real")
        fake = pool.submit(one, "fake")
        return real.result(), fake.result()


def assert_same(real: object, fake: object, what: str) -> None:
    if real != fake:
        def lines(v: object) -> list[str]:
            return v if isinstance(v, list) else repr(v).splitlines()
        diff = "\n".join(difflib.unified_diff(lines(real), lines(fake), "real kernel",
                                              "kernel server", lineterm=""))
        raise AssertionError(f"{what} differs between the real packages on the real kernel "
                             f"and the fakes against the server:\n{diff}")


def finished(program: Program) -> Program:
    program.finish(TIMEOUT)
    assert program.popen.returncode == 0, program.describe()
    return program


# --- normalising ---------------------------------------------------------------------------
SAY = re.compile(r"^(?P<who>[\w.-]+)@\d+\.\d{6}: (?P<text>.*)$")
ASCTIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
MD5 = r"[0-9a-f]{32}"
VALUE = re.compile(rf"(?:{ASCTIME}|{MD5})")


class Labels:
    """The values of a chat (a time string, then md5s), each named by its first appearance:
    V0, V1, ... A value of another shape is kept as it is."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        if not VALUE.fullmatch(value):
            return value
        return self.names.setdefault(value, f"V{len(self.names)}")


def said(text: str) -> Iterator[tuple[str, str]]:
    """(who, what) of each line of ``utils.say`` (its timestamp dropped); other lines as
    ("", line)."""
    for line in text.splitlines():
        m = SAY.match(line)
        yield (m["who"], m["text"]) if m else ("", line)


def shm_chat(text: str, release: str, acquire: str) -> list[str]:
    """A shared memory chat (sysv sem_and_shm, posix demo1). A read that finds the
    program's own last message is a poll (it releases, acquires and reads again); how many
    polls there are is timing, so they are dropped with the release/acquire pair each took."""
    labels = Labels()
    own = None
    out: list[str] = []
    for who, what in said(text):
        if m := re.fullmatch(r"writing (.*) ", what):
            own = m[1]
            what = f"writing {labels(m[1])} "
        elif m := re.fullmatch(r"read (.*)", what):
            if m[1] == own:
                continue
            what = f"read {labels(m[1])}"
        elif m := re.fullmatch(r"Memory attached at (\d+)", what):
            what = "Memory attached at ADDRESS"
        line = f"{who}: {what}" if who else what
        if what == release and out and out[-1] == f"{who}: {acquire}":
            out.pop()                       # acquire, (own message), release: a poll
            continue
        out.append(line)
    return out


def mq_chat(text: str) -> list[str]:
    """A message queue chat (sysv message_queues, posix demo2): a program that receives its
    own last message sends it back and receives again; those receipts are timing."""
    labels = Labels()
    own = None
    out: list[str] = []
    for who, what in said(text):
        if m := re.fullmatch(r"Sending (.*)", what):
            own = m[1]
            what = f"Sending {labels(m[1])}"
        elif m := re.fullmatch(r"Received (.*)", what):
            if m[1] == own:
                continue
            what = f"Received {labels(m[1])}"
        out.append(f"{who}: {what}" if who else what)
    return out


def parent_and_child(stdout: str, stderr: str, demo: Path,
                     created: str) -> dict[str, list[str]]:
    """A parent.py/child.py demo: the parent's lines and the child's (they share one pipe
    and the child's first line comes when its interpreter has started), the key or name of
    the semaphore (random) and the demo's directory (in the child's traceback) replaced."""
    m = re.search(created, stdout)
    assert m, f"no line matching {created!r} in\n{stdout}"
    ident = m[1]

    def norm(text: str) -> list[str]:
        text = text.replace(str(demo), "DEMO")
        text = re.sub(rf"(?<![\w/-]){re.escape(ident)}(?![\w/-])", "SEMAPHORE", text)
        return text.splitlines()

    lines = norm(stdout)
    return {"parent": [line for line in lines if not line.startswith("Child:")],
            "child": [line for line in lines if line.startswith("Child:")],
            "stderr": norm(stderr)}


DING = re.compile(r"Ding! Message with priority \d+ received: b'[^'\n]*'")


def threads_apart(stdout: str) -> dict[str, list[str]]:
    """The notification thread's "Ding!" lines, and the main thread's lines: the two
    threads print to one pipe, and ``print`` writes a line's text and its newline apart, so
    a "Ding!" may land inside a line of the main thread (on Linux too), its newline later:
    the "Ding!" texts are taken out, and the blank lines that leaves."""
    return {"notifications": DING.findall(stdout),
            "main thread": [line for line in DING.sub("", stdout).splitlines() if line]}


def compare(real: dict[str, object], fake: dict[str, object]) -> None:
    assert real.keys() == fake.keys()
    for key in real:
        assert_same(real[key], fake[key], key)


# --- sysv_ipc --------------------------------------------------------------------------------
def test_sysv_sem_and_shm(upstream: dict[str, Path], tmp_path: Path) -> None:
    """premise.py and conclusion.py trade md5s through a segment guarded by a semaphore."""
    iterations = 4

    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["sysv_ipc"] / "sem_and_shm", world.base / "demo",
                         ITERATIONS=iterations, LIVE_DANGEROUSLY=0)
        premise = world.start(["python", "premise.py"], demo)
        premise.wait_line(r"^premise@\S+ writing ", timeout=TIMEOUT)
        conclusion = world.start(["python", "conclusion.py"], demo)
        finished(conclusion)
        finished(premise)
        world.check_modules("premise.py", "conclusion.py")
        return {"premise": shm_chat(premise.stdout, "releasing the semaphore",
                                    "acquiring the semaphore..."),
                "conclusion": shm_chat(conclusion.stdout, "releasing the semaphore",
                                       "acquiring the semaphore..."),
                "stderr": premise.stderr + conclusion.stderr}

    real, fake = in_both_worlds(tmp_path, run)
    assert isinstance(real, dict) and isinstance(fake, dict)
    assert real["premise"].count(f"premise: iteration {iterations - 1}") == 1, real
    assert "conclusion: Memory attached at ADDRESS" in real["conclusion"]
    compare(real, fake)


def test_sysv_message_queues(upstream: dict[str, Path], tmp_path: Path) -> None:
    """premise.py and conclusion.py trade md5s through a message queue. One iteration: in
    1.2.0 conclusion.py checks ``s + 'x' == md5(...)`` from the second one on, so with more
    it stops with "Message corruption" and premise.py polls forever."""
    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["sysv_ipc"] / "message_queues", world.base / "demo",
                         ITERATIONS=1)
        premise = world.start(["python", "premise.py"], demo)
        premise.wait_line(r"^premise@\S+ Sending ", timeout=TIMEOUT)
        conclusion = world.start(["python", "conclusion.py"], demo)
        finished(conclusion)
        finished(premise)
        world.check_modules("premise.py", "conclusion.py")
        return {"premise": mq_chat(premise.stdout), "conclusion": mq_chat(conclusion.stdout),
                "stderr": premise.stderr + conclusion.stderr}

    real, fake = in_both_worlds(tmp_path, run)
    assert isinstance(real, dict) and isinstance(fake, dict)
    assert "premise: 1 iterations complete" in real["premise"], real
    compare(real, fake)


@pytest.mark.parametrize("coin", [0, 1], ids=["graceful", "ValueError"])
def test_sysv_semaphore_context_manager(upstream: dict[str, Path], tmp_path: Path,
                                        coin: int) -> None:
    """parent.py starts ``python child.py KEY``, which holds the semaphore in a ``with``
    block and leaves it gracefully or by an exception (the child's coin is fixed here, one
    test per side)."""
    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["sysv_ipc"] / "semaphore_context_manager",
                         world.base / "demo")
        parent = finished(world.start(["python", "parent.py"], demo, own_server=True))
        world.check_modules("parent.py", "child.py")
        return parent_and_child(parent.stdout, parent.stderr, demo,
                                r"Parent: created semaphore (-?\d+)\.")

    real, fake = in_both_worlds(tmp_path, run, coin=coin)
    assert isinstance(real, dict) and isinstance(fake, dict)
    ending = ("Child: raising ValueError to demonstrate unplanned context exit" if coin
              else "Child: gracefully exiting context (releasing the semaphore).")
    assert ending in real["child"], real
    compare(real, fake)


# --- posix_ipc -------------------------------------------------------------------------------
def test_posix_demo1_shared_memory_and_semaphore(upstream: dict[str, Path],
                                                 tmp_path: Path) -> None:
    """premise.py and conclusion.py mmap a POSIX shared memory object's descriptor and
    take turns under a named semaphore."""
    iterations = 4

    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["posix_ipc"] / "demo1", world.base / "demo",
                         ITERATIONS=iterations, LIVE_DANGEROUSLY=0)
        premise = world.start(["python", "premise.py"], demo)
        premise.wait_line(r"^premise@\S+ writing ", timeout=TIMEOUT)
        conclusion = world.start(["python", "conclusion.py"], demo)
        finished(conclusion)
        finished(premise)
        world.check_modules("premise.py", "conclusion.py")
        return {"premise": shm_chat(premise.stdout, "Releasing the semaphore",
                                    "Waiting to acquire the semaphore"),
                "conclusion": shm_chat(conclusion.stdout, "Releasing the semaphore",
                                       "Waiting to acquire the semaphore"),
                "stderr": premise.stderr + conclusion.stderr}

    real, fake = in_both_worlds(tmp_path, run, posix_shm=True)
    assert isinstance(real, dict) and isinstance(fake, dict)
    assert f"conclusion: {iterations} iterations complete" in real["conclusion"], real
    compare(real, fake)


def test_posix_demo2_message_queues(upstream: dict[str, Path], tmp_path: Path) -> None:
    iterations = 5

    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["posix_ipc"] / "demo2", world.base / "demo",
                         ITERATIONS=iterations)
        premise = world.start(["python", "premise.py"], demo)
        premise.wait_line(r"^premise@\S+ Sending ", timeout=TIMEOUT)
        conclusion = world.start(["python", "conclusion.py"], demo)
        finished(conclusion)
        finished(premise)
        world.check_modules("premise.py", "conclusion.py")
        return {"premise": mq_chat(premise.stdout), "conclusion": mq_chat(conclusion.stdout),
                "stderr": premise.stderr + conclusion.stderr}

    real, fake = in_both_worlds(tmp_path, run)
    assert isinstance(real, dict) and isinstance(fake, dict)
    assert f"premise: {iterations} iterations complete" in real["premise"], real
    compare(real, fake)


@pytest.mark.parametrize("script", ["one_shot_signal.py", "one_shot_thread.py",
                                    "repeating_signal.py", "repeating_thread.py"])
def test_posix_demo3_notifications(upstream: dict[str, Path], tmp_path: Path,
                                   script: str) -> None:
    """A program asks for a notification (a signal, or a thread), sends what it reads on
    stdin, and the notification receives it. Each line is typed once the previous one was
    received, as a user reads the "Ding!" first; with a thread, a second later too, for
    the thread asks for the next notification after printing (a message sent before that
    would notify nobody, on Linux too). A thread's "Ding!" line comes when that thread runs:
    its place among the main thread's lines is left to chance, so the "Ding!" lines are
    compared apart there; a signal's handler runs as mq_send returns."""
    messages = ["Hello from the test"] if script.startswith("one_shot") else \
        ["first", "second message", "third"]

    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["posix_ipc"] / "demo3", world.base / "demo")
        program = world.start(["python", script], demo, stdin=True, own_server=True)
        prompt = r"Enter a message"
        for n, message in enumerate(messages, 1):
            program.wait_line(prompt, n, timeout=TIMEOUT)
            program.send(message + "\n")
            program.wait_line(r"Ding! Message", n, timeout=TIMEOUT)
            if script.endswith("_thread.py"):
                time.sleep(1.0)
        if script.startswith("repeating"):
            program.wait_line(prompt, len(messages) + 1, timeout=TIMEOUT)
            program.send("\n")
        finished(program)
        world.check_modules(script)
        if script.endswith("_thread.py"):
            return {**threads_apart(program.stdout), "stderr": program.stderr}
        return {"stdout": program.stdout.splitlines(), "stderr": program.stderr}

    real, fake = in_both_worlds(tmp_path, run)
    assert isinstance(real, dict) and isinstance(fake, dict)
    dings = real.get("notifications", real.get("stdout"))
    assert isinstance(dings, list)
    assert [line for line in dings if DING.fullmatch(line)] == [
        f"Ding! Message with priority 0 received: {m.encode()!r}" for m in messages]
    compare(real, fake)


@pytest.mark.parametrize("coin", [0, 1], ids=["graceful", "ValueError"])
def test_posix_demo4_semaphore_context_manager(upstream: dict[str, Path], tmp_path: Path,
                                               coin: int) -> None:
    """parent.py starts ``python child.py NAME``, which holds a named semaphore in a
    ``with`` block and leaves it gracefully (coin 0) or by an exception (coin 1)."""
    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["posix_ipc"] / "demo4", world.base / "demo")
        parent = finished(world.start(["python", "parent.py"], demo, own_server=True))
        world.check_modules("parent.py", "child.py")
        return parent_and_child(parent.stdout, parent.stderr, demo,
                                r"Parent: created semaphore (/\S+)\.")

    real, fake = in_both_worlds(tmp_path, run, posix_shm=True, coin=coin)
    assert isinstance(real, dict) and isinstance(fake, dict)
    assert "Child: semaphore SEMAPHORE aquired; holding for 3 seconds." in real["child"], real
    compare(real, fake)


def test_posix_demo5_selectors(upstream: dict[str, Path], tmp_path: Path) -> None:
    """listener.py waits in a ``selectors`` loop on a non-blocking queue's descriptor;
    transmitter.py, started once it listens, sends one message."""
    def run(world: World) -> dict[str, object]:
        demo = copy_demo(upstream["posix_ipc"] / "demo5", world.base / "demo")
        listener = world.start(["python", "listener.py"], demo)
        listener.wait_line(r"^Listening\.\.\.$", timeout=TIMEOUT)
        transmitter = finished(world.start(["python", "transmitter.py"], demo))
        finished(listener)
        world.check_modules("listener.py", "transmitter.py")
        return {"listener": listener.stdout.splitlines(),
                "transmitter": transmitter.stdout.splitlines(),
                "stderr": listener.stderr + transmitter.stderr}

    real, fake = in_both_worlds(tmp_path, run)
    assert isinstance(real, dict) and isinstance(fake, dict)
    assert real["listener"] == ["Listening...", "Message:  b'From transmitter'",
                                "Priority:  0"], real
    compare(real, fake)
