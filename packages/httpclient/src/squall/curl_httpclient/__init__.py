"""The libcurl-based HTTP client (mirrors ``tornado.curl_httpclient``).

Select it for every :class:`~squall.httpclient.AsyncHTTPClient` with::

    AsyncHTTPClient.configure("squall.curl_httpclient.CurlAsyncHTTPClient")

It needs ``pycurl`` (install ``squall-httpclient[curl]``). Compared with the
pure-Python client it adds digest authentication, proxies with digest auth,
``network_interface`` and ``prepare_curl_callback``; it does not take
``ssl_options``. Failures libcurl reports become :class:`CurlError` (code
599) carrying libcurl's own message.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._client import CurlAsyncHTTPClient, CurlError

__all__ = ["CurlAsyncHTTPClient", "CurlError"]

_publish_public_names(globals())
