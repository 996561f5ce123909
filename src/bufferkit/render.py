"""Pictures of buffer layouts: which element sits at which byte.

A ``Picture`` is built from one acquired buffer (a ``BufferInfo`` whose buffer is
still held) and then drawn as text for a terminal or as a standalone SVG file.

Invariants:
- Building a picture reads no element data. It reads only the pointers of
  indirect (suboffset) dimensions, exactly where PEP 3118's ``get_item_pointer``
  reads them, and only while the caller holds the buffer.
- Pictures are bounded: at most ``max_elements`` elements (C order) and
  ``max_bytes`` bytes per memory block are placed; what is left out is counted
  and said, never silently dropped.
- Drawing is pure: the same picture always gives the same text and SVG.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass, field

from . import _capi
from .layout import Layout
from .managed import BufferInfo

__all__ = ["Block", "Cell", "Picture", "build_picture", "to_svg", "to_text"]

_PALETTE = (
    ("#8ecae6", 44),
    ("#ffb703", 43),
    ("#90be6d", 42),
    ("#f28482", 41),
    ("#cdb4db", 45),
    ("#a8dadc", 46),
)


@dataclass(frozen=True)
class Cell:
    """What occupies ``size`` bytes at ``start`` of a block: an element or a pointer."""

    start: int
    size: int
    label: str
    ordinal: int
    pointer_to: int | None = None


@dataclass
class Block:
    """One contiguous stretch of memory that elements or pointers occupy."""

    address: int
    title: str
    cells: list[Cell] = field(default_factory=list)

    @property
    def lo(self) -> int:
        return min((c.start for c in self.cells), default=0)

    @property
    def hi(self) -> int:
        return max((c.start + c.size for c in self.cells), default=0)


@dataclass
class Picture:
    """A layout with every placed element located in its memory block."""

    description: str
    layout: Layout
    format: str
    length: int
    readonly: bool
    blocks: list[Block]
    elements_left_out: int
    max_bytes: int


def _info_layout(info: BufferInfo) -> Layout:
    """The layout ``info`` describes, its ``buf`` taken as the buffer start."""
    itemsize = max(info.itemsize, 1)
    if info.shape is None:
        return Layout(itemsize, (info.len // itemsize,))
    return Layout(itemsize, info.shape, info.strides, info.suboffsets, 0)


def _index_label(index: tuple[int, ...]) -> str:
    return ",".join(map(str, index)) if index else "()"


class _Placer:
    """Places elements and pointer slots into blocks, following suboffsets."""

    def __init__(self, buf: int, layout: Layout) -> None:
        self.layout = layout
        self.blocks: dict[int, Block] = {buf: Block(buf, "buffer")}
        self.pointer_slots: set[tuple[int, int]] = set()

    def place(self, ordinal: int, index: tuple[int, ...]) -> None:
        layout = self.layout
        base = next(iter(self.blocks))
        position = layout.offset
        suboffsets = layout.suboffsets or ()
        for dim, i in enumerate(index):
            position += layout.strides[dim] * i
            if dim < len(suboffsets) and suboffsets[dim] >= 0:
                target = _capi.read_pointer(base + position)
                self._pointer(base, position, index[: dim + 1], ordinal, target)
                base, position = target, suboffsets[dim]
        self._block(base, "").cells.append(
            Cell(position, layout.itemsize, _index_label(index), ordinal)
        )

    def _pointer(
        self, base: int, position: int, prefix: tuple[int, ...], ordinal: int, target: int
    ) -> None:
        if (base, position) in self.pointer_slots:
            return
        self.pointer_slots.add((base, position))
        label = "*" + _index_label(prefix)
        self._block(base, "").cells.append(
            Cell(position, _capi.POINTER_SIZE, label, ordinal, pointer_to=target)
        )
        self._block(target, f"block at pointer {label[1:]}")

    def _block(self, address: int, title: str) -> Block:
        block = self.blocks.get(address)
        if block is None:
            block = self.blocks[address] = Block(address, title)
        return block


def build_picture(
    info: BufferInfo,
    description: str = "",
    *,
    max_elements: int = 1024,
    max_bytes: int = 512,
) -> Picture:
    """The picture of the buffer ``info`` describes; the buffer must be held."""
    layout = _info_layout(info)
    placer = _Placer(info.buf or 0, layout)
    indices = itertools.product(*map(range, layout.shape))
    placed = 0
    if info.buf:
        for ordinal, index in enumerate(itertools.islice(indices, max_elements)):
            placer.place(ordinal, index)
            placed += 1
    return Picture(
        description=description,
        layout=layout,
        format=info.format or "B",
        length=info.len,
        readonly=info.readonly,
        blocks=[b for b in placer.blocks.values() if b.cells],
        elements_left_out=layout.nitems - placed,
        max_bytes=max_bytes,
    )


def _header(picture: Picture) -> list[str]:
    layout = picture.layout
    subs = layout.suboffsets if layout.suboffsets is not None else "none"
    lines = [picture.description] if picture.description else []
    lines.append(
        f"format {picture.format!r}  itemsize {layout.itemsize}  ndim {layout.ndim}  "
        f"shape {layout.shape}  strides {layout.strides}  suboffsets {subs}"
    )
    lines.append(
        f"len {picture.length}  readonly {picture.readonly}  "
        f"C-contiguous {layout.is_c_contiguous()}  F-contiguous {layout.is_f_contiguous()}"
    )
    lines.append("element " + _address_formula(layout))
    return lines


def _address_formula(layout: Layout) -> str:
    """How an element's address is computed, e.g. ``[i0,i1] at buf + 12*i0 + 4*i1``."""
    names = [f"i{k}" for k in range(layout.ndim)]
    expression = "buf"
    suboffsets = layout.suboffsets or ()
    for k, (name, stride) in enumerate(zip(names, layout.strides, strict=True)):
        expression += f" + {stride}*{name}" if stride >= 0 else f" - {-stride}*{name}"
        if k < len(suboffsets) and suboffsets[k] >= 0:
            expression = f"*({expression}) + {suboffsets[k]}"
    return f"[{','.join(names)}] at {expression}"


