"""Attack class 6: format strings shared between threads, caches and exports.

Worker threads make views with thousands of distinct format texts (casts, ``tolist``,
``memoryview(v)`` exports, ``struct.unpack_from(fmt, v)``, NDArrays and their
exports, texts longer than the format cache takes), so every cache turns over,
while checker threads hold exports made at the start and check, again and again,
that each export's ``format`` and bytes are still what they were (a format C
string freed or shared by mistake shows as a changed text, or a crash).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from attack import run

CODE = """
import random, struct, sys, threading, time
from bufferkit import MemoryView, NDArray

sys.setswitchinterval(1e-6)
SECONDS = float(sys.argv[1])
DATA = bytes(range(256)) * 16  # 4096 bytes
SCALARS = [">i", "<i", "=i", "!i", "<I", ">f", "<f", ">q", "<d", "=Q", "!d", "<l", ">L"]
NAMED = ["T{<h:a%d:<h:b%d:}" % (i, i) for i in range(1500)]           # 4 bytes each
NESTED = ["T{<i:x%d:T{>h:y:>h:z%d:}:w:}" % (i, i) for i in range(1500)]  # 8 bytes each
LONG = ["T{" + "".join("<b:f%d_%d:" % (i, j) for j in range(64)) + "}" for i in range(40)]
FORMATS = SCALARS + NAMED + NESTED + LONG
base = MemoryView(bytearray(DATA))

def expected_format(fmt):
    return fmt

held = []
for fmt in random.Random(1).sample(FORMATS, 200) + SCALARS + LONG[:3]:
    view = base.cast(fmt)
    export = memoryview(view)
    held.append((fmt, view, export, export.tobytes()))
arrays = []
for i in range(50):
    fmt = ">i" if i % 2 else "<d"
    array = NDArray(list(range(8)), shape=[8], format=fmt)
    arrays.append((fmt, array, memoryview(array), bytes(memoryview(array))))

stop = threading.Event()
problems = []
work_done = [0]
checks = [0]

def churn(seed):
    rnd = random.Random(seed)
    while not stop.is_set():
        fmt = rnd.choice(FORMATS)
        view = base.cast(fmt)
        with memoryview(view) as export:
            if export.format != fmt:
                problems.append(("fresh export", fmt, export.format))
        view.tolist() if rnd.random() < 0.3 else view[0]
        if fmt in SCALARS:
            struct.unpack_from(fmt, view)
            struct.unpack_from(fmt, view.cast("B"), 4)
        code = rnd.choice(["<h", ">i", "<q", ">d", "=H", "<f"])
        array = NDArray(list(range(4)), shape=[4], format=code)
        with memoryview(array) as export:
            if export.format != code:
                problems.append(("ndarray export", code, export.format))
        MemoryView(array).cast("B").cast(rnd.choice(SCALARS[:4]))
        work_done[0] += 1

def check():
    while not stop.is_set():
        for fmt, view, export, data in held:
            if export.format != fmt or view.format != fmt:
                problems.append(("held export", fmt, export.format, view.format))
            if export.tobytes() != data:
                problems.append(("held bytes", fmt))
        for fmt, array, export, data in arrays:
            if export.format != fmt or array.format != fmt or bytes(export) != data:
                problems.append(("held ndarray export", fmt, export.format))
        checks[0] += 1

threads = [threading.Thread(target=churn, args=(n,)) for n in range(3)]
threads += [threading.Thread(target=check) for _ in range(2)]
for thread in threads:
    thread.start()
time.sleep(SECONDS)
stop.set()
for thread in threads:
    thread.join()
for _, _, export, _ in held + arrays:
    export.release()  # (exports left at exit: test_attack_shutdown's business)
emit("result", {"problems": [repr(p) for p in problems[:10]], "work": work_done[0],
                "checks": checks[0]})
"""


@functools.cache
def result(seconds: float) -> dict[str, Any]:
    verdict: dict[str, Any] = run(CODE, args=(str(seconds),))["result"]
    return verdict


@pytest.mark.parametrize("seconds", [1.5])
def test_exports_keep_their_format_texts_while_threads_churn_formats(seconds: float) -> None:
    got = result(seconds)
    assert got["work"] >= 100 and got["checks"] >= 5, f"too little happened: {got}"
    assert got["problems"] == [], got["problems"]
