"""The bridge to CPython's buffer C API: the only module that uses ``ctypes``.

Invariants:
- Nothing here checks addresses or lengths against the memory they reach:
  callers pass only addresses they have verified against a buffer they hold
  (see ``layout.Layout.verify``) for as long as the call uses them.
- ``RawBuffer`` is one raw ``PyObject_GetBuffer`` into a ``Py_buffer`` owned by
  ctypes: it shows the fields exactly as the exporter filled them, and is
  released at most once, only after a getbuffer that succeeded. Its reference
  to the exporter is invisible to the garbage collector, so it is for short
  requests (the checker, ``acquire``), never for holding a buffer for long.
- ``memoryview_over`` builds a builtin memoryview over a computed layout. With
  a ``keepalive``, the memoryview's managed buffer owns a reference to it and
  to the C copy of the format text, which the collector traverses: both live
  exactly as long as the memoryview and every view derived from it. Without
  one, the format must be one of ``STATIC_FORMATS`` (C strings that live as
  long as the interpreter) and the caller keeps the memory alive for as long
  as it uses the memoryview.
- Private layouts. Three things need fields of CPython objects that the C API
  does not document: the address of a memoryview's memory (``view.buf``), the
  owner of a managed buffer built over a computed layout (``master.obj``), and
  the contiguity flags a memoryview's own getbuffer checks (``flags``). Their
  offsets are derived from documented sizes -- ``object.__basicsize__`` (the
  size of ``PyObject``), ``Py_ssize_t``, pointers, ``Py_buffer`` -- and the
  declared field order, then verified at import on probe objects: every field
  read lies inside the probe object's own allocation, and each read is compared
  with a value obtained through documented API (``id``, ``gc.get_referents``,
  ctypes addresses, the memoryview's attributes). A pointer is followed only
  after it equals the ``id`` of the object it must point to. Where a probe fails
  -- an unknown layout, a free-threaded build running without the GIL, or
  ``BUFFERKIT_NO_PRIVATE_LAYOUTS`` set in the environment -- documented API
  takes over: a short ``PyObject_GetBuffer`` for the address, a PEP 688
  exporter for the owner, and nothing for the flags (``set_memoryview_flags``
  then returns False and the builtin's own flags stand).
- Pure-Python (PEP 688) exporters are reached through a ``_buffer_wrapper`` in
  ``Py_buffer.obj``; ``unwrap_exporter`` returns the real exporter.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from _weakref import ref as weakref_to  # weakref.ref (the weakref module costs 1.5 ms)
from collections.abc import Callable, Iterable, Sequence

from ._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BUFFER_WRAPPER",
    "EMPTY_ADDRESS",
    "LONG_DOUBLE_ALIGNMENT",
    "LONG_DOUBLE_SIZE",
    "MAX_NDIM",
    "POINTER_SIZE",
    "SSIZE_MAX",
    "STATIC_FORMATS",
    "Memory",
    "RawBuffer",
    "RawInfo",
    "byte_window",
    "check_ssize",
    "from_contiguous",
    "keep_forever",
    "master_info",
    "memmove",
    "VIEWS_COUNTED",
    "managed_buffer_key",
    "managed_buffer_of",
    "memoryview_address",
    "memoryview_from_memory",
    "memoryview_over",
    "new_bytes",
    "object_at",
    "objects_at",
    "long_doubles_from",
    "long_doubles_to",
    "read_pointer",
    "refcount",
    "set_memoryview_flags",
    "skip_release_calls",
    "string_at",
    "to_contiguous",
    "unwrap_exporter",
    "views_on",
    "write_bytes",
]

MAX_NDIM = 64
POINTER_SIZE = ctypes.sizeof(ctypes.c_void_p)

_ssize_t = ctypes.c_ssize_t
SSIZE_MAX = 2 ** (8 * ctypes.sizeof(_ssize_t) - 1) - 1


def check_ssize(values: Sequence[int]) -> None:
    """ctypes truncates silently: refuse what a ``Py_ssize_t`` cannot hold."""
    for value in values:
        if not -SSIZE_MAX - 1 <= value <= SSIZE_MAX:
            raise OverflowError(f"{value} does not fit in a Py_ssize_t")


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

_ToContiguous = _api.PyBuffer_ToContiguous
_ToContiguous.argtypes = [ctypes.c_void_p, _P_buffer, _ssize_t, ctypes.c_char]
_ToContiguous.restype = ctypes.c_int

_BytesFromSize = _api.PyBytes_FromStringAndSize
_BytesFromSize.argtypes = [ctypes.c_void_p, _ssize_t]
_BytesFromSize.restype = ctypes.py_object

_BytesAddress = _api.PyBytes_AsString
_BytesAddress.argtypes = [ctypes.py_object]
_BytesAddress.restype = ctypes.c_void_p

_IncRef = _api.Py_IncRef
_IncRef.argtypes = [ctypes.py_object]
_IncRef.restype = None

_PyBUF_READ = 0x100
_PyBUF_WRITE = 0x200
_PyBUF_FULL_RO = 0x11C


class RawInfo(Record):
    """The fields of one ``Py_buffer``, as Python values (``None`` for NULL)."""

    __slots__ = (  # noqa: RUF023 (the fields, in order)
        "obj",
        "buf",
        "len",
        "itemsize",
        "readonly",
        "ndim",
        "format",
        "shape",
        "strides",
        "suboffsets",
        "internal",
    )
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

    def __init__(
        self,
        obj: object,
        buf: int | None,
        len: int,
        itemsize: int,
        readonly: int,
        ndim: int,
        format: str | None,
        shape: tuple[int, ...] | None,
        strides: tuple[int, ...] | None,
        suboffsets: tuple[int, ...] | None,
        internal: int | None,
    ) -> None:
        self._fill(
            obj, buf, len, itemsize, readonly, ndim, format, shape, strides, suboffsets, internal
        )


def _read_array(address: int | None, count: int) -> tuple[int, ...] | None:
    if not address:
        return None
    return tuple((_ssize_t * count).from_address(address))


def _read_struct(s: Py_buffer, obj: object) -> RawInfo:
    """The fields of ``s`` (``obj`` given by the caller, who knows whose it is).

    Raises ``ValueError`` if ``ndim`` is outside ``0..MAX_NDIM``: the arrays are
    then not read, since their length would come from a broken field.
    """
    ndim = s.ndim
    if not 0 <= ndim <= MAX_NDIM:
        raise ValueError(f"Py_buffer.ndim is {ndim}, outside 0..{MAX_NDIM}")
    return RawInfo(
        obj=obj,
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
    def obj_address(self) -> int | None:
        """The raw ``obj`` pointer (no reference taken)."""
        address: int | None = self._struct.obj
        return address

    def read(self) -> RawInfo:
        """The fields the exporter filled in (``ValueError`` for a broken ``ndim``)."""
        s = self._struct
        return _read_struct(s, object_at(s.obj) if s.obj else None)

    def release(self) -> bool:
        """Release the buffer if still held; True if this call released it."""
        if not self.held:
            return False
        self.held = False
        _Release(ctypes.byref(self._struct))
        return True


class _PythonExporter:
    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(b"")


BUFFER_WRAPPER: type = type(memoryview(_PythonExporter()).obj)
"""The type of CPython's ``_buffer_wrapper`` (``Py_buffer.obj`` of a PEP 688 export)."""


