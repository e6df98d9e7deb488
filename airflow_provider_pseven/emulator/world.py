"""The emulated pSeven world: users, workflows, runs, apps, and the run state machine.

The state machine is the guide's, with no shortcut: deploy -> QUEUED_TO_INITIALIZE -> CONFIGURATION
(setup requests only there) -> ``run/`` -> QUEUED_TO_RUN -> RUNNING -> FINISHED | FAILED, and
``interrupt/`` only from RUNNING -> INTERRUPTED. Every refusal cites its guide line; the points the
guide leaves open follow ``World.variants`` (variants.py).

Timed transitions that need no work (QUEUED_TO_INITIALIZE -> CONFIGURATION, a version's publish,
the end of a delete window, results appearing after a lag) are computed lazily from deadlines
when a run is read, so polling costs nothing extra. A started run is executed by a worker
thread; every mutation holds ``World.lock``, because worker threads and the event loop share runs.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import params as pt
from .errors import ApiError, bad_request, not_found, wrong_state
from .messaging import MessageBus
from .variants import Variants
from .workflows import RunContext, RunInterrupted, Workflow, builtin_workflows

QUEUED_TO_INITIALIZE = "QUEUED_TO_INITIALIZE"
CONFIGURATION = "CONFIGURATION"
QUEUED_TO_RUN = "QUEUED_TO_RUN"
RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
INTERRUPTED = "INTERRUPTED"
READY = "READY"

# guide: "The run state has to be CONFIGURATION, FINISHED, FAILED, or INTERRUPTED" (Deleting runs)
DELETABLE = (CONFIGURATION, FINISHED, FAILED, INTERRUPTED)
STOPPED = (FINISHED, FAILED, INTERRUPTED)
TRASH = ".trash"

DEFAULT_TOKEN = "7a592349be99d8affc6739c1ff8fec98030ff14f"
DEFAULT_USER = "user@work.org"
DEFAULT_PASSWORD = "secret"
TOY_APP_ID = "c53461be10b84975a4a6ecb755cfbe00"
LOG_FILE = ".p7.log.txt"


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
    id: str
    name: str


def _hex() -> str:
    return uuid.uuid4().hex


def _iso_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class ParamState:
    """One parameter of one run; a Secret's real value stays here and is never serialized."""

    id: str
    name: str
    type: str
    data: Any
    is_set: bool
    labels: dict[str, Any]


@dataclass
class ResultState:
    """One result of a finished run, serialized on read (so it follows the current variants)."""

    id: str
    name: str
    type: str
    data: Any
    labels: dict[str, Any]


@dataclass
class AppVersion:
    version: int
    revision: int
    workflow: Workflow
    ready_at: float
    updated: str
    state: str = QUEUED_TO_INITIALIZE


@dataclass
class App:
    id: str
    name: str
    workspace: Workspace
    description: str
    allow_get_as_workflow: bool
    thumbnail: str | None
    versions: dict[int, AppVersion]
    default_version: int
    run_counter: int = 0

    @property
    def path(self) -> str:
        return f"/Apps/{self.name}.p7wf"


class Run:
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
        self.id = _hex()
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
            ParamState(
                _hex(), workflow.param_name(p), p.type, p.default, p.default is not None, dict(p.labels)
            )
            for p in workflow.parameters
        ]
        self.results: list[ResultState] = []
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

    def visible_results(self, now: float) -> list[ResultState]:
        # guide: "Once the run reaches the FINISHED state ... They now contain results data in the
        # .results array, which earlier was empty" (Run results); results_lag delays them a bit.
        if self.results_at is None or now < self.results_at:
            return []
        return self.results


