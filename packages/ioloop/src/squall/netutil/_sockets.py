"""Listening sockets: open TCP and Unix listeners, and accept on them from the event loop."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import stat
from collections.abc import Callable
from typing import Any

from squall.log import app_log

__all__ = [
    "_DEFAULT_BACKLOG",
    "add_accept_handler",
    "bind_sockets",
    "bind_unix_socket",
    "is_valid_ip",
]

#: ``listen()`` backlog used when none is given; also the largest number of
#: connections one readiness event of a listener accepts.
_DEFAULT_BACKLOG = 128

_ACCEPT_BATCH = range(_DEFAULT_BACKLOG)


def _listen_targets(
    address: str | None, port: int, family: int, flags: int
) -> list[tuple[int, int, Any]]:
    """``(family, proto, sockaddr)`` to listen on, each once, IPv4 before IPv6."""
    targets: dict[tuple[int, Any], int] = {}
    for fam, _kind, proto, _name, sockaddr in socket.getaddrinfo(
        address, port, family, socket.SOCK_STREAM, 0, flags
    ):
        if address and len(sockaddr) == 4 and sockaddr[3]:
            # A scoped (link-local) result for a host name: not a listener
            # anyone asked for, and binding it fails without the scope.
            continue
        targets.setdefault((fam, sockaddr), proto)
    found = [(fam, proto, sockaddr) for (fam, sockaddr), proto in targets.items()]
    found.sort(key=lambda target: target[0])
    return found


def _switches(family: int, reuse_port: bool) -> list[tuple[int, int]]:
    """The boolean socket options a listener of *family* gets, as ``(level, option)``."""
    on: list[tuple[int, int]] = []
    if os.name != "nt":
        # Let a restarted server bind while old connections sit in TIME_WAIT.
        on.append((socket.SOL_SOCKET, socket.SO_REUSEADDR))
    if reuse_port:
        on.append((socket.SOL_SOCKET, socket.SO_REUSEPORT))
    if family == socket.AF_INET6:
        # Keep v6 listeners to v6 so that the v4 one can share the port.
        on.append((socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
    return on


def _open_listener(
    family: int, proto: int, sockaddr: Any, backlog: int, reuse_port: bool
) -> socket.socket | None:
    """A non-blocking socket listening on *sockaddr*, or ``None`` when that address is unusable here."""
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, proto)
    except OSError as exc:
        if exc.errno == errno.EAFNOSUPPORT:
            return None  # e.g. IPv6 compiled in but off in the kernel
        raise
    try:
        for level, option in _switches(family, reuse_port):
            sock.setsockopt(level, option, 1)
        sock.setblocking(False)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except BaseException as exc:
        sock.close()
        if isinstance(exc, OSError) and exc.errno == errno.EADDRNOTAVAIL and sockaddr[0] == "::1":
            return None  # a name that maps to ::1 on a host without IPv6 loopback
        raise
    return sock


def bind_sockets(
    port: int,
    address: str | None = None,
    family: socket.AddressFamily = socket.AF_UNSPEC,
    backlog: int = _DEFAULT_BACKLOG,
    flags: int | None = None,
    reuse_port: bool = False,
) -> list[socket.socket]:
    """Opens a listening socket on *port* for every address *address* stands for.

    *address* is an IP literal or a host name (all of its addresses are
    used); ``None`` or ``""`` means every interface.  *family* may restrict
    the sockets to ``AF_INET`` or ``AF_INET6``; by default both are used
    where available (IPv6 sockets are IPv6-only, so the two coexist).
    *backlog* goes to ``listen()``; *flags* are ``getaddrinfo`` ``AI_*``
    flags (default ``AI_PASSIVE``); *reuse_port* sets ``SO_REUSEPORT`` on
    each socket.  With ``port=0`` the system picks a port for the first
    socket and the others reuse it.  The sockets are non-blocking.

    Raises:
        ValueError: if *reuse_port* is asked for where it is not supported.
        OSError: if an address cannot be bound (the sockets made so far are
            closed first).
    """
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port: SO_REUSEPORT is not available on this platform")
    if family == socket.AF_UNSPEC and not socket.has_ipv6:
        family = socket.AF_INET
    targets = _listen_targets(
        address or None, port, family, socket.AI_PASSIVE if flags is None else flags
    )
    opened: list[socket.socket] = []
    try:
        for fam, proto, sockaddr in targets:
            if port == 0 and opened:
                sockaddr = (sockaddr[0], opened[0].getsockname()[1], *sockaddr[2:])
            sock = _open_listener(fam, proto, sockaddr, backlog, reuse_port)
            if sock is not None:
                opened.append(sock)
    except BaseException:
        for sock in opened:
            sock.close()
        raise
    return opened


def bind_unix_socket(
    file: str, mode: int = 0o600, backlog: int = _DEFAULT_BACKLOG
) -> socket.socket:
    """Returns a non-blocking stream socket listening on the filesystem path *file*.

    A socket left at that path by an earlier run is removed first; any other
    kind of file there is left alone and refused.  The new socket file gets
    the permission bits *mode*.

    Raises:
        ValueError: when *file* exists and is not a socket.
    """
    try:
        existing = os.stat(file).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(existing):
            raise ValueError(f"{file!r} is in the way and is not a socket")
        os.remove(file)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.setblocking(False)
        sock.bind(file)
        os.chmod(file, mode)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _event_loop() -> asyncio.AbstractEventLoop:
    """The running asyncio loop, else the one behind the current IOLoop."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        from squall.ioloop import IOLoop

        loop: asyncio.AbstractEventLoop = getattr(IOLoop.current(), "asyncio_loop")  # noqa: B009
        return loop


