"""The one exception the world raises to produce an API error response."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error with a JSON body; ``detail`` becomes ``{"detail": ...}`` unless ``body`` is given."""

    def __init__(
        self, status: int, detail: str = "", body: Any = None, headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.status = status
        self.body = body if body is not None else {"detail": detail}
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, "Not found.")


def bad_request(detail: str) -> ApiError:
    return ApiError(400, detail)


def wrong_state(
    current: str, required: tuple[str, ...], what: str = "Run", status: int = 400, generic: bool = False
) -> ApiError:
    """A refusal that names both the current and the required state(s), so a client log is actionable.

    guide: "Verify that the run state is CONFIGURATION, otherwise your run setup requests will be
    rejected" (Run deployment); "Codes of the 4xx or 5xx class indicate an error. In this case, the
    response body contains error details" (Error handling). The status (400 by default, 409, 403
    or 422) is the variant ``wrong_state_status``; ``generic`` (``state_refusal_text="generic"``)
    words it without naming any state.
    """
    if generic:
        return ApiError(status, "Request rejected.")
    need = required[0] if len(required) == 1 else ", ".join(required[:-1]) + " or " + required[-1]
    return ApiError(status, f"{what} state is {current}; this request requires {need}.")


def unsupported_media_type(content_type: str) -> ApiError:
    """415 as Django REST framework words it (the variants ``publish_body``/``app_deploy_body``)."""
    return ApiError(415, f'Unsupported media type "{content_type}" in request.')
