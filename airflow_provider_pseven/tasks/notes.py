"""What a pSeven task did that OpenLineage reports, noted while it runs (:func:`record`), and the
operator methods the OpenLineage listener calls (:class:`LineageMixin`).

Noting is cheap and imports nothing; building the events (:mod:`airflow_provider_pseven.lineage`,
which imports the OpenLineage provider) happens only when the listener asks for them, so a worker
without OpenLineage never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_ATTRIBUTE = "_pseven_lineage"


@dataclass
class Record:
    """What one task did that lineage reports."""

    kind: str = "workflow"
    parent_id: str = ""
    parent: str | None = None
    run: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def record(
    task: Any,
    ref: Any = None,
    run: Any = None,
    *,
    inputs: Iterable[Any] = (),
    outputs: Iterable[str] = (),
    sent: Mapping[str, Any] | None = None,
) -> None:
    """Note the run (a ``RunRef`` and, if read, its ``Run``), uploaded local files and download
    destinations on ``task``, for :meth:`LineageMixin.get_openlineage_facets_on_complete`."""
    if task is None:
        return
    noted: Record = getattr(task, _ATTRIBUTE, None) or Record()
    if ref is not None:
        noted.kind, noted.parent_id = ref.kind.value, ref.parent_id
        noted.run.setdefault("run_id", ref.run_id)
    parent = getattr(task, "workflow", None) or getattr(task, "app", None)
    if isinstance(parent, str):
        noted.parent = parent
    if run is not None:
        noted.run.update({"run_id": run.id, "name": run.name, "url": run.url, "state": run.state_text})
        noted.parameters = safe_parameters(run.parameters, sent or getattr(task, "parameters", None) or {})
    for item in inputs:
        local = item[0] if isinstance(item, (tuple, list)) and item else item
        if isinstance(local, (str, os.PathLike)):
            noted.inputs.append(os.path.abspath(os.fspath(local)))
    noted.outputs.extend(str(o) for o in outputs)
    setattr(task, _ATTRIBUTE, noted)


def safe_parameters(parameters: Sequence[Any], sent: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters by name, as read back from the server, Secrets left out: typed Secret, or shown
    as ``""`` where the task sent a non-empty value (a set Secret reads back as ``""``)."""
    shown: dict[str, Any] = {}
    for parameter in parameters:
        given = sent.get(parameter.name, sent.get(parameter.id))
        if parameter.is_secret or (parameter.value == "" and given not in (None, "")):
            continue
        if parameter.value is None and given not in (None, ""):
            continue  # not read back: an unset Secret reads null, and so may a hidden value
        shown[parameter.name] = parameter.value
    return shown


class LineageMixin:
    """Gives an operator the OpenLineage provider's facet methods, built from :func:`record`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pseven_pid = os.getpid()  # see scrub_parameters

    def _lineage(self) -> Any:
        from airflow_provider_pseven import lineage  # imports notes: no cycle at import time

        lineage.refresh_redaction()
        lineage.scrub_parameters(self)
        return lineage.operator_lineage(getattr(self, _ATTRIBUTE, None))

    def get_openlineage_facets_on_start(self) -> Any:
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._lineage()


__all__ = ["LineageMixin", "Record", "record", "safe_parameters"]
