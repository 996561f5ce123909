"""The buffer-protocol checker: ``check_exporter`` judges an exporter's answers.

Every request is issued through the raw C API (``_capi.RawBuffer``) and each
answer is judged against the rules of the C-API docs ("Buffer structure",
"Buffer request types") and the design thread of CPython issue 10181.

Which requests, and why they are all of them: the C-API docs define every request
as one *structure* request -- ``SIMPLE``, ``ND``, ``STRIDES``, ``INDIRECT`` (what
the answer describes) or ``C_CONTIGUOUS``, ``F_CONTIGUOUS``, ``ANY_CONTIGUOUS``
(which memory it may be) -- with or without ``WRITABLE`` and with or without
``FORMAT``: 7 x 2 x 2 = 28 requests (``ALL_REQUESTS``), the compound names
(``CONTIG``, ``STRIDED``, ``RECORDS``, ``FULL`` and their ``_RO`` forms) among them.
Every rule below is a statement about one of these bits or about the answer to
``FULL_RO``, so the 28 answers decide every rule; other bit patterns (two
contiguity requests at once, bits no request defines) are not requests the docs
define, and no rule says how an exporter must answer them.

Invariants:
- The checker never writes to the exporter's memory and never reads its data:
  only the ``Py_buffer`` fields are read.
- Every successful request is released exactly once, before the next request
  is issued, whatever the judgement finds (``try``/``finally``).
- An exporter's exception is data, never propagated: only ``BaseException``s
  that are not ``Exception``s (``KeyboardInterrupt``...) escape, and a factory's
  own exceptions. An exception raised while judging an answer (a format too
  large to parse, say) becomes a finding too.
- A release that raises (a PEP 688 ``__release_buffer__``) is a finding, not
  noise: while the checker releases a buffer, ``sys.unraisablehook`` collects
  what CPython would print on stderr.
- The checker survives exporters that mishandle ``obj``: every object it makes
  (a factory's products) stays referenced until the check is done, and where
  a release took a reference that was never given (``Py_INCREF(obj)`` forgotten),
  the checker gives the reference back for good (``_keep_alive``): a leak, never
  a freed object that is still in use.
- ``FULL_RO`` is always issued (twice, on one object) as the reference layout,
  even when ``requests`` leaves it out; ``Report.results`` lists only the
  requests that were asked for.
- A factory (a callable that is not itself an exporter, ``is_factory``) is called
  afresh for every request, so each request's reference counts are measured on
  an object that no earlier request can have disturbed; the two reference
  ``FULL_RO`` requests share one object, to check that repeated requests agree.
- An object that is *not an exporter* is no exporter breaking rules: its type
  has no buffer protocol (``__buffer__``), or it says it is released or closed
  (``repr`` starts ``<released``, or ``closed`` is True) and refuses ``FULL_RO``.
  Its ``Report`` has ``not_an_exporter`` set, no findings, and does not pass.
- Item sizes come from ``formats.Format``, contiguity from ``layout.Layout``
  (``PyBuffer_IsContiguous``'s rules), judged on the memory: suboffsets that
  are all negative dereference nothing, so they do not make memory
  non-contiguous here (the presence of suboffsets in a non-``INDIRECT``
  answer is its own rule).
- Messages name requests by ``flags.describe`` (``C_CONTIGUOUS``, ``RECORDS_RO``).

Rules (``Finding.rule``; severity in brackets):

Ownership
- ``obj-null`` [violation]: a successful request left ``obj`` NULL.
- ``obj-refcount`` [violation]: ``obj`` is not a new reference owned by the
  ``Py_buffer`` (releasing it did not drop exactly one reference).
- ``exporter-refcount`` [violation]: the exporter's reference count is higher
  than before once the buffer is released (a leaked reference).
- ``obj-not-incref`` [violation]: the exporter's reference count is lower than
  before once the buffer is released: ``obj`` was not a new reference
  (``Py_INCREF(obj)`` forgotten), so the release took one its owners hold.
- ``release-raised`` [violation]: releasing the buffer raised (a PEP 688
  ``__release_buffer__``); a release cannot fail, CPython reports it as
  unraisable.
- ``obj-other`` [warning]: ``obj`` is neither the exporter nor CPython's
  ``_buffer_wrapper`` of it. Re-exporters may legitimately point to their base.
- ``failure-obj-set`` [violation]: a failed request left ``obj`` non-NULL.
- ``failure-type`` [warning]: a request failed with an exception other than
  ``BufferError`` (NumPy raises ``ValueError`` for unsatisfiable contiguity).

Fields of one answer
- ``ndim-range`` [violation]: ``ndim`` outside ``0..64`` (``PyBUF_MAX_NDIM``).
- ``buf-null`` [violation]: ``buf`` is NULL although ``len > 0``.
- ``len-negative`` [violation]: ``len < 0``.
- ``itemsize-nonpositive`` [violation]: ``itemsize <= 0``.
- ``shape-negative`` [violation]: a ``shape`` entry is negative.
- ``len-shape`` [violation]: ``len != product(shape) * itemsize``.
- ``len-simple`` [violation]: an answer without shape has another ``len`` than
  the ``FULL_RO`` answer.
- ``writable-readonly`` [violation]: a ``WRITABLE`` request succeeded although
  the answer or the ``FULL_RO`` answer says the memory is read-only.
- ``readonly-inconsistent`` [warning]: ``readonly`` differs from ``FULL_RO``'s.
- ``format-missing`` [violation]: ``FORMAT`` requested (with ``ND``), ``format``
  NULL.
- ``format-unrequested`` [violation]: ``format`` set although ``FORMAT`` was not
  requested (NULL means ``'B'``; ``itemsize`` may keep its value).
- ``format-inconsistent`` [violation]: ``format`` differs from ``FULL_RO``'s.
- ``itemsize-format`` [violation]: ``itemsize != calcsize(format)``.
- ``format-unparseable`` [warning]: ``format`` could not be parsed (any error,
  ``MemoryError`` included), so ``itemsize`` could not be checked against it.
- ``shape-missing`` / ``shape-unrequested`` [violation]: ``shape`` NULL although
  ``ND`` is implied (and ``ndim > 0``) / set although it is not.
- ``strides-missing`` / ``strides-unrequested`` [violation]: the same for
  ``strides`` and ``STRIDES``.
- ``suboffsets-unrequested`` [violation]: ``suboffsets`` set without
  ``INDIRECT``.
- ``implied-c-contiguous`` [violation]: a request without ``STRIDES`` succeeded
  although the memory (as ``FULL_RO`` describes it) is not C-contiguous.
- ``c-contiguous`` / ``f-contiguous`` / ``any-contiguous`` [violation]: a
  contiguous request got memory that is not C / Fortran / either contiguous.

Across requests
- ``full-ro-refused`` [violation]: ``FULL_RO`` failed; every exporter can
  answer it.
- ``refused-satisfiable`` [warning]: a request that the ``FULL_RO`` layout
  satisfies was refused.
- ``layout-unstable`` [warning]: two ``FULL_RO`` requests on one object gave
  different answers.
- ``answer-unjudged`` [warning]: judging an answer raised (fields no rule
  foresees); the rules left are unchecked for that answer.

Requests without ``ND`` that ask for ``FORMAT`` (a bare ``FORMAT``) are not
allowed by the C-API docs: they may be served (with or without ``format``) or
refused, and neither is judged.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from . import _capi
from .flags import (
    MODIFIER_SETS,
    STRUCTURE_REQUESTS,
    BufferFlags,
    describe,
    request,
    wants_any_contiguous,
    wants_c_contiguous,
    wants_f_contiguous,
    wants_format,
    wants_indirect,
    wants_shape,
    wants_strides,
    wants_writable,
)
from .formats import Format
from .layout import Layout

__all__ = [
    "ALL_REQUESTS",
    "RULES",
    "Answer",
    "Finding",
    "Outcome",
    "Report",
    "check_exporter",
    "is_factory",
    "not_an_exporter",
]

VIOLATION = "violation"
WARNING = "warning"

RULES: dict[str, str] = {
    "obj-null": VIOLATION,
    "obj-refcount": VIOLATION,
    "exporter-refcount": VIOLATION,
    "obj-not-incref": VIOLATION,
    "release-raised": VIOLATION,
    "obj-other": WARNING,
    "failure-obj-set": VIOLATION,
    "failure-type": WARNING,
    "ndim-range": VIOLATION,
    "buf-null": VIOLATION,
    "len-negative": VIOLATION,
    "itemsize-nonpositive": VIOLATION,
    "shape-negative": VIOLATION,
    "len-shape": VIOLATION,
    "len-simple": VIOLATION,
    "writable-readonly": VIOLATION,
    "readonly-inconsistent": WARNING,
    "format-missing": VIOLATION,
    "format-unrequested": VIOLATION,
    "format-inconsistent": VIOLATION,
    "itemsize-format": VIOLATION,
    "format-unparseable": WARNING,
    "shape-missing": VIOLATION,
    "shape-unrequested": VIOLATION,
    "strides-missing": VIOLATION,
    "strides-unrequested": VIOLATION,
    "suboffsets-unrequested": VIOLATION,
    "implied-c-contiguous": VIOLATION,
    "c-contiguous": VIOLATION,
    "f-contiguous": VIOLATION,
    "any-contiguous": VIOLATION,
    "full-ro-refused": VIOLATION,
    "refused-satisfiable": WARNING,
    "layout-unstable": WARNING,
    "answer-unjudged": WARNING,
}
"""Every rule id and its severity (documented in the module docstring)."""

ALL_REQUESTS: tuple[BufferFlags, ...] = tuple(
    BufferFlags(structure | modifiers)
    for structure in STRUCTURE_REQUESTS
    for modifiers in MODIFIER_SETS
)
"""The 28 requests issued by default: each structure request with each set of modifiers."""
_IMMORTAL_REFCOUNT = 2**30  # immortal objects (3.12+) keep a huge, fixed count


def _is_disallowed(flags: int) -> bool:
    """``FORMAT`` without ``ND``: not a valid request, may be served or refused."""
    return wants_format(flags) and not wants_shape(flags)


def _itemsize_of(fmt: str) -> int:
    """The item size ``fmt`` describes; any exception if it cannot be parsed."""
    return Format(fmt).itemsize


# --- one request --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The fields of one successful request (``None`` where NULL), without ``obj``."""

    buf: int | None
    len: int
    itemsize: int
    readonly: int
    ndim: int
    format: str | None
    shape: tuple[int, ...] | None
    strides: tuple[int, ...] | None
    suboffsets: tuple[int, ...] | None

    @classmethod
    def from_raw(cls, raw: _capi.RawInfo) -> Answer:
        """The answer ``raw`` holds."""
        return cls(
            buf=raw.buf,
            len=raw.len,
            itemsize=raw.itemsize,
            readonly=raw.readonly,
            ndim=raw.ndim,
            format=raw.format,
            shape=raw.shape,
            strides=raw.strides,
            suboffsets=raw.suboffsets,
        )

    def layout(self) -> tuple[object, ...]:
        """Everything but ``buf``: what repeated requests must agree on."""
        return (
            self.len,
            self.itemsize,
            self.readonly,
            self.ndim,
            self.format,
            self.shape,
            self.strides,
            self.suboffsets,
        )

    @property
    def is_indirect(self) -> bool:
        """Some suboffset dereferences a pointer."""
        return self.suboffsets is not None and any(s >= 0 for s in self.suboffsets)

    @property
    def is_sane(self) -> bool:
        """Fields consistent enough to reason about the memory's layout."""
        return self.itemsize > 0 and all(n >= 0 for n in self.shape or ())

    def contiguity(self) -> tuple[bool, bool]:
        """Whether the memory is (C-contiguous, Fortran-contiguous).

        All-negative suboffsets dereference nothing: they are ignored here.
        """
        if self.is_indirect:
            return False, False
        if self.shape is None:
            return True, True
        layout = Layout(self.itemsize, self.shape, self.strides)
        return layout.is_c_contiguous(), layout.is_f_contiguous()

    def describe(self) -> str:
        """The fields on one line."""

        def show(value: object) -> str:
            return "NULL" if value is None else str(value)

        return (
            f"ndim={self.ndim} shape={show(self.shape)} strides={show(self.strides)} "
            f"suboffsets={show(self.suboffsets)} format={show(self.format)} "
            f"itemsize={self.itemsize} len={self.len} readonly={self.readonly}"
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule: its id, severity, the request and what was wrong."""

    rule: str
    severity: str
    request: BufferFlags
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "request": describe(self.request),
            "flags": int(self.request),
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.severity:9} {self.rule:24} {describe(self.request):30} {self.message}"


def _finding(rule: str, request: int, message: str) -> Finding:
    return Finding(rule, RULES[rule], BufferFlags(request), message)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request gave: an ``answer``, or the ``error`` type and ``message``.

    ``served`` is True when the getbuffer succeeded, even if its fields could
    not be read (``ndim`` out of range: ``answer`` is then None).
    """

    request: BufferFlags
    answer: Answer | None = None
    error: str | None = None
    message: str | None = None
    served: bool = False

    @property
    def ok(self) -> bool:
        """The request succeeded and its fields could be read."""
        return self.answer is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return {
            "request": describe(self.request),
            "flags": int(self.request),
            "ok": self.ok,
            "served": self.served,
            "error": self.error,
            "message": self.message,
            "answer": asdict(self.answer) if self.answer is not None else None,
        }

    def __str__(self) -> str:
        if self.answer is not None:
            return f"{describe(self.request):30} ok       {self.answer.describe()}"
        return f"{describe(self.request):30} refused  {self.error}: {self.message}"


def _issue(exporter: object, flags: int) -> tuple[Outcome, list[Finding]]:
    """Issue one request, judge ownership, release; the answer's fields are judged later."""
    findings: list[Finding] = []
    holder = [exporter]
    before = _capi.refcount(holder)
    raw = _capi.RawBuffer.__new__(_capi.RawBuffer)
    try:
        raw.__init__(exporter, flags)  # type: ignore[misc]
    except Exception as error:
        findings += _judge_failure(raw, flags, error)
        return Outcome(BufferFlags(flags), None, type(error).__name__, str(error)), findings
    try:
        outcome = _read_and_release(raw, exporter, flags, findings)
    finally:
        _release(raw, flags, findings)
    findings += _judge_exporter_references(holder, before, flags)
    return outcome, findings


@contextmanager
def _unraisables() -> Iterator[list[str]]:
    """Collect, instead of printing, what CPython reports as unraisable meanwhile."""
    caught: list[str] = []
    previous = sys.unraisablehook

    def collect(unraisable: Any) -> None:
        caught.append(f"{unraisable.exc_type.__name__}: {unraisable.exc_value}")

    sys.unraisablehook = collect
    try:
        yield caught
    finally:
        sys.unraisablehook = previous


def _release(raw: _capi.RawBuffer, flags: int, findings: list[Finding]) -> None:
    """Release ``raw`` if still held; an exception the release raised is a finding."""
    with _unraisables() as caught:
        raw.release()
    for error in caught:
        findings.append(_finding("release-raised", flags, f"releasing the buffer raised {error}"))


def _keep_alive(holder: list[object], stolen: int) -> None:
    """Give back ``stolen`` references that a release took and nobody had given.

    The count goes up without a reference that will ever drop it: ``holder[0]``
    lives for good (a leak, never a freed object that is still in use). Only an
    unmatched ``Py_IncRef`` can do this; ``_capi`` owns it.
    """
    _capi.keep_forever(holder, stolen)


def _judge_exporter_references(holder: list[object], before: int, flags: int) -> list[Finding]:
    """The exporter's reference count across getbuffer and release must not move."""
    after = _capi.refcount(holder)
    if before >= _IMMORTAL_REFCOUNT or after == before:
        return []
    if after > before:
        return [
            _finding(
                "exporter-refcount",
                flags,
                f"the exporter's reference count went from {before} to {after} "
                "across getbuffer and release (a leaked reference)",
            )
        ]
    _keep_alive(holder, before - after)
    return [
        _finding(
            "obj-not-incref",
            flags,
            f"the exporter's reference count went from {before} to {after} across getbuffer "
            "and release: obj was not a new reference (Py_INCREF(obj) forgotten); "
            "the checker keeps the exporter alive for good",
        )
    ]


def _judge_failure(raw: _capi.RawBuffer, flags: int, error: Exception) -> Iterator[Finding]:
    leftover = raw.obj_address
    if leftover:
        yield _finding(
            "failure-obj-set", flags, f"failed with obj left at {leftover:#x} instead of NULL"
        )
    if not isinstance(error, BufferError):
        yield _finding(
            "failure-type", flags, f"refused with {type(error).__name__} ({error}), not BufferError"
        )


def _read_and_release(
    raw: _capi.RawBuffer, exporter: object, flags: int, findings: list[Finding]
) -> Outcome:
    """Read the fields, check ``obj``'s ownership, release the buffer."""
    address = raw.obj_address
    obj = _capi.object_at(address) if address else None
    try:
        answer: Answer | None = Answer.from_raw(raw.read())
        error = message = None
    except ValueError as exc:
        findings.append(_finding("ndim-range", flags, str(exc)))
        answer, error, message = None, "ValueError", str(exc)
    if obj is None:
        findings.append(_finding("obj-null", flags, "succeeded with obj NULL"))
        _release(raw, flags, findings)
        return Outcome(BufferFlags(flags), answer, error, message, served=True)
    real = _capi.unwrap_exporter(obj)
    if real is not exporter:
        findings.append(
            _finding(
                "obj-other",
                flags,
                f"obj is a {type(real).__name__} at {id(real):#x}, not the exporter "
                "(allowed for a re-exporter pointing to its base)",
            )
        )
    del real
    holder = [obj]
    del obj
    held = _capi.refcount(holder)
    _release(raw, flags, findings)
    dropped = held - _capi.refcount(holder)
    if dropped != 1 and held < _IMMORTAL_REFCOUNT:
        if dropped > 1:
            _keep_alive(holder, dropped - 1)
        findings.append(
            _finding(
                "obj-refcount",
                flags,
                f"releasing the buffer dropped {dropped} references to obj, not 1",
            )
        )
    return Outcome(BufferFlags(flags), answer, error, message, served=True)


# --- the rules on one answer ------------------------------------------------------


def _judge_answer(flags: int, answer: Answer, full: Answer | None) -> list[Finding]:
    """Every rule one successful answer can break (``full``: the ``FULL_RO`` answer).

    Judging never raises: fields that make a judge fail end it with ``answer-unjudged``.
    """
    findings: list[Finding] = []
    judges = [_judge_sizes, _judge_readonly, _judge_format, _judge_arrays, _judge_contiguity]
    for judge in judges:
        try:
            findings += judge(flags, answer, full)
        except Exception as error:
            findings.append(
                _finding(
                    "answer-unjudged",
                    flags,
                    f"{judge.__name__.removeprefix('_judge_')} not judged: "
                    f"{type(error).__name__}: {error}",
                )
            )
    return findings


def _judge_sizes(flags: int, answer: Answer, full: Answer | None) -> Iterator[Finding]:
    if answer.buf is None and answer.len > 0:
        yield _finding("buf-null", flags, f"buf is NULL with len={answer.len}")
    if answer.len < 0:
        yield _finding("len-negative", flags, f"len={answer.len}")
    if answer.itemsize <= 0:
        yield _finding("itemsize-nonpositive", flags, f"itemsize={answer.itemsize}")
    shape = answer.shape
    if shape is not None and any(n < 0 for n in shape):
        yield _finding("shape-negative", flags, f"shape={shape}")
    elif shape is not None or (answer.ndim == 0 and wants_shape(flags)):
        expected = math.prod(shape or ()) * answer.itemsize
        if answer.len != expected:
            yield _finding(
                "len-shape",
                flags,
                f"len={answer.len}, but shape={shape} with itemsize={answer.itemsize} "
                f"makes {expected}",
            )
    elif full is not None and answer.len != full.len:
        yield _finding(
            "len-simple", flags, f"len={answer.len}, but the FULL_RO answer has len={full.len}"
        )


def _judge_readonly(flags: int, answer: Answer, full: Answer | None) -> Iterator[Finding]:
    full_readonly = full is not None and bool(full.readonly)
    if wants_writable(flags) and (answer.readonly or full_readonly):
        yield _finding(
            "writable-readonly",
            flags,
            f"WRITABLE request served with readonly={answer.readonly}"
            + (" (FULL_RO says readonly=1)" if full_readonly else ""),
        )
    elif full is not None and bool(answer.readonly) != full_readonly:
        yield _finding(
            "readonly-inconsistent",
            flags,
            f"readonly={answer.readonly}, but the FULL_RO answer has readonly={full.readonly}",
        )


def _judge_format(flags: int, answer: Answer, full: Answer | None) -> Iterator[Finding]:
    fmt = answer.format
    if fmt is None:
        if wants_format(flags) and not _is_disallowed(flags):
            yield _finding("format-missing", flags, "FORMAT requested, format is NULL")
        return
    if not wants_format(flags):
        yield _finding("format-unrequested", flags, f"format={fmt!r} though FORMAT not requested")
    if full is not None and full.format is not None and fmt != full.format:
        yield _finding(
            "format-inconsistent",
            flags,
            f"format={fmt!r}, but the FULL_RO answer has format={full.format!r}",
        )
    try:
        size = _itemsize_of(fmt)
    except Exception as error:  # MemoryError too: a format's counts are the exporter's
        yield _finding(
            "format-unparseable",
            flags,
            f"cannot check itemsize: {type(error).__name__}: {error}",
        )
        return
    if size != answer.itemsize:
        yield _finding(
            "itemsize-format",
            flags,
            f"itemsize={answer.itemsize}, but format {fmt!r} has itemsize {size}",
        )


def _judge_arrays(flags: int, answer: Answer, full: Answer | None) -> Iterator[Finding]:
    """``shape``, ``strides`` and ``suboffsets`` present exactly when requested."""
    has_dims = answer.ndim > 0
    if wants_shape(flags) and answer.shape is None and has_dims:
        yield _finding("shape-missing", flags, f"ND implied, shape is NULL (ndim={answer.ndim})")
    if not wants_shape(flags) and answer.shape is not None:
        yield _finding("shape-unrequested", flags, f"shape={answer.shape} though ND not implied")
    if wants_strides(flags) and answer.strides is None and has_dims:
        yield _finding(
            "strides-missing", flags, f"STRIDES implied, strides is NULL (ndim={answer.ndim})"
        )
    if not wants_strides(flags) and answer.strides is not None:
        yield _finding(
            "strides-unrequested", flags, f"strides={answer.strides} though STRIDES not implied"
        )
    if not wants_indirect(flags) and answer.suboffsets is not None:
        yield _finding(
            "suboffsets-unrequested",
            flags,
            f"suboffsets={answer.suboffsets} though INDIRECT not requested",
        )


def _judge_contiguity(flags: int, answer: Answer, full: Answer | None) -> Iterator[Finding]:
    if not answer.is_sane:
        return
    if not wants_strides(flags) and full is not None and full.is_sane and not full.contiguity()[0]:
        yield _finding(
            "implied-c-contiguous",
            flags,
            "served without STRIDES, but the memory is not C-contiguous "
            f"(FULL_RO: shape={full.shape} strides={full.strides} "
            f"suboffsets={full.suboffsets})",
        )
    c_contiguous, f_contiguous = answer.contiguity()
    where = f"shape={answer.shape} strides={answer.strides} suboffsets={answer.suboffsets}"
    if wants_c_contiguous(flags) and not c_contiguous:
        yield _finding("c-contiguous", flags, f"memory is not C-contiguous: {where}")
    if wants_f_contiguous(flags) and not f_contiguous:
        yield _finding("f-contiguous", flags, f"memory is not Fortran-contiguous: {where}")
    if wants_any_contiguous(flags) and not (c_contiguous or f_contiguous):
        yield _finding("any-contiguous", flags, f"memory is not contiguous: {where}")


def _satisfies(full: Answer, flags: int) -> bool:
    """Whether the ``FULL_RO`` layout could serve ``flags`` as it is."""
    if not full.is_sane or _is_disallowed(flags):
        return False
    if wants_writable(flags) and full.readonly:
        return False
    if full.is_indirect and not wants_indirect(flags):
        return False
    c_contiguous, f_contiguous = full.contiguity()
    if not wants_strides(flags) or wants_c_contiguous(flags):
        return c_contiguous
    if wants_f_contiguous(flags):
        return f_contiguous
    if wants_any_contiguous(flags):
        return c_contiguous or f_contiguous
    return True


def _satisfies_safely(full: Answer, flags: int) -> bool:
    """``_satisfies``, False where the ``FULL_RO`` fields defeat the reasoning."""
    try:
        return _satisfies(full, flags)
    except Exception:
        return False


# --- the whole check --------------------------------------------------------------


@dataclass(slots=True)
class Report:
    """The result of ``check_exporter``: per-request outcomes and the broken rules.

    ``not_an_exporter`` says why the object is no exporter at all (its type has no
    buffer protocol, or it is released or closed); it is None for an exporter.
    """

    exporter: str
    results: list[Outcome] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    not_an_exporter: str | None = None

    @property
    def passed(self) -> bool:
        """An exporter that violated no rule (warnings allowed)."""
        return self.not_an_exporter is None and not self.violations

    @property
    def violations(self) -> list[Finding]:
        """The findings of severity ``violation``."""
        return [f for f in self.findings if f.severity == VIOLATION]

    @property
    def warnings(self) -> list[Finding]:
        """The findings of severity ``warning``."""
        return [f for f in self.findings if f.severity == WARNING]

    def rules(self, severity: str | None = None) -> set[str]:
        """The ids of the broken rules (of one severity, if given)."""
        return {f.rule for f in self.findings if severity in (None, f.severity)}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return {
            "exporter": self.exporter,
            "passed": self.passed,
            "not_an_exporter": self.not_an_exporter,
            "results": [outcome.to_dict() for outcome in self.results],
            "findings": [finding.to_dict() for finding in self.findings],
        }

    def __str__(self) -> str:
        if self.not_an_exporter is not None:
            return f"{self.exporter}: not an exporter: {self.not_an_exporter}"
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"{self.exporter}: {verdict} "
            f"({len(self.violations)} violations, {len(self.warnings)} warnings)"
        ]
        lines += [f"  {outcome}" for outcome in self.results]
        if self.findings:
            lines.append("findings:")
            lines += [f"  {finding}" for finding in self.findings]
        return "\n".join(lines)


