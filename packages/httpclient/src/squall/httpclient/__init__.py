"""Non-blocking HTTP client interface (mirrors ``tornado.httpclient``).

:class:`AsyncHTTPClient` fetches :class:`HTTPRequest` objects (or plain URLs)
and resolves to :class:`HTTPResponse`; failures raise :class:`HTTPClientError`
(alias :class:`HTTPError`).  :class:`HTTPClient` is the blocking wrapper for
scripts.  Two implementations: :mod:`squall.simple_httpclient` (pure Python,
the default, with keep-alive pooling and proxy support) and
:mod:`squall.curl_httpclient` (libcurl through pycurl, the ``curl`` extra).

Besides awaiting, ``fetch(url, callback=fn)`` calls ``fn(response)`` when
done, with failures delivered as ``response.error``.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._client import AsyncHTTPClient, HTTPClient, main
from ._request import HTTPRequest
from ._response import HTTPClientError, HTTPError, HTTPResponse

__all__ = [
    "AsyncHTTPClient",
    "HTTPClient",
    "HTTPClientError",
    "HTTPError",
    "HTTPRequest",
    "HTTPResponse",
    "main",
]

_publish_public_names(globals())
