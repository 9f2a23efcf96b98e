"""Call arguments shown as the man pages write them (the timeline's text and tooltips)."""
import pytest

from ipcsim import constants as c
from ipcsim.callargs import format_args


@pytest.mark.parametrize("name, args, shown", [
    ("msgget", (c.IPC_PRIVATE, c.IPC_CREAT | 0o600), "IPC_PRIVATE, IPC_CREAT|0o600"),
    ("msgget", (0x51, 0), "0x51, 0"),
    ("msgget", (-1, c.IPC_CREAT | c.IPC_EXCL | 0o640), "0xffffffff, IPC_CREAT|IPC_EXCL|0o640"),
    ("msgsnd", (3, 1, b"hi", c.IPC_NOWAIT), "3, 1, b'hi', IPC_NOWAIT"),
    ("msgrcv", (3, 100, -5, c.IPC_NOWAIT | c.MSG_EXCEPT), "3, 100, -5, IPC_NOWAIT|MSG_EXCEPT"),
    ("msgctl", (3, c.IPC_RMID), "3, IPC_RMID"),
    ("semctl", (0, 0, c.SETALL, [1, 2]), "0, 0, SETALL, [1, 2]"),
    ("semctl", (0, 0, 99), "0, 0, 99"),
    ("semop", (0, [(1, -1, c.SEM_UNDO), (0, 0, 0)]), "0, [(1, -1, SEM_UNDO), (0, 0, 0)]"),
    ("shmget", (c.IPC_PRIVATE, 4096, c.IPC_CREAT | c.SHM_HUGETLB | 0o600),
     "IPC_PRIVATE, 4096, IPC_CREAT|SHM_HUGETLB|0o600"),
    ("shmat", (1, None, c.SHM_RDONLY), "1, None, SHM_RDONLY"),
    ("shmctl", (1, c.SHM_LOCK), "1, SHM_LOCK"),
    ("clone", (c.CLONE_NEWIPC | 17,), "CLONE_NEWIPC|SIGCHLD"),
    ("unshare", (c.CLONE_NEWIPC | c.CLONE_SYSVSEM,), "CLONE_NEWIPC|CLONE_SYSVSEM"),
    ("kill", (7, 10), "7, SIGUSR1"),
    ("mq_open", ("/q", c.O_RDWR | c.O_CREAT | c.O_NONBLOCK, 0o600),
     "'/q', O_RDWR|O_CREAT|O_NONBLOCK, 0o600"),
    ("getpid", (), ""),
    ("msgget", ("x", 1.5), "'x', 1.5"),                     # bad input shown as it was
])
def test_arguments_read_like_the_man_pages(name, args, shown):
    assert format_args(name, args) == shown
