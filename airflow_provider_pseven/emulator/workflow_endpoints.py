"""The workflow API's collection: ``workflows/``, a workflow's details, and how its runs deploy."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from .fields import optional_str
from .records import RunRecord
from .routing import Ctx, Route, read_fields, route
from .run_endpoints import Owner, RunEndpoints
from .urls import owner_pattern
from .workflows import Workflow


class WorkflowEndpoints(RunEndpoints):
    kind = "workflow"
    segment = "workflows"
    api = "pseven"

    def collection_routes(self) -> list[Route]:
        return [
            route("workflows/", GET=self.list_workflows),
            route(owner_pattern(self.segment), GET=self.workflow_details),
        ]

    def owner(self, ctx: Ctx) -> Owner:
        wf = ctx.world.workflow(ctx.groups["owner"])
        return Owner(wf.id, wf.path, self.collection_url(ctx) + f"{wf.id}/")

    def item(self, ctx: Ctx, wf: Workflow) -> dict[str, Any]:
        return {"id": wf.id, "name": wf.name, "path": wf.path, "url": self.collection_url(ctx) + f"{wf.id}/"}

    async def list_workflows(self, ctx: Ctx) -> Response:
        return JSONResponse([self.item(ctx, wf) for wf in list(ctx.world.workflows.values())])

    async def workflow_details(self, ctx: Ctx) -> Response:
        owner = self.owner(ctx)
        out = self.item(ctx, ctx.world.workflow(owner.id))
        out["runs"] = self.runs_json(ctx, owner)
        return JSONResponse(out)

    async def deploy_run(self, ctx: Ctx, owner: Owner) -> RunRecord:
        fields = await read_fields(ctx.request)
        name = optional_str(fields, "name")
        wf = ctx.world.workflow(owner.id)
        return ctx.world.deploy(
            ctx.require_user(),
            "workflow",
            owner.id,
            workflow=wf,
            base_path=wf.path,
            default_label=wf.name,
            name=name,
            directory=optional_str(fields, "path"),
        )
