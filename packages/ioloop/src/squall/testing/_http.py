"""AsyncHTTPTestCase and AsyncHTTPSTestCase: a real HTTP(S) server per test.

The server and client live in other distributions (squall-httpserver and
squall-httpclient), imported only when a test case is set up, so the rest of
:mod:`squall.testing` works with the event loop alone.
"""

from __future__ import annotations

import importlib
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._case import AsyncTestCase
from ._helpers import bind_unused_port, get_async_test_timeout

# squall.httpserver/httpclient are other distributions, possibly not installed:
# their classes are typed as Any here.
HTTPServer = Any
AsyncHTTPClient = Any
HTTPResponse = Any

__all__ = ["AsyncHTTPSTestCase", "AsyncHTTPTestCase"]

#: The modules the HTTP cases and fixtures need; each ships as the
#: distribution of the same name with a dash (squall.httpserver -> squall-httpserver).
_HTTP_MODULES = ("squall.httpserver", "squall.httpclient")


def _import_http(what: str) -> tuple[Any, Any]:
    """Return ``(HTTPServer, AsyncHTTPClient)``; if missing, say that ``what`` needs them."""
    try:
        server_module, client_module = [importlib.import_module(m) for m in _HTTP_MODULES]
    except ImportError as exc:
        dists = [m.replace(".", "-") for m in _HTTP_MODULES]
        raise ImportError(
            f"{what} needs {' and '.join(dists)}: pip install {' '.join(dists)}"
        ) from exc
    return server_module.HTTPServer, client_module.AsyncHTTPClient


def _over_http2() -> bool:
    """Whether ``SQUALL_TEST_HTTP2`` asks for the test servers and clients to speak HTTP/2."""
    return os.environ.get("SQUALL_TEST_HTTP2", "") not in ("", "0")


