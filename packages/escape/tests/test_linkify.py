"""Tests for squall.escape.linkify.

The expected strings in LINKIFY_CASES were obtained by running Tornado 6.6's
``tornado.escape.linkify`` on the same input (as a black box); they are
hardcoded so that this suite never imports Tornado.
"""

from __future__ import annotations

from typing import Any

import pytest
from squall.escape import linkify

LINKIFY_CASES: list[tuple[str | bytes, dict[str, Any], str]] = [
    (
        "hello http://world.com/!",
        {},
        'hello <a href="http://world.com/">http://world.com/</a>!',
    ),
    (
        "hello http://world.com/with?param=true&stuff=yes",
        {},
        'hello <a href="http://world.com/with?param=true&amp;stuff=yes">http://world.com/with?param=true&amp;stuff=yes</a>',
    ),
    (
        "http://url.com/w(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        {},
        '<a href="http://url.com/w">http://url.com/w</a>(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    ),
    (
        "http://url.com/withmany.......................................",
        {},
        '<a href="http://url.com/withmany">http://url.com/withmany</a>.......................................',
    ),
    (
        "http://url.com/withmany((((((((((((((((((((((((((((((((((a)",
        {},
        '<a href="http://url.com/withmany">http://url.com/withmany</a>((((((((((((((((((((((((((((((((((a)',
    ),
    (
        "http://foo.com/blah_blah/",
        {},
        '<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>',
    ),
    (
        "(Something like http://foo.com/blah_blah)",
        {},
        '(Something like <a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>)',
    ),
    (
        "http://foo.com/blah_(blah)_(wikipedia)_blah",
        {},
        '<a href="http://foo.com/blah_(blah)_(wikipedia)_blah">http://foo.com/blah_(blah)_(wikipedia)_blah</a>',
    ),
    (
        "(Something like http://foo.com/blah_blah_(wikipedia))",
        {},
        '(Something like <a href="http://foo.com/blah_blah_(wikipedia)">http://foo.com/blah_blah_(wikipedia)</a>)',
    ),
    (
        "http://foo.com/blah_blah.",
        {},
        '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>.',
    ),
    (
        "<http://foo.com/blah_blah>",
        {},
        '&lt;<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>&gt;',
    ),
    (
        "http://www.example.com/wpstyle/?p=364.",
        {},
        '<a href="http://www.example.com/wpstyle/?p=364">http://www.example.com/wpstyle/?p=364</a>.',
    ),
    (
        "rdar://1234",
        {"permitted_protocols": ["http", "rdar"]},
        '<a href="rdar://1234">rdar://1234</a>',
    ),
    (
        "rdar:/1234",
        {"permitted_protocols": ["rdar"]},
        '<a href="rdar:/1234">rdar:/1234</a>',
    ),
    (
        "http://userid:password@example.com:8080",
        {},
        '<a href="http://userid:password@example.com:8080">http://userid:password@example.com:8080</a>',
    ),
    (
        "message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e",
        {"permitted_protocols": ["http", "message"]},
        '<a href="message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e">message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e</a>',
    ),
    (
        "http://➡.ws/䨹",
        {},
        '<a href="http://➡.ws/䨹">http://➡.ws/䨹</a>',
    ),
    (
        "<tag>http://example.com</tag>",
        {},
        '&lt;tag&gt;<a href="http://example.com">http://example.com</a>&lt;/tag&gt;',
    ),
    (
        "Just a www.example.com link.",
        {},
        'Just a <a href="http://www.example.com">www.example.com</a> link.',
    ),
    (
        "Just a www.example.com link.",
        {"require_protocol": True},
        "Just a www.example.com link.",
    ),
    (
        "A http://reallylong.com/link/that/exceedsthelenglimit.html",
        {"require_protocol": True, "shorten": True},
        'A <a href="http://reallylong.com/link/that/exceedsthelenglimit.html" title="http://reallylong.com/link/that/exceedsthelenglimit.html">http://reallylong.com/link...</a>',
    ),
    (
        "A http://reallylongdomainnamethatwillbetoolong.com/hi!",
        {"shorten": True},
        'A <a href="http://reallylongdomainnamethatwillbetoolong.com/hi" title="http://reallylongdomainnamethatwillbetoolong.com/hi">http://reallylongdomainnametha...</a>!',
    ),
    (
        "A file:///passwords.txt and http://web.com link",
        {},
        'A file:///passwords.txt and <a href="http://web.com">http://web.com</a> link',
    ),
    (
        "A file:///passwords.txt and http://web.com link",
        {"permitted_protocols": ["file"]},
        'A <a href="file:///passwords.txt">file:///passwords.txt</a> and http://web.com link',
    ),
    (
        "www.external-link.com",
        {"extra_params": 'rel="nofollow" class="external"'},
        '<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>',
    ),
    (
        "www.external-link.com",
        {"extra_params": "   x "},
        '<a href="http://www.external-link.com" x>www.external-link.com</a>',
    ),
    (
        "http://a.com/x<y>\"z'&amp;",
        {},
        '<a href="http://a.com/x">http://a.com/x</a>&lt;y&gt;&quot;z&#x27;&amp;amp;',
    ),
    (
        'http://a.com/x"y',
        {},
        '<a href="http://a.com/x&quot;y">http://a.com/x&quot;y</a>',
    ),
    (
        "foo.com/bar",
        {},
        "foo.com/bar",
    ),
    (
        "WWW.example.com",
        {},
        "WWW.example.com",
    ),
    (
        "HTTP://EXAMPLE.COM",
        {},
        "HTTP://EXAMPLE.COM",
    ),
    (
        "HTTP://EXAMPLE.COM",
        {"permitted_protocols": ["HTTP"]},
        '<a href="HTTP://EXAMPLE.COM">HTTP://EXAMPLE.COM</a>',
    ),
    (
        "mailto:joe@example.com",
        {"permitted_protocols": ["mailto"]},
        "mailto:joe@example.com",
    ),
    (
        "x:www.example.com",
        {},
        'x:<a href="http://www.example.com">www.example.com</a>',
    ),
    (
        "javascript://alert(1)",
        {},
        "javascript://alert(1)",
    ),
    (
        "ftp://www.example.com",
        {},
        "ftp://www.example.com",
    ),
    (
        "a-http://x.com",
        {},
        "a-http://x.com",
    ),
    (
        "a.http://x.com",
        {},
        'a.<a href="http://x.com">http://x.com</a>',
    ),
    (
        "_www.x.com -www.x.com",
        {},
        '_www.x.com -<a href="http://www.x.com">www.x.com</a>',
    ),
    (
        "http:/",
        {},
        "http:/",
    ),
    (
        "http://",
        {},
        '<a href="http://">http://</a>',
    ),
    (
        "www.",
        {},
        "www.",
    ),
    (
        "www.x",
        {},
        '<a href="http://www.x">www.x</a>',
    ),
    (
        "see http://x.com/a_(b_(c))d!",
        {},
        'see <a href="http://x.com/a_">http://x.com/a_</a>(b_(c))d!',
    ),
    (
        "http://a.com/x.(a)",
        {},
        '<a href="http://a.com/x">http://a.com/x</a>.(a)',
    ),
    (
        "http://a.com/(a)b(c)d",
        {},
        '<a href="http://a.com/(a)b(c)d">http://a.com/(a)b(c)d</a>',
    ),
    (
        "http://a.com/(a&b)",
        {},
        '<a href="http://a.com/(a&amp;b)">http://a.com/(a&amp;b)</a>',
    ),
    (
        "http://a.com/x&amp;",
        {},
        '<a href="http://a.com/x&amp;amp">http://a.com/x&amp;amp</a>;',
    ),
    (
        "http://x.com/«»",
        {},
        '<a href="http://x.com/«»">http://x.com/«»</a>',
    ),
    (
        "http://a.com http://b.com\nwww.c.com",
        {},
        '<a href="http://a.com">http://a.com</a> <a href="http://b.com">http://b.com</a>\n<a href="http://www.c.com">www.c.com</a>',
    ),
    (
        "http://x.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        {"shorten": True},
        '<a href="http://x.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" title="http://x.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">http://x.com/aaaaaaaa...</a>',
    ),
    (
        "http://abcdefghijklmnopqrstuvwxyz.com/x",
        {"shorten": True},
        '<a href="http://abcdefghijklmnopqrstuvwxyz.com/x">http://abcdefghijklmnopqrstuvwxyz.com/x</a>',
    ),
    (
        "http://abcdefghijklmnopqrstuvwxyz.com/xy.z",
        {"shorten": True},
        '<a href="http://abcdefghijklmnopqrstuvwxyz.com/xy.z">http://abcdefghijklmnopqrstuvwxyz.com/xy.z</a>',
    ),
    (
        "http://abcdefghijklmnopqrstuvwxyz.com/xy.zzz",
        {"shorten": True},
        '<a href="http://abcdefghijklmnopqrstuvwxyz.com/xy.zzz" title="http://abcdefghijklmnopqrstuvwxyz.com/xy.zzz">http://abcdefghijklmnopqrstuvwxyz.com/xy...</a>',
    ),
    (
        "www.abcdefghijklmnopqrstuvwxyz0123456789.com/a",
        {"shorten": True},
        '<a href="http://www.abcdefghijklmnopqrstuvwxyz0123456789.com/a" title="http://www.abcdefghijklmnopqrstuvwxyz0123456789.com/a">www.abcdefghijklmnopqrstuvwxyz...</a>',
    ),
    (
        "www.abcdefghijklmnopqrstuvwxyz01234567890.com",
        {"shorten": True},
        '<a href="http://www.abcdefghijklmnopqrstuvwxyz01234567890.com">www.abcdefghijklmnopqrstuvwxyz01234567890.com</a>',
    ),
    (
        "https://www.x.com/a?x=1&y=2&z=333333333333333333333333333333333333333333333",
        {"shorten": True},
        '<a href="https://www.x.com/a?x=1&amp;y=2&amp;z=333333333333333333333333333333333333333333333" title="https://www.x.com/a?x=1&amp;y=2&amp;z=333333333333333333333333333333333333333333333">https://www.x.com/a...</a>',
    ),
    (
        "http://x.com/abc.def/ghijklmnopqrstuvwxyz",
        {"shorten": True},
        '<a href="http://x.com/abc.def/ghijklmnopqrstuvwxyz" title="http://x.com/abc.def/ghijklmnopqrstuvwxyz">http://x.com/abc...</a>',
    ),
    (
        "http://x.com/abc#def.ghijklmnopqrstuvwxyz",
        {"shorten": True},
        '<a href="http://x.com/abc#def.ghijklmnopqrstuvwxyz" title="http://x.com/abc#def.ghijklmnopqrstuvwxyz">http://x.com/abc#def...</a>',
    ),
    (
        "http://x.com/a&b&c&d&e&f",
        {"shorten": True},
        '<a href="http://x.com/a&amp;b&amp;c&amp;d&amp;e&amp;f" title="http://x.com/a&amp;b&amp;c&amp;d&amp;e&amp;f">http://x.com/a&amp;b&...</a>',
    ),
    (
        "http://hhhhhhhhhhhhhhhhh/a&bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        {"shorten": True},
        '<a href="http://hhhhhhhhhhhhhhhhh/a&amp;bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" title="http://hhhhhhhhhhhhhhhhh/a&amp;bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb">http://hhhhhhhhhhhhhhhhh/a...</a>',
    ),
    (
        "http://hhhhhhhhhhhhhhhhhhhhh&b/c",
        {"shorten": True},
        '<a href="http://hhhhhhhhhhhhhhhhhhhhh&amp;b/c">http://hhhhhhhhhhhhhhhhhhhhh&amp;b/c</a>',
    ),
    (
        "http://hhhhhhhhhhhhhhhhhhhhh&b/c/d",
        {"shorten": True},
        '<a href="http://hhhhhhhhhhhhhhhhhhhhh&amp;b/c/d" title="http://hhhhhhhhhhhhhhhhhhhhh&amp;b/c/d">http://hhhhhhhhhhhhhhhhhhhhh...</a>',
    ),
    (
        "http://aaaaaaaaaaaaaaaaaaa&bbbbbbbbbbbbbbbbbb",
        {"shorten": True},
        '<a href="http://aaaaaaaaaaaaaaaaaaa&amp;bbbbbbbbbbbbbbbbbb" title="http://aaaaaaaaaaaaaaaaaaa&amp;bbbbbbbbbbbbbbbbbb">http://aaaaaaaaaaaaaaaaaaa...</a>',
    ),
    (
        "http:////x.com/abcdefghijklmnopqrstuvwxyzabcdefgh",
        {"shorten": True},
        '<a href="http:////x.com/abcdefghijklmnopqrstuvwxyzabcdefgh" title="http:////x.com/abcdefghijklmnopqrstuvwxyzabcdefgh">http:////x...</a>',
    ),
    (
        "http://abcdefghijklmnopqrstuvwxyz.com/xy.zzzzzz",
        {"shorten": True, "extra_params": 'rel="x"'},
        '<a href="http://abcdefghijklmnopqrstuvwxyz.com/xy.zzzzzz" rel="x" title="http://abcdefghijklmnopqrstuvwxyz.com/xy.zzzzzz">http://abcdefghijklmnopqrstuvwxyz.com/xy...</a>',
    ),
    (
        b"bytes http://x.com/\xc3\xa9",
        {},
        'bytes <a href="http://x.com/é">http://x.com/é</a>',
    ),
    (
        "",
        {},
        "",
    ),
    (
        "a & b < c > d \" e ' f",
        {},
        "a &amp; b &lt; c &gt; d &quot; e &#x27; f",
    ),
]


@pytest.mark.parametrize(("text", "kwargs", "expected"), LINKIFY_CASES)
def test_linkify_matches_tornado(text: str | bytes, kwargs: dict[str, Any], expected: str) -> None:
    assert linkify(text, **kwargs) == expected


def test_linkify_extra_params_callable_gets_href_per_link() -> None:
    seen: list[str] = []

    def params(href: str) -> str:
        seen.append(href)
        if href.startswith("http://www.internal-link.com"):
            return 'class="internal"'
        return '  rel="nofollow" class="external"  '

    result = linkify(
        "www.external-link.com and www.internal-link.com/blogs?a=1&b=2 extra", extra_params=params
    )
    assert result == (
        '<a href="http://www.external-link.com" rel="nofollow" class="external">'
        "www.external-link.com</a> and "
        '<a href="http://www.internal-link.com/blogs?a=1&amp;b=2" class="internal">'
        "www.internal-link.com/blogs?a=1&amp;b=2</a> extra"
    )
    assert seen == [
        "http://www.external-link.com",
        "http://www.internal-link.com/blogs?a=1&amp;b=2",
    ]


def test_linkify_extra_params_callable_returning_empty_keeps_space() -> None:
    assert (
        linkify("www.a.com", extra_params=lambda href: "")
        == '<a href="http://www.a.com" >www.a.com</a>'
    )


def test_linkify_whitespace_only_extra_params_string() -> None:
    assert linkify("www.a.com", extra_params="   ") == '<a href="http://www.a.com" >www.a.com</a>'


def test_linkify_callable_not_called_for_refused_links() -> None:
    calls: list[str] = []

    def params(href: str) -> str:
        calls.append(href)
        return "x"

    result = linkify(
        "ftp://a.com www.b.com http://c.com", extra_params=params, require_protocol=True
    )
    assert result == 'ftp://a.com www.b.com <a href="http://c.com" x>http://c.com</a>'
    assert calls == ["http://c.com"]


def test_linkify_title_comes_after_extra_params_from_callable() -> None:
    url = "http://example.com/" + "a" * 40
    result = linkify(url, shorten=True, extra_params=lambda href: 'rel="x"')
    assert result == f'<a href="{url}" rel="x" title="{url}">http://example.com/aaaaaaaa...</a>'


@pytest.mark.parametrize(
    "protocols", [["https"], ("https",), {"https"}, frozenset({"http", "https"})]
)
def test_linkify_permitted_protocols_accepts_any_container(protocols: Any) -> None:
    assert linkify("https://a.com", permitted_protocols=protocols).startswith("<a ")


def test_linkify_empty_permitted_protocols_still_links_www() -> None:
    assert linkify("www.a.com http://b.com", permitted_protocols=[]) == (
        '<a href="http://www.a.com">www.a.com</a> http://b.com'
    )


def test_linkify_default_protocol_list_is_not_mutated() -> None:
    before = linkify.__defaults__
    linkify("http://a.com ftp://b.com")
    assert linkify.__defaults__ == before == (False, "", False, ["http", "https"])


def test_linkify_output_never_contains_raw_markup() -> None:
    result = linkify('<script>alert("x")</script> http://a.com/?q=<b>', shorten=True)
    assert "<script" not in result and "<b>" not in result
    assert result.startswith("&lt;script&gt;")


def test_linkify_long_text_is_fast_enough_to_finish() -> None:
    # Pathological inputs for naive URL regexes must not backtrack exponentially.
    text = "http://a.com/" + "(" * 2000 + " " + "www." + "." * 5000 + " " + "a-" * 3000
    assert linkify(text).startswith('<a href="http://a.com/">')


@pytest.mark.parametrize("bad", [1, 1.5, bytearray(b"x"), None])
def test_linkify_rejects_non_strings_with_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"^Expected bytes"):
        linkify(bad)


def test_linkify_rejects_invalid_utf8_bytes() -> None:
    with pytest.raises(UnicodeDecodeError):
        linkify(b"\xff http://a.com")
