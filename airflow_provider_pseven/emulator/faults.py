"""Fault injection: latency, 503s, 429s with Retry-After, dropped connections, truncated bodies.

Faults are decided per request by a seeded RNG, so a test run is reproducible. 503, 429 and
``drop`` happen *before* the handler (the request is not executed); ``drop_after`` executes the
handler and then drops the connection without an answer, the case in which a client must not
blindly resend a POST; ``truncate`` executes the handler and cuts the body short.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .reqlog import RequestLog

FAULT_503 = "503"
FAULT_429 = "429"
FAULT_DROP = "drop"
FAULT_DROP_AFTER = "drop_after"
FAULT_TRUNCATE = "truncate"
FAULT_STALL = "stall"


@dataclass
class FaultConfig:
    """What to inject; fractions are probabilities per matching request (their sum at most 1)."""

    latency: float = 0.0
    latency_range: tuple[float, float] | None = None
    error_503_fraction: float = 0.0
    error_429_fraction: float = 0.0
    retry_after: int = 1
    drop_fraction: float = 0.0
    drop_after_fraction: float = 0.0
    truncate_fraction: float = 0.0
    #: Hold the answer ``stall_seconds`` (longer than a client's timeout), then carry the request
    #: out anyway, as an overloaded server does: the client times out, the server still acts.
    stall_fraction: float = 0.0
    stall_seconds: float = 30.0
    methods: list[str] | None = None
    paths: list[str] | None = None
    max_faults: int | None = None
    seed: int = 0
    _fields: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def validate(self) -> None:
        fractions = [
            self.error_503_fraction,
            self.error_429_fraction,
            self.drop_fraction,
            self.drop_after_fraction,
            self.truncate_fraction,
            self.stall_fraction,
        ]
        if any(not 0 <= f <= 1 for f in fractions) or sum(fractions) > 1 + 1e-9:
            raise ValueError("fault fractions must each be in [0, 1] and sum to at most 1")
        if self.latency < 0 or (
            self.latency_range is not None and not 0 <= self.latency_range[0] <= self.latency_range[1]
        ):
            raise ValueError(
                "latency must be >= 0 and latency_range a [low, high] pair with 0 <= low <= high"
            )
        if self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("_fields", None)
        return out


_FIELD_NAMES = {f.name for f in dataclasses.fields(FaultConfig) if not f.name.startswith("_")}


class Faults:
    """The live fault settings of one server; change them at any time from Python or HTTP."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._rng = random.Random(0)
        self.injected = 0

    def set(self, **settings: Any) -> FaultConfig:
        """Update some settings (others keep their values); a ``seed`` reseeds the RNG."""
        unknown = set(settings) - _FIELD_NAMES
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}; known: {sorted(_FIELD_NAMES)}")
        if "latency_range" in settings and settings["latency_range"] is not None:
            settings["latency_range"] = tuple(float(x) for x in settings["latency_range"])
        if settings.get("methods") is not None:
            settings["methods"] = [m.upper() for m in settings["methods"]]
        with self._lock:
            new = dataclasses.replace(self.config, **settings)
            new.validate()
            self.config = new
            if "seed" in settings:
                self._rng = random.Random(new.seed)
            if "max_faults" in settings:
                self.injected = 0
        return new

    def clear(self) -> None:
        with self._lock:
            self.config = FaultConfig()
            self._rng = random.Random(0)
            self.injected = 0

    def decide(self, method: str, path: str) -> tuple[float, str | None]:
        """(latency in seconds, fault kind or None) for one request."""
        with self._lock:
            c = self.config
            if c.methods is not None and method not in c.methods:
                return 0.0, None
            if c.paths is not None and not any(re.search(p, path) for p in c.paths):
                return 0.0, None
            delay = c.latency + (self._rng.uniform(*c.latency_range) if c.latency_range else 0.0)
            if c.max_faults is not None and self.injected >= c.max_faults:
                return delay, None
            r = self._rng.random()
            for kind, fraction in (
                (FAULT_503, c.error_503_fraction),
                (FAULT_429, c.error_429_fraction),
                (FAULT_DROP, c.drop_fraction),
                (FAULT_DROP_AFTER, c.drop_after_fraction),
                (FAULT_TRUNCATE, c.truncate_fraction),
                (FAULT_STALL, c.stall_fraction),
            ):
                if r < fraction:
                    self.injected += 1
                    return delay, kind
                r -= fraction
            return delay, None


