"""A run a task gave up on while QUEUED_TO_RUN (no interrupt, no delete there, says the guide) is
watched until it leaves the queue and interrupted if it runs (waiting.interrupt_once_running), on
both drivers, by one time-driven fake server."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
import requests_mock

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, PsevenClient, RunRef
from airflow_provider_pseven.client.waiting import interrupt_once_running
from tests.support.clock import FakeClock

WORKFLOW = "f" * 32
RUN = "a" * 32
START = 1_000_000.0
HOST = "https://pseven.test"
REF = RunRef.workflow(WORKFLOW, RUN)


class Server:
    """One run, QUEUED_TO_RUN until ``runs_at`` (then RUNNING, or ``then``); counts interrupts."""

    def __init__(self, clock: FakeClock, runs_at: float | None, then: str = "RUNNING") -> None:
        self.clock = clock
        self.runs_at = runs_at
        self.then = then
        self.interrupted = False
        self.sent: Counter[str] = Counter()

    @property
    def state(self) -> str:
        if self.interrupted:
            return "INTERRUPTED"
        if self.runs_at is None or self.clock.now < self.runs_at:
            return "QUEUED_TO_RUN"
        return self.then

    def answer(self, method: str, path: str) -> tuple[int, Any]:
        self.sent[method] += 1
        run = {"id": RUN, "name": "r", "state": self.state, "url": f"{HOST}/runs/{RUN}/"}
        if path.endswith("/runs/"):
            return 200, [run]
        if path.endswith("/interrupt/"):
            if self.state != "RUNNING":
                return 400, {"detail": "Request rejected."}
            self.interrupted = True
            return 200, {"status": 200, "message": "Accepted"}
        return 200, run


async def watch(mode: str, server: Server, deadline: float) -> Any:
    op = interrupt_once_running(REF, deadline=deadline, interval=5.0)
    config = ClientConfig(HOST, token="t", api_path=".rest")
    if mode == "async":

        def handler(request: httpx.Request) -> httpx.Response:
            status, body = server.answer(request.method, request.url.path)
            return httpx.Response(status, json=body)

        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        client = AsyncPsevenClient(config, http=http, sleep=server.clock.async_sleep, clock=server.clock.time)
        try:
            return await client.run(op)
        finally:
            await client.aclose()

    def respond(request: Any, context: Any) -> Any:
        context.status_code, body = server.answer(request.method, request.path)
        return body

    with requests_mock.Mocker() as mocker:
        mocker.register_uri(requests_mock.ANY, requests_mock.ANY, json=respond)
        sync = PsevenClient(config, sleep=server.clock.sleep, clock=server.clock.time)
        try:
            return sync.run(op)
        finally:
            sync.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_queued_run_is_interrupted_as_soon_as_it_runs(mode: str) -> None:
    server = Server(FakeClock(START), runs_at=START + 3600.0)
    result = await watch(mode, server, START + 86400.0)
    assert (result.status, result.state) == ("success", "INTERRUPTED")
    assert result.message == f"run {RUN} left the queue and was interrupted as soon as it was RUNNING"
    assert server.interrupted
    assert START + 3600.0 <= server.clock.now <= START + 3610.0  # at the first look once it ran


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_queued_run_that_ends_by_itself_gets_no_interrupt(mode: str) -> None:
    server = Server(FakeClock(START), runs_at=START + 60.0, then="FAILED")
    result = await watch(mode, server, START + 86400.0)
    assert (result.status, result.state) == ("success", "FAILED")
    assert result.message == f"run {RUN} ended FAILED without an interrupt"
    assert not server.interrupted


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_watch_ends_at_its_limit_saying_the_run_is_left_queued(mode: str) -> None:
    server = Server(FakeClock(START), runs_at=None)
    result = await watch(mode, server, START + 600.0)
    assert (result.status, result.state) == ("timeout", "QUEUED_TO_RUN")
    assert "was still QUEUED_TO_RUN when the watch ended, and was left queued, unwatched" in result.message
    assert server.clock.now == START + 600.0
    assert server.sent["POST"] == 0
