"""Reading request bodies under a byte limit.

A Content-Length over the limit is refused before any of the body is read;
without one (chunked transfer), the body is refused as soon as it passes the
limit. Multipart bodies are parsed as they stream in, keeping only the
``file`` part."""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from aptmagic.kit.errors import InvalidRequest
from aptmagic.uploads.errors import MalformedBody, UnsupportedType, UploadTooLarge

MULTIPART_SLACK = 64 * 1024
"""Bytes allowed on top of the file for boundaries, part headers and other fields."""
FILE_FIELD = "file"


@dataclass
class ReceivedFile:
    data: bytes
    filename: str | None
    content_type: str | None


def too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"the upload is larger than {limit:,} bytes", details={"max_bytes": limit})


def check_content_length(request: Request, limit: int) -> None:
    value = request.headers.get("content-length")
    if value is None:
        return
    try:
        length = int(value)
    except ValueError:
        raise MalformedBody("Content-Length is not a number") from None
    if length > limit:
        raise too_large(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past ``limit`` bytes."""
    check_content_length(request, limit)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large(limit)
    except ClientDisconnect:
        raise MalformedBody("the client went away before the upload ended") from None
    return bytes(body)


class _FilePart:
    """Callbacks for python-multipart: collect the ``file`` part, count the rest."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.data = bytearray()
        self.filename: str | None = None
        self.content_type: str | None = None
        self.found = 0
        self.other_bytes = 0
        self.ended = False
        self.over = False
        self._in_file = False
        self._headers: dict[str, str] = {}
        self._field = bytearray()
        self._value = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_end(self) -> None:
        # latin-1 keeps every byte; the file name is read as UTF-8 below
        self._headers[self._field.decode("latin-1").strip().lower()] = self._value.decode("latin-1").strip()
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name != FILE_FIELD:
            return
        self.found += 1
        self._in_file = self.found == 1
        if self._in_file:
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace") if filename else None
            self.content_type = self._headers.get("content-type")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.data += data[start:end]
            self.over = self.over or len(self.data) > self.max_bytes
        else:
            self.other_bytes += end - start

    def _end(self) -> None:
        self.ended = True


async def read_multipart_file(request: Request, max_bytes: int) -> ReceivedFile:
    """The ``file`` field of a multipart/form-data body."""
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data":
        raise UnsupportedType(
            f"send the file as multipart/form-data in a field named {FILE_FIELD!r}, "
            "or use POST /api/v1/uploads/presign and PUT the raw bytes"
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedBody("the multipart Content-Type has no boundary")
    limit = max_bytes + MULTIPART_SLACK
    check_content_length(request, limit)
    part = _FilePart(max_bytes)
    try:
        parser = MultipartParser(boundary, part.callbacks())  # type: ignore[arg-type]
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large(max_bytes)
            parser.write(chunk)
            if part.over or part.other_bytes > MULTIPART_SLACK:
                raise too_large(max_bytes)
        parser.finalize()
    except (MultipartParseError, ValueError) as exc:
        raise MalformedBody(f"the multipart body is malformed ({exc})") from None
    except ClientDisconnect:
        raise MalformedBody("the client went away before the upload ended") from None
    if part.found == 0:
        raise InvalidRequest.field(
            ["body", FILE_FIELD], "Field required; send the file in a part named 'file'", "missing"
        )
    if part.found > 1:
        raise InvalidRequest.field(["body", FILE_FIELD], "send one file per upload")
    if not part.ended:
        raise MalformedBody("the multipart body ended before its closing boundary")
    return ReceivedFile(bytes(part.data), part.filename, part.content_type)
