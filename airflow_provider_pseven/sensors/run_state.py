"""RunStateSensor: wait for a pSeven run to reach a state (deferrable by default)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_pseven.client import RunState
from airflow_provider_pseven.client.waiting import WaitResult, run_summary
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.operators.base import (
    RunAddress,
    WaitingMixin,
    positive,
    with_default_retry_policy,
)
from airflow_provider_pseven.triggers.run_state import RunStateTrigger


class _RunSensorBase(RunAddress, WaitingMixin, BaseSensorOperator):  # type: ignore[misc]
    """Shared by the run sensors: the run address, the hook, deferral with an absolute deadline."""

    template_fields: Sequence[str] = ("pseven_conn_id", *RunAddress.run_address_fields)

    def __init__(
        self,
        *,
        run_id: str,
        workflow_id: str | None = None,
        app_id: str | None = None,
        pseven_conn_id: str = PsevenHook.default_conn_name,
        deferrable: bool = True,
        poll_interval: float = 5.0,
        timeout: float = 7 * 24 * 3600.0,
        **kwargs: Any,
    ) -> None:
        positive("poll_interval", poll_interval, allow_none=False)
        positive("timeout", timeout, allow_none=False)
        with_default_retry_policy(kwargs)
        super().__init__(poke_interval=poll_interval, timeout=timeout, **kwargs)
        self.set_run_address(run_id, workflow_id, app_id)
        self.pseven_conn_id = pseven_conn_id
        self.init_waiting(deferrable, poll_interval, timeout, interrupt_on_timeout=False)

    @cached_property
    def hook(self) -> PsevenHook:
        return PsevenHook(self.pseven_conn_id)

    def _deadline_from_start(self) -> float:
        return time.time() + float(self.timeout or 0)


class RunStateSensor(_RunSensorBase):
    """Wait until a run reaches one of ``target_states``; fail on ``failure_states``.

    On failure the run log's last lines go into the task log. Deferred by default: the wait runs in
    the triggerer with an absolute deadline that survives a triggerer restart.

    :param interrupt_on_kill: when a user kills the deferred task (mark failed/success, clear),
        interrupt the pSeven run too (default True). Set False for a sensor that only observes a run
        another task owns.

    :return: the final run summary ``{"workflow_id" | "app_id", "run_id", "name", "path", "url", "state"}``.
    """

    def __init__(
        self,
        *,
        target_states: Sequence[str] = ("FINISHED",),
        failure_states: Sequence[str] = ("FAILED", "INTERRUPTED"),
        interrupt_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        states = {s.value for s in RunState} - {"UNKNOWN"}
        for name, given in (("target_states", target_states), ("failure_states", failure_states)):
            if isinstance(given, str):
                raise ValueError(
                    f"{name} must be a list of states, not the string {given!r}; write {name}=[{given!r}]"
                )
            unknown = [s for s in given if s not in states]
            if unknown:
                raise ValueError(f"{name} has unknown states {unknown}; valid states: {sorted(states)}")
        self.target_states = list(target_states)
        self.failure_states = list(failure_states)
        self.interrupt_on_kill = interrupt_on_kill

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        ref = self.ref
        self.defer(
            trigger=RunStateTrigger(
                self.pseven_conn_id,
                ref.kind.value,
                ref.parent_id,
                ref.run_id,
                self.target_states,
                self.failure_states,
                deadline=self._deadline_from_start(),
                poll_interval=self.poll_interval or 5.0,
                interrupt_on_kill=self.interrupt_on_kill,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Any) -> PokeReturnValue | bool:
        ref = self.ref
        run = self.hook.client.get_run(ref)
        self.log.info("Run %s is %s", ref.run_id, run.state_text)
        if run.state_text in self.target_states:
            return PokeReturnValue(is_done=True, xcom_value=run_summary(ref, run))
        if run.state_text in self.failure_states or run.state.is_terminal:
            self.check_run_result(
                WaitResult(
                    "failed",
                    run.state_text,
                    run_summary(ref, run),
                    f"run {ref.run_id} ended {run.state_text}",
                ),
                ref,
            )
        return False

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        result = self.result_from_event(event)
        if result.status == "timeout":
            raise AirflowException(f"Timed out after {self.timeout:g} s: pSeven {result.message}")
        return self.check_run_result(result, self.ref)


class MessageSensor(_RunSensorBase):
    """Wait for a message from a running run on ``channel`` (the default channel if None).

    Fails if the run ends before a message comes. Deferred by default.

    :return: the message received (a string).
    """

    template_fields: Sequence[str] = (*_RunSensorBase.template_fields, "channel")

    def __init__(self, *, channel: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channel = channel

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_pseven.triggers.message import MessageTrigger

        ref = self.ref
        self.defer(
            trigger=MessageTrigger(
                self.pseven_conn_id,
                ref.kind.value,
                ref.parent_id,
                ref.run_id,
                self.channel or None,
                deadline=self._deadline_from_start(),
                poll_interval=self.poll_interval or 5.0,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Any) -> PokeReturnValue | bool:
        from airflow_provider_pseven.client import PsevenStateError

        ref = self.ref
        try:
            message = self.hook.client.message_pop(ref, self.channel or None)
        except PsevenStateError:
            run = self.hook.client.get_run(ref)
            if run.state.is_terminal:
                raise AirflowFailException(
                    f"Run {ref.run_id} ended {run.state_text} before it sent a message"
                ) from None
            return False
        if message is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=message)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        result = self.result_from_event(event)
        if result.status == "success":
            return result.payload.get("message")
        if result.status == "timeout":
            raise AirflowException(f"Timed out after {self.timeout:g} s: pSeven {result.message}")
        raise AirflowFailException(f"pSeven {result.message}")
