"""Property-based tests of buffer consumers: exporters of every layout, and a tracking exporter.

``buffers()`` is a Hypothesis strategy of ``NDArray`` exporters of every legal layout
and format; ``formats()`` and ``requests()`` draw format strings and request flags;
``track(obj)`` wraps an exporter and records every request a consumer makes of it.
The pytest plugin is ``bufferkit.pytest_plugin``; ``docs/testing.md`` has a worked example.
This module needs Hypothesis (the ``testing`` extra); ``import bufferkit`` never imports it.

Invariants:
- Every array ``buffers()`` draws is valid ``NDArray`` input by construction: nothing
  is filtered or rejected. Strides and offsets are multiples of the itemsize, every
  element lies inside the items, and an array has at most ``MAX_ELEMENTS`` elements
  and ``MAX_SLOTS`` items of at most ``MAX_ITEMSIZE`` bytes, whatever the arguments
  (``_Geometry``): nothing is allocated in proportion to a number given.
- Every choice shrinks toward the simplest array: no kind (C-contiguous), the first
  format of the first family (``'B'``), one dimension, sides of 1, steps of 1, no
  offset, read-only, the smallest values. Of two kinds that fail alike the shrinker
  keeps the one drawn later, so the plainest are drawn last (``_GATE_ORDER``).
- About half the arrays are of one kind alone (of the ``KINDS`` in order, the first
  kept when shrinking), the others mix several (``_kinds_of_one``): a Fortran- or
  C-contiguous array shows only alone.
- Each kind, and each family of formats, is a choice of its own: Hypothesis's
  generator, which may crowd some values of a many-valued choice out of a whole run,
  cannot crowd out a kind or a family.
- Items no element reaches hold the format's *filler*, the bytes ``0xA5``: a consumer
  that reads them gets a value no element has.
- A format is one table entry: its item values come from its parsed fields, one
  strategy per code (``_CODE_VALUES``); whether ``NDArray`` exports it on this
  interpreter is asked of ``NDArray`` itself, once per format.
- A tracker holds exactly one request on the wrapped object per request it grants
  (``managed.request``), owned by the builtin memoryview it returns; CPython releases
  it exactly once, when the consumer releases its buffer or the memoryview dies. A
  tracker refers to the wrapped object and to its records; the memoryviews it returned
  only weakly (through ``managed``'s ledger), so the collector sees every edge.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import itertools
import math
import struct
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as error:  # pragma: no cover (the test extra installs Hypothesis)
    raise ImportError(
        "bufferkit.testing needs Hypothesis: pip install 'bufferkit[testing]'"
    ) from error

from . import _capi
from .conformance import ALL_REQUESTS
from .flags import BufferFlags, describe, wants_writable
from .formats import Field, Format
from .managed import record_export, request, settle_export
from .ndarray import ND_FORTRAN, ND_PIL, ND_WRITABLE, NDArray

__all__ = [
    "DEFAULT_FORMATS",
    "KINDS",
    "MAX_ELEMENTS",
    "MAX_ITEMSIZE",
    "MAX_SLOTS",
    "Export",
    "Tracker",
    "buffers",
    "exportable_formats",
    "formats",
    "items",
    "requests",
    "track",
]

MAX_ELEMENTS: Final = 1024
"""The most elements an array of ``buffers()`` has (its sides are cut to fit)."""
MAX_SLOTS: Final = 1 << 14
"""The most items an array of ``buffers()`` holds, gaps included (its steps are cut to fit)."""
MAX_ITEMSIZE: Final = 256
"""The largest item, in bytes, of a format ``buffers()`` draws."""
_FILLER_BYTE: Final = 0xA5
_MAX_NDIM: Final = _capi.MAX_NDIM

KINDS: Final = (
    "C",
    "scalar",
    "empty",
    "strided",
    "negative",
    "zero",
    "fortran",
    "offset",
    "indirect",
)
"""The kinds of layout ``buffers()`` draws, simplest first:

