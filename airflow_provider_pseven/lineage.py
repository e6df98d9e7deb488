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
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

#: Where the pseven_run facet's JSON schema is (docs/openlineage/PsevenRunFacet.json); a URN while
#: the project has no published URL of its own.
RUN_FACET_SCHEMA = "urn:airflow-provider-pseven:openlineage:PsevenRunFacet:1"
JOB_FACET_SCHEMA = "urn:airflow-provider-pseven:openlineage:PsevenJobFacet:1"


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


def operator_lineage(noted: Any) -> Any:
    """The ``OperatorLineage`` of a task's :class:`~airflow_provider_pseven.tasks.notes.Record`, or
    of nothing noted (``None``); imports the OpenLineage provider. Typed ``Any`` so that this
    module, which notes imports when asked for facets, does not import notes back."""
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


__all__ = ["dataset_of", "operator_lineage", "refresh_redaction", "run_directory", "scrub_parameters"]
