"""``MemoryView``: the builtin memoryview's API on every layout and format, and more.

Invariants (the seed thread's decisions, as ``memoryobject.c`` implements them):
- ``MemoryView(obj)`` makes one ``ManagedBuffer`` (one getbuffer on ``obj``). Every
  view derived from it -- slice, sub-view, cast, transpose, ``toreadonly``,
  ``MemoryView(view)`` -- shares that managed buffer and never asks the exporter
  again. A view made from an exporter, or by ``MemoryView(view)``, ``cast``,
  ``transpose`` or ``toreadonly``, holds a ``Registration`` of its own on it;
  slices and sub-views hold the registration of the view they come from.
- Each view owns its ``Layout`` (relative to its ``_base`` address, which is the
  exporter's ``buf`` or, below an indexed indirect dimension, the pointer that
  index led to) and its format; the master ``BufferInfo`` is read only.
- A view derived from another lies inside it: ``Layout.resolve``, ``cast`` and
  ``transpose`` only ever select or reinterpret elements the parent reaches, so
  no derived layout reaches memory the exporter did not describe.
- ``release()`` raises ``BufferError`` while buffers exported from the view are
  held; otherwise it releases the view's builtin helpers and lets go of its
  registration. The managed buffer releases the exporter (once) when its last
  registration goes: when the last view holding it is released or collected.
  Views have no ``__del__``: reference counting frees a collected view's
  registration (whose ``__del__`` unregisters) when no other view holds it, so
  making and dropping a slice costs no finaliser call. A released view raises
  ``ValueError("operation forbidden on released memoryview object")`` for every
  operation.
- Element work on formats the builtin memoryview understands is delegated to a
  builtin memoryview over the same layout (the *reader*, built lazily, with the
  format's native equivalent), so ``v[i, j]``, ``tolist`` and iteration run at
  the builtin's speed with its results and errors. Other formats go through
  ``engine`` and ``Format``. A format bufferkit cannot read still allows every
  byte-level operation; reading values raises ``NotImplementedError`` naming it.
- Builtin memoryviews made over the view's memory keep the managed buffer alive
  (``keepalive``), and none is handed out except as an export, which is counted:
  no builtin view can outlive the memory it reaches.
- Exports (PEP 688): ``__buffer__`` checks the request exactly as the builtin's
  getbuffer does (same errors), then returns a fresh builtin memoryview of the
  exact layout and format text, so each request gets exactly the fields the
  builtin memoryview's own getbuffer gives.
"""

from __future__ import annotations

import operator
import struct
import sys
from collections.abc import Iterator, Sequence
from itertools import chain, repeat
from types import TracebackType
from typing import Any

from . import _capi, engine
from .flags import BufferFlags, refusal
from .formats import Format
from .layout import Layout, equivalent_shapes
from .managed import BufferInfo, ExporterError, ManagedBuffer, Registration

__all__ = ["MemoryView"]

_RELEASED = "operation forbidden on released memoryview object"
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
_first = operator.itemgetter(0)
_new_object = object.__new__
_NO_ITEMS = ()  # subscripting it with a slice runs the builtin's checks of the slice
_MAX_SLICINGS = 16  # slicing keys a view remembers
_ITER_CHUNK = 256  # items an iterator unpacks at a time (formats the builtin cannot read)
_struct_sizes: dict[str, int | None] = {}


def _struct_size(text: str) -> int | None:
    """``struct.calcsize(text)``, or None if ``struct`` cannot read the format."""
    if text not in _struct_sizes:
        try:
            _struct_sizes[text] = struct.calcsize(text)
        except struct.error:
            _struct_sizes[text] = None
    return _struct_sizes[text]


def _same_shape(a: Sequence[int], b: Sequence[int]) -> bool:
    """The builtin's ``equiv_shape``: same ndim, equal up to and including the first zero."""
    return len(a) == len(b) and equivalent_shapes(a, b)


