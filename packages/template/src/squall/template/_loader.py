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
    """Base class for template loaders.

    You must use a template loader to use template constructs like
    ``{% extends %}`` and ``{% include %}``.  The loader caches all
    templates after they are loaded the first time.

    :arg str autoescape: the name of a function in the template namespace,
        such as ``"xhtml_escape"``, or ``None`` to disable autoescaping by
        default.
    :arg dict namespace: a dictionary to be added to the default template
        namespace, or ``None``.
    :arg str whitespace: a string specifying default behavior for whitespace
        in templates; see :func:`filter_whitespace` for options.  Default is
        ``"single"`` for files ending in ``.html`` and ``.js`` and ``"all"``
        for other files.
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
        """Reset the cache of compiled templates."""
        with self.lock:
            self.templates = {}

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Convert a possibly-relative path to absolute (used internally)."""
        raise NotImplementedError()

    def load(self, name: str, parent_path: str | None = None) -> Template:
        """Load a template, compiling it on first use.

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
    """A template loader that loads from a single root directory.

    Names are relative to the root; a name used in ``{% include %}`` or
    ``{% extends %}`` is relative to the including template's directory.
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
    """A template loader that loads from a dictionary of name -> source."""

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
