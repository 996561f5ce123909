"""Side by side: bufferkit's NDArray against CPython's C ``_testbuffer.ndarray``.

Everything here turns what one implementation did into plain comparable data
(outcomes, attribute dictionaries), so that a test can assert that both did the
same. The C module is not crash-proof: callers feed it only input it validates.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bufferkit import NDArray
from bufferkit.flags import BufferFlags

F = BufferFlags

ATTRIBUTES = (
    "flags",
    "offset",
    "nbytes",
    "readonly",
    "itemsize",
    "format",
    "ndim",
    "shape",
    "strides",
    "suboffsets",
    "c_contiguous",
    "f_contiguous",
    "contiguous",
)
VIEW_ATTRIBUTES = (
    "format",
    "itemsize",
    "ndim",
    "shape",
    "strides",
    "suboffsets",
    "nbytes",
    "readonly",
    "c_contiguous",
    "f_contiguous",
    "contiguous",
)


def _request_classes() -> list[int]:
    """One request per distinct answer a getbuffer can give: the smallest bit pattern
    of every combination of the request predicates (72 of them)."""
    seen: dict[tuple[bool, ...], int] = {}
    bits = (
        F.WRITABLE,
        F.FORMAT,
        F.ND,
        F.STRIDES,
        F.C_CONTIGUOUS,
        F.F_CONTIGUOUS,
        F.ANY_CONTIGUOUS,
        F.INDIRECT,
    )
    for mask in range(1 << len(bits)):
        flags = 0
        for index, bit in enumerate(bits):
            if mask >> index & 1:
                flags |= bit
        seen.setdefault(_predicates(flags), flags)
    return sorted(int(flags) for flags in seen.values())


def _predicates(flags: int) -> tuple[bool, ...]:
    def has(pattern: int) -> bool:
        return flags & pattern == pattern

    return (
        has(F.WRITABLE),
        has(F.FORMAT),
        has(F.ND),
        has(F.STRIDES),
        has(F.C_CONTIGUOUS),
        has(F.F_CONTIGUOUS),
        has(F.ANY_CONTIGUOUS),
        has(F.INDIRECT),
    )


REQUESTS = _request_classes()


def _comparable(value: Any) -> Any:
    """Floats by their repr (NaN equals NaN), containers recursively."""
    if isinstance(value, float):
        return repr(value) if math.isnan(value) else value
    if isinstance(value, (list, tuple)):
        return type(value)(map(_comparable, value))
    return value


def outcome(call: Callable[[], Any], describe: Callable[[Any], Any] = _comparable) -> Any:
    """``("ok", described result)`` or ``(exception type, message)``."""
    try:
        result = call()
    except Exception as error:  # every failure is part of the behaviour compared
        return (type(error), str(error).replace("NDArray", "ndarray"))
    return ("ok", describe(result))


@dataclass
class Labels:
    """Names for the objects one side made, so that ``obj`` can be compared by role."""

    names: dict[int, str] = field(default_factory=dict)
    keep: list[Any] = field(default_factory=list)

    def add(self, obj: Any, name: str) -> None:
        self.names[id(obj)] = name
        self.keep.append(obj)

    def of(self, obj: Any) -> Any:
        if obj is None:
            return None
        return self.names.get(id(obj), f"<{type(obj).__name__}>")


def array_summary(array: Any, labels: Labels) -> dict[str, Any]:
    """Every attribute, ``obj`` by label, ``tolist()`` and ``tobytes()`` (as outcomes)."""
    summary = {name: outcome(lambda name=name: getattr(array, name)) for name in ATTRIBUTES}
    summary["obj"] = labels.of(array.obj)
    summary["tolist"] = outcome(array.tolist)
    summary["tobytes"] = outcome(array.tobytes)
    return summary


def view_summary(view: memoryview) -> dict[str, Any]:
    """What a builtin memoryview sees (``obj`` is left out: PEP 688 wraps it)."""
    summary = {name: getattr(view, name) for name in VIEW_ATTRIBUTES}
    summary["tobytes"] = view.tobytes()
    summary["tolist"] = outcome(view.tolist)
    return summary


def memoryview_outcome(exporter: Any) -> Any:
    def look() -> dict[str, Any]:
        with memoryview(exporter) as view:
            return view_summary(view)

    return outcome(look, describe=lambda summary: summary)


def reexport_outcomes(
    kind: Callable[..., Any], exporter: Any, labels: Labels, requests: list[int]
) -> Iterator[tuple[int, Any]]:
    """For each request: what ``kind(exporter, getbuf=request)`` is, and what a
    builtin memoryview of that re-exporter sees."""
    for request in requests:

        def build(request: int = request) -> Any:
            return kind(exporter, getbuf=request)

        made = outcome(build, describe=lambda array: array)
        if made[0] != "ok":
            yield request, made
            continue
        array = made[1]
        yield request, ("ok", array_summary(array, labels), memoryview_outcome(array))
        del array, made


# --- random constructions (inside what the C module validates) --------------------

SIGNED = {"b": 8, "h": 16, "i": 32, "l": 64, "q": 64, "n": 64}
UNSIGNED = {"B": 8, "H": 16, "I": 32, "L": 64, "Q": 64, "N": 64, "P": 64}


def nmemb(fmt: str) -> int:
    return len(struct.unpack(fmt, bytes(struct.calcsize(fmt))))


def is_ours(array: Any) -> bool:
    return isinstance(array, NDArray)
