"""The ``bufferkit`` command: ``check``, ``inspect`` and ``show``.

Invariants:
- ``main`` never lets a traceback reach the user for bad input: a bad option or
  expression prints one line starting ``bufferkit: error:`` and exits with 2.
- ``check`` without expressions surveys the standard exporters and exits 0;
  with expressions it exits 1 when any of them violates a rule.
- Every buffer the command acquires is released before it exits.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TextIO

from . import __version__, render
from .flags import MODIFIER_SETS, STRUCTURE_REQUESTS, BufferFlags, describe
from .layout import Layout
from .managed import BufferInfo, acquire

if TYPE_CHECKING:
    from .conformance import Finding, Report

__all__ = ["build_parser", "main"]


class SurveyEntry(NamedTuple):
    """One exporter of the survey: a label and a factory making a fresh one."""

    label: str
    factory: Callable[[], object]


def _numpy_entries() -> list[SurveyEntry]:
    try:
        import numpy as np
    except ImportError:
        return []

    def grid() -> Any:
        return np.arange(24, dtype=np.int32).reshape(4, 6)

    readonly = np.arange(6.0)
    readonly.flags.writeable = False
    record = np.dtype([("a", "<i4"), ("b", ">f8", (2,))])
    return [
        SurveyEntry("numpy C int32 4x6", grid),
        SurveyEntry("numpy Fortran", lambda: np.asfortranarray(grid())),
        SurveyEntry("numpy reversed", lambda: np.arange(8.0)[::-1]),
        SurveyEntry("numpy strided 2-D", lambda: grid()[::2, ::3]),
        SurveyEntry("numpy transposed", lambda: grid().T),
        SurveyEntry("numpy 0-d", lambda: np.array(3.5)),
        SurveyEntry("numpy read-only", lambda: readonly),
        SurveyEntry("numpy structured", lambda: np.zeros(3, dtype=record)),
    ]


def _bufferkit_entries() -> list[SurveyEntry]:
    import bufferkit

    entries: list[SurveyEntry] = []
    nd = getattr(bufferkit, "NDArray", None)
    if nd is not None:
        tb = importlib.import_module("bufferkit.testbuffer")

        items = list(range(24))
        entries += [
            SurveyEntry("NDArray C", lambda: nd(items, shape=[4, 6], format="i")),
            SurveyEntry(
                "NDArray Fortran",
                lambda: nd(items, shape=[4, 6], format="i", flags=tb.ND_FORTRAN),
            ),
            SurveyEntry(
                "NDArray strided",
                lambda: nd(items, shape=[3, 4], strides=[-16, 2], offset=32, format="h"),
            ),
            SurveyEntry(
                "NDArray indirect (PIL)",
                lambda: nd(items, shape=[4, 6], format="i", flags=tb.ND_PIL),
            ),
        ]
    mv = getattr(bufferkit, "MemoryView", None)
    if mv is not None:

        def base() -> Any:
            return mv(bytearray(range(48))).cast("B", (6, 8))

        entries += [
            SurveyEntry("MemoryView", base),
            SurveyEntry("MemoryView [1:5, ::3]", lambda: base()[1:5, ::3]),
            SurveyEntry("MemoryView .T", lambda: base().T),
        ]
    return entries


def standard_exporters() -> list[SurveyEntry]:
    """The survey: the standard library's exporters, NumPy's and bufferkit's own."""
    import array
    import ctypes
    import mmap

    class Point(ctypes.Structure):
        _fields_ = (("x", ctypes.c_int16), ("y", ctypes.c_double))

    return [
        SurveyEntry("bytes", lambda: b"bufferkit"),
        SurveyEntry("bytearray", lambda: bytearray(b"bufferkit")),
        SurveyEntry("array('b')", lambda: array.array("b", range(-4, 4))),
        SurveyEntry("array('H')", lambda: array.array("H", range(8))),
        SurveyEntry("array('d')", lambda: array.array("d", [0.5] * 5)),
        SurveyEntry("array('q')", lambda: array.array("q", range(3))),
        SurveyEntry("memoryview", lambda: memoryview(bytearray(12))),
        SurveyEntry("memoryview[::2]", lambda: memoryview(bytearray(12))[::2]),
        SurveyEntry("memoryview.cast('i', (3,1))", lambda: memoryview(bytes(12)).cast("i", (3, 1))),
        SurveyEntry("mmap (anonymous)", lambda: mmap.mmap(-1, 4096)),
        SurveyEntry("ctypes c_int * 6", lambda: (ctypes.c_int * 6)()),
        SurveyEntry("ctypes (c_double * 3) * 2", lambda: ((ctypes.c_double * 3) * 2)()),
        SurveyEntry("ctypes Structure", lambda: Point()),
        *_numpy_entries(),
        *_bufferkit_entries(),
    ]


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bufferkit`` command."""
    parser = _Parser(
        prog="bufferkit",
        description="The PEP 3118 buffer system in pure Python: check exporters, "
        "inspect buffers, picture layouts. EXPR is a Python expression evaluated with "
        "bufferkit, array, ctypes, mmap, struct and (if installed) numpy imported.",
    )
    parser.add_argument("--version", action="version", version=f"bufferkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser("check", help="check exporters against the buffer protocol")
    check.add_argument("exprs", nargs="*", metavar="EXPR", help="exporters to check")
    check.add_argument("--json", action="store_true", help="print the reports as JSON")
    inspect = commands.add_parser("inspect", help="the buffer one request returns")
    inspect.add_argument("expr", metavar="EXPR")
    inspect.add_argument("--flags", default="FULL_RO", help="request: NAME[|NAME...] or int")
    show = commands.add_parser("show", help="a picture of the layout")
    show.add_argument("expr", metavar="EXPR")
    show.add_argument("--svg", metavar="FILE", help="also write the picture as SVG")
    show.add_argument("--flags", default="FULL_RO", help="request: NAME[|NAME...] or int")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def _namespace() -> dict[str, Any]:
    import array
    import ctypes
    import mmap
    import struct

    import bufferkit

    names: dict[str, Any] = {
        "bufferkit": bufferkit,
        "array": array,
        "ctypes": ctypes,
        "mmap": mmap,
        "struct": struct,
    }
    try:
        import numpy
    except ImportError:
        pass
    else:
        names["numpy"] = names["np"] = numpy
    return names


def evaluate(expr: str) -> object:
    """The value of ``expr``: statements run first, the last one must be an expression."""
    try:
        tree = ast.parse(expr, "<EXPR>", "exec")
    except SyntaxError as exc:
        raise UsageError(f"invalid expression {expr!r}: {exc.msg}") from None
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        raise UsageError(f"{expr!r} does not end with an expression")
    final = tree.body.pop()
    assert isinstance(final, ast.Expr)
    last = ast.Expression(final.value)
    names = _namespace()
    try:
        exec(compile(tree, "<EXPR>", "exec"), names)
        return eval(compile(last, "<EXPR>", "eval"), names)
    except Exception as exc:
        raise UsageError(f"cannot evaluate {expr!r}: {type(exc).__name__}: {exc}") from None


def parse_flags(text: str) -> int:
    """``FULL_RO``, ``PyBUF_STRIDES|WRITABLE``, ``0x11c`` or ``284`` as request flags."""
    try:
        return int(text, 0)
    except ValueError:
        pass
    value = 0
    for part in text.split("|"):
        name = part.strip().upper().removeprefix("PYBUF_")
        try:
            value |= BufferFlags[name]
        except KeyError:
            known = ", ".join(BufferFlags.__members__)
            raise UsageError(f"unknown request flag {part.strip()!r} (known: {known})") from None
    return value


def flags_name(flags: int) -> str:
    """The name of a request, e.g. ``FULL_RO`` or ``STRIDES|WRITABLE``."""
    for name, member in BufferFlags.__members__.items():
        if member == flags:
            return name
    return f"0x{flags:x}"


def _layout_of(info: BufferInfo) -> Layout:
    itemsize = max(info.itemsize, 1)
    if info.shape is None:
        return Layout(itemsize, (info.len // itemsize,))
    return Layout(itemsize, info.shape, info.strides, info.suboffsets, 0)


def describe_info(info: BufferInfo) -> list[str]:
    """Every field of ``info``, its contiguity and its extent, one per line."""
    obj = info.obj
    lines = [
        f"obj        {type(obj).__module__}.{type(obj).__qualname__} at 0x{id(obj):x}",
        f"buf        {'NULL' if info.buf is None else hex(info.buf)}",
    ]
    for name in ("len", "itemsize", "readonly", "ndim", "format", "shape", "strides"):
        value = getattr(info, name)
        lines.append(f"{name:<10} {'NULL' if value is None else repr(value)}")
    for name in ("suboffsets", "internal"):
        value = getattr(info, name)
        lines.append(f"{name:<10} {'NULL' if value is None else repr(value)}")
    try:
        layout = _layout_of(info)
    except (ValueError, TypeError) as exc:
        lines.append(f"layout     invalid: {exc}")
        return lines
    lines.append(
        f"contiguous C {layout.is_c_contiguous()}, Fortran {layout.is_f_contiguous()}, "
        f"any {layout.is_contiguous()}"
    )
    lo, hi = layout.extent()
    lines.append(f"extent     bytes {lo}..{hi} relative to buf")
    return lines


def run_inspect(expr: str, flags_text: str, out: TextIO) -> int:
    """``bufferkit inspect``: 0 when the request is served, 1 when it is refused."""
    flags = parse_flags(flags_text)
    obj = evaluate(expr)
    header = f"request {flags_name(flags)} (0x{flags:x}) of {expr}"
    try:
        with acquire(obj, flags) as info:
            lines = describe_info(info)
    except Exception as exc:
        print(f"{header}: refused, {type(exc).__name__}: {exc}", file=out)
        return 1
    print(f"{header}: served", file=out)
    for line in lines:
        print("  " + line, file=out)
    return 0


def _use_color(choice: str, out: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    return out.isatty() and not os.environ.get("NO_COLOR")


def run_show(expr: str, flags_text: str, svg: str | None, color: str, out: TextIO) -> int:
    """``bufferkit show``: the layout as text, and as SVG with ``--svg``."""
    flags = parse_flags(flags_text)
    obj = evaluate(expr)
    try:
        with acquire(obj, flags) as info:
            picture = render.build_picture(info, f"{expr}: request {flags_name(flags)}")
    except Exception as exc:
        print(f"request {flags_name(flags)} of {expr}: {type(exc).__name__}: {exc}", file=out)
        return 1
    out.write(render.to_text(picture, color=_use_color(color, out)))
    if svg is not None:
        try:
            with open(svg, "w", encoding="utf-8") as file:
                file.write(render.to_svg(picture))
        except OSError as exc:
            raise UsageError(f"cannot write {svg!r}: {exc.strerror}") from None
        print(f"wrote {svg}", file=out)
    return 0


def _cell(report: Report, request: int) -> str:
    """One request's mark: served, refused, violation or warning."""
    severities = {f.severity for f in report.findings if f.request == request}
    if "violation" in severities:
        return "✗"
    if "warning" in severities:
        return "!"
    served = any(o.served for o in report.results if o.request == request)
    return "✓" if served else "·"


