"""POSIX message queues: priorities, and a notification when a message arrives.

mq_receive always takes the oldest message of the highest priority, so urgent messages
overtake the rest. mq_notify asks the kernel to signal the process when a message arrives
in an empty queue: here the receiver sleeps in pause() until SIGUSR1 says there is mail.

    python3 examples/posix_queues.py
"""
from typing import Callable

import ipcsim
from ipcsim import O_CREAT, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, SIGUSR1

NAME = "/mailbox"


def receiver(p: ipcsim.Process) -> list[str | tuple[int, str]]:
    mqd = p.mq_open(NAME, O_RDONLY | O_NONBLOCK)
    p.signal(SIGUSR1, lambda sig: None)                 # a handler, so SIGUSR1 does not kill
    p.mq_notify(mqd, ipcsim.SigEvent(sigev_signo=SIGUSR1))   # tell me when mail arrives
    try:
        p.pause()                                       # sleep until a signal
    except InterruptedError:
        pass
    sender = p.last_siginfo.si_pid  # type: ignore[union-attr]  # (set: a handler ran) the sender
    p.sleep(1)                                          # let the rest of the mail arrive
    mail: list[str | tuple[int, str]] = []
    while True:
        try:
            data, prio = p.mq_receive(mqd, 64)
        except BlockingIOError:                         # O_NONBLOCK and the queue is empty
            break
        mail.append((prio, data.decode()))
    p.mq_close(mqd)
    return [f"notified by pid {sender}"] + mail


def sender(p: ipcsim.Process) -> None:
    mqd = p.mq_open(NAME, O_WRONLY)
    for prio, text in ((0, "newsletter"), (5, "invoice"), (9, "server on fire"),
                       (0, "another newsletter"), (5, "second invoice")):
        p.mq_send(mqd, text.encode(), prio)
    p.mq_close(mqd)


def scenario(k: ipcsim.Kernel) -> Callable[[], list[str | tuple[int, str]]]:
    init = k.init
    init.mq_close(init.mq_open(NAME, O_CREAT | O_RDWR, 0o600,
                               ipcsim.MqAttr(mq_maxmsg=10, mq_msgsize=64)))
    r = init.fork(target=receiver)
    k.run_until_idle()                                  # the receiver registers first
    init.fork(target=sender)
    return lambda: r.result


def main(seed: int = 0) -> list[str | tuple[int, str]]:
    k = ipcsim.Kernel(seed=seed)
    outcome = scenario(k)
    k.run()
    for line in outcome():
        print(line)
    k.init.mq_unlink(NAME)
    k.close()
    return outcome()


if __name__ == "__main__":
    main()
