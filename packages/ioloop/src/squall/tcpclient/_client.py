"""Outgoing connections: resolve, race IPv6/IPv4 candidates ("Happy Eyeballs"), wrap in a stream."""

from __future__ import annotations

import asyncio
import datetime
import functools
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

from squall.iostream import IOStream
from squall.netutil import Resolver
from squall.util import TimeoutError

__all__ = ["TCPClient"]

#: Seconds to wait on the first address family before also trying the other.
_INITIAL_CONNECT_TIMEOUT = 0.3

_ConnectFn = Callable[[int, Any], "tuple[IOStream, asyncio.Future[IOStream]]"]


class _Connector:
    """One connection attempt over a list of addresses ("Happy Eyeballs", RFC 6555).

    Addresses are split by family: the family of the first address is the
    primary one.  Primary addresses are tried one at a time; if the current
    attempt has not succeeded after *timeout* seconds, or fails outright,
    attempts on the other family start in parallel.  The first connection
    made wins and every other attempt is closed.
    """

    def __init__(self, addrinfo: list[tuple[int, Any]], connect: _ConnectFn) -> None:
        self._loop = asyncio.get_running_loop()
        self.connect = connect
        self.future: asyncio.Future[tuple[int, Any, IOStream]] = self._loop.create_future()
        self.timeout: asyncio.TimerHandle | None = None
        self.connect_timeout: asyncio.TimerHandle | None = None
        self.last_error: BaseException | None = None
        self.remaining = len(addrinfo)
        self.primary_addrs, self.secondary_addrs = self.split(addrinfo)
        self.streams: set[IOStream] = set()

    @staticmethod
    def split(
        addrinfo: list[tuple[int, Any]],
    ) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
        """Split *addrinfo* in two: entries sharing the first entry's family, then all others."""
        primary: list[tuple[int, Any]] = []
        secondary: list[tuple[int, Any]] = []
        if addrinfo:
            first = addrinfo[0][0]
            for af, addr in addrinfo:
                (primary if af == first else secondary).append((af, addr))
        return primary, secondary

    def start(
        self,
        timeout: float = _INITIAL_CONNECT_TIMEOUT,
        connect_timeout: float | None = None,
    ) -> asyncio.Future[tuple[int, Any, IOStream]]:
        """Begins connecting; the future gives ``(family, address, stream)``."""
        if not self.remaining:
            self.future.set_exception(OSError("no addresses to connect to"))
            return self.future
        self.try_connect(iter(self.primary_addrs))
        self.set_timeout(timeout)
        if connect_timeout is not None:
            self.set_connect_timeout(connect_timeout)
        return self.future

    def try_connect(self, addrs: Iterator[tuple[int, Any]]) -> None:
        try:
            af, addr = next(addrs)
        except StopIteration:
            # This family is exhausted; fail only once every attempt has.
            if self.remaining == 0 and not self.future.done():
                self.future.set_exception(self.last_error or OSError("connect failed"))
                self.future.exception()
            return
        try:
            stream, fut = self.connect(af, addr)
        except OSError as e:
            self.remaining -= 1
            self.last_error = e
            self.try_connect(addrs)
            return
        self.streams.add(stream)
        fut.add_done_callback(functools.partial(self.on_connect_done, addrs, af, addr))

    def on_connect_done(
        self,
        addrs: Iterator[tuple[int, Any]],
        af: int,
        addr: Any,
        fut: asyncio.Future[IOStream],
    ) -> None:
        self.remaining -= 1
        try:
            stream = fut.result()
        except Exception as e:
            if self.future.done():
                return
            self.last_error = e
            self.try_connect(addrs)
            if self.timeout is not None:
                # Don't wait for the timer: the primary family just failed.
                self.timeout.cancel()
                self.on_timeout()
            return
        self.clear_timeouts()
        if self.future.done():
            # Another attempt won (or we timed out): drop this one.
            stream.close()
            return
        self.streams.discard(stream)
        self.future.set_result((af, addr, stream))
        self.close_streams()

    def set_timeout(self, timeout: float) -> None:
        self.timeout = self._loop.call_later(timeout, self.on_timeout)

    def on_timeout(self) -> None:
        self.timeout = None
        if not self.future.done():
            self.try_connect(iter(self.secondary_addrs))

    def clear_timeout(self) -> None:
        if self.timeout is not None:
            self.timeout.cancel()
            self.timeout = None

    def set_connect_timeout(self, connect_timeout: float) -> None:
        self.connect_timeout = self._loop.call_later(connect_timeout, self.on_connect_timeout)

    def on_connect_timeout(self) -> None:
        self.connect_timeout = None
        if not self.future.done():
            self.future.set_exception(TimeoutError())
            self.future.exception()
        self.close_streams()

    def clear_timeouts(self) -> None:
        self.clear_timeout()
        if self.connect_timeout is not None:
            self.connect_timeout.cancel()
            self.connect_timeout = None

    def close_streams(self) -> None:
        for stream in self.streams:
            stream.close()
        self.streams.clear()


