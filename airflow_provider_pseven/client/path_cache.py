"""Remembers which REST API base path (``@rest`` or ``.rest``) a server uses, across clients and processes.

Detecting the base path costs two requests (a probe, then a full ``workflows/`` list). Airflow runs
every task, and every resume after a deferral, in a new process with a new client, so without a
memory each of them paid those two requests again. An :class:`ApiPathCache` keeps the answer in
this process and in one small JSON file per server and connection, for ``ttl`` seconds.

What a file holds: the sign-in URL without any user info, the connection id, the base path and when
it was detected. Never a token or a password. Files live in a directory only this user may write
(by default ``{tempfile.gettempdir()}/airflow-provider-pseven-{uid}/``, created 0700), are written
atomically (a temporary file, then ``os.replace``) and are only ever trusted to say ``.rest`` or
``@rest``: an unreadable, corrupt or foreign file is ignored (logged at debug) and the path is
detected again. A cached path the server then denies is evicted by the client (see
``ClientCore.checked``).

The environment configures the process-wide cache (:func:`default_cache`):

- ``PSEVEN_API_PATH_CACHE``: ``on`` (default), or ``off`` (no memory at all: every client detects
  the path itself, as before the cache existed);
- ``PSEVEN_API_PATH_CACHE_TTL``: seconds an answer is reused (default 3600; 0 turns reuse off);
- ``PSEVEN_API_PATH_CACHE_DIR``: the directory of the files (default above).

This module does no HTTP and knows nothing of Airflow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from airflow_provider_pseven.client.config import API_PATHS

log = logging.getLogger(__name__)

DEFAULT_TTL = 3600.0
"""Seconds a detected path is reused. A wrong one heals itself (evicted on the first denial), so
the TTL only bounds how long a server that answers at both spellings keeps its old one."""

_FORMAT = 1
_OFF = {"0", "off", "false", "no", "disabled", "none"}
#: Clock skew tolerated between processes writing and reading a file.
_SKEW = 60.0


def default_directory() -> Path:
    """``{tempdir}/airflow-provider-pseven-{uid}``: per user, so no other user can plant an answer."""
    owner = str(os.getuid()) if hasattr(os, "getuid") else _user_name()
    return Path(tempfile.gettempdir()) / f"airflow-provider-pseven-{owner}"


def _user_name() -> str:  # pragma: no cover - platforms without os.getuid (Windows)
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "user"


def cache_key(sign_in_url: str, connection_id: str) -> str:
    """The identity of a cache entry: the sign-in URL's scheme, host, port and path (never its user
    info) and the connection's id (a name, not a secret)."""
    parts = urlsplit(sign_in_url)
    netloc = (parts.hostname or "").lower()
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')} {connection_id}"


