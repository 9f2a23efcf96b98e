"""What a terminal or a notebook shows of a model object.

Kernel, IpcNamespace, Process and every IPC object inherit :class:`Viewable`: ``str(obj)``
is a text view (the tree of namespaces, ipcs-like tables, the fields of a struct), a
notebook shows ``_repr_html_``, IPython's pretty printer the text. ``repr()`` stays the
short one-line form. :mod:`ipcsim.views` draws them (imported when first needed, since it
depends on every model module).
"""
from __future__ import annotations

from typing import Protocol


class PrettyPrinter(Protocol):
    """What ``_repr_pretty_`` uses of IPython's pretty printer."""

    def text(self, obj: str) -> None: ...


class Viewable:
    """The text and HTML views of a model object."""

    __slots__ = ()

    def __str__(self) -> str:
        from .. import views
        return views.text(self)

    def _repr_html_(self) -> str:
        from .. import views
        return views.html(self)

    def _repr_pretty_(self, printer: PrettyPrinter, cycle: bool) -> None:
        printer.text(str(self))