def unwrap_exporter(obj: object) -> object:
    """The exporter behind ``obj``: a ``_buffer_wrapper`` gives its real exporter.

    CPython puts a ``_buffer_wrapper`` in ``Py_buffer.obj`` for classes that
    export through ``__buffer__``; it references the returned memoryview and the
    exporter, and is the only object of that type that does.
    """
    if type(obj) is not BUFFER_WRAPPER:
        return obj
    for referent in gc.get_referents(obj):
        if type(referent) is not memoryview:
            return referent
    return obj


def object_at(address: int) -> object:
    """The object whose ``PyObject*`` is ``address`` (a new reference).

    Precondition: ``address`` points to a live object (a field an exporter filled).
    """
    if not address:
        raise ValueError("NULL object pointer")
    return ctypes.cast(address, ctypes.py_object).value


def objects_at(addresses: Iterable[int]) -> list[object]:
    """The objects whose pointers are stored at ``addresses`` (new references).

    Each pointer is read and its object's reference taken in one C step
    (``py_object.value``), so another thread replacing the pointer can hand back
    the old object or the new one, never a freed one. NULL raises ``ValueError``.
    Precondition: each address is an item that holds an object pointer.
    """
    from_address = ctypes.py_object.from_address
    return [from_address(address).value for address in addresses]


