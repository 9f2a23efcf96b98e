"""System V message queues: the errnos of msgop(2) and msgctl(2), blocking and wake-ups.

Every errno of msgop(2) and msgctl(2) has a scenario, except these, deliberately:

* EFAULT (msgsnd, msgrcv, msgctl): needs a bad pointer; the scenario calls take Python
  values, never an address.
* ENOMEM (msgsnd): the system out of memory for the message.
* ENOSYS (msgrcv with MSG_COPY): only on kernels built without CONFIG_CHECKPOINT_RESTORE.
* EIDRM (msgctl): Linux gives EINVAL for an id already removed; EIDRM only in a race
  with IPC_RMID between the lookup and the lock.
* EINVAL for a negative msgsz to msgsnd: the scenario form passes the message as bytes, so
  its size cannot be negative (msgrcv's negative msgsz is covered).

The later scenarios carry the ideas of LTP's testcases/kernel/syscalls/ipc/msg* and of
gVisor's test/syscalls/linux/msgqueue.cc; each comment names the test it comes from.
"""
from . import scenario

AREA = "msg"

SCENARIOS = [
    scenario(AREA, "msgget-errnos", """
q = a.msgget(0x42, IPC_CREAT | 0o600)
a.msgget(0x42, IPC_CREAT | IPC_EXCL)
a.msgget(0x43, 0)
a.msgget(0x42, 0)
b = a.fork()
b.setuid(1000)
b.msgget(0x42, 0o400)
b.msgget(0x42, 0)
a.write_file("/proc/sys/kernel/msgmni", "1")
a.msgget(0x44, IPC_CREAT)
a.msgget(IPC_PRIVATE, 0)
a.msgctl(q, IPC_STAT)
"""),
    scenario(AREA, "msgsnd-errnos", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgsnd(q, 1, b"x" * 8193, 0)
a.msgsnd(q, 1, b"x" * 8192, 0)
a.msgsnd(q, 0, b"x", 0)
a.msgsnd(q, -1, b"x", 0)
a.msgsnd(-1, 1, b"x", 0)
a.msgsnd(q + 1, 1, b"x", 0)
b = a.fork()
b.setuid(1000)
b.msgsnd(q, 1, b"x", 0)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=8192))
a.msgsnd(q, 1, b"y", IPC_NOWAIT)
a.msgctl(q, IPC_STAT)
"""),
    scenario(AREA, "msgrcv-errnos-and-order", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgsnd(q, 5, b"five", 0)
a.msgsnd(q, 3, b"three", 0)
a.msgsnd(q, 7, b"seven", 0)
a.msgsnd(q, 3, b"three2", 0)
a.msgsnd(q, 1, b"one", 0)
a.msgrcv(q, 100, 2, MSG_COPY | IPC_NOWAIT)
a.msgrcv(q, 100, -4, 0)
a.msgrcv(q, 100, 5, MSG_EXCEPT)
a.msgrcv(q, 100, 3, 0)
a.msgrcv(q, 100, 99, IPC_NOWAIT)
a.msgrcv(q, 2, -100, 0)
a.msgrcv(q, 2, -100, MSG_NOERROR)
a.msgrcv(q, 100, -100, 0)
a.msgrcv(q, 100, -100, IPC_NOWAIT)
a.msgrcv(-1, 10, 0, 0)
a.msgrcv(q, -1, 0, 0)
a.msgrcv(q + 32768, 10, 0, IPC_NOWAIT)
a.msgctl(q, IPC_STAT)
"""),
    scenario(AREA, "msg-copy-rules", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgsnd(q, 4, b"hello", 0)
a.msgrcv(q, 100, 0, MSG_COPY)
a.msgrcv(q, 100, 0, MSG_COPY | IPC_NOWAIT | MSG_EXCEPT)
a.msgrcv(q, 3, 0, MSG_COPY | IPC_NOWAIT)
a.msgrcv(q, 3, 0, MSG_COPY | IPC_NOWAIT | MSG_NOERROR)
a.msgrcv(q, 100, 1, MSG_COPY | IPC_NOWAIT)
a.msgrcv(q, 100, 0, MSG_COPY | IPC_NOWAIT)
a.msgctl(q, IPC_STAT)
a.write_file("/proc/sys/kernel/msgmax", "3")
a.msgrcv(q, 100, 0, MSG_COPY | IPC_NOWAIT)
"""),
    scenario(AREA, "queue-full-counts-messages-too", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=3))
a.msgsnd(q, 1, b"", IPC_NOWAIT)
a.msgsnd(q, 1, b"", IPC_NOWAIT)
a.msgsnd(q, 1, b"", IPC_NOWAIT)
a.msgsnd(q, 1, b"", IPC_NOWAIT)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=0))
a.msgctl(q, IPC_STAT)
"""),
    scenario(AREA, "pipelined-send-in-receiver-order", """
q = a.msgget(IPC_PRIVATE, 0o600)
r1 = a.fork()
r2 = a.fork()
r3 = a.fork()
r4 = a.fork()
r1.msgrcv(q, 2, 0, 0)
r2.msgrcv(q, 100, 7, 0)
r3.msgrcv(q, 100, 0, 0)
r4.msgrcv(q, 100, 0, 0)
a.msgsnd(q, 7, b"hello", 0)
a.msgsnd(q, 3, b"three", 0)
a.msgsnd(q, 9, b"nine", 0)
a.msgctl(q, IPC_STAT)
"""),
    scenario(AREA, "blocked-sender-wakes-when-room", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=10))
