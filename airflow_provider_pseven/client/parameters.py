"""Setting run parameters by the guide's PATCH rules, with Secrets recognised by behaviour.

The guide (Run parameters) says a PATCH carries "run details with new parameter values", and its
one PATCH example sends the run details back as read with ``value.data`` changed. It shows a Secret
only through its values: ``null`` when unset, ``""`` once set. No field marks a parameter as a
Secret. So:

- a new value goes out as the value object read, ``data`` changed and every other key kept: the
  guide calls those keys "metainformation for the current value", and a server may need them back;
- a parameter that reads back ``""`` after the PATCH that sent it a non-empty value *is* a Secret,
  and is masked from then on (a type marker, where a server has one, is honoured too);
- a parameter the caller is not setting whose value reads ``""`` or ``null`` may be a Secret, set
  or unset: it is left out of the body, because echoing ``""`` would overwrite the hidden value;
- after the PATCH *every* parameter is checked, not only those set: each must read back as sent,
  as ``""`` (a Secret), or as before. A server that replaces the whole list resets what the body
  left out, a set Secret included; that fails the task naming the parameters, before the run starts.

A server that refuses a PATCH without every parameter (the guide does not say whether it may) gets
the unset ones back as ``null``, which changes nothing; one that would need a ``""`` echoed back is
told plainly what to do instead, and nothing is sent that could reset a Secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_pseven.client.calls import Call, Op, Reply
from airflow_provider_pseven.client.errors import (
    PsevenBadRequestError,
    PsevenConfigError,
    PsevenError,
    PsevenLookupError,
)
from airflow_provider_pseven.client.models import JSON, Parameter, Run
from airflow_provider_pseven.client.operations import get_run
from airflow_provider_pseven.client.refs import RunRef
from airflow_provider_pseven.client.refusals import CONFIGURATION, state_checked
from airflow_provider_pseven.client.text import client_logger

log = client_logger()


class PsevenParametersNotKeptError(PsevenConfigError):
    """After a PATCH, parameters the task did not set read back changed (the server replaced the
    whole list, resetting what the body left out). A retry would not see what was lost (a reset
    Secret reads ``null`` like one never set), so this is no error a retry can fix."""


class PsevenPatchRefusedError(PsevenConfigError):
    """The server wants every parameter in a PATCH, and some read back as a possibly set Secret.

    Sending such a value back as read (``""``) would overwrite the Secret, so nothing is sent: the
    caller has to give those parameters values of its own.
    """


def match_parameters(parameters: Sequence[Parameter], keys: Iterable[str]) -> dict[str, Parameter]:
    """Map each key (a parameter id or name) to its parameter; unknown keys fail listing names."""
    by_id = {p.id: p for p in parameters}
    by_name: dict[str, list[Parameter]] = {}
    for parameter in parameters:
        by_name.setdefault(parameter.name, []).append(parameter)
    matched: dict[str, Parameter] = {}
    for key in keys:
        if key in by_id:
            matched[key] = by_id[key]
        elif len(by_name.get(key, ())) == 1:
            matched[key] = by_name[key][0]
        elif key in by_name:
            raise PsevenLookupError("parameter", key, [p.id for p in by_name[key]], ambiguous=True)
        else:
            raise PsevenLookupError("parameter", key, sorted(by_name))
    return matched


def may_hide_secret(parameter: Parameter) -> bool:
    """True when the value as read may stand for a Secret's hidden value (``""`` or ``null``)."""
    return parameter.is_secret or parameter.value in (None, "")


def value_with(parameter: Parameter, data: Any) -> JSON:
    """The parameter's value object as read, with ``data`` replaced (the guide's PATCH example)."""
    read = parameter.raw.get("value")
    return {**(read if isinstance(read, dict) else {}), "data": data}


def patch_body(run: Run, new_by_id: Mapping[str, Any], *, echo_unset: bool) -> tuple[JSON, list[Parameter]]:
    """The PATCH body (run details as read, new values in) and the parameters it leaves out.

    With ``echo_unset``, parameters that read ``null`` go back as ``null`` (unset stays unset);
    a ``""`` that is not being replaced never goes back.
    """
    body = dict(run.raw)
    sent: list[JSON] = []
    left_out: list[Parameter] = []
    for parameter in run.parameters:
        if parameter.id in new_by_id:
            sent.append({**parameter.raw, "value": value_with(parameter, new_by_id[parameter.id])})
        elif not may_hide_secret(parameter) or (echo_unset and parameter.value is None):
            sent.append(parameter.raw)
        else:
            left_out.append(parameter)
    body["parameters"] = sent
    return body, left_out


