"""Managed buffers: one getbuffer, exactly one release, owned where the collector sees it.

Invariants (the seed thread's ``PyManagedBufferObject``, which CPython implements):
- ``request(obj, flags)`` makes exactly one getbuffer on ``obj``, through its
  type's getbuffer slot, and returns the builtin memoryview holding it. CPython's
  managed buffer behind that memoryview calls ``PyBuffer_Release`` exactly once,
  when its last memoryview is released or freed -- by reference counting, or by
  the garbage collector, which traverses the exporter through it (a cycle through
  the exporter is collected). For a PEP 688 class, that release calls its
  ``__release_buffer__``. The collector releases only after every finaliser of
  the cycle has run, so a ``__del__`` can still read its view.
- Holding a reference to the memoryview holds the memory: bufferkit never calls
  ``release()`` on a memoryview that a view, an operation in flight or an export
  may still use, so the exporter cannot free or resize that memory meanwhile.
  Releasing a bufferkit view drops its reference; the exporter's buffer goes with
  the last reference (at interpreter exit too: only when nothing uses it).
- ``ManagedBuffer`` is that memoryview behind a small API: ``info``, ``release()``,
  ``with``. ``info`` describes the answer as the builtin memoryview normalises it
  (a NULL format reads ``'B'``, a missing shape and strides are filled in);
  ``acquire`` shows a raw answer exactly as the exporter filled it.
- A refused request raises what the exporter raised; ``ManagedBuffer`` converts
  an exporter's exception other than ``BufferError`` into an ``ExporterError``
  (a ``BufferError``, the original chained); a non-exporter raises ``TypeError``.
"""

from __future__ import annotations

import functools
import gc
import sys
from _weakref import ref as weakref_to  # weakref.ref (the weakref module costs 1.5 ms)
from collections import deque
from itertools import compress, repeat
from types import TracebackType

from . import _capi
from . import flags as flags_module
from .flags import FULL_RO, describe
from .flags import request as valid_flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    import weakref
    from typing import Any

    from .flags import BufferFlags

__all__ = [
    "COUNTED_EXPORTS",
    "PLAIN_EXPORTS",
    "SHIELDING",
    "BufferInfo",
    "ExporterError",
    "ManagedBuffer",
    "acquire",
    "export_key",
    "export_of",
    "exporter_of",
    "exports_held",
    "held_request",
    "owner_of",
    "record_export",
    "request",
    "settle",
    "settle_export",
    "shield_export",
    "shield_held",
    "skip_release_calls",
    "sweep_exports",
    "try_settle",
]

_FULL_RO = FULL_RO
_from_flags: Any = getattr(memoryview, "_from_flags", None)
if _from_flags is None:  # pragma: no cover (present in CPython 3.12 to 3.15)
    raise ImportError(
        "bufferkit needs memoryview._from_flags (CPython 3.12+) to hold a buffer "
        "requested with flags other than FULL_RO"
    )


class _Reexport:
    """A builtin memoryview as a PEP 688 exporter: its own getbuffer answers each
    request (the builtin's refusals, the fields it leaves out) and the export it
    makes is counted on it, as a C consumer's would be (``release()`` refuses
    while it is held). ``memoryview(view)`` would only share its managed buffer."""

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def __buffer__(self, flags: int) -> memoryview:
        return self.view


def request(obj: object, flags: int = _FULL_RO) -> memoryview:
    """One getbuffer on ``obj`` for ``flags``, held by the builtin memoryview returned.

    ``flags`` is validated as the builtin validates request flags (``flags.request``).
    """
    return held_request(obj, flags if flags is _FULL_RO else valid_flags(flags))


def held_request(obj: object, flags: int) -> memoryview:
    """``request`` for flags already validated (an ``int`` in C ``int`` range)."""
    exporter = _Reexport(obj) if type(obj) is memoryview else obj
    view: memoryview = memoryview(exporter) if flags == _FULL_RO else _from_flags(exporter, flags)  # type: ignore[arg-type]
    if _LEDGER.shielding:
        shield_held(view)
    return view


def exporter_of(view: memoryview) -> object:
    """The object a request held by ``view`` was made on (``None`` for raw memory)."""
    obj = _capi.unwrap_exporter(view.obj)
    return obj.view if type(obj) is _Reexport else obj


def owner_of(view: memoryview) -> object:
    """What ``Py_buffer.obj`` of a request held by ``view`` would be: the exporter, or
    CPython's ``_buffer_wrapper`` of a PEP 688 class (what the builtin hashes)."""
    obj = view.obj
    real = _capi.unwrap_exporter(obj)
    return real.view if type(real) is _Reexport else obj


