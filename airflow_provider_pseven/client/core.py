"""What the sync and async clients share: URLs, headers, readiness (base path, token), op stepping."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_pseven.client import operations as ops
from airflow_provider_pseven.client.calls import Base, Call, Op, Reply, Retry, Sleep
from airflow_provider_pseven.client.config import ClientConfig
from airflow_provider_pseven.client.errors import (
    PsevenRequestMayHaveSucceeded,
    PsevenTransportError,
    PsevenUnsafeURLError,
)


class ClientCore:
    """Connection state of one client: the API base path and token, found once and reused."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.api_path: str | None = None if config.api_path == "auto" else config.api_path
        self.token: str | None = config.token
        origin = urlsplit(config.host)
        self._origin = (origin.scheme, origin.hostname, origin.port)

    @property
    def ready(self) -> bool:
        return self.api_path is not None and self.token is not None

    def readiness(self) -> Op[None]:
        """Detect the base path (when ``auto``) and log in (when no token): at most once each."""
        if self.api_path is None:
            self.api_path = yield from ops.detect_api_path()
        if self.token is None:
            assert self.config.username and self.config.password
            token = yield from ops.login(self.config.username, self.config.password)
            if self.config.on_secret:
                self.config.on_secret(token)
            self.token = token

    def api_base(self, base: Base) -> str:
        """``{sign-in URL}/pseven/{api path}/v2/`` or the AppsHub twin."""
        return f"{self.config.host}/{base.value}/{self.api_path or '.rest'}/v2/"

    def url(self, call: Call) -> str:
        if call.base is Base.ABSOLUTE:
            target = urlsplit(call.path)
            if (target.scheme, target.hostname, target.port) != self._origin:
                raise PsevenUnsafeURLError(
                    f"The server gave a URL on {target.scheme}://{target.netloc}, not on the configured "
                    f"{self.config.host}; the request was not sent, so the token never leaves this host"
                )
            return call.path
        if call.base is Base.SITE:
            return f"{self.config.host}/{call.path}"
        return self.api_base(call.base) + call.path

    def headers(self, call: Call) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self.config.user_agent}
        if call.authenticated and self.token:
            headers["Authorization"] = f"Token {self.token}"
        if call.body is not None:
            headers["Content-Type"] = call.body.content_type
            headers["Content-Length"] = str(call.body.content_length)
        return headers

    def transport_error(self, call: Call, reason: str, *, sent: bool) -> PsevenTransportError:
        """A failure with no answer, worded for a person, never showing a credential."""
        error = PsevenTransportError(
            call.method, call.path, f"{reason} (server {self.config.host})", sent=sent
        )
        if sent and call.retry is not Retry.SAFE:
            return PsevenRequestMayHaveSucceeded(call.method, call.path, error.reason, sent=True)
        return error


def advance(
    op: Generator[Call | Sleep, Reply | None, Any], reply: Reply | None, error: BaseException | None
) -> tuple[bool, Any]:
    """Feed ``op`` the last answer (or error); return ``(True, result)`` or ``(False, next step)``."""
    try:
        step = op.throw(error) if error is not None else op.send(reply)
    except StopIteration as stop:
        return True, stop.value
    return False, step
