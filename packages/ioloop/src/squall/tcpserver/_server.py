"""Accept connections on listening sockets, wrap each in a stream and pass it to the subclass."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from squall.iostream import IOStream, SSLIOStream
from squall.log import app_log
from squall.netutil import _DEFAULT_BACKLOG, add_accept_handler, bind_sockets, ssl_wrap_socket

__all__ = ["TCPServer"]


def _check_result(fut: asyncio.Future[Any]) -> None:
    """Done-callback for ``handle_stream`` tasks: log what they raised."""
    if fut.cancelled():
        return
    exc = fut.exception()
    if exc is not None:
        app_log.error("Exception in callback %r", fut, exc_info=exc)


class TCPServer:
    r"""Serve TCP clients from the event loop's thread; subclass and fill in :meth:`handle_stream`.

    Every accepted connection arrives at :meth:`handle_stream` as an
    :class:`~squall.iostream.IOStream` (an
    :class:`~squall.iostream.SSLIOStream` if ``ssl_options`` was given); the
    method may be a coroutine. A server that greets each client by name::

        class GreetServer(TCPServer):
            async def handle_stream(self, stream, address):
                name = await stream.read_until(b"\n")
                reply = b"hello, " + name.strip() + b"\n"
                await stream.write(reply)
                stream.close()

        async def main():
            GreetServer().listen(9000, address="127.0.0.1")
            await asyncio.Event().wait()

    Three ways to start: :meth:`listen` (one process); :meth:`bind` then
    :meth:`start` (optionally forking processes); or
    :func:`~squall.netutil.bind_sockets` then :meth:`add_sockets`.

    Args:
        ssl_options: a :class:`ssl.SSLContext` or a dict with at least
            ``certfile`` (see :func:`~squall.netutil.ssl_options_to_context`).
        max_buffer_size: passed to each stream.
        read_chunk_size: passed to each stream.

    Raises:
        KeyError: if a dict ``ssl_options`` lacks ``certfile``.
        ValueError: if its ``certfile`` or ``keyfile`` does not exist.
    """

    def __init__(
        self,
        ssl_options: dict[str, Any] | ssl.SSLContext | None = None,
        max_buffer_size: int | None = None,
        read_chunk_size: int | None = None,
    ) -> None:
        self.ssl_options = ssl_options
        self._sockets: dict[int, socket.socket] = {}
        self._handlers: dict[int, Callable[[], None]] = {}
        self._pending_sockets: list[socket.socket] = []
        self._started = False
        self._stopped = False
        self.max_buffer_size = max_buffer_size
        self.read_chunk_size = read_chunk_size
        if isinstance(ssl_options, dict):
            # Fail now, not on the first connection.
            if "certfile" not in ssl_options:
                raise KeyError('missing key "certfile" in ssl_options')
            if not os.path.exists(ssl_options["certfile"]):
                raise ValueError('certfile "{}" does not exist'.format(ssl_options["certfile"]))
            if "keyfile" in ssl_options and not os.path.exists(ssl_options["keyfile"]):
                raise ValueError('keyfile "{}" does not exist'.format(ssl_options["keyfile"]))

    def listen(
        self,
        port: int,
        address: str | None = None,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = _DEFAULT_BACKLOG,
        flags: int | None = None,
        reuse_port: bool = False,
    ) -> None:
        """Bind *port* with :func:`~squall.netutil.bind_sockets` and serve it in this process.

        Call it once the event loop exists; connections are served while the
        loop runs.  May be called several times for several ports.
        """
        sockets = bind_sockets(
            port,
            address=address,
            family=family,
            backlog=backlog,
            flags=flags,
            reuse_port=reuse_port,
        )
        self.add_sockets(sockets)

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Serve connections arriving on already-bound, listening *sockets*."""
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = add_accept_handler(sock, self._handle_connection)

    def add_socket(self, socket: socket.socket) -> None:
        """Like :meth:`add_sockets`, for a single socket."""
        self.add_sockets([socket])

    def bind(
        self,
        port: int,
        address: str | None = None,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = _DEFAULT_BACKLOG,
        flags: int | None = None,
        reuse_port: bool = False,
    ) -> None:
        """Binds sockets for *port* now; :meth:`start` begins accepting on them.

        Lets the sockets be created before forking with :meth:`start`.
        """
        sockets = bind_sockets(
            port,
            address=address,
            family=family,
            backlog=backlog,
            flags=flags,
            reuse_port=reuse_port,
        )
        if self._started:
            self.add_sockets(sockets)
        else:
            self._pending_sockets.extend(sockets)

    def start(self, num_processes: int | None = 1, max_restarts: int | None = None) -> None:
        """Starts accepting on the sockets from :meth:`bind`, optionally in several processes.

        With *num_processes* other than 1, :func:`squall.process.fork_processes`
        forks that many children (``None`` or <= 0: one per CPU) and each
        accepts on the shared sockets; the parent does not return (it waits
        for the children).  No event loop may exist before forking.
        """
        assert not self._started
        self._started = True
        if num_processes != 1:
            from squall.process import fork_processes

            fork_processes(num_processes, max_restarts)
        sockets = self._pending_sockets
        self._pending_sockets = []
        self.add_sockets(sockets)

    def stop(self) -> None:
        """Close every listening socket so that no further clients are accepted.

        Connections in progress are not closed.
        """
        if self._stopped:
            return
        self._stopped = True
        for fd, sock in self._sockets.items():
            assert sock.fileno() == fd
            self._handlers.pop(fd)()
            sock.close()
        self._sockets.clear()
        for sock in self._pending_sockets:
            sock.close()
        self._pending_sockets = []

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> Awaitable[None] | None:
        """Hook called with each accepted connection's stream; subclasses must implement it.

        An exception it raises (or its coroutine raises) is logged to
        ``squall.application``.
        """
        raise NotImplementedError()

    def _handle_connection(self, connection: socket.socket, address: Any) -> None:
        if self.ssl_options is not None:
            try:
                connection = ssl_wrap_socket(
                    connection,
                    self.ssl_options,
                    server_side=True,
                    do_handshake_on_connect=False,
                )
            except ssl.SSLError as err:
                if err.errno == ssl.SSL_ERROR_EOF:
                    connection.close()
                    return
                raise
            except OSError as err:
                # The peer may be gone already (ECONNABORTED), or the
                # socket unusable (EINVAL on some systems).
                if err.errno in (errno.ECONNABORTED, errno.EINVAL):
                    connection.close()
                    return
                raise
        try:
            stream: IOStream
            if self.ssl_options is not None:
                stream = SSLIOStream(
                    connection,
                    max_buffer_size=self.max_buffer_size,
                    read_chunk_size=self.read_chunk_size,
                )
            else:
                stream = IOStream(
                    connection,
                    max_buffer_size=self.max_buffer_size,
                    read_chunk_size=self.read_chunk_size,
                )
            result = self.handle_stream(stream, address)
            if result is not None:
                task = asyncio.ensure_future(result)
                task.add_done_callback(_check_result)
        except Exception:
            app_log.error("Error in connection callback", exc_info=True)
