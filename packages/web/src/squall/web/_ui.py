"""UI modules and UI methods: the reusable pieces a page template calls.

A template reaches the application's UI modules through ``modules`` (also
``{% module Name(...) %}``), and its UI methods by name.  Each module class
gets one instance per handler, made the first time a template calls it; once
the page is rendered, :func:`_assemble_page` gathers the CSS, JavaScript and
extra head/body markup those instances ask for and splices it into the page:
everything for ``<head>`` goes just before ``</head>``, everything else just
before the last ``</body>``.  A resource asked for several times (by one
module used twice, or by two modules) is written once, where it was first
asked for.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from squall.escape import linkify, utf8, xhtml_escape
from squall.util import ObjectDict

if TYPE_CHECKING:
    from ._handler import RequestHandler

__all__ = [
    "_BUILTIN_UI_MODULES",
    "TemplateModule",
    "UIModule",
    "_UIModuleNamespace",
    "_assemble_page",
    "_load_ui_methods",
    "_load_ui_modules",
    "_make_ui",
    "_module_renderer",
]


class UIModule:
    """A reusable piece of a page, which may bring its own CSS and JavaScript.

    Subclasses implement :meth:`render`; a template calls the module with
    ``{% module Name(args) %}`` and the result goes into the page unescaped.
    The other methods may return resources the page needs; each distinct
    resource is included once per page however often modules ask for it.

    One instance exists per handler and module class, created the first time
    the module is used while rendering.  ``handler`` and ``request`` are set
    by the constructor; ``ui``, ``locale`` and ``current_user`` read through
    to the handler.
    """

    def __init__(self, handler: RequestHandler) -> None:
        self.handler = handler
        self.request = handler.request

    @property
    def ui(self) -> ObjectDict:
        """The handler's ``ui`` namespace (UI methods and ``modules``)."""
        ui: ObjectDict = self.handler.ui
        return ui

    @property
    def locale(self) -> Any:
        """The locale of the current request (``handler.locale``)."""
        return self.handler.locale

    @property
    def current_user(self) -> Any:
        """The signed-in user of the current request (``handler.current_user``)."""
        return self.handler.current_user

    def render(self, *args: Any, **kwargs: Any) -> str | bytes:
        """Return the markup for one use of the module; subclasses must implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement render()")

    def embedded_javascript(self) -> str | None:
        """JavaScript to place in a ``<script>`` block before ``</body>``."""
        return None

    def javascript_files(self) -> Iterable[str] | None:
        """Script URLs (or one URL) to load before ``</body>``.

        Relative paths go through ``handler.static_url``; paths starting with
        ``/`` and URLs with a scheme are used as they are.
        """
        return None

    def embedded_css(self) -> str | None:
        """CSS to place in a ``<style>`` block in ``<head>``."""
        return None

    def css_files(self) -> Iterable[str] | None:
        """Stylesheet URLs (or one URL) to link from ``<head>``, resolved like :meth:`javascript_files`."""
        return None

    def html_head(self) -> str | None:
        """Markup to place at the end of ``<head>``."""
        return None

    def html_body(self) -> str | None:
        """Markup to place at the end of ``<body>``, after the scripts."""
        return None

    def render_string(self, path: str, **kwargs: Any) -> bytes:
        """Render the template ``path`` as the handler would (same loader and namespace)."""
        output: bytes = self.handler.render_string(path, **kwargs)
        return output


# The resource hooks, in the order a TemplateModule reports them.
_HOOKS = (
    "embedded_javascript",
    "javascript_files",
    "embedded_css",
    "css_files",
    "html_head",
    "html_body",
)
_FILE_HOOKS = frozenset(("javascript_files", "css_files"))


class TemplateModule(UIModule):
    """The built-in ``Template`` module: ``{% module Template("x.html", **kw) %}``.

    Renders a template like ``{% include %}`` does, except that the template
    sees only the handler's template namespace and the keyword arguments,
    never the variables of the template that calls it.  Such a template may
    call ``set_resources(...)`` with keyword arguments named after the
    resource methods (``embedded_css=...``, ``javascript_files=...``, ...) to
    add resources to the page.  Resources belong to the template file, not
    to one use of it: a template must give the same resources every time, or
    :class:`ValueError` is raised.  Unknown keywords are ignored.
    """

    def __init__(self, handler: RequestHandler) -> None:
        super().__init__(handler)
        # Template path -> the resources it declared, in first-use order.
        self._declared: dict[str, dict[str, Any]] = {}

    def render(self, path: str, **kwargs: Any) -> bytes:
        declared = self._declared

        def set_resources(**resources: Any) -> str:
            known = declared.setdefault(path, resources)
            if known != resources:
                raise ValueError(f"template {path!r} declared different resources on another use")
            return ""

        return self.render_string(path, set_resources=set_resources, **kwargs)

    def _gather(self, hook: str) -> Iterator[Any]:
        for resources in self._declared.values():
            value = resources.get(hook)
            if value is not None:
                yield value

    def _joined(self, hook: str) -> str | None:
        texts = [_as_text(value) for value in self._gather(hook)]
        return "\n".join(texts) if texts else None

    def _listed(self, hook: str) -> list[str] | None:
        urls = [url for value in self._gather(hook) for url in _as_list(value)]
        return urls or None

    def embedded_javascript(self) -> str | None:
        return self._joined("embedded_javascript")

    def javascript_files(self) -> Iterable[str] | None:
        return self._listed("javascript_files")

    def embedded_css(self) -> str | None:
        return self._joined("embedded_css")

    def css_files(self) -> Iterable[str] | None:
        return self._listed("css_files")

    def html_head(self) -> str | None:
        return self._joined("html_head")

    def html_body(self) -> str | None:
        return self._joined("html_body")


class _LinkifyModule(UIModule):
    """The built-in ``linkify`` module: :func:`squall.escape.linkify` as a module."""

    def render(self, text: str | bytes, **kwargs: Any) -> str:
        return linkify(text, **kwargs)


class _XSRFFormModule(UIModule):
    """The built-in ``xsrf_form_html`` module: the handler's hidden XSRF field."""

    def render(self) -> str:
        html: str = self.handler.xsrf_form_html()
        return html


