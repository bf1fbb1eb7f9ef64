"""Fixtures for the squall-httpclient tests: client implementations, a live squall server, TLS files.

Every test body runs on a fresh asyncio loop bounded to 10 seconds, so a
client that hangs fails instead of blocking the run.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from squall.testing._certs import _write_self_signed

# Test modules import their shared helpers from _httpclient_support (next to this file).
sys.path.insert(0, str(Path(__file__).resolve().parent))

_IMPLS = [
    "squall.simple_httpclient.SimpleAsyncHTTPClient",
    "squall.curl_httpclient.CurlAsyncHTTPClient",
]


def _load(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.fixture(params=_IMPLS, ids=["simple", "curl"])
def client_impl(request: pytest.FixtureRequest) -> Any:
    """The client class under test; the curl one only when pycurl and its module import."""
    if "curl" in request.param:
        pytest.importorskip("pycurl")
        try:
            return _load(request.param)
        except (ImportError, AttributeError):
            pytest.skip("squall.curl_httpclient is not available")
    return _load(request.param)


@pytest.fixture
def run() -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Run an async test body on a new loop, bounded to 10 s."""

    def runner(body: Callable[[], Awaitable[Any]]) -> Any:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(asyncio.wait_for(body(), 10))
        finally:
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    return runner


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA-less self-signed server certificate and a client certificate (both for 127.0.0.1)."""
    pytest.importorskip("cryptography.x509")
    folder = tmp_path_factory.mktemp("tls")
    out: dict[str, str] = {}
    for role in ("server", "client"):
        cert, key = _write_self_signed(folder, f"{role}.localhost", f"{role}.crt", f"{role}.key")
        out[f"{role}_cert"], out[f"{role}_key"] = cert, key
    return out