def refcount(holder: list[object]) -> int:
    """The reference count of ``holder[0]``, measured the same way at every call.

    The object is passed in a list so that it is never on the caller's value stack:
    CPython 3.14 borrows some stack references, so ``sys.getrefcount(x)`` depends on
    the bytecode that loaded ``x``. Counts include the list's own reference.
    """
    return sys.getrefcount(holder[0])


def keep_forever(holder: list[object], count: int) -> None:
    """Take ``count`` references to ``holder[0]`` that are never dropped (an unmatched
    ``Py_IncRef``): what the checker gives back to an object a broken exporter's
    release took a reference from, so it lives for good instead of being freed."""
    for _ in range(count):
        _IncRef(holder[0])


def read_pointer(address: int) -> int:
    """The pointer stored at ``address`` (0 for NULL)."""
    return ctypes.c_void_p.from_address(address).value or 0


def string_at(address: int, size: int) -> bytes:
    """A copy of ``size`` bytes at ``address``."""
    return ctypes.string_at(address, size)


def memmove(dst: int, src: int, size: int) -> None:
    """Copy ``size`` bytes from ``src`` to ``dst`` (the ranges may overlap).

    The copy runs without the GIL: the caller holds both buffers, not a lock.
    """
    ctypes.memmove(dst, src, size)


def byte_window(address: int, size: int) -> Any:
    """A ctypes ``char[size]`` at ``address``: slicing it (steps too) copies bytes out.

    It does not keep the memory alive: use it only while the memory is held.
    """
    return (ctypes.c_char * size).from_address(address)


def write_bytes(address: int, data: bytes) -> None:
    """Copy the bytes of ``data`` to ``address``."""
    ctypes.memmove(address, data, len(data))


LONG_DOUBLE_SIZE = ctypes.sizeof(ctypes.c_longdouble)
LONG_DOUBLE_ALIGNMENT = ctypes.alignment(ctypes.c_longdouble)


def long_doubles_from(data: bytes) -> list[float]:
    """The C ``long double`` values packed in ``data``, as floats (precision beyond a
    double is lost)."""
    from_bytes = ctypes.c_longdouble.from_buffer_copy
    starts = range(0, len(data), LONG_DOUBLE_SIZE)
    return [from_bytes(data, start).value for start in starts]


def long_doubles_to(values: Sequence[float]) -> bytes:
    r"""``values`` packed as C ``long double``\ s."""
    return b"".join(map(bytes, map(ctypes.c_longdouble, values)))


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


# --- private layouts, verified on probes --------------------------------------------


class _MemoryViewFields(ctypes.Structure):
    """``PyMemoryViewObject`` after ``PyObject_VAR_HEAD`` (``Include/cpython/memoryobject.h``)."""

    _fields_ = [
        ("mbuf", ctypes.c_void_p),
        ("hash", _ssize_t),
        ("flags", ctypes.c_int),
        ("exports", _ssize_t),
        ("view", Py_buffer),
        ("weakreflist", ctypes.c_void_p),
    ]


class _ManagedBufferFields(ctypes.Structure):
    """``_PyManagedBufferObject`` after ``PyObject_HEAD``."""

    _fields_ = [("flags", ctypes.c_int), ("exports", _ssize_t), ("master", Py_buffer)]


_HEAD = object.__basicsize__  # sizeof(PyObject), whatever the build adds to it
_VAR_HEAD = _HEAD + ctypes.sizeof(_ssize_t)  # PyObject_VAR_HEAD: PyObject and ob_size
_MV_FLAGS_OFFSET = _VAR_HEAD + _MemoryViewFields.flags.offset
_MV_MBUF_OFFSET = _VAR_HEAD + _MemoryViewFields.mbuf.offset
_MV_BUF_OFFSET = _VAR_HEAD + _MemoryViewFields.view.offset + Py_buffer.buf.offset
_MASTER_OBJ_OFFSET = _HEAD + _ManagedBufferFields.master.offset + Py_buffer.obj.offset
_MBUF_EXPORTS_OFFSET = _HEAD + _ManagedBufferFields.exports.offset
_MV_RELEASED, _MV_C, _MV_FORTRAN, _MV_SCALAR, _MV_PIL = 0x1, 0x2, 0x4, 0x8, 0x10
_MV_LAYOUT_BITS = _MV_C | _MV_FORTRAN | _MV_PIL


def _mv_fields(mv: memoryview) -> _MemoryViewFields:
    """The fields of ``mv`` (precondition: the memoryview layout was verified)."""
    return _MemoryViewFields.from_address(id(mv) + _VAR_HEAD)


