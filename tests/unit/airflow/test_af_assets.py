"""pseven:// asset URIs as Airflow validates them (the provider-info handler), download destinations
as Assets, and the run metadata attached to outlet events."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import airflow
import jsonschema
import pytest
from airflow.sdk import Asset

from airflow_provider_pseven import assets
from airflow_provider_pseven.compat import HAS_EVENT_WATCHERS
from airflow_provider_pseven.get_provider_info import get_provider_info

pytestmark = pytest.mark.skipif(
    not HAS_EVENT_WATCHERS,
    reason="needs Airflow 3.3+: the pseven asset scheme and outlet extras (event watchers, shared streams, the asset state store); "
    "older Airflow refuses RunEventTrigger naming the version (tests/compat/test_compat.py)",
)


def test_the_pseven_scheme_is_registered_valid_against_airflows_schema():
    info = get_provider_info()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    (entry,) = info["asset-uris"]
    assert entry["schemes"] == ["pseven"]
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert ProvidersManagerTaskRuntime().asset_uri_handlers["pseven"] is assets.sanitize_uri


def test_airflow_normalises_pseven_uris_with_the_handler():
    a = Asset("pseven://App.PSeven.io/Users/1/Toy Workflow.p7wf/")
    b = Asset("pseven://app.pseven.io/Users/1/Toy%20Workflow.p7wf")
    assert a.uri == b.uri == "pseven://app.pseven.io/Users/1/Toy%20Workflow.p7wf"
    assert Asset("pseven://127.0.0.1:8765/Users/1/T.p7wf").uri == "pseven://127.0.0.1:8765/Users/1/T.p7wf"


@pytest.mark.parametrize(
    "uri", ["pseven:///Users/1/Toy.p7wf", "pseven://app.pseven.io", "pseven://app.pseven.io/"]
)
def test_pseven_uris_need_a_host_and_a_path(uri):
    with pytest.raises(ValueError, match=r"pseven:// asset URI needs"):
        Asset(uri)


def test_the_factory_builds_the_same_asset():
    made = assets.create_asset(host="https://app.pseven.io", path="/Users/1/Toy Workflow.p7wf")
    assert made.uri == Asset("pseven://app.pseven.io/Users/1/Toy Workflow.p7wf").uri


def test_download_asset_names_local_paths_as_file_uris_and_urls_as_they_are(tmp_path):
    assert assets.download_asset(tmp_path / "out").uri == f"file://{tmp_path}/out"
    assert assets.download_asset("s3://bucket/toy/").uri == "s3://bucket/toy"


def test_an_asset_destination_is_the_item_when_named_after_it_else_a_folder():
    folder = Asset("s3://bucket/toy/")
    exact = Asset("s3://bucket/toy/results.json")
    assert assets.destination_of(folder, "results.json") == "s3://bucket/toy/"
    assert assets.destination_of(exact, "results.json") == "s3://bucket/toy/results.json"
    assert assets.destination_of(folder, "out/toy") == "s3://bucket/toy"


def test_run_extra_carries_the_run_and_results_under_one_key():
    summary = {
        "workflow_id": "w",
        "run_id": "r",
        "name": "n",
        "path": "p",
        "url": "u",
        "state": "FINISHED",
        "x": 1,
    }
    assert assets.run_extra(summary, {"MyResult": 99}, ["/tmp/a"]) == {
        "pseven": {
            "workflow_id": "w",
            "run_id": "r",
            "name": "n",
            "path": "p",
            "url": "u",
            "state": "FINISHED",
            "results": {"MyResult": 99},
            "files": ["/tmp/a"],
        }
    }


def test_attach_to_outlets_updates_the_event_of_every_asset_outlet():
    from airflow.sdk import AssetAlias

    one, two = Asset("s3://b/one"), Asset("s3://b/two")
    events = {one: SimpleNamespace(extra={"mine": 1}), two: SimpleNamespace(extra={})}
    context = {"task": SimpleNamespace(outlets=[one, two, AssetAlias("alias")]), "outlet_events": events}
    assert assets.attach_to_outlets(context, {"pseven": {"run_id": "r"}}) == 2
    assert events[one].extra == {"mine": 1, "pseven": {"run_id": "r"}}
    assert events[two].extra == {"pseven": {"run_id": "r"}}
    assert assets.attach_to_outlets({"task": SimpleNamespace(outlets=[])}, {}) == 0
