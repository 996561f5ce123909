"""Child side of test_attack_cycles: reference cycles through views, pins and exports.

Each variant builds ``COUNT`` cyclic objects, drops them, runs ``gc.collect()`` and
reports how many died (weak references) and how many exporters were released (a
``bytearray`` kept outside the cycle can be resized again; a counting exporter's
``__release_buffer__`` ran). ``through_export`` says whether the cycle runs through
an export of a bufferkit object (the documented 3.12.0-3.12.6 exception).
"""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from attack_child import emit
from bufferkit import MemoryView, NDArray

COUNT = 5000
DATA = bytes(range(32))
VARIANTS: dict[str, Callable[[], dict[str, Any]]] = {}


def variant(fn: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    VARIANTS[fn.__name__] = fn
    return fn


def _resizable(data: bytearray) -> bool:
    try:
        data.append(0)
    except BufferError:
        return False
    data.pop()
    return True


def _collect(make: Callable[[int], tuple[Any, bytearray | None]]) -> dict[str, Any]:
    """Make ``COUNT`` cycles (``make`` returns an object of the cycle, and a bytearray
    outside it whose export the cycle holds), drop them, collect."""
    watches = []
    outside = []
    for number in range(COUNT):
        obj, data = make(number)
        watches.append(weakref.ref(obj))
        if data is not None:
            outside.append(data)
        del obj, data
    alive_before = sum(w() is not None for w in watches)
    gc.collect()
    gc.collect()
    alive = sum(w() is not None for w in watches)
    released = sum(_resizable(data) for data in outside)
    return {
        "made": COUNT,
        "alive before": alive_before,
        "collected": COUNT - alive,
        "released": released if outside else None,
    }


class Img(bytearray):
    pass


@variant
def bytearray_subclass_view_of_self() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        img = Img(DATA)
        img.v = MemoryView(img)
        return img, None

    return _collect(make)


@variant
def bytearray_subclass_derived_views_of_self() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        img = Img(DATA)
        base = MemoryView(img)
        img.views = [base[::2], base.cast("<i", (2, 4)).T, MemoryView(base).toreadonly()]
        return img, None

    return _collect(make)


class Exporter:
    """A PEP 688 exporter of a bytearray kept outside; counts its releases."""

    releases = 0

    def __init__(self, data: bytearray) -> None:
        self.data = data

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self.data)

    def __release_buffer__(self, view: memoryview) -> None:
        Exporter.releases += 1
        view.release()


@variant
def pep688_view_of_self() -> dict[str, Any]:
    Exporter.releases = 0

    def make(number: int) -> tuple[Any, bytearray]:
        data = bytearray(DATA)
        exporter = Exporter(data)
        exporter.v = MemoryView(exporter)
        exporter.w = exporter.v[1:].cast("B", (31,))
        return exporter, data

    found = _collect(make)
    found["release calls"] = Exporter.releases
    return found


class SelfExporter(bytearray):
    """A PEP 688 bytearray subclass whose ``__buffer__`` exports itself."""

    def __buffer__(self, flags: int) -> memoryview:
        return bytearray.__buffer__(self, flags)

    def __release_buffer__(self, view: memoryview) -> None:
        view.release()


@variant
def pep688_exporting_itself_view_of_self() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        exporter = SelfExporter(DATA)
        exporter.v = MemoryView(exporter)
        return exporter, None

    return _collect(make)


class N(NDArray):
    pass


@variant
def ndarray_builtin_memoryview_of_self() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        array = N(list(DATA), shape=[32])
        array.m = memoryview(array)
        return array, None

    return _collect(make)


@variant
def ndarray_view_of_self() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        array = N(list(DATA), shape=[32])
        array.v = MemoryView(array)
        return array, None

    return _collect(make)


@variant
def ndarray_reexporter_of_self() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        array = N(list(DATA), shape=[32])
        array.r = NDArray(array)
        return array, None

    return _collect(make)