def is_factory(candidate: object) -> bool:
    """A callable that does not export a buffer itself (classes count as factories)."""
    return callable(candidate) and not hasattr(type(candidate), "__buffer__")


def _safe_repr(obj: object, limit: int = 60) -> str:
    """``repr(obj)`` cut to ``limit`` characters; a ``repr`` that raises is not ours to raise."""
    try:
        text = repr(obj)
    except Exception as error:
        text = f"<{type(obj).__qualname__} object at {id(obj):#x}: repr raised {error!r}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(exporter: object, factory: object | None) -> str:
    text = _safe_repr(exporter)
    if factory is None:
        return text
    name = getattr(factory, "__qualname__", type(factory).__qualname__)
    return f"{name}() -> {text}"


def not_an_exporter(obj: object, refused_with: str | None = None) -> str | None:
    """Why ``obj`` is no exporter at all, or None.

    Its type has no buffer protocol (every exporter type has ``__buffer__``: PEP 688
    gives it to the C types with a getbuffer slot too); or a request failed with
    ``refused_with`` (an exception's type name), not ``BufferError``, and ``obj``
    says it is released (the builtin memoryview's and ``MemoryView``'s repr) or
    closed (``mmap``): a dead object exports nothing.
    """
    if not hasattr(type(obj), "__buffer__"):
        return f"{type(obj).__qualname__} does not support the buffer protocol"
    if refused_with in (None, "BufferError"):
        return None
    try:
        released = _safe_repr(obj).startswith("<released") or getattr(obj, "closed", 0) is True
    except Exception:
        return None
    return f"this {type(obj).__qualname__} is released or closed" if released else None


