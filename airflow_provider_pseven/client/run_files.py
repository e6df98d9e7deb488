"""The run directory's endpoints: download a file (or the run log), list a folder, upload files.

Bodies stream: downloads go into a :class:`~airflow_provider_pseven.client.transfer.Sink`, uploads
are read from disk as they are sent (:class:`~airflow_provider_pseven.client.multipart.MultipartBody`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from airflow_provider_pseven.client.calls import Call, Op, Reply, Retry
from airflow_provider_pseven.client.errors import PsevenConfigError, PsevenNotFoundError
from airflow_provider_pseven.client.models import FileEntry, UploadResult
from airflow_provider_pseven.client.multipart import MultipartBody
from airflow_provider_pseven.client.operations import RunRef
from airflow_provider_pseven.client.transfer import Sink, TailSink

LOG_FILE = ".p7.log.txt"

UploadSpec = str | os.PathLike[str] | tuple[str | os.PathLike[str], str]


def download(ref: RunRef, file: str, sink: Sink) -> Op[None]:
    """Stream a file of the run directory (path relative to it) into ``sink``."""
    if not file or not file.strip():
        raise PsevenConfigError("file to download is empty: give a path relative to the run directory")
    yield Call("GET", ref.path("download/"), base=ref.base, params=(("file", file),), sink=sink)


def read_log_tail(ref: RunRef, lines: int = 50) -> Op[str]:
    """The last ``lines`` lines of the run log (``.p7.log.txt``), or "" when there is none yet."""
    sink = TailSink(lines)
    try:
        yield from download(ref, LOG_FILE, sink)
    except PsevenNotFoundError:
        return ""
    return sink.text


def list_files(ref: RunRef, directory: str | None = None) -> Op[list[FileEntry]]:
    """Entries of the run directory, or of ``directory`` relative to it (``ls/``)."""
    params = (("directory", directory),) if directory else ()
    reply = yield Call("GET", ref.path("ls/"), base=ref.base, params=params)
    assert isinstance(reply, Reply)
    return reply.parsed(FileEntry.list_from_json, reply.json_object())


def upload(
    ref: RunRef,
    files: Sequence[UploadSpec] = (),
    *,
    destination: str | None = None,
    directories: Sequence[str] = (),
    chunk_size: int = 1024 * 1024,
) -> Op[UploadResult]:
    """Upload local files (each a path or ``(path, name in the run)``) and create directories.

    Local files are checked before anything is sent; bodies stream from disk.
    """
    if not files and not directories:
        raise PsevenConfigError("Nothing to upload: give files or directories")
    fields = [("destination", destination)] if destination else []
    fields += [("directory", name) for name in directories]
    parts: list[tuple[str, str | os.PathLike[str], str | None]] = []
    for spec in files:
        if isinstance(spec, tuple):
            local, remote = spec
            parts.append(("file", local, remote))
        else:
            parts.append(("file", spec, None))
    body = MultipartBody(fields, parts, chunk_size=chunk_size, label=f"upload to run {ref.run_id}")
    reply = yield Call("POST", ref.path("upload/"), base=ref.base, body=body, retry=Retry.UNSENT_ONLY)
    assert isinstance(reply, Reply)
    return reply.model(UploadResult.from_json)


__all__ = ["LOG_FILE", "UploadSpec", "download", "list_files", "read_log_tail", "upload"]
