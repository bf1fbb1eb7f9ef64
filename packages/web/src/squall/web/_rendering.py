"""Templates and UI modules for :class:`~squall.web.RequestHandler`.

:class:`_RenderingMixin` holds ``render``, ``render_string``, the template
namespace and loaders, and the hooks UI modules call back into.  Template
loaders are shared by every handler, one per directory; ``_ui`` is imported
only when a page uses UI modules.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from squall.util import ObjectDict

from squall import escape, template

from ._support import _LOADER_OPTIONS, _MARKED_HELPERS

if TYPE_CHECKING:
    from squall.httputil import HTTPServerRequest
    from squall.locale import Locale

    from ._application import Application
    from ._handler import RequestHandler

__all__: list[str] = []

# Frames in these files are the handler's own, not the code that asked for a
# template: the default template directory is the first caller outside them.
_OWN_FILES = frozenset(
    os.path.join(os.path.dirname(__file__), stem) for stem in ("_rendering", "_handler")
)


class _RenderingMixin:
    """Template and UI methods of :class:`~squall.web.RequestHandler` (only it inherits this)."""

    # Template loaders shared by every handler, by template directory.
    _template_loaders: dict[str, template.BaseLoader] = {}
    _template_loader_lock = threading.Lock()

    _page_namespace: dict[str, Any] | None

    if TYPE_CHECKING:
        # Provided by RequestHandler (and _CookieMixin).
        application: Application
        request: HTTPServerRequest
        _finished: bool
        locale: Locale
        current_user: Any

        def get_template_path(self) -> str | None: ...

        def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str: ...

        def reverse_url(self, name: str, *args: Any) -> str: ...

        def xsrf_form_html(self) -> str: ...

        def finish(
            self, chunk: str | bytes | dict[str, Any] | None = None
        ) -> asyncio.Future[None]: ...

    # -- templates and UI ------------------------------------------------------------------

    @property
    def ui(self) -> ObjectDict:
        """What templates see of the UI methods and modules (made on first use)."""
        made = self.__dict__.get("_ui_namespace")
        if made is None:
            from ._ui import _make_ui

            made = self._ui_namespace = _make_ui(cast("RequestHandler", self))
        return made

    @ui.setter
    def ui(self, value: ObjectDict) -> None:
        self._ui_namespace = value

    def _ui_module(self, name: str, module: type) -> Callable[..., Any]:
        def render(*args: Any, **kwargs: Any) -> Any:
            active: dict[str, Any] | None = self.__dict__.get("_active_modules")
            if active is None:
                active = {}
                self._active_modules = active
            instance = active.get(name)
            if instance is None:
                instance = active[name] = module(self)
            return instance.render(*args, **kwargs)

        return render

    def _ui_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args, **kwargs: method(self, *args, **kwargs)

    def get_template_namespace(self) -> dict[str, Any]:
        """The names every template rendered by this handler sees; override to add some.

        ``handler``, ``request``, ``current_user``, ``locale``, ``_``,
        ``pgettext``, ``static_url``, ``xsrf_form_html``, ``reverse_url``,
        the application's UI methods and modules, on top of the template
        module's own (``escape``, ``url_escape``, ``json_encode``,
        ``squeeze``, ``linkify``, ``datetime`` ...).

        Here ``escape``, ``xhtml_escape`` and ``linkify`` return their
        result as :class:`~squall.escape.SafeHTML`, which autoescaping does
        not escape again: ``{{ escape(item) }}``, written before templates
        autoescaped, escapes ``item`` once (Tornado 6 escapes it twice).
        """
        chosen = self.locale
        namespace: dict[str, Any] = {
            **_MARKED_HELPERS,
            "handler": self,
            "request": self.request,
            "current_user": self.current_user,
            "locale": chosen,
            "_": chosen.translate,
            "pgettext": chosen.pgettext,
            "static_url": self.static_url,
            "xsrf_form_html": self.xsrf_form_html,
            "reverse_url": self.reverse_url,
        }
        namespace.update(self.ui)
        return namespace

    def create_template_loader(self, template_path: str) -> template.BaseLoader:
        """The loader for ``template_path`` (the ``template_loader`` setting if given).

        Built from the ``autoescape`` and ``template_whitespace`` settings;
        loaders are shared by all handlers, one per directory.
        """
        settings = self.application.settings
        given = settings.get("template_loader")
        if given is not None:
            return given  # type: ignore[no-any-return]
        options = {
            option: settings[key] for key, option in _LOADER_OPTIONS.items() if key in settings
        }
        return template.Loader(template_path, **options)

    def _caller_directory(self) -> str:
        frame: Any = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.rsplit(".", 1)[0] in _OWN_FILES:
            frame = frame.f_back
        if frame is None:
            return os.getcwd()
        filename: str = frame.f_code.co_filename
        return os.path.dirname(os.path.abspath(filename))

    def render_string(self, template_name: str, **kwargs: Any) -> bytes:
        """Render template ``template_name`` with the handler's namespace plus ``kwargs``."""
        # An application's own template_loader is used as it is; the shared
        # per-directory cache would hand it to other applications.
        loader = self.application.settings.get("template_loader") or self._loader_for(
            self.get_template_path() or self._caller_directory()
        )
        compiled = loader.load(template_name)
        # While render() runs, the namespace it made serves every nested
        # render_string (UI modules render one template each).
        namespace = self.__dict__.get("_page_namespace") or self.get_template_namespace()
        return compiled.generate(**{**namespace, **kwargs})

    def _loader_for(self, directory: str) -> template.BaseLoader:
        shared = _RenderingMixin._template_loaders
        found = shared.get(directory)
        if found is None:
            with _RenderingMixin._template_loader_lock:
                found = shared.get(directory)
                if found is None:
                    found = shared[directory] = self.create_template_loader(directory)
        return found

    def render(self, template_name: str, **kwargs: Any) -> asyncio.Future[None]:
        """Render ``template_name`` and finish the response with it.

        Resources of the UI modules used on the page (their CSS and
        JavaScript) are inserted into its ``<head>`` and before ``</body>``.
        """
        if self._finished:
            raise RuntimeError("render() after finish()")
        self._page_namespace = self.get_template_namespace()
        try:
            html = self.render_string(template_name, **kwargs)
        finally:
            self._page_namespace = None
        if self.__dict__.get("_active_modules"):
            from ._ui import _assemble_page

            html = _assemble_page(cast("RequestHandler", self), html)
        return self.finish(html)

    def render_linked_js(self, js_files: Iterable[str]) -> str:
        """``<script src>`` tags for ``js_files`` (relative paths go through :meth:`static_url`)."""
        return "".join(
            f'<script src="{escape.xhtml_escape(url)}" type="text/javascript"></script>'
            for url in self._resource_urls(js_files)
        )

    def render_embed_js(self, js_embed: Iterable[bytes]) -> bytes:
        """One inline ``<script>`` holding every piece of ``js_embed``."""
        return (
            b'<script type="text/javascript">\n//<![CDATA[\n'
            + b"\n".join(js_embed)
            + b"\n//]]>\n</script>"
        )

    def render_linked_css(self, css_files: Iterable[str]) -> str:
        """``<link rel=stylesheet>`` tags for ``css_files`` (relative paths through :meth:`static_url`)."""
        return "".join(
            f'<link href="{escape.xhtml_escape(url)}" type="text/css" rel="stylesheet"/>'
            for url in self._resource_urls(css_files)
        )

    def render_embed_css(self, css_embed: Iterable[bytes]) -> bytes:
        """One inline ``<style>`` holding every piece of ``css_embed``."""
        return b'<style type="text/css">\n' + b"\n".join(css_embed) + b"\n</style>"

    def _resource_urls(self, paths: Iterable[str]) -> list[str]:
        seen: list[str] = []
        for path in paths:
            url = path if path.startswith(("/", "http:", "https:")) else self.static_url(path)
            if url not in seen:
                seen.append(url)
        return seen
