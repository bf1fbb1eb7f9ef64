"""Flexible request routing (mirrors ``tornado.routing``).

A :class:`Router` is an :class:`~squall.httputil.HTTPServerConnectionDelegate`
that picks, from a request's head, the
:class:`~squall.httputil.HTTPMessageDelegate` that will serve it; any router
can be handed straight to :class:`~squall.httpserver.HTTPServer`.
:class:`RuleRouter` tries a list of :class:`Rule` objects, each a
:class:`Matcher` (:class:`PathMatches`, :class:`HostMatches`,
:class:`DefaultHostMatches`, :class:`AnyMatches`, or your own) and a target:
another router, a connection delegate (such as a
``squall.web.Application``), a plain ``callback(request)``, or a list of rules
for a nested router. The reversible variants build URLs back from rule names.
Requests no rule accepts get a 404 answer.

Example::

    router = RuleRouter([
        Rule(HostMatches("example.com"), [
            (r"/api/(\\w+)", api_router),
            (PathMatches(r"/static/.*"), serve_static),
        ]),
        Rule(AnyMatches(), fallback_app),
    ])
    HTTPServer(router).listen(8888)
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._matchers import (
    AnyMatches,
    DefaultHostMatches,
    HostMatches,
    Matcher,
    PathMatches,
)
from ._matchers import (
    _unquote_or_none as _unquote_or_none,
)
from ._routers import ReversibleRouter, ReversibleRuleRouter, Router, Rule, RuleRouter, URLSpec

__all__ = [
    "AnyMatches",
    "DefaultHostMatches",
    "HostMatches",
    "Matcher",
    "PathMatches",
    "ReversibleRouter",
    "ReversibleRuleRouter",
    "Router",
    "Rule",
    "RuleRouter",
    "URLSpec",
]

_publish_public_names(globals())
