"""Triggers: serialization round trips, one TriggerEvent per outcome, transient errors, the shared client,
and RunStateTrigger.on_kill. HTTP is mocked with respx; the client's sleeps follow the fake clock."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from af_support import (  # import_string: what the triggerer does
    APP_ID,
    APPSHUB,
    RUN_ID,
    RUN_URL,
    WF_ID,
    FakeClock,
    app_json,
    import_string,
    polls,
    run_json,
    std_log,
)
from airflow.triggers.base import TriggerEvent

from airflow_provider_pseven.client import RunKind, RunRef
from airflow_provider_pseven.hooks import PsevenHook
from airflow_provider_pseven.hooks.async_clients import loop_clients as registry
from airflow_provider_pseven.triggers import AppReadyTrigger, MessageTrigger, RunStateTrigger
from airflow_provider_pseven.triggers.base import PsevenRunTrigger

APP_URL = f"{APPSHUB}apps/{APP_ID}@3/"


@pytest.fixture
def router(loop_clients: None) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def replies(*answers: Any) -> Any:
    """A respx side effect answering in turn (an exception is raised); the last answer repeats."""
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return httpx.Response(200, json=item)

    return answer


def run_reply(state: str) -> httpx.Response:
    return httpx.Response(200, json=run_json(state))


def detail(status: int, text: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": text})


async def events_of(trigger: Any) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


def run_trigger(*targets: str, **kwargs: Any) -> RunStateTrigger:
    return RunStateTrigger("pseven_default", "workflow", WF_ID, RUN_ID, targets or ("FINISHED",), **kwargs)


# --- serialization -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    [
        RunStateTrigger(
            "pseven_x",
            "app",
            APP_ID,
            RUN_ID,
            ["CONFIGURATION"],
            ["FAILED"],
            deadline=1_900_000_000.5,
            poll_interval=2.5,
            interrupt_on_kill=False,
        ),
        RunStateTrigger("pseven_default", "workflow", WF_ID, RUN_ID),
        AppReadyTrigger("pseven_x", APP_ID, 4, deadline=1_900_000_000.0, poll_interval=3.0),
        AppReadyTrigger("pseven_default", APP_ID),
        MessageTrigger("pseven_x", "workflow", WF_ID, RUN_ID, "progress", deadline=None, poll_interval=1.0),
        MessageTrigger("pseven_default", "app", APP_ID, RUN_ID),
    ],
    ids=["run-state", "run-state-defaults", "app-ready", "app-ready-defaults", "message", "message-defaults"],
)
def test_serialize_round_trips(trigger: Any) -> None:
    classpath, kwargs = trigger.serialize()
    json.dumps(kwargs)  # the triggerer stores the kwargs as JSON
    rebuilt = import_string(classpath)(**kwargs)
    assert type(rebuilt) is type(trigger)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_run_state_trigger_serializes_every_argument() -> None:
    classpath, kwargs = RunStateTrigger(
        "pseven_x",
        "app",
        APP_ID,
        RUN_ID,
        ["CONFIGURATION"],
        ["FAILED"],
        deadline=5.0,
        poll_interval=2.5,
        interrupt_on_kill=False,
    ).serialize()
    assert classpath == "airflow_provider_pseven.triggers.run_state.RunStateTrigger"
    assert kwargs == {
        "pseven_conn_id": "pseven_x",
        "deadline": 5.0,
        "poll_interval": 2.5,
        "kind": "app",
        "parent_id": APP_ID,
        "run_id": RUN_ID,
        "target_states": ["CONFIGURATION"],
        "failure_states": ["FAILED"],
        "interrupt_on_kill": False,
    }


class _ClassicTrigger(PsevenRunTrigger):
    """A user's subclass written the way the base classes asked before they were dataclasses."""

    def __init__(
        self, pseven_conn_id: str, kind: str, parent_id: str, run_id: str, label: str, **wait: Any
    ) -> None:
        super().__init__(pseven_conn_id, kind, parent_id, run_id, **wait)
        self.label = label

    def run_arguments(self) -> dict[str, Any]:
        return {"label": self.label}

    def waiting_op(self) -> Any:
        raise NotImplementedError


