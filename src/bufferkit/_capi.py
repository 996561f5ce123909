"""The bridge to CPython's buffer C API: the only module that uses ``ctypes``.

Invariants:
- Every ``Py_buffer`` this module fills lives in a ``RawBuffer`` whose storage
  is owned by ctypes and never moves; ``PyBuffer_Release`` is called on it at
  most once, and only after a ``PyObject_GetBuffer`` that succeeded.
- Nothing here checks addresses or lengths: callers pass only addresses they
  have verified against a buffer they hold (see ``layout.Layout.verify``).
- ``memoryview_over`` builds a builtin memoryview over a computed layout. The
  memory, the format string and a caller's keepalive object are owned by that
  memoryview's managed buffer (its ``master.obj``), so they live exactly as long
  as the memoryview and every view derived from it. Writing ``master.obj`` relies
  on the layout of CPython's ``_PyManagedBufferObject``; it is verified on a probe
  at import, and where the check fails the keepalive is kept forever instead
  (a leak, never a dangling pointer).
- ``set_memoryview_flags`` writes the contiguity and indirect flags a builtin
  memoryview's own getbuffer checks (``PyMemoryViewObject.flags``); its offset is
  verified on probes at import (else nothing is written). It only makes changes
  that cannot lead to an out-of-bounds access: contiguity is added only to a view
  without bytes, and the indirect flag is cleared only where no suboffset is >= 0.
- Pure-Python (PEP 688) exporters are reached through a ``_buffer_wrapper`` in
  ``Py_buffer.obj``; ``unwrap_exporter`` returns the real exporter.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = [
    "EMPTY_ADDRESS",
    "MAX_NDIM",
    "byte_window",
    "POINTER_SIZE",
    "Memory",
    "RawBuffer",
    "RawInfo",
    "from_contiguous",
    "memmove",
    "memoryview_from_memory",
    "memoryview_over",
    "object_at",
    "read_pointer",
    "refcount",
    "set_memoryview_flags",
    "string_at",
    "unwrap_exporter",
    "write_bytes",
]

MAX_NDIM = 64
POINTER_SIZE = ctypes.sizeof(ctypes.c_void_p)

_ssize_t = ctypes.c_ssize_t


class Py_buffer(ctypes.Structure):
    """The C ``Py_buffer`` struct (``Include/pybuffer.h``)."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", _ssize_t),
        ("itemsize", _ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_void_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_api = ctypes.pythonapi
_P_buffer = ctypes.POINTER(Py_buffer)

_GetBuffer = _api.PyObject_GetBuffer
_GetBuffer.argtypes = [ctypes.py_object, _P_buffer, ctypes.c_int]
_GetBuffer.restype = ctypes.c_int

_Release = _api.PyBuffer_Release
_Release.argtypes = [_P_buffer]
_Release.restype = None

_FromBuffer = _api.PyMemoryView_FromBuffer
_FromBuffer.argtypes = [_P_buffer]
_FromBuffer.restype = ctypes.py_object

_FromMemory = _api.PyMemoryView_FromMemory
_FromMemory.argtypes = [ctypes.c_void_p, _ssize_t, ctypes.c_int]
_FromMemory.restype = ctypes.py_object

_FromContiguous = _api.PyBuffer_FromContiguous
_FromContiguous.argtypes = [_P_buffer, ctypes.c_void_p, _ssize_t, ctypes.c_char]
_FromContiguous.restype = ctypes.c_int

_IncRef = _api.Py_IncRef
_IncRef.argtypes = [ctypes.py_object]
_IncRef.restype = None

_PyBUF_READ = 0x100
_PyBUF_WRITE = 0x200


class RawInfo(NamedTuple):
    """The fields of one ``Py_buffer``, as Python values (``None`` for NULL)."""

    obj: object
    buf: int | None
    len: int
    itemsize: int
    readonly: int
    ndim: int
    format: str | None
    shape: tuple[int, ...] | None
    strides: tuple[int, ...] | None
    suboffsets: tuple[int, ...] | None
    internal: int | None


def _read_array(address: int | None, count: int) -> tuple[int, ...] | None:
    if not address:
        return None
    return tuple((_ssize_t * count).from_address(address))


class RawBuffer:
    """One ``Py_buffer`` on the heap: filled by one ``PyObject_GetBuffer``.

    Construction raises whatever the exporter raised; then nothing is held and
    ``release`` does nothing. ``release`` calls ``PyBuffer_Release`` once.
    """

    __slots__ = ("__weakref__", "_struct", "held")

    def __init__(self, obj: object, flags: int) -> None:
        self.held = False
        """True between a successful getbuffer and its release (read only)."""
        self._struct = Py_buffer()
        _GetBuffer(obj, ctypes.byref(self._struct), int(flags))
        self.held = True

    @property
    def address(self) -> int:
        """Where the ``Py_buffer`` struct itself lives (stable until released)."""
        return ctypes.addressof(self._struct)

    @property
    def obj_address(self) -> int | None:
        """The raw ``obj`` pointer (no reference taken)."""
        address: int | None = self._struct.obj
        return address

    def read(self) -> RawInfo:
        """The fields the exporter filled in.

        Raises ``ValueError`` if ``ndim`` is outside ``0..MAX_NDIM``: the arrays
        are then not read, since their length would come from a broken field.
        """
        s = self._struct
        ndim = s.ndim
        if not 0 <= ndim <= MAX_NDIM:
            raise ValueError(f"Py_buffer.ndim is {ndim}, outside 0..{MAX_NDIM}")
        return RawInfo(
            obj=object_at(s.obj) if s.obj else None,
            buf=s.buf,
            len=s.len,
            itemsize=s.itemsize,
            readonly=s.readonly,
            ndim=ndim,
            format=ctypes.string_at(s.format).decode("latin-1") if s.format else None,
            shape=_read_array(s.shape, ndim),
            strides=_read_array(s.strides, ndim),
            suboffsets=_read_array(s.suboffsets, ndim),
            internal=s.internal,
        )

    def release(self) -> bool:
        """Release the buffer if still held; True if this call released it."""
        if not self.held:
            return False
        self.held = False
        _Release(ctypes.byref(self._struct))
        return True


def unwrap_exporter(obj: object) -> object:
    """The exporter behind ``obj``: a ``_buffer_wrapper`` gives its real exporter.

    CPython puts a ``_buffer_wrapper`` in ``Py_buffer.obj`` for classes that
    export through ``__buffer__``; it references the returned memoryview and the
    exporter, and is the only object of that type that does.
    """
    if type(obj).__name__ != "_buffer_wrapper":
        return obj
    for referent in gc.get_referents(obj):
        if type(referent) is not memoryview:
            return referent
    return obj


def object_at(address: int) -> object:
    """The object whose ``PyObject*`` is ``address`` (a new reference)."""
    if not address:
        raise ValueError("NULL object pointer")
    return ctypes.cast(address, ctypes.py_object).value


def refcount(holder: list[object]) -> int:
    """The reference count of ``holder[0]``, measured the same way at every call.

    The object is passed in a list so that it is never on the caller's value stack:
    CPython 3.14 borrows some stack references, so ``sys.getrefcount(x)`` depends on
    the bytecode that loaded ``x``. Counts include the list's own reference.
    """
    return sys.getrefcount(holder[0])


def read_pointer(address: int) -> int:
    """The pointer stored at ``address`` (0 for NULL)."""
    return ctypes.c_void_p.from_address(address).value or 0


def string_at(address: int, size: int) -> bytes:
    """A copy of ``size`` bytes at ``address``."""
    return ctypes.string_at(address, size)


def memmove(dst: int, src: int, size: int) -> None:
    """Copy ``size`` bytes from ``src`` to ``dst`` (the ranges may overlap)."""
    ctypes.memmove(dst, src, size)


def byte_window(address: int, size: int) -> Any:
    """A ctypes ``char[size]`` at ``address``: slicing it (steps too) copies bytes out.

    It does not keep the memory alive: use it only while the memory is held.
    """
    return (ctypes.c_char * size).from_address(address)


def write_bytes(address: int, data: bytes) -> None:
    """Copy the bytes of ``data`` to ``address``."""
    ctypes.memmove(address, data, len(data))


_EMPTY = ctypes.create_string_buffer(1)
EMPTY_ADDRESS: int = ctypes.addressof(_EMPTY)
"""A valid address for views without elements (never read or written)."""


class Memory:
    """A zero-filled block of ``size`` bytes owned by Python, at a fixed address."""

    __slots__ = ("__weakref__", "_block", "address", "size")

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"negative memory size: {size}")
        self._block = ctypes.create_string_buffer(max(size, 1))
        self.address: int = ctypes.addressof(self._block)
        self.size: int = size

    def view(self) -> memoryview:
        """A writable 1-D ``'B'`` memoryview of the block (it keeps the block alive)."""
        return memoryview(self._block).cast("B")[: self.size]


