"""bufferkit: the complete PEP 3118 buffer system in pure Python.

The checker (``check_exporter``, ``Finding``, ``Report``) and the reference exporter
(``NDArray``) load on first use, so ``import bufferkit`` costs only the view and
what it stands on; ``bufferkit.testbuffer``, ``render`` and ``cli`` are imported
by name.
"""

from __future__ import annotations

from .flags import BufferFlags
from .formats import Field, Format
from .layout import Layout, Selection
from .managed import BufferInfo, ManagedBuffer, acquire
from .view import MemoryView

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .conformance import Finding, Report, check_exporter
    from .ndarray import NDArray

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

_ON_FIRST_USE = {
    "Finding": "conformance",
    "Report": "conformance",
    "check_exporter": "conformance",
    "NDArray": "ndarray",
}


def __getattr__(name: str) -> object:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'bufferkit' has no attribute {name!r}")
    import importlib

    value: object = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
