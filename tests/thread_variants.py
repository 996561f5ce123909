"""Child side of test_attack_threads: ``release()`` in one thread, an operation in another.

``main_race`` (arguments: victim kind, seconds per operation, operation names): for
each operation, trial after trial, a fresh view of a fresh victim is worked on by
a thread that repeats the operation until it raises ``ValueError``, while this
thread releases the view and then at once tries, again and again, to free the
victim (``mmap.close()`` unmaps: a use after free segfaults). Afterwards a read
of the released view must raise ``ValueError``. The verdict of each operation
counts the trials, the releases made while an operation was in flight, the
victims freed while the worker was still running, and every wrong result or
unexpected exception.

``main_lockstep`` (arguments: victim kind, operation): views released by this
thread exactly when the worker starts the operation on them -- the window where
an operation builds a helper (a reader, an exact-format view) for a view being
released. Then, after the victim is freed, each released view must refuse reads.
"""

from __future__ import annotations

import array
import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from attack_child import PATTERN, Victim, emit
from bufferkit import MemoryView

from exporters import CountingExporter

SIZE = 4096
DATA = PATTERN * (SIZE // len(PATTERN))
BIG = 4 << 20  # slice assignment of this many bytes: memmove runs without the GIL
BIG_DATA = PATTERN * (BIG // len(PATTERN))
RECORD = "T{<h:a:<d:b:}"
_ARRAY = array.array("B", DATA)  # compared through a request: Python code runs meanwhile


def _expected(
    kind: str, make: Callable[[Any], Any], op: Callable[[Any], Any], data: bytes
) -> tuple[str, Any]:
    """What ``op`` gives on a view of an unraced victim: ``("ok", result)`` or the error."""
    victim = Victim(kind, data)
    view = make(victim.obj)
    try:
        return ("ok", op(view))
    except Exception as error:
        return (type(error).__name__, str(error))
    finally:
        view.release()


def as_(fmt: str | None = None, shape: tuple[int, ...] | None = None) -> Callable[[Any], Any]:
    def make(obj: Any) -> Any:
        base = MemoryView(obj)
        if fmt is None:
            return base
        view = base.cast(fmt) if shape is None else base.cast(fmt, shape)
        base.release()
        return view

    return make


def _export(view: Any) -> bytes:
    exported = memoryview(view)
    try:
        return bytes(exported)
    finally:
        exported.release()


def _iterate(view: Any) -> list[Any]:
    return list(view)


def _write_item(view: Any) -> Any:
    view[5] = DATA[5]
    return None


def _assign_big(view: Any) -> Any:
    view[:] = BIG_DATA
    return None


# a source exporter written in Python: its copy takes the general path (ctypes
# memmove, which lets other threads run), not the builtin's one C call
_BIG_RELAYED = CountingExporter(BIG_DATA)


def _assign_big_relayed(view: Any) -> Any:
    view[:] = _BIG_RELAYED
    return None


def _assign_small(view: Any) -> Any:
    view[16:32] = DATA[16:32]
    return None


# name -> (data, view maker, operation); results are compared with an unraced run
OPERATIONS: dict[str, tuple[bytes, Callable[[Any], Any], Callable[[Any], Any]]] = {
    "tobytes": (DATA, as_(), lambda v: v.tobytes()),
    "tobytes F 2-d": (DATA, as_(">i", (32, 32)), lambda v: v.tobytes("F")),
    "tolist B": (DATA, as_(), lambda v: v.tolist()),
    "tolist >i": (DATA, as_(">i"), lambda v: v.tolist()),
    "tolist <d 2-d": (DATA, as_("<d", (16, 32)), lambda v: v.tolist()),
    "tolist record": (DATA[:4000], as_(RECORD), lambda v: v.tolist()),
    "item read": (DATA, as_(), lambda v: v[5]),
    "item read 2-d": (DATA, as_("<d", (16, 32)), lambda v: v[3, 7]),
    "item write": (DATA, as_(), _write_item),
    "slice assign": (DATA, as_(), _assign_small),
    "slice assign big": (BIG_DATA, as_(), _assign_big),  # (from bytes: one C call)
    "slice assign big relayed": (BIG_DATA, as_(), _assign_big_relayed),
    "eq": (DATA, as_(), lambda v: v == DATA),  # (a whole view: one C call, no window)
    "eq array": (DATA, as_(), lambda v: v == _ARRAY),
    "eq record": (DATA[:4000], as_(RECORD), lambda v: v == MemoryView(DATA[:4000]).cast(RECORD)),
    "iterate": (DATA, as_(), _iterate),
    "iterate >i": (DATA, as_(">i"), _iterate),
    "cast": (DATA, as_(), lambda v: v.cast("<d", (16, 32))[3, 7]),
    "slice": (DATA, as_(), lambda v: v[100:200:3].tobytes()),
    "sub-view 2-d": (DATA, as_("B", (64, 64)), lambda v: v[1:, ::3].tobytes()),
    "export": (DATA, as_(), _export),
    "hash": (DATA, lambda obj: as_()(obj).toreadonly(), hash),
}


def _released_read(view: Any) -> str:
    """What a read of a released view does: "ValueError" is the only right answer."""
    try:
        view[0]
        return "read"
    except ValueError:
        pass
    try:
        view.tolist()
        return "read"
    except ValueError:
        return "ValueError"


def race(kind: str, name: str, seconds: float) -> dict[str, Any]:
    data, make, op = OPERATIONS[name]
    expected = _expected(kind, make, op, data)
    stats = {
        "trials": 0,
        "in_flight": 0,
        "freed_while_running": 0,
        "wrong": 0,
        "errors": [],
        "released_reads": 0,
        "leaks": 0,
    }
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or stats["trials"] < 5:  # (slow builds: 5 at least)
        victim = Victim(kind, data)
        view = make(victim.obj)
        running = threading.Event()
        stop = threading.Event()
        state = {"busy": False}

        def work(
            view: Any = view,
            running: threading.Event = running,
            stop: threading.Event = stop,
            state: Any = state,
        ) -> None:
            running.set()
            while not stop.is_set():
                state["busy"] = True
                try:
                    got: tuple[str, Any] = ("ok", op(view))
                except ValueError:
                    return  # released
                except Exception as error:
                    got = (type(error).__name__, str(error))
                finally:
                    state["busy"] = False
                if got == expected or (name.startswith("eq") and got == ("ok", False)):
                    continue  # released views compare unequal (by identity), as the builtin's
                if got[0] == "ok":
                    stats["wrong"] += 1
                else:
                    stats["errors"].append(f"{got[0]}: {got[1]}"[:200])

        worker = threading.Thread(target=work)
        worker.start()
        running.wait()
        for _ in range(stats["trials"] % 50):
            pass  # a varying delay
        while True:
            try:
                view.release()
                break
            except BufferError:
                time.sleep(0)  # an export in flight
        stats["in_flight"] += state["busy"]
        stop.set()
        while worker.is_alive():  # free it the moment nothing holds it
            if victim.free():
                stats["freed_while_running"] += worker.is_alive()
                break
        worker.join()
        stats["leaks"] += not victim.free()  # nothing holds the buffer any more
        stats["released_reads"] += _released_read(view) != "ValueError"
        stats["trials"] += 1
    return stats


def main_race() -> None:
    sys.setswitchinterval(1e-6)
    kind, seconds, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    for name in names:
        emit(name + ":started", True)
        emit(name, race(kind, name, seconds))
    emit("done", True)


LOCKSTEP: dict[str, Callable[[Any, Any], Any]] = {
    "tolist": lambda v, other: v.tolist(),
    "item": lambda v, other: v[1],
    "eq": lambda v, other: v == other,
    "iterate": lambda v, other: iter(v),
    "export": lambda v, other: memoryview(v).release(),
    "cast": lambda v, other: v.cast("<i"),
}


def lockstep(kind: str, name: str, count: int) -> dict[str, Any]:
    op = LOCKSTEP[name]
    victim = Victim(kind, DATA)
    views = [MemoryView(victim.obj) for _ in range(count)]
    other = MemoryView(bytes(DATA))
    progress = [-1]
    kept: list[Any] = []

    def work() -> None:
        for index, view in enumerate(views):
            progress[0] = index
            with contextlib.suppress(ValueError):
                kept.append(op(view, other))

    worker = threading.Thread(target=work)
    worker.start()
    for index, view in enumerate(views):
        while progress[0] < index and worker.is_alive():
            pass
        while True:
            try:
                view.release()
                break
            except BufferError:
                time.sleep(0)
    worker.join()
    other.release()
    for item in kept:
        if isinstance(item, MemoryView):
            item.release()  # a cast made before its view was released holds the buffer
    # every view is released and no operation is running: the buffer must be free
    freed = victim.free()
    reads = 0
    for view in views:
        reads += _released_read(view) != "ValueError"
    drained = 0
    for item in kept:
        if hasattr(item, "__next__"):
            try:
                list(item)
                drained += 1
            except ValueError:
                pass
    return {"views": count, "freed": freed, "released_reads": reads, "iterators_read": drained}


def main_lockstep() -> None:
    """Arguments: victim kind, number of views, operation names."""
    sys.setswitchinterval(1e-6)
    kind, count, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    for name in names:
        emit(name + ":started", True)
        emit(name, lockstep(kind, name, count))
    emit("done", True)
