"""TLS helpers: turn Tornado-style ``ssl_options`` dicts into :class:`ssl.SSLContext`."""

from __future__ import annotations

import socket
import ssl
from typing import Any

__all__ = ["ssl_options_to_context", "ssl_wrap_socket"]

# The keys a dict of ``ssl_options`` may hold (the ``ssl.wrap_socket`` arguments).
_SSL_PARAMS = frozenset({"ssl_version", "certfile", "keyfile", "cert_reqs", "ca_certs", "ciphers"})

_defaults: dict[bool, ssl.SSLContext] = {}


def _client_ssl_defaults() -> ssl.SSLContext:
    """The default client context (verifies certificates); built on first use."""
    ctx = _defaults.get(False)
    if ctx is None:
        ctx = _defaults[False] = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    return ctx


def _server_ssl_defaults() -> ssl.SSLContext:
    """The default server context (no certificate loaded); built on first use."""
    ctx = _defaults.get(True)
    if ctx is None:
        ctx = _defaults[True] = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    return ctx


def ssl_options_to_context(
    ssl_options: dict[str, Any] | ssl.SSLContext, server_side: bool | None = None
) -> ssl.SSLContext:
    """Returns an :class:`ssl.SSLContext` built from an ``ssl_options`` dict.

    A context passed in is returned unchanged.  Dict keys are those of the old
    ``ssl.wrap_socket`` (``ssl_version``, ``certfile``, ``keyfile``,
    ``cert_reqs``, ``ca_certs``, ``ciphers``).  *server_side* picks
    ``PROTOCOL_TLS_SERVER`` (``True``) or ``PROTOCOL_TLS_CLIENT`` (``False``,
    which verifies certificates and host names unless ``cert_reqs`` says
    otherwise).

    Difference from Tornado: ``server_side=None`` builds a server-protocol
    context with verification off (Tornado uses the deprecated generic
    ``PROTOCOL_TLS``, which warns).

    Raises:
        ValueError: for a key that is not one of the above.
    """
    if isinstance(ssl_options, ssl.SSLContext):
        return ssl_options
    if not isinstance(ssl_options, dict):
        raise TypeError(f"ssl_options must be a dict or SSLContext, not {type(ssl_options)!r}")
    unknown = set(ssl_options) - _SSL_PARAMS
    if unknown:
        raise ValueError(f"unknown ssl_options keys: {sorted(unknown)}")
    if "ssl_version" in ssl_options:
        protocol = ssl_options["ssl_version"]
    elif server_side is False:
        protocol = ssl.PROTOCOL_TLS_CLIENT
    else:
        protocol = ssl.PROTOCOL_TLS_SERVER
    context = ssl.SSLContext(protocol)
    if "certfile" in ssl_options:
        context.load_cert_chain(ssl_options["certfile"], ssl_options.get("keyfile"))
    if "cert_reqs" in ssl_options:
        if ssl_options["cert_reqs"] == ssl.CERT_NONE:
            context.check_hostname = False
        context.verify_mode = ssl_options["cert_reqs"]
    if "ca_certs" in ssl_options:
        context.load_verify_locations(ssl_options["ca_certs"])
    elif context.verify_mode != ssl.CERT_NONE and protocol == ssl.PROTOCOL_TLS_CLIENT:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if "ciphers" in ssl_options:
        context.set_ciphers(ssl_options["ciphers"])
    if hasattr(ssl, "OP_NO_COMPRESSION"):
        # Compression enables the CRIME attack.
        context.options |= ssl.OP_NO_COMPRESSION
    return context


def ssl_wrap_socket(
    socket: socket.socket,
    ssl_options: dict[str, Any] | ssl.SSLContext,
    server_hostname: str | None = None,
    server_side: bool | None = None,
    **kwargs: Any,
) -> ssl.SSLSocket:
    """Put TLS on top of the plain *socket* and return the :class:`ssl.SSLSocket`.

    *ssl_options* is a dict (see :func:`ssl_options_to_context`) or a
    context.  *server_hostname* is sent for SNI (clients only).  Any other
    keyword is forwarded unchanged to :meth:`ssl.SSLContext.wrap_socket`.
    """
    context = ssl_options_to_context(ssl_options, server_side=server_side)
    if server_side is None:
        server_side = context.protocol == ssl.PROTOCOL_TLS_SERVER
    if server_side or not ssl.HAS_SNI:
        server_hostname = None
    return context.wrap_socket(
        socket, server_hostname=server_hostname, server_side=server_side, **kwargs
    )
