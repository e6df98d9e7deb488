"""The emulator's defaults are the guide's, and each point the guide leaves open answers both ways.

Every test talks to a real server over loopback HTTP. Variant tests start one server per answer
(``pseven_emulator_factory(variants=...)``) and show that answer on the wire.
"""

import json
import re
import struct
import time
import zlib

import pytest
import requests

from airflow_provider_pseven.emulator import PRESETS, EmulatorServer, Variants
from airflow_provider_pseven.emulator.variants import VARIANT_CHOICES

from .conftest import FAST, TOY_APP_ID, TOY_ID, deploy, wait_state, workflow_id

pytestmark = pytest.mark.integration

DISK_DIR = "🏠.Disk Model [0001].p7wd"
ISO_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture
def make(pseven_emulator_factory):
    """``make("strictest")`` / ``make("guide,wrong_state_status=409")``: a fast server with those variants."""

    def factory(variants=None, **kwargs):
        kwargs.setdefault("time_scale", FAST)
        return pseven_emulator_factory(variants=variants, **kwargs)

    return factory


def by_name(items):
    return {p["name"]: p for p in items}


def finished_toy(server, **patch_by_name):
    run = deploy(server)
    if patch_by_name:
        ids = by_name(run["parameters"])
        body = {
            "parameters": [
                {"id": p["id"], "value": {"data": patch_by_name.get(name, p["value"]["data"])}}
                for name, p in ids.items()
            ]
        }
        assert requests.patch(run["url"], headers=server.auth_header, json=body).status_code == 200
    assert requests.post(run["url"] + "run/", headers=server.auth_header).status_code == 200
    return wait_state(run["url"], server.auth_header, "FINISHED")


# --- the Variants API ------------------------------------------------------------------------------


def test_presets_are_as_specified():
    assert PRESETS["guide"] == Variants()
    assert PRESETS["strictest"].as_dict() == {
        "secret_marker": "none",
        "duplicate_run_names": "refused",
        "wrong_state_status": 403,
        "partial_patch": "refused",
        "publish_body": "form_only",
        "app_deploy_body": "form_only",
        "pop_on_ended_run": 204,
        "unknown_base_path": "html",
        "value_style": "typed",
        "patch_metainfo": "required",
        "patch_omitted": "kept",
        "app_version_runs": "none",
        "state_refusal_text": "generic",
        "upload_limit": "html_413",
        "run_log": "finished_only",
        "ls_listing": "truncated",
        "ls_nested": "root_only",
        "access": "proxy_only",
    }
    assert PRESETS["lenient"].as_dict() == {
        "secret_marker": "type",
        "duplicate_run_names": "accepted",
        "wrong_state_status": 409,
        "partial_patch": "accepted",
        "publish_body": "any",
        "app_deploy_body": "any",
        "pop_on_ended_run": 400,
        "unknown_base_path": "json_404",
        "value_style": "data_only",
        "patch_metainfo": "optional",
        "patch_omitted": "reset",
        "app_version_runs": "served",
        "state_refusal_text": "names_state",
        "upload_limit": "none",
        "run_log": "every_end",
        "ls_listing": "complete",
        "ls_nested": "path",
        "access": "direct",
    }


def test_the_guides_answer_is_the_first_of_each_points_answers():
    assert Variants().as_dict() == {name: answers[0] for name, answers in VARIANT_CHOICES.items()}