def set_parameters(
    ref: RunRef, values: Mapping[str, Any], on_possible_secret: Callable[[Any], None] | None = None
) -> Op[Run]:
    """Set parameter values by name or id, check they took, and return the run as the PATCH shows it.

    Unknown names fail before anything is sent. ``on_possible_secret`` is called, before the PATCH,
    with each value sent to a parameter that reads as a possible Secret (``null`` or ``""``), so an
    application can mask it before an error or a log line could show it. In the run returned,
    parameters found to be Secrets (see the module docstring) have ``is_secret`` set, so their
    values show as ``""``.
    """
    run = yield from get_run(ref)
    matched = match_parameters(run.parameters, values)
    if on_possible_secret is not None:
        for key, parameter in matched.items():
            if may_hide_secret(parameter):
                on_possible_secret(values[key])
    new_by_id = {parameter.id: values[key] for key, parameter in matched.items()}
    body, left_out = patch_body(run, new_by_id, echo_unset=False)
    try:
        reply = yield from _patch(ref, body)
    except PsevenBadRequestError as error:
        if not left_out:
            raise
        masked = [p.name for p in left_out if p.value is not None]
        if masked:
            raise _refused(error, masked) from None
        log.info(
            "Run %s: the server refused a PATCH without %s; sending them as null (unset), as read",
            ref.run_id,
            ", ".join(p.name for p in left_out),
        )
        body, _ = patch_body(run, new_by_id, echo_unset=True)
        reply = yield from _patch(ref, body)
    return checked(reply.model(Run.from_json), new_by_id, before=run)


def _patch(ref: RunRef, body: JSON) -> Op[Reply]:
    """The PATCH, its refusal judged by the run's state (only CONFIGURATION takes one)."""
    return state_checked(ref, Call("PATCH", ref.path(), base=ref.base, json=body), CONFIGURATION)


def _same(shown: Any, sent: Any) -> bool:
    """Equal as JSON values: ``true`` is not ``1``, while ``16`` and ``16.0`` are one number."""
    if isinstance(shown, bool) or isinstance(sent, bool):
        return shown is sent
    return bool(shown == sent)


def _refused(error: PsevenBadRequestError, masked: list[str]) -> PsevenPatchRefusedError:
    names = ", ".join(sorted(masked))
    return PsevenPatchRefusedError(
        f"The server refused the PATCH (HTTP {error.status}: {error.detail}). It left out {names}, which "
        'read back as "": that is how the API shows a Secret that is set, and sending "" back would '
        f"overwrite it. If the server needs every parameter in a PATCH, give {names} in parameters too "
        "(for a Secret, its real value)"
    )


def checked(run: Run, expected: Mapping[str, Any], *, before: Run | None = None) -> Run:
    """Every parameter of the PATCH answer must read as sent (a Secret's as ``""``) or, when not
    set, as ``before``; mark the Secrets found. Raises naming every parameter that does not."""
    found: set[str] = set()
    wrong: list[str] = []
    for parameter in run.parameters:
        if parameter.id not in expected:
            continue
        value = expected[parameter.id]
        if _same(parameter.value, value):
            continue
        if parameter.value == "" and value not in (None, ""):
            found.add(parameter.id)  # a Secret: "some value is now set", says the guide
        elif not (parameter.is_secret and (parameter.value is None) == (value is None)):
            wrong.append(parameter.name)
    changed = [] if before is None else _not_kept(before, run, expected)
    if changed:
        raise _not_kept_error(run, changed, wrong)
    if wrong:
        raise PsevenError(
            f"The server did not apply the values of {', '.join(sorted(wrong))}: "
            "the run details returned by PATCH show other values"
        )
    if not found:
        return run
    marked = tuple(dataclasses.replace(p, is_secret=True) if p.id in found else p for p in run.parameters)
    return dataclasses.replace(run, parameters=marked)


def _not_kept(before: Run, after: Run, expected: Mapping[str, Any]) -> list[tuple[Parameter, Any]]:
    """The parameters not being set that the PATCH answer shows changed or lacks, with what each
    reads now (``...`` for missing)."""
    now = {p.id: p for p in after.parameters}
    changed: list[tuple[Parameter, Any]] = []
    for parameter in before.parameters:
        if parameter.id in expected:
            continue
        shown = now.get(parameter.id)
        if shown is None:
            changed.append((parameter, ...))
        elif not _same(shown.value, parameter.value):
            changed.append((parameter, shown.value))
    return changed


def _not_kept_error(run: Run, changed: list[tuple[Parameter, Any]], wrong: list[str]) -> PsevenError:
    """What happened and what to do; values only where they cannot be a Secret's (``""``, ``null``)."""
    parts = []
    for parameter, now in changed:
        if now is ...:
            parts.append(f"{parameter.name} (missing from the answer)")
        elif parameter.value == "":
            after = "null" if now is None else "another value"
            parts.append(
                f'{parameter.name} (read "", as a set Secret does, and now {after}: its value is lost)'
            )
        else:
            parts.append(f"{parameter.name} (now {'null' if now is None else 'another value'})")
    names = ", ".join(sorted(p.name for p, _ in changed))
    also = f" It did not apply the values of {', '.join(sorted(wrong))} either." if wrong else ""
    return PsevenParametersNotKeptError(
        f"Run {run.id}: the PATCH changed parameters it did not set: {'; '.join(parts)}.{also} The "
        "server seems to replace the whole parameter list on PATCH, resetting what the body left out "
        '(a value that reads "" is never sent back, since it may be a set Secret). The run was not '
        f"started. Give {names} in parameters too (a Secret with its real value), so every one is sent"
    )


__all__ = [
    "PsevenParametersNotKeptError",
    "PsevenPatchRefusedError",
    "match_parameters",
    "may_hide_secret",
    "patch_body",
    "set_parameters",
    "value_with",
]
