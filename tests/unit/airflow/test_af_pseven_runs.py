"""pseven_runs: the DAG side of RunEventTrigger's events. Plain Python, so on every supported
Airflow (a DAG may read events stored by a 3.3 triggerer while parsed anywhere)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


def _event(payload, **extra):
    return SimpleNamespace(extra={"from_trigger": True, "payload": payload, **extra})


def _run(run_id: str, **fields):
    return {"workflow_id": "w", "run_id": run_id, "name": f"n{run_id}", "state": "FINISHED", **fields}


def test_pseven_runs_reads_batches_and_single_run_payloads_in_order():
    from airflow_provider_pseven import pseven_runs

    events = [
        _event(_run("a")),  # an event stored by an earlier provider version: one run, as the payload
        _event({"runs": [_run("b"), _run("c", results={"x": 1})]}),
        _event({"runs": [_run("d")]}),
    ]
    assert [r["run_id"] for r in pseven_runs(events)] == ["a", "b", "c", "d"]
    assert pseven_runs(events)[2]["results"] == {"x": 1}
    assert pseven_runs([]) == []


def test_pseven_runs_takes_the_whole_triggering_asset_events_mapping_and_plain_dicts():
    from airflow_provider_pseven import pseven_runs

    events = {
        "asset1": [_event({"runs": [_run("a")]})],
        "asset2": [{"extra": {"payload": {"runs": [_run("b")]}}}],
    }
    assert [r["run_id"] for r in pseven_runs(events)] == ["a", "b"]


def test_pseven_runs_returns_a_redelivered_run_once_and_passes_over_events_without_runs():
    from airflow_provider_pseven import pseven_runs

    events = [
        _event({"runs": [_run("a")]}),
        SimpleNamespace(extra={}),  # made through the API or by a task: no runs
        _event({"runs": [_run("a", redelivered=True), _run("b")]}),
    ]
    runs = pseven_runs(events)
    assert [(r["run_id"], r.get("redelivered")) for r in runs] == [("a", True), ("b", None)]


def test_pseven_runs_names_a_payload_it_cannot_read():
    from airflow_provider_pseven import pseven_runs

    with pytest.raises(ValueError, match="not a RunEventTrigger payload"):
        pseven_runs([_event({"something": "else"})])
