"""The bufferkit command: check, inspect, show; one-line usage errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bufferkit import BufferFlags, __version__, cli
from bufferkit.cli import SurveyEntry

from children import python, python_text, without_site_noise


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = cli.main(list(argv), out=out)
    return status, out.getvalue()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bufferkit {__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["inspect"],
        ["inspect", "b'x'", "--flags", "NOT_A_FLAG"],
        ["inspect", "1 +"],
        ["inspect", "undefined_name"],
        ["show", "import os"],
        ["check", "1/0"],
        ["show", "b'x'", "--color", "sometimes"],
    ],
)
def test_bad_input_is_one_line_and_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(*argv)
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("bufferkit: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err + out


def test_module_entry_point_has_no_traceback_for_bad_expression() -> None:
    proc = bufferkit("inspect", "nope(")
    assert proc.returncode == 2
    assert proc.stderr.startswith("bufferkit: error: invalid expression")
    assert "Traceback" not in proc.stderr


def test_inspect_reports_every_field() -> None:
    status, out = run("inspect", "array.array('h', range(5))")
    assert status == 0
    assert "served" in out.splitlines()[0]
    fields = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()[1:]}
    assert fields["len"] == "10"
    assert fields["itemsize"] == "2"
    assert fields["format"] == "'h'"
    assert fields["shape"] == "(5,)"
    assert fields["strides"] == "(2,)"
    assert fields["suboffsets"] == "NULL"
    assert fields["readonly"] == "False"
    assert fields["obj"].startswith("array.array at 0x")
    assert fields["extent"] == "bytes 0..10 relative to buf"


def test_inspect_simple_request_leaves_fields_null() -> None:
    status, out = run("inspect", "b'abc'", "--flags", "simple")
    assert status == 0
    assert "format     NULL" in out
    assert "shape      NULL" in out
    assert "strides    NULL" in out


def test_inspect_refused_request() -> None:
    status, out = run("inspect", "b'abc'", "--flags", "PyBUF_WRITABLE")
    assert status == 1
    assert "refused, BufferError" in out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("FULL_RO", BufferFlags.FULL_RO),
        ("strides|writable", BufferFlags.STRIDES | BufferFlags.WRITABLE),
        ("0x1c", 0x1C),
        ("8", 8),
    ],
)
def test_parse_flags(text: str, value: int) -> None:
    assert cli.parse_flags(text) == value


def test_evaluate_runs_statements_before_the_last_expression() -> None:
    value = cli.evaluate("a = array.array('i', [1, 2]); a.append(3); a")
    assert list(value) == [1, 2, 3]  # type: ignore[call-overload]


def test_show_text_and_svg(tmp_path: Path) -> None:
    svg = tmp_path / "layout.svg"
    status, out = run("show", "memoryview(bytes(range(12))).cast('i', (3,))", "--svg", str(svg))
    assert status == 0
    assert "shape (3,)" in out
    assert "│0" in out and "│2" in out
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    element_rects = [r for r in rects if r.get("rx") == "3"]
    assert len(element_rects) == 3
    assert {float(r.get("width", 0)) for r in element_rects} == {
        4 * float(element_rects[0].get("width", 0)) / 4
    }


def test_show_colour_only_when_asked() -> None:
    _, plain = run("show", "b'abcd'", "--color", "never")
    _, colored = run("show", "b'abcd'", "--color", "always")
    assert "\x1b[" not in plain
    assert "\x1b[" in colored


def test_check_expression_that_passes() -> None:
    status, out = run("check", "bytearray(8)")
    assert status == 0
    assert "bytearray(8)" in out


def test_check_json() -> None:
    status, out = run("check", "b'x'", "--json")
    assert status == 0
    reports = json.loads(out)
    assert reports[0]["exporter"] == "b'x'"


def test_survey_lists_standard_exporters_and_exits_0() -> None:
    status, out = run("check")
    assert status == 0
    for label in ("bytes", "bytearray", "array('d')", "mmap (anonymous)", "ctypes Structure"):
        assert any(line.startswith(label + " ") for line in out.splitlines()), label


def test_check_expression_with_violations_exits_1() -> None:
    status, out = run("check", "b'ok'", "(ctypes.c_int * 3)()")
    assert status == 1
    assert "(ctypes.c_int * 3)(): violation strides-missing in FULL_RO" in out
    assert not any(line.startswith("b'ok': ") for line in out.splitlines())


# --- the command in a child interpreter: what a user sees ------------------------------


def bufferkit(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bufferkit ARGV`` in a child interpreter (stdout and stderr captured)."""
    return python_text(["-m", "bufferkit", *argv], env=env)