- ``'C'``: C-contiguous, one dimension or more;
- ``'scalar'``: no dimension (``shape=[]``);
- ``'empty'``: a side of length 0 (no elements);
- ``'strided'``: gaps between elements (steps of 2 or 3, padded rows);
- ``'negative'``: a negative stride (the first element is not the lowest);
- ``'zero'``: a stride of 0 (one item seen many times);
- ``'fortran'``: Fortran order (first index fastest), two dimensions or more;
- ``'offset'``: items before and after the elements (``offset`` > 0);
- ``'indirect'``: a PIL-style array, rows reached through pointers (``suboffsets``).
"""
_DIMENSION_KINDS: Final = ("negative", "zero", "strided")
"""The kinds given to one dimension each, innermost first (then inward)."""
_FORCE_ORDER: Final = ("zero", "negative", "strided")
"""The order they are applied in, for a 1-d array given several: negative beats zero."""

DEFAULT_FORMATS: Final = (
    # native sizes and alignment ('@')
    *("B", "b", "?", "c", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "f", "d", "e"),
    # standard sizes, both byte orders
    *("<h", ">h", "<H", ">H", "<i", ">i", "<I", ">I", "<l", ">l", "<q", ">q", "<Q", ">Q"),
    *("<f", ">f", "<d", ">d", "<e", ">e", "=i", "!h", ">?"),
    # complex numbers
    *("Zf", "Zd", "<Zd", ">Zf"),
    # several values per item, strings, padding
    *("2h", "hi", "<hQ", ">bH", "3s", "Bx", "xh"),
    # records and sub-arrays
    *("T{<h:id:>d:x:}", "(2,3)h", "T{B:n:(2)<i:v:}"),
)
"""The formats ``buffers()`` and ``formats()`` draw from, simplest first, where
``NDArray`` exports them on this interpreter (``exportable_formats()``)."""


# --- values of each format -------------------------------------------------------------


def _integers(field: Field) -> st.SearchStrategy[Any]:
    bits = 8 * field.size
    if field.code.isupper():  # B H I L Q N P: unsigned
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def _floats(field: Field) -> st.SearchStrategy[Any]:
    return st.floats(width=8 * field.size, allow_nan=False)  # type: ignore[arg-type]


def _complexes(field: Field) -> st.SearchStrategy[Any]:
    return st.complex_numbers(width=8 * field.size, allow_nan=False)  # type: ignore[arg-type]


def _record(field: Field) -> st.SearchStrategy[Any]:
    assert field.record is not None  # a 'T' field has its record
    return st.tuples(*_value_strategies(field.record))


_CODE_VALUES: Final[dict[str, Callable[[Field], st.SearchStrategy[Any]]]] = {
    **dict.fromkeys("bBhHiIlLqQnNP", _integers),
    "?": lambda field: st.booleans(),
    "c": lambda field: st.binary(min_size=1, max_size=1),
    "s": lambda field: st.binary(max_size=field.count),
    "p": lambda field: st.binary(max_size=max(field.count - 1, 0)),
    **dict.fromkeys("efd", _floats),
    **dict.fromkeys(("Zf", "Zd"), _complexes),
    "T": _record,
}
"""One value of each code (``Field.code``), NaN left out: it equals nothing, itself included."""


def _value_strategies(fmt: Format) -> list[st.SearchStrategy[Any]]:
    """A strategy per value of an item: a field repeated (``'2h'``) is that many values.
    (Every value takes a byte at least, so an item of ``MAX_ITEMSIZE`` bytes has at most
    that many.)"""
    return [values for field in fmt.fields for values in [_field_values(field)] * field.repeat]


def _field_values(field: Field) -> st.SearchStrategy[Any]:
    """Values of one element of a field: its code's, in nested lists for a sub-array."""
    make = _CODE_VALUES.get(field.code)
    if make is None:
        raise InvalidArgument(f"bufferkit.testing has no values for format code {field.code!r}")
    values = make(field)
    for side in reversed(field.shape):
        values = st.lists(values, min_size=side, max_size=side)
    return values


_MANY: Final = 2**64


def _distinct_items(fmt: Format) -> int:
    """At least how many different items ``items`` draws for ``fmt`` (capped at 2**64)."""
    count = 1
    for field in fmt.fields:
        count = min(count * _distinct_values(field), _MANY)
    return count


def _distinct_values(field: Field) -> int:
    if field.record is not None:
        one = _distinct_items(field.record)
    elif field.code == "?":
        one = 2
    elif field.code in ("s", "p"):
        one = 256 ** min(field.count - 1, 8)
    else:
        one = 256 ** min(field.size, 8)
    count = 1
    for _ in range(min(field.elements, 64)):  # 64 pass any cap
        count = min(count * one, _MANY)
    return count


@lru_cache(maxsize=256)
def items(fmt: str) -> st.SearchStrategy[Any]:
    """One item of ``fmt`` as ``NDArray`` takes it (and ``Format.unpack_one`` gives it):
    a single value, a tuple of several, ``()`` for padding alone. Items of more than
    ``MAX_ITEMSIZE`` bytes are refused."""
    parsed = _parsed(fmt)
    if parsed.itemsize > MAX_ITEMSIZE:
        raise InvalidArgument(f"format {fmt!r}: items of more than {MAX_ITEMSIZE} bytes")
    strategies = _value_strategies(parsed)
    return strategies[0] if len(strategies) == 1 else st.tuples(*strategies)


