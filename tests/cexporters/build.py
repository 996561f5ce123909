"""Compile exporters.c into an extension module for the running interpreter.

``build(directory)`` returns the imported module, or raises ``BuildUnavailable``
when there is no C compiler or no Python headers (tests then skip).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).with_name("exporters.c")
MODULE = "bkexporters"


class BuildUnavailable(Exception):
    """No compiler or headers: the C exporters cannot be built here."""


def compiler() -> str:
    """The C compiler to use (``$CC``-free: gcc or cc on PATH)."""
    for name in ("gcc", "cc"):
        found = shutil.which(name)
        if found:
            return found
    raise BuildUnavailable("no C compiler (gcc or cc) on PATH")


def build(directory: Path) -> ModuleType:
    """Compile and import ``bkexporters`` in ``directory``."""
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").is_file():
        raise BuildUnavailable(f"no Python.h in {include}")
    target = directory / (MODULE + str(sysconfig.get_config_var("EXT_SUFFIX")))
    command = [compiler(), "-shared", "-fPIC", "-O1", "-Wall", "-Wextra"]
    command += [f"-I{include}", str(SOURCE), "-o", str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildUnavailable(f"compiling {SOURCE.name} failed:\n{result.stderr}")
    spec = importlib.util.spec_from_file_location(MODULE, target)
    if spec is None or spec.loader is None:
        raise BuildUnavailable(f"cannot load {target}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