a.msgsnd(q, 1, b"0123456789", 0)
s1 = a.fork()
s2 = a.fork()
s2.msgsnd(q, 3, b"x" * 11, 0)
s1.msgsnd(q, 2, b"abcd", 0)
a.msgrcv(q, 100, 0, 0)
a.msgctl(q, IPC_STAT)
a.msgrcv(q, 100, 0, 0)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=11))
a.msgrcv(q, 100, 0, 0)
"""),
    scenario(AREA, "ipc-set-wakes-senders-and-receivers", """
q = a.msgget(IPC_PRIVATE, 0o666)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o666, qbytes=4))
s = a.fork()
s.msgsnd(q, 2, b"12345678", 0)
r = a.fork()
r.setuid(1000)
r.msgrcv(q, 100, 9, 0)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=16))
a.msgctl(q, IPC_STAT)
"""),
    scenario(AREA, "rmid-wakes-waiters-with-eidrm", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=1))
a.msgsnd(q, 1, b"x", 0)
s = a.fork()
r = a.fork()
s.msgsnd(q, 1, b"y", 0)
r.msgrcv(q, 10, 5, 0)
a.msgctl(q, IPC_RMID)
a.msgctl(q, IPC_STAT)
a.msgsnd(q, 1, b"z", 0)
"""),
    scenario(AREA, "signal-interrupts-a-blocked-receiver", """
q = a.msgget(IPC_PRIVATE, 0o600)
r = a.fork()
r.signal(SIGUSR1, "handler")
r.msgrcv(q, 10, 0, 0)
a.kill(pid(r), SIGUSR1)
a.msgsnd(q, 1, b"kept", 0)
a.msgctl(q, IPC_STAT)
"""),
    scenario(AREA, "msgctl-commands", """
q0 = a.msgget(IPC_PRIVATE, 0o600)
q1 = a.msgget(0x51, IPC_CREAT | 0o640)
q2 = a.msgget(IPC_PRIVATE, 0o600)
a.msgsnd(q0, 1, b"abc", 0)
a.msgsnd(q1, 1, b"de", 0)
a.msgctl(0, IPC_INFO)
a.msgctl(0, MSG_INFO)
a.msgctl(1, MSG_STAT)
a.msgctl(32768 * 3 + 1, MSG_STAT)
a.msgctl(7, MSG_STAT)
b = a.fork()
b.setresgid(1000, 1000, 1000)
b.setuid(1000)
b.msgctl(0, MSG_STAT)
b.msgctl(0, MSG_STAT_ANY)
b.msgctl(q1, IPC_STAT)
b.msgctl(q0, IPC_STAT)
b.msgctl(q0, IPC_RMID)
b.msgctl(q0, IPC_SET, msqid_ds(uid=1000, mode=0o600))
a.msgctl(q0, 99)
a.msgctl(-1, IPC_STAT)
a.msgctl(q0, -1)
a.msgctl(q2, IPC_RMID)
a.msgctl(0, IPC_INFO)
"""),
    scenario(AREA, "ipc-set-rules", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(q, IPC_SET, msqid_ds(uid=1000, gid=50, mode=0o7640))
a.msgctl(q, IPC_STAT)
a.msgctl(q, IPC_SET, msqid_ds(uid=-1, mode=0o600))
a.msgctl(q, IPC_SET, msqid_ds(uid=0, mode=0o600, qbytes=16385))
a.msgctl(q, IPC_STAT)
b = a.fork()
b.drop_capability(CAP_SYS_RESOURCE)
b.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=16385))
b.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=2147483648))
b.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=4294967295))
b.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=4294967303))
b.msgctl(q, IPC_STAT)
c = a.fork()
c.setuid(2000)
c.msgctl(q, IPC_SET, msqid_ds(mode=0o600))
c.msgctl(q, IPC_RMID)
"""),
    scenario(AREA, "same-key-different-queues-in-two-namespaces", """
