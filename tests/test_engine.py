"""engine: gather, scatter, tolist and item access against NumPy and the builtin memoryview."""

from __future__ import annotations

import ctypes
import itertools
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bufferkit import _capi, engine
from bufferkit.formats import Format
from bufferkit.layout import Layout

ARENA = 4096
ORIGIN = 2048


@st.composite
def placed_layouts(draw: st.DrawFn, itemsizes: tuple[int, ...] = (1, 2, 3, 4, 8)) -> Layout:
    """A direct layout with any strides (negative, zero, overlapping) inside the arena."""
    itemsize = draw(st.sampled_from(itemsizes))
    ndim = draw(st.integers(0, 4))
    shape = draw(st.lists(st.integers(0, 6), min_size=ndim, max_size=ndim))
    steps = draw(st.lists(st.integers(-9, 9), min_size=ndim, max_size=ndim))
    layout = Layout(itemsize, shape, [step * itemsize for step in steps], None, ORIGIN)
    layout.verify(ARENA)
    return layout


def arena(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, ARENA, dtype=np.uint8)


def as_numpy(memory: np.ndarray, layout: Layout) -> np.ndarray:
    """NumPy's view of ``layout``, items as opaque ``V<itemsize>`` values."""
    return np.ndarray(
        layout.shape,
        dtype=f"V{layout.itemsize}",
        buffer=memory,
        offset=layout.offset,
        strides=layout.strides,
    )


def is_one_to_one(layout: Layout) -> bool:
    """No byte belongs to two elements (writes then cannot clobber each other)."""
    seen: set[int] = set()
    for index in itertools.product(*map(range, layout.shape)):
        start = sum(i * s for i, s in zip(index, layout.strides, strict=True))
        span = set(range(start, start + layout.itemsize))
        if seen & span:
            return False
        seen |= span
    return True


@settings(max_examples=400, deadline=None)
@given(placed_layouts(), st.sampled_from("CFA"), st.integers(0, 2**32 - 1))
def test_gather_matches_numpy_and_the_builtin(layout: Layout, order: str, seed: int) -> None:
    memory = arena(seed)
    expected = as_numpy(memory, layout).tobytes(order=order if order != "A" else "K")
    if order == "A":  # NumPy's 'A' is not memoryview's: ask the builtin
        expected = b""
        if layout.nitems:
            mv = _capi.memoryview_over(
                memory.ctypes.data + layout.offset,
                itemsize=layout.itemsize,
                fmt="B",  # copied itemsize bytes at a time, whatever the format says
                shape=layout.shape,
                strides=layout.strides,
            )
            expected = mv.tobytes("A")
    assert engine.gather(memory.ctypes.data, layout, order) == expected


@settings(max_examples=300, deadline=None)
@given(placed_layouts(), st.sampled_from("CF"), st.integers(0, 2**32 - 1))
def test_scatter_writes_exactly_the_elements(layout: Layout, order: str, seed: int) -> None:
    memory = arena(seed)
    before = memory.copy()
    data = np.random.default_rng(seed + 1).integers(0, 256, layout.nbytes, dtype=np.uint8)
    engine.scatter(memory.ctypes.data, layout, data.tobytes(), order)
    if is_one_to_one(layout):
        assert engine.gather(memory.ctypes.data, layout, order) == data.tobytes()
    untouched = np.ones(ARENA, dtype=bool)
    for index in itertools.product(*map(range, layout.shape)):
        start = ORIGIN + sum(i * s for i, s in zip(index, layout.strides, strict=True))
        untouched[start : start + layout.itemsize] = False
    assert (memory[untouched] == before[untouched]).all()


def test_scatter_refuses_the_wrong_amount_of_data() -> None:
    memory = arena(0)
    with pytest.raises(ValueError, match="needs 6 bytes, got 5"):
        engine.scatter(memory.ctypes.data, Layout(2, (3,)), b"12345")


