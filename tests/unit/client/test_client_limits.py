"""The client is bounded against a bad server: a size cap for non-streamed answers and a deadline
per call on top of the read timeout, in both drivers, against real sockets (a server that trickles
bytes cannot be faked with a mock library)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from airflow_provider_pseven.client import (
    AsyncPsevenClient,
    ClientConfig,
    PsevenBadAnswerError,
    PsevenClient,
    PsevenConfigError,
    PsevenTransportError,
    RetryPolicy,
)


class RawServer:
    """Answers every connection with ``head``, then ``body`` one piece every ``pace`` seconds."""

    def __init__(self, head: bytes, body: list[bytes], pace: float = 0.0) -> None:
        self.head, self.body, self.pace = head, body, pace
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(self.head)
                for piece in self.body:
                    if self.stop.is_set():
                        return
                    conn.sendall(piece)
                    time.sleep(self.pace)
            except OSError:
                return


@pytest.fixture
def serve() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for server in servers:
        server.stop.set()
        server.sock.close()


def config(url: str, **kwargs: object) -> ClientConfig:
    return ClientConfig(
        url,
        token="t",
        api_path=".rest",
        retry=RetryPolicy(attempts=1),
        **kwargs,  # type: ignore[arg-type]
    )


def both(url: str, what: type[Exception], **kwargs: object) -> list[tuple[Exception, float]]:
    """The error each driver raises for ``list_workflows``, and how long it took."""
    outcomes = []
    started = time.monotonic()
    with PsevenClient(config(url, **kwargs)) as client, pytest.raises(what) as sync_info:
        client.list_workflows()
    outcomes.append((sync_info.value, time.monotonic() - started))

    async def run() -> None:
        async with AsyncPsevenClient(config(url, **kwargs)) as client:
            with pytest.raises(what) as info:
                await client.list_workflows()
            outcomes.append((info.value, time.monotonic() - begun))

    begun = time.monotonic()
    asyncio.run(run())
    return outcomes


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[",
        # The read timeout bounds each read, not the head: a header line a byte at a time held a call.
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ",
    ],
    ids=["body", "headers"],
)
def test_a_trickling_server_is_cut_off_at_the_deadline(serve: list[RawServer], head: bytes) -> None:
    serve.append(RawServer(head, [b" "] * 1000, pace=0.05))
    for error, took in both(serve[0].url, PsevenTransportError, deadline=0.6, timeout=5):
        assert "deadline of 0.6 s" in str(error)
        assert took < 2.5


def test_an_answer_over_the_size_cap_is_refused_by_its_length(serve: list[RawServer]) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    serve.append(RawServer(head, [b"[" + b" " * 4998 + b"]"]))
    for error, _ in both(serve[0].url, PsevenBadAnswerError, max_body_bytes=1000):
        assert isinstance(error, PsevenBadAnswerError)
        assert error.status == 200 and "limit of 1000 bytes" in str(error)


def test_a_chunked_answer_over_the_size_cap_is_cut_off_while_read(serve: list[RawServer]) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"400\r\n" + b" " * 1024 + b"\r\n"
    serve.append(RawServer(head, [chunk] * 100 + [b"0\r\n\r\n"]))
    for error, _ in both(serve[0].url, PsevenBadAnswerError, max_body_bytes=10_000):
        assert "limit of 10000 bytes" in str(error)


def test_an_answer_within_the_limits_is_read(serve: list[RawServer]) -> None:
    body = b'[{"id": "w", "name": "n", "path": "/p", "url": "u"}]'
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    serve.append(RawServer(head, [body[:10], body[10:]], pace=0.05))
    with PsevenClient(config(serve[0].url, deadline=5, max_body_bytes=len(body))) as client:
        assert [w.name for w in client.list_workflows()] == ["n"]


@pytest.mark.parametrize("field", ["deadline", "max_body_bytes"])
@pytest.mark.parametrize("value", [0, -1, "10"])
def test_limits_must_be_positive_numbers(field: str, value: object) -> None:
    with pytest.raises(PsevenConfigError, match=field):
        config("http://127.0.0.1:1", **{field: value})
