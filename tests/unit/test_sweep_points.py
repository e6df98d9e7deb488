"""What a sweep point saves on requests: a start after a PATCH answer, and waits whose first look
is a watch (client options the sweep uses: ``start_once(configured=)``, ``wait_for_run(known=)``)."""

from __future__ import annotations

from airflow_provider_pseven.client.calls import Watch
from airflow_provider_pseven.client.lifecycle import start_once
from airflow_provider_pseven.client.models import Run, RunState
from airflow_provider_pseven.client.waiting import wait_for_run
from tests.unit.client.test_client_lifecycle import REF, Server


def test_start_after_a_patch_answer_sends_only_the_start():
    server = Server()
    server.add("x", "CONFIGURATION")
    patched = Run.from_json(server.runs["r1"])
    assert server.drive(start_once(REF, configured=patched)) is True
    assert server.sent == ["POST workflows/wf/runs/r1/run/"]


def test_a_configured_run_that_is_not_in_configuration_is_read_afresh():
    server = Server()
    server.add("x", "RUNNING")
    stale = Run.from_json({"id": "r1", "name": "x", "state": "QUEUED_TO_INITIALIZE"})
    assert server.drive(start_once(REF, configured=stale)) is False
    assert server.sent == ["GET workflows/wf/runs/r1/"]


def _first_step(op):
    return op.send(None)


def test_a_wait_from_a_known_state_starts_with_a_watch():
    op = wait_for_run(REF, [RunState.FINISHED], interval=2.0, known=RunState.QUEUED_TO_RUN)
    assert _first_step(op) is not None  # the driver's clock first
    step = op.send(100.0)
    assert isinstance(step, Watch) and step.unchanged == "QUEUED_TO_RUN" and step.pause.seconds == 2.0


def test_a_wait_from_nothing_known_looks_at_once():
    op = wait_for_run(REF, [RunState.FINISHED], interval=2.0)
    _first_step(op)
    step = op.send(100.0)
    assert not isinstance(step, Watch) and step.method == "GET"
