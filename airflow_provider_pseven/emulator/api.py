"""The REST API v2, as the guide describes it: one dispatcher per base path over Starlette requests.

Each API prefix has a route table: login (auth.py), then the collection's endpoints, which end
with the run endpoints they share (workflow_endpoints.py, app_endpoints.py, run_endpoints.py).
Anything under neither prefix is the web front end (the variant ``unknown_base_path``).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .app_endpoints import AppEndpoints
from .auth import LOGIN_ROUTE, authenticate
from .errors import ApiError, not_found
from .routing import Ctx, Route
from .workflow_endpoints import WorkflowEndpoints
from .world import World

LOGIN_PATH = "/login/"

SIGN_IN_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pSeven Enterprise — Sign in</title></head>
<body><h1>pSeven Enterprise — Sign in</h1>
<form method="post" action="/login/"><input name="username" placeholder="Email">
<input name="password" type="password" placeholder="Password"><button>Sign in</button></form>
<p>This is the web front end. REST API clients use {sign-in URL}/pseven/{base}/v2/.</p>
</body></html>
"""


class Api:
    """Routes requests for one base path (``.rest`` or ``@rest``); everything else is the web UI."""

    def __init__(self, world: World, base: str = ".rest") -> None:
        self.world = world
        self.base = base
        self.prefixes = {
            f"/pseven/{base}/v2/": [LOGIN_ROUTE, *WorkflowEndpoints().routes()],
            f"/appshub/{base}/v2/": [LOGIN_ROUTE, *AppEndpoints().routes()],
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
        return JSONResponse({"detail": "Not found."}, status_code=404)

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
                    ctx.user = authenticate(self.world, request)
                return await handler(ctx)
            raise not_found()
        except ApiError as exc:
            return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)
