"""``pseven-emulator`` / ``python -m airflow_provider_pseven.emulator``: serve until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .guard import DEFAULT_MAX_BODY
from .records import DEFAULT_TOKEN, User

if TYPE_CHECKING:
    from .server import EmulatorServer
    from .variants import Variants

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _size(text: str) -> int:
    """``500M``, ``4G``, ``1048576``: bytes (binary units)."""
    number, unit = text.strip().upper().rstrip("BI"), ""
    if number and number[-1] in _UNITS:
        number, unit = number[:-1], number[-1]
    try:
        value = int(float(number) * _UNITS[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 500M, 4G)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"the size must be positive, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pseven-emulator", description="A pSeven Enterprise REST API v2 emulator."
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); any other address exposes the emulator to the "
        "network, so the default token and password are replaced by random ones (or give --token)",
    )
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    p.add_argument("--base-path", default=".rest", choices=(".rest", "@rest"), help="API base path spelling")
    p.add_argument("--token", default=DEFAULT_TOKEN, help="API token of the default user")
    p.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="the URL clients use when it names another host than --host (a reverse proxy, a "
        "container port map): requests for any other Host are refused (no DNS rebinding)",
    )
    p.add_argument(
        "--max-upload-size",
        type=_size,
        default=DEFAULT_MAX_BODY,
        metavar="SIZE",
        help="largest request body accepted, e.g. 500M or 4G (default 2G); larger ones get 413",
    )
    p.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="EMAIL:PASSWORD:TOKEN[:ID]",
        help="an extra user (repeatable)",
    )
    p.add_argument("--data-dir", default=None, help="where run directories live (default: a temp dir)")
    p.add_argument("--time-scale", type=float, default=1.0, help="multiply every delay by this (default 1)")
    p.add_argument("--results-lag", type=float, default=None, help="seconds results lag FINISHED (default 0)")
    p.add_argument(
        "--init-delay", type=float, default=None, help="seconds in QUEUED_TO_INITIALIZE (default 1, scaled)"
    )
    p.add_argument(
        "--start-delay", type=float, default=None, help="seconds in QUEUED_TO_RUN (default 1, scaled)"
    )
    p.add_argument(
        "--variants",
        default="guide",
        metavar="SPEC",
        help="answers to the points the guide leaves open: a preset (guide, strictest, lenient) "
        "and/or key=value items, comma-separated, e.g. 'guide,wrong_state_status=409' (default guide)",
    )
    p.add_argument(
        "--workflows",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE and call its register(server) to add workflows (repeatable)",
    )
    p.add_argument(
        "--faults", default=None, metavar="JSON", help="initial faults, e.g. '{\"error_503_fraction\": 0.1}'"
    )
    return p


def _user(spec: str) -> User:
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise SystemExit(f"--user wants EMAIL:PASSWORD:TOKEN[:ID], got {spec!r}")
    return User(parts[0], parts[1], parts[2], int(parts[3]) if len(parts) == 4 else 1)


def _server(args: argparse.Namespace, variants: Variants) -> EmulatorServer:
    from .server import EmulatorServer

    server = EmulatorServer(
        host=args.host,
        port=args.port,
        base_path=args.base_path,
        token=args.token,
        data_dir=args.data_dir,
        time_scale=args.time_scale,
        results_lag=args.results_lag,
        init_delay=args.init_delay,
        start_delay=args.start_delay,
        variants=variants,
        public_url=args.public_url,
        max_upload_bytes=args.max_upload_size,
    )
    for spec in args.user:
        server.add_user(_user(spec))
    for module_name in args.workflows:
        module = importlib.import_module(module_name)
        module.register(server)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .variants import Variants

    try:
        variants = Variants.parse(args.variants)
    except ValueError as exc:
        parser.error(f"--variants: {exc}")
    try:
        server = _server(args, variants)
    except ValueError as exc:
        parser.error(str(exc))
    if args.faults:
        server.faults.set(**json.loads(args.faults))
    print(f"pSeven Enterprise emulator ({args.base_path})")
    print(f"Sign-in URL: {server.url}")
    print(f"Workflow API: {server.api_url}")
    print(f"AppsHub API: {server.appshub_url}")
    print(f"Token: {server.token}")
    if server.exposed:
        print(f"Login: {next(iter(server.world.users.values())).username} / {server.password}")
        print(
            f"WARNING: bound to {args.host}, the emulator is reachable from the network. "
            "Use --host 127.0.0.1 unless other machines must reach it.",
            file=sys.stderr,
        )
    print(f"Variants: {variants.spec()} {json.dumps(variants.as_dict())}")
    print(f"Data dir: {server.data_dir}")
    print(f"Airflow connection: {server.connection_json()}")
    print("Ready. Press Ctrl+C to stop.", flush=True)
    sys.stdout.flush()
    server.serve_forever()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
