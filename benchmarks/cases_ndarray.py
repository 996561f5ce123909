"""NDArray against C ``_testbuffer.ndarray``: building, reading and exporting arrays."""

from __future__ import annotations

from typing import Any

from run import Case, Timed

MILLION = 1_000_000


def _testbuffer() -> Any:
    import _testbuffer  # skipped by the runner where the build lacks it

    return _testbuffer


def build_from_list() -> tuple[Timed, dict[str, Timed]]:
    from bufferkit import NDArray

    c = _testbuffer()
    items = list(range(MILLION))
    return (
        lambda: NDArray(items, shape=[MILLION], format="i"),
        {"_testbuffer": lambda: c.ndarray(items, shape=[MILLION], format="i")},
    )


def build_2d_from_tuples() -> tuple[Timed, dict[str, Timed]]:
    from bufferkit import NDArray

    c = _testbuffer()
    items = [(i, -i) for i in range(MILLION // 2)]
    shape = [1000, MILLION // 2000]
    return (
        lambda: NDArray(items, shape=shape, format="2i"),
        {"_testbuffer": lambda: c.ndarray(items, shape=shape, format="2i")},
    )


def tolist() -> tuple[Timed, dict[str, Timed]]:
    from bufferkit import NDArray

    c = _testbuffer()
    items = list(range(MILLION))
    ours = NDArray(items, shape=[MILLION], format="i")
    theirs = c.ndarray(items, shape=[MILLION], format="i")
    return ours.tolist, {"_testbuffer": theirs.tolist}


def tolist_pil_2d() -> tuple[Timed, dict[str, Timed]]:
    from bufferkit import NDArray
    from bufferkit.ndarray import ND_PIL

    c = _testbuffer()
    items = list(range(MILLION))
    ours = NDArray(items, shape=[1000, 1000], format="q", flags=ND_PIL)
    theirs = c.ndarray(items, shape=[1000, 1000], format="q", flags=ND_PIL)
    return ours.tolist, {"_testbuffer": theirs.tolist}


def tobytes_strided() -> tuple[Timed, dict[str, Timed]]:
    from bufferkit import NDArray

    c = _testbuffer()
    items = list(range(MILLION))
    ours = NDArray(items, shape=[1000, 1000], format="i")[::-1, ::2]
    theirs = c.ndarray(items, shape=[1000, 1000], format="i")[::-1, ::2]
    return ours.tobytes, {"_testbuffer": theirs.tobytes}


def export_memoryview() -> tuple[Timed, dict[str, Timed]]:
    from bufferkit import NDArray

    c = _testbuffer()
    ours = NDArray(list(range(64)), shape=[4, 4, 4], format="i")
    theirs = c.ndarray(list(range(64)), shape=[4, 4, 4], format="i")

    def take(array: Any) -> None:
        memoryview(array).release()

    return lambda: take(ours), {"_testbuffer": lambda: take(theirs)}


CASES = [
    Case("ndarray: build 1M ints from a list", build_from_list, {"_testbuffer": 1.0}),
    Case(
        "ndarray: build 500k '2i' items (tuples)",
        build_2d_from_tuples,
        note="tuples are checked (types, lengths) and flattened before one struct call",
    ),
    Case("ndarray: tolist() of 1M ints", tolist, {"_testbuffer": 1.0}),
    Case("ndarray: tolist() of a 1000x1000 PIL array", tolist_pil_2d, {"_testbuffer": 1.0}),
    Case("ndarray: tobytes() of a strided 500k view", tobytes_strided),
    Case(
        "ndarray: export + release a memoryview",
        export_memoryview,
        note="PEP 688 builds a memoryview per export; C fills a Py_buffer",
    ),
]
