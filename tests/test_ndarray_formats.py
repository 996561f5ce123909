"""NDArray exports every format bufferkit writes: records, complex, long double, pointers.

Random formats (records with names, padding and sub-arrays, complex in both byte
orders, ``g``, ``?``, ``e``, pointers, bits) in random layouts (C, Fortran,
strided, PIL): the items come back from ``tolist()``, item reads and
``MemoryView(nd).tolist()``, and so do items assigned afterwards; the export's
format is the text given; NumPy reads structured layouts the same; the export
passes ``check_exporter``. ``testbuffer.ndarray`` refuses what ``struct`` refuses.
"""

from __future__ import annotations

import array
import dataclasses
import math
import operator
import struct
import sys
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from bufferkit import Format, MemoryView, NDArray, check_exporter, testbuffer
from bufferkit.formats import BUILTIN_TEXTS
from bufferkit.ndarray import ND_FORTRAN, ND_PIL, ND_WRITABLE

from layouts import Spec, arrays_of, examples
from oracles import outcome
from strategies import NUMPY_CODES, format_items, pep3118_formats, struct_formats, struct_reads
from view_oracles import from_numpy, nested, normalized

PACK_ERRORS = (TypeError, ValueError, OverflowError, struct.error)
FORMATS = pep3118_formats()
WITH_STRUCT_FORMATS = st.one_of(
    FORMATS,
    struct_formats().map(lambda fmt: fmt.text).filter(lambda text: struct.calcsize(text) > 0),
)


@st.composite
def format_arrays(draw: st.DrawFn, formats: st.SearchStrategy[str] = FORMATS) -> Spec:
    """A valid array of a random format in a random layout (up to 3 dimensions)."""
    text = draw(formats)
    fmt = Format(text)
    event("struct format" if struct_reads(text) else "Format only")
    layout = arrays_of(text, fmt.itemsize, format_items(fmt), max_ndim=3, max_length=3)
    return draw(layout)


def _expected(spec: Spec) -> Any:
    return normalized(spec.elements(Format(spec.format).itemsize))


@examples(150)
@given(format_arrays(WITH_STRUCT_FORMATS))
def test_items_come_back_from_every_reader(spec: Spec) -> None:
    array = spec.build(NDArray)
    expected = _expected(spec)
    assert normalized(array.tolist()) == expected
    with MemoryView(array) as view:
        assert view.format == spec.format
        assert normalized(view.tolist()) == expected
    if not spec.shape:
        assert normalized(array[()]) == expected
    for index, row in enumerate(expected if spec.shape else []):
        item = array[index]
        assert normalized(item.tolist() if len(spec.shape) > 1 else item) == row


@examples(100)
@given(format_arrays())
def test_the_builtin_memoryview_sees_the_format_given(spec: Spec) -> None:
    """It reads the items where the format is native to it, and refuses otherwise
    (an array without elements it may list without reading any format)."""
    native = Format(spec.format).native is not None
    with memoryview(spec.build(NDArray)) as builtin:
        assert builtin.format == spec.format
        assert builtin.itemsize == Format(spec.format).itemsize
        try:
            listed = builtin.tolist()
        except NotImplementedError:
            assert not native
        else:
            assert native or 0 in spec.shape
            assert normalized(listed) == _expected(spec)


@examples(100)
@given(format_arrays(WITH_STRUCT_FORMATS), st.data())
def test_assigned_items_read_back(spec: Spec, data: st.DataObject) -> None:
    """Items stored one by one (0-d and 1-d), and all of them copied in by a slice
    (where no two elements share an item: a zero stride makes them one)."""
    array = spec.build(NDArray, ND_WRITABLE)
    items = format_items(Format(spec.format))
    for index in range(spec.shape[0]) if len(spec.shape) == 1 else [()] * (not spec.shape):
        value = data.draw(items)
        array[index] = value
        assert normalized(array[index]) == normalized(value)
    if spec.shape and _distinct_elements(spec, array.itemsize):
        count = math.prod(spec.shape)
        values = data.draw(st.lists(items, min_size=max(count, 1), max_size=max(count, 1)))
        source = NDArray(values, shape=list(spec.shape), format=spec.format)
        array[(slice(None),) * len(spec.shape)] = source
        assert normalized(array.tolist()) == normalized(nested(values[:count], spec.shape))


