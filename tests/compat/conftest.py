"""Fixtures of the compatibility tests: their DAGs join the session's DAGs folder, and an emulator
workflow whose results are awkward as XComs (a "/" in a name, None, NaN, a non-ASCII name)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from airflow_provider_pseven.emulator.workflows import Result, Workflow, builtin_workflows
from tests.conftest import DAGS_FOLDER
from tests.integration.airflow_harness import pseven_connection

__all__ = ["pseven_connection"]

# Collection time, before any test runs: dag.test() runs only DAGs its bundle can parse.
for _dag_file in sorted((Path(__file__).parent / "dags").glob("*.py")):
    shutil.copy(_dag_file, DAGS_FOLDER / _dag_file.name)

AWKWARD_RESULTS = {
    "Block/Status": "OK",  # a block-prefixed name, as pSeven makes names unique
    "Other/Status": "also OK",
    "Empty": None,
    "Ratio": math.nan,
    "Größe": 1.5,  # non-ASCII: the execution API cannot carry it as a key
    "Curve": [1.0, math.inf, 2.0],
    "pseven_run": "a result named like the key RunWorkflowOperator pushes itself",
}


def _awkward(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    ctx.sleep(0.1)
    return {
        name: (list(value) if isinstance(value, list) else value) for name, value in AWKWARD_RESULTS.items()
    }


def awkward_workflow() -> Workflow:
    return Workflow(
        path="/Users/1/Awkward.p7wf",
        function=_awkward,
        results=[Result(("Block", "Status")), Result(("Other", "Status"))],
    )


def workflows_with_awkward() -> list[Workflow]:
    return [*builtin_workflows(), awkward_workflow()]
