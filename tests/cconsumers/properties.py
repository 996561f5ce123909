"""The properties a buffer consumer must have, written with bufferkit.testing.

Each takes the consumer under test and returns a Hypothesis test (no arguments):
the same tests find every bug of ``consumers.c`` and pass its correct consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given

from bufferkit import Format, MemoryView
from bufferkit.testing import buffers, track

Test = Callable[[], None]


def expected_items(array: Any) -> list[Any]:
    """The items of ``array``, flat in C order, as bufferkit reads them (the oracle)."""
    return Format(array.format).unpack(MemoryView(array).tobytes())


def reads_every_item(tolist: Callable[[Any], list[Any]]) -> Test:
    """``tolist`` returns every item in C order, or refuses (BufferError for a layout,
    NotImplementedError for a format), and releases every buffer it takes."""

    @given(array=buffers())
    def test_tolist(array: Any) -> None:
        tracked = track(array)
        try:
            items: list[Any] | None = tolist(tracked)
        except (BufferError, NotImplementedError):
            items = None
        tracked.assert_balanced()
        if items is not None:
            expected = expected_items(array)
            assert items == expected, f"read {items!r}, expected {expected!r}"

    return test_tolist


def writes_only_where_allowed(fill: Callable[[Any, int], None]) -> Test:
    """``fill`` stores 1 into every item of a writable buffer, refuses a read-only one,
    never writes into memory exported read-only, and releases every buffer it takes."""

    @given(array=buffers())
    def test_fill(array: Any) -> None:
        tracked = track(array)
        try:
            fill(tracked, 1)
            filled = True
        except (BufferError, NotImplementedError):
            filled = False
        tracked.assert_balanced()
        tracked.assert_unmodified()
        if filled:
            found = expected_items(array)
            assert set(found) <= {1}, f"filled with 1, found {found!r}"

    return test_fill


PROPERTIES: dict[str, Callable[[Any], Test]] = {
    "tolist": lambda module, bug="": reads_every_item(lambda obj: module.tolist(obj, bug=bug)),
    "fill": lambda module, bug="": writes_only_where_allowed(
        lambda obj, value: module.fill(obj, value, bug=bug)
    ),
}
