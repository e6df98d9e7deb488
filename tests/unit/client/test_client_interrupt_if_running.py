"""interrupt_if_running: one read, and an interrupt only for a queued or running run."""

from __future__ import annotations

import pytest

from airflow_provider_pseven.client import RunKind, RunRef, RunState
from airflow_provider_pseven.client.calls import Call, Reply
from airflow_provider_pseven.client.operations import interrupt_if_running

REF = RunRef.workflow("wf", "r1")


def _drive(state: str) -> tuple[bool, list[str]]:
    op = interrupt_if_running(REF)
    sent: list[str] = []
    reply = None
    while True:
        try:
            call = op.send(reply)
        except StopIteration as stop:
            return stop.value, sent
        assert isinstance(call, Call)
        sent.append(f"{call.method} {call.path}")
        body = b'{"id": "r1", "state": "%s"}' % state.encode() if call.method == "GET" else b"{}"
        reply = Reply(200, {"content-type": "application/json"}, body, call.path, call)


@pytest.mark.parametrize("state", ["QUEUED_TO_RUN", "RUNNING"])
def test_an_active_run_is_interrupted(state):
    assert _drive(state) == (True, ["GET workflows/wf/runs/r1/", "POST workflows/wf/runs/r1/interrupt/"])


@pytest.mark.parametrize("state", ["CONFIGURATION", "FINISHED", "FAILED", "INTERRUPTED"])
def test_other_states_are_left_alone(state):
    assert _drive(state) == (False, ["GET workflows/wf/runs/r1/"])


def test_is_active_and_from_summary():
    assert {s for s in RunState if s.is_active} == {RunState.QUEUED_TO_RUN, RunState.RUNNING}
    assert RunRef.from_summary({"app_id": "a@2", "run_id": "r"}) == RunRef(RunKind.APP, "a@2", "r")
    assert RunRef.from_summary({"workflow_id": "w", "run_id": "r"}) == RunRef.workflow("w", "r")
