"""Corner cases of sysv_ipc and posix_ipc, played on a module pair (real or fake).

``run_all(sysv_ipc, posix_ipc)`` returns one outcome per step: the repr of its result, or
the exception's class name and message. tests/test_compat_api.py compares the fakes'
outcomes with the real packages' on a real kernel (in a fresh IPC namespace).
"""
from __future__ import annotations

import errno
import os
import types


def outcome(fn):
    try:
        result = fn()
    except BaseException as e:  # noqa: BLE001 - the exception is the outcome
        detail = e.errno if isinstance(e, OSError) and e.errno is not None else str(e)
        return [type(e).__name__, detail]
    return ["ok", repr(result)]


SYSV_ATTRS = {
    "q": ["key", "id", "last_send_time", "last_receive_time", "last_change_time",
          "current_messages", "last_send_pid", "last_receive_pid", "max_size", "mode", "uid",
          "gid", "cuid", "cgid"],
    "sem": ["id", "key", "value", "undo", "block", "mode", "uid", "gid", "cuid", "cgid",
            "last_pid", "waiting_for_nonzero", "waiting_for_zero", "o_time"],
    "m": ["id", "key", "size", "address", "attached", "last_attach_time", "last_detach_time",
          "last_change_time", "creator_pid", "last_pid", "number_attached", "uid", "gid",
          "cuid", "cgid", "mode"],
}
POSIX_ATTRS = {
    "q": ["name", "max_messages", "max_message_size", "mode", "block", "mqd",
          "current_messages"],
    "sem": ["name", "mode", "value"],
    "m": ["name", "fd", "mode", "size"],
}


def rewrite_attrs(steps, o, var, names):
    """Write each attribute back with its own value: read-only ones refuse, with the
    exception and message of their kind."""
    for name in names:
        steps[f"{var}: rewrite {name}"] = (
            lambda name=name: setattr(getattr(o, var), name, getattr(getattr(o, var), name)))


