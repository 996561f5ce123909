"""Side by side: bufferkit's NDArray against CPython's C ``_testbuffer.ndarray``.

Everything here turns what one implementation did into plain comparable data
(outcomes, attribute dictionaries), so that a test can assert that both did the
same. The C module is not crash-proof: callers feed it only input it validates.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from bufferkit import testbuffer as ours
from bufferkit.flags import BufferFlags

from strategies import struct_parts

F = BufferFlags

ATTRIBUTES = (
    "flags",
    "offset",
    "nbytes",
    "readonly",
    "itemsize",
    "format",
    "ndim",
    "shape",
    "strides",
    "suboffsets",
    "c_contiguous",
    "f_contiguous",
    "contiguous",
)
VIEW_ATTRIBUTES = (
    "format",
    "itemsize",
    "ndim",
    "shape",
    "strides",
    "suboffsets",
    "nbytes",
    "readonly",
    "c_contiguous",
    "f_contiguous",
    "contiguous",
)


def _request_classes() -> list[int]:
    """One request per distinct answer a getbuffer can give: the smallest bit pattern
    of every combination of the request predicates (72 of them)."""
    seen: dict[tuple[bool, ...], int] = {}
    bits = (
        F.WRITABLE,
        F.FORMAT,
        F.ND,
        F.STRIDES,
        F.C_CONTIGUOUS,
        F.F_CONTIGUOUS,
        F.ANY_CONTIGUOUS,
        F.INDIRECT,
    )
    for mask in range(1 << len(bits)):
        flags = 0
        for index, bit in enumerate(bits):
            if mask >> index & 1:
                flags |= bit
        seen.setdefault(_predicates(flags), flags)
    return sorted(int(flags) for flags in seen.values())


def _predicates(flags: int) -> tuple[bool, ...]:
    def has(pattern: int) -> bool:
        return flags & pattern == pattern

    return (
        has(F.WRITABLE),
        has(F.FORMAT),
        has(F.ND),
        has(F.STRIDES),
        has(F.C_CONTIGUOUS),
        has(F.F_CONTIGUOUS),
        has(F.ANY_CONTIGUOUS),
        has(F.INDIRECT),
    )


REQUESTS = _request_classes()


def _comparable(value: Any) -> Any:
    """Floats by their repr (NaN equals NaN), containers recursively."""
    if isinstance(value, float):
        return repr(value) if math.isnan(value) else value
    if isinstance(value, (list, tuple)):
        return type(value)(map(_comparable, value))
    return value


def outcome(call: Callable[[], Any], describe: Callable[[Any], Any] = _comparable) -> Any:
    """``("ok", described result)`` or ``(exception type, message)``."""
    try:
        result = call()
    except Exception as error:  # every failure is part of the behaviour compared
        return (type(error), str(error).replace("NDArray", "ndarray"))
    return ("ok", describe(result))


@dataclass
class Labels:
    """Names for the objects one side made, so that ``obj`` can be compared by role."""

    names: dict[int, str] = field(default_factory=dict)
    keep: list[Any] = field(default_factory=list)

    def add(self, obj: Any, name: str) -> None:
        self.names[id(obj)] = name
        self.keep.append(obj)

    def of(self, obj: Any) -> Any:
        if obj is None:
            return None
        return self.names.get(id(obj), f"<{type(obj).__name__}>")


def array_summary(array: Any, labels: Labels) -> dict[str, Any]:
    """Every attribute, ``obj`` by label, ``tolist()`` and ``tobytes()`` (as outcomes)."""
    summary = {name: outcome(lambda name=name: getattr(array, name)) for name in ATTRIBUTES}
    summary["obj"] = labels.of(array.obj)
    summary["tolist"] = outcome(array.tolist)
    summary["tobytes"] = outcome(array.tobytes)
    return summary


def view_summary(view: memoryview) -> dict[str, Any]:
    """What a builtin memoryview sees (``obj`` is left out: PEP 688 wraps it)."""
    summary = {name: getattr(view, name) for name in VIEW_ATTRIBUTES}
    summary["tobytes"] = view.tobytes()
    summary["tolist"] = outcome(view.tolist)
    return summary


def memoryview_outcome(exporter: Any) -> Any:
    def look() -> dict[str, Any]:
        with memoryview(exporter) as view:
            return view_summary(view)

    return outcome(look, describe=lambda summary: summary)


def reexport_outcomes(
    kind: Callable[..., Any], exporter: Any, labels: Labels, requests: list[int]
) -> Iterator[tuple[int, Any]]:
    """For each request: what ``kind(exporter, getbuf=request)`` is, and what a
    builtin memoryview of that re-exporter sees."""
    for request in requests:

        def build(request: int = request) -> Any:
            return kind(exporter, getbuf=request)

        made = outcome(build, describe=lambda array: array)
        if made[0] != "ok":
            yield request, made
            continue
        array = made[1]
        yield request, ("ok", array_summary(array, labels), memoryview_outcome(array))
        del array, made


# --- random constructions (inside what the C module validates) --------------------

NATIVE_CODES = ["B", "b", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "f", "d", "e", "?"]
FORMATS = [*NATIVE_CODES, "c", "P", "<i", ">h", "=q", "!I", "2i", "3s", "bBhHi", "=bBhHi"]
FORMATS += ["<2h", "Bx", "@B", "xB", "0sB", "ib", "hb3s"]
if not hasattr(sys, "gettotalrefcount"):  # a debug build's C _testbuffer asserts that an
    FORMATS += ["x", "3x"]  # item has a value: formats of padding alone are not valid input
BAD_FORMATS: list[Any] = ["", "0s", "Z", "T{B}", "B\x00", "\u00e9", 1, None, b"B", bytearray(b"B")]

# --- values -----------------------------------------------------------------------


SIGNED = {"b": 8, "h": 16, "i": 32, "l": 64, "q": 64, "n": 64}
UNSIGNED = {"B": 8, "H": 16, "I": 32, "L": 64, "Q": 64, "N": 64, "P": 64}


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws (away from the ends Hypothesis favours)."""
    return draw(st.integers(0, 2 * one_in)) == one_in


