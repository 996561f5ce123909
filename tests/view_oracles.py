"""MemoryView differential helpers: one operation on a reference and on bufferkit.

An outcome is ``("value", normalized result)`` or ``("raise", exception type)``.
Results are normalized so that equal outcomes compare equal: NaNs become a
marker (NaN is unequal to itself), views become their format, shape and bytes.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

from bufferkit import MemoryView, _capi, acquire

from oracles import VIEW_ATTRIBUTES as ATTRIBUTES

NAN = "<nan>"
Outcome = tuple[str, Any]


def normalized(value: Any) -> Any:
    """``value`` with NaNs replaced by a marker and views by their contents."""
    if isinstance(value, float) and math.isnan(value):
        return NAN
    if isinstance(value, complex):
        return ("complex", normalized(value.real), normalized(value.imag))
    if isinstance(value, (list, tuple)):
        return type(value)(map(normalized, value))
    if isinstance(value, (memoryview, MemoryView)):
        return ("view", value.format, value.shape, value.tobytes())
    return value


def from_numpy(value: Any) -> Any:
    """Values as NumPy's ``tolist`` and ours compare: arrays NumPy leaves in sub-array
    fields become lists, and strings lose their trailing NULs (NumPy strips them)."""
    if isinstance(value, tuple):
        return tuple(map(from_numpy, value))
    if isinstance(value, list):
        return list(map(from_numpy, value))
    if isinstance(value, bytes):
        return value.rstrip(b"\0")
    if isinstance(value, str):
        return value.rstrip("\0")
    if hasattr(value, "tolist"):  # a NumPy array or scalar
        plain = value.tolist()
        if type(plain) is type(value):  # a long double: NumPy keeps its own type
            return complex(value) if value.dtype.kind == "c" else float(value)
        return from_numpy(plain)
    return value


def outcome(call: Callable[[Any], Any], subject: Any) -> Outcome:
    """What ``call(subject)`` gives: its normalized value or its exception type."""
    try:
        return "value", normalized(call(subject))
    except Exception as error:
        return "raise", type(error)


def same(call: Callable[[Any], Any], reference: Any, ours: Any, what: str = "") -> Outcome:
    """Assert that ``call`` gives the same outcome on ``reference`` and ``ours``."""
    expected = outcome(call, reference)
    actual = outcome(call, ours)
    assert actual == expected, f"{what}: builtin {expected!r}, bufferkit {actual!r}"
    return expected


def struct_items(fmt: str, data: bytes) -> list[Any]:
    """The items of ``data`` as ``struct`` reads ``fmt``: one value, or a tuple of several."""
    size = struct.calcsize(fmt)
    if size == 0:
        return []
    rows = list(struct.iter_unpack(fmt, data)) if data else []
    return [row[0] if len(row) == 1 else row for row in rows]


def nested(flat: Sequence[Any], shape: Sequence[int]) -> Any:
    """``flat`` (C order) as nested lists of ``shape`` (the item itself for ``()``)."""
    if not shape:
        return flat[0]
    step = len(flat) // shape[0] if shape[0] else 0
    return [nested(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def struct_tolist(fmt: str, data: bytes, shape: Sequence[int]) -> Any:
    """What ``tolist`` gives for C-order ``data`` of items ``fmt`` in ``shape``."""
    if 0 in shape:
        return _empty(shape)
    return nested(struct_items(fmt, data), shape)


def _empty(shape: Sequence[int]) -> Any:
    if shape[0] == 0:
        return []
    return [_empty(shape[1:]) for _ in range(shape[0])]


REQUEST_BITS = (0x1, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100)
ALL_REQUESTS = sorted(
    {
        sum(bits)
        for n in range(len(REQUEST_BITS) + 1)
        for bits in itertools.combinations(REQUEST_BITS, n)
    }
)


def reference_list(builtin: memoryview) -> Any:
    """``tolist()`` as it should be: the builtin's, or ``struct``'s where the builtin stops."""
    try:
        return builtin.tolist()
    except NotImplementedError:
        return struct_tolist(builtin.format, builtin.tobytes(), builtin.shape)


def assert_same_view(builtin: memoryview, ours: MemoryView, what: str = "") -> None:
    """Every attribute and every whole-view read agree."""
    for name in ATTRIBUTES:
        same(lambda view, name=name: getattr(view, name), builtin, ours, f"{what}.{name}")
    assert ours.obj is _capi.unwrap_exporter(builtin.obj)  # a PEP 688 exporter's wrapper
    same(len, builtin, ours, f"len({what})")
    for order in ("C", "F", "A", None):
        same(lambda view, order=order: view.tobytes(order), builtin, ours, f"{what}.tobytes")
    same(lambda view: view.hex(), builtin, ours, what)
    same(lambda view: view.hex(":", 3), builtin, ours, what)
    same(lambda view: view.hex("-", -2), builtin, ours, what)
    try:
        expected = normalized(reference_list(builtin))
    except struct.error:
        return  # neither the builtin nor struct reads it (T{...}, Zd): checked elsewhere
    assert normalized(ours.tolist()) == expected, what
    if builtin.ndim == 1:
        assert normalized(list(ours)) == expected, what


def assert_same_requests(builtin: memoryview, ours: MemoryView) -> None:
    """Every combination of request flags: granted or refused alike, the same fields
    (each after different others: a view remembers the last flags it granted)."""
    for flags in [*ALL_REQUESTS, *reversed(ALL_REQUESTS)]:
        same(lambda view, flags=flags: request(view, flags), builtin, ours, f"{flags:#x}")
        assert not ours._held_exports()


def request_fields(info: Any) -> tuple[Any, ...]:
    return (
        info.buf,
        info.len,
        info.itemsize,
        info.readonly,
        info.ndim,
        info.format,
        info.shape,
        info.strides,
        info.suboffsets,
    )


def request(subject: Any, flags: int) -> Any:
    with acquire(subject, flags) as info:
        return request_fields(info)
