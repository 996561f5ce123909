"""What bufferkit costs besides time per call: the import, the memory each view
keeps, the peak memory of a large copy, and the first slicing of a new shape."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

from run import Case, Measured, Row, Timed

from bufferkit import MemoryView

IMPORT_LIMIT_MS = 12.0
STDLIB_FLOOR = "import enum, ctypes, struct, functools, collections, operator, itertools, math"


def _startup_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def import_time() -> list[Row]:
    """Milliseconds ``import bufferkit`` adds to a bare interpreter (cached bytecode:
    one import first writes it), best of interleaved runs."""
    codes = {"bare": "pass", "stdlib": STDLIB_FLOOR, "bufferkit": "import bufferkit"}
    _startup_seconds(codes["bufferkit"])
    best = dict.fromkeys(codes, float("inf"))
    for _ in range(20):
        for name, code in codes.items():
            best[name] = min(best[name], _startup_seconds(code))
    over = {name: (seconds - best["bare"]) * 1e3 for name, seconds in best.items()}
    return [
        ("over a bare interpreter", over["bufferkit"], None, IMPORT_LIMIT_MS),
        ("(its stdlib modules alone)", over["stdlib"], None, None),
    ]


def _bytes_each(make: Callable[[int], object], count: int = 20_000) -> float:
    """Bytes that ``count`` live results of ``make(i)`` hold, per result."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [make(i) for i in range(count)]
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del kept
    return used / count


def memory_per_view() -> list[Row]:
    exporters = [bytes(100) for _ in range(20_000)]
    data = bytearray(1000)
    ours, builtin = MemoryView(data), memoryview(data)
    return [
        (
            "builtin, from an exporter",
            _bytes_each(lambda i: MemoryView(exporters[i])),
            _bytes_each(lambda i: memoryview(exporters[i])),
            1.5,
        ),
        (
            "builtin, a slice",
            _bytes_each(lambda i: ours[2:50]),
            _bytes_each(lambda i: builtin[2:50]),
            1.3,
        ),
        (
            "builtin, a cast",
            _bytes_each(lambda i: ours.cast("B", (10, 100))),
            _bytes_each(lambda i: builtin.cast("B", (10, 100))),
            1.3,
        ),
        (
            "builtin, slices of new keys",
            _bytes_each(lambda i: ours[i % 900 : 950]),
            _bytes_each(lambda i: builtin[i % 900 : 950]),
            None,
        ),
    ]


def _peak_bytes(work: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = work()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    del result
    return peak / 2**20


def peak_transposed_tobytes() -> list[Row]:
    import numpy

    grid = numpy.zeros((4096, 4096), dtype=numpy.uint8)
    ours, builtin = MemoryView(grid).T, memoryview(grid.T)
    return [("builtin", _peak_bytes(ours.tobytes), _peak_bytes(builtin.tobytes), 1.1)]


def first_slicing_of_a_shape() -> tuple[Timed, dict[str, Timed]]:
    """Slices whose keys no view has seen (the remembered slicings never match)."""
    data = bytes(4096)
    ours, builtin = MemoryView(data), memoryview(data)
    keys = [slice(start, start + 7 + start % 5) for start in range(4000)]
    turn = iter(range(10**12))

    def mine() -> object:
        return ours[keys[next(turn) % 4000]]

    def theirs() -> object:
        return builtin[keys[next(turn) % 4000]]

    return mine, {"builtin": theirs}


CASES = [
    Measured("footprint: import bufferkit", import_time, "ms"),
    Measured(
        "footprint: memory per view",
        memory_per_view,
        "B",
        note="(new keys: each view owns its layout, a shape tuple and an offset int)",
    ),
    Measured("footprint: peak memory, transposed tobytes", peak_transposed_tobytes, "MiB"),
    Case("first call: a slice of a new shape", first_slicing_of_a_shape),
]
