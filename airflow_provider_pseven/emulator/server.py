"""EmulatorServer: the emulator on a real loopback socket, in a background thread or in the foreground.

Also ``EmulatorProcess``, the same server started as a subprocess through the CLI (benchmarks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote
from urllib.request import ProxyHandler, Request, build_opener

from .faults import Faults
from .guard import DEFAULT_MAX_BODY, GuardConfig, is_loopback
from .records import DEFAULT_PASSWORD, DEFAULT_TOKEN, Timing, User, Workspace
from .reqlog import RequestLog
from .variants import Variants
from .workflows import Workflow
from .world import World

BASE_PATHS = (".rest", "@rest")
logger = logging.getLogger("airflow_provider_pseven.emulator")
_DIRECT = build_opener(ProxyHandler({}))  # the emulator's own URL: never through an HTTP(S)_PROXY


def control(url: str, token: str, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
    """Call a control route (``/_emulator/<name>``) as it wants: the token, a JSON body and type."""
    data = json.dumps(body or {}).encode() if method != "GET" else None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    request = Request(f"{url}/_emulator/{name}", data=data, headers=headers, method=method)
    with _DIRECT.open(request, timeout=60) as response:
        return json.load(response)


def _exposed_users(host: str, token: str, users: list[User] | None) -> list[User]:
    """The users of a server bound to a non-loopback ``host``: the public default token and
    password would let anyone on the network in, so they are replaced by random ones (printed by
    the CLI) and an explicit user with the default token is refused."""
    if users is not None:
        if any(u.token == DEFAULT_TOKEN or u.password == DEFAULT_PASSWORD for u in users):
            raise ValueError(
                f"The emulator is bound to {host}, reachable from the network: give its users "
                "a token and a password other than the public default ones."
            )
        return users
    if token == DEFAULT_TOKEN:
        token = secrets.token_hex(20)
    return [User(token=token, password=secrets.token_urlsafe(12))]


def _bind(host: str, port: int, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class EmulatorServer:
    """A pSeven Enterprise emulator on ``host:port`` (port 0 picks a free port at construction).

    Use as a context manager (``with EmulatorServer() as server:``) to serve in a background
    thread, or call ``serve_forever()`` in the main thread (the CLI does; SIGINT/SIGTERM stop it).
    ``world`` is the emulated state tests inspect (runs, apps, timing, ``deploy_count()``, ...).

    Safe on a developer's machine (guard.py): requests must name ``host`` (or ``public_url``) in
    their Host header, browsers' cross-origin requests are refused, bodies over
    ``max_upload_bytes`` get 413, and a non-loopback ``host`` gets a random token and password
    instead of the public defaults (``exposed``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = ".rest",
        token: str = DEFAULT_TOKEN,
        users: Iterable[User] | None = None,
        workspaces: Iterable[Workspace] | None = None,
        workflows: Iterable[Workflow] | None = None,
        data_dir: str | Path | None = None,
        time_scale: float = 1.0,
        timing: Timing | None = None,
        results_lag: float | None = None,
        init_delay: float | None = None,
        start_delay: float | None = None,
        variants: Variants | str | None = None,
        max_workers: int = 32,
        backlog: int = 2048,
        public_url: str | None = None,
        max_upload_bytes: int = DEFAULT_MAX_BODY,
        tls: tuple[str | Path, str | Path] | None = None,
    ) -> None:
        if base_path not in BASE_PATHS:
            raise ValueError(f"base_path must be one of {BASE_PATHS}, got {base_path!r}")
        self.host = host
        self.exposed = not is_loopback(host)
        if self.exposed:
            users = _exposed_users(host, token, list(users) if users is not None else None)
            logger.warning(
                "The pSeven emulator listens on %s: anyone who can reach this machine can use it. "
                "Bind to 127.0.0.1 unless other machines must reach it.",
                host,
            )
        self.base_path = base_path
        #: (certificate file, key file): serve HTTPS with them (a private CA's, for TLS tests).
        self.tls = tls
        self._tmp = None if data_dir is not None else tempfile.mkdtemp(prefix="pseven-emulator-")
        self.data_dir = Path(data_dir if data_dir is not None else self._tmp)  # type: ignore[arg-type]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        timing = timing or Timing()
        timing.time_scale = time_scale if timing.time_scale == 1.0 else timing.time_scale
        if results_lag is not None:
            timing.results_lag = results_lag
        if init_delay is not None:
            timing.init_delay = init_delay
        if start_delay is not None:
            timing.start_delay = start_delay
        user_list = list(users) if users is not None else [User(token=token)]
        self.world = World(
            self.data_dir,
            timing,
            users=user_list,
            workspaces=workspaces,
            workflows=workflows,
            max_workers=max_workers,
            variants=variants,
        )
        self.faults = Faults()
        self.requests = RequestLog()
        self._sock = _bind(host, port, backlog)
        self.port: int = self._sock.getsockname()[1]
        self.guard = GuardConfig(host, self.port, public_url, max_upload_bytes)
        self._backlog = backlog
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> World:
        """The same World as ``world``, under its earlier name; use ``world``."""
        return self.world

    # --- addresses ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The sign-in URL (what a connection's host is): ``public_url`` when one was given."""
        if self.guard.public_url:
            return self.guard.public_url.rstrip("/")
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/pseven/{self.base_path}/v2/"

    @property
    def appshub_url(self) -> str:
        return f"{self.url}/appshub/{self.base_path}/v2/"

    @property
    def token(self) -> str:
        return next(iter(self.world.users))

    @property
    def password(self) -> str:
        """The default user's password (random when the server is exposed, see ``exposed``)."""
        return next(iter(self.world.users.values())).password

    @property
    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def control(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        """A control route over HTTP (``server.control("PUT", "faults", {...})``), as a script would."""
        return control(self.url, self.token, method, name, body)

    def connection_json(self) -> str:
        """An Airflow connection as JSON, e.g. for ``AIRFLOW_CONN_PSEVEN_DEFAULT``."""
        return json.dumps(
            {
                "conn_type": "pseven",
                "host": self.url,
                "password": self.token,
                "extra": {"api_path": self.base_path},
            }
        )

    def connection_uri(self) -> str:
        """The same connection as an Airflow URI (``pseven://:TOKEN@host:port/?__extra__=...``)."""
        extra = quote(json.dumps({"api_path": self.base_path}), safe="")
        return f"pseven://:{quote(self.token, safe='')}@{self.host}:{self.port}/?__extra__={extra}"

    @property
    def variants(self) -> Variants:
        """How this server answers the points the guide leaves open (variants.py)."""
        return self.world.variants

    @variants.setter
    def variants(self, value: Variants | str | None) -> None:
        self.world.variants = Variants.coerce(value)

    # --- content ---------------------------------------------------------------------------
    def add_workflow(self, workflow: Workflow) -> Workflow:
        return self.world.add_workflow(workflow)

    def add_user(self, user: User) -> User:
        if self.exposed:
            _exposed_users(self.host, user.token, [user])
        return self.world.add_user(user)

    def reset(self) -> None:
        """Fresh world, no faults, empty request log (the server keeps running)."""
        self.world.reset()
        self.faults.clear()
        self.requests.clear()

    # --- serving ---------------------------------------------------------------------------
    def asgi_app(self) -> Any:
        """The ASGI app this server serves (in-process tests use it with Starlette's TestClient)."""
        from .app import EmulatorApp

        return EmulatorApp(self.world, self.base_path, self.faults, self.requests, self.guard)

    def _uvicorn(self) -> Any:
        import importlib.util

        import uvicorn

        config = uvicorn.Config(
            self.asgi_app(),
            loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            http="httptools" if importlib.util.find_spec("httptools") else "h11",
            lifespan="off",
            access_log=False,
            # The peer is the TCP peer: variant access="proxy_only" trusts no X-Forwarded-For.
            proxy_headers=False,
            log_level="warning",
            backlog=self._backlog,
            timeout_keep_alive=75,
            timeout_graceful_shutdown=2,
            ssl_certfile=str(self.tls[0]) if self.tls else None,
            ssl_keyfile=str(self.tls[1]) if self.tls else None,
        )
        return uvicorn.Server(config)

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM, then clean up and return normally.

        uvicorn traps both signals while serving and re-raises them to the previous handlers
        afterwards; quiet handlers here make that re-raise a no-op, so the exit is clean.
        """
        import signal

        self._server = self._uvicorn()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self.close()

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Serve in a background daemon thread; returns once the socket accepts requests."""
        if self._thread is not None:
            return self
        self._server = self._uvicorn()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="pseven-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("pSeven emulator failed to start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self.world.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.close()

    def close(self) -> None:
        self.world.shutdown()
        with contextlib.suppress(OSError):
            self._sock.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmulatorProcess:
    """The emulator CLI as a subprocess (for benchmarks: its CPU is not the load generator's)."""

    READY = re.compile(r"Sign-in URL:\s*(\S+)")

    def __init__(self, *args: str, port: int = 0, host: str = "127.0.0.1", env: dict[str, str] | None = None):
        self.cmd = [
            sys.executable,
            "-m",
            "airflow_provider_pseven.emulator",
            "--host",
            host,
            "--port",
            str(port),
        ]
        self.cmd += list(args)
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.token = DEFAULT_TOKEN
        self.output: list[str] = []

    def control(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        """A control route of the subprocess (``EmulatorServer.control``)."""
        return control(self.url, self.token, method, name, body)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> EmulatorProcess:
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("Token:"):
                self.token = line.split(":", 1)[1].strip()
            m = self.READY.search(line)
            if m:
                self.url = m.group(1)
            if line.startswith("Ready"):
                return self
        self.stop()
        raise RuntimeError("emulator subprocess did not start:\n" + "".join(self.output))

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
