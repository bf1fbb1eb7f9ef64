"""Host name resolution without blocking the loop: the configurable :class:`Resolver` family.

Every resolver answers ``resolve(host, port, family)`` with an awaitable list
of ``(family, sockaddr)`` pairs.  The built-in ones differ only in where the
blocking ``getaddrinfo`` call runs: inside asyncio's own lookup, on an
executor, or right there on the loop's thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
from collections.abc import Awaitable, Iterable
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

_Pairs = list[tuple[int, Any]]


def _family_address_pairs(infos: Iterable[tuple[Any, ...]]) -> _Pairs:
    """Keeps the ``(family, sockaddr)`` of each ``getaddrinfo`` entry, first occurrence only."""
    return list(dict.fromkeys((info[0], info[4]) for info in infos))


def _resolve_addr(host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> _Pairs:
    """The blocking lookup the executor-based resolvers run."""
    return _family_address_pairs(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM))


class Resolver(Configurable):
    """Interface of the non-blocking name resolvers, and the factory for the configured one.

    ``Resolver()`` returns an instance of the implementation chosen with
    :meth:`~squall.util.Configurable.configure`, :class:`DefaultLoopResolver`
    unless changed.  The others: :class:`DefaultExecutorResolver`,
    :class:`ThreadedResolver`, :class:`BlockingResolver`,
    :class:`ExecutorResolver`, :class:`OverrideResolver`,
    :class:`squall.platform.caresresolver.CaresResolver` and
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
        """Looks up *host*; the awaitable gives a list of ``(family, address)`` pairs.

        Each *address* is ready for :meth:`socket.socket.connect` (it carries
        *port*).  *family* ``AF_INET`` or ``AF_INET6`` limits the answer to
        that family.

        Raises:
            OSError: through the awaitable (typically :class:`socket.gaierror`)
                when the name cannot be resolved.
        """
        raise NotImplementedError()

    def close(self) -> None:
        """Frees whatever the resolver holds (threads, sockets); a no-op by default."""


class DefaultLoopResolver(Resolver):
    """The default: asks the running asyncio loop (``loop.getaddrinfo``) for each lookup."""

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        loop = asyncio.get_running_loop()
        found = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        return _family_address_pairs(found)


class DefaultExecutorResolver(Resolver):
    """Runs the blocking lookup on the loop's default executor."""

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _resolve_addr, host, port, family)


class ExecutorResolver(Resolver):
    """Runs the blocking lookup on a :class:`concurrent.futures.Executor` of your choice.

    Args:
        executor: where lookups run; ``None`` runs them right away on the
            calling thread, blocking the loop (see :class:`BlockingResolver`).
        close_executor: whether :meth:`close` shuts *executor* down (never
            for ``None``).

    Tornado deprecates this class in favour of :class:`DefaultLoopResolver`;
    it stays for compatibility.
    """

    executor: concurrent.futures.Executor | None
    close_executor: bool

    def initialize(
        self, executor: concurrent.futures.Executor | None = None, close_executor: bool = True
    ) -> None:
        self.executor = executor
        self.close_executor = executor is not None and close_executor

    def close(self) -> None:
        pool, self.executor = self.executor, None
        if pool is not None and self.close_executor:
            pool.shutdown()

    def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> asyncio.Future[list[tuple[int, Any]]]:
        loop = asyncio.get_running_loop()
        if self.executor is not None:
            return loop.run_in_executor(self.executor, _resolve_addr, host, port, family)
        answer: asyncio.Future[_Pairs] = loop.create_future()
        try:
            pairs = _resolve_addr(host, port, family)
        except Exception as exc:
            answer.set_exception(exc)
        else:
            answer.set_result(pairs)
        return answer


class BlockingResolver(ExecutorResolver):
    """Resolves inline on the loop's thread: the loop stalls for the length of each lookup."""

    def initialize(self) -> None:  # type: ignore[override]
        super().initialize(None)


# (pid, pool): the pool every ThreadedResolver of this process uses.
_shared_pool: tuple[int, concurrent.futures.ThreadPoolExecutor] | None = None


def _process_pool(num_threads: int) -> concurrent.futures.ThreadPoolExecutor:
    global _shared_pool
    pid = os.getpid()
    if _shared_pool is None or _shared_pool[0] != pid:
        # None yet, or one inherited through fork() whose threads stayed behind.
        _shared_pool = (pid, concurrent.futures.ThreadPoolExecutor(num_threads))
    return _shared_pool[1]


class ThreadedResolver(ExecutorResolver):
    """Resolves on a thread pool that all instances in the process share.

    Args:
        num_threads: the pool's size; only the first instance made in a
            process (or after a fork) decides it.

    ``close()`` leaves the shared pool running.
    """

    def initialize(self, num_threads: int = 10) -> None:  # type: ignore[override]
        super().initialize(executor=_process_pool(num_threads), close_executor=False)


class OverrideResolver(Resolver):
    """Rewrites chosen lookups, then passes every lookup on to another resolver.

    Handy in tests, or to point a name somewhere else without touching
    ``/etc/hosts``.  A *mapping* key is a host, a ``(host, port)`` pair or a
    ``(host, port, family)`` triple; a host key maps to the host to look up
    instead, the others to a ``(host, port)`` pair.  When several keys
    match a lookup, the most specific one wins::

        OverrideResolver(Resolver(), {
            "api.internal": "10.0.0.5",
            ("db.example.org", 5432): ("127.0.0.1", 15432),
            ("db.example.org", 5432, socket.AF_INET6): ("::1", 15432),
        })

    :meth:`close` closes the wrapped resolver.
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
        table = self.mapping
        target = table.get((host, port, family)) or table.get((host, port))
        if target is not None:
            host, port = target
        else:
            host = table.get(host, host)
        return self.resolver.resolve(host, port, family)
