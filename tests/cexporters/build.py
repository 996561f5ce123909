"""Compile exporters.c (or any test extension) into a module for the running interpreter.

``build(directory)`` returns the imported module, or raises ``BuildUnavailable``
when there is no C compiler or no Python headers (tests then skip);
``compile_extension`` and ``load`` do the two steps for any C file.
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


def compile_extension(source: Path, module: str, directory: Path) -> Path:
    """Compile the C file ``source`` into extension ``module`` in ``directory``: its path."""
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").is_file():
        raise BuildUnavailable(f"no Python.h in {include}")
    target = directory / (module + str(sysconfig.get_config_var("EXT_SUFFIX")))
    command = [compiler(), "-shared", "-fPIC", "-O1", "-Wall", "-Wextra"]
    command += [f"-I{include}", str(source), "-o", str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildUnavailable(f"compiling {source.name} failed:\n{result.stderr}")
    return target


def load(path: Path, module: str) -> ModuleType:
    """Import the extension ``module`` compiled at ``path``."""
    spec = importlib.util.spec_from_file_location(module, path)
    if spec is None or spec.loader is None:
        raise BuildUnavailable(f"cannot load {path}")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def build(directory: Path) -> ModuleType:
    """Compile and import ``bkexporters`` in ``directory``."""
    return load(compile_extension(SOURCE, MODULE, directory), MODULE)
