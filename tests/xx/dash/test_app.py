"""Pilot tests: the real app against a real loopback admin server fed with recorded data."""

from __future__ import annotations

import asyncio
import time

import pytest
from dash_admin_server import AdminServer, wait_until
from dash_pilot import FAST, connected, make_app, replay, settled

from xx.dash import create_app
from xx.dash.messages import BatchApplied
from xx.dash.widgets.exchange_screen import ExchangeScreen
from xx.dash.widgets.help_screen import HelpScreen


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
async def test_rows_events_model_change_and_cascade(
    server: AdminServer, fixtures: dict, size: tuple[int, int]
) -> None:
    app = make_app(server)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app, server)
        assert app.header.render().plain.count("● up") == 1  # type: ignore[attr-defined]
        keys = app.models_table.keys
        assert len(keys) == 7 and keys[0] == "gpt-oss-free"
        assert app.models_table.cell_text("nemotron-free", "state") == "● healthy"
        assert len(app.requests_log.keys) == 60
        assert app.banner.shown is False

        sent = replay(server, fixtures)
        await wait_until(pilot, lambda: app.requests_log.keys[0] == sent[-1]["id"], what="events applied")
        assert set(app.requests_log.keys[: len(sent)]) == {e["id"] for e in sent}
        assert app.models_table.cell_text("nemotron-free", "state").startswith("◷ cooling")
        cascade = next(i for i, k in enumerate(app.requests_log.keys) if k == sent[3]["id"])
        assert app.requests_log.row_text(cascade)[-1] == "claude-sonnet-4-5 → kimi-free✗429 → nemotron-free✓"
        # the last minute's exchanges are ~90% cached ("now" refreshes at most once a second)
        await wait_until(pilot, lambda: "now 9" in app.cache_panel.summary_text, what="cache now")


async def test_bursts_are_coalesced(server: AdminServer, fixtures: dict) -> None:
    batches: list[BatchApplied] = []
    app = make_app(server)
    async with app.run_test(
        size=(120, 36), message_hook=lambda m: batches.append(m) if isinstance(m, BatchApplied) else None
    ) as pilot:
        await connected(pilot, app, server)
        before = len(batches)
        base = fixtures["events"][2]["data"]
        for i in range(300):
            server.push("exchange", base | {"id": f"burst{i}", "ended": time.time()})
        await wait_until(pilot, lambda: app.requests_log.keys[:1] == ["burst299"], what="burst applied")
        applied = [b for b in batches[before:] if any(e.kind == "exchange" for e in b.events)]
        assert sum(len(b.events) for b in applied) >= 300
        assert len(applied) < 30  # hundreds of events, a handful of applies
        assert len(app.requests_log.keys) == 100  # rows_shown bounds the table


async def test_filter_and_escape(server: AdminServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        await pilot.press("slash")
        assert app.filter_bar.has_focus
        await pilot.press(*"agent:codex")
        await wait_until(pilot, lambda: app.filter_query == "agent:codex", what="filter")
        rows = app.requests_log.keys
        assert 0 < len(rows) < 60
        assert all(app.requests_log.row_text(i)[1] == "codex" for i in range(len(rows)))
        assert "filter: agent:codex" in app.header.render().plain  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert app.requests_log.has_focus and app.filter_query == "agent:codex"
        await pilot.press("escape")
        assert app.filter_query == "" and len(app.requests_log.keys) == 60


async def test_pause_freezes_and_resume_catches_up(server: AdminServer, fixtures: dict) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        await pilot.press("p")
        assert app.paused and "PAUSED" in app.header.render().plain  # type: ignore[attr-defined]
        sent = replay(server, fixtures)
        await asyncio.sleep(0.6)
        await pilot.pause()
        assert sent[0]["id"] not in app.requests_log.keys
        await pilot.press("p")
        await wait_until(pilot, lambda: app.requests_log.keys[0] == sent[-1]["id"], what="resume")
        assert not app.paused


async def test_down_banner_and_reconnect(server: AdminServer, fixtures: dict) -> None:
    app = make_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app, server)
        await server.stop()
        await wait_until(pilot, lambda: app.banner.shown, what="banner")
        assert app.state.conn == "down"
        assert "is not answering" in str(app.banner.render())
        header = app.header.render().plain  # type: ignore[attr-defined]
        assert "✖ DOWN · stale" in header  # the numbers below are a memory, and it says so
        await asyncio.sleep(0.5)  # a few failed polls: backoff, no crash
        await server.start()  # same port
        await wait_until(pilot, lambda: not app.banner.shown and app.state.conn == "up", what="reconnect")
        await wait_until(pilot, lambda: server.subscribers == 1, what="event stream back")
        sent = replay(server, fixtures)
        await wait_until(
            pilot, lambda: app.requests_log.keys[:1] == [sent[-1]["id"]], what="events after reconnect"
        )


