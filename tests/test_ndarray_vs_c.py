"""NDArray against CPython's C ``_testbuffer.ndarray``: the same input, the same behaviour.

Random constructions (every outcome, attribute, value, builtin memoryview and
re-export with every distinct request), indexing, slicing, slice assignment,
push/pop and the module functions are run on both and compared. The C module
is fed only input it validates itself: moderate shapes, strides and offsets.
"""

from __future__ import annotations

import array
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bufferkit import testbuffer as ours
from bufferkit.flags import BufferFlags as F

from oracles import (
    BAD_ITEMS,
    REQUESTS,
    Labels,
    Spec,
    array_summary,
    good_items,
    items_of,
    memoryview_outcome,
    often,
    outcome,
    rarely,
    reexport_outcomes,
    specs,
)

theirs = pytest.importorskip("_testbuffer")

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _both(spec: Spec) -> tuple[Any, Any]:
    """What building ``spec`` gives with C's module and with ours."""
    keep = lambda array: array  # noqa: E731
    return outcome(lambda: spec.build(theirs), keep), outcome(lambda: spec.build(ours), keep)


@given(specs())
@SETTINGS
def test_constructions_agree_everywhere(spec: Spec) -> None:
    """Both accept or both refuse (same type and message); accepted arrays agree on
    every attribute, value, builtin memoryview and re-export with every request."""
    c_made, py_made = _both(spec)
    event("accepted" if c_made[0] == "ok" else f"refused: {c_made[0].__name__} {c_made[1][:40]}")
    assert c_made[0] == py_made[0]
    if c_made[0] != "ok":
        assert c_made == py_made
        return
    c_array, py_array = c_made[1], py_made[1]
    event(f"pil={bool(c_array.flags & ours.ND_PIL)}, strides[0] < 0: {c_array.strides[:1] < (0,)}")
    c_labels, py_labels = Labels(), Labels()
    c_labels.add(c_array, "x")
    py_labels.add(py_array, "x")
    assert array_summary(c_array, c_labels) == array_summary(py_array, py_labels)
    assert memoryview_outcome(c_array) == memoryview_outcome(py_array)
    c_reexports = reexport_outcomes(theirs.ndarray, c_array, c_labels, REQUESTS)
    py_reexports = reexport_outcomes(ours.ndarray, py_array, py_labels, REQUESTS)
    for c_result, py_result in zip(c_reexports, py_reexports, strict=True):
        assert c_result == _beyond_pep688(py_array, c_result, py_result)


TOO_MANY_DIMS = (ValueError, "memoryview: number of dimensions must not exceed 64")


def _beyond_pep688(array: Any, c_result: Any, py_result: Any) -> Any:
    """PEP 688 exports through a builtin memoryview: more than 64 dimensions cannot
    be exported, nor indexed or sliced (a sub-array is a re-export, made before the
    key is looked at); C can. Where ours failed so, C must not have been refused for
    a reason found before the export; ``c_result`` is then returned. Results are an
    outcome, or a (request, outcome) pair."""
    if array.ndim <= 64:
        return py_result
    keyed = isinstance(c_result[0], int)
    c_outcome, py_outcome = (c_result[1], py_result[1]) if keyed else (c_result, py_result)
    if py_outcome != TOO_MANY_DIMS:
        return py_result
    assert c_outcome[0] in ("ok", TypeError, IndexError, ValueError)
    return c_result


@pytest.mark.parametrize(
    "spec",
    [
        Spec(list(range(12)), [3, 4], None, 0, "i", 2),
        Spec(list(range(24)), [2, 3, 4], [-48, 16, -4], 60, "<i", 0),
        Spec(list(range(12)), [2, 2, 3], [-6, 3, -1], 8, "B", 16),
        Spec(list(range(6)), [2, 3], None, 0, "h", 4 | 2),
        Spec(list(range(5)), [0], [-2], 4, "H", 0),
        Spec(7, [], None, 0, "q", 2),
    ],
    ids=["c-writable", "negative-strides", "pil", "fortran", "empty-odd-stride", "scalar"],
)
def test_every_raw_request_value_agrees(spec: Spec) -> None:
    """All 512 values of the request bits (not only one per class) give the same re-export."""
    c_array, py_array = spec.build(theirs), spec.build(ours)
    c_labels, py_labels = Labels(), Labels()
    c_labels.add(c_array, "x")
    py_labels.add(py_array, "x")
    requests = list(range(512))
    for c_result, py_result in zip(
        reexport_outcomes(theirs.ndarray, c_array, c_labels, requests),
        reexport_outcomes(ours.ndarray, py_array, py_labels, requests),
        strict=True,
    ):
        assert c_result == py_result