def test_the_base_triggers_declare_arguments_once_and_still_serve_a_classic_subclass() -> None:
    trigger = MessageTrigger("c", "app", APP_ID, RUN_ID, "ch", deadline=3.0, poll_interval=1.5)
    assert trigger.ref == RunRef(RunKind.APP, APP_ID, RUN_ID)
    assert repr(trigger).startswith("<airflow_provider_pseven.triggers.message.MessageTrigger")
    with pytest.raises(ValueError):
        MessageTrigger("c", "nonsense", APP_ID, RUN_ID)
    with pytest.raises(TypeError):
        MessageTrigger("c", "app", APP_ID, RUN_ID, "ch", 3.0)  # type: ignore[misc]  # deadline is keyword-only
    classic = _ClassicTrigger("c", "workflow", WF_ID, RUN_ID, "mine", deadline=9.0)
    assert classic.serialize()[1] == {
        "pseven_conn_id": "c",
        "deadline": 9.0,
        "poll_interval": 5.0,
        "kind": "workflow",
        "parent_id": WF_ID,
        "run_id": RUN_ID,
        "label": "mine",
    }


def test_sweep_trigger_serializes_every_argument_and_round_trips() -> None:
    from airflow_provider_pseven.triggers import SweepTrigger

    arguments = {
        "pseven_conn_id": "pseven_x",
        "kind": "workflow",
        "parent_id": WF_ID,
        "prefix": "airflow dag sweep k1",
        "table": "s3://bucket/in.csv",
        "work": "s3://bucket/out/_work",
        "points": 12,
        "columns": {"x": 0, "y": 3},
        "max_active_runs": 4,
        "retries_per_point": 1,
        "max_failed_points": 0.25,
        "keep_runs": "none",
        "poll_interval": 2.0,
        "deadline": 1_900_000_000.0,
        "results_lag_timeout": 10.0,
    }
    classpath, kwargs = SweepTrigger(**arguments).serialize()
    assert classpath == "airflow_provider_pseven.triggers.sweep.SweepTrigger"
    assert kwargs == arguments
    json.dumps(kwargs)
    assert import_string(classpath)(**kwargs).serialize() == (classpath, kwargs)


def test_message_and_app_triggers_serialize_their_arguments() -> None:
    path, kwargs = MessageTrigger("c", "workflow", WF_ID, RUN_ID, "ch", deadline=9.0).serialize()
    assert path == "airflow_provider_pseven.triggers.message.MessageTrigger"
    assert kwargs["channel"] == "ch" and kwargs["deadline"] == 9.0 and kwargs["kind"] == "workflow"
    path, kwargs = AppReadyTrigger("c", APP_ID, 4).serialize()
    assert path == "airflow_provider_pseven.triggers.app_ready.AppReadyTrigger"
    assert kwargs == {
        "pseven_conn_id": "c",
        "deadline": None,
        "poll_interval": 5.0,
        "app_id": APP_ID,
        "version": 4,
    }


# --- RunStateTrigger.run ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["CONFIGURATION", "QUEUED_TO_RUN", "RUNNING", "FINISHED"])
async def test_success_for_each_target_state(router: respx.MockRouter, state: str) -> None:
    router.get(RUN_URL).mock(return_value=run_reply(state))
    events = await events_of(run_trigger(state))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "success"
    assert payload["state"] == state
    assert payload["payload"] == {
        "workflow_id": WF_ID,
        "run_id": RUN_ID,
        "name": "run-1",
        "path": "/Users/1/ToyWorkflow.p7wf/@Runs/run-1.p7run",
        "url": f"http://p7.test/pseven/runs/{RUN_ID}",
        "state": state,
    }


async def test_interrupted_as_a_target_is_success(router: respx.MockRouter) -> None:
    router.get(RUN_URL).mock(return_value=run_reply("INTERRUPTED"))
    [event] = await events_of(run_trigger("INTERRUPTED", "FINISHED", failure_states=()))
    assert (event.payload["status"], event.payload["state"]) == ("success", "INTERRUPTED")


async def test_polls_until_the_target(router: respx.MockRouter, clock: FakeClock) -> None:
    route = router.get(RUN_URL).mock(
        side_effect=replies(run_reply("QUEUED_TO_RUN"), run_reply("RUNNING"), run_reply("FINISHED"))
    )
    [event] = await events_of(run_trigger(poll_interval=7.0))
    assert event.payload["status"] == "success"
    assert route.call_count == 3
    assert polls(clock, 7.0) == 2