def sysv_steps(s):
    K = 0x7A00
    ATTRS = SYSV_ATTRS
    steps = {}
    o = types.SimpleNamespace()
    steps["mq none without excl"] = lambda: s.MessageQueue(None)
    steps["mq excl without creat"] = lambda: s.MessageQueue(K, s.IPC_EXCL)
    steps["mq missing"] = lambda: s.MessageQueue(K)
    steps["mq key not int"] = lambda: s.MessageQueue("k")
    steps["mq key too big"] = lambda: s.MessageQueue(2 ** 70)
    steps["create q"] = lambda: setattr(o, "q", s.MessageQueue(K, s.IPC_CREX,
                                                              max_message_size=16))
    rewrite_attrs(steps, o, "q", ATTRS["q"])
    steps["mq exists"] = lambda: s.MessageQueue(K, s.IPC_CREX)
    steps["mq key, str, repr"] = lambda: (o.q.key, str(q).split(",")[0], repr(q))
    steps["mq send type 0"] = lambda: o.q.send(b"x", type=0)
    steps["mq send too long"] = lambda: o.q.send(b"x" * 17)
    steps["mq receive empty"] = lambda: o.q.receive(block=False)
    steps["mq send str"] = lambda: o.q.send("é", type=5)
    steps["mq receive type 4"] = lambda: o.q.receive(block=False, type=4)
    steps["mq receive -9"] = lambda: o.q.receive(type=-9)
    steps["mq set key"] = lambda: setattr(o.q, "key", 1)
    steps["mq set id"] = lambda: setattr(o.q, "id", 1)
    steps["mq set current_messages"] = lambda: setattr(o.q, "current_messages", 1)
    steps["mq set uid str"] = lambda: setattr(o.q, "uid", "0")
    steps["mq mode, max_size"] = lambda: (o.q.mode, o.q.max_size, o.q.current_messages)
    steps["mq set max_size"] = lambda: (setattr(o.q, "max_size", 100), o.q.max_size)
    steps["mq set mode"] = lambda: (setattr(o.q, "mode", 0o640), o.q.mode)
    steps["mq remove"] = lambda: o.q.remove()
    steps["mq remove again"] = lambda: o.q.remove()
    steps["mq send removed"] = lambda: o.q.send(b"x")
    steps["mq receive removed"] = lambda: o.q.receive()
    steps["mq stat removed"] = lambda: o.q.current_messages
    steps["remove_message_queue bad"] = lambda: s.remove_message_queue(12345)
    steps["mq private key"] = lambda: s.MessageQueue(2 ** 40, s.IPC_CREAT).key

    steps["create sem"] = lambda: setattr(o, "sem", s.Semaphore(K + 1, s.IPC_CREX,
                                                                initial_value=3))
    rewrite_attrs(steps, o, "sem", ATTRS["sem"])
    steps["sem value"] = lambda: (o.sem.value, o.sem.block, o.sem.undo, o.sem.o_time, o.sem.mode)
    steps["sem set -1"] = lambda: setattr(o.sem, "value", -1)
    steps["sem set 999999"] = lambda: setattr(o.sem, "value", 999999)
    steps["sem set str"] = lambda: setattr(o.sem, "value", "1")
    steps["sem delta 0"] = lambda: o.sem.acquire(None, 0)
    steps["sem delta big"] = lambda: o.sem.release(70000)
    steps["sem timeout negative"] = lambda: o.sem.acquire(-1)
    steps["sem timeout str"] = lambda: o.sem.acquire("1")
    steps["sem acquire 2"] = lambda: (o.sem.acquire(delta=2), o.sem.value)
    steps["sem nonblocking"] = lambda: (setattr(o.sem, "block", False), o.sem.acquire(delta=5))
    steps["sem Z busy"] = lambda: o.sem.Z()
    steps["sem release -2"] = lambda: (o.sem.release(-2), o.sem.value)
    steps["sem context"] = lambda: [o.sem.value for _ in [o.sem.__enter__()]] + [
        o.sem.__exit__(None, None, None), o.sem.value]
    steps["sem set o_time"] = lambda: setattr(o.sem, "o_time", 1)
    steps["sem reopen with creat resets"] = lambda: (s.Semaphore(K + 1, s.IPC_CREAT).value,
                                                    o.sem.value)
    steps["sem remove"] = lambda: o.sem.remove()
    steps["sem release removed"] = lambda: o.sem.release()
    steps["sem value removed"] = lambda: o.sem.value
    steps["remove_semaphore bad"] = lambda: s.remove_semaphore(12345)

    steps["create m"] = lambda: setattr(o, "m", s.SharedMemory(K + 2, s.IPC_CREX, size=100,
                                                               init_character=b"@"))
    rewrite_attrs(steps, o, "m", ATTRS["m"])
    steps["shm size etc"] = lambda: (o.m.size, o.m.attached, o.m.number_attached, o.m.read(3))
    steps["shm default size"] = lambda: s.SharedMemory(K + 3, s.IPC_CREX).size
    steps["shm exists"] = lambda: s.SharedMemory(K + 2, s.IPC_CREX)
    steps["shm missing"] = lambda: s.SharedMemory(K + 9)
    steps["shm too big for key"] = lambda: s.SharedMemory(K + 2, s.IPC_CREAT, size=1 << 20)
    steps["shm bad init"] = lambda: s.SharedMemory(None, s.IPC_CREX, init_character="ab")
    steps["shm read offset = size"] = lambda: o.m.read(offset=100)
    steps["shm read -1 count"] = lambda: o.m.read(-1)
    steps["shm read past end"] = lambda: o.m.read(500, 98)
    steps["shm write past end"] = lambda: o.m.write(b"x" * 10, 95)
    steps["shm write str"] = lambda: (o.m.write("héllo", 1), o.m.read(8))
    steps["shm write offset -1"] = lambda: o.m.write(b"x", -1)
    steps["shm set size"] = lambda: setattr(o.m, "size", 1)
    steps["shm set attached"] = lambda: setattr(o.m, "attached", False)
    steps["shm set gid str"] = lambda: setattr(o.m, "gid", "1")
    steps["shm attach address str"] = lambda: o.m.attach("1")
    steps["shm detach"] = lambda: (o.m.detach(), o.m.attached, o.m.address)
    steps["shm detach again"] = lambda: o.m.detach()
    steps["shm read detached"] = lambda: o.m.read()
    steps["shm write detached"] = lambda: o.m.write(b"x")
    steps["shm attach rdonly"] = lambda: (o.m.attach(None, s.SHM_RDONLY), o.m.read(2))
    steps["shm write rdonly"] = lambda: o.m.write(b"x")
    steps["shm attach bad id"] = lambda: s.attach(-5)
    steps["shm remove"] = lambda: o.m.remove()
    steps["shm still readable"] = lambda: o.m.read(2)
    steps["shm remove again"] = lambda: o.m.remove()
    steps["remove_shared_memory bad"] = lambda: s.remove_shared_memory(12345)
    steps["ftok missing"] = lambda: s.ftok("/no/such/path", 1, True)
    return steps


