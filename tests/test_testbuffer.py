"""bufferkit.testbuffer against CPython's C ``_testbuffer``: names, constants, functions."""

from __future__ import annotations

import array
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bufferkit import NDArray, testbuffer
from bufferkit import testbuffer as ours

from exporters import CountingExporter
from oracles import Spec, outcome, specs, view_summary

theirs = pytest.importorskip("_testbuffer")

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORDERS = ["C", "F", "A", "X", "", "Fortran", "CX", "\u00e9", b"C", 1]


def public_names(module: Any) -> set[str]:
    return {name for name in dir(module) if not name.startswith("_")}


def test_star_import_gives_the_c_modules_names() -> None:
    namespace: dict[str, Any] = {}
    exec("from bufferkit.testbuffer import *", namespace)
    assert set(namespace) - {"__builtins__"} == public_names(theirs)


def test_constants_are_equal() -> None:
    for name in public_names(theirs):
        value = getattr(theirs, name)
        if isinstance(value, int):
            assert getattr(ours, name) == value, name
            assert type(getattr(ours, name)) is int, name


def test_ndarray_is_the_package_class_restricted_to_struct_formats() -> None:
    """Its arrays, and the arrays made from them, are NDArrays of its own class."""
    array = testbuffer.ndarray(list(range(6)), shape=[2, 3])
    made = [array, array[1:], array[0], testbuffer.ndarray(array)]
    assert all(type(each) is testbuffer.ndarray for each in made)
    assert all(isinstance(each, NDArray) for each in made)


def test_get_sizeof_void_p() -> None:
    assert ours.get_sizeof_void_p() == theirs.get_sizeof_void_p()


# --- slice_indices ----------------------------------------------------------------------

WIDE = st.one_of(
    st.none(),
    st.integers(-12, 12),
    st.sampled_from([2**63 - 1, -(2**63), 2**70, -(2**70), 2**63, -(2**63) - 1]),
)


@given(
    st.one_of(st.builds(slice, WIDE, WIDE, WIDE), st.sampled_from([1, None, "a", slice(0, 1.5)])),
    st.one_of(st.integers(-12, 12), st.sampled_from([2**63 - 1, -(2**63), 2**70, 1.5, "3"])),
)
@settings(max_examples=400, deadline=None)
def test_slice_indices_agrees(key: Any, length: Any) -> None:
    """Clamping to Py_ssize_t, negative lengths and C's wrap-around included."""
    assert outcome(lambda: ours.slice_indices(key, length)) == outcome(
        lambda: theirs.slice_indices(key, length)
    )


# --- functions over arrays ------------------------------------------------------------


def _pair(spec: Spec) -> tuple[Any, Any]:
    """The C array and ours built from ``spec``. Skipped: examples C refuses, and more
    than 64 dimensions (PEP 688 cannot export them: tests/test_ndarray_vs_c.py)."""
    try:
        c_array = spec.build(theirs)
    except Exception:
        assume(False)
    assume(c_array.ndim <= 64)
    return c_array, spec.build(ours)


INDEX_LISTS = st.lists(
    st.one_of(st.integers(-1, 4), st.sampled_from([1.5, 2**70, True])), max_size=4
)


@given(specs(bad=False), st.one_of(INDEX_LISTS, INDEX_LISTS.map(tuple), st.just(3)))
@SETTINGS
def test_get_pointer_agrees(spec: Spec, indices: Any) -> None:
    c_array, py_array = _pair(spec)
    assert outcome(lambda: ours.get_pointer(py_array, indices)) == outcome(
        lambda: theirs.get_pointer(c_array, indices)
    )


def _contiguous_outcome(call: Any) -> Any:
    def run() -> Any:
        made = call()
        if isinstance(made, memoryview):
            with made:
                return view_summary(made)
        return made

    return outcome(run, describe=lambda value: value)


BUFFER_TYPES = st.sampled_from([ours.PyBUF_READ, ours.PyBUF_WRITE, 3, 1.5, 2**70])