def _parsed(fmt: str) -> Format:
    try:
        return Format(fmt)
    except (ValueError, NotImplementedError) as error:
        raise InvalidArgument(f"format {fmt!r}: {error}") from None


@lru_cache(maxsize=256)
def _filler(fmt: str) -> Any:
    """The item whose bytes are all ``0xA5``: what gaps between elements hold."""
    parsed = Format(fmt)
    return parsed.unpack_one(bytes([_FILLER_BYTE]) * parsed.itemsize)


@lru_cache(maxsize=256)
def _export_refusal(fmt: str) -> str | None:
    """Why ``NDArray`` cannot export ``fmt`` here (or ``buffers()`` will not), or None."""
    try:
        items(fmt)  # first: it refuses items too large to allocate
        NDArray([_filler(fmt)], shape=[1], format=fmt)
    except (ValueError, TypeError, NotImplementedError, OverflowError, struct.error) as error:
        return f"{type(error).__name__}: {error}"
    except InvalidArgument as error:
        return str(error)
    return None


def exportable_formats() -> tuple[str, ...]:
    """The formats of ``DEFAULT_FORMATS`` that ``NDArray`` exports on this interpreter."""
    return tuple(fmt for fmt in DEFAULT_FORMATS if _export_refusal(fmt) is None)


_COMPOUND_CODES: Final = ("s", "p", "T", "Zf", "Zd")


def _family(fmt: str) -> str:
    """What the items of ``fmt`` are like: ``'native'``, ``'<'`` or ``'>'`` (one value of
    standard size, in that byte order), or ``'compound'`` (several values, a complex
    number, a string, a record, a sub-array)."""
    fields = Format(fmt).fields
    if len(fields) != 1 or fields[0].elements != 1 or fields[0].code in _COMPOUND_CODES:
        return "compound"
    return fields[0].byteorder if fmt[:1] in ("<", ">", "!", "=") else "native"


