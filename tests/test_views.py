"""Views: text and HTML of the model, snapshot(), and the timeline."""
import json

import ipcsim
from ipcsim import CLONE_NEWIPC, IPC_CREAT, O_CREAT, O_RDWR, SETALL
from ipcsim.timeline import Timeline


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
    assert snap["shm_segments"][0]["nattch"] == 1
    assert snap["posix_queues"][0]["name"] == "/mail"
    for table in ("namespaces", "processes", "msg_queues"):
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
    k, tl = _philosophers(12)
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
    k, tl = _philosophers(12)
    out = tmp_path / "run.png"
    tl.png(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    k.close()


def test_the_readme_pictures_are_what_the_documented_command_draws(tmp_path, capsys):
    from pathlib import Path
    from ipcsim.cli import main
    root = Path(__file__).resolve().parent.parent
    for seed in (12, 5):
        out = tmp_path / f"{seed}.svg"
        main(["run", str(root / "examples" / "dining_philosophers.py"), "--seed", str(seed),
              "--quiet", "--svg", str(out)])
        committed = root / "docs" / f"dining-philosophers-seed{seed}.svg"
        assert out.read_text() == committed.read_text()
