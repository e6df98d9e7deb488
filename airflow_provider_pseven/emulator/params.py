"""Parameter and result values: type names, type checks, display names, secret masking.

Every parameter has a type internally (PATCH values are checked against it), but the guide prints
``value`` as ``{"data": <value>}`` only: "Parameter value is found in .parameters[{index}].value.data;
other keys in .parameters[{index}].value provide metainformation" (Run parameters), and no example
shows another key. So by default no type is serialized; the variants ``value_style="typed"`` and
``secret_marker="type"`` add one (see variants.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .variants import Variants

STRING = "String"
INTEGER = "Integer"
REAL = "Real"
BOOLEAN = "Boolean"
SECRET = "Secret"
LIST = "List"
DICT = "Dict"

TYPES = (STRING, INTEGER, REAL, BOOLEAN, SECRET, LIST, DICT)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return (isinstance(value, int | float)) and not isinstance(value, bool)


_CHECKS = {
    STRING: lambda v: isinstance(v, str),
    INTEGER: _is_int,
    REAL: _is_real,
    BOOLEAN: lambda v: isinstance(v, bool),
    SECRET: lambda v: isinstance(v, str),
    LIST: lambda v: isinstance(v, list),
    DICT: lambda v: isinstance(v, dict),
}

_EXPECTED = {
    STRING: "a string",
    INTEGER: "an integer",
    REAL: "a number",
    BOOLEAN: "a boolean (true or false)",
    SECRET: "a string (or null to unset it)",
    LIST: "a list",
    DICT: "an object",
}


def check_value(type_name: str, value: Any) -> str | None:
    """Return None if ``value`` fits ``type_name``, else what was expected (for a 400 detail)."""
    if type_name == SECRET and value is None:
        return None
    if _CHECKS[type_name](value):
        return None
    return f"expects {type_name}: {_EXPECTED[type_name]}, got {json_type_name(value)}"


def json_type_name(value: Any) -> str:
    """Name a JSON value's type the way a client author would read it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def infer_type(value: Any) -> str:
    """Pick a type name for a result the workflow returned without a declared type."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return REAL
    if isinstance(value, list | tuple):
        return LIST
    if isinstance(value, dict):
        return DICT
    return STRING


def normalize_path(path: str | Sequence[str]) -> tuple[str, ...]:
    """A port is addressed by its block path: ("Composite 1", "MyBlock", "MyParameter")."""
    parts = tuple(path.split("/")) if isinstance(path, str) else tuple(path)
    if not parts or any(not p for p in parts):
        raise ValueError(f"bad port path: {path!r}")
    return parts


def display_names(paths: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """Names unique as the guide says: the port name, prefixed by block, then Composite names.

    Each name is the shortest suffix of the port's block path that no other port shares.
    """
    unique = list(dict.fromkeys(paths))
    names: dict[tuple[str, ...], str] = {}
    for path in unique:
        k = 1
        while k < len(path) and any(other != path and other[-k:] == path[-k:] for other in unique):
            k += 1
        names[path] = "/".join(path[-k:])
    return names


def value_json(
    type_name: str, data: Any, is_set: bool = True, variants: Variants | None = None
) -> dict[str, Any]:
    """The ``value`` object; a Secret never shows its data: null when unset, "" when set.

    guide: "you get null (in Python, None) if the parameter is unset ... and an empty string if
    some value is set" (Run parameters). By default ``{"data": ...}`` and nothing else.
    """
    if type_name == SECRET:
        data = "" if is_set else None
    out: dict[str, Any] = {"data": data}
    if variants is None:
        return out
    marker = variants.secret_marker == "type"
    if variants.value_style == "typed":
        # A Secret passes for a String unless the Secret marker variant is on.
        out["type"] = STRING if type_name == SECRET and not marker else type_name
    elif type_name == SECRET and marker:
        out["type"] = SECRET
    return out


def check_declared_type(declared: Any, data: Any) -> str | None:
    """For ``value_style="typed"``: None if ``value.type`` agrees with ``value.data``, else why not.

    ``null`` data agrees with every type (it unsets a value); whether the data fits the
    parameter is checked separately.
    """
    if not isinstance(declared, str) or declared not in TYPES:
        return f"has an unknown value.type {declared!r}; types: {', '.join(TYPES)}"
    if data is None or _CHECKS[declared](data):
        return None
    return f"value.type {declared} contradicts value.data ({json_type_name(data)})"
