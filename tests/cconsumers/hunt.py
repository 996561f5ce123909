"""One hunt, in a child interpreter: a property of ``properties.py`` against one compiled
consumer. A consumer with a bug may read or write out of bounds; here a crash takes down
only this child, never the test run.

``python hunt.py SPEC``, SPEC a JSON object: ``path`` and ``module`` (the compiled
extension), ``property`` (a key of ``properties.PROPERTIES``) and ``bug`` (passed to each
call); or ``source`` (Python text), ``test`` (the name of a test it defines) and
``syspath`` (where it imports the consumer from); ``max_examples`` (null: Hypothesis's
default); ``seed`` (optional: run randomly from that seed). Otherwise Hypothesis runs
derandomized unless ``BUFFERKIT_HYPOTHESIS_RANDOM`` is set, as in the test suite. Prints one JSON
object: ``found``, ``examples`` (test cases run up to the first failure, or all of them),
``falsifying`` (Hypothesis's note naming the minimal example), ``error`` (its exception)
and ``final`` (the minimal array's layout).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

from hypothesis import seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cconsumers.properties import PROPERTIES
from cexporters.build import load


def layout(array: Any) -> dict[str, Any]:
    """The fields of ``array`` a report shows."""
    names = ("format", "shape", "strides", "suboffsets", "offset", "readonly")
    return {name: getattr(array, name) for name in names} | {"items": array.tolist()}


def the_test(spec: dict[str, Any]) -> Any:
    """The test ``spec`` names: a property of ``properties.py`` applied to a consumer, or
    the function ``test`` of the Python ``source`` (importing from ``syspath``)."""
    if "source" in spec:
        sys.path.insert(0, spec["syspath"])
        namespace: dict[str, Any] = {}
        exec(compile(spec["source"], "<test source>", "exec"), namespace)
        return namespace[spec["test"]]
    module = load(Path(spec["path"]), spec["module"])
    return PROPERTIES[spec["property"]](module, spec["bug"])


def main(spec: dict[str, Any]) -> dict[str, Any]:
    test = the_test(spec)
    chosen: dict[str, Any] = {"database": None, "deadline": None}
    random = spec.get("seed") is not None or os.environ.get("BUFFERKIT_HYPOTHESIS_RANDOM")
    chosen["derandomize"] = not random
    if spec.get("max_examples"):
        chosen["max_examples"] = spec["max_examples"]
    test = settings(**chosen)(test)
    if spec.get("seed") is not None:
        test = seed(spec["seed"])(test)
    state: dict[str, Any] = {"calls": 0, "first": None, "final": None}
    inner = test.hypothesis.inner_test

    @functools.wraps(inner)
    def counted(**kwargs: Any) -> None:
        state["calls"] += 1
        try:
            inner(**kwargs)
        except BaseException:
            state["first"] = state["first"] or state["calls"]
            state["final"] = layout(kwargs["array"])
            raise

    test.hypothesis.inner_test = counted
    report = {"found": False, "falsifying": "", "error": "", "final": None}
    try:
        test()
    except Exception as error:  # the failure Hypothesis found, after shrinking
        notes = getattr(error, "__notes__", [])
        report |= {"found": True, "falsifying": "\n".join(notes), "final": state["final"]}
        report["error"] = f"{type(error).__name__}: {error}"
    report["examples"] = state["first"] or state["calls"]
    return report


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1])), default=repr))