b = a.clone(CLONE_NEWIPC)
qa = a.msgget(0x42, IPC_CREAT | 0o600)
qb = b.msgget(0x42, IPC_CREAT | 0o600)
a.msgsnd(qa, 1, b"for a", 0)
b.msgrcv(qb, 10, 0, IPC_NOWAIT)
a.msgctl(0, MSG_INFO)
b.msgctl(0, MSG_INFO)
a.read_file("/proc/sysvipc/msg")
b.read_file("/proc/sysvipc/msg")
fd = a.open(f"/proc/{pid(b)}/ns/ipc")
c = a.fork()
c.setns(fd, CLONE_NEWIPC)
c.msgget(0x42, 0)
"""),
    scenario(AREA, "queues-die-with-their-namespace", """
b = a.clone(CLONE_NEWIPC)
q = b.msgget(0x42, IPC_CREAT | 0o600)
b.msgsnd(q, 1, b"lost", 0)
fd = a.open(f"/proc/{pid(b)}/ns/ipc")
b.exit(0)
c = a.fork()
c.setns(fd, 0)
c.msgrcv(q, 10, 0, IPC_NOWAIT)
a.close(fd)
c.unshare(CLONE_NEWIPC)
c.msgget(0x42, 0)
"""),
    scenario(AREA, "proc-sysvipc-msg", """
q = a.msgget(4294967295, IPC_CREAT | 0o644)
a.msgsnd(q, 1, b"abc", 0)
r = a.msgget(0x1234, IPC_CREAT | 0o600)
b = a.fork()
b.msgrcv(q, 10, 0, 0)
a.read_file("/proc/sysvipc/msg")
"""),
]

# LTP msgget02 (and msgget01): a queue made with no mode bits refuses each bit asked for;
# IPC_EXCL alone does not create.
SCENARIOS += [
    scenario(AREA, "msgget-each-mode-bit-is-checked", """
q = a.msgget(0x42, IPC_CREAT | IPC_EXCL)
a.msgget(0x43, IPC_EXCL)                     # ENOENT: IPC_EXCL without IPC_CREAT
a.msgget(0x43, IPC_PRIVATE)                  # ENOENT: flags 0
b = a.fork()
b.setgroups([])
b.setgid(65534)
b.setuid(65534)
b.msgget(0x42, 0o400)                        # EACCES
b.msgget(0x42, 0o200)                        # EACCES
b.msgget(0x42, 0o600)                        # EACCES
b.msgget(0x42, 0o004)                        # EACCES
b.msgget(0x42, 0)                            # no bits asked: no check
b.msgget(0x42, IPC_CREAT)
b.msgget(0x42, IPC_CREAT | 0o200)            # EACCES: IPC_CREAT of an existing key checks
a.msgget(0x42, 0o777)                        # CAP_IPC_OWNER
"""),
    # LTP msgget04 and msgget05: msg_next_id asks for the next id, and goes back to -1;
    # an id already in use gives another one.
    scenario(AREA, "msg-next-id", """
a.write_file("/proc/sys/kernel/msg_next_id", "12345")
q = a.msgget(0x42, IPC_CREAT | 0o600)
a.read_file("/proc/sys/kernel/msg_next_id")
a.msgctl(q, IPC_STAT)
a.write_file("/proc/sys/kernel/msg_next_id", "12345")
a.msgget(0x43, IPC_CREAT | 0o600)            # 12345 is taken
a.read_file("/proc/sys/kernel/msg_next_id")
a.write_file("/proc/sys/kernel/msg_next_id", "2147483647")
a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(0, MSG_INFO)
a.read_file("/proc/sysvipc/msg")
"""),
    # gVisor MsgOpPermissions, LTP msgsnd02, msgrcv02 and msgctl04: without CAP_IPC_OWNER
    # the owner obeys the mode bits too (EACCES), but IPC_SET and IPC_RMID stay its own.
    scenario(AREA, "owner-without-ipc-owner-obeys-mode", """
