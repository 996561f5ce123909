"""Test-suite settings: Hypothesis runs derandomized unless asked otherwise.

The submission gate must not depend on luck: by default every property test
draws the same examples on every run (``derandomize``). Set
``BUFFERKIT_HYPOTHESIS_RANDOM=1`` to explore new examples (with a fresh seed
each run), as a development habit; ``BUFFERKIT_EXAMPLES_SCALE`` (tests/layouts.py)
makes the layout-matrix runs longer.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("gate", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile("explore" if os.environ.get("BUFFERKIT_HYPOTHESIS_RANDOM") else "gate")