# --- exports made through PEP 688 ------------------------------------------------------
#
# An exporter written in Python (MemoryView, NDArray) records each memoryview it returns
# from ``__buffer__`` here, in a module-level ledger of ids and weak references: the
# collector never clears it, so ``__release_buffer__`` can tell a memoryview it exported
# from any other even while a dying cycle tears the exporter down (then it returns
# quietly instead of raising into CPython's release). An export whose memoryview dies
# unreleased (a direct ``__buffer__`` call dropped) is settled by the ledger too.


class _Ledger:
    """The exports of Python exporters, and the shielded memoryviews of 3.12.0-3.12.6.

    Its callbacks (weak-reference deaths, collections) use only its own attributes
    and builtins: they may run at interpreter exit, after module globals are gone.
    """

    def __init__(self, shielding: bool) -> None:
        self.exports: dict[int, tuple[int, weakref.ref[Any], weakref.ref[memoryview]]] = {}
        self.collecting = False
        self.settled_by_collector: set[int] = set()
        self.shielding = shielding
        self.shielded: dict[int, memoryview] = {}
        self.watches: dict[int, weakref.ref[memoryview]] = {}
        self.refcount = sys.getrefcount
        self.sweep_at = self.sweep_at_least = _SWEEP_AT_LEAST  # (shields before a sweep)
        self.finalizing = sys.is_finalizing
        self.unused = (3).__ge__  # (its module helpers kept here too, for exit)
        self.compress, self.repeat, self.deque = compress, repeat, deque
        self.partial = functools.partial
        self.weakref = weakref_to

    # exports

    def record(self, view: memoryview, exporter: Any) -> None:
        key = id(view)
        watch = self.weakref(view, self.partial(self.died, key))
        self.exports[key] = (id(exporter), self.weakref(exporter), watch)
        self.shield(view)

    def settle(self, view: object, exporter: Any) -> None:
        if not isinstance(view, memoryview):
            raise TypeError("expected a memoryview object")
        key = id(view)
        entry = self.exports.get(key)
        if entry is None and key in self.settled_by_collector:
            self.settled_by_collector.discard(key)  # the collector took it first
            return
        if entry is None or entry[0] != id(exporter) or entry[2]() is not view:
            raise ValueError("memoryview's buffer is not this object")
        maker = entry[1]()
        if maker is None and not (self.collecting or self.finalizing()):
            raise ValueError("memoryview's buffer is not this object")  # it died; another
            # object took its address. (A collection, or interpreter exit, clears weak
            # references before CPython releases: that is its own maker, quietly.)
        del self.exports[key]
        self.unshield(view)
        if maker is exporter:
            self.drop(exporter, key)
        # else the exporter is being collected (weak references are cleared first)

    def died(self, key: int, _: object) -> None:
        """The memoryview of an export died, or is garbage in a collection (whose
        teardown may still release it: a later ``settle`` of it returns quietly)."""
        entry = self.exports.pop(key, None)
        if entry is None:
            return
        if self.collecting or self.finalizing():  # garbage: its release may still come
            self.settled_by_collector.add(key)  # (forgotten when the collection ends)
        exporter = entry[1]()
        if exporter is not None:
            self.drop(exporter, key)

    @staticmethod
    def drop(exporter: Any, key: int) -> None:
        try:  # (not contextlib: this may run at exit, after module globals are gone)  # noqa: SIM105
            exporter._drop_export(key)
        except Exception:  # the collector cleared the exporter's state (a dying cycle)
            pass

    def watch_collections(self, phase: str, info: dict[str, int]) -> None:
        self.collecting = phase == "start"
        if not self.collecting:
            self.settled_by_collector.clear()
            if self.shielding:
                self.let_go_of_unused()

    # shields (3.12.0 to 3.12.6)

    def shield(self, view: memoryview) -> None:
        if self.shielding:
            shield_export(view)

    def unshield(self, view: memoryview) -> None:
        if self.shielding:  # (a live view's id is its own: a shielded one is alive)
            self.shielded.pop(id(view), None)

    def shield_until(self, view: memoryview, holder: memoryview) -> None:
        key = id(view)
        self.shielded[key] = view
        self.watches[key] = self.weakref(holder, self.partial(self.let_go, key))

    def let_go(self, key: int, _: object) -> None:
        self.shielded.pop(key, None)
        self.watches.pop(key, None)

    def let_go_of_unused(self) -> None:
        """Drop shielded memoryviews nothing else references (3: the dict's, the
        snapshot's and the argument's), at C speed (it runs at every collection)."""
        shielded, watches = self.shielded, self.watches
        keys = list(shielded)  # (other threads shield and let go meanwhile)
        views = list(map(shielded.get, keys))  # alive to the end: no id is reused meanwhile
        unused = list(self.compress(keys, map(self.unused, map(self.refcount, views))))
        self.deque(map(shielded.pop, unused, self.repeat(None)), 0)
        if watches:
            self.deque(map(watches.pop, unused, self.repeat(None)), 0)
        self.sweep_at = max(self.sweep_at_least, 2 * len(shielded))
        del views  # (the unused ones die here, after the dicts are consistent)


