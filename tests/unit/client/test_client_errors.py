"""What each kind of error answer becomes, and that every error survives pickling."""

from __future__ import annotations

import pickle

import pytest
from pseven_client_harness import PSEVEN, RUN_ID, RUN_URL, WF_ID, Api, Resp, detail, html, ok, run_json

from airflow_provider_pseven.client import (
    PsevenApiNotFoundError,
    PsevenAuthError,
    PsevenBadRequestError,
    PsevenConfigError,
    PsevenError,
    PsevenHTTPError,
    PsevenLookupError,
    PsevenNotFoundError,
    PsevenNotJsonError,
    PsevenRequestMayHaveSucceeded,
    PsevenServerError,
    PsevenStateError,
    PsevenTransportError,
    PsevenUnsafeURLError,
    PsevenWaitTimeout,
    RetryPolicy,
    RunRef,
)

WORKFLOWS = f"{PSEVEN}workflows/"
REF = RunRef.workflow(WF_ID, RUN_ID)


async def test_403_is_an_auth_error(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(403, "Authentication credentials were not provided."))
    with pytest.raises(PsevenAuthError) as info:
        await api.call("list_workflows")
    error = info.value
    assert error.status == 403
    assert error.detail == "Authentication credentials were not provided."
    assert (error.method, error.path) == ("GET", "workflows/")
    assert str(error) == (
        "GET workflows/ failed with HTTP 403: Authentication credentials were not provided. "
        "(check the connection's API token, or its login and password, and the user's permissions)"
    )
    assert len(api.sent) == 1


async def test_404_is_not_found(api: Api) -> None:
    api.route("GET", RUN_URL, detail(404, "Not found."))
    with pytest.raises(PsevenNotFoundError) as info:
        await api.call("get_run", REF)
    assert info.value.status == 404
    assert info.value.detail == "Not found."
    assert str(info.value).startswith(
        f"GET workflows/{WF_ID}/runs/{RUN_ID}/ failed with HTTP 404: Not found."
    )
    assert f"no run '{RUN_ID}' of workflow_id '{WF_ID}': check run_id and workflow_id" in str(info.value)


async def test_409_is_a_state_error_once_the_run_is_read(api: Api) -> None:
    api.route("POST", f"{RUN_URL}run/", detail(409, "Conflict."))
    api.route("GET", RUN_URL, ok(run_json("RUNNING")))
    with pytest.raises(PsevenStateError) as info:
        await api.call("start_run", REF)
    assert info.value.status == 409
    assert f"run {RUN_ID} is RUNNING, and this request needs CONFIGURATION" in str(info.value)


async def test_400_naming_a_state_is_no_state_error_when_the_state_allows_the_request(api: Api) -> None:
    api.route(
        "POST",
        f"{RUN_URL}upload/",
        detail(400, "Run state is RUNNING, files can be uploaded only in CONFIGURATION"),
    )
    api.route("GET", RUN_URL, ok(run_json("CONFIGURATION")))
    with pytest.raises(PsevenBadRequestError, match="HTTP 400: Run state is RUNNING") as info:
        await api.call("upload", REF, directories=["d"])
    assert not isinstance(info.value, PsevenStateError)


async def test_other_400_is_a_bad_request(api: Api) -> None:
    api.route(
        "POST",
        f"{PSEVEN}workflows/{WF_ID}/runs/",
        ok({"name": ["Ensure this field has no more than 64 characters."]}, status=400),
    )
    with pytest.raises(PsevenBadRequestError) as info:
        await api.call("deploy_run", REF.kind, WF_ID, name="x" * 100)
    assert info.value.status == 400
    assert info.value.detail == '{"name": ["Ensure this field has no more than 64 characters."]}'
    assert not isinstance(info.value, PsevenStateError)


async def test_other_4xx_is_an_http_error(api: Api) -> None:
    api.route(
        "GET", WORKFLOWS, Resp(status=418, body=b"I'm a teapot", headers={"Content-Type": "text/plain"})
    )
    with pytest.raises(PsevenHTTPError) as info:
        await api.call("list_workflows")
    assert type(info.value) is PsevenHTTPError
    assert info.value.detail == "I'm a teapot"


async def test_500_with_plain_text_body(api: Api) -> None:
    api.route(
        "GET",
        WORKFLOWS,
        Resp(status=500, body=b"Internal Server Error", headers={"Content-Type": "text/plain"}),
    )
    client = api.make_client(retry=RetryPolicy(attempts=1))
    with pytest.raises(PsevenServerError) as info:
        await api.call("list_workflows", client=client)
    assert info.value.status == 500
    assert info.value.detail == "Internal Server Error"


