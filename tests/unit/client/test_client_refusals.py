"""A refused state-dependent request is judged by the run's state, read after the refusal
(client/refusals.py); an HTML error page names its status and first line (client/calls.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pseven_client_harness import RUN_ID, RUN_URL, WF_ID, Api, Resp, detail, html, ok, run_json

from airflow_provider_pseven.client import (
    PsevenAuthError,
    PsevenBadRequestError,
    PsevenHTTPError,
    PsevenNotJsonError,
    PsevenProxyError,
    PsevenStateError,
    RunRef,
)

REF = RunRef.workflow(WF_ID, RUN_ID)

#: Every state-dependent request: (client method, its arguments, HTTP method, URL, a state that
#: does not allow it, one that does).
STATE_DEPENDENT: list[tuple[str, tuple[Any, ...], dict[str, Any], str, str, str, str]] = [
    ("start_run", (REF,), {}, "POST", f"{RUN_URL}run/", "RUNNING", "CONFIGURATION"),
    ("interrupt_run", (REF,), {}, "POST", f"{RUN_URL}interrupt/", "QUEUED_TO_RUN", "RUNNING"),
    ("delete_run", (REF,), {"wait": False}, "DELETE", RUN_URL, "RUNNING", "FINISHED"),
    ("upload", (REF,), {"directories": ["d"]}, "POST", f"{RUN_URL}upload/", "FINISHED", "CONFIGURATION"),
    ("message_push", (REF, "hi"), {}, "POST", f"{RUN_URL}message_push/", "FINISHED", "RUNNING"),
    ("message_pop", (REF,), {}, "POST", f"{RUN_URL}message_pop/", "QUEUED_TO_RUN", "RUNNING"),
]
IDS = [case[0] for case in STATE_DEPENDENT]

#: Refusals a server may give for the run's state: the guide says only "4xx".
REFUSALS = [
    detail(400, "Run state is RUNNING; this request requires CONFIGURATION."),
    detail(400, "Request rejected."),  # names no state
    detail(403, "You do not have permission to perform this action."),
    detail(409, "Conflict."),
    detail(422, "Unprocessable."),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: str(r.status) + r.json["detail"][:4])
@pytest.mark.parametrize(
    ("name", "args", "kwargs", "method", "url", "wrong", "right"), STATE_DEPENDENT, ids=IDS
)
async def test_any_4xx_is_a_state_refusal_when_the_run_read_after_it_is_in_another_state(
    api: Api, refusal: Resp, name: str, args: Any, kwargs: Any, method: str, url: str, wrong: str, right: str
) -> None:
    api.route(method, url, refusal)
    api.route("GET", RUN_URL, ok(run_json(wrong)))
    with pytest.raises(PsevenStateError) as info:
        await api.call(name, *args, **kwargs)
    assert info.value.status == refusal.status
    assert f"run {RUN_ID} is {wrong}, and this request needs " in str(info.value)
    assert [s.method for s in api.sent] == [method, "GET"]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: str(r.status) + r.json["detail"][:4])
@pytest.mark.parametrize(
    ("name", "args", "kwargs", "method", "url", "wrong", "right"), STATE_DEPENDENT, ids=IDS
)
async def test_a_4xx_in_a_state_that_allows_the_request_keeps_its_own_meaning(
    api: Api, refusal: Resp, name: str, args: Any, kwargs: Any, method: str, url: str, wrong: str, right: str
) -> None:
    api.route(method, url, refusal)
    api.route("GET", RUN_URL, ok(run_json(right)))
    with pytest.raises(PsevenHTTPError) as info:
        await api.call(name, *args, **kwargs)
    assert not isinstance(info.value, PsevenStateError)
    assert info.value.status == refusal.status
    if refusal.status == 400:
        assert isinstance(info.value, PsevenBadRequestError)
    if refusal.status == 403:
        assert isinstance(info.value, PsevenAuthError)
        assert f"the run is readable and {right}: the user may lack the permission" in str(info.value)


async def test_a_403_is_an_auth_error_when_the_run_cannot_be_read_either(api: Api) -> None:
    api.route("POST", f"{RUN_URL}run/", detail(403, "Invalid token."))
    api.route("GET", RUN_URL, detail(403, "Invalid token."))
    with pytest.raises(PsevenAuthError, match=r"POST .*/run/ failed with HTTP 403: Invalid token"):
        await api.call("start_run", REF)


@pytest.mark.parametrize("status", [401, 404])
async def test_401_and_404_are_taken_as_they_are_without_reading_the_run(api: Api, status: int) -> None:
    api.route("POST", f"{RUN_URL}run/", detail(status, "No."))
    with pytest.raises(PsevenHTTPError) as info:
        await api.call("start_run", REF)
    assert info.value.status == status
    assert [s.method for s in api.sent] == ["POST"]


async def test_a_407_is_the_proxys_answer_and_reads_no_run(api: Api) -> None:
    """A 407 comes from a proxy: the server never saw the start, so its run's state says nothing."""
    api.route("POST", f"{RUN_URL}run/", detail(407, "Proxy Authentication Required"))
    with pytest.raises(PsevenProxyError, match="proxy asks for credentials"):
        await api.call("start_run", REF)
    assert [s.method for s in api.sent] == ["POST"]


