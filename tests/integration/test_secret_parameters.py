"""A Secret from a Variable whose key has no sensitive word (``{{ var.value.solver_license }}``),
declared in ``secret_parameters``, is never stored or shown: not in the metadata database (read
whole, byte by byte: rendered fields, XComs, task instance notes, everything), the task logs, the
OpenLineage events or any exception text, on the success path and on each failure path of setting
up a run: a misspelt other parameter, a 400 on the PATCH, a PATCH the server did not apply, a
missing upload file.

Undeclared, the value is masked from the moment the run reads the parameter as a possible Secret:
its rendered fields are overwritten when the try ends, and no XCom or log line shows it; what
Airflow already sent before (the OpenLineage START event) is what docs/templated-fields.md lists.

The DAGs run in a fresh interpreter (``dag.test()``, the Task SDK's own task runner and the
OpenLineage provider's listener with a file transport), against this test's emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pseven.emulator import Param, Result, RunContext, Workflow
from airflow_provider_pseven.emulator import params as pt
from tests.integration.airflow_harness import run_with_openlineage

SECRET = "lic-DECLARED-9d2f7a61"
UNDECLARED = "lic-UNDECLARED-4b80c3e5"
NOT_APPLIED = 13  # as in dags/it_secret_parameters.py
PATHS = ("success", "mapped", "misspelt_other", "bad_request", "did_not_apply", "missing_file", "undeclared")
RUN_DAGS = """
import json, os, shutil, sys
from tests.conftest import AIRFLOW_HOME
from tests.integration.airflow_harness import run_dag, task_states
from airflow.sdk._shared.secrets_masker import _secrets_masker

os.environ["AIRFLOW_CONN_PSEVEN_DEFAULT"] = os.environ["PSEVEN_SP_CONN"]  # tests/conftest.py drops it
states = {}
for path in sys.argv[1:]:
    _secrets_masker().reset_masker()  # what the task process of its own would start with
    states[path] = sorted(task_states(run_dag("it_secret_parameters.py", "it_sp_" + path)).items())

from airflow.models.renderedtifields import RenderedTaskInstanceFields
from airflow.models.taskinstance import TaskInstanceNote
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

with create_session() as session:
    rendered = {row.dag_id[6:]: row.rendered_fields for row in session.scalars(select(RenderedTaskInstanceFields))}
    xcoms = [json.dumps(row.value, default=str) for row in session.scalars(select(XComModel))]
    notes = [str(row.content) for row in session.scalars(select(TaskInstanceNote))]
out = os.environ["PSEVEN_SP_OUT"]
for path in AIRFLOW_HOME.glob("*.db*"):
    shutil.copy(path, os.path.join(out, "metadata-" + path.name))
logs = [p.read_text(errors="replace") for p in (AIRFLOW_HOME / "logs").rglob("*") if p.is_file()]
with open(os.path.join(out, "traces.json"), "w") as f:
    json.dump({"states": states, "rendered": rendered, "xcoms": xcoms, "notes": notes, "logs": logs}, f)
"""


def _licensed(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Echoes its licence key as a result, as a careless workflow might."""
    return {"Echo": f"licence {params['License']}", "Size": params["Size"]}


def licensed_workflow() -> Workflow:
    return Workflow(
        path="/Users/1/Licensed.p7wf",
        function=_licensed,
        parameters=[Param("License", pt.SECRET, None), Param("Size", pt.INTEGER, 1)],
        results=[Result("Echo", pt.STRING), Result("Size", pt.INTEGER)],
    )


def _ignoring(patch: Any) -> Any:
    """The emulator's PATCH, but a Size of NOT_APPLIED is answered as if 1 had been sent."""

    def patch_parameters(run: Any, items: list[Any]) -> None:
        for item in items:
            value = item.get("value") if isinstance(item, dict) else None
            if isinstance(value, dict) and value.get("data") == NOT_APPLIED:
                item["value"] = {**value, "data": 1}
        patch(run, items)

    return patch_parameters


@pytest.mark.integration
def test_a_declared_secret_is_never_stored_or_shown(
    pseven_connection: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    pytest.importorskip("airflow.providers.openlineage")
    pseven_connection.add_workflow(licensed_workflow())
    world = pseven_connection.world
    monkeypatch.setattr(world, "patch_parameters", _ignoring(world.patch_parameters))
    events_file = tmp_path / "openlineage.jsonl"
    env = {
        "AIRFLOW_VAR_SOLVER_LICENSE": SECRET,
        "AIRFLOW_VAR_OTHER_LICENSE": UNDECLARED,
        "PSEVEN_SP_CONN": pseven_connection.connection_json(),
        "PSEVEN_SP_OUT": str(tmp_path),
    }
    done = run_with_openlineage(RUN_DAGS, PATHS, events_file, env)
    traces = json.loads((tmp_path / "traces.json").read_text())

    # Each path went the way it is meant to (else the scan below would prove little).
    failed, succeeded = [["task", "failed"]], [["task", "success"]]
    assert traces["states"] == {
        "success": succeeded,
        "mapped": [["task[0]", "success"], ["task[1]", "success"]],
        "misspelt_other": failed,
        "bad_request": failed,
        "did_not_apply": failed,
        "missing_file": failed,
        "undeclared": succeeded,
    }
    output = done.stdout + done.stderr
    for reason in ("Sise", "HTTP 400", "did not apply the values of Size", "pseven-it/input.txt"):
        assert reason in output, f"{reason!r}: a failure path did not fail as meant"
    sent = {
        p.data for run in pseven_connection.state.runs.values() for p in run.params if p.name == "License"
    }
    assert SECRET in sent and UNDECLARED in sent  # the value did reach the server, and only there
    rendered = traces["rendered"]
    assert set(rendered) == set(PATHS)
    for path in PATHS:
        assert rendered[path]["parameters"]["License"] == "***", rendered[path]
    assert any("licence ***" in x for x in traces["xcoms"]), "the echoed result was not stored redacted"
    events = events_file.read_text()
    starts = [json.loads(line) for line in events.splitlines() if '"eventType": "START"' in line]
    assert {event["job"]["name"] for event in starts} == {f"it_sp_{path}.task" for path in PATHS}
    database = b"".join(p.read_bytes() for p in tmp_path.glob("metadata-*"))
    assert b"it_sp_missing_file" in database

    haystacks = {
        "the metadata database (every byte)": database.decode("latin-1"),
        "XComs": "\n".join(traces["xcoms"]),
        "task instance notes": "\n".join(traces["notes"]),
        "rendered fields": json.dumps(rendered),
        "task log files": "\n".join(traces["logs"]),
        "task output and exceptions": output,
        "OpenLineage events": events,
    }
    for where, text in haystacks.items():
        assert SECRET not in text, f"the declared Secret leaked into {where}"
    # Undeclared: masked once the run read the parameter as a possible Secret, rendered fields
    # overwritten when the try ended. The START event was sent before (docs/templated-fields.md).
    for where in ("XComs", "rendered fields", "task log files", "task output and exceptions"):
        assert UNDECLARED not in haystacks[where], f"the undeclared Secret stayed in {where}"
    (undeclared_start,) = (e for e in starts if e["job"]["name"] == "it_sp_undeclared.task")
    assert UNDECLARED in json.dumps(undeclared_start)  # what declaring it prevents
