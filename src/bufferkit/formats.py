"""The PEP 3118 format grammar: parse once, then unpack and pack many items in C.

Invariants:
- ``Format(text)`` is parsed once and cached per text; a ``Format`` and its
  ``Field``\\ s are immutable. Bad text raises ``ValueError`` naming the format
  and the character position; ``g``, ``Zg``, ``&``, ``t`` and ``X{}`` are
  recognised and refused with ``NotImplementedError``.
- Sizes and alignment: for every format ``struct`` accepts,
  ``Format(f).itemsize == struct.calcsize(f)`` (``@`` aligns each code to its
  native alignment, ``^`` native sizes unaligned, ``= < > !`` standard sizes
  unaligned; no padding after the last top-level code). Records ``T{...}``
  follow NumPy's PEP 3118 reader: in ``@`` mode a record starts aligned to the
  least common multiple of its fields' alignments and is padded at its end to it.
- A prefix may appear anywhere (``'<i>h'``); each applies until the next one,
  across record boundaries, as in NumPy's reader: a record ``T{`` starts in the
  prefix state in force where it opens, and a prefix inside it stays in force
  after its ``}``. Alignment padding before a field, and a record's final
  padding, apply when the state after that field (or at the ``}``) is ``@``.
- A repeat count on a string code (``s p u w``) is its length; on ``x`` it is
  bytes of padding; on any other code it makes that many separate fields
  (struct's reading: ``'3i'`` unpacks to a 3-tuple), except when the code has a
  ``:name:`` or a sub-array shape: then it is one field whose shape gains the
  count as its last dimension (NumPy's reading of ``'3i:a:'``).
- Every field's ``byteorder`` is resolved to ``'<'`` or ``'>'``.
- Equality: two formats are equal when they describe the same bytes, the same
  Python values and the same field names (``'i' == '@1i'``, and on a
  little-endian machine ``'<i' == '=i' == 'i'`` and ``'<l' == 'i'``; alignment is
  not part of equality since it does not change any value).
- ``unpack``/``pack`` make a number of Python-level calls that depends on the
  format only, never on the number of items: the per-item work is done by
  ``struct`` with repeat counts or ``iter_unpack``, and by ``map``/``zip`` over
  C callables (object pointers, ``O``, are the one exception: see ``_objects``).
"""

from __future__ import annotations

import array
import marshal
import math
import operator
import struct
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, ClassVar

from . import _capi
from .flags import BufferFlags

__all__ = ["Field", "Format"]

NATIVE_ORDER = "<" if sys.byteorder == "little" else ">"

_PREFIXES = "@=<>!^"
_STRUCT_CODES = "xcbB?hHiIlLqQnNefdspP"
_NATIVE_ONLY = "nNP"
_STRINGS = "spuw"
_EXTRA_CODES = "uwO"
_REFUSED = {"g": "long double", "&": "pointers", "t": "bit fields", "X": "function pointers"}
_STANDARD_SIZE = {
    **{code: 1 for code in "xcbB?sp"},
    **{code: 2 for code in "hHeu"},
    **{code: 4 for code in "iIlLfw"},
    **{code: 8 for code in "qQd"},
    "O": _capi.POINTER_SIZE,
}


def _native_size_and_alignment(code: str) -> tuple[int, int]:
    """What struct's ``@`` mode uses for one code (alignment = the padding after 'c')."""
    if code == "O":
        code = "P"
    if code in "uw":
        size = _STANDARD_SIZE[code]
        return size, size
    size = struct.calcsize(code)
    return size, struct.calcsize("c" + code) - size


_NATIVE = {code: _native_size_and_alignment(code) for code in _STRUCT_CODES + _EXTRA_CODES}
_INT_CODES = {(1, True): "b", (1, False): "B", (2, True): "h", (2, False): "H"}
_INT_CODES |= {(4, True): "i", (4, False): "I", (8, True): "q", (8, False): "Q"}


def _builtin_casts_to(code: str) -> bool:
    """True if this interpreter's memoryview reads ``code`` natively (3.15 adds 'Zf', 'Zd')."""
    try:
        memoryview(bytes(16)).cast(code)  # type: ignore[call-overload]
    except (ValueError, TypeError):
        return False
    return True


