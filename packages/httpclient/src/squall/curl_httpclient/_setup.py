"""Translate one :class:`~squall.httpclient.HTTPRequest` into libcurl options.

Everything here is synchronous and touches only a ``pycurl.Curl`` easy handle
and a small per-transfer record (:class:`_Transfer`); the event-loop side lives
in :mod:`._client`. The mapping, option by option:

- method: GET -> ``HTTPGET``, HEAD -> ``NOBODY``, POST -> ``POST`` with the
  body size, any other method -> ``CUSTOMREQUEST`` (with ``UPLOAD`` when it
  carries a body). Without ``allow_nonstandard_methods`` POST/PUT/PATCH need a
  body and every other method must have none.
- auth_mode ``basic`` (default) or ``digest``; proxy_auth_mode likewise.
- connect_timeout / request_timeout in milliseconds (request_timeout minus
  the time the request already spent queued).
- expect_100_continue: off sends an empty ``Expect:`` so libcurl never waits
  for ``100 Continue``; on asks for it explicitly.
- decompress_response: libcurl advertises and undoes gzip/deflate; the
  decoded ``Content-Encoding`` is then reported as
  ``X-Consumed-Content-Encoding`` (as the simple client does), since the body
  handed back is no longer encoded.
- proxies from the environment are ignored: only proxy_host/proxy_port count.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pycurl  # type: ignore[import-untyped,unused-ignore]
from squall.httputil import HTTPHeaders

_BODY_REQUIRED = frozenset(("POST", "PUT", "PATCH"))
_AUTH_MODES = {"basic": pycurl.HTTPAUTH_BASIC, "digest": pycurl.HTTPAUTH_DIGEST}
_DEFAULT_AGENT = "Mozilla/5.0 (compatible; squall curl_httpclient)"


class _Transfer:
    """What the client remembers about one request while libcurl runs it."""

    __slots__ = (
        "body",
        "buffer",
        "callback",
        "headers",
        "queued_at",
        "reason",
        "request",
        "start_mono",
        "start_wall",
    )

    def __init__(self, request: Any, callback: Callable[[Any], None], queued_at: float) -> None:
        self.request = request
        self.callback = callback
        self.queued_at = queued_at
        self.start_mono = 0.0
        self.start_wall = 0.0
        self.buffer = io.BytesIO()
        self.headers = HTTPHeaders()
        self.reason = ""
        self.body: bytes | None = None


def _header_sink(transfer: _Transfer) -> Callable[[bytes], None]:
    """HEADERFUNCTION: fill ``transfer.headers``; a new status line starts over.

    libcurl hands over every header line of every response it reads (1xx
    interim answers and each redirect hop too); only the last one's headers
    are kept.
    """
    user_callback = transfer.request.header_callback

    def sink(raw: bytes) -> None:
        line = raw.decode("latin-1")
        if user_callback is not None:
            user_callback(line)
        if line.startswith("HTTP/"):
            transfer.headers = HTTPHeaders()
            parts = line.rstrip("\r\n").split(" ", 2)
            transfer.reason = parts[2] if len(parts) > 2 else ""
        elif line.strip():
            transfer.headers.parse_line(line)

    return sink


def _check_body(method: str, has_body: bool, lenient: bool) -> None:
    if lenient:
        return
    if method in _BODY_REQUIRED and not has_body:
        raise ValueError(f"a {method} request needs a body (or allow_nonstandard_methods=True)")
    if method not in _BODY_REQUIRED and has_body:
        raise ValueError(
            f"a {method} request must not carry a body (or allow_nonstandard_methods=True)"
        )


def _apply_method(curl: Any, method: str, body: bytes | None) -> None:
    if body is None:
        if method == "GET":
            curl.setopt(pycurl.HTTPGET, 1)
        elif method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        else:
            curl.setopt(pycurl.CUSTOMREQUEST, method)
        return
    if method == "POST":
        # POSTFIELDS keeps the bytes, so libcurl can send them again after a 307/308.
        curl.setopt(pycurl.POSTFIELDSIZE, len(body))
        curl.setopt(pycurl.POSTFIELDS, body)
        return
    source = io.BytesIO(body)
    curl.setopt(pycurl.READFUNCTION, source.read)

    def rewind(offset: int, origin: int) -> int:
        source.seek(offset, origin)
        return 0  # CURL_SEEKFUNC_OK

    curl.setopt(pycurl.SEEKFUNCTION, rewind)
    curl.setopt(pycurl.UPLOAD, 1)
    curl.setopt(pycurl.INFILESIZE, len(body))
    if method != "PUT":
        curl.setopt(pycurl.CUSTOMREQUEST, method)


def _auth_bits(mode: str | None, what: str) -> int:
    try:
        return int(_AUTH_MODES[mode or "basic"])
    except KeyError:
        raise ValueError(f"unsupported {what}: {mode!r} (use 'basic' or 'digest')") from None


# Certificate files: (request attribute, libcurl option), each set only when given.
_TLS_FILES = (
    ("ca_certs", pycurl.CAINFO),
    ("client_cert", pycurl.SSLCERT),
    ("client_key", pycurl.SSLKEY),
)


def _apply_tls(curl: Any, request: Any) -> None:
    if request.ssl_options is not None:
        raise ValueError("ssl_options is not supported by the curl client; use ca_certs etc.")
    checking = 1 if request.validate_cert else 0
    # VERIFYHOST takes 2 (name must match) or 0; 1 is an obsolete value.
    curl.setopt(pycurl.SSL_VERIFYHOST, 2 * checking)
    curl.setopt(pycurl.SSL_VERIFYPEER, checking)
    for attribute, option in _TLS_FILES:
        path = getattr(request, attribute)
        if path is not None:
            curl.setopt(option, path)


def _apply_proxy(curl: Any, request: Any) -> None:
    if not (request.proxy_host and request.proxy_port):
        # An empty string disables the *_proxy environment variables.
        curl.setopt(pycurl.PROXY, "")
        return
    curl.setopt(pycurl.PROXY, request.proxy_host)
    curl.setopt(pycurl.PROXYPORT, int(request.proxy_port))
    if request.proxy_username:
        curl.setopt(pycurl.PROXYUSERNAME, request.proxy_username)
        curl.setopt(pycurl.PROXYPASSWORD, request.proxy_password or "")
        curl.setopt(pycurl.PROXYAUTH, _auth_bits(request.proxy_auth_mode, "proxy_auth_mode"))


def _header_lines(request: Any) -> list[str]:
    lines = [f"{name}: {value}" for name, value in request.headers.get_all()]
    names = {name.lower() for name, _ in request.headers.get_all()}
    if "expect" not in names:
        lines.append("Expect: 100-continue" if request.expect_100_continue else "Expect:")
    return lines


def _configure(curl: Any, transfer: _Transfer, time_left: float | None) -> None:
    """Set every option of ``transfer.request`` on a freshly reset easy handle."""
    request = transfer.request
    method = request.method.upper()
    body = transfer.body
    if body is None and request.body is not None:
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
    _check_body(method, body is not None, bool(request.allow_nonstandard_methods))

    setopt = curl.setopt
    setopt(pycurl.URL, request.url)
    setopt(pycurl.NOSIGNAL, 1)
    setopt(pycurl.HTTPHEADER, _header_lines(request))
    setopt(pycurl.HEADERFUNCTION, _header_sink(transfer))
    sink = request.streaming_callback
    setopt(pycurl.WRITEFUNCTION, sink if sink is not None else transfer.buffer.write)
    setopt(pycurl.FOLLOWLOCATION, 1 if request.follow_redirects else 0)
    if request.max_redirects is not None:
        setopt(pycurl.MAXREDIRS, int(request.max_redirects))
    if request.connect_timeout:
        setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(1000 * request.connect_timeout)))
    if time_left is not None:
        setopt(pycurl.TIMEOUT_MS, max(1, int(1000 * time_left)))
    setopt(pycurl.USERAGENT, request.user_agent or _DEFAULT_AGENT)
    if request.decompress_response:
        setopt(pycurl.ENCODING, "gzip,deflate")
    if request.network_interface:
        setopt(pycurl.INTERFACE, request.network_interface)
    setopt(
        pycurl.IPRESOLVE,
        pycurl.IPRESOLVE_WHATEVER if request.allow_ipv6 is not False else pycurl.IPRESOLVE_V4,
    )
    _apply_proxy(curl, request)
    _apply_tls(curl, request)
    if request.auth_username is not None:
        setopt(pycurl.HTTPAUTH, _auth_bits(request.auth_mode, "auth_mode"))
        setopt(pycurl.USERNAME, request.auth_username)
        setopt(pycurl.PASSWORD, request.auth_password or "")
    _apply_method(curl, method, body)
    if request.prepare_curl_callback is not None:
        request.prepare_curl_callback(curl)


# Codings libcurl undoes for ENCODING "gzip,deflate" (lower case).
_DECODED = frozenset(("gzip", "x-gzip", "deflate"))


def _mark_decoded(headers: HTTPHeaders) -> None:
    """Rename a coding libcurl removed from the body to ``X-Consumed-Content-Encoding``."""
    coding = headers.get("Content-Encoding")
    if coding is not None and coding.strip().lower() in _DECODED:
        del headers["Content-Encoding"]
        headers["X-Consumed-Content-Encoding"] = coding


# The timers libcurl keeps for each transfer, reported as HTTPResponse.time_info.
_TIMERS = (
    ("namelookup", pycurl.NAMELOOKUP_TIME),
    ("connect", pycurl.CONNECT_TIME),
    ("appconnect", pycurl.APPCONNECT_TIME),
    ("pretransfer", pycurl.PRETRANSFER_TIME),
    ("starttransfer", pycurl.STARTTRANSFER_TIME),
    ("total", pycurl.TOTAL_TIME),
    ("redirect", pycurl.REDIRECT_TIME),
)


def _timings(curl: Any, queued: float) -> dict[str, float]:
    info = {"queue": queued}
    getinfo = curl.getinfo
    for key, code in _TIMERS:
        info[key] = float(getinfo(code))
    return info
