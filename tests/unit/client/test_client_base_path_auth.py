"""API base path (explicit, detected, from a full API URL) and authentication (token, login once)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pseven_client_harness import (
    APP_ID,
    HOST,
    PASSWORD,
    TOKEN,
    USERNAME,
    Api,
    Resp,
    app_json,
    detail,
    html,
    ok,
    workflow_json,
)

from airflow_provider_pseven.client import PsevenApiNotFoundError, PsevenAuthError

AT_REST = f"{HOST}/pseven/@rest/v2/"
DOT_REST = f"{HOST}/pseven/.rest/v2/"


@pytest.mark.parametrize("api_path", [".rest", "@rest"])
async def test_explicit_api_path_goes_straight_to_the_url(api: Api, api_path: str) -> None:
    api.route("GET", f"{HOST}/pseven/{api_path}/v2/workflows/", ok([workflow_json()]))
    api.route("GET", f"{HOST}/appshub/{api_path}/v2/apps/{APP_ID}/", ok(app_json()))
    client = api.make_client(api_path=api_path)
    await api.call("list_workflows", client=client)
    await api.call("get_app", APP_ID, client=client)
    assert [s.url for s in api.sent] == [
        f"{HOST}/pseven/{api_path}/v2/workflows/",
        f"{HOST}/appshub/{api_path}/v2/apps/{APP_ID}/",
    ]


async def test_auto_detects_at_rest_first(api: Api) -> None:
    api.route("GET", f"{AT_REST}workflows/", ok([workflow_json()]))
    api.route("GET", f"{HOST}/appshub/@rest/v2/apps/", ok([]))
    client = api.make_client(api_path="auto")
    workflows = await api.call("list_workflows", client=client)
    await api.call("list_apps", client=client)
    assert [s.url for s in api.sent] == [
        f"{AT_REST}workflows/",  # the probe, whose answer is the list asked for next
        f"{HOST}/appshub/@rest/v2/apps/",
    ]
    assert [w.id for w in workflows] == [workflow_json()["id"]]
    assert client.core.api_path == "@rest"


async def test_auto_falls_back_to_dot_rest_once_per_client(api: Api) -> None:
    api.route("GET", f"{AT_REST}workflows/", html(404))
    api.route("GET", f"{DOT_REST}workflows/", ok([workflow_json()]))
    client = api.make_client(api_path="auto")
    await api.call("list_workflows", client=client)
    await api.call("list_workflows", client=client)
    # The probe's list answers the first call only: the second asks the server again.
    assert [s.url for s in api.sent] == [
        f"{AT_REST}workflows/",
        f"{DOT_REST}workflows/",
        f"{DOT_REST}workflows/",
    ]


async def test_the_probe_list_answers_only_a_call_that_comes_right_after_it(api: Api) -> None:
    """Another API call first: the probe's list is dropped, never served later as a stale list."""
    api.route("GET", f"{AT_REST}workflows/", ok([workflow_json()]))
    api.route("GET", f"{HOST}/appshub/@rest/v2/apps/", ok([]))
    client = api.make_client(api_path="auto")
    await api.call("list_apps", client=client)
    await api.call("list_workflows", client=client)
    assert [s.url for s in api.sent] == [
        f"{AT_REST}workflows/",
        f"{HOST}/appshub/@rest/v2/apps/",
        f"{AT_REST}workflows/",
    ]


async def test_auto_takes_a_json_403_as_the_api(api: Api) -> None:
    """Without a token yet, the probe meets 403 JSON: the API is there."""
    api.route(
        "GET", f"{AT_REST}workflows/", detail(403, "Authentication credentials were not provided."), ok([])
    )
    api.route("POST", f"{AT_REST}auth/login/", ok({"token": TOKEN}))
    client = api.make_client(api_path="auto", token=None, username=USERNAME, password=PASSWORD)
    await api.call("list_workflows", client=client)
    assert [(s.method, s.url) for s in api.sent] == [
        ("GET", f"{AT_REST}workflows/"),
        ("POST", f"{AT_REST}auth/login/"),
        ("GET", f"{AT_REST}workflows/"),
    ]
    assert "authorization" not in api.sent[0].headers


async def test_auto_html_on_both_names_what_was_tried(api: Api) -> None:
    api.route("GET", f"{AT_REST}workflows/", html(200))
    api.route("GET", f"{DOT_REST}workflows/", html(404))
    client = api.make_client(api_path="auto")
    with pytest.raises(PsevenApiNotFoundError) as info:
        await api.call("list_workflows", client=client)
    message = str(info.value)
    assert message.startswith(f"No pSeven REST API found at {HOST}: ")
    assert f"{AT_REST}workflows/ answered HTTP 200 (text/html; charset=utf-8)" in message
    assert f"{DOT_REST}workflows/ answered HTTP 404 (text/html; charset=utf-8)" in message
    assert "sign-in URL" in message
    assert len(api.sent) == 2


