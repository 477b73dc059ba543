"""`xx dash --screenshot`: the recorded scene renders the same picture every time, the same as a live
run against a real admin server serving that scene at the same size, and converts to PNG when it can."""

from __future__ import annotations

import copy
import html
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dash_admin_server import AdminServer, wait_until

from xx.dash import create_app, scene, screenshot

SIZE = (120, 36)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def texts(svg: str) -> list[str]:
    """The text runs of a Textual SVG, in order (what the screen says, without styling)."""
    return [html.unescape(t).replace("\xa0", " ") for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg)]


async def live_svg(size: tuple[int, int]) -> tuple[str, str]:
    """The app against a loopback admin server serving the scene unshifted, clock pinned like the screenshot."""
    data = scene.load()
    async with AdminServer(data) as srv:
        app = create_app(srv.url, starter=None, poll_s=0.3, clock=lambda: scene.T0 + 12)
        async with app.run_test(size=size) as pilot:
            await wait_until(pilot, lambda: app.state.conn == "up" and bool(app.requests_log.keys), what="data")
            await wait_until(pilot, lambda: srv.subscribers == 1, what="events")
            for ev in data["events"][1:]:
                srv.push(ev["event"], copy.deepcopy(ev["data"]))
            last = data["events"][-1]["data"]["id"]
            await wait_until(pilot, lambda: app.requests_log.keys[:1] == [last], what="events applied")
            await pilot.pause(0.3)
            return app.export_screenshot(title="xx dash"), srv.url


async def test_screenshot_is_deterministic_and_matches_a_live_run(utc: None) -> None:
    live, url = await live_svg(SIZE)
    shot = await screenshot.capture(SIZE, url=url)
    again = await screenshot.capture(SIZE, url=url)
    assert shot == again  # the same bytes on every run
    assert texts(shot) == texts(live)  # what a user sees at this size, line for line
    assert "✗ nothing served" in "".join(texts(shot))


def test_command_writes_svg_and_png(tmp_path: Path) -> None:
    out = tmp_path / "shot.svg"
    r = subprocess.run(
        [sys.executable, "-m", "xx", "dash", "--screenshot", str(out), "--size", "100x30"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    svg = out.read_text()
    assert svg.startswith("<svg") and "models out" in "".join(texts(svg))
    png = out.with_suffix(".png")
    if shutil.which("rsvg-convert") is None:
        try:
            import cairosvg  # type: ignore[import-untyped]  # noqa: F401
        except (ImportError, OSError):
            assert not png.exists() and "no PNG" in r.stdout
            pytest.skip("no SVG converter (rsvg-convert from librsvg2-bin, or cairosvg): PNG not checked")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "xx", "dash", "--screenshot", str(out), "--size", "big"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "WIDTHxHEIGHT" in bad.stderr


def test_raster_input_keeps_the_gaps() -> None:
    run = '<text class="r3" x="170.8" y="20" textLength="158.6" clip-path="u">&#160;&#160;0.4&#160;req/s&#160;&#160;</text>'
    fixed = screenshot.for_raster(run)
    assert 'x="195.2"' in fixed and 'textLength="134.2"' in fixed and ">0.4&#160;req/s" in fixed


def test_the_live_dashboard_without_a_terminal_says_so(tmp_path) -> None:
    r = subprocess.run([sys.executable, "-m", "xx", "dash"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=20, env={**__import__("os").environ, "HOME": str(tmp_path)})
    assert r.returncode == 2 and "needs a terminal" in r.stderr and "\x1b[" not in r.stdout, (r.returncode, r.stderr)
