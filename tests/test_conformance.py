"""Tests of bufferkit.conformance: C exporters that break one rule each, the
standard exporters, and the checker's own hygiene (no leaked exports)."""

from __future__ import annotations

import array
import ctypes
import json
import mmap
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bufferkit import _capi, conformance
from bufferkit.conformance import (
    ALL_REQUESTS,
    RULES,
    Answer,
    Report,
    _judge_answer,
    check_exporter,
    request_name,
)
from bufferkit.flags import BufferFlags, wants_c_contiguous, wants_strides
from cexporters.build import BuildUnavailable, build

from exporters import CountingExporter, FailingExporter


@pytest.fixture(scope="session")
def cexp(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The compiled C exporters (skip where they cannot be built)."""
    directory: Path = tmp_path_factory.mktemp("cexporters")
    try:
        return build(directory)
    except BuildUnavailable as error:
        pytest.skip(str(error))


def test_the_correct_c_exporter_serves_the_builtin_memoryview(cexp: Any) -> None:
    exporter = cexp.Exporter()
    with memoryview(exporter) as view:
        assert (view.shape, view.strides, view.format) == ((3, 4), (16, 4), "i")
        assert view.tolist() == [list(range(r * 4, r * 4 + 4)) for r in range(3)]
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_the_fortran_c_exporter_refuses_c_requests(cexp: Any) -> None:
    exporter = cexp.Exporter(order="F")
    with memoryview(exporter) as view:
        assert view.strides == (4, 12) and view.f_contiguous
    for flags in (BufferFlags.SIMPLE, BufferFlags.ND, BufferFlags.C_CONTIGUOUS):
        with pytest.raises(BufferError):
            _capi.RawBuffer(exporter, flags)
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_an_unknown_fault_is_refused(cexp: Any) -> None:
    with pytest.raises(ValueError, match="nonsense"):
        cexp.Exporter(fault="nonsense")


# --- the C exporters: each breaks exactly one rule --------------------------------

FAULT_RULES = {
    "obj_null": "obj-null",
    "wrong_len": "len-shape",
    "writable_ro": "writable-readonly",
    "fortran_for_c": "c-contiguous",
    "bad_itemsize": "itemsize-format",
    "suboffsets": "suboffsets-unrequested",
    "format_unrequested": "format-unrequested",
    "ndim_bad": "ndim-range",
    "fail_obj_set": "failure-obj-set",
    "leak_ref": "exporter-refcount",
}
FAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "writable_ro": {"readonly": True},
    "fortran_for_c": {"order": "F"},
}


def test_every_c_fault_has_an_expected_rule(cexp: Any) -> None:
    assert set(cexp.FAULTS) == set(FAULT_RULES) | {"obj_other"}
    assert set(FAULT_RULES.values()) <= set(RULES)


@pytest.mark.parametrize("fault", sorted(FAULT_RULES))
def test_a_c_exporter_breaking_one_rule_fails_with_that_rule_only(cexp: Any, fault: str) -> None:
    exporter = cexp.Exporter(fault, **FAULT_OPTIONS.get(fault, {}))
    report = check_exporter(exporter)
    assert not report.passed
    expected = {FAULT_RULES[fault]} | ({"full-ro-refused"} if fault == "fail_obj_set" else set())
    assert report.rules("violation") == expected, str(report)
    assert report.rules("warning") == set(), str(report)


@pytest.mark.parametrize("fault", [*sorted(FAULT_RULES), "obj_other"])
def test_the_checker_releases_every_export_of_a_c_exporter_once(cexp: Any, fault: str) -> None:
    exporter = cexp.Exporter(fault, **FAULT_OPTIONS.get(fault, {}))
    report = check_exporter(exporter)
    served = sum(outcome.served for outcome in report.results)
    if fault in ("obj_null", "obj_other"):
        # PyBuffer_Release reaches obj, not the exporter: nothing to count.
        assert exporter.releases == 0 and exporter.gets >= served > 0
    else:
        assert exporter.gets == exporter.releases
        assert exporter.gets >= served  # plus the reference FULL_RO requests


def test_obj_pointing_elsewhere_is_a_warning_naming_the_object(cexp: Any) -> None:
    report = check_exporter(cexp.Exporter("obj_other"))
    assert report.passed and report.rules() == {"obj-other"}
    assert all("type" in f.message for f in report.findings)
    served = {outcome.request for outcome in report.results if outcome.served}
    assert sorted(f.request for f in report.findings) == sorted(served)


@pytest.mark.parametrize("readonly", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
def test_the_correct_c_exporter_passes_without_findings(
    cexp: Any, order: str, readonly: bool
) -> None:
    exporter = cexp.Exporter(order=order, readonly=readonly)
    before = sys.getrefcount(exporter)
    report = check_exporter(exporter)
    assert report.passed and report.findings == [], str(report)
    assert exporter.gets == exporter.releases > 0
    assert sys.getrefcount(exporter) == before


def test_the_c_exporters_outcomes_match_what_it_was_written_to_refuse(cexp: Any) -> None:
    report = check_exporter(cexp.Exporter(order="F", readonly=True))
    for outcome in report.results:
        refused = (
            bool(outcome.request & BufferFlags.WRITABLE)
            or not wants_strides(outcome.request)
            or wants_c_contiguous(outcome.request)
        )
        assert outcome.ok is not refused, outcome
        assert (outcome.error == "BufferError") is refused


def test_a_factory_gives_every_request_a_fresh_object(cexp: Any) -> None:
    made: list[Any] = []

    def factory() -> Any:
        made.append(cexp.Exporter())
        return made[-1]

    report = check_exporter(factory)
    assert report.passed and report.findings == []
    assert len(made) == len(ALL_REQUESTS)  # FULL_RO reuses the reference object
    assert all(e.gets == e.releases for e in made)
    assert max(e.gets for e in made) == 2  # the reference FULL_RO, issued twice
    assert report.exporter.startswith("test_a_factory_gives_every_request_a_fresh_object.")


# --- the standard exporters ---------------------------------------------------------


def assert_no_violation(report: Report) -> None:
    assert report.passed, str(report)
    assert all(finding.rule in RULES for finding in report.findings)


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"",
        lambda: b"some bytes",
        lambda: bytearray(),
        lambda: bytearray(b"\x00\x01\x02"),
        lambda: mmap.mmap(-1, 64),
    ],
    ids=["bytes-empty", "bytes", "bytearray-empty", "bytearray", "mmap"],
)
def test_builtin_exporters_pass(make: Any) -> None:
    exporter = make()
    before = sys.getrefcount(exporter)
    report = check_exporter(exporter)
    assert_no_violation(report)
    assert report.findings == []
    assert all(outcome.ok for outcome in report.results if not outcome.request & 1), str(report)
    assert sys.getrefcount(exporter) == before


@settings(max_examples=40, deadline=None)
@given(
    typecode=st.sampled_from([code for code in array.typecodes if code != "u"]),  # 'u' deprecated
    size=st.integers(0, 5),
)
def test_array_array_passes_and_reports_its_own_format(typecode: str, size: int) -> None:
    exporter = array.array(typecode, bytes(size * array.array(typecode).itemsize))
    report = check_exporter(exporter, requests=[BufferFlags.RECORDS_RO, BufferFlags.SIMPLE])
    assert_no_violation(report)
    records = report.results[0].answer
    assert records is not None
    assert (records.format, records.itemsize) == (typecode, exporter.itemsize)
    assert records.shape == (size,)
    assert check_exporter(exporter).passed


def test_a_read_only_mmap_refuses_writable_requests() -> None:
    with tempfile.TemporaryFile() as file:
        file.write(b"x" * 32)
        file.flush()
        exporter = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        report = check_exporter(exporter)
        exporter.close()
    assert_no_violation(report)
    writable = [o for o in report.results if o.request & BufferFlags.WRITABLE]
    assert writable and not any(o.ok for o in writable)


def _frozen(array: Any) -> Any:
    array.flags.writeable = False
    return array


NUMPY_ARRAYS: dict[str, Callable[[Any], Any]] = {
    "c": lambda np: np.arange(24, dtype="<i4").reshape(4, 6),
    "fortran": lambda np: np.asfortranarray(np.arange(24, dtype="<i4").reshape(4, 6)),
    "reversed": lambda np: np.arange(24, dtype="<i4").reshape(4, 6)[::-1, ::-1],
    "strided": lambda np: np.arange(24, dtype="<i4").reshape(4, 6)[::2, 1::3],
    "zero-d": lambda np: np.array(2.5),
    "empty": lambda np: np.zeros((0, 3)),
    "byteswapped": lambda np: np.arange(5, dtype=">i2"),
    "complex": lambda np: np.ones(3, dtype=np.complex128),
    "structured": lambda np: np.zeros(3, dtype=[("a", "<i4"), ("b", ">f8", (2,))]),
    "aligned": lambda np: np.zeros(2, dtype=np.dtype([("a", "u1"), ("b", "<i4")], align=True)),
    "read-only": lambda np: _frozen(np.arange(6.0)),
    "3-d-transposed": lambda np: np.arange(60.0).reshape(3, 4, 5).transpose(1, 2, 0),
}


@pytest.mark.parametrize("name", sorted(NUMPY_ARRAYS))
def test_numpy_arrays_pass(name: str) -> None:
    exporter = NUMPY_ARRAYS[name](pytest.importorskip("numpy"))
    report = check_exporter(exporter)
    assert_no_violation(report)
    # NumPy's only deviation: ValueError (a warning) for contiguity it cannot give.
    assert report.rules("warning") <= {"failure-type"}
    full = report.results[ALL_REQUESTS.index(BufferFlags.FULL_RO)].answer
    assert full is not None
    assert (full.shape or ()) == exporter.shape  # a 0-d array exports shape NULL
    if exporter.size:  # NumPy exports C strides for empty arrays
        assert (full.strides or ()) == exporter.strides
    c_ok, f_ok = full.contiguity()
    assert (c_ok, f_ok) == (exporter.flags.c_contiguous, exporter.flags.f_contiguous)


# --- memoryview and ctypes: their findings are data ----------------------------------

MEMORYVIEWS: dict[str, Callable[[], memoryview]] = {
    "plain": lambda: memoryview(b"abcdef"),
    "writable": lambda: memoryview(bytearray(8)),
    "sliced": lambda: memoryview(bytearray(24))[1::3],
    "reversed": lambda: memoryview(bytearray(24))[::-1],
    "cast-2d": lambda: memoryview(bytearray(24)).cast("i", (2, 3)),
    "cast-0d": lambda: memoryview(bytearray(8)).cast("d", ()),
    "empty": lambda: memoryview(b""),
}


@pytest.mark.parametrize("name", sorted(MEMORYVIEWS))
def test_builtin_memoryviews_pass(name: str) -> None:
    view = MEMORYVIEWS[name]()
    report = check_exporter(view)
    assert_no_violation(report)
    assert report.findings == [], str(report)
    full = report.results[ALL_REQUESTS.index(BufferFlags.FULL_RO)].answer
    assert full is not None
    assert (full.shape or (), full.strides or (), full.format) == (
        view.shape,
        view.strides,
        view.format,
    )


def test_a_released_memoryview_refuses_everything() -> None:
    view = memoryview(b"ab")
    view.release()
    report = check_exporter(view)
    assert report.rules("violation") == {"full-ro-refused"}
    assert not any(outcome.ok for outcome in report.results)


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]


CTYPES_OBJECTS: dict[str, Callable[[], Any]] = {
    "int-array": lambda: (ctypes.c_int * 3)(),
    "double-array-2d": lambda: ((ctypes.c_double * 2) * 3)(),
    "char-array": lambda: (ctypes.c_char * 5)(),
    "int": lambda: ctypes.c_int(4),
    "structure": lambda: Point(),
    "structure-array": lambda: (Point * 2)(),
}


@pytest.mark.parametrize("name", sorted(CTYPES_OBJECTS))
def test_ctypes_objects_are_checked_and_agree_with_the_builtin_memoryview(name: str) -> None:
    # ctypes ignores the request flags: what the checker finds is recorded, not asserted.
    exporter = CTYPES_OBJECTS[name]()
    report = check_exporter(exporter)
    assert all(finding.rule in RULES for finding in report.findings)
    assert all(outcome.ok for outcome in report.results)  # it serves every request
    full = report.results[ALL_REQUESTS.index(BufferFlags.FULL_RO)].answer
    assert full is not None
    with memoryview(exporter) as view:
        assert (full.shape or (), full.format, full.itemsize, full.len) == (
            view.shape,
            view.format,
            view.itemsize,
            view.nbytes,
        )
    json.dumps(report.to_dict())


# --- hostile and instrumented Python exporters --------------------------------------


def test_the_checker_never_leaks_an_export_of_a_pep688_exporter() -> None:
    exporter = CountingExporter()
    before = sys.getrefcount(exporter)
    report = check_exporter(exporter)
    assert exporter.held == 0 and exporter.gets > 0
    assert_no_violation(report)
    assert sys.getrefcount(exporter) == before
    # obj is CPython's _buffer_wrapper; the checker unwraps it to the exporter.
    assert "obj-other" not in report.rules()


def test_a_read_only_pep688_exporter_refuses_writable_requests() -> None:
    exporter = CountingExporter(b"read only")
    report = check_exporter(exporter)
    assert exporter.held == 0
    assert_no_violation(report)
    for outcome in report.results:
        assert outcome.ok is not (
            bool(outcome.request & BufferFlags.WRITABLE) or _is_bare_format(outcome.request)
        ), outcome


def _is_bare_format(flags: int) -> bool:
    return bool(flags & BufferFlags.FORMAT) and not flags & BufferFlags.ND


@pytest.mark.parametrize(
    "error", [BufferError("no"), ValueError("bad"), RuntimeError("boom"), MemoryError()]
)
def test_an_exporter_that_always_raises_is_reported_not_propagated(error: Exception) -> None:
    exporter = FailingExporter(error)
    report = check_exporter(exporter)
    assert exporter.gets == len(ALL_REQUESTS) + 1  # FULL_RO is issued twice
    assert report.rules("violation") == {"full-ro-refused"}
    expected_warnings = set() if isinstance(error, BufferError) else {"failure-type"}
    assert report.rules("warning") == expected_warnings
    assert {outcome.error for outcome in report.results} == {type(error).__name__}


class ReturnsNonMemoryview:
    def __buffer__(self, flags: int) -> Any:
        return b"not a memoryview"


def test_an_exporter_returning_a_non_memoryview_is_reported() -> None:
    report = check_exporter(ReturnsNonMemoryview())
    assert report.rules("violation") == {"full-ro-refused"}
    assert {outcome.error for outcome in report.results} == {"TypeError"}


def test_a_non_exporter_is_reported_with_its_type_error() -> None:
    report = check_exporter(42)
    assert not report.passed and report.rules() == {"full-ro-refused", "failure-type"}


class RefusesSimple(CountingExporter):
    """Refuses every request without ND, although its memory is contiguous."""

    def __buffer__(self, flags: int) -> memoryview:
        if not flags & BufferFlags.ND:
            raise BufferError("RefusesSimple: no shape, no buffer")
        return super().__buffer__(flags)


def test_refusing_a_satisfiable_request_is_a_warning() -> None:
    report = check_exporter(RefusesSimple())
    assert report.passed
    refused = {f.request for f in report.findings if f.rule == "refused-satisfiable"}
    assert refused == {BufferFlags.SIMPLE, BufferFlags.WRITABLE}  # bare FORMAT is exempt


class Shifting(CountingExporter):
    """Exports a longer buffer on every request."""

    def __buffer__(self, flags: int) -> memoryview:
        self.target = bytearray(len(self.target) + 1)
        return super().__buffer__(flags)


def test_an_unstable_layout_is_a_warning() -> None:
    report = check_exporter(Shifting(), requests=[BufferFlags.FULL_RO])
    assert report.rules("warning") == {"layout-unstable"}
    assert report.passed


# --- rules on synthetic answers (no real exporter breaks these) ----------------------

FULL = Answer(
    buf=0x1000,
    len=24,
    itemsize=4,
    readonly=0,
    ndim=2,
    format="i",
    shape=(2, 3),
    strides=(12, 4),
    suboffsets=None,
)
F = BufferFlags
SYNTHETIC_CASES: list[tuple[str, int, Answer, Answer]] = [
    ("buf-null", F.FULL_RO, replace(FULL, buf=None), FULL),
    (
        "len-negative",
        F.SIMPLE,
        replace(FULL, len=-1, ndim=1, format=None, shape=None, strides=None),
        replace(FULL, len=-1),  # so that len-simple stays quiet
    ),
    (
        "itemsize-nonpositive",
        F.SIMPLE,
        replace(FULL, itemsize=0, format=None, shape=None, strides=None),
        FULL,
    ),
    ("shape-negative", F.FULL_RO, replace(FULL, shape=(-2, 3)), FULL),
    ("len-simple", F.SIMPLE, replace(FULL, len=12, format=None, shape=None, strides=None), FULL),
    ("readonly-inconsistent", F.FULL_RO, replace(FULL, readonly=1), FULL),
    ("format-missing", F.RECORDS_RO, replace(FULL, format=None), FULL),
    ("format-inconsistent", F.RECORDS_RO, replace(FULL, format="I"), FULL),
    (
        "format-unparseable",
        F.FULL_RO,
        replace(FULL, format="T{i:x:"),
        replace(FULL, format="T{i:x:"),
    ),
    ("shape-unrequested", F.SIMPLE, replace(FULL, format=None, strides=None), FULL),
    ("shape-missing", F.ND, replace(FULL, format=None, shape=None, strides=None), FULL),
    ("strides-missing", F.STRIDES, replace(FULL, format=None, strides=None), FULL),
    ("strides-unrequested", F.ND, replace(FULL, format=None), FULL),
    (
        "implied-c-contiguous",
        F.ND,
        replace(FULL, format=None, strides=None),
        replace(FULL, strides=(4, 8)),
    ),
    ("f-contiguous", F.F_CONTIGUOUS, replace(FULL, format=None), FULL),
    (
        "any-contiguous",
        F.ANY_CONTIGUOUS,
        replace(FULL, format=None, strides=(24, 4)),
        replace(FULL, strides=(24, 4)),
    ),
]


@pytest.mark.parametrize(
    ("rule", "flags", "answer", "full"), SYNTHETIC_CASES, ids=[c[0] for c in SYNTHETIC_CASES]
)
def test_a_synthetic_answer_breaks_exactly_its_rule(
    rule: str, flags: int, answer: Answer, full: Answer
) -> None:
    found = {finding.rule for finding in _judge_answer(flags, answer, full)}
    assert found == {rule}


def test_the_reference_answer_breaks_no_rule() -> None:
    assert list(_judge_answer(F.FULL_RO, FULL, FULL)) == []


def test_every_rule_is_documented_and_exercised() -> None:
    doc = conformance.__doc__ or ""
    assert all(f"``{rule}``" in doc for rule in RULES)
    exercised = set(FAULT_RULES.values()) | {case[0] for case in SYNTHETIC_CASES}
    exercised |= {"full-ro-refused", "failure-type", "refused-satisfiable", "layout-unstable"}
    exercised.add("obj-other")
    # obj-refcount: a C exporter would have to free itself or leak inside PyBuffer_Release.
    assert set(RULES) - exercised == {"obj-refcount"}


@settings(max_examples=250, deadline=None)
@given(
    shape=st.lists(st.integers(0, 3), max_size=3),
    data=st.data(),
    itemsize=st.sampled_from([1, 2, 8]),
)
def test_contiguity_agrees_with_numpy(shape: list[int], data: Any, itemsize: int) -> None:
    np = pytest.importorskip("numpy")
    strides = data.draw(
        st.lists(
            st.integers(-3, 3).map(lambda k: k * itemsize), min_size=len(shape), max_size=len(shape)
        )
    )
    base = np.zeros(200, dtype=np.uint8)
    dtype = {1: np.uint8, 2: np.uint16, 8: np.float64}[itemsize]
    array = np.lib.stride_tricks.as_strided(base[96:].view(dtype), shape, strides)
    answer = replace(
        FULL,
        itemsize=itemsize,
        ndim=len(shape),
        shape=tuple(shape),
        strides=tuple(strides),
        len=array.nbytes,
    )
    assert answer.contiguity() == (array.flags.c_contiguous, array.flags.f_contiguous)


def test_the_report_prints_every_request_and_finding_and_serialises(cexp: Any) -> None:
    report = check_exporter(cexp.Exporter("wrong_len"))
    text = str(report)
    assert "FAILED" in text.splitlines()[0]
    assert all(request_name(flags) in text for flags in ALL_REQUESTS)
    assert all(finding.message in text for finding in report.findings)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    assert [r["flags"] for r in data["results"]] == [int(flags) for flags in ALL_REQUESTS]
    assert {f["rule"] for f in data["findings"]} == {"len-shape"}


def test_requests_selects_what_is_reported(cexp: Any) -> None:
    asked = [BufferFlags.SIMPLE, BufferFlags.C_CONTIGUOUS]
    report = check_exporter(cexp.Exporter(order="F"), requests=asked)
    assert [outcome.request for outcome in report.results] == asked
    assert not any(outcome.ok for outcome in report.results)
    assert report.passed and report.findings == []


def test_the_default_requests_are_the_28_combinations() -> None:
    assert len(set(ALL_REQUESTS)) == 28
    named = {
        F.CONTIG,
        F.CONTIG_RO,
        F.STRIDED,
        F.STRIDED_RO,
        F.RECORDS,
        F.RECORDS_RO,
        F.FULL,
        F.FULL_RO,
    }
    assert named <= set(ALL_REQUESTS)
    assert {request_name(flags) for flags in named} == {
        "CONTIG",
        "CONTIG_RO",
        "STRIDED",
        "STRIDED_RO",
        "RECORDS",
        "RECORDS_RO",
        "FULL",
        "FULL_RO",
    }


# --- bufferkit's own exporters -------------------------------------------------------


def _bufferkit_exporters() -> dict[str, Callable[[], object]]:
    from bufferkit import MemoryView, NDArray
    from bufferkit import testbuffer as tb

    items = list(range(24))
    return {
        "ndarray-c": lambda: NDArray(items, shape=[4, 6], format="i"),
        "ndarray-c-writable": lambda: NDArray(
            items, shape=[4, 6], format="i", flags=tb.ND_WRITABLE
        ),
        "ndarray-fortran": lambda: NDArray(items, shape=[4, 6], format="i", flags=tb.ND_FORTRAN),
        "ndarray-strided": lambda: NDArray(
            items, shape=[3, 4], strides=[-16, 2], offset=32, format="h"
        ),
        "ndarray-pil": lambda: NDArray(
            items, shape=[4, 6], format="i", flags=tb.ND_PIL | tb.ND_WRITABLE
        ),
        "ndarray-pil-fortran": lambda: NDArray(
            items, shape=[2, 3, 4], format="i", flags=tb.ND_PIL | tb.ND_FORTRAN
        ),
        "ndarray-scalar": lambda: NDArray(7, shape=[], format="q"),
        "ndarray-empty": lambda: NDArray(items, shape=[4, 6], format="i")[2:2],
        "ndarray-records": lambda: NDArray([(1, 2.5), (3, 4.5)], shape=[2], format="hd"),
        "ndarray-strings": lambda: NDArray([b"abc", b"def"], shape=[2], format="3s"),
        "ndarray-sub-view": lambda: NDArray(items, shape=[4, 6], format="i")[1:, ::-2],
        "ndarray-varexport": lambda: NDArray(items, shape=[24], flags=tb.ND_VAREXPORT),
        "ndarray-re-export": lambda: NDArray(b"abcdef", getbuf=tb.PyBUF_FULL_RO),
        "ndarray-redirect": lambda: NDArray(
            NDArray(items, shape=[24], format="b", flags=tb.ND_WRITABLE),
            getbuf=tb.PyBUF_FULL,
            flags=tb.ND_REDIRECT,
        ),
        "memoryview-0d": lambda: MemoryView(NDArray(7, shape=[], format="q")),
        "memoryview-pil-sub-view": lambda: MemoryView(
            NDArray(items, shape=[4, 6], format="i", flags=tb.ND_PIL)
        )[1:, ::2],
        "memoryview-pil-column": lambda: MemoryView(
            NDArray(items, shape=[4, 6], format="i", flags=tb.ND_PIL)
        )[1:, 2],
        "memoryview-transposed-cast": lambda: MemoryView(bytearray(24)).cast("h", (3, 4)).T,
    }


@pytest.mark.parametrize("name", sorted(_bufferkit_exporters()))
def test_bufferkit_exporters_pass_without_findings(name: str) -> None:
    report = check_exporter(_bufferkit_exporters()[name])
    assert_no_violation(report)
    assert report.findings == [], str(report)


def test_a_re_exporter_without_shape_is_not_compliant_as_in_c() -> None:
    """``_testbuffer``'s own comment: such an ndarray is not a compliant provider."""
    from bufferkit import NDArray
    from bufferkit import testbuffer as tb

    report = check_exporter(lambda: NDArray(bytearray(8), getbuf=tb.PyBUF_SIMPLE))
    assert report.rules() == {"full-ro-refused"}
    c_testbuffer = pytest.importorskip("_testbuffer")
    c_report = check_exporter(lambda: c_testbuffer.ndarray(bytearray(8), getbuf=tb.PyBUF_SIMPLE))
    assert c_report.rules() == {"full-ro-refused"}
