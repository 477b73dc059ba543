from __future__ import annotations

from xx.dash.render_cache import (
    breakdown_table,
    cache_summary,
    live_ratio,
    spark_text,
    sparkline_series,
    window_ratio,
)

NOW = 60 * 1000 + 30.0  # 30 s into a minute


def bucket(minutes_ago: int, inp: int, cached: int) -> dict:
    return {"t": 60 * 1000 - minutes_ago * 60, "requests": 1, "errors": 0, "input": inp, "cache_read": cached}


def test_series_aligns_to_minutes() -> None:
    series = [bucket(0, 100, 80), bucket(2, 100, 50), bucket(59, 10, 10), bucket(60, 100, 100)]
    values = sparkline_series(series, NOW)
    assert len(values) == 60
    assert values[-1] == 0.8 and values[-3] == 0.5 and values[0] == 1.0
    assert values[-2] is None  # a quiet minute is not a 0% minute
    assert sparkline_series([], NOW, minutes=10) == [None] * 10


def test_windows() -> None:
    series = [bucket(0, 100, 80), bucket(5, 100, 20), bucket(30, 200, 0)]
    assert window_ratio(series, NOW, 10) == 0.5
    assert window_ratio(series, NOW, 60) == 0.25
    assert window_ratio([], NOW, 10) is None


def test_live_ratio_uses_last_minute_only() -> None:
    reqs = [
        {"ended": NOW - 5, "usage": {"input": 100, "cache_read": 90}},
        {"ended": NOW - 50, "usage": {"input": 100, "cache_read": 10}},
        {"ended": NOW - 500, "usage": {"input": 1000, "cache_read": 0}},
    ]
    assert live_ratio(reqs, NOW) == 0.5
    assert live_ratio([], NOW) is None


def test_spark_text_fixed_scale() -> None:
    assert spark_text([0.0, 0.5, 1.0, None]).plain == "▁▅█·"


def test_summary_and_breakdown(fixtures: dict) -> None:
    stats = fixtures["stats"]
    text = cache_summary(stats, fixtures["requests"]["requests"]).plain
    assert "today 71%" in text
    assert "HIT 546" in text and "PARTIAL 168" in text and "COLD 112" in text and "REPLAY 9" in text
    assert "saved 29.3M tok $8.800" in text
    assert breakdown_table(stats, "total") is None
    table = breakdown_table(stats, "agent")
    assert table is not None and table.row_count == len(stats["by_agent"])
