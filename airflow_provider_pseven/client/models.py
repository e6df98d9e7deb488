"""Typed views of what the pSeven REST API v2 returns.

Each model keeps the raw JSON it was built from (``raw``), because the API's PATCH wants the run
details echoed back as read, and because a newer server may add fields we do not know yet.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = dict[str, Any]


class RunKind(str, enum.Enum):
    """Whether a run belongs to a workflow (workflow API) or to an AppsHub app (app API)."""

    WORKFLOW = "workflow"
    APP = "app"

    @property
    def collection(self) -> str:
        return "workflows" if self is RunKind.WORKFLOW else "apps"

    @property
    def id_field(self) -> str:
        """The XCom / operator argument naming the parent: ``workflow_id`` or ``app_id``."""
        return f"{self.value}_id"


class _ServerState(str, enum.Enum):
    """A state the server names: its value is its name, as the API spells it. A name this client
    does not know (a newer server's) reads as ``UNKNOWN`` instead of failing."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[Any]) -> str:
        return name

    @classmethod
    def _missing_(cls, value: object) -> Any:
        return cls["UNKNOWN"]


class RunState(_ServerState):
    """Run states of the guide, plus UNKNOWN for a state a newer server may add."""

    QUEUED_TO_INITIALIZE = enum.auto()
    CONFIGURATION = enum.auto()
    QUEUED_TO_RUN = enum.auto()
    RUNNING = enum.auto()
    FINISHED = enum.auto()
    FAILED = enum.auto()
    INTERRUPTED = enum.auto()
    UNKNOWN = enum.auto()

    @property
    def is_terminal(self) -> bool:
        """The run will not change state again by itself."""
        return self in _TERMINAL

    @property
    def is_deletable(self) -> bool:
        """The guide allows DELETE only in these states."""
        return self in (RunState.CONFIGURATION, *_TERMINAL)

    @property
    def is_active(self) -> bool:
        """Queued to run or running: the states an interrupt applies to."""
        return self in (RunState.QUEUED_TO_RUN, RunState.RUNNING)

    @property
    def has_started(self) -> bool:
        """The run has left CONFIGURATION through a start command (or is past it)."""
        return self in (RunState.QUEUED_TO_RUN, RunState.RUNNING, *_TERMINAL)


_TERMINAL = frozenset({RunState.FINISHED, RunState.FAILED, RunState.INTERRUPTED})


class AppState(_ServerState):
    """Publishing states of an app version."""

    QUEUED_TO_INITIALIZE = enum.auto()
    INITIALIZING = enum.auto()
    READY = enum.auto()
    FAILED = enum.auto()
    UNKNOWN = enum.auto()


def _is_secret_type(value_meta: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Recognise a Secret parameter from its value metadata (``type``) or its labels."""
    for key in ("type", "@type", "schema", "kind"):
        marker = value_meta.get(key)
        if isinstance(marker, str) and marker.lower() == "secret":
            return True
        if (
            isinstance(marker, Mapping)
            and str(marker.get("@type", marker.get("type", ""))).lower() == "secret"
        ):
            return True
    label_type = labels.get("type")
    return isinstance(label_type, str) and label_type.strip().lower() == "secret"


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    """``data[key]``, a list (absent or null: empty); any other type is a malformed answer."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{key!r} is {type(value).__name__}, not a list")
    return value


def items(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The objects of the list ``data[key]`` (see :func:`_list`); other items are skipped."""
    return [item for item in _list(data, key) if isinstance(item, Mapping)]


@dataclass(frozen=True)
class Parameter:
    """A run parameter or result: ``value`` is ``.value.data`` of the API."""

    id: str
    name: str
    value: Any
    type: str | None = None
    labels: Mapping[str, Any] = field(default_factory=dict)
    is_secret: bool = False
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Parameter:
        value_meta = data.get("value") if isinstance(data.get("value"), Mapping) else {}
        assert isinstance(value_meta, Mapping)
        labels = data.get("labels") if isinstance(data.get("labels"), Mapping) else {}
        assert isinstance(labels, Mapping)
        secret = _is_secret_type(value_meta, labels)
        type_name = value_meta.get("type")
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            value=value_meta.get("data"),
            type=type_name if isinstance(type_name, str) else None,
            labels=dict(labels),
            is_secret=secret,
            raw=dict(data),
        )

    def shown_value(self) -> Any:
        """The value safe to log or put in XCom: a Secret is always ``""``."""
        return "" if self.is_secret else self.value


@dataclass(frozen=True)
class _Listed:
    """What every workflow, run and app the API lists carries: its id, name, storage path and API
    URL, and the raw JSON it was read from."""

    id: str
    name: str
    path: str
    url: str
    raw: JSON = field(default_factory=dict, repr=False, compare=False, kw_only=True)

    @staticmethod
    def listed_fields(data: Mapping[str, Any]) -> dict[str, Any]:
        """Those fields of ``data``, as the keyword arguments of any of these models."""
        return {
            "id": str(data.get("id", "")),
            "name": str(data.get("name", "")),
            "path": str(data.get("path", "")),
            "url": str(data.get("url", "")),
            "raw": dict(data),
        }


@dataclass(frozen=True)
class Workflow(_Listed):
    """A workflow as ``workflows/`` lists it: its id, name, storage path and API URL."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Workflow:
        return cls(**cls.listed_fields(data))


@dataclass(frozen=True)
class Run(_Listed):
    """A workflow or app run: summary fields always, details (parameters, results) when read alone."""

    state: RunState
    state_text: str
    parent_path: str | None = None
    parameters: tuple[Parameter, ...] = ()
    results: tuple[Parameter, ...] = ()
    logfile_url: str | None = None

    @staticmethod
    def state_text_of(data: Mapping[str, Any]) -> str:
        """The state as the server wrote it, in a run's JSON (``UNKNOWN`` when it has none)."""
        return str(data.get("state", "UNKNOWN"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        state_text = cls.state_text_of(data)
        parent = data.get("workflow", data.get("app"))
        return cls(
            **cls.listed_fields(data),
            state=RunState(state_text),
            state_text=state_text,
            parent_path=parent if isinstance(parent, str) else None,
            parameters=tuple(Parameter.from_json(p) for p in items(data, "parameters")),
            results=tuple(Parameter.from_json(r) for r in items(data, "results")),
            logfile_url=data.get("logfile_url") if isinstance(data.get("logfile_url"), str) else None,
        )

    def result_values(self) -> dict[str, Any]:
        """Results as ``{name: value}``, Secrets shown as ``""``."""
        return {r.name: r.shown_value() for r in self.results}


@dataclass(frozen=True)
class FileEntry:
    """One entry of a run directory listing (``ls/``)."""

    name: str
    size: int
    is_dir: bool
    modified: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileEntry:
        modified = data.get("modified")
        parsed: datetime | None = None
        if isinstance(modified, str):
            try:
                parsed = datetime.fromisoformat(modified.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
        return cls(
            name=str(data.get("name", "")),
            size=int(data.get("size") or 0),
            is_dir=bool(data.get("is_dir", False)),
            modified=parsed,
        )

    @classmethod
    def list_from_json(cls, data: Mapping[str, Any]) -> list[FileEntry]:
        """The entries of an ``ls/`` answer."""
        return [cls.from_json(entry) for entry in items(data, "entries")]


@dataclass(frozen=True)
class UploadResult:
    """What an upload answered: the storage paths of the files and folders it created."""

    files: tuple[str, ...]
    directories: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadResult:
        return cls(
            files=tuple(str(p) for p in _list(data, "uploaded_files")),
            directories=tuple(str(p) for p in _list(data, "uploaded_directories")),
        )


@dataclass(frozen=True)
class AppVersion(_Listed):
    """An AppsHub app, as a specific version (``apps/{id}@{version}/``) or its default version."""

    version: int | None
    revision: int | None
    state: AppState
    state_text: str
    workspace_id: str | None = None
    workspace_name: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AppVersion:
        workspace = data.get("workspace") if isinstance(data.get("workspace"), Mapping) else {}
        assert isinstance(workspace, Mapping)
        state_text = str(data.get("state", "UNKNOWN"))
        version = data.get("version")
        revision = data.get("revision")
        return cls(
            **cls.listed_fields(data),
            version=int(version) if isinstance(version, (int, str)) and str(version).isdigit() else None,
            revision=int(revision) if isinstance(revision, (int, str)) and str(revision).isdigit() else None,
            state=AppState(state_text),
            state_text=state_text,
            workspace_id=str(workspace["id"]) if workspace.get("id") is not None else None,
            workspace_name=str(workspace["name"]) if workspace.get("name") is not None else None,
        )

    @property
    def versioned_id(self) -> str:
        """``{id}@{version}``: the id that addresses exactly this version."""
        return f"{self.id}@{self.version}" if self.version is not None else self.id


_VERSION_PIN = re.compile(r"^(?P<id>[0-9a-f]{32})@(?P<version>\d+)$")


def split_version_pin(app_id: str) -> tuple[str, int | None]:
    """``("{id}", N)`` for an app pinned as ``{id}@{N}``, else ``(app_id, None)``.

    ``{id}@{N}`` appears in the guide only as an app version's own details URL; app runs are shown
    only under ``apps/{app ID}/runs/`` (AppsHub API), so no runs path carries the version.
    """
    pinned = _VERSION_PIN.match(app_id.strip())
    if pinned is None:
        return app_id, None
    return pinned["id"], int(pinned["version"])
