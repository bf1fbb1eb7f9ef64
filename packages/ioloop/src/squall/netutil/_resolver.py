"""Asynchronous host name resolution: the configurable :class:`Resolver` family."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
from collections.abc import Awaitable
from typing import Any

from squall.util import Configurable

__all__ = [
    "BlockingResolver",
    "DefaultExecutorResolver",
    "DefaultLoopResolver",
    "ExecutorResolver",
    "OverrideResolver",
    "Resolver",
    "ThreadedResolver",
]


def _pairs(infos: list[tuple[Any, ...]]) -> list[tuple[int, Any]]:
    """``getaddrinfo`` results reduced to ``(family, address)`` pairs, duplicates dropped."""
    results: list[tuple[int, Any]] = []
    for fam, _type, _proto, _canon, address in infos:
        pair = (fam, address)
        if pair not in results:
            results.append(pair)
    return results


def _resolve_addr(
    host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
) -> list[tuple[int, Any]]:
    """Blocking ``getaddrinfo`` as ``(family, address)`` pairs."""
    return _pairs(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM))


class Resolver(Configurable):
    """Base class for non-blocking host name lookup, with a swappable implementation.

    ``Resolver()`` builds the configured implementation
    (:class:`DefaultLoopResolver` unless :meth:`~squall.util.Configurable.configure` chose
    another): :class:`DefaultExecutorResolver`, :class:`BlockingResolver`,
    :class:`ThreadedResolver`, :class:`OverrideResolver`,
    :class:`squall.platform.caresresolver.CaresResolver` or
    :class:`squall.platform.twisted.TwistedResolver`.
    """

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return Resolver

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return DefaultLoopResolver

    def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> Awaitable[list[tuple[int, Any]]]:
        """Resolves *host* and *port*; the awaitable gives ``[(family, address), ...]``.

        *address* is a tuple suitable for :meth:`socket.socket.connect`.
        *family* may restrict results to ``AF_INET`` or ``AF_INET6``.

        Raises:
            OSError: (``socket.gaierror`` typically) when resolution fails.
        """
        raise NotImplementedError()

    def close(self) -> None:
        """Releases the resources this resolver holds."""


class DefaultLoopResolver(Resolver):
    """The out-of-the-box choice: each lookup is a call to the running loop's ``getaddrinfo``."""

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM
        )
        return _pairs(infos)


class DefaultExecutorResolver(Resolver):
    """Resolver running blocking ``getaddrinfo`` on the loop's default executor."""

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _resolve_addr, host, port, family)


class ExecutorResolver(Resolver):
    """Resolver running blocking ``getaddrinfo`` on a :class:`concurrent.futures.Executor`.

    Args:
        executor: where to run; ``None`` runs synchronously on the loop
            thread (a blocking resolver).
        close_executor: whether :meth:`close` shuts *executor* down.

    Deprecated in Tornado in favour of :class:`DefaultLoopResolver`; kept
    for compatibility.
    """

    executor: concurrent.futures.Executor | None
    close_executor: bool

    def initialize(
        self, executor: concurrent.futures.Executor | None = None, close_executor: bool = True
    ) -> None:
        self.executor = executor
        self.close_executor = close_executor if executor is not None else False

    def close(self) -> None:
        if self.close_executor and self.executor is not None:
            self.executor.shutdown()
        self.executor = None

    def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> asyncio.Future[list[tuple[int, Any]]]:
        loop = asyncio.get_running_loop()
        if self.executor is None:
            fut: asyncio.Future[list[tuple[int, Any]]] = loop.create_future()
            try:
                fut.set_result(_resolve_addr(host, port, family))
            except Exception as e:
                fut.set_exception(e)
            return fut
        return asyncio.wrap_future(
            self.executor.submit(_resolve_addr, host, port, family), loop=loop
        )


class BlockingResolver(ExecutorResolver):
    """Resolver that blocks the loop while it resolves (``getaddrinfo`` inline)."""

    def initialize(self) -> None:  # type: ignore[override]
        super().initialize()


class ThreadedResolver(ExecutorResolver):
    """Resolver using a thread pool shared by all instances in the process.

    Args:
        num_threads: size of the shared pool (a new size rebuilds it).
    """

    _threadpool: concurrent.futures.ThreadPoolExecutor | None = None
    _threadpool_pid: int | None = None
    _threadpool_size = 0

    def initialize(self, num_threads: int = 10) -> None:  # type: ignore[override]
        pool = ThreadedResolver._create_threadpool(num_threads)
        super().initialize(executor=pool, close_executor=False)

    @classmethod
    def _create_threadpool(cls, num_threads: int) -> concurrent.futures.ThreadPoolExecutor:
        pid = os.getpid()
        pool = ThreadedResolver._threadpool
        if pool is None or ThreadedResolver._threadpool_pid != pid:
            # A pool inherited across fork() has no threads: make a new one.
            pool = concurrent.futures.ThreadPoolExecutor(num_threads)
            ThreadedResolver._threadpool = pool
            ThreadedResolver._threadpool_pid = pid
            ThreadedResolver._threadpool_size = num_threads
        return pool


class OverrideResolver(Resolver):
    """Redirect chosen lookups before handing them to another resolver.

    Handy in tests, or to point a name somewhere else without touching
    ``/etc/hosts``. A *mapping* key is a host, a ``(host, port)`` pair or a
    ``(host, port, family)`` triple; its value is the host, or the
    ``(host, port)`` pair, to look up in its place. When several keys fit,
    the most specific one is used::

        OverrideResolver(Resolver(), {
            "api.internal": "10.0.0.5",
            ("db.example.org", 5432): ("127.0.0.1", 15432),
            ("db.example.org", 5432, socket.AF_INET6): ("::1", 15432),
        })
    """

    resolver: Resolver
    mapping: dict[Any, Any]

    def initialize(self, resolver: Resolver, mapping: dict[Any, Any]) -> None:  # type: ignore[override]
        self.resolver = resolver
        self.mapping = mapping

    def close(self) -> None:
        self.resolver.close()

    def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> Awaitable[list[tuple[int, Any]]]:
        mapping = self.mapping
        if (host, port, family) in mapping:
            host, port = mapping[(host, port, family)]
        elif (host, port) in mapping:
            host, port = mapping[(host, port)]
        elif host in mapping:
            host = mapping[host]
        return self.resolver.resolve(host, port, family)
