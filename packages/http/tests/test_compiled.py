"""The compiled build (squall-http's mypyc hook) behaves as the Python source does.

Under tox's ``compiled`` factor (``SQUALL_EXPECT_COMPILED=1``) the codec and
the header map must be the C extensions; everywhere the things the compiled
classes allow for are checked: Python subclasses of :class:`HTTPHeaders` and
:class:`H1Reader`, copies and pickles.
"""

from __future__ import annotations

import copy
import os
import pickle

import pytest
from squall.http1connection import _codec, _parsers
from squall.http1connection._codec import H1Reader
from squall.http1connection._events import Head
from squall.httputil import HTTPHeaders, _headers


@pytest.mark.skipif(not os.environ.get("SQUALL_EXPECT_COMPILED"), reason="not the compiled build")
def test_the_compiled_modules_are_in_use() -> None:
    for module in (_codec, _headers):
        assert not str(module.__file__).endswith(".py"), module.__file__
    assert _parsers.COMPILED
    assert _parsers.reader_class("auto") is H1Reader


def test_compiled_flag_matches_the_module_file() -> None:
    assert _parsers.COMPILED is (not str(_codec.__file__).endswith(".py"))


class _Tagged(HTTPHeaders):
    """A Python subclass, as squall.websocket and applications make."""

    tag = "mine"

    def add(self, name: str, value: str) -> None:
        super().add(name, value.upper())


def test_headers_subclass_copy_and_pickle() -> None:
    headers = _Tagged()
    headers.add("X-One", "a")
    headers.add("x-one", "b")
    assert headers.get_list("X-One") == ["A", "B"]
    twin = copy.copy(headers)
    assert type(twin) is _Tagged and twin.get_list("x-one") == ["A", "B"]
    plain = HTTPHeaders({"Content-Type": "text/plain"})
    plain.add("Set-Cookie", "a=1")
    plain.add("Set-Cookie", "b=2")
    for made in (copy.copy(plain), copy.deepcopy(plain), pickle.loads(pickle.dumps(plain))):
        assert made == plain and made.get_list("Set-Cookie") == ["a=1", "b=2"]


class _Counting(H1Reader):
    """A Python subclass of the reader (LlhttpReader is one)."""

    def __init__(self) -> None:
        super().__init__(client=False)
        self.fed = 0

    def feed(self, data: bytes) -> None:
        self.fed += len(data)
        super().feed(data)


def test_reader_subclass_overrides_are_called() -> None:
    reader = _Counting()
    reader.feed(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    event = reader.next_event()
    assert isinstance(event, Head) and event.start_line.path == "/x"
    assert reader.fed == 28
