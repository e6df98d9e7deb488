"""The emulator on a developer's machine (issue 22, item 3): no web page can drive it, a network
bind is not left with the public token, bodies are limited, and errors show no internals.

Browsers are played by their headers (``Origin``, ``Sec-Fetch-Site``, a ``text/plain`` or form body):
those are what a page can send to another site without a CORS preflight.
"""

from __future__ import annotations

import logging

import pytest
import requests

from airflow_provider_pseven.emulator import EmulatorProcess, EmulatorServer
from airflow_provider_pseven.emulator.records import DEFAULT_PASSWORD, DEFAULT_TOKEN, User

from .conftest import FAST, TOY_ID, deploy

EVIL = "http://evil.example"
LOGIN = {"username": "user@work.org", "password": "secret"}


def _control(server, name):
    return server.url + "/_emulator/" + name


# --- control routes ------------------------------------------------------------------------------
def test_control_routes_need_the_token(server):
    for method, name in (("GET", "requests"), ("PUT", "faults"), ("POST", "reset"), ("GET", "variants")):
        r = requests.request(method, _control(server, name), json={})
        assert r.status_code == 403, (method, name)
        assert "Authorization: Token" in r.json()["detail"]
    wrong = requests.put(
        _control(server, "faults"), json={"error_503_fraction": 1.0}, headers={"Authorization": "Token nope"}
    )
    assert wrong.status_code == 403 and server.faults.config.error_503_fraction == 0.0
    assert requests.get(_control(server, "health")).json() == {"status": "ok"}  # changes and tells nothing


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}],
    ids=["text", "form", "none"],
)
def test_control_routes_need_a_json_content_type(server, headers):
    deploy(server, wait=False)
    body = '{"error_503_fraction": 1.0}'
    for name in ("faults", "reset"):
        r = requests.post(_control(server, name), data=body, headers={**server.auth_header, **headers})
        assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert server.faults.config.error_503_fraction == 0.0 and server.world.deploy_count() == 1


def test_a_cross_origin_page_cannot_fault_or_reset_the_emulator(server):
    """The issue's attack: a page posted text/plain to /_emulator/faults and /_emulator/reset."""
    deploy(server, wait=False)
    page = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}
    for name in ("faults", "reset"):
        r = requests.post(_control(server, name), data='{"error_503_fraction": 1.0}', headers=page)
        assert r.status_code == 403 and "Cross-origin" in r.json()["detail"]
        assert "access-control-allow-origin" not in r.headers
    assert server.faults.config.error_503_fraction == 0.0 and server.world.deploy_count() == 1


# --- Host header: no DNS rebinding ---------------------------------------------------------------
def test_a_foreign_host_is_refused_everywhere(server):
    foreign = {"Host": f"rebind.evil.example:{server.port}"}
    for method, url in (
        ("GET", server.api_url + "workflows/"),
        ("POST", server.api_url + "auth/login/"),
        ("GET", _control(server, "health")),
    ):
        r = requests.request(method, url, headers={**server.auth_header, **foreign}, json=LOGIN)
        assert r.status_code == 421, url
        assert "rebind.evil.example" in r.json()["detail"] and "--public-url" in r.json()["detail"]
        assert "token" not in r.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "[::1]"])
def test_loopback_names_are_this_server(server, host):
    r = requests.get(
        server.api_url + "workflows/", headers={**server.auth_header, "Host": f"{host}:{server.port}"}
    )
    assert r.status_code == 200


def test_a_public_url_names_the_server(pseven_emulator_factory):
    server = pseven_emulator_factory(public_url="https://emu.example.com:8443/")
    assert server.url == "https://emu.example.com:8443"
    direct = f"http://127.0.0.1:{server.port}/pseven/.rest/v2/workflows/"
    ok = requests.get(direct, headers={**server.auth_header, "Host": "emu.example.com:8443"})
    assert ok.status_code == 200
    assert ok.json()[0]["url"].startswith("http://emu.example.com:8443/")  # URLs name the public host
    assert requests.get(direct, headers={**server.auth_header, "Host": "other.example"}).status_code == 421
    same = {"Host": "emu.example.com:8443", "Origin": "https://emu.example.com:8443"}
    assert requests.get(direct, headers={**server.auth_header, **same}).status_code == 200


