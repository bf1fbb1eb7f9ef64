"""Template loaders: find templates by name, compile them once, cache them."""

from __future__ import annotations

import os
import posixpath
import threading
from typing import Any

from ._errors import ParseError
from ._template import _DEFAULT_AUTOESCAPE, Template

__all__ = ["BaseLoader", "DictLoader", "Loader"]

# Names being compiled by this thread, per loader: catches include cycles
# (Tornado recurses until RecursionError).
_loading = threading.local()


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
        autoescape: str | None = _DEFAULT_AUTOESCAPE,
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        self.autoescape = autoescape
        self.namespace = namespace or {}
        self.whitespace = whitespace
        self.templates: dict[str, Template] = {}
        # The lock is re-entrant: compiling a template loads the templates it
        # includes or extends on the same thread.
        self.lock = threading.RLock()

    def reset(self) -> None:
        """Forget every compiled template, so that later loads compile afresh."""
        with self.lock:
            self.templates = {}

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Turn ``name``, which may be relative to ``parent_path``, into a cache key.

        An internal hook: :meth:`load` calls it before looking ``name`` up.
        """
        raise NotImplementedError()

    def load(self, name: str, parent_path: str | None = None) -> Template:
        """Return the template called ``name``, compiled on the first request.

        :raises ParseError: if the template (or one it includes) is invalid,
            or includes/extends itself.
        """
        name = self.resolve_path(name, parent_path=parent_path)
        with self.lock:
            template = self.templates.get(name)
            if template is not None:
                return template
            stack: list[tuple[int, str]] = getattr(_loading, "stack", None) or []
            _loading.stack = stack
            key = (id(self), name)
            if key in stack:
                chain = " -> ".join([n for i, n in stack if i == id(self)] + [name])
                raise ParseError(f"template includes or extends itself: {chain}", name, 0)
            stack.append(key)
            try:
                template = self.create_template(name)
            finally:
                stack.pop()
            self.templates[name] = template
            return template

    def create_template(self, name: str) -> Template:
        """Compile the template ``name`` (already resolved); called by :meth:`load`.

        The default calls ``_create_template``, the hook Tornado's loaders
        override; override either one.
        """
        return self._create_template(name)

    def _create_template(self, name: str) -> Template:
        raise NotImplementedError()


class Loader(BaseLoader):
    """Reads template files found below ``root_directory``.

    A name given to :meth:`~BaseLoader.load` is a path below the root; inside
    ``{% include %}`` and ``{% extends %}`` a name is taken relative to the
    directory of the template that holds the directive.
    Unlike Tornado, a name that resolves outside the root directory is
    rejected with :class:`ValueError`.
    """

    def __init__(self, root_directory: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = os.path.abspath(root_directory)

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Resolve ``name`` relative to ``parent_path``'s directory, if inside the root."""
        if (
            parent_path
            and not parent_path.startswith("<")
            and not parent_path.startswith("/")
            and not name.startswith("/")
        ):
            current_path = os.path.join(self.root, parent_path)
            file_dir = os.path.dirname(os.path.abspath(current_path))
            relative_path = os.path.abspath(os.path.join(file_dir, name))
            if relative_path.startswith(self.root + os.sep):
                name = relative_path[len(self.root) + 1 :]
        return name

    def _create_template(self, name: str) -> Template:
        path = os.path.abspath(os.path.join(self.root, name))
        if not path.startswith(self.root + os.sep):
            raise ValueError(f"template {name!r} is outside the loader root {self.root!r}")
        with open(path, "rb") as f:
            return Template(f.read(), name=name, loader=self)


class DictLoader(BaseLoader):
    """Takes template sources from a ``dict`` that maps names to text."""

    def __init__(self, dict: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dict = dict

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Resolve ``name`` relative to ``parent_path``'s directory (POSIX paths)."""
        if (
            parent_path
            and not parent_path.startswith("<")
            and not parent_path.startswith("/")
            and not name.startswith("/")
        ):
            file_dir = posixpath.dirname(parent_path)
            name = posixpath.normpath(posixpath.join(file_dir, name))
        return name

    def _create_template(self, name: str) -> Template:
        return Template(self.dict[name], name=name, loader=self)
