"""Who is on the other end: the per-request peer context and the proxy-header rules.

:class:`_PeerContext` is what ``request.connection.context`` holds (the
client's address, ``remote_ip`` and ``protocol``, which
:class:`~squall.httputil.HTTPServerRequest` reads). :func:`_resolve_forwarded`
is the I/O-free rule ``xheaders=True`` applies to each request behind a
reverse proxy; it only looks at a header mapping and returns new values.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Mapping
from typing import Any

from squall.netutil import is_valid_ip

__all__: list[str] = []

_SCHEMES = ("http", "https")


class _PeerContext:
    """The connection facts an application may ask for (``request.connection.context``).

    ``address`` is the socket peer address as accepted, ``remote_ip`` the
    client's IP (the proxy's view with ``xheaders``), ``protocol`` ``"http"``
    or ``"https"``; ``trusted_downstream`` the proxies skipped in
    ``X-Forwarded-For``.  ``str(context)`` is the remote IP, for log lines.
    """

    __slots__ = ("address", "address_family", "protocol", "remote_ip", "trusted_downstream")

    def __init__(
        self,
        address: Any,
        family: int,
        remote_ip: str | None,
        protocol: str,
        trusted_downstream: Collection[str],
    ) -> None:
        self.address = address
        self.address_family = family
        self.remote_ip = remote_ip
        self.protocol = protocol
        self.trusted_downstream = trusted_downstream

    def __str__(self) -> str:
        return self.remote_ip or "unknown peer"

    def _with(self, remote_ip: str | None, protocol: str) -> _PeerContext:
        return _PeerContext(
            self.address, self.address_family, remote_ip, protocol, self.trusted_downstream
        )


def _peer_context(address: Any, protocol: str, trusted_downstream: Collection[str]) -> _PeerContext:
    """The context of a freshly accepted connection from ``address``."""
    family: int
    if isinstance(address, tuple) and address:
        family = socket.AF_INET6 if ":" in str(address[0]) else socket.AF_INET
        ip: str | None = str(address[0])
    else:
        # A Unix socket (or an unknown transport): no IP; log lines show a
        # stand-in, as Tornado does.
        family = socket.AF_UNIX if hasattr(socket, "AF_UNIX") else 0
        ip = "0.0.0.0"
    return _PeerContext(address, family, ip, protocol, trusted_downstream)


def _resolve_forwarded(
    headers: Mapping[str, str],
    remote_ip: str | None,
    protocol: str,
    trusted_downstream: Collection[str] = (),
) -> tuple[str | None, str]:
    """``(remote_ip, protocol)`` for a request that came through a reverse proxy.

    The client address is the rightmost ``X-Forwarded-For`` hop that is not in
    ``trusted_downstream`` (the leftmost one when every hop is trusted);
    ``X-Real-IP``, when present, wins over ``X-Forwarded-For``.  A value that
    is not an IP address literal is ignored: the address stays ``remote_ip``
    (a hop we cannot read is never skipped in favour of one further left,
    which the client could have forged).  The scheme comes from ``X-Scheme``,
    else from the last element of ``X-Forwarded-Proto``; only ``http`` and
    ``https`` (any case) are taken, anything else keeps ``protocol``.
    """
    claimed = headers.get("X-Real-Ip")
    if claimed is None:
        chain = headers.get("X-Forwarded-For")
        if chain is not None:
            hops = [hop.strip(" \t") for hop in chain.split(",")]
            claimed = hops[0]
            for hop in reversed(hops):
                if hop not in trusted_downstream:
                    claimed = hop
                    break
    if claimed is not None:
        claimed = claimed.strip(" \t")
        if is_valid_ip(claimed):
            remote_ip = claimed
    scheme = headers.get("X-Scheme")
    if scheme is None:
        scheme = headers.get("X-Forwarded-Proto")
        if scheme is not None:
            scheme = scheme.rpartition(",")[2]
    if scheme is not None:
        scheme = scheme.strip(" \t").lower()
        if scheme in _SCHEMES:
            protocol = scheme
    return remote_ip, protocol
