"""Request bodies as form arguments and uploaded files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from squall.escape import parse_qs_bytes, utf8
from squall.util import ObjectDict

from ._errors import HTTPInputError
from ._helpers import _parse_header
from ._multipart_stream import MultipartData, MultipartParser, MultipartPartEnd

if TYPE_CHECKING:
    from ._headers import HTTPHeaders

__all__ = ["HTTPFile", "parse_body_arguments", "parse_multipart_form_data"]


class HTTPFile(ObjectDict):
    """An uploaded file: ``filename``, ``body`` (bytes) and ``content_type``.

    A dict whose keys are also attributes, so ``f["body"]`` and ``f.body`` agree.
    """

    filename: str
    body: bytes
    content_type: str


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
) -> None:
    """Add the form fields of a request body to ``arguments`` and its uploads to ``files``.

    Understands ``application/x-www-form-urlencoded`` and ``multipart/form-data``;
    other content types are left alone. Raises :class:`HTTPInputError` for a
    body that cannot be parsed, or when ``headers`` say the body is still
    compressed (``Content-Encoding``).
    """
    if headers is not None and "Content-Encoding" in headers:
        raise HTTPInputError(
            f"cannot parse a body with Content-Encoding {headers['Content-Encoding']}"
        )
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            fields = parse_qs_bytes(body, keep_blank_values=True)
        except Exception as exc:
            raise HTTPInputError(f"invalid urlencoded form body: {exc}") from exc
        for name, values in fields.items():
            known = arguments.get(name)
            if known is None:
                arguments[name] = values
            else:
                known += values
    elif content_type.startswith("multipart/form-data"):
        _, params = _parse_header(content_type)
        boundary = params.get("boundary")
        if not boundary:
            raise HTTPInputError("multipart/form-data without a boundary parameter")
        parse_multipart_form_data(utf8(boundary), body, arguments, files)


def parse_multipart_form_data(
    boundary: bytes,
    data: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
) -> None:
    """Add the fields and files of a ``multipart/form-data`` body.

    ``boundary`` comes from the ``Content-Type`` header (surrounding quotes are
    removed). Each part needs ``Content-Disposition: form-data`` with a
    ``name``; a part with a ``filename`` becomes an :class:`HTTPFile` (content
    type ``application/unknown`` when the part has none). Raises
    :class:`MultipartError` (an :class:`HTTPInputError`) for malformed bodies;
    :class:`MultipartParser` reads the same format incrementally.
    """
    parser = MultipartParser(boundary)
    pieces: list[bytes] = []
    for event in parser.feed(data):
        if type(event) is MultipartData:
            pieces.append(event.data)
        elif type(event) is MultipartPartEnd:
            part = event.part
            value = b"".join(pieces)
            pieces = []
            if part.filename is None:
                arguments.setdefault(part.name, []).append(value)
            else:
                upload = HTTPFile(
                    filename=part.filename, body=value, content_type=part.content_type
                )
                files.setdefault(part.name, []).append(upload)
    parser.finish()