q = a.msgget(IPC_PRIVATE, 0)
a.msgsnd(q, 1, b"root", 0)
a.drop_capability(CAP_IPC_OWNER)
a.msgsnd(q, 1, b"x", 0)                      # EACCES
a.msgrcv(q, 10, 0, IPC_NOWAIT)               # EACCES
a.msgrcv(q, 10, 0, MSG_COPY | IPC_NOWAIT)    # EACCES
a.msgctl(q, IPC_STAT)                        # EACCES
a.msgctl(0, MSG_STAT)                        # EACCES
a.msgctl(0, MSG_STAT_ANY)
a.msgget(IPC_PRIVATE, 0)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o200))
a.msgsnd(q, 1, b"w", IPC_NOWAIT)
a.msgrcv(q, 10, 0, IPC_NOWAIT)               # EACCES: write only
a.msgctl(q, IPC_SET, msqid_ds(mode=0o400))
a.msgrcv(q, 10, 0, IPC_NOWAIT)
a.msgsnd(q, 1, b"x", 0)                      # EACCES: read only
a.msgctl(q, IPC_STAT)
a.msgctl(q, IPC_RMID)
"""),
    # LTP msgsnd05: a sender asleep on a full queue fails with EINTR when a signal is
    # caught, and sends nothing; IPC_NOWAIT gives EAGAIN.
    scenario(AREA, "blocked-sender-interrupted-by-a-signal", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(q, IPC_SET, msqid_ds(mode=0o600, qbytes=5))
a.msgsnd(q, 1, b"hello", 0)
a.msgsnd(q, 2, b"x", IPC_NOWAIT)             # EAGAIN
s = a.fork()
s.signal(SIGHUP, "handler")
s.msgsnd(q, 2, b"x", 0)
a.kill(pid(s), SIGHUP)                       # EINTR
a.msgctl(q, IPC_STAT)
s.msgsnd(q, 2, b"x", IPC_NOWAIT)
a.msgrcv(q, 10, 0, 0)
s.msgsnd(q, 2, b"x", IPC_NOWAIT)
a.msgctl(q, IPC_STAT)
"""),
    # LTP msgctl01, msgctl03, msgctl06 and msgsnd01: IPC_STAT's counts, times and pids
    # (the last sender and receiver), IPC_SET's owner, and a removed queue's EINVAL.
    scenario(AREA, "stat-records-sender-and-receiver", """
q = a.msgget(0x42, IPC_CREAT | 0o640)
a.msgctl(q, IPC_STAT)
b = a.fork()
c = a.fork()
b.msgsnd(q, 1, b"from b", 0)
a.msgctl(q, IPC_STAT)
c.msgrcv(q, 100, 0, 0)
a.msgctl(q, IPC_STAT)
a.msgctl(q, IPC_SET, msqid_ds(uid=1000, gid=1000, mode=0o666))
a.msgctl(q, IPC_STAT)
a.msgctl(q, IPC_RMID)
a.msgctl(q, IPC_STAT)                        # EINVAL
a.msgctl(q, IPC_RMID)                        # EINVAL
a.msgctl(q, IPC_SET, msqid_ds())             # EINVAL
"""),
    # gVisor MsgRcvType, MsgRcvTypeNegative and MsgExcept, LTP msgrcv07 and msgrcv08: the
    # type rules at their bounds (LONG_MIN as msgtyp means LONG_MAX; mtype must be > 0).
    scenario(AREA, "receive-by-type-and-bounds", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgsnd(q, 2, b"two", 0)
a.msgrcv(q, 100, -1, IPC_NOWAIT)             # ENOMSG: nothing <= 1
a.msgrcv(q, 100, 1, IPC_NOWAIT)              # ENOMSG
a.msgrcv(q, 100, 2, MSG_EXCEPT | IPC_NOWAIT) # ENOMSG
a.msgrcv(q, 100, -2, MSG_EXCEPT | IPC_NOWAIT)
a.msgsnd(q, 1, b"one", 0)
a.msgsnd(q, 3, b"three", 0)
a.msgsnd(q, 9223372036854775807, b"max", 0)
a.msgrcv(q, 100, -9223372036854775807, MSG_EXCEPT | IPC_NOWAIT)
a.msgrcv(q, 100, -9223372036854775807, IPC_NOWAIT)
a.msgrcv(q, 100, -9223372036854775808, IPC_NOWAIT)
a.msgrcv(q, 100, 2, IPC_NOWAIT)              # ENOMSG
a.msgsnd(q, 5, b"five", 0)
a.msgrcv(q, 100, -9223372036854775808, MSG_EXCEPT | IPC_NOWAIT)
a.msgrcv(q, 100, 9223372036854775807, IPC_NOWAIT)
a.msgrcv(q, 100, 0, IPC_NOWAIT)              # ENOMSG: empty
a.msgsnd(q, -9223372036854775808, b"min", 0) # EINVAL
"""),
    # gVisor MsgRcvTypeBlocking, LTP msgrcv01 and msgrcv04: a receiver waiting for one type
    # lets the others queue; E2BIG without MSG_NOERROR, a cut message with it.
    scenario(AREA, "msgrcv-for-a-type-lets-others-queue", """
q = a.msgget(IPC_PRIVATE, 0o600)
r = a.fork()
r.msgrcv(q, 100, 2, 0)
a.msgsnd(q, 1, b"a message", 0)
a.msgsnd(q, 1, b"a message", 0)
a.msgsnd(q, 1, b"a message", 0)
a.msgsnd(q, 1, b"a message", 0)
a.msgsnd(q, 2, b"a different message", 0)
a.msgctl(q, IPC_STAT)
r.msgrcv(q, 100, 0, 0)
r.msgrcv(q, 8, 0, 0)                         # E2BIG
r.msgrcv(q, 9, 0, MSG_NOERROR)
a.msgctl(q, IPC_STAT)
"""),
    # gVisor MsgCopy, MsgCopyInvalidArgs and MsgCopyInvalidIndex (LTP msgrcv03): MSG_COPY
    # reads by position and leaves the queue alone.
    scenario(AREA, "msg-copy-by-index", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgrcv(q, 50, -3, MSG_COPY | IPC_NOWAIT)   # ENOMSG
a.msgrcv(q, 50, 0, MSG_COPY | IPC_NOWAIT)    # ENOMSG
a.msgsnd(q, 1, b"Message 1.", 0)
a.msgsnd(q, 2, b"Message 2.", 0)
a.msgsnd(q, 3, b"Message 3.", 0)
a.msgsnd(q, 4, b"Message 4.", 0)
a.msgsnd(q, 5, b"Message 5.", 0)
a.msgrcv(q, 50, 0, MSG_COPY | IPC_NOWAIT)
a.msgrcv(q, 50, 4, MSG_COPY | IPC_NOWAIT)
a.msgrcv(q, 50, 5, MSG_COPY | IPC_NOWAIT)    # ENOMSG: past the end
a.msgrcv(q, 50, -3, MSG_COPY | IPC_NOWAIT)   # ENOMSG
a.msgrcv(q, 50, 1, MSG_COPY)                 # EINVAL: needs IPC_NOWAIT
a.msgrcv(q, 50, 5, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT)   # EINVAL
a.msgctl(q, IPC_STAT)
a.msgrcv(q, 50, 0, 0)
a.msgrcv(q, 50, 0, MSG_COPY | IPC_NOWAIT)
b = a.fork()
b.msgrcv(q, 50, 3, MSG_COPY | IPC_NOWAIT)
b.msgrcv(q, 50, 3, MSG_COPY | MSG_NOERROR | IPC_NOWAIT)
a.msgctl(q, IPC_STAT)
"""),
    # gVisor MsgOpLimits and MsgSndBlocking: two messages of msgmax fill msgmnb; an empty
    # message still fits; the next sender sleeps until a receive makes room.
    scenario(AREA, "max-size-messages-fill-the-queue", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgsnd(q, 1, b"x" * 8192, 0)
a.msgsnd(q, 1, b"y" * 8192, 0)
a.msgsnd(q, 1, b"", IPC_NOWAIT)
s = a.fork()
s.msgsnd(q, 2, b"z" * 8192, 0)
a.msgrcv(q, 1, 1, MSG_NOERROR)
a.msgctl(q, IPC_STAT)
a.msgrcv(q, 3, 0, MSG_EXCEPT | MSG_NOERROR)
a.msgctl(0, MSG_INFO)
a.msgctl(q, IPC_RMID)
a.msgctl(0, MSG_INFO)
"""),
    # LTP msgctl12: IPC_INFO and MSG_INFO take any non-negative id; the limits they show
    # follow the sysctls, and a new queue takes its msg_qbytes from msgmnb.
    scenario(AREA, "ipc-info-ignores-the-id", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(12345, IPC_INFO)
a.msgctl(q, IPC_INFO)
a.msgctl(12345, MSG_INFO)
a.msgctl(-1, MSG_INFO)                       # EINVAL: a negative id
a.msgctl(-1, MSG_STAT)                       # EINVAL
a.msgctl(-1, IPC_RMID)                       # EINVAL
a.msgctl(q, IPC_STAT | 0x100)                # EINVAL: no IPC_64 on x86-64
a.msgctl(q, MSG_STAT)
a.write_file("/proc/sys/kernel/msgmax", "100")
a.write_file("/proc/sys/kernel/msgmnb", "200")
a.write_file("/proc/sys/kernel/msgmni", "3")
a.msgctl(0, IPC_INFO)
a.msgsnd(q, 1, b"x" * 101, 0)                # EINVAL: above msgmax
a.msgctl(q, IPC_STAT)
r = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(r, IPC_STAT)
"""),
]