# --- CPython 3.12.0 to 3.12.6 -------------------------------------------------------
#
# Before gh-77894 (fixed in 3.12.7 and 3.13.0) the collector cleared a memoryview that
# was still exported, and freeing it later dereferenced NULL: a crash whenever a dying
# cycle holds a memoryview of a PEP 688 exporter and the memoryview that exporter's
# ``__buffer__`` returned is cleared first. There, the memoryviews bufferkit returns
# from ``__buffer__`` and the ones a PEP 688 exporter returned to ``request`` are
# *shielded*: referenced from the ledger while they may be exported, so the collector
# never counts them as garbage. A returned one is let go by ``__release_buffer__``,
# one behind a request when the request's memoryview dies, and any left (a direct
# ``__buffer__`` call never released) after a collection finds nothing else holding
# it. The cost: a cycle that runs through a shielded memoryview back to its own
# objects waits for that (a leak only if it never comes); never a crash.

SHIELDING = sys.version_info < (3, 12, 7)
"""True where memoryviews bufferkit exports or holds are shielded (gh-77894)."""
_SWEEP_AT_LEAST = 256  # (a sweep once the shields double: O(1) per export, amortised)
_LEDGER = _Ledger(shielding=SHIELDING)
_SHIELDED = _LEDGER.shielded  # (the same dict for the life of the process)
_VIEWS_COUNTED = _capi.VIEWS_COUNTED  # (fixed at import, as the probes that decide it)
_buffer_key = _capi.managed_buffer_key
PLAIN_EXPORTS = _VIEWS_COUNTED and not SHIELDING
"""True where ``export_of(template, exporter)`` is just ``memoryview(template)``."""
COUNTED_EXPORTS = _VIEWS_COUNTED
"""True where a template's managed buffer counts its exports (shielded where SHIELDING)."""
gc.callbacks.append(_LEDGER.watch_collections)


def record_export(view: memoryview, exporter: Any) -> None:
    """Remember that ``exporter`` returned ``view``: ``exporter._drop_export(id(view))``
    is called once, by ``settle_export`` or when ``view`` dies unsettled."""
    _LEDGER.record(view, exporter)


# --- exports from a template memoryview ------------------------------------------------
#
# ``MemoryView`` exports siblings of one template memoryview per view, whose managed
# buffer is the view's own (never shared with another view). Where ``_capi`` verified
# the managed buffer's layout, that buffer counts the exports itself (every live
# sibling is registered on it), so an export costs no bookkeeping: a sibling dropped
# unreleased unregisters as it dies, and ``__release_buffer__`` checks that the
# memoryview shares the template's managed buffer, then releases it. Elsewhere the
# ledger above counts them on the exporter (``_exports`` and ``_drop_export``).


def export_of(template: memoryview, exporter: Any) -> memoryview:
    """A new export of ``template``'s answer, for ``exporter.__buffer__``."""
    view = memoryview(template)
    if _VIEWS_COUNTED:
        if SHIELDING:  # (shield_export, without a call)
            _SHIELDED[id(view)] = view
            if len(_SHIELDED) > _LEDGER.sweep_at:
                _LEDGER.let_go_of_unused()
    else:
        exporter._exports += 1
        _LEDGER.record(view, exporter)
    return view


def exports_held(template: memoryview | None, exporter: Any) -> int:
    """How many exports of ``template`` (made by ``export_of``) are still held."""
    if not _VIEWS_COUNTED:
        sweep_exports()
        count: int = exporter._exports
        return count
    if template is None:
        return 0
    address = _capi.managed_buffer_of(template)
    held = _capi.views_on(address) - 1
    if held and _LEDGER.shielding:
        sweep_exports()  # (3.12.0-3.12.6: a dropped direct export may still be shielded)
        held = _capi.views_on(address) - 1
    return held


