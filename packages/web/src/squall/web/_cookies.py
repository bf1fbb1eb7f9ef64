"""Cookies and XSRF protection for :class:`~squall.web.RequestHandler`.

:class:`_CookieMixin` holds the handler's cookie methods (plain and signed)
and its XSRF token machinery.  Signing and token coding live in
``_signing`` and ``_xsrf``, imported on first use.  The mixin keeps no state
of its own beyond what the handler's ``__init__`` sets up (``_new_cookie``)
and the per-request caches it fills lazily in ``__dict__``.
"""

from __future__ import annotations

import datetime
import http.cookies
import time
from typing import TYPE_CHECKING, Any

from squall.httputil import format_timestamp

from squall import escape

from ._errors import HTTPError
from ._support import _BAD_COOKIE_ATTRIBUTE, _BAD_COOKIE_TEXT

if TYPE_CHECKING:
    from squall.httputil import HTTPServerRequest

    from ._application import Application

__all__: list[str] = []


class _CookieMixin:
    """Cookie and XSRF methods of :class:`~squall.web.RequestHandler` (only it inherits this)."""

    if TYPE_CHECKING:
        # Provided by RequestHandler.
        application: Application
        request: HTTPServerRequest
        _new_cookie: http.cookies.SimpleCookie | None

        def require_setting(self, name: str, feature: str = ...) -> None: ...

        def get_argument(self, name: str, default: Any = ..., strip: bool = ...) -> Any: ...

    # -- cookies --------------------------------------------------------------------

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        """The request's cookies (``self.request.cookies``)."""
        return self.request.cookies

    def get_cookie(self, name: str, default: str | None = None) -> str | None:
        """The value of request cookie ``name``, or ``default``."""
        morsel = self.request.cookies.get(name)
        return default if morsel is None else morsel.value

    def set_cookie(
        self,
        name: str,
        value: str | bytes,
        domain: str | None = None,
        expires: float | tuple[int, ...] | datetime.datetime | None = None,
        path: str = "/",
        expires_days: float | None = None,
        *,
        max_age: int | None = None,
        httponly: bool = False,
        secure: bool = False,
        samesite: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Add a ``Set-Cookie`` header for ``name`` (replacing one set earlier in this response).

        ``expires`` is a timestamp, time tuple or datetime; ``expires_days``
        counts from now when ``expires`` is not given.  Other keyword
        arguments become cookie attributes (``max_age`` is spelled
        ``Max-Age``).  A name or value holding a space or control character
        raises :class:`ValueError`.
        """
        given_name: Any = name
        name_text: str = escape.to_unicode(given_name) if isinstance(given_name, bytes) else name
        value_text = escape.to_unicode(value) if isinstance(value, bytes) else value
        if _BAD_COOKIE_TEXT.search(name_text + value_text) is not None:
            raise ValueError(f"Invalid cookie {name_text!r}: {value_text!r}")
        jar = self._new_cookie
        if jar is None:
            jar = self._new_cookie = http.cookies.SimpleCookie()
        if name_text in jar:
            del jar[name_text]
        jar[name_text] = value_text
        morsel = jar[name_text]
        if expires is None and expires_days is not None:
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                days=expires_days
            )
        attributes: dict[str, Any] = {
            "domain": domain,
            "expires": format_timestamp(expires) if expires is not None else None,
            "path": path,
            "max-age": str(max_age) if max_age is not None else None,
            "httponly": httponly or None,
            "secure": secure or None,
            "samesite": samesite,
        }
        for key, extra in kwargs.items():
            attributes["max-age" if key == "max_age" else key] = extra
        try:
            for key, given in attributes.items():
                if given is None or given is False or given == "":
                    continue
                # A ";" or CR/LF here would smuggle attributes or headers in
                # ("expires" is our own formatted date, spaces and all).
                if (
                    key != "expires"
                    and isinstance(given, str)
                    and _BAD_COOKIE_ATTRIBUTE.search(given)
                ):
                    raise http.cookies.CookieError(
                        f"Invalid cookie attribute {key}={given!r} for cookie {name_text!r}"
                    )
                morsel[key] = given
        except http.cookies.CookieError:
            del jar[name_text]  # send nothing rather than a half-made cookie
            raise

    def clear_cookie(self, name: str, **kwargs: Any) -> None:
        """Expire cookie ``name`` in the browser (``path``, ``domain`` etc. must match how it was set)."""
        for timing in ("expires", "expires_days", "max_age"):
            if timing in kwargs:
                raise TypeError(f"clear_cookie() does not take {timing!r}")
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=365)
        self.set_cookie(name, value="", expires=past, **kwargs)

    def clear_all_cookies(self, **kwargs: Any) -> None:
        """Expire every cookie the request carried (see :meth:`clear_cookie`)."""
        for name in list(self.request.cookies):
            self.clear_cookie(name, **kwargs)

    def _cookie_secret(self, feature: str) -> Any:
        self.require_setting("cookie_secret", feature)
        return self.application.settings["cookie_secret"]

    def create_signed_value(
        self, name: str, value: str | bytes, version: int | None = None
    ) -> bytes:
        """Sign ``value`` under ``name`` with the ``cookie_secret`` setting (timestamped HMAC).

        With a dict of secrets, the ``key_version`` setting picks the key.
        """
        from ._signing import create_signed_value

        secret = self._cookie_secret("secure cookies")
        key_version = None
        if isinstance(secret, dict):
            key_version = self.application.settings.get("key_version")
            if key_version is None:
                raise Exception("a dict cookie_secret needs the key_version setting")
        return create_signed_value(secret, name, value, version=version, key_version=key_version)

    def set_signed_cookie(
        self,
        name: str,
        value: str | bytes,
        expires_days: float | None = 30,
        version: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Set a cookie whose value is signed, so that :meth:`get_signed_cookie` can trust it.

        Needs the ``cookie_secret`` setting; other arguments as for
        :meth:`set_cookie`.  The cookie is readable by the client, only not
        forgeable.
        """
        signed = self.create_signed_value(name, value, version=version)
        self.set_cookie(name, signed, expires_days=expires_days, **kwargs)

    set_secure_cookie = set_signed_cookie

    def get_signed_cookie(
        self,
        name: str,
        value: str | None = None,
        max_age_days: float = 31,
        min_version: int | None = None,
    ) -> bytes | None:
        """The verified value of signed cookie ``name`` (or of ``value``), else ``None``.

        ``None`` also for a bad signature or a cookie older than ``max_age_days``.
        """
        from ._signing import decode_signed_value

        secret = self._cookie_secret("secure cookies")
        if value is None:
            value = self.get_cookie(name)
        return decode_signed_value(
            secret, name, value, max_age_days=max_age_days, min_version=min_version
        )

    get_secure_cookie = get_signed_cookie

    def get_signed_cookie_key_version(self, name: str, value: str | None = None) -> int | None:
        """The key version that signed cookie ``name`` (or ``value``), or ``None``."""
        from ._signing import get_signature_key_version

        self._cookie_secret("secure cookies")
        signed = self.get_cookie(name) if value is None else value
        return None if signed is None else get_signature_key_version(signed)

    get_secure_cookie_key_version = get_signed_cookie_key_version

    # -- XSRF ------------------------------------------------------------------------------

    def _get_raw_xsrf_token(self) -> tuple[int | None, bytes, float]:
        """(version, token, timestamp) of this request's XSRF cookie, or a fresh token (version None)."""
        known = self.__dict__.get("_raw_xsrf_token")
        if known is not None:
            return known  # type: ignore[no-any-return]
        from ._xsrf import _decode_xsrf_token, _new_xsrf_token

        version, token, stamp = _decode_xsrf_token(self.get_cookie("_xsrf"))
        if token is None:
            version, token, stamp = None, _new_xsrf_token(), time.time()
        assert stamp is not None
        made = self._raw_xsrf_token = (version, token, stamp)
        return made

    @property
    def xsrf_token(self) -> bytes:
        """This request's XSRF token, for forms and the ``X-XSRFToken`` header.

        Sets the ``_xsrf`` cookie when the request had none (its attributes
        come from the ``xsrf_cookie_kwargs`` setting).  Version 2 tokens (the
        default; ``xsrf_cookie_version``) are masked afresh on every request.
        """
        known = self.__dict__.get("_xsrf_token")
        if known is not None:
            return known  # type: ignore[no-any-return]
        from ._xsrf import _encode_xsrf_token

        version, token, stamp = self._get_raw_xsrf_token()
        settings = self.application.settings
        encoded = _encode_xsrf_token(token, stamp, settings.get("xsrf_cookie_version", 2))
        self._xsrf_token = encoded
        if version is None:
            options = dict(settings.get("xsrf_cookie_kwargs") or {})
            self.set_cookie("_xsrf", encoded, **options)
        return encoded

    def check_xsrf_cookie(self) -> None:
        """Refuse (403) a request whose ``_xsrf`` argument or header does not match its cookie.

        Runs before non-GET/HEAD/OPTIONS methods when the ``xsrf_cookies``
        setting is on; the token comes from the ``_xsrf`` argument, or the
        ``X-Xsrftoken`` or ``X-Csrftoken`` header.
        """
        from ._xsrf import _decode_xsrf_token, _xsrf_tokens_equal

        given = self.get_argument("_xsrf", None)
        if not given:
            fields = self.request.headers
            given = fields.get("X-Xsrftoken") or fields.get("X-Csrftoken")
        if not given:
            raise HTTPError(403, "no XSRF token in the _xsrf field or the X-XSRFToken header")
        token = _decode_xsrf_token(given)[1]
        if not token:
            raise HTTPError(403, "the XSRF token sent is malformed")
        if not _xsrf_tokens_equal(token, self._get_raw_xsrf_token()[1]):
            raise HTTPError(403, "the XSRF token sent does not match the _xsrf cookie")

    def xsrf_form_html(self) -> str:
        """A hidden ``<input>`` carrying the XSRF token, for every POST form.

        The result is a :class:`~squall.escape.SafeHTML` string, so an
        autoescaping template inserts it as markup: ``{{ xsrf_form_html() }}``
        (the overview's form) works as well as ``{% raw xsrf_form_html() %}``
        and ``{% module xsrf_form_html() %}``.  Tornado 6 escapes it there.
        """
        value = escape.xhtml_escape(self.xsrf_token)
        return escape.SafeHTML(f'<input type="hidden" name="_xsrf" value="{value}"/>')
