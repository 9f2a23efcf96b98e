"""The shell's faces of user namespaces: a rootless shell (uid 1000 runs ``unshare -Ur
--ipc``) printed as Linux and util-linux 2.38.1 print it, and unshare's, nsenter's and
lsns's options and messages as they were measured on Linux 6.18.

The rootless transcript is compared byte for byte once what changes from run to run is
mapped: namespace inode numbers and pids are numbered by first appearance, and the key
ipcmk draws too. lsns's tables are compared cell by cell (a pid's width changes the width of
its column). The expected text is kept here, as recorded on Linux 6.18, so the comparison
runs everywhere; where this machine can (root, unprivileged user namespaces allowed,
util-linux 2.38.1) it is also recorded afresh.
"""
import re
import shutil
import subprocess

import pytest

import ipcsim
from ipcsim import CLONE_NEWUSER
from ipcsim.shell import Shell
from realkernel import available
from test_shell_real import run_bash

# What uid 1000 types: a shell of its own, a rootless container with its own IPC namespace,
# and back on the host.
ROOTLESS = """setpriv --reuid=1000 --regid=1000 --clear-groups bash
unshare -Ur --ipc
id
ipcmk -Q
ipcs
sysctl -w kernel.msgmni=64
lsns -t user -t ipc
exit
ipcs
exit
"""

# Recorded on Linux 6.18 with util-linux 2.38.1 and procps 4.0.2 (stdout; stderr was empty).
ROOTLESS_REAL = """uid=0(root) gid=0(root) groups=0(root)
Message queue id: 0

------ Message Queues --------
key        msqid      owner      perms      used-bytes   messages    
0x9610b880 0          root       644        0            0           

------ Shared Memory Segments --------
key        shmid      owner      perms      bytes      nattch     status      

------ Semaphore Arrays --------
key        semid      owner      perms      nsems     

kernel.msgmni = 64
        NS TYPE  NPROCS   PID USER COMMAND
4026532175 user       2  2058 root -bash
4026532176 ipc        2  2058 root -bash

------ Message Queues --------
key        msqid      owner      perms      used-bytes   messages    

------ Shared Memory Segments --------
key        shmid      owner      perms      bytes      nattch     status      

------ Semaphore Arrays --------
key        semid      owner      perms      nsems     

"""

KEY = re.compile(r"\b0x[0-9a-f]{8}\b")
LSNS_ROW = re.compile(r"^(\d{10}) +(\S+) +(\d+) +(\d+) (\S+) +(.*)$")


def normalize(text: str) -> str:
    """Keys and namespace numbers by first appearance; an lsns table's cells, its pids
    numbered by first appearance, joined by one blank."""
    keys: dict[str, str] = {}
    inodes: dict[str, str] = {}
    pids: dict[str, str] = {}
    text = KEY.sub(lambda m: keys.setdefault(m.group(0), f"KEY{len(keys) + 1}"), text)
    lines = []
    for line in text.split("\n"):
        if line.split() == ["NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND"]:
            line = " ".join(line.split())
        m = LSNS_ROW.match(line)
        if m:
            ns, kind, nprocs, pid, user, command = m.groups()
            line = " ".join([inodes.setdefault(ns, f"NS{len(inodes) + 1}"), kind, nprocs,
                             pids.setdefault(pid, f"PID{len(pids) + 1}"), user, command])
        lines.append(line)
    return "\n".join(lines)


def run_sim(script: str, kernel=None) -> tuple[str, str, int]:
    out, err = [], []
    sh = Shell(kernel=kernel, seed=7, out=out.append, err=err.append)
    status = sh.run_script(script)
    return "".join(out), "".join(err), status


def _rootless_reason() -> str:
    """'' where this machine can record the transcript, else why not."""
    ok, why = available()
    if not ok:
        return why
    setpriv, unshare = shutil.which("setpriv"), shutil.which("unshare")
    if not setpriv or not unshare:
        return "setpriv or unshare is not installed"
    probe = subprocess.run([setpriv, "--reuid=1000", "--regid=1000", "--clear-groups",
                            unshare, "-Ur", "true"], capture_output=True, text=True,
                           timeout=30)
    if probe.returncode:
        return ("unprivileged user namespaces are disabled here (uid 1000: "
                f"{probe.stderr.strip() or probe.returncode})")
    return ""


