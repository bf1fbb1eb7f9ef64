"""TLS set-up: the shared default contexts and the ``ssl_options`` dict translation.

squall accepts TLS settings in two shapes: a ready :class:`ssl.SSLContext`, or
the older dict of ``ssl.wrap_socket``-style keywords.  Everything here turns
the second shape into the first; streams and servers only ever see contexts.
"""

from __future__ import annotations

import functools
import socket
import ssl
from typing import Any

__all__ = ["ssl_options_to_context", "ssl_wrap_socket"]

# The keywords an ``ssl_options`` dict may use.
_DICT_KEYS = frozenset(("ca_certs", "cert_reqs", "certfile", "ciphers", "keyfile", "ssl_version"))


@functools.cache
def _client_ssl_defaults() -> ssl.SSLContext:
    """The context clients use when given none: system CAs, host names checked.

    Made on first use and shared afterwards.
    """
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)


@functools.cache
def _server_ssl_defaults() -> ssl.SSLContext:
    """The context servers use when given none (no certificate loaded); shared."""
    return ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)


def ssl_options_to_context(
    ssl_options: dict[str, Any] | ssl.SSLContext, server_side: bool | None = None
) -> ssl.SSLContext:
    """Returns an :class:`ssl.SSLContext` for *ssl_options*.

    A context is returned as it is.  A dict may hold the keywords of the old
    ``ssl.wrap_socket``: ``ssl_version``, ``certfile``, ``keyfile``,
    ``cert_reqs``, ``ca_certs`` and ``ciphers``.  Without ``ssl_version`` the
    protocol follows *server_side*: ``False`` gives a ``PROTOCOL_TLS_CLIENT``
    context that checks the peer's certificate and host name (against
    ``ca_certs``, else the system's CAs) unless ``cert_reqs`` is
    ``CERT_NONE``; ``True`` or ``None`` gives a ``PROTOCOL_TLS_SERVER``
    context that asks nothing of clients unless ``cert_reqs`` says so.
    TLS compression is always off (Python's contexts disable it).

    Difference from Tornado: with ``server_side=None`` Tornado builds a
    context on the deprecated generic ``PROTOCOL_TLS``; squall uses the
    server protocol instead.

    Raises:
        TypeError: if *ssl_options* is neither a dict nor a context.
        ValueError: if the dict has a key not listed above.
    """
    if isinstance(ssl_options, ssl.SSLContext):
        return ssl_options
    if not isinstance(ssl_options, dict):
        raise TypeError(f"ssl_options: expected a dict or an SSLContext, got {ssl_options!r}")
    stray = ssl_options.keys() - _DICT_KEYS
    if stray:
        raise ValueError(f"ssl_options: unsupported keys {', '.join(sorted(stray))}")
    opts = ssl_options.get
    client = server_side is False
    version = opts("ssl_version")
    if version is None:
        version = ssl.PROTOCOL_TLS_CLIENT if client else ssl.PROTOCOL_TLS_SERVER
    ctx = ssl.SSLContext(version)
    wanted = opts("cert_reqs")
    if wanted is not None:
        if wanted == ssl.CERT_NONE:
            # Checking names without checking certificates is refused by ssl.
            ctx.check_hostname = False
        ctx.verify_mode = wanted
    trusted = opts("ca_certs")
    if trusted is not None:
        ctx.load_verify_locations(trusted)
    elif client and ctx.verify_mode != ssl.CERT_NONE:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    chain = opts("certfile")
    if chain is not None:
        ctx.load_cert_chain(chain, opts("keyfile"))
    suites = opts("ciphers")
    if suites is not None:
        ctx.set_ciphers(suites)
    return ctx


def ssl_wrap_socket(
    socket: socket.socket,
    ssl_options: dict[str, Any] | ssl.SSLContext,
    server_hostname: str | None = None,
    server_side: bool | None = None,
    **kwargs: Any,
) -> ssl.SSLSocket:
    """Puts TLS on top of the plain *socket*; returns the :class:`ssl.SSLSocket`.

    *ssl_options* is a dict (see :func:`ssl_options_to_context`) or a
    context.  *server_side* ``None`` means "whatever the context's protocol
    says".  *server_hostname* (for SNI and certificate checks) only applies
    to the client end.  Other keywords, such as
    ``do_handshake_on_connect``, go to :meth:`ssl.SSLContext.wrap_socket`.
    """
    ctx = ssl_options_to_context(ssl_options, server_side=server_side)
    serving = ctx.protocol == ssl.PROTOCOL_TLS_SERVER if server_side is None else server_side
    return ctx.wrap_socket(
        socket,
        server_side=serving,
        server_hostname=None if serving else server_hostname,
        **kwargs,
    )
