"""HTTPServerRequest: one request as the application sees it.

Built once per request on the server's hot path, so the constructor stores
only what it is given. Everything derived (path and query, arguments, the
client address and scheme, host name, files) is computed on first access by
``__getattr__`` and then kept as a plain instance attribute, which also keeps
Tornado's habit of assigning those attributes working.
"""

from __future__ import annotations

import asyncio
import http.cookies
import time
from collections.abc import Callable
from typing import Any

from squall.escape import parse_qs_bytes, utf8

from ._forms import HTTPFile, parse_body_arguments
from ._headers import HTTPHeaders
from ._helpers import parse_cookie, split_host_and_port
from ._startline import RequestStartLine

__all__ = ["HTTPServerRequest"]


def _split_uri(request: HTTPServerRequest) -> None:
    path, _, query = (request.uri or "").partition("?")
    request.path = path
    request.query = query


def _query_arguments(request: HTTPServerRequest) -> None:
    query = request.query
    request.query_arguments = parse_qs_bytes(query, keep_blank_values=True) if query else {}


def _arguments(request: HTTPServerRequest) -> None:
    merged = {name: values[:] for name, values in request.query_arguments.items()}
    for name, values in request.body_arguments.items():
        merged.setdefault(name, []).extend(values)
    request.arguments = merged


def _body_arguments(request: HTTPServerRequest) -> None:
    request.body_arguments = {}


def _files(request: HTTPServerRequest) -> None:
    request.files = {}


def _peer(request: HTTPServerRequest) -> None:
    context = getattr(request.connection, "context", None)
    request.remote_ip = getattr(context, "remote_ip", None)
    request.protocol = getattr(context, "protocol", "http")


def _host(request: HTTPServerRequest) -> None:
    request.host = request.headers.get("Host") or "127.0.0.1"


def _host_name(request: HTTPServerRequest) -> None:
    request.host_name = split_host_and_port(request.host.lower())[0]


# Which helper fills in a missing attribute (several fill two at once).
_LAZY: dict[str, Callable[[HTTPServerRequest], None]] = {
    "path": _split_uri,
    "query": _split_uri,
    "query_arguments": _query_arguments,
    "arguments": _arguments,
    "body_arguments": _body_arguments,
    "files": _files,
    "remote_ip": _peer,
    "protocol": _peer,
    "host": _host,
    "host_name": _host_name,
}


