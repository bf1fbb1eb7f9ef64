"""Small test helpers: free ports, the async timeout, expected log messages."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import unittest
from types import TracebackType
from typing import TypeVar

from squall.log import app_log

__all__ = [
    "ExpectLog",
    "bind_unused_port",
    "get_async_test_timeout",
    "setup_with_context_manager",
]

_T = TypeVar("_T")


def bind_unused_port(
    reuse_port: bool = False, address: str = "127.0.0.1"
) -> tuple[socket.socket, int]:
    """Grab an ephemeral port on ``address`` with a listening, non-blocking socket.

    :arg reuse_port: let other sockets share the port (``SO_REUSEPORT``; platform-dependent).
    :arg address: the address to bind (an IPv4 or IPv6 literal or a host name).
    :returns: ``(socket, port)``; the caller must close the socket.
    """
    infos = socket.getaddrinfo(
        address, 0, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            if not hasattr(socket, "SO_REUSEPORT"):
                raise ValueError("the platform doesn't support SO_REUSEPORT")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
        sock.bind(sockaddr[:2] if family == socket.AF_INET else sockaddr)
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    port: int = sock.getsockname()[1]
    return sock, port


def get_async_test_timeout() -> float:
    """Seconds an async test may run when it does not set its own timeout.

    The built-in value is 5; export ``ASYNC_TEST_TIMEOUT`` (a number) to
    change it.
    """
    env = os.environ.get("ASYNC_TEST_TIMEOUT")
    if env is not None:
        try:
            return float(env)
        except ValueError:
            pass
    return 5.0


def setup_with_context_manager(
    testcase: unittest.TestCase, cm: contextlib.AbstractContextManager[_T]
) -> _T:
    """Enter ``cm`` for the rest of ``testcase`` (call from ``setUp``); it exits at cleanup."""
    value = cm.__enter__()
    testcase.addCleanup(cm.__exit__, None, None, None)
    return value


class ExpectLog(logging.Filter):
    """Context manager that swallows expected log messages (and can require them).

    A test that provokes an error can both silence the resulting log line
    and assert that it was written::

        with ExpectLog("squall.application", "Multiple exceptions in yield list"):
            with self.assertRaises(KeyError):
                await gen.multi([fail_soon(KeyError), fail_soon(IndexError)])

    :arg logger: a :class:`logging.Logger` or its name.  Records of its child
        loggers are not matched (a filter only sees its own logger's records).
    :arg regex: matched (:func:`re.match`, i.e. at the start) against the
        formatted message of each record; matching records are dropped.
    :arg required: if true (default), leaving the block without a match
        (and without an exception) raises :class:`Exception`.
    :arg level: the level the message must be logged at.  While the block
        runs the logger's level is lowered to it if needed.  A matching
        message at another level is logged as a warning and not swallowed.

    After the block, ``matched`` counts the swallowed records and
    ``logged_stack`` tells whether any record carried exception info.
    """

    def __init__(
        self,
        logger: logging.Logger | str,
        regex: str,
        required: bool = True,
        level: int | None = None,
    ) -> None:
        super().__init__()
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        self.logger = logger
        self.regex = re.compile(regex)
        self.required = required
        self.matched = 0
        self.deprecated_level_matched = 0
        self.logged_stack = False
        self.level = level
        self.orig_level: int | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False (drop) for a matching record, True for every other one."""
        if record.exc_info:
            self.logged_stack = True
        message = record.getMessage()
        if not self.regex.match(message):
            return True
        if self.level is not None and record.levelno != self.level:
            app_log.warning(
                "Got expected log message %r at unexpected level (%s vs %s)",
                message,
                logging.getLevelName(self.level),
                record.levelname,
            )
            return True
        self.matched += 1
        if self.level is None and record.levelno < logging.WARNING:
            self.deprecated_level_matched += 1
        return False

    def __enter__(self) -> ExpectLog:
        if self.level is not None and self.level < self.logger.getEffectiveLevel():
            self.orig_level = self.logger.level
            self.logger.setLevel(self.level)
        self.logger.addFilter(self)
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.logger.removeFilter(self)
        if self.orig_level is not None:
            self.logger.setLevel(self.orig_level)
            self.orig_level = None
        if typ is None and self.required and not self.matched:
            raise Exception("did not get expected log message")

    def __repr__(self) -> str:
        return f"<ExpectLog {self.logger.name!r} {self.regex.pattern!r}>"
