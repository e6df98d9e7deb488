"""Which run files the tab may name, and how each is served: inline only for images (SVG in a
sandbox, so no script in it runs), as plain text for CSV previews, else as an attachment."""

from __future__ import annotations

import posixpath
from urllib.parse import quote

from airflow_provider_pseven.client.ids import unsafe_reason

INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".csv": "text/plain; charset=utf-8",
}
#: Every file answer: no script runs in it, no type sniffing, and nothing can frame it but Airflow.
SAFE_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}


def checked_path(path: str) -> str:
    """``path`` relative to the run directory, each segment checked; ValueError says why not."""
    if not path or path.startswith("/"):
        raise ValueError("give a path relative to the run directory")
    for part in path.split("/"):
        reason = unsafe_reason(part)
        if reason is not None:
            raise ValueError(f"a part of the path cannot be used: {reason}")
    return path


def file_headers(path: str, inline: bool) -> tuple[str, dict[str, str]]:
    """The media type and headers of ``path`` as served (``inline`` only for known image / CSV types)."""
    name = posixpath.basename(path)
    kind = INLINE_TYPES.get(posixpath.splitext(name)[1].lower())
    disposition = "inline" if inline and kind else "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    headers = {
        **SAFE_HEADERS,
        "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
    }
    return (kind if disposition == "inline" and kind else "application/octet-stream"), headers
