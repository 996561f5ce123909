"""Every format real exporters emit is read: ctypes' long doubles and pointers, NumPy's
long doubles, 3.14's struct codes 'F'/'D', PEP 3118 bits; writes are checked as
struct, array and the builtin memoryview check them.

Oracles: ctypes itself (the values and addresses it stores), ``struct`` (3.14's
complex codes), ``int.from_bytes`` (bits), ``array('w')`` and, where it reads
complex numbers, the builtin memoryview (the exception types of writes).
"""

from __future__ import annotations

import array
import ctypes
import re
import struct
import sys
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bufferkit import Format, MemoryView

from strategies import struct_reads

POINTER = ctypes.sizeof(ctypes.c_void_p)
LITTLE = sys.byteorder == "little"
FLOATS = st.floats(allow_nan=False)


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]


class Mixed(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("weight", ctypes.c_longdouble),
        ("where", ctypes.POINTER(Point)),
        ("count", ctypes.c_int),
        ("callback", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)),
    ]


def addresses(block: Any) -> list[int]:
    """The pointer-sized words of a ctypes object, as ctypes reads them (NULL is 0)."""
    words = ctypes.sizeof(block) // POINTER
    return [ctypes.c_void_p.from_buffer(block, k * POINTER).value or 0 for k in range(words)]


KEEP: list[Any] = []  # targets of the pointers below, alive for the whole test run


def pointer_arrays() -> list[Any]:
    """ctypes arrays of every pointer kind, pointing at live objects (and one NULL)."""
    ints = (ctypes.c_int * 3)(1, 2, 3)
    point = Point(4, 5.5)
    double = ctypes.c_double(2.5)
    KEEP.extend([ints, point, double])
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(abs)
    KEEP.append(callback)
    return [
        (ctypes.c_void_p * 3)(ctypes.addressof(ints), None, 12345),
        (ctypes.c_char_p * 2)(b"abc", None),
        (ctypes.c_wchar_p * 2)("abc", None),
        (ctypes.POINTER(ctypes.c_int) * 2)(ints, ctypes.POINTER(ctypes.c_int)()),
        (ctypes.POINTER(ctypes.c_int * 3) * 1)(ctypes.pointer(ints)),
        (ctypes.POINTER(Point) * 1)(ctypes.pointer(point)),
        (ctypes.POINTER(ctypes.POINTER(ctypes.c_double)) * 1)(
            ctypes.pointer(ctypes.pointer(double))
        ),
        (type(callback) * 1)(callback),
    ]


@pytest.mark.parametrize("block", pointer_arrays(), ids=lambda b: memoryview(b).format)
def test_ctypes_pointers_read_as_addresses(block: Any) -> None:
    builtin, ours = memoryview(block), MemoryView(block)
    assert ours.format == builtin.format and ours.itemsize == ctypes.sizeof(block._type_)
    assert ours.tolist() == addresses(block)
    assert Format(builtin.format).fields[0].size == POINTER


def test_ctypes_pointer_targets_are_kept_as_text() -> None:
    texts = {memoryview(block).format: block for block in pointer_arrays()}
    targets = {text: Format(text).fields[0].target for text in texts}
    assert targets["&<i"] == "<i"
    assert targets["&(3)<i"] == "(3)<i"
    assert targets["&&<d"] == "&<d"
    assert targets["X{}"] == ""
    assert Format("X{T{i}(2)d}").fields[0].target == "T{i}(2)d"


def test_void_pointers_are_written_as_ctypes_reads_them() -> None:
    block = (ctypes.c_void_p * 2)()
    view = MemoryView(block)
    view[0] = 2 ** (8 * POINTER) - 1
    view[1] = 4096
    assert list(block) == [2 ** (8 * POINTER) - 1, 4096]
    with pytest.raises(ValueError):  # as struct, and the builtin's 'Q' (its 'P' wraps -1)
        view[0] = -1
    builtin = memoryview(bytearray(POINTER)).cast("P")
    for bad in (2 ** (8 * POINTER), 1.5, "1"):
        with pytest.raises(Exception) as expected:
            builtin[0] = bad
        with pytest.raises(expected.type):
            view[0] = bad


