"""Setting run parameters from Airflow: Secret values are masked before anything logs them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_pseven.client import PsevenClient, RunRef
from airflow_provider_pseven.client.parameters import match_parameters


def mask_secret_values(run_parameters: Any, values: Mapping[str, Any]) -> None:
    """Register the values given for Secret parameters with Airflow's secret masker.

    A Secret is known only once the PATCH answer shows it (``""`` for the value sent), so this
    runs right after the PATCH and before anything logs the values.
    """
    from airflow_provider_pseven.compat import mask_secret

    for key, parameter in match_parameters(run_parameters, values).items():
        value = values[key]
        if parameter.is_secret and value not in (None, ""):
            mask_secret(value if isinstance(value, str) else str(value))


def apply_parameters(client: PsevenClient, ref: RunRef, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set ``values`` ({name or id: value}) and return what was applied, Secrets shown as ``""``."""
    if not isinstance(values, Mapping):
        raise TypeError(f"parameters must be a mapping of name or id to value, not {type(values).__name__}")
    if not values:
        return {}
    run = client.set_parameters(ref, values)
    mask_secret_values(run.parameters, values)
    by_key = match_parameters(run.parameters, values)
    return {parameter.name: parameter.shown_value() for parameter in by_key.values()}
