"""Views: text and HTML of the model, snapshot(), and the timeline."""
import json
import re

import pytest

import ipcsim
from ipcsim import CLONE_NEWIPC, IPC_CREAT, O_CREAT, O_RDWR, SETALL
from ipcsim.timeline import Timeline

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")


def busy_kernel():
    k = ipcsim.Kernel(seed=0)
    box = k.init.clone(CLONE_NEWIPC)
    q = box.msgget(0x10, IPC_CREAT | 0o600)
    box.msgsnd(q, 1, b"hi")
    s = k.init.semget(0x20, 2, IPC_CREAT | 0o640)
    k.init.semctl(s, 0, SETALL, [3, 4])
    m = k.init.shmget(0x30, 100, IPC_CREAT | 0o600)
    k.init.shmat(m)
    k.init.mq_open("/mail", O_CREAT | O_RDWR, 0o600)
    return k, box


def test_kernel_text_is_the_tree_of_namespaces_and_members():
    k, box = busy_kernel()
    text = str(k)
    lines = text.splitlines()
    assert lines[0] == "Kernel seed=0 t=0s: 2 processes in 2 IPC namespaces"
    assert lines[1] == ("├─ ipc:[4026531839] (initial): 0 message queues, 1 semaphore set, "
                        "1 shm segment, 1 POSIX queue")
    assert lines[2] == "│  └─ pid 1 init (uid 0): idle"
    assert lines[3].startswith("└─ ipc:[4026531840] (1 reference): 1 message queue")
    assert repr(k).startswith("<Kernel seed=0")


def test_html_views_exist_and_escape():
    k, box = busy_kernel()
    for obj in (k, box.ipc_ns, box, list(box.ipc_ns.msg_ids)[0],
                list(k.init_ipc_ns.sem_ids)[0], list(k.init_ipc_ns.shm_ids)[0]):
        html = obj._repr_html_()
        assert html.startswith("<") and "<script" not in html
    assert "ipc:[4026531840]" in k._repr_html_()


def test_namespace_text_is_ipcs_like():
    k, box = busy_kernel()
    text = str(k.init_ipc_ns)
    assert "------ Semaphore Arrays --------" in text
    assert "0x00000020 0     root  640   2     3 4" in text
    assert "/mail" in text
    assert "0x00000010 0     root  600   2          1" in str(box.ipc_ns)


def test_process_and_object_text():
    k, box = busy_kernel()
    text = str(k.init)
    assert "ipc namespace    ipc:[4026531839]" in text and "shm attachments" in text
    sem = list(k.init_ipc_ns.sem_ids)[0]
    assert "values         [3, 4]" in str(sem)
    from ipcsim.kernel.mqueue import mq_sb
    assert "POSIX message queue" in str(mq_sb(k.init_ipc_ns).lookup("mail"))


def test_snapshot_is_plain_json_data_in_stable_order():
    k, box = busy_kernel()
    snap = k.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert [p["pid"] for p in snap["processes"]] == [1, 2]
    assert snap["msg_queues"][0]["messages"] == 1
    assert snap["semaphore_sets"][0]["values"] == "3 4"
    assert snap["shm_segments"][0]["attached"] == 1
    assert snap["posix_queues"][0]["name"] == "/mail"
    for table in ("namespaces", "processes", "msg_queues", "semaphore_sets", "shm_segments",
                  "posix_queues"):
        keys = {tuple(row) for row in snap[table]}
        assert len(keys) == 1                      # every row has the same columns


def _philosophers(seed):
    import runpy
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "dining_philosophers.py"
    k = ipcsim.Kernel(seed=seed, trace=True)
    tl = Timeline(k)
    runpy.run_path(str(path))["scenario"](k)
    try:
        k.run()
    except ipcsim.DeadlockError:
        pass
    return k, tl


def test_timeline_marks_calls_blocked_forever():
    k, tl = _philosophers(33)
    forever = [b for b in tl.intervals() if b.forever]
    assert sorted(b.pid for b in forever) == [2, 3, 4, 5, 6]
    svg = tl.svg()
    assert svg.startswith("<svg") and svg.count("#d62728") >= 5
    assert "blocked forever" in tl.text()
    k.close()


def test_timeline_is_deterministic_and_shows_waits():
    k1, tl1 = _philosophers(5)
    k2, tl2 = _philosophers(5)
    assert tl1.svg() == tl2.svg()
    assert any(b.last > b.first for b in tl1.intervals())
    assert not any(b.forever for b in tl1.intervals())
    k1.close()
    k2.close()


def test_timeline_needs_tracing():
    import pytest
    with pytest.raises(ValueError):
        Timeline(ipcsim.Kernel())


