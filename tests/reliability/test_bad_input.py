"""Bad input, table-driven: every case names the mistake, the exception it must raise, and phrases
its message must contain, so that the message says WHAT TO FIX (the offending value and the remedy).

Cases run against the real emulator (``pseven_emulator``, started lazily: cases that fail at
construction never start one), except where a case needs an answer the emulator never gives
(invalid JSON, an unsafe listing, a URL on another host): those use requests-mock.

A case whose message is not clear enough, or that behaves wrongly, is written as it should be and
marked ``xfail(strict=True, reason="BUG: ...")``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests_mock

from airflow_provider_pseven.client import (
    ClientConfig,
    PsevenApiNotFoundError,
    PsevenAuthError,
    PsevenBadRequestError,
    PsevenClient,
    PsevenConfigError,
    PsevenHTTPError,
    PsevenLookupError,
    PsevenNotFoundError,
    PsevenNotJsonError,
    PsevenStateError,
    PsevenUnsafeURLError,
    RunKind,
    RunRef,
    RunState,
)
from airflow_provider_pseven.client.appshub import PsevenAppVersionError
from airflow_provider_pseven.client.calls import Base, Call, Op
from airflow_provider_pseven.client.parameters import PsevenParametersNotKeptError
from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.emulator.server import EmulatorServer
from airflow_provider_pseven.emulator.workflows import TOY_WORKFLOW_ID, Param, Workflow
from airflow_provider_pseven.emulator.world import DEFAULT_USER, TOY_APP_ID
from airflow_provider_pseven.hooks import PsevenHook
from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    DownloadFileOperator,
    GetRunResultsOperator,
    InterruptRunOperator,
    PatchParametersOperator,
    StartRunOperator,
    UploadFilesOperator,
)
from airflow_provider_pseven.sensors import RunStateSensor

pytestmark = pytest.mark.pseven_emulator(time_scale=0.05)

TOY = TOY_WORKFLOW_ID
SLOW = "/Users/1/Slow.p7wf"
FAILING = "/Users/1/Failing.p7wf"
UNKNOWN_ID = "0" * 32
MOCK_HOST = "http://p7.test"
MOCK_API = f"{MOCK_HOST}/pseven/.rest/v2/"


# --- a minimal task context (copied from tests/unit/airflow/af_support.py) ------------------------


class FakeTI:
    def __init__(self) -> None:
        self.dag_id = "dag_1"
        self.run_id = "manual__2026-01-01T00:00:00+00:00"
        self.task_id = "task_1"
        self.map_index = -1
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class FakeStore:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def context() -> dict[str, Any]:
    return {"ti": FakeTI(), "task_state_store": FakeStore()}


# --- what a case gets ---------------------------------------------------------------------------------


class Env:
    """A case's world: the emulator (started on first use), a temp dir, and run helpers.

    ``vars`` holds values a case learns while it runs (a run id, a path) for its phrases.
    """

    def __init__(self, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
        self._request = request
        self.monkeypatch = monkeypatch
        self.tmp = tmp_path
        self._server: EmulatorServer | None = None
        self.variants: str | None = None
        self.vars: dict[str, str] = {}
        self._clients: list[PsevenClient] = []

    @property
    def server(self) -> EmulatorServer:
        if self._server is None:
            if self.variants is None:
                self._server = self._request.getfixturevalue("pseven_emulator")
            else:
                factory = self._request.getfixturevalue("pseven_emulator_factory")
                self._server = factory(time_scale=0.05, variants=self.variants)
            self.set_connection()
            self.vars["url"] = self._server.url
        return self._server

    def set_connection(self, **changes: Any) -> None:
        """``pseven_default`` = the emulator's connection, with ``changes`` (``extra`` is merged)."""
        conn = json.loads(self.server.connection_json())
        conn["extra"].update(changes.pop("extra", {}))
        conn.update(changes)
        self.monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_DEFAULT", json.dumps(conn))

    def client(self, **overrides: Any) -> PsevenClient:
        settings: dict[str, Any] = {"host": self.server.url, "token": self.server.token, "api_path": ".rest"}
        settings.update(overrides)
        client = PsevenClient(ClientConfig(**settings))
        self._clients.append(client)
        return client

    def run_in(self, state: RunState, workflow: str = TOY, name: str = "case", **parameters: Any) -> RunRef:
        """A run of ``workflow`` (id or path) brought to ``state``; ``vars["run_id"]`` is its id."""
        client = self.client()
        workflow_id = client.resolve_workflow(workflow).id
        run = client.deploy_run(RunKind.WORKFLOW, workflow_id, name=name)
        ref = RunRef.workflow(workflow_id, run.id)
        self.vars.update(run_id=run.id, workflow_id=workflow_id)
        client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.01)
        if parameters:
            client.set_parameters(ref, parameters)
        if state is not RunState.CONFIGURATION:
            client.start_run(ref)
            targets = [state]
            failures = [s for s in (RunState.FAILED, RunState.INTERRUPTED) if s is not state]
            client.wait_for_run(ref, targets, failures, interval=0.01)
        return ref

    def ids(self, ref: RunRef) -> dict[str, str]:
        return {"workflow_id": ref.parent_id, "run_id": ref.run_id}

    def requests(self, method: str, suffix: str) -> int:
        return self.server.requests.count(method=method, path_suffix=suffix)

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Env]:
    monkeypatch.delenv("AIRFLOW_CONN_PSEVEN_DEFAULT", raising=False)
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda secret, name=None: None)
    environment = Env(request, monkeypatch, tmp_path)
    yield environment
    environment.close()


