"""The client interface (:class:`AsyncHTTPClient`), its blocking wrapper and a tiny CLI."""

from __future__ import annotations

import asyncio
import functools
import sys
import weakref
from typing import Any

from squall.httputil import HTTPHeaders
from squall.ioloop import IOLoop
from squall.util import Configurable

from ._request import HTTPRequest, _fill_defaults, _resolved
from ._response import HTTPClientError, HTTPResponse

__all__ = ["AsyncHTTPClient", "HTTPClient", "main"]


class AsyncHTTPClient(Configurable):
    """A non-blocking HTTP client; the constructor builds the configured implementation.

    ``AsyncHTTPClient()`` returns the implementation chosen with
    :meth:`configure` (:class:`squall.simple_httpclient.SimpleAsyncHTTPClient`
    unless changed, e.g. ``AsyncHTTPClient.configure(
    "squall.curl_httpclient.CurlAsyncHTTPClient")``), and returns the *same*
    object for every call on one :class:`~squall.ioloop.IOLoop`: the instance
    is shared, so its connection pool is too.  ``force_instance=True`` builds
    a private one (close it when done).  Keyword arguments (and those given to
    :meth:`configure`) go to :meth:`initialize`; ``defaults`` is a dict of
    :class:`HTTPRequest` options applied to every request that leaves them
    unset.

    ::

        client = AsyncHTTPClient()
        response = await client.fetch("http://example.com/")
        print(response.body)
    """

    #: Per class: loop -> the shared instance (filled lazily, see ``__new__``).
    _shared_by_loop: weakref.WeakKeyDictionary[IOLoop, AsyncHTTPClient]

    io_loop: IOLoop
    defaults: dict[str, Any]
    _shared_in: weakref.WeakKeyDictionary[IOLoop, AsyncHTTPClient] | None

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return AsyncHTTPClient

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        from squall.simple_httpclient import SimpleAsyncHTTPClient

        return SimpleAsyncHTTPClient

    @classmethod
    def _instances(cls) -> weakref.WeakKeyDictionary[IOLoop, AsyncHTTPClient]:
        table = cls.__dict__.get("_shared_by_loop")
        if table is None:
            table = weakref.WeakKeyDictionary()
            cls._shared_by_loop = table
        return table

    def __new__(cls, force_instance: bool = False, **kwargs: Any) -> Any:
        loop = IOLoop.current()
        if force_instance:
            made: AsyncHTTPClient = super().__new__(cls, **kwargs)
            made._shared_in = None
            return made
        table = cls._instances()
        found = table.get(loop)
        if found is not None:
            return found
        made = super().__new__(cls, **kwargs)
        made._shared_in = table
        table[loop] = made
        return made

    def initialize(self, defaults: dict[str, Any] | None = None) -> None:
        """Set up the instance: ``defaults`` are request options applied to every fetch."""
        self.io_loop = IOLoop.current()
        self.defaults = dict(defaults) if defaults else {}
        self._closed = False

    def close(self) -> None:
        """Free the client's resources (idle connections, handles).

        The shared instance of a loop is normally never closed; closing it
        makes the next ``AsyncHTTPClient()`` on that loop build a fresh one.
        A closed client refuses to fetch.
        """
        if self._closed:
            return
        self._closed = True
        table = getattr(self, "_shared_in", None)
        if table is not None and table.get(self.io_loop) is self:
            del table[self.io_loop]

    def fetch(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> asyncio.Future[HTTPResponse]:
        """Start fetching ``request`` (a URL or an :class:`HTTPRequest`); return a Future.

        With a URL, ``kwargs`` are :class:`HTTPRequest` options; with a
        request object, giving options too is a :class:`ValueError`.  The
        Future resolves to the :class:`HTTPResponse`.  A status outside
        200-299 (after redirects) raises :class:`HTTPClientError` unless
        ``raise_error=False``, which returns the response instead (its
        ``error`` set); other failures (timeouts, refused connections,
        malformed answers) raise either way.

        ``callback=fn`` (the classic style) calls ``fn(response)`` when done;
        failures of every kind then arrive as ``response.error`` (code 599
        when there was no answer) and ``raise_error`` is ignored.
        """
        callback = kwargs.pop("callback", None) if kwargs else None
        if self._closed:
            raise RuntimeError("fetch() called on a closed AsyncHTTPClient")
        if isinstance(request, str):
            given = kwargs.get("headers")
            if isinstance(given, HTTPHeaders):
                # A copy: what the client adds never shows in the caller's headers.
                kwargs["headers"] = HTTPHeaders(given)
            # Made here, so nobody else holds it: the defaults go in place.
            request = ready = HTTPRequest(url=request, **kwargs)
            _fill_defaults(ready.__dict__, self.defaults)
        else:
            if kwargs:
                raise ValueError("fetch() takes options either in an HTTPRequest or as keywords")
            ready = _resolved(request, self.defaults)
            ready.headers = HTTPHeaders(request.headers)
        future: asyncio.Future[HTTPResponse] = asyncio.get_running_loop().create_future()
        lenient = callback is not None or not raise_error

        def settle(response: HTTPResponse) -> None:
            if future.done():
                return
            failure = response.error
            fatal = failure is not None and callback is None
            if fatal and not (lenient and isinstance(failure, HTTPClientError)):
                future.set_exception(failure)  # type: ignore[arg-type]
            else:
                future.set_result(response)

        if callback is not None:
            _report_to(future, request, callback)
        self.fetch_impl(ready, settle)
        return future

    def fetch_impl(self, request: HTTPRequest, callback: Any) -> None:
        """Implementations fetch ``request`` and call ``callback(response)`` exactly once."""
        raise NotImplementedError()

    @classmethod
    def configure(cls, impl: str | type[Configurable] | None, **kwargs: Any) -> None:
        """Choose the implementation (class or dotted name) and its constructor arguments.

        ``AsyncHTTPClient.configure("squall.curl_httpclient.CurlAsyncHTTPClient",
        max_clients=50)``; ``None`` goes back to the default.  Affects instances
        made afterwards.
        """
        super().configure(impl, **kwargs)


def _report_to(future: asyncio.Future[HTTPResponse], request: HTTPRequest, callback: Any) -> None:
    """Call ``callback(response)`` when ``future`` settles; an exception becomes ``response.error``."""

    def deliver(done: asyncio.Future[HTTPResponse]) -> None:
        if done.cancelled():
            return
        failure = done.exception()
        response = done.result() if failure is None else HTTPResponse(request, 599, error=failure)
        callback(response)

    future.add_done_callback(deliver)


async def _one_turn() -> None:
    await asyncio.sleep(0)


class HTTPClient:
    """A blocking HTTP client for scripts: runs an :class:`AsyncHTTPClient` on a private loop.

    ::

        client = HTTPClient()
        try:
            print(client.fetch("http://example.com/").body)
        except HTTPClientError as e:
            print("failed:", e)
        client.close()

    Not for use inside a running event loop (it would block it); use
    :class:`AsyncHTTPClient` there.  ``async_client_class`` picks the
    implementation; other keyword arguments go to its constructor.
    """

    def __init__(
        self, async_client_class: type[AsyncHTTPClient] | None = None, **kwargs: Any
    ) -> None:
        self._closed = True
        self._io_loop = IOLoop(make_current=False)
        factory = async_client_class or AsyncHTTPClient

        async def build() -> AsyncHTTPClient:
            return factory(force_instance=True, **kwargs)  # type: ignore[no-any-return]

        self._async_client: AsyncHTTPClient = self._io_loop.run_sync(build)
        self._closed = False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def close(self) -> None:
        """Close the client and its loop (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._async_client.close()
        # One more turn so that connections being closed release their sockets.
        self._io_loop.run_sync(_one_turn)
        self._io_loop.close()

    def fetch(self, request: str | HTTPRequest, **kwargs: Any) -> HTTPResponse:
        """Fetch ``request`` and return the :class:`HTTPResponse`.

        Same arguments as :meth:`AsyncHTTPClient.fetch` (``raise_error``
        included); raises :class:`HTTPClientError` for a status outside
        200-299 unless ``raise_error=False``.
        """
        call = functools.partial(self._async_client.fetch, request, **kwargs)
        response: HTTPResponse = self._io_loop.run_sync(call)
        return response


def main(argv: list[str] | None = None) -> None:
    """``python -m squall.httpclient [--no-body] [--headers] [--no-follow] [--insecure] URL...``.

    Fetches each URL and prints its body (and headers with ``--headers``).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m squall.httpclient")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--headers", action="store_true", help="print the response headers")
    parser.add_argument("--no-body", action="store_true", help="do not print the body")
    parser.add_argument("--no-follow", action="store_true", help="do not follow redirects")
    parser.add_argument("--insecure", action="store_true", help="do not verify certificates")
    parser.add_argument("--proxy-host")
    parser.add_argument("--proxy-port", type=int)
    args = parser.parse_args(argv)
    client = HTTPClient()
    try:
        for url in args.urls:
            try:
                response = client.fetch(
                    url,
                    follow_redirects=not args.no_follow,
                    validate_cert=not args.insecure,
                    proxy_host=args.proxy_host,
                    proxy_port=args.proxy_port,
                )
            except HTTPClientError as e:
                if e.response is None:
                    raise
                response = e.response
            if args.headers:
                print(response.headers)
            if not args.no_body:
                sys.stdout.write(response.body.decode("utf-8", "replace"))
    finally:
        client.close()
