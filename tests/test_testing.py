"""Tests of bufferkit.testing: the arrays buffers() draws, how they shrink, formats(),
requests(), and the tracking exporter (what it records, refuses, detects and releases)."""

from __future__ import annotations

import ctypes
import gc
import math
import re
import subprocess
import sys
import weakref
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from bufferkit import BufferFlags, Format, MemoryView, NDArray, acquire, check_exporter
from bufferkit.conformance import ALL_REQUESTS
from bufferkit.flags import wants_writable
from bufferkit.testing import (
    DEFAULT_FORMATS,
    KINDS,
    MAX_ELEMENTS,
    MAX_SLOTS,
    Tracker,
    _geometries,
    _Geometry,
    _unravel,
    buffers,
    exportable_formats,
    formats,
    items,
    requests,
    track,
)

from oracles import outcome

FIELDS = ("format", "itemsize", "ndim", "shape", "strides", "suboffsets", "readonly", "nbytes")
FIELDS += ("c_contiguous", "f_contiguous", "contiguous")


# --- what buffers() draws ------------------------------------------------------------------


def test_importing_bufferkit_and_its_plugin_leaves_hypothesis_out() -> None:
    code = "import sys, bufferkit, bufferkit.pytest_plugin; print('hypothesis' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@settings(max_examples=200, deadline=None)
@given(buffers())
def test_every_array_conforms_to_the_protocol(array: NDArray) -> None:
    gc.collect()  # 3.12.0-3.12.6: a collection lets go of shielded exports (managed.py),
    gc.disable()  # which would change the reference counts the checker compares
    try:
        report = check_exporter(array)
    finally:
        gc.enable()
    assert report.passed, str(report)


@settings(max_examples=500, deadline=None)
@given(buffers())
def test_every_array_reads_as_the_builtin_memoryview_reads_it(array: NDArray) -> None:
    with memoryview(array) as builtin:
        view = MemoryView(array)
        assert [getattr(view, name) for name in FIELDS] == [getattr(builtin, n) for n in FIELDS]
        assert view.tobytes() == builtin.tobytes()
        try:
            expected = builtin.tolist()
        except NotImplementedError:  # a format the builtin does not read
            return
        assert view.tolist() == expected


@settings(max_examples=50, deadline=None)
@given(buffers(max_ndim=64, max_side=MAX_ELEMENTS))
def test_arrays_stay_small_whatever_the_bounds(array: NDArray) -> None:
    assert math.prod(array.shape) <= MAX_ELEMENTS


@settings(max_examples=200, deadline=None)
@given(_geometries(KINDS, 64, MAX_ELEMENTS))
def test_a_geometry_places_every_element_inside_a_bounded_block(geometry: _Geometry) -> None:
    assert geometry.block() <= MAX_SLOTS
    slots = geometry.slots()
    assert all(geometry.lead <= slot < geometry.lead + geometry.block() for slot in slots)


KIND_SEEN = {  # what each kind looks like on the array (drawn alone, it always shows)
    "C": lambda a: a.c_contiguous and a.ndim >= 1,
    "scalar": lambda a: a.ndim == 0,
    "empty": lambda a: 0 in a.shape,
    "strided": lambda a: not a.contiguous and not a.suboffsets and 0 not in a.strides,
    "negative": lambda a: any(stride < 0 for stride in a.strides),
    "zero": lambda a: 0 in a.strides,
    "fortran": lambda a: a.f_contiguous and not a.c_contiguous,
    "offset": lambda a: a.offset > 0,
    "indirect": lambda a: bool(a.suboffsets),
}


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_an_array_of_one_kind_shows_that_kind(kind: str, data: st.DataObject) -> None:
    array = data.draw(buffers(layouts=[kind]))
    assert KIND_SEEN[kind](array)


