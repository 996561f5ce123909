"""The bufferkit command: check, inspect, show; one-line usage errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bufferkit import BufferFlags, __version__, cli


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
    proc = subprocess.run(
        [sys.executable, "-m", "bufferkit", "inspect", "nope("],
        capture_output=True,
        text=True,
        check=False,
    )
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