@dataclass(frozen=True)
class Case:
    id: str
    act: Callable[[Env], Any]
    raises: type[BaseException]
    #: Phrases the message must contain; ``{name}`` is filled from ``Env.vars``.
    says: tuple[str, ...]
    #: Phrases the message must NOT contain (a password, ...).
    never_says: tuple[str, ...] = ()
    #: Checks after the error: nothing was sent, nothing was written, ...
    then: Callable[[Env], None] | None = None
    bug: str | None = None
    #: The emulator variants the case needs (a point the guide leaves open); None: the guide's.
    variants: str | None = None


CASES: list[Case] = []


def case(
    id: str,
    raises: type[BaseException],
    *says: str,
    never_says: tuple[str, ...] = (),
    then: Callable[[Env], None] | None = None,
    bug: str | None = None,
    variants: str | None = None,
) -> Callable[[Callable[[Env], Any]], Callable[[Env], Any]]:
    """Register the decorated function as the act of a case."""

    def register(act: Callable[[Env], Any]) -> Callable[[Env], Any]:
        CASES.append(Case(id, act, raises, says, never_says, then, bug, variants))
        return act

    return register


# =====================================================================================================
# Where the server is, and who we are
# =====================================================================================================


@case("no-host", PsevenConfigError, "No pSeven host is configured", "Host", "https://app.pseven.io")
def _(env: Env) -> None:
    ClientConfig(host="", token="t")


@case("no-host-in-connection", PsevenConfigError, "No pSeven host is configured", "connection's Host")
def _(env: Env) -> None:
    env.monkeypatch.setenv(
        "AIRFLOW_CONN_PSEVEN_DEFAULT", json.dumps({"conn_type": "pseven", "password": "t"})
    )
    _ = PsevenHook().client


@case(
    "host-not-http",
    PsevenConfigError,
    "'ftp://files.example.com'",
    "is not an http(s) URL",
    "e.g. https://app.pseven.io",
)
def _(env: Env) -> None:
    ClientConfig(host="ftp://files.example.com", token="t")


@case(
    "host-with-a-port-that-is-not-a-number",
    PsevenConfigError,
    "'https://app.pseven.io:8o43'",
    "port",
)
def _(env: Env) -> None:
    PsevenClient(ClientConfig(host="https://app.pseven.io:8o43", token="t"))


