"""``MemoryView``: the builtin memoryview's API on every layout and format, and more.

Invariants (the seed thread's decisions, as ``memoryobject.c`` implements them):
- ``MemoryView(obj)`` makes one request (``managed.request``: one getbuffer on
  ``obj``, held by a builtin memoryview, the *pin*). Every view derived from it --
  slice, sub-view, cast, transpose, ``toreadonly``, ``MemoryView(view)`` -- holds
  the same pin and never asks the exporter again. The exporter's buffer is
  released by CPython when the last holder of the pin lets go (reference
  counting, or the collector, which sees every edge: view -> pin -> exporter).
- Holding the pin holds the memory. Every operation copies ``self._pin`` into a
  local before it looks at the layout and keeps it until its last access, so a
  ``release()`` made meanwhile -- by user code the operation calls (``__index__``,
  ``__buffer__``, ``__float__``, a ``str`` subclass), or by another thread -- only
  takes effect after the access. Arguments that run user code are converted
  first, and the view is checked again after them: an operation on a view
  released by then raises ``ValueError`` before it touches memory.
- Each view owns its ``Layout`` (relative to its ``_base`` address, which is the
  exporter's ``buf`` or, below an indexed indirect dimension, the pointer that
  index led to) and its format; the exporter's answer is read only.
- A view derived from another lies inside it: ``Layout.resolve``, ``cast`` and
  ``transpose`` only ever select or reinterpret elements the parent reaches, so
  no derived layout reaches memory the exporter did not describe.
- ``release()`` raises ``BufferError`` while buffers exported from the view are
  held; otherwise it releases the view's builtin helpers and drops its pin. A
  released view raises ``ValueError("operation forbidden on released memoryview
  object")`` for every operation.
- Element work on formats the builtin memoryview understands is delegated to a
  builtin memoryview over the same layout (the *reader*, built lazily with the
  format's native equivalent, a static C string), so ``v[i, j]``, ``tolist`` and
  iteration run at the builtin's speed with its results and errors. The reader
  never leaves the view except inside an iterator that also holds the view.
  Other formats go through ``engine`` and ``Format``. A format bufferkit cannot
  read still allows every byte-level operation; reading values raises
  ``NotImplementedError`` naming it.
- Exports (PEP 688): ``__buffer__`` checks the request exactly as the builtin's
  getbuffer does (same errors), then returns a fresh builtin memoryview of the
  exact layout and format text, whose managed buffer owns the pin (the
  collector sees it): an export keeps the memory alive however long it lives.
  ``__release_buffer__`` accepts only a memoryview this view exported and has
  not been told of (``ValueError`` otherwise, ``TypeError`` for a non-memoryview;
  the builtin's ``BufferError`` while a consumer holds a buffer of it, which a
  later release may then settle). Where an export is a plain sibling of the
  template (``managed.PLAIN_EXPORTS``), CPython need not call it: the export
  dies with the consumer's release and stops being counted, so CPython is told
  to skip it (``managed.skip_release_calls``; direct calls still reach it).
- Object items (``'O'``): read only where the exporter exported ``'O'`` at that
  layout. A cast to a format holding ``'O'`` is refused; a cast away from one is
  read-only; ``'O'`` items are never written.
"""

from __future__ import annotations

import operator
import struct
import sys
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import chain
from types import TracebackType