def often(draw: st.DrawFn, percent: int) -> bool:
    """True in about ``percent`` per cent of the draws."""
    return draw(st.integers(0, 99)) < percent


def _code_values(code: str, count: int) -> st.SearchStrategy[Any]:
    if code in SIGNED:
        bits = SIGNED[code]
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if code in UNSIGNED:
        return st.integers(0, 2 ** UNSIGNED[code] - 1)
    if code == "?":
        return st.one_of(st.booleans(), st.integers(-3, 3), st.floats(-2, 2))
    if code == "c":
        return st.binary(min_size=1, max_size=1)
    if code == "s":
        return st.binary(max_size=count + 2)
    widths = {"e": 16, "f": 32, "d": 64}
    return st.floats(width=widths[code], allow_nan=False)  # type: ignore[arg-type]


def _codes(fmt: str) -> list[tuple[str, int]]:
    """(code, count) of each value ``struct`` packs for one item of ``fmt``."""
    parts: list[tuple[str, int]] = []
    for count, char in struct_parts(fmt):
        if char != "x":
            parts.extend([(char, count)] if char == "s" else [(char, 1)] * count)
    return parts


def good_items(fmt: str) -> st.SearchStrategy[Any]:
    """One valid item of ``fmt``: the value, or a tuple of values."""
    values = [_code_values(code, count) for code, count in _codes(fmt)]
    if len(values) == 1:
        return values[0]
    return st.tuples(*values)


BAD_ITEMS = st.sampled_from(["text", None, 1.5, 2**70, -1, (1, 2, 3), [[1]], 1j, b"ab"])


def items_of(fmt: str) -> st.SearchStrategy[Any]:
    """Valid items, now and then one wrapped in a list (which C accepts too)."""
    good = good_items(fmt)
    wrapped = good.map(lambda item: [item] if nmemb(fmt) == 1 else list(item))
    return st.one_of(good, good, good, good, good, good, good, wrapped)


# --- constructions ------------------------------------------------------------------


@dataclass
class Spec:
    """The arguments of one construction (``None`` where an argument is left out)."""

    items: Any
    shape: Any
    strides: Any
    offset: int
    format: Any
    flags: int

    def kwargs(self) -> dict[str, Any]:
        given = {"shape": self.shape, "offset": self.offset, "format": self.format}
        given["flags"] = self.flags
        if self.strides is not None:
            given["strides"] = self.strides
        return given

    def build(self, module: Any) -> Any:
        return module.ndarray(self.items, **self.kwargs())


