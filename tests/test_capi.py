import ctypes
import gc
import os
import sys
import weakref

import pytest

from bufferkit import _capi
from bufferkit.flags import BufferFlags

from exporters import CountingExporter


class Token:
    """A keepalive whose death we can observe."""


@pytest.mark.private_layouts
def test_every_probe_succeeds_on_the_interpreters_we_support() -> None:
    facts = _capi.describe()
    assert facts["reads_memoryview_address"] and facts["owns_keepalive"]
    assert facts["sets_memoryview_flags"] and facts["skips_release_calls"]


def test_the_probes_answer_as_the_environment_says() -> None:
    """BUFFERKIT_NO_PRIVATE_LAYOUTS refuses every private layout (the fallback run)."""
    refused = bool(os.environ.get("BUFFERKIT_NO_PRIVATE_LAYOUTS"))
    facts = _capi.describe()
    assert facts["private_layouts_allowed"] is not refused
    if refused:
        assert not facts["reads_memoryview_address"] and not facts["owns_keepalive"]
        assert not facts["sets_memoryview_flags"] and not facts["skips_release_calls"]


def test_a_free_threaded_build_without_the_gil_refuses_private_layouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    assert not _capi._private_layouts_allowed()


@pytest.mark.parametrize("shift", [-8, 8, 16])
def test_a_probe_with_wrong_offsets_fails_without_reading_outside_the_object(
    monkeypatch: pytest.MonkeyPatch, shift: int
) -> None:
    """An unknown layout (here: the head size off by ``shift``) fails the size checks
    before any field is read; the memoryview probe then refuses."""
    monkeypatch.setattr(_capi, "_VAR_HEAD", _capi._VAR_HEAD + shift)
    assert not _capi._probe(_capi._probe_memoryview_layout)
    assert not _capi._probe(_capi._probe_release_slot)
    monkeypatch.setattr(_capi, "_HEAD", _capi._HEAD + shift)
    assert not _capi._probe(_capi._probe_managed_buffer_layout)


def test_a_probe_that_raises_has_failed() -> None:
    def broken() -> bool:
        raise OverflowError("a garbage field")

    assert _capi._probe(broken) is False


