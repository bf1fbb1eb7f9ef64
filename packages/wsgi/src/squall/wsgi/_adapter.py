"""WSGIAdapter and WSGIApplication: a squall.web Application under a WSGI server.

The request is rebuilt from the ``environ`` as an
:class:`~squall.httputil.HTTPServerRequest` whose connection is a
:class:`_ResponseBuffer`: it keeps the status, headers and body the handler
writes.  The handler runs inside a private asyncio loop that is never
allowed to sleep: its selector, asked to wait for I/O or a timer, stops
the loop instead.  So everything that completes with work that is ready at
once (synchronous handlers, coroutines that await nothing slow, callbacks
scheduled with ``add_callback``, ``flush()``, static files) finishes, and
anything that would wait on the network, a timer or another thread is
stopped and reported: a WSGI server gives the application no event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import selectors
from collections.abc import Callable, Coroutine
from http.client import responses
from typing import Any
from urllib.parse import quote

from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.web import Application

__all__ = ["WSGIAdapter", "WSGIApplication"]

# Response fields that belong to one hop; PEP 3333 leaves them to the server.
_HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    )
)
# Characters left as they are when a decoded PATH_INFO becomes a URI path again.
_PATH_SAFE = "/!$&'()*+,;=:@~"
_IDLE_LOOPS_KEPT = 8


class _ResponseBuffer(HTTPConnection):
    """The connection a handler answers on under WSGI: it keeps the response."""

    __slots__ = ("_done", "_waiter", "headers", "parts", "start_line")

    def __init__(self) -> None:
        self.start_line: ResponseStartLine | None = None
        self.headers: HTTPHeaders | None = None
        self.parts: list[bytes] = []
        self._done: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def finished(self) -> bool:
        return self._done is not None

    def _flushed(self) -> asyncio.Future[None]:
        # Written means kept: the future is resolved before it is returned.
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ready.set_result(None)
        return ready

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        assert isinstance(start_line, ResponseStartLine)
        self.start_line, self.headers = start_line, headers
        if chunk:
            self.parts.append(chunk)
        return self._flushed()

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        if chunk:
            self.parts.append(chunk)
        return self._flushed()

    def finish(self) -> None:
        self._done = self._flushed()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def until_finished(self) -> asyncio.Future[None]:
        if self._done is not None:
            return self._done
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    # Per-request controls squall's server offers; meaningless here.
    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        pass

    def set_body_timeout(self, timeout: float) -> None:
        pass

    def set_max_body_size(self, max_body_size: int) -> None:
        pass

    def detach(self) -> Any:
        raise NotImplementedError("a handler under a WSGI server cannot take over the connection")


class _NeverSleep(selectors.DefaultSelector):
    """A selector that stops its loop where the loop would otherwise wait."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stalled = False

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout > 0:
            # Nothing is ready: what is left waits for I/O, a timer or a thread.
            self.stalled = True
            assert self.loop is not None
            self.loop.stop()
            timeout = 0
        return super().select(timeout)


class _PrivateLoop:
    """An event loop that runs one request at a time and never sleeps."""

    __slots__ = ("loop", "selector")

    def __init__(self) -> None:
        self.selector = _NeverSleep()
        self.loop = asyncio.SelectorEventLoop(self.selector)
        self.selector.loop = self.loop

    def complete(self, work: Coroutine[Any, Any, None]) -> bool:
        """Run ``work``; False when it stalled (it is cancelled then)."""
        loop = self.loop
        task = loop.create_task(work)
        task.add_done_callback(lambda _: loop.stop())
        self.selector.stalled = False
        loop.run_forever()
        if task.done():
            task.result()
            return True
        task.cancel()
        loop.run_forever()  # let the cancellation unwind
        return False


_idle_loops: list[_PrivateLoop] = []
_helper: list[concurrent.futures.ThreadPoolExecutor] = []


@atexit.register
def _close_idle_loops() -> None:
    while _idle_loops:
        _idle_loops.pop().loop.close()


def _run_on_private_loop(work: Coroutine[Any, Any, None]) -> bool:
    try:
        private = _idle_loops.pop()
    except IndexError:
        private = _PrivateLoop()
    try:
        return private.complete(work)
    finally:
        if len(_idle_loops) < _IDLE_LOOPS_KEPT:
            _idle_loops.append(private)
        else:
            private.loop.close()


def _header_name(key: str) -> str:
    return "-".join(word.capitalize() for word in key[5:].split("_"))