def _families(chosen: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """``chosen`` grouped by family, the groups and their formats in their order there.
    A family is a choice of its own: none is crowded out by how many another has."""
    groups: dict[str, list[str]] = {}
    for fmt in chosen:
        groups.setdefault(_family(fmt), []).append(fmt)
    return tuple(map(tuple, groups.values()))


@st.composite
def _formats_of(draw: st.DrawFn, families: tuple[tuple[str, ...], ...]) -> str:
    fmt: str = draw(_choice(draw(_choice(families))))
    return fmt


def formats() -> st.SearchStrategy[str]:
    """Format strings ``NDArray`` exports, from ``DEFAULT_FORMATS`` (shrinking to ``'B'``)."""
    return _formats_of(_families(exportable_formats()))


def requests(*, writable: bool | None = None) -> st.SearchStrategy[BufferFlags]:
    """Request flags: each base request (``SIMPLE`` ... ``INDIRECT``) with or without
    ``WRITABLE`` and ``FORMAT`` (shrinking to ``SIMPLE``); ``writable`` keeps only the
    requests that ask for writable memory (True) or do not (False)."""
    chosen = [f for f in ALL_REQUESTS if writable is None or wants_writable(f) == writable]
    return st.sampled_from(chosen)


# --- layouts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Geometry:
    """Where the elements of one array sit among its items (counted in items, not bytes).

    The items are ``lead`` fillers, a base block, ``trail`` fillers. The base block is
    C- (or Fortran-) ordered, ``extents()`` long in each dimension: enough for
    ``side`` elements ``abs(step)`` apart plus ``pad``. A negative step starts at the
    block's far end of that dimension, a step of 0 stays put. Every element therefore
    lies in the block: index ``i`` reaches ``start() + sum(i[d] * strides()[d])``.
    """

    shape: tuple[int, ...]
    steps: tuple[int, ...]
    pads: tuple[int, ...]
    fortran: bool = False
    lead: int = 0
    trail: int = 0
    indirect: bool = False

    def extents(self) -> tuple[int, ...]:
        return tuple(
            (max(side, 1) - 1) * abs(step) + 1 + pad
            for side, step, pad in zip(self.shape, self.steps, self.pads, strict=True)
        )

    def base_strides(self) -> tuple[int, ...]:
        extents = self.extents()
        dims = range(len(extents)) if self.fortran else reversed(range(len(extents)))
        strides = [0] * len(extents)
        size = 1
        for dim in dims:
            strides[dim] = size
            size *= extents[dim]
        return tuple(strides)

    def block(self) -> int:
        size = 1
        for extent in self.extents():
            size *= extent
        return size

    def strides(self) -> tuple[int, ...]:
        return tuple(
            step * base for step, base in zip(self.steps, self.base_strides(), strict=True)
        )

    def start(self) -> int:
        reach = zip(self.shape, self.strides(), strict=True)
        back = sum((side - 1) * -stride for side, stride in reach if side and stride < 0)
        return self.lead + back

    def total(self) -> int:
        return self.lead + self.block() + self.trail

    def slots(self) -> list[int]:
        """The item each element reaches, elements in C order (an item reached twice,
        through a zero stride, is listed twice)."""
        reached = [self.start()]
        for side, stride in zip(self.shape, self.strides(), strict=True):
            reached = [slot + index * stride for slot in reached for index in range(side)]
        return reached

    def plain(self) -> bool:
        """True if the base block is the whole array (NDArray's default strides)."""
        return self.lead == self.trail == 0 and set(self.steps) <= {1} and not any(self.pads)

    def within_budget(self, keep: set[int]) -> _Geometry:
        """This geometry with at most ``MAX_SLOTS`` items in its block: dimensions fall
        back to steps of +-1 (or 0) without padding, those not in ``keep`` first, until
        it fits. It always does: then the block holds at most ``MAX_ELEMENTS`` items."""
        geometry = self
        for dim in sorted(range(len(self.shape)), key=lambda dim: dim in keep):
            if geometry.block() <= MAX_SLOTS:
                break
            steps, pads = list(geometry.steps), list(geometry.pads)
            steps[dim], pads[dim] = (steps[dim] > 0) - (steps[dim] < 0), 0
            geometry = dataclasses.replace(geometry, steps=tuple(steps), pads=tuple(pads))
        return geometry


# Strategies are made once per argument: Hypothesis validates each new one it draws from.


@lru_cache(maxsize=4096)
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


@lru_cache(maxsize=256)
def _choice(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


@lru_cache(maxsize=64)
def _one_in(count: int) -> st.SearchStrategy[bool]:
    """True about one time in ``count`` (shrinks to False)."""
    return st.integers(1, count).map(lambda n: n == count)


@lru_cache(maxsize=1024)
def _lists(values: st.SearchStrategy[Any], count: int, unique: bool) -> st.SearchStrategy[Any]:
    if not unique:
        return st.lists(values, min_size=count, max_size=count)
    # (sub-array items are lists: unhashable, so their text tells them apart)
    return st.lists(values, min_size=count, max_size=count, unique_by=repr)


_ODDS: Final = {
    "scalar": 10,
    "empty": 12,
    "strided": 2,
    "negative": 2,
    "zero": 3,
    "fortran": 3,
    "offset": 3,
    "indirect": 2,
}
"""Each kind but ``'C'`` is drawn on its own, one time in so many: a kind is a choice
of its own, which Hypothesis's generator does not crowd out as it may the values of
one many-valued choice."""
_GATE_ORDER: Final = (
    "indirect",
    "offset",
    "zero",
    "negative",
    "fortran",
    "strided",
    "empty",
    "scalar",
)
"""The order the kinds are drawn in. The shrinker lowers earlier choices first, so of two
arrays that fail alike it keeps the one whose kinds come later: the plainest last (gaps
explain a stride bug better than a zero stride does, which reads one item twice)."""


def _step_options(kinds: set[str]) -> tuple[int, ...]:
    """The steps a dimension may take, simplest first."""
    options = [1]
    options += [2, 3] if "strided" in kinds else []
    options += [-1] if "negative" in kinds else []
    options += [-2] if {"negative", "strided"} <= kinds else []
    options += [0] if "zero" in kinds else []
    return tuple(options)


def _force(kind: str, steps: list[int], dim: int) -> None:
    """Give dimension ``dim`` the dimension kind ``kind`` (a strided negative step stays)."""
    step = steps[dim]
    if kind == "zero":
        steps[dim] = 0
    elif kind == "negative":
        steps[dim] = -abs(step) or -1
    elif abs(step) < 2:
        steps[dim] = -2 if step < 0 else 2


def _free_dim(dim: int, taken: set[int], ndim: int) -> int:
    """``dim``, or the next dimension inward (wrapping) that no other kind took, if any."""
    for candidate in itertools.chain(range(dim, -1, -1), range(ndim - 1, dim, -1)):
        if candidate not in taken:
            return candidate
    return dim


_ALONE_WEIGHTS: Final = {"fortran": 3, "C": 2}
"""How many times a kind is listed among those an array may be alone of: a
Fortran-contiguous (or C-contiguous) array shows only when no other kind is mixed in."""


@lru_cache(maxsize=64)
def _single_options(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds an array may be alone of, in order, the rarer ones repeated."""
    return tuple(kind for kind in kinds for _ in range(_ALONE_WEIGHTS.get(kind, 1)))


@st.composite
def _kinds_of_one(draw: st.DrawFn, kinds: tuple[str, ...]) -> set[str]:
    """The kinds one array combines. Half the arrays are of one listed kind alone
    (``'C'``: none), so that each plain kind (Fortran-contiguous, say) is common; the
    others mix the listed kinds, each on its own odds, one at least when ``'C'`` is not
    listed."""
    if not draw(_one_in(2)):
        return {draw(_choice(_single_options(kinds)))} - {"C"}
    chosen: set[str] = {k for k in _GATE_ORDER if k in kinds and draw(_one_in(_ODDS[k]))}
    if not chosen and "C" not in kinds:
        chosen = {draw(_choice(kinds))}
    return {"scalar"} if "scalar" in chosen else chosen


@st.composite
def _shapes(draw: st.DrawFn, least: list[int], max_side: int, empty: bool) -> list[int]:
    """Sides from ``least`` (1 or 2 each) to ``max_side``, with at most ``MAX_ELEMENTS``
    elements: each side leaves room for the least of the sides after it. One side is 0
    if ``empty``: one whose least is 1 where there is one (the others show a kind)."""
    shape, room = [], MAX_ELEMENTS
    reserved = math.prod(least)
    for low in least:
        reserved //= low
        side = draw(_ints(low, max(low, min(max_side, room // reserved))))
        shape.append(side)
        room //= side
    if empty:
        free = [dim for dim, low in enumerate(least) if low == 1] or list(range(len(least)))
        shape[free[draw(_ints(0, len(free) - 1))]] = 0
    return shape


@st.composite
def _geometries(draw: st.DrawFn, kinds: tuple[str, ...], max_ndim: int, max_side: int) -> _Geometry:
    """A geometry of the listed kinds (``KINDS``), several at a time, each visible: a
    dimension given a kind, and the first two of a Fortran array, have 2 elements or more."""
    chosen = draw(_kinds_of_one(kinds))
    if "scalar" in chosen:
        return _Geometry((), (), ())
    fortran = "fortran" in chosen
    ndim = draw(_ints(2 if fortran else 1, max_ndim))
    forced: dict[str, int] = {}
    for kind in _DIMENSION_KINDS:
        if kind in chosen:
            innermost_first = ndim - 1 - draw(_ints(0, ndim - 1))
            forced[kind] = _free_dim(innermost_first, set(forced.values()), ndim)
    visible = set(forced.values()) | ({0, 1} if fortran else set())
    least = [2 if dim in visible and max_side > 1 else 1 for dim in range(ndim)]
    shape = draw(_shapes(least, max_side, "empty" in chosen))
    steps = [draw(_choice(_step_options(chosen))) for _ in range(ndim)]
    inner = range(ndim - 1) if fortran else range(1, ndim)  # a padded dimension leaves gaps
    padded = "strided" in chosen
    pads = [draw(_ints(0, 1)) if padded and dim in inner else 0 for dim in range(ndim)]
    for kind in _FORCE_ORDER:
        if kind in forced:
            _force(kind, steps, forced[kind])
    lead = trail = 0
    if "offset" in chosen:
        lead, trail = draw(_ints(1, 2)), draw(_ints(0, 2))
    geometry = _Geometry(
        tuple(shape), tuple(steps), tuple(pads), fortran, lead, trail, "indirect" in chosen
    )
    return geometry.within_budget(set(forced.values()))


# --- arrays -----------------------------------------------------------------------------


_ND_NAMES: Final = (("ND_WRITABLE", ND_WRITABLE), ("ND_FORTRAN", ND_FORTRAN), ("ND_PIL", ND_PIL))


class _NDFlags(int):
    """NDArray's layout flags, shown by their ``bufferkit.testbuffer`` names in the
    falsifying examples Hypothesis prints (``flags=ND_WRITABLE | ND_PIL``)."""

    def __repr__(self) -> str:
        return " | ".join(name for name, bit in _ND_NAMES if self & bit) or "0"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def _arguments(
    fmt: str, geometry: _Geometry, writable: bool, values: list[Any]
) -> tuple[Any, dict[str, Any]]:
    """``NDArray``'s arguments: ``values`` (one per element, in C order) at the geometry's
    slots, fillers elsewhere, the first element's value where several share an item;
    arguments equal to their defaults left out (what Hypothesis prints reads shorter)."""
    if not geometry.shape:
        contents: Any = values[0]
    else:
        contents = [_filler(fmt)] * geometry.total()
        for slot, value in reversed(list(zip(geometry.slots(), values, strict=True))):
            contents[slot] = value
    itemsize = Format(fmt).itemsize
    kwargs: dict[str, Any] = {"shape": list(geometry.shape)}
    if not geometry.plain():
        kwargs["strides"] = [stride * itemsize for stride in geometry.strides()]
        if geometry.start():
            kwargs["offset"] = geometry.start() * itemsize
    if fmt != "B":
        kwargs["format"] = fmt
    flags = ND_WRITABLE if writable else 0
    flags |= ND_FORTRAN if geometry.fortran and geometry.plain() else 0
    flags |= ND_PIL if geometry.indirect else 0
    if flags:
        kwargs["flags"] = _NDFlags(flags)
    return contents, kwargs


@st.composite
def _arrays(
    draw: st.DrawFn,
    families: tuple[tuple[str, ...], ...],
    kinds: tuple[str, ...],
    max_ndim: int,
    max_side: int,
    writable: bool | None,
    values: Callable[[str], st.SearchStrategy[Any]],
) -> NDArray:
    geometry = draw(_geometries(kinds, max_ndim, max_side))
    fmt = draw(_formats_of(families))
    is_writable = draw(_choice((False, True))) if writable is None else writable
    count = len(geometry.slots())  # a value per element: aliasing items saves no choice
    distinct = values is items and count * 4 <= _distinct_items(Format(fmt))
    drawn = draw(_lists(values(fmt), count, distinct))
    contents, kwargs = _arguments(fmt, geometry, is_writable, drawn)
    arguments = {name: st.just(value) for name, value in kwargs.items()}
    array: NDArray = draw(st.builds(NDArray, st.just(contents), **arguments))
    return array


def _chosen_formats(chosen: Iterable[str] | None) -> tuple[str, ...]:
    if chosen is None:
        return exportable_formats()
    texts = (chosen,) if isinstance(chosen, str) else tuple(chosen)
    if not texts:
        raise InvalidArgument("formats= must name at least one format")
    for fmt in texts:
        if not isinstance(fmt, str):
            raise InvalidArgument(f"formats= takes format strings, not {fmt!r}")
        _parsed(fmt)
        refusal = _export_refusal(fmt)
        if refusal is not None:
            raise InvalidArgument(f"buffers() cannot draw format {fmt!r} here: {refusal}")
    return texts


def _chosen_kinds(layouts: Iterable[str] | None, max_ndim: int) -> tuple[str, ...]:
    named = KINDS if layouts is None else ((layouts,) if isinstance(layouts, str) else layouts)
    wanted = set(named)
    unknown = sorted(str(kind) for kind in wanted - set(KINDS))
    if unknown:
        raise InvalidArgument(f"unknown layout kinds {unknown}: the kinds are {list(KINDS)}")
    least_ndim = {"scalar": 0, "fortran": 2}
    kinds = tuple(k for k in KINDS if k in wanted and least_ndim.get(k, 1) <= max_ndim)
    if not kinds:
        raise InvalidArgument(f"no layout of kinds {sorted(wanted)} has at most {max_ndim} dims")
    return kinds


def _bounded(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidArgument(f"{name} must be an int from {low} to {high}, not {value!r}")
    return value


def buffers(
    *,
    formats: Iterable[str] | None = None,
    max_ndim: int = 3,
    max_side: int = 5,
    layouts: Iterable[str] | None = None,
    writable: bool | None = None,
    values: Callable[[str], st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[NDArray]:
    """``NDArray`` exporters of every legal layout, shrinking to the simplest that fails.

    ``formats``: format strings (default: ``exportable_formats()``), the first the
    simplest; ``max_ndim`` (0 to 64) and ``max_side`` bound the shape (and
    ``MAX_ELEMENTS`` the element count); ``layouts``: the ``KINDS`` to draw (each
    array is of one of them and may combine it with the others listed); ``writable``:
    True or False for only writable or only read-only arrays (default both);
    ``values``: a function from a format to a strategy of one item (default ``items``).
    """
    chosen = _chosen_formats(formats)
    ndim = _bounded("max_ndim", max_ndim, 0, _MAX_NDIM)
    side = _bounded("max_side", max_side, 1, MAX_ELEMENTS)
    kinds = _chosen_kinds(layouts, ndim)
    if writable not in (None, True, False):
        raise InvalidArgument(f"writable must be None, True or False, not {writable!r}")
    if values is not None and not callable(values):
        raise InvalidArgument(f"values must map a format to a strategy, not {values!r}")
    return _arrays(_families(chosen), kinds, ndim, side, writable, values or items)


# --- tracking a consumer ----------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Export:
    """One request a consumer made of a tracker, and what became of it.

    ``state``: ``'refused'`` (by ``refuse``), ``'failed'`` (the wrapped object refused),
    ``'held'``, ``'released'``, or ``'dropped'`` (its memoryview died unreleased: CPython
    could not hand it over, or Python code called ``__buffer__`` itself). ``changes``
    names the bytes found modified in a read-only export.
    """

    number: int
    flags: BufferFlags
    state: str = "held"
    readonly: bool = False
    changes: tuple[str, ...] = ()
    _before: bytes | None = dataclasses.field(default=None, repr=False)
    _shape: tuple[int, ...] = dataclasses.field(default=(), repr=False)
    _itemsize: int = dataclasses.field(default=1, repr=False)
    _view: weakref.ref[memoryview] | None = dataclasses.field(default=None, repr=False)

    def __str__(self) -> str:
        return f"#{self.number} {describe(self.flags)}"

    def hold(self, view: memoryview) -> None:
        self.readonly = view.readonly
        self._view = weakref.ref(view)
        self._shape, self._itemsize = tuple(view.shape or ()), view.itemsize
        if view.readonly:
            self._before = view.tobytes()

    def holds(self, view: memoryview) -> bool:
        return self._view is not None and self._view() is view

    def compare(self) -> None:
        """Look for writes into a read-only export (while its memoryview lives)."""
        view = self._view() if self._view is not None else None
        if self._before is not None and view is not None:
            self.changes = _changes(self._before, view.tobytes(), self._itemsize, self._shape)

    def release(self) -> None:
        self.compare()
        self.state = "released"
        self._view = None


_SHOWN_CHANGES: Final = 4


def _changes(before: bytes, after: bytes, itemsize: int, shape: tuple[int, ...]) -> tuple[str, ...]:
    """The items whose bytes differ (C order), the first few by index."""
    if before == after:
        return ()
    changed = [
        position
        for position in range(0, len(before), itemsize)
        if before[position : position + itemsize] != after[position : position + itemsize]
    ]
    shown = []
    for position in changed[:_SHOWN_CHANGES]:
        span = slice(position, position + itemsize)
        index = _unravel(position // itemsize, shape)
        shown.append(f"item {index} was {before[span]!r}, now {after[span]!r}")
    if len(changed) > _SHOWN_CHANGES:
        shown.append(f"and {len(changed) - _SHOWN_CHANGES} more items")
    return tuple(shown)


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    position = []
    for side in reversed(shape):
        index, rest = divmod(index, side)
        position.append(rest)
    return tuple(reversed(position))


def _refusal_rule(
    refuse: int | Iterable[int] | Callable[[BufferFlags], bool] | None,
) -> Callable[[BufferFlags], bool]:
    """``refuse=`` as a predicate: None, one request, several, or a predicate itself."""
    if refuse is None:
        return lambda flags: False
    if isinstance(refuse, int):
        return lambda flags: flags == refuse
    if isinstance(refuse, collections.abc.Iterable):
        refused = frozenset(int(flags) for flags in refuse)
        return lambda flags: int(flags) in refused
    if callable(refuse):
        return refuse
    raise TypeError(f"refuse must be request flags, several, or a predicate, not {refuse!r}")


def _layout_of(obj: object) -> str:
    """A short description of an exporter and its layout, for failure messages."""
    parts = [type(obj).__name__]
    for name in ("format", "shape", "strides", "suboffsets", "offset"):
        value = getattr(obj, name, None)
        if value not in (None, (), -1) and not (name == "offset" and value == 0):
            parts.append(f"{name}={value!r}")
    if getattr(obj, "readonly", False):
        parts.append("read-only")
    return " ".join(parts)


def _grant_as_exported(view: memoryview) -> None:
    """Let ``view`` grant the contiguous requests its exporter granted.

    The builtin memoryview calls a 1-d view without bytes whose stride is not its
    itemsize non-contiguous; ``PyBuffer_IsContiguous`` (and so every exporter that
    asks it) calls it contiguous. Where ``_capi`` cannot set the flags, they stay.
    """
    if view.nbytes == 0 and not view.suboffsets and not view.c_contiguous:
        _capi.set_memoryview_flags(view, c_contiguous=True, f_contiguous=True, indirect=False)


class Tracker:
    """An exporter over ``obj`` that records every request a consumer makes of it.

    Made by ``track``. ``exports`` lists the requests in order, ``held`` those not
    yet released; ``assert_balanced()`` and ``assert_unmodified()`` check them.
    """

    __slots__ = ("__weakref__", "_exports", "_held", "_refuse", "obj", "serial")

    def __init__(
        self,
        obj: object,
        refuse: int | Iterable[int] | Callable[[BufferFlags], bool] | None = None,
    ) -> None:
        if not isinstance(obj, collections.abc.Buffer):
            raise TypeError(f"track() needs an exporter, not {type(obj).__name__!r}")
        self.obj = obj
        self._refuse = _refusal_rule(refuse)
        self._exports: list[Export] = []
        self._held: dict[int, Export] = {}
        self.serial = _REGISTRY.add(self)

    @property
    def exports(self) -> tuple[Export, ...]:
        return tuple(self._exports)

    @property
    def held(self) -> tuple[Export, ...]:
        return tuple(export for export in self._exports if export.state == "held")

    def __buffer__(self, flags: int, /) -> memoryview:
        export = Export(len(self._exports) + 1, BufferFlags(flags))
        self._exports.append(export)
        if self._refuse(export.flags):
            export.state = "refused"
            raise BufferError(f"track: request {describe(flags)} refused, as asked")
        try:
            view = request(self.obj, flags)
        except BaseException:
            export.state = "failed"
            raise
        _grant_as_exported(view)
        export.hold(view)
        self._held[id(view)] = export
        record_export(view, self)
        return view

    def __release_buffer__(self, view: memoryview, /) -> None:
        export = self._held.get(id(view))
        if export is not None and export.holds(view):
            export.release()
        settle_export(view, self)  # refuses a memoryview this tracker did not export

    def _drop_export(self, key: int) -> None:
        """``managed``'s ledger: an export was settled, or its memoryview died unsettled."""
        export = self._held.pop(key, None)
        if export is not None and export.state == "held":
            export.state = "dropped"

    def unbalanced(self) -> str | None:
        """What ``assert_balanced`` would say, or None."""
        held = self.held
        if not held:
            return None
        names = ", ".join(map(str, held))
        if len(held) == 1:
            return f"{_layout_of(self.obj)}: export {names} not released"
        return f"{_layout_of(self.obj)}: {len(held)} exports not released: {names}"

    def assert_balanced(self) -> None:
        """Raise ``AssertionError`` naming the exports the consumer has not released."""
        problem = self.unbalanced()
        if problem is not None:
            raise AssertionError(problem)

    def assert_unmodified(self) -> None:
        """Raise ``AssertionError`` naming the bytes written into read-only exports."""
        for export in self._exports:
            if export.state == "held":
                export.compare()
        written = [export for export in self._exports if export.changes]
        if written:
            lines = [f"export {export}: {'; '.join(export.changes)}" for export in written]
            raise AssertionError(
                f"a consumer wrote into read-only memory of {_layout_of(self.obj)}:\n  "
                + "\n  ".join(lines)
            )

    def __repr__(self) -> str:
        counts = collections.Counter(export.state for export in self._exports)
        states = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
        return f"<track of {_layout_of(self.obj)}: {states or 'no requests'}>"


def track(
    obj: object,
    *,
    refuse: int | Iterable[int] | Callable[[BufferFlags], bool] | None = None,
) -> Tracker:
    """An exporter wrapping ``obj`` that records every request a consumer makes of it.

    Each request is passed to ``obj`` (one getbuffer, released when the consumer
    releases), except those named in ``refuse`` (request flags, several, or a
    predicate on them), which raise ``BufferError``: a consumer's fallback paths run.
    The bytes of a read-only export are compared at its release.
    """
    return Tracker(obj, refuse)


class _Registry:
    """The trackers alive, by serial number: weakly, so a balanced tracker goes with its
    last user, while a consumer holding an export keeps its tracker listed."""

    def __init__(self) -> None:
        self._trackers: weakref.WeakValueDictionary[int, Tracker] = weakref.WeakValueDictionary()
        self.next = 1

    def add(self, tracker: Tracker) -> int:
        """Register ``tracker``: its serial number."""
        serial, self.next = self.next, self.next + 1
        self._trackers[serial] = tracker
        return serial

    def unbalanced_since(self, serial: int) -> list[str]:
        """What each tracker made since ``serial`` has not been given back, if anything."""
        found = []
        for number, tracker in sorted(self._trackers.items()):
            problem = tracker.unbalanced() if number >= serial else None
            if problem is not None:
                found.append(problem)
        return found


_REGISTRY: Final = _Registry()
