"""`xx dash`: the live dashboard of requests, cache hits and model health.

Importing this package is cheap (no Textual): `main` and `create_app` import the app lazily,
so `xx --help` and the launcher never pay for the UI.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from xx.dash.app import DashApp


def create_app(
    url: str, *, client: httpx.AsyncClient | None = None, token: str | None = None, **options: Any
) -> DashApp:
    """The app factory shared by the CLI, the tests, the benchmark and the screenshot script.

    `options` pass through to `DashApp` (poll_s, backoff_base, backoff_cap, apply_hz,
    requests_limit, rows_shown, starter, clock).
    """
    from xx.dash.app import DashApp

    return DashApp(url, client=client, token=token, **options)


def default_starter() -> str:
    """Start (or find) the gateway the way the launcher does; returns its URL."""
    from gateway import config as gconfig
    from xx import supervisor  # lazy: written by the lead, heavy, only needed on `s`

    return str(supervisor.ensure_running(gconfig.load()))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xx dash", description="Live dashboard of requests, cache hits and model health."
    )
    p.add_argument("--url", help="gateway URL (default: from the config file)")
    p.add_argument("--token", help="admin token (default: the config's gateway token)")
    p.add_argument(
        "--poll", type=float, default=2.0, metavar="S", help="seconds between stats polls (default 2)"
    )
    p.add_argument(
        "--screenshot",
        metavar="PATH",
        help="render the recorded demo scene to PATH (.svg, plus .png when cairosvg or rsvg-convert is present) and exit",
    )
    p.add_argument("--size", default="120x36", metavar="WxH", help="terminal size for --screenshot (default 120x36)")
    return p


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.screenshot:
        from xx.dash import screenshot

        try:
            w, h = (int(x) for x in args.size.lower().split("x"))
        except ValueError:
            parser.error(f"--size {args.size!r}: expected WIDTHxHEIGHT, e.g. 120x36")
        return screenshot.main(args.screenshot, (w, h))
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("xx dash: needs a terminal (stdin and stdout are not one); `xx dash --screenshot FILE` renders one "
              "without, and `xx models` / `xx usage` report as text", file=sys.stderr)
        return 2
    url, token = args.url, args.token
    if url is None or token is None:
        from gateway import config as gconfig

        try:
            cfg = gconfig.load()
        except gconfig.ConfigError as e:
            if url is None:
                print(f"xx dash: {e}\n(pass --url to watch a gateway anyway)")
                return 2
        else:
            url = url or cfg.gateway.url
            token = token if token is not None else cfg.gateway.token
    app = create_app(url, token=token, poll_s=args.poll)
    return int(app.run() or 0)
