"""PsevenHook: connection forms -> ClientConfig, test_connection, secret masking, the shared async client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import requests_mock
from af_support import HOST, PSEVEN, TOKEN, workflow_json
from airflow.sdk import Connection

from airflow_provider_pseven.client import PsevenConfigError, PsevenError
from airflow_provider_pseven.hooks import PsevenHook
from airflow_provider_pseven.hooks.pseven import config_from_connection


def conn(**fields: Any) -> Connection:
    extra = fields.pop("extra", None)
    return Connection(
        conn_id="c",
        conn_type="pseven",
        extra=json.dumps(extra) if extra is not None else None,
        **fields,
    )


def config_of(connection: Connection, **overrides: Any) -> Any:
    return config_from_connection(connection, connection.extra_dejson, **overrides)


# --- connection forms ----------------------------------------------------------------------------


def test_json_connection_from_the_environment_with_a_token() -> None:
    config = PsevenHook().config
    assert config.host == HOST
    assert config.token == TOKEN
    assert config.username is None
    assert config.password is None
    assert config.api_path == ".rest"
    assert config.verify is True
    assert config.timeout == 60.0


def test_login_and_password_mean_sign_in_not_a_token() -> None:
    config = config_of(conn(host="https://app.pseven.io", login="user@work.org", password="pw-1"))
    assert config.token is None
    assert config.username == "user@work.org"
    assert config.password == "pw-1"
    assert config.api_path == "auto"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("https://app.pseven.io", None, "https://app.pseven.io"),
        ("app.pseven.io", None, "https://app.pseven.io"),
        ("http://127.0.0.1", 8765, "http://127.0.0.1:8765"),
        ("127.0.0.1", 8765, "https://127.0.0.1:8765"),
        ("http://127.0.0.1:9000", 8765, "http://127.0.0.1:9000"),
        ("https://app.pseven.io/", None, "https://app.pseven.io"),
    ],
)
def test_host_forms(host: str, port: int | None, expected: str) -> None:
    assert config_of(conn(host=host, port=port, password="t")).host == expected


def test_host_given_as_the_full_api_url_sets_the_api_path() -> None:
    config = config_of(conn(host="https://app.pseven.io/pseven/@rest/v2/", password="t"))
    assert config.host == "https://app.pseven.io"
    assert config.api_path == "@rest"


def test_uri_connection() -> None:
    connection = Connection.from_uri("pseven://http://:tok@127.0.0.1:8765?api_path=.rest", conn_id="u")
    config = config_of(connection)
    assert config.host == "http://127.0.0.1:8765"
    assert config.token == "tok"
    assert config.username is None
    assert config.api_path == ".rest"


def test_uri_connection_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_URI", "pseven://http://:tok-2@127.0.0.1:8765?api_path=%40rest")
    config = PsevenHook("pseven_uri").config
    assert (config.host, config.token, config.api_path) == ("http://127.0.0.1:8765", "tok-2", "@rest")


def test_plain_and_prefixed_extras() -> None:
    prefixed = config_of(
        conn(
            host=HOST,
            password="t",
            extra={
                "extra__pseven__api_path": "@rest",
                "extra__pseven__timeout": "12.5",
                "extra__pseven__verify_ssl": "false",
            },
        )
    )
    assert (prefixed.api_path, prefixed.timeout, prefixed.verify) == ("@rest", 12.5, False)
    plain = config_of(conn(host=HOST, password="t", extra={"api_path": ".rest", "timeout": 7}))
    assert (plain.api_path, plain.timeout) == (".rest", 7.0)
    both = config_of(
        conn(host=HOST, password="t", extra={"api_path": ".rest", "extra__pseven__api_path": "@rest"})
    )
    assert both.api_path == ".rest"


def test_empty_extras_from_a_ui_form_mean_defaults() -> None:
    config = config_of(
        conn(
            host=HOST, password="t", extra={"api_path": "", "timeout": "", "verify_ssl": "", "ca_bundle": ""}
        )
    )
    assert (config.api_path, config.timeout, config.verify) == ("auto", 60.0, True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(False, False), ("false", False), ("0", False), ("no", False), (True, True), ("True", True)],
)
def test_verify_ssl_values(value: Any, expected: bool) -> None:
    assert config_of(conn(host=HOST, password="t", extra={"verify_ssl": value})).verify is expected


def test_ca_bundle_overrides_verify_ssl() -> None:
    config = config_of(
        conn(host=HOST, password="t", extra={"verify_ssl": "false", "ca_bundle": "/etc/ssl/corp-ca.pem"})
    )
    assert config.verify == "/etc/ssl/corp-ca.pem"


def test_invalid_timeout_says_what_it_must_be() -> None:
    with pytest.raises(PsevenError, match=r"'timeout' must be a number of seconds, not 'soon'"):
        config_of(conn(host=HOST, password="t", extra={"timeout": "soon"}))
    with pytest.raises(PsevenConfigError, match="timeout must be a positive number"):
        config_of(conn(host=HOST, password="t", extra={"timeout": "0"}))


def test_invalid_verify_ssl_says_what_it_must_be() -> None:
    with pytest.raises(PsevenError, match=r"'verify_ssl' must be true or false, not 'maybe'"):
        config_of(conn(host=HOST, password="t", extra={"verify_ssl": "maybe"}))


def test_invalid_api_path_and_missing_credentials() -> None:
    with pytest.raises(PsevenConfigError, match=r"api_path must be 'auto', '\.rest' or '@rest'"):
        config_of(conn(host=HOST, password="t", extra={"api_path": "rest"}))
    with pytest.raises(PsevenConfigError, match="No pSeven credentials"):
        config_of(conn(host=HOST))
    with pytest.raises(PsevenConfigError, match="No pSeven host"):
        config_of(conn(password="t"))


# --- test_connection -----------------------------------------------------------------------------


def test_test_connection_reports_the_workflow_count(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{PSEVEN}workflows/", json=[workflow_json(), workflow_json("a" * 32, "Other")])
    ok, message = PsevenHook().test_connection()
    assert ok is True
    assert message == f"Connected to {PSEVEN}: 2 workflow(s) visible"
    assert requests_mock.last_request.headers["Authorization"] == f"Token {TOKEN}"


def test_test_connection_fails_with_the_servers_reason(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{PSEVEN}workflows/", status_code=401, json={"detail": "Invalid token."})
    ok, message = PsevenHook().test_connection()
    assert ok is False
    assert "HTTP 401" in message
    assert "Invalid token." in message
    assert TOKEN not in message


def test_test_connection_fails_on_a_bad_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_BAD", json.dumps({"conn_type": "pseven", "host": HOST}))
    ok, message = PsevenHook("pseven_bad").test_connection()
    assert ok is False
    assert "No pSeven credentials" in message


# --- secrets -------------------------------------------------------------------------------------


def test_token_is_registered_with_the_secret_masker(masked: list[Any]) -> None:
    PsevenHook().config  # noqa: B018 - reading the config registers its secrets
    # Airflow itself also registers the connection's extra dict; the hook adds the token.
    assert [m for m in masked if isinstance(m, str)] == [TOKEN]


def test_password_and_token_from_login_are_masked(
    monkeypatch: pytest.MonkeyPatch, requests_mock: requests_mock.Mocker, masked: list[Any]
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PSEVEN_LOGIN",
        json.dumps(
            {
                "conn_type": "pseven",
                "host": HOST,
                "login": "user@work.org",
                "password": "pw-SECRET-2",
                "extra": {"api_path": ".rest"},
            }
        ),
    )
    login = requests_mock.post(f"{PSEVEN}auth/login/", json={"token": "tok-FROM-LOGIN"})
    requests_mock.get(f"{PSEVEN}workflows/", json=[])
    ok, _ = PsevenHook("pseven_login").test_connection()
    assert ok
    assert login.call_count == 1
    assert login.last_request.json() == {"username": "user@work.org", "password": "pw-SECRET-2"}
    assert requests_mock.last_request.headers["Authorization"] == "Token tok-FROM-LOGIN"
    assert "pw-SECRET-2" in masked
    assert "tok-FROM-LOGIN" in masked


# --- the shared async client ---------------------------------------------------------------------


async def test_async_client_is_shared_per_connection_and_loop(
    monkeypatch: pytest.MonkeyPatch, loop_clients: None
) -> None:
    builds: list[str] = []
    original = PsevenHook._read_async_config

    async def counting(self: PsevenHook) -> Any:
        builds.append(self.pseven_conn_id)
        await asyncio.sleep(0)  # let the other callers arrive while this one builds
        return await original(self)

    constructed: list[Any] = []

    class CountingAsyncClient(httpx.AsyncClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            constructed.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(PsevenHook, "_read_async_config", counting)
    monkeypatch.setattr(httpx, "AsyncClient", CountingAsyncClient)

    first = await PsevenHook().get_async_client()
    second = await PsevenHook().get_async_client()
    assert first is second
    many = await asyncio.gather(*(PsevenHook().get_async_client() for _ in range(50)))
    assert all(client is first for client in many)
    assert builds == ["pseven_default"]
    assert len(constructed) == 1
    assert first.config.token == TOKEN
    assert first.config.host == HOST


async def test_concurrent_first_calls_build_once(monkeypatch: pytest.MonkeyPatch, loop_clients: None) -> None:
    builds: list[str] = []
    original = PsevenHook._read_async_config

    async def counting(self: PsevenHook) -> Any:
        builds.append(self.pseven_conn_id)
        await asyncio.sleep(0)
        return await original(self)

    monkeypatch.setattr(PsevenHook, "_read_async_config", counting)
    clients = await asyncio.gather(*(PsevenHook().get_async_client() for _ in range(50)))
    assert len({id(c) for c in clients}) == 1
    assert builds == ["pseven_default"]


async def test_other_connections_get_their_own_client(
    monkeypatch: pytest.MonkeyPatch, loop_clients: None
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PSEVEN_OTHER", json.dumps({**json.loads(_conn_json()), "password": "t2"})
    )
    default = await PsevenHook().get_async_client()
    other = await PsevenHook("pseven_other").get_async_client()
    assert default is not other
    assert other.config.token == "t2"


async def test_a_failed_build_is_not_cached(monkeypatch: pytest.MonkeyPatch, loop_clients: None) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_LATER", json.dumps({"conn_type": "pseven", "host": HOST}))
    with pytest.raises(PsevenConfigError, match="No pSeven credentials"):
        await PsevenHook("pseven_later").get_async_client()
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_LATER", _conn_json())
    client = await PsevenHook("pseven_later").get_async_client()
    assert client.config.token == TOKEN


async def test_async_client_masks_its_token(masked: list[Any], loop_clients: None) -> None:
    await PsevenHook().get_async_client()
    assert TOKEN in masked


async def test_a_rotated_token_reaches_new_triggers_within_the_ttl(
    monkeypatch: pytest.MonkeyPatch, loop_clients: None
) -> None:
    from airflow_provider_pseven.hooks import async_clients

    first = await PsevenHook().get_async_client()
    monkeypatch.setenv(
        "AIRFLOW_CONN_PSEVEN_DEFAULT", json.dumps({**json.loads(_conn_json()), "password": "rotated"})
    )
    assert await PsevenHook().get_async_client() is first  # the connection as read serves for a while
    registry = async_clients.loop_clients()
    read_at, task = registry.connections["pseven_default"]
    registry.connections["pseven_default"] = (read_at - async_clients.CONNECTION_TTL - 1, task)
    rotated = await PsevenHook().get_async_client()
    assert rotated is not first
    assert rotated.config.token == "rotated"  # keyed by the whole configuration, token included


async def test_an_evicted_client_is_not_shared_and_the_connection_is_read_again(
    monkeypatch: pytest.MonkeyPatch, loop_clients: None
) -> None:
    first = await PsevenHook().get_async_client()
    monkeypatch.setenv(
        "AIRFLOW_CONN_PSEVEN_DEFAULT", json.dumps({**json.loads(_conn_json()), "password": "new"})
    )
    PsevenHook().evict_async_client(first)
    second = await PsevenHook().get_async_client()
    assert second is not first and second.config.token == "new"


def test_the_clients_are_closed_when_their_event_loop_shuts_down() -> None:
    async def get() -> Any:
        return await PsevenHook().get_async_client()

    client = asyncio.run(get())  # asyncio.run finalizes the loop's async generators on the way out
    assert client.http.is_closed


def test_each_event_loop_gets_its_own_client() -> None:
    async def get() -> Any:
        client = await PsevenHook().get_async_client()
        await client.aclose()
        return client

    first = asyncio.run(get())
    second = asyncio.run(get())
    assert first is not second


def _conn_json() -> str:
    return json.dumps(
        {"conn_type": "pseven", "host": HOST, "password": TOKEN, "extra": {"api_path": ".rest"}}
    )


# --- require_https ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, "true", "True"])
def test_require_https_extra_refuses_plain_http_to_another_host(value: Any) -> None:
    with pytest.raises(PsevenConfigError, match="require_https"):
        config_of(conn(host="http://p7.corp", password="t", extra={"require_https": value}))


def test_require_https_extra_defaults_to_off_and_keeps_loopback() -> None:
    assert config_of(conn(host="http://p7.corp", password="t")).require_https is False
    on = config_of(conn(host="http://127.0.0.1:8765", password="t", extra={"require_https": True}))
    assert on.require_https is True


def test_require_https_must_be_a_boolean() -> None:
    with pytest.raises(PsevenConfigError, match="require_https"):
        config_of(conn(host="https://p7.corp", password="t", extra={"require_https": "maybe"}))


def test_the_proxy_extra_reaches_the_config_and_its_password_the_masker(masked: list[Any]) -> None:
    proxy = "http://alice:pr0xy-SECRET@proxy.corp:3128"
    config = config_of(conn(host=HOST, password="t", extra={"proxy": proxy}))
    assert config.proxy == proxy and "pr0xy-SECRET" in masked
    assert config_of(conn(host=HOST, password="t", extra={"proxy": ""})).proxy is None


def test_a_bad_proxy_extra_is_masked_before_the_error(masked: list[Any]) -> None:
    with pytest.raises(PsevenConfigError, match=r"proxy '\*\*\*@proxy.corp:3128' is not an http") as caught:
        config_of(conn(host=HOST, password="t", extra={"proxy": "alice:pr0xy-SECRET@proxy.corp:3128"}))
    assert "pr0xy-SECRET" in masked and "pr0xy-SECRET" not in str(caught.value)