class _NoShape:
    """The type of ``cast``'s default: no shape given (``None`` is refused, as by the builtin)."""


_NO_SHAPE = _NoShape()


class _RawMemory(ManagedBuffer):
    """The managed buffer of ``MemoryView.from_memory``: it has no exporter."""

    __slots__ = ()


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


def _master(info: BufferInfo) -> tuple[Layout, str]:
    """The layout (relative to ``info.buf``) and format text of an exporter's answer."""
    itemsize = info.itemsize
    text = info.format if info.format is not None else "B"
    if info.shape is None:
        if info.format is None:  # a SIMPLE answer: len unsigned bytes, whatever
            return Layout(1, (info.len,)), text  # itemsize and ndim say (NumPy: ndim 0)
        if info.ndim > 1:
            raise BufferError(f"exporter gave ndim {info.ndim} but no shape")
        if info.ndim == 0:
            return Layout(itemsize, ()), text
        return Layout(itemsize, (info.len // itemsize,)), text
    if info.format is None and itemsize != 1:
        text = f"{itemsize}s"  # items of unknown type: opaque bytes
    return Layout(itemsize, info.shape, info.strides, info.suboffsets), text


class MemoryView:
    """An N-dimensional view of any exporter's buffer (see the module docstring).

    ``MemoryView(obj, flags=BufferFlags.FULL_RO)`` requests ``obj``'s buffer once;
    ``MemoryView(view)`` shares ``view``'s managed buffer.
    """

    # The fields every view sets, and the two the hot paths read first (the
    # reader and the remembered slicings, None until made), are slots; the rest
    # of the lazily set state lives in the instance dict (made on first use) and
    # defaults to the class attributes.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_base",
        "_format",
        "_layout",
        "_mbuf",
        "_ndim",
        "_reader",
        "_readonly",
        "_registration",
        "_released",
        "_slicings",
        "_text",
    )
    _base: int
    _format: Format | None
    _layout: Layout
    _mbuf: ManagedBuffer
    _ndim: int
    _readonly: bool
    _registration: Registration | None
    _released: bool
    _text: str
    _exact: memoryview | None = None
    _exports: int = 0
    _hash: int | None = None
    _reader: memoryview | None
    _slicings: dict[Any, Layout] | None

    def __init__(self, obj: object, flags: int = BufferFlags.FULL_RO) -> None:
        self._released = True  # until adopted
        if isinstance(obj, MemoryView):
            obj._check()
            obj._check_request(flags)
            self._adopt(obj._mbuf, obj._base, obj._layout, obj._format, obj._text, obj._readonly)
            return
        try:
            mbuf = ManagedBuffer(obj, flags)
        except ExporterError as error:
            raise error.original from error.original.__cause__  # as memoryview(obj) does
        try:
            layout, text = _master(mbuf.info)
        except BaseException:
            mbuf.release()
            raise
        fmt = _parse_format(text, layout.itemsize)
        self._adopt(mbuf, mbuf.info.buf or 0, layout, fmt, text, mbuf.info.readonly)

    def _adopt(
        self,
        mbuf: ManagedBuffer,
        base: int,
        layout: Layout,
        fmt: Format | None,
        text: str,
        readonly: bool,
        registration: Registration | None = None,
    ) -> None:
        """Set every field of a new view; it registers on ``mbuf`` unless given
        the ``registration`` of the view it comes from."""
        self._registration = Registration(mbuf) if registration is None else registration
        self._mbuf = mbuf
        self._base = base
        self._layout = layout
        self._ndim = len(layout.shape)
        self._format = fmt
        self._text = text
        self._readonly = readonly
        self._reader = self._slicings = None
        self._released = False

    def _sub(self, layout: Layout, base: int) -> MemoryView:
        """A sub-view: this view's managed buffer, format, mode and registration,
        another layout."""
        registration = self._registration  # held from here: the exporter stays
        if registration is None:  # released by another thread since the check
            raise ValueError(_RELEASED)
        view = _new_object(MemoryView)
        view._adopt(
            self._mbuf, base, layout, self._format, self._text, self._readonly, registration
        )
        return view

    def _derive(
        self,
        layout: Layout,
        base: int | None = None,
        fmt: Format | None = None,
        text: str | None = None,
        readonly: bool | None = None,
    ) -> MemoryView:
        """A view sharing this view's managed buffer, with another layout or format."""
        view = _new_object(MemoryView)
        view._adopt(
            self._mbuf,
            self._base if base is None else base,
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
        if size < 0:
            raise ValueError(f"size must be >= 0, not {size}")
        if not 0 < address < 2 ** (8 * _capi.POINTER_SIZE):
            raise ValueError(f"invalid address: {address:#x}")
        raw = _capi.memoryview_from_memory(address, size, readonly=readonly)
        flags = BufferFlags.FULL_RO if readonly else BufferFlags.FULL
        view = object.__new__(cls)
        view._adopt(_RawMemory(raw, flags), address, Layout(1, (size,)), Format("B"), "B", readonly)
        if format == "B" and shape is None:
            return view
        try:
            return view.cast(format) if shape is None else view.cast(format, shape)
        finally:
            view.release()

    # --- state -------------------------------------------------------------------

    def _check(self) -> None:
        if self._released:
            raise ValueError(_RELEASED)

    def release(self) -> None:
        """Release this view; the exporter's buffer goes with the last view sharing it.

        Raises ``BufferError`` while buffers exported from this view are held.
        """
        if self._released:
            return
        if self._exports:
            plural = "" if self._exports == 1 else "s"
            raise BufferError(f"memoryview has {self._exports} exported buffer{plural}")
        self._released = True
        for helper in (self._reader, self._exact):
            if helper is not None:
                helper.release()
        self._reader = self._exact = self._slicings = None
        self._registration = None  # the last view to let go unregisters

    def __enter__(self) -> MemoryView:
        self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released memory" if self._released else "memory"
        return f"<{state} at {id(self):#x}>"

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("cannot pickle 'MemoryView' object")

    # --- builtin helpers ----------------------------------------------------------

    def _reader_view(self) -> memoryview | None:
        """The builtin memoryview that reads this view's values, if the builtin can."""
        reader = self._reader
        if reader is None and self._format is not None:
            code = self._format.native_equivalent
            if code is not None:
                if self._format.native is not None and self._exact is not None:
                    reader = self._exact  # its text is the code, or '@' and the code
                else:
                    reader = self._builtin(code)
                self._reader = reader
        return reader

    def _exact_view(self) -> memoryview:
        """A builtin memoryview of this view with the exact format text."""
        exact = self._exact
        if exact is None:
            fmt = self._format
            if fmt is not None and fmt.native == self._text:
                exact = self._reader_view()
            exact = exact if exact is not None else self._builtin(self._text)
            self._exact = exact
        return exact

    def _builtin(self, fmt: str) -> memoryview:
        return engine.builtin_view(
            self._base, self._layout, fmt, readonly=self._readonly, keepalive=self._mbuf
        )

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

    # --- attributes ---------------------------------------------------------------

    @property
    def obj(self) -> object:
        """The exporter (``None`` for ``from_memory`` views)."""
        self._check()
        return None if type(self._mbuf) is _RawMemory else self._mbuf.info.obj

    @property
    def nbytes(self) -> int:
        self._check()
        return self._layout.nbytes

    @property
    def readonly(self) -> bool:
        self._check()
        return self._readonly

    @property
    def itemsize(self) -> int:
        self._check()
        return self._layout.itemsize

    @property
    def format(self) -> str:
        self._check()
        return self._text

    @property
    def ndim(self) -> int:
        self._check()
        return self._ndim

    @property
    def shape(self) -> tuple[int, ...]:
        self._check()
        return self._layout.shape

    @property
    def strides(self) -> tuple[int, ...]:
        self._check()
        return self._layout.strides

    @property
    def suboffsets(self) -> tuple[int, ...]:
        self._check()
        return self._layout.suboffsets or ()

    def _contiguity(self) -> tuple[bool, bool]:
        """The builtin's C and Fortran flags (``init_flags`` in ``memoryobject.c``)."""
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
        self._check()
        return self._contiguity()[0]

    @property
    def f_contiguous(self) -> bool:
        self._check()
        return self._contiguity()[1]

    @property
    def contiguous(self) -> bool:
        self._check()
        return any(self._contiguity())

    @property
    def layout(self) -> Layout:
        """This view's ``Layout`` (relative to the address its elements start from)."""
        self._check()
        return self._layout

    # --- length, iteration, lookup -----------------------------------------------------

    def __len__(self) -> int:
        self._check()
        if not self._ndim:
            raise TypeError("0-dim memory has no length")
        return self._layout.shape[0]

    def __iter__(self) -> Iterator[Any]:
        self._check()
        if not self._ndim:
            raise TypeError("invalid indexing of 0-dim memory")
        if self._ndim == 1:
            reader = self._reader_view()
            if reader is not None:
                # zip holds this view, so the memory outlives the iterator.
                return map(_first, zip(reader, repeat(self)))
            self._values_format()
            # Other formats: unpacked a run of items at a time (one bulk read each).
            starts = range(0, self._layout.shape[0], _ITER_CHUNK)
            return chain.from_iterable(map(self._run_of_items, starts))
        return map(self.__getitem__, range(self._layout.shape[0]))

    def _run_of_items(self, start: int) -> list[Any]:
        """The items ``start`` to ``start + _ITER_CHUNK`` of a 1-D view."""
        self._check()
        run = self._layout.resolve(slice(start, start + _ITER_CHUNK)).layout
        return engine.tolist(self._base, run, self._values_format())  # type: ignore[no-any-return]

    def __contains__(self, value: object) -> bool:
        self._check()
        if self._ndim == 1:
            return value in self._item_list()
        return any(item == value for item in self)

    def _item_list(self) -> list[Any]:
        """The items of a 1-D view."""
        items: list[Any] = self.tolist()
        return items

    def count(self, value: object) -> int:
        """How many items (sub-views for ndim > 1) equal ``value``."""
        self._check()
        if not self._ndim:
            raise TypeError("invalid lookup on 0-dim memory")
        if self._ndim == 1:
            return self._item_list().count(value)
        return sum(1 for item in self if item == value)

    def index(self, value: object, start: int = 0, stop: int = sys.maxsize) -> int:
        """The first index in ``[start, stop)`` whose item equals ``value``."""
        self._check()
        if not self._ndim:
            raise TypeError("invalid lookup on 0-dim memory")
        first, last, _ = slice(start, stop).indices(self._layout.shape[0])
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
        kind = type(key)
        if kind is tuple:
            reader = self._reader
            if reader is not None and len(key) == self._ndim and key and type(key[0]) is int:
                try:
                    return reader[key]
                except (TypeError, NotImplementedError):
                    pass  # a slice among the ints: a sub-view
            slicings = self._slicings
            if slicings is not None:
                try:
                    known = slicings.get(key)
                    if known is not None:
                        for part in key:  # equal to a remembered slice; is it an index?
                            _NO_ITEMS[part]  # (slice(1.0, 2) == slice(1, 2), but raises)
                except Exception:
                    known = None  # the full path below raises the right error
                registration = self._registration  # None once released
                if known is not None and registration is not None:
                    # self._sub(known, self._base), written out (a call costs ~35 ns)
                    view = _new_object(MemoryView)
                    view._registration = registration
                    view._mbuf = self._mbuf
                    view._base = self._base
                    view._layout = known
                    view._ndim = len(known.shape)
                    view._format = self._format
                    view._text = self._text
                    view._readonly = self._readonly
                    view._reader = view._slicings = None
                    view._released = False
                    return view
        elif kind is int:
            reader = self._reader
            if reader is not None and self._ndim == 1:
                return reader[key]
        return self._subscript(key)

    def _remember_slicing(self, key: Any, layout: Layout) -> None:
        """Keep the layout a tuple of plain slices gave, under the key itself.

        Only slices of ints and None are remembered. A later key matches by
        ``==`` (dict semantics); ``__getitem__`` then has the builtin check that
        each of its slices is made of indexes, so ``slice(1.0, 2)`` -- equal to
        ``slice(1, 2)`` -- still raises, while ``slice(numpy.int64(1), 2)``
        and ``slice(True, 2)`` get the layout of the equal key.
        """
        if type(key) is not tuple or not all(map(_is_plain_slice, key)):
            return
        slicings = self._slicings
        if slicings is None or len(slicings) >= _MAX_SLICINGS:
            slicings = self._slicings = {}
        slicings[key] = layout

    def _follow(self, hops: tuple[int, ...]) -> int:
        """The address the pointer hops of a selection lead to from this view's base."""
        base = self._base
        for hop in hops:
            base = _capi.read_pointer(base + hop)
        return base

    def _subscript(self, key: Any) -> Any:
        self._check()
        selection = self._layout.resolve(key)
        base = self._follow(selection.hops)
        if not selection.element:
            if not selection.hops:
                self._remember_slicing(key, selection.layout)
            return self._sub(selection.layout, base)
        fmt = self._values_format()
        reader = self._reader_view()
        if reader is not None:
            return reader[key]
        return engine.read_item(base + selection.layout.offset, fmt)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check()
        if self._readonly:
            raise TypeError("cannot modify read-only memory")
        if key is Ellipsis and not self._ndim:
            key = ()  # the builtin's rule: v[...] = x stores the item of a 0-d view
        elif type(key) is slice and not _is_exporter(value):
            raise _not_an_exporter(value)  # the builtin asks before it reads the slice
        selection = self._layout.resolve(key)
        base = self._follow(selection.hops)
        if not selection.element:
            self._assign(base, selection.layout, value)
            return
        fmt = self._writable_format()
        reader = self._reader_view()
        if reader is not None:
            reader[key] = value
            return
        try:
            engine.write_item(base + selection.layout.offset, fmt, value)
        except struct.error as error:
            message = f"memoryview: invalid value for format {self._text!r}: {error}"
            raise ValueError(message) from None

    def __delitem__(self, key: Any) -> None:
        self._check()
        if self._readonly:
            raise TypeError("cannot modify read-only memory")
        raise TypeError("cannot delete memory")

    def _assign(self, base: int, layout: Layout, value: Any) -> None:
        """Copy the elements of the exporter ``value`` onto ``layout`` at ``base``."""
        if not _is_exporter(value):
            raise _not_an_exporter(value)
        source = value if isinstance(value, MemoryView) else MemoryView(value)
        try:
            source._check()
            if not _same_shape(layout.shape, source._layout.shape) or not self._same_format(source):
                raise ValueError(_DIFFERENT_STRUCTURES)
            if self._format is not None and not self._format.writable:
                self._writable_format()
            engine.copy(base, layout, source._base, source._layout)
        finally:
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
        self._check()
        fmt = self._values_format()
        reader = self._reader_view()
        if reader is not None:
            return reader.tolist()
        return engine.tolist(self._base, self._layout, fmt)

    def tobytes(self, order: str | None = "C") -> bytes:
        """The bytes of the items in ``'C'``, ``'F'`` or ``'A'`` order."""
        self._check()
        if order is not None and not isinstance(order, str):
            raise TypeError(
                f"tobytes() argument 'order' must be str or None, not {type(order).__name__}"
            )
        return engine.gather(self._base, self._layout, "C" if order is None else order)

    def hex(self, *args: Any, **kwargs: Any) -> str:
        """``bytes.hex`` of ``tobytes()`` (same ``sep`` and ``bytes_per_sep``)."""
        return self.tobytes().hex(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        if self._released:
            return self is other
        if isinstance(other, MemoryView):
            return self is other if other._released else self._equal(other)
        if not _is_exporter(other):
            return NotImplemented
        try:
            theirs = MemoryView(other)
        except (BufferError, TypeError, ValueError):
            return NotImplemented
        try:
            return self._equal(theirs)
        finally:
            theirs.release()

    def _equal(self, other: MemoryView) -> bool:
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
        if self._hash is None:
            self._check()
            if not self._readonly:
                raise ValueError("cannot hash writable memoryview object")
            if self._format is None or self._format.native not in ("B", "b", "c"):
                raise ValueError("memoryview: hashing is restricted to formats 'B', 'b' or 'c'")
            if type(self._mbuf) is not _RawMemory:
                hash(self._mbuf.owner)  # the builtin's rule: an unhashable exporter refuses
            self._hash = hash(self.tobytes())
        return self._hash

    # --- new views ------------------------------------------------------------------

    def cast(self, format: str, shape: Sequence[int] | _NoShape = _NO_SHAPE) -> MemoryView:
        """The same bytes seen with another format (any two formats) and shape.

        As the builtin's: ``shape`` must be a list or a tuple when given.
        """
        self._check()
        if not isinstance(format, str):
            raise TypeError(f"cast() argument 'format' must be str, not {type(format).__name__}")
        dims: Sequence[int] | None = None
        if not isinstance(shape, _NoShape):
            if not isinstance(shape, (list, tuple)):
                raise TypeError("shape must be a list or a tuple")
            dims = shape
        self._layout.check_cast(dims)
        fmt = Format(format)
        if fmt.itemsize == 0:
            raise ValueError(f"memoryview: cannot cast to format {format!r} of itemsize 0")
        layout = self._layout.cast(fmt.itemsize, dims)
        return self._derive(layout, fmt=fmt, text=format)

    def toreadonly(self) -> MemoryView:
        """A read-only view of the same memory."""
        self._check()
        return self._derive(self._layout, readonly=True)

    def transpose(self, *axes: Any) -> MemoryView:
        """The view with its dimensions permuted (reversed without ``axes``), as NumPy's."""
        self._check()
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return self._derive(self._layout.transpose(axes or None))

    @property
    def T(self) -> MemoryView:
        """The view with its dimensions reversed."""
        return self.transpose()

    # --- export (PEP 688) -----------------------------------------------------------

    def _check_request(self, flags: int) -> None:
        """Refuse ``flags`` exactly as the builtin memoryview's getbuffer would."""
        c_contiguous, f_contiguous = self._contiguity()
        rule = refusal(
            flags,
            readonly=self._readonly,
            c_contiguous=c_contiguous,
            f_contiguous=f_contiguous,
            indirect=self._layout.suboffsets is not None,
        )
        if rule is not None:
            raise BufferError(_REFUSALS[rule])

    def __buffer__(self, flags: int) -> memoryview:
        self._check()
        self._check_request(flags)
        exported = memoryview(self._exact_view())
        self._exports += 1
        self._mbuf.register_export()
        return exported

    def __release_buffer__(self, view: memoryview) -> None:
        view.release()
        self._exports -= 1
        self._mbuf.unregister_export()


def _is_plain_slice(part: object) -> bool:
    """A slice whose start, stop and step are each an ``int`` or None."""
    if type(part) is not slice:
        return False
    return all(bound is None or type(bound) is int for bound in (part.start, part.stop, part.step))


def _not_an_exporter(value: object) -> TypeError:
    return TypeError(f"a bytes-like object is required, not '{type(value).__name__}'")


def _is_exporter(value: object) -> bool:
    """True for objects that export buffers (every exporter type has ``__buffer__``)."""
    return hasattr(type(value), "__buffer__")