class AsyncHTTPTestCase(AsyncTestCase):
    """:class:`AsyncTestCase` plus a live HTTP server on a random local port.

    The server runs whatever :meth:`get_app` returns (typically a
    :class:`squall.web.Application`). Tests reach it with :meth:`fetch`, or
    through ``self.http_client`` and :meth:`get_url`::

        class HealthTest(AsyncHTTPTestCase):
            def get_app(self):
                return Application([("/health", HealthHandler)])

            def test_health_is_ok(self):
                resp = self.fetch("/health")
                assert resp.code == 200 and resp.body == b"ok"

    Needs squall-httpserver and squall-httpclient: setting up a test without
    them raises :class:`ImportError` naming them.  The server and client are
    shut down in :meth:`tearDown`, or by a cleanup if ``setUp`` failed.
    """

    http_server: HTTPServer
    http_client: AsyncHTTPClient

    def setUp(self) -> None:
        # Checked before the loop exists, so a missing distribution leaks nothing.
        _import_http(self.__kind())
        super().setUp()
        self.__listener: socket.socket | None = None
        self.addCleanup(self.__shut_down)
        self.__listener, self.__port = bind_unused_port()
        self._app = self.get_app()
        self.http_server = self.get_http_server()
        self.http_server.add_sockets([self.__listener])
        self.http_client = self.get_http_client()

    def tearDown(self) -> None:
        try:
            self.__shut_down()
        finally:
            super().tearDown()

    def __kind(self) -> str:
        """``AsyncHTTPTestCase`` or ``AsyncHTTPSTestCase``, whichever this test derives from."""
        return "AsyncHTTPSTestCase" if isinstance(self, AsyncHTTPSTestCase) else "AsyncHTTPTestCase"

    def __shut_down(self) -> None:
        """Stop serving, end open connections, close the client (idempotent)."""
        server = self.__dict__.pop("http_server", None)
        if server is not None:
            server.stop()
            self._run_body(
                server.close_all_connections,
                get_async_test_timeout(),
                "closing the test server's connections",
                "allow more with ASYNC_TEST_TIMEOUT",
            )
        listener, self.__listener = self.__listener, None
        if listener is not None:
            listener.close()
        client = self.__dict__.pop("http_client", None)
        if client is not None:
            client.close()
        self.__dict__.pop("_app", None)

    def get_app(self) -> Any:
        """Return the application to test; subclasses must override it."""
        raise NotImplementedError(f"{type(self).__name__} must define get_app()")

    def get_http_client(self) -> AsyncHTTPClient:
        """The client used by :meth:`AsyncHTTPTestCase.fetch` (the loop's shared :class:`~squall.httpclient.AsyncHTTPClient`).

        With ``SQUALL_TEST_HTTP2=1`` in the environment it is a client of its
        own that speaks HTTP/2 (h2c with prior knowledge), to run a suite
        over HTTP/2.
        """
        client_class = _import_http(self.__kind())[1]
        if _over_http2():
            made: AsyncHTTPClient = client_class(force_instance=True, defaults={"http2": True})
            return made
        client: AsyncHTTPClient = client_class()
        return client

    def get_http_server(self) -> HTTPServer:
        """The server for the app (built with :meth:`get_httpserver_options`).

        With ``SQUALL_TEST_HTTP2=1`` the server also speaks HTTP/2 (``http2=True``).
        """
        server_class = _import_http(self.__kind())[0]
        options = self.get_httpserver_options()
        if _over_http2():
            options = {"http2": True, **options}
        server: HTTPServer = server_class(self._app, **options)
        return server

    def get_httpserver_options(self) -> dict[str, Any]:
        """Keyword arguments for the :class:`~squall.httpserver.HTTPServer` (override to add some)."""
        return {}

    def get_http_port(self) -> int:
        """The port the test server listens on (a new one for each test)."""
        return self.__port

    def get_protocol(self) -> str:
        """``"http"`` (``"https"`` in :class:`AsyncHTTPSTestCase`)."""
        return "http"

    def get_url(self, path: str) -> str:
        """Turn a path such as ``"/health"`` into a full URL pointing at the test server."""
        return f"{self.get_protocol()}://127.0.0.1:{self.get_http_port()}{path}"

    def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Fetch ``path`` from the test server synchronously and return the response.

        ``path`` is relative to the server (``"/"``) unless it is a full
        ``http://`` or ``https://`` URL, which is fetched as is.  Keyword
        arguments go to :meth:`squall.httpclient.AsyncHTTPClient.fetch`.  Unlike the client,
        ``raise_error`` defaults to False (tests often check non-200 codes);
        errors other than HTTP status errors are raised either way.  After
        :func:`get_async_test_timeout` seconds :class:`squall.util.TimeoutError`
        is raised.
        """
        absolute = urlsplit(path).scheme.lower() in ("http", "https")
        url = path if absolute else self.get_url(path)
        response: HTTPResponse = self._run_body(
            lambda: self.http_client.fetch(url, raise_error=raise_error, **kwargs),
            get_async_test_timeout(),
            f"fetch({url!r})",
            "allow more with ASYNC_TEST_TIMEOUT",
        )
        return response


class AsyncHTTPSTestCase(AsyncHTTPTestCase):
    """An :class:`AsyncHTTPTestCase` whose server speaks HTTPS.

    Uses the self-signed certificate shipped with squall (CN ``localhost``,
    valid for ``localhost`` and ``127.0.0.1``); the client does not verify it.
    """

    def get_http_client(self) -> AsyncHTTPClient:
        client_class = _import_http("AsyncHTTPSTestCase")[1]
        client: AsyncHTTPClient = client_class(
            force_instance=True, defaults={"validate_cert": False}
        )
        return client

    def get_httpserver_options(self) -> dict[str, Any]:
        return {"ssl_options": self.get_ssl_options()}

    def get_ssl_options(self) -> dict[str, Any]:
        """The server's ``ssl_options``; by default :meth:`default_ssl_options`."""
        return AsyncHTTPSTestCase.default_ssl_options()

    @staticmethod
    def default_ssl_options() -> dict[str, Any]:
        """``certfile``/``keyfile`` of the test certificate shipped with squall."""
        here = Path(__file__).resolve().parent
        return {"certfile": str(here / "test.crt"), "keyfile": str(here / "test.key")}

    def get_protocol(self) -> str:
        return "https"
