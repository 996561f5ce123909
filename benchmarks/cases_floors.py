"""The floors of the per-call targets: a class written in Python that does only what
any pure-Python view must (dispatch into Python, one builtin call, a new object with
a view's dozen fields), against the builtin. No target: where bufferkit's ratio
misses one, its row here says how much of it no Python code can avoid."""

from __future__ import annotations

from typing import Any

from run import Case, Timed

DATA = bytes(range(100))
_new = object.__new__


class Floor:
    """A do-nothing view: each method is what any Python view pays at least."""

    __slots__ = ("__weakref__", "_a", "_b", "_c", "_d", "_e", "_f", "_g", "_h", "_i", "_j",
                 "_k", "_known", "_pin")  # fmt: skip

    def __init__(self, pin: memoryview) -> None:
        self._pin = pin
        self._known: dict[Any, int] = {slice(2, 50): 1, ("B", (10, 10)): 2, ("i", None): 3}

    def _new_view(self) -> Floor:
        view = _new(Floor)
        view._a, view._b, view._c, view._d, view._e, view._f = 1, 2, 3, 4, 5, 6
        view._g, view._h, view._i, view._j, view._k = 7, 8, 9, None, None
        return view

    def __getitem__(self, key: Any) -> Any:
        if type(key) is int or type(key) is tuple:
            return self._pin[key]
        self._known.get(key)
        return self._new_view()

    def cast(self, fmt: str, shape: tuple[int, ...] | None = None) -> Floor:
        self._known.get((fmt, shape))
        return self._new_view()

    def __len__(self) -> int:
        return len(self._pin)

    def tobytes(self) -> bytes:
        return self._pin.tobytes()

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._pin)

    def __release_buffer__(self, view: memoryview) -> None:
        view.release()


class SlicingFloor(Floor):
    """A do-nothing view whose every key is a slicing it has seen before."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        self._known.get(key)
        return self._new_view()


def _pair(ours: Timed, builtin: Timed) -> tuple[Timed, dict[str, Timed]]:
    return ours, {"builtin": builtin}


FLOOR, BUILTIN = Floor(memoryview(DATA)), memoryview(DATA)
FLOOR_2D, BUILTIN_2D = Floor(BUILTIN.cast("B", (10, 10))), BUILTIN.cast("B", (10, 10))


def _ndarray_export() -> tuple[Timed, dict[str, Timed]]:
    import _testbuffer

    theirs = _testbuffer.ndarray(list(range(100)), shape=[100])
    return (lambda: memoryview(FLOOR)), {"_testbuffer": lambda: memoryview(theirs)}


def _slices_2d_many_keys() -> tuple[Timed, dict[str, Timed]]:
    from cases_percall import slicing_32_keys

    def floor_of(grid: Any, keys: list[Any]) -> SlicingFloor:
        floor = SlicingFloor(memoryview(grid))
        floor._known = dict.fromkeys(keys, 1)
        return floor

    return slicing_32_keys(floor_of)


def _asarray() -> tuple[Timed, dict[str, Timed]]:
    import numpy

    return _pair(lambda: numpy.asarray(FLOOR), lambda: numpy.asarray(BUILTIN))


CASES = [
    Case(
        "floor: len(v)",
        lambda: _pair(lambda: len(FLOOR), lambda: len(BUILTIN)),
        note="(floor rows: the first column times a do-nothing view written in Python)",
    ),
    Case("floor: v[i]", lambda: _pair(lambda: FLOOR[3], lambda: BUILTIN[3])),
    Case("floor: v[i, j]", lambda: _pair(lambda: FLOOR_2D[3, 4], lambda: BUILTIN_2D[3, 4])),
    Case("floor: v[2:50]", lambda: _pair(lambda: FLOOR[2:50], lambda: BUILTIN[2:50])),
    Case(
        "floor: v.cast('B', (10, 10))",
        lambda: _pair(lambda: FLOOR.cast("B", (10, 10)), lambda: BUILTIN.cast("B", (10, 10))),
    ),
    Case("floor: v.tobytes(), 100 B", lambda: _pair(FLOOR.tobytes, BUILTIN.tobytes)),
    Case("floor: bytes(v), 100 B", lambda: _pair(lambda: bytes(FLOOR), lambda: bytes(BUILTIN))),
    Case(
        "floor: memoryview(v) and release",
        lambda: _pair(lambda: memoryview(FLOOR).release(), lambda: memoryview(BUILTIN).release()),
    ),
    Case("floor: numpy.asarray(v)", _asarray),
    Case("floor: memoryview(NDArray)", _ndarray_export),
    Case("floor: 2-D slices, 32 keys in turn", _slices_2d_many_keys),
]
