"""A :class:`~squall.netutil.Resolver` backed by c-ares (the ``pycares`` package).

Install with the ``cares`` extra (``pip install squall-ioloop[cares]``).
c-ares' sockets are driven by the asyncio event loop: no threads.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pycares
from squall.netutil import Resolver, is_valid_ip

__all__ = ["CaresResolver"]


class CaresResolver(Resolver):
    """Looks host names up through ``pycares``, the Python binding of c-ares.

    Lookups use no threads: the event loop watches c-ares' own sockets.  To
    make it the default, pass its dotted path,
    ``"squall.platform.caresresolver.CaresResolver"``, to
    :meth:`Resolver.configure <squall.util.Configurable.configure>`.
    Like Tornado's, it is meant for host names; an IP literal is returned
    as is.  Results come from ``/etc/hosts`` and DNS as c-ares sees them,
    which may differ from the system resolver.

    Raises (from :meth:`resolve`):
        OSError: when c-ares reports an error, with its message.
    """

    _loop: asyncio.AbstractEventLoop
    channel: Any
    _fds: dict[int, tuple[bool, bool]]
    _timer: asyncio.TimerHandle | None
    _pending: int

    def initialize(self) -> None:
        self._loop = _current_loop()
        self._fds = {}
        self._timer = None
        self._pending = 0
        self.channel = pycares.Channel(sock_state_cb=self._sock_state_cb)

    def close(self) -> None:
        for fd in list(self._fds):
            self._sock_state_cb(fd, False, False)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.channel.close()

    def _sock_state_cb(self, fd: int, readable: bool, writable: bool) -> None:
        old = self._fds.pop(fd, (False, False))
        loop = self._loop
        if old[0] and not readable:
            loop.remove_reader(fd)
        if old[1] and not writable:
            loop.remove_writer(fd)
        if readable and not old[0]:
            loop.add_reader(fd, self.channel.process_read_fd, fd)
        if writable and not old[1]:
            loop.add_writer(fd, self.channel.process_write_fd, fd)
        if readable or writable:
            self._fds[fd] = (readable, writable)

    def _schedule_timeout(self) -> None:
        if self._timer is not None or not self._pending:
            return
        delay = self.channel.timeout()
        self._timer = self._loop.call_later(delay if delay else 1.0, self._on_timeout)

    def _on_timeout(self) -> None:
        self._timer = None
        bad = pycares.ARES_SOCKET_BAD
        self.channel.process_fd(bad, bad)
        self._schedule_timeout()

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        if is_valid_ip(host):
            infos = socket.getaddrinfo(
                host, port, family, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
            )
            return [(fam, addr) for fam, _t, _p, _c, addr in infos]
        loop = self._loop
        fut: asyncio.Future[tuple[Any, int | None]] = loop.create_future()

        def done(result: Any, error: int | None) -> None:
            if not fut.done():
                fut.set_result((result, error))

        def callback(result: Any, error: int | None) -> None:
            loop.call_soon_threadsafe(done, result, error)

        self._pending += 1
        try:
            self.channel.getaddrinfo(
                host, port, family=family, type=socket.SOCK_STREAM, callback=callback
            )
            self._schedule_timeout()
            result, error = await fut
        finally:
            self._pending -= 1
        if error:
            message = str(pycares.errno.strerror(error))
            raise OSError(f"C-Ares returned error {error}: {message} while resolving {host}")
        addrs: list[tuple[int, Any]] = []
        for node in result.nodes:
            ip = node.addr[0]
            if isinstance(ip, bytes):
                ip = ip.decode("ascii")
            pair = (socket.AddressFamily(node.family), (ip, *node.addr[1:]))
            if pair not in addrs:
                addrs.append(pair)
        if not addrs:
            raise OSError(f"C-Ares returned no addresses while resolving {host}")
        return addrs


def _current_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        from squall.ioloop import IOLoop

        loop: asyncio.AbstractEventLoop = getattr(IOLoop.current(), "asyncio_loop")  # noqa: B009
        return loop
