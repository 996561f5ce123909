"""Tests of bufferkit.layout against NumPy, the builtin memoryview, brute force
enumeration of element addresses and a tiny virtual memory for suboffsets."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bufferkit._capi import POINTER_SIZE
from bufferkit.layout import Layout, Selection, c_strides, f_strides

SSIZE_MAX = 2 ** (8 * POINTER_SIZE - 1) - 1
EXAMPLES = settings(max_examples=200, deadline=None)

# -- strategies ---------------------------------------------------------------

itemsizes = st.sampled_from([1, 2, 4, 8])


@st.composite
def direct_layouts(draw: st.DrawFn, max_ndim: int = 4, max_len: int = 5) -> Layout:
    """Random direct layouts whose lowest reachable byte is >= 0."""
    itemsize = draw(itemsizes)
    ndim = draw(st.integers(0, max_ndim))
    shape = draw(st.lists(st.integers(0, max_len), min_size=ndim, max_size=ndim))
    strides = draw(st.lists(st.integers(-20, 20), min_size=ndim, max_size=ndim))
    low = sum(min(0, s * (n - 1)) for n, s in zip(shape, strides, strict=True) if n)
    offset = -low + draw(st.integers(0, 8))
    return Layout(itemsize, shape, strides, None, offset)


def slices(max_abs: int = 8) -> st.SearchStrategy[slice]:
    bound = st.none() | st.integers(-max_abs, max_abs)
    step = st.none() | st.integers(-4, -1) | st.integers(1, 4)
    return st.builds(slice, bound, bound, step)


def key_entries(max_abs: int = 8) -> st.SearchStrategy[Any]:
    return st.integers(-max_abs, max_abs) | slices(max_abs)


@st.composite
def keys(draw: st.DrawFn, ndim: int, allow_extra: bool = False) -> Any:
    """Tuples of ints and slices (maybe one Ellipsis); sometimes a bare entry."""
    count = draw(st.integers(0, ndim + (1 if allow_extra else 0)))
    entries = draw(st.lists(key_entries(), min_size=count, max_size=count))
    if draw(st.booleans()):
        entries.insert(draw(st.integers(0, len(entries))), Ellipsis)
    if len(entries) == 1 and draw(st.booleans()):
        return entries[0]
    return tuple(entries)


# -- helpers ------------------------------------------------------------------


def numpy_array(layout: Layout) -> tuple[np.ndarray, int]:
    """The layout built by as_strided over a fresh buffer; also the buffer's address."""
    hi = layout.extent()[1]
    buffer = np.zeros(max(hi, layout.offset + layout.itemsize) + 1, dtype=np.uint8)
    start = buffer[layout.offset : layout.offset + layout.itemsize].view(f"V{layout.itemsize}")
    array = np.lib.stride_tricks.as_strided(
        start, shape=layout.shape, strides=layout.strides, writeable=False
    )
    return array, buffer.__array_interface__["data"][0]


def address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


def element_addresses(layout: Layout) -> Iterator[int]:
    """Brute force: the byte offset of every element of a direct layout."""
    for index in itertools.product(*(range(n) for n in layout.shape)):
        yield layout.offset + sum(i * s for i, s in zip(index, layout.strides, strict=True))


def outcome(call: Any) -> tuple[str, str] | Any:
    try:
        return call()
    except Exception as exc:  # the type and message are what is compared
        return type(exc).__name__, str(exc)


# -- construction and value semantics ----------------------------------------


def test_constructor_defaults_to_c_strides() -> None:
    layout = Layout(4, [2, 3])
    assert layout.strides == (12, 4)
    assert layout.suboffsets is None
    assert layout.offset == 0
    assert (layout.ndim, layout.nitems, layout.nbytes) == (2, 6, 24)


@pytest.mark.parametrize(
    ("args", "error", "fragment"),
    [
        ((0, [1]), ValueError, "itemsize must be >= 1, not 0"),
        ((1.5, [1]), TypeError, "1.5"),
        ((1, [2, -1]), ValueError, "-1"),
        ((1, [2, "x"]), TypeError, "'x'"),
        ((1, [2, 3], [1]), ValueError, "(1,)"),
        ((1, [2, 3], [3, 1], [0]), ValueError, "(0,)"),
        ((1, [1] * 65), ValueError, "65"),
        ((1, [1], [1], None, 2.0), TypeError, "2.0"),
    ],
)
def test_constructor_rejects_bad_values(
    args: tuple[Any, ...], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=None) as info:
        Layout(*args)
    assert fragment in str(info.value)


