"""Fixtures of the client unit tests: ``api`` runs a test once per driver (sync and async)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import requests_mock
import respx
from pseven_client_harness import Api, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """The clients' clock: deadlines follow it, and only the injected sleep moves it."""
    return FakeClock(1000.0)


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Api]:
    harness = Api(request.param, clock)
    if request.param == "sync":
        with requests_mock.Mocker() as mocker:
            mocker.add_matcher(harness.sync_matcher)
            yield harness
            await harness.close()
    else:
        with respx.mock(assert_all_called=False) as router:
            router.route().mock(side_effect=harness.async_side_effect)
            yield harness
            await harness.close()