from . import _capi, engine
from ._capi import BUFFER_WRAPPER as _BUFFER_WRAPPER
from .flags import FULL_RO, ND, remembered_refusal
from .flags import INT_MAX as _INT_MAX
from .flags import INT_MIN as _INT_MIN
from .flags import request as valid_flags
from .formats import BUILTIN_TEXTS, Format
from .layout import Layout, equivalent_shapes, wrong_index_count
from .managed import (
    COUNTED_EXPORTS as _COUNTED_EXPORTS,
)
from .managed import (
    PLAIN_EXPORTS as _PLAIN_EXPORTS,
)
from .managed import (
    SHIELDING as _SHIELDING,
)
from .managed import (
    export_key,
    export_of,
    exporter_of,
    exports_held,
    held_request,
    owner_of,
    settle,
    shield_held,
    skip_release_calls,
    try_settle,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    _Cast = tuple[Layout, Format, bool, int]  # the layout, format, mode and ndim of a cast
    _Casts = dict[tuple[str, tuple[int, ...] | None], _Cast]  # (format, shape) -> cast

__all__ = ["MemoryView", "read_answer"]

_RELEASED = "operation forbidden on released memoryview object"
_C = "C"  # (CPython has one str object for each one-character Latin-1 text)
_DIFFERENT_STRUCTURES = "memoryview assignment: lvalue and rvalue have different structures"
_NOT_C_CONTIGUOUS = "memoryview: underlying buffer is not C-contiguous"
_REFUSALS = {  # the builtin memoryview's words for each rule of flags.refusal
    "writable": "memoryview: underlying buffer is not writable",
    "c_contiguous": _NOT_C_CONTIGUOUS,
    "f_contiguous": "memoryview: underlying buffer is not Fortran contiguous",
    "any_contiguous": "memoryview: underlying buffer is not contiguous",
    "suboffsets": "memoryview: underlying buffer requires suboffsets",
    "strides": _NOT_C_CONTIGUOUS,
    "format": "memoryview: cannot cast to unsigned bytes if the format flag is present",
}
_new_object = object.__new__
_ND = ND
_FULL_RO = FULL_RO
_INTERPRETED = frozenset({"_base", "_layout", "_ndim", "_format", "_text", "_readonly"})
_HELPERS = frozenset({"_reader", "_slicings"})
_get_attribute = object.__getattribute__
_BYTE_STRINGS = frozenset({bytes, bytearray})
_MAX_SLICINGS = 64  # slicing keys (and casts) a view remembers; the oldest goes first
_ITER_CHUNK = 256  # items an iterator unpacks at a time (formats the builtin cannot read)


@lru_cache(maxsize=1024)
def _struct_size(text: str) -> int | None:
    """``struct.calcsize(text)``, or None if ``struct`` cannot read the format."""
    try:
        return struct.calcsize(text)
    except struct.error:
        return None


def _same_shape(a: Sequence[int], b: Sequence[int]) -> bool:
    """The builtin's ``equiv_shape``: same ndim, equal up to and including the first zero."""
    return len(a) == len(b) and equivalent_shapes(a, b)


class _NoShape:
    """The type of ``cast``'s default: no shape given (``None`` is refused, as by the builtin)."""


_NO_SHAPE = _NoShape()


def _parse_format(text: str, itemsize: int) -> Format | None:
    """The exporter's format, or None if bufferkit cannot read its values.

    ctypes exports ``wchar_t`` as ``'u'`` whatever its size: where the items are
    too large for UCS-2 but fit UCS-4 (``'w'``), they are read as UCS-4.
    """
    try:
        fmt = Format(text)
        if fmt.itemsize != itemsize and "u" in text:
            wide = Format(text.replace("u", "w"))
            fmt = wide if wide.itemsize == itemsize else fmt
    except (ValueError, NotImplementedError):
        return None
    return fmt if fmt.itemsize == itemsize else None


def read_answer(
    fmt: str | None,
    itemsize: int,
    nbytes: int,
    ndim: int,
    shape: tuple[int, ...] | None,
    strides: tuple[int, ...] | None,
    suboffsets: tuple[int, ...] | None,
    flags: int,
) -> tuple[Layout, str]:
    """The layout (relative to ``buf``) and format text a consumer reads from the
    fields of an answer to ``flags`` (NULL fields are None): ``MemoryView``'s rule.

    An answer to a request without ``ND`` has no shape: it is its ``len`` bytes,
    whatever ``itemsize`` and ``ndim`` say (NumPy: ndim 0). Where the exporter gave a
    format anyway, its items are kept: with the shape it gave, if that describes
    ``len`` bytes (ctypes), else as ``len // itemsize`` items, else as bytes -- never
    an element the answer does not cover. Items of a NULL format with an itemsize
    above 1 are opaque bytes (``'8s'``). ``ValueError`` for ``ndim`` above 1 without
    a shape (no layout says where those elements are).
    """
    text = "B" if fmt is None else fmt
    if not flags & _ND:
        if text != "B":
            given = (
                Layout(itemsize, shape or (), strides, suboffsets) if shape or not ndim else None
            )
            if given is not None and given.nbytes == nbytes:
                return given, text
            if itemsize and nbytes % itemsize == 0:
                return Layout(itemsize, (nbytes // itemsize,)), text
        return Layout(1, (nbytes,)), "B"
    if fmt is None and itemsize != 1:
        text = f"{itemsize}s"
    if ndim == 0:
        return Layout(itemsize, ()), text
    if shape is None:
        if ndim > 1:
            raise ValueError(f"ndim {ndim} without a shape cannot be read")
        shape = (nbytes // max(itemsize, 1),)
    return Layout(itemsize, shape, strides, suboffsets), text


def _answer(pin: memoryview, flags: int) -> tuple[Layout, str]:
    """``read_answer`` of the answer the builtin memoryview ``pin`` holds (it reads a
    NULL format as ``'B'``, so ``'B'`` with an itemsize above 1 was NULL)."""
    text, itemsize = pin.format, pin.itemsize
    fmt = None if text == "B" and itemsize != 1 else text
    return read_answer(
        fmt,
        itemsize,
        pin.nbytes,
        pin.ndim,
        pin.shape,
        pin.strides,
        pin.suboffsets or None,
        flags,
    )


def _released_error() -> ValueError:
    return ValueError(_RELEASED)


def _exact_str(value: object, what: str) -> str:
    """``value`` as an exact ``str`` (a subclass's methods never run), else TypeError."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    return str.__str__(value)


class MemoryView:
    """An N-dimensional view of any exporter's buffer (see the module docstring).

    ``MemoryView(obj, flags=BufferFlags.FULL_RO)`` requests ``obj``'s buffer once;
    ``MemoryView(view)`` shares ``view``'s request.
    """

    # The fields every view sets, and the two the hot paths read first (the
    # reader and the remembered slicings, None until made), are slots; the rest
    # of the lazily set state lives in the instance dict (made on first use) and
    # defaults to the class attributes. A view made from an exporter sets only
    # the pin, its request and the three below; its layout fields (``_INTERPRETED``)
    # are read from the pin on first use (``__getattr__``).
    __slots__ = (
        "__weakref__",
        "_base",
        "_extra",
        "_format",
        "_hash",
        "_layout",
        "_ndim",
        "_pin",
        "_reader",
        "_readonly",
        "_slicings",
        "_text",
        "_whole",
    )
    _base: int
    _format: Format | None
    _layout: Layout
    _ndim: int
    _pin: memoryview | None  # None once released
    _readonly: bool
    _text: str
    _whole: bool  # the view is its pin's own answer, layout and format text alike: the
    # request was FULL_RO, not through an adapter (a builtin memoryview exporter), the
    # format was not NULL (opaque items), and no object pointers (exported read-only)
    _extra: _Extra | None  # what few views need (see _Extra), made on first use
    _hash: int | None  # None until hashed (kept after release, as the builtin keeps it)
    _reader: memoryview | None
    _slicings: dict[Any, tuple[Any, Layout, int]] | None  # key: (key, layout, ndim)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("type 'MemoryView' is not an acceptable base type")  # as the builtin

    def __new__(cls, object: object, flags: int = FULL_RO) -> MemoryView:
        """One request on ``object`` (the builtin's keyword), or a view sharing a view's.

        (``__new__``, as the builtin's: ``__init__`` is object's, and refuses arguments,
        so a live view cannot be initialised again.)
        """
        if flags is not FULL_RO:  # (the default itself needs no check)
            flags = valid_flags(flags)  # as the builtin validates them
        view = _new_object(cls)
        view._hash = view._extra = None
        if type(object) is MemoryView:  # (isinstance would trust a forged __class__)
            object._held()
            object._check_request(flags)
            view._adopt(
                object._held(),
                object._base,
                object._layout,
                object._format,
                object._text,
                object._readonly,
            )
            return view
        if flags == _FULL_RO and type(object) is not memoryview:
            pin = memoryview(object)  # type: ignore[arg-type]  # (held_request, inlined)
            if type(object) in _BYTE_STRINGS:  # (C exporters of 'B' items: whole)
                view._whole = True
            else:
                if _SHIELDING and type(pin.obj) is _BUFFER_WRAPPER:
                    shield_held(pin)
                # whole (see _whole) unless a NULL format shows as 'B' or items hold objects
                text = pin.format
                view._whole = "O" not in text and (pin.itemsize == 1 or text != "B")
        else:
            pin = held_request(object, flags)
            view._whole = False  # another request's answer, or a memoryview's adapter
            if flags != _FULL_RO:
                view._request = flags
        view._pin = pin  # (the layout, _reader and _slicings are set on first use)
        return view

    def __getattr__(self, name: str) -> Any:
        """The fields of a view made from an exporter, set on first use."""
        if name in _INTERPRETED:
            self._interpret()
        elif name in _HELPERS:
            self._reader = self._slicings = None
        elif name == "_extra":  # cleared by the collector: a view in a dying cycle
            return None
        else:
            raise AttributeError(f"'MemoryView' object has no attribute {name!r}")
        return _get_attribute(self, name)

    # The rarely set state lives in _extra (one slot: a view stays small). A field
    # reads as its default where _extra, or its slot, is not set (or the collector
    # cleared it): ``getattr(None, name, default)`` is the default too.

    def _more(self) -> _Extra:
        extra = self._extra
        if extra is None:
            extra = self._extra = _Extra()
        return extra

    @property
    def _exact(self) -> memoryview | None:
        """The builtin memoryview of this very view that exports share (or None)."""
        exact: memoryview | None = getattr(self._extra, "exact", None)
        return exact

    @_exact.setter
    def _exact(self, exact: memoryview | None) -> None:
        self._more().exact = exact

    @property
    def _casts(self) -> _Casts | None:
        """The casts this view made, remembered (or None)."""
        casts: _Casts | None = getattr(self._extra, "casts", None)
        return casts

    @_casts.setter
    def _casts(self, casts: _Casts) -> None:
        self._more().casts = casts

    @property
    def _exports(self) -> int:
        """Buffers exported and not yet released (where the ledger counts them)."""
        count: int = getattr(self._extra, "exports", 0)
        return count

    @_exports.setter
    def _exports(self, count: int) -> None:
        self._more().exports = count

    @property
    def _request(self) -> int:
        """The request of a view made from an exporter."""
        flags: int = getattr(self._extra, "request", _FULL_RO)
        return flags

    @_request.setter
    def _request(self, flags: int) -> None:
        self._more().request = flags

    def _interpret(self) -> None:
        """Set the layout fields from the answer the pin holds (``read_answer``)."""
        pin = self._held()
        layout, text = _answer(pin, self._request)
        fmt = _parse_format(text, layout.itemsize)
        self._base = _capi.memoryview_address(pin)
        self._layout = layout
        self._ndim = len(layout.shape)
        self._format = fmt
        self._text = text
        self._readonly = pin.readonly

    def _adopt(
        self,
        pin: memoryview,
        base: int,
        layout: Layout,
        fmt: Format | None,
        text: str,
        readonly: bool,
    ) -> None:
        """Set every field of a new view holding ``pin`` (not its pin's whole answer)."""
        self._base = base
        self._layout = layout
        self._ndim = len(layout.shape)
        self._format = fmt
        self._text = text
        self._readonly = readonly
        self._reader = self._slicings = None
        self._whole = False
        self._pin = pin

    def _sub(self, pin: memoryview, layout: Layout, base: int) -> MemoryView:
        """A view of the same request, format and mode with another layout."""
        view = _new_object(MemoryView)
        view._hash = view._extra = None
        view._adopt(pin, base, layout, self._format, self._text, self._readonly)
        return view

    def _derive(
        self,
        pin: memoryview,
        layout: Layout,
        fmt: Format | None = None,
        text: str | None = None,
        readonly: bool | None = None,
    ) -> MemoryView:
        """A view of the same request with another layout, format or mode."""
        view = _new_object(MemoryView)
        view._hash = view._extra = None
        view._adopt(
            pin,
            self._base,
            layout,
            self._format if text is None else fmt,
            self._text if text is None else text,
            self._readonly if readonly is None else readonly,
        )
        return view

    @classmethod
    def from_memory(
        cls,
        address: int,
        size: int,
        *,
        readonly: bool = True,
        format: str = "B",
        shape: Sequence[int] | None = None,
    ) -> MemoryView:
        """A view of ``size`` bytes of raw memory at ``address`` (``PyMemoryView_FromMemory``).

        The caller guarantees that the memory stays valid while the view is used.
        """
        address = operator.index(address)
        size = operator.index(size)
        if not 0 <= size <= _capi.SSIZE_MAX:
            raise ValueError(f"size must be >= 0 and fit in a Py_ssize_t, not {size}")
        if not 0 < address < 2 ** (8 * _capi.POINTER_SIZE) - size:
            raise ValueError(f"invalid address {address:#x} for {size} bytes")
        pin = _capi.memoryview_from_memory(address, size, readonly=readonly)
        view = object.__new__(cls)
        view._adopt(pin, address, Layout(1, (size,)), Format("B"), "B", readonly)
        if format == "B" and shape is None:
            return view
        try:
            return view.cast(format) if shape is None else view.cast(format, shape)
        finally:
            view.release()

    # --- state -------------------------------------------------------------------

    def _held(self) -> memoryview:
        """The pin, held by the caller for its whole operation; ValueError if released."""
        pin = self._pin
        if pin is None:
            raise ValueError(_RELEASED)
        return pin

    def release(self) -> None:
        """Release this view; the exporter's buffer goes with the last view sharing it.

        Raises ``BufferError`` while buffers exported from this view are held.
        """
        if self._pin is None:
            return
        count = self._held_exports()
        if count:
            plural = "" if count == 1 else "s"
            raise BufferError(f"memoryview has {count} exported buffer{plural}")
        self._pin = None  # the last holder to let go releases the exporter's buffer; set
        # before the helpers are read: a helper stored after this read sees it (and is
        # undone by _keep_helper), one stored before is released here
        helpers = (self._reader, self._exact)
        self._reader = self._exact = self._slicings = None
        for helper in helpers:
            if helper is not None:
                helper.release()

    def __enter__(self) -> MemoryView:
        self._held()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released memory" if self._pin is None else "memory"
        return f"<{state} at {id(self):#x}>"

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("cannot pickle 'MemoryView' object")

    # --- builtin helpers ----------------------------------------------------------

    def _reader_view(self) -> memoryview | None:
        """The builtin memoryview that reads this view's values, if the builtin can.

        It owns the pin, as every helper does: whoever holds it (an iterator) holds
        the memory. ``release()`` releases it.
        """
        reader = self._reader
        if reader is None and self._whole and self._held().format in BUILTIN_TEXTS:
            exact = self._exact  # (not ``or``: a 0-d memoryview has no truth value)
            reader = self._reader = exact if exact is not None else memoryview(self._held())
            self._keep_helper(reader)
        elif reader is None and self._format is not None:
            code = self._format.native_equivalent
            if code is not None:
                exact = self._exact
                if exact is not None and self._format.native is not None:
                    reader = exact  # its text is the code, or '@' and the code
                else:
                    reader = engine.builtin_view(
                        self._base,
                        self._layout,
                        code,
                        readonly=self._readonly,
                        keepalive=self._held(),
                    )
                self._reader = reader
                self._keep_helper(reader)
        return reader

    def _exact_view(self) -> memoryview:
        """A builtin memoryview of this view with the exact format text, owning the pin;
        read-only where the items hold object pointers."""
        exact = self._exact
        if exact is None:
            readonly = self._readonly or self._holds_objects()
            exact = engine.builtin_view(  # its own managed buffer: it counts the exports
                self._base, self._layout, self._text, readonly=readonly, keepalive=self._held()
            )
            self._exact = exact
            self._more().exact_key = export_key(exact)
            self._keep_helper(exact)
        return exact

    def _keep_helper(self, helper: memoryview) -> None:
        """Called right after a helper is stored: if another thread released this view
        meanwhile (and so did not release the helper), undo and refuse."""
        if self._pin is None:
            if self._reader is helper:
                self._reader = None
            if self._exact is helper:
                self._exact = None
            helper.release()
            raise ValueError(_RELEASED)

    def _values_format(self) -> Format:
        """The format to read values with; NotImplementedError if there is none."""
        if self._format is None:
            try:
                fmt = Format(self._text)
            except (ValueError, NotImplementedError) as error:
                raise NotImplementedError(
                    f"memoryview: format {self._text!r} not supported: {error}"
                ) from None
            raise NotImplementedError(
                f"memoryview: format {self._text!r} has itemsize {fmt.itemsize}, "
                f"but the buffer's items are {self._layout.itemsize} bytes"
            )
        return self._format

    def _writable_format(self) -> Format:
        fmt = self._values_format()
        if not fmt.writable:
            raise TypeError(
                f"memoryview: format {self._text!r} holds object pointers: assignment is refused"
            )
        return fmt

    def _check_writable_bytes(self) -> None:
        """Refuse byte copies into items that hold object pointers (never written)."""
        fmt = self._format
        if fmt is not None and not fmt.writable:
            self._writable_format()
        if fmt is None and "O" in self._text:
            raise TypeError(
                f"memoryview: format {self._text!r} may hold object pointers: assignment is refused"
            )

    # --- attributes ---------------------------------------------------------------

    @property
    def obj(self) -> object:
        """The exporter (``None`` for ``from_memory`` views)."""
        return exporter_of(self._held())

    # A whole view (its pin's own answer) reads its attributes off the pin, as the
    # builtin does; any other view from its layout.

    @property
    def nbytes(self) -> int:
        pin = self._held()
        return pin.nbytes if self._whole else self._layout.nbytes

    @property
    def readonly(self) -> bool:
        pin = self._held()
        return pin.readonly if self._whole else self._readonly

    @property
    def itemsize(self) -> int:
        pin = self._held()
        return pin.itemsize if self._whole else self._layout.itemsize

    @property
    def format(self) -> str:
        pin = self._held()
        return pin.format if self._whole else self._text

    @property
    def ndim(self) -> int:
        pin = self._held()
        return pin.ndim if self._whole else self._ndim

    @property
    def shape(self) -> tuple[int, ...]:
        pin = self._held()
        return pin.shape if self._whole else self._layout.shape  # type: ignore[return-value]

    @property
    def strides(self) -> tuple[int, ...]:
        pin = self._held()
        return pin.strides if self._whole else self._layout.strides  # type: ignore[return-value]

    @property
    def suboffsets(self) -> tuple[int, ...]:
        pin = self._held()
        return pin.suboffsets if self._whole else self._layout.suboffsets or ()  # type: ignore[return-value]

    def _contiguity(self) -> tuple[bool, bool]:
        """The builtin's C and Fortran flags (``init_flags`` in ``memoryobject.c``)."""
        if self._whole:
            pin = self._held()
            return pin.c_contiguous, pin.f_contiguous
        layout = self._layout
        if layout.suboffsets is not None:
            return False, False
        if self._ndim == 0:
            return True, True
        if self._ndim == 1:
            flag = layout.shape[0] == 1 or layout.strides[0] == layout.itemsize
            return flag, flag
        return layout.is_c_contiguous(), layout.is_f_contiguous()

    @property
    def c_contiguous(self) -> bool:
        self._held()
        return self._contiguity()[0]

    @property
    def f_contiguous(self) -> bool:
        self._held()
        return self._contiguity()[1]

    @property
    def contiguous(self) -> bool:
        self._held()
        return any(self._contiguity())

    @property
    def layout(self) -> Layout:
        """This view's ``Layout`` (relative to the address its elements start from)."""
        self._held()
        return self._layout

    # --- length, iteration, lookup -----------------------------------------------------

    def __len__(self) -> int:
        if self._whole:
            try:
                return len(self._pin)  # type: ignore[arg-type]
            except TypeError:  # released (None), or 0-d: below
                pass
        self._held()
        if not self._ndim:
            raise TypeError("0-dim memory has no length")
        return self._layout.shape[0]

    def __iter__(self) -> Iterator[Any]:
        self._held()
        if not self._ndim:
            raise TypeError("invalid indexing of 0-dim memory")
        if self._ndim == 1:
            reader = self._reader_view()
            if reader is not None:
                # The reader owns the pin; a released view releases it, and the
                # builtin's iterator then raises ValueError.
                return iter(reader)
            self._values_format()
            # Other formats: unpacked a run of items at a time (one bulk read each).
            starts = range(0, self._layout.shape[0], _ITER_CHUNK)
            return chain.from_iterable(map(self._run_of_items, starts))
        return map(self.__getitem__, range(self._layout.shape[0]))

    def _run_of_items(self, start: int) -> list[Any]:
        """The items ``start`` to ``start + _ITER_CHUNK`` of a 1-D view."""
        pin = self._held()
        try:
            run = self._layout.resolve(slice(start, start + _ITER_CHUNK)).layout
            items: list[Any] = engine.tolist(self._base, run, self._values_format())
        finally:
            del pin  # (a traceback keeps a frame's locals: it must not keep the memory)
        return items

    def __contains__(self, value: object) -> bool:
        self._held()
        if self._ndim == 1:
            return value in self._item_list()
        return any(item == value for item in self)

    def _item_list(self) -> list[Any]:
        """The items of a 1-D view."""
        items: list[Any] = self.tolist()
        return items

    def count(self, value: object) -> int:
        """How many items (sub-views for ndim > 1) equal ``value``."""
        self._held()
        if not self._ndim:
            raise TypeError("invalid lookup on 0-dim memory")
        if self._ndim == 1:
            return self._item_list().count(value)
        return sum(1 for item in self if item == value)

    def index(self, value: object, start: int = 0, stop: int = sys.maxsize) -> int:
        """The first index in ``[start, stop)`` whose item equals ``value``."""
        self._held()
        if not self._ndim:
            raise TypeError("invalid lookup on 0-dim memory")
        first, last, _ = slice(start, stop).indices(self._layout.shape[0])
        self._held()  # start and stop may have run user code (__index__)
        if self._ndim == 1:
            try:
                return self._item_list().index(value, first, max(first, last))
            except ValueError:
                raise ValueError("memoryview.index(x): x not found") from None
        for position in range(first, last):
            if self[position] == value:
                return position
        raise ValueError("memoryview.index(x): x not found")

    # --- indexing -----------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        # The hot paths first: an element through the builtin reader, a slicing
        # this view has seen before; everything else (and every error) below.
        # (The reader owns the pin: it holds the memory it reads. None until made.)
        if type(key) is int and self._ndim == 1:  # (ndim > 1: a sub-view, no error to pay)
            try:
                return self._reader[key]  # type: ignore[index]
            except TypeError:  # no reader yet
                pass
        kind = type(key)
        if kind is tuple and key and type(key[0]) is int:  # (never a remembered slicing)
            try:
                return self._reader[key]  # type: ignore[index]
            except (TypeError, NotImplementedError):
                pass  # no reader yet; a slice among the ints (a sub-view); too few
                # or too many indexes (the general path raises the right error)
        elif kind is tuple or kind is slice:
            slicings = self._slicings
            if slicings is not None:
                known: Layout | None  # (an annotation: no code)
                try:
                    seen, known, ndim = slicings[key]  # (KeyError: a new key)
                    if seen is key:  # the very key: checked when remembered
                        pass
                    elif kind is slice:  # an equal key: plain too? (an equal part's
                        # __index__ may say otherwise; 1.0 has none) _is_plain_slice,
                        if not (  # inlined: its call is ~45 ns of v[2:50] on 3.12/3.13
                            (type(key.start) is int or key.start is None)
                            and (type(key.stop) is int or key.stop is None)
                            and (key.step is None or type(key.step) is int)
                        ):
                            known = None
                    elif not all(map(_is_plain_slice, key)):
                        known = None
                except Exception:
                    known = None  # the full path below raises the right error
                # (after the parts' __eq__, which may have released it; no pin in an
                pin = self._pin if known is not None else None  # error's traceback)
                if known is not None and pin is not None:
                    # self._sub(pin, known, self._base), written out (a call costs ~35 ns)
                    view = _new_object(MemoryView)
                    view._hash = view._extra = None
                    view._base = self._base
                    view._layout = known
                    view._ndim = ndim
                    view._format = self._format
                    view._text = self._text
                    view._readonly = self._readonly
                    view._reader = view._slicings = None
                    view._whole = False
                    view._pin = pin
                    return view
        return self._subscript(key)

    def _remember_slicing(self, key: Any, layout: Layout) -> None:
        """Keep the layout a slice or a tuple of slices gave, under the key itself
        (with the key, the very same key object needs no check again; with its ndim).

        Only slices of ints and None are remembered. A later key matches by
        ``==`` (dict semantics); ``__getitem__`` then uses the layout only if that
        key is made of ints and None too: ``slice(1.0, 2)`` equals ``slice(1, 2)``
        but must raise, and an object equal to 1 may say 3 by its ``__index__``
        (those, ``numpy.int64`` and ``True`` take the general path).
        """
        kind = type(key)
        if kind is slice:
            if not _is_plain_slice(key):
                return
        elif kind is not tuple or not all(map(_is_plain_slice, key)):
            return
        slicings = self._slicings
        if slicings is None:
            slicings = self._slicings = {}
        elif len(slicings) >= _MAX_SLICINGS:
            del slicings[next(iter(slicings))]
        slicings[key] = (key, layout, len(layout.shape))

    def _follow(self, hops: tuple[int, ...]) -> int:
        """The address the pointer hops of a selection lead to from this view's base.

        Precondition: the caller holds the pin, and the selection came from this
        view's layout (each hop reads a pointer the exporter's layout describes).
        """
        base = self._base
        for hop in hops:
            base = _capi.read_pointer(base + hop)
        return base

    def _subscript(self, key: Any) -> Any:
        pin = self._held()  # held for the whole operation: the key may release the view
        try:
            layout = self._layout
            key = _plain_key(key, self._ndim)  # the only place a key's __index__ runs
            selection = layout.resolve(key)
            if selection.element and self._pin is None:
                raise ValueError(_RELEASED)  # (as the builtin: an item of a view released
                # meanwhile is not read; a sub-view made meanwhile shares the held memory)
            base = self._follow(selection.hops)
            if not selection.element:
                if not selection.hops:
                    self._remember_slicing(key, selection.layout)
                return self._sub(pin, selection.layout, base)
            fmt = self._values_format()
            reader = self._reader_view()
            if reader is not None:
                return reader[key]
            return engine.read_item(base + selection.layout.offset, fmt)
        finally:
            del pin

    def __setitem__(self, key: Any, value: Any) -> None:
        self._held()
        if self._readonly:
            raise TypeError("cannot modify read-only memory")
        if key is Ellipsis and not self._ndim:
            key = ()  # the builtin's rule: v[...] = x stores the item of a 0-d view
        elif type(key) is slice:
            if type(value) in _C_SOURCES and self._assign_in_c(key, value):
                return
            if not _is_exporter(value):
                raise _not_an_exporter(value)  # the builtin asks before it reads the slice
        key = _plain_key(key, self._ndim)  # the only place a key's __index__ runs
        selection = self._layout.resolve(key)
        pin = self._held()  # the key's __index__ may have released the view
        try:
            self._store(key, selection, value)
        finally:
            del pin

    def _assign_in_c(self, key: slice, value: Any) -> bool:
        """``self[key] = value`` by the builtin memoryview of this very view (the pin of a
        whole view, else the exact view), for a slice of ints and a ``bytes``,
        ``bytearray``, builtin memoryview or ``MemoryView`` (no user code runs, and the
        copy holds the GIL throughout). False, with nothing written, where the builtin
        refuses: the general path then judges (2-D, formats it compares differently,
        released views, errors).

        Precondition: the caller checked that the view is not released.
        """
        if not _is_plain_slice(key):
            return False
        target: memoryview | None = None
        source: Any = None
        try:
            target = self._builtin_twin()
            source = value._builtin_twin() if type(value) is MemoryView else value
            target[key] = source
        except (ValueError, TypeError, NotImplementedError):
            return False
        finally:
            target = source = None  # (a traceback must not hold them)
        return True

    def _builtin_twin(self) -> memoryview:
        """The builtin memoryview of this very view: its pin if it is the pin's whole
        answer, else its exact view (``ValueError`` once released)."""
        pin = self._held()
        return pin if self._whole else self._exact_view()

    def _store(self, key: Any, selection: Any, value: Any) -> None:
        """``__setitem__`` after the key (precondition: the caller holds the pin)."""
        base = self._follow(selection.hops)
        if not selection.element:
            self._assign(base, selection.layout, value)
            return
        fmt = self._writable_format()
        reader = self._reader_view()
        if reader is not None:
            reader[key] = value  # the builtin converts the value before it writes
            return
        try:
            packed = fmt.pack_one(value)
        except struct.error as error:
            message = f"memoryview: invalid value for format {self._text!r}: {error}"
            raise ValueError(message) from None
        self._held()  # the value's conversion may have released the view
        engine.write_bytes(base + selection.layout.offset, packed)

    def __delitem__(self, key: Any) -> None:
        self._held()
        if self._readonly:
            raise TypeError("cannot modify read-only memory")
        raise TypeError("cannot delete memory")

    def _assign(self, base: int, layout: Layout, value: Any) -> None:
        """Copy the elements of the exporter ``value`` onto ``layout`` at ``base``.

        Precondition: the caller holds this view's pin throughout.
        """
        if not _is_exporter(value):
            raise _not_an_exporter(value)
        source = value if type(value) is MemoryView else MemoryView(value)
        source_pin = source._pin  # held across the copy, like ours
        try:
            source._held()
            self._held()  # the source's __buffer__ may have released this view
            if not _same_shape(layout.shape, source._layout.shape) or not self._same_format(source):
                raise ValueError(_DIFFERENT_STRUCTURES)
            self._check_writable_bytes()
            engine.copy(base, layout, source._base, source._layout)
        finally:
            del source_pin
            if source is not value:
                source.release()

    def _same_format(self, other: MemoryView) -> bool:
        if self._layout.itemsize != other._layout.itemsize:
            return False
        if self._format is None or other._format is None:
            return self._text == other._text
        return self._format == other._format

    # --- values -------------------------------------------------------------------

    def tolist(self) -> Any:
        """The items as (nested) lists; the item itself for a 0-d view."""
        pin = self._held()
        try:
            if self._whole and pin.format in BUILTIN_TEXTS:
                return pin.tolist()
            fmt = self._values_format()
            reader = self._reader_view()
            if reader is not None:
                return reader.tolist()
            return engine.tolist(self._base, self._layout, fmt)
        finally:
            del pin

    def tobytes(self, order: str | None = "C") -> bytes:
        """The bytes of the items in ``'C'``, ``'F'`` or ``'A'`` order."""
        if order is _C and self._whole:  # (the one 'C' string, not a str subclass)
            try:
                return self._pin.tobytes()  # type: ignore[union-attr]  # (no local: a
            except AttributeError:  # traceback must not hold the pin; None once released)
                pass
        return self._tobytes(order)

    def _tobytes(self, order: str | None) -> bytes:
        """``tobytes``, every case."""
        pin = self._pin
        if pin is not None and self._whole and (order is None or type(order) is str):
            try:
                return pin.tobytes(order)  # type: ignore[arg-type]  # (the builtin checks it)
            finally:
                del pin  # (a traceback must not hold it)
        del pin
        if order is not None and not isinstance(order, str):  # (before the release
            raise TypeError(  # check: the builtin's argument parsing comes first)
                f"tobytes() argument 'order' must be str or None, not {type(order).__name__}"
            )
        chosen = "C" if order is None else str.__str__(order)
        pin = self._held()
        try:
            return engine.gather(self._base, self._layout, chosen)
        finally:
            del pin

    def hex(self, *args: Any, **kwargs: Any) -> str:
        """``bytes.hex`` of ``tobytes()`` (same ``sep`` and ``bytes_per_sep``)."""
        pin = self._held()
        if self._whole:
            return pin.hex(*args, **kwargs)
        del pin
        return self.tobytes().hex(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        pin = self._pin
        if pin is None:
            return self is other
        if self._whole and type(other) in _BYTE_STRINGS:  # 'B' items: the builtin's rule
            return pin == other
        del pin
        if type(other) is MemoryView:
            return self is other if other._pin is None else self._equal(other)
        if not _is_exporter(other):
            return NotImplemented
        pin = self._pin  # held across their __buffer__, which may release this view
        try:
            theirs = MemoryView(other)
        except (BufferError, TypeError, ValueError):
            return NotImplemented
        finally:
            del pin
        try:
            if self._pin is None:  # their __buffer__ released this view
                return False
            return self._equal(theirs)
        finally:
            theirs.release()

    def _equal(self, other: MemoryView) -> bool:
        """Both views unreleased (precondition); each stays held while compared."""
        if not _same_shape(self._layout.shape, other._layout.shape):
            return False
        if _struct_size(self._text) is not None and _struct_size(other._text) is not None:
            return self._exact_view() == other._exact_view()
        try:
            mine, theirs = self.tolist(), other.tolist()
        except NotImplementedError:
            return False  # the builtin's answer for formats it cannot read
        return bool(mine == theirs)

    def __hash__(self) -> int:
        """The builtin's hash: read-only ``B``/``b``/``c`` views of hashable exporters."""
        known = self._hash
        if known is not None:
            return known
        pin = self._pin
        if pin is not None and self._whole:
            try:
                known = self._hash = hash(pin)  # the builtin's rules and answer
            finally:
                del pin  # (a traceback of its refusal must not hold the memory)
            return known
        self._held()
        if not self._readonly:
            raise ValueError("cannot hash writable memoryview object")
        if self._format is None or self._format.native not in ("B", "b", "c"):
            raise ValueError("memoryview: hashing is restricted to formats 'B', 'b' or 'c'")
        owner = owner_of(self._held())
        if owner is not None:
            guard = memoryview(self)  # an export: release() refuses while the exporter's
            try:  # __hash__ runs (as the builtin's, which counts one meanwhile)
                hash(owner)  # the builtin's rule: an unhashable exporter refuses
            finally:
                guard.release()
        known = self._hash = hash(self.tobytes())
        return known

    # --- new views ------------------------------------------------------------------

    def cast(self, format: str, shape: Sequence[int] | _NoShape = _NO_SHAPE) -> MemoryView:
        """The same bytes seen with another format (any two formats) and shape.

        As the builtin's: ``shape`` must be a list or a tuple when given. A cast to
        a format holding object pointers is refused; a cast away from one is read-only.
        """
        try:
            last = self._extra.last_cast  # type: ignore[union-attr]
        except AttributeError:  # (no _extra, or no cast yet)
            last = None
        if last is not None and last[0] is format and last[1] is shape:
            known = last[2]  # (the very objects of the last cast: immutable, checked then)
        else:
            known = _remembered_cast(self._extra, format, shape)
        pin = self._pin if known is not None else None  # (an error's traceback: no pin)
        if known is not None and pin is not None:
            view = _new_object(MemoryView)
            view._hash = view._extra = None
            view._base = self._base
            view._layout, view._format, view._readonly, view._ndim = known
            view._text = format
            view._reader = view._slicings = None
            view._whole = False
            view._pin = pin
            return view
        self._held()
        text = _exact_str(format, "cast() argument 'format'")
        dims: tuple[int, ...] | None = None
        if not isinstance(shape, _NoShape):
            if not isinstance(shape, (list, tuple)):
                raise TypeError("shape must be a list or a tuple")
            dims = tuple(map(operator.index, shape))  # may run user code: before the hold
        casts = self._casts
        known = casts.get((text, dims)) if casts is not None else None
        if known is None:
            known = self._cast_layout(text, dims)
            if casts is None:
                casts = self._casts = {}
            elif len(casts) >= _MAX_SLICINGS:
                del casts[next(iter(casts))]
            casts[text, dims] = known
        if type(format) is str and (shape is _NO_SHAPE or _int_tuple(shape)):
            self._more().last_cast = (format, shape, known)
        layout, fmt, readonly, _ = known
        return self._derive(self._held(), layout, fmt=fmt, text=text, readonly=readonly)

    def _cast_layout(self, text: str, dims: tuple[int, ...] | None) -> _Cast:
        """The layout, format, mode and ndim of a cast (remembered per view by ``cast``)."""
        self._layout.check_cast(dims)
        fmt = Format(text)
        if fmt.itemsize == 0:
            raise ValueError(f"memoryview: cannot cast to format {text!r} of itemsize 0")
        if not fmt.writable:
            raise ValueError(f"memoryview: cannot cast to {text!r}: it holds object pointers")
        layout = self._layout.cast(fmt.itemsize, dims)
        return layout, fmt, self._readonly or self._holds_objects(), len(layout.shape)

    def _holds_objects(self) -> bool:
        """True if the items may hold object pointers (their bytes are never written)."""
        fmt = self._format
        return (not fmt.writable) if fmt is not None else "O" in self._text

    def toreadonly(self) -> MemoryView:
        """A read-only view of the same memory."""
        return self._derive(self._held(), self._layout, readonly=True)

    def transpose(self, *axes: Any) -> MemoryView:
        """The view with its dimensions permuted (reversed without ``axes``), as NumPy's."""
        self._held()
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        layout = self._layout.transpose(axes or None)
        return self._derive(self._held(), layout)

    @property
    def T(self) -> MemoryView:
        """The view with its dimensions reversed."""
        return self.transpose()

    # --- export (PEP 688) -----------------------------------------------------------

    def _check_request(self, flags: int) -> None:
        """Refuse ``flags`` exactly as the builtin memoryview's getbuffer would; items
        holding object pointers are exported read-only (bytes never overwrite them).
        The last flags accepted are remembered: a view's answer never changes."""
        if flags == getattr(self._extra, "accepted", None):
            return
        if self._whole:
            _refuse(flags, *_answer_flags(self._held()))  # (no local: a refusal's
        else:  # traceback must not hold the pin)
            c_contiguous, f_contiguous = self._contiguity()
            readonly = self._readonly or self._holds_objects()
            _refuse(flags, readonly, c_contiguous, f_contiguous, self._layout.suboffsets)
        self._more().accepted = flags

    def __buffer__(self, flags: int) -> memoryview:
        extra = self._extra
        try:
            exact = extra.exact  # type: ignore[union-attr]  # (self._exact, without a call)
        except AttributeError:  # (no _extra, or no exact in it yet)
            exact = None
        if (
            exact is None
            or type(flags) is not int
            or (flags != _FULL_RO and flags != getattr(extra, "accepted", None))
        ):
            exact = self._granted_exact(flags)
        export = memoryview(exact) if _PLAIN_EXPORTS else export_of(exact, self)
        if self._pin is None:  # released by another thread meanwhile: undone, as one
            export.release()  # made after release() counted the exports must be (one
            del export  # made before is counted there); no one else holds it yet
            raise ValueError(_RELEASED)
        return export

    def _granted_exact(self, flags: object) -> memoryview:
        """``__buffer__``'s checks, all of them: ``flags`` validated (a direct call may
        pass anything), ``ValueError`` once released, the builtin's refusals; the
        template of the export. (``__buffer__`` skips them for flags already granted,
        and FULL_RO, which is never refused.)"""
        if type(flags) is not int or not _INT_MIN <= flags <= _INT_MAX:
            flags = valid_flags(flags)  # (__index__ may run user code)
        exact = self._exact_view()  # (ValueError once released)
        if flags != _FULL_RO:
            self._check_request(flags)
        return exact

    def __release_buffer__(self, view: memoryview) -> None:
        extra = self._extra
        exact = getattr(extra, "exact", None)  # (self._exact, without a call)
        if not (
            _COUNTED_EXPORTS
            and type(view) is memoryview
            and try_settle(view, exact, getattr(extra, "exact_key", None))
        ):
            settle(view, exact, self)  # (not an export held: refused, or quiet in a collection)

    def _held_exports(self) -> int:
        """How many buffers exported from this view are still held."""
        return exports_held(self._exact, self)

    def _drop_export(self, key: int) -> None:
        """One export released, or dropped unreleased (``managed``'s ledger calls it)."""
        self._exports -= 1


skip_release_calls(MemoryView)  # (an export dies with the consumer's release)

_C_SOURCES = frozenset({bytes, bytearray, memoryview, MemoryView})  # (no user code in them)


class _Extra:
    """The state few views need, in one object a view makes on first use (an unset
    slot reads as the view's default: see ``MemoryView._exact`` and its siblings)."""

    __slots__ = ("accepted", "casts", "exact", "exact_key", "exports", "last_cast", "request")
    accepted: int  # the last request flags ``_check_request`` accepted
    exact: memoryview | None
    exact_key: object  # managed.export_key(exact)
    casts: _Casts | None
    last_cast: tuple[str, object, _Cast]  # (the arguments, as objects, and the cast)
    exports: int
    request: int


def _remembered_cast(extra: _Extra | None, format: object, shape: object) -> _Cast | None:
    """The cast a view remembers for these arguments, found without running user code
    (``format`` an exact ``str``, ``shape`` absent or a tuple of exact ints), or None;
    it becomes ``last_cast``, which ``cast`` compares by identity first."""
    casts: _Casts | None = getattr(extra, "casts", None)
    if casts is None or type(format) is not str:
        return None
    if shape is _NO_SHAPE:
        known = casts.get((format, None))
    elif _int_tuple(shape):
        known = casts.get((format, shape))  # type: ignore[arg-type]
    else:
        return None
    if known is not None:
        extra.last_cast = (format, shape, known)  # type: ignore[union-attr]
    return known


def _int_tuple(shape: object) -> bool:
    """True for a tuple of exact ints (hashing and comparing it runs no user code)."""
    return type(shape) is tuple and not [d for d in shape if type(d) is not int]


def _answer_flags(pin: memoryview) -> tuple[bool, bool, bool, tuple[int, ...] | None]:
    """What the builtin's getbuffer checks of ``pin``: read-only, C and Fortran
    contiguity, suboffsets."""
    return pin.readonly, pin.c_contiguous, pin.f_contiguous, pin.suboffsets or None


def _refuse(
    flags: int, readonly: bool, c_contiguous: bool, f_contiguous: bool, suboffsets: Any
) -> None:
    """Raise the builtin memoryview's ``BufferError`` for a request it would refuse."""
    rule = remembered_refusal(flags, readonly, c_contiguous, f_contiguous, suboffsets is not None)
    if rule is not None:
        raise BufferError(_REFUSALS[rule])


def _is_plain_slice(part: object) -> bool:
    """A slice whose start, stop and step are each an ``int`` or None."""
    if type(part) is not slice:
        return False
    start, stop, step = part.start, part.stop, part.step
    return (
        (start is None or type(start) is int)
        and (stop is None or type(stop) is int)
        and (step is None or type(step) is int)
    )


def _not_an_exporter(value: object) -> TypeError:
    return TypeError(f"a bytes-like object is required, not '{type(value).__name__}'")


def _is_exporter(value: object) -> bool:
    """True for objects that export buffers (every exporter type has ``__buffer__``)."""
    return hasattr(type(value), "__buffer__")


def _plain_key(key: Any, ndim: int) -> Any:
    """``key`` with each index converted to an ``int`` once (``__index__`` is user code),
    for a view of ``ndim`` dimensions.

    Entries that do not convert stay as they are: ``Layout.resolve`` then raises
    the builtin's error for them. As the builtin, no index is converted where the
    key is refused whatever its values: any key but ``()`` and ``...`` of a 0-d view
    (left to ``resolve``), more indexes than dimensions (``TypeError`` here).
    """
    kind = type(key)
    if kind is int or key is Ellipsis or not ndim:
        return key
    if kind is tuple:
        for entry in key:
            if type(entry) is not int and not _is_plain_slice(entry):
                if len(key) > ndim and all(map(_is_index, key)):
                    raise wrong_index_count(ndim, len(key))
                return tuple(map(_plain_entry, key))
        return key
    return _plain_entry(key)


def _is_index(entry: object) -> bool:
    """True if ``entry`` has ``__index__`` (the builtin's ``PyIndex_Check``)."""
    return type(entry) is int or hasattr(type(entry), "__index__")


def _plain_entry(entry: Any) -> Any:
    kind = type(entry)
    if kind is int or entry is Ellipsis or kind is tuple or entry is None:
        return entry
    if kind is slice:
        if _is_plain_slice(entry):
            return entry
        bounds = (entry.start, entry.stop, entry.step)
        try:
            return slice(*(None if bound is None else operator.index(bound) for bound in bounds))
        except TypeError:
            return entry
    if not _is_index(entry):
        return entry  # (Layout.resolve raises the builtin's error for it)
    return operator.index(entry)  # (its own error, as the builtin's)