# Tornado's names for them (``tornado.web._linkify`` and friends).
_linkify = _LinkifyModule
_xsrf_form_html = _XSRFFormModule

#: The modules every application has, under the names templates use.
_BUILTIN_UI_MODULES: dict[str, type[UIModule]] = {
    "linkify": _LinkifyModule,
    "xsrf_form_html": _XSRFFormModule,
    "Template": TemplateModule,
}


def _module_renderer(handler: RequestHandler, name: str, cls: type[UIModule]) -> Callable[..., Any]:
    """Return the function a template calls for the module ``name`` of ``handler``.

    The instance is made on the first call and kept in
    ``handler._active_modules`` (created here if the handler has none), whose
    order is the order :func:`_assemble_page` emits resources in.
    """

    def render(*args: Any, **kwargs: Any) -> Any:
        active: dict[str, UIModule] | None = getattr(handler, "_active_modules", None)
        if active is None:
            active = handler._active_modules = {}
        module = active.get(name)
        if module is None:
            module = active[name] = cls(handler)
        return module.render(*args, **kwargs)

    return render


class _UIModuleNamespace:
    """What templates see as ``modules`` (and ``{% module %}`` uses).

    ``modules.Entry`` and ``modules["Entry"]`` both give the function that
    renders the ``Entry`` module for this handler.
    """

    def __init__(self, handler: RequestHandler, ui_modules: dict[str, type[UIModule]]) -> None:
        self.handler = handler
        self.ui_modules = ui_modules
        self._renderers: dict[str, Callable[..., Any]] = {}

    def __getitem__(self, name: str) -> Callable[..., Any]:
        renderer = self._renderers.get(name)
        if renderer is None:
            cls = self.ui_modules.get(name) or _BUILTIN_UI_MODULES.get(name)
            if cls is None:
                raise KeyError(name)
            # The handler's hook when it has one (squall.web.RequestHandler does).
            hook = getattr(self.handler, "_ui_module", None)
            if hook is None:
                renderer = _module_renderer(self.handler, name, cls)
            else:
                renderer = hook(name, cls)
            self._renderers[name] = renderer
        return renderer

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no UI module named {name!r}") from None


