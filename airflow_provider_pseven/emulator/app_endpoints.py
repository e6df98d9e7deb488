"""The AppsHub API's collection: ``apps/`` (list, publish), an app version's details, and how an
app's runs deploy (AppsHub API, Workflow publishing)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from .errors import bad_request, not_found, wrong_state
from .fields import optional_str, parse_bool
from .params import value_json
from .records import AppRecord, AppVersionRecord, RunRecord, Workspace
from .routing import Ctx, Route, content_type, parse_form, read_fields, route
from .run_endpoints import Owner, RunEndpoints
from .states import READY
from .urls import owner_pattern


def workspace_json(ws: Workspace) -> dict[str, str]:
    return {"id": ws.id, "name": ws.name}


class AppEndpoints(RunEndpoints):
    kind = "app"
    segment = "apps"
    api = "appshub"
    versioned = True

    def collection_routes(self) -> list[Route]:
        return [
            route("apps/", GET=self.list_apps, POST=self.publish),
            route(owner_pattern(self.segment, self.versioned), GET=self.app_details),
        ]

    def records(self, ctx: Ctx) -> tuple[AppRecord, AppVersionRecord]:
        """The app the path names, and its version (``@{version}``, else the default one)."""
        version = ctx.groups.get("version")
        return ctx.world.app(ctx.groups["owner"], int(version) if version else None)

    def owner(self, ctx: Ctx) -> Owner:
        # guide: app runs are shown only under "apps/{app ID}/runs/" (AppsHub API), and
        # apps/{id}@{N}/ only as a version's details URL (Workflow publishing); whether runs are
        # served under a version's URL too is the variant app_version_runs.
        if ctx.groups.get("version") and ctx.world.variants.app_version_runs == "none":
            raise not_found()
        return self.owner_of(ctx, *self.records(ctx))

    def owner_of(self, ctx: Ctx, app: AppRecord, ver: AppVersionRecord) -> Owner:
        return Owner(app.id, app.path, self.collection_url(ctx) + f"{app.id}/", app, ver)

    def version_url(self, ctx: Ctx, app: AppRecord, version: int) -> str:
        return self.collection_url(ctx) + f"{app.id}@{version}/"

    def version_details(self, ctx: Ctx, app: AppRecord, ver: AppVersionRecord, full: bool) -> dict[str, Any]:
        """The publish response (``full`` False: exactly the guide's keys), or an app version's details."""
        out: dict[str, Any] = {
            "name": app.name,
            "path": app.path,
            "id": app.id,
            "readme": None,
            "url": self.version_url(ctx, app, ver.version),
            "presets": None,
            "parameters": None,
            "results": None,
            "runs": [],
            "ui_url": None,
            "app_url": None,
            "workflow": {"name": ver.workflow.name, "path": ver.workflow.path},
            "thumbnail": None,
            "fingerprint": None,
            "version": ver.version,
            "revision": ver.revision,
            "updated": ver.updated,
            "versions": [],
            "workspace": workspace_json(app.workspace),
            "state": ver.state,
        }
        if full:
            wf = ver.workflow
            owner = self.owner_of(ctx, app, ver)
            variants = ctx.world.variants
            out.update(
                description=app.description,
                parameters=[
                    {
                        "name": wf.param_name(p),
                        "value": value_json(p.type, p.default, p.default is not None, variants),
                        "labels": p.labels,
                    }
                    for p in wf.parameters
                ],
                results=[{"name": wf.result_name(r), "labels": r.labels} for r in wf.results],
                runs=self.runs_json(ctx, owner),
                app_url=owner.url,
                thumbnail=app.thumbnail,
                allow_get_as_workflow=app.allow_get_as_workflow,
                default=ver.version == app.default_version,
                versions=[
                    {
                        "version": v.version,
                        "revision": v.revision,
                        "url": self.version_url(ctx, app, v.version),
                        "state": ctx.world.app(app.id, v.version)[1].state,
                        "default": v.version == app.default_version,
                    }
                    for v in sorted(app.versions.values(), key=lambda v: v.version)
                ],
            )
        return out

    async def list_apps(self, ctx: Ctx) -> Response:
        out = []
        for app_id in list(ctx.world.apps):
            app, ver = ctx.world.app(app_id)
            out.append(
                {
                    "id": app.id,
                    "name": app.name,
                    "path": app.path,
                    "url": self.collection_url(ctx) + f"{app.id}/",
                    "description": app.description,
                    "version": ver.version,
                    "workspace": workspace_json(app.workspace),
                    "state": ver.state,
                }
            )
        return JSONResponse(out)

    async def app_details(self, ctx: Ctx) -> Response:
        return JSONResponse(self.version_details(ctx, *self.records(ctx), full=True))

    async def publish(self, ctx: Ctx) -> Response:
        thumbnail: str | None = None
        if content_type(ctx.request) == "multipart/form-data":
            form = await parse_form(ctx.request)
            try:
                fields: dict[str, Any] = {
                    k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)
                }
                thumb = form.get("thumbnail")
                if isinstance(thumb, UploadFile):
                    thumbnail = thumb.filename or "thumbnail"
            finally:
                await form.close()
        else:
            # guide: "If you omit the thumbnail, it may also be application/json or
            # application/x-www-form-urlencoded" (Workflow publishing); variant publish_body.
            fields = await read_fields(ctx.request, form_only=ctx.world.variants.publish_body == "form_only")
        app, ver = ctx.world.publish(ctx.require_user(), fields, thumbnail)
        ctx.note(app_id=app.id)
        return JSONResponse(self.version_details(ctx, app, ver, full=False), status_code=201)

    async def deploy_run(self, ctx: Ctx, owner: Owner) -> RunRecord:
        variants = ctx.world.variants
        fields = await read_fields(ctx.request, form_only=variants.app_deploy_body == "form_only")
        name = optional_str(fields, "name")
        # guide: "the run deployment request does not support the path parameter" (AppsHub API)
        if "path" in fields:
            raise bad_request("path is not supported in AppsHub.")
        assert owner.app is not None and owner.version is not None
        # guide: "Only deploy new runs from the READY state, otherwise AppsHub will respond with
        # an error" (Workflow publishing)
        if owner.version.state != READY:
            raise wrong_state(
                owner.version.state,
                (READY,),
                what=f"App version {owner.version.version}",
                status=variants.wrong_state_status,
                generic=variants.state_refusal_text == "generic",
            )
        return ctx.world.deploy(
            ctx.require_user(),
            "app",
            owner.id,
            workflow=owner.version.workflow,
            base_path=owner.path,
            default_label=owner.app.name,
            name=name,
            directory=None,
            personal=parse_bool(fields.get("personal"), "personal", False),
            app_version=owner.version.version,
        )
