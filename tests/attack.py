"""Run an attack in a child interpreter: a crash fails one test, not the run.

``run(code)`` starts ``sys.executable -c code`` with the same ``bufferkit`` (and
this directory, for ``attack_child``) on its path. The child reports verdicts with
``attack_child.emit(name, value)``; ``run`` returns them as a dict. The test fails
(with the child's last verdicts and the tail of its stderr) when the child

- dies by a signal or exits with a non-zero status (a segfault, an abort, an
  uncaught exception),
- runs past ``timeout`` seconds (a hang),
- writes "Fatal Python error" to stderr, or -- unless ``unraisable_ok`` --
  an "Exception ignored" report (an exception CPython swallowed: in a
  ``__del__``, a weakref callback, a ``__release_buffer__`` called by CPython).

Verdicts are JSON values; a name emitted twice keeps its last value.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import bufferkit

TESTS = Path(__file__).resolve().parent
SOURCE = Path(bufferkit.__file__).resolve().parent.parent
VERDICT = "@@ "
# stderr lines that are the environment's, not the child's (the chroot's venvs carry an
# editable install of another tree).
_NOISE = ("__editable__.bufferkit",)
GC_BUG_77894 = (3, 12, 0) <= sys.version_info < (3, 12, 7)
"""CPython 3.12.0 to 3.12.6: bufferkit shields exported memoryviews from the collector."""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    parts = [str(SOURCE), str(TESTS)]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONFAULTHANDLER"] = "1"  # a crash prints the Python stack of every thread
    env.pop("PYTHONWARNINGS", None)
    return env


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def _tail(text: str, lines: int = 40) -> str:
    kept = [line for line in text.splitlines() if not any(n in line for n in _NOISE)]
    return "\n".join(kept[-lines:])


def parse_verdicts(stdout: str) -> dict[str, Any]:
    verdicts: dict[str, Any] = {}
    for line in stdout.splitlines():
        if line.startswith(VERDICT):
            name, value = json.loads(line[len(VERDICT) :])
            verdicts[name] = value
    return verdicts


HUNG = -999  # the return code _spawn gives a child it killed after its timeout


def _spawn(code: str, args: tuple[str, ...], timeout: float) -> subprocess.CompletedProcess[str]:
    source = "from attack_child import *\n" + textwrap.dedent(code)
    command = [sys.executable, "-c", source, *args]
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=child_env()
        )
    except subprocess.TimeoutExpired as error:
        out = error.stdout.decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
        err = error.stderr.decode() if isinstance(error.stderr, bytes) else (error.stderr or "")
        err += f"\nchild hung (> {timeout} s)"
        return subprocess.CompletedProcess(command, HUNG, out, err)


def _problems(proc: subprocess.CompletedProcess[str], unraisable_ok: bool) -> list[str]:
    problems = []
    if proc.returncode == HUNG:
        problems.append("hang")
    elif proc.returncode != 0:
        problems.append(_describe(proc.returncode))
    if "Fatal Python error" in proc.stderr:
        problems.append("Fatal Python error")
    if not unraisable_ok and "Exception ignored" in _without_exit_lookup_failures(proc.stderr):
        problems.append("an exception was ignored (unraisable)")
    return problems


# At interpreter exit the final collection may clear a PEP 688 class (its dict) before
# CPython releases a buffer it exported: CPython then reports that it could not even
# look ``__release_buffer__`` up. It does so for any Python exporter, the script's own
# included (docs/ownership.md); no code of bufferkit's runs in it.
_EXIT_LOOKUP_FAILURE = re.compile(
    r"Exception ignored in(?: __release_buffer__ of [\w.]+:|: <[^>]*>)\n"
    r"(?:Traceback[^\n]*\n(?:  [^\n]*\n)*)?AttributeError: __release_buffer__\n?"
)


def _without_exit_lookup_failures(stderr: str) -> str:
    return _EXIT_LOOKUP_FAILURE.sub("", stderr)


def _report(proc: subprocess.CompletedProcess[str], problems: list[str]) -> str:
    return (
        f"child failed: {', '.join(problems)}\n--- stdout (last lines)\n{_tail(proc.stdout)}"
        f"\n--- stderr (last lines)\n{_tail(proc.stderr)}"
    )


def run(
    code: str,
    *,
    timeout: float = 120.0,
    unraisable_ok: bool = False,
    args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run ``code`` (dedented; ``from attack_child import *`` is prepended) in a child."""
    proc = _spawn(code, args, timeout)
    problems = _problems(proc, unraisable_ok)
    if problems:
        pytest.fail(_report(proc, problems), pytrace=False)
    return parse_verdicts(proc.stdout)


AT_EXIT = "<exit>"


def run_each(
    code: str,
    names: list[str],
    *,
    leading: tuple[str, ...] = (),
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Run ``code`` with arguments ``leading + names``: it runs the named variants in
    order and emits one verdict per name. A variant that kills the child gets
    ``{"crash": report}`` and the child is started again for the ones after it, so
    one crash hides no other verdict. Problems after every verdict (at exit) are
    under ``AT_EXIT``."""
    results: dict[str, Any] = {}
    pending = list(names)
    while pending:
        proc = _spawn(code, (*leading, *pending), timeout)
        verdicts = parse_verdicts(proc.stdout)
        problems = _problems(proc, unraisable_ok=False)
        missing = [name for name in pending if name not in verdicts]
        results.update({name: verdicts[name] for name in pending if name in verdicts})
        if not missing:
            if problems:
                results[AT_EXIT] = {"crash": _report(proc, problems)}
            break
        if not problems and len(missing) < len(pending):
            pending = missing  # the child ended early on purpose (os._exit): go on
            continue
        results[missing[0]] = {"crash": _report(proc, problems or ["no verdict"])}
        pending = missing[1:]
    return results


def verdict_of(results: dict[str, Any], name: str) -> dict[str, Any]:
    """The verdict of ``name``; fails the test if the child crashed on it."""
    found: dict[str, Any] = results[name]
    if "crash" in found:
        pytest.fail(f"variant {name!r}: {found['crash']}", pytrace=False)
    return found


ALLOWED_ERRORS = ("ValueError", "BufferError", "TypeError")


def check_attempt(
    verdict: dict[str, Any], *, may_not_fire: bool = False, if_released: Any = None
) -> None:
    """The rules for one ``attack_child.attempt`` verdict.

    - the attack ran (its hook fired), unless ``may_not_fire`` (bufferkit may convert
      the argument without calling the hook: then the result must be the right one);
    - the operation raised one of ``ALLOWED_ERRORS`` or gave the right result (or,
      where the view was released before the access, ``if_released``);
    - no write reached memory freed meanwhile (``spray_intact``).
    """
    if not may_not_fire:
        assert verdict["fired"] >= 1, f"the attack never ran: {verdict}"
    assert verdict["spray_intact"], f"a write reached freed memory: {verdict}"
    got = verdict["outcome"]
    if got == "ok":
        released_answer = verdict["released"] and verdict["detail"] == repr(if_released)
        assert verdict["correct"] or released_answer, f"wrong result: {verdict}"
    else:
        same = verdict["correct"]  # the error the operation raises unattacked
        assert got in ALLOWED_ERRORS or same, f"unexpected exception: {verdict}"
