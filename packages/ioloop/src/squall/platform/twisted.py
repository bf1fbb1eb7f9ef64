"""A :class:`~squall.netutil.Resolver` backed by Twisted's DNS client (``twisted.names``).

Needs Twisted installed.  Deprecated in Tornado (6.2) and kept for
compatibility; prefer the default resolver.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from squall.netutil import Resolver, is_valid_ip
from twisted.internet import defer
from twisted.names import error as names_error
from twisted.names import hosts as names_hosts

__all__ = ["TwistedResolver", "install"]


class TwistedResolver(Resolver):
    """:class:`~squall.netutil.Resolver` that asks Twisted's DNS client, without threads.

    Names are looked up in ``/etc/hosts`` first, then with Twisted's DNS
    client (driven by a private Twisted reactor on the asyncio loop, created
    on first use; no global reactor is installed).  As in Tornado it
    returns at most one address, ignores everything but *host* and
    *family*, and fails when a *family* is requested that the single
    answer does not have.

    Raises (from :meth:`resolve`):
        OSError: on lookup failure, or when the answer's family differs from *family*.
    """

    _hosts: Any
    _dns: Any
    _reactor: Any

    def initialize(self) -> None:
        self._hosts = names_hosts.Resolver()  # type: ignore[no-untyped-call]
        self._dns = None
        self._reactor = None

    def _dns_resolver(self) -> Any:
        if self._dns is None:
            from twisted.internet.asyncioreactor import AsyncioSelectorReactor
            from twisted.names import client

            self._reactor = AsyncioSelectorReactor(asyncio.get_running_loop())
            self._dns = client.Resolver(  # type: ignore[no-untyped-call]
                resolv="/etc/resolv.conf", reactor=self._reactor
            )
        return self._dns

    def close(self) -> None:
        reactor = self._reactor
        self._reactor = None
        self._dns = None
        if reactor is not None:
            # Release the reactor's waker pipe and any DNS sockets.
            reactor.removeAll()
            waker = getattr(reactor, "waker", None)
            if waker is not None:
                reactor.removeReader(waker)
                waker.connectionLost(None)

    async def _lookup(self, host: str, family: socket.AddressFamily) -> str:
        loop = asyncio.get_running_loop()
        want_v6 = family == socket.AF_INET6
        for source in ("hosts", "dns"):
            resolver = self._hosts if source == "hosts" else self._dns_resolver()
            if want_v6:
                d: defer.Deferred[Any] = resolver.lookupIPV6Address(host)
                try:
                    answers, _auth, _extra = await d.asFuture(loop)
                except (names_error.DomainError, names_error.DNSNameError):
                    continue
                for record in answers:
                    payload = getattr(record, "payload", None)
                    if payload is not None and hasattr(payload, "dottedQuad"):
                        continue
                    if payload is not None:
                        return socket.inet_ntop(socket.AF_INET6, payload.address)
                continue
            d = resolver.getHostByName(host)
            try:
                address: str = await d.asFuture(loop)
            except (names_error.DomainError, names_error.DNSNameError):
                continue
            return address
        raise OSError(f"TwistedResolver: could not resolve {host}")

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        if is_valid_ip(host):
            address = host
        else:
            address = await self._lookup(host, family)
        resolved_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        if family not in (socket.AF_UNSPEC, resolved_family):
            raise OSError(f"Requested socket family {family} but got {resolved_family}")
        return [(resolved_family, (address, port))]


def install() -> Any:
    """Switch Twisted onto the asyncio loop (``asyncioreactor.install()``) and return its reactor.

    Deprecated in Tornado (5.1) and kept for compatibility: with Twisted's
    ``AsyncioSelectorReactor`` installed, Twisted code runs on the same
    asyncio loop as squall. Equivalent to
    ``twisted.internet.asyncioreactor.install()``; it raises Twisted's
    ``ReactorAlreadyInstalledError`` when another reactor is already installed.
    """
    from twisted.internet import asyncioreactor

    asyncioreactor.install()  # type: ignore[no-untyped-call]
    from twisted.internet import reactor

    return reactor
