"""NDArray: the reference exporter, with the semantics of CPython's ``_testbuffer.ndarray``.

An ``NDArray`` is built from a flat list of items (``shape``, byte ``strides``,
``offset``, a ``format`` and ``ND_*`` flags), or over another exporter (a
re-exporter, "consumer" in ``_testbuffer.c``, with ``getbuf`` request flags).
It exports through PEP 688 what ``_testbuffer`` exports: the same fields, the
same refusals, the same messages. Its formats are every format ``Format`` reads
and writes (records, sub-arrays, complex, long double, pointers, ...);
``testbuffer.ndarray``, the subclass that stands for ``_testbuffer.ndarray``,
takes only ``struct`` formats, as C does.

Invariants:
- An NDArray is a stack of bases (``_Base``, C's ``ndbuf_t``); the head is what
  every attribute, method and new export sees. Only an original exporter has
  more than one (``push``/``pop``); a re-exporter's structure is immutable.
- An original exporter owns its storage: one zero-filled ``_capi.Memory`` block
  per base, the items packed one after another from its start. The requested
  layout is verified with ``Layout.verify`` (strides aligned to the itemsize,
  every reachable byte inside the block) before the block is used. An ``ND_PIL``
  base's pointer table is written from that verified layout and the indirect
  layout is verified against the whole block, so both levels stay inside it.
- A re-exporter holds exactly one getbuffer on its exporter (a ``Lease``) and
  trusts the layout reported, as every consumer must; indexing and slicing make
  new re-exporters of this array whose layouts are checked to lie inside it. A
  lease is released exactly once: when the last of the NDArray and the views
  exported from it goes, or at once when construction fails.
- ``__buffer__`` applies ``_testbuffer``'s request rules and messages first, then
  returns a fresh builtin memoryview over the head's layout whose managed buffer
  keeps the storage (or lease) alive. That memoryview's own contiguity flags are
  set to ``_testbuffer``'s answer (``PyBuffer_IsContiguous``), so CPython's
  getbuffer on it grants exactly what was granted here. Each export is counted
  on its base until ``__release_buffer__`` or the memoryview's death, whichever
  comes first, never twice. Where an export's managed buffer counts it
  (``managed.PLAIN_EXPORTS``), CPython is told to skip the release call
  (``managed.skip_release_calls``, for every subclass that does not define its own):
  the export dies with the consumer's release. ``add_suboffsets`` changes the head's fields even
  while it is exported (as C's): exports made before keep the fields they had.
- Without ``ND_VAREXPORT``, ``push``/``pop`` refuse while the head is exported;
  with it, ``push`` goes on and an exported base stays, unchanged, until its
  last export is released (then it is dropped, unless it is the head again:
  at that release, or, where no release call comes, at the next ``push`` or
  ``pop``, before either looks at the stack).
- Contiguity decisions use the real layout: flag bits a caller forges
  (``ND_SCALAR``, the internal C bit) show in ``flags`` but grant nothing.
- Items of a format ``struct`` reads are packed and stored by ``_testbuffer``'s
  rules, checks and messages, in both classes; other formats' by ``Format``, with
  items as ``Format.unpack`` gives them. The items are packed before memory is
  allocated for them; an item is read and stored only through a format that
  fits in the array's itemsize (from its start, as ``_testbuffer`` does).
- Bulk work goes through ``engine`` and ``Format`` (one struct call for all
  items; the builtin memoryview for ``tolist``); per-item Python code runs only
  for items that are not plain values of the format, and to find the item that
  made packing fail.
"""

from __future__ import annotations

import collections.abc
import itertools
import operator
import struct
import sys
from collections.abc import Sequence
from functools import lru_cache

from . import _capi, engine
from .flags import (
    BufferFlags,
    remembered_refusal,
    wants_format,
    wants_shape,
    wants_strides,
)
from .flags import (
    request as valid_flags,
)
from .formats import Format
from .layout import Layout, c_strides, equivalent_shapes, f_strides
from .managed import (
    COUNTED_EXPORTS,
    SHIELDING,
    BufferInfo,
    export_key,
    exports_held,
    record_export,
    request,
    settle,
    settle_export,
    shield_export,
    skip_release_calls,
    try_settle,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Final

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
    "Lease",
    "NDArray",
    "adjust_indices",
    "as_ssize_t",
    "buffer_is_contiguous",
    "c_int",
    "c_ssize",
    "fitted_format",
    "head_is_contiguous",
    "info_layout",
    "item_format",
    "items_codec",
    "select",
    "unpack_slice",
]

ND_MAX_NDIM: Final = 128
ND_VAREXPORT: Final = 0x001
ND_WRITABLE: Final = 0x002
ND_FORTRAN: Final = 0x004
ND_SCALAR: Final = 0x008
ND_PIL: Final = 0x010
ND_REDIRECT: Final = 0x020
ND_GETBUF_FAIL: Final = 0x040
ND_GETBUF_UNDEFINED: Final = 0x080
_ND_C: Final = 0x100  # internal: C-contiguous
_ND_OWN_ARRAYS: Final = 0x200  # internal: a slice (its shape and strides are its own)
_GETBUF_UNUSED: Final = 0x10000  # _testbuffer.c's PyBUF_UNUSED: "no getbuf given"

_SSIZE_BITS: Final = 8 * _capi.POINTER_SIZE
_SSIZE_MAX: Final = (1 << (_SSIZE_BITS - 1)) - 1
_SSIZE_MIN: Final = -_SSIZE_MAX - 1
_INT_MAX: Final = 2**31 - 1
_NOT_CONTIGUOUS: Final = "ndarray is not C-contiguous"
_REFUSALS: Final = {  # _testbuffer's words for each rule of flags.refusal
    "writable": "ndarray is not writable",
    "c_contiguous": _NOT_CONTIGUOUS,
    "f_contiguous": "ndarray is not Fortran contiguous",
    "any_contiguous": "ndarray is not contiguous",
    "suboffsets": "ndarray cannot be represented without suboffsets",
    "strides": _NOT_CONTIGUOUS,
    "format": "ndarray: cannot cast to unsigned bytes if the format flag is present",
}
_IMMUTABLE: Final = "structure of re-exporting object is immutable"


# --- C argument conversions -------------------------------------------------------


def _index(value: Any) -> int:
    """``operator.index``: the ``TypeError`` for a non-integer comes from it."""
    return operator.index(value)


def c_int(value: object) -> int:
    """``PyArg_Parse`` "i": an index that fits a C ``int``."""
    number = _index(value)
    if number > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if number < -_INT_MAX - 1:
        raise OverflowError("signed integer is less than minimum")
    return number


def _check_ssize(number: int) -> int:
    if not _SSIZE_MIN <= number <= _SSIZE_MAX:
        raise OverflowError("Python int too large to convert to C ssize_t")
    return number


def c_ssize(value: object) -> int:
    """``PyArg_Parse`` "n": an index that fits a ``Py_ssize_t``."""
    return _check_ssize(_index(value))


def as_ssize_t(value: object) -> int:
    """``PyLong_AsSsize_t``: an ``int`` (no ``__index__``) that fits a ``Py_ssize_t``."""
    if not isinstance(value, int):
        raise TypeError("an integer is required")
    return _check_ssize(int.__index__(value))  # the value itself: a subclass's __int__ never runs


