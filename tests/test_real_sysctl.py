"""The per-namespace IPC sysctls of ipcsim, compared with the real kernel.

Each real-kernel program runs in a fresh IPC namespace (``unshare --ipc``); the ipcsim side
does the same steps in a fresh namespace of a new Kernel. Every comparison covers the return
value or errno name of each call and the text of the file afterwards.
"""
from __future__ import annotations

import functools
import json
import os

import pytest

import ipcsim
from realkernel import errname, requires_real, run_real

INT_MAX = 2**31 - 1
INT_MIN = -2**31
ULONG_MAX = 2**64 - 1

K = "/proc/sys/kernel/"
MQ = "/proc/sys/fs/mqueue/"

# file -> (default text, accepted range or None for a vector, kind)
FILES = {
    K + "msgmax": ("8192\n", (0, INT_MAX), "int"),
    K + "msgmnb": ("16384\n", (0, INT_MAX), "int"),
    K + "msgmni": ("32000\n", (0, 32768), "int"),
    K + "sem": ("32000\t1024000000\t500\t32000\n", None, "sem"),
    K + "shmall": ("18446744073692774399\n", (0, ULONG_MAX), "ulong"),
    K + "shmmax": ("18446744073692774399\n", (0, ULONG_MAX), "ulong"),
    K + "shmmni": ("4096\n", (0, 32768), "int"),
    K + "shm_rmid_forced": ("0\n", (0, 1), "int"),
    K + "msg_next_id": ("-1\n", (0, INT_MAX), "int"),
    K + "sem_next_id": ("-1\n", (0, INT_MAX), "int"),
    K + "shm_next_id": ("-1\n", (0, INT_MAX), "int"),
    K + "auto_msgmni": ("0\n", (0, 1), "int"),
    MQ + "msg_default": ("10\n", (1, 65536), "int"),
    MQ + "msg_max": ("10\n", (1, 65536), "int"),
    MQ + "msgsize_default": ("8192\n", (128, 16777216), "int"),
    MQ + "msgsize_max": ("8192\n", (128, 16777216), "int"),
    MQ + "queues_max": ("256\n", (INT_MIN, INT_MAX), "int"),
}
PATHS = list(FILES)


def short(path: str) -> str:
    return path.rsplit("/", 1)[1]


# Two different valid values for each file (neither is the default).
VALID = {
    K + "msgmax": ("100", "200"),
    K + "msgmnb": ("1000", "2000"),
    K + "msgmni": ("10", "20"),
    K + "sem": ("1 2 3 4", "5 6 7 8"),
    K + "shmall": ("4096", "8192"),
    K + "shmmax": ("65536", "131072"),
    K + "shmmni": ("10", "20"),
    K + "shm_rmid_forced": ("1", "0"),
    K + "msg_next_id": ("5", "6"),
    K + "sem_next_id": ("7", "8"),
    K + "shm_next_id": ("9", "10"),
    K + "auto_msgmni": ("1", "0"),
    MQ + "msg_default": ("5", "6"),
    MQ + "msg_max": ("50", "60"),
    MQ + "msgsize_default": ("300", "400"),
    MQ + "msgsize_max": ("1000", "2000"),
    MQ + "queues_max": ("100", "200"),
}

# --- the write table --------------------------------------------------------------------
COMMON_WRITES = [
    "100", "0", "1", "-1", "-5", "0x10", "0X1f", "0x", "010", "08", "077", "  77  \n",
    "\t42\n", "\n55", "\r5", "5\r", "\v6", "1 2", "3\t4", "6\n7", "8\n\n", "", " ", "\n",
    "\t\n ", "12abc", "abc", "x12", "+5", "-0", "--1", "- 1", "1e3", "1,2", "1.5", "2147483647",
    "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
    "9223372036854775807", "9223372036854775808", "18446744073709551615",
    "18446744073709551616", "-18446744073709551615", "123456789012345678901",
    "00000000000000000042", "000000000000000000042", "0x7fffffff", "0x80000000",
    "0xffffffffffffffff", "7\x00", "7\x00junk", "\x009", " " * 5000 + "9", "9" + " " * 5000,
    "9" + " " * 5000 + "x", " " * 4094 + "4", " " * 4095 + "5", "3",
]