def check_exporter(obj_or_factory: object, *, requests: Iterable[int] | None = None) -> Report:
    """Issue every request in ``requests`` (default ``ALL_REQUESTS``) and judge the answers.

    ``obj_or_factory`` is an exporter, or a zero-argument callable returning a
    fresh one for each request (``is_factory``). Never raises for a misbehaving
    exporter (a factory's own exception propagates); ``requests`` are validated
    by ``flags.request`` (``TypeError``, ``OverflowError``).
    """
    asked = tuple(
        BufferFlags(request(flags)) for flags in (ALL_REQUESTS if requests is None else requests)
    )
    factory = cast("Callable[[], object]", obj_or_factory) if is_factory(obj_or_factory) else None
    made: list[object] = []  # every object made stays alive until the check is done

    def fresh() -> object:
        made.append(obj_or_factory if factory is None else factory())
        return made[-1]

    report = Report(_describe(fresh(), factory))
    report.not_an_exporter = not_an_exporter(made[0])
    if report.not_an_exporter is not None:
        return report
    full, full_outcome = _reference(made[0], report)
    if not full_outcome.served:
        dead = not_an_exporter(made[0], full_outcome.error)
        if dead is not None:
            report.not_an_exporter = f"{dead} ({full_outcome.error}: {full_outcome.message})"
            report.findings.clear()
            return report
    for flags in asked:
        if flags == BufferFlags.FULL_RO:
            report.results.append(full_outcome)
            continue
        outcome, findings = _issue(fresh(), flags)
        report.results.append(outcome)
        report.findings += findings
        report.findings += _judge_outcome(outcome, full)
    return report


