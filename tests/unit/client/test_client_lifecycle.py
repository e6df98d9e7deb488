"""The lifecycle operations, driven step by step against a small scripted server (no I/O at all)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_pseven.client import (
    PsevenConfigError,
    PsevenRequestMayHaveSucceeded,
    PsevenWaitTimeout,
    RunKind,
    RunRef,
    RunState,
)
from airflow_provider_pseven.client.calls import Call, Reply, Sleep, check_reply
from airflow_provider_pseven.client.errors import PsevenRunStateError
from airflow_provider_pseven.client.lifecycle import (
    DeploySpec,
    NoMemory,
    deploy_or_adopt,
    interrupt_if_running,
    start_once,
    teardown,
)

WF = "wf"
REF = RunRef.workflow(WF, "r1")
RUNS = f"workflows/{WF}/runs/"


class Lost(Exception):
    """Stands for a request whose answer never came (the server may still act on it)."""


class Server:
    """A scripted server: runs by id, a run list, and hooks to lose answers or refuse requests."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.sent: list[str] = []
        self.sleeps: list[float] = []
        self.next_id = 1
        self.duplicates = "accepted"
        self.lose: Callable[[Call], bool] = lambda call: False
        #: A function of the number of polls so far, moving runs along as time passes.
        self.on_sleep: Callable[[Server], None] = lambda server: None

    def add(self, name: str, state: str) -> str:
        run_id = f"r{self.next_id}"
        self.next_id += 1
        self.runs[run_id] = {"id": run_id, "name": name, "state": state}
        return run_id

    def answer(self, call: Call) -> Reply:
        self.sent.append(f"{call.method} {call.path}")
        status, body = self._handle(call)
        reply = Reply(
            status, {"content-type": "application/json"}, json.dumps(body).encode(), call.path, call
        )
        return check_reply(reply)

    def _handle(self, call: Call) -> tuple[int, Any]:
        if call.path == RUNS and call.method == "GET":
            return 200, list(self.runs.values())
        if call.path == RUNS and call.method == "POST":
            name = (call.json or {}).get("name")
            if self.duplicates == "refused" and any(r["name"] == name for r in self.runs.values()):
                return 400, {"detail": f"A run named {name!r} already exists."}
            run_id = self.add(name, "QUEUED_TO_INITIALIZE")
            return 201, self.runs[run_id]
        run_id = call.path[len(RUNS) :].split("/", 1)[0]
        action = call.path[len(RUNS) + len(run_id) + 1 :]
        run = self.runs.get(run_id)
        if run is None:
            return 404, {"detail": "Not found."}
        if call.method == "GET" and not action:
            return 200, run
        if call.method == "DELETE":
            del self.runs[run_id]
            return 200, {"status": 200}
        if action == "run/":
            if run["state"] != "CONFIGURATION":
                return 400, {"detail": f"Run state is {run['state']}; this request requires CONFIGURATION."}
            run["state"] = "QUEUED_TO_RUN"
            return 200, {"status": 200, "message": "Accepted"}
        if action == "interrupt/":
            if run["state"] != "RUNNING":  # guide: "Run state must be RUNNING"
                return 400, {"detail": f"Run state is {run['state']}; this request requires RUNNING."}
            run["state"] = "INTERRUPTED"
            return 200, {"status": 200, "message": "Accepted"}
        raise AssertionError(f"unexpected {call.method} {call.path}")

    def drive(self, op: Any) -> Any:
        reply: Reply | None = None
        error: BaseException | None = None
        while True:
            try:
                step = op.throw(error) if error is not None else op.send(reply)
            except StopIteration as stop:
                return stop.value
            reply, error = None, None
            if isinstance(step, Sleep):
                self.sleeps.append(step.seconds)
                self.on_sleep(self)
                continue
            assert isinstance(step, Call)
            try:
                reply = self.answer(step)
            except Exception as failure:
                error = failure
            if self.lose(step):
                reply, error = None, PsevenRequestMayHaveSucceeded(step.method, step.path, "read timed out")


