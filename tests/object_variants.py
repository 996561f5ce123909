"""Child side of test_attack_objects: object pointers (``'O'`` items).

Each variant is a function returning a JSON verdict; ``main`` runs the ones named
on the command line (``attack.run_each``: a crash is charged to one variant).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from attack_child import emit, outcome
from bufferkit import BufferFlags, MemoryView, NDArray

VARIANTS: dict[str, Callable[[], Any]] = {}
RECORD = np.dtype([("a", "<i4"), ("b", "O")], align=True)  # 'T{i:a:xxxxO:b:}'


def variant(fn: Callable[[], Any]) -> Callable[[], Any]:
    VARIANTS[fn.__name__] = fn
    return fn


# --- casts to formats that hold object pointers are refused ----------------------

O_FORMATS = [
    "O",
    "@O",
    "2O",
    "(2)O",
    "O:x:",
    "xO",
    "PO",
    "T{O:a:}",
    "T{<h:a:O:b:}",
    "T{T{O:a:}:b:}",
]


def _cast_verdicts(view: MemoryView, shapes: bool = True) -> dict[str, str]:
    """Each format cast (its size divides 64): the exception, or "accepted"."""
    found = {}
    for fmt in O_FORMATS:
        kind, _ = outcome(lambda fmt=fmt: view.cast(fmt))
        found[fmt] = "accepted" if kind == "ok" else kind
        if shapes:
            kind, _ = outcome(lambda fmt=fmt: view.cast(fmt, [1, 1]))
            found[fmt + " shaped"] = "accepted" if kind == "ok" else kind
    return found


@variant
def cast_bytes_to_O() -> Any:
    return _cast_verdicts(MemoryView(bytearray(b"\x10" * 64)))


@variant
def cast_2d_to_O() -> Any:
    return _cast_verdicts(MemoryView(bytearray(b"\x10" * 64)).cast("B", (8, 8)))


@variant
def cast_readonly_to_O() -> Any:
    return _cast_verdicts(MemoryView(b"\x10" * 64))


@variant
def cast_from_P_to_O() -> Any:
    ints = (ctypes.c_void_p * 8)(*([0x10] * 8))
    return _cast_verdicts(MemoryView(ints))


@variant
def from_memory_O() -> Any:
    block = ctypes.create_string_buffer(b"\x10" * 64, 64)
    address = ctypes.addressof(block)
    found = {}
    for fmt in O_FORMATS:
        kind, _ = outcome(lambda fmt=fmt: MemoryView.from_memory(address, 64, format=fmt))
        found[fmt] = "accepted" if kind == "ok" else kind
        kind, _ = outcome(
            lambda fmt=fmt: MemoryView.from_memory(address, 64, format=fmt, shape=[1])
        )
        found[fmt + " shaped"] = "accepted" if kind == "ok" else kind
    return found


@variant
def cast_object_array_to_O() -> Any:
    """An exporter's own 'O' view cast to 'O' again (or to a record of 'O')."""
    objects = np.array([object() for _ in range(8)], dtype=object)
    return _cast_verdicts(MemoryView(objects), shapes=False)


# --- 'O' items of C exporters that hold NULLs ----------------------------------------

READS: dict[str, Callable[[MemoryView], Any]] = {
    "tolist": lambda v: v.tolist(),
    "item": lambda v: v[2],
    "last item": lambda v: v[-1],
    "slice tolist": lambda v: v[1:].tolist(),
    "iterate": lambda v: list(v),
    "eq self": lambda v: v == v,
    "eq other": lambda v: v == MemoryView((ctypes.py_object * 3)()),
    "eq builtin": lambda v: v == memoryview((ctypes.py_object * 3)()),
    "contains": lambda v: 1 in v,
    "count": lambda v: v.count(1),
    "index": lambda v: v.index(1),
    "hash": lambda v: hash(v.toreadonly()),
    "tobytes": lambda v: len(v.tobytes()),
    "hex": lambda v: len(v.hex()),
    "cast B tolist": lambda v: len(v.cast("B").tolist()),
    "export tolist": lambda v: memoryview(v).tolist(),
    "export bytes": lambda v: len(bytes(memoryview(v))),
}


def _reads(make: Callable[[], Any]) -> dict[str, str]:
    found = {}
    for name, read in READS.items():
        view = MemoryView(make())
        emit("reading", name)
        kind, value = outcome(lambda read=read, view=view: read(view))
        found[name] = f"ok: {value!r}"[:80] if kind == "ok" else kind
    return found


