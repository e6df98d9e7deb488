"""What a RunEventTrigger puts in Airflow: one asset event per look, ``{"runs": [...]}``.

Each run is one object (:func:`payload`); a look's runs go in ONE event, since Airflow 3.3.2 queues a
DAG run per (asset, DAG) and a second event stored while that queue row waits is left behind until
some later event (docs/events.md). A burst larger than :data:`EVENT_BYTES` is split across looks,
never cut. ``airflow_provider_pseven.pseven_runs`` reads the events back in a DAG.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_pseven.client.models import Run, RunKind


def payload(
    kind: RunKind,
    parent_id: str,
    run: Run,
    results: Mapping[str, Any] | None,
    *,
    redelivered: bool = False,
) -> dict[str, Any]:
    """One run of an event's ``runs``: the run's address and summary, plus ``results`` (Secrets
    as ``""``) unless they were not asked for. ``redelivered`` (only when true) marks a run that
    may have been reported already."""
    data: dict[str, Any] = {
        kind.id_field: parent_id,
        "run_id": run.id,
        "name": run.name,
        "path": run.path,
        "url": run.url,
        "state": run.state_text,
    }
    if results is not None:
        data["results"] = _finite(dict(results))
    if redelivered:
        data["redelivered"] = True
    return data


#: The most JSON bytes one asset event's ``runs`` may take: Airflow keeps an event's ``extra`` in a
#: JSON column of the metadata database and sends it to every consumer, and the provider holds it,
#: like the asset state store's watermark, to 64 KiB; the rest of a burst goes in later events.
EVENT_BYTES = 60 * 1024


def batch_payload(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One asset event's payload: every run a look reports, each with exactly :func:`payload`'s
    fields. One event per look, because Airflow 3.3.2 queues a DAG run per (asset, DAG) and leaves
    events stored after the queue row behind (docs/events.md)."""
    return {"runs": [dict(run) for run in runs]}


def fitting(runs: Sequence[Mapping[str, Any]], limit: int | None = None) -> int:
    """How many of ``runs`` (from the first) one event holds within ``limit`` JSON bytes
    (:data:`EVENT_BYTES`); at least one, since a run is never cut (a run over the limit goes
    alone, whole)."""
    limit = EVENT_BYTES if limit is None else limit
    size = len(json.dumps(batch_payload([]), separators=(",", ":")))
    for count, run in enumerate(runs):
        size += len(json.dumps(run, separators=(",", ":"), default=str).encode("utf-8")) + 1
        if size > limit and count:
            return count
    return len(runs)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become None (as in XComs)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


__all__ = ["EVENT_BYTES", "batch_payload", "fitting", "payload"]
