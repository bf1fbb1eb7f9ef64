"""AsyncHTTPTestCase and AsyncHTTPSTestCase: a real HTTP(S) server per test.

The server and client live in other distributions (squall-httpserver and
squall-httpclient), imported only when a test case is set up, so the rest of
:mod:`squall.testing` works with the event loop alone.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ._case import AsyncTestCase
from ._helpers import bind_unused_port, get_async_test_timeout

# squall.httpserver/httpclient are other distributions, possibly not installed:
# their classes are typed as Any here.
HTTPServer = Any
AsyncHTTPClient = Any
HTTPResponse = Any

__all__ = ["AsyncHTTPSTestCase", "AsyncHTTPTestCase"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_HTTP_DISTS = "squall-httpserver and squall-httpclient"
_HTTP_INSTALL = "pip install squall-httpserver squall-httpclient"


def _import_http(what: str) -> tuple[Any, Any]:
    """Import ``(HTTPServer, AsyncHTTPClient)`` or fail naming the distributions to install."""
    try:
        server_module = importlib.import_module("squall.httpserver")
        client_module = importlib.import_module("squall.httpclient")
    except ImportError as exc:
        raise ImportError(f"{what} needs {_HTTP_DISTS}: {_HTTP_INSTALL}") from exc
    return server_module.HTTPServer, client_module.AsyncHTTPClient


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
    them raises :class:`ImportError` naming them.
    """

    http_server: HTTPServer
    http_client: AsyncHTTPClient

    def setUp(self) -> None:
        # Import before the loop exists, so a missing dist leaks nothing.
        _import_http(self._case_name())
        super().setUp()
        sock, port = bind_unused_port()
        self.__port = port
        try:
            self.http_client = self.get_http_client()
            self._app = self.get_app()
            self.http_server = self.get_http_server()
            self.http_server.add_sockets([sock])
        except BaseException:
            sock.close()
            client = self.__dict__.pop("http_client", None)
            if client is not None:
                client.close()
            super().tearDown()
            raise

    def _case_name(self) -> str:
        return "AsyncHTTPTestCase"

    def get_http_client(self) -> AsyncHTTPClient:
        """The client used by :meth:`fetch` (the loop's shared :class:`AsyncHTTPClient`)."""
        _, client_class = _import_http(self._case_name())
        client: AsyncHTTPClient = client_class()
        return client

    def get_http_server(self) -> HTTPServer:
        """The server for the app (built with :meth:`get_httpserver_options`)."""
        server_class, _ = _import_http(self._case_name())
        server: HTTPServer = server_class(self._app, **self.get_httpserver_options())
        return server

    def get_app(self) -> Any:
        """Return the application to test; subclasses must override it."""
        raise NotImplementedError()

    def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Fetch ``path`` from the test server synchronously and return the response.

        ``path`` is relative to the server (``"/"``) unless it starts with
        ``http://`` or ``https://``, in which case it is fetched as is.
        Keyword arguments go to :meth:`AsyncHTTPClient.fetch`.  Unlike the
        client, ``raise_error`` defaults to False (tests often check non-200
        codes); errors other than HTTP status errors are raised either way.
        Times out after :func:`get_async_test_timeout` seconds.
        """
        url = path if path.lower().startswith(("http://", "https://")) else self.get_url(path)
        response: HTTPResponse = self.io_loop.run_sync(
            lambda: self.http_client.fetch(url, raise_error=raise_error, **kwargs),
            timeout=get_async_test_timeout(),
        )
        return response

    def get_httpserver_options(self) -> dict[str, Any]:
        """Keyword arguments for the :class:`HTTPServer` (override to add some)."""
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

    def tearDown(self) -> None:
        self.http_server.stop()
        self.io_loop.run_sync(
            self.http_server.close_all_connections, timeout=get_async_test_timeout()
        )
        self.http_client.close()
        del self.http_server
        del self._app
        super().tearDown()


class AsyncHTTPSTestCase(AsyncHTTPTestCase):
    """An :class:`AsyncHTTPTestCase` whose server speaks HTTPS.

    Uses the self-signed certificate shipped with squall (CN ``localhost``,
    valid for ``localhost`` and ``127.0.0.1``); the client does not verify it.
    """

    def get_http_client(self) -> AsyncHTTPClient:
        _, client_class = _import_http(self._case_name())
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
        return {
            "certfile": os.path.join(_HERE, "test.crt"),
            "keyfile": os.path.join(_HERE, "test.key"),
        }

    def get_protocol(self) -> str:
        return "https"

    def _case_name(self) -> str:
        return "AsyncHTTPSTestCase"