class Memory:
    def __init__(self, record: dict[str, Any] | None = None) -> None:
        self.record = record
        self.history: list[dict[str, Any] | None] = []

    def get(self) -> dict[str, Any] | None:
        return self.record

    def set(self, record: dict[str, Any]) -> None:
        self.record = record
        self.history.append(record)

    def forget(self) -> None:
        self.record = None


def spec(name: str = "airflow d r t t1-abc123", *, own_name: bool = True) -> DeploySpec:
    return DeploySpec(RunKind.WORKFLOW, WF, name, own_name=own_name, settle_polls=3, settle_interval=0.5)


# --- deploy_or_adopt ------------------------------------------------------------------------------


def test_a_first_try_deploys_and_records_the_run_before_and_after() -> None:
    server, memory = Server(), Memory()
    deployed = server.drive(deploy_or_adopt(spec(), memory))
    assert (deployed.run.id, deployed.adopted) == ("r1", False)
    # The name is recorded before the request, so a try that dies right after sending it lets the
    # next try find the run; the id once it is known.
    assert memory.history[0]["run_id"] is None and memory.history[0]["name"] == spec().name
    assert memory.record == {"parent_id": WF, "name": spec().name, "run_id": "r1"}
    assert server.sent == [f"POST {RUNS}"]  # an own name needs no look at the runs first


@pytest.mark.parametrize("state", ["QUEUED_TO_INITIALIZE", "CONFIGURATION", "QUEUED_TO_RUN", "RUNNING"])
def test_a_retry_adopts_the_live_run_its_earlier_try_deployed(state: str) -> None:
    server = Server()
    run_id = server.add("earlier", state)
    memory = Memory({"parent_id": WF, "name": "earlier", "run_id": run_id})
    deployed = server.drive(deploy_or_adopt(spec(), memory))
    assert (deployed.run.id, deployed.adopted) == (run_id, True)
    assert f"POST {RUNS}" not in server.sent


@pytest.mark.parametrize("state", ["FINISHED", "FAILED", "INTERRUPTED"])
def test_a_recorded_run_that_ended_means_a_new_run(state: str) -> None:
    server = Server()
    old = server.add("earlier", state)
    deployed = server.drive(
        deploy_or_adopt(spec(), Memory({"parent_id": WF, "name": "earlier", "run_id": old}))
    )
    assert deployed.adopted is False and deployed.run.id != old


def test_a_recorded_run_that_is_gone_means_a_new_run() -> None:
    server = Server()
    deployed = server.drive(deploy_or_adopt(spec(), Memory({"parent_id": WF, "name": "x", "run_id": "gone"})))
    assert deployed.adopted is False


def test_a_retry_after_a_try_that_lost_its_answer_finds_the_run_by_its_own_name() -> None:
    server = Server()
    landed = server.add("airflow d r t t1-aaaaaa", "CONFIGURATION")
    memory = Memory({"parent_id": WF, "name": "airflow d r t t1-aaaaaa", "run_id": None, "preexisting": []})
    deployed = server.drive(deploy_or_adopt(spec("airflow d r t t2-bbbbbb"), memory))
    assert (deployed.run.id, deployed.adopted) == (landed, True)


def test_a_user_run_with_the_given_name_is_never_adopted() -> None:
    server = Server()
    users = server.add("nightly", "CONFIGURATION")
    deployed = server.drive(deploy_or_adopt(spec("nightly", own_name=False), Memory()))
    assert deployed.run.id != users and deployed.adopted is False
    assert server.sent[0] == f"GET {RUNS}"  # the runs already named so are noted first


def test_a_user_run_with_the_given_name_is_not_taken_for_ours_after_a_lost_answer() -> None:
    server = Server()
    users = server.add("nightly", "CONFIGURATION")
    server.lose = lambda call: call.method == "POST"  # every deploy lands but loses its answer
    deployed = server.drive(deploy_or_adopt(spec("nightly", own_name=False), Memory()))
    assert deployed.run.id != users
    assert sorted(r["id"] for r in server.runs.values()) == sorted([users, deployed.run.id])


