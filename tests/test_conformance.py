"""Tests of bufferkit.conformance: C exporters that break one rule each, the
standard exporters, and the checker's own hygiene (no leaked exports)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bufferkit import _capi
from bufferkit.flags import BufferFlags
from cexporters.build import BuildUnavailable, build


@pytest.fixture(scope="session")
def cexp(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The compiled C exporters (skip where they cannot be built)."""
    directory: Path = tmp_path_factory.mktemp("cexporters")
    try:
        return build(directory)
    except BuildUnavailable as error:
        pytest.skip(str(error))


def test_the_correct_c_exporter_serves_the_builtin_memoryview(cexp: Any) -> None:
    exporter = cexp.Exporter()
    with memoryview(exporter) as view:
        assert (view.shape, view.strides, view.format) == ((3, 4), (16, 4), "i")
        assert view.tolist() == [list(range(r * 4, r * 4 + 4)) for r in range(3)]
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_the_fortran_c_exporter_refuses_c_requests(cexp: Any) -> None:
    exporter = cexp.Exporter(order="F")
    with memoryview(exporter) as view:
        assert view.strides == (4, 12) and view.f_contiguous
    for flags in (BufferFlags.SIMPLE, BufferFlags.ND, BufferFlags.C_CONTIGUOUS):
        with pytest.raises(BufferError):
            _capi.RawBuffer(exporter, flags)
    assert (exporter.gets, exporter.releases) == (1, 1)


def test_an_unknown_fault_is_refused(cexp: Any) -> None:
    with pytest.raises(ValueError, match="nonsense"):
        cexp.Exporter(fault="nonsense")