def settle(view: object, template: memoryview | None, exporter: Any) -> None:
    """``exporter.__release_buffer__(view)`` for an export of ``template``: ``TypeError``
    for a non-memoryview, ``ValueError`` for one it did not export or that is released,
    ``BufferError`` (the builtin's) while a consumer holds a buffer of it.

    An export shares the template's managed buffer (CPython registers it there).
    """
    if not _VIEWS_COUNTED:
        _LEDGER.settle(view, exporter)
        return
    if type(view) is not memoryview:
        raise TypeError("expected a memoryview object")
    if try_settle(view, template):
        return
    if (_LEDGER.collecting or _LEDGER.finalizing()) and (
        template is None or _is_released(view) or _is_released(template)
    ):
        return  # the collector cleared the exporter, the export or the template first
        # (a dying cycle, or exit); its managed buffer has released or will release it
    raise ValueError("memoryview's buffer is not this object")


def try_settle(view: memoryview, template: memoryview | None, key: object = None) -> bool:
    """Settle ``view`` if it is a held export of ``template`` (made by ``export_of``)
    not yet settled, and say True; else do nothing and say False. ``BufferError``
    while a consumer holds a buffer of ``view``: nothing is settled. ``key``, if
    given, is ``export_key(template)``, remembered (compared first).

    Preconditions: ``_VIEWS_COUNTED``; ``type(view) is memoryview``.
    """
    if template is None or view is template:
        return False
    try:
        view.readonly  # noqa: B018 (ValueError once released)
    except ValueError:
        return False
    found = _buffer_key(view)
    if found != key and found != _buffer_key(template):  # (a key in a dying cycle may
        return False  # be cleared by the collector: the template's is asked then)
    view.release()  # BufferError while a consumer holds a buffer of it: then it stays
    if SHIELDING:  # held and shielded, and a later release may settle it (as C's)
        _SHIELDED.pop(id(view), None)  # (_LEDGER.unshield, without a call)
    return True


def export_key(template: memoryview) -> object:
    """What ``try_settle`` compares an export of ``template`` with (the template's
    managed buffer; it stays the template's for the template's life)."""
    return _buffer_key(template)


def skip_release_calls(cls: type) -> bool:
    """Where an export is a plain sibling of its template (``PLAIN_EXPORTS``), make
    CPython call no ``cls.__release_buffer__`` when a consumer releases a buffer of an
    instance: the export dies with that release, and its template stops counting it.
    True if done (``_capi.skip_release_calls``; the method stays for direct calls).

    Not on 3.12.0-3.12.6: a shielded export would outlive the consumer's release
    until a sweep, and with it whatever it holds (a buffer another memoryview exported,
    which could then not be released).

    Precondition: every memoryview ``cls.__buffer__`` returns is made by ``export_of``.
    """
    return PLAIN_EXPORTS and _capi.skip_release_calls(cls)


def shield_export(view: memoryview) -> None:
    """Shield an export (3.12.0-3.12.6; else nothing) until it is settled, or a sweep
    finds nothing else holding it (a collection, a count of the exports, or the shields
    doubling since the last sweep: memory stays bounded where exports are dropped
    unreleased)."""
    if SHIELDING:
        _SHIELDED[id(view)] = view
        if len(_SHIELDED) > _LEDGER.sweep_at:
            _LEDGER.let_go_of_unused()


def _is_released(view: memoryview) -> bool:
    try:
        view.readonly  # noqa: B018 (raises ValueError once released)
    except ValueError:
        return True
    return False


def sweep_exports() -> None:
    """Let go of shielded exports nothing else holds (3.12.0-3.12.6; else nothing)."""
    if _LEDGER.shielding:
        _LEDGER.let_go_of_unused()


def settle_export(view: object, exporter: Any) -> None:
    """``exporter.__release_buffer__(view)``'s check, then ``_drop_export``.

    ``TypeError`` for a non-memoryview, ``ValueError`` for a memoryview ``exporter``
    did not export or that was settled already (CPython's wrapper's words).
    """
    _LEDGER.settle(view, exporter)


def shield_held(view: memoryview) -> None:
    """Shield the memoryview a PEP 688 exporter returned for the request ``view``
    holds, until ``view`` dies (its managed buffer has then released that export)."""
    if type(view.obj) is not _capi.BUFFER_WRAPPER:
        return
    for referent in gc.get_referents(view.obj):
        if type(referent) is memoryview:
            _LEDGER.shield_until(referent, view)


class ExporterError(BufferError):
    """A request the exporter refused with an exception other than ``BufferError``.

    ``original`` is that exception (also the ``__cause__``).
    """

    def __init__(self, message: str, original: Exception) -> None:
        super().__init__(message)
        self.original = original