def _mbuf_fields(address: int) -> _ManagedBufferFields:
    """The fields of the managed buffer at ``address`` (a verified ``mbuf`` pointer)."""
    return _ManagedBufferFields.from_address(address + _HEAD)


def _private_layouts_allowed() -> bool:
    if os.environ.get("BUFFERKIT_NO_PRIVATE_LAYOUTS"):
        return False
    gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return gil_enabled is None or bool(gil_enabled())


_get_referents = gc.get_referents


def _referent(obj: object, type_name: str) -> object | None:
    """The one object of type ``type_name`` that ``obj`` references, per the collector."""
    found = [r for r in gc.get_referents(obj) if type(r).__name__ == type_name]
    return found[0] if len(found) == 1 else None


def _probe_memoryview_layout() -> bool:
    """True if ``_MemoryViewFields`` reads what CPython holds in its memoryviews.

    Reads stay inside each probe object (``__basicsize__`` plus the shape and
    strides arrays of a 1-D view); no pointer read here is followed.
    """
    if memoryview.__basicsize__ != _VAR_HEAD + ctypes.sizeof(_MemoryViewFields):
        return False
    if memoryview.__itemsize__ != ctypes.sizeof(_ssize_t):
        return False
    data = bytearray(b"bufferkit probe!")
    window = ctypes.c_char.from_buffer(data)
    address = ctypes.addressof(window)
    mv = memoryview(data)
    fields = _mv_fields(mv)
    mbuf = _referent(mv, "managedbuffer")
    view = fields.view
    arrays = id(mv) + memoryview.__basicsize__
    same = (
        mbuf is not None
        and fields.mbuf == id(mbuf)
        and fields.hash == -1
        and fields.flags == _MV_C | _MV_FORTRAN
        and fields.exports == 0
        and (view.buf, view.obj, view.len, view.itemsize) == (address, id(data), len(data), 1)
        and (view.readonly, view.ndim, view.shape, view.strides) == (0, 1, arrays, arrays + 8)
        and view.suboffsets is None
    )
    if not same:
        return False
    raw = RawBuffer(mv, _PyBUF_FULL_RO)
    exported = fields.exports
    raw.release()
    hashable = memoryview(bytes(data))
    digest = hash(hashable)
    stored: int = _mv_fields(hashable).hash
    return exported == 1 and fields.exports == 0 and stored == digest


def _probe_flags() -> bool:
    """True if the flags field reads what CPython computed for known views."""
    data = bytearray(4)
    block = ctypes.create_string_buffer(16)
    view = Py_buffer(ctypes.addressof(block), None, 2, 1, 1, 1, _STATIC["B"])
    shape, strides, suboffsets = (_ssize_t * 1)(2), (_ssize_t * 1)(8), (_ssize_t * 1)(0)
    view.shape, view.strides = ctypes.addressof(shape), ctypes.addressof(strides)
    view.suboffsets = ctypes.addressof(suboffsets)
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
        return all(_mv_fields(mv).flags == flags for mv, flags in expected)
    finally:
        indirect.release()


def _probe_managed_buffer_layout() -> bool:
    """True if ``_ManagedBufferFields`` reads the managed buffers of known views and an
    owner written into ``master.obj`` is traversed by the collector and released with it.

    Precondition: the memoryview layout was verified, so ``mbuf`` pointers are
    checked against the collector's referents before they are followed.
    """
    data = bytearray(b"bufferkit probe!")
    window = ctypes.c_char.from_buffer(data)
    first = memoryview(data)
    second = first[::2]
    mbuf = _referent(first, "managedbuffer")
    if mbuf is None or _referent(second, "managedbuffer") is not mbuf:
        return False
    if managed_buffer_key(first) != [mbuf] or managed_buffer_key(second) != [mbuf]:
        return False  # (managed_buffer_key relies on exactly this report)
    if type(mbuf).__basicsize__ != _HEAD + ctypes.sizeof(_ManagedBufferFields):
        return False
    fields = _mbuf_fields(_mv_fields(first).mbuf)
    master = fields.master
    if (fields.flags, fields.exports, master.obj) != (0, 2, id(data)):
        return False
    address = managed_buffer_of(first)
    third = memoryview(second)  # a sibling registers on the same managed buffer
    counted = (managed_buffer_of(third), views_on(address))
    del third
    if counted != (address, 3) or views_on(address) != 2:
        return False
    if (master.buf, master.len, master.readonly) != (ctypes.addressof(window), len(data), 0):
        return False
    return _probe_owner_write()