def test_a_lost_deploy_answer_leaves_exactly_one_run_when_names_may_repeat() -> None:
    server = Server()
    calls = {"n": 0}

    def lose_first(call: Call) -> bool:
        if call.method != "POST":
            return False
        calls["n"] += 1
        return calls["n"] == 1

    server.lose = lose_first
    deployed = server.drive(deploy_or_adopt(spec(), Memory()))
    assert list(server.runs) == [deployed.run.id]
    assert server.sent.count(f"POST {RUNS}") == 1  # the run appeared on the first look


def test_a_deploy_that_lands_only_after_the_resend_is_deleted_again() -> None:
    """The lost request is carried out after the client gave up watching and resent it: two runs
    of our name exist, and the extra one is deleted, so exactly one is left."""
    server = Server()
    state = {"posts": 0, "delayed": False}
    real_handle = server._handle

    def handle(call: Call) -> tuple[int, Any]:
        if call.method == "POST" and call.path == RUNS:
            state["posts"] += 1
            if state["posts"] == 1:
                state["delayed"] = True  # carried out later
                return 201, {}
            if state["delayed"]:
                server.add(spec().name, "QUEUED_TO_INITIALIZE")  # the first one lands now
                state["delayed"] = False
        return real_handle(call)

    server._handle = handle  # type: ignore[method-assign]
    server.lose = lambda call: call.method == "POST" and state["posts"] == 1
    # Runs initialize while the client waits (the guide deletes only from CONFIGURATION on).
    server.on_sleep = lambda s: [r.update(state="CONFIGURATION") for r in s.runs.values()]
    deployed = server.drive(deploy_or_adopt(spec(), Memory()))
    assert list(server.runs) == [deployed.run.id]
    assert any(sent.startswith("DELETE") for sent in server.sent)


def test_a_server_refusing_duplicates_answers_the_resend_with_400_and_the_run_is_ours() -> None:
    server = Server()
    server.duplicates = "refused"
    posts = {"n": 0}

    def lose_first(call: Call) -> bool:
        if call.method == "POST":
            posts["n"] += 1
        return call.method == "POST" and posts["n"] == 1

    server.lose = lose_first
    watched = spec()
    watched = DeploySpec(RunKind.WORKFLOW, WF, watched.name, own_name=True, settle_polls=1)
    # The run is not listed while the client watches (a slow list), then the resend is refused.
    listing = {"n": 0}
    real_handle = server._handle

    def slow_list(call: Call) -> tuple[int, Any]:
        if call.method == "GET" and call.path == RUNS:
            listing["n"] += 1
            if listing["n"] == 1:
                return 200, []
        return real_handle(call)

    server._handle = slow_list  # type: ignore[method-assign]
    deployed = server.drive(deploy_or_adopt(watched, Memory()))
    assert list(server.runs) == [deployed.run.id]


def test_a_name_taken_by_someone_else_on_a_server_refusing_duplicates_fails_clearly() -> None:
    server = Server()
    server.duplicates = "refused"
    server.add("nightly", "FINISHED")
    with pytest.raises(PsevenConfigError, match="already exists and the server refuses a second one") as info:
        server.drive(deploy_or_adopt(spec("nightly", own_name=False), NoMemory()))
    assert "give a run_name that is not in use" in str(info.value)


# --- start_once -----------------------------------------------------------------------------------


def test_start_waits_for_configuration_then_starts() -> None:
    server = Server()
    server.add("x", "QUEUED_TO_INITIALIZE")
    server.on_sleep = lambda s: s.runs["r1"].update(state="CONFIGURATION")
    assert server.drive(start_once(REF)) is True
    assert server.runs["r1"]["state"] == "QUEUED_TO_RUN"
    assert server.sleeps == [1.0]


@pytest.mark.parametrize("state", ["QUEUED_TO_RUN", "RUNNING", "FINISHED", "FAILED"])
def test_a_started_run_is_not_started_again(state: str) -> None:
    server = Server()
    server.add("x", state)
    assert server.drive(start_once(REF)) is False
    assert not any("run/" in sent for sent in server.sent)


