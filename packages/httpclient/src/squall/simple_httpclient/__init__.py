"""The pure-Python HTTP client (mirrors ``tornado.simple_httpclient``).

:class:`SimpleAsyncHTTPClient` is the default :class:`squall.httpclient.AsyncHTTPClient`
implementation. It drives squall's HTTP/1 codec straight from asyncio
transports and keeps connections alive between requests (a pool per
destination), which Tornado's simple client does not; it also supports HTTP
proxies and CONNECT tunnels, and HTTP/2 through the ``h2`` package when it is
installed (``squall-httpclient[http2]``). :class:`HTTPTimeoutError` and
:class:`HTTPStreamClosedError` are the 599 errors it raises when a request
runs out of time or its connection closes early.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._client import SimpleAsyncHTTPClient
from ._link import HTTPStreamClosedError, HTTPTimeoutError

__all__ = ["HTTPStreamClosedError", "HTTPTimeoutError", "SimpleAsyncHTTPClient"]

_publish_public_names(globals())
