"""A non-blocking, hardened HTTP/1.x server (mirrors ``tornado.httpserver``).

:class:`HTTPServer` serves an :class:`~squall.httputil.HTTPServerConnectionDelegate`
(such as a :class:`squall.web.Application`) or a plain
``handle_request(request)`` callable. Each connection runs as an asyncio
protocol around the HTTP/1 codec that squall's client shares
(:mod:`squall.http1connection`), which keeps a request down to a handful of
Python calls.

Beyond Tornado: :meth:`HTTPServer.shutdown` for a graceful stop,
``header_timeout`` (a fixed deadline for a request head, against slow
senders), chunked trailers, absolute-form targets and obs-fold headers
accepted, and every malformed request answered with its 4xx/5xx status.

``HTTPRequest`` is the old name of :class:`squall.httputil.HTTPServerRequest`.
"""

from __future__ import annotations

from squall.httputil import HTTPServerRequest
from squall.util._util import _publish_public_names

from ._server import HTTPServer

#: The old name of :class:`squall.httputil.HTTPServerRequest`, kept as an alias.
HTTPRequest = HTTPServerRequest

__all__ = ["HTTPRequest", "HTTPServer"]


_publish_public_names(globals())