class HTTPServerRequest:
    """A single HTTP request, as handed to applications.

    Attributes (``str`` unless noted): ``method``, ``uri``, ``path``, ``query``,
    ``version`` (``"HTTP/1.1"``), ``headers`` (:class:`HTTPHeaders`), ``body``
    (bytes), ``remote_ip`` (from the connection's ``context``; with
    ``xheaders`` the server puts the proxy's view there), ``protocol``
    (``"http"`` or ``"https"``), ``host`` (the Host header, else
    ``"127.0.0.1"``), ``host_name`` (``host`` without the port, lower-cased),
    ``arguments`` (query and body arguments, name to list of bytes),
    ``query_arguments``, ``body_arguments``, ``files`` (name to list of
    :class:`HTTPFile`), ``connection`` (the :class:`HTTPConnection` to answer
    on) and ``server_connection``.
    """

    method: str | None
    uri: str | None
    version: str
    headers: HTTPHeaders
    body: bytes
    connection: Any
    server_connection: Any
    path: str
    query: str
    remote_ip: str | None
    protocol: str
    host: str
    host_name: str
    arguments: dict[str, list[bytes]]
    query_arguments: dict[str, list[bytes]]
    body_arguments: dict[str, list[bytes]]
    files: dict[str, list[HTTPFile]]
    _start_time: float
    _finish_time: float | None

    def __init__(
        self,
        method: str | None = None,
        uri: str | None = None,
        version: str = "HTTP/1.0",
        headers: HTTPHeaders | None = None,
        body: bytes | None = None,
        host: str | None = None,
        files: dict[str, list[HTTPFile]] | None = None,
        connection: Any = None,
        start_line: RequestStartLine | None = None,
        server_connection: object | None = None,
    ) -> None:
        self._start_time = time.time()
        self._finish_time = None
        if start_line is None:
            self.method, self.uri, self.version = method, uri, version
        else:
            self.method, self.uri, self.version = start_line
        self.headers = HTTPHeaders() if headers is None else headers
        self.body = body or b""
        self.connection, self.server_connection = connection, server_connection
        if host:
            self.host = host
        if files:
            self.files = files

    def __getattr__(self, name: str) -> Any:
        fill = _LAZY.get(name)
        if fill is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        fill(self)
        return self.__dict__[name]

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        """The request's cookies as :class:`http.cookies.Morsel` objects, by name.

        Cookies whose names the standard library refuses are skipped.
        """
        jar: http.cookies.SimpleCookie | None = self.__dict__.get("_cookies")
        if jar is None:
            jar = http.cookies.SimpleCookie()
            header = self.headers.get("Cookie")
            if header:
                for name, value in parse_cookie(header).items():
                    try:
                        jar[name] = value
                    except http.cookies.CookieError:
                        pass
            self.__dict__["_cookies"] = jar
        return jar

    def full_url(self) -> str:
        """The whole URL of the request: ``protocol://host/uri``."""
        return f"{self.protocol}://{self.host}{self.uri}"

    def request_time(self) -> float:
        """Seconds the request took (so far, while it is still being served)."""
        end = self._finish_time
        return (time.time() if end is None else end) - self._start_time

    def get_ssl_certificate(self, binary_form: bool = False) -> Any:
        """The client's TLS certificate (see :meth:`ssl.SSLSocket.getpeercert`), or None.

        A certificate is only there when the server asked for one
        (``ssl.CERT_OPTIONAL`` or ``ssl.CERT_REQUIRED`` in its ``ssl_options``).
        """
        connection = self.connection
        hook = getattr(connection, "_peer_certificate", None)
        if hook is not None:
            return hook(binary_form)
        try:
            return connection.stream.socket.getpeercert(binary_form=binary_form)
        except (AttributeError, ValueError):
            return None

    def _parse_body(self) -> None:
        """Fill ``body_arguments`` and ``files`` (and ``arguments``) from the body."""
        if not self.body:
            return
        body_arguments = self.body_arguments
        parse_body_arguments(
            self.headers.get("Content-Type", ""),
            self.body,
            body_arguments,
            self.files,
            self.headers,
        )
        merged = self.__dict__.get("arguments")
        if merged is not None:
            for name, values in body_arguments.items():
                merged.setdefault(name, []).extend(values)

    def write(
        self, chunk: bytes | str, callback: Callable[[], None] | None = None
    ) -> asyncio.Future[None]:
        """Send raw bytes on the connection (the classic ``handle_request`` style).

        Before any headers were sent through the connection the bytes go out
        verbatim, status line and headers included, as the classic Tornado
        overview writes them (text is sent as UTF-8); the connection then
        closes after :meth:`finish`. ``callback`` runs once the bytes are sent.
        """
        future: asyncio.Future[None] = self.connection.write(utf8(chunk))
        if callback is not None:
            future.add_done_callback(lambda _: callback())
        return future

    def finish(self) -> None:
        """The response is complete."""
        self.connection.finish()
        self._finish_time = time.time()

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("protocol", "host", "method", "uri", "version", "remote_ip")
        )
        return f"{type(self).__name__}({shown})"


def _request_from_head(
    start_line: RequestStartLine, headers: HTTPHeaders, connection: Any, server_connection: object
) -> HTTPServerRequest:
    """The request of a head just received, ``path`` and ``query`` already split.

    Makes what the constructor makes from these four keyword arguments, for
    the routers, which build one per request: keyword matching against the
    ten-parameter constructor, and the lazy hook the first read of ``path``
    goes through, cost more than the rest of building the request.
    """
    made = HTTPServerRequest.__new__(HTTPServerRequest)
    made._start_time = time.time()
    made._finish_time = None
    made.method, uri, made.version = start_line
    made.uri = uri
    made.headers = headers
    made.body = b""
    made.connection = connection
    made.server_connection = server_connection
    made.path, _, made.query = uri.partition("?")
    return made
