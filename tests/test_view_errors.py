"""Bad input raises the builtin memoryview's exception types and never crashes.

Random keys and values (hypothesis) go to the builtin and to ``MemoryView`` over
the same ``_testbuffer`` layouts: where the builtin answers, the answers agree;
where it refuses only because it lacks a feature (N-d sub-views, formats it
cannot read), bufferkit's answer follows NumPy's rules instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import operator
import re
import struct
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit import BufferFlags, MemoryView, _capi, acquire

from exporters import FailingExporter
from layouts import NATIVE_FORMATS, Spec, examples, specs, testbuffer
from view_oracles import outcome

EXAMPLES = examples(200)

BIG = 2**63
index_values = st.one_of(
    st.integers(-6, 6),
    st.sampled_from([BIG, -BIG - 1, BIG - 1, -BIG, 2**100, True, False]),
)


class Liar:
    """Equal to (and hashed as) one int, while its ``__index__`` says another."""

    def __init__(self, equal: int, index: int) -> None:
        self.equal, self.index = equal, index

    def __eq__(self, other: object) -> bool:
        return other == self.equal

    def __hash__(self) -> int:
        return hash(self.equal)

    def __index__(self) -> int:
        return self.index

    def __repr__(self) -> str:
        return f"Liar({self.equal}, {self.index})"


liars = st.builds(Liar, st.integers(-6, 6), st.integers(-6, 6))
bounds = st.one_of(st.none(), index_values, st.sampled_from(["a", 1.5, 2.0, -1.0]), liars)
slice_keys = st.builds(slice, bounds, bounds, st.one_of(st.none(), st.integers(-3, 3), bounds))
junk = st.sampled_from([None, 1.0, "a", b"x", [0], {0: 1}, 1j, object()])
entries = st.one_of(index_values, slice_keys, st.just(Ellipsis), junk)
keys = st.one_of(entries, st.lists(entries, max_size=5).map(tuple))


def entry_kind(entry: Any) -> str:
    if entry is Ellipsis:
        return "ellipsis"
    if isinstance(entry, slice):
        return "slice"
    try:
        operator.index(entry)
    except TypeError:
        return "junk"
    return "int"


def expected_error(key: Any, shape: tuple[int, ...]) -> type[Exception] | None:
    """The exception NumPy's rules with the builtin's types give for ``key`` (None: valid)."""
    parts = key if isinstance(key, tuple) else (key,)
    kinds = [entry_kind(entry) for entry in parts]
    if not shape:
        return None if key in ((), (Ellipsis,)) or key is Ellipsis else TypeError
    if "junk" in kinds or kinds.count("ellipsis") > 1:
        return TypeError
    if len(parts) - kinds.count("ellipsis") > len(shape):
        only_slices = isinstance(key, tuple) and set(kinds) == {"slice"}
        return NotImplementedError if only_slices else TypeError  # (the builtin's types)
    dims = iter(shape)
    if "ellipsis" in kinds:  # the dimensions after the Ellipsis are the last ones
        at = kinds.index("ellipsis")
        dims = iter(shape[:at] + shape[len(shape) - (len(parts) - at - 1) :])
    for entry, kind in zip(parts, kinds, strict=True):  # the first bad entry decides
        if kind == "ellipsis":
            continue
        length = next(dims)
        if kind == "int" and not -length <= operator.index(entry) < length:
            return IndexError
        try:
            if kind == "slice":
                entry.indices(length)
        except (TypeError, ValueError) as error:
            return type(error)
    return None


def in_builtin_grammar(key: Any, ndim: int) -> bool:
    """Keys the builtin understands: an int, a slice, a tuple of ints; ``()``/``...`` on 0-d.

    Anything else it refuses for want of the feature (TypeError or NotImplementedError).
    """
    if not ndim:
        return key == () or key is Ellipsis
    if isinstance(key, tuple):
        return all(entry_kind(entry) == "int" for entry in key)
    return entry_kind(key) in ("int", "slice")


def builtin_agrees(builtin: memoryview, key: Any, ours: tuple[str, Any]) -> None:
    """Where the builtin answers a key of its grammar (not a missing feature), agree."""
    expected = outcome(lambda view: view[key], builtin)
    if in_builtin_grammar(key, builtin.ndim) and expected != ("raise", NotImplementedError):
        assert ours == expected, key


@EXAMPLES
@given(specs(formats=NATIVE_FORMATS), keys)
def test_random_keys_read(spec: Spec, key: Any) -> None:
    exporter = spec.make()
    builtin, ours = memoryview(exporter), MemoryView(exporter)
    result = outcome(lambda view: view[key], ours)
    error = expected_error(key, builtin.shape)
    if result[0] == "raise" and result[1] is NotImplementedError and error is None:
        assert builtin.suboffsets, key  # only a pointer level can make a key unrepresentable
    else:
        assert result[1] is error if error is not None else result[0] == "value", key
    builtin_agrees(builtin, key, result)


def plain_twin(key: Any) -> Any:
    """``key`` with each slice bound that equals an int replaced by it (``1.0``, ``True`` -> 1)."""

    def plain(bound: Any) -> Any:
        if isinstance(bound, (bool, float)) and bound == int(bound):
            return int(bound)
        return bound.equal if isinstance(bound, Liar) else bound

    def twin(entry: Any) -> Any:
        if isinstance(entry, slice):
            return slice(plain(entry.start), plain(entry.stop), plain(entry.step))
        return entry

    return tuple(map(twin, key)) if isinstance(key, tuple) else twin(key)


@EXAMPLES
@given(specs(formats=NATIVE_FORMATS), st.lists(slice_keys, min_size=1, max_size=3).map(tuple))
def test_keys_equal_to_a_remembered_slicing_answer_as_on_a_fresh_view(spec: Spec, key: Any) -> None:
    """A view remembers the layouts of slicings it has made; an equal key must still
    be checked as a key (``slice(1.0, 2) == slice(1, 2)``, yet only one is valid)."""
    exporter = spec.make()
    fresh, warm = MemoryView(exporter), MemoryView(exporter)
    twin = plain_twin(key)
    first = outcome(lambda view: view[twin], warm)
    assert outcome(lambda view: view[twin], warm) == first, twin  # now from memory
    assert outcome(lambda view: view[key], warm) == outcome(lambda view: view[key], fresh), key


def test_remembered_slicings_accept_equal_index_types_and_refuse_floats() -> None:
    view = MemoryView(bytearray(range(16))).cast("B", (4, 4))
    expected = view[1:3, ::2].tolist()
    assert view[1:3, ::2].tolist() == expected  # remembered
    assert view[np.int64(1) : 3, :: np.int8(2)].tolist() == expected
    assert view[True:3, ::2].tolist() == expected
    with pytest.raises(TypeError):
        view[1.0:3, ::2]
    with pytest.raises(TypeError):
        view[1:3, :: np.float64(2.0)]
    assert view[1:3, ::2].tolist() == expected


def test_a_key_equal_to_a_remembered_one_is_read_by_its_own_indexes() -> None:
    data = bytes(range(16))
    view, builtin = MemoryView(data), memoryview(data)
    assert view[1:5].tolist() == [1, 2, 3, 4]  # remembered
    assert view[Liar(1, 3) : 5].tolist() == builtin[Liar(1, 3) : 5].tolist() == [3, 4]
    grid = view.cast("B", (4, 4))
    assert grid[0:1, 1:3].tolist() == [[1, 2]]  # remembered
    assert grid[0:1, Liar(1, 2) : 3].tolist() == [[2]]


class _Refusing:
    def __index__(self) -> int:
        raise ValueError("no index")


@pytest.mark.parametrize("shape", [(), (4,), (2, 2)])
def test_a_key_refused_whatever_its_values_converts_no_index(shape: tuple[int, ...]) -> None:
    """As the builtin: a 0-d view refuses a key before any ``__index__`` runs, an N-d
    view a tuple of more indexes than dimensions."""
    data = bytes(4) if shape else bytes(1)
    view, builtin = MemoryView(data).cast("B", shape), memoryview(data).cast("B", shape)
    refused = 0
    for key in [_Refusing(), (_Refusing(),), (0, 0, _Refusing()), (_Refusing(), 0, 0)]:
        expected = outcome(lambda v, key=key: v[key], builtin)
        if expected[1] in (ValueError, NotImplementedError):  # converted by the builtin
            continue  # too, or a sub-view it lacks (bufferkit makes it: converted)
        assert outcome(lambda v, key=key: v[key], view) == expected, key
        refused += 1
    assert refused >= 2


values = st.one_of(
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.sampled_from([b"x", b"", b"xy", "x", None, True, [1], (1, 2), 1j]),
)


@EXAMPLES
@given(specs(formats=NATIVE_FORMATS, max_ndim=2), keys, values)
def test_random_keys_and_values_write(spec: Spec, key: Any, value: Any) -> None:
    theirs, mine = spec.make(testbuffer.ND_WRITABLE), spec.make(testbuffer.ND_WRITABLE)
    builtin, ours = memoryview(theirs), MemoryView(mine)

    def store(view: Any) -> None:
        view[key] = value

    expected, actual = outcome(store, builtin), outcome(store, ours)
    if in_builtin_grammar(key, builtin.ndim) and expected != ("raise", NotImplementedError):
        assert actual == expected, (key, value)
        assert memoryview(theirs).tobytes() == memoryview(mine).tobytes()
    elif actual[0] == "raise":
        assert actual[1] in (TypeError, ValueError, IndexError, NotImplementedError)
    else:  # a sub-view is assigned from an exporter of its shape and format only
        assert isinstance(value, bytes), (key, value)


@EXAMPLES
@given(specs(formats=("B", "b", "h", "i", "q", "f", "d", "e", "?", "c")), values)
def test_byte_swapped_values_are_checked_as_the_native_ones(spec: Spec, value: Any) -> None:
    """``'>h'`` refuses exactly what the builtin's ``'h'`` refuses, with the same types."""
    code = spec.format
    size = struct.calcsize(code)
    native = memoryview(bytearray(size)).cast(code)
    swapped = MemoryView(bytearray(size)).cast((">" if struct.pack("=H", 1)[0] else "<") + code)

    def store(view: Any) -> bytes:
        view[0] = value
        return view.tobytes()

    expected = outcome(store, native)
    actual = outcome(store, swapped)
    if expected[0] == "value":
        assert actual == ("value", expected[1][::-1])
    else:
        assert actual == expected


