"""Test-suite settings: Hypothesis runs derandomized unless asked otherwise.

The submission gate must not depend on luck: by default every property test
draws the same examples on every run (``derandomize``). Set
``BUFFERKIT_HYPOTHESIS_RANDOM=1`` to explore new examples (with a fresh seed
each run), as a development habit; ``BUFFERKIT_EXAMPLES_SCALE`` (tests/layouts.py)
makes the layout-matrix runs longer.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("gate", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile("explore" if os.environ.get("BUFFERKIT_HYPOTHESIS_RANDOM") else "gate")


# --- skips --------------------------------------------------------------------------------
#
# A test may skip only for a reason listed here (matched as a substring of the skip
# message). BUFFERKIT_STRICT_SKIPS=1 (set by CI) fails the run on any other skip, so a test
# cannot vanish silently because an oracle, a compiler or a dependency went missing.
ALLOWED_SKIPS = {
    # The expected bytes are written out for little-endian machines only.
    "byte strings written little-endian": "big-endian machines",
}


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


_unlisted_skips: list[str] = []


def _note_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not any(allowed in reason for allowed in ALLOWED_SKIPS):
            _unlisted_skips.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unlisted_skips and os.environ.get("BUFFERKIT_STRICT_SKIPS"):
        lines = "\n  ".join(_unlisted_skips)
        print(f"\nBUFFERKIT_STRICT_SKIPS: skips not on tests/conftest.py's allow-list:\n  {lines}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
