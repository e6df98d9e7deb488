"""Retries: what is resent, how often, how long the client waits (always through the injected sleep)."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pseven_client_harness import PSEVEN, RUN_ID, RUN_URL, WF_ID, Api, Resp, detail, ok, run_json

from airflow_provider_pseven.client import (
    PsevenBadRequestError,
    PsevenRequestMayHaveSucceeded,
    PsevenServerError,
    PsevenTransportError,
    RetryPolicy,
    RunKind,
    RunRef,
)
from airflow_provider_pseven.client.calls import Call, Retry, retry_after_seconds

WORKFLOWS = f"{PSEVEN}workflows/"
RUNS = f"{PSEVEN}workflows/{WF_ID}/runs/"
REF = RunRef.workflow(WF_ID, RUN_ID)


async def test_503_then_200(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(503, "busy"), ok([]))
    assert await api.call("list_workflows") == []
    assert len(api.sent) == 2
    (wait,) = api.sleeps
    assert 0.25 <= wait <= 0.5  # the first backoff of the default policy, with jitter


async def test_429_honours_retry_after_seconds(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    api.route("GET", WORKFLOWS, detail(429, "Request was throttled.", Retry_After="2"), ok([]))
    assert await api.call("list_workflows") == []
    assert api.sleeps == [2.0]
    assert len(api.sent) == 2
    assert "GET workflows/: HTTP 429 Request was throttled.; retrying in 2.0 s (try 2 of 8)" in caplog.text


async def test_retry_after_as_http_date(api: Api) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    api.route("GET", WORKFLOWS, detail(503, "maintenance", Retry_After=when), ok([]))
    await api.call("list_workflows")
    (wait,) = api.sleeps
    assert 27.0 <= wait <= 30.0


async def test_retry_after_is_capped(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(503, "maintenance", Retry_After="3600"), ok([]))
    client = api.make_client(retry=RetryPolicy(retry_after_cap=10.0))
    await api.call("list_workflows", client=client)
    assert api.sleeps == [10.0]


@pytest.mark.parametrize("failure", ["connect", "connect_timeout", "read_timeout", "reset"])
async def test_get_is_retried_after_transport_failures(api: Api, failure: str) -> None:
    api.route("GET", WORKFLOWS, Resp(error=failure), ok([]))
    assert await api.call("list_workflows") == []
    assert len(api.sent) == 2
    assert len(api.sleeps) == 1


async def test_get_with_broken_body_is_retried(api: Api) -> None:
    api.route(
        "GET",
        RUN_URL,
        Resp(body=b'{"id": "', broken=True, headers={"Content-Type": "application/json"}),
        ok(run_json()),
    )
    run = await api.call("get_run", REF)
    assert run.id == RUN_ID
    assert len(api.sent) == 2


@pytest.mark.parametrize("failure", ["read_timeout", "reset"])
async def test_deploy_is_not_resent_when_it_may_have_arrived(api: Api, failure: str) -> None:
    api.route("POST", RUNS, Resp(error=failure), ok(run_json("QUEUED_TO_INITIALIZE"), status=201))
    with pytest.raises(PsevenRequestMayHaveSucceeded) as info:
        await api.call("deploy_run", RunKind.WORKFLOW, WF_ID, name="n")
    assert len(api.sent) == 1
    assert api.sleeps == []
    message = str(info.value)
    assert message.startswith(f"POST workflows/{WF_ID}/runs/: ")
    assert "may have reached the server, so it was not resent" in message
    assert info.value.sent is True


async def test_deploy_with_broken_answer_is_not_resent(api: Api) -> None:
    api.route("POST", RUNS, Resp(status=201, body=b'{"id": ', broken=True), ok(run_json(), status=201))
    with pytest.raises(PsevenRequestMayHaveSucceeded, match="the answer broke off"):
        await api.call("deploy_run", RunKind.WORKFLOW, WF_ID)
    assert len(api.sent) == 1


@pytest.mark.parametrize("failure", ["connect", "connect_timeout"])
async def test_deploy_is_resent_when_it_never_reached_the_server(api: Api, failure: str) -> None:
    api.route("POST", RUNS, Resp(error=failure), ok(run_json("QUEUED_TO_INITIALIZE"), status=201))
    run = await api.call("deploy_run", RunKind.WORKFLOW, WF_ID, name="n")
    assert run.state.value == "QUEUED_TO_INITIALIZE"
    assert len(api.sent) == 2
    assert [s.json() for s in api.sent] == [{"name": "n"}, {"name": "n"}]


@pytest.mark.parametrize("status", [429, 503])
async def test_deploy_is_resent_after_429_and_503(api: Api, status: int) -> None:
    api.route("POST", RUNS, detail(status, "busy"), ok(run_json(), status=201))
    await api.call("deploy_run", RunKind.WORKFLOW, WF_ID)
    assert len(api.sent) == 2


@pytest.mark.parametrize("status", [502, 504])
async def test_deploy_is_not_resent_after_a_gateway_error(api: Api, status: int) -> None:
    api.route("POST", RUNS, detail(status, "Bad Gateway"), ok(run_json(), status=201))
    with pytest.raises(PsevenServerError) as info:
        await api.call("deploy_run", RunKind.WORKFLOW, WF_ID)
    assert info.value.status == status
    assert len(api.sent) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_get_is_retried_after_gateway_errors_only(api: Api, status: int) -> None:
    api.route("GET", WORKFLOWS, detail(status, "oops"), ok([]))
    client = api.make_client(retry=RetryPolicy(attempts=2))
    if status == 500:
        with pytest.raises(PsevenServerError):
            await api.call("list_workflows", client=client)
        assert len(api.sent) == 1
    else:
        assert await api.call("list_workflows", client=client) == []
        assert len(api.sent) == 2


async def test_4xx_is_not_retried(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(400, "bad"), ok([]))
    with pytest.raises(PsevenBadRequestError):
        await api.call("list_workflows")
    assert len(api.sent) == 1


async def test_message_pop_is_not_resent_after_a_timeout(api: Api) -> None:
    api.route("POST", f"{RUN_URL}message_pop/", Resp(error="read_timeout"), ok({"message": "m"}))
    with pytest.raises(PsevenRequestMayHaveSucceeded):
        await api.call("message_pop", REF)
    assert len(api.sent) == 1


async def test_interrupt_is_resent_after_a_timeout(api: Api) -> None:
    api.route("POST", f"{RUN_URL}interrupt/", Resp(error="read_timeout"), ok({}))
    await api.call("interrupt_run", REF)
    assert len(api.sent) == 2


async def test_upload_resent_after_503_sends_the_whole_body_again(api: Api, tmp_path: Path) -> None:
    local = tmp_path / "data.bin"
    local.write_bytes(bytes(range(256)) * 40)
    api.route("POST", f"{RUN_URL}upload/", detail(503, "busy"), ok({"uploaded_files": ["/r/data.bin"]}))
    result = await api.call("upload", REF, [local], chunk_size=999)
    assert result.files == ("/r/data.bin",)
    first, second = api.sent
    assert first.body == second.body
    assert first.form()[0][2] == local.read_bytes()


async def test_retries_stop_after_attempts_and_raise_the_last_error(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(503, "busy"), detail(503, "busy"), detail(502, "gateway"), ok([]))
    client = api.make_client(retry=RetryPolicy(attempts=3))
    with pytest.raises(PsevenServerError) as info:
        await api.call("list_workflows", client=client)
    assert info.value.status == 502
    assert info.value.detail == "gateway"
    assert len(api.sent) == 3
    assert len(api.sleeps) == 2


async def test_transport_failures_stop_after_attempts(api: Api) -> None:
    api.route("GET", WORKFLOWS, Resp(error="connect"))
    client = api.make_client(retry=RetryPolicy(attempts=4))
    with pytest.raises(
        PsevenTransportError,
        match=r"^GET workflows/: cannot connect: Connect(ion)?Error \(server https://p7\.example\.com\)$",
    ) as info:
        await api.call("list_workflows", client=client)
    assert info.value.sent is False
    assert len(api.sent) == 4
    assert len(api.sleeps) == 3


async def test_budget_stops_a_wait_that_would_exceed_it(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(503, "maintenance", Retry_After="60"), ok([]))
    client = api.make_client(retry=RetryPolicy(budget=5.0))
    with pytest.raises(PsevenServerError) as info:
        await api.call("list_workflows", client=client)
    assert info.value.status == 503
    assert info.value.retry_after == 60.0
    assert len(api.sent) == 1
    assert api.sleeps == []


async def test_budget_allows_a_wait_within_it(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(503, "maintenance", Retry_After="4"), ok([]))
    client = api.make_client(retry=RetryPolicy(budget=5.0))
    assert await api.call("list_workflows", client=client) == []
    assert api.sleeps == [4.0]


# --- the policy itself ----------------------------------------------------------------------------


def test_backoff_grows_to_the_maximum_with_bounded_jitter() -> None:
    policy = RetryPolicy(initial=0.5, maximum=20.0)
    rng_state = random.getstate()
    try:
        random.seed(1234)
        samples = {attempt: [policy.backoff(attempt) for _ in range(200)] for attempt in range(1, 11)}
    finally:
        random.setstate(rng_state)
    for attempt, values in samples.items():
        ceiling = min(20.0, 0.5 * 2 ** (attempt - 1))
        assert all(ceiling / 2 <= v <= ceiling for v in values), attempt
        assert len(set(values)) > 150  # jittered, not a constant
    means = [statistics.mean(samples[a]) for a in range(1, 11)]
    assert means[:6] == sorted(means[:6])  # 0.5, 1, 2, 4, 8, 16: growing
    assert means[5] > 4 * means[3]
    assert all(10.0 <= m <= 20.0 for m in means[6:])  # capped at maximum 20


def test_backoff_exact_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = RetryPolicy(initial=1.0, maximum=6.0)
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    assert [policy.backoff(a) for a in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 6.0]
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    assert [policy.backoff(a) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"budget": -1.0}, {"initial": -0.1}, {"maximum": -1.0}])
def test_retry_policy_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="attempts >= 1 and non-negative times"):
        RetryPolicy(**kwargs)


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


@pytest.mark.parametrize(
    ("retry", "error", "expected"),
    [
        (Retry.SAFE, PsevenTransportError("GET", "p", "r", sent=True), True),
        (Retry.UNSENT_ONLY, PsevenTransportError("POST", "p", "r", sent=True), False),
        (Retry.UNSENT_ONLY, PsevenTransportError("POST", "p", "r", sent=False), True),
        (Retry.SAFE, PsevenRequestMayHaveSucceeded("POST", "p", "r"), False),
        (Retry.SAFE, PsevenServerError("GET", "p", 500, "d"), False),
        (Retry.SAFE, PsevenServerError("GET", "p", 502, "d"), True),
        (Retry.UNSENT_ONLY, PsevenServerError("POST", "p", 502, "d"), False),
        (Retry.UNSENT_ONLY, PsevenServerError("POST", "p", 504, "d"), False),
        (Retry.UNSENT_ONLY, PsevenServerError("POST", "p", 503, "d"), True),
        (Retry.UNSENT_ONLY, PsevenServerError("POST", "p", 429, "d"), True),
        (Retry.SAFE, PsevenBadRequestError("GET", "p", 400, "d"), False),
        (Retry.SAFE, ValueError("not ours"), False),
    ],
)
def test_should_retry_matrix(retry: Retry, error: Exception, expected: bool) -> None:
    call = Call("POST", "p", retry=retry)
    assert RetryPolicy().should_retry(call, error) is expected
