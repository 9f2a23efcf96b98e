"""What the namespaces that nest share: user and PID namespaces each have a parent and a
level (0 for the initial one), and the questions asked of their chain."""
from __future__ import annotations

from typing import Any, Self


class Nested:
    """A namespace in a tree of its kind: ``parent`` (None for the initial one) and
    ``level``, which subclasses set."""

    __slots__ = ()

    parent: Any         # (None, or the subclass's own kind)
    level: int

    def ancestors(self) -> list[Self]:
        """This namespace, its parent, ..., the initial one."""
        chain = []
        ns: Self | None = self
        while ns is not None:
            chain.append(ns)
            ns = ns.parent
        return chain

    def is_ancestor_of(self, other: Self) -> bool:
        """True when ``other`` is this namespace or lies below it (in_userns(); for PID
        namespaces: ``other`` sees nothing this one does not, and this one sees every
        process of it)."""
        ns: Self | None = other
        while ns is not None and ns.level >= self.level:
            if ns is self:
                return True
            ns = ns.parent
        return False
