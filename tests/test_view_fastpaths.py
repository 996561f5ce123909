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

from exporters import CountingExporter
from layouts import NATIVE_FORMATS, Spec, examples, specs, testbuffer
from view_oracles import normalized, outcome

EXAMPLES = examples(120)
ND_WRITABLE = testbuffer.ND_WRITABLE
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
    "tobytes C": lambda v: v.tobytes("C"),
    "tobytes C subclass": lambda v: v.tobytes(type("S", (str,), {})("C")),
    "tobytes F": lambda v: v.tobytes("F"),
    "tobytes A": lambda v: v.tobytes("A"),
    "tobytes None": lambda v: v.tobytes(None),
    "hex": lambda v: v.hex(),
    "hex sep": lambda v: v.hex(":", 2),
    "tolist": lambda v: v.tolist(),
    "item": lambda v: v[()] if v.ndim == 0 else v[0] if v.ndim == 1 and v.shape[0] else None,
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
    """Fresh, and again after an export (whose memoryview may then serve the reads)."""
    exporter = spec.make()
    for exported in (False, True):
        whole = MemoryView(exporter)
        if exported:
            memoryview(whole).release()
        general = whole[...]  # the same layout, format and mode: not the pin's answer
        for name, read in READS.items():
            assert outcome(read, whole) == outcome(read, general), (name, exported)


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

    equal = tuple(map(_copy_slice, key)) if type(key) is tuple else _copy_slice(key)
    for each in (key, key, equal):  # the same key from the caches, then an equal one

        def slicing(view: Any, each: Any = each) -> Any:
            return view[each]

        assert outcome(slicing, seen) == outcome(slicing, MemoryView(exporter))
        assert outcome(casting, seen) == outcome(casting, MemoryView(exporter)), (code, shape)


def _copy_slice(key: slice) -> slice:
    return slice(key.start, key.stop, key.step)


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


def test_the_last_cast_is_found_by_identity_of_immutable_arguments_only() -> None:
    view = MemoryView(bytes(8))
    shape = [2, 4]
    assert view.cast("B", shape).shape == (2, 4)
    shape[:] = [4, 2]  # (the same list, other contents)
    assert view.cast("B", shape).shape == (4, 2)
    first = (2, 4)
    assert view.cast("B", first).shape == (2, 4)
    assert view.cast("b", first).format == "b"
    assert view.cast("B", first).format == "B"
    assert view.cast("B", (8,)).shape == (8,)

    class Text(str):
        pass

    assert view.cast(Text("b"), first).format == "b"
    assert view.cast("B").shape == (8,)


@EXAMPLES
@given(specs(max_ndim=2), st.data())
def test_slice_assignment_in_c_equals_the_general_path(spec: Spec, data: st.DataObject) -> None:
    fast, general = spec.make(ND_WRITABLE), spec.make(ND_WRITABLE)
    target = data.draw(st.sampled_from(["whole", "sub-view"]))
    views = [MemoryView(fast), MemoryView(general)]
    if target == "sub-view":
        views = [view[...] for view in views]
    length = views[0].shape[0] if views[0].ndim else 1
    key = slice(
        data.draw(st.none() | st.integers(-length - 1, length + 1)),
        data.draw(st.none() | st.integers(-length - 1, length + 1)),
        data.draw(st.none() | st.sampled_from([1, 2, -1, -3])),
    )
    kind = data.draw(st.sampled_from(["bytes", "bytearray", "memoryview", "MemoryView"]))
    source = _source(data, spec, views[1], key, kind)

    def assign(view: Any, value: Any) -> Any:
        view[key] = value
        return view.tobytes()

    in_c = outcome(lambda view: assign(view, source), views[0])
    relayed = outcome(lambda view: assign(view, CountingExporter(source)), views[1])
    assert in_c == relayed, (kind, key)
    assert memoryview(fast).tobytes() == memoryview(general).tobytes()


def _source(data: st.DataObject, spec: Spec, view: MemoryView, key: slice, kind: str) -> Any:
    """A source of ``kind``: mostly the selection's own items reversed (so that the
    assignment succeeds and changes bytes), sometimes another array (so that it fails)."""
    try:
        selection = view[key]
        raw = selection.tobytes()[::-1]
        shape = selection.shape
    except (TypeError, ValueError, NotImplementedError):
        raw, shape = b"", None
    if shape is None or data.draw(st.integers(0, 3)) == 0:
        other = data.draw(specs(formats=(spec.format, "B", "<i"), max_ndim=2)).make()
        raw, shape, text = memoryview(other).tobytes(), memoryview(other).shape, other.format
    else:
        text = spec.format
    if kind in ("bytes", "bytearray"):
        return bytes(raw) if kind == "bytes" else bytearray(raw)
    items = MemoryView(raw).cast(text, list(shape)) if raw else MemoryView(raw)
    if kind == "memoryview":
        return memoryview(items)
    return items


def test_an_exported_0d_view_still_reads_through_its_export() -> None:
    """After an export, the export's memoryview is the view's reader: a 0-d one has
    no truth value, and an empty one is false; each is used as it is."""
    array = testbuffer.ndarray(3, shape=[], format="i", flags=ND_WRITABLE)
    view = MemoryView(array)
    memoryview(view).release()
    assert view[()] == 3
    view[()] = 1728
    assert view.tolist() == 1728 == memoryview(array)[()]
    empty = MemoryView(bytearray())
    memoryview(empty).release()
    assert empty.tolist() == [] and list(empty) == []


ITEM_KEYS: list[Any] = [
    0, -1, 1, 5, 2**70, (), (0,), (1, 2), (-1, -1), (5, 0), (0, -9), (1, 2, 3),
    (0, 0, 0, 0), (1, slice(None)), (0, ...), (True, 0), (0, 1.0), (2**70, 0),
]  # fmt: skip


def _item_outcome(view: Any, key: Any) -> Any:
    try:
        return "value", normalized(view[key])
    except Exception as error:
        return "raise", type(error), str(error)


@EXAMPLES
@given(specs(max_ndim=3))
def test_items_through_the_reader_equal_the_general_path(spec: Spec) -> None:
    """``v[i]`` and ``v[i, j, ...]`` answered by the reader of a view that has one give
    the value, or the exception and message, of a view with none yet (each key then
    takes the general path)."""
    exporter = spec.make()
    warm = MemoryView(exporter)
    for key in ITEM_KEYS:
        _item_outcome(warm, key)  # (the first read makes the reader, if the format has one)
    for key in ITEM_KEYS:
        assert _item_outcome(warm, key) == _item_outcome(MemoryView(exporter), key), key


class _Bytes(bytes):
    pass


class _ByteArray(bytearray):
    pass


@pytest.mark.parametrize(
    "data",
    [bytes(range(7)), bytearray(range(7)), b"", bytearray(), _Bytes(b"ab"), _ByteArray(b"ab")],
    ids=["bytes", "bytearray", "empty bytes", "empty bytearray", "subclass", "subclass 2"],
)
def test_a_view_of_bytes_made_without_asking_its_format_reads_as_the_general_path(
    data: bytes,
) -> None:
    """``MemoryView(bytes or bytearray)`` knows its items are 'B' without asking the
    pin (subclasses are asked, as any exporter)."""
    for view in (MemoryView(data), MemoryView(data, 0x11C)):  # (FULL_RO, another object)
        general = view[...]
        for name, read in READS.items():
            assert outcome(read, view) == outcome(read, general), name
            assert outcome(read, view) == outcome(read, memoryview(data)), name
        view.release()
