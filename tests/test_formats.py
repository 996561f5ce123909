"""bufferkit.formats against struct, the builtin memoryview and NumPy."""

from __future__ import annotations

import math
import re
import struct
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bufferkit.formats import NATIVE_ORDER, OBJECT_SLOT, Field, Format

from strategies import StructFormat, item_values, struct_formats
from view_oracles import from_numpy

ALL_CODES = "xcbB?hHiIlLqQnNefdspP"
NATIVE_CAST_CODES = "cbB?hHiIlLqQnNefdP"
LITTLE = sys.byteorder == "little"


def regroup(values: tuple[Any, ...]) -> Any:
    """What one item unpacks to: struct's tuple, or its only value."""
    if len(values) == 1:
        return values[0]
    return values


@st.composite
def struct_items(draw: st.DrawFn) -> tuple[StructFormat, list[tuple[Any, ...]]]:
    fmt = draw(struct_formats())
    items = draw(st.lists(item_values(fmt), min_size=0, max_size=5))
    return fmt, items


@settings(max_examples=300, deadline=None)
@given(struct_formats())
def test_itemsize_matches_struct_calcsize(fmt: StructFormat) -> None:
    assert Format(fmt.text).itemsize == struct.calcsize(fmt.text)


@settings(max_examples=300, deadline=None)
@given(struct_items())
def test_unpack_and_pack_match_struct(case: tuple[StructFormat, list[tuple[Any, ...]]]) -> None:
    fmt, items = case
    data = b"".join(struct.pack(fmt.text, *values) for values in items)
    expected = (
        [
            regroup(struct.unpack(fmt.text, data[i : i + struct.calcsize(fmt.text)]))
            for i in range(0, len(data), struct.calcsize(fmt.text) or 1)
        ]
        if data
        else []
    )
    parsed = Format(fmt.text)
    if parsed.itemsize == 0:
        assert parsed.unpack(data) == []
        return
    assert parsed.unpack(data) == expected
    assert parsed.unpack(data, len(items)) == expected
    assert parsed.pack(expected) == data
    if items:
        assert parsed.unpack_one(data) == expected[0]
        assert parsed.pack_one(expected[0]) == data[: parsed.itemsize]


@pytest.mark.parametrize("text", ["i", "@i", "@1i", "1i", " i"])
def test_same_meaning_is_equal(text: str) -> None:
    assert Format(text) == Format("i")
    assert hash(Format(text)) == hash(Format("i"))


def test_cached_per_text() -> None:
    assert Format("i") is Format("i")
    assert Format(b"<q") is Format("<q")


def test_equality_rules() -> None:
    assert Format("<i") != Format(">i")
    assert Format("<i") == Format("=i") == (Format("i") if LITTLE else Format(">i"))
    assert Format("3i") == Format("iii")
    assert Format("3i") != Format("(3)i")
    assert Format("i") != Format("T{i}")
    assert Format("T{i:a:}") != Format("T{i:b:}")
    assert Format("<b") == Format(">b")
    assert Format("@ci") == Format("<c3xi" if LITTLE else ">c3xi")
    assert Format("i") != Format("I")


def test_immutable() -> None:
    with pytest.raises(AttributeError):
        Format("i").itemsize = 5  # type: ignore[misc]
    field = Format("T{i}").fields[0]
    with pytest.raises(AttributeError):
        field.offset = 3  # type: ignore[misc]


def _cast_accepts(text: str) -> bool:
    """True if the builtin memoryview casts to ``text``."""
    try:
        memoryview(bytes(64)).cast(text)
    except (ValueError, TypeError):
        return False
    return True


BUILTIN_READS_COMPLEX = _cast_accepts("Zd")  # from CPython 3.15

CANDIDATES = sorted(
    {p + c for p in ("", "@", "=", "<", ">", "!", "^", "@@") for c in ALL_CODES + "uwO"}
    | {"2i", "1i", "i ", " i", "Zd", "Zf", "T{i}", "(1)i", "@1i", "3s", "O"}
)


@pytest.mark.parametrize("text", CANDIDATES)
def test_native_is_what_builtin_memoryview_casts_to(text: str) -> None:
    try:
        parsed = Format(text)
    except ValueError:
        assert not _cast_accepts(text)
        return
    assert (parsed.native is not None) == _cast_accepts(text)
    if parsed.native is not None:
        assert memoryview(bytes(64)).cast(text).itemsize == parsed.itemsize