SEM_WRITES = [
    "1 2 3 4", "250 32000 32 128", "1 2 3", "9", "10 20", "1 2 3 4 5", "11 12 13 14 15 16",
    "250 32000 32 32769", "21 22 23 -1", "31 32 33 32768", "41 42 43 0", "1 2 x 4",
    "51 52 53 54x", "61 62 63 64\n", "1\t2\t3\t4", "1\n2\n3\n4\n", "  71   72  73 74  ",
    "-5 -6 -7 8", "2147483647 -2147483648 0 1", "2147483648 1 1 1", "81 2147483648 1 1",
    "0x10 010 0X1f 2", "", " ", "\n", "abc", "1 2 3 4abc", "+1 2 3 4", "1,2,3,4",
    "91 92 93 94 x", " " * 5000 + "1 2 3 4", "5 6 7 8" + " " * 5000, "9" + " " * 5000 + "2 3 4",
    "32000 1024000000 500 32000\n",
]


def boundary_writes(path: str) -> list[str]:
    lo, hi = FILES[path][1]
    return [str(lo - 1), str(lo), str(hi), str(hi + 1), str(lo + 1)]


def writes_for(path: str) -> list[str]:
    if FILES[path][2] == "sem":
        return list(SEM_WRITES)
    return boundary_writes(path) + COMMON_WRITES


def label(data: str) -> str:
    """A short, readable form of a write for a test id: long runs are shown as 'c'*n."""
    parts, plain, i = [], "", 0
    while i < len(data):
        j = i
        while j < len(data) and data[j] == data[i]:
            j += 1
        if j - i > 8:
            if plain:
                parts.append(repr(plain))
            parts.append(f"{data[i]!r}*{j - i}")
            plain = ""
        else:
            plain += data[i:j]
        i = j
    if plain or not parts:
        parts.append(repr(plain))
    return "+".join(parts)


WRITE_CASES = [(path, i, data) for path in PATHS for i, data in enumerate(writes_for(path))]
WRITE_IDS = [f"{short(path)}-{i:02d}-{label(data)}" for path, i, data in WRITE_CASES]


def new_sim():
    """A fresh Kernel and a root process in a new IPC namespace."""
    k = ipcsim.Kernel()
    return k, k.init.clone(ipcsim.CLONE_NEWIPC)


def sim_try(fn, *args):
    try:
        value = fn(*args)
    except OSError as e:
        return errname(e.errno)
    return 0 if value is None else value


def as_text(data):
    return data.decode("latin-1") if isinstance(data, bytes) else data


def mismatch(case, real, sim, **extra) -> str:
    lines = [f"real kernel and ipcsim differ for {case}",
             f"  real:   {real!r}", f"  ipcsim: {sim!r}"]
    lines += [f"  {name}: {value!r}" for name, value in extra.items()]
    return "\n".join(lines)


def enc(obj) -> str:
    """A Python literal of obj that the real-kernel program can decode."""
    return repr(json.dumps(obj))


# --- defaults ------------------------------------------------------------------------------
@functools.cache
def real_defaults() -> dict:
    return run_real(f"result = {{p: rd(p) for p in json.loads({enc(PATHS)})}}")


def sim_defaults() -> dict:
    k, p = new_sim()
    return {path: sim_try(p.read_file, path) for path in PATHS}


@requires_real
@pytest.mark.parametrize("path", PATHS, ids=short)
def test_default_text_matches_real(path):
    real, sim = real_defaults()[path], sim_defaults()[path]
    assert real == sim, mismatch(f"default text of {path}", real, sim)


@pytest.mark.parametrize("path", PATHS, ids=short)
def test_default_text_model(path):
    assert sim_defaults()[path] == FILES[path][0]


# --- the write table ------------------------------------------------------------------------
@functools.cache
def real_writes() -> list:
    code = f"""
result = []
for path, i, data in json.loads({enc(WRITE_CASES)}):
    result.append([wr(path, data.encode("latin-1")), rd(path)])
"""
    return run_real(code, timeout=60)


@functools.cache
def sim_writes() -> tuple:
    k, p = new_sim()
    out = []
    for path, i, data in WRITE_CASES:
        out.append((sim_try(p.write_file, path, data.encode("latin-1")),
                    sim_try(p.read_file, path)))
    return tuple(out)


