"""Fixtures of the Airflow-surface unit tests.

Every test gets: ``pseven_default`` set through ``AIRFLOW_CONN_PSEVEN_DEFAULT`` (explicit api_path, so
no detection probes), a fake clock that every client sleep advances (so nothing sleeps for real),
and a recorder in place of Airflow's ``mask_secret``.
"""

from __future__ import annotations

import functools
import json
import types
from collections.abc import AsyncIterator
from typing import Any

import pytest
from af_support import CONN, RUN_NAME_TOKEN, FakeClock
from airflow.sdk.log import mask_secret as REAL_MASK_SECRET  # imported before the fixtures patch it

from airflow_provider_pseven.client import AsyncPsevenClient, PsevenClient, aio, sync
from airflow_provider_pseven.tasks import runs as runs_module


@pytest.fixture(autouse=True)
def pseven_conn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_DEFAULT", json.dumps(CONN))
    return CONN


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """One fake clock for every client the hook builds: their sleeps move it, their waits and the
    operators' deadlines read it."""
    fake = FakeClock()
    # The hook imports the drivers where it makes a client (so a task never imports httpx).
    monkeypatch.setattr(
        sync, "PsevenClient", functools.partial(PsevenClient, sleep=fake.sleep, clock=fake.time)
    )
    monkeypatch.setattr(
        aio,
        "AsyncPsevenClient",
        functools.partial(AsyncPsevenClient, sleep=fake.async_sleep, clock=fake.time),
    )
    return fake


@pytest.fixture(autouse=True)
def run_name_token(monkeypatch: pytest.MonkeyPatch) -> str:
    """Default run names end in a random token; here it is always the same one."""
    monkeypatch.setattr(runs_module, "secrets", types.SimpleNamespace(token_hex=lambda n: RUN_NAME_TOKEN))
    return RUN_NAME_TOKEN


@pytest.fixture(autouse=True)
def masked(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Values registered with Airflow's secret masker."""
    calls: list[Any] = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda secret, name=None: calls.append(secret))
    return calls


@pytest.fixture
def real_masker(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Airflow's own secret masker, restored afterwards."""
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    saved = (set(masker.patterns), masker.replacer)
    monkeypatch.setattr("airflow.sdk.log.mask_secret", REAL_MASK_SECRET)
    yield masker
    masker.patterns, masker.replacer = saved


@pytest.fixture
async def loop_clients() -> AsyncIterator[None]:
    """Close the event loop's shared async clients when an async test ends."""
    yield
    from airflow_provider_pseven.hooks.async_clients import forget_loop_clients

    clients = forget_loop_clients()
    if clients is not None:
        await clients.aclose()
