"""One sweep over a whole run of DAGs (lifecycle, whole cycle, example DAG (a), a failing run):
a recognisable password, the token the sign-in returns, and a Secret parameter value appear in no
output line, log record, task log file, stored XCom, rendered template field or exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_pseven.emulator import User
from tests.conftest import AIRFLOW_HOME
from tests.integration.airflow_harness import run_dag, task_states

LOGIN = "sweeper@work.org"
PASSWORD = "pw-SWEEP-77aa19"
TOKEN = "tok-SWEEP-8c1e05"
SECRET = "secret-SWEEP-42f0d3"


def _stored(dag_runs) -> str:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    run_ids = [dag_run.run_id for dag_run in dag_runs]
    with create_session() as session:
        xcoms = session.scalars(select(XComModel).where(XComModel.run_id.in_(run_ids))).all()
        rtifs = session.scalars(
            select(RenderedTaskInstanceFields).where(RenderedTaskInstanceFields.run_id.in_(run_ids))
        ).all()
        return "\n".join(
            [json.dumps(row.value, default=str) for row in xcoms]
            + [json.dumps(row.rendered_fields, default=str) for row in rtifs]
        )


@pytest.mark.integration
@pytest.mark.pseven_emulator(users=[User(username=LOGIN, password=PASSWORD, token=TOKEN)])
def test_no_credential_or_secret_anywhere(pseven_emulator, monkeypatch, tmp_path, capfd, caplog):
    connection = {
        "conn_type": "pseven",
        "host": pseven_emulator.url,
        "login": LOGIN,
        "password": PASSWORD,  # signed in once per hook; the token comes back from auth/login/
        "extra": {"api_path": ".rest"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_DEFAULT", json.dumps(connection))
    for name in ("PSEVEN_IT_SECRET", "AIRFLOW_VAR_PSEVEN_MY_SECRET"):
        monkeypatch.setenv(name, SECRET)
    monkeypatch.setenv("PSEVEN_POLL_INTERVAL", "0.2")
    full_patch = pseven_emulator.variants.partial_patch == "refused" or (
        pseven_emulator.variants.patch_omitted == "reset"
    )  # see dags/it_lifecycle.py
    monkeypatch.setenv("PSEVEN_IT_FULL_PATCH", "1" if full_patch else "0")
    caplog.set_level("DEBUG")

    dag_runs = []
    for index, (file_name, dag_id) in enumerate(
        [
            ("it_lifecycle.py", None),
            ("it_more.py", "it_run_workflow"),
            ("example_pseven_run.py", None),
            ("it_more.py", "it_failing_run"),
        ]
    ):
        output = tmp_path / f"dag-{index}"  # each DAG downloads into its own folder
        output.mkdir()
        (output / "input.txt").write_text("1\n2\n")
        for name in ("PSEVEN_IT_OUTPUT", "PSEVEN_DEMO_OUTPUT"):
            monkeypatch.setenv(name, str(output))
        dag_runs.append(run_dag(file_name, dag_id))

    states = [task_states(dag_run) for dag_run in dag_runs]
    assert all(set(s.values()) == {"success"} for s in states[:3]), states
    assert states[3] == {"cycle": "failed"}
    assert pseven_emulator.requests.count(method="POST", path_suffix="/auth/login/") >= 1
    captured = capfd.readouterr()
    haystacks = {
        "stdout": captured.out,
        "stderr": captured.err,
        "log records and exceptions": "\n".join(
            f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
        ),
        "task log files": "\n".join(
            p.read_text(errors="replace") for p in Path(AIRFLOW_HOME, "logs").rglob("*") if p.is_file()
        ),
        "stored XComs and rendered fields": _stored(dag_runs),
        "files the DAGs wrote": "\n".join(
            p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png"
        ),
    }
    # The failing run's exception and log tail were logged (so exception paths were searched too).
    logged = haystacks["stdout"] + haystacks["log records and exceptions"]
    assert "Last 50 lines of the run log" in logged and "the solver diverged" in logged
    for where, text in haystacks.items():
        for value in (PASSWORD, TOKEN, SECRET):
            assert value not in text, f"{value!r} leaked into {where}"
