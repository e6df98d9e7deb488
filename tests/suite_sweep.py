"""The end of the run: every trace the session stored holds no sweep value, and there were traces.

Every DAG run of the session (lifecycle, retries, example DAGs, app runs, failures...) used the
suite's recognisable token and Secret (tests/sweep_values.py); each test's output was searched as
it ended. At the end of a run that ran integration tests, every XCom and rendered template field
stored in the session's database and every task log file are searched too; a run that stored none
of them fails, since then the sweep checked nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.sweep_values import leaks


def stored_traces(airflow_home: Path) -> dict[str, list[str]]:
    """The session's stored XComs, rendered fields and task log files, as text, by kind."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = [json.dumps(row.value, default=str) for row in session.scalars(select(XComModel))]
        rendered = [
            json.dumps(row.rendered_fields, default=str)
            for row in session.scalars(select(RenderedTaskInstanceFields))
        ]
    logs = [p.read_text(errors="replace") for p in Path(airflow_home, "logs").rglob("*") if p.is_file()]
    return {"XComs": xcoms, "rendered fields": rendered, "task log files": logs}


def sweep_problems(airflow_home: Path) -> list[str]:
    """What is wrong with the session's stored traces: leaked values, or nothing to search."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        traces = stored_traces(airflow_home)
    except SQLAlchemyError as error:  # no metadata database: no integration test ran a DAG
        return [
            f"the suite sweep found no metadata database to search ({type(error).__name__}): it checked nothing"
        ]
    problems = [
        f"{found} stored in the session's {where}"
        for where, texts in traces.items()
        if (found := leaks("\n".join(texts)))
    ]
    if not any(traces.values()):
        counts = ", ".join(f"{len(texts)} {where}" for where, texts in traces.items())
        problems.append(f"the suite sweep found nothing to search ({counts}): it checked nothing")
    return problems
