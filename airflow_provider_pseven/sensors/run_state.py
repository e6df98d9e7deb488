"""RunStateSensor and MessageSensor: wait for a pSeven run's state or message.

They take BaseSensorOperator's arguments with their usual meaning: ``poke_interval`` (alias
``poll_interval``), ``timeout``, ``mode``, ``soft_fail``, ``exponential_backoff``, ``max_wait``.
They defer as the operators do (one rule, :func:`~airflow_provider_pseven.tasks.waiting.default_deferrable`):
``deferrable=True``, or ``deferrable`` left out where ``[operators] default_deferrable`` is on; the
wait then runs in the triggerer and polls every ``poke_interval``. Otherwise they poke (``mode="poke"``,
the default) or reschedule (``mode="reschedule"``), as any Airflow sensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_pseven.client import PsevenError, RunState
from airflow_provider_pseven.client.waiting import classify, poll_message
from airflow_provider_pseven.compat import AirflowException, AirflowFailException
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.tasks import notes
from airflow_provider_pseven.tasks.address import RunAddress
from airflow_provider_pseven.tasks.notes import LineageMixin
from airflow_provider_pseven.tasks.retries import with_default_retry_policy
from airflow_provider_pseven.tasks.waiting import WaitingMixin, default_deferrable, positive

DEFAULT_POKE_INTERVAL = 5.0
DEFAULT_TIMEOUT = 7 * 24 * 3600.0


def _seconds(name: str, value: float | timedelta) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    checked = positive(name, seconds, allow_none=False)
    assert checked is not None
    return checked


def poke_interval_of(
    poke_interval: float | timedelta | None, poll_interval: float | timedelta | None
) -> float:
    """``poke_interval`` (Airflow's name) or ``poll_interval`` (this provider's alias), not two values."""
    given = {
        n: _seconds(n, v)
        for n, v in (("poke_interval", poke_interval), ("poll_interval", poll_interval))
        if v is not None
    }
    if len(set(given.values())) > 1:
        raise ValueError(
            f"poke_interval={given['poke_interval']:g} and poll_interval={given['poll_interval']:g} disagree: "
            "they are two names for one setting, so give only poke_interval"
        )
    return next(iter(given.values()), DEFAULT_POKE_INTERVAL)


def deferrable_for(deferrable: bool | None, mode: str) -> bool:
    """``deferrable`` as given, else Airflow's ``default_deferrable`` (as every operator here); asking
    for ``mode="reschedule"`` is asking not to defer."""
    if deferrable is None:
        return mode != "reschedule" and default_deferrable()
    if deferrable and mode == "reschedule":
        raise ValueError(
            'deferrable=True and mode="reschedule" are two ways to free the worker slot while waiting; '
            'choose one (deferrable=True waits in the triggerer, mode="reschedule" reschedules the task)'
        )
    return deferrable


class _RunSensorBase(LineageMixin, WaitingMixin, BaseSensorOperator, RunAddress):
    """Shared by the run sensors: the run address, the hook, deferral with an absolute deadline,
    and the OpenLineage ``pseven_run`` facet of the run watched (as the operators have)."""

    template_fields: Sequence[str] = ("pseven_conn_id", *RunAddress.run_address_fields)

    def __init__(
        self,
        *,
        pseven_conn_id: str = PsevenHook.default_conn_name,
        deferrable: bool | None = None,
        poke_interval: float | timedelta | None = None,
        poll_interval: float | timedelta | None = None,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        mode: str = "poke",
        **kwargs: Any,
    ) -> None:
        interval = poke_interval_of(poke_interval, poll_interval)
        seconds = _seconds("timeout", timeout)
        with_default_retry_policy(kwargs)
        super().__init__(poke_interval=interval, timeout=seconds, mode=mode, **kwargs)
        self.pseven_conn_id = pseven_conn_id
        self.init_waiting(deferrable_for(deferrable, mode), interval, seconds, interrupt_on_timeout=False)

    @cached_property
    def hook(self) -> PsevenHook:
        return PsevenHook(self.pseven_conn_id)

    def _deadline_from_start(self) -> float:
        return self.hook.client.core.clock() + float(self.timeout or 0)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        result = self.result_from_event(event)
        if result.status == "timeout":
            raise AirflowException(f"Timed out after {self.timeout:g} s: pSeven {result.message}")
        return self.completed(result)

    def completed(self, result: Any) -> Any:
        raise NotImplementedError

    def note_run(self, seen: dict[str, Any]) -> None:
        """Note the run for the ``pseven_run`` facet: ``seen`` (a run summary) if it names the run's
        name, url and state, else the run read once more. That read is best effort: a message already
        popped must not be lost because lineage could not read the run."""
        ref = self.ref
        if {"name", "url", "state"} <= set(seen):
            notes.record(self, ref, seen)
            return
        try:
            notes.record(self, ref, self.hook.client.get_run(ref))
        except PsevenError as error:
            self.log.warning(
                "Could not read run %s for lineage (%s); its facet names only its id", ref.run_id, error
            )
            notes.record(self, ref)


class RunStateSensor(_RunSensorBase):
    """Wait until a run reaches one of ``target_states``; fail on ``failure_states``.

    On failure the run log's last lines go into the task log and the exception. Deferred (see the
    module), the wait runs in the triggerer with an absolute deadline that survives a triggerer
    restart.

    :param interrupt_on_kill: when a user kills the deferred task (mark failed/success, clear),
        interrupt the pSeven run too (default False: a sensor watches a run that other tasks own,
        as the dbt Cloud provider's job run sensor never cancels the job it watches; the operators
        that start or wait for their own run interrupt it on kill).

    :return: the final run summary ``{"workflow_id" | "app_id", "run_id", "name", "path", "url", "state"}``.
    """

    def __init__(
        self,
        *,
        target_states: Sequence[str] = ("FINISHED",),
        failure_states: Sequence[str] = ("FAILED", "INTERRUPTED"),
        interrupt_on_kill: bool = False,
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
        from airflow_provider_pseven.triggers.run_state import RunStateTrigger

        self.defer(
            trigger=RunStateTrigger.for_run(
                self.pseven_conn_id,
                self.ref,
                self.target_states,
                self.failure_states,
                deadline=self._deadline_from_start(),
                poll_interval=self.poll_interval or DEFAULT_POKE_INTERVAL,
                interrupt_on_kill=self.interrupt_on_kill,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Any) -> PokeReturnValue | bool:
        ref = self.ref
        run = self.hook.client.get_run(ref)
        notes.record(self, ref, run)
        self.log.info("Run %s is %s", ref.run_id, run.state_text)
        outcome = classify(
            ref, run, [RunState(s) for s in self.target_states], [RunState(s) for s in self.failure_states]
        )
        if outcome is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.completed(outcome))

    def completed(self, result: Any) -> Any:
        self.note_run(result.payload)
        return self.check_run_result(result, self.ref)


class MessageSensor(_RunSensorBase):
    """Wait for a message from a running run on ``channel`` (the default channel if None).

    Fails as soon as the run ends without sending one (the run's state is re-read while waiting).
    Defers as the module says; never interrupts the run.

    :return: the message received (a string).
    """

    template_fields: Sequence[str] = (*_RunSensorBase.template_fields, "channel")

    def __init__(self, *, channel: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channel = channel

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        ref = self.ref
        from airflow_provider_pseven.triggers.message import MessageTrigger

        self.defer(
            trigger=MessageTrigger(
                self.pseven_conn_id,
                ref.kind.value,
                ref.parent_id,
                ref.run_id,
                self.channel or None,
                deadline=self._deadline_from_start(),
                poll_interval=self.poll_interval or DEFAULT_POKE_INTERVAL,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Any) -> PokeReturnValue | bool:
        outcome = self.hook.client.run(poll_message(self.ref, self.channel or None))
        if outcome is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.completed(outcome))

    def completed(self, result: Any) -> Any:
        self.note_run(result.payload)
        if result.status == "success":
            return result.payload.get("message")
        raise AirflowFailException(f"pSeven {result.message}")