def _public_members(module: types.ModuleType) -> Iterator[tuple[str, Any]]:
    """The public names of a Python module: its ``__all__`` if it has one."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    for name in names:
        yield name, getattr(module, name)


def _flatten(spec: object) -> Iterator[object]:
    """Yield the modules and dicts in ``spec`` (one of them, or a list of them)."""
    if isinstance(spec, (list, tuple)):
        for item in spec:
            yield from _flatten(item)
    elif spec is not None:
        yield spec


def _load_ui_modules(spec: object) -> dict[str, type[UIModule]]:
    """Read the ``ui_modules`` setting: a Python module, a dict, or a list of them.

    From a Python module, every public :class:`UIModule` subclass is taken
    under its own name; a dict is taken as it is.  Later entries win.
    """
    found: dict[str, type[UIModule]] = {}
    for item in _flatten(spec):
        if isinstance(item, types.ModuleType):
            for name, value in _public_members(item):
                if (
                    isinstance(value, type)
                    and issubclass(value, UIModule)
                    and value is not UIModule
                ):
                    found[name] = value
        elif isinstance(item, dict):
            found.update(item)
        else:
            raise TypeError(f"ui_modules must be a module, a dict or a list of them, not {item!r}")
    return found


def _load_ui_methods(spec: object) -> dict[str, Callable[..., Any]]:
    """Read the ``ui_methods`` setting: a Python module, a dict, or a list of them.

    From a Python module, every public callable whose name does not start
    with a capital letter is taken (classes and constants are left out); a
    dict is taken as it is.  Each one is later called with the handler as
    its first argument.
    """
    found: dict[str, Callable[..., Any]] = {}
    for item in _flatten(spec):
        if isinstance(item, types.ModuleType):
            for name, value in _public_members(item):
                if callable(value) and not isinstance(value, type) and not name[:1].isupper():
                    found[name] = value
        elif isinstance(item, dict):
            found.update(item)
        else:
            raise TypeError(f"ui_methods must be a module, a dict or a list of them, not {item!r}")
    return found


def _make_ui(handler: RequestHandler) -> ObjectDict:
    """Build ``handler.ui``: the UI methods bound to ``handler``, plus ``modules``.

    ``_tt_modules`` (what ``{% module %}`` compiles to) is the same
    :class:`_UIModuleNamespace` as ``modules``.
    """
    application = handler.application
    ui = ObjectDict(
        (name, partial(method, handler))
        for name, method in getattr(application, "ui_methods", {}).items()
    )
    ui["_tt_modules"] = ui["modules"] = _UIModuleNamespace(
        handler, getattr(application, "ui_modules", _BUILTIN_UI_MODULES)
    )
    return ui


# ---------------------------------------------------------------------------
# Page assembly

# A URL with a scheme ("https:", "data:") is used as it is.
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _as_text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _as_list(value: Any) -> list[str]:
    """A file hook's result as a list of URLs (one string counts as one URL)."""
    if isinstance(value, (str, bytes)):
        return [_as_text(value)]
    return [_as_text(item) for item in value]


class _Collected:
    """The distinct resources of the rendered modules, in first-use order."""

    def __init__(self) -> None:
        # Dicts used as ordered sets.
        self.sets: dict[str, dict[str, None]] = {hook: {} for hook in _HOOKS}

    def add(self, module: UIModule) -> None:
        for hook, seen in self.sets.items():
            value = getattr(module, hook)()
            if not value:
                continue
            items = _as_list(value) if hook in _FILE_HOOKS else [_as_text(value)]
            for item in items:
                if item:
                    seen.setdefault(item, None)


def _url_for(handler: RequestHandler, path: str) -> str:
    if path.startswith("/") or _HAS_SCHEME.match(path):
        return path
    url: str = handler.static_url(path)
    return url


def _override(handler: RequestHandler, name: str) -> Callable[[list[Any]], str | bytes] | None:
    """The handler's own ``render_linked_*``/``render_embed_*`` method, if a subclass overrode it.

    Tornado documents these four methods as the way to change the markup;
    when they are RequestHandler's, the markup below (the same) is used
    directly.
    """
    from ._handler import RequestHandler

    mine = getattr(type(handler), name, None)
    if mine is None or mine is getattr(RequestHandler, name, None):
        return None
    hook: Callable[[list[Any]], str | bytes] = getattr(handler, name)
    return hook


