"""OpenLineage facets of the pSeven operators (with ``apache-airflow-providers-openlineage``:
``pip install "airflow-provider-pseven[openlineage]"``).

Nothing here imports OpenLineage until the OpenLineage listener asks an operator for its facets
(``get_openlineage_facets_on_complete``), which only happens when that provider is installed. While a
task runs, operators only note what lineage needs (:func:`record`): the run, its workflow or app,
the local files uploaded and the places downloaded to.

What a task reports:
- job facet ``pseven_job``: the workflow or app the task runs (kind, id, and the workflow argument
  as given: a path or a name); the job itself is the Airflow task, as the listener names it;
- inputs: the files uploaded into the run, local (``file``) or object-storage URLs (``s3://bucket``
  ...), and the run directory for a task that reads it (download, results, listing);
- outputs: the files downloaded, local or object storage, and the run directory for a task that
  makes or fills it (deploy, upload, start, the whole cycle); the run directory is the dataset
  ``pseven://<server host>`` named by the run's path;
- run facet ``pseven_run``, on every task that addresses a run: the pSeven run's id, name, URL and
  state, and its parameters as the server reads them back, without Secrets: a parameter typed
  Secret, named in ``secret_parameters``, shown as ``""`` though the task sent a value (how the API
  shows a set Secret), or whose value Airflow's secrets masker would hide, is left out, key and all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: Where the pseven_run facet's JSON schema is (docs/openlineage/PsevenRunFacet.json); a URN while
#: the project has no published URL of its own.
RUN_FACET_SCHEMA = "urn:airflow-provider-pseven:openlineage:PsevenRunFacet:1"
JOB_FACET_SCHEMA = "urn:airflow-provider-pseven:openlineage:PsevenJobFacet:1"
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
    if isinstance(item, os.PathLike) or (isinstance(item, str) and "://" not in item):
        return os.path.abspath(os.fspath(item))
    if not isinstance(item, str):  # an ObjectStoragePath
        return f"{item.protocol}://{item.path}"
    parts = urlsplit(item)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


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


def dataset_of(location: str) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a local path or a URL, as Airflow's file and object-storage
    assets name them: ``("file", "/data/x.csv")``, ``("s3://bucket", "key/x.csv")``."""
    if "://" not in location or location.startswith("file://"):
        path = location[len("file://") :] if location.startswith("file://") else location
        return "file", os.path.abspath(path)
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}", parts.path.lstrip("/") or "/"


def run_directory(run: Mapping[str, Any]) -> tuple[str, str] | None:
    """The run directory as an OpenLineage (namespace, name): ``("pseven://host", run path)``."""
    if not run.get("path"):
        return None
    host = urlsplit(str(run.get("url") or "")).netloc.rpartition("@")[2].lower()  # as pseven:// Assets
    return f"pseven://{host}" if host else "pseven", str(run["path"])