def test_deleting_items_is_refused() -> None:
    for readonly in (False, True):
        exporter = b"abc" if readonly else bytearray(b"abc")
        builtin, ours = memoryview(exporter), MemoryView(exporter)
        for key in (0, slice(None), "a"):
            for view in (builtin, ours):
                with pytest.raises(TypeError):
                    del view[key]
        assert ours.tobytes() == b"abc"


def test_tobytes_refuses_orders_of_the_wrong_type() -> None:
    ours = MemoryView(b"abc")
    with pytest.raises(TypeError, match="must be str or None, not bytes"):
        ours.tobytes(b"C")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="order must be 'C', 'F' or 'A'"):
        ours.tobytes("X")


def test_cast_checks_the_layout_before_the_format() -> None:
    exporter = testbuffer.ndarray(list(range(8)), shape=[4], strides=[2])
    builtin, ours = memoryview(exporter)[::2], MemoryView(exporter)[::2]
    for fmt in ("Q!!", "g", "B"):
        for view in (builtin, ours):
            with pytest.raises(TypeError, match="C-contiguous"):
                view.cast(fmt)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("B", [0]), ValueError),
        (("B", [-1]), ValueError),
        (("B", [1.0]), TypeError),
        (("B", [3, 3]), TypeError),
        (("B", [1] * 65), ValueError),
        (("i",), TypeError),
        (("q", [1]), TypeError),
        (("B", 5), TypeError),
        (("B", None), TypeError),
        (("Zq", [6]), ValueError),
        (("", [6]), ValueError),
        (("0s", [6]), ValueError),
        ((1,), TypeError),
    ],
)
def test_impossible_casts(args: tuple[Any, ...], error: type[Exception]) -> None:
    for view in (memoryview(bytes(6)), MemoryView(bytes(6))):
        with pytest.raises(error):
            view.cast(*args)


