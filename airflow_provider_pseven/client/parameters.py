"""Setting run parameters by the guide's PATCH rules, with Secrets recognised by behaviour.

The guide (Run parameters) says a PATCH carries "run details with new parameter values", and shows
a Secret only through its values: ``null`` when unset, ``""`` once set. No field marks a parameter
as a Secret. So:

- a parameter that reads back ``""`` after the PATCH that sent it a non-empty value *is* a Secret,
  and is masked from then on (a type marker, where a server has one, is honoured too);
- a parameter the caller is not setting whose value reads ``""`` or ``null`` may be a Secret, set
  or unset: it is left out of the body, because echoing ``""`` would overwrite the hidden value;
- a new value goes out as ``{"data": value}`` alone: the guide calls the other keys of ``value``
  "metainformation for the current value", which a new value makes stale (a type of ``Integer``
  beside ``2.25`` would contradict it).

A server that refuses a PATCH without every parameter (the guide does not say whether it may) gets
the unset ones back as ``null``, which changes nothing; one that would need a ``""`` echoed back is
told plainly what to do instead, and nothing is sent that could reset a Secret.
"""

from __future__ import annotations

import dataclasses
import logging
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
from airflow_provider_pseven.client.operations import RunRef, get_run

log = logging.getLogger("airflow_provider_pseven.client")


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
            sent.append({**parameter.raw, "value": {"data": new_by_id[parameter.id]}})
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
        reply = yield Call("PATCH", ref.path(), base=ref.base, json=body)
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
        reply = yield Call("PATCH", ref.path(), base=ref.base, json=body)
    assert isinstance(reply, Reply)
    return checked(Run.from_json(reply.json_object()), new_by_id)


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


def checked(run: Run, expected: Mapping[str, Any]) -> Run:
    """The PATCH answer must show the values sent, a Secret's as ``""``; mark the Secrets found."""
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
    if wrong:
        raise PsevenError(
            f"The server did not apply the values of {', '.join(sorted(wrong))}: "
            "the run details returned by PATCH show other values"
        )
    if not found:
        return run
    marked = tuple(dataclasses.replace(p, is_secret=True) if p.id in found else p for p in run.parameters)
    return dataclasses.replace(run, parameters=marked)


__all__ = [
    "PsevenPatchRefusedError",
    "match_parameters",
    "may_hide_secret",
    "patch_body",
    "set_parameters",
]