@pytest.mark.parametrize("kind", ["scalar", "empty", "negative", "zero", "indirect"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_kind_left_out_never_shows(kind: str, data: st.DataObject) -> None:
    array = data.draw(buffers(layouts=[k for k in KINDS if k != kind]))
    assert not KIND_SEEN[kind](array) or (kind != "empty" and 0 in array.shape)


@pytest.mark.parametrize("writable", [True, False])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_writable_chooses_the_arrays_writability(writable: bool, data: st.DataObject) -> None:
    assert data.draw(buffers(writable=writable)).readonly is not writable


@settings(max_examples=60, deadline=None)
@given(buffers(formats=["B"], values=lambda fmt: st.just(7)))
def test_values_fill_every_element_and_the_filler_every_gap(array: NDArray) -> None:
    assert set(MemoryView(array).tobytes()) <= {7}
    if not array.suboffsets and array.ndim and 0 not in array.shape:
        low = min(0, *(s * (n - 1) for s, n in zip(array.strides, array.shape, strict=True)))
        high = max(0, *(s * (n - 1) for s, n in zip(array.strides, array.shape, strict=True)))
        span = MemoryView.from_memory(_address(array) + low, high - low + 1).tobytes()
        assert set(span) <= {7, 0xA5}


def _address(array: NDArray) -> int:
    with acquire(array, BufferFlags.FULL_RO) as info:
        assert info.buf is not None
        return info.buf


@given(fmt=formats(), data=st.data())
def test_formats_are_exported_and_items_fit_them(fmt: str, data: st.DataObject) -> None:
    assert fmt in DEFAULT_FORMATS
    item = data.draw(items(fmt))
    array = NDArray([item], shape=[1], format=fmt)
    assert Format(fmt).pack_one(item) == MemoryView(array).tobytes()


def test_the_exported_formats_start_with_the_simplest() -> None:
    exported = exportable_formats()
    assert exported[0] == "B" and {"<i", ">i", "?", "e", "3s"} <= set(exported)


@pytest.mark.parametrize("writable", [None, True, False])
@given(data=st.data())
def test_requests_are_the_checker_requests(writable: bool | None, data: st.DataObject) -> None:
    flags = data.draw(requests(writable=writable))
    assert flags in ALL_REQUESTS
    assert writable is None or wants_writable(flags) == writable


@pytest.mark.parametrize(
    "arguments",
    [
        {"formats": ["x{"]},
        {"formats": []},
        {"formats": [3]},
        {"layouts": ["sideways"]},
        {"layouts": ["fortran"], "max_ndim": 1},
        {"max_ndim": 65},
        {"max_side": 0},
        {"max_ndim": True},
        {"writable": "yes"},
        {"values": 3},
    ],
    ids=repr,
)
def test_bad_arguments_are_refused_at_once(arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        buffers(**arguments)


@pytest.mark.parametrize(
    ("fmt", "reason"),
    [("O", "no values for format code 'O'"), ("257s", "items of more than 256 bytes")],
)
def test_a_format_it_cannot_draw_is_refused_by_name(fmt: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=f"cannot draw format '{re.escape(fmt)}'.*{reason}"):
        buffers(formats=[fmt])


# --- shrinking -----------------------------------------------------------------------------


POINTER = ctypes.sizeof(ctypes.c_void_p)
SHRUNK = {  # a property an array may have -> the simplest array that has it
    "two elements": (lambda a: math.prod(a.shape) >= 2, ((2,), (1,), "B")),
    "three dimensions": (lambda a: a.ndim == 3, ((1, 1, 1), (1, 1, 1), "B")),
    "no elements": (lambda a: 0 in a.shape, ((0,), (1,), "B")),
    "a negative step": (lambda a: a.ndim and a.strides[0] < 0 < a.shape[0] - 1, ((2,), (-1,), "B")),
    "a zero stride": (lambda a: 0 in a.strides and math.prod(a.shape) > 1, ((2,), (0,), "B")),
    "gaps": (lambda a: not a.contiguous and not a.suboffsets, ((2,), (2,), "B")),
    "suboffsets": (lambda a: bool(a.suboffsets), ((1,), (POINTER,), "B")),
    "big-endian items": (lambda a: a.format[0] in ">!" and a.itemsize > 1, ((1,), (2,), ">h")),
}


@pytest.mark.parametrize("name", SHRUNK)
def test_arrays_shrink_to_the_simplest_that_fails(name: str) -> None:
    condition, expected = SHRUNK[name]
    array = find(buffers(), condition, settings=settings(database=None, max_examples=1000))
    assert (array.shape, array.strides, array.format) == expected
    assert array.readonly and array.offset in (0, -min(0, *array.strides))


def test_writable_arrays_shrink_to_the_simplest() -> None:
    array = find(buffers(), lambda a: not a.readonly, settings=settings(database=None))
    assert (array.shape, array.format, array.tolist()) == ((1,), "B", [0])


# --- track() -------------------------------------------------------------------------------


def test_a_tracker_records_each_request_and_release() -> None:
    data = bytearray(b"abc")
    tracker = track(data)
    first = memoryview(tracker)
    with acquire(tracker, BufferFlags.STRIDES | BufferFlags.FORMAT):
        assert [e.state for e in tracker.exports] == ["held", "held"]
        with pytest.raises(BufferError):
            data.append(0)  # the request on data is held
    assert [(str(e), e.state) for e in tracker.exports] == [
        ("#1 FULL_RO", "held"),
        ("#2 RECORDS_RO", "released"),
    ]
    with pytest.raises(AssertionError, match=r"^bytearray: export #1 FULL_RO not released$"):
        tracker.assert_balanced()
    first.release()
    tracker.assert_balanced()
    data.append(0)  # every request on data was released


def test_a_tracker_names_every_export_left_held() -> None:
    tracker = track(NDArray([1, 2], shape=[2]))
    held = [memoryview(tracker), memoryview(tracker)]
    with pytest.raises(AssertionError, match="2 exports not released: #1 FULL_RO, #2 FULL_RO"):
        tracker.assert_balanced()
    del held
    tracker.assert_balanced()
    assert [e.state for e in tracker.exports] == ["released", "released"]


@settings(deadline=None)
@given(array=buffers(), flags=requests())
def test_a_tracker_answers_as_its_object_answers(array: NDArray, flags: BufferFlags) -> None:
    def answer(obj: object) -> Any:
        with acquire(obj, flags) as info:
            return (info.buf, info.len, info.format, info.shape, info.strides, info.suboffsets)

    tracker = track(array)
    assert outcome(lambda: answer(tracker)) == outcome(lambda: answer(array))
    tracker.assert_balanced()


@pytest.mark.parametrize(
    "refuse",
    [
        BufferFlags.FULL_RO,
        [BufferFlags.FULL_RO, BufferFlags.SIMPLE],
        lambda flags: flags & BufferFlags.FORMAT,
    ],
    ids=["one", "several", "predicate"],
)
def test_a_tracker_refuses_what_it_is_told_to(refuse: Any) -> None:
    tracker = track(b"xyz", refuse=refuse)
    with pytest.raises(BufferError, match="track: request FULL_RO refused"):
        memoryview(tracker)
    with acquire(tracker, BufferFlags.ND) as info:
        assert info.shape == (3,)
    assert [(str(e), e.state) for e in tracker.exports] == [
        ("#1 FULL_RO", "refused"),
        ("#2 ND", "released"),
    ]
    tracker.assert_balanced()


def test_a_request_the_object_refuses_is_recorded_as_failed() -> None:
    tracker = track(b"read-only")
    with pytest.raises(BufferError), acquire(tracker, BufferFlags.WRITABLE):
        pass
    assert [e.state for e in tracker.exports] == ["failed"]
    tracker.assert_balanced()


@settings(max_examples=50, deadline=None)
@given(array=buffers(writable=False), data=st.data())
def test_a_write_into_read_only_memory_is_named(array: NDArray, data: st.DataObject) -> None:
    tracker = track(array)
    with acquire(tracker, BufferFlags.FULL_RO) as info:
        tracker.assert_unmodified()
        if not info.len or info.suboffsets:
            return
        shape, strides = info.shape or (), info.strides or ()
        addresses = [
            (info.buf or 0) + sum(i * s for i, s in zip(_unravel(n, shape), strides, strict=True))
            for n in range(info.len // info.itemsize)
        ]
        address = data.draw(st.sampled_from(addresses))
        first = _unravel(addresses.index(address), shape)  # the first item at that address
        old = ctypes.string_at(address, 1)
        ctypes.memmove(address, bytes([old[0] ^ 0xFF]), 1)
        try:
            with pytest.raises(AssertionError, match=re.escape(f"#1 FULL_RO: item {first} was")):
                tracker.assert_unmodified()  # a held export is compared when asked
        finally:
            ctypes.memmove(address, old, 1)
    tracker.assert_unmodified()


def test_a_write_is_named_at_release_and_writable_memory_is_not_watched() -> None:
    tracker = track(NDArray([0, 0, 0], shape=[3]))
    with acquire(tracker, BufferFlags.ND) as info:
        ctypes.memmove((info.buf or 0) + 2, b"\x05", 1)
    with pytest.raises(AssertionError, match=r"item \(2,\) was b'\\x00', now b'\\x05'"):
        tracker.assert_unmodified()
    writable = track(NDArray([0], shape=[1], flags=2))
    with acquire(writable, BufferFlags.SIMPLE) as info:
        ctypes.memmove(info.buf or 0, b"\x05", 1)
    writable.assert_unmodified()


def test_a_tracker_takes_only_exporters_and_its_own_memoryviews() -> None:
    with pytest.raises(TypeError, match="track\\(\\) needs an exporter, not 'int'"):
        track(3)
    tracker = track(b"abc")
    with pytest.raises(ValueError):
        tracker.__release_buffer__(memoryview(b"abc"))
    with pytest.raises(TypeError):
        tracker.__release_buffer__(b"abc")  # type: ignore[arg-type]
    assert repr(tracker) == "<track of bytes: no requests>"


def test_a_tracker_conforms_to_the_protocol() -> None:
    report = check_exporter(lambda: track(NDArray(list(range(12)), shape=[3, 4], flags=0x10)))
    assert report.passed, str(report)


def test_a_tracker_in_a_cycle_is_collected() -> None:
    class Image(bytearray):
        tracker: Tracker

    image = Image(b"pixels")
    image.tracker = track(image)
    watch = weakref.ref(image.tracker)
    del image
    gc.collect()
    assert watch() is None


def test_a_consumer_cycle_through_a_tracker_is_collected_and_released_once() -> None:
    class Image(bytearray):
        view: memoryview

    data = bytearray(b"pixels")
    image = Image(b"x")
    image.view = memoryview(track(image))  # image -> view -> tracker -> image
    data_view = memoryview(track(data))
    image.data_view = data_view  # type: ignore[attr-defined]
    exports = image.view.obj  # the tracker's _buffer_wrapper
    del data_view, exports
    watch = weakref.ref(image)
    del image
    gc.collect()
    if sys.version_info >= (3, 12, 7):
        assert watch() is None
        data.append(0)  # its request was released
    else:  # shielded from the collector (gh-77894, docs/ownership.md): a leak, not a crash
        image = watch()
        assert image is not None
        image.view.release()
        image.data_view.release()
