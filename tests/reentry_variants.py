"""Child side of test_attack_reentrancy: user code between the check and the access.

Each variant makes a view over a victim (``attack_child.Victim``) and runs one
operation with a hook (``Index``, ``Float``, ``Exporter``, ``Str``, ...) that
releases the view and frees the victim from inside the operation. ``main`` runs
the variants named on the command line, for the victim kind given first.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any

from attack_child import (
    PATTERN,
    Attack,
    Complex,
    Exporter,
    Float,
    Index,
    Shape,
    armed_str,
    attempt,
    emit,
)
from bufferkit import BufferFlags, MemoryView, NDArray

RECORD = "T{<h:a:<d:b:}"  # 10 bytes an item


def view_as(fmt: str | None = None, shape: tuple[int, ...] | None = None) -> Callable[[Any], Any]:
    """A maker of the only view holding a victim: ``MemoryView(obj)`` cast as asked."""

    def make(obj: Any) -> Any:
        base = MemoryView(obj)
        if fmt is None:
            return base
        view = base.cast(fmt) if shape is None else base.cast(fmt, shape)
        base.release()
        return view

    return make


class Eq:
    """A value whose ``__eq__`` fires the attack (for ``in``, ``count``, ``index``)."""

    def __init__(self, target: Any, attack: Attack) -> None:
        self.target, self.attack = target, attack

    def __eq__(self, other: object) -> bool:
        self.attack.fire()
        return bool(other == self.target)

    __hash__ = None  # type: ignore[assignment]


class Flags(int):
    """Request flags whose ``&`` (and ``__index__``) fire the attack."""

    attack: Attack

    def __and__(self, other: int) -> int:
        self.attack.fire()
        return int(self) & other

    __rand__ = __and__

    def __index__(self) -> int:
        self.attack.fire()
        return int(self)


def flags(value: int, attack: Attack) -> Flags:
    made = Flags(value)
    made.attack = attack
    return made


def to_bytes(value: Any) -> Any:
    """A sub-view returned by an operation, as bytes (while it is still alive)."""
    return value.tobytes() if isinstance(value, MemoryView) else value


def source_of(fmt: str, count: int) -> NDArray:
    """An exporter of ``count`` items of ``fmt`` (what slice assignment copies)."""
    itemsize = struct.calcsize(fmt)
    return NDArray(list(range(count)), shape=[count], format=fmt) if itemsize else NDArray([0], [1])


Op = Callable[[Any, Attack], Any]
# name -> (data, view maker, operation, result)
VARIANTS: dict[str, tuple[bytes, Callable[[Any], Any], Op, Callable[[Any], Any]]] = {}


def variant(
    name: str,
    make: Callable[[Any], Any],
    op: Op,
    *,
    data: bytes = PATTERN,
    result: Callable[[Any], Any] = to_bytes,
) -> None:
    assert name not in VARIANTS, name
    VARIANTS[name] = (data, make, op, result)


# --- a key's __index__ ---------------------------------------------------------------
variant("item B", view_as(), lambda v, a: v[Index(3, a)])
variant("item B negative", view_as(), lambda v, a: v[Index(-1, a)])
variant("item >i", view_as(">i"), lambda v, a: v[Index(5, a)])
variant("item <d", view_as("<d"), lambda v, a: v[Index(2, a)])
variant("item record", view_as(RECORD), lambda v, a: v[Index(1, a)], data=PATTERN[:40])
variant("item Zd", view_as("Zd"), lambda v, a: v[Index(1, a)])
variant("item 2-d both", view_as("B", (8, 8)), lambda v, a: v[Index(1, a), Index(2, a)])
variant("item 2-d second", view_as("B", (8, 8)), lambda v, a: v[1, Index(2, a)])
variant("item 2-d >i", view_as(">i", (4, 4)), lambda v, a: v[Index(3, a), 1])
variant("item 2-d <d", view_as("<d", (2, 4)), lambda v, a: v[1, Index(3, a)])
variant(
    "item 3-d record", view_as(RECORD, (2, 2)), lambda v, a: v[1, Index(0, a)], data=PATTERN[:40]
)
variant("slice start stop", view_as(), lambda v, a: v[Index(1, a) : Index(9, a)])
variant("slice step", view_as(">i"), lambda v, a: v[:: Index(2, a)])
variant("slice 2-d", view_as("B", (8, 8)), lambda v, a: v[Index(1, a), :: Index(3, a)])
variant("slice 2-d ellipsis", view_as("<d", (2, 4)), lambda v, a: v[..., Index(1, a)])
variant("slice record", view_as(RECORD), lambda v, a: v[Index(1, a) :], data=PATTERN[:40])
variant("row 2-d", view_as("B", (8, 8)), lambda v, a: v[Index(2, a)])
variant("transpose axes", view_as("B", (8, 8)), lambda v, a: v.transpose(Index(1, a), Index(0, a)))
variant("index bounds", view_as(), lambda v, a: v.index(9, Index(0, a), Index(50, a)))
variant("index bounds 2-d", view_as("B", (8, 8)), lambda v, a: v.index(v[3], Index(1, a)))
variant("contains eq", view_as(), lambda v, a: Eq(7, a) in v)
variant("count eq", view_as(">i"), lambda v, a: v.count(Eq(0, a)))
variant("index eq", view_as(), lambda v, a: v.index(Eq(9, a)))

# --- a stored value's __index__ / __float__ / __complex__ ----------------------------
variant("store key B", view_as(), lambda v, a: v.__setitem__(Index(3, a), 77))
variant("store value B", view_as(), lambda v, a: v.__setitem__(3, Index(77, a)))
variant("store value >i", view_as(">i"), lambda v, a: v.__setitem__(2, Index(-5, a)))
variant("store value <d", view_as("<d"), lambda v, a: v.__setitem__(2, Float(1.5, a)))
variant("store value Zd", view_as("Zd"), lambda v, a: v.__setitem__(1, Complex(1 + 2j, a)))
variant(
    "store value record",
    view_as(RECORD),
    lambda v, a: v.__setitem__(1, (Index(3, a), Float(2.5, a))),
    data=PATTERN[:40],
)
variant("store 2-d key", view_as("B", (8, 8)), lambda v, a: v.__setitem__((1, Index(2, a)), 9))
variant("store 2-d value", view_as(">i", (4, 4)), lambda v, a: v.__setitem__((1, 2), Index(9, a)))
variant(
    "store 2-d <d value", view_as("<d", (2, 4)), lambda v, a: v.__setitem__((1, 2), Float(9.0, a))
)

# --- the __buffer__ of a slice-assignment source or of the other operand of == -------
variant("assign source B", view_as(), lambda v, a: v.__setitem__(slice(0, 4), Exporter(b"abcd", a)))
variant(
    "assign source big",
    view_as(),
    lambda v, a: v.__setitem__(slice(None), Exporter(bytes(len(PATTERN)), a)),
)
variant(
    "assign source >i",
    view_as(">i"),
    lambda v, a: v.__setitem__(slice(0, 2), Exporter(source_of(">i", 2), a)),
)
variant(
    "assign source 2-d row",
    view_as("B", (8, 8)),
    lambda v, a: v.__setitem__(2, Exporter(bytes(8), a)),
)
variant(
    "assign source 2-d <d row",
    view_as("<d", (2, 4)),
    lambda v, a: v.__setitem__(0, Exporter(source_of("<d", 4), a)),
)
variant(
    "assign slice keys",
    view_as(),
    lambda v, a: v.__setitem__(slice(Index(0, a), Index(4, a)), b"wxyz"),
)
variant("eq exporter same", view_as(), lambda v, a: v == Exporter(PATTERN, a))
variant("eq exporter differs", view_as(">i"), lambda v, a: v == Exporter(source_of(">i", 16), a))
variant("eq exporter 2-d", view_as("B", (8, 8)), lambda v, a: v == Exporter(PATTERN, a))
variant(
    "eq record", view_as(RECORD), lambda v, a: v == Exporter(PATTERN[:40], a), data=PATTERN[:40]
)

# --- str subclasses: tobytes(order=...), cast formats, hex separators -----------------
variant("tobytes order C", view_as(), lambda v, a: v.tobytes(armed_str("C", a)))
variant("tobytes order F 2-d", view_as(">i", (4, 4)), lambda v, a: v.tobytes(armed_str("F", a)))
variant(
    "tobytes order A 2-d", view_as("B", (8, 8)), lambda v, a: v.tobytes(order=armed_str("A", a))
)
variant("cast format B", view_as(), lambda v, a: v.cast(armed_str("B", a)))
variant("cast format >i", view_as(), lambda v, a: v.cast(armed_str(">i", a)))
variant("cast format <d 2-d", view_as(), lambda v, a: v.cast(armed_str("<d", a), (2, 4)))
variant(
    "cast format record", view_as(), lambda v, a: v.cast(armed_str(RECORD, a)), data=PATTERN[:40]
)
variant("hex sep", view_as(), lambda v, a: v.hex(armed_str(":", a), Index(2, a)))

# --- shapes of cast: elements' __index__, list subclasses -----------------------------
variant("cast shape index", view_as(), lambda v, a: v.cast("B", [Index(8, a), Index(8, a)]))
variant("cast shape >i", view_as(), lambda v, a: v.cast(">i", (Index(4, a), 4)))
variant("cast shape to 1-d", view_as("B", (8, 8)), lambda v, a: v.cast("B", [Index(64, a)]))


def _shape_list(values: list[int], attack: Attack) -> Shape:
    shape = Shape(values)
    shape.attack = attack
    return shape


variant("cast shape list", view_as(), lambda v, a: v.cast("<d", _shape_list([2, 4], a)))

# --- request flags: MemoryView(view, flags) and __buffer__ ----------------------------
variant(
    "derive flags",
    view_as(),
    lambda v, a: MemoryView(v, flags(int(BufferFlags.FULL_RO), a)),
)


def _export_with_flags(view: Any, attack: Attack) -> bytes:
    exported = view.__buffer__(flags(int(BufferFlags.FULL_RO), attack))
    try:
        return bytes(exported)
    finally:
        view.__release_buffer__(exported)


variant("export flags", view_as(">i"), _export_with_flags)
variant(
    "struct offset",
    view_as(">i"),
    lambda v, a: struct.unpack_from(">i", v, Index(4, a)),
)


def main() -> None:
    kind, names = sys.argv[1], sys.argv[2:]
    for name in names:
        data, make, op, result = VARIANTS[name]
        attempt(name, kind, make, op, data=data, result=result)
    emit("done", True)


if __name__ == "__main__":
    main()
