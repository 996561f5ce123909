"""Child side of test_attack_misc: the other ways in (attack class 8).

Hashes of exporters that raise, every request flag combination on odd exporters
(compared with the builtin memoryview's ``_from_flags``), exporters that change
their layout between requests or release what they returned, ``from_memory``
bounds, pickling and copying, weak references, impostors and subclasses,
re-initialisation. Each variant returns a JSON verdict.
"""

from __future__ import annotations

import array
import copy
import ctypes
import gc
import itertools
import mmap
import pickle
import sys
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from attack_child import emit, outcome
from bufferkit import BufferFlags, MemoryView, NDArray
from bufferkit.layout import Layout
from bufferkit.ndarray import ND_FORTRAN, ND_PIL, ND_VAREXPORT, ND_WRITABLE

VARIANTS: dict[str, Callable[[], Any]] = {}
_from_flags: Any = memoryview._from_flags


def variant(fn: Callable[[], Any]) -> Callable[[], Any]:
    VARIANTS[fn.__name__] = fn
    return fn


def _kind(error: BaseException) -> str:
    """Exception categories the builtin and bufferkit must agree on."""
    if isinstance(error, BufferError):
        return "BufferError"
    return type(error).__name__


# --- hashes -------------------------------------------------------------------------


class RaisingHashBytes(bytes):
    def __hash__(self) -> int:
        raise ZeroDivisionError("no hash")


class RaisingHashExporter:
    def __init__(self) -> None:
        self.data = b"abcd"

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self.data)

    def __hash__(self) -> int:
        raise ZeroDivisionError("no hash")


@variant
def hash_of_exporters_that_raise() -> Any:
    found = {}
    makers: dict[str, Callable[[], Any]] = {
        "bytes subclass": lambda: RaisingHashBytes(b"abcd"),
        "pep688": RaisingHashExporter,
        "bytearray": lambda: bytearray(b"abcd"),
        "bytes": lambda: b"abcd",
    }
    for name, make in makers.items():

        def mine(make: Callable[[], Any] = make) -> int:
            return hash(MemoryView(make()).toreadonly())

        def builtin(make: Callable[[], Any] = make) -> int:
            return hash(memoryview(make()).toreadonly())

        got, expected = outcome(mine), outcome(builtin)
        found[name] = [got[0], expected[0], got == expected]
    return found


# --- every flag combination on odd exporters --------------------------------------------


class Struct(ctypes.Structure):
    _fields_ = [("a", ctypes.c_short), ("b", ctypes.c_double)]


def _exporters() -> dict[str, Callable[[], Any]]:
    numpy_2d = np.arange(24, dtype="<i4").reshape(4, 6)
    return {
        "bytes": lambda: b"0123456789abcdef",
        "bytearray": lambda: bytearray(b"0123456789abcdef"),
        "empty": lambda: b"",
        "array d": lambda: array.array("d", [1.5, 2.5, 3.5]),
        "ctypes struct": lambda: Struct(3, 2.5),
        "ctypes 2-d": lambda: ((ctypes.c_int * 3) * 2)(),
        "mmap": lambda: mmap.mmap(-1, 64),
        "numpy stepped": lambda: numpy_2d[:, ::2],
        "numpy F": lambda: np.asfortranarray(numpy_2d),
        "numpy 0-d": lambda: np.array(7, dtype=">i8"),
        "numpy transposed": lambda: numpy_2d.T,
        "numpy record": lambda: np.zeros(3, dtype=[("a", "<i2"), ("b", "<f8")]),
        "numpy empty 2-d": lambda: np.zeros((0, 3), dtype="<i4"),
        "ndarray PIL": lambda: NDArray(list(range(12)), shape=[3, 4], flags=ND_PIL),
        "ndarray negative": lambda: NDArray(
            list(range(12)), shape=[3, 4], strides=[-4, -1], offset=11
        ),
        "ndarray F writable": lambda: NDArray(
            list(range(12)), shape=[3, 4], flags=ND_FORTRAN | ND_WRITABLE
        ),
        "ndarray simple reexport": lambda: NDArray(b"0123456789ab", getbuf=0),
        "ndarray nd reexport": lambda: NDArray(
            NDArray(list(range(12)), shape=[3, 4], format="<h"), getbuf=int(BufferFlags.ND)
        ),
        "numpy empty record": lambda: np.zeros(0, dtype=[("a", "<i2"), ("b", "<f8")]),
        "memoryview stepped": lambda: memoryview(b"0123456789abcdef")[::3],
        "MemoryView cast 2-d": lambda: MemoryView(bytearray(range(24))).cast("<h", (3, 4))[:, 1:],
        "MemoryView PIL": lambda: MemoryView(NDArray(list(range(12)), shape=[3, 4], flags=ND_PIL))[
            1:
        ],
    }


