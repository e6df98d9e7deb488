"""Provider metadata as Airflow itself discovers, validates and serves it to the UI."""

from __future__ import annotations

import json
from pathlib import Path

import airflow
import jsonschema
import pytest
from airflow.providers_manager import ProvidersManager

from airflow_provider_pseven import __version__
from airflow_provider_pseven.get_provider_info import get_provider_info

PACKAGE = "airflow-provider-pseven"
EXTRA_FIELDS = ("api_path", "verify_ssl", "ca_bundle", "timeout", "require_https", "proxy")


@pytest.fixture(scope="module")
def manager() -> ProvidersManager:
    return ProvidersManager()


def test_airflow_discovers_the_provider_through_its_entry_point(manager: ProvidersManager) -> None:
    info = manager.providers[PACKAGE]
    assert info.version == __version__
    assert info.data["package-name"] == PACKAGE
    assert info.data["connection-types"][0]["connection-type"] == "pseven"


def test_provider_info_is_valid_against_airflows_own_schema() -> None:
    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    schema = json.loads(schema_path.read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)  # raises ValidationError naming the offending key
    assert info["versions"] == [__version__]


def test_schema_validation_would_catch_a_broken_entry() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    info["connection-types"][0].pop("hook-class-name")
    with pytest.raises(jsonschema.ValidationError, match="hook-class-name"):
        jsonschema.validate(info, schema)


def test_hook_and_extra_link_are_registered(manager: ProvidersManager) -> None:
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["pseven"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_provider_pseven.hooks.pseven.PsevenHook"
    assert hook.connection_id_attribute_name == "pseven_conn_id"
    assert hook.hook_name == "pSeven Enterprise"
    assert "airflow_provider_pseven.links.PsevenRunLink" in manager.extra_links_class_names


def test_connection_form_widgets_are_the_extras(manager: ProvidersManager) -> None:
    widgets = {k: v for k, v in manager.connection_form_widgets.items() if k.startswith("extra__pseven__")}
    assert sorted(widgets) == sorted(f"extra__pseven__{name}" for name in EXTRA_FIELDS)
    api_path = widgets["extra__pseven__api_path"]
    assert api_path.field_name == "api_path"
    assert api_path.package_name == PACKAGE
    assert api_path.field["value"] == "auto"
    assert api_path.field["schema"]["enum"] == ["auto", "@rest", ".rest", None]
    assert api_path.field["schema"]["title"] == "REST API base path"
    assert widgets["extra__pseven__verify_ssl"].field["schema"]["type"] == ["boolean", "null"]
    assert widgets["extra__pseven__verify_ssl"].field["value"] is True
    assert widgets["extra__pseven__ca_bundle"].field["value"] is None
    assert widgets["extra__pseven__require_https"].field["value"] is False
    timeout = widgets["extra__pseven__timeout"].field
    assert timeout["value"] == 60
    assert timeout["schema"]["exclusiveMinimum"] == 0
    assert not any(w.is_sensitive for w in widgets.values())


def test_field_behaviours_hide_and_relabel(manager: ProvidersManager) -> None:
    behaviour = manager.field_behaviours["pseven"]
    assert sorted(behaviour["hidden_fields"]) == ["schema"]
    assert behaviour["relabeling"] == {
        "host": "Sign-in URL",
        "port": "Port (optional)",
        "login": "Login (optional)",
        "password": "API token or password",
    }
    assert behaviour["placeholders"]["host"] == "https://app.pseven.io"


def test_ui_hook_meta_as_the_api_server_builds_it() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    metas = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "pseven"]
    assert len(metas) == 1
    meta = metas[0].model_dump()
    assert meta["hook_class_name"] == "airflow_provider_pseven.hooks.pseven.PsevenHook"
    assert meta["hook_name"] == "pSeven Enterprise"
    fields = meta["standard_fields"]
    assert fields["url_schema"]["hidden"] is True
    assert fields["port"]["hidden"] is False  # the UI's Test button needs a stored port (3.3.2)
    assert fields["host"] == {"hidden": False, "title": "Sign-in URL", "placeholder": "https://app.pseven.io"}
    assert fields["login"]["title"] == "Login (optional)"
    assert fields["password"]["title"] == "API token or password"
    assert sorted(meta["extra_fields"]) == sorted(EXTRA_FIELDS)
    assert meta["extra_fields"]["api_path"]["value"] == "auto"
    assert meta["extra_fields"]["timeout"]["schema"]["type"] == ["number", "null"]