# --- builtin memoryviews over computed layouts ------------------------------

_VAR_HEAD = object.__basicsize__ + ctypes.sizeof(_ssize_t)
_MASTER_OFFSET = object.__basicsize__ + 2 * ctypes.sizeof(_ssize_t)  # after flags, exports
_format_cache: dict[bytes, ctypes.Array[ctypes.c_char]] = {}
_leaked_keepalives: list[object] = []


def _format_buffer(fmt: bytes) -> ctypes.Array[ctypes.c_char]:
    """A NUL-terminated C copy of ``fmt`` that is never freed (formats are few)."""
    buffer = _format_cache.get(fmt)
    if buffer is None:
        buffer = _format_cache[fmt] = ctypes.create_string_buffer(fmt)
    return buffer


def _fill(
    address: int,
    itemsize: int,
    readonly: bool,
    fmt: bytes,
    shape: Sequence[int] | None,
    strides: Sequence[int] | None,
    suboffsets: Sequence[int] | None,
    length: int,
) -> tuple[Py_buffer, list[object]]:
    arrays: list[object] = []

    def array(values: Sequence[int] | None) -> int | None:
        if not values:
            return None
        _check_ssize(values)
        block = (_ssize_t * len(values))(*values)
        arrays.append(block)
        return ctypes.addressof(block)

    view = Py_buffer()
    view.buf = address
    view.len = length
    view.itemsize = itemsize
    view.readonly = 1 if readonly else 0
    view.ndim = len(shape) if shape is not None else 1
    view.format = ctypes.addressof(_format_buffer(fmt))
    view.shape = array(shape)
    view.strides = array(strides)
    view.suboffsets = array(suboffsets)
    return view, arrays


