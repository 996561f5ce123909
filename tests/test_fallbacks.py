"""The documented-API fallbacks: the core of the suite with every private layout refused.

``BUFFERKIT_NO_PRIVATE_LAYOUTS`` makes ``_capi`` refuse every private CPython
layout, as it would on an interpreter whose layouts no probe recognises: the
address of a memoryview's memory comes from a short getbuffer, the owner of a
computed layout is a PEP 688 exporter, and the builtin's own contiguity flags
stand. The core modules run in a child interpreter in that mode; tests marked
``private_layouts`` (the probes themselves, and ``_testbuffer``'s grants where
the builtin's own flags refuse) are the only ones left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CORE = [
    "test_capi.py",
    "test_managed.py",
    "test_engine.py",
    "test_view_ownership.py",
    "test_view_builtin.py",
    "test_view_errors.py",
    "test_view_formats.py",
    "test_ndarray.py",
    "test_testbuffer.py",
]


def test_the_core_of_the_suite_passes_on_the_fallbacks() -> None:
    tests = Path(__file__).parent
    env = {**os.environ, "BUFFERKIT_NO_PRIVATE_LAYOUTS": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-m", "not private_layouts", *(str(tests / name) for name in CORE)]
    result = subprocess.run(
        command, cwd=tests.parent, env=env, capture_output=True, text=True, timeout=900
    )
    summary = result.stdout.strip().splitlines()[-1:] or [result.stderr[-2000:]]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary[0] and "failed" not in summary[0], summary
