"""Tests for squall.testing.pytest_plugin, run in isolated pytest sessions (pytester)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "squall.testing.pytest_plugin"
# In-process runs use the full module name: this session has already imported
# squall.testing, which pytest would then warn it cannot assertion-rewrite.
PLUGIN_ARGS = ("-p", PLUGIN)


def test_plugin_is_not_autoloaded_through_an_entry_point():
    values = {ep.value for ep in entry_points(group="pytest11")}
    assert not any(v.startswith("squall") for v in values)


def test_short_plugin_name_loads_the_plugin(pytester):
    pytester.makepyfile(test_sample="async def test_it(io_loop):\n    assert io_loop is not None\n")
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = pytester.runpytest_subprocess("-p", "squall.testing", "--strict-markers", "-q")
    result.assert_outcomes(passed=1)


def test_without_the_plugin_io_loop_is_unknown(pytester):
    pytester.makepyfile(test_sample="def test_it(io_loop):\n    pass\n")
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'io_loop' not found*"])


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_sample=source)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    return pytester.runpytest_inprocess(*PLUGIN_ARGS, "--strict-markers", "-q", *args)


def test_async_test_runs_on_fresh_io_loop(pytester):
    result = run(
        pytester,
        """
        import asyncio
        from squall.ioloop import IOLoop

        seen = []

        async def test_one(io_loop):
            assert IOLoop.current() is io_loop
            await asyncio.sleep(0)
            seen.append(io_loop)

        async def test_two(io_loop):
            seen.append(io_loop)

        def test_distinct_and_closed():
            assert seen[0] is not seen[1]
            assert all(loop.asyncio_loop.is_closed() for loop in seen)
        """,
    )
    result.assert_outcomes(passed=3)


def test_async_test_without_requesting_io_loop(pytester):
    result = run(
        pytester,
        """
        import asyncio

        async def test_runs():
            await asyncio.sleep(0)
            assert asyncio.get_running_loop() is not None
        """,
    )
    result.assert_outcomes(passed=1)


def test_async_test_failure_is_reported(pytester):
    result = run(
        pytester,
        """
        async def test_fails():
            assert 1 == 2
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 1 == 2*"])


def test_async_test_gets_other_fixtures(pytester):
    result = run(
        pytester,
        """
        import pytest

        @pytest.fixture
        def number():
            return 41

        async def test_uses(number, io_loop):
            assert number + 1 == 42

        @pytest.mark.parametrize("x", [1, 2])
        async def test_param(x):
            assert x in (1, 2)
        """,
    )
    result.assert_outcomes(passed=3)


def test_timeout_marker(pytester):
    result = run(
        pytester,
        """
        import asyncio
        import pytest

        @pytest.mark.squall_timeout(0.05)
        async def test_slow():
            await asyncio.sleep(30)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Operation timed out after 0.05 seconds*"])


def test_timeout_ini_option(pytester):
    pytester.makepyfile(
        test_sample="""
        import asyncio

        async def test_slow():
            await asyncio.sleep(30)
        """
    )
    pytester.makeini("[pytest]\nfilterwarnings = error\nsquall_async_timeout = 0.05\n")
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--strict-markers", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 0.05 seconds*"])


def test_timeout_from_environment(pytester, monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.05")
    result = run(
        pytester,
        """
        import asyncio

        async def test_slow():
            await asyncio.sleep(30)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 0.05 seconds*"])


def test_marker_registered_for_strict_markers(pytester):
    result = run(pytester, "def test_x():\n    pass\n", "--markers")
    result.stdout.fnmatch_lines(["*squall_timeout(seconds)*"])


def test_sync_tests_untouched(pytester):
    result = run(
        pytester,
        """
        def test_plain():
            assert True

        def test_with_loop(io_loop):
            assert io_loop.run_sync(lambda: None) is None
        """,
    )
    result.assert_outcomes(passed=2)


def test_io_loop_fixture_cancels_leftover_tasks(pytester):
    result = run(
        pytester,
        """
        import asyncio

        cancelled = []

        async def test_leave_task(io_loop):
            async def forever():
                try:
                    await asyncio.sleep(100)
                except asyncio.CancelledError:
                    cancelled.append(True)
                    raise
            asyncio.ensure_future(forever())
            await asyncio.sleep(0)

        def test_was_cancelled():
            assert cancelled == [True]
        """,
    )
    result.assert_outcomes(passed=2)


def test_http_fixtures_need_server_and_client_dists(pytester):
    result = run(
        pytester,
        """
        import sys
        import pytest

        @pytest.fixture
        def app():
            return object()

        @pytest.fixture(autouse=True)
        def hide_http(monkeypatch):
            monkeypatch.setitem(sys.modules, "squall.httpserver", None)
            monkeypatch.setitem(sys.modules, "squall.httpclient", None)

        async def test_server(http_server):
            pass

        def test_client(http_client):
            pass
        """,
    )
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ImportError: The http_server fixture needs squall-httpserver and squall-httpclient:"
            " pip install squall-httpserver squall-httpclient*",
            "*ImportError: The http_client fixture needs squall-httpserver*",
        ]
    )


def test_http_port_and_options_fixtures(pytester):
    result = run(
        pytester,
        """
        def test_port(http_port, http_server_options):
            assert 0 < http_port < 65536
            assert http_server_options == {}
        """,
    )
    result.assert_outcomes(passed=1)
