"""Authentication: ``auth/login/`` exchanges a login and password for the token, and every other
endpoint wants ``Authorization: Token <token>``, with Django REST framework's answers when it is
missing or wrong (Authorization, Error handling)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import ApiError
from .records import User
from .routing import Ctx, read_fields, route
from .world import World


async def login(ctx: Ctx) -> Response:
    fields = await read_fields(ctx.request)
    missing = {k: ["This field is required."] for k in ("username", "password") if not fields.get(k)}
    if missing:
        raise ApiError(400, body=missing)
    user = ctx.world.login(str(fields["username"]), str(fields["password"]))
    if user is None:
        raise ApiError(400, body={"non_field_errors": ["Unable to log in with provided credentials."]})
    return JSONResponse({"token": user.token})


LOGIN_ROUTE = route("auth/login/", auth=False, POST=login)


def authenticate(world: World, request: Request) -> User:
    header = request.headers.get("authorization", "")
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        raise ApiError(403, "Authentication credentials were not provided.")
    if len(parts) == 1:
        raise ApiError(403, "Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise ApiError(403, "Invalid token header. Token string should not contain spaces.")
    user = world.user_by_token(parts[1])
    if user is None:
        raise ApiError(403, "Invalid token.")
    return user
