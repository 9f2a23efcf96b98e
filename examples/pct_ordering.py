"""An ordering bug that random scheduling almost never finds, and PCT finds in two runs of three.

A boot script starts three programs that share a semaphore "loaded" and two System V
message queues, one per loader:

* two loaders each send their part of the configuration (the system's and the user's), one
  setting per message (RECORDS = 20 msgsnd calls each) on their own queue, then raise
  "loaded" by one (semop +1);
* the worker waits until "loaded" is 2, both parts loaded (at most TIMEOUT seconds), then
  takes the settings off the two queues, and returns how many it got.

The semaphore set has a fixed key and outlives the programs, so "loaded" may still be up
from the last boot. The worker therefore clears it when it starts (semctl SETVAL 0), so as
not to start on the last boot's settings. That is right whenever the worker starts before
the loaders are done, which is how it always goes on a developer's machine: each loader has
twenty messages to send first. But if one loader's whole run comes before the worker's
first call, the worker clears that loader's +1, waits TIMEOUT seconds for a 2 that never
comes, and gives up: TimeoutError.

Under random scheduling (the default) the seed picks among the programs at each call, and
the bug needs one loader's 21 calls all before the worker's first: about one run in 10,000
or fewer (a thousand seeds find nothing). PCT (probabilistic concurrency testing,
Burckhardt, Kothari, Musuvathi and Nagarakatte, ASPLOS 2010) gives each program a random
priority and runs the highest one until it blocks or ends. This is a bug of depth 1: one
ordering (a loader's last call before the worker's first) is all it needs, so PCT with depth
1 (no priority change) finds it whenever the worker's priority is not the highest of the
three: two runs in three (the paper's bound for depth 1 is 1/n, one in three):

    ipcsim explore examples/pct_ordering.py --seeds 1000                        # nothing
    ipcsim explore examples/pct_ordering.py --strategy pct --depth 1 --seeds 100
    ipcsim explore examples/pct_ordering.py --strategy dfs      # every interleaving
    ipcsim run examples/pct_ordering.py --schedule 3      # a loader first: the failure

The fix: the one who starts the programs clears the flag before it starts them, and the
worker only waits. Exhaustive search shows no run of it fails:

    ipcsim explore examples/pct_ordering.py --entry scenario_fixed --strategy dfs

Run this file to compare random scheduling and PCT:  python3 examples/pct_ordering.py
"""
import errno
from typing import Callable

import ipcsim
from ipcsim import GETVAL, IPC_CREAT, IPC_NOWAIT, SETVAL

RECORDS = 20           # settings each loader sends before it raises "loaded"
LOADERS = 2            # the system's part and the user's
TIMEOUT = 5            # seconds the worker waits for "loaded"
CONFIG_KEY = 0xC0F     # the queues' first key and the semaphore set's key
LOADED = 0             # the semaphore "loaded" in the set


def loader(p: ipcsim.Process, queue: int, flags: int, part: str) -> int:
    """Send RECORDS settings of ``part`` on ``queue``, then raise "loaded" by one."""
    for n in range(RECORDS):
        p.msgsnd(queue, 1, f"{part}.setting{n:02d}={n}".encode())
    p.semop(flags, [(LOADED, 1, 0)])
    return RECORDS


def worker(p: ipcsim.Process, queues: list[int], flags: int, clear_stale_flag: bool) -> int:
    """Wait for both parts ("loaded" at 2), take every setting off the queues; how many
    it got."""
    if clear_stale_flag:
        p.semctl(flags, LOADED, SETVAL, 0)       # the bug: it may be this boot's flag
    try:
        p.semtimedop(flags, [(LOADED, -LOADERS, 0)], TIMEOUT)
    except OSError as e:
        if e.errno != errno.EAGAIN:
            raise
        raise TimeoutError(f"no configuration after {TIMEOUT} s (loaded = "
                           f"{p.semctl(flags, LOADED, GETVAL)})") from None
    settings = []
    for queue in queues:
        while True:
            try:
                settings.append(p.msgrcv(queue, 64, 0, IPC_NOWAIT)[1])
            except OSError as e:
                if e.errno != errno.ENOMSG:
                    raise
                break                 # this queue is empty
    return len(settings)


def _boot(k: ipcsim.Kernel, clear_stale_flag: bool) -> Callable[[], object]:
    init = k.init
    queues = [init.msgget(CONFIG_KEY + n, IPC_CREAT | 0o600) for n in range(LOADERS)]
    flags = init.semget(CONFIG_KEY, 1, IPC_CREAT | 0o600)
    init.semctl(flags, LOADED, SETVAL, 1)       # what the last boot left
    if not clear_stale_flag:
        init.semctl(flags, LOADED, SETVAL, 0)   # the fix: cleared before any starts
    w = init.fork(target=worker, args=(queues, flags, clear_stale_flag))  # pid 2
    for queue, part in zip(queues, ("system", "user")):                   # pids 3, 4
        init.fork(target=loader, args=(queue, flags, part))
    return lambda: w.result


def scenario(k: ipcsim.Kernel) -> Callable[[], object]:
    """Boot on kernel ``k``: the worker (pid 2) clears the stale flag itself. The outcome:
    how many settings the worker got (LOADERS * RECORDS when it gets them all)."""
    return _boot(k, clear_stale_flag=True)


def scenario_fixed(k: ipcsim.Kernel) -> Callable[[], object]:
    """The same boot, with the flag cleared before the programs start."""
    return _boot(k, clear_stale_flag=False)


def compare(seeds: int = 200) -> dict[str, int]:
    """Explore ``seeds`` seeds with random scheduling and with PCT of depth 1; print both
    reports and how many runs of each failed. Returns strategy -> failing runs."""
    from ipcsim.explore import explore
    found = {}
    for strategy in ("random", "pct"):
        report = explore(__file__, range(seeds), strategy=strategy, depth=1)
        print(report.text())
        print()
        found[strategy] = len(report.seeds("failed"))
    for strategy, n in found.items():
        print(f"{strategy + (' (depth 1)' if strategy == 'pct' else ''):16} found the bug "
              f"in {n:4d} of {seeds} runs ({100 * n / seeds:.0f}%)")
    return found


if __name__ == "__main__":
    compare()
