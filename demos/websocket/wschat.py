"""The chat room again, over WebSockets instead of long polling.

    python demos/websocket/wschat.py [--port 8888] [--address 127.0.0.1] [--pubsub URL]

One ``WebSocketHandler`` per browser tab. The nickname lives in a signed
cookie, as in the long-polling chat, and is checked before the upgrade
(``prepare`` answers 403, so no socket is ever opened for a stranger; the
default ``check_origin`` refuses other sites' pages).

A message a tab sends is published on the ``wschat`` channel of a
:mod:`squall.pubsub` hub (``--pubsub``: ``memory://`` within this process,
the default, or ``redis://host:port/db`` across processes and hosts). In
every process a :class:`~squall.pubsub.Broadcaster` writes what the
channel brings to that process's sockets, and a
:class:`~squall.pubsub.LongPollRelay` keyed by message id keeps the newest
messages: a tab connects with ``?cursor=ID`` and is first sent the kept
messages after id ``ID``, so a tab that reconnects, to this process or
another, misses nothing. Who is online is kept right across processes by
:class:`Presence`. Every frame is one JSON text: a message, ``{"online":
[...]}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(HERE) not in sys.path:  # run as a script: make the shared chatkit importable
    sys.path.insert(0, os.path.dirname(HERE))

import chatkit  # noqa: E402
import squall.ioloop  # noqa: E402
import squall.web  # noqa: E402
import squall.websocket  # noqa: E402
from squall.log import app_log  # noqa: E402
from squall.pubsub import (  # noqa: E402
    Broadcaster,
    Hub,
    LocalHub,
    LongPollRelay,
    Message,
    PubSubError,
)


class Presence:
    """Who is online in every process of the room, from what each process announces.

    A process announces the nicknames of its own sockets on ``channel``
    (``{"from": <origin>, "names": [...]}``) whenever they change; an
    announcement replaces whatever was known of its origin. The first time a
    process has sockets, and after the hub lost messages (a gap), it adds
    ``"ask": true`` and the others answer with their own lists. A process
    with sockets repeats its list every ``beat`` seconds, and an origin not
    heard from for three beats (a process killed without a word) is
    forgotten. ``on_change(names)`` is called when the merged list changes.
    """

    def __init__(
        self,
        hub: Hub,
        channel: str,
        on_change: Callable[[list[str]], None],
        beat: float = 20.0,
    ) -> None:
        self.hub = hub
        self.channel = channel
        self.on_change = on_change
        self.beat = beat
        self.origin = uuid.uuid4().hex
        self.mine: frozenset[str] = frozenset()
        self.heard: dict[str, tuple[frozenset[str], float]] = {}  # origin -> (names, when)
        self.shown: list[str] = []
        self._timer: squall.ioloop.PeriodicCallback | None = None
        self._sending: set[asyncio.Future[None]] = set()
        self._listener = hub.add_listener(channel, self._on_news)

    def online(self) -> list[str]:
        """Every nickname online, in any process, sorted."""
        return self.shown

    def update(self, names: Iterable[str]) -> None:
        """This process's nicknames are now ``names``: tell the others if that is news."""
        names = frozenset(names)
        if self._timer is None:  # the first socket: learn who is elsewhere
            self._timer = squall.ioloop.PeriodicCallback(self._tick, self.beat * 1000)
            self._timer.start()
            self.mine = names
            self._announce(ask=True)
        elif names != self.mine:
            self.mine = names
            self._announce()
        self._merge()

    def close(self) -> None:
        """Stop listening and announcing."""
        self._listener.remove()
        if self._timer is not None:
            self._timer.stop()

    def _on_news(self, news: Message) -> None:
        if news.gap:  # lost announcements: ask everyone again, ours included
            self._announce(ask=True)
            return
        data = news.data
        if not isinstance(data, dict) or data.get("from") in (None, self.origin):
            return
        self.heard[data["from"]] = (frozenset(data.get("names", ())), time.monotonic())
        if data.get("ask") and self.mine:
            self._announce()
        self._merge()

    def _tick(self) -> None:
        too_old = time.monotonic() - 3 * self.beat
        for origin in [o for o, (_, when) in self.heard.items() if when < too_old]:
            del self.heard[origin]
        if self.mine:
            self._announce()
        self._merge()

    def _merge(self) -> None:
        everyone = set(self.mine).union(*(names for names, _ in self.heard.values()))
        merged = sorted(everyone)
        if merged != self.shown:
            self.shown = merged
            self.on_change(merged)

    def _announce(self, ask: bool = False) -> None:
        news: dict[str, Any] = {"from": self.origin, "names": sorted(self.mine)}
        if ask:
            news["ask"] = True
        sending = asyncio.ensure_future(self._publish(news))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    async def _publish(self, news: dict[str, Any]) -> None:
        try:
            await self.hub.publish(self.channel, news)
        except PubSubError as problem:  # the next beat, or the gap after reconnecting, repairs it
            app_log.warning("wschat: presence not announced: %s", problem)