@variant
def export_of_view_in_list() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, bytearray]:
        data = bytearray(DATA)
        cycle: list[Any] = [MemoryView(data)]
        cycle.append(memoryview(cycle[0]))
        cycle.append(cycle)
        return _Box(cycle), data

    return _collect(make)


class _Box:
    """A weak-referenceable handle on a list cycle (lists have no weak references)."""

    def __init__(self, cycle: list[Any]) -> None:
        self.cycle = cycle
        cycle.append(self)


@variant
def export_of_view_on_exporter() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        img = Img(DATA)
        img.e = memoryview(MemoryView(img))
        return img, None

    return _collect(make)


@variant
def view_of_export_of_view_on_exporter() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        img = Img(DATA)
        img.v = MemoryView(memoryview(MemoryView(img)[2:]))
        return img, None

    return _collect(make)


@variant
def ndarray_export_in_list() -> dict[str, Any]:
    def make(number: int) -> tuple[Any, None]:
        cycle: list[Any] = [NDArray(list(DATA), shape=[32])]
        cycle.append(memoryview(cycle[0]))
        cycle.append(cycle)
        return _Box(cycle), None

    return _collect(make)


class Holder:
    reads = 0
    resurrected: ClassVar[list[Any]] = []

    def __init__(self, view: MemoryView, keep: bool) -> None:
        self.view, self.keep, self.me = view, keep, self

    def __del__(self) -> None:
        if self.view.tobytes() == DATA:
            Holder.reads += 1
        if self.keep:
            Holder.resurrected.append(self.view)


@variant
def del_reads_its_view() -> dict[str, Any]:
    Holder.reads = 0

    def make(number: int) -> tuple[Any, bytearray]:
        data = bytearray(DATA)
        return Holder(MemoryView(data), keep=False), data

    found = _collect(make)
    found["reads in del"] = Holder.reads
    return found


@variant
def del_resurrects_its_view() -> dict[str, Any]:
    Holder.reads = 0
    Holder.resurrected = []

    def make(number: int) -> tuple[Any, None]:
        return Holder(MemoryView(bytearray(DATA))[::1], keep=number % 2 == 0), None

    found = _collect(make)
    found["reads in del"] = Holder.reads
    found["resurrected read"] = sum(v.tobytes() == DATA for v in Holder.resurrected)
    for view in Holder.resurrected:
        view.release()
    Holder.resurrected = []
    return found


@variant
def cpython_test_gc() -> dict[str, Any]:
    """CPython's test_memoryview.test_gc, with MemoryView for memoryview."""
    found: dict[str, Any] = {}
    for tp in (bytes, bytearray):

        class MyView:
            def __init__(self, base: Any) -> None:
                self.m = MemoryView(base)

        class MySource(tp):  # type: ignore[valid-type, misc]
            pass

        class MyObject:
            pass

        # a reference cycle through a view: mbuf_clear()
        b = MySource(tp(b"abc"))
        m = MemoryView(b)
        o = MyObject()
        b.m = m
        b.o = o
        wr = weakref.ref(o)
        b = m = o = None
        gc.collect()
        found[tp.__name__ + " mbuf_clear"] = wr() is None

        # memory_clear()
        m = MyView(tp(b"abc"))
        o = MyObject()
        m.x = m
        m.o = o
        wr = weakref.ref(o)
        m = o = None
        gc.collect()
        found[tp.__name__ + " memory_clear"] = wr() is None
    return found


UNRAISABLE: list[str] = []


def _hook(info: Any) -> None:
    UNRAISABLE.append(f"{info.exc_type.__name__}: {info.exc_value} (in {info.object!r})"[:300])


def main() -> None:
    sys.unraisablehook = _hook  # charged to the variant that raised it
    for name in sys.argv[1:]:
        UNRAISABLE.clear()
        emit(name + ":started", True)
        found = VARIANTS[name]()
        found["unraisable"] = UNRAISABLE[:3]
        emit(name, found)
    emit("done", True)
