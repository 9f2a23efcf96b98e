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

Seeds only sample the interleavings. ``--strategy dfs`` runs them all (one schedule per
interleaving, or little more): a proof, for that table, that the fix never deadlocks, and
the naive version's deadlock shrunk to its fewest preemptions. Two philosophers keep the
search small; the full table of five takes longer (see the README):

    ipcsim explore examples/dining_philosophers.py --entry two_fixed --strategy dfs
    ipcsim explore examples/dining_philosophers.py --entry two --strategy dfs

Run this file to see both:  python3 examples/dining_philosophers.py
"""
from typing import Callable

import ipcsim
from ipcsim import IPC_CREAT, IPC_PRIVATE, SETALL

N = 5          # philosophers, and forks
MEALS = 2      # each eats twice

#: A seed under which the naive version deadlocks (``ipcsim explore`` finds it).
DEADLOCK_SEED = 33


def philosopher(p: ipcsim.Process, forks: int, i: int, both_at_once: bool,
                n: int = N, meals: int = MEALS) -> int:
    """Philosopher i of n: take forks i and i+1, eat for a second, put them back; ``meals``
    times."""
    left, right = i, (i + 1) % n
    for _ in range(meals):
        if both_at_once:
            p.semop(forks, [(left, -1, 0), (right, -1, 0)])   # both, atomically
        else:
            p.semop(forks, [(left, -1, 0)])                    # the left fork ...
            p.semop(forks, [(right, -1, 0)])                   # ... then the right one
        p.sleep(1)                                             # eat (virtual time)
        p.semop(forks, [(left, 1, 0), (right, 1, 0)])          # put both back
    return meals


def scenario(k: ipcsim.Kernel, both_at_once: bool = False, n: int = N,
             meals: int = MEALS) -> Callable[[], list[int]]:
    """Set the table of ``n`` on kernel ``k``: one semaphore per fork, a program per
    philosopher. Returns the outcome: how many meals each philosopher had."""
    forks = k.init.semget(IPC_PRIVATE, n, IPC_CREAT | 0o600)
    k.init.semctl(forks, 0, SETALL, [1] * n)                  # every fork on the table
    size = (n, meals) if (n, meals) != (N, MEALS) else ()   # (the pictures show the default)
    diners = [k.init.fork(target=philosopher, args=(forks, i, both_at_once, *size))
              for i in range(n)]
    return lambda: [p.result for p in diners]


def scenario_fixed(k: ipcsim.Kernel) -> Callable[[], list[int]]:
    """The same table, but each philosopher takes both forks in one semop()."""
    return scenario(k, both_at_once=True)


def two(k: ipcsim.Kernel) -> Callable[[], list[int]]:
    """A table of two, each eating twice: small enough for dfs to run every interleaving."""
    return scenario(k, both_at_once=False, n=2)


def two_fixed(k: ipcsim.Kernel) -> Callable[[], list[int]]:
    """The table of two with the fix."""
    return scenario(k, both_at_once=True, n=2)


def main(seeds: int = 300) -> tuple[object, object]:
    from ipcsim.explore import explore
    naive = explore(__file__, range(seeds))
    print(naive.text())
    fixed = explore(__file__, range(seeds), entry="scenario_fixed")
    print(fixed.text())
    return naive, fixed


if __name__ == "__main__":
    main()
