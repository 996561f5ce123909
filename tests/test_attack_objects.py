"""Attack class 1: object pointers (``'O'`` items) made from arbitrary bytes, or written.

Required: a cast to a format holding ``'O'`` is refused (from any view, and by
``from_memory``); a cast away from one is read-only; ``'O'`` items are never
written (by MemoryView, by its exports, by NDArray); they are read only where the
exporter exported ``'O'`` -- and then NULL pointers raise, and an object freed
while bufferkit unpacks the items is never returned.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from attack import run_each, verdict_of
from object_variants import O_FORMATS, OPS, READS, VARIANTS

REFUSED = {"ValueError", "TypeError", "NotImplementedError"}


@functools.cache
def results() -> dict[str, Any]:
    return run_each("from object_variants import main; main()", list(VARIANTS))


CASTS = [
    "cast_bytes_to_O",
    "cast_2d_to_O",
    "cast_readonly_to_O",
    "cast_from_P_to_O",
    "from_memory_O",
    "cast_object_array_to_O",
]


@pytest.mark.parametrize("name", CASTS)
def test_casts_to_formats_holding_object_pointers_are_refused(name: str) -> None:
    verdict = verdict_of(results(), name)
    assert set(O_FORMATS) <= set(verdict), verdict
    accepted = {fmt: got for fmt, got in verdict.items() if got not in REFUSED}
    assert accepted == {}, f"casts to object formats accepted: {accepted}"


NULL_REFUSED = {"ValueError", "NotImplementedError"}
# reads that never build an object from a pointer
BYTE_READS = {"tobytes", "hex", "cast B tolist", "export bytes"}


@pytest.mark.parametrize("name", ["ctypes_nulls", "ctypes_some_nulls"])
def test_null_object_pointers_of_a_c_exporter_raise(name: str) -> None:
    verdict = verdict_of(results(), name)
    assert set(verdict) == set(READS), verdict
    for read, got in verdict.items():
        if read in BYTE_READS:
            assert got.startswith("ok"), (read, got)
        elif name == "ctypes_some_nulls" and read in ("item", "last item"):
            assert got == "ok: 'two'", (read, got)
        elif read == "hash":
            assert got in NULL_REFUSED | {"ValueError"}, (read, got)
        else:
            # "eq self" may answer True without reading an item (the builtin does)
            ok_answers = ("ok: True",) if read == "eq self" else ()
            assert got in NULL_REFUSED or got in ok_answers, (read, got)


def test_null_object_pointers_inside_records_raise() -> None:
    verdict = verdict_of(results(), "ctypes_struct_nulls")
    for read, got in verdict.items():
        if read == "format":
            continue
        assert got in NULL_REFUSED or got in ("ok: True",), (read, got)


def test_numpy_object_items_are_the_objects() -> None:
    verdict = verdict_of(results(), "numpy_reads_are_the_objects")
    assert verdict == {"same": True, "item": True, "in": True, "eq": True, "refcounts": True}


def test_object_items_are_never_written_by_a_memoryview() -> None:
    verdict = verdict_of(results(), "numpy_writes_refused")
    assert verdict.pop("cast B readonly") is True
    assert verdict.pop("cast B export readonly") is True
    assert verdict.pop("intact") is True
    wrote = {name: got for name, got in verdict.items() if got not in REFUSED}
    assert wrote == {}, f"object pointers written: {wrote}"


def test_object_fields_of_records_are_read_and_never_written() -> None:
    verdict = verdict_of(results(), "numpy_record_with_object_field")
    assert verdict["tolist"] is True, verdict
    assert verdict["write item"] in REFUSED, verdict
    assert verdict["cast B readonly"] == ["ok", True], verdict
    assert verdict["cast B write"] in REFUSED, verdict
    assert verdict["slice write"] in REFUSED, verdict


def test_the_export_of_an_object_view_does_not_let_a_consumer_write_pointers() -> None:
    """``memoryview(MemoryView(object_array))[:] = other_object_array``: the builtin
    memoryview copies item bytes, so a writable ``'O'`` export lets any consumer
    overwrite object pointers (no reference counting: a use after free later).
    The contract refuses writes of ``'O'`` items: the export must be read-only (or
    refuse a writable request)."""
    verdict = verdict_of(results(), "numpy_export_route")
    assert not verdict["wrote"], verdict
    assert not verdict["writable request wrote"], verdict


def test_ndarray_never_copies_object_items() -> None:
    verdict = verdict_of(results(), "ndarray_reexport_assignment")
    assert not verdict["wrote"], f"NDArray slice assignment copied object pointers: {verdict}"
    assert verdict["outcome"] in REFUSED | {"BufferError"}, verdict


@pytest.mark.parametrize("op", list(OPS))
def test_an_object_freed_while_its_pointer_is_unpacked_is_never_returned(op: str) -> None:
    """Another thread keeps replacing the items of a NumPy object array (each old
    object dies) while this thread reads them through a view. Reading an item must
    take its reference in the same step as it reads the pointer (no Python code
    between): what comes back is an old or a new object, never freed memory."""
    verdict = verdict_of(results(), "freed under " + op)
    assert verdict["reads"] >= 3 and verdict["churned"] >= 100, f"no race: {verdict}"
    assert verdict["strange"] == [], f"freed objects returned: {verdict}"
