"""The connection form on Airflow 3.1, built from provider info's ``conn-fields`` and
``ui-field-behaviour`` (which Airflow 3.2+ reads itself): one description of the form.

Used only by :class:`airflow_provider_pseven.compat.BaseHook` on 3.1; goes with 3.1's support.
"""

from __future__ import annotations

from typing import Any


def _connection_type(hook_class: type) -> dict[str, Any] | None:
    """The provider-info ``connection-types`` entry of ``hook_class``, if it is the registered hook."""
    from airflow_provider_pseven.get_provider_info import get_provider_info

    name = f"{hook_class.__module__}.{hook_class.__qualname__}"
    for entry in get_provider_info().get("connection-types", []):
        if entry.get("hook-class-name") == name:
            return entry
    return None


def connection_form_widgets(conn_fields: dict[str, Any]) -> dict[str, Any]:
    """``conn-fields`` (JSON schema, Airflow 3.2+) as the WTForms widgets Airflow 3.1 reads.

    Airflow 3.1 accepts StringField, IntegerField, PasswordField and BooleanField only; its API
    server imports them with WTForms and Flask-AppBuilder mocked when those are not installed.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, StringField
    from wtforms.validators import Optional, any_of

    widgets: dict[str, Any] = {}
    for name, spec in conn_fields.items():
        schema = spec.get("schema", {})
        types = schema.get("type", "string")
        types = [types] if isinstance(types, str) else list(types)
        label = lazy_gettext(spec.get("label", name))
        common: dict[str, Any] = {"description": spec.get("description", "")}
        if "default" in schema:
            common["default"] = schema["default"]
        if "boolean" in types:
            widgets[name] = BooleanField(label, **common)
            continue
        validators: list[Any] = [Optional()]
        if "enum" in schema:
            validators.append(any_of(list(schema["enum"])))
        field_class = IntegerField if {"number", "integer"} & set(types) else StringField
        widgets[name] = field_class(label, validators=validators, widget=BS3TextFieldWidget(), **common)
    return widgets


def ui_field_behaviour(behaviour: dict[str, Any]) -> dict[str, Any]:
    """``ui-field-behaviour`` of provider info (Airflow 3.2+) in the hook method's spelling (3.1)."""
    return {key.replace("-", "_"): value for key, value in behaviour.items()}


def add_connection_form(hook_class: type) -> None:
    """Give the registered hook class the 3.1 form methods, in its own ``__dict__`` (Airflow 3.1
    looks only there), built from its provider-info entry: one description of the form."""
    entry = _connection_type(hook_class)
    if entry is None:
        return
    conn_fields = entry.get("conn-fields") or {}
    behaviour = entry.get("ui-field-behaviour") or {}

    def get_connection_form_widgets(cls: type) -> dict[str, Any]:
        return connection_form_widgets(conn_fields)

    def get_ui_field_behaviour(cls: type) -> dict[str, Any]:
        return ui_field_behaviour(behaviour)

    if conn_fields and "get_connection_form_widgets" not in hook_class.__dict__:
        hook_class.get_connection_form_widgets = classmethod(get_connection_form_widgets)  # type: ignore[attr-defined]
    if behaviour and "get_ui_field_behaviour" not in hook_class.__dict__:
        hook_class.get_ui_field_behaviour = classmethod(get_ui_field_behaviour)  # type: ignore[attr-defined]


__all__ = ["add_connection_form", "connection_form_widgets", "ui_field_behaviour"]
