"""Routers: :class:`Router`, :class:`RuleRouter` and their reversible variants, and :class:`Rule`.

A router is an :class:`~squall.httputil.HTTPServerConnectionDelegate`: its
:meth:`Router.start_request` hands the server a delegate that holds the
request head, asks :meth:`Router.find_handler` for the real delegate, and
passes everything on to it (or answers 404 when nothing wants the request).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from squall.httputil import (
    HTTPConnection,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
)
from squall.httputil._callable import _CallableDelegate
from squall.log import app_log
from squall.util import import_object

from ._delegates import _HeldUntilRouted
from ._matchers import Matcher, PathMatches

__all__ = [
    "ReversibleRouter",
    "ReversibleRuleRouter",
    "Router",
    "Rule",
    "RuleRouter",
    "URLSpec",
    "_RuleList",
]


class Router(HTTPServerConnectionDelegate):
    """Maps requests to :class:`~squall.httputil.HTTPMessageDelegate` objects.

    Subclasses implement :meth:`find_handler`; a router can be given straight
    to :class:`~squall.httpserver.HTTPServer` as its request callback.
    """

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        """Return the delegate for ``request`` (its head only; no body yet), or ``None``.

        ``kwargs`` are extra routing values (such as a parent rule's match).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement find_handler()")

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        return _HeldUntilRouted(self, server_conn, request_conn)


class ReversibleRouter(Router):
    """A router that can also build URLs for its named routes."""

    def reverse_url(self, name: str, *args: Any) -> str | None:
        """The URL of the route called ``name`` filled with ``args``, or ``None`` if unknown."""
        raise NotImplementedError(f"{type(self).__name__} must implement reverse_url()")


class Rule:
    """Pairs a :class:`~squall.routing.Matcher` with the target that serves what it matches.

    :param matcher: decides which requests the rule takes.
    :param target: a :class:`Router`, an
        :class:`~squall.httputil.HTTPServerConnectionDelegate`, a callable
        taking an :class:`~squall.httputil.HTTPServerRequest`, a list of rules
        (served by a nested router), or a dotted import path to one of these.
    :param target_kwargs: passed on to the target when it is created or called.
    :param name: lets :meth:`ReversibleRouter.reverse_url` find the rule.
    """

    def __init__(
        self,
        matcher: Matcher,
        target: Any,
        target_kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.matcher = matcher
        self.target = import_object(target) if isinstance(target, str) else target
        self.target_kwargs = target_kwargs if target_kwargs else {}
        self.name = name

    def reverse(self, *args: Any) -> str | None:
        """Build this rule's URL from ``args`` (see :meth:`Matcher.reverse`)."""
        return self.matcher.reverse(*args)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.matcher!r}, {self.target!r}, "
            f"kwargs={self.target_kwargs!r}, name={self.name!r})"
        )


#: What :class:`RuleRouter` accepts: rules, or tuples/lists of
#: ``(matcher or path pattern, target[, target_kwargs[, name]])``.
_RuleList = Sequence[Rule | Sequence[Any]]


def _as_rule(spec: Rule | Sequence[Any]) -> Rule:
    if isinstance(spec, Rule):
        return spec
    if not 2 <= len(spec) <= 4:
        raise ValueError(f"a rule tuple has 2 to 4 items, not {len(spec)}: {spec!r}")
    matcher = spec[0]
    if isinstance(matcher, str):
        matcher = PathMatches(matcher)
    return Rule(matcher, *spec[1:])