async def test_enter_opens_exchange_details(server: AdminServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        app.requests_log.focus()
        cascade_row = next(
            i for i, k in enumerate(app.requests_log.keys) if "✗" in app.requests_log.row_text(i)[-1]
        )
        app.requests_log.move_cursor(row=cascade_row)
        await pilot.pause()
        selected = app.requests_log.selected_id
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ExchangeScreen), what="modal")
        assert isinstance(app.screen, ExchangeScreen)
        assert app.screen.exchange["id"] == selected
        await server.stop()  # updates while the modal is up must not break anything
        await wait_until(pilot, lambda: app.state.conn == "down", what="down under modal")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExchangeScreen), what="modal closed")


async def test_reset_selected_model(server: AdminServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        app.models_table.focus()
        app.models_table.move_cursor(row=app.models_table.keys.index("kimi-free"))
        await pilot.press("r")
        await wait_until(pilot, lambda: server.resets == ["kimi-free"], what="reset call")
        await wait_until(
            pilot, lambda: app.models_table.cell_text("kimi-free", "state") == "● healthy", what="row healthy"
        )
        assert app.models_table.selected_model == "kimi-free"  # the cursor followed the row


async def test_start_gateway_when_down(fixtures: dict) -> None:
    server = AdminServer(fixtures)  # not started: the gateway is down
    loop = asyncio.get_running_loop()
    calls: list[str] = []

    def starter() -> str:
        calls.append("start")
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
        return server.url

    app = create_app(server.url, **(FAST | {"starter": starter}))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.banner.shown, what="banner")
            assert "press s" in str(app.banner.render())
            await pilot.press("s")
            await wait_until(pilot, lambda: app.state.conn == "up" and not app.banner.shown, what="started")
            assert calls == ["start"]
            await pilot.press("s")  # already up: does not start twice
            await pilot.pause(0.1)
            assert calls == ["start"]
    finally:
        await server.stop()


async def test_token_help_and_cache_toggle(fixtures: dict) -> None:
    async with AdminServer(fixtures, token="t0k") as srv:
        app = create_app(srv.url, token="t0k", **FAST)
        async with app.run_test(size=(120, 36)) as pilot:
            await connected(pilot, app, srv)
            breakdown = app.cache_panel.breakdown
            assert not breakdown.display
            await pilot.press("c")
            assert breakdown.display and app.cache_view == "agent"
            await pilot.press("c")
            assert app.cache_view == "model"
            await pilot.press("c")
            assert app.cache_view == "total" and not breakdown.display
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
            await pilot.press("q")
        assert app.return_code in (0, None)


async def test_click_selects_then_opens(server: AdminServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot, app, server)
        log = app.requests_log
        await settled(pilot, log)  # aimed at a row: the layout and the rows must be final first
        third = log.keys[2]
        # Relative to the widget, computed at click time: its border, then the header line, then rows.
        row3 = (log.content_region.x - log.region.x + 5, log.content_region.y - log.region.y + 3)
        await pilot.click(log, offset=row3)
        assert log.cursor_row == 2 and log.selected_key == third and not isinstance(app.screen, ExchangeScreen)
        await pilot.click(log, offset=row3)
        await wait_until(pilot, lambda: isinstance(app.screen, ExchangeScreen), what="details on a second click")
        assert app.screen.exchange["id"] == third  # type: ignore[attr-defined]


async def test_keys_move_the_cursor_and_it_stays_on_its_exchange(server: AdminServer, fixtures: dict) -> None:
    app = make_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app, server)
        log = app.requests_log
        log.focus()
        await pilot.press("down", "down")
        assert log.cursor_row == 2
        held = log.selected_id
        sent = replay(server, fixtures)
        await wait_until(pilot, lambda: log.keys[:1] == [sent[-1]["id"]], what="events")
        assert log.selected_id == held and log.cursor_row == 2 + len(sent)  # new rows above, same exchange
        await pilot.press("end")
        assert log.cursor_row == len(log.keys) - 1
        assert log.scroll_offset.y > 0  # scrolled to show it
        await pilot.press("home")
        assert log.cursor_row == 0 and log.scroll_offset.y == 0