def _transport(send: Send) -> Any:
    """uvicorn's ``send`` is a bound method of its request cycle, which holds the socket transport.

    Duck-typed: uvloop's transports do not subclass ``asyncio.BaseTransport``.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    return transport if callable(getattr(transport, "abort", None)) else None


async def _abort(send: Send) -> None:
    """Close the connection without (the rest of) a response: the client sees a reset socket."""
    transport = _transport(send)
    if transport is not None:
        transport.abort()
        # let uvicorn's connection_lost run before the app returns, so it does not try to answer 500
        for _ in range(3):
            await asyncio.sleep(0)
        return
    raise ConnectionAbortedError("pseven emulator: injected connection drop")


async def _buffered(receive: Receive) -> Receive:
    """Read the whole request body now; return a ``receive`` that replays it."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return replay


class FaultMiddleware:
    """Outermost ASGI layer: logs every API request and injects faults into the chosen ones."""

    def __init__(self, app: ASGIApp, faults: Faults, log: RequestLog, exempt_prefix: str = "/_emulator/"):
        self.app = app
        self.faults = faults
        self.log = log
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        entry = self.log.start(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")
        )
        delay, fault = self.faults.decide(scope["method"], scope["path"])
        entry.fault = fault
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            if fault in (FAULT_503, FAULT_429):
                await self._error(send, fault, entry)
            elif fault == FAULT_DROP:
                await _abort(send)
            elif fault == FAULT_DROP_AFTER:
                await self._run(scope, receive, _discard(entry), entry)
                self._finish(scope, entry, loop.time() - started)  # before the client can see the drop
                await _abort(send)
            elif fault == FAULT_TRUNCATE:
                await self._truncated(scope, receive, send, entry)
            elif fault == FAULT_STALL:
                replay = await _buffered(receive)  # the request arrived whole; the answer is late
                await asyncio.sleep(self.faults.config.stall_seconds)
                await self._run(scope, replay, send, entry)
            else:
                await self._run(scope, receive, send, entry)
        finally:
            self._finish(scope, entry, loop.time() - started)

    @staticmethod
    def _finish(scope: Scope, entry: Any, duration: float) -> None:
        entry.duration = duration
        ids = scope.get("pseven") or {}
        entry.run_id = entry.run_id or ids.get("run_id")
        entry.app_id = entry.app_id or ids.get("app_id")

    async def _run(self, scope: Scope, receive: Receive, send: Send, entry: Any) -> None:
        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        await self.app(scope, receive, logging_send)

    async def _error(self, send: Send, fault: str, entry: Any) -> None:
        status = 503 if fault == FAULT_503 else 429
        c = self.faults.config
        detail = (
            "Service temporarily unavailable (injected by the pSeven emulator)."
            if status == 503
            else f"Request was throttled. Expected available in {c.retry_after} seconds."
        )
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 429:
            headers.append((b"retry-after", str(c.retry_after).encode()))
        entry.status = status
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _truncated(self, scope: Scope, receive: Receive, send: Send, entry: Any) -> None:
        """Forward headers (Content-Length as announced) and only half the body, then reset."""
        state = {"limit": None, "sent": 0, "cut": False}

        async def cutting_send(message: Message) -> None:
            if state["cut"]:
                return
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                length = dict(message.get("headers", [])).get(b"content-length")
                state["limit"] = int(length) // 2 if length else 0
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            room = state["limit"] - state["sent"]  # type: ignore[operator]
            if len(body) >= room:
                state["cut"] = True
                if room > 0:
                    await send({"type": "http.response.body", "body": body[:room], "more_body": True})
                return
            state["sent"] += len(body)  # type: ignore[operator]
            await send({**message, "more_body": True})

        await self.app(scope, receive, cutting_send)
        await _abort(send)


def _discard(entry: Any) -> Send:
    """A ``send`` that records the status the handler produced and throws the response away."""

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            entry.status = message["status"]

    return send
