"""Guard activity and team tokens on the dashboard: a glyph per guard action in the request's status
cell, each action in the exchange detail with the team token and instance, today's counts in the
header and the agents view, and requests per token there (issues 15 and 16 seen from issue 17)."""

from __future__ import annotations

import io
import time

import pytest
from dash_admin_server import AdminServer, wait_until
from dash_pilot import connected, make_app
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from xx.dash import render_guards
from xx.dash.render_requests import exchange_detail, request_row, request_rows
from xx.dash.widgets.exchange_screen import ExchangeScreen
from xx.dash.widgets.help_screen import HelpScreen
from xx.dash.widgets.model_screen import DetailScreen

GUARDS = [  # the shape gateway/guards/policy.py (Tally.add) and hooks.py (loops) record
    {"action": "repair", "tool": "Edit", "rule": None, "notes": ["trailing comma removed"]},
    {"action": "block", "tool": "Bash", "rule": "rm -rf", "notes": ["recursive delete of the home directory"]},
    {"action": "stop", "tool": "Read", "rule": "loop", "notes": ["4 repeats"]},
]
COUNTS = {"repairs": 3, "blocks": 1, "guards": {"repair": 3, "block": 1, "stop": 2, "steer": 1}}


def plain(renderable: object, width: int = 110) -> str:
    con = Console(width=width, file=io.StringIO(), color_system=None)
    con.print(renderable)
    return con.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def guarded(base: dict) -> dict:
    return base | {"id": "guarded", "ended": time.time(), "status": 200, "outcome": "ok", "repairs": 1,
                   "blocks": 1, "guards": GUARDS, "token": "alice", "instance": "gw-2"}


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_guard_marks_detail_counts_and_token(server: AdminServer, fixtures: dict, size: tuple[int, int]) -> None:
    server.data["requests"]["requests"].insert(0, guarded(fixtures["requests"]["requests"][0]))
    server.data["stats"]["requests"] |= COUNTS
    app = make_app(server)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app, server)
        log = app.requests_log
        row = log.keys.index("guarded")
        assert log.shown_text(row)[log.column_keys().index("status")] == "200 ✎⊗↻"
        assert log.shown_text(row + 1)[log.column_keys().index("status")] == "200"  # no guard, no mark
        header = app.header.render().plain  # type: ignore[attr-defined]
        if size[0] >= 120:
            assert "guards ✎3 ⊗1 ↻3" in header
        assert "saved" in header and "models out" in header  # the counts never push the key numbers out

        log.focus()
        log.move_cursor(row=row)
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ExchangeScreen), what="exchange detail")
        text = plain(app.screen.query_one("#exchange-detail", Static).content)
        for needle in ("alice   instance gw-2", "✎ tool call repaired  Edit", "trailing comma removed",
                       "⊗ dangerous tool call blocked  Bash  rule rm -rf", "↻ loop stopped", "Read  rule loop",
                       "4 repeats"):
            assert needle in text, needle
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExchangeScreen), what="detail closed")

        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="agents view")
        body = " ".join(app.screen.body_text.split())  # type: ignore[attr-defined]
        assert "guards today: 3 tool calls repaired · 1 blocked · 2 loops stopped · 1 steered" in body
        assert "per team token" in body and "alice 1 0" in body and "gw-2" in body


async def test_no_token_no_token_table_and_the_legend_explains_the_marks(server: AdminServer) -> None:
    for key in ("repairs", "blocks", "guards"):  # a gateway whose guards did nothing today
        server.data["stats"]["requests"].pop(key, None)
    app = make_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app, server)
        assert "guards" not in app.header.render().plain  # type: ignore[attr-defined]  # nothing to count
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="agents view")
        assert "per team token" not in app.screen.body_text  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, DetailScreen), what="closed")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        legend = str(app.screen.query_one("#help-box").query_one("Static").render())
        for needle in ("✎", "⊗", "↻", "repaired", "blocked", "stopped", "team token"):
            assert needle in legend, needle


def test_marks_from_the_counts_of_an_older_row_and_of_each_kind() -> None:
    assert render_guards.marker({"repairs": 2}).plain == " ✎"
    assert render_guards.marker({"guards": [{"action": "steer"}]}).plain == " ↻"
    assert render_guards.marker({"guards": [{"action": "broken"}, {"action": "repair"}]}).plain == " ✎"
    assert render_guards.marker({"guards": [{"action": "command"}]}).plain == ""  # the route says "answered by xx"
    assert render_guards.marker({}).plain == ""
    assert request_row({"id": "x", "status": 502, "outcome": "error", "blocks": 1}).cells[3].plain == "502 ⊗"


def test_detail_without_guards_or_token_says_so_quietly() -> None:
    text = plain(exchange_detail({"id": "x", "status": 200, "outcome": "ok", "model": "m"}))
    assert "guards" not in text and "token" in text
    lines = render_guards.guard_lines({"repairs": 1, "blocks": 2})
    assert isinstance(lines, Text) and "✎ tool call repaired" in lines.plain and "2×" in lines.plain


def test_token_table_counts_today_only() -> None:
    now = 1767261600.0 + 3600  # 01:00 UTC
    rows = [{"token": "bob", "ended": now - 10, "usage": {"input": 1000, "output": 10}, "cost": 0.5},
            {"token": "alice", "ended": now - 20, "status": 429, "outcome": "error"},
            {"token": None, "ended": now - 30},
            {"token": "bob", "ended": now - 12 * 3600}]  # yesterday
    text = " ".join(plain(render_guards.token_table(rows, now)).split())
    assert "bob 1 0 1.0k 10 $0.500" in text and "alice 1 1" in text
    assert render_guards.token_table([{"ended": now}], now) is None


def test_filter_by_token_and_guard_action() -> None:
    rows = [{"id": "a", "token": "alice", "guards": GUARDS}, {"id": "b", "token": "bob", "repairs": 1}, {"id": "c"}]
    assert [r.key for r in request_rows(rows, "token:alice")] == ["a"]
    assert [r.key for r in request_rows(rows, "guard:repair")] == ["a", "b"]
    assert [r.key for r in request_rows(rows, "guard:stop")] == ["a"]
    assert [r.key for r in request_rows(rows, "bob")] == ["b"]  # a bare word searches the token too