@pytest.mark.parametrize("state", ["FAILED", "INTERRUPTED"])
async def test_failed_for_failure_states(router: respx.MockRouter, state: str) -> None:
    router.get(RUN_URL).mock(return_value=run_reply(state))
    [event] = await events_of(run_trigger())
    assert event.payload["status"] == "failed"
    assert event.payload["state"] == state
    assert event.payload["message"] == f"run {RUN_ID} ended {state}"
    assert event.payload["payload"]["run_id"] == RUN_ID


async def test_failed_for_an_unexpected_terminal_state(router: respx.MockRouter) -> None:
    router.get(RUN_URL).mock(return_value=run_reply("FINISHED"))
    [event] = await events_of(run_trigger("CONFIGURATION"))
    assert event.payload["status"] == "failed"
    assert event.payload["state"] == "FINISHED"
    assert "ended FINISHED" in event.payload["message"]


async def test_timeout_after_one_poll_when_the_deadline_has_passed(
    router: respx.MockRouter, clock: FakeClock
) -> None:
    route = router.get(RUN_URL).mock(return_value=run_reply("RUNNING"))
    [event] = await events_of(run_trigger(deadline=clock.time() - 10))
    assert event.payload["status"] == "timeout"
    assert event.payload["state"] == "RUNNING"
    assert event.payload["payload"] == {"workflow_id": WF_ID, "run_id": RUN_ID, "state": "RUNNING"}
    assert "still RUNNING at its deadline" in event.payload["message"]
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_timeout_when_the_deadline_passes_while_polling(
    router: respx.MockRouter, clock: FakeClock
) -> None:
    route = router.get(RUN_URL).mock(return_value=run_reply("RUNNING"))
    deadline = clock.time() + 12
    [event] = await events_of(run_trigger(deadline=deadline, poll_interval=5.0))
    assert event.payload["status"] == "timeout"
    assert polls(clock, 5.0) == route.call_count - 1
    assert clock.time() == pytest.approx(deadline)  # the last pause stops at the deadline
    assert 3 <= route.call_count <= 5  # 12 s of 5 s ticks


@pytest.mark.parametrize(
    ("status", "text"), [(404, "Not found."), (403, "You do not have permission to perform this action.")]
)
async def test_error_event_for_errors_retrying_cannot_mend(
    router: respx.MockRouter, status: int, text: str
) -> None:
    route = router.get(RUN_URL).mock(return_value=detail(status, text))
    [event] = await events_of(run_trigger())
    assert event.payload["status"] == "error"
    assert f"HTTP {status}" in event.payload["message"]
    assert text in event.payload["message"]
    # A 403 is first taken for a rotated token: one more try, with the connection read again.
    assert route.call_count == (2 if status == 403 else 1)


