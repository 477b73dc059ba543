from __future__ import annotations

from xx.dash.render_header import banner_text, header_text
from xx.dash.state import DashState

NOW = 10_000.0


def test_header_up() -> None:
    st = DashState(
        url="http://127.0.0.1:8082",
        conn="up",
        health={"version": "0.1.0", "started": NOW - 7380},
        stats={"requests": {"rps": 3.25, "errors_per_min": 0.5, "in_flight": 2}},
        models={"a": {"name": "a", "state": "open"}},
    )
    text = header_text(st, NOW, paused=True, filter_query="agent:claude").plain
    for needle in (
        "http://127.0.0.1:8082",
        "● up",
        "v0.1.0",
        "up 2h03m",
        "3.2 req/s",
        "0.5 err/min",
        "2 in flight",
        "1 model out",
        "filter: agent:claude",
        "PAUSED",
    ):
        assert needle in text, needle


def test_header_and_banner_down() -> None:
    st = DashState(
        url="http://x", conn="down", down_reason="connection refused", down_since=NOW - 65, retry_at=NOW + 4
    )
    assert "✖ down" in header_text(st, NOW).plain
    banner = banner_text(st, NOW)
    assert banner is not None
    assert "http://x is not answering: connection refused" in banner
    assert "down for 1m05s" in banner and "retrying in 4s" in banner and "press s" in banner
    assert "press s" not in (banner_text(st, NOW, can_start=False) or "")
    assert banner_text(DashState(conn="up"), NOW) is None