@requires_real
@pytest.mark.parametrize("n", range(len(WRITE_CASES)), ids=WRITE_IDS)
def test_write_matches_real(n):
    path, i, data = WRITE_CASES[n]
    (real_ret, real_text), (sim_ret, sim_text) = real_writes()[n], sim_writes()[n]
    case = f"write #{i} of {data!r} to {path} (after the earlier writes in the table)"
    assert (real_ret, real_text) == (sim_ret, sim_text), mismatch(
        case, real_ret, sim_ret, real_text=real_text, sim_text=sim_text)


# Documented results (section 2 of the reference), each in a fresh namespace.
DOCUMENTED_WRITES = [
    (K + "msgmax", "  77  \n", 7, "77\n"),
    (K + "msgmax", "-1", "EINVAL", "8192\n"),
    (K + "msgmax", "2147483648", "EINVAL", "8192\n"),
    (K + "msgmni", "32769", "EINVAL", "32000\n"),
    (K + "shmmax", "1 2", 2, "1\n"),
    (K + "shmmax", "-1", "EINVAL", "18446744073692774399\n"),
    (K + "shmmax", "18446744073709551616", "EINVAL", "18446744073692774399\n"),
    (K + "shm_rmid_forced", "2", "EINVAL", "0\n"),
    (K + "auto_msgmni", "1", 1, "0\n"),
    (K + "auto_msgmni", "2", "EINVAL", "0\n"),
    (K + "msg_next_id", "-1", "EINVAL", "-1\n"),
    (K + "sem", "-5 -6 -7 8", 10, "-5\t-6\t-7\t8\n"),
    (K + "sem", "250 32000 32 32769", "ERANGE", "250\t32000\t32\t32000\n"),
    (K + "sem", "1 2 3", 5, "1\t2\t3\t32000\n"),
    (K + "sem", "1 2 3 4 5", 8, "1\t2\t3\t4\n"),
    (MQ + "queues_max", "-5", 2, "-5\n"),
    (MQ + "queues_max", "2147483648", "EINVAL", "256\n"),
    (MQ + "msg_max", "0", "EINVAL", "10\n"),
    (MQ + "msgsize_max", "127", "EINVAL", "8192\n"),
]


@pytest.mark.parametrize("path,data,ret,text", DOCUMENTED_WRITES,
                         ids=[f"{short(c[0])}-{label(c[1])}" for c in DOCUMENTED_WRITES])
def test_documented_write_model(path, data, ret, text):
    k, p = new_sim()
    got = (sim_try(p.write_file, path, data), sim_try(p.read_file, path))
    assert got == (ret, text)


# --- reads in small pieces --------------------------------------------------------------
READ_STEPS = "open; read(fd, 2); read(fd, 2); read(fd, 100); lseek(fd, 0); read(fd, 100)"


@functools.cache
def real_chunked_reads() -> dict:
    code = f"""
def steps(path):
    fd = os.open(path, os.O_RDONLY)
    out = [try_(os.read, fd, 2), try_(os.read, fd, 2), try_(os.read, fd, 100),
           try_(os.lseek, fd, 0, os.SEEK_SET), try_(os.read, fd, 100)]
    os.close(fd)
    return [x.decode("latin-1") if isinstance(x, bytes) else x for x in out]
result = {{p: steps(p) for p in json.loads({enc(PATHS)})}}
"""
    return run_real(code)


def sim_chunked_reads(path) -> list:
    k, p = new_sim()
    fd = p.open(path, ipcsim.O_RDONLY)
    out = [sim_try(p.read, fd, 2), sim_try(p.read, fd, 2), sim_try(p.read, fd, 100),
           sim_try(p.lseek, fd, 0, ipcsim.SEEK_SET), sim_try(p.read, fd, 100)]
    p.close(fd)
    return [as_text(x) for x in out]


@requires_real
@pytest.mark.parametrize("path", PATHS, ids=short)
def test_chunked_read_matches_real(path):
    real, sim = real_chunked_reads()[path], sim_chunked_reads(path)
    assert real == sim, mismatch(f"{READ_STEPS} on {path}", real, sim)


@pytest.mark.parametrize("path", PATHS, ids=short)
def test_chunked_read_model(path):
    text = FILES[path][0]
    assert sim_chunked_reads(path) == [text[:2], "", "", 0, text]   # EOF past offset 0


# --- a second write on the same descriptor ------------------------------------------------
WRITE_TWICE = ("open O_WRONLY; write(v1); write(v2); close; read the file",
               "open O_RDWR; read(fd, 100); write(v1); close; read the file",
               "open O_WRONLY; write(v1); lseek(fd, 0); write(v2); close; read the file")


