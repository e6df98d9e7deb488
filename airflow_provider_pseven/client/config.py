"""Where the server is and how to talk to it: one frozen value shared by both drivers."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from airflow_provider_pseven.client.errors import PsevenConfigError
from airflow_provider_pseven.client.proxy import checked_proxy, credentials, port_is_valid
from airflow_provider_pseven.client.retry import RetryPolicy
from airflow_provider_pseven.client.text import client_logger

log = client_logger()

API_PATHS = (".rest", "@rest")
"""``.rest``: pSeven Enterprise v2025.03 and earlier; ``@rest``: the v2026.10 documentation."""


class PathMemory(Protocol):
    """Where a detected API path is remembered between clients: what the drivers ask of it.

    :class:`~airflow_provider_pseven.client.path_cache.ApiPathCache` is the one the hook uses; a
    protocol here keeps this module free of it (the cache module reads :data:`API_PATHS`)."""

    def get(self, sign_in_url: str, connection_id: str = "") -> str | None: ...

    def put(self, sign_in_url: str, connection_id: str, api_path: str) -> None: ...

    def evict(self, sign_in_url: str, connection_id: str = "") -> None: ...


_API_SUFFIX = re.compile(r"/(?:pseven|appshub)/(\.rest|@rest)(?:/v2)?/?$")


def normalize_sign_in_url(host: str, port: int | None = None) -> tuple[str, str | None]:
    """Turn what a user typed into ``scheme://host[:port]`` (plus any path prefix).

    Accepts a sign-in URL with or without scheme (no scheme means https), a bare host with a port,
    and even a full API base URL copied from the guide (``.../pseven/.rest/v2/``), in which case the
    API path found in it is returned as the second value.
    """
    text = (host or "").strip()
    if not text:
        raise PsevenConfigError(
            "No pSeven host is configured. Set the connection's Host to your sign-in URL, "
            "e.g. https://app.pseven.io"
        )
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if "@" in parts.netloc:
        # Never echoed: what is before the @ is a login and maybe a password.
        raise PsevenConfigError(
            "The pSeven host must not contain a login or password (user:password@host): put the "
            "login in the connection's Login and the password or API token in its Password, and only "
            "the sign-in URL (e.g. https://app.pseven.io) in its Host"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PsevenConfigError(
            f"The pSeven host {host!r} is not an http(s) URL. Use the sign-in URL, e.g. https://app.pseven.io"
        )
    if not port_is_valid(parts):
        raise PsevenConfigError(
            f"The pSeven host {host!r} has an invalid port; use a number from 1 to 65535, "
            "e.g. https://app.pseven.io:8443"
        )
    path = parts.path.rstrip("/")
    api_path = None
    match = _API_SUFFIX.search(path + "/")
    if match:
        api_path = match.group(1)
        path = path[: match.start()]
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{path}", api_path


#: Hosts this process has warned about (plain http to a non-loopback host): once each.
_WARNED_PLAIN: set[str] = set()


def is_loopback(hostname: str) -> bool:
    """``localhost`` or a loopback address: plain http there never crosses a network."""
    name = hostname.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_scheme(sign_in: str, require_https: bool) -> None:
    """Plain http to another machine sends the token in clear: refused with ``require_https``,
    else warned about once per host and process."""
    parts = urlsplit(sign_in)
    if parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return
    if require_https:
        raise PsevenConfigError(
            f"The pSeven host {sign_in} uses plain http, and the connection sets require_https: use "
            "its https:// sign-in URL (or unset require_https for a test server on a trusted network)"
        )
    if sign_in not in _WARNED_PLAIN:
        _WARNED_PLAIN.add(sign_in)
        log.warning(
            "The pSeven host %s uses plain http: the API token crosses the network unencrypted. Use "
            "its https:// sign-in URL; set the connection extra require_https to refuse plain http",
            sign_in,
        )


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs. ``repr`` never shows the token or the password.

    :param host: the sign-in URL (see :func:`normalize_sign_in_url`).
    :param token: the API token; or give ``username`` and ``password`` to get one via ``auth/login/``.
    :param api_path: ``auto`` (detected once per client, or once per ``api_path_cache``), ``.rest``
        or ``@rest``.
    :param verify: TLS verification: True (default), False, or a CA bundle path.
    :param timeout: seconds to connect and between bytes of an answer.
    :param deadline: seconds a call may take from sending to the last byte of a non-streamed
        answer (for an upload, from the start of its answer), whatever the pace of the bytes.
    :param max_body_bytes: the largest non-streamed answer read (downloads stream to their sink).
    :param require_https: refuse an ``http://`` host that is not loopback (else: a warning).
    :param connection_id: the name this configuration goes by (an Airflow connection id): not a secret,
        part of the ``api_path_cache`` key.
    :param api_path_cache: where a detected ``auto`` path is remembered for other clients and
        processes (see :mod:`~airflow_provider_pseven.client.path_cache`); ``None``: this client only.
    :param proxy: a forward proxy URL (``http://[user:password@]host:port``) for every request,
        overriding ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``; None: those variables decide, in
        both clients. Not in ``repr``; its password is one of :attr:`secrets`.
    """

    host: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_path: str = "auto"
    verify: bool | str = True
    timeout: float = 60.0
    deadline: float = 300.0
    #: 64 MiB: a runs list of 10,000 runs is about 5 MiB; more is not an answer of pSeven's.
    max_body_bytes: int = 64 * 1024 * 1024
    require_https: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = "airflow-provider-pseven"
    #: Bytes per read of a download (sync client). 64 KiB, not more: a chunk that still sits in the
    #: CPU cache when it is written out costs a fraction of the system time of a 1 MiB one (measured
    #: with benchmarks/transfers.py: 1 MiB chunks took ~2 CPU s per GiB, twice curl's, and lost to it).
    chunk_size: int = 64 * 1024
    #: Called with every credential the client learns (the token from a login), so a host
    #: application can register it with its log masker.
    on_secret: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    connection_id: str = ""
    api_path_cache: PathMemory | None = field(default=None, repr=False, compare=False)
    proxy: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxy", checked_proxy(self.proxy))
        sign_in, found_api_path = normalize_sign_in_url(self.host)
        object.__setattr__(self, "host", sign_in)
        check_scheme(sign_in, self.require_https)
        if found_api_path and self.api_path == "auto":
            object.__setattr__(self, "api_path", found_api_path)
        if self.api_path not in ("auto", *API_PATHS):
            raise PsevenConfigError(f"api_path must be 'auto', '.rest' or '@rest', not {self.api_path!r}")
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise PsevenConfigError(f"timeout must be a positive number of seconds, not {self.timeout!r}")
        if not (isinstance(self.deadline, (int, float)) and self.deadline > 0):
            raise PsevenConfigError(f"deadline must be a positive number of seconds, not {self.deadline!r}")
        if not (isinstance(self.max_body_bytes, int) and self.max_body_bytes > 0):
            raise PsevenConfigError(f"max_body_bytes must be a positive integer, not {self.max_body_bytes!r}")
        if not self.token and not (self.username and self.password):
            raise PsevenConfigError(
                "No pSeven credentials: set the connection's Password to an API token "
                "(pSeven Enterprise Studio: user menu > API token), or Login and Password to sign in"
            )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (for log maskers)."""
        return tuple(s for s in (self.token, self.password, *credentials(self.proxy)) if s)
