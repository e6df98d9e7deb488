"""The docs a first-time user relies on when things fail stay in step with the code (issue 16)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from airflow.sdk import BaseSensorOperator

from airflow_provider_pseven import operators

DOCS = Path(__file__).resolve().parents[3] / "docs"


def section(page: str, heading: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/{page} has no section {heading!r}"
    return match.group(1)


def test_every_standard_sensor_argument_is_documented_with_mode_versus_deferral() -> None:
    documented = section("sensors-and-triggers.md", "Airflow's sensor arguments")
    standard = {"poke_interval", "timeout", "soft_fail", "mode", "exponential_backoff", "max_wait"}
    assert standard <= set(inspect.signature(BaseSensorOperator.__init__).parameters)
    for argument in standard:
        assert f"`{argument}`" in documented, f"{argument} is not documented"
    assert 'mode="reschedule"' in documented


def test_the_retry_table_names_every_operator_that_waits_on_a_run() -> None:
    table = section("reliability.md", "What is retried, and where")
    for name in ("RunWorkflowOperator", "StartRunOperator", "RunStateSensor", "DeployRunOperator"):
        assert name in table
    assert "retry_failed_runs" in table
    assert "retry_failed_runs" in inspect.signature(operators.RunWorkflowOperator.__init__).parameters
