"""ipcsim explore on a Dask cluster (--cluster, explore(client=)): the same report as here."""
import os
import signal
import socket
import subprocess
import sys

import pytest

distributed = pytest.importorskip(
    "distributed", reason="the cluster tests need distributed (pip install 'ipcsim[cluster]')")

from ipcsim.cli import main  # noqa: E402
from ipcsim.explore import Limits, Progress, Strategy, _chunks, _run_chunk, explore  # noqa: E402
from ipcsim.explore import cluster  # noqa: E402

# Two locks taken in opposite orders (a deadlock under some seeds), a race on a list (its
# order is the outcome) and a checker that fails a system call when it runs just after b.
SCENARIO = '''\
import os

from ipcsim import IPC_CREAT, IPC_PRIVATE, SETALL

DIE = {die}


def locker(p, sems, first, second, log, name):
    p.semop(sems, [(first, -1, 0)])
    p.getresuid()                        # a switch point between the two
    p.semop(sems, [(second, -1, 0)])
    log.append(name)
    p.semop(sems, [(first, 1, 0), (second, 1, 0)])


def checker(p, sems, log):
    if log == ["b"]:
        p.semop(sems, [(9, -1, 0)])      # no such semaphore: EFBIG
    log.append("c")


def scenario(k):
    if k.seed == DIE:
        os._exit(3)
    sems = k.init.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600)
    k.init.semctl(sems, 0, SETALL, [1, 1])
    log = []
    k.init.fork(target=locker, args=(sems, 0, 1, log, "a"))
    k.init.fork(target=locker, args=(sems, 1, 0, log, "b"))
    k.init.fork(target=checker, args=(sems, log))
    return lambda: "".join(log)
'''
SEEDS = 120


@pytest.fixture(scope="module")
def dask_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


@pytest.fixture
def client(dask_cluster):
    with distributed.Client(dask_cluster, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=120)      # (a test may have had a worker die)
        yield c


@pytest.fixture(scope="module")
def races(tmp_path_factory):
    path = tmp_path_factory.mktemp("cluster") / "races.py"
    path.write_text(SCENARIO.format(die=-1))
    return str(path)


def kinds(report):
    return {kind: len(report.seeds(kind)) for kind in ("ok", "deadlock", "failed")}


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_a_cluster_gives_the_results_of_one_process(client, races, strategy):
    here = explore(races, range(SEEDS), strategy=strategy, depth=2, shrink=False)
    there = explore(races, range(SEEDS), strategy=strategy, depth=2, shrink=False,
                    client=client)
    assert there.results == here.results       # kinds, outcomes, details, schedules
    assert there.jobs == 2 and not there.interrupted
    # the scenario shows all it can: outcomes, a deadlock, a failed call naming its line
    assert len(here.outcomes()) >= 3 and all(kinds(here).values())
    assert "races.py:18 (checker): semop(" in here.first("failed").detail
    if strategy == "pct":
        assert all(r.schedule for r in there.results)


def test_the_dining_philosophers_on_a_cluster(client):
    from pathlib import Path
    path = str(Path(__file__).resolve().parent.parent / "examples" / "dining_philosophers.py")
    here = explore(path, range(60), shrink=False)
    there = explore(path, range(60), shrink=False, client=client)
    assert there.results == here.results and here.seeds("deadlock")


def test_no_seeds_on_a_cluster(client, races):
    report = explore(races, range(0), client=client)
    assert report.results == [] and report.jobs >= 1


def test_a_worker_that_dies_fails_its_chunk_and_the_rest_goes_on(client, tmp_path):
    path = tmp_path / "dies.py"
    path.write_text(SCENARIO.format(die=7))
    pool = explore(str(path), range(SEEDS), jobs=2, shrink=False)
    there = explore(str(path), range(SEEDS), shrink=False, client=client)
    assert [r.seed for r in there.results] == list(range(SEEDS))
    died = [r.seed for r in there.results if r.detail.startswith("the worker running it died")]
    assert 7 in died and died == list(range(died[0], died[-1] + 1))    # its chunk's seeds
    assert {r.detail for r in there.results if r.seed in died} == {
        "the worker running it died (exit status 3)"}        # as with jobs
    pool_died = {r.seed for r in pool.results if r.detail.startswith("the worker running")}
    assert [r for r in there.results if r.seed not in died and r.seed not in pool_died] == \
        [r for r in pool.results if r.seed not in died and r.seed not in pool_died]
    assert len(there.outcomes()) >= 3


def test_ctrl_c_cancels_the_chunks_and_goes_on_up(client, races):
    submitted = []
    submit = client.submit

    def recording(*args, **kwargs):
        submitted.append(submit(*args, **kwargs))
        return submitted[-1]

    class CtrlC(Progress):
        def update(self, n, bad):
            raise KeyboardInterrupt

    def chunks():
        yield [0]                # done long before the others
        yield from _chunks(range(1, 10**9), 2000)

    client.submit = recording
    results = []
    with pytest.raises(KeyboardInterrupt):
        cluster.run_on_cluster(client, races, "scenario", chunks(), None, Limits(),
                               Strategy(), results, CtrlC(None, enabled=False))
    assert len(submitted) == 4 and results      # two chunks ahead for each worker
    assert all(f.status in ("finished", "cancelled") for f in submitted)
    assert any(f.status == "cancelled" for f in submitted)


