"""The release scenarios of the design thread, counted with an instrumented exporter.

``CountingExporter`` counts every getbuffer and release: one getbuffer per
``MemoryView(obj)``, none for derived views, exactly one release once the last
view (and the last buffer exported from any of them) is gone.
"""

from __future__ import annotations

import array
import contextlib
import gc
import mmap
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit import BufferFlags, MemoryView, acquire

from exporters import CountingExporter, FailingExporter
from layouts import examples, testbuffer

RELEASED = "operation forbidden on released memoryview object"

DERIVATIONS: dict[str, Callable[[MemoryView], Any]] = {
    "slice": lambda v: v[1:],
    "stepped slice": lambda v: v[::-2],
    "sub-view": lambda v: v.cast("B", (4, 4))[1:, ::2],
    "row": lambda v: v.cast("B", (4, 4))[2],
    "ellipsis": lambda v: v[...],
    "0-d": lambda v: v.cast("B", (4, 4))[1, ...],
    "cast": lambda v: v.cast("<i"),
    "cast N-d": lambda v: v.cast("B", (2, 8)),
    "transpose": lambda v: v.cast("B", (2, 8)).transpose(),
    "T": lambda v: v.cast("B", (2, 2, 4)).T,
    "toreadonly": lambda v: v.toreadonly(),
    "MemoryView(view)": MemoryView,
}


def counted() -> tuple[CountingExporter, MemoryView]:
    exporter = CountingExporter(bytearray(range(16)))
    return exporter, MemoryView(exporter)


def test_one_getbuffer_per_memoryview_of_an_exporter() -> None:
    exporter, view = counted()
    assert (exporter.gets, exporter.releases) == (1, 0)
    assert exporter.requests == [BufferFlags.FULL_RO]
    view.release()
    assert (exporter.gets, exporter.releases) == (1, 1)
    view.release()  # a second release does nothing
    assert exporter.releases == 1


@pytest.mark.parametrize("name", DERIVATIONS)
def test_derived_views_never_ask_the_exporter_again(name: str) -> None:
    exporter, view = counted()
    derived = DERIVATIONS[name](view)
    grandchild = MemoryView(derived)
    assert derived.tobytes() == grandchild.tobytes()
    assert exporter.gets == 1
    view.release()
    assert exporter.held == 1, "the derived views pin the exporter"
    derived.release()
    assert exporter.held == 1
    grandchild.release()
    assert (exporter.gets, exporter.releases) == (1, 1)


@pytest.mark.parametrize("name", DERIVATIONS)
def test_a_derived_view_outlives_its_parent_until_collected(name: str) -> None:
    exporter, view = counted()
    derived = DERIVATIONS[name](view)
    expected = derived.tobytes()
    view.release()
    assert derived.tobytes() == expected
    assert exporter.held == 1
    del derived
    gc.collect()
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_views_dropped_without_release_release_the_exporter_once() -> None:
    exporter, view = counted()
    children = [view[1:], view.cast("B", (4, 4)), view.toreadonly()]
    children.append(children[0])  # the same view twice
    del view, children
    gc.collect()
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_iterating_n_dimensional_views_takes_no_new_buffer() -> None:
    exporter, view = counted()
    rows = [row.tolist() for row in view.cast("B", (4, 4))]
    assert rows[1] == [4, 5, 6, 7]
    assert list(view[:3]) == [0, 1, 2] and 5 in view and view.count(5) == 1
    assert exporter.gets == 1
    view.release()
    gc.collect()
    assert exporter.releases == 1


EXPORTS: dict[str, Callable[[MemoryView], Any]] = {
    "memoryview": memoryview,
    "numpy.asarray": np.asarray,
    "memoryview of a slice": lambda v: memoryview(v[::2]),
}