@variant
def ctypes_nulls() -> Any:
    return _reads(lambda: (ctypes.py_object * 3)())


@variant
def ctypes_some_nulls() -> Any:
    def make() -> Any:
        array = (ctypes.py_object * 3)()
        array[0] = 1
        array[2] = "two"
        return array

    return _reads(make)


class _Cell(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int), ("obj", ctypes.py_object)]


@variant
def ctypes_struct_nulls() -> Any:
    cells = (_Cell * 3)()
    cells[1].obj = 5
    view = MemoryView(cells)
    found = {"format": view.format}
    for name in ("tolist", "item", "iterate", "eq self", "contains"):
        emit("reading", name)
        kind, value = outcome(lambda name=name: READS[name](view))
        found[name] = f"ok: {value!r}"[:80] if kind == "ok" else kind
    return found


# --- NumPy object arrays: reads give the objects; nothing writes pointers --------------


def _objects(count: int = 4) -> Any:
    return np.array([[i] for i in range(count)] + [None], dtype=object)[:count]


@variant
def numpy_reads_are_the_objects() -> Any:
    array = _objects()
    view = MemoryView(array)
    items = view.tolist()
    return {
        "same": all(item is original for item, original in zip(items, array, strict=True)),
        "item": view[1] is array[1],
        "in": array[2] in view,
        "eq": view == MemoryView(array),
        "refcounts": [sys.getrefcount(x) for x in array] == [sys.getrefcount(x) for x in items],
    }


@variant
def numpy_writes_refused() -> Any:
    array = _objects()
    originals = list(array)
    other = _objects()
    found = {}
    writes: dict[str, Callable[[], Any]] = {
        "item": lambda: MemoryView(array).__setitem__(0, 1),
        "item writable request": lambda: MemoryView(array, BufferFlags.FULL).__setitem__(0, 1),
        "slice from numpy": lambda: MemoryView(array).__setitem__(slice(0, 4), other),
        "slice from view": lambda: MemoryView(array).__setitem__(slice(0, 4), MemoryView(other)),
        "2-d sub-view": lambda: MemoryView(np.array([[None] * 2] * 2, dtype=object)).__setitem__(
            (0, slice(None)), MemoryView(np.array([None, None], dtype=object))
        ),
        "cast B item": lambda: MemoryView(array).cast("B").__setitem__(0, 1),
        "cast B slice": lambda: MemoryView(array).cast("B").__setitem__(slice(0, 8), bytes(8)),
        "cast B 2-d": lambda: (
            MemoryView(array).cast("B", (4, 8)).__setitem__((0, slice(None)), bytes(8))
        ),
        "cast Q item": lambda: MemoryView(array).cast("Q").__setitem__(0, 0),
    }
    for name, write in writes.items():
        kind, _ = outcome(write)
        found[name] = "wrote" if kind == "ok" else kind
    found["cast B readonly"] = MemoryView(array).cast("B").readonly
    found["cast B export readonly"] = memoryview(MemoryView(array).cast("B")).readonly
    found["intact"] = all(a is b for a, b in zip(array, originals, strict=True))
    return found


@variant
def numpy_record_with_object_field() -> Any:
    records = np.array([(1, [1]), (2, [2])], dtype=RECORD)
    view = MemoryView(records)
    found: dict[str, Any] = {"format": view.format}
    kind, value = outcome(lambda: view.tolist())
    found["tolist"] = kind if kind != "ok" else value[1][1] is records[1]["b"]
    found["write item"] = outcome(lambda: view.__setitem__(0, (5, None)))[0]
    found["cast B readonly"] = outcome(lambda: view.cast("B").readonly)
    found["cast B write"] = outcome(lambda: view.cast("B").__setitem__(4, 0))[0]
    found["slice write"] = outcome(lambda: view.__setitem__(slice(0, 1), MemoryView(records)[1:]))[
        0
    ]
    return found


def _wrote_pointers(target: Any, source: Any) -> bool:
    return any(a is b for a, b in zip(target, source, strict=True))


@variant
def numpy_export_route() -> Any:
    """A consumer of the view's export (the builtin memoryview) writes 'O' items."""
    target = _objects()
    source = _objects()
    kind, _ = outcome(lambda: memoryview(MemoryView(target)).__setitem__(slice(0, 4), source))
    found = {"outcome": kind, "wrote": _wrote_pointers(target, source)}
    kind, _ = outcome(
        lambda: memoryview(MemoryView(target, BufferFlags.FULL)).__setitem__(slice(0, 4), source)
    )
    found["writable request"] = kind
    found["writable request wrote"] = _wrote_pointers(target, source)
    emit("numpy_export_route", found)
    os._exit(0)  # refcounts may be broken now: skip the teardown


