"""The emulator's front door: what keeps a web page from driving it on a developer's machine.

The emulator holds a token that works (the default one is public) and runs on loopback, where any
web page the developer opens can reach it. Three checks, before anything else sees a request:

- **Host.** The ``Host`` header must name the address the server is bound to (any loopback name
  when it is bound to loopback, any IP literal when it is bound to all addresses) or the public
  URL it was given, else 421. A DNS-rebinding page reaches us under its own name, so it stops here.
- **Cross-origin.** A browser marks a request from another site with ``Origin`` and
  ``Sec-Fetch-Site``; such a request is refused with 403, except a plain navigation (a link
  followed to the sign-in page). The emulator sends no CORS headers, so a page can read nothing
  either. Non-browser clients (requests, httpx, curl, the provider) send neither header.
- **Body size.** A body over ``max_body`` bytes is refused with 413 ``{"detail": ...}`` (JSON, as
  the guide's errors are: Error handling), from ``Content-Length`` before reading, or as soon as a
  chunked body passes the limit, so an upload can not fill the disk.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD = frozenset({"0.0.0.0", "::", ""})
DEFAULT_MAX_BODY = 2 * 1024**3
_SAFE_METHODS = ("GET", "HEAD")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (the only binds a web page on another
    machine can not reach)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def split_authority(authority: str) -> tuple[str, int | None]:
    """``host[:port]`` (``[v6]:port`` too) as a lower-case name without the trailing dot, and the port."""
    try:
        parts = urlsplit("//" + authority)
        return (parts.hostname or "").rstrip("."), parts.port
    except ValueError:  # "[", "host:port:x", "host:99999": names nothing
        return "", -1


class BodyTooLarge(ApiError):
    """413, raised from ``receive`` while a handler reads the body (the API renders ApiErrors)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"Request body is larger than this server accepts ({limit} bytes). Send less, or start "
            "the emulator with a higher --max-upload-size.",
            headers={"Connection": "close"},
        )


@dataclass(frozen=True)
class GuardConfig:
    """What the guard accepts: ``bind`` is the address the socket is bound to, ``public_url`` the
    URL clients use when that is another name (a reverse proxy, a container's port map)."""

    bind: str = "127.0.0.1"
    port: int = 0
    public_url: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    names: frozenset[str] = field(init=False)
    any_ip: bool = field(init=False)

    def __post_init__(self) -> None:
        bind = self.bind.strip("[]").lower()
        names = {bind}
        if is_loopback(bind) or bind in WILDCARD:
            names |= LOOPBACK_NAMES
        if bind in WILDCARD:
            names.add(socket.gethostname().lower())
        if self.public_url:
            names.add(split_authority(urlsplit(self.public_url).netloc)[0])
        object.__setattr__(self, "names", frozenset(names - {""}))
        object.__setattr__(self, "any_ip", bind in WILDCARD)

    def host_allowed(self, host: str) -> bool:
        name, _ = split_authority(host)
        return name in self.names or (self.any_ip and _is_ip(name))

    def origins(self, host: str) -> set[str]:
        """The origins a browser page of this server has: the request's own and the public URL's."""
        own = {f"{scheme}://{host.lower()}" for scheme in ("http", "https")}
        if self.public_url:
            parts = urlsplit(self.public_url)
            own.add(f"{parts.scheme}://{parts.netloc}".lower())
        return own


def _refusal(config: GuardConfig, scope: Scope, headers: Headers) -> tuple[int, str] | None:
    host = headers.get("host", "")
    if not host:
        return 400, "A Host header is required."
    if not config.host_allowed(host):
        return 421, (
            f"This emulator does not answer for host {split_authority(host)[0]!r}: use one of "
            f"{sorted(config.names)}, or start it with --public-url naming the address clients use."
        )
    site = headers.get("sec-fetch-site", "")
    origin = headers.get("origin")
    navigation = scope["method"] in _SAFE_METHODS and headers.get("sec-fetch-mode") == "navigate"
    foreign = site in ("cross-site", "same-site") or (
        origin is not None and origin.rstrip("/").lower() not in config.origins(host)
    )
    if foreign and not navigation:
        return 403, (
            "Cross-origin requests are refused: the emulator answers API clients, not web pages "
            f"of other sites (Origin {origin or 'not sent'}, Sec-Fetch-Site {site or 'not sent'})."
        )
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > config.max_body:
        return 413, BodyTooLarge(config.max_body).body["detail"]
    return None


async def send_json(send: Send, status: int, body: object, extra: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class Guard:
    """Outermost ASGI layer: Host, cross-origin and body-size checks (module docstring)."""

    def __init__(self, app: ASGIApp, config: GuardConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _refusal(self.config, scope, Headers(scope=scope))
        if refusal is not None:
            status, detail = refusal
            await send_json(
                send, status, {"detail": detail}, {"Connection": "close"} if status == 413 else None
            )
            return
        limit, seen = self.config.max_body, [0]

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise BodyTooLarge(limit)
            return message

        # ``send`` goes through as it is: the fault layer finds uvicorn's transport through it.
        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge as exc:  # read before any handler ran (the fault layer's buffering)
            await send_json(send, exc.status, exc.body, exc.headers)
