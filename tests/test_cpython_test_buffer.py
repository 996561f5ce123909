"""CPython's own ``test.test_buffer``, with ``_testbuffer`` replaced by ``bufferkit.testbuffer``.

It runs in a child interpreter of the version under test. Every failure must be the
one PEP 688 limit docs/testbuffer.md documents ("``obj`` of a consumer"): a
consumer's ``obj`` is CPython's ``_buffer_wrapper`` around the NDArray, which
``test_buffer`` compares by identity with the NDArray itself.
"""

from __future__ import annotations

from children import cpython_suite

SETUP = """
import sys
import bufferkit.testbuffer
sys.modules["_testbuffer"] = bufferkit.testbuffer
from test import test_buffer as module
"""

WRAPPER_LIMIT = "_buffer_wrapper object at"  # docs/testbuffer.md: "obj of a consumer"


def test_cpython_test_buffer_fails_only_where_pep_688_cannot_follow() -> None:
    report = cpython_suite("test_buffer", SETUP)
    assert report["run"] > 80 and not report["errors"] and not report["skipped"], report
    failed: list[tuple[str, str]] = report["failed"]
    others = [(name, why) for name, why in failed if WRAPPER_LIMIT not in why]
    assert not others, others