@case(
    "no-credentials",
    PsevenConfigError,
    "No pSeven credentials",
    "Password to an API token",
    "Login and Password",
)
def _(env: Env) -> None:
    ClientConfig(host="https://app.pseven.io")


@case("unknown-api-path", PsevenConfigError, "'rest'", "'auto', '.rest' or '@rest'")
def _(env: Env) -> None:
    ClientConfig(host="https://app.pseven.io", token="t", api_path="rest")


@case(
    "bad-token",
    PsevenAuthError,
    "HTTP 403",
    "Invalid token",
    "check the connection's API token",
    never_says=("not-the-token",),
)
def _(env: Env) -> None:
    env.set_connection(password="not-the-token")
    PsevenHook().client.list_workflows()


@case(
    "login-with-a-wrong-password",
    PsevenAuthError,
    "auth/login/",
    "Unable to log in",
    "Login and Password",
    never_says=("wrong-password",),
)
def _(env: Env) -> None:
    env.set_connection(login=DEFAULT_USER, password="wrong-password")
    PsevenHook().client.list_workflows()


@case(
    "api-path-@rest-against-a-.rest-server",
    PsevenApiNotFoundError,
    "GET workflows/ answered HTTP 404",
    "api_path ('auto', '.rest' or '@rest')",
)
def _(env: Env) -> None:
    env.set_connection(extra={"api_path": "@rest"})
    PsevenHook().client.list_workflows()


@case(
    "api-path-@rest-against-a-.rest-server-behind-a-sign-in-page",
    PsevenNotJsonError,
    "/pseven/@rest/v2/workflows/",
    "an HTML page",
    "api_path ('auto', '.rest' or '@rest')",
    variants="guide,unknown_base_path=html",
)
def _(env: Env) -> None:
    env.set_connection(extra={"api_path": "@rest"})
    PsevenHook().client.list_workflows()


@case(
    "host-with-an-extra-path-prefix",
    PsevenApiNotFoundError,
    "GET workflows/ answered HTTP 404",
    "Check the connection's host",
    "sign-in URL",
)
def _(env: Env) -> None:
    env.set_connection(host=env.server.url + "/sso")
    PsevenHook().client.list_workflows()


@case(
    "host-with-an-extra-path-prefix-redirecting-to-sign-in",
    PsevenHTTPError,
    "redirected to /login/",
    "a sign-in page answers there, not the REST API",
    "check the connection's host",
    "api_path",
    variants="guide,unknown_base_path=redirect",
)
def _(env: Env) -> None:
    env.set_connection(host=env.server.url + "/sso")
    PsevenHook().client.list_workflows()


@case(
    "auto-detection-finds-no-api",
    PsevenApiNotFoundError,
    "No pSeven REST API found at {url}/sso",
    "/pseven/@rest/v2/workflows/ answered HTTP 404 (application/json",
    "/pseven/.rest/v2/workflows/ answered HTTP 404 (application/json",
    "it must be the pSeven Enterprise sign-in URL",
)
def _(env: Env) -> None:
    env.set_connection(host=env.server.url + "/sso", extra={"api_path": "auto"})
    PsevenHook().client.list_workflows()


@case(
    "auto-detection-finds-a-sign-in-page",
    PsevenApiNotFoundError,
    "No pSeven REST API found at {url}/sso",
    "/pseven/@rest/v2/workflows/ answered HTTP 200 (text/html",
    "/pseven/.rest/v2/workflows/ answered HTTP 200 (text/html",
    "it must be the pSeven Enterprise sign-in URL",
    variants="guide,unknown_base_path=html",
)
def _(env: Env) -> None:
    env.set_connection(host=env.server.url + "/sso", extra={"api_path": "auto"})
    PsevenHook().client.list_workflows()


@case(
    "connection-timeout-not-a-number",
    PsevenConfigError,
    "'timeout'",
    "'soon'",
    "number of seconds",
)
def _(env: Env) -> None:
    env.set_connection(extra={"timeout": "soon"})
    _ = PsevenHook().client


