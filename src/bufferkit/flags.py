"""Buffer request flags and the predicates that read them.

Invariants:
- ``BufferFlags`` has exactly the names and values of ``inspect.BufferFlags``
  (the ``PyBUF_*`` constants of the C API).
- A compound request implies its parts as the C API defines them: ``STRIDES``
  implies ``ND``; the three contiguous requests and ``INDIRECT`` imply ``STRIDES``.
  The predicates test whole bit patterns, never single bits, so that reading
  ``C_CONTIGUOUS`` as "wants strides" follows from the values themselves.
- ``READ`` and ``WRITE`` are not request flags (they belong to
  ``PyMemoryView_FromMemory``); ``READ`` shares its bit with ``INDIRECT``.
"""

from __future__ import annotations

import enum

__all__ = [
    "BufferFlags",
    "refusal",
    "wants_any_contiguous",
    "wants_c_contiguous",
    "wants_f_contiguous",
    "wants_format",
    "wants_indirect",
    "wants_shape",
    "wants_strides",
    "wants_writable",
]


class BufferFlags(enum.IntFlag):
    """The PyBUF_* request flags (equal to ``inspect.BufferFlags``)."""

    SIMPLE = 0x0
    WRITABLE = 0x1
    FORMAT = 0x4
    ND = 0x8
    STRIDES = 0x10 | ND
    C_CONTIGUOUS = 0x20 | STRIDES
    F_CONTIGUOUS = 0x40 | STRIDES
    ANY_CONTIGUOUS = 0x80 | STRIDES
    INDIRECT = 0x100 | STRIDES
    CONTIG = ND | WRITABLE
    CONTIG_RO = ND
    STRIDED = STRIDES | WRITABLE
    STRIDED_RO = STRIDES
    RECORDS = STRIDES | WRITABLE | FORMAT
    RECORDS_RO = STRIDES | FORMAT
    FULL = INDIRECT | WRITABLE | FORMAT
    FULL_RO = INDIRECT | FORMAT
    READ = 0x100
    WRITE = 0x200


# The patterns as plain ints: the predicates run on every request, and IntFlag's
# own operators cost microseconds.
_WRITABLE = int(BufferFlags.WRITABLE)
_FORMAT = int(BufferFlags.FORMAT)
_ND = int(BufferFlags.ND)
_STRIDES = int(BufferFlags.STRIDES)
_INDIRECT = int(BufferFlags.INDIRECT)
_C_CONTIGUOUS = int(BufferFlags.C_CONTIGUOUS)
_F_CONTIGUOUS = int(BufferFlags.F_CONTIGUOUS)
_ANY_CONTIGUOUS = int(BufferFlags.ANY_CONTIGUOUS)


def _has_all(flags: int, pattern: int) -> bool:
    return int(flags) & pattern == pattern


def wants_writable(flags: int) -> bool:
    """The consumer needs writable memory."""
    return bool(int(flags) & _WRITABLE)


def wants_format(flags: int) -> bool:
    """The consumer wants ``format`` filled in."""
    return bool(int(flags) & _FORMAT)


def wants_shape(flags: int) -> bool:
    """The consumer wants ``shape`` (``ND`` or anything implying it)."""
    return _has_all(flags, _ND)


def wants_strides(flags: int) -> bool:
    """The consumer wants ``strides`` (``STRIDES`` or anything implying it)."""
    return _has_all(flags, _STRIDES)


def wants_indirect(flags: int) -> bool:
    """The consumer accepts ``suboffsets``."""
    return _has_all(flags, _INDIRECT)


def wants_c_contiguous(flags: int) -> bool:
    """The consumer needs C-contiguous memory."""
    return _has_all(flags, _C_CONTIGUOUS)


def wants_f_contiguous(flags: int) -> bool:
    """The consumer needs Fortran-contiguous memory."""
    return _has_all(flags, _F_CONTIGUOUS)


def wants_any_contiguous(flags: int) -> bool:
    """The consumer needs memory that is C- or Fortran-contiguous."""
    return _has_all(flags, _ANY_CONTIGUOUS)


def refusal(
    flags: int, *, readonly: bool, c_contiguous: bool, f_contiguous: bool, indirect: bool
) -> str | None:
    """The first rule a request breaks for such a buffer, or None if it can be granted.

    The checks and their order are those of a getbuffer that starts from a full
    description (``memory_getbuf`` in ``memoryobject.c``, ``ndarray_getbuf`` in
    ``_testbuffer.c``): ``'writable'``, ``'c_contiguous'``, ``'f_contiguous'``,
    ``'any_contiguous'``, ``'suboffsets'`` (needed but not accepted), ``'strides'``
    (left out, but the memory is not C-contiguous), ``'format'`` (asked for without
    a shape). Each exporter words its ``BufferError`` for the rule itself.
    """
    if wants_writable(flags) and readonly:
        return "writable"
    if wants_c_contiguous(flags) and not c_contiguous:
        return "c_contiguous"
    if wants_f_contiguous(flags) and not f_contiguous:
        return "f_contiguous"
    if wants_any_contiguous(flags) and not (c_contiguous or f_contiguous):
        return "any_contiguous"
    if indirect and not wants_indirect(flags):
        return "suboffsets"
    if not wants_strides(flags) and not c_contiguous:
        return "strides"
    if wants_format(flags) and not wants_shape(flags):
        return "format"
    return None
