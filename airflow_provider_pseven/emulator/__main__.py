"""``pseven-emulator`` / ``python -m airflow_provider_pseven.emulator``: serve until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from .records import DEFAULT_TOKEN, User


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pseven-emulator", description="A pSeven Enterprise REST API v2 emulator."
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    p.add_argument("--base-path", default=".rest", choices=(".rest", "@rest"), help="API base path spelling")
    p.add_argument("--token", default=DEFAULT_TOKEN, help="API token of the default user")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .server import EmulatorServer
    from .variants import Variants

    try:
        variants = Variants.parse(args.variants)
    except ValueError as exc:
        parser.error(f"--variants: {exc}")
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
    )
    for spec in args.user:
        server.add_user(_user(spec))
    for module_name in args.workflows:
        module = importlib.import_module(module_name)
        module.register(server)
    if args.faults:
        server.faults.set(**json.loads(args.faults))
    print(f"pSeven Enterprise emulator ({args.base_path})")
    print(f"Sign-in URL: {server.url}")
    print(f"Workflow API: {server.api_url}")
    print(f"AppsHub API: {server.appshub_url}")
    print(f"Token: {server.token}")
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