def _byte_width(picture: Picture) -> int:
    widest = max((len(c.label) for b in picture.blocks for c in b.cells), default=1)
    itemsize = min((c.size for b in picture.blocks for c in b.cells), default=1)
    return max(2, math.ceil((widest + 1) / itemsize))


def _row_bytes(width: int, itemsize: int) -> int:
    """Bytes per text row: about 72 columns, a whole number of items when possible."""
    fit = max(1, 72 // width)
    return fit - fit % itemsize if fit >= itemsize else fit


def _text_row(owner: dict[int, Cell], start: int, stop: int, width: int, color: bool) -> str:
    """Bytes ``start..stop`` of a block, ``width`` columns each, labelled by their cells."""
    parts = []
    for byte in range(start, stop):
        cell = owner.get(byte)
        if cell is None:
            parts.append("·" * width)
            continue
        text = ("│" + cell.label).ljust(cell.size * width)
        offset = (byte - cell.start) * width
        chunk = text[offset : offset + width]
        if color:
            code = _PALETTE[cell.ordinal % len(_PALETTE)][1]
            chunk = f"\x1b[30;{code}m{chunk}\x1b[0m"
        parts.append(chunk)
    return "".join(parts)


def _owners(block: Block) -> dict[int, Cell]:
    owner: dict[int, Cell] = {}
    for cell in sorted(block.cells, key=lambda c: -c.ordinal):
        for byte in range(cell.start, cell.start + cell.size):
            owner[byte] = cell
    return owner


def _block_title(block: Block, picture: Picture) -> str:
    return f"{block.title or 'memory'} (address 0x{block.address:x})"


def to_text(picture: Picture, *, color: bool = False) -> str:
    """The picture for a terminal: one row per run of bytes, one cell per element."""
    lines = _header(picture)
    width = _byte_width(picture)
    per_row = _row_bytes(width, picture.layout.itemsize)
    for block in picture.blocks:
        lo, hi = block.lo, block.hi
        shown_hi = min(hi, lo + picture.max_bytes)
        lines.append("")
        lines.append(f"{_block_title(block, picture)}: bytes {lo}..{hi} relative to it")
        owner = _owners(block)
        for start in range(lo, shown_hi, per_row):
            stop = min(start + per_row, shown_hi)
            lines.append(f"{start:>+7} " + _text_row(owner, start, stop, width, color))
        if shown_hi < hi:
            lines.append(f"        … {hi - shown_hi} more bytes")
        targets = [c for c in block.cells if c.pointer_to is not None]
        for cell in targets[:8]:
            lines.append(f"        {cell.label} -> 0x{cell.pointer_to:x}")
    if picture.elements_left_out:
        lines.append(f"\n… {picture.elements_left_out} more elements not placed")
    return "\n".join(lines) + "\n"


_ROW_H = 34
_MARGIN = 16
_GUTTER = 56
_CHAR_W = 6.6
_POINTER_FILL = "#d9d9d9"


def _svg_byte_width(picture: Picture) -> int:
    """Pixels per byte: every label fits in the cell of its smallest item."""
    cells = [c for b in picture.blocks for c in b.cells]
    widest = max((len(c.label) for c in cells), default=1)
    smallest = min((c.size for c in cells), default=1)
    return max(12, math.ceil((widest * _CHAR_W + 10) / smallest))


def _svg_per_row(byte_width: int, itemsize: int) -> int:
    fit = max(1, 880 // byte_width)
    return fit - fit % itemsize if fit >= itemsize else fit


def _segments(cell: Cell, lo: int, per_row: int) -> list[tuple[int, int, int]]:
    """(row, first column, bytes) for each row the cell's bytes fall in."""
    out = []
    byte, end = cell.start, cell.start + cell.size
    while byte < end:
        row, col = divmod(byte - lo, per_row)
        take = min(end - byte, per_row - col)
        out.append((row, col, take))
        byte += take
    return out


class _SvgBlock:
    """Where one block is drawn, so pointers can point at it."""

    def __init__(self, block: Block, top: int) -> None:
        self.block = block
        self.top = top


def _svg_cells(
    block: Block, picture: Picture, top: int, per_row: int, byte_width: int
) -> tuple[list[str], list[tuple[float, float, int]], int]:
    lo, hi = block.lo, min(block.hi, block.lo + picture.max_bytes)
    rows = max(1, math.ceil((hi - lo) / per_row))
    out: list[str] = []
    arrows: list[tuple[float, float, int]] = []
    for row in range(rows):
        y = top + row * (_ROW_H + 8)
        first = lo + row * per_row
        out.append(f'<text x="{_MARGIN}" y="{y + 21}" class="offset">{first:+d}</text>')
        count = min(per_row, hi - first)
        out.append(
            f'<rect x="{_GUTTER + _MARGIN}" y="{y}" width="{count * byte_width}" '
            f'height="{_ROW_H}" class="gap"/>'
        )
    for cell in sorted(block.cells, key=lambda c: c.ordinal):
        if cell.start >= hi:
            continue
        fill = (
            _POINTER_FILL
            if cell.pointer_to is not None
            else _PALETTE[cell.ordinal % len(_PALETTE)][0]
        )
        for k, (row, col, take) in enumerate(_segments(cell, lo, per_row)):
            x = _GUTTER + _MARGIN + col * byte_width
            y = top + row * (_ROW_H + 8)
            width = min(take, hi - (lo + row * per_row + col)) * byte_width
            if width <= 0:
                continue
            out.append(
                f'<rect x="{x}" y="{y}" width="{width}" height="{_ROW_H}" rx="3" '
                f'fill="{fill}" stroke="white"/>'
            )
            if k == 0:
                out.append(
                    f'<text x="{x + 4}" y="{y + 21}" class="label">{html.escape(cell.label)}</text>'
                )
                if cell.pointer_to is not None:
                    arrows.append((x + width / 2, y + _ROW_H, cell.pointer_to))
    return out, arrows, top + rows * (_ROW_H + 8) + 10


def _pointer_arrow(x: float, y: float, target_y: float, lane: int) -> str:
    """From the bottom of a pointer cell, through a lane of the left gutter (where no
    text is), into the first cell row of the block it points to."""
    lane_x = _MARGIN + 30 + (lane % 4) * 6
    run_y = y + 2 + (lane % 3) * 2
    end_x = _GUTTER + _MARGIN - 2
    return (
        f'<path d="M{x:.1f},{y:.1f} L{x:.1f},{run_y:.1f} L{lane_x},{run_y:.1f} '
        f'L{lane_x},{target_y:.1f} L{end_x},{target_y:.1f}" class="arrow"/>'
    )


def to_svg(picture: Picture) -> str:
    """The picture as a standalone SVG document: blocks of byte cells, pointer arrows."""
    byte_width = _svg_byte_width(picture)
    per_row = _svg_per_row(byte_width, picture.layout.itemsize)
    header = _header(picture)
    body: list[str] = []
    arrows: list[tuple[float, float, int]] = []
    targets: dict[int, float] = {}
    top = _MARGIN + 18 * len(header) + 12
    for block in picture.blocks:
        body.append(
            f'<text x="{_GUTTER + _MARGIN}" y="{top + 14}" class="title">'
            f"{html.escape(_block_title(block, picture))}</text>"
        )
        targets[block.address] = top + 24 + _ROW_H / 2
        cells, block_arrows, top = _svg_cells(block, picture, top + 24, per_row, byte_width)
        body.extend(cells)
        arrows.extend(block_arrows)
        top += 14
    for lane, (x, y, target) in enumerate(arrows):
        target_y = targets.get(target)
        if target_y is not None:
            body.append(_pointer_arrow(x, y, target_y, lane))
    if picture.elements_left_out:
        body.append(
            f'<text x="{_MARGIN}" y="{top + 14}" class="offset">… '
            f"{picture.elements_left_out} more elements not placed</text>"
        )
        top += 24
    longest = max(len(line) for line in header)
    width = max(_MARGIN * 2 + _GUTTER + per_row * byte_width, int(longest * 7.3) + 2 * _MARGIN)
    height = top + _MARGIN
    texts = [
        f'<text x="{_MARGIN}" y="{_MARGIN + 12 + 18 * k}" class="head">{html.escape(line)}</text>'
        for k, line in enumerate(header)
    ]
    style = (
        "<style>text{font-family:monospace} .head{font-size:12px} .title{font-size:12px;"
        "font-weight:bold} .offset{font-size:11px;fill:#555} .label{font-size:11px} "
        ".gap{fill:#f3f3f3;stroke:#dddddd} .arrow{fill:none;stroke:#555;stroke-width:1.3;"
        "marker-end:url(#head)}</style>"
    )
    marker = (
        '<defs><marker id="head" markerWidth="8" markerHeight="8" refX="6" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>'
    )
    return (
        "\n".join(
            [
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}">',
                style,
                marker,
                f'<rect width="{width}" height="{height}" fill="white"/>',
                *texts,
                *body,
                "</svg>",
            ]
        )
        + "\n"
    )
