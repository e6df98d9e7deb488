"""The run directory's endpoints: download a file (or the run log), list a folder, upload files.

Bodies stream: downloads go into a :class:`~airflow_provider_pseven.client.transfer.Sink`, uploads
are read from disk as they are sent (:class:`~airflow_provider_pseven.client.multipart.MultipartBody`).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from airflow_provider_pseven.client.calls import Base, Call, Op, Reply, Retry
from airflow_provider_pseven.client.errors import (
    PsevenBadRequestError,
    PsevenConfigError,
    PsevenError,
    PsevenNotFoundError,
    PsevenTreeLimitError,
    PsevenUnsafeNameError,
)
from airflow_provider_pseven.client.ids import unsafe_reason
from airflow_provider_pseven.client.models import FileEntry, Run, UploadResult
from airflow_provider_pseven.client.multipart import FileSource, MultipartBody
from airflow_provider_pseven.client.operations import get_run
from airflow_provider_pseven.client.refs import RunRef
from airflow_provider_pseven.client.refusals import CONFIGURATION, state_checked
from airflow_provider_pseven.client.transfer import Sink, TailSink

LOG_FILE = ".p7.log.txt"

UploadSpec = str | os.PathLike[str] | FileSource | tuple[str | os.PathLike[str] | FileSource, str]


def download(ref: RunRef, file: str, sink: Sink) -> Op[None]:
    """Stream a file of the run directory (path relative to it) into ``sink``."""
    if not file or not file.strip():
        raise PsevenConfigError("file to download is empty: give a path relative to the run directory")
    yield Call("GET", ref.path("download/"), base=ref.base, params=(("file", file),), sink=sink)


@dataclass(frozen=True)
class LogTail:
    """The run log's last lines, and where they were looked for: ``source`` is the run's
    ``logfile_url``, or ``.p7.log.txt`` when its details give none (``guessed``)."""

    text: str
    source: str
    guessed: bool


def run_log_tail(ref: RunRef, lines: int = 50) -> Op[LogTail]:
    """The last ``lines`` lines of the run log ("" when there is none).

    The guide: "The log download full URL for a finished run can be found under the logfile_url
    key in run details" (Downloading the run log). A run that is not FINISHED may have no such URL;
    then the file its example URL names, ``.p7.log.txt``, is tried as a best effort.
    """
    run = yield from get_run(ref)
    return (yield from log_tail_of(ref, run, TailSink(lines)))


def log_tail_of(ref: RunRef, run: Run, sink: TailSink) -> Op[LogTail]:
    """The run log's tail into ``sink``, for a run already read (one request: see :func:`run_log_tail`)."""
    try:
        if run.logfile_url:
            yield Call("GET", run.logfile_url, base=Base.ABSOLUTE, sink=sink)
        else:
            yield from download(ref, LOG_FILE, sink)
    except PsevenNotFoundError:
        return LogTail("", run.logfile_url or LOG_FILE, guessed=not run.logfile_url)
    return LogTail(sink.text, run.logfile_url or LOG_FILE, guessed=not run.logfile_url)


def read_log_tail(ref: RunRef, lines: int = 50) -> Op[str]:
    """The text of :func:`run_log_tail`."""
    return (yield from run_log_tail(ref, lines)).text


def list_files(ref: RunRef, directory: str | None = None) -> Op[list[FileEntry]]:
    """Entries of the run directory, or of ``directory`` relative to it (``ls/``).

    The answer's ``count`` must match its entries: the guide shows no way to ask for more, so a
    server that lists fewer (a page) fails the listing rather than silently losing files.
    """
    params = (("directory", directory),) if directory else ()
    where = f"directory {directory!r}" if directory else "the run directory"
    try:
        reply = yield Call("GET", ref.path("ls/"), base=ref.base, params=params)
    except PsevenBadRequestError as error:
        if not directory or "/" not in directory.strip("/"):
            raise
        raise PsevenBadRequestError(
            error.method,
            error.path,
            error.status,
            error.detail,
            f"the guide lists a subdirectory by its name in the run directory root; this server "
            f"refuses the nested {where}, so it cannot be listed (list or download its parent instead)",
        ) from None
    assert isinstance(reply, Reply)
    data = reply.json_object()
    entries = reply.parsed(FileEntry.list_from_json, data)
    count = data.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count != len(entries):
        raise PsevenError(
            f"ls/ of run {ref.run_id} listed {len(entries)} entries of {where}, but its count says "
            f"{count}: the server gave a partial listing, and the guide shows no way to ask for the "
            "rest, so nothing was taken from it. List a smaller directory (a subdirectory)"
        )
    return entries