@pytest.mark.parametrize("text", CANDIDATES)
def test_native_equivalent_reads_like_builtin(text: str) -> None:
    try:
        parsed = Format(text)
    except ValueError:
        return
    equivalent = parsed.native_equivalent
    if equivalent is None:
        return
    data = struct.pack(f"{4 * parsed.itemsize}B", *range(4 * parsed.itemsize))
    builtin = memoryview(data).cast(equivalent)
    assert builtin.itemsize == parsed.itemsize
    assert same_values(builtin.tolist(), parsed.unpack(data))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<i", "i" if LITTLE else None),
        ("=q", "q"),
        ("<l", "i" if LITTLE else None),
        ("<e", "e" if LITTLE else None),
        ("<?", "?"),
        ("T{<i}", None),
        (">i", None if LITTLE else "i"),
        ("2i", None),
        ("i", "i"),
        ("@l", "l"),
        ("ix", None),
        ("Zd", "Zd" if BUILTIN_READS_COMPLEX else None),
        ("<Zf", ("Zf" if LITTLE else None) if BUILTIN_READS_COMPLEX else None),
        (">Zd", (None if LITTLE else "Zd") if BUILTIN_READS_COMPLEX else None),
    ],
)
def test_native_equivalent_examples(text: str, expected: str | None) -> None:
    assert Format(text).native_equivalent == expected


def same_values(left: Any, right: Any) -> bool:
    """Equality where NaN equals NaN (floats built from raw bytes may be NaN)."""
    return normalize(left) == normalize(right)


def normalize(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, complex):
        return ("complex", normalize(value.real), normalize(value.imag))
    if isinstance(value, tuple):
        return tuple(map(normalize, value))
    if isinstance(value, list):
        return list(map(normalize, value))
    return value


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("T{i", 3),
        ("i}", 1),
        ("3", 1),
        ("y", 0),
        ("ij", 1),
        ("(2,3", 4),
        ("(2,x)i", 3),
        ("Zq", 0),
        ("<n", 1),
        ("i:name", 1),
        ("T", 0),
        ("X{i", 3),
        ("X", 0),
        ("&", 1),
        ("&&", 2),
        ("Zi", 0),
        ("<i" + (">O" if LITTLE else "<O"), 3),
    ],
)
def test_malformed_formats_name_format_and_position(text: str, position: int) -> None:
    with pytest.raises(ValueError, match=re.escape(f"bad format {text!r} at position {position}:")):
        Format(text)


SWAPPED = ">" if LITTLE else "<"


@pytest.mark.parametrize("text", [f"{SWAPPED}g", f"{SWAPPED}Zg", f"T{{i:a:{SWAPPED}g:b:}}"])
def test_long_double_in_the_other_byte_order_is_refused(text: str) -> None:
    """No long double format is byte-swapped (ctypes and NumPy refuse to make one)."""
    with pytest.raises(NotImplementedError, match=re.escape(repr(text))):
        Format(text)


def test_byteorders_resolved() -> None:
    fields = Format("<i>h!q=b@H^d").fields
    assert [f.byteorder for f in fields] == [
        "<",
        ">",
        ">",
        NATIVE_ORDER,
        NATIVE_ORDER,
        NATIVE_ORDER,
    ]
    assert Format("<i").byteorder == "<"
    assert Format("<i>h").byteorder is None


def test_mixed_byteorders_mid_format() -> None:
    data = (
        struct.pack("<i", -5)
        + struct.pack(">h", 300)
        + struct.pack("<i", 7)
        + struct.pack(">h", -2)
    )
    parsed = Format("<i>h")
    assert parsed.itemsize == 6
    assert parsed.unpack(data) == [(-5, 300), (7, -2)]
    assert parsed.pack([(-5, 300), (7, -2)]) == data


def test_fields_of_record_with_subarray() -> None:
    parsed = Format("T{(2,3)<i:a:T{B:c:>d:d:}:b:}")
    (outer,) = parsed.fields
    assert outer.code == "T" and outer.record is not None
    a, b = outer.record.fields
    assert a == Field("a", 0, "i", (2, 3), 1, 4, "<")
    assert b.name == "b" and b.offset == 24 and b.code == "T" and b.size == 9
    assert b.record is not None and [f.name for f in b.record.fields] == ["c", "d"]
    assert parsed.itemsize == 33
    assert parsed.nvalues == 8


def test_record_nesting_and_values() -> None:
    data = struct.pack("<6iBd", 1, 2, 3, 4, 5, 6, 7, 2.5)
    parsed = Format("T{(2,3)<i:a:T{B:c:<d:d:}:b:}")
    assert parsed.unpack(data) == [([[1, 2, 3], [4, 5, 6]], (7, 2.5))]
    assert parsed.pack(parsed.unpack(data)) == data


