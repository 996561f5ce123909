"""Attack class 4: foreign ``__release_buffer__`` calls on MemoryView and NDArray.

``__release_buffer__`` accepts only a memoryview this object exported and has not
yet released (``ValueError`` otherwise, ``TypeError`` for a non-memoryview); a
refused call changes no count, so ``release()`` (``pop()`` for NDArray) still
refuses while a real export is held, and that export's memory stays valid.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from attack import run_each, verdict_of
from release_variants import VARIANTS

KINDS = ("MemoryView", "NDArray")
EXPECTED_ATTEMPTS = {
    "empty memoryview": "ValueError",
    "memoryview of the same memory": "ValueError",
    "bytes": "TypeError",
    "None": "TypeError",
    "bytearray": "TypeError",
    "another exporter's export": "ValueError",
    "an export released already": "ValueError",
    "the exporter itself": "TypeError",
}


@functools.cache
def results() -> dict[str, Any]:
    return run_each("from release_variants import main; main()", list(VARIANTS))


@pytest.mark.parametrize("kind", KINDS)
def test_foreign_releases_are_refused_and_change_no_count(kind: str) -> None:
    verdict = verdict_of(results(), "foreign_" + kind)
    assert verdict["attempts"] == EXPECTED_ATTEMPTS
    assert verdict["attempts twice"] == EXPECTED_ATTEMPTS
    assert verdict["refuses while exported"], "a foreign release changed the export count"
    assert verdict["export reads"]
    assert verdict["lets go after"], "the real release did not bring the count to zero"
    assert verdict["unraisable"] == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_consumers_export_released_by_hand_keeps_its_memory_valid(kind: str) -> None:
    """The memoryview inside a consumer's ``memoryview(x).obj`` is an export not yet
    released: a hand-made ``x.__release_buffer__(it)`` is accepted once, refused the
    second time; CPython's own release of it later is refused (unraisable
    ``ValueError``). Whatever the counts then say, the consumer's memory stays valid."""
    verdict = verdict_of(results(), "by_hand_" + kind)
    assert verdict["inner found"]
    assert verdict["by hand"] == "ok"
    assert verdict["again"] == "ValueError"
    assert verdict["export reads"]
    assert not verdict.get("map closes under the export"), "the map closed under a live export"
    assert verdict["unraisable"] == ["ValueError: memoryview's buffer is not this object"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_orphaned_export_is_refused_by_an_exporter_at_the_same_address(kind: str) -> None:
    """Exporters die leaving direct ``__buffer__`` results alive; new exporters get
    their addresses (``id``). ``new.__release_buffer__(orphan)`` must be refused: the
    orphan is not the new exporter's (the ledger matches exporters by ``id``), and
    accepting it lowers the new exporter's export count, so ``release()`` succeeds
    while its real export is held."""
    verdict = verdict_of(results(), "reused_id_" + kind)
    assert verdict["same address"] >= 50, f"ids were not reused: {verdict}"
    assert verdict["reads"] == 50
    assert verdict["accepted"] == 0, f"orphaned exports accepted: {verdict}"
    assert verdict["let go"] == 0, f"released while a real export is held: {verdict}"


@pytest.mark.parametrize("kind", KINDS)
def test_release_buffer_called_from_a_del_during_collection(kind: str) -> None:
    verdict = verdict_of(results(), "from_del_" + kind)
    assert verdict["from del"] == ["ok", "ValueError"]
    assert verdict["lets go"]
    assert verdict["unraisable"] == []
