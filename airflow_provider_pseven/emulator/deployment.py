"""Deploying a run: where it goes in the storage and what it is named (Run deployment)."""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import bad_request
from .files import storable
from .records import RunRecord, User
from .workflows import Workflow
from .world_state import WorldState


class Deployment(WorldState):
    """``deploy``: a new run in QUEUED_TO_INITIALIZE, in a directory of its own."""

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
    ) -> RunRecord:
        """Create a run; ``base_path`` is the workflow (or app) path whose ``@Runs`` gets default runs."""
        if directory is not None and name is None:
            raise bad_request("name is required when path is given.")
        if name is not None and ("/" in name or name in (".", "..") or not name.strip()):
            raise bad_request(f"Invalid run name: {name!r}.")
        if name is not None:
            storable(name, "run name", room=len(" (9999).p7run"))  # _named_place's suffixes
        if directory is not None:
            directory = self._check_directory(user, directory)
        now = time.monotonic()
        with self.lock:
            live = {r.path for r in self.runs.values()}

            def taken(path: str) -> bool:
                return path in live or self.disk_path(path).exists()

            if name is None:
                name, path = self._default_place(owner_id, base_path, default_label, taken)
            else:
                path = self._named_place(name, directory, base_path, live, taken)
            run_dir = self.disk_path(path)
            run_dir.mkdir(parents=True, exist_ok=True)
            run = RunRecord(
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

    @staticmethod
    def _check_directory(user: User, directory: str) -> str:
        """``path``: "specify the absolute path to that directory" (Run deployment), in your storage."""
        directory = storable(directory, "path").rstrip("/") or "/"
        root = user.storage_root
        if (
            not directory.startswith("/")
            or ".." in directory.split("/")
            or not (directory == root or directory.startswith(root + "/"))
        ):
            raise bad_request(
                f"path must be an absolute path to a directory in your storage ({root}/...), got {directory!r}."
            )
        return directory

    def _default_place(
        self, owner_id: str, base_path: str, label: str, taken: Callable[[str], bool]
    ) -> tuple[str, str]:
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
        return f"#{n} ({label})", path

    def _named_place(
        self, name: str, directory: str | None, base_path: str, live: set[str], taken: Callable[[str], bool]
    ) -> str:
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
        return path
