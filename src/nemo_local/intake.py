"""Uploads streamed straight to disk, in constant memory.

A multipart body is fed chunk by chunk through ``python_multipart``'s streaming parser; each
file's bytes go to its destination file (written in a worker thread), never to memory or to a
temporary spool first, so a 500 MB upload costs a few chunks of memory. A file is refused as soon
as its name (4001), its first bytes (4001) or its size (4002) says so; on any failure every file
of the request is deleted (a request is stored whole or not at all).

URL mode fetches only ``http(s)`` URLs on this computer (``localhost``, ``127.0.0.0/8``, ``::1``):
the local backend runs without network and must not be a way to make requests elsewhere. Other
URLs are refused with 4001 and advice to upload the file itself. Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import anyio
import httpx
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from nemo_local import api_errors, filetypes
from nemo_local.api_errors import ApiError
from nemo_local.filetypes import FileType

FIELD_NAMES = (b"files", b"file")
FORM_OVERHEAD = 1024 * 1024
"""Bytes a multipart body may carry beyond the size limit (boundaries, headers, small fields)."""
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Received:
    name: str
    file_type: FileType
    path: Path
    bytes: int


class _Part:
    """One file being received: checks each chunk, then appends it to a hidden temporary name."""

    def __init__(self, name: str, file_type: FileType, directory: Path, max_bytes: int) -> None:
        self.name = name
        self.file_type = file_type
        self.max_bytes = max_bytes
        self.path = directory / f".part-{uuid.uuid4().hex}"
        self.file: BinaryIO = self.path.open("wb")
        self.size = 0
        self.head = bytearray()
        self.checked = False

    def accept(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise ApiError(api_errors.TOO_LARGE, too_large(self.name, self.max_bytes))
        if not self.checked:
            self.head += chunk[: filetypes.SNIFF_BYTES - len(self.head)]
            if len(self.head) >= filetypes.SNIFF_BYTES:
                self.check_content()

    def check_content(self) -> None:
        self.checked = True
        verdict = filetypes.check(self.name, bytes(self.head))
        if isinstance(verdict, str):
            raise ApiError(api_errors.UNSUPPORTED_TYPE, verdict)

    def keep(self, new_id: Callable[[], str]) -> Received:
        """Close the file and give it its final name ``<media id>.<ext>``."""
        if not self.checked:
            self.check_content()
        self.file.close()
        ext = filetypes.extension_of(self.name)
        final = self.path.with_name(f"{new_id()}.{ext}")
        self.path.replace(final)
        return Received(self.name, self.file_type, final, self.size)

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def too_large(name: str, max_bytes: int) -> str:
    return f"{name} is larger than the {max_bytes // (1024 * 1024)} MB limit; trim or compress it."


def _clean_name(raw: str) -> str:
    """The base name of a client-supplied file name, without control characters."""
    name = _UNSAFE.sub("", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[-200:]


class _MultipartSink:
    """The parser's callbacks: collect part headers, route file bytes to their ``_Part``."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.parts: list[_Part] = []
        self.complete: list[_Part] = []
        self.current: _Part | None = None
        self.pending: list[tuple[_Part, bytes]] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()

    def parser(self, boundary: bytes) -> MultipartParser:
        return MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}
        self.current = None

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        raw_name = options.get(b"filename")
        if options.get(b"name") not in FIELD_NAMES or not raw_name:
            return  # another field, or an empty file input: ignored
        name = _clean_name(raw_name.decode("utf-8", "replace"))
        file_type = filetypes.check_extension(name)
        if isinstance(file_type, str):
            raise ApiError(api_errors.UNSUPPORTED_TYPE, file_type)
        self.current = _Part(name, file_type, self.directory, self.max_bytes)
        self.parts.append(self.current)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current is not None:
            chunk = bytes(data[start:end])
            self.current.accept(chunk)
            self.pending.append((self.current, chunk))

    def _part_end(self) -> None:
        if self.current is not None:
            self.complete.append(self.current)
            self.current = None

    def flush(self) -> None:
        """Write what the parser produced (called in a worker thread)."""
        for part, chunk in self.pending:
            part.file.write(chunk)
        self.pending.clear()


async def receive_multipart(
    body: AsyncIterator[bytes],
    content_type: str,
    directory: Path,
    max_bytes: int,
    new_id: Callable[[], str],
) -> list[Received]:
    """Store every file of the ``files`` field of a multipart ``body`` under ``directory``."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(api_errors.BAD_REQUEST, "The multipart body has no boundary.")
    sink = _MultipartSink(directory, max_bytes)
    total = 0
    try:
        try:
            parser = sink.parser(boundary)
            async for chunk in body:
                total += len(chunk)
                if total > max_bytes + FORM_OVERHEAD:
                    raise ApiError(api_errors.TOO_LARGE, too_large("The upload", max_bytes))
                parser.write(chunk)
                if sink.pending:
                    await anyio.to_thread.run_sync(sink.flush)
            parser.finalize()
        except FormParserError as exc:
            raise ApiError(api_errors.BAD_REQUEST, f"Malformed multipart body: {exc}") from exc
        if len(sink.complete) != len(sink.parts):
            raise ApiError(
                api_errors.BAD_REQUEST, "The multipart body ended in the middle of a file."
            )
        if not sink.parts:
            raise ApiError(
                api_errors.BAD_REQUEST, "No files: send them in the multipart field files."
            )
        return [part.keep(new_id) for part in sink.parts]
    except BaseException:
        for part in sink.parts:
            part.discard()
        raise


def check_url(url: str) -> str:
    """``url`` if the local backend may fetch it, else 4001 with what to do instead."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        scheme = parts.scheme
    except ValueError:
        loopback, scheme = False, ""
    if scheme not in ("http", "https") or not loopback:
        raise ApiError(
            api_errors.UNSUPPORTED_TYPE,
            "The local backend only fetches http(s) URLs on this computer (localhost, "
            f"127.0.0.1); download {url[:100]} and upload the file instead.",
        )
    return url


async def fetch_url(
    client: httpx.AsyncClient,
    url: str,
    directory: Path,
    max_bytes: int,
    new_id: Callable[[], str],
) -> Received:
    """Download a loopback ``url`` into ``directory`` with the same checks as an upload."""
    name = _clean_name(unquote(urlsplit(url).path)) or "download"
    part: _Part | None = None
    try:
        async with client.stream("GET", check_url(url), follow_redirects=False) as response:
            if response.status_code != 200:
                raise ApiError(
                    api_errors.BAD_REQUEST,
                    f"Could not fetch {url[:100]}: HTTP {response.status_code}",
                )
            if not filetypes.extension_of(name):
                ext = filetypes.extension_for_content_type(response.headers.get("content-type", ""))
                name = f"{name}.{ext}" if ext else name
            file_type = filetypes.check_extension(name)
            if isinstance(file_type, str):
                raise ApiError(api_errors.UNSUPPORTED_TYPE, file_type)
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise ApiError(api_errors.TOO_LARGE, too_large(name, max_bytes))
            part = _Part(name, file_type, directory, max_bytes)
            async for chunk in response.aiter_bytes():
                part.accept(chunk)
                await anyio.to_thread.run_sync(part.file.write, chunk)
        return part.keep(new_id)
    except httpx.HTTPError as exc:
        if part:
            part.discard()
        raise ApiError(api_errors.BAD_REQUEST, f"Could not fetch {url[:100]}: {exc}") from exc
    except BaseException:
        if part:
            part.discard()
        raise