@case("connection-timeout-negative", PsevenConfigError, "timeout must be a positive number", "-5")
def _(env: Env) -> None:
    env.set_connection(extra={"timeout": "-5"})
    _ = PsevenHook().client


@case("client-timeout-zero", PsevenConfigError, "timeout must be a positive number of seconds, not 0")
def _(env: Env) -> None:
    ClientConfig(host="https://app.pseven.io", token="t", timeout=0)


def _mock_client() -> PsevenClient:
    return PsevenClient(ClientConfig(MOCK_HOST, token="t", api_path=".rest"))


@case(
    "invalid-json-from-the-server",
    PsevenNotJsonError,
    f"GET {MOCK_API}workflows/",
    "not pSeven REST API JSON",
    '\'[{"id": "1", \'',
)
def _(env: Env) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{MOCK_API}workflows/",
            text='[{"id": "1", ',
            headers={"Content-Type": "application/json"},
        )
        _mock_client().list_workflows()


@case(
    "json-of-the-wrong-shape",
    PsevenNotJsonError,
    f"GET {MOCK_API}workflows/",
    "not pSeven REST API JSON",
    "results",
)
def _(env: Env) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(f"{MOCK_API}workflows/", json={"results": []})
        _mock_client().list_workflows()


def _call_on(url: str) -> Op[Any]:
    reply = yield Call("GET", url, base=Base.ABSOLUTE)
    return reply


def _nothing_reached_the_other_host(env: Env) -> None:
    assert env.vars["evil_calls"] == "0"


@case(
    "run-url-on-another-host",
    PsevenUnsafeURLError,
    "http://evil.example:8080",
    "not on the configured {url}",
    "was not sent",
    "token never leaves",
    never_says=("7a592349",),
    then=_nothing_reached_the_other_host,
)
def _(env: Env) -> None:
    client = env.client()
    with requests_mock.Mocker() as mock:
        anywhere = mock.register_uri(requests_mock.ANY, requests_mock.ANY, json={})
        try:
            client.run(_call_on("http://evil.example:8080/pseven/runs/1"))
        finally:
            env.vars["evil_calls"] = str(anywhere.call_count)


# =====================================================================================================
# What to run: workflows, apps, runs, parameters
# =====================================================================================================


def _nothing_deployed(env: Env) -> None:
    assert env.requests("POST", "/runs/") == 0


def _deploy(env: Env, **kwargs: Any) -> Any:
    _ = env.server
    return DeployRunOperator(task_id="deploy", deferrable=False, poll_interval=0.01, **kwargs).execute(
        context()
    )


@case(
    "unknown-workflow-name",
    PsevenLookupError,
    "Unknown workflow 'ToyWorkflw'",
    "'ToyWorkflow (/Users/1/ToyWorkflow.p7wf)'",
    then=_nothing_deployed,
)
def _(env: Env) -> None:
    _deploy(env, workflow="ToyWorkflw")


@case(
    "unknown-workflow-path",
    PsevenLookupError,
    "Unknown workflow '/Users/1/Toy.p7wf'",
    "'ToyWorkflow (/Users/1/ToyWorkflow.p7wf)'",
    then=_nothing_deployed,
)
def _(env: Env) -> None:
    _deploy(env, workflow="/Users/1/Toy.p7wf")


@case(
    "unknown-workflow-id",
    PsevenLookupError,
    f"Unknown workflow '{UNKNOWN_ID}'",
    "'ToyWorkflow (/Users/1/ToyWorkflow.p7wf)'",
    then=_nothing_deployed,
)
def _(env: Env) -> None:
    _deploy(env, workflow=UNKNOWN_ID)


@case(
    "ambiguous-workflow-name",
    PsevenLookupError,
    "workflow 'Twin' is ambiguous",
    "/Users/1/A/Twin.p7wf",
    "/Users/1/B/Twin.p7wf",
    "Use an id or a full path instead",
    then=_nothing_deployed,
)
def _(env: Env) -> None:
    for folder in ("A", "B"):
        env.server.add_workflow(
            Workflow(path=f"/Users/1/{folder}/Twin.p7wf", function=lambda p, c: {}, parameters=[Param("x")])
        )
    _deploy(env, workflow="Twin")


