"""pytest plugin (entry point ``pseven_emulator``): fixtures that serve a fresh emulator per test.

Imports nothing heavy at import time; the server is built inside the fixture.

    def test_my_dag(pseven_emulator, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_DEFAULT", pseven_emulator.connection_json())
        ...

Options per test: ``@pytest.mark.pseven_emulator(time_scale=0.05, base_path="@rest", results_lag=0.2)``
(any ``EmulatorServer`` keyword), e.g. ``variants="strictest"`` or ``variants="guide,wrong_state_status=409"``
(see variants.py). The default ``time_scale`` is 0.1: each queued state lasts 0.1 s and a
ToyWorkflow run takes about 0.25 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import EmulatorServer

DEFAULT_TIME_SCALE = 0.1


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pseven_emulator(**kwargs): EmulatorServer keyword arguments for the pseven_emulator fixture",
    )


@pytest.fixture
def pseven_emulator_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """Start as many emulators as a test needs (``factory(base_path="@rest", ...)``); all stop after it."""
    from .server import EmulatorServer

    servers: list[EmulatorServer] = []

    def factory(**kwargs: Any) -> EmulatorServer:
        kwargs.setdefault("time_scale", DEFAULT_TIME_SCALE)
        server = EmulatorServer(**kwargs).start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def pseven_emulator(
    request: pytest.FixtureRequest, pseven_emulator_factory: Callable[..., EmulatorServer]
) -> EmulatorServer:
    """A fresh emulator for this test: ``.url``, ``.token``, ``.api_url``, ``.connection_json()``, ..."""
    marker = request.node.get_closest_marker("pseven_emulator")
    kwargs = dict(marker.kwargs) if marker else {}
    return pseven_emulator_factory(**kwargs)
