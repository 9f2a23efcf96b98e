"""Exploring on a Dask cluster: the seeds of random and pct spread over its workers.

``ipcsim explore FILE --cluster tcp://HOST:PORT`` and ``explore(path, seeds,
client=client)`` send the chunks of seeds that ``jobs`` processes would run here to the
workers of a ``distributed`` scheduler instead, and give the same report: each seed's run
depends on the seed and the scenario only, wherever it runs.

What a cluster needs:

* ``distributed`` here (``pip install 'ipcsim[cluster]'``), and on the workers the same
  ipcsim and whatever the scenario imports;
* nothing more for the scenario file itself: its text goes with every chunk. A worker that
  has the very same file at the same path (a ``LocalCluster``, a shared file system) loads
  it from there as a local run does; any other worker loads the text it was sent under
  that path's name, so that failures name the same file and lines (nothing is written on
  the workers). Only that one file travels: modules beside it that it imports must be
  installed on the workers, or sent with ``client.upload_file``.

Distributed is imported only when a function here needs it: importing this module works
without it.
"""
from __future__ import annotations

import itertools
import signal
import sys
import threading
import types
import uuid
from typing import TYPE_CHECKING, Iterator

from . import (OK, Limits, Progress, Scenario, SeedResult, Strategy, _explore_in_pool,
               entry_of, load_scenario, loading, run_seed)

if TYPE_CHECKING:
    from distributed import Client, Future

CONNECT_TIMEOUT = 5.0      # seconds to reach the scheduler before giving up
INSTALL = "pip install 'ipcsim[cluster]'"


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> Client:
    """A ``distributed.Client`` of the scheduler at ``address`` (``tcp://HOST:PORT``, or
    another scheme distributed knows). Raises ImportError (saying what to install) without
    distributed, ValueError for an address it cannot read, OSError if no scheduler answered
    within ``timeout`` seconds. The client is not made dask's default; close it after."""
    try:
        from distributed import Client
        from distributed.comm.addressing import get_address_host_port
    except ImportError:
        raise ImportError(f"a Dask cluster needs the distributed package: {INSTALL}") from None
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"not a scheduler's address: {address!r} (tcp://HOST:PORT)")
    try:
        # (checked first: a client that failed on such an address hangs for seconds when
        # it is dropped, and prints a traceback)
        get_address_host_port(address)
    except ValueError as e:
        raise ValueError(f"not a scheduler's address ({e}): give tcp://HOST:PORT") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except OSError as e:
        why = _reason(e)
        raise OSError(f"no Dask scheduler answered within {timeout:g} s"
                      + (f" ({why})" if why else "")) from None


def _reason(e: BaseException) -> str:
    """The system's word on why a connection failed ("Connection refused"), found down
    the chain of causes distributed leaves; "" if none says."""
    why = ""
    cause: BaseException | None = e
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            why = cause.strerror
        cause = cause.__cause__
    return why


def run_on_cluster(client: Client, path: str, entry: str, chunks: Iterator[list[int]],
                   executor: str | None, limits: Limits, spec: Strategy,
                   results: list[SeedResult], bar: Progress) -> int:
    """Run the chunks of seeds on the workers of ``client``, two queued for each thread of
    a worker (the chunks are read as they are needed, so an endless iterator is fine);
    append each chunk's results to ``results`` as it ends and tell ``bar``. Returns how many
    workers ran chunks (if none did, how many there were at the start, at least 1). With no
    worker, the chunks wait for one to join.

    A worker dying while it runs a chunk (a scenario calling ``os._exit``, a signal) makes
    Dask run the chunk again on another worker, up to its scheduler's
    ``distributed.scheduler.allowed-failures``, and then give up on it and on any other
    chunk that was queued on every one of those workers. Each chunk it gives up on is run
    again here, in a process of its own as ``jobs=2`` would: its seeds get their own
    results, and those of the run that ends its process fail with "the worker running it
    died (exit status N)", as they do with ``jobs``. The exploration goes on.

    An exception (Ctrl-C's KeyboardInterrupt too) cancels the chunks not yet done and goes
    on up; a chunk a worker is running still runs to its end there, unseen. A scenario that
    a worker cannot load raises SystemExit with the worker's message."""
    from distributed import as_completed
    source = _source(path)
    threads = client.nthreads()
    ahead = 2 * max(1, sum(threads.values()))
    name = f"ipcsim-explore-{uuid.uuid4().hex}"
    numbers = itertools.count()
    pending: dict[Future[tuple[str, list[SeedResult]]], list[int]] = {}
    done = as_completed(loop=client.loop)      # (the client need not be the default)
    workers: set[str] = set()

    def submit(chunk: list[int]) -> None:
        future = client.submit(run_shipped, path, source, entry, chunk, executor, limits, spec,
                               key=f"{name}-{next(numbers)}", pure=False)
        pending[future] = chunk
        done.add(future)

    try:
        for chunk in itertools.islice(chunks, ahead):
            submit(chunk)
        for future in done:
            chunk = pending.pop(future)
            worker, got = _collect(future, path, entry, chunk, executor, limits, spec)
            workers.add(worker)
            results.extend(got)
            bar.update(len(got), sum(r.kind != OK for r in results))
            following = next(chunks, None)
            if following is not None:
                submit(following)
    except BaseException:
        _cancel(client, list(pending))
        raise
    workers.discard("")
    return len(workers) or max(1, len(threads))