class World:
    """All emulator state of one server instance, plus a record of events for tests."""

    def __init__(
        self,
        data_dir: Path,
        timing: Timing | None = None,
        *,
        users: Iterable[User] | None = None,
        workspaces: Iterable[Workspace] | None = None,
        workflows: Iterable[Workflow] | None = None,
        max_workers: int = 32,
        variants: Variants | str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.timing = timing or Timing()
        self.variants = Variants.coerce(variants)
        self.lock = threading.RLock()
        self._initial_users = list(users) if users is not None else [User()]
        self._initial_workspaces = (
            list(workspaces)
            if workspaces is not None
            else [Workspace("7", "Toy apps"), Workspace("8", "Design team")]
        )
        self._initial_workflows = list(workflows) if workflows is not None else builtin_workflows()
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pseven-run")
        self._setup()

    # --- setup and reset ------------------------------------------------------------------
    def _setup(self) -> None:
        self.users: dict[str, User] = {u.token: u for u in self._initial_users}
        self.workspaces: dict[str, Workspace] = {w.id: w for w in self._initial_workspaces}
        self.workflows: dict[str, Workflow] = {}
        self.runs: dict[str, Run] = {}
        self.apps: dict[str, App] = {}
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self._counters: dict[str, int] = {}
        for wf in self._initial_workflows:
            self.add_workflow(wf)
        toy = next(iter(self.workflows.values()), None)
        if toy is not None and self.workspaces:
            ws = self.workspaces.get("7") or next(iter(self.workspaces.values()))
            version = AppVersion(1, 0, toy, ready_at=0.0, updated=_iso_now(), state=READY)
            self.apps[TOY_APP_ID] = App(
                TOY_APP_ID, "ToyApp", ws, "The guide's ToyWorkflow, published.", True, None, {1: version}, 1
            )

    def reset(self) -> None:
        """Back to the initial world: runs interrupted and removed, workflows and apps as built."""
        with self.lock:
            for run in self.runs.values():
                run.interrupt.set()
                run.bus.wake()
                self._discard_dir(run)
            self._setup()

    def _discard_dir(self, run: Run) -> None:
        """Move a run directory out of the storage at once (a new run may reuse its path), remove it later."""
        trash = self.data_dir / TRASH / _hex()
        try:
            trash.parent.mkdir(parents=True, exist_ok=True)
            run.dir.rename(trash)
        except OSError:
            trash = run.dir
        self.executor.submit(shutil.rmtree, trash, True)

    def shutdown(self) -> None:
        with self.lock:
            for run in self.runs.values():
                run.interrupt.set()
                run.bus.wake()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def add_workflow(self, workflow: Workflow) -> Workflow:
        with self.lock:
            self.workflows[workflow.id] = workflow
        self.disk_path(workflow.path).mkdir(parents=True, exist_ok=True)
        return workflow

    def add_user(self, user: User) -> User:
        with self.lock:
            self._initial_users.append(user)
            self.users[user.token] = user
        return user

    # --- events for tests -----------------------------------------------------------------
    def _event(self, event: str, **data: Any) -> None:
        self.events.append((time.time(), event, data))

    def event_count(self, kind: str, **match: Any) -> int:
        with self.lock:
            return sum(
                1 for _, k, d in self.events if k == kind and all(d.get(a) == b for a, b in match.items())
            )

    def deploy_count(self, owner_id: str | None = None) -> int:
        """How many runs were deployed (of one workflow or app, or in total)."""
        return self.event_count("deploy", **({"owner_id": owner_id} if owner_id else {}))

    def start_count(self, run_id: str | None = None) -> int:
        """How many times a run (or any run) was started: a run must never start twice."""
        return self.event_count("start", **({"run_id": run_id} if run_id else {}))

    # --- lookups --------------------------------------------------------------------------
    def user_by_token(self, token: str) -> User | None:
        return self.users.get(token)

    def login(self, username: str, password: str) -> User | None:
        for user in self.users.values():
            if user.username == username and user.password == password:
                return user
        return None

    def disk_path(self, storage_path: str) -> Path:
        return self.data_dir / storage_path.lstrip("/")

    def workflow(self, workflow_id: str) -> Workflow:
        wf = self.workflows.get(workflow_id)
        if wf is None:
            raise not_found()
        return wf

    def workflow_by_path(self, path: str) -> Workflow | None:
        return next((w for w in self.workflows.values() if w.path == path), None)

    def app(self, app_id: str, version: int | None = None) -> tuple[App, AppVersion]:
        with self.lock:
            app = self.apps.get(app_id)
            if app is None:
                raise not_found()
            ver = app.versions.get(app.default_version if version is None else version)
            if ver is None:
                raise not_found()
            if ver.state != READY and time.monotonic() >= ver.ready_at:
                ver.state = READY
            return app, ver

    def _refresh(self, run: Run, now: float) -> bool:
        """Apply due timed transitions; False when the run's delete window is over."""
        if run.delete_at is not None and now >= run.delete_at:
            self.runs.pop(run.id, None)
            self._discard_dir(run)
            return False
        if run.state == QUEUED_TO_INITIALIZE and now >= run.ready_at:
            run.state = CONFIGURATION
        return True

    def runs_of(self, kind: str, owner_id: str) -> list[Run]:
        now = time.monotonic()
        with self.lock:
            return [
                r
                for r in list(self.runs.values())
                if r.kind == kind and r.owner_id == owner_id and self._refresh(r, now)
            ]

    def run(self, kind: str, owner_id: str, run_id: str) -> Run:
        with self.lock:
            run = self.runs.get(run_id)
            if run is None or run.kind != kind or run.owner_id != owner_id:
                raise not_found()
            if not self._refresh(run, time.monotonic()):
                raise not_found()
            return run

    def require(self, run: Run, *states: str) -> None:
        """Refuse a request outside ``states`` (status: the variant ``wrong_state_status``)."""
        if run.state not in states:
            raise wrong_state(run.state, states, status=self.variants.wrong_state_status)

    # --- deploy ---------------------------------------------------------------------------
    def deploy(
        self,
        user: User,
        kind: str,
        owner_id: str,
        *,
        workflow: Workflow,
        base_path: str,
        default_label: str,
        name: str | None,
        directory: str | None,
        personal: bool = False,
        app_version: int | None = None,
    ) -> Run:
        """Create a run; ``base_path`` is the workflow (or app) path whose ``@Runs`` gets default runs."""
        if directory is not None and name is None:
            raise bad_request("name is required when path is given.")
        if name is not None and ("/" in name or name in (".", "..") or not name.strip()):
            raise bad_request(f"Invalid run name: {name!r}.")
        if directory is not None:
            directory = directory.rstrip("/") or "/"
            root = user.storage_root
            if (
                not directory.startswith("/")
                or ".." in directory.split("/")
                or not (directory == root or directory.startswith(root + "/"))
            ):
                raise bad_request(
                    f"path must be an absolute path to a directory in your storage ({root}/...), "
                    f"got {directory!r}."
                )
        now = time.monotonic()
        with self.lock:
            live = {r.path for r in self.runs.values()}

            def taken(path: str) -> bool:
                return path in live or self.disk_path(path).exists()

            if name is None:
                # guide: "A request without parameters deploys a new run to the @Runs subdirectory
                # in the workflow ... the run gets a default, automatically generated name" (Run
                # deployment): "#3 (ToyWorkflow)" at ".../@Runs/#00000003.p7run".
                n = self._counters.get(owner_id, 0)
                while True:
                    n += 1
                    path = f"{base_path}/@Runs/#{n:08d}.p7run"
                    if not taken(path):
                        break
                self._counters[owner_id] = n
                name = f"#{n} ({default_label})"
            else:
                # guide: "creates a new run in the name subdirectory under path" (Run deployment).
                parent = (directory if directory is not None else f"{base_path}/@Runs").rstrip("/")
                path = f"{parent}/{name}.p7run"
                if path in live and self.variants.duplicate_run_names == "refused":
                    raise bad_request(f"A run named {name!r} already exists in {parent}.")
                # The guide never says run names are unique, and every deploy "creates a new run":
                # the same name again is a new run with that name, in a directory of its own
                # (storage holds one item per path), "Name (2).p7run", "Name (3).p7run", ...
                k = 1
                while taken(path):
                    k += 1
                    path = f"{parent}/{name} ({k}).p7run"
            run_dir = self.disk_path(path)
            run_dir.mkdir(parents=True, exist_ok=True)
            run = Run(
                kind,
                owner_id,
                workflow,
                name=name,
                path=path,
                directory=run_dir,
                ready_at=now + self.timing.scaled(self.timing.init_delay),
                personal=personal,
                app_version=app_version,
            )
            self.runs[run.id] = run
            self._event("deploy", owner_id=owner_id, run_id=run.id, kind=kind)
            return run

    # --- parameters -----------------------------------------------------------------------
    def patch_parameters(self, run: Run, items: list[Any]) -> None:
        """Apply ``value.data`` of each item by id; all-or-nothing, values type-checked first.

        guide: "Change the run parameters by sending a PATCH request ... The request body should
        contain run details with new parameter values" (Run parameters); "This is the only state
        which allows changing run parameters" (Workflow information, on CONFIGURATION).
        """
        typed = self.variants.value_style == "typed"
        with self.lock:
            self.require(run, CONFIGURATION)
            by_id = {p.id: p for p in run.params}
            updates: list[tuple[ParamState, Any]] = []
            for i, item in enumerate(items):
                if not isinstance(item, dict) or "id" not in item:
                    raise bad_request(f"parameters[{i}] must be an object with an id.")
                param = by_id.get(item["id"])
                if param is None:
                    raise bad_request(f"Unknown parameter id {item['id']!r} in parameters[{i}].")
                value = item.get("value")
                if not isinstance(value, dict) or "data" not in value:
                    raise bad_request(f"Parameter {param.name!r}: value must be an object with a data key.")
                if typed and "type" in value:
                    problem = pt.check_declared_type(value["type"], value["data"])
                    if problem:
                        raise bad_request(f"Parameter {param.name!r} {problem}.")
                problem = pt.check_value(param.type, value["data"])
                if problem:
                    raise bad_request(f"Parameter {param.name!r} {problem}.")
                updates.append((param, value["data"]))
            if self.variants.partial_patch == "refused":
                sent = {item["id"] for item in items}
                missing = [p.name for p in run.params if p.id not in sent]
                if missing:
                    raise bad_request(
                        "The request body must contain the run details with every parameter; "
                        f"missing: {', '.join(missing)}."
                    )
            for param, data in updates:
                param.data = data
                param.is_set = data is not None

    # --- commands -------------------------------------------------------------------------
    def start(self, run: Run) -> None:
        # guide: "Run state should be CONFIGURATION. Upon receiving this request, run state
        # immediately changes to QUEUED_TO_RUN" (Run commands).
        with self.lock:
            self.require(run, CONFIGURATION)
            run.state = QUEUED_TO_RUN
            self._event("start", run_id=run.id, owner_id=run.owner_id)
        self.executor.submit(self._execute, run)

    def interrupt(self, run: Run) -> None:
        # guide: "Run state must be RUNNING, and once the run stops, it changes to INTERRUPTED"
        # (Run commands): not QUEUED_TO_RUN, and the state stays RUNNING until the run stops.
        with self.lock:
            self.require(run, RUNNING)
            self._event("interrupt", run_id=run.id)
            run.interrupt.set()
            run.bus.wake()

    def delete(self, run: Run) -> None:
        # guide: "The run state has to be CONFIGURATION, FINISHED, FAILED, or INTERRUPTED" and
        # "the request to get run details must return 404 Not Found" once done (Deleting runs).
        with self.lock:
            if run.delete_at is not None:
                return
            self.require(run, *DELETABLE)
            run.delete_at = time.monotonic() + self.timing.scaled(self.timing.delete_delay)
            self._event("delete", run_id=run.id)

    def _execute(self, run: Run) -> None:
        """Worker thread: QUEUED_TO_RUN -> RUNNING -> FINISHED | FAILED | INTERRUPTED."""
        if run.interrupt.wait(self.timing.scaled(self.timing.start_delay)):
            return
        with self.lock:
            if run.state != QUEUED_TO_RUN:
                return
            run.state = RUNNING
            run.started = True
            values = {p.name: p.data for p in run.params}
        run.log(f"Run {run.name!r} of {run.workflow.path} started; state RUNNING")
        ctx = RunContext(
            run.dir,
            run.log,
            run.bus,
            interrupt=run.interrupt,
            time_scale=self.timing.time_scale,
            run_name=run.name,
        )
        final, results = FINISHED, None
        try:
            results = run.workflow.function(values, ctx) or {}
            if run.interrupt.is_set():
                final = INTERRUPTED
        except RunInterrupted:
            final = INTERRUPTED
        except Exception as exc:
            final = FAILED
            run.log("Traceback (most recent call last):\n" + "".join(traceback.format_tb(exc.__traceback__)))
            run.log(f"{type(exc).__name__}: {exc}")
            run.log(f"Run failed: {exc}")
        with self.lock:
            if final == FINISHED and results is not None:
                run.results = self._results(run.workflow, results)
                run.results_at = time.monotonic() + self.timing.scaled(self.timing.results_lag)
            run.state = final
        run.log(f"State {final}")

    @staticmethod
    def _results(workflow: Workflow, values: dict[str, Any]) -> list[ResultState]:
        out: list[ResultState] = []
        seen: set[str] = set()
        for r in workflow.results:
            name = workflow.result_name(r)
            seen.add(name)
            data = values.get(name)
            out.append(ResultState(_hex(), name, r.type or pt.infer_type(data), data, dict(r.labels)))
        for name, data in values.items():
            if name not in seen:
                out.append(ResultState(_hex(), name, pt.infer_type(data), data, {}))
        return out

    # --- serialization (follows the variants) ---------------------------------------------------
    def value_json(self, type_name: str, data: Any, is_set: bool = True) -> dict[str, Any]:
        return pt.value_json(type_name, data, is_set, self.variants)

    def params_json(self, run: Run) -> list[dict[str, Any]]:
        """``.parameters`` as the guide prints them: id, name, value, labels (Run parameters)."""
        return [
            {
                "id": p.id,
                "name": p.name,
                "value": self.value_json(p.type, p.data, p.is_set),
                "labels": p.labels,
            }
            for p in run.params
        ]

    def results_json(self, run: Run, now: float) -> list[dict[str, Any]]:
        """``.results``: "The .results array structure is similar to the .parameters array" (Run results)."""
        return [
            {"id": r.id, "name": r.name, "value": self.value_json(r.type, r.data), "labels": r.labels}
            for r in run.visible_results(now)
        ]

    # --- messaging ------------------------------------------------------------------------
    # guide: "While a run is in progress, blocks can exchange messages with the REST client"
    # (Messaging); "Once the run starts, its state changes to RUNNING. In this state you can
    # exchange data with blocks in the workflow (see Messaging)" (Run commands).
    def message_push(self, run: Run, message: str, channel: str | None) -> None:
        with self.lock:
            self.require(run, RUNNING)
        run.bus.client_push(message, channel)

    def message_pop(self, run: Run, channel: str | None) -> str | None:
        """A message, or None for "No messages in queue: 204 No Content" (Messaging)."""
        with self.lock:
            if run.state in STOPPED and self.variants.pop_on_ended_run == 204:
                return None
            self.require(run, RUNNING)
        return run.bus.client_pop(channel)

    # --- AppsHub --------------------------------------------------------------------------
    def publish(self, user: User, fields: dict[str, Any], thumbnail: str | None) -> tuple[App, AppVersion]:
        """Publish a workflow as a new app, a new version, or a new revision of a version."""
        ws_name, ws_id = fields.get("workspace.name"), fields.get("workspace.id")
        nested = fields.get("workspace")
        if isinstance(nested, dict):
            ws_name = ws_name if ws_name is not None else nested.get("name")
            ws_id = ws_id if ws_id is not None else nested.get("id")
        ws_name = ws_name or None
        ws_id = str(ws_id) if ws_id not in (None, "") else None
        if ws_name is None and ws_id is None:
            raise bad_request("workspace.name or workspace.id is required.")
        by_id = self.workspaces.get(ws_id) if ws_id is not None else None
        by_name = next((w for w in self.workspaces.values() if w.name == ws_name), None)
        if ws_id is not None and by_id is None:
            raise bad_request(f"Workspace with id {ws_id!r} does not exist.")
        if ws_name is not None and by_name is None:
            raise bad_request(f"Workspace {ws_name!r} does not exist.")
        if by_id is not None and by_name is not None and by_id is not by_name:
            raise bad_request(f"workspace.name {ws_name!r} and workspace.id {ws_id!r} do not match.")
        workspace = by_id or by_name
        assert workspace is not None
        if workspace.id not in user.publish_workspaces:
            raise ApiError(403, f'You do not have the "Publish apps" role in workspace "{workspace.name}".')
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("name is required.")
        wf_path = fields.get("workflow_path")
        if not isinstance(wf_path, str) or not wf_path:
            raise bad_request("workflow_path is required.")
        workflow = self.workflow_by_path(wf_path)
        if workflow is None:
            raise bad_request(f"Workflow {wf_path!r} does not exist.")
        version_field = fields.get("version")
        version_no: int | None = None
        if version_field not in (None, ""):
            try:
                version_no = int(version_field)
            except (TypeError, ValueError):
                raise bad_request(f"version must be an integer, got {version_field!r}.") from None
        set_default = _parse_bool(fields.get("set_version_as_default"), "set_version_as_default", True)
        allow_copy = fields.get("allow_get_as_workflow")
        description = fields.get("description")
        now = time.monotonic()
        ready_at = now + self.timing.scaled(self.timing.publish_delay)
        with self.lock:
            app = next((a for a in self.apps.values() if a.name == name), None)
            if app is None:
                if version_no is not None:
                    raise bad_request(f"App {name!r} does not exist, so it has no version {version_no}.")
                ver = AppVersion(1, 0, workflow, ready_at, _iso_now())
                app = App(
                    _hex(),
                    name,
                    workspace,
                    str(description or ""),
                    _parse_bool(allow_copy, "allow_get_as_workflow", True),
                    thumbnail,
                    {1: ver},
                    1,
                )
                self.apps[app.id] = app
            else:
                if app.workspace is not workspace:
                    raise bad_request(
                        f"App {name!r} is published in workspace {app.workspace.name!r}, not {workspace.name!r}."
                    )
                if version_no is None:
                    ver = AppVersion(max(app.versions) + 1, 0, workflow, ready_at, _iso_now())
                elif version_no in app.versions:
                    ver = AppVersion(
                        version_no, app.versions[version_no].revision + 1, workflow, ready_at, _iso_now()
                    )
                else:
                    raise bad_request(f"App {name!r} has no version {version_no}.")
                app.versions[ver.version] = ver
                if set_default:
                    app.default_version = ver.version
                if description is not None:
                    app.description = str(description)
                if allow_copy is not None:
                    app.allow_get_as_workflow = _parse_bool(allow_copy, "allow_get_as_workflow", True)
                if thumbnail is not None:
                    app.thumbnail = thumbnail
            self._event("publish", app_id=app.id, version=ver.version, revision=ver.revision)
            return app, ver


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _parse_bool(value: Any, field_name: str, default: bool) -> bool:
    """Booleans come as JSON booleans or as form strings "True"/"False"."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise bad_request(f"{field_name} must be a boolean (True or False), got {value!r}.")


parse_bool = _parse_bool
