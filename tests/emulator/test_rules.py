"""Integration tests over loopback HTTP for the rules the emulator enforces."""

import pytest
import requests

from airflow_provider_pseven.emulator import EmulatorServer, Param, Result, Workflow

from .conftest import FAST, TOY_APP_ID, TOY_ID, deploy, wait_state, wait_until, workflow_id

pytestmark = pytest.mark.integration


def params_by_name(details):
    return {p["name"]: p for p in details["parameters"]}


def start_and_wait(server, run, *states):
    assert requests.post(run["url"] + "run/", headers=server.auth_header).status_code == 200
    return wait_state(run["url"], server.auth_header, *states)


# --- routing, auth ------------------------------------------------------------------------------


def test_paths_outside_api_are_json_404_by_default(server):
    # the other answers (the sign-in page, a redirect to it) are variants: test_variants.py
    for path in ("/", "/pseven/@rest/v2/workflows/", "/pseven/.rest/v1/workflows/"):
        r = requests.get(server.url + path, headers=server.auth_header)
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}


def test_trailing_slash_and_unknown_endpoint_are_json_404(server):
    h = server.auth_header
    for url in (
        server.api_url + "workflows",
        server.api_url + f"workflows/{TOY_ID}",
        server.api_url + "nope/",
    ):
        r = requests.get(url, headers=h)
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}


def test_json_is_compact_utf8_as_django_rest_framework_renders_it(server):
    r = requests.post(
        f"{server.api_url}workflows/{TOY_ID}/runs/", headers=server.auth_header, json={"name": "Düsen 🏠"}
    )
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    assert '"name":"Düsen 🏠","path":'.encode() in r.content  # no \\u escapes, no spaces


def test_tokens(server):
    r = requests.get(server.api_url + "workflows/", headers={"Authorization": "Token wrong"})
    assert r.status_code == 403 and r.json() == {"detail": "Invalid token."}
    r = requests.get(server.api_url + "workflows/", headers={"Authorization": f"Bearer {server.token}"})
    assert r.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("kind", ["json", "form", "multipart"])
def test_login_body_kinds_on_both_prefixes(server, kind):
    creds = {"username": "user@work.org", "password": "secret"}
    for base in (server.api_url, server.appshub_url):
        if kind == "json":
            r = requests.post(base + "auth/login/", json=creds)
        elif kind == "form":
            r = requests.post(base + "auth/login/", data=creds)
        else:
            r = requests.post(base + "auth/login/", files={k: (None, v) for k, v in creds.items()})
        assert r.status_code == 200 and r.json() == {"token": server.token}
    r = requests.post(server.api_url + "auth/login/", json={"username": "user@work.org", "password": "bad"})
    assert r.status_code == 400
    assert r.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_at_rest_base_path_and_extra_users(pseven_emulator_factory):
    from airflow_provider_pseven.emulator import User

    server = pseven_emulator_factory(base_path="@rest")
    server.add_user(User("other@work.org", "pw", "tok2", id=2))
    assert server.api_url.endswith("/pseven/@rest/v2/")
    r = requests.get(server.api_url + "workflows/", headers={"Authorization": "Token tok2"})
    assert r.status_code == 200 and r.json()[0]["url"].startswith(server.api_url)
    assert requests.post(
        server.api_url + "auth/login/", json={"username": "other@work.org", "password": "pw"}
    ).json() == {"token": "tok2"}
    r = requests.get(server.url + "/pseven/.rest/v2/workflows/", headers={"Authorization": "Token tok2"})
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}


# --- deploy ------------------------------------------------------------------------------------


