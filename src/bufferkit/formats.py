"""The PEP 3118 format grammar (API contract; implementation pending).

A format string is parsed once into an immutable, hashable ``Format``. See the
docstrings below for the contract the upper layers rely on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Field", "Format"]


class Field:
    """One field of an item: its name, byte offset, code, sub-array shape and size.

    ``code`` is a struct code (``'i'``, ``'d'``, ``'s'``, ...), ``'Zf'``/``'Zd'``
    for complex, ``'T'`` for a nested record (then ``record`` is its ``Format``).
    ``shape`` is the sub-array shape (``()`` for a scalar); ``count`` the length
    of an ``s``/``p``/``u``/``w`` string (1 otherwise); ``size`` the bytes of one
    element; ``byteorder`` is ``'<'`` or ``'>'`` (resolved, never native).
    """


class Format:
    """A parsed PEP 3118 format. ``Format(text)`` is cached and raises
    ``ValueError`` (malformed, naming the format and position) or
    ``NotImplementedError`` (``g``, ``Zg``, ``&``: recognised, refused).
    """

    text: str
    itemsize: int
    alignment: int
    fields: tuple[Field, ...]
    native: str | None

    def __new__(cls, fmt: str | bytes) -> Format:
        raise NotImplementedError

    def unpack(self, data: Any, count: int | None = None) -> list[Any]:
        raise NotImplementedError

    def pack(self, items: Sequence[Any]) -> bytes:
        raise NotImplementedError