def _collect(future: Future[tuple[str, list[SeedResult]]], path: str, entry: str,
             chunk: list[int], executor: str | None, limits: Limits,
             spec: Strategy) -> tuple[str, list[SeedResult]]:
    """``(the worker's name, the results)`` of a finished chunk; one whose workers died is
    run again here (no name)."""
    from distributed import CancelledError, KilledWorker
    try:
        got: tuple[str, list[SeedResult]] = future.result()
    except KilledWorker:
        return "", _run_here(path, entry, chunk, executor, limits, spec)
    except ScenarioError as e:
        raise SystemExit(str(e)) from None
    except CancelledError:
        raise SystemExit(f"ipcsim: the Dask cluster dropped the chunk of seeds {chunk[0]} to "
                         f"{chunk[-1]} (was the scheduler lost?)") from None
    return got


def _run_here(path: str, entry: str, chunk: list[int], executor: str | None, limits: Limits,
              spec: Strategy) -> list[SeedResult]:
    """The chunk's results from a process of its own here (the seeds failed, with how the
    process ended, if a run ends it)."""
    got: list[SeedResult] = []
    _explore_in_pool(path, entry, iter([chunk]), 1, executor, limits, got,
                     Progress(None, enabled=False), spec)
    return got


def _cancel(client: Client, futures: list[Future[tuple[str, list[SeedResult]]]]) -> None:
    """Cancel the futures, a second Ctrl-C held off until it is done."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        if futures:
            client.cancel(futures)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _source(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise SystemExit(f"ipcsim: cannot run {path}: {e.strerror or e}") from None


# --- on a worker ---------------------------------------------------------------------------
class ScenarioError(Exception):
    """A worker could not load the scenario (the message says why, as load_scenario
    does)."""


def run_shipped(path: str, source: bytes, entry: str, seeds: list[int],
                executor: str | None, limits: Limits,
                spec: Strategy) -> tuple[str, list[SeedResult]]:
    """A worker's task: its name (str; "" outside a worker) and the results of ``seeds``,
    as ``_run_chunk`` gives them, with the scenario loaded from ``path`` if the file there
    is ``source``, else from ``source`` under the name ``path``. ScenarioError if it cannot
    be loaded."""
    from distributed import get_worker
    try:
        fn = _scenario(path, source, entry)
    except SystemExit as e:
        raise ScenarioError(str(e.code)) from None
    try:
        worker = str(get_worker().name)
    except ValueError:          # (called outside a worker)
        worker = ""
    return worker, [run_seed(fn, s, executor=executor, limits=limits,
                             control=spec.control(s))[0] for s in seeds]


def _scenario(path: str, source: bytes, entry: str) -> Scenario:
    try:
        with open(path, "rb") as f:
            here = f.read()
    except OSError:
        here = None
    if here == source:
        return load_scenario(path, entry)
    return load_source(path, source, entry)


def load_source(path: str, source: bytes, entry: str = "scenario") -> Scenario:
    """:func:`~ipcsim.explore.load_scenario` of a file's text ``source`` as if it were at
    ``path`` (which need not exist): the code's file name and ``__file__`` are ``path``,
    and the errors are worded the same (SystemExit)."""
    run_name = "__ipcsim_scenario__"
    module = types.ModuleType(run_name)
    module.__dict__.update(__file__=path, __cached__=None, __loader__=None, __package__="",
                           __spec__=None)
    saved = sys.modules.get(run_name)
    sys.modules[run_name] = module       # (as runpy does while the file runs)
    try:
        with loading(path):
            exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
    finally:
        if saved is None:
            sys.modules.pop(run_name, None)
        else:
            sys.modules[run_name] = saved
    return entry_of(module.__dict__, path, entry)


__all__ = ["connect", "run_on_cluster", "run_shipped", "load_source", "ScenarioError",
           "CONNECT_TIMEOUT"]
