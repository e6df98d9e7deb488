"""The package's dependencies and extras list exactly what its code imports (issue 14): nothing
imported that a wheel install would miss, nothing declared that nothing uses."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_pseven"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

#: Modules that only an extra's users import: their own imports may come from that extra.
EXTRA_OF = {"emulator": "emulator", "lineage.py": "openlineage", "sweeps/parquet.py": "parquet"}
#: Modules whose declared distribution is another one: ``airflow`` comes from the ``apache-airflow``
#: meta-package (core and task SDK); the connection-form widgets of Airflow 3.1
#: (hooks/connection_form.py, imported on 3.1 only) from its web UI; OpenLineage's client classes
#: from the OpenLineage provider.
PROVIDED_BY = {
    "airflow": "apache-airflow",
    "flask_appbuilder": "apache-airflow",
    "flask_babel": "apache-airflow",
    "wtforms": "apache-airflow",
    "attr": "apache-airflow-providers-openlineage",
    "openlineage": "apache-airflow-providers-openlineage",
    # The UI plugin (ui/) runs only in Airflow's API server, which is built on these (Airflow's own
    # dependencies, at the versions Airflow pins): the plugin must use Airflow's, not its own.
    "fastapi": "apache-airflow",
    "sqlalchemy": "apache-airflow",
}
#: Declared though nothing imports it: Starlette parses the emulator's form bodies (uploads,
#: AppsHub publishing) with it, and does not require it itself.
NEEDED_WITHOUT_IMPORT = {"python-multipart"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    if path.name == "pytest_plugin.py":
        names.discard("pytest")  # loaded by pytest itself (the pytest11 entry point)
    return (
        {_module(n) for n in names} - set(sys.stdlib_module_names) - {"airflow_provider_pseven", "__future__"}
    )


def _module(name: str) -> str:
    """The top-level module, or ``airflow.providers.<provider>`` for a provider's modules."""
    parts = name.split(".")
    if parts[:2] == ["airflow", "providers"] and len(parts) > 2:
        return ".".join(parts[: 4 if parts[2] == "common" else 3])
    return parts[0]


def _distributions(module: str) -> set[str]:
    if module in PROVIDED_BY:
        return {PROVIDED_BY[module]}
    if module.startswith("airflow.providers."):
        return {"apache-airflow-providers-" + "-".join(module.split(".")[2:])}
    # A module of an extra this environment lacks (pyarrow where the parquet extra is not installed,
    # as on the compat floors) is known by its name alone.
    names = importlib.metadata.packages_distributions().get(module) or [module]
    return {n.lower().replace("_", "-") for n in names}


def _imported_by_part() -> dict[str, set[str]]:
    """Third-party top-level modules imported, by "core" or the extra whose modules import them."""
    parts: dict[str, set[str]] = {"core": set(), **{extra: set() for extra in EXTRA_OF.values()}}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        part = next(
            (e for key, e in EXTRA_OF.items() if key in (relative.parts[0], relative.as_posix())), "core"
        )
        parts[part] |= _imports(path)
    return parts


def test_every_imported_module_is_declared_where_its_importers_are_installed():
    declared_core = {_name(r) for r in PROJECT["dependencies"]}
    extras = PROJECT["optional-dependencies"]
    undeclared = []
    for part, modules in _imported_by_part().items():
        allowed = declared_core | ({_name(r) for r in extras[part]} if part != "core" else set())
        for module in sorted(modules):
            if not _distributions(module) & allowed:
                undeclared.append(f"{module} (imported by {part}; from {sorted(_distributions(module))})")
    assert not undeclared, undeclared


def test_every_declared_runtime_dependency_is_imported():
    """``dependencies`` and the extras the code uses name nothing the code does not import."""
    imported = {d for modules in _imported_by_part().values() for m in modules for d in _distributions(m)}
    declared = [_name(r) for r in PROJECT["dependencies"]]
    for extra in EXTRA_OF.values():
        declared += [_name(r) for r in PROJECT["optional-dependencies"][extra]]
    assert sorted(set(declared) - imported - NEEDED_WITHOUT_IMPORT) == []
