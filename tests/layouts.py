"""Hypothesis strategies for the layout matrix: C ``_testbuffer.ndarray`` specs.

A ``Spec`` holds the constructor arguments of one ndarray, so that a test can
build the same array twice (one for the builtin memoryview, one for bufferkit).
Specs are always valid input for ``_testbuffer`` (strides and offsets are
multiples of the itemsize and keep every element inside the items), since
``_testbuffer`` is not crash-proof. Where the C module is missing, the arrays
come from ``bufferkit.testbuffer``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from dataclasses import dataclass
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from strategies import struct_parts

try:  # the C module where this build has it: an independent exporter of every layout
    import _testbuffer as testbuffer
except ImportError:  # most builds: bufferkit's own (tests of MemoryView against the builtin
    from bufferkit import testbuffer  # need an exporter, not a comparison with C)

SCALE = float(os.environ.get("BUFFERKIT_EXAMPLES_SCALE", "1"))
"""Multiplies every example count here (a deep run: ``BUFFERKIT_EXAMPLES_SCALE=20``)."""


def examples(count: int) -> settings:
    """Hypothesis settings for ``count`` examples (times ``SCALE``), no deadline."""
    return settings(max_examples=max(1, int(count * SCALE)), deadline=None)


NATIVE_FORMATS = ("B", "b", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d", "?", "c", "e")
NATIVE_FORMATS += ("n", "N", "@i", "@B")
OTHER_FORMATS = ("<i", ">h", "=q", "!d", "<e", ">f", "hi", "2B", "B3s", "<Hxb", "3s")
HASHABLE_FORMATS = ("B", "b", "c")


@dataclass(frozen=True)
class Spec:
    """The arguments of one ``_testbuffer.ndarray``."""

    items: Any
    shape: tuple[int, ...]
    strides: tuple[int, ...] | None
    offset: int
    format: str
    flags: int

    def make(self, extra_flags: int = 0, module: Any = None) -> Any:
        """A new ndarray with these arguments (each call: separate memory), from C
        ``_testbuffer`` unless ``module`` says otherwise (``bufferkit.testbuffer``)."""
        return self.build((module or testbuffer).ndarray, extra_flags)

    def build(self, cls: Any, extra_flags: int = 0) -> Any:
        """A new array of class ``cls`` (``_testbuffer.ndarray``'s arguments)."""
        kwargs: dict[str, Any] = {"shape": list(self.shape), "format": self.format}
        if self.strides is not None:
            kwargs["strides"] = list(self.strides)
        return cls(self.items, offset=self.offset, flags=self.flags | extra_flags, **kwargs)

    def elements(self, itemsize: int) -> Any:
        """The item at each element, nested as ``tolist()`` nests them."""
        if not self.shape:
            return self.items
        fortran = bool(self.flags & testbuffer.ND_FORTRAN)
        steps = _contiguous_steps(self.shape, fortran)
        if self.strides is not None:
            steps = tuple(stride // itemsize for stride in self.strides)
        start = self.offset // itemsize

        def at(dim: int, first: int) -> Any:
            if dim == len(self.shape):
                return self.items[first]
            return [at(dim + 1, first + n * steps[dim]) for n in range(self.shape[dim])]

        return at(0, start)

    def with_flags(self, flags: int) -> Spec:
        """The same array with other flags (the PIL array's direct twin, say)."""
        return dataclasses.replace(self, flags=flags)

    @property
    def native(self) -> bool:
        """True if the builtin memoryview reads this format's values."""
        return self.format in NATIVE_FORMATS


def _code_values(code: str, count: int, prefix: str = "") -> st.SearchStrategy[Any]:
    if code == "c":
        return st.binary(min_size=1, max_size=1)
    if code == "s":
        return st.binary(max_size=count)
    if code == "?":
        return st.booleans()
    if code in "efd":
        width = {"e": 16, "f": 32, "d": 64}[code]
        return st.floats(width=width)  # type: ignore[arg-type]
    bits = 8 * struct.calcsize(prefix + code)
    if code.isupper():
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def item_values(fmt: str) -> st.SearchStrategy[Any]:
    """One item of ``fmt`` as ``_testbuffer`` takes it: a value, or a tuple of several."""
    strategies: list[st.SearchStrategy[Any]] = []
    prefix = fmt[:1] if fmt[:1] in "@=<>!" else ""
    for count, code in struct_parts(fmt):
        if code == "x":
            continue
        if code == "s":
            strategies.append(_code_values(code, count))
        else:
            strategies.extend(_code_values(code, count, prefix) for _ in range(count))
    if len(strategies) == 1:
        return strategies[0]
    return st.tuples(*strategies)


@st.composite
def specs(
    draw: st.DrawFn,
    formats: tuple[str, ...] = NATIVE_FORMATS + OTHER_FORMATS,
    max_ndim: int = 4,
    min_ndim: int = 0,
    max_length: int = 4,
    flags: st.SearchStrategy[int] | None = None,
) -> Spec:
    """A random valid ndarray: any format, shape, strides, offset and flag combination."""
    fmt = draw(st.sampled_from(formats))
    items = item_values(fmt)
    size = struct.calcsize(fmt)
    return draw(arrays_of(fmt, size, items, max_ndim, min_ndim, max_length, flags))


@st.composite
def arrays_of(
    draw: st.DrawFn,
    fmt: str,
    itemsize: int,
    values: st.SearchStrategy[Any],
    max_ndim: int = 4,
    min_ndim: int = 0,
    max_length: int = 4,
    flags: st.SearchStrategy[int] | None = None,
) -> Spec:
    """A random valid array of items ``values`` of ``fmt`` (``itemsize`` bytes each):
    any shape, strides, offset and flag combination."""
    ndim = draw(st.integers(min_ndim, max_ndim))
    shape = tuple(draw(st.lists(st.integers(0, max_length), min_size=ndim, max_size=ndim)))
    all_flags = st.sampled_from(
        [
            0,
            testbuffer.ND_WRITABLE,
            testbuffer.ND_FORTRAN,
            testbuffer.ND_PIL,
            testbuffer.ND_WRITABLE | testbuffer.ND_FORTRAN,
            testbuffer.ND_WRITABLE | testbuffer.ND_PIL,
            testbuffer.ND_FORTRAN | testbuffer.ND_PIL,
            testbuffer.ND_WRITABLE | testbuffer.ND_FORTRAN | testbuffer.ND_PIL,
        ]
    )
    chosen = draw(flags if flags is not None else all_flags)
    if ndim == 0:
        chosen &= ~(testbuffer.ND_PIL | testbuffer.ND_FORTRAN)
    explicit = not chosen & testbuffer.ND_FORTRAN and draw(st.booleans())
    if explicit:
        steps = tuple(draw(st.lists(st.integers(-3, 3), min_size=ndim, max_size=ndim)))
    else:
        steps = _contiguous_steps(shape, fortran=bool(chosen & testbuffer.ND_FORTRAN))
    if 0 in shape:
        low = high = 0
    else:
        low = sum(min(0, step * (length - 1)) for step, length in zip(steps, shape, strict=True))
        high = sum(max(0, step * (length - 1)) for step, length in zip(steps, shape, strict=True))
    slack = explicit and ndim > 0
    before = draw(st.integers(0, 2)) if slack else 0
    after = draw(st.integers(0, 2)) if slack else 0
    start = -low + before
    nitems = max(1, start + high + 1 + after) if shape else 1
    if shape and 0 not in shape and not explicit:
        nitems = math.prod(shape)
    drawn = draw(st.lists(values, min_size=nitems, max_size=nitems))
    items = drawn[0] if not shape else drawn
    strides = tuple(step * itemsize for step in steps) if explicit else None
    return Spec(items, shape, strides, start * itemsize if explicit else 0, fmt, chosen)


def _contiguous_steps(shape: tuple[int, ...], fortran: bool) -> tuple[int, ...]:
    dims = range(len(shape)) if fortran else range(len(shape) - 1, -1, -1)
    steps = [0] * len(shape)
    step = 1
    for dim in dims:
        steps[dim] = step
        step *= max(shape[dim], 1)
    return tuple(steps)
