"""Run-directory file operations: safe path resolution, listing, streamed upload copies."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .errors import bad_request

COPY_CHUNK = 1024 * 1024
NAME_MAX = 255  # bytes in one file name on the file systems a server stores runs on


def storable(text: str, what: str, room: int = 0) -> str:
    """``text`` if a file system can hold it as a path, else 400 naming the fault.

    A NUL, a lone surrogate (JSON allows ``"\\ud800"``) or a name over 255 bytes would make the
    operating system, not the request, fail: the client gets the guide's 400 for bad input
    (Error handling) instead of an internal error. ``room``: bytes the server adds to the name.
    """
    shown = repr(text[:60]) + ("..." if len(text) > 60 else "")
    if "\x00" in text:
        raise bad_request(f"{what} {shown} contains a NUL character, which no file name can hold.")
    try:
        parts = [part.encode("utf-8") for part in text.split("/")]
    except UnicodeEncodeError:
        raise bad_request(f"{what} {shown} is not valid Unicode (it holds a lone surrogate).") from None
    if any(len(part) > NAME_MAX - room for part in parts):
        raise bad_request(f"{what} {shown} has a name longer than {NAME_MAX - room} bytes.")
    return text


def resolve_inside(run_dir: Path, run_path: str, rel: str, what: str, base: Path | None = None) -> Path:
    """Resolve a relative path, or an absolute storage path, inside the run directory, else 400.

    ``run_path`` is the run's storage path (``/Users/1/...p7run``): absolute paths are accepted
    only under it, as the guide allows for the upload destination. Relative paths start at ``base``
    (default: the run directory).
    """
    storable(rel, what)
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


def make_dir(directory: Path, storage: Callable[[Path], str]) -> None:
    """``mkdir -p`` inside a run directory; a file where a folder must go is the client's 400.

    ``storage`` names a path as the client knows it (its storage path, never the disk path).
    """
    for path in (*reversed(directory.parents), directory):
        if path.exists() and not path.is_dir():
            raise bad_request(f"Cannot create directory {storage(directory)}: {storage(path)} is a file.")
    directory.mkdir(parents=True, exist_ok=True)


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