@pytest.mark.parametrize("name", EXPORTS)
def test_release_and_with_refuse_while_an_export_is_held(name: str) -> None:
    exporter, view = counted()
    export = EXPORTS[name](view)
    if name == "memoryview of a slice":  # the slice holds the export, not the view itself
        view.release()
        assert exporter.held == 1
        del export
        gc.collect()
        assert exporter.releases == 1
        return
    with pytest.raises(BufferError):
        view.release()
    with pytest.raises(BufferError), view:
        pass
    assert view.tobytes() == bytes(range(16))  # still usable
    assert bytes(memoryview(export)) == bytes(range(16))
    del export
    gc.collect()
    view.release()
    assert (exporter.gets, exporter.releases) == (1, 1)


CONSUMERS: dict[str, Callable[[MemoryView], Callable[[], None]]] = {
    # each takes a buffer of the view and returns what lets go of it
    "memoryview": lambda v: memoryview(v).release,
    "memoryview, its obj kept": lambda v: _kept_obj(memoryview(v)),
    "numpy.asarray": lambda v: _gone(np.asarray(v)),
    "bytes": lambda v: _gone(bytes(v)),
    "C _testbuffer.ndarray": lambda v: _gone(testbuffer.ndarray(v, getbuf=BufferFlags.FULL_RO)),
    "struct.unpack_from": lambda v: _gone(struct.unpack_from("B", v)),
}


def _gone(result: object) -> Callable[[], None]:
    """For a consumer whose result holds no buffer (or is dropped at once)."""
    return lambda: None


def _kept_obj(consumer: memoryview) -> Callable[[], None]:
    obj = consumer.obj  # (for a Python exporter: CPython's wrapper of the export)

    def release() -> None:
        consumer.release()
        assert obj is not None  # the wrapper outlives the consumer's release

    return release


@pytest.mark.parametrize("name", CONSUMERS)
def test_a_consumers_release_ends_its_export_at_once(name: str) -> None:
    """No collection needed: a view can be released right after the consumer lets go."""
    for flags in (BufferFlags.FULL_RO, BufferFlags.SIMPLE):
        exporter = CountingExporter(bytearray(range(16)))
        view = MemoryView(exporter, flags)
        gc.disable()
        try:
            let_go = CONSUMERS[name](view)
            let_go()
            view.release()
        finally:
            gc.enable()
        assert (exporter.gets, exporter.releases) == (1, 1)


def test_with_releases_on_exit_and_slices_keep_the_exporter_pinned() -> None:
    exporter, view = counted()
    with view as entered:
        assert entered is view
        tail = view[8:]
    with pytest.raises(ValueError, match=RELEASED):
        view.tobytes()
    assert tail.tolist() == list(range(8, 16)) and exporter.held == 1
    with tail:
        pass
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_exports_are_zero_copy() -> None:
    data = bytearray(range(16))
    view = MemoryView(data)
    array = np.asarray(view[::-3])
    assert np.shares_memory(array, np.frombuffer(data, dtype=np.uint8))
    data[15] = 99
    assert array[0] == 99
    assert struct.unpack_from("<H", view, 2) == (0x0302,)
    assert bytes(view[2:4]) == b"\x02\x03"


FAILURES: dict[str, Callable[[MemoryView], Any]] = {
    "cast to a bad format": lambda v: v.cast("Q!!("),
    "cast of a wrong size": lambda v: v.cast("B", (5,)),
    "cast of a strided view": lambda v: v[::2].cast("H"),
    "assign a wrong shape": lambda v: v.__setitem__(slice(0, 4), b"abc"),
    "assign a wrong format": lambda v: v.__setitem__(slice(0, 4), memoryview(b"abcd").cast("c")),
    "assign a non-exporter": lambda v: v.__setitem__(slice(0, 4), [1, 2, 3, 4]),
    "assign a bad value": lambda v: v.__setitem__(0, 256),
    "assign to read-only": lambda v: v.toreadonly().__setitem__(0, 1),
    "index out of range": lambda v: v[16],
    "bad key": lambda v: v["a"],
    "writable export of read-only": lambda v: memoryview(v.toreadonly()).__buffer__(1),
    "contiguous export of strided": lambda v: acquire(v[::2], BufferFlags.C_CONTIGUOUS).__enter__(),
    "simple export of strided": lambda v: struct.unpack_from("B", v[::2]),
    "hash of writable": hash,
    "bad tobytes order": lambda v: v.tobytes("X"),
    "transpose with bad axes": lambda v: v.cast("B", (4, 4)).transpose(0, 0),
}


