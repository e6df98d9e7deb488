"""Airflow Assets for pSeven: the ``pseven://`` URI scheme, download destinations as Assets, and
the run metadata the operators attach to the events of their outlets.

``pseven://{host}/{storage path}`` names a workflow, app or file of a pSeven Enterprise server, e.g.
``pseven://app.pseven.io/Users/1/ToyWorkflow.p7wf``. Registered in provider info (``asset-uris``),
so Airflow validates and normalises such URIs: the host is lower-cased, a path is required, and
characters are percent-encoded one way (``%20`` and a space are the same asset). A ``#`` in a
storage path (run folders are ``#00000001.p7run``) must be written ``%23``: Airflow drops URI
fragments before a normaliser sees them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

if TYPE_CHECKING:
    from airflow.sdk import Asset

SCHEME = "pseven"
#: Characters Airflow's normaliser (:func:`sanitize_uri`) leaves unquoted in a storage path.
_PATH_SAFE = "/@:+,;=~!$&'()*"
#: The key of an outlet event's ``extra`` that holds the pSeven run (see :func:`run_extra`).
EXTRA_KEY = "pseven"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's normaliser for ``pseven://`` asset URIs (provider info ``asset-uris`` handler)."""
    if not uri.hostname:
        raise ValueError(
            "A pseven:// asset URI needs the server's host: pseven://app.pseven.io/Users/1/Flow.p7wf"
        )
    if not uri.path or uri.path == "/":
        raise ValueError(
            "A pseven:// asset URI needs a storage path: pseven://app.pseven.io/Users/1/Flow.p7wf"
        )
    netloc = uri.hostname.lower() + (f":{uri.port}" if uri.port else "")
    return uri._replace(netloc=netloc, path=quote(unquote(uri.path), safe=_PATH_SAFE))


def create_asset(*, host: str, path: str, extra: Mapping[str, Any] | None = None) -> Asset:
    """The Asset of a storage path on a server (provider info ``asset-uris`` factory)."""
    from airflow.sdk import Asset

    return Asset(uri=storage_uri(host, path), extra=dict(extra or {}))


def storage_uri(server: str, path: str) -> str:
    """``pseven://{host}/{storage path}`` of ``path`` on the server of ``server`` (a host, or any URL
    of that server such as a run's ``url``), written as Airflow normalises a ``pseven://`` Asset's
    URI, so the URL a task pushes to XCom is the URI of the same file's Asset (``#`` is ``%23``)."""
    host = urlsplit(server if "://" in server else f"https://{server}").netloc or server
    host = host.rpartition("@")[2].lower()
    return f"{SCHEME}://{host}/{quote(path.lstrip('/'), safe=_PATH_SAFE)}"


