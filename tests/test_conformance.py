"""Tests of bufferkit.conformance: C exporters that break one rule each, the
standard exporters, and the checker's own hygiene (no leaked exports)."""

from __future__ import annotations

import array
import ctypes
import json
import mmap
import sys
import tempfile
import textwrap
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
)
from bufferkit.flags import BufferFlags, describe, wants_c_contiguous, wants_strides
from cexporters.build import BuildUnavailable, build

from children import python_text
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
    "forget_incref": "obj-not-incref",
}
# Faults checked in a child interpreter only: with a checker that does not survive them,
# they crash the interpreter that runs the check.
CHILD_ONLY_FAULTS = {"forget_incref"}
IN_PROCESS_FAULTS = sorted(set(FAULT_RULES) - CHILD_ONLY_FAULTS)
FAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "writable_ro": {"readonly": True},
    "fortran_for_c": {"order": "F"},
}


def test_every_c_fault_has_an_expected_rule(cexp: Any) -> None:
    assert set(cexp.FAULTS) == set(FAULT_RULES) | {"obj_other"}
    assert set(FAULT_RULES.values()) <= set(RULES)


@pytest.mark.parametrize("fault", IN_PROCESS_FAULTS)
def test_a_c_exporter_breaking_one_rule_fails_with_that_rule_only(cexp: Any, fault: str) -> None:
    exporter = cexp.Exporter(fault, **FAULT_OPTIONS.get(fault, {}))
    report = check_exporter(exporter)
    assert not report.passed
    expected = {FAULT_RULES[fault]} | ({"full-ro-refused"} if fault == "fail_obj_set" else set())
    assert report.rules("violation") == expected, str(report)
    assert report.rules("warning") == set(), str(report)


@pytest.mark.parametrize("fault", [*IN_PROCESS_FAULTS, "obj_other"])
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


def _json_from_child(script: str, prelude: str = "") -> Any:
    """Run ``script`` in a child interpreter with ``check_exporter`` imported; return the
    JSON it prints last (a crash fails one test)."""
    head = "import gc, json, sys\nfrom bufferkit import check_exporter\n"
    code = head + textwrap.dedent(prelude) + textwrap.dedent(script)
    child = python_text(["-c", code])
    assert child.returncode == 0, f"the child died ({child.returncode}):\n{child.stderr}"
    assert child.stderr == ""
    return json.loads(child.stdout.splitlines()[-1])


def _check_in_child(cexp: Any, script: str) -> Any:
    """``_json_from_child`` with ``bkexporters`` loaded as ``m``."""
    prelude = f"""
        import importlib.util
        spec = importlib.util.spec_from_file_location("bkexporters", {cexp.__file__!r})
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
    """
    return _json_from_child(script, prelude)


def test_a_forgotten_incref_is_reported_and_survived_with_a_factory(cexp: Any) -> None:
    # Only the checker holds each object the factory makes: a release that takes a
    # reference never given would free it while the checker still uses it.
    result = _check_in_child(
        cexp,
        """
        report = check_exporter(lambda: m.Exporter("forget_incref"))
        gc.collect()
        served = sorted(o.request for o in report.results if o.served)
        print(json.dumps({"rules": sorted(report.rules()), "passed": report.passed,
                          "found in": sorted(f.request for f in report.findings) == served,
                          "served": len(served)}))
        """,
    )
    assert result.pop("served") > 0
    assert result == {"rules": ["obj-not-incref"], "passed": False, "found in": True}


def test_a_forgotten_incref_is_reported_and_survived_with_an_object(cexp: Any) -> None:
    result = _check_in_child(
        cexp,
        """
        exporter = m.Exporter("forget_incref")
        report = check_exporter(exporter)
        count = sys.getrefcount(exporter)
        del exporter
        gc.collect()
        served = sorted(o.request for o in report.results if o.served)
        print(json.dumps({"rules": sorted(report.rules()), "alive": count >= 2,
                          "found in": sorted(f.request for f in report.findings) == served}))
        """,
    )
    assert result == {"rules": ["obj-not-incref"], "alive": True, "found in": True}


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


def _released_memoryview() -> memoryview:
    view = memoryview(b"ab")
    view.release()
    return view


def _closed_mmap() -> mmap.mmap:
    memory = mmap.mmap(-1, 16)
    memory.close()
    return memory


def _released_bufferkit_view() -> Any:
    from bufferkit import MemoryView

    view = MemoryView(b"ab")
    view.release()
    return view


NON_EXPORTERS: dict[str, tuple[Callable[[], object], str]] = {
    "int": (lambda: 42, "int does not support the buffer protocol"),
    "None": (lambda: None, "NoneType does not support the buffer protocol"),
    "object": (object, "object does not support the buffer protocol"),
    "str": (lambda: "text", "str does not support the buffer protocol"),
    "released memoryview": (_released_memoryview, "this memoryview is released or closed"),
    "closed mmap": (_closed_mmap, "this mmap is released or closed"),
    "released MemoryView": (_released_bufferkit_view, "this MemoryView is released or closed"),
}


@pytest.mark.parametrize("name", sorted(NON_EXPORTERS))
def test_a_non_exporter_is_told_apart_from_a_broken_exporter(name: str) -> None:
    make, reason = NON_EXPORTERS[name]
    for report in (check_exporter(make()), check_exporter(make)):
        assert report.not_an_exporter is not None
        assert report.not_an_exporter.startswith(reason)
        assert not report.passed
        assert report.findings == [] and report.results == []
        assert str(report).endswith(f"not an exporter: {report.not_an_exporter}")
        assert json.loads(json.dumps(report.to_dict()))["not_an_exporter"] == report.not_an_exporter


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


