"""What a new user found in `xx dash` on first look: each fixed, each checked on a running app (Pilot).

A demo's gateway on its own port, models hidden below an 80×24 table, scrollbar glyphs read as
stray characters, a sparkline labelled with more time than the gateway had been up, and a
request log out of finish order.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from dash_admin_server import AdminServer, load_fixtures, wait_until
from dash_pilot import FAST, connected, make_app, replay
from support.servers import free_port

from xx.dash import create_app, fmt, scene, screenshot
from xx.dash.render_cache import spark_span
from xx.dash.render_models import STATES

PARTIAL_BLOCKS = set("▁▂▃▄▅▆▇")


def screen_lines(app: Any) -> list[str]:
    upd = app.screen._compositor.render_full_update(simplify=True)
    return [strips[0].text for strips in upd.strips]


def with_models(data: dict[str, Any], total: int) -> dict[str, Any]:
    """The scene with healthy models added until there are `total` (troubled ones stay as recorded)."""
    data = copy.deepcopy(data)
    rows = data["models"]["models"]
    healthy = next(r for r in rows if r.get("state") == "healthy")
    for i in range(total - len(rows)):
        rows.append(dict(copy.deepcopy(healthy), name=f"aa-extra-{i:02d}"))  # sorts before the scene's names
    return data


def demo_record(state_dir: Path, url: str, pid: int) -> None:
    (state_dir / "demo").mkdir(parents=True, exist_ok=True)
    (state_dir / "demo" / "demo.json").write_text(json.dumps({"demo": pid, "gateway": pid, "url": url}))


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited (a stale demo record names one)."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(gone.stdout)


async def test_down_banner_points_at_the_running_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dead_pid: int
) -> None:
    monkeypatch.setenv("XX_STATE_DIR", str(tmp_path))
    async with AdminServer(load_fixtures(time.time())) as demo:  # the demo's gateway, on its own port
        demo_record(tmp_path, demo.url, os.getpid())
        app = create_app(f"http://127.0.0.1:{free_port()}", **(FAST | {"starter": lambda: "unused"}))
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: app.banner.shown, what="down banner")
            text = str(app.banner.render())
            assert f"the demo's gateway runs on {demo.url} — xx dash --url {demo.url}" in text
            assert "press s to start it" in text
    demo_record(tmp_path, "http://127.0.0.1:8092", dead_pid)  # a stale record: its process is gone
    app = create_app(f"http://127.0.0.1:{free_port()}", **FAST)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.banner.shown, what="down banner")
        assert "demo" not in str(app.banner.render())


async def test_80x24_says_how_many_models_are_hidden_trouble_first(fixtures: dict) -> None:
    async with AdminServer(with_models(fixtures, 16)) as srv:
        app = make_app(srv)
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(pilot, app, srv)
            table = app.models_table
            await wait_until(pilot, lambda: bool(table.hint), what="hint")
            await pilot.pause(0.1)
            shown = table.scrollable_content_region.height - 1
            assert 0 < shown < 16
            assert table.hint == f"+{16 - shown} more ↓"
            assert any(table.hint in line for line in screen_lines(app))
            troubled = [k for k, r in app.state.models.items() if STATES[r["state"]][0] <= 4]
            assert table.keys[: len(troubled)] == sorted(troubled, key=table.keys.index)
            assert set(table.keys[: len(troubled)]) == set(troubled)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_no_stray_block_glyphs(fixtures: dict, size: tuple[int, int]) -> None:
    """The only partial blocks on screen are the cache sparkline's (a scrollbar thumb's edge drew the others)."""
    async with AdminServer(with_models(fixtures, 16)) as srv:
        app = make_app(srv)
        async with app.run_test(size=size) as pilot:
            await connected(pilot, app, srv)
            replay(srv, fixtures)
            await pilot.pause(0.5)
            for y, line in enumerate(screen_lines(app)):
                if " ago " in line:  # the sparkline's own line
                    continue
                assert not PARTIAL_BLOCKS & set(line), f"row {y}: {line!r}"


def test_sparkline_span_is_what_is_drawn_capped_by_uptime() -> None:
    now = 60 * 1000 + 30.0
    assert spark_span(80, now, now - 8) == (1, "8s")
    assert spark_span(80, now, now - 150) == (3, "2m")
    buckets, label = spark_span(53, now, now - 7420)
    assert label == f"{buckets}m" and buckets == 53 - 22


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_sparkline_label_on_a_gateway_up_8_seconds(fixtures: dict, size: tuple[int, int]) -> None:
    data = copy.deepcopy(fixtures)
    data["health"]["started"] = time.time() - 8
    async with AdminServer(data) as srv:
        app = make_app(srv)
        async with app.run_test(size=size) as pilot:
            await connected(pilot, app, srv)
            await wait_until(pilot, lambda: " ago " in app.cache_panel.summary_text, what="sparkline")
            line = next(s for s in app.cache_panel.summary_text.split("\n") if " ago " in s)
            label = line.split(" ago ")[0].strip()
            assert label.endswith("s") and 8 <= int(label[:-1]) <= 15, line
            bars = line.split(" ago ")[1].split(" now")[0]
            assert 1 <= len(bars) <= 2, line  # the one or two minutes the gateway has lived in


def finish_order(times: list[str]) -> bool:
    return times == sorted(times, reverse=True)


async def test_request_log_newest_finished_first_scene_and_live(fixtures: dict) -> None:
    screenshot.pin_utc()
    data = scene.load()
    shot = create_app("http://127.0.0.1:8082", starter=None, clock=lambda: scene.T0 + 12,
                      scene=screenshot.scene_events(data), find_demo=lambda: None)  # fmt: skip
    async with shot.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        times = [shot.requests_log.row_text(i)[0] for i in range(len(shot.requests_log.keys))]
        assert finish_order(times), times[:8]
    async with AdminServer(fixtures) as srv:
        app = make_app(srv)
        async with app.run_test(size=(120, 36)) as pilot:
            await connected(pilot, app, srv)
            sent = replay(srv, fixtures)
            await wait_until(pilot, lambda: sent[-1]["id"] in app.requests_log.keys, what="events applied")
            ended = [float(r.get("ended") or r.get("started")) for r in app.state.requests]
            assert ended == sorted(ended, reverse=True)
            times = [app.requests_log.row_text(i)[0] for i in range(len(app.requests_log.keys))]
            assert times[0] == fmt.clock(max(ended))


def test_doctor_mentions_the_running_demo(tmp_path: Path) -> None:
    """`xx doctor` (a real subprocess) names the demo's gateway while `xx demo`'s record says it runs."""
    state = tmp_path / "state"
    demo_record(state, "http://127.0.0.1:8092", os.getpid())
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith(("XDG_", "XX_"))}
    env = {**base, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XX_STATE_DIR": str(state)}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "xx", "doctor", "--json"], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["demo"]["data"] == {"url": "http://127.0.0.1:8092"}
    assert "xx dash --url http://127.0.0.1:8092" in checks["demo"]["detail"]