def convert_asset_to_openlineage(asset: Any, lineage_context: Any) -> Any:
    """``pseven://host/path`` as an OpenLineage dataset: namespace ``pseven://host``, name the path."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = urlsplit(asset.uri)
    return Dataset(namespace=f"{SCHEME}://{parts.netloc}", name=unquote(parts.path))


def download_asset(destination: str | os.PathLike[str]) -> Asset:
    """The Asset of a download destination: a local path (as ``file://``) or an object-storage URL.

    Pass it as ``DownloadFileOperator(destination=...)``: the operator downloads there and declares
    the Asset as its outlet, so a DAG scheduled on the same Asset runs after each download and finds
    the run in ``triggering_asset_events[asset][-1].extra["pseven"]``.
    """
    from airflow.sdk import Asset

    text = os.fspath(destination)
    if "://" not in text:
        text = "file://" + os.path.abspath(os.path.expanduser(text))
    return Asset(uri=text)


def destination_of(asset: Any, remote: str) -> str:
    """Where an Asset destination puts ``remote`` (a file or folder of the run).

    Airflow drops a URI's trailing ``/``, so an Asset cannot say "folder" that way. The rule: an
    Asset whose last path segment is the downloaded item's own name is that item's path; any other
    Asset is a folder that receives the item under its own name.
    """
    uri = str(asset.uri)
    name = remote.strip("/").rsplit("/", 1)[-1]
    if uri.rstrip("/").rsplit("/", 1)[-1] == name:
        return uri
    return uri.rstrip("/") + "/"


def run_extra(
    summary: Mapping[str, Any], results: Mapping[str, Any] | None = None, files: Sequence[str] | None = None
) -> dict[str, Any]:
    """What an outlet event of a pSeven task carries: the run's address and summary, its results
    (Secrets already ``""``) and the files written, under the key ``pseven``."""
    data: dict[str, Any] = {
        key: summary[key]
        for key in ("workflow_id", "app_id", "run_id", "name", "path", "url", "state")
        if summary.get(key) is not None
    }
    if results is not None:
        data["results"] = dict(results)
    if files is not None:
        data["files"] = list(files)
    return {EXTRA_KEY: data}


def is_asset(value: Any) -> bool:
    """Whether ``value`` is an Airflow Asset (not an alias): checked with ``isinstance`` against
    ``airflow.sdk.Asset``, imported here because URI normalisation imports this module early."""
    from airflow.sdk import Asset

    return isinstance(value, Asset)


def attach_to_outlets(context: Mapping[str, Any], extra: Mapping[str, Any]) -> int:
    """Add ``extra`` to the event of every Asset outlet of the running task; returns how many.

    Airflow reads ``context["outlet_events"][asset].extra`` when it records the task's asset events.
    Alias outlets are left alone (their events are added by name, not declared).
    """
    task = context.get("task")
    events = context.get("outlet_events")
    if task is None or events is None:
        return 0
    count = 0
    for outlet in getattr(task, "outlets", None) or ():
        if not is_asset(outlet):
            continue
        events[outlet].extra.update(extra)
        count += 1
    return count


def asset_outlets(context: Mapping[str, Any]) -> list[Any]:
    """The running task's Asset outlets (not aliases)."""
    task = context.get("task")
    return [o for o in getattr(task, "outlets", None) or () if is_asset(o)]


def attach_run(
    context: Mapping[str, Any],
    client: Any,
    ref: Any,
    run: Any = None,
    files: Sequence[str] | None = None,
) -> int:
    """Put the run (address, summary, results with Secrets as ``""``) and ``files`` on the events of
    the task's Asset outlets. Reads the run's details only when the task has outlets and ``run``
    is not given; returns the number of events it added to.

    Also notes the run for OpenLineage (airflow_provider_pseven/tasks/notes.py): ``files`` are
    outputs, and a task's own ``files`` argument (local files it uploaded, RunWorkflowOperator) inputs."""
    from airflow_provider_pseven.tasks import notes

    task = context.get("task")
    uploaded = getattr(task, "files", None)
    inputs = list(uploaded) if isinstance(uploaded, (list, tuple)) else []
    notes.record(task, ref, run, inputs=inputs, outputs=files or ())
    if not asset_outlets(context) or context.get("outlet_events") is None:
        return 0
    if run is None:
        run = client.get_run(ref)
    summary = {
        ref.kind.id_field: ref.parent_id,
        "run_id": ref.run_id,
        "name": run.name,
        "path": run.path,
        "url": run.url,
        "state": run.state_text,
    }
    from airflow_provider_pseven.operators.parameters import shown_results  # operators import this module

    return attach_to_outlets(context, run_extra(summary, shown_results(run), files))


def pseven_runs(events: Any) -> list[dict[str, Any]]:
    """The pSeven runs a DAG run received from ``RunEventTrigger`` watchers, one dict per run (the
    fields of docs/events.md), oldest event first, each run once: ready for ``.expand()``.

    ``events`` is ``triggering_asset_events[asset]`` (or the whole ``triggering_asset_events``, or
    any list of asset events). A watcher's event carries every run one look found ended, under
    ``extra["payload"]["runs"]``; events of earlier provider versions carry one run as the payload
    itself: both are read here, so a DAG never parses payload shapes. Events that did not come from
    a trigger (an API or a task made them) carry no runs and are passed over. A run in two events
    (redelivered after a triggerer crash) is returned once, marked ``redelivered``.
    """
    if isinstance(events, Mapping):
        events = [event for group in events.values() for event in group]
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        extra = event.get("extra") if isinstance(event, Mapping) else getattr(event, "extra", None)
        if not isinstance(extra, Mapping) or "payload" not in extra:
            continue
        for run in _runs_of(extra["payload"]):
            if run["run_id"] in found:
                found[run["run_id"]]["redelivered"] = True
            else:
                found[run["run_id"]] = dict(run)
    return list(found.values())


def _runs_of(payload: Any) -> list[Mapping[str, Any]]:
    runs = payload.get("runs") if isinstance(payload, Mapping) else None
    if isinstance(payload, Mapping) and "run_id" in payload and runs is None:
        runs = [payload]  # one run, as RunEventTrigger sent it before 0.3
    if not isinstance(runs, list) or not all(isinstance(r, Mapping) and "run_id" in r for r in runs):
        raise ValueError(
            "pseven_runs: an asset event's extra['payload'] is not a RunEventTrigger payload "
            f"(expected {{'runs': [{{'run_id': ...}}, ...]}}): {str(payload)[:200]}"
        )
    return runs


__all__ = [
    "EXTRA_KEY",
    "SCHEME",
    "asset_outlets",
    "attach_run",
    "attach_to_outlets",
    "convert_asset_to_openlineage",
    "create_asset",
    "destination_of",
    "download_asset",
    "pseven_runs",
    "run_extra",
    "sanitize_uri",
    "storage_uri",
]