@case("empty-workflow", PsevenConfigError, "workflow is empty", "an id, a storage path or a unique name")
def _(env: Env) -> None:
    _deploy(env, workflow=" ")


@case(
    "unknown-app",
    PsevenLookupError,
    "Unknown app 'ToyAp'",
    "'ToyApp (/Apps/ToyApp.p7wf)'",
    then=_nothing_deployed,
)
def _(env: Env) -> None:
    _deploy(env, app="ToyAp")


@case(
    "pinned-app-version-not-the-current-one",
    PsevenAppVersionError,
    f"App ToyApp is pinned as {TOY_APP_ID}@2",
    f"its runs deploy under apps/{TOY_APP_ID}/runs/",
    "current (default) version: version 1 (READY)",
    f"Pin {TOY_APP_ID}@1",
    then=_nothing_deployed,
)
def _(env: Env) -> None:
    _deploy(env, app=f"{TOY_APP_ID}@2")


@case(
    "run-name-taken-on-a-server-refusing-duplicate-names",
    PsevenConfigError,
    "A run named 'nightly' already exists and the server refuses a second one",
    "give a run_name that is not in use, or delete that run",
    variants="guide,duplicate_run_names=refused",
)
def _(env: Env) -> None:
    env.run_in(RunState.FINISHED, name="nightly")
    _deploy(env, workflow="ToyWorkflow", run_name="nightly")


@case(
    "unknown-run-id",
    PsevenNotFoundError,
    UNKNOWN_ID,
    "HTTP 404",
    "run_id",
    "deleted",
)
def _(env: Env) -> None:
    _ = env.server
    GetRunResultsOperator(task_id="results", workflow_id=TOY, run_id=UNKNOWN_ID).execute(context())


def _nothing_sent(env: Env) -> None:
    assert len(env.server.requests) == 0


def _nothing_escaped(env: Env) -> None:
    assert not list(env.server.data_dir.rglob("escape")), "the emulator wrote outside the run"


def _no_patch_sent(env: Env) -> None:
    assert env.requests("PATCH", "/") == 0


@case(
    "unknown-parameter-name",
    PsevenLookupError,
    "Unknown parameter 'MyFirstParam'",
    "'MyFirstParameter'",
    "'MySecondParameter'",
    "'MySecret'",
    then=_no_patch_sent,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION)
    PatchParametersOperator(task_id="patch", parameters={"MyFirstParam": "x"}, **env.ids(ref)).execute(
        context()
    )


@case(
    "parameter-value-of-the-wrong-type",
    PsevenBadRequestError,
    "HTTP 400",
    "Parameter 'MySecondParameter' expects Real",
    "got string",
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION)
    PatchParametersOperator(
        task_id="patch", parameters={"MySecondParameter": "forty-two"}, **env.ids(ref)
    ).execute(context())


@case(
    "patch-on-a-server-that-resets-what-the-body-leaves-out",
    PsevenParametersNotKeptError,
    "Run {run_id}: the PATCH changed parameters it did not set: MySecret",
    "its value is lost",
    "The run was not started",
    "Give MySecret in parameters too (a Secret with its real value)",
    never_says=("s3cr3t-value",),
    variants="guide,patch_omitted=reset",
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION, MySecret="s3cr3t-value")
    PatchParametersOperator(task_id="patch", parameters={"MySecondParameter": 7}, **env.ids(ref)).execute(
        context()
    )


@case(
    "templated-run-id-rendered-empty",
    PsevenConfigError,
    "run_id is empty (got '')",
    "a templated id probably rendered to nothing",
    "check the upstream task's XCom",
    then=_nothing_sent,
)
def _(env: Env) -> None:
    _ = env.server
    StartRunOperator(task_id="start", workflow_id=TOY, run_id="", deferrable=False).execute(context())


