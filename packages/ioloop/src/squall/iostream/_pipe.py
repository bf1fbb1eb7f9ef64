"""Pipe streams: :class:`PipeIOStream` reads or writes one end of an OS pipe."""

from __future__ import annotations

import os
from typing import Any

from ._base import BaseIOStream

__all__ = ["PipeIOStream"]


class PipeIOStream(BaseIOStream):
    """A :class:`BaseIOStream` over a pipe file descriptor (Unix only).

    The descriptor is made non-blocking and is closed with the stream.  A
    pipe is one-way: use one stream per end, as :class:`squall.process.Subprocess`
    does for ``stdin``/``stdout``/``stderr``.
    """

    __slots__ = ("fd",)

    def __init__(self, fd: int, *args: Any, **kwargs: Any) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        super().__init__(*args, **kwargs)
        self._fd = fd

    def fileno(self) -> int:
        """Returns the pipe's file descriptor."""
        return self.fd

    def close_fd(self) -> None:
        """Closes the pipe's file descriptor."""
        os.close(self.fd)

    def _recv(self, size: int) -> bytes | None:
        try:
            return os.read(self.fd, size)
        except (BlockingIOError, InterruptedError):
            return None

    def _recv_into(self, buf: bytearray | memoryview) -> int | None:
        try:
            return os.readv(self.fd, [buf])
        except (BlockingIOError, InterruptedError):
            return None

    def _send(self, data: bytes | bytearray | memoryview) -> int:
        try:
            return os.write(self.fd, data)
        except (BlockingIOError, InterruptedError):
            return 0
