"""The ``bufferkit`` command.

Invariants: ``main`` never lets a traceback reach the user for bad input; usage
errors exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bufferkit`` command."""
    parser = argparse.ArgumentParser(
        prog="bufferkit",
        description="The PEP 3118 buffer system in pure Python: check exporters, "
        "inspect buffers, picture layouts.",
    )
    parser.add_argument("--version", action="version", version=f"bufferkit {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    build_parser().parse_args(argv)
    return 0
