"""Pictures of layouts: they draw exactly the answer, count what they leave out, line
their rows up with the strides and mark ``buf``, on every exporter and every request."""

from __future__ import annotations

import array
import ctypes
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bufferkit import MemoryView, NDArray, acquire, render
from bufferkit import testbuffer as tb
from bufferkit.conformance import ALL_REQUESTS
from bufferkit.flags import BufferFlags, describe
from bufferkit.managed import BufferInfo
from cexporters.build import BuildUnavailable, build

from layouts import examples, specs

F = BufferFlags
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def cexp(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    try:
        return build(tmp_path_factory.mktemp("cexporters"))
    except BuildUnavailable as error:
        pytest.skip(str(error))


class Point(ctypes.Structure):
    _fields_ = (("x", ctypes.c_int16), ("y", ctypes.c_double))


def _numpy_exporters() -> dict[str, Callable[[], Any]]:
    np = pytest.importorskip("numpy")
    grid = np.arange(60, dtype="<u2").reshape(5, 12)
    return {
        "numpy 0-d": lambda: np.array(3.0),
        "numpy 1-d float64": lambda: np.arange(6.0),
        "numpy C": lambda: grid.copy(),
        "numpy Fortran": lambda: np.asfortranarray(grid),
        "numpy transposed": lambda: grid.T,
        "numpy strided reversed": lambda: grid[::-2, 3::4],
        "numpy empty": lambda: grid[1:1],
        "numpy broadcast": lambda: np.broadcast_to(np.arange(3.0), (1000, 3)),
        "numpy structured": lambda: np.zeros(3, dtype=[("a", "<i4"), ("b", ">f8", (2,))]),
        "numpy 1000x1000": lambda: np.zeros((1000, 1000)),
    }


def _other_exporters() -> dict[str, Callable[[], Any]]:
    items = list(range(24))
    return {
        "bytes 2000": lambda: bytes(2000),
        "bytearray": lambda: bytearray(range(12)),
        "array('h')": lambda: array.array("h", range(7)),
        "memoryview 0-d": lambda: memoryview(bytes(8)).cast("d", ()),
        "ctypes c_double": lambda: ctypes.c_double(1.5),
        "ctypes int array": lambda: (ctypes.c_int * 6)(),
        "ctypes 2-d": lambda: ((ctypes.c_double * 3) * 2)(),
        "ctypes Structure": lambda: Point(),
        "NDArray C": lambda: NDArray(items, shape=[4, 6], format="i"),
        "NDArray Fortran": lambda: NDArray(items, shape=[4, 6], format="i", flags=tb.ND_FORTRAN),
        "NDArray strided": lambda: NDArray(
            items, shape=[3, 4], strides=[-16, 2], offset=32, format="h"
        ),
        "NDArray PIL": lambda: NDArray(items, shape=[4, 6], format="i", flags=tb.ND_PIL),
        "NDArray PIL 3-d": lambda: NDArray(items, shape=[2, 3, 4], format="B", flags=tb.ND_PIL),
        "NDArray scalar": lambda: NDArray(7, shape=[], format="q"),
        "NDArray records": lambda: NDArray([(1, 2.5), (3, 4.5)], shape=[2], format="hd"),
        "MemoryView slice": lambda: MemoryView(bytearray(range(24))).cast("B", (4, 6))[::-1, 1::2],
    }


C_EXPORTERS = {
    "C exporter": {},
    "C exporter Fortran": {"order": "F"},
    "C exporter wrong_len": {"fault": "wrong_len"},
    "C exporter suboffsets": {"fault": "suboffsets"},
    "C exporter format_unrequested": {"fault": "format_unrequested"},
}


def _element_index(label: str, ndim: int) -> tuple[int, ...]:
    """The index a cell label names; ``*`` (a stride-0 dimension) read as 0."""
    if label == "()":
        return ()
    parts = label.split(",")
    assert len(parts) == ndim
    return tuple(0 if part == "*" else int(part) for part in parts)


def _element_bytes(view: MemoryView, index: tuple[int, ...]) -> bytes:
    """The bytes of one element, as ``MemoryView`` reads them (an independent path)."""
    if not index:
        return view.tobytes()
    return view[tuple(slice(i, i + 1) for i in index)].tobytes()


def _reading_of_memoryview(obj: object, flags: int) -> MemoryView | None:
    try:
        return MemoryView(obj, flags)
    except Exception:
        return None


def _assert_picture_is_the_answer(obj: object, flags: int, info: BufferInfo) -> None:
    picture = render.build_picture(info, flags, "x")
    text = render.to_text(picture)
    answer = text.splitlines()[1]
    for name, value in (("ndim", info.ndim), ("len", info.len), ("itemsize", info.itemsize)):
        assert f" {name} {value} " in answer + " "
    for name in ("format", "shape", "strides", "suboffsets"):
        assert (f" {name} NULL " in answer + " ") is (getattr(info, name) is None)
    # The reading is MemoryView's.
    view = _reading_of_memoryview(obj, flags)
    layout = picture.layout
    assert layout is not None
    if view is not None:
        assert (picture.format, layout.itemsize, layout.ndim) == (
            view.format,
            view.itemsize,
            view.ndim,
        )
        assert (layout.shape, layout.strides) == (view.shape, view.strides)
        assert (layout.suboffsets or ()) == view.suboffsets
    # The counts add up, and each element is drawn once at most.
    assert picture.drawn + picture.not_drawn == layout.nitems
    cells = [c for b in picture.blocks for c in b.cells if c.pointer_to is None]
    assert sum(c.count for c in cells) == picture.drawn
    assert len({c.label for c in cells}) == len(cells)
    assert len(cells) <= picture.max_elements
    for block in picture.blocks:
        assert block.hi - block.lo <= picture.max_bytes
    # Every drawn element is where MemoryView finds its bytes.
    if view is not None and info.buf:
        for block in picture.blocks:
            for cell in block.cells:
                if (
                    cell.pointer_to is None
                    and cell.size <= 64
                    and block.hi >= cell.start + cell.size
                ):
                    index = _element_index(cell.label, layout.ndim)
                    found = ctypes.string_at(block.address + cell.start, cell.size)
                    assert found == _element_bytes(view, index), (cell, describe(flags))
    assert_rows_line_up(picture, text)
    assert_svg_marks_buf(picture, render.to_svg(picture))


def assert_rows_line_up(picture: render.Picture, text: str) -> None:
    """Rows of one width, starting at multiples of it from the block's origin; the width
    is a multiple of the largest stride that fits in it; ``buf`` starts a row."""
    offsets = [int(m.group(1)) for m in re.finditer(r"^\S*\s+([+-]\d+) ", text, re.MULTILINE)]
    steps = {b - a for a, b in itertools.pairwise(offsets) if b > a}
    if not steps:
        return
    width = min(steps)
    assert all(offset % width == 0 for offset in offsets)
    layout = picture.layout
    assert layout is not None
    strides = [abs(s) for s, n in zip(layout.strides, layout.shape, strict=True) if s and n > 1]
    fitting = [s for s in strides if s <= width]
    if fitting and not layout.is_indirect:
        assert width % max(fitting) == 0
    for line in text.splitlines():
        if re.match(r"^buf\s+[+-]\d+ ", line):
            assert line.split()[1] == "+0"


def assert_svg_marks_buf(picture: render.Picture, svg: str) -> None:
    root = ET.fromstring(svg)
    element_rects = root.findall(f".//{SVG}rect[@class='element']")
    assert len(element_rects) >= len(
        [c for b in picture.blocks for c in b.cells if c.pointer_to is None]
    )
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    footer = render._footer(picture)
    assert footer in texts
    shows_buf = any(b.origin == "buf" and b.lo <= 0 < max(b.hi, 1) for b in picture.blocks)
    marks = [t for t in root.iter(f"{SVG}text") if t.get("class") == "origin"]
    assert ("buf" in [m.text for m in marks]) is shows_buf
    if shows_buf:
        line = next(e for e in root.iter(f"{SVG}line") if e.get("class") == "origin")
        offset_zero = next(t for t in root.iter(f"{SVG}text") if t.text == "+0")
        row_top = float(offset_zero.get("y", 0)) - 21
        assert float(line.get("y1", 0)) < row_top < float(line.get("y2", 0))


def assert_every_answer_is_drawn_exactly(make: Callable[[], Any]) -> None:
    """Every request ``make()``'s exporters serve draws exactly its answer; some are."""
    served = 0
    for flags in ALL_REQUESTS:
        obj = make()
        try:
            with acquire(obj, flags) as info:
                _assert_picture_is_the_answer(obj, flags, info)
        except (BufferError, ValueError):  # refused, or a ndim no Py_buffer may have
            continue
        served += 1
    assert served > 0


@pytest.mark.parametrize("name", sorted(_other_exporters()))
def test_pictures_draw_exactly_the_answer(name: str) -> None:
    assert_every_answer_is_drawn_exactly(_other_exporters()[name])


@pytest.mark.parametrize("name", sorted(_numpy_exporters()))
def test_pictures_of_numpy_arrays_draw_exactly_the_answer(name: str) -> None:
    assert_every_answer_is_drawn_exactly(_numpy_exporters()[name])


@pytest.mark.parametrize("name", sorted(C_EXPORTERS))
def test_pictures_of_c_exporters_draw_exactly_the_answer(cexp: Any, name: str) -> None:
    assert_every_answer_is_drawn_exactly(lambda: cexp.Exporter(**C_EXPORTERS[name]))


@examples(150)
@given(spec=specs(), flags=st.sampled_from(ALL_REQUESTS))
def test_pictures_of_every_ndarray_layout_draw_exactly_the_answer(spec: Any, flags: int) -> None:
    obj = spec.make(module=tb)
    try:
        with acquire(obj, flags) as info:
            _assert_picture_is_the_answer(obj, flags, info)
    except BufferError:
        pass


# --- the cases the issue names --------------------------------------------------------


def _text(obj: object, flags: int = F.FULL_RO, **limits: int) -> str:
    with acquire(obj, flags) as info:
        return render.to_text(render.build_picture(info, flags, **limits))


@pytest.mark.parametrize(
    "make",
    [
        lambda: pytest.importorskip("numpy").array(3.0),
        lambda: ctypes.c_double(1.5),
        lambda: memoryview(bytes(8)).cast("d", ()),
    ],
)
def test_a_zero_dimensional_buffer_is_drawn_with_no_dimension(make: Callable[[], Any]) -> None:
    lines = _text(make()).splitlines()
    assert " ndim 0 " in lines[0]
    assert lines[1].startswith("read as") and " ndim 0  shape ()  strides () " in lines[1]
    assert "() at buf" in lines[2]
    assert any(line.startswith("buf    +0 │()") for line in lines)
    assert lines[-1] == "1 element, all drawn"


@pytest.mark.parametrize(
    ("flags", "answer", "reading"),
    [
        (
            F.SIMPLE,
            "answer   format NULL  itemsize 8  ndim 0  shape NULL",
            "read as  format 'B'  itemsize 1  ndim 1  shape (48,)  strides (1,)",
        ),
        (
            F.ND,
            "answer   format NULL  itemsize 8  ndim 1  shape (6,)  strides NULL",
            "read as  format '8s'  itemsize 8  ndim 1  shape (6,)  strides (8,)",
        ),
    ],
)
def test_a_float64_array_is_drawn_as_each_request_answers_it(
    flags: int, answer: str, reading: str
) -> None:
    np = pytest.importorskip("numpy")
    lines = _text(np.arange(6.0), flags).splitlines()
    assert lines[0].startswith(answer) and lines[1].startswith(reading)
    view = MemoryView(np.arange(6.0), flags)
    assert f"format {view.format!r}  itemsize {view.itemsize}  ndim {view.ndim}" in lines[1]


@pytest.mark.parametrize(
    ("make", "drawn"),
    [
        (lambda: bytes(2000), 512),
        (lambda: pytest.importorskip("numpy").zeros((1000, 1000)), 64),
    ],
)
def test_what_is_not_drawn_is_counted(make: Callable[[], Any], drawn: int) -> None:
    obj = make()
    total = memoryview(obj).nbytes // memoryview(obj).itemsize
    text = _text(obj)
    assert text.endswith(
        f"{total} elements: {drawn} drawn, {total - drawn} not drawn "
        "(at most 1024 elements and 512 bytes a block are drawn)\n"
    )


def test_huge_shapes_cost_what_the_picture_shows() -> None:
    np = pytest.importorskip("numpy")
    base = np.zeros(16)
    huge = np.lib.stride_tricks.as_strided(base, shape=(10**8, 2, 10**9), strides=(0, 8, 0))
    text = _text(huge)
    assert text.endswith(
        "200000000000000000 elements, all drawn; each drawn element stands for the "
        "100000000000000000 that share its bytes (*)\n"
    )
    assert "│*,0,*" in text and "│*,1,*" in text


def test_a_huge_item_is_shown_up_to_the_window() -> None:
    np = pytest.importorskip("numpy")
    with acquire(np.zeros(3, dtype="V100000"), F.FULL_RO) as info:
        picture = render.build_picture(info, F.FULL_RO)
    (block,) = picture.blocks
    assert (block.lo, block.hi) == (0, 512)
    assert picture.drawn == 1 and picture.not_drawn == 2
    assert len(render.to_text(picture)) < 20_000


def test_rows_are_array_rows_when_they_fit() -> None:
    text = _text(
        bytes(range(24)) and MemoryView(bytearray(range(24))).cast("B", (4, 6))[::-1, 1::2]
    )
    rows = [line for line in text.splitlines() if re.match(r"^\S*\s+[+-]\d+ ", line)]
    assert [row.split("│")[1].strip("·") for row in rows] == ["3,0", "2,0", "1,0", "0,0"]
    assert rows[-1].startswith("buf    +0 ")


def test_ascii_glyphs() -> None:
    with acquire(bytes(4), F.FULL_RO) as info:
        text = render.to_text(render.build_picture(info, F.FULL_RO), glyphs=render.ASCII)
    assert text.isascii() and "|0" in text


def test_the_svg_marks_buf_and_row_offsets(tmp_path: Path) -> None:
    with acquire(
        NDArray(list(range(12)), shape=[3, 4], format="h", flags=tb.ND_PIL), F.FULL_RO
    ) as info:
        picture = render.build_picture(info, F.FULL_RO)
    root = ET.fromstring(render.to_svg(picture))
    origins = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "origin"]
    assert origins == ["buf", "*0", "*1", "*2"]
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("class") == "arrow"]
    assert len(arrows) == 3


def test_blocks_behind_pointers_outside_the_window_still_say_where_they_come_from() -> None:
    exporter = NDArray(list(range(200)), shape=[100, 2], format="B", flags=tb.ND_PIL)
    with acquire(exporter, F.FULL_RO) as info:
        picture = render.build_picture(info, F.FULL_RO)
    buffer, *pointed = picture.blocks
    assert buffer.origin == "buf" and buffer.hi - buffer.lo == 512  # 64 of 100 pointers
    assert len(pointed) > 64
    assert all(b.origin.startswith("*") and b.title.startswith("block at pointer") for b in pointed)
    assert picture.drawn + picture.not_drawn == 200
