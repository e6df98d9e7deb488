"""The production-shaped cluster suite (``make test-cluster``; ``make test`` runs it too).

It needs what ``make cluster-deps`` installs: the ``cluster`` extra (Celery, the Celery provider,
psycopg2, asyncpg, redis, Playwright) and Debian's Chromium; and the machine's PostgreSQL and Redis.
Without them the suite is skipped with the reason, except under CI (``CI`` set), where a missing
piece is a failure: CI must not pass by skipping it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(
    os.environ.get(
        "PSEVEN_CLUSTER_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts" / "cluster"
    )
)
#: What the suite measured, written to ARTIFACTS/measurements.json and shown at the end of the run.
MEASURED: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: runs the production-shaped Airflow cluster (tests/cluster)")


def chromium_path() -> str | None:
    return os.environ.get("PSEVEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> list[str]:
    """What this machine lacks for the suite, in words."""
    import airflow

    from airflow_provider_pseven.compat import AIRFLOW_VERSION

    lacks = []
    if AIRFLOW_VERSION[:2] < (3, 3):
        lacks.append(f"Airflow 3.3+ (this is {airflow.__version__})")
    for module, package in (
        ("celery", "celery[redis]"),
        ("airflow.providers.celery", "apache-airflow-providers-celery"),
        ("psycopg2", "psycopg2-binary"),
        ("asyncpg", "asyncpg"),
        ("redis", "redis"),
        ("playwright", "playwright"),
    ):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            lacks.append(f"the Python package {package} (make cluster-deps)")
    if chromium_path() is None:
        lacks.append("Chromium (make cluster-deps installs Debian's chromium)")
    return lacks


def require_cluster_deps() -> None:
    lacks = missing()
    if lacks:
        message = "the production-shaped cluster needs " + "; ".join(lacks)
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not MEASURED:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "measurements.json").write_text(json.dumps(MEASURED, indent=2, default=str))
    terminalreporter.section("production-shaped cluster: measurements")
    for key, value in MEASURED.items():
        terminalreporter.write_line(f"{key}: {value}")
    terminalreporter.write_line(f"(screenshots and measurements.json in {ARTIFACTS})")
