"""Per-call costs against the builtin memoryview, NumPy and C ``_testbuffer`` (the
targets of the per-call issue): small operations, where Python-level work per call is
what counts, and bulk ones, which must stay at the builtin's speed."""

from __future__ import annotations

import array
import struct
from collections.abc import Callable
from typing import Any

from run import Case, Timed

from bufferkit import MemoryView, NDArray

SMALL = bytes(range(100))


def _numpy() -> Any:
    import numpy

    return numpy


def view_from_exporter() -> tuple[Timed, dict[str, Timed]]:
    data = bytes(100)
    return (lambda: MemoryView(data)), {"builtin": lambda: memoryview(data)}


def equal_foreign() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin, other = MemoryView(SMALL), memoryview(SMALL), bytes(SMALL)
    assert ours == other and builtin == other
    return (lambda: ours == other), {"builtin": lambda: builtin == other}


def hash_fresh() -> tuple[Timed, dict[str, Timed]]:
    data = SMALL
    assert hash(MemoryView(data)) == hash(memoryview(data))
    return (lambda: hash(MemoryView(data))), {"builtin": lambda: hash(memoryview(data))}


def ndarray_export() -> tuple[Timed, dict[str, Timed]]:
    import _testbuffer

    ours = NDArray(list(range(100)), shape=[100])
    theirs = _testbuffer.ndarray(list(range(100)), shape=[100])
    return (lambda: memoryview(ours)), {"_testbuffer": lambda: memoryview(theirs)}


def cast_2d() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    return (lambda: ours.cast("B", (10, 10))), {"builtin": lambda: builtin.cast("B", (10, 10))}


def cast_format() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    return (lambda: ours.cast("i")), {"builtin": lambda: builtin.cast("i")}


def slice_1d() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    return (lambda: ours[2:50]), {"builtin": lambda: builtin[2:50]}


def small_tobytes() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    return ours.tobytes, {"builtin": builtin.tobytes}


def small_bytes() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    return (lambda: bytes(ours)), {"builtin": lambda: bytes(builtin)}


def export_memoryview() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)

    def mine() -> None:
        with memoryview(ours):
            pass

    def theirs() -> None:
        with memoryview(builtin):
            pass

    return mine, {"builtin": theirs}


def numpy_asarray() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    return (lambda: np.asarray(ours)), {"builtin": lambda: np.asarray(builtin)}


def slices_2d_many_keys() -> tuple[Timed, dict[str, Timed]]:
    return slicing_32_keys(lambda grid, keys: MemoryView(grid))


def slicing_32_keys(view_of: Callable[[Any, list[Any]], Any]) -> tuple[Timed, dict[str, Timed]]:
    """32 different 2-D slicings in turn: ``view_of(grid, keys)`` against NumPy."""
    np = _numpy()
    grid = np.zeros((64, 64), dtype=np.uint8)
    keys = [(slice(i, i + 10), slice(None, None, 1 + i % 4)) for i in range(32)]
    ours = view_of(grid, keys)
    position = [0]

    def mine() -> object:
        position[0] = (position[0] + 1) % 32
        return ours[keys[position[0]]]

    def theirs() -> object:
        position[0] = (position[0] + 1) % 32
        return grid[keys[position[0]]]

    return mine, {"numpy": theirs}


def length() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    return (lambda: len(ours)), {"builtin": lambda: len(builtin)}


def item_1d() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(SMALL), memoryview(SMALL)
    assert ours[7] == builtin[7]
    return (lambda: ours[7]), {"builtin": lambda: builtin[7]}


def item_2d() -> tuple[Timed, dict[str, Timed]]:
    ours = MemoryView(SMALL).cast("B", (10, 10))
    builtin = memoryview(SMALL).cast("B", (10, 10))
    key = (3, 4)
    assert ours[key] == builtin[key]
    return (lambda: ours[key]), {"builtin": lambda: builtin[key]}


MEGA = bytes(range(256)) * 4096  # 1 MiB


def iterate() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(MEGA), memoryview(MEGA)

    def mine() -> None:
        for _ in ours:
            pass

    def theirs() -> None:
        for _ in builtin:
            pass

    return mine, {"builtin": theirs}