@case(
    "templated-workflow-id-rendered-blank",
    PsevenConfigError,
    "workflow_id is empty",
    "check the upstream task's XCom",
)
def _(env: Env) -> None:
    _ = env.server
    PatchParametersOperator(task_id="patch", workflow_id="  ", run_id="r1", parameters={"x": 1}).execute(
        context()
    )


# =====================================================================================================
# Wrong state
# =====================================================================================================


@case(
    "patch-a-finished-run",
    PsevenStateError,
    "HTTP 400",
    "Run state is FINISHED",
    "requires CONFIGURATION",
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.FINISHED)
    PatchParametersOperator(task_id="patch", parameters={"MyFirstParameter": "late"}, **env.ids(ref)).execute(
        context()
    )


def _no_upload_sent(env: Env) -> None:
    assert env.requests("POST", "/upload/") == 0


@case(
    "upload-to-a-finished-run",
    AirflowFailException,
    "Run {run_id} is FINISHED",
    "files can be uploaded only in CONFIGURATION",
    then=_no_upload_sent,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.FINISHED)
    local = env.tmp / "in.txt"
    local.write_text("1\n")
    UploadFilesOperator(task_id="upload", files=[str(local)], **env.ids(ref)).execute(context())


@case("start-a-finished-run", PsevenStateError, "HTTP 400", "Run state is FINISHED", "requires CONFIGURATION")
def _(env: Env) -> None:
    # StartRunOperator treats a started run as its own earlier try (it only waits, by design: see
    # test_a_started_run_is_not_started_again), so the server's answer is checked through the client.
    ref = env.run_in(RunState.FINISHED)
    env.client().start_run(ref)


def _not_started(env: Env) -> None:
    assert env.requests("POST", "/run/") == 1  # the one that made the run FAILED, none since


@case("start-a-failed-run", AirflowFailException, "run {run_id} ended FAILED", then=_not_started)
def _(env: Env) -> None:
    ref = env.run_in(RunState.FAILED, workflow=FAILING)
    StartRunOperator(task_id="start", deferrable=False, poll_interval=0.01, **env.ids(ref)).execute(context())


@case(
    "interrupt-a-configuration-run",
    PsevenStateError,
    "HTTP 400",
    "Run state is CONFIGURATION",
    "requires RUNNING",
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION)
    env.client().interrupt_run(ref)


def _no_delete_sent(env: Env) -> None:
    assert env.requests("DELETE", "/") == 0


@case(
    "delete-a-running-run-without-interrupt",
    AirflowFailException,
    "Run {run_id} is RUNNING and cannot be deleted",
    "interrupt it first",
    then=_no_delete_sent,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.RUNNING, workflow=SLOW, duration=600.0)
    DeleteRunOperator(task_id="delete", interrupt=False, **env.ids(ref)).execute(context())


@case("delete-a-running-run-via-the-client", PsevenStateError, "HTTP 400", "Run state is RUNNING")
@case(
    "delete-a-running-run-on-a-server-answering-409",
    PsevenStateError,
    "HTTP 409",
    "Run state is RUNNING",
    variants="guide,wrong_state_status=409",
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.RUNNING, workflow=SLOW, duration=600.0)
    env.client().delete_run(ref, wait=False)


@case(
    "results-of-a-configuration-run",
    AirflowFailException,
    "Run {run_id} is CONFIGURATION",
    "results are available once it is FINISHED",
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION)
    GetRunResultsOperator(task_id="results", **env.ids(ref)).execute(context())


# =====================================================================================================
# Files
# =====================================================================================================


@case(
    "upload-a-missing-local-file",
    PsevenConfigError,
    "Cannot upload",
    "inputs.csv",
    "the local file is missing",
    then=_no_upload_sent,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION)
    missing = env.tmp / "inputs.csv"
    UploadFilesOperator(task_id="upload", files=[str(missing)], **env.ids(ref)).execute(context())


