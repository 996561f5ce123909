"""MemoryView against the builtin memoryview and NumPy (the targets of the MemoryView issue)."""

from __future__ import annotations

import marshal
import sys
from typing import Any

from run import Case, Timed

from bufferkit import MemoryView, formats


def _numpy() -> Any:
    import numpy

    return numpy


def tolist_doubles() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    data = np.arange(1_000_000, dtype=np.float64)
    ours, builtin = MemoryView(data), memoryview(data)
    return ours.tolist, {"builtin": builtin.tolist, "numpy": data.tolist}


def tobytes_transposed() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    grid = np.arange(1_000_000, dtype=np.uint32).astype(np.uint8).reshape(1000, 1000)
    ours = MemoryView(grid).T
    builtin = memoryview(grid.T)
    assert ours.tobytes() == builtin.tobytes() == grid.T.tobytes()
    return ours.tobytes, {"builtin": builtin.tobytes, "numpy": grid.T.tobytes}


def read_element() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    grid = np.arange(1_000_000, dtype=np.int64).reshape(1000, 1000)
    ours, builtin = MemoryView(grid), memoryview(grid)
    key = (123, 456)
    assert ours[key] == builtin[key] == 123456
    return (lambda: ours[key]), {"builtin": lambda: builtin[key], "numpy": lambda: grid[key]}


def compare_strided() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    first = np.arange(1_000_000, dtype=np.int32)[::2]
    second = first.copy()[::1]
    second = np.repeat(second, 2)[::2]
    ours_a, ours_b = MemoryView(first), MemoryView(second)
    builtin_a, builtin_b = memoryview(first), memoryview(second)
    assert ours_a.strides == (8,) and ours_a == ours_b and builtin_a == builtin_b
    return (lambda: ours_a == ours_b), {
        "builtin": lambda: builtin_a == builtin_b,
        "numpy": lambda: (first == second).all(),
    }


def _tolist_complex(dtype: str) -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    data = (np.arange(200_000, dtype=np.complex128) * (1 + 2j)).astype(dtype)
    ours = MemoryView(data)
    assert ours.tolist() == data.tolist()
    records = marshal.dumps(data.tolist(), 2)  # a list of binary complex records, no refs

    def marshal_alone() -> object:
        return marshal.loads(records)

    return ours.tolist, {"numpy": data.tolist, "marshal.loads alone": marshal_alone}


def tolist_complex() -> tuple[Timed, dict[str, Timed]]:
    return _tolist_complex("=c16")


def tolist_complex_swapped() -> tuple[Timed, dict[str, Timed]]:
    return _tolist_complex(_SWAPPED + "c16")


def tolist_doubles_swapped() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    data = np.arange(1_000_000, dtype=_SWAPPED + "f8")
    ours = MemoryView(data)
    assert ours.tolist() == data.tolist()
    return ours.tolist, {"numpy": data.tolist}


def slice_2d() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    grid = np.zeros((100, 100), dtype=np.uint8)
    ours, builtin = MemoryView(grid), memoryview(grid.reshape(-1))
    assert ours[10:20, ::2].shape == (10, 50)
    return (lambda: ours[10:20, ::2]), {
        "builtin 1-D slice": lambda: builtin[10:20],
        "numpy 2-D slice": lambda: grid[10:20, ::2],
    }


def slice_2d_first_time() -> tuple[Timed, dict[str, Timed]]:
    np = _numpy()
    grid = np.zeros((100, 100), dtype=np.uint8)
    ours, builtin = MemoryView(grid), memoryview(grid.reshape(-1))

    def first_slicing() -> object:
        ours._slicings = None  # forget the layouts of earlier slicings
        return ours[10:20, ::2]

    return first_slicing, {"builtin 1-D slice": lambda: builtin[10:20]}


_SWAPPED = ">" if sys.byteorder == "little" else "<"
# 3.14's struct reads complex numbers ('D'), 3.15's memoryview too ('Zd'): then tolist is
# within 1.2x of NumPy's; before, marshal.loads is the only bulk maker of complex numbers.
_C_READS_COMPLEX = formats._STRUCT_COMPLEX or "Zd" in formats._NATIVE_SINGLE
_COMPLEX_TARGET = {"numpy": 1.2 if _C_READS_COMPLEX else 1.5}
_COMPLEX_NOTE = (
    "C reads complex numbers here (struct 'D' from 3.14, memoryview 'Zd' from 3.15)"
    if _C_READS_COMPLEX
    else "the floor: marshal.loads of the records is the only bulk maker of complex "
    "numbers in CPython 3.12/3.13 (struct reads them from 3.14, memoryview from 3.15)"
)

CASES = [
    Case("MemoryView.tolist, 1M doubles", tolist_doubles, {"builtin": 1.1}),
    Case(
        "MemoryView.tobytes, transposed 1000x1000 B",
        tobytes_transposed,
        {"builtin": 1.0, "numpy": 3.0},
    ),
    Case("MemoryView v[i, j] read", read_element, {"builtin": 3.0}),
    Case("MemoryView ==, 500k strided ints", compare_strided, {"builtin": 1.2}),
    Case("MemoryView.tolist, 200k complex", tolist_complex, _COMPLEX_TARGET, note=_COMPLEX_NOTE),
    Case(
        "MemoryView.tolist, 200k byte-swapped complex",
        tolist_complex_swapped,
        _COMPLEX_TARGET,
        note=_COMPLEX_NOTE,
    ),
    Case("MemoryView.tolist, 1M byte-swapped doubles", tolist_doubles_swapped, {"numpy": 1.3}),
    Case("MemoryView 2-D slice v[10:20, ::2]", slice_2d, {"builtin 1-D slice": 10.0}),
    Case(
        "MemoryView 2-D slice, first time",
        slice_2d_first_time,
        note="the slicing path before the view remembers the key's layout (no target)",
    ),
]
