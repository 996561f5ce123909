"""Run ``hunt.py`` in a child interpreter (see its docstring for the spec and the report)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HUNT = Path(__file__).resolve().with_name("hunt.py")


def hunt(spec: dict[str, Any]) -> dict[str, Any]:
    """The report of one hunt; AssertionError if the child crashed."""
    command = [sys.executable, str(HUNT), json.dumps(spec)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"the hunt crashed ({result.returncode}):\n{result.stderr}"
    report: dict[str, Any] = json.loads(result.stdout)
    return report
