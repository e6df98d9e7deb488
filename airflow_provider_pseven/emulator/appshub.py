"""AppsHub: publishing a workflow as an app, and reading apps and their versions (Workflow publishing)."""

from __future__ import annotations

import time
from typing import Any

from .errors import ApiError, bad_request, not_found
from .fields import parse_bool
from .records import AppRecord, AppVersionRecord, User, Workspace, iso_now, new_id
from .states import READY
from .world_state import WorldState


class AppsHub(WorldState):
    """``app`` (a version becomes READY once its publish delay is over) and ``publish``."""

    def app(self, app_id: str, version: int | None = None) -> tuple[AppRecord, AppVersionRecord]:
        """An app and one of its versions (the default one unless ``version`` is given), else 404."""
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

    def publish(
        self, user: User, fields: dict[str, Any], thumbnail: str | None
    ) -> tuple[AppRecord, AppVersionRecord]:
        """Publish a workflow as a new app, a new version, or a new revision of a version."""
        workspace = self._workspace(fields)
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
        version_no = _version_number(fields.get("version"))
        set_default = parse_bool(fields.get("set_version_as_default"), "set_version_as_default", True)
        allow_copy = fields.get("allow_get_as_workflow")
        description = fields.get("description")
        now = time.monotonic()
        ready_at = now + self.timing.scaled(self.timing.publish_delay)
        with self.lock:
            app = next((a for a in self.apps.values() if a.name == name), None)
            if app is None:
                if version_no is not None:
                    raise bad_request(f"App {name!r} does not exist, so it has no version {version_no}.")
                ver = AppVersionRecord(1, 0, workflow, ready_at, iso_now())
                app = AppRecord(
                    new_id(),
                    name,
                    workspace,
                    str(description or ""),
                    parse_bool(allow_copy, "allow_get_as_workflow", True),
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
                    ver = AppVersionRecord(max(app.versions) + 1, 0, workflow, ready_at, iso_now())
                elif version_no in app.versions:
                    ver = AppVersionRecord(
                        version_no, app.versions[version_no].revision + 1, workflow, ready_at, iso_now()
                    )
                else:
                    raise bad_request(f"App {name!r} has no version {version_no}.")
                app.versions[ver.version] = ver
                if set_default:
                    app.default_version = ver.version
                if description is not None:
                    app.description = str(description)
                if allow_copy is not None:
                    app.allow_get_as_workflow = parse_bool(allow_copy, "allow_get_as_workflow", True)
                if thumbnail is not None:
                    app.thumbnail = thumbnail
            self._event("publish", app_id=app.id, version=ver.version, revision=ver.revision)
            return app, ver

    def _workspace(self, fields: dict[str, Any]) -> Workspace:
        """The workspace named by ``workspace.name`` and/or ``workspace.id`` (flat, as the guide's
        forms send them, or nested in a JSON body); both given must name the same one."""
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
        return workspace


def _version_number(value: Any) -> int | None:
    """``version``: absent or empty publishes a new version; a number, a new revision of that one."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"version must be an integer, got {value!r}.") from None
