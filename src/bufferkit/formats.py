"""The PEP 3118 format grammar: parse once, then unpack and pack many items in C.

Invariants:
- A format costs what its text costs. Parsing is one pass over the text; a
  repeat count or a sub-array shape is a number in one ``Field``, never that many
  fields or struct codes: ``'(1099511627776)i'`` and ``'1000000i'`` parse in
  microseconds. Every count, every element count (a shape's product) and every
  size (a field's bytes, an offset, the itemsize) is at most ``sys.maxsize``
  (``Py_ssize_t``), else ``ValueError`` naming the format, position and number.
  Records ``T{}`` and pointer targets nest at most ``MAX_DEPTH`` deep.
- ``Format(text)`` is immutable and cached per text in a bounded LRU (texts of at
  most ``_CACHED_TEXT`` characters, ``_CACHE_SIZE`` of them); a ``Field`` too.
  Bad text raises ``ValueError`` naming the format and the character position.
- Codes: every struct code (3.14's ``F``/``D`` are ``Zf``/``Zd``), ``Zf``/``Zd``
  complex, ``u``/``w`` text, ``O`` objects (native order only), ``g``/``Zg`` long
  double (read through ctypes' ``c_longdouble`` as ``float``/``complex``: the
  extra precision is lost; native byte order only, as ctypes has it), and
  pointers read as addresses and never followed: ``P`` and ``z`` (``char *``)
  and a bare ``Z`` (ctypes' ``wchar_t *``) in any byte order, ``&target`` and
  ``X{signature}`` (function pointers). ``Nt`` is a field of N bits stored in
  ceil(N/8) whole bytes, read as the unsigned integer of its low N bits.
  ``_capi`` converts ``c_longdouble`` values (it never sees an address here).
- Sizes and alignment: for every format ``struct`` accepts,
  ``Format(f).itemsize == struct.calcsize(f)`` (``@`` aligns each code to its
  native alignment, ``^`` native sizes unaligned, ``= < > !`` standard sizes
  unaligned; no padding after the last top-level code). Pointers and long
  doubles have their native size in every mode. Records ``T{...}`` follow
  NumPy's PEP 3118 reader: in ``@`` mode a record starts aligned to the least
  common multiple of its fields' alignments and is padded at its end to it.
- A prefix may appear anywhere (``'<i>h'``); each applies until the next one,
  across record boundaries and pointer targets, as in NumPy's reader: a record
  ``T{`` starts in the prefix state in force where it opens, and a prefix inside
  it stays in force after its ``}``. Alignment padding before a field, and a
  record's final padding, apply when the state after that field (or at the
  ``}``) is ``@``.
- A repeat count on a string code (``s p u w``) is its length, on ``t`` its
  bits, on ``x`` bytes of padding. On any other code it is struct's reading
  (``'3i'`` unpacks to a 3-tuple) kept in ONE field whose ``repeat`` is the
  count, except when the code has a ``:name:`` or a sub-array shape: then the
  field's shape gains the count as its last dimension (NumPy's ``'3i:a:'``).
  ``'0i'`` makes no field.
- Every field's ``byteorder`` is resolved to ``'<'`` or ``'>'``.
- Equality: two formats are equal when they describe the same bytes, the same
  Python values and the same field names (``'i' == '@1i'``, ``'3i' == 'iii'``,
  and on a little-endian machine ``'<i' == '=i' == 'i'`` and ``'<l' == 'i'``;
  alignment is not part of equality since it does not change any value).
- ``unpack``/``pack`` make a number of Python-level calls that depends on the
  format only, never on the number of items or on a count in the format: the
  per-value work is done by ``struct`` with repeat counts, ``iter_unpack``,
  slicing, and ``map``/``zip``/``chain`` over C callables. They allocate in
  proportion to the data (items x values per item); an item whose Python values
  outnumber its bytes beyond ``_FREE_OBJECTS`` (empty sub-arrays, zero-length
  strings) is refused with ``ValueError`` before anything is made.
- Writes check values as ``struct``/``array`` do, with their exception types: a
  ``u``/``w`` string is a ``str`` that fits (``TypeError`` otherwise, never
  truncated; one character for a single ``u``/``w``), a complex value is a
  number (``TypeError`` for a ``str``), ``g`` values are checked as ``d``'s.
"""

from __future__ import annotations

import _thread
import functools
import marshal
import math
import operator
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, repeat, starmap

from . import _capi
from ._record import Record
from .flags import SIMPLE, WRITABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from array import array
    from typing import Any, Literal

__all__ = ["BUILTIN_TEXTS", "MAX_DEPTH", "NATIVE_ORDER", "OBJECT_SLOT", "Field", "Format"]

NATIVE_ORDER = "<" if sys.byteorder == "little" else ">"
MAX_DEPTH = 64  # records and pointer targets nested deeper are refused
_MAX_SIZE = sys.maxsize  # Py_ssize_t: the largest count, element count or size
_CACHE_SIZE = 2048  # formats kept by Format(text)
_CACHED_TEXT = 256  # longer texts are parsed each time (their Format is as large)
_FREE_OBJECTS = 1 << 16  # Python objects an item may make beyond two per byte

# --- the code tables ----------------------------------------------------------------

_PREFIXES = "@=<>!^"
_STRUCT_CODES = "xcbB?hHiIlLqQnNefdspP"
_CODES = _STRUCT_CODES + "uwOgtz&X"
_POINTERS = frozenset("PzZ&X")  # read as unsigned addresses, native size in every mode
_LENGTHS = frozenset("spuwt")  # the count is a length (bits for 't'), not a repeat
_NATIVE_ONLY = "nN"
_STANDARD_SIZE = {
    **{code: 1 for code in "xcbB?sp"},
    **{code: 2 for code in "hHeu"},
    **{code: 4 for code in "iIlLfw"},
    **{code: 8 for code in "qQd"},
}
_LONG_DOUBLE = _capi.LONG_DOUBLE_SIZE, _capi.LONG_DOUBLE_ALIGNMENT
_INT_CODES = {(1, True): "b", (1, False): "B", (2, True): "h", (2, False): "H"}
_INT_CODES |= {(4, True): "i", (4, False): "I", (8, True): "q", (8, False): "Q"}


def _native_size_and_alignment(code: str) -> tuple[int, int]:
    """What struct's ``@`` mode uses for one code (alignment = the padding after 'c')."""
    if code in _POINTERS or code == "O":
        code = "P"
    if code == "g":
        return _LONG_DOUBLE
    if code in "uw":
        return _STANDARD_SIZE[code], _STANDARD_SIZE[code]
    if code == "t":
        return 1, 1
    size = struct.calcsize(code)
    return size, struct.calcsize("c" + code) - size