def test_deploy_rules(server):
    h, url = server.auth_header, f"{server.api_url}workflows/{TOY_ID}/runs/"
    r = requests.post(url, headers=h, json={"path": "/Users/1/x"})
    assert r.status_code == 400 and "name" in r.json()["detail"]
    r = requests.post(url, headers=h, json={"path": "/Users/2/x", "name": "a"})
    assert r.status_code == 400 and "/Users/1" in r.json()["detail"]
    r = requests.post(url, headers=h, json={"path": "relative/dir", "name": "a"})
    assert r.status_code == 400
    r = requests.post(url, headers=h, json={"name": "Mine"})
    assert r.status_code == 201 and r.json()["path"] == "/Users/1/ToyWorkflow.p7wf/@Runs/Mine.p7run"
    r = requests.post(url, headers=h, json={"name": "Mine"})  # names need not be unique
    assert r.status_code == 201 and r.json()["name"] == "Mine"
    assert r.json()["path"] == "/Users/1/ToyWorkflow.p7wf/@Runs/Mine (2).p7run"
    r = requests.post(url, headers=h, data={"name": "Form run", "path": "/Users/1/Runs"})
    assert r.status_code == 201 and r.json()["path"] == "/Users/1/Runs/Form run.p7run"
    r = requests.post(url, headers=h, files={"name": (None, "Multipart run")})
    assert r.status_code == 201 and r.json()["name"] == "Multipart run"
    assert [requests.post(url, headers=h).json()["name"] for _ in range(2)] == [
        "#1 (ToyWorkflow)",
        "#2 (ToyWorkflow)",
    ]
    assert server.world.deploy_count(TOY_ID) == 6
    assert server.requests.count(method="POST", path_suffix="/runs/") == 9


def test_state_rules_name_current_and_required_state(server):
    h = server.auth_header
    r = requests.post(f"{server.api_url}workflows/{TOY_ID}/runs/", headers=h).json()
    early = requests.post(r["url"] + "run/", headers=h)
    assert early.status_code == 400
    assert early.json() == {
        "detail": "Run state is QUEUED_TO_INITIALIZE; this request requires CONFIGURATION."
    }
    wait_state(r["url"], h, "CONFIGURATION")
    r2 = requests.post(r["url"] + "interrupt/", headers=h)
    assert r2.json() == {"detail": "Run state is CONFIGURATION; this request requires RUNNING."}
    assert r2.status_code == 400
    r2 = requests.post(r["url"] + "message_push/", headers=h, json={"message": "x"})
    assert r2.status_code == 400 and "requires RUNNING" in r2.json()["detail"]
    start_and_wait(server, r, "FINISHED")
    for method, suffix in (("POST", "run/"), ("PATCH", ""), ("POST", "upload/"), ("POST", "message_pop/")):
        resp = requests.request(method, r["url"] + suffix, headers=h, json={}, files=None)
        assert resp.status_code == 400, suffix
        assert resp.json()["detail"].startswith("Run state is FINISHED; this request requires")
    assert server.world.start_count(r["id"]) == 1


def test_cannot_delete_running_run(server):
    slow = workflow_id(server, "Slow")
    run = deploy(server, slow)
    start_and_wait(server, run, "RUNNING")
    r = requests.delete(run["url"], headers=server.auth_header)
    assert r.status_code == 400 and r.json() == {
        "detail": "Run state is RUNNING; this request requires CONFIGURATION, FINISHED, FAILED or INTERRUPTED."
    }
    requests.post(run["url"] + "interrupt/", headers=server.auth_header)
    wait_state(run["url"], server.auth_header, "INTERRUPTED")
    assert requests.delete(run["url"], headers=server.auth_header).json() == {"status": 200}


def test_delete_window_then_404_and_dir_removed(server):
    server.world.timing.delete_delay = 0.3 / FAST  # 0.3 s real
    run = deploy(server)
    run_dir = server.world.runs[run["id"]].dir
    assert requests.delete(run["url"], headers=server.auth_header).json() == {"status": 200}
    still = requests.get(run["url"], headers=server.auth_header)
    assert still.status_code == 200 and still.json()["state"] == "CONFIGURATION"
    wait_until(lambda: requests.get(run["url"], headers=server.auth_header).status_code == 404)
    wait_until(lambda: not run_dir.exists())
    assert all(
        r["id"] != run["id"]
        for r in requests.get(run["url"].rsplit("/", 2)[0] + "/", headers=server.auth_header).json()
    )


