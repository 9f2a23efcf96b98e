"""Producer and consumer over a System V message queue.

A producer sends numbered jobs; a consumer takes them in order. The queue is made small
(msg_qbytes = 24 bytes) so the producer has to wait when it is full: msgsnd blocks until the
consumer makes room, and msgrcv blocks while the queue is empty. A message of type 2 says
"no more work". Whatever the interleaving (the seed), the consumer gets every job, in order.

    python3 examples/producer_consumer.py              # one run, with its timeline
    ipcsim explore examples/producer_consumer.py --seeds 500   # always the same outcome
"""
from typing import Callable

import ipcsim
from ipcsim import IPC_CREAT, IPC_PRIVATE, IPC_SET, IPC_STAT

JOBS = 8
WORK, DONE = 1, 2          # message types


def producer(p: ipcsim.Process, qid: int) -> int:
    for n in range(JOBS):
        p.msgsnd(qid, WORK, f"job {n:02d}".encode())   # blocks while the queue is full
    p.msgsnd(qid, DONE, b"")
    return JOBS


def consumer(p: ipcsim.Process, qid: int) -> list[str]:
    got: list[str] = []
    while True:
        mtype, data = p.msgrcv(qid, 100)                # blocks while the queue is empty
        if mtype == DONE:
            return got
        got.append(data.decode())


def scenario(k: ipcsim.Kernel) -> Callable[[], list[str]]:
    qid = k.init.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    ds = k.init.msgctl(qid, IPC_STAT)
    ds.msg_qbytes = 24                                  # room for 4 jobs of 6 bytes
    k.init.msgctl(qid, IPC_SET, ds)
    k.init.fork(target=producer, args=(qid,))
    eater = k.init.fork(target=consumer, args=(qid,))
    return lambda: eater.result


def main(seed: int = 0) -> list[str]:
    from ipcsim.timeline import Timeline
    k = ipcsim.Kernel(seed=seed, trace=True)
    timeline = Timeline(k)
    outcome = scenario(k)
    k.run()
    waits = [b for b in timeline.intervals() if b.last > b.first]
    print(f"the consumer got {outcome()}")
    print(f"{len(waits)} calls had to wait, e.g.: pid {waits[0].pid} in {waits[0].what}")
    k.close()
    return outcome()


if __name__ == "__main__":
    main()
