"""The async client's transport and asyncio network layer over real sockets: the emulator on
loopback, a TLS server with a throwaway CA, and raw servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import httpcore
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
    aio_network,
)
from airflow_provider_pseven.client.aio_network import AsyncioBackend
from airflow_provider_pseven.client.aio_transport import AsyncioTransport

pytestmark = pytest.mark.integration

TOY_ID = "130d943e100e46e0b5da490ac005b70e"


def _client(url: str, token: str, **config: object) -> AsyncPsevenClient:
    config.setdefault("retry", RetryPolicy(attempts=1))
    return AsyncPsevenClient(ClientConfig(url, token=token, api_path=".rest", **config))  # type: ignore[arg-type]


async def test_the_client_runs_on_the_asyncio_backend_through_its_transport(pseven_emulator):
    async with _client(pseven_emulator.url, pseven_emulator.token) as client:
        assert client.transport is not None
        assert isinstance(client.transport.backend, AsyncioBackend)
        await client.list_workflows()
        assert len(client.transport.pool.connections) == 1  # the request went through its pool


async def test_a_client_given_its_own_httpx_client_uses_it():
    async with httpx.AsyncClient() as http:
        client = AsyncPsevenClient(ClientConfig("http://pseven.test", token="t0ken-abc"), http=http)
        assert client.http is http and client.transport is None


async def test_requests_reuse_one_kept_alive_connection(pseven_emulator):
    async with _client(pseven_emulator.url, pseven_emulator.token) as client:
        workflows = await asyncio.gather(*(client.list_workflows() for _ in range(3)))
        for _ in range(5):
            await client.list_workflows()
        assert client.transport is not None
        assert len(client.transport.pool.connections) <= 3
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


class _Transport:
    def __init__(self) -> None:
        self.paused = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


async def test_reading_pauses_while_too_much_is_buffered_and_reads_split_pieces():
    connection = aio_network._Connection(asyncio.get_running_loop())
    transport = _Transport()
    connection.transport = transport  # type: ignore[assignment]
    block = bytes(range(256)) * 1024  # 256 KiB
    for _ in range(4):
        connection.data_received(block)
    assert not transport.paused  # 1 MiB: at the mark, not over it
    connection.data_received(b"xyz")
    assert transport.paused
    pieces = []
    while connection.buffered > aio_network._HIGH_WATER // 2:
        pieces.append(connection.take(64 * 1024))
    assert not transport.paused  # drained to half: reading again
    assert len(pieces) == 9 and all(len(piece) == 64 * 1024 for piece in pieces)
    while connection.chunks:
        pieces.append(connection.take(10**9))
    assert b"".join(pieces) == block * 4 + b"xyz"
    assert connection.buffered == 0
    connection.data_received(block)
    assert connection.take(10**9) is block  # a whole received piece comes back as it is, no copy


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
    transport = AsyncioTransport(verify=False, limits=httpx.Limits(max_connections=1))
    async with server, httpx.AsyncClient(transport=transport, timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_cancelling_a_read_is_not_a_timeout():
    backend = AsyncioBackend()
    server = await asyncio.start_server(lambda r, w: asyncio.sleep(5), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        task = asyncio.ensure_future(stream.read(10, timeout=10))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await stream.aclose()


# --- TLS ------------------------------------------------------------------------------------------


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 it signed: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pseven test CA")])

    def signed_by_ca(
        subject: x509.Name, key: ec.EllipticCurvePrivateKey, *extensions: Any
    ) -> x509.Certificate:
        """A certificate for ``key``, valid for the next hour, signed by the CA; ``extensions`` are
        (extension, critical) pairs."""
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(ca_key, hashes.SHA256())

    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    ca = signed_by_ca(
        ca_name,
        ca_key,
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (usage, True),
        (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = signed_by_ca(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
        key,
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
async def tls_server(tmp_path):
    ca, cert, key = _certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}", ca


async def test_tls_with_the_servers_ca_works_over_one_connection(tls_server):
    url, ca = tls_server
    async with _client(url, "t0ken-abc", verify=str(ca)) as client:
        first = await client.list_workflows()
        second = await client.list_workflows()
        assert [w.name for w in first] == [w.name for w in second] == ["Toy"]
        assert client.transport is not None
        assert len(client.transport.pool.connections) == 1


async def test_tls_is_verified_by_default(tls_server):
    url, _ = tls_server
    async with _client(url, "t0ken-abc") as client:
        with pytest.raises(
            PsevenConfigError, match=r"TLS verification of .* failed; set the connection's ca_bundle"
        ):
            await client.list_workflows()


async def test_a_failed_handshake_is_a_connect_error():
    backend = AsyncioBackend()

    async def not_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(not_tls, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ConnectError):
            await stream.start_tls(ssl.create_default_context(), server_hostname="127.0.0.1", timeout=5)


async def test_a_connection_that_never_opens_is_a_connect_timeout(monkeypatch):
    loop = asyncio.get_running_loop()

    async def never(*args: object, **kwargs: object) -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(loop, "create_connection", never)
    with pytest.raises(httpcore.ConnectTimeout, match=r"no connection to 192.0.2.1:443 within 0.1 s"):
        await AsyncioBackend().connect_tcp("192.0.2.1", 443, timeout=0.1)
