import inspect

import pytest

from bufferkit.flags import (
    BufferFlags,
    refusal,
    wants_any_contiguous,
    wants_c_contiguous,
    wants_f_contiguous,
    wants_format,
    wants_indirect,
    wants_shape,
    wants_strides,
    wants_writable,
)

F = BufferFlags


def test_values_equal_inspect_bufferflags() -> None:
    ours = {member.name: member.value for member in BufferFlags}
    theirs = {member.name: member.value for member in inspect.BufferFlags}
    assert ours == theirs


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (F.SIMPLE, set()),
        (F.WRITABLE, {"writable"}),
        (F.FORMAT, {"format"}),
        (F.ND, {"shape"}),
        (F.STRIDES, {"shape", "strides"}),
        (F.C_CONTIGUOUS, {"shape", "strides", "c"}),
        (F.F_CONTIGUOUS, {"shape", "strides", "f"}),
        (F.ANY_CONTIGUOUS, {"shape", "strides", "any"}),
        (F.INDIRECT, {"shape", "strides", "indirect"}),
        (F.CONTIG, {"shape", "writable"}),
        (F.CONTIG_RO, {"shape"}),
        (F.STRIDED, {"shape", "strides", "writable"}),
        (F.STRIDED_RO, {"shape", "strides"}),
        (F.RECORDS, {"shape", "strides", "writable", "format"}),
        (F.RECORDS_RO, {"shape", "strides", "format"}),
        (F.FULL, {"shape", "strides", "writable", "format", "indirect"}),
        (F.FULL_RO, {"shape", "strides", "format", "indirect"}),
    ],
)
def test_predicates_follow_the_c_api_implications(flags: int, expected: set[str]) -> None:
    predicates = {
        "writable": wants_writable,
        "format": wants_format,
        "shape": wants_shape,
        "strides": wants_strides,
        "indirect": wants_indirect,
        "c": wants_c_contiguous,
        "f": wants_f_contiguous,
        "any": wants_any_contiguous,
    }
    assert {name for name, test in predicates.items() if test(flags)} == expected


def test_a_lone_contiguity_bit_is_not_a_contiguity_request() -> None:
    # 0x20 without STRIDES is not PyBUF_C_CONTIGUOUS (the C macros test whole patterns).
    assert not wants_c_contiguous(0x20)
    assert not wants_indirect(0x100)


@pytest.mark.parametrize(
    ("flags", "state", "rule"),
    [
        (BufferFlags.FULL_RO, {}, None),
        (BufferFlags.FULL, {"readonly": True}, "writable"),
        (BufferFlags.FULL | BufferFlags.C_CONTIGUOUS, {"readonly": True, "c": False}, "writable"),
        (BufferFlags.C_CONTIGUOUS, {"c": False}, "c_contiguous"),
        (BufferFlags.F_CONTIGUOUS, {"f": False}, "f_contiguous"),
        (BufferFlags.ANY_CONTIGUOUS, {"c": False, "f": False}, "any_contiguous"),
        (BufferFlags.ANY_CONTIGUOUS, {"c": False}, None),
        (BufferFlags.RECORDS_RO, {"indirect": True}, "suboffsets"),
        (BufferFlags.ND, {"c": False}, "strides"),
        (BufferFlags.SIMPLE | BufferFlags.FORMAT, {}, "format"),
        (BufferFlags.CONTIG_RO | BufferFlags.FORMAT, {}, None),
    ],
)
def test_refusal_names_the_first_rule_broken(
    flags: int, state: dict[str, bool], rule: str | None
) -> None:
    answer = refusal(
        flags,
        readonly=state.get("readonly", False),
        c_contiguous=state.get("c", True),
        f_contiguous=state.get("f", True),
        indirect=state.get("indirect", False),
    )
    assert answer == rule