def test_constructor_keeps_all_negative_suboffsets() -> None:
    layout = Layout(1, [2, 2], None, [-1, -1])
    assert layout.suboffsets == (-1, -1)
    assert not layout.is_indirect
    assert not layout.is_c_contiguous() and not layout.is_contiguous()
    assert Layout(1, [2, 2], None, [-1, 0]).is_indirect


def test_layout_is_immutable_hashable_and_compared_by_value() -> None:
    a = Layout(2, (3,), (2,), None, 4)
    b = Layout._make(2, (3,), (2,), None, 4)
    assert a == b and hash(a) == hash(b) and type(b) is Layout
    assert a != Layout(2, (3,), (2,), None, 6)
    assert a != (2, (3,), (2,), None, 4)
    with pytest.raises(AttributeError):
        a.offset = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(a)) == a
    assert repr(a) == "Layout(itemsize=2, shape=(3,), strides=(2,), offset=4)"
    assert "suboffsets=(0,)" in repr(Layout(1, [2], None, [0]))


@EXAMPLES
@given(st.lists(st.integers(1, 6), max_size=4), itemsizes)
def test_c_and_f_strides_match_numpy(shape: list[int], itemsize: int) -> None:
    dtype = np.dtype(f"V{itemsize}")
    assert c_strides(shape, itemsize) == np.empty(shape, dtype, order="C").strides
    assert f_strides(shape, itemsize) == np.empty(shape, dtype, order="F").strides
    assert Layout.c(shape, itemsize).is_c_contiguous()
    assert Layout.fortran(shape, itemsize, offset=3).is_f_contiguous()
    assert Layout.fortran(shape, itemsize).strides == f_strides(shape, itemsize)


# -- contiguity ------------------------------------------------------------------


@EXAMPLES
@given(direct_layouts())
def test_contiguity_matches_numpy(layout: Layout) -> None:
    array, _ = numpy_array(layout)
    assert layout.is_c_contiguous() == array.flags["C_CONTIGUOUS"]
    assert layout.is_f_contiguous() == array.flags["F_CONTIGUOUS"]
    assert layout.is_contiguous() == (array.flags["C_CONTIGUOUS"] or array.flags["F_CONTIGUOUS"])


def test_contiguity_edge_cases() -> None:
    # Length-1 dims ignore their stride; no elements -> contiguous (PyBuffer_IsContiguous).
    assert Layout(4, [1, 3], [999, 4]).is_c_contiguous()
    assert Layout(4, [3, 1], [4, -7]).is_f_contiguous()
    assert Layout(4, [0, 3], [5, 5]).is_c_contiguous()
    assert Layout(4, [], []).is_c_contiguous() and Layout(4, [], []).is_f_contiguous()
    assert not Layout(4, [2, 3], [12, 8]).is_contiguous()


# -- extent and verify -------------------------------------------------------------


@EXAMPLES
@given(direct_layouts(), st.integers(0, 80))
def test_verify_accepts_exactly_the_layouts_that_fit(layout: Layout, length: int) -> None:
    touched = [
        byte
        for start in element_addresses(layout)
        for byte in range(start, start + layout.itemsize)
    ]
    fits = all(0 <= byte < length for byte in touched)
    if touched:
        assert layout.extent() == (min(touched), max(touched) + 1)
    else:
        assert layout.extent() == (layout.offset, layout.offset)
    if fits:
        layout.verify(length)
    else:
        with pytest.raises(ValueError, match="layout reaches bytes"):
            layout.verify(length)


@EXAMPLES
@given(direct_layouts(max_ndim=3), st.integers(-30, 30))
def test_verify_with_any_offset(layout: Layout, offset: int) -> None:
    shifted = Layout(layout.itemsize, layout.shape, layout.strides, None, offset)
    addresses = list(element_addresses(shifted))
    fits = all(a >= 0 and a + shifted.itemsize <= 64 for a in addresses)
    if fits:
        shifted.verify(64)
    else:
        with pytest.raises(ValueError, match="layout reaches bytes"):
            shifted.verify(64)


