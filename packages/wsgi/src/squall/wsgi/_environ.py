"""From a squall request to a PEP 3333 ``environ`` dictionary.

The server has already read the whole body and decoded the head as latin-1,
so every value here is a "native string" in PEP 3333's sense: one character
per byte of the request.  Header names become ``HTTP_*`` keys through a small
cache, since the same few dozen names arrive on every request.
"""

from __future__ import annotations

import io
import sys
from typing import Any
from urllib.parse import unquote_to_bytes

from squall.httputil import HTTPServerRequest, split_host_and_port

__all__ = ["_make_environ"]

# Header name (as HTTPHeaders spells it) -> environ key.  The two CGI
# variables without the HTTP_ prefix are seeded; others are added on demand.
_KEY_FOR: dict[str, str] = {"Content-Type": "CONTENT_TYPE", "Content-Length": "CONTENT_LENGTH"}
_KEY_CACHE_LIMIT = 1024


def _environ_key(name: str) -> str:
    key = _KEY_FOR.get(name)
    if key is None:
        key = "HTTP_" + name.upper().replace("-", "_")
        if len(_KEY_FOR) < _KEY_CACHE_LIMIT:
            _KEY_FOR[name] = key
    return key


def _path_info(path: str) -> str:
    """The request path with %-escapes undone, as a latin-1 "bytes in a str"."""
    if "%" not in path:
        return path
    try:
        raw = path.encode("latin-1")
    except UnicodeEncodeError:
        raw = path.encode("utf-8")
    return unquote_to_bytes(raw).decode("latin-1")


def _make_environ(request: HTTPServerRequest, multithread: bool) -> dict[str, Any]:
    """The WSGI environment for ``request`` (see :meth:`WSGIContainer.environ`)."""
    scheme = request.protocol
    name, port = split_host_and_port(request.host)
    if port is None:
        port = 443 if scheme == "https" else 80
    body = request.body
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _path_info(request.path),
        "QUERY_STRING": request.query,
        "REMOTE_ADDR": request.remote_ip or "",
        "SERVER_NAME": name,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": request.version,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        # The whole body is in wsgi.input and reading past it gives b"":
        # frameworks that honour this flag need no CONTENT_LENGTH to read it.
        "wsgi.input_terminated": True,
    }
    headers = request.headers
    for field, value in headers.items():
        if field == "Cookie" and "," in value:
            # Several Cookie fields make one list of pairs, "; "-separated.
            value = "; ".join(headers.get_list("Cookie"))
        environ[_environ_key(field)] = value
    if body or "CONTENT_LENGTH" in environ:
        # What the application reads, after de-chunking and decompression.
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ
