"""Turning a squall request head into an ASGI connection scope, and back.

The ASGI specification (HTTP and WebSocket, version 2.4) wants header names
as lower-case bytes and values as bytes, the path with its %-escapes undone
(UTF-8), the raw target beside it, the query string as bytes, and the two
ends of the connection as ``(host, port)`` pairs.  Header names repeat on
every request, so their byte forms are cached both ways.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from squall.httputil import HTTPHeaders

__all__ = [
    "_HTTP_ASGI",
    "_WEBSOCKET_ASGI",
    "_Peer",
    "_field_list",
    "_headers_from_fields",
    "_local_address",
    "_make_scope",
    "_route_target",
]

# The "asgi" entry of a scope: the interface version and the protocol spec
# version this implementation follows.
_HTTP_ASGI = {"version": "3.0", "spec_version": "2.4"}
_WEBSOCKET_ASGI = {"version": "3.0", "spec_version": "2.4"}

_CACHE_LIMIT = 1024
# "Content-Type" -> b"content-type", and b"content-type" -> "content-type".
_to_wire: dict[str, bytes] = {}
_from_wire: dict[bytes, str] = {}


class _Peer:
    """What :class:`~squall.httputil.HTTPServerRequest` reads from ``connection.context``."""

    __slots__ = ("address", "protocol", "remote_ip")

    def __init__(self, address: Any, remote_ip: str | None, protocol: str) -> None:
        self.address = address
        self.remote_ip = remote_ip
        self.protocol = protocol

    def __str__(self) -> str:
        return self.remote_ip or "unknown peer"


def _lower_bytes(name: str) -> bytes:
    made = _to_wire.get(name)
    if made is None:
        made = name.lower().encode("latin-1")
        if len(_to_wire) < _CACHE_LIMIT:
            _to_wire[name] = made
    return made


def _field_list(headers: HTTPHeaders, leave_out: frozenset[str] = frozenset()) -> list[list[bytes]]:
    """``headers`` as ASGI wants them: ``[name, value]`` byte pairs, names lower-case."""
    wire = _to_wire.get
    # Without a repeated field (nearly every request) the one dict is the whole list.
    pairs = headers.get_all() if headers._lists else headers._joined.items()
    return [
        [wire(name) or _lower_bytes(name), value.encode("latin-1")]
        for name, value in pairs
        if name not in leave_out
    ]


def _headers_from_fields(fields: Any) -> HTTPHeaders:
    """ASGI ``[name, value]`` byte pairs as :class:`~squall.httputil.HTTPHeaders`."""
    headers = HTTPHeaders()
    for name, value in fields:
        name = bytes(name)
        text = _from_wire.get(name)
        if text is None:
            text = name.decode("latin-1")
            if len(_from_wire) < _CACHE_LIMIT:
                _from_wire[name] = text
        headers.add(text, bytes(value).decode("latin-1"))
    return headers


def _decoded_path(raw: str) -> str:
    if raw.isascii():
        return unquote(raw)
    return unquote_to_bytes(raw.encode("latin-1", "replace")).decode("utf-8", "replace")


def _local_address(conn: Any) -> tuple[str, int] | None:
    """Our end of the socket behind a squall connection, when it can be told."""
    try:
        # squall's own HTTP/1 and HTTP/2 connections keep it once asked.
        local = getattr(conn, "_local_name", None)
        name = local() if local is not None else conn.stream.socket.getsockname()
    except (AttributeError, OSError):
        return None
    if type(name) is tuple:
        if len(name) == 2 and type(name[0]) is str and type(name[1]) is int:
            return name  # IPv4: already (host, port)
        if len(name) >= 2:
            return (str(name[0]), int(name[1]))
    return None


# The request's protocol version as ASGI spells it.
_VERSIONS = {"HTTP/1.1": "1.1", "HTTP/1.0": "1.0", "HTTP/2.0": "2", "HTTP/2": "2"}


def _make_scope(
    kind: str,
    method: str,
    uri: str,
    version: str,
    headers: HTTPHeaders,
    peer: Any,
    local: tuple[str, int] | None,
    root_path: str,
    state: dict[str, Any] | None,
) -> dict[str, Any]:
    """The connection scope of one request (``kind`` is ``"http"`` or ``"websocket"``)."""
    target, _, query = uri.partition("?")
    if target[:1] != "/" and "://" in target:
        # An absolute-form target (a request to a proxy): keep its path only.
        target = urlsplit(target).path or "/"
    path = _decoded_path(target) if "%" in target else target
    if root_path and not (path == root_path or path.startswith(root_path + "/")):
        # A proxy took the mount point off the path: ASGI wants it back in.
        path = root_path + path
    client: tuple[str, int] | None = None
    scheme = "http"
    if peer is not None:
        scheme = getattr(peer, "protocol", None) or "http"
        remote_ip = getattr(peer, "remote_ip", None)
        if remote_ip is not None:
            address = getattr(peer, "address", None)
            port = 0
            if type(address) is tuple and len(address) >= 2 and address[0] == remote_ip:
                port = int(address[1])
            client = (remote_ip, port)
    if kind != "http":
        scheme = "wss" if scheme == "https" else "ws"
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": _HTTP_ASGI if kind == "http" else _WEBSOCKET_ASGI,
        "http_version": _VERSIONS.get(version, "1.1"),
        "scheme": scheme,
        "path": path,
        "raw_path": target.encode("latin-1", "replace"),
        "query_string": query.encode("latin-1", "replace"),
        "root_path": root_path,
        "headers": _field_list(headers),
        "client": client,
        "server": local,
    }
    if kind == "http":
        scope["method"] = method
    if state is not None:
        scope["state"] = state.copy()
    return scope


def _below(path: str, root: str) -> str:
    """``path`` without the mount point ``root``, when it is under it (``/app`` is not
    under ``/ap``); else ``path`` unchanged."""
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def _route_target(scope: MutableMapping[str, Any]) -> str:
    """The request target a squall application routes on, from an ASGI scope.

    The mount point (``root_path``) is taken off the front of the path; the
    raw target is preferred, so that an escaped ``/`` stays escaped.
    """
    root = scope.get("root_path") or ""
    raw = scope.get("raw_path")
    if raw:
        target = _below(bytes(raw).decode("latin-1"), root)
    else:
        target = quote(_below(scope.get("path") or "/", root), safe="/!$&'()*+,;=:@~")
    if not target.startswith("/"):
        target = "/" + target
    query = scope.get("query_string")
    if query:
        target = f"{target}?{bytes(query).decode('latin-1')}"
    return target