# --- parameters -------------------------------------------------------------------------------


def test_unique_parameter_names(server):
    run = deploy(server, workflow_id(server, "DiskModel"))
    names = [p["name"] for p in run["parameters"]]
    assert "InnerRadius" in names and "Count" in names
    assert "Sampler/Seed" in names and "Optimizer/Seed" in names
    assert "Composite 1/Solver/Tolerance" in names and "Composite 2/Solver/Tolerance" in names
    assert len({p["id"] for p in run["parameters"]}) == len(names)
    other = deploy(server, workflow_id(server, "DiskModel"))
    assert not {p["id"] for p in run["parameters"]} & {p["id"] for p in other["parameters"]}


def test_secret_semantics_and_the_empty_string_trap(server):
    h = server.auth_header
    run = deploy(server)
    secret = params_by_name(run)["MySecret"]
    first = params_by_name(run)["MyFirstParameter"]
    assert secret["value"] == {"data": None}  # no marker: a Secret is known by behaviour only
    # a subset PATCH sets only what it names
    body = {"parameters": [{"id": secret["id"], "value": {"data": "s3cr3t"}}]}
    out = requests.patch(run["url"], headers=h, json=body).json()
    assert params_by_name(out)["MySecret"]["value"]["data"] == ""
    assert params_by_name(out)["MyFirstParameter"]["value"]["data"] == "string_value"
    # the trap: echoing the details back as read sends "" and really sets the secret to ""
    details = requests.get(run["url"], headers=h).json()
    params_by_name(details)["MyFirstParameter"]["value"]["data"] = "changed"
    requests.patch(run["url"], headers=h, json=details)
    run_state = server.world.runs[run["id"]]
    assert next(p.data for p in run_state.params if p.name == "MySecret") == ""
    # null unsets it
    requests.patch(
        run["url"], headers=h, json={"parameters": [{"id": secret["id"], "value": {"data": None}}]}
    )
    assert params_by_name(requests.get(run["url"], headers=h).json())["MySecret"]["value"]["data"] is None
    # the workflow gets the real value
    requests.patch(
        run["url"], headers=h, json={"parameters": [{"id": secret["id"], "value": {"data": "abcd"}}]}
    )
    done = start_and_wait(server, run, "FINISHED")
    results = {r["name"]: r["value"]["data"] for r in done["results"]}
    assert results["SecretLength"] == 4 and results["MyFirstParameter"] == "changed"
    assert first["id"] not in {r["id"] for r in done["results"]}


def test_patch_validation(server):
    h = server.auth_header
    run = deploy(server)
    p = params_by_name(run)
    r = requests.patch(run["url"], headers=h, json={"parameters": [{"id": "f" * 32, "value": {"data": 1}}]})
    assert r.status_code == 400 and "f" * 32 in r.json()["detail"]
    r = requests.patch(
        run["url"],
        headers=h,
        json={"parameters": [{"id": p["MySecondParameter"]["id"], "value": {"data": "x"}}]},
    )
    assert r.status_code == 400
    assert "MySecondParameter" in r.json()["detail"] and "Real" in r.json()["detail"]
    r = requests.patch(
        run["url"],
        headers=h,
        json={"parameters": [{"id": p["MyFirstParameter"]["id"], "value": {"data": 5}}]},
    )
    assert r.status_code == 400 and "String" in r.json()["detail"]
    r = requests.patch(
        run["url"],
        headers=h,
        json={"parameters": [{"id": p["MySecondParameter"]["id"], "value": {"data": 2.5}}]},
    )
    assert r.status_code == 200
    r = requests.patch(run["url"], headers=h, data="{not json", params={})
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    r = requests.patch(run["url"], headers=h, json={"parameters": {"a": 1}, "name": "ignored"})
    assert r.status_code == 400


