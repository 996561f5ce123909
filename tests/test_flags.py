"""Request flags: the C API's values, the predicates, the validator and the namer."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit.flags import (
    INT_MAX,
    INT_MIN,
    BufferFlags,
    describe,
    refusal,
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


# --- the one validator and the one namer ------------------------------------------------

REQUESTS = [base | m for base in (0, 8, 0x18, 0x38, 0x58, 0x98, 0x118) for m in (0, 1, 4, 5)]


def _from_name(name: str) -> int:
    """Read a ``describe`` name back: member names and one hex number, or'ed."""
    value = 0
    for part in name.split("|"):
        value |= int(part, 16) if part.startswith("0x") else int(BufferFlags[part])
    return value


@given(st.integers(0, INT_MAX))
def test_describe_names_every_bit_and_reads_back(flags: int) -> None:
    name = describe(flags)
    assert "<" not in name and "BufferFlags" not in name
    assert _from_name(name) == flags


@given(st.integers(INT_MIN, -1))
def test_describe_names_a_negative_request_by_its_bits(flags: int) -> None:
    assert _from_name(describe(flags)) == flags & 0xFFFFFFFF


def test_describe_uses_the_c_api_names() -> None:
    assert [describe(flags) for flags in REQUESTS[:8]] == [
        "SIMPLE",
        "WRITABLE",
        "FORMAT",
        "WRITABLE|FORMAT",
        "ND",
        "CONTIG",
        "ND|FORMAT",
        "ND|WRITABLE|FORMAT",
    ]
    assert describe(F.FULL_RO) == "FULL_RO" and describe(F.RECORDS) == "RECORDS"
    assert describe(F.C_CONTIGUOUS) == "C_CONTIGUOUS"
    assert describe(F.STRIDES | F.FORMAT) == "RECORDS_RO"
    assert describe(F.INDIRECT | F.WRITABLE) == "INDIRECT|WRITABLE"
    assert describe(0x20) == "0x20"  # a lone contiguity bit requests nothing the C API names
    assert len({describe(flags) for flags in REQUESTS}) == 28


_VALUES = st.one_of(
    st.integers(),
    st.integers(INT_MIN - 2, INT_MIN + 2),
    st.integers(INT_MAX - 2, INT_MAX + 2),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.none(),
    st.just(b"\x01"),
)


@given(_VALUES)
def test_request_validates_as_the_builtin_does(value: object) -> None:
    try:
        memoryview._from_flags(bytearray(4), value)  # type: ignore[attr-defined]
        builtin: type[Exception] | None = None
    except (TypeError, OverflowError) as error:
        builtin = type(error)
    try:
        assert request(value) == value
        ours: type[Exception] | None = None
    except (TypeError, OverflowError) as error:
        ours = type(error)
        assert repr(value) in str(error) or str(value) in str(error)
    assert ours is builtin


def test_request_keeps_the_value_as_a_plain_int() -> None:
    assert type(request(F.FULL_RO)) is int and request(True) == 1
