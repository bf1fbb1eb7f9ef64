"""squall.web basics through a real server: the overview's first examples, lifecycle, routing."""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any

import pytest
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
from squall.routing import PathMatches, Rule
from squall.testing import AsyncHTTPTestCase, bind_unused_port
from squall.testing._http import _over_http2
from squall.web import (
    Application,
    HTTPError,
    RequestHandler,
    url,
)


class MainHandler(RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


class StoryHandler(RequestHandler):
    def get(self, story_id: str) -> None:
        self.write("You requested the story " + story_id)


class FormHandler(RequestHandler):
    def get(self) -> None:
        self.write(
            '<html><body><form action="/form" method="POST">'
            '<input type="text" name="message">'
            '<input type="submit" value="Submit">'
            "</form></body></html>"
        )

    def post(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write("You wrote " + self.get_argument("message"))


class ForbiddenHandler(RequestHandler):
    def user_is_logged_in(self) -> bool:
        return False

    def get(self) -> None:
        if not self.user_is_logged_in():
            raise HTTPError(403)


class ProfileHandler(RequestHandler):
    def initialize(self, database: dict[str, str]) -> None:  # type: ignore[override]
        self.database = database

    def get(self, username: str) -> None:
        self.write(self.database.get(username, "nobody"))


class TestOverviewExamples(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [
                (r"/", MainHandler),
                (r"/story/([0-9]+)", StoryHandler),
                (r"/form", FormHandler),
                (r"/secret", ForbiddenHandler),
                (r"/user/(.*)", ProfileHandler, dict(database={"ann": "Ann A."})),
            ]
        )

    def test_hello_world(self) -> None:
        response = self.fetch("/")
        assert response.code == 200
        assert response.body == b"Hello, world"
        assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
        assert response.headers["Content-Length"] == "12"
        assert response.headers["Server"].startswith("SquallServer/")
        assert "Date" in response.headers
        # The same digest Tornado sends: SHA-1 of the body, quoted.
        assert response.headers["Etag"] == '"e02aa1b106d5c7c6a98def2b13005d5b84fd8dc8"'

    def test_the_suite_speaks_the_protocol_it_was_asked_for(self) -> None:
        # SQUALL_TEST_HTTP2=1 (the tox factor h2) runs every AsyncHTTPTestCase over HTTP/2.
        response = self.fetch("/")
        spoken = getattr(response, "http_version", "HTTP/1.1")
        assert spoken == ("HTTP/2" if _over_http2() else "HTTP/1.1")
        assert response.request.url.startswith("http://127.0.0.1:")

    def test_story_group_is_a_positional_argument(self) -> None:
        assert self.fetch("/story/42").body == b"You requested the story 42"
        assert self.fetch("/story/abc").code == 404

    def test_form_get_and_post(self) -> None:
        assert b'name="message"' in self.fetch("/form").body
        response = self.fetch("/form", method="POST", body="message=hi+there")
        assert response.code == 200
        assert response.body == b"You wrote hi there"
        assert response.headers["Content-Type"] == "text/plain"

    def test_http_error_403(self) -> None:
        response = self.fetch("/secret")
        assert response.code == 403
        assert (
            response.body
            == b"<html><title>403: Forbidden</title><body>403: Forbidden</body></html>"
        )

    def test_initialize_receives_the_spec_kwargs(self) -> None:
        assert self.fetch("/user/ann").body == b"Ann A."
        assert self.fetch("/user/bob").body == b"nobody"

    def test_unknown_path_is_404(self) -> None:
        response = self.fetch("/missing")
        assert response.code == 404
        assert (
            response.body
            == b"<html><title>404: Not Found</title><body>404: Not Found</body></html>"
        )

    def test_unimplemented_method_is_405_with_allow(self) -> None:
        response = self.fetch("/story/1", method="POST", body="")
        assert response.code == 405
        assert response.headers["Allow"] == "GET"
        assert self.fetch("/form", method="DELETE").headers["Allow"] == "GET, POST"


def test_hello_world_with_ioloop_instance() -> None:
    """The overview's program: application.listen() then IOLoop.instance().start()."""
    from squall.httpclient import AsyncHTTPClient

    application = Application([(r"/", MainHandler)])
    sock, port = bind_unused_port()
    sock.close()
    loop = IOLoop.instance()
    seen: list[Any] = []

    async def probe() -> None:
        client = AsyncHTTPClient(force_instance=True)
        try:
            seen.append(await client.fetch(f"http://127.0.0.1:{port}/"))
        finally:
            client.close()
            server.stop()
            await server.close_all_connections()
            loop.stop()

    server = application.listen(port, "127.0.0.1")
    loop.add_callback(probe)
    loop.add_timeout(loop.time() + 10, loop.stop)
    try:
        loop.start()
    finally:
        server.stop()
        loop.close(all_fds=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            IOLoop.clear_instance()
        asyncio.set_event_loop(None)
    assert isinstance(server, HTTPServer)
    assert seen and seen[0].body == b"Hello, world"


class LifecycleHandler(RequestHandler):
    log: list[str] = []

    def initialize(self, tag: str) -> None:  # type: ignore[override]
        self.tag = tag
        self.log.append(f"initialize {tag}")

    def prepare(self) -> None:
        self.log.append("prepare")
        if self.get_argument("stop", None):
            self.finish("stopped in prepare")

    def get(self) -> None:
        self.log.append("get")
        self.write(f"handler {id(self)}")

    def on_finish(self) -> None:
        self.log.append("on_finish")


class AsyncPrepareHandler(RequestHandler):
    async def prepare(self) -> None:
        await asyncio.sleep(0)
        self.prepared = True

    def get(self) -> None:
        self.write("prepared" if self.prepared else "not prepared")


class AwaitableHandler(RequestHandler):
    def get(self) -> Any:
        # Not a coroutine function: returns an awaitable.
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)
        self.write("a")

        async def later() -> None:
            await future
            self.write("b")

        return later()


class TestLifecycle(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        LifecycleHandler.log = []
        return Application(
            [
                (r"/life", LifecycleHandler, {"tag": "x"}),
                (r"/aprep", AsyncPrepareHandler),
                (r"/awaitable", AwaitableHandler),
            ]
        )

    def test_order_of_calls(self) -> None:
        assert self.fetch("/life").code == 200
        assert LifecycleHandler.log == ["initialize x", "prepare", "get", "on_finish"]

    def test_a_new_handler_per_request(self) -> None:
        first = self.fetch("/life").body
        second = self.fetch("/life").body
        assert LifecycleHandler.log.count("initialize x") == 2
        assert first.startswith(b"handler ") and second.startswith(b"handler ")

    def test_prepare_may_finish(self) -> None:
        response = self.fetch("/life?stop=1")
        assert response.body == b"stopped in prepare"
        assert "get" not in LifecycleHandler.log
        assert LifecycleHandler.log[-1] == "on_finish"

    def test_async_prepare(self) -> None:
        assert self.fetch("/aprep").body == b"prepared"

    def test_method_returning_an_awaitable(self) -> None:
        assert self.fetch("/awaitable").body == b"ab"


class ArgsHandler(RequestHandler):
    def get(self, *args: str, **kwargs: str) -> None:
        self.write({"args": list(args), "kwargs": kwargs})


class TestRouting(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        app = Application(
            [
                url(r"/pos/(\d+)/(.*)", ArgsHandler, name="pos"),
                (r"/named/(?P<first>[^/]*)/(?P<second>.*)", ArgsHandler, None, "named"),
                Rule(PathMatches(r"/rule/(\w+)"), ArgsHandler),
                (r"/nested", [(r"/nested", MainHandler)]),
                (r"/plain", self.plain_callback),
            ],
            default_host="main.example",
        )
        app.add_handlers(r"other\.example", [(r"/", StoryHandler, {})])
        app.add_handlers(r"main\.example", [(r"/only-main", MainHandler)])
        return app

    @staticmethod
    def plain_callback(request: HTTPServerRequest) -> None:
        from squall.httputil import HTTPHeaders, ResponseStartLine

        body = f"plain {request.method} {request.path}".encode()
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        request.connection.finish()

    def test_groups_are_url_unquoted(self) -> None:
        response = self.fetch("/pos/12/a%20b%2Fc")
        assert response.body == b'{"args": ["12", "a b/c"], "kwargs": {}}'

    def test_named_groups_become_keyword_arguments(self) -> None:
        response = self.fetch("/named/x%2By/")
        assert response.body == b'{"args": [], "kwargs": {"first": "x+y", "second": ""}}'

    def test_rule_objects_and_nested_lists_and_plain_callables(self) -> None:
        assert self.fetch("/rule/abc").body == b'{"args": ["abc"], "kwargs": {}}'
        assert self.fetch("/nested").body == b"Hello, world"
        assert self.fetch("/plain").body == b"plain GET /plain"

    def test_reverse_url(self) -> None:
        app: Application = self._app
        assert app.reverse_url("pos", 3, "x y") == "/pos/3/x%20y"
        assert app.reverse_url("named", "a", "b") == "/named/a/b"
        with pytest.raises(KeyError):
            app.reverse_url("nope")

    def test_host_rules_come_first(self) -> None:
        response = self.fetch("/", headers={"Host": "other.example"})
        # StoryHandler.get needs an argument the pattern does not give: a 500.
        assert response.code == 500
        assert self.fetch("/", headers={"Host": "elsewhere"}).code == 404

    def test_default_host_answers_for_unknown_hosts(self) -> None:
        assert self.fetch("/only-main", headers={"Host": "main.example"}).code == 200
        assert self.fetch("/only-main", headers={"Host": "unknown.example"}).code == 200
        # A proxied request (X-Real-Ip) never falls back to the default host.
        proxied = self.fetch(
            "/only-main", headers={"Host": "unknown.example", "X-Real-Ip": "1.2.3.4"}
        )
        assert proxied.code == 404


class TestNestedApplication(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        inner = Application([(r"/inner/hello", MainHandler)])
        return Application([(r"/inner/.*", inner), (r"/", StoryHandler)])

    def test_an_application_routes_to_another(self) -> None:
        assert self.fetch("/inner/hello").body == b"Hello, world"
        assert self.fetch("/inner/other").code == 404


class TestDefaultHandler(AsyncHTTPTestCase):
    class Custom404(RequestHandler):
        def initialize(self, word: str) -> None:  # type: ignore[override]
            self.word = word

        def prepare(self) -> None:
            self.set_status(404)
            self.finish(self.word)

    def get_app(self) -> Application:
        return Application(
            [(r"/", MainHandler)],
            default_handler_class=self.Custom404,
            default_handler_args={"word": "gone"},
        )

    def test_default_handler_class_answers_unmatched(self) -> None:
        response = self.fetch("/x")
        assert response.code == 404
        assert response.body == b"gone"


class TestCallableApplication(AsyncHTTPTestCase):
    def get_app(self) -> Any:
        app = Application([(r"/form", FormHandler), (r"/", MainHandler)])
        # The server sees a plain callable: Application.__call__ serves the request.
        return lambda request: app(request)

    def test_application_as_request_callback(self) -> None:
        assert self.fetch("/").body == b"Hello, world"
        response = self.fetch("/form", method="POST", body="message=yo")
        assert response.body == b"You wrote yo"


class TestAccessLog(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/", MainHandler), (r"/secret", ForbiddenHandler)])

    def test_levels_follow_the_status(self) -> None:
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        keeper = Keep()
        logger = logging.getLogger("squall.access")
        logger.addHandler(keeper)
        old_level = logger.level
        logger.setLevel(logging.INFO)
        try:
            self.fetch("/")
            self.fetch("/secret")
            self.fetch("/nothing")
        finally:
            logger.removeHandler(keeper)
            logger.setLevel(old_level)
        messages = [(r.levelno, r.getMessage()) for r in records]
        assert messages[0][0] == logging.INFO
        assert messages[0][1].startswith("200 GET / (127.0.0.1) ")
        assert messages[0][1].endswith("ms")
        assert messages[1][0] == logging.WARNING and messages[1][1].startswith("403 GET /secret")
        assert messages[2][0] == logging.WARNING and messages[2][1].startswith("404 GET /nothing")

    def test_log_function_setting_replaces_the_log(self) -> None:
        seen: list[int] = []
        self._app.settings["log_function"] = lambda handler: seen.append(handler.get_status())
        self.fetch("/")
        self.fetch("/secret")
        assert seen == [200, 403]


class EchoDelegateApp(HTTPServerConnectionDelegate):
    """A plain connection delegate (no squall.web) mounted inside an Application."""

    def start_request(self, server_conn: object, request_conn: Any) -> HTTPMessageDelegate:
        class Answer(HTTPMessageDelegate):
            def headers_received(self, start_line: Any, headers: Any) -> None:
                self.path = start_line.path

            def finish(self) -> None:
                body = f"delegate {self.path}".encode()
                request_conn.write_headers(
                    ResponseStartLine("HTTP/1.1", 200, "OK"),
                    HTTPHeaders({"Content-Length": str(len(body))}),
                    body,
                )
                request_conn.finish()

        return Answer()


class TestPlainDelegateTarget(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/raw/.*", EchoDelegateApp()), (r"/", MainHandler)])

    def test_connection_delegate_as_a_target(self) -> None:
        assert self.fetch("/raw/x").body == b"delegate /raw/x"
        assert self.fetch("/").body == b"Hello, world"


def test_autoreload_setting_starts_the_reloader(monkeypatch: pytest.MonkeyPatch) -> None:
    from squall import autoreload

    started: list[bool] = []
    monkeypatch.setattr(autoreload, "start", lambda *args, **kwargs: started.append(True))
    Application(debug=True)
    assert started == [True]
    Application(debug=True, autoreload=False)
    Application()
    assert started == [True]


class HTTPStatusHandler(RequestHandler):
    def get(self) -> None:
        import http

        self.set_status(http.HTTPStatus.CREATED)
        self.write("made")


class HTTPStatusMemberTest(AsyncHTTPTestCase):
    """An http.HTTPStatus member is a status like its number, on every Python
    (3.10 prints an IntEnum as its name)."""

    def get_app(self) -> Application:
        return Application([(r"/", HTTPStatusHandler)])

    def test_status_line_has_the_number(self) -> None:
        response = self.fetch("/")
        self.assertEqual(response.code, 201)
        self.assertEqual(response.reason, "Created")
        self.assertEqual(response.body, b"made")