def test_integer_type_and_custom_workflow(server):
    calls = []

    def fn(params, ctx):
        calls.append(dict(params))
        ctx.log("custom ran")
        return {"Sum": params["A/X"] + params["B/X"], "Extra": [1, 2]}

    wf = server.add_workflow(
        Workflow(
            path="/Users/1/Custom.p7wf",
            function=fn,
            parameters=[
                Param(("A", "X"), "Integer", 1),
                Param(("B", "X"), "Integer", 2),
                Param("Flag", "Boolean", True),
            ],
            results=[Result("Sum", "Integer")],
        )
    )
    run = deploy(server, wf.id)
    p = params_by_name(run)
    assert set(p) == {"A/X", "B/X", "Flag"}
    bad = requests.patch(
        run["url"],
        headers=server.auth_header,
        json={"parameters": [{"id": p["A/X"]["id"], "value": {"data": 1.5}}]},
    )
    assert bad.status_code == 400 and "Integer" in bad.json()["detail"]
    bad = requests.patch(
        run["url"],
        headers=server.auth_header,
        json={"parameters": [{"id": p["Flag"]["id"], "value": {"data": "true"}}]},
    )
    assert bad.status_code == 400 and "Boolean" in bad.json()["detail"]
    done = start_and_wait(server, run, "FINISHED")
    assert {r["name"]: r["value"] for r in done["results"]} == {"Sum": {"data": 3}, "Extra": {"data": [1, 2]}}
    assert calls == [{"A/X": 1, "B/X": 2, "Flag": True}]


# --- results, failures, log -----------------------------------------------------------------


def test_results_lag(pseven_emulator_factory):
    server = pseven_emulator_factory(time_scale=FAST, results_lag=0.4 / FAST)
    run = deploy(server)
    done = start_and_wait(server, run, "FINISHED")
    assert done["results"] == []
    later = wait_until(lambda: requests.get(run["url"], headers=server.auth_header).json()["results"])
    assert later[0]["name"] == "MyResult"


def test_failing_workflow_logs_why(server):
    run = deploy(server, workflow_id(server, "Failing"))
    assert run["logfile_url"] is None
    done = start_and_wait(server, run, "FAILED", "FINISHED")
    assert done["state"] == "FAILED" and done["results"] == []
    assert done["logfile_url"] is None  # the guide gives the log URL for a FINISHED run only
    log = requests.get(
        run["url"] + "download/", headers=server.auth_header, params={"file": ".p7.log.txt"}
    ).text
    assert "RuntimeError: Solver diverged" in log and "Traceback" in log and "State FAILED" in log


def test_interrupt_refused_while_queued_to_run(server):
    # guide: "Run state must be RUNNING" (Run commands)
    server.world.timing.start_delay = 1.0 / FAST
    run = deploy(server)
    requests.post(run["url"] + "run/", headers=server.auth_header)
    assert requests.get(run["url"], headers=server.auth_header).json()["state"] == "QUEUED_TO_RUN"
    r = requests.post(run["url"] + "interrupt/", headers=server.auth_header)
    assert r.status_code == 400
    assert r.json() == {"detail": "Run state is QUEUED_TO_RUN; this request requires RUNNING."}
    assert requests.get(run["url"], headers=server.auth_header).json()["state"] == "QUEUED_TO_RUN"
    assert server.world.event_count("interrupt") == 0


# --- files ------------------------------------------------------------------------------------


