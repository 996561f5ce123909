"""Tests of the pytest plugin of bufferkit.testing, run in pytest's own ``pytester``.

Where bufferkit is installed (CI) its ``pytest11`` entry point loads the plugin, as
pytest loaded it for this session; in an editable checkout made before the entry point
existed, ``-p bufferkit.pytest_plugin`` does.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def args(pytestconfig: pytest.Config) -> tuple[str, ...]:
    """The arguments of an inner pytest run that load the plugin once."""
    installed = pytestconfig.pluginmanager.has_plugin("bufferkit")  # by its entry point
    return (*(() if installed else ("-p", "bufferkit.pytest_plugin")), "-p", "no:cacheprovider")


def test_the_fixture_fails_a_test_that_leaves_an_export_held(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        """
        from bufferkit import NDArray

        held = []

        def test_leaves_one_held(track_buffers):
            held.append(memoryview(track_buffers(NDArray([1, 2], shape=[2]))))

        def test_releases_all(track_buffers):
            with memoryview(track_buffers(b"abc")):
                pass
        """
    )
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_one_held*",
            "*tracked exports left unreleased:",
            "*NDArray format='B' shape=(2,) strides=(1,) read-only: export #1 FULL_RO not released",
        ]
    )


def test_the_marker_checks_every_example_of_a_property(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from hypothesis import given, settings
        from bufferkit.testing import buffers, track

        held = []

        @pytest.mark.buffers(max_examples=5)
        @settings(database=None, derandomize=True)
        @given(buffers())
        def test_keeps_every_export(array):
            held.append(memoryview(track(array)))

        @pytest.mark.buffers(max_examples=5)
        @settings(database=None, derandomize=True)
        @given(buffers())
        def test_releases_every_export(array):
            memoryview(track(array)).release()
        """
    )
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_keeps_every_export*"])
    assert result.stdout.str().count("not released") >= 5


COUNTING = """
    import pytest
    from hypothesis import given, settings, strategies as st

    calls = {{}}

    def count(name):
        calls[name] = calls.get(name, 0) + 1

    @pytest.mark.buffers{marker}
    @settings(database=None)
    @given(st.integers())
    def test_marked(n):
        count("marked")

    @pytest.mark.buffers(max_examples=10)
    @settings(database=None, max_examples=150)
    @given(st.integers())
    def test_asks_for_more(n):
        count("more")

    @given(st.integers())
    def test_unmarked(n):
        count("unmarked")

    def test_counts():
        assert calls == {{"marked": {marked}, "more": 150, "unmarked": 100}}
"""


@pytest.mark.parametrize(
    ("marker", "option", "marked"),
    [("(max_examples=120)", None, 120), ("", "130", 130), ("", None, 1000)],
    ids=["marker", "option", "default"],
)
def test_the_marker_raises_the_example_count(
    pytester: pytest.Pytester, args: tuple[str, ...], marker: str, option: str | None, marked: int
) -> None:
    pytester.makepyfile(COUNTING.format(marker=marker, marked=marked))
    options = ("--buffers-examples", option) if option else ()
    result = pytester.runpytest(*args, *options)
    result.assert_outcomes(passed=4)


def test_a_bad_example_count_is_a_usage_error(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.buffers(max_examples="many")
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*max_examples must be a positive int*"])