_SSIZE_MAX = 2 ** (8 * ctypes.sizeof(_ssize_t) - 1) - 1


def _check_ssize(values: Sequence[int]) -> None:
    """ctypes truncates silently: refuse what a ``Py_ssize_t`` cannot hold."""
    for value in values:
        if not -_SSIZE_MAX - 1 <= value <= _SSIZE_MAX:
            raise OverflowError(f"{value} does not fit in a Py_ssize_t")


def _master_of(mv: memoryview) -> Py_buffer:
    mbuf = read_pointer(id(mv) + _VAR_HEAD)
    return Py_buffer.from_address(mbuf + _MASTER_OFFSET)


def _probe_master_layout() -> bool:
    """True if ``_master_of`` finds the master buffer of a memoryview we built."""
    probe = ctypes.create_string_buffer(24)
    view, _arrays = _fill(ctypes.addressof(probe), 8, True, b"Q", (3,), (8,), None, 24)
    mv = _FromBuffer(ctypes.byref(view))
    try:
        master = _master_of(mv)
        return bool(
            master.buf == ctypes.addressof(probe)
            and master.len == 24
            and master.itemsize == 8
            and master.ndim == 1
            and master.obj is None
            and master.format == view.format
        )
    finally:
        mv.release()


_CAN_OWN = _probe_master_layout()


def memoryview_over(
    address: int,
    *,
    itemsize: int,
    fmt: str,
    shape: Sequence[int] | None,
    strides: Sequence[int] | None = None,
    suboffsets: Sequence[int] | None = None,
    readonly: bool = True,
    keepalive: object = None,
    length: int | None = None,
) -> memoryview:
    """A builtin memoryview of the given layout at ``address``.

    ``shape=None`` makes a 1-D view of ``length // itemsize`` items (what a
    ``Py_buffer`` without shape means). ``keepalive`` (typically the owner of
    the memory) lives as long as the memoryview and all views derived from it.
    The caller has verified that the layout lies inside memory it holds.
    """
    if length is None:
        count = 1
        for extent in shape or ():
            count *= extent
        length = count * itemsize
    if not 0 < address < 2 ** (8 * POINTER_SIZE):
        raise ValueError(f"invalid address: {address}")
    _check_ssize((itemsize, length))
    view, arrays = _fill(
        address, itemsize, readonly, fmt.encode("latin-1"), shape, strides, suboffsets, length
    )
    mv: memoryview = _FromBuffer(ctypes.byref(view))
    del arrays  # memoryview copied shape, strides and suboffsets into its own arrays
    if keepalive is not None:
        if _CAN_OWN:
            _IncRef(keepalive)
            _master_of(mv).obj = id(keepalive)
        else:
            _leaked_keepalives.append(keepalive)
    return mv


