"""The pytest plugin of ``bufferkit.testing`` (entry point ``pytest11``, name ``bufferkit``).

- Fixture ``track_buffers``: ``bufferkit.testing.track``. At teardown it fails the
  test if any tracker made during it (by the fixture or by ``track`` itself, in any
  Hypothesis example) still holds an export its consumer did not release.
- Marker ``@pytest.mark.buffers(max_examples=N)``: a buffer property test. A
  Hypothesis test so marked runs at least N examples (default: the option below,
  else ``DEFAULT_EXAMPLES``), and its trackers are checked at teardown as above.
- Option ``--buffers-examples=N``: the example count of marked tests.

Invariants:
- pytest loads this module in every session where bufferkit is installed: it imports
  neither Hypothesis nor ``bufferkit.testing`` before a test asks for them.
- Settings are only raised, never lowered: a test that asks for more examples
  (``@settings``) keeps them; everything else it set stays.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from bufferkit.testing import _Registry

DEFAULT_EXAMPLES: Final = 1000
_MARKER: Final = "buffers"
_FIXTURE: Final = "track_buffers"
_START: Final = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("bufferkit").addoption(
        "--buffers-examples",
        type=int,
        default=None,
        metavar="N",
        help=f"Hypothesis examples for tests marked '{_MARKER}' (default {DEFAULT_EXAMPLES})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(max_examples=None): a buffer property test: at least max_examples "
        "Hypothesis examples (--buffers-examples), and no tracked export left unreleased",
    )


def _examples(item: pytest.Item, marker: pytest.Mark) -> int:
    wanted = marker.kwargs.get("max_examples")
    if wanted is None:
        wanted = item.config.getoption("buffers_examples") or DEFAULT_EXAMPLES
    if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1:
        raise pytest.UsageError(f"{item.nodeid}: max_examples must be a positive int")
    return wanted


def _raise_examples(item: pytest.Item, count: int) -> None:
    """Give a Hypothesis test at least ``count`` examples (where Hypothesis's own
    pytest plugin puts its settings: the test function's settings attribute)."""
    function = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
    if function is None or not hasattr(function, "hypothesis"):
        return
    from hypothesis import settings

    current = function._hypothesis_internal_use_settings
    if current.max_examples < count:
        function._hypothesis_internal_use_settings = settings(current, max_examples=count)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker(_MARKER)
        if marker is not None:
            _raise_examples(item, _examples(item, marker))


def _registry() -> _Registry | None:
    """The trackers' registry, if ``bufferkit.testing`` was imported (else none exist)."""
    if "bufferkit.testing" not in sys.modules:
        return None
    from bufferkit.testing import _REGISTRY

    return _REGISTRY


def _next_serial() -> int:
    """The serial number the next tracker will get."""
    registry = _registry()
    return registry.next if registry is not None else 1


def _unreleased_since(serial: int) -> list[str]:
    registry = _registry()
    return registry.unbalanced_since(serial) if registry is not None else []


def _fail_if_unreleased(serial: int) -> None:
    problems = _unreleased_since(serial)
    if problems:
        pytest.fail("tracked exports left unreleased:\n  " + "\n  ".join(problems), False)


def _checked(item: pytest.Item) -> bool:
    """Marked tests are checked by the hooks below, unless the fixture checks them."""
    return item.get_closest_marker(_MARKER) is not None and _FIXTURE not in getattr(
        item, "fixturenames", ()
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _checked(item):
        item.stash[_START] = _next_serial()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if _checked(item) and _START in item.stash:
        _fail_if_unreleased(item.stash[_START])


@pytest.fixture
def track_buffers() -> Iterator[Callable[..., Any]]:
    """``bufferkit.testing.track``; fails the test at teardown if an export is left held."""
    from bufferkit.testing import track

    start = _next_serial()
    yield track
    _fail_if_unreleased(start)