class Room:
    """This process's part of the room: its sockets, and what the hub brings them.

    Messages go out on ``channel`` of ``hub``; ``relay`` keeps the newest
    ``history`` of them for sockets that resume, ``fanout`` writes each one
    to every socket here, and ``presence`` (on ``channel + "/presence"``)
    tracks who is online everywhere.
    """

    def __init__(
        self,
        history: int = 200,
        *,
        hub: Hub | None = None,
        channel: str = "wschat",
        beat: float = 20.0,
    ) -> None:
        self.hub = LocalHub() if hub is None else hub
        self.channel = channel
        self.relay = LongPollRelay(self.hub, channel, history, key=chatkit.message_id)
        self.fanout = Broadcaster(self.hub, channel)
        self.sockets: dict[ChatSocket, str] = {}  # socket -> nickname
        self.presence = Presence(self.hub, channel + "/presence", self._tell_online, beat)

    def online(self) -> list[str]:
        return self.presence.online()

    async def say(self, author: str, text: str) -> dict[str, Any]:
        """Publish a new message to every process's sockets."""
        message = chatkit.new_message(author, text)
        await self.hub.publish(self.channel, message)
        return message

    def enter(self, socket: ChatSocket, nickname: str) -> None:
        """Start sending to ``socket``; it and everyone else learn who is online."""
        self.presence.update({*self.sockets.values(), nickname})  # tells the others
        self.sockets[socket] = nickname
        self.fanout.add(socket)
        socket.write_message({"online": self.online()})

    def leave(self, socket: ChatSocket) -> None:
        self.fanout.discard(socket)
        if self.sockets.pop(socket, None) is not None:
            self.presence.update(self.sockets.values())

    def _tell_online(self, names: list[str]) -> None:
        frame = json.dumps({"online": names})
        for socket in list(self.sockets):
            try:
                socket.write_message(frame)
            except squall.websocket.WebSocketClosedError:
                pass  # on_close is on its way and takes it out

    def close(self) -> None:
        """Stop listening to the hub."""
        self.relay.close()
        self.fanout.close()
        self.presence.close()


class RoomPage(chatkit.Page):
    @squall.web.authenticated
    def get(self) -> None:
        self.render("room.html")


class ChatSocket(squall.websocket.WebSocketHandler):
    """One browser tab in the room."""

    def initialize(self, room: Room, prefix: str) -> None:
        self.room = room

    def get_current_user(self) -> str | None:
        return chatkit.signed_nickname(self)

    def prepare(self) -> None:
        # Runs before the upgrade: a request without a valid cookie never becomes a socket.
        if not self.current_user:
            raise squall.web.HTTPError(403, "sign in before opening the chat socket")

    async def open(self) -> None:
        cursor = self.get_query_argument("cursor", "")
        kept, _ = await chatkit.kept_after(self.room.relay, cursor)
        for message in kept:
            self.write_message(message)
        self.room.enter(self, str(self.current_user))

    async def on_message(self, message: str | bytes) -> None:
        try:
            text = str(json.loads(message)["text"]).strip()
        except (ValueError, KeyError, TypeError):
            self.close(1003, 'send JSON like {"text": "hello"}')
            return
        if not text:
            return
        try:
            await self.room.say(str(self.current_user), text[:1000])
        except PubSubError as problem:
            self.write_message({"error": f"Not sent ({problem})"})

    def on_close(self) -> None:
        self.room.leave(self)


def make_app(
    prefix: str = "",
    *,
    room: Room | None = None,
    hub: Hub | None = None,
    cookie_secret: str | None = None,
    debug: bool = False,
) -> squall.web.Application:
    """The WebSocket chat, every URL under ``prefix`` (``""`` or like ``"/websocket"``),
    in ``room`` or else a new :class:`Room` on ``hub`` (or on a new local hub)."""
    return chatkit.application(
        prefix,
        HERE,
        [("/", RoomPage, {}), ("/socket", ChatSocket, {})],
        room=room or Room(hub=hub),
        brand="squall websocket chat",
        cookie="wschat_user",
        cookie_secret=cookie_secret,
        websocket_ping_interval=30,
        debug=debug,
    )


if __name__ == "__main__":
    chatkit.serve(make_app, "squall's WebSocket chat demo", "websocket chat")
