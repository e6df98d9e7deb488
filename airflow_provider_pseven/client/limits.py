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

from airflow_provider_pseven.client.calls import Call
from airflow_provider_pseven.client.errors import PsevenBadAnswerError, PsevenTransportError


class AnswerLimit:
    """The size and time budget of one call's answer."""

    def __init__(
        self,
        call: Call,
        *,
        max_bytes: int,
        deadline: float,
        too_slow: Callable[[Call, str], PsevenTransportError],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.call = call
        self.max_bytes = max_bytes
        self.deadline = deadline
        self._too_slow = too_slow
        self._clock = clock
        self.ends = clock() + deadline

    def restart(self) -> None:
        """Count the deadline from now (an upload's answer: its sending may rightly take long)."""
        self.ends = self._clock() + self.deadline

    def remaining(self) -> float:
        return max(self.ends - self._clock(), 0.0)

    def declared(self, status: int, headers: Mapping[str, str]) -> None:
        """Refuse at once an answer whose Content-Length is over the cap."""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise self.too_large(status, int(length))

    def add(self, status: int, size: int) -> None:
        """After each piece of the body: ``size`` bytes so far."""
        if size > self.max_bytes:
            raise self.too_large(status, size)
        if self._clock() > self.ends:
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
        return self._too_slow(
            self.call,
            f"no complete answer within the call's deadline of {self.deadline:g} s (the server sends "
            "too slowly; ClientConfig.deadline sets it)",
        )


__all__ = ["AnswerLimit"]
