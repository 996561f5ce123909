import gc

import numpy as np
import pytest

from bufferkit import BufferFlags, BufferInfo, ManagedBuffer, MemoryView, NDArray, acquire
from bufferkit import managed as managed_layer

from exporters import CountingExporter, FailingExporter

F = BufferFlags


def test_one_get_and_one_release_on_explicit_release() -> None:
    exporter = CountingExporter()
    managed = ManagedBuffer(exporter)
    assert (exporter.gets, exporter.releases) == (1, 0)
    managed.release()
    managed.release()
    assert (exporter.gets, exporter.releases) == (1, 1)
    assert managed.released


def test_with_block_releases() -> None:
    exporter = CountingExporter()
    with ManagedBuffer(exporter) as managed:
        assert managed.info.obj is exporter
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_garbage_collection_releases() -> None:
    exporter = CountingExporter()
    cycle: list[object] = [ManagedBuffer(exporter)]
    cycle.append(cycle)
    del cycle
    assert exporter.releases == 0
    gc.collect()
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_garbage_collection_of_a_plain_reference_releases() -> None:
    exporter = CountingExporter()
    ManagedBuffer(exporter)
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_exception_during_use_releases() -> None:
    exporter = CountingExporter()
    with pytest.raises(RuntimeError), ManagedBuffer(exporter):
        raise RuntimeError("boom")
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_a_failed_request_is_never_released() -> None:
    exporter = FailingExporter(BufferError("no"))
    with pytest.raises(BufferError, match="no"):
        ManagedBuffer(exporter)
    assert exporter.gets == 1


def test_bytearray_is_locked_while_managed() -> None:
    data = bytearray(b"abc")
    managed = ManagedBuffer(data)
    with pytest.raises(BufferError):
        data.append(1)
    managed.release()
    data.append(1)
    assert data == b"abc\x01"


def test_writable_request_on_bytes_fails() -> None:
    with pytest.raises(BufferError):
        ManagedBuffer(b"abc", F.WRITABLE)


def test_c_contiguous_request_on_a_transposed_array_fails() -> None:
    array = np.arange(12, dtype=np.int32).reshape(3, 4).T
    with pytest.raises(BufferError, match="not C-contiguous") as caught:
        ManagedBuffer(array, F.C_CONTIGUOUS)
    assert isinstance(caught.value.__cause__, ValueError)  # NumPy's own exception


def test_a_non_exporter_raises_type_error() -> None:
    with pytest.raises(TypeError):
        ManagedBuffer(object())


def test_the_buffer_outlives_release_while_a_builtin_view_of_it_lives() -> None:
    exporter = CountingExporter()
    managed = ManagedBuffer(exporter)
    view = managed.view
    managed.release()
    assert managed.released and exporter.releases == 0
    assert bytes(view) == bytes(exporter.target), "the view still reads the memory"
    with pytest.raises(ValueError, match="released"):
        managed.view  # noqa: B018
    view.release()
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_views_and_their_slices_casts_and_copies_share_one_request() -> None:
    exporter = CountingExporter()
    view = MemoryView(exporter)
    derived = [view[1:], view[::2][1:], view.cast("B", (4, 4)), MemoryView(view), view.T]
    view.release()
    assert (exporter.gets, exporter.releases) == (1, 0)
    while derived:
        assert exporter.releases == 0, "a derived view still holds the request"
        derived.pop().release()
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_info_describes_the_answer_as_the_builtin_shows_it() -> None:
    array = np.arange(6, dtype=np.float64)
    managed = ManagedBuffer(array, F.SIMPLE)
    builtin = memoryview._from_flags(array, F.SIMPLE)  # type: ignore[attr-defined]
    info = managed.info
    assert (info.format, info.itemsize, info.ndim, info.len) == (
        builtin.format,
        builtin.itemsize,
        builtin.ndim,
        builtin.nbytes,
    )
    assert info.buf == array.ctypes.data and info.obj is array
    managed.release()
    assert managed.info == info, "the snapshot outlives the release"


def test_simple_request_on_a_bytearray_has_no_format_shape_or_strides() -> None:
    data = bytearray(b"abcdef")
    with acquire(data, F.SIMPLE) as info:
        assert info == BufferInfo(
            obj=data,
            buf=info.buf,
            len=6,
            itemsize=1,
            readonly=False,
            ndim=1,
            format=None,
            shape=None,
            strides=None,
            suboffsets=None,
            internal=None,
        )
    data.append(0)  # released on exit


def test_full_ro_on_a_sliced_reversed_3d_array_gives_numpys_fields() -> None:
    base = np.arange(4 * 5 * 6, dtype=np.float64).reshape(4, 5, 6)
    array = base[::-1, 1:4, ::-2]
    with acquire(array, F.FULL_RO) as info:
        assert info.obj is array
        assert info.buf == array.ctypes.data
        assert info.shape == array.shape
        assert info.strides == array.strides
        assert info.format == memoryview(array).format
        assert info.itemsize == 8 and info.readonly is False
        assert info.len == array.nbytes and info.ndim == 3
        assert info.suboffsets is None


def test_acquire_releases_even_on_error() -> None:
    exporter = CountingExporter()
    with pytest.raises(KeyError), acquire(exporter, F.FULL_RO):
        raise KeyError("x")
    assert exporter.held == 0


def test_repr_names_the_exporter_and_state() -> None:
    managed = ManagedBuffer(bytearray(2))
    assert "bytearray" in repr(managed) and "held" in repr(managed)
    managed.release()
    assert "released" in repr(managed)


@pytest.mark.parametrize("kind", ["MemoryView", "NDArray"])
def test_exports_dropped_unreleased_keep_a_bounded_shield(kind: str) -> None:
    """Direct ``__buffer__`` calls never released, with the collector off: the shields
    of 3.12.0-3.12.6 are swept as they double (elsewhere there are none)."""
    exporter = MemoryView(bytes(8)) if kind == "MemoryView" else NDArray([1, 2], shape=[2])
    before = len(managed_layer._SHIELDED)
    gc.disable()
    try:
        for _ in range(5000):
            exporter.__buffer__(0)
        assert len(managed_layer._SHIELDED) - before < 1000
    finally:
        gc.enable()
