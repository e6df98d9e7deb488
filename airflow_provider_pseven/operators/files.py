"""Operators that move files in and out of a run directory: upload, download, list."""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven import assets
from airflow_provider_pseven.client import (
    FileEntry,
    FileSink,
    PsevenRequestMayHaveSucceeded,
    PsevenTreeLimitError,
    PsevenUnsafeNameError,
    RunRef,
    RunState,
    StreamSink,
)
from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.operators.base import PsevenRunOperator
from airflow_provider_pseven.tasks import notes

if TYPE_CHECKING:
    from airflow_provider_pseven.client.run_files import TreeLimits
    from airflow_provider_pseven.client.sync import PsevenClient


class UploadFilesOperator(PsevenRunOperator):
    """Stream files into the run directory of a CONFIGURATION run, and create directories.

    :param files: each a local path, a ``file://`` or fsspec URL (``s3://bucket/key``, read through
        Airflow's storage connections: ``s3://conn_id@bucket/key``) or an ``ObjectStoragePath``, or
        ``(that, name in the run)`` to rename it. A folder or an object prefix uploads its tree.
        Objects stream in chunks; everything is checked before the first byte is sent.
    :param destination: folder in the run directory (relative, or absolute inside the run).
    :param directories: empty folders to create, relative to ``destination``.
    :return: the storage paths of the uploaded files (the log says where each came from); the XCom
        key ``uploaded_urls`` has each as a ``pseven://{host}{storage path}`` URL (the URI of its Asset).
    """

    template_fields: Sequence[str] = (
        *PsevenRunOperator.template_fields,
        "files",
        "destination",
        "directories",
    )

    def __init__(
        self,
        *,
        files: Sequence[str | os.PathLike[str] | Sequence[str]] = (),
        destination: str | None = None,
        directories: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.files = files
        self.destination = destination
        self.directories = directories

    pseven_run_dataset = "output"

    def execute(self, context: Any) -> list[str]:
        return upload_files(
            self.hook.client,
            self.ref,
            self.files,
            self.destination,
            self.directories,
            self.log,
            self,
            context,
        )


def _as_list(name: str, value: Any) -> Sequence[Any]:
    """A list argument given as one string (often a rendered template) is a mistake, not a list."""
    if isinstance(value, (str, os.PathLike)):
        raise AirflowFailException(
            f"{name} must be a list, not the string {str(value)!r}; write {name}=[{str(value)!r}]"
        )
    return value


def _upload_specs(files: Sequence[Any]) -> list[Any]:
    """Each item as given, or ``(item, name)``: an item is a path, a URL or an ObjectStoragePath."""
    specs: list[Any] = []
    for item in _as_list("files", files):
        if isinstance(item, Sequence) and not isinstance(item, str):
            if len(item) != 2:
                raise AirflowFailException(
                    f"Each file must be a path, a URL or an ObjectStoragePath, or (that, name), not {item!r}"
                )
            specs.append((item[0], str(item[1])))
        else:
            specs.append(item)
    return specs


def check_inputs(files: Sequence[Any]) -> list[str]:
    """Fail before anything is deployed when an input is not there, or its storage connection is
    missing (a retry cannot fix either); return each input's URL."""
    from airflow_provider_pseven.tasks.inputs import resolve_inputs

    return resolve_inputs(_upload_specs(files)).urls


def upload_files(
    client: PsevenClient,
    ref: RunRef,
    files: Sequence[Any],
    destination: str | None,
    directories: Sequence[str],
    log: Any,
    task: Any = None,
    context: Any = None,
) -> list[str]:
    """Upload into a CONFIGURATION run, from local disk or object storage, streamed; a folder keeps
    its tree (one request per folder). A lost answer is answered by uploading again (it overwrites).
    ``task``: note the run and the inputs' URLs for its lineage; ``context``: push where each file
    went as a ``pseven://`` URL (XCom key ``uploaded_urls``)."""
    run = client.get_run(ref)
    if run.state is not RunState.CONFIGURATION:
        raise AirflowFailException(
            f"Run {ref.run_id} is {run.state_text}: files can be uploaded only in CONFIGURATION"
        )
    from airflow_provider_pseven.tasks.inputs import resolve_inputs

    inputs = resolve_inputs(_upload_specs(files))
    notes.record(task, ref, run, inputs=inputs.urls)
    folders = [*_as_list("directories", directories), *inputs.folders]  # relative to destination
    groups = inputs.by_folder()
    groups = {"": groups.pop("", []), **groups}
    uploaded: list[str] = []
    made: list[str] = []
    for folder, items in groups.items():
        target = posixpath.join(destination, folder) if destination and folder else (folder or destination)
        specs = [(item.source, item.name) for item in items]
        extra = folders if not folder else []
        if folder and not specs:
            continue
        try:
            result = client.upload(ref, specs, destination=target or None, directories=extra)
        except PsevenRequestMayHaveSucceeded:
            log.warning("The upload lost its answer; uploading the same files again")
            result = client.upload(ref, specs, destination=target or None, directories=extra)
        for item, path in zip(items, result.files, strict=False):
            log.info("Uploaded %s to %s", item.source.location, path)
        uploaded += result.files
        made += result.directories
    log.info("Uploaded %d file(s) and %d folder(s) to run %s", len(uploaded), len(made), ref.run_id)
    if context is not None:
        # The guide answers storage paths; a path relative to the run is read as in the run.
        where = [path if path.startswith("/") else posixpath.join(run.path, path) for path in uploaded]
        push_urls(context, "uploaded_urls", [assets.storage_uri(run.url, path) for path in where])
    return uploaded


def push_urls(context: Any, key: str, urls: list[str]) -> None:
    """Push URLs beside a task's return value (which DAGs already read, so it stays as it was)."""
    context["ti"].xcom_push(key=key, value=urls)


def written_url(path: str) -> str:
    """A written file as a URL: an object-storage URL as it is, a local path as ``file://``."""
    return path if "://" in path else Path(path).absolute().as_uri()


def _safe_name(name: str) -> str:
    """A name for a local file, refused if it could step out of the destination."""
    from airflow_provider_pseven.client.run_files import safe_name

    try:
        return safe_name(name)
    except PsevenUnsafeNameError as error:
        raise AirflowFailException(str(error)) from None


#: Bounds of recursive listings and downloads, a :class:`~airflow_provider_pseven.client.run_files.TreeLimits`;
#: module-level so a deployment may tune them. None: its defaults.
TREE_LIMITS: TreeLimits | None = None


def walk(
    client: PsevenClient, ref: RunRef, directory: str, limits: TreeLimits | None = None
) -> list[tuple[str, FileEntry]]:
    """Every entry under ``directory`` (recursively, bounded), as (path relative to the run, entry);
    an unsafe name or a tree over the limits fails the task: a retry would meet the same listing."""
    from airflow_provider_pseven.client.run_files import TreeLimits

    try:
        return client.walk(ref, directory, limits or TREE_LIMITS or TreeLimits())
    except (PsevenUnsafeNameError, PsevenTreeLimitError) as error:
        raise AirflowFailException(str(error)) from None


class _Target:
    """A download destination: a local folder or file, or an object-storage path (fsspec)."""

    def __init__(self, destination: Any) -> None:
        text = str(destination)
        self.is_dir_hint = text.endswith(("/", os.sep))
        if "://" in text and not text.startswith("file://"):
            from airflow.sdk import ObjectStoragePath

            self.path: Any = ObjectStoragePath(text)
            self.local = False
        else:
            self.path = Path(text[len("file://") :] if text.startswith("file://") else text).expanduser()
            self.local = True

    def root_for(self, remote: str) -> Any:
        """The destination is a folder (existing, or ending in /) that receives the item by name."""
        if self.is_dir_hint or self.path.is_dir():
            return self.path / _safe_name(posixpath.basename(remote.rstrip("/")))
        return self.path


class DownloadFileOperator(PsevenRunOperator):
    """Stream a file, or a whole directory recursively, from the run to a local or object-storage path.

    Files are written under a temporary name and renamed when complete, so a failure leaves nothing
    half-written; names from the server can never write outside the destination.

    :param file: path relative to the run directory.
    :param destination: a folder (existing, or ending in ``/``) receiving ``file`` under its own name,
        or else the target path; local, ``file://`` or any fsspec URL (``s3://...``). Or an Asset
        (``assets.download_asset(path or URL)``), which also becomes the task's outlet: named after
        ``file`` it is the target path, else the folder receiving it.
    :param overwrite: replace existing files (default False: fail instead).
    :return: the written paths; the XCom key ``downloaded_urls`` has each as a URL (a local path as
        ``file://``).
    """

    template_fields: Sequence[str] = (*PsevenRunOperator.template_fields, "file", "destination")
    pseven_run_dataset = "input"

    def __init__(self, *, file: str, destination: Any, overwrite: bool = False, **kwargs: Any) -> None:
        if assets.is_asset(destination):  # the destination is also the task's outlet
            kwargs["outlets"] = [*(kwargs.get("outlets") or ()), destination]
        super().__init__(**kwargs)
        self.file = file
        self.destination = destination
        self.overwrite = overwrite

    def execute(self, context: Any) -> list[str]:
        destination = self.destination
        if assets.is_asset(destination):
            destination = assets.destination_of(destination, str(self.file))
        client = self.hook.client
        written = download_item(client, self.ref, self.file, destination, self.overwrite, self.log)
        assets.attach_run(context, client, self.ref, client.get_run(self.ref), written)
        push_urls(context, "downloaded_urls", [written_url(path) for path in written])
        return written


def _is_directory(client: PsevenClient, ref: RunRef, remote: str) -> bool:
    parent, name = posixpath.split(remote.strip("/"))
    return any(entry.name == name and entry.is_dir for entry in client.list_files(ref, parent or None))


def download_item(
    client: PsevenClient, ref: RunRef, file: str, destination: Any, overwrite: bool, log: Any
) -> list[str]:
    """Download a file or a directory (recursively) of the run; return the written paths."""
    remote = str(file).strip().strip("/")
    if not remote or ".." in remote.split("/"):
        raise AirflowFailException(f"file must be a path inside the run directory, not {file!r}")
    target = _Target(destination)
    root = target.root_for(remote)
    if not _is_directory(client, ref, remote):
        return [_fetch(client, ref, remote, root, target.local, overwrite)]
    written = []
    for relative, entry in walk(client, ref, remote):
        local = root.joinpath(*relative[len(remote) :].strip("/").split("/"))
        if entry.is_dir:
            local.mkdir(parents=True, exist_ok=True)
        else:
            written.append(_fetch(client, ref, relative, local, target.local, overwrite))
    log.info("Downloaded %d file(s) of %s into %s", len(written), remote, root)
    return written


def _fetch(client: PsevenClient, ref: RunRef, remote: str, target: Any, local: bool, overwrite: bool) -> str:
    """One file, written under a temporary name and renamed when complete."""
    label = f"{remote} -> {target}"
    if local:
        client.download(ref, remote, FileSink(target, overwrite=overwrite, label=label))
        return str(target)
    if target.exists() and not overwrite:
        raise AirflowFailException(f"{target} already exists; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
    try:
        with temp.open("wb") as stream:
            client.download(ref, remote, StreamSink(stream, label=label))
        temp.rename(target)
    except BaseException:
        if temp.exists():
            temp.unlink()
        raise
    return str(target)


class ListFilesOperator(PsevenRunOperator):
    """List the run directory, or a folder in it, optionally recursively.

    :return: entries ``{"path", "name", "size", "is_dir", "modified", "url"}``: ``path`` is relative
        to the run directory, ``url`` is ``pseven://{host}{storage path}`` (the URI of its Asset).
    """

    template_fields: Sequence[str] = (*PsevenRunOperator.template_fields, "directory")
    pseven_run_dataset = "input"

    def __init__(self, *, directory: str | None = None, recursive: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = directory
        self.recursive = recursive

    def execute(self, context: Any) -> list[dict[str, Any]]:
        client = self.hook.client
        run = client.get_run(self.ref)
        notes.record(self, self.ref, run)
        directory = (self.directory or "").strip("/")
        if self.recursive:
            pairs = list(walk(client, self.ref, directory))
        else:
            pairs = [
                (posixpath.join(directory, e.name) if directory else e.name, e)
                for e in client.list_files(self.ref, directory or None)
            ]
        return [
            {
                "path": path,
                "name": entry.name,
                "size": entry.size,
                "is_dir": entry.is_dir,
                "modified": entry.modified.isoformat() if entry.modified else None,
                "url": assets.storage_uri(run.url, posixpath.join(run.path, path)),
            }
            for path, entry in pairs
        ]
