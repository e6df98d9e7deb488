"""Task decorators of the pSeven Enterprise provider (``@task.pseven``).

Not imported by :mod:`airflow_provider_pseven.operators`: Airflow imports the decorator module
only when a DAG file uses ``task.pseven``.
"""

from __future__ import annotations

from airflow_provider_pseven.decorators.pseven import pseven_task

__all__ = ["pseven_task"]
