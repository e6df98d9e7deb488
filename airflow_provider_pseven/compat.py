"""What differs between the Airflow 3 minors this provider supports: 3.1, 3.2 and 3.3.

Every import whose location moved, and every feature that only newer Airflow has, is here, so the
rest of the package imports one name from one place. Each entry names the version that differs
and when it can go ("goes with 3.1": delete it when the floor becomes 3.2). Only public Airflow
modules are imported here, as everywhere in the package (tests/unit/test_public_api.py).
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

import logging
import re
from typing import Any

import airflow
import airflow.sdk
from airflow.sdk import BaseHook as _AirflowBaseHook  # Airflow 3.1+ (airflow.hooks.base on 3.0)

MIN_AIRFLOW = (3, 1)


def _version_tuple(text: str) -> tuple[int, int, int]:
    numbers = [int(n) for n in re.findall(r"\d+", text)[:3]]
    return (*numbers, 0, 0, 0)[:3]  # type: ignore[return-value]


#: The running Airflow's (major, minor, patch).
AIRFLOW_VERSION: tuple[int, int, int] = _version_tuple(airflow.__version__)

# -- imports that moved -------------------------------------------------------------------------

try:  # Airflow 3.2+: the Task SDK's configuration (goes with 3.1)
    from airflow.sdk import conf
except ImportError:  # Airflow 3.1
    from airflow.configuration import conf  # type: ignore[assignment]

try:  # Airflow 3.2+: the Task SDK's exceptions (goes with 3.1; airflow.exceptions re-exports them)
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

# -- features of newer Airflow --------------------------------------------------------------------

try:  # Airflow 3.3+: per-exception retry policies. On older Airflow these names do not exist here,
    # so ``from airflow_provider_pseven.compat import ExceptionRetryPolicy`` raises ImportError.
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule  # noqa: F401
except ImportError:  # Airflow 3.1, 3.2 (goes with 3.2)
    HAS_RETRY_POLICY = False
else:
    HAS_RETRY_POLICY = True

#: Airflow 3.3+ (the flags below go with the version they name): ``context["task_state_store"]``,
#: a store that survives between tries of a task.
HAS_TASK_STATE_STORE = AIRFLOW_VERSION >= (3, 3)
#: Airflow 3.3+: event watchers (``AssetWatcher``) with shared trigger streams and the asset state store.
HAS_EVENT_WATCHERS = AIRFLOW_VERSION >= (3, 3)
#: Airflow 3.2+: the connection form is built from ``conn-fields`` in provider info.
HAS_CONN_FIELDS = AIRFLOW_VERSION >= (3, 2)
#: Task SDK 1.1.8+ (Airflow 3.1.8+): the task runner's re-send of the rendered fields after execute
#: is guarded. Before, when the try went up for retry (its task instance already replaced by the
#: next try's), the re-send fails and so does the task runner's finalize: no retry callback, no
#: listeners. Goes when the floor is 3.1.8.
RTIF_RESEND_GUARDED = _version_tuple(airflow.sdk.__version__) >= (1, 1, 8)  # the Task SDK's version

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


if HAS_CONN_FIELDS and HAS_TASK_STATE_STORE:
    BaseHook = _AirflowBaseHook  # Airflow 3.3+: nothing to add
else:

    class BaseHook(_AirflowBaseHook):  # type: ignore[no-redef]
        """Airflow's BaseHook plus what older Airflow lacks (3.1, 3.2; goes with 3.2).

        On 3.1 a hook registered in provider info gets the connection form methods; on 3.1 and 3.2
        the first hook made in a process logs what works differently there.
        """

        def __init_subclass__(cls, **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            if not HAS_CONN_FIELDS:  # Airflow 3.1; goes when 3.1 does
                from airflow_provider_pseven.hooks.connection_form import add_connection_form

                add_connection_form(cls)

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
    "TaskDeferred",
    "conf",
    "degradations",
    "require_event_watchers",
    "warn_degradations_once",
]
