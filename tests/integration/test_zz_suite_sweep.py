"""Last of the integration tests: the whole session's stored traces hold no sweep value.

Every DAG run of the session (lifecycle, retries, example DAGs, app runs, failures...) used the
suite's recognisable token and Secret (tests/sweep_values.py); each test's output was searched as
it ended. Here every XCom and rendered template field stored in the session's database and every
task log file are searched too. (Named ``zz`` so pytest runs it after the other integration tests.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AIRFLOW_HOME
from tests.integration.airflow_harness import ensure_airflow_db
from tests.sweep_values import leaks


@pytest.mark.integration
def test_no_sweep_value_stored_by_the_whole_session():
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    ensure_airflow_db()
    with create_session() as session:
        xcoms = [json.dumps(row.value, default=str) for row in session.scalars(select(XComModel))]
        rendered = [
            json.dumps(row.rendered_fields, default=str)
            for row in session.scalars(select(RenderedTaskInstanceFields))
        ]
    logs = [p.read_text(errors="replace") for p in Path(AIRFLOW_HOME, "logs").rglob("*") if p.is_file()]
    for where, texts in (("XComs", xcoms), ("rendered fields", rendered), ("task log files", logs)):
        found = leaks("\n".join(texts))
        assert not found, f"{found} stored in the session's {where}"
