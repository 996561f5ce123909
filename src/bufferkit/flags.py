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
- A request is a C ``int``: ``request`` is the one validator every entry point
  uses (the builtin's ``TypeError`` for a non-integer, ``OverflowError`` outside
  a C ``int``), and ``describe`` the one namer every message uses (``FULL_RO``,
  ``STRIDES|WRITABLE``), never an enum repr.
"""

from __future__ import annotations

import operator
from functools import lru_cache

__all__ = [
    "ANY_CONTIGUOUS",
    "CONTIG",
    "CONTIG_RO",
    "C_CONTIGUOUS",
    "FORMAT",
    "FULL",
    "FULL_RO",
    "F_CONTIGUOUS",
    "INDIRECT",
    "INT_MAX",
    "INT_MIN",
    "MODIFIER_SETS",
    "ND",
    "NAMES",
    "READ",
    "RECORDS",
    "RECORDS_RO",
    "SIMPLE",
    "STRIDED",
    "STRIDED_RO",
    "STRIDES",
    "STRUCTURE_REQUESTS",
    "WRITABLE",
    "WRITE",
    "BufferFlags",
    "describe",
    "refusal",
    "remembered_refusal",
    "request",
    "wants_any_contiguous",
    "wants_c_contiguous",
    "wants_f_contiguous",
    "wants_format",
    "wants_indirect",
    "wants_shape",
    "wants_strides",
    "wants_writable",
]

# The PyBUF_* values, as plain ints: the predicates run on every request, and
# IntFlag's own operators cost microseconds. ``BufferFlags``, the same names as an
# ``enum.IntFlag``, is made on first use (importing ``enum`` costs 1.5 ms).
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

NAMES = (
    "SIMPLE",
    "WRITABLE",
    "FORMAT",
    "ND",
    "STRIDES",
    "C_CONTIGUOUS",
    "F_CONTIGUOUS",
    "ANY_CONTIGUOUS",
    "INDIRECT",
    "CONTIG",
    "CONTIG_RO",
    "STRIDED",
    "STRIDED_RO",
    "RECORDS",
    "RECORDS_RO",
    "FULL",
    "FULL_RO",
    "READ",
    "WRITE",
)
"""The names of the flags above, in the C API's order (``BufferFlags``'s members)."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._flag_enum import MODIFIER_SETS, STRUCTURE_REQUESTS, BufferFlags

_MADE_ON_FIRST_USE = frozenset({"BufferFlags", "STRUCTURE_REQUESTS", "MODIFIER_SETS"})


def __getattr__(name: str) -> object:
    if name not in _MADE_ON_FIRST_USE:
        raise AttributeError(f"module 'bufferkit.flags' has no attribute {name!r}")
    from . import _flag_enum

    value: object = getattr(_flag_enum, name)
    globals()[name] = value
    return value


INT_MAX = 2**31 - 1
"""The largest request: flags are a C ``int`` (32 bits on every CPython platform)."""
INT_MIN = -(2**31)
"""The smallest request."""


def request(value: object) -> int:
    """``value`` as request flags, validated as the builtin memoryview validates them.

    ``TypeError`` unless ``value`` is an integer (``__index__``: ``1.0`` and ``'x'``
    are refused, ``True`` is 1); ``OverflowError`` outside a C ``int``. Any int in
    range is a request, even with bits the C API does not define: the exporter
    judges those.
    """
    try:
        flags = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"request flags must be an integer, not {type(value).__name__} ({value!r})"
        ) from None
    if not INT_MIN <= flags <= INT_MAX:
        raise OverflowError(f"request flags {flags} do not fit in a C int ({INT_MIN}..{INT_MAX})")
    return int(flags)


# describe()'s parts: the structure requests, the most specific first, and modifiers
_STRUCTURES = (
    (INDIRECT, "INDIRECT"),
    (ANY_CONTIGUOUS, "ANY_CONTIGUOUS"),
    (F_CONTIGUOUS, "F_CONTIGUOUS"),
    (C_CONTIGUOUS, "C_CONTIGUOUS"),
    (STRIDES, "STRIDES"),
    (ND, "ND"),
)
_MODIFIERS = ((WRITABLE, "WRITABLE"), (FORMAT, "FORMAT"))

_COMPOUND_NAMES = {  # CONTIG_RO and STRIDED_RO are ND and STRIDES themselves
    CONTIG: "CONTIG",
    STRIDED: "STRIDED",
    RECORDS: "RECORDS",
    RECORDS_RO: "RECORDS_RO",
    FULL: "FULL",
    FULL_RO: "FULL_RO",
}
_UINT_MASK = 2**32 - 1


def describe(flags: int) -> str:
    """The name of a request: the C API's compound name if it has one (``FULL_RO``;
    ``ND`` and ``STRIDES`` rather than ``CONTIG_RO`` and ``STRIDED_RO``), else its
    structure request and modifiers (``C_CONTIGUOUS|WRITABLE``, ``SIMPLE``), with
    the bits no request defines as one hex number (``ND|0x200``)."""
    value = int(flags)
    if value in _COMPOUND_NAMES:
        return _COMPOUND_NAMES[value]
    bits = value & _UINT_MASK  # a negative C int names its two's-complement bits
    parts: list[str] = []
    for structure, name in _STRUCTURES:
        if _has_all(bits, structure):
            parts.append(name)
            bits &= ~structure
            break
    for modifier, name in _MODIFIERS:
        if bits & modifier:
            parts.append(name)
            bits &= ~modifier
    if bits:
        parts.append(f"{bits:#x}")
    return "|".join(parts) or "SIMPLE"


def _has_all(flags: int, pattern: int) -> bool:
    return int(flags) & pattern == pattern


def wants_writable(flags: int) -> bool:
    """The consumer needs writable memory."""
    return bool(int(flags) & WRITABLE)


def wants_format(flags: int) -> bool:
    """The consumer wants ``format`` filled in."""
    return bool(int(flags) & FORMAT)


def wants_shape(flags: int) -> bool:
    """The consumer wants ``shape`` (``ND`` or anything implying it)."""
    return _has_all(flags, ND)


def wants_strides(flags: int) -> bool:
    """The consumer wants ``strides`` (``STRIDES`` or anything implying it)."""
    return _has_all(flags, STRIDES)


def wants_indirect(flags: int) -> bool:
    """The consumer accepts ``suboffsets``."""
    return _has_all(flags, INDIRECT)


def wants_c_contiguous(flags: int) -> bool:
    """The consumer needs C-contiguous memory."""
    return _has_all(flags, C_CONTIGUOUS)


def wants_f_contiguous(flags: int) -> bool:
    """The consumer needs Fortran-contiguous memory."""
    return _has_all(flags, F_CONTIGUOUS)


def wants_any_contiguous(flags: int) -> bool:
    """The consumer needs memory that is C- or Fortran-contiguous."""
    return _has_all(flags, ANY_CONTIGUOUS)


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


@lru_cache(maxsize=512)
def remembered_refusal(
    flags: int, readonly: bool, c_contiguous: bool, f_contiguous: bool, indirect: bool
) -> str | None:
    """``refusal``, remembered (a few requests meet a few kinds of layout: every
    getbuffer of bufferkit's exporters asks it)."""
    return refusal(
        flags,
        readonly=readonly,
        c_contiguous=c_contiguous,
        f_contiguous=f_contiguous,
        indirect=indirect,
    )
