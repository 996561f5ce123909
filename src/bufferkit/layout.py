"""The layout algebra of PEP 3118: pure arithmetic, no memory access.

A ``Layout`` says where the elements of an N-dimensional array sit relative to
the start of a buffer. The address of the element at ``index`` is PEP 3118's
``get_item_pointer``::

    p = start + offset
    for each dim j:
        p += strides[j] * index[j]
        if suboffsets is not None and suboffsets[j] >= 0:
            p = *(char **)p + suboffsets[j]

Invariants:
- A ``Layout`` is immutable and hashable; equality is by value. ``shape``,
  ``strides`` and ``suboffsets`` are tuples of ints of length ``ndim``;
  ``suboffsets`` is ``None`` or kept exactly as given (even all negative: CPython
  treats the mere presence of suboffsets as "not contiguous").
- The public constructor validates; ``Layout._make`` trusts its arguments (hot paths).
- Nothing in this module reads or writes memory. ``verify`` is the gate every
  upper layer passes before it touches memory: it proves that every byte a direct
  layout reaches (for indirect layouts: every pointer of the first level, the
  only level knowable without reading memory) lies inside the buffer, and that
  every number fits in a C ``Py_ssize_t``.
- Contiguity is exactly CPython's ``PyBuffer_IsContiguous``: suboffsets present
  -> never contiguous; no elements -> contiguous; dimensions of length <= 1
  ignore their stride. (The builtin memoryview's own ``c_contiguous`` for
  ndim == 1 follows ``MV_CONTIGUOUS_NDIM1`` instead: ``shape[0] == 1 or
  strides[0] == itemsize``, which differs for empty views with odd strides;
  ``cast`` follows the builtin since it mirrors ``memoryview.cast``.)
- ``resolve`` follows NumPy's indexing rules and the builtin memoryview's error
  types and messages; suboffsets are moved exactly as ``memoryobject.c``'s
  ``init_slice`` does, and an index on an indirect dimension becomes a pointer
  hop (``Selection.hops``) or moves the suboffset one dimension up.
"""

from __future__ import annotations

import operator
from collections import namedtuple
from collections.abc import Sequence

from ._capi import MAX_NDIM, POINTER_SIZE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

__all__ = [
    "Layout",
    "Selection",
    "c_strides",
    "equivalent_shapes",
    "f_strides",
    "wrong_index_count",
]

_SSIZE_MAX: int = 2 ** (8 * POINTER_SIZE - 1) - 1
_SSIZE_MIN = -_SSIZE_MAX - 1
_INVALID_KEY = "memoryview: invalid slice key"
_ZERO_DIM = "invalid indexing of 0-dim memory"
_NOT_C_CONTIGUOUS = "memoryview: casts are restricted to C-contiguous views"


def c_strides(shape: Sequence[int], itemsize: int) -> tuple[int, ...]:
    """Strides of a C-contiguous (row-major) array; zero lengths are not clamped."""
    strides = [0] * len(shape)
    step = itemsize
    for dim in range(len(shape) - 1, -1, -1):
        strides[dim] = step
        step *= shape[dim]
    return tuple(strides)


def f_strides(shape: Sequence[int], itemsize: int) -> tuple[int, ...]:
    """Strides of a Fortran-contiguous (column-major) array."""
    strides = [0] * len(shape)
    step = itemsize
    for dim in range(len(shape)):
        strides[dim] = step
        step *= shape[dim]
    return tuple(strides)


def equivalent_shapes(a: Sequence[int], b: Sequence[int]) -> bool:
    """The builtin's ``equiv_shape`` entry by entry: equal up to and including the
    first zero length (nothing lies beyond it). Callers compare ``ndim`` themselves."""
    for x, y in zip(a, b, strict=False):
        if x != y:
            return False
        if x == 0:
            break
    return True