@given(specs(bad=False), BUFFER_TYPES, st.sampled_from(ORDERS))
@SETTINGS
def test_get_contiguous_agrees(spec: Spec, buffertype: Any, order: Any) -> None:
    """The view itself when contiguous in ``order``, else a read-only copy (the copy's
    ``obj`` is left out of the comparison: a bytes object in C, None here)."""
    c_array, py_array = _pair(spec)
    mine = _contiguous_outcome(lambda: ours.get_contiguous(py_array, buffertype, order))
    assert mine == _contiguous_outcome(lambda: theirs.get_contiguous(c_array, buffertype, order))


REQUESTS = st.one_of(st.integers(0, 511), st.sampled_from([2**40, 1.5]))


@given(specs(bad=False), st.sampled_from(ORDERS), REQUESTS)
@SETTINGS
def test_py_buffer_to_contiguous_agrees(spec: Spec, order: Any, flags: Any) -> None:
    c_array, py_array = _pair(spec)
    assert outcome(lambda: ours.py_buffer_to_contiguous(py_array, order, flags)) == outcome(
        lambda: theirs.py_buffer_to_contiguous(c_array, order, flags)
    )


@pytest.mark.private_layouts  # re-exports of empty odd-strided arrays need _testbuffer's flags
@given(specs(bad=False), st.sampled_from(ORDERS), st.sampled_from([0, 1, 24, 280]))
@SETTINGS
def test_is_contiguous_agrees(spec: Spec, order: Any, getbuf: int) -> None:
    """On arrays (their head, no request), on re-exporters and on builtin memoryviews."""
    c_array, py_array = _pair(spec)
    assert outcome(lambda: ours.is_contiguous(py_array, order)) == outcome(
        lambda: theirs.is_contiguous(c_array, order)
    )
    c_made = outcome(lambda: theirs.ndarray(c_array, getbuf=getbuf), lambda a: a)
    py_made = outcome(lambda: ours.ndarray(py_array, getbuf=getbuf), lambda a: a)
    assert c_made[0] == py_made[0]
    if c_made[0] == "ok":
        assert outcome(lambda: ours.is_contiguous(py_made[1], order)) == outcome(
            lambda: theirs.is_contiguous(c_made[1], order)
        )
    c_view = outcome(lambda: memoryview(c_array), lambda v: v)
    py_view = outcome(lambda: memoryview(py_array), lambda v: v)
    if c_view[0] == "ok" and py_view[0] == "ok":
        assert outcome(lambda: ours.is_contiguous(py_view[1], order)) == outcome(
            lambda: theirs.is_contiguous(c_view[1], order)
        )


@given(specs(bad=False), specs(bad=False), st.booleans())
@SETTINGS
def test_cmp_contig_agrees(first: Spec, second: Spec, same: bool) -> None:
    """Pairs of arrays (often built from one spec, which compare equal) and bytes."""
    one, other = _pair(first), _pair(first if same else second)
    assert outcome(lambda: ours.cmp_contig(one[1], other[1])) == outcome(
        lambda: theirs.cmp_contig(one[0], other[0])
    )
    data = outcome(lambda: bytes(memoryview(one[0])))
    if data[0] == "ok":
        assert ours.cmp_contig(one[1], data[1]) == theirs.cmp_contig(one[0], data[1])