_NATIVE = {code: _native_size_and_alignment(code) for code in _CODES + "Z"}


def _builtin_casts_to(code: str) -> bool:
    """True if this interpreter's memoryview reads ``code`` natively (3.15 adds 'Zf', 'Zd')."""
    try:
        memoryview(bytes(32)).cast(code)  # type: ignore[call-overload]
    except (ValueError, TypeError):
        return False
    return True


def _struct_reads_complex() -> bool:
    """True if ``struct`` reads complex numbers ('D', 'F': from 3.14) in every byte order."""
    try:
        doubles = struct.unpack("<D", struct.pack("<2d", 1.5, -2.0))
        floats = struct.unpack(">F", struct.pack(">2f", 0.5, 4.0))
        return doubles + floats == (1.5 - 2j, 0.5 + 4j)
    except struct.error:
        return False


_NATIVE_SINGLE = frozenset(filter(_builtin_casts_to, [*"cbB?hHiIlLqQnNefdP", "Zf", "Zd"]))
BUILTIN_TEXTS = _NATIVE_SINGLE | {"@" + code for code in _NATIVE_SINGLE}
"""The format texts this interpreter's memoryview reads values of."""
# struct codes an array reads with the same item size (then swaps: the other byte order);
# an array's items are the native C types, as struct's native codes
_SWAPPED_ARRAYS = frozenset(
    code for code in "hHiIqQfd" if struct.calcsize(code) == struct.calcsize("<" + code)
)


def _swapped(block: Any, code: str) -> array[Any]:
    """The items of ``block`` (``code``, an array type code) with their bytes reversed."""
    from array import array  # (on first use: loading the extension costs 2 ms at import)

    items = array(code)
    items.frombytes(block)
    items.byteswap()
    return items


_STRUCT_COMPLEX = _struct_reads_complex()


# --- fields ----------------------------------------------------------------------


