"""What bufferkit costs besides time per call: the import, the memory each view
keeps, the peak memory of a large copy, and the first slicing of a new shape."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time

from run import Case, Measured, Row, Timed

from bufferkit import MemoryView

IMPORT_LIMIT_MS = 12.0
STDLIB_FLOOR = "import ctypes, struct, functools, collections, operator, itertools, math"


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


_MEASURE_IN_A_CHILD = """
import gc, json, sys, tracemalloc
from bufferkit import MemoryView


def bytes_each(make, count=20_000):
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = [make(i) for i in range(count)]
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del kept
    return used / count


def peak_mib(work):
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = work()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    del result
    return peak / 2**20


exporters = [bytes(100) for _ in range(20_000)]
data = bytearray(1000)
ours, builtin = MemoryView(data), memoryview(data)
found = {
    "exporter": (bytes_each(lambda i: MemoryView(exporters[i])),
                 bytes_each(lambda i: memoryview(exporters[i]))),
    "slice": (bytes_each(lambda i: ours[2:50]), bytes_each(lambda i: builtin[2:50])),
    "cast": (bytes_each(lambda i: ours.cast("B", (10, 100))),
             bytes_each(lambda i: builtin.cast("B", (10, 100)))),
    "new keys": (bytes_each(lambda i: ours[i % 900 : 950]),
                 bytes_each(lambda i: builtin[i % 900 : 950])),
}
if sys.argv[1:] == ["numpy"]:
    import numpy
    grid = numpy.zeros((4096, 4096), dtype=numpy.uint8)
    ours_t, builtin_t = MemoryView(grid).T, memoryview(grid.T)
    found["transposed"] = (peak_mib(ours_t.tobytes), peak_mib(builtin_t.tobytes))
print(json.dumps(found))
"""


@functools.cache
def _measured_in_a_child() -> dict[str, tuple[float, float]]:
    """Memory measured with ``tracemalloc`` in a child interpreter (tracing leaves
    the allocator of the process that ran it slower: the timings here would pay)."""
    try:
        import numpy  # noqa: F401

        argv = ["numpy"]
    except ImportError:
        argv = []
    output = subprocess.run(
        [sys.executable, "-c", _MEASURE_IN_A_CHILD, *argv],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, tuple[float, float]] = json.loads(output)
    return found


def memory_per_view() -> list[Row]:
    found = _measured_in_a_child()
    return [
        ("builtin, from an exporter", *found["exporter"], 1.5),
        ("builtin, a slice", *found["slice"], 1.3),
        ("builtin, a cast", *found["cast"], 1.3),
        ("builtin, slices of new keys", *found["new keys"], None),
    ]


def peak_transposed_tobytes() -> list[Row]:
    found = _measured_in_a_child()
    if "transposed" not in found:
        raise ImportError("numpy is needed for the transposed array")
    return [("builtin", *found["transposed"], 1.1)]


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
