"""``python -m bufferkit``: the same as the ``bufferkit`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
