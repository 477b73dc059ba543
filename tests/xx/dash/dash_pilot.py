"""Helpers the Pilot tests share: a fast-polling app, waiting until it is connected, replaying the scene."""

from __future__ import annotations

import copy
import time
from typing import Any

from dash_admin_server import AdminServer, wait_until

from xx.dash import create_app
from xx.dash.app import DashApp

FAST = {"poll_s": 0.3, "backoff_base": 0.05, "backoff_cap": 0.3, "starter": None}


def make_app(server: AdminServer, **kw: Any) -> DashApp:
    return create_app(server.url, **(FAST | kw))


async def connected(pilot: Any, app: DashApp, server: AdminServer) -> None:
    await wait_until(
        pilot, lambda: app.state.conn == "up" and len(app.requests_log.keys) > 0, what="first poll"
    )
    await wait_until(pilot, lambda: server.subscribers == 1, what="event stream")
    await wait_until(pilot, lambda: app.state.last_event_at is not None, what="hello")


def replay(server: AdminServer, fixtures: dict) -> list[dict]:
    """Send the recorded /xx/events session (after its hello); returns the exchanges sent."""
    sent = []
    for ev in fixtures["events"][1:]:
        server.push(ev["event"], copy.deepcopy(ev["data"]))
        if ev["event"] == "exchange":
            sent.append(ev["data"])
    return sent


async def settled(pilot: Any, widget: Any, frames: int = 4, within: float = 5.0) -> None:
    """Wait until `widget`'s place on screen and its rows stop changing for `frames` frames in a row.

    After the first poll the models table can still give back a line (its `+N more` border) and
    rows can still arrive: a click aimed at a row before that lands one row off on a loaded machine.
    """
    def snapshot() -> tuple[Any, ...]:
        return (widget.region, widget.content_region, widget.scroll_offset, tuple(getattr(widget, "keys", ())))

    last, same = snapshot(), 0
    deadline = time.monotonic() + within
    while same < frames:
        if time.monotonic() > deadline:
            raise AssertionError(f"{type(widget).__name__} did not settle within {within}s")
        await pilot.pause(0.05)
        now = snapshot()
        same = same + 1 if now == last else 0
        last = now
