"""NDArray's own guarantees: exports counted and released exactly once, storage that
outlives its exports, ND_VAREXPORT, re-export chains, and bad input that never crashes."""

from __future__ import annotations

import gc
import re
import struct
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bufferkit import BufferFlags, Format, MemoryView, NDArray, _capi, acquire, testbuffer
from bufferkit.ndarray import (
    ND_FORTRAN,
    ND_GETBUF_FAIL,
    ND_MAX_NDIM,
    ND_PIL,
    ND_REDIRECT,
    ND_SCALAR,
    ND_VAREXPORT,
    ND_WRITABLE,
)

from exporters import CountingExporter, FailingExporter

F = BufferFlags


def can_push(array: NDArray) -> bool:
    """True if no export of the head is held (push refuses otherwise)."""
    try:
        array.push([0], shape=[1])
    except BufferError:
        return False
    array.pop()
    return True


# --- exports of an NDArray ----------------------------------------------------------


def test_an_export_is_counted_until_its_view_is_released() -> None:
    array = NDArray(list(range(6)), shape=[2, 3])
    view = memoryview(array)
    part = view[1:]
    assert not can_push(array)
    view.release()
    assert not can_push(array)  # the slice still holds the export
    part.release()
    assert can_push(array)


def test_a_view_dropped_without_release_uncounts_its_export() -> None:
    array = NDArray(list(range(6)), shape=[6])
    direct = array.__buffer__(F.FULL_RO)
    assert not can_push(array)
    del direct
    gc.collect()
    assert can_push(array)


def test_release_buffer_twice_or_of_a_stranger_is_refused_and_changes_nothing() -> None:
    array = NDArray(list(range(6)), shape=[6])
    view = array.__buffer__(F.FULL_RO)
    array.__release_buffer__(view)
    with pytest.raises(ValueError, match="not this object"):
        array.__release_buffer__(view)  # released already: the count must not drop again
    stranger = memoryview(b"ab")
    with pytest.raises(ValueError, match="not this object"):
        array.__release_buffer__(stranger)
    with pytest.raises(TypeError, match="memoryview"):
        array.__release_buffer__(b"ab")  # type: ignore[arg-type]
    assert stranger.tobytes() == b"ab"
    other = memoryview(array)
    assert not can_push(array), "one export is held: a corrupted count would allow a push"
    other.release()
    assert can_push(array)


