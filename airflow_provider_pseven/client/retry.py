"""When to resend a request, and how long to wait first.

One policy serves the sync and the async driver: it produces the keyword arguments of tenacity's
``Retrying`` / ``AsyncRetrying``, and each driver adds only its own ``sleep``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tenacity import RetryCallState

from airflow_provider_pseven.client.calls import Call, Retry
from airflow_provider_pseven.client.errors import (
    PsevenHTTPError,
    PsevenRequestMayHaveSucceeded,
    PsevenTransportError,
)
from airflow_provider_pseven.client.text import client_logger

log = client_logger()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, ``Retry-After`` honoured, all within a time budget.

    :param attempts: most tries of one request, the first included.
    :param budget: seconds from the first try after which no new try starts.
    :param initial: the first backoff, doubled each time up to ``maximum``.
    :param retry_after_cap: the longest ``Retry-After`` we accept to wait.
    """

    attempts: int = 8
    budget: float = 120.0
    initial: float = 0.5
    maximum: float = 20.0
    retry_after_cap: float = 120.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.budget < 0 or self.initial < 0 or self.maximum < 0:
            raise ValueError("RetryPolicy needs attempts >= 1 and non-negative times")

    def should_retry(self, call: Call, error: BaseException) -> bool:
        """Is resending ``call`` after ``error`` both useful and safe?"""
        if isinstance(error, PsevenRequestMayHaveSucceeded):
            return False
        if isinstance(error, PsevenTransportError):
            return call.retry is Retry.SAFE or not error.sent
        if isinstance(error, PsevenHTTPError) and error.status in self.statuses:
            # 429 and 503 mean the server turned the request away before acting on it; a 502 or 504
            # from a gateway says nothing about whether the upstream acted.
            return call.retry is Retry.SAFE or error.status in (429, 503)
        return False

    def backoff(self, attempt: int) -> float:
        """Equal-jitter exponential backoff for the wait after try number ``attempt``."""
        ceiling = min(self.maximum, self.initial * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def wait_for(self, attempt: int, error: BaseException | None) -> float:
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            return min(float(retry_after), self.retry_after_cap)
        return self.backoff(attempt)

    def tenacity_kwargs(self, call: Call) -> dict[str, Any]:
        """Arguments for ``tenacity.Retrying``/``AsyncRetrying`` (the caller adds ``sleep``)."""

        def retry(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            return error is not None and self.should_retry(call, error)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_for(state.attempt_number, error)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.attempts:
                return True
            elapsed = state.seconds_since_start or 0.0
            return elapsed + (state.upcoming_sleep or 0.0) > self.budget

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s: %s; retrying in %.1f s (try %d of %d)",
                call.label,
                _short(error),
                state.upcoming_sleep,
                state.attempt_number + 1,
                self.attempts,
            )

        return {"retry": retry, "wait": wait, "stop": stop, "before_sleep": before_sleep, "reraise": True}


def _short(error: BaseException | None) -> str:
    if isinstance(error, PsevenHTTPError):
        return f"HTTP {error.status} {error.detail}"
    return str(error)
