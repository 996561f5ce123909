"""Child interpreters, for tests whose subject may crash the interpreter or must be seen
from outside it (exit status, stdout, stderr).

``stderr`` is what the child wrote, less the one line CPython 3.15's ``site`` prints at
startup for a ``.pth`` entry naming a missing directory: a property of the environment
(a development venv whose editable install points elsewhere), not of the code under test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

_SITE_NOISE = re.compile(
    rb"^In [^\n]*\.pth: [^\n]* does not exist; skipping sys\.path append\n", re.M
)


def without_site_noise(stderr: bytes) -> bytes:
    """``stderr`` without the startup line of a stale ``.pth`` entry."""
    return _SITE_NOISE.sub(b"", stderr)


def python(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """``python ARGS`` in a child interpreter, stdout and stderr captured as bytes."""
    child = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    child.stderr = without_site_noise(child.stderr)
    return child


def python_text(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python`` with stdout and stderr decoded as UTF-8 (strictly)."""
    child = python(args, env=env, timeout=timeout)
    return subprocess.CompletedProcess(
        child.args, child.returncode, child.stdout.decode("utf-8"), child.stderr.decode("utf-8")
    )


_SUITE_RUNNER = """
import io, json, unittest
{setup}
suite = unittest.defaultTestLoader.loadTestsFromModule(module)
result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
def last_lines(pairs):
    return [(case.id(), text.strip().splitlines()[-1]) for case, text in pairs]
print(json.dumps({{"run": result.testsRun, "failed": last_lines(result.failures),
                  "errors": last_lines(result.errors),
                  "skipped": [[case.id(), why] for case, why in result.skipped]}}))
"""


def cpython_suite(module: str, setup: str) -> dict[str, Any]:
    """Run CPython's ``test.<module>`` in a child interpreter after ``setup`` (code that
    binds ``module`` and replaces what is under test); what ran, failed and skipped.
    Skips the calling test where Debian's libpython3.X-testsuite is not installed."""
    if importlib.util.find_spec(f"test.{module}") is None:
        pytest.skip("CPython's test package is not installed (Debian: libpython3.X-testsuite)")
    done = python_text(["-c", _SUITE_RUNNER.format(setup=setup)], timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report
