"""Every hot path that inlines a general one gives the general path's result.

A view made from an exporter answers many operations straight from its pin (the
builtin memoryview holding the request) when it is its request's whole answer;
``view[...]`` is the same view through the general path. Casts and slicings a
view has made before come from its caches; a fresh view makes them anew.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit import BufferFlags, MemoryView

from layouts import NATIVE_FORMATS, Spec, examples, specs
from view_oracles import outcome

EXAMPLES = examples(120)
F = BufferFlags
REQUESTS = [F.FULL_RO, F.RECORDS_RO, F.STRIDES, F.ND, F.SIMPLE, F.C_CONTIGUOUS, F.FULL]

READS: dict[str, Any] = {
    "nbytes": lambda v: v.nbytes,
    "readonly": lambda v: v.readonly,
    "itemsize": lambda v: v.itemsize,
    "format": lambda v: v.format,
    "ndim": lambda v: v.ndim,
    "shape": lambda v: v.shape,
    "strides": lambda v: v.strides,
    "suboffsets": lambda v: v.suboffsets,
    "c_contiguous": lambda v: v.c_contiguous,
    "f_contiguous": lambda v: v.f_contiguous,
    "contiguous": lambda v: v.contiguous,
    "len": len,
    "tobytes": lambda v: v.tobytes(),
    "tobytes F": lambda v: v.tobytes("F"),
    "tobytes A": lambda v: v.tobytes("A"),
    "tobytes None": lambda v: v.tobytes(None),
    "hex": lambda v: v.hex(),
    "hex sep": lambda v: v.hex(":", 2),
    "tolist": lambda v: v.tolist(),
    "hash": hash,
    "== bytes": lambda v: v == v.tobytes(),
    "== other": lambda v: v == b"\x00",
    "list": lambda v: list(v) if v.ndim == 1 else None,
    "bytes": bytes,
    **{f"export {F(flags).name}": (lambda v, flags=flags: _export(v, flags)) for flags in REQUESTS},
}


def _export(view: Any, flags: int) -> Any:
    with memoryview(view) if flags == F.FULL_RO else view.__buffer__(flags) as exported:
        fields = (exported.format, exported.shape, exported.strides, exported.readonly)
        return fields, exported.tobytes()


@EXAMPLES
@given(specs())
def test_a_whole_view_reads_as_the_general_path(spec: Spec) -> None:
    whole = MemoryView(spec.make())
    general = whole[...]  # the same layout, format and mode: not the pin's whole answer
    for name, read in READS.items():
        assert outcome(read, whole) == outcome(read, general), name


@EXAMPLES
@given(specs(formats=NATIVE_FORMATS), st.data())
def test_remembered_casts_and_slicings_equal_new_ones(spec: Spec, data: st.DataObject) -> None:
    exporter = spec.make()
    seen = MemoryView(exporter)
    keys: list[Any] = [slice(None), slice(1, None), slice(None, None, -1), slice(0, 3, 2)]
    if seen.ndim > 1:
        keys += [(slice(1, None), slice(None, None, 2)), (slice(None), slice(0, 1))]
    key = data.draw(st.sampled_from(keys))
    code, shaped = data.draw(st.sampled_from([("B", False), ("b", False), ("c", True)]))
    shape = (1, seen.nbytes) if shaped else None

    def casting(view: Any) -> Any:
        return view.cast(code) if shape is None else view.cast(code, shape)

    for _ in range(2):  # the second time from the caches
        assert outcome(lambda v: v[key], seen) == outcome(lambda v: v[key], MemoryView(exporter))
        assert outcome(casting, seen) == outcome(casting, MemoryView(exporter)), (code, shape)


def test_a_cached_cast_still_refuses_what_a_new_one_refuses() -> None:
    view = MemoryView(bytes(8))
    view.cast("B", (2, 4))
    with pytest.raises(TypeError):
        view.cast("B", (2.0, 4.0))  # type: ignore[arg-type]  # (equal to (2, 4) as a key)
    assert list(map(type, view.cast("B", (True, 8)).shape)) == [int, int]  # (as the builtin)
    assert view.cast("B", [2, 4]).shape == (2, 4)
    view.release()
    with pytest.raises(ValueError):
        view.cast("B", (2, 4))
