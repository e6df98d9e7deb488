"""Runs started the way an engineer's tool would start them: straight through the REST API of the
emulator (requests, the guide's own calls), not through the provider. For the event tests."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

TOY_WORKFLOW = "/Users/1/ToyWorkflow.p7wf"


def workflow_id(server: Any, path: str = TOY_WORKFLOW) -> str:
    listing = requests.get(f"{server.api_url}workflows/", headers=server.auth_header, timeout=30).json()
    return next(w["id"] for w in listing if w["path"] == path)


def start_run(server: Any, path: str = TOY_WORKFLOW, name: str | None = None, timeout: float = 60.0) -> str:
    """Deploy, wait for CONFIGURATION, start; the run's id."""
    wid = workflow_id(server, path)
    runs = f"{server.api_url}workflows/{wid}/runs/"
    body = {"name": name} if name else {}
    run = requests.post(runs, json=body, headers=server.auth_header, timeout=30).json()
    deadline = time.monotonic() + timeout
    while state(server, wid, run["id"]) != "CONFIGURATION":
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run['id']} never reached CONFIGURATION")
        time.sleep(0.05)
    requests.post(f"{runs}{run['id']}/run/", headers=server.auth_header, timeout=30).raise_for_status()
    return str(run["id"])


def state(server: Any, wid: str, run_id: str) -> str:
    url = f"{server.api_url}workflows/{wid}/runs/{run_id}/"
    return str(requests.get(url, headers=server.auth_header, timeout=30).json()["state"])


def wait_finished(server: Any, wid: str, run_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while state(server, wid, run_id) not in ("FINISHED", "FAILED", "INTERRUPTED"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} did not end")
        time.sleep(0.05)


class FinishWatch:
    """When each run of the emulator's world turns FINISHED (wall clock), seen every 20 ms."""

    def __init__(self, server: Any) -> None:
        self.world = server.state
        self.finished: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for run in list(self.world.runs.values()):
                if run.state == "FINISHED" and run.id not in self.finished:
                    self.finished[run.id] = time.time()
            self._stop.wait(0.02)

    def __enter__(self) -> FinishWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def deploy_run(server: Any, path: str = TOY_WORKFLOW, timeout: float = 60.0) -> str:
    """Deploy a run and wait for CONFIGURATION; its id (start it with :func:`launch_run`)."""
    wid = workflow_id(server, path)
    run = requests.post(
        f"{server.api_url}workflows/{wid}/runs/", json={}, headers=server.auth_header, timeout=30
    )
    run_id = str(run.json()["id"])
    deadline = time.monotonic() + timeout
    while state(server, wid, run_id) != "CONFIGURATION":
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} never reached CONFIGURATION")
        time.sleep(0.05)
    return run_id


def launch_run(server: Any, wid: str, run_id: str) -> None:
    url = f"{server.api_url}workflows/{wid}/runs/{run_id}/run/"
    requests.post(url, headers=server.auth_header, timeout=30).raise_for_status()
