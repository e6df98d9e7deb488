"""Hooks of the pSeven Enterprise provider."""

from __future__ import annotations

from airflow_provider_pseven.hooks.pseven import PsevenHook

__all__ = ["PsevenHook"]