def test_copy_handles_overlap() -> None:
    memory = np.arange(16, dtype=np.uint8)
    base = memory.ctypes.data
    engine.copy(base, Layout(1, (8,), offset=2), base, Layout(1, (8,)))
    assert memory.tolist() == [0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15]
    with pytest.raises(ValueError, match="different layouts"):
        engine.copy(base, Layout(1, (3,)), base, Layout(1, (4,)))


@st.composite
def copy_pairs(draw: st.DrawFn) -> tuple[Layout, Layout]:
    """Two layouts of one shape and itemsize in one arena: dense, strided, reversed,
    disjoint or overlapping."""
    itemsize = draw(st.sampled_from((1, 2, 8)))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))

    def placed() -> Layout:
        steps = draw(st.lists(st.integers(-6, 6), min_size=len(shape), max_size=len(shape)))
        offset = draw(st.integers(ORIGIN - 16, ORIGIN + 16))  # overlap is the rule
        layout = Layout(itemsize, shape, [s * itemsize for s in steps], None, offset)
        layout.verify(ARENA)
        return layout

    return placed(), placed()


@settings(max_examples=300, deadline=None)
@given(copy_pairs(), st.integers(0, 2**32 - 1))
@example((Layout(1, (8,), (2,), None, ORIGIN + 1), Layout(1, (8,), None, None, ORIGIN)), 0)
@example((Layout(1, (8,), None, None, ORIGIN + 1), Layout(1, (8,), (2,), None, ORIGIN)), 0)
def test_copy_reads_the_whole_source_before_writing(pair: tuple[Layout, Layout], seed: int) -> None:
    """Whatever path ``copy`` takes (memmove, one gather or scatter in C, or both), the
    result is the source's elements as they were, written in C order."""
    dst, src = pair
    memory, expected = arena(seed), arena(seed)
    base, oracle = memory.ctypes.data, expected.ctypes.data
    engine.scatter(oracle, dst, engine.gather(oracle, src))  # read whole, then write
    engine.copy(base, dst, base, src)
    assert memory.tobytes() == expected.tobytes()


def test_stepped_gather_of_a_transposed_square() -> None:
    memory = np.arange(10000, dtype=np.uint32).astype(np.uint8).reshape(100, 100)
    layout = Layout(1, (100, 100), (1, 100))
    assert engine.gather(memory.ctypes.data, layout) == memory.T.tobytes()
    tall = Layout(1, (100, 20), (1, 100))  # more rows than columns: column-wise assembly
    assert engine.gather(memory.ctypes.data, tall) == memory.T[:, :20].tobytes()


def test_layouts_without_elements_touch_nothing() -> None:
    empty = Layout(4, (3, 0, 2))
    assert engine.gather(0, empty) == b""
    engine.scatter(0, empty, b"")
    assert engine.tolist(0, empty, Format("i")) == [[], [], []]
    assert engine.tolist(0, Layout(4, (0, 3)), Format("i")) == []


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 1, 3), (1, 0), (4, 0, 2)])
def test_nest_matches_numpy_tolist(shape: tuple[int, ...]) -> None:
    count = 1
    for length in shape:
        count *= length
    flat = list(range(count))
    assert engine.nest(flat, shape) == np.arange(count).reshape(shape).tolist()


NUMERIC = ["b", "B", "h", "<H", ">i", "<q", "e", ">f", "<d", "?", "Zf", ">Zd"]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(NUMERIC),
    st.lists(st.integers(0, 4), min_size=0, max_size=3),
    st.integers(0, 2**32 - 1),
)
def test_tolist_matches_numpy(code: str, shape: list[int], seed: int) -> None:
    fmt = Format(code)
    dtype = np.dtype(code.replace("Zf", "c8").replace("Zd", "c16"))
    assert dtype.itemsize == fmt.itemsize
    count = int(np.prod(shape))
    raw = np.random.default_rng(seed).integers(0, 256, count * fmt.itemsize + 8, dtype=np.uint8)
    if code == "?":
        raw %= 2
    values = np.frombuffer(raw.tobytes()[: count * fmt.itemsize], dtype=dtype).reshape(shape)
    reversed_values = values[::-1] if values.ndim else values
    layout = Layout(fmt.itemsize, reversed_values.shape, reversed_values.strides)
    base = reversed_values.ctypes.data
    got = engine.tolist(base, layout, fmt)
    expected = reversed_values.tolist()
    assert repr(got) == repr(expected)  # repr: NaNs compare equal, types must agree


