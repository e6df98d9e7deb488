"""Files to upload, wherever they are: a local path, a ``file://`` URL, any fsspec URL
(``s3://bucket/key``, ``s3://conn_id@bucket/key``) or an ``ObjectStoragePath``.

Workers share no disk in a real deployment, so an upstream task hands over a URL, not a path. An
object is read through Airflow's own storage connections (``ObjectStoragePath``) and streamed into
the multipart upload one chunk at a time (never whole in memory). A folder, or an object prefix,
uploads its tree. :func:`resolve_inputs` lists and checks everything before anything is deployed, so
a missing connection or object fails the task naming the URL. Airflow's object storage is imported
only when an input is not local.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from airflow_provider_pseven.client import PsevenConfigError
from airflow_provider_pseven.client.multipart import FileSource, LocalFile
from airflow_provider_pseven.tasks.notes import is_object_path

#: Bytes read from object storage at a time (also the filesystem's read-ahead block).
OBJECT_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Input:
    """One file to upload: its source, the folder under the upload destination, its name there."""

    source: FileSource
    folder: str
    name: str


@dataclass
class Inputs:
    """Everything ``files=`` names, resolved: files, empty folders to create, and each item's URL."""

    files: list[Input] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def by_folder(self) -> dict[str, list[Input]]:
        """Files grouped by folder: one upload request each (the guide's ``filename`` is a name)."""
        groups: dict[str, list[Input]] = {}
        for item in self.files:
            groups.setdefault(item.folder, []).append(item)
        return groups


class ObjectFile:
    """An object in storage as a :class:`FileSource`, opened (through its connection) when sent."""

    def __init__(self, path: Any, size: int, location: str) -> None:
        self.path = path
        self.size = size
        self.location = location
        self.name = posixpath.basename(location.rstrip("/"))

    def open(self) -> IO[bytes]:
        handle: IO[bytes] = self.path.fs.open(self.path.path, "rb", block_size=OBJECT_BLOCK)
        return handle


def url_of(path: Any) -> str:
    """A URL for a local path or an ``ObjectStoragePath``, without the connection id."""
    if is_object_path(path):
        return f"{path.protocol}://{path.path}"
    return Path(os.path.abspath(os.fspath(path))).as_uri()


def _object_path(item: Any) -> Any:
    """An ``ObjectStoragePath`` for a URL or a path object, or None when ``item`` is local."""
    if is_object_path(item):
        return item
    if isinstance(item, os.PathLike):
        return None
    if isinstance(item, str):
        if "://" not in item or item.startswith("file://"):
            return None
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(item)
    raise PsevenConfigError(
        f"Each file must be a local path, a URL or an ObjectStoragePath, or (that, name); not {item!r}"
    )


def _local_path(item: str | os.PathLike[str]) -> Path:
    text = os.fspath(item)
    return Path(text[len("file://") :] if text.startswith("file://") else text).expanduser()


def _join(*parts: str) -> str:
    return posixpath.join(*[p for p in parts if p])


def _local(path: Path, rename: str | None, found: Inputs) -> None:
    if path.is_file():
        found.files.append(Input(LocalFile(path), "", rename or path.name))
    elif path.is_dir():
        top = rename or path.name
        empty = [top] if not any(path.iterdir()) else []
        for folder, subfolders, names in os.walk(path):
            relative = Path(folder).relative_to(path).as_posix()
            relative = "" if relative == "." else relative
            for name in sorted(names):
                found.files.append(Input(LocalFile(Path(folder, name)), _join(top, relative), name))
            empty += [_join(top, relative, s) for s in subfolders if not any(Path(folder, s).iterdir())]
        found.folders.extend(empty)
    else:
        raise PsevenConfigError(f"Cannot upload {str(path)!r}: the local file is missing")


def _filesystem(path: Any, url: str) -> Any:
    """The path's filesystem, its connection checked first: some storage providers (amazon) fall
    back to anonymous access for a connection id that is not defined, which would hide the typo."""
    # ``conn_id`` is a property from Airflow 3.2; 3.1 keeps it in universal-pathlib's (public)
    # storage options only.
    conn_id = getattr(path, "conn_id", None) or path.storage_options.get("conn_id")
    if conn_id:
        from airflow.sdk import BaseHook

        try:
            BaseHook.get_connection(conn_id)
        except Exception as error:
            raise PsevenConfigError(
                f"Cannot read {url}: its storage connection {conn_id!r} is not defined "
                f"({type(error).__name__}). Define it, or name another: "
                f"{path.protocol}://conn_id@... or ObjectStoragePath(url, conn_id=...)"
            ) from None
    try:
        return path.fs
    except Exception as error:
        raise PsevenConfigError(
            f"Cannot read {url}: no filesystem for {path.protocol!r} ({type(error).__name__}: {error}); "
            "install the Airflow provider for that storage"
        ) from None


def _tree(fs: Any, root: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path relative to ``root``, info) of everything under an object prefix, sorted."""
    found = fs.find(root, withdirs=True, detail=True)
    base = root.rstrip("/")
    for name in sorted(found):
        relative = posixpath.relpath(name, base) if name.startswith(base) else ""
        if relative not in ("", "."):
            yield relative, found[name]


def _object(path: Any, rename: str | None, found: Inputs) -> None:
    url = url_of(path)
    fs = _filesystem(path, url)
    try:
        info = fs.info(path.path)
    except FileNotFoundError:
        raise PsevenConfigError(f"Cannot upload {url}: no such object or prefix") from None
    except Exception as error:
        raise PsevenConfigError(f"Cannot upload {url}: {type(error).__name__}: {error}") from None
    if info.get("type") != "directory":
        found.files.append(Input(ObjectFile(path, int(info.get("size") or 0), url), "", rename or path.name))
        return
    top = rename or posixpath.basename(str(path.path).rstrip("/"))
    folders: set[str] = set()
    filled: set[str] = set()
    count = len(found.files)
    for relative, entry in _tree(fs, path.path):
        if entry.get("type") == "directory":
            folders.add(relative)
            continue
        folder = posixpath.dirname(relative)
        while folder:  # a folder with content is created by its files
            filled.add(folder)
            folder = posixpath.dirname(folder)
        location = f"{url.rstrip('/')}/{relative}"
        source = ObjectFile(path / relative, int(entry.get("size") or 0), location)
        found.files.append(
            Input(source, _join(top, posixpath.dirname(relative)), posixpath.basename(relative))
        )
    empty = [_join(top, f) for f in sorted(folders - filled)]
    found.folders.extend(empty if empty or len(found.files) > count else [top])


def resolve_inputs(specs: Sequence[Any]) -> Inputs:
    """List and check every input (each an item or ``(item, name in the run)``) before uploading.

    A folder or an object prefix becomes its files, its structure kept under its own name (or the
    given one), its empty sub-folders created too.
    """
    found = Inputs()
    for spec in specs:
        item, rename = spec if isinstance(spec, tuple) else (spec, None)
        remote = _object_path(item)
        if remote is None:
            local = _local_path(item)
            found.urls.append(url_of(local))
            _local(local, rename, found)
        else:
            found.urls.append(url_of(remote))
            _object(remote, rename, found)
    return found


__all__ = ["OBJECT_BLOCK", "Input", "Inputs", "ObjectFile", "resolve_inputs", "url_of"]
