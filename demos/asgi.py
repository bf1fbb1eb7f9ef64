"""squall's demo site as an ASGI application, for uvicorn, hypercorn or any ASGI server.

    uvicorn --app-dir demos asgi:app                  # http://127.0.0.1:8000/
    hypercorn --bind 127.0.0.1:8000 demos/asgi:app    # the same site under hypercorn

(both from the root of a clone, after ``pip install uvicorn websockets`` or
``pip install hypercorn``). ``app`` is the very site ``python3 demos/app.py``
serves (:func:`app.make_router`: every demo under its own path, the
landing page at ``/``), wrapped in :class:`squall.asgi.ASGIApplication`,
so the ASGI server owns the sockets and squall's handlers, WebSockets
included, run on its event loop.

The settings come from the environment, since an ASGI server passes no
command line through: the data dir is ``$SQUALL_DEMO_DATA`` (default
``~/.local/share/squall-demos``, as for ``demos/app.py``; the cookie secret
lives there), and ``$SQUALL_DEMO_PUBSUB`` names the chats' hub
(``memory://`` by default, or ``redis://host:port/db`` so that several
server workers share one chat room). The hub is subscribed when the server
starts and closed when it stops (the ASGI lifespan events).
"""

from __future__ import annotations

import os
import sys

import squall.web
from squall.asgi import ASGIApplication
from squall.pubsub import hub_from_url
from squall.routing import AnyMatches, Rule

_FOLDER = os.path.dirname(os.path.abspath(__file__))
if _FOLDER not in sys.path:  # hypercorn and uvicorn --app-dir put it there; python -c may not
    sys.path.insert(0, _FOLDER)

from app import make_router  # noqa: E402

__all__ = ["app", "hub"]

#: The chats' hub: ``$SQUALL_DEMO_PUBSUB``, else one in memory.
hub = hub_from_url(os.environ.get("SQUALL_DEMO_PUBSUB") or "memory://")

_router, _ = make_router(hub=hub)  # the data dir: $SQUALL_DEMO_DATA or the per-user default

#: What the ASGI server calls. ASGIApplication takes an Application, so the
#: site's router is that Application's one rule.
app = ASGIApplication(
    squall.web.Application([Rule(AnyMatches(), _router)]),
    on_startup=[hub.wait_ready],
    on_shutdown=[hub.close],
)
