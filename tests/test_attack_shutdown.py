"""Attack class 5: views alive at interpreter exit.

Each scenario is a script run in a child: module globals holding views, exports
and derived views; ``atexit`` handlers registered before and after bufferkit is
imported that read views; ``__del__`` methods (in cycles or not) and
``weakref.finalize`` callbacks that read views during finalization; daemon threads
reading and writing views while the interpreter exits. Required: exit status 0, no
"Fatal Python error", no ignored exception, and every read at exit gives the right
bytes (reported with ``late_emit``, which works after module globals are gone).
"""

from __future__ import annotations

import textwrap

import pytest

from attack import run

COMMON = """
import mmap, threading, time, weakref
from bufferkit import MemoryView, NDArray
import numpy as np

DATA = bytes(range(64))
def mapped():
    m = mmap.mmap(-1, 64)
    m[:] = DATA
    return m
"""

SCENARIOS = {
    "globals": """
        data = bytearray(DATA)
        v = MemoryView(data)
        m = MemoryView(mapped())
        n = NDArray(list(DATA), shape=[64])
        a = np.frombuffer(DATA, dtype=np.uint8)
        views = [v[1:], m.cast("B", (8, 8))[::2], MemoryView(n), MemoryView(a).cast("<i")]
        exports = [memoryview(v), memoryview(m), memoryview(n), memoryview(views[1])]
        direct = [v.__buffer__(0), n.__buffer__(0)]  # never released by hand
        np_of_view = np.asarray(m)

        def uses_globals():  # a function: the module's globals form a cycle
            return v
    """,
    "atexit before import": """
        import atexit, os, sys
        # (registered before bufferkit's modules: runs after their handlers, last)
        def read_late():
            late_emit("late", [VIEW.tobytes() == DATA, bytes(EXPORT) == DATA,
                               MAPPED[10:20].tobytes() == DATA[10:20]])
        atexit.register(read_late)
        exec(COMMON)
        VIEW = MemoryView(bytearray(DATA))
        EXPORT = memoryview(VIEW)
        MAPPED = MemoryView(mapped())
        EXPECT = ["late"]
    """,
    "atexit after import": """
        import atexit
        v = MemoryView(mapped())
        e = memoryview(v[::2])
        n = NDArray(list(DATA), shape=[8, 8])
        def read_late():
            late_emit("late", [v.tobytes() == DATA, bytes(e) == DATA[::2],
                               n.tolist()[1] == list(DATA[8:16]),
                               MemoryView(n)[1].tobytes() == DATA[8:16]])
        atexit.register(read_late)
        EXPECT = ["late"]
    """,
    "del in cycles": """
        class Holder:
            def __init__(self, name, view, expected):
                self.name, self.view, self.expected, self.me = name, view, expected, self
            def __del__(self):
                late_emit(self.name, self.view.tobytes() == self.expected)
        h1 = Holder("cycle bytearray", MemoryView(bytearray(DATA)), DATA)
        h2 = Holder("cycle mmap", MemoryView(mapped())[4:], DATA[4:])
        h3 = Holder("cycle export", MemoryView(memoryview(MemoryView(bytearray(DATA)))), DATA)
        h4 = Holder("cycle ndarray", MemoryView(NDArray(list(DATA), shape=[64])), DATA)
        class Plain:
            def __init__(self, view):
                self.view = view
            def __del__(self):
                late_emit("plain", self.view.tobytes() == DATA)
        p = Plain(MemoryView(mapped()))
        EXPECT = ["cycle bytearray", "cycle mmap", "cycle export", "cycle ndarray", "plain"]
    """,
    "view of self in a cycle": """
        class Img(bytearray):
            def __del__(self):
                late_emit("img", self.v.tobytes() == DATA)
        img = Img(DATA)
        img.v = MemoryView(img)
        # (a PEP 688 class of the script's own in such a cycle is left out: CPython itself
        # reports "AttributeError: __release_buffer__" for it at exit, builtin or not)
        EXPECT = ["img"]
    """,
    "finalize": """
        v = MemoryView(mapped())
        e = memoryview(v)
        class Token:
            pass
        token = Token()
        weakref.finalize(token, lambda v=v, e=e: late_emit("finalize", [v.tobytes() == DATA,
                                                                  bytes(e) == DATA]))
        EXPECT = ["finalize"]
    """,
    "daemon readers": """
        views = [MemoryView(mapped()) for _ in range(4)] + [MemoryView(bytearray(DATA))]
        n = NDArray(list(DATA), shape=[64])
        bad = []
        def read_forever(v):
            while True:
                if v.tobytes() != DATA or v[3:9].tolist() != list(DATA[3:9]):
                    bad.append(1)
                    late_emit("bad read", True)
                with memoryview(v) as e:
                    bytes(e)
                MemoryView(n).tolist()
        for v in views:
            threading.Thread(target=read_forever, args=(v,), daemon=True).start()
        time.sleep(0.05)
        late_emit("main done", bad == [])
        EXPECT = ["main done"]
    """,
    "daemon writers": """
        big = MemoryView(mmap.mmap(-1, 4 << 20))
        source = bytes(4 << 20)
        def write_forever():
            while True:
                big[:] = source  # memmove without the GIL
                big[0:64] = DATA
        for _ in range(2):
            threading.Thread(target=write_forever, daemon=True).start()
        time.sleep(0.05)
        late_emit("main done", True)
        EXPECT = ["main done"]
    """,
    "other modules": """
        import sys, types
        module = types.ModuleType("holder")
        module.v = MemoryView(mapped())
        module.e = memoryview(module.v)
        module.n = memoryview(NDArray(list(DATA), shape=[64]))
        sys.modules["holder"] = module
        sys.kept = [MemoryView(bytearray(DATA)), memoryview(MemoryView(mapped()))]
        def f():
            return module
        module.f = f
    """,
}


def _all_true(value: object) -> bool:
    return value is True or (isinstance(value, list) and all(item is True for item in value))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_views_alive_at_exit(name: str) -> None:
    body = textwrap.dedent(SCENARIOS[name])
    setup = "" if "exec(COMMON)" in body else "exec(COMMON)\n"
    script = f"COMMON = {textwrap.dedent(COMMON)!r}\nEXPECT = []\n{setup}{body}"
    script += "\nlate_emit('expect', EXPECT)\n"
    verdicts = run(script)
    assert "bad read" not in verdicts, verdicts
    for key in verdicts["expect"]:
        assert key in verdicts, f"{key!r} never reported (its finaliser or handler never ran)"
        assert _all_true(verdicts[key]), f"wrong bytes read at exit: {key!r}: {verdicts[key]}"
