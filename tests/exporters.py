"""Instrumented PEP 688 exporters for the tests: they count every getbuffer and release."""

from __future__ import annotations

from typing import Any

from bufferkit.flags import wants_format, wants_shape, wants_writable


class CountingExporter:
    """Exports the buffer of ``target`` through ``__buffer__`` and counts the traffic.

    ``gets`` counts successful getbuffers, ``releases`` their releases. A request
    that the builtin memoryview of ``target`` would refuse is refused before it
    is counted, so ``gets - releases`` is the number of exports held.
    """

    def __init__(self, target: Any = None) -> None:
        self.target = bytearray(b"0123456789abcdef") if target is None else target
        self.gets = 0
        self.releases = 0
        self.requests: list[int] = []

    @property
    def held(self) -> int:
        """Exports obtained and not yet released."""
        return self.gets - self.releases

    def __buffer__(self, flags: int) -> memoryview:
        self.requests.append(flags)
        view = memoryview(self.target)
        if wants_writable(flags) and view.readonly:
            raise BufferError("CountingExporter: read-only")
        if wants_format(flags) and not wants_shape(flags):
            raise BufferError("CountingExporter: format without shape")
        if not wants_shape(flags) and not view.c_contiguous:
            raise BufferError("CountingExporter: not C-contiguous")
        self.gets += 1
        return view

    def __release_buffer__(self, view: memoryview) -> None:
        self.releases += 1
        view.release()


class FailingExporter:
    """An exporter whose every request fails with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.gets = 0

    def __buffer__(self, flags: int) -> memoryview:
        self.gets += 1
        raise self.error
