"""Third-party login (mirrors ``tornado.auth``): OpenID, OAuth 1.0a and OAuth 2.0 mixins.

Each class is a mixin for a :class:`~squall.web.RequestHandler`.  On a login
handler, ``authenticate_redirect()`` or ``authorize_redirect()`` sends the
browser to the provider, and ``get_authenticated_user()`` (on the request the
provider sends back) establishes who the user is; elsewhere,
``twitter_request()``, ``facebook_request()`` and ``oauth2_request()`` call
the provider's API with the tokens saved at login::

    class GoogleOAuth2LoginHandler(squall.web.RequestHandler,
                                   squall.auth.GoogleOAuth2Mixin):
        async def get(self):
            if self.get_argument("code", False):
                access = await self.get_authenticated_user(
                    redirect_uri="https://your.site/auth/google",
                    code=self.get_argument("code"))
                user = await self.oauth2_request(
                    self._OAUTH_USERINFO_URL, access_token=access["access_token"])
                # Save the user with e.g. set_signed_cookie()
            else:
                self.authorize_redirect(
                    redirect_uri="https://your.site/auth/google",
                    client_id=self.settings["google_oauth"]["key"],
                    scope=["profile", "email"],
                    response_type="code",
                    extra_params={"approval_prompt": "auto"})

The generic classes (:class:`OpenIdMixin`, :class:`OAuthMixin`,
:class:`OAuth2Mixin`) serve any provider: point a subclass at it with the
class attributes ``_OPENID_ENDPOINT`` or ``_OAUTH_*_URL``, as in Tornado.

Besides awaiting, the classic style of the overview works: in an
``@squall.web.asynchronous`` handler, ``self.get_authenticated_user(self._on_auth)``
(or ``callback=``) calls ``_on_auth(user)`` later, with ``None`` (and a
logged warning) when the login was refused.  Methods that talk to the
provider start at once and return a future, so they also run when not awaited.
A refused login raises :class:`AuthError`, including provider errors during
the login steps (where Tornado lets the HTTP client's error through).
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._common import AuthError
from ._oauth1 import OAuthMixin, TwitterMixin
from ._oauth2 import FacebookGraphMixin, GoogleOAuth2Mixin, OAuth2Mixin
from ._openid import OpenIdMixin
from ._signing import _oauth_signature as _oauth_signature

__all__ = [
    "AuthError",
    "FacebookGraphMixin",
    "GoogleOAuth2Mixin",
    "OAuth2Mixin",
    "OAuthMixin",
    "OpenIdMixin",
    "TwitterMixin",
]

_publish_public_names(globals())
