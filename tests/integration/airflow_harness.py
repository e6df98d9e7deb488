"""Run DAGs for real inside the test process with ``dag.test()`` (triggers run in-process too)."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DAGS_FOLDER


@functools.cache
def ensure_airflow_db() -> None:
    """Create the metadata database once per test session (SQLite in the private AIRFLOW_HOME)."""
    from airflow.utils.db import resetdb

    resetdb(skip_init=False)


def load_dag(file_name: str, dag_id: str | None = None) -> Any:
    """Import a DAG file from the session's DAGs folder and return its DAG."""
    path = DAGS_FOLDER / file_name
    spec = importlib.util.spec_from_file_location(f"dag_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = [value for value in vars(module).values() if type(value).__name__ == "DAG"]
    if dag_id is not None:
        dags = [dag for dag in dags if dag.dag_id == dag_id]
    assert len(dags) == 1, f"{file_name} defines {len(dags)} matching DAGs"
    return dags[0]


def run_dag(file_name: str, dag_id: str | None = None, **test_kwargs: Any) -> Any:
    """``dag.test()`` a DAG of the DAGs folder; returns the DagRun (states of its task instances)."""
    ensure_airflow_db()
    return load_dag(file_name, dag_id).test(**test_kwargs)


def task_states(dag_run: Any) -> dict[str, str]:
    return {
        ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": str(ti.state)
        for ti in dag_run.get_task_instances()
    }


def xcom(dag_run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id,
                key=key,
                task_ids=task_id,
                dag_ids=dag_run.dag_id,
                map_indexes=map_index,
            )
        ).first()
        return XComModel.deserialize_value(row) if row is not None else None


def run_with_openlineage(
    script: str, args: tuple[str, ...], events_file: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (which runs DAGs) in a fresh interpreter with the OpenLineage provider's
    listener writing events to ``events_file``: the listener decides at start-up whether it is on.
    The child makes its own AIRFLOW_HOME (tests/conftest.py); fails unless it exits 0."""
    root = Path(__file__).resolve().parents[2]
    child_env = {
        **os.environ,
        **env,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "pseven-tests",
        "PYTHONPATH": str(root),
    }
    child_env.pop("AIRFLOW_HOME", None)
    command = [sys.executable, "-c", script, *args]
    options: dict[str, Any] = {"env": child_env, "cwd": root, "capture_output": True, "text": True}
    done = subprocess.run(command, check=False, timeout=300, **options)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture
def pseven_connection(pseven_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An emulator, with ``pseven_default`` pointing at it for the DAGs of this test."""
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_DEFAULT", pseven_emulator.connection_json())
    monkeypatch.setenv("PSEVEN_TEST_EMULATOR_URL", pseven_emulator.url)
    # DAGs that patch parameters after a Secret was set restate it where the server needs every
    # parameter in a PATCH (see tests/integration/dags/it_lifecycle.py).
    full_patch = pseven_emulator.variants.partial_patch == "refused" or (
        pseven_emulator.variants.patch_omitted == "reset"
    )
    monkeypatch.setenv("PSEVEN_IT_FULL_PATCH", "1" if full_patch else "0")
    yield pseven_emulator
    os.environ.pop("AIRFLOW_CONN_PSEVEN_DEFAULT", None)