def _assert_one_line_error(child: subprocess.CompletedProcess[str], status: int) -> None:
    assert child.returncode == status, child.stderr
    assert child.stderr.startswith("bufferkit: error: ")
    assert child.stderr.count("\n") == 1
    assert "Traceback" not in child.stdout + child.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "bytes(100000)"],
        ["check", "--json", "bytearray(8)", "b'x'"],
        ["check"],
        ["inspect", "b'x'"],
        ["--help"],
    ],
)
def test_a_closed_pipe_ends_the_command_quietly(argv: list[str]) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "bufferkit", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()  # the reader is gone before the first write: EPIPE guaranteed
        stderr = without_site_noise(child.stderr.read())
        status = child.wait(timeout=120)
    assert (status, stderr) == (cli.EXIT_OUTPUT_CLOSED, b"")


_INTERRUPTING = "(_ for _ in ()).throw(KeyboardInterrupt)"


def test_an_interrupt_is_one_line_and_status_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", _INTERRUPTING]) == cli.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "bufferkit: interrupted\n"


@pytest.mark.parametrize("expr", [_INTERRUPTING, "1/0", "42"])
def test_a_closed_stderr_still_gives_the_status(expr: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stderr", Closed())
    statuses = {_INTERRUPTING: cli.EXIT_INTERRUPTED, "1/0": cli.EXIT_USAGE}
    expected = statuses.get(expr, cli.EXIT_NOT_AN_EXPORTER)
    assert cli.main(["inspect", expr], out=io.StringIO()) == expected


def test_a_second_interrupt_while_reporting_the_first_shows_no_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Interrupting(io.StringIO):
        def write(self, text: str) -> int:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stderr", Interrupting())
    assert cli.main(["inspect", _INTERRUPTING], out=io.StringIO()) == cli.EXIT_INTERRUPTED


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "(ctypes.c_int * 3)()"],
        ["show", "bufferkit.MemoryView(bytearray(range(24))).cast('B', (4, 6))[::-1, 1::2]"],
        ["show", "bytes('✓ │ é', 'utf-8')"],
        ["inspect", "'✓'.encode()"],
    ],
)
def test_output_that_cannot_encode_the_symbols_falls_back_to_ascii(argv: list[str]) -> None:
    child = python(["-m", "bufferkit", *argv], env={"PYTHONIOENCODING": "cp1252"})
    assert child.returncode in (0, 1), child.stderr
    assert child.stderr == b""
    text = child.stdout.decode("cp1252")
    assert not any(symbol in text for symbol in "✓✗│…")
    if argv[0] != "inspect":
        assert "|" in text or "+" in text  # the ASCII glyphs
    if any("✓" in arg for arg in argv):
        assert "\\u2713" in text  # what cp1252 lacks is escaped


def test_the_survey_uses_ascii_marks_where_unicode_does_not_encode() -> None:
    child = bufferkit("check", "b'x'", "(ctypes.c_int * 3)()", env={"PYTHONIOENCODING": "ascii"})
    assert child.returncode == cli.EXIT_VIOLATION
    marks = child.stdout.splitlines()[-4:]
    assert "+ served  . refused  X violation  ! warning" in "\n".join(child.stdout.splitlines())
    assert all(line.isascii() for line in marks)


def test_help_lists_flag_names_examples_and_says_expr_is_python() -> None:
    for argv in (["--help"], ["check", "--help"], ["inspect", "--help"], ["show", "--help"]):
        child = bufferkit(*argv)
        assert child.returncode == 0
        text = " ".join(child.stdout.split())
        assert "EXPR is Python source, evaluated with" in text
        assert all(
            name in text for name in BufferFlags.__members__ if name not in ("READ", "WRITE")
        )
        assert 'bufferkit check "lambda: numpy.arange(6).reshape(2, 3).T"' in text  # a factory
        assert "a = numpy.arange(24).reshape(4, 6); a[::2, ::-3]" in text  # statements
        assert "bufferkit.testbuffer" in text
        for status in (cli.EXIT_OK, cli.EXIT_VIOLATION, cli.EXIT_USAGE, cli.EXIT_NOT_AN_EXPORTER):
            assert f" {status} " in text.split("exit status:")[1]
    show = " ".join(bufferkit("show", "--help").stdout.split())
    assert "EXPR the exporter (Python, see below)" in show
    assert "--color {auto,always,never} colour the elements" in show
    assert "--flags FLAGS the request: a flag name" in show


