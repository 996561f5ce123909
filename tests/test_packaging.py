"""Packaging: the source distribution holds what its tests need, the description on
PyPI has no link that only works in the repository, and the version is stated once."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import bufferkit

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)[^)]*\)|<a [^>]*href=\"([^\"]+)\"")


_SOURCE_DIRS = ("src", "tests", "docs", "benchmarks")
_NOT_SOURCE = {".git", "__pycache__", ".hypothesis", ".pytest_cache", ".mypy_cache"}
_NOT_SOURCE |= {".ruff_cache", "build", "dist"}


def _source_files() -> list[Path]:
    """The files of this source tree: git's where git runs, else every file that is
    not a cache or a build product (an unpacked sdist, a tree without git)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # no git here
        listed = None
    if listed is not None and listed.returncode == 0 and listed.stdout:
        return [Path(name) for name in listed.stdout.split("\0") if name]
    return [
        path.relative_to(ROOT)
        for path in ROOT.rglob("*")
        if path.is_file()
        and not _NOT_SOURCE & set(path.relative_to(ROOT).parts)
        and not any(part.endswith(".egg-info") for part in path.parts)
    ]


def test_the_sdist_holds_everything_the_tests_need(tmp_path: Path) -> None:
    tree, out = tmp_path / "tree", tmp_path / "dist"
    for name in _source_files():
        sdist_material = len(name.parts) == 1 or name.parts[0] in _SOURCE_DIRS
        if sdist_material and (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    built = subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
         "print(b.build_sdist(sys.argv[1]))", str(out)],
        cwd=tree, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    with tarfile.open(out / built.stdout.split()[-1]) as archive:
        top = archive.getnames()[0].split("/")[0]
        shipped = {name.removeprefix(top + "/") for name in archive.getnames()}
    needed = {p.as_posix() for p in _source_files() if p.parts[0] in ("src", "tests", "docs")}
    needed |= {"README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml", "MANIFEST.in"}
    assert needed - shipped == set()
    assert not any(name.endswith((".pyc", ".so")) for name in shipped)


def test_the_description_on_pypi_has_no_relative_link() -> None:
    assert "readme" in PYPROJECT["project"]["dynamic"]
    readme = PYPROJECT["tool"]["setuptools"]["dynamic"]["readme"]
    assert readme["content-type"] == "text/markdown"
    documents = [ROOT / name for name in readme["file"]]
    assert documents[0].name == "README.md"
    assert {p.name for p in documents} >= {p.name for p in (ROOT / "docs").glob("*.md")}
    for document in documents:
        for match in LINK.finditer(document.read_text(encoding="utf-8")):
            target = match.group(1) or match.group(2)
            assert target.startswith(("https://", "http://", "mailto:")), (document.name, target)


def test_the_project_urls_are_absolute_and_name_what_bufferkit_implements() -> None:
    urls = PYPROJECT["project"]["urls"]
    assert all(url.startswith("https://") for url in urls.values())
    assert {"https://bugs.python.org/issue10181", "https://peps.python.org/pep-3118/"} <= set(
        urls.values()
    )


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert not any("License ::" in c for c in project["classifiers"])  # the SPDX field says it
    requires = PYPROJECT["build-system"]["requires"]
    assert requires == ["setuptools>=77"]  # the first with license expressions and files


def test_the_version_is_stated_once() -> None:
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "bufferkit.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", bufferkit.__version__)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {bufferkit.__version__}" in changelog


def test_the_quick_start_is_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert block.splitlines() == [
        "python3 -m pip install . && bufferkit check",
        "python3 -m pip install '.[test]' && python3 -m pytest",
    ]
