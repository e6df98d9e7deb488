"""A small harness running the same test against the sync client (requests-mock) and the async one (respx).

Routes are registered once, in one neutral form (:class:`Resp`), and served by whichever mock library
the driver under test needs; every request either client sends is recorded as a :class:`Sent`.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import email.utils
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import requests
import requests_mock
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, PsevenClient
from airflow_provider_pseven.client.calls import Op
from tests.support.api_json import APP_ID, P1_ID, P2_ID, RUN_ID, SECRET_ID, WF_ID, ApiJson, param_json
from tests.support.clock import FakeClock

HOST = "https://p7.example.com"
TOKEN = "tok-SECRET-123"
USERNAME = "user@work.org"
PASSWORD = "pw-SECRET-456"
PSEVEN = f"{HOST}/pseven/.rest/v2/"
APPSHUB = f"{HOST}/appshub/.rest/v2/"
RUN_URL = f"{PSEVEN}workflows/{WF_ID}/runs/{RUN_ID}/"
APP_RUN_URL = f"{APPSHUB}apps/{APP_ID}/runs/{RUN_ID}/"


# --- JSON the server answers with -----------------------------------------------------------------


API = ApiJson(HOST)
workflow_json = API.workflow
app_json = API.app


def params_json(secret: Any = "") -> list[dict[str, Any]]:
    """The guide's three parameters; the Secret reads ``""`` (set) by default."""
    return [
        param_json(P1_ID, "MyFirstParameter", "string_value", vtype="String", labels={"type": "string"}),
        param_json(P2_ID, "MySecondParameter", 42, vtype="Real", labels={"type": "integer, real, string"}),
        param_json(SECRET_ID, "MySecret", secret, vtype="Secret", labels={"note": "hidden"}),
    ]


def run_json(state: str = "CONFIGURATION", **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "toy_run")
    return API.run(state, **fields)


# --- what the mock answers ------------------------------------------------------------------------


@dataclass
class Resp:
    """One canned answer (or failure) of the fake server."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Fail instead of answering: "connect", "connect_timeout", "read_timeout", "reset".
    error: str | None = None
    #: Send ``body`` and then break the connection off in the middle of the answer.
    broken: bool = False
    #: Real seconds the server takes to answer (only to widen a race window; keep it tiny).
    delay: float = 0.0

    def content(self) -> bytes:
        if self.json is not None:
            return json.dumps(self.json).encode()
        return self.body or b""

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.json is not None:
            headers.setdefault("Content-Type", "application/json")
        return headers


def ok(data: Any = None, status: int = 200, **headers: str) -> Resp:
    return Resp(status=status, json=data, headers=dict(headers))


def detail(status: int, text: str, **headers: str) -> Resp:
    return Resp(
        status=status, json={"detail": text}, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def html(status: int = 200, text: str = "<!DOCTYPE html><html><body>Sign in to pSeven</body></html>") -> Resp:
    return Resp(status=status, body=text.encode(), headers={"Content-Type": "text/html; charset=utf-8"})


def empty(status: int = 204) -> Resp:
    return Resp(status=status)


def fail(kind: str) -> Resp:
    return Resp(error=kind)


@dataclass
class Sent:
    """A request as it left the client."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def base_url(self) -> str:
        return self.url.split("?", 1)[0]

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def raw_query(self) -> str:
        return urlsplit(self.url).query

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str | None, bytes]]:
        """A multipart body as ``(field name, file name, bytes)`` parts, in order."""
        return parse_multipart(self.headers["content-type"], self.body)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """Parts as a Django-like server reads them: a later ``filename*`` overrides ``filename``."""
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert message.is_multipart(), "not a multipart body"
    parts = []
    for part in message.get_payload():
        params = dict(part.get_params(header="content-disposition") or [])
        filename = params.get("filename")
        name = params.get("name")
        parts.append(
            (
                str(email.utils.collapse_rfc2231_value(name)),
                None if filename is None else str(email.utils.collapse_rfc2231_value(filename)),
                part.get_payload(decode=True),
            )
        )
    return parts


class _BrokenReader(io.RawIOBase):
    """A socket that delivers some bytes and then breaks (as urllib3 sees it)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes | None:
        """http.client's answers have it; the client reads bodies with it (a piece as it comes)."""
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        if self._data:
            count = min(len(buffer), len(self._data))
            buffer[:count] = self._data[:count]
            self._data = self._data[count:]
            return count
        raise ProtocolError("Connection broken: IncompleteRead")