def _distinct_elements(spec: Spec, itemsize: int) -> bool:
    positions = dataclasses.replace(spec, items=list(range(len(spec.items))))
    flat = _leaves(positions.elements(itemsize))
    return len(set(flat)) == len(flat)


def _leaves(nested_list: Any) -> list[Any]:
    if not isinstance(nested_list, list):
        return [nested_list]
    return [leaf for row in nested_list for leaf in _leaves(row)]


@examples(60)
@given(format_arrays())
def test_check_exporter_finds_nothing(spec: Spec) -> None:
    writable = spec.with_flags(spec.flags | ND_WRITABLE)
    for each in (spec, writable):
        report = check_exporter(lambda each=each: each.build(NDArray))
        assert report.findings == [], report


@examples(100)
@given(format_arrays(pep3118_formats(NUMPY_CODES, record=True)))
@example(  # NumPy exports this dtype as a text whose sub-array records are 4 bytes shorter
    Spec(
        ([((False, False, 0j),), ((False, False, 1j),)], False),
        (),
        None,
        0,
        "T{(2)T{T{??Zf}x}?}",
        0,
    )
)
def test_numpy_reads_the_export_alike(spec: Spec) -> None:
    """NumPy's reader takes records (structured dtypes) of sub-arrays, complex, long
    double, ... (not suboffsets: a PIL array is read through its direct twin); and
    an NDArray re-exporting NumPy's array reads it as NumPy does."""
    direct = spec.with_flags(spec.flags & ~ND_PIL).build(NDArray)
    array = np.asarray(direct)
    assert array.shape == direct.shape and array.itemsize == direct.itemsize
    expected = normalized(from_numpy(spec.elements(direct.itemsize)))
    assert normalized(from_numpy(array.tolist())) == expected
    reexport = NDArray(array)
    size = Format(reexport.format).itemsize  # NumPy's export may drop prefixes or padding
    sign = (size > array.itemsize) - (size < array.itemsize)
    event(f"NumPy's export describes {('smaller', 'its', 'larger')[sign + 1]} items")
    if size == array.itemsize:
        # its text may even move a record's padding (after a sub-array of records,
        # not inside each): what NumPy reads of that text is the oracle
        theirs = np.asarray(memoryview(array))
        assert normalized(from_numpy(reexport.tolist())) == normalized(from_numpy(theirs.tolist()))
    elif size > array.itemsize:
        with pytest.raises(struct.error, match="bytes per item"):
            reexport.tolist()


# --- refusals -----------------------------------------------------------------------


@examples(100)
@given(format_arrays())
def test_testbuffer_refuses_what_struct_refuses(spec: Spec) -> None:
    """``testbuffer.ndarray`` keeps C's formats: those struct reads give the same
    array as NDArray, the others struct's own error."""
    try:
        struct.calcsize(spec.format)
    except struct.error as refusal:
        with pytest.raises(struct.error) as raised:
            spec.build(testbuffer.ndarray)
        assert str(raised.value) == str(refusal)
        return
    ours, theirs = spec.build(NDArray), spec.build(testbuffer.ndarray)
    assert ours.tobytes() == theirs.tobytes()
    assert normalized(ours.tolist()) == normalized(theirs.tolist())


BAD_VALUES = st.sampled_from([None, "text", object(), 2**70, [1, 2, 3, 4], (), 1j, b"\xff" * 9])


