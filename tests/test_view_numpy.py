"""MemoryView against NumPy: random arrays, layouts and multi-dimensional keys.

Arrays of native and byte-swapped ints and floats, half floats, bools, complex
numbers and structured dtypes (sub-array and nested fields), made reversed,
strided, transposed or read-only; keys of ints, slices and one Ellipsis. Both
must agree on shapes, strides and values, and ``numpy.asarray`` of any sub-view
shares memory with the array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit import MemoryView

from layouts import examples
from view_oracles import assert_same_requests, assert_same_view, normalized

EXAMPLES = examples(150)

DTYPES = [
    np.dtype(code)
    for code in ("u1", "i1", "<i2", ">i2", "<u4", ">u4", "<i8", ">u8", "<f2", ">f2", "<f4")
]
DTYPES += [np.dtype(code) for code in (">f4", "<f8", ">f8", "?", "<c8", ">c8", "<c16", ">c16")]
DTYPES += [
    np.dtype([("a", "<i4"), ("b", ">f8", (2,))]),
    np.dtype([("a", "u1"), ("b", "<i4"), ("c", "<f2", (2, 2))], align=True),
    np.dtype([("p", "<i2"), ("q", "u1"), ("s", "S3")]),
    np.dtype([("x", [("p", "<i2"), ("q", ">f4")]), ("y", "<c8")], align=True),
]


def plain(value: Any) -> Any:
    """NumPy's values as Python's: arrays and NumPy scalars become lists and builtins."""
    if isinstance(value, (np.ndarray, MemoryView)):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, (list, tuple)):
        return type(value)(map(plain, value))
    if isinstance(value, bytes):  # NumPy drops the trailing NULs of 'S' items, struct keeps them
        return value.rstrip(b"\0")
    return value


def same_values(ours: Any, theirs: Any) -> bool:
    return bool(normalized(plain(ours)) == normalized(plain(theirs)))


@dataclass(frozen=True)
class ArraySpec:
    """How to build one random array (twice if needed: same layout, separate memory)."""

    raw: bytes
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    fortran: bool
    steps: tuple[int, ...]
    axes: tuple[int, ...]
    readonly: bool
    broadcast: bool = False  # a leading dimension of stride 0 (read-only arrays only)

    def make(self, writable: bool = False) -> np.ndarray:
        array = np.frombuffer(self.raw, dtype=self.dtype).reshape(self.shape).copy()
        if self.fortran:
            array = np.asfortranarray(array)
        if self.shape:  # (indexing a 0-d array with () gives a scalar)
            array = array[tuple(slice(None, None, step) for step in self.steps)]
            array = array.transpose(self.axes)
        array.flags.writeable = writable or not self.readonly
        if self.broadcast and not writable:
            array = np.broadcast_to(array, (2, *array.shape))
        return array


@st.composite
def array_specs(draw: st.DrawFn) -> ArraySpec:
    """Any dtype above; C or Fortran order, then reversed/strided, transposed, read-only."""
    dtype = draw(st.sampled_from(DTYPES))
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    count = int(np.prod(shape)) if shape else 1
    raw = draw(st.binary(min_size=count * dtype.itemsize, max_size=count * dtype.itemsize))
    if dtype == np.dtype("?"):
        raw = bytes(byte & 1 for byte in raw)  # other bytes are not valid C bools
    steps = draw(st.lists(st.sampled_from([1, 1, -1, 2, -2, 3]), min_size=ndim, max_size=ndim))
    axes = draw(st.permutations(range(ndim))) if draw(st.booleans()) else range(ndim)
    fortran, readonly, broadcast = (draw(st.booleans()) for _ in range(3))
    return ArraySpec(raw, dtype, shape, fortran, tuple(steps), tuple(axes), readonly, broadcast)


def arrays() -> st.SearchStrategy[np.ndarray]:
    return array_specs().map(ArraySpec.make)


@st.composite
def keys(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """A valid key: an int or a slice (any step) per dimension, maybe one Ellipsis for a run
    of them, maybe the last ones left out."""
    entries: list[Any] = []
    for length in shape:
        if length and draw(st.booleans()):
            entries.append(draw(st.integers(-length, length - 1)))
        else:
            bound = st.none() | st.integers(-length - 2, length + 2)
            step = st.none() | st.sampled_from([1, 2, 3, -1, -2, -3])
            entries.append(slice(draw(bound), draw(bound), draw(step)))
    start = draw(st.integers(0, len(entries)))
    stop = draw(st.integers(start, len(entries)))
    if draw(st.booleans()):
        entries[start:stop] = [Ellipsis]
    else:
        del entries[start:]
    return tuple(entries)


def strides_that_matter(array: Any) -> tuple[int | None, ...] | None:
    """The strides of dimensions longer than 1 (NumPy exports others as it likes)."""
    if 0 in array.shape:
        return None
    return tuple(s if n > 1 else None for n, s in zip(array.shape, array.strides, strict=True))


def assert_same_array(ours: MemoryView, theirs: np.ndarray, original: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert strides_that_matter(ours) == strides_that_matter(theirs)
    assert ours.itemsize == theirs.itemsize
    assert ours.readonly == (not theirs.flags.writeable)
    assert same_values(ours.tolist(), theirs.tolist())
    raw = memoryview(theirs).tobytes()  # padding bytes too (NumPy's tobytes skips them)
    assert ours.tobytes() == raw
    exported = np.asarray(ours)
    assert exported.shape == theirs.shape
    assert strides_that_matter(exported) == strides_that_matter(theirs)
    assert memoryview(exported).tobytes() == raw
    if theirs.size:
        assert np.shares_memory(exported, original)


@EXAMPLES
@given(arrays())
def test_whole_arrays(array: np.ndarray) -> None:
    view, builtin = MemoryView(array), memoryview(array)
    assert view.format == builtin.format
    assert (view.c_contiguous, view.f_contiguous) == (builtin.c_contiguous, builtin.f_contiguous)
    assert_same_array(view, array, array)
    if array.ndim:
        items = list(view)
        assert len(items) == len(array)
        assert all(same_values(item, their) for item, their in zip(items, array, strict=True))


@EXAMPLES
@given(arrays())
def test_numpy_arrays_against_the_builtin(array: np.ndarray) -> None:
    """The builtin differential over NumPy's exports: attributes, reads, every request."""
    builtin, ours = memoryview(array), MemoryView(array)
    assert_same_view(builtin, ours, "v")
    assert_same_requests(builtin, ours)
    if builtin.ndim == 1:
        assert_same_view(builtin[::-2], ours[::-2], "v[::-2]")


