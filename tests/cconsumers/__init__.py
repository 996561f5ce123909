"""C test consumers for bufferkit.testing (see consumers.c) and the child that hunts their bugs."""
