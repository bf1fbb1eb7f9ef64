"""Outgoing connections: resolve, race the addresses of both families, wrap the winner in a stream.

The race follows "Happy Eyeballs" (RFC 6555).  The resolver's answer is split
into two lanes by address family, the family of its first entry leading.
Each lane tries its addresses one after another, so at most one attempt per
family is in flight.  The second lane starts once the leading lane has had a
short head start (:data:`_INITIAL_CONNECT_TIMEOUT`) or as soon as one of its
attempts fails.  The first connection made wins; every other attempt is
cancelled or, if it connects too late, closed.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.netutil import Resolver, ssl_wrap_socket

__all__ = ["TCPClient"]

#: Head start, in seconds, of the leading address family over the other one.
_INITIAL_CONNECT_TIMEOUT = 0.3

_C = TypeVar("_C")


def _lanes(
    addrinfo: list[tuple[int, Any]],
) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
    """Splits *addrinfo* by family: the first entry's family, then every other entry."""
    if not addrinfo:
        return [], []
    lead = addrinfo[0][0]
    return [a for a in addrinfo if a[0] == lead], [a for a in addrinfo if a[0] != lead]


async def _happy_eyeballs(
    addrinfo: list[tuple[int, Any]],
    attempt: Callable[[int, Any], Awaitable[_C]],
    discard: Callable[[_C], object],
    head_start: float = _INITIAL_CONNECT_TIMEOUT,
) -> tuple[int, Any, _C]:
    """Races connection attempts over *addrinfo*; returns ``(family, address, connection)``.

    ``attempt(family, address)`` makes one connection (it cleans up after
    itself when it fails or is cancelled); ``discard(connection)`` closes a
    connection that finished after another had already won.  When every
    attempt fails the most recent failure is raised; cancelling the race
    cancels the attempts in flight.

    Raises:
        OSError: when *addrinfo* is empty.
    """
    if not addrinfo:
        raise OSError("no address to connect to")
    loop = asyncio.get_running_loop()
    first, second = _lanes(addrinfo)
    outcome: asyncio.Future[tuple[int, Any, _C]] = loop.create_future()
    stumbled: asyncio.Future[None] = loop.create_future()  # the leading lane had a failure
    last_error: BaseException = OSError("every connection attempt failed")
    running = 0

    async def lane(candidates: list[tuple[int, Any]], trailing: bool) -> None:
        nonlocal running, last_error
        if trailing:
            await asyncio.wait((stumbled,), timeout=head_start)
        for family, address in candidates:
            if outcome.done():
                return
            try:
                conn = await attempt(family, address)
            except Exception as exc:
                last_error = exc
                if not stumbled.done():
                    stumbled.set_result(None)
                continue
            if outcome.done():
                discard(conn)
            else:
                outcome.set_result((family, address, conn))
            return
        running -= 1
        if not running and not outcome.done():
            outcome.set_exception(last_error)

    lanes = [(first, False)] + ([(second, True)] if second else [])
    running = len(lanes)
    tasks = [loop.create_task(lane(cands, trailing)) for cands, trailing in lanes]
    try:
        return await outcome
    finally:
        for task in tasks:
            task.cancel()


def _local_end(family: int, source_ip: str | None, source_port: int | None) -> tuple[str, int]:
    if source_ip is None:
        source_ip = "::" if family == socket.AF_INET6 else "0.0.0.0"
    return source_ip, source_port or 0


class TCPClient:
    """Makes client connections; :meth:`connect` gives back a connected :class:`~squall.iostream.IOStream`.

    Args:
        resolver: the :class:`~squall.netutil.Resolver` for host names; by
            default a new ``Resolver()`` that this client owns and
            :meth:`close` closes.
    """

    def __init__(self, resolver: Resolver | None = None) -> None:
        self._own_resolver = resolver is None
        self.resolver = Resolver() if resolver is None else resolver

    def close(self) -> None:
        """Closes the resolver if this client made it (a resolver passed in stays open)."""
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
        """Connects to *host*:*port* and returns the stream.

        *host* is resolved with ``resolver`` (limited to family *af*),
        then the addresses are raced as the module describes.  With
        *ssl_options* the result is an :class:`~squall.iostream.SSLIOStream`
        whose handshake has completed, *host* being the name sent for SNI
        and checked against the certificate.  *source_ip* and *source_port*
        choose the local end.  *timeout* (seconds from now, or a
        :class:`~datetime.timedelta`) bounds the whole operation: lookup,
        connecting and handshake.

        Raises:
            TimeoutError: when *timeout* expires first
                (:data:`squall.util.TimeoutError`).
            StreamClosedError: when no address accepted the connection (its
                ``real_error`` says why, e.g. :class:`ConnectionRefusedError`)
                or the TLS handshake failed.
            OSError: when the name does not resolve, or the local end cannot
                be bound.
        """
        if timeout is None:
            return await self._open(
                host, port, af, ssl_options, max_buffer_size, source_ip, source_port
            )
        if isinstance(timeout, datetime.timedelta):
            seconds = timeout.total_seconds()
        else:
            seconds = float(timeout)
        return await asyncio.wait_for(
            self._open(host, port, af, ssl_options, max_buffer_size, source_ip, source_port),
            seconds,
        )

    async def _open(
        self,
        host: str,
        port: int,
        af: socket.AddressFamily,
        ssl_options: dict[str, Any] | ssl.SSLContext | None,
        max_buffer_size: int | None,
        source_ip: str | None,
        source_port: int | None,
    ) -> IOStream:
        addrinfo = await self.resolver.resolve(host, port, af)
        bind_local = source_ip is not None or bool(source_port)
        loop = asyncio.get_running_loop()

        async def dial(family: int, address: Any) -> socket.socket:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                if bind_local:
                    sock.bind(_local_end(family, source_ip, source_port))
                try:
                    await loop.sock_connect(sock, address)
                except OSError as exc:
                    raise StreamClosedError(real_error=exc) from exc
            except BaseException:
                sock.close()
                raise
            return sock

        _family, _address, sock = await _happy_eyeballs(addrinfo, dial, socket.socket.close)
        if ssl_options is None:
            return IOStream(sock, max_buffer_size)
        try:
            tls_sock = ssl_wrap_socket(
                sock,
                ssl_options,
                server_hostname=host,
                server_side=False,
                do_handshake_on_connect=False,
            )
        except BaseException:
            sock.close()
            raise
        stream = SSLIOStream(tls_sock, max_buffer_size, ssl_options=ssl_options)
        try:
            await stream.wait_for_handshake()
        except BaseException:
            stream.close()
            raise
        return stream