def _pair_of_arrays(first: dict[str, Any], second: dict[str, Any]) -> Any:
    def build(module: Any) -> Any:
        return module.cmp_contig(module.ndarray(**first), module.ndarray(**second))

    return outcome(lambda: build(ours)), outcome(lambda: build(theirs))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            {"obj": [1, 2], "shape": [2, 1], "strides": [1, 1]},
            {"obj": [1, 2], "shape": [2, 1], "strides": [1, 5]},
        ),
        (
            {"obj": [1, 2], "shape": [1, 2], "strides": [2, 1]},
            {"obj": [1, 2], "shape": [1, 2], "strides": [7, 1]},
        ),
        ({"obj": [7] * 257, "shape": [1, 257]}, {"obj": [7] * 257, "shape": [257, 1]}),
        ({"obj": [1], "shape": [0, 1], "strides": [5, 1]}, {"obj": [1], "shape": [0, 2]}),
        (
            {"obj": [1, 2, 3, 4], "shape": [2, 2]},
            {"obj": [1, 2, 3, 4], "shape": [2, 2], "flags": 4},
        ),
        ({"obj": [1, 2], "shape": [2]}, {"obj": [1, 2], "shape": [2], "format": "@B"}),
        ({"obj": [1], "shape": [0, 3], "strides": [0, -1]}, {"obj": [1], "shape": [0, 3]}),
        ({"obj": [1], "shape": [0, 3], "strides": [0, 1]}, {"obj": [1], "shape": [0, 3]}),
    ],
)
def test_cmp_contig_compares_shapes_and_strides_of_long_dimensions(first: Any, second: Any) -> None:
    mine, c = _pair_of_arrays(first, second)
    assert mine == c


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (b"abc", bytearray(b"abc")),
        (b"abc", b"abd"),
        (array.array("i", [1, 2]), array.array("I", [1, 2])),
        (array.array("i", [1, 2]), b"\x01\x00\x00\x00\x02\x00\x00\x00"),
        (1, b"a"),
        (b"a", 1),
        (memoryview(b"abcdef")[::2], b"ace"),
    ],
)
def test_cmp_contig_and_is_contiguous_on_builtins(first: Any, second: Any) -> None:
    assert outcome(lambda: ours.cmp_contig(first, second)) == outcome(
        lambda: theirs.cmp_contig(first, second)
    )
    for order in ORDERS:
        assert outcome(lambda order=order: ours.is_contiguous(first, order)) == outcome(
            lambda order=order: theirs.is_contiguous(first, order)
        )


def test_functions_release_every_buffer_they_get() -> None:
    exporter = CountingExporter(bytearray(range(8)))
    ours.get_pointer(exporter, [3])
    ours.py_buffer_to_contiguous(exporter, "F", ours.PyBUF_FULL_RO)
    ours.is_contiguous(exporter, "C")
    ours.cmp_contig(exporter, exporter)
    ours.get_contiguous(exporter, ours.PyBUF_WRITE, "C").release()
    with pytest.raises(ValueError):
        ours.py_buffer_to_contiguous(exporter, "X", ours.PyBUF_FULL_RO)
    with pytest.raises(ValueError):
        ours.get_pointer(exporter, [1, 2])
    with pytest.raises(TypeError):
        ours.cmp_contig(exporter, 1)
    assert exporter.gets == exporter.releases > 0


# --- staticarray -------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True])
def test_staticarray_exports_the_same_bytes(legacy: bool) -> None:
    with memoryview(ours.staticarray(legacy)) as mine, memoryview(theirs.staticarray(legacy)) as c:
        assert view_summary(mine) == view_summary(c)
    c_array = theirs.ndarray(theirs.staticarray(legacy))
    py_array = ours.ndarray(ours.staticarray(legacy))
    assert py_array.tolist() == c_array.tolist()
    assert (py_array.readonly, py_array.flags, py_array.shape) == (
        c_array.readonly,
        c_array.flags,
        c_array.shape,
    )


def test_staticarray_cannot_ignore_requests_through_pep_688() -> None:
    """C's staticarray grants a WRITABLE request on read-only memory; the builtin
    memoryview CPython puts behind PEP 688 refuses it (a documented difference)."""
    assert theirs.ndarray(theirs.staticarray(), getbuf=theirs.PyBUF_WRITABLE).readonly
    with pytest.raises(BufferError):
        ours.ndarray(ours.staticarray(), getbuf=ours.PyBUF_WRITABLE)


@pytest.mark.skipif(sys.byteorder != "little", reason="byte strings written little-endian")
def test_py_buffer_to_contiguous_of_a_pil_array_in_both_orders() -> None:
    for module in (ours, theirs):
        pil = module.ndarray(list(range(6)), shape=[2, 3], format="<h", flags=module.ND_PIL)
        assert module.py_buffer_to_contiguous(pil, "F", module.PyBUF_FULL_RO) == bytes(
            [0, 0, 3, 0, 1, 0, 4, 0, 2, 0, 5, 0]
        )
