"""Records (``BufferInfo``, ``Field``) behave as frozen dataclasses did, and
``import bufferkit`` leaves the checker, the exporter and heavy modules unloaded."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit import BufferInfo, Format
from bufferkit.formats import Field

_values = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.tuples(st.integers()))


def _info(values: list[object]) -> BufferInfo:
    return BufferInfo(*values)


@given(st.lists(_values, min_size=11, max_size=11), st.lists(_values, min_size=11, max_size=11))
def test_equality_and_hash_follow_the_fields(first: list[object], second: list[object]) -> None:
    a, b = _info(first), _info(second)
    assert (a == b) == (first == second)
    assert a == _info(list(first))
    assert hash(a) == hash(_info(list(first)))
    assert a != tuple(first)


@given(st.lists(_values, min_size=11, max_size=11), st.integers())
def test_replace_changes_only_the_named_field(values: list[object], new: int) -> None:
    info = _info(values)
    changed = info.replace(len=new)
    assert changed.len == new
    assert [getattr(changed, n) for n in BufferInfo._fields if n != "len"] == [
        getattr(info, n) for n in BufferInfo._fields if n != "len"
    ]
    if sys.version_info >= (3, 13):
        assert copy.replace(info, len=new) == changed  # type: ignore[attr-defined]


def test_a_record_is_frozen_and_names_its_fields() -> None:
    info = _info([None, 1, 2, 3, True, 1, "B", (2,), (1,), None, None])
    with pytest.raises(AttributeError, match="'len'"):
        info.len = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del info.buf  # type: ignore[misc]
    with pytest.raises(TypeError, match="'lenght'"):
        info.replace(lenght=3)
    assert repr(info).startswith("BufferInfo(obj=None, buf=1, len=2, itemsize=3, readonly=True,")
    assert pickle.loads(pickle.dumps(info)) == info
    match info:
        case BufferInfo(None, buf, length):
            assert (buf, length) == (1, 2)
        case _:
            pytest.fail("positional patterns follow the fields")


def test_fields_of_a_format_compare_as_values() -> None:
    first, second = Format("<i2d").fields, Format("<i2d").fields
    assert first == second
    assert first[1] == Field(None, 4, "d", (), 1, 8, "<", repeat=2)
    assert pickle.loads(pickle.dumps(first[0])) == first[0]
    assert len({*first, *second}) == 2


def test_importing_bufferkit_loads_only_the_core() -> None:
    code = (
        "import sys, ctypes, enum, functools, struct\n"
        "before = set(sys.modules)\n"  # (3.14's ctypes loads threading, for one)
        "import bufferkit\n"
        "print(' '.join(sorted(m for m in set(sys.modules) - before if m in {"
        "'bufferkit.conformance', 'bufferkit.render', 'bufferkit.cli', 'bufferkit.ndarray',"
        "'bufferkit.testbuffer', 'dataclasses', 'typing', 're', 'inspect', 'threading',"
        "'weakref', 'array', 'contextlib', 'copy'})))\n"
        "bufferkit.check_exporter, bufferkit.NDArray\n"
        "print('bufferkit.conformance' in sys.modules, 'bufferkit.ndarray' in sys.modules)\n"
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert lines == ["", "True True"]
