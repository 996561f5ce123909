"""Attack class 2: user code between the released-check and the memory access.

A hook called by the operation -- a key's ``__index__``, a stored value's
``__index__``/``__float__``/``__complex__``, the ``__buffer__`` of a slice-assignment
source or of the other operand of ``==``, a ``str`` subclass as ``tobytes(order=...)``
or cast format, a shape element's ``__index__`` or a list subclass as cast shape,
request flags with a hostile ``&`` -- releases the view and frees its memory
(``mmap.close()``; a ``bytearray`` grown so it moves, its old block refilled with
markers). Allowed: a clean ``ValueError``/``BufferError``/``TypeError`` or the right
result; never a read or write of freed memory. Every variant runs on both victims,
in one child per victim (a crash restarts the child after the crashing variant).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from attack import check_attempt, run, run_each, verdict_of
from reentry_variants import VARIANTS

NAMES = list(VARIANTS)
KINDS = ("mmap", "bytearray")
# bufferkit may read these arguments without calling the hook (an exact str copy)
MAY_NOT_FIRE = {
    name for name in NAMES if name.startswith(("tobytes order", "cast format", "derive flags"))
} | {"export flags"}


@functools.cache
def results(kind: str) -> dict[str, Any]:
    return run_each("from reentry_variants import main; main()", NAMES, leading=(kind,))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_user_code_cannot_free_the_memory_an_operation_touches(kind: str, name: str) -> None:
    verdict = verdict_of(results(kind), name)
    # '==' on a view released by the other operand's __buffer__: False, as the builtin
    released_answer = False if name.startswith("eq ") else None
    check_attempt(verdict, may_not_fire=name in MAY_NOT_FIRE, if_released=released_answer)


HASH = """
import mmap, tempfile
from bufferkit import MemoryView

attack = Attack()

class Hashed(mmap.mmap):
    def __hash__(self):
        attack.fire()
        return 1

class HashedBytes(bytes):
    def __hash__(self):
        attack.fire()
        return 1

with tempfile.TemporaryFile() as f:
    f.write(PATTERN)
    f.flush()
    victim = Victim("mmap")
    victim.obj = Hashed(f.fileno(), 0, access=mmap.ACCESS_READ)
    view = MemoryView(victim.obj)
    attack.arm(view, victim)
    got = outcome(lambda: hash(view))
    emit("mmap", [got[0], attack.fired, attack.released, attack.freed])

    # bytes: nothing to free, but the view is released under hash()
    attack = Attack()
    victim = Victim("bytearray")
    data = HashedBytes(PATTERN)
    view = MemoryView(data)
    attack.arm(view, victim)
    got = outcome(lambda: hash(view))
    builtin = outcome(lambda: hash(memoryview(HashedBytes(PATTERN))))
    emit("bytes", [got[0], attack.fired, attack.released, builtin[0]])
"""


def test_an_exporters_hash_cannot_free_the_memory_hash_reads() -> None:
    verdicts = run(HASH)
    kind, fired, released, _ = verdicts["mmap"]
    assert fired == 1 and released == 1, verdicts
    assert kind in ("ValueError", "ok"), verdicts
    kind, fired, released, _ = verdicts["bytes"]
    assert fired == 1 and released == 1, verdicts
    assert kind in ("ValueError", "ok"), verdicts


NDARRAY = """
from bufferkit import NDArray
from bufferkit.ndarray import ND_WRITABLE, ND_VAREXPORT

ITEMS = list(range(1, 65))

def fresh(flags=0):
    # the head: 64 items 'B' (1 to 64) over a base of 8 items '<q' (-1)
    a = NDArray([-1] * 8, shape=[8], format="<q", flags=ND_WRITABLE | flags)
    a.push(ITEMS, shape=[64], format="B", flags=ND_WRITABLE)
    return a

def bigger(a):
    a.push([bytes(8)] * 8, shape=[8], format="8s", flags=ND_WRITABLE)

def smaller(a):
    a.pop()

class Key(int):
    # an int subclass: _testbuffer reads its value (PyLong_AsSsize_t) and runs no code
    hook = None
    def __int__(self):
        self.hook()
        return int.__int__(self)
    def __index__(self):
        self.hook()
        return int.__index__(self)

for change in (bigger, smaller):
    name = change.__name__
    a = fresh()
    memory = a._bases[0].owner  # the 'B' head's block, watched after it is popped
    key = Key(56)
    key.hook = lambda: change(a)
    got = outcome(lambda: a.__setitem__(key, 255))
    emit("store " + name, [got[0], a.format, bytes(memory.view()).hex()])

    a = fresh()
    key = Key(3)
    key.hook = lambda: change(a)
    got = outcome(lambda: a[key])
    emit("read " + name, [got[0], repr(got[1])])

# slice assignment: the source's __buffer__ and the slice's __index__ change the head
class Source:
    def __init__(self, a, data):
        self.a, self.data = a, data
    def __buffer__(self, flags):
        bigger(self.a)
        return memoryview(self.data)

a = fresh()
got = outcome(lambda: a.__setitem__(slice(0, 4), Source(a, bytes(4))))
emit("assign source", [got[0], a.format])

a = fresh(ND_VAREXPORT)
class Bound:
    def __index__(self):
        bigger(a)
        return 4
got = outcome(lambda: a.__setitem__(slice(0, Bound()), bytes(4)))
emit("assign bound", [got[0], a.format])
"""


@functools.cache
def ndarray_verdicts() -> dict[str, Any]:
    return run(NDARRAY)


ITEMS = bytes(range(1, 65))


@pytest.mark.parametrize("change", ["bigger", "smaller"])
def test_ndarray_item_store_keeps_one_heads_layout_when_the_key_changes_the_head(
    change: str,
) -> None:
    """``a[key] = 255`` on a 64-item ``'B'`` head, where ``key`` is an ``int`` subclass
    whose ``__int__``/``__index__`` pushes an ``'8s'`` base or pops the head. The store
    may use the head before or after the key ran, but one head for address and item
    size: the ``'B'`` block gets one byte at most (else: 8 bytes written into a 1-byte
    item, past the block's end for the last items -- a heap overflow)."""
    got, _, block = ndarray_verdicts()["store " + change]
    assert got in ("ok", "error", "IndexError", "TypeError", "BufferError", "ValueError")
    allowed = {ITEMS.hex(), (ITEMS[:56] + b"\xff" + ITEMS[57:]).hex()}
    assert block in allowed, f"the 'B' block was overwritten past item 56: {block[112:]}"


@pytest.mark.parametrize("change", ["bigger", "smaller"])
def test_ndarray_item_read_with_a_key_that_changes_the_head(change: str) -> None:
    got, _ = ndarray_verdicts()["read " + change]
    assert got in ("ok", "IndexError", "TypeError", "BufferError")


def test_ndarray_slice_assignment_whose_source_or_bound_changes_the_head() -> None:
    verdicts = ndarray_verdicts()
    assert verdicts["assign source"][0] in ("ok", "BufferError", "ValueError"), verdicts
    assert verdicts["assign bound"][0] in ("ok", "BufferError", "ValueError"), verdicts
