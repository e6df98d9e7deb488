"""What differs between the Airflow 3 minors this provider supports: 3.1, 3.2 and 3.3.

Every import whose location moved, and every feature that only newer Airflow has, is here, so the
rest of the package imports one name from one place. Each entry names the version that differs.
Features that are missing degrade explicitly (see docs/compatibility.md):

- retry policies (3.3): without them a mistake a retry cannot fix uses up the task's retries;
- the task state store (3.3): without it a retry cannot know the run its earlier try deployed, so
  a retry of a task that deploys a run deploys a new one (run names are unique per try); a step
  of a given run (start, results, ...) reads the run's state, so it never starts a run twice;
- ``conn-fields`` in provider info (3.2): on 3.1 the hook gets ``get_connection_form_widgets`` and
  ``get_ui_field_behaviour`` built from the same provider info, so the connection form is the same;
- event watchers with the asset state store (3.3): :func:`require_event_watchers` refuses with a
  message naming the version.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

import airflow
from airflow.sdk import BaseHook as _AirflowBaseHook  # Airflow 3.1+ (airflow.hooks.base on 3.0)

MIN_AIRFLOW = (3, 1)


def _version_tuple(text: str) -> tuple[int, int, int]:
    numbers = [int(n) for n in re.findall(r"\d+", text)[:3]]
    return (*numbers, 0, 0, 0)[:3]  # type: ignore[return-value]


#: The running Airflow's (major, minor, patch).
AIRFLOW_VERSION: tuple[int, int, int] = _version_tuple(airflow.__version__)

# -- imports that moved -------------------------------------------------------------------------

try:  # Airflow 3.2+: the Task SDK's configuration
    from airflow.sdk import conf
except ImportError:  # Airflow 3.1
    from airflow.configuration import conf  # type: ignore[assignment]

try:  # Airflow 3.2+: the Task SDK's exceptions (airflow.exceptions re-exports them, deprecated)
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowRescheduleException,
        AirflowSkipException,
        TaskDeferred,
    )
except ImportError:  # Airflow 3.1: all but AirflowException are only in airflow.exceptions
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowException,
        AirflowFailException,
        AirflowRescheduleException,
        AirflowSkipException,
        TaskDeferred,
    )

try:  # Airflow 3.2+: what the triggerer imports trigger classes with
    from airflow._shared.module_loading import import_string
except ImportError:  # Airflow 3.1
    from airflow.utils.module_loading import import_string  # type: ignore[no-redef]

# -- features of newer Airflow --------------------------------------------------------------------

try:  # Airflow 3.3+: per-exception retry policies. On older Airflow these names do not exist here,
    # so ``from airflow_provider_pseven.compat import ExceptionRetryPolicy`` raises ImportError.
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule  # noqa: F401
except ImportError:  # Airflow 3.1, 3.2
    HAS_RETRY_POLICY = False
else:
    HAS_RETRY_POLICY = True

#: Airflow 3.3+: ``context["task_state_store"]``, a store that survives between tries of a task.
HAS_TASK_STATE_STORE = AIRFLOW_VERSION >= (3, 3)
#: Airflow 3.3+: event watchers (``AssetWatcher``) with shared trigger streams and the asset state store.
HAS_EVENT_WATCHERS = AIRFLOW_VERSION >= (3, 3)
#: Airflow 3.2+: the connection form is built from ``conn-fields`` in provider info.
HAS_CONN_FIELDS = AIRFLOW_VERSION >= (3, 2)
#: Task SDK 1.1.8+ (Airflow 3.1.8+): the task runner's re-send of the rendered fields after execute
#: is guarded. Before, when the try went up for retry (its task instance already replaced by the
#: next try's), the re-send fails and so does the task runner's finalize: no retry callback, no
#: listeners.
RTIF_RESEND_GUARDED = _version_tuple(importlib.metadata.version("apache-airflow-task-sdk")) >= (1, 1, 8)

log = logging.getLogger(__name__)


def degradations() -> list[str]:
    """What this Airflow lacks that the provider would use, one sentence each (empty on 3.3+)."""
    missing = []
    if not HAS_RETRY_POLICY:
        missing.append(
            "no retry policies (Airflow 3.3+): a mistake a retry cannot fix (unknown workflow, "
            "bad token, wrong host) uses up the task's retries instead of failing at once"
        )
    if not HAS_TASK_STATE_STORE:
        missing.append(
            "no task state store (Airflow 3.3+): a retry of a task that deploys a pSeven run "
            "deploys a new run instead of adopting the one its earlier try deployed"
        )
    return missing


_warned = False


def warn_degradations_once() -> None:
    """Log, once per process, what works differently on this Airflow (nothing on 3.3+)."""
    global _warned  # noqa: PLW0603 - once per process by design
    if _warned:
        return
    _warned = True
    missing = degradations()
    if missing:
        log.warning(
            "pSeven provider on Airflow %s: %s. See docs/compatibility.md.",
            airflow.__version__,
            "; ".join(missing),
        )


def require_event_watchers(what: str) -> None:
    """Refuse a feature built on event watchers and the asset state store before Airflow 3.3."""
    if not HAS_EVENT_WATCHERS:
        raise AirflowException(
            f"{what} needs Airflow 3.3 or newer (event watchers with shared trigger streams and the "
            f"asset state store); this is Airflow {airflow.__version__}. On older Airflow, schedule "
            "a DAG with RunStateSensor instead."
        )


# -- the secret masker ------------------------------------------------------------------------------


def mask_secret(secret: str, name: str | None = None) -> None:
    """Register ``secret`` with Airflow's secret masker through its public API,
    ``airflow.sdk.log.mask_secret`` (3.1+): the task process's masker and the supervisor's.

    Looked up at each call (tests patch it). Under ``airflow dags test`` and ``dag.test()`` at DEBUG,
    Airflow's in-process supervisor logs the message in full (docs/compatibility.md, Secrets).
    """
    from airflow.sdk.log import mask_secret as airflow_mask_secret

    airflow_mask_secret(secret, name)


# -- XCom: what a task may push as a key of its own -----------------------------------------------
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
    the keys are pushed it calls the task's ``result_keys_pushed()``, so Airflow's runner does not
    push them again with ``multiple_outputs`` (see PsevenBaseOperator.multiple_outputs).
    """

    def __init__(
        self, then: Callable[[Any, Any], Any] | None = None, reserved: Collection[str] = ("pseven_run",)
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
            pushed = getattr(task, "result_keys_pushed", None)
            if callable(pushed):
                pushed()
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


# -- the connection form on Airflow 3.1 -----------------------------------------------------------


def _connection_type(hook_class: type) -> dict[str, Any] | None:
    """The provider-info ``connection-types`` entry of ``hook_class``, if it is the registered hook."""
    from airflow_provider_pseven.get_provider_info import get_provider_info

    name = f"{hook_class.__module__}.{hook_class.__qualname__}"
    for entry in get_provider_info().get("connection-types", []):
        if entry.get("hook-class-name") == name:
            return entry
    return None


def connection_form_widgets(conn_fields: dict[str, Any]) -> dict[str, Any]:
    """``conn-fields`` (JSON schema, Airflow 3.2+) as the WTForms widgets Airflow 3.1 reads.

    Airflow 3.1 accepts StringField, IntegerField, PasswordField and BooleanField only; its API
    server imports them with WTForms and Flask-AppBuilder mocked when those are not installed.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, StringField
    from wtforms.validators import Optional, any_of

    widgets: dict[str, Any] = {}
    for name, spec in conn_fields.items():
        schema = spec.get("schema", {})
        types = schema.get("type", "string")
        types = [types] if isinstance(types, str) else list(types)
        label = lazy_gettext(spec.get("label", name))
        common: dict[str, Any] = {"description": spec.get("description", "")}
        if "default" in schema:
            common["default"] = schema["default"]
        if "boolean" in types:
            widgets[name] = BooleanField(label, **common)
            continue
        validators: list[Any] = [Optional()]
        if "enum" in schema:
            validators.append(any_of(list(schema["enum"])))
        field_class = IntegerField if {"number", "integer"} & set(types) else StringField
        widgets[name] = field_class(label, validators=validators, widget=BS3TextFieldWidget(), **common)
    return widgets


def ui_field_behaviour(behaviour: dict[str, Any]) -> dict[str, Any]:
    """``ui-field-behaviour`` of provider info (Airflow 3.2+) in the hook method's spelling (3.1)."""
    return {key.replace("-", "_"): value for key, value in behaviour.items()}


def _add_connection_form(hook_class: type) -> None:
    """Give the registered hook class the 3.1 form methods, in its own ``__dict__`` (Airflow 3.1
    looks only there), built from its provider-info entry: one description of the form."""
    entry = _connection_type(hook_class)
    if entry is None:
        return
    conn_fields = entry.get("conn-fields") or {}
    behaviour = entry.get("ui-field-behaviour") or {}

    def get_connection_form_widgets(cls: type) -> dict[str, Any]:
        return connection_form_widgets(conn_fields)

    def get_ui_field_behaviour(cls: type) -> dict[str, Any]:
        return ui_field_behaviour(behaviour)

    if conn_fields and "get_connection_form_widgets" not in hook_class.__dict__:
        hook_class.get_connection_form_widgets = classmethod(get_connection_form_widgets)  # type: ignore[attr-defined]
    if behaviour and "get_ui_field_behaviour" not in hook_class.__dict__:
        hook_class.get_ui_field_behaviour = classmethod(get_ui_field_behaviour)  # type: ignore[attr-defined]


if HAS_CONN_FIELDS and HAS_TASK_STATE_STORE:
    BaseHook = _AirflowBaseHook  # Airflow 3.3+: nothing to add
else:

    class BaseHook(_AirflowBaseHook):  # type: ignore[no-redef]
        """Airflow's BaseHook plus what older Airflow lacks (3.1, 3.2).

        On 3.1 a hook registered in provider info gets the connection form methods; on 3.1 and 3.2
        the first hook made in a process logs what works differently there.
        """

        def __init_subclass__(cls, **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            if not HAS_CONN_FIELDS:
                _add_connection_form(cls)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            warn_degradations_once()


__all__ = [
    "AIRFLOW_VERSION",
    "HAS_CONN_FIELDS",
    "HAS_EVENT_WATCHERS",
    "HAS_RETRY_POLICY",
    "HAS_TASK_STATE_STORE",
    "MIN_AIRFLOW",
    "RTIF_RESEND_GUARDED",
    "AirflowException",
    "AirflowFailException",
    "AirflowRescheduleException",
    "AirflowSkipException",
    "BaseHook",
    "ResultXComs",
    "TaskDeferred",
    "conf",
    "connection_form_widgets",
    "degradations",
    "import_string",
    "mask_secret",
    "require_event_watchers",
    "ui_field_behaviour",
    "warn_degradations_once",
    "xcom_key_problem",
]
