"""CPython's own ``test.test_buffer``, with ``_testbuffer`` replaced by ``bufferkit.testbuffer``.

It runs in a child interpreter of the version under test. Every failure must be the
one PEP 688 limit docs/testbuffer.md documents ("``obj`` of a consumer"): a
consumer's ``obj`` is CPython's ``_buffer_wrapper`` around the NDArray, which
``test_buffer`` compares by identity with the NDArray itself.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

CHILD = """
import io, json, sys, unittest
import bufferkit.testbuffer
sys.modules["_testbuffer"] = bufferkit.testbuffer
from test import test_buffer
suite = unittest.defaultTestLoader.loadTestsFromModule(test_buffer)
result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
failed = [(case.id(), text.strip().splitlines()[-1]) for case, text in result.failures]
errors = [(case.id(), text.strip().splitlines()[-1]) for case, text in result.errors]
print(json.dumps({"run": result.testsRun, "failed": failed, "errors": errors,
                  "skipped": [case.id() for case, _ in result.skipped]}))
"""

WRAPPER_LIMIT = "_buffer_wrapper object at"  # docs/testbuffer.md: "obj of a consumer"


def test_cpython_test_buffer_fails_only_where_pep_688_cannot_follow() -> None:
    if importlib.util.find_spec("test.test_buffer") is None:
        pytest.skip("CPython's test package is not installed (Debian: libpython3.X-testsuite)")
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["run"] > 80 and not report["errors"] and not report["skipped"], report
    others = [(name, why) for name, why in report["failed"] if WRAPPER_LIMIT not in why]
    assert not others, others
