"""HTTP utilities shared by clients and servers (mirrors ``tornado.httputil``).

Headers (:class:`HTTPHeaders`), start lines, the server-side request object
(:class:`HTTPServerRequest`), form and multipart parsing (whole bodies, or
streamed part by part with :class:`MultipartParser`), URL, date and cookie
helpers, and the protocol-neutral delegate interface
(:class:`HTTPServerConnectionDelegate`, :class:`HTTPMessageDelegate`,
:class:`HTTPConnection`) that connects servers to applications.

Differences from Tornado: header values folded over several lines (obs-fold)
are unfolded instead of refused; multipart bodies may have a preamble;
:meth:`HTTPServerRequest.write` and :meth:`~HTTPServerRequest.finish` are
kept for the classic ``handle_request(request)`` style.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._delegates import HTTPConnection, HTTPMessageDelegate, HTTPServerConnectionDelegate
from ._errors import HTTPInputError, HTTPOutputError
from ._forms import HTTPFile, parse_body_arguments, parse_multipart_form_data
from ._headers import HTTPHeaders
from ._helpers import (
    _encode_header,
    _get_content_range,
    _parse_header,
    _parse_request_range,
    encode_username_password,
    format_timestamp,
    parse_cookie,
    qs_to_qsl,
    responses,
    split_host_and_port,
    url_concat,
)
from ._multipart_stream import (
    MultipartData,
    MultipartEnd,
    MultipartError,
    MultipartEvent,
    MultipartParser,
    MultipartPart,
    MultipartPartEnd,
)
from ._request import HTTPServerRequest
from ._startline import (
    RequestStartLine,
    ResponseStartLine,
    parse_request_start_line,
    parse_response_start_line,
)

__all__ = [
    "HTTPConnection",
    "HTTPFile",
    "HTTPHeaders",
    "HTTPInputError",
    "HTTPMessageDelegate",
    "HTTPOutputError",
    "HTTPServerConnectionDelegate",
    "HTTPServerRequest",
    "MultipartData",
    "MultipartEnd",
    "MultipartError",
    "MultipartEvent",
    "MultipartParser",
    "MultipartPart",
    "MultipartPartEnd",
    "RequestStartLine",
    "ResponseStartLine",
    "encode_username_password",
    "format_timestamp",
    "parse_body_arguments",
    "parse_cookie",
    "parse_multipart_form_data",
    "parse_request_start_line",
    "parse_response_start_line",
    "qs_to_qsl",
    "responses",
    "split_host_and_port",
    "url_concat",
]

# Private helpers the web layer imports from here.
_PRIVATE_HELPERS = (_encode_header, _get_content_range, _parse_header, _parse_request_range)

_publish_public_names(globals())