def test_timeline_png_with_the_plot_extra(tmp_path):
    import pytest
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    k, tl = _philosophers(33)
    out = tmp_path / "run.png"
    tl.png(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    k.close()


def test_the_readme_pictures_are_what_the_documented_command_draws(tmp_path, capsys):
    from pathlib import Path
    from ipcsim.cli import main
    root = Path(__file__).resolve().parent.parent
    for seed in (33, 5):
        out = tmp_path / f"{seed}.svg"
        main(["run", str(root / "examples" / "dining_philosophers.py"), "--seed", str(seed),
              "--quiet", "--svg", str(out)])
        committed = root / "docs" / f"dining-philosophers-seed{seed}.svg"
        assert out.read_text() == committed.read_text()


# --- the states a student meets -----------------------------------------------------------
def _receiver(p, q):
    return p.msgrcv(q, 100)


def _sleeper(p):
    p.sleep(5)


def student_kernel(seed=0):
    """Blocked, sleeping, stopped and zombie processes; a removed and locked segment; queues
    with messages; a name with <&>; a destroyed namespace still referenced and mounted."""
    from ipcsim import IPC_RMID, SHM_LOCK, SIGSTOP
    k = ipcsim.Kernel(seed=seed)
    box = k.init.clone(CLONE_NEWIPC)
    box.comm = "a<b>&c"
    q = box.msgget(0x10, IPC_CREAT | 0o600)
    box.msgsnd(q, 1, b"hi")
    q2 = k.init.msgget(0x11, IPC_CREAT | 0o600)
    sem = k.init.semget(0x20, 2, IPC_CREAT | 0o640)
    k.init.semctl(sem, 0, SETALL, [0, 4])
    waiter = k.init.fork(target=_receiver, args=(q2,))
    sleeper = k.init.fork(target=_sleeper)
    stopped = k.init.fork(target=_receiver, args=(q2,))
    zombie = k.init.fork()
    zombie.exit(3)
    m = k.init.shmget(0x30, 4096, IPC_CREAT | 0o600)
    k.init.shmat(m)
    k.init.shmctl(m, SHM_LOCK)
    k.init.shmctl(m, IPC_RMID)
    fd = k.init.mq_open("/a<b>&", O_CREAT | O_RDWR, 0o600)
    k.init.mq_send(fd, b"x", 3)
    gone = k.init.clone(CLONE_NEWIPC)
    gone_ns = gone.ipc_ns
    gone_q = gone.msgget(0x40, IPC_CREAT | 0o600)
    gone_queue = list(gone_ns.msg_ids)[0]
    gfd = gone.mq_open("/kept", O_CREAT | O_RDWR, 0o600)
    gone.mq_send(gfd, b"still here", 0)
    gone.mount("mqueue", "/mnt", "mqueue")
    gone.exit(0)
    k.init.wait(gone.pid)
    assert gone_q == 0
    k.run_until_idle()
    k.init.kill(stopped.pid, SIGSTOP)
    k.run_until_idle()
    return dict(k=k, box=box, waiter=waiter, sleeper=sleeper, stopped=stopped,
                zombie=zombie, gone_ns=gone_ns, gone_queue=gone_queue)


def _xml(fragment):
    import xml.etree.ElementTree as ET
    return ET.fromstring(f"<root>{fragment}</root>")


def test_kernel_text_shows_waits_stops_and_zombies():
    s = student_kernel()
    text = str(s["k"])
    assert f"pid {s['waiter'].pid} _receiver (uid 0): blocked in msgrcv on queue 0" in text
    assert f"pid {s['sleeper'].pid} _sleeper (uid 0): blocked in sleep(5)" in text
    assert f"pid {s['stopped'].pid} _receiver (uid 0): stopped (in msgrcv" in text
    assert text.splitlines()[-4:] == [
        "├─ zombies (in no namespace any more): 1",
        f"│  └─ pid {s['zombie'].pid} init (exit status 3): not yet reaped by its parent, "
        f"pid 1",
        "└─ mounts holding IPC state: 1",
        "   └─ /mnt: mqueue of a destroyed namespace, 1 POSIX queue"]
    k = s["k"]
    k.init.mkdir("/run/ns")
    k.init.close(k.init.open("/run/ns/box", O_CREAT | O_RDWR))      # the bind mount's target
    k.init.mount(f"/proc/{s['box'].pid}/ns/ipc", "/run/ns/box", None, 4096)   # MS_BIND
    k.init.umount("/mnt")
    assert str(k).splitlines()[-2:] == [
        "└─ mounts holding IPC state: 1",
        f"   └─ /run/ns/box: bind mount of ipc:[{s['box'].ipc_ns.inum}] (holds it)"]
    assert "(2 references)" in str(k)
    _xml(k._repr_html_())
    html = s["k"]._repr_html_()
    assert "zombies" in html and "a&lt;b&gt;&amp;c" in html and "a<b>" not in html
    _xml(html)
    s["k"].close()


def test_process_views_of_each_state():
    k = ipcsim.Kernel()
    p = k.init.fork(target=_sleeper)
    assert "state            runnable (its program waits for the CPU: k.run() runs it)" \
        in str(p)
    k.close()
    s = student_kernel()
    assert "state            zombie" in str(s["zombie"])
    assert "ipc namespace    -" in str(s["zombie"])
    assert "state            stopped (in msgrcv" in str(s["stopped"])
    assert "state            blocked in sleep(5)" in str(s["sleeper"])
    for p in ("zombie", "stopped", "sleeper", "waiter", "box"):
        _xml(s[p]._repr_html_())
    assert "a&lt;b&gt;&amp;c" in s["box"]._repr_html_()
    s["k"].close()


def test_a_destroyed_namespace_shows_what_its_mount_keeps():
    s = student_kernel()
    ns = s["gone_ns"]
    text = str(ns)
    assert text.startswith(f"ipc:[{ns.inum}] (destroyed: ")
    assert "/kept root  600   1" in text
    assert "------ Message Queues --------\nkey msqid" in text       # freed with it
    _xml(ns._repr_html_())
    queue = str(s["gone_queue"])
    assert "state          removed: no longer in its namespace's table" in queue
    assert f"namespace      ipc:[{ns.inum}] (destroyed)" in queue
    s["k"].close()


def test_a_removed_locked_segment_and_a_queue_with_messages():
    s = student_kernel()
    k = s["k"]
    seg = list(k.init_ipc_ns.shm_ids)[0]
    assert "status         dest (marked for destruction: goes with the last detach), locked" \
        in str(seg)
    assert "perms          600" in str(seg)
    assert "0x00000000 0     root  600   4096  1      dest locked" in str(k.init_ipc_ns)
    from ipcsim.kernel.mqueue import mq_sb
    mq = mq_sb(k.init_ipc_ns).lookup("a<b>&")
    assert "messages       1 of 10" in str(mq) and "by priority    3: 1" in str(mq)
    html = mq._repr_html_()
    assert "/a&lt;b&gt;&amp;" in html
    for obj in (seg, mq, k.init_ipc_ns, list(s["box"].ipc_ns.msg_ids)[0]):
        _xml(obj._repr_html_())
    k.init.mq_unlink("/a<b>&")
    assert "/a<b>& (unlinked: gone with its last descriptor)" in str(mq)
    k.close()


def test_many_namespaces_print_sorted_by_inode_and_the_same_every_time():
    def build():
        k = ipcsim.Kernel(seed=1)
        kids = [k.init.clone(CLONE_NEWIPC) for _ in range(12)]
        for p in kids[2:5]:
            p.exit(0)                       # their inode numbers are free for reuse
        kids += [k.init.clone(CLONE_NEWIPC) for _ in range(2)]
        return k
    k1, k2 = build(), build()
    text = str(k1)
    assert text == str(k2) and k1._repr_html_() == k2._repr_html_()
    inums = [int(line.split("[")[1].split("]")[0]) for line in text.splitlines()
             if "ipc:[" in line and "pid" not in line]
    assert len(inums) == 12 and inums == sorted(inums)
    assert [r["ipc_ns"] for r in k1.snapshot()["namespaces"]] == inums
    assert k1.snapshot() == k2.snapshot()


def test_snapshot_tables_are_pandas_ready_and_agree_with_the_kernel():
    s = student_kernel()
    k = s["k"]
    snap = k.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    for name, table in snap.items():
        if name in ("time", "seed"):
            continue
        assert isinstance(table, list) and table, name
        keys = {tuple(row) for row in table}
        assert len(keys) == 1, name                       # same columns in every row
        for row in table:
            assert all(v is None or type(v) in (str, int, float, bool) for v in row.values())
    nss = {r["ipc_ns"]: r for r in snap["namespaces"]}
    for table, count in (("msg_queues", "msg_queue_count"),
                         ("semaphore_sets", "semaphore_set_count"),
                         ("shm_segments", "shm_segment_count"),
                         ("posix_queues", "posix_queue_count")):
        for inum, row in nss.items():
            assert row[count] == sum(r["ipc_ns"] == inum for r in snap[table])
    for inum, row in nss.items():
        assert row["member_count"] == sum(p["ipc_ns"] == inum and p["alive"]
                                          for p in snap["processes"])
    procs = {p["pid"]: p for p in snap["processes"]}
    assert procs[s["zombie"].pid]["zombie"] and procs[s["zombie"].pid]["ipc_ns"] is None
    assert procs[s["stopped"].pid]["stopped"]
    assert procs[s["waiter"].pid]["waiting_in"].startswith("msgrcv on queue 0")
    seg = snap["shm_segments"][0]
    assert seg["marked_for_destruction"] and seg["locked"] and seg["perms"] == 0o600
    assert student_kernel()["k"].snapshot() == snap            # the same seed, the same data
    k.close()


# --- timelines of runs across namespaces, with timeouts, kills and reaped children ----------
def _grandchild(p):
    p.sleep(1)


def _worker(p, s):
    try:
        p.semtimedop(s, [(0, -1, 0)], 2)          # nobody posts: EAGAIN after 2 s
    except OSError:
        pass
    p.fork(target=_grandchild)
    p.wait()                                      # reaps the grandchild


def _boxed(p):
    from ipcsim import IPC_NOWAIT
    p.unshare(CLONE_NEWIPC)
    q = p.msgget(0x5, IPC_CREAT | 0o600)
    try:
        p.msgrcv(q, 10, 0, IPC_NOWAIT)
    except OSError:
        pass
    p.msgrcv(q, 10)                               # killed while it waits


def _killer(p, pid):
    from ipcsim import SIGKILL
    p.sleep(3)
    p.kill(pid, SIGKILL)


def _mixed_run(seed=3):
    k = ipcsim.Kernel(seed=seed, trace=True)
    tl = Timeline(k)
    s = k.init.semget(0x1, 1, IPC_CREAT | 0o600)
    k.init.fork(target=_worker, args=(s,))
    boxed = k.init.fork(target=_boxed)
    k.init.fork(target=_killer, args=(boxed.pid,))
    k.run()
    return k, tl


def test_timeline_lanes_across_namespaces_and_mid_run_processes():
    import xml.etree.ElementTree as ET
    k, tl = _mixed_run()
    assert tl.lanes() == [(1, "pid 1 init"), (2, "pid 2 _worker"), (3, "pid 3 _boxed"),
                          (4, "pid 4 _killer"), (5, "pid 5 _grandchild")]   # 5 was reaped
    assert k.process(5) is None
    trace = k.trace
    exits = tl.exits()
    assert set(exits) == {2, 3, 4, 5} and all(trace[i].pid == pid for pid, i in exits.items())
    made = next(i for i, e in enumerate(trace) if e.name == "fork" and e.result == 5)
    root = ET.fromstring(tl.svg())
    ns = "{http://www.w3.org/2000/svg}"
    lane_lines = [el for el in root.iter(ns + "line") if el.get("stroke") == "#888"]
    assert len(lane_lines) == 5
    x = lambda step: float(lane_lines[0].get("x1")) + step * (        # noqa: E731
        (float(lane_lines[0].get("x2")) - float(lane_lines[0].get("x1"))) / (len(trace) + 1))
    grandchild = lane_lines[4]
    assert abs(float(grandchild.get("x1")) - x(made)) < 0.2          # starts at its fork
    assert abs(float(grandchild.get("x2")) - x(exits[5])) < 0.2      # ends at its exit
    titles = [t.text for t in root.iter(ns + "title")]
    assert any("semop on semaphore set 0" in t and "then failed: error EAGAIN" in t
               and "t=0s..2s" in t for t in titles)
    assert any(t.startswith("pid 3 blocked in msgrcv on queue 0 of ipc:[4026531840]")
               and t.endswith("until its process exited") for t in titles)
    k.close()


def test_timeline_a_wait_ended_by_a_kill_stops_at_the_exit():
    k, tl = _mixed_run()
    killed = [b for b in tl.intervals() if b.killed]
    assert len(killed) == 1 and killed[0].pid == 3 and not killed[0].forever
    assert killed[0].last == tl.exits()[3] and killed[0].end == 3.0
    text = tl.text()
    assert "semtimedop(0, [(0, -1, 0)], 2) -> error EAGAIN (blocked 0s..2s)" in text
    assert "msgrcv(0, 10, 0, IPC_NOWAIT) -> error ENOMSG" in text
    assert "exited while blocked: pid 3 in msgrcv on queue 0 of ipc:[4026531840]" in text
    k.close()


def test_timeline_text_and_svg_are_stable_for_a_seed():
    k1, tl1 = _mixed_run(7)
    k2, tl2 = _mixed_run(7)
    assert tl1.text() == tl2.text() and tl1.svg() == tl2.svg()
    assert not re.search(r"0x[0-9a-f]{8,}", tl1.text())   # no addresses in the text
    assert "semget(0x1, 1, IPC_CREAT|0o600)" in tl1.text()   # arguments as man pages write them
    k1.close()
    k2.close()


def test_timeline_of_an_empty_or_odd_run_is_well_formed():
    import xml.etree.ElementTree as ET
    k = ipcsim.Kernel(trace=True)
    tl = Timeline(k)
    ET.fromstring(tl.svg())
    assert tl.text() == "(no system calls traced yet)"
    k.init.comm = 'x<&>"'
    try:
        k.init.msgget(5, 0)
    except OSError:
        pass
    root = ET.fromstring(tl.svg())
    assert any(t.text == 'pid 1 x<&>"' for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert tl.text() == "    0 t=0        pid 1    msgget(0x5, 0) -> error ENOENT"


def test_timeline_after_close_still_shows_the_deadlock():
    k, tl = _philosophers(33)
    before_text, before_svg = tl.text(), tl.svg()
    steps = len(k.trace)
    k.close()
    assert k.closed_at == steps and len(k.trace) > steps      # close's exits come after
    k.close()
    assert k.closed_at == steps
    assert tl.text() == before_text and tl.svg() == before_svg
    assert sorted(b.pid for b in tl.intervals() if b.forever) == [2, 3, 4, 5, 6]
    from pathlib import Path
    from ipcsim.explore import load_scenario, run_seed
    path = Path(__file__).resolve().parent.parent / "examples" / "dining_philosophers.py"
    result, closed = run_seed(load_scenario(str(path)), 33, trace=True)
    assert result.kind == "deadlock" and closed.closed_at is not None
    assert Timeline(closed).svg() == before_svg


def _semwaiter(p, s):
    p.semop(s, [(0, -1, 0)])


def test_objects_name_the_processes_waiting_on_them():
    s = student_kernel()
    k = s["k"]
    q2 = [q for q in k.init_ipc_ns.msg_ids if q.key == 0x11][0]
    # the stopped receiver left the queue while stopped: only the waiter is on it
    assert f"waiting        pid {s['waiter'].pid} (to receive)" in str(q2)
    sem = list(k.init_ipc_ns.sem_ids)[0]
    assert "waiting        none" in str(sem)
    p = k.init.fork(target=_semwaiter, args=(sem.id,))
    k.run_until_idle()
    assert f"waiting        pid {p.pid} (sem 0 -1)" in str(sem)
    from ipcsim.kernel.mqueue import mq_sb
    assert "waiting        none" in str(mq_sb(k.init_ipc_ns).lookup("a<b>&"))
    k.close()


def test_process_view_says_what_each_descriptor_is():
    k = ipcsim.Kernel()
    c = k.init.clone(CLONE_NEWIPC)
    k.init.open(f"/proc/{c.pid}/ns/ipc")
    k.init.mq_open("/x<y>", O_CREAT | O_RDWR, 0o600)
    k.init.open("/proc/sys/kernel/msgmni")
    assert ("open descriptors 0 (/dev/null), 1 (/dev/null), 2 (/dev/null), "
            f"3 (ipc:[{c.ipc_ns.inum}]), 4 (POSIX queue /x<y>), 5 (/proc/sys/kernel/msgmni)"
            in str(k.init))
    assert "POSIX queue /x&lt;y&gt;" in k.init._repr_html_()


def test_snapshot_and_namespace_view_agree_with_ipcs_in_the_shell():
    from ipcsim.shell import Shell
    out = []
    k = ipcsim.Kernel(seed=4)
    sh = Shell(kernel=k, seed=4, out=out.append, err=out.append)
    sh.run_script("ipcmk -Q; ipcmk -Q; ipcmk -S 3; ipcmk -M 4096; unshare --ipc; ipcmk -Q")
    snap = k.snapshot()
    checked = 0
    for ns in k.ipc_namespaces:
        if not ns.members():
            continue
        out.clear()
        sh2 = Shell(kernel=k, seed=0, out=out.append, err=out.append)
        sh2.run(f"nsenter --ipc -t {ns.members()[0].pid} ipcs")
        ipcs = "".join(out)
        rows = {"Message Queues": "msg_queues", "Shared Memory Segments": "shm_segments",
                "Semaphore Arrays": "semaphore_sets"}
        for title, table in rows.items():
            block = ipcs.split(f"------ {title} --------")[1].split("------")[0]
            listed = [line for line in block.splitlines() if line.startswith("0x")]
            mine = [r for r in snap[table] if r["ipc_ns"] == ns.inum]
            assert len(listed) == len(mine), (ns, title)
            view = str(ns).split(f"------ {title} --------\n")[1].split("------")[0]
            assert len([line for line in view.splitlines() if line.startswith("0x")]) \
                == len(mine)
            ids = {r[{"msg_queues": "msqid", "shm_segments": "shmid",
                      "semaphore_sets": "semid"}[table]] for r in mine}
            assert {int(line.split()[1]) for line in listed} == ids
            checked += len(ids)
    assert checked == 5             # 4 objects in the first namespace, 1 queue in the new one
    k.close()


def test_a_posix_queue_names_its_namespace_even_after_it_died():
    k = ipcsim.Kernel()
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    inum = p.ipc_ns.inum
    fd = p.mq_open("/kept", ipcsim.O_CREAT | ipcsim.O_RDWR)
    queue = p.fds[fd].inode
    assert f"namespace      ipc:[{inum}]\n" in str(queue)
    p.unshare(ipcsim.CLONE_NEWIPC)              # the queue's namespace dies; fd keeps it
    assert f"namespace      ipc:[{inum}] (destroyed)" in str(queue)
    assert f"ipc:[{inum}] (destroyed)" in queue._repr_html_()


# --- explorations: dfs and pct reports ------------------------------------------------------
ABBA = '''\
from ipcsim import IPC_CREAT, IPC_PRIVATE, SETALL


def take(p, sems, first, second):
    p.semop(sems, [(first, -1, 0)])
    p.semop(sems, [(second, -1, 0)])
    p.semop(sems, [(first, 1, 0), (second, 1, 0)])
    return "<fed & done>"


def scenario(k):
    sems = k.init.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600)
    k.init.semctl(sems, 0, SETALL, [1, 1])
    return [k.init.fork(target=take, args=(sems, 0, 1)),
            k.init.fork(target=take, args=(sems, 1, 0))]
'''

# State kept from run to run: each run's outcome is one more than the last one's.
DRIFTING = '''\
runs = []


def scenario(k):
    runs.append(1)
    k.init.fork(target=lambda p: p.getpid())
    return lambda: len(runs)
'''

PCT_ORDERING = str(__import__("pathlib").Path(__file__).resolve().parent.parent
                   / "examples" / "pct_ordering.py")


def _scenario_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _xml(html):
    import xml.etree.ElementTree as ET
    return ET.fromstring(html)


def _row(html, first_cell):
    """The table row whose first cell is ``first_cell`` (its HTML)."""
    start = html.index(f"<td style='padding:0 8px'>{first_cell}</td>")
    return html[html.rindex("<tr", 0, start):html.index("</tr>", start)]


def test_a_dfs_report_shows_its_interleavings_shortest_schedules_and_shrunk_deadlock(tmp_path):
    import html as _html

    from ipcsim.explore import explore
    from ipcsim.views import DEADLOCKED_ROW
    path = _scenario_file(tmp_path, "abba.py", ABBA)
    report = explore(path, strategy="dfs")
    assert report.complete and report.seeds("deadlock")
    html = report._repr_html_()
    _xml(html)
    headline = report.headline().splitlines()[0]
    assert headline.startswith("explored all ") and " distinct interleavings (" in headline
    assert f"<div>{_html.escape(headline)}</div>" in html
    assert "schedules/s" not in html and " s:" not in html          # no timings
    assert "<th style='text-align:left;padding:0 8px'>runs</th>" in html
    assert "<th style='text-align:left;padding:0 8px'>first run</th>" in html
    # each outcome and kind of finding: its shortest schedule and the command replaying it
    outcome = report.shortest[repr(["<fed & done>"] * 2)]
    ok = _row(html, "ok")
    assert "&lt;fed &amp; done&gt;" in ok and "<fed" not in html
    assert f"{outcome.schedule} ({outcome.preemptions} preemptions" in ok
    assert f"<code>ipcsim run {path} --schedule {outcome.schedule}</code>" in ok
    deadlock = report.shortest["deadlock"]
    row = _row(html, "deadlock")
    assert row.startswith(f"<tr style='{DEADLOCKED_ROW}'>")
    assert f"{deadlock.schedule} ({deadlock.preemptions} preemption" in row
    assert f"<code>{_html.escape(report.replay(deadlock))}</code>" in row
    # the shrunk deadlock, replayed on the exploration's seed (not the run's number)
    small = report.shrunk["deadlock"]
    assert "<b>the deadlock, shrunk</b> to 1 preemption" in html
    assert f"replay it: <code>ipcsim run {path} --schedule {small.schedule}</code>" in html
    assert small.timeline and "blocked forever" in small.timeline
    assert f"'>{_html.escape(small.timeline.rstrip())}</pre>" in html
    assert "-&gt; None" in html and "-> None" not in html
    assert repr(report) == (f"<Report of {path} (scenario): {len(report.results)} runs (dfs: "
                            f"all {report.interleavings} interleavings), "
                            f"{len(report.seeds('ok'))} ok (1 outcome), 1 deadlock, 0 failed>")


def test_a_dfs_report_s_picture_and_replays_name_runs_and_the_kernel_seed(tmp_path):
    from ipcsim.explore import explore
    path = _scenario_file(tmp_path, "abba.py", ABBA)
    report = explore(path, [5], strategy="dfs", budget=3)
    assert not report.complete and report.seed == 5
    assert repr(report).endswith(f"(dfs: {report.interleavings} interleavings, not all), "
                                 f"{len(report.seeds('ok'))} ok (1 outcome), "
                                 f"{len(report.seeds('deadlock'))} deadlock, 0 failed>")
    full = explore(path, [5], strategy="dfs")
    html = full._repr_html_()
    assert "--seed 5 --schedule" in html and "--seed 3 " not in html
    svg = _xml(full._repr_svg_())
    ns = "{http://www.w3.org/2000/svg}"
    titles = [cell.find(ns + "title").text for cell in svg.iter(ns + "rect")]
    assert titles and all(re.match(r"runs? \d+(-\d+)?: (ok|deadlock)", t) for t in titles)
    assert any(t.startswith(f"run {full.seeds('deadlock')[0]}: deadlock: pid ") for t in titles)
    assert svg.find(ns + "text").text.startswith("runs 0-")


def test_a_pct_report_shows_the_shortest_failing_schedule_and_its_timeline():
    import html as _html

    from ipcsim.explore import explore
    report = explore(PCT_ORDERING, range(10), strategy="pct", depth=1)
    html = report._repr_html_()
    _xml(html)
    assert repr(report).startswith(f"<Report of {PCT_ORDERING} (scenario): 10 seeds (pct, "
                                   f"depth 1), ")
    assert "<th style='text-align:left;padding:0 8px'>shortest schedule</th>" in html
    failed = _row(html, "failed")
    assert "TimeoutError: no configuration after 5 s (loaded = 1)" in failed
    assert "3 (0 preemptions, 50 steps)" in failed
    assert f"<code>ipcsim run {PCT_ORDERING} --schedule 3</code>" in failed
    ok = _row(html, "ok")
    best = report.shortest["40"]
    assert f"<code>ipcsim run {PCT_ORDERING} --seed {best.seed} --schedule -</code>" in ok
    small = report.shrunk["failed"]
    assert "<b>the failure, shrunk</b> to 0 preemptions and 50 steps" in html
    assert _html.escape(small.timeline.rstrip()) in html
    assert "semop(0, [(0, 1, 0)]) -&gt; None" in html
    assert "nondeterminism" not in html and "schedules/s" not in html


def test_a_scenario_that_runs_two_ways_is_flagged_in_red(tmp_path):
    import html as _html

    from ipcsim.explore import explore
    path = _scenario_file(tmp_path, "drifting.py", DRIFTING)
    report = explore(path, range(3))
    assert report.nondeterminism
    html = report._repr_html_()
    _xml(html)
    for problem in report.nondeterminism:
        assert (f"<div style='color:#d62728;border-left:6px solid #d62728;padding-left:4px'>"
                f"<b>nondeterminism</b>: {_html.escape(problem)}</div>") in html
    assert repr(report).endswith(f", {len(report.nondeterminism)} schedule"
                                 f"{'s' if len(report.nondeterminism) != 1 else ''} ran two "
                                 f"ways>")


def test_the_notebook_shows_a_dfs_report_whole(tmp_path):
    from ipcsim.explore import explore
    from ipcsim.notebook import mime_bundle
    path = _scenario_file(tmp_path, "abba.py", ABBA)
    bundle = mime_bundle(explore(path, strategy="dfs"))
    assert set(bundle) == {"text/plain", "text/html", "image/svg+xml"}
    assert "".join(bundle["text/plain"]).startswith(f"<Report of {path} (scenario): ")
    assert "explored all " in "".join(bundle["text/html"])


# --- user namespaces: who owns each IPC namespace ---------------------------------------------
def _rootless(k):
    """What ``unshare -Ur --ipc`` does for uid 1000: a new user namespace and IPC namespace,
    uid 0 and gid 0 there mapped to 1000, and a queue made inside; then a process that made
    a user namespace of its own but kept the host's IPC namespace."""
    from ipcsim import CLONE_NEWUSER
    user = k.init.fork()
    user.setresgid(1000, 1000, 1000)
    user.setresuid(1000, 1000, 1000)
    user.set_dumpable(True)
    box = user.clone(CLONE_NEWUSER | CLONE_NEWIPC)
    for path, text in (("uid_map", "0 1000 1"), ("setgroups", "deny"), ("gid_map", "0 1000 1")):
        box.write_file(f"/proc/self/{path}", text)
    box.msgget(0x99, IPC_CREAT | 0o644)
    guest = user.fork()
    guest.unshare(CLONE_NEWUSER)
    return user, box, guest


def test_kernel_text_names_the_user_namespace_that_owns_each_ipc_namespace():
    k = ipcsim.Kernel(seed=0)
    user, box, guest = _rootless(k)
    userns, box_ipc = box.creds.user_ns, box.ipc_ns
    assert (userns.inum, box_ipc.inum, guest.creds.user_ns.inum) == (
        4026531840, 4026531841, 4026531842)
    assert str(k).splitlines() == [
        "Kernel seed=0 t=0s: 4 processes in 2 IPC namespaces",
        "├─ ipc:[4026531839] (initial): 0 message queues, 0 semaphore sets, 0 shm segments, "
        "0 POSIX queues",
        "│  ├─ pid 1 init (uid 0): idle",
        "│  ├─ pid 2 init (uid 1000): idle",
        "│  └─ pid 4 init (uid 1000): idle",
        "├─ ipc:[4026531841] (1 reference), owned by user:[4026531840] (level 1, owner uid "
        "1000): 1 message queue, 0 semaphore sets, 0 shm segments, 0 POSIX queues",
        "│  └─ pid 3 init (uid 1000): idle",
        "└─ user namespaces below the initial one: 2",
        "   ├─ user:[4026531840] (level 1, owner uid 1000): uid_map 0 1000 1, gid_map 0 1000 1; "
        "1 process; owns ipc:[4026531841]",
        "   └─ user:[4026531842] (level 1, owner uid 1000): uid_map not written, gid_map not "
        "written; 1 process; owns no IPC namespace"]
    # the namespace's own view says who owns it; its tables show kernel ids (uid 1000)
    text = str(box_ipc)
    assert text.startswith("ipc:[4026531841] (1 reference), owned by user:[4026531840] "
                           "(level 1, owner uid 1000), members: 3\n")
    assert "0x00000099 0     1000  644   0          0" in text
    # a nested namespace names its parent
    inner = box.fork()
    from ipcsim import CLONE_NEWUSER
    inner.unshare(CLONE_NEWUSER | CLONE_NEWIPC)
    assert (f"user:[{inner.creds.user_ns.inum}] (level 2, owner uid 1000), below "
            f"user:[4026531840]: uid_map not written") in str(k)
    k.close()


def test_the_tree_is_unchanged_once_the_user_namespaces_are_gone():
    k = ipcsim.Kernel(seed=0)
    user, box, guest = _rootless(k)
    for p in (box, guest, user):
        p.exit(0)
        p.parent.wait(p.pid)
    assert str(k) == ("Kernel seed=0 t=0s: 1 process in 1 IPC namespace\n"
                      "└─ ipc:[4026531839] (initial): 0 message queues, 0 semaphore sets, "
                      "0 shm segments, 0 POSIX queues\n"
                      "   └─ pid 1 init (uid 0): idle")
    assert "user namespaces" not in k._repr_html_()
    assert [u["user_ns"] for u in k.snapshot()["user_namespaces"]] == [4026531837]


def test_process_view_shows_its_user_namespace_and_ids_there():
    k = ipcsim.Kernel(seed=0)
    user, box, guest = _rootless(k)
    text = str(box)
    assert ("user namespace   user:[4026531840] (level 1, owner uid 1000)\n"
            "ids there        uid/euid 0/0, gid/egid 0/0\n"
            "capabilities     0x1ffffffffff\n"
            "ipc namespace    ipc:[4026531841], owned by user:[4026531840] (level 1, owner "
            "uid 1000)\n") in text
    assert "uid/euid         1000/1000" in text            # kernel ids first
    # no map written yet: every id is the overflow id there
    assert "ids there        uid/euid 65534/65534, gid/egid 65534/65534" in str(guest)
    assert "ipc namespace    ipc:[4026531839]\n" in str(guest)
    # a process of the initial user namespace shows no such lines
    assert "user namespace" not in str(user) and "ids there" not in str(k.init)
    assert "ids there" in box._repr_html_()
    k.close()


def test_descriptors_of_user_namespace_files_say_which_namespace():
    k = ipcsim.Kernel(seed=0)
    user, box, guest = _rootless(k)
    k.init.open(f"/proc/{box.pid}/ns/user")
    k.init.open(f"/proc/{guest.pid}/uid_map")
    k.init.open(f"/proc/{guest.pid}/setgroups")
    assert ("3 (user:[4026531840]), 4 (uid_map of user:[4026531842]), "
            "5 (setgroups of user:[4026531842])") in str(k.init)
    k.close()


def test_html_lists_user_namespaces_and_owners():
    k = ipcsim.Kernel(seed=0)
    user, box, guest = _rootless(k)
    html = k._repr_html_()
    _xml(html)
    assert ("<b>ipc:[4026531841] (1 reference), owned by user:[4026531840] (level 1, owner "
            "uid 1000)</b>") in html
    assert "<b>user namespaces below the initial one</b>: 2" in html
    row = ("<tr>" + "".join(f"<td style='padding:0 8px'>{c}</td>" for c in (
        "user:[4026531840]", 1, "user:[4026531837]", 1000, "0 1000 1", "0 1000 1", 3,
        "ipc:[4026531841]")) + "</tr>")
    assert row in html
    _xml(box.ipc_ns._repr_html_())
    k.close()


def test_snapshot_names_owners_and_lists_user_namespaces():
    k = ipcsim.Kernel(seed=0)
    user, box, guest = _rootless(k)
    snap = k.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    users = {u["user_ns"]: u for u in snap["user_namespaces"]}
    assert list(users) == [4026531837, 4026531840, 4026531842]
    assert users[4026531837] == {
        "user_ns": 4026531837, "level": 0, "parent": None, "owner_uid": 0, "owner_gid": 0,
        "uid_map": "0 0 4294967295", "gid_map": "0 0 4294967295", "setgroups": "allow",
        "refs": users[4026531837]["refs"], "member_count": 2, "ipc_ns_count": 1,
        "max_user_namespaces": k.max_user_namespaces,
        "max_ipc_namespaces": k.max_ipc_namespaces}
    box_row = users[4026531840]
    assert (box_row["level"], box_row["parent"], box_row["owner_uid"], box_row["owner_gid"],
            box_row["uid_map"], box_row["gid_map"], box_row["setgroups"]) == (
        1, 4026531837, 1000, 1000, "0 1000 1", "0 1000 1", "deny")
    assert (box_row["member_count"], box_row["ipc_ns_count"]) == (1, 1)
    assert users[4026531842]["uid_map"] == "" and users[4026531842]["ipc_ns_count"] == 0
    assert box_row["max_ipc_namespaces"] == 2147483647
    # each IPC namespace names its owner; each process its user namespace
    owners = {n["ipc_ns"]: (n["user_ns"], n["user_ns_level"], n["user_ns_owner_uid"])
              for n in snap["namespaces"]}
    assert owners == {4026531839: (4026531837, 0, 0), 4026531841: (4026531840, 1, 1000)}
    procs = {p["pid"]: p["user_ns"] for p in snap["processes"]}
    assert procs == {1: 4026531837, 2: 4026531837, 3: 4026531840, 4: 4026531842}
    for u in snap["user_namespaces"]:
        assert u["member_count"] == sum(p == u["user_ns"] for p in procs.values())
        assert u["ipc_ns_count"] == sum(o[0] == u["user_ns"] for o in owners.values())
    # (the rows of every table have the same columns)
    for table in ("namespaces", "processes", "user_namespaces"):
        assert len({tuple(row) for row in snap[table]}) == 1
    k.close()