def _wrap(number: int) -> int:
    """``number`` wrapped to a ``Py_ssize_t`` as C's two's complement arithmetic does."""
    return (number - _SSIZE_MIN) % (1 << _SSIZE_BITS) + _SSIZE_MIN


def _list_or_tuple(value: object, name: str) -> Sequence[Any]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list or a tuple")
    return value


def _ssize_elements(values: Sequence[Any], name: str) -> tuple[int, ...]:
    """``seq_as_ssize_array``: each element an ``int`` fitting a ``Py_ssize_t``."""
    result = []
    for value in values:
        if not isinstance(value, int):
            raise ValueError(f"elements of {name} must be integers")
        number = _check_ssize(int(value))
        if name == "shape" and number < 0:
            raise ValueError("elements of shape must be integers >= 0")
        result.append(number)
    return tuple(result)


# --- slices as C sees them --------------------------------------------------------


def _builtin_slice_index_message() -> str:
    """What this interpreter's ``PySlice_Unpack`` says of a bad index (3.15 drops "or None")."""
    try:
        half: Any = 0.5
        memoryview(b"")[:half]
    except TypeError as error:
        return str(error)
    return "slice indices must be integers or None or have an __index__ method"  # pragma: no cover


_SLICE_INDEX_MESSAGE: Final = _builtin_slice_index_message()


def _slice_index(value: object) -> int:
    """``_PyEval_SliceIndex``: an ``__index__`` clamped to the ``Py_ssize_t`` range."""
    if not hasattr(type(value), "__index__"):
        raise TypeError(_SLICE_INDEX_MESSAGE)
    return min(max(_index(value), _SSIZE_MIN), _SSIZE_MAX)