def test_a_grant_the_builtin_refuses_is_not_left_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without writable memoryview flags (an unknown interpreter), the builtin refuses
    a SIMPLE request on an empty array with an odd stride that _testbuffer grants:
    the count taken in ``__buffer__`` must go with the discarded view."""
    monkeypatch.setattr(_capi, "_CAN_SET_FLAGS", False)
    array = NDArray([1, 2], shape=[0], strides=[2])
    with pytest.raises(BufferError, match="memoryview: underlying buffer is not C-contiguous"):
        NDArray(array, getbuf=F.SIMPLE)
    gc.collect()
    assert can_push(array)


@pytest.mark.private_layouts
def test_granted_like_testbuffer_where_the_builtin_memoryview_would_refuse() -> None:
    """The exported memoryview's own flags are set to _testbuffer's answer."""
    empty = NDArray([1, 2], shape=[0], strides=[2])
    assert NDArray(empty, getbuf=F.SIMPLE).nbytes == 0
    padded = NDArray(list(range(6)), shape=[2, 3], flags=ND_WRITABLE)
    padded.add_suboffsets()
    strided = NDArray(padded, getbuf=F.STRIDES | F.FORMAT)
    assert strided.suboffsets == (-1, -1)
    assert strided.tolist() == padded.tolist()


def test_storage_outlives_the_array_while_exported() -> None:
    array = NDArray(list(range(8)), shape=[2, 4], format="h", flags=ND_PIL)
    view = memoryview(array)
    expected = view.tolist()
    del array
    gc.collect()
    assert view.tolist() == expected
    view.release()


# --- re-exporters of other objects --------------------------------------------------------


@pytest.mark.parametrize("request_flags", [F.SIMPLE, F.ND, F.STRIDES, F.FULL_RO, F.CONTIG_RO])
def test_one_getbuffer_released_once_when_the_array_goes(request_flags: int) -> None:
    """Re-exports of the array, views of them and slices all keep the one buffer."""
    exporter = CountingExporter(bytearray(range(12)))
    array = NDArray(exporter, getbuf=request_flags)
    again = NDArray(array, getbuf=request_flags)
    del array
    gc.collect()
    assert (exporter.gets, exporter.releases) == (1, 0)
    if request_flags & F.STRIDES == F.STRIDES:
        view, part = memoryview(again), again[1:]
        del again
        gc.collect()
        assert exporter.releases == 0
        view.release()
        del part
    else:
        del again
    gc.collect()
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_a_refused_or_failing_request_holds_nothing() -> None:
    exporter = CountingExporter(bytes(4))
    with pytest.raises(BufferError):
        NDArray(exporter, getbuf=F.WRITABLE)
    assert exporter.held == 0
    with pytest.raises(ZeroDivisionError):
        NDArray(FailingExporter(ZeroDivisionError("no")))  # the exporter's own exception


def test_construction_failing_after_the_getbuffer_releases_it() -> None:
    """A buffer of more than 64 dimensions (C's ndarray exports one) cannot be read
    through the C API bridge: construction fails, and the buffer is released."""
    c_module = pytest.importorskip("_testbuffer")
    wide = c_module.ndarray([1], shape=[1] * 65)
    with pytest.raises(ValueError, match="must not exceed 64"):
        NDArray(wide)  # the builtin memoryview holding the request refuses, and releases
    wide.push([2], shape=[1])  # C refuses push while an export is held
    wide.pop()


def test_slicing_and_assignment_release_on_failure() -> None:
    source = CountingExporter(bytearray(4))
    array = NDArray(list(range(12)), shape=[3, 4], flags=ND_WRITABLE)
    with pytest.raises(ValueError):
        array[::0]
    with pytest.raises(TypeError):
        array[0:1, "a"]
    with pytest.raises(ValueError, match="different structures"):
        array[0:1] = source
    with pytest.raises(TypeError):
        array[0:1, 1] = source
    assert source.held == 0 and source.gets == 2
    assert can_push(array)


def test_reexporting_a_memoryview_blocks_its_release_until_the_array_goes() -> None:
    data = bytearray(b"abcdef")
    view = memoryview(data)
    outer = NDArray(NDArray(view, getbuf=F.FULL_RO))
    with pytest.raises(BufferError):
        view.release()
    with pytest.raises(BufferError):
        data.extend(b"g")
    del outer
    gc.collect()
    view.release()
    data.extend(b"g")


def test_redirect_forwards_each_request_to_the_exporter() -> None:
    """ND_REDIRECT: a re-exporter made without strides still answers a FULL_RO request
    (the exporter answers it), and each view holds a buffer of the exporter."""
    data = bytearray(b"abcd")
    array = NDArray(data, getbuf=F.ND, flags=ND_REDIRECT)
    with pytest.raises(BufferError):
        NDArray(NDArray(data, getbuf=F.ND), getbuf=F.FULL_RO)
    view = memoryview(array)
    assert (view.strides, view.readonly) == ((1,), False)
    with pytest.raises(BufferError):
        data.append(1)
    view.release()
    del array
    gc.collect()
    data.append(1)


# --- ND_VAREXPORT ----------------------------------------------------------------------------


def test_varexport_views_keep_the_layout_they_were_made_with() -> None:
    """The thread's scenario: views taken before push() see the old layout and data;
    new views see the new one; pop() restores the old one."""
    array = NDArray([1, 2, 3, 4, 5, 6], shape=[2, 3], flags=ND_VAREXPORT | ND_WRITABLE)
    before = memoryview(array)
    old_list, old_shape = array.tolist(), array.shape
    array.push([10, 20, 30, 40], shape=[4], format="<i", flags=ND_WRITABLE)
    after = memoryview(array)
    assert (before.tolist(), before.shape) == (old_list, old_shape)
    assert (after.format, after.shape) == ("<i", (4,))
    assert struct.unpack("<4i", after.tobytes()) == (10, 20, 30, 40)
    before[0, 0] = 99  # the old storage is still alive and writable
    assert before.tolist()[0][0] == 99
    with pytest.raises(BufferError):
        array.pop()  # the head is exported
    after.release()
    array.pop()
    assert array.shape == old_shape and array.tolist()[0][0] == 99
    before.release()


def test_without_varexport_push_and_pop_refuse_while_exported() -> None:
    array = NDArray([1, 2, 3], shape=[3])
    array.push([4], shape=[1])
    view = memoryview(array)
    with pytest.raises(BufferError, match=r"1 exported buffer$"):
        array.push([5], shape=[1])
    with pytest.raises(BufferError):
        array.pop()
    view.release()
    array.pop()
    with pytest.raises(BufferError, match="single base"):
        array.pop()


def test_an_old_exported_base_is_dropped_once_released() -> None:
    array = NDArray([1, 2, 3], shape=[3], flags=ND_VAREXPORT)
    view = memoryview(array)
    array.push([7], shape=[1])
    view.release()
    with pytest.raises(BufferError, match="single base"):
        array.pop()


def test_an_exported_base_pushed_down_stays_while_exported_and_after_a_pop() -> None:
    """C drops a base below the head at its last release, but not one a pop made the
    head again (a release call or not: the same answers)."""
    array = NDArray([1, 2, 3], shape=[3], flags=ND_VAREXPORT)
    first = memoryview(array)
    array.push([7], shape=[1])
    second = memoryview(array)
    array.push([8, 9], shape=[2])
    second.release()  # its base is dropped
    array.pop()
    assert array.tolist() == [1, 2, 3]  # (the dropped base is gone: the first is head)
    first.release()  # the head, once more: it stays
    with pytest.raises(BufferError, match="single base"):
        array.pop()
    assert array.tolist() == [1, 2, 3]


class _CountedRelease(NDArray):
    releases = 0

    def __release_buffer__(self, view: memoryview, /) -> None:
        type(self).releases += 1
        super().__release_buffer__(view)


class _Plain(NDArray):
    pass


class _KeepsItsExports(NDArray):
    def __buffer__(self, flags: int, /) -> memoryview:
        self.last = super().__buffer__(flags)  # (kept past the consumer's release)
        return self.last


def test_a_subclass_whose_buffer_keeps_its_exports_still_has_them_released() -> None:
    """Only a release call releases what an overriding ``__buffer__`` kept: CPython
    makes it, as for any class with its own ``__buffer__``."""
    array = _KeepsItsExports([1, 2, 3], shape=[3])
    memoryview(array).release()
    bytes(array)
    array.push([4, 5], shape=[2])  # no export held
    assert array.tolist() == [4, 5]


@pytest.mark.parametrize("cls", [NDArray, testbuffer.ndarray, _Plain, _CountedRelease])
def test_subclasses_release_exports_and_an_override_is_called(cls: type[NDArray]) -> None:
    """A subclass that defines ``__release_buffer__`` is called once per release
    (``super()`` reaches NDArray's); every export ends with its consumer's release."""
    _CountedRelease.releases = 0
    array = cls([1, 2, 3], shape=[3])
    for consumer in (memoryview, bytes, lambda a: MemoryView(a).tolist()):
        consumer(array)
    memoryview(array).release()
    array.push([4], shape=[1])  # (refused while an export is held)
    array.pop()
    assert _CountedRelease.releases == (4 if cls is _CountedRelease else 0)
    direct = array.__buffer__(BufferFlags.FULL_RO)
    array.__release_buffer__(direct)
    with pytest.raises(ValueError, match="not this object"):
        array.__release_buffer__(direct)


# --- flags, dimensions, values -----------------------------------------------------------------


def test_forged_flags_are_shown_but_grant_nothing() -> None:
    """C trusts an ND_SCALAR (or its internal C) bit and hands out a strided array as
    contiguous; here the real layout decides (and the attributes complain as in C)."""
    for forged in (ND_SCALAR, 0x100):
        array = NDArray([1, 2, 3], shape=[2], strides=[2], flags=forged)
        assert array.flags & forged
        with pytest.raises(RuntimeError):
            _ = array.c_contiguous
        with pytest.raises(BufferError, match="not C-contiguous"):
            NDArray(array, getbuf=F.SIMPLE)
        assert array.tobytes() == b"\x01\x03"


@pytest.mark.parametrize("flags", [0, ND_PIL, ND_FORTRAN])
def test_up_to_128_dimensions_without_the_builtin(flags: int) -> None:
    shape = [1] * (ND_MAX_NDIM - 2) + [2, 3]
    array = NDArray(list(range(6)), shape=shape, flags=flags)
    assert array.ndim == ND_MAX_NDIM
    nested: Any = array.tolist()
    for _ in range(ND_MAX_NDIM - 2):
        (nested,) = nested
    expected = [[0, 2, 4], [1, 3, 5]] if flags & ND_FORTRAN else [[0, 1, 2], [3, 4, 5]]
    assert nested == expected
    assert array.tobytes() == bytes(expected[0] + expected[1])
    with pytest.raises(ValueError, match="must not exceed 64"):
        memoryview(array)


def test_a_second_init_is_refused() -> None:
    """C pushes a new base (or leaks its buffer); here ``push`` is the one way."""
    array = NDArray([1, 2], shape=[2])
    view = memoryview(array)
    with pytest.raises(TypeError, match="already initialized"):
        array.__init__([3], shape=[1])  # type: ignore[misc]
    assert array.tolist() == [1, 2] and not can_push(array)
    view.release()
    assert can_push(array)


def test_more_slices_than_dimensions_are_refused() -> None:
    """C writes past its arrays here; the array is left unexported."""
    array = NDArray(list(range(6)), shape=[2, 3])
    with pytest.raises(TypeError, match="cannot slice 2 dimensions with 3 slices"):
        array[::1, ::1, ::1]
    assert can_push(array)


def test_hash_follows_the_bytes_of_read_only_arrays() -> None:
    assert hash(NDArray([1, 2, 3], shape=[3])[::-1]) == hash(bytes([3, 2, 1]))
    with pytest.raises(ValueError, match="writable"):
        hash(NDArray([1], shape=[1], flags=ND_WRITABLE))


def test_getbuf_fail_refuses_every_request_but_items_still_read() -> None:
    array = NDArray([5, 6], shape=[2], flags=ND_GETBUF_FAIL)
    with pytest.raises(BufferError, match="forced"):
        memoryview(array)
    assert array[1] == 6 and array.tolist() == [5, 6]


def test_request_fields_are_exactly_the_ones_asked_for() -> None:
    array = NDArray(list(range(12)), shape=[3, 4], format="<i", flags=ND_WRITABLE)
    with acquire(array, F.SIMPLE) as simple:
        assert (simple.format, simple.shape, simple.strides, simple.ndim) == (None, None, None, 1)
    with acquire(array, F.ND | F.FORMAT) as shaped:
        assert (shaped.format, shaped.shape, shaped.strides) == ("<i", (3, 4), None)
    with acquire(array, F.FULL) as full:
        assert (full.strides, full.suboffsets, full.readonly, full.obj) == (
            (16, 4),
            None,
            False,
            array,
        )


# --- bad input never crashes ------------------------------------------------------------------


def _lying(data: bytearray, fmt: str, itemsize: int) -> memoryview:
    """A writable exporter of ``data`` whose ``fmt`` is not ``itemsize`` bytes."""
    holder = memoryview(data)
    address = _capi.memoryview_address(holder)
    shape = (len(data) // itemsize,)
    return _capi.memoryview_over(
        address, itemsize=itemsize, fmt=fmt, shape=shape, keepalive=holder, readonly=False
    )


@pytest.mark.parametrize(("fmt", "itemsize"), [("q", 1), ("T{<h:a:}", 1), ("<Zd", 8)])
def test_a_format_larger_than_the_items_is_not_read(fmt: str, itemsize: int) -> None:
    """It would read past the buffer's end: refused as C's struct.unpack_from refuses
    (C's tolist() refuses, C's item reads too)."""
    data = bytearray(range(16))
    lying = _lying(data, fmt, itemsize)
    described = re.escape(f"format {fmt!r} has {Format(fmt).itemsize} bytes per item")
    for cls in (NDArray, testbuffer.ndarray):
        array = cls(lying, getbuf=F.FULL)
        for read in (array.tolist, lambda array=array: array[-1]):
            with pytest.raises(struct.error, match=described if cls is NDArray else None):
                read()
        with pytest.raises(struct.error):
            array[-1] = (1,) if fmt.startswith("T") else 1
    with pytest.raises(struct.error):
        testbuffer.get_pointer(lying, [0])
    assert data == bytearray(range(16))


@pytest.mark.parametrize(
    ("fmt", "itemsize", "items"),
    [
        ("B", 2, list(range(0, 16, 2))),
        ("<h", 4, [0x0100, 0x0504, 0x0908, 0x0D0C]),
        ("T{<h:a:}", 4, [(0x0100,), (0x0504,), (0x0908,), (0x0D0C,)]),
        ("T{}", 1, [()] * 16),  # NumPy's export of a 1-byte void
    ],
)
def test_a_format_smaller_than_the_items_reads_their_start(
    fmt: str, itemsize: int, items: list[Any]
) -> None:
    """As C's _testbuffer reads them (struct formats: C's and testbuffer.ndarray),
    and an item stored writes the start of its item."""
    classes: list[Any] = [NDArray]
    if fmt[-1] != "}":
        classes += [testbuffer.ndarray, pytest.importorskip("_testbuffer").ndarray]
    size = Format(fmt).itemsize
    for cls in classes:
        data = bytearray(range(16))
        array = cls(_lying(data, fmt, itemsize), getbuf=F.FULL)
        assert array.tolist() == items and array[-1] == items[-1]
        array[-1] = items[0]
        assert data[-itemsize:] == data[:size] + bytes(range(16))[-itemsize + size :]
        del array


def _lists_in_tolist(shape: list[int]) -> int:
    """How many list objects (or items) ``tolist()`` of ``shape`` makes, at most."""
    count = 1
    for extent in shape:
        if not isinstance(extent, int) or extent <= 0:
            break
        count *= extent
    return count


HUGE = st.sampled_from([2**63 - 1, -(2**63), 2**62, -(2**62), 2**31, 10**18, 2**63, -1, 0, 7])


@given(
    st.lists(st.integers(0, 255), min_size=1, max_size=6),
    st.lists(st.one_of(st.integers(0, 3), HUGE), max_size=3),
    st.one_of(st.none(), st.lists(st.one_of(st.integers(-4, 4), HUGE), max_size=3)),
    st.one_of(st.integers(-8, 8), HUGE),
    st.sampled_from(["B", "<q", "2h", "3s"]),
    st.sampled_from([0, ND_PIL, ND_FORTRAN, ND_WRITABLE | ND_PIL]),
)
@settings(max_examples=300, deadline=None)
def test_any_layout_is_refused_or_safe(
    items: list[int], shape: list[int], strides: Any, offset: int, fmt: str, flags: int
) -> None:
    """Offsets near 2**63, huge or zero strides, huge shapes: a clean exception, or an
    array whose every byte can be read (inputs the C module itself would read wrongly)."""
    assume(_lists_in_tolist(shape) <= 10**6)  # else valid, but terabytes (in C too)
    values: list[Any] = items if fmt in ("B", "<q") else [(i, i) for i in items]
    if fmt == "3s":
        values = [bytes([i]) for i in items]
    try:
        array = NDArray(
            values, shape=shape, strides=strides, offset=offset, format=fmt, flags=flags
        )
    except (ValueError, TypeError, OverflowError, struct.error):
        return
    assert len(array.tobytes()) == array.nbytes
    array.tolist()
    for request in (F.FULL_RO, F.SIMPLE, F.STRIDED_RO):
        try:
            with acquire(array, request) as info:
                assert info.len == array.nbytes
        except BufferError:
            pass
