"""WorldState: what a World holds, how it is built and reset, its lookups and its record of events.

The World's jobs (deploying runs, the run state machine, AppsHub publishing) are classes over
this one, each in a module of its own; ``World`` (world.py) combines them. Every mutation holds
``lock``, because worker threads and the event loop share the records.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .errors import not_found, wrong_state
from .records import AppRecord, AppVersionRecord, RunRecord, Timing, User, Workspace, iso_now, new_id
from .states import READY
from .variants import Variants
from .workflows import Workflow, builtin_workflows

TOY_APP_ID = "c53461be10b84975a4a6ecb755cfbe00"
TRASH = ".trash"


class WorldState:
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
        self.runs: dict[str, RunRecord] = {}
        self.apps: dict[str, AppRecord] = {}
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self._counters: dict[str, int] = {}
        for wf in self._initial_workflows:
            self.add_workflow(wf)
        toy = next(iter(self.workflows.values()), None)
        if toy is not None and self.workspaces:
            ws = self.workspaces.get("7") or next(iter(self.workspaces.values()))
            version = AppVersionRecord(1, 0, toy, ready_at=0.0, updated=iso_now(), state=READY)
            self.apps[TOY_APP_ID] = AppRecord(
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

    def _discard_dir(self, run: RunRecord) -> None:
        """Move a run directory out of the storage at once (a new run may reuse its path), remove it later."""
        trash = self.data_dir / TRASH / new_id()
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

    def require(self, run: RunRecord, *states: str) -> None:
        """Refuse a request outside ``states`` (status: the variant ``wrong_state_status``)."""
        if run.state not in states:
            raise wrong_state(
                run.state,
                states,
                status=self.variants.wrong_state_status,
                generic=self.variants.state_refusal_text == "generic",
            )
