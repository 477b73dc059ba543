"""Helpers the Pilot tests share: a fast-polling app, waiting until it is connected, replaying the scene."""

from __future__ import annotations

import copy
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
