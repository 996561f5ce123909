"""Bulk memory work over (address, Layout, Format): all the speed lives here.

Invariants:
- Every function takes a ``base`` address and a ``Layout`` relative to it that
  the caller has verified (``Layout.verify``) against memory it holds for the
  whole call; for writing, memory it holds writable. Nothing here re-checks
  bounds, and nothing here keeps an address after it returns.
- A layout without elements touches no memory: ``base`` may then be 0 (NULL).
- The Python layer does O(ndim) work, or O(rows) where a row is a long run of
  elements copied by one C call; per-element work runs in C that CPython ships:
  a builtin memoryview over the computed layout (``tobytes``, ``tolist``, 1-D
  slice assignment, all of which follow suboffsets), ``bytes`` slicing with a
  step, ``struct`` with repeat counts (``Format.unpack``/``pack``),
  ``PyBuffer_FromContiguous`` and ``memmove``.
- Builtin memoryviews made here for bulk work have static format strings and no
  owner, and are released before the function returns; ``builtin_view`` hands
  out views that own ``keepalive`` (then any format text), or, without one, views
  the caller uses only while it holds the memory.
- Item bytes are copied whole: an item is ``itemsize`` opaque bytes; only
  ``tolist``/``read_item``/``write_item`` interpret them through a ``Format``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat

from . import _capi
from .formats import Format
from .layout import Layout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

__all__ = [
    "builtin_view",
    "copy",
    "gather",
    "may_overlap",
    "nest",
    "read_item",
    "scatter",
    "tolist",
    "write_bytes",
]

_ORDERS = ("C", "F", "A")
# Python-level calls per byte gathered above which the builtin's C copy wins.
_MIN_RUN = 16


_OPAQUE = "B"  # the builtin copies ``itemsize`` bytes per item, whatever the format says


def builtin_view(
    base: int,
    layout: Layout,
    fmt: str,
    *,
    readonly: bool = True,
    keepalive: object = None,
) -> memoryview:
    """A builtin memoryview of ``layout`` at ``base`` with the format text ``fmt``.

    ``keepalive`` (what holds the memory) lives as long as the memoryview and every
    view derived from it; without one, ``fmt`` must be one of ``_capi.STATIC_FORMATS``
    and the caller holds the memory while it uses the view. A layout without
    elements gets a dummy address if its own is NULL.
    """
    address = base + layout.offset
    if layout.nitems == 0 and address <= 0:
        address = _capi.EMPTY_ADDRESS
    return _capi.memoryview_over(
        address,
        itemsize=layout.itemsize,
        fmt=fmt,
        shape=layout.shape,
        strides=layout.strides,
        suboffsets=layout.suboffsets,
        readonly=readonly,
        keepalive=keepalive,
        length=layout.nbytes,
    )


def _resolve_order(layout: Layout, order: str) -> Literal["C", "F"]:
    """``'C'`` or ``'F'``: ``'A'`` is Fortran for Fortran- but not C-contiguous layouts."""
    if order not in _ORDERS:
        raise ValueError("order must be 'C', 'F' or 'A'")
    if order == "A":
        return "F" if layout.is_f_contiguous() and not layout.is_c_contiguous() else "C"
    return "F" if order == "F" else "C"


def _simplified_in(layout: Layout, order: str) -> Layout:
    """The simplified direct layout whose C order is ``layout``'s ``order`` order."""
    return (layout.transpose() if order == "F" else layout).simplified()


def gather(base: int, layout: Layout, order: str = "C") -> bytes:
    """The bytes of every element, contiguous in ``order`` (``'C'``, ``'F'`` or ``'A'``).

    ``'A'`` is Fortran order for Fortran- but not C-contiguous layouts, else C. The
    result is the one allocation: elements are copied straight into it.
    """
    order = _resolve_order(layout, order)
    nbytes = layout.nbytes
    if nbytes == 0:
        return b""
    if not layout.is_indirect:
        simple = _simplified_in(layout, order)
        if _is_dense(simple):  # (so is every layout of a single 1-byte element)
            return _capi.string_at(base + simple.offset, nbytes)
        if simple.itemsize == 1 and _stepping_pays(simple):
            out, address = _capi.new_bytes(nbytes)
            target = _capi.memoryview_over(
                address, itemsize=1, fmt="B", shape=(nbytes,), readonly=False
            )
            try:
                _gather_stepped(base, simple, target)
            finally:
                target.release()
            return out
    if nbytes < 2:  # one 1-byte element behind a pointer: no fresh bytes object that small
        view = builtin_view(base, layout, _OPAQUE)
        try:
            return view.tobytes()
        finally:
            view.release()
    out, address = _capi.new_bytes(nbytes)
    _to_contiguous(base, layout, address, nbytes, order)
    return out


