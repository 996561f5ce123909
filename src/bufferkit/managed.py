"""Managed buffers: one getbuffer, exactly one release.

Invariants (the seed thread's ``PyManagedBufferObject``):
- A ``ManagedBuffer`` makes exactly one ``PyObject_GetBuffer`` call, in its
  constructor, and at most one ``PyBuffer_Release``: by ``release()``, by a
  ``with`` block, when its last registered view and last export are gone, or
  when it is garbage collected, whichever comes first.
- The master ``Py_buffer`` is never modified; ``info`` is an immutable snapshot
  of it taken right after the getbuffer.
- ``views`` counts the registrations of views on it; ``exports`` counts the
  buffers exported from those views and still held by consumers. While
  ``exports`` is non-zero the buffer cannot be released: consumers hold raw
  pointers into it; nor while ``views`` is: the views read it. The last view to
  go releases it.
- A ``Registration`` is counted in ``views`` from its creation until the last
  view holding it lets go of it -- by ``release()`` or by being collected. Views
  that share one (a view and its slices) need no finaliser of their own: the
  registration's ``__del__`` runs once, when reference counting frees it.
- Once released, ``info.buf`` must not be used: every user checks ``released``.
- A refused request raises ``BufferError`` (an exporter's other exceptions are
  converted, the original chained); a non-exporter raises ``TypeError``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

from . import _capi
from .flags import BufferFlags

__all__ = ["BufferInfo", "ExporterError", "ManagedBuffer", "Registration", "acquire"]


class ExporterError(BufferError):
    """A request the exporter refused with an exception other than ``BufferError``.

    ``original`` is that exception (also the ``__cause__``).
    """

    def __init__(self, message: str, original: Exception) -> None:
        super().__init__(message)
        self.original = original


@dataclass(frozen=True, slots=True)
class BufferInfo:
    """An immutable snapshot of one ``Py_buffer`` (``None`` where the field was NULL).

    ``obj`` is the real exporter: for a class exporting through ``__buffer__``
    it is that object, not CPython's internal ``_buffer_wrapper``.
    """

    obj: object
    buf: int | None
    len: int
    itemsize: int
    readonly: bool
    ndim: int
    format: str | None
    shape: tuple[int, ...] | None
    strides: tuple[int, ...] | None
    suboffsets: tuple[int, ...] | None
    internal: int | None

    @classmethod
    def from_raw(cls, raw: _capi.RawInfo) -> BufferInfo:
        """The snapshot of the fields ``raw`` read from a ``Py_buffer``."""
        return cls(
            obj=_capi.unwrap_exporter(raw.obj) if raw.obj is not None else None,
            buf=raw.buf,
            len=raw.len,
            itemsize=raw.itemsize,
            readonly=bool(raw.readonly),
            ndim=raw.ndim,
            format=raw.format,
            shape=raw.shape,
            strides=raw.strides,
            suboffsets=raw.suboffsets,
            internal=raw.internal,
        )


def _get_buffer(obj: object, flags: int) -> _capi.RawBuffer:
    """One getbuffer; an exporter's failure other than ``BufferError`` becomes one.

    The protocol says a refused request raises ``BufferError``; some exporters
    (NumPy) raise ``ValueError``. The original stays attached as ``__cause__``.
    An object that exports no buffer at all still raises ``TypeError``.
    """
    try:
        return _capi.RawBuffer(obj, flags)
    except BufferError:
        raise
    except Exception as error:
        if not hasattr(type(obj), "__buffer__"):
            raise
        name = type(obj).__name__
        raise ExporterError(
            f"{name} refused request {BufferFlags(flags)!r}: {type(error).__name__}: {error}",
            error,
        ) from error


def _read_or_release(raw: _capi.RawBuffer) -> BufferInfo:
    """The snapshot of a fresh buffer; on a broken ``ndim`` release it and raise."""
    try:
        return BufferInfo.from_raw(raw.read())
    except BaseException:
        raw.release()
        raise


class ManagedBuffer:
    """The buffer of ``obj`` for ``flags``, held until released exactly once."""

    __slots__ = ("__weakref__", "_exports", "_finalizer", "_raw", "_views", "flags", "info")

    def __init__(self, obj: object, flags: int = BufferFlags.FULL_RO) -> None:
        raw = _get_buffer(obj, flags)
        self.info: BufferInfo = _read_or_release(raw)
        self.flags = BufferFlags(flags)
        self._raw = raw
        self._views = 0
        self._exports = 0
        self._finalizer = weakref.finalize(self, raw.release)

    @property
    def owner(self) -> object:
        """The object in ``Py_buffer.obj`` as the exporter filled it (``None`` for NULL).

        For a class exporting through ``__buffer__`` this is CPython's wrapper, not
        ``info.obj``: what the builtin memoryview hashes and keeps alive.
        """
        address = self._raw.obj_address
        return _capi.object_at(address) if address else None

    @property
    def released(self) -> bool:
        """True once the exporter's buffer has been released."""
        return not self._raw.held

    @property
    def views(self) -> int:
        """The number of view registrations on this buffer (a slice shares its view's)."""
        return self._views

    @property
    def exports(self) -> int:
        """The number of buffers exported from its views and not yet released."""
        return self._exports

    def release(self) -> None:
        """Release the exporter's buffer now (a second call does nothing).

        Raises ``BufferError`` while views are registered on it or buffers exported
        from them are held: both reach its memory. (Views release it themselves
        when the last of them goes.)
        """
        if self._exports:
            raise BufferError(
                f"cannot release a managed buffer with {self._exports} exported buffer(s)"
            )
        if self._views > 0:
            raise BufferError(f"cannot release a managed buffer with {self._views} view(s)")
        self._finalizer()

    def register_view(self) -> None:
        """Count one more view sharing this buffer."""
        if not self._raw.held:
            raise ValueError("operation forbidden on released memoryview object")
        self._views += 1

    def unregister_view(self) -> None:
        """Count one view gone; release when nothing uses the buffer any more."""
        self._views -= 1
        if self._views <= 0 and self._exports <= 0:
            self._finalizer()

    def register_export(self) -> None:
        """Count one buffer exported from a view of this buffer."""
        self._exports += 1

    def unregister_export(self) -> None:
        """Count one exported buffer released by its consumer."""
        self._exports -= 1
        self._release_if_unused()

    def _release_if_unused(self) -> None:
        if self._views <= 0 and self._exports <= 0:
            self._finalizer()

    def __enter__(self) -> ManagedBuffer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self.released else f"views={self._views} exports={self._exports}"
        return f"<ManagedBuffer of {type(self.info.obj).__name__} {state}>"


@contextmanager
def acquire(obj: object, flags: int) -> Iterator[BufferInfo]:
    """The ``BufferInfo`` of one raw request for ``flags``, released on exit."""
    raw = _get_buffer(obj, flags)
    try:
        yield _read_or_release(raw)
    finally:
        raw.release()


class Registration:
    """One registration of views on a ``ManagedBuffer``, shared by the views holding it.

    Registers on creation; unregisters exactly once, when it is freed -- when the
    last view holding it has been released or collected.
    """

    __slots__ = ("_managed",)

    def __init__(self, managed: ManagedBuffer) -> None:
        managed.register_view()
        self._managed = managed

    def __del__(self) -> None:
        managed = getattr(self, "_managed", None)  # unset when registering failed
        if managed is not None:
            managed.unregister_view()
