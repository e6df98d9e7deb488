"""Package names imported on first use (PEP 562), so that importing a package costs only what is used.

A DAG file that imports one operator, or a triggerer that loads one trigger class by its path
(``airflow_provider_pseven.triggers.run_state.RunStateTrigger`` imports the ``triggers`` package
first), then imports that class's module and no sibling: the triggerer imports trigger classes on its
event loop, where every millisecond of import blocks every trigger it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, namespace: dict[str, Any], **modules: tuple[str, ...]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: each name listed under a submodule of ``modules``
    (``runs=("DeployRunOperator", ...)``) is imported from it when first read, and kept in
    ``namespace`` (the package's globals)."""
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