def _to_contiguous(base: int, layout: Layout, target: int, nbytes: int, order: str) -> None:
    """``PyBuffer_ToContiguous`` of ``layout`` at ``base`` into ``nbytes`` at ``target``."""
    _capi.to_contiguous(
        base + layout.offset,
        itemsize=layout.itemsize,
        shape=layout.shape,
        strides=layout.strides,
        suboffsets=layout.suboffsets,
        target=target,
        length=nbytes,
        order=order,
    )


def _is_dense(simple: Layout) -> bool:
    """A simplified layout whose elements are one run of bytes from its offset."""
    return not simple.shape or (len(simple.shape) == 1 and simple.strides[0] == simple.itemsize)


def _stepped(blob: Any, start: int, step: int, count: int) -> bytes:
    """``count`` bytes of ``blob`` from ``start`` every ``step`` (step may be negative)."""
    if step == 0:
        one: bytes = blob[start : start + 1]
        return one * count
    stop = start + step * count
    run: bytes = blob[start : (stop if stop >= 0 else None) : step]
    return run


def _stepping_pays(simple: Layout) -> bool:
    """True when a simplified 1-byte layout has rows long enough for stepped slicing
    (one C call per row) to beat a per-item copy."""
    shape = simple.shape
    if len(shape) == 1:
        return True
    outer = 1
    for length in shape[:-2]:
        outer *= length
    return outer * min(shape[-2:]) * _MIN_RUN <= simple.nbytes


def _gather_stepped(base: int, simple: Layout, out: memoryview) -> None:
    """C-order gather of a simplified 1-byte layout into ``out`` (a writable 1-D ``'B'``
    builtin memoryview: its slice assignments, steps too, copy in C), by stepped
    slicing of the layout's extent (one row, or column, at a time)."""
    lo, hi = simple.extent()
    shape, strides = simple.shape, simple.strides
    origin = simple.offset - lo
    blob = _capi.byte_window(base + lo, hi - lo)
    if len(shape) == 1:
        out[:] = _stepped(blob, origin, strides[0], shape[0])
        return
    starts = [origin]
    for length, stride in zip(shape[:-2], strides[:-2], strict=True):
        starts = [start + index * stride for start in starts for index in range(length)]
    rows, columns = shape[-2:]
    row_stride, column_stride = strides[-2:]
    plane = rows * columns
    for block, start in enumerate(starts):
        at = block * plane
        if rows <= columns:
            for row in range(rows):
                place = at + row * columns
                out[place : place + columns] = _stepped(
                    blob, start + row * row_stride, column_stride, columns
                )
        else:
            for column in range(columns):
                out[at + column : at + plane : columns] = _stepped(
                    blob, start + column * column_stride, row_stride, rows
                )


def scatter(base: int, layout: Layout, data: Any, order: str = "C") -> None:
    """Write contiguous ``data`` (``layout.nbytes`` bytes, in ``order``) into the elements."""
    order = _resolve_order(layout, order)
    nbytes = layout.nbytes
    source = memoryview(data)  # ours alone (a memoryview given is shared, not held)
    if source.nbytes != nbytes:
        raise ValueError(f"scatter needs {nbytes} bytes, got {source.nbytes}")
    if nbytes == 0:
        return
    source = source.cast("B") if source.format != "B" or source.ndim != 1 else source
    if not source.c_contiguous:
        source = memoryview(source.tobytes())
    # ``source`` (a memoryview this function owns) holds its memory until we return.
    if not layout.is_indirect:
        simple = _simplified_in(layout, order)
        if _is_dense(simple):
            _capi.memmove(base + simple.offset, _capi.memoryview_address(source), nbytes)
            return
    scatter_from(base, layout, _capi.memoryview_address(source), order)


def copy(dst_base: int, dst: Layout, src_base: int, src: Layout) -> None:
    """Copy the elements of ``src`` onto those of ``dst`` (same shape and itemsize).

    Overlapping memory is handled: where the two may overlap and are not both one
    run of bytes (``memmove``), the source is read whole before anything is written.
    """
    if dst.shape != src.shape or dst.itemsize != src.itemsize:
        raise ValueError(f"copy between different layouts: {dst!r} and {src!r}")
    nbytes = dst.nbytes
    if nbytes == 0:
        return
    if not dst.is_indirect and not src.is_indirect:
        to, start = dst.simplified(), src.simplified()
        if _is_dense(to) and _is_dense(start):
            _capi.memmove(dst_base + to.offset, src_base + start.offset, nbytes)
            return
        if not may_overlap(dst_base, dst, src_base, src):
            if _is_dense(start):
                scatter_from(dst_base, dst, src_base + start.offset)
                return
            if _is_dense(to):
                _to_contiguous(src_base, src, dst_base + to.offset, nbytes, "C")
                return
    scatter(dst_base, dst, gather(src_base, src))