def from_contiguous(
    address: int,
    *,
    itemsize: int,
    shape: Sequence[int],
    strides: Sequence[int],
    suboffsets: Sequence[int] | None,
    source: int,
    length: int,
    order: str = "C",
) -> None:
    """``PyBuffer_FromContiguous``: scatter ``length`` contiguous bytes at ``source``
    into the elements of a layout at ``address``, in C or Fortran order (one C call;
    suboffsets are followed). ``length`` is the layout's ``nbytes``; the caller has
    verified that the layout lies inside memory it holds for writing.
    """
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', not {order!r}")
    _check_ssize((itemsize, length))
    view, arrays = _fill(address, itemsize, False, b"B", shape, strides, suboffsets, length)
    view.ndim = len(shape)
    if _FromContiguous(ctypes.byref(view), source, length, order.encode()) < 0:
        raise MemoryError("PyBuffer_FromContiguous failed")  # pragma: no cover (malloc)
    del arrays


def memoryview_from_memory(address: int, size: int, *, readonly: bool) -> memoryview:
    """``PyMemoryView_FromMemory``: a 1-D ``'B'`` view of raw memory."""
    return _FromMemory(address, size, _PyBUF_READ if readonly else _PyBUF_WRITE)  # type: ignore[no-any-return]


# --- the builtin memoryview's own flags ------------------------------------------

_MV_FLAGS_OFFSET = _VAR_HEAD + 2 * POINTER_SIZE  # after mbuf and hash
_MV_RELEASED, _MV_C, _MV_FORTRAN, _MV_SCALAR, _MV_PIL = 0x1, 0x2, 0x4, 0x8, 0x10
_MV_LAYOUT_BITS = _MV_C | _MV_FORTRAN | _MV_PIL


def _flags_field(mv: memoryview) -> ctypes.c_int:
    return ctypes.c_int.from_address(id(mv) + _MV_FLAGS_OFFSET)


def _probe_flags_layout() -> bool:
    """True if ``_flags_field`` reads the flags CPython computed for known views."""
    data = bytearray(4)
    block = ctypes.create_string_buffer(16)
    view, _arrays = _fill(ctypes.addressof(block), 1, True, b"B", (2,), (8,), (0,), 2)
    indirect = _FromBuffer(ctypes.byref(view))
    released = memoryview(data)
    released.release()
    expected = [
        (memoryview(data), _MV_C | _MV_FORTRAN),
        (memoryview(data)[::2], 0),
        (memoryview(data)[::4], _MV_C | _MV_FORTRAN),
        (memoryview(data)[:1].cast("B", ()), _MV_SCALAR | _MV_C | _MV_FORTRAN),
        (indirect, _MV_PIL),
        (released, _MV_RELEASED | _MV_C | _MV_FORTRAN),
    ]
    try:
        return all(_flags_field(mv).value == flags for mv, flags in expected)
    finally:
        indirect.release()


_CAN_SET_FLAGS = _probe_flags_layout()


def set_memoryview_flags(
    mv: memoryview, *, c_contiguous: bool, f_contiguous: bool, indirect: bool
) -> bool:
    """Set the C, Fortran and indirect (PIL) flags of ``mv``'s own getbuffer checks.

    Returns False (and changes nothing) where the flags field could not be located.
    Raises ValueError for a change that could expose memory: adding contiguity to
    a view with bytes, or clearing the indirect flag while a suboffset is >= 0.
    """
    if not _CAN_SET_FLAGS:
        return False
    field = _flags_field(mv)
    old = field.value
    new = old & ~_MV_LAYOUT_BITS
    new |= (_MV_C if c_contiguous else 0) | (_MV_FORTRAN if f_contiguous else 0)
    new |= _MV_PIL if indirect else 0
    added = new & ~old
    if added & (_MV_C | _MV_FORTRAN) and mv.nbytes:
        raise ValueError("contiguity can only be added to a memoryview without bytes")
    if old & _MV_PIL and not indirect and any(s >= 0 for s in mv.suboffsets or ()):
        raise ValueError("the indirect flag of a view that follows pointers must stay")
    field.value = new
    return True


def describe() -> dict[str, Any]:
    """Facts about this interpreter's C API bridge (for diagnostics)."""
    return {
        "owns_keepalive": _CAN_OWN,
        "sets_memoryview_flags": _CAN_SET_FLAGS,
        "pointer_size": POINTER_SIZE,
        "max_ndim": MAX_NDIM,
    }