@case(
    "upload-files-given-as-one-string",
    AirflowFailException,
    "files must be a list",
    "not the string",
    "in.txt",
    then=_no_upload_sent,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION)
    local = env.tmp / "in.txt"
    local.write_text("1\n")
    UploadFilesOperator(task_id="upload", files=str(local), **env.ids(ref)).execute(context())  # type: ignore[arg-type]


@case(
    "upload-destination-outside-the-run",
    PsevenBadRequestError,
    "HTTP 400",
    "destination '../../escape' is outside the run directory",
    then=_nothing_escaped,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.CONFIGURATION)
    local = env.tmp / "in.txt"
    local.write_text("1\n")
    UploadFilesOperator(
        task_id="upload", files=[str(local)], destination="../../escape", **env.ids(ref)
    ).execute(context())


def _existing_file_kept(env: Env) -> None:
    assert (env.tmp / "results.json").read_text() == "mine"
    assert [p.name for p in env.tmp.iterdir()] == ["results.json"]  # no temporary file left


@case(
    "download-over-an-existing-file",
    PsevenConfigError,
    "results.json' already exists",
    "pass overwrite=True to replace it, or choose another path",
    then=_existing_file_kept,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.FINISHED)
    (env.tmp / "results.json").write_text("mine")
    DownloadFileOperator(
        task_id="download", file="results.json", destination=str(env.tmp), **env.ids(ref)
    ).execute(context())


@case("download-a-missing-remote-file", PsevenNotFoundError, "HTTP 404", "File not found: result.json")
def _(env: Env) -> None:
    ref = env.run_in(RunState.FINISHED)
    DownloadFileOperator(
        task_id="download", file="result.json", destination=str(env.tmp), **env.ids(ref)
    ).execute(context())


@case(
    "download-a-path-outside-the-run",
    AirflowFailException,
    "file must be a path inside the run directory, not '../secrets.txt'",
)
def _(env: Env) -> None:
    _ = env.server
    DownloadFileOperator(
        task_id="download", workflow_id=TOY, run_id="r1", file="../secrets.txt", destination=str(env.tmp)
    ).execute(context())


def _nothing_written_outside(env: Env) -> None:
    assert not (env.tmp / "evil.txt").exists()
    assert not list(env.tmp.rglob("evil.txt"))
    assert env.vars["downloads"] == "0"


@case(
    "server-file-name-with-dot-dot",
    AirflowFailException,
    "unsafe file name '../evil.txt'",
    "refusing to write it",
    then=_nothing_written_outside,
)
def _(env: Env) -> None:
    ref = env.run_in(RunState.FINISHED)
    ls_url = f"{env.server.api_url}workflows/{ref.parent_id}/runs/{ref.run_id}/ls/"

    def listing(request: Any, context: Any) -> dict[str, Any]:
        if request.qs.get("directory") == ["out"]:
            return {"entries": [{"name": "../evil.txt", "size": 4, "is_dir": False}]}
        return {"entries": [{"name": "out", "size": 1, "is_dir": True}]}

    (env.tmp / "dest").mkdir()
    with requests_mock.Mocker(real_http=True) as mock:
        mock.get(ls_url, json=listing)  # every other request goes to the emulator
        try:
            DownloadFileOperator(
                task_id="download", file="out", destination=str(env.tmp / "dest"), **env.ids(ref)
            ).execute(context())
        finally:
            env.vars["downloads"] = str(sum(1 for r in mock.request_history if "/download/" in r.path))


# =====================================================================================================
# Timeouts and intervals (checked when the DAG is parsed)
# =====================================================================================================


@case("start-timeout-zero", ValueError, "timeout must be a positive number of seconds, not 0")
def _(env: Env) -> None:
    StartRunOperator(task_id="start", workflow_id=TOY, run_id="r1", timeout=0)


@case(
    "start-poll-interval-negative", ValueError, "poll_interval must be a positive number of seconds, not -1"
)
def _(env: Env) -> None:
    StartRunOperator(task_id="start", workflow_id=TOY, run_id="r1", poll_interval=-1)