# --- indexing, slicing, slice assignment ---------------------------------------------

BOUNDS = st.one_of(st.none(), st.integers(-7, 7))
SLICES = st.builds(slice, BOUNDS, BOUNDS, st.one_of(st.none(), st.integers(-3, 3)))
ODD_KEYS = st.sampled_from(["a", 1.5, None, Ellipsis, (), [0], 2**70, True, (0,), (Ellipsis,)])


def keys_for(ndim: int) -> st.SearchStrategy[Any]:
    """Keys both implementations accept or refuse: never more slices than dimensions
    (C writes past its arrays then)."""
    slices = st.lists(SLICES, max_size=ndim).map(tuple)
    full = st.lists(SLICES, min_size=ndim, max_size=ndim).map(tuple)
    mixed = st.lists(st.one_of(SLICES, st.integers(-3, 3)), min_size=1, max_size=ndim).map(tuple)
    return st.one_of(
        st.integers(-6, 6), SLICES, full, full, slices, mixed if ndim else slices, ODD_KEYS
    )


def _result_summary(result: Any, labels: Labels) -> Any:
    if hasattr(result, "tolist") and hasattr(result, "suboffsets"):
        labels.add(result, "result")
        return (array_summary(result, labels), memoryview_outcome(result))
    return result


def _indexed(array: Any, keys: list[Any], labels: Labels) -> list[Any]:
    """Index ``array`` with each key in turn (a key applies to the previous result)."""
    found = []
    current = array
    for key in keys:
        made = outcome(lambda key=key, of=current: of[key], describe=lambda value: value)
        if made[0] != "ok":
            found.append(made)
            break
        found.append(("ok", _result_summary(made[1], labels)))
        if not hasattr(made[1], "suboffsets"):
            break
        current = made[1]
    return found


@st.composite
def indexing_cases(draw: st.DrawFn) -> tuple[Spec, list[Any]]:
    spec = draw(specs(bad=False))
    ndim = len(spec.shape) if isinstance(spec.shape, list) else 0
    keys = [draw(keys_for(ndim)), draw(keys_for(max(ndim - 1, 0)))]
    return spec, keys


@given(indexing_cases())
@SETTINGS
def test_indexing_and_slicing_agree(case: tuple[Spec, list[Any]]) -> None:
    """Items, sub-arrays and slices: same values, attributes, flags and errors."""
    spec, keys = case
    c_made, py_made = _both(spec)
    assert c_made[0] == py_made[0]
    if c_made[0] != "ok":
        return
    c_labels, py_labels = Labels(), Labels()
    c_labels.add(c_made[1], "x")
    py_labels.add(py_made[1], "x")
    c_found = _indexed(c_made[1], keys, c_labels)
    py_found = _indexed(py_made[1], keys, py_labels)
    assert c_found[:1] == [_beyond_pep688(c_made[1], c_found[0], py_found[0])]
    if c_made[1].ndim <= 64:
        assert c_found == py_found


def _assign(module: Any, array: Any, key: Any, source: Any) -> Any:
    """``array[key] = value``, where a source spec is built with ``module`` first."""

    def store() -> None:
        array[key] = source.build(module) if isinstance(source, Spec) else source

    return outcome(store)


@st.composite
def assignments(draw: st.DrawFn) -> tuple[Spec, Any, Any]:
    """A writable array, a key and a value: an item, an exporter of the key's shape
    (built from a source spec) or of another shape, or the array itself shifted."""
    spec = draw(specs(bad=False))
    spec.flags |= ours.ND_WRITABLE
    ndim = len(spec.shape) if isinstance(spec.shape, list) else 0
    key = draw(keys_for(ndim))
    fmt = spec.format if isinstance(spec.format, str) else "B"
    try:
        target = theirs.ndarray(spec.items, **spec.kwargs())[key]
    except Exception:
        return spec, key, draw(st.one_of(items_of(fmt), BAD_ITEMS))
    if not hasattr(target, "shape"):
        return spec, key, draw(st.one_of(items_of(fmt), BAD_ITEMS))
    shape = list(target.shape)
    if rarely(draw, 4) and shape:
        shape[0] += 1
    count = 1
    for extent in shape:
        count *= extent
    values = draw(st.lists(good_items(fmt), min_size=max(count, 1), max_size=max(count, 1)))
    source_format = fmt if not rarely(draw, 6) else "=" + fmt.lstrip("@=<>!")
    source = Spec(values if shape else values[0], shape, None, 0, source_format, 0)
    return spec, key, source


