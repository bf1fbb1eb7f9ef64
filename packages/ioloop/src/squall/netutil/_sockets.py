"""Listening sockets: bind TCP and Unix sockets and accept connections on the loop."""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Callable
from typing import Any

__all__ = [
    "_DEFAULT_BACKLOG",
    "add_accept_handler",
    "bind_sockets",
    "bind_unix_socket",
    "is_valid_ip",
]

#: Default listen() backlog, also the most connections accepted per loop iteration.
_DEFAULT_BACKLOG = 128


def bind_sockets(
    port: int,
    address: str | None = None,
    family: socket.AddressFamily = socket.AF_UNSPEC,
    backlog: int = _DEFAULT_BACKLOG,
    flags: int | None = None,
    reuse_port: bool = False,
) -> list[socket.socket]:
    """Open one listening socket on *port* for each address *address* resolves to.

    *address* is a host name or IP literal; leave it ``None`` (or ``""``)
    to accept connections on every interface.  One socket is made per
    address ``getaddrinfo`` returns (IPv6 sockets are IPv6-only, so IPv4 and
    IPv6 coexist).  With ``port=0``
    the port the first socket got is used for the others, so every socket
    shares one port.  *family* restricts to ``AF_INET`` or ``AF_INET6``;
    *flags* are ``getaddrinfo`` flags (default ``AI_PASSIVE``); *reuse_port*
    sets ``SO_REUSEPORT``.  The sockets are non-blocking.

    Raises:
        ValueError: if *reuse_port* is asked for where it is not supported.
        OSError: if binding fails.
    """
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("the platform doesn't support SO_REUSEPORT")
    sockets: list[socket.socket] = []
    if address == "":
        address = None
    if not socket.has_ipv6 and family == socket.AF_UNSPEC:
        family = socket.AF_INET
    if flags is None:
        flags = socket.AI_PASSIVE
    bound_port: int | None = None
    seen: set[tuple[Any, ...]] = set()
    infos = socket.getaddrinfo(address, port, family, socket.SOCK_STREAM, 0, flags)
    try:
        for af, socktype, proto, _canon, sockaddr in sorted(infos, key=lambda x: x[0]):
            key = (af, socktype, proto, sockaddr)
            if key in seen:
                continue
            seen.add(key)
            if af == socket.AF_INET6 and len(sockaddr) > 3 and sockaddr[3] != 0 and address:
                # A link-local result (scope id set) of a name like "localhost".
                continue
            try:
                sock = socket.socket(af, socktype, proto)
            except OSError as e:
                if e.errno == errno.EAFNOSUPPORT:
                    continue
                raise
            try:
                if os.name != "nt":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if af == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if port == 0 and bound_port is not None:
                    sockaddr = (sockaddr[0], bound_port, *sockaddr[2:])
                sock.setblocking(False)
                try:
                    sock.bind(sockaddr)
                except OSError as e:
                    if (
                        e.errno == errno.EADDRNOTAVAIL
                        and af == socket.AF_INET6
                        and sockaddr[0] == "::1"
                    ):
                        # "localhost" resolved to ::1 but IPv6 is off.
                        sock.close()
                        continue
                    raise
                bound_port = sock.getsockname()[1]
                sock.listen(backlog)
            except BaseException:
                sock.close()
                raise
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def bind_unix_socket(
    file: str, mode: int = 0o600, backlog: int = _DEFAULT_BACKLOG
) -> socket.socket:
    """Listen for stream connections on the filesystem path *file* (``AF_UNIX``).

    An existing socket file at that path is replaced; the new one gets
    permissions *mode*.  The socket is non-blocking.

    Raises:
        ValueError: when something other than a socket already occupies *file*.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
        try:
            st = os.stat(file)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISSOCK(st.st_mode):
                os.remove(file)
            else:
                raise ValueError(f"File {file} exists and is not a socket")
        sock.bind(file)
        os.chmod(file, mode)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def add_accept_handler(
    sock: socket.socket, callback: Callable[[socket.socket, Any], None]
) -> Callable[[], None]:
    """Calls ``callback(connection, address)`` for each connection accepted on *sock*.

    Uses the current :class:`~squall.ioloop.IOLoop`.  Up to the listen
    backlog's worth of connections is accepted per event, so one busy
    listener cannot starve the loop.  Returns a function that stops
    accepting (it does not close *sock*).
    """
    from squall.ioloop import IOLoop

    io_loop = IOLoop.current()
    removed = [False]

    def accept_handler(fd: Any, events: int) -> None:
        for _ in range(_DEFAULT_BACKLOG):
            if removed[0]:
                return
            try:
                connection, address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                # The client went away before we accepted it.
                continue
            callback(connection, address)

    def remove_handler() -> None:
        if not removed[0]:
            io_loop.remove_handler(sock)
            removed[0] = True

    io_loop.add_handler(sock, accept_handler, IOLoop.READ)
    return remove_handler


def is_valid_ip(ip: str) -> bool:
    """Returns ``True`` if *ip* is an IPv4 or IPv6 address literal."""
    if not ip or "\x00" in ip:
        return False
    try:
        res = socket.getaddrinfo(
            ip, 0, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
        )
        return bool(res)
    except socket.gaierror as e:
        if e.args[0] == socket.EAI_NONAME:
            return False
        raise
    except UnicodeError:
        return False
