"""Every client method, against the sync client (requests-mock) and the async client (respx)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pseven_client_harness import (
    APP_ID,
    APP_RUN_URL,
    APPSHUB,
    P1_ID,
    P2_ID,
    PSEVEN,
    RUN_ID,
    RUN_URL,
    SECRET_ID,
    TOKEN,
    WF_ID,
    Api,
    Resp,
    app_json,
    detail,
    empty,
    ok,
    param_json,
    params_json,
    run_json,
    workflow_json,
)

from airflow_provider_pseven.client import (
    AppPublication,
    AppState,
    AppVersion,
    FileSink,
    PsevenBadRequestError,
    PsevenConfigError,
    PsevenError,
    PsevenLookupError,
    PsevenTransportError,
    PsevenUnsafeURLError,
    PsevenWaitTimeout,
    RetryPolicy,
    Run,
    RunKind,
    RunRef,
    RunState,
    StreamSink,
    Workflow,
)
from airflow_provider_pseven.client.appshub import PsevenAppVersionError
from airflow_provider_pseven.client.parameters import PsevenParametersNotKeptError, PsevenPatchRefusedError
from tests.support.api_json import WF2_ID

WF_REF = RunRef.workflow(WF_ID, RUN_ID)
APP_REF = RunRef.app(APP_ID, RUN_ID)
WORKFLOWS = f"{PSEVEN}workflows/"
APPS = f"{APPSHUB}apps/"
RUNS = f"{PSEVEN}workflows/{WF_ID}/runs/"
APP_RUNS = f"{APPSHUB}apps/{APP_ID}/runs/"


def two_workflows() -> list[dict]:
    return [
        workflow_json(WF_ID, "ToyWorkflow", "/Users/1/ToyWorkflow.p7wf"),
        workflow_json(WF2_ID, "Other", "/Users/1/Sub/Other.p7wf"),
    ]


# --- workflows ------------------------------------------------------------------------------------


async def test_list_workflows(api: Api) -> None:
    api.route("GET", WORKFLOWS, ok([*two_workflows(), "not an object"]))
    workflows = await api.call("list_workflows")
    assert workflows == [
        Workflow(WF_ID, "ToyWorkflow", "/Users/1/ToyWorkflow.p7wf", f"{PSEVEN}workflows/{WF_ID}/"),
        Workflow(WF2_ID, "Other", "/Users/1/Sub/Other.p7wf", f"{PSEVEN}workflows/{WF2_ID}/"),
    ]
    assert workflows[0].raw["id"] == WF_ID
    (sent,) = api.sent
    assert sent.url == WORKFLOWS
    assert sent.headers["authorization"] == f"Token {TOKEN}"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"] == "airflow-provider-pseven"


async def test_get_workflow(api: Api) -> None:
    api.route("GET", f"{WORKFLOWS}{WF_ID}/", ok(workflow_json()))
    workflow = await api.call("get_workflow", WF_ID)
    assert (workflow.id, workflow.name, workflow.path) == (WF_ID, "ToyWorkflow", "/Users/1/ToyWorkflow.p7wf")
    assert [s.url for s in api.sent] == [f"{WORKFLOWS}{WF_ID}/"]


async def test_resolve_workflow_by_id_reads_it_directly(api: Api) -> None:
    api.route("GET", f"{WORKFLOWS}{WF_ID}/", ok(workflow_json()))
    workflow = await api.call("resolve_workflow", f"  {WF_ID} ")
    assert workflow.id == WF_ID
    assert [s.url for s in api.sent] == [f"{WORKFLOWS}{WF_ID}/"]


async def test_resolve_workflow_by_path(api: Api) -> None:
    api.route("GET", WORKFLOWS, ok(two_workflows()))
    workflow = await api.call("resolve_workflow", "/Users/1/Sub/Other.p7wf")
    assert workflow.id == WF2_ID
    assert [s.url for s in api.sent] == [WORKFLOWS]


async def test_resolve_workflow_by_unique_name(api: Api) -> None:
    api.route("GET", WORKFLOWS, ok(two_workflows()))
    workflow = await api.call("resolve_workflow", "ToyWorkflow")
    assert workflow.id == WF_ID


async def test_resolve_workflow_unknown_id_falls_back_to_the_list(api: Api) -> None:
    unknown = "0" * 32
    api.route("GET", f"{WORKFLOWS}{unknown}/", detail(404, "Not found."))
    api.route("GET", WORKFLOWS, ok(two_workflows()))
    with pytest.raises(PsevenLookupError) as info:
        await api.call("resolve_workflow", unknown)
    assert [s.url for s in api.sent] == [f"{WORKFLOWS}{unknown}/", WORKFLOWS]
    assert info.value.ambiguous is False


async def test_resolve_workflow_unknown_name_lists_candidates(api: Api) -> None:
    api.route("GET", WORKFLOWS, ok(two_workflows()))
    with pytest.raises(PsevenLookupError) as info:
        await api.call("resolve_workflow", "Nope")
    assert info.value.candidates == [
        "Other (/Users/1/Sub/Other.p7wf)",
        "ToyWorkflow (/Users/1/ToyWorkflow.p7wf)",
    ]
    assert str(info.value) == (
        "Unknown workflow 'Nope'. Valid values: "
        "'Other (/Users/1/Sub/Other.p7wf)', 'ToyWorkflow (/Users/1/ToyWorkflow.p7wf)'"
    )


async def test_resolve_workflow_ambiguous_name_lists_both(api: Api) -> None:
    api.route(
        "GET",
        WORKFLOWS,
        ok(
            [
                workflow_json(WF_ID, "Twin", "/Users/1/A/Twin.p7wf"),
                workflow_json(WF2_ID, "Twin", "/Users/1/B/Twin.p7wf"),
            ]
        ),
    )
    with pytest.raises(PsevenLookupError) as info:
        await api.call("resolve_workflow", "Twin")
    message = str(info.value)
    assert info.value.ambiguous is True
    assert "ambiguous" in message
    assert f"/Users/1/A/Twin.p7wf (id {WF_ID})" in message
    assert f"/Users/1/B/Twin.p7wf (id {WF2_ID})" in message


async def test_resolve_workflow_empty_is_a_config_error(api: Api) -> None:
    with pytest.raises(PsevenConfigError, match="workflow is empty"):
        await api.call("resolve_workflow", "   ")
    assert api.sent == []


# --- apps -----------------------------------------------------------------------------------------


async def test_list_apps(api: Api) -> None:
    api.route("GET", APPS, ok([app_json(), app_json("d" * 32, "Other", 3, "QUEUED_TO_INITIALIZE")]))
    apps = await api.call("list_apps")
    assert [(a.id, a.name, a.version, a.state) for a in apps] == [
        (APP_ID, "Toy app", 1, AppState.READY),
        ("d" * 32, "Other", 3, AppState.QUEUED_TO_INITIALIZE),
    ]
    assert apps[0].workspace_id == "7"
    assert apps[0].workspace_name == "Toy apps"
    assert [s.url for s in api.sent] == [APPS]


async def test_get_app_default_version(api: Api) -> None:
    api.route("GET", f"{APPS}{APP_ID}/", ok(app_json(version=2)))
    app = await api.call("get_app", APP_ID)
    assert app.versioned_id == f"{APP_ID}@2"
    assert [s.url for s in api.sent] == [f"{APPS}{APP_ID}/"]


async def test_get_app_given_version(api: Api) -> None:
    api.route("GET", f"{APPS}{APP_ID}@3/", ok(app_json(version=3)))
    app = await api.call("get_app", f"{APP_ID}@1", version=3)
    assert app.version == 3
    assert [s.url for s in api.sent] == [f"{APPS}{APP_ID}@3/"]


async def test_resolve_app_by_versioned_id(api: Api) -> None:
    api.route("GET", f"{APPS}{APP_ID}@2/", ok(app_json(version=2)))
    app = await api.call("resolve_app", f"{APP_ID}@2")
    assert app.version == 2
    assert [s.url for s in api.sent] == [f"{APPS}{APP_ID}@2/"]


async def test_app_to_deploy_takes_a_pin_of_the_current_ready_version(api: Api) -> None:
    api.route("GET", f"{APPS}{APP_ID}/", ok(app_json(version=2)))
    app = await api.call("app_to_deploy", f"{APP_ID}@2")
    assert (app.id, app.version) == (APP_ID, 2)
    assert [s.url for s in api.sent] == [f"{APPS}{APP_ID}/"]  # the plain id's details only


async def test_app_to_deploy_refuses_a_pin_of_another_version_naming_the_current_one(api: Api) -> None:
    api.route("GET", f"{APPS}{APP_ID}/", ok(app_json(version=2)))
    with pytest.raises(PsevenAppVersionError) as info:
        await api.call("app_to_deploy", f"{APP_ID}@1")
    assert str(info.value) == (
        f"App Toy app is pinned as {APP_ID}@1, but its runs deploy under apps/{APP_ID}/runs/, which "
        f"runs the app's current (default) version: version 2 (READY). Pin {APP_ID}@2 (or give the "
        "plain id), or make version 1 the default (publish it with set_version_as_default=True)"
    )
    assert isinstance(info.value, PsevenConfigError)  # a retry cannot fix it


async def test_app_to_deploy_refuses_a_pinned_version_that_is_not_ready(api: Api) -> None:
    api.route("GET", f"{APPS}{APP_ID}/", ok(app_json(version=2, state="INITIALIZING")))
    with pytest.raises(PsevenError, match=r"version 2 is INITIALIZING, not READY") as info:
        await api.call("app_to_deploy", f"{APP_ID}@2")
    assert not isinstance(info.value, PsevenConfigError)  # publishing may finish before a retry


async def test_app_to_deploy_without_a_pin_is_the_plain_app(api: Api) -> None:
    api.route("GET", APPS, ok([app_json(version=4, state="INITIALIZING")]))
    app = await api.call("app_to_deploy", "Toy app")
    assert (app.id, app.version) == (APP_ID, 4)  # not checked: the server answers a deploy


async def test_app_runs_are_addressed_by_the_plain_id(api: Api) -> None:
    api.route("POST", APP_RUNS, ok(run_json("QUEUED_TO_INITIALIZE"), status=201))
    api.route("GET", APP_RUNS, ok([]))
    await api.call("deploy_run", RunKind.APP, f"{APP_ID}@3", name="x")
    await api.call("list_runs", RunKind.APP, f"{APP_ID}@3")
    assert [s.url for s in api.sent] == [APP_RUNS, APP_RUNS]


async def test_resolve_app_by_name_and_unknown_name(api: Api) -> None:
    api.route("GET", APPS, ok([app_json(), app_json("d" * 32, "Other")]))
    assert (await api.call("resolve_app", "Other")).id == "d" * 32
    with pytest.raises(
        PsevenLookupError, match=r"Unknown app 'Nope'\. Valid values: 'Other \(/Apps/Other\.p7wf\)'"
    ):
        await api.call("resolve_app", "Nope")


async def test_publish_app_without_thumbnail_is_form_data(api: Api) -> None:
    # The guide's examples publish with form fields, the one content type it allows with or
    # without a thumbnail; a server that takes JSON takes this too.
    api.route("POST", APPS, ok(app_json(state="QUEUED_TO_INITIALIZE"), status=201))
    app = await api.call(
        "publish_app",
        AppPublication(
            "/Users/1/ToyWorkflow.p7wf",
            "Toy app",
            workspace_name="Toy apps",
            description="A toy app",
            set_version_as_default=False,
        ),
    )
    assert isinstance(app, AppVersion)
    assert app.state is AppState.QUEUED_TO_INITIALIZE
    (sent,) = api.sent
    assert sent.url == APPS
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert sent.form() == [
        ("name", None, b"Toy app"),
        ("workflow_path", None, b"/Users/1/ToyWorkflow.p7wf"),
        ("workspace.name", None, b"Toy apps"),
        ("description", None, b"A toy app"),
        ("set_version_as_default", None, b"False"),
    ]


async def test_publish_app_with_workspace_id_and_version(api: Api) -> None:
    api.route("POST", APPS, ok(app_json(version=4), status=201))
    await api.call(
        "publish_app",
        AppPublication("/W.p7wf", "Toy app", workspace_id="7", version=4, allow_get_as_workflow=True),
    )
    assert api.sent[0].form() == [
        ("name", None, b"Toy app"),
        ("workflow_path", None, b"/W.p7wf"),
        ("workspace.id", None, b"7"),
        ("version", None, b"4"),
        ("allow_get_as_workflow", None, b"True"),
    ]


async def test_publish_app_with_thumbnail_is_multipart(api: Api, tmp_path: Path) -> None:
    thumbnail = tmp_path / "thumbnail.png"
    thumbnail.write_bytes(b"\x89PNG\r\n\x1a\nfake-image-bytes")
    api.route("POST", APPS, ok(app_json(), status=201))
    await api.call(
        "publish_app",
        AppPublication(
            "/Users/1/ToyWorkflow.p7wf",
            "Toy app",
            workspace_name="Toy apps",
            version=2,
            set_version_as_default=True,
            allow_get_as_workflow=False,
            thumbnail=thumbnail,
        ),
    )
    (sent,) = api.sent
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(sent.headers["content-length"]) == len(sent.body)
    assert sent.form() == [
        ("name", None, b"Toy app"),
        ("workflow_path", None, b"/Users/1/ToyWorkflow.p7wf"),
        ("workspace.name", None, b"Toy apps"),
        ("version", None, b"2"),
        ("set_version_as_default", None, b"True"),
        ("allow_get_as_workflow", None, b"False"),
        ("thumbnail", "thumbnail.png", b"\x89PNG\r\n\x1a\nfake-image-bytes"),
    ]


async def test_publish_app_without_workspace_fails_before_any_request(api: Api) -> None:
    with pytest.raises(PsevenConfigError, match="workspace_name or workspace_id"):
        await api.call("publish_app", AppPublication("/W.p7wf", "Toy app"))
    with pytest.raises(PsevenConfigError, match="app name"):
        await api.call("publish_app", AppPublication("/W.p7wf", "", workspace_name="Toy apps"))
    assert api.sent == []


# --- runs -----------------------------------------------------------------------------------------


async def test_list_runs_of_a_workflow_and_of_an_app(api: Api) -> None:
    api.route("GET", RUNS, ok([run_json("FINISHED", name="a"), run_json("CONFIGURATION", name="b")]))
    api.route("GET", APP_RUNS, ok([run_json("RUNNING", name="c")]))
    runs = await api.call("list_runs", RunKind.WORKFLOW, WF_ID)
    assert [(r.name, r.state) for r in runs] == [("a", RunState.FINISHED), ("b", RunState.CONFIGURATION)]
    app_runs = await api.call("list_runs", RunKind.APP, APP_ID)
    assert [(r.name, r.state) for r in app_runs] == [("c", RunState.RUNNING)]
    assert [s.url for s in api.sent] == [RUNS, APP_RUNS]


async def test_find_run(api: Api) -> None:
    api.route("GET", RUNS, ok([run_json(name="a", run_id="1" * 32), run_json(name="b", run_id="2" * 32)]))
    found = await api.call("find_run", RunKind.WORKFLOW, WF_ID, "b")
    assert found is not None
    assert found.id == "2" * 32
    assert await api.call("find_run", RunKind.WORKFLOW, WF_ID, "zzz") is None


async def test_deploy_run_default_body_is_empty_object(api: Api) -> None:
    api.route("POST", RUNS, ok(run_json("QUEUED_TO_INITIALIZE"), status=201))
    run = await api.call("deploy_run", RunKind.WORKFLOW, WF_ID)
    assert run.state is RunState.QUEUED_TO_INITIALIZE
    (sent,) = api.sent
    assert sent.url == RUNS
    assert sent.body == b"{}"
    assert sent.headers["content-type"] == "application/json"


async def test_deploy_run_with_name_and_path(api: Api) -> None:
    api.route("POST", RUNS, ok(run_json("QUEUED_TO_INITIALIZE"), status=201))
    await api.call("deploy_run", RunKind.WORKFLOW, WF_ID, name="nightly")
    await api.call("deploy_run", RunKind.WORKFLOW, WF_ID, name="nightly", path="/Users/1/runs")
    assert [s.json() for s in api.sent] == [{"name": "nightly"}, {"name": "nightly", "path": "/Users/1/runs"}]


async def test_deploy_run_path_without_name_fails_before_sending(api: Api) -> None:
    with pytest.raises(PsevenConfigError, match="needs a run name"):
        await api.call("deploy_run", RunKind.WORKFLOW, WF_ID, path="/Users/1/runs")
    assert api.sent == []


async def test_deploy_app_run_personal_and_path_rules(api: Api) -> None:
    api.route("POST", APP_RUNS, ok(run_json("QUEUED_TO_INITIALIZE"), status=201))
    with pytest.raises(PsevenConfigError, match="cannot be deployed to a path"):
        await api.call("deploy_run", RunKind.APP, APP_ID, name="x", path="/somewhere")
    with pytest.raises(PsevenConfigError, match="AppsHub app runs only"):
        await api.call("deploy_run", RunKind.WORKFLOW, WF_ID, personal=True)
    assert api.sent == []
    await api.call("deploy_run", RunKind.APP, APP_ID, name="mine", personal=True)
    (sent,) = api.sent
    assert sent.url == APP_RUNS
    # Form fields, as the guide deploys app runs (``data=settings``, ``curl -F``).
    assert sent.form() == [("name", None, b"mine"), ("personal", None, b"True")]


async def test_get_run_parses_state_parameters_and_results(api: Api) -> None:
    results = [{"id": "r1", "name": "f", "value": {"data": 1.5}}]
    api.route("GET", RUN_URL, ok(run_json("RUNNING", parameters=params_json(), results=results)))
    run = await api.call("get_run", WF_REF)
    assert isinstance(run, Run)
    assert run.state is RunState.RUNNING
    assert run.parent_path == "/Users/1/ToyWorkflow.p7wf"
    assert [(p.name, p.value, p.is_secret) for p in run.parameters] == [
        ("MyFirstParameter", "string_value", False),
        ("MySecondParameter", 42, False),
        ("MySecret", "", True),
    ]
    assert run.result_values() == {"f": 1.5}
    assert [s.url for s in api.sent] == [RUN_URL]


async def test_get_run_unknown_state(api: Api) -> None:
    api.route("GET", APP_RUN_URL, ok(run_json("SUSPENDED_BY_NEWER_SERVER")))
    run = await api.call("get_run", APP_REF)
    assert run.state is RunState.UNKNOWN
    assert run.state_text == "SUSPENDED_BY_NEWER_SERVER"
    assert [s.url for s in api.sent] == [APP_RUN_URL]


# --- set_parameters -------------------------------------------------------------------------------


def guide_params(secret: Any = None, second: Any = 42) -> list[dict[str, Any]]:
    """The guide's parameters exactly as it prints them: ``value`` holds ``data`` only, and nothing
    marks MySecret as a Secret (only its value: null unset, "" set)."""
    return [
        param_json(P1_ID, "MyFirstParameter", "string_value", labels={"type": "string"}),
        param_json(P2_ID, "MySecondParameter", second, labels={"type": "integer, real, string"}),
        param_json(SECRET_ID, "MySecret", secret, labels={"note": "the real value is a secret"}),
    ]


def _patched(
    parameters: list[dict], values: dict[str, object], secret_ids: tuple[str, ...] = (SECRET_ID,)
) -> dict:
    """The run details a guide-conforming server answers a PATCH with (a Secret shows as "")."""
    out = []
    for p in parameters:
        item = {**p, "value": dict(p["value"])}
        if p["id"] in values:
            item["value"]["data"] = "" if p["id"] in secret_ids else values[p["id"]]
        out.append(item)
    return run_json(parameters=out)


async def test_set_parameters_leaves_values_that_may_hide_a_secret_out(api: Api) -> None:
    details = run_json(parameters=guide_params(secret=""))
    api.route("GET", RUN_URL, ok(details))
    api.route("PATCH", RUN_URL, ok(_patched(guide_params(secret=""), {P1_ID: "new", P2_ID: 43})))
    run = await api.call("set_parameters", WF_REF, {"MyFirstParameter": "new", "MySecondParameter": 43})
    assert {p.name: p.value for p in run.parameters}["MySecondParameter"] == 43
    get, patch = api.sent
    assert (get.method, patch.method) == ("GET", "PATCH")
    # The run details go back as read, with new values; MySecret reads "" (a set Secret, as far as
    # anyone can tell) and is left out, so it keeps its hidden value.
    expected = run_json(parameters=guide_params())
    expected["parameters"] = [
        {**guide_params()[0], "value": {"data": "new"}},
        {**guide_params()[1], "value": {"data": 43}},
    ]
    assert patch.json() == expected
    assert SECRET_ID not in patch.body.decode()


async def test_set_parameters_leaves_an_unset_value_out(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=None))))
    api.route("PATCH", RUN_URL, ok(_patched(guide_params(secret=None), {P2_ID: 7})))
    await api.call("set_parameters", WF_REF, {"MySecondParameter": 7})
    assert [p["id"] for p in api.sent[1].json()["parameters"]] == [P1_ID, P2_ID]


async def test_a_secret_is_recognised_by_its_answer(api: Api) -> None:
    # No marker anywhere: the PATCH answer shows "" for the value sent, which only a Secret does.
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=None))))
    api.route("PATCH", RUN_URL, ok(_patched(guide_params(secret=None), {SECRET_ID: "s3cr3t"})))
    run = await api.call("set_parameters", WF_REF, {"MySecret": "s3cr3t"})
    secret = {p.name: p for p in run.parameters}["MySecret"]
    assert (secret.is_secret, secret.shown_value()) == (True, "")
    assert not {p.name: p for p in run.parameters}["MyFirstParameter"].is_secret
    body = api.sent[1].json()
    by_id = {p["id"]: p for p in body["parameters"]}
    assert by_id[SECRET_ID]["value"] == {"data": "s3cr3t"}
    assert by_id[P1_ID]["value"]["data"] == "string_value"
    assert by_id[P2_ID]["value"]["data"] == 42


async def test_a_type_marker_is_honoured_where_a_server_has_one(api: Api) -> None:
    marked = params_json(secret=None)  # value.type "Secret", as some servers may answer
    api.route("GET", RUN_URL, ok(run_json(parameters=marked)))
    api.route("PATCH", RUN_URL, ok(_patched(marked, {P1_ID: "x"})))
    run = await api.call("set_parameters", WF_REF, {"MyFirstParameter": "x"})
    assert {p.name: p.is_secret for p in run.parameters} == {
        "MyFirstParameter": False,
        "MySecondParameter": False,
        "MySecret": True,
    }


async def test_a_new_value_keeps_the_metainformation_read(api: Api) -> None:
    # The guide's PATCH example: each value object goes back as read, only ``data`` changed; the
    # other keys are "metainformation for the current value" that a server may need back.
    typed = params_json(secret=None)
    typed[1]["value"] = {"data": 2, "type": "Real", "unit": "mm"}
    api.route("GET", RUN_URL, ok(run_json(parameters=typed)))
    api.route("PATCH", RUN_URL, ok(_patched(typed, {P2_ID: 16.0})))
    await api.call("set_parameters", WF_REF, {"MySecondParameter": 16.0})
    patch = api.sent[1]
    by_id = {p["id"]: p for p in patch.json()["parameters"]}
    assert by_id[P2_ID] == {**typed[1], "value": {"data": 16.0, "type": "Real", "unit": "mm"}}
    assert isinstance(by_id[P2_ID]["value"]["data"], float)
    assert b'"data": 16.0' in patch.body or b'"data":16.0' in patch.body
    assert by_id[P1_ID]["value"] == {"data": "string_value", "type": "String"}  # unchanged, as read


async def test_the_patch_body_is_the_guides_own(api: Api) -> None:
    # The guide's example, literally: GET the details, change value.data, PATCH them back.
    details = run_json(parameters=guide_params(secret=None))
    details["parameters"][0]["value"]["extra"] = {"kept": True}
    api.route("GET", RUN_URL, ok(details))
    api.route("PATCH", RUN_URL, ok(_patched(details["parameters"], {P1_ID: "new", SECRET_ID: "tok"})))
    await api.call("set_parameters", WF_REF, {"MyFirstParameter": "new", "MySecret": "tok"})
    expected = run_json(parameters=guide_params(secret=None))
    expected["parameters"][0]["value"] = {"data": "new", "extra": {"kept": True}}
    expected["parameters"][2]["value"] = {"data": "tok"}
    body = api.sent[1].json()
    # MySecondParameter (42) goes back as read; MySecret is being set, so it is sent.
    assert body == expected


async def test_every_parameter_is_checked_after_the_patch(api: Api) -> None:
    # A server that replaces the whole list resets what the body left out: here the set Secret
    # (read "", so never echoed) comes back null. The task fails before the run is started,
    # naming it, and a retry cannot fix it (it would see null, like a Secret never set).
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=""))))
    api.route("PATCH", RUN_URL, ok(_patched(guide_params(secret=None), {P2_ID: 7})))
    with pytest.raises(PsevenParametersNotKeptError) as info:
        await api.call("set_parameters", WF_REF, {"MySecondParameter": 7})
    message = str(info.value)
    assert 'MySecret (read "", as a set Secret does, and now null: its value is lost)' in message
    assert "The run was not started. Give MySecret in parameters too" in message
    assert "MySecondParameter" not in message
    assert isinstance(info.value, PsevenConfigError)
    assert [s.method for s in api.sent] == ["GET", "PATCH"]


async def test_a_parameter_not_set_must_read_as_before(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=None))))
    reset = _patched(guide_params(secret=None), {P2_ID: 7})
    reset["parameters"][0]["value"]["data"] = "default"  # reset to its default
    del reset["parameters"][2]
    api.route("PATCH", RUN_URL, ok(reset))
    with pytest.raises(PsevenParametersNotKeptError) as info:
        await api.call("set_parameters", WF_REF, {"MySecondParameter": 7})
    message = str(info.value)
    assert "MyFirstParameter (now another value); MySecret (missing from the answer)" in message
    assert "default" not in message and "string_value" not in message  # no values named


async def test_a_set_secret_reading_empty_again_counts_as_kept(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=""))))
    api.route("PATCH", RUN_URL, ok(_patched(guide_params(secret=""), {P2_ID: 7})))
    run = await api.call("set_parameters", WF_REF, {"MySecondParameter": 7})
    assert {p.name: p.value for p in run.parameters}["MySecret"] == ""


async def test_a_server_refusing_partial_patches_gets_unset_values_as_null(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=None))))
    api.route(
        "PATCH",
        RUN_URL,
        detail(400, "Every parameter of the run is required; missing: MySecret."),
        ok(_patched(guide_params(secret=None), {P2_ID: 7})),
    )
    await api.call("set_parameters", WF_REF, {"MySecondParameter": 7})
    first, second = (s.json() for s in api.sent if s.method == "PATCH")
    assert [p["id"] for p in first["parameters"]] == [P1_ID, P2_ID]
    # null means unset: sending it back unset changes nothing.
    assert {p["id"]: p["value"]["data"] for p in second["parameters"]} == {
        P1_ID: "string_value",
        P2_ID: 7,
        SECRET_ID: None,
    }


async def test_a_server_refusing_partial_patches_never_gets_a_masked_secret_back(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=""))))
    api.route("PATCH", RUN_URL, detail(400, "Every parameter of the run is required; missing: MySecret."))
    with pytest.raises(PsevenPatchRefusedError) as info:
        await api.call("set_parameters", WF_REF, {"MySecondParameter": 7})
    message = str(info.value)
    assert "missing: MySecret" in message  # the server's reason
    assert "give MySecret in parameters too" in message  # what to do
    assert isinstance(info.value, PsevenConfigError)  # a retry cannot fix it
    # the run's state read after the refusal; nothing that could reset the Secret
    assert [s.method for s in api.sent] == ["GET", "PATCH", "GET"]


async def test_set_parameters_by_id_on_an_app_run(api: Api) -> None:
    api.route("GET", APP_RUN_URL, ok(run_json(parameters=params_json())))
    api.route("PATCH", APP_RUN_URL, ok(_patched(params_json(), {P2_ID: 7})))
    await api.call("set_parameters", APP_REF, {P2_ID: 7})
    assert [(s.method, s.url) for s in api.sent] == [("GET", APP_RUN_URL), ("PATCH", APP_RUN_URL)]
    assert {p["id"]: p["value"]["data"] for p in api.sent[1].json()["parameters"]} == {
        P1_ID: "string_value",
        P2_ID: 7,
    }


async def test_set_parameters_unknown_name_sends_no_patch(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=params_json())))
    with pytest.raises(PsevenLookupError) as info:
        await api.call("set_parameters", WF_REF, {"Typo": 1})
    assert str(info.value) == (
        "Unknown parameter 'Typo'. Valid values: 'MyFirstParameter', 'MySecondParameter', 'MySecret'"
    )
    assert [s.method for s in api.sent] == ["GET"]


async def test_set_parameters_verifies_the_answer(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=params_json())))
    api.route("PATCH", RUN_URL, ok(_patched(params_json(), {P2_ID: 42})))  # ignored our value
    with pytest.raises(PsevenError, match=r"did not apply the values of MySecondParameter"):
        await api.call("set_parameters", WF_REF, {"MySecondParameter": 43})


async def test_set_parameters_verifies_a_secret_reads_back_set(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json(parameters=guide_params(secret=None))))
    api.route("PATCH", RUN_URL, ok(run_json(parameters=guide_params(secret=None))))  # still unset
    with pytest.raises(PsevenError, match=r"did not apply the values of MySecret"):
        await api.call("set_parameters", WF_REF, {"MySecret": "x"})


# --- commands -------------------------------------------------------------------------------------


async def test_start_and_interrupt(api: Api) -> None:
    api.route("POST", f"{RUN_URL}run/", ok({"status": 200}))
    api.route("POST", f"{APP_RUN_URL}interrupt/", ok({"status": 200}))
    assert await api.call("start_run", WF_REF) is None
    assert await api.call("interrupt_run", APP_REF) is None
    assert [(s.method, s.url, s.body) for s in api.sent] == [
        ("POST", f"{RUN_URL}run/", b""),
        ("POST", f"{APP_RUN_URL}interrupt/", b""),
    ]


async def test_delete_run_waits_for_404(api: Api) -> None:
    api.route("DELETE", RUN_URL, empty(204))
    api.route("GET", RUN_URL, ok(run_json("FINISHED")), ok(run_json("FINISHED")), detail(404, "Not found."))
    assert await api.call("delete_run", WF_REF, interval=0.25) is True
    assert [s.method for s in api.sent] == ["DELETE", "GET", "GET", "GET"]
    assert api.sleeps == [0.25, 0.25]


async def test_delete_run_without_wait(api: Api) -> None:
    api.route("DELETE", RUN_URL, empty(204))
    assert await api.call("delete_run", WF_REF, wait=False) is True
    assert [s.method for s in api.sent] == ["DELETE"]


async def test_delete_run_already_gone(api: Api) -> None:
    api.route("DELETE", RUN_URL, detail(404, "Not found."))
    assert await api.call("delete_run", WF_REF) is False
    assert [s.method for s in api.sent] == ["DELETE"]


async def test_delete_run_timeout(api: Api) -> None:
    api.route("DELETE", RUN_URL, empty(204))
    api.route("GET", RUN_URL, ok(run_json("FINISHED")))
    with pytest.raises(PsevenWaitTimeout, match=f"Run {RUN_ID} still exists 2 s after it was deleted"):
        await api.call("delete_run", WF_REF, polls=4, interval=0.5)
    # Four looks, each followed by a pause: the bound is a count of polls, not a clock reading.
    assert [s.method for s in api.sent] == ["DELETE"] + ["GET"] * 4
    assert api.sleeps == [0.5] * 4


async def test_get_results_rereads_empty_results_after_finished(api: Api) -> None:
    results = [{"id": "r", "name": "f", "value": {"data": 3}}]
    api.route("GET", RUN_URL, ok(run_json("FINISHED")), ok(run_json("FINISHED", results=results)))
    run = await api.call("get_results", WF_REF, interval=0.5)
    assert run.result_values() == {"f": 3}
    assert len(api.sent) == 2
    assert api.sleeps == [0.5]


async def test_get_results_reread_is_bounded(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    api.route("GET", RUN_URL, ok(run_json("FINISHED")))
    run = await api.call("get_results", WF_REF, lag_timeout=3.0, interval=1.0)
    assert run.results == ()
    assert len(api.sent) == 4
    assert api.sleeps == [1.0, 1.0, 1.0]
    assert f"Run {RUN_ID} is FINISHED but shows no results after 3 s" in caplog.text


async def test_get_results_of_a_failed_run_is_not_reread(api: Api) -> None:
    api.route("GET", RUN_URL, ok(run_json("FAILED")))
    run = await api.call("get_results", WF_REF)
    assert run.state is RunState.FAILED
    assert len(api.sent) == 1
    assert api.sleeps == []


# --- files ----------------------------------------------------------------------------------------


async def test_download_to_file(api: Api, tmp_path: Path) -> None:
    payload = b"x,y\n1,2\n" * 1000
    api.route("GET", f"{RUN_URL}download/", Resp(body=payload, headers={"Content-Length": str(len(payload))}))
    target = tmp_path / "out" / "results.csv"
    await api.call("download", WF_REF, "results.csv", FileSink(target))
    assert target.read_bytes() == payload
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.csv"]
    (sent,) = api.sent
    assert sent.query == [("file", "results.csv")]


async def test_download_error_leaves_nothing(api: Api, tmp_path: Path) -> None:
    api.route("GET", f"{RUN_URL}download/", detail(404, "File not found."))
    target = tmp_path / "results.csv"
    with pytest.raises(PsevenError, match="File not found"):
        await api.call("download", WF_REF, "results.csv", FileSink(target))
    assert list(tmp_path.iterdir()) == []


async def test_download_truncated_body_leaves_nothing(api: Api, tmp_path: Path) -> None:
    api.route(
        "GET", f"{RUN_URL}download/", Resp(body=b"partial", headers={"Content-Length": "1000"}, broken=True)
    )
    client = api.make_client(retry=RetryPolicy(attempts=2))
    target = tmp_path / "results.csv"
    with pytest.raises(PsevenTransportError, match="the answer broke off"):
        await api.call("download", WF_REF, "results.csv", FileSink(target), client=client)
    assert len(api.sent) == 2
    assert list(tmp_path.iterdir()) == []


async def test_download_retry_after_truncation_starts_clean(api: Api, tmp_path: Path) -> None:
    api.route(
        "GET",
        f"{RUN_URL}download/",
        Resp(body=b"partial", headers={"Content-Length": "8"}, broken=True),
        Resp(body=b"complete", headers={"Content-Length": "8"}),
    )
    target = tmp_path / "f.bin"
    await api.call("download", WF_REF, "f.bin", FileSink(target))
    assert target.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    buffer = io.BytesIO(b"header:")
    buffer.seek(0, io.SEEK_END)
    api.route(
        "GET",
        f"{RUN_URL}download/",
        Resp(body=b"partial", broken=True),
        Resp(body=b"complete"),
    )
    await api.call("download", WF_REF, "f.bin", StreamSink(buffer))
    assert buffer.getvalue() == b"header:complete"


async def test_download_to_stream(api: Api) -> None:
    api.route("GET", f"{APP_RUN_URL}download/", Resp(body=b"\x00\x01binary"))
    buffer = io.BytesIO()
    await api.call("download", APP_REF, "sub/dir/data.bin", StreamSink(buffer))
    assert buffer.getvalue() == b"\x00\x01binary"
    assert api.sent[0].query == [("file", "sub/dir/data.bin")]


async def test_download_empty_file_name_fails_before_sending(api: Api) -> None:
    with pytest.raises(PsevenConfigError, match="file to download is empty"):
        await api.call("download", WF_REF, " ", StreamSink(io.BytesIO()))
    assert api.sent == []


async def test_read_log_tail_without_a_logfile_url_tries_the_guides_file(api: Api) -> None:
    log = "".join(f"line {i}\r\n" for i in range(1, 101)).encode()
    api.route("GET", RUN_URL, ok({**run_json("FAILED"), "logfile_url": None}))
    api.route("GET", f"{RUN_URL}download/", Resp(body=log))
    tail = await api.call("run_log_tail", WF_REF, 3)
    assert (tail.text, tail.source, tail.guessed) == ("line 98\nline 99\nline 100", ".p7.log.txt", True)
    assert api.sent[1].query == [("file", ".p7.log.txt")]
    headers = {k.lower(): v for k, v in api.sent[1].headers.items()}
    assert headers["accept"] == "*/*"  # a file of any type, not JSON
    assert {k.lower(): v for k, v in api.sent[0].headers.items()}["accept"] == "application/json"


async def test_read_log_tail_follows_the_runs_logfile_url(api: Api) -> None:
    url = f"{RUN_URL}download/?file=logs%2Fsolver.log"
    api.route("GET", RUN_URL, ok({**run_json("FINISHED"), "logfile_url": url}))
    api.route("GET", f"{RUN_URL}download/", Resp(body=b"one\ntwo\n"))
    assert await api.call("read_log_tail", WF_REF, 5) == "one\ntwo"
    assert api.sent[1].query == [("file", "logs/solver.log")]


async def test_a_logfile_url_on_another_host_is_not_followed(api: Api) -> None:
    api.route("GET", RUN_URL, ok({**run_json("FINISHED"), "logfile_url": "https://evil.example/x.log"}))
    with pytest.raises(PsevenUnsafeURLError):
        await api.call("read_log_tail", WF_REF)
    assert len(api.sent) == 1


async def test_read_log_tail_missing_log(api: Api) -> None:
    api.route("GET", RUN_URL, ok({**run_json("FAILED"), "logfile_url": None}))
    api.route("GET", f"{RUN_URL}download/", detail(404, "Not found."))
    tail = await api.call("run_log_tail", WF_REF)
    assert (tail.text, tail.guessed) == ("", True)


async def test_list_files_refuses_a_listing_shorter_than_its_count(api: Api) -> None:
    entries = [
        {"name": f"f{i}", "size": 1, "modified": "2025-03-13T15:07:20", "is_dir": False} for i in range(3)
    ]
    api.route("GET", f"{RUN_URL}ls/", ok({"status": 200, "message": "OK", "entries": entries, "count": 27}))
    with pytest.raises(PsevenError, match=r"listed 3 entries of the run directory, but its count says 27"):
        await api.call("list_files", WF_REF)


async def test_a_refused_nested_listing_says_the_guide_lists_root_names(api: Api) -> None:
    api.route("GET", f"{RUN_URL}ls/", detail(400, "Invalid directory."))
    with pytest.raises(PsevenBadRequestError, match="refuses the nested directory 'a/b'"):
        await api.call("list_files", WF_REF, "a/b")


async def test_list_files_in_unicode_directory(api: Api) -> None:
    directory = "🏠.Disk Model [0001].p7wd"
    api.route(
        "GET",
        f"{RUN_URL}ls/",
        ok(
            {
                "status": 200,
                "message": "OK",
                "entries": [
                    {
                        "name": "Optimizer.p7table",
                        "size": 4421,
                        "modified": "2025-03-13T15:07:20.077465",
                        "is_dir": False,
                    },
                    {"name": directory, "size": 2, "modified": "2025-03-13T15:07:00.229327", "is_dir": True},
                ],
                "count": 2,
            }
        ),
    )
    entries = await api.call("list_files", WF_REF, directory)
    assert [(e.name, e.size, e.is_dir) for e in entries] == [
        ("Optimizer.p7table", 4421, False),
        (directory, 2, True),
    ]
    assert entries[0].modified is not None
    assert entries[0].modified.year == 2025
    (sent,) = api.sent
    assert sent.query == [("directory", directory)]
    # Percent-encoded UTF-8 and brackets; no raw space or bracket in the URL.
    assert sent.raw_query.startswith("directory=%F0%9F%8F%A0.Disk")
    assert "%5B0001%5D.p7wd" in sent.raw_query
    assert " " not in sent.url
    assert "[" not in sent.url


async def test_list_files_of_run_root(api: Api) -> None:
    api.route("GET", f"{RUN_URL}ls/", ok({"entries": []}))
    assert await api.call("list_files", WF_REF) == []
    assert api.sent[0].raw_query == ""


async def test_upload_multipart(api: Api, tmp_path: Path) -> None:
    settings = tmp_path / "settings.csv"
    settings.write_bytes(b"a,b\n1,2\n")
    info = tmp_path / "info.txt"
    info.write_bytes(b"hello" * 1000)
    api.route(
        "POST",
        f"{RUN_URL}upload/",
        ok(
            {
                "uploaded_files": ["/r/run_setup/params.csv", "/r/run_setup/info.txt"],
                "uploaded_directories": ["/r/init"],
            }
        ),
    )
    result = await api.call(
        "upload",
        WF_REF,
        [(settings, "params.csv"), str(info)],
        destination="run_setup",
        directories=["init", "preprocess"],
        chunk_size=1000,
    )
    assert result.files == ("/r/run_setup/params.csv", "/r/run_setup/info.txt")
    assert result.directories == ("/r/init",)
    (sent,) = api.sent
    assert sent.url == f"{RUN_URL}upload/"
    assert sent.headers["authorization"] == f"Token {TOKEN}"
    assert int(sent.headers["content-length"]) == len(sent.body)
    assert "transfer-encoding" not in sent.headers
    assert sent.form() == [
        ("destination", None, b"run_setup"),
        ("directory", None, b"init"),
        ("directory", None, b"preprocess"),
        ("file", "params.csv", b"a,b\n1,2\n"),
        ("file", "info.txt", b"hello" * 1000),
    ]


async def test_upload_missing_local_file_fails_before_any_request(api: Api, tmp_path: Path) -> None:
    with pytest.raises(PsevenConfigError, match=r"missing\.csv.*the local file is missing"):
        await api.call("upload", WF_REF, [tmp_path / "missing.csv"])
    with pytest.raises(PsevenConfigError, match="is a directory"):
        await api.call("upload", WF_REF, [tmp_path])
    with pytest.raises(PsevenConfigError, match="Nothing to upload"):
        await api.call("upload", WF_REF, [])
    assert api.sent == []


async def test_message_push(api: Api) -> None:
    api.route("POST", f"{RUN_URL}message_push/", empty(202))
    assert await api.call("message_push", WF_REF, "go on", channel="control") is None
    assert await api.call("message_push", WF_REF, "default channel") is None
    assert [s.json() for s in api.sent] == [
        {"message": "go on", "channel": "control"},
        {"message": "default channel"},
    ]


async def test_message_pop(api: Api) -> None:
    api.route("POST", f"{APP_RUN_URL}message_pop/", ok({"message": "progress 50%"}), empty(204))
    assert await api.call("message_pop", APP_REF, channel="status") == "progress 50%"
    assert await api.call("message_pop", APP_REF) is None
    assert [(s.url, s.json()) for s in api.sent] == [
        (f"{APP_RUN_URL}message_pop/", {"channel": "status"}),
        (f"{APP_RUN_URL}message_pop/", {}),
    ]
