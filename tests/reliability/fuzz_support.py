"""Generated server answers for the client's operations, driven sans-IO (no sockets).

An operation is a generator of Calls; :func:`drive` answers each Call with a generated Reply (passed
through ``check_reply``, as both drivers do), each Sleep at once, each look at the clock with a fake
time. So a generated answer reaches exactly the code that reads answers, thousands of times a second.

Profiles: ``ci`` (the default test run, a few seconds) and ``deep`` (``PSEVEN_FUZZ=deep``, minutes).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from airflow_provider_pseven.client.calls import Call, Now, Op, Reply, Sleep, Watch, check_reply
from airflow_provider_pseven.client.errors import PsevenError

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROFILE = os.environ.get("PSEVEN_FUZZ", "ci")
FUZZ = settings(settings.get_profile(PROFILE))

WF = "a" * 32
APP = "b" * 32
RUN = "c" * 32
P1 = "d" * 32

#: Answers a pSeven server gives (the guide's shapes): each is mutated field by field below.
TEMPLATES: list[Any] = [
    {
        "id": RUN,
        "name": "run",
        "path": "/Users/1/run",
        "url": "https://p7.test/pseven/runs/x",
        "state": "FINISHED",
        "workflow": "/Users/1/Toy.p7wf",
        "parameters": [{"id": P1, "name": "x", "value": {"@type": "Real", "data": 1.5}, "labels": {}}],
        "results": [{"id": P1, "name": "y", "value": {"@type": "Real", "data": 2.5}, "labels": {}}],
        "logfile_url": "https://p7.test/log",
    },
    [{"id": RUN, "name": "run", "path": "/p", "url": "u", "state": "RUNNING"}],
    [{"id": WF, "name": "Toy", "path": "/Users/1/Toy.p7wf", "url": "u"}],
    {
        "id": APP,
        "name": "App",
        "path": "/a",
        "url": "u",
        "version": 1,
        "revision": 2,
        "state": "READY",
        "workspace": {"id": "1", "name": "ws"},
    },
    {
        "entries": [
            {"name": "a.txt", "size": 3, "is_dir": False, "modified": "2026-01-01T00:00:00Z"},
            {"name": "sub", "size": 0, "is_dir": True},
        ]
    },
    {"uploaded_files": ["/run/a.txt"], "uploaded_directories": ["/run/d"]},
    {"token": "t0k"},
    {"message": "hello"},
    {"detail": "Run state must be RUNNING"},
]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON value, to mutate one of them."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found.extend(_slots(item))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            found.extend(_slots(item))
    return found


@st.composite
def mutated(draw: Any) -> Any:
    """A guide-shaped answer with a few fields replaced by any JSON value, or removed."""
    value = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(0, 3))):
        slots = _slots(value)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(JSON_VALUES)
    return value


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


#: A large answer (about 1 MiB): a runs list of 12,000 runs.
HUGE = json.dumps(
    [{"id": f"{i:032x}", "name": f"r{i}", "state": "RUNNING", "url": "u"} for i in range(12_000)]
)


BODIES = st.one_of(
    mutated().map(lambda v: json.dumps(v).encode()),
    mutated()
    .map(lambda v: json.dumps(v).encode())
    .flatmap(
        lambda b: st.integers(0, max(len(b) - 1, 0)).map(lambda n: b[:n])  # truncated
    ),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([100, 5000, 200_000]).map(lambda d: b"[" * d + b"]" * d),
    st.sampled_from([3000, 50_000]).map(_nested),
    st.binary(max_size=64),
    st.just(b"<!DOCTYPE html><title>Sign in\n\x1b[31m</title>"),
    st.just(HUGE.encode()),
)
STATUSES = st.one_of(
    st.sampled_from([200, 200, 200, 201, 202, 204, 302, 400, 401, 403, 404, 409, 429, 500, 503]),
    st.integers(100, 599),
)
CONTENT_TYPES = st.sampled_from(["application/json", "", "text/html", "text/plain", "application/json; x"])


@st.composite
def replies(draw: Any) -> tuple[int, dict[str, str], bytes]:
    status = draw(STATUSES)
    headers = {"content-type": draw(CONTENT_TYPES)}
    if draw(st.booleans()):
        headers["retry-after"] = draw(st.sampled_from(["1", "-5", "1e400", "nan", "Wed, 21 Oct 2015", "x"]))
    if status in (301, 302) or draw(st.integers(0, 9)) == 0:
        headers["location"] = draw(st.sampled_from(["/login\n", "https://evil.test/", ""]))
    return status, headers, draw(BODIES)


def deliver(call: Call, status: int, headers: dict[str, str], body: bytes) -> Reply:
    """What a driver makes of one answer: a streamed body goes to the sink, the rest is checked."""
    if call.sink is not None and status < 300:
        call.sink.begin(len(body))
        call.sink.write(body)
        call.sink.finish()
        body = b""
    return check_reply(Reply(status, headers, body, f"https://p7.test/{call.path}", call))


def drive(op: Op[Any], answer: Callable[[Call], tuple[int, dict[str, str], bytes]], steps: int = 60) -> Any:
    """Run ``op`` against generated answers; its steps are bounded (a wait that would go on is closed)."""
    reply: Any = None
    error: BaseException | None = None
    now = 1_000_000.0
    for _ in range(steps):
        try:
            step = op.throw(error) if error is not None else op.send(reply)
        except StopIteration as stop:
            return stop.value
        reply, error = None, None
        if isinstance(step, Sleep):
            now += max(step.seconds, 0.001)
        elif isinstance(step, Now):
            reply = now
        else:
            call = step.call if isinstance(step, Watch) else step
            try:
                reply = deliver(call, *answer(call))
            except PsevenError as exc:
                error = exc
    op.close()
    return None