# LTP msgstress01-04 and gVisor MsgOpGeneral: several receivers, each waiting for its own
# type on one queue, several senders; each message goes to the receiver of its type, one
# nobody waits for stays queued.
SCENARIOS += [
    scenario(AREA, "receivers-by-type-and-several-senders", """
q = a.msgget(0x4d, IPC_CREAT | 0o600)
r1 = a.fork()
r2 = a.fork()
r3 = a.fork()
r1.msgrcv(q, 100, 1, 0)
r2.msgrcv(q, 100, 2, 0)
r3.msgrcv(q, 100, 3, 0)
s1 = a.fork()
s2 = a.fork()
s1.msgsnd(q, 3, b"for r3", 0)
s2.msgsnd(q, 2, b"for r2", 0)
s1.msgsnd(q, 4, b"nobody waits", 0)
s2.msgsnd(q, 1, b"for r1", 0)
r1.msgrcv(q, 100, 2, IPC_NOWAIT)             # ENOMSG
r2.msgsnd(q, 1, b"r2 to r1", 0)
r1.msgrcv(q, 100, 1, 0)
a.msgctl(q, IPC_STAT)
r1.exit(0)
r2.exit(0)
r3.exit(0)
a.wait(-1, 0)
a.wait(-1, 0)
a.wait(-1, 0)
a.msgrcv(q, 100, 0, IPC_NOWAIT)
a.msgctl(q, IPC_RMID)
"""),
]