def test_a_new_user_namespace_cannot_read_the_namespace_links_outside_it():
    """Linux refuses (cap_ptrace_access_check(): not in the target's user namespace, no
    CAP_SYS_PTRACE over it), so lsns inside a rootless container lists only its own."""
    k = ipcsim.Kernel()
    host = k.init.fork()
    host.setresgid(1000, 1000, 1000)
    host.setresuid(1000, 1000, 1000)
    host.set_dumpable(True)
    box = host.fork()
    box.unshare(CLONE_NEWUSER)
    with pytest.raises(PermissionError):
        box.readlink(f"/proc/{host.pid}/ns/ipc")
    assert host.readlink(f"/proc/{box.pid}/ns/ipc").startswith("ipc:[")   # the owner may


def test_the_rootless_shell_prints_what_linux_printed():
    out, err, status = run_sim(ROOTLESS)
    assert (err, status) == ("", 0)
    assert normalize(out) == normalize(ROOTLESS_REAL)


def test_the_rootless_shell_prints_what_linux_prints_now():
    reason = _rootless_reason()
    if reason:
        pytest.skip(reason)
    real_out, real_err, real_status = run_bash(ROOTLESS)
    out, err, status = run_sim(ROOTLESS)
    assert normalize(out) == normalize(real_out)
    assert (err, status) == (real_err, real_status)


def test_the_recorded_transcript_matches_this_machine_when_it_can_say():
    """The checked-in text is what Linux printed (so the test above guards the shell, not
    a guess): where the transcript can be recorded, it still matches."""
    reason = _rootless_reason()
    if reason:
        pytest.skip(reason)
    assert normalize(run_bash(ROOTLESS)[0]) == normalize(ROOTLESS_REAL)


# --- unshare's user namespace options, as measured as uid 1000 and as root ----------------
def sim(lines: str, uid: int = 1000) -> list[tuple[str, int]]:
    """Each line run by a shell of ``uid``: (what it printed, stdout and stderr, status)."""
    out: list[str] = []
    sh = Shell(seed=7, out=out.append, err=out.append)
    if uid:
        sh.run(f"setpriv --reuid={uid} --regid={uid} --clear-groups bash")
    got = []
    for line in lines.strip("\n").split("\n"):
        del out[:]
        status = sh.run(line)
        got.append(("".join(out), status))
    return got


UNPRIVILEGED = [
    ("unshare -r id", "uid=0(root) gid=0(root) groups=0(root)\n", 0),
    ("unshare -U id", "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n", 0),
    ("unshare --map-user=5 id", "uid=5(games) gid=65534(nogroup) groups=65534(nogroup)\n", 0),
    ("unshare --map-group=5 id", "uid=65534(nobody) gid=5(tty) groups=5(tty)\n", 0),
    ("unshare --map-user=5 --map-group=7 id", "uid=5(games) gid=7(lp) groups=7(lp)\n", 0),
    ("unshare --map-user=root id", "uid=0(root) gid=65534(nogroup) groups=65534(nogroup)\n",
     0),
    ("unshare --map-user=nosuch id", "unshare: failed to parse uid: 'nosuch'\n", 1),
    ("unshare --map-user=-1 id", "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n",
     0),
    ("unshare --map-user=4294967296 id",
     "uid=0(root) gid=65534(nogroup) groups=65534(nogroup)\n", 0),
    ("unshare --map-user=5x id", "unshare: failed to parse uid: '5x'\n", 1),
    ("unshare --map-user= id", "unshare: failed to parse uid: ''\n", 1),
    ("unshare --map-user=99999999999999999999999 id",
     "unshare: failed to parse uid: '99999999999999999999999': Numerical result out of "
     "range\n", 1),
    ("unshare --map-group=games id", "uid=65534(nobody) gid=60(games) groups=60(games)\n", 0),
    ("unshare --map-group=nosuch id", "unshare: failed to parse gid: 'nosuch'\n", 1),
    ("unshare -U --map-group=0 --setgroups allow id",
     "unshare: options --setgroups=allow and --map-group are mutually exclusive\n", 1),
    ("unshare -r --setgroups deny id",
     "unshare: write failed /proc/self/setgroups: Operation not permitted\n", 1),
    ("unshare -r --setgroups foo id", "unshare: unsupported --setgroups argument 'foo'\n", 1),
    ("unshare -U --setgroups deny cat /proc/self/setgroups", "deny\n", 0),
    ("unshare --setgroups deny id",
     "unshare: cannot open /proc/self/setgroups: Permission denied\n", 1),
    ("unshare --ipc id", "unshare: unshare failed: Operation not permitted\n", 1),
    ("unshare -r cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups",
     "         0       1000          1\n         0       1000          1\ndeny\n", 0),
    ("unshare --map-user=5 cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups",
     "         5       1000          1\nallow\n", 0),
    ("unshare -Ur unshare -r id", "uid=0(root) gid=0(root) groups=0(root)\n", 0),
    ("unshare -U unshare -r id", "unshare: unshare failed: Operation not permitted\n", 1),
    ("unshare -r unshare -U id",
     "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n", 0),
    ("unshare -r -S 5 id", "unshare: setuid failed: Invalid argument\n", 1),
    ("unshare -r -G 5 id", "unshare: setgroups failed: Operation not permitted\n", 1),
    ("unshare -S 0 -r id", "uid=0(root) gid=0(root) groups=0(root)\n", 0),
    ("unshare -c id", "uid=1000 gid=1000 groups=1000\n", 0),
    ("unshare -r --kill-child id", "uid=0(root) gid=0(root) groups=0(root)\n", 0),
    ("unshare --kill-child=9 true", "unshare: unknown signal: 9\n", 1),
    ("unshare --kill-child=sigterm true", "", 0),
    ("unshare --propagation=foo true", "unshare: unsupported propagation mode: foo\n", 1),
    ("unshare -m true", "unshare: unshare failed: Operation not permitted\n", 1),
]


