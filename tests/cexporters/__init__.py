"""C test exporters for the conformance checker (see exporters.c and build.py)."""