def test_one_field_record_is_a_tuple() -> None:
    assert Format("T{<h}").unpack(struct.pack("<2h", 3, 4)) == [(3,), (4,)]
    assert Format("T{}").unpack(b"") == []
    assert Format("<h").unpack(struct.pack("<2h", 3, 4)) == [3, 4]


def test_padding_only_items_are_empty_tuples() -> None:
    assert Format("3x").unpack(bytes(6)) == [(), ()]
    assert Format("3x").pack([(), ()]) == bytes(6)


def test_complex_and_strings() -> None:
    data = struct.pack(">2d", 1.5, -2.0)
    assert Format(">Zd").unpack(data) == [1.5 - 2j]
    assert Format(">Zd").pack([1.5 - 2j]) == data
    assert Format("<Zf").unpack(struct.pack("<2f", 0.5, 4)) == [0.5 + 4j]
    assert Format("<3w").unpack("ab\0".encode("utf-32-le")) == ["ab\0"]
    assert Format(">2u").unpack("hé".encode("utf-16-be")) == ["hé"]
    assert Format(">2u").pack(["hé"]) == "hé".encode("utf-16-be")
    assert Format("<u").itemsize == 2 and Format("w").itemsize == 4


def test_named_count_is_one_subarray_field() -> None:
    (field,) = Format("3i:a:").fields
    assert field.shape == (3,) and field.repeat == 1
    assert Format("<3i:a:").unpack(struct.pack("<3i", 1, 2, 3)) == [[1, 2, 3]]


def test_unnamed_count_is_one_field_of_separate_values() -> None:
    (field,) = Format("<3i").fields
    assert (field.shape, field.repeat, field.nbytes, field.elements) == ((), 3, 12, 3)
    assert Format("<3i").unpack(struct.pack("<3i", 1, 2, 3)) == [(1, 2, 3)]
    assert Format("<3i").nvalues == 3 and Format("0i").fields == ()


def test_objects_are_never_read_from_bytes_and_are_readonly() -> None:
    """A pointer copied out of memory may name a freed object: ``unpack`` leaves a slot
    where each object goes, and says where in the item ``engine`` reads it in place."""
    things = ["x", 3.5, None]
    data = b"".join(struct.pack("P", id(thing)) for thing in things)
    parsed = Format("O")
    assert parsed.unpack(data) == [OBJECT_SLOT] * 3 and parsed.object_offsets() == [0]
    assert parsed.fill_objects(parsed.unpack(data), iter(things)) == things
    record = Format("T{i:n:O:o:(2)O:p:}")
    assert record.object_offsets() == [8, 16, 24]
    assert record.unpack(bytes(32)) == [(0, OBJECT_SLOT, [OBJECT_SLOT, OBJECT_SLOT])]
    assert record.fill_objects(record.unpack(bytes(32)), iter("abc")) == [(0, "a", ["b", "c"])]
    assert not parsed.writable and Format("T{iO}").writable is False and Format("i").writable
    with pytest.raises(TypeError, match="'O'"):
        parsed.pack([1])