class RaisingRelease(CountingExporter):
    """Exports correctly; its release counts and then raises."""

    def __release_buffer__(self, view: memoryview) -> None:
        super().__release_buffer__(view)
        raise RuntimeError("RaisingRelease: cannot let go")


def test_a_release_that_raises_is_a_finding_not_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    exporter = RaisingRelease()
    report = check_exporter(exporter)
    assert printed == []  # nothing reached the hook that prints on stderr
    assert sys.unraisablehook == printed.append  # and the hook is back
    assert exporter.held == 0
    assert report.rules() == {"release-raised"}
    served = sorted(outcome.request for outcome in report.results if outcome.served)
    assert sorted(f.request for f in report.findings) == served
    assert "RuntimeError: RaisingRelease: cannot let go" in report.findings[0].message


def test_a_format_that_cannot_be_parsed_for_any_reason_is_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def exhausted(fmt: str) -> Any:
        raise MemoryError(f"no memory for {fmt!r}")

    monkeypatch.setattr(conformance, "Format", exhausted)
    report = check_exporter(array.array("d", [1.0]))
    assert report.passed and report.rules() == {"format-unparseable"}
    assert "MemoryError: no memory for 'd'" in report.warnings[0].message


def test_a_field_of_a_hundred_million_items_costs_what_its_format_text_costs() -> None:
    pytest.importorskip("numpy")
    result = _json_from_child(
        """
        import time, tracemalloc
        import numpy
        exporter = numpy.zeros(0, dtype=[("a", "<f8", (10**8,))])
        tracemalloc.start()
        start = time.perf_counter()
        report = check_exporter(exporter)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        print(json.dumps({"rules": sorted(report.rules()), "passed": report.passed,
                          "fast": seconds < 10, "small": peak < 10_000_000}))
        """
    )
    assert result == {"rules": [], "passed": True, "fast": True, "small": True}


def test_a_judge_that_fails_on_an_answer_leaves_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def _judge_arrays(flags: int, answer: Answer, full: Answer | None) -> Any:
        raise OverflowError("fields no rule foresees")

    monkeypatch.setattr(conformance, "_judge_arrays", _judge_arrays)
    report = check_exporter(bytearray(4), requests=[F.SIMPLE])
    assert report.rules() == {"answer-unjudged"} and report.passed
    assert report.warnings[0].message == "arrays not judged: OverflowError: fields no rule foresees"


class Chaotic:
    """An exporter whose getbuffer and release do whatever the test draws."""

    def __init__(self, answers: list[Any], release_error: BaseException | None) -> None:
        self.answers = answers
        self.release_error = release_error
        self.turn = 0

    def __buffer__(self, flags: int) -> Any:
        answer = self.answers[self.turn % len(self.answers)]
        self.turn += 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    def __release_buffer__(self, view: memoryview) -> None:
        if self.release_error is not None:
            raise self.release_error

    def __repr__(self) -> str:
        raise RuntimeError("a repr that raises")


_ANSWERS = (
    st.sampled_from(
        [
            BufferError("no"),
            ValueError("bad"),
            TypeError("odd"),
            MemoryError(),
            RecursionError(),
            b"not a memoryview",
            None,
        ]
    )
    | st.builds(lambda n: memoryview(bytearray(n)), st.integers(0, 8))
    | st.builds(lambda n: memoryview(bytes(8 * n)).cast("d"), st.integers(0, 2))
)


@settings(max_examples=60, deadline=None)
@given(
    answers=st.lists(_ANSWERS, min_size=1, max_size=4),
    release_error=st.none() | st.sampled_from([RuntimeError("r"), ValueError("v")]),
)
def test_the_checker_never_raises_on_an_exporters_account(
    answers: list[Any], release_error: BaseException | None
) -> None:
    report = check_exporter(Chaotic(answers, release_error))
    assert all(finding.rule in RULES for finding in report.findings)
    assert report.exporter.startswith("<Chaotic object at 0x")
    text = str(report)
    assert "BufferFlags" not in text and "<BufferFlags" not in text
    json.dumps(report.to_dict())


def test_requests_are_validated_as_the_builtin_validates_flags() -> None:
    with pytest.raises(TypeError, match=r"not float \(1\.0\)"):
        check_exporter(b"x", requests=[1.0])  # type: ignore[list-item]
    with pytest.raises(OverflowError, match="2147483648"):
        check_exporter(b"x", requests=[2**31])


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
    exercised |= {"obj-other", "release-raised", "answer-unjudged"}
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
    assert all(describe(flags) in text for flags in ALL_REQUESTS)
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


def test_the_default_requests_are_every_structure_request_with_each_modifier() -> None:
    structure = [F.SIMPLE, F.ND, F.STRIDES, F.INDIRECT]
    structure += [F.C_CONTIGUOUS, F.F_CONTIGUOUS, F.ANY_CONTIGUOUS]
    expected = {s | w | f for s in structure for w in (0, F.WRITABLE) for f in (0, F.FORMAT)}
    assert set(ALL_REQUESTS) == expected and len(ALL_REQUESTS) == 28
    compound = {F.CONTIG, F.CONTIG_RO, F.STRIDED, F.STRIDED_RO, F.RECORDS, F.RECORDS_RO}
    assert compound | {F.FULL, F.FULL_RO} <= set(ALL_REQUESTS)
    assert len({describe(flags) for flags in ALL_REQUESTS}) == 28


def test_the_checker_issues_exactly_the_documented_requests() -> None:
    exporter = CountingExporter()
    check_exporter(exporter)
    issued = sorted(exporter.requests)
    assert issued == sorted([*ALL_REQUESTS, F.FULL_RO])  # FULL_RO twice: the reference
    doc = " ".join((conformance.__doc__ or "").split())
    assert "7 x 2 x 2 = 28 requests" in doc


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
