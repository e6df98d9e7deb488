"""An S3-compatible object store on loopback for the tests: moto's server in its own process.

Reached the way a deployment reaches S3: an Airflow ``aws`` connection whose ``endpoint_url`` is this
server, through the amazon provider's s3fs filesystem (``ObjectStoragePath("s3://conn@bucket/key")``).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: moto accepts any keys; these are not secrets of anything.
ACCESS_KEY, SECRET_KEY, REGION = "pseven-tests", "pseven-tests-key", "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3Store:
    """``with S3Store(log_dir) as store:`` a moto server on 127.0.0.1, stopped (with its data) on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "moto.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> S3Store:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log_path.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("moto server did not listen within 60 s")

    def __exit__(self, *exc: Any) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def connection_json(self) -> str:
        """An Airflow ``aws`` connection (``AIRFLOW_CONN_<ID>``) to this server."""
        extra = {"endpoint_url": self.url, "region_name": REGION}
        return json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY, "extra": extra})

    def client(self) -> Any:
        """A boto3 S3 client on this server, for a test's own set-up and checks."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def put(self, bucket: str, objects: dict[str, bytes]) -> None:
        """Create ``bucket`` (if needed) holding ``objects`` ``{key: bytes}``."""
        s3 = self.client()
        if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
            s3.create_bucket(Bucket=bucket)
        for key, data in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=data)

    def read(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix``: ``{key: bytes}``."""
        s3 = self.client()
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