def test_verify_aligned_strides_rule_is_optional() -> None:
    layout = Layout(4, [3], [6])
    layout.verify(16)
    with pytest.raises(ValueError, match="stride 6 is not a multiple of itemsize 4"):
        layout.verify(16, require_aligned_strides=True)
    Layout(4, [3], [8]).verify(20, require_aligned_strides=True)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (Layout(1, [2], [2**70]), "stride 1180591620717411303424 does not fit in Py_ssize_t"),
        (Layout(1, [2**63]), "shape entry"),
        (Layout(1, [1], None, [2**64]), "suboffset"),
        (Layout(1, [1], None, None, -(2**64)), "offset"),
        (Layout(8, [2**61]), "nbytes"),
        (Layout(1, [2, 2], [2**62, 2**62]), "extent end"),
    ],
)
def test_verify_rejects_values_beyond_ssize_t(layout: Layout, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layout.verify(SSIZE_MAX)


def test_verify_message_names_the_reach() -> None:
    with pytest.raises(ValueError, match=r"layout reaches bytes -8\.\.20 .* of a 12-byte buffer"):
        Layout(4, [4], [8], None, -8).verify(12)


def test_empty_layout_touches_nothing() -> None:
    Layout(4, [3, 0], [4, 4], None, 100).verify(0)
    assert Layout(4, [3, 0], [4, 4], None, 100).extent() == (100, 100)


def test_extent_of_indirect_layout_covers_only_the_first_pointer_level() -> None:
    layout = Layout(8, [3, 4, 5], [16, POINTER_SIZE, 8], [-1, 0, -1], 2)
    assert layout.extent() == (2, 2 + 2 * 16 + 3 * POINTER_SIZE + POINTER_SIZE)
    layout.verify(2 + 2 * 16 + 4 * POINTER_SIZE)
    with pytest.raises(ValueError):
        layout.verify(2 + 2 * 16 + 4 * POINTER_SIZE - 1)


def test_element_offset() -> None:
    layout = Layout(2, [3, 4], [-8, 2], None, 16)
    assert layout.element_offset([2, 3]) == 16 - 16 + 6
    with pytest.raises(IndexError, match="index out of bounds on dimension 2"):
        layout.element_offset([0, 4])
    with pytest.raises(ValueError):
        Layout(1, [2], None, [0]).element_offset([0])


# -- resolve vs NumPy ---------------------------------------------------------------


@st.composite
def layouts_and_keys(draw: st.DrawFn) -> tuple[Layout, Any]:
    layout = draw(direct_layouts())
    if layout.ndim == 0:
        return layout, draw(st.sampled_from([(), Ellipsis]))
    return layout, draw(keys(layout.ndim, allow_extra=True))


@settings(max_examples=300, deadline=None)
@given(layouts_and_keys())
def test_resolve_matches_numpy(case: tuple[Layout, Any]) -> None:
    layout, key = case
    array, start = numpy_array(layout)
    entries = key if isinstance(key, tuple) else (key,)
    try:
        expected = array[(*entries, Ellipsis) if Ellipsis not in entries else entries]
    except IndexError:
        with pytest.raises((IndexError, TypeError, NotImplementedError)) as info:
            layout.resolve(key)
        if info.type is TypeError:  # too many indices: the builtin's TypeError
            assert "cannot index" in str(info.value)
        if info.type is NotImplementedError:  # too many slices: the builtin's type
            assert isinstance(key, tuple) and all(isinstance(e, slice) for e in key)
        return
    selection = layout.resolve(key)
    assert isinstance(selection, Selection)
    assert selection.hops == ()
    result = selection.layout
    assert result.shape == expected.shape
    # NumPy turns an empty slice into start 0, step 1; the builtin memoryview (followed
    # here, see test_one_dimensional_indexing_matches_the_builtin) keeps start and step.
    for length, stride, numpy_stride in zip(
        result.shape, result.strides, expected.strides, strict=True
    ):
        assert length == 0 or stride == numpy_stride
    if expected.size:
        assert result.offset == address(expected) - start
    assert result.itemsize == layout.itemsize and result.suboffsets is None
    all_ints = Ellipsis not in entries and len(entries) == layout.ndim
    all_ints = all_ints and not any(isinstance(e, slice) for e in entries)
    assert selection.element == all_ints


@EXAMPLES
@given(direct_layouts(), st.data())
def test_transpose_matches_numpy(layout: Layout, data: st.DataObject) -> None:
    array, start = numpy_array(layout)
    axes = data.draw(st.none() | st.permutations(range(layout.ndim)))
    expected = array.transpose(axes)
    result = layout.transpose(axes)
    assert (result.shape, result.strides) == (expected.shape, expected.strides)
    assert result.offset == address(expected) - start == layout.offset


def test_transpose_rejects_non_permutations() -> None:
    with pytest.raises(ValueError, match=r"axes \(0, 0\)"):
        Layout(1, [2, 3]).transpose([0, 0])
    with pytest.raises(ValueError, match=r"axes \(0,\)"):
        Layout(1, [2, 3]).transpose([0])
    assert Layout(1, [2, 3]).transpose([-1, 0]).shape == (3, 2)


# -- resolve vs the builtin memoryview --------------------------------------------


DATA = bytes(range(256)) * 2


@EXAMPLES
@given(slices(20), st.one_of(st.integers(-25, 25), slices(25), st.just(2**70)))
def test_one_dimensional_indexing_matches_the_builtin(base: slice, key: Any) -> None:
    view = memoryview(DATA[:16])[base]
    start, _, step = base.indices(16)
    layout = Layout(1, [len(view)], [step], None, start)
    expected = outcome(lambda: view[key])
    got = outcome(lambda: layout.resolve(key))
    if isinstance(expected, tuple):
        assert got == expected
        return
    assert isinstance(got, Selection)
    if isinstance(expected, int):
        assert got.element and expected == DATA[got.layout.offset]
    else:
        assert (got.layout.shape, got.layout.strides) == (expected.shape, expected.strides)
        values = [DATA[a] for a in element_addresses(got.layout)]
        assert values == expected.tolist()


@EXAMPLES
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_nd_element_indexing_matches_the_builtin(shape: list[int], data: st.DataObject) -> None:
    size = int(np.prod(shape))
    view = memoryview(DATA[:size]).cast("B", shape=shape)
    layout = Layout(1, shape)
    key = tuple(
        data.draw(
            st.lists(
                st.integers(-5, 5) | st.just(2**64),
                min_size=len(shape),
                max_size=len(shape) + 1,
            )
        )
    )
    expected = outcome(lambda: view[key])
    got = outcome(lambda: layout.resolve(key))
    if isinstance(expected, tuple):
        assert got == expected
    else:
        assert isinstance(got, Selection) and got.element
        assert DATA[got.layout.offset] == expected


BAD_KEYS = [1.0, None, "a", [1], b"x", {1: 2}, (1.0,), (None,)]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_raise_the_builtin_error(key: Any) -> None:
    expected = outcome(lambda: memoryview(b"abc")[key])
    assert outcome(lambda: Layout(1, [3]).resolve(key)) == expected
    assert outcome(lambda: Layout(1, [3, 2]).resolve(key)) == expected


@pytest.mark.parametrize("key", [0, -1, slice(None), (0,), (Ellipsis, Ellipsis), (), Ellipsis])
def test_zero_dim_indexing_matches_the_builtin(key: Any) -> None:
    view = memoryview(bytes(4)).cast("i", shape=[])
    expected = outcome(lambda: view[key])
    layout = Layout(4, [], [], None, 4)
    got = outcome(lambda: layout.resolve(key))
    if isinstance(expected, tuple):
        assert got == expected
    else:
        assert got == Selection(layout, (), key == ())


def test_resolve_error_messages() -> None:
    layout = Layout(1, [4, 6])
    with pytest.raises(TypeError, match=r"only have a single ellipsis \('\.\.\.'\)"):
        layout.resolve((Ellipsis, 0, Ellipsis))
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        layout.resolve((0, slice(None, None, 0)))
    with pytest.raises(TypeError, match="cannot index 2-dimension view with 3-element tuple"):
        layout.resolve((0, 0, 0))
    with pytest.raises(IndexError, match="index out of bounds on dimension 2"):
        layout.resolve((slice(None), 6))
    with pytest.raises(IndexError, match="cannot fit 'int' into an index-sized integer"):
        layout.resolve((0, -(2**64)))


def test_resolve_accepts_index_like_objects() -> None:
    layout = Layout(2, [5, 4])
    assert layout.resolve((np.int64(2), np.int8(-1))) == layout.resolve((2, 3))
    assert layout.resolve(np.intp(1)) == layout.resolve(1)
    assert layout.resolve(slice(np.int64(1), None)) == layout.resolve(slice(1, None))


# -- cast vs the builtin memoryview ------------------------------------------------

FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


@st.composite
def byte_views(draw: st.DrawFn) -> tuple[memoryview, Layout]:
    """A 'B' memoryview (0-3 dims, maybe sliced) and the same layout."""
    ndim = draw(st.integers(0, 3))
    shape = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    size = int(np.prod(shape)) if shape else 1
    view = memoryview(bytes(size)).cast("B", shape=shape)
    layout = Layout(1, shape)
    if ndim == 1 and draw(st.booleans()):
        key = draw(slices(6))
        view = view[key]
        layout = layout.resolve(key).layout
    return view, layout


@settings(max_examples=300, deadline=None)
@given(
    byte_views(),
    itemsizes,
    st.none() | st.lists(st.integers(-1, 8), max_size=4) | st.just([1] * 65),
)
def test_cast_matches_the_builtin(
    source: tuple[memoryview, Layout], itemsize: int, shape: list[int] | None
) -> None:
    view, layout = source
    fmt = FORMATS[itemsize]
    expected = outcome(lambda: view.cast(fmt) if shape is None else view.cast(fmt, shape=shape))
    got = outcome(lambda: layout.cast(itemsize, shape))
    if isinstance(expected, tuple):
        assert got == expected
    else:
        assert isinstance(got, Layout)
        assert (got.shape, got.strides, got.itemsize) == (
            expected.shape,
            expected.strides,
            expected.itemsize,
        )
        assert got.offset == layout.offset


def test_cast_from_wider_items_and_to_zero_dim() -> None:
    view = memoryview(bytes(24)).cast("I", shape=[2, 3])
    layout = Layout(4, [2, 3])
    assert layout.cast(1).shape == view.cast("B").shape == (24,)
    assert Layout(4, [1]).cast(4, []) == Layout(4, [], [], None, 0)
    with pytest.raises(TypeError, match=r"product\(shape\) \* itemsize != buffer size"):
        Layout(4, [2]).cast(4, [])
    with pytest.raises(TypeError, match=r"elements of shape must be integers$"):
        Layout(1, [4]).cast(1, [2.0, 2])  # type: ignore[list-item]


# -- simplified --------------------------------------------------------------------


@EXAMPLES
@given(direct_layouts())
def test_simplified_visits_the_same_bytes_in_the_same_order(layout: Layout) -> None:
    simple = layout.simplified()
    assert list(element_addresses(simple)) == list(element_addresses(layout))
    assert simple.suboffsets is None and simple.itemsize == layout.itemsize
    assert 1 not in simple.shape
    for i in range(simple.ndim - 1):
        assert simple.strides[i] != simple.shape[i + 1] * simple.strides[i + 1]


def test_simplified_merges_a_contiguous_array_into_one_run() -> None:
    assert Layout(4, [2, 3, 4], None, None, 8).simplified() == Layout(4, [24], [4], None, 8)
    assert Layout(4, [2, 3], [-12, -4], None, 20).simplified() == Layout(4, [6], [-4], None, 20)
    with pytest.raises(ValueError, match="direct layout"):
        Layout(1, [2], None, [0]).simplified()


# -- suboffsets: a tiny virtual memory evaluating PEP 3118's get_item_pointer --------


class VirtualMemory:
    """Pointer cells that appear on first read, each pointing at a fresh far region."""

    def __init__(self) -> None:
        self.cells: dict[int, int] = {}
        self.next_region = 1 << 40

    def read_pointer(self, address: int) -> int:
        if address not in self.cells:
            self.cells[address] = self.next_region
            self.next_region += 1 << 24
        return self.cells[address]


def item_pointer(layout: Layout, base: int, index: tuple[int, ...], memory: VirtualMemory) -> int:
    """PEP 3118's get_item_pointer, literally."""
    pointer = base + layout.offset
    for dim, i in enumerate(index):
        pointer += layout.strides[dim] * i
        if layout.suboffsets is not None and layout.suboffsets[dim] >= 0:
            pointer = memory.read_pointer(pointer) + layout.suboffsets[dim]
    return pointer


def selection_pointer(
    selection: Selection, base: int, index: tuple[int, ...], memory: VirtualMemory
) -> int:
    for hop in selection.hops:
        base = memory.read_pointer(base + hop)
    return item_pointer(selection.layout, base, index, memory)


def indices(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(n) for n in shape))


