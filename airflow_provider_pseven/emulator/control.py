"""The emulator's own control endpoints under ``/_emulator/`` (outside the API; no faults, no log).

GET/PUT/DELETE ``/_emulator/faults``, GET/DELETE ``/_emulator/requests``, POST ``/_emulator/reset``,
GET/PUT ``/_emulator/timing``, GET/PUT ``/_emulator/variants`` (``{"spec": "strictest"}`` or
``{"wrong_state_status": 409}``), GET ``/_emulator/health``.

Each needs ``Authorization: Token <a user's token>`` (the one the emulator printed), and each
request with a method other than GET a JSON content type: a web page can send neither without
a CORS preflight, which the emulator never grants. Only ``health`` is open: it changes nothing
and tells nothing but "ok", and start-up scripts poll it before they know a token.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import authenticate
from .errors import ApiError
from .faults import Faults
from .reqlog import RequestLog
from .routing import content_type
from .variants import Variants
from .world import Timing, World

PREFIX = "/_emulator/"
_TIMING_FIELDS = {f.name for f in dataclasses.fields(Timing)}


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _admit(request: Request, world: World) -> None:
    """The token, and a JSON content type on anything but GET (module docstring), else 403/415."""
    try:
        authenticate(world, request)
    except ApiError as exc:
        raise ApiError(
            403, f"{exc.body['detail']} The emulator's control routes need Authorization: Token <token>."
        ) from None
    if request.method != "GET" and content_type(request) != "application/json":
        raise ApiError(
            415,
            f"The emulator's control routes take Content-Type: application/json on {request.method}, "
            f"not {content_type(request) or 'none'!r}.",
        )


async def handle_control(request: Request, world: World, faults: Faults, log: RequestLog) -> Response:
    name = request.url.path[len(PREFIX) :].strip("/")
    method = request.method
    if name == "health" and method == "GET":
        return JSONResponse({"status": "ok"})
    _admit(request, world)
    try:
        if name == "faults":
            if method in ("PUT", "POST", "PATCH"):
                faults.set(**(await _json_body(request)))
            elif method == "DELETE":
                faults.clear()
            elif method != "GET":
                return JSONResponse({"detail": "method not allowed"}, status_code=405)
            return JSONResponse({**faults.config.to_json(), "injected": faults.injected})
        if name == "requests":
            if method == "DELETE":
                log.clear()
                return JSONResponse({"count": 0, "entries": []})
            entries = log.to_json()
            return JSONResponse({"count": len(entries), "entries": entries})
        if name == "reset" and method == "POST":
            world.reset()
            faults.clear()
            log.clear()
            return JSONResponse({"status": "reset"})
        if name == "timing":
            if method in ("PUT", "POST", "PATCH"):
                settings = await _json_body(request)
                unknown = set(settings) - _TIMING_FIELDS
                if unknown:
                    raise ValueError(f"unknown timing settings: {sorted(unknown)}")
                for key, value in settings.items():
                    setattr(world.timing, key, float(value))
            return JSONResponse(dataclasses.asdict(world.timing))
        if name == "variants":
            if method in ("PUT", "POST", "PATCH"):
                settings = await _json_body(request)
                spec = settings.pop("spec", None)
                base = Variants.parse(spec) if isinstance(spec, str) else world.variants
                items = ",".join(f"{k}={v}" for k, v in settings.items())
                world.variants = Variants.parse(",".join(filter(None, (base.spec(), items))))
            return JSONResponse({"spec": world.variants.spec(), **world.variants.as_dict()})
    except (ValueError, TypeError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    return JSONResponse({"detail": "Not found."}, status_code=404)
