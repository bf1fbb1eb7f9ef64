"""Socket streams: plain TCP/Unix (:class:`IOStream`) and TLS (:class:`SSLIOStream`).

Both are thin: they supply the descriptor hooks of
:class:`~squall.iostream.BaseIOStream` plus connecting and, for TLS, the
non-blocking handshake driven by the event loop.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from typing import Any, TypeVar

from squall.log import gen_log

from ._base import BaseIOStream
from ._errors import StreamClosedError, _log_errno, _retrieved

__all__ = ["IOStream", "SSLIOStream"]

_S = TypeVar("_S", bound="IOStream")

# Handshake states of an SSLIOStream.
_HS_NONE = 0
_HS_RUNNING = 1
_HS_DONE = 2


class IOStream(BaseIOStream):
    """A :class:`BaseIOStream` over a socket (TCP or Unix domain).

    The socket may be connected already (for example from ``accept``), or
    unconnected, in which case call :meth:`connect`.  It is made non-blocking.

    Example::

        stream = IOStream(socket.socket())
        await stream.connect(("127.0.0.1", 8888))
        await stream.write(b"ping\\n")
        reply = await stream.read_until(b"\\n")
    """

    __slots__ = ("_connect_fut", "socket")

    def __init__(self, socket: socket.socket, *args: Any, **kwargs: Any) -> None:
        self.socket = socket
        socket.setblocking(False)
        super().__init__(*args, **kwargs)
        self._fd = socket.fileno()
        self._connect_fut: asyncio.Future[Any] | None = None

    def fileno(self) -> Any:
        """Returns the socket (usable wherever a file descriptor is)."""
        return self.socket

    def close_fd(self) -> None:
        """Closes the socket."""
        self.socket.close()

    def get_fd_error(self) -> Exception | None:
        """Returns the socket's pending error (``SO_ERROR``) as an :class:`OSError`."""
        code = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            return OSError(code, os.strerror(code))
        return None

    def _recv(self, size: int) -> bytes | None:
        try:
            return self.socket.recv(size)
        except (BlockingIOError, InterruptedError):
            return None

    def _recv_into(self, buf: bytearray | memoryview) -> int | None:
        try:
            return self.socket.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            return None

    def _send(self, data: bytes | bytearray | memoryview) -> int:
        try:
            return self.socket.send(data)
        except (BlockingIOError, InterruptedError):
            return 0

    def set_nodelay(self, value: bool) -> None:
        """Sets ``TCP_NODELAY`` on TCP sockets (ignored for other families)."""
        sock = self.socket
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or self._closed:
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if value else 0)
        except OSError as e:
            # The peer may already have reset the connection.
            if e.errno != 22:
                raise

    # ------------------------------------------------------------------
    # Connecting.

    def connect(self: _S, address: Any, server_hostname: str | None = None) -> asyncio.Future[_S]:
        """Starts a non-blocking connect of the socket to *address*.

        Resolves with the stream itself once connected.  Reads and writes may
        be issued before that; they wait for the connection.  For an
        :class:`SSLIOStream`, *server_hostname* is used for SNI and
        certificate checks and the future resolves after the handshake.

        Raises:
            StreamClosedError: (from the future) if connecting fails; the
                socket error is its ``real_error`` and the stream's
                ``error``.
        """
        fut: asyncio.Future[_S] = self._loop.create_future()
        self._connect_fut = fut
        self._connecting = True
        try:
            self.socket.connect(address)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            gen_log.warning("Connect error on fd %s: %s", self._fd, e)
            self.close(exc_info=e)
            return fut
        self._want_write()
        return fut

    def _on_writable(self) -> None:
        if self._closed:
            return
        if self._connecting:
            self._finish_connect()
            return
        self._flush()

    def _finish_connect(self) -> None:
        err = self.get_fd_error()
        if err is not None:
            self.error = err
            gen_log.warning("Connect error on fd %s: %s", self._fd, err)
            self.close()
            return
        self._connecting = False
        self._drop_write()
        self._connected()

    def _connected(self) -> None:
        fut = self._connect_fut
        self._connect_fut = None
        if fut is not None and not fut.done():
            fut.set_result(self)
        self._resume_io()

    def _fail_extra(self) -> None:
        fut = self._connect_fut
        if fut is not None:
            self._connect_fut = None
            _retrieved(fut, StreamClosedError(real_error=self.error))

    # ------------------------------------------------------------------
    # TLS upgrade.

    def start_tls(
        self,
        server_side: bool,
        ssl_options: dict[str, Any] | ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> asyncio.Future[SSLIOStream]:
        """Converts this stream to an :class:`SSLIOStream` (STARTTLS).

        The stream must be idle: no pending read or write and nothing
        buffered.  This stream becomes unusable; the returned future resolves
        with the new stream once the TLS handshake has completed.  The close
        callback moves to the new stream.

        Raises:
            ValueError: if the stream is not idle.
        """
        if (
            self.reading()
            or self._wsize
            or self._connecting
            or len(self._rbuf) > self._rpos
            or self._closed
        ):
            raise ValueError("IOStream is not idle; cannot convert to SSL")
        from squall.netutil import _client_ssl_defaults, _server_ssl_defaults, ssl_wrap_socket

        if ssl_options is None:
            ssl_options = _server_ssl_defaults() if server_side else _client_ssl_defaults()
        sock = self.socket
        self._unregister()
        # The socket now belongs to the new stream: mark this one closed
        # without closing the descriptor or running the close callback.
        self._closed = True
        self._fd = -1
        close_cb = self._close_cb
        self._close_cb = None
        wrapped = ssl_wrap_socket(
            sock,
            ssl_options,
            server_hostname=server_hostname,
            server_side=server_side,
            do_handshake_on_connect=False,
        )
        new = SSLIOStream(
            wrapped,
            ssl_options=ssl_options,
            max_buffer_size=self.max_buffer_size,
            read_chunk_size=self.read_chunk_size,
            max_write_buffer_size=self.max_write_buffer_size,
        )
        new._server_hostname = server_hostname
        fut: asyncio.Future[SSLIOStream] = new._loop.create_future()
        new._connect_fut = fut
        new.set_close_callback(close_cb)
        return fut


class SSLIOStream(IOStream):
    """A TLS stream over a socket.

    Pass an :class:`ssl.SSLSocket` wrapped with
    ``do_handshake_on_connect=False`` (the handshake starts at once), or an
    unconnected plain socket plus ``ssl_options`` (a dict of
    :func:`ssl.wrap_socket`-style arguments or an :class:`ssl.SSLContext`),
    which is wrapped when :meth:`connect` succeeds.  Reads and writes wait
    for the handshake.
    """

    __slots__ = ("_hs_fut", "_hs_state", "_server_hostname", "_ssl_options")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ssl_options = kwargs.pop("ssl_options", None)
        super().__init__(*args, **kwargs)
        self._ssl_options: dict[str, Any] | ssl.SSLContext | None = ssl_options
        self._server_hostname: str | None = None
        self._hs_fut: asyncio.Future[SSLIOStream] | None = None
        self._hs_state = _HS_NONE
        if isinstance(self.socket, ssl.SSLSocket):
            self._begin_handshake()

    def reading(self) -> bool:
        """``True`` while a read is pending or the handshake runs."""
        return self._hs_state == _HS_RUNNING or super().reading()

    def writing(self) -> bool:
        """``True`` while data is queued or the handshake runs."""
        return self._hs_state == _HS_RUNNING or super().writing()

    def _io_blocked(self) -> bool:
        return self._connecting or self._hs_state != _HS_DONE

    def _recv(self, size: int) -> bytes | None:
        try:
            # A TLS record carries at most 16 KB: don't allocate more per call.
            return self.socket.recv(min(size, 65536))
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return None
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    def _recv_into(self, buf: bytearray | memoryview) -> int | None:
        try:
            return self.socket.recv_into(buf)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return None
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return 0

    def _send(self, data: bytes | bytearray | memoryview) -> int:
        try:
            return self.socket.send(data)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return 0

    def _recv_pending(self) -> bool:
        # Keep reading until the TLS layer says "want read": records are
        # small, and data may wait inside the TLS object, invisible to epoll.
        return True

    def connect(self, address: Any, server_hostname: str | None = None) -> asyncio.Future[Any]:
        """Connects, then runs the TLS handshake; resolves with the stream."""
        self._server_hostname = server_hostname
        return super().connect(address, server_hostname)

    def wait_for_handshake(self) -> asyncio.Future[SSLIOStream]:
        """Returns a future that resolves with the stream when the handshake is done.

        Raises:
            RuntimeError: if a wait is already pending.
        """
        if self._hs_fut is not None:
            raise RuntimeError("Already waiting")
        fut: asyncio.Future[SSLIOStream] = self._loop.create_future()
        if self._hs_state == _HS_DONE:
            fut.set_result(self)
        elif self._closed:
            _retrieved(fut, StreamClosedError(real_error=self.error))
        else:
            self._hs_fut = fut
        return fut

    def _connected(self) -> None:
        from squall.netutil import _client_ssl_defaults, ssl_wrap_socket

        self._unregister()
        try:
            self.socket = ssl_wrap_socket(
                self.socket,
                self._ssl_options if self._ssl_options is not None else _client_ssl_defaults(),
                server_hostname=self._server_hostname,
                server_side=False,
                do_handshake_on_connect=False,
            )
        except (ssl.SSLError, OSError, ValueError) as e:
            self.close(exc_info=e)
            return
        self._begin_handshake()

    def _begin_handshake(self) -> None:
        self._hs_state = _HS_RUNNING
        self._want_write()

    def _on_readable(self) -> None:
        if self._hs_state == _HS_RUNNING and not self._closed:
            self._do_handshake()
            return
        super()._on_readable()

    def _on_writable(self) -> None:
        if self._hs_state == _HS_RUNNING and not self._closed and not self._connecting:
            self._do_handshake()
            return
        super()._on_writable()

    def _do_handshake(self) -> None:
        sock = self.socket
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._drop_write()
            self._want_read()
            return
        except ssl.SSLWantWriteError:
            self._want_write()
            return
        except ssl.SSLError as e:
            try:
                peer: Any = sock.getpeername()
            except OSError:
                peer = "(not connected)"
            gen_log.warning("SSL Error on %s %s: %s", self._fd, peer, e)
            self.close(exc_info=e)
            return
        except OSError as e:
            if _log_errno(e):
                gen_log.warning("Handshake error on %s: %s", self._fd, e)
            self.close(exc_info=e)
            return
        self._hs_state = _HS_DONE
        self._drop_write()
        fut = self._hs_fut
        self._hs_fut = None
        if fut is not None and not fut.done():
            fut.set_result(self)
        cfut = self._connect_fut
        self._connect_fut = None
        if cfut is not None and not cfut.done():
            cfut.set_result(self)
        self._resume_io()
        if not self._closed and self._rfut is not None and sock.pending():
            self._on_readable()

    def _fail_extra(self) -> None:
        super()._fail_extra()
        fut = self._hs_fut
        if fut is not None:
            self._hs_fut = None
            _retrieved(fut, StreamClosedError(real_error=self.error))
