"""Dining philosophers on a System V semaphore set: a deadlock, found by exploring, and the fix.

Five philosophers sit at a round table with one fork between each pair. Fork i is
semaphore i of one set (value 1: on the table; 0: in someone's hand). A philosopher takes
the fork on the left, then the one on the right, eats, and puts both back.

If all five take their left fork before anyone takes a right one, each waits for a fork
its neighbour holds, forever: a deadlock. Whether it happens depends on the interleaving,
which the scheduler's seed decides. Explore 1,000 seeds and it shows up:

    ipcsim explore examples/dining_philosophers.py --seeds 1000
    ipcsim run examples/dining_philosophers.py --seed SEED        # watch one of them

The fix uses what System V semaphores offer: one semop() with two operations is all or
nothing, so a philosopher takes both forks at once or waits with none in hand:

    ipcsim explore examples/dining_philosophers.py --entry scenario_fixed --seeds 1000

Run this file to see both:  python3 examples/dining_philosophers.py
"""
from typing import Callable

import ipcsim
from ipcsim import IPC_CREAT, IPC_PRIVATE, SETALL

N = 5          # philosophers, and forks
MEALS = 2      # each eats twice

#: A seed under which the naive version deadlocks (``ipcsim explore`` finds it).
DEADLOCK_SEED = 33


def philosopher(p: ipcsim.Process, forks: int, i: int, both_at_once: bool) -> int:
    """Philosopher i: take forks i and i+1, eat for a second, put them back; MEALS times."""
    left, right = i, (i + 1) % N
    for _ in range(MEALS):
        if both_at_once:
            p.semop(forks, [(left, -1, 0), (right, -1, 0)])   # both, atomically
        else:
            p.semop(forks, [(left, -1, 0)])                    # the left fork ...
            p.semop(forks, [(right, -1, 0)])                   # ... then the right one
        p.sleep(1)                                             # eat (virtual time)
        p.semop(forks, [(left, 1, 0), (right, 1, 0)])          # put both back
    return MEALS


def scenario(k: ipcsim.Kernel, both_at_once: bool = False) -> Callable[[], list[int]]:
    """Set the table on kernel ``k``: one semaphore per fork, a program per philosopher.
    Returns the outcome: how many meals each philosopher had."""
    forks = k.init.semget(IPC_PRIVATE, N, IPC_CREAT | 0o600)
    k.init.semctl(forks, 0, SETALL, [1] * N)                  # every fork on the table
    diners = [k.init.fork(target=philosopher, args=(forks, i, both_at_once))
              for i in range(N)]
    return lambda: [p.result for p in diners]


def scenario_fixed(k: ipcsim.Kernel) -> Callable[[], list[int]]:
    """The same table, but each philosopher takes both forks in one semop()."""
    return scenario(k, both_at_once=True)


def main(seeds: int = 300) -> tuple[object, object]:
    from ipcsim.explore import explore
    naive = explore(__file__, range(seeds))
    print(naive.text())
    fixed = explore(__file__, range(seeds), entry="scenario_fixed")
    print(fixed.text())
    return naive, fixed


if __name__ == "__main__":
    main()