def _reference(exporter: object, report: Report) -> tuple[Answer | None, Outcome]:
    """Issue ``FULL_RO`` twice on ``exporter``; the first answer is the reference."""
    full_ro = BufferFlags.FULL_RO
    first, findings = _issue(exporter, full_ro)
    second, _ = _issue(exporter, full_ro)
    report.findings += findings
    full = first.answer
    if full is None and not first.served:
        report.findings.append(
            _finding(
                "full-ro-refused",
                full_ro,
                f"FULL_RO failed ({first.error}: {first.message})",
            )
        )
    if full is None:
        return None, first
    report.findings += _judge_answer(full_ro, full, full)
    if second.answer is None or second.answer.layout() != full.layout():
        got = second.answer.describe() if second.answer else f"{second.error}: {second.message}"
        report.findings.append(
            _finding(
                "layout-unstable",
                full_ro,
                f"a repeated FULL_RO request gave {got}; the first gave {full.describe()}",
            )
        )
    return full, first


def _judge_outcome(outcome: Outcome, full: Answer | None) -> Iterator[Finding]:
    flags = outcome.request
    if outcome.answer is not None:
        yield from _judge_answer(flags, outcome.answer, full)
    elif not outcome.served and full is not None and _satisfies_safely(full, flags):
        yield _finding(
            "refused-satisfiable",
            flags,
            f"refused ({outcome.error}: {outcome.message}) although the FULL_RO "
            "layout satisfies it",
        )