def _write_owner(mv: memoryview, owner: object) -> None:
    """Make ``owner`` the ``master.obj`` of ``mv``'s managed buffer (a new reference).

    Precondition: ``mv`` came from ``PyMemoryView_FromBuffer`` (its ``master.obj`` is
    NULL) and the layouts were verified (or are being probed, on such a view).
    """
    _IncRef(owner)
    mbuf = ctypes.c_void_p.from_address(id(mv) + _MV_MBUF_OFFSET).value or 0
    ctypes.c_void_p.from_address(mbuf + _MASTER_OBJ_OFFSET).value = id(owner)


class _Token:
    __slots__ = ("__weakref__",)


def _probe_owner_write() -> bool:
    """Write an owner into a fresh managed buffer: the collector must see it, and the
    managed buffer must drop it when its last view goes."""
    block = ctypes.create_string_buffer(8)
    token = _Token()
    watch = weakref_to(token)
    mv = _from_buffer(ctypes.addressof(block), 1, True, _STATIC["B"], (8,), None, None, 8)
    mbuf = _referent(mv, "managedbuffer")
    if mbuf is None or _mv_fields(mv).mbuf != id(mbuf):
        mv.release()
        return False
    fields = _mbuf_fields(id(mbuf))
    if (fields.master.obj, fields.master.buf) != (None, ctypes.addressof(block)):
        mv.release()
        return False
    owner = (token,)
    _write_owner(mv, owner)
    seen = any(referent is owner for referent in gc.get_referents(mbuf))
    del owner, token, mbuf, fields
    alive_while_held = watch() is not None
    mv.release()
    return seen and alive_while_held and watch() is None


# --- builtin memoryviews over computed layouts ------------------------------

STATIC_FORMATS: tuple[str, ...] = ("B", "b", "c", "?", "h", "H", "i", "I", "l", "L", "q", "Q")
STATIC_FORMATS += ("n", "N", "e", "f", "d", "P", "Zf", "Zd")
"""Format texts ``memoryview_over`` takes without a keepalive (C strings that never die)."""

_STATIC_BUFFERS = {text: ctypes.create_string_buffer(text.encode()) for text in STATIC_FORMATS}
_STATIC = {text: ctypes.addressof(buffer) for text, buffer in _STATIC_BUFFERS.items()}


def _from_buffer(
    address: int,
    itemsize: int,
    readonly: bool,
    fmt: int,
    shape: Sequence[int] | None,
    strides: Sequence[int] | None,
    suboffsets: Sequence[int] | None,
    length: int,
) -> memoryview:
    """``PyMemoryView_FromBuffer`` of a layout; ``fmt`` is the address of a C string
    that the caller keeps alive as long as the memoryview and its derived views."""
    view = Py_buffer()
    view.buf = address
    view.len = length
    view.itemsize = itemsize
    view.readonly = 1 if readonly else 0
    view.ndim = len(shape) if shape is not None else 1
    view.format = fmt
    arrays = []
    for name, values in (("shape", shape), ("strides", strides), ("suboffsets", suboffsets)):
        if values:
            check_ssize(values)
            block = (_ssize_t * len(values))(*values)
            arrays.append(block)
            setattr(view, name, ctypes.addressof(block))
    mv: memoryview = _FromBuffer(ctypes.byref(view))
    return mv  # the memoryview copied shape, strides and suboffsets into its own arrays


class _Window:
    """A PEP 688 exporter of one computed layout (the documented route to an owner).

    ``memoryview(window)`` gets its buffer through CPython's ``_buffer_wrapper``,
    which the new memoryview's managed buffer owns and the collector traverses:
    the wrapper holds this window, the window holds the owner.
    """

    __slots__ = ("_inner", "_owner")

    def __init__(self, inner: memoryview, owner: object) -> None:
        self._inner = inner
        self._owner = owner

    def __buffer__(self, flags: int) -> memoryview:
        return self._inner