@pytest.mark.parametrize("line,printed,status", UNPRIVILEGED)
def test_unshare_for_uid_1000_as_measured(line, printed, status):
    assert sim(line) == [(printed, status)]


ROOT = [
    ("unshare -r cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups",
     "         0          0          1\n         0          0          1\ndeny\n", 0),
    ("unshare --map-user=5 --map-group=7 cat /proc/self/uid_map /proc/self/gid_map",
     "         5          0          1\n         7          0          1\n", 0),
    ("unshare -U --setgroups allow id",
     "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n", 0),
    ("unshare -f sh -c 'exit 3'", "", 3),
    ("unshare -r nosuchprog", "unshare: failed to execute nosuchprog: No such file or "
                              "directory\n", 127),
    ("unshare -f nosuchprog", "unshare: failed to execute nosuchprog: No such file or "
                              "directory\n", 127),
    ("unshare -x", "unshare: invalid option -- 'x'\nTry 'unshare --help' for more "
                   "information.\n", 1),
    ("unshare --foo", "unshare: unrecognized option '--foo'\nTry 'unshare --help' for more "
                      "information.\n", 1),
    ("unshare --kill-child=FOO id", "unshare: unknown signal: FOO\n", 1),
]


@pytest.mark.parametrize("line,printed,status", ROOT)
def test_unshare_for_root_as_measured(line, printed, status):
    assert sim(line, uid=0) == [(printed, status)]


def test_unshare_user_file_is_bound_by_unshare_itself_and_refused_without_a_mount_namespace():
    """2.38.1 binds --user=FILE from the unshared process: root of the new user namespace
    has no CAP_SYS_ADMIN over the host's mount namespace."""
    got = sim("touch /tmp/u1\nunshare --user=/tmp/u1 true\nunshare --user=/tmp/nosuch true",
              uid=0)
    assert got[1][1] == 1 and re.fullmatch(
        r"unshare: mount /proc/\d+/ns/user on /tmp/u1 failed: Operation not permitted\n",
        got[1][0])
    assert re.fullmatch(r"unshare: mount /proc/\d+/ns/user on /tmp/nosuch failed: No such "
                        r"file or directory\n", got[2][0])


def test_unshare_fork_relays_the_child_status_and_signals():
    """unshare -f exits as its child did; a child a signal killed: SIGKILL cannot be
    unblocked (unshare says so, 1), SIGTERM is raised again on unshare (bash's report)."""
    got = sim("unshare -f bash -c 'kill -9 $$'\necho $?\nunshare -f bash -c 'kill -TERM $$'\n"
              "echo $?", uid=0)
    assert got[0] == ("unshare: sigprocmask unblock failed: Invalid argument\n", 1)
    assert got[1] == ("1\n", 0)
    assert got[3] == ("143\n", 0)


def test_unshare_fork_shell_level_ends_through_its_waiting_parent():
    out: list[str] = []
    sh = Shell(seed=7, out=out.append, err=out.append)
    top = sh.proc
    sh.run("unshare -Urf --ipc")
    inner = sh.proc
    assert inner.parent is not top and inner.parent.parent is top   # unshare waits
    del out[:]
    assert sh.run("id") == 0 and "".join(out) == "uid=0(root) gid=0(root) groups=0(root)\n"
    sh.run("exit 7")
    assert sh.proc is top and sh.status == 7


