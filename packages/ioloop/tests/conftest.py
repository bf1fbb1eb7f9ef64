"""Shared fixtures for the squall-ioloop tests."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.testing._certs import _write_self_signed

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

LOOPS = ["asyncio"] + (["uvloop"] if uvloop is not None and sys.platform != "win32" else [])


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Runs an async test body on a fresh loop of the parametrized kind, bounded to 10 s."""

    def runner(body: Callable[[], Awaitable[Any]]) -> Any:
        if request.param == "uvloop":
            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(asyncio.wait_for(body(), 10))
        finally:
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    return runner


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1, made once per session."""
    pytest.importorskip("cryptography.x509")
    return _write_self_signed(tmp_path_factory.mktemp("tls"))