@pytest.mark.parametrize("name", FAILURES)
def test_failed_operations_leak_nothing(name: str) -> None:
    exporter, view = counted()
    with pytest.raises((TypeError, ValueError, IndexError, BufferError, NotImplementedError)):
        FAILURES[name](view)
    gc.collect()
    assert not view._held_exports()
    view.release()
    gc.collect()
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_failed_getbuffer_leaks_nothing() -> None:
    exporter = CountingExporter(b"abc")
    with pytest.raises(BufferError):
        MemoryView(exporter, BufferFlags.FULL)  # writable request of bytes
    assert (exporter.gets, exporter.releases) == (0, 0)
    with pytest.raises(TypeError):
        MemoryView([1, 2, 3])


def test_a_bytearray_can_be_resized_after_the_last_view_goes() -> None:
    data = bytearray(16)
    view = MemoryView(data)
    parts = [view[::2], view.cast("B", (4, 4)).T, MemoryView(view)]
    export = memoryview(parts[1])
    view.release()
    for part in parts:
        with pytest.raises(BufferError):
            data.append(0)
        if part is parts[1]:
            export.release()
        part.release()
    data.append(0)
    assert len(data) == 17


OPERATIONS: dict[str, Callable[[MemoryView], Any]] = {
    "tolist": lambda v: v.tolist(),
    "tobytes": lambda v: v.tobytes(),
    "hex": lambda v: v.hex(),
    "len": len,
    "iter": iter,
    "in": lambda v: 1 in v,
    "count": lambda v: v.count(1),
    "index": lambda v: v.index(1),
    "getitem": lambda v: v[0],
    "slice": lambda v: v[1:],
    "setitem": lambda v: v.__setitem__(0, 1),
    "delitem": lambda v: v.__delitem__(0),
    "cast": lambda v: v.cast("B"),
    "toreadonly": lambda v: v.toreadonly(),
    "transpose": lambda v: v.transpose(),
    "T": lambda v: v.T,
    "MemoryView(view)": MemoryView,
    "memoryview(view)": memoryview,
    "enter": lambda v: v.__enter__(),
    "hash": hash,
    **{name: (lambda v, name=name: getattr(v, name)) for name in ("obj", "nbytes", "readonly")},
    **{name: (lambda v, name=name: getattr(v, name)) for name in ("itemsize", "format", "ndim")},
    **{name: (lambda v, name=name: getattr(v, name)) for name in ("shape", "strides", "layout")},
    **{name: (lambda v, name=name: getattr(v, name)) for name in ("suboffsets", "contiguous")},
    **{name: (lambda v, name=name: getattr(v, name)) for name in ("c_contiguous", "f_contiguous")},
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_on_a_released_view_raises(name: str) -> None:
    view = MemoryView(bytearray(4))
    view.release()
    builtin = memoryview(bytearray(4))
    builtin.release()
    with pytest.raises(ValueError, match=f"^{RELEASED}$"):
        OPERATIONS[name](view)
    # (the builtin lacks the first five; iter() of a released one is a SystemError in 3.12)
    if name not in ("count", "index", "transpose", "T", "layout", "delitem", "iter"):
        with pytest.raises(ValueError, match=f"^{RELEASED}$"):
            OPERATIONS[name](builtin)
    assert repr(view).startswith("<released memory")
    view.release()  # releasing again is fine, as for the builtin
    view.__exit__(None, None, None)


def test_released_views_compare_by_identity_and_keep_their_hash() -> None:
    view, other = MemoryView(b"ab"), MemoryView(b"ab")
    digest = hash(view)
    assert digest == hash(memoryview(b"ab"))
    view.release()
    assert hash(view) == digest
    assert view == view and view != other and other != view
    assert repr(other).startswith("<memory")


def test_derived_views_keep_their_snapshot_when_the_exporter_changes_layout() -> None:
    exporter = testbuffer.ndarray(list(range(12)), shape=[12], flags=testbuffer.ND_VAREXPORT)
    view = MemoryView(exporter)
    grid = view.cast("B", (3, 4))
    exporter.push([9, 8, 7], shape=[3])
    assert MemoryView(exporter).tolist() == [9, 8, 7]
    assert MemoryView(view).tolist() == list(range(12))
    assert grid[1].tolist() == [4, 5, 6, 7]


@examples(100)
@given(st.lists(st.sampled_from([*sorted(DERIVATIONS), "release", "export", "drop"]), max_size=12))
def test_any_sequence_of_derivations_and_releases_releases_once(steps: list[str]) -> None:
    exporter = CountingExporter(bytearray(range(16)))
    alive: list[MemoryView] = [MemoryView(exporter)]
    exports: list[memoryview] = []
    for step in steps:
        if not alive:
            break
        if step == "export":
            exports.append(memoryview(alive[-1]))
        elif step in ("release", "drop") and not alive[-1]._held_exports():
            gone = alive.pop()
            if step == "release":
                gone.release()
            del gone
        elif step in DERIVATIONS:
            # (some derivations need a layout this view lacks: C-contiguous, 16 bytes)
            with contextlib.suppress(TypeError, ValueError):
                alive.append(DERIVATIONS[step](alive[-1]))
        # (views make no reference cycles: dropping the last reference releases at once)
        assert exporter.gets == 1 and exporter.held == int(bool(alive or exports))
    for export in exports:
        export.release()
    del alive, exports
    assert (exporter.gets, exporter.releases) == (1, 1)


FAILING_ON_A_MAP: dict[str, Callable[[MemoryView], Any]] = {
    "index out of range": lambda v: v[99],
    "bad key": lambda v: v["a"],
    "bad tobytes order": lambda v: v.tobytes("X"),
    "cast of a wrong size": lambda v: v.cast("B", (5,)),
    "refused export": lambda v: v.__buffer__(BufferFlags.FORMAT),
    "bad value": lambda v: v.__setitem__(0, 256),
    "wrong shape": lambda v: v.__setitem__(slice(0, 4), b"abc"),
    "hash of writable memory": hash,
    "comparison with a failing exporter": lambda v: v == FailingExporter(RuntimeError("no")),
}


@pytest.mark.parametrize("name", FAILING_ON_A_MAP)
def test_a_failed_operation_does_not_hold_the_memory_through_its_traceback(name: str) -> None:
    """A traceback keeps the locals of its frames: beyond the view itself (``self``,
    released here), none of them may hold the request."""
    mapped = mmap.mmap(-1, 16)
    view = MemoryView(mapped)
    try:
        FAILING_ON_A_MAP[name](view)
    except Exception as error:
        kept = error  # the traceback stays alive, as in a REPL or under pytest.raises
    else:
        pytest.fail(f"{name} did not fail")
    view.release()
    mapped.close()  # BufferError if a frame of the traceback still held the request
    assert kept.__traceback__ is not None


def test_an_exporters_hash_cannot_release_the_view_being_hashed() -> None:
    """As the builtin's (gh-142664): the view counts an export while its exporter's
    ``__hash__`` runs, so a ``release()`` there is refused and the memory stays."""

    class Exporter(array.array):  # type: ignore[type-arg]
        def __hash__(self) -> int:
            view.release()
            return 123

    view = MemoryView(Exporter("B", b"A" * 64)).toreadonly()
    with pytest.raises(BufferError):
        hash(view)
    assert view.tobytes() == b"A" * 64


def test_a_slice_made_while_its_key_releases_the_view_shares_the_memory() -> None:
    """As the builtin's: the key's ``__index__`` may release the view; a slice made
    meanwhile still reads the memory it holds, an item is refused."""
    view = MemoryView(bytearray(b"\xff" * 16))

    class ReleasingIndex:
        def __index__(self) -> int:
            view.release()
            return 4

    assert view[: ReleasingIndex()].tolist() == [255] * 4  # type: ignore[misc]
    view = MemoryView(bytearray(b"\xff" * 16))
    with pytest.raises(ValueError, match="released"):
        view[ReleasingIndex()]
