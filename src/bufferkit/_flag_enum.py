"""``BufferFlags``: the request flags of ``flags`` as an ``enum.IntFlag``.

Imported by ``flags`` on first use of ``BufferFlags``, ``STRUCTURE_REQUESTS`` or
``MODIFIER_SETS`` (the ``enum`` module is not needed before). Invariant: each
member has the name and value of the ``flags`` constant it is made from, which
are those of ``inspect.BufferFlags``.
"""

from __future__ import annotations

import enum

from . import flags as _flags

__all__ = ["MODIFIER_SETS", "STRUCTURE_REQUESTS", "BufferFlags"]


class BufferFlags(enum.IntFlag):
    """The PyBUF_* request flags (equal to ``inspect.BufferFlags``)."""

    SIMPLE = _flags.SIMPLE
    WRITABLE = _flags.WRITABLE
    FORMAT = _flags.FORMAT
    ND = _flags.ND
    STRIDES = _flags.STRIDES
    C_CONTIGUOUS = _flags.C_CONTIGUOUS
    F_CONTIGUOUS = _flags.F_CONTIGUOUS
    ANY_CONTIGUOUS = _flags.ANY_CONTIGUOUS
    INDIRECT = _flags.INDIRECT
    CONTIG = _flags.CONTIG
    CONTIG_RO = _flags.CONTIG_RO
    STRIDED = _flags.STRIDED
    STRIDED_RO = _flags.STRIDED_RO
    RECORDS = _flags.RECORDS
    RECORDS_RO = _flags.RECORDS_RO
    FULL = _flags.FULL
    FULL_RO = _flags.FULL_RO
    READ = _flags.READ
    WRITE = _flags.WRITE


BufferFlags.__module__ = "bufferkit.flags"  # where users name it (and pickle finds it)

STRUCTURE_REQUESTS: tuple[BufferFlags, ...] = (
    BufferFlags.SIMPLE,
    BufferFlags.ND,
    BufferFlags.STRIDES,
    BufferFlags.C_CONTIGUOUS,
    BufferFlags.F_CONTIGUOUS,
    BufferFlags.ANY_CONTIGUOUS,
    BufferFlags.INDIRECT,
)
"""What an answer describes (SIMPLE, ND, STRIDES, INDIRECT) or which memory it may be
(the contiguity requests): the C API defines every request as one of these with one
of ``MODIFIER_SETS``."""
MODIFIER_SETS: tuple[BufferFlags, ...] = (
    BufferFlags.SIMPLE,
    BufferFlags.WRITABLE,
    BufferFlags.FORMAT,
    BufferFlags.WRITABLE | BufferFlags.FORMAT,
)
"""What any structure request may add: nothing, ``WRITABLE``, ``FORMAT``, or both."""