def test_upload_rules(server):
    h = server.auth_header
    run = deploy(server)
    url = run["url"] + "upload/"
    r = requests.post(url, headers=h, files=[("destination", (None, "../out")), ("file", ("a.txt", b"x"))])
    assert r.status_code == 400 and "outside" in r.json()["detail"]
    r = requests.post(
        url, headers=h, files=[("destination", (None, "/Users/1/elsewhere")), ("file", ("a.txt", b"x"))]
    )
    assert r.status_code == 400
    r = requests.post(url, headers=h, files=[("directory", (None, "../../up"))])
    assert r.status_code == 400
    r = requests.post(url, headers=h, files=[("destination", (None, "only"))])
    assert r.status_code == 400
    r = requests.post(url, headers=h, files=[("file", ("a.txt", b"one"))])
    assert r.json()["uploaded_files"] == [run["path"] + "/a.txt"]
    r = requests.post(
        url, headers=h, files=[("destination", (None, run["path"] + "/abs/dir")), ("file", ("a.txt", b"two"))]
    )
    assert r.json()["uploaded_files"] == [run["path"] + "/abs/dir/a.txt"]
    requests.post(url, headers=h, files=[("file", ("a.txt", b"three!"))])  # overwrite
    got = requests.get(run["url"] + "download/", headers=h, params={"file": "a.txt"})
    assert got.content == b"three!" and got.headers["content-length"] == "6"
    ls = requests.get(run["url"] + "ls/", headers=h).json()
    assert {e["name"] for e in ls["entries"]} == {"a.txt", "abs"}
    assert requests.get(run["url"] + "ls/", headers=h, params={"directory": "abs/dir"}).json()["count"] == 1


def test_download_and_ls_rules(server):
    h = server.auth_header
    run = deploy(server)
    requests.post(run["url"] + "upload/", headers=h, files=[("directory", (None, "sub"))])
    d = run["url"] + "download/"
    assert requests.get(d, headers=h, params={"file": "../../../../etc/passwd"}).status_code == 400
    assert requests.get(d, headers=h, params={"file": "/etc/passwd"}).status_code == 400
    assert requests.get(d, headers=h, params={"file": "missing.txt"}).status_code == 404
    assert requests.get(d, headers=h, params={"file": "sub"}).status_code == 400
    assert requests.get(d, headers=h).status_code == 400
    ls = run["url"] + "ls/"
    assert requests.get(ls, headers=h, params={"directory": ".."}).status_code == 400
    assert requests.get(ls, headers=h, params={"directory": "nope"}).status_code == 404