class RuleRouter(Router):
    """Tries its rules in order; the first whose matcher accepts the request serves it.

    ``rules`` is a list of :class:`Rule` objects or of tuples
    ``(matcher, target[, target_kwargs[, name]])``, where a string in place of
    the matcher means ``PathMatches(string)``.
    """

    def __init__(self, rules: _RuleList | None = None) -> None:
        self.rules: list[Rule] = []
        if rules:
            self.add_rules(rules)

    def add_rules(self, rules: _RuleList) -> None:
        """Append ``rules`` (same forms as the constructor takes)."""
        self.rules.extend(self.process_rule(_as_rule(spec)) for spec in rules)

    def add_rule(
        self,
        matcher: Matcher | str,
        target: Any,
        target_kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        """Append one rule built from the arguments."""
        self.add_rules([(matcher, target, target_kwargs, name)])

    def process_rule(self, rule: Rule) -> Rule:
        """Hook run on each rule as it is added; returns the rule to store.

        A list or tuple target becomes a nested router of the same family.
        """
        target = rule.target
        if isinstance(target, (list, tuple)):
            rule.target = self._nested(target)
        return rule

    def _nested(self, rules: _RuleList) -> RuleRouter:
        return RuleRouter(rules)

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        for rule in self.rules:
            params = rule.matcher.match(request)
            if params is None:
                continue
            extra = rule.target_kwargs
            found = (
                self.get_target_delegate(rule.target, request, target_kwargs=extra, **params)
                if extra
                else self.get_target_delegate(rule.target, request, **params)
            )
            if found is not None:
                return found
        return None

    def get_target_delegate(
        self, target: Any, request: HTTPServerRequest, **target_params: Any
    ) -> HTTPMessageDelegate | None:
        """Turn a rule's ``target`` into the delegate for ``request`` (``None`` to skip it).

        Routers are asked with :meth:`Router.find_handler`; other connection
        delegates with ``start_request``; a plain callable is called with the
        complete request (``target_params`` as keyword arguments) once its body
        is in. Override to support more kinds of target.
        """
        if isinstance(target, Router):
            return target.find_handler(request, **target_params)
        if isinstance(target, HTTPServerConnectionDelegate):
            return target.start_request(request.server_connection, request.connection)
        if not callable(target):
            return None
        if not target_params:
            return _CallableDelegate(target, request)
        return _CallableDelegate(functools.partial(target, **target_params), request)


class ReversibleRuleRouter(ReversibleRouter, RuleRouter):
    """A :class:`RuleRouter` whose named rules (and nested reversible routers) reverse.

    Adding a second rule with a name already in use logs a warning and the
    newer rule wins.
    """

    def process_rule(self, rule: Rule) -> Rule:
        rule = RuleRouter.process_rule(self, rule)
        name = rule.name
        if name and any(old.name == name for old in self.rules):
            app_log.warning("Route name %r given twice; the later one replaces it", name)
        return rule

    def _nested(self, rules: _RuleList) -> RuleRouter:
        return ReversibleRuleRouter(rules)

    def reverse_url(self, name: str, *args: Any) -> str | None:
        owners = [r for r in self.rules if r.name == name]
        if owners:
            return owners[-1].reverse(*args)
        children = (r.target for r in self.rules if isinstance(r.target, ReversibleRouter))
        for child in children:
            url = child.reverse_url(name, *args)
            if url is not None:
                return url
        return None


class URLSpec(Rule):
    """A path rule for :class:`squall.web.Application`: ``pattern`` to ``handler``.

    :param pattern: a path regex (``$`` is appended when missing); groups
        become the handler's positional (or, when named, keyword) arguments.
    :param handler: the ``RequestHandler`` class, or its dotted import path.
    :param kwargs: passed to the handler's ``initialize``.
    :param name: for ``reverse_url``.

    Attributes: ``regex`` (compiled), ``handler_class``, ``kwargs``, ``name``.
    """

    def __init__(
        self,
        pattern: str | Any,
        handler: Any,
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        Rule.__init__(self, PathMatches(pattern), handler, kwargs, name)
        self.kwargs = kwargs

    @property
    def regex(self) -> Any:
        """The compiled path pattern."""
        matcher: PathMatches = self.matcher  # type: ignore[assignment]
        return matcher.regex

    @property
    def handler_class(self) -> Any:
        """The handler this spec routes to (the rule's target)."""
        return self.target

    @handler_class.setter
    def handler_class(self, value: Any) -> None:
        self.target = value

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.regex.pattern!r}, {self.handler_class!r}, "
            f"kwargs={self.kwargs!r}, name={self.name!r})"
        )
