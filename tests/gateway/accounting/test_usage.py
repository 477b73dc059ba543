"""Usage grouping over a known week: totals equal the table computed by hand (tests/support/ledger_week.py)."""

from __future__ import annotations

import calendar
from pathlib import Path

import pytest
from support.ledger_week import BY_AGENT, BY_DAY, NOW, PRICES, TOTAL, write_ledger

from gateway.accounting import usage

FIELDS = usage.FIELDS


def as_tuple(g: dict) -> tuple:
    return tuple(round(g[f], 6) if isinstance(g[f], float) else g[f] for f in FIELDS)


def expect(t: tuple) -> tuple:
    return tuple(round(v, 6) if isinstance(v, float) else v for v in t)


@pytest.fixture
def rows(tmp_path: Path) -> list[dict]:
    return usage.read_rows(write_ledger(tmp_path / "ledger.sqlite3"), usage.parse_since("7d", NOW), NOW)


def test_week_by_agent_and_day_match_the_hand_table(rows: list[dict]) -> None:
    assert len(rows) == 7  # the row from 8 days ago is outside `7d`
    by_agent = usage.summarize(rows, "agent", PRICES)
    assert {g["agent"]: as_tuple(g) for g in by_agent["groups"]} == {k: expect(v) for k, v in BY_AGENT.items()}
    assert as_tuple(by_agent["total"]) == expect(TOTAL)
    by_day = usage.summarize(rows, "day", PRICES)
    assert {g["day"]: as_tuple(g) for g in by_day["groups"]} == {k: expect(v) for k, v in BY_DAY.items()}
    assert as_tuple(by_day["total"]) == expect(TOTAL)


def test_other_groupings_share_the_total(rows: list[dict]) -> None:
    for by in ("model", "tier", "provider", "key"):
        report = usage.summarize(rows, by, PRICES)
        assert as_tuple(report["total"]) == expect(TOTAL), by
        assert sum(g["requests"] for g in report["groups"]) == 7
    keys = {g["key"]: g["requests"] for g in usage.summarize(rows, "key", PRICES)["groups"]}
    assert keys == {"k1": 3, "k2": 2, "-": 2}
    models = {g["model"] for g in usage.summarize(rows, "model", PRICES)["groups"]}
    assert "claude-sonnet" in models  # nothing served: grouped under what was asked for


def test_without_config_prices_the_ledger_costs_stand(rows: list[dict]) -> None:
    total = usage.summarize(rows, "agent")["total"]
    assert total["cost_usd"] == pytest.approx(9.9 + 0.0)  # the stale ledger cost of gpt-paid
    assert total["saved_usd"] == pytest.approx(9.9 + 0.002)


def test_catalog_prices_fill_in_where_the_config_has_none(rows: list[dict]) -> None:
    """kimi-free has no price in the config; the last scan's catalog says input 1, output 2 $/M."""
    from types import SimpleNamespace

    from gateway.config.model import Price

    config = SimpleNamespace(models={"kimi-free": SimpleNamespace(price=Price()), "gpt-paid": SimpleNamespace(price=PRICES["gpt-paid"])})
    scan = {"models": [{"name": "kimi-free", "price": {"input": 1.0, "output": 2.0}}, {"name": "gpt-paid", "price": {"input": 99.0}}]}
    prices = usage.prices_of(config, scan)
    assert prices["gpt-paid"] == PRICES["gpt-paid"]  # the config wins
    assert prices["kimi-free"] == Price(input=1.0, output=2.0)
    claude = next(g for g in usage.summarize(rows, "agent", prices)["groups"] if g["agent"] == "claude")
    # kimi-free rows of claude: (1000 in, 100 out, 800 read) and (3000 in, 300 out, 2500 read); reads at the input price
    assert claude["cost_usd"] == pytest.approx((1000 + 200 + 3000 + 600) / 1e6)
    assert usage.prices_of(config, None) == {"gpt-paid": PRICES["gpt-paid"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - 7 * 86400),
        ("24h", NOW - 86400),
        ("30m", NOW - 1800),
        ("2w", NOW - 14 * 86400),
        ("today", NOW - 12 * 3600),
        ("2026-11-22", float(calendar.timegm((2026, 11, 22, 0, 0, 0)))),
    ],
)
def test_since_forms(text: str, expected: float) -> None:
    assert usage.parse_since(text, NOW) == expected


@pytest.mark.parametrize("bad", ["", "7", "d7", "-3d", "0d", "7y", "2026-13-01", "yesterday", "2027-01-01"])
def test_bad_since_is_a_clear_error(bad: str) -> None:
    with pytest.raises(usage.UsageError, match="--since"):
        usage.parse_since(bad, NOW)


def test_bad_by_and_missing_ledger(tmp_path: Path) -> None:
    with pytest.raises(usage.UsageError, match="expected one of day, agent"):
        usage.summarize([], "week")
    assert usage.read_rows(tmp_path / "none.sqlite3", 0) == []
    assert not (tmp_path / "none.sqlite3").exists()


def test_route_groups_like_the_command(tmp_path: Path) -> None:
    """GET /xx/usage on a real gateway over the same week: the same table, and a 400 for a bad since."""
    import httpx
    from support.servers import GatewayThread, free_port

    from gateway.config import parse

    port = free_port()
    text = f"""
[gateway]
port = {port}
[providers.openai]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "$XX_TEST_NO_SUCH_KEY"
[models.gpt-paid]
provider = "openai"
id = "gpt-paid"
price = {{ input = 1.0, output = 2.0, cache_read = 0.1, cache_write = 1.25 }}
[tiers.paid]
letter = "0"
big = ["gpt-paid"]
"""
    ledger = write_ledger(tmp_path / "ledger.sqlite3")
    gw = GatewayThread(parse(text, source="<test>", env={}), ledger, clock=lambda: NOW + 60).start()
    try:
        r = httpx.get(gw.url + "/xx/usage", params={"since": "7d", "by": "agent"}, timeout=10)
        assert r.status_code == 200, r.text
        report = r.json()
        assert {g["agent"]: as_tuple(g) for g in report["groups"]} == {k: expect(v) for k, v in BY_AGENT.items()}
        assert as_tuple(report["total"]) == expect(TOTAL)
        bad = httpx.get(gw.url + "/xx/usage", params={"since": "soon"}, timeout=10)
        assert bad.status_code == 400 and "--since" in bad.json()["error"]["message"]
        bad = httpx.get(gw.url + "/xx/usage", params={"by": "week"}, timeout=10)
        assert bad.status_code == 400 and "day, agent" in bad.json()["error"]["message"]
    finally:
        gw.stop()
