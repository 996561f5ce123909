"""bufferkit.testing against C consumers (tests/cconsumers): with Hypothesis's default
settings, the properties find each classic consumer bug and shrink it to a minimal
layout their failure shows; the correct consumer passes thousands of examples.

Every consumer runs in a child interpreter (``cconsumers/hunt.py``): a bug may read
or write out of bounds, and a crash there must not take the test run down.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from cconsumers.child import hunt
from cexporters.build import BuildUnavailable, compile_extension

HERE = Path(__file__).resolve().parent
MODULE = "bkconsumers"
DEFAULT_EXAMPLES = 100  # Hypothesis's max_examples, which the hunts for bugs keep
MANY_EXAMPLES = 2000
READ_BY_THE_CONSUMERS = set("bBhHiIlLqQnNfd?")  # one of these codes, any byte order


@pytest.fixture(scope="session")
def consumers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled consumers (skip where they cannot be built)."""
    directory: Path = tmp_path_factory.mktemp("cconsumers")
    try:
        return compile_extension(HERE / "cconsumers" / "consumers.c", MODULE, directory)
    except BuildUnavailable as error:
        pytest.skip(str(error))


def consumer_hunt(path: Path, prop: str, bug: str, max_examples: int | None) -> dict[str, Any]:
    spec = {"path": str(path), "module": MODULE, "property": prop, "bug": bug}
    return hunt(spec | {"max_examples": max_examples})


def elements(final: dict[str, Any]) -> int:
    return math.prod(final["shape"])


def read(fmt: str) -> bool:
    """True if the consumers read items of ``fmt`` (else they raise NotImplementedError)."""
    return fmt.lstrip("@=<>!") in READ_BY_THE_CONSUMERS and not (
        fmt[0] in "=<>!" and fmt[-1] in "nN"
    )


# bug -> (property, what the minimal array must look like, words of the failure)
BUGS: dict[str, tuple[str, Any, str]] = {
    "ignores_strides": (
        "tolist",
        lambda a: a["format"] == "B" and not a["suboffsets"] and 2 <= elements(a) <= 4,
        "expected",
    ),
    "ignores_suboffsets": (
        "tolist",
        lambda a: a["format"] == "B" and a["suboffsets"] and elements(a) == 1,
        "expected",
    ),
    "native_order": (
        "tolist",
        lambda a: a["format"][0] in ">!" and elements(a) == 1,
        "expected [1",
    ),
    "negative_strides": (
        "tolist",
        lambda a: (a["format"], a["shape"], a["strides"]) == ("B", [2], [-1]),
        "read [1, 0], expected [0, 1]",
    ),
    "leaks_on_error": (
        "tolist",
        lambda a: not read(a["format"]) and elements(a) <= 1,
        "export #1 FULL_RO not released",
    ),
    "writes_readonly": (
        "fill",
        lambda a: a["readonly"] and a["format"] == "B" and elements(a) == 1,
        "a consumer wrote into read-only memory",
    ),
}


@pytest.mark.parametrize("bug", BUGS)
def test_each_classic_bug_is_found_and_shrunk_to_a_minimal_layout(
    consumers: Path, bug: str
) -> None:
    prop, minimal, words = BUGS[bug]
    report = consumer_hunt(consumers, prop, bug, max_examples=None)
    assert report["found"], f"{bug} not found in {report['examples']} examples"
    assert report["examples"] <= DEFAULT_EXAMPLES
    assert minimal(report["final"]), report["final"]
    assert words in report["error"]
    assert "array=NDArray(" in report["falsifying"]  # the failure shows the layout


@pytest.mark.parametrize("prop", ["tolist", "fill"])
def test_the_correct_consumer_passes_thousands_of_examples(consumers: Path, prop: str) -> None:
    report = consumer_hunt(consumers, prop, "", max_examples=MANY_EXAMPLES)
    assert not report["found"], f"{report['falsifying']}\n{report['error']}"
    assert report["examples"] == MANY_EXAMPLES
