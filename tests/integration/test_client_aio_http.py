"""The async client over httpx's own transport and real sockets: the emulator on loopback, a TLS
server with a throwaway CA, and raw servers that misbehave on purpose. (Until issue 21 the client
brought its own asyncio network layer; these tests checked it and now check httpx's in its place.)"""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from airflow_provider_pseven.client import (
    AsyncPsevenClient,
    ClientConfig,
    FileSink,
    PsevenConfigError,
    PsevenTransportError,
    RetryPolicy,
    RunKind,
    RunRef,
    RunState,
)
from tests.support.certificates import certificates

pytestmark = pytest.mark.integration

TOY_ID = "130d943e100e46e0b5da490ac005b70e"


def _client(url: str, token: str, **config: object) -> AsyncPsevenClient:
    config.setdefault("retry", RetryPolicy(attempts=1))
    return AsyncPsevenClient(ClientConfig(url, token=token, api_path=".rest", **config))  # type: ignore[arg-type]


async def test_a_client_given_its_own_httpx_client_uses_it():
    async with httpx.AsyncClient() as http:
        client = AsyncPsevenClient(ClientConfig("http://pseven.test", token="t0ken-abc"), http=http)
        assert client.http is http


async def test_concurrent_and_repeated_requests_share_one_client(pseven_emulator):
    async with _client(pseven_emulator.url, pseven_emulator.token) as client:
        workflows = await asyncio.gather(*(client.list_workflows() for _ in range(3)))
        for _ in range(5):
            await client.list_workflows()
    assert all(len(w) == len(workflows[0]) for w in workflows)


async def test_a_burst_goes_through_at_most_max_connections_lanes(pseven_emulator):
    config = ClientConfig(pseven_emulator.url, token=pseven_emulator.token, api_path=".rest")
    async with AsyncPsevenClient(config, max_connections=3) as client:
        workflows = await asyncio.gather(*(client.list_workflows() for _ in range(20)))
        assert client.lanes.built == 3
        for _ in range(5):
            await client.list_workflows()
        assert client.lanes.built == 3
    assert all(len(w) == len(workflows[0]) for w in workflows)


async def test_a_large_download_arrives_whole(pseven_emulator, tmp_path):
    payload = bytes(range(256)) * (12 * 1024 * 4)  # 12 MiB
    async with _client(pseven_emulator.url, pseven_emulator.token) as client:
        run = await client.deploy_run(RunKind.WORKFLOW, TOY_ID)
        ref = RunRef.workflow(TOY_ID, run.id)
        await client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.05)
        source = tmp_path / "big.bin"
        source.write_bytes(payload)
        await client.upload(ref, [(str(source), "big.bin")])
        await client.download(ref, "big.bin", FileSink(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == payload


async def test_a_stalled_answer_is_a_timeout_that_may_have_acted(pseven_emulator):
    pseven_emulator.faults.set(stall_fraction=1.0, stall_seconds=3.0, paths=["/workflows/$"])
    async with _client(pseven_emulator.url, pseven_emulator.token, timeout=0.5) as client:
        with pytest.raises(PsevenTransportError, match=r"no answer within 0.5 s") as caught:
            await client.list_workflows()
    assert caught.value.sent is True


async def test_a_dropped_connection_is_a_transport_error(pseven_emulator):
    pseven_emulator.faults.set(drop_fraction=1.0, paths=["/workflows/$"])
    async with _client(pseven_emulator.url, pseven_emulator.token) as client:
        with pytest.raises(PsevenTransportError, match="connection dropped"):
            await client.list_workflows()


async def test_a_refused_connection_was_never_sent(unused_tcp_port):
    async with _client(f"http://127.0.0.1:{unused_tcp_port}", "t0ken-abc") as client:
        with pytest.raises(PsevenTransportError, match="cannot connect") as caught:
            await client.list_workflows()
    assert caught.value.sent is False


async def test_a_server_that_closes_an_idle_connection_is_not_reused():
    """The server answers one request per connection and closes it (no Connection: close header):
    the next request must open a new connection instead of failing on the dead one."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, _client(f"http://127.0.0.1:{port}", "t0ken-abc") as client:
        assert await client.list_workflows() == []
        await asyncio.sleep(0.05)  # the close reaches the client's buffer: "readable" while idle
        assert await client.list_workflows() == []
    assert connections == 2


async def test_a_read_that_never_comes_times_out():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        await asyncio.sleep(5)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, _client(f"http://127.0.0.1:{port}", "t0ken-abc", timeout=0.3) as client:
        with pytest.raises(PsevenTransportError, match=r"no answer within 0.3 s"):
            await client.list_workflows()


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture
async def tls_server(tmp_path):
    ca, cert, key = certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                body = b'[{"id": "wf1", "name": "Toy", "path": "/Users/1/Toy.p7wf", "url": ""}]'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    async with server:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}", ca, connections


async def test_tls_with_the_servers_ca_works_over_one_connection(tls_server):
    url, ca, connections = tls_server
    async with _client(url, "t0ken-abc", verify=str(ca)) as client:
        first = await client.list_workflows()
        second = await client.list_workflows()
        assert [w.name for w in first] == [w.name for w in second] == ["Toy"]
    assert len(connections) == 1


async def test_tls_is_verified_by_default(tls_server):
    url, _, _ = tls_server
    async with _client(url, "t0ken-abc") as client:
        with pytest.raises(
            PsevenConfigError, match=r"TLS verification of .* failed; set the connection's ca_bundle"
        ):
            await client.list_workflows()
