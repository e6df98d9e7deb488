"""The ASGI application: the guard (guard.py), then fault/log middleware around the API router
and the control endpoints."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import Receive, Scope, Send

from .api import Api
from .control import PREFIX, handle_control
from .errors import ApiError
from .faults import FaultMiddleware, Faults
from .guard import Guard, GuardConfig
from .reqlog import RequestLog
from .variants import PROXY_PEER
from .world import World

logger = logging.getLogger("airflow_provider_pseven.emulator")


class EmulatorApp:
    """A plain ASGI app (no framework routing): one dispatcher, so every request costs little."""

    def __init__(
        self,
        world: World,
        base_path: str,
        faults: Faults,
        log: RequestLog,
        guard: GuardConfig | None = None,
    ) -> None:
        self.world = world
        self.api = Api(world, base_path)
        self.faults = faults
        self.log = log
        inner = FaultMiddleware(self._dispatch, faults, log, exempt_prefix=PREFIX)
        self.asgi = Guard(inner, guard or GuardConfig())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if self._refused(scope):
            # What a corporate firewall answers a host that bypasses the proxy (variant "access").
            text = f"403 Forbidden: direct connections are refused; this server is reachable only through its proxy ({PROXY_PEER})"
            await PlainTextResponse(text, 403)(scope, receive, send)
            return
        await self.asgi(scope, receive, send)

    def _refused(self, scope: Scope) -> bool:
        """Variant ``access="proxy_only"``: a peer other than the proxy, outside the control API."""
        if self.world.variants.access != "proxy_only" or scope["path"].startswith(PREFIX):
            return False
        client = scope.get("client")
        return not client or client[0] != PROXY_PEER

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            if scope["path"].startswith(PREFIX):
                response = await handle_control(request, self.world, self.faults, self.log)
            else:
                response = await self.api.handle(request)
        except ApiError as exc:  # raised outside a route handler: the body limit, the control routes
            response = JSONResponse(exc.body, exc.status, exc.headers)
        except Exception:  # a bug in the emulator: a server shows no internals; the log has them
            logger.exception("emulator error on %s %r", scope["method"], scope["path"])
            response = JSONResponse({"detail": "Internal error."}, 500)
        await response(scope, receive, send)
