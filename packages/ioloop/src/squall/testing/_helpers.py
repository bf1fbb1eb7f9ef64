"""Small test helpers: a free port, the async-test time limit, log expectations.

Nothing here needs a running loop; the pytest plugin and the unittest cases
both build on these.
"""

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

#: Seconds an async test may take unless ``ASYNC_TEST_TIMEOUT`` says otherwise.
_BUILTIN_LIMIT = 5.0


def bind_unused_port(
    reuse_port: bool = False, address: str = "127.0.0.1"
) -> tuple[socket.socket, int]:
    """Open a listening, non-blocking socket on a port the kernel picks.

    :arg reuse_port: set ``SO_REUSEPORT`` on it (:class:`ValueError` where
        the platform lacks it).
    :arg address: the interface to listen on; an IP literal, or a host name
        (only its first address is used).
    :returns: ``(socket, port)``; closing the socket is up to the caller.
    """
    from squall.netutil import bind_sockets

    first, *extra = bind_sockets(0, address, reuse_port=reuse_port)
    for spare in extra:
        spare.close()
    return first, first.getsockname()[1]


def get_async_test_timeout() -> float:
    """How many seconds an async test may run when it sets no limit of its own.

    That is 5, unless the ``ASYNC_TEST_TIMEOUT`` environment variable holds
    a number (read on every call; a value that is not a number is ignored).
    """
    raw = os.environ.get("ASYNC_TEST_TIMEOUT", "").strip()
    if raw:
        try:
            return float(raw)
        except ValueError:
            pass
    return _BUILTIN_LIMIT


def setup_with_context_manager(
    testcase: unittest.TestCase, cm: contextlib.AbstractContextManager[_T]
) -> _T:
    """Enter ``cm`` for the rest of ``testcase`` (call from ``setUp``); it exits at cleanup."""
    stack = contextlib.ExitStack()
    entered = stack.enter_context(cm)
    testcase.addCleanup(stack.close)
    return entered


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
        # What to look for, and where.
        self.regex = re.compile(regex)
        self.level = level
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.required = required
        # The logger's own level while the block lowers it.
        self.orig_level: int | None = None
        # What the block saw.
        self.logged_stack = False
        self.matched = 0
        self.deprecated_level_matched = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False (drop) for a matching record, True for every other one."""
        self.logged_stack = self.logged_stack or bool(record.exc_info)
        text = record.getMessage()
        if self.regex.match(text) is None:
            return True
        wanted = self.level
        if wanted is None:
            if record.levelno < logging.WARNING:
                self.deprecated_level_matched += 1
        elif record.levelno != wanted:
            app_log.warning(
                "Got expected log message %r, but at level %s where ExpectLog wants %s;"
                " not swallowing it",
                text,
                record.levelname,
                logging.getLevelName(wanted),
            )
            return True
        self.matched += 1
        return False

    def __enter__(self) -> ExpectLog:
        target = self.logger
        if self.level is not None and target.getEffectiveLevel() > self.level:
            self.orig_level = target.level
            target.setLevel(self.level)
        target.addFilter(self)
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        target = self.logger
        target.removeFilter(self)
        saved, self.orig_level = self.orig_level, None
        if saved is not None:
            target.setLevel(saved)
        if self.required and self.matched == 0 and typ is None:
            raise Exception(
                f"did not get expected log message: nothing matching {self.regex.pattern!r} "
                f"was logged to {target.name!r}"
            )

    def __repr__(self) -> str:
        return f"ExpectLog({self.logger.name!r}, {self.regex.pattern!r})"