@settings(max_examples=100, deadline=None)
@given(st.lists(FLOATS, min_size=1, max_size=8))
def test_ctypes_long_doubles_read_and_write_as_floats(values: list[float]) -> None:
    block = (ctypes.c_longdouble * len(values))(*values)
    view = MemoryView(block)
    assert view.format == memoryview(block).format
    assert view.tolist() == list(block) == values
    view[0] = -values[0]
    assert block[0] == -values[0]
    view[:] = MemoryView((ctypes.c_longdouble * len(values))(*reversed(values)))
    assert list(block) == values[::-1]


def test_long_double_precision_beyond_a_double_is_lost() -> None:
    precise = np.array([1 + np.finfo(np.longdouble).eps], dtype=np.longdouble)
    (read,) = MemoryView(precise).tolist()
    assert read == float(precise[0]) and isinstance(read, float)


def test_long_double_sizes_are_ctypes_sizes() -> None:
    class Padded(ctypes.Structure):
        _fields_ = [("c", ctypes.c_char), ("g", ctypes.c_longdouble)]

    size, alignment = ctypes.sizeof(ctypes.c_longdouble), ctypes.alignment(ctypes.c_longdouble)
    assert Format("g").itemsize == Format("<g" if LITTLE else ">g").itemsize == size
    assert Format("@cg").itemsize == ctypes.sizeof(Padded)
    assert Format("g").alignment == alignment and Format("Zg").itemsize == 2 * size
    assert Format("^cg").itemsize == 1 + size


def test_ctypes_records_of_pointers_and_long_doubles() -> None:
    point = Point(1, 2.0)
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(abs)
    block = (Mixed * 2)(Mixed(b"ab", 1.25, ctypes.pointer(point), 7, callback))
    KEEP.extend([point, callback])
    view = MemoryView(block)
    assert view.itemsize == ctypes.sizeof(Mixed)
    first, second = view.tolist()
    words = addresses(block[0])
    fields = ("name", "where", "callback")
    name, where, pointer = (words[getattr(Mixed, field).offset // POINTER] for field in fields)
    assert 0 not in (name, where, pointer)
    assert first == (name, 1.25, where, 7, pointer) and second == (0, 0.0, 0, 0, 0)


@pytest.mark.parametrize("kind", [np.longdouble, np.clongdouble])
def test_numpy_long_doubles(kind: Any) -> None:
    values = np.array([1.5, -2.25, 1e300], dtype=kind) * (1 if kind is np.longdouble else 1 - 1j)
    view = MemoryView(values)
    assert view.format == memoryview(values).format
    expected = [complex(v) if kind is np.clongdouble else float(v) for v in values]
    assert view.tolist() == expected


# --- 'F' and 'D': the complex codes of 3.14's struct -----------------------------------


@pytest.mark.parametrize("prefix", ["", "@", "=", "<", ">", "!", "^"])
def test_capital_complex_codes_are_the_z_codes(prefix: str) -> None:
    assert Format(prefix + "D") == Format(prefix + "Zd")
    assert Format(prefix + "F") == Format(prefix + "Zf")
    assert Format(prefix + "3D").fields[0].code == "Zd"


def struct_complex(prefix: str, letter: str, values: list[complex]) -> bytes:
    """``struct.pack`` of complex ``values``: as 'D'/'F' where struct reads them (3.14),
    else as their (real, imaginary) float pairs, which is what those codes store."""
    if struct_reads("D"):
        return struct.pack(f"{prefix}{len(values)}{letter}", *values)
    floats = [part for value in values for part in (value.real, value.imag)]
    return struct.pack(f"{prefix}{len(floats)}{letter.lower()}", *floats)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["", "@", "=", "<", ">", "!"]),
    st.sampled_from([("F", 32), ("D", 64)]),
    st.data(),
)
def test_complex_codes_match_struct(
    prefix: str, code: tuple[str, int], data: st.DataObject
) -> None:
    letter, width = code
    parts = st.floats(width=width, allow_nan=False)  # type: ignore[arg-type]
    values = data.draw(st.lists(st.builds(complex, parts, parts), max_size=6))
    packed = struct_complex(prefix, letter, values)
    one = Format(prefix + letter)
    assert one.unpack(packed) == values
    assert one.pack(values) == packed