def expand_key(key: Any, shape: tuple[int, ...]) -> list[int | range]:
    """Each dimension's int index or the range of indices its slice selects."""
    entries = list(key) if isinstance(key, tuple) else [key]
    if Ellipsis in entries:
        at = entries.index(Ellipsis)
        entries[at : at + 1] = [slice(None)] * (len(shape) - len(entries) + 1)
    entries += [slice(None)] * (len(shape) - len(entries))
    return [
        range(n)[e] if isinstance(e, slice) else (e + n if e < 0 else e)
        for e, n in zip(entries, shape, strict=True)
    ]


@st.composite
def indirect_layouts(draw: st.DrawFn) -> Layout:
    ndim = draw(st.integers(1, 4))
    shape = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    strides = draw(st.lists(st.integers(-16, 16), min_size=ndim, max_size=ndim))
    suboffsets = draw(st.lists(st.just(-1) | st.integers(0, 16), min_size=ndim, max_size=ndim))
    return Layout(draw(itemsizes), shape, strides, suboffsets, draw(st.integers(0, 32)))


@st.composite
def valid_keys(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    """Keys whose ints are all in range, so only representability can fail."""
    count = draw(st.integers(0, len(shape)))
    entries: list[Any] = [draw(st.integers(-n, n - 1) | slices()) for n in shape[:count]]
    if draw(st.booleans()):
        at = draw(st.integers(0, count))
        entries.insert(at, Ellipsis)
        # entries after the Ellipsis index the trailing dims: re-draw them in range
        tail = len(entries) - at - 1
        for k in range(tail):
            n = shape[len(shape) - tail + k]
            entries[at + 1 + k] = draw(st.integers(-n, n - 1) | slices())
    return entries[0] if len(entries) == 1 and draw(st.booleans()) else tuple(entries)


@settings(max_examples=300, deadline=None)
@given(indirect_layouts(), st.data())
def test_resolve_follows_pointers_to_the_same_elements(layout: Layout, data: st.DataObject) -> None:
    key = data.draw(valid_keys(layout.shape))
    try:
        selection = layout.resolve(key)
    except NotImplementedError as exc:
        assert "not representable" in str(exc) or "negative suboffset" in str(exc)
        event("not representable")
        return
    event(f"hops={len(selection.hops)}, indirect={selection.layout.is_indirect}")
    expanded = expand_key(key, layout.shape)
    kept = [r for r in expanded if isinstance(r, range)]
    assert selection.layout.shape == tuple(len(r) for r in kept)
    assert selection.layout.ndim == len(selection.layout.strides)
    memory = VirtualMemory()
    base = 1 << 32
    for index in indices(selection.layout.shape):
        picks = iter(index)
        original = tuple(r[next(picks)] if isinstance(r, range) else r for r in expanded)
        assert selection_pointer(selection, base, index, memory) == item_pointer(
            layout, base, original, memory
        )
    sub = selection.layout.suboffsets
    assert sub is None or (selection.layout.ndim > 0 and len(sub) == selection.layout.ndim)
    if selection.hops and sub is not None:
        assert any(s >= 0 for s in sub)


@settings(max_examples=200, deadline=None)
@given(indirect_layouts(), st.data())
def test_transpose_of_indirect_layouts_keeps_every_element(
    layout: Layout, data: st.DataObject
) -> None:
    axes = data.draw(st.permutations(range(layout.ndim)))
    ends = [d for d, s in enumerate(layout.suboffsets or ()) if s >= 0]
    group_of = [sum(1 for end in ends if end < d) for d in range(layout.ndim)]
    keeps_groups = all(group_of[axis] == group_of[pos] for pos, axis in enumerate(axes))
    if not keeps_groups:
        with pytest.raises(NotImplementedError, match="pointer"):
            layout.transpose(axes)
        return
    result = layout.transpose(axes)
    memory = VirtualMemory()
    for index in indices(result.shape):
        original = [0] * layout.ndim
        for pos, axis in enumerate(axes):
            original[axis] = index[pos]
        assert item_pointer(result, 0, index, memory) == item_pointer(
            layout, 0, tuple(original), memory
        )


@EXAMPLES
@given(indirect_layouts(), st.integers(0, 120))
def test_verify_of_indirect_layouts_checks_the_first_pointer_level(
    layout: Layout, length: int
) -> None:
    subs = layout.suboffsets or ()
    level = next((d + 1 for d, s in enumerate(subs) if s >= 0), layout.ndim)
    size = POINTER_SIZE if level <= len(subs) and subs[level - 1] >= 0 else layout.itemsize
    first = Layout(1, layout.shape[:level], layout.strides[:level], None, layout.offset)
    touched = [b for a in element_addresses(first) for b in range(a, a + size)]
    assert layout.extent() == (min(touched), max(touched) + 1)
    if all(0 <= b < length for b in touched):
        layout.verify(length)
    else:
        with pytest.raises(ValueError, match="layout reaches bytes"):
            layout.verify(length)


P = POINTER_SIZE
PIL = Layout(1, [3, 4], [P, 1], [0, -1], 0)  # an array of 3 row pointers


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (1, Selection(Layout(1, [4], [1], None, 0), (P,), False)),
        ((2, 3), Selection(Layout(1, [], [], None, 3), (2 * P,), True)),
        ((slice(None), 2), Selection(Layout(1, [3], [P], [2], 0), (), False)),
        (
            (slice(1, 3), slice(1, None)),
            Selection(Layout(1, [2, 3], [P, 1], [1, -1], P), (), False),
        ),
        (
            (Ellipsis, slice(None, None, -1)),
            Selection(Layout(1, [3, 4], [P, -1], [3, -1], 0), (), False),
        ),
    ],
)
def test_pil_row_pointer_cases_by_hand(key: Any, expected: Selection) -> None:
    assert PIL.resolve(key) == expected