@given(assignments())
@SETTINGS
def test_assignment_agrees(case: tuple[Spec, Any, Any]) -> None:
    """Item and slice assignment: same errors, same contents afterwards."""
    spec, key, value = case
    c_made, py_made = _both(spec)
    assert c_made[0] == py_made[0]
    if c_made[0] != "ok":
        return
    c_array, py_array = c_made[1], py_made[1]
    c_done, py_done = _assign(theirs, c_array, key, value), _assign(ours, py_array, key, value)
    assert c_done == _beyond_pep688(c_array, c_done, py_done)
    if c_array.ndim > 64:
        return
    assert c_array.tolist() == py_array.tolist()
    assert c_array.tobytes() == py_array.tobytes()


@pytest.mark.parametrize(
    ("shape", "target", "source"),
    [
        ([4, 3], (slice(1, None),), (slice(None, -1),)),
        ([4, 3], (slice(None, -1),), (slice(1, None),)),
        ([3, 4], (slice(None), slice(1, None)), (slice(None), slice(None, -1))),
        ([2, 3, 4], (slice(None), slice(1, None)), (slice(None), slice(None, -1))),
        ([5], (slice(1, None),), (slice(None, -1),)),
        ([6], (slice(2, None, 2),), (slice(0, -2, 2),)),
    ],
)
@pytest.mark.parametrize("flags", [0, ours.ND_PIL])
def test_overlapping_assignment_copies_row_by_row_as_c(
    shape: list[int], target: Any, source: Any, flags: int
) -> None:
    """An array assigned a shifted view of itself: C copies one last-dimension row
    at a time in C order (so rows can propagate); the result must be the same."""
    count = 1
    for extent in shape:
        count *= extent
    c_array = theirs.ndarray(list(range(count)), shape=shape, flags=flags | ours.ND_WRITABLE)
    py_array = ours.ndarray(list(range(count)), shape=shape, flags=flags | ours.ND_WRITABLE)
    c_array[target] = c_array[source]
    py_array[target] = py_array[source]
    assert c_array.tolist() == py_array.tolist()


SMALL_SLICES = [
    *(slice(None), slice(1, None), slice(None, None, -1), slice(1, 3)),
    *(slice(-1, None, -2), slice(2, 2), slice(None, None, 2)),
]


@pytest.mark.parametrize(
    "spec",
    [
        Spec(list(range(12)), [3, 4], None, 0, "B", ours.ND_PIL),
        Spec(list(range(12)), [3, 4], [-4, -1], 11, "B", ours.ND_PIL),
        Spec(list(range(24)), [2, 3, 4], [-12, 4, -1], 15, "B", ours.ND_PIL),
        Spec(list(range(24)), [2, 3, 4], [48, -16, 4], 32, "<i", 0),
        Spec(list(range(24)), [2, 3, 4], None, 0, "h", ours.ND_FORTRAN | ours.ND_PIL),
    ],
    ids=["pil", "pil-negative", "pil-3d", "direct-3d", "fortran-pil"],
)
def test_every_small_slice_combination_agrees(spec: Spec) -> None:
    """Every combination of a few slices per dimension, then every row of the result:
    suboffsets move as in C when a dimension after an indirect one is sliced."""
    c_array, py_array = spec.build(theirs), spec.build(ours)
    c_labels, py_labels = Labels(), Labels()
    c_labels.add(c_array, "x")
    py_labels.add(py_array, "x")
    for key in itertools.product(SMALL_SLICES, repeat=c_array.ndim):
        rows = [key, *range(-1, 3)]
        assert _indexed(c_array, rows[:2], c_labels) == _indexed(py_array, rows[:2], py_labels)
        c_part, py_part = c_array[key], py_array[key]
        c_labels.add(c_part, "part")
        py_labels.add(py_part, "part")
        for index in rows[1:]:
            assert _indexed(c_part, [index, 0], c_labels) == _indexed(
                py_part, [index, 0], py_labels
            )