@pytest.mark.parametrize(
    ("text", "items", "error"),
    [
        ("<i", [1, 2**40], struct.error),
        ("<i", [1, "seven"], struct.error),
        ("<h", [1.5], struct.error),
        ("bB", [(1, 2), (1, 2, 3)], struct.error),
        ("bB", [(1, 2), 5], TypeError),
        ("(2)b", [[1, 2], [1]], struct.error),
        ("Zd", [1j, "x"], TypeError),
        ("Zd", [1j, "1+2j"], TypeError),
        ("Zd", [1j, None], TypeError),
        ("Zf", [1j, "1"], TypeError),
        ("w", ["a", "xyz"], TypeError),
        ("w", ["a", ""], TypeError),
        ("3w", ["abc", "abcd"], TypeError),
        ("2u", ["ab", b"ab"], TypeError),
        ("u", ["a", "\U0001f600"], TypeError),
        ("g", [1.5, "x"], TypeError),  # (as the builtin memoryview stores a "d")
        ("Zg", [1.5, "1j"], TypeError),
        ("3t", [7, 8], struct.error),
        ("3t", [7, -1], struct.error),
        ("9t", [1, 1.5], struct.error),
        ("<P", [1, -1], struct.error),
        ("&<i", [1, 2**64], struct.error),
    ],
)
def test_pack_errors_name_bad_value(text: str, items: list[Any], error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        Format(text).pack(items)
    assert repr(items[-1]) in str(info.value)


def test_unpack_needs_enough_bytes() -> None:
    with pytest.raises(struct.error, match="8 bytes"):
        Format("<i").unpack(bytes(4), 2)


def test_unpack_accepts_any_buffer() -> None:
    data = struct.pack("<4i", 1, 2, 3, 4)
    assert Format("<i").unpack(memoryview(data).cast("i")) == [1, 2, 3, 4]
    assert Format("<i").unpack(bytearray(data), 2) == [1, 2]


def test_caret_is_native_size_without_alignment() -> None:
    assert Format("^ci").itemsize == 1 + struct.calcsize("i")
    assert Format("^cl").itemsize == 1 + struct.calcsize("l")
    assert Format("^ci").alignment == 1 and Format("@ci").alignment == struct.calcsize("i")


# --- NumPy acceptance ------------------------------------------------------------

np = pytest.importorskip("numpy")
hnp = pytest.importorskip("hypothesis.extra.numpy")

NUMPY_DTYPES = [
    *(f"{order}{kind}" for order in "<>" for kind in ("i1", "i2", "i4", "i8", "u1", "u2")),
    *(f"{order}{kind}" for order in "<>" for kind in ("u4", "u8", "f2", "f4", "f8")),
    "?",
    "<c8",
    "<c16",
    ">c8",
    ">c16",
    "S5",
    "<U3",
    ">U3",
    "int",
    "uint",
    "intp",
    [("a", "u1"), ("b", "<i4")],
    [("a", ">i2"), ("b", ">f8"), ("c", ">c8")],
    [("a", "<i4", (2, 3)), ("b", [("c", "u1"), ("d", ">f8")])],
    [("s", "S3"), ("u", "<U2", (2,)), ("z", "<c16")],
    [("outer", [("inner", [("x", "<i2"), ("y", "<i2")]), ("z", "<f4", (3,))])],
]
ALIGNED_DTYPES = [
    [("a", "u1"), ("b", "<i4")],
    [("a", "u1"), ("b", "<i4"), ("c", "u1")],
    [("a", "u1"), ("b", [("c", "u1"), ("d", "<f8")])],
    [("a", "u1"), ("b", "<i2", (3,)), ("c", "<f8"), ("d", "S3")],
]


def numpy_dtypes() -> list[Any]:
    dtypes = [np.dtype(spec) for spec in NUMPY_DTYPES]
    return dtypes + [np.dtype(spec, align=True) for spec in ALIGNED_DTYPES]


@pytest.mark.parametrize("dtype", numpy_dtypes(), ids=str)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_numpy_arrays(dtype: Any, data: st.DataObject) -> None:
    array = data.draw(hnp.arrays(dtype, st.integers(0, 4)))
    parsed = Format(memoryview(array).format)
    assert parsed.itemsize == array.itemsize
    values = parsed.unpack(array.tobytes())
    assert same_values(from_numpy(values), from_numpy(array.tolist()))
    assert parsed.pack(values) == array.tobytes()


def test_numpy_void_and_object() -> None:
    void = np.zeros(3, "V7")
    parsed = Format(memoryview(void).format)
    assert parsed.itemsize == 7
    assert parsed.unpack(void.tobytes()) == [(), (), ()]  # 'x' is padding: no values
    things = np.array([1, "a", None, 2.5], dtype=object)
    parsed = Format(memoryview(things).format)
    assert parsed.itemsize == things.itemsize and parsed.object_offsets() == [0]
    assert parsed.unpack(memoryview(things)) == [OBJECT_SLOT] * 4  # read in place only


def test_numpy_export_of_unpadded_nested_record_is_lossy() -> None:
    """NumPy writes 'T{T{h:x:B:y:}:inner:...}' for a 3-byte inner record, and its own
    reader (like ours) pads the '@' record to 4: the export itself is ambiguous."""
    from numpy._core._internal import _dtype_from_pep3118

    dtype = np.dtype([("outer", [("inner", [("x", "<i2"), ("y", "u1")]), ("z", "<f4", (3,))])])
    text = memoryview(np.zeros(1, dtype)).format
    assert Format(text).itemsize == _dtype_from_pep3118(text).itemsize == dtype.itemsize + 1


NUMPY_READER_CODES = ["?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "e", "f", "d"]
NUMPY_READER_CODES += ["Zf", "Zd", "3s", "2w", "x", "3x", "2i", "O"]


@st.composite
def record_formats(draw: st.DrawFn, depth: int = 0) -> str:
    """PEP 3118 records NumPy's reader understands: prefixes, shapes, nesting, names."""
    parts = []
    for index in range(draw(st.integers(0 if depth else 1, 4))):
        part = draw(st.sampled_from(["", "(2)", "(2,3)", "(1)"]))
        prefix = draw(st.sampled_from(["", "", "@", "<", ">", "=", "!", "^"]))
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            part += prefix + draw(record_formats(depth + 1))
        else:
            code = draw(st.sampled_from(NUMPY_READER_CODES))
            part += ("@" if code == "O" else prefix) + code  # pointers: native order only
        parts.append(part + (f":f{index}:" if draw(st.booleans()) else ""))
    return "T{" + "".join(parts) + "}"


@settings(max_examples=300, deadline=None)
@given(record_formats())
def test_record_itemsize_matches_numpy_reader(text: str) -> None:
    from numpy._core._internal import _dtype_from_pep3118

    assert Format(text).itemsize == _dtype_from_pep3118(text).itemsize


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["Zd", "<Zd", ">Zd", "Zf", "<Zf", ">Zf", "^Zd", "=Zf"]),
    st.lists(st.floats(width=32), max_size=12),
    st.integers(0, 3),
)
def test_complex_fast_path_matches_struct(text: str, floats: list[float], extra: int) -> None:
    parsed = Format(text)
    order = parsed.fields[0].byteorder
    code = parsed.fields[0].code[1]
    pairs = len(floats) // 2
    data = struct.pack(f"{order}{2 * pairs}{code}", *floats[: 2 * pairs]) + bytes(extra)
    doubles = struct.unpack_from(f"{order}{2 * pairs}{code}", data)
    expected = [complex(re, im) for re, im in zip(doubles[0::2], doubles[1::2], strict=True)]
    assert same_values(parsed.unpack(data), expected)
    assert parsed.pack(parsed.unpack(data)) == data[: pairs * parsed.itemsize] or any(
        map(math.isnan, floats)
    )
    if pairs:
        assert same_values(parsed.unpack(data, 1), expected[:1])