def test_an_index_moves_the_suboffset_to_the_previous_direct_dim() -> None:
    # dims: direct (stride 100), indirect (stride P, suboffset 5), direct (stride 1)
    layout = Layout(1, [2, 3, 4], [100, P, 1], [-1, 5, -1], 7)
    selection = layout.resolve((slice(None), 2))
    assert selection == Selection(Layout(1, [2, 4], [100, 1], [5, -1], 7 + 2 * P), (), False)


def test_two_pointer_levels_in_a_row_are_not_representable() -> None:
    layout = Layout(1, [2, 3, 4], [P, P, 1], [0, 0, -1])
    with pytest.raises(NotImplementedError, match="not representable"):
        layout.resolve((slice(None), 1))
    assert layout.resolve((1, 1)).hops == (P, P)


@EXAMPLES
@given(st.integers(2**62, 2**70), slices(2**72))
def test_slices_of_huge_dimensions_count_like_range(length: int, key: slice) -> None:
    # len(range) overflows here; range's own indexing still locates first and last.
    selected = range(length)[key]
    for layout in (Layout(1, [length]), Layout(1, [length], None, [-1])):
        result = layout.resolve(key).layout
        (count,) = result.shape
        assert result.strides == (selected.step,)
        if count:
            assert result.offset == selected[0]
            assert selected[-1] == selected[0] + (count - 1) * selected.step
        else:
            assert not selected


TESTBUFFER_FORMATS = {1: "B", 2: "H", 4: "i", 8: "q"}


@EXAMPLES
@given(
    itemsizes,
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.data(),
)
def test_verify_with_aligned_strides_agrees_with_testbuffer(
    itemsize: int, shape: list[int], data: st.DataObject
) -> None:
    testbuffer = pytest.importorskip("_testbuffer")
    ndim = len(shape)
    strides = [
        itemsize * k for k in data.draw(st.lists(st.integers(-4, 4), min_size=ndim, max_size=ndim))
    ]
    offset = itemsize * data.draw(st.integers(0, 12))
    items = data.draw(st.integers(1, 24))
    layout = Layout(itemsize, shape, strides, None, offset)
    fits = outcome(lambda: layout.verify(items * itemsize, require_aligned_strides=True)) is None
    build = lambda: testbuffer.ndarray(  # noqa: E731
        list(range(items)),
        shape=shape,
        strides=strides,
        offset=offset,
        format=TESTBUFFER_FORMATS[itemsize],
    )
    accepted = not isinstance(outcome(build), tuple)
    assert fits == accepted
