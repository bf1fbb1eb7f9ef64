"""Markdown to HTML for blog entries, with the author's raw HTML kept out.

Entries are written by any signed-up user, so their Markdown is rendered
*safely*: HTML typed into an entry shows up as text (the ``markdown``
package's raw-HTML block and inline stages are switched off, so the
serializer escapes it), and links or images whose address uses a scheme other
than http, https or mailto (``javascript:``, ``data:``, ...) lose that address.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

try:
    import markdown
    from markdown.extensions import Extension
    from markdown.treeprocessors import Treeprocessor
except ImportError:  # pragma: no cover - the demos' requirements install it
    markdown = None

MISSING = (
    "the blog renders Markdown with the 'markdown' package; install it with\n"
    "    python3 -m pip install -r demos/requirements.txt"
)

_ALLOWED_SCHEME = re.compile(r"^(?:https?:|mailto:|[^:/?#]*(?:[/?#]|$))", re.IGNORECASE)


def _address_ok(address: str) -> bool:
    # Relative addresses (no scheme before the first / ? #) and a few schemes pass.
    squeezed = re.sub(r"[\x00-\x20]+", "", address)
    return bool(_ALLOWED_SCHEME.match(squeezed))


if markdown is not None:

    class _DropUnsafeAddresses(Treeprocessor):
        def run(self, root: Element) -> None:
            for node in root.iter():
                for attribute in ("href", "src"):
                    value = node.get(attribute)
                    if value is not None and not _address_ok(value):
                        node.set(attribute, "#")

    class _SafeMarkdown(Extension):
        def extendMarkdown(self, md: Any) -> None:
            md.preprocessors.deregister("html_block")
            md.inlinePatterns.deregister("html")
            md.treeprocessors.register(_DropUnsafeAddresses(md), "squall_safe_addresses", 0)


def to_html(text: str) -> str:
    """Render Markdown ``text`` to an HTML fragment that is safe to embed as is."""
    if markdown is None:
        raise RuntimeError(MISSING)
    converter = markdown.Markdown(extensions=[_SafeMarkdown(), "fenced_code", "tables"])
    return str(converter.convert(text))