def _linked(handler: RequestHandler, paths: dict[str, None], hook_name: str, tag: str) -> str:
    hook = _override(handler, hook_name)
    if hook is not None:
        return _as_text(hook(list(paths)))
    return "".join(tag.format(xhtml_escape(_url_for(handler, path))) for path in paths)


def _embedded(handler: RequestHandler, texts: dict[str, None], hook_name: str, frame: str) -> str:
    hook = _override(handler, hook_name)
    if hook is not None:
        return _as_text(hook([utf8(text) for text in texts]))
    return frame.format("\n".join(texts))


def _head_markup(handler: RequestHandler, found: dict[str, dict[str, None]]) -> str:
    parts = []
    if found["css_files"]:
        link = '<link href="{}" type="text/css" rel="stylesheet"/>'
        parts.append(_linked(handler, found["css_files"], "render_linked_css", link))
    if found["embedded_css"]:
        style = '<style type="text/css">\n{}\n</style>'
        parts.append(_embedded(handler, found["embedded_css"], "render_embed_css", style))
    if found["html_head"]:
        parts.append("".join(found["html_head"]))
    # Each part on a line of its own, as Tornado lays them out.
    return "".join(part + "\n" for part in parts)


def _body_markup(handler: RequestHandler, found: dict[str, dict[str, None]]) -> str:
    parts = []
    if found["javascript_files"]:
        tag = '<script src="{}" type="text/javascript"></script>'
        parts.append(_linked(handler, found["javascript_files"], "render_linked_js", tag))
    if found["embedded_javascript"]:
        block = '<script type="text/javascript">\n//<![CDATA[\n{}\n//]]>\n</script>'
        parts.append(_embedded(handler, found["embedded_javascript"], "render_embed_js", block))
    if found["html_body"]:
        parts.append("".join(found["html_body"]))
    return "".join(part + "\n" for part in parts)


def _closing_tag(html: bytes, name: bytes, last: bool) -> int:
    """Offset of the first (or last) ``</name>`` in any letter case, -1 if none."""
    exact = b"</%s>" % name
    at = html.rfind(exact) if last else html.find(exact)
    if at < 0:
        # Rare: upper-case tags, or whitespace before the ">".
        for match in re.finditer(rb"</%s\s*>" % name, html, re.IGNORECASE):
            at = match.start()
            if not last:
                break
    return at


def _assemble_page(handler: RequestHandler, html: bytes) -> bytes:
    """Splice the resources of the modules ``handler`` rendered into ``html``.

    Stylesheet links, one ``<style>`` block and the ``html_head`` markup go
    before the first ``</head>``; script tags, one ``<script>`` block and the
    ``html_body`` markup before the last ``</body>``.  Closing tags are
    matched in any letter case.  A page without ``</head>`` gets the head
    part at its start; one without ``</body>`` gets the body part before
    its last ``</html>``, or at its end.  Without rendered modules the page
    is returned as it is.
    """
    active: dict[str, UIModule] | None = getattr(handler, "_active_modules", None)
    if not active:
        return html
    collected = _Collected()
    for module in active.values():
        collected.add(module)
    found = collected.sets
    head = _head_markup(handler, found)
    body = _body_markup(handler, found)
    if not (head or body):
        return html
    head_at = max(_closing_tag(html, b"head", last=False), 0) if head else 0
    body_at = len(html)
    if body:
        body_at = _closing_tag(html, b"body", last=True)
        if body_at < 0:
            body_at = _closing_tag(html, b"html", last=True)
        if body_at < 0:
            body_at = len(html)
    # Both offsets index the original page; splice the earlier one first.
    pieces = sorted(((head_at, head), (body_at, body)), key=lambda piece: piece[0])
    out = []
    start = 0
    for at, markup in pieces:
        out.append(html[start:at])
        out.append(markup.encode("utf-8"))
        start = at
    out.append(html[start:])
    return b"".join(out)
