"""A drop-in for CPython's private ``_testbuffer`` module.

``from bufferkit.testbuffer import *`` gives the names ``from _testbuffer import *``
gives: ``ndarray`` (``bufferkit.NDArray`` with ``struct`` formats only, as C's),
``staticarray``, the ``ND_*`` and ``PyBUF_*`` constants, ``ND_MAX_NDIM`` and the
functions ``get_pointer``, ``get_sizeof_void_p``, ``slice_indices``,
``get_contiguous``, ``py_buffer_to_contiguous``, ``is_contiguous`` and
``cmp_contig``.
``docs/testbuffer.md`` lists what PEP 688 cannot express.

Invariants:
- Every function answers as its C namesake: the same results, exception types
  and messages, checks in the same order.
- Every buffer requested here is released before the function returns (a
  ``Lease`` in a ``with`` block), also when it fails.
- A foreign buffer is read only through the layout its exporter reported, as
  CPython's own functions read it.
"""

from __future__ import annotations

from typing import Any, Final

from . import _capi, engine
from .flags import BufferFlags
from .formats import Format
from .layout import Layout, c_strides, f_strides
from .managed import BufferInfo
from .ndarray import (
    ND_FORTRAN,
    ND_GETBUF_FAIL,
    ND_GETBUF_UNDEFINED,
    ND_MAX_NDIM,
    ND_PIL,
    ND_REDIRECT,
    ND_SCALAR,
    ND_VAREXPORT,
    ND_WRITABLE,
    Lease,
    NDArray,
    adjust_indices,
    as_ssize_t,
    buffer_is_contiguous,
    c_int,
    c_ssize,
    fitted_format,
    head_is_contiguous,
    info_layout,
    item_format,
    select,
    unpack_slice,
)

__all__ = [
    "ND_FORTRAN",
    "ND_GETBUF_FAIL",
    "ND_GETBUF_UNDEFINED",
    "ND_MAX_NDIM",
    "ND_PIL",
    "ND_REDIRECT",
    "ND_SCALAR",
    "ND_VAREXPORT",
    "ND_WRITABLE",
    "PyBUF_ANY_CONTIGUOUS",
    "PyBUF_CONTIG",
    "PyBUF_CONTIG_RO",
    "PyBUF_C_CONTIGUOUS",
    "PyBUF_FORMAT",
    "PyBUF_FULL",
    "PyBUF_FULL_RO",
    "PyBUF_F_CONTIGUOUS",
    "PyBUF_INDIRECT",
    "PyBUF_ND",
    "PyBUF_READ",
    "PyBUF_RECORDS",
    "PyBUF_RECORDS_RO",
    "PyBUF_SIMPLE",
    "PyBUF_STRIDED",
    "PyBUF_STRIDED_RO",
    "PyBUF_STRIDES",
    "PyBUF_WRITABLE",
    "PyBUF_WRITE",
    "cmp_contig",
    "get_contiguous",
    "get_pointer",
    "get_sizeof_void_p",
    "is_contiguous",
    "ndarray",
    "py_buffer_to_contiguous",
    "slice_indices",
    "staticarray",
]


class ndarray(NDArray):
    """``_testbuffer.ndarray``: ``NDArray`` with ``struct`` formats only.

    Formats ``struct`` refuses (records ``T{}``, ``Zd`` before 3.15, ``g``, ...)
    are refused with its ``struct.error``, and items follow ``_testbuffer``'s
    rules on every format (a complex number is one value from 3.15 only), with
    its checks and messages; ``NDArray`` packs the rest with ``Format``.
    """

    __slots__ = ()
    _struct_only = True


