"""Tests for squall.ioloop.use_event_loop / event_loop_kind and SQUALL_EVENT_LOOP.

Choosing a loop changes the process's asyncio policy, so most cases run in a
child interpreter.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest
from squall.ioloop import event_loop_kind, use_event_loop

try:
    import uvloop
except ImportError:  # pragma: no cover - the test group installs it
    uvloop = None  # type: ignore[assignment]

needs_uvloop = pytest.mark.skipif(
    uvloop is None or sys.platform == "win32", reason="uvloop is not installed"
)


def child(source: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SQUALL_EVENT_LOOP"}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )


REPORT = """
    import asyncio, logging
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from squall.ioloop import IOLoop, event_loop_kind
    loop = IOLoop.current()
    print(type(loop.asyncio_loop).__module__.split(".")[0], event_loop_kind())
"""


@needs_uvloop
def test_environment_variable_picks_uvloop_and_says_so() -> None:
    done = child(REPORT, SQUALL_EVENT_LOOP="uvloop")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["uvloop", "uvloop"]
    assert "event loop: uvloop" in done.stderr and "SQUALL_EVENT_LOOP" in done.stderr


def test_no_variable_means_asyncio_and_no_log_line() -> None:
    done = child(REPORT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "asyncio"
    assert "event loop:" not in done.stderr


def test_unknown_variable_value_is_an_error() -> None:
    done = child(REPORT, SQUALL_EVENT_LOOP="trio")
    assert done.returncode != 0
    assert "unknown event loop 'trio' (from $SQUALL_EVENT_LOOP)" in done.stderr


@needs_uvloop
def test_use_event_loop_covers_asyncio_run_and_can_go_back() -> None:
    done = child(
        """
        import asyncio
        from squall.ioloop import use_event_loop, event_loop_kind

        async def kind():
            return type(asyncio.get_running_loop()).__module__.split(".")[0], event_loop_kind()

        print(use_event_loop("uvloop"), *asyncio.run(kind()))
        print(use_event_loop("asyncio"), *asyncio.run(kind()))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["uvloop uvloop uvloop", "asyncio asyncio asyncio"]


def test_missing_uvloop_is_a_clear_error() -> None:
    done = child(
        """
        import sys
        sys.modules["uvloop"] = None  # as if it were not installed
        from squall.ioloop import use_event_loop
        try:
            use_event_loop("uvloop")
        except RuntimeError as exc:
            print(exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "uvloop is not installed" in done.stdout and "squall-ioloop[uvloop]" in done.stdout


def test_a_running_loop_of_the_other_kind_is_refused() -> None:
    async def inside() -> None:
        with pytest.raises(RuntimeError, match="already has an asyncio loop"):
            use_event_loop("uvloop")
        assert use_event_loop("asyncio") == "asyncio"  # what runs already: fine
        assert event_loop_kind() == "asyncio"

    asyncio.run(inside())


def test_unknown_kind_argument() -> None:
    with pytest.raises(ValueError, match="use one of"):
        use_event_loop("gevent")
