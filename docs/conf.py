"""Sphinx configuration: one site for every squall distribution (offline, nitpicky)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

project = "squall"
author = "The squall developers"
copyright = "2026, The squall developers"
release = version = (Path(__file__).resolve().parent.parent / "VERSION").read_text().strip()

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
html_theme = "furo"
html_title = f"squall {release}"
html_static_path: list[str] = []
exclude_patterns = ["_build", "**/_build"]
nitpicky = True
# Standard-library and typing names cannot be resolved offline (no intersphinx).
_STDLIB = (
    "typing|typing_extensions|collections|types|re|datetime|asyncio|concurrent|socket|ssl"
    "|logging|gettext|io|os|pathlib|subprocess|threading|signal|numbers|unittest|argparse"
    "|enum|json|email|http|urllib|selectors|zlib|ipaddress|decimal|builtins|functools"
    "|contextvars|contextlib|time|sys|queue|curses|csv|codecs|html|errno|fcntl|select|mimetypes"
    "|inspect|weakref|traceback|warnings|tempfile|shutil|platform|multiprocessing|string"
    "|pytest|_pytest|pluggy"
)
_BUILTINS = (
    "str|bytes|bytearray|memoryview|int|float|bool|dict|list|tuple|set|object|type"
    "|callable|len|repr|open|print|Exception|BaseException|ValueError|TypeError|KeyError"
    "|OSError|RuntimeError|StopIteration|StopAsyncIteration|GeneratorExit|TimeoutError"
    "|NotImplementedError|AssertionError|SyntaxError|AttributeError|ImportError"
)
_TYPING = (
    "Any|Callable|Awaitable|Coroutine|Generator|Iterable|Iterator|Mapping|Sequence"
    "|MutableMapping|Optional|Union|Type|TypeVar|Pattern|Match|ParamSpec|AsyncIterator"
    "|AsyncGenerator|Literal|TextIO|BinaryIO|IO|Self|NoReturn|Never|Generic|Protocol"
    "|Future|TracebackType|SSLContext|Path|PathLike|socket|ModuleType|FrameType|BytesIO"
)
nitpick_ignore_regex = [
    # The standard library cannot be resolved offline (no intersphinx).
    ("py:.*", rf"({_STDLIB})(\..+)?"),
    ("py:.*", rf"({_BUILTINS})(\..+)?"),
    ("py:.*", rf"({_TYPING})"),
    # Private helpers and type variables that appear in signatures and bases.
    ("py:.*", r"(.*\.)?_[A-Za-z][A-Za-z0-9_]*|(.*\.)?[A-Z]"),
]

_PRIVATE = re.compile(
    r"^(squall\.[a-z_]+)\.(?:_[A-Za-z0-9_]+\.)+([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)$"
)


def _public_alias(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve ``squall.pkg._private.Name`` to its documented ``squall.pkg.Name``."""
    if node.get("refdomain") != "py":
        return None
    match = _PRIVATE.match(node.get("reftarget", ""))
    if not match:
        return None
    domain = env.get_domain("py")
    node = node.deepcopy()
    node["reftarget"] = f"{match.group(1)}.{match.group(2)}"
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], node["reftarget"], node, contnode
    )


def setup(app: Any) -> None:
    app.connect("missing-reference", _public_alias)
