"""Integration fixtures: an emulator over real loopback HTTP, with ``pseven_default`` pointing at it.

Every test that uses the emulator (``pseven_emulator``, directly or through ``pseven_connection``)
runs once per variant set: the guide leaves points open (airflow_provider_pseven/emulator/variants.py)
and the provider must work whichever way a real server answers them. The sets are the presets
"strictest" (the hardest answer for a client on each point) and "lenient"; a test whose
``@pytest.mark.pseven_emulator(variants=...)`` names its own variants runs once, with those.
``PSEVEN_IT_VARIANTS`` (specs separated by spaces, e.g. ``"guide"`` or
``"strictest guide,wrong_state_status=409"``) replaces the sets for a local run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.airflow_harness import pseven_connection

__all__ = ["pseven_connection", "pseven_emulator"]

VARIANT_SETS = tuple(os.environ.get("PSEVEN_IT_VARIANTS", "strictest lenient").split())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pseven_emulator" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("pseven_emulator")
    if marker is not None and "variants" in marker.kwargs:
        return
    metafunc.parametrize("pseven_emulator", VARIANT_SETS, indirect=True, ids=VARIANT_SETS)


@pytest.fixture
def pseven_emulator(request: pytest.FixtureRequest, pseven_emulator_factory: Callable[..., Any]) -> Any:
    """The plugin's fixture (marker kwargs are ``EmulatorServer`` keywords), with this test's variants."""
    marker = request.node.get_closest_marker("pseven_emulator")
    kwargs = dict(marker.kwargs) if marker else {}
    if "variants" not in kwargs and hasattr(request, "param"):
        kwargs["variants"] = request.param
    return pseven_emulator_factory(**kwargs)
