"""Queues with many priorities and many message types: ipcsim's ordered structures against a
naive model of Linux's lists (find_msg walks ``q_messages``; an mqueue receive takes the
oldest message of the highest priority), and against the real kernel."""
import errno
import json
import random
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realkernel import requires_real, run_real

import ipcsim
from ipcsim import (CLONE_NEWIPC, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_STAT, MSG_COPY,
                    MSG_EXCEPT, MSG_NOERROR, O_CREAT, O_NONBLOCK, O_RDWR, MqAttr)

LONG_MAX = (1 << 63) - 1


# --- the models --------------------------------------------------------------------------------
def model_msgrcv(queue: list, msgtyp: int, flags: int, msgsz: int):
    """do_msgrcv() over a plain list in arrival order, with IPC_NOWAIT: (mtype, text) or an
    errno name."""
    if flags & MSG_COPY:
        mode, want = "number", msgtyp
    elif msgtyp == 0:
        mode, want = "any", 0
    elif msgtyp < 0:
        mode, want = "lessequal", LONG_MAX if msgtyp == -(1 << 63) else -msgtyp
    elif flags & MSG_EXCEPT:
        mode, want = "notequal", msgtyp
    else:
        mode, want = "equal", msgtyp
    found, count = None, 0
    for i, (mtype, _) in enumerate(queue):            # find_msg()
        if mode == "any" or mode == "number" or (mode == "equal" and mtype == want) \
                or (mode == "notequal" and mtype != want) \
                or (mode == "lessequal" and mtype <= want):
            if mode == "lessequal" and mtype != 1:
                want, found = mtype - 1, i
            elif mode == "number":
                if want == count:
                    found = i
                    break
            else:
                found = i
                break
            count += 1
    if found is None:
        return "ENOMSG"
    mtype, text = queue[found]
    if msgsz < len(text) and not flags & MSG_NOERROR:
        return "E2BIG"
    if flags & MSG_COPY:
        return "EINVAL" if len(text) > msgsz else (mtype, text)
    del queue[found]
    return mtype, text[:msgsz]


def model_mq_receive(queue: list):
    """msg_get(): the oldest message of the highest priority; EAGAIN when empty."""
    if not queue:
        return "EAGAIN"
    best = max(range(len(queue)), key=lambda i: (queue[i][1], -i))
    return queue.pop(best)


