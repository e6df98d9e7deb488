"""OpenLineage (issue 12): with apache-airflow-providers-openlineage installed, the pSeven operators
emit valid events through the provider's own listener and file transport: the job is the pSeven
workflow, inputs the uploaded files, outputs the downloads, a run facet the pSeven run, and no
Secret or token anywhere. And without the provider nothing of OpenLineage is imported.

The listener decides at start-up whether OpenLineage is on, so the DAG runs in a fresh interpreter
with the transport configured (the test's emulator, the suite's token and Secret).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest

from tests.integration.airflow_harness import run_with_openlineage
from tests.sweep_values import leaks

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "openlineage" / "PsevenRunFacet.json").read_text())
RUN_DAG = """
import os, sys
from tests.integration.airflow_harness import run_dag, task_states
os.environ["AIRFLOW_CONN_PSEVEN_DEFAULT"] = os.environ["PSEVEN_OL_CONN"]  # tests/conftest.py drops it
states = task_states(run_dag("it_outlets.py"))
sys.exit(0 if set(states.values()) == {"success"} else f"task states: {states}")
"""


def _uri(value: str) -> bool:
    return bool(urlparse(value).scheme)


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="guide")
def test_operators_emit_valid_lineage_without_secrets(pseven_connection, tmp_path):
    pytest.importorskip("airflow.providers.openlineage")
    events_file = tmp_path / "openlineage.jsonl"
    (tmp_path / "input.csv").write_text("x\n1\n")
    env = {"PSEVEN_IT_OUTPUT": str(tmp_path), "PSEVEN_OL_CONN": pseven_connection.connection_json()}
    run_with_openlineage(RUN_DAG, (), events_file, env)

    text = events_file.read_text()
    assert not leaks(text), f"{leaks(text)} in the OpenLineage events"
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    for event in events:  # the OpenLineage RunEvent's required parts, and every facet's own
        assert event["eventType"] in ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER")
        datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
        uuid.UUID(event["run"]["runId"])
        assert event["job"]["namespace"] and event["job"]["name"]
        assert _uri(event["producer"]) and _uri(event["schemaURL"])
        facets = [*event["run"].get("facets", {}).values(), *event["job"].get("facets", {}).values()]
        for dataset in event.get("inputs", []) + event.get("outputs", []):
            assert dataset["namespace"] and dataset["name"]
        for facet in facets:
            assert _uri(facet["_producer"]) and _uri(facet["_schemaURL"]), facet

    complete = {e["job"]["name"].rsplit(".", 1)[-1]: e for e in events if e["eventType"] == "COMPLETE"}
    cycle = complete["cycle"]
    run = cycle["run"]["facets"]["pseven_run"]
    jsonschema.validate(run, SCHEMA)
    assert run["state"] == "FINISHED" and run["parameters"]["MyFirstParameter"] == "lineage"
    assert "MySecret" not in run["parameters"]
    job = cycle["job"]["facets"]["pseven_job"]
    assert job["kind"] == "workflow" and job["spec"] == "/Users/1/ToyWorkflow.p7wf" and len(job["id"]) == 32
    assert [(d["namespace"], d["name"]) for d in cycle["inputs"]] == [("file", str(tmp_path / "input.csv"))]
    outputs = [(d["namespace"], d["name"]) for d in cycle["outputs"]]
    # The downloaded file, and the run directory the cycle made (issue 27).
    assert outputs[0] == ("file", str(tmp_path / "results.json")) and len(outputs) == 2
    assert outputs[1][0] == f"pseven://{urlparse(pseven_connection.url).netloc}"
    results = complete["results"]["run"]["facets"]["pseven_run"]
    assert results["runId"] != run["runId"] and results["state"] == "FINISHED"


STEPS_DAG = RUN_DAG.replace("it_outlets.py", "it_lineage_steps.py")
STEP_TASKS = ("deploy", "upload", "start", "watch", "download", "delete")


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="guide")
def test_step_operators_carry_the_run_and_name_urls_and_the_run_directory(pseven_connection, tmp_path):
    """Issue 27: deploy, upload, start, a RunStateSensor, download and delete each carry the whole pseven_run facet
    (name, url, state); inputs and outputs name the file:// URLs and the run directory
    (pseven://host, the run's path); a parameter in secret_parameters is left out, key and all."""
    pytest.importorskip("airflow.providers.openlineage")
    events_file = tmp_path / "openlineage.jsonl"
    (tmp_path / "input.csv").write_text("x\n1\n")
    env = {"PSEVEN_IT_OUTPUT": str(tmp_path), "PSEVEN_OL_CONN": pseven_connection.connection_json()}
    run_with_openlineage(STEPS_DAG, (), events_file, env)

    text = events_file.read_text()
    assert not leaks(text), f"{leaks(text)} in the OpenLineage events"
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    complete = {e["job"]["name"].rsplit(".", 1)[-1]: e for e in events if e["eventType"] == "COMPLETE"}
    assert set(STEP_TASKS) <= set(complete)
    facets = {task: complete[task]["run"]["facets"]["pseven_run"] for task in STEP_TASKS}
    for task, facet in facets.items():
        jsonschema.validate(facet, SCHEMA)
        assert facet["name"] and facet["url"] and facet["state"], (task, facet)
        assert "MyFirstParameter" not in facet["parameters"] and "***" not in json.dumps(facet), (task, facet)
    assert len({facet["runId"] for facet in facets.values()}) == 1
    assert [facets[t]["state"] for t in STEP_TASKS] == [
        "CONFIGURATION",
        "CONFIGURATION",
        "FINISHED",
        "FINISHED",
        "FINISHED",
        "FINISHED",
    ]
    assert facets["deploy"]["parameters"]["MySecondParameter"] == 7

    host = urlparse(pseven_connection.url).netloc
    datasets = {
        task: (
            [(d["namespace"], d["name"]) for d in e.get("inputs", [])],
            [(d["namespace"], d["name"]) for d in e.get("outputs", [])],
        )
        for task, e in complete.items()
        if task in STEP_TASKS
    }
    run_dir = (f"pseven://{host}", datasets["deploy"][1][0][1])
    assert run_dir[1].startswith("/Users/1/ToyWorkflow.p7wf/@Runs/")
    assert datasets["deploy"] == ([], [run_dir])
    assert datasets["upload"] == ([("file", str(tmp_path / "input.csv"))], [run_dir])
    assert datasets["start"] == ([], [run_dir])
    assert datasets["watch"] == ([], [])  # the sensor only watches: the run is in its facet
    assert datasets["download"] == ([run_dir], [("file", str(tmp_path / "steps" / "results.json"))])
    assert datasets["delete"] == ([], [])


def test_the_operators_import_nothing_of_openlineage_until_asked_for_facets():
    """Importing the operators, building them and noting lineage while a task runs import nothing
    of OpenLineage (Airflow itself only reads the installed provider's metadata), so the provider is
    optional: without it nothing asks for facets, and nothing else needs it."""
    code = """
import sys
from airflow_provider_pseven.operators import RunWorkflowOperator, DownloadFileOperator
from airflow_provider_pseven.tasks import notes
from airflow_provider_pseven.client import RunRef
task = DownloadFileOperator(task_id="d", workflow_id="w", run_id="r", file="f", destination="/tmp/x")
notes.record(task, RunRef.workflow("w", "r"), outputs=["/tmp/x/f"])
metadata = {"airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"}
print(sorted(m for m in sys.modules if m.startswith(("openlineage", "airflow.providers.openlineage")) and m not in metadata))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.stdout.strip().splitlines()[-1:] == ["[]"], done.stdout[-2000:] + done.stderr[-3000:]
