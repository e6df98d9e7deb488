"""The guide's Python (requests) examples, section by section, run as printed against the emulator.

Only the host, ids and file names are adapted. Each test checks the documented status codes and
the response shapes the guide shows.
"""

import json

import pytest
import requests

from .conftest import TOY_APP_ID, wait_state, wait_until

pytestmark = pytest.mark.integration

RUN_SUMMARY_KEYS = {"name", "path", "id", "url", "state", "workflow", "workflow_url"}


def test_api_access_login(guide):
    api_url = guide.api_url
    endpoint = "auth/login/"
    response = requests.post(
        api_url.format(endpoint),
        headers={"Content-Type": "application/json"},
        data='{"username": "user@work.org", "password": "secret"}',
    )
    auth_token = response.json()["token"]
    assert response.status_code == 200
    assert auth_token == "7a592349be99d8affc6739c1ff8fec98030ff14f"


def test_workflow_information_and_runs(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    endpoint = "workflows/"
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    workflows = response.json()
    assert workflows[0] == {
        "id": "130d943e100e46e0b5da490ac005b70e",
        "name": "ToyWorkflow",
        "path": "/Users/1/ToyWorkflow.p7wf",
        "url": guide.server.api_url + "workflows/130d943e100e46e0b5da490ac005b70e/",
    }
    assert all(set(w) == {"id", "name", "path", "url"} for w in workflows)

    toy_wf = workflows[0]
    requests.post(api_url.format(f"workflows/{toy_wf['id']}/runs/"), headers=auth_header)
    endpoint = "workflows/{}/".format(toy_wf["id"])
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    workflow_runs = response.json()["runs"]
    assert len(workflow_runs) == 1
    endpoint = "workflows/{}/runs/".format(toy_wf["id"])
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    workflow_runs = response.json()
    assert set(workflow_runs[0]) == RUN_SUMMARY_KEYS
    assert workflow_runs[0]["name"] == "#1 (ToyWorkflow)"
    assert workflow_runs[0]["path"] == "/Users/1/ToyWorkflow.p7wf/@Runs/#00000001.p7run"
    assert workflow_runs[0]["workflow"] == "/Users/1/ToyWorkflow.p7wf"
    assert workflow_runs[0]["workflow_url"] == toy_wf["url"]


def test_run_deployment_default_and_named(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    toy_wf = requests.get(api_url.format("workflows/"), headers=auth_header).json()[0]
    headers = {"Content-Type": "application/json"}
    headers.update(auth_header)
    endpoint = "workflows/{}/runs/".format(toy_wf["id"])
    response = requests.post(api_url.format(endpoint), headers=headers)
    toy_run = response.json()
    assert response.status_code == 201
    assert set(toy_run) == RUN_SUMMARY_KEYS
    assert toy_run["state"] == "QUEUED_TO_INITIALIZE"
    assert toy_run["url"] == f"{toy_wf['url']}runs/{toy_run['id']}/"

    run_name = "Toy named run"
    deploy_to = "Toy runs"
    user_id = 1
    body = f'{{"path": "/Users/{user_id}/{deploy_to}", "name": "{run_name}"}}'
    response = requests.post(api_url.format(endpoint), headers=headers, data=body)
    toy_named_run = response.json()
    assert response.status_code == 201
    assert toy_named_run["name"] == "Toy named run"
    assert toy_named_run["path"] == "/Users/1/Toy runs/Toy named run.p7run"
    assert toy_named_run["state"] == "QUEUED_TO_INITIALIZE"

    # Check run state.
    endpoint = "workflows/{}/runs/{}/".format(toy_wf["id"], toy_run["id"])
    details = wait_state(api_url.format(endpoint), auth_header, "CONFIGURATION")
    run_state = details["state"]
    assert run_state == "CONFIGURATION"


def _configured_run(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    toy_wf = requests.get(api_url.format("workflows/"), headers=auth_header).json()[0]
    toy_run = requests.post(api_url.format(f"workflows/{toy_wf['id']}/runs/"), headers=auth_header).json()
    wait_state(toy_run["url"], auth_header, "CONFIGURATION")
    return toy_wf, toy_run


def test_run_parameters_and_secret(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    toy_wf, toy_run = _configured_run(guide)
    endpoint = "workflows/{}/runs/{}/".format(toy_wf["id"], toy_run["id"])
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    run_params = response.json()["parameters"]
    run_params_values = {
        p["id"]: {"name": p["name"], "value": p["value"]["data"], "labels": p["labels"]} for p in run_params
    }
    by_name = {v["name"]: (k, v) for k, v in run_params_values.items()}
    assert by_name["MyFirstParameter"][1]["value"] == "string_value"
    assert by_name["MyFirstParameter"][1]["labels"] == {"type": "string"}
    assert by_name["MySecondParameter"][1]["value"] == 42
    assert by_name["MySecret"][1]["value"] is None
    assert all(len(k) == 32 for k in run_params_values)

    # Get run details; change parameter values as the guide does.
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    run_details = response.json()
    run_params = run_details["parameters"]
    run_params_values = {p["id"]: {"name": p["name"], "value": p["value"]["data"]} for p in run_params}
    run_params_values[by_name["MyFirstParameter"][0]]["value"] = "new_string_value"
    run_params_values[by_name["MySecondParameter"][0]]["value"] = 43
    run_params_values[by_name["MySecret"][0]]["value"] = "new_access_token"
    for p in run_details["parameters"]:
        p["value"]["data"] = run_params_values[p["id"]]["value"]
    headers = {"Content-Type": "application/json"}
    headers.update(auth_header)
    response = requests.patch(api_url.format(endpoint), headers=headers, json=run_details)
    new_params = response.json()["parameters"]
    new_params_values = {p["id"]: {"name": p["name"], "value": p["value"]["data"]} for p in new_params}
    assert response.status_code == 200
    assert {v["name"]: v["value"] for v in new_params_values.values()} == {
        "MyFirstParameter": "new_string_value",
        "MySecondParameter": 43,
        "MySecret": "",
    }
    run = guide.server.world.runs[toy_run["id"]]
    assert next(p.data for p in run.params if p.name == "MySecret") == "new_access_token"


def test_run_commands_results_and_log(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    toy_wf, toy_run = _configured_run(guide)
    endpoint = "workflows/{}/runs/{}/".format(toy_wf["id"], toy_run["id"])
    run_state = requests.get(api_url.format(endpoint), headers=auth_header).json()["state"]
    endpoint = "workflows/{}/runs/{}/run/".format(toy_wf["id"], toy_run["id"])
    if run_state == "CONFIGURATION":
        response = requests.post(api_url.format(endpoint), headers=auth_header)
    assert response.json() == {"status": 200, "message": "Accepted"}

    endpoint = "workflows/{}/runs/{}/".format(toy_wf["id"], toy_run["id"])
    assert wait_state(api_url.format(endpoint), auth_header, "FINISHED")["state"] == "FINISHED"
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    run_results = response.json()["results"]
    run_results_values = [
        {"name": r["name"], "value": r["value"]["data"], "labels": r["labels"]} for r in run_results
    ]
    assert run_results_values[:4] == [
        {"name": "MyResult", "value": 99, "labels": {"type": "integer"}},
        {"name": "MyAdditionalResult", "value": "no_comments", "labels": {"type": "string"}},
        {"name": "MyFirstParameter", "value": "string_value", "labels": {"type": "string"}},
        {"name": "MySecondParameter", "value": 42, "labels": {"type": "integer, real, string"}},
    ]

    # The run log.
    toy_run["logfile_url"] = response.json()["logfile_url"]
    assert toy_run["logfile_url"] == api_url.format(endpoint) + "download/?file=.p7.log.txt"
    response = requests.get(toy_run["logfile_url"], headers=auth_header)
    assert response.status_code == 200
    assert "FINISHED" in response.text

    # File download.
    file_path = "results.json"
    endpoint = "workflows/{}/runs/{}/download/".format(toy_wf["id"], toy_run["id"])
    response = requests.get(api_url.format(endpoint), headers=auth_header, params=(("file", file_path),))
    assert json.loads(response.content)["MyResult"] == 99
    assert int(response.headers["Content-Length"]) == len(response.content)


def test_interrupt(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    slow = next(
        w
        for w in requests.get(api_url.format("workflows/"), headers=auth_header).json()
        if w["name"] == "Slow"
    )
    toy_run = requests.post(api_url.format(f"workflows/{slow['id']}/runs/"), headers=auth_header).json()
    wait_state(toy_run["url"], auth_header, "CONFIGURATION")
    requests.post(toy_run["url"] + "run/", headers=auth_header)
    wait_state(toy_run["url"], auth_header, "RUNNING")
    endpoint = "workflows/{}/runs/{}/interrupt/".format(slow["id"], toy_run["id"])
    response = requests.post(api_url.format(endpoint), headers=auth_header)
    assert response.json() == {"status": 200, "message": "Accepted"}
    assert wait_state(toy_run["url"], auth_header, "INTERRUPTED")["state"] == "INTERRUPTED"


def test_deleting_runs(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    toy_wf, toy_run = _configured_run(guide)
    run_endpoint = "workflows/{}/runs/{}/".format(toy_wf["id"], toy_run["id"])
    response = requests.get(api_url.format(run_endpoint), headers=auth_header)
    run_state = response.json()["state"]
    assert run_state in ["CONFIGURATION", "FINISHED", "FAILED", "INTERRUPTED"]
    response = requests.delete(api_url.format(run_endpoint), headers=auth_header)
    assert response.json() == {"status": 200}

    def gone():
        response = requests.get(api_url.format(run_endpoint), headers=auth_header)
        return [response] if response.status_code == 404 else None  # a 404 Response is falsy

    (response,) = wait_until(gone)
    assert response.json() == {"detail": "Not found."}


def test_listing_files_unicode_directory(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    disk = next(
        w
        for w in requests.get(api_url.format("workflows/"), headers=auth_header).json()
        if w["name"] == "DiskModel"
    )
    toy_run = requests.post(api_url.format(f"workflows/{disk['id']}/runs/"), headers=auth_header).json()
    wait_state(toy_run["url"], auth_header, "CONFIGURATION")
    requests.post(toy_run["url"] + "run/", headers=auth_header)
    wait_state(toy_run["url"], auth_header, "FINISHED")

    endpoint = "workflows/{}/runs/{}/ls/".format(disk["id"], toy_run["id"])
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    listing = response.json()
    assert listing["status"] == 200 and listing["message"] == "OK"
    assert listing["count"] == len(listing["entries"])
    entry = next(e for e in listing["entries"] if e["name"] == "🏠.Disk Model [0001].p7wd")
    assert entry["is_dir"] is True and entry["size"] == 2
    response = requests.get(
        api_url.format(endpoint), headers=auth_header, params=(("directory", "🏠.Disk Model [0001].p7wd"),)
    )
    listing = response.json()
    assert [e["name"] for e in listing["entries"]] == ["design.csv", "diagrams.png"]
    assert set(listing["entries"][0]) == {"name", "size", "modified", "is_dir"}
    assert listing["count"] == 2
    png = requests.get(
        api_url.format(f"workflows/{disk['id']}/runs/{toy_run['id']}/download/"),
        headers=auth_header,
        params={"file": "🏠.Disk Model [0001].p7wd/diagrams.png"},
    )
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    results = {
        r["name"]: r["value"]["data"]
        for r in requests.get(toy_run["url"], headers=auth_header).json()["results"]
    }
    assert results["FeasibleCount"] > 0 and results["BestMass"] > 0
    assert "Optimizer/Status" in results and "Report/Status" in results


def test_file_upload(guide, tmp_path, monkeypatch):
    api_url, auth_header = guide.api_url, guide.auth_header
    toy_wf, toy_run = _configured_run(guide)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "settings.csv").write_text("a,b\n1,2\n")
    (tmp_path / "info.txt").write_text("hello\n")
    paths = ("settings.csv", "info.txt")
    upload_as = ("params.csv", None)
    upload_to = "run_setup"
    create_dirs = ("init", "preprocess")
    uploads = []
    uploads.append(("destination", (None, upload_to)))
    for path, rename in zip(paths, upload_as, strict=True):
        if rename:  # noqa: SIM108 - as printed in the guide
            f = ("file", (rename, open(path, "rb")))  # noqa: SIM115
        else:
            f = ("file", open(path, "rb"))  # noqa: SIM115
        uploads.append(f)
    for name in create_dirs:
        uploads.append(("directory", (None, name)))
    endpoint = "workflows/{}/runs/{}/upload/".format(toy_wf["id"], toy_run["id"])
    response = requests.post(api_url.format(endpoint), headers=auth_header, files=uploads)
    run_path = toy_run["path"]
    assert response.json() == {
        "status": 200,
        "message": "OK",
        "uploaded_files": [f"{run_path}/run_setup/params.csv", f"{run_path}/run_setup/info.txt"],
        "uploaded_directories": [f"{run_path}/run_setup/init", f"{run_path}/run_setup/preprocess"],
    }
    # the workflow reads uploaded inputs
    requests.post(toy_run["url"] + "run/", headers=auth_header)
    done = wait_state(toy_run["url"], auth_header, "FINISHED")
    results = {r["name"]: r["value"]["data"] for r in done["results"]}
    assert results["InputLineCount"] == 3
    assert results["MyAdditionalResult"] == "read 2 input file(s), 3 line(s)"


def test_messaging(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    chat = next(
        w
        for w in requests.get(api_url.format("workflows/"), headers=auth_header).json()
        if w["name"] == "Chat"
    )
    run = requests.post(api_url.format(f"workflows/{chat['id']}/runs/"), headers=auth_header).json()
    wait_state(run["url"], auth_header, "CONFIGURATION")
    requests.post(run["url"] + "run/", headers=auth_header)
    wait_state(run["url"], auth_header, "RUNNING")

    def pop(channel="chat"):
        response = requests.post(run["url"] + "message_pop/", headers=auth_header, json={"channel": channel})
        return response if response.status_code == 200 else None

    assert wait_until(pop).json() == {"message": "ready"}
    empty = requests.post(run["url"] + "message_pop/", headers=auth_header, json={"channel": "chat"})
    assert empty.status_code == 204 and empty.content == b""
    for word in ("hello", "world"):
        response = requests.post(
            run["url"] + "message_push/", headers=auth_header, json={"message": word, "channel": "chat"}
        )
        assert response.status_code == 202 and response.content == b""
        assert wait_until(pop).json() == {"message": word.upper()}
    done = wait_state(run["url"], auth_header, "FINISHED")
    assert {r["name"]: r["value"]["data"] for r in done["results"]}["Replies"] == ["HELLO", "WORLD"]


def test_appshub_list_and_personal_run(guide):
    api_url_appshub, auth_header = guide.api_url_appshub, guide.auth_header
    endpoint = "apps/"
    response = requests.get(api_url_appshub.format(endpoint), headers=auth_header)
    apps = response.json()
    toy_app = apps[0]
    assert toy_app["id"] == TOY_APP_ID
    settings = {"name": "Test personal run", "personal": True}
    endpoint = "apps/{}/runs/".format(toy_app["id"])
    response = requests.post(api_url_appshub.format(endpoint), headers=auth_header, data=settings)
    toy_named_run = response.json()
    assert response.status_code == 201
    assert toy_named_run["name"] == "Test personal run"
    assert guide.server.world.runs[toy_named_run["id"]].personal is True
    assert set(toy_named_run) == {"name", "path", "id", "url", "state", "app", "app_url"}
    assert toy_named_run["state"] == "QUEUED_TO_INITIALIZE"
    assert toy_named_run["app"] == toy_app["path"]
    assert toy_named_run["app_url"] == toy_app["url"]
    assert toy_named_run["url"].startswith(guide.server.appshub_url + f"apps/{TOY_APP_ID}/runs/")
    assert "workflow" not in toy_named_run


def test_workflow_publishing(guide, tmp_path, monkeypatch):
    api_url, api_url_appshub, auth_header = guide.api_url, guide.api_url_appshub, guide.auth_header
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thumbnail.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    endpoint = "workflows/"
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    workflows = response.json()
    toy_wf = workflows[0]
    settings = {
        "workspace.name": "Toy apps",
        "name": "Toy app",
        "workflow_path": toy_wf["path"],
        "description": "A toy app to try publishing via REST.",
        "version": None,
        "set_version_as_default": False,
        "allow_get_as_workflow": False,
    }
    with open("thumbnail.png", "rb") as app_thumb:
        endpoint = "apps/"
        response = requests.post(
            api_url_appshub.format(endpoint),
            headers=auth_header,
            data=settings,
            files={"thumbnail": app_thumb},
        )
    toy_app_v1 = response.json()
    assert response.status_code == 201
    assert toy_app_v1["name"] == "Toy app"
    assert toy_app_v1["path"] == "/Apps/Toy app.p7wf"
    assert toy_app_v1["url"] == f"{guide.server.appshub_url}apps/{toy_app_v1['id']}@1/"
    assert (toy_app_v1["version"], toy_app_v1["revision"]) == (1, 0)
    assert toy_app_v1["workspace"] == {"id": "7", "name": "Toy apps"}
    assert toy_app_v1["state"] == "QUEUED_TO_INITIALIZE"
    assert toy_app_v1["versions"] == [] and toy_app_v1["runs"] == []
    assert set(toy_app_v1) == {  # the guide's publish response, key for key
        "name",
        "path",
        "id",
        "readme",
        "url",
        "presets",
        "parameters",
        "results",
        "runs",
        "ui_url",
        "app_url",
        "workflow",
        "thumbnail",
        "fingerprint",
        "version",
        "revision",
        "updated",
        "versions",
        "workspace",
        "state",
    }
    for key in (
        "readme",
        "presets",
        "parameters",
        "results",
        "ui_url",
        "app_url",
        "thumbnail",
        "fingerprint",
    ):
        assert toy_app_v1[key] is None

    toy_app_v1 = wait_state(toy_app_v1["url"], auth_header, "READY")
    assert toy_app_v1["state"] == "READY"
    assert toy_app_v1["thumbnail"] == "thumbnail.png"
    assert toy_app_v1["allow_get_as_workflow"] is False


def test_error_handling(guide):
    api_url, auth_header = guide.api_url, guide.auth_header
    response = requests.get(api_url.format("workflows/"))
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    wrong_id = "00000000000000000000000000000000"
    endpoint = f"workflows/{wrong_id}/"
    response = requests.get(api_url.format(endpoint), headers=auth_header)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
