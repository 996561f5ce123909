"""Benchmarks: bufferkit against the builtin memoryview, NumPy and C ``_testbuffer``.

Run ``python benchmarks/run.py [NAME-SUBSTRING ...]``. Every case times bufferkit
and its references side by side in this one process (best of several interleaved
repeats of an auto-ranged loop) and prints a table of the ratios; a reference with a target
(``ours / reference <= limit``) is marked ``ok`` or ``MISSED``. The exit status
is 1 if any target was missed. References that are not installed are skipped.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

Timed = Callable[[], object]


@dataclass
class Case:
    """One measurement: ``setup()`` returns bufferkit's callable and the references'."""

    name: str
    setup: Callable[[], tuple[Timed, dict[str, Timed]]]
    targets: dict[str, float] = field(default_factory=dict)  # reference -> maximum ratio
    note: str = ""


Row = tuple[str, float, float | None, float | None]
"""A measured row: reference name, ours, the reference's (None: ``ours`` is absolute),
limit (of the ratio, or of ``ours`` itself when absolute; None: reported only)."""


@dataclass
class Measured:
    """A case that measures something other than time per call (bytes, milliseconds)."""

    name: str
    measure: Callable[[], list[Row]]
    unit: str
    note: str = ""


def best_times(calls: list[Timed], repeats: int = 7) -> list[float]:
    """Seconds per call of each callable: the best of ``repeats`` auto-ranged loops.

    The loops are interleaved (one loop of each callable per round), so that no
    callable is timed only in the memory-allocator state another one left behind.
    """
    timers = [timeit.Timer(call) for call in calls]
    numbers = [timer.autorange()[0] for timer in timers]
    best = [float("inf")] * len(calls)
    for _ in range(repeats):
        for k, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[k] = min(best[k], timer.timeit(number) / number)
    return best


def _format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:7.2f} {unit}"
    return f"{seconds / 1e-9:7.1f} ns"


def _verdict(value: float, limit: float | None) -> tuple[str, bool]:
    if limit is None:
        return "", True
    met = value <= limit
    return f"<= {limit:<5} {'ok' if met else 'MISSED'}", met


def _run_measured(case: Measured, out: Callable[[str], None]) -> bool:
    all_met = True
    try:
        rows = case.measure()
    except ImportError as missing:
        out(f"{case.name:<44} skipped: {missing}")
        return True
    for number, (ref_name, ours, theirs, limit) in enumerate(rows):
        label = case.name if number == 0 else ""
        mine = f"{ours:7.1f} {case.unit}"
        if theirs is None:
            verdict, met = _verdict(ours, limit)
            out(f"{label:<44} {mine:>11}  {ref_name:<26} {'':>7}  {verdict}")
        else:
            verdict, met = _verdict(ours / theirs, limit)
            shown = f"{ref_name} {theirs:.1f} {case.unit}"
            out(f"{label:<44} {mine:>11}  {shown:<26} {ours / theirs:7.2f}  {verdict}")
        all_met &= met
    if case.note:
        out(f"    {case.note}")
    return all_met


def run(cases: Iterable[Case | Measured], out: Callable[[str], None] = print) -> bool:
    """Measure every case, print the table, return True if every target was met."""
    all_met = True
    out(f"{'case':<44} {'bufferkit':>11}  {'reference':<26} {'ratio':>7}  target")
    for case in cases:
        if isinstance(case, Measured):
            all_met &= _run_measured(case, out)
            continue
        try:
            ours, references = case.setup()
        except ImportError as missing:
            out(f"{case.name:<44} skipped: {missing}")
            continue
        mine, *others = best_times([ours, *references.values()])
        first = True
        for ref_name, theirs in zip(references, others, strict=True):
            ratio = mine / theirs
            verdict, met = _verdict(ratio, case.targets.get(ref_name))
            all_met &= met
            label = case.name if first else ""
            timing = _format_seconds(mine) if first else ""
            shown = f"{ref_name} {_format_seconds(theirs).strip()}"
            out(f"{label:<44} {timing:>11}  {shown:<26} {ratio:7.2f}  {verdict}")
            first = False
        if case.note:
            out(f"    {case.note}")
    return all_met


def all_cases() -> list[Case | Measured]:
    """Every module ``cases_*.py`` beside this file contributes its ``CASES``."""
    import importlib

    cases: list[Case | Measured] = []
    for path in sorted(Path(__file__).resolve().parent.glob("cases_*.py")):
        module = importlib.import_module(path.stem)
        cases.extend(module.CASES)
    return cases


def main(argv: list[str]) -> int:
    chosen = [case for case in all_cases() if not argv or any(a in case.name for a in argv)]
    return 0 if run(chosen) else 1


if __name__ == "__main__":
    sys.modules["run"] = sys.modules[__name__]  # the case modules' ``from run import``
    sys.exit(main(sys.argv[1:]))