class Field(Record):
    """One field of an item: its name, byte offset, code, sub-array shape and size.

    ``code`` is a struct code (``'i'``, ``'d'``, ``'s'``, ...), ``'Zf'``/``'Zd'``/
    ``'Zg'`` for complex (``'F'``/``'D'`` are written ``'Zf'``/``'Zd'``), ``'g'``,
    ``'t'`` bits, a pointer ``'P'``/``'z'``/``'Z'``/``'&'``/``'X'``, or ``'T'`` for
    a nested record (then ``record`` is its ``Format``). ``shape`` is the sub-array
    shape (``()`` for a scalar); ``count`` the length of an ``s``/``p``/``u``/``w``
    string or the bits of ``t`` (1 otherwise); ``size`` the bytes of one element;
    ``byteorder`` is ``'<'`` or ``'>'`` (resolved, never native); ``repeat`` how
    many consecutive elements the field stands for, each a separate value of the
    item (struct's ``'3i'``); ``target`` the text after ``&`` (what a pointer
    points to) or inside ``X{}``.
    """

    __slots__ = (  # noqa: RUF023 (the fields, in order)
        "name",
        "offset",
        "code",
        "shape",
        "count",
        "size",
        "byteorder",
        "record",
        "repeat",
        "target",
    )
    name: str | None
    offset: int
    code: str
    shape: tuple[int, ...]
    count: int
    size: int
    byteorder: str
    record: Format | None
    repeat: int
    target: str | None

    def __init__(
        self,
        name: str | None,
        offset: int,
        code: str,
        shape: tuple[int, ...],
        count: int,
        size: int,
        byteorder: str,
        record: Format | None = None,
        repeat: int = 1,
        target: str | None = None,
    ) -> None:
        self._fill(name, offset, code, shape, count, size, byteorder, record, repeat, target)

    @property
    def elements(self) -> int:
        """Elements of the field: its repeat count times its shape's product."""
        return self.repeat * math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the whole field (all its elements)."""
        return self.size * self.elements


# --- elements: the bytes of many elements <-> their values --------------------------
#
# An element reads ``count`` consecutive elements from a block of exactly
# ``count * size`` bytes with a constant number of C calls, and writes them back.


def _chunks(block: Any, size: int, count: int) -> Iterable[bytes]:
    """``count`` consecutive ``size``-byte pieces of ``block`` (as bytes)."""
    if size == 0:
        return repeat(b"", count)
    data = block if isinstance(block, bytes) else bytes(block)
    end = size * count
    return map(data.__getitem__, map(slice, range(0, end, size), range(size, end + 1, size)))


def _first_bad(values: Sequence[Any], good: Callable[[Any], bool]) -> Any:
    """The first value that is not ``good`` (the error path's culprit)."""
    return next(value for value in values if not good(value))


class _Element:
    """How the values of one kind of element are read and written."""

    size: int
    key: tuple[object, ...]  # what the element means, for equality
    ordered = True  # False when its bytes read the same in both byte orders
    writable = True
    direct: str | None = None  # the struct code whose values are already the values
    builtin: str | None = None  # the builtin memoryview's code for the same bytes and values

    def read(self, block: Any, count: int) -> Sequence[Any]:
        raise NotImplementedError

    def write(self, values: Sequence[Any]) -> bytes:
        raise NotImplementedError


class _Number(_Element):
    """A value ``struct`` reads with a standard-size code (numbers, bytes, addresses)."""

    def __init__(self, code: str, size: int, order: str) -> None:
        self.code, self.size, self.order = code, size, order
        self.key = ("number", code)
        self.ordered = size > 1
        self.direct = code
        native = code in _NATIVE_SINGLE and struct.calcsize(code) == size
        self.builtin = code if native else None

    def read(self, block: Any, count: int) -> Sequence[Any]:
        """In C, into a list where it can: the builtin memoryview in native order, an
        array swapped in place in the other, else struct."""
        if self.builtin is not None and (self.order == NATIVE_ORDER or not self.ordered):
            values: list[Any] = _byte_view(block).cast(self.builtin).tolist()  # type: ignore[call-overload]
            return values
        if self.order != NATIVE_ORDER and self.code in _SWAPPED_ARRAYS:
            return _swapped(block, self.code).tolist()
        return struct.unpack(f"{self.order}{count}{self.code}", block)

    def write(self, values: Sequence[Any]) -> bytes:
        return struct.pack(f"{self.order}{len(values)}{self.code}", *values)


class _ObjectSlot:
    """Where an object pointer's object goes: pointers are never read from copied bytes
    (the object may be freed meanwhile); ``engine`` reads each one in place and
    ``Format.fill_objects`` puts it here."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<object read in place>"


OBJECT_SLOT = _ObjectSlot()


class _Objects(_Number):
    """``O``: the objects behind native pointers (read only, and only in place)."""

    writable = False

    def __init__(self, size: int) -> None:
        super().__init__(_INT_CODES[size, False], size, NATIVE_ORDER)
        self.key, self.direct, self.builtin = ("object",), None, None

    def read(self, block: Any, count: int) -> Sequence[Any]:
        return [OBJECT_SLOT] * count

    def write(self, values: Sequence[Any]) -> bytes:
        raise TypeError("object pointers 'O' cannot be packed")


class _String(_Element):
    """``s``/``p``: ``length`` bytes, one value."""

    ordered = False

    def __init__(self, code: str, length: int) -> None:
        self.size = length
        self.key = ("string", code, length)
        letter = "s" if length == 0 else code  # struct fails on '0p'
        self.direct = f"{length}{letter}"
        self.packer = struct.Struct(self.direct)

    def read(self, block: Any, count: int) -> Sequence[Any]:
        if self.size == 0:
            return [b""] * count
        return list(map(operator.itemgetter(0), self.packer.iter_unpack(block)))

    def write(self, values: Sequence[Any]) -> bytes:
        return b"".join(map(self.packer.pack, values))


class _Text(_Element):
    """``u``/``w``: a ``str`` of ``length`` UTF-16/UTF-32 code units."""

    def __init__(self, code: str, length: int, order: str) -> None:
        unit = 2 if code == "u" else 4
        self.code, self.length, self.size = code, length, unit * length
        self.codec = f"utf-{8 * unit}-{'le' if order == '<' else 'be'}"
        self.key = ("text", unit, length)

    def read(self, block: Any, count: int) -> Sequence[Any]:
        chunks = _chunks(block, self.size, count)
        return list(map(bytes.decode, chunks, repeat(self.codec), repeat("surrogatepass")))

    def write(self, values: Sequence[Any]) -> bytes:
        if not all(map(isinstance, values, repeat(str))):
            bad = _first_bad(values, lambda value: isinstance(value, str))
            raise TypeError(f"'{self.code}' item must be a str, not {type(bad).__name__}")
        encoded = list(map(str.encode, values, repeat(self.codec), repeat("surrogatepass")))
        lengths = set(map(len, encoded))
        if (self.length == 1 and lengths != {self.size}) or max(lengths) > self.size:
            bad = values[next(i for i, e in enumerate(encoded) if not self._fits(len(e)))]
            raise TypeError(f"'{self.code}' item must be {self._wanted()}, not {bad!r}")
        return b"".join(map(bytes.ljust, encoded, repeat(self.size), repeat(b"\0")))

    def _fits(self, nbytes: int) -> bool:
        return nbytes == self.size if self.length == 1 else nbytes <= self.size

    def _wanted(self) -> str:
        if self.length == 1:
            return "one character"
        return f"a str of at most {self.length} characters"


class _Bits(_Element):
    """``Nt``: N bits in ceil(N/8) bytes, the unsigned integer of their low N bits."""

    def __init__(self, bits: int, size: int, order: str) -> None:
        self.bits, self.size = bits, size
        self.word: Literal["little", "big"] = "little" if order == "<" else "big"
        self.key = ("bits", bits)
        self.ordered = size > 1
        if 8 * size == bits and (size, False) in _INT_CODES:
            self.direct = _INT_CODES[size, False]
            self.order = order

    def read(self, block: Any, count: int) -> Sequence[Any]:
        if self.direct is not None:
            return struct.unpack(f"{self.order}{count}{self.direct}", block)
        numbers = map(int.from_bytes, _chunks(block, self.size, count), repeat(self.word))
        if 8 * self.size == self.bits:
            return list(numbers)
        return list(map(operator.and_, numbers, repeat((1 << self.bits) - 1)))

    def write(self, values: Sequence[Any]) -> bytes:
        try:
            numbers = list(map(operator.index, values))
        except TypeError:
            raise struct.error("required argument is not an integer") from None
        if numbers and (min(numbers) < 0 or max(numbers) >> self.bits):
            bad = _first_bad(numbers, lambda n: n >= 0 and not n >> self.bits)
            raise struct.error(
                f"{self.bits}-bit field requires 0 <= number < 2**{self.bits}, not {bad}"
            )
        return b"".join(map(int.to_bytes, numbers, repeat(self.size), repeat(self.word)))


def _complex_values(values: Sequence[Any]) -> list[complex]:
    """The values as complex numbers; a ``str`` is refused (``complex()`` would parse it)."""
    if any(map(isinstance, values, repeat(str))):
        bad = _first_bad(values, lambda value: not isinstance(value, str))
        raise TypeError(f"a complex item must be a number, not {bad!r}")
    return list(map(complex, values))


class _Complex(_Element):
    """``Zf``/``Zd``: a complex number stored as two floats (real, imaginary)."""

    def __init__(self, code: str, order: str) -> None:
        self.code, self.order = code, order
        self.size = 2 * struct.calcsize(code)
        self.key = ("complex", code)
        self.builtin = "Z" + code if "Z" + code in _NATIVE_SINGLE else None

    def read(self, block: Any, count: int) -> Sequence[Any]:
        """In C: the builtin memoryview (3.15), struct (3.14), else marshal. The other
        byte order is swapped first (array's byteswap beats struct's swapping reads)."""
        if count == 0:
            return []
        view = _byte_view(block)
        if self.order != NATIVE_ORDER:
            view = memoryview(_swapped(view, self.code)).cast("B")
        if self.builtin is not None:
            values: list[complex] = view.cast(self.builtin).tolist()  # type: ignore[call-overload]
            return values
        if _STRUCT_COMPLEX:
            return struct.unpack(f"={count}{self.code.upper()}", view)
        if count < 2**31:
            return _complex_items(view, count, self.code)
        floats = struct.unpack(f"={2 * count}{self.code}", view)
        return list(map(complex, floats[0::2], floats[1::2]))

    def write(self, values: Sequence[Any]) -> bytes:
        numbers = _complex_values(values)
        if (self.code, self.order) == ("d", "<") and NATIVE_ORDER == "<" and len(numbers) < 2**31:
            return _pack_complex(numbers)
        parts = chain.from_iterable(map(operator.attrgetter("real", "imag"), numbers))
        return struct.pack(f"{self.order}{2 * len(numbers)}{self.code}", *parts)


class _LongDouble(_Element):
    """``g``/``Zg``: long doubles through ctypes' ``c_longdouble``, read as Python floats
    (precision beyond a double is lost); values are checked as ``'d'`` checks them."""

    def __init__(self, pairs: bool) -> None:
        self.parts = 2 if pairs else 1
        self.size = self.parts * _LONG_DOUBLE[0]
        self.key = ("long double", self.parts)

    def read(self, block: Any, count: int) -> Sequence[Any]:
        floats = _capi.long_doubles_from(bytes(block))
        if self.parts == 1:
            return floats
        return list(map(complex, floats[0::2], floats[1::2]))

    def write(self, values: Sequence[Any]) -> bytes:
        if self.parts == 2:
            numbers = _complex_values(values)
            values = list(chain.from_iterable(map(operator.attrgetter("real", "imag"), numbers)))
        try:
            packed = struct.pack(f"{len(values)}d", *values)
        except struct.error:
            _check_as_doubles(values)  # the builtin's TypeError for a value of a wrong type
            raise
        return _capi.long_doubles_to(struct.unpack(f"{len(values)}d", packed))


def _check_as_doubles(values: Sequence[Any]) -> None:
    """Store each value as the builtin memoryview stores a ``'d'`` (error path only):
    ``TypeError`` for a non-number, ``ValueError`` for one too large."""
    checker: Any = memoryview(bytearray(8)).cast("d")
    for value in values:
        try:
            checker[0] = value
        except TypeError:
            raise TypeError(f"must be a real number, not {type(value).__name__}") from None
        except ValueError:  # (values go through a double: precision and range)
            raise ValueError("out of the range of a double") from None


class _Record(_Element):
    """``T{...}``: a tuple of the record's fields."""

    ordered = False

    def __init__(self, record: Format) -> None:
        self.record = record
        self.size = record.itemsize
        self.key = ("record", record._key)
        self.writable = record.writable

    def read(self, block: Any, count: int) -> Sequence[Any]:
        return self.record.unpack(block, count)

    def write(self, values: Sequence[Any]) -> bytes:
        return self.record.pack(values)


def _element_of(field: Field) -> _Element:
    code, order = field.code, field.byteorder
    if field.record is not None:
        return _Record(field.record)
    if code in ("Zf", "Zd"):
        return _Complex(code[1], order)
    if code in ("g", "Zg"):
        return _LongDouble(pairs=code == "Zg")
    if code in ("s", "p"):
        return _String(code, field.count)
    if code in ("u", "w"):
        return _Text(code, field.count, order)
    if code == "t":
        return _Bits(field.count, field.size, order)
    if code == "O":
        return _Objects(field.size)
    if code in "lLnN" or code in _POINTERS:
        return _Number(_INT_CODES[field.size, code in "ln"], field.size, order)
    return _Number(code, field.size, order)


# --- values of many items: nesting and grouping ------------------------------------


def _split(values: Sequence[Any], width: int, count: int) -> list[Any]:
    """``count`` consecutive slices of ``width`` values (lists of a list, tuples of a tuple)."""
    if width == 0:
        return [()] * count if isinstance(values, tuple) else list(map(list, repeat((), count)))
    end = width * count
    return list(
        map(values.__getitem__, map(slice, range(0, end, width), range(width, end + 1, width)))
    )


def _nest(values: Sequence[Any], shape: tuple[int, ...], count: int) -> list[Any]:
    """``count`` sub-arrays of ``shape`` (nested lists) from their elements in C order."""
    if 0 in shape:
        return [_empty_nest(shape) for _ in range(count)]
    nested = values if isinstance(values, list) else list(values)
    groups = count * math.prod(shape)
    for dim in reversed(shape):
        groups //= dim
        nested = _split(nested, dim, groups)
    return nested


def _empty_nest(shape: tuple[int, ...]) -> list[Any]:
    """The nested lists of a sub-array with a zero in its shape."""
    if shape[0] == 0:
        return []
    return [_empty_nest(shape[1:]) for _ in range(shape[0])]


def _flatten(column: Sequence[Any], shape: tuple[int, ...], what: str) -> list[Any]:
    """The elements in C order of a column of nested sequences of ``shape``."""
    values = column if isinstance(column, list) else list(column)
    for dim in shape:
        _check_sequences(values, dim, what)
        values = list(chain.from_iterable(values))
    return values


def _check_sequences(values: Sequence[Any], width: int, what: str) -> None:
    """Each value is a list or tuple of ``width`` values (TypeError / struct.error)."""
    if not all(map(isinstance, values, repeat((list, tuple)))):
        bad = _first_bad(values, lambda value: isinstance(value, (list, tuple)))
        raise TypeError(f"{what} needs a sequence of {width} values, got {bad!r}")
    if any(map(width.__ne__, map(len, values))):
        bad = _first_bad(values, lambda value: len(value) == width)
        raise struct.error(f"{what} needs {width} values, got {bad!r}")


def _objects_made(field: Field, element: _Element) -> int:
    """The Python objects one item makes for ``field``: its nesting lists and values."""
    lists, outer = 0, 1
    for dim in field.shape:
        lists += outer
        outer *= dim
    per_element = 1 + (element.record._made if isinstance(element, _Record) else 0)
    return lists + field.elements * per_element


# --- the parser ------------------------------------------------------------------


class _Parsed:
    __slots__ = ("alignment", "fields", "itemsize")

    def __init__(self, fields: list[Field], itemsize: int, alignment: int) -> None:
        self.fields = fields
        self.itemsize = itemsize
        self.alignment = alignment


_DIGIT_CHARS = frozenset("0123456789")
_AFTER_BARE_Z = frozenset(":}" + _PREFIXES)  # ctypes' wchar_t pointer 'Z' ends there


class _Parser:
    """A recursive-descent reader of one format string: each character is read once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.prefix = "@"
        self.depth = 0

    def fail(self, reason: str, pos: int | None = None) -> ValueError:
        where = self.pos if pos is None else pos
        return ValueError(f"bad format {self.text!r} at position {where}: {reason}")

    def refuse(self, what: str, pos: int) -> NotImplementedError:
        return NotImplementedError(f"format {self.text!r} at position {pos}: {what}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def bounded(self, value: int, what: str, pos: int) -> int:
        """``value`` if it fits a ``Py_ssize_t``, else ValueError naming it."""
        if value > _MAX_SIZE:
            raise self.fail(f"{what} {value} is larger than Py_ssize_t allows ({_MAX_SIZE})", pos)
        return value

    def digits(self) -> int | None:
        start = end = self.pos
        text, length = self.text, len(self.text)
        while end < length and text[end] in _DIGIT_CHARS:
            end += 1
        self.pos = end
        if self.pos == start:
            return None
        written = self.text[start : self.pos].lstrip("0") or "0"
        if len(written) > len(str(_MAX_SIZE)):  # int() of it would cost its square
            digits = f"{written[:20]}... ({len(written)} digits)"
            raise self.fail(f"count {digits} is larger than Py_ssize_t allows ({_MAX_SIZE})", start)
        return self.bounded(int(written), "count", start)

    def spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def prefixes(self) -> None:
        while self.peek() and self.peek() in _PREFIXES:
            self.prefix = self.text[self.pos]
            self.pos += 1

    def shape(self) -> tuple[int, ...]:
        start = self.pos
        self.pos += 1  # '('
        dims, elements = [], 1
        while True:
            self.spaces()
            dim = self.digits()
            if dim is None:
                raise self.fail("sub-array shape needs a number", self.pos)
            dims.append(dim)
            elements = self.bounded(elements * dim, "sub-array element count", start)
            self.spaces()
            char = self.peek()
            self.pos += 1
            if char == ")":
                return tuple(dims)
            if char != ",":
                raise self.fail(f"unterminated sub-array shape opened at {start}", self.pos - 1)

    def name(self) -> str | None:
        if self.peek() != ":":
            return None
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            raise self.fail("unterminated field name")
        name = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return name

    def code(self) -> str:
        """One code: a letter, ``Zf``/``Zd``/``Zg`` (``F``/``D`` give ``Zf``/``Zd``), a
        bare ``Z``, ``T`` and its ``{``, ``X`` and its ``{``."""
        char = self.peek()
        following = self.text[self.pos + 1 : self.pos + 2]
        if char == "Z":
            if following in ("f", "d", "g"):
                self.pos += 2
                return "Z" + following
            if following and following not in _AFTER_BARE_Z and not following.isspace():
                raise self.fail(f"'Z' must be followed by 'f', 'd' or 'g', not {following!r}")
            self.pos += 1
            return "Z"
        if char in ("F", "D"):
            self.pos += 1
            return "Z" + char.lower()
        if char in ("T", "X"):
            if following != "{":
                raise self.fail(f"{char!r} must be followed by '{{'")
            self.pos += 2
            return char
        if not char:
            raise self.fail("a code is missing at the end")
        if char not in _CODES:
            raise self.fail(f"unknown code {char!r}")
        self.pos += 1
        return char

    def parse(self, closing: bool) -> _Parsed:
        """Read fields until the end (or ``}`` when ``closing``)."""
        fields: list[Field] = []
        offset, alignment = 0, 1
        opened = self.pos - 2
        while True:
            char = self.peek()
            if char == "":
                if closing:
                    raise self.fail(f"'T{{' opened at position {opened} is never closed")
                return _Parsed(fields, offset, alignment)
            if char == "}":
                if not closing:
                    raise self.fail("'}' without 'T{'")
                self.pos += 1
                if self.prefix == "@":
                    offset = self.bounded(offset + (-offset) % alignment, "record size", opened)
                return _Parsed(fields, offset, alignment)
            if char.isspace():
                self.pos += 1
                continue
            if char in _PREFIXES:
                self.prefixes()
                continue
            offset, element_alignment, field = self.element(offset)
            if self.prefix == "@":
                alignment = math.lcm(alignment, element_alignment)
            if field is not None:
                fields.append(field)

    def nested(self, opened: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep", opened)

    def element(self, offset: int, named: bool = True) -> tuple[int, int, Field | None]:
        """Place one element (shape, count, code, name) at ``offset``; the field it makes."""
        start = self.pos
        shape = self.shape() if self.peek() == "(" else ()
        self.prefixes()
        prefix = self.prefix
        count = self.digits()
        code_start = self.pos
        code = self.code()
        order = NATIVE_ORDER if prefix in "@=^" else ("<" if prefix == "<" else ">")
        record, target = self.referent(code, code_start, prefix)
        if record is not None:
            size, align = record.itemsize, record.alignment
        else:
            size, align = self.size_of(code, prefix, start)
        self.native_order_only(code, order, start)
        name = self.name() if named else None
        number = 1 if count is None else count
        if self.prefix == "@":  # after a record: the state its '}' left (NumPy's rule)
            offset = self.bounded(offset + (-offset) % align, "offset", start)
        if code == "x":
            return self.after(offset, size * number * math.prod(shape), start), align, None
        if code in _LENGTHS:
            size = -(-number // 8) if code == "t" else size * number
            field = Field(
                name, offset, code, shape, number, self.bounded(size, "size", start), order
            )
            return self.after(offset, field.nbytes, start), align, field
        if (name is not None or shape) and number != 1:
            shape, number = (*shape, number), 1
            self.bounded(math.prod(shape), "sub-array element count", start)
        if number == 0:
            return offset, align, None
        field = Field(name, offset, code, shape, 1, size, order, record, number, target)
        return self.after(offset, field.nbytes, start), align, field

    def after(self, offset: int, nbytes: int, start: int) -> int:
        """The offset after a field of ``nbytes`` bytes at ``offset``, both bounded."""
        self.bounded(nbytes, "field size", start)
        return self.bounded(offset + nbytes, "item size", start)

    def referent(self, code: str, code_start: int, prefix: str) -> tuple[Format | None, str | None]:
        """A record's parsed fields (``T{...}``), or the text a pointer refers to."""
        if code == "T":
            self.nested(code_start)
            parsed = self.parse(closing=True)
            self.depth -= 1
            text = self.text[code_start : self.pos]
            return Format._record(parsed, text, prefix), None
        if code == "&":
            self.nested(code_start)
            start = self.pos
            self.element(0, named=False)  # validated and sized, then only its text is kept
            self.depth -= 1
            return None, self.text[start : self.pos]
        if code == "X":
            return None, self.signature()
        return None, None

    def signature(self) -> str:
        """The text inside ``X{...}`` up to its matching ``}`` (never interpreted)."""
        start, depth = self.pos, 1
        while depth:
            char = self.peek()
            if not char:
                raise self.fail(f"'X{{' opened at position {start - 2} is never closed")
            depth += {"{": 1, "}": -1}.get(char, 0)
            self.pos += 1
        return self.text[start : self.pos - 1]

    def native_order_only(self, code: str, order: str, start: int) -> None:
        if code == "O" and order != NATIVE_ORDER:
            raise self.fail(
                f"object pointers 'O' must be in native byte order, not {self.prefix!r}", start
            )
        if code in ("g", "Zg") and order != NATIVE_ORDER:
            raise self.refuse("long double in non-native byte order is not supported", start)

    def size_of(self, code: str, prefix: str, start: int) -> tuple[int, int]:
        letter = code[-1] if code != "Z" else "Z"
        if prefix in "@^" or code in _POINTERS or code in ("g", "Zg"):
            size, align = _NATIVE[letter]
            return (2 * size if code[0] == "Z" and code != "Z" else size), (
                align if prefix == "@" else 1
            )
        if code in _NATIVE_ONLY:
            raise self.fail(f"code {code!r} needs native size ('@' or '^'), not {prefix!r}", start)
        if code == "O":
            return _capi.POINTER_SIZE, 1
        size = _STANDARD_SIZE.get(letter, 1)
        return (2 * size if code[0] == "Z" else size), 1


# --- Format --------------------------------------------------------------------


def _canonical(fields: Sequence[Field], elements: Sequence[_Element]) -> tuple[object, ...]:
    """What the fields mean: equal for fields giving the same bytes and values.

    Adjacent unnamed scalar fields of one kind are one run (``'iii'`` is ``'3i'``).
    """
    runs: list[tuple[object, ...]] = []
    end = -1
    for field, element in zip(fields, elements, strict=True):
        order = field.byteorder if element.ordered else "|"
        what = (element.key, order)
        plain = field.name is None and not field.shape
        if plain and runs and runs[-1][0] is None and runs[-1][2] == what and end == field.offset:
            name, offset, _, shape, before = runs[-1]
            runs[-1] = (name, offset, what, shape, before + field.repeat)  # type: ignore[operator]
        else:
            runs.append((field.name, field.offset, what, field.shape, field.repeat))
        end = field.offset + field.nbytes
    return tuple(runs)


class Format:
    """A parsed PEP 3118 format. ``Format(text)`` is cached and raises
    ``ValueError`` (malformed or a size beyond ``Py_ssize_t``, naming the format and
    position) or ``NotImplementedError`` (``g`` in non-native byte order).

    - ``text``: the format as given; ``itemsize``, ``alignment`` (1 unless ``@``
      aligned something); ``fields``: the top-level fields (padding is not one;
      ``'3i'`` is one field of ``repeat`` 3); ``byteorder``: ``'<'``/``'>'``
      shared by all fields, else ``None``;
    - ``nvalues``: the leaf Python values of one item (a complex number or a
      string is one value; a sub-array ``(2,3)i`` is six, ``3i`` three);
    - ``native``: the struct code if the builtin memoryview takes the text as is;
      ``native_equivalent``: a native code with the same bytes and values;
    - ``writable``: False when the format holds object pointers (``O``).

    Items: one scalar field gives the scalar, several values a tuple (struct's
    ``'3i'`` too), a record ``T{}`` a tuple of its values, a sub-array nested
    lists, ``Zf``/``Zd``/``Zg`` complex, ``g`` float, ``u``/``w`` str (trailing
    NULs kept), ``c``/``s``/``p`` bytes, ``O`` the object, pointers and bits int;
    an item without values is ``()``.
    """

    __slots__ = (
        "__weakref__",
        "_blocks",
        "_elements",
        "_hash",
        "_key",
        "_made",
        "_record_of",
        "_rows",
        "_scalar",
        "_whole",
        "_width",
        "alignment",
        "byteorder",
        "fields",
        "itemsize",
        "native",
        "native_equivalent",
        "nvalues",
        "text",
        "writable",
    )

    text: str
    itemsize: int
    alignment: int
    fields: tuple[Field, ...]
    native: str | None
    native_equivalent: str | None
    nvalues: int
    writable: bool
    byteorder: str | None
    _record_of: bool  # a record's format: items are tuples, even of one value
    _elements: tuple[_Element, ...]  # how each field's elements are read and written
    _width: int  # values of an item at the top level (a repeated field gives several)
    _whole: int | None  # the field that is all of the item's bytes, if one is
    _rows: struct.Struct | None  # reads an item's values in one go, when struct can
    _blocks: struct.Struct | None  # cuts an item into the bytes of each field
    _scalar: str | None
    _made: int  # Python objects one item makes
    _key: tuple[object, ...]
    _hash: int

    def __new__(cls, fmt: str | bytes) -> Format:
        text = fmt.decode("latin-1") if isinstance(fmt, (bytes, bytearray)) else fmt
        if not isinstance(text, str):
            raise TypeError(f"format must be str or bytes, not {type(fmt).__name__}")
        if len(text) > _CACHED_TEXT:
            return _parse(text)
        return _cached_parse(text)

    @classmethod
    def _record(cls, parsed: _Parsed, text: str, prefix: str) -> Format:
        """The format of a nested record (its items are tuples, even of one field)."""
        return cls._build(text if prefix == "@" else prefix + text, parsed, record=True)

    @classmethod
    def _build(cls, text: str, parsed: _Parsed, record: bool) -> Format:
        self = object.__new__(cls)
        fields = tuple(parsed.fields)
        elements = tuple(map(_element_of, fields))
        key = (record, parsed.itemsize, _canonical(fields, elements))
        orders = {field.byteorder for field in fields}
        attributes: dict[str, object] = {
            "text": text,
            "itemsize": parsed.itemsize,
            "alignment": parsed.alignment,
            "fields": fields,
            "byteorder": orders.pop() if len(orders) == 1 else None,
            "nvalues": sum(map(_values_in, fields, elements)),
            "writable": all(element.writable for element in elements),
            "native": _native_code(text),
            "_record_of": record,
            "_elements": elements,
            "_width": sum(field.repeat for field in fields),
            "_whole": _whole_field(fields, parsed.itemsize),
            "_made": sum(map(_objects_made, fields, elements)),
            "_key": key,
            "_hash": hash(key),
        }
        for name, value in attributes.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_rows", _rows_struct(self))
        object.__setattr__(self, "_blocks", _blocks_struct(self))
        object.__setattr__(self, "native_equivalent", _native_equivalent(self))
        object.__setattr__(self, "_scalar", _scalar_code(self))
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Format is immutable (cannot set {name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Format):
            return NotImplemented
        return self is other or self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Format({self.text!r}, itemsize={self.itemsize})"

    def __reduce__(self) -> tuple[type[Format], tuple[str]]:
        return (Format, (self.text,))

    # --- unpacking ---

    def unpack(self, data: Any, count: int | None = None) -> list[Any]:
        """``count`` items (default: all whole items) from the start of ``data``."""
        view = _byte_view(data)
        if count is None:
            count = len(view) // self.itemsize if self.itemsize else 0
        needed = count * self.itemsize
        if count < 0 or needed > len(view):
            raise struct.error(
                f"unpack of {count} items of format {self.text!r} requires a buffer of "
                f"{needed} bytes, got {len(view)}"
            )
        if count == 0:
            return []
        if self._made > _FREE_OBJECTS + 2 * self.itemsize + len(self.text):
            raise ValueError(
                f"format {self.text!r}: an item of {self.itemsize} bytes would make "
                f"{self._made} Python objects"
            )
        view = view[:needed]
        if self.native_equivalent is not None:
            values: list[Any] = view.cast(self.native_equivalent).tolist()  # type: ignore[call-overload]
            return values
        if self._rows is not None:
            rows = self._rows.iter_unpack(view)
            if self._width == 1 and not self._record_of:
                return list(map(operator.itemgetter(0), rows))
            return list(rows)
        columns = list(
            map(
                self._read_field,
                self.fields,
                self._elements,
                self._blocks_of(view, count),
                repeat(count),
            )
        )
        return self._items(columns, count)

    def unpack_one(self, data: Any) -> Any:
        """The single item at the start of ``data``."""
        return self.unpack(data, 1)[0]

    def object_offsets(self) -> list[int]:
        """The byte offsets, within one item, of its object pointers (``O``), in the order
        its values hold them (``unpack`` leaves ``OBJECT_SLOT`` there)."""
        offsets: list[int] = []
        for field, element in zip(self.fields, self._elements, strict=True):
            starts = range(field.offset, field.offset + field.nbytes, max(field.size, 1))
            if isinstance(element, _Objects):
                offsets.extend(starts)
            elif isinstance(element, _Record) and not element.record.writable:
                inner = element.record.object_offsets()
                offsets.extend(start + offset for start in starts for offset in inner)
        return offsets

    @staticmethod
    def fill_objects(items: list[Any], objects: Iterator[Any]) -> list[Any]:
        """``items`` with each ``OBJECT_SLOT`` replaced by the next of ``objects``."""

        def fill(value: Any) -> Any:
            if value is OBJECT_SLOT:
                return next(objects)
            if type(value) is tuple:
                return tuple(map(fill, value))
            if type(value) is list:
                return list(map(fill, value))
            return value

        return list(map(fill, items))

    def _blocks_of(self, view: memoryview, count: int) -> list[Any]:
        """The bytes of each field, the field's bytes of every item one after another."""
        rows: list[tuple[bytes, ...]] | None = None
        blocks: list[Any] = []
        for index, field in enumerate(self.fields):
            if field.nbytes == 0:
                blocks.append(b"")
            elif index == self._whole:
                blocks.append(view)
            else:
                if rows is None:
                    assert self._blocks is not None  # the item has bytes beyond this field's
                    rows = list(self._blocks.iter_unpack(view))
                blocks.append(b"".join(map(operator.itemgetter(index), rows)))
        return blocks

    @staticmethod
    def _read_field(field: Field, element: _Element, block: Any, count: int) -> Sequence[Any]:
        """The field's value in each item (a tuple of ``repeat`` values if it repeats)."""
        values = element.read(block, count * field.elements)
        if field.shape:
            return _nest(values, field.shape, count)
        if field.repeat == 1:
            return values
        return _split(tuple(values), field.repeat, count)

    def _items(self, columns: list[Sequence[Any]], count: int) -> list[Any]:
        """The items from each field's column of values."""
        if self._width == 1 and not self._record_of:
            values = columns[0]  # (a list a reader made for this call is not copied)
            return values if type(values) is list else list(values)
        if not columns:
            return [()] * count
        if self._width == len(columns):
            return list(zip(*columns, strict=True))
        pieces = [zip(c) if f.repeat == 1 else c for f, c in zip(self.fields, columns, strict=True)]
        return list(map(tuple, map(chain, *pieces)))

    # --- packing ---

    def pack_one(self, value: Any) -> bytes:
        """The bytes of one item.

        A single scalar of a code the builtin memoryview knows (in any byte order
        or size mode) is checked by the builtin itself: same refusals, same
        exception types (``TypeError`` for a wrong type, ``ValueError`` out of range).
        """
        if self._scalar is None:
            return self.pack([value])
        slot = bytearray(self.itemsize)
        checker: Any = memoryview(slot).cast(self._scalar)  # type: ignore[call-overload]
        try:
            checker[0] = value
        except (TypeError, ValueError) as error:
            raise type(error)(f"cannot pack {value!r} as format {self.text!r}: {error}") from None
        swapped = self.itemsize > 1 and self.byteorder != NATIVE_ORDER
        return bytes(slot[::-1] if swapped else slot)

    def pack(self, items: Sequence[Any]) -> bytes:
        """The bytes of ``items`` (struct.error / TypeError name the bad item)."""
        if not self.writable:
            raise TypeError(f"format {self.text!r} holds object pointers: it cannot be packed")
        items = items if isinstance(items, (list, tuple)) else list(items)
        count = len(items)
        if count == 0:
            return b""
        if not self.fields:
            return bytes(self.itemsize * count)
        try:
            return self._pack_all(items, count)
        except (struct.error, TypeError, ValueError, OverflowError) as error:
            raise self._naming_bad_item(items, error) from error

    def _pack_all(self, items: Sequence[Any], count: int) -> bytes:
        single = self._width == 1 and not self._record_of
        if not single:
            _check_sequences(items, self._width, "record" if self._record_of else "item")
        if self._rows is not None:
            if single:
                return b"".join(map(self._rows.pack, items))
            return b"".join(starmap(self._rows.pack, items))
        blocks = []
        position = 0
        for field, element in zip(self.fields, self._elements, strict=True):
            column = items if single else _column(items, position, field.repeat)
            values = _flatten(column, field.shape, "sub-array") if field.shape else column
            blocks.append(element.write(values))
            position += field.repeat
        if self._whole is not None:
            return blocks[self._whole]
        if self._blocks is None:  # items without bytes: the values were checked
            return b""
        chunks = [_chunks(b, f.nbytes, count) for f, b in zip(self.fields, blocks, strict=True)]
        return b"".join(map(self._blocks.pack, *chunks))

    def _naming_bad_item(self, items: Sequence[Any], error: Exception) -> Exception:
        """The same kind of error, saying which item could not be packed."""
        if len(items) > 1:
            for index, item in enumerate(items):  # error path only: find the culprit
                try:
                    self._pack_all([item], 1)
                except Exception as inner:
                    reason = self._reason(item, inner)
                    return type(inner)(f"item {index} ({item!r}) of format {self.text!r}: {reason}")
        kind = type(error) if isinstance(error, (struct.error, TypeError)) else struct.error
        return kind(
            f"cannot pack {items[0]!r} as format {self.text!r}: {self._reason(items[0], error)}"
        )

    def _reason(self, item: Any, error: Exception) -> str:
        """The words of ``error`` without the name a record of this same text gave the
        item (``'T{B:a:}'`` is one field, a record whose text is the whole format's)."""
        return str(error).removeprefix(f"cannot pack {item!r} as format {self.text!r}: ")


def _parse(text: str) -> Format:
    return Format._build(text, _Parser(text).parse(closing=False), record=False)


_cached_parse = functools.lru_cache(maxsize=_CACHE_SIZE)(_parse)


def _column(items: Sequence[Any], position: int, width: int) -> list[Any]:
    """One field's values in every item: the value at ``position``, or the ``width``
    values from there, one after another, when the field repeats."""
    if width == 1:
        return list(map(operator.itemgetter(position), items))
    picked = map(operator.itemgetter(slice(position, position + width)), items)
    return list(chain.from_iterable(picked))


def _values_in(field: Field, element: _Element) -> int:
    """The leaf values of one item's ``field``."""
    each = element.record.nvalues if isinstance(element, _Record) else 1
    return field.elements * each


def _native_code(text: str) -> str | None:
    """memoryobject.c's rule: one native code, optionally after exactly one '@'."""
    code = text[1:] if text.startswith("@") else text
    return code if code in _NATIVE_SINGLE else None


def _whole_field(fields: Sequence[Field], itemsize: int) -> int | None:
    """The index of the field that holds all the item's bytes (the others hold none)."""
    if itemsize == 0:
        return None
    whole = [index for index, field in enumerate(fields) if field.nbytes == itemsize]
    return whole[0] if whole else None


def _rows_struct(fmt: Format) -> struct.Struct | None:
    """One struct whose ``iter_unpack`` tuples are the items' values, when there is one:
    scalars struct reads as they are, in one byte order, and more than one field."""
    if fmt._whole is not None or fmt.itemsize == 0:
        return None
    orders = set()
    parts = []
    position = 0
    for field, element in zip(fmt.fields, fmt._elements, strict=True):
        if element.direct is None or field.shape:
            return None
        if element.ordered:
            orders.add(field.byteorder)
        count = field.repeat if field.repeat != 1 else ""  # strings never repeat
        parts.append(f"{field.offset - position}x{count}{element.direct}")
        position = field.offset + field.nbytes
    if len(orders) > 1:
        return None
    order = orders.pop() if orders else "<"
    return struct.Struct(order + "".join(parts) + f"{fmt.itemsize - position}x")


def _blocks_struct(fmt: Format) -> struct.Struct | None:
    """A struct that cuts an item into the bytes of each of its fields."""
    if fmt._rows is not None or fmt._whole is not None or fmt.itemsize == 0:
        return None
    parts = []
    position = 0
    for field in fmt.fields:
        parts.append(f"{field.offset - position}x{field.nbytes}s")
        position = field.offset + field.nbytes
    return struct.Struct("<" + "".join(parts) + f"{fmt.itemsize - position}x")


def _scalar_element(fmt: Format) -> tuple[Field, _Element] | None:
    """The field of items that are one scalar: no record, sub-array, repeat or padding."""
    if len(fmt.fields) != 1 or fmt._record_of:
        return None
    field = fmt.fields[0]
    if field.shape or field.repeat != 1 or field.record is not None:
        return None
    if field.size != fmt.itemsize:
        return None
    return field, fmt._elements[0]


def _native_equivalent(fmt: Format) -> str | None:
    if fmt.native is not None:
        return fmt.native
    scalar = _scalar_element(fmt)
    if scalar is None:
        return None
    field, element = scalar
    code = element.builtin
    if code is None or (element.ordered and field.byteorder != NATIVE_ORDER):
        return None
    return code


def _scalar_code(fmt: Format) -> str | None:
    """The builtin's native code for items that are one scalar of the same size and kind.

    ``'>h'`` -> ``'h'``, ``'<l'`` -> ``'i'``: the value is checked as the builtin checks
    that code, then its bytes are put in the format's byte order. None otherwise.
    """
    scalar = _scalar_element(fmt)
    if scalar is None:
        return None
    field, element = scalar
    if isinstance(element, _Complex) and field.byteorder != NATIVE_ORDER:
        return None  # two floats, each swapped: reversing the item would swap them
    return element.builtin


# --- complex numbers in bulk before struct reads them (3.12, 3.13) -----------------


def _little_endian_doubles(data: memoryview, code: str) -> memoryview:
    """The native-order floats of ``data`` as little-endian doubles (converted in C)."""
    if code == "d" and NATIVE_ORDER == "<":
        return data
    from array import array

    floats = array(code)
    floats.frombytes(data)
    doubles = floats if code == "d" else array("d", floats)
    if NATIVE_ORDER != "<":
        doubles.byteswap()
    return memoryview(doubles).cast("B")


def _complex_items(data: memoryview, count: int, code: str) -> list[complex]:
    """Native-order complex numbers through marshal: a list of binary complex records,
    built in C.

    Each record is ``'y'`` and two little-endian doubles (17 bytes). The type codes
    go in by one stepped assignment, the (real, imaginary) pairs by one strided
    assignment between builtin memoryviews whose items are the 16-byte pairs (the
    builtin copies ``itemsize`` bytes per item whatever the one-byte format says).
    """
    doubles = _little_endian_doubles(data, code)
    records = _complex_records(count)
    _copy_pairs(doubles, records, count, into_records=True)
    items: list[complex] = marshal.loads(records)  # bytes after the list are ignored
    return items


_scratch = _thread._local()  # threading.local, without importing threading
_SCRATCH_LIMIT = 1 << 24  # bytes of complex records a thread keeps between calls


def _complex_records(count: int) -> bytearray:
    """A marshal list header for ``count`` items, then records whose type codes are set.

    The block is kept per thread and reused (its pages are already mapped, and
    the type codes already written); a larger block's extra records are ignored.
    """
    size = 5 + 17 * count
    records: bytearray | None = getattr(_scratch, "records", None)
    if records is None or len(records) < size:
        records = bytearray(size)
        records[5::17] = b"y" * count  # TYPE_BINARY_COMPLEX
        if size <= _SCRATCH_LIMIT:
            _scratch.records = records
    records[:5] = b"[" + count.to_bytes(4, "little")
    return records


def _pack_complex(numbers: list[complex]) -> bytes:
    """Little-endian ``Zd`` items: marshal writes the records, the pairs are copied out."""
    count = len(numbers)
    records = marshal.dumps(numbers, 2)  # version 2: no back-references
    pairs = bytearray(16 * count)
    _copy_pairs(pairs, records, count, into_records=False)
    return bytes(pairs)


def _copy_pairs(block: Any, records: Any, count: int, into_records: bool) -> None:
    """Copy ``count`` 16-byte pairs between a contiguous block and marshal's records."""
    read, write = SIMPLE, WRITABLE
    held = _capi.RawBuffer(block, read if into_records else write)
    try:
        other = _capi.RawBuffer(records, write if into_records else read)
        try:
            _copy_at(held.read().buf, other.read().buf, count, into_records)
        finally:
            other.release()
    finally:
        held.release()


def _copy_at(block: int | None, records: int | None, count: int, into_records: bool) -> None:
    assert block and records  # both buffers are held and non-empty
    pairs = _capi.memoryview_over(block, itemsize=16, fmt="B", shape=(count,), readonly=False)
    slots = _capi.memoryview_over(
        records + 6, itemsize=16, fmt="B", shape=(count,), strides=(17,), readonly=False
    )
    if into_records:
        slots[:] = pairs
    else:
        pairs[:] = slots
    slots.release()
    pairs.release()


def _byte_view(data: Any) -> memoryview:
    view = data if isinstance(data, memoryview) else memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view
