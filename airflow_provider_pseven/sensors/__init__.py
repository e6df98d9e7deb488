"""Sensors of the pSeven Enterprise provider."""

from __future__ import annotations

from airflow_provider_pseven.sensors.run_state import MessageSensor, RunStateSensor

__all__ = ["MessageSensor", "RunStateSensor"]
