"""A chat room over long polling: the overview's "advanced asynchronous example".

    python demos/chat/chat.py [--port 8888] [--address 127.0.0.1]

Pick a nickname (kept in a signed cookie) and talk. The page asks
``GET <prefix>/updates?cursor=N`` for the messages after id ``N``; when
there are none yet the request simply stays open (an ``async def`` handler
awaiting a future) until somebody speaks or ``poll_seconds`` pass. The room
keeps its newest messages in memory, so whoever joins late, or reconnects
after a network hiccup, catches up from its cursor. A client that leaves
while waiting is dropped in ``on_connection_close``. Posting
(``POST <prefix>/messages``) is protected against cross-site forgery: the
page's script sends the ``_xsrf`` value in the ``X-XSRFToken`` header.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import os
import time
from typing import Any

import squall.ioloop
import squall.web

HERE = os.path.dirname(os.path.abspath(__file__))
USER_COOKIE = "chat_user"


class ChatRoom:
    """The newest ``history`` messages, each numbered one above the one before, and who waits."""

    def __init__(self, history: int = 200) -> None:
        self.messages: collections.deque[dict[str, Any]] = collections.deque(maxlen=history)
        self.newest = 0
        self._waiting: set[asyncio.Future[None]] = set()

    @property
    def listeners(self) -> int:
        """How many clients wait for the next message right now."""
        return len(self._waiting)

    def after(self, cursor: int) -> list[dict[str, Any]]:
        """The kept messages whose id is above ``cursor``.

        A cursor from the future (the page outlived a server restart) is
        answered with everything kept.
        """
        unseen = self.newest - cursor if cursor <= self.newest else self.newest
        if unseen <= 0:
            return []
        first = max(len(self.messages) - unseen, 0)
        return list(itertools.islice(self.messages, first, None))

    def next_message(self) -> asyncio.Future[None]:
        """A future resolved by the next :meth:`say`; forgotten once done or cancelled."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.add(waiter)
        waiter.add_done_callback(self._waiting.discard)
        return waiter

    def say(self, author: str, text: str) -> dict[str, Any]:
        """Keep a new message and wake every waiting client."""
        self.newest += 1
        message = {"id": self.newest, "author": author, "text": text, "time": time.time()}
        self.messages.append(message)
        for waiter in list(self._waiting):
            if not waiter.done():
                waiter.set_result(None)
        return message


class ChatHandler(squall.web.RequestHandler):
    """What every page of the room shares: the room, the URL prefix, the nickname cookie."""

    def initialize(self, room: ChatRoom, prefix: str) -> None:
        self.room = room
        self.prefix = prefix

    def get_current_user(self) -> str | None:
        nickname = self.get_signed_cookie(USER_COOKIE)
        return nickname.decode() if nickname else None

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["prefix"] = self.prefix
        return namespace

    def require_user(self) -> str:
        """The nickname, or 403 for scripts that lost their cookie (no login redirect)."""
        if not self.current_user:
            raise squall.web.HTTPError(403, "sign in first")
        return str(self.current_user)


class RoomPage(ChatHandler):
    @squall.web.authenticated
    def get(self) -> None:
        self.render("room.html", messages=self.room.after(0), cursor=self.room.newest)


class LoginPage(ChatHandler):
    def get(self) -> None:
        self.render("login.html", error=None)

    def post(self) -> None:
        nickname = self.get_body_argument("nickname", "", strip=True)
        if not 0 < len(nickname) <= 32:
            self.set_status(400)
            self.render("login.html", error="A nickname has 1 to 32 characters.")
            return
        self.set_signed_cookie(
            USER_COOKIE, nickname, path=self.prefix or "/", httponly=True, samesite="Lax"
        )
        self.redirect(self.prefix + "/")


class LogoutPage(ChatHandler):
    def post(self) -> None:
        self.clear_cookie(USER_COOKIE, path=self.prefix or "/")
        self.redirect(self.prefix + "/login")


class NewMessage(ChatHandler):
    def post(self) -> None:
        author = self.require_user()
        text = self.get_body_argument("text", "", strip=True)
        if not text:
            raise squall.web.HTTPError(400, "empty message")
        message = self.room.say(author, text[:1000])
        if "application/json" in self.request.headers.get("Accept", ""):
            self.write(message)
        else:  # the form posted without JavaScript
            self.redirect(self.prefix + "/")


class Updates(ChatHandler):
    """``GET ?cursor=N``: the messages after id N, as soon as there is at least one."""

    def initialize(self, room: ChatRoom, prefix: str, poll_seconds: float = 30) -> None:
        super().initialize(room, prefix)
        self.poll_seconds = poll_seconds
        self.waiter: asyncio.Future[None] | None = None
        self.gone = False

    async def get(self) -> None:
        self.require_user()
        try:
            cursor = int(self.get_query_argument("cursor", "0"))
        except ValueError:
            raise squall.web.HTTPError(400, "cursor must be a message id")
        messages = self.room.after(cursor)
        if not messages:
            self.waiter = self.room.next_message()
            try:
                await asyncio.wait_for(self.waiter, self.poll_seconds)
            except asyncio.TimeoutError:
                pass  # answer "nothing new"; the page asks again at once
            if self.gone:
                return
            messages = self.room.after(cursor)
        self.set_header("Cache-Control", "no-store")
        self.write({"messages": messages, "cursor": self.room.newest})

    def on_connection_close(self) -> None:
        self.gone = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)  # stop waiting; the room forgets the future


def make_app(
    prefix: str = "",
    *,
    room: ChatRoom | None = None,
    cookie_secret: str | None = None,
    poll_seconds: float = 30,
    debug: bool = False,
) -> squall.web.Application:
    """The chat application, every URL under ``prefix`` (``""`` or like ``"/chat"``)."""
    shared = {"room": room or ChatRoom(), "prefix": prefix}
    return squall.web.Application(
        [
            (prefix + "/", RoomPage, shared),
            (prefix + "/login", LoginPage, shared),
            (prefix + "/logout", LogoutPage, shared),
            (prefix + "/messages", NewMessage, shared),
            (prefix + "/updates", Updates, dict(shared, poll_seconds=poll_seconds)),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        static_url_prefix=prefix + "/static/",
        cookie_secret=cookie_secret or os.urandom(32).hex(),
        login_url=prefix + "/login",
        xsrf_cookies=True,
        debug=debug,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="squall's long-polling chat demo")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    make_app(debug=args.debug).listen(args.port, args.address)
    print(f"chat demo on http://{args.address}:{args.port}/  (Ctrl-C stops it)", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