# --- bits ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 80), st.sampled_from("<>"), st.data())
def test_bits_read_the_low_bits_of_their_bytes(bits: int, order: str, data: st.DataObject) -> None:
    size = -(-bits // 8)
    raw = data.draw(st.binary(min_size=3 * size, max_size=3 * size))
    word = "little" if order == "<" else "big"
    mask = (1 << bits) - 1
    expected = [int.from_bytes(raw[k : k + size], word) & mask for k in range(0, len(raw), size)]
    parsed = Format(f"{order}{bits}t")
    assert parsed.itemsize == size and parsed.nvalues == 1
    assert parsed.unpack(raw) == expected
    assert parsed.pack(expected) == b"".join(v.to_bytes(size, word) for v in expected)


def test_bits_in_records_and_sub_arrays() -> None:
    parsed = Format("T{<3t:flags:(2)<12t:pair:<h:n:}")
    assert parsed.itemsize == 1 + 2 * 2 + 2
    data = bytes([0xFF]) + (0xF123).to_bytes(2, "little") + (0x0456).to_bytes(2, "little")
    data += struct.pack("<h", -3)
    assert parsed.unpack(data) == [(7, [0x123, 0x456], -3)]
    high_bits_cleared = bytes([7, 0x23, 0x01, 0x56, 0x04]) + struct.pack("<h", -3)
    assert parsed.pack([(7, [0x123, 0x456], -3)]) == high_bits_cleared


# --- writes check their values as struct, array and the builtin do ---------------------


def wide_characters() -> Any:
    """array('w') (3.13+), else array('u') where wchar_t has 4 bytes: one code point each."""
    if sys.version_info >= (3, 13):
        return lambda values: array.array("w", values)
    if array.array("u").itemsize != 4:
        pytest.skip("no array of UCS-4 characters")

    def make(values: list[str]) -> array.array[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return array.array("u", values)

    return make


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=3), st.integers(), st.binary(max_size=2), st.none()))
def test_w_items_are_checked_as_array_checks_them(value: Any) -> None:
    make = wide_characters()
    try:
        expected = make([value]).tobytes()
    except (TypeError, ValueError) as error:
        with pytest.raises(type(error)):
            Format("w").pack([value])
        with pytest.raises(type(error)):
            Format("w").pack_one(value)
        return
    assert Format("=w").pack([value]) == Format("=w").pack_one(value) == expected


@pytest.mark.parametrize(("value", "packed"), [("ab", "ab\0"), ("", "\0\0\0"), ("abc", "abc")])
def test_w_strings_pad_with_nuls_and_never_truncate(value: str, packed: str) -> None:
    assert Format("<3w").pack([value]) == packed.encode("utf-32-le")
    with pytest.raises(TypeError, match=re.escape("'abcd'")):
        Format("<3w").pack(["abcd"])


def builtin_complex_store(value: Any) -> bytes:
    """What the builtin memoryview (where it reads 'Zd') stores for ``value``, or its error."""
    slot = bytearray(16)
    memoryview(slot).cast("Zd")[0] = value  # type: ignore[call-overload]
    return bytes(slot)


class Complexish:
    def __complex__(self) -> complex:
        return 3 - 4j


COMPLEX_CANDIDATES = [1, 2.5, 1 - 2j, True, "1+2j", "x", b"1", None, Complexish(), [1, 2]]


@pytest.mark.parametrize("value", COMPLEX_CANDIDATES, ids=repr)
def test_complex_items_are_checked_alike_on_every_path(value: Any) -> None:
    """pack and pack_one, native and swapped, agree; where the builtin reads 'Zd' it too."""
    outcomes = []
    for text in ("Zd", "<Zd", ">Zd", "=Zd"):
        for pack in (Format(text).pack_one, lambda v, t=text: Format(t).pack([v])):
            try:
                outcomes.append(("ok", len(pack(value))))
            except Exception as error:
                outcomes.append(("raise", type(error)))
    assert len(set(outcomes)) == 1
    if Format("Zd").native == "Zd":  # the builtin reads complex numbers (3.15)
        try:
            expected: tuple[str, Any] = ("ok", len(builtin_complex_store(value)))
        except Exception as error:
            expected = ("raise", type(error))
        assert outcomes[0] == expected
    if isinstance(value, str):
        assert outcomes[0] == ("raise", TypeError)
