"""Setting run parameters from Airflow: Secret values are masked before anything logs, stores or
sends them.

A value is registered with Airflow's secret masker (through its public ``mask_secret``):

- for a parameter named in ``secret_parameters``, each time the task's ``parameters`` are assigned:
  in ``__init__`` (a literal, already when the DAG is parsed) and as the task renders its templates
  (Airflow assigns each rendered field, mapped tasks included), so before the rendered fields are
  stored or an OpenLineage START event is sent;
- for a parameter the run reads as ``null`` or ``""`` (how the API shows a Secret, unset or set),
  right before the PATCH that sends it;
- for a parameter the PATCH answer shows to be a Secret, right after it.

Results that echo a value the masker knows are shown redacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven.client import Run, RunRef
from airflow_provider_pseven.tasks import notes

if TYPE_CHECKING:
    from airflow_provider_pseven.client.sync import PsevenClient


def mask_value(value: Any) -> None:
    """Register one parameter value with Airflow's secret masker (nothing for an empty value)."""
    from airflow.sdk.log import mask_secret  # looked up at each call: tests patch it

    if value is None or value == "" or isinstance(value, bool):
        return
    mask_secret(value if isinstance(value, str) else str(value))


def declared_secrets(secret_parameters: Any) -> tuple[str, ...]:
    """``secret_parameters`` as a tuple of names or ids, refusing what is surely a mistake."""
    if secret_parameters is None:
        return ()
    if isinstance(secret_parameters, str) or not isinstance(secret_parameters, Iterable):
        raise TypeError(
            "secret_parameters takes a list of parameter names or ids, e.g. "
            f"secret_parameters=[{secret_parameters!r}], not a {type(secret_parameters).__name__}"
        )
    names = tuple(secret_parameters)
    bad = [name for name in names if not isinstance(name, str) or not name]
    if bad:
        raise TypeError(
            f"secret_parameters must hold parameter names or ids (non-empty strings), not {bad!r}"
        )
    return names


def _unrendered(value: Any) -> bool:
    """A Jinja template still to be rendered: its text is not the Secret."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def mask_declared(parameters: Any, secrets: tuple[str, ...], *, rendered: bool) -> None:
    """Mask the values of ``parameters`` given under a name or id in ``secrets``, and refuse a
    declared Secret that ``parameters`` names otherwise (its value would go unmasked until the run
    is read). Templates not yet rendered are left for the render."""
    if not secrets or not isinstance(parameters, Mapping):
        return
    missing = [name for name in secrets if name not in parameters]
    if missing:
        raise ValueError(
            f"secret_parameters names {', '.join(map(repr, missing))}, which parameters does not have "
            f"as a key (its keys: {', '.join(map(repr, map(str, parameters)))}). Declare each Secret "
            "with the same name or id that parameters uses for it, so that its value is masked as "
            "soon as the task renders its templates"
        )
    for name in secrets:
        value = parameters[name]
        if rendered or not _unrendered(value):
            mask_value(value)


class SecretParametersMixin:
    """``parameters`` whose values under ``secret_parameters`` are masked the moment they are set.

    Airflow assigns every rendered template field to the task (``setattr``, also when it unmaps a
    mapped task) before it stores the rendered fields or calls the listeners, so a property setter
    masks a Secret before anything can show it; ``render_template_fields`` masks once more after
    rendering, for a rendered value that still looks like a template.
    """

    _parameters: Any = None
    _secret_parameters: tuple[str, ...] = ()

    def init_secret_parameters(self, secret_parameters: Any, parameters: Any) -> None:
        """Set both, Secrets first, so a literal Secret is masked as the DAG is parsed."""
        self._secret_parameters = declared_secrets(secret_parameters)
        self.parameters = parameters

    @property
    def secret_parameters(self) -> tuple[str, ...]:
        """Names or ids of the parameters whose values are Secrets."""
        return self._secret_parameters

    @property
    def parameters(self) -> Any:
        return self._parameters

    @parameters.setter
    def parameters(self, value: Any) -> None:
        mask_declared(value, self._secret_parameters, rendered=False)
        self._parameters = value

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)  # type: ignore[misc]
        mask_declared(self._parameters, self._secret_parameters, rendered=True)


def mask_secret_values(run_parameters: Any, values: Mapping[str, Any]) -> None:
    """Register the values given for Secret parameters with Airflow's secret masker.

    A Secret is known only once the PATCH answer shows it (``""`` for the value sent), so this
    runs right after the PATCH and before anything logs the values.
    """
    from airflow_provider_pseven.client.parameters import match_parameters

    for key, parameter in match_parameters(run_parameters, values).items():
        if parameter.is_secret:
            mask_value(values[key])


def apply_parameters(
    client: PsevenClient, ref: RunRef, values: Mapping[str, Any], task: Any = None
) -> dict[str, Any]:
    """Set ``values`` ({name or id: value}) and return what was applied, Secrets shown as ``""``.

    Values of parameters that read as a possible Secret are masked before the PATCH is sent. The
    run as read after the PATCH is noted for ``task``'s lineage."""
    if not isinstance(values, Mapping):
        raise TypeError(f"parameters must be a mapping of name or id to value, not {type(values).__name__}")
    if not values:
        return {}
    run = client.set_parameters(ref, values, on_possible_secret=mask_value)
    mask_secret_values(run.parameters, values)
    notes.record(task, ref, run, sent=values)
    from airflow_provider_pseven.client.parameters import match_parameters

    by_key = match_parameters(run.parameters, values)
    return {parameter.name: parameter.shown_value() for parameter in by_key.values()}


def shown_results(run: Run) -> dict[str, Any]:
    """The run's results ``{name: value}``, Secrets as ``""`` and any value echoing a secret this
    task's masker knows (a Secret parameter, a sensitive Variable, a connection's password) redacted."""
    results = run.result_values()
    try:
        from airflow.sdk.log import redact
    except ImportError:  # pragma: no cover - older Task SDKs: Secrets still show as ""
        return results
    return {name: redact(value) for name, value in results.items()}