def test_the_exit_statuses_in_help_are_the_ones_the_command_returns() -> None:
    epilog = cli._EPILOG.split("exit status:")[1]
    documented = {
        int(line.split()[0]) for line in epilog.splitlines() if line[:5].strip().isdigit()
    }
    constants = {value for name, value in vars(cli).items() if name.startswith("EXIT_")}
    assert documented | {cli.EXIT_OUTPUT_CLOSED} == constants


@pytest.mark.parametrize("command", ["inspect", "show", "check"])
@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("42", "int does not support the buffer protocol"),
        ("None", "NoneType does not support the buffer protocol"),
        ("m = memoryview(b'ab'); m.release(); m", "this memoryview is released or closed"),
        ("lambda: 42", "int does not support the buffer protocol"),
    ],
)
def test_a_non_exporter_is_said_to_be_one(command: str, expr: str, reason: str) -> None:
    child = bufferkit(command, expr)
    assert child.returncode == cli.EXIT_NOT_AN_EXPORTER, child.stdout + child.stderr
    assert "Traceback" not in child.stdout + child.stderr
    if command == "check":
        assert f"{expr}: not an exporter: {reason}" in child.stdout
        assert f"{expr}: violation" not in child.stdout
    elif expr.startswith("lambda"):
        assert "is not an exporter: function does not support the buffer protocol" in child.stderr
    else:
        _assert_one_line_error(child, cli.EXIT_NOT_AN_EXPORTER)
        assert f"is not an exporter: {reason}" in child.stderr


def test_a_non_exporter_outranks_a_violation() -> None:
    child = bufferkit("check", "(ctypes.c_int * 3)()", "42")
    assert child.returncode == cli.EXIT_NOT_AN_EXPORTER


def test_a_release_that_raises_is_a_finding_without_noise() -> None:
    expr = (
        "class Leaky:\n"
        "    def __buffer__(self, flags): return memoryview(b'ab')\n"
        "    def __release_buffer__(self, view): raise RuntimeError('no')\n"
        "Leaky()"
    )
    child = bufferkit("check", expr)
    assert child.returncode == cli.EXIT_VIOLATION
    assert child.stderr == ""
    assert "violation release-raised in FULL_RO" in child.stdout


@pytest.mark.parametrize(
    "expr", ["lambda: numpy.zeros(3)", "bytearray", "lambda: bytearray(4)", "numpy.ones"]
)
def test_an_expr_that_is_a_factory_is_checked_as_one(expr: str) -> None:
    status, out = run("check", "--json", expr)
    if expr == "numpy.ones":  # a factory that needs an argument: the EXPR fails
        assert status == cli.EXIT_USAGE
        return
    (report,) = json.loads(out)
    assert status == cli.EXIT_OK, report
    assert report["passed"] and report["not_an_exporter"] is None
    assert all(outcome["served"] for outcome in report["results"] if not outcome["flags"] & 1)


def test_a_factory_that_raises_is_an_evaluation_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run("check", "lambda: 1 / 0")
    err = capsys.readouterr().err
    assert status == cli.EXIT_USAGE
    assert err == (
        "bufferkit: error: cannot evaluate 'lambda: 1 / 0': ZeroDivisionError: division by zero\n"
    )


def test_bufferkit_testbuffer_is_reachable_from_an_expr() -> None:
    status, out = run("inspect", "bufferkit.testbuffer.ndarray([1, 2, 3], shape=[3], format='h')")
    assert status == cli.EXIT_OK
    assert "shape      (3,)" in out


def _marker(tmp_path: Path) -> tuple[Path, str]:
    marker = tmp_path / "evaluated"
    return marker, f"open({str(marker)!r}, 'w').close(); bytes(4)"


