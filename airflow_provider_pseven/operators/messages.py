"""Sending a message to a running run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pseven.operators.base import PsevenRunOperator


class MessagePushOperator(PsevenRunOperator):
    """Push ``message`` to the run's client-to-platform queue on ``channel`` (default channel if None).

    The run must be RUNNING. Not retried blindly: a lost answer could mean a delivered message.

    :return: the message pushed.
    """

    template_fields: Sequence[str] = (*PsevenRunOperator.template_fields, "message", "channel")

    def __init__(self, *, message: str, channel: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.channel = channel

    def execute(self, context: Any) -> str:
        message = str(self.message)
        self.hook.client.message_push(self.ref, message, self.channel or None)
        where = f"channel {self.channel!r}" if self.channel else "the default channel"
        self.log.info("Sent a message (%d characters) to run %s on %s", len(message), self.ref.run_id, where)
        return message
