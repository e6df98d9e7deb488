"""The tab's data routes: what is shown, what never is, and the words for what went wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pseven.client import PsevenClient
from airflow_provider_pseven.client.run_files import walk
from tests.ui.conftest import SECRET, Tab, run_of

DISK = "🏠.Disk Model [0001].p7wd"


def requests_to(emulator: Any) -> int:
    return int(emulator.control("GET", "requests")["count"])


def test_a_finished_run_shows_state_values_log_and_files_in_three_requests(
    tab: Tab, client: PsevenClient, emulator: Any
) -> None:
    ref = run_of(client, "ToyWorkflow", {"MySecret": SECRET, "MyFirstParameter": "seven"})
    tab.record(ref, secret_parameters=["MySecret"])
    emulator.control("DELETE", "requests")
    data = tab.get().json()
    assert requests_to(emulator) <= 3
    assert data["status"] == "ok"
    assert data["run"]["state"] == "FINISHED" and data["run"]["terminal"] is True
    params = {row["name"]: row for row in data["run"]["parameters"]}
    assert params["MySecret"] == {"name": "MySecret", "secret": True, "value": "set"}
    results = {row["name"]: row["value"] for row in data["run"]["results"]}
    assert results["MyResult"] == "99"
    assert "MySecret is set" in data["log"]["text"]
    names = [entry["name"] for entry in data["files"]["entries"]]
    assert DISK in names and "results.json" in names
    # a repeated view within a few seconds is served from the cache
    tab.get()
    assert requests_to(emulator) <= 3


def test_no_secret_value_or_token_reaches_the_browser(tab: Tab, client: PsevenClient, emulator: Any) -> None:
    ref = run_of(client, "ToyWorkflow", {"MySecret": SECRET})
    tab.record(ref)
    bodies = [tab.get().text, tab.get("/log").text, tab.get("/state").text]
    bodies.append(tab.get("/files", path=DISK).text)
    for body in bodies:
        assert SECRET not in body and emulator.token not in body


def test_a_subfolder_lists_and_an_image_is_served_inline_in_a_sandbox(tab: Tab, client: PsevenClient) -> None:
    ref = run_of(client, "ToyWorkflow", {})
    tab.record(ref)
    listing = tab.get("/files", path=DISK).json()
    assert {e["name"] for e in listing["entries"]} >= {"design.csv", "diagrams.png"}
    image = tab.get("/download", path=f"{DISK}/diagrams.png", inline="true")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-security-policy"].startswith("sandbox")
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-disposition"].startswith("inline")
    other = tab.get("/download", path="results.json", inline="true")
    assert other.headers["content-type"] == "application/octet-stream"
    assert other.headers["content-disposition"].startswith("attachment")
    assert json.loads(other.content)["MyResult"] == 99


def test_paths_that_could_escape_are_refused_in_words(tab: Tab, client: PsevenClient) -> None:
    tab.record(run_of(client, "ToyWorkflow", {}))
    for path in ("../secret", "a/../../b", "/etc/passwd", "x\ny", "a\\b", ""):
        answer = tab.get("/download", path=path)
        assert answer.status_code in (400, 422), path
        assert "Traceback" not in answer.text
    assert tab.get("/download", path="missing.txt").status_code == 404


def test_a_task_without_a_run_says_so(tab: Tab) -> None:
    data = tab.get().json()
    assert data["status"] == "none" and "has not deployed" in data["message"]


def test_a_deleted_run_shows_what_the_task_recorded(tab: Tab, client: PsevenClient) -> None:
    ref = run_of(client, "ToyWorkflow", {})
    client.delete_run(ref)
    tab.record(ref, name="my toy run", state="FINISHED")
    data = tab.get().json()
    assert data["status"] == "deleted" and "deleted" in data["message"]
    assert data["task"]["name"] == "my toy run" and data["task"]["run_id"] == ref.run_id


def test_a_missing_connection_is_named(tab: Tab, client: PsevenClient) -> None:
    tab.record(run_of(client, "ToyWorkflow", {}), conn_id="gone_conn")
    data = tab.get().json()
    assert data["status"] == "no_connection" and "gone_conn" in data["message"]


def test_a_failed_run_shows_the_reason_in_its_log_tail(tab: Tab, client: PsevenClient) -> None:
    tab.record(run_of(client, "Failing", {}))
    data = tab.get().json()
    assert data["run"]["state"] == "FAILED"
    assert "negative Jacobian" in data["log"]["text"]


def test_twenty_tabs_refreshing_cost_one_list_per_workflow(
    tab: Tab, client: PsevenClient, emulator: Any
) -> None:
    refs = [run_of(client, "Slow", {"duration": 1000}, until=()) for _ in range(20)]
    emulator.control("DELETE", "requests")
    for ref in refs:
        tab.record(ref)
        assert tab.get("/state").json()["status"] == "ok"
    entries = emulator.control("GET", "requests")["entries"]
    assert len(entries) == 1, entries
    for ref in refs:
        client.interrupt_run(ref)


def test_interrupt_needs_the_header_and_stops_the_run(tab: Tab, client: PsevenClient) -> None:
    ref = run_of(client, "Slow", {"duration": 1000}, until=("RUNNING",))
    tab.record(ref)
    url = tab.base + "/interrupt"
    assert tab.http.post(url).status_code == 400
    answer = tab.http.post(url, headers={"X-Requested-By": "pseven-ui"}).json()
    assert answer["status"] == "ok"
    from airflow_provider_pseven.client import RunState

    client.wait_for_run(ref, [RunState.INTERRUPTED], (), interval=0.05)


def test_walk_sees_the_files_the_tab_lists(tab: Tab, client: PsevenClient) -> None:
    ref = run_of(client, "ToyWorkflow", {})
    tab.record(ref)
    listed = {e["name"] for e in tab.get().json()["files"]["entries"]}
    assert listed == {path for path, _ in client.run(walk(ref)) if "/" not in path}


def test_the_page_is_a_shell_with_its_own_script_only(tab: Tab) -> None:
    page = tab.http.get("/ti/dag/run%3Cscript%3E/task/%7BMAP_INDEX%7D")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and "run%3Cscript%3E" in page.text
    assert 'data-api="/api/ti/dag/run%3Cscript%3E/task/-1"' in page.text
    assert (
        '<script src="/static/tab.js" defer></script>' in page.text
        and "<title>pSeven run</title>" in page.text
    )


def test_the_dag_run_page_is_the_same_shell_with_its_own_script(tab: Tab) -> None:
    page = tab.http.get("/dagrun/dag/run%3Cscript%3E")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/dagrun.js" defer></script>' in page.text and "tab.js" not in page.text
    assert 'data-api="/api/dagrun/dag/run%3Cscript%3E"' in page.text and "{{" not in page.text


def test_the_dag_run_view_lists_what_each_task_recorded(
    tab: Tab, client: PsevenClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_pseven.ui import app as app_module
    from airflow_provider_pseven.ui.records import TaskInstanceId, recorded_run

    ref = run_of(client, "ToyWorkflow", {}, start=False)
    rec = recorded_run({"pseven_ui_run": {**ref.as_dict(), "conn_id": "c", "name": "n", "state": "FINISHED"}})
    ti = TaskInstanceId("dag", "run", "sweep", 1)
    monkeypatch.setattr(app_module, "read_dag_run", lambda session, dag_id, run_id: [(ti, rec)])
    rows = tab.http.get("/api/dagrun/dag/run").json()["runs"]
    assert rows == [
        {
            "task_id": "sweep",
            "map_index": 1,
            "tab": "/dags/dag/runs/run/tasks/sweep/mapped/1/plugin/pseven-run",
            **ref.as_dict(),
            "name": "n",
            "state": "FINISHED",
            "conn_id": "c",
        }
    ]
