"""Values of request fields as JSON bodies and forms send them: optional strings and booleans."""

from __future__ import annotations

from typing import Any

from .errors import bad_request

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(value: Any, field_name: str, default: bool) -> bool:
    """Booleans come as JSON booleans or as form strings "True"/"False"."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise bad_request(f"{field_name} must be a boolean (True or False), got {value!r}.")


def optional_str(fields: dict[str, Any], key: str) -> str | None:
    """A string field; absent, null or empty is None."""
    value = fields.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"{key} must be a string.")
    return value
