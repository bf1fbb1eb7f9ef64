"""squall.websocket._handshake and the negotiation half of _deflate: header values in, verdicts out."""

from __future__ import annotations

import base64

import pytest
from squall.httputil import HTTPHeaders
from squall.websocket._deflate import (
    DeflateParams,
    ExtensionError,
    client_confirm,
    client_offer,
    parse_extensions,
    server_accept,
)
from squall.websocket._handshake import (
    accept_key,
    check_upgrade_request,
    check_upgrade_response,
    has_token,
    new_client_key,
    parse_subprotocols,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def upgrade_headers(**changes: str | None) -> HTTPHeaders:
    fields = {
        "Host": "example",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return HTTPHeaders(fields)


def test_accept_key_of_rfc_example() -> None:
    # RFC 6455 section 1.3.
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_valid_upgrade() -> None:
    assert check_upgrade_request("GET", upgrade_headers()) is None
    assert check_upgrade_request("GET", upgrade_headers(Connection="keep-alive, Upgrade")) is None
    assert check_upgrade_request("GET", upgrade_headers(Upgrade="WebSocket")) is None


@pytest.mark.parametrize(
    ("method", "changes", "status", "message"),
    [
        ("POST", {}, 405, None),
        ("GET", {"Upgrade": None}, 400, 'Can "Upgrade" only to "WebSocket".'),
        ("GET", {"Upgrade": "h2c"}, 400, 'Can "Upgrade" only to "WebSocket".'),
        ("GET", {"Connection": "keep-alive"}, 400, '"Connection" must be "Upgrade".'),
        ("GET", {"Connection": None}, 400, '"Connection" must be "Upgrade".'),
        ("GET", {"Sec-WebSocket-Version": "8"}, 426, ""),
        ("GET", {"Sec-WebSocket-Version": None}, 426, ""),
        ("GET", {"Sec-WebSocket-Key": None}, 400, "Missing/Invalid WebSocket headers"),
        ("GET", {"Sec-WebSocket-Key": "abc"}, 400, "Missing/Invalid WebSocket headers"),
        ("GET", {"Sec-WebSocket-Key": "!" * 24}, 400, "Missing/Invalid WebSocket headers"),
        (
            "GET",
            {"Sec-WebSocket-Key": base64.b64encode(b"x" * 15).decode() + "AAAA"},
            400,
            "Missing/Invalid WebSocket headers",
        ),
    ],
)
def test_refusals(
    method: str, changes: dict[str, str | None], status: int, message: str | None
) -> None:
    refusal = check_upgrade_request(method, upgrade_headers(**changes))
    assert refusal is not None
    assert refusal.status == status
    if message is not None:
        assert refusal.message == message


def test_version_refusal_names_version_13() -> None:
    refusal = check_upgrade_request("GET", upgrade_headers(Sec_WebSocket_Version="7"))
    assert refusal is not None and ("Sec-WebSocket-Version", "13") in refusal.headers


def test_tokens_and_subprotocols() -> None:
    assert has_token("keep-alive, UPGRADE", "upgrade")
    assert not has_token("upgraded", "upgrade")
    assert not has_token(None, "upgrade")
    assert parse_subprotocols(" a , b,,c ") == ["a", "b", "c"]
    assert parse_subprotocols(None) == []
    assert parse_subprotocols("") == []


def test_client_key_and_response_check() -> None:
    key = new_client_key()
    assert len(base64.b64decode(key)) == 16
    assert new_client_key() != key
    good = HTTPHeaders(
        {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept_key(key)}
    )
    assert check_upgrade_response(key, 101, good) is None
    assert check_upgrade_response(key, 200, good) is not None
    wrong = HTTPHeaders(good)
    wrong["Sec-WebSocket-Accept"] = accept_key(KEY)
    assert "Accept" in (check_upgrade_response(key, 101, wrong) or "")
    no_upgrade = HTTPHeaders(good)
    del no_upgrade["Upgrade"]
    assert check_upgrade_response(key, 101, no_upgrade) is not None
    picked = HTTPHeaders(good)
    picked["Sec-WebSocket-Protocol"] = "chat"
    assert check_upgrade_response(key, 101, picked, ["chat"]) is None
    assert check_upgrade_response(key, 101, picked, ["other"]) is not None


# -- permessage-deflate negotiation ---------------------------------------------------------


def test_parse_extensions() -> None:
    assert parse_extensions('foo; a=1; b, Permessage-Deflate; x="12"') == [
        ("foo", [("a", "1"), ("b", None)]),
        ("permessage-deflate", [("x", "12")]),
    ]
    assert parse_extensions(None) == []


@pytest.mark.parametrize(
    ("offer", "agreed", "answer"),
    [
        ("permessage-deflate", DeflateParams(), "permessage-deflate"),
        (
            "permessage-deflate; client_max_window_bits",
            DeflateParams(),
            "permessage-deflate",
        ),
        (
            "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
            DeflateParams(client_no_context_takeover=True, server_max_window_bits=10),
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
        ),
        (
            'permessage-deflate; server_no_context_takeover; client_max_window_bits="9"',
            DeflateParams(server_no_context_takeover=True, client_max_window_bits=9),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
        ),
        # A bad first offer is declined, the next one accepted.
        (
            "permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=12",
            DeflateParams(server_max_window_bits=12),
            "permessage-deflate; server_max_window_bits=12",
        ),
        ("x-webkit-deflate-frame, permessage-deflate", DeflateParams(), "permessage-deflate"),
    ],
)
def test_server_accepts(offer: str, agreed: DeflateParams, answer: str) -> None:
    params = server_accept(offer)
    assert params == agreed
    assert params.header_value() == answer


@pytest.mark.parametrize(
    "offer",
    [
        None,
        "",
        "x-webkit-deflate-frame",
        "permessage-deflate; unknown",
        "permessage-deflate; server_max_window_bits",  # needs a value in an offer
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11",
    ],
)
def test_server_declines(offer: str | None) -> None:
    assert server_accept(offer) is None


def test_client_offer_and_confirm() -> None:
    assert server_accept(client_offer()) == DeflateParams()
    assert client_confirm(None) is None
    assert client_confirm("") is None
    assert client_confirm("permessage-deflate") == DeflateParams()
    assert client_confirm(
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=11"
    ) == DeflateParams(server_no_context_takeover=True, client_max_window_bits=11)


@pytest.mark.parametrize(
    "answer",
    [
        "x-other",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate; bogus",
        "permessage-deflate; client_max_window_bits",  # an answer needs a value
        "permessage-deflate; server_max_window_bits=20",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    ],
)
def test_client_rejects_bad_answers(answer: str) -> None:
    with pytest.raises(ExtensionError):
        client_confirm(answer)
