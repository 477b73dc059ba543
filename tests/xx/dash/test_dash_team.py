"""The dashboard against a real gateway with team tokens (issue 15): the token that sent each
request reaches the dashboard both by /xx/events and by the /xx/requests backfill, and shows in the
exchange detail and, per token, in the agents view."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import httpx
from dash_admin_server import wait_until
from rich.console import Console
from support.servers import GatewayThread
from support.team_cluster import chat, team_config
from textual.widgets import Static

from gateway.accounting import tokens
from xx.dash import create_app
from xx.dash.widgets.exchange_screen import ExchangeScreen
from xx.dash.widgets.model_screen import DetailScreen


def plain(renderable: object) -> str:
    con = Console(width=110, file=io.StringIO(), color_system=None)
    con.print(renderable)
    return con.file.getvalue()  # type: ignore[attr-defined,no-any-return]


async def post(url: str, text: str, token: str | None) -> int:
    def send() -> int:
        with httpx.Client(timeout=10, trust_env=False) as c:
            return chat(c, url, text, token=token).status_code

    return await asyncio.to_thread(send)


async def test_team_token_names_reach_the_detail_and_the_agents_view(simulator_thread: Any, tmp_path: Path) -> None:
    clear = tokens.new_token()
    store = tokens.FileTokens(tmp_path / "tokens.json")
    await store.upsert(tokens.Token("carol", tokens.digest(clear), clear[:8], time.time(), None))
    gw = GatewayThread(team_config(simulator_thread.url, state_url=None, ledger_url=None, rpm=1000),
                       tmp_path / "ledger.sqlite3").start()
    try:
        assert await post(gw.url, "before the dashboard", clear) == 200  # reaches it by the backfill
        app = create_app(gw.url, poll_s=0.3, backoff_base=0.05, backoff_cap=0.3, starter=None)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: len(app.requests_log.keys) == 1, within=10, what="backfill")
            assert app.state.requests[0].get("token") == "carol"
            await wait_until(pilot, lambda: app.state.last_event_at is not None, within=10, what="event stream")
            assert await post(gw.url, "while watching", clear) == 200  # reaches it by /xx/events
            assert await post(gw.url, "loopback, no token", None) == 200
            await wait_until(pilot, lambda: len(app.requests_log.keys) == 3, within=10, what="events")
            assert [r.get("token") for r in app.state.requests] == [None, "carol", "carol"]

            app.requests_log.focus()
            app.requests_log.move_cursor(row=1)
            await pilot.pause()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ExchangeScreen), what="detail")
            detail = plain(app.screen.query_one("#exchange-detail", Static).content)
            assert "token" in detail and "carol" in detail, detail
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, ExchangeScreen), what="closed")

            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="agents view")
            body = " ".join(app.screen.body_text.split())  # type: ignore[attr-defined]
            assert "per team token" in body and "carol 2 0" in body, body
    finally:
        gw.stop()