def test_tolist_of_records_and_strings() -> None:
    fmt = Format("T{<h:a:3s:b:}")
    data = struct.pack("<h3sh3s", 1, b"abc", -2, b"xyz")
    holder = np.frombuffer(data, dtype=np.uint8).copy()
    layout = Layout(fmt.itemsize, (2,))
    assert engine.tolist(holder.ctypes.data, layout, fmt) == [(1, b"abc"), (-2, b"xyz")]
    assert engine.tolist(holder.ctypes.data, Layout(5, (), offset=5), fmt) == (-2, b"xyz")


def test_tolist_follows_suboffsets() -> None:
    rows = [np.array([1, 2, 3], dtype=np.int16), np.array([4, 5, 6], dtype=np.int16)]
    pointers = np.array([row.ctypes.data for row in rows], dtype=np.uintp)
    layout = Layout(2, (2, 3), (pointers.itemsize, 2), (0, -1))
    base = pointers.ctypes.data
    assert engine.tolist(base, layout, Format("h")) == [[1, 2, 3], [4, 5, 6]]
    assert engine.tolist(base, layout, Format("<h")) == [[1, 2, 3], [4, 5, 6]]
    assert engine.gather(base, layout, "F") == np.array([1, 4, 2, 5, 3, 6], "<i2").tobytes()
    engine.scatter(base, layout, np.arange(10, 16, dtype=np.int16).tobytes())
    assert rows[0].tolist() == [10, 11, 12] and rows[1].tolist() == [13, 14, 15]


@pytest.mark.parametrize(
    ("code", "value"),
    [("d", 2.5), (">i", -7), ("Zd", 1 - 2j), ("T{b:x:2s:y:}", (3, b"hi")), ("?", True)],
)
def test_read_and_write_one_item(code: str, value: Any) -> None:
    fmt = Format(code)
    memory = np.zeros(32, dtype=np.uint8)
    address = memory.ctypes.data + 8
    engine.write_bytes(address, fmt.pack_one(value))
    assert engine.read_item(address, fmt) == value
    assert memory[:8].tolist() == [0] * 8
    assert memory[8 + fmt.itemsize :].tolist() == [0] * (24 - fmt.itemsize)


def test_builtin_view_keeps_its_keepalive_and_shows_the_layout() -> None:
    memory = _capi.Memory(12)
    memory.view()[:] = bytes(range(12))
    view = engine.builtin_view(
        memory.address, Layout(2, (2, 2), (6, 2), offset=2), "<H", keepalive=memory
    )
    del memory
    assert view.format == "<H" and view.shape == (2, 2) and view.strides == (6, 2)
    assert view.tobytes() == bytes([2, 3, 4, 5, 8, 9, 10, 11])


def test_object_items_are_read_in_place_with_their_references() -> None:
    things = ["x", 3.5, None, ("t",)]
    pointers = (ctypes.py_object * 4)(*things)
    base = ctypes.addressof(pointers)
    layout = Layout(ctypes.sizeof(ctypes.c_void_p), (2, 2))
    assert engine.tolist(base, layout, Format("O")) == [["x", 3.5], [None, ("t",)]]
    assert engine.tolist(base, layout.transpose(), Format("O")) == [["x", None], [3.5, ("t",)]]
    assert engine.read_item(base + layout.strides[0], Format("O")) is None
    empty = (ctypes.py_object * 1)()  # a NULL pointer
    with pytest.raises(ValueError, match="NULL"):
        engine.tolist(ctypes.addressof(empty), Layout(8, (1,)), Format("O"))
