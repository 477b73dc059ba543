"""Pilot tests at the four sizes a user is likely to have: the key columns are visible, every model
row shows, nothing hides behind a horizontal scrollbar, and no cell is cut in the middle of a word.
"""

from __future__ import annotations

import pytest
from dash_admin_server import AdminServer, wait_until
from dash_pilot import connected, make_app, replay
from rich.text import Text

from xx.dash.layout import Col, clip_words, widths
from xx.dash.widgets.fitted_table import FittedTable
from xx.dash.widgets.requests_log import RequestsLog

SIZES = [(80, 24), (120, 36), (160, 45), (220, 50)]
MODEL_KEYS = {"model", "state", "ok", "p50", "quota", "cache", "error"}
REQUEST_KEYS = {"time", "agent", "status", "latency", "cache", "route"}


def whole_words(shown: str, full: str) -> bool:
    """`shown` is `full`, or a prefix of it ending at a word boundary followed by `…`."""
    if shown == full:
        return True
    if not shown.endswith("…"):
        return False
    prefix = shown[:-1].rstrip()
    return full.startswith(prefix) and (prefix == "" or full[len(prefix)] == " ")


def assert_fits(table: FittedTable | RequestsLog, keys: set[str]) -> None:
    assert keys <= set(table.column_keys()), f"missing {keys - set(table.column_keys())}"
    assert table.max_scroll_x == 0, "columns hidden behind a horizontal scrollbar"
    if isinstance(table, FittedTable):
        drawn = sum(c.get_render_width(table) for c in table.columns.values())
    else:
        drawn = table.drawn_width()
    assert drawn <= table.size.width - 1  # the scrollbar's column stays free
    for i in range(len(table.keys)):
        for shown, full in zip(table.shown_text(i), table.full_text(i), strict=True):
            assert whole_words(shown, full), f"{shown!r} cuts {full!r}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_key_columns_visible_and_no_word_cut(
    server: AdminServer, fixtures: dict, size: tuple[int, int]
) -> None:
    failed = fixtures["requests"]["requests"][0] | {
        "id": "refused",
        "requested_model": "gpt-5-codex",
        "model": None,
        "status": 429,
        "outcome": "error",
        "attempts": [],
        "skipped": [{"model": "kimi-free", "reason": "quota"}, {"model": "gpt-oss-free", "reason": "breaker open"}],
        "error": "all candidates unavailable: quota; breaker open",
    }
    rerouted = fixtures["requests"]["requests"][0] | {
        "id": "rerouted",
        "requested_model": "anthropic/claude-sonnet-4.5",
        "model": "nemotron-free",
        "outcome": "ok",
        "status": 200,
        "attempts": [{"model": "kimi-free", "outcome": "error", "status": 429},
                     {"model": "nemotron-free", "outcome": "ok", "status": 200}],
    }
    server.data["requests"]["requests"][:0] = [failed, rerouted]
    app = make_app(server)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app, server)
        sent = replay(server, fixtures)
        await wait_until(pilot, lambda: app.requests_log.keys[:1] == [sent[-1]["id"]], what="events")
        await pilot.pause(0.1)
        for _ in range(150):  # a loaded machine may need a few more frames before the layout settles
            if app.models_table.size.height >= len(app.models_table.keys) + 1:
                break
            await pilot.pause(0.02)
        assert_fits(app.models_table, MODEL_KEYS)
        assert_fits(app.requests_log, REQUEST_KEYS)
        models = app.models_table
        assert models.size.height >= len(models.keys) + 1, "every model row shows"
        assert app.requests_log.size.height >= 6, "the requests log keeps room"
        header = app.header.render().plain  # type: ignore[attr-defined]
        assert "● up" in header and "models out" in header and "saved" in header
        assert all(len(line) <= size[0] for line in header.splitlines())
        row = app.requests_log.keys.index("refused")
        route = app.requests_log.shown_text(row)[-1]
        assert route.startswith("✗ nothing"), route  # a 429 with nothing served says so, at every width
        by_id = {str(r.get("id")): r for r in app.state.requests}
        for i, key in enumerate(app.requests_log.keys):  # a narrow route cell drops the requested name first
            shown, ex = app.requests_log.shown_text(i)[-1], by_id[key]
            if ex.get("model"):
                assert ex["model"] in shown, f"{shown!r} hides the served {ex['model']}"
    if size[0] >= 160:  # the complaint at 160: min, cache and last error hidden
        assert {"ttfb", "error"} <= set(app.models_table.column_keys())


async def test_legend_on_question_mark(server: AdminServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app, server)
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-box").query_one("Static").render())
        for glyph in ("✓", "✗", "⊘", "◆", "nothing served", "stale"):
            assert glyph in text


def test_clip_words_never_cuts_a_word() -> None:
    t = Text("429 Retry-After 30s")
    assert clip_words(t, 40).plain == "429 Retry-After 30s"
    assert clip_words(t, 16).plain == "429 Retry-After…"
    assert clip_words(t, 10).plain == "429…"
    assert clip_words(Text("nemotron-nano-free"), 8).plain == "…"


def test_optional_columns_drop_before_key_ones() -> None:
    cols = [Col("a", "a"), Col("opt", "optional", priority=1), Col("flex", "flex", flex=True, min_width=20)]
    cells = [[Text("x" * 10), Text("y" * 10), Text("z" * 50)]]
    kept, ws = widths(cols, cells, 40)
    assert [c.key for c in kept] == ["a", "flex"]
    assert sum(ws) + 2 * len(ws) <= 40 - 1
    kept, ws = widths(cols, cells, 80)
    assert [c.key for c in kept] == ["a", "opt", "flex"]


async def test_on_the_demo_help_says_how_to_point_an_agent_at_it(server: AdminServer) -> None:
    """The demo prints this before its TUI takes the screen, and the header has room only for part of the path."""
    server.data["health"] |= {"demo": True, "config": "/tmp/home/.local/state/xx/demo/config.toml"}
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        await wait_until(pilot, lambda: (app.state.health or {}).get("demo"), what="the demo's health")
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-box").query_one("Static").render())
        assert "XX_CONFIG=/tmp/home/.local/state/xx/demo/config.toml xx cif" in text, text[:300]


async def test_off_the_demo_help_has_no_demo_line(server: AdminServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        await pilot.press("question_mark")
        assert "XX_CONFIG" not in str(app.screen.query_one("#help-box").query_one("Static").render())
