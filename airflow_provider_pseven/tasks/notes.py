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
from urllib.parse import urlsplit

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
    #: "input" or "output": the run directory is a dataset of the task (``pseven_run_dataset``).
    run_dataset: str | None = None


def record(
    task: Any,
    ref: Any = None,
    run: Any = None,
    *,
    inputs: Iterable[Any] = (),
    outputs: Iterable[Any] = (),
    sent: Mapping[str, Any] | None = None,
) -> None:
    """Note the run (a ``RunRef``; its ``Run`` if read, or a run summary dict), the inputs uploaded
    (paths, URLs, ``ObjectStoragePath``) and the download destinations on ``task``, for
    :meth:`LineageMixin.get_openlineage_facets_on_complete`."""
    if task is None:
        return
    noted: Record = getattr(task, _ATTRIBUTE, None) or Record()
    noted.run_dataset = getattr(task, "pseven_run_dataset", None)
    if ref is not None:
        noted.kind, noted.parent_id = ref.kind.value, ref.parent_id
        noted.run.setdefault("run_id", ref.run_id)
    parent = getattr(task, "workflow", None) or getattr(task, "app", None)
    if isinstance(parent, str):
        noted.parent = parent
    if isinstance(run, Mapping):
        noted.run.update({key: run[key] for key in ("name", "path", "url", "state") if key in run})
    elif run is not None:
        noted.run.update(
            {"run_id": run.id, "name": run.name, "path": run.path, "url": run.url, "state": run.state_text}
        )
        declared = tuple(getattr(task, "secret_parameters", None) or ())
        given = sent or getattr(task, "parameters", None) or {}
        noted.parameters = safe_parameters(run.parameters, given, declared)
    noted.inputs.extend(location_of(item[0] if isinstance(item, (tuple, list)) else item) for item in inputs)
    noted.outputs.extend(location_of(item) for item in outputs)
    setattr(task, _ATTRIBUTE, noted)


def location_of(item: Any) -> str:
    """A local path made absolute, or a URL without the connection id (``s3://conn@b/k`` -> ``s3://b/k``)."""
    if is_object_path(item):
        return f"{item.protocol}://{item.path}"
    if isinstance(item, os.PathLike) or (isinstance(item, str) and "://" not in item):
        return os.path.abspath(os.fspath(item))
    if not isinstance(item, str):
        return str(item)
    parts = urlsplit(item)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def is_object_path(item: Any) -> bool:
    """Whether ``item`` is an ``ObjectStoragePath``. Asked before ``os.PathLike``: on Airflow 3.1
    an ``ObjectStoragePath`` is also an ``os.PathLike`` (its universal-pathlib is a ``PurePath``)."""
    if isinstance(item, (str, bytes)):
        return False
    from airflow.sdk import ObjectStoragePath

    return isinstance(item, ObjectStoragePath)


def safe_parameters(
    parameters: Sequence[Any], sent: Mapping[str, Any], declared: Sequence[str] = ()
) -> dict[str, Any]:
    """Parameters by name, as read back from the server, Secrets left out, key and all: typed
    Secret, named in ``declared`` (``secret_parameters``), shown as ``""`` where the task sent a
    non-empty value (a set Secret reads back as ``""``), or masked by Airflow's secrets masker."""
    shown: dict[str, Any] = {}
    for parameter in parameters:
        given = sent.get(parameter.name, sent.get(parameter.id))
        if parameter.is_secret or parameter.name in declared or parameter.id in declared:
            continue
        if parameter.value == "" and given not in (None, ""):
            continue
        if parameter.value is None and given not in (None, ""):
            continue  # not read back: an unset Secret reads null, and so may a hidden value
        if _masked(parameter.name, parameter.value) or _masked(parameter.name, given):
            continue
        shown[parameter.name] = parameter.value
    return shown


def _masked(name: str, value: Any) -> bool:
    """Whether Airflow's secrets masker hides ``value`` (a Variable's, a connection's, a sensitive
    name's): its key would otherwise reach the facet with ``"***"``."""
    if value in (None, ""):
        return False
    try:
        from airflow.sdk.log import redact
    except ImportError:  # pragma: no cover - older Task SDKs
        return False
    return bool(redact(value, name) != value)


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


__all__ = ["LineageMixin", "Record", "is_object_path", "location_of", "record", "safe_parameters"]
