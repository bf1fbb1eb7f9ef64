"""Output transforms: per-request filters between a handler and the connection.

An :class:`~squall.web.Application` lists transform *classes*; each request
that writes output gets fresh instances, which see the status, the headers
and the first piece of body, then every later piece.  squall ships gzip
compression (:class:`GZipContentEncoding`, the ``compress_response``
setting) and :class:`ChunkedTransferEncoding`, kept for Tornado programs
that name it (squall's connection frames streamed bodies itself).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from squall.httputil import HTTPHeaders

if TYPE_CHECKING:
    from squall.httputil import HTTPServerRequest

__all__ = ["ChunkedTransferEncoding", "GZipContentEncoding", "OutputTransform"]


class OutputTransform:
    """Base class: rewrites a response as it is written (for example gzip encoding).

    Applications rarely use transforms directly: the framework picks them
    from its settings. Subclasses override both methods; this base passes
    everything through unchanged.
    """

    def __init__(self, request: HTTPServerRequest) -> None:
        pass

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        """Adjust the status, headers and first body piece; ``finishing`` means no more follow."""
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        """Adjust a later body piece (``finishing`` for the last one)."""
        return chunk


def _accepts_gzip(request: HTTPServerRequest) -> bool:
    offered = request.headers.get("Accept-Encoding", "")
    return "gzip" in offered


def _gzip_fields(packed: bytes, whole: bool) -> dict[str, str]:
    fields = {"Content-Encoding": "gzip"}
    if whole:
        fields["Content-Length"] = str(len(packed))
    return fields


class GZipContentEncoding(OutputTransform):
    """Compresses text-like responses with gzip for clients that accept it.

    A response is compressed when the request's ``Accept-Encoding`` names
    gzip, the content type is ``text/*`` or one of :attr:`CONTENT_TYPES`,
    no ``Content-Encoding`` is set yet, and either the body is streamed (sent
    in several flushes) or it is at least :attr:`MIN_LENGTH` bytes long.
    ``Vary: Accept-Encoding`` is added to every response that passes through.
    """

    #: Non-``text/`` types worth compressing.
    CONTENT_TYPES = {
        "application/javascript",
        "application/x-javascript",
        "application/xml",
        "application/atom+xml",
        "application/json",
        "application/xhtml+xml",
        "image/svg+xml",
    }
    #: zlib compression level (1 fastest .. 9 smallest).
    GZIP_LEVEL = 6
    #: Whole bodies shorter than this are sent as they are: gzip would not pay.
    MIN_LENGTH = 1024

    def __init__(self, request: HTTPServerRequest) -> None:
        self._wanted = _accepts_gzip(request)
        self._packer: zlib._Compress | None = None

    def _compressible_type(self, ctype: str) -> bool:
        media = ctype.partition(";")[0].strip().lower()
        return media.startswith("text/") or media in self.CONTENT_TYPES

    def _worth_it(self, status_code: int, headers: HTTPHeaders, size: int, finishing: bool) -> bool:
        return (
            self._wanted
            and status_code not in (204, 304)
            and "Content-Encoding" not in headers
            and self._compressible_type(headers.get("Content-Type", ""))
            # A streamed body (not finishing) is compressed whatever its size.
            and (size >= self.MIN_LENGTH or not finishing)
        )

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        # Caches must keep compressed and plain answers apart, whichever this is.
        earlier = headers.get("Vary")
        headers["Vary"] = "Accept-Encoding" if not earlier else earlier + ", Accept-Encoding"
        if not self._worth_it(status_code, headers, len(chunk), finishing):
            return status_code, headers, chunk
        self._packer = zlib.compressobj(self.GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        packed = self.transform_chunk(chunk, finishing)
        # The length is known only when this is the whole body.
        headers.pop("Content-Length", None)
        headers.update(_gzip_fields(packed, finishing))
        return status_code, headers, packed

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        packer = self._packer
        if packer is None:
            return chunk
        # Each flush must reach the client decodable: sync-flush the stream
        # between pieces, close it at the end.
        mode = zlib.Z_FINISH if finishing else zlib.Z_SYNC_FLUSH
        return packer.compress(chunk) + packer.flush(mode)


class ChunkedTransferEncoding(OutputTransform):
    """Declares chunked transfer coding for a streamed HTTP/1.1 response.

    Kept for Tornado programs that list it in ``transforms``. In squall the
    connection already frames every HTTP/1.1 response whose length is not
    known when its headers go out (the first :meth:`~squall.web.RequestHandler.flush`),
    so this transform only adds the ``Transfer-Encoding: chunked`` header in
    that case and leaves the body pieces to the connection's framing.
    """

    def __init__(self, request: HTTPServerRequest) -> None:
        self._eligible = request.version == "HTTP/1.1"

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        framed = "Content-Length" in headers or "Transfer-Encoding" in headers
        if self._eligible and not (finishing or framed or status_code in (204, 304)):
            headers.add("Transfer-Encoding", "chunked")
        return super().transform_first_chunk(status_code, headers, chunk, finishing)
