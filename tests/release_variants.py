"""Child side of test_attack_release_buffer: ``__release_buffer__`` with what was never
exported, exported by another object, released already, or taken from a consumer.

Exporters under attack: a ``MemoryView`` of an ``mmap`` (``release()`` must refuse
while a real export is held; the map must not close) and an ``NDArray`` (``pop``
must refuse while its head is exported). Each variant returns a verdict dict.
"""

from __future__ import annotations

import functools
import gc
import mmap
import sys
from collections.abc import Callable
from typing import Any

from attack_child import PATTERN, emit, outcome
from bufferkit import MemoryView, NDArray

VARIANTS: dict[str, Callable[[], Any]] = {}
UNRAISABLE: list[str] = []


def _hook(info: Any) -> None:
    UNRAISABLE.append(f"{info.exc_type.__name__}: {info.exc_value}")


sys.unraisablehook = _hook


KINDS = ("MemoryView", "NDArray")


def for_each_kind(name: str) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Register ``fn(kind)`` as the variants ``<name>_<kind>``, one per exporter kind."""

    def register(fn: Callable[[str], Any]) -> Callable[[str], Any]:
        for kind in KINDS:
            VARIANTS[f"{name}_{kind}"] = functools.partial(fn, kind)
        return fn

    return register


class Subject:
    """An exporter under attack, with its checks."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "MemoryView":
            self.map = mmap.mmap(-1, len(PATTERN))
            self.map[:] = PATTERN
            self.obj: Any = MemoryView(self.map)
        else:
            self.obj = NDArray(list(PATTERN), shape=[len(PATTERN)], format="B")

    def refuses_to_let_go(self) -> bool:
        """True if the exporter refuses to free or change its memory (exports are held)."""
        if self.kind == "MemoryView":
            got = outcome(self.obj.release)[0]
            return got == "BufferError"
        pushed = outcome(lambda: self.obj.push([1], shape=[1]))[0]
        if pushed == "ok":
            self.obj.pop()
        popped = outcome(self.obj.pop)[0]
        return pushed == "BufferError" and popped == "BufferError"

    def lets_go(self) -> bool:
        """True once nothing is exported: the view releases and the map closes."""
        if self.kind == "MemoryView":
            if outcome(self.obj.release)[0] != "ok":
                return False
            gc.collect()
            return outcome(self.map.close)[0] == "ok"
        pushed = outcome(lambda: self.obj.push([1], shape=[1]))[0]
        return pushed == "ok" and outcome(self.obj.pop)[0] == "ok"


def _foreign_attempts(subject: Subject) -> dict[str, str]:
    other = Subject(subject.kind)
    theirs = other.obj.__buffer__(0)
    mine = subject.obj.__buffer__(0)
    subject.obj.__release_buffer__(mine)
    attempts: dict[str, Any] = {
        "empty memoryview": memoryview(b""),
        "memoryview of the same memory": memoryview(PATTERN),
        "bytes": b"",
        "None": None,
        "bytearray": bytearray(4),
        "another exporter's export": theirs,
        "an export released already": mine,
        "the exporter itself": subject.obj,
    }
    found = {}
    for name, value in attempts.items():
        found[name] = outcome(lambda value=value: subject.obj.__release_buffer__(value))[0]
    other.obj.__release_buffer__(theirs)
    return found


@for_each_kind("foreign")
def _foreign_then_check(kind: str) -> dict[str, Any]:
    subject = Subject(kind)
    held = memoryview(subject.obj)  # a real export, held throughout
    found: dict[str, Any] = {"attempts": _foreign_attempts(subject)}
    found["attempts twice"] = _foreign_attempts(subject)
    found["refuses while exported"] = subject.refuses_to_let_go()
    found["export reads"] = bytes(held) == PATTERN
    held.release()
    found["lets go after"] = subject.lets_go()
    found["unraisable"] = list(UNRAISABLE)
    return found