class _BrokenStream(httpx.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._data:
            yield self._data
        raise httpx.ReadError("peer closed connection without sending complete message body")


def _sync_error(kind: str, url: str) -> Exception:
    if kind == "connect":
        return requests.ConnectionError(
            MaxRetryError(None, url, NewConnectionError(None, "Connection refused"))
        )
    if kind == "connect_timeout":
        return requests.ConnectTimeout("connect timed out")
    if kind == "read_timeout":
        return requests.ReadTimeout("read timed out")
    if kind == "reset":
        return requests.ConnectionError(
            ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
        )
    raise ValueError(kind)


def _async_error(kind: str) -> Exception:
    if kind == "connect":
        return httpx.ConnectError("Connection refused")
    if kind == "connect_timeout":
        return httpx.ConnectTimeout("connect timed out")
    if kind == "read_timeout":
        return httpx.ReadTimeout("read timed out")
    if kind == "reset":
        return httpx.RemoteProtocolError("Server disconnected without sending a response.")
    raise ValueError(kind)


# --- the harness ----------------------------------------------------------------------------------


class Api:
    """One test's view of a client (sync or async) and of the fake server behind it."""

    def __init__(self, mode: str, clock: FakeClock) -> None:
        self.mode = mode
        self.clock = clock
        self.routes: dict[tuple[str, str], list[Resp]] = {}
        self.sent: list[Sent] = []
        self.sleeps: list[float] = []
        self._clients: list[Any] = []
        self._client: Any = None

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    # -- the fake server --

    def route(self, method: str, url: str, *responses: Resp) -> None:
        """Answer ``method url`` (query ignored) with ``responses`` in turn, the last one repeated."""
        assert responses, "give at least one response"
        self.routes[(method, url)] = list(responses)

    def _next(self, method: str, url: str) -> Resp:
        base = url.split("?", 1)[0]
        queue = self.routes.get((method, base))
        if not queue:
            raise AssertionError(f"unexpected request {method} {url}")
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def calls_to(self, method: str, url: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.base_url == url]

    def sync_matcher(self, request: Any) -> Any:
        body = request.body
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = b"".join(body)
        self.sent.append(
            Sent(request.method, request.url, {k.lower(): v for k, v in request.headers.items()}, data)
        )
        resp = self._next(request.method, request.url)
        if resp.delay:
            time.sleep(resp.delay)
        if resp.error:
            raise _sync_error(resp.error, request.url)
        if resp.broken:
            return requests_mock.create_response(
                request,
                status_code=resp.status,
                headers=resp.all_headers(),
                body=_BrokenReader(resp.content()),
            )
        return requests_mock.create_response(
            request, status_code=resp.status, headers=resp.all_headers(), content=resp.content()
        )

    async def async_side_effect(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # a real suspension point, as a network round trip would be
        url = str(request.url)
        self.sent.append(
            Sent(request.method, url, {k.lower(): v for k, v in request.headers.items()}, request.content)
        )
        resp = self._next(request.method, url)
        if resp.delay:
            await asyncio.sleep(resp.delay)
        if resp.error:
            raise _async_error(resp.error)
        if resp.broken:
            return httpx.Response(
                resp.status, headers=resp.all_headers(), stream=_BrokenStream(resp.content())
            )
        return httpx.Response(resp.status, headers=resp.all_headers(), content=resp.content())

    # -- the client --

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.sleep(seconds)

    async def _async_sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def config(self, **overrides: Any) -> ClientConfig:
        kwargs: dict[str, Any] = {"host": HOST, "token": TOKEN, "api_path": ".rest"}
        kwargs.update(overrides)
        return ClientConfig(**kwargs)

    def make_client(self, **overrides: Any) -> Any:
        config = self.config(**overrides)
        client: Any
        if self.is_async:
            client = AsyncPsevenClient(config, sleep=self._async_sleep, clock=self.clock.time)
        else:
            client = PsevenClient(config, sleep=self._sleep, clock=self.clock.time)
        self._clients.append(client)
        return client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.make_client()
        return self._client

    async def call(self, method: str, *args: Any, client: Any = None, **kwargs: Any) -> Any:
        """Call a client method by name; await it for the async client."""
        result = getattr(client or self.client, method)(*args, **kwargs)
        if self.is_async:
            result = await result
        return result

    async def run(self, op: Op[Any], client: Any = None) -> Any:
        result = (client or self.client).run(op)
        if self.is_async:
            result = await result
        return result

    async def close(self) -> None:
        for client in self._clients:
            if self.is_async:
                await client.aclose()
            else:
                client.close()
