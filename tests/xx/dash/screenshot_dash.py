"""Render `xx dash` against the recorded fixtures to SVG, for the README.

    /work/venv/bin/python tests/xx/dash/screenshot_dash.py [OUT.svg] [--size 120x36]

The fixtures are served unshifted by a real loopback admin server and the app's clock is
pinned to the recording's "now", so countdowns and uptime are the same on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))  # tests/, for support.servers
sys.path.insert(0, str(Path(__file__).parent))

from dash_admin_server import T0, AdminServer, load_fixtures, wait_until

from xx.dash import create_app


async def render(out: Path, size: tuple[int, int], cache_view: str = "total") -> Path:
    fixtures = load_fixtures()
    async with AdminServer(fixtures) as srv:
        app = create_app(srv.url, starter=None, poll_s=0.5, clock=lambda: T0 + 12)
        async with app.run_test(size=size) as pilot:
            await wait_until(
                pilot, lambda: app.state.conn == "up" and bool(app.requests_log.keys), what="data"
            )
            await wait_until(pilot, lambda: srv.subscribers == 1, what="events")
            for ev in fixtures["events"][1:]:
                srv.push(ev["event"], copy.deepcopy(ev["data"]))
            last = fixtures["events"][-1]["data"]["id"]
            await wait_until(pilot, lambda: app.requests_log.keys[:1] == [last], what="events applied")
            while app.cache_view != cache_view:
                await pilot.press("c")
            await pilot.pause(0.3)
            svg = app.export_screenshot(title="xx dash")
    out.parent.mkdir(parents=True, exist_ok=True)
    return svg_write(out, svg)


def svg_write(out: Path, svg: str) -> Path:
    out.write_text(svg)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out", nargs="?", default="/work/notes/dash.svg")
    p.add_argument("--size", default="120x36")
    p.add_argument("--cache", default="total", choices=("total", "agent", "model"))
    a = p.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    print(asyncio.run(render(Path(a.out), (w, h), a.cache)))


if __name__ == "__main__":
    main()