# --- the scripts -------------------------------------------------------------------------------
def msg_script(rnd: random.Random, count: int, types: list[int]) -> list:
    """msgsnd and msgrcv calls (all IPC_NOWAIT) over ``types``: ["snd", mtype, text] or
    ["rcv", msgtyp, flags, msgsz]. Sends lead in phases, so removed messages pile up behind
    the front and types come and go."""
    ops = []
    for i in range(count):
        sending = rnd.random() < (0.7 if (i // 300) % 2 == 0 else 0.35)
        if sending:
            ops.append(["snd", rnd.choice(types), "m%d" % i + "x" * rnd.randrange(3)])
            continue
        kind = rnd.randrange(6)
        t = rnd.choice(types)
        msgsz = rnd.choice([64, 64, 64, 4])
        if kind == 0:
            ops.append(["rcv", 0, 0, msgsz])
        elif kind == 1:
            ops.append(["rcv", t, 0, msgsz])
        elif kind == 2:
            ops.append(["rcv", -t, rnd.choice([0, MSG_NOERROR]), msgsz])
        elif kind == 3:
            ops.append(["rcv", t, MSG_EXCEPT, msgsz])
        elif kind == 4:
            ops.append(["rcv", rnd.randrange(-1, 40), MSG_COPY, msgsz])
        else:
            ops.append(["rcv", t, MSG_NOERROR, msgsz])
    return ops


def mq_script(rnd: random.Random, count: int, prios: list[int]) -> list:
    """["send", prio, text] and ["receive"] (non-blocking), sends leading in phases."""
    ops = []
    for i in range(count):
        if rnd.random() < (0.7 if (i // 300) % 2 == 0 else 0.35):
            ops.append(["send", rnd.choice(prios), "m%d" % i])
        else:
            ops.append(["receive"])
    return ops


def type_pool(rnd: random.Random, kind: str) -> list[int]:
    if kind == "few":
        return [1, 2, 3]
    if kind == "many":
        return rnd.sample(range(1, 5000), 400)
    return [1, 2] + rnd.sample(range(3, LONG_MAX), 40)       # mixed, with huge types


# --- running them on ipcsim --------------------------------------------------------------------
def new_process():
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)
    p.write_file("/proc/sys/kernel/msgmnb", str(1 << 24))
    return k, p


def sim_msg(p, ops: list) -> list:
    q = p.msgget(IPC_PRIVATE, 0o600)
    out = []
    for op in ops:
        try:
            if op[0] == "snd":
                p.msgsnd(q, op[1], op[2].encode(), IPC_NOWAIT)
                continue
            mtype, text = p.msgrcv(q, op[3], op[1], op[2] | IPC_NOWAIT)
            out.append([mtype, text.decode()])
        except OSError as e:
            out.append(errno.errorcode[e.errno])
    out.append(["qnum", p.msgctl(q, IPC_STAT).msg_qnum])
    p.msgctl(q, IPC_RMID)
    return out


def model_msg(ops: list) -> list:
    queue: list = []
    out = []
    for op in ops:
        if op[0] == "snd":
            queue.append((op[1], op[2]))
            continue
        got = model_msgrcv(queue, op[1], op[2], op[3])
        out.append(list(got) if isinstance(got, tuple) else got)
    out.append(["qnum", len(queue)])
    return out


def mq_structures_agree(inode) -> None:
    """The queue's priority structures describe its messages: FIFOs (a lone message in a
    1-tuple, more in a deque; at most one empty deque, the spare), the top is the highest
    priority with messages, the bitmap holds exactly the others, its summary the words in
    use."""
    tree = inode.tree
    live = sorted(prio for prio, fifo in tree.items() if fifo)
    assert [prio for prio, fifo in tree.items() if not fifo] in ([], [inode.spare])
    assert all(type(fifo) is deque or len(fifo) == 1 for fifo in tree.values())
    assert sum(len(fifo) for fifo in tree.values()) == inode.curmsgs
    assert inode.top == (live[-1] if live else -1)
    bitmap = inode.bitmap or [0] * 512
    assert len(bitmap) == 512
    assert [w * 64 + b for w in range(512) if bitmap[w] for b in range(64)
            if bitmap[w] >> b & 1] == live[:-1]
    assert inode.bitmap_summary == sum(1 << w for w in range(512) if bitmap[w])


def sim_mq(p, ops: list, maxmsg: int, check: bool = False) -> list:
    p.write_file("/proc/sys/fs/mqueue/msg_max", str(max(maxmsg, 10)))
    q = p.mq_open("/growth", O_CREAT | O_RDWR | O_NONBLOCK, 0o600, MqAttr(0, maxmsg, 16, 0))
    inode = p.fds[q].inode
    out = []
    for op in ops:
        try:
            if op[0] == "send":
                p.mq_send(q, op[2].encode(), op[1])
                continue
            text, prio = p.mq_receive(q, 16)
            out.append([text.decode(), prio])
        except OSError as e:
            out.append(errno.errorcode[e.errno])
        finally:
            if check:
                mq_structures_agree(inode)
    out.append(["curmsgs", p.mq_getattr(q).mq_curmsgs])
    p.mq_close(q)
    p.mq_unlink("/growth")
    return out


def model_mq(ops: list, maxmsg: int) -> list:
    queue: list = []
    out = []
    for op in ops:
        if op[0] == "send":
            if len(queue) == maxmsg:
                out.append("EAGAIN")
            else:
                queue.append((op[2], op[1]))
            continue
        got = model_mq_receive(queue)
        out.append(list(got) if isinstance(got, tuple) else got)
    out.append(["curmsgs", len(queue)])
    return out


# --- against the model -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["few", "many", "mixed"])
def test_msgrcv_modes_over_many_types_follow_linuxs_list_walk(kind):
    rnd = random.Random(f"msg-{kind}")
    ops = msg_script(rnd, 6000, type_pool(rnd, kind))
    k, p = new_process()
    assert sim_msg(p, ops) == model_msg(ops)
    k.close()


@pytest.mark.parametrize("kind", ["few", "all", "spread"])
def test_mq_receive_over_many_priorities_takes_the_oldest_of_the_highest(kind):
    rnd = random.Random(f"mq-{kind}")
    prios = {"few": [0, 1, 5], "all": list(range(32768)),
             "spread": [(i * 7919) % 32768 for i in range(300)]}[kind]
    ops = mq_script(rnd, 6000, prios)
    k, p = new_process()
    assert sim_mq(p, ops, 1000) == model_mq(ops, 1000)
    k.close()


# Priorities at the bitmap's edges: the ends, a word's first and last bits (63/64), the
# summary's (word 7/8, 511/512 ...), the last word.
EDGE_PRIOS = [0, 1, 62, 63, 64, 65, 127, 128, 511, 512, 4095, 4096, 32703, 32704, 32766, 32767]


@pytest.mark.parametrize("seed", range(4))
def test_mq_priorities_at_the_bitmaps_edges_follow_the_model(seed):
    """Priorities at word boundaries filled, emptied and filled again, queues emptied and
    refilled at another priority: every receive as the list model says, and the structures
    agree with the messages after every call."""
    rnd = random.Random(f"mq-edges-{seed}")
    prios = rnd.sample(EDGE_PRIOS, rnd.choice([1, 2, 5, len(EDGE_PRIOS)]))
    ops = mq_script(rnd, 3000, prios)
    k, p = new_process()
    assert sim_mq(p, ops, 50, check=True) == model_mq(ops, 50)
    k.close()


def test_mq_a_priority_emptied_and_refilled_keeps_its_order():
    """A lone message, a second behind it, both taken, the priority refilled (the spare
    deque moving with the queue's emptying): FIFO within a priority, the highest first."""
    k, p = new_process()
    ops = []
    for prio_a, prio_b in [(0, 32767), (63, 64), (511, 512), (64, 63), (32767, 0)]:
        ops += [["send", prio_a, "a1"], ["receive"], ["send", prio_a, "a2"],
                ["send", prio_a, "a3"], ["send", prio_b, "b1"], ["receive"], ["receive"],
                ["send", prio_b, "b2"], ["receive"], ["receive"], ["receive"],
                ["send", prio_b, "b3"], ["send", prio_a, "a4"], ["receive"], ["receive"]]
    assert sim_mq(p, ops, 8, check=True) == model_mq(ops, 8)
    k.close()


msg_ops = st.lists(st.one_of(
    st.tuples(st.just("snd"), st.integers(1, 6), st.sampled_from(["a", "bb", "cccccc"])),
    st.tuples(st.just("rcv"), st.integers(-7, 7),
              st.sampled_from([0, MSG_EXCEPT, MSG_NOERROR, MSG_COPY]),
              st.sampled_from([64, 3]))).map(list), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg_ops)
def test_msg_queue_matches_the_list_model(ops):
    k, p = new_process()
    assert sim_msg(p, ops) == model_msg(ops)
    k.close()


mq_ops = st.lists(st.one_of(
    st.tuples(st.just("send"), st.sampled_from([0, 1, 2, 31, 32767] + EDGE_PRIOS),
              st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("receive"))).map(list), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mq_ops)
def test_mqueue_matches_the_list_model(ops):
    k, p = new_process()
    assert sim_mq(p, ops, 8, check=True) == model_mq(ops, 8)
    k.close()


many_types_ops = st.lists(st.one_of(
    st.tuples(st.just("snd"), st.integers(1, 150), st.sampled_from(["a", "bb"])).map(
        lambda op: [list(op)]),
    st.tuples(st.just("rcv"), st.integers(-150, 150),
              st.sampled_from([0, 0, MSG_EXCEPT, MSG_COPY]), st.just(64)).map(
        lambda op: [list(op)]),
    st.integers(1, 400).map(            # 70 types that come and go
        lambda t0: [op for t in range(t0, t0 + 70)
                    for op in (["snd", t, "c"], ["rcv", t, 0, 64])]),
    st.just([["rcv", 0, 0, 64]] * 20)),
    max_size=400).map(lambda groups: [op for group in groups for op in group])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_types_ops)
def test_msg_queue_with_types_coming_and_going_matches_the_list_model(ops):
    """More types than messages (types without messages are forgotten, with the heap made
    again), types whose lone message left coming back, the first negative receive coming
    late: the list model's results."""
    k, p = new_process()
    assert sim_msg(p, ops) == model_msg(ops)
    k.close()


def test_msg_types_come_back_before_and_after_the_first_negative_receive():
    """Lone messages of many types, taken by type, their types sent again (a deque from
    then on), many more types than messages, and only then receives by negative type: the
    lowest type first, each type's oldest first."""
    ops = []
    for round_ in range(3):
        ops += [["snd", t, f"{round_}-{t}"] for t in range(300, 0, -1)]
        ops += [["rcv", t, 0, 64] for t in range(1, 301, 2)]
        ops += [["snd", t, f"{round_}-{t}-again"] for t in range(1, 301, 3)]
        if round_:
            ops += [["rcv", -t, 0, 64] for t in range(1, 400, 7)]
        ops += [["rcv", 0, 0, 64] for _ in range(100 if round_ == 1 else 700)]
        for t in range(1000 + round_, 1400, 3):       # types that come and go: forgotten
            ops += [["snd", t, f"{round_}-{t}"], ["rcv", t, 0, 64]]
        ops += [["rcv", -1200, 0, 64] for _ in range(round_ * 40)]
    k, p = new_process()
    assert sim_msg(p, ops) == model_msg(ops)
    k.close()


def test_removed_messages_do_not_change_what_walks_find():
    """Messages taken by type from behind the front stay in the arrival order as removed
    ones until dropped; MSG_EXCEPT and MSG_COPY count only the others, however many."""
    k, p = new_process()
    q = p.msgget(IPC_PRIVATE, 0o600)
    for i in range(500):
        p.msgsnd(q, 1, b"one%d" % i)
        p.msgsnd(q, 3, b"three%d" % i)
    p.msgsnd(q, 2, b"two")
    for i in range(450):
        assert p.msgrcv(q, 64, 3) == (3, b"three%d" % i)
    # the live ones: one0 .. one450, then three450, one451, three451, ...
    assert p.msgrcv(q, 64, 450, MSG_COPY | IPC_NOWAIT) == (1, b"one450")
    assert p.msgrcv(q, 64, 451, MSG_COPY | IPC_NOWAIT) == (3, b"three450")
    assert p.msgrcv(q, 64, 550, MSG_COPY | IPC_NOWAIT) == (2, b"two")
    assert p.msgrcv(q, 64, 1, MSG_EXCEPT) == (3, b"three450")
    assert p.msgrcv(q, 64, -2) == (1, b"one0")
    assert p.msgrcv(q, 64, 1, MSG_EXCEPT | IPC_NOWAIT) == (3, b"three451")
    assert p.msgrcv(q, 64, 0) == (1, b"one1")
    k.close()


# --- against the real kernel -------------------------------------------------------------------
REAL_MSG = r'''
import ctypes
class Buf(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 64)]
_libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long,
                         ctypes.c_int]
_libc.msgrcv.restype = ctypes.c_ssize_t
wr("/proc/sys/kernel/msgmnb", str(1 << 24))
q = _libc.msgget(0, 0o600)
buf = Buf()
result = []
for op in OPS:
    if op[0] == "snd":
        buf.mtype, data = op[1], op[2].encode()
        ctypes.memmove(ctypes.addressof(buf) + Buf.mtext.offset, data, len(data))
        if _libc.msgsnd(q, ctypes.byref(buf), len(data), 0o4000) < 0:
            result.append("snd " + ename(ctypes.get_errno()))
        continue
    n = _libc.msgrcv(q, ctypes.byref(buf), op[3], op[1], op[2] | 0o4000)
    if n < 0:
        result.append(ename(ctypes.get_errno()))
    else:
        text = ctypes.string_at(ctypes.addressof(buf) + Buf.mtext.offset, n)
        result.append([buf.mtype, text.decode()])
class Ds(ctypes.Structure):
    _fields_ = [("perm", ctypes.c_char * 48), ("times", ctypes.c_long * 3),
                ("cbytes", ctypes.c_ulong), ("qnum", ctypes.c_ulong)]
ds = Ds()
_libc.msgctl(q, 2, ctypes.byref(ds))
result.append(["qnum", ds.qnum])
_libc.msgctl(q, 0, None)
'''

REAL_MQ = r'''
import posix_ipc
wr("/proc/sys/fs/mqueue/msg_max", str(MAXMSG))
q = posix_ipc.MessageQueue("/growth", posix_ipc.O_CREX, max_messages=MAXMSG,
                           max_message_size=16)
q.block = False
result = []
for op in OPS:
    try:
        if op[0] == "send":
            q.send(op[2].encode(), priority=op[1])
        else:
            text, prio = q.receive()
            result.append([text.decode(), prio])
    except posix_ipc.BusyError:
        result.append("EAGAIN")
result.append(["curmsgs", q.current_messages])
q.close()
q.unlink()
'''


@requires_real
def test_msgrcv_modes_over_many_types_match_the_real_kernel():
    rnd = random.Random("real-msg")
    ops = msg_script(rnd, 2500, type_pool(rnd, "few") + type_pool(rnd, "many")[:60])
    real = run_real(f"OPS = {json.dumps(ops)}\n" + REAL_MSG, timeout=120)
    k, p = new_process()
    assert sim_msg(p, ops) == real
    k.close()


@requires_real
def test_mq_receive_over_many_priorities_matches_the_real_kernel():
    pytest.importorskip("posix_ipc")
    rnd = random.Random("real-mq")
    ops = mq_script(rnd, 2500, [(i * 7919) % 32768 for i in range(200)] + EDGE_PRIOS)
    real = run_real(f"OPS = {json.dumps(ops)}\nMAXMSG = 1000\n" + REAL_MQ, timeout=120)
    k, p = new_process()
    assert sim_mq(p, ops, 1000) == real
    k.close()


def test_bench_growth_quick_smoke(capsys):
    """benchmarks/bench_growth.py runs (figures are read by people, never asserted on)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_growth.py"
    spec = importlib.util.spec_from_file_location("bench_growth", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--quick", "--no-real"])
    out = capsys.readouterr().out
    assert "mq_receive distinct prios" in out and "walk except" in out and "growth" in out
    assert figures["real"] is None and all(v > 0 for v in figures["ipcsim"].values())