def total() -> tuple[Timed, dict[str, Timed]]:
    ours, builtin = MemoryView(MEGA), memoryview(MEGA)
    assert sum(ours) == sum(builtin)
    return (lambda: sum(ours)), {"builtin": lambda: sum(builtin)}


def assign_all() -> tuple[Timed, dict[str, Timed]]:
    target_a, target_b = bytearray(len(MEGA)), bytearray(len(MEGA))
    ours, builtin = MemoryView(target_a), memoryview(target_b)
    source = memoryview(MEGA)

    def mine() -> None:
        ours[:] = source

    def theirs() -> None:
        builtin[:] = source

    return mine, {"builtin": theirs}


def tobytes_transposed_large() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    grid = np.zeros((4096, 4096), dtype=np.uint8)
    ours, builtin = MemoryView(grid).T, memoryview(grid.T)
    return ours.tobytes, {"builtin": builtin.tobytes}


RECORDS = 1_000_000


def tolist_records() -> tuple[Timed, dict[str, Timed]]:
    floor = struct.Struct("@id")  # 'T{i:a:d:b:}' in '@' mode: 4 + 4 padding + 8 bytes
    data = floor.pack(1, 0.5) * RECORDS
    ours = MemoryView(data).cast("T{i:a:d:b:}")
    assert ours.tolist()[:2] == list(floor.iter_unpack(data[:32]))
    return ours.tolist, {"struct.iter_unpack": lambda: list(floor.iter_unpack(data))}


def tolist_swapped_doubles() -> tuple[Timed, dict[str, Timed]]:
    data = struct.pack(f">{RECORDS}d", *range(RECORDS))
    ours = MemoryView(data).cast(">d")

    def floor() -> list[float]:
        values = array.array("d", data)
        values.byteswap()
        return values.tolist()

    assert ours.tolist()[:3] == floor()[:3]
    return ours.tolist, {"array+byteswap": floor}


CASES = [
    Case("per call: MemoryView(bytes(100))", view_from_exporter, {"builtin": 4.0}),
    Case("per call: v == bytes, 100 B", equal_foreign, {"builtin": 4.0}),
    Case("per call: hash of a fresh view", hash_fresh, {"builtin": 4.0}),
    Case("per call: memoryview(NDArray)", ndarray_export, {"_testbuffer": 4.0}),
    Case("per call: v.cast('B', (10, 10))", cast_2d, {"builtin": 3.0}),
    Case("per call: v.cast('i')", cast_format, {"builtin": 3.0}),
    Case("per call: v[2:50]", slice_1d, {"builtin": 3.0}),
    Case("per call: v.tobytes(), 100 B", small_tobytes, {"builtin": 3.0}),
    Case("per call: bytes(v), 100 B", small_bytes, {"builtin": 3.0}),
    Case("per call: memoryview(v) and release", export_memoryview, {"builtin": 3.0}),
    Case("per call: numpy.asarray(v)", numpy_asarray, {"builtin": 3.0}),
    Case("per call: 2-D slices, 32 keys in turn", slices_2d_many_keys, {"numpy": 3.0}),
    Case("per call: len(v)", length, {"builtin": 2.0}),
    Case("per call: v[i]", item_1d, {"builtin": 2.0}),
    Case("per call: v[i, j]", item_2d, {"builtin": 2.0}),
    Case("bulk: for x in v, 1 MiB", iterate, {"builtin": 1.1}),
    Case("bulk: sum(v), 1 MiB", total, {"builtin": 1.1}),
    Case("bulk: v[:] = src, 1 MiB", assign_all, {"builtin": 1.1}),
    Case("bulk: tobytes of a transposed 4096x4096", tobytes_transposed_large, {"builtin": 1.1}),
    Case("bulk: tolist of 1M 'T{i:a:d:b:}'", tolist_records, {"struct.iter_unpack": 1.1}),
    Case("bulk: tolist of 1M '>d'", tolist_swapped_doubles, {"array+byteswap": 1.1}),
]
