"""squall.routing: matchers on their own, and routers behind a real HTTPServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    ResponseStartLine,
)
from squall.netutil import bind_sockets
from squall.routing import (
    AnyMatches,
    DefaultHostMatches,
    HostMatches,
    Matcher,
    PathMatches,
    ReversibleRouter,
    ReversibleRuleRouter,
    Router,
    Rule,
    RuleRouter,
    URLSpec,
)


def answer(request: HTTPServerRequest, text: str, status: int = 200) -> None:
    body = text.encode()
    request.connection.write_headers(
        ResponseStartLine("HTTP/1.1", status, "OK"),
        HTTPHeaders({"Content-Length": str(len(body))}),
        body,
    )
    request.connection.finish()


def fake_request(path: str = "/", host: str = "example.com", **headers: str) -> HTTPServerRequest:
    fields = HTTPHeaders({"Host": host})
    for name, value in headers.items():
        fields[name] = value
    return HTTPServerRequest(method="GET", uri=path, headers=fields)


def serve(router: Any, requests: list[tuple[str, dict[str, Any]]]) -> list[HTTPResponse]:
    """Start an HTTPServer for ``router`` on a fresh loop, fetch each path, return the responses."""

    async def body() -> list[HTTPResponse]:
        server = HTTPServer(router)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        client = AsyncHTTPClient(force_instance=True)
        try:
            out = []
            for path, options in requests:
                out.append(
                    await client.fetch(
                        f"http://127.0.0.1:{port}{path}", raise_error=False, **options
                    )
                )
            return out
        finally:
            client.close()
            server.stop()
            await server.close_all_connections()

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(body(), 10))
    finally:
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def text(response: HTTPResponse) -> str:
    assert response.body is not None
    return response.body.decode()


# --- matchers ---------------------------------------------------------------


def test_matcher_base_is_abstract_and_not_reversible() -> None:
    with pytest.raises(NotImplementedError):
        Matcher().match(fake_request())
    assert Matcher().reverse("x") is None


def test_any_matches_everything() -> None:
    assert AnyMatches().match(fake_request("/whatever")) == {}


def test_host_matches_is_anchored_and_ignores_port() -> None:
    matcher = HostMatches(r"www\.example\.com")
    assert matcher.match(fake_request(host="www.example.com:8080")) == {}
    assert matcher.match(fake_request(host="www.example.com.evil")) is None
    assert matcher.match(fake_request(host="other.org")) is None
    assert HostMatches(re.compile(r".*\.org$")).match(fake_request(host="a.org")) == {}


def test_default_host_matches_follows_the_application_and_skips_proxied() -> None:
    class App:
        default_host = "main.example"

    matcher = DefaultHostMatches(App(), re.compile(r"main\.example$"))
    assert matcher.match(fake_request(host="anything")) == {}
    assert matcher.match(fake_request(host="anything", **{"X-Real-Ip": "1.2.3.4"})) is None
    assert DefaultHostMatches(App(), re.compile("other$")).match(fake_request()) is None


def test_path_matches_positional_groups_are_unescaped_bytes() -> None:
    matcher = PathMatches(r"/item/([^/]+)/(\d+)")
    assert matcher.regex.pattern.endswith("$")
    found = matcher.match(fake_request("/item/a%20b%2Fc+d/42?q=1"))
    assert found == {"path_args": [b"a b/c+d", b"42"], "path_kwargs": {}}
    assert matcher.match(fake_request("/item/x/42/more")) is None
    assert matcher.match(fake_request("/other")) is None


def test_path_matches_named_groups_become_kwargs_and_absent_groups_none() -> None:
    matcher = PathMatches(r"/u/(?P<user>\w+)(?:/(?P<tab>\w+))?")
    assert matcher.match(fake_request("/u/ann")) == {
        "path_args": [],
        "path_kwargs": {"user": b"ann", "tab": None},
    }
    assert PathMatches(r"/(a)?b").match(fake_request("/b")) == {
        "path_args": [None],
        "path_kwargs": {},
    }


def test_path_matches_without_groups_gives_no_arguments() -> None:
    assert PathMatches("/plain").match(fake_request("/plain")) == {}


@pytest.mark.parametrize(
    "pattern",
    [
        "/",
        "/plain",
        r"^/anchored$",
        r"/dot\.escaped",
        "/dot.any",
        "/50%",
        r"/dollar\$",
        "/a b",
        "/caf\u00e9",
        r"/oauth/(?:authorize|authenticate)",
        r"/paren\(x\)",
        "/a|/b",
        "/x+",
        "/[xy]",
        re.compile("/Case", re.IGNORECASE),
        re.compile("/multi$", re.MULTILINE),
    ],
)
def test_path_matches_plain_text_patterns_agree_with_the_regex(
    pattern: str | re.Pattern[str],
) -> None:
    # Plain-text patterns are compared as strings, not run as regexes: the
    # answers must be the regex's own, "$" before a final newline included.
    matcher = PathMatches(pattern)
    paths = ["/", "/\n", "/plain", "/plain\n", "/plainer", "/anchored", "/dot.escaped"]
    paths += ["/dotxescaped", "/dot.any", "/dotXany", "/50%", "/dollar$", "/a b", "/caf\u00e9"]
    paths += ["/oauth/authorize", "/oauth/%s", "/paren(x)", "/a", "/b", "/xx", "/y", "/case"]
    paths += ["/CASE", "/multi", "/multi\nmore", "", "//"]
    for path in paths:
        request = HTTPServerRequest("GET", "/")
        request.path = path
        expected = {} if matcher.regex.match(path) else None
        assert matcher.match(request) == expected, path


def test_path_reverse_escapes_arguments() -> None:
    matcher = PathMatches(r"/file/([^/]+)/(\d+)$")
    assert matcher.reverse("a b/c?&", 7) == "/file/a%20b/c%3F%26/7"
    assert matcher.reverse(b"caf\xc3\xa9", "1") == "/file/caf%C3%A9/1"
    assert PathMatches(r"^/static/x\.css$").reverse() == "/static/x.css"
    assert PathMatches(r"/100%/(\w+)").reverse("x") == "/100%/x"
    assert PathMatches(r"/100%").reverse() == "/100%"


def test_path_reverse_refuses_wrong_arity_and_complex_patterns() -> None:
    with pytest.raises(ValueError):
        PathMatches(r"/a/(\w+)").reverse()
    with pytest.raises(ValueError):
        PathMatches(r"/a/(\w+)").reverse("x", "y")
    for pattern in (r"/a/\d+", r"/a/((x)|y)", r"/a|/b", r"/a.*"):
        with pytest.raises(ValueError):
            PathMatches(pattern).reverse()


def test_rule_and_urlspec_attributes() -> None:
    target = object()
    rule = Rule(PathMatches(r"/r/(\d+)"), target, {"k": 1}, "r")
    assert rule.target is target and rule.target_kwargs == {"k": 1} and rule.name == "r"
    assert rule.reverse(5) == "/r/5"
    assert Rule(AnyMatches(), target).target_kwargs == {}
    assert "Rule(" in repr(rule)
    spec = URLSpec(r"/s/(\w+)", target, {"a": 2}, name="s")
    assert isinstance(spec, Rule)
    assert spec.regex.pattern == r"/s/(\w+)$"
    assert spec.handler_class is target and spec.kwargs == {"a": 2} and spec.name == "s"
    assert spec.reverse("q") == "/s/q"
    assert "URLSpec(" in repr(spec)


def test_rule_target_given_as_import_path() -> None:
    assert Rule(AnyMatches(), "squall.routing.AnyMatches").target is AnyMatches


def test_rule_tuples_and_bad_tuples() -> None:
    router = RuleRouter([("/a", answer), (AnyMatches(), answer, {"text": "x"}, "n")])
    assert isinstance(router.rules[0].matcher, PathMatches)
    assert router.rules[1].name == "n" and router.rules[1].target_kwargs == {"text": "x"}
    with pytest.raises(ValueError):
        RuleRouter([("/a",)])


def test_find_handler_returns_none_when_nothing_matches() -> None:
    assert RuleRouter([("/a", answer)]).find_handler(fake_request("/b")) is None
    assert RuleRouter().find_handler(fake_request("/")) is None
    with pytest.raises(NotImplementedError):
        Router().find_handler(fake_request())
    with pytest.raises(NotImplementedError):
        ReversibleRouter().reverse_url("x")


def test_reverse_url_through_nested_routers_and_duplicate_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inner = ReversibleRuleRouter([Rule(PathMatches(r"/in/(\w+)"), answer, name="inner")])
    router = ReversibleRuleRouter(
        [
            Rule(PathMatches(r"/top/(\d+)/(\w+)"), answer, name="top"),
            Rule(PathMatches("/in/.*"), inner),
            Rule(AnyMatches(), [Rule(PathMatches(r"/listed/(\w+)"), answer, name="listed")]),
        ]
    )
    assert router.reverse_url("top", 3, "a b") == "/top/3/a%20b"
    assert router.reverse_url("inner", "z") == "/in/z"
    assert router.reverse_url("listed", "w") == "/listed/w"
    assert router.reverse_url("missing") is None
    with caplog.at_level(logging.WARNING, logger="squall.application"):
        router.add_rule(PathMatches("/replacement"), answer, name="top")
    assert "top" in caplog.text
    assert router.reverse_url("top") == "/replacement"


# --- routers behind a real server ---------------------------------------------


class CountingDelegate(HTTPServerConnectionDelegate):
    """A connection delegate target: echoes the body size and the path it was given."""

    def start_request(self, server_conn: object, request_conn: Any) -> HTTPMessageDelegate:
        outer = self

        class Message(HTTPMessageDelegate):
            def __init__(self) -> None:
                self.size = 0
                self.path = ""

            def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
                self.path = start_line.path

            def data_received(self, chunk: bytes) -> None:
                self.size += len(chunk)

            def finish(self) -> None:
                outer.seen += 1
                body = f"delegate {self.path} {self.size}".encode()
                request_conn.write_headers(
                    ResponseStartLine("HTTP/1.1", 200, "OK"),
                    HTTPHeaders({"Content-Length": str(len(body))}),
                    body,
                )
                request_conn.finish()

        return Message()

    seen = 0


def test_plain_callable_target_gets_the_whole_request() -> None:
    def handle(request: HTTPServerRequest) -> None:
        answer(request, f"{request.method} {request.path} {request.body.decode()}")

    def form(request: HTTPServerRequest) -> None:
        answer(request, request.body_arguments["a"][0].decode())

    router = RuleRouter([("/call", handle), ("/form", form)])
    call, posted = serve(
        router,
        [
            ("/call", {"method": "POST", "body": "payload"}),
            (
                "/form",
                {
                    "method": "POST",
                    "body": "a=1+2",
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                },
            ),
        ],
    )
    assert (call.code, text(call)) == (200, "POST /call payload")
    assert (posted.code, text(posted)) == (200, "1 2")


def test_coroutine_callable_target() -> None:
    async def handle(request: HTTPServerRequest) -> None:
        await asyncio.sleep(0)
        answer(request, "later")

    (response,) = serve(RuleRouter([("/", handle)]), [("/", {})])
    assert text(response) == "later"


def test_callable_receives_match_values_and_target_kwargs() -> None:
    def handle(
        request: HTTPServerRequest,
        path_args: list[bytes],
        path_kwargs: dict[str, bytes],
        target_kwargs: dict[str, str],
    ) -> None:
        answer(request, f"{path_args[0].decode()} {target_kwargs['tag']}")

    router = RuleRouter([Rule(PathMatches(r"/p/([^/]+)"), handle, {"tag": "t"})])
    (response,) = serve(router, [("/p/x%2Fy", {})])
    assert text(response) == "x/y t"


def test_delegate_target_receives_head_and_body() -> None:
    delegate = CountingDelegate()
    router = RuleRouter([Rule(PathMatches("/d.*"), delegate)])
    (response,) = serve(router, [("/dx", {"method": "PUT", "body": "12345"})])
    assert text(response) == "delegate /dx 5"
    assert delegate.seen == 1


def test_nested_routers_and_rule_lists() -> None:
    class PrefixRouter(Router):
        def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> Any:
            if request.path.startswith("/custom/"):
                return CountingDelegate().start_request(
                    request.server_connection, request.connection
                )
            return None

    def label(name: str) -> Callable[[HTTPServerRequest], None]:
        return lambda request: answer(request, name)

    router = RuleRouter(
        [
            Rule(PathMatches("/api/.*"), RuleRouter([("/api/one", label("api-one"))])),
            Rule(AnyMatches(), [("/listed", label("listed"))]),
            Rule(AnyMatches(), PrefixRouter()),
            Rule(AnyMatches(), label("fallback")),
        ]
    )
    responses = serve(
        router, [("/api/one", {}), ("/api/two", {}), ("/listed", {}), ("/custom/z", {})]
    )
    assert [text(r) for r in responses] == ["api-one", "fallback", "listed", "delegate /custom/z 0"]


def test_host_matching_through_the_server() -> None:
    router = RuleRouter(
        [
            Rule(HostMatches(r"a\.example"), [("/", lambda r: answer(r, "site a"))]),
            Rule(HostMatches(r"b\.example"), lambda r: answer(r, "site b")),
        ]
    )
    a, b, none = serve(
        router,
        [
            ("/", {"headers": {"Host": "a.example"}}),
            ("/", {"headers": {"Host": "b.example:81"}}),
            ("/", {"headers": {"Host": "c.example"}}),
        ],
    )
    assert (text(a), text(b), none.code) == ("site a", "site b", 404)


def test_unmatched_request_gets_404_and_connection_stays_usable() -> None:
    router = RuleRouter([("/only", lambda r: answer(r, "yes"))])
    missing, posted, found = serve(
        router, [("/nope", {}), ("/nope", {"method": "POST", "body": "x" * 1000}), ("/only", {})]
    )
    assert missing.code == 404 and posted.code == 404
    assert (found.code, text(found)) == (200, "yes")


def test_path_escapes_round_trip_through_the_server() -> None:
    router = ReversibleRuleRouter([Rule(PathMatches(r"/echo/(.+)"), None, name="echo")])

    def echo(request: HTTPServerRequest, path_args: list[bytes], path_kwargs: Any) -> None:
        answer(request, path_args[0].decode())

    router.rules[0].target = echo
    url = router.reverse_url("echo", "sp ace/slash+plus&é")
    assert url is not None
    (response,) = serve(router, [(url, {})])
    assert text(response) == "sp ace/slash+plus&é"


def test_reversible_router_serves_like_a_rule_router() -> None:
    router = ReversibleRuleRouter([("/r", lambda r: answer(r, "r"), None, "r")])
    (response,) = serve(router, [("/r", {})])
    assert text(response) == "r"
    assert router.reverse_url("r") == "/r"
