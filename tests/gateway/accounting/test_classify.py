"""Cache classification, pricing, log lines, aggregation and Prometheus output."""

from __future__ import annotations

import re

import pytest

from gateway.accounting import classify as cache
from gateway.accounting.classify import Aggregate, classify, cost, log_line
from gateway.accounting.metrics import prometheus_lines
from gateway.config import Price
from gateway.exchange import Exchange, Usage

SONNET = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)


def u(input: int = 0, read: int = 0, write: int = 0, output: int = 0, reported: bool = True) -> Usage:
    return Usage(input=input, output=output, cache_read=read, cache_write=write, reported=reported)


@pytest.mark.parametrize(
    ("usage", "replay", "expected"),
    [
        (u(50120, read=48640), False, "HIT"),
        (u(10000, read=5000), False, "HIT"),  # exactly at the 0.5 boundary
        (u(10000, read=4999), False, "PARTIAL"),
        (u(10000, read=1), False, "PARTIAL"),
        (u(10000, read=2000, write=8000), False, "PARTIAL"),
        (u(10000, write=9000), False, "COLD"),
        (u(10000), False, "MISS"),
        (u(300), False, "MISS"),  # below the cacheable minimum: still a miss, marked small in the log
        (u(0, reported=False), False, "NOUSAGE"),
        (u(5000, read=4000, reported=False), False, "NOUSAGE"),
        (u(0, reported=False), True, "REPLAY"),
        (u(10000, read=9000), True, "REPLAY"),
        (u(0, read=100), False, "HIT"),  # a provider that forgot input: never divide by zero
    ],
)
def test_classify_table(usage: Usage, replay: bool, expected: str) -> None:
    assert classify(usage, replay=replay) == expected


def test_cost_of_a_warm_turn_and_what_the_cache_saved() -> None:
    # 50 000 prompt tokens, 48 000 read from cache, 1 000 written, 1 000 fresh; 500 out.
    spent, saved = cost(u(50000, read=48000, write=1000, output=500), SONNET)
    expected = (1000 * 3.0 + 48000 * 0.3 + 1000 * 3.75 + 500 * 15.0) / 1e6
    assert spent == pytest.approx(expected)
    # reads saved 90 % of the input price; the write paid a 25 % premium
    assert saved == pytest.approx((48000 * 2.7 - 1000 * 0.75) / 1e6)


def test_cold_turn_saves_negative_the_write_premium() -> None:
    spent, saved = cost(u(20000, write=20000, output=100), SONNET)
    assert spent == pytest.approx((20000 * 3.75 + 100 * 15) / 1e6)
    assert saved == pytest.approx(-20000 * 0.75 / 1e6)


def test_unpriced_cache_never_invents_savings() -> None:
    price = Price(input=1.0, output=2.0)  # no cache prices configured
    spent, saved = cost(u(10000, read=9000, write=500, output=10), price)
    assert saved == 0.0
    assert spent == pytest.approx((10000 * 1.0 + 10 * 2.0) / 1e6)


def test_free_model_costs_and_saves_nothing() -> None:
    assert cost(u(10000, read=9000, output=10), Price()) == (0.0, 0.0)


def test_replay_costs_nothing_and_saves_the_whole_call() -> None:
    usage = u(10000, read=9000, output=100)
    full, _ = cost(usage, SONNET)
    assert cost(usage, SONNET, replay=True) == (0.0, pytest.approx(full))


def ex(**kw: object) -> Exchange:
    base: dict[str, object] = {
        "agent": "claude",
        "tier": "free",
        "role": "big",
        "model": "kimi-free",
        "status": 200,
    }
    base.update(kw)
    e = Exchange(**base)  # type: ignore[arg-type]
    if e.outcome == "pending":
        e.outcome = "ok"
    if e.cache_class != "REPLAY":
        e.cache_class = classify(e.usage)
    return e


def test_log_line_matches_the_documented_shape() -> None:
    line = log_line(ex(usage=u(50120, read=48640)))
    assert line == "HIT 97% read 48640/50120 kimi-free [big] claude"