def test_large_upload_streams(server, tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse, 64 MiB
    run = deploy(server)
    with big.open("rb") as f:
        r = requests.post(run["url"] + "upload/", headers=server.auth_header, files={"file": ("big.bin", f)})
    assert r.status_code == 200
    entry = requests.get(run["url"] + "ls/", headers=server.auth_header).json()["entries"][0]
    assert entry == {**entry, "name": "big.bin", "size": 64 * 1024 * 1024}
    with requests.get(
        run["url"] + "download/", headers=server.auth_header, params={"file": "big.bin"}, stream=True
    ) as r:
        assert int(r.headers["content-length"]) == 64 * 1024 * 1024
        assert sum(len(c) for c in r.iter_content(1 << 20)) == 64 * 1024 * 1024


# --- messaging ---------------------------------------------------------------------------------


def test_messaging_channels_are_separate_and_fifo(server):
    h = server.auth_header
    chat = workflow_id(server, "Chat")
    run = deploy(server, chat)
    ids = params_by_name(run)
    requests.patch(
        run["url"],
        headers=h,
        json={
            "parameters": [
                {"id": ids["Channel"]["id"], "value": {"data": ""}},
                {"id": ids["Rounds"]["id"], "value": {"data": 1}},
            ]
        },
    )
    start_and_wait(server, run, "RUNNING")
    pop = run["url"] + "message_pop/"
    wait_until(lambda: requests.post(pop, headers=h).status_code == 200)  # "ready" on the default channel
    assert requests.post(pop, headers=h, json={"channel": "other"}).status_code == 204
    requests.post(run["url"] + "message_push/", headers=h, json={"message": "a"})
    requests.post(run["url"] + "message_push/", headers=h, json={"message": "b", "channel": "other"})

    def pop_json():
        r = requests.post(pop, headers=h)
        return r.json() if r.status_code == 200 else None

    msg = wait_until(pop_json)
    assert msg == {"message": "A"}
    bad = requests.post(run["url"] + "message_push/", headers=h, json={"channel": "x"})
    assert bad.status_code in (400, 409)


def test_chat_times_out_and_fails(server):
    chat = workflow_id(server, "Chat")
    run = deploy(server, chat)
    ids = params_by_name(run)
    requests.patch(
        run["url"],
        headers=server.auth_header,
        json={"parameters": [{"id": ids["Timeout"]["id"], "value": {"data": 0.2}}]},
    )
    start_and_wait(server, run, "FAILED")
    log = requests.get(run["url"] + "download/", headers=server.auth_header, params={"file": ".p7.log.txt"})
    assert "TimeoutError" in log.text


# --- AppsHub ---------------------------------------------------------------------------------


def publish(server, **fields):
    body = {
        "workspace.name": "Toy apps",
        "name": "App",
        "workflow_path": "/Users/1/ToyWorkflow.p7wf",
        **fields,
    }
    return requests.post(server.appshub_url + "apps/", headers=server.auth_header, data=body)


def test_publish_versions_revisions_default(server):
    h = server.auth_header
    v1 = publish(server).json()
    app_id = v1["id"]
    assert (v1["version"], v1["revision"]) == (1, 0)
    early = requests.post(f"{server.appshub_url}apps/{app_id}/runs/", headers=h)
    assert (
        early.status_code == 400
        and "QUEUED_TO_INITIALIZE" in early.json()["detail"]
        and "READY" in early.json()["detail"]
    )
    wait_state(v1["url"], h, "READY")
    v2 = publish(server, set_version_as_default="False", workflow_path="/Users/1/Slow.p7wf").json()
    assert (v2["id"], v2["version"], v2["revision"]) == (app_id, 2, 0)
    wait_state(v2["url"], h, "READY")
    details = requests.get(f"{server.appshub_url}apps/{app_id}/", headers=h).json()
    assert details["version"] == 1  # default kept
    assert [v["version"] for v in details["versions"]] == [1, 2]
    r1 = publish(server, version="1").json()
    assert (r1["version"], r1["revision"]) == (1, 1)
    r3 = publish(server, version="2", set_version_as_default="true").json()
    assert (r3["version"], r3["revision"]) == (2, 1)
    wait_state(f"{server.appshub_url}apps/{app_id}@2/", h, "READY")
    assert requests.get(f"{server.appshub_url}apps/{app_id}/", headers=h).json()["version"] == 2
    assert publish(server, version="9").status_code == 400
    # runs only under the plain id (AppsHub API), of the default version; see app_version_runs
    versioned = requests.post(f"{server.appshub_url}apps/{app_id}@2/runs/", headers=h, json={"name": "v2"})
    assert versioned.status_code == 404
    run = requests.post(f"{server.appshub_url}apps/{app_id}/runs/", headers=h, json={"name": "v2 run"}).json()
    assert run["url"] == f"{server.appshub_url}apps/{app_id}/runs/{run['id']}/"
    assert server.world.runs[run["id"]].app_version == 2 and server.world.runs[run["id"]].personal is False
    assert requests.post(
        f"{server.appshub_url}apps/{app_id}/runs/", headers=h, json={"path": "/Users/1"}
    ).json() == {"detail": "path is not supported in AppsHub."}


def test_publish_validation(server):
    assert publish(server, **{"workspace.name": "Nope"}).status_code == 400
    assert publish(server, **{"workspace.id": "8"}).status_code == 400  # name Toy apps, id 8: mismatch
    r = publish(server, **{"workspace.name": "Design team"})
    assert r.status_code == 403 and "Publish apps" in r.json()["detail"]
    assert publish(server, workflow_path="/Users/1/Missing.p7wf").status_code == 400
    assert publish(server, name="").status_code == 400
    body = {
        "workspace": {"id": "7"},
        "name": "JSON app",
        "workflow_path": "/Users/1/ToyWorkflow.p7wf",
        "version": None,
    }
    r = requests.post(server.appshub_url + "apps/", headers=server.auth_header, json=body)
    assert r.status_code == 201 and r.json()["workspace"] == {"id": "7", "name": "Toy apps"}
    r = requests.post(
        server.appshub_url + "apps/",
        headers=server.auth_header,
        json={**body, "workspace": {"id": "7"}, "name": "JSON app"},
    )
    assert r.json()["version"] == 2


def test_app_run_full_cycle(server):
    h = server.auth_header
    run = requests.post(
        f"{server.appshub_url}apps/{TOY_APP_ID}/runs/", headers=h, data={"personal": "False"}
    ).json()
    assert run["name"] == "#1 (ToyApp)" and server.world.runs[run["id"]].personal is False
    wait_state(run["url"], h, "CONFIGURATION")
    done = start_and_wait(server, run, "FINISHED")
    assert done["logfile_url"].startswith(server.appshub_url)
    assert (
        requests.get(f"{server.appshub_url}apps/{TOY_APP_ID}/runs/", headers=h).json()[0]["id"] == run["id"]
    )
    assert server.world.deploy_count(TOY_APP_ID) == 1 and server.world.start_count(run["id"]) == 1


# --- fixture, connection --------------------------------------------------------------------


@pytest.mark.pseven_emulator(time_scale=0.02)
def test_fixture_and_connection(pseven_emulator, monkeypatch):
    import json

    monkeypatch.setenv("AIRFLOW_CONN_PSEVEN_DEFAULT", pseven_emulator.connection_json())
    conn = json.loads(pseven_emulator.connection_json())
    assert conn == {
        "conn_type": "pseven",
        "host": pseven_emulator.url,
        "password": pseven_emulator.token,
        "extra": {"api_path": ".rest"},
    }
    assert pseven_emulator.connection_uri().startswith(
        f"pseven://:{pseven_emulator.token}@127.0.0.1:{pseven_emulator.port}/"
    )
    assert pseven_emulator.world.timing.time_scale == 0.02
    assert pseven_emulator.state is pseven_emulator.world  # the earlier name still works
    assert requests.get(pseven_emulator.api_url + "workflows/", headers=pseven_emulator.auth_header).ok


def test_server_reset_and_process_cli(tmp_path):
    from airflow_provider_pseven.emulator import EmulatorProcess

    with EmulatorServer(time_scale=FAST, data_dir=tmp_path) as server:
        deploy(server, wait=False)
        server.reset()
        assert (
            requests.get(f"{server.api_url}workflows/{TOY_ID}/runs/", headers=server.auth_header).json() == []
        )
    with EmulatorProcess("--time-scale", "0.05", "--base-path", "@rest") as proc:
        r = requests.get(
            proc.url + "/pseven/@rest/v2/workflows/", headers={"Authorization": f"Token {proc.token}"}
        )
        assert r.status_code == 200
    assert proc.proc.returncode == 0


def test_cli_registers_workflow_modules():
    from airflow_provider_pseven.emulator import EmulatorProcess

    with EmulatorProcess("--time-scale", "0.05", "--workflows", "tests.emulator.sample_workflows") as proc:
        h = {"Authorization": f"Token {proc.token}"}
        wf = next(
            w
            for w in requests.get(proc.url + "/pseven/.rest/v2/workflows/", headers=h).json()
            if w["name"] == "Double"
        )
        run = requests.post(wf["url"] + "runs/", headers=h).json()
        wait_state(run["url"], h, "CONFIGURATION")
        requests.post(run["url"] + "run/", headers=h)
        done = wait_state(run["url"], h, "FINISHED")
        assert done["results"][0]["value"] == {"data": 42}