@for_each_kind("by_hand")
def _consumers_export_by_hand(kind: str) -> dict[str, Any]:
    """A consumer's export (the memoryview inside ``memoryview(x).obj``) released by
    hand while CPython holds a buffer of it: refused (the builtin's BufferError), so
    CPython's own release of it later is accepted; the memory stays valid."""
    subject = Subject(kind)
    held = memoryview(subject.obj)
    wrapper = held.obj
    inner = [r for r in gc.get_referents(wrapper) if type(r) is memoryview]
    found: dict[str, Any] = {"inner found": len(inner) == 1}
    release = subject.obj.__release_buffer__
    found["by hand"] = outcome(lambda inner=inner: release(inner[0]))[0]
    found["again"] = outcome(lambda inner=inner: release(inner[0]))[0]
    del inner, wrapper
    # the export is still held: the exporter must refuse to let go of its memory
    if kind == "MemoryView":
        released = outcome(subject.obj.release)[0]
        gc.collect()
        found["map closes under the export"] = outcome(subject.map.close)[0] == "ok"
    else:
        released = outcome(subject.obj.pop)[0]
    found["release"] = released
    found["export reads"] = bytes(held) == PATTERN
    held.release()
    found["unraisable"] = list(UNRAISABLE)
    return found


@for_each_kind("reused_id")
def _reused_id(kind: str) -> dict[str, Any]:
    """Exports of exporters that died, each given to a new exporter at the address of
    the one that exported it (ids are reused: 2,000 exporters die, 2,000 are made;
    again, up to 5 rounds, until 50 addresses were reused: the allocator decides)."""
    data = Subject("MemoryView").map

    def make() -> Any:
        if kind == "MemoryView":
            return MemoryView(data)
        return NDArray(list(PATTERN), shape=[len(PATTERN)], format="B")

    kept: list[Any] = []  # (each round's new exporters stay: their ids stay theirs)
    pairs: list[tuple[Any, Any]] = []
    for _ in range(5):
        first = [make() for _ in range(2000)]
        orphans = {id(exporter): exporter.__buffer__(0) for exporter in first}
        del first
        gc.collect()
        second = [make() for _ in range(2000)]
        pairs += [(new, orphans[id(new)]) for new in second if id(new) in orphans]
        kept.append(second)
        if len(pairs) >= 50:
            break
    found: dict[str, Any] = {"same address": len(pairs), "accepted": 0, "let go": 0, "reads": 0}
    for exporter, orphan in pairs[:50]:
        held = memoryview(exporter)  # the new exporter's real export
        accepted = outcome(lambda e=exporter, o=orphan: e.__release_buffer__(o))[0] == "ok"
        found["accepted"] += accepted
        let_go = exporter.release if kind == "MemoryView" else exporter.pop
        found["let go"] += outcome(let_go)[0] != "BufferError"
        found["reads"] += bytes(held[: len(PATTERN)]) == PATTERN
        held.release()
    return found


@for_each_kind("from_del")
def _from_del(kind: str) -> dict[str, Any]:
    """``__release_buffer__`` called by a ``__del__`` of a collected cycle: once with
    the real export (accepted), once with a foreign one (refused)."""
    subject = Subject(kind)
    results: list[str] = []

    class Holder:
        def __init__(self, export: Any) -> None:
            self.export = export
            self.me = self

        def __del__(self) -> None:
            results.append(outcome(lambda: subject.obj.__release_buffer__(self.export))[0])
            results.append(outcome(lambda: subject.obj.__release_buffer__(memoryview(b"")))[0])

    Holder(subject.obj.__buffer__(0))
    gc.collect()
    return {"from del": results, "lets go": subject.lets_go(), "unraisable": list(UNRAISABLE)}


@for_each_kind("released_while_held")
def _released_while_held(kind: str) -> dict[str, Any]:
    """An export released by hand while a consumer holds a buffer of it, the consumer
    then dropped in a collected cycle: the early release is refused (the builtin's
    ``BufferError`` where the collector shows the export's buffer, else ValueError)
    and changes nothing; the export stays shielded on 3.12.0-3.12.6 (no crash when
    the cycle is cleared); once the consumer is gone, the release is accepted."""
    subject = Subject(kind)
    early, late = set(), set()

    class Cycle:
        pass

    for _ in range(20):
        export = subject.obj.__buffer__(0)
        consumer = export.__buffer__(0)
        early.add(outcome(lambda export=export: subject.obj.__release_buffer__(export))[0])
        cycle = Cycle()
        cycle.consumer, cycle.me = consumer, cycle  # type: ignore[attr-defined]
        del consumer, cycle
        gc.collect()
        late.add(outcome(lambda export=export: subject.obj.__release_buffer__(export))[0])
        del export
    return {
        "early": sorted(early),
        "late": sorted(late),
        "lets go": subject.lets_go(),
        "unraisable": list(UNRAISABLE),
    }


def main() -> None:
    for name in sys.argv[1:]:
        UNRAISABLE.clear()
        emit(name + ":started", True)
        emit(name, VARIANTS[name]())
    emit("done", True)