@functools.cache
def real_write_twice() -> dict:
    code = f"""
def steps(path, v1, v2):
    v1, v2 = v1.encode(), v2.encode()
    fd = os.open(path, os.O_WRONLY)
    a = [try_(os.write, fd, v1), try_(os.write, fd, v2)]
    os.close(fd)
    a.append(rd(path))
    fd = os.open(path, os.O_RDWR)
    b = [len(os.read(fd, 100)), try_(os.write, fd, v1)]
    os.close(fd)
    b.append(rd(path))
    fd = os.open(path, os.O_WRONLY)
    c = [try_(os.write, fd, v1), os.lseek(fd, 0, os.SEEK_SET), try_(os.write, fd, v2)]
    os.close(fd)
    c.append(rd(path))
    return [a, b, c]
result = {{p: steps(p, *v) for p, v in json.loads({enc(VALID)}).items()}}
"""
    return run_real(code)


def sim_write_twice(path) -> list:
    k, p = new_sim()
    v1, v2 = (v.encode() for v in VALID[path])
    fd = p.open(path, ipcsim.O_WRONLY)
    a = [sim_try(p.write, fd, v1), sim_try(p.write, fd, v2)]
    p.close(fd)
    a.append(sim_try(p.read_file, path))
    fd = p.open(path, ipcsim.O_RDWR)
    b = [len(p.read(fd, 100)), sim_try(p.write, fd, v1)]
    p.close(fd)
    b.append(sim_try(p.read_file, path))
    fd = p.open(path, ipcsim.O_WRONLY)
    c = [sim_try(p.write, fd, v1), p.lseek(fd, 0, ipcsim.SEEK_SET), sim_try(p.write, fd, v2)]
    p.close(fd)
    c.append(sim_try(p.read_file, path))
    return [a, b, c]


@requires_real
@pytest.mark.parametrize("path", PATHS, ids=short)
def test_write_at_offset_matches_real(path):
    real, sim = real_write_twice()[path], sim_write_twice(path)
    for steps, r, s in zip(WRITE_TWICE, real, sim):
        assert r == s, mismatch(f"{steps} on {path} with {VALID[path]}", r, s)


@pytest.mark.parametrize("path", PATHS, ids=short)
def test_write_at_offset_model(path):
    v1, v2 = VALID[path]
    [a, b, c] = sim_write_twice(path)
    assert a == [len(v1), len(v2), text_of(path, v1)]
    assert b == [len(text_of(path, v1)), len(v1), text_of(path, v1)]
    assert c == [len(v1), 0, len(v2), text_of(path, v2)]


def text_of(path: str, value: str) -> str:
    """What the file reads after a successful write of ``value``."""
    return "0\n" if short(path) == "auto_msgmni" else value.replace(" ", "\t") + "\n"


# --- a new namespace starts from the defaults ---------------------------------------------
@functools.cache
def real_new_ns_after_changes() -> dict:
    code = f"""
valid = json.loads({enc(VALID)})
changed = {{p: [wr(p, v[0].encode()), rd(p)] for p, v in valid.items()}}
unshare(CLONE_NEWIPC)
result = {{p: changed[p] + [rd(p)] for p in valid}}
"""
    return run_real(code)


def sim_new_ns_after_changes() -> dict:
    k, p = new_sim()
    changed = {path: [sim_try(p.write_file, path, v[0]), sim_try(p.read_file, path)]
               for path, v in VALID.items()}
    p.unshare(ipcsim.CLONE_NEWIPC)
    return {path: changed[path] + [sim_try(p.read_file, path)] for path in VALID}


@requires_real
@pytest.mark.parametrize("path", PATHS, ids=short)
def test_new_namespace_after_changes_matches_real(path):
    real, sim = real_new_ns_after_changes()[path], sim_new_ns_after_changes()[path]
    assert real == sim, mismatch(
        f"write {VALID[path][0]!r} to {path}, read it, unshare(CLONE_NEWIPC), read it "
        f"([write result, text before, text after])", real, sim)


@pytest.mark.parametrize("path", PATHS, ids=short)
def test_new_namespace_after_changes_model(path):
    assert sim_new_ns_after_changes()[path][2] == FILES[path][0]


# --- permissions ---------------------------------------------------------------------------
NOBODY = 65534


