"""Every format of the grammar through MemoryView: reads, writes, comparison, casts.

Values are checked against ``struct`` (standard sizes in every byte order,
records, strings), NumPy (complex, structured dtypes) and ctypes (its exports:
``'<i'``, records, ``'<O'``, ``wchar_t`` as ``'<u'``). Also ``from_memory``,
``transpose`` and indirect (suboffset) layouts.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import struct
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit import Format, MemoryView

from layouts import Spec, examples, item_values, specs, testbuffer
from view_oracles import nested, normalized, struct_items, struct_tolist

EXAMPLES = examples(100)
PIL_WRITABLE = testbuffer.ND_PIL | testbuffer.ND_WRITABLE
CODES = "bBhHiIlLqQefd?"
PREFIXES = ("<", ">", "=", "!", "@", "")
SWAP = ">" if sys.byteorder == "little" else "<"


def prefixed(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(PREFIXES)) + draw(st.sampled_from(CODES))


@st.composite
def standard_data(draw: st.DrawFn) -> tuple[str, list[Any]]:
    """A one-code format in any byte order and some values of it."""
    fmt = prefixed(draw)
    return fmt, draw(st.lists(item_values(fmt), max_size=6))


def has_nan(values: list[Any]) -> bool:
    return any(isinstance(value, float) and math.isnan(value) for value in values)


@EXAMPLES
@given(standard_data())
def test_standard_sizes_in_every_byte_order(case: tuple[str, list[Any]]) -> None:
    fmt, values = case
    data = bytearray(struct.pack(f"{fmt[:-1]}{len(values)}{fmt[-1]}", *values))
    view = MemoryView(data).cast(fmt)
    expected = struct_items(fmt, bytes(data))
    assert normalized(view.tolist()) == normalized(expected)
    assert normalized(list(view)) == normalized(expected)
    for index in range(-len(values), len(values)):
        assert normalized(view[index]) == normalized(expected[index])
    assert (view == MemoryView(bytes(data)).cast(fmt)) is not has_nan(expected)
    if values and not has_nan(expected):
        assert view.count(expected[0]) == expected.count(expected[0])
        assert view.index(expected[0]) == expected.index(expected[0])
        view[-1] = values[0]
        assert data[-view.itemsize :] == struct.pack(fmt, values[0])


def test_byte_orders_compare_by_value() -> None:
    little = MemoryView(struct.pack("<3i", 1, -2, 3)).cast("<i")
    big = MemoryView(struct.pack(">3i", 1, -2, 3)).cast(">i")
    native = memoryview(struct.pack("=3i", 1, -2, 3)).cast("i")
    assert little == big == native and big == little
    assert big != MemoryView(struct.pack(">3i", 1, -2, 4)).cast(">i")
    assert little == MemoryView(struct.pack("<3q", 1, -2, 3)).cast("<q")  # other sizes, same values
    assert MemoryView(struct.pack("<2d", math.nan, 1.0)).cast("<d") != MemoryView(
        struct.pack("<2d", math.nan, 1.0)
    ).cast("<d")


def test_ctypes_exports() -> None:
    ints = (ctypes.c_int * 3)(1, -2, 3)
    view = MemoryView(ints)
    assert view.format == "<i" and view.tolist() == [1, -2, 3]
    view[1] = 7
    assert ints[1] == 7
    with pytest.raises(ValueError):
        view[0] = 2**31
    with pytest.raises(TypeError):
        view[0] = 1.5

    class Point(ctypes.Structure):
        _fields_ = (("x", ctypes.c_short), ("y", ctypes.c_double), ("tag", ctypes.c_char * 3))

    points = (Point * 2)((1, 2.5, b"ab"), (3, -1.0, b"xyz"))
    records = MemoryView(points)
    assert records.tolist() == [(1, 2.5, [b"a", b"b", b"\0"]), (3, -1.0, [b"x", b"y", b"z"])]
    records[0] = (5, 0.5, [b"q", b"r", b"s"])
    assert (points[0].x, points[0].y, points[0].tag) == (5, 0.5, b"qrs")

    text = (ctypes.c_wchar * 3)("a", "é", "\U0001f600")
    assert MemoryView(text).tolist() == ["a", "é", "\U0001f600"]


def test_objects_are_read_only() -> None:
    marker = object()
    block = (ctypes.py_object * 3)(1, "a", marker)
    view = MemoryView(block)
    assert view.format == memoryview(block).format == "<O"
    assert view.tolist() == [1, "a", marker] and view[2] is marker
    assert list(view) == [1, "a", marker] and marker in view
    assert view == MemoryView(block) and view[1:] != view[:2]
    for store in (lambda: view.__setitem__(0, 5), lambda: view.__setitem__(slice(0, 1), view[1:2])):
        with pytest.raises(TypeError, match="object"):
            store()
    assert view.tolist() == [1, "a", marker]


def test_complex_numbers() -> None:
    values = np.array([1 + 2j, -0.5j, complex(math.inf, -1)], dtype="<c16")
    for dtype in ("<c16", ">c16", "<c8", ">c8"):
        array = values.astype(dtype)
        view = MemoryView(array)
        assert view.format == memoryview(array).format
        assert view.tolist() == array.tolist() and list(view) == array.tolist()
        assert view[1] == array[1]
        writable = array.copy()
        MemoryView(writable)[0] = 3 - 4j
        assert writable[0] == 3 - 4j
        assert MemoryView(writable)[::-1].tolist() == writable[::-1].tolist()
        assert view == MemoryView(array.astype("<c16"))  # compared by value
    pair = MemoryView(bytearray(struct.pack("<2f", 1.5, -2.0))).cast("<Zf")
    assert pair.tolist() == [1.5 - 2j]
    with pytest.raises((TypeError, ValueError)):
        pair[0] = "abc"


RECORDS = [
    ("T{<h:a:<d:b:}", [(1, 0.5), (-2, 3.25)]),
    ("T{<i:x:T{<h:p:B:q:}:y:}", [(1, (2, 3)), (4, (5, 6))]),
    ("T{(2,3)<h:grid:<e:f:}", [([[1, 2, 3], [4, 5, 6]], 0.5)]),
    ("(2)<i", [[1, 2], [3, 4]]),
    ("T{5s:name:?:flag:}", [(b"ab\0\0\0", True), (b"hello", False)]),
    ("<i2x<h", [(1, 2), (3, 4)]),
    ("T{<w:c:<u:d:}", [("a", "b"), ("\U0001f600", "é")]),
    ("3s", [b"abc", b"x\0\0"]),
    ("T{}", [(), ()]),
]


@pytest.mark.parametrize(("fmt", "items"), RECORDS)
def test_records_sub_arrays_and_strings(fmt: str, items: list[Any]) -> None:
    layout = Format(fmt)
    data = bytearray(layout.pack(items))
    view = MemoryView(data).cast(fmt) if layout.itemsize else None
    if view is None:
        return
    assert view.tolist() == items
    assert list(view) == items and view[-1] == items[-1]
    assert view == MemoryView(bytes(data)).cast(fmt)
    view[0] = items[-1]
    assert view[0] == items[-1]
    assert data[: layout.itemsize] == data[-layout.itemsize :]
    source = MemoryView(layout.pack(items)).cast(fmt)
    view[:] = source[::-1]
    assert view.tolist() == items[::-1]


@st.composite
def cast_pairs(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """Two formats and bytes that both divide into items."""
    first, second = prefixed(draw), prefixed(draw)
    size = math.lcm(struct.calcsize(first), struct.calcsize(second))
    count = draw(st.integers(0, 4))
    return first, second, draw(st.binary(min_size=size * count, max_size=size * count))


@EXAMPLES
@given(cast_pairs())
def test_casts_between_any_two_formats(case: tuple[str, str, bytes]) -> None:
    first, second, data = case
    if "?" in first + second:
        data = bytes(byte & 1 for byte in data)  # other bytes are not valid bools
    view = MemoryView(data).cast(first)
    cast = view.cast(second)
    assert cast.format == second and cast.tobytes() == data
    assert normalized(cast.tolist()) == normalized(struct_items(second, data))
    assert normalized(cast.cast(first).tolist()) == normalized(view.tolist())
    if data:
        count = len(data) // struct.calcsize(second)
        grid = view.cast(second, [1, count])
        assert grid.shape == (1, count) and grid.tobytes() == data
        assert normalized(grid.tolist()) == normalized(struct_tolist(second, data, (1, count)))


def test_casts_keep_the_builtin_size_rules() -> None:
    view = MemoryView(bytes(12)).cast("<i")
    with pytest.raises(TypeError, match="multiple of itemsize"):
        view.cast(">q")
    with pytest.raises(TypeError, match="C-contiguous"):
        view[::2].cast("B")
    with pytest.raises(TypeError, match="1D -> ND or ND -> 1D"):
        view.cast(">h", [2, 3]).cast("<H", [3, 2])
    assert view.cast(">h", [2, 3]).cast("<H").shape == (6,)


def transposed(items: Any, shape: tuple[int, ...], axes: list[int]) -> Any:
    """Nested ``items`` of ``shape`` with the dimensions in the order ``axes``."""
    new_shape = tuple(shape[axis] for axis in axes)
    flat = []
    for index in itertools.product(*map(range, new_shape)):
        item = items
        for position in sorted(range(len(axes)), key=axes.__getitem__):
            item = item[index[position]]
        flat.append(item)
    return nested(flat, new_shape) if 0 not in new_shape else items_of_empty(new_shape)


def items_of_empty(shape: tuple[int, ...]) -> Any:
    return [] if shape[0] == 0 else [items_of_empty(shape[1:]) for _ in range(shape[0])]


@EXAMPLES
@given(specs(min_ndim=1, max_ndim=4, max_length=3), st.data())
def test_transpose_permutes_dimensions(spec: Spec, data: st.DataObject) -> None:
    exporter = spec.make()
    view = MemoryView(exporter)
    axes = data.draw(st.permutations(range(view.ndim)))
    if spec.flags & testbuffer.ND_PIL and axes[0] != 0:
        with pytest.raises(NotImplementedError, match="pointer"):
            view.transpose(*axes)
        return
    items = struct_tolist(spec.format, memoryview(exporter).tobytes(), view.shape)
    expected = transposed(items, view.shape, axes)
    assert normalized(view.transpose(*axes).tolist()) == normalized(expected)
    assert normalized(view.transpose(axes).tolist()) == normalized(expected)
    if not view.suboffsets:
        assert view.T.shape == view.shape[::-1]
        assert normalized(view.T.T.tolist()) == normalized(view.tolist())


def test_from_memory() -> None:
    block = (ctypes.c_uint16 * 6)(*range(6))
    address = ctypes.addressof(block)
    view = MemoryView.from_memory(address, 12)
    assert view.readonly and view.format == "B" and view.obj is None and view.nbytes == 12
    with pytest.raises(TypeError, match="read-only"):
        view[0] = 1
    grid = MemoryView.from_memory(address, 12, readonly=False, format="<H", shape=[2, 3])
    assert grid.tolist() == [[0, 1, 2], [3, 4, 5]] and not grid.readonly
    grid[1, ::-1] = MemoryView(struct.pack("<3H", 7, 8, 9)).cast("<H")
    assert list(block) == [0, 1, 2, 9, 8, 7]
    assert np.asarray(grid).tolist() == [[0, 1, 2], [9, 8, 7]]
    for address_, size in ((0, 4), (address, -1), (-5, 4)):
        with pytest.raises(ValueError):
            MemoryView.from_memory(address_, size)
    with pytest.raises(TypeError):
        MemoryView.from_memory(address, 12, format="<H", shape=[5])
    assert MemoryView.from_memory(address, 0).tolist() == []


@EXAMPLES
@given(specs(min_ndim=1, max_ndim=3, max_length=4, flags=st.just(testbuffer.ND_PIL)), st.data())
def test_indirect_arrays_read_as_their_direct_twins(spec: Spec, data: st.DataObject) -> None:
    """Multi-dimensional indexing and slicing on PIL layouts, against the same direct array."""
    indirect = MemoryView(spec.make())
    direct = MemoryView(
        Spec(spec.items, spec.shape, spec.strides, spec.offset, spec.format, 0).make()
    )
    assert indirect.suboffsets
    assert normalized(indirect.tolist()) == normalized(direct.tolist())
    for _ in range(4):
        key = tuple(data.draw(entries(length)) for length in spec.shape)
        key = key[: data.draw(st.integers(1, len(key)))]
        ours = outcome_of(indirect, key)
        if ours == ("raise", NotImplementedError):  # a negative offset after the pointer
            continue
        assert normalized(ours) == normalized(outcome_of(direct, key)), key


def entries(length: int) -> st.SearchStrategy[Any]:
    ints = st.integers(-length, length - 1) if length else st.nothing()
    steps = st.sampled_from([None, 1, 2, -1, -2])
    bounds = st.none() | st.integers(-length - 1, length + 1)
    return ints | st.builds(slice, bounds, bounds, steps)


def outcome_of(view: MemoryView, key: Any) -> Any:
    try:
        item = view[key]
    except Exception as error:
        return "raise", type(error)
    return ("view", item.shape, item.tolist()) if isinstance(item, MemoryView) else item


@EXAMPLES
@given(
    specs(
        min_ndim=2,
        max_ndim=3,
        max_length=4,
        flags=st.just(testbuffer.ND_PIL | testbuffer.ND_WRITABLE),
    ),
    st.data(),
)
def test_assignment_into_sub_views_of_indirect_arrays(spec: Spec, data: st.DataObject) -> None:
    indirect = MemoryView(spec.make())
    direct = MemoryView(spec.with_flags(testbuffer.ND_WRITABLE).make())
    key = tuple(data.draw(entries(length)) for length in spec.shape)
    target = outcome_of(indirect, key)
    if not (isinstance(target, tuple) and target[0] == "view") or 0 in target[1]:
        return
    shape = list(target[1])
    values = data.draw(st.lists(item_values(spec.format), min_size=1, max_size=1))
    count = math.prod(shape)
    raw = Format(spec.format).pack(values * count)
    source = MemoryView(raw).cast("B").cast(spec.format, shape)
    indirect[key] = source
    direct[key] = source
    assert normalized(indirect.tolist()) == normalized(direct.tolist())
    assert normalized(indirect[key].tolist()) == normalized(source.tolist())


@pytest.mark.parametrize("fmt", [">i", "<Zd", "T{<h:a:B:b:}", "3s"])
def test_iterating_formats_the_builtin_cannot_read(fmt: str) -> None:
    """Items come a run at a time (not one bulk read per item) and stay lazy across runs."""
    size = Format(fmt).itemsize
    data = bytearray(bytes(range(256)) * (700 * size // 256 + 1))[: 700 * size]
    view = MemoryView(data).cast(fmt)
    items = iter(view)
    first = [next(items) for _ in range(10)]
    view[650] = view[0]  # a later run sees a later write
    rest = list(items)
    assert normalized(first + rest) == normalized(view.tolist())
    assert normalized(rest[640]) == normalized(view[0])
    items = iter(view)
    next(items)
    view.release()
    with pytest.raises(ValueError, match="released"):
        list(items)
