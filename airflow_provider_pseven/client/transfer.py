"""Where downloaded bytes go (sinks), and progress lines for long transfers.

A sink is told ``begin`` before the first byte of every try, so a retried download starts clean,
``finish`` when all bytes arrived, and ``abort`` after a failure: a file sink writes a temporary
file beside the target and renames it only on ``finish``, so nothing half-written is ever left.
"""

from __future__ import annotations

import collections
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Protocol

from airflow_provider_pseven.client.errors import PsevenConfigError, PsevenError
from airflow_provider_pseven.client.text import client_logger

log = client_logger()


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class Progress:
    """Logs bytes done and the rate at most every ``every`` seconds, then a final line."""

    def __init__(
        self, label: str, total: int | None, *, verb: str = "downloaded", every: float = 5.0
    ) -> None:
        self.label = label
        self.total = total
        self.verb = verb
        self.every = every
        self.done_bytes = 0
        self.started = time.monotonic()
        self._last = self.started

    def add(self, count: int) -> None:
        self.done_bytes += count
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            log.info("%s: %s", self.label, self._line(now))

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done_bytes / elapsed
        total = f" of {_human(self.total)}" if self.total else ""
        return f"{self.verb} {_human(self.done_bytes)}{total} in {elapsed:.1f} s ({_human(rate)}/s)"

    def done(self) -> None:
        log.info("%s: %s", self.label, self._line(time.monotonic()))


class Sink(Protocol):
    """Receives a download's bytes."""

    def begin(self, total: int | None) -> None: ...

    def write(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


class FileSink:
    """Writes to ``target`` atomically: a temporary file in the same folder, renamed when complete."""

    def __init__(self, target: str | os.PathLike[str], *, overwrite: bool = False, label: str = "") -> None:
        self.target = Path(target)
        self.overwrite = overwrite
        self.label = label or f"download to {self.target}"
        if self.target.is_dir():
            raise PsevenConfigError(f"Cannot download to {str(self.target)!r}: it is a directory")
        if self.target.exists() and not overwrite:
            raise PsevenConfigError(
                f"{str(self.target)!r} already exists; pass overwrite=True to replace it, or choose another path"
            )
        self.bytes_written = 0
        self._handle: IO[bytes] | None = None
        self._temp: Path | None = None
        self._progress: Progress | None = None

    def begin(self, total: int | None) -> None:
        self.abort()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".part", dir=self.target.parent)
        self._handle = os.fdopen(fd, "wb")
        self._temp = Path(name)
        self.bytes_written = 0
        self._progress = Progress(self.label, total)

    def write(self, chunk: bytes) -> None:
        assert self._handle is not None and self._progress is not None
        self._handle.write(chunk)
        self.bytes_written += len(chunk)
        self._progress.add(len(chunk))

    def finish(self) -> None:
        assert self._handle is not None and self._temp is not None and self._progress is not None
        self._handle.close()
        self._handle = None
        if self.target.exists() and not self.overwrite:
            self.abort()
            raise PsevenConfigError(f"{str(self.target)!r} appeared while downloading; not overwritten")
        os.replace(self._temp, self.target)
        self._temp = None
        self._progress.done()

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None


class StreamSink:
    """Writes into a binary file object the caller owns (a retry rewinds it when it can)."""

    def __init__(self, stream: IO[bytes], *, label: str = "download") -> None:
        self.stream = stream
        self.label = label
        self.bytes_written = 0
        self._start = stream.tell() if stream.seekable() else None
        self._progress: Progress | None = None

    def begin(self, total: int | None) -> None:
        if self.bytes_written:
            if self._start is None:
                raise PsevenError(f"{self.label}: the transfer broke and the target stream cannot be rewound")
            self.stream.seek(self._start)
            self.stream.truncate()
        self.bytes_written = 0
        self._progress = Progress(self.label, total)

    def write(self, chunk: bytes) -> None:
        assert self._progress is not None
        self.stream.write(chunk)
        self.bytes_written += len(chunk)
        self._progress.add(len(chunk))

    def finish(self) -> None:
        self.stream.flush()
        if self._progress:
            self._progress.done()

    def abort(self) -> None:
        """The caller owns the stream; nothing to undo here."""


class TailSink:
    """Keeps only the last ``lines`` lines of a text download (a run log can be large)."""

    def __init__(self, lines: int = 50) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=max(lines, 1))
        self._partial = b""

    def begin(self, total: int | None) -> None:
        self.lines.clear()
        self._partial = b""

    def write(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        self.lines.extend(line.decode("utf-8", "replace").rstrip("\r") for line in complete)

    def finish(self) -> None:
        if self._partial:
            self.lines.append(self._partial.decode("utf-8", "replace").rstrip("\r"))
            self._partial = b""

    def abort(self) -> None:
        self.begin(None)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
