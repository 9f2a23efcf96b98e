"""A ring buffer in System V shared memory, guarded by three semaphores.

The classic bounded buffer: SLOTS slots of 16 bytes in one segment, and a semaphore set
with EMPTY (free slots, starts at SLOTS), FULL (filled slots, starts at 0) and MUTEX (1).
The writer waits on EMPTY, writes its slot under MUTEX, posts FULL; the reader the reverse.
Both attach the same segment, each at an address of its own. Take the semaphores away and
the reader would read slots before they are written: explore it and see.

    python3 examples/shm_ring_buffer.py
    ipcsim explore examples/shm_ring_buffer.py --seeds 500
"""
from typing import Callable

import ipcsim
from ipcsim import IPC_CREAT, IPC_PRIVATE, SETALL

SLOTS, SLOT = 4, 16
ITEMS = 10
EMPTY, FULL, MUTEX = 0, 1, 2


def writer(p: ipcsim.Process, shmid: int, semid: int) -> int:
    base = p.shmat(shmid)                               # this process's address for it
    for n in range(ITEMS):
        p.semop(semid, [(EMPTY, -1, 0)])                # wait for a free slot
        p.semop(semid, [(MUTEX, -1, 0)])
        p.write_memory(base + (n % SLOTS) * SLOT, f"item {n:02d}".ljust(SLOT).encode())
        p.semop(semid, [(MUTEX, 1, 0)])
        p.semop(semid, [(FULL, 1, 0)])                  # one more slot to read
    p.shmdt(base)
    return ITEMS


def reader(p: ipcsim.Process, shmid: int, semid: int) -> list[str]:
    base = p.shmat(shmid)
    got: list[str] = []
    for n in range(ITEMS):
        p.semop(semid, [(FULL, -1, 0)])                 # wait for a filled slot
        p.semop(semid, [(MUTEX, -1, 0)])
        got.append(p.read_memory(base + (n % SLOTS) * SLOT, SLOT).decode().strip())
        p.semop(semid, [(MUTEX, 1, 0)])
        p.semop(semid, [(EMPTY, 1, 0)])                 # the slot is free again
    p.shmdt(base)
    return got


def scenario(k: ipcsim.Kernel) -> Callable[[], list[str]]:
    init = k.init
    shmid = init.shmget(IPC_PRIVATE, SLOTS * SLOT, IPC_CREAT | 0o600)
    semid = init.semget(IPC_PRIVATE, 3, IPC_CREAT | 0o600)
    init.semctl(semid, 0, SETALL, [SLOTS, 0, 1])        # EMPTY, FULL, MUTEX
    init.fork(target=writer, args=(shmid, semid))
    r = init.fork(target=reader, args=(shmid, semid))
    return lambda: r.result


def main(seed: int = 0) -> list[str]:
    k = ipcsim.Kernel(seed=seed)
    outcome = scenario(k)
    k.run()
    print(f"the reader got {outcome()}")
    print(k.ipc_namespaces[0])                          # the segment and the semaphores
    k.close()
    return outcome()


if __name__ == "__main__":
    main()
