"""Sending a message to a running run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pseven.client import PsevenStateError, RunRef, RunState
from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.operators.base import PsevenRunOperator
from airflow_provider_pseven.operators.runs import _WaitsForRun
from airflow_provider_pseven.tasks import notes


class MessagePushOperator(_WaitsForRun, PsevenRunOperator):
    """Push ``message`` to the run's client-to-platform queue on ``channel`` (default channel if None).

    The guide lets a client message a run only while it is RUNNING. Right after a start the run is
    QUEUED_TO_RUN, so the operator first waits (deferrable, bounded by ``timeout``) until it runs,
    and fails saying so if the run ends first. Not retried blindly: a lost answer could mean a
    delivered message.

    :return: the message pushed.
    """

    template_fields: Sequence[str] = (*PsevenRunOperator.template_fields, "message", "channel")

    def __init__(self, *, message: str, channel: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.channel = channel

    def execute(self, context: Any) -> Any:
        ref = self.ref
        run = self.hook.client.get_run(ref)
        notes.record(self, ref, run)
        if run.state is RunState.RUNNING:
            return self._push(ref)
        if run.state.is_terminal:
            raise AirflowFailException(self._not_sent(ref, run.state_text))
        self.log.info(
            "Run %s is %s; waiting until it is RUNNING to send the message", ref.run_id, run.state_text
        )
        return self.wait_for_states(context, ref, ["RUNNING"])

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        return self._push(ref)

    def _push(self, ref: RunRef) -> str:
        message = str(self.message)
        try:
            self.hook.client.message_push(ref, message, self.channel or None)
        except PsevenStateError:  # the run, read after the refusal, is not RUNNING
            run = self.hook.client.get_run(ref)
            notes.record(self, ref, run)
            raise AirflowFailException(self._not_sent(ref, run.state_text)) from None
        where = f"channel {self.channel!r}" if self.channel else "the default channel"
        self.log.info("Sent a message (%d characters) to run %s on %s", len(message), ref.run_id, where)
        return message

    @staticmethod
    def _not_sent(ref: RunRef, state: str) -> str:
        return (
            f"Run {ref.run_id} is {state}: a message can be sent only while it is RUNNING, so it was not sent"
        )