@case("deploy-timeout-negative", ValueError, "timeout must be a positive number of seconds, not -60")
def _(env: Env) -> None:
    DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", timeout=-60)


@case("interrupt-poll-interval-zero", ValueError, "poll_interval must be a positive number of seconds, not 0")
def _(env: Env) -> None:
    InterruptRunOperator(task_id="interrupt", workflow_id=TOY, run_id="r1", poll_interval=0)


@case("sensor-poll-interval-zero", ValueError, "poll_interval must be a positive number of seconds, not 0")
def _(env: Env) -> None:
    RunStateSensor(task_id="sensor", workflow_id=TOY, run_id="r1", poll_interval=0)


@case("sensor-timeout-negative", ValueError, "timeout must be a positive number of seconds, not -1")
def _(env: Env) -> None:
    RunStateSensor(task_id="sensor", workflow_id=TOY, run_id="r1", timeout=-1)


@case(
    "delete-timeout-zero",
    ValueError,
    "timeout must be a positive number of seconds, not 0",
)
def _(env: Env) -> None:
    DeleteRunOperator(task_id="delete", workflow_id=TOY, run_id="r1", timeout=0)


# =====================================================================================================
# Arguments that do not go together
# =====================================================================================================


@case("workflow-id-and-app-id", ValueError, "Give workflow_id or app_id, not both")
def _(env: Env) -> None:
    StartRunOperator(task_id="start", workflow_id=TOY, app_id=TOY_APP_ID, run_id="r1")


@case("neither-workflow-id-nor-app-id", ValueError, "Give workflow_id", "or app_id")
def _(env: Env) -> None:
    StartRunOperator(task_id="start", run_id="r1")


@case("sensor-workflow-id-and-app-id", ValueError, "Give workflow_id or app_id", "not both")
def _(env: Env) -> None:
    RunStateSensor(task_id="sensor", workflow_id=TOY, app_id=TOY_APP_ID, run_id="r1")


@case("deploy-workflow-and-app", ValueError, "Give exactly one of workflow", "or app")
def _(env: Env) -> None:
    DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", app="ToyApp")


@case("deploy-neither-workflow-nor-app", ValueError, "Give exactly one of workflow", "or app")
def _(env: Env) -> None:
    DeployRunOperator(task_id="deploy")


@case("run-path-with-an-app", ValueError, "run_path applies to workflow runs only")
def _(env: Env) -> None:
    DeployRunOperator(task_id="deploy", app="ToyApp", run_path="/Users/1/Runs")


@case("personal-with-a-workflow", ValueError, "personal applies to AppsHub app runs only")
def _(env: Env) -> None:
    DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", personal=True)


@case("sensor-unknown-target-state", ValueError, "target_states has unknown states ['DONE']", "'FINISHED'")
def _(env: Env) -> None:
    RunStateSensor(task_id="sensor", workflow_id=TOY, run_id="r1", target_states=["DONE"])


@case(
    "sensor-target-states-given-as-one-string",
    ValueError,
    "target_states must be a list of states",
    "not the string 'FINISHED'",
)
def _(env: Env) -> None:
    RunStateSensor(task_id="sensor", workflow_id=TOY, run_id="r1", target_states="FINISHED")


# =====================================================================================================


def _param(c: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {c.bug}")] if c.bug else []
    return pytest.param(c, id=c.id, marks=marks)


def test_at_least_25_cases() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", [_param(c) for c in CASES])
def test_bad_input_says_what_to_fix(bad: Case, env: Env) -> None:
    env.variants = bad.variants
    with pytest.raises(Exception) as caught:  # the exact type is asserted below
        bad.act(env)
    error = caught.value
    message = str(error)
    assert type(error) is bad.raises, f"{type(error).__name__}: {message}"
    for template in bad.says:
        phrase = template
        for name, value in env.vars.items():
            phrase = phrase.replace("{" + name + "}", value)
        assert phrase in message
    for phrase in bad.never_says:
        assert phrase not in message
    if bad.then is not None:
        bad.then(env)