def _owned(mv: memoryview, owner: object) -> memoryview:
    """``mv``'s layout in a memoryview whose managed buffer owns ``owner``."""
    if _CAN_OWN:
        _write_owner(mv, owner)
        return mv
    return memoryview(_Window(mv, owner))


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
    ``Py_buffer`` without shape means). ``keepalive`` (typically what holds the
    memory) and the C copy of ``fmt`` live as long as the memoryview and all
    views derived from it, owned where the collector sees them. Without a
    keepalive, ``fmt`` must be in ``STATIC_FORMATS`` and the caller keeps the
    memory alive while it uses the memoryview. The caller has verified that the
    layout lies inside memory it holds.
    """
    if length is None:
        count = 1
        for extent in shape or ():
            count *= extent
        length = count * itemsize
    if not 0 < address < 2 ** (8 * POINTER_SIZE):
        raise ValueError(f"invalid address: {address}")
    check_ssize((itemsize, length))
    if keepalive is None:
        static = _STATIC.get(fmt)
        if static is None:
            raise ValueError(f"format {fmt!r} needs a keepalive to own its C string")
        return _from_buffer(address, itemsize, readonly, static, shape, strides, suboffsets, length)
    text = ctypes.create_string_buffer(fmt.encode("latin-1"))
    mv = _from_buffer(
        address, itemsize, readonly, ctypes.addressof(text), shape, strides, suboffsets, length
    )
    return _owned(mv, (keepalive, text))


def managed_buffer_of(mv: memoryview) -> int:
    """The address of ``mv``'s managed buffer (memoryviews sharing one have the same).

    Precondition: ``VIEWS_COUNTED`` (the layouts were verified).
    """
    return ctypes.c_void_p.from_address(id(mv) + _MV_MBUF_OFFSET).value or 0


# The key of a memoryview's managed buffer: two unreleased memoryviews share one
# exactly when their keys are equal, since the collector reports that buffer as a
# memoryview's only referent (verified by the probe). Precondition: ``VIEWS_COUNTED``.
managed_buffer_key: Callable[[memoryview], list[object]] = gc.get_referents


def views_on(address: int) -> int:
    """How many memoryviews are registered on the managed buffer at ``address`` (one
    from ``managed_buffer_of``; its ``exports`` field). Precondition: ``VIEWS_COUNTED``."""
    return _ssize_t.from_address(address + _MBUF_EXPORTS_OFFSET).value


def memoryview_address(mv: memoryview) -> int:
    """The address of ``mv``'s memory (``view.buf``); ``ValueError`` if it is released.

    The address stays valid while ``mv`` (or anything holding its managed buffer)
    is alive and the exporter cannot free memory it exports.
    """
    mv.readonly  # noqa: B018 (raises ValueError on a released view)
    if _MV_OK:
        return ctypes.c_void_p.from_address(id(mv) + _MV_BUF_OFFSET).value or 0
    raw = RawBuffer(mv, _PyBUF_FULL_RO)
    try:
        return raw._struct.buf or 0
    finally:
        raw.release()


def master_info(mv: memoryview) -> RawInfo | None:
    """The ``Py_buffer`` behind ``mv``'s managed buffer exactly as its exporter filled
    it (format NULL, no shape, ...), or None where the layout is not verified.

    Precondition: ``mv`` was made from an exporter (not over a computed layout).
    """
    if not _CAN_OWN:
        return None
    mv.readonly  # noqa: B018 (raises ValueError on a released view)
    return _read_struct(_mbuf_fields(_mv_fields(mv).mbuf).master, mv.obj)


def _layout_buffer(
    address: int,
    itemsize: int,
    shape: Sequence[int],
    strides: Sequence[int],
    suboffsets: Sequence[int] | None,
    length: int,
) -> tuple[Py_buffer, list[Any]]:
    """A ``Py_buffer`` (format ``'B'``, no owner) describing a layout, and the arrays
    it points to (keep them alive while it is used)."""
    check_ssize((itemsize, length, *shape, *strides, *(suboffsets or ())))
    view = Py_buffer(address, None, length, itemsize, 0, len(shape), _STATIC["B"])
    arrays: list[Any] = [(_ssize_t * len(shape))(*shape), (_ssize_t * len(strides))(*strides)]
    view.shape, view.strides = ctypes.addressof(arrays[0]), ctypes.addressof(arrays[1])
    if suboffsets:
        arrays.append((_ssize_t * len(suboffsets))(*suboffsets))
        view.suboffsets = ctypes.addressof(arrays[2])
    return view, arrays


def _check_order(order: str) -> bytes:
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', not {order!r}")
    return order.encode()


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
    code = _check_order(order)
    view, arrays = _layout_buffer(address, itemsize, shape, strides, suboffsets, length)
    if _FromContiguous(ctypes.byref(view), source, length, code) < 0:
        raise MemoryError("PyBuffer_FromContiguous failed")  # pragma: no cover (malloc)
    del arrays


def to_contiguous(
    address: int,
    *,
    itemsize: int,
    shape: Sequence[int],
    strides: Sequence[int],
    suboffsets: Sequence[int] | None,
    target: int,
    length: int,
    order: str = "C",
) -> None:
    """``PyBuffer_ToContiguous``: gather the elements of a layout at ``address`` into
    ``length`` contiguous bytes at ``target`` (one C call; suboffsets are followed).
    The caller holds both memories (``target`` writable, ``length`` bytes long)."""
    code = _check_order(order)
    view, arrays = _layout_buffer(address, itemsize, shape, strides, suboffsets, length)
    if _ToContiguous(target, ctypes.byref(view), length, code) < 0:
        raise MemoryError("PyBuffer_ToContiguous failed")  # pragma: no cover (malloc)
    del arrays


def new_bytes(size: int) -> tuple[bytes, int]:
    """A new ``bytes`` object of ``size`` (>= 2) bytes not yet written, and its address.

    ``PyBytes_FromStringAndSize(NULL, size)``: the caller fills every byte before the
    object is used anywhere (it is not hashed or shared until then).
    """
    if size < 2:  # sizes 0 and 1 may be shared singletons
        raise ValueError(f"new_bytes needs at least 2 bytes, not {size}")
    check_ssize((size,))
    block: bytes = _BytesFromSize(None, size)
    return block, _BytesAddress(block) or 0


def memoryview_from_memory(address: int, size: int, *, readonly: bool) -> memoryview:
    """``PyMemoryView_FromMemory``: a 1-D ``'B'`` view of raw memory."""
    return _FromMemory(address, size, _PyBUF_READ if readonly else _PyBUF_WRITE)  # type: ignore[no-any-return]


# --- the builtin memoryview's own flags ------------------------------------------


def set_memoryview_flags(
    mv: memoryview, *, c_contiguous: bool, f_contiguous: bool, indirect: bool
) -> bool:
    """Set the C, Fortran and indirect (PIL) flags of ``mv``'s own getbuffer checks.

    Returns False (and changes nothing) where the flags field is not verified.
    Raises ValueError for a change that could expose memory: adding contiguity to
    a view with bytes, or clearing the indirect flag while a suboffset is >= 0.
    """
    if not _CAN_SET_FLAGS:
        return False
    field = ctypes.c_int.from_address(id(mv) + _MV_FLAGS_OFFSET)
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


# --- a PEP 688 class's release slot ---------------------------------------------------
#
# CPython calls a class's ``__release_buffer__`` whenever a consumer releases a buffer of
# an instance: its type's ``bf_releasebuffer`` slot, set because the class defines the
# method. An exporter whose exports need no call (each dies with the consumer's
# release, which its managed buffer counts) leaves the slot empty; the method stays,
# for direct calls and subclasses (a subclass that defines its own gets the slot).


class _TypeFields(ctypes.Structure):
    """``PyTypeObject`` after ``PyObject_VAR_HEAD``, up to ``tp_as_buffer``."""

    _fields_ = [
        ("tp_name", ctypes.c_void_p),
        ("tp_basicsize", _ssize_t),
        ("tp_itemsize", _ssize_t),
        *((name, ctypes.c_void_p) for name in (
            "tp_dealloc", "tp_vectorcall_offset", "tp_getattr", "tp_setattr", "tp_as_async",
            "tp_repr", "tp_as_number", "tp_as_sequence", "tp_as_mapping", "tp_hash",
            "tp_call", "tp_str", "tp_getattro", "tp_setattro", "tp_as_buffer",
        )),
    ]  # fmt: skip


class _BufferProcs(ctypes.Structure):
    """``PyBufferProcs``."""

    _fields_ = [("bf_getbuffer", ctypes.c_void_p), ("bf_releasebuffer", ctypes.c_void_p)]


_GetSlot = _api.PyType_GetSlot
_GetSlot.argtypes = [ctypes.py_object, ctypes.c_int]
_GetSlot.restype = ctypes.c_void_p
_Py_bf_getbuffer, _Py_bf_releasebuffer = 1, 2  # (Include/typeslots.h)


_Py_TPFLAGS_HEAPTYPE = 1 << 9
_python_slots: list[tuple[int, int]] = []  # CPython's slot_bf_getbuffer and
# slot_bf_releasebuffer (its calls of __buffer__ and __release_buffer__), as a probe saw them


def _release_slot(cls: type) -> _BufferProcs | None:
    """The buffer procedures of ``cls``, a class defined in Python, if verified: a heap
    type, whose procedures lie inside the type object, both slots read there the ones
    ``PyType_GetSlot`` gives, and those CPython's calls of ``__buffer__`` and
    ``__release_buffer__`` (a C function is never touched, nor a class whose buffer
    comes from a C base's getbuffer)."""
    if type(cls) is not type or not cls.__flags__ & _Py_TPFLAGS_HEAPTYPE:
        return None
    release = _GetSlot(cls, _Py_bf_releasebuffer)
    if not release or _python_slots != [(_GetSlot(cls, _Py_bf_getbuffer), release)]:
        return None
    fields = _TypeFields.from_address(id(cls) + _VAR_HEAD)  # (inside the type object)
    if (fields.tp_basicsize, fields.tp_itemsize) != (cls.__basicsize__, cls.__itemsize__):
        return None
    start, end = id(cls), id(cls) + type.__basicsize__  # type: ignore[operator]  # (a property to mypy)
    address = fields.tp_as_buffer or 0
    if not start < address <= end - ctypes.sizeof(_BufferProcs):
        return None  # (a heap type's procedures are part of the type object)
    procs = _BufferProcs.from_address(address)
    if [(procs.bf_getbuffer, procs.bf_releasebuffer)] != _python_slots:
        return None
    return procs


def _empty_release_slot(cls: type) -> bool:
    procs = _release_slot(cls)
    if procs is None:
        return False
    release = procs.bf_releasebuffer
    procs.bf_releasebuffer = None
    if _GetSlot(cls, _Py_bf_releasebuffer):  # not the field CPython reads: undo
        procs.bf_releasebuffer = release
        return False
    return True


def _probe_release_slot() -> bool:
    """Empty the release slot of a probe class: a consumer's release must then call
    nothing, the export must die with it, and a direct call must still work."""
    calls: list[memoryview] = []
    data = memoryview(b"probe")

    class Exporter:
        def __buffer__(self, flags: int) -> memoryview:
            export = memoryview(data)
            exports.append(weakref_to(export))
            return export

        def __release_buffer__(self, view: memoryview) -> None:
            calls.append(view)

    exports: list[weakref_to[memoryview]] = []
    slots = (_GetSlot(Exporter, _Py_bf_getbuffer), _GetSlot(Exporter, _Py_bf_releasebuffer))
    _python_slots[:] = [slots] if all(slots) else []
    if not _empty_release_slot(Exporter):
        return False
    consumer = memoryview(Exporter())
    held = exports[0]() is not None and consumer.tobytes() == b"probe"
    consumer.release()
    Exporter().__release_buffer__(data)
    return held and exports[0]() is None and calls == [data]


def skip_release_calls(cls: type) -> bool:
    """Make CPython call no ``cls.__release_buffer__`` when a consumer releases a buffer
    of an instance (the method stays for direct calls); True if done, False where the
    type's layout is not verified (the calls go on).

    Precondition: every memoryview ``cls.__buffer__`` returns needs nothing but to die
    when released (its managed buffer counts it).
    """
    return _CAN_SKIP_RELEASE and _empty_release_slot(cls)


def _probe(check: Callable[[], bool]) -> bool:
    """A probe's verdict; a probe that raises has failed (never trusted)."""
    try:
        return check()
    except Exception:
        return False


_MV_OK = _private_layouts_allowed() and _probe(_probe_memoryview_layout)
_CAN_SET_FLAGS = _MV_OK and _probe(_probe_flags)
_CAN_OWN = _MV_OK and _probe(_probe_managed_buffer_layout)
VIEWS_COUNTED = _CAN_OWN
"""True where ``managed_buffer_of`` and ``views_on`` read verified fields."""
_CAN_SKIP_RELEASE = _private_layouts_allowed() and _probe(_probe_release_slot)


def describe() -> dict[str, Any]:
    """Facts about this interpreter's C API bridge (for diagnostics)."""
    return {
        "private_layouts_allowed": _private_layouts_allowed(),
        "reads_memoryview_address": _MV_OK,
        "owns_keepalive": _CAN_OWN,
        "sets_memoryview_flags": _CAN_SET_FLAGS,
        "skips_release_calls": _CAN_SKIP_RELEASE,
        "pointer_size": POINTER_SIZE,
        "max_ndim": MAX_NDIM,
    }