async def test_a_rotated_token_is_used_after_an_auth_error(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection's token was rotated while the trigger waited: the old one meets 401, the
    trigger reads the connection again and waits on with the new token."""
    import json as json_module

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Token rotated":
            return run_reply("FINISHED")
        return detail(401, "Invalid token.")

    route = router.get(RUN_URL).mock(side_effect=answer)
    conn = json_module.loads(os.environ["AIRFLOW_CONN_PSEVEN_DEFAULT"])
    await PsevenHook().get_async_client()  # the old token, as the triggerer read it earlier
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_DEFAULT", json_module.dumps({**conn, "password": "rotated"}))
    [event] = await events_of(run_trigger())
    assert event.payload["status"] == "success"
    assert [call.request.headers["Authorization"] for call in route.calls] == [
        "Token " + conn["password"],
        "Token rotated",
    ]


async def test_a_503_does_not_end_the_wait(router: respx.MockRouter) -> None:
    route = router.get(RUN_URL).mock(side_effect=replies(detail(503, "busy"), run_reply("FINISHED")))
    [event] = await events_of(run_trigger())
    assert event.payload["status"] == "success"
    assert route.call_count == 2


async def test_a_connection_error_does_not_end_the_wait(router: respx.MockRouter) -> None:
    route = router.get(RUN_URL).mock(
        side_effect=replies(httpx.ConnectError("refused"), run_reply("RUNNING"), run_reply("FINISHED"))
    )
    [event] = await events_of(run_trigger())
    assert event.payload["status"] == "success"
    assert route.call_count == 3


async def test_transient_errors_beyond_the_retry_budget_still_do_not_end_the_wait(
    router: respx.MockRouter,
) -> None:
    # Eight 503s exhaust one request's retries; the wait loop logs that and polls again.
    answers = [detail(503, "busy")] * 10 + [run_reply("FINISHED")]
    route = router.get(RUN_URL).mock(side_effect=replies(*answers))
    [event] = await events_of(run_trigger())
    assert event.payload["status"] == "success"
    assert route.call_count == 11


async def test_triggers_share_one_client_and_pool(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    constructed: list[Any] = []

    class CountingAsyncClient(httpx.AsyncClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            constructed.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", CountingAsyncClient)
    router.get(RUN_URL).mock(side_effect=replies(run_reply("RUNNING"), run_reply("FINISHED")))
    router.get(APP_URL).mock(return_value=httpx.Response(200, json=app_json()))
    first, second = run_trigger(), AppReadyTrigger("pseven_default", APP_ID, 3)
    await events_of(first)
    await events_of(second)
    await events_of(run_trigger())
    assert len(constructed) == 1
    assert await first.client() is await second.client()

    [task] = registry().by_config.values()
    assert task.result() is await first.client()
    assert task.result().http is constructed[0]


# --- AppReadyTrigger -------------------------------------------------------------------------------


async def test_app_ready_success(router: respx.MockRouter, clock: FakeClock) -> None:
    route = router.get(APP_URL).mock(
        side_effect=replies(
            app_json(state="QUEUED_TO_INITIALIZE"), app_json(state="INITIALIZING"), app_json()
        )
    )
    [event] = await events_of(AppReadyTrigger("pseven_default", APP_ID, 3, poll_interval=2.0))
    assert event.payload["status"] == "success"
    assert event.payload["payload"] == {
        "app_id": APP_ID,
        "version": 3,
        "revision": 0,
        "url": f"http://p7.test/appshub/app/{APP_ID}@3",
        "state": "READY",
    }
    assert route.call_count == 3
    assert polls(clock, 2.0) == 2


async def test_app_publishing_failed(router: respx.MockRouter) -> None:
    router.get(APP_URL).mock(return_value=httpx.Response(200, json=app_json(state="FAILED")))
    [event] = await events_of(AppReadyTrigger("pseven_default", APP_ID, 3))
    assert event.payload["status"] == "failed"
    assert event.payload["message"] == f"publishing app {APP_ID} failed"


async def test_app_timeout_and_error(router: respx.MockRouter, clock: FakeClock) -> None:
    router.get(APP_URL).mock(return_value=httpx.Response(200, json=app_json(state="INITIALIZING")))
    [event] = await events_of(AppReadyTrigger("pseven_default", APP_ID, 3, deadline=clock.time() - 1))
    assert (event.payload["status"], event.payload["state"]) == ("timeout", "INITIALIZING")
    router.get(f"{APPSHUB}apps/{APP_ID}@4/").mock(return_value=detail(404, "Not found."))
    [event] = await events_of(AppReadyTrigger("pseven_default", APP_ID, 4))
    assert event.payload["status"] == "error"
    assert "HTTP 404" in event.payload["message"]


# --- MessageTrigger --------------------------------------------------------------------------------


async def test_message_arrives_after_empty_pops(router: respx.MockRouter) -> None:
    route = router.post(f"{RUN_URL}message_pop/").mock(
        side_effect=replies(httpx.Response(204), httpx.Response(200, json={"message": "50% done"}))
    )
    state = router.get(RUN_URL).mock(return_value=run_reply("RUNNING"))
    [event] = await events_of(MessageTrigger("pseven_default", "workflow", WF_ID, RUN_ID, "progress"))
    assert event.payload["status"] == "success"
    assert event.payload["payload"] == {"workflow_id": WF_ID, "run_id": RUN_ID, "message": "50% done"}
    assert route.call_count == 2
    assert state.call_count == 1  # an empty queue: has the run ended meanwhile?
    assert json.loads(route.calls.last.request.content) == {"channel": "progress"}


async def test_message_fails_when_an_ended_run_answers_no_content(router: respx.MockRouter) -> None:
    """A server may answer 204 (nothing queued) for a run that has ended, not an error: the run's
    state, read while waiting, ends the wait with the final state instead of at the deadline."""
    router.post(f"{RUN_URL}message_pop/").mock(return_value=httpx.Response(204))
    router.get(RUN_URL).mock(side_effect=replies(run_reply("RUNNING"), run_reply("FINISHED")))
    [event] = await events_of(MessageTrigger("pseven_default", "workflow", WF_ID, RUN_ID, poll_interval=1))
    assert event.payload["status"] == "failed"
    assert event.payload["state"] == "FINISHED"
    assert "ended FINISHED before a message came" in event.payload["message"]


async def test_message_waits_while_the_run_has_not_started(router: respx.MockRouter) -> None:
    router.post(f"{RUN_URL}message_pop/").mock(
        side_effect=replies(
            detail(400, "Run is not RUNNING: CONFIGURATION"), httpx.Response(200, json={"message": "hi"})
        )
    )
    router.get(RUN_URL).mock(return_value=run_reply("CONFIGURATION"))
    [event] = await events_of(MessageTrigger("pseven_default", "workflow", WF_ID, RUN_ID))
    assert event.payload["status"] == "success"
    assert event.payload["payload"]["message"] == "hi"


async def test_message_fails_when_the_run_ended(router: respx.MockRouter) -> None:
    router.post(f"{RUN_URL}message_pop/").mock(return_value=detail(400, "Run is FINISHED, not RUNNING"))
    router.get(RUN_URL).mock(return_value=run_reply("FINISHED"))
    [event] = await events_of(MessageTrigger("pseven_default", "workflow", WF_ID, RUN_ID))
    assert event.payload["status"] == "failed"
    assert event.payload["state"] == "FINISHED"
    assert "ended FINISHED before a message came on the default channel" in event.payload["message"]


async def test_message_timeout_and_error(router: respx.MockRouter, clock: FakeClock) -> None:
    pop = router.post(f"{RUN_URL}message_pop/").mock(return_value=httpx.Response(204))
    router.get(RUN_URL).mock(return_value=run_reply("RUNNING"))
    [event] = await events_of(
        MessageTrigger("pseven_default", "workflow", WF_ID, RUN_ID, deadline=clock.time() - 1)
    )
    assert event.payload["status"] == "timeout"
    assert pop.call_count == 1
    pop.mock(return_value=detail(403, "Forbidden."))
    [event] = await events_of(MessageTrigger("pseven_default", "workflow", WF_ID, RUN_ID))
    assert event.payload["status"] == "error"
    assert "HTTP 403" in event.payload["message"]


# --- RunStateTrigger.on_kill -------------------------------------------------------------------------


async def test_on_kill_interrupts_a_running_run(router: respx.MockRouter) -> None:
    router.get(RUN_URL).mock(return_value=run_reply("RUNNING"))
    interrupt = router.post(f"{RUN_URL}interrupt/").mock(return_value=httpx.Response(200, json={}))
    await std_log(run_trigger()).on_kill()
    assert interrupt.call_count == 1


async def test_on_kill_waits_for_a_queued_run_to_run_then_interrupts_it(router: respx.MockRouter) -> None:
    # The guide interrupts only RUNNING runs; an interrupt sent while QUEUED_TO_RUN would be refused.
    get = router.get(RUN_URL).mock(side_effect=replies(run_reply("QUEUED_TO_RUN"), run_reply("RUNNING")))
    interrupt = router.post(f"{RUN_URL}interrupt/").mock(return_value=httpx.Response(200, json={}))
    await std_log(run_trigger()).on_kill()
    assert (get.call_count, interrupt.call_count) == (2, 1)


@pytest.mark.parametrize("state", ["FINISHED", "CONFIGURATION", "FAILED"])
async def test_on_kill_leaves_a_run_that_is_not_running(router: respx.MockRouter, state: str) -> None:
    get = router.get(RUN_URL).mock(return_value=run_reply(state))
    interrupt = router.post(f"{RUN_URL}interrupt/").mock(return_value=httpx.Response(200, json={}))
    await std_log(run_trigger()).on_kill()
    assert get.call_count == 1
    assert interrupt.call_count == 0


async def test_on_kill_does_nothing_when_told_not_to(router: respx.MockRouter) -> None:
    get = router.get(RUN_URL).mock(return_value=run_reply("RUNNING"))
    interrupt = router.post(f"{RUN_URL}interrupt/").mock(return_value=httpx.Response(200, json={}))
    await std_log(run_trigger(interrupt_on_kill=False)).on_kill()
    assert get.call_count == 0
    assert interrupt.call_count == 0


async def test_on_kill_survives_an_api_error(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    router.get(RUN_URL).mock(return_value=detail(404, "Not found."))
    await std_log(run_trigger()).on_kill()
    assert any("Could not interrupt pSeven run" in r.getMessage() for r in caplog.records)
