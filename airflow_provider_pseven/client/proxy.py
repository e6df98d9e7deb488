"""Forward proxies: checking the connection's own, and naming the one a request went through.

Both HTTP libraries choose the proxy themselves: requests and httpx read ``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (either case) through urllib's ``getproxies``, and
take an explicit proxy that overrides them. This module only checks the connection's ``proxy``,
finds which proxy a request used (for error messages, the same lookup the libraries make) and
shows a proxy URL without its credentials.
"""

from __future__ import annotations

import re
import urllib.request
from urllib.parse import SplitResult, unquote, urlsplit

from airflow_provider_pseven.client.errors import PsevenConfigError, PsevenProxyError

PROXY_SCHEMES = ("http", "https")
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*://)?)[^@/?#]*@")


def shown(url: str) -> str:
    """The proxy URL as it may appear in a message: any ``user:password@`` becomes ``***@``."""
    return _USERINFO.sub(r"\1***@", url.strip())


def checked_proxy(url: str | None) -> str | None:
    """The connection's ``proxy`` extra, checked: an http(s) URL with a host, or None when unset.

    Unlike the environment variables (which both libraries read as ``http://`` when they lack a
    scheme), the connection's value must say its scheme: a typo there should not pass silently.
    """
    text = (url or "").strip()
    if not text:
        return None
    example = "e.g. http://proxy.example.com:3128 or http://user:password@proxy.example.com:3128"
    parts = urlsplit(text)
    if "://" not in text or parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        raise PsevenConfigError(
            f"The connection's proxy {shown(text)!r} is not an http:// or https:// URL with a host; "
            f"write it with its scheme, {example}"
        )
    if not port_is_valid(parts):
        raise PsevenConfigError(f"The connection's proxy {shown(text)!r} has an invalid port; {example}")
    return text


def port_is_valid(parts: SplitResult) -> bool:
    """False for a URL whose port is not a number from 0 to 65535."""
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return False
    return True


def credentials(url: str | None) -> tuple[str, ...]:
    """The password of a proxy URL, as written and decoded, for log maskers."""
    if not url:
        return ()
    password = urlsplit(url if "://" in url else "http://" + url).password
    return tuple(dict.fromkeys(p for p in (password, unquote(password or "")) if p))


def proxy_for(url: str, configured: str | None) -> str | None:
    """The proxy a request to ``url`` goes through: the connection's, else the environment's
    (``NO_PROXY`` honoured), else None."""
    if configured:
        return configured
    proxies = urllib.request.getproxies()
    parts = urlsplit(url)
    if not proxies or urllib.request.proxy_bypass(parts.netloc):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def proxy_auth_required(proxy: str | None, status: str) -> PsevenProxyError:
    """A 407 is the proxy's refusal, not the pSeven server's: permanent, and it says what to set."""
    name = f"The proxy {shown(proxy)}" if proxy else "A proxy"
    return PsevenProxyError(
        f"{name} asks for credentials ({status}); the pSeven server was not reached. Put them in "
        "the connection's proxy (http://user:password@host:port) or in HTTPS_PROXY / HTTP_PROXY"
    )


#: requests says "Tunnel connection failed: 407 Proxy Authentication Required" inside its error's
#: text; httpx's ProxyError text is the status line alone.
_TUNNEL_STATUS = re.compile(r"(?:Tunnel connection failed: |^)(\d{3}(?: [^'\")]*)?)")


def tunnel_status(text: str) -> str | None:
    """The status line of a refused ``CONNECT`` in a library's error text, or None."""
    match = _TUNNEL_STATUS.search(text)
    return match.group(1).strip() if match else None


def via(proxy: str | None) -> str:
    """`` through the proxy ...`` for a message about a request that used one."""
    return f" through the proxy {shown(proxy)}" if proxy else ""
