"""Download and upload throughput and peak memory of our client, against curl on the same URLs.

Starts the emulator CLI as a subprocess on 127.0.0.1 with its data directory in a temporary folder,
deploys one run, writes the test files (real bytes: a 4 MiB random block repeated) and hard-links
them into the run directory as download sources. Then, for each size and repetition, in turn
(interleaved, in an order that changes every repetition, ``os.sync()`` before each):

- our sync client (``PsevenClient.download`` into a ``FileSink``, ``PsevenClient.upload``) and our
  async client (``AsyncPsevenClient.download``), each in a fresh child Python process that reports
  the transfer's wall time and its own peak RSS (``VmHWM``, which starts afresh at ``exec``);
- ``curl`` (``-o FILE`` on the same disk for downloads, ``-F file=@...`` for uploads), timed by its
  own ``time_total``.

Memory is compared with an idle child that imported the client and built a ``PsevenClient`` (ready
to transfer, nothing sent). Everything lives in one temporary folder, removed at the end, and the
emulator is stopped, even on failure or Ctrl+C.

    .venv/bin/python benchmarks/transfers.py --sizes 64M,1G --repeat 6
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_pseven.emulator import EmulatorProcess  # noqa: E402

TOY_ID = "130d943e100e46e0b5da490ac005b70e"
CURL = "/usr/bin/curl"
MIB = 1024 * 1024
BLOCK = 4 * MIB
TIMEOUT = 600.0  # one transfer, seconds

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    rate: float  # MiB/s
    rss: float | None  # peak RSS of our child, MiB (None for curl)
    cpu: float  # CPU s per GiB of the client process (ours, or curl)
    server_cpu: float  # CPU s per GiB of the emulator process during the transfer


#: transfer name -> size -> samples
Samples = dict[str, dict[int, list[Sample]]]


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


# The child: a fresh interpreter that imports only the client, then does one transfer.
CHILD = r"""
import asyncio, json, resource, sys, time
from airflow_provider_pseven.client import (
    AsyncPsevenClient, ClientConfig, FileSink, PsevenClient, RunRef,
)

def hwm_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

args = json.loads(sys.argv[1])
config = ClientConfig(args["host"], token=args["token"], api_path=".rest")
ref = RunRef.workflow(args["workflow_id"], args["run_id"])
mode = args["mode"]
result = {}
if mode == "idle":
    PsevenClient(config).close()
elif mode == "download-sync":
    with PsevenClient(config) as client:
        sink = FileSink(args["dest"], overwrite=True)
        c0, t0 = cpu(), time.perf_counter()
        client.download(ref, args["file"], sink)
        result["seconds"], result["cpu"] = time.perf_counter() - t0, cpu() - c0
        result["bytes"] = sink.bytes_written
elif mode == "download-async":
    async def main():
        async with AsyncPsevenClient(config) as client:
            sink = FileSink(args["dest"], overwrite=True)
            c0, t0 = cpu(), time.perf_counter()
            await client.download(ref, args["file"], sink)
            result["seconds"], result["cpu"] = time.perf_counter() - t0, cpu() - c0
            result["bytes"] = sink.bytes_written
    asyncio.run(main())
elif mode == "upload-sync":
    with PsevenClient(config) as client:
        c0, t0 = cpu(), time.perf_counter()
        answer = client.upload(ref, [(args["source"], args["file"])])
        result["seconds"], result["cpu"] = time.perf_counter() - t0, cpu() - c0
        result["bytes"] = args["size"] if answer.files else 0
