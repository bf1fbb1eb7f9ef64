"""What every mixin shares: :class:`AuthError`, running a flow in either style, provider calls.

Each network-bound mixin method starts its work at once as an asyncio task
and returns it, so it can be awaited (Tornado 6's style) or left to run, and
it takes ``callback=`` (the classic overview style): the callback then gets
the result, or ``None`` after a logged warning when the login was refused,
and runs through the IOLoop in the caller's context, so an exception it
raises inside an ``@asynchronous`` handler becomes that handler's error page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl

from squall.escape import json_decode
from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from squall.ioloop import IOLoop
from squall.log import gen_log

__all__ = ["AuthError"]

_T = TypeVar("_T")

#: Running login tasks: asyncio keeps only weak references to tasks.
_running: set[asyncio.Future[Any]] = set()


class AuthError(Exception):
    """A third-party login or authorization was refused or could not complete.

    Raised for a provider that answers with an error, a callback request
    whose token, state or cookie does not match the one this site issued,
    and a provider reply that lacks what the protocol requires.
    """


def _start(
    work: Coroutine[Any, Any, _T], callback: Callable[[Any], object] | None = None
) -> asyncio.Future[_T]:
    """Run ``work`` as a task; with ``callback``, hand it the outcome through the IOLoop."""
    task = asyncio.ensure_future(work if callback is None else _then_call(work, callback))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


def _shared_client() -> AsyncHTTPClient:
    return cast(AsyncHTTPClient, AsyncHTTPClient())


async def _then_call(work: Coroutine[Any, Any, Any], callback: Callable[[Any], object]) -> Any:
    try:
        outcome = await work
    except (AuthError, HTTPClientError, OSError, ValueError) as exc:
        # The classic contract: the callback hears ``None`` and decides.
        gen_log.warning("third-party login failed: %s", exc)
        outcome = None
    IOLoop.current().add_callback(callback, outcome)
    return outcome


async def _fetch(
    client: AsyncHTTPClient, url: str, what: str, body: str | None = None
) -> HTTPResponse:
    """Fetch a provider URL (POST when there is a ``body``); failures become AuthError."""
    request = (
        HTTPRequest(
            url,
            method="POST",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if body is not None
        else HTTPRequest(url)
    )
    try:
        return await client.fetch(request)
    except HTTPClientError as exc:
        raise AuthError(f"{what} failed: {exc}") from exc
    except OSError as exc:
        raise AuthError(f"{what} failed: cannot reach the provider ({exc})") from exc


async def _call_api(client: AsyncHTTPClient, request: HTTPRequest) -> Any:
    """An API call on the user's behalf: the decoded JSON answer (HTTP errors propagate)."""
    response = await client.fetch(request)
    return json_decode(response.body)


def _json_reply(response: HTTPResponse, what: str) -> dict[str, Any]:
    try:
        reply = json_decode(response.body)
    except ValueError as exc:
        raise AuthError(f"{what}: the provider's answer is not JSON") from exc
    if not isinstance(reply, dict):
        raise AuthError(f"{what}: the provider's answer is not a JSON object")
    return reply


def _token_reply(body: bytes, what: str) -> dict[str, Any]:
    """An OAuth 1.0 token answer (``oauth_token=...&oauth_token_secret=...``) as
    ``{"key", "secret", ...}`` with any other fields the provider added."""
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    key = fields.pop("oauth_token", None)
    secret = fields.pop("oauth_token_secret", None)
    if not key or secret is None:
        raise AuthError(f"{what}: the provider sent no token")
    return {"key": key, "secret": secret, **fields}
