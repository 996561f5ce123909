"""MemoryView against the builtin memoryview over the ``_testbuffer`` layout matrix.

Every operation runs on ``memoryview(x)`` and ``MemoryView(x)`` for the same
exporter; both must give the same value or raise the same exception type.
Where the builtin stops (formats it cannot read, N-d sub-views) bufferkit goes
on, and its values are checked against ``struct`` instead.
"""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bufferkit import BufferFlags, Format, MemoryView

from layouts import HASHABLE_FORMATS, NATIVE_FORMATS, Spec, examples, specs, testbuffer
from view_oracles import (
    assert_same_requests,
    assert_same_view,
    normalized,
    outcome,
    reference_list,
    request,
    same,
    struct_tolist,
)

EXAMPLES = examples(150)


def views(spec: Spec) -> tuple[memoryview, MemoryView, Any]:
    """The builtin view and ours of one ndarray built from ``spec``."""
    exporter = spec.make()
    return memoryview(exporter), MemoryView(exporter), exporter


@EXAMPLES
@given(specs())
def test_attributes_and_whole_view_reads(spec: Spec) -> None:
    builtin, ours, _ = views(spec)
    assert_same_view(builtin, ours, "v")
    assert repr(ours).startswith("<memory")


@st.composite
def int_keys(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A tuple of ints, one per dimension (sometimes one more or one less), some out of range."""
    ndim = draw(st.sampled_from([len(shape)] * 4 + [len(shape) + 1, max(len(shape) - 1, 0)]))
    lengths = [*shape, 3][:ndim] if ndim > len(shape) else shape[:ndim]
    return tuple(draw(st.integers(-length - 2, length + 1)) for length in lengths)


def walk(items: Any, key: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """The element (or, for fewer indices, the sub-list) of nested ``items`` at ``key``.

    IndexError and TypeError as the builtin raises them.
    """
    if len(key) > len(shape):
        raise TypeError("too many indices")
    for index, length in zip(key, shape, strict=False):
        if not -length <= index < length:
            raise IndexError(index)
        items = items[index]
    return items


def read(view: Any, key: tuple[int, ...]) -> Any:
    """``view[key]``; a sub-view as its items."""
    item = view[key]
    return item.tolist() if isinstance(item, MemoryView) else item


@EXAMPLES
@given(specs(), st.data())
def test_element_reads(spec: Spec, data: st.DataObject) -> None:
    builtin, ours, _ = views(spec)
    items = reference_list(builtin)
    for _ in range(5):
        key = data.draw(int_keys(builtin.shape))
        expected = outcome(lambda view, key=key: view[key], builtin)
        if not spec.native or expected == ("raise", NotImplementedError):
            # beyond the builtin: struct's values, NumPy's sub-views
            expected = outcome(lambda items, key=key: walk(items, key, builtin.shape), items)
        assert outcome(lambda view, key=key: read(view, key), ours) == expected, key
        if len(key) == 1 and spec.native and builtin.ndim == 1:
            index = key[0]
            same(lambda view, index=index: view[index], builtin, ours, f"[{index}]")


@st.composite
def slices(draw: st.DrawFn, length: int) -> slice:
    bound = st.none() | st.integers(-length - 3, length + 3)
    step = st.none() | st.integers(-4, 4).filter(bool)
    return slice(draw(bound), draw(bound), draw(step))


@EXAMPLES
@given(specs(max_ndim=1, min_ndim=1, max_length=8), st.data())
def test_one_dimensional_slicing(spec: Spec, data: st.DataObject) -> None:
    builtin, ours, _ = views(spec)
    for _ in range(3):
        key = data.draw(slices(builtin.shape[0]))
        sliced_builtin, sliced_ours = builtin[key], ours[key]
        assert_same_view(sliced_builtin, sliced_ours, f"v[{key}]")
        inner = data.draw(slices(sliced_builtin.shape[0]))
        assert_same_view(sliced_builtin[inner], sliced_ours[inner], f"v[{key}][{inner}]")


def test_zero_dimensional_views() -> None:
    exporter = testbuffer.ndarray(7, shape=[], format="i")
    builtin, ours = memoryview(exporter), MemoryView(exporter)
    assert_same_view(builtin, ours, "0-d")
    for key in [(), ..., 0, (0,), slice(None)]:
        same(lambda view, key=key: view[key], builtin, ours, f"0-d[{key!r}]")
    same(iter, builtin, ours, "iter(0-d)")


@EXAMPLES
@given(specs(), specs(), st.booleans())
def test_equality(first: Spec, second: Spec, same_memory: bool) -> None:
    builtin, ours, exporter = views(first)
    other = first.make() if same_memory else second.make()
    same(lambda view: view == other, builtin, ours, "v == other")
    same(lambda view: view != other, builtin, ours, "v != other")
    same(lambda view: view == exporter, builtin, ours, "v == its exporter")
    assert (ours == builtin) == (builtin == memoryview(exporter))
    assert (ours == MemoryView(other)) == (builtin == memoryview(other))
    same(lambda view: view == [1], builtin, ours, "v == list")


@EXAMPLES
@given(specs(formats=(*HASHABLE_FORMATS, "B", "h", "<i", "d")))
def test_hash(spec: Spec) -> None:
    builtin, ours, _ = views(spec)
    same(hash, builtin, ours, "hash")
    same(lambda view: hash(view.toreadonly()), builtin, ours, "hash(toreadonly)")


CAST_FORMATS = (*NATIVE_FORMATS, "<i", ">H", "=q", "2h", "Zd", "T{h:a:b:b:}")


@st.composite
def casts(draw: st.DrawFn, nbytes: int) -> tuple[str, list[int] | None]:
    fmt = draw(st.sampled_from(CAST_FORMATS))
    if draw(st.booleans()):
        return fmt, None
    size = struct.calcsize(fmt) if fmt[0] not in "ZT" else {"Z": 16, "T": 4}[fmt[0]]
    count = nbytes // size if size else 0
    factors = [n for n in range(1, count + 1) if count % n == 0] or [1]
    first = draw(st.sampled_from(factors))
    shape = draw(st.sampled_from([[count], [first, count // first], [], [count + 1, 1]]))
    return fmt, shape


def is_byte(fmt: str) -> bool:
    return fmt.removeprefix("@") in ("B", "b", "c")


def cast(view: Any, fmt: str, shape: list[int] | None) -> Any:
    return view.cast(fmt) if shape is None else view.cast(fmt, shape)


@EXAMPLES
@given(specs(max_ndim=2, max_length=6), st.data())
def test_cast(spec: Spec, data: st.DataObject) -> None:
    builtin, ours, _ = views(spec)
    for _ in range(3):
        fmt, shape = data.draw(casts(builtin.nbytes))
        expected = outcome(lambda view, f=fmt, s=shape: cast(view, f, s), builtin)
        actual = outcome(lambda view, f=fmt, s=shape: cast(view, f, s), ours)
        # the builtin refuses formats it cannot read (ValueError) and casts between
        # two non-byte formats (TypeError): bufferkit goes on
        beyond = expected[1] is ValueError or not (is_byte(fmt) or is_byte(spec.format))
        if expected[0] == "value" or not beyond:
            assert actual == expected, (fmt, shape)
        if expected[0] == "value":
            assert_same_view(cast(builtin, fmt, shape), cast(ours, fmt, shape), f"cast {fmt}")
        elif actual[0] == "value":  # beyond the builtin: a cast between any formats
            result = cast(ours, fmt, shape)
            assert result.tobytes() == builtin.tobytes()
            assert result.nbytes == builtin.nbytes
            if fmt[0] not in "ZT":
                expected_list = struct_tolist(fmt, builtin.tobytes(), result.shape)
                assert normalized(result.tolist()) == normalized(expected_list)
    same(lambda view: view.cast("B", None), builtin, ours, "cast('B', None)")


@EXAMPLES
@given(specs(max_ndim=1, min_ndim=1, max_length=8), st.data())
def test_slice_assignment(spec: Spec, data: st.DataObject) -> None:
    theirs, mine = spec.make(testbuffer.ND_WRITABLE), spec.make(testbuffer.ND_WRITABLE)
    builtin, ours = memoryview(theirs), MemoryView(mine)
    key = data.draw(slices(builtin.shape[0]))
    length = len(builtin[key])
    formats = (spec.format, spec.format, "B", "<i", "=i", "@" + spec.format.lstrip("@<=>!"))
    source_spec = data.draw(specs(formats=formats, max_ndim=1, min_ndim=1, max_length=8))
    source = source_spec.make()
    if data.draw(st.booleans()) and len(memoryview(source)) >= length:
        source = memoryview(source)[:length]
    items = reference_list(builtin)
    values = reference_list(memoryview(source))
    compatible = Format(memoryview(source).format) == Format(spec.format) and len(values) == length

    def assign(view: Any) -> Any:
        view[key] = source
        return view.tobytes()

    expected = outcome(assign, builtin)
    actual = outcome(assign, ours)
    if expected != ("raise", NotImplementedError) and not (expected[0] == "raise" and compatible):
        assert actual == expected
        assert memoryview(theirs).tobytes() == memoryview(mine).tobytes()
        return
    # Beyond the builtin: formats it cannot read, and formats that differ as text but
    # not in value ('<i' into 'i'). List semantics: same format and length.
    if compatible:
        items[key] = values
        assert actual[0] == "value"
    else:
        assert actual == ("raise", ValueError)
    if builtin.shape[0] < 2 or not spec.strides or spec.strides[0]:  # else items alias
        assert normalized(reference_list(memoryview(mine))) == normalized(items)


@EXAMPLES
@given(specs(max_ndim=2))
def test_element_assignment(spec: Spec) -> None:
    theirs, mine = spec.make(testbuffer.ND_WRITABLE), spec.make(testbuffer.ND_WRITABLE)
    builtin, ours = memoryview(theirs), MemoryView(mine)
    key = tuple(length - 1 for length in builtin.shape)
    for value in (0, 1, -1, 2**70, 1.5, b"x", "x", True, None, float("nan")):

        def store(view: Any, value: Any = value) -> Any:
            view[key] = value
            return view.tobytes()

        if spec.native:
            same(store, builtin, ours, f"v[{key}] = {value!r}")
        else:
            outcome(store, ours)  # beyond the builtin: never a crash
    assert memoryview(theirs).tobytes() == memoryview(mine).tobytes() or not spec.native


@EXAMPLES
@given(specs())
def test_toreadonly(spec: Spec) -> None:
    builtin, ours, _ = views(spec)
    assert_same_view(builtin.toreadonly(), ours.toreadonly(), "toreadonly()")


@examples(60)
@given(specs())
def test_reexport_answers_every_request_as_the_builtin(spec: Spec) -> None:
    builtin, ours, _ = views(spec)
    assert_same_requests(builtin, ours)
    for flags in (BufferFlags.FULL_RO, BufferFlags.RECORDS_RO, BufferFlags.CONTIG_RO):
        # MemoryView(view, flags) shares the view (its format too) if the request is granted
        refused = outcome(lambda view, flags=flags: request(view, flags), builtin)[0] == "raise"
        derived = outcome(lambda view, flags=flags: MemoryView(view, flags), ours)
        assert derived[0] == ("raise" if refused else "value")
        if not refused:
            assert derived[1] == normalized(ours)


EQUAL_VALUE_FORMATS = ("b", "B", "h", "i", "q", "Q", "f", "d", "e", "<i", ">h", "?")


@EXAMPLES
@given(st.sampled_from(EQUAL_VALUE_FORMATS), st.sampled_from(EQUAL_VALUE_FORMATS), st.data())
def test_equality_across_formats(first: str, second: str, data: st.DataObject) -> None:
    """Views of the same values in different formats are equal, as for the builtin."""
    values = data.draw(st.lists(st.integers(0, 1), max_size=5))
    values = [bool(value) for value in values] if "?" in (first, second) else values
    shape = [len(values)]
    left = testbuffer.ndarray(values or [0], shape=shape, format=first)
    right = testbuffer.ndarray(values or [0], shape=shape, format=second)
    expected = memoryview(left) == memoryview(right)
    assert (MemoryView(left) == MemoryView(right)) is expected
    assert (MemoryView(left) == right) is expected
    assert (memoryview(left) == MemoryView(right)) is expected
    assert expected  # the same values
    nan = testbuffer.ndarray([float("nan")], shape=[1], format="d")
    assert (MemoryView(nan) == MemoryView(nan)) is (memoryview(nan) == memoryview(nan)) is False
