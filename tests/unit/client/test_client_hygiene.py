"""Connection hygiene: no credentials in the sign-in URL, and plain http only where it is safe."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_pseven.client import ClientConfig, PsevenConfigError
from airflow_provider_pseven.client import config as config_module
from airflow_provider_pseven.client.config import is_loopback


@pytest.mark.parametrize(
    "host", ["https://user:hunter2@app.pseven.io", "user:hunter2@app.pseven.io", "http://:hunter2@h:8"]
)
def test_user_info_in_the_sign_in_url_is_refused_without_echoing_it(host: str) -> None:
    with pytest.raises(PsevenConfigError) as info:
        ClientConfig(host, token="t")
    message = str(info.value)
    assert "hunter2" not in message and "user:" not in message.replace("user:password", "")
    assert "Login" in message and "Password" in message


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.0.1", "[::1]", "a.localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "app.pseven.io", "[::2]", "localhost.evil.test"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_plain_http_to_another_host_warns_once_per_host(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_module, "_WARNED_PLAIN", set())
    with caplog.at_level(logging.WARNING, "airflow_provider_pseven.client"):
        ClientConfig("http://p7.corp:8080", token="t")
        ClientConfig("http://p7.corp:8080", token="t")
        ClientConfig("http://127.0.0.1:8765", token="t")
        ClientConfig("https://p7.corp", token="t")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "http://p7.corp:8080" in warnings[0] and "require_https" in warnings[0]


def test_require_https_refuses_plain_http_but_not_loopback() -> None:
    with pytest.raises(PsevenConfigError, match=r"plain http.*require_https"):
        ClientConfig("http://p7.corp", token="t", require_https=True)
    assert (
        ClientConfig("http://localhost:8765", token="t", require_https=True).host == "http://localhost:8765"
    )
    assert ClientConfig("p7.corp", token="t", require_https=True).host == "https://p7.corp"
