"""Pictures of buffer layouts: which element sits at which byte.

A ``Picture`` is built from one acquired buffer (a ``BufferInfo`` whose buffer is
still held) and then drawn as text for a terminal or as a standalone SVG file.

What is drawn is the answer itself. The header gives the exporter's fields as
they are (``NULL`` where NULL), then how a consumer reads them -- the reading
``MemoryView(obj, flags)`` makes, which is the builtin memoryview's: a NULL
format is ``'B'``, or ``'Ns'`` (opaque items) when ``itemsize`` is N > 1; the
answer to a request without ``ND`` whose format reads ``'B'`` is ``len`` bytes,
whatever ``itemsize``, ``ndim`` and ``shape`` say (NumPy: ndim 0); ``ndim`` 0 is
a scalar; a NULL shape with ``ndim`` 1 is ``len // itemsize`` items; NULL strides
are C strides. The elements are placed where that reading puts them.

Invariants:
- Building a picture reads no element data. It reads only the pointers of
  indirect (suboffset) dimensions, exactly where PEP 3118's ``get_item_pointer``
  reads them, and only while the caller holds the buffer: like every consumer of
  suboffsets (CPython's memoryview, ``PyBuffer_GetPointer``) it trusts the
  answer's pointer arrays, and it never follows a NULL pointer.
- Pictures are bounded whatever the shape, strides or item size: at most
  ``max_elements`` elements are placed, each block shows at most ``max_bytes``
  bytes (a window that starts at its first element in memory order), and at
  most ``_SCAN_FACTOR * max_elements`` elements are visited.
- Pictures count: every element is drawn or counted as not drawn, and
  ``drawn + not_drawn == nitems``. Dimensions whose stride is 0 move no byte: an
  element drawn at index 0 of them (label ``*``) stands for all of them.
- Rows line up with the strides: a row is as wide as the largest stride that
  fits (a whole number of them for the innermost one), and rows start at
  multiples of that width from the block's origin -- ``buf``, or the address a
  pointer holds -- so every origin starts a row and the row labels are offsets
  from it.
- Drawing is pure: the same picture always gives the same text and SVG.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from . import _capi
from .flags import wants_shape
from .layout import Layout
from .managed import BufferInfo
from .view import read_answer

__all__ = [
    "ASCII",
    "UNICODE",
    "Block",
    "Cell",
    "Glyphs",
    "Picture",
    "answer_fields",
    "build_picture",
    "reading",
    "to_svg",
    "to_text",
]

_PALETTE = (
    ("#8ecae6", 44),
    ("#ffb703", 43),
    ("#90be6d", 42),
    ("#f28482", 41),
    ("#cdb4db", 45),
    ("#a8dadc", 46),
)
_SCAN_FACTOR = 4
_ANSWER_FIELDS = ("format", "itemsize", "ndim", "shape", "strides", "suboffsets", "len")


class Glyphs(NamedTuple):
    """The symbols a text picture is drawn with."""

    edge: str  # the left edge of a cell
    empty: str  # a byte no element occupies
    more: str  # something left out


UNICODE = Glyphs("│", "·", "…")
ASCII = Glyphs("|", ".", "...")


# --- the answer and its reading --------------------------------------------------------


def answer_fields(info: BufferInfo) -> list[tuple[str, str]]:
    """The ``Py_buffer`` fields of ``info`` as the exporter filled them (``NULL`` for NULL)."""
    return [(name, _null(getattr(info, name))) for name in (*_ANSWER_FIELDS, "readonly")]


def reading(info: BufferInfo, flags: int) -> tuple[Layout, str, list[str]]:
    """How a consumer reads ``info``, the answer to ``flags`` (``MemoryView(obj, flags)``'s
    layout and format: ``view.read_answer``), and why, where the reading is not the
    fields themselves.

    ``ValueError`` when the answer cannot be read: no shape and ``ndim`` above 1,
    or fields no layout has (negative sizes).
    """
    layout, text = read_answer(
        info.format,
        info.itemsize,
        info.len,
        info.ndim,
        info.shape,
        info.strides,
        info.suboffsets,
        flags,
    )
    return layout, text, _reading_notes(info, flags, layout, text)


def _reading_notes(info: BufferInfo, flags: int, layout: Layout, text: str) -> list[str]:
    """Why ``layout`` and ``text`` differ from the fields of ``info``."""
    if not wants_shape(flags):
        if (
            text == "B"
            and layout.shape == (info.len,)
            and (info.itemsize, info.ndim, info.shape) not in ((1, 1, None), (1, 1, (info.len,)))
        ):
            return [
                f"no ND requested: the memory is {info.len} bytes (itemsize "
                f"{info.itemsize}, ndim {info.ndim} and shape {_null(info.shape)} do not apply)"
            ]
        if text != "B" and layout.shape != (info.shape or ()):
            return [
                f"no ND requested, a format given: {info.len} bytes read as "
                f"{layout.shape[0]} items of {text!r}"
            ]
        return []
    notes: list[str] = []
    if info.format is None:
        if info.itemsize != 1:
            notes.append(f"format NULL with itemsize {info.itemsize}: opaque items ({text!r})")
        else:
            notes.append("format NULL: unsigned bytes ('B')")
    if info.ndim and info.shape is None:
        notes.append(f"shape NULL: {info.len} // {info.itemsize} items in one dimension")
    elif info.ndim and info.strides is None:
        notes.append("strides NULL: C strides")
    return notes


def _null(value: object) -> str:
    return "NULL" if value is None else repr(value)


# --- the picture -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """What occupies ``size`` bytes at ``start`` of a block: an element or a pointer.

    An element cell stands for ``count`` elements (those that differ from it only
    along stride-0 dimensions).
    """

    start: int
    size: int
    label: str
    ordinal: int
    pointer_to: int | None = None
    count: int = 1


@dataclass
class Block:
    """One stretch of memory, at ``address`` (its origin: ``buf`` or a pointer's target),
    showing the bytes ``window`` (relative to the origin) at most."""

    address: int
    title: str
    origin: str
    window: tuple[int, int] | None = None
    cells: list[Cell] = field(default_factory=list)

    @property
    def lo(self) -> int:
        """The first byte shown."""
        return min((c.start for c in self.cells), default=0)

    @property
    def hi(self) -> int:
        """One past the last byte shown (the window cuts cells that run past it)."""
        end = max((c.start + c.size for c in self.cells), default=0)
        return end if self.window is None else min(end, self.window[1])


@dataclass
class Picture:
    """An answer, its reading, and every drawn element located in its memory block."""

    description: str
    answer: list[tuple[str, str]]
    layout: Layout | None
    format: str
    notes: list[str]
    blocks: list[Block]
    nitems: int
    drawn: int
    max_elements: int
    max_bytes: int

    @property
    def not_drawn(self) -> int:
        """Elements the picture does not show (``drawn + not_drawn == nitems``)."""
        return self.nitems - self.drawn


def build_picture(
    info: BufferInfo,
    flags: int,
    description: str = "",
    *,
    max_elements: int = 1024,
    max_bytes: int = 512,
) -> Picture:
    """The picture of ``info``, the answer to the request ``flags``; the buffer must be held."""
    notes: list[str] = []
    try:
        layout, fmt, notes = reading(info, flags)
    except (ValueError, TypeError) as error:
        return Picture(description, answer_fields(info), None, info.format or "B",
                       [f"not drawn: {error}"], [], 0, 0, max_elements, max_bytes)  # fmt: skip
    blocks: list[Block] = []
    if info.buf:
        placer = _Placer(info.buf, layout, max_bytes)
        placer.place_all(max_elements)
        blocks = [b for b in placer.blocks.values() if b.cells]
        notes += placer.problems
    elif layout.nitems:
        notes.append("not drawn: buf is NULL")
    drawn = sum(c.count for b in blocks for c in b.cells if c.pointer_to is None)
    return Picture(description, answer_fields(info), layout, fmt, notes, blocks,
                   layout.nitems, drawn, max_elements, max_bytes)  # fmt: skip


def _memory_order(layout: Layout) -> tuple[list[int], list[range]]:
    """The dimensions outermost first and the index range of each, such that a direct
    layout is visited from its lowest address up: the largest stride outermost,
    negative strides walked backwards. A stride-0 dimension is visited at index 0
    only (all its indices share the bytes). Indirect layouts keep C order."""
    dims = list(range(layout.ndim))
    if not layout.is_indirect:
        dims.sort(key=lambda d: -abs(layout.strides[d]))
    ranges = []
    for d in dims:
        length, stride = layout.shape[d], layout.strides[d]
        if stride == 0:
            ranges.append(range(min(length, 1)))
        elif stride < 0 and not layout.is_indirect:
            ranges.append(range(length - 1, -1, -1))
        else:
            ranges.append(range(length))
    return dims, ranges


def _index_text(index: tuple[int, ...]) -> str:
    return ",".join(map(str, index))


class _Placer:
    """Places elements and pointer slots into blocks, following suboffsets."""

    def __init__(self, buf: int, layout: Layout, max_bytes: int) -> None:
        self.layout = layout
        self.max_bytes = max_bytes
        self.buf = buf
        self.blocks: dict[int, Block] = {buf: Block(buf, "buffer", "buf")}
        self.pointer_slots: set[tuple[int, int]] = set()
        self.problems: list[str] = []
        self.shared = [
            d for d in range(layout.ndim) if layout.strides[d] == 0 and layout.shape[d] > 1
        ]
        self.count = math.prod(layout.shape[d] for d in self.shared)

    def place_all(self, max_elements: int) -> None:
        dims, ranges = _memory_order(self.layout)
        index = [0] * self.layout.ndim
        placed = 0
        visits = itertools.islice(itertools.product(*ranges), _SCAN_FACTOR * max_elements)
        for ordered in visits:
            for d, i in zip(dims, ordered, strict=True):
                index[d] = i
            if self.place(placed, tuple(index)):
                placed += 1
                if placed == max_elements:
                    return

    def place(self, ordinal: int, index: tuple[int, ...]) -> bool:
        """Place the element at ``index`` if it falls in its block's window."""
        layout = self.layout
        base, position = self.buf, layout.offset
        suboffsets = layout.suboffsets or ()
        for dim, i in enumerate(index):
            position += layout.strides[dim] * i
            if dim < len(suboffsets) and suboffsets[dim] >= 0:
                target = _capi.read_pointer(base + position)
                self._pointer(base, position, index[: dim + 1], ordinal, target)
                if not target:
                    self._problem(f"the pointer at {_index_text(index[: dim + 1])} is NULL")
                    return False
                base, position = target, suboffsets[dim]
        cell = Cell(position, layout.itemsize, self._label(index), ordinal, count=self.count)
        return self._put(self._block(base, "", ""), cell)

    def _label(self, index: tuple[int, ...]) -> str:
        if not index:
            return "()"
        return ",".join("*" if d in self.shared else str(i) for d, i in enumerate(index))

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def _put(self, block: Block, cell: Cell) -> bool:
        if block.window is None:
            block.window = (cell.start, cell.start + self.max_bytes)
        if not block.window[0] <= cell.start < block.window[1]:
            return False
        block.cells.append(cell)
        return True

    def _pointer(
        self, base: int, position: int, prefix: tuple[int, ...], ordinal: int, target: int
    ) -> None:
        if (base, position) in self.pointer_slots:
            return
        self.pointer_slots.add((base, position))
        label = "*" + _index_text(prefix)
        self._block(target, f"block at pointer {label[1:]}", label)
        self._put(self._block(base, "", ""), Cell(position, _capi.POINTER_SIZE, label, ordinal,
                                                  pointer_to=target))  # fmt: skip

    def _block(self, address: int, title: str, origin: str) -> Block:
        block = self.blocks.get(address)
        if block is None:
            block = self.blocks[address] = Block(address, title, origin)
        return block


# --- text shared by both drawings ---------------------------------------------------------


def _header(picture: Picture) -> list[str]:
    lines = [picture.description] if picture.description else []
    lines.append("answer   " + "  ".join(f"{name} {value}" for name, value in picture.answer))
    layout = picture.layout
    if layout is not None:
        subs = layout.suboffsets if layout.suboffsets is not None else "none"
        lines.append(
            f"read as  format {picture.format!r}  itemsize {layout.itemsize}  "
            f"ndim {layout.ndim}  shape {layout.shape}  strides {layout.strides}  "
            f"suboffsets {subs}"
        )
        lines.append(
            f"         C-contiguous {layout.is_c_contiguous()}  "
            f"F-contiguous {layout.is_f_contiguous()}  element {_address_formula(layout)}"
        )
    lines += [f"note     {note}" for note in picture.notes]
    return lines


def _address_formula(layout: Layout) -> str:
    """How an element's address is computed, e.g. ``[i0,i1] at buf + 12*i0 + 4*i1``."""
    names = [f"i{k}" for k in range(layout.ndim)]
    if not names:
        return "() at buf"
    expression = "buf"
    suboffsets = layout.suboffsets or ()
    for k, (name, stride) in enumerate(zip(names, layout.strides, strict=True)):
        expression += f" + {stride}*{name}" if stride >= 0 else f" - {-stride}*{name}"
        if k < len(suboffsets) and suboffsets[k] >= 0:
            expression = f"*({expression}) + {suboffsets[k]}"
    return f"[{','.join(names)}] at {expression}"


def _footer(picture: Picture) -> str:
    total, drawn = picture.nitems, picture.drawn
    noun = "element" if total == 1 else "elements"
    if picture.layout is None:
        return ""
    if drawn == total:
        text = f"{total} {noun}, all drawn" if total else "0 elements"
    else:
        text = (
            f"{total} {noun}: {drawn} drawn, {total - drawn} not drawn (at most "
            f"{picture.max_elements} elements and {picture.max_bytes} bytes a block are drawn)"
        )
    shared = max((c.count for b in picture.blocks for c in b.cells), default=1)
    if shared > 1:
        text += f"; each drawn element stands for the {shared} that share its bytes (*)"
    return text


def _block_title(block: Block) -> str:
    return f"{block.title} (address 0x{block.address:x})"


def _byte_width(picture: Picture, per_char: float, minimum: int) -> int:
    """Columns (or pixels) per byte: every label fits in the cell of its smallest item."""
    cells = [c for b in picture.blocks for c in b.cells]
    widest = max((len(c.label) for c in cells), default=1)
    smallest = min((c.size for c in cells), default=1)
    return max(minimum, math.ceil((widest + 1) * per_char / smallest))


def _row_width(picture: Picture, budget: int) -> int:
    """Bytes per row: the largest stride that fits ``budget`` bytes -- as many of it
    as fit when it is the smallest stride -- else whole items, else ``budget``."""
    layout = picture.layout
    itemsize = layout.itemsize if layout is not None else 1
    steps = sorted(
        {abs(s) for s, n in zip(layout.strides, layout.shape, strict=True) if s and n > 1}
        if layout is not None
        else set()
    )
    fitting = [s for s in steps if s <= budget]
    if fitting:
        widest = fitting[-1]
        return widest * (budget // widest) if widest == steps[0] else widest
    if itemsize <= budget:
        return itemsize * (budget // itemsize)
    return max(1, budget)


def _rows(block: Block, per_row: int) -> Iterator[int | None]:
    """The start (relative to the block's origin) of each row to draw, aligned to
    ``per_row``; ``None`` once for each run of rows that no cell reaches."""
    lo, hi = block.lo, block.hi
    occupied: set[int] = set()
    for cell in block.cells:
        first = max(cell.start, lo)
        last = min(cell.start + cell.size, hi) - 1
        if first <= last:
            occupied.update(range(first // per_row, last // per_row + 1))
    previous: int | None = None
    for row in sorted(occupied):
        if previous is not None and row != previous + 1:
            yield None
        yield row * per_row
        previous = row


def _owners(block: Block) -> dict[int, Cell]:
    """The cell that owns each shown byte (the first element placed, where cells overlap)."""
    owner: dict[int, Cell] = {}
    lo, hi = block.lo, block.hi
    for cell in sorted(block.cells, key=lambda c: -c.ordinal):
        for byte in range(max(cell.start, lo), min(cell.start + cell.size, hi)):
            owner[byte] = cell
    return owner


# --- text -----------------------------------------------------------------------------


def to_text(picture: Picture, *, color: bool = False, glyphs: Glyphs = UNICODE) -> str:
    """The picture for a terminal: rows of bytes, each element labelled by its index."""
    lines = _header(picture)
    width = _byte_width(picture, 1, 2)
    per_row = _row_width(picture, max(1, 72 // width))
    for block in picture.blocks:
        lines.append("")
        lines.append(f"{_block_title(block)}: bytes {block.lo}..{block.hi} from {block.origin}")
        owner = _owners(block)
        for start in _rows(block, per_row):
            if start is None:
                lines.append(f"{'':>8}{glyphs.more}")
                continue
            mark = block.origin if start == 0 else ""
            stop = min(start + per_row, block.hi)
            row = _text_row(owner, max(start, block.lo), stop, width, color, glyphs)
            pad = glyphs.empty * width * (max(start, block.lo) - start)
            lines.append(f"{mark:<4}{start:>+5} {pad}{row}")
        targets = [c for c in block.cells if c.pointer_to is not None]
        for cell in targets[:8]:
            lines.append(f"{'':>10} {cell.label} -> 0x{cell.pointer_to:x}")
    footer = _footer(picture)
    if footer:
        lines += ["", footer]
    return "\n".join(lines) + "\n"


def _text_row(
    owner: dict[int, Cell], start: int, stop: int, width: int, color: bool, glyphs: Glyphs
) -> str:
    """Bytes ``start..stop`` of a block, ``width`` columns each, labelled by their cells."""
    parts = []
    for byte in range(start, stop):
        cell = owner.get(byte)
        if cell is None:
            parts.append(glyphs.empty * width)
            continue
        text = (glyphs.edge + cell.label).ljust(cell.size * width)
        offset = (byte - cell.start) * width
        chunk = text[offset : offset + width].ljust(width)
        if color:
            code = _PALETTE[cell.ordinal % len(_PALETTE)][1]
            chunk = f"\x1b[30;{code}m{chunk}\x1b[0m"
        parts.append(chunk)
    return "".join(parts)


# --- SVG ------------------------------------------------------------------------------

_ROW_H = 34
_ROW_GAP = 8
_MARGIN = 16
_GUTTER = 64
_CHAR_W = 6.6
_POINTER_FILL = "#d9d9d9"


class _SvgRows:
    """Where each drawn row of a block lies: ``top`` of the block, ``per_row`` bytes a row."""

    def __init__(self, block: Block, top: int, per_row: int) -> None:
        self.y: dict[int, int] = {}
        self.gaps: list[int] = []
        y = top
        for start in _rows(block, per_row):
            if start is None:
                self.gaps.append(y)
            else:
                self.y[start] = y
            y += _ROW_H + _ROW_GAP
        self.bottom = y


def _svg_block(
    block: Block, top: int, per_row: int, byte_width: int
) -> tuple[list[str], list[tuple[float, float, int]], int]:
    rows = _SvgRows(block, top, per_row)
    left = _GUTTER + _MARGIN
    out: list[str] = []
    for start, y in rows.y.items():
        out.append(f'<text x="{_MARGIN}" y="{y + 21}" class="offset">{start:+d}</text>')
        first, stop = max(start, block.lo), min(start + per_row, block.hi)
        out.append(
            f'<rect x="{left + (first - start) * byte_width}" y="{y}" '
            f'width="{(stop - first) * byte_width}" height="{_ROW_H}" class="gap"/>'
        )
    out += [f'<text x="{left}" y="{y + 21}" class="offset">…</text>' for y in rows.gaps]
    if 0 in rows.y:
        y = rows.y[0]
        out.append(
            f'<line x1="{left}" y1="{y - 6}" x2="{left}" y2="{y + _ROW_H + 3}" class="origin"/>'
            f'<text x="{left + 3}" y="{y - 1}" class="origin">{html.escape(block.origin)}</text>'
        )
    arrows: list[tuple[float, float, int]] = []
    for cell in sorted(block.cells, key=lambda c: c.ordinal):
        out += _svg_cell(cell, block, rows, per_row, byte_width, arrows)
    return out, arrows, rows.bottom + 10


def _svg_cell(
    cell: Cell,
    block: Block,
    rows: _SvgRows,
    per_row: int,
    byte_width: int,
    arrows: list[tuple[float, float, int]],
) -> list[str]:
    """The rectangles of one cell, one per row it falls in, the label in the first."""
    pointer = cell.pointer_to is not None
    fill = _POINTER_FILL if pointer else _PALETTE[cell.ordinal % len(_PALETTE)][0]
    out = []
    byte, end = cell.start, min(cell.start + cell.size, block.hi)
    first = True
    while byte < end:
        row_start = byte - byte % per_row
        take = min(end, row_start + per_row) - byte
        y = rows.y[row_start]
        x = _GUTTER + _MARGIN + (byte - row_start) * byte_width
        out.append(
            f'<rect x="{x}" y="{y}" width="{take * byte_width}" height="{_ROW_H}" rx="3" '
            f'fill="{fill}" stroke="white" class="{"pointer" if pointer else "element"}"/>'
        )
        if first:
            out.append(
                f'<text x="{x + 4}" y="{y + 21}" class="label">{html.escape(cell.label)}</text>'
            )
            if cell.pointer_to is not None:
                arrows.append((x + take * byte_width / 2, y + _ROW_H, cell.pointer_to))
        first = False
        byte += take
    return out


def _pointer_arrow(x: float, y: float, target_y: float, lane: int) -> str:
    """From the bottom of a pointer cell, through a lane of the left gutter (where no
    text is), into the first cell row of the block it points to."""
    lane_x = _MARGIN + 36 + (lane % 4) * 6
    run_y = y + 2 + (lane % 3) * 2
    end_x = _GUTTER + _MARGIN - 2
    return (
        f'<path d="M{x:.1f},{y:.1f} L{x:.1f},{run_y:.1f} L{lane_x},{run_y:.1f} '
        f'L{lane_x},{target_y:.1f} L{end_x},{target_y:.1f}" class="arrow"/>'
    )


_STYLE = (
    "<style>text{font-family:monospace} .head{font-size:12px} .title{font-size:12px;"
    "font-weight:bold} .offset{font-size:11px;fill:#555} .label{font-size:11px} "
    ".gap{fill:#f3f3f3;stroke:#dddddd} .arrow{fill:none;stroke:#555;stroke-width:1.3;"
    "marker-end:url(#head)} line.origin{stroke:#d62828;stroke-width:2} "
    "text.origin{font-size:10px;fill:#d62828}</style>"
)
_MARKER = (
    '<defs><marker id="head" markerWidth="8" markerHeight="8" refX="6" refY="4" '
    'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>'
)


def to_svg(picture: Picture) -> str:
    """The picture as a standalone SVG document: blocks of byte cells, the origin of
    each block marked (``buf``), row offsets from it, pointer arrows."""
    byte_width = _byte_width(picture, _CHAR_W, 12)
    per_row = _row_width(picture, max(1, 880 // byte_width))
    header = _header(picture)
    body: list[str] = []
    arrows: list[tuple[float, float, int]] = []
    targets: dict[int, float] = {}
    top = _MARGIN + 18 * len(header) + 12
    for block in picture.blocks:
        body.append(
            f'<text x="{_GUTTER + _MARGIN}" y="{top + 14}" class="title">'
            f"{html.escape(_block_title(block))}: bytes {block.lo}..{block.hi} "
            f"from {html.escape(block.origin)}</text>"
        )
        targets[block.address] = top + 30 + _ROW_H / 2
        cells, block_arrows, top = _svg_block(block, top + 30, per_row, byte_width)
        body += cells
        arrows += block_arrows
        top += 14
    for lane, (x, y, target) in enumerate(arrows):
        if target in targets:
            body.append(_pointer_arrow(x, y, targets[target], lane))
    footer = _footer(picture)
    if footer:
        body.append(
            f'<text x="{_MARGIN}" y="{top + 14}" class="offset">{html.escape(footer)}</text>'
        )
        top += 24
    longest = max(len(line) for line in [*header, footer])
    width = max(_MARGIN * 2 + _GUTTER + per_row * byte_width, int(longest * 7.3) + 2 * _MARGIN)
    height = top + _MARGIN
    texts = [
        f'<text x="{_MARGIN}" y="{_MARGIN + 12 + 18 * k}" class="head">{html.escape(line)}</text>'
        for k, line in enumerate(header)
    ]
    return (
        "\n".join(
            [
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}">',
                _STYLE,
                _MARKER,
                f'<rect width="{width}" height="{height}" fill="white"/>',
                *texts,
                *body,
                "</svg>",
            ]
        )
        + "\n"
    )