def operator_lineage(noted: Record | None) -> Any:
    """The ``OperatorLineage`` of a task's record (imports the OpenLineage provider)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    if noted is None:
        return OperatorLineage()
    facets = _facet_classes()
    # The job is the Airflow task (the listener names it and sets its jobType); this facet says
    # which pSeven workflow or app that task runs.
    job_facets: dict[str, Any] = {
        "pseven_job": facets.PsevenJobFacet(kind=noted.kind, id=noted.parent_id, spec=noted.parent),
    }
    run_facets: dict[str, Any] = {}
    if noted.run:
        run_facets["pseven_run"] = facets.PsevenRunFacet(
            runId=str(noted.run.get("run_id", "")),
            name=noted.run.get("name"),
            url=noted.run.get("url"),
            state=noted.run.get("state"),
            parameters=dict(noted.parameters),
        )
    inputs = list(dict.fromkeys(dataset_of(path) for path in noted.inputs))
    outputs = list(dict.fromkeys(dataset_of(path) for path in noted.outputs))
    directory = run_directory(noted.run)
    if directory is not None and noted.run_dataset in ("input", "output"):
        (inputs if noted.run_dataset == "input" else outputs).append(directory)
    return OperatorLineage(
        inputs=[Dataset(*names) for names in inputs],
        outputs=[Dataset(*names) for names in outputs],
        run_facets=run_facets,
        job_facets=job_facets,
    )


_FACETS: Any = None


def _facet_classes() -> Any:
    """The facet classes, defined on first use (they subclass the OpenLineage client's)."""
    global _FACETS  # noqa: PLW0603 - built once, after the optional import succeeded
    if _FACETS is not None:
        return _FACETS
    import attr
    from openlineage.client.generated.base import JobFacet, RunFacet

    @attr.define
    class PsevenRunFacet(RunFacet):
        """The pSeven run behind an Airflow task: id, name, URL, state, parameters (no Secrets)."""

        runId: str
        name: str | None = None
        url: str | None = None
        state: str | None = None
        parameters: dict[str, Any] = attr.field(factory=dict)

        @staticmethod
        def _get_schema() -> str:
            return RUN_FACET_SCHEMA

    @attr.define
    class PsevenJobFacet(JobFacet):
        """The pSeven workflow or app a task runs."""

        kind: str
        id: str
        spec: str | None = None

        @staticmethod
        def _get_schema() -> str:
            return JOB_FACET_SCHEMA

    class Facets:
        pass

    holder = Facets()
    holder.PsevenRunFacet = PsevenRunFacet  # type: ignore[attr-defined]
    holder.PsevenJobFacet = PsevenJobFacet  # type: ignore[attr-defined]
    _FACETS = holder
    return holder


def refresh_redaction() -> None:
    """Let the OpenLineage listener redact every value Airflow's secrets masker knows *now*.

    The provider (2.20) copies the masker's compiled pattern when its adapter is made, at process
    start, so a value masked later (a Variable read while templates render, a Secret parameter this
    provider recognises) would reach the events in clear: its own ``airflow`` run facet lists an
    operator's ``parameters``. Called before each event of a pSeven task.
    """
    try:
        from airflow.listeners.listener import get_listener_manager
        from airflow.providers.openlineage.plugins.adapter import _secrets_masker
        from airflow.providers.openlineage.utils.utils import OpenLineageRedactor
    except ImportError:  # pragma: no cover - another provider version: nothing to refresh
        return
    for plugin in get_listener_manager().pm.get_plugins():
        adapter = getattr(plugin, "adapter", None)
        if adapter is not None and hasattr(adapter, "_redacter"):
            adapter._redacter = OpenLineageRedactor.from_masker(_secrets_masker())


def scrub_parameters(task: Any) -> None:
    """Mask ``task.parameters`` in a copy of the task process made only to emit an event.

    The provider's own ``airflow`` run facet copies an operator's ``parameters`` into the event, and
    its redaction does not reach inside that copy (2.20), so a Secret given in ``parameters`` would
    be sent. The listener emits from a forked copy of the task process (unless ``[openlineage]
    execute_in_thread``): there, and only there (the process id differs from the one that built the
    task), ``parameters`` is replaced by its redacted form: Airflow's secrets masker (Variables,
    connections, Secret parameters this provider recognised) and sensitive names (``MySecret``,
    ``password``, ...). In thread mode the task is never touched.
    """
    if getattr(task, "_pseven_pid", os.getpid()) == os.getpid():
        return
    parameters = getattr(task, "parameters", None)
    if isinstance(parameters, Mapping):
        try:
            from airflow.sdk.log import redact
        except ImportError:  # pragma: no cover - older Task SDKs
            return
        task.parameters = {key: redact(value, str(key)) for key, value in parameters.items()}


class LineageMixin:
    """Gives an operator the OpenLineage provider's facet methods, built from :func:`record`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pseven_pid = os.getpid()  # see scrub_parameters

    def _lineage(self) -> Any:
        refresh_redaction()
        scrub_parameters(self)
        return operator_lineage(getattr(self, _ATTRIBUTE, None))

    def get_openlineage_facets_on_start(self) -> Any:
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._lineage()


__all__ = [
    "LineageMixin",
    "Record",
    "dataset_of",
    "location_of",
    "operator_lineage",
    "record",
    "run_directory",
    "safe_parameters",
]
