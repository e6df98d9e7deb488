"""Apache Airflow provider for pSeven Enterprise (DATADVANCE)."""

from __future__ import annotations

from airflow_provider_pseven.assets import pseven_runs

__version__ = "0.2.0"

__all__ = ["__version__", "pseven_runs"]
