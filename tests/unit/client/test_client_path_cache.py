"""The API path cache: one detection per server and connection, shared by clients and processes."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pseven_client_harness import (
    HOST,
    PASSWORD,
    TOKEN,
    USERNAME,
    WF_ID,
    Api,
    Resp,
    detail,
    html,
    ok,
    workflow_json,
)

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, PsevenClient, PsevenNotFoundError
from airflow_provider_pseven.client import path_cache as path_cache_module
from airflow_provider_pseven.client.path_cache import DEFAULT_TTL, ApiPathCache, default_cache

AT_REST = f"{HOST}/pseven/@rest/v2/"
DOT_REST = f"{HOST}/pseven/.rest/v2/"
CONN = "pseven_default"


class WallClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "api-paths"


@pytest.fixture
def cache(cache_dir: Path, wall: WallClock) -> ApiPathCache:
    return ApiPathCache(cache_dir, clock=wall)


def auto_client(api: Api, cache: ApiPathCache | None, **overrides: Any) -> Any:
    settings: dict[str, Any] = {"api_path": "auto", "api_path_cache": cache, "connection_id": CONN}
    return api.make_client(**{**settings, **overrides})


def serve_dot_rest(api: Api) -> None:
    """A v2025.03-style server: ``@rest`` is the web UI's 404 page, ``.rest`` the API."""
    api.route("GET", f"{AT_REST}workflows/", html(404))
    api.route("GET", f"{DOT_REST}workflows/", ok([workflow_json()]))


def detections(api: Api) -> int:
    """Probes are the requests of the detection: only detection ever asks for ``@rest`` here, and
    only detection and the test's own calls ask for ``.rest``'s list."""
    return len(api.calls_to("GET", f"{AT_REST}workflows/"))


def cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))


# --- reuse --------------------------------------------------------------------------------------


async def test_a_second_client_in_the_process_detects_nothing(api: Api, cache: ApiPathCache) -> None:
    serve_dot_rest(api)
    await api.call("list_workflows", client=auto_client(api, cache))
    # Detection's own answer is the list asked for, so the call itself sends nothing more.
    assert [s.url for s in api.sent] == [f"{AT_REST}workflows/", f"{DOT_REST}workflows/"]
    api.sent.clear()
    second = auto_client(api, cache)
    assert second.core.api_path == ".rest"
    await api.call("list_workflows", client=second)
    assert [s.url for s in api.sent] == [f"{DOT_REST}workflows/"]


async def test_a_fresh_process_reads_the_file_and_detects_nothing(
    api: Api, cache: ApiPathCache, cache_dir: Path, wall: WallClock
) -> None:
    serve_dot_rest(api)
    await api.call("list_workflows", client=auto_client(api, cache))
    api.sent.clear()
    fresh = ApiPathCache(cache_dir, clock=wall)  # a new process: nothing in memory, only the file
    await api.call("list_workflows", client=auto_client(api, fresh))
    assert [s.url for s in api.sent] == [f"{DOT_REST}workflows/"]


async def test_the_key_is_the_server_and_the_connection(api: Api, cache: ApiPathCache) -> None:
    cache.put(HOST, CONN, ".rest")
    assert auto_client(api, cache).core.api_path == ".rest"
    assert auto_client(api, cache, connection_id="other").core.api_path is None
    assert auto_client(api, cache, host="https://p7-other.example.com").core.api_path is None
    assert auto_client(api, cache, host="https://p7.example.com:8443").core.api_path is None
    # The same server written differently is the same key, and user info never enters it.
    assert cache.get("HTTPS://P7.example.com/", CONN) == ".rest"
    assert cache.get("https://someone:pw@p7.example.com", CONN) == ".rest"


def test_a_subprocess_reuses_what_this_process_detected(pseven_emulator: Any, tmp_path: Path) -> None:
    """Two real processes against the emulator: the second one sends its list request only."""
    directory = tmp_path / "cache"
    env = {**os.environ, "PSEVEN_API_PATH_CACHE_DIR": str(directory), "PSEVEN_API_PATH_CACHE": "on"}
    script = textwrap.dedent(
        f"""
        from airflow_provider_pseven.client import ClientConfig, PsevenClient
        from airflow_provider_pseven.client.path_cache import default_cache
        config = ClientConfig({pseven_emulator.url!r}, token={pseven_emulator.token!r},
                              connection_id={CONN!r}, api_path_cache=default_cache())
        with PsevenClient(config) as client:
            print(len(client.list_workflows()), client.core.api_path)
        """
    )

    def one_process() -> list[str]:
        pseven_emulator.requests.clear()
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=60
        ).stdout.split()
        return [f"{e.method} {e.path}" for e in pseven_emulator.requests.entries()] + out[1:]

    listing = f"GET /pseven/{pseven_emulator.base_path}/v2/workflows/"
    first = one_process()
    assert first[-1] == pseven_emulator.base_path
    assert len(first) == 3  # two probes (the second one's answer is the list), the path printed
    assert one_process() == [listing, pseven_emulator.base_path]