def test_the_fallback_owner_keeps_memory_and_format_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the managed-buffer layout, a PEP 688 window owns the keepalive."""
    monkeypatch.setattr(_capi, "_CAN_OWN", False)
    memory = _capi.Memory(4)
    memory.view()[:] = b"abcd"
    token = Token()
    watch = weakref.ref(token)
    mv = _capi.memoryview_over(memory.address, itemsize=1, fmt=">B", shape=(4,), keepalive=token)
    del token
    derived = mv[::-1]
    del mv
    gc.collect()
    assert watch() is not None and derived.format == ">B"
    assert bytes(derived) == b"dcba"
    del derived
    gc.collect()
    assert watch() is None


def test_memoryview_address_agrees_with_the_documented_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = bytearray(b"0123456789")
    view = memoryview(data)[3:]
    fast = _capi.memoryview_address(view)
    monkeypatch.setattr(_capi, "_MV_OK", False)
    assert (
        _capi.memoryview_address(view)
        == fast
        == ctypes.addressof(ctypes.c_char.from_buffer(data)) + 3
    )
    view.release()
    with pytest.raises(ValueError):
        _capi.memoryview_address(view)


def test_memoryview_over_shows_a_computed_layout() -> None:
    memory = _capi.Memory(8)
    memory.view()[:] = bytes(range(1, 9))
    mv = _capi.memoryview_over(
        memory.address, itemsize=2, fmt="<H", shape=(2, 2), strides=(2, 4), keepalive=memory
    )
    assert mv.format == "<H"
    assert (mv.shape, mv.strides, mv.readonly) == ((2, 2), (2, 4), True)
    assert mv.f_contiguous and not mv.c_contiguous
    assert mv.tobytes() == bytes([1, 2, 5, 6, 3, 4, 7, 8])


def test_keepalive_lives_as_long_as_any_derived_view() -> None:
    memory = _capi.Memory(4)
    memory.view()[:] = b"abcd"
    token = Token()
    watch = weakref.ref(token)
    mv = _capi.memoryview_over(memory.address, itemsize=1, fmt="B", shape=(4,), keepalive=token)
    del token
    reversed_view = mv[::-1]
    del mv
    gc.collect()
    assert watch() is not None
    assert bytes(reversed_view) == b"dcba"
    del reversed_view
    gc.collect()
    assert watch() is None


def test_keepalive_is_dropped_on_explicit_release() -> None:
    memory = _capi.Memory(4)
    token = Token()
    watch = weakref.ref(token)
    mv = _capi.memoryview_over(memory.address, itemsize=4, fmt="i", shape=(1,), keepalive=token)
    del token
    mv.release()
    assert watch() is None


def test_suboffsets_are_followed_by_the_builtin() -> None:
    rows = [_capi.Memory(3) for _ in range(2)]
    rows[0].view()[:] = b"abc"
    rows[1].view()[:] = b"xyz"
    pointers = _capi.Memory(2 * _capi.POINTER_SIZE)
    table = (ctypes.c_void_p * 2).from_address(pointers.address)
    table[0], table[1] = rows[1].address, rows[0].address
    mv = _capi.memoryview_over(
        pointers.address,
        itemsize=1,
        fmt="B",
        shape=(2, 2),
        strides=(_capi.POINTER_SIZE, 1),
        suboffsets=(1, -1),
        keepalive=(rows, pointers),
    )
    assert mv.tolist() == [[ord("y"), ord("z")], [ord("b"), ord("c")]]
    assert mv.suboffsets == (1, -1)


def test_values_beyond_ssize_t_are_refused_not_truncated() -> None:
    memory = _capi.Memory(8)
    with pytest.raises(OverflowError, match="2361183241434822606848"):
        _capi.memoryview_over(memory.address, itemsize=1, fmt="B", shape=(2**71,))
    with pytest.raises(ValueError, match="invalid address"):
        _capi.memoryview_over(0, itemsize=1, fmt="B", shape=(1,))


def test_raw_buffer_releases_exactly_once() -> None:
    exporter = CountingExporter()
    raw = _capi.RawBuffer(exporter, BufferFlags.FULL_RO)
    assert raw.held and exporter.held == 1
    assert raw.release() is True
    assert raw.release() is False
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_failed_getbuffer_holds_nothing() -> None:
    with pytest.raises(BufferError):
        _capi.RawBuffer(b"read only", BufferFlags.WRITABLE)
    with pytest.raises(TypeError):
        _capi.RawBuffer(object(), BufferFlags.SIMPLE)


def test_raw_info_reads_every_field() -> None:
    data = bytearray(b"abcdef")
    raw = _capi.RawBuffer(data, BufferFlags.FULL_RO)
    try:
        info = raw.read()
        assert info.obj is data
        assert info.len == 6 and info.itemsize == 1 and info.ndim == 1
        assert info.format == "B" and info.shape == (6,) and info.strides == (1,)
        assert info.suboffsets is None and info.readonly == 0
        assert _capi.string_at(info.buf, 6) == b"abcdef"
    finally:
        raw.release()


def test_unwrap_exporter_finds_the_pep688_exporter() -> None:
    exporter = CountingExporter()
    view = memoryview(exporter)
    assert type(view.obj).__name__ == "_buffer_wrapper"
    assert _capi.unwrap_exporter(view.obj) is exporter
    assert _capi.unwrap_exporter(exporter) is exporter
    view.release()


def test_pointers_memmove_and_objects() -> None:
    memory = _capi.Memory(16)
    memory.view()[:8] = b"12345678"
    _capi.memmove(memory.address + 8, memory.address, 8)
    assert _capi.string_at(memory.address, 16) == b"1234567812345678"
    ctypes.c_void_p.from_address(memory.address).value = memory.address
    assert _capi.read_pointer(memory.address) == memory.address
    marker = object()
    assert _capi.object_at(id(marker)) is marker
    with pytest.raises(ValueError, match="NULL"):
        _capi.object_at(0)


def test_memoryview_from_memory() -> None:
    memory = _capi.Memory(4)
    mv = _capi.memoryview_from_memory(memory.address, 4, readonly=False)
    mv[:] = b"wxyz"
    assert _capi.string_at(memory.address, 4) == b"wxyz"
    assert _capi.memoryview_from_memory(memory.address, 4, readonly=True).readonly


@pytest.mark.private_layouts
def test_memoryview_flags_are_located_on_this_interpreter() -> None:
    assert _capi.describe()["sets_memoryview_flags"]


def _request(view: memoryview, flags: int) -> None:
    """One getbuffer on ``view`` with ``flags``, released at once."""
    _capi.RawBuffer(view, flags).release()


@pytest.mark.private_layouts
def test_contiguity_set_on_an_empty_view_changes_its_getbuffer() -> None:
    memory = _capi.Memory(8)
    empty = _capi.memoryview_over(memory.address, itemsize=1, fmt="B", shape=(0,), strides=(2,))
    with pytest.raises(BufferError, match="not C-contiguous"):
        _request(empty, 0)
    assert _capi.set_memoryview_flags(empty, c_contiguous=True, f_contiguous=True, indirect=False)
    _request(empty, 0)
    assert empty.c_contiguous and empty.f_contiguous
    empty.release()


@pytest.mark.private_layouts
def test_the_indirect_flag_cleared_where_no_pointer_is_followed() -> None:
    memory = _capi.Memory(8)
    padded = _capi.memoryview_over(
        memory.address, itemsize=1, fmt="B", shape=(2,), strides=(1,), suboffsets=(-1,)
    )
    with pytest.raises(BufferError, match="requires suboffsets"):
        _request(padded, 0x18)  # STRIDES, no INDIRECT
    _capi.set_memoryview_flags(padded, c_contiguous=False, f_contiguous=False, indirect=False)
    _request(padded, 0x18)
    padded.release()


@pytest.mark.private_layouts
def test_unsafe_flag_changes_are_refused() -> None:
    memory = _capi.Memory(16)
    strided = _capi.memoryview_over(memory.address, itemsize=1, fmt="B", shape=(4,), strides=(2,))
    with pytest.raises(ValueError, match="without bytes"):
        _capi.set_memoryview_flags(strided, c_contiguous=True, f_contiguous=False, indirect=False)
    _capi.write_bytes(memory.address, memory.address.to_bytes(8, sys.byteorder))
    pointing = _capi.memoryview_over(
        memory.address, itemsize=1, fmt="B", shape=(1, 2), strides=(8, 1), suboffsets=(0, -1)
    )
    with pytest.raises(ValueError, match="follows pointers"):
        _capi.set_memoryview_flags(pointing, c_contiguous=False, f_contiguous=False, indirect=False)
    with pytest.raises(BufferError, match="requires suboffsets"):
        _request(pointing, 0x18)
    assert not strided.c_contiguous
    strided.release()
    pointing.release()


def _counting_exporter_class() -> type:
    class Exporter:
        def __init__(self) -> None:
            self.data, self.calls = bytearray(b"abc"), 0

        def __buffer__(self, flags: int) -> memoryview:
            return memoryview(self.data)

        def __release_buffer__(self, view: memoryview) -> None:
            self.calls += 1
            view.release()

    return Exporter


@pytest.mark.private_layouts
def test_skip_release_calls_leaves_direct_calls_and_overriding_subclasses_alone() -> None:
    cls = _counting_exporter_class()

    class Overriding(cls):  # type: ignore[misc, valid-type]
        def __release_buffer__(self, view: memoryview) -> None:
            super().__release_buffer__(view)

    assert _capi.skip_release_calls(cls)
    assert not _capi.skip_release_calls(cls)  # (the slot is empty already)
    exporter, overriding = cls(), Overriding()
    for _ in range(3):
        memoryview(exporter).release()
        memoryview(overriding).release()
    exporter.data.append(0)  # no export left behind: it resizes
    assert (exporter.calls, overriding.calls) == (0, 3)  # (Overriding kept its slot)
    exporter.__release_buffer__(exporter.__buffer__(0))
    assert exporter.calls == 1


def test_skip_release_calls_refuses_a_class_whose_buffer_comes_from_a_c_base() -> None:
    """Its C base's release is reached through the slot: it stays."""

    class Bytes(bytearray):
        def __release_buffer__(self, view: memoryview) -> None:
            pass

    data = Bytes(b"ab")
    before = _capi._GetSlot(Bytes, 2)
    assert not _capi.skip_release_calls(Bytes)
    assert _capi._GetSlot(Bytes, 2) == before
    memoryview(data).release()
    data.append(0)  # (bytearray's own release ran: it resizes)


def test_skip_release_calls_refuses_types_not_defined_in_python() -> None:
    """Static types, and heap types whose release is a C function (``array.array``
    on every version supported), keep their slot."""
    import array

    kinds = [bytearray, memoryview, type, object, int, array.array, type(_capi.Memory(1).view())]
    for cls in kinds:
        before = _capi._GetSlot(cls, 2)
        assert not _capi.skip_release_calls(cls)
        assert _capi._GetSlot(cls, 2) == before
    data = array.array("b", [1])
    memoryview(data).release()
    data.append(2)  # (its own release ran: it resizes)
