"""No Secret parameter value and no token in any log line, XCom, rendered field or exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AIRFLOW_HOME
from tests.integration.airflow_harness import run_dag, task_states, xcom

TOKEN = "tok-RECOGNISABLE-5f3a9c"
SECRET = "SECRET-VALUE-Zq81x"


def _stored_rows(dag_run) -> list[str]:
    """Every XCom value and rendered template field stored for the DAG run, as text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = session.scalars(select(XComModel).where(XComModel.run_id == dag_run.run_id)).all()
        rtifs = session.scalars(
            select(RenderedTaskInstanceFields).where(RenderedTaskInstanceFields.run_id == dag_run.run_id)
        ).all()
        return [json.dumps(row.value, default=str) for row in xcoms] + [
            json.dumps(row.rendered_fields, default=str) for row in rtifs
        ]


@pytest.mark.integration
@pytest.mark.pseven_emulator(token=TOKEN)
def test_no_secret_anywhere(pseven_connection, monkeypatch, tmp_path, capfd, caplog):
    monkeypatch.setenv("PSEVEN_IT_OUTPUT", str(tmp_path))
    monkeypatch.setenv("PSEVEN_IT_SECRET", SECRET)
    (tmp_path / "input.txt").write_text("x\n")
    caplog.set_level("DEBUG")

    dag_run = run_dag("it_lifecycle.py")

    assert set(task_states(dag_run).values()) == {"success"}
    # The Secret set at deploy survived the later PATCH of another parameter: the workflow saw it.
    assert xcom(dag_run, "results")["SecretLength"] == len(SECRET)
    captured = capfd.readouterr()
    haystacks = {
        "stdout": captured.out,
        "stderr": captured.err,
        "log records": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
        "stored XCom and rendered fields": "\n".join(_stored_rows(dag_run)),
        "task log files": "\n".join(
            p.read_text(errors="replace") for p in Path(AIRFLOW_HOME, "logs").rglob("*") if p.is_file()
        ),
    }
    assert len(haystacks["stdout"]) + len(haystacks["log records"]) > 1000, "nothing was captured"
    for where, text in haystacks.items():
        assert SECRET not in text, f"the Secret value leaked into {where}"
        assert TOKEN not in text, f"the token leaked into {where}"
