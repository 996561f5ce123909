"""The worked example of docs/testing.md runs as written: its C consumer is compiled,
its property fails with the output the document shows, and its fix passes.

The blocks are found by the comments before them (``<!-- consumer: NAME -->``). Each
consumer runs in a child interpreter, as in test_testing_consumers.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cconsumers.child import hunt
from cexporters.build import BuildUnavailable, compile_extension

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
BLOCK = re.compile(r"<!-- consumer: (\S+) -->\n```\w*\n(.*?)\n```", re.S)
FUNCTION = re.compile(r"static unsigned long long\nsum_items\(.*?\n}\n", re.S)


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    found = dict(BLOCK.findall(DOCUMENT.read_text()))
    assert set(found) == {"total.c", "test_total.py", "failure", "fix"}
    return found


def compiled(source: str, directory: Path) -> Path:
    """``source`` compiled as the module ``total`` in ``directory`` (skip without a compiler)."""
    directory.mkdir()
    (directory / "total.c").write_text(source)
    try:
        compile_extension(directory / "total.c", "total", directory)
    except BuildUnavailable as error:
        pytest.skip(str(error))
    return directory


def test_the_consumer_fails_as_the_document_shows(blocks: dict[str, str], tmp_path: Path) -> None:
    directory = compiled(blocks["total.c"], tmp_path / "buggy")
    (directory / "test_total.py").write_text(blocks["test_total.py"] + "\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(directory), *sys.path]))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--hypothesis-seed=0"]
    result = subprocess.run(
        [*command, "test_total.py"], cwd=directory, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1, result.stdout + result.stderr
    shown = [line for line in blocks["failure"].splitlines() if line.startswith("E ")]
    output = result.stdout.splitlines()
    for line in shown:
        if "Falsifying example" not in line:
            assert line in output, f"{line!r} not in:\n{result.stdout}"


def test_the_fix_passes(blocks: dict[str, str], tmp_path: Path) -> None:
    assert len(FUNCTION.findall(blocks["total.c"])) == 1
    fixed = FUNCTION.sub(lambda match: blocks["fix"] + "\n", blocks["total.c"])
    directory = compiled(fixed, tmp_path / "fixed")
    spec = {"source": blocks["test_total.py"], "test": "test_total", "syspath": str(directory)}
    report = hunt(spec | {"max_examples": 1000})
    assert not report["found"], report["falsifying"]
    assert report["examples"] == 1000