# --- structure changes: push, pop, add_suboffsets, exports held across them ------------

STEPS = st.sampled_from(
    ["push", "pop", "view", "release", "slice", "drop", "suboffsets", "from_buffer", "hash"]
)


def _exportable(spec: Spec) -> bool:
    """At most 64 dimensions: what a builtin memoryview (so PEP 688) can export."""
    return not isinstance(spec.shape, list) or len(spec.shape) <= 64


@st.composite
def histories(draw: st.DrawFn) -> tuple[Spec, bool, list[tuple[str, Any]]]:
    first = draw(specs(bad=False).filter(_exportable))
    varexport = often(draw, 60)
    steps: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(1, 10))):
        step = draw(STEPS)
        pushed = draw(specs(bad=False).filter(_exportable)) if step == "push" else None
        steps.append((step, pushed))
    return first, varexport, steps


class History:
    """One implementation's array, the views and slices it holds, and what happened."""

    def __init__(self, module: Any, spec: Spec, varexport: bool) -> None:
        self.module = module
        flags = spec.flags | (module.ND_VAREXPORT if varexport else 0)
        self.array = module.ndarray(spec.items, **{**spec.kwargs(), "flags": flags})
        self.labels = Labels()
        self.labels.add(self.array, "x")
        self.held: list[Any] = []
        self.seen: list[Any] = []

    def run(self, step: str, spec: Spec | None) -> None:
        self.seen.append(outcome(lambda: self._do(step, spec), describe=self._describe))
        self.seen.append(array_summary(self.array, self.labels))
        self.seen.append([outcome(held.tolist) for held in self.held])

    def _describe(self, result: Any) -> Any:
        return result if isinstance(result, (int, tuple, type(None))) else type(result).__name__

    def _do(self, step: str, spec: Spec | None) -> Any:
        if step == "push":
            assert spec is not None
            flags = spec.flags & ~self.module.ND_VAREXPORT
            return self.array.push(spec.items, **{**spec.kwargs(), "flags": flags})
        if step == "pop":
            return self.array.pop()
        if step in ("view", "slice"):
            made = memoryview(self.array) if step == "view" else self.array[::-1]
            self.held.append(made)
            return _export_summary(made) if step == "view" else None
        if step in ("release", "drop") and self.held:
            held = self.held.pop(0)
            if isinstance(held, memoryview):
                held.release()
            return None
        if step == "suboffsets":
            return self.array.add_suboffsets()
        if step == "from_buffer":
            return self.array.memoryview_from_buffer().tolist()
        if step == "hash":
            return hash(self.array) == hash(self.array.tobytes())
        return None


@given(histories())
@SETTINGS
def test_push_pop_and_held_exports_agree(case: tuple[Spec, bool, list[tuple[str, Any]]]) -> None:
    """``ND_VAREXPORT`` or not: push and pop with views and slices held, released and
    dropped in any order; add_suboffsets, memoryview_from_buffer and hash between."""
    first, varexport, steps = case
    try:
        c_history = History(theirs, first, varexport)
    except Exception:
        return
    py_history = History(ours, first, varexport)
    for step, spec in steps:
        c_history.run(step, spec)
        py_history.run(step, spec)
        assert c_history.seen == py_history.seen


def _export_summary(view: memoryview) -> tuple[Any, ...]:
    """What a consumer of an export sees of its layout."""
    return (view.shape, view.strides, view.suboffsets, view.c_contiguous, view.f_contiguous)


SCRIPTS = [
    "view release suboffsets view",
    "view suboffsets view release release",
    "view push release pop pop",
    "view push view pop release pop release pop",
    "slice push push pop drop pop pop",
    "view push suboffsets view release pop release pop",
    "push view pop release pop pop",
    "slice view push release drop pop hash",
]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("varexport", [True, False])
def test_scripted_histories_agree(script: str, varexport: bool) -> None:
    """Histories that reach the corner cases: an old base released after a push is
    dropped (a later pop finds a single base); a held export blocks pop."""
    first = Spec(list(range(6)), [2, 3], None, 0, "B", ours.ND_WRITABLE)
    pushed = Spec(list(range(10, 14)), [4], None, 0, "h", 0)
    c_history = History(theirs, first, varexport)
    py_history = History(ours, first, varexport)
    for step in script.split():
        c_history.run(step, pushed)
        py_history.run(step, pushed)
        assert c_history.seen == py_history.seen