def _fitting_offset(shape: list[int], strides: list[int], itemsize: int, nitems: int) -> int:
    """An offset that keeps the layout inside the items, where one exists (else 0)."""
    low = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0 and n)
    high = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0 and n)
    room = nitems * itemsize - itemsize - high + low
    return -low if room >= 0 and 0 not in shape else 0


@st.composite
def specs(draw: st.DrawFn, formats: list[str] = FORMATS, bad: bool = True) -> Spec:
    fmt: Any = draw(st.sampled_from(formats))
    if bad and rarely(draw, 15):
        fmt = draw(st.sampled_from(BAD_FORMATS))
    itemsize = struct.calcsize(fmt) if isinstance(fmt, str) and fmt in formats else 1
    ndim = draw(st.integers(0, 4))
    shape: Any = draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim))
    count = 1
    for extent in shape:
        count *= extent
    nitems = max(1, count + draw(st.sampled_from([0, 0, 0, 1, 3])))
    value = items_of(fmt) if isinstance(fmt, str) and fmt in formats else st.integers(0, 9)
    items: Any = draw(st.lists(value, min_size=nitems, max_size=nitems))
    if rarely(draw, 8):
        items[draw(st.integers(0, nitems - 1))] = draw(BAD_ITEMS)
    strides: Any = None
    offset = 0
    if ndim and often(draw, 60):
        steps = draw(st.lists(st.integers(0, 6), min_size=ndim, max_size=ndim))
        strides = [step * itemsize * (-1 if often(draw, 50) else 1) for step in steps]
        if rarely(draw, 8):
            strides[0] = draw(st.sampled_from([10**6 * itemsize, -(10**6) * itemsize, 1]))
        offset = _fitting_offset(shape, strides, itemsize, nitems)
    elif often(draw, 50):
        offset = itemsize * draw(st.integers(0, nitems - 1))
    if rarely(draw, 10):
        offset = draw(st.sampled_from([-itemsize, 1, offset + itemsize, 10**6]))
    flag_value = ours.ND_WRITABLE if often(draw, 50) else 0
    if (strides is None and often(draw, 40)) or rarely(draw, 10):
        flag_value |= ours.ND_FORTRAN
    if (ndim and often(draw, 45)) or rarely(draw, 10):
        flag_value |= ours.ND_PIL
    for flag in (ours.ND_VAREXPORT, ours.ND_GETBUF_FAIL, ours.ND_REDIRECT):
        flag_value |= flag if rarely(draw, 5) else 0
    if ndim == 0:
        items = items[0]
        flag_value |= ours.ND_SCALAR if often(draw, 50) else 0
    shape, strides, items = _spoil(draw, shape, strides, items)
    if isinstance(shape, (list, tuple)) and shape:
        # ND_SCALAR on an array with dimensions is a forged flag: C then refuses
        # every request ("contiguity mismatch"), bufferkit ignores it (testbuffer.md).
        flag_value &= ~ours.ND_SCALAR
    return Spec(items, shape, strides, offset, fmt, flag_value)


def _spoil(draw: st.DrawFn, shape: Any, strides: Any, items: Any) -> tuple[Any, Any, Any]:
    """Now and then one argument of the wrong kind, length or sign."""
    choice = draw(st.integers(0, 60)) - 30
    if choice == 0:
        shape = tuple(shape) if draw(st.booleans()) else 3
    elif choice == 1 and shape:
        shape = [*shape[:-1], draw(st.sampled_from([-1, 1.0, "2", True]))]
    elif choice == 2:
        strides = draw(st.sampled_from([[], [1, 1, 1, 1, 1], 5, [1.5]]))
    elif choice == 3:
        items = draw(st.sampled_from([[], (), "abc", 7]))
    elif choice == 4 and isinstance(items, list):
        items = tuple(items)
    elif choice == 5:
        shape = [1] * draw(st.sampled_from([129, 64, 65]))
    return shape, strides, items


def nmemb(fmt: str) -> int:
    return len(struct.unpack(fmt, bytes(struct.calcsize(fmt))))
