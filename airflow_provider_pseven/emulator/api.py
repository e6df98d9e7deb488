"""The REST API v2 routes, as the guide describes them, over Starlette requests and responses.

One small router (regex table per API prefix) rather than FastAPI path operations: it gives exact
control over what the guide's server does at the edges (trailing slash -> 404 JSON, paths outside
the API -> the variant ``unknown_base_path``, auth checked only on known endpoints) at a low
per-request cost.
Workflow runs and app runs share one set of run endpoints, built by ``run_routes`` per collection.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from .errors import ApiError, bad_request, not_found, unsupported_media_type, wrong_state
from .files import copy_stream, list_dir, resolve_inside
from .world import CONFIGURATION, FINISHED, LOG_FILE, READY, App, AppVersion, Run, User, World, parse_bool

LOGIN_PATH = "/login/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

SIGN_IN_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pSeven Enterprise — Sign in</title></head>
<body><h1>pSeven Enterprise — Sign in</h1>
<form method="post" action="/login/"><input name="username" placeholder="Email">
<input name="password" type="password" placeholder="Password"><button>Sign in</button></form>
<p>This is the web front end. REST API clients use {sign-in URL}/pseven/{base}/v2/.</p>
</body></html>
"""


class JSON(JSONResponse):
    """JSON without the ASCII escaping, compact, as Django REST framework renders it."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class RunFile(FileResponse):
    """A run file, read 1 MiB at a time: Starlette's 64 KiB reads each go through a worker thread,
    which made the emulator, not the client, what limited downloads (benchmarks/transfers.py)."""

    chunk_size = 1024 * 1024


@dataclass
class Ctx:
    """One request as the handlers see it."""

    world: World
    request: Request
    base: str
    groups: dict[str, str]
    user: User | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        host = self.request.headers.get("host") or "{}:{}".format(
            *(self.request.url.hostname, self.request.url.port)
        )
        return f"{self.request.url.scheme}://{host}"

    def api_url(self, which: str) -> str:
        return f"{self.origin}/{which}/{self.base}/v2/"

    def require_user(self) -> User:
        assert self.user is not None, "route needs auth"
        return self.user

    def note(self, **ids: str) -> None:
        """Record ids (e.g. the run a POST created) for the request log."""
        self.request.scope.setdefault("pseven", {}).update(ids)


Handler = Callable[[Ctx], Awaitable[Response]]


@dataclass
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    auth: bool = True


# --- request bodies ------------------------------------------------------------------------------


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_fields(request: Request, form_only: bool = False) -> dict[str, Any]:
    """A JSON, form or multipart body as a dict; an empty body is ``{}`` (the guide posts those).

    ``form_only``: a non-empty body that is not a form is refused with 415.
    """
    ctype = content_type(request)
    if ctype in FORM_TYPES:
        form = await request.form()
        return {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}
    body = await request.body()
    if not body.strip():
        return {}
    if form_only:
        raise unsupported_media_type(ctype or "application/octet-stream")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise bad_request(f"JSON parse error - {exc}") from None
    if not isinstance(data, dict):
        raise bad_request("Expected a JSON object in the request body.")
    return data


def optional_str(fields: dict[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"{key} must be a string.")
    return value


# --- serialization -------------------------------------------------------------------------------


@dataclass
class Owner:
    """What a run belongs to: a workflow, or an app version."""

    id: str
    path: str
    url: str
    runs_url: str
    app: App | None = None
    version: AppVersion | None = None


@dataclass
class Collection:
    """``workflows`` under the workflow API, or ``apps`` under the AppsHub API."""

    kind: str  # "workflow" | "app"
    segment: str  # "workflows" | "apps"
    api: str  # "pseven" | "appshub"

    def owner(self, ctx: Ctx) -> Owner:
        owner_id, version = ctx.groups["owner"], ctx.groups.get("version")
        base = ctx.api_url(self.api) + f"{self.segment}/"
        if self.kind == "workflow":
            wf = ctx.world.workflow(owner_id)
            return Owner(wf.id, wf.path, f"{base}{wf.id}/", f"{base}{wf.id}/runs/")
        app, ver = ctx.world.app(owner_id, int(version) if version else None)
        runs_url = f"{base}{app.id}/runs/"
        return Owner(app.id, app.path, f"{base}{app.id}/", runs_url, app, ver)

    def run_summary(self, ctx: Ctx, run: Run, owner: Owner) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": run.name,
            "path": run.path,
            "id": run.id,
            "url": f"{owner.runs_url}{run.id}/",
            "state": run.state,
            self.kind: owner.path,
            f"{self.kind}_url": owner.url,
        }
        # The guide prints workflow runs only; an app run has the same keys, its parent named
        # app / app_url ("The app API methods are mostly the same as those of the workflow API",
        # AppsHub API). Nothing more: whether a run is personal, or its app version, is not shown.
        return out

    def run_details(self, ctx: Ctx, run: Run, owner: Owner, now: float) -> dict[str, Any]:
        out = self.run_summary(ctx, run, owner)
        out["parameters"] = ctx.world.params_json(run)
        out["results"] = ctx.world.results_json(run, now)
        # guide: "If the run state is FINISHED, a diagnostic log is available for download ... The
        # log download full URL for a finished run can be found under the logfile_url key in run
        # details" (Downloading the run log): a URL only for a FINISHED run, null otherwise. The
        # file itself is an ordinary run file, downloadable through download/ once it exists.
        out["logfile_url"] = (
            f"{owner.runs_url}{run.id}/download/?file={LOG_FILE}" if run.state == FINISHED else None
        )
        return out


# --- run endpoints (shared by workflows and apps) --------------------------------------------------


def run_routes(coll: Collection) -> list[Route]:
    """The run endpoints for one collection; the same code serves workflow runs and app runs."""
    version = r"(?:@(?P<version>\d+))?" if coll.kind == "app" else ""
    owner_re = rf"{coll.segment}/(?P<owner>[0-9A-Za-z_-]+){version}/"
    run_re = owner_re + r"runs/(?P<run>[0-9A-Za-z_-]+)/"

    def load(ctx: Ctx) -> tuple[Owner, Run]:
        owner = coll.owner(ctx)
        run = ctx.world.run(coll.kind, owner.id, ctx.groups["run"])
        return owner, run

    async def list_runs(ctx: Ctx) -> Response:
        owner = coll.owner(ctx)
        return JSON([coll.run_summary(ctx, r, owner) for r in ctx.world.runs_of(coll.kind, owner.id)])

    async def deploy(ctx: Ctx) -> Response:
        owner = coll.owner(ctx)
        variants = ctx.world.variants
        fields = await read_fields(
            ctx.request, form_only=coll.kind == "app" and variants.app_deploy_body == "form_only"
        )
        name = optional_str(fields, "name")
        if coll.kind == "app":
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
                )
            personal = parse_bool(fields.get("personal"), "personal", False)
            run = ctx.world.deploy(
                ctx.require_user(),
                "app",
                owner.id,
                workflow=owner.version.workflow,
                base_path=owner.path,
                default_label=owner.app.name,
                name=name,
                directory=None,
                personal=personal,
                app_version=owner.version.version,
            )
        else:
            wf = ctx.world.workflow(owner.id)
            run = ctx.world.deploy(
                ctx.require_user(),
                "workflow",
                owner.id,
                workflow=wf,
                base_path=wf.path,
                default_label=wf.name,
                name=name,
                directory=optional_str(fields, "path"),
            )
        ctx.note(run_id=run.id)
        return JSON(coll.run_summary(ctx, run, owner), status_code=201)

    async def details(ctx: Ctx) -> Response:
        owner, run = load(ctx)
        return JSON(coll.run_details(ctx, run, owner, time.monotonic()))

    async def patch(ctx: Ctx) -> Response:
        owner, run = load(ctx)
        # guide: CONFIGURATION "is the only state which allows changing run parameters" (Workflow information)
        ctx.world.require(run, CONFIGURATION)
        fields = await read_fields(ctx.request)
        items = fields.get("parameters", [])
        if not isinstance(items, list):
            raise bad_request("parameters must be a list of parameter objects.")
        ctx.world.patch_parameters(run, items)
        return JSON(coll.run_details(ctx, run, owner, time.monotonic()))

    async def delete(ctx: Ctx) -> Response:
        _, run = load(ctx)
        ctx.world.delete(run)
        return JSON({"status": 200})

    async def start(ctx: Ctx) -> Response:
        _, run = load(ctx)
        ctx.world.start(run)
        return JSON({"status": 200, "message": "Accepted"})

    async def interrupt(ctx: Ctx) -> Response:
        _, run = load(ctx)
        ctx.world.interrupt(run)
        return JSON({"status": 200, "message": "Accepted"})

    async def download(ctx: Ctx) -> Response:
        _, run = load(ctx)
        rel = ctx.request.query_params.get("file")
        if not rel:
            raise bad_request("The file query parameter is required.")
        target = resolve_inside(run.dir, run.path, rel, "file")
        if not target.exists():
            raise ApiError(404, f"File not found: {rel}")
        if not target.is_file():
            raise bad_request(f"{rel!r} is a directory, not a file.")
        return RunFile(target, filename=target.name)

    async def ls(ctx: Ctx) -> Response:
        _, run = load(ctx)
        rel = ctx.request.query_params.get("directory", "")
        target = resolve_inside(run.dir, run.path, rel, "directory")
        if not target.exists():
            raise ApiError(404, f"Directory not found: {rel}")
        if not target.is_dir():
            raise bad_request(f"{rel!r} is a file, not a directory.")
        entries = await run_in_threadpool(list_dir, target)
        return JSON({"status": 200, "message": "OK", "entries": entries, "count": len(entries)})

    async def upload(ctx: Ctx) -> Response:
        _, run = load(ctx)
        # guide: "Files can only be uploaded if the run state is CONFIGURATION" (File upload)
        ctx.world.require(run, CONFIGURATION)
        form = await ctx.request.form(max_files=10_000, max_fields=10_000)
        try:
            return await _upload(ctx, run, form)
        finally:
            await form.close()

    async def push(ctx: Ctx) -> Response:
        _, run = load(ctx)
        fields = await read_fields(ctx.request)
        message = fields.get("message")
        if not isinstance(message, str):
            raise bad_request(
                'message is required and must be a string: {"message": "...", "channel": "..."}.'
            )
        ctx.world.message_push(run, message, optional_str(fields, "channel"))
        return Response(status_code=202)

    async def pop(ctx: Ctx) -> Response:
        _, run = load(ctx)
        fields = await read_fields(ctx.request)
        message = ctx.world.message_pop(run, optional_str(fields, "channel"))
        if message is None:
            return Response(status_code=204)
        return JSON({"message": message})

    def route(pattern: str, **methods: Handler) -> Route:
        return Route(re.compile(pattern + "$"), methods)

    return [
        route(owner_re + "runs/", GET=list_runs, POST=deploy),
        route(run_re, GET=details, PATCH=patch, DELETE=delete),
        route(run_re + "run/", POST=start),
        route(run_re + "interrupt/", POST=interrupt),
        route(run_re + "download/", GET=download),
        route(run_re + "ls/", GET=ls),
        route(run_re + "upload/", POST=upload),
        route(run_re + "message_push/", POST=push),
        route(run_re + "message_pop/", POST=pop),
    ]


async def _upload(ctx: Ctx, run: Run, form: FormData) -> Response:
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
    files: list[tuple[UploadFile, Any]] = []
    for item in form.getlist("file"):
        if not isinstance(item, UploadFile):
            raise bad_request("file must be file data (multipart/form-data with a filename).")
        name = (item.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        if not name or name in (".", ".."):
            raise bad_request("Each file field needs a filename.")
        files.append((item, dest / name))
    dirs = []
    for item in form.getlist("directory"):
        if not isinstance(item, str) or not item:
            raise bad_request("directory must be a non-empty string.")
        dirs.append(resolve_inside(run.dir, run.path, item, "directory", base=dest))
    if not files and not dirs:
        raise bad_request("Send at least one file or directory field.")
    ctx.world.require(run, CONFIGURATION)
    dest.mkdir(parents=True, exist_ok=True)

    def storage(p: Any) -> str:
        rel = p.relative_to(root).as_posix()
        return run.path if rel == "." else f"{run.path}/{rel}"

    uploaded = []
    for item, target in files:
        if target.is_dir():
            raise bad_request(f"Cannot overwrite directory {storage(target)} with a file.")
        await run_in_threadpool(copy_stream, item.file, target)
        uploaded.append(storage(target))
    made = []
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        made.append(storage(d))
    return JSON({"status": 200, "message": "OK", "uploaded_files": uploaded, "uploaded_directories": made})


# --- workflows, apps, auth ---------------------------------------------------------------------


async def login(ctx: Ctx) -> Response:
    fields = await read_fields(ctx.request)
    missing = {k: ["This field is required."] for k in ("username", "password") if not fields.get(k)}
    if missing:
        raise ApiError(400, body=missing)
    user = ctx.world.login(str(fields["username"]), str(fields["password"]))
    if user is None:
        raise ApiError(400, body={"non_field_errors": ["Unable to log in with provided credentials."]})
    return JSON({"token": user.token})


def workflow_routes() -> list[Route]:
    coll = Collection("workflow", "workflows", "pseven")

    def item(ctx: Ctx, wf_id: str) -> dict[str, Any]:
        wf = ctx.world.workflow(wf_id)
        return {
            "id": wf.id,
            "name": wf.name,
            "path": wf.path,
            "url": ctx.api_url("pseven") + f"workflows/{wf.id}/",
        }

    async def list_workflows(ctx: Ctx) -> Response:
        return JSON([item(ctx, wf_id) for wf_id in list(ctx.world.workflows)])

    async def workflow_details(ctx: Ctx) -> Response:
        out = item(ctx, ctx.groups["owner"])
        owner = coll.owner(ctx)
        out["runs"] = [coll.run_summary(ctx, r, owner) for r in ctx.world.runs_of("workflow", owner.id)]
        return JSON(out)

    return [
        Route(re.compile(r"auth/login/$"), {"POST": login}, auth=False),
        Route(re.compile(r"workflows/$"), {"GET": list_workflows}),
        Route(re.compile(r"workflows/(?P<owner>[0-9A-Za-z_-]+)/$"), {"GET": workflow_details}),
        *run_routes(coll),
    ]


def app_routes() -> list[Route]:
    coll = Collection("app", "apps", "appshub")

    def version_details(ctx: Ctx, app: App, ver: AppVersion, full: bool) -> dict[str, Any]:
        base = ctx.api_url("appshub") + "apps/"
        ws = {"id": app.workspace.id, "name": app.workspace.name}
        out: dict[str, Any] = {
            "name": app.name,
            "path": app.path,
            "id": app.id,
            "readme": None,
            "url": f"{base}{app.id}@{ver.version}/",
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
            "workspace": ws,
            "state": ver.state,
        }
        if full:
            wf = ver.workflow
            owner = Owner(app.id, app.path, f"{base}{app.id}/", f"{base}{app.id}/runs/", app, ver)
            out.update(
                description=app.description,
                parameters=[
                    {
                        "name": wf.param_name(p),
                        "value": ctx.world.value_json(p.type, p.default, p.default is not None),
                        "labels": p.labels,
                    }
                    for p in wf.parameters
                ],
                results=[{"name": wf.result_name(r), "labels": r.labels} for r in wf.results],
                runs=[coll.run_summary(ctx, r, owner) for r in ctx.world.runs_of("app", app.id)],
                app_url=f"{base}{app.id}/",
                thumbnail=app.thumbnail,
                allow_get_as_workflow=app.allow_get_as_workflow,
                default=ver.version == app.default_version,
                versions=[
                    {
                        "version": v.version,
                        "revision": v.revision,
                        "url": f"{base}{app.id}@{v.version}/",
                        "state": ctx.world.app(app.id, v.version)[1].state,
                        "default": v.version == app.default_version,
                    }
                    for v in sorted(app.versions.values(), key=lambda v: v.version)
                ],
            )
        return out

    async def list_apps(ctx: Ctx) -> Response:
        base = ctx.api_url("appshub") + "apps/"
        out = []
        for app_id in list(ctx.world.apps):
            app, ver = ctx.world.app(app_id)
            out.append(
                {
                    "id": app.id,
                    "name": app.name,
                    "path": app.path,
                    "url": f"{base}{app.id}/",
                    "description": app.description,
                    "version": ver.version,
                    "workspace": {"id": app.workspace.id, "name": app.workspace.name},
                    "state": ver.state,
                }
            )
        return JSON(out)

    async def app_details(ctx: Ctx) -> Response:
        version = ctx.groups.get("version")
        app, ver = ctx.world.app(ctx.groups["owner"], int(version) if version else None)
        return JSON(version_details(ctx, app, ver, full=True))

    async def publish(ctx: Ctx) -> Response:
        ctype = content_type(ctx.request)
        thumbnail: str | None = None
        if ctype == "multipart/form-data":
            form = await ctx.request.form()
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
        return JSON(version_details(ctx, app, ver, full=False), status_code=201)

    return [
        Route(re.compile(r"auth/login/$"), {"POST": login}, auth=False),
        Route(re.compile(r"apps/$"), {"GET": list_apps, "POST": publish}),
        Route(re.compile(r"apps/(?P<owner>[0-9A-Za-z_-]+)(?:@(?P<version>\d+))?/$"), {"GET": app_details}),
        *run_routes(coll),
    ]


# --- the dispatcher --------------------------------------------------------------------------------


class Api:
    """Routes requests for one base path (``.rest`` or ``@rest``); everything else is the web UI."""

    def __init__(self, world: World, base: str = ".rest") -> None:
        self.world = world
        self.base = base
        self.prefixes = {
            f"/pseven/{base}/v2/": workflow_routes(),
            f"/appshub/{base}/v2/": app_routes(),
        }
        self.html = SIGN_IN_HTML.replace("{base}", quote(base, safe="@."))

    def match_prefix(self, path: str) -> tuple[str, list[Route]] | None:
        for prefix, routes in self.prefixes.items():
            if path.startswith(prefix):
                return path[len(prefix) :], routes
        return None

    def outside_api(self, request: Request) -> Response:
        """A path under neither base URL: the variant ``unknown_base_path`` (guide: the API base URLs
        are "{sign-in URL}/pseven/.rest/v2/" and "{sign-in URL}/appshub/.rest/v2/", Introduction)."""
        style = self.world.variants.unknown_base_path
        if style == "html":
            return HTMLResponse(self.html)
        if style == "redirect":
            if request.url.path == LOGIN_PATH:
                return HTMLResponse(self.html)
            return RedirectResponse(f"{LOGIN_PATH}?next={quote(request.url.path)}", status_code=302)
        return JSON({"detail": "Not found."}, status_code=404)

    async def handle(self, request: Request) -> Response:
        found = self.match_prefix(request.url.path)
        if found is None:
            return self.outside_api(request)
        rest, routes = found
        try:
            for route in routes:
                m = route.pattern.match(rest)
                if m is None:
                    continue
                handler = route.methods.get(request.method)
                if handler is None:
                    raise ApiError(405, f'Method "{request.method}" not allowed.')
                ctx = Ctx(self.world, request, self.base, {k: v for k, v in m.groupdict().items() if v})
                if route.auth:
                    ctx.user = self.authenticate(request)
                return await handler(ctx)
            raise not_found()
        except ApiError as exc:
            return JSON(exc.body, status_code=exc.status, headers=exc.headers)

    def authenticate(self, request: Request) -> User:
        header = request.headers.get("authorization", "")
        parts = header.split()
        if not parts or parts[0].lower() != "token":
            raise ApiError(403, "Authentication credentials were not provided.")
        if len(parts) == 1:
            raise ApiError(403, "Invalid token header. No credentials provided.")
        if len(parts) > 2:
            raise ApiError(403, "Invalid token header. Token string should not contain spaces.")
        user = self.world.user_by_token(parts[1])
        if user is None:
            raise ApiError(403, "Invalid token.")
        return user
