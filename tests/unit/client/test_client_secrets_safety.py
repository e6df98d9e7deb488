"""Credentials never show in errors or logs; server-given URLs never take the token elsewhere."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Generator
from typing import Any

import pytest
from pseven_client_harness import (
    HOST,
    PASSWORD,
    PSEVEN,
    RUN_ID,
    TOKEN,
    USERNAME,
    WF_ID,
    Api,
    Resp,
    detail,
    html,
    ok,
)

from airflow_provider_pseven.client import (
    ClientConfig,
    PsevenConfigError,
    PsevenError,
    PsevenUnsafeURLError,
    RetryPolicy,
    RunRef,
)
from airflow_provider_pseven.client.calls import Base, Call, Reply
from airflow_provider_pseven.client.core import ClientCore

WORKFLOWS = f"{PSEVEN}workflows/"
LOGIN = f"{PSEVEN}auth/login/"
LOGGERS = ("airflow_provider_pseven", "urllib3", "httpx", "httpcore", "requests_mock", "respx")

FAILURES = {
    "403": [detail(403, "Authentication credentials were not provided.")],
    "503-after-retries": [detail(503, "unavailable"), detail(502, "Bad Gateway")],
    "connection-error": [Resp(error="connect")],
    "read-timeout": [Resp(error="read_timeout")],
    "html": [html(200)],
}


def _no_secret(text: str) -> None:
    for secret in (TOKEN, PASSWORD):
        assert secret not in text


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _check_everything(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    _no_secret(str(error))
    _no_secret(repr(error))
    _no_secret("".join(traceback.format_exception(error)))
    _no_secret(repr(error.__dict__))
    _no_secret(caplog.text)
    for record in caplog.records:
        _no_secret(record.getMessage())
        _no_secret(repr(record.__dict__))


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("auth", ["token", "login"])
async def test_no_credential_in_errors_or_logs(
    api: Api, debug_logs: pytest.LogCaptureFixture, failure: str, auth: str
) -> None:
    api.route("GET", WORKFLOWS, *FAILURES[failure])
    api.route("POST", LOGIN, ok({"token": TOKEN}))
    credentials: dict[str, Any] = (
        {"token": TOKEN} if auth == "token" else {"token": None, "username": USERNAME, "password": PASSWORD}
    )
    client = api.make_client(retry=RetryPolicy(attempts=3), **credentials)
    _no_secret(repr(client.config))
    with pytest.raises(PsevenError) as info:
        await api.call("list_workflows", client=client)
    _check_everything(info.value, debug_logs)
    # The token was really used (so the test would notice a leak).
    assert api.calls_to("GET", WORKFLOWS)[0].headers["authorization"] == f"Token {TOKEN}"
    if failure == "503-after-retries":
        assert len(debug_logs.records) >= 2  # the retry warnings were logged, and checked


@pytest.mark.parametrize("failure", ["login-refused", "login-connection-error", "login-html"])
async def test_no_password_when_login_fails(
    api: Api, debug_logs: pytest.LogCaptureFixture, failure: str
) -> None:
    answer = {
        "login-refused": detail(400, "Unable to log in with provided credentials."),
        "login-connection-error": Resp(error="reset"),
        "login-html": html(200),
    }[failure]
    api.route("POST", LOGIN, answer)
    client = api.make_client(token=None, username=USERNAME, password=PASSWORD, retry=RetryPolicy(attempts=2))
    with pytest.raises(PsevenError) as info:
        await api.call("list_workflows", client=client)
    _check_everything(info.value, debug_logs)
    assert api.sent[0].json()["password"] == PASSWORD


def test_config_repr_hides_credentials() -> None:
    config = ClientConfig(HOST, token=TOKEN, username=USERNAME, password=PASSWORD)
    text = repr(config)
    _no_secret(text)
    assert USERNAME in text
    assert config.secrets == (TOKEN, PASSWORD)


# --- server-given URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/pseven/.rest/v2/workflows/",
        "http://p7.example.com/pseven/.rest/v2/workflows/",  # downgraded scheme
        "https://p7.example.com:8443/pseven/.rest/v2/workflows/",  # another port
        "https://p7.example.com@evil.example.com/pseven/.rest/v2/workflows/",  # userinfo trick
        "https://p7.example.com.evil.example.com/x",
    ],
)
def test_absolute_url_to_another_origin_is_refused(url: str) -> None:
    core = ClientCore(ClientConfig(HOST, token=TOKEN, api_path=".rest"))
    with pytest.raises(PsevenUnsafeURLError) as info:
        core.url(Call("GET", url, base=Base.ABSOLUTE))
    assert "the request was not sent" in str(info.value)
    assert HOST in str(info.value)


def test_absolute_url_on_the_same_origin_is_used_as_is() -> None:
    core = ClientCore(ClientConfig(HOST, token=TOKEN, api_path=".rest"))
    url = f"{PSEVEN}workflows/{WF_ID}/runs/{RUN_ID}/download/?file=.p7.log.txt"
    assert core.url(Call("GET", url, base=Base.ABSOLUTE)) == url


def test_site_and_api_urls() -> None:
    core = ClientCore(ClientConfig(f"{HOST}/prefix/", token=TOKEN, api_path="@rest"))
    assert core.url(Call("GET", "x/", base=Base.SITE)) == f"{HOST}/prefix/x/"
    assert core.url(Call("GET", "apps/", base=Base.APPSHUB)) == f"{HOST}/prefix/appshub/@rest/v2/apps/"
    assert core.url(Call("GET", "workflows/")) == f"{HOST}/prefix/pseven/@rest/v2/workflows/"


async def test_client_sends_nothing_to_another_host(api: Api) -> None:
    def op() -> Generator[Call, Reply | None, str]:
        yield Call("GET", "https://evil.example.com/steal", base=Base.ABSOLUTE)
        return "unreachable"

    with pytest.raises(PsevenUnsafeURLError):
        await api.run(op())
    assert api.sent == []


async def test_client_follows_a_same_origin_absolute_url(api: Api) -> None:
    url = f"{PSEVEN}workflows/{WF_ID}/"
    api.route("GET", url, ok({"id": WF_ID}))

    def op() -> Generator[Call, Reply | None, Any]:
        reply = yield Call("GET", url, base=Base.ABSOLUTE)
        assert reply is not None
        return reply.json()

    assert await api.run(op()) == {"id": WF_ID}
    assert api.sent[0].headers["authorization"] == f"Token {TOKEN}"


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda: RunRef.workflow("", RUN_ID), "workflow_id"),
        (lambda: RunRef.app("  ", RUN_ID), "app_id"),
        (lambda: RunRef.workflow(WF_ID, ""), "run_id"),
        (lambda: RunRef.workflow(WF_ID, None), "run_id"),
    ],
)
def test_run_ref_with_an_empty_id(factory: Any, name: str) -> None:
    with pytest.raises(PsevenConfigError) as info:
        factory()
    message = str(info.value)
    assert message.startswith(f"{name} is empty")
    assert "a templated id probably rendered to nothing" in message
    assert "XCom" in message


def test_run_ref_paths_are_quoted() -> None:
    ref = RunRef.app(f"{WF_ID}@2", "a?b c")
    # An app's runs live under its plain id (AppsHub API), whichever version a pin names.
    assert ref.path("ls/") == f"apps/{WF_ID}/runs/a%3Fb%20c/ls/"
    assert ref.base is Base.APPSHUB
    assert ref.as_dict() == {"app_id": WF_ID, "run_id": "a?b c"}
    assert RunRef.workflow(WF_ID, RUN_ID).as_dict() == {"workflow_id": WF_ID, "run_id": RUN_ID}