def _seconds(timeout: float | datetime.timedelta) -> float:
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


class TCPClient:
    """Makes client connections; :meth:`connect` yields a ready :class:`~squall.iostream.IOStream`.

    Args:
        resolver: the :class:`~squall.netutil.Resolver` to use; by default a
            new ``Resolver()`` owned (and closed) by this client.
    """

    def __init__(self, resolver: Resolver | None = None) -> None:
        if resolver is not None:
            self.resolver = resolver
            self._own_resolver = False
        else:
            self.resolver = Resolver()
            self._own_resolver = True

    def close(self) -> None:
        """Closes the resolver if this client created it."""
        if self._own_resolver:
            self.resolver.close()

    async def connect(
        self,
        host: str,
        port: int,
        af: socket.AddressFamily = socket.AF_UNSPEC,
        ssl_options: dict[str, Any] | ssl.SSLContext | None = None,
        max_buffer_size: int | None = None,
        source_ip: str | None = None,
        source_port: int | None = None,
        timeout: float | datetime.timedelta | None = None,
    ) -> IOStream:
        """Connects to *host*:*port*; returns an :class:`~squall.iostream.IOStream`.

        With *ssl_options* the result is an
        :class:`~squall.iostream.SSLIOStream` whose handshake is complete
        (*host* is the server name checked).  *source_ip* / *source_port*
        bind the local end.  *timeout* (seconds or a
        :class:`~datetime.timedelta`) bounds the whole operation.

        Raises:
            TimeoutError: when *timeout* expires.
            StreamClosedError: when no address could be connected (its
                ``real_error`` says why, e.g. :class:`ConnectionRefusedError`).
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + _seconds(timeout)

        def remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - loop.time())

        addrinfo = await asyncio.wait_for(
            asyncio.ensure_future(self.resolver.resolve(host, port, af)), remaining()
        )
        connector = _Connector(
            addrinfo,
            functools.partial(
                self._create_stream,
                max_buffer_size,
                source_ip=source_ip,
                source_port=source_port,
            ),
        )
        _af, _addr, stream = await connector.start(connect_timeout=remaining())
        if ssl_options is not None:
            tls = stream.start_tls(False, ssl_options=ssl_options, server_hostname=host)
            try:
                return await asyncio.wait_for(asyncio.shield(tls), remaining())
            except asyncio.TimeoutError:
                if not tls.done():
                    tls.cancel()
                raise

        return stream

    def _create_stream(
        self,
        max_buffer_size: int | None,
        af: int,
        addr: Any,
        source_ip: str | None = None,
        source_port: int | None = None,
    ) -> tuple[IOStream, asyncio.Future[IOStream]]:
        sock = socket.socket(af)
        if source_ip is not None or source_port:
            if source_ip is None:
                source_ip = "::" if af == socket.AF_INET6 else "0.0.0.0"
            try:
                sock.bind((source_ip, source_port or 0))
            except OSError:
                sock.close()
                raise
        stream = IOStream(sock, max_buffer_size=max_buffer_size)
        return stream, stream.connect(addr)
