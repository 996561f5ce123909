"""The child side of the attack tests (``attack.run`` imports all of it into the child).

- ``emit(name, value)`` reports a verdict to the parent (one JSON line).
- A ``Victim`` is memory a view is made over that an attack tries to free: an
  anonymous ``mmap`` (``free`` closes it: the pages are unmapped, so a later access
  segfaults) or a ``bytearray`` (``free`` grows it so it moves, then fills freshly
  allocated blocks of the old size with ``MARKER`` bytes: a later read of the old
  memory sees markers, a later write changes one, ``spray_intact`` tells).
- An ``Attack`` is armed with a view and its victim; ``fire`` releases the view
  and frees the victim, once per arming, counting what succeeded. The hooks --
  ``Index``, ``Float``, ``Complex``, ``Exporter``, ``Str``, ``Shape`` -- fire it
  from the user code an operation calls (``__index__``, ``__float__``, ...).
- ``attempt`` runs one variant and emits ``{outcome, fired, released, freed,
  correct, spray_intact}``; ``check_attempt`` (parent side, in the tests) reads it.
"""

from __future__ import annotations

import gc
import json
import mmap
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "MARKER",
    "PATTERN",
    "Attack",
    "Complex",
    "Exporter",
    "Float",
    "Index",
    "Shape",
    "Str",
    "Victim",
    "armed_str",
    "attempt",
    "emit",
    "gc",
    "late_emit",
    "outcome",
    "sys",
    "threading",
    "time",
]

MARKER = 0xEE
PATTERN = bytes(range(1, 65))  # no byte is MARKER; 64 bytes


def emit(name: str, value: Any) -> None:
    """Report ``value`` (JSON) under ``name`` to the parent, at once."""
    print("@@ " + json.dumps([name, value]), flush=True)


def late_emit(name: str, value: Any, _write: Any = os.write, _dumps: Any = json.dumps) -> None:
    """``emit`` that works at interpreter exit, after module globals are cleared."""
    _write(1, ("@@ " + _dumps([name, value]) + "\n").encode())


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", result)`` or ``(exception type name, message)``."""
    try:
        return "ok", fn()
    except Exception as error:
        return type(error).__name__, str(error)