def test_a_lost_start_answer_is_not_resent_when_the_run_moved() -> None:
    server = Server()
    server.add("x", "CONFIGURATION")
    server.lose = lambda call: call.path.endswith("run/")
    assert server.drive(start_once(REF, settle=3)) is True
    assert sum(sent.endswith("run/") for sent in server.sent) == 1


def test_start_of_a_run_in_another_state_says_so() -> None:
    server = Server()
    server.add("x", "UNKNOWN_NEW_STATE")
    with pytest.raises(PsevenRunStateError, match="only a CONFIGURATION run can start"):
        server.drive(start_once(REF))


# --- interrupt_if_running and teardown ------------------------------------------------------------


def test_a_running_run_is_interrupted() -> None:
    server = Server()
    server.add("x", "RUNNING")
    assert server.drive(interrupt_if_running(REF)) is True
    assert server.runs["r1"]["state"] == "INTERRUPTED"


def test_a_queued_run_is_interrupted_once_it_runs() -> None:
    """The guide allows interrupt only in RUNNING: the client waits for it rather than sending an
    interrupt the server must refuse."""
    server = Server()
    server.add("x", "QUEUED_TO_RUN")
    polls = {"n": 0}

    def run_after_two(s: Server) -> None:
        polls["n"] += 1
        if polls["n"] == 2:
            s.runs["r1"]["state"] = "RUNNING"

    server.on_sleep = run_after_two
    assert server.drive(interrupt_if_running(REF, interval=1.0)) is True
    assert server.sleeps == [1.0, 1.0]
    assert server.runs["r1"]["state"] == "INTERRUPTED"
    assert sum(sent.endswith("interrupt/") for sent in server.sent) == 1


def test_a_run_queued_beyond_the_bound_is_left_queued() -> None:
    server = Server()
    server.add("x", "QUEUED_TO_RUN")
    assert server.drive(interrupt_if_running(REF, queued_polls=3)) is False
    assert not any(sent.endswith("interrupt/") for sent in server.sent)
    assert len(server.sleeps) == 3


@pytest.mark.parametrize("state", ["CONFIGURATION", "FINISHED", "FAILED", "INTERRUPTED"])
def test_other_states_are_left_alone(state: str) -> None:
    server = Server()
    server.add("x", state)
    assert server.drive(interrupt_if_running(REF)) is False
    assert server.sent == [f"GET {RUNS}r1/"]


def test_teardown_interrupts_waits_and_deletes() -> None:
    server = Server()
    server.add("x", "RUNNING")
    assert server.drive(teardown(REF)) is True
    assert "r1" not in server.runs
    assert [s.split(" ")[0] for s in server.sent] == ["GET", "GET", "POST", "GET", "DELETE", "GET"]
    assert server.sleeps == []


def test_teardown_of_a_gone_run() -> None:
    assert Server().drive(teardown(REF)) is False


def test_is_active_and_from_summary() -> None:
    assert {s for s in RunState if s.is_active} == {RunState.QUEUED_TO_RUN, RunState.RUNNING}
    assert RunRef.from_summary({"app_id": "a@2", "run_id": "r"}) == RunRef(RunKind.APP, "a@2", "r")
    assert RunRef.from_summary({"workflow_id": "w", "run_id": "r"}) == RunRef.workflow("w", "r")


def test_teardown_of_a_run_queued_beyond_the_bound_says_it_is_left_unwatched() -> None:
    server = Server()
    server.add("x", "QUEUED_TO_RUN")
    with pytest.raises(
        PsevenWaitTimeout, match=r"r1 \(.*\) is still QUEUED_TO_RUN after 2 s, so it cannot be deleted"
    ):
        server.drive(teardown(REF, polls=2, interval=1.0))
    assert not any(sent.endswith("interrupt/") or sent.startswith("DELETE") for sent in server.sent)
