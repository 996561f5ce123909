"""bufferkit: the complete PEP 3118 buffer system in pure Python."""

from __future__ import annotations

from .conformance import Finding, Report, check_exporter
from .flags import BufferFlags
from .formats import Field, Format
from .layout import Layout, Selection
from .managed import BufferInfo, ManagedBuffer, acquire
from .ndarray import NDArray
from .view import MemoryView

__version__ = "0.1.0"

__all__ = [
    "BufferFlags",
    "BufferInfo",
    "Field",
    "Finding",
    "Format",
    "Layout",
    "ManagedBuffer",
    "MemoryView",
    "NDArray",
    "Report",
    "Selection",
    "__version__",
    "acquire",
    "check_exporter",
]
