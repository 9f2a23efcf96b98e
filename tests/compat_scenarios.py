"""Corner cases of sysv_ipc and posix_ipc, played on a module pair (real or fake).

``run_all(sysv_ipc, posix_ipc)`` returns one outcome per step: the repr of its result, or
the exception's class name and message. tests/test_compat_api.py compares the fakes'
outcomes with the real packages' on a real kernel (in a fresh IPC namespace).
"""
from __future__ import annotations

import array
import copy
import errno
import os
import pickle
import types
import warnings
import weakref


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


# attributes with a setter: deleting one crashes the real modules (the setter gets NULL)
WRITABLE = {"max_size", "mode", "uid", "gid", "value", "undo", "block"}
POSIX_WRITABLE = {"block"}


def delete_attrs(steps, o, var, names, writable=WRITABLE):
    """Delete each read-only attribute, and one that does not exist: refused, with the
    exception and message of their kind."""
    for name in [n for n in names if n not in writable] + ["fooo"]:
        steps[f"{var}: delete {name}"] = lambda name=name: delattr(getattr(o, var), name)


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
    steps["mq key, str, repr"] = lambda: (o.q.key, str(o.q).split(",")[0], repr(o.q))
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


def sysv_argument_steps(s):
    """Every constructor and method argument with bad types and out-of-range values, every
    payload type, sizes at and past the limits, operations after remove."""
    K = 0x7B00
    steps = {}
    o = types.SimpleNamespace()
    # keys
    steps["key float"] = lambda: s.MessageQueue(1.5)
    steps["key bool"] = lambda: s.MessageQueue(True, s.IPC_CREX).key
    steps["key -1"] = lambda: s.MessageQueue(-1, s.IPC_CREX).key
    steps["key 2**32+5"] = lambda: s.MessageQueue(2 ** 32 + 5, s.IPC_CREX).key
    steps["key 2**63"] = lambda: s.MessageQueue(2 ** 63)
    steps["key -2**63"] = lambda: s.MessageQueue(-2 ** 63, s.IPC_CREX).key
    steps["key None creat only"] = lambda: s.Semaphore(None, s.IPC_CREAT)
    steps["shm key None creat only"] = lambda: s.SharedMemory(None, s.IPC_CREAT)
    steps["shm key 2**40+7"] = lambda: s.SharedMemory(2 ** 40 + 7, s.IPC_CREX).key
    steps["shm exists message"] = lambda: s.SharedMemory(2 ** 40 + 7, s.IPC_CREX)
    # flags, mode, sizes
    steps["mq flags float"] = lambda: s.MessageQueue(None, 1.5)
    steps["mq flags str"] = lambda: s.MessageQueue(None, "x")
    steps["mq flags None"] = lambda: s.MessageQueue(None, None)
    steps["mq mode 2**40"] = lambda: s.MessageQueue(None, s.IPC_CREX, mode=2 ** 40)
    steps["mq max_message_size float"] = lambda: s.MessageQueue(None, s.IPC_CREX,
                                                                max_message_size=1.5)
    steps["mq max_message_size -1"] = lambda: s.MessageQueue(None, s.IPC_CREX,
                                                             max_message_size=-1)
    steps["shm size float"] = lambda: s.SharedMemory(None, s.IPC_CREX, size=1.5)
    steps["shm size None"] = lambda: s.SharedMemory(None, s.IPC_CREX, size=None)
    steps["shm size 2**64-1"] = lambda: s.SharedMemory(None, s.IPC_CREX, size=2 ** 64 - 1)
    steps["shm size -1"] = lambda: s.SharedMemory(None, s.IPC_CREX, size=-1)
    steps["shm size 2**64+4"] = lambda: s.SharedMemory(None, s.IPC_CREX, size=2 ** 64 + 4).size
    steps["shm init None"] = lambda: s.SharedMemory(None, s.IPC_CREX, init_character=None)
    steps["shm init int"] = lambda: s.SharedMemory(None, s.IPC_CREX, init_character=1)
    steps["shm init bytearray"] = lambda: s.SharedMemory(None, s.IPC_CREX, size=5,
                                                         init_character=bytearray(b"z")).read()
    steps["shm flags junk"] = lambda: s.SharedMemory(K + 3, s.IPC_CREX | 0o777
                                                     | s.SHM_NORESERVE).mode
    steps["shm size 0 with creat only"] = lambda: s.SharedMemory(K + 1, s.IPC_CREAT).size
    steps["shm mode 0o400"] = lambda: (lambda m: (m.read(2), m.write(b"x")))(
        s.SharedMemory(K + 2, s.IPC_CREX, mode=0o400, size=5))
    steps["shm open existing"] = lambda: s.SharedMemory(K + 2).read(2)
    steps["shm open existing smaller"] = lambda: s.SharedMemory(K + 2, size=3).size
    steps["sem mode -1"] = lambda: (lambda x: (x.mode, x.value))(s.Semaphore(K, 0, mode=-1))
    steps["sem initial -1"] = lambda: s.Semaphore(None, s.IPC_CREX, initial_value=-1)
    steps["sem initial 40000"] = lambda: s.Semaphore(None, s.IPC_CREX, initial_value=40000)
    steps["sem initial 2**31"] = lambda: s.Semaphore(None, s.IPC_CREX, initial_value=2 ** 31)
    steps["sem read-only mode"] = lambda: (lambda x: (x.value, x.mode))(
        s.Semaphore(K + 2, s.IPC_CREX, mode=0o400, initial_value=5))
    steps["sem creat existing"] = lambda: s.Semaphore(K + 2, s.IPC_CREAT, initial_value=9).value
    steps["sem bad initial value, created all the same"] = lambda: s.Semaphore(
        K + 4, s.IPC_CREX, initial_value=40000)
    steps["sem left behind"] = lambda: (s.Semaphore(K + 4).value, s.Semaphore(K + 4).mode)
    steps["sem bad initial value with IPC_CREAT"] = lambda: s.Semaphore(K + 4, s.IPC_CREAT,
                                                                        initial_value=-5)
    steps["sem still there"] = lambda: s.Semaphore(K + 4).value
    steps["sem flags junk"] = lambda: s.Semaphore(K + 3, s.IPC_CREX | 0o4000 | 0o777).mode
    steps["sem IPC_EXCL alone"] = lambda: s.Semaphore(1, s.IPC_EXCL)
    steps["shm IPC_EXCL alone"] = lambda: s.SharedMemory(1, s.IPC_EXCL)
    steps["mq IPC_NOWAIT in flags"] = lambda: s.MessageQueue(K + 5, s.IPC_CREAT | 0o4000).key
    steps["shm SHM_HUGETLB"] = lambda: s.SharedMemory(K + 6, s.IPC_CREX | s.SHM_HUGETLB,
                                                      size=4096)
    steps["shm attach SHM_RDONLY|SHM_REMAP"] = lambda: (lambda m: (
        m.attach(None, s.SHM_RDONLY | s.SHM_REMAP), m.read(1)))(s.SharedMemory(K + 7,
                                                                                s.IPC_CREX))
    # subclasses of bytes and str
    steps["send a bytes subclass"] = lambda: (lambda q: (q.send(Bytes(b"ab")),
                                                         type(q.receive()[0]).__name__))(
        s.MessageQueue(None, s.IPC_CREX))
    steps["send a str subclass"] = lambda: (lambda q: (q.send(Str("ab")), q.receive()))(
        s.MessageQueue(None, s.IPC_CREX))
    steps["write a bytes subclass"] = lambda: (lambda m: (m.write(Bytes(b"ab")),
                                                          type(m.read(2)).__name__))(
        s.SharedMemory(None, s.IPC_CREX))
    # integers that are not ints
    steps["__index__: key, flags, mode"] = lambda: s.MessageQueue(Index(K + 10),
                                                                  Index(s.IPC_CREX),
                                                                  Index(0o600)).key
    steps["__index__: size"] = lambda: s.SharedMemory(None, s.IPC_CREX, size=Index(10))
    steps["__index__: max_message_size"] = lambda: s.MessageQueue(None, s.IPC_CREX,
                                                                  max_message_size=Index(10))
    steps["__index__: type"] = lambda: (lambda q: (q.send(b"x", type=Index(3)),
                                                   q.receive(type=Index(3))))(
        s.MessageQueue(K + 10))
    steps["__index__: delta"] = lambda: s.Semaphore(None, s.IPC_CREX).release(Index(2))
    steps["__index__: timeout"] = lambda: s.Semaphore(None, s.IPC_CREX,
                                                      initial_value=1).acquire(Index(1))
    steps["__index__: byte_count, offset"] = lambda: s.SharedMemory(
        None, s.IPC_CREX, size=10).read(Index(2), Index(1))
    steps["__index__: value"] = lambda: setattr(s.Semaphore(None, s.IPC_CREX), "value",
                                                Index(2))
    # timeouts
    steps["sem timeout 2**70"] = lambda: s.Semaphore(None, s.IPC_CREX).acquire(2 ** 70)
    steps["sem Z timeout str"] = lambda: s.Semaphore(None, s.IPC_CREX).Z("x")
    steps["sem Z timeout -0.5"] = lambda: s.Semaphore(None, s.IPC_CREX).Z(-0.5)
    steps["sem Z timeout True"] = lambda: s.Semaphore(None, s.IPC_CREX).Z(True)
    # the shape of a call, as the C argument parser checks it
    steps["mq no key"] = lambda: s.MessageQueue()
    steps["mq 5 arguments"] = lambda: s.MessageQueue(None, 0, 0, 0, 0)
    steps["mq 5 keywords"] = lambda: s.MessageQueue(key=None, flags=0, mode=0,
                                                    max_message_size=1, x=2)
    steps["mq unknown keyword"] = lambda: s.MessageQueue(None, foo=1)
    steps["mq key twice"] = lambda: s.MessageQueue(None, key=1)
    steps["mq flags twice"] = lambda: s.MessageQueue(None, 0, flags=1)
    steps["mq keywords without key"] = lambda: s.MessageQueue(flags=0)
    steps["sem keyword of another class"] = lambda: s.Semaphore(1, max_message_size=5)
    steps["shm 6 arguments"] = lambda: s.SharedMemory(1, 0, 0, 0, b" ", 1)
    steps["shm keywords"] = lambda: s.SharedMemory(key=K + 9, flags=s.IPC_CREX, size=1,
                                                   mode=0o644, init_character=b"a").read()
    steps["attach no id"] = lambda: s.attach()
    steps["attach 4 arguments"] = lambda: s.attach(1, None, 0, 1)
    steps["attach misspelt keyword"] = lambda: s.attach(id=1, adress=5)
    steps["ftok no id"] = lambda: s.ftok("/")
    steps["ftok bad path, no id"] = lambda: s.ftok(5)
    steps["ftok 4 keywords"] = lambda: s.ftok(path="/", id=1, silence_warning=1, x=1)
    steps["ftok keywords"] = lambda: s.ftok(id=1, silence_warning=True, path="/") == s.ftok(
        "/", 1, True)
    steps["remove_semaphore keyword"] = lambda: s.remove_semaphore(id=1)
    steps["remove_semaphore no id"] = lambda: s.remove_semaphore()
    steps["remove_shared_memory 2 arguments"] = lambda: s.remove_shared_memory(1, 2)
    steps["remove_message_queue no id"] = lambda: s.remove_message_queue()
    steps["methods without arguments given some"] = lambda: [
        outcome(lambda: fn(*args, **kw))
        for obj in (s.MessageQueue(None, s.IPC_CREX), s.Semaphore(None, s.IPC_CREX),
                    s.SharedMemory(None, s.IPC_CREX))
        for name in ("remove", "detach", "__enter__") if hasattr(obj, name)
        for fn in [getattr(obj, name)] for args, kw in (((1,), {}), ((), {"x": 1}))]
    steps["__exit__ with a keyword"] = lambda: s.Semaphore(None, s.IPC_CREX).__exit__(x=1)
    # objects of the type
    steps["create q"] = lambda: setattr(o, "q", s.MessageQueue(K, s.IPC_CREX))
    delete_attrs(steps, o, "q", SYSV_ATTRS["q"])
    steps["no such attribute"] = lambda: o.q.fooo
    steps["set no such attribute"] = lambda: setattr(o.q, "fooo", 1)
    steps["weakref"] = lambda: weakref.ref(o.q)
    steps["copy"] = lambda: copy.copy(o.q)
    steps["pickle"] = lambda: pickle.dumps(o.q)
    steps["pickle protocol 0"] = lambda: pickle.dumps(o.q, 0)
    # payloads
    steps["send bytearray"] = lambda: (o.q.send(bytearray(b"ab")), o.q.receive())
    steps["send memoryview"] = lambda: (o.q.send(memoryview(b"xyz")[1:]), o.q.receive())
    steps["send array"] = lambda: (o.q.send(array.array("i", [1])), o.q.receive())
    steps["send empty"] = lambda: (o.q.send(b""), o.q.receive())
    steps["send str"] = lambda: (o.q.send("héllo", type=3), o.q.receive(type=3))
    steps["send 2048"] = lambda: (o.q.send(b"x" * 2048), len(o.q.receive()[0]))
    steps["send 2049"] = lambda: o.q.send(b"x" * 2049)
    steps["send 8192"] = lambda: s.MessageQueue(K + 1, s.IPC_CREX,
                                                max_message_size=9000).send(b"x" * 8192)
    steps["send 8193"] = lambda: s.MessageQueue(K + 1).send(b"x" * 8193)
    steps["send 8193 small queue object"] = lambda: s.MessageQueue(K + 1).send(b"x" * 3000)
    steps["receive E2BIG"] = lambda: s.MessageQueue(K + 1, max_message_size=10).receive()
    steps["receive 2**62 buffer"] = lambda: s.MessageQueue(K + 1,
                                                           max_message_size=2 ** 62).receive()
    steps["receive 8192"] = lambda: len(s.MessageQueue(K + 1, max_message_size=8192)
                                        .receive()[0])
    steps["send type float"] = lambda: o.q.send(b"x", type=1.0)
    steps["send type 2**31"] = lambda: o.q.send(b"x", type=2 ** 31)
    steps["send type -5"] = lambda: o.q.send(b"x", type=-5)
    steps["send block weird"] = lambda: (o.q.send(b"w", block=[]), o.q.receive(block=()))
    # every sign of type and value of block
    steps["fill types"] = lambda: [o.q.send(str(t), type=t) for t in (3, 1, 2, 3, 5)]
    steps["receive type 3"] = lambda: o.q.receive(type=3)
    steps["receive type -2"] = lambda: o.q.receive(type=-2)
    steps["receive type -2 again"] = lambda: o.q.receive(type=-2)
    steps["receive type -2 none left"] = lambda: o.q.receive(False, -2)
    steps["receive type 4 none"] = lambda: o.q.receive(block=0, type=4)
    steps["receive type 0"] = lambda: o.q.receive(True, 0)
    steps["receive type -2**31"] = lambda: o.q.receive(False, -2 ** 31)
    steps["receive type 2**31"] = lambda: o.q.receive(False, 2 ** 31)
    steps["receive type str"] = lambda: o.q.receive(False, "1")
    steps["receive rest"] = lambda: (o.q.current_messages, o.q.receive(False),
                                     o.q.current_messages)
    steps["receive nonblocking empty"] = lambda: o.q.receive(block=None)
    steps["mq stats"] = lambda: (o.q.last_send_pid == o.q.last_receive_pid > 1,
                                 o.q.last_send_time > 0, o.q.last_receive_time > 0,
                                 o.q.last_change_time > 0, o.q.cuid, o.q.cgid, o.q.uid, o.q.gid)
    steps["mq max_size 2**40"] = lambda: (setattr(o.q, "max_size", 2 ** 40), o.q.max_size)
    # (the kernel keeps an int: more than msgmnb needs CAP_SYS_RESOURCE, which a container's
    # root may lack, so only values whose low 32 bits are small are compared)
    steps["mq max_size 2**64-2**32+1000"] = lambda: (
        setattr(o.q, "max_size", 2 ** 64 - 2 ** 32 + 1000), o.q.max_size)
    steps["mq max_size float"] = lambda: setattr(o.q, "max_size", 1.0)
    steps["mq max_size 0 full"] = lambda: (setattr(o.q, "max_size", 0),
                                           o.q.send(b"x", block=False))
    steps["mq uid -1"] = lambda: setattr(o.q, "uid", -1)
    steps["mq uid 5"] = lambda: (setattr(o.q, "uid", 5), o.q.uid, o.q.cuid)
    steps["mq gid 2**32+7"] = lambda: (setattr(o.q, "gid", 2 ** 32 + 7), o.q.gid)
    steps["mq mode 0o7777"] = lambda: (setattr(o.q, "mode", 0o7777), o.q.mode)
    steps["mq remove"] = lambda: o.q.remove()
    for name in ("last_send_time", "last_receive_time", "last_change_time", "current_messages",
                 "last_send_pid", "last_receive_pid", "max_size", "mode", "uid", "gid", "cuid",
                 "cgid"):
        steps[f"mq removed {name}"] = lambda name=name: getattr(o.q, name)
    for name in ("max_size", "mode", "uid", "gid"):
        steps[f"mq removed set {name}"] = lambda name=name: setattr(o.q, name, 1)
    steps["mq removed key id str"] = lambda: (o.q.key, str(o.q).split(",")[0], repr(o.q))
    steps["mq removed receive nonblocking"] = lambda: o.q.receive(False)
    # semaphores
    steps["create sem"] = lambda: setattr(o, "sem", s.Semaphore(K + 1, s.IPC_CREX,
                                                                initial_value=5))
    delete_attrs(steps, o, "sem", SYSV_ATTRS["sem"])
    steps["sem release -32768 nonblocking"] = lambda: (setattr(o.sem, "block", False),
                                                       o.sem.release(-32768))
    steps["sem acquire -32768"] = lambda: o.sem.acquire(delta=-32768)
    steps["sem acquire 32768"] = lambda: o.sem.acquire(delta=32768)
    steps["sem acquire -3"] = lambda: (o.sem.acquire(delta=-3), o.sem.value)
    steps["sem release -2"] = lambda: (o.sem.release(-2), o.sem.value)
    steps["sem release float"] = lambda: o.sem.release(1.0)
    steps["sem release True"] = lambda: (o.sem.release(True), o.sem.value)
    steps["sem acquire timeout 0 nonblocking"] = lambda: o.sem.acquire(0)
    steps["sem acquire timeout True"] = lambda: o.sem.acquire(True)
    steps["sem P V"] = lambda: (o.sem.P(), o.sem.V(), o.sem.value)
    steps["sem value 2**32+1"] = lambda: (setattr(o.sem, "value", 2 ** 32 + 1), o.sem.value)
    steps["sem value 2**70"] = lambda: setattr(o.sem, "value", 2 ** 70)
    steps["sem value 32768"] = lambda: setattr(o.sem, "value", 32768)
    steps["sem value 32767"] = lambda: (setattr(o.sem, "value", 32767), o.sem.value)
    steps["sem release at 32767"] = lambda: o.sem.release()
    steps["sem value True"] = lambda: (setattr(o.sem, "value", True), o.sem.value)
    steps["sem undo"] = lambda: (setattr(o.sem, "undo", 1), o.sem.undo, o.sem.release(),
                                 o.sem.value)
    steps["sem undo off"] = lambda: (setattr(o.sem, "undo", []), o.sem.undo)
    steps["sem block truthy"] = lambda: (setattr(o.sem, "block", "yes"), o.sem.block,
                                         setattr(o.sem, "block", False), o.sem.block)
    steps["sem Z busy nonblocking"] = lambda: o.sem.Z()
    steps["sem counts"] = lambda: (o.sem.waiting_for_nonzero, o.sem.waiting_for_zero,
                                   o.sem.last_pid > 1, o.sem.o_time > 0)
    steps["sem Z zero"] = lambda: (setattr(o.sem, "value", 0), o.sem.Z(), o.sem.Z(0.5))
    steps["sem acquire zero nonblocking"] = lambda: o.sem.acquire()
    steps["sem uid -1"] = lambda: setattr(o.sem, "uid", -1)
    steps["sem uid 2**32"] = lambda: (setattr(o.sem, "uid", 2 ** 32), o.sem.uid)
    steps["sem uid 5"] = lambda: (setattr(o.sem, "uid", 5), o.sem.uid, o.sem.cuid)
    steps["sem gid 7"] = lambda: (setattr(o.sem, "gid", 7), o.sem.gid, o.sem.cgid)
    steps["sem mode 0o1777"] = lambda: (setattr(o.sem, "mode", 0o1777), o.sem.mode)
    steps["sem mode float"] = lambda: setattr(o.sem, "mode", 1.0)
    steps["sem str repr"] = lambda: (str(o.sem).split(",")[0], repr(o.sem))
    steps["sem enter exit"] = lambda: (o.sem.release(), o.sem.__enter__() is o.sem,
                                       o.sem.__exit__(1, 2, 3), o.sem.__exit__(), o.sem.value)
    steps["sem enter busy"] = lambda: (setattr(o.sem, "value", 0), o.sem.__enter__())
    steps["sem remove"] = lambda: o.sem.remove()
    steps["sem remove again"] = lambda: o.sem.remove()
    steps["sem acquire removed"] = lambda: o.sem.acquire()
    steps["sem Z removed"] = lambda: o.sem.Z()
    steps["sem set value removed"] = lambda: setattr(o.sem, "value", 1)
    steps["sem set mode removed"] = lambda: setattr(o.sem, "mode", 1)
    steps["sem local flags removed"] = lambda: (o.sem.block, o.sem.undo, o.sem.key,
                                                str(o.sem).split(",")[0])
    for name in ("uid", "gid", "cuid", "cgid", "mode", "last_pid", "waiting_for_zero",
                 "waiting_for_nonzero", "o_time", "value"):
        steps[f"sem removed {name}"] = lambda name=name: getattr(o.sem, name)
    steps["remove_semaphore str"] = lambda: s.remove_semaphore("1")
    steps["remove_semaphore -1"] = lambda: s.remove_semaphore(-1)
    steps["remove_semaphore 2**31"] = lambda: s.remove_semaphore(2 ** 31)
    steps["attach id str"] = lambda: s.attach("1")
    steps["attach address float"] = lambda: s.attach(1, 1.5)
    steps["attach -1"] = lambda: s.attach(id=-1)
    # shared memory
    steps["create m"] = lambda: setattr(o, "m", s.SharedMemory(K, s.IPC_CREX, size=10))
    delete_attrs(steps, o, "m", SYSV_ATTRS["m"])
    steps["m read all"] = lambda: o.m.read()
    steps["m stats"] = lambda: (o.m.size, o.m.number_attached, o.m.mode, o.m.attached,
                                o.m.creator_pid == o.m.last_pid > 1,
                                o.m.last_attach_time > 0, o.m.last_detach_time,
                                o.m.last_change_time > 0, o.m.uid, o.m.cuid, o.m.gid, o.m.cgid)
    steps["m write bytearray"] = lambda: (o.m.write(bytearray(b"ab"), 2), o.m.read(4))
    steps["m write memoryview"] = lambda: (o.m.write(memoryview(b"xyz")[1:]), o.m.read(4))
    steps["m write array"] = lambda: (o.m.write(array.array("h", [0x4142])), o.m.read(4))
    steps["m write full"] = lambda: (o.m.write(b"0123456789"), o.m.read())
    steps["m write 11"] = lambda: o.m.write(b"0123456789A")
    steps["m write empty at end"] = lambda: o.m.write(b"", 10)
    steps["m write empty past end"] = lambda: o.m.write(b"", 11)
    steps["m write offset 2**64+1"] = lambda: (o.m.write(b"!", 2 ** 64 + 1), o.m.read(2))
    steps["m write offset float"] = lambda: o.m.write(b"x", 1.0)
    steps["m read offset float"] = lambda: o.m.read(1, 1.0)
    steps["m read count float"] = lambda: o.m.read(1.0)
    steps["m read offset -1"] = lambda: o.m.read(1, -1)
    steps["m read at 9"] = lambda: o.m.read(5, 9)
    steps["m read 2**63-1"] = lambda: o.m.read(2 ** 63 - 1)
    steps["m read 2**63"] = lambda: o.m.read(2 ** 63)
    steps["m read keywords"] = lambda: o.m.read(offset=3, byte_count=2)
    steps["m attach twice"] = lambda: (o.m.attach(), o.m.number_attached)
    steps["m detach"] = lambda: (o.m.detach(), o.m.number_attached, o.m.attached, o.m.address)
    steps["m detach again"] = lambda: (o.m.detach(), o.m.number_attached)
    steps["m attach flags float"] = lambda: o.m.attach(None, 1.0)
    steps["m attach unaligned address"] = lambda: o.m.attach(12345)
    steps["m after failed attach"] = lambda: (o.m.attached, o.m.address)
    steps["m attach SHM_RND"] = lambda: (o.m.attach(None, s.SHM_RND), o.m.attached)
    steps["m attach cycles"] = lambda: [(o.m.detach(), o.m.attach(), o.m.read(2))
                                        for _ in range(3)]
    steps["m buffer"] = lambda: (bytes(memoryview(o.m))[:3], len(memoryview(o.m)),
                                 bytearray(o.m)[:3])
    steps["m uid -1"] = lambda: setattr(o.m, "uid", -1)
    steps["m uid 2**70"] = lambda: setattr(o.m, "uid", 2 ** 70)
    steps["m uid float"] = lambda: setattr(o.m, "uid", 1.0)
    steps["m mode 0o7644"] = lambda: (setattr(o.m, "mode", 0o7644), o.m.mode)
    steps["m remove attached"] = lambda: (o.m.remove(), o.m.mode, o.m.key, o.m.number_attached)
    steps["m same key again"] = lambda: s.SharedMemory(K, s.IPC_CREX, size=5).size
    steps["m removed still attached"] = lambda: (o.m.read(3), o.m.write(b"z"), o.m.attached)
    steps["m detach removed"] = lambda: o.m.detach()
    steps["m removed size"] = lambda: o.m.size
    steps["m removed attach"] = lambda: o.m.attach()
    steps["m removed remove"] = lambda: o.m.remove()
    steps["m removed set mode"] = lambda: setattr(o.m, "mode", 0o600)
    steps["m2 create"] = lambda: setattr(o, "m2", s.SharedMemory(K + 8, s.IPC_CREX, size=8192))
    steps["m2 attach at its own address"] = lambda: o.m2.attach(o.m2.address)
    steps["m2 attach there with SHM_REMAP"] = lambda: (o.m2.attach(o.m2.address, s.SHM_REMAP),
                                                       o.m2.number_attached)
    steps["m2 detach, attach at the same address"] = lambda: (lambda a: (
        o.m2.detach(), o.m2.attach(a), o.m2.address == a))(o.m2.address)
    steps["m2 attach at 0"] = lambda: (o.m2.attach(0), o.m2.attached)
    steps["m2 attach at -1"] = lambda: o.m2.attach(-1)
    steps["m2 after a failed attach"] = lambda: (o.m2.attached, o.m2.address,
                                                 o.m2.number_attached)
    steps["m2 attach SHM_RND unaligned"] = lambda: (lambda a: (
        o.m2.attach(), o.m2.detach(), o.m2.attach(a + 5, s.SHM_RND), o.m2.address == a))(
        o.m2.address)
    steps["shm str repr"] = lambda: (str(s.SharedMemory(K + 4, s.IPC_CREX)).split(",")[0],
                                     repr(s.SharedMemory(K + 4)))
    steps["attach"] = lambda: (lambda x: (x.size, x.read(1), x.attached))(
        s.attach(s.SharedMemory(K + 4).id))
    steps["attach read-only write"] = lambda: s.attach(s.SharedMemory(K + 4).id, None,
                                                       s.SHM_RDONLY).write(b"x")
    # ftok
    steps["ftok NUL"] = lambda: s.ftok("/tm\0p", 1, True)
    steps["ftok bytes"] = lambda: s.ftok(b"/tmp", 1, True)
    steps["ftok missing message"] = lambda: s.ftok("/no/such/ipcsim", 1, True)
    steps["ftok id 2**40"] = lambda: s.ftok("/", 2 ** 40, True)
    steps["ftok id masked"] = lambda: s.ftok("/", 300, True) == s.ftok("/", 44, True)
    steps["ftok id str"] = lambda: s.ftok("/", "1", True)
    steps["ftok warns"] = lambda: _warning_of(lambda: s.ftok("/", 1))
    return steps


