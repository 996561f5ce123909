"""The ``bufferkit`` command: ``check``, ``inspect`` and ``show``.

Exit status (``EXIT_*``; ``--help`` and the README say the same):

- 0: ``check``: every exporter conforms -- without ``EXPR``, every one of
  bufferkit's own exporters in the survey does (the standard library's and
  NumPy's findings are shown, not counted: the survey is a self-test of the
  installation); ``inspect``/``show``: the request was served.
- 1: ``check``: an exporter violates a rule; ``inspect``/``show``: the exporter
  refused the request.
- 2: a usage or evaluation error: a bad option or flag, an ``EXPR`` that does not
  parse or raises (a factory too), an ``--svg`` file that cannot be written.
- 3: an ``EXPR`` is not an exporter (no buffer protocol; released or closed).
  Takes precedence over 1.
- 130: interrupted (Ctrl-C); 141: the output was closed early (``| head``):
  the command stops writing, silently, as tools killed by ``SIGPIPE`` do.

Invariants:
- ``main`` never lets a traceback reach the user for the cases above: an error
  is one line on stderr starting ``bufferkit: error:``.
- Output never fails to encode: where stdout cannot encode the symbols
  (``PYTHONIOENCODING=cp1252``), pictures and tables use ASCII ones, and any
  other character that does not encode is written as a backslash escape.
- ``--svg FILE`` is opened before anything is evaluated or drawn; a file the
  command created is removed again when it fails.
- ``EXPR`` is Python, run with ``_namespace()``'s modules imported; a value that
  is a factory (``conformance.is_factory``) is checked as a factory, as
  ``check_exporter`` does; other ``EXPR``s are evaluated afresh for every request.
- Every buffer the command acquires is released before it exits.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple, NoReturn, TextIO

from . import __version__, render
from .flags import MODIFIER_SETS, STRUCTURE_REQUESTS, BufferFlags, describe, request
from .managed import BufferInfo, acquire

if TYPE_CHECKING:
    from .conformance import Finding, Report

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_USAGE = 2
EXIT_NOT_AN_EXPORTER = 3
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_CLOSED = 141


class SurveyEntry(NamedTuple):
    """One exporter to check: a label, what to check (an exporter or a factory making a
    fresh one), and whether its verdict sets the exit status."""

    label: str
    factory: Callable[[], object]
    counts: bool = False


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
            SurveyEntry("NDArray C", lambda: nd(items, shape=[4, 6], format="i"), True),
            SurveyEntry(
                "NDArray Fortran",
                lambda: nd(items, shape=[4, 6], format="i", flags=tb.ND_FORTRAN),
                True,
            ),
            SurveyEntry(
                "NDArray strided",
                lambda: nd(items, shape=[3, 4], strides=[-16, 2], offset=32, format="h"),
                True,
            ),
            SurveyEntry(
                "NDArray indirect (PIL)",
                lambda: nd(items, shape=[4, 6], format="i", flags=tb.ND_PIL),
                True,
            ),
        ]
    mv = getattr(bufferkit, "MemoryView", None)
    if mv is not None:

        def base() -> Any:
            return mv(bytearray(range(48))).cast("B", (6, 8))

        entries += [
            SurveyEntry("MemoryView", base, True),
            SurveyEntry("MemoryView [1:5, ::3]", lambda: base()[1:5, ::3], True),
            SurveyEntry("MemoryView .T", lambda: base().T, True),
        ]
    return entries


def standard_exporters() -> list[SurveyEntry]:
    """The survey: the standard library's exporters, NumPy's and bufferkit's own
    (only bufferkit's own count for the exit status)."""
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
    """Bad command-line input or an EXPR that cannot be evaluated: exit status 2."""


class NotAnExporter(Exception):
    """An EXPR whose value exports no buffer: exit status 3."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse ignores a failed write (help to a closed pipe would exit 0): let it raise
        if message:
            (file or sys.stderr).write(message)


_EXPR_HELP = """\
EXPR is Python source, evaluated with bufferkit (bufferkit.testbuffer too), array,
ctypes, mmap, struct and numpy (as numpy and np, if installed) imported. Statements
may come first, separated by ';' or newlines; the last one must be an expression.
A value that is callable but exports no buffer itself (a class, a lambda) is a
factory: check calls it afresh for every request, as check_exporter does; any
other EXPR is evaluated afresh for every request."""

_FLAG_NAMES = ", ".join(name for name in BufferFlags.__members__ if name not in ("READ", "WRITE"))
_FLAGS_HELP = (
    "the request: a flag name, names joined by | (STRIDES|WRITABLE), or an integer "
    "(0x11c); default FULL_RO"
)
_EPILOG = f"""\
{_EXPR_HELP}

request flags: {_FLAG_NAMES}
(the C API's PyBUF_* names; a PyBUF_ prefix is allowed, case does not matter).

examples:
  bufferkit check
  bufferkit check "bytearray(8)" "array.array('d', [1.0, 2.0])"
  bufferkit check "lambda: numpy.arange(6).reshape(2, 3).T"
  bufferkit check --json "(ctypes.c_int * 3)()"
  bufferkit inspect "numpy.arange(6.0)" --flags SIMPLE
  bufferkit show "a = numpy.arange(24).reshape(4, 6); a[::2, ::-3]" --svg layout.svg
  bufferkit show "t = bufferkit.testbuffer; t.ndarray([1, 2, 3, 4], shape=[2, 2], flags=t.ND_PIL)"

exit status:
  0    check: every EXPR conforms (no EXPR: bufferkit's own exporters in the survey
       do; the others' findings are shown, not counted); inspect, show: served
  1    check: an exporter violates a rule; inspect, show: the request was refused
  2    usage or evaluation error (bad option, EXPR that fails, --svg not writable)
  3    an EXPR is not an exporter (no buffer protocol, or released or closed)
  130  interrupted; 141 the output was closed early (| head), nothing more written
"""


_ONE_REQUEST_COMMANDS = (
    (
        "inspect",
        "the fields one request returns",
        "Issue one request to EXPR and print every field of the answer, and how a "
        "consumer reads it.",
    ),
    (
        "show",
        "a picture of the layout one request returns",
        "Issue one request to EXPR and draw where each element of the answer sits, as "
        "text (and as SVG with --svg).",
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bufferkit`` command."""
    common: dict[str, Any] = {
        "epilog": _EPILOG,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
    parser = _Parser(
        prog="bufferkit",
        description="The PEP 3118 buffer system in pure Python: check exporters against "
        "the buffer protocol, inspect what one request returns, picture a layout.",
        **common,
    )
    parser.add_argument("--version", action="version", version=f"bufferkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser(
        "check",
        help="check exporters against the buffer protocol's rules",
        description="Issue the 28 requests of the C API to each EXPR and judge every "
        "answer; without EXPR, survey the standard library's, NumPy's and bufferkit's "
        "own exporters.",
        **common,
    )
    check.add_argument(
        "exprs", nargs="*", metavar="EXPR", help="an exporter or a factory (Python, see below)"
    )
    check.add_argument("--json", action="store_true", help="print the reports as JSON")
    for name, summary, description in _ONE_REQUEST_COMMANDS:
        one = commands.add_parser(name, help=summary, description=description, **common)
        one.add_argument("expr", metavar="EXPR", help="the exporter (Python, see below)")
        one.add_argument("--flags", default="FULL_RO", help=_FLAGS_HELP)
    show = commands.choices["show"]
    show.add_argument("--svg", metavar="FILE", help="also write the picture as SVG to FILE")
    show.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the elements: always, never, or auto (on a terminal, unless NO_COLOR "
        "is set; the default)",
    )
    return parser


# --- EXPR ------------------------------------------------------------------------------


def _namespace() -> dict[str, Any]:
    import array
    import ctypes
    import mmap
    import struct

    import bufferkit

    importlib.import_module("bufferkit.testbuffer")  # bufferkit.testbuffer in EXPR
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
    except (Exception, SystemExit) as exc:
        raise UsageError(f"cannot evaluate {expr!r}: {type(exc).__name__}: {exc}") from None


def parse_flags(text: str) -> int:
    """``FULL_RO``, ``PyBUF_STRIDES|WRITABLE``, ``0x11c`` or ``284`` as request flags."""
    try:
        value = int(text, 0)
    except ValueError:
        value = 0
        for part in text.split("|"):
            name = part.strip().upper().removeprefix("PYBUF_")
            if name not in BufferFlags.__members__ or name in ("READ", "WRITE"):
                raise UsageError(
                    f"unknown request flag {part.strip()!r} (known: {_FLAG_NAMES})"
                ) from None
            value |= BufferFlags[name]
    try:
        return request(value)
    except (TypeError, OverflowError) as exc:
        raise UsageError(str(exc)) from None


# --- inspect and show ------------------------------------------------------------------


def _reading_lines(info: BufferInfo, flags: int) -> list[str]:
    """How a consumer reads ``info``: the reading, its contiguity, extent and notes."""
    try:
        layout, fmt, notes = render.reading(info, flags)
    except (ValueError, TypeError) as exc:
        return [f"read as    cannot be read: {exc}"]
    subs = layout.suboffsets if layout.suboffsets is not None else "none"
    lo, hi = layout.extent()
    return [
        f"read as    format {fmt!r}  itemsize {layout.itemsize}  ndim {layout.ndim}  "
        f"shape {layout.shape}  strides {layout.strides}  suboffsets {subs}",
        f"contiguous C {layout.is_c_contiguous()}, Fortran {layout.is_f_contiguous()}, "
        f"any {layout.is_contiguous()}",
        f"extent     bytes {lo}..{hi} relative to buf"
        + (" (first level of pointers)" if layout.is_indirect else ""),
        *(f"note       {note}" for note in notes),
    ]


def describe_info(info: BufferInfo, flags: int) -> list[str]:
    """Every field of ``info``, then how a consumer reads it, one item per line."""
    obj = info.obj
    lines = [
        f"obj        {type(obj).__module__}.{type(obj).__qualname__} at 0x{id(obj):x}",
        f"buf        {'NULL' if info.buf is None else hex(info.buf)}",
    ]
    lines += [f"{name:<10} {value}" for name, value in render.answer_fields(info)]
    lines.append(f"internal   {'NULL' if info.internal is None else hex(info.internal)}")
    return lines + _reading_lines(info, flags)


class _Refused(Exception):
    """The exporter refused the request: ``error`` is what it raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"refused, {type(error).__name__}: {error}")
        self.error = error


@contextlib.contextmanager
def _request(expr: str, obj: object, flags: int) -> Iterator[BufferInfo]:
    """``acquire(obj, flags)``; ``NotAnExporter`` when ``obj`` exports nothing at all,
    ``_Refused`` when it refuses this request. The body's own exceptions pass."""
    from .conformance import not_an_exporter

    reason = not_an_exporter(obj)
    if reason is not None:
        raise NotAnExporter(f"{expr!r} is not an exporter: {reason}")
    with contextlib.ExitStack() as held:
        try:
            info = held.enter_context(acquire(obj, flags))
        except Exception as exc:
            refusal = getattr(exc, "original", exc)
            reason = not_an_exporter(obj, type(refusal).__name__)
            if reason is None:
                raise _Refused(exc) from None
            raise NotAnExporter(
                f"{expr!r} is not an exporter: {reason} ({type(refusal).__name__}: {refusal})"
            ) from None
        yield info


def run_inspect(expr: str, flags_text: str, out: TextIO) -> int:
    """``bufferkit inspect``: 0 when the request is served, 1 when it is refused."""
    flags = parse_flags(flags_text)
    obj = evaluate(expr)
    header = f"request {describe(flags)} of {expr}"
    try:
        with _request(expr, obj, flags) as info:
            lines = describe_info(info, flags)
    except _Refused as refused:
        print(f"{header}: {refused}", file=out)
        return EXIT_VIOLATION
    print(f"{header}: served", file=out)
    for line in lines:
        print("  " + line, file=out)
    return EXIT_OK


def _use_color(choice: str, out: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    return out.isatty() and not os.environ.get("NO_COLOR")


def _encodes(out: TextIO, text: str) -> bool:
    """Whether ``out`` can write ``text`` in its encoding (a stream without one can)."""
    encoding = getattr(out, "encoding", None)
    if not encoding:
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _glyphs(out: TextIO) -> render.Glyphs:
    return render.UNICODE if _encodes(out, "".join(render.UNICODE)) else render.ASCII


@contextlib.contextmanager
def _output_file(path: str | None) -> Iterator[IO[str] | None]:
    """``path`` opened for writing before any work is done (``UsageError`` if it cannot
    be), emptied only when written; removed again if the command made it and failed."""
    if path is None:
        yield None
        return
    existed = os.path.exists(path)
    try:
        file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    done = False
    try:
        yield file
        done = True
    finally:
        file.close()
        if not done and not existed:
            with contextlib.suppress(OSError):
                os.remove(path)


def run_show(expr: str, flags_text: str, svg: str | None, color: str, out: TextIO) -> int:
    """``bufferkit show``: the layout as text, and as SVG with ``--svg``."""
    flags = parse_flags(flags_text)
    with _output_file(svg) as file:
        obj = evaluate(expr)
        header = f"request {describe(flags)} of {expr}"
        try:
            with _request(expr, obj, flags) as info:
                picture = render.build_picture(info, flags, f"{expr}: request {describe(flags)}")
        except _Refused as refused:
            print(f"{header}: {refused}", file=out)
            return EXIT_VIOLATION
        out.write(render.to_text(picture, color=_use_color(color, out), glyphs=_glyphs(out)))
        if file is not None:
            file.seek(0)
            file.truncate()
            file.write(render.to_svg(picture))
            print(f"wrote {svg}", file=out)
    return EXIT_OK


# --- check -----------------------------------------------------------------------------


class _Marks(NamedTuple):
    served: str
    refused: str
    violation: str
    warning: str


_UNICODE_MARKS = _Marks("✓", "·", "✗", "!")
_ASCII_MARKS = _Marks("+", ".", "X", "!")


def _cell(report: Report, request: int, marks: _Marks) -> str:
    """One request's mark: served, refused, violation or warning."""
    severities = {f.severity for f in report.findings if f.request == request}
    if "violation" in severities:
        return marks.violation
    if "warning" in severities:
        return marks.warning
    served = any(o.served for o in report.results if o.request == request)
    return marks.served if served else marks.refused


def _grouped_findings(label: str, report: Report) -> list[str]:
    """One line per (severity, rule): the requests it hit and its first message."""
    if report.not_an_exporter is not None:
        return [f"{label}: not an exporter: {report.not_an_exporter}"]
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


def survey_table(rows: Sequence[tuple[str, Report]], marks: _Marks = _UNICODE_MARKS) -> list[str]:
    """Exporter-by-request marks, then the findings of each exporter."""
    width = max((len(label) for label, _ in rows), default=8) + 2
    top = " " * width + "".join(f"{_column(s):<11}" for s in STRUCTURE_REQUESTS)
    sub = " " * width + "".join(f"{'-WFB':<11}" for _ in STRUCTURE_REQUESTS)
    lines = [top, sub]
    for label, report in rows:
        if report.not_an_exporter is not None:
            lines.append(f"{label:<{width}}not an exporter")
            continue
        cells = (
            "".join(_cell(report, base | m, marks) for m in MODIFIER_SETS)
            for base in STRUCTURE_REQUESTS
        )
        lines.append(f"{label:<{width}}" + "".join(f"{c:<11}" for c in cells))
    lines.append("")
    lines.append(
        f"{marks.served} served  {marks.refused} refused  {marks.violation} violation  "
        f"{marks.warning} warning    columns: - none, W WRITABLE, F FORMAT, B both"
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
        try:
            rows.append((entry.label, check_exporter(entry.factory)))
        except UsageError:
            raise
        except Exception as exc:  # a factory's own exception: the EXPR fails
            raise UsageError(
                f"cannot evaluate {entry.label!r}: {type(exc).__name__}: {exc}"
            ) from None
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    return rows


def _expression_entries(exprs: Sequence[str]) -> list[SurveyEntry]:
    """What to check for each EXPR: its value if that is a factory, else the EXPR
    itself, evaluated afresh for every request."""
    from .conformance import is_factory

    entries = []
    for expr in exprs:
        value = evaluate(expr)
        factory = value if is_factory(value) else functools.partial(evaluate, expr)
        entries.append(SurveyEntry(expr, factory, True))  # type: ignore[arg-type]
    return entries


def _check_status(entries: Sequence[SurveyEntry], rows: Sequence[tuple[str, Report]]) -> int:
    counted = [report for entry, (_, report) in zip(entries, rows, strict=True) if entry.counts]
    if any(report.not_an_exporter is not None for report in counted):
        return EXIT_NOT_AN_EXPORTER
    if not all(report.passed for report in counted):
        return EXIT_VIOLATION
    return EXIT_OK


def run_check(exprs: Sequence[str], as_json: bool, out: TextIO) -> int:
    """``bufferkit check``: the given exporters, or the survey (see the exit statuses)."""
    entries = _expression_entries(exprs) if exprs else standard_exporters()
    rows = _check_all(entries)
    if as_json:
        json.dump([{**r.to_dict(), "exporter": label} for label, r in rows], out, indent=2)
        out.write("\n")
    else:
        marks = _UNICODE_MARKS if _encodes(out, "".join(_UNICODE_MARKS)) else _ASCII_MARKS
        for line in survey_table(rows, marks):
            print(line, file=out)
    return _check_status(entries, rows)


# --- main ------------------------------------------------------------------------------


def _never_fail_to_encode(*streams: object) -> None:
    """Characters a stream's encoding lacks are written as backslash escapes."""
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):
                reconfigure(errors="backslashreplace")


def _silence_closed_stdout() -> None:
    """After a reader closed stdout: point it at /dev/null, so that the interpreter's
    last flush finds nothing to complain about."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "check":
        return run_check(args.exprs, args.json, out)
    if args.command == "inspect":
        return run_inspect(args.expr, args.flags, out)
    if args.command == "show":
        return run_show(args.expr, args.flags, args.svg, args.color, out)
    build_parser().print_help(out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command; return its exit status (see the module docstring)."""
    try:
        return _main(argv, out)
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being reported
        return EXIT_INTERRUPTED


def _tell(message: str) -> None:
    """One line on stderr, unless stderr is closed too (the status still says it)."""
    with contextlib.suppress(OSError, ValueError):  # (a broken pipe; a closed file)
        print(message, file=sys.stderr, flush=True)


def _main(argv: Sequence[str] | None, out: TextIO | None) -> int:
    to_stdout = out is None
    out = sys.stdout if out is None else out
    if to_stdout:
        _never_fail_to_encode(sys.stdout, sys.stderr)
    try:
        try:
            return _run(build_parser().parse_args(argv), out)
        finally:
            out.flush()
    except UsageError as exc:
        _tell(f"bufferkit: error: {exc}")
        return EXIT_USAGE
    except NotAnExporter as exc:
        _tell(f"bufferkit: error: {exc}")
        return EXIT_NOT_AN_EXPORTER
    except BrokenPipeError:
        if to_stdout:
            _silence_closed_stdout()
        return EXIT_OUTPUT_CLOSED
    except KeyboardInterrupt:
        _tell("bufferkit: interrupted")
        return EXIT_INTERRUPTED