def _describe(view: Any) -> Any:
    try:
        data = view.tobytes()
    except Exception as error:
        data = _kind(error)
    return [
        view.format,
        list(view.shape),
        view.readonly,
        data.hex() if type(data) is bytes else data,
    ]


FLAG_BITS = [0x1, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100]


# the builtin's _from_flags shares a memoryview's (or a MemoryView's) request instead of
# asking it: no baseline for those; they are run for crashes and bounds only
NO_BASELINE = ("memoryview stepped", "MemoryView cast 2-d", "MemoryView PIL")


@variant
def every_request_flag_combination() -> Any:
    """Every combination of the request flag bits on each exporter: no crash; the view
    never reaches more bytes than the buffer has; refusals and bytes as the builtin's."""
    mismatches = []
    beyond = []
    tried = 0
    for name, make in _exporters().items():
        for bits in itertools.product((0, 1), repeat=len(FLAG_BITS)):
            flags = sum(bit for bit, on in zip(FLAG_BITS, bits, strict=True) if on)
            obj = make()
            tried += 1
            length = None
            try:
                builtin = _from_flags(obj, flags)
                length = builtin.nbytes
                expected: Any = _describe(builtin)
            except Exception as error:
                expected = _kind(error)
            try:
                view = MemoryView(obj, flags)
                if length is not None and view.nbytes > length:
                    beyond.append([name, hex(flags), view.nbytes, length])
                got: Any = _describe(view)
                view.release()
            except Exception as error:
                got = _kind(error)
            if name in NO_BASELINE:
                continue
            same_kind = type(got) is type(expected)
            differs = got != expected and (isinstance(got, str) or got[3] != expected[3])
            if not same_kind or differs:
                mismatches.append([name, hex(flags), repr(got)[:80], repr(expected)[:80]])
    by_exporter: dict[str, int] = {}
    for mismatch in mismatches:
        by_exporter[mismatch[0]] = by_exporter.get(mismatch[0], 0) + 1
    return {
        "tried": tried,
        "beyond": beyond[:5],
        "by exporter": by_exporter,
        "first": mismatches[:3],
    }


@variant
def empty_exporter_without_nd_at_the_end_of_a_mapping() -> Any:
    """An empty NumPy array whose data pointer is the end of a mapping, the next page
    unmapped (where the kernel placed the two maps next to each other): a request
    without ND gets a 0-d answer with ``len`` 0 -- the view must not read an item."""

    def address(m: mmap.mmap) -> int:
        return ctypes.addressof(ctypes.c_char.from_buffer(m))

    upper = mmap.mmap(-1, 4096)
    lower = mmap.mmap(-1, 4096)
    adjacent = address(upper) == address(lower) + 4096
    upper.close()
    empty = np.ndarray(shape=(0, 3), dtype="<i4", buffer=lower, offset=4096)
    view = MemoryView(empty, BufferFlags.FORMAT)
    emit("about to read", {"adjacent": adjacent, "nbytes": view.nbytes})
    return {"adjacent": adjacent, "nbytes": view.nbytes, "bytes": view.tobytes().hex()}


# --- exporters that change their layout, or release what they returned ---------------


