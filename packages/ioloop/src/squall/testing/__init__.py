"""Support for testing asynchronous code: unittest cases, helpers and a pytest plugin.

* :class:`AsyncTestCase` runs each test with a fresh
  :class:`~squall.ioloop.IOLoop`; :func:`gen_test` runs coroutine tests on it.
* :class:`AsyncHTTPTestCase` / :class:`AsyncHTTPSTestCase` also start an
  HTTP(S) server for an application (they need squall-httpserver and
  squall-httpclient, imported only when a test is set up).
* :class:`ExpectLog` swallows (and checks for) expected log messages.
* :func:`main` is a unittest runner with options and autoreload support.
* :mod:`squall.testing.pytest_plugin` gives pytest an ``io_loop`` fixture,
  plain ``async def`` tests, and ``app`` -> ``http_server``/``fetch`` fixtures;
  ``pytest -p squall.testing`` enables it.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._case import AsyncTestCase, gen_test
from ._helpers import (
    ExpectLog,
    bind_unused_port,
    get_async_test_timeout,
    setup_with_context_manager,
)
from ._http import AsyncHTTPSTestCase, AsyncHTTPTestCase
from ._runner import main

__all__ = [
    "AsyncHTTPSTestCase",
    "AsyncHTTPTestCase",
    "AsyncTestCase",
    "ExpectLog",
    "bind_unused_port",
    "gen_test",
    "get_async_test_timeout",
    "main",
    "setup_with_context_manager",
]

# ``pytest -p squall.testing`` registers this module as a plugin; pytest then
# loads the plugins it names (the fixtures and hooks live in pytest_plugin, so
# that importing squall.testing never needs pytest).
pytest_plugins = ["squall.testing.pytest_plugin"]


_publish_public_names(globals())