def _is_contiguous(itemsize: int, shape: Sequence[int], strides: Sequence[int]) -> bool:
    """PyBuffer_IsContiguous for direct layouts, dims taken in the order given."""
    if 0 in shape:
        return True
    expected = itemsize
    for length, stride in zip(reversed(shape), reversed(strides), strict=True):
        if length > 1 and stride != expected:
            return False
        expected *= length
    return True


def _index(value: object, what: str) -> int:
    """``operator.index(value)`` with a TypeError naming ``what``."""
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {value!r}") from None


def _int_tuple(values: Sequence[int], what: str) -> tuple[int, ...]:
    return tuple(_index(value, what) for value in values)


def _check_ssize(value: int, what: str) -> None:
    if not _SSIZE_MIN <= value <= _SSIZE_MAX:
        raise ValueError(f"{what} {value} does not fit in Py_ssize_t")


def _c_product(stride: int, step: int) -> int:
    """``stride * step`` as the builtin computes a sliced stride in C.

    The step is clamped to ``[-PY_SSIZE_T_MAX, PY_SSIZE_T_MAX]`` (``PySlice_Unpack``)
    and the product wraps around in a ``Py_ssize_t``. Only a dimension of length
    <= 1 can get a product that does not fit, and its stride is never used.
    """
    step = max(-_SSIZE_MAX, min(step, _SSIZE_MAX))
    return (stride * step - _SSIZE_MIN) % (2 * (_SSIZE_MAX + 1)) + _SSIZE_MIN


def _slice_length(start: int, stop: int, step: int) -> int:
    """Number of indices of ``range(start, stop, step)`` (already clamped)."""
    if step > 0:
        return (stop - start - 1) // step + 1 if stop > start else 0
    return (start - stop - 1) // -step + 1 if start > stop else 0


def wrong_index_count(ndim: int, count: int) -> TypeError:
    """The builtin's error for a tuple of ``count`` indexes on an ``ndim``-D view
    where it needs another number (more than ``ndim``; for an element, exactly)."""
    return TypeError(f"cannot index {ndim}-dimension view with {count}-element tuple")


class _LayoutSlots:
    __slots__ = ("itemsize", "offset", "shape", "strides", "suboffsets")
    itemsize: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    suboffsets: tuple[int, ...] | None
    offset: int


class _Unfrozen(_LayoutSlots):
    """A ``Layout`` under construction: same memory layout, plain attribute setting."""

    __slots__ = ()


_new_object = object.__new__


def _new_layout(
    itemsize: int,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    suboffsets: tuple[int, ...] | None,
    offset: int,
) -> Layout:
    """Build a ``Layout`` without validation (the hot path).

    Fields are set on an ``_Unfrozen`` twin whose class is then switched to the
    frozen ``Layout``: cheaper than ``object.__setattr__`` five times.
    """
    self = _new_object(_Unfrozen)
    self.itemsize = itemsize
    self.shape = shape
    self.strides = strides
    self.suboffsets = suboffsets
    self.offset = offset
    self.__class__ = Layout  # type: ignore[assignment]
    return self  # type: ignore[return-value]


if TYPE_CHECKING:

    class _SelectionFields(NamedTuple):
        layout: Layout
        hops: tuple[int, ...]
        element: bool
else:
    _SelectionFields = namedtuple("_SelectionFields", "layout hops element")


class Selection(_SelectionFields):
    """The result of ``Layout.resolve``.

    Start at the view's base address ``a``; for each ``h`` in ``hops`` do
    ``a = read_pointer(a + h)``; then ``layout`` applies relative to ``a``.
    ``element`` is True iff every dimension got an integer: ``layout`` is then
    0-d and its offset locates the element.
    """

    __slots__ = ()


_new_tuple = tuple.__new__


def _selection(layout: Layout, hops: tuple[int, ...], element: bool) -> Selection:
    return _new_tuple(Selection, (layout, hops, element))


