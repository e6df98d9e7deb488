"""A multipart/form-data body streamed from disk or object storage, with its length known up front.

``requests`` would read every file into memory for ``files=``; this body is iterated in chunks by
both drivers (sync iteration for requests, ``aiter`` for httpx) and declares ``Content-Length`` so no
chunked encoding is needed. A file is a local path or any :class:`FileSource` (an object in storage,
see ``tasks/inputs.py``): each is opened only while its bytes are sent, read ``chunk_size`` at a time.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from email.utils import encode_rfc2231
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from airflow_provider_pseven.client.errors import PsevenConfigError
from airflow_provider_pseven.client.transfer import Progress


@runtime_checkable
class FileSource(Protocol):
    """Bytes to upload that are not a local path: ``location`` names them in errors and logs."""

    location: str
    name: str
    size: int

    def open(self) -> IO[bytes]: ...


class LocalFile:
    """A local file as a :class:`FileSource`; checked when made, so a missing file fails early."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        local = Path(path)
        if not local.is_file():
            what = "a directory" if local.is_dir() else "missing"
            raise PsevenConfigError(f"Cannot upload {str(local)!r}: the local file is {what}")
        self.path = local
        self.location = str(local)
        self.name = local.name
        self.size = local.stat().st_size

    def open(self) -> IO[bytes]:
        return self.path.open("rb")


@dataclass(frozen=True)
class FilePart:
    """A file field: ``source`` sent under ``filename``."""

    field: str
    source: FileSource
    filename: str
    size: int


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """Text fields first, then files, read ``chunk_size`` bytes at a time."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        files: Sequence[tuple[str, str | os.PathLike[str] | FileSource, str | None]],
        *,
        chunk_size: int = 1024 * 1024,
        label: str = "upload",
    ) -> None:
        self.boundary = uuid.uuid4().hex
        self.chunk_size = chunk_size
        self.label = label
        self._fields = list(fields)
        self._files = [self._file_part(field, path, name) for field, path, name in files]
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.file_bytes = sum(part.size for part in self._files)
        self.content_length = sum(len(piece) for piece in self._heads()) + self.file_bytes

    @staticmethod
    def _file_part(field: str, path: str | os.PathLike[str] | FileSource, name: str | None) -> FilePart:
        source = path if isinstance(path, FileSource) else LocalFile(path)
        return FilePart(field, source, name or source.name, source.size)

    def _field_head(self, name: str) -> bytes:
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
        ).encode()

    def _file_head(self, part: FilePart) -> bytes:
        # RFC 7578 4.2: the name goes as UTF-8 in filename= (servers ignore filename* in forms);
        # filename* is added for the few parsers that only understand RFC 2231.
        disposition = f'form-data; name="{_quote(part.field)}"; filename="{_quote(part.filename)}"'
        if not part.filename.isascii():
            disposition += f"; filename*={encode_rfc2231(part.filename, 'utf-8')}"
        return (
            f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

    def _heads(self) -> Iterator[bytes]:
        """Every byte of the body that is not file content, in order."""
        for name, value in self._fields:
            yield self._field_head(name) + value.encode() + b"\r\n"
        for part in self._files:
            yield self._file_head(part)
            yield b"\r\n"
        yield f"--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return self.content_length

    def __iter__(self) -> Iterator[bytes]:
        progress = Progress(self.label, self.file_bytes, verb="uploaded")
        for name, value in self._fields:
            yield self._field_head(name) + value.encode() + b"\r\n"
        for part in self._files:
            yield self._file_head(part)
            sent = 0
            with part.source.open() as handle:
                while chunk := handle.read(self.chunk_size):
                    sent += len(chunk)
                    progress.add(len(chunk))
                    yield chunk
            if sent != part.size:
                raise PsevenConfigError(f"{part.source.location!r} changed size while it was being uploaded")
            yield b"\r\n"
        yield f"--{self.boundary}--\r\n".encode()
        progress.done()

    async def aiter(self) -> AsyncIterator[bytes]:
        """The same bytes for httpx; reads are one chunk each, short enough to do inline."""
        for chunk in self:
            yield chunk
