"""Run messaging: per channel, a client-to-platform and a platform-to-client FIFO queue.

The client side never blocks (it answers 204 when empty); the block side (``api.message_pop``)
waits on a condition variable with an optional timeout, and wakes up on interrupt.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

DEFAULT_CHANNEL = ""


class MessageBus:
    """Both directions of every channel of one run; thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._to_platform: defaultdict[str, deque[str]] = defaultdict(deque)
        self._to_client: defaultdict[str, deque[str]] = defaultdict(deque)

    @staticmethod
    def _key(channel: str | None) -> str:
        return channel or DEFAULT_CHANNEL

    # client side (REST endpoints)
    def client_push(self, message: str, channel: str | None = None) -> None:
        with self._cond:
            self._to_platform[self._key(channel)].append(message)
            self._cond.notify_all()

    def client_pop(self, channel: str | None = None) -> str | None:
        with self._cond:
            queue = self._to_client.get(self._key(channel))
            if not queue:
                return None
            message = queue.popleft()
            self._cond.notify_all()
            return message

    # platform side (the block API)
    def block_push(self, message: str, channel: str | None = None) -> None:
        with self._cond:
            self._to_client[self._key(channel)].append(message)

    def block_pop(
        self, channel: str | None, timeout: float, interrupted: Callable[[], bool], on_interrupt: Exception
    ) -> str:
        """Wait for a client message; ``timeout`` 0 waits forever (as the guide's block API)."""
        key = self._key(channel)
        deadline = time.monotonic() + timeout if timeout and timeout > 0 else None
        with self._cond:
            while True:
                queue = self._to_platform.get(key)
                if queue:
                    return queue.popleft()
                if interrupted():
                    raise on_interrupt
                wait = 0.05
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"no message on channel {channel!r} within {timeout} s")
                    wait = min(wait, remaining)
                self._cond.wait(wait)

    def wait_drained(self, channel: str | None, timeout: float, interrupted: Callable[[], bool]) -> bool:
        """Wait until the client has popped every message of ``channel``; False on timeout/interrupt."""
        key = self._key(channel)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._to_client.get(key):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or interrupted():
                    return False
                self._cond.wait(min(0.05, remaining))
            return True

    def wake(self) -> None:
        """Wake blocked block-side readers so they notice an interrupt at once."""
        with self._cond:
            self._cond.notify_all()
