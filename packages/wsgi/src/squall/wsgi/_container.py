"""WSGIContainer: a WSGI application as a request callback of squall's HTTPServer.

Threading model.  Without an executor the application, its iterable and
``close()`` all run on the event loop's thread, one request at a time: a
slow view stalls every other connection of the process.  With an executor
(a :class:`concurrent.futures.ThreadPoolExecutor`) a worker thread calls
the application and pulls the body from its iterable; each piece is handed
to the loop thread, which alone touches the connection, and the worker waits
until the transport has taken it (so a slow client holds back a streaming
application instead of filling memory).  A response given as a list or tuple
crosses back to the loop in one hop, with a computed ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from squall.iostream import StreamClosedError
from squall.log import access_log, app_log

from ._environ import _make_environ

__all__ = ["WSGIContainer"]

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_StartResponse = Callable[..., Callable[[bytes], Any]]
_WSGIApp = Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]

_ERROR_PAGE = (
    b"<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>"
)
# Statuses whose responses never carry a body (no Content-Length is added).
_NO_BODY = frozenset((204, 304))

# Requests in progress on an executor: asyncio holds tasks weakly.
_running: set[asyncio.Future[Any]] = set()


class _AppError(Exception):
    """The application broke the WSGI protocol (the message says how)."""


def _close_iterable(result: object) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


class _Reply:
    """One WSGI response on its way to the connection.

    ``start_response`` and ``write`` may be called on a worker thread; every
    method that touches the connection runs on the loop thread.
    """

    __slots__ = (
        "_head_sent",
        "_loop",
        "_status",
        "_worker",
        "headers",
        "length",
        "reason",
        "request",
        "status",
    )

    def __init__(self, request: HTTPServerRequest, loop: asyncio.AbstractEventLoop | None) -> None:
        self.request = request
        self._loop = loop  # set when the application runs on a worker thread
        self.status = 0
        self.reason = ""
        self.headers: HTTPHeaders | None = None
        self.length: int | None = None
        self._head_sent = False

    # -- the application's side ------------------------------------------------------

    def start_response(
        self,
        status: str,
        response_headers: list[tuple[str, str]],
        exc_info: _ExcInfo | None = None,
    ) -> Callable[[bytes], Any]:
        if exc_info is not None:
            if self._head_sent:
                # Too late to change the answer: PEP 3333 says re-raise.
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.headers is not None:
            raise _AppError("start_response() called a second time without exc_info")
        code, _, reason = status.partition(" ")
        if len(code) != 3 or not code.isdigit():
            raise _AppError(f"the status {status!r} does not start with a 3-digit code")
        headers = HTTPHeaders()
        length = None
        for name, value in response_headers:
            if not isinstance(value, str):
                raise _AppError(f"header {name!r} has a {type(value).__name__} value, not str")
            headers.add(name, value)
            if name.lower() == "content-length":
                length = int(value)
        self.status, self.reason, self.headers, self.length = int(code), reason, headers, length
        return self._write_for_thread if self._loop is not None else self.write

    def _write_for_thread(self, data: bytes) -> None:
        """The ``write`` callable on a worker: block until the loop has sent ``data``."""
        if data:
            self.hand_over(data)

    def hand_over(self, data: bytes) -> None:
        """(worker thread) Have the loop send ``data``; wait until the transport took it."""
        sent: concurrent.futures.Future[None] = concurrent.futures.Future()
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._send_then_signal, data, sent)
        sent.result()

    def _send_then_signal(self, data: bytes, sent: concurrent.futures.Future[None]) -> None:
        try:
            written = self.write(data)
        except Exception as exc:
            sent.set_exception(exc)
            return

        def relay(done: asyncio.Future[None]) -> None:
            failure = done.exception()
            if failure is None:
                sent.set_result(None)
            else:
                sent.set_exception(failure)

        written.add_done_callback(relay)

    # -- the connection's side (loop thread) -------------------------------------------

    def write(self, data: bytes) -> asyncio.Future[None]:
        """Send a piece of body (the head first, the first time)."""
        connection = self.request.connection
        if self._head_sent:
            return connection.write(data)  # type: ignore[no-any-return]
        if self.headers is None:
            raise _AppError("the application produced a body before calling start_response()")
        self._head_sent = True
        line = ResponseStartLine(self.request.version, self.status, self.reason)
        return connection.write_headers(line, self.headers, data)  # type: ignore[no-any-return]

    def send_whole(self, parts: list[bytes]) -> None:
        """The complete body is known: one write with its length, then finish."""
        headers = self.headers
        if headers is None:
            raise _AppError("the application returned without calling start_response()")
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        if not self._head_sent and self.length is None and self.status not in _NO_BODY:
            headers["Content-Length"] = str(len(body))
        if body or not self._head_sent:
            self.write(body)
        self.end()

    def end(self) -> None:
        if not self._head_sent:
            self.send_whole([b""])
            return
        request = self.request
        request._finish_time = time.time()
        self._log()
        request.connection.finish()

    def fail(self, exc: BaseException) -> None:
        """The application (or its iterable) raised: a 500 if the head is not out yet."""
        request = self.request
        if isinstance(exc, StreamClosedError):
            return  # the client went away; nothing to answer
        app_log.error(
            "Uncaught exception in the WSGI application serving %s %s",
            request.method,
            request.uri,
            exc_info=exc,
        )
        if not self._head_sent:
            headers = HTTPHeaders({"Content-Type": "text/html; charset=UTF-8"})
            headers["Content-Length"] = str(len(_ERROR_PAGE))
            self.status, self.reason, self.headers, self.length = (
                500,
                "Internal Server Error",
                headers,
                len(_ERROR_PAGE),
            )
            self.write(_ERROR_PAGE)
            self.end()
            return
        # Half a response is out: the client must not take it for a whole one.
        try:
            request.connection.detach().close()
        except Exception:
            request.connection.finish()
        self.status = 500
        self._log()

    def _log(self) -> None:
        status = self.status
        level = 20 if status < 400 else 30 if status < 500 else 40
        if access_log.isEnabledFor(level):
            request = self.request
            access_log.log(
                level,
                "%d %s %s (%s) %.2fms",
                status,
                request.method,
                request.uri,
                request.remote_ip,
                1000.0 * request.request_time(),
            )


class WSGIContainer:
    """Serves a WSGI application (Flask, Django, Bottle...) from squall's HTTPServer.

    :param wsgi_application: the ``application(environ, start_response)``
        callable of PEP 3333.
    :param executor: where the application runs.  ``None`` (the default):
        on the event loop's thread, one request at a time per process; a slow
        view blocks every other connection, including squall's own handlers.
        A :class:`concurrent.futures.ThreadPoolExecutor`: on its worker
        threads, so up to ``max_workers`` requests run at once while the loop
        keeps serving; the response is still written on the loop thread.
        A ``ProcessPoolExecutor`` cannot work (the application and the
        connection must share the process).

    A container is a plain ``callable(request)``, so it goes wherever squall
    takes one: as the :class:`~squall.httpserver.HTTPServer` callback, as
    the target of a :class:`~squall.web.FallbackHandler`, or in a
    :mod:`squall.routing` rule::

        container = WSGIContainer(flask_app, executor=ThreadPoolExecutor(8))
        HTTPServer(container).listen(8888)

    Responses are sent as the application produces them: the head goes out
    with the first non-empty piece of body (or at the end), a body without
    ``Content-Length`` is sent chunked to HTTP/1.1 clients, except that a
    list or tuple result gets its length computed.  The iterable's
    ``close()`` is always called.  An exception before the head is out
    becomes a 500 page; after it, the connection is closed so the client
    sees a truncated response.  Either way the error is logged on
    ``squall.application``, and every request gets an access-log line.

    Differences from Tornado: Tornado buffers the whole body and sends it
    with ``Content-Length``; squall streams it.  Several ``Cookie`` header
    fields are joined with ``"; "`` (Tornado joins every field with ``","``,
    which merges two cookies into one value).
    """

    def __init__(
        self,
        wsgi_application: _WSGIApp,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self.wsgi_application = wsgi_application
        self.executor = executor

    def __call__(self, request: HTTPServerRequest) -> None:
        """Serve ``request`` (the ``request_callback`` interface); returns at once."""
        if self.executor is None:
            pending = self._run_inline(request)
            if pending is None:
                return
            work: Any = pending
        else:
            work = self.handle_request(request)
        task = asyncio.ensure_future(work)
        _running.add(task)
        task.add_done_callback(_running.discard)

    async def handle_request(self, request: HTTPServerRequest) -> None:
        """Serve ``request``; the coroutine ends when the response is complete."""
        executor = self.executor
        if executor is None:
            pending = self._run_inline(request)
            if pending is not None:
                await pending
            return
        loop = asyncio.get_running_loop()
        reply = _Reply(request, loop)
        environ = _make_environ(request, True)
        try:
            whole = await loop.run_in_executor(executor, self._run_on_worker, environ, reply)
        except Exception as exc:
            reply.fail(exc)
            return
        try:
            if whole is None:
                reply.end()
            else:
                reply.send_whole(whole)
        except Exception as exc:
            reply.fail(exc)

    def environ(self, request: HTTPServerRequest) -> dict[str, Any]:
        """The PEP 3333 environment for ``request``.

        ``PATH_INFO`` is the path with %-escapes decoded (``SCRIPT_NAME`` is
        empty), ``REMOTE_ADDR`` and ``wsgi.url_scheme`` are the request's
        ``remote_ip`` and ``protocol`` (so the server's ``xheaders`` and TLS
        apply), ``SERVER_NAME`` and ``SERVER_PORT`` come from the ``Host``
        header, repeated header fields are joined with ``","``, and
        ``wsgi.input`` reads the request body.  ``wsgi.multithread`` is true
        when an executor is set.
        """
        return _make_environ(request, self.executor is not None)

    # -- without an executor: on the loop thread ----------------------------------------

    def _run_inline(self, request: HTTPServerRequest) -> Any:
        """Run the application now; returns a coroutine when the transport pushes back."""
        reply = _Reply(request, None)
        try:
            result = self.wsgi_application(_make_environ(request, False), reply.start_response)
        except Exception as exc:
            reply.fail(exc)
            return None
        try:
            if type(result) is list or type(result) is tuple:
                reply.send_whole(result)  # type: ignore[arg-type]
                _close_iterable(result)
                return None
            pieces = iter(result)
            for piece in pieces:
                if piece:
                    written = reply.write(piece)
                    if not written.done():
                        return self._pump_later(reply, result, pieces, written)
            _close_iterable(result)
            reply.end()
        except Exception as exc:
            _close_quietly(result)
            reply.fail(exc)
        return None

    async def _pump_later(
        self,
        reply: _Reply,
        result: Iterable[bytes],
        pieces: Iterator[bytes],
        written: asyncio.Future[None],
    ) -> None:
        try:
            await written
            for piece in pieces:
                if piece:
                    await reply.write(piece)
            _close_iterable(result)
            reply.end()
        except Exception as exc:
            _close_quietly(result)
            reply.fail(exc)

    # -- with an executor: on a worker thread ---------------------------------------------

    def _run_on_worker(self, environ: dict[str, Any], reply: _Reply) -> list[bytes] | None:
        """Call the application and stream its body to the loop.

        Returns the body when it came as a list or tuple (the loop sends it
        in one piece), else ``None`` once every piece has been sent.
        """
        result = self.wsgi_application(environ, reply.start_response)
        try:
            if type(result) is list or type(result) is tuple:
                return list(result)
            for piece in result:
                if piece:
                    reply.hand_over(piece)
            return None
        finally:
            _close_iterable(result)


def _close_quietly(result: object) -> None:
    try:
        _close_iterable(result)
    except Exception:
        app_log.error("close() of a WSGI response iterable failed", exc_info=True)