def safe_name(name: str, folder: str = "") -> str:
    """A server-given entry name, refused if it could step out of its folder or forge a log line."""
    reason = unsafe_reason(name)
    if reason is not None:
        where = f"folder {folder!r}" if folder else "the run directory"
        raise PsevenUnsafeNameError(
            f"The server listed an unsafe file name {name!r} in {where} ({reason}); refusing to write it"
        )
    return name


@dataclass(frozen=True)
class TreeLimits:
    """Bounds of a recursive listing: a server whose listing repeats itself (``a/a/a/...``) or a
    tree too big to fetch in one task stops here, with a message, instead of filling the disk."""

    max_depth: int = 64
    max_entries: int = 100_000
    #: The sum of the listed file sizes (bytes); None: no limit.
    max_bytes: int | None = 100 * 1024**3


def walk(
    ref: RunRef, directory: str = "", limits: TreeLimits = TreeLimits()
) -> Op[list[tuple[str, FileEntry]]]:
    """Every entry under ``directory``, depth first, each listed after its folder, as (path relative
    to the run, entry); iterative, and bounded by ``limits``. Every name is checked with
    :func:`safe_name` before it is used in a path."""
    found: list[tuple[str, FileEntry]] = []
    listed_bytes = 0
    stack: list[tuple[str, int, Iterator[FileEntry]]] = [
        (directory, 0, iter((yield from list_files(ref, directory or None))))
    ]
    while stack:
        folder, depth, rest = stack[-1]
        entry = next(rest, None)
        if entry is None:
            stack.pop()
            continue
        name = safe_name(entry.name, folder)
        path = posixpath.join(folder, name) if folder else name
        found.append((path, entry))
        if len(found) > limits.max_entries:
            raise _over(ref, directory, f"more than {limits.max_entries} entries", "max_entries")
        if entry.is_dir:
            if depth + 1 > limits.max_depth:
                raise _over(ref, directory, f"folders nested deeper than {limits.max_depth}", "max_depth")
            stack.append((path, depth + 1, iter((yield from list_files(ref, path)))))
        else:
            listed_bytes += max(entry.size, 0)
            if limits.max_bytes is not None and listed_bytes > limits.max_bytes:
                raise _over(ref, directory, f"more than {limits.max_bytes} bytes of files", "max_bytes")
    return found


def _over(ref: RunRef, directory: str, what: str, knob: str) -> PsevenTreeLimitError:
    return PsevenTreeLimitError(
        f"{directory or 'The run directory'!s} of run {ref.run_id} lists {what}: a listing that "
        f"repeats itself, or a tree too big for one task. Fetch a sub-folder, or raise TreeLimits.{knob}"
    )


def upload(
    ref: RunRef,
    files: Sequence[UploadSpec] = (),
    *,
    destination: str | None = None,
    directories: Sequence[str] = (),
    chunk_size: int = 1024 * 1024,
) -> Op[UploadResult]:
    """Upload files (each a local path or a :class:`FileSource`, or ``(that, name in the run)``) and
    create directories.

    Local files are checked before anything is sent; bodies stream from disk or the source.
    """
    if not files and not directories:
        raise PsevenConfigError("Nothing to upload: give files or directories")
    fields = [("destination", destination)] if destination else []
    fields += [("directory", name) for name in directories]
    parts: list[tuple[str, str | os.PathLike[str] | FileSource, str | None]] = []
    for spec in files:
        if isinstance(spec, tuple):
            local, remote = spec
            parts.append(("file", local, remote))
        else:
            parts.append(("file", spec, None))
    body = MultipartBody(fields, parts, chunk_size=chunk_size, label=f"upload to run {ref.run_id}")
    call = Call("POST", ref.path("upload/"), base=ref.base, body=body, retry=Retry.UNSENT_ONLY)
    reply = yield from state_checked(ref, call, CONFIGURATION)
    return reply.model(UploadResult.from_json)


__all__ = [
    "LOG_FILE",
    "LogTail",
    "TreeLimits",
    "UploadSpec",
    "download",
    "list_files",
    "log_tail_of",
    "read_log_tail",
    "run_log_tail",
    "safe_name",
    "upload",
    "walk",
]
