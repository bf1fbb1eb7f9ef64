"""A chat room over long polling: the overview's "advanced asynchronous example".

    python demos/chat/chat.py [--port 8888] [--address 127.0.0.1] [--pubsub URL]

Pick a nickname (kept in a signed cookie) and talk. Posting
(``POST <prefix>/messages``, with the ``_xsrf`` value in the ``X-XSRFToken``
header) publishes the message on the ``chat`` channel of a
:mod:`squall.pubsub` hub: ``memory://`` (the default) within this process,
or ``redis://host:port/db`` to every process using that Redis server, on
any host. Every process keeps the newest messages it hears in a
:class:`~squall.pubsub.LongPollRelay`. The page asks
``GET <prefix>/updates?cursor=ID`` for the messages after the one with id
``ID``; when there are none yet the request stays open (an ``async def``
handler awaiting the relay) until somebody speaks or ``poll_seconds`` pass.
Ids are unique across processes and the relay is keyed by them, so a
cursor is good in every process: late joiners, reconnecting pages and
polls that a balancer sends elsewhere all catch up from it. A client that
leaves while waiting is let go in ``on_connection_close``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(HERE) not in sys.path:  # run as a script: make the shared chatkit importable
    sys.path.insert(0, os.path.dirname(HERE))

import chatkit  # noqa: E402
import squall.web  # noqa: E402
from squall.pubsub import Hub, LocalHub, LongPollRelay, PubSubError  # noqa: E402


class ChatRoom:
    """The room as one process sees it: posts go out through ``hub``, and ``relay``
    keeps the newest ``history`` messages heard on ``channel`` for the polls."""

    def __init__(self, history: int = 200, *, hub: Hub | None = None, channel: str = "chat"):
        self.hub = LocalHub() if hub is None else hub
        self.channel = channel
        self.relay = LongPollRelay(self.hub, channel, history, key=chatkit.message_id)

    @property
    def listeners(self) -> int:
        """How many polls wait for the next message right now."""
        return self.relay.waiting()

    @property
    def newest(self) -> str:
        """The id of the newest message kept here (``""`` before any)."""
        return str(self.relay.cursor or "")

    async def say(self, author: str, text: str) -> dict[str, Any]:
        """Publish a new message; every process's relay (this one's too) then has it."""
        message = chatkit.new_message(author, text)
        await self.hub.publish(self.channel, message)
        return message

    def close(self) -> None:
        """Stop listening to the hub; waiting polls are let go."""
        self.relay.close()


class RoomPage(chatkit.Page):
    @squall.web.authenticated
    async def get(self) -> None:
        messages, cursor = await chatkit.kept_after(self.room.relay, "")
        self.render("room.html", messages=messages, cursor=cursor)


class NewMessage(chatkit.Page):
    async def post(self) -> None:
        author = self.nickname()
        text = self.get_body_argument("text", "", strip=True)
        if not text:
            raise squall.web.HTTPError(400, "empty message")
        try:
            message = await self.room.say(author, text[:1000])
        except PubSubError as problem:  # Redis is down: say so rather than lose it quietly
            raise squall.web.HTTPError(503, "message not sent: %s", problem)
        if "application/json" in self.request.headers.get("Accept", ""):
            self.write(message)
        else:  # the form posted without JavaScript
            self.redirect(self.prefix + "/")


class Updates(chatkit.Page):
    """``GET ?cursor=ID``: the messages after id ``ID``, as soon as there is one.

    An id this process does not know (none given, or too old) gets every
    kept message. Answers ``{"messages": [...], "cursor": ID}``.
    """

    def initialize(self, room: ChatRoom, prefix: str, poll_seconds: float = 30) -> None:
        super().initialize(room, prefix)
        self.poll_seconds = poll_seconds
        self.pending: asyncio.Future[Any] | None = None

    async def get(self) -> None:
        self.nickname()
        cursor = self.get_query_argument("cursor", "")
        if not cursor:  # the page saw an empty room: whatever came since, else the next one
            kept, cursor = await chatkit.kept_after(self.room.relay, cursor)
            if kept:
                self.set_header("Cache-Control", "no-store")
                self.write({"messages": kept, "cursor": cursor})
                return
        wanted = cursor or None
        pending = self.pending = asyncio.ensure_future(self.room.relay.wait(wanted))
        await asyncio.wait((pending,), timeout=self.poll_seconds)
        if pending.cancelled():
            return  # on_connection_close: nobody to answer
        if pending.done():
            batch = pending.result()
            answer = {"messages": batch.messages, "cursor": batch.cursor}
        else:  # nothing new: answer so, the page asks again at once
            pending.cancel()
            answer = {"messages": [], "cursor": cursor}
        self.set_header("Cache-Control", "no-store")
        self.write(answer)

    def on_connection_close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()  # the relay forgets the waiter


def make_app(
    prefix: str = "",
    *,
    room: ChatRoom | None = None,
    hub: Hub | None = None,
    cookie_secret: str | None = None,
    poll_seconds: float = 30,
    debug: bool = False,
) -> squall.web.Application:
    """The chat application, every URL under ``prefix`` (``""`` or like ``"/chat"``).

    ``room`` defaults to a new :class:`ChatRoom` on ``hub`` (itself a new
    :class:`~squall.pubsub.LocalHub` by default); an idle poll is answered
    empty after ``poll_seconds``.
    """
    return chatkit.application(
        prefix,
        HERE,
        [
            ("/", RoomPage, {}),
            ("/messages", NewMessage, {}),
            ("/updates", Updates, {"poll_seconds": poll_seconds}),
        ],
        room=room or ChatRoom(hub=hub),
        brand="squall chat",
        cookie="chat_user",
        cookie_secret=cookie_secret,
        debug=debug,
    )


if __name__ == "__main__":
    chatkit.serve(make_app, "squall's long-polling chat demo", "chat demo")