def unpack_slice(key: slice) -> tuple[int, int, int]:
    """``PySlice_Unpack``: (start, stop, step) clamped to ``Py_ssize_t``, step != 0."""
    step = 1 if key.step is None else _slice_index(key.step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    step = max(step, -_SSIZE_MAX)
    first, last = (_SSIZE_MAX, _SSIZE_MIN) if step < 0 else (0, _SSIZE_MAX)
    start = first if key.start is None else _slice_index(key.start)
    stop = last if key.stop is None else _slice_index(key.stop)
    return start, stop, step


def _adjust_bound(bound: int, length: int, step: int) -> int:
    if bound < 0:
        bound = _wrap(bound + length)
        if bound < 0:
            bound = -1 if step < 0 else 0
    elif bound >= length:
        bound = _wrap(length - 1) if step < 0 else length
    return bound


def _c_div(numerator: int, denominator: int) -> int:
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def adjust_indices(length: int, start: int, stop: int, step: int) -> tuple[int, int, int]:
    """``PySlice_AdjustIndices``: (start, stop, slice length) for a sequence of ``length``."""
    start = _adjust_bound(start, length, step)
    stop = _adjust_bound(stop, length, step)
    count = 0
    if step < 0 and stop < start:
        count = _wrap(_c_div(_wrap(_wrap(start - stop) - 1), -step) + 1)
    elif step > 0 and start < stop:
        count = _wrap(_c_div(_wrap(_wrap(stop - start) - 1), step) + 1)
    return start, stop, count


# --- contiguity of Py_buffer fields ----------------------------------------------


def _shape_of(length: int, itemsize: int, shape: Sequence[int] | None) -> tuple[int, ...]:
    """The shape, or the one dimension a ``Py_buffer`` without shape has."""
    return tuple(shape) if shape is not None else (length // itemsize,)


@lru_cache(maxsize=512)
def _contiguity(
    length: int,
    itemsize: int,
    shape: tuple[int, ...] | None,
    strides: tuple[int, ...] | None,
    suboffsets: tuple[int, ...] | None,
) -> tuple[bool, bool]:
    """(C-contiguous, Fortran-contiguous) of those fields, remembered (every export
    of a base asks)."""
    return (
        buffer_is_contiguous(length, itemsize, shape, strides, suboffsets, "C"),
        buffer_is_contiguous(length, itemsize, shape, strides, suboffsets, "F"),
    )


def buffer_is_contiguous(
    length: int,
    itemsize: int,
    shape: Sequence[int] | None,
    strides: Sequence[int] | None,
    suboffsets: Sequence[int] | None,
    order: str,
) -> bool:
    """``PyBuffer_IsContiguous`` on the fields of a ``Py_buffer`` (None for NULL)."""
    if suboffsets is not None or order not in ("C", "F", "A"):
        return False
    if length == 0:
        return True
    dims = _shape_of(length, itemsize, shape)
    if strides is None:  # C-contiguous by definition
        return order != "F" or sum(1 for extent in dims if extent > 1) <= 1
    layout = Layout._make(itemsize, dims, tuple(strides), None, 0)
    if order == "C":
        return layout.is_c_contiguous()
    if order == "F":
        return layout.is_f_contiguous()
    return layout.is_c_contiguous() or layout.is_f_contiguous()


# --- items: packed in bulk -----------------------------------------------------------
#
# Two ways to pack items, chosen once per array from its format text (``items_codec``):
# - ``_Codec``, ``_testbuffer``'s, for every format ``struct`` reads: an item is one
#   plain value or a list/tuple of its struct values; C's checks, messages and
#   partial stores. ``testbuffer.ndarray`` refuses every other format as ``struct``
#   does. ``NDArray`` differs in one point: a complex number is a plain value of a
#   complex format (3.14's ``D``) on every version; C's takes it from 3.15.
# - ``_FormatCodec``, ``Format``'s, for the other formats ``NDArray`` takes (records,
#   names, sub-arrays, ``Zd`` before 3.15, ``g``/``Zg``, pointers, bits): items as
#   ``Format.unpack`` gives them (records tuples, sub-arrays nested lists, complex
#   numbers, ...), packed by one ``Format.pack``.


class _Codec:
    """How items of one struct format are packed: ``nmemb`` values per item; ``prefix``
    and ``body`` when ``prefix + body * n`` packs ``n`` items (no alignment between)."""

    __slots__ = (
        "body",
        "complex_item",
        "nmemb",
        "packer",
        "plain",
        "prefix",
        "singles",
        "text",
    )

    def __init__(
        self,
        text: str | bytes,
        packer: struct.Struct,
        nmemb: int,
        prefix: str,
        body: str | None,
        plain: frozenset[type],
        complex_item: bool,
    ) -> None:
        self.text, self.packer, self.nmemb, self.prefix, self.body = (
            text,
            packer,
            nmemb,
            prefix,
            body,
        )
        self.plain = plain  # the types of a value packed as one item
        self.singles = tuple(plain - {bool})  # the same for isinstance (a bool is an int)
        self.complex_item = complex_item  # an item is one complex number

    @property
    def itemsize(self) -> int:
        return self.packer.size

    def pack(self, items: Sequence[Any]) -> bytes:
        """The items packed one after another, as ``_testbuffer``'s ``pack_from_list``."""
        if _all_plain(self, items):
            bulk = _pack_in_bulk if self.nmemb == 1 else _pack_flat
            packed = bulk(self, items)
            if packed is not None:
                return packed
        out = bytearray(len(items) * self.packer.size)
        for index, item in enumerate(items):
            self.packer.pack_into(out, index * self.packer.size, *_item_values(self, item))
        return bytes(out)

    def store(self, address: int, itemsize: int, value: Any) -> None:
        """``pack_single``: one item packed at ``address`` (an item of ``itemsize`` bytes).

        As ``struct.pack_into`` in C, a value that fails to pack leaves the item
        zeroed but for the fields packed before the bad one.
        """
        values = _item_values(self, value)
        packed = bytearray(itemsize)
        fits = self.packer.size <= itemsize
        try:
            self.packer.pack_into(packed, 0, *values)
        finally:
            if fits:
                _capi.write_bytes(address, bytes(packed[: self.packer.size]))


@lru_cache(maxsize=512)
def _codec(text: str | bytes, complex_items: bool = False) -> _Codec:
    """``complex_items``: a complex number is a plain value, as in 3.15's C."""
    packer = struct.Struct(text)
    nmemb = len(packer.unpack(bytes(packer.size)))
    source = text.decode("latin-1") if isinstance(text, bytes) else str(text)
    prefix = source[:1] if source[:1] in ("@", "=", "<", ">", "!") else ""
    body = source[len(prefix) :]
    repeats = struct.calcsize(prefix + body * 2) == 2 * packer.size
    plain = _PLAIN_VALUES | {complex} if complex_items else _PLAIN_VALUES
    complex_item = nmemb == 1 and _is_complex(text)
    return _Codec(text, packer, nmemb, prefix, body if repeats else None, plain, complex_item)


def _pack_flat(codec: _Codec, items: Sequence[Sequence[Any]]) -> bytes | None:
    """Items of several values each, by one struct of the format repeated; None if
    the format does not repeat (alignment) or anything fails."""
    if codec.body is None:
        return None
    try:
        packer = struct.Struct(codec.prefix + codec.body * len(items))
        return packer.pack(*itertools.chain.from_iterable(items))
    except (struct.error, TypeError, ValueError, OverflowError):
        return None


def _pack_in_bulk(codec: _Codec, items: Sequence[Any]) -> bytes | None:
    """All items by ``Format.pack`` (one struct call); None if anything fails."""
    try:
        return Format(codec.text).pack(items)
    except (struct.error, TypeError, ValueError, OverflowError, NotImplementedError):
        return None  # the caller finds the first bad item, and its exact error


# The item types _testbuffer.c packs as one value; 3.15's also takes complex numbers
# (its struct reads 'Zd'), earlier ones refuse them as a mismatch.
_PLAIN_VALUES: Final = frozenset(
    {int, float, bytes, bool} | ({complex} if sys.version_info >= (3, 15) else set())
)
_SEQUENCES: Final = frozenset({list, tuple})
_MISMATCH: Final = "mismatch between initializer element and format string"
_COMPLEX_CODES: Final = frozenset({"Zf", "Zd"})


def _all_plain(codec: _Codec, items: Sequence[Any]) -> bool:
    """True when every item is what the format packs directly (checked in C loops)."""
    kinds = set(map(type, items))
    if codec.nmemb == 1:
        return kinds <= codec.plain
    return kinds <= _SEQUENCES and set(map(len, items)) <= {codec.nmemb}


def _item_values(codec: _Codec, item: Any) -> Sequence[Any]:
    """The struct arguments of one item, by ``_testbuffer``'s rules."""
    if codec.nmemb == 1 and isinstance(item, codec.singles):
        return (item,)
    if isinstance(item, (list, tuple)) and len(item) == codec.nmemb:
        return item
    raise ValueError(_MISMATCH)


def _is_complex(text: str | bytes) -> bool:
    """True if the struct format ``text`` has one field, and it is complex."""
    fields = Format(text).fields
    return len(fields) == 1 and fields[0].code in _COMPLEX_CODES


class _FormatCodec:
    """How items of a format ``_testbuffer`` cannot hold are packed: by ``Format``."""

    __slots__ = ("fmt",)

    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt

    @property
    def itemsize(self) -> int:
        return self.fmt.itemsize

    def pack(self, items: Sequence[Any]) -> bytes:
        """All items by one ``Format.pack`` (its errors name the bad item)."""
        return self.fmt.pack(items)

    def store(self, address: int, itemsize: int, value: Any) -> None:
        """One item packed at the start of the ``itemsize`` bytes at ``address``; a
        value that fails to pack changes nothing."""
        packed = self.fmt.pack_one(value)
        _check_fits(self.fmt, itemsize)
        _capi.write_bytes(address, packed)


def items_codec(fmt: Any, struct_only: bool) -> _Codec | _FormatCodec:
    """How the items of ``fmt`` are packed. ``struct_only`` (``testbuffer.ndarray``):
    as ``_testbuffer``, refusing what ``struct`` refuses, with its exception."""
    try:
        struct.calcsize(fmt)
    except struct.error:
        if struct_only:
            raise
        return _FormatCodec(item_format(fmt, struct_only))
    codec = _codec(fmt)
    return _codec(fmt, complex_items=True) if codec.complex_item and not struct_only else codec


def item_format(fmt: str | bytes | None, struct_only: bool) -> Format:
    """The ``Format`` that reads items of ``fmt`` (``None``: ``'B'``).

    ``struct_only``: refused as ``struct`` refuses it (``_testbuffer`` unpacks with
    ``struct``). Otherwise any format ``Format`` reads but objects (``O``: bytes may
    be copied over them, so their pointers are never trusted here); malformed text
    is a ``struct.error`` naming the format and position, as ``struct`` refuses it.
    """
    text = fmt or "B"
    if struct_only:
        struct.calcsize(text)
        return Format(text)
    try:
        parsed = Format(text)
    except ValueError as error:
        raise struct.error(str(error)) from None
    if not parsed.writable:
        raise struct.error(f"format {parsed.text!r} holds object pointers: NDArray holds none")
    return parsed


def fitted_format(fmt: Format, itemsize: int) -> Format:
    """``fmt`` reading items of ``itemsize`` bytes (an exporter may say other than its
    format does) as ``_testbuffer`` reads them: a smaller format reads the start of
    each item (it is padded to the items' size); a larger one, which would read past
    the items, is refused."""
    _check_fits(fmt, itemsize)
    if fmt.itemsize == itemsize:
        return fmt
    return Format(f"{fmt.text}={itemsize - fmt.itemsize}x")


def _check_fits(fmt: Format, itemsize: int) -> None:
    if fmt.itemsize > itemsize:
        raise struct.error(
            f"format {fmt.text!r} has {fmt.itemsize} bytes per item, the buffer's items {itemsize}"
        )


# --- bases --------------------------------------------------------------------------


class Lease:
    """One getbuffer on an exporter, held by a builtin memoryview (``managed.request``):
    released exactly once, when the lease and every memoryview exported over it are
    gone (reference counting, or the collector, which sees the exporter through it),
    or at once by ``release``/a ``with`` block where nothing was exported from it.
    Construction raises what the exporter raised.

    ``info`` is the answer exactly as the exporter filled it (format NULL, no shape,
    ...), as ``_testbuffer`` re-exports it: read from the request's managed buffer
    where ``_capi`` verified that layout; otherwise rebuilt from the builtin's view of
    the answer and the request's flags, which is exact for every exporter that
    leaves out what was not requested, as the protocol says. A builtin memoryview
    exporter answers through its own getbuffer (``managed.request``).
    """

    __slots__ = ("__weakref__", "_pin", "info")

    def __init__(self, obj: object, flags: int) -> None:
        if not hasattr(type(obj), "__buffer__"):  # PyObject_GetBuffer's words, not memoryview's
            raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'")
        pin = request(obj, flags)
        raw = _capi.master_info(pin)
        self.info = BufferInfo.from_raw(raw) if raw is not None else _stripped(pin, flags)
        self._pin = pin

    def release(self) -> None:
        """Release now (precondition: nothing was exported from it)."""
        self._pin.release()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _stripped(pin: memoryview, flags: int) -> BufferInfo:
    """The answer to ``flags`` of an exporter that fills only what was asked for,
    from the builtin memoryview holding it."""
    info = BufferInfo.of_memoryview(pin)
    shaped = wants_shape(flags)
    return info.replace(
        format=info.format if wants_format(flags) else None,
        shape=info.shape if shaped else None,
        strides=info.strides if wants_strides(flags) else None,
    )


class _Base:
    """One ``Py_buffer`` an NDArray exports (C's ``ndbuf_t``): ``None`` fields are NULL.

    ``owner`` keeps the memory alive: a ``_capi.Memory`` or a ``Lease``."""

    __slots__ = (
        "buf",
        "doomed",
        "export_key",
        "export_template",
        "exports",
        "flags",
        "fmt",
        "itemsize",
        "length",
        "ndim",
        "obj",
        "offset",
        "owner",
        "plain_requests",
        "readonly",
        "retired_templates",
        "shape",
        "strides",
        "suboffsets",
        "template",
    )

    def __init__(
        self,
        *,
        buf: int,
        length: int,
        itemsize: int,
        readonly: bool,
        fmt: str | None,
        ndim: int,
        shape: tuple[int, ...] | None,
        strides: tuple[int, ...] | None,
        suboffsets: tuple[int, ...] | None,
        flags: int,
        offset: int,
        owner: object,
        obj: object = None,
    ) -> None:
        self.buf, self.length, self.itemsize, self.readonly = buf, length, itemsize, readonly
        self.fmt, self.ndim, self.shape, self.strides = fmt, ndim, shape, strides
        self.suboffsets, self.flags, self.offset, self.owner = suboffsets, flags, offset, owner
        self.obj = obj
        self.exports = 0  # (where exports are not counted by their managed buffer)
        self.template: memoryview | None = None
        self.export_template: memoryview | None = None
        self.export_key: object = None  # managed.export_key(export_template)
        self.retired_templates: list[memoryview] = []  # (held exports of older fields)
        self.plain_requests: set[int] = set()
        self.doomed = False  # below the head since a push while exported: dropped
        # once its last export is released (C's ndarray_releasebuf)

    def layout(self) -> Layout:
        """The layout relative to ``buf`` (missing shape or strides reconstructed)."""
        shape = () if self.ndim == 0 else _shape_of(self.length, self.itemsize, self.shape)
        strides = self.strides if self.strides is not None else c_strides(shape, self.itemsize)
        return Layout._make(self.itemsize, shape, strides, self.suboffsets, 0)

    def is_contiguous(self, order: str) -> bool:
        return buffer_is_contiguous(
            self.length, self.itemsize, self.shape, self.strides, self.suboffsets, order
        )

    def contiguity(self) -> tuple[bool, bool]:
        """(C-contiguous, Fortran-contiguous) as ``PyBuffer_IsContiguous`` says."""
        return _contiguity(self.length, self.itemsize, self.shape, self.strides, self.suboffsets)

    def derived_flags(self) -> int:
        """``init_flags``: what the structure says about itself."""
        c_ok, f_ok = self.contiguity()
        flags = ND_SCALAR if self.ndim == 0 else 0
        flags |= ND_PIL if self.suboffsets is not None else 0
        return flags | (_ND_C if c_ok else 0) | (ND_FORTRAN if f_ok else 0)

    def view(self) -> memoryview:
        """A new builtin memoryview of exactly these fields that keeps the memory alive.

        Each is a sibling of one template made on first use (``add_suboffsets``,
        the one change of a base after construction, drops it).
        """
        template = self.template
        if template is None:
            template = self.template = self._new_template()
        return memoryview(template)

    def export_view(self) -> memoryview:
        """``view()`` for an export: a sibling of a template of its own, whose managed
        buffer counts the exports (``exports_held``)."""
        template = self.export_template
        if template is None:
            template = self.export_template = self._new_template()
            self.export_key = export_key(template)
        return memoryview(template)

    def exports_held(self) -> int:
        """How many exports of this base are held."""
        if not _COUNTED:
            return self.exports
        counts = [(t, exports_held(t, None)) for t in self.retired_templates]
        self.retired_templates = [t for t, count in counts if count]
        return sum(count for _, count in counts) + exports_held(self.export_template, None)

    def export_templates(self) -> list[memoryview]:
        """The templates whose exports may be held (a collector may have cleared them)."""
        current = getattr(self, "export_template", None)
        retired: list[memoryview] = getattr(self, "retired_templates", [])
        return retired if current is None else [current, *retired]

    def fields_changed(self) -> None:
        """Forget what was derived from the fields (held exports keep their own)."""
        self.template = None
        self.plain_requests.clear()
        held = self.export_template
        if _COUNTED and held is not None and exports_held(held, None):
            self.retired_templates.append(held)
        self.export_template = self.export_key = None

    def _new_template(self) -> memoryview:
        return _capi.memoryview_over(
            self.buf or _capi.EMPTY_ADDRESS,
            itemsize=self.itemsize,
            fmt=self.fmt or "B",
            shape=self.shape if self.ndim != 0 else (),
            strides=self.strides,
            suboffsets=self.suboffsets,
            readonly=self.readonly,
            keepalive=self.owner,
            length=self.length,
        )


def _consumer_base(info: BufferInfo, owner: object, flags: int) -> _Base:
    """``ndarray_init_staticbuf``: the exporter's fields, flags from its writability only."""
    return _Base(
        buf=info.buf or 0,
        length=info.len,
        itemsize=info.itemsize,
        readonly=info.readonly,
        fmt=info.format,
        ndim=info.ndim,
        shape=info.shape,
        strides=info.strides,
        suboffsets=info.suboffsets,
        flags=(0 if info.readonly else ND_WRITABLE) | flags,
        offset=-1,
        owner=owner,
        obj=_redirected_to(info.obj),
    )


def _redirected_to(exporter: object) -> object:
    """The ``obj`` a C consumer sees: an ``ND_REDIRECT`` NDArray forwards each request to
    its own exporter, whose ``Py_buffer.obj`` that is (PEP 688 shows the NDArray)."""
    while isinstance(exporter, NDArray) and exporter._consumer:
        head = exporter._head
        if not head.flags & ND_REDIRECT or head.obj is None:
            break
        exporter = head.obj
    return exporter


def _given_strides(strides: object, ndim: int, flags: int) -> Sequence[Any] | None:
    if strides is None:
        return None
    values = _list_or_tuple(strides, "strides")
    if not values:
        return None
    if flags & ND_FORTRAN:
        raise TypeError("ND_FORTRAN cannot be used together with strides")
    if len(values) != ndim:
        raise ValueError("len(shape) != len(strides)")
    return values


def _check_offset(offset: int, itemsize: int, length: int) -> None:
    if offset % itemsize:
        raise ValueError("offset must be a multiple of itemsize")
    if offset < 0 or offset + itemsize > length:
        raise ValueError("offset out of bounds")


def _verify_structure(direct: Layout, length: int) -> None:
    """``verify_structure``: aligned strides, every reachable byte in the block."""
    if any(stride % direct.itemsize for stride in direct.strides):
        raise ValueError("strides must be a multiple of itemsize")
    try:
        direct.verify(length)
    except ValueError:
        raise ValueError("invalid combination of buffer, shape and strides") from None


def _owned_base(
    items: object,
    shape: object,
    strides: object,
    offset: int,
    fmt: Any,
    flags: int,
    struct_only: bool,
) -> _Base:
    """``init_ndbuf``: a new base over its own memory, every check in C's order.

    The items are packed before their memory is allocated: a size a format names
    costs memory only once items of that size were packed.
    """
    shape_values = _list_or_tuple(shape, "shape")
    ndim = len(shape_values)
    if ndim > ND_MAX_NDIM:
        raise ValueError(f"ndim must not exceed {ND_MAX_NDIM}")
    stride_values = _given_strides(strides, ndim, flags)
    codec = items_codec(fmt, struct_only)
    itemsize = codec.itemsize
    if itemsize == 0:
        raise ValueError("itemsize must not be zero")
    values = (items,) if ndim == 0 else _list_or_tuple(items, "items")
    if not values:
        raise ValueError("initializer list or tuple must not be empty")
    length = len(values) * itemsize
    _check_offset(offset, itemsize, length)
    memory = _memory_of(codec.pack(values), length)
    if not isinstance(fmt, str):
        raise TypeError("bad argument type for built-in operation")
    base = _Base(
        buf=memory.address + offset,
        length=itemsize,
        itemsize=itemsize,
        readonly=not flags & ND_WRITABLE,
        fmt=str(fmt),
        ndim=ndim,
        shape=None,
        strides=None,
        suboffsets=None,
        flags=flags,
        offset=offset,
        owner=memory,
    )
    if ndim == 0:
        return _scalar_structure(base)
    shape_t = _ssize_elements(shape_values, "shape")
    if stride_values is not None:
        strides_t = _ssize_elements(stride_values, "strides")
    else:
        strides_t = (f_strides if flags & ND_FORTRAN else c_strides)(shape_t, itemsize)
    direct = Layout._make(itemsize, shape_t, strides_t, None, offset)
    _verify_structure(direct, length)
    base.shape, base.strides, base.length = shape_t, strides_t, direct.nbytes
    base.flags |= base.derived_flags()
    return _to_pil(base, memory, direct) if flags & ND_PIL else base


def _memory_of(packed: bytes, length: int) -> _capi.Memory:
    """A new block holding ``packed``, which must be ``length`` bytes."""
    if len(packed) != length:
        raise SystemError(f"{len(packed)} bytes packed for {length} bytes of items")
    memory = _capi.Memory(length)
    _capi.write_bytes(memory.address, packed)
    return memory


def _scalar_structure(base: _Base) -> _Base:
    if base.flags & ND_PIL:
        raise TypeError("ndim = 0 cannot be used in conjunction with ND_PIL")
    base.flags |= ND_SCALAR | _ND_C | ND_FORTRAN
    return base


def _pointer_table_size(rows: int) -> int:
    size = rows * _capi.POINTER_SIZE
    return 8 * ((size + 7) // 8)


def _to_pil(base: _Base, data: _capi.Memory, direct: Layout) -> _Base:
    """``init_suboffsets``: the same elements reached through a table of row pointers.

    The block gets the table in front of the data; row ``i`` of the first dimension
    is reached by a pointer and ``suboffsets[0]``, the other dimensions directly.
    An array without elements never reads a row pointer: it gets no table.
    """
    shape, strides = direct.shape, direct.strides
    rows = shape[0] if direct.nitems else 0
    table = _pointer_table_size(rows)
    memory = _capi.Memory(table + data.size)
    _capi.memmove(memory.address + table, data.address, data.size)
    lowest, suboffset0 = 0, 0
    for dim, (extent, stride) in enumerate(zip(shape, strides, strict=True)):
        if extent == 0:
            break
        if stride <= 0:
            lowest += (extent - 1) * stride
            suboffset0 -= (extent - 1) * stride if dim else 0
    first = memory.address + table + direct.offset + lowest
    step = abs(strides[0])
    pointers = list(range(first, first + rows * step, step)) if step else [first] * rows
    _capi.write_bytes(memory.address, struct.pack(f"{rows}P", *pointers))
    pointer_stride = -_capi.POINTER_SIZE if strides[0] < 0 else _capi.POINTER_SIZE
    start = (shape[0] - 1) * _capi.POINTER_SIZE if strides[0] < 0 else 0
    suboffsets = (suboffset0,) + (-1,) * (len(shape) - 1)
    first_level = (pointer_stride, *strides[1:])
    indirect = Layout._make(direct.itemsize, shape, first_level, suboffsets, start)
    indirect.verify(memory.size)
    base.buf, base.owner, base.offset = memory.address + start, memory, 0
    base.strides, base.suboffsets = indirect.strides, suboffsets
    base.flags &= ~(_ND_C | ND_FORTRAN)
    return base


# --- requests -----------------------------------------------------------------------
#
# Where ``managed.COUNTED_EXPORTS`` holds, an export is a sibling of its base's export
# template and the template's managed buffer counts them (a view dropped unreleased
# unregisters as it dies; 3.12.0-3.12.6 shield it until released or unused);
# elsewhere ``managed``'s ledger counts them on the base. A request a base accepted
# whose export needs no flags of its own is remembered in ``plain_requests``: the
# next one is a sibling of the template and nothing else.

_COUNTED = COUNTED_EXPORTS


def _check_request(base: _Base, flags: int, contiguity: tuple[bool, bool]) -> None:
    """``ndarray_getbuf``'s refusals, in its order and with its messages."""
    if (
        (base.shape is None or base.strides is None)
        and base.ndim != 0
        and (
            (wants_shape(flags) and base.shape is None)
            or (wants_strides(flags) and base.strides is None)
        )
    ):
        raise BufferError("re-exporter does not provide format, shape or strides")
    if base.flags & ND_GETBUF_FAIL:
        raise BufferError("ND_GETBUF_FAIL: forced test exception")
    rule = remembered_refusal(
        flags, base.readonly, contiguity[0], contiguity[1], bool(base.flags & ND_PIL)
    )
    if rule is not None:
        raise BufferError(_REFUSALS[rule])


def _exported_view(
    base: _Base, indirect: bool, contiguity: tuple[bool, bool]
) -> tuple[memoryview, bool]:
    """The memoryview handed to CPython, its own getbuffer flags set to ours, and
    whether it needed that (a sibling of the template's already says so if not)."""
    view = base.export_view()
    empty = view.nbytes == 0
    c_contiguous = contiguity[0] and (empty or view.c_contiguous)
    f_contiguous = contiguity[1] and (empty or view.f_contiguous)
    if (c_contiguous, f_contiguous, indirect) == (
        view.c_contiguous,
        view.f_contiguous,
        bool(view.suboffsets),
    ):
        return view, False
    _capi.set_memoryview_flags(
        view, c_contiguous=c_contiguous, f_contiguous=f_contiguous, indirect=indirect
    )
    return view, True


# --- element access -------------------------------------------------------------


def _row_pointer(base: _Base, index: int) -> int:
    """``ptr_from_index``: the address of row ``index`` of the first dimension."""
    layout = base.layout()
    count = layout.shape[0]
    position = index + count if index < 0 else index
    if not 0 <= position < count:
        raise IndexError("index out of bounds")
    pointer = base.buf + layout.strides[0] * position
    if base.suboffsets is not None and base.suboffsets[0] >= 0:
        pointer = _capi.read_pointer(pointer) + base.suboffsets[0]
    return pointer


def _inside(outer: Layout, inner: Layout, delta: int) -> bool:
    """True if the first-level bytes of ``inner`` (at ``delta``) lie within ``outer``'s."""
    low, high = inner.extent()
    if low == high:
        return True
    outer_low, outer_high = outer.extent()
    return outer_low <= low + delta and high + delta <= outer_high


class NDArray:
    """A PEP 3118 exporter with the semantics of CPython's ``_testbuffer.ndarray``.

    ``NDArray(items, shape, strides=None, offset=0, format='B', flags=0)`` packs a
    flat list of items (one item for ``shape=[]``) of any format ``Format`` writes;
    ``NDArray(exporter, getbuf=..., flags=0 or ND_REDIRECT)`` re-exports another
    object's buffer.
    """

    __slots__ = ("__weakref__", "_bases", "_consumer", "_exported", "_varexport")

    _bases: list[_Base]
    _struct_only: ClassVar[bool] = False  # True: formats and items as _testbuffer's

    def __init__(
        self,
        obj: object,
        shape: object = None,
        strides: object = None,
        offset: object = 0,
        format: Any = "B",
        flags: object = 0,
        getbuf: object = _GETBUF_UNUSED,
    ) -> None:
        offset_n, flags_n, getbuf_n = c_ssize(offset), c_int(flags), c_int(getbuf)
        if hasattr(self, "_bases"):
            raise TypeError("NDArray is already initialized: use push() to change it")
        self._exported: dict[int, _Base | None] = {}
        self._varexport = False
        self._consumer = shape is None and isinstance(obj, collections.abc.Buffer)
        if self._consumer:
            self._init_reexport(obj, strides, offset_n, format, flags_n, getbuf_n)
        else:
            self._init_original(obj, shape, strides, offset_n, format, flags_n, getbuf_n)

    def _init_reexport(
        self, obj: object, strides: object, offset: int, fmt: Any, flags: int, getbuf: int
    ) -> None:
        default_format = type(fmt) is str and fmt == "B"
        if strides is not None or offset or not default_format or flags not in (0, ND_REDIRECT):
            raise TypeError(
                "construction from exporter object only takes 'obj', 'getbuf' and 'flags' arguments"
            )
        request = BufferFlags.FULL_RO if getbuf == _GETBUF_UNUSED else getbuf
        lease = Lease(obj, request)
        base = _consumer_base(lease.info, lease, flags)
        base.flags |= base.derived_flags()
        self._bases = [base]

    def _init_original(
        self, items: object, shape: object, strides: object, offset: int, fmt: Any,
        flags: int, getbuf: int,
    ) -> None:  # fmt: skip
        if getbuf != _GETBUF_UNUSED:
            raise TypeError("getbuf argument only valid for construction from exporter object")
        if shape is None:
            raise TypeError(
                "shape is a required argument when constructing from list, tuple or scalar"
            )
        if flags & ND_VAREXPORT:
            self._varexport = True
            flags &= ~ND_VAREXPORT
        self._bases = [_owned_base(items, shape, strides, offset, fmt, flags, self._struct_only)]

    @classmethod
    def _reexport(cls, exporter: NDArray) -> NDArray:
        """A new re-exporter of ``exporter``'s whole buffer (``PyBUF_FULL_RO``)."""
        view = cls.__new__(cls)
        view._exported, view._varexport, view._consumer = {}, False, True
        lease = Lease(exporter, BufferFlags.FULL_RO)
        view._bases = [_consumer_base(lease.info, lease, 0)]
        return view

    def __reduce_ex__(self, protocol: object) -> Any:
        """Refused, as C's: a copy would point into this array's memory."""
        raise TypeError("cannot pickle 'ndarray' object")

    # -- attributes ---------------------------------------------------------------

    @property
    def _head(self) -> _Base:
        return self._bases[0]

    @property
    def flags(self) -> int:
        return self._head.flags

    @property
    def offset(self) -> int:
        return self._head.offset

    @property
    def obj(self) -> object:
        return self._head.obj

    @property
    def nbytes(self) -> int:
        return self._head.length

    @property
    def readonly(self) -> bool:
        return self._head.readonly

    @property
    def itemsize(self) -> int:
        return self._head.itemsize

    @property
    def format(self) -> str:
        return self._head.fmt or ""

    @property
    def ndim(self) -> int:
        return self._head.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return self._head.shape or ()

    @property
    def strides(self) -> tuple[int, ...]:
        return self._head.strides or ()

    @property
    def suboffsets(self) -> tuple[int, ...]:
        return self._head.suboffsets or ()

    def _contiguity(self, order: str, bits: int) -> bool:
        answer = self._head.is_contiguous(order)
        if answer != bool(self._head.flags & (bits | ND_SCALAR)):
            raise RuntimeError("results from PyBuffer_IsContiguous() and flags differ")
        return answer

    @property
    def c_contiguous(self) -> bool:
        return self._contiguity("C", _ND_C)

    @property
    def f_contiguous(self) -> bool:
        return self._contiguity("F", ND_FORTRAN)

    @property
    def contiguous(self) -> bool:
        return self._contiguity("A", _ND_C | ND_FORTRAN)

    # -- the buffer protocol (PEP 688) --------------------------------------------

    def __buffer__(self, flags: int, /) -> memoryview:
        base = self._bases[0]
        if type(flags) is int and flags in base.plain_requests:
            view = memoryview(base.export_template)  # type: ignore[arg-type]
            if SHIELDING:
                shield_export(view)
            return view
        return self._export(valid_flags(flags))  # (__index__ may run user code)

    def _export(self, flags: int) -> memoryview:
        """``__buffer__`` of a request not remembered in ``plain_requests``."""
        base = self._head
        if self._consumer and base.flags & ND_REDIRECT and base.obj is not None:
            view = self._redirected_view(base, flags)
            self._track(view, None)
            return view
        contiguity = base.contiguity()
        _check_request(base, flags, contiguity)
        view, own_flags = _exported_view(base, bool(base.flags & ND_PIL), contiguity)
        if not _COUNTED:
            base.exports += 1
            self._track(view, base)
            return view
        if SHIELDING:
            shield_export(view)
        if type(flags) is int and not own_flags:
            base.plain_requests.add(flags)
        return view

    def _redirected_view(self, base: _Base, flags: int) -> memoryview:
        """``ND_REDIRECT``: the exporter's own answer to this very request."""
        lease = Lease(base.obj, flags)
        redirected = _consumer_base(lease.info, lease, 0)
        indirect = any(s >= 0 for s in redirected.suboffsets or ())
        return _exported_view(redirected, indirect, redirected.contiguity())[0]

    def _track(self, view: memoryview, base: _Base | None) -> None:
        """Count an export on its base until it is released or dies (the ledger says)."""
        self._exported[id(view)] = base
        record_export(view, self)

    def _drop_export(self, key: int) -> None:
        """One export released, or dropped unreleased (``managed``'s ledger calls it)."""
        base = self._exported.pop(key, None)
        if base is None:
            return
        base.exports -= 1
        if base.exports == 0 and base is not self._head:
            self._bases.remove(base)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            cls.__buffer__ is NDArray.__buffer__
            and cls.__release_buffer__ is NDArray.__release_buffer__
        ):  # (a class with its own is called, as usual: its __buffer__ may keep what
            skip_release_calls(cls)  # it returns, and only a release call releases it)

    def __release_buffer__(self, view: memoryview, /) -> None:
        try:
            head = self._bases[0]
            template, key = (head.export_template, head.export_key) if _COUNTED else (None, None)
        except (AttributeError, IndexError):  # (cleared by the collector)
            template = key = None
        if template is not None and type(view) is memoryview and try_settle(view, template, key):
            return
        self._release_elsewhere(view)

    def _release_elsewhere(self, view: memoryview) -> None:
        """``__release_buffer__`` of a view that is no held export of the head's template."""
        if _COUNTED and type(view) is memoryview:
            # (the collector may have cleared this array, its bases or the view first)
            bases: list[_Base] = getattr(self, "_bases", None) or []
            for base in bases:
                for template in base.export_templates():
                    if try_settle(view, template):
                        self._prune(base)
                        return
            if not getattr(self, "_exported", None):  # no redirected export (the ledger's)
                made = next((t for base in bases for t in base.export_templates()), None)
                settle(view, made, self)  # not ours: ValueError (quiet in a collection for
                return  # a view released first, or with no template left to compare with)
        settle_export(view, self)  # a redirected export (the ledger's), or ValueError

    def _prune(self, base: _Base) -> None:
        """Forget a base below the head once its last export is released (C's
        ``ndarray_releasebuf``; a base with no export ever stays on the stack)."""
        if base is not self._head and not base.exports_held() and base in self._bases:
            self._bases.remove(base)

    # -- structure ----------------------------------------------------------------

    def push(
        self,
        items: object,
        shape: object,
        strides: object = None,
        offset: object = 0,
        format: Any = "B",
        flags: object = 0,
    ) -> None:
        """Make a new base from ``items`` the head (``ND_VAREXPORT`` allows it while exported)."""
        offset_n, flags_n = c_ssize(offset), c_int(flags)
        if flags_n & ND_VAREXPORT:
            raise ValueError("ND_VAREXPORT flag can only be used during object creation")
        self._check_mutable(held_ok=self._varexport)  # (before the items, as C)
        base = _owned_base(items, shape, strides, offset_n, format, flags_n, self._struct_only)
        self._drop_released_bases()
        head = self._head
        head.doomed = bool(head.exports_held())  # (also an export made by user code the
        self._bases.insert(0, base)  # items or format ran: C pushes then too)

    def pop(self) -> None:
        """Drop the head base; the one below becomes the head again."""
        self._drop_released_bases()
        self._check_mutable(held_ok=False)  # (the last check before the change)
        if len(self._bases) == 1:
            raise BufferError("list only has a single base")
        del self._bases[0]
        self._head.doomed = False  # (the head stays, whatever is released)

    def _drop_released_bases(self) -> None:
        """Drop the bases below the head whose last export was released (where no
        release call came to drop each then)."""
        self._bases[1:] = [b for b in self._bases[1:] if not b.doomed or b.exports_held()]

    def _check_mutable(self, held_ok: bool) -> None:
        if self._consumer:
            raise BufferError(_IMMUTABLE)
        exports = self._head.exports_held()
        if exports and not held_ok:
            plural = "" if exports == 1 else "s"
            raise BufferError(f"cannot change structure: {exports} exported buffer{plural}")

    def add_suboffsets(self) -> None:
        """Give the head all-negative suboffsets (same elements, no longer contiguous)."""
        base = self._head
        if base.suboffsets is not None:
            raise TypeError("cannot add suboffsets to PIL-style array")
        if base.strides is None:
            raise TypeError("cannot add suboffsets to array without strides")
        base.suboffsets = (-1,) * base.ndim
        base.flags &= ~(_ND_C | ND_FORTRAN)
        base.fields_changed()

    # -- values ---------------------------------------------------------------------

    def tolist(self) -> Any:
        """The items as nested lists (the item itself for ndim 0)."""
        base = self._head
        if base.fmt is None:
            raise ValueError("ndarray: tolist() does not support format=NULL, use tobytes()")
        fmt = self._item_format(base)
        layout = base.layout()
        if layout.ndim <= _capi.MAX_NDIM:
            return engine.tolist(base.buf, layout, fmt)
        return engine.nest(fmt.unpack(self.tobytes()), layout.shape)

    def tobytes(self) -> bytes:
        """The bytes of all items in C order."""
        base = self._head
        if base.is_contiguous("C"):
            return _capi.string_at(base.buf, base.length) if base.length else b""
        return _gather(base.buf, base.layout())

    def memoryview_from_buffer(self) -> memoryview:
        """A builtin memoryview made by ``PyMemoryView_FromBuffer`` from the head (no export)."""
        base = self._head
        exporter = base.obj
        if self._consumer and not (isinstance(exporter, NDArray) and not exporter._consumer):
            raise TypeError(
                "memoryview_from_buffer(): ndarray must be original exporter or consumer "
                "from ndarray/original exporter"
            )
        if base.fmt is not None and len(base.fmt) > ND_MAX_NDIM:  # C copies it to a buffer
            raise TypeError(
                f"memoryview_from_buffer: format is limited to {ND_MAX_NDIM} characters"
            )
        return base.view()

    def __hash__(self) -> int:
        base = self._head
        if not base.readonly:
            raise ValueError("cannot hash writable ndarray object")
        if base.obj is not None:
            hash(base.obj)
        return hash(self.tobytes())

    # -- indexing -------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        base = self._head
        if base.ndim == 0:
            if isinstance(key, tuple) and not key:
                return engine.read_item(base.buf, self._item_format(base))
            if key is Ellipsis:
                return self
            raise TypeError("invalid indexing of scalar")
        if hasattr(type(key), "__index__"):
            return self._item(as_ssize_t(key))
        view = type(self)._reexport(self)
        try:
            view._slice(key)
        except BaseException:
            view._drop()
            raise
        return view

    def _item(self, index: int) -> Any:
        """``ndarray_item``: an item of a 1-d array, else a re-exporter of one row."""
        base = self._head
        row = _row_pointer(base, index)
        if base.ndim == 1:
            return engine.read_item(row, self._item_format(base))
        view = type(self)._reexport(self)
        sub = view._head
        assert sub.shape is not None and sub.strides is not None  # FULL_RO gave them
        sub.buf, sub.length, sub.ndim = row, sub.length // sub.shape[0], sub.ndim - 1
        sub.shape, sub.strides = sub.shape[1:], sub.strides[1:]
        sub.suboffsets = sub.suboffsets[1:] if sub.suboffsets is not None else None
        sub.flags |= sub.derived_flags()
        return view

    def _slice(self, key: Any) -> None:
        """``ndarray_subscript``'s slicing of this fresh re-exporter, one key per dimension."""
        base = self._head
        whole = base.layout()
        origin = base.buf
        keys = key if isinstance(key, tuple) else (key,)
        shape, strides = list(whole.shape), list(whole.strides)
        suboffsets = list(base.suboffsets) if base.suboffsets is not None else None
        for dim, entry in enumerate(keys):
            if not isinstance(entry, slice):
                raise TypeError(f'cannot index memory using "{type(entry).__name__}"')
            if dim >= base.ndim:
                raise TypeError(f"cannot slice {base.ndim} dimensions with {len(keys)} slices")
            base.buf = _slice_dim(base.buf, shape, strides, suboffsets, entry, dim)
        base.shape, base.strides = tuple(shape), tuple(strides)
        base.suboffsets = tuple(suboffsets) if suboffsets is not None else None
        base.length = base.layout().nbytes
        base.flags |= _ND_OWN_ARRAYS | base.derived_flags()
        if not _inside(whole, base.layout(), base.buf - origin):
            raise SystemError(f"slice {key!r} would leave the array {whole!r}")

    def _drop(self) -> None:
        """Release a fresh re-exporter's lease at once (a failure path: nothing exported)."""
        owner = self._head.owner
        if isinstance(owner, Lease):
            owner.release()

    def __setitem__(self, key: Any, value: Any) -> None:
        base = self._head
        if base.readonly:
            raise TypeError("ndarray is not writable")
        if base.ndim == 0:
            if key is Ellipsis or (isinstance(key, tuple) and not key):
                _store(base, base.buf, value, self._struct_only)
                return
            raise TypeError("invalid indexing of scalar")
        if base.ndim == 1 and hasattr(type(key), "__index__"):
            _store(base, _row_pointer(base, as_ssize_t(key)), value, self._struct_only)
            return
        source = Lease(value, BufferFlags.FULL_RO)
        try:
            target = self[key]
            try:
                _copy_buffer(target._head, source.info)
            finally:
                target._drop()
        finally:
            source.release()

    def __delitem__(self, key: Any) -> None:
        if self._head.readonly:
            raise TypeError("ndarray is not writable")
        raise TypeError("ndarray data cannot be deleted")

    def _item_format(self, base: _Base) -> Format:
        """The format that reads the items of ``base``."""
        return fitted_format(item_format(base.fmt, self._struct_only), base.itemsize)


skip_release_calls(NDArray)


def _store(base: _Base, address: int, value: Any, struct_only: bool) -> None:
    """One item packed at ``address`` (an element of ``base``, which the caller took
    before any user code ran: a ``push`` from a value's ``__index__`` changes the
    head, not this base, whose memory the caller keeps alive), by its codec."""
    items_codec(base.fmt or "B", struct_only).store(address, base.itemsize, value)


def _gather(buf: int, layout: Layout) -> bytes:
    """``engine.gather`` in C order, also beyond the builtin memoryview's 64 dimensions
    (an original exporter may have up to 128): by simplifying a direct layout, by rows
    of the first dimension an indirect one."""
    if layout.ndim <= _capi.MAX_NDIM:
        return engine.gather(buf, layout, "C")
    if not layout.is_indirect:
        return engine.gather(buf, layout.simplified(), "C")
    rows = (select(buf, layout, (index,)) for index in range(layout.shape[0]))
    return b"".join(_gather(*row) for row in rows)


def _slice_dim(
    buf: int,
    shape: list[int],
    strides: list[int],
    suboffsets: list[int] | None,
    key: slice,
    dim: int,
) -> int:
    """``init_slice``: slice dimension ``dim`` in place; returns the new ``buf``.

    The start moves ``buf``, or the suboffset of the nearest indirect dimension
    before ``dim`` (the pointers there lead to the rows being sliced).
    """
    start, stop, step = unpack_slice(key)
    start, stop, count = adjust_indices(shape[dim], start, stop, step)
    shift = _wrap(strides[dim] * start)
    indirect = -1
    if suboffsets is not None:
        indirect = max((n for n in range(dim) if suboffsets[n] >= 0), default=-1)
    if indirect >= 0:
        assert suboffsets is not None
        suboffsets[indirect] = _wrap(suboffsets[indirect] + shift)
    else:
        buf += shift
    shape[dim] = count
    strides[dim] = _wrap(strides[dim] * step)
    return buf


# --- slice assignment ---------------------------------------------------------------


def _equivalent(target: _Base, source: BufferInfo) -> bool:
    """``equiv_structure``: same format text, itemsize, ndim, and shape up to a zero."""
    if (target.fmt or "B") != (source.format or "B") or target.itemsize != source.itemsize:
        return False
    source_shape = _shape_of(source.len, source.itemsize, source.shape)
    target_shape = target.layout().shape
    return source.ndim == target.ndim and equivalent_shapes(target_shape, source_shape)


def info_layout(source: BufferInfo) -> Layout:
    """The layout of a ``Py_buffer`` relative to its ``buf`` (missing fields reconstructed)."""
    shape = () if source.ndim == 0 else _shape_of(source.len, source.itemsize, source.shape)
    strides = source.strides if source.strides is not None else c_strides(shape, source.itemsize)
    return Layout._make(source.itemsize, shape, strides, source.suboffsets, 0)


def _copy_buffer(target: _Base, source: BufferInfo) -> None:
    """``copy_buffer``: the source's items onto the target's, row by row as C does
    where the two may overlap (a row is read whole before it is written)."""
    if not _equivalent(target, source):
        raise ValueError("ndarray assignment: lvalue and rvalue have different structures")
    if _holds_objects(target.fmt):  # never copy object pointers: no reference
        raise TypeError(  # would be taken or dropped (C would copy them)
            f"ndarray assignment: format {target.fmt!r} holds object pointers"
        )
    destination, origin = target.layout(), info_layout(source)
    if destination.ndim == 1 or not engine.may_overlap(
        target.buf, destination, source.buf or 0, origin
    ):
        engine.copy(target.buf, destination, source.buf or 0, origin)
        return
    source_buf = source.buf or 0
    for index in itertools.product(*map(range, destination.shape[:-1])):
        to_buf, to_row = select(target.buf, destination, index)
        from_buf, from_row = select(source_buf, origin, index)
        engine.copy(to_buf, to_row, from_buf, from_row)


def _holds_objects(fmt: str | None) -> bool:
    """True if items of ``fmt`` may hold object pointers: ``O`` codes where the text is
    read (not an ``O`` in a name or a pointer's target), any ``O`` where it is not."""
    if fmt is None:
        return False
    try:
        return not Format(fmt).writable
    except (ValueError, NotImplementedError):
        return "O" in fmt


def select(buf: int, layout: Layout, index: tuple[int, ...]) -> tuple[int, Layout]:
    """The base address and layout of the sub-array at ``index`` (ints), pointers followed."""
    selection = layout.resolve(index)
    for hop in selection.hops:
        buf = _capi.read_pointer(buf + hop)
    return buf, selection.layout


def head_is_contiguous(array: NDArray, order: str) -> bool:
    """``PyBuffer_IsContiguous`` on ``array``'s head, without a buffer request."""
    return array._head.is_contiguous(order)