PyBUF_SIMPLE: Final = int(BufferFlags.SIMPLE)
PyBUF_WRITABLE: Final = int(BufferFlags.WRITABLE)
PyBUF_FORMAT: Final = int(BufferFlags.FORMAT)
PyBUF_ND: Final = int(BufferFlags.ND)
PyBUF_STRIDES: Final = int(BufferFlags.STRIDES)
PyBUF_C_CONTIGUOUS: Final = int(BufferFlags.C_CONTIGUOUS)
PyBUF_F_CONTIGUOUS: Final = int(BufferFlags.F_CONTIGUOUS)
PyBUF_ANY_CONTIGUOUS: Final = int(BufferFlags.ANY_CONTIGUOUS)
PyBUF_INDIRECT: Final = int(BufferFlags.INDIRECT)
PyBUF_CONTIG: Final = int(BufferFlags.CONTIG)
PyBUF_CONTIG_RO: Final = int(BufferFlags.CONTIG_RO)
PyBUF_STRIDED: Final = int(BufferFlags.STRIDED)
PyBUF_STRIDED_RO: Final = int(BufferFlags.STRIDED_RO)
PyBUF_RECORDS: Final = int(BufferFlags.RECORDS)
PyBUF_RECORDS_RO: Final = int(BufferFlags.RECORDS_RO)
PyBUF_FULL: Final = int(BufferFlags.FULL)
PyBUF_FULL_RO: Final = int(BufferFlags.FULL_RO)
PyBUF_READ: Final = int(BufferFlags.READ)
PyBUF_WRITE: Final = int(BufferFlags.WRITE)

_LONG_MAX: Final = (1 << (8 * _capi.POINTER_SIZE - 1)) - 1  # C long (LP64)
_STATIC_MEMORY: Final = bytes(range(12))


class staticarray:
    """An exporter of 12 static read-only bytes (0 to 11), as ``_testbuffer.staticarray``.

    ``legacy_mode`` is accepted and remembered; PEP 688 cannot export a buffer
    whose ``obj`` is NULL, so it changes nothing.
    """

    __slots__ = ("_legacy_mode",)

    def __init__(self, legacy_mode: object = False) -> None:
        self._legacy_mode = legacy_mode is not False

    def __buffer__(self, flags: int, /) -> memoryview:
        return memoryview(_STATIC_MEMORY)

    def __release_buffer__(self, view: memoryview, /) -> None:
        view.release()


def get_sizeof_void_p() -> int:
    """``sizeof(void *)``."""
    return _capi.POINTER_SIZE


def slice_indices(key: object, length: object) -> tuple[int, int, int, int]:
    """(start, stop, step, slice length) as ``PySlice_Unpack``/``PySlice_AdjustIndices`` give."""
    size = c_ssize(length)
    if not isinstance(key, slice):
        raise TypeError("first argument must be a slice object")
    start, stop, step = unpack_slice(key)
    start, stop, count = adjust_indices(size, start, stop, step)
    return start, stop, step, count


def _items_format(info: BufferInfo) -> Format:
    """The format that reads ``info``'s items, as ``_testbuffer`` unpacks them."""
    return fitted_format(item_format(info.format, struct_only=True), info.itemsize)


def get_pointer(bufobj: object, seq: object) -> Any:
    """The item of ``bufobj`` at the indices ``seq`` (``PyBuffer_GetPointer``, unpacked)."""
    if not isinstance(seq, (list, tuple)):
        raise TypeError("seq must be a list or a tuple")
    with Lease(bufobj, PyBUF_FULL_RO) as lease:
        info = lease.info
        if len(seq) != info.ndim:
            raise ValueError("get_pointer(): len(indices) != ndim")
        layout = info_layout(info)
        indices = tuple(_checked_index(value, at, layout) for at, value in enumerate(seq))
        address, element = select(info.buf or 0, layout, indices)
        return engine.read_item(address + element.offset, _items_format(info))


def _checked_index(value: object, position: int, layout: Layout) -> int:
    index = as_ssize_t(value)
    if not 0 <= index < layout.shape[position]:
        raise ValueError(f"get_pointer(): invalid index {index} at position {position}")
    return index


def _ascii_order(order: object) -> str:
    """``get_ascii_order``: the first character of an ASCII string, one of C, F, A."""
    if not isinstance(order, str):
        raise TypeError("order must be a string")
    first = order.encode("ascii")[:1].decode("ascii")
    if first not in ("C", "F", "A"):
        raise ValueError("invalid order, must be C, F or A")
    return first


def _buffer_type(buffertype: object) -> int:
    if not isinstance(buffertype, int):
        raise TypeError("buffertype must be PyBUF_READ or PyBUF_WRITE")
    if not -_LONG_MAX - 1 <= buffertype <= _LONG_MAX:
        raise OverflowError("Python int too large to convert to C long")
    if buffertype not in (PyBUF_READ, PyBUF_WRITE):
        raise ValueError("invalid buffer type")
    return int(buffertype)


def _view_is_contiguous(view: memoryview, order: str) -> bool:
    suboffsets = view.suboffsets or None
    return buffer_is_contiguous(
        view.nbytes, view.itemsize, view.shape, view.strides, suboffsets, order
    )


