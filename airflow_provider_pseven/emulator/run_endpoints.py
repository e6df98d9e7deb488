"""The run endpoints, one handler per method, shared by workflow runs and app runs.

``RunEndpoints`` serves ``{collection}/{id}/runs/...`` (Run deployment, Run parameters, Run
commands, File upload, Downloading, Messaging, Deleting runs); ``WorkflowEndpoints`` and
``AppEndpoints`` say what owns the runs in their collection and how a run is deployed there.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import JSONResponse, Response

from .errors import ApiError, bad_request
from .fields import optional_str
from .files import copy_stream, list_dir, make_dir, proxy_body_limit, resolve_inside, storable
from .params import value_json
from .records import LOG_FILE, AppRecord, AppVersionRecord, PortRecord, RunRecord
from .routing import Ctx, Route, RunDetailsJSON, RunFile, parse_form, read_fields, route
from .states import CONFIGURATION, FINISHED, STOPPED
from .urls import owner_pattern, run_pattern
from .variants import LS_LIMIT, UPLOAD_LIMIT, Variants

ACCEPTED = {"status": 200, "message": "Accepted"}


@dataclass
class Owner:
    """What a collection's runs belong to: a workflow, or an app version (``app`` and ``version``)."""

    id: str
    path: str
    url: str
    app: AppRecord | None = None
    version: AppVersionRecord | None = None

    @property
    def runs_url(self) -> str:
        return f"{self.url}runs/"