def _grouped_findings(label: str, report: Report) -> list[str]:
    """One line per (severity, rule): the requests it hit and its first message."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault((finding.severity, finding.rule), []).append(finding)
    lines = []
    for (severity, rule), found in groups.items():
        names = [describe(f.request) for f in found]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        lines.append(f"{label}: {severity} {rule} in {shown}: {found[0].message}")
    return lines


def _column(structure: BufferFlags) -> str:
    """A structure request's name, short enough for a column (``C_CONTIG``)."""
    return str(structure.name).replace("CONTIGUOUS", "CONTIG")


def survey_table(rows: Sequence[tuple[str, Report]]) -> list[str]:
    """Exporter-by-request marks, then the findings of each exporter."""
    width = max((len(label) for label, _ in rows), default=8) + 2
    top = " " * width + "".join(f"{_column(s):<11}" for s in STRUCTURE_REQUESTS)
    sub = " " * width + "".join(f"{'-WFB':<11}" for _ in STRUCTURE_REQUESTS)
    lines = [top, sub]
    for label, report in rows:
        marks = "".join(
            f"{''.join(_cell(report, base | m) for m in MODIFIER_SETS):<11}"
            for base in STRUCTURE_REQUESTS
        )
        lines.append(f"{label:<{width}}{marks}")
    lines.append("")
    lines.append(
        "✓ served  · refused  ✗ violation  ! warning    "
        "columns: - none, W WRITABLE, F FORMAT, B both"
    )
    for label, report in rows:
        lines += _grouped_findings(label, report)
    return lines


