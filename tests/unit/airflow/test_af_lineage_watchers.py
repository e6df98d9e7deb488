"""Issue 27, point 5: the message and run-state tasks carry the whole ``pseven_run`` facet (name,
url and state), straight away and after a deferral resumes, as the other pSeven tasks do."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock
from af_support import RUN_ID, RUN_URL, WF_ID, FakeRun, make_context, std_log

from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.operators import MessagePushOperator
from airflow_provider_pseven.sensors import MessageSensor, RunStateSensor

# The facets are built by the OpenLineage provider (the `openlineage` extra), not installed everywhere.
pytest.importorskip("airflow.providers.openlineage")

IDS = {"workflow_id": WF_ID, "run_id": RUN_ID}


def run_facet(task: Any) -> Any:
    """The facet the OpenLineage listener would send for ``task`` (its public provider method)."""
    return task.get_openlineage_facets_on_complete(None).run_facets["pseven_run"]


def assert_whole(facet: Any, state: str) -> None:
    assert (facet.runId, facet.name, facet.state) == (RUN_ID, "run-1", state)
    assert facet.url and RUN_ID in facet.url


def test_a_pushed_message_notes_the_run(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    op = std_log(MessagePushOperator(task_id="m", message="go", **IDS))
    op.execute(make_context())
    assert_whole(run_facet(op), "RUNNING")


def test_a_push_after_a_deferral_and_a_refused_push_note_the_run(requests_mock: requests_mock.Mocker) -> None:
    run = FakeRun(requests_mock, "RUNNING")
    requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    summary = {**IDS, "name": "run-1", "url": f"{RUN_URL}", "path": "/p.p7run", "state": "RUNNING"}
    resumed = std_log(MessagePushOperator(task_id="m", message="go", **IDS))
    resumed.execute_complete(make_context(), {"status": "success", "state": "RUNNING", "payload": summary})
    assert_whole(run_facet(resumed), "RUNNING")
    run.set_states("FINISHED")
    ended = std_log(MessagePushOperator(task_id="m", message="go", **IDS))
    with pytest.raises(AirflowFailException):
        ended.execute(make_context())
    assert_whole(ended.get_openlineage_facets_on_failure(None).run_facets["pseven_run"], "FINISHED")


@pytest.mark.parametrize("deferred", [False, True])
def test_the_run_state_sensor_notes_the_run(requests_mock: requests_mock.Mocker, deferred: bool) -> None:
    FakeRun(requests_mock, "FINISHED")
    sensor = std_log(RunStateSensor(task_id="w", deferrable=deferred, **IDS))
    if deferred:
        summary = {**IDS, "name": "run-1", "url": RUN_URL, "path": "/p.p7run", "state": "FINISHED"}
        sensor.execute_complete(
            make_context(), {"status": "success", "state": "FINISHED", "payload": summary}
        )
    else:
        sensor.poke(make_context())
    assert_whole(run_facet(sensor), "FINISHED")


def test_the_message_sensor_reads_the_run_for_its_facet(requests_mock: requests_mock.Mocker) -> None:
    """A received message's event names only the run's id: the run is read once for the facet."""
    FakeRun(requests_mock, "RUNNING")
    sensor = std_log(MessageSensor(task_id="m", **IDS))
    ok = {"status": "success", "state": "RUNNING", "payload": {**IDS, "message": "hi"}, "message": ""}
    assert sensor.execute_complete(make_context(), ok) == "hi"
    assert_whole(run_facet(sensor), "RUNNING")


def test_a_message_is_kept_when_the_run_cannot_be_read_for_lineage(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(RUN_URL, status_code=404, json={"detail": "gone"})
    sensor = std_log(MessageSensor(task_id="m", **IDS))
    ok = {"status": "success", "state": "RUNNING", "payload": {**IDS, "message": "hi"}, "message": ""}
    assert sensor.execute_complete(make_context(), ok) == "hi"
    assert run_facet(sensor).runId == RUN_ID
    assert any("for lineage" in r.getMessage() for r in caplog.records)
