"""What the tab shows, as JSON the page renders with ``textContent`` only.

One page view is one client operation of three requests: the run's details, its log's tail and the
run directory's root listing (:func:`page_op`). Parameter values of Secrets never leave this module:
they become "set" / "unset". Values are cut to a bounded size, and the log is a bounded tail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from typing import Any

from airflow_provider_pseven.client import Parameter, PsevenClient, Run, RunRef
from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.errors import (
    PsevenAuthError,
    PsevenError,
    PsevenNotFoundError,
)
from airflow_provider_pseven.client.models import FileEntry
from airflow_provider_pseven.client.operations import get_run, list_runs
from airflow_provider_pseven.client.run_files import list_files, log_tail_of
from airflow_provider_pseven.client.transfer import TailSink
from airflow_provider_pseven.ui.records import RecordedRun

LOG_LINES = 200
#: A longer line (or a log with no line breaks) keeps only its end.
MAX_LINE_BYTES = 4096
MAX_VALUE_CHARS = 2000


class BoundedTail(TailSink):
    """The last lines of a log, each at most :data:`MAX_LINE_BYTES`: memory stays bounded also for
    a huge log written without line breaks."""

    def __init__(self, lines: int = LOG_LINES, max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__(lines)
        self.max_line = max_line
        self.bytes_seen = 0

    def begin(self, total: int | None) -> None:
        super().begin(total)
        self.bytes_seen = 0

    def write(self, chunk: bytes) -> None:
        self.bytes_seen += len(chunk)
        super().write(chunk)
        if len(self._partial) > self.max_line:
            self._partial = self._partial[-self.max_line :]
        while self.lines and len(self.lines[-1]) > self.max_line:
            self.lines[-1] = "…" + self.lines[-1][-self.max_line :]


def shown(value: Any) -> str:
    """A parameter or result value as bounded text (JSON for structures)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + f"… ({len(text)} characters)"


def parameter_rows(parameters: Iterable[Parameter], secrets: Collection[str] = ()) -> list[dict[str, Any]]:
    """Name and value of each parameter; a Secret only as "set" / "unset" (the guide's GET shows a
    set Secret as "" and an unset one as null: neither is ever a value to show). A Secret is one
    the server marks, or one the task declared in ``secret_parameters`` (by name or id)."""
    rows = []
    for p in parameters:
        if p.is_secret or p.name in secrets or p.id in secrets:
            rows.append({"name": p.name, "secret": True, "value": "unset" if p.value is None else "set"})
        else:
            rows.append({"name": p.name, "secret": False, "value": shown(p.value), "type": p.type or ""})
    return rows


def file_rows(entries: Iterable[FileEntry]) -> list[dict[str, Any]]:
    return [
        {
            "name": e.name,
            "size": e.size,
            "dir": e.is_dir,
            "modified": e.modified.isoformat() if e.modified else None,
        }
        for e in sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))
    ]


def run_view(run: Run, secrets: Collection[str] = ()) -> dict[str, Any]:
    return {
        "name": run.name,
        "state": run.state_text,
        "terminal": run.state.is_terminal,
        "path": run.path,
        "url": run.url,
        "parameters": parameter_rows(run.parameters, secrets),
        "results": parameter_rows(run.results),
    }


def page_op(ref: RunRef, secrets: Collection[str] = (), lines: int = LOG_LINES) -> Op[dict[str, Any]]:
    """The whole page: details, log tail and the root listing, in three requests."""
    run = yield from get_run(ref)
    sink = BoundedTail(lines)
    tail = yield from log_tail_of(ref, run, sink)
    try:
        files: dict[str, Any] = {"entries": file_rows((yield from list_files(ref)))}
    except PsevenNotFoundError:
        raise
    except PsevenError as error:
        files = {"entries": [], "error": str(error)}
    return {
        "run": run_view(run, secrets),
        "log": {
            "text": tail.text,
            "source": "logfile_url" if not tail.guessed else tail.source,
            "bytes": sink.bytes_seen,
        },
        "files": files,
    }


def log_op(ref: RunRef, lines: int = LOG_LINES) -> Op[dict[str, Any]]:
    """The state and the log's tail, for following a running run (two requests)."""
    run = yield from get_run(ref)
    sink = BoundedTail(lines)
    tail = yield from log_tail_of(ref, run, sink)
    return {
        "state": run.state_text,
        "terminal": run.state.is_terminal,
        "text": tail.text,
        "bytes": sink.bytes_seen,
    }


def states_op(ref: RunRef) -> Op[dict[str, str]]:
    """The states of every run in ``ref``'s runs list (one request, shared by all its open tabs)."""
    return {run.id: run.state_text for run in (yield from list_runs(ref.kind, ref.parent_id))}


def guarded(
    recorded: RecordedRun | None,
    fetch: Callable[[PsevenClient, RunRef], dict[str, Any]],
    client_for: Callable[[str], PsevenClient],
) -> dict[str, Any]:
    """``fetch`` for the recorded run, or a status that says in words why there is nothing to show."""
    if recorded is None:
        return {
            "status": "none",
            "message": "This task instance has not deployed or addressed a pSeven run (yet): there is "
            "nothing to show. pSeven tasks record their run when they deploy or start it.",
        }
    base = {"task": recorded.task_view}
    try:
        client = client_for(recorded.conn_id)
    except LookupError as error:
        return {**base, "status": "no_connection", "message": str(error)}
    try:
        return {**base, "status": "ok", **fetch(client, recorded.ref)}
    except PsevenNotFoundError:
        return {
            **base,
            "status": "deleted",
            "message": f"Run {recorded.ref.run_id} no longer exists on the pSeven server: it was deleted. "
            "Shown below is what the task recorded.",
        }
    except PsevenAuthError as error:
        return {
            **base,
            "status": "error",
            "message": f"pSeven refused connection {recorded.conn_id!r}: {error}",
        }
    except PsevenError as error:
        return {**base, "status": "error", "message": str(error)}