class BufferInfo(_capi.RawInfo):
    """An immutable snapshot of one ``Py_buffer`` (``None`` where the field was NULL).

    ``obj`` is the real exporter: for a class exporting through ``__buffer__``
    it is that object, not CPython's internal ``_buffer_wrapper``.
    """

    __slots__ = ()
    readonly: bool  # (a bool here; the raw field is the C int)

    @classmethod
    def from_raw(cls, raw: _capi.RawInfo) -> BufferInfo:
        """The snapshot of the fields ``raw`` read from a ``Py_buffer``."""
        obj = _capi.unwrap_exporter(raw.obj) if raw.obj is not None else None
        return cls(
            obj=obj.view if type(obj) is _Reexport else obj,
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

    @classmethod
    def of_memoryview(cls, view: memoryview) -> BufferInfo:
        """The snapshot of the answer ``view`` holds, as the builtin shows it."""
        return cls(
            obj=exporter_of(view),
            buf=_capi.memoryview_address(view) or None,
            len=view.nbytes,
            itemsize=view.itemsize,
            readonly=view.readonly,
            ndim=view.ndim,
            format=view.format,
            shape=view.shape,
            strides=view.strides,
            suboffsets=view.suboffsets or None,
            internal=None,
        )


def _exporter_error(obj: object, flags: int, error: Exception) -> ExporterError:
    name = type(obj).__name__
    text = f"{name} refused request {describe(flags)}: {type(error).__name__}: {error}"
    return ExporterError(text, error)


class ManagedBuffer:
    """The buffer of ``obj`` for ``flags``, held until released exactly once."""

    __slots__ = ("__weakref__", "_flags", "_info", "_view")

    def __init__(self, obj: object, flags: int = FULL_RO) -> None:
        flags = valid_flags(flags)
        try:
            self._view: memoryview | None = held_request(obj, flags)
        except BufferError:
            raise
        except Exception as error:
            if not hasattr(type(obj), "__buffer__"):
                raise
            raise _exporter_error(obj, flags, error) from error
        self._flags = flags
        self._info: BufferInfo | None = None

    @property
    def flags(self) -> BufferFlags:
        """The request, as ``BufferFlags``."""
        return flags_module.BufferFlags(self._flags)

    @property
    def info(self) -> BufferInfo:
        """The answer, as the builtin memoryview shows it (kept after ``release``)."""
        if self._info is None:
            self._info = BufferInfo.of_memoryview(self._held())
        return self._info

    @property
    def view(self) -> memoryview:
        """A new builtin memoryview of the answer (it holds the buffer while it lives)."""
        return memoryview(self._held())

    def _held(self) -> memoryview:
        view = self._view
        if view is None:
            raise ValueError("operation forbidden on released memoryview object")
        return view

    @property
    def released(self) -> bool:
        """True once ``release()`` has been called."""
        return self._view is None

    def release(self) -> None:
        """Let go of the buffer now (a second call does nothing).

        The exporter's release happens at once unless builtin memoryviews made
        from ``view`` still hold it: then it happens when the last of them goes.
        """
        view, self._view = self._view, None
        if view is not None:
            if self._info is None:
                self._info = BufferInfo.of_memoryview(view)
            view.release()

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
        state = "released" if self._view is None else "held"
        exporter = exporter_of(self._view) if self._view is not None else None
        what = type(exporter).__name__ if self._view is not None else "an exporter"
        return f"<ManagedBuffer of {what} {state}>"


def acquire(obj: object, flags: int) -> _Acquisition:
    """A context manager whose ``with`` gives the ``BufferInfo`` of one raw request
    of ``obj`` for ``flags``, and releases it on exit.

    The fields are exactly as the exporter filled them (NULL stays ``None``).
    """
    return _Acquisition(obj, valid_flags(flags))


class _Acquisition:
    """One raw request, made on entering and released on exit (once each)."""

    __slots__ = ("_flags", "_obj", "_raw")

    def __init__(self, obj: object, flags: int) -> None:
        self._obj = obj
        self._flags = flags
        self._raw: _capi.RawBuffer | None = None

    def __enter__(self) -> BufferInfo:
        if self._raw is not None:
            raise RuntimeError("this acquire() is already entered")
        obj, flags = self._obj, self._flags
        try:
            raw = _capi.RawBuffer(obj, flags)
        except BufferError:
            raise
        except Exception as error:
            if not hasattr(type(obj), "__buffer__"):
                raise
            raise _exporter_error(obj, flags, error) from error
        try:
            info = BufferInfo.from_raw(raw.read())
        except BaseException:
            raw.release()
            raise
        self._raw = raw
        return info

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.release()