class _Acceptor:
    """Accepts on one listening socket from the loop's reader callback."""

    __slots__ = ("_callback", "_fd", "_loop", "_sock")

    def __init__(
        self,
        sock: socket.socket,
        callback: Callable[[socket.socket, Any], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._sock = sock
        self._callback = callback
        self._fd = sock.fileno()
        self._loop: asyncio.AbstractEventLoop | None = loop
        loop.add_reader(self._fd, self._drain)

    def _drain(self) -> None:
        # Take what the backlog holds, up to one batch, then yield to the loop.
        accept = self._sock.accept
        callback = self._callback
        for _ in _ACCEPT_BATCH:
            if self._loop is None:
                return  # a callback just switched us off
            try:
                conn, peer = accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while queued
            except OSError:
                app_log.error("accept() failed on fd %d", self._fd, exc_info=True)
                return
            try:
                callback(conn, peer)
            except Exception:
                app_log.error("Exception in accept callback %r", callback, exc_info=True)

    def cancel(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None
        if not loop.is_closed():
            loop.remove_reader(self._fd)


def add_accept_handler(
    sock: socket.socket, callback: Callable[[socket.socket, Any], None]
) -> Callable[[], None]:
    """Runs ``callback(connection, address)`` for every connection accepted on *sock*.

    *sock* is a listening socket; the callback gets each new socket and the
    peer's address (unlike an IOLoop handler's ``(fd, events)``).  Accepting
    happens on the current :class:`~squall.ioloop.IOLoop`; each time *sock*
    is readable at most one backlog's worth of connections is taken, so a
    flood on one listener cannot starve the loop.  An exception from
    *callback* is logged and accepting goes on.

    Returns a function that stops accepting; calling it again does nothing.
    It does not close *sock*.
    """
    return _Acceptor(sock, callback, _event_loop()).cancel


def is_valid_ip(ip: str) -> bool:
    """Returns ``True`` if *ip* is an IPv4 or IPv6 address literal (not a host name)."""
    if not ip:
        return False
    try:
        socket.getaddrinfo(ip, None, flags=socket.AI_NUMERICHOST)
    except (OSError, ValueError):
        # gaierror for anything that is not numeric; ValueError for NULs and
        # strings the IDNA codec rejects.
        return False
    return True
