"""What a task instance recorded about its pSeven run, read from XCom in the API server.

The operators push the run's address under :data:`~airflow_provider_pseven.links.ADDRESS_KEY`
(ids, connection id, name, state: never a parameter value). Older task instances, and tasks that
only address a run (sensors), are read from the summaries they return (``return_value``, or the
``pseven_run`` XCom of RunWorkflowOperator), with the default connection.

Reading goes through the API server's own database session (``SessionDep``) and ``XComModel``, the
way Airflow's XCom-based extra links are resolved; access is checked before (``app.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven.client import RunRef
from airflow_provider_pseven.client.errors import PsevenConfigError
from airflow_provider_pseven.links import ADDRESS_KEY

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Where a task may have left a run summary, in order of preference.
SUMMARY_KEYS = (ADDRESS_KEY, "pseven_run", "return_value")
DEFAULT_CONN = "pseven_default"


@dataclass(frozen=True)
class TaskInstanceId:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


@dataclass(frozen=True)
class RecordedRun:
    """A run as the task recorded it: its address, the connection to read it with, and what the
    task last saw (shown as is when the run is gone)."""

    ref: RunRef
    conn_id: str
    recorded: Mapping[str, Any] = field(default_factory=dict)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Names or ids the task declared as Secrets (``secret_parameters``)."""
        names = self.recorded.get("secret_parameters")
        return tuple(str(n) for n in names) if isinstance(names, list) else ()

    @property
    def task_view(self) -> dict[str, Any]:
        keep = ("name", "path", "state", "url", "conn_id")
        return {**self.ref.as_dict(), **{k: self.recorded[k] for k in keep if k in self.recorded}}


def _decode(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def recorded_run(summaries: Mapping[str, Any]) -> RecordedRun | None:
    """The run in the first summary (by :data:`SUMMARY_KEYS`) that holds an address, or None."""
    for key in SUMMARY_KEYS:
        summary = _decode(summaries.get(key))
        if not isinstance(summary, Mapping) or not summary.get("run_id"):
            continue
        if not (summary.get("workflow_id") or summary.get("app_id")):
            continue
        try:
            ref = RunRef.from_summary(summary)
        except PsevenConfigError:
            continue  # not an address this client would send: keep looking
        conn_id = summary.get("conn_id")
        return RecordedRun(ref, conn_id if isinstance(conn_id, str) and conn_id else DEFAULT_CONN, summary)
    return None


def read_summaries(session: Session, ti: TaskInstanceId) -> dict[str, Any]:
    """The task instance's XComs under :data:`SUMMARY_KEYS` (one query)."""
    from airflow.models.xcom import XComModel

    query = XComModel.get_many(
        run_id=ti.run_id, dag_ids=ti.dag_id, task_ids=ti.task_id, map_indexes=ti.map_index
    ).where(XComModel.key.in_(SUMMARY_KEYS))
    rows: list[Any] = list(session.scalars(query))  # XComModel rows (typed as 1-tuples)
    return {row.key: XComModel.deserialize_value(row) for row in rows}


def read_dag_run(session: Session, dag_id: str, run_id: str) -> list[tuple[TaskInstanceId, RecordedRun]]:
    """Every task instance of a DAG run that recorded a pSeven run, in task and map index order."""
    from airflow.models.xcom import XComModel

    query = XComModel.get_many(run_id=run_id, dag_ids=dag_id).where(XComModel.key.in_(SUMMARY_KEYS))
    grouped: dict[TaskInstanceId, dict[str, Any]] = {}
    rows: list[Any] = list(session.scalars(query))
    for row in rows:
        ti = TaskInstanceId(dag_id, run_id, row.task_id, row.map_index)
        grouped.setdefault(ti, {})[row.key] = XComModel.deserialize_value(row)
    found = [(ti, recorded_run(values)) for ti, values in grouped.items()]
    return sorted(
        ((ti, run) for ti, run in found if run is not None),
        key=lambda pair: (pair[0].task_id, pair[0].map_index),
    )
