"""The AppsHub endpoints of the app API: list, read and resolve apps, and publish a workflow as one.

App *runs* use the same run endpoints as workflow runs (see :mod:`operations`), under ``apps/``.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from airflow_provider_pseven.client.calls import Base, Call, Op, Reply, Retry
from airflow_provider_pseven.client.errors import PsevenConfigError, PsevenNotFoundError
from airflow_provider_pseven.client.models import AppVersion
from airflow_provider_pseven.client.multipart import MultipartBody
from airflow_provider_pseven.client.operations import HEX_ID, form_fields, pick_one, top_level_list


def list_apps() -> Op[list[AppVersion]]:
    return [AppVersion.from_json(item) for item in (yield from top_level_list("apps/", Base.APPSHUB))]


def get_app(app_id: str, version: int | None = None) -> Op[AppVersion]:
    """An app's default version, or ``version`` of it (``apps/{id}@{version}/``)."""
    target = app_id if version is None else f"{app_id.split('@', 1)[0]}@{version}"
    reply = yield Call("GET", f"apps/{quote(target, safe='@')}/", base=Base.APPSHUB)
    assert isinstance(reply, Reply)
    return AppVersion.from_json(reply.json_object())


def resolve_app(spec: str) -> Op[AppVersion]:
    """An app given as id, ``id@version`` or unique name."""
    if not spec or not spec.strip():
        raise PsevenConfigError("app is empty: give an app id or a unique app name")
    spec = spec.strip()
    if HEX_ID.match(spec):
        try:
            return (yield from get_app(spec))
        except PsevenNotFoundError:
            pass
    apps = yield from list_apps()
    chosen: AppVersion = pick_one("app", spec, apps, (lambda a: a.id, lambda a: a.name))
    return chosen


def publish_app(
    workflow_path: str,
    name: str,
    *,
    workspace_name: str | None = None,
    workspace_id: str | None = None,
    description: str | None = None,
    version: int | None = None,
    set_version_as_default: bool | None = None,
    allow_get_as_workflow: bool | None = None,
    thumbnail: str | os.PathLike[str] | None = None,
    chunk_size: int = 1024 * 1024,
) -> Op[AppVersion]:
    """Publish a workflow as an AppsHub app (``apps/`` POST); fields left None are omitted."""
    if not (workspace_name or workspace_id):
        raise PsevenConfigError(
            "Publishing needs workspace_name or workspace_id (the workspace to host the app)"
        )
    if not name:
        raise PsevenConfigError("Publishing needs the app name")
    fields: dict[str, Any] = {"name": name, "workflow_path": workflow_path}
    optional = {
        "workspace.name": workspace_name,
        "workspace.id": str(workspace_id) if workspace_id is not None else None,
        "description": description,
        "version": version,
        "set_version_as_default": set_version_as_default,
        "allow_get_as_workflow": allow_get_as_workflow,
    }
    fields.update({key: value for key, value in optional.items() if value is not None})
    # Form data is what the guide's examples send, and the one content type it accepts with or
    # without a thumbnail (JSON only without one), so every server takes it.
    files = [("thumbnail", thumbnail, None)] if thumbnail is not None else []
    body = MultipartBody(form_fields(fields), files, chunk_size=chunk_size)
    call = Call("POST", "apps/", base=Base.APPSHUB, body=body, retry=Retry.UNSENT_ONLY)
    reply = yield call
    assert isinstance(reply, Reply)
    return AppVersion.from_json(reply.json_object())


__all__ = ["get_app", "list_apps", "publish_app", "resolve_app"]