@examples(150)
@given(format_arrays(WITH_STRUCT_FORMATS), st.data())
def test_a_refused_item_is_named(spec: Spec, data: st.DataObject) -> None:
    """An item Format cannot pack is refused with struct's or array's exception,
    naming it (by position when there are several); never anything worse. Items
    of struct formats are refused as testbuffer.ndarray refuses them (C's words)."""
    items = list(spec.items) if spec.shape else [spec.items]
    index = data.draw(st.integers(0, len(items) - 1))
    items[index] = data.draw(BAD_VALUES)
    if struct_reads(spec.format):

        def built(cls: type[NDArray]) -> Any:
            made = lambda: cls(items, shape=[len(items)], format=spec.format)  # noqa: E731
            return outcome(made, describe=lambda array: array.tobytes())

        assert built(NDArray) == built(testbuffer.ndarray)
        return
    try:
        NDArray(items, shape=[len(items)], format=spec.format)
    except PACK_ERRORS as error:
        named = f"item {index} " if len(items) > 1 else repr(items[index])
        assert named in str(error)
        assert str(error).count(f"format {spec.format!r}") == 1  # named once, not per level


def _array_stores(value: Any) -> None:
    """What ``array`` does with one character item (``'w'`` from 3.13, ``'u'`` before)."""
    array.array("w" if sys.version_info >= (3, 13) else "u", [value])  # type: ignore[arg-type]


def _double_stores(value: Any) -> None:
    """What the builtin memoryview does with a ``'d'`` item: ``TypeError`` for a
    non-number, ``ValueError`` for one too large."""
    slot: Any = memoryview(bytearray(8)).cast("d")
    slot[0] = value


def _complex_stores(code: str, value: Any) -> None:
    """What the builtin memoryview does with a complex item (3.15); before, the
    rule it will have: ``TypeError`` for anything but a number."""
    if code in BUILTIN_TEXTS:
        slot: Any = memoryview(bytearray(16)).cast(code)  # type: ignore[call-overload]
        slot[0] = value
    elif not isinstance(value, (int, float, complex)):
        raise TypeError(f"not a number: {value!r}")


@pytest.mark.parametrize(
    ("text", "first", "value", "oracle"),
    [
        ("w", "a", "xyz", _array_stores),
        ("w", "a", "", _array_stores),
        ("w", "a", b"x", _array_stores),
        ("<w", "a", None, _array_stores),
        ("3w", "abc", "abcd", None),
        ("u", "a", "ab", _array_stores),
        ("Zd", 1j, "1+2j", lambda value: _complex_stores("Zd", value)),
        (">Zf", 1j, "1", lambda value: _complex_stores("Zf", value)),
        ("Zg", 1j, "1j", lambda value: _complex_stores("Zd", value)),
        ("g", 0.5, "1.5", _double_stores),  # as the builtin's 'd' (array's 'd' too)
        ("g", 0.5, 1j, _double_stores),
    ],
)
def test_a_value_struct_or_array_refuses_is_refused_never_truncated(
    text: str, first: Any, value: Any, oracle: Any
) -> None:
    """As ``array``, ``struct`` or the builtin memoryview refuse it (their exception
    type, else ``TypeError``), at construction and on assignment, and nothing is
    stored; a format ``struct`` reads (3.15's ``Zd``) by ``_testbuffer``'s rule,
    ``ValueError`` for a value of a type it does not pack."""
    expected: type[Exception] = TypeError
    if oracle is not None:
        with pytest.raises((TypeError, ValueError, struct.error)) as refused:
            oracle(value)
        expected = refused.type
    by_testbuffer = ValueError if struct_reads(text) else expected
    with pytest.raises(by_testbuffer):
        NDArray([first, value], shape=[2], format=text)
    stored = NDArray([first, first], shape=[2], format=text, flags=ND_WRITABLE)
    with pytest.raises(by_testbuffer):
        stored[1] = value
    with pytest.raises((TypeError, ValueError)):  # MemoryView's: a struct.error is a ValueError
        MemoryView(stored)[1] = value
    assert stored.tolist() == [first, first]