class _SwappedLongDoubles:
    """Exports three long doubles as ``'>g'`` (or ``'<g'`` on a big-endian machine): a
    byte order no long double has, which bufferkit refuses to read."""

    def __init__(self) -> None:
        self.block = (ctypes.c_longdouble * 3)(1.0, 2.0, 3.0)
        self.text = ">g" if sys.byteorder == "little" else "<g"

    def __buffer__(self, flags: int) -> memoryview:
        return _capi.memoryview_over(
            ctypes.addressof(self.block),
            itemsize=ctypes.sizeof(ctypes.c_longdouble),
            fmt=self.text,
            shape=(3,),
            readonly=False,
            keepalive=self.block,
        )


def test_unknown_formats_refuse_values_and_allow_bytes() -> None:
    """A format bufferkit cannot read: bytes work, values raise naming the format."""
    exporter = _SwappedLongDoubles()
    builtin, ours = memoryview(exporter), MemoryView(exporter)
    assert ours.format == builtin.format == exporter.text
    named = re.escape(repr(exporter.text))
    for read in (MemoryView.tolist, lambda v: v[0], list, lambda v: v.count(0)):
        with pytest.raises(NotImplementedError, match=named):
            read(ours)
    with pytest.raises(NotImplementedError, match=named):
        ours[0] = 1.0
    assert ours.tobytes() == builtin.tobytes()
    assert ours[1:].nbytes == builtin[1:].nbytes == 2 * ctypes.sizeof(ctypes.c_longdouble)
    assert ours.cast("B").tolist() == builtin.cast("B").tolist()
    assert (ours == ours) is (builtin == builtin) is False


