"""A run file streamed through the API server: the client's download runs in a thread and hands
its chunks over a small bounded queue to the response, so memory stays flat for any file size and
a browser that stops reading stops the download."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from airflow_provider_pseven.client import PsevenClient, PsevenError, RunRef

_DONE = object()
#: Chunks in flight between the pSeven download and the browser (each up to the client's chunk size).
QUEUE_CHUNKS = 8


class _Cancelled(Exception):
    """The browser went away: the download thread stops at its next chunk."""


class QueueSink:
    """A download sink that feeds a bounded queue; a retry after bytes went out cannot rewind."""

    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.sent = 0

    def begin(self, total: int | None) -> None:
        if self.sent:
            raise PsevenError("the download broke after part of the file was sent; download it again")

    def write(self, chunk: bytes) -> None:
        while not self.cancelled.is_set():
            try:
                self.chunks.put(chunk, timeout=0.5)
                self.sent += len(chunk)
                return
            except queue.Full:
                continue
        raise _Cancelled

    def finish(self) -> None:
        """The end is signalled by the thread, after the download returns."""

    def abort(self) -> None:
        """Nothing is kept here to undo."""


def first_chunk_then_rest(client: PsevenClient, ref: RunRef, file: str) -> Iterator[bytes]:
    """The file's bytes. The first chunk (or the error, e.g. not found) is awaited before this
    returns, so the caller can still answer with an error status instead of a broken body."""
    chunks: queue.Queue[object] = queue.Queue(QUEUE_CHUNKS)
    cancelled = threading.Event()

    def pump() -> None:
        try:
            client.download(ref, file, QueueSink(chunks, cancelled))
            outcome: object = _DONE
        except _Cancelled:
            return
        except BaseException as error:  # handed to the reading side, which raises it
            outcome = error
        while not cancelled.is_set():
            try:
                chunks.put(outcome, timeout=0.5)
                return
            except queue.Full:
                continue

    threading.Thread(target=pump, name="pseven-ui-download", daemon=True).start()
    first = chunks.get()
    if isinstance(first, BaseException):
        raise first

    def rest() -> Iterator[bytes]:
        try:
            item = first
            while item is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, bytes)
                yield item
                item = chunks.get()
        finally:
            cancelled.set()

    return rest()
