"""Run-directory file operations: safe path resolution, listing, streamed upload copies."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any, BinaryIO

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .errors import bad_request

COPY_CHUNK = 1024 * 1024


def resolve_inside(run_dir: Path, run_path: str, rel: str, what: str, base: Path | None = None) -> Path:
    """Resolve a relative path, or an absolute storage path, inside the run directory, else 400.

    ``run_path`` is the run's storage path (``/Users/1/...p7run``): absolute paths are accepted
    only under it, as the guide allows for the upload destination. Relative paths start at ``base``
    (default: the run directory).
    """
    if rel.startswith("/"):
        prefix = run_path.rstrip("/")
        if rel != prefix and not rel.startswith(prefix + "/"):
            raise bad_request(f"{what} {rel!r} is outside the run directory {run_path}.")
        rel, base = rel[len(prefix) :].lstrip("/"), None
    root = run_dir.resolve()
    target = ((base or root) / rel).resolve()
    if target != root and root not in target.parents:
        raise bad_request(f"{what} {rel!r} is outside the run directory.")
    return target


def list_dir(directory: Path) -> list[dict[str, Any]]:
    """Entries as the guide's ``ls/``; a directory's size is its number of entries."""
    entries = []
    for child in sorted(directory.iterdir(), key=lambda p: p.name):
        st = child.stat()
        is_dir = child.is_dir()
        entries.append(
            {
                "name": child.name,
                "size": sum(1 for _ in child.iterdir()) if is_dir else st.st_size,
                "modified": dt.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="microseconds"),
                "is_dir": is_dir,
            }
        )
    return entries


def copy_stream(src: BinaryIO, dest: Path) -> None:
    """Copy an upload to disk in chunks (runs in a worker thread; never holds the file in memory)."""
    src.seek(0)
    tmp = dest.with_name(dest.name + ".uploading")
    with tmp.open("wb") as out:
        shutil.copyfileobj(src, out, COPY_CHUNK)
    tmp.replace(dest)


#: nginx's own page for a body over ``client_max_body_size``, as a reverse proxy in front of a
#: pSeven server answers an upload that is too large (variant ``upload_limit="html_413"``).
NGINX_413 = (
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


async def proxy_body_limit(request: Request, limit: int) -> Response | None:
    """A proxy's HTML 413 when the request body is over ``limit`` bytes, else None (nothing read).

    The body is read to its end and dropped first, so the client, still sending, gets the answer
    instead of a reset connection.
    """
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) <= limit:
        return None
    async for _ in request.stream():
        pass
    return HTMLResponse(NGINX_413, status_code=413)
