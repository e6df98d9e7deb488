"""What every endpoint works with: the request context, route table entries, request bodies and
the response for run files.

One small router (regex table per API prefix, api.py) rather than FastAPI path operations: it
gives exact control over what the guide's server does at the edges (trailing slash -> 404 JSON,
paths outside the API -> the variant ``unknown_base_path``, auth checked only on known endpoints)
at a low per-request cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from .errors import bad_request, unsupported_media_type

if TYPE_CHECKING:
    from .records import User
    from .world import World

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RunDetailsJSON(JSONResponse):
    """Run details, whose results hold whatever a workflow returned. A float result may be NaN or
    infinite; the guide says nothing of it, and a Python server writes them as JSON's non-standard
    ``NaN``/``Infinity`` (``json.dumps``' default) rather than failing, so the emulator does too."""

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


def route(pattern: str, *, auth: bool = True, **methods: Handler) -> Route:
    """A route for the whole of ``pattern`` (relative to the API prefix), one handler per method."""
    return Route(re.compile(pattern + "$"), methods, auth)


async def parse_form(request: Request, limit: int = 1000) -> FormData:
    """The request's form or multipart body; a malformed one is the client's 400, worded as Django
    REST framework words it, not an internal error (the fuzz suite sent a CR in a part header)."""
    try:
        return await request.form(max_files=limit, max_fields=limit)
    except (MultiPartException, ValueError) as exc:  # python-multipart's errors are ValueErrors
        raise bad_request(f"Multipart form parse error - {exc}") from None


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_fields(request: Request, form_only: bool = False) -> dict[str, Any]:
    """A JSON, form or multipart body as a dict; an empty body is ``{}`` (the guide posts those).

    ``form_only``: a non-empty body that is not a form is refused with 415. ``text/plain`` is
    refused with 415 too: the guide sends JSON, form or multipart bodies only, and text/plain is
    what a web page can post to another site without asking (guard.py).
    """
    ctype = content_type(request)
    if ctype == "text/plain":
        raise unsupported_media_type(ctype)
    if ctype in FORM_TYPES:
        form = await parse_form(request)
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