result["hwm_kib"] = hwm_kib()
print(json.dumps(result))
"""


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def label(size: int) -> str:
    return f"{size // (1024 * MIB)} GiB" if size % (1024 * MIB) == 0 else f"{size // MIB} MiB"


def write_file(path: Path, size: int) -> None:
    """Real bytes (no holes): one random block written over and over."""
    block = os.urandom(BLOCK)
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(block[: min(left, BLOCK)])
            left -= BLOCK


def run_child(payload: dict[str, object]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"client child failed ({payload['mode']}):\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_curl(args: list[str]) -> dict[str, float]:
    cpu0 = children_cpu()
    out = subprocess.run(
        [
            CURL,
            "-sS",
            "--noproxy",
            "*",
            "-w",
            "%{time_total} %{http_code} %{size_download} %{size_upload}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    fields = out.stdout.split()[-4:]
    if out.returncode != 0 or len(fields) != 4 or not fields[1].startswith("2"):
        raise RuntimeError(f"curl failed (exit {out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    return {
        "seconds": float(fields[0]),
        "down": float(fields[2]),
        "up": float(fields[3]),
        "cpu": children_cpu() - cpu0,
    }


def deploy_run(api: str, token: str) -> dict[str, str]:
    request = urllib.request.Request(
        f"{api}workflows/{TOY_ID}/runs/",
        data=json.dumps({"name": f"transfers {os.getpid()}"}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        run: dict[str, str] = json.load(answer)
    return run


class DiscardServer:
    """Takes uploads and throws the bytes away, answering as the emulator does: a server that is
    never the bottleneck, so the clients' own upload speed shows (the emulator spends 2-5 CPU s
    per uploaded GiB, and its cost swings with the machine's writeback)."""

    ANSWER = json.dumps({"uploaded_files": ["up.bin"], "uploaded_directories": []}).encode()

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        buffer = memoryview(bytearray(MIB))
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return  # closed
            with connection:
                self._one(connection, buffer)

    def _one(self, connection: socket.socket, buffer: memoryview) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = connection.recv(65536)
            if not chunk:
                return
            head += chunk
        header, _, rest = head.partition(b"\r\n\r\n")
        match = re.search(rb"(?im)^content-length:\s*(\d+)", header)
        if match is None:
            connection.sendall(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n\r\n")
            return
        left = int(match.group(1)) - len(rest)
        while left > 0:
            received = connection.recv_into(buffer[: min(left, len(buffer))])
            if received == 0:
                return
            left -= received
        connection.sendall(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(self.ANSWER)}\r\n\r\n".encode()
            + self.ANSWER
        )

    def close(self) -> None:
        self.sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="64M,1G", help="comma-separated sizes (e.g. 64M,1G; max 4G each)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=6,
        help="repetitions per size and client (1-20; multiples of 6 are fairest)",
    )
    parser.add_argument("--no-async", action="store_true", help="skip the async client's downloads")
    parser.add_argument("--no-upload", action="store_true", help="downloads only")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or any(s <= 0 or s > 4096 * MIB for s in sizes):
        parser.error("sizes must be between 1 byte and 4 GiB")
    args.repeat = max(1, min(args.repeat, 20))
    if not os.access(CURL, os.X_OK):
        parser.error(f"{CURL} is needed for the comparison")

    work = Path(tempfile.mkdtemp(prefix="pseven-bench-transfers-"))
    # uploads of up to 4 GiB, over the emulator's default body limit (2 GiB)
    emulator = EmulatorProcess("--data-dir", str(work / "data"), "--max-upload-size", str(max(sizes) + MIB))
    discard = DiscardServer()
    # name -> size -> list of (MiB/s, peak RSS MiB or None)
    samples: Samples = {}
    idle_mib: list[float] = []
    try:
        emulator.start()
        api = f"{emulator.url}/pseven/.rest/v2/"
        run = deploy_run(api, emulator.token)
        run_dir = work / "data" / run["path"].lstrip("/")
        base = {"host": emulator.url, "token": emulator.token, "workflow_id": TOY_ID, "run_id": run["id"]}
        runs_url = f"{api}workflows/{TOY_ID}/runs/{run['id']}/"
        discard_url = f"{discard.url}/pseven/.rest/v2/workflows/{TOY_ID}/runs/{run['id']}/upload/"
        auth = ["-H", f"Authorization: Token {emulator.token}"]
        (work / "files").mkdir()
        (work / "out").mkdir()

        server_cpu_at = [0.0]  # the emulator's CPU seconds when the current step began

        def record(name: str, size: int, result: dict[str, float]) -> None:
            per_gib = 1024 * MIB / size
            sample = Sample(
                rate=size / MIB / result["seconds"],
                rss=result["hwm_kib"] / 1024 if "hwm_kib" in result else None,
                cpu=result["cpu"] * per_gib,
                server_cpu=(proc_cpu_seconds(emulator.pid) - server_cpu_at[0]) * per_gib,
            )
            samples.setdefault(name, {}).setdefault(size, []).append(sample)

        for size in sizes:
            source = work / "files" / f"data-{size}.bin"
            write_file(source, size)
            os.link(source, run_dir / f"src-{size}.bin")  # the download source, no second copy
            dest = work / "out" / "download.bin"
            downloads: list[Callable[[], None]] = []
            uploads: list[Callable[[], None]] = []

            def ours(
                mode: str,
                name: str,
                host: str = emulator.url,
                size: int = size,
                source: Path = source,
                dest: Path = dest,
            ) -> None:
                payload = {**base, "mode": mode, "size": size, "dest": str(dest), "source": str(source)}
                payload["host"] = host
                payload["file"] = f"src-{size}.bin" if mode.startswith("download") else f"up-{size}.bin"
                result = run_child(payload)
                if result["bytes"] != size:
                    raise RuntimeError(f"{name}: moved {result['bytes']} bytes, expected {size}")
                record(name, size, result)
                dest.unlink(missing_ok=True)
                (run_dir / f"up-{size}.bin").unlink(missing_ok=True)

            def curl_down(size: int = size, dest: Path = dest) -> None:
                result = run_curl([*auth, "-o", str(dest), f"{runs_url}download/?file=src-{size}.bin"])
                if result["down"] != size:
                    raise RuntimeError(f"curl download: {result['down']} bytes, expected {size}")
                record("curl download", size, result)
                dest.unlink(missing_ok=True)

            def curl_up(
                name: str = "curl upload",
                url: str = f"{runs_url}upload/",
                size: int = size,
                source: Path = source,
                measured: bool = True,
            ) -> None:
                # "Expect:" turns off curl's 100-continue wait, so the body goes at once, as ours does.
                result = run_curl(
                    [
                        *auth,
                        "-H",
                        "Expect:",
                        "-o",
                        "/dev/null",
                        "-F",
                        f"file=@{source};filename=up-{size}.bin",
                        url,
                    ]
                )
                if result["up"] < size:
                    raise RuntimeError(f"curl upload: {result['up']} bytes sent, expected {size}+")
                if measured:
                    record(name, size, result)
                (run_dir / f"up-{size}.bin").unlink(missing_ok=True)

            downloads.append(lambda: ours("download-sync", "sync download"))
            downloads.append(curl_down)
            if not args.no_async:
                downloads.append(lambda: ours("download-async", "async download"))
            if not args.no_upload:
                uploads.append(lambda: ours("upload-sync", "sync upload"))
                uploads.append(curl_up)
                # The same uploads to a server that only counts the bytes: the clients' own speed.
                uploads.append(lambda: ours("upload-sync", "sync upload, discarding server", discard.url))
                uploads.append(lambda: curl_up("curl upload, discarding server", discard_url))
            for rep in range(args.repeat):
                # Interleaved, so background load hits every client alike, in an order that changes
                # every repetition (downloads rotated, uploads swapped): the emulator serves a transfer
                # faster right after one of the same kind (an upload right after a download cost it up
                # to twice the CPU), so a fixed order would favour whoever goes second. With a multiple
                # of 6 repetitions every client is first equally often. os.sync() first, so the dirty
                # pages an earlier step left (an upload is written twice on the server) are not flushed
                # during this one. An unmeasured upload goes before the measured ones: the first upload
                # after downloads cost the emulator up to 5 CPU s/GiB against 3 for the next, whoever sent
                # it, which made every pair of samples lopsided one way or the other.
                turn = rep % len(downloads)
                warm_up = [lambda: curl_up(measured=False)] if uploads else []
                swapped = uploads if rep % 2 == 0 else uploads[::-1]
                order = downloads[turn:] + downloads[:turn] + warm_up + swapped
                for step in order:
                    os.sync()
                    server_cpu_at[0] = proc_cpu_seconds(emulator.pid)
                    step()
            (run_dir / f"src-{size}.bin").unlink()
            (run_dir / f"up-{size}.bin").unlink(missing_ok=True)
            source.unlink()

        for _ in range(args.repeat):
            idle_mib.append(run_child({**base, "mode": "idle"})["hwm_kib"] / 1024)
    finally:
        emulator.stop()
        discard.close()
        shutil.rmtree(work, ignore_errors=True)

    report(args, sizes, samples, idle_mib)
    return 0


