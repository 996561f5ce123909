"""Hypothesis strategies for struct formats and values that fit them."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

PREFIXES = ("", "@", "=", "<", ">", "!")  # struct has no "^"
STANDARD_CODES = "xcbB?hHiIlLqQefdsp"
NATIVE_ONLY_CODES = "nNP"


@dataclass(frozen=True)
class StructFormat:
    """A struct format and the codes (with repeat counts) it is made of."""

    text: str
    prefix: str
    parts: tuple[tuple[int, str], ...]


@st.composite
def struct_formats(draw: st.DrawFn, max_parts: int = 6) -> StructFormat:
    """Any format ``struct`` accepts: every prefix, code, repeat count and whitespace."""
    prefix = draw(st.sampled_from(PREFIXES))
    codes = STANDARD_CODES + (NATIVE_ONLY_CODES if prefix in ("", "@") else "")
    parts = []
    text = prefix
    for _ in range(draw(st.integers(0, max_parts))):
        code = draw(st.sampled_from(codes))
        written = draw(st.sampled_from([None, 0, 1, 2, 3, 7]))
        if code == "p" and written == 0:
            written = 1  # struct.unpack('0p') raises SystemError on CPython
        count = 1 if written is None else written
        text += draw(st.sampled_from(["", "", " ", "\t"]))
        text += ("" if written is None else str(written)) + code
        parts.append((count, code))
    return StructFormat(text, prefix, tuple(parts))


def _value_strategy(code: str, count: int, prefix: str) -> st.SearchStrategy[Any]:
    if code == "c":
        return st.binary(min_size=1, max_size=1)
    if code == "s":
        return st.binary(max_size=count)
    if code == "p":
        return st.binary(max_size=max(0, min(count - 1, 255)))
    if code == "?":
        return st.booleans()
    if code in "efd":
        width = {"e": 16, "f": 32, "d": 64}[code]
        return st.floats(width=width, allow_nan=False)  # type: ignore[arg-type]
    bits = 8 * struct.calcsize(prefix + code)
    if code.isupper() or code == "P":
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def item_values(fmt: StructFormat) -> st.SearchStrategy[tuple[Any, ...]]:
    """The flat argument tuple ``struct.pack(fmt.text, *values)`` takes."""
    strategies: list[st.SearchStrategy[Any]] = []
    for count, code in fmt.parts:
        if code == "x":
            continue
        if code in "sp":
            strategies.append(_value_strategy(code, count, fmt.prefix))
        else:
            strategies.extend(_value_strategy(code, count, fmt.prefix) for _ in range(count))
    return st.tuples(*strategies)


def struct_parts(fmt: str) -> list[tuple[int, str]]:
    """(repeat count, code) of each part of a plain struct format (prefix dropped)."""
    parts: list[tuple[int, str]] = []
    digits = ""
    for char in fmt.lstrip("@=<>!"):
        if char.isdigit():
            digits += char
            continue
        parts.append((int(digits) if digits else 1, char))
        digits = ""
    return parts