# A stop signal ends a blocked msgsnd or msgrcv (signal_pending: -ERESTARTNOHAND): while
# stopped the process waits for nothing, so a send queues its message and a receive makes
# room without handing anything over; once continued the call starts again from the top
# (with a handler due it fails with EINTR instead). Probed on Linux 6.18.
SCENARIOS += [
    scenario(AREA, "a-stopped-receiver-stops-waiting-and-restarts-when-continued", """
q = a.msgget(IPC_PRIVATE, 0o600)
b = a.fork()
b.msgrcv(q, 100, 0, 0)
a.kill(pid(b), SIGSTOP)
a.msgsnd(q, 1, b"while stopped", 0)
a.msgctl(q, IPC_STAT)
c = a.fork()
c.msgrcv(q, 100, 0, IPC_NOWAIT)
a.msgsnd(q, 2, b"for b", 0)
a.kill(pid(b), SIGCONT)
a.msgctl(q, IPC_STAT)
d = a.fork()
d.signal(SIGUSR1, "handler")
d.msgrcv(q, 100, 0, 0)
a.kill(pid(d), SIGSTOP)
a.kill(pid(d), SIGUSR1)
a.kill(pid(d), SIGCONT)
e = a.fork()
e.msgrcv(q, 100, 7, 0)
a.kill(pid(e), SIGSTOP)
a.msgctl(q, IPC_RMID)
a.kill(pid(e), SIGCONT)
"""),
    scenario(AREA, "a-stopped-sender-stops-waiting-and-restarts-when-continued", """
q = a.msgget(IPC_PRIVATE, 0o600)
a.msgctl(q, IPC_SET, {"msg_perm": {"uid": 0, "gid": 0, "mode": 0o600}, "msg_qbytes": 8})
a.msgsnd(q, 1, b"12345678", 0)
b = a.fork()
b.msgsnd(q, 2, b"second", 0)
a.kill(pid(b), SIGSTOP)
a.msgrcv(q, 100, 0, 0)
a.msgctl(q, IPC_STAT)
a.kill(pid(b), SIGCONT)
a.msgctl(q, IPC_STAT)
a.msgrcv(q, 100, 0, IPC_NOWAIT)
"""),
]
