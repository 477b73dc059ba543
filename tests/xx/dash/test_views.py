"""Pilot tests of the views behind keys: pools (o), agents (a), plots (t), model details (Enter),
and the header's stale and demo states, against the real loopback admin server."""

from __future__ import annotations

import re

import pytest
from dash_admin_server import AdminServer, wait_until
from dash_pilot import connected, make_app, replay

from xx.dash.widgets.model_screen import DetailScreen

SIZES = [(80, 24), (220, 50)]


def body(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, DetailScreen)
    return screen.body_text


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_pools_view_one_line_per_pool_and_key(server: AdminServer, size: tuple[int, int]) -> None:
    app = make_app(server)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app, server)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="pools view")
        text = body(app)
        for needle in ("openrouter-free · key a1b2c3", "openrouter-free · key d4e5f6", "838/1000", "15/20",
                       "kimi-free", "refused by the provider", "qwen3-next", "200/200", "resets"):
            assert needle in text, needle
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, DetailScreen), what="closed")


async def test_pools_view_prefers_the_gateways_own_list(server: AdminServer) -> None:
    server.data["models"]["pools"] = [  # the shape gateway/routing/attempt_hooks.py sends
        {"name": "groq", "provider": "groq", "models": ["llama"], "rpm": 30, "rpd": 14400, "tpm": None,
         "max_concurrency": 4, "keys": [
             {"ref": "GROQ_API_KEY", "key": "9f8e", "scope": "pool 'groq' key 9f8e", "retired": False,
              "rpm": {"used": 3, "limit": 30, "window_s": 60}, "rpd": {"used": 90, "limit": 14400, "reset_at": 0},
              "cooling_until": None, "skip": None, "in_flight": 2},
             {"ref": "GROQ_API_KEY_2", "key": None, "scope": "pool 'groq'", "retired": False,
              "rpm": {"used": 0, "limit": 30}, "rpd": {"used": 0, "limit": 14400}, "skip": "GROQ_API_KEY_2 unset"},
         ]},
        {"name": "bare", "models": ["m"], "rpm": 5, "rpd": None},  # an older or partial shape
    ]
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="pools view")
        text = body(app)
        assert "groq · key 9f8e ($GROQ_API_KEY)" in text and "90/14400" in text and "llama" in text
        assert "in flight 2/4" in text.replace("\xa0", " ") and "GROQ_API_KEY_2 unset" in text
        assert "bare" in text and "?/5" in text
        assert "qwen3-next" in text  # a model with limits of its own still has its line


async def test_agents_view_sessions_tokens_cost_savings(server: AdminServer, fixtures: dict) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        replay(server, fixtures)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="agents view")
        text = body(app)
        for needle in ("live", "sessions seen", "claude", "codex", "saved", "$0.209"):
            assert needle in text, needle


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_plots_have_axes_and_scale_overall_and_per_model(
    server: AdminServer, fixtures: dict, size: tuple[int, int]
) -> None:
    app = make_app(server)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app, server)
        sent = replay(server, fixtures)
        await wait_until(pilot, lambda: app.requests_log.keys[:1] == [sent[-1]["id"]], what="events")
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="plots")
        text = body(app)
        for needle in ("requests per minute", "p50 latency", "cache share", "errors per minute", "┤", "└"):
            assert needle in text, needle
        assert "100%" in text  # the cache plot's scale is fixed at 0-100 %
        assert len(re.findall(r"-\d+m +-\d+m +now", text)) == 4  # an x axis in minutes ago under each plot
        lines = text.rstrip("\n").split("\n")
        assert len(lines) == 4 * 7 - 1, "a plot line wrapped: the plots are wider than the box"
        await pilot.press("escape")
        app.models_table.focus()
        app.models_table.move_cursor(row=app.models_table.keys.index("kimi-free"))
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="model plots")
        assert app.screen.title_text.endswith("kimi-free")  # type: ignore[attr-defined]


async def test_enter_on_a_model_shows_what_the_table_leaves_out(server: AdminServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app, server)
        app.models_table.focus()
        app.models_table.move_cursor(row=app.models_table.keys.index("kimi-free"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="model view")
        text = body(app)
        assert "free:big,middle" in text and "429 Retry-After 30s" in text and "openrouter-free" in text


async def test_stale_header_while_down_and_demo_banner(server: AdminServer, fixtures: dict) -> None:
    server.data["health"]["demo"] = True
    app = make_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app, server)
        header = app.header.render().plain  # type: ignore[attr-defined]
        assert "DEMO gateway" in header and "pid 41234" in header
        await server.stop()
        await wait_until(pilot, lambda: app.state.conn == "down", what="down")

        def aged() -> bool:  # the 1 s tick ages the numbers
            return not app.header.render().plain.startswith("✖ DOWN · stale 0s")  # type: ignore[attr-defined]

        await wait_until(pilot, aged, within=3.0, what="the stale age to grow")
        header = app.header.render().plain  # type: ignore[attr-defined]
        assert "✖ DOWN · stale" in header and "req/s" in header
