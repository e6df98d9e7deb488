"""Setting run parameters from Airflow: Secret values are masked before anything is logged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_pseven.client import PsevenClient, RunRef
from airflow_provider_pseven.client.operations import match_parameters


def mask_secret_values(client: PsevenClient, ref: RunRef, values: Mapping[str, Any]) -> None:
    """Register the values given for Secret parameters with Airflow's secret masker."""
    from airflow.sdk.log import mask_secret

    run = client.get_run(ref)
    for key, parameter in match_parameters(run.parameters, values).items():
        value = values[key]
        if parameter.is_secret and value not in (None, ""):
            mask_secret(value if isinstance(value, str) else str(value))


def apply_parameters(client: PsevenClient, ref: RunRef, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set ``values`` ({name or id: value}) and return what was applied, Secrets shown as ``""``."""
    if not isinstance(values, Mapping):
        raise TypeError(f"parameters must be a mapping of name or id to value, not {type(values).__name__}")
    if not values:
        return {}
    mask_secret_values(client, ref, values)
    run = client.set_parameters(ref, values)
    by_key = match_parameters(run.parameters, values)
    return {parameter.name: parameter.shown_value() for parameter in by_key.values()}