def test_a_chunk_the_cluster_drops_stops_the_exploration_with_a_message(client, races):
    submitted = []
    submit = client.submit

    def recording(*args, **kwargs):
        submitted.append(submit(*args, **kwargs))
        return submitted[-1]

    class Dropping(Progress):
        def update(self, n, bad):      # as if the scheduler lost the others
            client.cancel([f for f in submitted if f.status != "finished"])

    def chunks():
        yield [0]
        yield from _chunks(range(1, 10**9), 2000)

    client.submit = recording
    with pytest.raises(SystemExit, match=r"^ipcsim: the Dask cluster dropped the chunk of "
                                         r"seeds \d+ to \d+ \(was the scheduler lost\?\)$"):
        cluster.run_on_cluster(client, races, "scenario", chunks(), None, Limits(),
                               Strategy(), [], Dropping(None, enabled=False))


def test_ctrl_c_during_a_cluster_exploration_leaves_the_partial_report(client, races):
    class CtrlC(Progress):
        def update(self, n, bad):
            super().update(n, bad)
            os.kill(os.getpid(), signal.SIGINT)

    report = explore(races, range(10**9), client=client, progress=CtrlC(None, enabled=False))
    assert report.interrupted and report.results
    assert [r.seed for r in report.results] == sorted({r.seed for r in report.results})


def test_a_worker_loads_the_file_it_was_sent_under_its_path(client, races, tmp_path,
                                                         monkeypatch):
    # a relative path, from here: the workers' directory has no such file
    (tmp_path / "races.py").write_text(SCENARIO.format(die=-1))
    monkeypatch.chdir(tmp_path)
    assert not any(client.run(os.path.exists, "races.py").values())
    here = explore("races.py", range(SEEDS), strategy="pct", shrink=False)
    there = explore("races.py", range(SEEDS), strategy="pct", shrink=False, client=client)
    assert there.results == here.results
    assert here.first("failed").detail.startswith("pid 4 at races.py:18 (checker)")


def test_load_source_is_load_scenario_of_the_text(tmp_path):
    path = tmp_path / "races.py"
    path.write_text(SCENARIO.format(die=-1))
    source = path.read_bytes()
    seeds = list(range(40))
    expected = _run_chunk(str(path), "scenario", seeds, None, Limits(), Strategy("pct", 2, 30))
    path.unlink()
    name, got = cluster.run_shipped(str(path), source, "scenario", seeds, None, Limits(),
                                    Strategy("pct", 2, 30))
    assert name == "" and got == expected
    from ipcsim.explore import load_scenario
    for text, entry in [("def scenario(k):\n    return (\n", "scenario"),
                        ("import no_such_module_here\n", "scenario"),
                        ("x = 1\n", "scenario"), ("def other(k): pass\n", "scenario")]:
        path.write_text(text)
        with pytest.raises(SystemExit) as local:
            load_scenario(str(path), entry)
        with pytest.raises(SystemExit) as shipped:
            cluster.load_source(str(path), text.encode(), entry)
        assert shipped.value.code == local.value.code


def test_a_scenario_a_worker_cannot_load_stops_with_its_message(client, tmp_path):
    path = tmp_path / "here_only.py"
    path.write_text(
        "from distributed import get_worker\n"
        "try:\n"
        "    get_worker()\n"
        "except ValueError:\n"
        "    pass                    # here\n"
        "else:\n"
        "    import no_such_module_on_workers\n"
        + SCENARIO.format(die=-1))
    with pytest.raises(SystemExit) as stop:
        explore(str(path), range(10), client=client)
    assert stop.value.code == (
        f"ipcsim: {path}:7: loading it raised ModuleNotFoundError: No module named "
        f"'no_such_module_on_workers'")


def report_lines(out):
    lines = out.splitlines()
    assert lines[0].startswith("explored ")        # (the headline: time, rate, jobs)
    return lines[1:]


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_the_command_prints_the_same_report_with_a_cluster(dask_cluster, client, races,
                                                           capsys, strategy):
    argv = ["explore", races, "--seeds", "60", "--strategy", strategy, "--no-progress"]
    assert main(argv) == 1
    here = capsys.readouterr().out
    assert main(argv + ["--cluster", dask_cluster.scheduler_address]) == 1
    out, err = capsys.readouterr()
    assert report_lines(out) == report_lines(here)
    assert "on a Dask cluster of 2 threads" in out.splitlines()[0]
    assert "shrunk to" in out and "replay it: ipcsim run" in out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_command_says_in_one_line_that_no_scheduler_answered(races, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    assert main(["explore", races, "--cluster", address]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    # (then, in parentheses, distributed's reason when it gives one: "Connection refused",
    # or none when its own timeout ran out first, as on a loaded machine)
    assert err.startswith(f"ipcsim explore: --cluster {address}: no Dask scheduler answered "
                          f"within {cluster.CONNECT_TIMEOUT:g} s")
    assert err.count("\n") == 1


@pytest.mark.parametrize("address", ["http://host:8786", "host", "tcp://host:port"])
def test_the_command_refuses_an_address_it_cannot_read(races, capsys, address):
    assert main(["explore", races, "--cluster", address]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"ipcsim explore: --cluster {address}: not a scheduler's address (")


def test_without_distributed_connect_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'ipcsim\[cluster\]'"):
        cluster.connect("tcp://127.0.0.1:8786")


def test_the_module_imports_without_distributed():
    code = ("import sys; sys.modules['distributed'] = sys.modules['dask'] = None; "
            "import ipcsim.explore.cluster as c; print(c.CONNECT_TIMEOUT)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
