"""HTTP utilities shared by clients and servers (mirrors ``tornado.httputil``).

Headers (:class:`HTTPHeaders`), start lines, the server-side request object,
form and multipart parsing, URL and date helpers, and the protocol-neutral
delegate interface (:class:`HTTPServerConnectionDelegate`,
:class:`HTTPMessageDelegate`, :class:`HTTPConnection`) that connects servers
to applications.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._delegates import HTTPConnection, HTTPMessageDelegate, HTTPServerConnectionDelegate
from ._errors import HTTPInputError, HTTPOutputError
from ._headers import HTTPHeaders
from ._startline import (
    RequestStartLine,
    ResponseStartLine,
    parse_request_start_line,
    parse_response_start_line,
)

__all__ = [
    "HTTPConnection",
    "HTTPHeaders",
    "HTTPInputError",
    "HTTPMessageDelegate",
    "HTTPOutputError",
    "HTTPServerConnectionDelegate",
    "RequestStartLine",
    "ResponseStartLine",
    "parse_request_start_line",
    "parse_response_start_line",
]


_publish_public_names(globals())