class Layout(_LayoutSlots):
    """Where the elements of an N-d array sit relative to a buffer start.

    ``Layout(itemsize, shape, strides=None, suboffsets=None, offset=0)``;
    ``strides=None`` means C strides.
    """

    __slots__ = ()

    def __new__(
        cls,
        itemsize: int,
        shape: Sequence[int],
        strides: Sequence[int] | None = None,
        suboffsets: Sequence[int] | None = None,
        offset: int = 0,
    ) -> Layout:
        itemsize = _index(itemsize, "itemsize")
        if itemsize < 1:
            raise ValueError(f"itemsize must be >= 1, not {itemsize}")
        shape_t = _int_tuple(shape, "shape entry")
        ndim = len(shape_t)
        if ndim > MAX_NDIM:
            raise ValueError(f"ndim {ndim} exceeds the maximum of {MAX_NDIM}")
        for length in shape_t:
            if length < 0:
                raise ValueError(f"shape entries must be >= 0, not {length} in {shape_t}")
        if strides is None:
            strides_t = c_strides(shape_t, itemsize)
        else:
            strides_t = _int_tuple(strides, "stride")
            if len(strides_t) != ndim:
                raise ValueError(f"strides {strides_t} do not match the ndim {ndim} of {shape_t}")
        suboffsets_t = None
        if suboffsets is not None:
            suboffsets_t = _int_tuple(suboffsets, "suboffset")
            if len(suboffsets_t) != ndim:
                raise ValueError(
                    f"suboffsets {suboffsets_t} do not match the ndim {ndim} of {shape_t}"
                )
        return _new_layout(itemsize, shape_t, strides_t, suboffsets_t, _index(offset, "offset"))

    _make = staticmethod(_new_layout)

    @classmethod
    def c(cls, shape: Sequence[int], itemsize: int, offset: int = 0) -> Layout:
        """A C-contiguous layout."""
        return cls(itemsize, shape, None, None, offset)

    @classmethod
    def fortran(cls, shape: Sequence[int], itemsize: int, offset: int = 0) -> Layout:
        """A Fortran-contiguous layout."""
        layout = cls(itemsize, shape, None, None, offset)
        return _new_layout(layout.itemsize, layout.shape, f_strides(layout.shape, itemsize),
                           None, layout.offset)  # fmt: skip

    # -- value semantics -------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Layout is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Layout is immutable: cannot delete {name!r}")

    def _key(self) -> tuple[Any, ...]:
        return (self.itemsize, self.shape, self.strides, self.suboffsets, self.offset)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layout):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_new_layout, self._key())

    def __repr__(self) -> str:
        text = f"Layout(itemsize={self.itemsize}, shape={self.shape}, strides={self.strides}"
        if self.suboffsets is not None:
            text += f", suboffsets={self.suboffsets}"
        return text + f", offset={self.offset})"

    # -- simple properties -----------------------------------------------------

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nitems(self) -> int:
        count = 1
        for length in self.shape:
            count *= length
        return count

    @property
    def nbytes(self) -> int:
        return self.nitems * self.itemsize

    @property
    def is_indirect(self) -> bool:
        """True if some suboffset is >= 0 (a pointer is followed somewhere)."""
        return self.suboffsets is not None and any(s >= 0 for s in self.suboffsets)

    # -- contiguity (PyBuffer_IsContiguous) ----------------------------------

    def is_c_contiguous(self) -> bool:
        if self.suboffsets is not None:
            return False
        return _is_contiguous(self.itemsize, self.shape, self.strides)

    def is_f_contiguous(self) -> bool:
        if self.suboffsets is not None:
            return False
        return _is_contiguous(self.itemsize, self.shape[::-1], self.strides[::-1])

    def is_contiguous(self) -> bool:
        """C or Fortran contiguous (PyBuffer_IsContiguous with order 'A')."""
        return self.is_c_contiguous() or self.is_f_contiguous()

    # -- bounds ----------------------------------------------------------------

    def _first_level(self) -> tuple[int, int]:
        """(number of dims up to and including the first indirect one, bytes each touches)."""
        if self.suboffsets is not None:
            for dim, suboffset in enumerate(self.suboffsets):
                if suboffset >= 0:
                    return dim + 1, POINTER_SIZE
        return len(self.shape), self.itemsize

    def extent(self) -> tuple[int, int]:
        """(lowest byte, one past the highest byte) an element can touch, offset included.

        No elements -> ``(offset, offset)``. For an indirect layout only the first
        level is knowable: the dimensions up to and including the first indirect
        one, each element of which is a ``POINTER_SIZE`` pointer.
        """
        if 0 in self.shape:
            return self.offset, self.offset
        ndims, size = self._first_level()
        lo = hi = self.offset
        for length, stride in zip(self.shape[:ndims], self.strides[:ndims], strict=True):
            reach = stride * (length - 1)
            if reach < 0:
                lo += reach
            else:
                hi += reach
        return lo, hi + size

    def verify(self, buffer_length: int, require_aligned_strides: bool = False) -> None:
        """Raise ValueError unless every reachable byte lies in ``[0, buffer_length)``.

        Also demands that every shape entry, stride, suboffset, the offset, the
        extent and ``nbytes`` fit in a C ``Py_ssize_t``; with
        ``require_aligned_strides`` every stride must be a multiple of itemsize
        (``_testbuffer``'s extra rule). Indirect layouts: only the first level
        (see ``extent``) can be checked here.
        """
        _check_ssize(buffer_length, "buffer length")
        if buffer_length < 0:
            raise ValueError(f"buffer length {buffer_length} is negative")
        _check_ssize(self.itemsize, "itemsize")
        for length in self.shape:
            _check_ssize(length, "shape entry")
        for stride in self.strides:
            _check_ssize(stride, "stride")
            if require_aligned_strides and stride % self.itemsize:
                raise ValueError(f"stride {stride} is not a multiple of itemsize {self.itemsize}")
        for suboffset in self.suboffsets or ():
            _check_ssize(suboffset, "suboffset")
        _check_ssize(self.offset, "offset")
        _check_ssize(self.nbytes, "nbytes")
        lo, hi = self.extent()
        _check_ssize(lo, "extent start")
        _check_ssize(hi, "extent end")
        if lo < hi and (lo < 0 or hi > buffer_length):
            raise ValueError(
                f"layout reaches bytes {lo}..{hi} (end exclusive) of a {buffer_length}-byte buffer"
            )

    def element_offset(self, indices: Sequence[int]) -> int:
        """Byte offset of the element at ``indices`` (each in range) of a direct layout."""
        if self.is_indirect:
            raise ValueError(f"element_offset needs a direct layout, not {self!r}")
        if len(indices) != len(self.shape):
            raise wrong_index_count(len(self.shape), len(indices))
        offset = self.offset
        for dim, (index, length, stride) in enumerate(
            zip(indices, self.shape, self.strides, strict=True)
        ):
            if not 0 <= index < length:
                raise IndexError(f"index out of bounds on dimension {dim + 1}")
            offset += index * stride
        return offset

    # -- indexing ----------------------------------------------------------------

    def resolve(self, key: Any) -> Selection:
        """Index/slice with NumPy's rules: ints, slices, one Ellipsis, or a tuple of them.

        Where NumPy and the builtin memoryview differ, the builtin wins: an empty
        slice keeps its start and step (NumPy resets them to 0 and 1); a 0-d layout
        accepts only ``()`` (-> element) and ``...``; too many indices raise
        TypeError. A 0-d result, or one left with no indirect dim after a hop,
        has ``suboffsets=None``.

        The body is the hot path (a direct layout, plain ints and slices), written
        out inline; anything unusual or wrong goes to ``_resolve_general``, which
        also owns the order of the error checks.
        """
        shape = self.shape
        if self.suboffsets is not None or not shape:
            return self._resolve_general(key)
        strides = self.strides
        kind = type(key)
        if kind is int:
            length = shape[0]
            index = key + length if key < 0 else key
            if not 0 <= index < length:
                return self._resolve_general(key)
            layout = _new_object(_Unfrozen)
            layout.itemsize = self.itemsize
            layout.shape = shape[1:]
            layout.strides = strides[1:]
            layout.suboffsets = None
            layout.offset = self.offset + index * strides[0]
            layout.__class__ = Layout  # type: ignore[assignment]
            return _new_tuple(Selection, (layout, (), len(shape) == 1))
        if kind is slice:
            key = (key,)
        elif kind is not tuple or len(key) > len(shape):
            return self._resolve_general(key)
        offset = self.offset
        new_shape: list[int] = []
        new_strides: list[int] = []
        dim = 0
        try:
            for entry in key:
                kind = type(entry)
                if kind is int:
                    length = shape[dim]
                    index = entry + length if entry < 0 else entry
                    if not 0 <= index < length:
                        return self._resolve_general(key)
                    offset += index * strides[dim]
                elif kind is slice:
                    start, stop, step = entry.indices(shape[dim])
                    stride = strides[dim]
                    offset += start * stride
                    if step > 0:
                        new_shape.append((stop - start - 1) // step + 1 if stop > start else 0)
                    else:
                        new_shape.append((start - stop - 1) // -step + 1 if start > stop else 0)
                    stride *= step
                    if not _SSIZE_MIN <= stride <= _SSIZE_MAX:
                        stride = _c_product(strides[dim], step)
                    new_strides.append(stride)
                else:
                    return self._resolve_general(key)
                dim += 1
        except (TypeError, ValueError):
            return self._resolve_general(key)
        element = dim == len(shape) and not new_shape
        if dim < len(shape):
            new_shape += shape[dim:]
            new_strides += strides[dim:]
        layout = _new_object(_Unfrozen)
        layout.itemsize = self.itemsize
        layout.shape = tuple(new_shape)
        sliced_strides = tuple(new_strides)
        layout.strides = strides if sliced_strides == strides else sliced_strides  # (shared)
        layout.suboffsets = None
        layout.offset = offset
        layout.__class__ = Layout  # type: ignore[assignment]
        return _new_tuple(Selection, (layout, (), element))

    def _normalize_key(self, key: Any) -> tuple[list[int | slice], bool]:
        """Validate a key into one int or slice per dimension; also "all ints"."""
        ndim = len(self.shape)
        entries = key if type(key) is tuple else (key,)
        normalized: list[int | slice | None] = []
        ellipses = 0
        for entry in entries:
            if entry is Ellipsis:
                ellipses += 1
                normalized.append(None)
            elif isinstance(entry, slice):
                normalized.append(entry)
            else:
                try:
                    normalized.append(operator.index(entry))
                except TypeError:
                    raise TypeError(_INVALID_KEY) from None
        if ellipses > 1:
            raise TypeError("an index can only have a single ellipsis ('...')")
        given = len(normalized) - ellipses
        if given > ndim:
            if ndim and type(key) is tuple and all(isinstance(e, slice) for e in entries):
                # (a tuple of slices only: the builtin's NotImplementedError)
                raise NotImplementedError(
                    f"cannot slice {ndim}-dimension view with {len(entries)} slices"
                )
            raise wrong_index_count(ndim, len(entries))
        all_ints = (
            ellipses == 0
            and given == ndim
            and not any(isinstance(entry, slice) for entry in normalized)
        )
        fill: list[int | slice | None] = [slice(None)] * (ndim - given)
        if ellipses:
            at = normalized.index(None)
            normalized[at : at + 1] = fill
        else:
            normalized.extend(fill)
        return normalized, all_ints  # type: ignore[return-value]

    def _resolve_general(self, key: Any) -> Selection:
        """Every key on every layout, suboffsets included; all error checks in order."""
        if not self.shape:
            if key is Ellipsis or (type(key) is tuple and len(key) == 1 and key[0] is Ellipsis):
                return _selection(self, (), False)
            if type(key) is tuple and not key:
                return _selection(self, (), True)
            raise TypeError(_ZERO_DIM)
        entries, all_ints = self._normalize_key(key)
        suboffsets = self.suboffsets
        offset = self.offset
        hops: list[int] = []
        out_shape: list[int] = []
        out_strides: list[int] = []
        out_sub: list[int] = []
        last_indirect = -1  # position in out_* of the nearest indirect output dim

        def add_constant(value: int) -> None:
            nonlocal offset
            if last_indirect >= 0:
                out_sub[last_indirect] += value
                if out_sub[last_indirect] < 0:
                    raise NotImplementedError(
                        f"suboffset of dimension {last_indirect + 1} would become "
                        f"{out_sub[last_indirect]}; a negative suboffset means 'direct'"
                    )
            else:
                offset += value

        for dim, entry in enumerate(entries):
            length = self.shape[dim]
            stride = self.strides[dim]
            suboffset = -1 if suboffsets is None else suboffsets[dim]
            if isinstance(entry, slice):
                start, stop, step = entry.indices(length)
                add_constant(start * stride)
                if suboffset >= 0:
                    last_indirect = len(out_shape)
                out_shape.append(_slice_length(start, stop, step))
                out_strides.append(_c_product(stride, step))
                out_sub.append(suboffset)
                continue
            index = entry + length if entry < 0 else entry
            if not 0 <= index < length:
                if not _SSIZE_MIN <= entry <= _SSIZE_MAX:
                    raise IndexError("cannot fit 'int' into an index-sized integer")
                raise IndexError(f"index out of bounds on dimension {dim + 1}")
            if suboffset < 0:
                add_constant(index * stride)
            elif not out_shape:
                hops.append(offset + index * stride)
                offset = suboffset
            elif out_sub[-1] < 0:
                add_constant(index * stride)
                out_sub[-1] = suboffset
                last_indirect = len(out_sub) - 1
            else:
                raise NotImplementedError(
                    f"index {entry} on indirect dimension {dim + 1} directly after another "
                    "indirect dimension needs two pointer hops per element: not representable"
                )
        new_sub: tuple[int, ...] | None = None
        if suboffsets is not None and out_shape:
            new_sub = tuple(out_sub)
            if hops and last_indirect < 0:
                new_sub = None
        layout = _new_layout(self.itemsize, tuple(out_shape), tuple(out_strides), new_sub, offset)
        return _selection(layout, tuple(hops), all_ints)

    # -- reshaping -------------------------------------------------------------

    def _deref_groups(self) -> list[range]:
        """Runs of dims ending at an indirect dim, plus the trailing direct run."""
        groups = []
        start = 0
        for dim, suboffset in enumerate(self.suboffsets or ()):
            if suboffset >= 0:
                groups.append(range(start, dim + 1))
                start = dim + 1
        groups.append(range(start, len(self.shape)))
        return groups

    def transpose(self, axes: Sequence[int] | None = None) -> Layout:
        """Permute the dimensions (``None`` reverses them), like NumPy's ``transpose``.

        Indirect layouts: only permutations that map each deref group onto itself
        are representable; the suboffsets stay where they are.
        """
        ndim = len(self.shape)
        if axes is None:
            order = tuple(range(ndim - 1, -1, -1))
        else:
            order = tuple(_index(axis, "axis") for axis in axes)
            order = tuple(axis + ndim if axis < 0 else axis for axis in order)
            if sorted(order) != list(range(ndim)):
                raise ValueError(f"axes {tuple(axes)} are not a permutation of range({ndim})")
        if self.is_indirect:
            for group in self._deref_groups():
                if sorted(order[group.start : group.stop]) != list(group):
                    raise NotImplementedError(
                        f"axes {order} move dimensions across the pointer level ending at "
                        f"dimension {group.stop}: a pointer hop cannot move"
                    )
        return _new_layout(
            self.itemsize,
            tuple(self.shape[axis] for axis in order),
            tuple(self.strides[axis] for axis in order),
            self.suboffsets,
            self.offset,
        )

    def _memoryview_c_contiguous(self) -> bool:
        """The builtin memoryview's C flag (``MV_CONTIGUOUS_NDIM1`` for ndim 1)."""
        if self.suboffsets is not None:
            return False
        if len(self.shape) == 1:
            return self.shape[0] == 1 or self.strides[0] == self.itemsize
        return self.is_c_contiguous()

    def check_cast(self, shape: Sequence[int] | None = None) -> None:
        """The checks of ``memoryview.cast`` that come before its format's (same errors)."""
        if not self._memoryview_c_contiguous():
            raise TypeError(_NOT_C_CONTIGUOUS)
        if (shape is not None or len(self.shape) != 1) and 0 in self.shape:
            raise TypeError("memoryview: cannot cast view with zeros in shape or strides")
        if shape is not None:
            if len(shape) > MAX_NDIM:
                raise ValueError(f"memoryview: number of dimensions must not exceed {MAX_NDIM}")
            if len(self.shape) != 1 and len(shape) != 1:
                raise TypeError("memoryview: cast must be 1D -> ND or ND -> 1D")

    def cast(self, itemsize: int, shape: Sequence[int] | None = None) -> Layout:
        """The layout of ``memoryview.cast`` to items of ``itemsize`` (and ``shape``)."""
        self.check_cast(shape)
        nbytes = self.nbytes
        if nbytes % itemsize:
            raise TypeError("memoryview: length is not a multiple of itemsize")
        if shape is None:
            return _new_layout(itemsize, (nbytes // itemsize,), (itemsize,), None, self.offset)
        new_shape = []
        product = 1
        for length in shape:  # (the builtin's checks, in its order)
            if not isinstance(length, int):
                raise TypeError("memoryview.cast(): elements of shape must be integers")
            if not _SSIZE_MIN <= length <= _SSIZE_MAX:
                raise OverflowError("Python int too large to convert to C ssize_t")
            if length <= 0:
                raise ValueError("memoryview.cast(): elements of shape must be integers > 0")
            if length > _SSIZE_MAX // product:
                raise ValueError("memoryview.cast(): product(shape) > SSIZE_MAX")
            product *= length
            new_shape.append(length)
        if product * itemsize != nbytes:
            raise TypeError("memoryview: product(shape) * itemsize != buffer size")
        return _new_layout(
            itemsize, tuple(new_shape), c_strides(new_shape, itemsize), None, self.offset
        )

    def simplified(self) -> Layout:
        """An equivalent direct layout with the fewest dims, same bytes in the same C order.

        Length-1 dims are dropped and neighbours with ``stride[i] == shape[i+1] *
        stride[i+1]`` merged; no elements -> shape ``(0,)``. Raises ValueError for
        an indirect layout.
        """
        if self.is_indirect:
            raise ValueError(f"simplified() needs a direct layout, not {self!r}")
        if 0 in self.shape:
            return _new_layout(self.itemsize, (0,), (self.itemsize,), None, self.offset)
        shape: list[int] = []
        strides: list[int] = []
        for length, stride in zip(self.shape, self.strides, strict=True):
            if length == 1:
                continue
            if shape and strides[-1] == length * stride:
                shape[-1] *= length
                strides[-1] = stride
            else:
                shape.append(length)
                strides.append(stride)
        return _new_layout(self.itemsize, tuple(shape), tuple(strides), None, self.offset)
