from __future__ import annotations

import io

from rich.console import Console

from xx.dash.render_requests import (
    cascade_path,
    exchange_detail,
    match_filter,
    request_row,
    request_rows,
    route_text,
)

CASCADE = {
    "id": "e1",
    "started": 100.0,
    "ended": 102.0,
    "agent": "claude",
    "tier": "free",
    "role": "big",
    "requested_model": "claude-sonnet-4-5",
    "attempts": [
        {
            "model": "kimi",
            "provider": "openrouter",
            "outcome": "error",
            "status": 429,
            "ms": 140.0,
            "error": "429 Retry-After 30s",
        },
        {
            "model": "nemotron",
            "provider": "openrouter",
            "outcome": "ok",
            "status": 200,
            "ms": 1640.0,
            "error": None,
        },
    ],
    "skipped": [{"model": "gpt-oss", "reason": "breaker open"}],
    "model": "nemotron",
    "provider": "openrouter",
    "status": 200,
    "outcome": "ok",
    "usage": {"input": 52000, "output": 800, "cache_read": 47000, "cache_write": 0, "reported": True},
    "cache_class": "HIT",
    "cost": 0.0,
    "saved": 0.0141,
    "latency_ms": 2000.0,
    "ttfb_ms": 900.0,
}


def test_cascade_path() -> None:
    assert cascade_path(CASCADE) == "kimi✗429 → nemotron✓"
    timeout = {
        "attempts": [
            {"model": "a", "outcome": "timeout", "status": None},
            {"model": "b", "outcome": "error", "status": 503},
        ]
    }
    assert cascade_path(timeout) == "a✗timeout → b✗503"
    assert cascade_path({"model": "m", "attempts": []}) == "m"


def test_route_shows_requested_path_and_skips() -> None:
    assert route_text(CASCADE).plain == "claude-sonnet-4-5 → kimi✗429 → nemotron✓ ⊘1"
    single = {"requested_model": "m", "model": "m", "attempts": [{"model": "m", "outcome": "ok"}]}
    assert route_text(single).plain == "m"
    failed = {
        "requested_model": "r",
        "outcome": "error",
        "error": "upstream 500",
        "attempts": [{"model": "a", "outcome": "error", "status": 500}],
    }
    assert route_text(failed).plain == "✗ nothing served: upstream 500 · r → a✗500"


def test_a_429_with_nothing_served_says_so() -> None:
    """The issue's row: it read `gpt-5-codex → gpt-5-codex ⊘2`, as if the model had answered."""
    refused = {
        "requested_model": "gpt-5-codex",
        "model": None,
        "status": 429,
        "outcome": "error",
        "attempts": [],
        "skipped": [{"model": "kimi", "reason": "quota"}, {"model": "gpt-oss", "reason": "breaker open"}],
        "error": "all candidates unavailable: quota, breaker open",
    }
    text = route_text(refused).plain
    assert text == "✗ nothing served: all candidates unavailable: quota, breaker open · gpt-5-codex ⊘2"
    assert "gpt-5-codex → gpt-5-codex" not in text
    no_error = refused | {"error": None}
    assert route_text(no_error).plain.startswith("✗ nothing served: breaker open; quota ·")


def test_request_row_cells() -> None:
    row = request_row(CASCADE)
    plain = [c.plain for c in row.cells]
    assert row.key == "e1"
    assert plain[1:] == [
        "claude",
        "free/big",
        "200",
        "2.0s",
        "52.0k→800",
        "-",
        "HIT",
        "claude-sonnet-4-5 → kimi✗429 → nemotron✓ ⊘1",
    ]
    aborted = request_row({"id": "x", "outcome": "aborted", "status": 0, "usage": {}})
    assert aborted.cells[3].plain == "abort"


def test_filter() -> None:
    assert match_filter(CASCADE, "")
    assert match_filter(CASCADE, "claude")
    assert match_filter(CASCADE, "agent:claude model:kimi")
    assert match_filter(CASCADE, "status:429")  # an attempt's status counts
    assert match_filter(CASCADE, "status:2")
    assert not match_filter(CASCADE, "status:5")
    assert not match_filter(CASCADE, "agent:codex")
    assert match_filter(CASCADE, "cache:hit")
    assert not match_filter(CASCADE, "claude codex")  # all terms must match
    assert match_filter(CASCADE, "NEMOTRON")


def test_request_rows_filter_and_limit(fixtures: dict) -> None:
    reqs = fixtures["requests"]["requests"]
    assert len(request_rows(reqs, "", limit=10)) == 10
    codex = request_rows(reqs, "agent:codex")
    assert codex and all(r.cells[1].plain == "codex" for r in codex)


def test_exchange_detail_names_every_attempt_and_error() -> None:
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(exchange_detail(CASCADE | {"error": None}))
    text = console.export_text()
    for needle in (
        "kimi",
        "429 Retry-After 30s",
        "nemotron",
        "1.6s",
        "52,000",
        "47,000",
        "skipped: gpt-oss (breaker open)",
        "900ms",
    ):
        assert needle in text, needle


def test_a_command_row_says_xx_answered() -> None:
    """`!/help` and a stopped loop are answered by the gateway itself (gateway/guards): no model, no cache."""
    row = {"requested_model": "claude-sonnet-4-6", "model": "xx", "provider": "xx", "outcome": "command",
           "status": 200, "attempts": [], "cache_class": "-", "tier": "free"}
    assert route_text(row).plain == "claude-sonnet-4-6 → answered by xx"
    assert route_text(row | {"requested_model": ""}).plain == "answered by xx"
    assert request_row(row).cells[7].plain == "-"
