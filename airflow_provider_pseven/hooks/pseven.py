"""PsevenHook: an Airflow connection turned into pSeven REST API clients."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven.client import PsevenConfigError
from airflow_provider_pseven.compat import BaseHook

# The client's modules are imported where a connection is read or a client made, not where the
# operators are defined: every task process parses its DAG file, most define tasks they do not run.
# (The drivers likewise: httpx in the triggerer only.)
if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, PsevenClient

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _extra(extras: dict[str, Any], name: str) -> Any:
    """A connection extra, stored plain (Airflow 3 UI, JSON) or prefixed (older forms)."""
    value = extras.get(name, extras.get(f"extra__pseven__{name}"))
    return None if value == "" else value


def _as_bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise PsevenConfigError(f"Connection extra {name!r} must be true or false, not {value!r}")


def config_from_connection(conn: Connection, extras: dict[str, Any]) -> ClientConfig:
    """Read a ``pseven`` connection: host = sign-in URL, password = token (or login's password)."""
    from airflow_provider_pseven.client.config import ClientConfig, normalize_sign_in_url
    from airflow_provider_pseven.client.path_cache import default_cache
    from airflow_provider_pseven.client.proxy import credentials

    host, api_path_in_host = normalize_sign_in_url(conn.host or "", conn.port)
    login = conn.login or None
    password = conn.password or None
    verify_ssl = _as_bool(_extra(extras, "verify_ssl"), "verify_ssl")
    ca_bundle = _extra(extras, "ca_bundle")
    verify: bool | str = ca_bundle if ca_bundle else (True if verify_ssl is None else verify_ssl)
    timeout = _extra(extras, "timeout")
    try:
        timeout_value = float(timeout) if timeout is not None else 60.0
    except (TypeError, ValueError):
        raise PsevenConfigError(
            f"Connection extra 'timeout' must be a number of seconds, not {timeout!r}"
        ) from None
    proxy = _extra(extras, "proxy")
    _mask(*credentials(str(proxy) if proxy is not None else None))  # before any error can show it
    settings: dict[str, Any] = {
        "host": host,
        "token": None if login else password,
        "username": login,
        "password": password if login else None,
        "api_path": _extra(extras, "api_path") or api_path_in_host or "auto",
        "verify": verify,
        "timeout": timeout_value,
        "require_https": bool(_as_bool(_extra(extras, "require_https"), "require_https")),
        "proxy": str(proxy) if proxy is not None else None,
        # Tasks run in new processes: an `auto` path detected by one is reused by the next ones.
        "connection_id": conn.conn_id or "",
        "api_path_cache": default_cache(),
    }
    return ClientConfig(**settings, on_secret=_mask)


def _mask(*secrets: str | None) -> None:
    """Register values with Airflow's secret masker so no log line can show them."""
    from airflow.sdk.log import mask_secret  # looked up at each call: tests patch it

    for secret in secrets:
        if secret:
            mask_secret(secret)


class PsevenHook(BaseHook):
    """Talks to pSeven Enterprise through the connection ``pseven_conn_id``.

    ``client`` is a blocking client for operators; :meth:`get_async_client` gives triggers a client
    shared by every trigger of the same connection in the same event loop (one keep-alive pool, see
    :mod:`~airflow_provider_pseven.hooks.async_clients`). With a login instead of a token, the hook
    signs in once and reuses the token.
    """

    conn_name_attr = "pseven_conn_id"
    default_conn_name = "pseven_default"
    conn_type = "pseven"
    hook_name = "pSeven Enterprise"

    def __init__(self, pseven_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.pseven_conn_id = pseven_conn_id

    @cached_property
    def config(self) -> ClientConfig:
        conn = self.get_connection(self.pseven_conn_id)
        config = config_from_connection(conn, conn.extra_dejson)
        _mask(*config.secrets)
        return config

    @cached_property
    def client(self) -> PsevenClient:
        """The blocking client (requests.Session, keep-alive) for this hook's lifetime."""
        from airflow_provider_pseven.client.sync import PsevenClient

        return PsevenClient(self.config)

    def get_conn(self) -> PsevenClient:
        return self.client

    async def get_async_client(self) -> AsyncPsevenClient:
        """The event loop's shared async client for this connection as it reads now."""
        from airflow_provider_pseven.client.aio import AsyncPsevenClient
        from airflow_provider_pseven.hooks.async_clients import loop_clients

        return await loop_clients().client(self.pseven_conn_id, self._read_async_config, AsyncPsevenClient)

    def evict_async_client(self, client: AsyncPsevenClient) -> None:
        """After an authentication error: read the connection again for the next client asked for
        (its token may have been rotated), and stop sharing ``client``."""
        from airflow_provider_pseven.hooks.async_clients import loop_clients

        loop_clients().evict(self.pseven_conn_id, client)

    async def _read_async_config(self) -> ClientConfig:
        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

        conn = await get_async_connection(self.pseven_conn_id, self)
        extras = await get_async_extra_dejson(conn)
        config = config_from_connection(conn, extras)
        _mask(*config.secrets)
        return config

    def test_connection(self) -> tuple[bool, str]:
        """Used by the UI's Test button: reach the API and list workflows."""
        try:
            workflows = self.client.list_workflows()
        except Exception as error:
            return False, str(error)
        from airflow_provider_pseven.client.calls import Base

        base = self.client.core.api_base(Base.PSEVEN)
        return True, f"Connected to {base}: {len(workflows)} workflow(s) visible"
