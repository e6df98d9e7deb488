"""How a wait ended, and the XCom-safe summaries of what it saw: what operators and their resumed
``execute_complete`` read, apart from the waiting loops (:mod:`.waiting`), which a worker imports only
when it waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_pseven.client.models import AppVersion, Run
from airflow_provider_pseven.client.refs import RunRef

Status = Literal["success", "failed", "timeout"]


@dataclass(frozen=True)
class WaitResult:
    """How a wait ended, and what it saw last (a run summary, app details or a message)."""

    status: Status
    state: str
    payload: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def as_event(self) -> dict[str, Any]:
        """The TriggerEvent payload: plain JSON, read by the operators' ``execute_complete``.
        (Built by hand: ``dataclasses.asdict`` deep-copies, which 10,000 ending waits notice.)"""
        return {
            "status": self.status,
            "state": self.state,
            "payload": dict(self.payload),
            "message": self.message,
        }


def run_summary(ref: RunRef, run: Run) -> dict[str, Any]:
    """The XCom-safe view of a run: ids, name, path, url and state; never parameter values."""
    return {
        **ref.as_dict(),
        "name": run.name,
        "path": run.path,
        "url": run.url,
        "state": run.state_text,
    }


def app_summary(app: AppVersion) -> dict[str, Any]:
    return {
        "app_id": app.id,
        "version": app.version,
        "revision": app.revision,
        "url": app.url,
        "state": app.state_text,
    }


#: How long a run a task gave up on while QUEUED_TO_RUN is watched, so it can be interrupted
#: once it runs (docs/reliability.md): a long queue on a busy cluster, not forever.
QUEUED_WATCH_LIMIT = 24 * 3600.0
