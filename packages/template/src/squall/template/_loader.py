"""Template loaders: find templates by name, compile each once, keep it.

A loader's cache maps the *resolved* name (what :meth:`BaseLoader.resolve_path`
returns) to the compiled :class:`Template`. One re-entrant lock guards it:
a template is compiled while the lock is held, and compiling loads the
templates it includes or extends on the same thread, so the lock also
tells which names are being compiled right now (and so catches cycles).
"""

from __future__ import annotations

import os
import pathlib
import posixpath
import threading
from typing import Any

from ._errors import ParseError
from ._template import Template

__all__ = ["BaseLoader", "DictLoader", "Loader"]


def _follows_parent(name: str, parent_path: str | None) -> bool:
    """Whether ``name`` is to be read relative to the template ``parent_path``.

    Absolute names, and names used by templates that are not files (no
    parent, or a ``"<string>"``-style one, or an absolute path), stay as
    given.
    """
    if not parent_path or name.startswith("/"):
        return False
    return not parent_path.startswith(("<", "/"))


class BaseLoader:
    """Common base of the template loaders.

    Templates that use ``{% extends %}`` or ``{% include %}`` need a loader
    to find the templates those directives name.  A loader compiles each
    template on its first :meth:`load` and hands out the same object after.

    :arg str autoescape: the escape function name its templates use unless
        they say otherwise (``"xhtml_escape"`` by default); ``None`` turns
        escaping off.
    :arg dict namespace: extra variables every one of its templates sees, on
        top of the built-in ones (``None``: no extras).
    :arg str whitespace: the whitespace mode of its templates (see
        :func:`filter_whitespace`).  When ``None``, names ending in
        ``.html`` or ``.js`` get ``"single"`` and any other name ``"all"``.
    """

    def __init__(
        self,
        autoescape: str | None = "xhtml_escape",
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        # Guards the cache; held while compiling (see the module docstring).
        self.lock = threading.RLock()
        self.templates: dict[str, Template] = {}
        # Resolved names whose compilation is under way, outermost first.
        # Only the thread holding the lock touches it.
        self._in_progress: list[str] = []
        self.namespace = {} if namespace is None else namespace
        self.whitespace = whitespace
        self.autoescape = autoescape

    def reset(self) -> None:
        """Forget every compiled template, so that later loads compile afresh."""
        with self.lock:
            self.templates.clear()

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Turn ``name``, which may be relative to ``parent_path``, into a cache key.

        An internal hook: :meth:`load` calls it before looking ``name`` up.
        """
        raise NotImplementedError(f"{type(self).__name__} does not resolve template names")

    def load(self, name: str, parent_path: str | None = None) -> Template:
        """Return the template called ``name``, compiled on the first request.

        :raises ParseError: if the template (or one it includes) is invalid,
            or includes/extends itself.
        """
        key = self.resolve_path(name, parent_path)
        with self.lock:
            cached = self.templates.get(key)
            if cached is None:
                cached = self.templates[key] = self._compile(key)
            return cached

    def _compile(self, key: str) -> Template:
        """Create the template ``key`` (lock held), refusing a name already under way."""
        busy = self._in_progress
        if key in busy:
            loop = " -> ".join([*busy[busy.index(key) :], key])
            raise ParseError(f"template includes or extends itself ({loop})", key, 0)
        busy.append(key)
        try:
            return self.create_template(key)
        finally:
            busy.pop()

    def create_template(self, name: str) -> Template:
        """Compile the template ``name`` (already resolved); called by :meth:`load`.

        The default calls ``_create_template``, the hook Tornado's loaders
        override; override either one.
        """
        return self._create_template(name)

    def _create_template(self, name: str) -> Template:
        raise NotImplementedError(f"{type(self).__name__} cannot create templates")


class Loader(BaseLoader):
    """Reads template files found below ``root_directory``.

    A name given to :meth:`~BaseLoader.load` is a path below the root; inside
    ``{% include %}`` and ``{% extends %}`` a name is taken relative to the
    directory of the template that holds the directive.
    Unlike Tornado, a name that resolves outside the root directory is
    rejected with :class:`ValueError`.
    """

    def __init__(self, root_directory: str, **kwargs: Any) -> None:
        BaseLoader.__init__(self, **kwargs)
        # Accepts any path-like object, though typed as str.
        self.root = os.path.abspath(os.fspath(root_directory))

    def _inside(self, path: str) -> str | None:
        """``path`` (absolute, normalized) relative to the root, or None if outside it."""
        prefix = os.path.join(self.root, "")
        return path[len(prefix) :] if path.startswith(prefix) else None

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Resolve ``name`` relative to ``parent_path``'s directory, if inside the root."""
        if parent_path is None or not _follows_parent(name, parent_path):
            return name
        folder = os.path.dirname(os.path.join(self.root, parent_path))
        return self._inside(os.path.abspath(os.path.join(folder, name))) or name

    def _create_template(self, name: str) -> Template:
        path = os.path.abspath(os.path.join(self.root, name))
        if self._inside(path) is None:
            raise ValueError(f"template {name!r} is outside the loader root {self.root!r}")
        return Template(pathlib.Path(path).read_bytes(), name=name, loader=self)


class DictLoader(BaseLoader):
    """Takes template sources from a ``dict`` that maps names to text."""

    def __init__(self, dict: dict[str, str], **kwargs: Any) -> None:
        BaseLoader.__init__(self, **kwargs)
        self.dict = dict

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Resolve ``name`` relative to ``parent_path``'s directory (POSIX paths)."""
        if parent_path is None or not _follows_parent(name, parent_path):
            return name
        return posixpath.normpath(posixpath.join(posixpath.dirname(parent_path), name))

    def _create_template(self, name: str) -> Template:
        return Template(self.dict[name], name=name, loader=self)
