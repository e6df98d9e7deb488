"""The points the REST API guide leaves open, each a named choice of the emulator.

The emulator's defaults (preset ``"guide"``) do what the guide shows and nothing more. Where the
guide is silent or ambiguous, a real server may answer one way or another; a client has to cope
with every answer, so each point is a field of ``Variants`` and the client is tested against the
presets ``"strictest"`` (the hardest answer for a client on every point) and ``"lenient"``.

Why each point is open (quotes from the guide, section in parentheses):

``secret_marker``
    "Parameter value is found in .parameters[{index}].value.data; other keys in
    .parameters[{index}].value provide metainformation for the current value" (Run parameters),
    but no example shows any other key, and none marks a parameter as a Secret: the MySecret
    example reads ``null`` / ``""`` like an unset / empty string. ``"none"`` (the guide's
    examples): nothing tells a Secret apart. ``"type"``: a Secret's value carries
    ``"type": "Secret"``.
``duplicate_run_names``
    "the run gets a default, automatically generated name" and "You can deploy a named run"
    (Run deployment); the guide never says run names are unique. ``"accepted"``: a second run of
    the same name gets the same name and a distinct directory; ``"refused"``: 400
    "A run named ... already exists".
``wrong_state_status``
    "Verify that the run state is CONFIGURATION, otherwise your run setup requests will be
    rejected" (Run deployment) and "Codes of the 4xx or 5xx class indicate an error"
    (Error handling): which 4xx is not said. 400 (the default), 409, 403 (which the guide's own
    Error handling example also uses for missing credentials) or 422.
``partial_patch``
    "The request body should contain run details with new parameter values" (Run parameters):
    whether a body that lists only some parameters is taken is not said. ``"accepted"``: the
    parameters not listed keep their values (unless ``patch_omitted`` is ``"reset"``);
    ``"refused"``: 400 naming the missing ones.
``publish_body``
    "If you omit the thumbnail, it may also be application/json or
    application/x-www-form-urlencoded" (Workflow publishing), but every example is a form, and
    ``workspace.name`` is a form-parser spelling with no JSON form shown. ``"any"``: JSON (flat
    ``"workspace.name"`` or nested ``{"workspace": {"name": ...}}``), urlencoded or multipart;
    ``"form_only"``: a JSON body is refused with 415.
``app_deploy_body``
    The AppsHub run deploy examples send ``data=settings`` (urlencoded) and ``curl -F``
    (multipart), never JSON (AppsHub API), while workflow deploys send JSON (Run deployment).
    ``"any"`` or ``"form_only"`` (a JSON body is refused with 415).
``pop_on_ended_run``
    "While a run is in progress, blocks can exchange messages" (Messaging) and the pop answers are
    200, "No messages in queue: 204 No Content", or an error: what a pop on a run that has ended
    answers is not said. ``400``: refused like every other wrong-state request (with the status
    ``wrong_state_status``); ``204``: "no messages", forever.
``unknown_base_path``
    Only two base URLs are documented (Introduction) and the guide's one example of a missing
    thing is ``404 {"detail": "Not found."}`` (Error handling); what a path outside them (for
    example the other base path spelling, ``.rest`` vs ``@rest``) answers depends on the web
    front end. ``"json_404"``: 404 ``{"detail": "Not found."}``; ``"html"``: 200 text/html, the
    sign-in page; ``"redirect"``: 302 to ``/login/``, which serves that page.
``value_style``
    The same sentence as ``secret_marker``: ``value`` may hold metainformation. ``"data_only"``
    (the guide's examples): ``{"data": ...}``; ``"typed"``: ``{"data": ..., "type": "Integer"}``
    (``String``, ``Integer``, ``Real``, ``Boolean``, ``List``, ``Dict``; a Secret reads
    ``"String"`` unless ``secret_marker`` is ``"type"``). A PATCH whose ``value.type``
    contradicts ``value.data`` is refused with 400; a value without ``"type"`` is accepted.
``patch_metainfo``
    The same sentence again, and the guide's one PATCH example sends each value object back as
    read with only ``data`` changed (Run parameters); whether a server needs the metainformation
    back is not said. ``"optional"``: a value object with ``data`` alone is taken;
    ``"required"``: a value object in a PATCH that lacks a key the server shows for it (``type``,
    with ``value_style="typed"`` or ``secret_marker="type"``) is refused with 400 naming the keys.
``patch_omitted``
    "The request body should contain run details with new parameter values" (Run parameters):
    whether the body's list *replaces* the run's parameters is not said. ``"kept"``: a parameter
    the body leaves out keeps its value; ``"reset"``: it goes back to its default (unset if it has
    none), a set Secret included. Only meaningful where ``partial_patch`` accepts partial bodies,
    so the preset "lenient" (which accepts them) carries ``"reset"``: in "strictest" no partial
    body is ever taken.
``app_version_runs``
    "apps/{app ID}/runs/ is the endpoint to get the list of app runs for that {app ID}" (AppsHub
    API) is the only place the guide shows app runs; ``apps/{id}@{N}/`` appears only as a
    version's details URL, though "Before you deploy a new run (of any app version), send a GET
    request to that version's URL" (Workflow publishing) hints that versions may have runs of their
    own. ``"none"``: ``apps/{id}@{N}/runs/...`` answers 404, runs deploy under the plain id (the
    default version); ``"served"``: the run endpoints answer under a version's URL too, and a
    deploy there runs that version.
``state_refusal_text``
    "In this case, the response body contains error details" (Error handling): what they say is
    not shown for a wrong-state refusal. ``"names_state"``: "Run state is RUNNING; this request
    requires CONFIGURATION."; ``"generic"``: "Request rejected.", naming no state.
``upload_limit``
    The guide sets no size limit on ``upload/`` (File upload), but a reverse proxy in front of a
    real server usually has one (nginx's ``client_max_body_size``). ``"none"``: any size;
    ``"html_413"``: a body over ``UPLOAD_LIMIT`` bytes is answered ``413`` with nginx's HTML
    error page, as such a proxy answers.
``run_log``
    "If the run state is FINISHED, a diagnostic log is available ... The log download full URL
    for a finished run can be found under the logfile_url key in run details" and "A run log
    download request URL looks like: ...download/?file=.p7.log.txt" (Downloading the run log): the
    URL is an example, and whether the details of a run that ended otherwise give it is not said.
    ``"finished_only"``: ``logfile_url`` is set for a FINISHED run, null otherwise;
    ``"every_end"``: it is set for every run that ended (FINISHED, FAILED, INTERRUPTED).
``ls_listing``
    The ``ls/`` examples end their ``entries`` with ``...`` and say ``"count": 27`` (Listing
    files): ``count`` is the number of entries, and whether a long listing is cut is not said;
    no parameter to ask for more is shown. ``"complete"``: every entry; ``"truncated"``: at most
    ``LS_LIMIT`` entries, ``count`` still giving them all.
``ls_nested``
    "To list the contents of a subdirectory, add the directory query parameter with the name of
    the subdirectory to list" (Listing files): the example names a folder of the run directory's
    root; a deeper one is not shown, while download/ takes "the file path ... relative to the run
    directory" (File download). ``"path"``: ``directory`` is a path relative to the run directory
    (or an absolute storage path inside it), like download's ``file``; ``"root_only"``: a folder
    below the root is refused with 400.
``access``
    The guide's every example reaches ``{sign-in URL}`` directly (Introduction) and says nothing of
    the network between: in most companies the server is reachable only through a forward proxy
    (``HTTP_PROXY``/``HTTPS_PROXY``). ``"direct"``: any peer is served; ``"proxy_only"``: only
    connections from the proxy's address (:data:`PROXY_PEER`, ``127.0.0.2``: the tests' proxy
    binds its outgoing connections there, which covers ``CONNECT`` tunnels too) are served, any
    other gets a firewall's 403 ``text/plain`` page that says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: The peer address of the forward proxy that ``access="proxy_only"`` serves.
PROXY_PEER = "127.0.0.2"

# Each open point: its answers (the guide's first, the default of ``Variants``), then the answer of
# the preset "strictest" (the hardest for a client), then that of "lenient".
_POINTS: dict[str, tuple[tuple[Any, ...], Any, Any]] = {
    "secret_marker": (("none", "type"), "none", "type"),
    "duplicate_run_names": (("accepted", "refused"), "refused", "accepted"),
    "wrong_state_status": ((400, 409, 403, 422), 403, 409),
    "partial_patch": (("accepted", "refused"), "refused", "accepted"),
    "publish_body": (("any", "form_only"), "form_only", "any"),
    "app_deploy_body": (("any", "form_only"), "form_only", "any"),
    "pop_on_ended_run": ((400, 204), 204, 400),
    "unknown_base_path": (("json_404", "html", "redirect"), "html", "json_404"),
    "value_style": (("data_only", "typed"), "typed", "data_only"),
    "patch_metainfo": (("optional", "required"), "required", "optional"),
    # "reset" in lenient: strictest refuses partial bodies (partial_patch), where it never shows.
    "patch_omitted": (("kept", "reset"), "kept", "reset"),
    "app_version_runs": (("none", "served"), "none", "served"),
    "state_refusal_text": (("names_state", "generic"), "generic", "names_state"),
    "upload_limit": (("none", "html_413"), "html_413", "none"),
    "run_log": (("finished_only", "every_end"), "finished_only", "every_end"),
    "ls_listing": (("complete", "truncated"), "truncated", "complete"),
    "ls_nested": (("path", "root_only"), "root_only", "path"),
    "access": (("direct", "proxy_only"), "proxy_only", "direct"),
}
_CHOICES = {name: answers for name, (answers, _, _) in _POINTS.items()}
#: Bytes of an ``upload/`` body above which ``upload_limit="html_413"`` answers 413.
UPLOAD_LIMIT = 64 * 1024 * 1024
#: Entries ``ls_listing="truncated"`` lists at most.
LS_LIMIT = 1000


@dataclass(frozen=True)
class Variants:
    """One answer for each point the guide leaves open; the defaults are the guide's examples."""

    secret_marker: str = "none"  # "none" (guide) | "type": value carries {"type": "Secret"} for Secret params
    duplicate_run_names: str = "accepted"  # "accepted" | "refused" (400 "A run named ... already exists")
    wrong_state_status: int = 400  # 400 | 409 | 403 | 422
    partial_patch: str = "accepted"  # "accepted" | "refused": PATCH must list every parameter of the run
    publish_body: str = "any"  # "any" (JSON, urlencoded or multipart) | "form_only" (JSON refused, 415)
    app_deploy_body: str = "any"  # "any" | "form_only"
    pop_on_ended_run: int = 400  # 400 | 204 : message_pop on a FINISHED/FAILED/INTERRUPTED run
    unknown_base_path: str = "json_404"  # "json_404" | "html" (200 sign-in page) | "redirect" (302 /login/)
    value_style: str = "data_only"  # "data_only" (guide) | "typed": value carries {"data":..., "type": ...}
    patch_metainfo: str = "optional"  # "optional" | "required": PATCH value objects keep the keys read
    patch_omitted: str = "kept"  # "kept" | "reset": parameters a PATCH leaves out go back to defaults
    app_version_runs: str = "none"  # "none" | "served": run endpoints under apps/{id}@{N}/ too
    state_refusal_text: str = "names_state"  # "names_state" | "generic": "Request rejected." names no state
    upload_limit: str = "none"  # "none" | "html_413": a body over UPLOAD_LIMIT gets a proxy's HTML 413 page
    run_log: str = "finished_only"  # "finished_only": logfile_url on FINISHED runs | "every_end": any end
    ls_listing: str = "complete"  # "complete" | "truncated": at most LS_LIMIT entries, count gives all
    ls_nested: str = "path"  # "path": directory=a/b lists a nested folder | "root_only": 400 for one
    access: str = "direct"  # "direct" | "proxy_only": only connections from PROXY_PEER are served

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices or type(value) is not type(choices[0]):
                raise ValueError(
                    f"variant {name} must be one of {', '.join(map(str, choices))}; got {value!r}"
                )

    @classmethod
    def parse(cls, spec: str) -> Variants:
        """``"strictest"``, ``"guide,wrong_state_status=409"``, ``"partial_patch=refused"``, ``""``.

        A preset name may come first; then ``key=value`` items, comma-separated, override it
        (without a preset they override the guide's defaults).
        """
        items = [item.strip() for item in spec.split(",") if item.strip()]
        base = PRESETS["guide"]
        if items and "=" not in items[0]:
            name = items.pop(0)
            if name not in PRESETS:
                raise ValueError(f"unknown variants preset {name!r}; presets: {', '.join(PRESETS)}")
            base = PRESETS[name]
        changes: dict[str, Any] = {}
        for item in items:
            key, sep, raw = item.partition("=")
            key, raw = key.strip(), raw.strip()
            if not sep:
                raise ValueError(
                    f"variants item {item!r}: a preset name may only come first; "
                    "after it, items are key=value"
                )
            if key not in _CHOICES:
                raise ValueError(f"unknown variant {key!r}; variants: {', '.join(_CHOICES)}")
            choices = _CHOICES[key]
            value: Any = raw
            if isinstance(choices[0], int):
                try:
                    value = int(raw)
                except ValueError:
                    value = raw
            if value not in choices:
                raise ValueError(f"variant {key} must be one of {', '.join(map(str, choices))}; got {raw!r}")
            changes[key] = value
        return dataclasses.replace(base, **changes) if changes else base

    @classmethod
    def coerce(cls, value: Variants | str | None) -> Variants:
        """A ``Variants``, a spec for ``parse``, or None (the guide's defaults)."""
        if value is None:
            return PRESETS["guide"]
        if isinstance(value, Variants):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise TypeError(f"variants must be a Variants, a spec string or None, not {type(value).__name__}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def spec(self) -> str:
        """A short spec that ``parse`` turns back into these variants: the nearest preset, then the
        items that differ from it (``"strictest"``, ``"lenient,unknown_base_path=html"``; items
        alone when the nearest preset is the guide's)."""

        def diff(preset: Variants) -> list[str]:
            return [f"{k}={v}" for k, v in self.as_dict().items() if getattr(preset, k) != v]

        name, items = min(((n, diff(p)) for n, p in PRESETS.items()), key=lambda pair: len(pair[1]))
        if not items:
            return name
        return ",".join(items if name == "guide" else [name, *items])


PRESETS: dict[str, Variants] = {
    "guide": Variants(),
    "strictest": Variants(**{name: strictest for name, (_, strictest, _) in _POINTS.items()}),
    "lenient": Variants(**{name: lenient for name, (_, _, lenient) in _POINTS.items()}),
}
"""``guide``: the defaults. ``strictest``: the hardest answer for a client on every point.
``lenient``: the answers an emulator written with the client's guesses gave."""

VARIANT_CHOICES = _CHOICES
