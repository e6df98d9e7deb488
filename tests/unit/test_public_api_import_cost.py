"""What a worker pays to import the operators: none of httpx, the emulator, lineage, the UI plugin,
fastapi or OpenLineage (issue 26, point 5). Every task process imports
``airflow_provider_pseven.operators``; only the triggerer's async client needs httpx, only the
OpenLineage listener needs lineage, only the API server the UI.

Two checks, because Airflow 3.3's ``airflow.sdk`` already imports httpx itself (so its presence in
``sys.modules`` proves nothing there):

- in a fresh interpreter that first imports what every task process has (``airflow.sdk`` and its
  base classes), importing the operators and sensors (every name of their ``__all__``) adds no
  watched module to ``sys.modules``;
- every module of this package that import loads imports no watched module at import time
  (statements run on import: module level and class bodies, not functions nor ``TYPE_CHECKING``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WATCHED = (
    "httpx",
    "fastapi",
    "openlineage",
    "airflow.providers.openlineage.plugins",
    "airflow_provider_pseven.emulator",
    "airflow_provider_pseven.lineage",
    "airflow_provider_pseven.ui",
    "airflow_provider_pseven.client.aio",
    "airflow_provider_pseven.hooks.async_clients",
)

PROBE = """
import json, sys
import airflow.sdk
from airflow.sdk import BaseHook, BaseOperator, BaseSensorOperator  # every task process has these
before = set(sys.modules)
for name in ("airflow_provider_pseven.operators", "airflow_provider_pseven.sensors"):
    module = __import__(name, fromlist=["__all__"])
    for attribute in module.__all__:
        getattr(module, attribute)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def watched(name: str) -> bool:
    return any(name == w or name.startswith(w + ".") for w in WATCHED)


def newly_imported() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def import_time_imports(tree: ast.AST) -> list[str]:
    """Modules named by the import statements that run when the module is imported."""
    found: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found += [m for child in node.orelse for m in import_time_imports(ast.Module([child], []))]
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            found += import_time_imports(node)
    return found


def test_importing_the_operators_imports_nothing_a_task_does_not_use() -> None:
    loaded = newly_imported()
    assert [m for m in loaded if watched(m)] == []
    ours = [m for m in loaded if m.startswith("airflow_provider_pseven")]
    assert "airflow_provider_pseven.operators.base" in ours  # the probe did import them
    offenders = []
    for module in ours:
        path = ROOT.joinpath(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        names = import_time_imports(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{module} imports {name}" for name in names if watched(name)]
    assert offenders == []


def test_the_static_check_sees_import_time_statements_only() -> None:
    source = (
        "import httpx\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import fastapi\n"
        "class A:\n    from airflow_provider_pseven import lineage\n"
        "def f():\n    import openlineage\n"
        "try:\n    from airflow_provider_pseven.client import aio\nexcept ImportError:\n    pass\n"
    )
    names = [n for n in import_time_imports(ast.parse(source)) if watched(n)]
    assert names == ["httpx", "airflow_provider_pseven.lineage", "airflow_provider_pseven.client.aio"]


TRIGGER_PROBE = """
import json, sys
import airflow.triggers.base  # the triggerer has it
from airflow.sdk import BaseOperator
before = set(sys.modules)
__import__(sys.argv[1], fromlist=["_"])
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith("airflow_provider_pseven"))))
"""


def ours_after(probe: str, module: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", probe, module],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_loading_one_trigger_class_imports_no_other_trigger() -> None:
    """The triggerer imports a trigger's module on its event loop (by the class path the task
    serialized), blocking every trigger it runs meanwhile: the package's ``__init__`` imports no
    sibling, so a run-state wait never pays for the sweep's tables or the events watcher."""
    loaded = ours_after(TRIGGER_PROBE, "airflow_provider_pseven.triggers.run_state")
    assert "airflow_provider_pseven.triggers.run_state" in loaded
    siblings = {"sweep", "run_event", "run_stream", "message", "app_ready", "queued_run"}
    assert not {f"airflow_provider_pseven.triggers.{name}" for name in siblings} & loaded
    assert not [m for m in loaded if m.startswith("airflow_provider_pseven.sweeps")]


def test_importing_one_operator_imports_no_other_operator_module() -> None:
    """What a DAG file with one ``from airflow_provider_pseven.operators import X`` pays."""
    probe = TRIGGER_PROBE.replace(
        '__import__(sys.argv[1], fromlist=["_"])',
        ("from airflow_provider_pseven.operators import DeployRunOperator"),
    )
    loaded = ours_after(probe, "-")
    assert "airflow_provider_pseven.operators.runs" in loaded
    others = {"sweep", "files", "apps", "messages", "workflow"}
    assert not {f"airflow_provider_pseven.operators.{name}" for name in others} & loaded
    assert not [m for m in loaded if m.startswith("airflow_provider_pseven.sweeps")]