@variant
def ndarray_reexport_assignment() -> Any:
    """NDArray re-exporting an object array (writable request) copies 'O' items."""
    target = _objects()
    source = _objects()
    kind, _ = outcome(
        lambda: NDArray(target, getbuf=int(BufferFlags.FULL)).__setitem__(slice(0, 4), source)
    )
    found = {"outcome": kind, "wrote": _wrote_pointers(target, source)}
    emit("ndarray_reexport_assignment", found)
    os._exit(0)


# --- an object freed between reading its pointer and taking a reference -----------------


class Payload:
    def __init__(self, number: int) -> None:
        self.number = number
        self.padding = [number] * 8


OPS: dict[str, Callable[[MemoryView], Any]] = {
    "tolist": lambda v: v.tolist(),
    "item": lambda v: [v[i] for i in range(len(v))],
    "iterate": lambda v: list(v),
    "contains": lambda v: Payload(-1) in v,
    "count": lambda v: v.count(None),
    "eq": lambda v: v == v,
    "2-d tolist": lambda v: MemoryView(v.obj.reshape(20, 25)).tolist(),
    "record tolist": lambda v: MemoryView(_RECORDS[0]).tolist(),
    "record item": lambda v: [MemoryView(_RECORDS[0])[i] for i in range(len(v))],
}
_RECORDS: list[Any] = []


COUNT = 500
SECONDS = 0.3


def _strange(item: Any) -> str:
    """ "" for a value a read may give (an intact payload, None, a record), else a
    description of what came back (freed memory, reused by something else)."""
    if isinstance(item, tuple) and len(item) == 2:
        number, item = item
        if not isinstance(number, int):
            return f"record with {type(number).__name__}"
    if item is None or isinstance(item, (int, bool)):
        return ""
    try:
        if type(item) is Payload and item.padding == [item.number] * 8:
            return ""
    except Exception as error:
        return f"{type(item).__name__}: {error}"
    return type(item).__name__


def _freed_under_read(op_name: str) -> Any:
    """Another thread replaces items of the array all the time (each old object dies)
    while this one reads them through a view, ``SECONDS`` long. An item's reference
    must be taken in the same step as its pointer is read: the objects returned are
    old or new ones, never freed memory."""
    sys.setswitchinterval(1e-6)
    array = np.array([Payload(i) for i in range(COUNT)], dtype=object)
    records = np.array([(i, Payload(i)) for i in range(COUNT)], dtype=RECORD)
    _RECORDS[:] = [records]
    view = MemoryView(array)
    stop = threading.Event()
    churned = [0]

    def churn() -> None:
        number = 0
        while not stop.is_set():
            array[number % COUNT] = Payload(number)
            records[number % COUNT] = (number, Payload(number))
            number += 1
            if number % 8 == 0:
                junk = [bytearray(48) for _ in range(16)]  # reuse the freed blocks
                del junk
        churned[0] = number

    worker = threading.Thread(target=churn)
    worker.start()
    strange: list[str] = []
    outcomes = set()
    reads = 0
    deadline = time.monotonic() + SECONDS
    last_chance = deadline + 20 * SECONDS  # a slow (debug) build still gets its reads
    try:
        while not strange and (
            time.monotonic() < deadline or (reads < 5 and time.monotonic() < last_chance)
        ):
            got = outcome(lambda: OPS[op_name](view))
            outcomes.add(got[0])
            reads += 1
            values = got[1] if got[0] == "ok" else []
            flat: list[Any] = []
            stack = [values] if isinstance(values, list) else []
            while stack:
                for item in stack.pop():
                    (stack.append if isinstance(item, list) else flat.append)(item)
            strange += [_strange(x) for x in flat if _strange(x)]
    finally:
        stop.set()
        worker.join()
    return {
        "reads": reads,
        "churned": churned[0],
        "outcomes": sorted(outcomes),
        "strange": strange[:5],
    }


for _name in OPS:
    VARIANTS["freed under " + _name] = lambda _name=_name: _freed_under_read(_name)


def main() -> None:
    for name in sys.argv[1:]:
        emit(name + ":started", True)
        emit(name, VARIANTS[name]())
    emit("done", True)
