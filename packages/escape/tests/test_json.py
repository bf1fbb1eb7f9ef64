"""Tests for squall.escape.json_encode and json_decode."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from squall.escape import json_decode, json_encode


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("</script>", '"<\\/script>"'),
        (
            {"a": "</b>", "\u00e9": [1, 2.5, None, True]},
            '{"a": "<\\/b>", "\\u00e9": [1, 2.5, null, true]}',
        ),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        ("<!--", '"<!--"'),
        ("<\\/", '"<\\\\/"'),
        ((1, 2), "[1, 2]"),
        ([], "[]"),
        (None, "null"),
    ],
)
def test_json_encode(value: Any, expected: str) -> None:
    assert json_encode(value) == expected


def test_json_encode_never_emits_closing_tag() -> None:
    assert "</" not in json_encode({"</script>": ["</", "x</y"]})


def test_json_encode_nan_like_stdlib() -> None:
    assert json_encode(float("nan")) == "NaN"


def test_json_encode_rejects_bytes() -> None:
    with pytest.raises(TypeError):
        json_encode(b"x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        (b'[1, "\\u00e9"]', [1, "\u00e9"]),
        ('"<\\/"', "</"),
        (b"\xef\xbb\xbf{}", {}),
        (b'{"a":"\xc3\xa9"}', {"a": "\u00e9"}),
        ('"\\u2028"', "\u2028"),
    ],
)
def test_json_decode(value: str | bytes, expected: Any) -> None:
    assert json_decode(value) == expected


def test_json_decode_utf16_bytes() -> None:
    assert json_decode('{"a": "\u00e9"}'.encode("utf-16")) == {"a": "\u00e9"}


def test_json_decode_nan() -> None:
    assert math.isnan(json_decode("NaN"))


@pytest.mark.parametrize("bad", ["", "nan", "{", b"\xff", "\ufeff{}"])
def test_json_decode_errors_are_value_errors(bad: str | bytes) -> None:
    with pytest.raises(ValueError):
        json_decode(bad)


def test_json_decode_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        json_decode(1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        {"html": "</script><script>alert(1)</script>"},
        ["\u00e9", 1, 2.5, None, False],
        "</",
        {"nested": {"x": ["</a>"]}},
    ],
)
def test_json_round_trip(value: Any) -> None:
    encoded = json_encode(value)
    assert json_decode(encoded) == value
    assert json_decode(encoded.encode()) == value
    assert json.loads(encoded) == value
