"""Streaming multipart parsing for resource uploads.

Starlette's ``request.form()`` spools the whole file to a temporary file before the
handler runs, so a size limit could only be checked after 2 GiB were on disk, and the
file would then be copied again into the content-addressed store. Here python-multipart's
streaming parser feeds the upload straight into the store's writer: one pass, hashed on
the way, refused the moment it passes the limit, never whole in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from vntwin.catalog.resources import StoredUpload, safe_filename
from vntwin.catalog.storage import UploadStore, UploadWriter
from vntwin.errors import BadRequest, TooLarge

MAX_FIELD_BYTES = 1024 * 1024
MAX_FIELDS = 200
FILE_FIELD = "upload"


class _FormCollector:
    """Callbacks for MultipartParser: text fields into a dict, the file into the store."""

    def __init__(self, store: UploadStore) -> None:
        self.store = store
        self.fields: dict[str, Any] = {}
        self.upload: StoredUpload | None = None
        self.writer: UploadWriter | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._buffer = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, s, e: self._add("_header_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_header_value", d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def part_begin(self) -> None:
        self._headers = {}
        self._buffer = bytearray()
        self._filename = None

    def header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = b""
        self._header_value = b""

    def headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        if len(self.fields) >= MAX_FIELDS:
            raise BadRequest("too many form fields")
        if raw_filename is not None:
            if self._name != FILE_FIELD:
                raise BadRequest(f"files are only accepted in the {FILE_FIELD!r} field")
            if self.writer is not None or self.upload is not None:
                raise BadRequest("only one file may be uploaded per request")
            self._filename = safe_filename(raw_filename.decode("utf-8", "replace"))
            self.writer = self.store.writer()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._filename is not None and self.writer is not None:
            self.writer.write(data[start:end])
            return
        self._buffer += data[start:end]
        if len(self._buffer) > MAX_FIELD_BYTES:
            raise BadRequest(f"form field {self._name!r} is larger than {MAX_FIELD_BYTES} bytes")

    def part_end(self) -> None:
        if self._filename is not None and self.writer is not None:
            sha, size, path = self.writer.commit()
            self.upload = StoredUpload(sha, size, path, self._filename)
            self.writer = None
            return
        try:
            self.fields[self._name] = self._buffer.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"form field {self._name!r} is not UTF-8") from None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


async def parse_multipart(
    content_type: str, content_length: str | None, stream: AsyncIterator[bytes],
    store: UploadStore, discard: Callable[[StoredUpload], Awaitable[None]],
) -> tuple[dict[str, Any], StoredUpload | None]:
    """Parse a multipart body: (text fields, the uploaded file if any).

    ``discard`` removes an already stored file when a later part of the body is refused
    (it may share its bytes with an existing resource, so only the caller can tell).
    """
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart request without a boundary")
    if content_length and content_length.isdigit() and \
            int(content_length) > store.max_bytes + MAX_FIELDS * MAX_FIELD_BYTES:
        raise TooLarge(f"upload is larger than the limit of {store.max_bytes:,} bytes")
    collector = _FormCollector(store)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
        if collector.writer is not None:
            raise BadRequest("the multipart body ended inside the file")
    except BaseException:
        collector.abort()
        if collector.upload is not None:
            await discard(collector.upload)
        raise
    return collector.fields, collector.upload
