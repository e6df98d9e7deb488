"""A real forward proxy for the tests: Debian's tinyproxy on loopback, started and stopped here.

It binds its outgoing connections (plain requests and ``CONNECT`` tunnels alike) to
``PROXY_PEER`` (127.0.0.2), the one peer an emulator with ``access="proxy_only"`` serves, so a
request that bypassed it is refused. ``scripts/install_proxy.sh`` installs tinyproxy (the Makefile's
test targets run it).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from airflow_provider_pseven.emulator.variants import PROXY_PEER

_CONFIG = """\
Port {port}
Listen 127.0.0.1
Bind {bind}
Timeout 600
MaxClients 512
LogLevel Warning
DisableViaHeader Yes
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ForwardProxy:
    """``with ForwardProxy(folder) as proxy: proxy.url`` (``http://[user:password@]127.0.0.1:port``).

    ``credentials=(user, password)`` makes it answer 407 to requests without them.
    """

    def __init__(self, folder: Path, *, credentials: tuple[str, str] | None = None) -> None:
        self.folder = folder
        self.credentials = credentials
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``http://127.0.0.1:port``: the proxy without its credentials."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        if self.credentials is None:
            return self.address
        user, password = self.credentials
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def start(self) -> ForwardProxy:
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        if not Path(binary).exists():
            raise RuntimeError("tinyproxy is missing: run scripts/install_proxy.sh (as root)")
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # a free port may be taken between the check and tinyproxy's bind
            self.port = _free_port()
            config = _CONFIG.format(port=self.port, bind=PROXY_PEER)
            if self.credentials is not None:
                config += "BasicAuth {} {}\n".format(*self.credentials)
            path = self.folder / f"tinyproxy-{self.port}.conf"
            path.write_text(config)
            log = (self.folder / f"tinyproxy-{self.port}.log").open("wb")
            self.process = subprocess.Popen([binary, "-d", "-c", str(path)], stdout=log, stderr=log)
            if self._accepting(deadline=time.monotonic() + 10):
                return self
            self.stop()
        raise RuntimeError(f"tinyproxy did not start; see {self.folder}")

    def _accepting(self, deadline: float) -> bool:
        assert self.process is not None
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
