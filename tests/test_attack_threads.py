"""Attack class 3: ``release()`` in one thread while another thread works on the view.

The victims unmap (``mmap.close()`` right after the release succeeds, retried until
it does) so a use after free segfaults; ``bytearray`` victims move when they can
and their old blocks are refilled. ``sys.setswitchinterval(1e-6)`` in the child;
each operation races for a bounded time (``SECONDS``).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from attack import run, run_each, verdict_of
from thread_variants import LOCKSTEP, OPERATIONS

SECONDS = 0.1  # per operation and victim kind
NAMES = list(OPERATIONS)
KINDS = ("mmap", "bytearray")


@functools.cache
def races(kind: str) -> dict[str, Any]:
    code = "from thread_variants import main_race; main_race()"
    return run_each(code, NAMES, leading=(kind, str(SECONDS)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_release_in_another_thread_during_an_operation(kind: str, name: str) -> None:
    stats = verdict_of(races(kind), name)
    assert stats["trials"] >= 5, stats
    assert stats["errors"] == [], stats
    assert stats["wrong"] == 0, f"wrong results: {stats}"
    assert stats["released_reads"] == 0, f"a released view still reads memory: {stats}"
    assert stats["leaks"] == 0, f"the buffer stayed held after every view was released: {stats}"
    if kind == "mmap" and name not in ("export", "eq", "slice assign big"):
        # the race happened: releases landed while the operation was running (a whole
        # view compares with bytes, and a slice is assigned from bytes, in one C call
        # that holds the GIL: no release can land inside it)
        assert stats["in_flight"] >= 1, stats


LOCKSTEP_VIEWS = 10_000


@functools.cache
def lockstep(kind: str) -> dict[str, Any]:
    code = "from thread_variants import main_lockstep; main_lockstep()"
    return run_each(code, list(LOCKSTEP), leading=(kind, str(LOCKSTEP_VIEWS)))


@pytest.mark.parametrize("name", list(LOCKSTEP))
def test_a_view_released_as_an_operation_starts_holds_nothing_afterwards(name: str) -> None:
    """The view is released at the moment another thread starts an operation on it
    (10,000 times): once every view is released and the operation is over, the
    buffer is free, and no released view reads it (bytearray victim: a read is seen;
    mmap victim, next test: a read is a segfault)."""
    got = verdict_of(lockstep("bytearray"), name)
    assert got["freed"], f"a released view still holds the buffer (a helper kept the pin): {got}"
    assert got["released_reads"] == 0, f"released views read memory: {got}"
    assert got["iterators_read"] == 0, f"iterators of released views read memory: {got}"


@pytest.mark.parametrize("name", list(LOCKSTEP))
def test_a_view_released_as_an_operation_starts_never_reads_unmapped_memory(name: str) -> None:
    got = verdict_of(lockstep("mmap"), name)
    assert got["released_reads"] == 0, f"released views read memory: {got}"
    assert got["iterators_read"] == 0, f"iterators of released views read memory: {got}"


COLLECTIONS = """
import sys, threading, time
from bufferkit import MemoryView, NDArray

sys.setswitchinterval(1e-6)
ignored = []
sys.unraisablehook = lambda info: ignored.append(f"{info.exc_type.__name__}: {info.exc_value}")
stop = threading.Event()
done = [0]

def export_forever(seed):
    view = MemoryView(bytearray(64))
    array = NDArray(list(range(8)), shape=[8])
    while not stop.is_set():
        with memoryview(view) as a, memoryview(array) as b, memoryview(view[::2]) as c:
            pass
        direct = view.__buffer__(0)
        view.__release_buffer__(direct)
        MemoryView(array).tolist()
        done[0] += 1

threads = [threading.Thread(target=export_forever, args=(n,)) for n in range(3)]
for thread in threads:
    thread.start()
collections = 0
deadline = time.monotonic() + 0.5
last_chance = deadline + 10  # a slow (debug) build still gets its collections
while time.monotonic() < deadline or (
    min(collections, done[0]) < 100 and time.monotonic() < last_chance
):
    gc.collect(0)
    collections += 1
stop.set()
for thread in threads:
    thread.join()
emit("result", {"ignored": ignored[:3], "exports": done[0], "collections": collections})
"""


def test_collections_while_other_threads_export() -> None:
    """The collector runs (and bufferkit's ``gc.callbacks`` with it) while other
    threads make and release exports: no callback may fail (on 3.12.0-3.12.6 the
    shield bookkeeping iterates a dict those threads change)."""
    got = run(COLLECTIONS)["result"]
    assert got["exports"] >= 100 and got["collections"] >= 100, got
    assert got["ignored"] == [], got["ignored"]
