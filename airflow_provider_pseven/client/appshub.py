"""The AppsHub endpoints of the app API: list, read and resolve apps, and publish a workflow as one.

App *runs* use the same run endpoints as workflow runs (see :mod:`operations`), under
``apps/{app ID}/runs/``: the guide shows them there only, and ``{id}@{version}`` only as a
version's own details URL. A deploy there runs the version the plain id serves (its details,
``apps/{app ID}/``), so a user who pins ``{id}@{N}`` is told plainly when that is another version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow_provider_pseven.client.calls import Base, Call, Op, Reply, Retry
from airflow_provider_pseven.client.errors import PsevenConfigError, PsevenError
from airflow_provider_pseven.client.ids import check_id
from airflow_provider_pseven.client.models import AppState, AppVersion, split_version_pin
from airflow_provider_pseven.client.multipart import MultipartBody
from airflow_provider_pseven.client.operations import Lookup, form_fields, resolve, top_level_list


def list_apps() -> Op[list[AppVersion]]:
    return (yield from top_level_list("apps/", Base.APPSHUB, AppVersion.from_json))


def get_app(app_id: str, version: int | None = None) -> Op[AppVersion]:
    """An app's default version, or ``version`` of it (``apps/{id}@{version}/``)."""
    target = app_id if version is None else f"{app_id.split('@', 1)[0]}@{version}"
    check_id("app_id", target)
    reply = yield Call("GET", f"apps/{quote(target, safe='@')}/", base=Base.APPSHUB)
    assert isinstance(reply, Reply)
    return reply.model(AppVersion.from_json)


APP_LOOKUP = Lookup("app", ("id", "name"), "an app id or a unique app name")


def resolve_app(spec: str) -> Op[AppVersion]:
    """An app given as id, ``id@version`` or unique name."""
    return (yield from resolve(APP_LOOKUP, spec, get_app, list_apps))


class PsevenAppVersionError(PsevenConfigError):
    """A pinned app version (``{id}@{N}``) is not the one ``apps/{id}/runs/`` deploys."""


def app_to_deploy(spec: str) -> Op[AppVersion]:
    """The app version a deploy to ``apps/{id}/runs/`` runs, from an id, a unique name or a pinned
    ``{id}@{N}``: a pin must name the version the plain id serves, and that version must be READY
    ("Only deploy new runs from the READY state", Workflow publishing), or nothing is deployed."""
    plain, pinned = split_version_pin(spec)
    app = yield from resolve_app(plain)
    if pinned is None or (app.version == pinned and app.state is AppState.READY):
        return app
    current = f"version {app.version}" if app.version is not None else "a version it does not number"
    if app.version != pinned:
        raise PsevenAppVersionError(
            f"App {app.name or app.id} is pinned as {app.id}@{pinned}, but its runs deploy under "
            f"apps/{app.id}/runs/, which runs the app's current (default) version: {current} "
            f"({app.state_text}). Pin {app.id}@{app.version} (or give the plain id), or make version "
            f"{pinned} the default (publish it with set_version_as_default=True)"
        )
    raise PsevenError(
        f"App {app.name or app.id} version {pinned} is {app.state_text}, not READY: AppsHub deploys "
        "runs only from READY. Wait until publishing finishes (PublishAppOperator waits for READY)"
    )


@dataclass(frozen=True)
class AppPublication:
    """What ``apps/`` POST publishes (Workflow publishing): the workflow, the app's name and
    workspace (by name or id); the optional fields are sent only when not None."""

    workflow_path: str
    name: str
    workspace_name: str | None = None
    workspace_id: str | None = None
    description: str | None = None
    version: int | None = None
    set_version_as_default: bool | None = None
    allow_get_as_workflow: bool | None = None
    thumbnail: str | os.PathLike[str] | None = None

    def form(self) -> dict[str, Any]:
        """The form fields, named as the guide names them."""
        if not (self.workspace_name or self.workspace_id):
            raise PsevenConfigError(
                "Publishing needs workspace_name or workspace_id (the workspace to host the app)"
            )
        if not self.name:
            raise PsevenConfigError("Publishing needs the app name")
        optional = {
            "workspace.name": self.workspace_name,
            "workspace.id": None if self.workspace_id is None else str(self.workspace_id),
            "description": self.description,
            "version": self.version,
            "set_version_as_default": self.set_version_as_default,
            "allow_get_as_workflow": self.allow_get_as_workflow,
        }
        given = {key: value for key, value in optional.items() if value is not None}
        return {"name": self.name, "workflow_path": self.workflow_path, **given}


def publish_app(publication: AppPublication, *, chunk_size: int = 1024 * 1024) -> Op[AppVersion]:
    """Publish a workflow as an AppsHub app (``apps/`` POST)."""
    fields = publication.form()
    # Form data is what the guide's examples send, and the one content type it accepts with or
    # without a thumbnail (JSON only without one), so every server takes it.
    thumbnail = publication.thumbnail
    files = [("thumbnail", thumbnail, None)] if thumbnail is not None else []
    body = MultipartBody(form_fields(fields), files, chunk_size=chunk_size)
    call = Call("POST", "apps/", base=Base.APPSHUB, body=body, retry=Retry.UNSENT_ONLY)
    reply = yield call
    assert isinstance(reply, Reply)
    return reply.model(AppVersion.from_json)


__all__ = [
    "AppPublication",
    "PsevenAppVersionError",
    "app_to_deploy",
    "get_app",
    "list_apps",
    "publish_app",
    "resolve_app",
]