def test_assignment_from_non_exporters_and_mismatches() -> None:
    cases: list[tuple[Any, Any]] = [
        (slice(0, 2), [1, 2]),
        (slice(0, 2), b"abc"),
        (slice(0, 2), memoryview(b"ab").cast("c")),
        (slice(0, 2), 5),
        (0, b"a"),
        (0, 256),
        (0, -1),
        (0, "a"),
        (0, None),
    ]
    for key, value in cases:

        def store(view: Any, key: Any = key, value: Any = value) -> None:
            view[key] = value

        expected = outcome(store, memoryview(bytearray(3)))
        assert outcome(store, MemoryView(bytearray(3))) == expected, (key, value)
        assert expected[0] == "raise"


@pytest.mark.parametrize("error", [ValueError("no"), BufferError("no"), TypeError("no")])
def test_an_exporters_own_exception_reaches_the_caller(error: Exception) -> None:
    """``MemoryView(obj)`` raises what ``memoryview(obj)`` raises, not a converted error."""
    for make in (memoryview, MemoryView):
        exporter = FailingExporter(error)
        with pytest.raises(type(error), match="no") as caught:
            make(exporter)
        assert type(caught.value) is type(error) and exporter.gets == 1


@pytest.mark.parametrize(
    "exporter",
    [np.arange(6, dtype="<i4").reshape(2, 3), np.array(7, dtype="<i4"), bytearray(b"abc")],
    ids=["2-d", "0-d", "bytearray"],
)
@pytest.mark.parametrize("flags", [BufferFlags.SIMPLE, BufferFlags.WRITABLE])
def test_answers_without_shape_or_format_are_bytes(exporter: Any, flags: int) -> None:
    """A SIMPLE answer has no shape: its ``len`` bytes, whatever ``itemsize``/``ndim`` say."""
    view = MemoryView(exporter, flags)
    assert (view.format, view.itemsize, view.ndim) == ("B", 1, 1)
    assert view.tolist() == list(memoryview(exporter).cast("B").tobytes())
    assert view.tobytes() == memoryview(exporter).tobytes()


DIRECT_FLAGS = [2**31, 2**63, 2**64, "0", 1.0, 0.0, 284.0, None, True, -1, 0]


@pytest.mark.parametrize("primed", [False, True], ids=["fresh", "after requests"])
@pytest.mark.parametrize("flags", DIRECT_FLAGS, ids=repr)
def test_a_direct_buffer_call_validates_flags_as_the_builtin(flags: Any, primed: bool) -> None:
    """The builtin's exception types (3.12 and 3.13's builtin also accepts flags
    below a C int, wrapping them: not compared), also after requests were granted
    (a view remembers the last flags it granted) and refused."""

    def export(view: Any) -> Any:
        if primed:
            for granted in (BufferFlags.FULL_RO, BufferFlags.SIMPLE, BufferFlags.WRITABLE):
                with contextlib.suppress(BufferError), acquire(view, granted):
                    pass
        return view.__buffer__(flags).tobytes()

    ours, theirs = outcome(export, MemoryView(b"abc")), outcome(export, memoryview(b"abc"))
    assert ours[0] == theirs[0] and (ours[0] != "ok" or ours == theirs)


CAST_SHAPES = [(2**63, 1), (2**62, 4), (2**40, 2**40), (-(2**64), 1), (-1, 2), (0, 2), (1, 2)]


@pytest.mark.parametrize("shape", CAST_SHAPES, ids=repr)
def test_a_cast_to_a_shape_out_of_range_raises_as_the_builtin(shape: tuple[int, ...]) -> None:
    def cast(view: Any) -> Any:
        return view.cast("B", shape).shape

    assert outcome(cast, MemoryView(bytearray(2))) == outcome(cast, memoryview(bytearray(2)))


class _RefusingIndex:
    """An index whose ``__index__`` raises its own ``TypeError``."""

    calls = 0

    def __index__(self) -> int:
        type(self).calls += 1
        raise TypeError("refused by __index__")


@pytest.mark.parametrize("key", [(0, _RefusingIndex()), _RefusingIndex()], ids=["tuple", "alone"])
def test_an_index_that_raises_its_own_type_error_reaches_the_caller(key: Any) -> None:
    """As the builtin: the index's own error, not the generic one for a non-index."""
    for view in (MemoryView(bytearray(16)).cast("B", [4, 4]), MemoryView(bytearray(16))):
        if type(key) is tuple and view.ndim == 1:
            continue
        view[0, 0] if view.ndim == 2 else view[0]  # (the reader is made)
        with pytest.raises(TypeError, match="refused by __index__"):
            view[key]
    with pytest.raises(TypeError, match="refused by __index__"):
        memoryview(bytearray(16)).cast("B", [4, 4])[0, _RefusingIndex()]


def test_tobytes_checks_its_argument_before_the_release() -> None:
    for view in (MemoryView(b"ab"), memoryview(b"ab")):
        view.release()
        with pytest.raises(TypeError, match="argument 'order' must be str or None, not int"):
            view.tobytes(1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="released"):
            view.tobytes("X")