class Victim:
    """Memory under attack: ``kind`` is ``"mmap"`` or ``"bytearray"``."""

    def __init__(self, kind: str, data: bytes = PATTERN) -> None:
        self.kind = kind
        self.size = len(data)
        self.obj: Any
        if kind == "mmap":
            self.obj = mmap.mmap(-1, max(self.size, 1))
            self.obj[: self.size] = data
        elif kind == "bytearray":
            self.obj = bytearray(data)
        else:
            raise ValueError(kind)
        self.spray: list[bytearray] = []
        self.freed = False

    def free(self) -> bool:
        """Free the memory if nothing holds it; True if it is gone."""
        if self.freed:
            return True
        try:
            if self.kind == "mmap":
                self.obj.close()
            else:
                self.obj.extend(bytes(1 << 20))  # realloc far away; the old block is freed
                count = max(4, min(256, (16 << 20) // max(self.size, 1)))
                self.spray = [bytearray([MARKER]) * self.size for _ in range(count)]
        except BufferError:
            return False
        self.freed = True
        return True

    def spray_intact(self) -> bool:
        """No write reached the blocks allocated after the bytearray moved."""
        return all(block.count(MARKER) == len(block) for block in self.spray)


class Attack:
    """Release an armed view and free its victim, once per arming."""

    def __init__(self) -> None:
        self.view: Any = None
        self.victim: Victim | None = None
        self.fired = 0
        self.released = 0
        self.freed = 0

    def arm(self, view: Any, victim: Victim) -> None:
        self.view, self.victim = view, victim

    def disarm(self) -> None:
        self.view = self.victim = None

    def fire(self) -> None:
        view, victim = self.view, self.victim
        if view is None or victim is None:
            return
        self.view = self.victim = None
        self.fired += 1
        try:
            view.release()
            self.released += 1
        except BufferError:
            return
        del view
        if victim.free():
            self.freed += 1


class Index:
    """An index whose ``__index__`` fires the attack."""

    def __init__(self, value: int, attack: Attack) -> None:
        self.value, self.attack = value, attack

    def __index__(self) -> int:
        self.attack.fire()
        return self.value


class Float:
    def __init__(self, value: float, attack: Attack) -> None:
        self.value, self.attack = value, attack

    def __float__(self) -> float:
        self.attack.fire()
        return self.value

    def __index__(self) -> int:
        self.attack.fire()
        return int(self.value)


class Complex:
    def __init__(self, value: complex, attack: Attack) -> None:
        self.value, self.attack = value, attack

    def __complex__(self) -> complex:
        self.attack.fire()
        return self.value


class Exporter:
    """A PEP 688 exporter whose ``__buffer__`` fires the attack first."""

    def __init__(self, data: Any, attack: Attack) -> None:
        self.data, self.attack = data, attack

    def __buffer__(self, flags: int) -> memoryview:
        self.attack.fire()
        return memoryview(self.data)


class Str(str):
    """A ``str`` whose every overridable method fires the attack."""

    attack: Attack | None = None

    def _fire(self) -> None:
        if self.attack is not None:
            self.attack.fire()

    def __eq__(self, other: object) -> bool:
        self._fire()
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self._fire()
        return str.__ne__(self, other)

    def __hash__(self) -> int:
        self._fire()
        return str.__hash__(self)

    def __getitem__(self, key: Any) -> str:  # type: ignore[override]
        self._fire()
        return str.__getitem__(self, key)

    def __len__(self) -> int:
        self._fire()
        return str.__len__(self)

    def __iter__(self) -> Iterator[str]:
        self._fire()
        return str.__iter__(self)

    def __contains__(self, key: object) -> bool:
        self._fire()
        return str.__contains__(self, key)  # type: ignore[operator]

    def __str__(self) -> str:
        self._fire()
        return str.__str__(self)

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        self._fire()
        return str.encode(self, *args, **kwargs)

    def upper(self) -> str:
        self._fire()
        return str.upper(self)

    def startswith(self, *args: Any) -> bool:
        self._fire()
        return str.startswith(self, *args)


def armed_str(text: str, attack: Attack) -> Str:
    value = Str(text)
    value.attack = attack
    return value


class Shape(list[Any]):
    """A shape list whose ``__iter__``/``__len__``/``__getitem__`` fire the attack."""

    attack: Attack | None = None

    def __iter__(self) -> Iterator[Any]:
        if self.attack is not None:
            self.attack.fire()
        return list.__iter__(self)

    def __len__(self) -> int:
        if self.attack is not None:
            self.attack.fire()
        return list.__len__(self)

    def __getitem__(self, key: Any) -> Any:
        if self.attack is not None:
            self.attack.fire()
        return list.__getitem__(self, key)


def attempt(
    name: str,
    kind: str,
    make_view: Callable[[Any], Any],
    op: Callable[[Any, Attack], Any],
    data: bytes = PATTERN,
    result: Callable[[Any], Any] = lambda value: value,
) -> None:
    """Run ``op(view, attack)`` on a view of a fresh ``kind`` victim with the attack
    armed, and once unarmed on another fresh victim for the expected result; emit
    the verdict under ``name``. ``result`` turns what ``op`` returned into a plain
    value (before the view is gone: e.g. ``tobytes`` of a returned sub-view)."""
    calm = Attack()
    calm_victim = Victim(kind, data)
    calm_view = make_view(calm_victim.obj)
    expected = outcome(lambda: result(op(calm_view, calm)))
    calm_view.release()

    attack = Attack()
    victim = Victim(kind, data)
    view = make_view(victim.obj)
    attack.arm(view, victim)
    emit(name + ":started", True)
    got: tuple[str, Any]
    try:
        got = ("ok", result(op(view, attack)))
    except Exception as error:
        got = (type(error).__name__, str(error))
    emit(
        name,
        {
            "outcome": got[0],
            "detail": repr(got[1])[:200],
            "fired": attack.fired,
            "released": attack.released,
            "freed": attack.freed,
            "correct": got == expected,
            "expected": f"{expected[0]}: {expected[1]!r}"[:200],
            "spray_intact": victim.spray_intact(),
        },
    )
