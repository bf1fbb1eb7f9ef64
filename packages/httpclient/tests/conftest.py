"""Fixtures for the squall-httpclient tests: client implementations, a live squall server, TLS files.

Every test body runs on a fresh asyncio loop bounded to 10 seconds, so a
client that hangs fails instead of blocking the run.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib
import ipaddress
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

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
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("tls")
    out: dict[str, str] = {}
    now = datetime.datetime.now(datetime.timezone.utc)
    for role in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{role}.localhost")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        (d / f"{role}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (d / f"{role}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        out[f"{role}_cert"] = str(d / f"{role}.crt")
        out[f"{role}_key"] = str(d / f"{role}.key")
    return out
