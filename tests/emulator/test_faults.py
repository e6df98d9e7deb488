"""Fault injection and the request log, over real loopback HTTP."""

import time

import pytest
import requests

from airflow_provider_pseven.emulator import EmulatorServer

from .conftest import FAST, TOY_ID, deploy

pytestmark = pytest.mark.integration


def runs_url(server):
    return f"{server.api_url}workflows/{TOY_ID}/runs/"


def test_503_is_not_executed(server):
    server.faults.set(error_503_fraction=1.0, methods=["POST"])
    r = requests.post(runs_url(server), headers=server.auth_header)
    assert r.status_code == 503 and "detail" in r.json()
    assert server.world.deploy_count(TOY_ID) == 0
    assert requests.get(runs_url(server), headers=server.auth_header).status_code == 200  # GET not matched
    entry = server.requests.entries(method="POST")[-1]
    assert (entry.status, entry.fault, entry.workflow_id) == (503, "503", TOY_ID)


def test_429_has_retry_after(server):
    server.faults.set(error_429_fraction=1.0, retry_after=7)
    r = requests.get(server.api_url + "workflows/", headers=server.auth_header)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert "7 seconds" in r.json()["detail"]


def test_dropped_connection_is_a_connection_error_and_not_executed(server):
    server.faults.set(drop_fraction=1.0, paths=["/runs/$"])
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(runs_url(server), headers=server.auth_header)
    assert server.world.deploy_count() == 0
    assert server.requests.count(fault="drop") == 1
    server.faults.clear()
    assert requests.post(runs_url(server), headers=server.auth_header).status_code == 201  # server still fine


def test_drop_after_executing(server):
    server.faults.set(drop_after_fraction=1.0, methods=["POST"], max_faults=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(runs_url(server), headers=server.auth_header)
    assert server.world.deploy_count(TOY_ID) == 1  # the run exists although the client saw no answer
    entry = server.requests.entries(fault="drop_after")[0]
    assert entry.status == 201 and entry.run_id in server.world.runs
    # max_faults reached: the next POST goes through
    assert requests.post(runs_url(server), headers=server.auth_header).status_code == 201


def test_drop_after_on_run_command_starts_once(server):
    run = deploy(server)
    server.faults.set(drop_after_fraction=1.0, paths=["/run/$"])
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(run["url"] + "run/", headers=server.auth_header)
    assert server.world.start_count(run["id"]) == 1
    server.faults.clear()
    again = requests.post(run["url"] + "run/", headers=server.auth_header)
    assert again.status_code == 400  # a careless retry is refused; a careful client re-reads the state
    assert server.world.start_count(run["id"]) == 1


def test_truncated_body(server):
    run = deploy(server)
    requests.post(
        run["url"] + "upload/", headers=server.auth_header, files={"file": ("data.bin", b"x" * 100_000)}
    )
    server.faults.set(truncate_fraction=1.0, paths=["/download/$"])
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        requests.get(run["url"] + "download/", headers=server.auth_header, params={"file": "data.bin"})
    assert requests.get(run["url"] + "ls/", headers=server.auth_header).json()["count"] == 1  # not matched
    assert server.requests.count(fault="truncate") == 1


def test_latency(server):
    server.faults.set(latency=0.2)
    t = time.monotonic()
    requests.get(server.api_url + "workflows/", headers=server.auth_header)
    assert time.monotonic() - t >= 0.2
    server.faults.set(latency=0.0, latency_range=(0.05, 0.1))
    t = time.monotonic()
    requests.get(server.api_url + "workflows/", headers=server.auth_header)
    assert 0.05 <= time.monotonic() - t < 1.0


def test_seeded_fractions_are_reproducible():
    def statuses():
        with EmulatorServer(time_scale=FAST) as s:
            s.faults.set(error_503_fraction=0.3, error_429_fraction=0.2, seed=42)
            with requests.Session() as session:
                return [
                    session.get(s.api_url + "workflows/", headers=s.auth_header).status_code
                    for _ in range(40)
                ]

    first, second = statuses(), statuses()
    assert first == second
    assert {200, 429, 503} == set(first)


def test_control_endpoints(server):
    base = server.url + "/_emulator/"
    control = server.control
    r = control("PUT", "faults", {"error_503_fraction": 1.0, "methods": ["get"]})
    assert r["error_503_fraction"] == 1.0 and r["methods"] == ["GET"]
    assert requests.get(server.api_url + "workflows/", headers=server.auth_header).status_code == 503
    json_auth = {**server.auth_header, "Content-Type": "application/json"}
    assert requests.put(base + "faults", json={"nope": 1}, headers=json_auth).status_code == 400
    assert (
        requests.put(
            base + "faults", json={"drop_fraction": 0.9, "error_503_fraction": 0.9}, headers=json_auth
        ).status_code
        == 400
    )
    assert control("DELETE", "faults")["error_503_fraction"] == 0.0
    log = control("GET", "requests")
    assert log["count"] == 1 and log["entries"][0]["status"] == 503 and log["entries"][0]["fault"] == "503"
    assert requests.get(base + "health").json() == {"status": "ok"}
    assert control("PUT", "timing", {"results_lag": 2})["results_lag"] == 2.0
    deploy(server, wait=False)
    assert control("POST", "reset") == {"status": "reset"}
    assert server.world.deploy_count() == 0 and len(server.requests) == 0
    assert requests.get(runs_url(server), headers=server.auth_header).json() == []


def test_request_log_helpers(server):
    run = deploy(server)
    requests.get(run["url"] + "ls/", headers=server.auth_header)
    assert server.requests.count(method="POST", path_suffix="/runs/") == 1
    assert server.requests.count(run_id=run["id"]) >= 2
    assert server.requests.entries(path_suffix="/ls/")[0].status == 200
    assert server.requests.last().path.endswith("/ls/")


def test_stall_times_the_client_out_but_still_executes(server):
    server.faults.set(stall_fraction=1.0, stall_seconds=1.0, methods=["POST"], max_faults=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(runs_url(server), headers=server.auth_header, timeout=0.3)
    deadline = time.monotonic() + 5
    while server.world.deploy_count(TOY_ID) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.world.deploy_count(TOY_ID) == 1
    assert server.requests.entries(method="POST")[-1].fault == "stall"
