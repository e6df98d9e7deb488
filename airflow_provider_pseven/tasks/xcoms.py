"""What a pSeven task stores in XCom: its return value made storable, and each key of a returned
dict pushed on its own with the documented ``ti.xcom_push``, every key or value Airflow's execution
API would refuse skipped with a log line instead of failing a task whose run already finished.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

log = logging.getLogger(__name__)

# Airflow's own ``multiple_outputs`` pushes every key of the returned dict before the return value,
# so one key or value the execution API refuses fails the task after its pSeven run has finished.
# Measured on 3.1.8 and 3.3.2: a non-ASCII key fails the push; "?", "#" and "%" are mangled in the
# URL; a key ending in "/item/<n>" or "/slice" is read back from another route; NaN and infinities
# are refused as values (3.0 also refused "/" in keys and None values: one reason the floor is 3.1).

XCOM_RETURN_KEY = "return_value"
_XCOM_KEY_MAX = 200  # the key column holds 512; a margin for backends that prefix keys
_XCOM_SUB_ROUTE = re.compile(r"/(item/-?\d+|slice)$")


def xcom_key_problem(key: Any, reserved: Collection[str] = ()) -> str | None:
    """Why ``key`` cannot be pushed as its own XCom key, or None when it can."""
    if not isinstance(key, str) or not key:
        return "it is not a non-empty string"
    if key == XCOM_RETURN_KEY or key in reserved or key.startswith("_link_"):
        return "the task uses that XCom key itself"
    if len(key) > _XCOM_KEY_MAX:
        return f"it is longer than {_XCOM_KEY_MAX} characters"
    if not (key.isascii() and key.isprintable()):
        return "it has characters other than printable ASCII, which Airflow's execution API refuses"
    if any(c in key for c in "?#%\\"):
        return "it has ?, #, % or \\, which Airflow's execution API does not keep in a key"
    if key != key.strip() or key.startswith("/") or key.endswith("/") or "//" in key:
        return "it starts or ends with a space or /, or has //"
    if _XCOM_SUB_ROUTE.search(key):
        return "it ends like a route of Airflow's XCom API (/item/<n> or /slice)"
    return None


def _json_problem(value: Any) -> str | None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        return f"its value is not JSON ({error})"
    return None


def _null_non_finite(value: Any, where: str, found: list[str]) -> Any:
    """NaN and infinities (valid Python, not JSON) become None in place, as JSON.stringify does."""
    if isinstance(value, float) and not math.isfinite(value):
        found.append(where)
        return None
    if isinstance(value, dict):
        for key in list(value):
            value[key] = _null_non_finite(value[key], f"{where}[{key!r}]", found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _null_non_finite(item, f"{where}[{index}]", found)
    return value


class ResultXComs:
    """The ``post_execute`` hook of pSeven operators: makes the return value storable as XCom and,
    when the task's ``push_result_keys`` is true, pushes each key of a returned dict on its own.

    Airflow calls it after ``execute`` (or a resume method) returned and before it stores the return
    value, with the very object it then stores. The whole dict is always the return value; a key or
    value that cannot be an XCom of its own is skipped with a log line (read it from the return
    value), and NaN or an infinity anywhere in the value is stored as null, with a log line. Once
    Airflow's own ``multiple_outputs`` stays False on these operators (see PsevenBaseOperator), so
    the runner does not push the keys a second time.
    """

    def __init__(
        self,
        then: Callable[[Any, Any], Any] | None = None,
        reserved: Collection[str] = ("pseven_run", "uploaded_urls", "downloaded_urls"),
    ) -> None:
        self.then = then  # the DAG author's own post_execute hook, if any
        self.reserved = tuple(reserved)

    def __call__(self, context: Any, result: Any) -> None:
        task = context.get("task")
        task_log = getattr(task, "log", log)
        found: list[str] = []
        _null_non_finite(result, "result", found)
        if found:
            task_log.warning(
                "Not a JSON number, stored as null in XCom (NaN or infinity): %s", ", ".join(found)
            )
        if (
            isinstance(result, Mapping)
            and getattr(task, "push_result_keys", False)
            and getattr(task, "do_xcom_push", True)
        ):
            self.push_each_key(context, result, task_log)
        if self.then is not None:
            self.then(context, result)

    def push_each_key(self, context: Any, result: Mapping[Any, Any], task_log: Any) -> None:
        ti = context["ti"]
        task_id = getattr(ti, "task_id", "this task")
        for key, value in result.items():
            problem = xcom_key_problem(key, self.reserved) or _json_problem(value)
            if problem is None:
                try:
                    ti.xcom_push(key=key, value=value)
                    continue
                except Exception as error:
                    problem = f"Airflow refused it ({type(error).__name__}: {error})"
            task_log.warning(
                "Result %r is not pushed as an XCom key of its own: %s. It is in the return value: "
                "ti.xcom_pull(task_ids=%r)[%r]",
                key,
                problem,
                task_id,
                key,
            )


__all__ = ["XCOM_RETURN_KEY", "ResultXComs", "xcom_key_problem"]
