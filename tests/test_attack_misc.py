"""Attack class 8: the other ways in.

Hashes of exporters that raise; every request flag combination on odd exporters
(against the builtin's ``memoryview._from_flags``, and never reaching past the
buffer's ``len``); exporters that change their layout between requests, release
what they returned, or return odd things; ``MemoryView.from_memory`` bounds;
pickling and copying (views, and NDArray, whose copies must not share memory they
do not own); weak references; an impostor whose ``__class__`` says MemoryView;
subclassing; calling ``__init__`` again on a live view.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from attack import AT_EXIT, run_each, verdict_of
from misc_variants import IMPOSTOR_USES, VARIANTS


@functools.cache
def results() -> dict[str, Any]:
    return run_each("from misc_variants import main; main()", list(VARIANTS))


def test_hash_of_exporters_whose_hash_raises_is_the_builtins() -> None:
    verdict = verdict_of(results(), "hash_of_exporters_that_raise")
    for name, (got, expected, same) in verdict.items():
        assert same, f"{name}: MemoryView gave {got}, the builtin {expected}"


def test_every_request_flag_combination() -> None:
    verdict = verdict_of(results(), "every_request_flag_combination")
    assert verdict["tried"] >= 5000
    assert verdict["beyond"] == [], f"views reaching past the buffer's len: {verdict['beyond']}"
    assert verdict["by exporter"] == {}, f"differs from the builtin: {verdict}"


def test_an_empty_answer_without_nd_reads_no_item() -> None:
    """``MemoryView(empty_numpy_array, BufferFlags.FORMAT)``: NumPy answers ndim 0,
    ``len`` 0, format ``'i'``; the view must have no bytes (the builtin shows
    ``b''``), not one item read past the end of the buffer (here: the next page,
    unmapped -- a segfault)."""
    verdict = verdict_of(results(), "empty_exporter_without_nd_at_the_end_of_a_mapping")
    assert verdict["nbytes"] == 0 and verdict["bytes"] == "", verdict


def test_layout_changes_between_requests_reach_no_view() -> None:
    verdict = verdict_of(results(), "layout_changes_between_requests")
    assert verdict == {
        "calls": 2,
        "first unchanged": True,
        "derived share it": True,
        "second differs": True,
    }


def test_varexport_push_under_live_views() -> None:
    verdict = verdict_of(results(), "varexport_push_under_views")
    assert verdict["old views keep their snapshot"] and verdict["new view sees the push"]
    assert verdict["pop while exported"] == "BufferError"


def test_an_exporter_cannot_release_what_it_returned_under_a_view() -> None:
    verdict = verdict_of(results(), "exporter_releases_what_it_returned")
    assert verdict == {
        "its own release": ["BufferError"],
        "view reads": True,
        "resize under the view": "BufferError",
        "view reads after": True,
    }


def test_odd_buffer_results_are_refused_as_by_the_builtin() -> None:
    verdict = verdict_of(results(), "odd_buffer_results")
    for name, (mine, builtin) in verdict.items():
        assert mine == builtin, (name, mine, builtin)


def test_from_memory_bounds() -> None:
    """Sizes beyond ``Py_ssize_t`` are refused (design: "A size beyond Py_ssize_t is
    refused with ValueError"), not truncated by ctypes into a view whose layout
    is larger than the memory it was made over."""
    verdict = verdict_of(results(), "from_memory_bounds")
    assert verdict.pop("reads") == [[858927408, 926299444], [1650538808, 1717920867]]
    assert verdict.pop("writes") == "X1"
    accepted = {name: got for name, got in verdict.items() if got == "ok"}
    assert accepted == {}, f"accepted: {accepted}"


def test_views_cannot_be_pickled_or_copied() -> None:
    verdict = verdict_of(results(), "pickle_and_copy_views")
    assert set(verdict.values()) == {"TypeError"}, verdict


def test_a_deep_copy_of_an_ndarray_never_reads_the_originals_memory() -> None:
    verdict = verdict_of(results(), "deepcopy_ndarray_owns_its_memory")
    if verdict["deepcopy"] == "ok":
        assert not verdict["shares address"], verdict
        assert verdict["reads"] == [0, 1, 2, 3], verdict


def test_a_copy_of_an_ndarray_is_refused_or_independent() -> None:
    """``_testbuffer.ndarray`` cannot be copied (TypeError); a copy that shares its
    list of bases changes the original when pushed."""
    verdict = verdict_of(results(), "copy_ndarray_is_independent")
    assert verdict["copy"] != "ok" or verdict["original unchanged"], verdict


def test_weak_references() -> None:
    verdict = verdict_of(results(), "weak_references")
    assert verdict["ref"] and verdict["died"]
    assert verdict["memoryview(proxy)"] == "TypeError"
    assert verdict["assign proxy"] == "TypeError"
    assert verdict["proxy after death"] == "ReferenceError"
    assert verdict["resizable"] == "ok"


@pytest.mark.parametrize("use", list(IMPOSTOR_USES))
def test_an_impostor_claiming_to_be_a_memoryview_is_not_trusted(use: str) -> None:
    """An object whose ``__class__`` is MemoryView passes ``isinstance``; bufferkit
    must not take its (made up) address and layout for a view's: a ``TypeError`` or
    a comparison or assignment through its buffer (the builtin's ``ValueError`` for
    its 0 bytes), never a read of 1 MB at address 4096."""
    got, _ = verdict_of(results(), "impostor " + use)
    assert got in ("TypeError", "ValueError", "ok"), got


def test_subclassing() -> None:
    verdict = verdict_of(results(), "subclass")
    assert verdict["subclassing"] == "TypeError" or verdict["works"] == [True, True], verdict


def test_calling_init_again_on_a_live_view() -> None:
    """``view.__init__(other)``: refused (``_testbuffer``'s ndarray and NDArray refuse a
    second initialisation), or the view's exports show the view's new buffer -- not
    the cached exact-format helper of the old one."""
    verdict = verdict_of(results(), "reinitialise_a_live_view")
    if verdict["reinit"] == "ok":
        assert verdict["export shows the view"], verdict
        assert verdict["hash consistent"] == ["ok", True], verdict


def test_the_child_exits_cleanly() -> None:
    assert AT_EXIT not in results(), results()[AT_EXIT]
