"""scripts/test_compat.py leaves the Airflow-free suites out only where they would repeat make test."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("test_compat_script", ROOT / "scripts" / "test_compat.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_differing_client_pin_is_named(script, tmp_path) -> None:
    main = tmp_path / "main.txt"
    main.write_text("# pins\nhttpx==0.28.1\nRequests==2.34.2\napache-airflow==3.3.2\n")
    floor = tmp_path / "floor.txt"
    floor.write_text("httpx==0.27.0\nrequests==2.34.2\napache-airflow==3.1.6\n")
    assert script.client_pins_differing(floor, main) == ["httpx 0.28.1 / 0.27.0"]
    assert script.client_pins_differing(main, main) == []


def test_the_suites_run_unless_asked_and_pinned_alike(script, monkeypatch) -> None:
    monkeypatch.delenv("PSEVEN_COMPAT_SKIP_AIRFLOW_FREE", raising=False)
    assert script.suites_for("3.1.6") == script.SUITES
    monkeypatch.setenv("PSEVEN_COMPAT_SKIP_AIRFLOW_FREE", "1")
    monkeypatch.setattr(script, "client_pins_differing", lambda *_: [])
    assert script.suites_for("3.1.6") == [
        "tests/unit",
        "tests/integration",
        "tests/compat",
        "--ignore=tests/unit/client",
        "--ignore=tests/reliability",
    ]
    monkeypatch.setattr(script, "client_pins_differing", lambda *_: ["httpx 0.28.1 / 0.27.0"])
    assert script.suites_for("3.1.6") == script.SUITES
