"""The guide's curl + jq commands, run through a shell with the guide's environment variables."""

import json
import shutil
import subprocess

import pytest
import requests

from .conftest import TOY_APP_ID, TOY_ID, deploy, wait_state, workflow_id

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq"),
]


@pytest.fixture
def sh(server, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DA__P7__REST_BASEURL": server.api_url,
        "DA__P7__REST_BASEURL_APPSHUB": server.appshub_url,
        "DA__P7__REST_AUTHTOKEN": server.token,
    }
    env["DA__P7__REST_AUTHHEADER"] = f"Authorization: Token {server.token}"

    def run(script):
        done = subprocess.run(
            ["bash", "-c", "set -o pipefail\n" + script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            check=False,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_login(sh):
    out = sh("""curl -s \\
--request POST \\
${DA__P7__REST_BASEURL}auth/login/ \\
-H "Content-Type: application/json" \\
--data '{"username": "user@work.org", "password": "secret"}' \\
| jq .token""")
    assert out.strip() == '"7a592349be99d8affc6739c1ff8fec98030ff14f"'


def test_workflows_runs_deploy_state(sh, server):
    workflows = json.loads(
        sh('curl -s -H "${DA__P7__REST_AUTHHEADER}" ${DA__P7__REST_BASEURL}workflows/ | jq .')
    )
    assert workflows[0]["id"] == TOY_ID
    run = json.loads(
        sh(f"""curl -s \\
-H "${{DA__P7__REST_AUTHHEADER}}" \\
--request POST \\
${{DA__P7__REST_BASEURL}}workflows/{TOY_ID}/runs/ \\
-H "Content-Type: application/json" | jq .""")
    )
    assert run["state"] == "QUEUED_TO_INITIALIZE" and run["name"] == "#1 (ToyWorkflow)"
    named = json.loads(
        sh(f"""curl -s \\
-H "${{DA__P7__REST_AUTHHEADER}}" \\
--request POST \\
${{DA__P7__REST_BASEURL}}workflows/{TOY_ID}/runs/ \\
-H "Content-Type: application/json" \\
--data '{{"path": "/Users/1/Toy runs", "name": "Toy named run"}}' | jq .""")
    )
    assert named["path"] == "/Users/1/Toy runs/Toy named run.p7run"
    runs = json.loads(
        sh(
            f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" ${{DA__P7__REST_BASEURL}}workflows/{TOY_ID}/ | jq .runs'
        )
    )
    assert {r["id"] for r in runs} == {run["id"], named["id"]}
    runs = json.loads(
        sh(
            f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" ${{DA__P7__REST_BASEURL}}workflows/{TOY_ID}/runs/ | jq .'
        )
    )
    assert len(runs) == 2
    wait_state(run["url"], server.auth_header, "CONFIGURATION")
    state = sh(
        f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" ${{DA__P7__REST_BASEURL}}workflows/{TOY_ID}/runs/{run["id"]}/ | jq .state'
    )
    assert state.strip() == '"CONFIGURATION"'


def test_parameters_patch_run_results_log_delete(sh, server):
    run = deploy(server)
    url = f"${{DA__P7__REST_BASEURL}}workflows/{TOY_ID}/runs/{run['id']}/"
    params = json.loads(
        sh(
            f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url} | jq "[.parameters[] | {{id: .id, name: .name, value: .value.data, labels: .labels}}]"'
        )
    )
    assert [p["name"] for p in params] == ["MyFirstParameter", "MySecondParameter", "MySecret"]
    assert params[2]["value"] is None
    sh(f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url} --output run_details.json')
    # (Change parameter values in run_details.json, save changes) - done here with jq.
    sh(
        'jq \'.parameters[0].value.data = "new_string_value" | .parameters[1].value.data = 43'
        ' | .parameters[2].value.data = "new_access_token"\' run_details.json > tmp.json && mv tmp.json run_details.json'
    )
    patched = json.loads(
        sh(f"""curl -s \\
-H "${{DA__P7__REST_AUTHHEADER}}" \\
-H "Content-Type: application/json" \\
--request PATCH \\
{url} \\
--data "@run_details.json" \\
| jq "[.parameters[] | {{id: .id, name: .name, value: .value.data}}]" """)
    )
    assert [p["value"] for p in patched] == ["new_string_value", 43, ""]
    launched = json.loads(sh(f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" --request POST {url}run/ | jq .'))
    assert launched == {"status": 200, "message": "Accepted"}
    wait_state(run["url"], server.auth_header, "FINISHED")
    results = json.loads(
        sh(
            f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url} | jq "[.results[] | {{name: .name, value: .value.data, labels: .labels}}]"'
        )
    )
    assert results[0] == {"name": "MyResult", "value": 99, "labels": {"type": "integer"}}
    assert results[2]["value"] == "new_string_value" and results[3]["value"] == 43
    logfile_url = json.loads(sh(f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url} | jq .logfile_url'))
    assert logfile_url.endswith(f"runs/{run['id']}/download/?file=.p7.log.txt")
    log = sh(
        f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url}download/?file=.p7.log.txt --output toy_run.log && cat toy_run.log'
    )
    assert "State FINISHED" in log
    got = sh(
        f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url}download/?file=results.json --output results.json && cat results.json'
    )
    assert json.loads(got)["MyResult"] == 99
    deleted = json.loads(sh(f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" --request DELETE {url} | jq .'))
    assert deleted == {"status": 200}

    def gone():
        return "404 Not Found" in sh(f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url} -i -w "\\n"')

    from .conftest import wait_until

    wait_until(gone)
    out = sh(f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {url} -i -w "\\n"')
    assert out.startswith("HTTP/1.1 404 Not Found") and '{"detail":"Not found."}' in out


def test_interrupt(sh, server):
    slow = workflow_id(server, "Slow")
    run = deploy(server, slow)
    requests.post(run["url"] + "run/", headers=server.auth_header)
    wait_state(run["url"], server.auth_header, "RUNNING")
    out = json.loads(
        sh(
            f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" --request POST ${{DA__P7__REST_BASEURL}}workflows/{slow}/runs/{run["id"]}/interrupt/ | jq .'
        )
    )
    assert out == {"status": 200, "message": "Accepted"}
    wait_state(run["url"], server.auth_header, "INTERRUPTED")


def test_ls_unicode_directory(sh, server):
    disk = workflow_id(server, "DiskModel")
    run = deploy(server, disk)
    requests.post(run["url"] + "run/", headers=server.auth_header)
    wait_state(run["url"], server.auth_header, "FINISHED")
    listing = json.loads(
        sh(
            f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" ${{DA__P7__REST_BASEURL}}workflows/{disk}/runs/{run["id"]}/ls/'
            "?directory=%F0%9F%8F%A0.Disk%20Model%20%5B0001%5D.p7wd | jq ."
        )
    )
    assert listing["count"] == 2 and [e["name"] for e in listing["entries"]] == ["design.csv", "diagrams.png"]


def test_upload(sh, server):
    run = deploy(server)
    sh("printf 'a,b\\n1,2\\n' > settings.csv && echo info > info.txt")
    out = json.loads(
        sh(f"""curl -s \\
-H "${{DA__P7__REST_AUTHHEADER}}" \\
-F "destination=run_setup" \\
-F "file=@settings.csv;filename=params.csv" \\
-F "file=@info.txt" \\
-F "directory=init" \\
-F "directory=preprocess" \\
${{DA__P7__REST_BASEURL}}workflows/{TOY_ID}/runs/{run["id"]}/upload/ \\
| jq .""")
    )
    base = run["path"] + "/run_setup"
    assert out == {
        "status": 200,
        "message": "OK",
        "uploaded_files": [f"{base}/params.csv", f"{base}/info.txt"],
        "uploaded_directories": [f"{base}/init", f"{base}/preprocess"],
    }


def test_appshub_run_and_publish(sh, server):
    apps = json.loads(
        sh('curl -s -H "${DA__P7__REST_AUTHHEADER}" ${DA__P7__REST_BASEURL_APPSHUB}apps/ | jq .')
    )
    assert apps[0]["id"] == TOY_APP_ID
    run = json.loads(
        sh(f"""curl -s \\
-X POST \\
-H "${{DA__P7__REST_AUTHHEADER}}" \\
-F "name=Test personal run" \\
-F "personal=True" \\
${{DA__P7__REST_BASEURL_APPSHUB}}apps/{TOY_APP_ID}/runs/ \\
| jq .""")
    )
    assert server.world.runs[run["id"]].personal is True and run["name"] == "Test personal run"
    path = sh('curl -s -H "${DA__P7__REST_AUTHHEADER}" ${DA__P7__REST_BASEURL}workflows/ | jq .[0].path')
    assert path.strip() == '"/Users/1/ToyWorkflow.p7wf"'
    sh("printf '\\x89PNG\\r\\n\\x1a\\n' > thumbnail.png")
    out = sh("""curl -s \\
-X POST \\
-H "${DA__P7__REST_AUTHHEADER}" \\
-F "workspace.name=Toy apps" \\
-F "name=Toy app" \\
-F "workflow_path=/Users/1/ToyWorkflow.p7wf" \\
-F "description=A toy app to try publishing via REST." \\
-F "version=" \\
-F "set_version_as_default=False" \\
-F "allow_get_as_workflow=False" \\
-F "thumbnail=@./thumbnail.png" \\
${DA__P7__REST_BASEURL_APPSHUB}apps/ \\
| jq .id,.url,.state,.workspace""")
    lines = out.split("\n")
    app_id = json.loads(lines[0])
    assert json.loads(lines[1]) == f"{server.appshub_url}apps/{app_id}@1/"
    assert json.loads(lines[2]) == "QUEUED_TO_INITIALIZE"
    assert json.loads("".join(lines[3:])) == {"id": "7", "name": "Toy apps"}
    wait_state(f"{server.appshub_url}apps/{app_id}/", server.auth_header, "READY")
    state = sh(f'curl -s -H "${{DA__P7__REST_AUTHHEADER}}" {server.appshub_url}apps/{app_id}/ | jq .state')
    assert state.strip() == '"READY"'


def test_errors(sh):
    out = sh('curl -s ${DA__P7__REST_BASEURL}workflows/ -i -w "\\n"')
    assert out.startswith("HTTP/1.1 403 Forbidden")
    assert out.rstrip().endswith('{"detail":"Authentication credentials were not provided."}')
    out = sh(
        'curl -s -H "${DA__P7__REST_AUTHHEADER}" ${DA__P7__REST_BASEURL}workflows/00000000000000000000000000000000/ -i -w "\\n"'
    )
    assert out.startswith("HTTP/1.1 404 Not Found") and out.rstrip().endswith('{"detail":"Not found."}')
