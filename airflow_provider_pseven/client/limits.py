"""How much of an answer a driver reads, and for how long: the client is bounded against any server.

The read timeout of requests and httpx applies between two reads, so a server that trickles a byte
every few seconds would hold a call forever, and a body read whole could fill the memory. Both
drivers read non-streamed bodies through an :class:`AnswerLimit`: at most ``max_body_bytes``, and
done within ``deadline`` seconds of the call's start (of the answer's start for an upload, whose
sending may rightly take long). Streamed downloads go to disk and have no size cap; the read
timeout still cuts a stalled one off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from airflow_provider_pseven.client.calls import Call
from airflow_provider_pseven.client.errors import PsevenBadAnswerError, PsevenTransportError


@dataclass(eq=False)
class AnswerLimit:
    """The size and time budget of one call's answer: ``deadline`` seconds from now (see
    :meth:`restart`); ``slow_error`` words the error of an answer that came too slowly."""

    call: Call
    max_bytes: int = field(kw_only=True)
    deadline: float = field(kw_only=True)
    slow_error: Callable[[Call, str], PsevenTransportError] = field(kw_only=True, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, kw_only=True, repr=False)
    #: When the answer must be complete, on ``clock``.
    ends: float = field(init=False)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """Count the deadline from now (an upload's answer: its sending may rightly take long)."""
        self.ends = self.clock() + self.deadline

    def remaining(self) -> float:
        return max(self.ends - self.clock(), 0.0)

    def declared(self, status: int, headers: Mapping[str, str]) -> None:
        """Refuse at once an answer whose Content-Length is over the cap."""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise self.too_large(status, int(length))

    def add(self, status: int, size: int) -> None:
        """After each piece of the body: ``size`` bytes so far."""
        if size > self.max_bytes:
            raise self.too_large(status, size)
        if self.clock() > self.ends:
            raise self.too_slow()

    def too_large(self, status: int, size: int) -> PsevenBadAnswerError:
        return PsevenBadAnswerError(
            self.call.method,
            self.call.path,
            status,
            f"the answer is over the client's limit of {self.max_bytes} bytes (at least {size}); raise "
            "ClientConfig.max_body_bytes if this server really sends answers this large",
            "(not kept)",
        )

    def too_slow(self) -> PsevenTransportError:
        return self.slow_error(
            self.call,
            f"no complete answer within the call's deadline of {self.deadline:g} s (the server sends "
            "too slowly; ClientConfig.deadline sets it)",
        )


__all__ = ["AnswerLimit"]