# --- CORS off: the login route -------------------------------------------------------------------
@pytest.mark.parametrize(
    "browser",
    [{"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}, {"Sec-Fetch-Site": "same-site"}],
    ids=["origin", "fetch-site", "null-origin", "same-site-other-port"],
)
def test_login_answers_no_cross_origin_form_post(server, browser):
    r = requests.post(server.api_url + "auth/login/", data=LOGIN, headers=browser)
    assert r.status_code == 403
    assert server.token not in r.text and "access-control-allow-origin" not in r.headers


def test_login_still_takes_what_non_browser_clients_send(server):
    """The guide's login is a JSON POST; Django REST framework also parses forms, and a script
    (curl -d) sends one without any Origin: only browsers are refused."""
    url = server.api_url + "auth/login/"
    assert requests.post(url, json=LOGIN).json() == {"token": server.token}
    assert requests.post(url, data=LOGIN).json() == {"token": server.token}
    own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert requests.post(url, json=LOGIN, headers=own).json() == {"token": server.token}
    text = requests.post(
        url,
        data='{"username": "user@work.org", "password": "secret"}',
        headers={"Content-Type": "text/plain"},
    )
    assert text.status_code == 415 and server.token not in text.text


def test_a_followed_link_still_opens_the_sign_in_page(pseven_emulator_factory):
    server = pseven_emulator_factory(variants="guide,unknown_base_path=html")
    link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Origin": EVIL}
    r = requests.get(server.url + "/login/", headers=link)
    assert r.status_code == 200 and "Sign in" in r.text


def test_cross_origin_api_calls_are_refused_even_with_a_token(server):
    r = requests.delete(
        f"{server.api_url}workflows/{TOY_ID}/runs/{deploy(server, wait=False)['id']}/",
        headers={**server.auth_header, "Origin": EVIL},
    )
    assert r.status_code == 403 and server.world.event_count("delete") == 0


# --- a network bind refuses the public token -----------------------------------------------------
def test_a_network_bind_gets_a_random_token_and_password_and_warns(caplog):
    with caplog.at_level(logging.WARNING, "airflow_provider_pseven.emulator"):
        server = EmulatorServer(host="0.0.0.0", time_scale=FAST)
    with server:
        assert server.exposed and server.token != DEFAULT_TOKEN and server.password != DEFAULT_PASSWORD
        assert "anyone who can reach this machine" in caplog.text
        login = requests.post(f"http://127.0.0.1:{server.port}/pseven/.rest/v2/auth/login/", json=LOGIN)
        assert login.status_code == 400  # the public password opens nothing
        workflows = f"http://127.0.0.1:{server.port}/pseven/.rest/v2/workflows/"
        assert requests.get(workflows, headers={"Authorization": f"Token {DEFAULT_TOKEN}"}).status_code == 403
        assert requests.get(workflows, headers=server.auth_header).status_code == 200


def test_a_network_bind_keeps_an_explicit_token_and_refuses_the_public_one():
    with EmulatorServer(host="0.0.0.0", token="my-own-token") as server:
        assert server.token == "my-own-token" and server.password != DEFAULT_PASSWORD
        with pytest.raises(ValueError, match="public default"):
            server.add_user(User(username="b@work.org", password="pw", token=DEFAULT_TOKEN, id=2))
    with pytest.raises(ValueError, match="public default"):
        EmulatorServer(host="0.0.0.0", users=[User()])
    assert not EmulatorServer(host="127.0.0.1").exposed


def test_cli_on_a_network_bind_prints_a_random_token_and_a_warning():
    with EmulatorProcess(host="0.0.0.0") as proc:
        output = "".join(proc.output)
        assert proc.token != DEFAULT_TOKEN and f"Token: {proc.token}" in output
        assert "Login: user@work.org / " in output and "WARNING: bound to 0.0.0.0" in output
        proc.url = proc.url.replace("0.0.0.0", "127.0.0.1")
        assert proc.control("GET", "variants")["spec"] == "guide"  # the printed token works


# --- uploads are limited -------------------------------------------------------------------------
def _upload(server, run, data, **kwargs):
    return requests.post(
        run["url"] + "upload/", headers=server.auth_header, files={"file": ("f.bin", data)}, **kwargs
    )


def test_uploads_over_the_limit_get_413_and_write_nothing(pseven_emulator_factory):
    server = pseven_emulator_factory(max_upload_bytes=4096)
    run = deploy(server)
    assert _upload(server, run, b"x" * 1000).status_code == 200
    r = _upload(server, run, b"y" * 5000)
    assert r.status_code == 413 and r.json()["detail"].startswith("Request body is larger")
    assert "--max-upload-size" in r.json()["detail"]
    record = server.world.runs[run["id"]]
    assert (record.dir / "f.bin").read_bytes() == b"x" * 1000


def test_a_chunked_upload_is_cut_off_at_the_limit(pseven_emulator_factory):
    server = pseven_emulator_factory(max_upload_bytes=64 * 1024)
    run = deploy(server)
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    ).encode()

    def body():  # no Content-Length: requests sends it chunked
        yield head
        for _ in range(64):
            yield b"z" * 4096
        yield f"\r\n--{boundary}--\r\n".encode()

    r = requests.post(
        run["url"] + "upload/",
        headers={**server.auth_header, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        data=body(),
    )
    assert r.status_code == 413
    assert not (server.world.runs[run["id"]].dir / "big.bin").exists()


def test_cli_size_option():
    from airflow_provider_pseven.emulator.__main__ import _size, build_parser

    assert _size("500M") == 500 * 1024**2 and _size("4G") == 4 * 1024**3 and _size("1024") == 1024
    assert _size("1.5KiB") == 1536
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--max-upload-size", "lots"])


# --- errors show no internals --------------------------------------------------------------------
def test_a_nul_in_a_name_is_a_400(server):
    run = deploy(server)
    for r in (
        requests.post(run["url"] + "upload/", headers=server.auth_header, files={"file": ("a\x00b", b"1")}),
        requests.get(run["url"] + "download/", headers=server.auth_header, params={"file": "a\x00b"}),
        requests.get(run["url"] + "ls/", headers=server.auth_header, params={"directory": "x\x00"}),
        requests.post(
            f"{server.api_url}workflows/{TOY_ID}/runs/", headers=server.auth_header, json={"name": "r\x00"}
        ),
    ):
        assert r.status_code == 400, r.text
        assert "NUL" in r.json()["detail"]


def test_what_the_fuzz_suite_found_is_a_400(server):
    """A folder where a file is, and a part header with a bare CR, answered 500 before."""
    run = deploy(server)
    assert _upload(server, run, b"1").status_code == 200  # f.bin is a file now
    for field in ("directory", "destination"):
        r = requests.post(
            run["url"] + "upload/",
            headers=server.auth_header,
            files={field: (None, "f.bin/sub"), "file": ("g", b"")},
        )
        assert r.status_code == 400 and "f.bin is a file" in r.json()["detail"]
    boundary = "b0undary"
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="\r"\r\n\r\n1\r\n--{boundary}--\r\n'
    r = requests.post(
        run["url"] + "upload/",
        headers={**server.auth_header, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        data=body.encode(),
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("Multipart form parse error")
    r = requests.get(server.api_url + "workflows/", headers={**server.auth_header, "Host": "["})
    assert r.status_code == 421


def test_an_internal_error_is_500_without_internal_text(server, monkeypatch, caplog):
    def broken(token):
        raise RuntimeError("/srv/secret/path: internals")

    monkeypatch.setattr(server.world, "user_by_token", broken)
    with caplog.at_level(logging.ERROR, "airflow_provider_pseven.emulator"):
        r = requests.get(server.api_url + "workflows/", headers=server.auth_header)
    assert r.status_code == 500 and r.json() == {"detail": "Internal error."}
    assert "/srv/secret/path: internals" in caplog.text  # the server's log has it
