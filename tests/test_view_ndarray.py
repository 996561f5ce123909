"""MemoryView over bufferkit's own NDArray layout matrix, against the builtin memoryview.

The same random layouts as ``test_view_builtin`` (every flag combination, random
strides and offsets, suboffsets), built with ``bufferkit.NDArray``; and every
request of a MemoryView re-exported through ``NDArray(view, getbuf=...)``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from bufferkit import MemoryView, NDArray
from bufferkit import testbuffer as ours

from layouts import examples, specs
from view_oracles import ALL_REQUESTS, assert_same_requests, assert_same_view


def _reexport(exporter: Any, flags: int) -> Any:
    try:
        array = NDArray(exporter, getbuf=flags)
    except Exception as error:
        return ("raise", type(error))
    try:
        return ("ok", array.shape, array.strides, array.format, array.readonly, array.tobytes())
    except Exception as error:  # a re-exporter without shape or format
        return ("read fails", type(error))


@examples(60)
@given(specs())
def test_memoryview_of_ndarray_agrees_with_the_builtin(spec: Any) -> None:
    array = spec.make(module=ours)
    builtin = memoryview(array)
    view = MemoryView(array)
    assert_same_view(builtin, view, repr(spec))
    assert_same_requests(builtin, view)
    builtin.release()
    view.release()


@examples(40)
@given(specs(max_ndim=3))
def test_ndarray_re_exports_a_memoryview_as_it_re_exports_the_builtin(spec: Any) -> None:
    array = spec.make(module=ours)
    builtin = memoryview(array)
    view = MemoryView(array)
    for flags in ALL_REQUESTS:
        assert _reexport(view, flags) == _reexport(builtin, flags), hex(flags)
    assert not view._held_exports()
    builtin.release()
    view.release()