def get_contiguous(obj: object, buffertype: object, order: object) -> memoryview:
    """``PyMemoryView_GetContiguous``: a memoryview of ``obj``, or of a contiguous copy."""
    kind = _buffer_type(buffertype)
    wanted = _ascii_order(order)
    view = memoryview(obj)  # type: ignore[arg-type]
    if kind == PyBUF_WRITE and view.readonly:
        view.release()
        raise BufferError("underlying buffer is not writable")
    if _view_is_contiguous(view, wanted):
        return view
    try:
        if kind == PyBUF_WRITE:
            raise BufferError("writable contiguous buffer requested for a non-contiguous object.")
        return _contiguous_copy(view, wanted)
    finally:
        view.release()


def _contiguous_copy(view: memoryview, order: str) -> memoryview:
    """A read-only memoryview of a copy of ``view``'s items, contiguous in ``order``."""
    fortran = order == "F"
    data = view.tobytes("F" if fortran else "C")
    memory = _capi.Memory(len(data))
    _capi.write_bytes(memory.address, data)
    shape = view.shape or ()
    strides = (f_strides if fortran else c_strides)(shape, view.itemsize)
    layout = Layout._make(view.itemsize, tuple(shape), strides, None, 0)
    return engine.builtin_view(memory.address, layout, view.format, keepalive=memory)


def py_buffer_to_contiguous(obj: object, order: object, flags: object) -> bytes:
    """``PyBuffer_ToContiguous``: the bytes of ``obj``'s buffer for ``flags``, in ``order``."""
    request = c_int(flags)
    with Lease(obj, request) as lease:
        wanted = _ascii_order(order)
        return _contiguous_bytes(lease.info, wanted)


def _info_is_contiguous(info: BufferInfo, order: str) -> bool:
    return buffer_is_contiguous(
        info.len, info.itemsize, info.shape, info.strides, info.suboffsets, order
    )


def _contiguous_bytes(info: BufferInfo, order: str) -> bytes:
    if _info_is_contiguous(info, order):
        return _capi.string_at(info.buf or 0, info.len) if info.len else b""
    return engine.gather(info.buf or 0, info_layout(info), "F" if order == "F" else "C")


def is_contiguous(obj: object, order: object) -> bool:
    """``PyBuffer_IsContiguous``; of an ``ndarray``'s head without a buffer request."""
    wanted = _ascii_order(order)
    if isinstance(obj, NDArray):
        return head_is_contiguous(obj, wanted)
    try:
        lease = Lease(obj, PyBUF_FULL_RO)
    except Exception:
        raise TypeError("is_contiguous: object does not implement the buffer protocol") from None
    with lease:
        return _info_is_contiguous(lease.info, wanted)


def cmp_contig(b1: object, b2: object) -> bool:
    """True if both are contiguous in the same order with the same length, itemsize,
    format, shape, strides (where the dimension has more than one element) and bytes."""
    try:
        first = Lease(b1, PyBUF_FULL_RO)
    except Exception:
        raise TypeError(
            "cmp_contig: first argument does not implement the buffer protocol"
        ) from None
    with first:
        try:
            second = Lease(b2, PyBUF_FULL_RO)
        except Exception:
            raise TypeError(
                "cmp_contig: second argument does not implement the buffer protocol"
            ) from None
        with second:
            return _same_contiguous(first.info, second.info)


def _strides_agree(one: BufferInfo, other: BufferInfo) -> bool:
    """C's ``arraycmp``: strides of dimensions of length 0 or 1 do not matter."""
    pairs = zip(one.shape or (), one.strides or (), other.strides or (), strict=False)
    return all(mine == theirs for extent, mine, theirs in pairs if extent > 1)


def _same_contiguous(one: BufferInfo, other: BufferInfo) -> bool:
    both_c = _info_is_contiguous(one, "C") and _info_is_contiguous(other, "C")
    both_f = _info_is_contiguous(one, "F") and _info_is_contiguous(other, "F")
    if not (both_c or both_f):
        return False
    same = (
        one.len == other.len
        and one.itemsize == other.itemsize
        and one.ndim == other.ndim
        and (one.format or "") == (other.format or "")
        and (one.shape or ()) == (other.shape or ())
        and _strides_agree(one, other)
    )
    return same and _capi.string_at(one.buf or 0, one.len) == _capi.string_at(
        other.buf or 0, other.len
    )