def test_complex_records_are_reused_across_sizes_and_threads() -> None:
    import threading

    fmt = Format("<Zd")
    results: list[bool] = []

    def unpack_sizes(scale: float) -> None:
        for count in (50, 3, 0, 120, 7):
            values = [complex(scale * k, -k) for k in range(count)]
            results.append(fmt.unpack(fmt.pack(values)) == values)

    threads = [threading.Thread(target=unpack_sizes, args=(s,)) for s in (1.0, 2.5, -3.0)]
    for thread in threads:
        thread.start()
    unpack_sizes(7.0)
    for thread in threads:
        thread.join()
    assert results == [True] * 20


def test_zero_size_items() -> None:
    assert Format("0s").unpack(b"", 2) == [b"", b""]
    assert Format("0s0w").unpack(b"", 1) == [(b"", "")]
    assert Format("0i").unpack(b"", 2) == [(), ()]
    assert Format("0s").unpack(b"") == []


STANDARD_PARTS = [(p, 1, c) for p in "<>=!" for c in "cbB?hHiIlLqQefd"]
STANDARD_PARTS += [("<", 3, "s"), (">", 2, "p"), ("=", 2, "x")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(STANDARD_PARTS), min_size=1, max_size=6), st.data())
def test_prefix_changes_mid_format(parts: list[tuple[str, int, str]], data: st.DataObject) -> None:
    """Without '@' nothing is aligned: an item is its parts packed one after another."""
    texts = [f"{prefix}{count}{code}" for prefix, count, code in parts]
    formats = [
        StructFormat(text, text[0], ((count, code),))
        for text, (_, count, code) in zip(texts, parts, strict=True)
    ]
    chunks = [struct.pack(f.text, *data.draw(item_values(f))) for f in formats]
    item = b"".join(chunks)
    expected = regroup(sum((struct.unpack(t, c) for t, c in zip(texts, chunks, strict=True)), ()))
    parsed = Format("".join(texts))
    assert parsed.itemsize == len(item)
    assert parsed.unpack(item * 2) == [expected, expected]
    assert parsed.pack([expected, expected]) == item * 2


@pytest.mark.parametrize(
    ("text", "value"),
    [("(2,0)i", [[], []]), ("(0,2)i", []), ("(2,1,0)b", [[[]], [[]]]), ("(1,0)b", [[]])],
)
def test_empty_subarrays_keep_their_outer_dimensions(text: str, value: list[Any]) -> None:
    parsed = Format(text)
    assert parsed.itemsize == 0
    assert parsed.unpack(b"", 2) == [value, value]
    assert Format(f"T{{{text}<h}}").unpack(struct.pack("<h", 9)) == [(value, 9)]