@pytest.mark.parametrize("status", [403, 422])
async def test_a_patch_refused_in_another_state_is_a_state_error(api: Api, status: int) -> None:
    api.route("GET", RUN_URL, ok(run_json("CONFIGURATION", parameters=[])), ok(run_json("QUEUED_TO_RUN")))
    api.route("PATCH", RUN_URL, detail(status, "Not allowed."))
    with pytest.raises(
        PsevenStateError, match=f"run {RUN_ID} is QUEUED_TO_RUN, and this request needs CONFIGURATION"
    ):
        await api.call("set_parameters", REF, {})


async def test_a_403_on_the_interrupt_of_an_ended_run_is_no_auth_error(api: Api) -> None:
    """The issue's case: a 403 taken for an auth failure was permanent, so the task deleted its run."""
    api.route("GET", RUN_URL, ok(run_json("RUNNING")), ok(run_json("FINISHED")))
    api.route("POST", f"{RUN_URL}interrupt/", detail(403, "Forbidden."))
    assert await api.call("interrupt_if_running", REF) is False


# --- HTML error pages -----------------------------------------------------------------------------

NGINX_413 = (
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


async def test_a_proxys_html_413_on_an_upload_names_the_status_and_first_line(api: Api) -> None:
    api.route("POST", f"{RUN_URL}upload/", html(413, NGINX_413))
    api.route("GET", RUN_URL, ok(run_json("CONFIGURATION")))
    with pytest.raises(PsevenHTTPError) as info:
        await api.call("upload", REF, directories=["d"])
    message = str(info.value)
    assert not isinstance(info.value, PsevenNotJsonError)
    assert "HTTP 413: 413 Request Entity Too Large" in message
    assert "a proxy, firewall or web server between Airflow and pSeven answered" in message
    assert "api_path" not in message  # not "wrong host"


async def test_a_firewalls_html_403_is_no_wrong_host(api: Api) -> None:
    page = "<!DOCTYPE html>\n<html><head>\n<title>Access denied</title></head><body>Blocked by policy</body></html>"
    api.route("GET", f"{RUN_URL}ls/", html(403, page))
    with pytest.raises(PsevenHTTPError, match="HTTP 403: Access denied") as info:
        await api.call("list_files", REF)
    assert not isinstance(info.value, (PsevenNotJsonError, PsevenAuthError))


async def test_an_html_404_still_means_no_api_here(api: Api) -> None:
    api.route("GET", f"{RUN_URL}ls/", html(404))
    with pytest.raises(PsevenNotJsonError, match="Check the connection's host"):
        await api.call("list_files", REF)


async def test_a_resent_start_refused_with_403_after_a_lost_answer_counts_as_started(api: Api) -> None:
    """The issue's case: the 403 was taken for bad credentials (permanent: the task deleted its own
    run). Read after the refusal, the run has started: the lost request had landed."""
    api.route(
        "GET",
        RUN_URL,
        ok(run_json("CONFIGURATION")),
        ok(run_json("CONFIGURATION")),
        ok(run_json("QUEUED_TO_RUN")),
    )
    api.route("POST", f"{RUN_URL}run/", Resp(error="read_timeout"), detail(403, "Forbidden."))
    assert await api.call("start_once", REF, settle=1) is True
    assert [s.method for s in api.sent].count("POST") == 2
    assert not any(s.method == "DELETE" for s in api.sent)