class Index:
    """An integer that is not an int (numpy's are such): C integer arguments take it, "k"
    arguments do not."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


class Bytes(bytes):
    pass


class Str(str):
    def encode(self, *args, **kwargs):            # never called by the C argument parser
        return b"/not-what-was-meant"


def _warning_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [(w.category.__name__, str(w.message)) for w in caught]


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
                                 o.q.current_messages, o.q.mode, str(o.q))
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
    steps["sem attrs"] = lambda: (o.sem.name, o.sem.value, o.sem.mode, str(o.sem), repr(o.sem))
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
    steps["shm attrs"] = lambda: (o.m.name, o.m.size, o.m.mode, str(o.m), o.m.fd == o.m.fileno())
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


def posix_argument_steps(p):
    """posix_ipc's arguments, payloads, limits and every flag; operations after close and
    unlink. Semaphores and shared memory live in the machine's /dev/shm on the real side:
    names start with /ipcsim-compat-args and every object made is unlinked."""
    N = "/ipcsim-compat-args"
    S, M = N + "-sem", N + "-shm"
    steps = {}
    o = types.SimpleNamespace()

    def clean():
        for fn, name in ((p.unlink_semaphore, S), (p.unlink_semaphore, S + "2"),
                         (p.unlink_shared_memory, M), (p.unlink_shared_memory, M + "2")):
            try:
                fn(name)
            except p.ExistentialError:
                pass

    steps["clean"] = clean
    # the shape of a call, as the C argument parser checks it
    steps["q no name"] = lambda: p.MessageQueue()
    steps["q 8 arguments"] = lambda: p.MessageQueue(N, 0, 0, 0, 0, 0, 0, 0)
    steps["q misspelt keyword"] = lambda: p.MessageQueue(N, max_message=1)
    steps["s keyword of another module"] = lambda: p.Semaphore(S, value=1)
    steps["m misspelt keyword"] = lambda: p.SharedMemory(M, readonly=1)
    steps["m keywords without name"] = lambda: p.SharedMemory(flags=0)
    steps["unlink_semaphore keyword"] = lambda: p.unlink_semaphore(name=S)
    steps["unlink_semaphore no name"] = lambda: p.unlink_semaphore()
    steps["unlink_message_queue 2 arguments"] = lambda: p.unlink_message_queue(N, 1)
    steps["unlink_shared_memory keyword"] = lambda: p.unlink_shared_memory(x=M)
    steps["methods without arguments given some"] = lambda: [
        outcome(lambda: fn(*args, **kw) is None)            # (not the descriptor numbers)
        for obj in (p.MessageQueue(N, p.O_CREAT), p.Semaphore(S, p.O_CREAT),
                    p.SharedMemory(M, p.O_CREAT))
        for name in ("release", "close", "unlink", "fileno", "close_fd", "__enter__")
        if hasattr(obj, name)
        for fn in [getattr(obj, name)] for args, kw in (((1,), {}), ((), {"x": 1}), ((), {}))]
    steps["__exit__ with a keyword"] = lambda: p.Semaphore(S).__exit__(x=1)
    steps["clean up after them"] = clean
    # subclasses of bytes and str
    steps["send a bytes subclass"] = lambda: (lambda q: (
        q.send(Bytes(b"ab")), type(q.receive()[0]).__name__, q.unlink()))(
        p.MessageQueue(N + "b", p.O_CREX))
    steps["send a str subclass"] = lambda: (lambda q: (q.send(Str("ab")), q.receive(),
                                                       q.unlink()))(
        p.MessageQueue(N + "b", p.O_CREX))
    steps["a str subclass as name"] = lambda: (lambda q: (type(q.name).__name__, q.name,
                                                          q.unlink()))(
        p.MessageQueue(Str(N + "b"), p.O_CREX))
    # integers that are not ints
    steps["__index__: flags, mode, sizes"] = lambda: (lambda q: (q.max_messages, q.unlink()))(
        p.MessageQueue(N + "i", Index(p.O_CREX), Index(0o600), Index(3), Index(16)))
    steps["__index__: initial_value"] = lambda: (lambda x: (x.value, x.unlink()))(
        p.Semaphore(S, Index(p.O_CREX), initial_value=Index(3)))
    steps["__index__: shm flags"] = lambda: (lambda x: (x.size, x.unlink()))(
        p.SharedMemory(M, Index(p.O_CREX), size=10))
    steps["__index__: shm size"] = lambda: p.SharedMemory(M, p.O_CREX, size=Index(10))
    steps["__index__: priority"] = lambda: (lambda q: (q.send(b"x", priority=Index(3)),
                                                       q.receive(), q.unlink()))(
        p.MessageQueue(N + "i", p.O_CREX))
    steps["__index__: notification"] = lambda: (lambda q: (q.unlink(),
                                                           q.request_notification(Index(3))))(
        p.MessageQueue(N + "i", p.O_CREX))
    steps["__index__: timeout"] = lambda: (lambda q: (q.unlink(), q.receive(Index(0))))(
        p.MessageQueue(N + "i", p.O_CREX))
    steps["__index__: read_only"] = lambda: p.SharedMemory(M, read_only=Index(1))
    # message queues
    steps["q create"] = lambda: setattr(o, "q", p.MessageQueue(N, p.O_CREX, max_messages=3,
                                                              max_message_size=16))
    steps["q repr"] = lambda: (repr(o.q), str(o.q), o.q.mode, o.q.block, o.q.current_messages)
    delete_attrs(steps, o, "q", POSIX_ATTRS["q"], POSIX_WRITABLE)
    steps["q no such attribute"] = lambda: o.q.fooo
    steps["q weakref"] = lambda: weakref.ref(o.q)
    steps["q copy"] = lambda: copy.copy(o.q)
    steps["q send max size"] = lambda: o.q.send(b"x" * 16)
    steps["q send 17"] = lambda: o.q.send(b"x" * 17)
    steps["q send 17 bad priority"] = lambda: o.q.send(b"x" * 17, priority=-1)
    steps["q send bytearray"] = lambda: o.q.send(bytearray(b"ba"), priority=3)
    steps["q send priority float"] = lambda: o.q.send(b"x", priority=1.0)
    steps["q send priority 2**70"] = lambda: o.q.send(b"x", priority=2 ** 70)
    steps["q send priority max+1"] = lambda: o.q.send(b"x", priority=p.QUEUE_PRIORITY_MAX + 1)
    steps["q send timeout -1"] = lambda: o.q.send(b"x", -1)
    steps["q send timeout 2**70"] = lambda: o.q.send(b"x", 2 ** 70)
    steps["q send timeout None"] = lambda: o.q.send(b"m", None, p.QUEUE_PRIORITY_MAX)
    steps["q send full timeout"] = lambda: o.q.send(b"n", 0.01)
    steps["q send full timeout 0"] = lambda: o.q.send(b"n", 0)
    steps["q current_messages"] = lambda: o.q.current_messages
    steps["q receive by priority"] = lambda: [o.q.receive(0) for _ in range(3)]
    steps["q receive timeout"] = lambda: o.q.receive(0.01)
    steps["q receive timeout True"] = lambda: o.q.receive(True)
    steps["q receive timeout str"] = lambda: o.q.receive("1")
    steps["q receive keyword"] = lambda: o.q.receive(timeout=0)
    steps["q send memoryview str array"] = lambda: (
        o.q.send(memoryview(b"mv")), o.q.send("é"), o.q.send(array.array("b", [65])),
        [o.q.receive() for _ in range(3)])
    steps["q block 0"] = lambda: (setattr(o.q, "block", 0), o.q.block, o.q.receive())
    steps["q nonblocking full"] = lambda: ([o.q.send(b"z") for _ in range(3)], o.q.send(b"z"))
    steps["q nonblocking full timeout"] = lambda: o.q.send(b"z", 5)
    steps["q block truthy"] = lambda: (setattr(o.q, "block", [1]), o.q.block)
    steps["q drain"] = lambda: [o.q.receive() for _ in range(3)]
    steps["q notify signal 0"] = lambda: o.q.request_notification(0)
    steps["q notify signal 65"] = lambda: o.q.request_notification(65)
    steps["q notify signal -1"] = lambda: o.q.request_notification(-1)
    steps["q notify list"] = lambda: o.q.request_notification([print, 1])
    steps["q notify 3-tuple"] = lambda: o.q.request_notification((print, 1, 2))
    steps["q notify not callable"] = lambda: o.q.request_notification((1, 2))
    steps["q notify float"] = lambda: o.q.request_notification(1.0)
    steps["q notify keyword"] = lambda: o.q.request_notification(notification=None)
    steps["q fileno"] = lambda: o.q.fileno() == o.q.mqd >= 0
    steps["q second open"] = lambda: (lambda x: (x.max_messages, x.max_message_size, x.mode,
                                                 repr(x)))(p.MessageQueue(N))
    steps["q creat existing"] = lambda: (lambda x: (x.max_messages, x.max_message_size))(
        p.MessageQueue(N, p.O_CREAT, max_messages=1, max_message_size=1))
    steps["q open O_NONBLOCK"] = lambda: (lambda x: (x.block, x.receive()))(
        p.MessageQueue(N, p.O_NONBLOCK))
    steps["q create O_NONBLOCK"] = lambda: (lambda x: (x.block, x.unlink()))(
        p.MessageQueue(N + "nb", p.O_CREX | p.O_NONBLOCK))
    steps["q max_messages 2**40"] = lambda: p.MessageQueue(N + "h", p.O_CREX,
                                                           max_messages=2 ** 40)
    steps["q max_message_size 0"] = lambda: p.MessageQueue(N + "h", p.O_CREX,
                                                           max_message_size=0)
    steps["q max_message_size -1"] = lambda: p.MessageQueue(N + "h", p.O_CREX,
                                                            max_message_size=-1)
    steps["q max_message_size float"] = lambda: p.MessageQueue(N + "h", p.O_CREX,
                                                               max_message_size=1.0)
    steps["q mode -1"] = lambda: (lambda x: (x.mode, repr(x), x.unlink()))(
        p.MessageQueue(N + "m", p.O_CREX, mode=-1))
    steps["q flags float"] = lambda: p.MessageQueue(N + "f", 1.0)
    steps["q flags -1, O_PATH among them"] = lambda: p.MessageQueue(N + "f", -1)
    steps["q made all the same"] = lambda: (lambda q: (q.current_messages, q.unlink()))(
        p.MessageQueue(N + "f"))
    steps["q name 255"] = lambda: (lambda x: (len(x.name), x.unlink()))(
        p.MessageQueue("/" + "a" * 255, p.O_CREAT))
    steps["q name 256"] = lambda: p.MessageQueue("/" + "a" * 256, p.O_CREAT)
    steps["q name /"] = lambda: p.MessageQueue("/", p.O_CREAT)
    steps["q name empty"] = lambda: p.MessageQueue("", p.O_CREAT)
    steps["q name /."] = lambda: p.MessageQueue("/.", p.O_CREAT)
    steps["q name bytes"] = lambda: (lambda x: (x.name, x.unlink()))(
        p.MessageQueue(b"/ipcsim-compat-args-b", p.O_CREX))
    steps["q name bytes NUL"] = lambda: (lambda x: (x.name, x.unlink()))(
        p.MessageQueue(b"/ipcsim-compat-args-n\0zz", p.O_CREX))
    steps["q name bytearray"] = lambda: p.MessageQueue(bytearray(b"/x"), p.O_CREX)
    steps["q name None"] = lambda: (lambda x: (len(x.name) in range(6, 14), x.name[0],
                                               x.unlink()))(p.MessageQueue(None, p.O_CREX))
    steps["q name not UTF-8"] = lambda: setattr(o, "bad", p.MessageQueue(
        b"/ipcsim-compat-args-\xff\xfe", p.O_CREX))
    steps["q name not UTF-8: name"] = lambda: o.bad.name
    steps["q name not UTF-8: str"] = lambda: str(o.bad)
    steps["q name not UTF-8: repr"] = lambda: repr(o.bad)
    steps["q name not UTF-8: unlink"] = lambda: (o.bad.unlink(), o.bad.close())
    steps["q name with a surrogate"] = lambda: (lambda x: (x.name, x.unlink()))(
        p.MessageQueue("/ipcsim-compat-args-\udcff", p.O_CREX))
    steps["q name not ASCII"] = lambda: (lambda x: (x.name, str(x), repr(x), x.unlink()))(
        p.MessageQueue("/ipcsim-compat-args-é€", p.O_CREX))
    steps["unlink_message_queue not ASCII"] = lambda: p.unlink_message_queue(
        "/ipcsim-compat-args-é€")
    steps["q neither read nor write"] = lambda: p.MessageQueue(N, read=0, write=0)
    steps["q read-only repr"] = lambda: repr(p.MessageQueue(N, read=False))
    steps["q unlink"] = lambda: o.q.unlink()
    steps["q unlink again"] = lambda: o.q.unlink()
    steps["q works unlinked"] = lambda: (o.q.send(b"after"), o.q.receive())
    steps["q close"] = lambda: (o.q.close(), o.q.mqd)
    steps["q closed receive"] = lambda: o.q.receive()
    steps["q closed current_messages"] = lambda: o.q.current_messages
    steps["q closed set block"] = lambda: setattr(o.q, "block", True)
    steps["q closed notify"] = lambda: o.q.request_notification(10)
    steps["q closed cancel"] = lambda: o.q.request_notification()
    steps["q closed repr"] = lambda: repr(o.q)
    steps["q closed fileno"] = lambda: o.q.fileno()
    steps["q closed unlink"] = lambda: o.q.unlink()
    steps["unlink_message_queue bytes"] = lambda: p.unlink_message_queue(b"/nope")
    steps["unlink_message_queue None"] = lambda: p.unlink_message_queue(None)
    steps["unlink_message_queue int"] = lambda: p.unlink_message_queue(5)
    steps["unlink_message_queue /a/b"] = lambda: p.unlink_message_queue("/a/b")
    steps["unlink_message_queue empty"] = lambda: p.unlink_message_queue("")
    steps["unlink_message_queue 300"] = lambda: p.unlink_message_queue("/" + "a" * 300)
    steps["unlink_message_queue no slash"] = lambda: p.unlink_message_queue("abc")
    # semaphores
    steps["s create"] = lambda: setattr(o, "s", p.Semaphore(S, p.O_CREX, initial_value=1))
    steps["s repr"] = lambda: (repr(o.s), str(o.s), o.s.mode, o.s.value, o.s.name)
    delete_attrs(steps, o, "s", POSIX_ATTRS["sem"], POSIX_WRITABLE)
    steps["s no such attribute"] = lambda: setattr(o.s, "fooo", 1)
    steps["s pickle"] = lambda: pickle.dumps(o.s)
    steps["s acquire"] = lambda: (o.s.acquire(), o.s.value)
    steps["s acquire 0"] = lambda: o.s.acquire(0)
    steps["s acquire 0.0"] = lambda: o.s.acquire(0.0)
    steps["s acquire 0.02"] = lambda: o.s.acquire(0.02)
    steps["s acquire keyword"] = lambda: o.s.acquire(timeout=0)
    steps["s acquire str"] = lambda: o.s.acquire("0")
    steps["s acquire 2**70"] = lambda: o.s.acquire(2 ** 70)
    steps["s release"] = lambda: (o.s.release(), o.s.release(), o.s.value)
    steps["s context"] = lambda: (o.s.__enter__() is o.s, o.s.value,
                                  o.s.__exit__(None, None, None), o.s.value)
    steps["s exit arguments"] = lambda: (o.s.__exit__(), o.s.__exit__(1, 2, 3, 4), o.s.value)
    steps["s second open"] = lambda: (lambda x: (x.value, x.mode, repr(x)))(p.Semaphore(S))
    steps["s creat existing"] = lambda: p.Semaphore(S, p.O_CREAT, initial_value=50).value
    steps["s create at max"] = lambda: (lambda x: (x.value, x.release()))(
        p.Semaphore(S + "2", p.O_CREX, initial_value=p.SEMAPHORE_VALUE_MAX))
    steps["s unlink 2"] = lambda: p.unlink_semaphore(S + "2")
    steps["s initial -1"] = lambda: p.Semaphore(S + "2", p.O_CREX, initial_value=-1)
    steps["s initial float"] = lambda: p.Semaphore(S + "2", p.O_CREX, initial_value=1.0)
    steps["s initial 2**32+1"] = lambda: (lambda x: (x.value, x.unlink()))(
        p.Semaphore(S + "2", p.O_CREX, initial_value=2 ** 32 + 1))
    steps["s mode -1"] = lambda: (lambda x: (x.mode, repr(x), x.unlink()))(
        p.Semaphore(S + "2", p.O_CREX, mode=-1))
    steps["s flags float"] = lambda: p.Semaphore(S + "2", 1.0)
    steps["s name None"] = lambda: (lambda x: (len(x.name) in range(6, 14), x.unlink()))(
        p.Semaphore(None, p.O_CREX))
    steps["s name //"] = lambda: (lambda x: (x.name, x.unlink()))(
        p.Semaphore("//ipcsim-compat-args-ss", p.O_CREX))
    steps["s name without slash"] = lambda: (lambda x: (x.name, x.unlink()))(
        p.Semaphore("ipcsim-compat-args-ss", p.O_CREX))
    steps["s name empty"] = lambda: p.Semaphore("", p.O_CREAT)
    steps["s name 252"] = lambda: p.Semaphore("/" + "a" * 252, p.O_CREAT)
    steps["s name 251"] = lambda: p.Semaphore("/" + "a" * 251, p.O_CREAT).unlink()
    steps["s unlink"] = lambda: o.s.unlink()
    steps["s unlink again"] = lambda: o.s.unlink()
    steps["s close"] = lambda: o.s.close()
    steps["s closed repr"] = lambda: (repr(o.s), str(o.s), o.s.name, o.s.mode)
    steps["s closed release"] = lambda: o.s.release()
    steps["s closed unlink"] = lambda: o.s.unlink()
    steps["s closed enter"] = lambda: o.s.__enter__()
    steps["unlink_semaphore //"] = lambda: p.unlink_semaphore("//nope-ipcsim")
    steps["unlink_semaphore empty"] = lambda: p.unlink_semaphore("")
    steps["unlink_semaphore 300"] = lambda: p.unlink_semaphore("/" + "a" * 300)
    steps["unlink_semaphore NUL"] = lambda: p.unlink_semaphore("/a\0b")
    # shared memory
    steps["m create"] = lambda: setattr(o, "m", p.SharedMemory(M, p.O_CREX, size=100))
    steps["m repr"] = lambda: (repr(o.m), str(o.m), o.m.size, o.m.mode, o.m.name,
                               o.m.fd == o.m.fileno())
    delete_attrs(steps, o, "m", POSIX_ATTRS["m"], POSIX_WRITABLE)
    steps["m O_TRUNC"] = lambda: p.SharedMemory(M, p.O_TRUNC).size
    steps["m grow"] = lambda: p.SharedMemory(M, size=5000).size
    steps["m shrink"] = lambda: (p.SharedMemory(M, size=10).size, o.m.size)
    steps["m read_only with size"] = lambda: p.SharedMemory(M, size=10, read_only=True)
    steps["m gone after that"] = lambda: p.SharedMemory(M).size
    steps["m create again"] = lambda: setattr(o, "m", p.SharedMemory(M, p.O_CREX))
    steps["m size 0"] = lambda: o.m.size
    steps["m read_only"] = lambda: (lambda x: (x.size, repr(x)))(p.SharedMemory(M, read_only=1))
    steps["m read_only O_TRUNC"] = lambda: p.SharedMemory(M, p.O_TRUNC, read_only=True)
    steps["m read_only str"] = lambda: p.SharedMemory(M, read_only="x")
    steps["m read_only float"] = lambda: p.SharedMemory(M, read_only=1.5)
    steps["m size float"] = lambda: p.SharedMemory(M, size=1.5)
    steps["m flags O_RDWR"] = lambda: p.SharedMemory(M, p.O_RDWR).size
    steps["m flags O_WRONLY"] = lambda: p.SharedMemory(M, p.O_WRONLY).size
    steps["m flags 2**32"] = lambda: p.SharedMemory(M, 2 ** 32).size
    steps["m size -1"] = lambda: p.SharedMemory(M, size=-1)
    steps["m gone after -1"] = lambda: p.SharedMemory(M)
    steps["m size 2**63"] = lambda: p.SharedMemory(M + "2", p.O_CREX, size=2 ** 63)
    steps["m gone after 2**63"] = lambda: p.SharedMemory(M + "2")
    steps["m mode -1"] = lambda: (lambda x: (x.mode, repr(x), x.unlink()))(
        p.SharedMemory(M + "2", p.O_CREX, mode=-1))
    steps["m name None"] = lambda: (lambda x: (len(x.name) in range(6, 14), x.unlink()))(
        p.SharedMemory(None, p.O_CREX))
    steps["m name //"] = lambda: (lambda x: (x.name, x.unlink()))(
        p.SharedMemory("//ipcsim-compat-args-mm", p.O_CREX))
    steps["m name without slash"] = lambda: (lambda x: (x.name, x.unlink()))(
        p.SharedMemory("ipcsim-compat-args-mm", p.O_CREX))
    steps["m name 256"] = lambda: p.SharedMemory("/" + "a" * 256, p.O_CREAT)
    steps["m name empty"] = lambda: p.SharedMemory("", p.O_CREAT)
    steps["m unlink"] = lambda: o.m.unlink()
    steps["m unlink again"] = lambda: o.m.unlink()
    steps["m close_fd"] = lambda: (o.m.close_fd(), o.m.fd, o.m.fileno())
    steps["m close_fd again"] = lambda: o.m.close_fd()
    steps["m closed size"] = lambda: o.m.size
    steps["m closed repr"] = lambda: repr(o.m)
    steps["unlink_shared_memory empty"] = lambda: p.unlink_shared_memory("")
    steps["unlink_shared_memory 300"] = lambda: p.unlink_shared_memory("/" + "a" * 300)
    steps["unlink_shared_memory /a/b"] = lambda: p.unlink_shared_memory("/a/b")
    steps["unlink_shared_memory bytes"] = lambda: p.unlink_shared_memory(b"/a")
    for label in ("O_CREAT", "O_CREX", "O_CREAT|O_NONBLOCK", "O_CREAT|O_RDONLY",
                  "O_CREAT|O_WRONLY", "O_CREAT|O_RDWR", "O_CREAT|O_TRUNC"):
        flags = eval(label, vars(p))
        steps[f"every flag: sem {label}"] = lambda flags=flags: (lambda x: (
            x.value, x.unlink(), x.close()))(p.Semaphore(S, flags, initial_value=2))
        steps[f"every flag: shm {label}"] = lambda flags=flags: (lambda x: (
            x.size, x.unlink(), x.close_fd()))(p.SharedMemory(M, flags, size=8))
        steps[f"every flag: mq {label}"] = lambda flags=flags: (lambda x: (
            x.block, x.current_messages, x.unlink(), x.close()))(p.MessageQueue(N, flags))
        steps[f"every flag: mq write-only {label}"] = lambda flags=flags: (lambda x: (
            x.block, x.unlink(), x.close()))(p.MessageQueue(N, flags, read=False))
    steps["every flag: sem O_EXCL alone"] = lambda: p.Semaphore(S, p.O_EXCL)
    steps["clean again"] = clean
    return steps


def notification_steps(p):
    """posix_ipc's notifications with real time and threads (the fakes on the host kernel):
    by signal (to this process, one-shot, only when a message arrives in an empty queue
    that no receiver waits on) and by a call in a new thread (which may request again; an
    exception it raises is dropped silently)."""
    import signal
    import sys
    import threading
    import time
    steps = {}
    o = types.SimpleNamespace(signals=[], calls=[], hooked=[])
    name = "/ipcsim-compat-notify"

    def until(cond, limit=3.0):
        end = time.monotonic() + limit
        while not cond() and time.monotonic() < end:
            time.sleep(0.005)
        time.sleep(0.05)                # and a little more, for anything extra to arrive
        return cond()

    def settle():
        time.sleep(0.2)                 # time for a notification that must not come

    def handler(signum, frame):
        o.signals.append(signum)

    def callback(param):
        o.calls.append((param, threading.current_thread() is not threading.main_thread()))

    def again(param):
        callback(param)
        o.q.request_notification((callback, "second"))

    def failing(param):
        o.calls.append(param)
        raise RuntimeError("from the callback")

    def blocked_receive():
        t = threading.Thread(target=lambda: o.calls.append(o.q.receive()))
        t.start()
        time.sleep(0.1)
        o.q.request_notification(signal.SIGUSR1)
        o.q.send(b"to the receiver")
        t.join(5)
        return settle(), o.signals, o.calls

    steps["create"] = lambda: (setattr(o, "q", p.MessageQueue(name, p.O_CREX)),
                               signal.signal(signal.SIGUSR1, handler),
                               setattr(threading, "excepthook", o.hooked.append))[0]
    steps["signal"] = lambda: (o.q.request_notification(signal.SIGUSR1), o.q.send(b"1"),
                               until(lambda: o.signals), o.signals)
    steps["signal is one-shot"] = lambda: (o.q.receive(), o.q.send(b"2"), o.q.receive(),
                                           settle(), o.signals)
    steps["not into a non-empty queue"] = lambda: (
        o.q.send(b"3"), o.q.request_notification(signal.SIGUSR1), o.q.send(b"4"),
        settle(), o.signals, o.q.receive(), o.q.receive())
    steps["cancelled"] = lambda: (o.q.request_notification(), o.q.send(b"5"), o.q.receive(),
                                  settle(), o.signals)
    steps["not while a receiver waits"] = lambda: (o.signals.clear(), blocked_receive())
    steps["cancel the receiver's registration"] = lambda: (
        o.signals.clear(), o.calls.clear(), o.q.request_notification(),
        o.q.request_notification((callback, "param")), o.q.send(b"6"),
        until(lambda: o.calls), o.calls, o.signals, o.q.receive())
    steps["callable is one-shot"] = lambda: (o.q.send(b"7"), o.q.receive(), settle(),
                                             o.calls)
    steps["callable requests again"] = lambda: (
        o.calls.clear(), o.q.request_notification((again, "first")), o.q.send(b"8"),
        until(lambda: o.calls), o.q.receive(), o.q.send(b"9"),
        until(lambda: len(o.calls) > 1), o.q.receive(), o.calls)
    steps["another object of this process"] = lambda: (
        o.calls.clear(), o.q.request_notification((callback, "mine")),
        setattr(o, "other", p.MessageQueue(name)),          # (kept: the real module keeps
        o.other.request_notification((callback, "other")),  # no reference to it)
        o.q.send(b"10"),
        until(lambda: o.calls), o.calls, o.q.receive())
    steps["a failing callback"] = lambda: (
        o.calls.clear(), o.q.request_notification((failing, "failing")), o.q.send(b"11"),
        until(lambda: o.calls), o.q.receive(), o.calls, o.hooked, o.q.current_messages)
    steps["signal after a failing callback"] = lambda: (
        o.signals.clear(), o.q.request_notification(signal.SIGUSR1), o.q.send(b"12"),
        until(lambda: o.signals), o.signals, o.q.receive())
    steps["clean"] = lambda: (o.q.close(), o.q.unlink(), sys.stderr.flush())
    return steps


def blocking_steps(s, p):
    """Calls blocked in one thread, ended by another (the fakes on the host kernel): by the
    object's removal, by a message or value they wait for, by a timeout; the wait counts
    seen meanwhile."""
    import threading
    import time
    steps = {}

    def blocked(fn):
        """Start ``fn`` in a thread; give it time to block; return a function that waits
        for it and gives its outcome."""
        box = []
        t = threading.Thread(target=lambda: box.append(outcome(fn)))
        t.start()
        time.sleep(0.1)

        def result():
            t.join(5)
            return box[0] if box else "still blocked"
        result.alive = t.is_alive
        return result

    def removed_while_waiting(make, wait, remove):
        obj = make()
        result = blocked(lambda: wait(obj))
        alive = result.alive()
        remove(obj)
        return alive, result()

    K = 0x7F00
    steps["msgrcv, queue removed"] = lambda: removed_while_waiting(
        lambda: s.MessageQueue(K, s.IPC_CREX), lambda q: q.receive(), lambda q: q.remove())
    steps["msgsnd to a full queue, queue removed"] = lambda: removed_while_waiting(
        lambda: s.MessageQueue(K, s.IPC_CREX, max_message_size=8),
        lambda q: (setattr(q, "max_size", 8), q.send(b"12345678"), q.send(b"x")),
        lambda q: q.remove())
    steps["semop, semaphore removed"] = lambda: removed_while_waiting(
        lambda: s.Semaphore(K, s.IPC_CREX), lambda sem: sem.acquire(),
        lambda sem: sem.remove())
    steps["Z, semaphore removed"] = lambda: removed_while_waiting(
        lambda: s.Semaphore(K, s.IPC_CREX, initial_value=1), lambda sem: sem.Z(),
        lambda sem: sem.remove())

    def counts():
        sem = s.Semaphore(K, s.IPC_CREX, initial_value=1)
        z = blocked(lambda: sem.Z())
        a = blocked(lambda: sem.acquire(delta=2))
        seen = (sem.waiting_for_zero, sem.waiting_for_nonzero)
        sem.value = 0                      # Z returns; acquire of 2 still waits
        first = z()
        sem.release(3)
        second = a()
        after = (sem.value, sem.waiting_for_zero, sem.waiting_for_nonzero)
        sem.remove()
        return seen, first, second, after
    steps["wait counts, woken by value and release"] = counts

    def typed():
        q = s.MessageQueue(K, s.IPC_CREX)
        low = blocked(lambda: q.receive(type=-3))
        exact = blocked(lambda: q.receive(type=7))
        q.send(b"seven", type=7)
        q.send(b"five", type=5)
        q.send(b"two", type=2)
        got = (exact(), low(), q.receive(block=False), q.current_messages)
        q.remove()
        return got
    steps["typed receives woken by the right messages"] = typed

    def posix_queue():
        q = p.MessageQueue(None, p.O_CREX, max_messages=1)
        r = blocked(lambda: q.receive(5))
        q.send(b"in time", priority=4)
        first = r()
        q.send(b"fill")
        w = blocked(lambda: q.send(b"waits", 5))
        q.unlink()                         # the name goes; the open queue stays
        got = q.receive()
        second = w()
        rest = (q.receive(0), q.current_messages)
        q.close()
        return first, got, second, rest
    steps["posix queue: woken in time, unlink does not disturb"] = posix_queue

    def posix_sem():
        sem = p.Semaphore(None, p.O_CREX)
        a = blocked(lambda: sem.acquire(5))
        b = blocked(lambda: sem.acquire(0.3))
        sem.release()
        first = a()
        start = time.monotonic()
        second = b()
        waited = time.monotonic() - start > 0.05
        sem.unlink()
        sem.close()
        return first, second, waited
    steps["posix semaphore: a wait woken, another times out"] = posix_sem

    import signal
    caught = []

    class Raised(Exception):
        pass

    def interrupted(make, call, handler=caught.append, end=lambda obj: None):
        """``call(obj)`` in the main thread while another thread sends SIGUSR1 to this
        process, whose handler is ``handler``."""
        obj = make()
        old = signal.signal(signal.SIGUSR1, lambda signum, frame: handler(signum))
        kicker = threading.Thread(target=lambda: (time.sleep(0.1),
                                                  os.kill(os.getpid(), signal.SIGUSR1)))
        caught.clear()
        try:
            kicker.start()
            return outcome(lambda: call(obj)), list(caught)
        finally:
            kicker.join()
            signal.signal(signal.SIGUSR1, old)
            end(obj)

    def raising(signum):
        raise Raised("from the handler")

    def settled(call):
        """What ``call()`` ends with, once a handler still due has run too: the real
        sysv_ipc's call raises its Error and the handler's exception follows at once."""
        try:
            try:
                call()
                return "ok"
            except BaseException as e:  # noqa: BLE001 - the exception is the outcome
                got = e
                for _ in range(10000):  # (bytecodes, where a pending handler runs)
                    pass
        except BaseException as late:  # noqa: BLE001
            got = late
        shown = None if got.__suppress_context__ else got.__context__   # as tracebacks show
        return type(got).__name__, str(got), shown and type(shown).__name__

    removed, unlinked = (lambda o: o.remove()), (lambda o: (o.unlink(), o.close()))
    steps["signal handled during msgrcv"] = lambda: interrupted(
        lambda: s.MessageQueue(None, s.IPC_CREX), lambda q: q.receive(), end=removed)
    steps["signal handled during msgsnd"] = lambda: interrupted(
        lambda: s.MessageQueue(None, s.IPC_CREX, max_message_size=8),
        lambda q: (setattr(q, "max_size", 8), q.send(b"12345678"), q.send(b"x")), end=removed)
    steps["signal handled during semop"] = lambda: interrupted(
        lambda: s.Semaphore(None, s.IPC_CREX), lambda sem: sem.acquire(), end=removed)
    steps["signal handled during Z"] = lambda: interrupted(
        lambda: s.Semaphore(None, s.IPC_CREX, initial_value=1), lambda sem: sem.Z(),
        end=removed)
    steps["signal handled during mq_receive"] = lambda: interrupted(
        lambda: p.MessageQueue(None, p.O_CREX), lambda q: q.receive(), end=unlinked)
    steps["signal handled during mq_timedsend"] = lambda: interrupted(
        lambda: p.MessageQueue(None, p.O_CREX, max_messages=1),
        lambda q: (q.send(b"full"), q.send(b"x", 5)), end=unlinked)
    steps["signal handled during sem_wait"] = lambda: interrupted(
        lambda: p.Semaphore(None, p.O_CREX), lambda sem: sem.acquire(), end=unlinked)
    steps["signal handled during sem_timedwait"] = lambda: interrupted(
        lambda: p.Semaphore(None, p.O_CREX), lambda sem: sem.acquire(5), end=unlinked)
    steps["a raising handler during msgrcv"] = lambda: interrupted(
        lambda: s.MessageQueue(None, s.IPC_CREX), lambda q: settled(q.receive), raising,
        removed)
    steps["a raising handler during sem_wait"] = lambda: interrupted(
        lambda: p.Semaphore(None, p.O_CREX), lambda sem: settled(sem.acquire), raising,
        unlinked)
    steps["an ignored signal during sem_timedwait"] = lambda: (
        signal.signal(signal.SIGUSR2, signal.SIG_IGN),
        (lambda sem: (threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR2)).start(),
                      outcome(lambda: sem.acquire(0.3)), sem.unlink(), sem.close()))(
            p.Semaphore(None, p.O_CREX)),
        signal.signal(signal.SIGUSR2, signal.SIG_DFL))[1]
    return steps


PERM_MODES = (0o600, 0o644, 0o640, 0o604, 0o666, 0o400, 0o200)


def permission_objects(p, make=True):
    """posix_ipc objects of several modes, made by root (``make``), or removed."""
    for mode in PERM_MODES:
        for kind, cls, unlink, kw in (
                ("sem", p.Semaphore, p.unlink_semaphore, {"initial_value": 1}),
                ("shm", p.SharedMemory, p.unlink_shared_memory, {"size": 8}),
                ("mq", p.MessageQueue, p.unlink_message_queue, {})):
            name = f"/ipcsim-compat-perm-{kind}-{mode:o}"
            try:
                unlink(name)
            except p.ExistentialError:
                pass
            if make:
                cls(name, p.O_CREX, mode=mode, **kw)


def sysv_permission_objects(s, make=True):
    """sysv_ipc objects of several modes, made by root (``make``), or removed."""
    for i, mode in enumerate(PERM_MODES):
        for key, cls, kw in ((0x7C00 + i, s.MessageQueue, {}),
                             (0x7C10 + i, s.Semaphore, {"initial_value": 1}),
                             (0x7C20 + i, s.SharedMemory, {"size": 8})):
            try:
                cls(key).remove()
            except s.ExistentialError:
                pass
            if make:
                obj = cls(key, s.IPC_CREX, mode=0o600, **kw)
                obj.mode = mode


def sysv_permission_steps(s):
    """What a process of uid and gid 1000 may do with root's sysv_ipc objects of each
    mode."""
    steps = {}
    for i, mode in enumerate(PERM_MODES):
        q, sem, m = 0x7C00 + i, 0x7C10 + i, 0x7C20 + i
        steps[f"mq {mode:o} open"] = lambda k=q: s.MessageQueue(k).key
        steps[f"mq {mode:o} creat"] = lambda k=q: s.MessageQueue(k, s.IPC_CREAT).key
        steps[f"mq {mode:o} stat"] = lambda k=q: s.MessageQueue(k, mode=0).current_messages
        steps[f"mq {mode:o} send"] = lambda k=q: s.MessageQueue(k, mode=0).send(b"x", False)
        steps[f"mq {mode:o} receive"] = lambda k=q: s.MessageQueue(k, mode=0).receive(False)
        steps[f"mq {mode:o} set mode"] = lambda k=q: setattr(s.MessageQueue(k, mode=0), "mode",
                                                             0o666)
        steps[f"mq {mode:o} remove"] = lambda k=q: s.MessageQueue(k, mode=0).remove()
        steps[f"sem {mode:o} open"] = lambda k=sem: s.Semaphore(k).key
        steps[f"sem {mode:o} value"] = lambda k=sem: s.Semaphore(k, mode=0).value
        steps[f"sem {mode:o} set value"] = lambda k=sem: setattr(s.Semaphore(k, mode=0),
                                                                 "value", 1)
        steps[f"sem {mode:o} acquire"] = lambda k=sem: (lambda x: (
            setattr(x, "block", False), x.acquire(), x.release()))(s.Semaphore(k, mode=0))
        steps[f"sem {mode:o} uid"] = lambda k=sem: s.Semaphore(k, mode=0).uid
        steps[f"sem {mode:o} set mode"] = lambda k=sem: setattr(s.Semaphore(k, mode=0), "mode",
                                                                0o666)
        steps[f"sem {mode:o} set uid"] = lambda k=sem: setattr(s.Semaphore(k, mode=0), "uid",
                                                               1000)
        steps[f"sem {mode:o} Z"] = lambda k=sem: (lambda x: (
            setattr(x, "block", False), x.Z()))(s.Semaphore(k, mode=0))
        steps[f"mq {mode:o} max_size up"] = lambda k=q: setattr(s.MessageQueue(k, mode=0),
                                                                "max_size", 1 << 20)
        steps[f"shm {mode:o} set gid"] = lambda k=m: setattr(s.SharedMemory(k, mode=0o400),
                                                             "gid", 1000)
        steps[f"sem {mode:o} remove"] = lambda k=sem: s.Semaphore(k, mode=0).remove()
        steps[f"shm {mode:o} open"] = lambda k=m: s.SharedMemory(k).read(1)
        steps[f"shm {mode:o} open read-only"] = lambda k=m: s.SharedMemory(k, mode=0o400).read(1)
        steps[f"shm {mode:o} write"] = lambda k=m: s.SharedMemory(k).write(b"w")
        steps[f"shm {mode:o} attach by id"] = lambda k=m: s.attach(
            s.SharedMemory(k, mode=0o400).id).read(1)
        steps[f"shm {mode:o} size"] = lambda k=m: s.SharedMemory(k, mode=0o400).size
        steps[f"shm {mode:o} set mode"] = lambda k=m: setattr(s.SharedMemory(k, mode=0o400),
                                                              "mode", 0o666)
        steps[f"shm {mode:o} remove"] = lambda k=m: s.SharedMemory(k, mode=0o400).remove()
    return steps


def permission_steps(p):
    """What a process of uid and gid 1000 may do with root's objects of each mode (open
    them each way, truncate, unlink: the sticky /dev/shm), and with its own (umask)."""
    steps = {}
    for mode in PERM_MODES:
        sem, shm, mq = (f"/ipcsim-compat-perm-{kind}-{mode:o}" for kind in ("sem", "shm", "mq"))
        steps[f"{sem} open"] = lambda n=sem: p.Semaphore(n).value
        steps[f"{sem} O_CREAT"] = lambda n=sem: p.Semaphore(n, p.O_CREAT).value
        steps[f"{sem} unlink"] = lambda n=sem: p.unlink_semaphore(n)
        steps[f"{shm} open"] = lambda n=shm: p.SharedMemory(n).size
        steps[f"{shm} read-only"] = lambda n=shm: p.SharedMemory(n, read_only=True).size
        steps[f"{shm} O_TRUNC"] = lambda n=shm: p.SharedMemory(n, p.O_TRUNC).size
        steps[f"{shm} unlink"] = lambda n=shm: p.unlink_shared_memory(n)
        steps[f"{mq} open"] = lambda n=mq: p.MessageQueue(n).mode
        steps[f"{mq} read only"] = lambda n=mq: p.MessageQueue(n, write=False).mode
        steps[f"{mq} write only"] = lambda n=mq: p.MessageQueue(n, read=False).mode
        steps[f"{mq} unlink"] = lambda n=mq: p.unlink_message_queue(n)
    steps["own, mode 0777"] = lambda: (lambda x: (x.value, x.unlink()))(
        p.Semaphore("/ipcsim-compat-perm-own", p.O_CREX, mode=0o777))
    return steps


def limit_steps(s, p, write):
    """The kernel's limits, each lowered with ``write(path, text)`` in /proc/sys of the IPC
    namespace, then reached, then restored: the exception and message of each module."""
    steps = {}
    made = []

    def many(make, n):
        out = []
        for i in range(n):
            try:
                made.append(make(i))
                out.append("ok")
            except BaseException as e:  # noqa: BLE001 - the exception is the outcome
                out.append(outcome(lambda e=e: (_ for _ in ()).throw(e)))
        return out

    def clean():
        for obj in made:
            for method in ("remove", "unlink"):
                try:
                    getattr(obj, method)()
                except Exception:  # noqa: BLE001 - whatever is left goes
                    pass
        made.clear()

    def limited(path, low, normal, fn):
        write(path, low)
        try:
            return fn()
        finally:
            clean()
            write(path, normal)

    sem = "/proc/sys/kernel/sem"
    steps["msgmni"] = lambda: limited("/proc/sys/kernel/msgmni", "2", "32000", lambda: many(
        lambda i: s.MessageQueue(0x7300 + i, s.IPC_CREX), 3))
    steps["semmni"] = lambda: limited(sem, "32000 1024000000 500 2",
                                      "32000 1024000000 500 32000", lambda: many(
                                          lambda i: s.Semaphore(0x7310 + i, s.IPC_CREX), 3))
    steps["semmns"] = lambda: limited(sem, "32000 1 500 32000", "32000 1024000000 500 32000",
                                      lambda: many(
                                          lambda i: s.Semaphore(0x7320 + i, s.IPC_CREX), 2))
    steps["shmmni"] = lambda: limited("/proc/sys/kernel/shmmni", "2", "4096", lambda: many(
        lambda i: s.SharedMemory(0x7340 + i, s.IPC_CREX), 3))
    steps["shmmax"] = lambda: limited("/proc/sys/kernel/shmmax", "8192", "18446744073692774399",
                                      lambda: many(lambda i: s.SharedMemory(
                                          0x7350 + i, s.IPC_CREX, size=8192 + i), 2))
    steps["shmall"] = lambda: limited("/proc/sys/kernel/shmall", "2", "18446744073692774399",
                                      lambda: many(lambda i: s.SharedMemory(
                                          0x7360 + i, s.IPC_CREX, size=4096), 3))
    steps["msgmax"] = lambda: limited("/proc/sys/kernel/msgmax", "100", "8192", lambda: (
        many(lambda i: s.MessageQueue(0x7370, s.IPC_CREAT).send(b"x" * (100 + i)), 2),
        s.MessageQueue(0x7370).remove()))
    steps["msgmnb"] = lambda: limited("/proc/sys/kernel/msgmnb", "100", "16384", lambda: (
        many(lambda i: s.MessageQueue(0x7380, s.IPC_CREAT).send(b"x" * 60, False), 3),
        s.MessageQueue(0x7380).max_size, s.MessageQueue(0x7380).remove()))
    steps["queues_max"] = lambda: limited("/proc/sys/fs/mqueue/queues_max", "1", "256",
                                          lambda: many(lambda i: p.MessageQueue(
                                              f"/ipcsim-compat-limit-{i}", p.O_CREX), 2))
    steps["msg_max"] = lambda: limited("/proc/sys/fs/mqueue/msg_max", "5", "10", lambda: many(
        lambda i: p.MessageQueue(f"/ipcsim-compat-limit-{i}", p.O_CREX, max_messages=5 + i),
        2))
    steps["msgsize_max"] = lambda: limited("/proc/sys/fs/mqueue/msgsize_max", "128", "8192",
                                           lambda: many(lambda i: p.MessageQueue(
                                               f"/ipcsim-compat-limit-{i}", p.O_CREX,
                                               max_message_size=128 + i), 2))
    steps["msgsize_max below its minimum"] = lambda: write("/proc/sys/fs/mqueue/msgsize_max",
                                                           "100")
    steps["msg_default"] = lambda: limited("/proc/sys/fs/mqueue/msg_default", "3", "10",
                                           lambda: many(lambda i: p.MessageQueue(
                                               f"/ipcsim-compat-limit-{i}", p.O_CREX), 1)
                                           + [made[0].max_messages])
    steps["msgsize_default"] = lambda: limited(
        "/proc/sys/fs/mqueue/msgsize_default", "200", "8192",
        lambda: many(lambda i: p.MessageQueue(f"/ipcsim-compat-limit-{i}", p.O_CREX), 1)
        + [made[0].max_message_size])
    steps["semvmx"] = lambda: many(lambda i: s.Semaphore(0x7330 + i, s.IPC_CREX,
                                                         initial_value=32767 + i), 2)
    steps["clean"] = clean
    return steps


def run_all(sysv_ipc, posix_ipc) -> dict:
    out = {}
    for prefix, steps in (("sysv", sysv_steps), ("sysv args", sysv_argument_steps),
                          ("posix", posix_steps), ("posix args", posix_argument_steps)):
        for label, fn in steps(sysv_ipc if prefix.startswith("sysv") else posix_ipc).items():
            out[f"{prefix}: {label}"] = outcome(fn)
    assert errno.ENOENT     # (errno numbers are compared as Linux gives them)
    return out