@pytest.mark.parametrize(
    ("e", "pattern"),
    [
        (ex(usage=u(20000, write=19000)), r"^COLD 0% read 0/20000 write 19000 kimi-free \[big\] claude$"),
        (ex(usage=u(800)), r"^MISS 0% read 0/800 kimi-free \[big\] claude \(small\)$"),
        (ex(usage=u(8000)), r"^MISS 0% read 0/8000 kimi-free \[big\] claude$"),
        (ex(usage=u(0, reported=False), role="small"), r"^NOUSAGE kimi-free \[small\] claude$"),
        (ex(usage=u(100, read=10), saved=0.0123), r"^PARTIAL 10% read 10/100 .* saved \$0\.0123$"),
        (
            ex(usage=u(0, reported=False), model=None, requested_model="opus", status=502, outcome="error"),
            r"^NOUSAGE opus .* ERROR 502$",
        ),
        (ex(usage=u(900, read=800), cache_class="REPLAY"), r"^REPLAY 89% read 800/900 "),
    ],
)
def test_log_line_variants(e: Exchange, pattern: str) -> None:
    assert re.search(pattern, log_line(e)), log_line(e)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_aggregate_totals_and_dimensions() -> None:
    clock = Clock(6030.0)
    agg = Aggregate(clock=clock)
    agg.add(ex(usage=u(10000, write=9000), cost=0.03, saved=-0.007, ended=6000.0))
    agg.add(ex(usage=u(11000, read=9000, output=50), cost=0.01, saved=0.0243, ended=6005.0))
    agg.add(
        ex(
            usage=u(0, reported=False),
            model="nemotron-free",
            agent="codex",
            status=429,
            outcome="error",
            ended=6029.0,
        )
    )
    agg.add(ex(usage=u(11000, read=9000), cache_class="REPLAY", saved=0.02, ended=6029.0))
    d = agg.to_dict()
    o = d["overall"]
    assert o["requests"] == 4
    assert o["errors"] == 1
    assert o["classes"] == {"HIT": 1, "PARTIAL": 0, "MISS": 0, "COLD": 1, "NOUSAGE": 1, "REPLAY": 1}
    assert o["input_tokens"] == 21000  # the replayed tokens never went upstream
    assert o["cache_read_tokens"] == 9000
    assert o["cache_write_tokens"] == 9000
    assert o["output_tokens"] == 50
    assert o["hit_ratio"] == pytest.approx(9000 / 21000, abs=1e-4)
    assert o["hit_rate"] == pytest.approx(2 / 3, abs=1e-4)  # HIT + REPLAY over requests with usage
    assert o["saved_usd"] == pytest.approx(0.0373)
    assert o["cost_usd"] == pytest.approx(0.04)
    assert set(d["by_model"]) == {"kimi-free", "nemotron-free"}
    assert d["by_agent"]["codex"]["errors"] == 1
    assert d["by_tier"]["free"]["requests"] == 4
    series = o["series"]
    assert len(series) == cache.SERIES_MINUTES
    assert series[-1]["minute"] == 6000  # the current minute, last
    assert series[-1]["requests"] == 4
    assert sum(p["requests"] for p in series) == 4


def test_aggregate_series_keeps_only_the_last_hour() -> None:
    clock = Clock(0.0)
    agg = Aggregate(clock=clock)
    for minute in range(200):
        clock.t = minute * 60 + 30
        agg.add(ex(usage=u(2000, read=1900), ended=clock.t))
    assert len(agg.overall.minutes) <= cache.SERIES_MINUTES
    series = agg.to_dict()["overall"]["series"]
    assert [p["requests"] for p in series] == [1] * cache.SERIES_MINUTES
    assert agg.overall.total.requests == 200
    clock.t += 3600 * 3  # quiet for hours: the window is empty, the totals are not
    d = agg.to_dict()["overall"]
    assert sum(p["requests"] for p in d["series"]) == 0
    assert d["requests"] == 200


def test_aggregate_memory_is_bounded_under_many_labels() -> None:
    agg = Aggregate(clock=Clock(60.0))
    for i in range(5000):
        agg.add(ex(usage=u(100), agent=f"agent-{i}", model=f"model-{i}", tier=f"t{i}", ended=60.0))
    for dim in Aggregate.DIMENSIONS:
        assert len(agg.by[dim]) <= cache.MAX_KEYS + 1
        assert "other" in agg.by[dim]
    assert len(agg.labelled) <= cache.MAX_LABEL_SETS + len(cache.CLASSES)
    assert agg.overall.total.requests == 5000
    assert sum(s.total.requests for s in agg.by["model"].values()) == 5000


def test_prometheus_lines_are_valid_exposition() -> None:
    agg = Aggregate(clock=Clock(120.0))
    agg.add(ex(usage=u(10000, read=9500, output=10), saved=0.5, cost=0.1, ended=100.0))
    agg.add(ex(usage=u(10000, write=9500), agent='we"ird\\agent', ended=110.0))
    lines = prometheus_lines(agg)
    text = "\n".join(lines)
    assert 'xx_cache_requests_total{class="HIT",model="kimi-free",agent="claude",tier="free"} 1' in lines
    assert (
        'xx_cache_requests_total{class="COLD",model="kimi-free",agent="we\\"ird\\\\agent",tier="free"} 1'
        in lines
    )
    assert 'xx_cache_tokens_total{kind="read",model="kimi-free"} 9500' in lines
    assert 'xx_cache_tokens_total{kind="write",model="kimi-free"} 9500' in lines
    assert 'xx_cache_tokens_total{kind="input",model="kimi-free"} 20000' in lines
    assert 'xx_saved_usd_total{model="kimi-free"} 0.500000' in lines
    assert "# TYPE xx_cache_requests_total counter" in lines
    sample = re.compile(r'^[a-z_]+\{([a-z]+="(?:[^"\\]|\\.)*",?)+\} -?[0-9.]+$')
    for line in lines:
        assert line.startswith("# ") or sample.match(line), line
    assert text.count("# TYPE") == len({line.split()[2] for line in lines if line.startswith("# TYPE")})


def test_annotate_sets_class_cost_and_saving() -> None:
    e = Exchange(usage=u(50000, read=48000, write=1000, output=500))
    cache.annotate(e, SONNET)
    assert e.cache_class == "HIT"
    assert (e.cost, e.saved) == cost(e.usage, SONNET)
    r = Exchange(usage=u(50000, read=48000, output=500))
    cache.annotate(r, SONNET, replay=True)
    assert r.cache_class == "REPLAY" and r.cost == 0.0 and r.saved > 0
    n = Exchange(usage=u(0, reported=False))
    cache.annotate(n, None)
    assert (n.cache_class, n.cost, n.saved) == ("NOUSAGE", 0.0, 0.0)
