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
from release_variants import KINDS, VARIANTS

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
def test_a_consumers_export_released_by_hand_is_refused_while_held(kind: str) -> None:
    """The memoryview inside a consumer's ``memoryview(x).obj`` is an export CPython
    holds a buffer of: a hand-made ``x.__release_buffer__(it)`` is refused with the
    builtin's ``BufferError`` (twice), changes no count, and CPython's own release of
    it later is accepted quietly. The consumer's memory stays valid throughout."""
    verdict = verdict_of(results(), "by_hand_" + kind)
    assert verdict["inner found"]
    assert verdict["by hand"] == "BufferError"
    assert verdict["again"] == "BufferError"
    assert verdict["release"] == "BufferError"
    assert verdict["export reads"]
    assert not verdict.get("map closes under the export"), "the map closed under a live export"
    assert verdict["unraisable"] == []


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


@pytest.mark.parametrize("kind", KINDS)
def test_an_export_released_while_a_consumer_holds_it_is_refused_until_let_go(
    kind: str,
) -> None:
    """As C's ``__release_buffer__``: the builtin's release refuses while the export
    is exported, and nothing is settled; on 3.12.0-3.12.6 the export stays shielded,
    so clearing the consumer's cycle cannot crash (gh-77894)."""
    verdict = verdict_of(results(), "released_while_held_" + kind)
    assert set(verdict["early"]) <= {"BufferError", "ValueError"}, verdict
    assert verdict["late"] == ["ok"], verdict
    assert verdict["lets go"]
    assert verdict["unraisable"] == []