@functools.cache
def real_as_nobody() -> dict:
    code = f"""
paths = json.loads({enc(PATHS)})
def nobody():
    os.setresgid({NOBODY}, {NOBODY}, {NOBODY})
    os.setresuid({NOBODY}, {NOBODY}, {NOBODY})
    out = {{}}
    for p in paths:
        out[p] = {{"open O_WRONLY": try_(lambda: os.close(os.open(p, os.O_WRONLY))),
                  "open O_RDWR": try_(lambda: os.close(os.open(p, os.O_RDWR))),
                  "read": rd(p)}}
    return out
result = in_child(nobody)
"""
    return run_real(code)


def sim_as_nobody(path) -> dict:
    k, p = new_sim()
    nobody = p.fork()
    nobody.setgid(NOBODY)
    nobody.setuid(NOBODY)

    def open_close(flags):
        nobody.close(nobody.open(path, flags))

    return {"open O_WRONLY": sim_try(open_close, ipcsim.O_WRONLY),
            "open O_RDWR": sim_try(open_close, ipcsim.O_RDWR),
            "read": sim_try(nobody.read_file, path)}


@requires_real
@pytest.mark.parametrize("path", PATHS, ids=short)
def test_nobody_matches_real(path):
    real, sim = real_as_nobody()[path], sim_as_nobody(path)
    assert real == sim, mismatch(f"uid/gid {NOBODY} opening {path}", real, sim)


@pytest.mark.parametrize("path", PATHS, ids=short)
def test_nobody_model(path):
    assert sim_as_nobody(path) == {"open O_WRONLY": "EACCES", "open O_RDWR": "EACCES",
                                   "read": FILES[path][0]}


CAP_DROPS = {
    "no CAP_SYS_ADMIN, no CAP_CHECKPOINT_RESTORE": (ipcsim.CAP_SYS_ADMIN,
                                                    ipcsim.CAP_CHECKPOINT_RESTORE),
    "no CAP_SYS_ADMIN": (ipcsim.CAP_SYS_ADMIN,),
    "no CAP_CHECKPOINT_RESTORE": (ipcsim.CAP_CHECKPOINT_RESTORE,),
    "no CAP_DAC_OVERRIDE": (ipcsim.CAP_DAC_OVERRIDE,),
}
CAP_FILES = [K + "msg_next_id", K + "sem_next_id", K + "shm_next_id", K + "msgmax", K + "sem",
             MQ + "msg_max"]


@functools.cache
def real_without_caps() -> dict:
    code = f"""
drops = json.loads({enc(CAP_DROPS)})
files = json.loads({enc({p: VALID[p][0] for p in CAP_FILES})})
def run(bits):
    unshare(CLONE_NEWIPC)
    eff, perm, inh = capget()
    mask = 0
    for b in bits:
        mask |= 1 << b
    capset(eff & ~mask, perm & ~mask, inh & ~mask)
    return {{p: [wr(p, v.encode()), rd(p)] for p, v in files.items()}}
result = {{name: in_child(lambda: run(bits)) for name, bits in drops.items()}}
"""
    return run_real(code)


def sim_without_caps(caps) -> dict:
    k, p = new_sim()
    c = p.fork()
    c.unshare(ipcsim.CLONE_NEWIPC)
    for cap in caps:
        c.drop_capability(cap)
    return {path: [sim_try(c.write_file, path, VALID[path][0]), sim_try(c.read_file, path)]
            for path in CAP_FILES}


CAP_CASES = [(name, path) for name in CAP_DROPS for path in CAP_FILES]


@requires_real
@pytest.mark.parametrize("name,path", CAP_CASES,
                         ids=[f"{n.replace(' ', '_')}-{short(p)}" for n, p in CAP_CASES])
def test_without_caps_matches_real(name, path):
    real, sim = real_without_caps()[name][path], sim_without_caps(CAP_DROPS[name])[path]
    assert real == sim, mismatch(f"root with {name}: write {VALID[path][0]!r} to {path} "
                                 f"([write result, text after])", real, sim)


@pytest.mark.parametrize("path", CAP_FILES, ids=short)
def test_without_caps_model(path):
    got = sim_without_caps(CAP_DROPS["no CAP_SYS_ADMIN, no CAP_CHECKPOINT_RESTORE"])[path]
    if path.endswith("_next_id"):
        assert got == ["EACCES", "-1\n"]
    else:
        assert got[0] == len(VALID[path][0])