def test_an_unwritable_svg_fails_before_anything_is_evaluated(tmp_path: Path) -> None:
    marker, expr = _marker(tmp_path)
    child = bufferkit("show", expr, "--svg", str(tmp_path / "missing" / "layout.svg"))
    _assert_one_line_error(child, cli.EXIT_USAGE)
    assert "cannot write" in child.stderr and "No such file or directory" in child.stderr
    assert child.stdout == "" and not marker.exists()
    child = bufferkit("show", expr, "--svg", str(tmp_path))  # a directory
    _assert_one_line_error(child, cli.EXIT_USAGE)
    assert not marker.exists()


def test_a_failed_show_leaves_no_svg_and_keeps_an_old_one(tmp_path: Path) -> None:
    new, old = tmp_path / "new.svg", tmp_path / "old.svg"
    old.write_text("old picture")
    for svg in (new, old):
        child = bufferkit("show", "1 / 0", "--svg", str(svg))
        _assert_one_line_error(child, cli.EXIT_USAGE)
    assert not new.exists() and old.read_text() == "old picture"
    assert bufferkit("show", "bytes(4)", "--svg", str(old)).returncode == cli.EXIT_OK
    assert ET.parse(old).getroot().tag.endswith("svg")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("1.0", "unknown request flag '1.0'"),
        ("0x100000000", "request flags 4294967296 do not fit in a C int"),
        ("-2147483649", "request flags -2147483649 do not fit in a C int"),
        ("READ", "unknown request flag 'READ'"),
    ],
)
def test_flags_are_validated_as_the_builtin_validates_them(
    flags: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run("inspect", "b'x'", "--flags", flags)
    assert status == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_messages_name_requests_by_their_names() -> None:
    status, out = run("inspect", "b'x'", "--flags", "C_CONTIGUOUS|WRITABLE")
    assert status == cli.EXIT_VIOLATION
    assert out.startswith("request C_CONTIGUOUS|WRITABLE of b'x': refused, BufferError")
    _, out = run("show", "numpy.zeros(3)", "--flags", "0xd")
    assert out.startswith("numpy.zeros(3): request ND|WRITABLE|FORMAT")
    _, out = run("check", "(ctypes.c_int * 3)()")
    assert "BufferFlags" not in out


def _survey_with(monkeypatch: pytest.MonkeyPatch, entry: SurveyEntry) -> int:
    monkeypatch.setattr(cli, "standard_exporters", lambda: [SurveyEntry("bytes", bytes), entry])
    return run("check")[0]


@pytest.mark.parametrize(
    ("make", "counts", "status"),
    [
        (lambda: ctypes_int3(), False, cli.EXIT_OK),
        (lambda: ctypes_int3(), True, cli.EXIT_VIOLATION),
        (lambda: 42, True, cli.EXIT_NOT_AN_EXPORTER),
        (lambda: 42, False, cli.EXIT_OK),
    ],
)
def test_the_survey_status_counts_only_bufferkits_own_exporters(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[], Any], counts: bool, status: int
) -> None:
    assert _survey_with(monkeypatch, SurveyEntry("other", make, counts)) == status


def ctypes_int3() -> Any:
    import ctypes

    return (ctypes.c_int * 3)()


def test_the_survey_counts_bufferkits_own_exporters_and_they_pass() -> None:
    entries = cli.standard_exporters()
    own = {entry.label for entry in entries if entry.counts}
    assert own and all(label.startswith(("NDArray", "MemoryView")) for label in own)
    status, out = run("check")
    assert status == cli.EXIT_OK
    assert any(line.startswith("ctypes c_int * 6 ") and "✗" in line for line in out.splitlines())


def test_the_readme_shows_what_show_prints() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("```text\n$ bufferkit show ", 1)[1].split("```", 1)[0]
    command, *shown = block.splitlines()
    expr = command.strip().removeprefix('"').removesuffix('"')
    status, out = run("show", expr, "--color", "never")
    assert status == cli.EXIT_OK

    def address_free(lines: list[str]) -> list[str]:
        return [re.sub(r"0x[0-9a-f]+", "0x…", line) for line in lines]

    assert address_free(out.splitlines()) == address_free(shown)


def test_a_failure_while_drawing_is_not_reported_as_a_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the drawing")

    monkeypatch.setattr(cli.render, "build_picture", broken)
    with pytest.raises(RuntimeError, match="a bug in the drawing"):
        run("show", "bytearray(4)")
