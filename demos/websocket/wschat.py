"""The chat room again, over WebSockets instead of long polling.

    python demos/websocket/wschat.py [--port 8888] [--address 127.0.0.1]

One ``WebSocketHandler`` per browser tab. The nickname lives in a signed
cookie, as in the long-polling chat, and is checked before the upgrade
(``prepare`` answers 403, so no socket is ever opened for a stranger; the
default ``check_origin`` refuses other sites' pages). A tab connects with
``?cursor=N`` and is first sent the kept messages after id ``N``, so a
reconnecting tab misses nothing; after that every message and every change
of who is online is pushed to all open sockets as one JSON text frame.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import time
from typing import Any

import squall.ioloop
import squall.web
import squall.websocket

HERE = os.path.dirname(os.path.abspath(__file__))
USER_COOKIE = "wschat_user"


class Room:
    """Who is connected, and the newest ``history`` messages numbered from 1."""

    def __init__(self, history: int = 200) -> None:
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=history)
        self.last_id = 0
        self.sockets: set[ChatSocket] = set()

    def since(self, cursor: int) -> list[dict[str, Any]]:
        """The kept messages after id ``cursor`` (all of them for a cursor from a previous run)."""
        count = self.last_id - cursor if 0 <= cursor <= self.last_id else self.last_id
        return list(itertools.islice(self.history, max(len(self.history) - count, 0), None))

    def online(self) -> list[str]:
        return sorted({str(socket.current_user) for socket in self.sockets})

    def add(self, author: str, text: str) -> dict[str, Any]:
        self.last_id += 1
        message = {"id": self.last_id, "author": author, "text": text, "time": time.time()}
        self.history.append(message)
        self.broadcast({"messages": [message]})
        return message

    def broadcast(self, event: dict[str, Any]) -> None:
        frame = json.dumps(event)
        for socket in list(self.sockets):
            try:
                socket.write_message(frame)
            except squall.websocket.WebSocketClosedError:
                self.sockets.discard(socket)


class PageHandler(squall.web.RequestHandler):
    def initialize(self, room: Room, prefix: str) -> None:
        self.room = room
        self.prefix = prefix

    def get_current_user(self) -> str | None:
        nickname = self.get_signed_cookie(USER_COOKIE)
        return nickname.decode() if nickname else None

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["prefix"] = self.prefix
        return namespace


class RoomPage(PageHandler):
    @squall.web.authenticated
    def get(self) -> None:
        self.render("room.html")


class LoginPage(PageHandler):
    def get(self) -> None:
        self.render("login.html", error=None)

    def post(self) -> None:
        nickname = self.get_body_argument("nickname", "", strip=True)
        if not nickname or len(nickname) > 32:
            self.set_status(400)
            self.render("login.html", error="A nickname has 1 to 32 characters.")
            return
        self.set_signed_cookie(
            USER_COOKIE, nickname, path=self.prefix or "/", httponly=True, samesite="Lax"
        )
        self.redirect(self.prefix + "/")


class LogoutPage(PageHandler):
    def post(self) -> None:
        self.clear_cookie(USER_COOKIE, path=self.prefix or "/")
        self.redirect(self.prefix + "/login")


class ChatSocket(squall.websocket.WebSocketHandler):
    """One browser tab in the room."""

    def initialize(self, room: Room, prefix: str) -> None:
        self.room = room

    def get_current_user(self) -> str | None:
        nickname = self.get_signed_cookie(USER_COOKIE)
        return nickname.decode() if nickname else None

    def prepare(self) -> None:
        # Runs before the upgrade: a request without a valid cookie never becomes a socket.
        if not self.current_user:
            raise squall.web.HTTPError(403, "sign in before opening the chat socket")

    def open(self) -> None:
        try:
            cursor = int(self.get_query_argument("cursor", "0"))
        except ValueError:
            cursor = 0
        self.write_message({"messages": self.room.since(cursor)})
        self.room.sockets.add(self)
        self.room.broadcast({"online": self.room.online()})

    def on_message(self, message: str | bytes) -> None:
        try:
            text = str(json.loads(message)["text"]).strip()
        except (ValueError, KeyError, TypeError):
            self.close(1003, 'send JSON like {"text": "hello"}')
            return
        if text:
            self.room.add(str(self.current_user), text[:1000])

    def on_close(self) -> None:
        self.room.sockets.discard(self)
        self.room.broadcast({"online": self.room.online()})


def make_app(
    prefix: str = "",
    *,
    room: Room | None = None,
    cookie_secret: str | None = None,
    debug: bool = False,
) -> squall.web.Application:
    """The WebSocket chat, every URL under ``prefix`` (``""`` or like ``"/websocket"``)."""
    shared = {"room": room or Room(), "prefix": prefix}
    return squall.web.Application(
        [
            (prefix + "/", RoomPage, shared),
            (prefix + "/login", LoginPage, shared),
            (prefix + "/logout", LogoutPage, shared),
            (prefix + "/socket", ChatSocket, shared),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        static_url_prefix=prefix + "/static/",
        cookie_secret=cookie_secret or os.urandom(32).hex(),
        login_url=prefix + "/login",
        xsrf_cookies=True,
        websocket_ping_interval=30,
        debug=debug,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="squall's WebSocket chat demo")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    make_app(debug=args.debug).listen(args.port, args.address)
    print(f"websocket chat on http://{args.address}:{args.port}/  (Ctrl-C stops it)", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
