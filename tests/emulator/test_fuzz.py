"""Generated requests against the emulator (issue 22, item 6, the emulator half), with hypothesis.

Requests are built as raw ASGI messages (any method, percent-encoded path bytes, header bytes,
a body in chunks), so that nothing a client library refuses to send is left out: paths and names
with dots, NUL, unicode and control characters; JSON of any shape; multipart bodies with any file
name; ids of a real run and workflow among random ones; foreign Hosts and Origins.

The invariant, for every request: no 5xx (an emulator bug shows as 500 ``Internal error.``), no
internal text in the answer (no traceback, no disk path of the data directory), no file written
outside the emulator's data directory, and an answer within ``CALL_SECONDS``.

Size: ``PSEVEN_FUZZ_EXAMPLES`` examples per test (default 300: about 5 s in all);
``PSEVEN_FUZZ_EXAMPLES=5000`` is the deep run the figures in docs/reliability.md come from.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio
import pytest
import requests
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_pseven.emulator import EmulatorServer

from .conftest import FAST, TOY_ID, deploy

EXAMPLES = int(os.environ.get("PSEVEN_FUZZ_EXAMPLES", "300"))
CALL_SECONDS = 10.0
MAX_BODY = 64 * 1024
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # time is the invariant's CALL_SECONDS, per request
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@dataclass
class Target:
    """One emulator for a whole test: its app, a run in CONFIGURATION, and where it may write."""

    server: EmulatorServer
    app: Any
    portal: BlockingPortal
    run_id: str
    outside: Path
    host: bytes

    def files_outside(self) -> list[Path]:
        data = self.server.data_dir
        return [
            p for p in self.outside.rglob("*") if not (p == data or p in data.parents or data in p.parents)
        ]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    outside = tmp_path_factory.mktemp("fuzz-outside")
    data = outside / "a" / "b" / "data"  # "../" from a run directory lands in ``outside`` first
    with (
        EmulatorServer(time_scale=FAST, data_dir=data, max_upload_bytes=MAX_BODY) as server,
        start_blocking_portal() as portal,
    ):
        run = deploy(server)
        yield Target(
            server, server.asgi_app(), portal, run["id"], outside, f"127.0.0.1:{server.port}".encode()
        )


# --- what a request is made of -------------------------------------------------------------------
NASTY = st.sampled_from(
    [".", "..", "...", "/", "//", "\x00", "\n", "\r", "\t", "\x1b[31m", "%00", "%2e%2e", "~", "\\", " ", "é",
     "\u202e", "\ud800", "\U0001f600", "a" * 300, "\x7f", "?", "#", "@", ":"]
)  # fmt: skip
NAME = st.lists(st.one_of(NASTY, st.text(max_size=12)), max_size=4).map("".join)
METHOD = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "get"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | NAME,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAME, inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["name", "path", "parameters", "value", "file", "destination", "directory", "message", "channel",
     "username", "password", "workspace.name", "workspace.id", "personal", "spec"]
)  # fmt: skip
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)


SEGMENTS = st.sampled_from(
    ["workflows", "runs", "apps", TOY_ID, "upload", "download", "ls", "run", "interrupt", "message_push",
     "message_pop", "auth", "login", "faults", "reset", "variants", "timing", "requests", "health"]
)  # fmt: skip
PREFIXES = st.sampled_from(["/pseven/.rest/v2/", "/appshub/.rest/v2/", "/_emulator/", "/", "/login/"])


@st.composite
def paths(draw: st.DrawFn, run_id: str) -> str:
    parts = draw(st.lists(st.one_of(SEGMENTS, st.just(run_id), NAME), max_size=6))
    return draw(PREFIXES) + "/".join(parts) + draw(st.sampled_from(["/", "", "//"]))


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str) -> bytes:
    out = b""
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode("utf-8", "surrogatepass")
        out += data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str | None, bytes]:
    kind = draw(st.sampled_from(["none", "json", "form", "multipart", "raw", "big"]))
    if kind == "json":
        text = json.dumps(draw(JSON | st.dictionaries(FIELDS, JSON, max_size=5)), allow_nan=True)
        return "application/json", text.encode("utf-8", "surrogatepass")
    if kind == "form":
        items = draw(st.lists(st.tuples(FIELDS, NAME), max_size=5))
        text = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in items)
        return "application/x-www-form-urlencoded", text.encode()
    if kind == "multipart":
        parts = draw(st.lists(st.tuples(FIELDS, st.none() | NAME, st.binary(max_size=64)), max_size=5))
        return "multipart/form-data; boundary=fuzzb", _multipart(parts, "fuzzb")
    if kind == "raw":
        ctype = draw(st.none() | st.sampled_from(["text/plain", "application/json", "multipart/form-data"]))
        return ctype, draw(st.binary(max_size=256))
    if kind == "big":
        return "application/octet-stream", b"B" * draw(st.integers(MAX_BODY - 16, MAX_BODY * 2))
    return None, b""


@st.composite
def requests_(draw: st.DrawFn, target: Target) -> dict[str, Any]:
    path = draw(paths(target.run_id))
    query = draw(st.lists(st.tuples(st.sampled_from(["file", "directory", "name", "x"]), NAME), max_size=2))
    ctype, body = draw(bodies())
    headers = [(b"host", draw(st.just(target.host) | HEADER_TEXT.map(lambda t: t.encode("latin-1"))))]
    token = draw(st.sampled_from([target.server.token, "wrong", None]))
    if token is not None:
        headers.append((b"authorization", f"Token {token}".encode()))
    if ctype is not None:
        headers.append((b"content-type", ctype.encode()))
    if draw(st.booleans()):
        headers.append((b"content-length", str(len(body)).encode()))
    for name in draw(
        st.lists(st.sampled_from([b"origin", b"sec-fetch-site", b"sec-fetch-mode", b"x-any"]), max_size=2)
    ):
        headers.append((name, draw(HEADER_TEXT).encode("latin-1")))
    raw_path = quote(path.encode("utf-8", "surrogatepass"), safe="/:@!$&'()*+,;=-._~")
    return {
        "method": draw(METHOD),
        "raw_path": raw_path.encode("ascii"),
        "path": unquote(raw_path),  # as uvicorn decodes it
        "query_string": "&".join(
            f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in query
        ).encode(),
        "headers": headers,
        "body": body,
        "chunk": draw(st.integers(1, 1 << 16)),
    }


# --- one request, as uvicorn would hand it over ----------------------------------------------------
async def _call(app: Any, request: dict[str, Any]) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
        "method": request["method"], "path": request["path"], "raw_path": request["raw_path"],
        "query_string": request["query_string"], "headers": request["headers"], "root_path": "",
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    body, chunk = request["body"], request["chunk"]
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    status, answer = 0, bytearray()

    async def receive() -> dict[str, Any]:
        if pieces:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        await anyio.sleep_forever()  # the client waits for its answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            answer.extend(message.get("body", b""))

    with anyio.fail_after(CALL_SECONDS):
        await app(scope, receive, send)
    return status, bytes(answer)


def _check(target: Target, request: dict[str, Any]) -> None:
    started = time.monotonic()
    status, answer = target.portal.call(_call, target.app, request)
    took = time.monotonic() - started
    where = f"{request['method']} {request['raw_path']!r}?{request['query_string']!r}"
    assert status and status < 500, f"{where}: {status} {answer[:300]!r}"
    assert b"Traceback" not in answer and str(target.server.data_dir).encode() not in answer, (
        where,
        answer[:300],
    )
    assert took < CALL_SECONDS, (where, took)
    assert not target.files_outside(), (where, target.files_outside())


@FUZZ
@given(data=st.data())
def test_generated_requests_keep_the_invariant(target: Target, data: st.DataObject) -> None:
    _check(target, data.draw(requests_(target)))


@FUZZ
@given(name=NAME, field=st.sampled_from(["file", "directory", "destination"]), content=st.binary(max_size=32))
def test_generated_names_stay_in_the_run_directory(
    target: Target, name: str, field: str, content: bytes
) -> None:
    """Uploads, listings and downloads under any name: inside the run directory, or a 400."""
    run = target.server.world.runs[target.run_id]
    base = f"/pseven/.rest/v2/workflows/{TOY_ID}/runs/{target.run_id}/"
    parts = (
        [("file", name, content)]
        if field == "file"
        else [(field, None, name.encode("utf-8", "surrogatepass"))]
    )
    if field == "destination":
        parts.append(("file", "f.txt", content))
    common = {
        "method": "POST",
        "headers": [(b"host", target.host), (b"authorization", f"Token {target.server.token}".encode())],
    }
    upload = {
        **common,
        "raw_path": (base + "upload/").encode(),
        "path": base + "upload/",
        "query_string": b"",
        "chunk": 1 << 16,
    }
    upload["headers"] = [*upload["headers"], (b"content-type", b"multipart/form-data; boundary=fuzzb")]
    upload["body"] = _multipart(parts, "fuzzb")  # type: ignore[arg-type]
    _check(target, upload)
    query = f"file={quote(name.encode('utf-8', 'surrogatepass'))}".encode()
    for endpoint, q in (("download/", query), ("ls/", b"directory" + query[4:])):
        _check(target, {**common, "method": "GET", "raw_path": (base + endpoint).encode(), "path": base + endpoint,
                        "query_string": q, "body": b"", "chunk": 1})  # fmt: skip
    assert run.dir.is_dir()


def test_the_fuzz_target_answers_like_the_real_server(target: Target) -> None:
    """The raw ASGI calls reach the same app as loopback HTTP does (a check of the harness itself)."""
    path = f"/pseven/.rest/v2/workflows/{TOY_ID}/runs/{target.run_id}/"
    request = {"method": "GET", "raw_path": path.encode(), "path": path, "query_string": b"", "body": b"",
               "chunk": 1, "headers": [(b"host", target.host), (b"authorization", f"Token {target.server.token}".encode())]}  # fmt: skip
    status, answer = target.portal.call(_call, target.app, request)
    over_http = requests.get(target.server.url + path, headers=target.server.auth_header)
    assert status == over_http.status_code == 200
    assert json.loads(answer)["id"] == over_http.json()["id"] == target.run_id
