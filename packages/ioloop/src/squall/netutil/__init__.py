"""Socket-level helpers: binding listeners, name resolution and TLS wrapping.

Same API as ``tornado.netutil``.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._resolver import (
    BlockingResolver,
    DefaultExecutorResolver,
    DefaultLoopResolver,
    ExecutorResolver,
    OverrideResolver,
    Resolver,
    ThreadedResolver,
)
from ._resolver import _resolve_addr as _resolve_addr
from ._sockets import _DEFAULT_BACKLOG as _DEFAULT_BACKLOG
from ._sockets import (
    add_accept_handler,
    bind_sockets,
    bind_unix_socket,
    is_valid_ip,
)
from ._ssl import _client_ssl_defaults as _client_ssl_defaults
from ._ssl import _server_ssl_defaults as _server_ssl_defaults
from ._ssl import ssl_options_to_context, ssl_wrap_socket

__all__ = [
    "BlockingResolver",
    "DefaultExecutorResolver",
    "DefaultLoopResolver",
    "ExecutorResolver",
    "OverrideResolver",
    "Resolver",
    "ThreadedResolver",
    "add_accept_handler",
    "bind_sockets",
    "bind_unix_socket",
    "is_valid_ip",
    "ssl_options_to_context",
    "ssl_wrap_socket",
]


_publish_public_names(globals())
