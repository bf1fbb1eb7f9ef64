"""CurlAsyncHTTPClient: libcurl's multi interface driven by squall's IOLoop.

libcurl decides which sockets it wants watched and when it next needs a
timeout; it tells us through two callbacks on the ``CurlMulti`` handle:

- the socket callback maps ``POLL_IN/OUT/INOUT/REMOVE`` onto
  ``IOLoop.add_handler`` / ``update_handler`` / ``remove_handler``;
- the timer callback (re)arms one ``IOLoop.call_later`` handle.

When the loop reports activity (or the timer fires) we hand it back with
``socket_action`` and then drain ``info_read`` for finished transfers. At most
``max_clients`` easy handles run at once; further requests wait in a FIFO,
and their queue time counts against ``request_timeout``.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

import pycurl  # type: ignore[import-untyped,unused-ignore]
from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from squall.ioloop import IOLoop

from ._setup import _configure, _mark_decoded, _timings, _Transfer

_POLL_EVENTS = {
    pycurl.POLL_NONE: 0,
    pycurl.POLL_IN: IOLoop.READ,
    pycurl.POLL_OUT: IOLoop.WRITE,
    pycurl.POLL_INOUT: IOLoop.READ | IOLoop.WRITE,
}


class CurlError(HTTPClientError):
    """A transfer that libcurl gave up on: code 599, libcurl's message, ``errno``.

    ``errno`` is libcurl's ``CURLE_*`` number (e.g. 7 = could not connect,
    28 = timed out, 60 = certificate verification failed).
    """

    def __init__(self, errno: int, message: str) -> None:
        super().__init__(599, message)
        self.errno = errno


class CurlAsyncHTTPClient(AsyncHTTPClient):
    """``libcurl``-based HTTP client (needs ``pycurl``: ``squall-httpclient[curl]``).

    Takes ``max_clients`` (transfers in progress at once; the rest queue) and
    ``defaults`` (default :class:`~squall.httpclient.HTTPRequest` arguments),
    through :meth:`squall.httpclient.AsyncHTTPClient.configure` or the constructor with
    ``force_instance=True``. Supports digest auth, proxies with basic or digest
    auth, ``network_interface`` and ``prepare_curl_callback``; not
    ``ssl_options`` (raises ValueError). ``body_producer`` is supported by
    collecting the whole body before the transfer starts.
    ``HTTPResponse.time_info`` holds libcurl's timers (``namelookup``,
    ``connect``, ``appconnect``, ``pretransfer``, ``starttransfer``,
    ``total``, ``redirect``, in seconds) plus ``queue``, the time spent
    waiting for a free slot.
    """

    def initialize(  # type: ignore[override]
        self, max_clients: int = 10, defaults: dict[str, Any] | None = None
    ) -> None:
        super().initialize(defaults=defaults)
        self._capacity = max_clients
        self._spare: list[Any] = []
        self._running: dict[Any, _Transfer] = {}
        self._queue: collections.deque[_Transfer] = collections.deque()
        self._watched: dict[int, int] = {}
        self._timer: object | None = None
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)

    # -- the request queue ------------------------------------------------
    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        transfer = _Transfer(request, callback, time.monotonic())
        if request.body_producer is not None:
            gathering = asyncio.ensure_future(self._gather_body(transfer))
            gathering.add_done_callback(lambda done: self._enqueue(transfer, done))
            return
        self._queue.append(transfer)
        self._start_waiting()

    async def _gather_body(self, transfer: _Transfer) -> None:
        parts: list[bytes] = []

        def write(chunk: bytes) -> Any:
            parts.append(chunk)
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

        result = transfer.request.body_producer(write)
        if result is not None:
            await result
        transfer.body = b"".join(parts)

    def _enqueue(self, transfer: _Transfer, future: Any) -> None:
        error = future.exception()
        if error is not None:
            self._fail(transfer, error)
            return
        self._queue.append(transfer)
        self._start_waiting()

    def _start_waiting(self) -> None:
        while self._queue and len(self._running) < self._capacity:
            transfer = self._queue.popleft()
            curl = self._spare.pop() if self._spare else pycurl.Curl()
            now = time.monotonic()
            timeout = transfer.request.request_timeout
            time_left = None
            if timeout:
                time_left = timeout - (now - transfer.queued_at)
                if time_left <= 0:
                    self._spare.append(curl)
                    self._fail(transfer, HTTPClientError(599, "Timeout in request queue"))
                    continue
            try:
                _configure(curl, transfer, time_left)
            except Exception as error:
                curl.reset()
                self._spare.append(curl)
                self._fail(transfer, error)
                continue
            transfer.start_mono = now
            transfer.start_wall = time.time()
            self._running[curl] = transfer
            self._multi.add_handle(curl)

    def _fail(self, transfer: _Transfer, error: BaseException) -> None:
        now = time.monotonic()
        response = HTTPResponse(
            transfer.request,
            599,
            error=error,
            request_time=now - transfer.queued_at,
            start_time=time.time(),
        )
        transfer.callback(response)

    # -- libcurl -> IOLoop --------------------------------------------------
    def _on_socket(self, what: int, fd: int, multi: Any, data: Any) -> None:
        io_loop = self.io_loop
        if what == pycurl.POLL_REMOVE:
            if self._watched.pop(fd, None) is not None:
                io_loop.remove_handler(fd)
            return
        events = _POLL_EVENTS[what]
        if fd in self._watched:
            io_loop.update_handler(fd, events)
        else:
            io_loop.add_handler(fd, self._on_ready, events)
        self._watched[fd] = events

    def _on_timer(self, msecs: int) -> None:
        if self._timer is not None:
            self.io_loop.remove_timeout(self._timer)
            self._timer = None
        if msecs >= 0:
            self._timer = self.io_loop.call_later(msecs / 1000.0, self._on_deadline)

    # -- IOLoop -> libcurl --------------------------------------------------
    def _on_ready(self, fd: int, events: int) -> None:
        mask = 0
        if events & IOLoop.READ:
            mask |= pycurl.CSELECT_IN
        if events & IOLoop.WRITE:
            mask |= pycurl.CSELECT_OUT
        if events & IOLoop.ERROR:
            mask |= pycurl.CSELECT_ERR
        self._drive(fd, mask)

    def _on_deadline(self) -> None:
        self._timer = None
        self._drive(pycurl.SOCKET_TIMEOUT, 0)

    def _drive(self, fd: int, mask: int) -> None:
        action = self._multi.socket_action
        while True:
            try:
                status, _running = action(fd, mask)
            except pycurl.error as error:
                status = error.args[0]
            if status != pycurl.E_CALL_MULTI_PERFORM:
                break
        self._collect()

    def _collect(self) -> None:
        info_read = self._multi.info_read
        while True:
            left, succeeded, failed = info_read()
            for curl in succeeded:
                self._finish(curl, None)
            for curl, errno, message in failed:
                self._finish(curl, CurlError(errno, message))
            if not left:
                break
        if self._queue:
            self._start_waiting()

    def _finish(self, curl: Any, error: CurlError | None) -> None:
        transfer = self._running.pop(curl)
        self._multi.remove_handle(curl)
        getinfo = curl.getinfo
        try:
            code = int(getinfo(pycurl.RESPONSE_CODE))
            url = str(getinfo(pycurl.EFFECTIVE_URL))
            timings = _timings(curl, transfer.start_mono - transfer.queued_at)
        finally:
            curl.reset()
            self._spare.append(curl)
        buffer = transfer.buffer
        buffer.seek(0)
        if transfer.request.decompress_response:
            _mark_decoded(transfer.headers)
        response = HTTPResponse(
            transfer.request,
            599 if error is not None else code,
            headers=transfer.headers,
            buffer=buffer,
            effective_url=url or transfer.request.url,
            error=error,
            reason=transfer.reason or None,
            request_time=time.monotonic() - transfer.start_mono,
            start_time=transfer.start_wall,
            time_info=timings,
        )
        transfer.callback(response)

    def close(self) -> None:
        if self._timer is not None:
            self.io_loop.remove_timeout(self._timer)
            self._timer = None
        for fd in list(self._watched):
            self.io_loop.remove_handler(fd)
        self._watched.clear()
        for curl in list(self._running):
            self._multi.remove_handle(curl)
            curl.close()
        self._running.clear()
        for curl in self._spare:
            curl.close()
        self._spare.clear()
        self._multi.close()
        super().close()