def test_parse_presets_items_and_round_trip():
    assert Variants.parse("") == Variants() == Variants.parse("guide")
    assert Variants.parse("strictest") is PRESETS["strictest"]
    v = Variants.parse(" guide , wrong_state_status=409 ,partial_patch=refused")
    assert (v.wrong_state_status, v.partial_patch) == (409, "refused")
    assert Variants.parse("wrong_state_status=409") == Variants(wrong_state_status=409)
    assert Variants.parse("strictest,value_style=data_only").value_style == "data_only"
    for variants in (*PRESETS.values(), v, Variants(unknown_base_path="redirect")):
        assert Variants.parse(variants.spec()) == variants
    assert Variants.coerce(None) == Variants() and Variants.coerce("lenient") == PRESETS["lenient"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown variants preset 'nope'"),
        ("colour=red", "unknown variant 'colour'"),
        ("wrong_state_status=418", "wrong_state_status must be one of 400, 409"),
        ("secret_marker=Secret", "secret_marker must be one of none, type"),
        ("partial_patch=refused,strictest", "a preset name may only come first"),
    ],
)
def test_parse_errors_are_clear(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Variants.parse(spec)


def test_constructor_validates_and_is_frozen():
    with pytest.raises(ValueError, match="pop_on_ended_run"):
        Variants(pop_on_ended_run=200)
    with pytest.raises(ValueError, match="wrong_state_status"):
        Variants(wrong_state_status="409")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Variants().value_style = "typed"  # type: ignore[misc]


def test_server_exposes_and_switches_variants(make):
    server = make("strictest")
    assert server.variants is PRESETS["strictest"] and server.world.variants is server.variants
    server.variants = "guide,value_style=typed"
    assert server.variants == Variants(value_style="typed")
    assert server.control("GET", "variants") == {"spec": "value_style=typed", **server.variants.as_dict()}
    assert server.control("PUT", "variants", {"spec": "lenient", "pop_on_ended_run": 204})["spec"] == (
        "lenient,pop_on_ended_run=204"
    )
    assert server.variants == Variants.parse("lenient,pop_on_ended_run=204")
    control = server.url + "/_emulator/variants"
    refused = requests.put(control, json={"colour": "red"}, headers=server.auth_header)
    assert refused.status_code == 400
    with pytest.raises(ValueError):
        EmulatorServer(variants="nope")


@pytest.mark.pseven_emulator(variants="strictest")
def test_fixture_marker_takes_a_spec(pseven_emulator):
    assert pseven_emulator.variants == PRESETS["strictest"]
    assert pseven_emulator.world.timing.time_scale == 0.1  # the fixture's default stays


def test_cli_variants_flag():
    from airflow_provider_pseven.emulator import EmulatorProcess

    with EmulatorProcess("--time-scale", "0.05", "--variants", "lenient,unknown_base_path=html") as proc:
        assert any(line.startswith("Variants: lenient,unknown_base_path=html") for line in proc.output)
        r = requests.get(proc.url + "/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    with pytest.raises(RuntimeError, match="--variants: unknown variant 'colour'"):
        EmulatorProcess("--variants", "colour=red").start()


# --- the defaults: the guide to the letter -----------------------------------------------------


def test_default_run_details_are_the_guides_shape_key_for_key(server):
    h = server.auth_header
    run = deploy(server)
    assert set(run) == {
        "name",
        "path",
        "id",
        "url",
        "state",
        "workflow",
        "workflow_url",
        "parameters",
        "results",
        "logfile_url",
    }
    ids = [p["id"] for p in run["parameters"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    # guide (Run parameters): the jq output, with "value" as the object it is read from
    assert run["parameters"] == [
        {
            "id": ids[0],
            "name": "MyFirstParameter",
            "value": {"data": "string_value"},
            "labels": {"type": "string"},
        },
        {
            "id": ids[1],
            "name": "MySecondParameter",
            "value": {"data": 42},
            "labels": {"type": "integer, real, string"},
        },
        {
            "id": ids[2],
            "name": "MySecret",
            "value": {"data": None},
            "labels": {"note": "the real value is a secret"},
        },
    ]
    assert run["results"] == [] and run["logfile_url"] is None
    # guide (Run parameters): change values as the guide does, PATCH the details back
    run_details = requests.get(run["url"], headers=h).json()
    new = {"MyFirstParameter": "new_string_value", "MySecondParameter": 43, "MySecret": "new_access_token"}
    for p in run_details["parameters"]:
        p["value"]["data"] = new[p["name"]]
    patched = requests.patch(run["url"], headers=h, json=run_details).json()
    assert [p["value"] for p in patched["parameters"]] == [
        {"data": "new_string_value"},
        {"data": 43},
        {"data": ""},
    ]
    requests.post(run["url"] + "run/", headers=h)
    done = wait_state(run["url"], h, "FINISHED")
    assert set(done) == set(run)
    assert all(
        set(r) == {"id", "name", "value", "labels"} and set(r["value"]) == {"data"} for r in done["results"]
    )
    # guide (Run results): the jq output, then the workflow's extra outputs
    assert [
        {"name": r["name"], "value": r["value"]["data"], "labels": r["labels"]} for r in done["results"]
    ] == [
        {"name": "MyResult", "value": 99, "labels": {"type": "integer"}},
        {"name": "MyAdditionalResult", "value": "no_comments", "labels": {"type": "string"}},
        {"name": "MyFirstParameter", "value": "new_string_value", "labels": {"type": "string"}},
        {"name": "MySecondParameter", "value": 43, "labels": {"type": "integer, real, string"}},
        {"name": "InputLineCount", "value": 0, "labels": {"type": "integer"}},
        {"name": "SecretLength", "value": len("new_access_token"), "labels": {"type": "integer"}},
    ]
    assert done["logfile_url"] == run["url"] + "download/?file=.p7.log.txt"


def test_queued_states_are_observable_for_a_second_by_default(pseven_emulator_factory):
    server = pseven_emulator_factory(time_scale=1.0)
    assert (server.world.timing.init_delay, server.world.timing.start_delay) == (1.0, 1.0)
    h = server.auth_header
    t0 = time.monotonic()
    run = requests.post(f"{server.api_url}workflows/{TOY_ID}/runs/", headers=h).json()
    assert run["state"] == "QUEUED_TO_INITIALIZE"
    assert requests.get(run["url"], headers=h).json()["state"] == "QUEUED_TO_INITIALIZE"
    wait_state(run["url"], h, "CONFIGURATION", timeout=5)
    assert time.monotonic() - t0 >= 0.95
    t1 = time.monotonic()
    assert requests.post(run["url"] + "run/", headers=h).status_code == 200
    # guide: "Upon receiving this request, run state immediately changes to QUEUED_TO_RUN"
    assert requests.get(run["url"], headers=h).json()["state"] == "QUEUED_TO_RUN"
    wait_state(run["url"], h, "RUNNING", "FINISHED", timeout=5)
    assert time.monotonic() - t1 >= 0.95


def test_interrupt_only_in_running(server):
    h = server.auth_header
    server.world.timing.start_delay = 1.0 / FAST  # 1 s in QUEUED_TO_RUN
    run = deploy(server, workflow_id(server, "Slow"))
    assert requests.post(run["url"] + "interrupt/", headers=h).status_code == 400  # CONFIGURATION
    requests.post(run["url"] + "run/", headers=h)
    r = requests.post(run["url"] + "interrupt/", headers=h)
    assert (r.status_code, r.json()) == (
        400,
        {"detail": "Run state is QUEUED_TO_RUN; this request requires RUNNING."},
    )
    assert requests.delete(run["url"], headers=h).status_code == 400  # not deletable either
    wait_state(run["url"], h, "RUNNING", timeout=5)
    assert requests.post(run["url"] + "interrupt/", headers=h).json() == {
        "status": 200,
        "message": "Accepted",
    }
    wait_state(run["url"], h, "INTERRUPTED")
    assert requests.post(run["url"] + "interrupt/", headers=h).status_code == 400  # stopped: not again


def test_duplicate_names_are_accepted_by_default(server):
    h = server.auth_header
    url = f"{server.api_url}workflows/{TOY_ID}/runs/"
    body = {"path": "/Users/1/Toy runs", "name": "Toy named run"}
    first, second = (requests.post(url, headers=h, json=body) for _ in range(2))
    assert first.status_code == second.status_code == 201
    assert first.json()["name"] == second.json()["name"] == "Toy named run"
    assert first.json()["path"] == "/Users/1/Toy runs/Toy named run.p7run"
    assert second.json()["path"] == "/Users/1/Toy runs/Toy named run (2).p7run"
    assert first.json()["id"] != second.json()["id"]
    assert len(requests.get(url, headers=h).json()) == 2


def test_guides_ls_and_download_examples_verbatim_on_a_finished_toy_run(guide, tmp_path, monkeypatch):
    api_url, auth_header = guide.api_url, guide.auth_header
    monkeypatch.chdir(tmp_path)
    toy_wf = requests.get(api_url.format("workflows/"), headers=auth_header).json()[0]
    toy_run = finished_toy(guide.server)

    # List files and subdirectories in the run directory.
    endpoint = "workflows/{}/runs/{}/ls/".format(toy_wf["id"], toy_run["id"])
    response = requests.get(
        api_url.format(endpoint),
        headers=auth_header,
    )
    listing = response.json()
    assert response.status_code == 200
    assert set(listing) == {"status", "message", "entries", "count"}
    assert (listing["status"], listing["message"], listing["count"]) == (200, "OK", len(listing["entries"]))
    entries = by_name(listing["entries"])
    assert all(set(e) == {"name", "size", "modified", "is_dir"} for e in listing["entries"])
    assert all(ISO_LOCAL.match(e["modified"]) for e in listing["entries"])
    assert {k: v for k, v in entries["Optimizer.p7table"].items() if k != "modified"} == {
        "name": "Optimizer.p7table",
        "size": 4421,
        "is_dir": False,
    }
    assert {k: v for k, v in entries[DISK_DIR].items() if k != "modified"} == {
        "name": DISK_DIR,
        "size": 2,
        "is_dir": True,
    }
    assert {"results.json", ".p7.log.txt"} <= set(entries)

    # List the directory 🏠.Disk Model [0001].p7wd in the run directory root.
    response = requests.get(
        api_url.format(endpoint),
        headers=auth_header,
        params=(("directory", "🏠.Disk Model [0001].p7wd"),),
    )
    listing = response.json()
    assert [{k: v for k, v in e.items() if k != "modified"} for e in listing["entries"]] == [
        {"name": "design.csv", "size": 576, "is_dir": False},
        {"name": "diagrams.png", "size": 29706, "is_dir": False},
    ]
    assert (listing["status"], listing["message"], listing["count"]) == (200, "OK", 2)

    # Get the results.json file from the run directory root.
    file_path = "results.json"
    endpoint = "workflows/{}/runs/{}/download/".format(toy_wf["id"], toy_run["id"])
    response = requests.get(
        api_url.format(endpoint),
        headers=auth_header,
        params=(("file", file_path),),
    )
    with open(file_path, "wb") as f:
        f.write(response.content)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert {r["name"]: r["value"]["data"] for r in toy_run["results"]} == saved

    # The picture is a real PNG: signature, then chunks with good CRCs, ending in IEND.
    png = requests.get(
        api_url.format(endpoint), headers=auth_header, params={"file": f"{DISK_DIR}/diagrams.png"}
    ).content
    assert len(png) == 29706 and png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, kinds = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + data)
        kinds.append(kind)
        pos += 12 + length
    assert kinds[0] == b"IHDR" and b"IDAT" in kinds and kinds[-1] == b"IEND"
    csv = requests.get(
        api_url.format(endpoint), headers=auth_header, params={"file": f"{DISK_DIR}/design.csv"}
    )
    assert csv.text.startswith("id,") and len(csv.content) == 576

    # Download the run log and save it as {run name}.log
    response = requests.get(toy_run["logfile_url"], headers=auth_header)
    with open(toy_run["name"] + ".log", "wb") as f:
        f.write(response.content)
    assert "State FINISHED" in (tmp_path / "#1 (ToyWorkflow).log").read_text()


# --- each variant point, both answers -----------------------------------------------------------


def test_secret_marker(make):
    for marker, expected in (("none", {}), ("type", {"type": "Secret"})):
        server = make(f"secret_marker={marker}")
        run = deploy(server)
        params = by_name(run["parameters"])
        assert params["MySecret"]["value"] == {"data": None, **expected}
        assert params["MyFirstParameter"]["value"] == {"data": "string_value"}  # only Secrets are marked
        body = {"parameters": [{"id": params["MySecret"]["id"], "value": {"data": "s3cr3t"}}]}
        out = requests.patch(run["url"], headers=server.auth_header, json=body).json()
        assert by_name(out["parameters"])["MySecret"]["value"] == {"data": "", **expected}


def test_duplicate_run_names(make):
    for answer in ("accepted", "refused"):
        server = make(f"duplicate_run_names={answer}")
        url = f"{server.api_url}workflows/{TOY_ID}/runs/"
        first = requests.post(url, headers=server.auth_header, json={"name": "Mine"})
        again = requests.post(url, headers=server.auth_header, json={"name": "Mine"})
        assert first.status_code == 201
        if answer == "accepted":
            assert again.status_code == 201 and again.json()["name"] == "Mine"
            assert again.json()["path"] != first.json()["path"]
            assert server.world.deploy_count() == 2
        else:
            assert again.status_code == 400
            assert again.json() == {
                "detail": "A run named 'Mine' already exists in /Users/1/ToyWorkflow.p7wf/@Runs."
            }
            assert server.world.deploy_count() == 1
        # a different directory is a different path: accepted either way
        other = requests.post(
            url, headers=server.auth_header, json={"name": "Mine", "path": "/Users/1/Elsewhere"}
        )
        assert other.status_code == 201


def test_wrong_state_status(make):
    for status in (400, 409):
        server = make(f"wrong_state_status={status}")
        run = deploy(server)
        r = requests.post(run["url"] + "interrupt/", headers=server.auth_header)
        assert r.status_code == status
        assert r.json() == {"detail": "Run state is CONFIGURATION; this request requires RUNNING."}
        app_v = requests.post(
            server.appshub_url + "apps/",
            headers=server.auth_header,
            data={"workspace.name": "Toy apps", "name": "A", "workflow_path": "/Users/1/ToyWorkflow.p7wf"},
        ).json()
        server.world.apps[app_v["id"]].versions[1].ready_at = float("inf")
        early = requests.post(f"{server.appshub_url}apps/{app_v['id']}/runs/", headers=server.auth_header)
        assert early.status_code == status
        assert early.json() == {
            "detail": "App version 1 state is QUEUED_TO_INITIALIZE; this request requires READY."
        }


def test_partial_patch(make):
    for answer in ("accepted", "refused"):
        server = make(f"partial_patch={answer}")
        run = deploy(server)
        params = by_name(run["parameters"])
        one = {"parameters": [{"id": params["MyFirstParameter"]["id"], "value": {"data": "only this"}}]}
        r = requests.patch(run["url"], headers=server.auth_header, json=one)
        if answer == "accepted":
            assert r.status_code == 200
            got = by_name(r.json()["parameters"])
            assert got["MyFirstParameter"]["value"]["data"] == "only this"
            assert got["MySecondParameter"]["value"]["data"] == 42  # kept
        else:
            assert r.status_code == 400
            assert r.json() == {
                "detail": "The request body must contain the run details with every parameter; "
                "missing: MySecondParameter, MySecret."
            }
            assert (
                by_name(requests.get(run["url"], headers=server.auth_header).json()["parameters"])[
                    "MyFirstParameter"
                ]["value"]["data"]
                == "string_value"
            )  # all or nothing
        # the guide's way (the run details as read, with new values) is taken either way
        details = requests.get(run["url"], headers=server.auth_header).json()
        details["parameters"][1]["value"]["data"] = 7
        assert requests.patch(run["url"], headers=server.auth_header, json=details).status_code == 200


def test_patch_metainfo(make):
    # The guide's way (each value object as read, data changed) is taken under both answers; a
    # value object that dropped a key it had only under "optional".
    for answer in ("optional", "required"):
        server = make(f"value_style=typed,patch_metainfo={answer}")
        run = deploy(server)
        details = requests.get(run["url"], headers=server.auth_header).json()
        second = by_name(details["parameters"])["MySecondParameter"]
        bare = {"parameters": [{"id": second["id"], "value": {"data": 43}}]}
        r = requests.patch(run["url"], headers=server.auth_header, json=bare)
        if answer == "optional":
            assert r.status_code == 200
        else:
            assert r.status_code == 400
            assert r.json() == {
                "detail": "Parameter 'MySecondParameter': value must keep its metainformation keys "
                "as read; missing: type."
            }
        second["value"]["data"] = 44
        assert requests.patch(run["url"], headers=server.auth_header, json=details).status_code == 200
    # Without metainformation to keep (the guide's data-only values), data alone is all there is.
    server = make("patch_metainfo=required")
    run = deploy(server)
    second = by_name(run["parameters"])["MySecondParameter"]
    bare = {"parameters": [{"id": second["id"], "value": {"data": 43}}]}
    assert requests.patch(run["url"], headers=server.auth_header, json=bare).status_code == 200


def test_patch_omitted(make):
    for answer in ("kept", "reset"):
        server = make(f"patch_omitted={answer}")
        h = server.auth_header
        run = deploy(server)
        ids = {name: p["id"] for name, p in by_name(run["parameters"]).items()}
        both = [
            {"id": ids["MySecondParameter"], "value": {"data": 7}},
            {"id": ids["MySecret"], "value": {"data": "tok"}},
        ]
        assert requests.patch(run["url"], headers=h, json={"parameters": both}).status_code == 200
        one = {"parameters": [{"id": ids["MyFirstParameter"], "value": {"data": "only this"}}]}
        got = by_name(requests.patch(run["url"], headers=h, json=one).json()["parameters"])
        values = {name: p["value"]["data"] for name, p in got.items()}
        if answer == "kept":
            assert values == {"MyFirstParameter": "only this", "MySecondParameter": 7, "MySecret": ""}
        else:  # back to the defaults; the Secret (no default) unset
            assert values == {"MyFirstParameter": "only this", "MySecondParameter": 42, "MySecret": None}


def test_app_version_runs(make):
    for answer in ("none", "served"):
        server = make(f"app_version_runs={answer}")
        h = server.auth_header
        apps = f"{server.appshub_url}apps/"
        plain = requests.post(f"{apps}{TOY_APP_ID}/runs/", headers=h, data={"name": "plain"})
        assert plain.status_code == 201  # the guide's address, under either answer
        run_id = plain.json()["id"]
        assert plain.json()["url"] == f"{apps}{TOY_APP_ID}/runs/{run_id}/"
        versioned = requests.post(f"{apps}{TOY_APP_ID}@1/runs/", headers=h, data={"name": "pinned"})
        details = requests.get(f"{apps}{TOY_APP_ID}@1/runs/{run_id}/", headers=h)
        listed = requests.get(f"{apps}{TOY_APP_ID}@1/runs/", headers=h)
        if answer == "none":
            assert [r.status_code for r in (versioned, details, listed)] == [404, 404, 404]
            assert details.json() == {"detail": "Not found."}
        else:
            assert [r.status_code for r in (versioned, details, listed)] == [201, 200, 200]
            assert server.world.runs[versioned.json()["id"]].app_version == 1
        # the version's own details URL answers either way (Workflow publishing)
        assert requests.get(f"{apps}{TOY_APP_ID}@1/", headers=h).json()["version"] == 1


def _publish_json(server, name):
    body = {"workspace": {"name": "Toy apps"}, "name": name, "workflow_path": "/Users/1/ToyWorkflow.p7wf"}
    return requests.post(server.appshub_url + "apps/", headers=server.auth_header, json=body)


def test_publish_body(make):
    fields = {"workspace.name": "Toy apps", "workflow_path": "/Users/1/ToyWorkflow.p7wf"}
    for answer in ("any", "form_only"):
        server = make(f"publish_body={answer}")
        h = server.auth_header
        r = _publish_json(server, "JSON app")
        flat = requests.post(
            server.appshub_url + "apps/", headers=h, json={**fields, "name": "Flat JSON app"}
        )
        if answer == "any":
            assert r.status_code == 201 and r.json()["workspace"] == {"id": "7", "name": "Toy apps"}
            assert flat.status_code == 201
        else:
            assert r.status_code == flat.status_code == 415
            assert r.json() == {"detail": 'Unsupported media type "application/json" in request.'}
        assert (
            requests.post(
                server.appshub_url + "apps/", headers=h, data={**fields, "name": "Form"}
            ).status_code
            == 201
        )
        multipart = {k: (None, v) for k, v in {**fields, "name": "Multipart"}.items()}
        multipart["thumbnail"] = ("thumbnail.png", b"\x89PNG\r\n\x1a\n")
        assert requests.post(server.appshub_url + "apps/", headers=h, files=multipart).status_code == 201


def test_app_deploy_body(make):
    for answer in ("any", "form_only"):
        server = make(f"app_deploy_body={answer}")
        h, url = server.auth_header, f"{server.appshub_url}apps/{TOY_APP_ID}/runs/"
        r = requests.post(url, headers=h, json={"name": "JSON run", "personal": True})
        if answer == "any":
            assert r.status_code == 201 and server.world.runs[r.json()["id"]].personal is True
        else:
            assert (r.status_code, r.json()) == (
                415,
                {"detail": 'Unsupported media type "application/json" in request.'},
            )
        # the guide's bodies: data=settings (urlencoded), curl -F (multipart), or none at all
        assert requests.post(url, headers=h, data={"name": "Form run", "personal": True}).status_code == 201
        assert requests.post(url, headers=h, files={"name": (None, "Multipart run")}).status_code == 201
        assert requests.post(url, headers=h).status_code == 201
        assert requests.post(url, headers={**h, "Content-Type": "application/json"}).status_code == 201
    # workflow runs are deployed with JSON, as the guide shows, whatever the variant
    assert (
        requests.post(f"{server.api_url}workflows/{TOY_ID}/runs/", headers=h, json={"name": "x"}).status_code
        == 201
    )


def test_pop_on_ended_run(make):
    for answer, status in (
        ("pop_on_ended_run=400", 400),
        ("pop_on_ended_run=400,wrong_state_status=409", 409),
    ):
        server = make(answer)
        done = finished_toy(server)
        r = requests.post(done["url"] + "message_pop/", headers=server.auth_header)
        assert r.status_code == status
        assert r.json() == {"detail": "Run state is FINISHED; this request requires RUNNING."}
    server = make("pop_on_ended_run=204")
    done = finished_toy(server)
    for _ in range(2):
        r = requests.post(done["url"] + "message_pop/", headers=server.auth_header, json={"channel": "any"})
        assert r.status_code == 204 and r.content == b""
    push = requests.post(done["url"] + "message_push/", headers=server.auth_header, json={"message": "x"})
    assert push.status_code == 400  # a push is still refused
    run = deploy(server)
    assert (
        requests.post(run["url"] + "message_pop/", headers=server.auth_header).status_code == 400
    )  # not started


def test_unknown_base_path(make):
    for answer in ("json_404", "html", "redirect"):
        server = make(f"unknown_base_path={answer}")
        wrong = server.url + "/pseven/@rest/v2/workflows/"
        r = requests.get(wrong, headers=server.auth_header, allow_redirects=False)
        if answer == "json_404":
            assert (r.status_code, r.json()) == (404, {"detail": "Not found."})
        elif answer == "html":
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert "pSeven Enterprise — Sign in" in r.text
        else:
            assert r.status_code == 302
            assert r.headers["location"] == "/login/?next=/pseven/%40rest/v2/workflows/"
            followed = requests.get(wrong, headers=server.auth_header)
            assert followed.status_code == 200 and followed.headers["content-type"].startswith("text/html")
            assert followed.url.startswith(server.url + "/login/")
        # under the API prefix, a missing endpoint is the guide's JSON 404 whatever the variant
        missing = requests.get(server.api_url + "nope/", headers=server.auth_header, allow_redirects=False)
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})


def test_value_style(make):
    server = make("value_style=data_only")
    run = deploy(server)
    assert all(set(p["value"]) == {"data"} for p in run["parameters"])
    second = by_name(run["parameters"])["MySecondParameter"]
    contradicting = {"parameters": [{"id": second["id"], "value": {"data": 43, "type": "String"}}]}
    assert (
        requests.patch(run["url"], headers=server.auth_header, json=contradicting).status_code == 200
    )  # metadata ignored

    for spec, secret_type in (
        ("value_style=typed", "String"),
        ("value_style=typed,secret_marker=type", "Secret"),
    ):
        server = make(spec)
        h = server.auth_header
        run = deploy(server)
        values = {p["name"]: p["value"] for p in run["parameters"]}
        assert values == {
            "MyFirstParameter": {"data": "string_value", "type": "String"},
            "MySecondParameter": {"data": 42, "type": "Real"},
            "MySecret": {"data": None, "type": secret_type},
        }
        ids = {name: p["id"] for name, p in by_name(run["parameters"]).items()}

        def patch(name, value, url=run["url"], ids=ids, h=h):
            return requests.patch(url, headers=h, json={"parameters": [{"id": ids[name], "value": value}]})

        bad = patch("MySecondParameter", {"data": "forty-three", "type": "Real"})
        assert bad.status_code == 400
        assert bad.json() == {
            "detail": "Parameter 'MySecondParameter' value.type Real contradicts value.data (string)."
        }
        assert patch("MyFirstParameter", {"data": "x", "type": "Text"}).status_code == 400  # unknown type
        assert patch("MySecondParameter", {"data": 43}).status_code == 200  # no type: accepted
        assert (
            patch("MySecondParameter", {"data": 44, "type": "Integer"}).status_code == 200
        )  # agrees with data
        assert (
            patch("MySecret", {"data": None, "type": secret_type}).status_code == 200
        )  # null agrees with all
        assert patch("MySecret", {"data": "s", "type": secret_type}).json()["parameters"][2]["value"] == {
            "data": "",
            "type": secret_type,
        }
        requests.post(run["url"] + "run/", headers=h)
        done = wait_state(run["url"], h, "FINISHED")
        assert by_name(done["results"])["MyResult"]["value"] == {"data": 99, "type": "Integer"}


def test_strictest_still_runs_the_guides_whole_scenario(make):
    """The guide's own requests succeed under the hardest answers: the variants never contradict it."""
    server = make("strictest")
    h = server.auth_header
    run = deploy(server)
    details = requests.get(run["url"], headers=h).json()
    new = {"MyFirstParameter": "new_string_value", "MySecondParameter": 43, "MySecret": "new_access_token"}
    for p in details["parameters"]:
        p["value"]["data"] = new[p["name"]]
    assert requests.patch(run["url"], headers=h, json=details).status_code == 200
    assert requests.post(run["url"] + "run/", headers=h).json() == {"status": 200, "message": "Accepted"}
    done = wait_state(run["url"], h, "FINISHED")
    assert by_name(done["results"])["SecretLength"]["value"]["data"] == len("new_access_token")
    app = requests.post(
        f"{server.appshub_url}apps/{TOY_APP_ID}/runs/",
        headers=h,
        data={"name": "Test personal run", "personal": True},
    )
    assert app.status_code == 201
    assert requests.delete(run["url"], headers=h).json() == {"status": 200}


# --- access ---------------------------------------------------------------------------------------


def test_proxy_only_refuses_a_direct_peer_and_serves_the_proxys(make, monkeypatch):
    """access=proxy_only: a direct request gets the firewall's 403; the same request from the
    proxy's address (PROXY_PEER, as the tests' tinyproxy binds its outgoing connections) is served."""
    import socket

    from airflow_provider_pseven.emulator.variants import PROXY_PEER
    from tests.conftest import use_proxy

    server = make("access=proxy_only")
    use_proxy(monkeypatch, None)  # the factory put this test behind the proxy: go direct here
    direct = requests.get(server.api_url + "workflows/", headers=server.auth_header, timeout=10)
    assert direct.status_code == 403 and "only through its proxy" in direct.text
    assert direct.headers["content-type"].startswith("text/plain")
    with socket.create_connection((server.host, server.port), 10, source_address=(PROXY_PEER, 0)) as sock:
        sock.sendall(
            f"GET /pseven/.rest/v2/workflows/ HTTP/1.1\r\nHost: {server.host}\r\n"
            f"Authorization: Token {server.token}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")
    # A forged X-Forwarded-For does not make a direct peer the proxy.
    forged = requests.get(
        server.api_url + "workflows/",
        headers={**server.auth_header, "X-Forwarded-For": PROXY_PEER},
        timeout=10,
    )
    assert forged.status_code == 403
