"""The TCP server base class: listeners in, one stream per accepted connection out.

Accepting is :func:`squall.netutil.add_accept_handler`'s reader callback; for
every connection the server builds an :class:`~squall.iostream.IOStream` (or
an :class:`~squall.iostream.SSLIOStream`) and hands it to the subclass's
:meth:`TCPServer.handle_stream`, running a returned coroutine as a task.
"""

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
from squall.netutil import (
    _DEFAULT_BACKLOG,
    add_accept_handler,
    bind_sockets,
    ssl_options_to_context,
)

__all__ = ["TCPServer"]

# Wrapping fails this way when the client vanished between accept() and now.
_GONE_BEFORE_TLS = frozenset((errno.ECONNABORTED, errno.EINVAL, ssl.SSL_ERROR_EOF))


def _log_handler_failure(task: asyncio.Future[Any]) -> None:
    """Done callback of ``handle_stream`` tasks: reports what they raised."""
    if not task.cancelled() and task.exception() is not None:
        app_log.error("handle_stream task %r failed", task, exc_info=task.exception())


def _check_cert_paths(options: dict[str, Any]) -> None:
    """Refuses a dict ``ssl_options`` that could never load, before any client arrives."""
    if "certfile" not in options:
        raise KeyError("ssl_options needs a 'certfile' entry")
    for key in ("certfile", "keyfile"):
        path = options.get(key)
        if path is not None and not os.path.exists(path):
            raise ValueError(f"ssl_options {key} {path!r} does not exist")


class TCPServer:
    r"""Serves TCP clients on the event loop; subclass it and implement :meth:`handle_stream`.

    Every accepted connection arrives at :meth:`handle_stream` as an
    :class:`~squall.iostream.IOStream` (an
    :class:`~squall.iostream.SSLIOStream` when ``ssl_options`` is set); the
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
    :meth:`start` (optionally forking worker processes); or
    :func:`~squall.netutil.bind_sockets` then :meth:`add_sockets`.

    Args:
        ssl_options: a :class:`ssl.SSLContext`, or a dict with at least
            ``certfile`` (see :func:`~squall.netutil.ssl_options_to_context`).
            A dict is turned into a context on the first connection and that
            context is reused while ``ssl_options`` stays the same object.
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
        if isinstance(ssl_options, dict):
            _check_cert_paths(ssl_options)
        self.ssl_options = ssl_options
        self.max_buffer_size = max_buffer_size
        self.read_chunk_size = read_chunk_size
        # Listening sockets by descriptor, and the switch that stops each one.
        self._sockets: dict[int, socket.socket] = {}
        self._unwatch: list[Callable[[], None]] = []
        # Bound by bind() and waiting for start().
        self._waiting: list[socket.socket] = []
        self._started = False
        self._stopped = False
        # The context made from ssl_options, and the object it was made from.
        self._tls: tuple[object, ssl.SSLContext] | None = None

    def listen(
        self,
        port: int,
        address: str | None = None,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = _DEFAULT_BACKLOG,
        flags: int | None = None,
        reuse_port: bool = False,
    ) -> None:
        """Binds *port* (see :func:`~squall.netutil.bind_sockets`) and serves it in this process.

        The arguments are those of :func:`~squall.netutil.bind_sockets`.
        Connections are accepted while the event loop runs; call this as
        often as there are ports to serve.
        """
        self.add_sockets(bind_sockets(port, address, family, backlog, flags, reuse_port))

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Serves connections arriving on already-bound, listening *sockets*."""
        serve = self._serve
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._unwatch.append(add_accept_handler(sock, serve))

    def add_socket(self, socket: socket.socket) -> None:
        """Like :meth:`add_sockets`, for a single socket."""
        self.add_sockets((socket,))

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

        Binding before :meth:`start` lets worker processes forked there share
        the listeners.  Once started, newly bound sockets are served at once.
        """
        sockets = bind_sockets(port, address, family, backlog, flags, reuse_port)
        if self._started:
            self.add_sockets(sockets)
        else:
            self._waiting += sockets

    def start(self, num_processes: int | None = 1, max_restarts: int | None = None) -> None:
        """Begins accepting on the sockets from :meth:`bind`, in this or in forked processes.

        With *num_processes* other than 1,
        :func:`squall.process.fork_processes` forks that many workers
        (``None`` or <= 0: one per CPU) which all accept on the shared
        sockets; the parent process never returns from this call (it watches
        the workers, restarting up to *max_restarts* of them).  No event loop
        may exist before forking.

        Raises:
            RuntimeError: when called a second time.
        """
        if self._started:
            raise RuntimeError("TCPServer.start() may only be called once")
        self._started = True
        if num_processes != 1:
            from squall.process import fork_processes

            fork_processes(num_processes, max_restarts)
        waiting, self._waiting = self._waiting, []
        self.add_sockets(waiting)

    def stop(self) -> None:
        """Stops accepting and closes every listening socket, bound or served.

        Connections already accepted stay open.  Calling it again does nothing.
        """
        if self._stopped:
            return
        self._stopped = True
        for unwatch in self._unwatch:
            unwatch()
        for sock in (*self._sockets.values(), *self._waiting):
            sock.close()
        self._unwatch.clear()
        self._sockets.clear()
        self._waiting.clear()

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> Awaitable[None] | None:
        """Receives each accepted connection's stream; subclasses must implement it.

        *address* is the peer's address as ``accept()`` returned it.  A
        coroutine (or other awaitable) returned is run as a task; an
        exception it raises, like one raised here, is logged to
        ``squall.application``.
        """
        raise NotImplementedError()

    def _context(self) -> ssl.SSLContext:
        options = self.ssl_options
        made = self._tls
        if made is None or made[0] is not options:
            assert options is not None
            made = self._tls = (options, ssl_options_to_context(options, server_side=True))
        return made[1]

    def _serve(self, conn: socket.socket, address: Any) -> None:
        # Per-connection path: keep it to one stream object and, for
        # coroutine handlers, one task.
        stream: IOStream
        if self.ssl_options is None:
            stream = IOStream(conn, self.max_buffer_size, self.read_chunk_size)
        else:
            try:
                conn = self._context().wrap_socket(
                    conn, server_side=True, do_handshake_on_connect=False
                )
            except OSError as exc:
                conn.close()
                if exc.errno not in _GONE_BEFORE_TLS:
                    app_log.error("Cannot start TLS with %r", address, exc_info=True)
                return
            stream = SSLIOStream(conn, self.max_buffer_size, self.read_chunk_size)
        try:
            pending = self.handle_stream(stream, address)
        except Exception:
            app_log.error("handle_stream failed for %r", address, exc_info=True)
            return
        if pending is not None:
            asyncio.ensure_future(pending).add_done_callback(_log_handler_failure)
