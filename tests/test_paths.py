"""A path that ends in "/" (or "/.") must name a directory, as path lookup in Linux says:
ENOTDIR for a file or a link to one, ENOENT for a missing entry, EISDIR when open would
create it; readlink of a followed link is EINVAL. Checked against the real kernel where it
can run (an mqueue mount in a private mount namespace)."""
import errno
import subprocess
import sys

import pytest

import ipcsim
from ipcsim import CLONE_NEWIPC, O_CREAT, O_RDONLY, O_RDWR

M = "/tmp/ipcsim-paths-mq"

CASES = [
    ("open q/", "open", M + "/q/", O_RDWR),
    ("open q/.", "open", M + "/q/.", O_RDONLY),
    ("open missing/ with O_CREAT", "open", M + "/missing/", O_CREAT | O_RDWR),
    ("open missing/", "open", M + "/missing/", O_RDWR),
    ("unlink q/", "unlink", M + "/q/"),
    ("stat q/", "stat", M + "/q/"),
    ("chmod q/", "chmod", M + "/q/", 0o644),
    ("readlink /proc/self/", "readlink", "/proc/self/"),
    ("readlink ns/ipc/", "readlink", "/proc/self/ns/ipc/"),
    ("listdir msgmni/", "listdir", "/proc/sys/kernel/msgmni/"),
    ("unlink msgmni/", "unlink", "/proc/sys/kernel/msgmni/"),
    ("open msgmni/.", "open", "/proc/sys/kernel/msgmni/.", O_RDONLY),
    ("open kernel/", "open", "/proc/sys/kernel/", O_RDONLY),
    ("listdir the mount/", "listdir", M + "/"),
]
EXPECTED = ["ENOTDIR", "ENOTDIR", "EISDIR", "ENOENT", "ENOTDIR", "ENOTDIR", "ENOTDIR",
            "EINVAL", "ENOTDIR", "ENOTDIR", "ENOTDIR", "ENOTDIR", "ok", "ok"]   # probed

PROBE = r"""
import errno, json, os, sys
M, cases = sys.argv[1], json.loads(sys.argv[2])
os.close(os.open(M + "/q", os.O_CREAT | os.O_RDWR, 0o600))
out = []
for name, call, *args in cases:
    fn = {"open": lambda p, f: os.open(p, f, 0o600), "unlink": os.unlink, "stat": os.stat,
          "chmod": os.chmod, "readlink": os.readlink, "listdir": os.listdir}[call]
    try:
        r = fn(*args)
        if call == "open":
            os.close(r)
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(json.dumps(out))
"""


def sim_outcomes() -> list[str]:
    k = ipcsim.Kernel()
    p = k.init.clone(CLONE_NEWIPC)
    p.mkdir(M)
    p.mount("none", M, "mqueue")
    p.close(p.open(M + "/q", O_CREAT | O_RDWR, 0o600))
    out = []
    for name, call, *args in CASES:
        try:
            r = getattr(p, call)(*args)
            if call == "open":
                p.close(r)
            out.append("ok")
        except OSError as e:
            out.append(errno.errorcode[e.errno])
    return out


def test_a_trailing_slash_needs_a_directory():
    assert sim_outcomes() == EXPECTED


def test_the_real_kernel_agrees():
    import json
    from realkernel import mount_namespace
    ok, why = mount_namespace()
    if not ok:
        pytest.skip(why)
    script = (f"mkdir -p {M} && mount -t mqueue none {M} && "
              f"{_quote(sys.executable)} -c {_quote(PROBE)} {M} {_quote(json.dumps(CASES))}")
    proc = subprocess.run(["unshare", "--ipc", "--mount", "--propagation", "private",
                           "sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == EXPECTED == sim_outcomes()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
