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


def struct_reads(fmt: str) -> bool:
    """True if ``struct`` takes the format text ``fmt``."""
    try:
        struct.calcsize(fmt)
    except struct.error:
        return False
    return True


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


# --- every PEP 3118 format bufferkit writes --------------------------------------------

SCALAR_CODES = ("?", "e", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d", "c")
POINTER_CODES = ("P", "z", "Z", "&i", "&<h", "&@O", "&T{@O:a:}", "X{}", "X{iO}")
"""Pointers are addresses: an ``O`` they point to is no object pointer of the item."""
TEXT_CODES = ("w", "3w", "u", "2u", "3s", "1p", "4p")
OTHER_CODES = ("Zf", "Zd", "5t", "x", "3x", "g", "Zg", "n", "N")
NUMPY_CODES = (*SCALAR_CODES, "Zf", "Zd", "w", "3w", "3s", "x", "3x", "g", "Zg")
"""The codes NumPy's PEP 3118 reader also takes in a record (no pointers, bits,
UTF-16 text, Pascal strings or native-size integers)."""
NATIVE_ONLY = ("g", "Zg", "n", "N")  # written with '@': Format refuses another order or size


@st.composite
def pep3118_formats(
    draw: st.DrawFn,
    codes: tuple[str, ...] = SCALAR_CODES + POINTER_CODES + TEXT_CODES + OTHER_CODES,
    record: bool = False,
) -> str:
    """A format of one to three parts: codes in every byte order, sub-arrays, names and
    nested records (each part a value, or padding), never of itemsize 0; ``record``:
    all in one ``T{...}`` (NumPy's reader makes several top-level parts a record, and
    pads it as one)."""
    text = draw(_parts(codes, depth=0))
    return "T{" + text + "}" if record else text


@st.composite
def _parts(draw: st.DrawFn, codes: tuple[str, ...], depth: int) -> str:
    text = ""
    count = draw(st.integers(1, 3))
    for index in range(count):
        shape = draw(st.sampled_from(["", "", "", "(2)", "(2,3)", "(1)"]))
        prefix = draw(st.sampled_from(["", "", "@", "<", ">", "=", "!", "^"]))
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            leaf = prefix + "T{" + draw(_parts(codes, depth + 1)) + "}"
        else:
            code = draw(st.sampled_from(codes))
            leaf = ("@" if code in NATIVE_ONLY else prefix) + code
        # padding has no value; a bare 'Z' (wchar_t *) is read as 'Z' only before a name,
        # a prefix, '}' or the end (else it starts 'Zf', 'Zd', 'Zg')
        named = leaf.endswith("Z") or (not leaf.endswith("x") and draw(st.booleans()))
        letter = draw(st.sampled_from("fO"))  # 'O' in a name is no object either
        text += shape + leaf + (f":{letter}{index}:" if named else "")
    return text


def _leaf_values(code: str, size: int, count: int) -> st.SearchStrategy[Any]:
    """Values of one element as ``Format`` reads them back unchanged."""
    if code == "?":
        return st.booleans()
    if code in ("e", "f", "d", "g"):
        width = {"e": 16, "f": 32}.get(code, 64)
        return st.floats(width=width)  # type: ignore[arg-type]
    if code in ("Zf", "Zd", "Zg"):
        parts = st.floats(width=32 if code == "Zf" else 64)  # type: ignore[arg-type]
        return st.builds(complex, parts, parts)
    if code in ("c", "s"):
        return st.binary(min_size=count, max_size=count)
    if code in ("u", "w"):  # every code unit used: the text reads back without NULs added
        letters = st.characters(
            exclude_categories=["Cs"], max_codepoint=0xFFFF if code == "u" else None
        )
        return st.text(letters, min_size=count, max_size=count)
    if code == "p":
        return st.binary(max_size=max(0, min(count - 1, 255)))
    if code == "t":
        return st.integers(0, 2**count - 1)
    if code.isupper() or code in ("z", "&"):  # unsigned, and pointers: P, z, Z, &, X
        return st.integers(0, 2 ** (8 * size) - 1)
    return st.integers(-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1)


def _field_values(field: Any) -> st.SearchStrategy[Any]:
    if field.record is not None:
        element = format_items(field.record, record=True)
    else:
        element = _leaf_values(field.code, field.size, field.count)
    for extent in reversed(field.shape):
        element = st.lists(element, min_size=extent, max_size=extent)
    return element


def format_items(fmt: Any, record: bool = False) -> st.SearchStrategy[Any]:
    """Items of the ``bufferkit.Format`` ``fmt`` as its ``unpack`` gives them: the
    value of its one field, else (and always for a ``record``) a tuple of them all."""
    values = [_field_values(field) for field in fmt.fields for _ in range(field.repeat)]
    if len(values) == 1 and not record:
        return values[0]
    return st.tuples(*values)