def _request_from_environ(environ: dict[str, Any]) -> HTTPServerRequest:
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    uri = quote(path.encode("latin-1"), safe=_PATH_SAFE) or "/"
    query = environ.get("QUERY_STRING")
    if query:
        uri = f"{uri}?{query}"
    headers = HTTPHeaders()
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[_header_name(key)] = value
    content_type = environ.get("CONTENT_TYPE")
    if content_type:
        headers["Content-Type"] = content_type
    length = environ.get("CONTENT_LENGTH")
    if length:
        headers["Content-Length"] = length
    source = environ["wsgi.input"]
    size = int(length) if length else 0
    if size > 0:
        body = source.read(size)
    elif environ.get("wsgi.input_terminated"):
        body = source.read()
    else:
        body = b""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = environ.get("SERVER_PORT")
        if port and port != ("443" if scheme == "https" else "80"):
            host = f"{host}:{port}"
    request = HTTPServerRequest(
        method=environ["REQUEST_METHOD"],
        uri=uri,
        version=environ.get("SERVER_PROTOCOL", "HTTP/1.0"),
        headers=headers,
        body=body,
        host=host,
        connection=_ResponseBuffer(),
    )
    request.remote_ip = environ.get("REMOTE_ADDR")
    request.protocol = scheme
    return request


class WSGIAdapter:
    """Runs a :class:`squall.web.Application` as a WSGI application.

    ::

        application = squall.web.Application([(r"/", MainHandler)])
        wsgi_app = squall.wsgi.WSGIAdapter(application)
        wsgiref.simple_server.make_server("", 8888, wsgi_app).serve_forever()

    Any WSGI server works (gunicorn, uWSGI, mod_wsgi, ``wsgiref`` and CGI).
    Handlers that finish synchronously work as they do on squall's own
    server: rendering, cookies and signed cookies, XSRF checks, redirects,
    error pages, static files.  ``flush()`` is accepted, but the response
    goes to the WSGI server in one piece when the handler finishes.

    A WSGI server runs no event loop, so a handler that has to wait for one
    (a coroutine awaiting the network, a timer or a thread, an
    ``@asynchronous`` method that finishes from a later callback) cannot
    finish: the adapter stops it and raises :class:`RuntimeError` naming
    the request, which the WSGI server reports as a 500.  What completes
    without waiting still runs: an ``async def`` method that awaits only
    ready work, or an ``@asynchronous`` method that calls ``finish()``
    itself or from ``IOLoop.add_callback``.  ``AsyncHTTPClient``,
    :mod:`squall.auth` and WebSockets therefore need squall's HTTPServer.

    Unlike Tornado 4, ``flush()`` does not raise under WSGI.
    """

    def __init__(self, application: Application) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        request = _request_from_environ(environ)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._serve(request)
        else:
            # Called from inside a running loop (a WSGIContainer without an
            # executor, say): that loop cannot be entered again, so serve on
            # a helper thread and wait, as a WSGI call does.
            if not _helper:
                _helper.append(
                    concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="squall-wsgi")
                )
            _helper[0].submit(self._serve, request).result()
        buffer: _ResponseBuffer = request.connection
        line, headers = buffer.start_line, buffer.headers
        assert line is not None and headers is not None
        body = b"".join(buffer.parts)
        code = line.code
        fields = [
            (name, value) for name, value in headers.get_all() if name.lower() not in _HOP_BY_HOP
        ]
        if "Content-Length" not in headers and code not in (204, 304) and code >= 200:
            fields.append(("Content-Length", str(len(body))))
        start_response(f"{code} {line.reason or responses.get(code, 'Unknown')}", fields)
        return [b""] if request.method == "HEAD" else [body]

    def _serve(self, request: HTTPServerRequest) -> None:
        if not _run_on_private_loop(self._dispatch(request)):
            raise RuntimeError(
                f"squall.wsgi: {request.method} {request.uri} waits for the event loop "
                "(network I/O, a timer, another thread, or an @asynchronous method that "
                "finishes later), and a WSGI server runs no event loop; serve this "
                "application with squall.httpserver.HTTPServer to use asynchronous handlers"
            )

    async def _dispatch(self, request: HTTPServerRequest) -> None:
        pending = Application.__call__(self.application, request)
        if pending is not None:
            await pending
        await request.connection.until_finished()


class WSGIApplication(Application):
    """An :class:`~squall.web.Application` that is also a WSGI application.

    The overview's spelling (Tornado 6 dropped it; squall keeps it)::

        application = squall.wsgi.WSGIApplication([(r"/", MainHandler)])
        wsgiref.handlers.CGIHandler().run(application)

    Called with ``(environ, start_response)`` it serves the request as
    :class:`WSGIAdapter` does, with the same limits on asynchronous
    handlers.  It stays a full Application: squall's HTTPServer serves it
    directly, with every asynchronous feature.
    """

    _wsgi_adapter: WSGIAdapter | None = None

    def __call__(self, environ: Any, start_response: Callable[..., Any] | None = None) -> Any:
        if isinstance(environ, HTTPServerRequest):
            return super().__call__(environ)
        adapter = self._wsgi_adapter
        if adapter is None:
            adapter = self._wsgi_adapter = WSGIAdapter(self)
        assert start_response is not None, "a WSGI call needs start_response"
        return adapter(environ, start_response)