def ports_json(ports: Iterable[PortRecord], variants: Variants) -> list[dict[str, Any]]:
    """``.parameters`` as the guide prints them: id, name, value, labels (Run parameters); and
    ``.results``: "The .results array structure is similar to the .parameters array" (Run results)."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "value": value_json(p.type, p.data, p.is_set, variants),
            "labels": p.labels,
        }
        for p in ports
    ]


class RunEndpoints(ABC):
    """The endpoints of one collection: its own (``collection_routes``), then the run endpoints."""

    kind: ClassVar[str]  # "workflow" | "app": a run's parent is named by this key
    segment: ClassVar[str]  # "workflows" | "apps"
    api: ClassVar[str]  # "pseven" | "appshub"
    versioned: ClassVar[bool] = False  # ``apps/{id}@{version}/`` addresses one version

    def routes(self) -> list[Route]:
        owner = owner_pattern(self.segment, self.versioned)
        run = run_pattern(self.segment, self.versioned)
        return [
            *self.collection_routes(),
            route(owner + "runs/", GET=self.list_runs, POST=self.deploy),
            route(run, GET=self.details, PATCH=self.patch, DELETE=self.delete),
            route(run + "run/", POST=self.start),
            route(run + "interrupt/", POST=self.interrupt),
            route(run + "download/", GET=self.download),
            route(run + "ls/", GET=self.list_files),
            route(run + "upload/", POST=self.upload),
            route(run + "message_push/", POST=self.message_push),
            route(run + "message_pop/", POST=self.message_pop),
        ]

    # --- what each collection says ------------------------------------------------------------
    @abstractmethod
    def collection_routes(self) -> list[Route]:
        """The collection's own endpoints (list, details, ...)."""

    @abstractmethod
    def owner(self, ctx: Ctx) -> Owner:
        """The owner that the request's path names, else 404."""

    @abstractmethod
    async def deploy_run(self, ctx: Ctx, owner: Owner) -> RunRecord:
        """Read the deploy request's body and deploy a run of ``owner``."""

    # --- serialization ----------------------------------------------------------------------
    def collection_url(self, ctx: Ctx) -> str:
        return ctx.api_url(self.api) + f"{self.segment}/"

    def run_summary(self, run: RunRecord, owner: Owner) -> dict[str, Any]:
        # The guide prints workflow runs only; an app run has the same keys, its parent named
        # app / app_url ("The app API methods are mostly the same as those of the workflow API",
        # AppsHub API). Nothing more: whether a run is personal, or its app version, is not shown.
        return {
            "name": run.name,
            "path": run.path,
            "id": run.id,
            "url": f"{owner.runs_url}{run.id}/",
            "state": run.state,
            self.kind: owner.path,
            f"{self.kind}_url": owner.url,
        }

    def run_details(self, ctx: Ctx, run: RunRecord, owner: Owner) -> dict[str, Any]:
        out = self.run_summary(run, owner)
        out["parameters"] = ports_json(run.params, ctx.world.variants)
        out["results"] = ports_json(run.visible_results(time.monotonic()), ctx.world.variants)
        # guide: "If the run state is FINISHED, a diagnostic log is available for download ... The
        # log download full URL for a finished run can be found under the logfile_url key in run
        # details" (Downloading the run log): a URL only for a FINISHED run, null otherwise. The
        # file itself is an ordinary run file, downloadable through download/ once it exists.
        # The variant run_log="every_end" gives the URL for every run that ended.
        logged = STOPPED if ctx.world.variants.run_log == "every_end" else (FINISHED,)
        out["logfile_url"] = (
            f"{owner.runs_url}{run.id}/download/?file={LOG_FILE}" if run.state in logged else None
        )
        return out

    def runs_json(self, ctx: Ctx, owner: Owner) -> list[dict[str, Any]]:
        return [self.run_summary(r, owner) for r in ctx.world.runs_of(self.kind, owner.id)]

    def load(self, ctx: Ctx) -> tuple[Owner, RunRecord]:
        owner = self.owner(ctx)
        return owner, ctx.world.run(self.kind, owner.id, ctx.groups["run"])

    # --- handlers ----------------------------------------------------------------------------
    async def list_runs(self, ctx: Ctx) -> Response:
        return JSONResponse(self.runs_json(ctx, self.owner(ctx)))

    async def deploy(self, ctx: Ctx) -> Response:
        owner = self.owner(ctx)
        run = await self.deploy_run(ctx, owner)
        ctx.note(run_id=run.id)
        return JSONResponse(self.run_summary(run, owner), status_code=201)

    async def details(self, ctx: Ctx) -> Response:
        owner, run = self.load(ctx)
        return RunDetailsJSON(self.run_details(ctx, run, owner))

    async def patch(self, ctx: Ctx) -> Response:
        owner, run = self.load(ctx)
        # guide: CONFIGURATION "is the only state which allows changing run parameters" (Workflow information)
        ctx.world.require(run, CONFIGURATION)
        fields = await read_fields(ctx.request)
        items = fields.get("parameters", [])
        if not isinstance(items, list):
            raise bad_request("parameters must be a list of parameter objects.")
        ctx.world.patch_parameters(run, items)
        return RunDetailsJSON(self.run_details(ctx, run, owner))

    async def delete(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        ctx.world.delete(run)
        return JSONResponse({"status": 200})

    async def start(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        ctx.world.start(run)
        return JSONResponse(ACCEPTED)

    async def interrupt(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        ctx.world.interrupt(run)
        return JSONResponse(ACCEPTED)

    async def download(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        rel = ctx.request.query_params.get("file")
        if not rel:
            raise bad_request("The file query parameter is required.")
        target = resolve_inside(run.dir, run.path, rel, "file")
        if not target.exists():
            raise ApiError(404, f"File not found: {rel}")
        if not target.is_file():
            raise bad_request(f"{rel!r} is a directory, not a file.")
        return RunFile(target, filename=target.name)

    async def list_files(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        rel = ctx.request.query_params.get("directory", "")
        target = resolve_inside(run.dir, run.path, rel, "directory")
        if not target.exists():
            raise ApiError(404, f"Directory not found: {rel}")
        if not target.is_dir():
            raise bad_request(f"{rel!r} is a file, not a directory.")
        nested = target != run.dir.resolve() and target.parent != run.dir.resolve()
        if nested and ctx.world.variants.ls_nested == "root_only":
            raise bad_request(f"{rel!r} is not the name of a subdirectory of the run directory.")
        entries = await run_in_threadpool(list_dir, target)
        shown = entries[:LS_LIMIT] if ctx.world.variants.ls_listing == "truncated" else entries
        return JSONResponse({"status": 200, "message": "OK", "entries": shown, "count": len(entries)})

    async def upload(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        if ctx.world.variants.upload_limit == "html_413":
            too_big = await proxy_body_limit(ctx.request, UPLOAD_LIMIT)
            if too_big is not None:
                return too_big
        # guide: "Files can only be uploaded if the run state is CONFIGURATION" (File upload)
        ctx.world.require(run, CONFIGURATION)
        form = await parse_form(ctx.request, limit=10_000)
        try:
            return await _store_upload(ctx, run, form)
        finally:
            await form.close()

    async def message_push(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        fields = await read_fields(ctx.request)
        message = fields.get("message")
        if not isinstance(message, str):
            raise bad_request(
                'message is required and must be a string: {"message": "...", "channel": "..."}.'
            )
        ctx.world.message_push(run, message, optional_str(fields, "channel"))
        return Response(status_code=202)

    async def message_pop(self, ctx: Ctx) -> Response:
        _, run = self.load(ctx)
        fields = await read_fields(ctx.request)
        message = ctx.world.message_pop(run, optional_str(fields, "channel"))
        if message is None:
            return Response(status_code=204)
        return JSONResponse({"message": message})


async def _store_upload(ctx: Ctx, run: RunRecord, form: FormData) -> Response:
    """Validate every field first, then stream files to disk in a worker thread."""
    destinations = form.getlist("destination")
    if len(destinations) > 1:
        raise bad_request("destination is a single field: send it at most once.")
    dest_field = destinations[0] if destinations else ""
    if not isinstance(dest_field, str):
        raise bad_request("destination must be a string, not file data.")
    dest = resolve_inside(run.dir, run.path, dest_field, "destination")
    if dest.exists() and not dest.is_dir():
        raise bad_request(f"destination {dest_field!r} is a file.")
    root = run.dir.resolve()
    files: list[tuple[UploadFile, Path]] = []
    for item in form.getlist("file"):
        if not isinstance(item, UploadFile):
            raise bad_request("file must be file data (multipart/form-data with a filename).")
        name = (item.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        if not name or name in (".", ".."):
            raise bad_request("Each file field needs a filename.")
        storable(name, "file name")
        files.append((item, dest / name))
    dirs = []
    for item in form.getlist("directory"):
        if not isinstance(item, str) or not item:
            raise bad_request("directory must be a non-empty string.")
        dirs.append(resolve_inside(run.dir, run.path, item, "directory", base=dest))
    if not files and not dirs:
        raise bad_request("Send at least one file or directory field.")
    ctx.world.require(run, CONFIGURATION)

    def storage(p: Path) -> str:
        rel = p.relative_to(root).as_posix()
        return run.path if rel == "." else f"{run.path}/{rel}"

    make_dir(dest, storage)

    uploaded = []
    for item, target in files:
        if target.is_dir():
            raise bad_request(f"Cannot overwrite directory {storage(target)} with a file.")
        await run_in_threadpool(copy_stream, item.file, target)
        uploaded.append(storage(target))
    made = []
    for d in dirs:
        make_dir(d, storage)
        made.append(storage(d))
    return JSONResponse(
        {"status": 200, "message": "OK", "uploaded_files": uploaded, "uploaded_directories": made}
    )