def _progress(done: int, total: int, label: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\x1b[Kchecking {done}/{total}: {label}", end="", file=sys.stderr, flush=True)


def _check_all(entries: Sequence[SurveyEntry]) -> list[tuple[str, Report]]:
    from .conformance import check_exporter

    rows = []
    for done, entry in enumerate(entries, 1):
        _progress(done, len(entries), entry.label)
        rows.append((entry.label, check_exporter(entry.factory)))
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    return rows


def _expression_entries(exprs: Sequence[str]) -> list[SurveyEntry]:
    entries = []
    for expr in exprs:
        evaluate(expr)
        entries.append(SurveyEntry(expr, functools.partial(evaluate, expr)))
    return entries


def run_check(exprs: Sequence[str], as_json: bool, out: TextIO) -> int:
    """``bufferkit check``: the survey (exit 0), or the given exporters (exit 1 on violation)."""
    entries = _expression_entries(exprs) if exprs else standard_exporters()
    rows = _check_all(entries)
    if as_json:
        json.dump([{**r.to_dict(), "exporter": label} for label, r in rows], out, indent=2)
        out.write("\n")
    else:
        for line in survey_table(rows):
            print(line, file=out)
    if exprs and not all(report.passed for _, report in rows):
        return 1
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command; return its exit status."""
    out = sys.stdout if out is None else out
    try:
        args = build_parser().parse_args(argv)
        if args.command == "check":
            return run_check(args.exprs, args.json, out)
        if args.command == "inspect":
            return run_inspect(args.expr, args.flags, out)
        if args.command == "show":
            return run_show(args.expr, args.flags, args.svg, args.color, out)
        build_parser().print_help(out)
        return 0
    except UsageError as exc:
        print(f"bufferkit: error: {exc}", file=sys.stderr)
        return 2