class ApiPathCache:
    """Base paths by (sign-in URL, connection id): in memory, and in files when ``directory`` is set.

    :param directory: where the files go; ``None`` keeps answers in this process only.
    :param ttl: seconds an answer is reused; 0 or less reuses nothing.
    :param clock: wall-clock seconds (files are shared between processes, so not ``monotonic``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.ttl = ttl
        self._clock = clock
        self._memory: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._directory_ok: bool | None = None

    def __repr__(self) -> str:
        return f"ApiPathCache(directory={str(self.directory)!r}, ttl={self.ttl:g})"

    # --- the three operations -------------------------------------------------------------------

    def get(self, sign_in_url: str, connection_id: str = "") -> str | None:
        """The remembered base path, or ``None`` when there is none that is still fresh."""
        if self.ttl <= 0:
            return None
        key = cache_key(sign_in_url, connection_id)
        with self._lock:
            remembered = self._memory.get(key)
        if remembered is not None and self._fresh(remembered[1]):
            return remembered[0]
        found = self._read(key)
        if found is not None:
            with self._lock:
                self._memory[key] = found
            return found[0]
        return None

    def put(self, sign_in_url: str, connection_id: str, api_path: str) -> None:
        """Remember a base path just detected (in memory, and in the file when there is a directory)."""
        if api_path not in API_PATHS:
            raise ValueError(f"api_path must be one of {API_PATHS}, not {api_path!r}")
        key = cache_key(sign_in_url, connection_id)
        now = self._clock()
        with self._lock:
            self._memory[key] = (api_path, now)
        self._write(key, api_path, now)

    def evict(self, sign_in_url: str, connection_id: str = "") -> None:
        """Forget a base path the server has just denied."""
        key = cache_key(sign_in_url, connection_id)
        with self._lock:
            self._memory.pop(key, None)
        target = self._file(key)
        if target is not None:
            with contextlib.suppress(FileNotFoundError):
                try:
                    target.unlink()
                except OSError as error:
                    log.debug("Could not remove the API path cache file %s: %s", target, error)

    # --- files ----------------------------------------------------------------------------------

    def _fresh(self, detected_at: float) -> bool:
        age = self._clock() - detected_at
        return -_SKEW < age < self.ttl

    def _file(self, key: str) -> Path | None:
        if self.directory is None:
            return None
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.directory / f"{name}.json"

    def _usable_directory(self) -> bool:
        """Create the directory (0700) if needed; use it only if this user owns it and no one else may
        write to it. Checked once per cache."""
        if self._directory_ok is not None:
            return self._directory_ok
        assert self.directory is not None
        ok = False
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.directory)
            if not stat.S_ISDIR(info.st_mode):
                log.debug("API path cache disabled: %s is not a directory", self.directory)
            elif hasattr(os, "getuid") and info.st_uid != os.getuid():
                log.debug("API path cache disabled: %s belongs to another user", self.directory)
            elif info.st_mode & 0o022:
                log.debug("API path cache disabled: others may write to %s", self.directory)
            else:
                ok = True
        except OSError as error:
            log.debug("API path cache disabled: cannot use %s: %s", self.directory, error)
        self._directory_ok = ok
        return ok

    def _read(self, key: str) -> tuple[str, float] | None:
        target = self._file(key)
        if target is None or not self._usable_directory():
            return None
        try:
            data = json.loads(target.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.debug("Ignoring the unreadable API path cache file %s: %s", target, error)
            return None
        try:
            api_path, detected_at = data["api_path"], float(data["detected_at"])
            valid = data.get("format") == _FORMAT and data.get("key") == key and api_path in API_PATHS
        except (TypeError, KeyError, ValueError):
            valid = False
        if not valid:
            log.debug("Ignoring the API path cache file %s: not an entry for %s", target, key)
            return None
        if not self._fresh(detected_at):
            return None
        return api_path, detected_at

    def _write(self, key: str, api_path: str, detected_at: float) -> None:
        target = self._file(key)
        if target is None or not self._usable_directory():
            return
        entry = {"format": _FORMAT, "key": key, "api_path": api_path, "detected_at": detected_at}
        temporary = None
        try:
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".api-path-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(entry, stream)
            os.replace(temporary, target)
        except OSError as error:
            log.debug("Could not write the API path cache file %s: %s", target, error)
            self._directory_ok = None  # removed meanwhile (a temp cleaner)? check it again next time
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


_default: tuple[tuple[str, str, str], ApiPathCache | None] | None = None
_default_lock = threading.Lock()


def default_cache() -> ApiPathCache | None:
    """The process-wide cache as the environment configures it; ``None`` when it is turned off.

    The same object while the three environment variables keep their values, so its memory lasts.
    """
    global _default  # noqa: PLW0603 - one cache per process is the point
    settings = (
        os.environ.get("PSEVEN_API_PATH_CACHE", "on").strip().lower(),
        os.environ.get("PSEVEN_API_PATH_CACHE_TTL", "").strip(),
        os.environ.get("PSEVEN_API_PATH_CACHE_DIR", "").strip(),
    )
    with _default_lock:
        if _default is None or _default[0] != settings:
            _default = (settings, _from_settings(*settings))
        return _default[1]


def _from_settings(switch: str, ttl_text: str, directory: str) -> ApiPathCache | None:
    if switch in _OFF:
        return None
    ttl = DEFAULT_TTL
    if ttl_text:
        try:
            ttl = float(ttl_text)
        except ValueError:
            log.debug("PSEVEN_API_PATH_CACHE_TTL=%r is not a number of seconds; using %g", ttl_text, ttl)
    return ApiPathCache(directory or default_directory(), ttl=ttl)
