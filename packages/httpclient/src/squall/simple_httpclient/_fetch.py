"""One fetch from start to callback: attempts, the response read, redirects, the outcome.

A :class:`_Fetch` is driven by callbacks, not by a task: on a pooled
connection the request bytes are written straight from ``fetch()`` and the
answer is parsed in the link's ``buffer_updated``, which settles the fetch
(and starts the next queued one) without another turn of the loop. A task
runs only where something must be awaited: dialing a new connection, a
``body_producer`` or ``expect_100_continue``.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from squall.http1connection._codec import H1Reader
from squall.http1connection._events import NEED_DATA, Data, EndOfMessage, H1ProtocolError, Head
from squall.httpclient._request import HTTPRequest
from squall.httpclient._response import HTTPClientError, HTTPResponse
from squall.httputil import HTTPHeaders, RequestStartLine

from ._h2 import _Lane, _take
from ._link import HTTPStreamClosedError, HTTPTimeoutError, _Link

if TYPE_CHECKING:
    from ._client import SimpleAsyncHTTPClient

__all__ = ["_Fetch"]

_REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"))
_CONTENT_FIELDS = ("Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding")
#: Bodies of known length at least this big are read in place (see ``_link``).
_BULK = 131072


class _Fetch:
    """The state of one ``fetch_impl`` call; see the module docstring."""

    __slots__ = (
        "_inflate",
        "_on_chunk",
        "_on_header",
        "bulk",
        "callback",
        "chunks",
        "client",
        "code",
        "continued",
        "deadline",
        "dest",
        "first",
        "follow",
        "head",
        "headers",
        "heard",
        "host",
        "keep",
        "key",
        "link",
        "over",
        "reason",
        "request",
        "retried",
        "reused",
        "sent",
        "size",
        "stream",
        "task",
        "timer",
        "wire",
    )

    def __init__(
        self,
        client: SimpleAsyncHTTPClient,
        request: HTTPRequest,
        callback: Callable[[HTTPResponse], None],
        deadline: float,
    ) -> None:
        self.client = client
        self.request = self.first = request
        self.callback = callback
        self.deadline = deadline
        self.link: _Link | None = None
        #: The HTTP/2 stream carrying the current request (``_h2._Lane``), if any.
        self.stream: _Lane | None = None
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.over = False
        self.retried = False
        self.continued: asyncio.Future[None] | None = None
        # Filled by the client's ``_prepare`` for each request (redirects included).
        self.key: tuple[Any, ...] = ()
        self.dest: tuple[str, int, Any] = ("", 0, None)
        self.host = ""
        self.keep = True
        self.wire: bytes | None = None
        self.head: tuple[RequestStartLine, HTTPHeaders] | None = None
        # The answer of the current attempt (reset by ``_send``).
        self.reused = self.heard = self.bulk = self.sent = self.follow = False
        self.code = self.size = 0
        self.reason = ""
        self.headers: HTTPHeaders | None = None
        self.chunks: list[bytes] = []
        self._on_chunk: Callable[[bytes], None] | None = None
        self._on_header: Callable[[str], None] | None = None
        self._inflate: Any = None

    # -- an attempt ---------------------------------------------------------------

    def begin(self) -> None:
        """Send the current request on an idle pooled connection, or dial one."""
        client = self.client
        try:
            client._prepare(self)
            if _take(self):
                return
        except Exception as e:
            self.fail(e)
            return
        self._attach()

    def _attach(self) -> None:
        link = self.client._pool.take(self.key)
        if link is not None:
            self._send(link, True)
            return
        self.task = task = asyncio.get_running_loop().create_task(self._connect())
        self.client._tasks.add(task)
        task.add_done_callback(self.client._tasks.discard)

    async def _connect(self) -> None:
        try:
            link = await self.client._dial(self)
        except asyncio.CancelledError:
            return
        except Exception as e:
            self.task = None
            self.fail(e)
            return
        self.task = None
        if self.over:
            link.drop()
            return
        self._send(link, False)

    def _send(self, link: _Link, reused: bool) -> None:
        self.link = link
        self.reused = reused
        self.heard = False
        self.bulk = False
        self.code = 0
        self.reason = ""
        self.headers = None
        self.chunks = []
        self.size = 0
        self.continued = None
        request = self.request
        self.follow = bool(request.follow_redirects) and (request.max_redirects or 0) > 0
        self._on_chunk = request.streaming_callback
        self._on_header = request.header_callback
        self._inflate = False if request.decompress_response else None
        link.owner = self
        link.reader.expect_response_to(request.method)
        client = self.client
        if self.deadline < client._alarm_at:
            client._watch(self.deadline)
        wire = self.wire
        transport = link.transport
        assert transport is not None
        if wire is not None:
            self.sent = True
            transport.write(wire)
            return
        self.sent = False
        self.task = task = asyncio.get_running_loop().create_task(self._send_slowly(link))
        self.client._tasks.add(task)
        task.add_done_callback(self.client._tasks.discard)

    async def _send_slowly(self, link: _Link) -> None:
        """Write a request that waits for ``100 Continue`` or has a ``body_producer``."""
        request = self.request
        writer = link.writer
        transport = link.transport
        assert transport is not None and self.head is not None
        body: bytes | None = request.body
        try:
            wire = writer.head(self.head[0], self.head[1], keep_alive=True)
            self.keep = self.keep and writer.keep_alive
            if request.expect_100_continue and (body is not None or request.body_producer):
                self.continued = asyncio.get_running_loop().create_future()
                transport.write(wire)
                wire = b""
                await self.continued
                if self.over or self.code or self.link is not link:
                    return  # answered (or failed) without asking for the body
            if request.body_producer is not None:
                if wire:
                    transport.write(wire)
                await request.body_producer(self._write_piece)  # type: ignore[arg-type]
                if self.over or self.link is not link:
                    return
                transport.write(writer.end())
            elif body is not None:
                transport.write(wire + writer.data(body) + writer.end())
            else:
                transport.write(wire + writer.end())
            self.sent = True
        except asyncio.CancelledError:
            return
        except Exception as e:
            if not self.over and self.link is link:
                self.fail(e)
        finally:
            if self.link is link:
                self.task = None

    def _write_piece(self, chunk: bytes) -> asyncio.Future[None]:
        link = self.link
        if self.over or link is None or link.closed:
            raise HTTPStreamClosedError("Stream closed while sending the body")
        assert link.transport is not None
        link.transport.write(link.writer.data(chunk))
        return asyncio.ensure_future(link.drain())

    # -- reading the answer (called by the link) -------------------------------------

    def on_bytes(self, data: bytes) -> None:
        self.heard = True
        link = self.link
        assert link is not None
        link.reader.feed(data)
        self._pump(link)

    def _pump(self, link: _Link) -> None:
        reader = link.reader
        try:
            while True:
                event = reader.next_event()
                if event is NEED_DATA:
                    return
                kind = type(event)
                if kind is Data:
                    self._body(event[0])  # type: ignore[index]
                elif kind is Head:
                    size = self._head(event)  # type: ignore[arg-type]
                    if size and self._fill_in_place(link, reader, size):
                        return
                elif kind is EndOfMessage:
                    break
        except H1ProtocolError as e:
            self.fail(HTTPClientError(599, f"Malformed HTTP response from {self.host}: {e.reason}"))
            return
        except Exception as e:
            # An HTTPClientError of ours, a user callback that raised, a body that would not inflate.
            self.fail(e)
            return
        self._complete(reader.keep_alive and not reader.buffered, None)

    def _head(self, head: Head) -> int:
        """Take a response head; returns the body size when it should be read in place."""
        line, headers = head
        code: int = line.code  # type: ignore[union-attr]
        if code < 200:
            continued = self.continued
            if code == 100 and continued is not None and not continued.done():
                continued.set_result(None)
            return 0
        self.code = code
        self.reason = line.reason  # type: ignore[union-attr]
        self.headers = headers
        continued = self.continued
        if continued is not None and not continued.done():
            # A final answer instead of "100 Continue": the body is not wanted.
            continued.set_result(None)
        if self.follow and not (code in _REDIRECT_CODES and "Location" in headers):
            self.follow = False
        on_header = self._on_header
        if on_header is not None:
            on_header(f"{line[0]} {code} {line[2]}\r\n")
            for name, value in headers.get_all():
                on_header(f"{name}: {value}\r\n")
            on_header("\r\n")
        if self._inflate is False:
            coding = headers.get("Content-Encoding")
            if coding is not None and coding.lower() == "gzip":
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                del headers["Content-Encoding"]
                headers["X-Consumed-Content-Encoding"] = coding
            else:
                self._inflate = None
        if self.follow:
            self._on_chunk = None
            return 0
        length = headers.get("Content-Length")
        if length is None or self._inflate or self._on_chunk is not None:
            return 0
        if code in (204, 304) or self.request.method == "HEAD" or "Transfer-Encoding" in headers:
            return 0
        size = int(length)
        if size > self.client._body_limit:
            self._too_big()
        return size if size >= _BULK else 0

    def _fill_in_place(self, link: _Link, reader: H1Reader, size: int) -> bool:
        """Switch ``link`` to reading the body into its big buffer; False if it is all here."""
        event = reader.next_event()
        first: bytes = event[0] if type(event) is Data else b""
        if len(first) == size:
            self.chunks.append(first)
            return False
        self.keep = self.keep and reader.keep_alive
        self.bulk = True
        link.fill(first, size)
        return True

    def on_filled(self, body: bytes) -> None:
        link = self.link
        assert link is not None
        # The codec never saw the body: a fresh reader takes the next response.
        link.reader = H1Reader(client=True, limits=self.client._limits)
        self._complete(True, body)

    def _too_big(self) -> None:
        limit = self.client._body_limit
        raise HTTPClientError(599, f"response body from {self.host} larger than {limit} bytes")

    def _body(self, data: bytes) -> None:
        inflate = self._inflate
        if inflate:
            data = inflate.decompress(data, self.client._body_limit + 1)
            if inflate.unconsumed_tail:
                self._too_big()
        if self.follow:
            return
        if self._on_chunk is not None:
            if data:
                self._on_chunk(data)
            return
        self.size += len(data)
        if self.size > self.client._body_limit:
            self._too_big()
        self.chunks.append(data)

    def on_lost(self, exc: Exception | None) -> None:
        """The connection went away; finish a close-delimited body or report the failure."""
        link = self.link
        if link is None or self.over:
            return
        if not self.bulk:
            link.reader.feed(b"")
            self._pump(link)
            if self.link is not link:
                return  # completed (or failed) with what had arrived
        self.link = None
        link.owner = None
        if not self.heard and self.reused:
            request = self.request
            if not self.retried and request.method in _IDEMPOTENT and not request.body_producer:
                self.retried = True
                self._stop_sending()
                self._attach()
                return
            error = HTTPStreamClosedError(
                f"Stream closed: {self.host} closed a kept-alive connection"
            )
        elif self.bulk:
            error = HTTPStreamClosedError(
                f"Stream closed: {self.host} closed the connection in the middle of a body"
            )
        elif isinstance(exc, ConnectionResetError):
            error = HTTPStreamClosedError(f"Stream closed: connection reset by {self.host}")
        elif exc is not None:
            error = HTTPStreamClosedError(f"Stream closed: connection lost ({exc}) by {self.host}")
        else:
            error = HTTPStreamClosedError(f"Stream closed: connection closed by {self.host}")
        self.fail(error)

    # -- outcomes -----------------------------------------------------------------

    def _complete(self, keep_alive: bool, body: bytes | None) -> None:
        link = self.link
        assert link is not None
        self.link = None
        link.owner = None
        client = self.client
        if self._inflate:
            rest = self._inflate.flush()
            if rest:
                self._inflate = None
                try:
                    self._body(rest)
                except Exception as e:
                    link.drop()
                    self.fail(e)
                    return
        if keep_alive and self.keep and self.sent and not client._closed:
            if not self.bulk:
                link.reader.start_next_message()
            client._pool.give(self.key, link)
        else:
            link.drop()
        request = self.request
        headers = self.headers
        assert headers is not None
        code = self.code
        if self.follow:
            self.request = _redirected(request, urljoin(request.url, headers["Location"]), code)
            self.retried = False
            self.begin()
            return
        response = HTTPResponse._of_bytes(
            self.first,
            code,
            b"".join(self.chunks) if body is None else body,
            headers,
            self.reason,
            request.url,
            time.monotonic() - request._start_time,
            request.start_time,
        )
        if (
            request.follow_redirects
            and request.max_redirects
            and code in _REDIRECT_CODES
            and "Location" in headers
        ):
            response.error = HTTPClientError(
                code, f"Too many redirects (max_redirects={request.max_redirects})", response
            )
        self._conclude(response)

    def expire(self) -> None:
        """The deadline passed while the answer was awaited."""
        self.fail(HTTPTimeoutError("Timeout during request"))

    def fail(self, error: BaseException) -> None:
        """End the fetch with ``error``; its connection, if any, is closed."""
        link = self.link
        if link is not None:
            self.link = None
            link.drop()
        lane = self.stream
        if lane is not None:
            self.stream = None
            lane.retire()
        self._stop_sending()
        if self.over:
            return
        code = error.code if isinstance(error, HTTPClientError) else 599
        request = self.request
        self._conclude(
            HTTPResponse(
                request,
                code,
                error=error,
                request_time=time.monotonic() - request._start_time,
                start_time=request.start_time,
            )
        )

    def _stop_sending(self) -> None:
        continued, self.continued = self.continued, None
        if continued is not None and not continued.done():
            continued.set_result(None)
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _conclude(self, response: HTTPResponse) -> None:
        if self.over:
            return
        self.over = True
        client = self.client
        client._live.pop(self, None)
        client._next_waiting()
        self.callback(response)


def _redirected(request: HTTPRequest, url: str, code: int) -> HTTPRequest:
    """The request to send after a ``code`` redirect to ``url``."""
    nxt = object.__new__(HTTPRequest)
    nxt.__dict__.update(request.__dict__)
    nxt.url = url
    nxt.max_redirects = (request.max_redirects or 0) - 1
    headers = request.headers.copy()
    nxt.headers = headers
    if (code == 303 and request.method != "HEAD") or (
        code in (301, 302) and request.method == "POST"
    ):
        nxt.method = "GET"
        nxt.body = None
        nxt.body_producer = None
        for name in _CONTENT_FIELDS:
            if name in headers:
                del headers[name]
    old, new = urlsplit(request.url), urlsplit(url)
    if (old.scheme, old.netloc) != (new.scheme, new.netloc):
        for name in ("Host", "Authorization"):
            if name in headers:
                del headers[name]
        if request.auth_username is not None and old.hostname != new.hostname:
            nxt.auth_username = nxt.auth_password = None
    return nxt
