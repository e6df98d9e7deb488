"""What the emulated world holds: its users and workspaces, its timing, and one record per run,
app and app version.

The records are named ``...Record`` so that they are not mistaken for the client's models of the
same things (``client.models.Run``, ``AppVersion``): the emulator implements the guide on its own
and shares no code with the client.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .messaging import MessageBus
from .states import QUEUED_TO_INITIALIZE
from .workflows import Workflow

DEFAULT_TOKEN = "7a592349be99d8affc6739c1ff8fec98030ff14f"
DEFAULT_USER = "user@work.org"
DEFAULT_PASSWORD = "secret"
LOG_FILE = ".p7.log.txt"


def new_id() -> str:
    """A fresh 32-hex id, as the guide's ids look."""
    return uuid.uuid4().hex


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Timing:
    """Delays in seconds at ``time_scale`` 1; every one is multiplied by ``time_scale``.

    QUEUED_TO_INITIALIZE ("it has just entered the deployment queue and is not ready for configuring
    yet", Run deployment) and QUEUED_TO_RUN ("placed in the run queue but is not launched yet", Run
    commands) each last ``init_delay`` / ``start_delay``: 1 s by default, long enough to observe.
    With the defaults a ToyWorkflow run takes about 2.4 s from deploy to FINISHED.
    """

    init_delay: float = 1.0
    start_delay: float = 1.0
    results_lag: float = 0.0
    delete_delay: float = 0.3
    publish_delay: float = 0.5
    time_scale: float = 1.0

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


@dataclass
class User:
    """A user of the emulator: sign-in, API token, storage ``/Users/<id>`` and the workspaces
    (ids) where the user may publish AppsHub apps."""

    username: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    token: str = DEFAULT_TOKEN
    id: int = 1
    publish_workspaces: set[str] = field(default_factory=lambda: {"7"})

    @property
    def storage_root(self) -> str:
        return f"/Users/{self.id}"


@dataclass
class Workspace:
    """An AppsHub workspace that apps are published to."""

    id: str
    name: str


@dataclass
class PortRecord:
    """One parameter or result of one run, with the id the guide's ``.parameters`` and ``.results``
    items carry ("The .results array structure is similar to the .parameters array", Run results).

    A Secret parameter's real value stays here and is never serialized; ``is_set`` tells an unset
    one (null) from a set one (""). A result always shows its value.
    """

    id: str
    name: str
    type: str
    data: Any
    labels: dict[str, Any]
    is_set: bool = True


@dataclass
class AppVersionRecord:
    version: int
    revision: int
    workflow: Workflow
    ready_at: float
    updated: str
    state: str = QUEUED_TO_INITIALIZE


@dataclass
class AppRecord:
    id: str
    name: str
    workspace: Workspace
    description: str
    allow_get_as_workflow: bool
    thumbnail: str | None
    versions: dict[int, AppVersionRecord]
    default_version: int
    run_counter: int = 0

    @property
    def path(self) -> str:
        return f"/Apps/{self.name}.p7wf"


class RunRecord:
    """A deployed run of a workflow (``kind`` "workflow") or of an app version (``kind`` "app")."""

    def __init__(
        self,
        kind: str,
        owner_id: str,
        workflow: Workflow,
        *,
        name: str,
        path: str,
        directory: Path,
        ready_at: float,
        personal: bool = False,
        app_version: int | None = None,
    ) -> None:
        self.id = new_id()
        self.kind = kind
        self.owner_id = owner_id
        self.workflow = workflow
        self.name = name
        self.path = path
        self.dir = directory
        self.state = QUEUED_TO_INITIALIZE
        self.ready_at = ready_at
        self.personal = personal
        self.app_version = app_version
        self.params = [
            PortRecord(
                new_id(), workflow.param_name(p), p.type, p.default, dict(p.labels), p.default is not None
            )
            for p in workflow.parameters
        ]
        self.results: list[PortRecord] = []
        self.results_at: float | None = None
        self.started = False
        self.delete_at: float | None = None
        self.bus = MessageBus()
        self.interrupt = threading.Event()
        self._log_lock = threading.Lock()

    def log(self, message: str) -> None:
        """Append a timestamped line to ``.p7.log.txt`` in the run directory."""
        stamp = dt.datetime.now().isoformat(timespec="milliseconds")
        lines = "".join(f"{stamp} {line}\n" for line in message.splitlines() or [""])
        with self._log_lock, (self.dir / LOG_FILE).open("a", encoding="utf-8") as f:
            f.write(lines)

    def visible_results(self, now: float) -> list[PortRecord]:
        # guide: "Once the run reaches the FINISHED state ... They now contain results data in the
        # .results array, which earlier was empty" (Run results); results_lag delays them a bit.
        if self.results_at is None or now < self.results_at:
            return []
        return self.results