def report(args: argparse.Namespace, sizes: list[int], samples: Samples, idle_mib: list[float]) -> None:
    idle = statistics.median(idle_mib)
    load = os.getloadavg()
    command = " ".join(["python", "benchmarks/transfers.py", *sys.argv[1:]])
    print(
        f"\nCommand: `{command}` (emulator subprocess on 127.0.0.1, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.repeat} repetitions, "
        f"interleaved; idle client process peak RSS {idle:.1f} MiB)\n"
    )
    print(
        "| transfer | size | median MiB/s | best MiB/s | vs curl (paired) | vs curl (medians) "
        "| vs curl (best) | client CPU s/GiB | emulator CPU s/GiB | peak RSS MiB | above idle MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [
        ("sync download", "curl download"),
        ("async download", "curl download"),
        ("curl download", None),
        ("sync upload", "curl upload"),
        ("curl upload", None),
        ("sync upload, discarding server", "curl upload, discarding server"),
        ("curl upload, discarding server", None),
    ]
    verdicts = []
    for name, reference in rows:
        for size in sizes:
            runs = samples.get(name, {}).get(size)
            if not runs:
                continue
            rates = [s.rate for s in runs]
            median, best = statistics.median(rates), max(rates)
            cpu = statistics.median(s.cpu for s in runs)
            server_cpu = statistics.median(s.server_cpu for s in runs)
            ratio_paired = ratio_median = ratio_best = "-"
            if reference and samples.get(reference, {}).get(size):
                ref_rates = [s.rate for s in samples[reference][size]]
                # Paired: each repetition's sample against curl's of the same repetition (minutes
                # apart at most), so a load swing between repetitions cancels out.
                paired = statistics.median(a / b for a, b in zip(rates, ref_rates, strict=False))
                ratio = median / statistics.median(ref_rates)
                ratio_paired, ratio_median = f"{paired:.2f}x", f"{ratio:.2f}x"
                ratio_best = f"{best / max(ref_rates):.2f}x"
                verdicts.append(
                    f"{name} {label(size)}: {ratio_paired} of curl paired by repetition, {ratio_median} "
                    f"of its median, {ratio_best} of its best "
                    f"({'met' if min(paired, ratio) >= 0.9 else 'MISSED'}: both >= 0.9x)"
                )
            peaks = [s.rss for s in runs if s.rss is not None]
            peak = f"{max(peaks):.1f}" if peaks else "-"
            above = f"{max(peaks) - idle:.1f}" if peaks else "-"
            print(
                f"| {name} | {label(size)} | {median:.0f} | {best:.0f} | {ratio_paired} | {ratio_median} "
                f"| {ratio_best} "
                f"| {cpu:.2f} | {server_cpu:.2f} | {peak} | {above} |"
            )
    for name in ("sync download", "async download", "sync upload", "sync upload, discarding server"):
        peak_by_size = {
            size: max(s.rss for s in runs if s.rss is not None)
            for size, runs in samples.get(name, {}).items()
        }
        if peak_by_size:
            spread = max(peak_by_size.values()) - min(peak_by_size.values())
            top = max(peak_by_size.values()) - idle
            verdicts.append(
                f"{name} peak RSS: {spread:.1f} MiB apart across sizes "
                f"(<= 16: {'met' if spread <= 16 else 'MISSED'}), {top:.1f} MiB above idle "
                f"(< 50: {'met' if top < 50 else 'MISSED'})"
            )
    print(
        "\nTargets: throughput >= 0.9x curl; peak RSS equal across sizes (within 16 MiB) "
        "and < 50 MiB above idle."
    )
    for verdict in verdicts:
        print(f"- {verdict}")
    print("\nEvery sample in run order, MiB/s (emulator CPU s/GiB):")
    for name, _ in rows:
        for size in sizes:
            if samples.get(name, {}).get(size):
                text = " ".join(f"{s.rate:.0f} ({s.server_cpu:.1f})" for s in samples[name][size])
                print(f"- {name} {label(size)}: {text}")


if __name__ == "__main__":
    sys.exit(main())
