"""Both clients behind a real forward proxy (tinyproxy on loopback, tests/support/forward_proxy.py)
and an emulator that serves only that proxy's connections (variant ``access=proxy_only``).

The whole integration suite's ``strictest`` runs go through the proxy by the environment (see
tests/conftest.py); here: the connection's ``proxy`` extra against the environment, ``NO_PROXY``,
HTTPS through ``CONNECT`` with the connection's ``ca_bundle``, and the failures a user can meet
(no proxy, a proxy URL without a scheme, an unreachable proxy, a proxy that wants credentials).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_pseven.client import (
    AsyncPsevenClient,
    ClientConfig,
    PsevenAuthError,
    PsevenClient,
    PsevenConfigError,
    PsevenTransportError,
    RetryPolicy,
    RunKind,
    RunRef,
    RunState,
)
from airflow_provider_pseven.client.errors import PsevenProxyError
from tests.conftest import use_proxy
from tests.support.certificates import certificates
from tests.support.forward_proxy import ForwardProxy

pytestmark = pytest.mark.integration

TOY_ID = "130d943e100e46e0b5da490ac005b70e"
PROXY_PASSWORD = "pr0xy-Pa55-w0rd"
DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])


def _config(server: Any, **settings: Any) -> ClientConfig:
    settings.setdefault("retry", RetryPolicy(attempts=1))
    return ClientConfig(server.url, token=server.token, api_path=".rest", **settings)


def _run(driver: str, config: ClientConfig, work: Callable[[Any], Any]) -> Any:
    """``work(client)`` with a client of that driver (an awaitable for ``async``)."""
    if driver == "sync":
        with PsevenClient(config) as client:
            return work(client)

    async def run_async() -> Any:
        async with AsyncPsevenClient(config) as client:
            return await work(client)

    return asyncio.run(run_async())


def _cycle(driver: str, config: ClientConfig) -> RunState:
    """Deploy a run, wait for CONFIGURATION, start it, wait for FINISHED, delete it."""

    if driver == "sync":

        def work(client: PsevenClient) -> RunState:
            run = client.deploy_run(RunKind.WORKFLOW, TOY_ID)
            ref = RunRef.workflow(TOY_ID, run.id)
            client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.05)
            client.start_run(ref)
            state = client.wait_for_run(ref, [RunState.FINISHED], interval=0.05).state
            client.delete_run(ref)
            return state

        return _run(driver, config, work)

    async def awork(client: AsyncPsevenClient) -> RunState:
        run = await client.deploy_run(RunKind.WORKFLOW, TOY_ID)
        ref = RunRef.workflow(TOY_ID, run.id)
        await client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.05)
        await client.start_run(ref)
        state = (await client.wait_for_run(ref, [RunState.FINISHED], interval=0.05)).state
        await client.delete_run(ref)
        return state

    return _run(driver, config, awork)


def _list(client: Any) -> Any:
    return client.list_workflows()


@pytest.fixture
def proxy_only(pseven_emulator_factory):  # type: ignore[no-untyped-def]
    """An emulator that serves only the proxy's connections; the factory sets HTTP(S)_PROXY."""
    return pseven_emulator_factory(variants="guide,access=proxy_only")


@pytest.fixture
def dead_proxy(unused_tcp_port: int) -> str:
    """A proxy URL with credentials at a loopback port where nothing listens."""
    return f"http://alice:{PROXY_PASSWORD}@127.0.0.1:{unused_tcp_port}"


@DRIVERS
def test_the_whole_cycle_goes_through_the_environments_proxy(driver, proxy_only):
    assert _cycle(driver, _config(proxy_only)) == RunState.FINISHED


@DRIVERS
def test_a_direct_connection_is_refused_with_a_clear_error(driver, proxy_only, monkeypatch):
    use_proxy(monkeypatch, None)
    with pytest.raises(
        PsevenAuthError, match=r"reachable only through its proxy.*set the connection.s proxy or HTTPS_PROXY"
    ):
        _run(driver, _config(proxy_only), _list)


@DRIVERS
def test_the_connections_proxy_overrides_the_environment(
    driver, proxy_only, forward_proxy, dead_proxy, monkeypatch
):
    use_proxy(monkeypatch, dead_proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the extra applies to every request, NO_PROXY too
    assert _run(driver, _config(proxy_only, proxy=forward_proxy.address), _list)


@DRIVERS
def test_no_proxy_is_honoured(driver, pseven_emulator_factory, dead_proxy, monkeypatch):
    server = pseven_emulator_factory(variants="guide")
    use_proxy(monkeypatch, dead_proxy)
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert _cycle(driver, _config(server)) == RunState.FINISHED


@DRIVERS
def test_an_unreachable_proxy_is_named_without_its_password(driver, proxy_only, dead_proxy):
    with pytest.raises(PsevenTransportError) as caught:
        _run(driver, _config(proxy_only, proxy=dead_proxy), _list)
    message = str(caught.value)
    assert "cannot connect" in message and "through the proxy http://***@127.0.0.1:" in message
    assert caught.value.sent is False
    assert PROXY_PASSWORD not in message and "alice" not in message


def test_a_proxy_url_without_a_scheme_is_refused_naming_it(proxy_only):
    with pytest.raises(
        PsevenConfigError, match=r"proxy '\*\*\*@proxy.corp:3128' is not an http:// or https:// URL"
    ) as caught:
        _config(proxy_only, proxy=f"alice:{PROXY_PASSWORD}@proxy.corp:3128")
    assert PROXY_PASSWORD not in str(caught.value)


@pytest.fixture(scope="module")
def locked_proxy(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A proxy that wants credentials (407 without them)."""
    with ForwardProxy(
        tmp_path_factory.mktemp("locked-proxy"), credentials=("alice", PROXY_PASSWORD)
    ) as proxy:
        yield proxy


@pytest.fixture
def tls_proxy_only(pseven_emulator_factory, tmp_path):  # type: ignore[no-untyped-def]
    """The emulator over HTTPS with a private CA's certificate, served only to the proxy: (server, CA file)."""
    ca, cert, key = certificates(tmp_path)
    return pseven_emulator_factory(variants="guide,access=proxy_only", tls=(cert, key)), str(ca)


@DRIVERS
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_proxy_that_wants_credentials_is_not_the_servers_auth_failure(
    driver, tls, proxy_only, tls_proxy_only, locked_proxy
):
    server, verify = tls_proxy_only if tls else (proxy_only, True)
    bare = _config(server, proxy=locked_proxy.address, verify=verify)
    with pytest.raises(
        PsevenProxyError, match=r"The proxy http://127.0.0.1:\d+ asks for credentials \(407"
    ) as caught:
        _run(driver, bare, _list)
    assert not isinstance(caught.value, PsevenAuthError)
    assert _run(driver, _config(server, proxy=locked_proxy.url, verify=verify), _list)
    assert PROXY_PASSWORD in _config(server, proxy=locked_proxy.url).secrets


@DRIVERS
def test_https_through_connect_with_the_connections_ca_bundle(driver, tls_proxy_only, forward_proxy):
    server, ca = tls_proxy_only
    assert server.url.startswith("https://")
    assert _cycle(driver, _config(server, verify=ca)) == RunState.FINISHED  # HTTPS_PROXY from the factory
    assert _cycle(driver, _config(server, verify=ca, proxy=forward_proxy.address)) == RunState.FINISHED
    with pytest.raises(PsevenConfigError, match=r"TLS verification of .* failed"):
        _run(driver, _config(server), _list)  # the system's CAs do not know the private one
