"""squall.web._signing: signed values in Tornado's v1 and v2 formats.

Unit tests pin every acceptance rule; the ``tornado_web`` tests check byte
compatibility with an installed Tornado, used as a black box, in both
directions. They skip when Tornado is absent, except under ``CI`` (whose tox
env installs it from the test dependency group), where they must run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from squall.web import _signing
from squall.web._signing import (
    DEFAULT_SIGNED_VALUE_MIN_VERSION,
    DEFAULT_SIGNED_VALUE_VERSION,
    MAX_SUPPORTED_SIGNED_VALUE_VERSION,
    MIN_SUPPORTED_SIGNED_VALUE_VERSION,
    create_signed_value,
    decode_signed_value,
    get_signature_key_version,
)

NOW = 1300000000
DAY = 86400


def at(seconds: float) -> Callable[[], float]:
    return lambda: seconds


def sign_v2(secret: bytes, signed_part: bytes) -> bytes:
    """A hand-built v2 value: lets tests forge well-signed but odd framings."""
    return signed_part + hmac.new(secret, signed_part, hashlib.sha256).hexdigest().encode()


def sign_v1(secret: bytes, name: bytes, payload: bytes, stamp: bytes) -> bytes:
    digest = hmac.new(secret, name + payload + stamp, hashlib.sha1).hexdigest().encode()
    return b"|".join([payload, stamp, digest])


def decode(value: Any, secret: Any = "s", name: str = "n", **kwargs: Any) -> bytes | None:
    kwargs.setdefault("clock", at(NOW))
    return decode_signed_value(secret, name, value, **kwargs)


# --- constants and exact formats ------------------------------------------------


def test_version_constants() -> None:
    assert MIN_SUPPORTED_SIGNED_VALUE_VERSION == 1
    assert MAX_SUPPORTED_SIGNED_VALUE_VERSION == 2
    assert DEFAULT_SIGNED_VALUE_VERSION == 2
    assert DEFAULT_SIGNED_VALUE_MIN_VERSION == 1


# Outputs observed from Tornado 6.6.1 for the same inputs.
KNOWN = [
    (
        dict(secret="secret", name="name", value="value"),
        b"2|1:0|10:1300000000|4:name|8:dmFsdWU=|"
        b"dde970934c3dca1ee18c228683b8f88369d856f5b9b7f0fd5eab44aa165210bd",
    ),
    (
        dict(secret="secret", name="name", value="value", version=1),
        b"dmFsdWU=|1300000000|9e7727150808365bebff0a6404df2acfefd24d51",
    ),
    (
        dict(secret="secret", name="name", value=b"\x00\xff hi|there"),
        b"2|1:0|10:1300000000|4:name|16:AP8gaGl8dGhlcmU=|"
        b"5d23f38828465ba39132ebb0acb213fe2ff385888b6ed3531794556f44152ec2",
    ),
    (
        dict(secret={0: "a", 1: "b", 7: "c"}, name="name", value="value", key_version=7),
        b"2|1:7|10:1300000000|4:name|8:dmFsdWU=|"
        b"f482e5b3d802d48376580807c7bf3c8ecfe8e69ad3702e274649cd82b79607b4",
    ),
    (
        dict(secret={0: "a", 1: "b", 7: "c"}, name="name", value="value", key_version=0),
        b"2|1:0|10:1300000000|4:name|8:dmFsdWU=|"
        b"bcd49e2b9ce2cd8381a13c7c0b8c6572017838df902ee208cca3415513f9ad2d",
    ),
    (
        dict(secret="secret", name="", value=""),
        b"2|1:0|10:1300000000|0:|0:|"
        b"70a8bdaf08002691b9247fe0accfbac083c9cfbc20a63a3463629c14dd8e7a74",
    ),
    (
        dict(secret="s", name="n", value="v", key_version=1),
        b"2|1:1|10:1300000000|1:n|4:dg==|"
        b"d32ebd999be86cebfe1516e5bdc797cf637cc359f7b60de7d8237ce75c6f9113",
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), KNOWN)
def test_create_matches_tornado_bytes(kwargs: dict[str, Any], expected: bytes) -> None:
    # The clock's fraction is dropped, not rounded.
    assert create_signed_value(clock=at(NOW + 0.9), **kwargs) == expected


@pytest.mark.parametrize(("kwargs", "expected"), KNOWN)
def test_decode_known_values(kwargs: dict[str, Any], expected: bytes) -> None:
    value = kwargs["value"]
    payload = value.encode() if isinstance(value, str) else value
    assert decode(expected, kwargs["secret"], kwargs["name"]) == payload


def test_non_ascii_name_is_measured_in_bytes() -> None:
    # Tornado's writer counts characters here, which its own reader then
    # refuses; we count bytes, which both readers accept.
    value = create_signed_value(b"secret", "n\u00e9", "v\u00e9", clock=at(NOW))
    assert value.startswith(b"2|1:0|10:1300000000|3:n\xc3\xa9|4:dsOp|")
    assert decode(value, b"secret", "n\u00e9") == "v\u00e9".encode()


def test_v2_signature_covers_everything_before_it() -> None:
    value = create_signed_value("k", "n", "x", clock=at(NOW))
    signed_part, _, signature = value.rpartition(b"|")
    expected = hmac.new(b"k", signed_part + b"|", hashlib.sha256).hexdigest()
    assert signature == expected.encode()


def test_create_uses_the_real_clock_by_default() -> None:
    import time

    before = int(time.time())
    value = create_signed_value("k", "n", "x")
    stamp = int(value.split(b"|")[2].split(b":")[1])
    assert before <= stamp <= int(time.time())
    assert decode_signed_value("k", "n", value) == b"x"


# --- round trips ------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("secret", ["text secret", b"\x00bytes\xff secret"])
@pytest.mark.parametrize("value", ["", "plain", "caf\u00e9 | pipes | 2|", b"\x00\x01\xfe\xff" * 50])
def test_round_trip(version: int, secret: str | bytes, value: str | bytes) -> None:
    signed = create_signed_value(secret, "cookie", value, version=version, clock=at(NOW))
    payload = value.encode() if isinstance(value, str) else value
    assert decode(signed, secret, "cookie") == payload
    assert decode(signed.decode("latin-1"), secret, "cookie") == payload


def test_decode_accepts_str_value() -> None:
    signed = create_signed_value("s", "n", "val", clock=at(NOW))
    assert decode(signed.decode()) == b"val"


def test_default_version_is_2() -> None:
    assert create_signed_value("s", "n", "v", clock=at(NOW)).startswith(b"2|")


# --- key versions and rotation ------------------------------------------------------


def test_key_rotation_decodes_with_the_named_key() -> None:
    keys = {0: "old", 1: b"new"}
    old = create_signed_value(keys, "n", "a", key_version=0, clock=at(NOW))
    new = create_signed_value(keys, "n", "b", key_version=1, clock=at(NOW))
    assert get_signature_key_version(old) == 0
    assert get_signature_key_version(new) == 1
    assert decode(old, keys) == b"a"
    assert decode(new, keys) == b"b"
    # Once the old key is retired its values stop verifying.
    assert decode(old, {1: "new"}) is None
    # The key really is the one named: swap the keys and nothing verifies.
    assert decode(new, {0: "new", 1: "old"}) is None


def test_single_secret_ignores_key_version() -> None:
    value = create_signed_value({3: "a"}, "n", "v", key_version=3, clock=at(NOW))
    assert decode(value, "a") == b"v"
    assert decode(value, b"a") == b"v"
    assert decode(value, {4: "a"}) is None


def test_dict_secret_requires_key_version() -> None:
    with pytest.raises(ValueError, match="key_version"):
        create_signed_value({0: "a"}, "n", "v")


def test_unknown_key_version_raises_on_create() -> None:
    with pytest.raises(KeyError):
        create_signed_value({0: "a"}, "n", "v", key_version=1)


def test_dict_secret_cannot_write_version_1() -> None:
    with pytest.raises(ValueError, match="version 1"):
        create_signed_value({0: "a"}, "n", "v", version=1, key_version=0)


def test_dict_secret_refuses_version_1_values() -> None:
    v1 = create_signed_value("s", "n", "v", version=1, clock=at(NOW))
    assert decode(v1, {0: "s"}) is None


@pytest.mark.parametrize("version", [0, 3, -1])
def test_unsupported_version_raises(version: int) -> None:
    with pytest.raises(ValueError, match=f"Unsupported version {version}"):
        create_signed_value("s", "n", "v", version=version)


def test_bad_value_type_raises() -> None:
    with pytest.raises(TypeError):
        create_signed_value("s", "n", 123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"2|1:7|10:1300000000|1:n|4:dmFs|xx", 7),
        ("2|1:5|10:1300000000|1:n|4:dmFs|sig", 5),
        (b"2|2:12|10:1300000000|1:n|4:dmFs|", 12),
        (b"2|1:0|10:1300000000|1:n|4:dmFs|", 0),
        (b"dmFs|1300000000|abc", None),
        (b"2|1:x|10:1300000000|1:n|4:dmFs|", None),
        (b"2|0:|10:1300000000|1:n|4:dmFs|", None),
        (b"3|1:7|10:1300000000|1:n|4:dmFs|", None),
        (b"2|1:5|10:1300000000|1:n|", None),
        (b"2|1:5|10:1|", None),
        (b"2|1:0", None),
        (b"", None),
    ],
)
def test_get_signature_key_version(value: bytes | str, expected: int | None) -> None:
    assert get_signature_key_version(value) == expected


# --- time ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_expiry_boundary(version: int) -> None:
    value = create_signed_value("s", "n", "v", version=version, clock=at(NOW))
    assert decode(value, clock=at(NOW + 31 * DAY)) == b"v"
    assert decode(value, clock=at(NOW + 31 * DAY + 1)) is None
    assert decode(value, clock=at(NOW + 2 * DAY), max_age_days=2) == b"v"
    assert decode(value, clock=at(NOW + 2 * DAY + 1), max_age_days=2) is None


@pytest.mark.parametrize("version", [1, 2])
def test_max_age_days_may_be_fractional(version: int) -> None:
    value = create_signed_value("s", "n", "v", version=version, clock=at(NOW))
    later = at(NOW + DAY // 2)
    assert decode(value, clock=later, max_age_days=0.6) == b"v"
    assert decode(value, clock=later, max_age_days=0.4) is None


@pytest.mark.parametrize("version", [1, 2])
def test_future_dated_values_refused(version: int) -> None:
    value = create_signed_value("s", "n", "v", version=version, clock=at(NOW))
    assert decode(value, clock=at(NOW - 31 * DAY)) == b"v"
    assert decode(value, clock=at(NOW - 31 * DAY - 1)) is None


def test_v2_timestamp_may_have_leading_zeros() -> None:
    # Length prefixes make this unambiguous, and Tornado accepts it.
    value = sign_v2(b"s", b"2|1:0|11:01300000000|1:n|4:dmFs|")
    assert decode(value) == b"val"


def test_v1_timestamp_with_leading_zero_refused() -> None:
    # Without length prefixes a leading zero would let digits shift between fields.
    assert decode(sign_v1(b"s", b"n", b"dmFs", b"01300000000")) is None
    assert decode(sign_v1(b"s", b"n", b"dmFs", b"1300000000")) == b"val"


# --- min_version ----------------------------------------------------------------------


def test_min_version() -> None:
    v1 = create_signed_value("s", "n", "v", version=1, clock=at(NOW))
    v2 = create_signed_value("s", "n", "v", clock=at(NOW))
    assert decode(v1) == b"v"
    assert decode(v1, min_version=1) == b"v"
    assert decode(v1, min_version=2) is None
    assert decode(v2, min_version=2) == b"v"


def test_min_version_above_supported_raises() -> None:
    with pytest.raises(ValueError, match="Unsupported min_version 3"):
        decode(b"anything", min_version=3)


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_wrong_name_or_secret_refused(version: int) -> None:
    value = create_signed_value("s", "n", "v", version=version, clock=at(NOW))
    assert decode(value, name="m") is None
    assert decode(value, secret="t") is None
    assert decode(value, secret=b"s ") is None


@pytest.mark.parametrize("version", [1, 2])
def test_every_single_byte_tamper_refused(version: int) -> None:
    value = create_signed_value("s", "n", "payload", version=version, clock=at(NOW))
    for i in range(len(value)):
        for replacement in (b"0", b"A", b"|"):
            if value[i : i + 1] == replacement:
                continue
            forged = value[:i] + replacement + value[i + 1 :]
            assert decode(forged) is None, forged


@pytest.mark.parametrize("version", [1, 2])
def test_truncated_or_extended_refused(version: int) -> None:
    value = create_signed_value("s", "n", "payload", version=version, clock=at(NOW))
    for end in range(len(value)):
        assert decode(value[:end]) is None
    assert decode(value + b"0") is None
    assert decode(value + b"\n") is None
    assert decode(value.upper()) is None


def test_name_with_pipe_is_framed_not_split() -> None:
    forged = sign_v2(b"s", b"2|1:0|10:1300000000|3:n|x|4:dmFs|")
    assert decode(forged, name="n|x") == b"val"
    assert decode(forged, name="n") is None


@pytest.mark.parametrize(
    "signed_part",
    [
        b"2|1:0|10:1300000000|2:n|4:dmFs|",  # length too long
        b"2|1:0|10:1300000000|1:n|3:dmFs|",  # length too short
        b"2|1:0|10:1300000000|1:n|4:dmFs",  # no trailing bar
        b"2|1:0|10:1300000000|1:n|4:dm|s|",  # bar inside the payload
        b"2|1:0|10:1300000000|1:n|4:dm!s|",  # not base64
        b"2|1:0|10:1300000000|1:n|3:dmF|",  # base64 without its padding
        b"2|1:x|10:1300000000|1:n|4:dmFs|",  # non-numeric key version
        b"2|1:0|10:13000x0000|1:n|4:dmFs|",  # non-numeric timestamp
        b"2|1:0|3:-10|1:n|4:dmFs|",  # negative timestamp
        b"2|+1:0|10:1300000000|1:n|4:dmFs|",  # signed length
        b"2| 1:0|10:1300000000|1:n|4:dmFs|",  # spaced length
        b"2|1:0|10:1300000000||1:n|4:dmFs|",  # empty field
        b"2|" + b"9" * 5000 + b":0|10:1300000000|1:n|4:dmFs|",  # absurd length
        b"2|1:0|5000:" + b"1" * 5000 + b"|1:n|4:dmFs|",  # absurd timestamp
        b"3|1:0|10:1300000000|1:n|4:dmFs|",  # unknown version
        b"1|1:0|10:1300000000|1:n|4:dmFs|",  # no such prefix for version 1
        b"0|1:0|10:1300000000|1:n|4:dmFs|",
        b"02|1:0|10:1300000000|1:n|4:dmFs|",
    ],
)
def test_well_signed_but_malformed_v2_refused(signed_part: bytes) -> None:
    assert decode(sign_v2(b"s", signed_part)) is None


@pytest.mark.parametrize(
    "value",
    [
        sign_v1(b"s", b"n", b"dmFs", b"13000x0000"),
        sign_v1(b"s", b"n", b"dm!s", b"1300000000"),
        sign_v1(b"s", b"n", b"dmFs", b"1300000000.5"),
        sign_v1(b"s", b"n", b"dmFs", b""),
        sign_v1(b"s", b"n", b"dmFs", b"9" * 5000),
        sign_v1(b"s", b"n", b"dmFs", b"1300000000") + b"|x",
        b"1|" + sign_v1(b"s", b"n", b"dmFs", b"1300000000"),
    ],
)
def test_well_signed_but_malformed_v1_refused(value: bytes) -> None:
    assert decode(value) is None


def test_v1_payload_of_digits_is_still_version_1() -> None:
    # "1234" is base64 for 3 bytes; it must not be read as a format number.
    value = sign_v1(b"s", b"n", b"1234", b"1300000000")
    assert decode(value) == base64.b64decode(b"1234")
    empty = sign_v1(b"s", b"n", b"", b"1300000000")
    assert decode(empty) == b""


@pytest.mark.parametrize(
    "value",
    [None, "", b"", b"hello", b"||", b"2|", b"|", "2|\u00e9", b"2|1:0|10:1", b"\xff\xfe|x|y"],
)
def test_garbage_refused(value: Any) -> None:
    assert decode(value) is None


def test_signatures_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_signing.hmac, "compare_digest", spy)
    for version in (1, 2):
        value = create_signed_value("s", "n", "v", version=version, clock=at(NOW))
        assert decode(value) == b"v"
        assert decode(value[:-1] + b"0" if value[-1:] != b"0" else value[:-1] + b"1") is None
    assert len(calls) == 4


# --- cross-compatibility with Tornado, as a black box -------------------------------------


@pytest.fixture(scope="module")
def tornado_web() -> ModuleType:
    if os.environ.get("CI"):
        import tornado.web

        return tornado.web
    return pytest.importorskip("tornado.web")


CASES: list[dict[str, Any]] = [
    dict(secret="secret", name="session", value="alice"),
    dict(secret=b"\x00\xffbinary", name="session", value=b"\x00\x01\xff"),
    dict(secret="s", name="cafe", value="\u2603 snow | man", version=2),
    dict(secret="s", name="user", value="bob", version=1),
    dict(secret="s", name="user", value=b"", version=1),
    dict(secret={0: "zero", 5: b"five"}, name="user", value="carol", key_version=5),
    dict(secret={0: "zero", 5: b"five"}, name="user", value="carol", key_version=0),
    dict(secret="plain", name="user", value="dave", key_version=9),
]


@pytest.mark.parametrize("case", CASES)
def test_same_bytes_as_tornado(tornado_web: ModuleType, case: dict[str, Any]) -> None:
    ours = create_signed_value(clock=at(NOW + 0.5), **case)
    theirs = tornado_web.create_signed_value(clock=at(NOW + 0.5), **case)
    assert ours == theirs


@pytest.mark.parametrize("case", CASES)
def test_tornado_reads_ours(tornado_web: ModuleType, case: dict[str, Any]) -> None:
    ours = create_signed_value(clock=at(NOW), **case)
    value = case["value"]
    payload = value.encode() if isinstance(value, str) else value
    secret, name = case["secret"], case["name"]
    assert tornado_web.decode_signed_value(secret, name, ours, clock=at(NOW + DAY)) == payload
    assert tornado_web.get_signature_key_version(ours) == get_signature_key_version(ours)
    # And Tornado refuses what we refuse when the value is tampered with.
    tampered = ours[:-1] + (b"0" if ours[-1:] != b"0" else b"1")
    assert tornado_web.decode_signed_value(secret, name, tampered, clock=at(NOW)) is None


@pytest.mark.parametrize("case", CASES)
def test_we_read_tornados(tornado_web: ModuleType, case: dict[str, Any]) -> None:
    theirs = tornado_web.create_signed_value(clock=at(NOW), **case)
    value = case["value"]
    payload = value.encode() if isinstance(value, str) else value
    secret, name = case["secret"], case["name"]
    assert decode(theirs, secret, name, clock=at(NOW + DAY)) == payload
    assert decode(theirs, secret, name, clock=at(NOW + 32 * DAY)) is None
    assert decode(theirs, secret, name + "x") is None
    assert get_signature_key_version(theirs) == tornado_web.get_signature_key_version(theirs)


def test_tornado_reads_our_non_ascii_names(tornado_web: ModuleType) -> None:
    ours = create_signed_value("k", "caf\u00e9", "v", clock=at(NOW))
    assert tornado_web.decode_signed_value("k", "caf\u00e9", ours, clock=at(NOW)) == b"v"


def test_we_read_tornados_with_real_clock(tornado_web: ModuleType) -> None:
    theirs = tornado_web.create_signed_value("k", "n", "now")
    assert decode_signed_value("k", "n", theirs) == b"now"
    ours = create_signed_value("k", "n", "now")
    assert tornado_web.decode_signed_value("k", "n", ours) == b"now"