@EXAMPLES
@given(arrays(), st.data())
def test_random_keys_select_what_numpy_selects(array: np.ndarray, data: st.DataObject) -> None:
    view = MemoryView(array)
    for _ in range(4):
        key = data.draw(keys(array.shape))
        theirs = array[key]
        ours = view[key]
        if isinstance(theirs, np.ndarray):
            assert isinstance(ours, MemoryView), key
            assert_same_array(ours, theirs, array)
            assert_same_array(view[key], theirs, array)  # a slicing the view remembers
            inner = data.draw(keys(theirs.shape))
            deeper = theirs[inner]
            if isinstance(deeper, np.ndarray):
                assert_same_array(ours[inner], deeper, array)
            else:
                assert same_values(ours[inner], deeper)
        else:
            assert same_values(ours, theirs), key


@EXAMPLES
@given(arrays(), st.data())
def test_transpose_as_numpy(array: np.ndarray, data: st.DataObject) -> None:
    view = MemoryView(array)
    assert_same_array(view.T, array.T, array)
    axes = data.draw(st.permutations(range(array.ndim)))
    assert_same_array(view.transpose(*axes), array.transpose(axes), array)
    assert_same_array(view.transpose(axes), array.transpose(axes), array)


@EXAMPLES
@given(array_specs(), st.data())
def test_assignment_into_sub_views(spec: ArraySpec, data: st.DataObject) -> None:
    theirs, mine = spec.make(writable=True), spec.make(writable=True)
    view = MemoryView(mine)
    for _ in range(3):
        key = data.draw(keys(theirs.shape))
        target = theirs[key]
        if not isinstance(target, np.ndarray):
            continue
        raw = data.draw(st.binary(min_size=target.nbytes, max_size=target.nbytes))
        if spec.dtype == np.dtype("?"):
            raw = bytes(byte & 1 for byte in raw)
        source = np.frombuffer(raw, spec.dtype).reshape(target.shape)
        target[...] = source
        view[key] = source
        assert mine.tobytes() == theirs.tobytes()


@EXAMPLES
@given(array_specs(), st.data())
def test_element_assignment(spec: ArraySpec, data: st.DataObject) -> None:
    theirs, mine = spec.make(writable=True), spec.make(writable=True)
    if not theirs.size:
        return
    view = MemoryView(mine)
    for _ in range(3):
        key = tuple(data.draw(st.integers(-length, length - 1)) for length in theirs.shape)
        other = tuple(data.draw(st.integers(0, length - 1)) for length in theirs.shape)
        view[key] = view[other]  # a value of the right kind, as bufferkit reads it
        theirs[key] = theirs[other]
        assert same_values(view[key], theirs[key])
    assert same_values(mine.tolist(), theirs.tolist())


@EXAMPLES
@given(arrays())
def test_read_only_arrays_refuse_assignment(array: np.ndarray) -> None:
    array.flags.writeable = False
    view = MemoryView(array)
    assert view.readonly
    with pytest.raises(TypeError, match="read-only"):
        view[(0,) * array.ndim] = 0
