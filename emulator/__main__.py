"""``python -m emulator``: serve the Paperspace API v1 emulator until stopped."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from .app import build_app
from .settings import DEFAULT_API_KEY, DEFAULT_TEAM, Settings
from .store import Store


def _api_key(text: str) -> tuple[str, str]:
    key, sep, team = text.rpartition(":")
    if not sep or not key or not team:
        raise argparse.ArgumentTypeError("expected KEY:TEAM")
    return key, team


MAX_TIME_SCALE = 1000.0


def _time_scale(text: str) -> float:
    """A positive, finite factor (``nan`` would make every timestamp NaN, and every answer fail)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= MAX_TIME_SCALE:  # False for nan too
        raise argparse.ArgumentTypeError(f"must be greater than 0 and at most {MAX_TIME_SCALE:g}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument("--state", default=":memory:", help="SQLite file that keeps state across restarts")
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        type=_api_key,
        action="append",
        metavar="KEY:TEAM",
        help=f"accept KEY for TEAM (repeatable; default {DEFAULT_API_KEY}:{DEFAULT_TEAM})",
    )
    parser.add_argument("--time-scale", type=_time_scale, default=1.0, help="multiply every simulated duration")
    parser.add_argument("--rate-limit", type=int, default=None, metavar="N", help="N requests/second per key")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    keys = dict(args.api_keys) if args.api_keys else {DEFAULT_API_KEY: DEFAULT_TEAM}
    settings = Settings(api_keys=keys, time_scale=args.time_scale, rate_limit=args.rate_limit)
    store = Store(args.state)
    # Bind first so that the announced port is the real one, even with --port 0.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; without it keep-alive requests stall ~40 ms on delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((args.host, args.port))
    sock.listen(512)
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"listening on http://{shown_host}:{port}/v1", flush=True)
    config = uvicorn.Config(
        build_app(settings, store),
        http="h11",
        log_level=args.log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
