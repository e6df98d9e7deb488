"""Shared fixtures: a fast emulator (time_scale 0.05) and the guide's variables pointing at it."""

import time
from types import SimpleNamespace

import pytest
import requests

from airflow_provider_pseven.emulator import EmulatorServer

TOY_ID = "130d943e100e46e0b5da490ac005b70e"
TOY_APP_ID = "c53461be10b84975a4a6ecb755cfbe00"
FAST = 0.05


@pytest.fixture
def server():
    with EmulatorServer(time_scale=FAST) as s:
        yield s


@pytest.fixture
def guide(server):
    """The guide's example variables (api_url, auth_header, ...), adapted to the emulator's host."""
    auth_token = server.token
    return SimpleNamespace(
        server=server,
        api_url=server.api_url + "{}",
        api_url_appshub=server.appshub_url + "{}",
        auth_token=auth_token,
        auth_header={"Authorization": "Token " + auth_token},
    )


def wait_until(predicate, timeout=5.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def wait_state(url, headers, *states, timeout=5.0):
    """Poll run (or app version) details until the state is one of ``states``; return the details."""

    def check():
        details = requests.get(url, headers=headers).json()
        return details if details["state"] in states else None

    return wait_until(check, timeout)


def deploy(server, workflow_id=TOY_ID, wait=True, **body):
    r = requests.post(f"{server.api_url}workflows/{workflow_id}/runs/", headers=server.auth_header, json=body)
    assert r.status_code == 201, r.text
    run = r.json()
    if wait:
        run = wait_state(run["url"], server.auth_header, "CONFIGURATION")
    return run


def workflow_id(server, name):
    return next(w.id for w in server.world.workflows.values() if w.name == name)
