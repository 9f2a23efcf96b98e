"""System V message queues (ipc/msg.c)."""
from __future__ import annotations


class MsgCalls:
    """msgget, msgsnd, msgrcv, msgctl: the methods Process gets from this module."""

    __slots__ = ()
