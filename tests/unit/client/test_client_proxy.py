"""Proxy settings: the connection's ``proxy`` checked and masked, the environment's variables as
requests and httpx read them, and a 407 taken as the proxy's refusal in both drivers.

The real proxy (tinyproxy on loopback) is in tests/integration/test_proxy.py."""

from __future__ import annotations

import pytest
from pseven_client_harness import PSEVEN, Api, Resp

from airflow_provider_pseven.client import ClientConfig, PsevenAuthError, PsevenConfigError
from airflow_provider_pseven.client.errors import PsevenProxyError
from airflow_provider_pseven.client.proxy import checked_proxy, credentials, proxy_for, shown, tunnel_status

PASSWORD = "pr0xy-Pa55"
HOST = "https://pseven.example.com"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable of either case, to start from."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"alice:{PASSWORD}@proxy.corp:3128", r"'\*\*\*@proxy.corp:3128' is not an http:// or https:// URL"),
        (
            "proxy.corp:3128",
            r"'proxy.corp:3128' is not an http:// or https:// URL with a host; write it with",
        ),
        (f"socks5://alice:{PASSWORD}@proxy.corp:1080", r"'socks5://\*\*\*@proxy.corp:1080' is not an http"),
        ("http://proxy.corp:31x8", r"'http://proxy.corp:31x8' has an invalid port"),
        ("http://", "is not an http:// or https:// URL with a host"),
    ],
)
def test_a_bad_proxy_url_is_refused_naming_it_without_its_password(value: str, message: str) -> None:
    with pytest.raises(PsevenConfigError, match=message) as caught:
        ClientConfig(HOST, token="t", proxy=value)
    assert PASSWORD not in str(caught.value)


def test_a_proxy_url_is_kept_trimmed_and_an_empty_one_is_none() -> None:
    assert ClientConfig(HOST, token="t", proxy=" http://proxy.corp:3128 ").proxy == "http://proxy.corp:3128"
    assert ClientConfig(HOST, token="t", proxy="").proxy is None
    assert checked_proxy(None) is None and checked_proxy("HTTPS://proxy.corp") == "HTTPS://proxy.corp"


def test_the_proxys_password_is_a_secret_and_never_in_the_repr() -> None:
    config = ClientConfig(
        HOST, token="tok", proxy=f"http://alice:{PASSWORD.replace('5', '%35')}@proxy.corp:3128"
    )
    assert config.secrets == ("tok", "pr0xy-Pa%35%35", PASSWORD)  # as written and decoded
    assert PASSWORD not in repr(config) and "%35" not in repr(config)
    assert credentials("http://proxy.corp:3128") == () and credentials(None) == ()


def test_shown_hides_any_userinfo() -> None:
    assert shown(f"http://alice:{PASSWORD}@proxy.corp:3128/") == "http://***@proxy.corp:3128/"
    assert shown("http://alice@proxy.corp:3128") == "http://***@proxy.corp:3128"
    assert shown(f"alice:{PASSWORD}@proxy.corp:3128") == "***@proxy.corp:3128"
    assert shown("http://proxy.corp:3128") == "http://proxy.corp:3128"


def test_the_environment_decides_when_the_connection_sets_no_proxy(env: pytest.MonkeyPatch) -> None:
    assert proxy_for(f"{HOST}/x", None) is None
    env.setenv("HTTPS_PROXY", "http://secure.corp:3128")
    env.setenv("HTTP_PROXY", "http://plain.corp:3128")
    assert proxy_for(f"{HOST}/x", None) == "http://secure.corp:3128"
    assert proxy_for("http://pseven.example.com/x", None) == "http://plain.corp:3128"
    env.setenv("https_proxy", "http://lower.corp:3128")  # lower case wins, as in requests and httpx
    assert proxy_for(f"{HOST}/x", None) == "http://lower.corp:3128"


def test_all_proxy_is_the_fallback(env: pytest.MonkeyPatch) -> None:
    env.setenv("ALL_PROXY", "http://all.corp:3128")
    assert proxy_for(f"{HOST}/x", None) == "http://all.corp:3128"


@pytest.mark.parametrize("no_proxy", ["pseven.example.com", ".example.com", "example.com,localhost", "*"])
def test_no_proxy_is_honoured(env: pytest.MonkeyPatch, no_proxy: str) -> None:
    env.setenv("HTTPS_PROXY", "http://secure.corp:3128")
    env.setenv("NO_PROXY", no_proxy)
    assert proxy_for(f"{HOST}/x", None) is None
    assert proxy_for("https://other.org/x", None) == ("http://secure.corp:3128" if no_proxy != "*" else None)


def test_the_connections_proxy_overrides_the_environment_and_no_proxy(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTPS_PROXY", "http://secure.corp:3128")
    env.setenv("NO_PROXY", "pseven.example.com")
    assert proxy_for(f"{HOST}/x", "http://mine.corp:8080") == "http://mine.corp:8080"


def test_the_status_of_a_refused_tunnel_is_read_from_either_library() -> None:
    requests_text = (
        "HTTPSConnectionPool(host='pseven.example.com', port=443): Max retries exceeded with url: / "
        "(Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: "
        "407 Proxy Authentication Required')))"
    )
    assert tunnel_status(requests_text) == "407 Proxy Authentication Required"
    assert tunnel_status("407 Proxy Authentication Required") == "407 Proxy Authentication Required"  # httpx
    assert tunnel_status("Unable to connect to proxy") is None


async def test_a_407_is_the_proxys_refusal_not_the_servers_auth_failure(api: Api) -> None:
    api.route("GET", f"{PSEVEN}workflows/", Resp(status=407, body=b"Proxy Authentication Required"))
    with pytest.raises(
        PsevenProxyError, match=r"asks for credentials \(407 .*the pSeven server was not reached"
    ):
        await api.call("list_workflows")
    assert len(api.sent) == 1  # permanent: not retried


async def test_a_non_json_403_says_a_firewall_or_proxy_may_have_answered(api: Api) -> None:
    refusal = b"Access denied: this network reaches the server only through the proxy"
    api.route(
        "GET", f"{PSEVEN}workflows/", Resp(status=403, body=refusal, headers={"Content-Type": "text/plain"})
    )
    with pytest.raises(PsevenAuthError, match=r"a firewall or proxy may have refused it.*HTTPS_PROXY"):
        await api.call("list_workflows")