def posix_steps(p):
    ATTRS = POSIX_ATTRS
    steps = {}
    o = types.SimpleNamespace()
    name = "/ipcsim-compat-scenarios"
    steps["mq none without excl"] = lambda: p.MessageQueue(None)
    steps["mq excl without creat"] = lambda: p.MessageQueue(name, p.O_EXCL)
    steps["mq missing"] = lambda: p.MessageQueue(name)
    steps["mq name type"] = lambda: p.MessageQueue(5)
    steps["mq no slash"] = lambda: p.MessageQueue("abc", p.O_CREAT)
    steps["mq inner slash"] = lambda: p.MessageQueue("/a/b", p.O_CREAT)
    steps["mq neither read nor write"] = lambda: p.MessageQueue(name, p.O_CREAT, read=False,
                                                                write=False)
    steps["create q"] = lambda: setattr(o, "q", p.MessageQueue(name, p.O_CREX, max_messages=2,
                                                              max_message_size=8))
    rewrite_attrs(steps, o, "q", ATTRS["q"])
    steps["mq attrs"] = lambda: (o.q.name, o.q.max_messages, o.q.max_message_size, o.q.block,
                                 o.q.current_messages, o.q.mode, str(q))
    steps["mq exists"] = lambda: p.MessageQueue(name, p.O_CREX)
    steps["mq bad attrs"] = lambda: p.MessageQueue(name + "x", p.O_CREX, max_messages=0)
    steps["mq priority"] = lambda: o.q.send(b"x", priority=32768)
    steps["mq priority -1"] = lambda: o.q.send(b"x", priority=-1)
    steps["mq too long"] = lambda: o.q.send(b"x" * 9)
    steps["mq timeout str"] = lambda: o.q.send(b"x", "1")
    steps["mq send 2"] = lambda: (o.q.send(b"a", priority=1), o.q.send("b", priority=2))
    steps["mq full"] = lambda: o.q.send(b"c", timeout=0)
    steps["mq receive"] = lambda: (o.q.receive(), o.q.receive(0))
    steps["mq empty"] = lambda: o.q.receive(0)
    steps["mq nonblocking"] = lambda: (setattr(o.q, "block", False), o.q.block, o.q.receive())
    steps["mq set name"] = lambda: setattr(o.q, "name", "x")
    steps["mq set mqd"] = lambda: setattr(o.q, "mqd", 3)
    steps["mq bad notification"] = lambda: o.q.request_notification("x")
    steps["mq bad tuple"] = lambda: o.q.request_notification((1, 2))
    steps["mq notify"] = lambda: o.q.request_notification(10)
    steps["mq notify busy"] = lambda: p.MessageQueue(name).request_notification(10)
    steps["mq cancel"] = lambda: o.q.request_notification()
    steps["mq write only"] = lambda: p.MessageQueue(name, read=False).receive()
    steps["mq read only"] = lambda: p.MessageQueue(name, write=False).send(b"x")
    steps["mq unlink"] = lambda: o.q.unlink()
    steps["mq unlink again"] = lambda: o.q.unlink()
    steps["mq close"] = lambda: o.q.close()
    steps["mq close again"] = lambda: o.q.close()
    steps["mq send closed"] = lambda: o.q.send(b"x")
    steps["mq block closed"] = lambda: o.q.block
    steps["unlink_message_queue none"] = lambda: p.unlink_message_queue(name + "y")

    sname = name + "-sem"
    steps["sem missing"] = lambda: p.Semaphore(sname)
    steps["sem bad name"] = lambda: p.Semaphore("/a/b", p.O_CREAT)
    steps["sem too big"] = lambda: p.Semaphore(sname, p.O_CREAT, initial_value=2 ** 31)
    steps["create sem"] = lambda: setattr(o, "sem", p.Semaphore(sname, p.O_CREX,
                                                                initial_value=2))
    rewrite_attrs(steps, o, "sem", ATTRS["sem"])
    steps["sem attrs"] = lambda: (o.sem.name, o.sem.value, o.sem.mode, str(sem), repr(sem))
    steps["sem exists"] = lambda: p.Semaphore(sname, p.O_CREX)
    steps["sem acquire"] = lambda: (o.sem.acquire(), o.sem.acquire(0), o.sem.value)
    steps["sem busy"] = lambda: o.sem.acquire(0)
    steps["sem timeout"] = lambda: o.sem.acquire(0.01)
    steps["sem timeout negative"] = lambda: o.sem.acquire(-1)
    steps["sem context"] = lambda: (o.sem.release(), [o.sem.value for _ in [o.sem.__enter__()]],
                                    o.sem.__exit__(None, None, None), o.sem.value)
    steps["sem set value"] = lambda: setattr(o.sem, "value", 3)
    steps["sem unlink"] = lambda: o.sem.unlink()
    steps["sem unlink again"] = lambda: o.sem.unlink()
    steps["sem still works"] = lambda: (o.sem.release(), o.sem.value)
    steps["sem close"] = lambda: o.sem.close()
    steps["sem closed value"] = lambda: o.sem.value
    steps["sem closed acquire"] = lambda: o.sem.acquire()
    steps["sem close again"] = lambda: o.sem.close()
    steps["unlink_semaphore none"] = lambda: p.unlink_semaphore(sname)

    mname = name + "-shm"
    steps["shm missing"] = lambda: p.SharedMemory(mname)
    steps["shm bad name"] = lambda: p.SharedMemory("/a/b", p.O_CREAT)
    steps["shm read-only sized"] = lambda: p.SharedMemory(mname, p.O_CREAT, size=10,
                                                          read_only=True)
    steps["shm gone after that"] = lambda: p.SharedMemory(mname)
    steps["create m"] = lambda: setattr(o, "m", p.SharedMemory(mname, p.O_CREX, size=3333))
    rewrite_attrs(steps, o, "m", ATTRS["m"])
    steps["shm attrs"] = lambda: (o.m.name, o.m.size, o.m.mode, str(m), o.m.fd == o.m.fileno())
    steps["shm exists"] = lambda: p.SharedMemory(mname, p.O_CREX)
    steps["shm set fd"] = lambda: setattr(o.m, "fd", 1)
    steps["shm set size"] = lambda: setattr(o.m, "size", 1)
    steps["shm trunc"] = lambda: p.SharedMemory(mname, p.O_TRUNC).size
    steps["shm trunc read-only"] = lambda: p.SharedMemory(mname, p.O_TRUNC, read_only=True)
    steps["shm unlink"] = lambda: o.m.unlink()
    steps["shm unlink again"] = lambda: o.m.unlink()
    steps["shm close_fd"] = lambda: (o.m.close_fd(), o.m.fd)
    steps["shm size closed"] = lambda: o.m.size
    steps["shm close_fd again"] = lambda: o.m.close_fd()
    steps["unlink_shared_memory none"] = lambda: p.unlink_shared_memory(mname)
    return steps


def run_all(sysv_ipc, posix_ipc) -> dict:
    out = {}
    for prefix, steps in (("sysv", sysv_steps), ("posix", posix_steps)):
        for label, fn in steps(sysv_ipc if prefix == "sysv" else posix_ipc).items():
            out[f"{prefix}: {label}"] = outcome(fn)
    assert errno.ENOENT     # (errno numbers are compared as Linux gives them)
    return out