class Shifty:
    """Each request gets another layout and other memory."""

    def __init__(self) -> None:
        self.calls = 0
        self.kept: list[Any] = []

    def __buffer__(self, flags: int) -> memoryview:
        self.calls += 1
        size = 8 * self.calls
        data = bytearray(range(size))
        self.kept.append(data)
        view = memoryview(data)
        return view.cast("i") if self.calls % 2 else view.cast("B", (2, size // 2))


@variant
def layout_changes_between_requests() -> Any:
    shifty = Shifty()
    first = MemoryView(shifty)
    snapshot = (first.format, first.shape, first.tobytes())
    derived = [MemoryView(first), first[1:], first.cast("B"), first.toreadonly()]
    second = MemoryView(shifty)
    return {
        "calls": shifty.calls,
        "first unchanged": (first.format, first.shape, first.tobytes()) == snapshot,
        "derived share it": all(d.tobytes() in snapshot[2] for d in derived),
        "second differs": second.shape != first.shape,
    }


@variant
def varexport_push_under_views() -> Any:
    nd = NDArray(list(range(16)), shape=[16], format="B", flags=ND_VAREXPORT | ND_WRITABLE)
    view = MemoryView(nd)
    sub = view[::2]
    before = view.tobytes(), sub.tobytes()
    nd.push([1.5] * 4, shape=[2, 2], format="<d", flags=ND_WRITABLE)
    after = MemoryView(nd)
    found = {
        "old views keep their snapshot": (view.tobytes(), sub.tobytes()) == before,
        "new view sees the push": (after.format, after.shape) == ("<d", (2, 2)),
        "pop while exported": outcome(nd.pop)[0],
    }
    view.release()
    sub.release()
    after.release()
    gc.collect()
    found["pop after"] = outcome(nd.pop)[0]
    return found


class SelfReleasing:
    """Releases, after the request, the memoryview its ``__buffer__`` returned."""

    def __init__(self) -> None:
        self.data = bytearray(b"0123456789abcdef")
        self.returned: list[memoryview] = []

    def __buffer__(self, flags: int) -> memoryview:
        view = memoryview(self.data)
        self.returned.append(view)
        return view


@variant
def exporter_releases_what_it_returned() -> Any:
    exporter = SelfReleasing()
    view = MemoryView(exporter)
    tried = [outcome(returned.release)[0] for returned in exporter.returned]
    found = {"its own release": tried, "view reads": view.tobytes() == bytes(exporter.data)}
    found["resize under the view"] = outcome(lambda: exporter.data.extend(bytes(1 << 20)))[0]
    found["view reads after"] = view.tobytes() == bytes(exporter.data[:16])
    return found


class ReturnsReleased:
    def __buffer__(self, flags: int) -> memoryview:
        view = memoryview(b"abc")
        view.release()
        return view


class ReturnsNotAView:
    def __buffer__(self, flags: int) -> Any:
        return b"abc"


class ReturnsOtherLength:
    def __buffer__(self, flags: int) -> Any:
        return memoryview(bytes(10**6))[: 10**6 : 10**5]


@variant
def odd_buffer_results() -> Any:
    found = {}
    for cls in (ReturnsReleased, ReturnsNotAView, ReturnsOtherLength):
        found[cls.__name__] = [
            outcome(lambda cls=cls: MemoryView(cls()).tobytes())[0],
            outcome(lambda cls=cls: memoryview(cls()).tobytes())[0],
        ]
    return found


# --- from_memory bounds ------------------------------------------------------------------


@variant
def from_memory_bounds() -> Any:
    block = ctypes.create_string_buffer(b"0123456789abcdef", 16)
    address = ctypes.addressof(block)
    cases: dict[str, Callable[[], Any]] = {
        "negative size": lambda: MemoryView.from_memory(address, -1),
        "address 0": lambda: MemoryView.from_memory(0, 16),
        "negative address": lambda: MemoryView.from_memory(-address, 16),
        "address 2**64": lambda: MemoryView.from_memory(2**64, 16),
        "address 2**64 + address": lambda: MemoryView.from_memory(2**64 + address, 16),
        "size 2**63": lambda: MemoryView.from_memory(address, 2**63),
        "size 2**64": lambda: MemoryView.from_memory(address, 2**64 + 16),
        "float address": lambda: MemoryView.from_memory(float(address), 16),
        "shape too big": lambda: MemoryView.from_memory(address, 16, format="<i", shape=[5]),
        "shape negative": lambda: MemoryView.from_memory(address, 16, format="<i", shape=[-4]),
        "shape overflow": lambda: MemoryView.from_memory(
            address, 16, format="B", shape=[2**32, 2**32, 0]
        ),
        "bad format": lambda: MemoryView.from_memory(address, 16, format="<i{"),
        "itemsize does not divide": lambda: MemoryView.from_memory(address, 16, format="<d3x"),
        "write read-only": lambda: MemoryView.from_memory(address, 16).__setitem__(0, 1),
    }
    found = {name: outcome(case)[0] for name, case in cases.items()}
    found["reads"] = MemoryView.from_memory(address, 16, format="<i", shape=[2, 2]).tolist()
    writable = MemoryView.from_memory(address, 16, readonly=False)
    writable[0] = ord("X")
    found["writes"] = block.raw[:2].decode()
    return found


# --- pickling, copying, weak references ----------------------------------------------------


@variant
def pickle_and_copy_views() -> Any:
    view = MemoryView(bytearray(b"abcdef"))
    found = {}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        found[f"pickle {protocol}"] = outcome(lambda p=protocol: pickle.dumps(view, p))[0]
    found["copy"] = outcome(lambda: copy.copy(view))[0]
    found["deepcopy"] = outcome(lambda: copy.deepcopy(view))[0]
    found["builtin copy"] = outcome(lambda: copy.copy(memoryview(b"")))[0]
    return found


@variant
def deepcopy_ndarray_owns_its_memory() -> Any:
    """A deep copy of an NDArray must not point into the original's memory."""
    size = 1 << 18  # 2 MB of '<q': the block is unmapped when freed
    original = NDArray(list(range(size)), shape=[size], format="<q")
    got = outcome(lambda original=original: copy.deepcopy(original))
    if got[0] != "ok":
        return {"deepcopy": got[0]}
    duplicate = got[1]
    same = duplicate._head.buf == original._head.buf
    emit("deepcopy shares the address", same)
    del original
    gc.collect()
    junk = [bytearray(b"\xee" * 4096) for _ in range(512)]
    head = duplicate.tolist()[:4]  # a read of freed (possibly unmapped) memory if shared
    del junk
    return {"deepcopy": "ok", "shares address": same, "reads": head}


@variant
def copy_ndarray_is_independent() -> Any:
    original = NDArray(list(range(8)), shape=[8], format="B")
    got = outcome(lambda: copy.copy(original))
    if got[0] != "ok":
        return {"copy": got[0]}
    duplicate = got[1]
    duplicate.push([1.5], shape=[1], format="<d")
    return {"copy": "ok", "original unchanged": (original.format, original.shape) == ("B", (8,))}


@variant
def weak_references() -> Any:
    data = bytearray(b"0123456789")
    view = MemoryView(data)
    died = []
    ref = weakref.ref(view, lambda r: died.append(True))
    proxy = weakref.proxy(view)
    found = {
        "ref": ref() is view,
        "MemoryView(proxy)": outcome(lambda: MemoryView(proxy).tobytes())[0],
        "memoryview(proxy)": outcome(lambda: memoryview(proxy))[0],
        "assign proxy": outcome(lambda v=view: v.__setitem__(slice(0, 10), proxy))[0],
        "eq proxy": outcome(lambda v=view: v == proxy)[0],
    }
    del view
    gc.collect()
    found["died"] = died == [True]
    found["proxy after death"] = outcome(lambda: proxy.tobytes())[0]
    found["resizable"] = outcome(lambda: data.extend(b"x"))[0]
    return found


# --- impostors, subclasses, re-initialisation ------------------------------------------------


class Impostor:
    """Claims to be a MemoryView (``__class__``) and describes 1 MB at address 4096."""

    __class__ = MemoryView  # type: ignore[assignment]
    _base = 4096
    _layout = Layout(1, (1 << 20,))
    _format = None
    _text = "B"
    _readonly = False
    _pin = memoryview(b"")

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(b"")

    def _held(self) -> memoryview:
        return self._pin

    def _check_request(self, flags: int) -> None:
        pass

    def _exact_view(self, *args: Any) -> memoryview:
        return memoryview(bytes(1 << 20))


IMPOSTOR_USES: dict[str, Callable[[], Any]] = {
    "MemoryView(impostor)": lambda: MemoryView(Impostor()).tobytes()[:4],
    "assign from impostor": lambda: MemoryView(bytearray(1 << 20)).__setitem__(
        slice(None), Impostor()
    ),
    "eq impostor": lambda: MemoryView(bytearray(1 << 20)) == Impostor(),
}


def impostor(name: str) -> Any:
    got = outcome(IMPOSTOR_USES[name])
    return [got[0], repr(got[1])[:60]]


for _name in IMPOSTOR_USES:
    VARIANTS["impostor " + _name] = lambda _name=_name: impostor(_name)


@variant
def subclass() -> Any:
    made = outcome(lambda: type("Sub", (MemoryView,), {}))
    found = {
        "subclassing": made[0],
        "builtin subclassing": outcome(lambda: type("Sub", (memoryview,), {}))[0],
    }
    if made[0] == "ok":
        sub = made[1](bytearray(b"abcd"))
        found["works"] = [sub.tobytes() == b"abcd", MemoryView(sub).tobytes() == b"abcd"]
    return found


@variant
def reinitialise_a_live_view() -> Any:
    """``view.__init__(other)`` on a live view with a cached exact-format helper and
    an export: refused, or (as for the builtin, whose ``__init__`` is object's and does
    nothing) the view and its exports show one buffer."""
    view = MemoryView(bytearray(b"old-data" * 4))
    held = memoryview(view)
    got = outcome(lambda: view.__init__(b"NEW!"))
    if got[0] != "ok":
        held.release()
        return {"reinit": got[0]}
    exported = bytes(memoryview(view))
    found = {"reinit": "ok", "export shows the view": exported == view.tobytes()}
    if view.tobytes() == b"old-data" * 4:  # __init__ changed nothing (the builtin's way)
        found["hash consistent"] = ["ok", True]
    else:
        found["hash consistent"] = outcome(lambda: hash(view.toreadonly()) == hash(b"NEW!"))
    held.release()
    return found


def main() -> None:
    for name in sys.argv[1:]:
        emit(name + ":started", True)
        emit(name, VARIANTS[name]())
    emit("done", True)