async def test_host_given_as_full_api_url(api: Api) -> None:
    api.route("GET", f"{DOT_REST}workflows/", ok([]))
    client = api.make_client(host=f"{HOST}/pseven/.rest/v2/", api_path="auto")
    assert client.config.host == HOST
    assert client.config.api_path == ".rest"
    await api.call("list_workflows", client=client)
    assert [s.url for s in api.sent] == [f"{DOT_REST}workflows/"]


async def test_token_header(api: Api) -> None:
    api.route("GET", f"{DOT_REST}workflows/", ok([]))
    await api.call("list_workflows")
    assert api.sent[0].headers["authorization"] == "Token tok-SECRET-123"


async def test_login_once_then_token(api: Api) -> None:
    api.route("POST", f"{DOT_REST}auth/login/", ok({"token": "tok-from-login"}))
    api.route("GET", f"{DOT_REST}workflows/", ok([]))
    api.route("GET", f"{HOST}/appshub/.rest/v2/apps/", ok([]))
    client = api.make_client(token=None, username=USERNAME, password=PASSWORD)
    await api.call("list_workflows", client=client)
    await api.call("list_apps", client=client)
    await api.call("list_workflows", client=client)
    login, *rest = api.sent
    assert (login.method, login.url) == ("POST", f"{DOT_REST}auth/login/")
    assert login.json() == {"username": USERNAME, "password": PASSWORD}
    assert "authorization" not in login.headers
    assert [s.method for s in rest] == ["GET", "GET", "GET"]
    assert all(s.headers["authorization"] == "Token tok-from-login" for s in rest)


async def test_login_failure_is_an_auth_error_and_is_tried_again_next_call(api: Api) -> None:
    api.route(
        "POST",
        f"{DOT_REST}auth/login/",
        detail(400, "Unable to log in with provided credentials."),
        ok({"token": "tok-2"}),
    )
    api.route("GET", f"{DOT_REST}workflows/", ok([]))
    client = api.make_client(token=None, username=USERNAME, password=PASSWORD)
    with pytest.raises(Exception, match="Unable to log in"):
        await api.call("list_workflows", client=client)
    await api.call("list_workflows", client=client)
    assert [s.method for s in api.sent] == ["POST", "POST", "GET"]


async def test_login_answer_without_token(api: Api) -> None:
    api.route("POST", f"{DOT_REST}auth/login/", ok({"detail": "ok"}))
    client = api.make_client(token=None, username=USERNAME, password=PASSWORD)
    with pytest.raises(Exception, match="answered without a token"):
        await api.call("list_workflows", client=client)


@pytest.mark.parametrize("api", ["async"], indirect=True)
async def test_async_concurrent_calls_log_in_and_detect_once(api: Api) -> None:
    api.route(
        "GET", f"{AT_REST}workflows/", detail(403, "Authentication credentials were not provided."), ok([])
    )
    api.route("POST", f"{AT_REST}auth/login/", ok({"token": TOKEN}))
    client = api.make_client(api_path="auto", token=None, username=USERNAME, password=PASSWORD)
    results = await asyncio.gather(*(client.list_workflows() for _ in range(5)))
    assert results == [[]] * 5
    methods = [(s.method, s.url) for s in api.sent]
    assert methods.count(("POST", f"{AT_REST}auth/login/")) == 1
    assert methods[:2] == [("GET", f"{AT_REST}workflows/"), ("POST", f"{AT_REST}auth/login/")]
    assert len(methods) == 7


@pytest.mark.parametrize("api", ["sync"], indirect=True)
async def test_sync_threads_log_in_once(api: Api) -> None:
    # The login answer takes 50 ms, so the other threads arrive while it is in flight.
    api.route("POST", f"{DOT_REST}auth/login/", Resp(json={"token": TOKEN}, delay=0.05))
    api.route("GET", f"{DOT_REST}workflows/", ok([]))
    client = api.make_client(token=None, username=USERNAME, password=PASSWORD)
    barrier = threading.Barrier(4)

    def work(_: int) -> list:
        barrier.wait(timeout=5)
        return client.list_workflows()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert results == [[]] * 4
    assert [s.method for s in api.sent].count("POST") == 1


async def test_wrong_token_is_an_auth_error(api: Api) -> None:
    api.route("GET", f"{DOT_REST}workflows/", detail(401, "Invalid token."))
    with pytest.raises(PsevenAuthError) as info:
        await api.call("list_workflows")
    assert info.value.status == 401
    assert "check the connection's API token" in str(info.value)


@pytest.mark.parametrize(
    "api",
    [
        "async",
        "sync",
    ],
    indirect=True,
)
async def test_netrc_does_not_replace_the_token(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine p7.example.com login someone password other-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    api.route("GET", f"{DOT_REST}workflows/", ok([]))
    await api.call("list_workflows")
    assert api.sent[0].headers["authorization"] == f"Token {TOKEN}"