# --- freshness and robustness -------------------------------------------------------------------


async def test_an_expired_entry_is_detected_again(api: Api, cache: ApiPathCache, wall: WallClock) -> None:
    serve_dot_rest(api)
    await api.call("list_workflows", client=auto_client(api, cache))
    wall.now += DEFAULT_TTL - 1
    await api.call("list_workflows", client=auto_client(api, cache))
    assert detections(api) == 1
    wall.now += 2
    await api.call("list_workflows", client=auto_client(api, cache))
    assert detections(api) == 2
    wall.now += DEFAULT_TTL - 1  # the new detection restarted the clock
    await api.call("list_workflows", client=auto_client(api, cache))
    assert detections(api) == 2


def test_ttl_zero_reuses_nothing(cache_dir: Path) -> None:
    cache = ApiPathCache(cache_dir, ttl=0)
    cache.put(HOST, CONN, "@rest")
    assert cache.get(HOST, CONN) is None


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"format": 1, "api_path": "/evil", "detected_at": 1700000000, "key": "https://p7.example.com pseven_default"}',
        b'{"format": 1, "api_path": "@rest", "detected_at": "soon", "key": "https://p7.example.com pseven_default"}',
        b'{"format": 1, "api_path": "@rest", "detected_at": 1700000000, "key": "https://elsewhere pseven_default"}',
        b'{"format": 99, "api_path": "@rest", "detected_at": 1700000000, "key": "https://p7.example.com pseven_default"}',
    ],
    ids=["truncated", "binary", "a-list", "bad-path", "bad-time", "other-key", "future-format"],
)
async def test_a_corrupt_file_is_ignored_and_replaced(
    api: Api,
    cache_dir: Path,
    wall: WallClock,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = ApiPathCache(cache_dir, clock=wall)
    writer.put(HOST, CONN, "@rest")
    [entry] = cache_files(cache_dir)
    entry.write_bytes(content)
    serve_dot_rest(api)
    caplog.set_level("DEBUG", logger="airflow_provider_pseven.client.path_cache")
    await api.call("list_workflows", client=auto_client(api, ApiPathCache(cache_dir, clock=wall)))
    assert detections(api) == 1
    assert "Ignoring" in caplog.text
    assert json.loads(entry.read_bytes())["api_path"] == ".rest"


async def test_an_unreadable_file_is_ignored(api: Api, cache_dir: Path, wall: WallClock) -> None:
    ApiPathCache(cache_dir, clock=wall).put(HOST, CONN, ".rest")
    [entry] = cache_files(cache_dir)
    entry.unlink()
    entry.mkdir()  # reading a directory fails with an OSError, as an unreadable file would
    serve_dot_rest(api)
    await api.call("list_workflows", client=auto_client(api, ApiPathCache(cache_dir, clock=wall)))
    assert detections(api) == 1


# --- a cached path the server denies --------------------------------------------------------------


@pytest.mark.parametrize(
    "denial",
    [html(404), detail(404, "Not found."), html(200), html(302)],
    ids=["404-html", "404-json", "200-html", "302"],
)
async def test_a_stale_cached_path_is_evicted_and_detected_again(
    api: Api, cache: ApiPathCache, cache_dir: Path, wall: WallClock, denial: Any
) -> None:
    """The server moved from ``.rest`` to ``@rest`` since the path was cached."""
    cache.put(HOST, CONN, ".rest")
    api.route("GET", f"{DOT_REST}workflows/", denial)
    api.route("GET", f"{AT_REST}workflows/", ok([workflow_json()]))
    client = auto_client(api, cache)
    workflows = await api.call("list_workflows", client=client)
    assert [w.id for w in workflows] == [WF_ID]
    assert [s.url for s in api.sent] == [
        f"{DOT_REST}workflows/",  # the cached path, denied
        f"{AT_REST}workflows/",  # detection: found at the first try, and its list is the answer
    ]
    assert client.core.api_path == "@rest"
    assert ApiPathCache(cache_dir, clock=wall).get(HOST, CONN) == "@rest"


async def test_a_stale_path_is_detected_again_once_per_client(api: Api, cache: ApiPathCache) -> None:
    """A server that denies both spellings: one detection, then the error, not a loop."""
    cache.put(HOST, CONN, ".rest")
    api.route("GET", f"{DOT_REST}workflows/", html(404))
    api.route("GET", f"{AT_REST}workflows/", html(404))
    client = auto_client(api, cache)
    with pytest.raises(Exception, match="No pSeven REST API found"):
        await api.call("list_workflows", client=client)
    assert len(api.sent) == 3
    assert cache.get(HOST, CONN) is None


async def test_concurrent_calls_denied_by_a_stale_path_share_one_detection(
    api: Api, cache: ApiPathCache
) -> None:
    """Triggers sharing one async client: the first denied call detects, the others wait for it."""
    if not api.is_async:
        pytest.skip("concurrency within one client is the async client's")
    cache.put(HOST, CONN, ".rest")
    api.route("GET", f"{DOT_REST}workflows/", html(404))
    api.route("GET", f"{AT_REST}workflows/", Resp(json=[workflow_json()], delay=0.01))
    client = AsyncPsevenClient(api.config(api_path="auto", api_path_cache=cache, connection_id=CONN))
    api._clients.append(client)
    answers = await asyncio.gather(*(client.list_workflows() for _ in range(5)))
    assert all([w.id for w in answer] == [WF_ID] for answer in answers)
    assert len(api.calls_to("GET", f"{DOT_REST}workflows/")) == 5
    # One probe, whose list answers one of the resends; the other four go to the new path.
    assert len(api.calls_to("GET", f"{AT_REST}workflows/")) == 1 + 4
    assert cache.get(HOST, CONN) == "@rest"


async def test_a_real_404_at_a_right_cached_path_is_the_callers_error(api: Api, cache: ApiPathCache) -> None:
    """Detection confirms the path: the 404 is about the workflow, and the call is not resent."""
    cache.put(HOST, CONN, ".rest")
    missing = f"{DOT_REST}workflows/{WF_ID}/"
    api.route("GET", missing, detail(404, "Not found."))
    serve_dot_rest(api)
    client = auto_client(api, cache)
    with pytest.raises(PsevenNotFoundError):
        await api.call("get_workflow", WF_ID, client=client)
    assert [s.url for s in api.sent] == [missing, f"{AT_REST}workflows/", f"{DOT_REST}workflows/"]
    assert cache.get(HOST, CONN) == ".rest"
    api.sent.clear()
    with pytest.raises(PsevenNotFoundError):  # confirmed now: no more detection
        await api.call("get_workflow", WF_ID, client=client)
    assert [s.url for s in api.sent] == [missing]


async def test_the_first_good_answer_confirms_the_cached_path(api: Api, cache: ApiPathCache) -> None:
    cache.put(HOST, CONN, ".rest")
    missing = f"{DOT_REST}workflows/{WF_ID}/"
    api.route("GET", f"{DOT_REST}workflows/", ok([]))
    api.route("GET", missing, detail(404, "Not found."))
    client = auto_client(api, cache)
    assert client.core.api_path_unconfirmed
    await api.call("list_workflows", client=client)
    assert not client.core.api_path_unconfirmed
    with pytest.raises(PsevenNotFoundError):
        await api.call("get_workflow", WF_ID, client=client)
    assert [s.url for s in api.sent] == [f"{DOT_REST}workflows/", missing]


async def test_a_login_at_a_stale_path_is_resent_at_the_detected_one(api: Api, cache: ApiPathCache) -> None:
    cache.put(HOST, CONN, ".rest")
    api.route("POST", f"{DOT_REST}auth/login/", html(404))
    api.route(
        "GET", f"{AT_REST}workflows/", detail(403, "Authentication credentials were not provided."), ok([])
    )
    api.route("POST", f"{AT_REST}auth/login/", ok({"token": TOKEN}))
    client = auto_client(api, cache, token=None, username=USERNAME, password=PASSWORD)
    await api.call("list_workflows", client=client)
    assert [(s.method, s.url) for s in api.sent] == [
        ("POST", f"{DOT_REST}auth/login/"),
        ("GET", f"{AT_REST}workflows/"),
        ("POST", f"{AT_REST}auth/login/"),
        ("GET", f"{AT_REST}workflows/"),
    ]


# --- secrets, explicit paths, the directory, the environment ---------------------------------------


async def test_no_file_holds_a_token_or_a_password(api: Api, cache: ApiPathCache, cache_dir: Path) -> None:
    serve_dot_rest(api)
    api.route("POST", f"{DOT_REST}auth/login/", ok({"token": TOKEN}))
    await api.call("list_workflows", client=auto_client(api, cache))
    login = auto_client(api, cache, connection_id="login", token=None, username=USERNAME, password=PASSWORD)
    await api.call("list_workflows", client=login)
    files = cache_files(cache_dir)
    assert len(files) == 2
    everything = b"".join(path.read_bytes() for path in cache_dir.iterdir())
    for secret in (TOKEN, PASSWORD, USERNAME):
        assert secret.encode() not in everything
    assert sorted(json.loads(path.read_bytes())["api_path"] for path in files) == [".rest", ".rest"]


@pytest.mark.parametrize("api_path", [".rest", "@rest"])
async def test_a_set_api_path_detects_nothing_and_touches_no_cache(
    api: Api, cache: ApiPathCache, cache_dir: Path, api_path: str
) -> None:
    cache.put(HOST, CONN, "@rest" if api_path == ".rest" else ".rest")  # a contrary entry is not read
    before = {p.name: p.read_bytes() for p in cache_files(cache_dir)}
    api.route("GET", f"{HOST}/pseven/{api_path}/v2/workflows/", ok([]))
    client = api.make_client(api_path=api_path, api_path_cache=cache, connection_id=CONN)
    await api.call("list_workflows", client=client)
    assert [s.url for s in api.sent] == [f"{HOST}/pseven/{api_path}/v2/workflows/"]
    assert {p.name: p.read_bytes() for p in cache_files(cache_dir)} == before


async def test_without_a_cache_each_client_detects(api: Api) -> None:
    serve_dot_rest(api)
    for _ in range(2):
        await api.call("list_workflows", client=auto_client(api, None))
    assert detections(api) == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_the_directory_is_private_and_files_are_replaced_atomically(
    cache: ApiPathCache, cache_dir: Path
) -> None:
    cache.put(HOST, CONN, "@rest")
    cache.put(HOST, CONN, ".rest")
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert [p.name for p in cache_dir.iterdir() if p.name.endswith(".tmp")] == []
    [entry] = cache_files(cache_dir)
    assert stat.S_IMODE(entry.stat().st_mode) & 0o077 == 0
    cache.evict(HOST, CONN)
    assert cache_files(cache_dir) == []
    assert cache.get(HOST, CONN) is None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_others_may_write_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    caplog.set_level("DEBUG", logger="airflow_provider_pseven.client.path_cache")
    cache = ApiPathCache(shared)
    cache.put(HOST, CONN, ".rest")
    assert list(shared.iterdir()) == []
    assert "others may write" in caplog.text
    assert cache.get(HOST, CONN) == ".rest"  # still remembered in this process
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    ApiPathCache(link).put(HOST, CONN, ".rest")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_the_environment_configures_the_process_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PSEVEN_API_PATH_CACHE", raising=False)
    monkeypatch.delenv("PSEVEN_API_PATH_CACHE_TTL", raising=False)
    monkeypatch.delenv("PSEVEN_API_PATH_CACHE_DIR", raising=False)
    cache = default_cache()
    assert cache is not None and cache is default_cache()
    assert cache.directory == path_cache_module.default_directory()
    assert cache.ttl == DEFAULT_TTL
    monkeypatch.setenv("PSEVEN_API_PATH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PSEVEN_API_PATH_CACHE_TTL", "60")
    configured = default_cache()
    assert configured is not None and (configured.directory, configured.ttl) == (tmp_path, 60.0)
    for off in ("off", "OFF", "0", "false"):
        monkeypatch.setenv("PSEVEN_API_PATH_CACHE", off)
        assert default_cache() is None
    monkeypatch.setenv("PSEVEN_API_PATH_CACHE", "on")
    monkeypatch.setenv("PSEVEN_API_PATH_CACHE_TTL", "an hour")
    assert default_cache().ttl == DEFAULT_TTL  # type: ignore[union-attr]


def test_the_default_directory_is_per_user() -> None:
    directory = path_cache_module.default_directory()
    owner = str(os.getuid()) if hasattr(os, "getuid") else ""
    assert directory.name.startswith("airflow-provider-pseven-") and directory.name.endswith(owner)


def test_the_config_never_shows_the_cache_and_compares_without_it(cache: ApiPathCache) -> None:
    one = ClientConfig(HOST, token=TOKEN, api_path_cache=cache, connection_id=CONN)
    assert one == ClientConfig(HOST, token=TOKEN, connection_id=CONN)
    assert "ApiPathCache" not in repr(one)
    with PsevenClient(one) as client:
        assert client.core.api_path is None
