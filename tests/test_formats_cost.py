"""A format costs what its text costs: counts are numbers, sizes fit Py_ssize_t, caches are bounded.

Work is counted, not only timed: parsing a format whose counts are huge makes the
same fields and allocates the same memory (``tracemalloc``) as the same text with
small counts; the wall-clock bounds are generous backstops.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import struct
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bufferkit import Format, MemoryView, formats

POINTER = ctypes.sizeof(ctypes.c_void_p)
FAST = 0.05  # seconds: far above the microseconds a parse takes, far below a per-element loop

# (text with {n}, itemsize as a function of n) in standard sizes, where no padding is added
TEMPLATES: list[tuple[str, Callable[[int], int]]] = [
    ("<({n})i", lambda n: 4 * n),
    ("<{n}i", lambda n: 4 * n),
    ("<{n}i<h", lambda n: 4 * n + 2),
    ("<{n}s", lambda n: n),
    ("<{n}x", lambda n: n),
    ("<{n}w:name:", lambda n: 4 * n),
    ("<{n}t", lambda n: -(-n // 8)),
    ("<{n}P", lambda n: POINTER * n),
    ("<({n},2)Zd", lambda n: 32 * n),
    ("<{n}D", lambda n: 16 * n),
    ("<({n})T{{<h:a:<d:b:}}", lambda n: 10 * n),
    ("T{{<{n}T{{<i}}}}", lambda n: 4 * n),
    ("<(3,{n})T{{<{n}h:a:}}:r:", lambda n: 6 * n * n),
]
POINTER_TEMPLATES = [("<&({n})i", 4), ("<&{n}T{{<d}}", 8)]  # a pointer; its target's unit size


def parse_cost(text: str) -> tuple[Format, float, int]:
    """The format parsed afresh (no cache), the seconds it took (best of three: the
    machine is shared) and its peak allocation."""
    seconds = math.inf
    for _ in range(3):
        start = time.perf_counter()
        parsed = formats._parse(text)
        seconds = min(seconds, time.perf_counter() - start)
    tracemalloc.start()
    try:
        formats._parse(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return parsed, seconds, peak


def refusal_seconds(text: str) -> float:
    """Seconds (best of three) to refuse ``text`` for a number beyond ``Py_ssize_t``."""
    seconds = math.inf
    for _ in range(3):
        start = time.perf_counter()
        with pytest.raises(ValueError, match="larger than Py_ssize_t allows"):
            formats._parse(text)
        seconds = min(seconds, time.perf_counter() - start)
    return seconds


COUNTS = st.one_of(st.integers(2, 1000), st.integers(2, 2**70), st.sampled_from([2**40, 2**62]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TEMPLATES), COUNTS)
def test_parsing_costs_what_the_text_costs(case: tuple[str, Callable[[int], int]], n: int) -> None:
    template, itemsize = case
    text = template.format(n=n)
    if max(n, itemsize(n)) > sys.maxsize:
        assert refusal_seconds(text) < FAST
        return
    small, _, small_peak = parse_cost(template.format(n=2))
    parsed, seconds, peak = parse_cost(text)
    assert parsed.itemsize == itemsize(n)
    assert len(parsed.fields) == len(small.fields)
    assert seconds < FAST
    assert peak <= small_peak + 4096  # only the longer digits
    if template.startswith("<") and "w" not in template and "t" not in template:
        with contextlib.suppress(struct.error):  # not a struct format ('T{', shapes, 'Zd')
            assert struct.calcsize(text) == parsed.itemsize  # what struct reads, it sizes alike


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(POINTER_TEMPLATES), COUNTS)
def test_pointer_targets_are_sized_but_not_allocated(case: tuple[str, int], n: int) -> None:
    template, unit = case
    text = template.format(n=n)
    if unit * n > sys.maxsize:
        with pytest.raises(ValueError, match=str(unit * n)):
            formats._parse(text)
        return
    parsed, seconds, _ = parse_cost(text)
    assert parsed.itemsize == POINTER and seconds < FAST


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (f"({2**62})q", 2**65),
        (f"{2**61}q{2**61}q", 2**64),
        (f"T{{({2**32})T{{({2**32})i}}}}", 2**66),
        (f"<({2**31},{2**31},{2**31})B", 2**93),
        (f"{sys.maxsize}x{sys.maxsize}x", 2 * sys.maxsize),
        (f"<{2**62}w", 2**64),
        (f"({2**62})Zd", 2**66),
    ],
)
def test_sizes_beyond_py_ssize_t_are_refused_naming_them(text: str, size: int) -> None:
    with pytest.raises(ValueError, match=rf"bad format .* at position \d+: .*\b{size}\b"):
        Format(text)


@pytest.mark.parametrize("digits", [20, 5000, 100_000])
def test_counts_with_many_digits_are_refused_at_once(digits: int) -> None:
    text = "1" + "0" * (digits - 1) + "i"
    with pytest.raises(ValueError, match=f"{digits} digits"):
        Format(text)
    assert refusal_seconds(text) < FAST


def test_leading_zeros_are_not_digits_of_size() -> None:
    assert Format("0" * 10_000 + "5i").itemsize == 5 * struct.calcsize("i")


def test_nesting_is_bounded() -> None:
    depth = formats.MAX_DEPTH
    assert Format("T{" * depth + "<i" + "}" * depth).itemsize == 4
    for text in ("T{" * (depth + 1) + "i" + "}" * (depth + 1), "&" * (depth + 1) + "i"):
        with pytest.raises(ValueError, match=f"nested more than {depth} levels"):
            Format(text)


def test_long_texts_cost_linear_time() -> None:
    """Ten times the text, at most about ten times the time (no quadratic step)."""

    def seconds(text: str) -> float:
        return parse_cost(text)[1]

    short = seconds("<i:a:" * 2000)
    long = seconds("<i:a:" * 20000)
    assert long < 25 * short


def test_the_numpy_sub_array_of_a_hundred_million_elements() -> None:
    dtype = np.dtype([("a", "<i4", (10**8,))])
    empty = np.empty(0, dtype)
    text = memoryview(empty).format
    parsed, seconds, _ = parse_cost(text)
    assert parsed.itemsize == dtype.itemsize and seconds < FAST
    tracemalloc.start()
    try:
        start = time.perf_counter()
        assert MemoryView(empty).tolist() == []
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < FAST and peak < 1 << 20


VALUES = list(range(-500_000, 500_000))
ROWS = [VALUES[start : start + 1000] for start in range(0, len(VALUES), 1000)]


@pytest.mark.parametrize(
    ("text", "item"),
    [("<(1000000)i", VALUES), ("<1000000i", tuple(VALUES)), ("T{<(1000,1000)i:a:}", (ROWS,))],
)
def test_a_large_sub_array_is_read_from_its_data(text: str, item: Any) -> None:
    data = struct.pack("<1000000i", *VALUES)
    assert Format(text).unpack(data) == [item]
    assert Format(text).pack([item]) == data


@pytest.mark.parametrize("text", ["(100000000)0s", "(1000,1000,0)i", "T{(100000000)T{}}"])
def test_items_of_no_bytes_cannot_make_unbounded_values(text: str) -> None:
    parsed = Format(text)
    assert parsed.itemsize == 0
    start = time.perf_counter()
    with pytest.raises(ValueError, match="Python objects"):
        parsed.unpack(b"", 1)
    assert time.perf_counter() - start < FAST


def retained_after_parsing(count: int, start: int) -> int:
    """Bytes still allocated after parsing ``count`` distinct formats."""
    formats._cached_parse.cache_clear()
    gc.collect()
    tracemalloc.start()
    try:
        for index in range(start, start + count):
            Format(f"T{{<i:f{index}:(2)<d:g:}}")
        gc.collect()
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        formats._cached_parse.cache_clear()


def test_the_format_cache_is_bounded() -> None:
    size = formats._CACHE_SIZE
    full = retained_after_parsing(size, 0)
    many = retained_after_parsing(4 * size, 10**6)
    assert many < 1.2 * full
    assert formats._cached_parse.cache_info().maxsize == size


def test_caching_keeps_the_identity_of_recent_formats() -> None:
    recent = Format("<i>h")
    assert Format("<i>h") is recent and Format(b"<i>h") is recent
    text = "<i" * 200  # beyond the cached length: parsed each time, equal
    assert Format(text) == Format(text) and Format(text).itemsize == 800
