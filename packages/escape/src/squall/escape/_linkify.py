"""Find URLs in plain text and wrap each one in an ``<a>`` element.

The text is HTML-escaped first and URLs are then found in the escaped text,
so every link, attribute and piece of surrounding text in the result is
already safe HTML.

What counts as a URL (worked out from Tornado's observed behaviour):

* it starts at a word boundary, with either a scheme (word characters and
  hyphens) followed by ``:`` and one to three slashes, or with ``www.``
  (lower case);
* it continues with runs of any characters except whitespace, parentheses
  and ``&`` (the escaped ``&amp;`` and ``&quot;`` are allowed, other
  entities end it, so a raw ``'``, ``<`` or ``>`` ends a URL), each run
  ending with a character that is not ASCII punctuation (``-``, ``/``,
  ``_`` and ``\\`` excepted); so a trailing ``.``, ``,``, ``!`` or ``?``
  stays outside the link;
* between or after such runs it may hold balanced, unnested parenthesized
  groups, as in ``/wiki/Foo_(bar)``, but a group right after punctuation
  (``x.(a)``) ends the URL before the punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container

from ._html import _xhtml_escape_str
from ._text import _reject_text_argument

__all__ = ["linkify"]

_ATOM = r"(?:[^\s&()]|&(?:amp|quot);)"
_GROUP = rf"\({_ATOM}*\)"
_LAST = r"[^\s!\"#$%&'()*+,.:;<=>?@\[\]^`{|}~]"
_URL_RE = re.compile(
    # A scheme can only start where the run of word characters and hyphens
    # holding it starts: a start inside a run such as "a-b-c" would end where
    # the run does, as the attempt from the run's first word did. Skipping
    # those starts ("\w" first, "(?<!\w-)") keeps long hyphenated runs linear.
    rf"\b(?:(?<!\w-)(?P<scheme>\w[\w-]*):(?P<slashes>/{{1,3}})|www\.)"
    rf"(?:{_ATOM}*{_LAST}|{_GROUP})+"
)

# Display text longer than this is shortened when linkify(shorten=True).
_MAX_DISPLAY = 30
# Cut URLs that are still longer than this after keeping only the host and
# the start of the first path segment.
_MAX_TRIMMED = _MAX_DISPLAY * 3 // 2
# The start of the first path segment kept when shortening.
_SEGMENT_CHARS = 8
_SEGMENT_END_RE = re.compile(r"[?.]")
# Shortened text whose last "&" sits beyond this index is cut before that "&",
# so that it does not end in a (possibly broken) entity.
_LAST_AMP_INDEX = _MAX_DISPLAY - 5


def _shorten(url: str, prefix_length: int) -> str | None:
    """Return shorter display text for ``url`` (an escaped URL), or ``None``.

    Keeps the scheme and host plus up to eight characters of the first path
    segment (stopping before any ``?`` or ``.``); if that is still long,
    keeps only the first thirty characters. Then drops a trailing ``&...``
    that starts late in the text and appends ``...``. Returns ``None`` when
    none of this makes the text shorter.
    """
    short = url
    segments = url[prefix_length:].split("/", 2)
    if len(segments) > 1:
        segment = _SEGMENT_END_RE.split(segments[1][:_SEGMENT_CHARS], 1)[0]
        short = f"{url[:prefix_length]}{segments[0]}/{segment}"
    if len(short) > _MAX_TRIMMED:
        short = short[:_MAX_DISPLAY]
    if short == url:
        return None
    amp = short.rfind("&")
    if amp > _LAST_AMP_INDEX:
        short = short[:amp]
    short += "..."
    return short if len(short) < len(url) else None


def linkify(
    text: str | bytes,
    shorten: bool = False,
    extra_params: str | Callable[[str], str] = "",
    require_protocol: bool = False,
    permitted_protocols: Container[str] = ["http", "https"],
) -> str:
    """Escape ``text`` as HTML and make each URL in it a hyperlink.

    ``linkify("Docs at https://example.org/guide.")`` gives
    ``'Docs at <a href="https://example.org/guide">https://example.org/guide</a>.'``
    (the final full stop stays outside the link). Because the whole text is
    HTML-escaped, the result can go straight into a page.

    :param text: :class:`str`, or :class:`bytes` decoded as UTF-8.
    :param shorten: shorten long URLs for display: the link text keeps the
        host and the start of the path and ends in ``...``, and the full URL
        goes into a ``title`` attribute.
    :param extra_params: extra text to put in each ``<a>`` tag, such as
        ``'rel="nofollow" class="external"'``; or a callable that takes the
        link's ``href`` (escaped, ``http://`` added to ``www.`` links) and
        returns that text, to treat links differently, for example internal
        and external ones.
    :param require_protocol: only linkify URLs that include a scheme; if
        false, URLs such as ``www.facebook.com`` are linked too (to
        ``http://www.facebook.com``).
    :param permitted_protocols: the schemes (compared case-sensitively) that
        may be linked, e.g. ``["http", "ftp", "mailto"]``; URLs with other
        schemes are left as text. Never allow ``javascript`` or similar
        schemes: that would let the text inject script into the page.
    :raises TypeError: if ``text`` is neither :class:`str` nor :class:`bytes`
        (Tornado raises :class:`AttributeError` for ``None``).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    elif not isinstance(text, str):
        _reject_text_argument(text)
    if callable(extra_params):
        params_for: Callable[[str], str] | None = extra_params
        fixed_params = ""
    else:
        params_for = None
        fixed_params = " " + extra_params.strip() if extra_params else ""

    def make_link(match: re.Match[str]) -> str:
        url = match.group(0)
        scheme = match.group("scheme")
        if scheme is None:
            if require_protocol:
                return url
            href = "http://" + url
        elif scheme not in permitted_protocols:
            return url
        else:
            href = url
        params = fixed_params if params_for is None else " " + params_for(href).strip()
        if shorten and len(url) > _MAX_DISPLAY:
            prefix_length = 0 if scheme is None else len(scheme) + 1 + len(match.group("slashes"))
            short = _shorten(url, prefix_length)
            if short is not None:
                url = short
                params += f' title="{href}"'
        return f'<a href="{href}"{params}>{url}</a>'

    return _URL_RE.sub(make_link, _xhtml_escape_str(text))