def may_overlap(a_base: int, a: Layout, b_base: int, b: Layout) -> bool:
    """True unless the bytes the two layouts reach are disjoint (indirect: unknown)."""
    if a.is_indirect or b.is_indirect:
        return True
    a_lo, a_hi = a.extent()
    b_lo, b_hi = b.extent()
    return a_base + a_lo < b_base + b_hi and b_base + b_lo < a_base + a_hi


def scatter_from(base: int, layout: Layout, source: int, order: str = "C") -> None:
    """Write ``layout.nbytes`` contiguous bytes at ``source`` (memory the caller holds)
    into the elements of ``layout`` at ``base`` (``PyBuffer_FromContiguous``)."""
    _capi.from_contiguous(
        base + layout.offset,
        itemsize=layout.itemsize,
        shape=layout.shape,
        strides=layout.strides,
        suboffsets=layout.suboffsets,
        source=source,
        length=layout.nbytes,
        order=order,
    )


# --- values -------------------------------------------------------------------


def nest(flat: Sequence[Any], shape: Sequence[int]) -> Any:
    """``flat`` (C order) as nested lists of ``shape``; ``()`` gives the one item."""
    if not shape:
        return flat[0]
    if 0 in shape:
        return _empty_nest(shape)
    items: Any = flat if isinstance(flat, list) else list(flat)
    for length in reversed(shape[1:]):
        items = list(map(list, zip(*repeat(iter(items), length), strict=False)))
    return items


def _empty_nest(shape: Sequence[int]) -> list[Any]:
    if shape[0] == 0:
        return []
    inner = shape[1:]
    return [_empty_nest(inner) for _ in range(shape[0])]


def tolist(base: int, layout: Layout, fmt: Format) -> Any:
    """The elements as nested lists of Python values (the item itself for 0-d)."""
    if layout.nitems == 0:
        return _empty_nest(layout.shape)
    code = fmt.native_equivalent
    if code is not None:
        view = builtin_view(base, layout, code)
        try:
            return view.tolist()
        finally:
            view.release()
    items = _unpack(base, layout, fmt)
    if not fmt.writable:  # object pointers: each read in place, with its reference
        items = _with_objects(items, _element_addresses(base, layout), fmt)
    return nest(items, layout.shape)


def _with_objects(items: list[Any], addresses: Iterable[int], fmt: Format) -> list[Any]:
    """``items`` (unpacked from bytes) with their objects read where they live."""
    offsets = fmt.object_offsets()
    places = (address + offset for address in addresses for offset in offsets)
    return fmt.fill_objects(items, iter(_capi.objects_at(places)))


def _element_addresses(base: int, layout: Layout) -> list[int]:
    """The address of every element in C order (suboffsets followed).

    Precondition: the caller holds the memory; the layout was verified against it.
    """
    addresses = [base + layout.offset]
    suboffsets = layout.suboffsets
    for dim, (length, stride) in enumerate(zip(layout.shape, layout.strides, strict=True)):
        addresses = [start + index * stride for start in addresses for index in range(length)]
        if suboffsets is not None and suboffsets[dim] >= 0:
            addresses = [_capi.read_pointer(a) + suboffsets[dim] for a in addresses]
    return addresses


def _unpack(base: int, layout: Layout, fmt: Format) -> list[Any]:
    """The items in C order, read in place when they are one run of bytes."""
    if not layout.is_indirect:
        simple = layout.simplified()
        if _is_dense(simple):
            run = Layout._make(1, (layout.nbytes,), (1,), None, simple.offset)
            view = builtin_view(base, run, "B")
            try:
                return fmt.unpack(view)
            finally:
                view.release()
    return fmt.unpack(gather(base, layout))


def read_item(address: int, fmt: Format) -> Any:
    """The item at ``address`` (its object pointers read in place)."""
    item = fmt.unpack_one(_capi.string_at(address, fmt.itemsize))
    if not fmt.writable:
        return _with_objects([item], [address], fmt)[0]
    return item


def write_bytes(address: int, data: bytes) -> None:
    """Copy the bytes of ``data`` (an item packed beforehand) to ``address``."""
    _capi.write_bytes(address, data)
