"""NDArray against CPython's C ``_testbuffer.ndarray``: the same input, the same behaviour.

Random constructions (every outcome, attribute, value, builtin memoryview and
re-export with every distinct request), indexing, slicing, slice assignment,
push/pop and the module functions are run on both and compared. The C module
is fed only input it validates itself: moderate shapes, strides and offsets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bufferkit import testbuffer as ours

from oracles import (
    REQUESTS,
    SIGNED,
    UNSIGNED,
    Labels,
    array_summary,
    memoryview_outcome,
    nmemb,
    outcome,
    reexport_outcomes,
)

theirs = pytest.importorskip("_testbuffer")

FORMATS = ["B", "b", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "f", "d", "e", "?",
           "c", "P", "<i", ">h", "=q", "!I", "2i", "3s", "bBhHi", "=bBhHi", "<2h", "Bx", "x",
           "3x", "@B", "xB", "0sB"]  # fmt: skip
BAD_FORMATS: list[Any] = ["", "0s", "Z", "T{B}", "B\x00", "\u00e9", 1, None, b"B", bytearray(b"B")]
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- values -----------------------------------------------------------------------


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
    digits = ""
    for char in fmt.lstrip("@=<>!"):
        if char.isdigit():
            digits += char
            continue
        count = int(digits) if digits else 1
        digits = ""
        if char == "x":
            continue
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


def _both(spec: Spec) -> tuple[Any, Any, Any, Any]:
    return (
        outcome(lambda: spec.build(theirs), lambda a: a),
        outcome(lambda: spec.build(ours), lambda a: a),
        None,
        None,
    )


@given(specs())
@SETTINGS
def test_constructions_agree_everywhere(spec: Spec) -> None:
    """Both accept or both refuse (same type and message); accepted arrays agree on
    every attribute, value, builtin memoryview and re-export with every request."""
    c_made, py_made, _, _ = _both(spec)
    event("accepted" if c_made[0] == "ok" else f"refused: {c_made[0].__name__} {c_made[1][:40]}")
    assert c_made[0] == py_made[0]
    if c_made[0] != "ok":
        assert c_made == py_made
        return
    c_array, py_array = c_made[1], py_made[1]
    event(f"pil={bool(c_array.flags & ours.ND_PIL)}, strides[0] < 0: {c_array.strides[:1] < (0,)}")
    c_labels, py_labels = Labels(), Labels()
    c_labels.add(c_array, "x")
    py_labels.add(py_array, "x")
    assert array_summary(c_array, c_labels) == array_summary(py_array, py_labels)
    assert memoryview_outcome(c_array) == memoryview_outcome(py_array)
    c_reexports = reexport_outcomes(theirs.ndarray, c_array, c_labels, REQUESTS)
    py_reexports = reexport_outcomes(ours.ndarray, py_array, py_labels, REQUESTS)
    for c_result, py_result in zip(c_reexports, py_reexports, strict=True):
        assert c_result == _beyond_pep688(py_array, c_result, py_result)


TOO_MANY_DIMS = (ValueError, "memoryview: number of dimensions must not exceed 64")


def _beyond_pep688(array: Any, c_result: Any, py_result: Any) -> Any:
    """PEP 688 exports through a builtin memoryview: more than 64 dimensions cannot
    be exported (C's buffer can). There ours must fail with the builtin's error."""
    if array.ndim <= 64 or c_result[1][0] != "ok":
        return py_result
    assert py_result == (c_result[0], TOO_MANY_DIMS)
    return c_result


@pytest.mark.parametrize(
    "spec",
    [
        Spec(list(range(12)), [3, 4], None, 0, "i", 2),
        Spec(list(range(24)), [2, 3, 4], [-48, 16, -4], 60, "<i", 0),
        Spec(list(range(12)), [2, 2, 3], [-6, 3, -1], 8, "B", 16),
        Spec(list(range(6)), [2, 3], None, 0, "h", 4 | 2),
        Spec(list(range(5)), [0], [-2], 4, "H", 0),
        Spec(7, [], None, 0, "q", 2),
    ],
    ids=["c-writable", "negative-strides", "pil", "fortran", "empty-odd-stride", "scalar"],
)
def test_every_raw_request_value_agrees(spec: Spec) -> None:
    """All 512 values of the request bits (not only one per class) give the same re-export."""
    c_array, py_array = spec.build(theirs), spec.build(ours)
    c_labels, py_labels = Labels(), Labels()
    c_labels.add(c_array, "x")
    py_labels.add(py_array, "x")
    requests = list(range(512))
    for c_result, py_result in zip(
        reexport_outcomes(theirs.ndarray, c_array, c_labels, requests),
        reexport_outcomes(ours.ndarray, py_array, py_labels, requests),
        strict=True,
    ):
        assert c_result == py_result