def _format_without_shape(request: int) -> bool:
    return bool(request & F.FORMAT) and request & F.ND != F.ND


@pytest.mark.parametrize(
    "make",
    [
        lambda module: b"abcdef",
        lambda module: bytearray(b"abcdef"),
        lambda module: array.array("h", [1, -2, 3]),
        lambda module: module.ndarray(list(range(12)), shape=[3, 4], format="h")[::-1, 1:],
        lambda module: module.ndarray(list(range(6)), shape=[2, 3], flags=module.ND_PIL),
    ],
    ids=["bytes", "bytearray", "array", "strided-ndarray", "pil-ndarray"],
)
@pytest.mark.parametrize("getbuf", [F.SIMPLE, F.ND, F.STRIDES, F.FULL_RO, F.FULL])
def test_redirected_requests_agree(make: Any, getbuf: int) -> None:
    """ND_REDIRECT forwards every request to the exporter. Only a FORMAT request
    without ND differs: no PEP 688 exporter can grant it (docs/testbuffer.md)."""
    c_base, py_base = make(theirs), make(ours)
    c_made = outcome(lambda: theirs.ndarray(c_base, getbuf=getbuf, flags=ours.ND_REDIRECT), _keep)
    py_made = outcome(lambda: ours.ndarray(py_base, getbuf=getbuf, flags=ours.ND_REDIRECT), _keep)
    assert c_made[0] == py_made[0]
    if c_made[0] != "ok":
        return
    requests = [request for request in REQUESTS if not _format_without_shape(request)]
    c_labels, py_labels = Labels(), Labels()
    for c_result, py_result in zip(
        reexport_outcomes(theirs.ndarray, c_made[1], c_labels, requests),
        reexport_outcomes(ours.ndarray, py_made[1], py_labels, requests),
        strict=True,
    ):
        assert _without_obj(c_result) == _without_obj(py_result)


def _keep(value: Any) -> Any:
    return value


def _without_obj(result: Any) -> Any:
    """A re-export's outcome without ``obj`` (the exporter in C, its wrapper here)."""
    if result[1][0] != "ok":
        return result
    summary = dict(result[1][1])
    summary.pop("obj")
    return (result[0], ("ok", summary, result[1][2]))


@pytest.mark.parametrize("flags", [2**31, 2**64, "0", 1.0, None, True, -1, 0])
def test_a_direct_buffer_call_validates_flags_as_c(flags: Any) -> None:
    """The same exception types as C (3.12 and 3.13's C also accept flags below a
    C int, wrapping them: not compared)."""

    def export(module: Any) -> Any:
        array = module.ndarray(list(range(12)), shape=[3, 4])
        for _ in range(2):  # (the second time as a remembered request, where one)
            answer = outcome(lambda: array.__buffer__(flags).tolist())
        return answer[0]  # (a direct call's answer keeps the whole layout: not compared)

    assert export(ours) == export(theirs)


@pytest.mark.parametrize("varexport", [False, True])
def test_a_push_whose_format_exports_the_array_meanwhile_goes_on_as_in_c(varexport: bool) -> None:
    """C checks the head's exports, then reads the format (user code: a ``str``
    subclass's ``__hash__``) and pushes whatever that code did; the export made
    meanwhile stays on the older base, which is dropped at its release."""

    def history(module: Any) -> list[Any]:
        flags = module.ND_VAREXPORT if varexport else 0
        array = module.ndarray([1, 2, 3], shape=[3], flags=flags)
        held: list[memoryview] = []

        class Format(str):
            def __hash__(self) -> int:
                if not held:
                    held.append(memoryview(array))
                return str.__hash__(self)

        seen = [outcome(lambda: array.push([4, 5, 6], shape=[3], format=Format("B")))]
        seen += [array.tolist(), held[0].tolist()]
        held.pop().release()
        seen += [outcome(array.pop), outcome(array.pop), array.tolist()]
        return seen

    assert history(ours) == history(theirs)