# --- nsenter ------------------------------------------------------------------------------
def test_nsenter_into_a_rootless_container_as_measured():
    out: list[str] = []
    sh = Shell(seed=7, out=out.append, err=out.append)

    def run(line):
        del out[:]
        return "".join(out) if sh.run(line) is None else ("".join(out), sh.status)

    sh.run("setpriv --reuid=1000 --regid=1000 --clear-groups bash")
    user = sh.proc
    sh.run("unshare -Ur --ipc")
    box = sh.proc.pid
    sh.run("ipcmk -Q")
    sh.levels.append(user)          # back in the uid 1000 shell, the container still there
    assert run(f"nsenter -t {box} -U id") == (
        "nsenter: setgroups failed: Operation not permitted\n", 1)
    assert run(f"nsenter -t {box} -U --preserve-credentials id") == (
        "uid=0(root) gid=0(root) groups=0(root)\n", 0)
    assert run(f"nsenter -t {box} -i ipcs -q") == (
        "nsenter: reassociate to namespace 'ns/ipc' failed: Operation not permitted\n", 1)
    assert run(f"nsenter -t {box} -a id") == (
        "nsenter: reassociate to namespace 'ns/cgroup' failed: Operation not permitted\n", 1)
    assert run(f"nsenter -t {box} -U --preserve-credentials -i ipcs -q")[0].count(
        "root       644") == 1
    assert run("nsenter -U true") == (
        "nsenter: neither filename nor target pid supplied for ns/user\n", 1)
    assert run("nsenter -t 1 -U true") == (
        "nsenter: cannot open /proc/1/ns/user: Permission denied\n", 1)
    sh.levels.pop()
    sh.levels.append(sh.kernel.process(2))            # root's shell
    assert run(f"nsenter -t {box} -U id") == ("uid=0(root) gid=0(root) groups=0(root)\n", 0)
    assert run(f"nsenter -t {box} -U --preserve-credentials id") == (
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n", 0)
    assert run(f"nsenter -t {box} -U -S 5 id") == (
        "nsenter: setuid failed: Invalid argument\n", 1)
    assert run(f"nsenter --user=/proc/{box}/ns/ipc id") == (
        "nsenter: reassociate to namespace 'ns/user' failed: Invalid argument\n", 1)
    assert run("nsenter -t $$ -U true") == (
        "nsenter: reassociate to namespace 'ns/user' failed: Invalid argument\n", 1)
    assert run(f"nsenter -t {box} -a readlink /proc/self/ns/user")[1] == 0


# --- lsns -----------------------------------------------------------------------------------
def test_lsns_trees_of_owners_and_parents_as_measured():
    """As root on a host with a uid-1000 container (user and IPC namespaces) and a root
    one (IPC): the shapes lsns 2.38.1 drew there."""
    out: list[str] = []
    sh = Shell(seed=7, out=out.append, err=out.append)
    sh.run("setpriv --reuid=1000 --regid=1000 --clear-groups bash")
    sh.run("unshare -Ur --ipc")
    sh.levels[1:] = []
    sh.run("unshare --ipc")
    sh.levels[1:] = []

    def rows(line):
        del out[:]
        sh.run(line)
        return ["".join(out).split("\n")[0].split()] + [
            r.split()[:2] for r in "".join(out).split("\n")[1:] if r]

    # (the model numbers them 839 the host's IPC namespace, 840 and 841 the rootless
    # container's user and IPC namespaces, 842 root's IPC namespace)
    owner = rows("lsns -t user -t ipc -Towner")
    assert owner[0] == ["NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND"]
    assert owner[1:] == [["4026531837", "user"], ["├─4026531839", "ipc"],
                         ["├─4026531840", "user"], ["│", "└─4026531841"],
                         ["└─4026531842", "ipc"]]
    parent = rows("lsns -t user -t ipc -Tparent")
    assert parent[1:] == [["4026531837", "user"], ["└─4026531840", "user"],
                          ["4026531839", "ipc"], ["4026531841", "ipc"], ["4026531842", "ipc"]]
    del out[:]
    sh.run("lsns -t ipc -Towner")
    text = "".join(out)
    # the owners found by NS_GET_USERNS: no process, the owner's name (padded: USER is not
    # the last column)
    assert text.split("\n")[1] == "4026531837     user       0     root "
    assert "├─4026531840   user       0     1000 \n│ └─4026531841 ipc" in text
    assert sh.run("lsns -Tfoo") == 1 and out[-1] == "lsns: unknown tree type: foo\n"


# --- PID namespaces and the caller's mounts -----------------------------------------------
def test_unshare_pid_fork_mount_proc_numbers_from_one_as_measured():
    """unshare -pf --mount-proc: bash is 1, ps numbers as the new /proc does (its parent
    outside: 0), lsns -t pid shows the new namespace with bash as its pid 1."""
    got = sim("unshare -pf --mount-proc bash -c 'echo $$; ps; lsns -t pid'", uid=0)[0]
    text, status = got
    lines = text.split("\n")
    assert status == 0 and lines[0] == "1"
    assert lines[2].split()[:2] == ["1", "0"] and lines[2].endswith(" bash")
    assert lines[3].split()[:2] == ["2", "1"] and lines[3].endswith(" ps")
    assert len(lines) == 7 and lines[5].split()[1:5] == ["pid", "2", "1", "root"]
    assert lines[5].split()[5:7] == ["bash", "-c"]


def test_unshare_pid_fork_without_mount_proc_keeps_the_hosts_proc():
    text, status = sim("unshare -pf bash -c 'echo $$; readlink /proc/self'", uid=0)[0]
    first, second = text.split("\n")[:2]
    assert status == 0 and first == "1" and int(second) > 1   # /proc is still the host's


def test_unshare_pid_without_fork_the_second_child_cannot_be_forked():
    """The first child is the namespace's init; once it exits the next fork is ENOMEM and
    bash -c ends with 254, as measured."""
    text, status = sim("unshare -p bash -c 'id -u; echo st=$?; id -u; echo after'", uid=0)[0]
    assert (text, status) == ("0\nst=0\nbash: fork: Cannot allocate memory\n", 254)


def test_nsenter_pid_forks_a_child_in_the_targets_namespace():
    out: list[str] = []
    sh = Shell(seed=7, out=out.append, err=out.append)
    sh.run("unshare -pf --mount-proc")
    box = sh.proc
    sh.levels[1:] = []
    del out[:]
    host_pid = box.pid
    sh.run(f"nsenter -t {host_pid} -p bash -c 'echo $$; readlink /proc/self/ns/pid'")
    assert sh.status == 0
    lines = "".join(out).split("\n")
    assert lines[0] == "2"             # box's bash is 1 there
    assert lines[1] == sh.proc.readlink(f"/proc/{host_pid}/ns/pid")


def test_lsns_pid_tree_inside_a_pid_namespace():
    """-T parent from inside: the parent PID namespace is not visible, so the new one
    stands alone under the user namespace found as its owner (lsns 2.38.1's shape)."""
    text, _ = sim("unshare -pf --mount-proc bash -c 'lsns -t pid -Tparent; true'", uid=0)[0]
    rows = [r.split()[:3] for r in text.split("\n")[1:] if r]
    assert rows[0] == ["4026531837", "user", "0"]
    assert rows[1][1:] == ["pid", "2"] and len(rows) == 2
    assert sim("lsns -t pid -T parent", uid=0)[0] == (
        "lsns: invalid namespace argument: 'parent'\n", 1)


def test_mount_lists_the_callers_mount_namespace():
    got = sim("mkdir /tmp/q && mount -t mqueue none /tmp/q\n"
              "unshare -m bash -c 'umount /tmp/q; mount -t mqueue mq2 /tmp/q; mount'\n"
              "mount\nunshare -m bash -c 'umount /tmp/q; mount'", uid=0)
    assert got[1] == ("mq2 on /tmp/q type mqueue (rw,relatime)\n", 0)
    assert got[2] == ("none on /tmp/q type mqueue (rw,relatime)\n", 0)
    assert got[3] == ("", 0)


def test_the_readme_rootless_transcript_is_what_the_shell_prints():
    import re
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    match = re.search(r"^\$ printf '(setpriv[^']*)' \| ipcsim shell --echo\n", readme, re.M)
    assert match is not None
    script = match.group(1).encode().decode("unicode_escape")
    done = subprocess.run([sys.executable, "-m", "ipcsim", "shell", "--echo"], input=script,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          cwd=root, env={"PYTHONPATH": str(root)}, check=True)
    block = readme[match.end():readme.index("```", match.end())]
    assert block == done.stdout
    assert "kernel.msgmni = 64" in block
    lsns = block.split("# lsns -t user -t ipc\n", 1)[1].split("[pid", 1)[0]
    assert len(lsns.splitlines()) == 3           # the container's own two, not the host's
    assert "4026531837" not in lsns and "4026531839" not in lsns
