"""What may stand in a URL path segment: the ids of workflows, apps and runs.

requests and httpx remove dot segments before sending (RFC 3986), so a run id of ``..`` would turn
``DELETE workflows/W/runs/../`` into a DELETE of the workflow itself. Ids are therefore checked
where a path is built, before any request: every caller (operators, sensors, triggers) gets the same
rule, and no dot segment, slash or control character ever reaches an address.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_pseven.client.errors import PsevenConfigError
from airflow_provider_pseven.client.text import CONTROL


def unsafe_reason(value: str) -> str | None:
    """Why ``value`` cannot be one path segment, or None when it can."""
    if not value.strip():
        return "it is empty"
    if value.strip() in (".", ".."):
        return "it is a dot segment, which HTTP clients resolve to another address"
    if "/" in value or "\\" in value:
        return "it contains a slash"
    if CONTROL.search(value):
        return "it contains a control character"
    return None


def check_id(what: str, value: Any) -> str:
    """``value`` itself when it is a usable ``what`` (``run_id``, ``workflow_id``, ``app_id``);
    otherwise a :class:`PsevenConfigError` that names it and says where ids come from."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise PsevenConfigError(
            f"{what} is empty (got {value!r}); a templated id probably rendered to nothing: "
            "check the upstream task's XCom"
        )
    if not isinstance(value, str):
        raise PsevenConfigError(f"{what} must be a string, not {type(value).__name__} {value!r}")
    reason = unsafe_reason(value)
    if reason is not None:
        raise PsevenConfigError(
            f"{what} {value!r} cannot address a pSeven resource: {reason}. Give the id as the "
            "server shows it (usually an upstream task's XCom, e.g. deploy.output['run_id']); a "
            "templated id that rendered to this is a template or XCom mistake"
        )
    return value


def is_literal(value: Any) -> bool:
    """A plain string that no template renders (so it can be checked when the DAG is parsed)."""
    return isinstance(value, str) and "{{" not in value and "{%" not in value


__all__ = ["CONTROL", "check_id", "is_literal", "unsafe_reason"]