_NATIVE_SINGLE = frozenset(filter(_builtin_casts_to, [*"cbB?hHiIlLqQnNefdP", "Zf", "Zd"]))


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an item: its name, byte offset, code, sub-array shape and size.

    ``code`` is a struct code (``'i'``, ``'d'``, ``'s'``, ...), ``'Zf'``/``'Zd'``
    for complex, ``'T'`` for a nested record (then ``record`` is its ``Format``).
    ``shape`` is the sub-array shape (``()`` for a scalar); ``count`` the length
    of an ``s``/``p``/``u``/``w`` string (1 otherwise); ``size`` the bytes of one
    element; ``byteorder`` is ``'<'`` or ``'>'`` (resolved, never native).
    """

    name: str | None
    offset: int
    code: str
    shape: tuple[int, ...]
    count: int
    size: int
    byteorder: str
    record: Format | None = None

    @property
    def nbytes(self) -> int:
        """Bytes of the whole field (all sub-array elements)."""
        return self.size * math.prod(self.shape)


# --- leaves: what struct reads ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Leaf:
    """One value struct reads: ``code`` in standard size, at ``offset``."""

    offset: int
    code: str
    size: int
    byteorder: str
    convert: str  # "" (as struct gives it), "object", or a codec name for u/w


def _struct_code(field: Field) -> tuple[str, str]:
    """The standard-size struct code that reads one element, and its conversion."""
    code = field.code
    if code in "spuw":
        letter = "s" if code == "p" and field.count == 0 else code  # struct fails on '0p'
        if code in "uw":
            bits = 16 if code == "u" else 32
            order = "le" if field.byteorder == "<" else "be"
            return f"{field.size}s", f"utf-{bits}-{order}"
        return f"{field.count}{letter}", ""
    if code == "O":
        return _INT_CODES[field.size, False], "object"
    if code in "lLnNP":
        return _INT_CODES[field.size, code in "ln"], ""
    return code, ""


def _element_leaves(field: Field, offset: int) -> list[_Leaf]:
    """The leaves of one element of ``field`` placed at ``offset``."""
    if field.record is not None:
        return [
            _Leaf(leaf.offset + offset, leaf.code, leaf.size, leaf.byteorder, leaf.convert)
            for leaf in field.record._leaves
        ]
    if field.code in ("Zf", "Zd"):
        half = field.size // 2
        code = field.code[1]
        return [
            _Leaf(offset, code, half, field.byteorder, ""),
            _Leaf(offset + half, code, half, field.byteorder, ""),
        ]
    code, convert = _struct_code(field)
    return [_Leaf(offset, code, field.size, field.byteorder, convert)]


def _field_leaves(field: Field) -> list[_Leaf]:
    leaves: list[_Leaf] = []
    for index in range(math.prod(field.shape)):
        leaves.extend(_element_leaves(field, field.offset + index * field.size))
    return leaves


# --- decoding plans: leaf columns -> values -----------------------------------

_Column = Iterable[Any]


def _group(columns: list[_Column], width: int, groups: int, count: int) -> list[_Column]:
    """``groups`` columns of lists, each list made of ``width`` consecutive columns."""
    if width == 0:
        return [map(list, repeat((), count)) for _ in range(groups)]
    return [
        map(list, zip(*columns[i : i + width], strict=True)) for i in range(0, len(columns), width)
    ]


def _transpose(column: _Column, width: int, what: str) -> list[_Column]:
    """Split a column of ``width``-sequences into ``width`` columns."""
    items = column if isinstance(column, (list, tuple)) else list(column)
    if width == 0:
        return []
    try:
        columns = list(zip(*items, strict=True))
    except TypeError as error:
        bad = next((item for item in items if not isinstance(item, (list, tuple))), None)
        raise TypeError(f"{what} needs a sequence of {width} values, got {bad!r}") from error
    except ValueError as error:
        lengths = list(map(len, items))
        bad = items[lengths.index(min(lengths) if min(lengths) != width else max(lengths))]
        raise struct.error(f"{what} needs {width} values, got {bad!r}") from error
    if len(columns) != width:
        raise struct.error(f"{what} needs {width} values, got {items[0]!r}")
    return columns  # type: ignore[return-value]


class _Node:
    """How the leaf columns of one field become its values (and back)."""

    def decode(self, columns: Iterator[_Column], count: int) -> _Column:
        raise NotImplementedError

    def encode(self, column: _Column, out: list[_Column]) -> None:
        raise NotImplementedError


class _Scalar(_Node):
    def __init__(self, leaf: _Leaf) -> None:
        self.convert = leaf.convert

    def decode(self, columns: Iterator[_Column], count: int) -> _Column:
        column = next(columns)
        if self.convert == "object":
            return _objects(column)
        if self.convert:
            return map(str, column, repeat(self.convert), repeat("surrogatepass"))
        return column

    def encode(self, column: _Column, out: list[_Column]) -> None:
        if self.convert:
            column = map(str.encode, column, repeat(self.convert), repeat("surrogatepass"))
        out.append(column)


class _Complex(_Node):
    def decode(self, columns: Iterator[_Column], count: int) -> _Column:
        return map(complex, next(columns), next(columns))

    def encode(self, column: _Column, out: list[_Column]) -> None:
        values = list(map(complex, column))
        out.append(map(operator.attrgetter("real"), values))
        out.append(map(operator.attrgetter("imag"), values))


class _SubArray(_Node):
    def __init__(self, shape: tuple[int, ...], element: _Node) -> None:
        self.shape = shape
        self.element = element

    def decode(self, columns: Iterator[_Column], count: int) -> _Column:
        elements = [self.element.decode(columns, count) for _ in range(math.prod(self.shape))]
        for level in reversed(range(len(self.shape))):
            groups = math.prod(self.shape[:level])
            elements = _group(elements, self.shape[level], groups, count)
        return elements[0]

    def encode(self, column: _Column, out: list[_Column]) -> None:
        columns = [column]
        for width in self.shape:
            columns = [part for c in columns for part in _transpose(c, width, "sub-array")]
        for part in columns:
            self.element.encode(part, out)


class _Record(_Node):
    def __init__(self, children: list[_Node]) -> None:
        self.children = children

    def decode(self, columns: Iterator[_Column], count: int) -> _Column:
        if not self.children:
            return repeat((), count)
        return zip(*[child.decode(columns, count) for child in self.children], strict=True)

    def encode(self, column: _Column, out: list[_Column]) -> None:
        parts = _transpose(column, len(self.children), "record")
        for child, part in zip(self.children, parts, strict=True):
            child.encode(part, out)


def _objects(addresses: _Column) -> list[object]:
    """The objects behind pointers (one Python call per item: ``_capi`` has no bulk form)."""
    return list(map(_capi.object_at, addresses))


def _node_for(field: Field) -> _Node:
    if field.record is not None:
        element: _Node = _Record([_node_for(f) for f in field.record.fields])
    elif field.code in ("Zf", "Zd"):
        element = _Complex()
    else:
        element = _Scalar(_element_leaves(field, 0)[0])
    return _SubArray(field.shape, element) if field.shape else element


# --- struct programs: bytes <-> leaf columns ------------------------------------


@dataclass(frozen=True, slots=True)
class _Program:
    """One struct that reads the leaves of one byte order (other bytes are padding)."""

    byteorder: str
    indices: tuple[int, ...]  # positions of its leaves in the item's leaf list
    item: struct.Struct
    flat_code: str | None  # set when the item is ``len(indices)`` equal, packed codes

    def read(self, data: memoryview, count: int) -> list[_Column]:
        width = len(self.indices)
        if self.flat_code is not None:
            flat = struct.unpack(f"{self.byteorder}{count * width}{self.flat_code}", data)
            return [flat] if width == 1 else [flat[i::width] for i in range(width)]
        rows = list(self.item.iter_unpack(data))
        if width == 1:
            return [list(map(operator.itemgetter(0), rows))]
        return list(zip(*rows, strict=True))

    def write(self, columns: list[_Column], count: int) -> bytes:
        if self.flat_code is not None and len(columns) == 1:
            return struct.pack(f"{self.byteorder}{count}{self.flat_code}", *columns[0])
        return b"".join(map(self.item.pack, *columns))


def _programs(leaves: Sequence[_Leaf], itemsize: int) -> tuple[_Program, ...]:
    programs = []
    for order in "<>":
        indices = tuple(i for i, leaf in enumerate(leaves) if leaf.byteorder == order)
        if not indices:
            continue
        parts, position = [order], 0
        for i in indices:
            leaf = leaves[i]
            parts.append(f"{leaf.offset - position}x{leaf.code}")
            position = leaf.offset + leaf.size
        parts.append(f"{itemsize - position}x")
        item = struct.Struct("".join(parts))
        codes = {leaves[i].code for i in indices}
        code = codes.pop()
        simple = (
            not codes
            and code[-1] not in "sp"
            and leaves[indices[0]].size * len(indices) == itemsize
        )
        programs.append(_Program(order, indices, item, code if simple else None))
    return tuple(programs)


# --- the parser ------------------------------------------------------------------


@dataclass(slots=True)
class _Parsed:
    fields: list[Field]
    itemsize: int
    alignment: int


class _Parser:
    """A recursive-descent reader of one format string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.prefix = "@"

    def fail(self, reason: str, pos: int | None = None) -> ValueError:
        where = self.pos if pos is None else pos
        return ValueError(f"bad format {self.text!r} at position {where}: {reason}")

    def refuse(self, what: str) -> NotImplementedError:
        return NotImplementedError(
            f"format {self.text!r} at position {self.pos}: {what} are not supported"
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def digits(self) -> int | None:
        start = self.pos
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        return int(self.text[start : self.pos]) if self.pos > start else None

    def shape(self) -> tuple[int, ...]:
        start = self.pos
        self.pos += 1  # '('
        dims = []
        while True:
            while self.peek() == " ":
                self.pos += 1
            dim = self.digits()
            if dim is None:
                raise self.fail("sub-array shape needs a number", self.pos)
            dims.append(dim)
            while self.peek() == " ":
                self.pos += 1
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
        char = self.peek()
        if char == "Z":
            kind = self.text[self.pos + 1 : self.pos + 2]
            if kind == "g":
                raise self.refuse("long double complex numbers ('Zg')")
            if kind not in ("f", "d"):
                raise self.fail(f"'Z' must be followed by 'f' or 'd', not {kind!r}")
            self.pos += 2
            return "Z" + kind
        if char in _REFUSED and char:
            raise self.refuse(f"{_REFUSED[char]} ({char!r})")
        if char == "T":
            if self.text[self.pos + 1 : self.pos + 2] != "{":
                raise self.fail("'T' must be followed by '{'")
            self.pos += 2
            return "T"
        if not char:
            raise self.fail("a code is missing at the end")
        if char not in _STRUCT_CODES + _EXTRA_CODES:
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
                    offset += (-offset) % alignment
                return _Parsed(fields, offset, alignment)
            if char.isspace():
                self.pos += 1
                continue
            if char in _PREFIXES:
                self.prefix = char
                self.pos += 1
                continue
            shape = self.shape() if char == "(" else ()
            while self.peek() in _PREFIXES and self.peek():
                self.prefix = self.text[self.pos]
                self.pos += 1
            offset, element_alignment, new = self.element(shape, offset)
            if self.prefix == "@":
                alignment = math.lcm(alignment, element_alignment)
            fields.extend(new)

    def element(self, shape: tuple[int, ...], offset: int) -> tuple[int, int, list[Field]]:
        """Place one code (with its repeat count) at ``offset``; the fields it makes."""
        start, prefix = self.pos, self.prefix
        count = self.digits()
        code_start = self.pos
        code = self.code()
        order = NATIVE_ORDER if prefix in "@=^" else ("<" if prefix == "<" else ">")
        record: Format | None = None
        if code == "T":
            parsed = self.parse(closing=True)
            record = Format._record(parsed, self.text[code_start : self.pos], prefix)
            size, align = parsed.itemsize, parsed.alignment
        else:
            size, align = self.size_of(code, prefix, start)
        if code == "O" and order != NATIVE_ORDER:
            raise self.fail(
                f"object pointers 'O' must be in native byte order, not {prefix!r}", start
            )
        name = self.name()
        repeat_count = 1 if count is None else count
        if self.prefix == "@":  # after a record: the state its '}' left (NumPy's rule)
            offset += (-offset) % align
        if code == "x":
            return offset + size * repeat_count * math.prod(shape), align, []
        if code in _STRINGS:
            string = Field(name, offset, code, shape, repeat_count, size * repeat_count, order)
            return offset + string.nbytes, align, [string]
        if (name is not None or shape) and repeat_count != 1:
            shape, repeat_count = (*shape, repeat_count), 1
        fields = []
        for _ in range(repeat_count):
            fields.append(Field(name, offset, code, shape, 1, size, order, record))
            offset += fields[-1].nbytes
        return offset, align, fields

    def size_of(self, code: str, prefix: str, start: int) -> tuple[int, int]:
        if prefix in "@^":
            size, align = _NATIVE[code[-1]]
            if code[0] == "Z":
                size *= 2
            return size, align if prefix == "@" else 1
        if code in _NATIVE_ONLY:
            raise self.fail(f"code {code!r} needs native size ('@' or '^'), not {prefix!r}", start)
        size = _STANDARD_SIZE[code[-1]]
        return (2 * size if code[0] == "Z" else size), 1


# --- Format --------------------------------------------------------------------


def _canonical(field: Field) -> tuple[object, ...]:
    """What a field means: equal for fields giving the same bytes and values."""
    if field.record is not None:
        what: object = field.record._key
    elif field.code in ("Zf", "Zd"):
        what = field.code
    else:
        what = _struct_code(field)
    one_byte = field.size == 1 and field.record is None
    order = "|" if one_byte or field.code in "sp" else field.byteorder
    return (field.name, field.offset, what, field.shape, order)


class Format:
    """A parsed PEP 3118 format. ``Format(text)`` is cached and raises
    ``ValueError`` (malformed, naming the format and position) or
    ``NotImplementedError`` (``g``, ``Zg``, ``&``: recognised, refused).

    - ``text``: the format as given; ``itemsize``, ``alignment`` (1 unless ``@``
      aligned something); ``fields``: the top-level fields (padding is not one);
      ``byteorder``: ``'<'``/``'>'`` shared by all fields, else ``None``;
    - ``nvalues``: the leaf Python values of one item (a complex number or a
      string is one value; a sub-array ``(2,3)i`` is six);
    - ``native``: the struct code if the builtin memoryview takes the text as is;
      ``native_equivalent``: a native code with the same bytes and values;
    - ``writable``: False when the format holds object pointers (``O``).

    Items: one scalar field gives the scalar, several top-level fields a tuple,
    a record ``T{}`` a tuple of its fields, a sub-array nested lists, ``Zf``/``Zd``
    complex, ``u``/``w`` str (trailing NULs kept), ``c``/``s``/``p`` bytes, ``O``
    the object; an item without values is ``()``.
    """

    __slots__ = (
        "__weakref__",
        "_complex",
        "_hash",
        "_key",
        "_leaves",
        "_nodes",
        "_programs",
        "_record_of",
        "_rows",
        "_scalar",
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
    _cache: ClassVar[dict[str, Format]] = {}

    text: str
    itemsize: int
    alignment: int
    fields: tuple[Field, ...]
    native: str | None
    native_equivalent: str | None
    nvalues: int
    writable: bool
    byteorder: str | None
    _record_of: bool
    _leaves: tuple[_Leaf, ...]
    _nodes: tuple[_Node, ...]
    _programs: tuple[_Program, ...]
    _key: tuple[object, ...]
    _hash: int
    _complex: tuple[str, str] | None
    _rows: bool
    _scalar: str | None

    def __new__(cls, fmt: str | bytes) -> Format:
        text = fmt.decode("latin-1") if isinstance(fmt, (bytes, bytearray)) else fmt
        if not isinstance(text, str):
            raise TypeError(f"format must be str or bytes, not {type(fmt).__name__}")
        cached = cls._cache.get(text)
        if cached is not None:
            return cached
        parsed = _Parser(text).parse(closing=False)
        self = cls._build(text, parsed, record=False)
        return cls._cache.setdefault(text, self)

    @classmethod
    def _record(cls, parsed: _Parsed, text: str, prefix: str) -> Format:
        """The format of a nested record (its items are tuples, even of one field)."""
        return cls._build(text if prefix == "@" else prefix + text, parsed, record=True)

    @classmethod
    def _build(cls, text: str, parsed: _Parsed, record: bool) -> Format:
        self = object.__new__(cls)
        fields = tuple(parsed.fields)
        leaves = tuple(leaf for field in fields for leaf in _field_leaves(field))
        key = (record, parsed.itemsize, tuple(map(_canonical, fields)))
        orders = {field.byteorder for field in fields}
        attributes: dict[str, object] = {
            "text": text,
            "itemsize": parsed.itemsize,
            "alignment": parsed.alignment,
            "fields": fields,
            "byteorder": orders.pop() if len(orders) == 1 else None,
            "nvalues": sum(_values_in(field) for field in fields),
            "writable": all(leaf.convert != "object" for leaf in leaves),
            "native": _native_code(text),
            "_record_of": record,
            "_leaves": leaves,
            "_nodes": tuple(map(_node_for, fields)),
            "_programs": _programs(leaves, parsed.itemsize),
            "_key": key,
            "_hash": hash(key),
        }
        for name, value in attributes.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "native_equivalent", _native_equivalent(self))
        object.__setattr__(self, "_complex", _complex_scalar(self))
        object.__setattr__(self, "_rows", _plain_rows(self))
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
        view = view[:needed]
        if not self._leaves:  # padding, empty records and empty sub-arrays
            return list(self._decode([], count))
        if self.itemsize == 0:  # only empty strings: struct cannot iterate a 0-byte item
            empty: list[_Column] = [[b""]] * len(self._leaves)
            return [next(iter(self._decode(empty, 1)))] * count
        if self.native_equivalent is not None:
            values: list[Any] = view.cast(self.native_equivalent).tolist()  # type: ignore[call-overload]
            return values
        if self._complex is not None and count < 2**31:
            return _complex_items(view, count, *self._complex)
        if self._rows:
            return list(self._programs[0].item.iter_unpack(view))
        columns = self._read_columns(view, count)
        return list(self._decode(columns, count))

    def unpack_one(self, data: Any) -> Any:
        """The single item at the start of ``data``."""
        return self.unpack(data, 1)[0]

    def _read_columns(self, view: memoryview, count: int) -> list[_Column]:
        if len(self._programs) == 1:
            return self._programs[0].read(view, count)
        columns: list[_Column] = [()] * len(self._leaves)
        for program in self._programs:
            for index, column in zip(program.indices, program.read(view, count), strict=True):
                columns[index] = column
        return columns

    def _decode(self, columns: list[_Column], count: int) -> _Column:
        source = iter(columns)
        if self._record_of:
            return _Record(list(self._nodes)).decode(source, count)
        values = [node.decode(source, count) for node in self._nodes]
        if len(values) == 1:
            return values[0]
        if not values:
            return repeat((), count)
        return zip(*values, strict=True)

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
        if not self._leaves:
            return bytes(self.itemsize * count)
        try:
            return self._pack_all(items, count)
        except (struct.error, TypeError, ValueError, OverflowError) as error:
            raise self._naming_bad_item(items, error) from error

    def _pack_all(self, items: Sequence[Any], count: int) -> bytes:
        if self._complex == ("d", NATIVE_ORDER) and NATIVE_ORDER == "<" and count < 2**31:
            return _pack_complex(items, count)
        columns: list[_Column] = []
        if self._record_of:
            _Record(list(self._nodes)).encode(items, columns)
        elif len(self._nodes) == 1:
            self._nodes[0].encode(items, columns)
        else:
            for node, part in zip(
                self._nodes, _transpose(items, len(self._nodes), "item"), strict=True
            ):
                node.encode(part, columns)
        if len(self._programs) == 1:
            return self._programs[0].write(columns, count)
        merged = 0
        for program in self._programs:
            chunk = program.write([columns[i] for i in program.indices], count)
            merged |= int.from_bytes(chunk, "little")
        return merged.to_bytes(count * self.itemsize, "little")

    def _naming_bad_item(self, items: Sequence[Any], error: Exception) -> Exception:
        """The same kind of error, saying which item could not be packed."""
        if len(items) > 1:
            for index, item in enumerate(items):  # error path only: find the culprit
                try:
                    self._pack_all([item], 1)
                except Exception as inner:
                    return type(inner)(f"item {index} ({item!r}) of format {self.text!r}: {inner}")
        kind = type(error) if isinstance(error, (struct.error, TypeError)) else struct.error
        return kind(f"cannot pack {items[0]!r} as format {self.text!r}: {error}")


def _values_in(field: Field) -> int:
    element = field.record.nvalues if field.record is not None else 1
    return element * math.prod(field.shape)


def _native_code(text: str) -> str | None:
    """memoryobject.c's rule: one native code, optionally after exactly one '@'."""
    code = text[1:] if text.startswith("@") else text
    return code if code in _NATIVE_SINGLE else None


def _scalar_field(fmt: Format) -> Field | None:
    """The field of items that are one scalar: no record, sub-array or padding."""
    if len(fmt.fields) != 1 or fmt._record_of:
        return None
    field = fmt.fields[0]
    if field.shape or field.record is not None or field.size != fmt.itemsize:
        return None
    return field


def _native_equivalent(fmt: Format) -> str | None:
    if fmt.native is not None:
        return fmt.native
    field = _scalar_field(fmt)
    if field is None:
        return None
    code, convert = _struct_code(field)
    if convert or code not in _NATIVE_SINGLE or code in "lLnNP":
        return None
    if field.size > 1 and field.byteorder != NATIVE_ORDER:
        return None
    return code


def _complex_scalar(fmt: Format) -> tuple[str, str] | None:
    """(float code, byte order) when each item is one complex number and nothing else."""
    field = _scalar_field(fmt)
    if field is None or field.code not in ("Zf", "Zd"):
        return None
    return field.code[1], field.byteorder


def _scalar_code(fmt: Format) -> str | None:
    """The builtin's native code for items that are one scalar of the same size and kind.

    ``'>h'`` -> ``'h'``, ``'<l'`` -> ``'i'``: the value is checked as the builtin checks
    that code, then its bytes are put in the format's byte order. None otherwise.
    """
    field = _scalar_field(fmt)
    if field is None:
        return None
    code, convert = _struct_code(field)
    if convert or code not in _NATIVE_SINGLE:
        return None
    if code in ("Zf", "Zd") and field.byteorder != NATIVE_ORDER:
        return None  # two floats, each swapped: reversing the item would swap them
    return code if struct.calcsize(code) == field.size else None


def _plain_rows(fmt: Format) -> bool:
    """True when ``iter_unpack``'s tuples are already the items."""
    plain = all(type(node) is _Scalar and not node.convert for node in fmt._nodes)
    return plain and len(fmt._nodes) > 1 and len(fmt._programs) == 1 and not fmt._record_of


def _little_endian_doubles(data: memoryview, code: str, byteorder: str) -> memoryview:
    """The floats of ``data`` as little-endian doubles (converted and swapped in C)."""
    if code == "d" and byteorder == "<":
        return data
    floats = array.array(code)
    floats.frombytes(data)
    if byteorder != NATIVE_ORDER:
        floats.byteswap()
    doubles = floats if code == "d" else array.array("d", floats)
    if NATIVE_ORDER != "<":
        doubles.byteswap()
    return memoryview(doubles).cast("B")


def _complex_items(data: memoryview, count: int, code: str, byteorder: str) -> list[complex]:
    """Complex numbers through marshal: a list of binary complex records, built in C.

    Each record is ``'y'`` and two little-endian doubles (17 bytes). The type codes
    go in by one stepped assignment, the (real, imaginary) pairs by one strided
    assignment between builtin memoryviews whose items are the 16-byte pairs (the
    builtin copies ``itemsize`` bytes per item whatever the one-byte format says).
    """
    doubles = _little_endian_doubles(data, code, byteorder)
    records = _complex_records(count)
    _copy_pairs(doubles, records, count, into_records=True)
    items: list[complex] = marshal.loads(records)  # bytes after the list are ignored
    return items


_scratch = threading.local()
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


def _pack_complex(items: Sequence[Any], count: int) -> bytes:
    """Little-endian ``Zd`` items: marshal writes the records, the pairs are copied out."""
    records = marshal.dumps(list(map(complex, items)), 2)  # version 2: no back-references
    pairs = bytearray(16 * count)
    _copy_pairs(pairs, records, count, into_records=False)
    return bytes(pairs)


def _copy_pairs(block: Any, records: Any, count: int, into_records: bool) -> None:
    """Copy ``count`` 16-byte pairs between a contiguous block and marshal's records."""
    read, write = BufferFlags.SIMPLE, BufferFlags.WRITABLE
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