@pytest.mark.parametrize("text", ["D", "F", "<D", ">F", "Zd", ">Zf"])
def test_a_complex_number_is_an_item_of_a_complex_format_on_every_version(text: str) -> None:
    """Of an NDArray; of a testbuffer.ndarray where C's takes it (from 3.15)."""
    assert NDArray([1j, 2], shape=[2], format=text).tolist() == [1j, 2 + 0j]
    if sys.version_info >= (3, 15):
        assert testbuffer.ndarray([1j, 2], shape=[2], format=text).tolist() == [1j, 2 + 0j]
    else:
        refusal = ValueError if struct_reads(text) else struct.error
        with pytest.raises(refusal):
            testbuffer.ndarray([1j, 2], shape=[2], format=text)


HUGE = 2**40


@pytest.mark.parametrize(
    ("text", "items"),
    [
        (f"({HUGE})B", [1, 2]),
        (f"({HUGE})B", [[1], [2]]),
        (f"T{{B:a:({HUGE})d:b:}}", [(1, [2.0]), (3, [4.0])]),
        (f"({HUGE},{HUGE})x", [(), ()]),
        (f"T{{(2)T{{({HUGE})Zd}}}}", [([([1j],), ([2j],)],)] * 2),
    ],
)
def test_a_size_in_the_format_costs_nothing_before_items_of_that_size(
    text: str, items: list[Any]
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(PACK_ERRORS):
            NDArray(items, shape=[2], format=text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


SIZES = st.sampled_from([0, 1, 2, 3, 2**31, 2**40, 2**62, 2**63 - 1, 2**63, 2**64])
ABSURD = st.one_of(SIZES, SIZES.map(operator.neg))


@examples(100)
@given(FORMATS, st.data())
def test_absurd_layouts_are_refused_as_testbuffer_refuses_them(
    text: str, data: st.DataObject
) -> None:
    """Shapes, strides and offsets up to and beyond ``Py_ssize_t`` get the outcome
    ``testbuffer.ndarray`` (C's rules, tests/test_ndarray_vs_c.py) gives the same
    layout of a ``struct`` format of the same itemsize, at once and in little memory."""
    fmt = Format(text)
    items = data.draw(st.lists(format_items(fmt), min_size=1, max_size=3))
    ndim = data.draw(st.integers(0, 3))
    shape = data.draw(st.lists(ABSURD, min_size=ndim, max_size=ndim))
    strides = data.draw(st.none() | st.lists(ABSURD, min_size=ndim, max_size=ndim))
    offset = (
        data.draw(st.sampled_from([0, fmt.itemsize]))
        if data.draw(st.booleans())
        else data.draw(ABSURD)
    )
    flags = data.draw(st.sampled_from([0, ND_WRITABLE, ND_FORTRAN]))
    twin = [bytes(fmt.itemsize)] * len(items)

    def made(cls: type[NDArray], values: list[Any], text: str) -> Any:
        args = (values if ndim else values[0], shape, strides, offset, text, flags)
        return outcome(lambda: cls(*args), describe=lambda array: array.shape)

    tracemalloc.start()
    try:
        ours = made(NDArray, items, text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    theirs = made(testbuffer.ndarray, twin, f"{fmt.itemsize}s")
    event(f"{theirs[0].__name__ if isinstance(theirs[0], type) else theirs[0]}")
    assert ours == theirs
    assert peak < 1 << 20


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("T{B", struct.error),  # malformed: struct's exception, Format's words
        ("O", struct.error),  # object pointers are never packed
        ("T{O:o:}", struct.error),
        (">g", NotImplementedError),  # long double in a foreign byte order
    ],
)
def test_formats_it_cannot_write_are_refused(text: str, error: type[Exception]) -> None:
    with pytest.raises(error, match="format"):
        NDArray([1], shape=[1], format=text)