@pytest.mark.parametrize("status", [200, 404])  # and 3xx: test_redirect_with_html_body_names_its_target
async def test_html_answer_is_not_json_with_a_friendly_message(api: Api, status: int) -> None:
    api.route("GET", WORKFLOWS, html(status))
    with pytest.raises(PsevenNotJsonError) as info:
        await api.call("list_workflows")
    message = str(info.value)
    assert message.startswith(
        f"GET {WORKFLOWS} answered HTTP {status} with an HTML page, not pSeven REST API JSON."
    )
    assert "Check the connection's host" in message
    assert "api_path" in message
    assert "'<!DOCTYPE html><html><body>Sign in to pSeven" in message
    assert info.value.status == status


async def test_invalid_json_is_not_json(api: Api) -> None:
    api.route("GET", WORKFLOWS, Resp(body=b'{"broken": ', headers={"Content-Type": "application/json"}))
    with pytest.raises(PsevenNotJsonError, match=r"non-JSON content \(application/json\)"):
        await api.call("list_workflows")


async def test_json_of_the_wrong_shape_is_not_json(api: Api) -> None:
    api.route("GET", WORKFLOWS, ok({"results": []}))
    with pytest.raises(PsevenNotJsonError):
        await api.call("list_workflows")


async def test_redirect_names_its_target(api: Api) -> None:
    api.route("GET", WORKFLOWS, Resp(status=301, headers={"Location": "https://sso.example.com/login"}))
    with pytest.raises(PsevenHTTPError) as info:
        await api.call("list_workflows")
    assert info.value.status == 301
    assert "redirected to https://sso.example.com/login" in str(info.value)
    assert len(api.sent) == 1  # not followed


async def test_redirect_with_html_body_names_its_target(api: Api) -> None:
    api.route(
        "GET",
        WORKFLOWS,
        Resp(
            status=301,
            body=b"<html><head><title>301 Moved Permanently</title></head></html>",
            headers={
                "Location": "https://p7.example.com:8443/pseven/.rest/v2/workflows/",
                "Content-Type": "text/html",
            },
        ),
    )
    with pytest.raises(PsevenError, match=r"https://p7\.example\.com:8443/pseven/\.rest/v2/workflows/"):
        await api.call("list_workflows")


# --- pickling -------------------------------------------------------------------------------------

ERRORS: list[PsevenError] = [
    PsevenConfigError("bad config"),
    PsevenHTTPError("GET", "workflows/", 418, "teapot"),
    PsevenAuthError(
        "GET", "workflows/", 403, "Authentication credentials were not provided.", "check the token"
    ),
    PsevenNotFoundError("GET", "workflows/x/", 404, "Not found."),
    PsevenStateError("POST", "workflows/x/runs/y/run/", 409, "Conflict"),
    PsevenBadRequestError("POST", "apps/", 400, '{"name": ["required"]}'),
    PsevenServerError("GET", "workflows/", 503, "busy"),
    PsevenNotJsonError("GET", "https://h/pseven/.rest/v2/workflows/", 200, "text/html", "<html>"),
    PsevenApiNotFoundError("https://h", ["a answered HTTP 200", "b answered HTTP 404"]),
    PsevenTransportError("GET", "workflows/", "cannot connect (server https://h)", sent=False),
    PsevenRequestMayHaveSucceeded("POST", "workflows/x/runs/", "no answer within 60 s"),
    PsevenLookupError("workflow", "Nope", ["A (/A.p7wf)", "B (/B.p7wf)"]),
    PsevenLookupError("parameter", "x", ["id1", "id2"], ambiguous=True),
    PsevenWaitTimeout("still there"),
    PsevenUnsafeURLError("other host"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle_with_the_same_message(error: PsevenError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    for attr in ("status", "detail", "method", "path", "sent", "candidates", "ambiguous", "tried", "url"):
        assert getattr(copy, attr, None) == getattr(error, attr, None)


def test_a_pickled_error_keeps_what_was_set_after_its_constructor() -> None:
    error = PsevenHTTPError("GET", "runs/", 503, "busy")
    error.retry_after = 7.0
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.retry_after, copy.status, str(copy)) == (7.0, 503, str(error))


async def test_errors_raised_by_the_client_pickle(api: Api) -> None:
    api.route("GET", WORKFLOWS, detail(403, "Authentication credentials were not provided."))
    api.route("POST", f"{PSEVEN}workflows/{WF_ID}/runs/", Resp(error="read_timeout"))
    caught = []
    for method, args in (("list_workflows", ()), ("deploy_run", (REF.kind, WF_ID))):
        with pytest.raises(PsevenError) as info:
            await api.call(method, *args)
        caught.append(info.value)
    for error in caught:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
    assert isinstance(caught[1], PsevenRequestMayHaveSucceeded)
    assert caught[1].sent is True


@pytest.mark.parametrize("status", [502, 503])
async def test_gateway_error_with_html_page_is_retried(api: Api, status: int) -> None:
    api.route(
        "GET",
        WORKFLOWS,
        html(status, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"),
        ok([]),
    )
    assert await api.call("list_workflows") == []
    assert len(api.sent) == 2
