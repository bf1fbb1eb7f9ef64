"""Tests for the optional resolvers: c-ares (pycares) and Twisted.  Loopback names only."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.netutil import Resolver


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 10))


def cares() -> type[Resolver]:
    pytest.importorskip("pycares")
    from squall.platform.caresresolver import CaresResolver

    return CaresResolver


def twisted() -> type[Resolver]:
    pytest.importorskip("twisted")
    from squall.platform.twisted import TwistedResolver

    return TwistedResolver


@pytest.fixture(params=["cares", "twisted"])
def resolver_class(request: pytest.FixtureRequest) -> type[Resolver]:
    return cares() if request.param == "cares" else twisted()


def test_resolves_localhost_to_loopback(resolver_class: type[Resolver]) -> None:
    async def body() -> None:
        r = resolver_class()
        try:
            result = await r.resolve("localhost", 80, socket.AF_INET)
            assert (socket.AF_INET, ("127.0.0.1", 80)) in result
        finally:
            r.close()

    run(body)


def test_resolves_localhost_unspec(resolver_class: type[Resolver]) -> None:
    async def body() -> None:
        r = resolver_class()
        try:
            result = await r.resolve("localhost", 8080)
            assert result
            assert all(addr[1] == 8080 for _fam, addr in result)
            assert any(addr[0] in ("127.0.0.1", "::1") for _fam, addr in result)
        finally:
            r.close()

    run(body)


def test_ip_literal_is_returned_as_is(resolver_class: type[Resolver]) -> None:
    async def body() -> None:
        r = resolver_class()
        try:
            assert await r.resolve("127.0.0.1", 443) == [(socket.AF_INET, ("127.0.0.1", 443))]
            v6 = await r.resolve("::1", 443)
            assert v6[0][0] == socket.AF_INET6
            assert v6[0][1][:2] == ("::1", 443)
        finally:
            r.close()

    run(body)


def test_literal_of_wrong_family_fails(resolver_class: type[Resolver]) -> None:
    async def body() -> None:
        r = resolver_class()
        try:
            with pytest.raises(OSError):
                await r.resolve("127.0.0.1", 80, socket.AF_INET6)
        finally:
            r.close()

    run(body)


def test_configurable_as_default(resolver_class: type[Resolver]) -> None:
    saved = Resolver._save_configuration()  # type: ignore[attr-defined]
    try:
        Resolver.configure(resolver_class)

        async def body() -> None:
            r = Resolver()
            try:
                assert isinstance(r, resolver_class)
                assert (socket.AF_INET, ("127.0.0.1", 1)) in await r.resolve(
                    "localhost", 1, socket.AF_INET
                )
            finally:
                r.close()

        run(body)
    finally:
        Resolver._restore_configuration(saved)  # type: ignore[attr-defined]


def test_cares_resolver_families_are_address_families() -> None:
    cls = cares()

    async def body() -> None:
        r = cls()
        try:
            for fam, _addr in await r.resolve("localhost", 80):
                assert fam in (socket.AF_INET, socket.AF_INET6)
        finally:
            r.close()

    run(body)


def test_twisted_install_sets_the_asyncio_reactor_in_a_fresh_process():
    pytest.importorskip("twisted")
    import subprocess
    import sys

    code = (
        "import asyncio, warnings\n"
        "asyncio.set_event_loop(asyncio.new_event_loop())\n"
        "from squall.platform.twisted import install\n"
        "reactor = install()\n"
        "from twisted.internet.asyncioreactor import AsyncioSelectorReactor\n"
        "assert isinstance(reactor, AsyncioSelectorReactor), type(reactor)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
