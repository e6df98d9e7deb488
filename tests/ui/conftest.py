"""The tab's app under FastAPI's TestClient, reading a real emulator over loopback HTTP.

Airflow's security and session dependencies are replaced here (access control is tested for real
in test_browser.py, against a running API server); the XComs a task recorded are given per test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_pseven.client import ClientConfig, PsevenClient, RunRef

SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def emulator(pseven_emulator_factory: Callable[..., Any]) -> Any:
    return pseven_emulator_factory(time_scale=0.05)


@pytest.fixture
def client(emulator: Any) -> Iterator[PsevenClient]:
    with PsevenClient(ClientConfig(emulator.url, token=emulator.token)) as c:
        yield c


def run_of(
    client: PsevenClient,
    workflow: str,
    params: dict[str, Any],
    *,
    start: bool = True,
    until: tuple[str, ...] = ("FINISHED", "FAILED"),
) -> RunRef:
    """A run of ``workflow`` with ``params`` set, started and (with ``until``) waited for."""
    from airflow_provider_pseven.client import RunKind, RunState

    wf = client.resolve_workflow(workflow)
    run = client.deploy_run(RunKind.WORKFLOW, wf.id, name=f"{workflow} for the tab")
    ref = RunRef.workflow(wf.id, run.id)
    client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.05)
    if params:
        client.set_parameters(ref, params)
    if start:
        client.start_run(ref)
        if until:
            client.wait_for_run(ref, [RunState(s) for s in until], (), interval=0.05)
    return ref


class Tab:
    """The app with a given XCom record; ``get``/``post`` relative to the task instance's API."""

    def __init__(self, client: PsevenClient, monkeypatch: pytest.MonkeyPatch) -> None:
        from airflow.api_fastapi.common.db.common import SessionDep
        from fastapi.testclient import TestClient

        from airflow_provider_pseven.ui import app as app_module
        from airflow_provider_pseven.ui.clients import Clients, MissingConnection

        self.summaries: dict[str, Any] = {}
        monkeypatch.setattr(app_module, "read_summaries", lambda session, ti: self.summaries)

        def make(conn_id: str) -> PsevenClient:
            if conn_id != "pseven_default":
                raise MissingConnection(f"The task's connection {conn_id!r} does not exist")
            return client

        self.app = app_module.create_app(Clients(make))
        allow = lambda: None  # noqa: E731
        for dep in (app_module.CanRead, app_module.CanEdit, app_module.CanReadRun):
            self.app.dependency_overrides[dep.dependency] = allow
        self.app.dependency_overrides[SessionDep.__metadata__[0].dependency] = lambda: None
        self.http = TestClient(self.app)
        self.base = "/api/ti/dag/manual__2026-01-01T00:00:00+00:00/task/-1"

    def record(self, ref: RunRef, conn_id: str = "pseven_default", **extra: Any) -> None:
        self.summaries = {"pseven_ui_run": {**ref.as_dict(), "conn_id": conn_id, **extra}}

    def get(self, suffix: str = "", **params: Any) -> Any:
        return self.http.get(self.base + suffix, params=params)


@pytest.fixture
def tab(client: PsevenClient, monkeypatch: pytest.MonkeyPatch) -> Tab:
    return Tab(client, monkeypatch)
