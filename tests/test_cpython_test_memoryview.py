"""CPython's own ``test.test_memoryview``, with ``memoryview`` replaced by ``MemoryView``.

It runs in a child interpreter of the version under test: every test written for the
builtin must pass with bufferkit's view in its place (its 1-D and 0-D behaviour, its
errors, its re-entrancy guards). The tests the module itself skips are listed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

CHILD = """
import io, json, sys, unittest
from bufferkit import MemoryView
from test import test_memoryview
test_memoryview.memoryview = MemoryView
suite = unittest.defaultTestLoader.loadTestsFromModule(test_memoryview)
result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
failed = [(case.id(), text.strip().splitlines()[-1]) for case, text in result.failures]
errors = [(case.id(), text.strip().splitlines()[-1]) for case, text in result.errors]
print(json.dumps({"run": result.testsRun, "failed": failed, "errors": errors,
                  "skipped": sorted({why for _, why in result.skipped})}))
"""

# what test_memoryview skips for the builtin too (its own decorators' words)
ITS_OWN_SKIPS = {
    "XXX NotImplementedError: tolist() only supports byte views",
    "XXX test should be adapted for non-byte buffers",
    "no read-only type to test",
}


def test_cpython_test_memoryview_passes_with_memoryview_replaced() -> None:
    if importlib.util.find_spec("test.test_memoryview") is None:
        pytest.skip("CPython's test package is not installed (Debian: libpython3.X-testsuite)")
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["run"] > 100, report
    assert not report["failed"] and not report["errors"], report
    assert set(report["skipped"]) <= ITS_OWN_SKIPS, report
