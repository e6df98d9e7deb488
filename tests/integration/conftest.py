"""Integration fixtures: an emulator over real loopback HTTP, with ``pseven_default`` pointing at it."""

from __future__ import annotations

from tests.integration.airflow_harness import pseven_connection

__all__ = ["pseven_connection"]
